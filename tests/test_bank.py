"""Every known-wrong implementation loses exactly the points it should, and the grader names its mistake.

Each bank entry (:mod:`autograder.core.bank`) replaces one exercise cell of the reference
solution; the notebook is graded through the real sandbox, with one of two secret seeds (taken in turn).
"""

from __future__ import annotations

import dataclasses

import pytest
from conftest import ASSIGNMENTS, alternating_seeds, solution_notebook, with_cell

from autograder.core import bank, checks
from autograder.core.checks.questions import is_answer
from autograder.grader.notebook import grade_notebook
from autograder.grader.spec import read_spec

ENTRIES = [pytest.param(wrong, id=f"{wrong.check_id}:{wrong.name}") for wrong in bank.every()]


@pytest.mark.parametrize("wrong", ENTRIES)
def test_bank_entry_expects_a_mistake_its_check_can_diagnose(wrong):
    wrong.validate()


def test_validate_rejects_a_misspelt_mistake():
    wrong = next(p.values[0] for p in ENTRIES if p.values[0].mistake)
    with pytest.raises(ValueError, match="cannot diagnose"):
        dataclasses.replace(wrong, mistake=wrong.mistake + "!").validate()


def test_every_bank_file_is_read_whole():
    """A heading whose entry cannot be read (no score line, no code block) is an error, not a skipped entry."""
    for stem in ASSIGNMENTS:
        text = (bank.FOLDER / f"{stem}.md").read_text()
        assert len(bank.load(stem)) == text.count("\n## ") > 0
    broken = "## relu_forward: no code block\n\nscore: 0 · mistake: leaky ReLU instead of ReLU\n\nprose only\n"
    with pytest.raises(ValueError, match="no code block"):
        bank.parse("04-nonlinearity-and-pooling", broken)


@pytest.mark.parametrize(("wrong", "seed"), alternating_seeds(bank.every(), lambda w: f"{w.check_id}:{w.name}"))
def test_wrong_answer_loses_its_points(wrong, seed):
    stem = wrong.check_id.split(".")[0]
    spec = read_spec(solution_notebook(stem), stem)
    test = next(t for t in spec.tests if t.check_id == wrong.check_id)
    assert wrong.score < test.points, "a known-wrong answer must lose points"
    only = dataclasses.replace(spec, tests=[test])
    notebook = with_cell(solution_notebook(stem), wrong.function, wrong.source)
    result = grade_notebook(only, notebook, seed).checks[0]
    failing = [group for group in result.groups if not group.passed]
    feedback = "\n".join(group.message + "\n" + group.diagnosis for group in failing)
    assert result.score == pytest.approx(wrong.score), feedback
    named = {group.mistake for group in failing if group.mistake}
    assert named <= checks.get(wrong.check_id).mistake_names, f"named outside the check's library: {named}"
    if wrong.mistake:
        assert wrong.mistake in named, f"expected the mistake {wrong.mistake!r}, named {named}\n{feedback}"
        assert wrong.mistake in feedback, feedback


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_every_exercise_has_three_wrong_answers(stem):
    """Three known-wrong answers per exercise; a question (a value in an answer cell, see
    core/checks/questions.py) has fewer ways to be wrong, and needs one, with its diagnosis."""
    spec = read_spec(solution_notebook(stem), stem)
    counts = {test.check_id: 0 for test in spec.tests}
    for param in ENTRIES:
        wrong = param.values[0]
        if wrong.check_id in counts:
            counts[wrong.check_id] += 1
    asked = {check_id for check_id in counts if is_answer(check_id.split(".", 1)[1])}
    assert all(count >= 1 for check_id, count in counts.items() if check_id in asked), counts
    assert all(count >= 3 for check_id, count in counts.items() if check_id not in asked), counts
    counts = {check_id: count for check_id, count in counts.items() if check_id not in asked}
    diagnosed = [p.values[0] for p in ENTRIES if p.values[0].check_id in counts and p.values[0].mistake]
    assert len(diagnosed) >= len(counts) * 3 - len(counts), "most bank entries should expect a named mistake"

"""Every known-wrong implementation loses exactly the points it should, with the right diagnosis.

Each bank entry replaces one exercise cell of the reference solution; the notebook is graded
through the real sandbox, for two different secret seeds.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest
from conftest import ASSIGNMENTS, solution_notebook, with_cell

import tests.bank as bank_package
from autograder.grader.notebook import grade_notebook
from autograder.grader.spec import read_spec


def _entries():
    for module_info in pkgutil.iter_modules(bank_package.__path__):
        module = importlib.import_module(f"tests.bank.{module_info.name}")
        for wrong in module.WRONG:
            yield pytest.param(wrong, id=f"{wrong.check_id}:{wrong.name}")


ENTRIES = list(_entries())


@pytest.mark.parametrize("wrong", ENTRIES)
@pytest.mark.parametrize("seed", [11, 2024])
def test_wrong_answer_loses_its_points(wrong, seed):
    stem, function = wrong.check_id.split(".")
    spec = read_spec(solution_notebook(stem), stem)
    test = next(t for t in spec.tests if t.check_id == wrong.check_id)
    assert wrong.score < test.points, "a known-wrong answer must lose points"
    only = dataclasses.replace(spec, tests=[test])
    notebook = with_cell(solution_notebook(stem), function, wrong.source)
    result = grade_notebook(only, notebook, seed).checks[0]
    feedback = "\n".join(g.message + "\n" + g.diagnosis for g in result.groups if not g.passed)
    assert result.score == pytest.approx(wrong.score), feedback
    assert wrong.diagnosis.lower() in feedback.lower(), feedback


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_every_exercise_has_three_wrong_answers(stem):
    spec = read_spec(solution_notebook(stem), stem)
    counts = {test.check_id: 0 for test in spec.tests}
    for param in ENTRIES:
        wrong = param.values[0]
        if wrong.check_id in counts:
            counts[wrong.check_id] += 1
    assert all(count >= 3 for count in counts.values()), counts
    diagnosed = [p.values[0] for p in ENTRIES if p.values[0].check_id in counts and p.values[0].diagnosis]
    assert len(diagnosed) >= len(counts) * 3 - len(counts), "most bank entries should expect a diagnosis"

"""The questions at the end of every chapter: graded by the real grader, checked for form only in Jupyter,
never answered in anything students get; and each chapter's time estimate.

A question is a value in an answer cell (``answer_02_1 = 16``), judged by a
:class:`~autograder.core.checks.questions.Question`; its answer key lives in ``core/bank/questions/``.
"""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
from conftest import ASSIGNMENTS, solution_notebook, student_notebook, with_cell

from autograder.book import derive, students
from autograder.core import bank
from autograder.core.checks import questions
from autograder.grader.notebook import grade_notebook
from autograder.grader.run import harness_cell
from autograder.grader.spec import read_spec
from autograder.kernel.feedback import CheckFailed

STEMS = [stem for stem in ASSIGNMENTS if stem[:2] != "00"]
SEED = 7


def _questions(stem: str) -> list[questions.Question]:
    return questions.for_chapter(stem)


def _answer_cell(name: str, value) -> str:
    """An answer cell as a student fills it in: the stub's lines replaced by one assignment."""
    return f"# Your answer\n{name} = {value!r}\n"


def _graded(stem: str, notebook) -> dict[str, object]:
    """The grader's results of ``stem``'s question test cells only, by answer name."""
    spec = read_spec(solution_notebook(stem), stem)
    tests = [test for test in spec.tests if questions.is_answer(test.check_id.split(".", 1)[1])]
    result = grade_notebook(dataclasses.replace(spec, tests=tests), notebook, SEED)
    return {check.check_id.split(".", 1)[1]: check for check in result.checks}


# ---------------------------------------------------------------------- every chapter has its questions


@pytest.mark.parametrize("stem", STEMS)
def test_every_chapter_ends_with_at_least_two_questions_worth_a_point(stem):
    spec = read_spec(solution_notebook(stem), stem)
    asked = [question.function for question in _questions(stem)]
    assert len(asked) >= 2
    answers = [grade_id for grade_id in spec.solutions if questions.is_answer(grade_id)]
    assert answers == asked, "one answer cell per question, in order"
    assert spec.solutions[-len(asked):] == asked, "the questions come after the exercises"
    points = {test.check_id.split(".", 1)[1]: test.points for test in spec.tests}
    assert all(points[name] == questions.POINTS for name in asked)


@pytest.mark.parametrize("stem", STEMS)
def test_every_question_has_a_key_in_its_own_form_and_a_known_wrong_answer(stem):
    for question in _questions(stem):
        key = question.key
        assert key is not None, f"{question.id}: no entry in core/bank/questions/{stem}.md"
        assert question.normal(key.answer) == key.answer, f"{question.id}: the key's answer is not {question.wants}"
        assert len(key.explanation.split()) >= 15, f"{question.id}: explain the answer"
        assert key.wrong, f"{question.id}: at least one known wrong answer, with its diagnosis"
        for value, mistake in key.wrong:
            assert question.normal(value) is not None and not question._same(key.answer, value, key.tolerance)
            assert mistake.explain and mistake.name in question.mistake_names


def test_a_key_without_an_answer_line_or_an_explanation_is_refused():
    with pytest.raises(ValueError, match="no `answer: ...` line"):
        questions.parse_keys("## answer_02_1\n\nWhy: because.\n")
    with pytest.raises(ValueError, match="no explanation"):
        questions.parse_keys("## answer_02_1\n\nanswer: 3\n\nwrong: 4 · off by one: one too many\n")
    key = questions.parse_keys("## answer_07_1\n\nanswer: 1.5 ± 0.25\n\nBecause.\n\nwrong: 2 · too big: two\n")
    assert key["answer_07_1"].answer == 1.5 and key["answer_07_1"].tolerance == 0.25
    assert key["answer_07_1"].explanation == "Because."


# ---------------------------------------------------------------------- graded by the real grader


@pytest.mark.parametrize("stem", STEMS)
def test_the_reference_earns_each_question_its_point_and_the_blank_notebook_none(stem):
    right = _graded(stem, solution_notebook(stem))
    assert {name: check.score for name, check in right.items()} == {q.function: 1.0 for q in _questions(stem)}
    blank = _graded(stem, student_notebook(stem))
    assert all(check.score == 0 for check in blank.values()), blank
    for check in blank.values():
        failing = [group for group in check.groups if not group.passed]
        assert failing and all("no answer yet" in group.message for group in failing), failing


def test_right_answers_written_differently_keep_their_point():
    stem = "07-loss"
    notebook = with_cell(solution_notebook(stem), "answer_07_1", "import math\nanswer_07_1 = -math.log(0.25)\n")
    notebook = with_cell(notebook, "answer_07_2", _answer_cell("answer_07_2", " C "))
    assert {name: check.score for name, check in _graded(stem, notebook).items()} == {
        "answer_07_1": 1.0, "answer_07_2": 1.0}
    within = with_cell(solution_notebook(stem), "answer_07_1", _answer_cell("answer_07_1", 1.39))
    assert _graded(stem, within)["answer_07_1"].score == 1.0  # the key's tolerance, 0.01
    whole = with_cell(solution_notebook("02-convolution"), "answer_02_1", _answer_cell("answer_02_1", 16.0))
    assert _graded("02-convolution", whole)["answer_02_1"].score == 1.0  # 16.0 is the whole number 16


def test_a_wrong_answer_scores_zero_and_the_feedback_explains_the_right_one():
    stem = "02-convolution"
    question = _questions(stem)[0]
    known = with_cell(solution_notebook(stem), "answer_02_1", _answer_cell("answer_02_1", 15))
    unknown = with_cell(known, "answer_02_2", _answer_cell("answer_02_2", 1234))
    graded = _graded(stem, unknown)
    assert graded["answer_02_1"].score == graded["answer_02_2"].score == 0
    (failed,) = [group for group in graded["answer_02_1"].groups if not group.passed]
    assert failed.mistake == "padding left out" and question.key.explanation in failed.diagnosis
    (failed,) = [group for group in graded["answer_02_2"].groups if not group.passed]
    assert failed.mistake == "" and _questions(stem)[1].key.explanation in failed.diagnosis
    assert "1234" in failed.message  # the student's answer, not the right one
    assert str(_questions(stem)[1].key.answer) not in failed.message


@pytest.mark.parametrize("answer", ["'e'", "16", "'b) the second one'", "None"])
def test_an_answer_in_the_wrong_form_scores_zero(answer):
    stem = "01-images-as-arrays"
    notebook = with_cell(solution_notebook(stem), "answer_01_2", f"answer_01_2 = {answer}\n")
    assert _graded(stem, notebook)["answer_01_2"].score == 0


def test_the_harness_fetches_an_answer_by_name_and_never_calls_it():
    source = harness_cell(["conv_output_size", "answer_02_1"])["source"]
    assert "globals().get('answer_02_1')" in source and "return answer_02_1(" not in source
    assert "conv_output_size(*args, **kwargs)" in source
    stem = "02-convolution"
    called = with_cell(solution_notebook(stem), "answer_02_1", "def answer_02_1():\n    return 16\n")
    assert _graded(stem, called)["answer_02_1"].score == 0  # a function is not a whole number


# ---------------------------------------------------------------------- check() in Jupyter: the form only


def _check_in_notebook(stem: str, name: str, value, hidden: bool = False):
    """``check(...)`` run as a test cell runs it, with ``value`` in the notebook's globals (unset: no value)."""
    namespace = {} if value is _UNSET else {name: value}
    exec("from autograder.kernel.feedback import check\n"  # noqa: S102
         f"feedback = check({stem + '.' + name!r}, hidden={hidden})", namespace)
    return namespace["feedback"]


_UNSET = object()


@pytest.mark.parametrize("stem", STEMS)
def test_the_visible_check_accepts_any_answer_in_the_right_form_and_reveals_nothing(stem, monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    for question in _questions(stem):
        key = question.key
        for value in (key.answer, key.wrong[0][0]):  # right or wrong: the same words
            feedback = _check_in_notebook(stem, question.function, value)
            shown = str(feedback) + feedback._repr_html_()
            assert feedback.passed and questions.FORM_ONLY in str(feedback)
            assert key.explanation not in shown and key.explanation[:40] not in shown
            assert not any(mistake.name in shown for _, mistake in key.wrong)
            assert "right" not in shown.replace("whether the answer is right", "")


@pytest.mark.parametrize(("stem", "value", "said"), [
    ("02-convolution", "16", "is '16', but the question asks for a whole number"),
    ("02-convolution", 16.5, "is 16.5, but the question asks for a whole number"),
    ("01-images-as-arrays", "e", 'one of the letters "a", "b", "c", "d"'),
    ("08-backpropagation", "d", 'one of the letters "a", "b", "c"'),
    ("07-loss", math.nan, "asks for a number"),
    ("07-loss", None, "has no answer yet"),
    ("07-loss", _UNSET, "run its answer cell first"),
])
def test_the_visible_check_fails_an_answer_in_the_wrong_form_saying_what_form(stem, value, said, monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    name = _questions(stem)[0 if stem != "01-images-as-arrays" else 1].function
    with pytest.raises(CheckFailed) as failed:
        _check_in_notebook(stem, name, value)
    assert said in str(failed.value.feedback)


def test_the_hidden_check_grades_and_explains(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    question = _questions("05-going-deeper")[0]
    assert _check_in_notebook(question.stem, question.function, 8, hidden=True).passed
    with pytest.raises(CheckFailed) as failed:
        _check_in_notebook(question.stem, question.function, 6, hidden=True)
    assert "jump left out" in str(failed.value.feedback) and question.key.explanation in str(failed.value.feedback)


def test_without_the_key_the_visible_check_works_and_the_hidden_one_cannot_grade(monkeypatch, tmp_path):
    monkeypatch.setattr(questions, "KEYS", tmp_path)  # the students' copy: core/bank/**/*.md left out
    questions.keys.cache_clear()
    try:
        question = questions.question("02-convolution", 1, questions.WHOLE)
        assert question.key is None and question.mistake_names == set()
        visible, hidden = question.groups
        assert question.judge(question.cases(visible, None)[0], 16).passed
        verdict = question.judge(question.cases(hidden, 3)[0], 16)
        assert not verdict.passed and "no answer key" in verdict.message
    finally:
        questions.keys.cache_clear()


# ---------------------------------------------------------------------- nothing students get holds an answer


def _secrets(stem: str) -> list[str]:
    """What would give a question away: each answer as its cell sets it, and each explanation's sentences."""
    found = []
    for question in _questions(stem):
        answer = question.key.answer
        found += [f"{question.function} = {answer!r}", f'{question.function} = "{answer}"']
        found += [sentence.strip() for sentence in re.split(r"(?<=[.:])\s", question.key.explanation)
                  if len(sentence.strip()) >= 30]
        found += [mistake.explain[:40] for _, mistake in question.key.wrong]
    return found


@pytest.mark.parametrize("stem", STEMS)
def test_the_student_notebook_and_the_book_page_hold_no_answer(stem):
    source = solution_notebook(stem)
    products = {"student notebook": student_notebook(stem),
                "student version": derive.student_version(source),
                "book page": derive.page_version(derive.page_input(source))}
    secrets = _secrets(stem)
    assert any(secret in "".join(cell.source for cell in source.cells) for secret in secrets)  # the test can fail
    for product, notebook in products.items():
        text = "\n".join(cell.source + str(cell.get("outputs", "")) for cell in notebook.cells)
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, f"{stem}: the {product} gives away {leaked}"


def test_publish_leaves_the_answer_keys_out_of_the_package():
    files = students._package_files()
    assert "autograder/core/checks/questions.py" in files
    assert not [name for name in files if "/bank/questions/" in name]
    assert (questions.KEYS / "02-convolution.md").is_file()
    every = [secret for stem in STEMS for secret in _secrets(stem)]
    for name, path in files.items():
        text = students.readable_text(name, path.read_bytes())
        leaked = [secret for secret in every if text and secret in text]
        assert not leaked, f"{name} gives away {leaked}"


# ---------------------------------------------------------------------- the bank: one wrong answer per question


@pytest.mark.parametrize("stem", STEMS)
def test_every_question_has_a_wrong_answer_in_the_bank_that_its_key_diagnoses(stem):
    entries = {}
    for wrong in bank.load(stem):
        entries.setdefault(wrong.function, []).append(wrong)
    for question in _questions(stem):
        assert entries.get(question.function), f"{question.id}: no wrong answer in core/bank/{stem}.md"
        assert {wrong.mistake for wrong in entries[question.function]} <= question.mistake_names


# ---------------------------------------------------------------------- the time to set aside


TIME = re.compile(r":::\{admonition\} Time to set aside\n:class: tip\nAbout (?:(\d+) h)? ?(?:(\d+) min)?: (.*?)\n:::",
                  re.DOTALL)


def estimate(stem: str) -> tuple[int, int, int, int]:
    """(minutes, words, exercises, questions): reading at 100 words a minute, 25 minutes per exercise and 5
    per question, rounded to a quarter of an hour."""
    cells = solution_notebook(stem).cells
    words = sum(len(TIME.sub("", cell.source).split()) for cell in cells if cell.cell_type == "markdown")
    ids = [cell.metadata["nbgrader"]["grade_id"] for cell in cells if cell.metadata.get("nbgrader", {}).get("solution")]
    asked = sum(map(questions.is_answer, ids))
    exercises = len(ids) - asked
    return 15 * round((words / 100 + 25 * exercises + 5 * asked) / 15), words, exercises, asked


@pytest.mark.parametrize("stem", STEMS)
def test_the_first_page_states_the_time_to_set_aside(stem):
    text = "\n".join(cell.source for cell in solution_notebook(stem).cells if cell.cell_type == "markdown")
    found = TIME.search(text)
    assert found, f"{stem}: no 'Time to set aside' admonition"
    assert found.start() < text.index("## Learning objectives"), "state it near the top, before the objectives"
    minutes, words, exercises, asked = estimate(stem)
    stated = int(found[1] or 0) * 60 + int(found[2] or 0)
    assert abs(stated - minutes) <= 15, f"{stem}: the estimate is {minutes // 60} h {minutes % 60} min now"
    assert f"its {exercises} exercises" in found[3] and f"its {asked} questions" in found[3], found[3]
    said = re.search(r"about ([\d,]+) words", found[3])
    assert said and abs(int(said[1].replace(",", "")) - words) <= 300, f"{stem}: the chapter has {words} words now"

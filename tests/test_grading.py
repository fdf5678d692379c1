"""Grading end to end: real nbgrader course, real sandbox, real gradebook, the CLI as users run it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from conftest import ASSIGNMENTS, cli, solution_notebook, student_notebook, submit, with_cell
from nbgrader.api import Gradebook

from autograder.course import directory as course_module
from autograder.grader.spec import read_spec

MONKEYPATCH_TESTING = '''
import numpy.testing
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.testing.assert_array_equal = lambda *a, **k: None
import numpy as np
np.allclose = lambda *a, **k: True
'''

INPUT_TRANSFORMER = '''
def _blank_tests(lines):
    return [] if any("check(" in line for line in lines) else lines
get_ipython().input_transformers_cleanup.append(_blank_tests)
'''


def _attack(stem: str, payload: str):
    """The blank student notebook with ``payload`` prepended to its first exercise cell."""
    notebook = student_notebook(stem)
    first = read_spec(solution_notebook(stem), stem).solutions[0]
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == first)
    return with_cell(notebook, first, payload + "\n" + cell.source)


@pytest.fixture(scope="module")
def graded(course_dir):
    """Every assignment graded through the CLI: solution, blank, and two attacks."""
    for stem in ASSIGNMENTS:
        submit(course_dir, "solution", stem, solution_notebook(stem))
        submit(course_dir, "blank", stem, student_notebook(stem))
        submit(course_dir, "monkeypatcher", stem, _attack(stem, MONKEYPATCH_TESTING))
        submit(course_dir, "transformer", stem, _attack(stem, INPUT_TRANSFORMER))
        result = cli("grade", stem, "--course", str(course_dir))
        assert result.returncode == 0, result.stdout + result.stderr
    return course_dir


def _scores(course_dir, stem, student) -> dict[str, float]:
    with Gradebook(course_module.db_url_of(course_dir)) as gradebook:
        notebook = gradebook.find_submission_notebook(stem, stem, student)
        return {grade.name: grade.score for grade in notebook.grades}


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_solution_earns_full_marks_in_the_gradebook(graded, stem):
    spec = read_spec(solution_notebook(stem), stem)
    scores = _scores(graded, stem, "solution")
    assert scores == {test.grade_id: test.points for test in spec.tests}


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_blank_notebook_earns_zero(graded, stem):
    scores = _scores(graded, stem, "blank")
    assert scores and all(score == 0 for score in scores.values()), scores


@pytest.mark.parametrize("stem", ASSIGNMENTS)
@pytest.mark.parametrize("attacker", ["monkeypatcher", "transformer"])
def test_attacks_on_the_kernel_earn_no_more_than_blank(graded, stem, attacker):
    assert sum(_scores(graded, stem, attacker).values()) <= sum(_scores(graded, stem, "blank").values())


def test_nbgrader_export_reads_our_grades(graded):
    use = course_module.use_venv_tools
    use()
    result = subprocess.run([sys.executable, "-m", "nbgrader", "export"], cwd=graded, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((graded / "grades.csv").open()))
    by_student = {(row["assignment"], row["student_id"]): float(row["score"]) for row in rows}
    for stem in ASSIGNMENTS:
        spec = read_spec(solution_notebook(stem), stem)
        assert by_student[(stem, "solution")] == spec.max_score
        assert by_student[(stem, "blank")] == 0


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_feedback_lists_every_check_and_hides_hidden_tests(graded, stem):
    page = (graded / "feedback" / "blank" / f"{stem}.html").read_text()
    spec = read_spec(solution_notebook(stem), stem)
    for test in spec.tests:
        assert test.check_id in page
    assert "not implemented yet" in page
    assert "hidden=True" not in page and "BEGIN HIDDEN" not in page
    autograded = (graded / "autograded" / "blank" / stem / f"{stem}.ipynb").read_text()
    assert "hidden=True" not in autograded and "BEGIN HIDDEN" not in autograded
    data = json.loads((graded / ".autograder" / "results" / stem / "solution.json").read_text())
    assert data["status"] == "graded" and data["score"] == spec.max_score


@pytest.mark.parametrize("student", ["solution", "blank"])
def test_autograded_copies_are_written_as_nbformat_writes_them(graded, student):
    import nbformat

    for stem in ASSIGNMENTS:
        text = (graded / "autograded" / student / stem / f"{stem}.ipynb").read_text()
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
        assert text == nbformat.writes(notebook)


def test_notebook_text_is_nbformat_writes_without_the_copy():
    import copy

    import nbformat

    from autograder.course.feedback import notebook_text

    notebook = solution_notebook(ASSIGNMENTS[0])
    notebook.metadata["orig_nbformat"] = 3  # transient: neither writes it
    notebook.cells[0].metadata["trusted"] = True
    notebook.cells[0]["attachments"] = {"a.png": {"image/png": "iVBORw0KGgo=\nAAAA\n"}}
    code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "one\ntwo\n"}),
                    nbformat.v4.new_output("stream", name="stdout", text="é\nü\n")]
    expected = nbformat.writes(copy.deepcopy(notebook))
    assert notebook_text(notebook) == expected


def test_a_submission_goes_into_the_gradebook_whole_or_not_at_all(course_dir, tmp_path, monkeypatch):
    """nbgrader's own steps (the student, the submission's rows) and the scores are one transaction: a
    failure after nbgrader made the rows leaves no student, no submission and no score behind."""
    import shutil

    from nbgrader.api import MissingEntry

    from autograder.course import gradebook
    from autograder.grader.score import failed_notebook

    shutil.copy(course_dir / "gradebook.db", tmp_path / "gradebook.db")
    url, stem = f"sqlite:///{tmp_path / 'gradebook.db'}", ASSIGNMENTS[0]
    results = [failed_notebook(read_spec(solution_notebook(stem), stem), "nothing to grade")]

    def broken(result):
        raise RuntimeError("the comments could not be made")

    monkeypatch.setattr(gradebook, "_comments", broken)
    with gradebook.Recorder(url, stem) as recorder, pytest.raises(RuntimeError):
        recorder.record("half-recorded", results)
    monkeypatch.undo()
    with Gradebook(url) as book:
        with pytest.raises(MissingEntry):
            book.find_student("half-recorded")
        with pytest.raises(MissingEntry):
            book.find_submission(stem, "half-recorded")
    with gradebook.Recorder(url, stem) as recorder:  # and the same recording, unbroken, is whole
        recorder.record("half-recorded", results)
        assert recorder.standing("half-recorded").max_score == results[0].max_score


def test_submissions_recorded_together_go_in_together_or_not_at_all(course_dir, tmp_path, monkeypatch):
    """``record_many`` (what finished together) is one transaction: when the second submission fails, the
    first is not in the gradebook either; each is then graded again, as neither got its done marker."""
    import shutil

    from nbgrader.api import MissingEntry

    from autograder.course import gradebook
    from autograder.grader.score import failed_notebook

    shutil.copy(course_dir / "gradebook.db", tmp_path / "gradebook.db")
    url, stem = f"sqlite:///{tmp_path / 'gradebook.db'}", ASSIGNMENTS[0]
    results = [failed_notebook(read_spec(solution_notebook(stem), stem), "nothing to grade")]
    entries = [gradebook.Entry("first", results), gradebook.Entry("second", results)]
    made = gradebook._comments
    calls = []

    def second_breaks(result):
        calls.append(result)
        if len(calls) == 2:
            raise RuntimeError("the comments could not be made")
        return made(result)

    monkeypatch.setattr(gradebook, "_comments", second_breaks)
    with gradebook.Recorder(url, stem) as recorder, pytest.raises(RuntimeError):
        recorder.record_many(entries)
    monkeypatch.undo()
    assert len(calls) == 2  # the first submission was recorded (flushed) before the second failed
    with Gradebook(url) as book:
        for student in ("first", "second"):
            with pytest.raises(MissingEntry):
                book.find_student(student)
    with gradebook.Recorder(url, stem) as recorder:
        recorder.record_many(entries)
        assert set(recorder.standings(["first", "second", "nobody"])) == {"first", "second"}


def test_cli_errors_are_one_line_without_traceback(tmp_path, course_dir):
    cases = [
        (["grade", "02-convolution", "--course", str(tmp_path / "missing")], "does not exist"),
        (["grade", "99-nothing", "--course", str(course_dir)], "unknown assignment"),
        (["check", str(tmp_path / "nope.ipynb")], "does not exist"),
    ]
    empty = tmp_path / "empty-course"
    assert cli("init", str(empty), "--assignment", "02-convolution").returncode == 0
    cases.append((["grade", "02-convolution", "--course", str(empty)], "no submissions"))
    for args, expected in cases:
        result = cli(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_check_command_runs_the_full_grading_locally(tmp_path):
    import nbformat

    path = tmp_path / "02-convolution.ipynb"
    nbformat.write(solution_notebook("02-convolution"), path)
    result = cli("check", str(path), "--seed", "7")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "score:" in result.stdout and "randomized" in result.stdout
    assert "hidden=True" not in result.stdout
    nbformat.write(student_notebook("02-convolution"), path)
    result = cli("check", str(path))
    assert result.returncode == 1 and "score: 0 /" in result.stdout


@pytest.mark.parametrize("student,full", [("plain-nbgrader-solution", True), ("plain-nbgrader-blank", False)])
def test_plain_nbgrader_autograde_accepts_the_course(course_dir, student, full):
    """The course is a standard nbgrader course: `nbgrader autograde` runs it and scores it sensibly.

    (Our own grader is the trusted path; this shows the course is not locked into it.)
    """
    stem = "02-convolution"
    submit(course_dir, student, stem, solution_notebook(stem) if full else student_notebook(stem))
    course_module.use_venv_tools()
    result = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", stem, "--student", student,
                             "--force"], cwd=course_dir, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    spec = read_spec(solution_notebook(stem), stem)
    total = sum(_scores(course_dir, stem, student).values())
    assert total == (spec.max_score if full else 0)


def test_failing_check_in_a_real_kernel_shows_the_report_and_fails_the_cell():
    """In Jupyter a failing test cell shows the friendly report, then one line instead of a traceback."""
    from autograder.book.notebook_client import NotebookClient

    stem = "02-convolution"
    notebook = student_notebook(stem)
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    test = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_conv_output_size")
    kinds = [output.output_type for output in test.outputs]
    assert "display_data" in kinds and "error" in kinds, kinds
    report = next(o for o in test.outputs if o.output_type == "display_data")
    assert "not implemented yet" in report.data["text/html"]
    error = next(o for o in test.outputs if o.output_type == "error")
    assert error.ename == "CheckFailed" and len(error.traceback) == 1


def test_an_exercise_not_written_yet_is_one_line_not_one_per_group():
    """A blank exercise says "not implemented yet" once and names its groups on one line; an exercise
    whose groups fail for other reasons still shows each group's own message."""
    from autograder.core.results import CheckResult, ErrorKind, GroupResult
    from autograder.grader.text import verdict_text

    message = "not implemented yet: the function still raises NotImplementedError"
    blank = CheckResult("t", "01-x.to_float", 2, status="error", message=message, error=ErrorKind.NOT_IMPLEMENTED,
                        groups=[GroupResult(name, False, cases, f"to_float(...)\n{message}", error=ErrorKind.NOT_IMPLEMENTED)
                                for name, cases in (("visible", 4), ("hidden", 1))])
    assert verdict_text(blank).splitlines() == [
        "01-x.to_float: 0 / 2 points (error)", message,
        "  ✗ none of its 2 group(s) can run yet: visible (4 cases); hidden (1 case)"]
    wrong = CheckResult("t", "01-x.to_float", 2, status="error", message="raised TypeError", error="exception",
                        groups=[GroupResult("visible", False, 4, "to_float(...)\nraised TypeError", error="exception"),
                                GroupResult("hidden", True, 1)])
    assert verdict_text(wrong).count("raised TypeError") == 2 and "  ✓ hidden (1 case)" in verdict_text(wrong)

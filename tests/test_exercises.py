"""`autograder.exercises.load`: later chapters run the student's own earlier exercises."""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest
from conftest import solution_notebook, student_notebook, with_cell

from autograder.book import sources
from autograder.core.checks.questions import is_answer
from autograder.kernel import exercises

STEM = "04-nonlinearity-and-pooling"


@pytest.fixture(autouse=True)
def _student_mode(monkeypatch):
    monkeypatch.delenv(exercises.ENV, raising=False)


def test_loads_a_completed_notebook_from_the_folder(tmp_path, monkeypatch):
    nbformat.write(solution_notebook(STEM), tmp_path / f"{STEM}.ipynb")
    monkeypatch.chdir(tmp_path)
    mine = exercises.load(STEM, names=["relu_forward", "max_pool_forward"])
    x = np.array([[[[-1.0, 2.0], [3.0, -4.0]]]])
    assert np.array_equal(mine.relu_forward(x), np.maximum(x, 0))
    assert mine.max_pool_forward(x, 2).item() == 3.0
    assert not hasattr(mine, "avg_pool_forward")  # only what was asked for


def test_nbgrader_layout_is_found(tmp_path, monkeypatch):
    """release/<stem>/<stem>.ipynb side by side: the current folder is one assignment's folder."""
    (tmp_path / STEM).mkdir()
    (tmp_path / "09-training").mkdir()
    nbformat.write(solution_notebook(STEM), tmp_path / STEM / f"{STEM}.ipynb")
    monkeypatch.chdir(tmp_path / "09-training")
    assert callable(exercises.load(STEM, names=["relu_forward"]).relu_forward)


def test_a_blank_exercise_is_named_not_run_deep_inside_training(tmp_path, monkeypatch):
    nbformat.write(student_notebook(STEM), tmp_path / f"{STEM}.ipynb")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exercises.ExerciseNotReady, match=r"your `relu_forward` from 04-nonlinearity-and-pooling"):
        exercises.load(STEM, names=["relu_forward"])


def test_a_wrong_exercise_fails_its_checks_first(tmp_path, monkeypatch):
    wrong = with_cell(solution_notebook(STEM), "relu_forward", "def relu_forward(x):\n    return abs(x)\n")
    nbformat.write(wrong, tmp_path / f"{STEM}.ipynb")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exercises.ExerciseNotReady, match="does not pass its checks yet"):
        exercises.load(STEM, names=["relu_forward"])
    assert exercises.load(STEM, names=["relu_forward"], verify=False).relu_forward(np.array([-2.0])) == 2.0


def test_clear_errors_for_missing_or_broken_notebooks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exercises.ExerciseNotReady, match=r"cannot find your notebook 04-nonlinearity-and-pooling"):
        exercises.load(STEM)
    (tmp_path / f"{STEM}.ipynb").write_text("{not json")
    with pytest.raises(exercises.ExerciseNotReady, match="is not a readable notebook"):
        exercises.load(STEM)
    broken = with_cell(solution_notebook(STEM), "relu_forward", "def relu_forward(x):\n    return x +\n")
    nbformat.write(broken, tmp_path / f"{STEM}.ipynb")
    with pytest.raises(exercises.ExerciseNotReady, match="running `relu_forward` from .* raised SyntaxError"):
        exercises.load(STEM)
    nbformat.write(solution_notebook(STEM), tmp_path / f"{STEM}.ipynb")
    with pytest.raises(exercises.ExerciseNotReady, match="has an exercise named no_such_layer"):
        exercises.load(STEM, names=["no_such_layer"])


# ---------------------------------------------------------------------- blank notebooks explain themselves

def _exercise_names(stem: str) -> list[str]:
    """The functions the student writes (not the answers to questions, which are values)."""
    return [cell.metadata["nbgrader"]["grade_id"] for cell in solution_notebook(stem).cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
            and not is_answer(cell.metadata["nbgrader"]["grade_id"])]


@pytest.mark.slow
@pytest.mark.parametrize("stem", [p.stem for p in sorted(sources.CHAPTERS.glob("*.ipynb"))])
def test_a_blank_notebook_stops_each_cell_with_one_line_naming_an_exercise(stem):
    """Run top to bottom with nothing filled in (as generated, next to the other blank chapters), every
    narrative cell that needs an unfinished exercise stops with one ExerciseNotReady line naming an
    exercise of this chapter (or, through exercises.load, of the earlier chapter it reuses); test cells
    fail with their one-line CheckFailed. Never a NotImplementedError, NameError or plotting error."""
    from autograder.book.notebook_client import NotebookClient

    notebook = student_notebook(stem)
    NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(sources.CHAPTERS)}}).execute()
    own = set(_exercise_names(stem))
    every = {name for path in sources.CHAPTERS.glob("*.ipynb") for name in _exercise_names(path.stem)}
    stopped = 0
    for cell in notebook.cells:
        errors = [output for output in cell.get("outputs", []) if output.output_type == "error"]
        if not errors:
            continue
        (error,) = errors
        where = f"{stem}: cell starting {cell.source.splitlines()[0]!r}"
        assert len(error.traceback) == 1, (where, error.ename, error.evalue)
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert error.ename == "CheckFailed", (where, error.ename, error.evalue)
            continue
        assert error.ename == "ExerciseNotReady", (where, error.ename, error.evalue)
        named = set(re.findall(r"`(\w+)`", error.evalue))
        assert named & (every if re.search(r" from \d\d-", error.evalue) else own), (where, error.evalue)
        stopped += 1
    assert stopped, f"{stem}: no narrative cell needs an exercise?"


def test_needs_names_the_unfinished_exercise_and_passes_the_reference_ones():
    """needs() accepts every reference solution and stops on the blank stub, a missing return and an
    undefined name, with one line naming the exercise."""
    namespace: dict = {}
    for path in sorted(sources.SOLUTIONS.glob("[01]*.md")):
        for cell in solution_notebook(path.stem).cells:
            meta = cell.get("metadata", {})
            if cell.cell_type == "code" and ("setup" in meta.get("tags", []) or meta.get("nbgrader", {}).get("solution")):
                exec(compile(cell.source, path.name, "exec"), namespace)  # noqa: S102 -- the course's own solutions
        for name in _exercise_names(path.stem):
            exec(f"needs({name!r})", {**namespace, "needs": exercises.needs})  # noqa: S102
    blank = {"needs": exercises.needs}
    exec("def relu_forward(x):\n    raise NotImplementedError()\n"  # noqa: S102
         "def relu_backward(dout, x):\n    dx = dout * (x > 0)\n", blank)
    for name, message in [("relu_forward", "`relu_forward` (it still raises NotImplementedError)"),
                          ("relu_backward", "`relu_backward` (it returns nothing yet)"),
                          ("conv_backward", "`conv_backward`: run its cell above first")]:
        with pytest.raises(exercises.ExerciseNotReady, match=re.escape(message)):
            exec(f"needs({name!r})", blank)  # noqa: S102
    blank["layers"] = object()  # a value an earlier cell made passes
    exec("needs(made=['layers'])", blank)  # noqa: S102
    del blank["layers"]
    with pytest.raises(exercises.ExerciseNotReady):
        exercises.load("04-nonlinearity-and-pooling", folder=sources.SOLUTIONS / "no such folder")
    with pytest.raises(exercises.ExerciseNotReady, match=r"needs `layers`, which an earlier cell did not make: "
                                                          r"cannot find your notebook 04-nonlinearity-and-pooling"):
        exec("needs(made=['layers'])", blank)  # noqa: S102

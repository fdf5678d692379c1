"""`autograder.exercises.load`: later chapters run the student's own earlier exercises."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from conftest import solution_notebook, student_notebook, with_cell

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

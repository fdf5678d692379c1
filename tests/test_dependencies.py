"""Dependencies graded on their own (issue 13, item 6).

A function that calls another exercise of its notebook (chapter 2's ``conv_forward_im2col`` calls
``im2col``) is graded again with the reference standing in for that exercise when both lose points:
the student keeps what the function's own code earns, and the feedback names the exercise that is
wrong. The stand-in runs in the grader's process; only plain arrays cross the sandbox's pipe.
Everything here goes through the real sandbox, and ``check()`` is the one a student's kernel runs.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import solution_notebook, with_cell

from autograder.core import bank
from autograder.grader.notebook import grade_notebook
from autograder.grader.spec import read_spec
from autograder.grader.text import verdict_text
from autograder.kernel.feedback import CheckFailed
from autograder.sandbox import host

STEM = "02-convolution"
WRONG_IM2COL = next(w for w in bank.load(STEM) if w.name == "rows in (KH, KW, C) order").source
BIAS_MISSING = next(w for w in bank.load(STEM) if w.check_id.endswith("conv_forward_im2col")
                    and w.name == "bias missing").source


def _grade(cells: dict[str, str], seed: int = 11, only=("im2col", "conv_forward_im2col")):
    """The reference chapter 2 with ``cells`` replaced, graded on the tests of ``only``: {function: result}."""
    notebook = solution_notebook(STEM)
    for grade_id, source in cells.items():
        notebook = with_cell(notebook, grade_id, source)
    spec = read_spec(solution_notebook(STEM), STEM)
    spec = dataclasses.replace(spec, tests=[t for t in spec.tests if t.check_id.split(".")[1] in only])
    result = grade_notebook(spec, notebook, seed)
    return {check.check_id.split(".")[1]: check for check in result.checks}


def test_a_correct_function_built_on_a_wrong_exercise_keeps_its_points_and_names_it():
    results = _grade({"im2col": WRONG_IM2COL})
    own, conv = results["im2col"], results["conv_forward_im2col"]
    assert own.score == 0, verdict_text(own)  # the wrong exercise still loses its own points
    assert conv.status == "passed" and conv.score == conv.points, verdict_text(conv)
    assert conv.stand_ins == ["im2col"]
    assert "reference `im2col` in place of yours" in verdict_text(conv)


def test_a_wrong_function_on_a_wrong_exercise_still_loses_and_hears_about_both():
    results = _grade({"im2col": WRONG_IM2COL, "conv_forward_im2col": BIAS_MISSING})
    conv = results["conv_forward_im2col"]
    assert conv.score < conv.points and conv.stand_ins == []
    assert "calls your `im2col`" in conv.note
    assert conv.score == 0  # bias missing loses every group, with either im2col


def test_nothing_is_regraded_when_the_function_does_not_call_the_wrong_exercise():
    einsum = ("def conv_forward_im2col(x, w, b, stride=1, padding=0):\n"
              "    return conv_forward_naive(x, w, b, stride, padding)\n")
    results = _grade({"im2col": WRONG_IM2COL, "conv_forward_im2col": einsum})
    conv = results["conv_forward_im2col"]
    assert conv.status == "passed" and conv.note == "" and conv.stand_ins == []


def test_a_stand_in_refuses_bad_arguments_and_too_many_calls_inside_the_students_code(monkeypatch):
    looping = ("def conv_forward_im2col(x, w, b, stride=1, padding=0):\n"
               "    for _ in range(5):\n"
               "        cols = im2col(x, w.shape[2], w.shape[3], stride, padding)\n"
               "    n_filters = w.shape[0]\n"
               "    out = w.reshape(n_filters, -1) @ cols + b[:, None]\n"
               "    h = (x.shape[2] + 2 * padding - w.shape[2]) // stride + 1\n"
               "    return out.reshape(x.shape[0], n_filters, h, -1)\n")
    monkeypatch.setattr(host, "REFERENCE_CALLS", 3)  # the limit is kept in the grader's process
    conv = _grade({"im2col": WRONG_IM2COL, "conv_forward_im2col": looping})["conv_forward_im2col"]
    assert conv.score == 0 and conv.stand_ins == []
    assert "calls your `im2col`" in conv.note


def test_check_in_jupyter_names_the_wrong_exercise_a_failing_function_calls():
    from autograder.kernel.feedback import check

    namespace = {"np": np, "check": check}
    setup = next(cell.source for cell in solution_notebook(STEM).cells
                 if cell.cell_type == "code" and "sliding_window_view" in cell.source and "import" in cell.source)
    exec(setup, namespace)  # noqa: S102 - the chapter's own setup cell
    exec(WRONG_IM2COL, namespace)  # noqa: S102 - a bank entry of this repository
    exec(BIAS_MISSING, namespace)  # noqa: S102
    with pytest.raises(CheckFailed) as failed:
        exec(f'check("{STEM}.conv_forward_im2col")', namespace)  # noqa: S102 - called from the notebook's globals
    assert "calls your `im2col`, which does not pass its own check yet" in str(failed.value.feedback)

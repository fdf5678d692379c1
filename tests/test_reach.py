"""A regrade with stand-ins is skipped only when the function's code cannot call any of them
(autograder/grader/reach.py): skipping is score-neutral, and every way round the reading counts as reaching."""

from __future__ import annotations

import pytest

from autograder.course import demo
from autograder.course.batch import load_specs
from autograder.course.directory import seed_of
from autograder.grader import notebook as grading
from autograder.grader.reach import reachable
from autograder.grader.submission import grade_submission

CELLS = ["import numpy as np\n",
         "def im2col(x):\n    out = np.asarray(x)\n    return out\n",
         "def conv(x, w):\n    out = im2col(x)\n    return out @ w\n",
         "def zero_pad(x):\n    out = np.pad(x, 1)\n    return out\n"]
EXERCISES = {"im2col", "conv", "zero_pad"}


@pytest.mark.parametrize("extra, function, reached", [
    ([], "conv", {"im2col"}),
    ([], "im2col", set()),  # shares a local name (`out`) with conv, which is not a way to call it
    ([], "zero_pad", set()),
    (["helper = im2col\n", "def f(x):\n    return helper(x)\n"], "f", {"im2col"}),
    (["def f(x, step=im2col):\n    return step(x)\n"], "f", {"im2col"}),
    (["def make():\n    global g\n    g = zero_pad\n", "def f(x):\n    return g(x)\n"], "f", {"zero_pad"}),
    (["class Net:\n    def forward(self, x):\n        return conv(x, 1)\n", "def f(x):\n    return Net().forward(x)\n"],
     "f", {"conv", "im2col"}),
])
def test_what_a_function_can_reach_follows_the_names_it_mentions(extra, function, reached):
    assert reachable(CELLS + extra, function, EXERCISES - {function}) == reached


@pytest.mark.parametrize("extra", [
    ["def f(x):\n    return globals()['im' + '2col'](x)\n"],
    ["def f(x):\n    return eval('im' + '2col')(x)\n"],
    ["import sys\n", "def f(x):\n    return vars(sys.modules['__main__'])['im2' + 'col'](x)\n"],
    ["from helpers import *\n", "def f(x):\n    return thing(x)\n"],
    ["from helpers import thing\n", "def f(x):\n    return thing(x)\n"],
    ["import __main__\n", "def f(x):\n    return getattr(__main__, 'zero' + '_pad')(x)\n"],
    ["def f(x):\n    return x\n", "%time f(1)\n"],
    ["x = " + "+".join(["1"] * 200_000) + "\n", "def f(x):\n    return x\n"],  # too deep for the parser  # IPython syntax: the cells are not read at all
])
def test_anything_that_reaches_a_name_without_writing_it_counts_as_reaching_every_exercise(extra):
    assert reachable(CELLS + extra, "f", EXERCISES) == EXERCISES


def test_skipping_the_regrades_that_could_use_no_stand_in_changes_no_result(demo_class, monkeypatch):
    """The demo class graded as it is, then with every regrade run: the same scores, statuses and notes."""
    specs, seed = load_specs(demo_class, demo.STEM), seed_of(demo_class)
    folders = sorted((demo_class / "submitted").glob(f"*/{demo.STEM}"))
    skipped = []
    real = grading.reachable

    def recording(sources, function, exercises):
        found = real(sources, function, exercises)
        skipped.extend([function] if not found else [])
        return found

    monkeypatch.setattr(grading, "reachable", recording)
    pruned = [grade_submission(folder, specs, seed) for folder in folders]
    monkeypatch.setattr(grading, "reachable", lambda sources, function, exercises: exercises)
    every = [grade_submission(folder, specs, seed) for folder in folders]
    assert skipped, "the demo class should have regrades that no stand-in could change"

    def what(result):
        return [(check.grade_id, check.score, check.status, check.message, check.note, check.stand_ins)
                for notebook in result.notebooks for check in notebook.checks]

    for one, other in zip(pruned, every, strict=True):
        assert what(one) == what(other), one.student

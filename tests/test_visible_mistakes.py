"""The visible check (what ``check()`` runs in the notebook) fails the mistake an exercise is about.

Each wrong answer below used to pass every visible case and lose its points only at grading: the visible
group now holds a case that shows the mistake (stride 2, pad = 0, floor mode, a 3-D input, logits of
±1000, T = 0.01, a true class 2000 below its row's maximum, an empty batch), and names it. The answers are
the bank's (:mod:`autograder.core.bank`), called in this process on the notebook's own visible cases, as
``check()`` calls them; ``tests/test_bank.py`` grades the same answers through the sandbox.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from autograder.core import bank, checks
from autograder.core.checks.base import Case, Returned
from autograder.core.checks.run import run_check
from autograder.core.results import CallError, ErrorKind

# (chapter, function, the bank entry's name): each must fail its visible group, with the entry's mistake
SHOWN = [
    ("02-convolution", "conv_forward_naive", "window not moved by the stride"),
    ("02-convolution", "im2col", "stride ignored"),
    ("02-convolution", "zero_pad", "slice pad:-pad"),
    ("02-convolution", "conv_single_step", "bias added once per channel"),
    ("04-nonlinearity-and-pooling", "max_pool_forward", "ceil"),
    ("04-nonlinearity-and-pooling", "avg_pool_forward", "ceil"),
    ("04-nonlinearity-and-pooling", "global_avg_pool", "one list of means per image"),
    ("06-fully-connected-and-softmax", "flatten", "only 4-D inputs"),
    ("06-fully-connected-and-softmax", "softmax", "not shifted by the maximum"),
    ("06-fully-connected-and-softmax", "softmax", "shifted by the minimum"),
    ("06-fully-connected-and-softmax", "softmax", "shifted by the whole batch's maximum"),
    ("06-fully-connected-and-softmax", "softmax", "wrong axis"),
    ("06-fully-connected-and-softmax", "softmax_with_temperature", "not shifted (overflows at low T)"),
    ("07-loss", "cross_entropy_loss", "shifted softmax then log (underflow)"),
]


def _entry(stem: str, function: str, name: str) -> bank.Wrong:
    return next(w for w in bank.load(stem) if w.function == function and w.name == name)


def _call(function):
    """What ``check()`` does with one case: call on copies, and say what came back or what was raised."""
    def call(case):
        args, kwargs = copy.deepcopy((case.args, case.kwargs))
        try:
            with np.errstate(all="ignore"):
                value = function(*args, **kwargs)
        except Exception as error:  # the student's exception, as check() reports it
            return CallError(ErrorKind.EXCEPTION, f"raised {type(error).__name__}: {error}", type(error).__name__)
        return Returned(value, args, kwargs)
    return call


@pytest.mark.parametrize(("stem", "function", "name"), SHOWN, ids=lambda value: value)
def test_the_visible_group_fails_the_mistake_and_names_it(stem, function, name):
    wrong = _entry(stem, function, name)
    namespace = {"np": np, "sliding_window_view": sliding_window_view}
    exec(wrong.source, namespace)  # noqa: S102 - a bank entry of this repository
    check = checks.get(wrong.check_id)
    results, _ = run_check(check, _call(namespace[function]), None, include_hidden=False)
    failing = [group for group in results if not group.passed]
    assert failing, f"{wrong.check_id}: {name!r} passes every visible case"
    assert wrong.mistake in {group.mistake for group in failing}, "\n".join(g.message + "\n" + g.diagnosis
                                                                             for g in failing)


def test_a_per_channel_bias_is_not_blamed_on_every_product():
    """conv_single_step with the bias added inside the loop over channels: C·b, not C·KH·KW·b."""
    check = checks.get("02-convolution.conv_single_step")
    x, w = np.ones((3, 2, 2)), np.ones((3, 2, 2))
    case = Case((x, w, 0.5))
    assert check.diagnose(case, 12.0 + 3 * 0.5).mistake == "bias added once per channel (C times)"
    assert check.diagnose(case, 12.0 + 12 * 0.5).mistake == "bias added to every product"


def test_an_empty_batch_of_means_is_not_blamed_on_averaging_the_channels():
    """global_avg_pool returning (0,) for an empty batch: the empty-batch cause, not "channels averaged too"."""
    check = checks.get("04-nonlinearity-and-pooling.global_avg_pool")
    empty = next(case for case in check.cases(check.groups[0], None) if len(case.args[0]) == 0)
    assert check.diagnose(empty, np.array([])).mistake == "empty batch not handled"

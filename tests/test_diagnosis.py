"""Likely causes and messages that are not confidently wrong: what a failing check tells the student.

The judge's own pieces (:mod:`autograder.core.checks.base`) on values built here, and ``check()`` as the
student's kernel runs it (:mod:`autograder.kernel.feedback`), on answers a student wrote.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from autograder.core import checks
from autograder.core.checks import Case, Returned
from autograder.core.checks.base import Check, Group, Mistake, compare, exception_message
from autograder.core.checks.run import redact, run_check
from autograder.core.results import CallError
from autograder.kernel.feedback import CheckFailed, check


def _define(source: str, name: str, **names):
    namespace = {"np": np, **names}
    exec(source, namespace)  # noqa: S102 - a student's answer written in this file
    return namespace[name]


def _failing(check_id: str, function):
    """The groups that ``check()`` in Jupyter reports as failing for ``function``."""
    with pytest.raises(CheckFailed) as failed:
        check(check_id, function)
    return [group for group in failed.value.feedback.groups if not group.passed]


def _raised(function, case: Case) -> CallError:
    """What ``check()`` in Jupyter makes of ``function`` raising on ``case``."""
    try:
        function(*case.args, **case.kwargs)
    except Exception as error:
        return CallError("exception", f"raised {type(error).__name__}: {error}", type(error).__name__)
    raise AssertionError("the call was expected to raise")


# ---------------------------------------------------------------------- what a returned value is told


def test_a_tuple_of_the_output_and_a_cache_is_told_to_return_the_output_alone():
    """CS231n's `return out, cache`: the first element is right; the student must drop the cache, not convert
    the tuple to an array."""
    out = np.zeros((1, 2, 2, 2))
    said = compare(out, (out, (np.ones((1, 2, 4, 4)), 2, 2)))
    assert said is not None and "output array only" in said and "no cache" in said
    assert "convert it to a NumPy array" not in said
    assert redact(f"call\n  {said}") == f"call\n  {said}"  # it shows nothing the student did not return
    assert "convert it to a NumPy array" in compare(out, [[0.0, 1.0]])  # a plain list is still told to convert


def test_a_boolean_mask_is_not_called_an_integer_array_whose_values_were_truncated():
    said = compare(np.array([0.0, 1.0, 2.0]), np.array([False, True, True]))
    assert said is not None and "boolean" in said and ".astype(float)" in said
    assert "integer" not in said and "truncated" not in said
    assert "truncated" in compare(np.array([0.5, 1.5]), np.array([0, 1]))  # a real integer array still is


# ---------------------------------------------------------------------- the course's own warnings stay quiet


def _warns(*args):
    warnings.warn("a warning from the course's own code", RuntimeWarning, stacklevel=1)
    return float(np.mean(np.zeros(0)))  # NumPy's "Mean of empty slice" too


def test_neither_a_mistake_model_nor_the_reference_warns_the_student():
    noisy = Mistake("noisy", "a model that warns", _warns)
    check_ = Check("00-test.noisy", ("x",), _warns, [Group("one", lambda rng: [Case((1.0,))], visible=True)],
                   mistakes=[noisy])
    case = Case((2.0,))
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")  # (an error would be caught as the model raising)
        check_.expected(case)
        check_.model(noisy, case)
        check_.diagnose(case, 3.0)
        check_.agrees(noisy, Case((3.0,)), 3.0)
    assert not escaped, [str(w.message) for w in escaped]


def test_a_mistake_model_of_chapter_4_on_an_empty_batch_prints_no_warning():
    """global_avg_pool's "batch averaged instead of space" model takes the mean of an empty axis when N = 0:
    NumPy's "Mean of empty slice" must not reach the student, who did not write that code."""
    check_ = checks.get("04-nonlinearity-and-pooling.global_avg_pool")
    case = Case((np.zeros((0, 2, 3, 4)),))
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        for mistake in check_.mistakes:
            check_.model(mistake, case)
        check_.diagnose(case, np.zeros(0))
    assert not escaped, [f"{w.filename}:{w.lineno}: {w.message}" for w in escaped]


# ---------------------------------------------------------------------- exceptions: the same exception, not its class


def test_a_raised_broadcast_error_is_not_blamed_on_the_bias_when_the_filter_is_indexed_wrong():
    """conv_forward_naive with `w[:, f]` raises a ValueError on shapes that no bias mistake gives."""
    source = '''def conv_forward_naive(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    out_h = (H + 2 * padding - KH) // stride + 1
    out_w = (W + 2 * padding - KW) // stride + 1
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, F, out_h, out_w))
    for n in range(N):
        for f in range(F):
            for i in range(out_h):
                for j in range(out_w):
                    window = xpad[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    out[n, f, i, j] = np.sum(window * w[:, f]) + b[f]
    return out
'''
    failing = _failing("02-convolution.conv_forward_naive", _define(source, "conv_forward_naive"))
    assert failing and all(group.error == "exception" for group in failing)
    assert all(group.mistake == "" for group in failing), [(g.mistake, g.message) for g in failing]


def test_a_call_that_raised_is_not_told_what_its_output_is():
    """affine_forward with `w @ x` raises; the transposed-weight model raises a ValueError too, but on other
    shapes: a mistake that describes an output is not named for a call that gave none."""
    check_ = checks.get("06-fully-connected-and-softmax.affine_forward")
    student = _define("def affine_forward(x, w, b):\n    return w @ x.reshape(x.shape[0], -1) + b\n",
                      "affine_forward")
    case = check_.cases(check_.groups[1], None)[0]
    said = _raised(student, case)
    assert check_.diagnose_error(case, said) is None
    failing = _failing(check_.id, student)
    assert all(group.mistake == "" for group in failing), [(g.mistake, g.message) for g in failing]


def test_the_same_exception_on_the_same_shapes_is_still_named():
    """The unflattened input raises exactly what the student's unflattened input raised (in Jupyter, or as
    the last line of the sandbox's traceback)."""
    check_ = checks.get("06-fully-connected-and-softmax.affine_forward")
    student = _define("def affine_forward(x, w, b):\n    return x @ w + b\n", "affine_forward")
    case = check_.cases(check_.groups[1], None)[0]
    said = _raised(student, case)
    found = check_.diagnose_error(case, said)
    assert found is not None and found.mistake == "input not flattened"
    traceback = CallError("exception", f'  File "<cell>", line 2, in affine_forward\nValueError: '
                                       f"{said.message.split(': ', 1)[1]}\n", "ValueError")
    found = check_.diagnose_error(case, traceback)
    assert found is not None and found.mistake == "input not flattened"


@pytest.mark.parametrize(("message", "exception", "said"), [
    ("raised ValueError: operands could not be broadcast together", "ValueError",
     "operands could not be broadcast together"),  # check() in Jupyter
    ('  File "<cell>", line 3, in f\n    return x @ w\nValueError: matmul: mismatch\n', "ValueError",
     "matmul: mismatch"),  # the sandbox's traceback
    (("  File \"<cell>\", line 2, in accuracy\nnumpy.exceptions.AxisError: axis 1 is out of bounds for array of "
      "dimension 1\n"), "AxisError", "axis 1 is out of bounds for array of dimension 1"),  # with its module
    ("  File \"<cell>\", line 2, in f\nnumpy._core._exceptions._UFuncOutputCastingError: Cannot cast ufunc\n",
     "UFuncTypeError", "Cannot cast ufunc"),  # a class known by a public name
    ("raised KeyError", "KeyError", ""),
])
def test_the_message_of_a_students_exception_is_read_from_either_place(message, exception, said):
    assert exception_message(CallError("exception", message, exception)) == said


def test_a_mistake_whose_model_raises_a_stand_in_is_named_for_any_message_of_its_class():
    """chapter 1's empty-batch model raises np.concatenate's complaint; np.stack's, or a reshape's, is the same
    mistake."""
    check_ = checks.get("02-convolution.im2col")
    student = _define("def im2col(x, kh, kw, stride=1, padding=0):\n"
                      "    return np.stack([x[n].reshape(-1) for n in range(len(x))])\n", "im2col")
    case = next(case for group in check_.groups for case in check_.cases(group, None) if len(case.args[0]) == 0)
    found = check_.diagnose_error(case, _raised(student, case))
    assert found is not None and found.mistake == "empty batch not handled"


# ---------------------------------------------------------------------- values: every call of the group seen


MSE_ABS = "def mse_loss(pred, target):\n    return float(np.mean(0.5 * np.sum(np.abs(target - pred), axis=1)))\n"


def test_a_value_that_one_symmetric_case_makes_look_like_a_missing_half_is_told_by_the_other_cases():
    """The absolute error gives twice the loss on a uniform guess against a one-hot "3" (0.9 + 9·0.1 =
    2 · 1/2 (0.81 + 9·0.01)), not on the group's other cases: check() says so, as the grader does."""
    failing = _failing("07-loss.mse_loss", _define(MSE_ABS, "mse_loss"))
    assert [group.mistake for group in failing] == ["absolute error, not squared"], failing


def test_a_value_mistake_must_agree_with_the_other_calls_it_is_judged_with():
    check_ = checks.get("07-loss.mse_loss")
    student = _define(MSE_ABS, "mse_loss")
    cases = check_.cases(check_.groups[0], None)
    calls = [(case, Returned(student(*case.args), case.args, case.kwargs)) for case in cases]
    assert check_.judge(*calls[0]).mistake == "missing the 1/2 (the half)"  # the first case alone
    assert check_.judge(*calls[0], calls).mistake == "absolute error, not squared"


def test_the_grader_path_diagnoses_with_the_cases_of_the_group_it_has_seen():
    """A group whose first case passes: a mistake whose model gets that case wrong is not named."""
    half = Mistake("doubled", "twice the answer", lambda x: 2 * x)
    check_ = Check("00-test.double", ("x",), lambda x: x,
                   [Group("two", lambda rng: [Case((0.0,)), Case((1.0,)), Case((2.0,))], visible=True)],
                   mistakes=[half])
    student = {0.0: 0.0, 1.0: 1.0, 2.0: 4.0}  # right twice, then twice the answer
    def calls(cases):
        return iter([Returned(student[case.args[0]], case.args, {}) for case in cases])
    (group,), _ = run_check(check_, None, 1, calls=calls)
    assert not group.passed and group.mistake == ""
    student = {0.0: 0.0, 1.0: 2.0, 2.0: 4.0}  # twice the answer everywhere (0 is 0 either way)
    (group,), _ = run_check(check_, None, 1, calls=calls)
    assert group.mistake == "doubled"


# ---------------------------------------------------------------------- chapter 8: an underflow is not a missing shift


SHIFTED_THEN_LOG = '''def softmax_cross_entropy_backward(logits, labels):
    N = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(N), labels]))
    dlogits = p.copy()
    dlogits[np.arange(N), labels] -= 1
    return loss, dlogits / N
'''


def test_a_shifted_softmax_whose_probability_underflows_is_not_told_to_shift():
    failing = _failing("08-backpropagation.softmax_cross_entropy_backward",
                       _define(SHIFTED_THEN_LOG, "softmax_cross_entropy_backward"))
    assert [group.mistake for group in failing] == ["probability underflowed to 0 before the log"], failing


def test_an_unshifted_softmax_is_still_told_to_shift():
    source = SHIFTED_THEN_LOG.replace("logits - logits.max(axis=1, keepdims=True)", "logits")
    failing = _failing("08-backpropagation.softmax_cross_entropy_backward",
                       _define(source, "softmax_cross_entropy_backward"))
    assert [group.mistake for group in failing] == ["softmax not shifted by the maximum"], failing

"""Verdicts that cannot be wrong: correct answers written differently keep full marks, and a function
that changes its inputs fails, at grading time and in the notebook's ``check()`` alike.

Grading goes through the real sandbox (:func:`~autograder.grader.notebook.grade_notebook`), and
``check()`` is the one the student's kernel runs (:mod:`autograder.kernel.feedback`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import alternating_seeds, solution_notebook, with_cell

from autograder.core import bank, checks
from autograder.core.checks import Case, Returned
from autograder.core.checks.base import INPUT_MODIFIED, SOFTMAX_LIBRARIES, changed_input, forbidden_use
from autograder.core.results import CallError
from autograder.grader.notebook import grade_notebook
from autograder.grader.spec import read_spec
from autograder.kernel.feedback import CheckFailed, check

CORRECT = [pytest.param(right, id=f"{right.check_id}:{right.name}") for right in bank.every_correct()]


def _grade(check_id: str, source: str, seed: int):
    """The check ``check_id`` of the reference notebook whose exercise cell holds ``source``, graded."""
    stem, function = check_id.split(".")
    spec = read_spec(solution_notebook(stem), stem)
    test = next(t for t in spec.tests if t.check_id == check_id)
    notebook = with_cell(solution_notebook(stem), function, source)
    return grade_notebook(dataclasses.replace(spec, tests=[test]), notebook, seed).checks[0]


def _define(source: str, name: str):
    namespace = {"np": np}
    exec(source, namespace)  # noqa: S102 - a bank entry of this repository
    return namespace[name]


@pytest.mark.parametrize(("right", "seed"), alternating_seeds(bank.every_correct(), lambda r: f"{r.check_id}:{r.name}"))
def test_correct_answer_written_differently_keeps_full_marks(right, seed):
    result = _grade(right.check_id, right.source, seed)
    feedback = "\n".join(group.message + "\n" + group.diagnosis for group in result.groups if not group.passed)
    assert result.status == "passed" and result.score == result.points, feedback


def test_every_file_of_correct_answers_is_read_whole():
    assert len(CORRECT) >= 10
    for path in sorted((bank.FOLDER / "correct").glob("*.md")):
        assert len(bank.parse_correct(path.stem, path.read_text())) == path.read_text().count("\n## ") > 0
    with pytest.raises(ValueError, match="no code block"):
        bank.parse_correct("04-nonlinearity-and-pooling", "## relu_forward: no code block\n\nprose only\n")


# ---------------------------------------------------------------------- inputs are not modified

RELU = "04-nonlinearity-and-pooling.relu_forward"
RELU_IN_PLACE = "def relu_forward(x):\n    x[x < 0] = 0\n    return x\n"


def test_check_in_jupyter_fails_a_function_that_changes_its_input_and_says_which():
    with pytest.raises(CheckFailed) as failed:
        check(RELU, _define(RELU_IN_PLACE, "relu_forward"))
    group = failed.value.feedback.groups[0]
    assert group.mistake == INPUT_MODIFIED.name and group.error == ""
    assert "`x` was changed by the call" in group.message
    assert "must not modify its inputs" in group.message


def test_grader_and_check_in_jupyter_give_the_same_verdict_on_a_changed_input():
    graded = _grade(RELU, RELU_IN_PLACE, 11)
    visible = next(group for group in graded.groups if group.name == checks.get(RELU).groups[0].name)
    with pytest.raises(CheckFailed) as failed:
        check(RELU, _define(RELU_IN_PLACE, "relu_forward"))
    # the grader re-draws the visible numbers (same shapes and signs): only the call's numbers may differ
    def without_numbers(group):
        return dataclasses.replace(group, message=group.message.splitlines()[-1])
    assert without_numbers(failed.value.feedback.groups[0]) == without_numbers(visible)
    assert graded.score == 0 and all(group.mistake == INPUT_MODIFIED.name for group in graded.groups)


def test_a_copy_changed_in_place_passes_in_jupyter():
    source = "def relu_forward(x):\n    out = x.copy()\n    out[out < 0] = 0\n    return out\n"
    assert check(RELU, _define(source, "relu_forward")).passed


def test_a_wrong_value_is_reported_before_a_changed_input():
    """The value says more about the bug than the side effect: a wrong value is named first."""
    source = "def relu_forward(x):\n    x[x < 0] = 1\n    return x\n"
    with pytest.raises(CheckFailed) as failed:
        check(RELU, _define(source, "relu_forward"))
    group = failed.value.feedback.groups[0]
    assert group.mistake != INPUT_MODIFIED.name and "differs at" in group.message


@pytest.mark.parametrize(("after", "said"), [
    ({"w": np.array([1.0, 2.0]), "b": np.array([0.5])}, None),
    ({"w": np.array([1.0, 2.5]), "b": np.array([0.5])}, ("`params`['w'] was changed by the call (1 of 2 elements, "
                                                         "the first at index (1,))")),
    ({"w": np.array([1.0, 2.0])}, "`params` gained or lost keys"),
    ({"w": np.array([[1.0, 2.0]]), "b": np.array([0.5])}, "`params`['w'] was replaced or resized"),
    ({"w": np.array([1.0, 2.0], dtype=np.float32), "b": np.array([0.5])}, "`params`['w'] was replaced or resized"),
])
def test_changed_input_says_which_input_changed_and_where(after, said):
    before = Case(({"w": np.array([1.0, 2.0]), "b": np.array([0.5])}, 0.1))
    problem = changed_input(("params", "lr"), before, Returned(None, (after, 0.1), {}))
    if said is None:
        assert problem is None
    else:
        assert problem.startswith(said) and problem.endswith("must not modify its inputs"), problem


def test_nan_left_in_place_is_not_a_change():
    case = Case((np.array([np.nan, 1.0]),))
    assert changed_input(("x",), case, Returned(None, (np.array([np.nan, 1.0]),), {})) is None
    assert changed_input(("x",), case, Returned(None, (np.array([np.nan, 2.0]),), {})) is not None


# ---------------------------------------------------------------------- one forbidden-library policy

SOFTMAX = "06-fully-connected-and-softmax.softmax"
SCIPY_SOFTMAX = ("from scipy.special import softmax as scipy_softmax\n\n"
                 "def softmax(x):\n    return scipy_softmax(x, axis=1)\n")


def test_check_in_jupyter_refuses_a_forbidden_library_with_the_graders_message():
    graded = _grade(SOFTMAX, SCIPY_SOFTMAX, 11)
    assert graded.score == 0 and graded.status == "error" and graded.error == "forbidden"
    with pytest.raises(CheckFailed) as failed:
        check(SOFTMAX, _define(SCIPY_SOFTMAX, "softmax"))
    group = failed.value.feedback.groups[0]
    assert group.error == "forbidden"
    assert group.message.splitlines()[-1].strip() == graded.message == forbidden_use(["scipy.special"])


def test_a_forbidden_library_reached_through_its_parent_module_is_seen_too():
    source = "import scipy.special\n\ndef softmax(x):\n    return scipy.special.softmax(x, axis=1)\n"
    with pytest.raises(CheckFailed) as failed:
        check(SOFTMAX, _define(source, "softmax"))
    assert failed.value.feedback.groups[0].error == "forbidden"


@pytest.mark.parametrize("check_id", [SOFTMAX, "06-fully-connected-and-softmax.softmax_with_temperature",
                                      "07-loss.cross_entropy_loss", "08-backpropagation.softmax_cross_entropy_backward"])
def test_every_softmax_exercise_forbids_the_same_libraries(check_id):
    assert set(SOFTMAX_LIBRARIES) <= set(checks.get(check_id).forbidden)


# ---------------------------------------------------------------------- diagnoses from structure

def test_a_mistake_that_raises_is_named_only_when_its_model_behaves_like_the_student_elsewhere():
    """conv_forward_im2col with the bias added along the width axis raises a ValueError, as `np.pad(x, p)`
    does when p > 0; only the bias mistake also raises where p = 0, as the student's code did."""
    source = next(w.source for w in bank.load("02-convolution")
                  if w.check_id == "02-convolution.conv_forward_im2col" and w.name == "bias along the wrong axis")
    result = _grade("02-convolution.conv_forward_im2col", source, 11)
    named = {group.mistake for group in result.groups if group.mistake}
    assert named == {"bias broadcast along the wrong axis"}, named


def test_a_mistake_that_raises_is_named_by_the_same_exception_and_the_other_calls():
    """An unflattened input and a transposed weight both raise a ValueError from matmul on a batch of
    volumes, on different shapes: only the model that raises the student's very exception (class and
    message) is named, and only while it also does what the student's function did on the other calls."""
    check_ = checks.get("06-fully-connected-and-softmax.affine_forward")
    case = check_.cases(check_.groups[1], None)[0]  # a batch of volumes: x (2, 3, 2, 2)
    x, w, b = case.args
    with pytest.raises(ValueError) as raised:
        x @ w + b  # the student's code: the input not flattened
    said = CallError("exception", f"raised ValueError: {raised.value}", "ValueError")
    found = check_.diagnose_error(case, said)
    assert found is not None and found.mistake == "input not flattened"
    right_elsewhere = [(other, Returned(check_.expected(other), other.args, other.kwargs))
                       for other in check_.cases(check_.groups[0], None)]
    found = check_.diagnose_error(case, said, right_elsewhere)
    assert found is not None and found.mistake == "input not flattened"
    wrong_elsewhere = [(other, Returned(2 * check_.expected(other), other.args, other.kwargs))
                       for other in check_.cases(check_.groups[0], None) if other.args[0].ndim == 2]
    assert check_.diagnose_error(case, said, wrong_elsewhere) is None
    assert check_.diagnose_error(case, dataclasses.replace(said, exception="TypeError"), right_elsewhere) is None
    other_shapes = CallError("exception", "ValueError: matmul: Input operand 1 has a mismatch in its core "
                                          "dimension 0 (size 4 is different from 12)", "ValueError")
    assert check_.diagnose_error(case, other_shapes, right_elsewhere) is None


def test_float16_fails_and_float32_passes_whatever_the_returned_dtype():
    relu16 = "def relu_forward(x):\n    return np.maximum(x, 0).astype(np.float16)\n"
    relu32 = "def relu_forward(x):\n    return np.maximum(x, 0).astype(np.float32)\n"
    half = _grade(RELU, relu16, 11)
    assert half.score == 0 and {g.mistake for g in half.groups} >= {"computed in half precision"}
    assert _grade(RELU, relu32, 11).status == "passed"


def test_the_gradient_check_of_chapter_9_names_a_layer_that_returns_float32(monkeypatch):
    """float32 keeps a layer's marks, and chapter 9 says by name which layer makes its float64
    gradient check disagree."""
    import types

    from autograder.kernel import exercises, zoo

    monkeypatch.setenv(exercises.ENV, "solutions")
    layers = exercises.load(*zoo.NUMPY_LAYERS, names=[name for names in zoo.NUMPY_LAYERS.values() for name in names])
    x, labels, _, _ = zoo.digits_standardized(seed=0)
    params = zoo.init_numpy_cnn(seed=0)
    assert zoo.low_precision_layers(layers, params, x[:8], labels[:8]) == {}
    single = types.SimpleNamespace(**vars(layers))
    single.conv_forward_im2col = lambda *args, **kwargs: layers.conv_forward_im2col(*args, **kwargs).astype(np.float32)
    assert zoo.low_precision_layers(single, params, x[:8], labels[:8]) == {"conv_forward_im2col": "float32"}


@pytest.mark.parametrize(("before", "after", "said"), [
    ([(5, 1), (2, 2)], [(5, 1), (2, 2)], None),
    ([(5, 1), (2, 2)], [(2, 2), (5, 1)], "`layers`[0][0] was changed by the call (it was 5, it is now 2)"),
    ([{"stride": 2}], [{"stride": 1}], "`layers`[0]['stride'] was changed by the call (it was 2, it is now 1)"),
    ([(float("nan"), 1)], [(float("nan"), 1)], None),
    ([(float("nan"), 1)], [(0.5, 1)], "`layers`[0][0] was changed by the call (it was nan, it is now 0.5)"),
])
def test_numbers_inside_lists_tuples_and_dicts_are_compared_too(before, after, said):
    """A list reversed in place, or a dict entry overwritten, changes no array; it is caught all the same."""
    problem = changed_input(("layers",), Case((before,)), Returned(None, (after,), {}))
    if said is None:
        assert problem is None
    else:
        assert problem == f"{said}: the function must not modify its inputs", problem


def test_reference_and_mistake_values_are_computed_once_and_handed_out_as_copies():
    """A check's reference value (and a mistake model's) on the same inputs is computed once per process;
    what the judge does to the value it got does not reach the next use, and two mistakes with the same
    name but different models are never confused."""
    from autograder.core.checks.base import Check, Group, Mistake

    calls = []

    def reference(x):
        calls.append("reference")
        return x * 2.0

    twice = Mistake("same name", "", lambda x: x * 3.0)
    other = Mistake("same name", "", lambda x: x * 4.0)
    made = Check("99-memo.double", ("x",), reference, [Group("g", lambda rng: [], 1.0)], [twice, other])
    case = Case((np.arange(3.0),))
    first = made.expected(case)
    first += 100  # the judge's own copy
    assert np.array_equal(made.expected(Case((np.arange(3.0),))), [0.0, 2.0, 4.0])
    assert calls == ["reference"]
    assert np.array_equal(made.model(twice, case)[0], [0.0, 3.0, 6.0])
    assert np.array_equal(made.model(other, case)[0], [0.0, 4.0, 8.0])
    made.expected(Case((np.arange(4.0),)))  # other inputs: computed
    assert calls == ["reference", "reference"]

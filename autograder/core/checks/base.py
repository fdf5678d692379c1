"""What a check is: inputs, the reference answer, tolerances and the library of mistakes.

A :class:`Check` stands for one exercise (one student function). Its id is stable:
``<chapter-stem>.<function>``. It holds *groups* of cases; a group passes when every case in
it passes, and a check's score is its points times the weight of the groups that passed. The
visible group is what a student's ``check(...)`` runs in Jupyter; the others are generated
from a seed the submission never sees, and run only at grading time.

Everything here is plain data and pure functions: a check never runs student code itself.
The grader (:mod:`autograder.grader`) calls the student's function in a sandbox, and ``check()``
in Jupyter calls it in the student's kernel; either hands the returned value (or a
:class:`~autograder.core.results.CallError`) to :meth:`Check.judge`, through
:func:`autograder.core.checks.run.run_check`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import inspect
import re
import textwrap
import threading
import warnings
import zlib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..results import CallError

# The libraries no exercise may use unless its check says otherwise: the reference's own, and
# the course's package (which holds the reference and the checks).
FORBIDDEN = ("torch", "autograder", "tensorflow", "jax")
# What an exercise may not use either: the libraries that hold the very function it asks for. One
# list per kind of exercise, the same for every chapter; the grader's sandbox refuses them and
# ``check()`` in Jupyter fails a function that calls into them (:func:`forbidden_use`).
IMAGE_LIBRARIES = ("scipy.signal", "scipy.ndimage", "skimage")  # convolution, filters, pooling, conversions
SOFTMAX_LIBRARIES = ("scipy.special",)  # softmax, log_softmax, logsumexp
LEARNING_LIBRARIES = ("sklearn",)  # one-hot encoders, metrics, splits, whole models
# What a PyTorch exercise may not use: the course's package and the other frameworks, but not torch, nor
# tensorflow: torch's first optimizer step imports torch._dynamo, which asks importlib.util.find_spec whether
# tensorflow is installed, and the sandbox answers a forbidden name with an error, not with "not found"
# (tensorflow is not installed with the course). Such an exercise is graded in a sandbox of its own.
TORCH_EXERCISE_FORBIDDEN = ("autograder", "jax")


def frameworks(check) -> tuple[str, ...]:
    """The frameworks of :data:`FORBIDDEN` that ``check`` refuses: the exercises of a notebook that refuse the
    same ones share a sandbox, which refuses every module any of them forbids (a PyTorch exercise, which
    allows torch, gets a sandbox of its own)."""
    return tuple(module for module in FORBIDDEN if module in check.forbidden)


def forbidden_use(modules) -> str:
    """What a check says, at grading time and in Jupyter alike, about a solution that used ``modules``."""
    return (f"the solution uses {', '.join(sorted(modules))}, which this exercise does not allow; "
            "write it with NumPy only")

DRIVER_NAMESPACE = "grading_driver"  # the __name__ a driver runs under: none of the course's package


def driver_source(check) -> str:
    """The source of ``check``'s driver (see :attr:`Check.driver`), which defines a function of the same name."""
    return textwrap.dedent(inspect.getsource(check.driver))


def driver_function(source: str, name: str, filename: str = "<grading driver>"):
    """The driver ``name`` defined by ``source``, in a namespace of its own (not the student's, not the package's)."""
    namespace = {"__name__": DRIVER_NAMESPACE}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the source of one of the course's checks
    return namespace[name]

# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One call of the student's function: positional ``args`` and keyword ``kwargs``."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    note: str = ""  # e.g. "edge case: 1×1 kernel"


@dataclass(frozen=True)
class Group:
    """Cases that are judged together. ``make(rng)`` returns the cases of this group.

    A visible group's cases are the notebook's; at grading time :meth:`Check.cases` hands them to
    ``redraw(cases, rng)``, which returns cases of the same kinds with new numbers. The default,
    :func:`redraw`, gives new values to every float and pixel array; a group whose inputs are sizes,
    labels or settings declares its own (one that keeps what its mistakes rely on).
    """

    name: str
    make: Callable[[np.random.Generator], list[Case]]
    weight: float = 1.0
    visible: bool = False
    redraw: Callable[[list[Case], np.random.Generator], list[Case]] | None = None


@dataclass(frozen=True)
class Mistake:
    """A recognisable wrong answer, known by its ``name``.

    ``apply(*args, **kwargs)``, the mistake's model, does what the mistaken code does on a case: a
    student's value that matches its value is diagnosed. Some mistakes make the code raise on some
    inputs (a shape that does not broadcast, an index out of bounds): the model raises there too, and
    a call that raised the same exception (its class, and the first line of its message: the same
    operation failing on the same shapes; the class alone for an :attr:`any_message` mistake) is
    diagnosed when the model also agrees with every other call the check made
    (:meth:`Check.diagnose_error`). A message is compared, never searched for words.
    A mistake without a model is one that a hint or an overridden :meth:`Check.assess` names.
    """

    name: str
    explain: str
    apply: Callable[..., Any] | None = None
    # A mistake whose model raises one exception that stands for several (its explanation names each cause):
    # named for a call that raised the same class of exception whatever its message. Any other mistake is
    # named for a call that raised only if its model raises the very same exception (class and message).
    any_message: bool = False

    @property
    def diagnosis(self) -> Diagnosis:
        return Diagnosis(self.name, f"{self.name}: {self.explain}")


class NotApplicable(Exception):
    """Raised by a mistake's model on a case where the mistake cannot arise or cannot be told apart."""


NOT_APPLICABLE = "(not applicable)"  # what Check.model says then: no class of exception has this name


@dataclass(frozen=True)
class Returned:
    """What one call gave back: its ``value``, and its inputs as the call left them.

    Both places that call a student's function (the grader's sandbox and ``check()`` in Jupyter)
    call it on fresh copies of the case's inputs and hand those copies back here, so that
    :meth:`Check.judge` can compare them with the case and fail a function that changed its inputs.
    """

    value: Any
    args: tuple
    kwargs: dict


@dataclass(frozen=True)
class Diagnosis:
    """The likely cause of a wrong answer: the mistake's ``name`` and the sentence shown (``text``)."""

    mistake: str
    text: str


@dataclass(frozen=True)
class Finding:
    """What :meth:`Check.assess` found in a returned value: nothing wrong (``problem`` None), or
    what is wrong and, where recognised, its likely cause. ``note`` is said after a passing call."""

    problem: str | None
    diagnosis: Diagnosis | None = None
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    """One case, judged. A call that gave no value carries its ``error`` kind (and ``exception``)."""

    passed: bool
    message: str = ""  # the call, then what is wrong (or, for a pass, its note); empty for a pass without one
    diagnosis: str = ""
    mistake: str = ""
    error: str = ""  # an ErrorKind when the call returned no value
    exception: str = ""

    def text(self) -> str:
        return self.message + (f"\n  Likely cause: {self.diagnosis}" if self.diagnosis else "")


# --------------------------------------------------------------------------- values computed once


class Unshippable(TypeError):
    """A value that cannot be stored exactly as plain data (:mod:`autograder.core.expected`), or inputs that
    :func:`case_digest` cannot digest."""


def case_digest(case) -> str:
    """A digest of a case's inputs (``args`` and ``kwargs``: types, dtypes, shapes and bytes)."""
    digest = hashlib.sha256()
    _update(digest, (tuple(case.args), dict(case.kwargs)))
    return digest.hexdigest()[:20]


def _update(digest, value) -> None:
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        digest.update(f"{kind.__name__}:{value!r};".encode())
    elif kind in (tuple, list):
        digest.update(f"{kind.__name__}[{len(value)}".encode())
        for item in value:
            _update(digest, item)
        digest.update(b"]")
    elif kind is dict:
        digest.update(f"dict[{len(value)}".encode())
        for key, item in value.items():
            _update(digest, key)
            _update(digest, item)
        digest.update(b"]")
    elif kind is np.ndarray or isinstance(value, np.generic):
        array = np.ascontiguousarray(value)
        if array.dtype.kind not in "biufc":
            raise Unshippable(f"an input of dtype {array.dtype}")
        digest.update(f"{kind.__name__}:{array.dtype.str}:{array.shape}:".encode() + array.tobytes())
    else:
        raise Unshippable(f"an input of type {kind.__module__}.{kind.__qualname__}")


_MEMORY: dict = {}  # (check id, ids of what computes, digest of the inputs) -> (what computes, value)
_MEMORY_LOCK = threading.Lock()
MEMORY_ENTRIES = 2048  # the most values kept (the oldest go first)
MEMORY_ELEMENTS = 1 << 20  # values with more array elements than this are not kept


def _remembered(check_id: str, source, case: Case, compute: Callable[[], Any]):
    """``compute()``, the value of ``source`` (a check's reference, or a mistake) on ``case``, computed
    once per process for the same inputs: both are pure functions of them. Regrading a check (with
    stand-ins), judging many submissions on the same cases, and diagnosing each failing call then
    cost nothing more. An entry holds ``source`` itself and is used only for an equal one; copies go
    in and out, so nothing the judge does to a value reaches the next use."""
    try:
        # (a bound method is made anew at each access: known by its function and its object)
        key = (check_id, id(getattr(source, "__func__", source)), id(getattr(source, "__self__", None)),
               case_digest(case))
    except Unshippable:  # inputs that cannot be digested (not plain data): computed every time
        return compute()
    with _MEMORY_LOCK:
        kept = _MEMORY.get(key)
        if kept is not None and kept[0] == source:
            return copy.deepcopy(kept[1])
    value = compute()
    if _elements(value) <= MEMORY_ELEMENTS:
        with _MEMORY_LOCK:
            _MEMORY[key] = (source, copy.deepcopy(value))
            while len(_MEMORY) > MEMORY_ENTRIES:
                del _MEMORY[next(iter(_MEMORY))]
    return value


def _elements(value) -> int:
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, (tuple, list)):
        return sum(_elements(item) for item in value)
    if isinstance(value, dict):
        return sum(_elements(item) for item in value.values())
    return 1


# --------------------------------------------------------------------------- visible cases, re-drawn


def redraw(cases: list[Case], rng: np.random.Generator) -> list[Case]:
    """``cases`` with new numbers in every float array (:func:`_redraw_array`) and every uint8 array
    (pixels, :func:`_redraw_pixels`), wherever they sit (in tuples, lists and dicts); everything else
    (ints, sizes, strides, labels, other integer and boolean arrays, Python scalars, notes) as it was.
    The default re-draw of a visible group (:attr:`Group.redraw`)."""
    return [dataclasses.replace(case, args=_redraw(case.args, rng), kwargs=_redraw(case.kwargs, rng))
            for case in cases]  # (a check's own kind of case keeps its other fields)


def _renumbered(case: Case, new: Case) -> Case:
    """``new`` (``case`` re-drawn), its note saying, when the numbers changed, that the worked values
    it may quote are the notebook's."""
    if not case.note or case_digest(new) == case_digest(case):
        return new
    return dataclasses.replace(new, note=f"{case.note} (the notebook's case; graded on new numbers of the same kind)")


def _redraw(value, rng: np.random.Generator):
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return _redraw_array(value, rng)
        return _redraw_pixels(value, rng) if value.dtype == np.uint8 else value
    if isinstance(value, tuple):
        return tuple(_redraw(item, rng) for item in value)
    if isinstance(value, list):
        return [_redraw(item, rng) for item in value]
    if isinstance(value, dict):
        return {key: _redraw(item, rng) for key, item in value.items()}
    return value


def _redraw_array(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """New values for a float array that keep what an edge case is made of: its shape and dtype, the
    order of its values, which of them are equal (ties in a pooling window), their signs, its zeros
    (ReLU's kink, padding) and its NaN and infinities; and about their size (values near 1000 stay
    near 1000). Each distinct finite value moves by up to 40 % of the distance to its neighbours (and of
    its own size, so no sign changes), so no two distinct values meet."""
    finite = np.isfinite(array)
    values = np.unique(array[finite])
    if values.size == 0:
        return array
    gaps = np.diff(values)
    left = np.concatenate(([np.inf], gaps))
    right = np.concatenate((gaps, [np.inf]))
    room = np.minimum(np.minimum(left, right), np.abs(values))
    room[np.isinf(room)] = np.abs(values[np.isinf(room)])  # a single distinct value: its own size
    moved = values + 0.4 * room * rng.uniform(-1.0, 1.0, values.size)
    out = array.copy()
    out[finite] = moved[np.searchsorted(values, array[finite])].astype(array.dtype)
    return out


def _redraw_pixels(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """New whole values for a uint8 image that keep its shape, its dtype and its range: the pixels at
    its darkest and brightest values (0 and 255 where it has them, or a dim photo's brightest 200) stay;
    every other pixel gets a new value drawn strictly between the two."""
    if array.size == 0:
        return array
    low, high = int(array.min()), int(array.max())
    inside = (array > low) & (array < high)
    out = array.copy()
    out[inside] = rng.integers(low + 1, high, size=int(inside.sum())) if high - low > 1 else out[inside]
    return out


# --------------------------------------------------------------------------- describing values


def describe_value(value) -> str:
    """A short, human description of an argument or result: ``float64 array (2, 3, 7, 9)``."""
    if isinstance(value, np.ndarray):
        if value.size <= 6 and value.ndim <= 1:
            return f"{value.dtype} array {np.array2string(value, precision=4, separator=', ')}"
        return f"{value.dtype} array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(describe_value(item) for item in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def describe_call(function: str, params: tuple[str, ...], case: Case) -> str:
    parts = []
    for index, value in enumerate(case.args):
        name = params[index] if index < len(params) else f"arg{index}"
        parts.append(f"{name}={_short(value)}")
    parts += [f"{key}={_short(value)}" for key, value in case.kwargs.items()]
    note = f"  [{case.note}]" if case.note else ""
    return f"{function}({', '.join(parts)}){note}"


def _short(value) -> str:
    if isinstance(value, np.ndarray) and (value.ndim > 1 or value.size > 6):
        return f"<{value.dtype} {value.shape}>"
    if isinstance(value, dict):  # a dict of parameters: names and shapes, not every number
        return "{" + ", ".join(f"{key!r}: {_short(item)}" for key, item in value.items()) + "}"
    return describe_value(value)


# --------------------------------------------------------------------------- inputs left alone

INPUT_MODIFIED = Mistake(
    "input modified in place",
    "the function wrote into an array (or dict) it was given: an assignment into it, an in-place "
    "operator such as -=, *= or /=, an in-place shuffle, or an out= argument that points at it. The "
    "caller still needs its input (a later layer, a backward pass or a figure reads it again): build "
    "the result in a new array or dict and leave the inputs as they were.")


def changed_input(params: tuple[str, ...], case: Case, returned: Returned) -> str | None:
    """``None`` when the call left every input of ``case`` as it was, else which one changed and how."""
    named = [(params[i] if i < len(params) else f"argument {i}", before, after)
             for i, (before, after) in enumerate(zip(case.args, returned.args))]
    named += [(key, value, returned.kwargs.get(key)) for key, value in case.kwargs.items()]
    if len(returned.args) != len(case.args) or set(returned.kwargs) != set(case.kwargs):
        return "the call changed its list of arguments"
    for name, before, after in named:
        problem = _changed(before, after, f"`{name}`")
        if problem:
            return f"{problem}: the function must not modify its inputs"
    return None


def _changed(before, after, where: str) -> str | None:
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or after.shape != before.shape or after.dtype != before.dtype:
            return f"{where} was replaced or resized by the call"
        same = after == before
        if before.dtype.kind in "fc":
            same |= np.isnan(after) & np.isnan(before)
        differs = ~same
        if not differs.any():
            return None
        first = tuple(int(i) for i in np.argwhere(differs)[0])
        return f"{where} was changed by the call ({int(differs.sum())} of {differs.size} elements, the first at index {first})"
    if isinstance(before, dict):
        if not isinstance(after, dict) or set(after) != set(before):
            return f"{where} gained or lost keys during the call"
        return next((problem for key in before if (problem := _changed(before[key], after[key], f"{where}[{key!r}]"))),
                    None)
    if isinstance(before, (list, tuple)):
        if type(after) is not type(before) or len(after) != len(before):
            return f"{where} gained or lost items during the call"
        return next((problem for index, item in enumerate(before)
                     if (problem := _changed(item, after[index], f"{where}[{index}]"))), None)
    if _same_scalar(before, after):
        return None  # a number, string or None at the top level cannot change; inside a container it can
    return f"{where} was changed by the call (it was {repr(before)[:40]}, it is now {repr(after)[:40]})"


def _same_scalar(before, after) -> bool:
    """Whether ``after`` still holds the value ``before`` held (NaN stays NaN); objects that cannot be
    compared are taken as unchanged."""
    try:
        if bool(before == after):
            return True
        return bool(isinstance(before, (float, np.floating)) and isinstance(after, (float, np.floating))
                    and np.isnan(before) and np.isnan(after))
    except Exception:  # an object whose == does not give one truth value
        return True


NOTHING_RETURNED = Mistake(
    "nothing returned",
    "the function gave back None, which is what a Python function returns when it ends without a "
    "`return` statement (or with a bare `return`). Look at how your function ends: it must return "
    "the result it computed.")

LOW_PRECISION = Mistake(
    "computed in half precision",
    "the values are right to about three significant digits, as float16 holds them, but not to the "
    "precision the grader asks for. Compute in float64 (NumPy's default) or float32; look for an "
    "astype or dtype= that asks for float16.")


def _half_precision(expected, got) -> bool:
    """``got`` is a float16 array that matches ``expected`` as closely as float16 can."""
    return (isinstance(got, np.ndarray) and got.dtype == np.float16 and isinstance(expected, np.ndarray)
            and compare(expected, got, tolerance=(2e-3, 1e-3)) is None)


# --------------------------------------------------------------------------- comparing


# The course's one precision policy: how close a value must come to the float64 reference is set
# here, by the grader, and never by the dtype the student returned. Correct float32 arithmetic stays
# well inside it (about 1e-7 relative per operation); float16 (about 5e-4) and a computation that is
# slightly off do not. A check may choose another fixed tolerance (``Check.tolerance``).
RTOL, ATOL = 1e-4, 1e-5
TOLERANCE = (RTOL, ATOL)


def compare(expected, got, where: str = "the result", tolerance: tuple[float, float] = TOLERANCE) -> str | None:
    """Return ``None`` if ``got`` matches ``expected``, else a sentence saying how it differs.

    Order of the checks: type, then shape, dtype and finiteness, then values within
    ``tolerance`` = (rtol, atol), atol scaled by the size of the expected values.
    """
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)):
            return f"{where} should be a tuple of {len(expected)} values, but it is {type_name(got)}"
        if len(got) != len(expected):
            return f"{where} should have {len(expected)} elements, but it has {len(got)}"
        for index, (want, have) in enumerate(zip(expected, got)):
            problem = compare(want, have, f"element {index} of {where}", tolerance)
            if problem:
                return problem
        return None
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)) and not (isinstance(got, np.ndarray) and got.shape == () and got.dtype == bool):
            return f"{where} should be True or False, but it is {type_name(got)}"
        return None if bool(got) == bool(expected) else f"{where} should be {bool(expected)}, got {bool(got)}"
    if isinstance(expected, (int, np.integer)):
        return _compare_int(int(expected), got, where)
    if isinstance(expected, float):
        return _compare_scalar(expected, got, where, tolerance)
    if isinstance(expected, np.ndarray):
        return _compare_array(expected, got, where, tolerance)
    raise TypeError(f"checks cannot compare reference values of type {type(expected)}")


def type_name(value) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    if value is None:
        return "None (did the function forget to `return`?)"
    return f"a {type(value).__name__} ({describe_value(value)})"


def _compare_int(expected: int, got, where: str) -> str | None:
    if isinstance(got, np.ndarray) and got.shape == ():
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return f"{where} should be the whole number {expected}, but it is {type_name(got)}"
    if isinstance(got, float):
        if got == expected:
            return (f"{where} is {got!r}, a float; it should be the int {expected}. "
                    "Sizes and counts are whole numbers: a true division gives a float even when it "
                    "divides evenly. Look at the divisions in your formula and keep the result a whole number")
        return f"{where} should be {expected}, got {got!r}"
    return None if got == expected else f"{where} should be {expected}, got {got}"


def _compare_scalar(expected: float, got, where: str, tolerance: tuple[float, float]) -> str | None:
    if isinstance(got, np.ndarray):
        if got.size != 1:
            return f"{where} should be a single number, but it is {type_name(got)}"
        got = got.reshape(()).item()
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return f"{where} should be a number, but it is {type_name(got)}"
    if not np.isfinite(got) and np.isfinite(expected):
        return f"{where} should be {expected:.6g}, got {got} (not finite)"
    rtol, atol = tolerance
    scale = max(1.0, abs(expected)) if np.isfinite(expected) else 1.0
    if np.isclose(got, expected, rtol=rtol, atol=atol * scale, equal_nan=True):
        return None
    return f"{where} should be {expected:.8g}, got {got:.8g}"


def _compare_array(expected: np.ndarray, got, where: str, tolerance: tuple[float, float]) -> str | None:
    if not isinstance(got, np.ndarray):
        if (isinstance(got, (list, tuple)) and len(got) > 1 and isinstance(got[0], np.ndarray)
                and got[0].shape == expected.shape):
            return (f"{where} should be the output array only, but it is a {type(got).__name__} of {len(got)} "
                    f"values whose first, an array of shape {got[0].shape}, looks like the output. Return the "
                    "output alone, as the docstring says, with no cache (the values a backward pass would need) "
                    "beside it")
        if isinstance(got, (list, tuple)):
            return (f"{where} should be a NumPy array of shape {expected.shape}, but it is a "
                    f"{type(got).__name__}; convert it to a NumPy array before returning it")
        return f"{where} should be a NumPy array of shape {expected.shape}, but it is {type_name(got)}"
    if got.shape != expected.shape:
        return f"{where} should have shape {expected.shape}, but it has shape {got.shape}"
    if expected.dtype.kind == "f" and got.dtype.kind == "b":
        return (f"{where} is a boolean array (dtype bool), a mask of True and False; it should hold floats. "
                "A comparison such as x > 0 gives a mask: convert it with .astype(float), or multiply it by "
                "a float array, to get numbers")
    if expected.dtype.kind == "f" and got.dtype.kind in "iu":
        return (f"{where} has integer dtype {got.dtype}; it should hold floats. Values were "
                "probably truncated: look at the dtype of the array you create or fill in (an "
                "integer input, or an array created from integers, stays integer)")
    if expected.dtype.kind in "iu" and got.dtype.kind not in "iu":
        return f"{where} should hold integers (dtype int), but its dtype is {got.dtype}"
    if expected.dtype.kind == "b" and got.dtype.kind != "b":
        return f"{where} should hold booleans, but its dtype is {got.dtype}"
    if got.dtype.kind == "c":
        return f"{where} has complex dtype {got.dtype}; it should be real"
    if got.dtype.kind == "f":
        bad = ~np.isfinite(got) & np.isfinite(expected)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            return (f"{where} contains {int(bad.sum())} NaN or infinite value(s), first at index "
                    f"{index}, where {expected[index]:.6g} was expected")
    if expected.dtype.kind in "iub":
        wrong = got != expected
    else:
        rtol, atol = tolerance
        finite = np.abs(expected[np.isfinite(expected)])  # a mistake's output may hold NaN or inf
        scale = max(1.0, float(np.max(finite, initial=0.0)))
        wrong = ~np.isclose(got.astype(np.float64), expected, rtol=rtol, atol=atol * scale, equal_nan=True)
    if not wrong.any():
        return None
    with np.errstate(invalid="ignore"):
        diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    diff[~wrong | ~np.isfinite(diff)] = 0
    index = np.unravel_index(int(np.argmax(diff)), diff.shape)
    index = tuple(int(i) for i in index)
    return (f"{where} differs at {int(wrong.sum())} of {wrong.size} elements; the largest "
            f"difference is at index {index}: expected {expected[index]:.6g}, got {got[index]:.6g}")


# --------------------------------------------------------------------------- expected values looked up

MISSING = object()  # what a lookup of expected values gives for a case it holds no value for
# lookup(check, case) -> the expected value or MISSING; set only while check() in Jupyter judges
# (see run_check's ``expected`` and autograder.core.expected), never while the grader does.
_LOOKUP: ContextVar[Callable[[Check, Case], Any] | None] = ContextVar("autograder_expected_lookup", default=None)


@contextlib.contextmanager
def looking_up(lookup: Callable[[Check, Case], Any] | None):
    """While in this block, :meth:`Check.expected` asks ``lookup`` first (None: the reference only)."""
    token = _LOOKUP.set(lookup)
    try:
        yield
    finally:
        _LOOKUP.reset(token)


# --------------------------------------------------------------------------- the judge's own code, quiet

@contextlib.contextmanager
def quiet():
    """A block of the course's own code (the reference, a mistake's model, a hint) that runs in the
    judge's process: none of its warnings (Python's, such as "Mean of empty slice", or NumPy's floating
    point ones) reaches the student, who did not write it. Chapter modules need no wrappers of their own."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


# (the case being judged, the other calls of its group that the judge has seen): set by Check.judge
_EVIDENCE: ContextVar[tuple[Case | None, tuple]] = ContextVar("autograder_evidence", default=(None, ()))


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def exception_message(error: CallError) -> str:
    """The first line of the message of the exception a student's call raised, from the call's
    ``message``: ``raised Name: text`` (``check()`` in Jupyter) or a traceback whose last line is
    ``Name: text`` (the grader's sandbox); "" when it said none."""
    name, message = error.exception, error.message
    if not name:
        return ""
    # the last line that names the class, maybe with its module (numpy.exceptions.AxisError: ...)
    said = re.findall(rf"(?:^|\n)(?:raised )?(?:[\w.]+\.)?{re.escape(name)}: ([^\n]*)", message)
    if not said:  # a class known by a public name, printed by its own (numpy's UFuncTypeError): the last line
        said = re.findall(r"(?:^|\n)[A-Za-z_][\w.]*: ([^\n]*)\s*$", message)
    return said[-1].strip() if said else ""


# --------------------------------------------------------------------------- the check


@dataclass
class Check:
    """One graded exercise.

    ``reference(*args, **kwargs)`` computes the expected value (float64, PyTorch-based, from
    :mod:`autograder.core.reference`). ``params`` names the positional parameters, for messages.
    ``select`` picks one element when the student's function returns a tuple (for example
    the ``out`` of ``(out, cache)``). ``forbidden`` lists modules the solution may not use.
    ``keeps_inputs``: a call that changes one of its inputs fails, even with the right value
    (every exercise of the course promises to leave its inputs alone).

    :meth:`judge` is the same for every check; a check that judges answers differently (by what
    they do rather than by comparison with one answer) overrides the one step :meth:`assess`.
    """

    id: str
    params: tuple[str, ...]
    reference: Callable[..., Any]
    groups: list[Group]
    mistakes: list[Mistake] = field(default_factory=list)
    select: int | None = None
    forbidden: tuple[str, ...] = FORBIDDEN
    timeout: float = 10.0  # seconds of wall-clock time per call
    keeps_inputs: bool = True
    tolerance: tuple[float, float] = TOLERANCE  # (rtol, atol) for every value, whatever its dtype
    summary: str = ""
    # hint(case, got) -> Diagnosis or None: explains answers no mistake model matches (NaN, inf);
    # tried in order, only when no mistake in the library matched.
    hints: list[Callable[[Case, Any], Diagnosis | None]] = field(default_factory=list)
    # driver(target, *args, **kwargs): for an exercise that is not a function of plain values (a class, a
    # function that trains a model), what calls it on a case: a self-contained function (its imports inside
    # it) that drives the student's ``target`` with the case's plain inputs and returns plain values. Its
    # source runs where the student's code runs (the sandbox at grading time, the kernel for check()), so
    # only plain values come back (:func:`driver_source`, :func:`driver_function`).
    driver: Callable[..., Any] | None = None

    @property
    def stem(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def function(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def stands_in(self) -> bool:
        """Whether :attr:`reference` gives this exercise's whole return value, so that while another
        exercise that calls this one is graded, the reference can stand in for the student's own."""
        return self.select is None and self.driver is None and type(self).assess is Check.assess

    @property
    def total_weight(self) -> float:
        return sum(group.weight for group in self.groups)

    def cases(self, group: Group, seed: int | None) -> list[Case]:
        """The cases of ``group``. Hidden groups are drawn from ``seed``. A visible group's cases are the
        ones the student sees in the notebook (``seed`` None: ``check()`` in Jupyter); at grading time
        (a seed) they are re-drawn from it by the group's :attr:`~Group.redraw` (by default
        :func:`redraw`): the same kinds of cases, new numbers, so that a table of the visible answers
        earns nothing."""
        name = zlib.crc32(f"{self.id}/{group.name}".encode())
        if group.visible or seed is None:
            cases = group.make(np.random.default_rng([0, name]))
            if seed is None or not group.visible:
                return cases
            if group.redraw is not None:  # its own: it rewrites the notes that quote numbers
                return group.redraw(cases, np.random.default_rng([seed, name, 1]))
            return [_renumbered(case, new) for case, new in
                    zip(cases, redraw(cases, np.random.default_rng([seed, name, 1])), strict=True)]
        return group.make(np.random.default_rng([seed, name]))

    def expected(self, case: Case):
        """The reference's value on ``case``. Inside :func:`looking_up` (``check()`` in Jupyter, on the
        visible cases), a value stored for exactly these inputs is taken instead, and the reference
        (PyTorch) runs only for a case the lookup lacks."""
        lookup = _LOOKUP.get()
        if lookup is not None:
            value = lookup(self, case)
            if value is not MISSING:
                return value
        def compute():
            with quiet():  # the course's own warnings never reach the student
                return self.reference(*case.args, **case.kwargs)
        return _remembered(self.id, self.reference, case, compute)

    def judge(self, case: Case, got, evidence=()) -> Verdict:
        """Judge what the student's call gave on ``case``: a :class:`Returned` (the value and the inputs as
        the call left them), a bare value, or a :class:`CallError`. The same for every check.

        ``evidence``: other calls, as (case, got) pairs, that a likely cause must agree with. For a call that
        raised, every call of this check (:meth:`diagnose_error`); for a wrong value, the other calls of its
        group that the judge has seen (:meth:`diagnose`: a mistake is named only when its model does what the
        student's function did on each of them, not on the failing case alone)."""
        def call() -> str:  # described only when said: most cases pass without a note
            return describe_call(self.function, self.params, case)
        if isinstance(got, CallError):
            found = self.diagnose_error(case, got, evidence)
            return Verdict(False, f"{call()}\n  {got.message}", found.text if found else "",
                           found.mistake if found else "", str(got.kind), got.exception)
        returned = got if isinstance(got, Returned) else None
        token = _EVIDENCE.set((case, tuple(evidence)))
        try:
            finding = self.assess(case, got.value if returned else got)
        finally:
            _EVIDENCE.reset(token)
        changed = returned and self.keeps_inputs and finding.problem is None and changed_input(self.params, case, returned)
        if changed:
            return Verdict(False, f"{call()}\n  {changed}", INPUT_MODIFIED.diagnosis.text, INPUT_MODIFIED.name)
        if finding.problem is None:
            return Verdict(True, f"{call()}\n  {finding.note}" if finding.note else "")
        found = finding.diagnosis
        return Verdict(False, f"{call()}\n  {finding.problem}", found.text if found else "",
                       found.mistake if found else "")

    def assess(self, case: Case, got) -> Finding:
        """The overridable step of :meth:`judge`: what is wrong with ``got``, and its likely cause.

        By default: pick the ``select`` element, compare with the reference, and on a difference
        look the value up in the library of mistakes (:meth:`diagnose`).
        """
        if self.select is not None:
            if not isinstance(got, (tuple, list)) or len(got) <= self.select:
                return Finding(f"should return a tuple whose element {self.select} "
                               f"is the output, but it returned {type_name(got)}",
                               NOTHING_RETURNED.diagnosis if got is None else None)
            got = got[self.select]
        problem = self.compare(self.expected(case), got)
        return Finding(problem, self.diagnose(case, got) if problem is not None else None)

    def compare(self, expected, got) -> str | None:
        """``None`` when ``got`` matches ``expected`` within this check's tolerance, else what differs
        (see :func:`compare`)."""
        return compare(expected, got, tolerance=self.tolerance)

    def diagnose(self, case: Case, got) -> Diagnosis | None:
        """The first known mistake whose output matches the student's, else the first hint that applies.

        While :meth:`judge` judges with evidence (the group's other calls it has seen), a mistake is
        named only if its model also agrees with every one of them (:meth:`agrees`): a value that one
        symmetric case makes look like a mistake is not blamed on it when another case says otherwise."""
        if got is None:
            return NOTHING_RETURNED.diagnosis
        judged, evidence = _EVIDENCE.get()
        others = [(other, result) for other, result in evidence if other is not case] if judged is case else []
        for mistake in self.mistakes:
            wrong, raised = self.model(mistake, case)
            if raised is None and self.matches(wrong, got) and all(
                    self.agrees(mistake, other, result) for other, result in others):
                return mistake.diagnosis
        for hint in self.hints:
            try:
                with quiet():
                    found = hint(case, got)
            except Exception:  # a hint that does not apply to this value
                continue
            if found:
                return found
        if _half_precision(self.expected(case), got):
            return LOW_PRECISION.diagnosis
        return None

    def diagnose_error(self, case: Case, error: CallError, evidence=()) -> Diagnosis | None:
        """The first known mistake whose model raises the same exception on ``case`` (the same class and
        the same message: the same operation failed on the same shapes) and behaves like the student's
        function on every call in ``evidence`` ((case, got) pairs): it raises the same exception where
        the student's raised, and returns the same value where the student's returned one. A mistake
        whose model returns a value on ``case`` describes an output, and is never named for a call that
        gave none."""
        if error.kind != "exception" or not error.exception:
            return None
        others = [(other, got) for other, got in evidence if other is not case]
        for mistake in self.mistakes:
            loose = mistake.any_message
            if self._raises_like(mistake, case, error, loose) and all(
                    self.agrees(mistake, other, got, loose) for other, got in others):
                return mistake.diagnosis
        return None

    def model(self, mistake: Mistake, case: Case) -> tuple[Any, str | None]:
        """What ``mistake``'s model gives on ``case``: (value, None), or (None, the class name of the
        exception it raised, or :data:`NOT_APPLICABLE`). It works on copies, so a model that writes
        into its inputs is harmless, and with warnings silenced: a mistake's model is the course's code,
        and what it warns (a mean of an empty slice, an overflow) must never reach the student."""
        return self._outcome(mistake, case)[:2]

    def _outcome(self, mistake: Mistake, case: Case) -> tuple[Any, str | None, str]:
        """:meth:`model`'s (value, exception class) and the first line of the exception's message ("" if none)."""
        if mistake.apply is None:
            return None, NOT_APPLICABLE, ""

        def run():
            args, kwargs = copy.deepcopy((case.args, case.kwargs))
            try:
                with quiet():  # mistakes may overflow: that is often the point
                    return mistake.apply(*args, **kwargs), None, ""
            except NotApplicable:
                return None, NOT_APPLICABLE, ""
            except Exception as error:
                return None, type(error).__name__, _first_line(str(error))
        return _remembered(self.id, mistake, case, run)

    def _raises_like(self, mistake: Mistake, case: Case, error: CallError, loose: bool = False) -> bool:
        """Whether ``mistake``'s model raises on ``case`` what the student's call raised (``error``): the
        same class, with the same message (``loose``: the same class is enough)."""
        _, raised, message = self._outcome(mistake, case)
        return (raised is not None and raised != NOT_APPLICABLE and raised == error.exception
                and (loose or message == exception_message(error)))

    def matches(self, wrong, got) -> bool:
        """Whether the grader cannot tell the student's (selected) value from a mistake's."""
        try:
            return self.compare(wrong, got) is None
        except TypeError:  # a model whose value the comparison does not know
            return False

    def agrees(self, mistake: Mistake, case: Case, got, loose: bool = True) -> bool:
        """Whether ``mistake``'s model does on ``case`` what the student's call did (``got``): returns the same
        value, or raises the same exception (``loose``: of the same class; otherwise with the same message too)."""
        wrong, raised = self.model(mistake, case)
        if raised == NOT_APPLICABLE:
            return True  # no evidence either way
        if isinstance(got, CallError):
            return got.kind != "exception" or self._raises_like(mistake, case, got, loose)
        value = got.value if isinstance(got, Returned) else got
        if self.select is not None:
            value = value[self.select] if isinstance(value, (tuple, list)) and len(value) > self.select else None
        return raised is None and self.matches(wrong, value)

    @property
    def mistake_names(self) -> set[str]:
        """Every name this check can diagnose, known without running anything: its library of mistakes.

        The library lists the mistakes recognised by their model (``apply``: by its value, or by the
        exception it raises) and also, without a model, those that a hint or an overridden
        :meth:`assess` (or :meth:`diagnose_error`) recognises and reports with the mistake's name.
        """
        generic = {NOTHING_RETURNED.name, LOW_PRECISION.name} | ({INPUT_MODIFIED.name} if self.keeps_inputs else set())
        return {mistake.name for mistake in self.mistakes} | generic

"""``check(...)``: instant, friendly feedback inside Jupyter.

This module runs in the student's Jupyter kernel (and in the book's page kernels), so it
imports only :mod:`autograder.core`: never the grader, the sandbox or the course tools.

A test cell declares the check it stands for in one readable line::

    check("02-convolution.conv_forward_naive")

Run in a student's kernel, this finds ``conv_forward_naive`` in the notebook, runs the
check's *visible* cases against the reference and shows what passed, what was expected, what
came back and the likely cause. The visible cases' expected values are shipped with the package
(:mod:`autograder.core.expected`), so a passing ``check()`` does not import torch (two seconds in
a fresh kernel); torch is loaded only when something needs the reference itself: a case whose
shipped value is missing or stale, a failing answer whose likely cause a mistake's model looks
up, or a check that judges by what the answer does (see the ``left_out`` of each chapter's file).

It is feedback only: at grading time nothing that runs in the student's kernel counts. The
grader reads the check id from the instructor's source notebook, runs the student's code in a
separate process, and compares in its own process, with the reference on every case.

With ``hidden=True`` (instructor edition only) it also runs the randomized hidden groups.

A question at the end of a chapter (``check("02-convolution.answer_02_1")``) has no function: its
answer is the value of the variable of that name, fetched from the notebook and never called. Its
visible check judges the answer's form only and says so; ``hidden=True`` grades it with the answer key
(:mod:`autograder.core.checks.questions`), which only the instructors' copy of the package holds.
"""

from __future__ import annotations

import functools
import html
import inspect
import random
import sys

from ..core import checks, codec, expected
from ..core.checks import Returned
from ..core.checks.base import driver_function, driver_source, forbidden_use
from ..core.checks.questions import FORM_ONLY, is_answer
from ..core.checks.run import run_check
from ..core.results import CallError, ErrorKind, GroupResult


class Feedback:
    """What ``check`` returns: renders as HTML in Jupyter and as text elsewhere.

    It is deliberately not a bool: a test cell's last expression must never award points. A
    failing ``check`` displays it and then raises :class:`CheckFailed`, so the test cell fails in
    Jupyter and under plain ``nbgrader autograde`` alike.
    """

    def __init__(self, check_id: str, groups: list[GroupResult], hidden_count: int, note: str = ""):
        self.check_id, self.groups, self.hidden_count, self.note = check_id, groups, hidden_count, note

    @property
    def passed(self) -> bool:
        return all(group.passed for group in self.groups)

    def _lines(self) -> list[tuple[bool, str, str]]:
        return [(g.passed, f"{g.name} ({g.cases} case{'s' * (g.cases != 1)})", g.message + (
            f"\nLikely cause: {g.diagnosis}" if g.diagnosis else "")) for g in self.groups]

    def _footer(self) -> str:
        if not self.hidden_count:
            return ""
        return (f"{self.hidden_count} more group(s) of randomized hidden checks run at grading time. "
                "Try them now with: python -m autograder check <this notebook>.ipynb")

    def __str__(self) -> str:
        head = f"{'✅' if self.passed else '❌'} {self.check_id}"
        body = [f"  {'✓' if ok else '✗'} {name}" + ("" if ok else "\n" + _indent(detail, 6))
                for ok, name, detail in self._lines()]
        footer = self._footer()
        return "\n".join([head, *body] + [f"  {line}" for line in (self.note, footer) if line])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        rows = "".join(
            f"<li>{'✓' if ok else '✗'} {html.escape(name)}"
            + ("" if ok else f"<pre style='white-space:pre-wrap;margin:.3em 0'>{html.escape(detail)}</pre>")
            + "</li>" for ok, name, detail in self._lines())
        footer = self._footer()
        return (f"<div class='autograder-feedback' style='border-left:4px solid {colour};padding:.2em .8em'>"
                f"<strong>{'Passed' if self.passed else 'Not yet'}: <code>{html.escape(self.check_id)}</code></strong>"
                f"<ul style='list-style:none;padding-left:.5em'>{rows}</ul>"
                + (f"<p>{html.escape(self.note)}</p>" if self.note else "")
                + (f"<small>{html.escape(footer)}</small>" if footer else "") + "</div>")


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def check(check_id: str, function=None, *, hidden: bool = False, seed: int | None = None, _depth: int = 1):
    """Run the visible checks of ``check_id`` on the function of that name in the notebook."""
    spec = checks.get(check_id)
    function_given = function
    if function is None:
        frame = inspect.stack()[_depth].frame
        function = frame.f_globals.get(spec.function, _UNSET if is_answer(spec.function) else None)
    hidden_groups = sum(not group.visible for group in spec.groups)
    if seed is None and hidden:
        seed = random.SystemRandom().randrange(2**32)
    if is_answer(spec.function):
        return _question(spec, function, seed, hidden)
    driven = _driven(spec, function)

    def call(case):
        if not callable(function):
            return CallError(ErrorKind.MISSING, f"no function named `{spec.function}` is defined yet: run its cell first")
        # fresh copies of the inputs, made as the grader makes them, to compare with the case afterwards
        args, kwargs = codec.decode(codec.encode((case.args, case.kwargs)))
        used: set[str] = set()
        try:
            value = _call_watching(driven, args, kwargs, spec.forbidden, used)
        except NotImplementedError:
            return CallError(ErrorKind.NOT_IMPLEMENTED, "not implemented yet (the cell still raises NotImplementedError)")
        except Exception as error:  # show the student's error as feedback, not as a traceback
            return CallError(ErrorKind.EXCEPTION, f"raised {type(error).__name__}: {error}", type(error).__name__)
        if used:  # the grader refuses these modules; here they are only seen being called
            return CallError(ErrorKind.FORBIDDEN, forbidden_use(used))
        try:  # the same round trip as at grading time, so feedback and grade agree
            return Returned(codec.decode(codec.encode(value)), args, kwargs)
        except codec.CodecError as error:
            return CallError(ErrorKind.UNREADABLE, f"returned {error}, which cannot be graded; return a NumPy array or number")

    groups, _ = run_check(spec, call, seed, include_hidden=hidden, expected=expected.lookup)
    feedback = Feedback(check_id, groups, 0 if hidden else hidden_groups)
    if feedback.passed:
        return feedback
    feedback.note = _wrong_dependencies(spec, function, frame.f_globals if function_given is None else {})
    from IPython.display import display

    display(feedback)  # the full, friendly report first ...
    raise CheckFailed(feedback)  # ... then a one-line error, so the cell fails (plain nbgrader agrees)


_UNSET = object()  # a question's answer variable that no cell has set yet


def _question(spec, value, seed: int | None, hidden: bool) -> Feedback:
    """A question's check: its answer is the variable's value, fetched by name, never called. The visible
    group judges its form only (:mod:`autograder.core.checks.questions`); ``hidden`` grades it."""
    def call(case):
        if value is _UNSET:
            return CallError(ErrorKind.MISSING, f"no `{spec.function}` is set yet: run its answer cell first")
        try:  # the same round trip as at grading time
            return Returned(codec.decode(codec.encode(value)), (), {})
        except codec.CodecError as error:
            return CallError(ErrorKind.UNREADABLE, f"is {error}, which cannot be graded; give {spec.wants}")

    groups, _ = run_check(spec, call, seed, include_hidden=hidden)
    feedback = Feedback(spec.id, groups, 0, "" if hidden else FORM_ONLY)
    if feedback.passed:
        return feedback
    from IPython.display import display

    display(feedback)
    raise CheckFailed(feedback)


def _wrong_dependencies(spec, function, names: dict) -> str:
    """A sentence naming the chapter's other exercises that ``function`` calls and that do not pass their
    own visible checks yet (then its failure may be theirs), or ""."""
    called = set(getattr(getattr(function, "__code__", None), "co_names", ()))
    wrong = []
    for other in checks.for_chapter(spec.stem).values():
        dependency = names.get(other.function)
        if other.function == spec.function or other.function not in called or not callable(dependency):
            continue
        try:
            _, passed = run_check(other, lambda case, f=dependency, o=other: _quiet_call(f, case, o), None,
                                  include_hidden=False, expected=expected.lookup)
        except Exception:  # a dependency that cannot even be judged is wrong too
            passed = -1.0
        if passed < sum(group.weight for group in other.groups if group.visible):
            wrong.append(f"`{other.function}`")
    if not wrong:
        return ""
    names_text = ", ".join(wrong)
    return (f"Note: `{spec.function}` calls your {names_text}, which does not pass its own check yet, so this "
            f"result may come from {names_text} rather than from `{spec.function}`. Fix {names_text} first. "
            "(The grader grades each exercise on its own: it puts the reference in place of an exercise that "
            "fails its check.)")


def _driven(spec, function):
    """What :func:`check` calls on a case: the student's ``function`` itself, or, for an exercise that a
    driver calls (a class, a function that trains a model: :attr:`~autograder.core.checks.Check.driver`),
    the driver with it, from the same source the grader runs in its sandbox."""
    if spec.driver is None or not callable(function):
        return function
    return functools.partial(driver_function(driver_source(spec), spec.driver.__name__), function)


def _quiet_call(function, case, spec=None):
    """``function`` on copies of ``case``'s inputs, as :func:`check` calls it, without its reports."""
    function = _driven(spec, function) if spec is not None else function
    args, kwargs = codec.decode(codec.encode((case.args, case.kwargs)))
    try:
        return Returned(codec.decode(codec.encode(function(*args, **kwargs))), args, kwargs)
    except NotImplementedError:
        return CallError(ErrorKind.NOT_IMPLEMENTED, "not implemented yet")
    except Exception as error:
        return CallError(ErrorKind.EXCEPTION, f"raised {type(error).__name__}", type(error).__name__)


def _call_watching(function, args, kwargs, forbidden, used: set[str]):
    """``function(*args, **kwargs)``, noting in ``used`` every forbidden module whose code runs during
    the call (a profile hook: Python functions by their module, built-in ones by the module they name)."""
    def profile(frame, event, arg):
        if event == "call":
            name = frame.f_globals.get("__name__") or ""
        elif event == "c_call":
            name = getattr(arg, "__module__", None) or ""
        else:
            return
        for module in forbidden:
            if name == module or name.startswith(module + "."):
                used.add(module)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        return function(*args, **kwargs)
    finally:
        sys.setprofile(previous)


class CheckFailed(AssertionError):
    """Raised by a failing ``check``. Jupyter shows one line instead of a traceback."""

    def __init__(self, feedback: Feedback):
        failed = [group.name for group in feedback.groups if not group.passed]
        super().__init__(f"{feedback.check_id}: {len(failed)} of {len(feedback.groups)} group(s) "
                         f"not passed yet ({'; '.join(failed)}); see the report above")
        self.feedback = feedback

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom exception display
        return [f"CheckFailed: {self}"]

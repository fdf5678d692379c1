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

Each check has the time limit the grader gives it (:attr:`Check.timeout <autograder.core.checks.Check.timeout>`,
for all of its calls together): an endless loop is stopped and reported as a failed case, as at grading
time (with ``SIGALRM``, in the kernel's main thread; where there is no such signal, Windows, or in another
thread, there is no limit). Interrupting a check ends with one line, not a traceback through this package.

An exercise is *not implemented yet* (:func:`unfinished`) when calling it would still reach the stub's
``raise NotImplementedError()``: a ``raise NotImplementedError`` at the top level of its body, with no
statement before it there that always leaves the function (a ``return``, a ``raise``, an ``if`` whose
branches all do). The stub's line left below a finished ``return``, or a ``raise NotImplementedError``
the student wrote in a branch, does not count.

A question at the end of a chapter (``check("02-convolution.answer_02_1")``) has no function: its
answer is the value of the variable of that name, fetched from the notebook and never called. Its
visible check judges the answer's form only and says so; ``hidden=True`` grades it with the answer key
(:mod:`autograder.core.checks.questions`), which only the instructors' copy of the package holds.
"""

from __future__ import annotations

import ast
import contextlib
import dis
import functools
import html
import inspect
import linecache
import os
import random
import signal
import sys
import textwrap
import threading
import time
import warnings
import weakref

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
                f"Try them now with: python -m autograder check {_this_notebook()}")

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


def check(check_id: str, function=None, *, hidden: bool = False, seed: int | None = None, quiet: bool = False,
          _depth: int = 1):
    """Run the visible checks of ``check_id`` on the function of that name in the notebook.

    ``quiet`` (for :func:`~autograder.kernel.exercises.needs`): show nothing and skip the work a report needs;
    a function that passed this check before, unchanged, is not run again. A failure still raises
    :class:`CheckFailed`. An interrupted check raises :class:`CheckInterrupted` (one line in Jupyter).
    """
    try:
        return _check(check_id, function, hidden, seed, quiet, _depth + 1)
    except CheckInterrupted:
        raise
    except KeyboardInterrupt:
        raise CheckInterrupted(check_id) from None


def _check(check_id: str, function, hidden: bool, seed: int | None, quiet: bool, depth: int):
    spec = checks.get(check_id)
    function_given = function
    if function is None:
        frame = inspect.stack()[depth].frame
        function = frame.f_globals.get(spec.function, _UNSET if is_answer(spec.function) else None)
    hidden_groups = sum(not group.visible for group in spec.groups)
    if seed is None and hidden:
        seed = random.SystemRandom().randrange(2**32)
    if is_answer(spec.function):
        return _question(spec, function, seed, hidden)
    if quiet and seed is None and _passed_before(check_id, function):
        return Feedback(check_id, [], hidden_groups)
    with warnings.catch_warnings() if quiet else contextlib.nullcontext():
        if quiet:
            warnings.simplefilter("ignore")
        groups, _ = run_check(spec, _caller(spec, function), seed, include_hidden=hidden, expected=expected.lookup)
    feedback = Feedback(check_id, groups, 0 if hidden else hidden_groups)
    if feedback.passed:
        _remember_pass(check_id, function)
        return feedback
    if quiet:
        raise CheckFailed(feedback)
    feedback.note = _wrong_dependencies(spec, function, frame.f_globals if function_given is None else {})
    from IPython.display import display

    display(feedback)  # the full, friendly report first ...
    raise CheckFailed(feedback)  # ... then a one-line error, so the cell fails (plain nbgrader agrees)


# The functions (and classes) that passed a check's visible cases: check id -> what they used then
# (see _uses). A quiet check of the same, unchanged function is not run again.
_PASSED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _uses(function) -> tuple:
    """What a function's result depends on besides its code: the objects its global names stand for now
    (another exercise it calls, redefined since, makes it a different function for :data:`_PASSED`)."""
    code, names = getattr(function, "__code__", None), getattr(function, "__globals__", {})
    return tuple((name, id(names[name])) for name in getattr(code, "co_names", ()) if name in names)


def _passed_before(check_id: str, function) -> bool:
    try:
        return _PASSED.get(function, {}).get(check_id) == _uses(function)
    except TypeError:  # not weakly referable (a builtin, a functools.partial): always checked
        return False


def _remember_pass(check_id: str, function) -> None:
    with contextlib.suppress(TypeError):
        _PASSED.setdefault(function, {})[check_id] = _uses(function)


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
            _, passed = run_check(other, _caller(other, dependency, watch=False), None,
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


def _this_notebook() -> str:
    """The notebook this kernel runs, as Jupyter names it to its kernels (``JPY_SESSION_NAME``, its path;
    VS Code's ``__vsc_ipynb_file__``), or a placeholder when the kernel was not told."""
    main = sys.modules.get("__main__")
    path = os.environ.get("JPY_SESSION_NAME") or getattr(main, "__vsc_ipynb_file__", "") or ""
    return os.path.basename(path) if str(path).endswith(".ipynb") else "<this notebook>.ipynb"


_LIBRARIES = tuple(os.path.normcase(os.path.realpath(path)) + os.sep for path in
                   {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.dirname(__file__))})


def _where(error: BaseException) -> str:
    """Where in the student's own code ``error`` was raised, on a line of its own (the message's first line
    stays the exception's, which is what a likely cause is matched on): "at line N of `name`'s cell:
    `the line`" for the innermost frame that is neither Python's, a library's, this package's nor the
    check's driver; "" when there is none."""
    frame = None
    for summary in inspect.getinnerframes(error.__traceback__, context=0)[1:]:  # the first is the caller's
        filename = summary.filename
        if filename.startswith(("<frozen", "<grading driver")):  # Python's own, or the check's driver
            continue
        real = filename if filename.startswith("<") else os.path.normcase(os.path.realpath(filename))
        if not real.startswith(_LIBRARIES):
            frame = summary
    if frame is None:
        return ""
    line = linecache.getline(frame.filename, frame.lineno).strip()
    shown = line if len(line) <= 80 else line[:77] + "..."
    return f"\n  at line {frame.lineno} of `{frame.function}`'s cell" + (f": `{shown}`" if shown else "")


def _caller(spec, function, watch: bool = True):
    """``call(case)`` for :func:`run_check`: the student's ``function`` (through its driver, if the check has
    one) on fresh copies of ``case``'s inputs, made as the grader makes them; a :class:`Returned` or a
    :class:`CallError`. All the calls of one check share its time limit, as at grading time. ``watch``:
    note the forbidden modules the call runs (what :func:`check` reports), at some cost in speed."""
    driven, limit, spent = _driven(spec, function), float(spec.timeout), [0.0]

    def call(case):
        if not callable(function):
            return CallError(ErrorKind.MISSING, f"no function named `{spec.function}` is defined yet: run its cell first")
        if spent[0] >= limit:
            return CallError(ErrorKind.TIMEOUT, f"not run: this check's time limit of {limit:g} s was used up by "
                                                "the cases before it")
        args, kwargs = codec.decode(codec.encode((case.args, case.kwargs)))
        used: set[str] = set()
        start = time.monotonic()
        try:
            with _time_limit(limit - spent[0]):
                value = _call_watching(driven, args, kwargs, spec.forbidden, used) if watch else driven(*args, **kwargs)
        except _OutOfTime:
            return CallError(ErrorKind.TIMEOUT, f"did not finish within this check's time limit of {limit:g} s "
                                                "(stopped; look for an endless loop or far too much work)")
        except NotImplementedError as error:
            if _reaches_stub(function):
                return CallError(ErrorKind.NOT_IMPLEMENTED,
                                 "not implemented yet (the cell still raises NotImplementedError)")
            return CallError(ErrorKind.EXCEPTION, f"raised {type(error).__name__}: {error}{_where(error)}",
                             type(error).__name__)
        except Exception as error:  # show the student's error as feedback, not as a traceback
            return CallError(ErrorKind.EXCEPTION, f"raised {type(error).__name__}: {error}{_where(error)}",
                             type(error).__name__)
        finally:
            spent[0] += time.monotonic() - start
        if used:  # the grader refuses these modules; here they are only seen being called
            return CallError(ErrorKind.FORBIDDEN, forbidden_use(used))
        try:  # the same round trip as at grading time, so feedback and grade agree
            return Returned(codec.decode(codec.encode(value)), args, kwargs)
        except codec.CodecError as error:
            return CallError(ErrorKind.UNREADABLE, f"returned {error}, which cannot be graded; return a NumPy array or number")
    return call


class _OutOfTime(BaseException):  # a BaseException: past the student's `except Exception`
    """Raised in the main thread when a check's time limit is up (:func:`_time_limit`)."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise :class:`_OutOfTime` in the code run inside once ``seconds`` of wall-clock time have passed.

    A one-shot ``SIGALRM`` timer (Linux, macOS) in the main thread, the thread a Jupyter kernel runs cells
    in; the signal handler and any timer set before are put back afterwards. Elsewhere (Windows, another
    thread) the code runs without a limit."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _OutOfTime

    start = time.monotonic()
    handler = signal.signal(signal.SIGALRM, stop)
    before, interval = signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
    try:
        yield
    finally:
        while True:  # the alarm may go off on the way out, once (the timer is one-shot): put everything back anyway
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, signal.SIG_DFL if handler is None else handler)
                if before:  # a timer someone else set, with what is left of it (at once, if that is past)
                    signal.setitimer(signal.ITIMER_REAL, max(before - (time.monotonic() - start), 1e-6), interval)
                break
            except _OutOfTime:
                continue


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


# ---------------------------------------------------------------------- "not implemented yet"

def unfinished(function) -> str:
    """Why ``function`` is visibly not written yet ("" when it looks written), read without calling it.

    Not implemented yet: calling it would still reach the stub's ``raise NotImplementedError()``
    (:func:`_reaches_stub`). Or it gives None to whatever uses its result: not a single ``return
    <value>``. An exercise that is a class (an ``nn.Module``) is unfinished while one of its methods
    reaches the stub's raise.
    """
    if isinstance(function, type):
        method = next((value for value in vars(function).values() if _reaches_stub(value)), None)
        return f"its {method.__name__} still raises NotImplementedError" if method is not None else ""
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    if _reaches_stub(function):
        return "it still raises NotImplementedError"
    instructions = list(dis.get_instructions(code))
    for before, instruction in zip([None, *instructions], instructions, strict=False):
        if instruction.opname == "RETURN_CONST" and instruction.argval is not None:
            return ""
        if instruction.opname == "RETURN_VALUE" and not (
                before is not None and before.opname == "LOAD_CONST" and before.argval is None):
            return ""
    return "it returns nothing yet"


def _reaches_stub(function) -> bool:
    """Whether calling ``function`` (for a class: one of its methods) would reach the stub's raise.

    That is a ``raise NotImplementedError`` (or ``NotImplementedError(...)``) at the top level of the
    function's body, with no statement before it, at that level, that always leaves the function (a
    ``return``, a ``raise``, an ``if`` whose every branch does). Read from the function's source; where
    there is none (code run by ``exec``), from its bytecode: the name NotImplementedError loaded
    before any return (the compiler drops what follows a ``return``, so the stub left below one is
    gone; a raise in a branch before the first return still counts there).
    """
    if isinstance(function, type):
        return any(_reaches_stub(value) for value in vars(function).values())
    code = getattr(function, "__code__", None)
    if code is None or "NotImplementedError" not in code.co_names:
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        tree = None
    definition = tree.body[0] if tree is not None and tree.body else None
    if not isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef):
        for instruction in dis.get_instructions(code):
            if instruction.opname.startswith("RETURN"):
                return False
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and instruction.argval == "NotImplementedError":
                return True
        return False
    for statement in definition.body:
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            if isinstance(raised, ast.Name) and raised.id == "NotImplementedError":
                return True
        if _leaves(statement):
            return False
    return False


def _leaves(statement: ast.stmt) -> bool:
    """Whether ``statement`` leaves the function on every path through it."""
    def every(body):
        return any(_leaves(inner) for inner in body)

    if isinstance(statement, ast.Return | ast.Raise):
        return True
    if isinstance(statement, ast.If):
        return every(statement.body) and every(statement.orelse)
    if isinstance(statement, ast.With | ast.AsyncWith):
        return every(statement.body)
    if isinstance(statement, ast.Try | getattr(ast, "TryStar", ast.Try)):
        return every(statement.finalbody) or (
            (every(statement.body) or every(statement.orelse)) and all(every(h.body) for h in statement.handlers))
    return False


class CheckInterrupted(KeyboardInterrupt):
    """Raised when a check is interrupted (the kernel's stop button): Jupyter shows one line, not a
    traceback through this package."""

    def __init__(self, check_id: str):
        super().__init__(f"check interrupted: {check_id} was stopped before it finished, so nothing was judged "
                         "(if it seemed stuck, look for an endless loop or far too much work, then run it again)")

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


class CheckFailed(AssertionError):
    """Raised by a failing ``check``. Jupyter shows one line instead of a traceback."""

    def __init__(self, feedback: Feedback):
        failed = [group.name for group in feedback.groups if not group.passed]
        super().__init__(f"{feedback.check_id}: {len(failed)} of {len(feedback.groups)} group(s) "
                         f"not passed yet ({'; '.join(failed)}); see the report above")
        self.feedback = feedback

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom exception display
        return [f"CheckFailed: {self}"]

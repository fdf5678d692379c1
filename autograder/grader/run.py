"""Stage 3 of grading one notebook: run the submission's code in a sandbox and call its functions.

The code that runs is the *source's* setup cells, then the submission's exercise cells
(:func:`submission_cells`); nothing else of the submission runs. A :class:`Session` keeps one
sandbox for the notebook and restarts it (re-running the cells) after a call that killed it.
Every call returns a :class:`~autograder.core.checks.Returned` (the student's value and the inputs
as the call left them, which the judge compares with what was sent) or a
:class:`~autograder.core.results.CallError`; a check's calls share its wall-clock limit (:class:`Clock`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import nbformat

from ..core.checks import Case, Check, Returned
from ..core.checks.base import DRIVER_NAMESPACE, driver_source, forbidden_use, frameworks
from ..core.checks.questions import is_answer
from ..core.results import CallError, ErrorKind
from ..sandbox import Limits, Sandbox, SandboxError
from .spec import NotebookSpec, nbgrader_meta


def submission_cells(spec: NotebookSpec, notebook: nbformat.NotebookNode, drivers: dict[str, str] | None = None,
                     ) -> list[dict]:
    """The code to run: the source's setup cells, then the submission's solution cells in order, then the
    harness (``drivers``: the exercises called through a check's driver, see :func:`harness_cell`)."""
    by_id = {}
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type == "code" and grade_id in spec.solutions and grade_id not in by_id:
            by_id[grade_id] = cell.source
    cells = [{"id": f"setup-{i}", "source": source} for i, source in enumerate(spec.setup)]
    cells += [{"id": grade_id, "source": by_id[grade_id]} for grade_id in spec.solutions if grade_id in by_id]
    return cells + [harness_cell(spec.solutions, drivers)]


# The harness's frames are not the student's: the child leaves frames of files named like its own
# out of the tracebacks it reports.
_HARNESS_FILE = "<grading harness>/child.py"
HARNESS_ID = "grading harness"  # the id of the harness cell (the last of submission_cells)


def caller(function: str) -> str:
    """The name of the harness's caller of ``function`` in the sandbox."""
    return f"_graded__{function}"


def harness_cell(functions, drivers: dict[str, str] | None = None) -> dict:
    """The last cell: for each exercise the submission defined, a caller that returns the value and
    the inputs as the call left them, ``(value, args, kwargs)``. The child decodes fresh inputs for
    every call, so these are the student's own copies; the judge compares them with what it sent.

    An exercise in ``drivers`` (name -> the source of its check's driver, :attr:`Check.driver`) is not
    called itself: its caller hands it (a class, a training function) to the driver, which runs in a
    namespace of its own and returns plain values.

    A question's answer (``answer_02_1``, :func:`~autograder.core.checks.questions.is_answer`) is a value,
    not a function: its caller returns the variable's value as the cells left it (None when unset), never
    calling it."""
    lines, drivers = [], drivers or {}
    for name in functions:
        if name in drivers and name.isidentifier():
            lines += [f"if callable(globals().get({name!r})):",
                      f"    {_driver(name)} = __driver({drivers[name]!r}, {_HARNESS_FILE!r})",
                      f"    def {caller(name)}(*args, **kwargs):",
                      f"        return {_driver(name)}({name}, *args, **kwargs), args, kwargs"]
        elif is_answer(name):
            lines += [f"def {caller(name)}(*args, **kwargs):",
                      f"    return globals().get({name!r}), args, kwargs"]
        elif name.isidentifier():
            lines += [f"if callable(globals().get({name!r})):",
                      f"    def {caller(name)}(*args, **kwargs):",
                      f"        return {name}(*args, **kwargs), args, kwargs"]
    if drivers:  # a driver's source defines one function, its only name: found in its own namespace
        lines = ["def __driver(source, filename):",
                 f"    namespace = {{'__name__': {DRIVER_NAMESPACE!r}}}",
                 "    exec(compile(source, filename, 'exec'), namespace)",
                 "    return next(value for key, value in namespace.items() if not key.startswith('__'))",
                 *lines]
    return {"id": HARNESS_ID, "source": f"exec(compile({chr(10).join(lines)!r}, {_HARNESS_FILE!r}, 'exec'))"}


def _driver(function: str) -> str:
    """The name of the driver of ``function`` in the sandbox."""
    return f"_driver__{function}"


def forbidden_modules(checks: list[Check]) -> list[str]:
    """Every module one of ``checks`` forbids: the sandbox refuses (and hides) them all."""
    return sorted({module for check in checks for module in check.forbidden})


def sandboxes(checks: list[Check]) -> list[list[int]]:
    """The indices of a notebook's ``checks``, by the sandbox that runs them: the checks that refuse the same
    frameworks (:func:`~autograder.core.checks.base.frameworks`) share one, which refuses what any of them
    forbids; a PyTorch exercise, which may import torch, gets its own. In the order of each one's first check."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, check in enumerate(checks):
        groups.setdefault(frameworks(check), []).append(index)
    return list(groups.values())


def drivers(checks: list[Check]) -> dict[str, str]:
    """The exercises of ``checks`` that a driver calls, with the driver's source (:attr:`Check.driver`)."""
    return {check.function: driver_source(check) for check in checks if check.driver is not None}


class Budget:
    """The wall-clock budget of one notebook's grading: cells, restarts and checks together."""

    def __init__(self, seconds: float):
        self.seconds, self.started = seconds, time.monotonic()

    @property
    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def used_up(self) -> str:
        return (f"not run: this notebook's time budget of {self.seconds:g} s (running its cells, restarts and "
                "every check together) was used up; look for slow code outside the functions, or calls that "
                "crash (each crash runs the cells again)")


class Session:
    """A sandbox that re-runs the submission's cells whenever it has to restart.

    If running the cells itself fails (an endless loop at the top level, a crash), it is not
    retried: every later call reports that failure at once.

    ``stand_ins`` maps exercise names to their checks: after the cells run, each of those functions
    is replaced by a stand-in that returns the check's reference value, computed in this process
    (see :meth:`Sandbox.substitute`), so that a function that calls it is graded on its own code.

    Every (re)start runs the cells within what is left of ``budget`` (the notebook's, shared with the
    checks and with any other session of the same notebook): a restart is never free.
    """

    def __init__(self, cells: list[dict], forbidden: list[str], limits: Limits, protect=(),
                 stand_ins: dict[str, Check] | None = None, budget: Budget | None = None):
        self.cells, self.forbidden, self.limits = cells, forbidden, limits
        self.budget = budget or Budget(float("inf"))
        self.sandbox = Sandbox(limits, forbidden, protect)
        self.ran: dict | None = None
        self.broken: SandboxError | None = None
        self.stand_ins = dict(stand_ins or {})

    def close(self) -> None:
        self.sandbox.close()

    def ensure(self) -> dict:
        """Start the sandbox and run the cells if needed; the report of the run (or SandboxError)."""
        if self.broken is not None:
            raise self.broken
        if self.sandbox.process is None:
            if self.budget.remaining <= 0:
                raise SandboxError("timeout", self.budget.used_up())
            limit = min(self.limits.run_seconds, self.budget.remaining)
            try:
                self.ran = self.sandbox.run_cells(self.cells, limit)
            except SandboxError as error:
                if error.kind == "timeout" and limit < self.limits.run_seconds:
                    error = SandboxError("timeout", self.budget.used_up())
                elif error.kind == "timeout":
                    error = SandboxError("timeout", f"running the notebook's cells did not finish within "
                                                    f"{self.limits.run_seconds:g} s (stopped; look for an endless "
                                                    "loop or slow code outside the functions)")
                elif error.kind != "setup":
                    error = SandboxError(error.kind, f"running the notebook's cells failed: {error}")
                self.broken = error
                raise error from None
            if self.stand_ins:
                try:
                    self.sandbox.substitute(list(self.stand_ins), self._reference,
                                            max(min(self.limits.run_seconds, self.budget.remaining), 0.01))
                except SandboxError as error:
                    self.broken = SandboxError(error.kind, f"replacing {', '.join(self.stand_ins)} by the "
                                                           f"reference failed: {error}")
                    raise self.broken from None
        return self.ran

    def _reference(self, name: str, args: list, kwargs: dict):
        """The reference value of exercise ``name`` on what a stand-in was given (its whole return value)."""
        return self.stand_ins[name].reference(*args, **kwargs)

    @property
    def stand_ins_used(self) -> list[str]:
        """The stand-ins that were called so far (in this sandbox and the ones before a restart)."""
        return sorted(name for name, count in self.sandbox.references_served.items() if count)

    def prepare(self) -> CallError | None:
        """Start the sandbox if needed; a :class:`CallError` if the notebook's cells cannot run."""
        try:
            self.ensure()
        except SandboxError as error:
            return CallError(error.kind, error.args[0])
        return None

    def failed_cell(self, grade_id: str) -> dict | None:
        cells = (self.ran or {}).get("cells", [])
        return next((cell for cell in cells if cell["id"] == grade_id and not cell["ok"]), None)

    def calls(self, check: Check, cases: list[Case], timeout: float) -> Iterator[Returned | CallError]:
        """The student's value on each of ``cases`` (a group's) with the inputs as the call left them, or a
        :class:`CallError`: all sent at once (:meth:`Sandbox.calls`), the values one by one as they come
        back, up to the first that failed; ``timeout`` bounds the child's time on them all."""
        error = self.prepare()
        if error is not None:
            yield error
            return
        replies = self.sandbox.calls(caller(check.function), [(case.args, case.kwargs) for case in cases], timeout)
        try:
            for case in cases:
                try:
                    reply = next(replies)
                except SandboxError as error:
                    yield CallError(error.kind, error.args[0])
                    return
                except StopIteration:  # (after a failure, which ended the group)
                    return
                yield self._value(check, reply, case.args, case.kwargs)
        finally:
            replies.close()

    def _value(self, check: Check, reply: dict, args, kwargs) -> Returned | CallError:
        """What a call's reply (see :meth:`Sandbox.call`) says: the student's value or a :class:`CallError`."""
        if reply.get("forbidden_used"):
            return CallError(ErrorKind.FORBIDDEN, forbidden_use(reply["forbidden_used"]))
        if not reply["ok"]:
            cell = self.failed_cell(check.function)
            if reply["kind"] == "missing" and cell and cell.get("forbidden"):  # its cell's import was refused
                return CallError(ErrorKind.FORBIDDEN, forbidden_use([cell["forbidden"]]))
            if reply["kind"] == "missing":
                return CallError(ErrorKind.MISSING, f"no function named `{check.function}` was defined "
                                                    "(did its cell run without errors?)")
            return CallError(reply["kind"], reply["message"], reply.get("exception", ""))
        value = reply["value"]
        if reply.get("inputs_unchanged"):  # the child found the inputs exactly as sent: these are them
            return Returned(value, tuple(args), dict(kwargs))
        if type(value) is tuple and len(value) == 3 and type(value[1]) is tuple and type(value[2]) is dict:
            return Returned(*value)
        # not the harness's reply (a line forged by the student's code): judged as a value like any other
        return Returned(value, tuple(args), dict(kwargs))


class Clock:
    """A check's own wall-clock limit, shared by all of its calls."""

    def __init__(self, seconds: float):
        self.seconds, self.spent = seconds, 0.0

    @property
    def remaining(self) -> float:
        return self.seconds - self.spent


def graded_calls(session: Session, check: Check, clock: Clock):
    """``calls(cases)`` for :func:`~autograder.core.checks.run.run_check`: the student's values on a group's
    ``cases``, one by one, all sent to the sandbox at once (:meth:`Session.calls`); the child's time on them
    is charged to ``clock`` (starting or restarting the sandbox is not) and to the session's budget (both
    are). A group stops at its first failing case, as in the student's ``check()``: the cases after it are
    never judged, and the time they take is not charged to ``clock``."""
    budget = session.budget

    def calls(cases: list[Case]) -> Iterator[Returned | CallError]:
        if clock.remaining <= 0:
            yield CallError(ErrorKind.TIMEOUT, f"not run: this check's time limit of {clock.seconds:g} s was "
                                               "used up by the cases before it")
            return
        if budget.remaining <= 0:
            yield CallError(ErrorKind.TIMEOUT, budget.used_up())
            return
        error = session.prepare()  # (re)starting the sandbox is not charged to the check
        if error is not None:
            yield error
            return
        by_budget = budget.remaining < clock.remaining  # the budget, not the check's limit, stops these calls
        start, spent, paused = time.monotonic(), clock.spent, 0.0
        values = session.calls(check, cases, min(clock.remaining, budget.remaining))
        try:
            for value in values:
                clock.spent = spent + time.monotonic() - start - paused  # the judge's time is not the child's
                if isinstance(value, CallError) and value.kind == "timeout" and by_budget:
                    value = CallError(ErrorKind.TIMEOUT, budget.used_up())
                elif isinstance(value, CallError) and value.kind == "timeout":
                    value = CallError(ErrorKind.TIMEOUT, f"did not finish within this check's time limit of "
                                                         f"{clock.seconds:g} s (stopped; look for an endless "
                                                         "loop or far too much work)")
                mark = time.monotonic()
                try:
                    yield value
                finally:
                    paused += time.monotonic() - mark
        finally:
            values.close()
    return calls

"""Grade one notebook: check it, run the student's cells in a sandbox, call, compare, score.

This is the pipeline the style guide asks for, as small steps:
``read the source spec -> pre-flight the submission (repair or refuse) -> pick its code cells ->
run them isolated -> call the student's functions on fresh inputs -> compare in this process ->
score``.

Outcomes are always one of a few honest words. A notebook is ``graded`` or ``failed: <reason>``
(it could not be graded at all: see :mod:`.preflight`). A check is ``passed``, ``failed`` (some
group's value was wrong; ``message`` says which groups) or ``error`` (no value came back: the
function raised, was missing, timed out, crashed or used a forbidden library; ``message`` says
why). Only values returned by the student's functions and judged here earn points: nothing a
cell prints, displays or evaluates to counts.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field

import nbformat

from .. import checks as check_registry
from ..checks.base import CallError, Check, Verdict
from . import preflight
from .sandbox import Limits, Sandbox, SandboxError
from .spec import NotebookSpec, nbgrader_meta


@dataclass
class GroupResult:
    name: str
    passed: bool
    cases: int
    message: str = ""
    diagnosis: str = ""
    error: bool = False


@dataclass
class CheckResult:
    grade_id: str
    check_id: str
    points: float
    score: float = 0.0
    status: str = "failed"  # "passed" | "failed" | "error"
    message: str = ""  # why it failed or errored, in one line ("" when passed)
    groups: list[GroupResult] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """``passed``, ``failed: <message>`` or ``error: <reason>``."""
        return self.status if self.status == "passed" else f"{self.status}: {self.message}"


@dataclass
class NotebookResult:
    name: str
    status: str = "graded"  # "graded" | "failed: <reason>"
    checks: list[CheckResult] = field(default_factory=list)
    cell_errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # pre-flight repairs and warnings, for the student
    sandbox: str = ""  # the isolation mode it was graded in

    @property
    def score(self) -> float:
        return sum(check.score for check in self.checks)

    @property
    def max_score(self) -> float:
        return sum(check.points for check in self.checks)

    def to_dict(self) -> dict:
        return asdict(self) | {"score": self.score, "max_score": self.max_score}


def submission_cells(spec: NotebookSpec, notebook: nbformat.NotebookNode) -> list[dict]:
    """The code to run: the source's setup cells, then the submission's solution cells in order."""
    by_id = {}
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type == "code" and grade_id in spec.solutions and grade_id not in by_id:
            by_id[grade_id] = cell.source
    cells = [{"id": f"setup-{i}", "source": source} for i, source in enumerate(spec.setup)]
    cells += [{"id": grade_id, "source": by_id[grade_id]} for grade_id in spec.solutions if grade_id in by_id]
    return cells


def _forbidden(checks: list[Check]) -> list[str]:
    return sorted({module for check in checks for module in check.forbidden})


class _Session:
    """A sandbox that re-runs the submission's cells whenever it has to restart.

    If running the cells itself fails (an endless loop at the top level, a crash), it is not
    retried: every later call reports that failure at once.
    """

    def __init__(self, cells: list[dict], forbidden: list[str], limits: Limits, protect=()):
        self.cells, self.forbidden, self.limits = cells, forbidden, limits
        self.sandbox = Sandbox(limits, forbidden, protect)
        self.ran: dict | None = None
        self.broken: SandboxError | None = None

    def ensure(self) -> dict:
        if self.broken is not None:
            raise self.broken
        if self.sandbox.process is None:
            try:
                self.ran = self.sandbox.run_cells(self.cells, self.limits.run_seconds)
            except SandboxError as error:
                if error.kind == "timeout":
                    error = SandboxError("timeout", f"running the notebook's cells did not finish within "
                                                    f"{self.limits.run_seconds:g} s (stopped; look for an endless "
                                                    "loop or slow code outside the functions)")
                elif error.kind != "setup":
                    error = SandboxError(error.kind, f"running the notebook's cells failed: {error}")
                self.broken = error
                raise error from None
        return self.ran

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

    def call(self, check: Check, args, kwargs, timeout: float) -> object:
        """The student's value, or a :class:`CallError`."""
        error = self.prepare()
        if error is not None:
            return error
        try:
            reply = self.sandbox.call(check.function, args, kwargs, timeout)
        except SandboxError as error:
            return CallError(error.kind, error.args[0])
        if reply.get("forbidden_used"):
            used = ", ".join(reply["forbidden_used"])
            return CallError("forbidden", f"the solution uses {used}, which this exercise does not allow; "
                                          "write it with NumPy only")
        if not reply["ok"]:
            cell = self.failed_cell(check.function)
            if reply["kind"] == "missing" and cell and cell.get("forbidden"):
                return CallError("forbidden", cell["error"])
            return CallError(reply["kind"], reply["message"])
        return reply["value"]


# What a hidden case's message may not say: the expected value (or shape) of the hidden input.
_REDACTIONS = [
    (re.compile(r"expected ([^,;]+), got "), "got "),  # arrays: "at index (i, j): expected E, got G"
    (re.compile(r", where \S+ was expected"), ""),  # arrays: NaN "first at index I, where E was expected"
    (re.compile(r"should be the whole number -?\d+, but"), "should be a whole number, but"),
    (re.compile(r"it should be the int -?\d+"), "it should be an int"),
    (re.compile(r"should be ([^,]*?), got "), "is not the expected value; got "),  # scalars, ints, bools
    (re.compile(r"should have shape \([^)]*\), but it has shape (\([^)]*\))"), r"has shape \1, which is wrong"),
    (re.compile(r"should be a NumPy array of shape \([^)]*\)"), "should be a NumPy array"),
]
_STILL_EXPECTED = re.compile(r"\bexpected\s+[-+\d.(\[]|was expected|should be -?\d")


def redact(message: str) -> str:
    """A failing hidden case's message without the expected value: the call, then what is wrong."""
    call, _, problem = message.partition("\n")
    for pattern, replacement in _REDACTIONS:
        problem = pattern.sub(replacement, problem)
    if _STILL_EXPECTED.search(problem):
        problem = "  the returned value is not correct"
    return f"{call}\n{problem}" if problem else call


def run_check(check: Check, call, seed: int | None, include_hidden: bool = True) -> tuple[list[GroupResult], float]:
    """Judge every group of ``check``; return the group results and the passed weight.

    Messages of hidden groups never show an expected value (see :func:`redact`).
    """
    results, weight = [], 0.0
    for group in check.groups:
        if not (group.visible or include_hidden):
            continue
        cases = check.cases(group, seed)
        verdict = Verdict(True)
        for case in cases:
            verdict = check.judge(case, call(case))
            if not verdict.passed:
                break
        message = "" if verdict.passed else verdict.message if group.visible or verdict.error else redact(verdict.message)
        results.append(GroupResult(group.name, verdict.passed, len(cases), message, verdict.diagnosis, verdict.error))
        weight += group.weight if verdict.passed else 0.0
    return results, weight


class _Clock:
    """A check's own wall-clock limit, shared by all of its calls."""

    def __init__(self, seconds: float):
        self.seconds, self.spent = seconds, 0.0

    @property
    def remaining(self) -> float:
        return self.seconds - self.spent


def _graded_call(session: _Session, check: Check, clock: _Clock):
    def call(case):
        if clock.remaining <= 0:
            return CallError("timeout", f"not run: this check's time limit of {clock.seconds:g} s was used up "
                                        "by the cases before it")
        error = session.prepare()  # (re)starting the sandbox is not charged to the check
        if error is not None:
            return error
        start = time.monotonic()
        value = session.call(check, case.args, case.kwargs, clock.remaining)
        clock.spent += time.monotonic() - start
        if isinstance(value, CallError) and value.kind == "timeout":
            return CallError("timeout", f"did not finish within this check's time limit of {clock.seconds:g} s "
                                        "(stopped; look for an endless loop or far too much work)")
        return value
    return call


def _summary(groups: list[GroupResult]) -> tuple[str, str]:
    """(status, one-line message) of a check from its group results."""
    failed = [group for group in groups if not group.passed]
    if not failed:
        return "passed", ""
    if len(failed) == len(groups) and all(group.error for group in failed):
        detail = failed[0].message.split("\n", 1)[-1]
        lines = [line.strip() for line in detail.splitlines() if line.strip()]
        return "error", (lines[-1] if lines else "no value came back")
    names = ", ".join(group.name for group in failed)
    return "failed", f"{len(failed)} of {len(groups)} group{'s' * (len(groups) != 1)} failed: {names}"


def failed_notebook(spec: NotebookSpec, reason: str, notes=()) -> NotebookResult:
    """A notebook that could not be graded: every test cell scores 0 with the reason."""
    result = NotebookResult(spec.name, status=f"failed: {reason}", notes=list(notes))
    result.checks = [CheckResult(t.grade_id, t.check_id, t.points, 0.0, "error", reason) for t in spec.tests]
    return result


def grade_notebook(spec: NotebookSpec, notebook: nbformat.NotebookNode, seed: int,
                   limits: Limits | None = None, *, notes=(), protect=()) -> NotebookResult:
    """Pre-flight ``notebook`` against ``spec``, then grade it in a sandbox.

    ``notes`` are earlier pre-flight notes (from reading the file) to keep with the result;
    ``protect`` names host paths (the course directory) the sandbox must keep out of reach.
    """
    start = time.monotonic()
    limits = limits or Limits()
    repaired = preflight.repair(notebook, spec)
    notes = list(notes) + repaired.notes
    if repaired.failure is not None:
        return failed_notebook(spec, repaired.failure, notes)
    result = NotebookResult(spec.name, notes=notes)
    checks = [check_registry.get(test.check_id) for test in spec.tests]
    session = _Session(submission_cells(spec, repaired.notebook), _forbidden(checks), limits, protect)
    try:
        try:
            ran = session.ensure()
            result.cell_errors = {cell["id"]: cell["error"] for cell in ran["cells"] if not cell["ok"]}
        except SandboxError as error:
            if error.kind == "setup":
                return failed_notebook(spec, f"the grader could not start its sandbox ({error}); this is not "
                                             "the student's fault: tell the instructor", notes)
            result.cell_errors = {"(all cells)": error.args[0]}
        result.sandbox = session.sandbox.mode
        for test, check in zip(spec.tests, checks):
            outcome = CheckResult(test.grade_id, test.check_id, test.points)
            clock = _Clock(limits.check_seconds(check.timeout))
            outcome.groups, weight = run_check(check, _graded_call(session, check, clock), seed)
            outcome.score = round(test.points * weight / check.total_weight, 6)
            outcome.status, outcome.message = _summary(outcome.groups)
            result.checks.append(outcome)
    finally:
        session.sandbox.close()
    result.seconds = time.monotonic() - start
    return result

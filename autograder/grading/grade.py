"""Grade one notebook: run the student's cells in a sandbox, call, compare, score.

This is the pipeline the style guide asks for, as small steps:
``read the source spec -> pick the submission's code cells -> run them isolated ->
call the student's functions on fresh inputs -> compare in this process -> score``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import nbformat

from .. import checks as check_registry
from ..checks.base import CallError, Check, Verdict
from .sandbox import Limits, Sandbox, SandboxError
from .spec import NotebookSpec, nbgrader_meta

RUN_TIMEOUT = 60.0  # seconds for running all of a submission's cells


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
    message: str = ""
    groups: list[GroupResult] = field(default_factory=list)


@dataclass
class NotebookResult:
    name: str
    status: str = "graded"  # "graded" | "failed: <reason>"
    checks: list[CheckResult] = field(default_factory=list)
    cell_errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

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
    """A sandbox that re-runs the submission's cells whenever it has to restart."""

    def __init__(self, cells: list[dict], forbidden: list[str], limits: Limits):
        self.cells, self.forbidden = cells, forbidden
        self.sandbox = Sandbox(limits)
        self.ran: dict | None = None

    def ensure(self) -> dict:
        if self.sandbox.process is None:
            self.ran = self.sandbox.run_cells(self.cells, self.forbidden, RUN_TIMEOUT)
        return self.ran

    def call(self, check: Check, args, kwargs) -> object:
        """The student's value, or a :class:`CallError`."""
        try:
            self.ensure()
            reply = self.sandbox.call(check.function, args, kwargs, check.timeout)
        except SandboxError as error:
            return CallError(error.kind, error.args[0])
        if reply.get("forbidden_used"):
            used = ", ".join(reply["forbidden_used"])
            return CallError("forbidden", f"the solution uses {used}, which this exercise does not allow; "
                                          "write it with NumPy only")
        if not reply.get("ok"):
            return CallError(reply.get("kind", "exception"), reply.get("message", "failed"))
        return reply["value"]


def run_check(check: Check, call, seed: int | None, include_hidden: bool = True) -> tuple[list[GroupResult], float]:
    """Judge every group of ``check``; return the group results and the passed weight."""
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
        results.append(GroupResult(group.name, verdict.passed, len(cases),
                                   "" if verdict.passed else verdict.message, verdict.diagnosis, verdict.error))
        weight += group.weight if verdict.passed else 0.0
    return results, weight


def grade_notebook(spec: NotebookSpec, notebook: nbformat.NotebookNode, seed: int,
                   limits: Limits | None = None) -> NotebookResult:
    start = time.monotonic()
    result = NotebookResult(spec.name)
    checks = [check_registry.get(test.check_id) for test in spec.tests]
    session = _Session(submission_cells(spec, notebook), _forbidden(checks), limits or Limits())
    try:
        try:
            ran = session.ensure()
            result.cell_errors = {cell["id"]: cell["error"] for cell in ran["cells"] if not cell["ok"]}
        except SandboxError as error:
            result.cell_errors = {"(all cells)": error.args[0]}
        for test, check in zip(spec.tests, checks):
            outcome = CheckResult(test.grade_id, test.check_id, test.points)

            def call(case, check=check):
                return session.call(check, case.args, case.kwargs)

            outcome.groups, weight = run_check(check, call, seed)
            outcome.score = round(test.points * weight / check.total_weight, 6)
            failed = [group for group in outcome.groups if not group.passed]
            outcome.status = "passed" if not failed else "failed"
            if failed and all(group.error for group in failed) and outcome.score == 0:
                outcome.status = "error"
            result.checks.append(outcome)
    finally:
        session.sandbox.close()
    result.seconds = time.monotonic() - start
    return result


"""Stage 5 of grading one notebook: a check's score and status from its judged groups.

Outcomes are one of a few honest words. A check is ``passed``, ``failed`` (some group's value
was wrong; ``message`` names the groups) or ``error`` (no value came back in any failing group:
``error`` is the :class:`~autograder.core.results.ErrorKind`, ``message`` the reason). A notebook
that could not be graded at all scores 0 on every check with the reason (:func:`failed_notebook`).
"""

from __future__ import annotations

from ..core.checks import Check
from ..core.results import CheckResult, GroupResult, NotebookResult
from .spec import NotebookSpec, TestCell


def score_check(test: TestCell, check: Check, groups: list[GroupResult], weight: float) -> CheckResult:
    """The test cell's result: its points times the share of the check's weight that passed."""
    result = CheckResult(test.grade_id, test.check_id, test.points, groups=groups)
    result.score = round(test.points * weight / check.total_weight, 6)
    failed = [group for group in groups if not group.passed]
    if not failed:
        result.status = "passed"
    elif len(failed) == len(groups) and all(group.error for group in failed):
        detail = failed[0].message.split("\n", 1)[-1]  # the reason, under the call
        lines = [line.strip() for line in detail.splitlines() if line.strip()]
        result.status, result.error = "error", failed[0].error
        result.message = lines[-1] if lines else "no value came back"
    else:
        names = ", ".join(group.name for group in failed)
        result.status = "failed"
        result.message = f"{len(failed)} of {len(groups)} group{'s' * (len(groups) != 1)} failed: {names}"
    return result


def failed_notebook(spec: NotebookSpec, reason: str, notes=()) -> NotebookResult:
    """A notebook that could not be graded: every test cell scores 0 with the reason."""
    result = NotebookResult(spec.name, failure=reason, notes=list(notes))
    result.checks = [CheckResult(t.grade_id, t.check_id, t.points, 0.0, "error", reason) for t in spec.tests]
    return result

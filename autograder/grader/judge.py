"""Stage 4 of grading one notebook: judge one check's calls, in this process, against the reference.

The comparison happens here, in the grader's process, where the student's code cannot reach:
the values come back from the sandbox as plain arrays, and
:func:`~autograder.core.checks.run.run_check` compares them with the reference group by group.
"""

from __future__ import annotations

from ..core.checks import Check
from ..core.checks.run import run_check
from ..core.results import GroupResult
from ..sandbox import Limits
from .run import Clock, Session, graded_call


def judge_check(session: Session, check: Check, seed: int, limits: Limits) -> tuple[list[GroupResult], float]:
    """Every group of ``check`` (visible and hidden, drawn from ``seed``), judged; and the weight passed."""
    clock = Clock(limits.check_seconds(check.timeout))
    return run_check(check, graded_call(session, check, clock), seed)

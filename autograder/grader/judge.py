"""Stage 4 of grading one notebook: judge one check's calls, in this process, against the reference.

The comparison happens here, in the grader's process, where the student's code cannot reach:
the values come back from the sandbox as plain arrays, and
:func:`~autograder.core.checks.run.run_check` compares them with the reference group by group.

A hidden group says only what the grader wrote: when the student's code raised on a hidden case, its
message is reduced to the exception's class and a short, redacted text (no numbers, bounded length),
so that an exception cannot carry a hidden input out to the feedback (:func:`hidden_exception`).
"""

from __future__ import annotations

import dataclasses
import re

from ..core.checks import Check
from ..core.checks.run import run_check
from ..core.results import ErrorKind, GroupResult
from ..sandbox import Limits
from .run import Clock, Session, graded_calls

EXCEPTION_TEXT = 60  # characters of a hidden case's exception message that are shown
_NUMBER = re.compile(r"\d+")  # linear: one pass, no nested repetition
_HIDDEN_NOTE = "(the values of hidden cases are not shown)"


def hidden_exception(message: str, exception: str) -> str:
    """The grader's words for a student's exception on a hidden case: the call line, then the exception's
    class and at most :data:`EXCEPTION_TEXT` characters of its message, every number replaced by ``#``."""
    call, _, rest = message.partition("\n")
    lines = [line.strip() for line in rest[-2000:].splitlines() if line.strip()]  # the end holds "Type: text"
    last = lines[-1] if lines else ""
    name = exception[:100] or "an exception"
    text = last[len(name) + 1:].strip() if last.startswith(f"{name}:") else ""
    text = _NUMBER.sub("#", text[:4 * EXCEPTION_TEXT])
    text = text[:EXCEPTION_TEXT] + (" [...]" if len(text) > EXCEPTION_TEXT else "")
    said = f"  raised {name}" + (f": {text}" if text else "")
    return f"{call[:300]}\n{said} {_HIDDEN_NOTE}"


def judge_check(session: Session, check: Check, seed: int, limits: Limits) -> tuple[list[GroupResult], float]:
    """Every group of ``check`` (visible and hidden, drawn from ``seed``), judged; and the weight passed."""
    clock = Clock(limits.check_seconds(check.timeout))
    groups, weight = run_check(check, None, seed, calls=graded_calls(session, check, clock))
    visible = {group.name for group in check.groups if group.visible}
    return [dataclasses.replace(group, message=hidden_exception(group.message, group.exception))
            if group.name not in visible and group.error == ErrorKind.EXCEPTION else group
            for group in groups], weight

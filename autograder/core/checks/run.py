"""Judge one check group by group, whatever calls the student's function.

:func:`run_check` is shared by the two places a check runs: ``check()`` in the student's kernel
(the call is a plain function call there) and the grader (the call goes to the sandbox). It
draws each group's cases, calls, judges each case with :meth:`Check.judge` and stops a group at
its first failing case. What a hidden group says never shows an expected value (:func:`redact`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

from ..results import GroupResult
from .base import Case, Check, Verdict, looking_up

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


def run_check(check: Check, call: Callable[[Case], object] | None, seed: int | None,
              include_hidden: bool = True, expected: Callable[[Check, Case], Any] | None = None,
              calls: Callable[[list[Case]], Iterator] | None = None) -> tuple[list[GroupResult], float]:
    """Judge every group of ``check``; return the group results and the passed weight.

    ``call(case)`` returns the student's value (a :class:`~autograder.core.checks.base.Returned`) or
    a :class:`~autograder.core.results.CallError`. Or, instead, ``calls(cases)`` gives those of a whole
    group, one by one (the grader sends a group's cases to the sandbox at once); the iterator is closed
    at the group's first failing case, and each value is judged before the next is asked for. A call
    that raised is diagnosed once every group has run, against all the calls the check made
    (:meth:`Check.diagnose_error`). A wrong value's likely cause must agree with every call of its group
    that was made (:meth:`Check.diagnose`), so a symmetric case does not pass one mistake off as another;
    with ``call`` (``check()`` in Jupyter) the rest of that group is called for it (see :func:`_run_check`).
    Messages of hidden groups never show an expected value (see :func:`redact`).

    ``expected(check, case)``: expected values known without the reference (those shipped with the
    package, :func:`autograder.core.expected.lookup`), or ``MISSING``; used only with no ``seed``
    (``check()`` in Jupyter). The grader passes none: it computes every value with the reference.
    """
    with looking_up(expected) if seed is None and expected is not None else contextlib.nullcontext():
        return _run_check(check, calls or (lambda cases: map(call, cases)), seed, include_hidden,
                          call_rest=call is not None and calls is None)


def _run_check(check: Check, calls: Callable[[list[Case]], Iterator], seed: int | None,
               include_hidden: bool, call_rest: bool = False) -> tuple[list[GroupResult], float]:
    """``call_rest``: the calls are plain function calls (``check()`` in Jupyter), so when a group's first
    failing case returned a wrong value that looks like a known mistake, the group's remaining cases are
    called as well, as evidence for that likely cause only (they are not judged). The grader never calls on
    after a failing case (its time limits count what it asks for), so its evidence is the cases it has seen."""
    runs, evidence = [], []
    for group in check.groups:
        if not (group.visible or include_hidden):
            continue
        cases = check.cases(group, seed)
        case, got, verdict = None, None, Verdict(True)
        values, judged, seen = calls(cases), 0, []
        try:
            for case, got in zip(cases, values):
                evidence.append((case, got))
                seen.append((case, got))
                verdict, judged = check.judge(case, got), judged + 1
                if not verdict.passed:
                    break
            if not verdict.passed and verdict.mistake and not verdict.error and call_rest:
                for rest, value in zip(cases[judged:], values):
                    evidence.append((rest, value))
                    seen.append((rest, value))
        finally:
            getattr(values, "close", lambda: None)()
        if verdict.passed and judged < len(cases):  # a caller that gave up without saying why: never a pass
            raise RuntimeError(f"{check.id}: {len(cases) - judged} of group {group.name!r}'s cases got no value")
        if not verdict.passed and not verdict.error and verdict.mistake and len(seen) > 1:
            # a likely cause must agree with every call of the group seen, not with the failing one alone
            verdict = check.judge(case, got, seen)
        runs.append((group, len(cases), case, got, verdict))
    results, weight = [], 0.0
    for group, count, case, got, verdict in runs:
        if verdict.error:  # no value came back: what the other calls did says which mistake raises so
            verdict = check.judge(case, got, evidence)
        message = ("" if verdict.passed else verdict.message if group.visible or verdict.error
                   else redact(verdict.message))
        results.append(GroupResult(group.name, verdict.passed, count, message, verdict.diagnosis,
                                   verdict.mistake, verdict.error, verdict.exception))
        weight += group.weight if verdict.passed else 0.0
    return results, weight

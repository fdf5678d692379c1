"""A check's result as plain text: what ``python -m autograder check`` prints and feedback pages show.

It needs nothing beyond the result itself, so a student's ``check`` (which has no gradebook and no
nbgrader) and the course's feedback read the same words.
"""

from __future__ import annotations

from ..core.results import CheckResult, ErrorKind


def verdict_text(check: CheckResult) -> str:
    """One line with the score and status, the check's message, then each group with ✓ or ✗ and, for a
    failed group, its message and likely cause. An exercise not written yet (every group still raises
    NotImplementedError) gets one line naming its groups instead of the same message once per group."""
    lines = [f"{check.check_id}: {check.score:g} / {check.points:g} points ({check.status})"]
    if check.message:
        lines.append(check.message)
    if check.note:
        lines.append(check.note)
    if check.groups and all(group.error == ErrorKind.NOT_IMPLEMENTED for group in check.groups):
        lines.append(f"  ✗ none of its {len(check.groups)} group(s) can run yet: "
                     + "; ".join(f"{group.name} ({group.cases} case{'s' * (group.cases != 1)})" for group in check.groups))
        return "\n".join(lines)
    for group in check.groups:
        lines.append(f"  {'✓' if group.passed else '✗'} {group.name} ({group.cases} case{'s' * (group.cases != 1)})")
        if not group.passed:
            lines += ["      " + line for line in group.message.splitlines()]
            if group.diagnosis:
                lines.append(f"      Likely cause: {group.diagnosis}")
    return "\n".join(lines)

"""Write grades into nbgrader's own gradebook, so ``nbgrader export`` and formgrader work unchanged."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from ..course import use_venv_tools
from .grade import NotebookResult


def record(db_url: str, assignment: str, student: str, results: list[NotebookResult],
           timestamp: datetime | None = None) -> None:
    """Store each test cell's score as the autograded score of that grade cell."""
    use_venv_tools()
    with warnings.catch_warnings(), Gradebook(db_url) as gradebook:
        # nbgrader's add_submission trips SQLAlchemy 2's autoflush warnings; the rows are written.
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(student)
        kwargs = {"timestamp": timestamp} if timestamp else {}
        gradebook.update_or_create_submission(assignment, student, **kwargs)
        for result in results:
            try:
                gradebook.find_submission_notebook(result.name, assignment, student)
            except MissingEntry:
                continue  # a notebook the assignment does not have
            for check in result.checks:
                grade = gradebook.find_grade(check.grade_id, result.name, assignment, student)
                grade.auto_score = check.score
                grade.needs_manual_grade = False
            for solution_id, message in _comments(result).items():
                try:
                    comment = gradebook.find_comment(solution_id, result.name, assignment, student)
                except MissingEntry:
                    continue
                comment.auto_comment = message
        gradebook.db.commit()


def _comments(result: NotebookResult) -> dict[str, str]:
    """One comment per exercise cell (grade id = function name): the check's verdicts."""
    comments = {}
    for check in result.checks:
        function = check.check_id.split(".", 1)[1]
        lines = [f"{check.check_id}: {check.score:g} / {check.points:g} ({check.status})"]
        for group in check.groups:
            lines.append(f"{'✓' if group.passed else '✗'} {group.name}")
            if not group.passed:
                lines.append(group.message)
                if group.diagnosis:
                    lines.append(f"Likely cause: {group.diagnosis}")
        comments[function] = "\n".join(lines)
    return comments


def now() -> datetime:
    return datetime.now(UTC)

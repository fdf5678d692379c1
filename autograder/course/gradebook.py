"""Write grades into nbgrader's own gradebook, so ``nbgrader export`` and formgrader work unchanged.

Only the coordinator of a batch writes here (one connection, one transaction per submission);
workers never touch the database. The gradebook can be SQLite (the default,
``sqlite:///DIR/gradebook.db``) or any database SQLAlchemy reaches, e.g.
``postgresql+psycopg2://user@host/db``.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Self

from nbgrader.api import (
    Assignment,
    BaseCell,
    Grade,
    Gradebook,
    GradeCell,
    MissingEntry,
    Notebook,
    SubmittedAssignment,
    SubmittedNotebook,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning, SQLAlchemyError

from ..core.results import NotebookResult
from .directory import CourseError, use_venv_tools


def safe_url(db_url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def open_gradebook(db_url: str) -> Gradebook:
    use_venv_tools()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            return Gradebook(db_url)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CourseError(f"cannot open the gradebook {safe_url(db_url)} ({first}); check --db "
                          "or the course's nbgrader_config.py") from None


class Recorder:
    """One open gradebook for a whole batch; :meth:`record` commits one submission at a time."""

    def __init__(self, db_url: str, assignment: str):
        self.db_url, self.assignment = db_url, assignment
        self.gradebook = open_gradebook(db_url)
        try:
            self.gradebook.find_assignment(assignment)
        except MissingEntry:
            self.close()
            raise CourseError(f"the gradebook {safe_url(db_url)} has no assignment {assignment!r}; run "
                              "`python -m autograder init DIR` (with the same --db) to register it") from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.gradebook is not None:
            self.gradebook.close()
            self.gradebook = None

    def record(self, student: str, results: list[NotebookResult], timestamp: datetime | None = None) -> None:
        """Store each test cell's score as the autograded score of that grade cell (one transaction)."""
        gradebook, assignment = self.gradebook, self.assignment
        try:
            with warnings.catch_warnings():
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
        except BaseException:
            gradebook.db.rollback()
            raise


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


def submitted_students(db_url: str, assignment: str) -> set[str]:
    """Students who have a submission of ``assignment`` in the gradebook (one query)."""
    gradebook = open_gradebook(db_url)
    try:
        rows = (gradebook.db.query(SubmittedAssignment.student_id)
                .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                .filter(Assignment.name == assignment).all())
        return {row[0] for row in rows}
    finally:
        gradebook.close()


def score_table(db_url: str, assignments: list[str] | None = None) -> dict:
    """Scores as stored in the gradebook (manual scores included), in a few queries.

    Returns ``{"students": [...], "assignments": {name: {"cells": [(notebook, grade cell, max score)],
    "scores": {student: {(notebook, grade cell): score}}}}}``.
    """
    gradebook = open_gradebook(db_url)
    try:
        db = gradebook.db
        names = [a.name for a in gradebook.assignments]
        if assignments is not None:
            unknown = sorted(set(assignments) - set(names))
            if unknown:
                raise CourseError(f"the gradebook {safe_url(db_url)} has no assignment {', '.join(unknown)}; "
                                  f"it has: {', '.join(sorted(names)) or 'none'}")
            names = [name for name in names if name in assignments]
        table = {"students": sorted(s.id for s in gradebook.students), "assignments": {}}
        for name in names:
            cells = (db.query(Notebook.name, GradeCell.name, GradeCell.max_score)
                     .join(Notebook, GradeCell.notebook_id == Notebook.id)
                     .join(Assignment, Notebook.assignment_id == Assignment.id)
                     .filter(Assignment.name == name).order_by(Notebook.name, GradeCell.id).all())
            rows = (db.query(SubmittedAssignment.student_id, Notebook.name, BaseCell.name, Grade.score)
                    .select_from(Grade)
                    .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
                    .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                    .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                    .join(BaseCell, Grade.cell_id == BaseCell.id)
                    .join(Notebook, BaseCell.notebook_id == Notebook.id)
                    .filter(Assignment.name == name).all())
            scores: dict[str, dict] = {}
            for student, notebook, cell, score in rows:
                scores.setdefault(student, {})[(notebook, cell)] = float(score or 0.0)
            submitted = (db.query(SubmittedAssignment.student_id)
                         .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                         .filter(Assignment.name == name).all())
            for (student,) in submitted:
                scores.setdefault(student, {})
            table["assignments"][name] = {"cells": [tuple(cell) for cell in cells], "scores": scores}
        return table
    finally:
        gradebook.close()

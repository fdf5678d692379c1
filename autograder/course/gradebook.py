"""nbgrader's gradebook: the grader writes its scores there, and reads back the final grades.

Only the coordinator of a batch writes here (one connection, one transaction per submission);
workers never touch the database. The gradebook can be SQLite (the default,
``sqlite:///DIR/gradebook.db``) or any database SQLAlchemy reaches, e.g.
``postgresql+psycopg2://user@host/db``.

What is stored is what nbgrader itself stores, so ``nbgrader export``, formgrader and
``nbgrader generate_feedback`` agree with us:

- each test cell's score as the grade's ``auto_score``; a TA's ``manual_score`` (formgrader) wins
  over it, as in nbgrader. When a resubmission changes an exercise that was graded by hand, or
  changes its autograded score, the grade is marked ``needs_manual_grade`` again;
- hand-graded cells the grader has no check for (a free-text answer) keep ``needs_manual_grade``
  until a TA grades them;
- the late penalty of each notebook (``SubmittedNotebook.late_submission_penalty``), computed by
  the late-submission plugin the course's ``nbgrader_config.py`` configures
  (``c.AssignLatePenalties.plugin_class``, ``c.LateSubmissionPlugin.penalty_method``) from the
  submission's lateness against the due date plus the student's extension.

:func:`standings` reads it all back: per student, every grade cell with its automatic and manual
scores, the TA's comments, the lateness and the penalty, and the final score.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Self

from nbgrader.api import (
    Assignment,
    BaseCell,
    Comment,
    Grade,
    Gradebook,
    GradeCell,
    MissingEntry,
    Notebook,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning, SQLAlchemyError
from sqlalchemy.orm import joinedload

from ..core.results import NotebookResult, cut
from .directory import CourseError, course_config, use_venv_tools

COMMENT_CAP = 16_000  # characters of one exercise's comment in the gradebook (formgrader shows it)

# The package to install for a database driver module SQLAlchemy could not import (when it is not the module's name).
DRIVER_PACKAGES = {"psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient", "cx_Oracle": "oracledb"}


def safe_url(db_url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def _driver_hint(error: Exception) -> str:
    """The exact fix for a database URL whose driver is not installed, or ""."""
    missing = getattr(error, "name", None) if isinstance(error, ImportError) else None
    if not missing:
        return ""
    return (f"; its database driver is not installed: run `{Path(sys.executable).parent / 'pip'} install "
            f"{DRIVER_PACKAGES.get(missing, missing)}`")


def open_gradebook(db_url: str) -> Gradebook:
    use_venv_tools()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            return Gradebook(db_url)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        hint = _driver_hint(error) or "; check --db or the course's nbgrader_config.py"
        raise CourseError(f"cannot open the gradebook {safe_url(db_url)} ({first}){hint}") from None


# ---------------------------------------------------------------------- the late policy


def late_plugin(course: Path | None):
    """nbgrader's late-submission plugin, configured as the course's ``nbgrader_config.py`` says
    (nbgrader's own ``AssignLatePenalties`` makes it, so a custom ``plugin_class`` works too)."""
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config import Config

    config = course_config(course) if course is not None else Config()
    quiet = logging.getLogger("autograder.late")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    added = course is not None and str(course) not in sys.path
    if added:  # a plugin class named by its module path may live in the course directory, as for nbgrader
        sys.path.insert(0, str(course))
    try:
        assigner = AssignLatePenalties(config=config, log=quiet)
        assigner.init_plugin()
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CourseError(f"the late-submission plugin set in {course}/nbgrader_config.py cannot be used "
                          f"({type(error).__name__}: {first}); fix c.AssignLatePenalties.plugin_class") from None
    finally:
        if added:
            sys.path.remove(str(course))
    return assigner.plugin_inst


def _final(auto: float | None, manual: float | None, extra: float | None) -> float:
    """A grade's score as nbgrader computes it: the manual score if any, else the automatic one, plus extra credit."""
    base = manual if manual is not None else auto
    return 0.0 if base is None else float(base) + float(extra or 0.0)


# ---------------------------------------------------------------------- writing


@dataclass
class Entry:
    """One submission to record: its student, its notebooks' results, nbgrader's submission time and
    the grade ids of the cells that changed since the last grading."""

    student: str
    results: list[NotebookResult]
    timestamp: datetime | None = None
    changed: set[str] = field(default_factory=set)


class Recorder:
    """One open gradebook for a whole batch; :meth:`record` commits one submission, :meth:`record_many`
    the several a batch finished meanwhile."""

    def __init__(self, db_url: str, assignment: str, late=None):
        self.db_url, self.assignment = db_url, assignment
        self.late = late if late is not None else late_plugin(None)
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

    def record(self, student: str, results: list[NotebookResult], timestamp: datetime | None = None,
               changed: set[str] | None = None) -> None:
        """Store each test cell's score as the autograded score of that grade cell, then the late
        penalty (one transaction). ``changed``: the grade ids of the cells the resubmission changed."""
        self.record_many([Entry(student, results, timestamp, changed or set())])

    def record_many(self, entries: list[Entry]) -> None:
        """:meth:`record` for several submissions, in one transaction: all of them are written, or none.
        A coordinator that falls behind its workers records what they finished meanwhile together:
        one commit, and the assignment's notebooks and cells, once loaded, serve every submission."""
        gradebook = self.gradebook
        try:
            with warnings.catch_warnings(), _one_transaction(gradebook):
                # nbgrader's add_submission trips SQLAlchemy 2's autoflush warnings; the rows are written.
                warnings.simplefilter("ignore", SAWarning)
                sources, cell_ids = _layout(gradebook, self.assignment)
                for entry in entries:
                    self._record_one(entry, sources, cell_ids)
            gradebook.db.commit()
        except BaseException:
            gradebook.db.rollback()
            raise

    def _record_one(self, entry: Entry, sources: list[str], cell_ids: list[str]) -> None:
        gradebook, assignment, student = self.gradebook, self.assignment, entry.student
        gradebook.update_or_create_student(student)
        kwargs = {"timestamp": entry.timestamp} if entry.timestamp else {}
        submission = gradebook.update_or_create_submission(assignment, student, **kwargs)
        notebooks = _notebooks_of(gradebook, assignment, [submission.id], sources)
        by_name = {notebook.notebook.name: notebook for notebook in notebooks}
        for result in entry.results:
            notebook = by_name.get(result.name)
            if notebook is None:
                continue  # a notebook the assignment does not have
            grades, comments = _cells_of(gradebook, notebook, cell_ids)
            scored = set()
            for check in result.checks:
                grade = grades.get(check.grade_id)
                if grade is None:
                    continue  # a test cell the gradebook does not have
                scored.add(check.grade_id)
                function = check.check_id.split(".", 1)[1]
                if grade.manual_score is None:
                    grade.needs_manual_grade = False
                elif grade.auto_score != check.score or function in entry.changed:
                    grade.needs_manual_grade = True  # a hand-set score on work that changed: review it
                grade.auto_score = check.score
            for name, grade in grades.items():  # hand-graded cells (free text): graded by a TA, or waiting
                if name not in scored:
                    grade.needs_manual_grade = grade.manual_score is None or grade.needs_manual_grade or (
                        name in entry.changed)
            for solution_id, message in _comments(result).items():
                if solution_id in comments:
                    comments[solution_id].auto_comment = message
        self._penalise(submission, notebooks, cell_ids)

    def _penalise(self, submission: SubmittedAssignment, notebooks: list[SubmittedNotebook],
                  cell_ids: list[str]) -> None:
        """Each of the submission's ``notebooks``' late penalty, as nbgrader's ``AssignLatePenalties`` sets it:
        none when on time; otherwise the plugin's penalty for the notebook's score, kept between 0 and that
        score. ``cell_ids``: the assignment's cells (:func:`_layout`)."""
        seconds = submission.total_seconds_late
        for notebook in notebooks:
            penalty = None
            if seconds > 0:
                grades = _cells_of(self.gradebook, notebook, cell_ids, comments=False)[0].values()
                score = sum(_final(g.auto_score, g.manual_score, g.extra_credit) for g in grades)
                penalty = self.late.late_submission_penalty(submission.student_id, score, seconds)
                if penalty is not None:
                    penalty = min(max(float(penalty), 0.0), score)
            notebook.late_submission_penalty = penalty

    def refresh_penalties(self) -> None:
        """Recompute every submission's late penalty (after a TA's grades, a new extension or due date)."""
        gradebook = self.gradebook
        try:
            sources, cell_ids = _layout(gradebook, self.assignment)
            notebooks: dict[str, list[SubmittedNotebook]] = {}
            for notebook in _notebooks_of(gradebook, self.assignment, sources=sources):
                notebooks.setdefault(notebook.assignment_id, []).append(notebook)
            for submission in gradebook.find_assignment(self.assignment).submissions:
                self._penalise(submission, notebooks.get(submission.id, []), cell_ids)
            gradebook.db.commit()
        except BaseException:
            gradebook.db.rollback()
            raise

    def standing(self, student: str) -> Standing | None:
        """What the gradebook holds for ``student`` now (None without a submission)."""
        return self.standings([student]).get(student)

    def standings(self, students: list[str]) -> dict[str, Standing]:
        """What the gradebook holds now for each of ``students`` that has a submission."""
        return _standings(self.gradebook, self.assignment, students)


@contextlib.contextmanager
def _one_transaction(gradebook: Gradebook) -> Iterator[None]:
    """Inside, the commits of nbgrader's own methods (``update_or_create_student`` and ``add_submission``
    commit each) only flush: a submission is written by the caller's one commit, whole, or not at all,
    and the rows nbgrader made stay loaded instead of being read back after each of its commits."""
    db = gradebook.db
    db.commit = db.flush
    try:
        yield
    finally:
        del db.commit


def _cells_of(gradebook: Gradebook, notebook, cell_ids: list[str], comments: bool = True,
              ) -> tuple[dict[str, Grade], dict[str, Comment]]:
    """A submitted notebook's grades and (unless not ``comments``) comments by cell name, in two queries
    (nbgrader's ``find_grade`` and ``find_comment`` take one or two each, most of the time a batch spent
    writing the gradebook). Each query names the cells (``cell_ids``: the assignment's, :func:`_layout`)
    as well as the notebook: nbgrader's tables are indexed by (cell, notebook), and a query by notebook
    alone reads every grade of the class."""
    db = gradebook.db
    grades = (db.query(Grade).options(joinedload(Grade.cell))
              .filter(Grade.cell_id.in_(cell_ids), Grade.notebook_id == notebook.id))
    found = (db.query(Comment).options(joinedload(Comment.cell))
             .filter(Comment.cell_id.in_(cell_ids), Comment.notebook_id == notebook.id)) if comments else []
    return {grade.cell.name: grade for grade in grades}, {comment.cell.name: comment for comment in found}


def _sources(gradebook: Gradebook, assignment: str) -> list[str]:
    """The ids of the assignment's (source) notebooks."""
    return [row[0] for row in gradebook.db.query(Notebook.id).join(Assignment, Notebook.assignment_id == Assignment.id)
            .filter(Assignment.name == assignment)]


def _layout(gradebook: Gradebook, assignment: str) -> tuple[list[str], list[str]]:
    """The ids of the assignment's (source) notebooks, and of all their cells."""
    sources = _sources(gradebook, assignment)
    return sources, [row[0] for row in gradebook.db.query(BaseCell.id).filter(BaseCell.notebook_id.in_(sources))]


def _notebooks_of(gradebook: Gradebook, assignment: str, submissions: list[str] | None = None,
                  sources: list[str] | None = None) -> list[SubmittedNotebook]:
    """The submitted notebooks of ``assignment`` (of its ``submissions``, by id, when given), found by the
    (notebook, submission) index: ``SubmittedAssignment.notebooks`` reads every submitted notebook of the class."""
    sources = _sources(gradebook, assignment) if sources is None else sources
    query = gradebook.db.query(SubmittedNotebook).filter(SubmittedNotebook.notebook_id.in_(sources))
    if submissions is not None:
        query = query.filter(SubmittedNotebook.assignment_id.in_(submissions))
    return query.all()


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
        comments[function] = cut("\n".join(lines), COMMENT_CAP)
    return comments


# ---------------------------------------------------------------------- reading


@dataclass
class CellGrade:
    """One grade cell of one submitted notebook, as the gradebook holds it."""

    notebook: str
    name: str  # the grade cell's id (a test cell, or a hand-graded answer)
    max_score: float
    auto: float | None = None
    manual: float | None = None
    extra: float | None = None
    needs_manual_grade: bool = False

    @property
    def score(self) -> float:
        return _final(self.auto, self.manual, self.extra)

    @property
    def status(self) -> str:
        """``needs grading`` (never graded), ``needs review`` (graded by hand, then changed), ``manual`` or ``auto``."""
        if self.needs_manual_grade:
            return "needs grading" if self.manual is None and self.auto is None else "needs review"
        return "manual" if self.manual is not None else "auto"


@dataclass
class Standing:
    """One student's grades for one assignment: what the feedback, the report and the exports show."""

    student: str
    assignment: str
    cells: list[CellGrade] = field(default_factory=list)
    comments: dict[tuple[str, str], str] = field(default_factory=dict)  # (notebook, cell) -> the TA's comment
    penalties: dict[str, float] = field(default_factory=dict)  # notebook -> late penalty
    timestamp: datetime | None = None
    duedate: datetime | None = None  # the assignment's, plus the student's extension
    extension: timedelta | None = None
    seconds_late: float = 0.0

    @property
    def raw_score(self) -> float:
        return sum(cell.score for cell in self.cells)

    @property
    def penalty(self) -> float:
        return sum(self.penalties.values())

    @property
    def score(self) -> float:
        """The final score: auto and manual scores, less the late penalty."""
        return self.raw_score - self.penalty

    @property
    def max_score(self) -> float:
        return sum(cell.max_score for cell in self.cells)

    @property
    def pending(self) -> list[CellGrade]:
        """Cells waiting for a TA: never graded by hand, or graded by hand before the work changed."""
        return [cell for cell in self.cells if cell.needs_manual_grade]

    @property
    def lateness(self) -> str:
        """``""`` when on time; otherwise how late, for people (``2 h 5 min late``)."""
        if self.seconds_late <= 0:
            return ""
        minutes = int(self.seconds_late // 60) or 1
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        parts = [f"{days} d" * bool(days), f"{hours} h" * bool(hours), f"{minutes} min" * bool(minutes)]
        return " ".join(part for part in parts if part) + " late"


def _standings(gradebook: Gradebook, assignment: str, students: list[str] | None = None) -> dict[str, Standing]:
    """Every submission of ``assignment`` (of ``students`` only, when given), by student."""
    db = gradebook.db
    found: dict[str, Standing] = {}
    submissions = (db.query(SubmittedAssignment).join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                   .filter(Assignment.name == assignment))
    if students is not None:
        submissions = submissions.filter(SubmittedAssignment.student_id.in_(students))
    submitted = submissions.all()
    for submission in submitted:
        found[submission.student_id] = Standing(
            submission.student_id, assignment, timestamp=submission.timestamp, duedate=submission.duedate,
            extension=submission.extension, seconds_late=submission.total_seconds_late)
    if not found:
        return found
    notebook_ids: list[str] = []  # for some students: the rows by the indexes nbgrader's tables have, (cell, notebook)
    cell_ids: list[str] = []
    if students is not None:
        sources, cell_ids = _layout(gradebook, assignment)
        notebook_ids = [notebook.id for notebook in _notebooks_of(
            gradebook, assignment, [submission.id for submission in submitted], sources)]

    def rows(*columns, kind=Grade):
        query = (db.query(SubmittedAssignment.student_id, Notebook.name, BaseCell.name, *columns).select_from(kind)
                 .join(SubmittedNotebook, kind.notebook_id == SubmittedNotebook.id)
                 .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                 .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                 .join(BaseCell, kind.cell_id == BaseCell.id)
                 .join(Notebook, BaseCell.notebook_id == Notebook.id)
                 .filter(Assignment.name == assignment))
        if students is not None:
            query = query.filter(kind.cell_id.in_(cell_ids), kind.notebook_id.in_(notebook_ids))
        return query.all()

    maxima = cells(gradebook, assignment)
    order = {key: index for index, key in enumerate(maxima)}
    for who, notebook, cell, auto, manual, extra, needs in rows(Grade.auto_score, Grade.manual_score,
                                                                 Grade.extra_credit, Grade.needs_manual_grade):
        found[who].cells.append(CellGrade(notebook, cell, maxima.get((notebook, cell), 0.0), auto, manual, extra,
                                          bool(needs)))
    for standing in found.values():
        standing.cells.sort(key=lambda c: order.get((c.notebook, c.name), len(order)))
    for who, notebook, cell, text in rows(Comment.manual_comment, kind=Comment):
        if text and text.strip():
            found[who].comments[(notebook, cell)] = text.strip()
    penalties = (db.query(SubmittedAssignment.student_id, Notebook.name, SubmittedNotebook.late_submission_penalty)
                 .select_from(SubmittedNotebook)
                 .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                 .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                 .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
                 .filter(Assignment.name == assignment))
    if students is not None:
        penalties = penalties.filter(SubmittedNotebook.id.in_(notebook_ids))
    for who, notebook, penalty in penalties.all():
        if who in found and penalty:
            found[who].penalties[notebook] = float(penalty)
    return found


def cells(gradebook: Gradebook, assignment: str) -> dict[tuple[str, str], float]:
    """Every grade cell of ``assignment``, in notebook order: (notebook, cell) -> max score."""
    rows = (gradebook.db.query(Notebook.name, GradeCell.name, GradeCell.max_score)
            .join(Notebook, GradeCell.notebook_id == Notebook.id)
            .join(Assignment, Notebook.assignment_id == Assignment.id)
            .filter(Assignment.name == assignment).order_by(Notebook.name, GradeCell.id).all())
    return {(notebook, cell): float(points or 0.0) for notebook, cell, points in rows}


def standings(db_url: str, assignment: str) -> dict[str, Standing]:
    """Every submission of ``assignment`` in the gradebook, by student."""
    gradebook = open_gradebook(db_url)
    try:
        return _standings(gradebook, assignment)
    finally:
        gradebook.close()


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


@dataclass
class ClassTable:
    """The whole gradebook, for the exports: the students (nbgrader's student table) and, per
    assignment, its grade cells and every submission's :class:`Standing`."""

    students: dict[str, dict] = field(default_factory=dict)  # id -> first_name, last_name, email, lms_user_id
    cells: dict[str, dict[tuple[str, str], float]] = field(default_factory=dict)
    standings: dict[str, dict[str, Standing]] = field(default_factory=dict)


def class_table(db_url: str, assignments: list[str] | None = None) -> ClassTable:
    gradebook = open_gradebook(db_url)
    try:
        names = [a.name for a in gradebook.db.query(Assignment).order_by(Assignment.duedate, Assignment.name)]
        if assignments is not None:
            unknown = sorted(set(assignments) - set(names))
            if unknown:
                raise CourseError(f"the gradebook {safe_url(db_url)} has no assignment {', '.join(unknown)}; "
                                  f"it has: {', '.join(sorted(names)) or 'none'}")
            names = [name for name in names if name in assignments]
        table = ClassTable()
        for student in gradebook.db.query(Student).order_by(Student.id):
            table.students[student.id] = {"first_name": student.first_name or "", "last_name": student.last_name or "",
                                          "email": student.email or "", "lms_user_id": student.lms_user_id or ""}
        for name in names:
            table.cells[name] = cells(gradebook, name)
            table.standings[name] = _standings(gradebook, name)
        return table
    finally:
        gradebook.close()

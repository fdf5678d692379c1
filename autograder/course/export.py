"""``python -m autograder export``: the grades as CSV, for people and for the LMS.

Everything is read from nbgrader's gradebook (so a TA's scores from formgrader, the late penalty
and the student table's names are what is exported); the status column comes from the grader's
results files. Three layouts:

- the default: one row per student and assignment, with the final score (automatic and manual
  scores, less the late penalty), the penalty, how late, what still waits for grading by hand, and
  each exercise's score (``needs grading`` for a hand-graded cell nobody has graded yet);
- ``--lms canvas``: Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section``,
  then one column per assignment, a ``Points Possible`` row, then one row per student (``ID`` is
  nbgrader's ``lms_user_id``, ``SIS User ID`` the nbgrader student id);
- ``--lms generic``: one row per student (id, names, email, LMS id), one column per assignment, the
  total: what Moodle's and most gradebooks' CSV import take.

In the LMS layouts an assignment whose grade is not final (a cell waits for a TA, or the
submission is not graded yet) is left blank, so the LMS shows it as ungraded rather than posting a
provisional score; a missing submission is 0.

Statuses: ``graded``; ``failed: <reason>``; ``not graded yet``; ``no submission``; ``graded outside
the autograder`` (gradebook scores with no results file); ``changed outside the autograder``
(``nbgrader autograde`` replaced the scores; the next ``grade`` grades it again).

Files are written with Python's ``csv`` module, UTF-8. A cell that a spreadsheet would read as a
formula (text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, as a student id
or a name could) is written with a leading ``'``, in every layout.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from . import gradebook, paths
from . import store as results
from .batch import changed_outside, check_course, load_specs
from .directory import CourseError, db_url_of

FIXED = ["student_id", "assignment", "status", "timestamp", "late", "raw_score", "late_penalty", "score",
         "max_score", "needs_grading"]
CANVAS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
GENERIC = ["student_id", "first_name", "last_name", "email", "lms_user_id"]
LAYOUTS = ("canvas", "generic")
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """The cell's text, with a leading ``'`` if a spreadsheet would take it for a formula (numbers are kept)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def _columns(course: Path, assignment: str, cells: list[tuple[str, str]]) -> tuple[list[tuple], list[str]]:
    """The grade cells in notebook order, and a column name for each: the check it stands for
    (``02-convolution.zero_pad``), or ``<assignment>.<grade cell>`` (a hand-graded cell, or the source
    not at hand)."""
    try:
        specs = load_specs(course, assignment)
    except CourseError:
        specs = {}
    order = [(name, test.grade_id) for name, spec in specs.items() for test in spec.tests]
    checks = {(name, test.grade_id): test.check_id for name, spec in specs.items() for test in spec.tests}
    cells = sorted(cells, key=lambda c: (order.index(c) if c in order else len(order), c[0], c[1]))
    return cells, [checks.get(cell, f"{assignment}.{cell[1]}") for cell in cells]


def _number(value: float) -> str:
    return f"{value:g}"


class _Grades:
    """The gradebook and the results files of a course, read once, with each student's status."""

    def __init__(self, course: Path, assignments: list[str] | None, db_url: str | None):
        self.course = check_course(course)
        self.table = gradebook.class_table(db_url or db_url_of(self.course), assignments)
        if not self.table.cells:
            raise CourseError(f"the gradebook {gradebook.safe_url(db_url or db_url_of(self.course))} has no "
                              f"assignments; run `python -m autograder init {self.course}` first")
        self.stored = {name: results.load(self.course, name) for name in self.table.cells}
        self.submitted = {name: {path.parent.name for path in paths.submitted_dir(self.course).glob(f"*/{name}")
                                 if path.is_dir()} for name in self.table.cells}

    def students(self, name: str | None = None) -> list[str]:
        names = [name] if name else list(self.table.cells)
        found = set(self.table.students)
        for each in names:
            found |= set(self.table.standings[each]) | set(self.stored[each]) | self.submitted[each]
        return sorted(found)

    def status(self, name: str, student: str) -> str:
        standing, stored = self.table.standings[name].get(student), self.stored[name].get(student)
        if stored is not None:
            if changed_outside(stored, standing):
                return "changed outside the autograder (nbgrader autograde?); run `grade` again"
            return stored.get("status", "graded")
        if student in self.submitted[name]:
            return "not graded yet"
        return "graded outside the autograder" if standing is not None else "no submission"

    def max_score(self, name: str) -> float:
        return sum(self.table.cells[name].values())

    def final(self, name: str, student: str) -> str:
        """The score an LMS gets: blank when not final, 0 without a submission."""
        status = self.status(name, student)
        standing = self.table.standings[name].get(student)
        if status == "no submission":
            return "0"
        if standing is None or standing.pending or status == "not graded yet" or status.startswith("changed"):
            return ""
        return _number(standing.score)


def rows(course: Path, assignments: list[str] | None = None, db_url: str | None = None) -> tuple[list[str], list]:
    """The header and the rows of the default export (one row per student and assignment)."""
    grades = _Grades(course, assignments, db_url)
    header = list(FIXED)
    columns: dict[str, tuple[list, list[str]]] = {}
    for name, cells in grades.table.cells.items():
        columns[name] = _columns(grades.course, name, list(cells))
        header += [column for column in columns[name][1] if column not in header]
    out = []
    for name in grades.table.cells:
        for student in grades.students(name):
            standing = grades.table.standings[name].get(student)
            status = grades.status(name, student)
            row = dict.fromkeys(header, "")
            row.update(student_id=student, assignment=name, status=status,
                       max_score=_number(grades.max_score(name)))
            if standing is not None:
                by_cell = {(cell.notebook, cell.name): cell for cell in standing.cells}
                row.update(timestamp=f"{standing.timestamp:%Y-%m-%d %H:%M:%S}" if standing.timestamp else "",
                           late=standing.lateness, raw_score=_number(standing.raw_score),
                           late_penalty=_number(standing.penalty), score=_number(standing.score),
                           needs_grading="; ".join(f"{cell.name} ({cell.status})" for cell in standing.pending))
                for cell, column in zip(*columns[name]):
                    graded = by_cell.get(cell)
                    if graded is not None:
                        row[column] = "needs grading" if graded.status == "needs grading" else _number(graded.score)
            elif status == "no submission":
                row["score"] = "0"
            out.append([row[column] for column in header])
    return header, out


def lms_rows(course: Path, layout: str, assignments: list[str] | None = None,
             db_url: str | None = None) -> tuple[list[str], list]:
    """One row per student, one column per assignment, for an LMS's gradebook import."""
    if layout not in LAYOUTS:
        raise CourseError(f"unknown LMS layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")
    grades = _Grades(course, assignments, db_url)
    names = list(grades.table.cells)
    out = []
    if layout == "canvas":
        header = CANVAS + names
        out.append(["    Points Possible", "", "", "", ""] + [_number(grades.max_score(name)) for name in names])
    else:
        header = GENERIC + names + ["total", "max_total"]
    for student in grades.students():
        person = grades.table.students.get(student, {})
        scores = [grades.final(name, student) for name in names]
        if layout == "canvas":
            full_name = ", ".join(part for part in (person.get("last_name"), person.get("first_name")) if part)
            out.append([full_name or student, person.get("lms_user_id", ""), student, "", ""] + scores)
        else:
            final = all(scores)
            total = _number(sum(float(score) for score in scores)) if final else ""
            out.append([student, person.get("first_name", ""), person.get("last_name", ""), person.get("email", ""),
                        person.get("lms_user_id", "")] + scores
                       + [total, _number(sum(grades.max_score(name) for name in names))])
    return header, out


def export_csv(course: Path, assignments: list[str] | None = None, db_url: str | None = None,
               output: Path | None = None, lms: str | None = None) -> tuple[Path | None, int, str]:
    """Write the CSV to ``output`` (default ``DIR/exports/grades.csv``, ``DIR/exports/<lms>.csv``);
    ``Path('-')`` returns it as text. Returns (path, rows of students, text)."""
    header, body = lms_rows(course, lms, assignments, db_url) if lms else rows(course, assignments, db_url)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    for row in [header, *body]:
        writer.writerow([neutralise(cell) for cell in row])
    text = buffer.getvalue()
    count = len(body) - (lms == "canvas")
    if output is not None and str(output) == "-":
        return None, count, text
    if output is None:
        stem = lms or (assignments[0] if assignments and len(assignments) == 1 else "grades")
        output = paths.export_file(check_course(course), stem)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="", encoding="utf-8") as stream:
        stream.write(text)
    return output, count, text

"""``python -m autograder export``: one CSV row per student and assignment, with per-exercise scores.

Scores are read from nbgrader's gradebook (so a score changed by hand in formgrader is what is
exported); the status column comes from the grader's results files:

- ``graded``: graded by the autograder;
- ``failed: <reason>``: a missing or unreadable notebook (the score is what could be graded);
- ``not graded yet``: a submission is in ``submitted/`` but has not been graded;
- ``no submission``: the student is in the gradebook but submitted nothing;
- ``graded outside the autograder``: the gradebook has scores the autograder did not write
  (``nbgrader autograde``, say).

The file is written with Python's ``csv`` module (quoted where a value needs it), UTF-8.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from . import gradebook, paths
from . import store as results
from .batch import check_course, load_specs
from .directory import CourseError, db_url_of

FIXED = ["student_id", "assignment", "status", "score", "max_score"]


def _columns(course: Path, assignment: str, cells: list[tuple]) -> tuple[list[tuple], list[str]]:
    """The grade cells in notebook order, and a column name for each: the check it stands for
    (``02-convolution.zero_pad``), or ``<assignment>.<grade cell>`` when the source is not at hand."""
    try:
        specs = load_specs(course, assignment)
    except CourseError:
        specs = {}
    order = [(name, test.grade_id) for name, spec in specs.items() for test in spec.tests]
    checks = {(name, test.grade_id): test.check_id for name, spec in specs.items() for test in spec.tests}
    cells = sorted(cells, key=lambda c: (order.index(c[:2]) if c[:2] in order else len(order), c[0], c[1]))
    return cells, [checks.get((notebook, cell), f"{assignment}.{cell}") for notebook, cell, _ in cells]


def rows(course: Path, assignments: list[str] | None = None, db_url: str | None = None) -> tuple[list[str], list]:
    """The header and the rows of the export."""
    course = check_course(course)
    db_url = db_url or db_url_of(course)
    table = gradebook.score_table(db_url, assignments)
    if not table["assignments"]:
        raise CourseError(f"the gradebook {gradebook.safe_url(db_url)} has no assignments; "
                          f"run `python -m autograder init {course}` first")
    header = list(FIXED)
    columns: dict[str, list[str]] = {}
    for name, data in table["assignments"].items():
        data["cells"], columns[name] = _columns(course, name, data["cells"])
        header += [column for column in columns[name] if column not in header]
    out = []
    for name, data in table["assignments"].items():
        stored = results.load(course, name)
        submitted = {path.parent.name for path in paths.submitted_dir(course).glob(f"*/{name}") if path.is_dir()}
        students = sorted(set(table["students"]) | set(data["scores"]) | set(stored) | submitted)
        max_score = sum(float(points or 0) for *_, points in data["cells"])
        for student in students:
            scores = data["scores"].get(student)
            if student in stored:
                status = stored[student].get("status", "graded")
            elif student in submitted:
                status = "not graded yet"
            elif scores is not None:
                status = "graded outside the autograder"
            else:
                status = "no submission"
            row = dict.fromkeys(header, "")
            row.update(student_id=student, assignment=name, status=status, max_score=f"{max_score:g}")
            if scores is not None:
                values = [scores.get((notebook, cell), 0.0) for notebook, cell, _ in data["cells"]]
                row["score"] = f"{sum(values):g}"
                for column, value in zip(columns[name], values):
                    row[column] = f"{value:g}"
            elif status == "no submission":
                row["score"] = "0"
            out.append([row[column] for column in header])
    return header, out


def export_csv(course: Path, assignments: list[str] | None = None, db_url: str | None = None,
               output: Path | None = None) -> tuple[Path | None, int, str]:
    """Write the CSV to ``output`` (default ``DIR/exports/grades.csv``); ``Path('-')`` returns it as text."""
    header, body = rows(course, assignments, db_url)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(body)
    text = buffer.getvalue()
    if output is not None and str(output) == "-":
        return None, len(body), text
    if output is None:
        stem = assignments[0] if assignments and len(assignments) == 1 else "grades"
        output = paths.export_file(check_course(course), stem)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="", encoding="utf-8") as stream:
        stream.write(text)
    return output, len(body), text

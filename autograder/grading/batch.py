"""Grade every submission of one assignment in a course directory.

For each ``DIR/submitted/<student>/<assignment>/``: read each expected notebook, grade it in
the sandbox, write the scores into the gradebook, an ``autograded/`` copy whose test cells
show the verdicts (for formgrader), and per-student feedback under ``feedback/``. One broken
submission never stops the batch: it is recorded as ``failed: <reason>``.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
from pathlib import Path

import nbformat

from ..course import CourseError, db_url_of, seed_of
from . import gradebook
from .spec import NotebookSpec, nbgrader_meta, read_spec
from .submission import SubmissionResult, grade_submission


def load_specs(course: Path, assignment: str) -> dict[str, NotebookSpec]:
    source = course / "source" / assignment
    if not source.is_dir():
        known = sorted(p.name for p in (course / "source").glob("*") if p.is_dir())
        raise CourseError(f"unknown assignment {assignment!r}: {source} does not exist. "
                          f"Assignments in this course: {', '.join(known) or 'none (run `python -m autograder init DIR`)'}")
    specs = {}
    for path in sorted(source.glob("*.ipynb")):
        specs[path.stem] = read_spec(nbformat.read(path, as_version=4), path.stem)
    if not specs:
        raise CourseError(f"{source} holds no notebooks; run `python -m autograder init {course}` first")
    return specs


def submissions(course: Path, assignment: str) -> list[Path]:
    submitted = course / "submitted"
    if not submitted.is_dir():
        raise CourseError(f"no submissions: {submitted} does not exist. Collect them first "
                          "(`nbgrader collect`, or put them in submitted/<student>/<assignment>/)")
    found = sorted(path for path in submitted.glob(f"*/{assignment}") if path.is_dir())
    if not found:
        raise CourseError(f"no submissions of {assignment!r} under {submitted}/<student>/{assignment}/")
    return found


# ---------------------------------------------------------------------- products


def verdict_text(check) -> str:
    lines = [f"{check.check_id}: {check.score:g} / {check.points:g} points ({check.status})"]
    if check.message:
        lines.append(check.message)
    for group in check.groups:
        lines.append(f"  {'✓' if group.passed else '✗'} {group.name} ({group.cases} case{'s' * (group.cases != 1)})")
        if not group.passed:
            lines += ["      " + line for line in group.message.splitlines()]
            if group.diagnosis:
                lines.append(f"      Likely cause: {group.diagnosis}")
    return "\n".join(lines)


def write_autograded(course: Path, folder: Path, specs: dict[str, NotebookSpec], result: SubmissionResult) -> None:
    """``autograded/<student>/<assignment>/``: the submission, test cells as released, verdicts as outputs."""
    target = course / "autograded" / result.student / result.assignment
    target.mkdir(parents=True, exist_ok=True)
    for nb_result in result.notebooks:
        path = folder / f"{nb_result.name}.ipynb"
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception:
            continue
        tests = {t.grade_id: t for t in specs[nb_result.name].tests}
        by_id = {c.grade_id: c for c in nb_result.checks}
        for cell in notebook.cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if cell.cell_type == "code" and grade_id in tests:
                cell.source = tests[grade_id].visible_source
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=verdict_text(by_id[grade_id]) + "\n")]
        nbformat.write(notebook, target / path.name)
    timestamp = folder / "timestamp.txt"
    if timestamp.exists():
        (target / "timestamp.txt").write_text(timestamp.read_text())


def feedback_html(result: SubmissionResult) -> str:
    rows = []
    for nb in result.notebooks:
        rows.append(f"<h2>{html.escape(nb.name)}.ipynb — {nb.score:g} / {nb.max_score:g}"
                    f" <small>({html.escape(nb.status)})</small></h2>")
        for error_cell, error in nb.cell_errors.items():
            rows.append(f"<p class='error'>Cell <code>{html.escape(error_cell)}</code> raised an error:</p>"
                        f"<pre>{html.escape(error)}</pre>")
        for check in nb.checks:
            colour = {"passed": "#1a7f37", "failed": "#cf222e"}.get(check.status, "#9a6700")
            rows.append(f"<section style='border-left:4px solid {colour};padding:0 1em;margin:1em 0'>"
                        f"<pre style='white-space:pre-wrap'>{html.escape(verdict_text(check))}</pre></section>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>Feedback: {html.escape(result.assignment)} ({html.escape(result.student)})</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
            "pre{background:#f6f8fa;padding:.6em}</style></head><body>"
            f"<h1>{html.escape(result.assignment)}: {result.score:g} / {result.max_score:g}</h1>"
            f"<p>Student: {html.escape(result.student)} · status: {html.escape(result.status)}</p>"
            + "".join(rows) + "</body></html>")


def write_feedback(course: Path, result: SubmissionResult) -> Path:
    target = course / "feedback" / result.student / result.assignment
    target.mkdir(parents=True, exist_ok=True)
    path = target / "feedback.html"
    path.write_text(feedback_html(result))
    return path


def write_result_json(course: Path, result: SubmissionResult, fingerprint: str) -> None:
    target = course / ".autograder" / "results" / result.assignment
    target.mkdir(parents=True, exist_ok=True)
    data = {"student": result.student, "assignment": result.assignment, "status": result.status,
            "score": result.score, "max_score": result.max_score, "fingerprint": fingerprint,
            "notebooks": [nb.to_dict() for nb in result.notebooks]}
    (target / f"{result.student}.json").write_text(json.dumps(data, indent=1))


def fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def grade_assignment(course: Path, assignment: str, db_url: str | None = None, log=print) -> list[SubmissionResult]:
    course = course.resolve()
    if not course.is_dir():
        raise CourseError(f"course directory {course} does not exist; create one with "
                          f"`python -m autograder init {course}`")
    specs = load_specs(course, assignment)
    folders = submissions(course, assignment)
    seed = seed_of(course)
    db_url = db_url or db_url_of(course)
    results = []
    for folder in folders:
        result = grade_submission(folder, specs, seed)
        gradebook.record(db_url, assignment, result.student, result.notebooks)
        write_autograded(course, folder, specs, copy.deepcopy(result))
        write_feedback(course, result)
        write_result_json(course, result, fingerprint(folder))
        log(f"{result.student:<20} {result.score:6g} / {result.max_score:<6g} {result.status}")
        results.append(result)
    return results

"""What a student gets back: ``feedback/<student>/<assignment>/feedback.html``, and the ``autograded/`` copy.

Both are made from a :class:`SubmissionResult` alone (plus the submission's notebook for the
``autograded/`` copy), so ``python -m autograder feedback ASSIGNMENT`` can make them again from
the stored results without grading. Neither shows a hidden test: the page lists each check's
verdicts, and the ``autograded/`` copy shows the test cells as released.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import nbformat

from ..core.results import SubmissionResult
from ..grader import preflight
from ..grader.spec import NotebookSpec, nbgrader_meta
from . import paths


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


def _replace_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def write_autograded(course: Path, folder: Path, specs: dict[str, NotebookSpec], result: SubmissionResult) -> None:
    """``autograded/<student>/<assignment>/``: the submission, test cells as released, verdicts as outputs."""
    target = paths.autograded_dir(course, result.student, result.assignment)
    target.mkdir(parents=True, exist_ok=True)
    loaded, _ = preflight.read_folder(folder, specs)  # the notebooks as graded: renamed ones found, ...
    for nb_result in result.notebooks:
        found = loaded.get(nb_result.name)
        if found is None or found.notebook is None or nb_result.name not in specs:
            continue  # missing or unreadable: the feedback page says so
        notebook = preflight.repair(found.notebook, specs[nb_result.name]).notebook  # ... test cells restored
        if notebook is None:
            continue
        path = folder / f"{nb_result.name}.ipynb"
        tests = {t.grade_id: t for t in specs[nb_result.name].tests} if nb_result.name in specs else {}
        by_id = {c.grade_id: c for c in nb_result.checks}
        for cell in notebook.cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if cell.cell_type == "code" and grade_id in tests and grade_id in by_id:
                cell.source = tests[grade_id].visible_source
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                       text=verdict_text(by_id[grade_id]) + "\n")]
        _replace_text(target / path.name, nbformat.writes(notebook))
    timestamp = folder / paths.TIMESTAMP
    if timestamp.exists():
        (target / paths.TIMESTAMP).write_text(timestamp.read_text())


def feedback_html(result: SubmissionResult) -> str:
    rows = []
    notes = result.all_notes
    if notes:
        rows.append("<h2>About your submission</h2><ul>" + "".join(f"<li>{html.escape(note)}</li>" for note in notes)
                    + "</ul>")
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
    path = paths.feedback_file(course, result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace_text(path, feedback_html(result))
    return path

"""What a student gets back: ``feedback/<student>/<assignment>/``, and the ``autograded/`` copy.

The pages are made from a :class:`SubmissionResult` (each check's verdicts) and the gradebook's
:class:`~.gradebook.Standing` (the final score: a TA's scores and comments, what still waits for
grading by hand, lateness and the late penalty), so ``python -m autograder feedback ASSIGNMENT``
can make them again without grading. Neither product shows a hidden test: the page lists each
check's verdicts, and the ``autograded/`` copy shows the test cells as released.

The feedback folder is laid out as ``nbgrader generate_feedback`` lays it out, so that
``nbgrader release_feedback`` sends it and students' ``nbgrader fetch_feedback`` gets it: one
``<notebook>.html`` per notebook, ``timestamp.txt`` and ``submission_secret.txt`` (copied from the
submission). ``feedback/<student>/<assignment>.html`` holds every notebook on one page.
"""

from __future__ import annotations

import html
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbformat.v4.nbjson import BytesEncoder
from nbformat.v4.rwbase import split_lines, strip_transient

from ..core.results import SubmissionResult
from ..grader import preflight
from ..grader.spec import NotebookSpec, nbgrader_meta
from ..grader.text import verdict_text
from . import paths
from .gradebook import Standing

# Copied from the submission beside the autograded notebooks and the feedback pages, as nbgrader does.
KEPT = (paths.TIMESTAMP, paths.SECRET)


def _replace_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def autograded_notebooks(folder: Path, specs: dict[str, NotebookSpec], result: SubmissionResult,
                         loaded: dict[str, preflight.Loaded] | None = None) -> dict[str, str]:
    """The texts of ``autograded/<student>/<assignment>/``'s notebooks, by file name: the submission, test
    cells as released, verdicts as outputs. Computed by the worker that graded the submission (it has
    the folder at hand), so that the coordinator, alone for the whole class, only writes them.
    ``loaded``: the folder as :func:`~autograder.grader.preflight.read_folder` read it (read here when None;
    its notebooks are changed).

    The student's own outputs are all removed: what formgrader shows as output is the grader's."""
    texts = {}
    if loaded is None:
        loaded, _ = preflight.read_folder(folder, specs)  # the notebooks as graded: renamed ones found, ...
    for nb_result in result.notebooks:
        found = loaded.get(nb_result.name)
        if found is None or found.notebook is None or nb_result.name not in specs:
            continue  # missing or unreadable: the feedback page says so
        # ... test cells restored (in place: the notebooks of ``loaded`` are this function's to change)
        notebook = preflight.repair(found.notebook, specs[nb_result.name], in_place=True).notebook
        if notebook is None:
            continue
        tests = {t.grade_id: t for t in specs[nb_result.name].tests}
        by_id = {c.grade_id: c for c in nb_result.checks}
        for cell in notebook.cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if cell.cell_type == "code":  # only the grader's outputs: never the student's saved ones (a
                cell.outputs, cell.execution_count = [], None  # forged "all passed", a <script>)
            if cell.cell_type == "code" and grade_id in tests and grade_id in by_id:
                cell.source = tests[grade_id].visible_source
                cell.outputs = [nbformat.NotebookNode(output_type="stream", name="stdout",
                                                      text=verdict_text(by_id[grade_id]) + "\n")]
        texts[f"{nb_result.name}.ipynb"] = notebook_text(notebook)
    return texts


def notebook_text(notebook: nbformat.NotebookNode) -> str:
    """What ``nbformat.writes(notebook)`` returns for a version 4 notebook, made without its validation (which
    only logs) and without its copy of the whole notebook: ``notebook``'s sources and outputs are split into
    lines in place, as nbformat writes them."""
    notebook = strip_transient(split_lines(notebook))
    return json.dumps(notebook, cls=BytesEncoder, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)


def write_autograded(course: Path, folder: Path, specs: dict[str, NotebookSpec], result: SubmissionResult,
                     texts: dict[str, str] | None = None) -> None:
    """Write ``autograded/<student>/<assignment>/``: the notebooks' ``texts`` as the worker made them
    (:func:`autograded_notebooks`; made here when None), and the files nbgrader keeps beside them."""
    target = paths.autograded_dir(course, result.student, result.assignment)
    target.mkdir(parents=True, exist_ok=True)
    if texts is None:
        texts = autograded_notebooks(folder, specs, result)
    names = {f"{name}.ipynb" for name in specs}
    for name, text in texts.items():
        if name in names:  # (what a remote worker sent: only the assignment's own notebook names)
            _replace_text(target / name, text)
    _keep(folder, target)


def _keep(folder: Path, target: Path) -> None:
    for name in KEPT:
        if (folder / name).is_file():
            _replace_text(target / name, (folder / name).read_text())


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _standing_html(standing: Standing | None) -> str:
    """Lateness, the penalty and what still waits for a TA."""
    if standing is None:
        return ""
    e, parts = html.escape, []
    if standing.timestamp is not None:
        due = ""
        if standing.duedate is not None:
            extension = f" (with your extension of {standing.extension})" if standing.extension else ""
            due = f"; due {_when(standing.duedate)}{extension}"
        late = f": <b>{e(standing.lateness)}</b>" if standing.lateness else ""
        parts.append(f"<p>Submitted {_when(standing.timestamp)}{due}{late}.</p>")
    if standing.penalty:
        parts.append(f"<p class='late'>Late penalty: −{standing.penalty:g} point(s) "
                     f"(score before the penalty: {standing.raw_score:g}).</p>")
    if standing.pending:
        items = "".join(f"<li><code>{e(cell.name)}</code>: {e(_pending_text(cell))}</li>" for cell in standing.pending)
        parts.append(f"<p><b>Not final yet</b>: {len(standing.pending)} part(s) wait for grading by hand.</p>"
                     f"<ul>{items}</ul>")
    return "".join(parts)


def _pending_text(cell) -> str:
    if cell.status == "needs review":
        return "graded by hand before your resubmission changed it; it will be reviewed"
    return "needs grading by hand"


def _cell_html(standing: Standing | None, notebook: str, cell_name: str, comment_on: str) -> str:
    """What the gradebook adds to one graded cell: a score set by hand, the TA's comment."""
    if standing is None:
        return ""
    e, parts = html.escape, []
    cell = next((c for c in standing.cells if c.notebook == notebook and c.name == cell_name), None)
    if cell is not None and cell.manual is not None:
        parts.append(f"<p>Score set by your instructor: <b>{cell.score:g} / {cell.max_score:g}</b>"
                     + (f" (the autograder gave {cell.auto:g})" if cell.auto is not None else "")
                     + (" — under review: you changed this exercise since" if cell.needs_manual_grade else "")
                     + "</p>")
    for name in dict.fromkeys((comment_on, cell_name)):
        if (notebook, name) in standing.comments:
            parts.append(f"<p>Comment from your instructor:</p><pre>{e(standing.comments[(notebook, name)])}</pre>")
    return "".join(parts)


def feedback_html(result: SubmissionResult, standing: Standing | None = None, notebook: str | None = None) -> str:
    """The page of every notebook of ``result`` (or of ``notebook`` only); with ``standing``, the gradebook's
    final score, the TA's grades and comments, lateness and penalty."""
    e = html.escape
    rows = []
    notes = result.all_notes
    if notes:
        rows.append("<h2>About your submission</h2><ul>" + "".join(f"<li>{e(note)}</li>" for note in notes) + "</ul>")
    for nb in result.notebooks:
        if notebook is not None and nb.name != notebook:
            continue
        rows.append(f"<h2>{e(nb.name)}.ipynb — {nb.score:g} / {nb.max_score:g} from the autograder"
                    f" <small>({e(nb.status)})</small></h2>")
        for error_cell, error in nb.cell_errors.items():
            rows.append(f"<p class='error'>Cell <code>{e(error_cell)}</code> raised an error:</p>"
                        f"<pre>{e(error)}</pre>")
        for check in nb.checks:
            colour = {"passed": "#1a7f37", "failed": "#cf222e"}.get(check.status, "#9a6700")
            rows.append(f"<section style='border-left:4px solid {colour};padding:0 1em;margin:1em 0'>"
                        f"<pre style='white-space:pre-wrap'>{e(verdict_text(check))}</pre>"
                        f"{_cell_html(standing, nb.name, check.grade_id, check.check_id.split('.', 1)[1])}</section>")
        checked = {check.grade_id for check in nb.checks}
        for cell in (standing.cells if standing else []):  # graded by hand only: free-text answers
            if cell.notebook == nb.name and cell.name not in checked:
                score = (f"{cell.score:g} / {cell.max_score:g} (graded by hand)" if cell.status == "manual"
                         else f"? / {cell.max_score:g}: {_pending_text(cell)}")
                rows.append("<section style='border-left:4px solid #8250df;padding:0 1em;margin:1em 0'>"
                            f"<p><code>{e(cell.name)}</code>: {e(score)}</p>"
                            f"{_cell_html(standing, nb.name, '', cell.name)}</section>")
    score, top = (standing.score, standing.max_score) if standing else (result.score, result.max_score)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>Feedback: {e(result.assignment)} ({e(result.student)})</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
            "pre{background:#f6f8fa;padding:.6em;white-space:pre-wrap}.late{color:#cf222e}</style></head><body>"
            f"<h1>{e(result.assignment)}: {score:g} / {top:g}</h1>"
            f"<p>Student: {e(result.student)} · status: {e(result.status)}</p>"
            + _standing_html(standing) + "".join(rows) + "</body></html>")


def write_feedback(course: Path, result: SubmissionResult, standing: Standing | None = None) -> Path:
    """One ``<notebook>.html`` per notebook in the submission's feedback folder, with its timestamp and
    secret (what ``nbgrader release_feedback`` sends, and needs), and the page with every notebook
    beside that folder (``<assignment>.html``; never inside it, or release_feedback would send it too).
    Returns that page's path."""
    path = paths.feedback_file(course, result.student, result.assignment)
    folder = paths.feedback_dir(course, result.student, result.assignment)
    folder.mkdir(parents=True, exist_ok=True)
    _replace_text(path, feedback_html(result, standing))
    for nb in result.notebooks:
        _replace_text(paths.feedback_page(course, result.student, result.assignment, nb.name),
                      feedback_html(result, standing, nb.name))
    (folder / "feedback.html").unlink(missing_ok=True)  # where earlier versions put the all-notebooks page
    _keep(paths.submission_dir(course, result.student, result.assignment), folder)
    # A submission that did not come through `nbgrader submit` (zip_collect, copied by hand) has neither
    # file; `release_feedback` would stop at it, for the whole class. Its student cannot fetch the page
    # through the exchange (there is no secret to find it by): send them <assignment>.html.
    for name, text in ((paths.TIMESTAMP, lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")),
                       (paths.SECRET, lambda: secrets.token_hex(16))):
        if not (folder / name).exists():
            _replace_text(folder / name, text())
    return path

"""Grade one submission folder: every expected notebook, each in the sandbox.

This is the unit of work of a batch: a pure function of (submission folder, specs, seed) that
returns plain data, so it can run in a worker process or on a Dask worker. It never raises for a
bad submission: the folder and each notebook go through :mod:`.preflight` first, and a missing
or unreadable notebook ends as ``failed: <reason>``; what pre-flight repaired or noticed is kept
in ``notes`` (the submission's, and each notebook's) for the student's feedback. A failure of the
grader itself on one notebook ends as ``failed: grader error (<reason>)``, never as an exception.

The randomized inputs of a notebook are drawn from :func:`submission_seed`: the course's secret, the
student and a digest of the submitted notebook, so that every new submission meets new inputs (what
one submission learnt about its inputs says nothing about the next one's).

A notebook that holds the instructor's own code (a link to it, a copy of the source file, cells with
nbgrader's solution markers or the source's checksums) is refused or flagged here: the copied cells
score nothing, and a note says why, for the student and the instructor.
"""

from __future__ import annotations

import copy
import hashlib
import zlib
from pathlib import Path

import nbformat

from ..core.results import CheckResult, NotebookResult, SubmissionResult
from ..sandbox import Limits, announce
from . import preflight
from .notebook import grade_notebook, grader_error
from .score import failed_notebook
from .spec import NotebookSpec


def student_seed(seed: int, student: str) -> int:
    """The seed of a student's inputs when no submission is known (the course's secret and the student)."""
    return (seed ^ zlib.crc32(student.encode())) % 2**63


def submission_seed(seed: int, student: str, notebook: nbformat.NotebookNode) -> int:
    """The seed of one submitted notebook's randomized inputs: a digest of the course's secret, the
    student and the notebook's cells (sources and cell types), so a resubmission that changes any
    cell is graded on new inputs, and the same notebook graded again on the same ones."""
    digest = hashlib.sha256(f"{seed}\n{student}\n".encode())
    for cell in notebook.get("cells") or []:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        digest.update(f"{cell.get('cell_type')}\n{len(source)}\n".encode())
        digest.update(source.encode(errors="replace"))
    return int.from_bytes(digest.digest()[:8], "big") % 2**63


COPIED = ("scores nothing: {reason}. The work you submit must be your own; this was flagged to the "
          "instructor")


def flag_copies(result: NotebookResult, copied: dict[str, str]) -> None:
    """Zero the checks of the exercises whose cell holds the instructor's code, with the reason."""
    for index, check in enumerate(result.checks):
        function = check.check_id.split(".", 1)[-1]
        if function in copied:
            reason = COPIED.format(reason=f"the exercise cell {function} is the instructor's ({copied[function]})")
            result.checks[index] = CheckResult(check.grade_id, check.check_id, check.points, 0.0, "error",
                                               reason[0].upper() + reason[1:], error="copied")
    if copied:
        result.notes.append(f"Flagged: {len(copied)} exercise cell(s) hold the instructor's own code "
                            f"({', '.join(sorted(copied))}); they score nothing.")


def grade_submission(folder: Path, specs: dict[str, NotebookSpec], seed: int,
                     limits: Limits | None = None, protect=(), *, read: dict | None = None) -> SubmissionResult:
    """Grade every expected notebook of ``folder`` (``.../<student>/<assignment>/``); never raises for a bad
    submission. ``protect`` names host paths the sandbox must keep out of reach (the course directory).
    ``read``: a dict that gets, under ``"loaded"``, the notebooks as read from the folder (by name, as
    :func:`~.preflight.read_folder` gives them; grading leaves them unchanged), for the caller's other
    products of the same reading; nothing when the folder was not read (a link)."""
    folder = Path(folder)
    student, assignment = folder.parent.name, folder.name
    result = SubmissionResult(student, assignment)
    announce()
    linked = next((path for path in (folder, folder.parent) if path.is_symlink()), None)
    if linked is not None:
        reason = (f"the submission folder {linked.name} is a symbolic link: links are never followed when "
                  "grading; submit the files themselves")
        result.notebooks = [failed_notebook(spec, reason) for spec in specs.values()]
        return result
    loaded, result.notes = preflight.read_folder(folder, specs)
    if read is not None:
        read["loaded"] = loaded
    for name, spec in specs.items():
        found = loaded[name]
        if found.notebook is None:
            result.notebooks.append(failed_notebook(spec, found.failure, found.notes))
            continue
        result.notebooks.append(_grade_one(spec, found, seed, student, limits, protect))
    return result


def _grade_one(spec: NotebookSpec, found: preflight.Loaded, seed: int, student: str, limits, protect) -> NotebookResult:
    notes = list(found.notes)
    try:
        copied = preflight.copied_cells(found.notebook, spec)
        if spec.source_digest and found.path is not None and \
                hashlib.sha256(found.path.read_bytes()).hexdigest() == spec.source_digest:
            notes.append(f"Flagged: {found.path.name} is a byte-for-byte copy of the instructor's source notebook.")
            copied = {grade_id: "the file is a copy of the instructor's source notebook" for grade_id in spec.solutions}
        # the instructor's code never runs as the student's
        notebook = _without(found.notebook, copied) if copied else found.notebook
        graded = grade_notebook(spec, notebook, submission_seed(seed, student, found.notebook), limits,
                                notes=notes, protect=protect)
        flag_copies(graded, copied)
        return graded
    except Exception as error:  # a bug of the grader's, or data it cannot handle: recorded, never lost
        return grader_error(spec, error, notes)


def _without(notebook: nbformat.NotebookNode, copied: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` whose copied exercise cells are empty."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.get("cell_type") == "code" and preflight._grade_id(cell) in copied:
            cell["source"] = ""
    return notebook

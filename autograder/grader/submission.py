"""Grade one submission folder: every expected notebook, each in the sandbox.

This is the unit of work of a batch: a pure function of (submission folder, specs, seed) that
returns plain data, so it can run in a worker process or on a Dask worker. It never raises for a
bad submission: the folder and each notebook go through :mod:`.preflight` first, and a missing
or unreadable notebook ends as ``failed: <reason>``; what pre-flight repaired or noticed is kept
in ``notes`` (the submission's, and each notebook's) for the student's feedback.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from ..core.results import SubmissionResult
from ..sandbox import Limits, announce
from . import preflight
from .notebook import grade_notebook
from .score import failed_notebook
from .spec import NotebookSpec


def student_seed(seed: int, student: str) -> int:
    return (seed ^ zlib.crc32(student.encode())) % 2**63


def grade_submission(folder: Path, specs: dict[str, NotebookSpec], seed: int,
                     limits: Limits | None = None, protect=()) -> SubmissionResult:
    """Grade every expected notebook of ``folder`` (``.../<student>/<assignment>/``); never raises for a bad
    submission. ``protect`` names host paths the sandbox must keep out of reach (the course directory)."""
    folder = Path(folder)
    student, assignment = folder.parent.name, folder.name
    result = SubmissionResult(student, assignment)
    announce()
    loaded, result.notes = preflight.read_folder(folder, specs)
    for name, spec in specs.items():
        found = loaded[name]
        if found.notebook is None:
            result.notebooks.append(failed_notebook(spec, found.failure, found.notes))
            continue
        result.notebooks.append(grade_notebook(spec, found.notebook, student_seed(seed, student), limits,
                                               notes=found.notes, protect=protect))
    return result

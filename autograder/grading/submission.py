"""Grade one submission folder: every expected notebook, each in the sandbox.

This is the unit of work of a batch: a pure function of (submission folder, specs, seed) that
returns plain data, so it can run in a worker process or on a Dask worker. It never raises for a
bad submission: the folder and each notebook go through :mod:`.preflight` first, and a missing
or unreadable notebook ends as ``failed: <reason>``; what pre-flight repaired or noticed is kept
in ``notes`` (the submission's, and each notebook's) for the student's feedback.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

from . import preflight
from .grade import NotebookResult, failed_notebook, grade_notebook
from .sandbox import Limits, announce
from .spec import NotebookSpec


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    notebooks: list[NotebookResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the folder (extra notebooks, ...)

    @property
    def status(self) -> str:
        failed = [nb.status for nb in self.notebooks if nb.status != "graded"]
        return failed[0] if failed else "graded"

    @property
    def score(self) -> float:
        return sum(nb.score for nb in self.notebooks)

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks)

    @property
    def all_notes(self) -> list[str]:
        """The folder's notes, then each notebook's: everything pre-flight has to tell the student."""
        return self.notes + [note for nb in self.notebooks for note in nb.notes]

    def to_dict(self) -> dict:
        return {"student": self.student, "assignment": self.assignment, "status": self.status,
                "score": self.score, "max_score": self.max_score, "notes": list(self.notes),
                "notebooks": [nb.to_dict() for nb in self.notebooks]}


def student_seed(seed: int, student: str) -> int:
    return (seed ^ zlib.crc32(student.encode())) % 2**63


def course_of(folder: Path) -> Path | None:
    """The course directory of ``COURSE/submitted/<student>/<assignment>``, if the folder is laid out so."""
    course = folder.resolve().parent.parent.parent
    return course if (course / "submitted").is_dir() else None


def grade_submission(folder: Path, specs: dict[str, NotebookSpec], seed: int,
                     limits: Limits | None = None) -> SubmissionResult:
    folder = Path(folder)
    student, assignment = folder.parent.name, folder.name
    result = SubmissionResult(student, assignment)
    announce()
    course = course_of(folder)
    protect = (course,) if course else ()
    loaded, result.notes = preflight.read_folder(folder, specs)
    for name, spec in specs.items():
        found = loaded[name]
        if found.notebook is None:
            result.notebooks.append(failed_notebook(spec, found.failure, found.notes))
            continue
        result.notebooks.append(grade_notebook(spec, found.notebook, student_seed(seed, student), limits,
                                               notes=found.notes, protect=protect))
    return result

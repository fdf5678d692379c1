"""Grade one submission folder: every expected notebook, each in the sandbox.

This is the unit of work of a batch: a pure function of (submission folder, specs, seed) that
returns plain data, so it can run in a worker process or on a Dask worker. It never raises for a
bad submission: a missing or unreadable notebook ends as ``failed: <reason>``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .grade import NotebookResult, grade_notebook
from .spec import NotebookSpec


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    notebooks: list[NotebookResult] = field(default_factory=list)

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



def student_seed(seed: int, student: str) -> int:
    return (seed ^ zlib.crc32(student.encode())) % 2**63


def grade_submission(folder: Path, specs: dict[str, NotebookSpec], seed: int) -> SubmissionResult:
    student, assignment = folder.parent.name, folder.name
    result = SubmissionResult(student, assignment)
    for name, spec in specs.items():
        path = folder / f"{name}.ipynb"
        if not path.exists():
            result.notebooks.append(_failed(spec, f"missing notebook {name}.ipynb"))
            continue
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception as error:  # corrupt JSON, wrong format: reported, never fatal
            result.notebooks.append(_failed(spec, f"{name}.ipynb is not a readable notebook ({_first_line(error)})"))
            continue
        result.notebooks.append(grade_notebook(spec, notebook, student_seed(seed, student)))
    return result


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _failed(spec: NotebookSpec, reason: str) -> NotebookResult:
    from .grade import CheckResult

    result = NotebookResult(spec.name, status=f"failed: {reason}")
    result.checks = [CheckResult(t.grade_id, t.check_id, t.points, 0.0, "error", reason) for t in spec.tests]
    return result

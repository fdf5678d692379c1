"""What the grader keeps per submission: ``DIR/.autograder/results/<assignment>/<student>.json``.

The file is the *done marker* of a submission. The coordinator writes it last, after the
gradebook rows, the ``autograded/`` copy and the feedback page, and atomically (a temporary
file renamed over the old one), so an interrupted batch never leaves a result that claims more
than was stored. A submission is graded again when its files change (``fingerprint``), when the
grader or the assignment changes (``grader_key``), or with ``--force``.

Besides the scores, the file records everything the report and the feedback pages need:
per notebook and per check, every group's verdict and diagnosis, and the seconds spent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from ..fingerprint import PACKAGE, digest_files, source_files
from .grade import CheckResult, GroupResult, NotebookResult
from .submission import SubmissionResult

FORMAT = 1
# What decides a score: the checks, the reference, the codec and every grading module except the
# coordinator's own (which only decide where results go).
GRADER_SOURCES = ["checks", "reference", "codec.py", "grading"]
COORDINATOR = {"batch.py", "parallel.py", "results.py", "feedback.py", "gradebook.py", "export.py", "report.py"}


def results_dir(course: Path, assignment: str) -> Path:
    return course / ".autograder" / "results" / assignment


def runs_file(course: Path, assignment: str) -> Path:
    return course / ".autograder" / "runs" / f"{assignment}.jsonl"


def fingerprint(folder: Path) -> str:
    """SHA-256 of every file of a submission folder (names and contents)."""
    return digest_files([path for path in sorted(folder.rglob("*")) if path.is_file()], folder).hexdigest()


def grader_key(course: Path, assignment: str, seed: int) -> str:
    """A digest of what makes a score: the assignment's source notebooks, the grader's code, the seed.

    When it changes (an edited check, a new point value, a new seed), every submission is
    graded again on the next run.
    """
    digest = hashlib.sha256(f"results format {FORMAT}\nseed {seed}\n".encode())
    for path in sorted((course / "source" / assignment).glob("*.ipynb")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    coordinator = {f"grading/{name}" for name in COORDINATOR}
    return digest_files(source_files(GRADER_SOURCES, exclude=coordinator), PACKAGE, digest).hexdigest()[:24]


def to_dict(result: SubmissionResult, *, fingerprint: str, grader: str, seconds: float, worker: str,
            timestamp: datetime | None = None, threads: int = 0) -> dict:
    return {"format": FORMAT, "student": result.student, "assignment": result.assignment,
            "status": result.status, "score": result.score, "max_score": result.max_score,
            "seconds": round(seconds, 4), "worker": worker, "threads": threads,
            "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "timestamp": timestamp.isoformat() if timestamp else None,
            "fingerprint": fingerprint, "grader": grader,
            "notes": list(getattr(result, "notes", [])),
            "notebooks": [nb.to_dict() for nb in result.notebooks]}


def _known(cls, data: dict) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def from_dict(data: dict) -> SubmissionResult:
    """Rebuild the :class:`SubmissionResult` a results file was written from."""
    notebooks = []
    for nb in data.get("notebooks", []):
        checks = []
        for check in nb.get("checks", []):
            groups = [GroupResult(**_known(GroupResult, group)) for group in check.get("groups", [])]
            checks.append(CheckResult(**(_known(CheckResult, check) | {"groups": groups})))
        notebooks.append(NotebookResult(**(_known(NotebookResult, nb) | {"checks": checks})))
    result = SubmissionResult(data["student"], data["assignment"], notebooks)
    if hasattr(result, "notes"):
        result.notes = list(data.get("notes", []))
    return result


def write(course: Path, data: dict) -> Path:
    """Write one results file atomically (temporary file, fsync, rename)."""
    target = results_dir(course, data["assignment"])
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{data['student']}.json"
    temporary = target / f".{data['student']}.json.tmp"
    with temporary.open("w") as stream:
        json.dump(data, stream, indent=1)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)
    return path


def load(course: Path, assignment: str) -> dict[str, dict]:
    """Every stored result of ``assignment``, by student; unreadable files are ignored (regraded)."""
    found = {}
    for path in sorted(results_dir(course, assignment).glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("student") == path.stem:
            found[path.stem] = data
    return found


def append_run(course: Path, assignment: str, run: dict) -> None:
    """One line per ``grade`` run (when, how, how many, how long), for the report."""
    path = runs_file(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as stream:
        stream.write(json.dumps(run) + "\n")


def load_runs(course: Path, assignment: str) -> list[dict]:
    path = runs_file(course, assignment)
    if not path.exists():
        return []
    runs = []
    for line in path.read_text().splitlines():
        try:
            runs.append(json.loads(line))
        except ValueError:
            continue
    return runs

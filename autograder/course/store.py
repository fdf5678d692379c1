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

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from ..core.digest import digest_files, digest_folders
from ..core.results import SubmissionResult
from . import paths

FORMAT = 2
# What decides a score: everything the grader of one notebook runs (the checks, the reference, the
# codec, the typed results, the data), the sandbox and the grader itself. Not the coordinator.
GRADER_FOLDERS = ("core", "sandbox", "grader")


def fingerprint(folder: Path) -> str:
    """SHA-256 of every file of a submission folder (names and contents)."""
    return digest_files([path for path in sorted(folder.rglob("*")) if path.is_file()], folder).hexdigest()


def grader_key(course: Path, assignment: str, seed: int) -> str:
    """A digest of what makes a score: the assignment's source notebooks, the grader's code, the seed.

    When it changes (an edited check, a new point value, a new seed), every submission is
    graded again on the next run.
    """
    digest = hashlib.sha256(f"results format {FORMAT}\nseed {seed}\n".encode())
    source = paths.source_dir(course, assignment)
    digest_files(sorted(source.glob("*.ipynb")), source, digest)
    return digest_folders(*GRADER_FOLDERS, digest=digest).hexdigest()[:24]


def to_dict(result: SubmissionResult, *, fingerprint: str, grader: str, seconds: float, worker: str,
            timestamp: datetime | None = None, threads: int = 0) -> dict:
    return {"format": FORMAT, "student": result.student, "assignment": result.assignment,
            "status": result.status, "score": result.score, "max_score": result.max_score,
            "seconds": round(seconds, 4), "worker": worker, "threads": threads,
            "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "timestamp": timestamp.isoformat() if timestamp else None,
            "fingerprint": fingerprint, "grader": grader,
            "notes": list(result.notes),
            "notebooks": [nb.to_dict() for nb in result.notebooks]}


def write(course: Path, data: dict) -> Path:
    """Write one results file atomically (temporary file, fsync, rename)."""
    target = paths.results_dir(course, data["assignment"])
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{data['student']}.json"
    temporary = target / f".{data['student']}.json.tmp"
    with temporary.open("w") as stream:
        stream.write(json.dumps(data, indent=1))  # (json.dump writes each token by itself: several times slower)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)
    return path


def load(course: Path, assignment: str) -> dict[str, dict]:
    """Every stored result of ``assignment``, by student; unreadable files, and files of another format, are
    ignored (those submissions are graded again)."""
    found = {}
    for path in sorted(paths.results_dir(course, assignment).glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("student") == path.stem and data.get("format") == FORMAT:
            found[path.stem] = data
    return found


def append_run(course: Path, assignment: str, run: dict) -> None:
    """One line per ``grade`` run (when, how, how many, how long), for the report."""
    path = paths.runs_file(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as stream:
        stream.write(json.dumps(run) + "\n")


def load_runs(course: Path, assignment: str) -> list[dict]:
    path = paths.runs_file(course, assignment)
    if not path.exists():
        return []
    runs = []
    for line in path.read_text().splitlines():
        try:
            runs.append(json.loads(line))
        except ValueError:
            continue
    return runs

"""Grade every submission of one assignment in a course directory, in parallel, resumably.

The layout is nbgrader's: ``DIR/submitted/<student>/<assignment>/<notebook>.ipynb`` (what
``nbgrader collect`` and ``nbgrader zip_collect`` produce). This process is the *coordinator*:
it decides what to grade, hands each submission to a worker (:mod:`.workers`: this process,
a local process pool, or a Dask cluster) and is the only one that writes the results. Per
submission, in this order:

1. the scores and comments into nbgrader's gradebook (one transaction);
2. ``autograded/<student>/<assignment>/`` (for formgrader) and ``feedback/.../feedback.html``;
3. ``.autograder/results/<assignment>/<student>.json``, atomically: the *done* marker.

Ctrl-C is held back while one submission's products are written, so an interrupted batch
leaves every submission either fully recorded or not marked done; the next run grades what is
not done. A submission whose files, grader and assignment are unchanged since its results file
was written is skipped (``--force`` grades it again). One broken submission never stops the
batch: it is recorded as ``failed: <reason>``.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from ..core.results import SubmissionResult
from ..grader.spec import NotebookSpec, read_spec
from . import gradebook, paths
from . import store as results
from .directory import CourseError, db_url_of, seed_of
from .feedback import write_autograded, write_feedback
from .store import fingerprint
from .workers import Outcome, Task, cores, executor_for, folder_files


def load_specs(course: Path, assignment: str) -> dict[str, NotebookSpec]:
    source = paths.source_dir(course, assignment)
    if not source.is_dir():
        known = sorted(p.name for p in paths.source_dir(course).glob("*") if p.is_dir())
        raise CourseError(f"unknown assignment {assignment!r}: {source} does not exist. "
                          f"Assignments in this course: {', '.join(known) or 'none (run `python -m autograder init DIR`)'}")
    specs = {}
    for path in sorted(source.glob("*.ipynb")):
        specs[path.stem] = read_spec(nbformat.read(path, as_version=4), path.stem)
    if not specs:
        raise CourseError(f"{source} holds no notebooks; run `python -m autograder init {course}` first")
    return specs


def submissions(course: Path, assignment: str) -> list[Path]:
    submitted = paths.submitted_dir(course)
    if not submitted.is_dir():
        raise CourseError(f"no submissions: {submitted} does not exist. Collect them first "
                          "(`nbgrader collect`, or put them in submitted/<student>/<assignment>/)")
    found = sorted(path for path in submitted.glob(f"*/{assignment}") if path.is_dir())
    if not found:
        raise CourseError(f"no submissions of {assignment!r} under {submitted}/<student>/{assignment}/")
    return found


def check_course(course: Path) -> Path:
    course = course.resolve()
    if not course.is_dir():
        raise CourseError(f"course directory {course} does not exist; create one with "
                          f"`python -m autograder init {course}`")
    return course


def read_timestamp(folder: Path) -> datetime | None:
    """The submission time nbgrader's collect wrote in ``timestamp.txt``, if any."""
    path = folder / paths.TIMESTAMP
    if not path.exists():
        return None
    try:
        from nbgrader.utils import parse_utc

        return parse_utc(path.read_text().strip())
    except Exception:  # an unreadable timestamp is not a reason to stop grading
        return None


@dataclass
class BatchSummary:
    assignment: str
    total: int
    how: str = ""
    graded: list[SubmissionResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # skipped, but re-recorded into the gradebook
    errors: dict[str, str] = field(default_factory=dict)  # grader errors: not recorded, retried next run
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def failed(self) -> list[SubmissionResult]:
        return [result for result in self.graded if result.status != "graded"]


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back until the block is done, then raise it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
        if caught:
            raise KeyboardInterrupt


class _Progress:
    """A tqdm bar on a terminal; otherwise one line per submission, with an estimate of the time left."""

    def __init__(self, total: int, assignment: str, log: Callable, bar: bool | None):
        self.total, self.count, self.log, self.start = total, 0, log, time.monotonic()
        if bar is None:
            bar = sys.stderr.isatty()
        self.bar = None
        if bar and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=f"grading {assignment}", unit="submission", file=sys.stderr,
                            dynamic_ncols=True, smoothing=0.05)

    def done(self, line: str, notable: bool) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
            if notable:
                self.bar.write(line, file=sys.stderr)
            return
        elapsed = time.monotonic() - self.start
        left = elapsed / self.count * (self.total - self.count)
        self.log(f"[{self.count}/{self.total}] {line}" + (f"  (about {left:.0f} s left)" if self.count < self.total
                                                            else ""))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _line(result: SubmissionResult) -> str:
    return f"{result.student:<20} {result.score:6g} / {result.max_score:<6g} {result.status}"


def _task(folder: Path, specs: dict[str, NotebookSpec], seed: int, remote: bool = False) -> Task:
    task = Task(folder.parent.name, folder.name, specs, seed)
    if remote:
        task.files = folder_files(folder)
    else:
        task.folder = str(folder)
        course = paths.course_of(folder)
        task.protect = [str(course)] if course else []
    return task


def grade_assignment(course: Path, assignment: str, db_url: str | None = None, log: Callable = print, *,
                     workers: int | None = None, dask: str | None = None, force: bool = False,
                     progress: bool | None = None, students: list[str] | None = None) -> BatchSummary:
    """Grade what needs grading (of ``students`` only, if given); return what was done
    (``interrupted`` after a clean stop on Ctrl-C)."""
    course = check_course(course)
    specs = load_specs(course, assignment)
    folders = submissions(course, assignment)
    if students:
        unknown = sorted(set(students) - {folder.parent.name for folder in folders})
        if unknown:
            raise CourseError(f"no submission of {assignment!r} by {', '.join(unknown)} under "
                              f"{course / 'submitted'}/<student>/{assignment}/")
        folders = [folder for folder in folders if folder.parent.name in students]
    seed = seed_of(course)
    db_url = db_url or db_url_of(course)
    key = results.grader_key(course, assignment, seed)
    stored = results.load(course, assignment)
    summary = BatchSummary(assignment, len(folders))
    started, clock = datetime.now(UTC), time.monotonic()

    todo: list[tuple[Path, str]] = []
    for folder in folders:
        digest = fingerprint(folder)
        old = stored.get(folder.parent.name)
        if not force and old and old.get("fingerprint") == digest and old.get("grader") == key:
            summary.skipped.append(folder.parent.name)
        else:
            todo.append((folder, digest))
    in_gradebook = gradebook.submitted_students(db_url, assignment) if summary.skipped else set()

    executor = executor_for(workers or cores(), dask, len(todo)) if todo else None
    summary.how = executor.description if executor else "nothing to grade"
    bar = None
    try:
        with gradebook.Recorder(db_url, assignment) as recorder:
            for student in summary.skipped:  # unchanged, but missing from this gradebook (a new --db, say)
                if student not in in_gradebook or not paths.feedback_file(course, student, assignment).exists():
                    with uninterrupted():
                        result = SubmissionResult.from_dict(stored[student])
                        if student not in in_gradebook:
                            recorder.record(student, result.notebooks,
                                            read_timestamp(paths.submission_dir(course, student, assignment)))
                            summary.restored.append(student)
                        write_feedback(course, result)
            if executor is None:
                return summary
            bar = _Progress(len(todo), assignment, log, progress)
            waiting = iter(todo)
            pending: dict = {}
            by_student = {folder.parent.name: (folder, digest) for folder, digest in todo}
            while True:
                while len(pending) < executor.capacity:
                    item = next(waiting, None)
                    if item is None:
                        break
                    task = _task(item[0], specs, seed, executor.remote)
                    pending[executor.submit(task)] = task
                if not pending:
                    break
                for future in executor.wait(set(pending)):
                    task = pending.pop(future)
                    outcome = executor.outcome(future, task)
                    folder, digest = by_student[task.student]
                    _store(course, specs, recorder, outcome, folder, digest, key, summary, bar)
            executor.close()
    except KeyboardInterrupt:
        summary.interrupted = True
        if executor is not None:
            executor.close(cancel=True)
    except BaseException:  # e.g. the database went away: stop the workers, then report it
        if executor is not None:
            executor.close(cancel=True)
        raise
    finally:
        if bar is not None:
            bar.close()
        summary.seconds = time.monotonic() - clock
        if executor is not None:
            results.append_run(course, assignment, {
                "started": started.isoformat(timespec="seconds"), "seconds": round(summary.seconds, 3),
                "how": summary.how, "submissions": summary.total, "graded": len(summary.graded),
                "skipped": len(summary.skipped), "errors": len(summary.errors),
                "interrupted": summary.interrupted})
    return summary


def _store(course: Path, specs: dict[str, NotebookSpec], recorder: gradebook.Recorder, outcome: Outcome,
           folder: Path, digest: str, key: str, summary: BatchSummary, bar: _Progress) -> None:
    """Record one finished submission; the results file (the done marker) last."""
    if outcome.result is None:
        summary.errors[outcome.student] = outcome.error
        bar.done(f"{outcome.student:<20} not graded: grader error ({outcome.error})", notable=True)
        return
    result = outcome.result
    timestamp = read_timestamp(folder)
    with uninterrupted():
        recorder.record(result.student, result.notebooks, timestamp)
        write_autograded(course, folder, specs, result)
        write_feedback(course, result)
        results.write(course, results.to_dict(result, fingerprint=digest, grader=key, seconds=outcome.seconds,
                                              worker=outcome.worker, timestamp=timestamp,
                                              threads=outcome.threads))
    summary.graded.append(result)
    bar.done(_line(result), notable=result.status != "graded")


def regenerate_feedback(course: Path, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Write the feedback pages again from the stored results (no grading)."""
    course = check_course(course)
    load_specs(course, assignment)
    stored = results.load(course, assignment)
    if not stored:
        raise CourseError(f"no results for {assignment!r} in {paths.results_dir(course, assignment)}; "
                          f"grade first: python -m autograder grade {assignment} --course {course}")
    if students:
        unknown = sorted(set(students) - set(stored))
        if unknown:
            raise CourseError(f"no results for student(s) {', '.join(unknown)} in {assignment!r}")
    return [write_feedback(course, SubmissionResult.from_dict(data)) for student, data in sorted(stored.items())
            if not students or student in students]

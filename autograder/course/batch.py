"""Grade every submission of one assignment in a course directory, in parallel, resumably.

The layout is nbgrader's: ``DIR/submitted/<student>/<assignment>/<notebook>.ipynb`` (what
``nbgrader collect`` and ``nbgrader zip_collect`` produce). This process is the *coordinator*:
it decides what to grade, hands each submission to a worker (:mod:`.workers`: this process,
a local process pool, or a Dask cluster) and is the only one that writes the results. Per
submission, in this order:

1. the scores and comments into nbgrader's gradebook (one transaction; with the other submissions
   that finished meanwhile, when the workers are ahead of this process);
2. ``autograded/<student>/<assignment>/`` (for formgrader) and ``feedback/<student>/<assignment>/<notebook>.html``;
3. ``.autograder/results/<assignment>/<student>.json``, atomically: the *done* marker.

Ctrl-C is held back while these are written (for the submissions recorded together: at most
:data:`GROUP`), so an interrupted batch
leaves every submission either fully recorded or not marked done; the next run grades what is
not done. A submission whose files, grader and assignment are unchanged since its results file
was written is skipped (``--force`` grades it again). One broken submission never stops the
batch: it is recorded as ``failed: <reason>``.
"""

from __future__ import annotations

import contextlib
import hashlib
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
from ..grader.score import failed_notebook
from ..grader.spec import NotebookSpec, read_spec
from . import gradebook, paths
from . import store as results
from .directory import CourseError, db_url_of, require_course, seed_of
from .feedback import write_autograded, write_feedback
from .lock import course_lock
from .output import printable
from .store import fingerprint
from .workers import Outcome, Task, cell_digests, cores, executor_for, folder_files

GROUP = 16  # the most finished submissions recorded in one transaction (a Ctrl-C waits for at most these)


def load_specs(course: Path, assignment: str) -> dict[str, NotebookSpec]:
    source = paths.source_dir(course, assignment)
    if not source.is_dir():
        known = sorted(p.name for p in paths.source_dir(course).glob("*") if p.is_dir())
        raise CourseError(f"unknown assignment {assignment!r}: {source} does not exist. "
                          f"Assignments in this course: {', '.join(known) or 'none (run `python -m autograder init DIR`)'}")
    specs = {}
    for path in sorted(source.glob("*.ipynb")):
        specs[path.stem] = read_spec(nbformat.read(path, as_version=4), path.stem)
        specs[path.stem].source_digest = hashlib.sha256(path.read_bytes()).hexdigest()  # a copied source file
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
    """The course directory, resolved; a one-line error (creating nothing) when ``course`` is not one."""
    return require_course(course)


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
    outside: list[str] = field(default_factory=list)  # graded again: their gradebook scores were not ours
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
        line = printable(line)  # student ids and file names are the students' text
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


def _line(result: SubmissionResult, standing: gradebook.Standing | None) -> str:
    if standing is None:
        return f"{result.student:<20} {result.score:6g} / {result.max_score:<6g} {result.status}"
    extra = [f"late penalty {standing.penalty:g} ({standing.lateness})" * bool(standing.penalty)]
    pending = standing.pending
    if pending:
        extra.append(f"needs manual grading: {', '.join(cell.name for cell in pending)}")
    return (f"{result.student:<20} {standing.score:6g} / {standing.max_score:<6g} {result.status}"
            + "".join(f"; {part}" for part in extra if part))


def changed_outside(stored: dict, standing: gradebook.Standing | None) -> bool:
    """Whether the gradebook's automatic scores differ from the ones this grader stored (``nbgrader
    autograde`` or formgrader's Autograde button wrote them)."""
    if standing is None:
        return False
    ours = {(nb["name"], check["grade_id"]): check["score"] for nb in stored.get("notebooks", [])
            for check in nb.get("checks", [])}
    theirs = {(cell.notebook, cell.name): cell.auto for cell in standing.cells if (cell.notebook, cell.name) in ours}
    return any(theirs.get(key) is None or abs(theirs[key] - score) > 1e-9 for key, score in ours.items())


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
    (``interrupted`` after a clean stop on Ctrl-C). One ``grade`` at a time per course (:mod:`.lock`)."""
    course = check_course(course)
    specs = load_specs(course, assignment)
    folders = submissions(course, assignment)
    if students:
        unknown = sorted(set(students) - {folder.parent.name for folder in folders})
        if unknown:
            raise CourseError(f"no submission of {assignment!r} by {', '.join(unknown)} under "
                              f"{course / 'submitted'}/<student>/{assignment}/")
        folders = [folder for folder in folders if folder.parent.name in students]
    with course_lock(course, f"grade {assignment}"):
        return _grade(course, assignment, specs, folders, db_url or db_url_of(course), log, workers=workers,
                      dask=dask, force=force, progress=progress)


def _grade(course: Path, assignment: str, specs: dict[str, NotebookSpec], folders: list[Path], db_url: str,
           log: Callable, *, workers: int | None, dask: str | None, force: bool,
           progress: bool | None) -> BatchSummary:
    seed = seed_of(course)
    key = results.grader_key(course, assignment, seed)
    stored = results.load(course, assignment)
    late = gradebook.late_plugin(course)
    in_gradebook = gradebook.standings(db_url, assignment)
    summary = BatchSummary(assignment, len(folders))
    started, clock = datetime.now(UTC), time.monotonic()

    todo: list[tuple[Path, str]] = []
    for folder in folders:
        student, digest = folder.parent.name, fingerprint(folder)
        old = stored.get(student)
        if not force and old and old.get("fingerprint") == digest and old.get("grader") == key:
            if changed_outside(old, in_gradebook.get(student)):
                summary.outside.append(student)
                todo.append((folder, digest))
            else:
                summary.skipped.append(student)
        else:
            todo.append((folder, digest))

    executor = executor_for(workers or cores(), dask, len(todo)) if todo else None
    summary.how = executor.description if executor else "nothing to grade"
    bar = None
    try:
        with gradebook.Recorder(db_url, assignment, late) as recorder:
            for student in summary.skipped:  # unchanged, but missing from this gradebook (a new --db, say)
                if student not in in_gradebook:
                    with uninterrupted():
                        result = SubmissionResult.from_dict(stored[student])
                        folder = paths.submission_dir(course, student, assignment)
                        recorder.record(student, result.notebooks, read_timestamp(folder))
                        summary.restored.append(student)
            if executor is not None:
                bar = _Progress(len(todo), assignment, log, progress)
                _run(executor, todo, specs, seed, lambda finished: _store(
                    course, specs, recorder, finished, key, stored, summary, bar))
                executor.close()
            # Late penalties depend on the TA's scores, extensions and due dates too: recompute them all,
            # then every page (a regraded one, or one whose grades changed by hand since).
            with uninterrupted():
                recorder.refresh_penalties()
            _write_pages(course, assignment, recorder, set(summary.skipped))
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


def _run(executor, todo: list[tuple[Path, str]], specs: dict[str, NotebookSpec], seed: int, store: Callable) -> None:
    """Keep the executor busy with ``todo``; ``store`` the outcomes as they come back, each time a list of
    (outcome, folder, digest): all that finished since the last time (at most :data:`GROUP` at once)."""
    waiting = list(todo)
    pending: dict = {}
    by_student = {folder.parent.name: (folder, digest) for folder, digest in todo}

    def refill() -> None:
        nonlocal waiting
        while len(pending) < executor.capacity and waiting:
            size = executor.chunk(len(waiting))  # shrinks as the batch ends: no worker waits long for another
            chunk, waiting = waiting[:size], waiting[size:]
            tasks = [_task(folder, specs, seed, executor.remote) for folder, _ in chunk]
            pending[executor.submit(tasks)] = tasks

    while True:
        refill()
        if not pending:
            break
        finished = []
        for future in executor.wait(set(pending)):
            tasks = pending.pop(future)
            finished += [(outcome, *by_student[outcome.student]) for outcome in executor.outcomes(future, tasks)]
        refill()  # the workers go on while this process records what they finished
        for start in range(0, len(finished), GROUP):
            store(finished[start:start + GROUP])


def _store(course: Path, specs: dict[str, NotebookSpec], recorder: gradebook.Recorder,
           finished: list[tuple[Outcome, Path, str]], key: str, stored: dict, summary: BatchSummary,
           bar: _Progress) -> None:
    """Record finished submissions: in the gradebook together (one transaction), then each one's files,
    its results file (the done marker) last. A submission the grader failed on is recorded as ``failed:
    grader error (...)`` (never missing), without its fingerprint, so that the next run grades it again."""
    entries, done = [], []
    for outcome, folder, digest in finished:
        result = outcome.result
        if result is None:
            summary.errors[outcome.student] = outcome.error
            result = SubmissionResult(outcome.student, folder.name)
            result.notebooks = [failed_notebook(spec, f"grader error ({outcome.error[:300]}); tell the instructor")
                                for spec in specs.values()]
            digest = ""
        timestamp = read_timestamp(folder)
        cells = outcome.cells if outcome.cells is not None else cell_digests(folder, specs)
        before = (stored.get(outcome.student) or {}).get("cells") or {}
        changed = {grade_id for grade_id, value in cells.items() if before.get(grade_id, value) != value}
        entries.append(gradebook.Entry(result.student, result.notebooks, timestamp, changed))
        done.append((outcome, folder, digest, result, timestamp, cells))
    with uninterrupted():
        recorder.record_many(entries)
        standings = recorder.standings([entry.student for entry in entries])
        for outcome, folder, digest, result, timestamp, cells in done:
            write_autograded(course, folder, specs, result, outcome.autograded)
            write_feedback(course, result, standings.get(result.student))
            results.write(course, results.to_dict(result, fingerprint=digest, grader=key, seconds=outcome.seconds,
                                                  worker=outcome.worker, timestamp=timestamp,
                                                  threads=outcome.threads) | {"cells": cells})
            if outcome.result is not None:
                summary.graded.append(result)  # counted with its files: a Ctrl-C raised on leaving the block keeps it
    for outcome, _, _, result, _, _ in done:
        if outcome.result is None:
            bar.done(f"{outcome.student:<20} not graded: grader error ({outcome.error})", notable=True)
        else:
            standing = standings.get(result.student)
            bar.done(_line(result, standing),
                     notable=result.status != "graded" or bool(standing and standing.pending))


def _write_pages(course: Path, assignment: str, recorder: gradebook.Recorder, only: set[str] | None = None,
                 students: list[str] | None = None) -> list[Path]:
    """Each student's feedback pages from the stored results and the gradebook as it is now."""
    written = []
    for student, data in sorted(results.load(course, assignment).items()):
        if (students and student not in students) or (only is not None and student not in only):
            continue
        with uninterrupted():
            written.append(write_feedback(course, SubmissionResult.from_dict(data), recorder.standing(student)))
    return written


def regenerate_feedback(course: Path, assignment: str, students: list[str] | None = None,
                        db_url: str | None = None) -> list[Path]:
    """Write the feedback pages again from the stored results and the gradebook (no grading): the final
    scores with the TA's grades and comments, and the late penalties, recomputed first."""
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
    with course_lock(course, f"feedback {assignment}"), \
            gradebook.Recorder(db_url or db_url_of(course), assignment, gradebook.late_plugin(course)) as recorder:
        recorder.refresh_penalties()
        return _write_pages(course, assignment, recorder, students=students)

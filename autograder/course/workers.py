"""Where submissions are graded: in this process, in a local process pool, or on a Dask cluster.

The unit of work is a :class:`Task`: one submission, the assignment's specs and the course seed.
Local workers (this machine) get the submission folder's path, one task at a time. Dask workers may
not share the file system, so their tasks carry the folder's files *as bytes*: the worker writes
them into a private temporary folder first. On Dask, tasks travel in chunks (several submissions
per Dask task, :meth:`Executor.chunk`) and the specs are sent to each worker once, not with every
submission: per-task overhead (scheduling, serialising the specs) would otherwise cost more than
grading a small submission. Either way the worker runs
:func:`~autograder.grader.submission.grade_submission` (which pre-flights the folder and starts
a sandboxed child per notebook) and returns an :class:`Outcome` of plain data. Workers never
write the course directory or the gradebook: the coordinator (:mod:`autograder.course.batch`)
does, alone. The three executors share one interface, :class:`Executor`.

Threads: with N workers on a machine with C cores each worker (and the sandboxed children it
starts) uses C // N threads for torch, OpenMP, OpenBLAS and MKL, so that the workers do not
fight over the cores. Dask tasks use one thread each: run one single-threaded Dask worker per
core (``dask worker ADDRESS --nworkers auto --nthreads 1 --preload autograder.course.workers``:
the preload imports the grader and the reference in each worker before the first task arrives).
"""

from __future__ import annotations

import abc
import concurrent.futures as cf
import dataclasses
import gc
import hashlib
import multiprocessing
import os
import signal
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.results import SubmissionResult
from ..grader.preflight import Loaded, read_folder
from ..grader.spec import NotebookSpec, nbgrader_meta
from ..grader.submission import grade_submission
from .feedback import autograded_notebooks

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "AUTOGRADER_SANDBOX_THREADS")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


MAX_TASK_BYTES = 64 * 1024**2  # of a submission's files sent to a remote worker (beyond: notebooks only)
DASK_CHUNK = 8  # the most submissions sent to a Dask worker in one task


@dataclass
class Task:
    """One submission to grade: its ``folder`` (a path on this machine), or its ``files`` (relative
    path -> bytes, for a worker elsewhere)."""

    student: str
    assignment: str
    specs: dict[str, NotebookSpec]
    seed: int
    folder: str | None = None
    files: dict[str, bytes] | None = None
    threads: int = 1  # set by the executor: cores // workers locally, 1 on Dask
    protect: list[str] = field(default_factory=list)  # host paths the sandbox must hide (the course directory)


def folder_files(folder: Path) -> dict[str, bytes]:
    """The submission's files, as bytes: every regular file in the folder and one level down (hidden
    ones left out), or only the notebooks when that would exceed :data:`MAX_TASK_BYTES`."""
    paths = [path for path in sorted(folder.glob("*")) + sorted(folder.glob("*/*"))
             if path.is_file() and not path.is_symlink()
             and not any(part.startswith(".") for part in path.relative_to(folder).parts)]
    if sum(path.stat().st_size for path in paths) > MAX_TASK_BYTES:
        paths = [path for path in paths if path.suffix == ".ipynb"]
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in paths}


@dataclass
class Outcome:
    """What a worker sends back: the result, or ``error`` when the grader itself failed."""

    student: str
    result: SubmissionResult | None
    seconds: float
    worker: str
    error: str = ""
    threads: int = 0  # torch's intra-op threads in the worker, as pinned
    autograded: dict[str, str] | None = None  # the autograded notebooks' texts, by file name
    cells: dict[str, str] | None = None  # the digests of the submission's cells (:func:`cell_digests`)


_pinned: int | None = None
_in_worker = False


def pin_threads(threads: int) -> None:
    """Limit this process (and the sandboxes it starts) to ``threads`` threads per numerical library."""
    global _pinned
    if _pinned == threads:
        return
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a requirement
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    _pinned = threads


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def cell_digests(folder: Path, specs: dict[str, NotebookSpec], loaded: dict[str, Loaded] | None = None,
                 ) -> dict[str, str]:
    """A digest of each nbgrader cell's source in the submission (by grade id), to tell which cells a
    resubmission changed. ``loaded``: the folder as :func:`~autograder.grader.preflight.read_folder` read it."""
    if loaded is None:
        loaded, _ = read_folder(folder, specs)
    digests = {}
    for found in loaded.values():
        for cell in (found.notebook.cells if found.notebook is not None else []):
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id:
                source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
                digests[grade_id] = hashlib.sha256(source.encode()).hexdigest()[:16]
    return digests


def _graded(folder: Path, task: Task, protect=()) -> tuple[SubmissionResult, dict[str, str], dict[str, str]]:
    """The submission's result, its autograded notebooks' texts and its cells' digests (made here, the folder
    at hand, from the reading that was graded; none for a folder that was not read, a link)."""
    read: dict = {}
    result = grade_submission(folder, task.specs, task.seed, protect=protect, read=read)
    if "loaded" not in read:
        return result, {}, {}
    cells = cell_digests(folder, task.specs, read["loaded"])  # before the autograded copies rewrite the test cells
    return result, autograded_notebooks(folder, task.specs, result, read["loaded"]), cells


def grade_task(task: Task) -> Outcome:
    """Grade one submission from its bytes, in a private temporary folder. Runs in a worker."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    start = time.monotonic()
    try:
        pin_threads(task.threads)
        if task.files is None:
            result, autograded, cells = _graded(Path(task.folder), task, task.protect)
        else:
            with tempfile.TemporaryDirectory(prefix="autograder-task-") as tmp:
                folder = Path(tmp) / task.student / task.assignment
                folder.mkdir(parents=True)
                for name, data in task.files.items():
                    parts = [part for part in Path(name).parts if part not in ("", ".", "..", "/")]
                    if parts:
                        (folder / Path(*parts)).parent.mkdir(parents=True, exist_ok=True)
                        (folder / Path(*parts)).write_bytes(data)
                result, autograded, cells = _graded(folder, task)
        return Outcome(task.student, result, time.monotonic() - start, worker, threads=_torch_threads(),
                       autograded=autograded, cells=cells)
    except SystemExit:
        if _in_worker:  # the pool is being shut down (SIGTERM): the sandboxes are closed by now
            os._exit(143)
        raise
    except Exception as error:  # a bug in the grader, not the student's fault: reported, not recorded
        first = str(error).strip().splitlines()
        return Outcome(task.student, None, time.monotonic() - start, worker,
                       f"{type(error).__name__}: {first[0] if first else ''}")


# ---------------------------------------------------------------------- executors


def grade_tasks(tasks: list[Task], specs: dict[str, NotebookSpec] | None = None) -> list[Outcome]:
    """Grade a chunk of submissions, one after the other; ``specs``, when given, replaces each task's
    own (None): the assignment's specs, sent to a Dask worker once for the whole batch."""
    outcomes = []
    for task in tasks:
        if specs is not None:
            task.specs = specs
        outcomes.append(grade_task(task))
    return outcomes


def dask_setup(worker=None) -> None:
    """Run by ``dask worker ... --preload autograder.course.workers`` as each worker starts: what the first
    submission would otherwise pay for, once for the worker's life (see :func:`warm_up`)."""
    warm_up()


def warm_up() -> None:
    """Import torch (the reference; about 1.3 s) and the checks, probe the sandbox's isolation and start the
    warm template (about 0.5 s together): done as a worker process starts, not in its first submission."""
    import torch  # noqa: F401

    from ..core import checks, reference  # noqa: F401
    from ..sandbox import warm_up as sandbox_warm_up

    sandbox_warm_up()
    # What is loaded now lives as long as the process: kept out of the garbage collector's full passes, each of
    # which otherwise walks those ~260,000 objects again (about 0.1 s, measured once per 20 submissions).
    gc.collect()
    gc.freeze()


class Executor(abc.ABC):
    """Where tasks run. The coordinator (:func:`autograder.course.batch.grade_assignment`) keeps up to
    ``capacity`` chunks of tasks submitted (:meth:`chunk` tasks each), waits for some to finish, and
    reads their :class:`Outcome` list."""

    description: str  # for people: "2 worker processes, 1 thread each"
    capacity: int  # how many tasks to keep submitted at once
    remote: bool  # the workers may not see this file system: tasks carry the submission's files

    def chunk(self, n_tasks: int) -> int:
        """How many tasks to send together: one, locally, where sending one costs nothing."""
        return 1

    @abc.abstractmethod
    def submit(self, tasks: list[Task]):
        """Start grading ``tasks`` (one chunk); return a future (``concurrent.futures`` or Dask) of
        their list of outcomes."""

    @abc.abstractmethod
    def wait(self, pending: set) -> set:
        """Block until at least one of the ``pending`` futures is done; return the done ones."""

    @abc.abstractmethod
    def outcomes(self, future, tasks: list[Task]) -> list[Outcome]:
        """The finished chunk's outcomes, one per task; a worker that died makes each an Outcome with
        ``error``, never an exception."""

    @abc.abstractmethod
    def close(self, cancel: bool = False) -> None:
        """Stop the workers (``cancel``: at once, abandoning what is still running)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(cancel=exc[0] is not None)


class Inline(Executor):
    """Grade in this process, one submission at a time (``--workers 1``)."""

    description = "1 worker (this process)"
    capacity = 1
    remote = False

    def __init__(self, threads: int):
        self.threads = threads

    def submit(self, tasks: list[Task]):
        for task in tasks:
            task.threads = self.threads
        future: cf.Future = cf.Future()
        future.set_result(grade_tasks(tasks))
        return future

    def wait(self, pending: set) -> set:
        return set(pending)

    def outcomes(self, future, tasks: list[Task]) -> list[Outcome]:
        return future.result()

    def close(self, cancel: bool = False) -> None:
        pass


class Finished(Inline):
    """Tasks whose outcomes are known already (by student): each is done when sent, so that only the
    coordinator runs; ``capacity``: how many it holds at once (so, how many finish together). What
    bench/grading.py measures the coordinator alone with, and tests replay the same outcomes through."""

    description = "outcomes known already"

    def __init__(self, outcomes: dict[str, Outcome], capacity: int = 1):
        super().__init__(threads=1)
        self.known, self.capacity = outcomes, capacity

    def submit(self, tasks: list[Task]):
        future: cf.Future = cf.Future()
        future.set_result([self.known[task.student] for task in tasks])
        return future


def _ready() -> int:
    return os.getpid()


def _unwind(signum, frame) -> None:
    raise SystemExit(143)


def _worker_init(threads: int) -> None:
    global _in_worker
    _in_worker = True
    # Ctrl-C goes to the whole foreground process group: the coordinator alone decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # On shutdown (SIGTERM), unwind so that `finally` blocks kill the sandboxes, then exit.
    signal.signal(signal.SIGTERM, _unwind)
    pin_threads(threads)
    warm_up()


class LocalPool(Executor):
    """N worker processes on this machine (forked: they start with the grader already imported)."""

    remote = False

    def __init__(self, workers: int, threads: int):
        self.workers, self.threads = workers, threads
        self.description = f"{workers} worker processes, {threads} thread{'s' * (threads != 1)} each"
        self.capacity = 2 * workers
        # Import the reference's torch once, here, so that every forked worker starts with it (fork is
        # safe: this process never runs a torch operation, so torch has started no thread pool yet).
        import torch  # noqa: F401

        context = multiprocessing.get_context("fork")
        self.executor = cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init,
                                               initargs=(threads,))
        # Start every worker now, before the coordinator opens a database connection that a fork
        # would share.
        for future in [self.executor.submit(_ready) for _ in range(workers)]:
            future.result()

    def submit(self, tasks: list[Task]):
        for task in tasks:
            task.threads = self.threads
        return self.executor.submit(grade_tasks, tasks)

    def wait(self, pending: set) -> set:
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        return done

    def outcomes(self, future, tasks: list[Task]) -> list[Outcome]:
        try:
            return future.result()
        except Exception as error:  # a worker died (killed for memory, say): the pool is broken
            return [Outcome(task.student, None, 0.0, "?", f"the worker process died ({type(error).__name__}); "
                                                         "run the same command again to continue") for task in tasks]

    def close(self, cancel: bool = False) -> None:
        if cancel:
            processes = list(getattr(self.executor, "_processes", {}).values())
            self.executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            for process in processes:  # a worker's sandbox may take up to 15 s to tear down (Sandbox._kill)
                process.join(timeout=30)
                if process.is_alive():
                    process.kill()
        else:
            self.executor.shutdown(wait=True)


class DaskPool(Executor):
    """The tasks run on an existing Dask cluster; results come back here."""

    remote = True  # the workers may not see this file system: send the files

    def __init__(self, address: str, threads: int = 1):
        from .directory import CourseError

        try:
            import distributed
        except ImportError:  # pragma: no cover - distributed is a requirement
            raise CourseError("--dask needs the `distributed` package (pip install distributed)") from None
        self.distributed = distributed
        try:
            self.client = distributed.Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as error:
            raise CourseError(f"cannot reach the Dask scheduler at {address} ({type(error).__name__}: "
                              f"{str(error).splitlines()[0] if str(error) else ''}); start one with "
                              "`dask scheduler` and workers with `dask worker ADDRESS`") from None
        nthreads = sum(self.client.nthreads().values())
        if nthreads == 0:
            self.client.close()
            raise CourseError(f"the Dask cluster at {address} has no workers; start some with "
                              f"`dask worker {address} --nthreads 1`")
        self.threads, self.nthreads = threads, nthreads
        self.capacity = 2 * nthreads
        self.description = f"Dask cluster {address} ({len(self.client.nthreads())} workers, {nthreads} threads)"
        self.pending: set = set()
        self.specs: dict = {}  # id of the specs dict -> (the dict, its future on the workers)

    def chunk(self, n_tasks: int) -> int:
        """About four chunks per worker thread of the ``n_tasks`` still waiting, at most
        :data:`DASK_CHUNK` submissions per Dask task. Asked again for each chunk, so chunks shrink
        towards the end of a batch and the last ones are single submissions: no worker is left
        waiting while another grades a long chunk."""
        return max(1, min(DASK_CHUNK, -(-n_tasks // (4 * self.nthreads))))

    def _shipped(self, specs: dict):
        """The specs, sent to every worker once (and kept there for the batch)."""
        if id(specs) not in self.specs:
            self.specs[id(specs)] = (specs, self.client.scatter(specs, broadcast=True, hash=False))
        return self.specs[id(specs)][1]

    def submit(self, tasks: list[Task]):
        specs = self._shipped(tasks[0].specs)
        light = []
        for task in tasks:
            if task.specs is not tasks[0].specs:
                raise ValueError("the tasks of one chunk must share their specs")
            light.append(dataclasses.replace(task, specs=None, threads=self.threads))
        future = self.client.submit(grade_tasks, light, specs, pure=False,
                                    key=f"grade-{tasks[0].assignment}-{tasks[0].student}-{len(tasks)}-"
                                        f"{os.urandom(4).hex()}")
        self.pending.add(future)
        return future

    def wait(self, pending: set) -> set:
        done = self.distributed.wait(list(pending), return_when="FIRST_COMPLETED").done
        self.pending -= set(done)
        return set(done)

    def outcomes(self, future, tasks: list[Task]) -> list[Outcome]:
        try:
            return future.result()
        except Exception as error:
            hint = ("; install this course's package on the Dask workers" if isinstance(error, ImportError)
                    else "")
            first = str(error).splitlines()[0] if str(error) else ""
            return [Outcome(task.student, None, 0.0, "?", f"the Dask task failed ({type(error).__name__}: "
                                                          f"{first}){hint}") for task in tasks]

    def close(self, cancel: bool = False) -> None:
        if cancel and self.pending:
            self.client.cancel(list(self.pending))
        self.client.close()


def executor_for(workers: int, dask: str | None, n_tasks: int) -> Executor:
    """The executor for ``--workers N`` / ``--dask ADDRESS`` (with fewer tasks than workers, fewer workers)."""
    if dask:
        return DaskPool(dask)
    # Probe the sandbox's isolation once, here, and say what it does not enforce: forked workers
    # inherit the answer instead of each probing and announcing it again.
    from ..sandbox import announce

    announce()
    workers = max(1, min(workers, n_tasks))
    threads = max(1, cores() // workers)
    if workers == 1:
        pin_threads(threads)
        return Inline(threads)
    return LocalPool(workers, threads)

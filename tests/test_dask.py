"""Grading on a Dask cluster: `python -m autograder grade --dask ADDRESS` against a real local cluster.

The cluster (a scheduler and two single-threaded worker processes) is started by the test; the
CLI connects to it like it would to a remote one. The same submissions graded by the local
process pool must get exactly the same results.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import cli

from autograder.course import demo
from autograder.course import store as results
from autograder.course.batch import _run, _task, load_specs
from autograder.course.directory import seed_of
from autograder.course.workers import DASK_CHUNK, DaskPool, Executor, Outcome, grade_task, grade_tasks

distributed = pytest.importorskip("distributed")

STEM = "02-convolution"
STUDENTS = 4


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("dask") / "course"
    result = cli("init", str(directory), "--assignment", STEM)
    assert result.returncode == 0, result.stderr
    demo.make_submissions(directory, STUDENTS, attacks=False)
    return directory


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        pids = set(client.run(lambda: __import__("os").getpid()).values())
        yield cluster.scheduler_address, pids


def _by_check(data: dict) -> dict:
    return {check["check_id"]: (check["score"], check["status"]) for nb in data["notebooks"] for check in nb["checks"]}


def test_grade_on_a_dask_cluster_matches_local_grading(course, cluster):
    address, worker_pids = cluster
    result = cli("grade", STEM, "--course", str(course), "--dask", address, "--no-progress")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"graded {STUDENTS} of {STUDENTS}" in result.stdout and "Dask cluster" in result.stdout
    on_dask = results.load(course, STEM)
    assert len(on_dask) == STUDENTS
    pids = {int(data["worker"].rsplit(":", 1)[1]) for data in on_dask.values()}
    assert pids <= worker_pids, (pids, worker_pids)  # graded in the Dask workers, not in the CLI's process
    assert all(data["threads"] == 1 for data in on_dask.values())
    assert any(data["score"] < data["max_score"] for data in on_dask.values())  # a mix, not all perfect

    local = cli("grade", STEM, "--course", str(course), "--workers", "2", "--force", "--no-progress")
    assert local.returncode == 0, local.stderr
    assert f"graded {STUDENTS} of {STUDENTS}" in local.stdout
    here = results.load(course, STEM)
    assert {int(data["worker"].rsplit(":", 1)[1]) for data in here.values()}.isdisjoint(worker_pids)
    for student, data in on_dask.items():
        assert here[student]["score"] == data["score"], student
        assert _by_check(here[student]) == _by_check(data), student


def test_a_task_carries_the_notebooks_not_their_paths(course, tmp_path):
    """Workers need no access to the course directory: the task holds the submission's bytes."""
    folder = course / "submitted" / "student001" / STEM
    task = _task(folder, load_specs(course, STEM), 1234, remote=True)
    assert task.folder is None and set(task.files) == {f"{STEM}.ipynb", "timestamp.txt"}
    assert task.files[f"{STEM}.ipynb"] == (folder / f"{STEM}.ipynb").read_bytes()
    moved = tmp_path / "elsewhere"
    shutil.move(str(folder), moved)
    try:
        outcome = grade_task(task)
    finally:
        shutil.move(str(moved), folder)
    assert outcome.error == "" and outcome.result.student == "student001"
    assert outcome.result.status == "graded" and outcome.result.score == outcome.result.max_score


def test_submissions_travel_in_chunks_and_the_specs_once(course, cluster):
    """Several submissions per Dask task, in order; the specs are scattered to the workers once and
    each task's own copy is left out of what is sent."""
    address, worker_pids = cluster
    specs = load_specs(course, STEM)
    folders = sorted((course / "submitted").glob(f"*/{STEM}"))
    with DaskPool(address) as pool:
        assert pool.chunk(STUDENTS) == 1 and pool.chunk(100) == DASK_CHUNK and pool.chunk(40) == 5
        tasks = [_task(folder, specs, seed_of(course), remote=True) for folder in folders]
        sent = pool.submit(tasks)
        assert len(pool.specs) == 1  # scattered once
        pool.submit(tasks[:1])
        assert len(pool.specs) == 1  # and not again
        outcomes = pool.outcomes(pool.wait({sent}).pop(), tasks)
    assert [outcome.student for outcome in outcomes] == [folder.parent.name for folder in folders]
    assert len({outcome.worker for outcome in outcomes}) == 1  # one Dask task graded them all
    assert int(outcomes[0].worker.rsplit(":", 1)[1]) in worker_pids
    assert all(outcome.error == "" and outcome.result.status == "graded" for outcome in outcomes)
    assert all(task.specs is specs for task in tasks)  # the coordinator's tasks are left as they were
    here = {outcome.student: outcome.result.score for outcome in grade_tasks(tasks)}  # the same, graded here
    for outcome in outcomes:
        assert outcome.result.score == here[outcome.student], outcome.student


class _Recording(Executor):
    """Runs nothing: records the chunks the coordinator cuts, finishing them in the order they were sent."""

    description, capacity, remote, nthreads = "recording", 4, False, 2
    chunk = DaskPool.chunk

    def __init__(self):
        self.sent: list[list[str]] = []

    def submit(self, tasks):
        self.sent.append([task.student for task in tasks])
        return len(self.sent) - 1

    def wait(self, pending):
        return {min(pending)}

    def outcomes(self, future, tasks):
        return [Outcome(task.student, None, 0.0, "recording") for task in tasks]

    def close(self, cancel=False):
        pass


def test_chunks_shrink_towards_the_end_of_a_batch(tmp_path):
    """Big chunks while much is waiting, single submissions at the end, so no worker waits long for another."""
    todo = [(tmp_path / f"student{i:02d}" / STEM, "") for i in range(60)]
    executor, stored = _Recording(), []
    _run(executor, todo, {}, 0, lambda finished: stored.extend(outcome.student for outcome, *_ in finished))
    sizes = [len(chunk) for chunk in executor.sent]
    assert sizes[0] == DASK_CHUNK and sizes[-1] == 1 and sizes == sorted(sizes, reverse=True), sizes
    assert sorted(stored) == [f"student{i:02d}" for i in range(60)]


class _AllAtOnce(_Recording):
    """Every chunk sent finishes at once (workers far ahead of the coordinator); logs what happens, in order."""

    chunk = Executor.chunk  # one submission a chunk, as locally

    def __init__(self, log):
        super().__init__()
        self.log = log

    def submit(self, tasks):
        self.log.append(("sent", len(tasks)))
        return super().submit(tasks)

    def wait(self, pending):
        return set(pending)


def test_what_finished_together_is_stored_together_after_the_workers_get_more(tmp_path, monkeypatch):
    """All that finished since the last look is stored in one call (at most GROUP submissions: the gradebook
    records them in one transaction), and only after the workers were handed the next tasks."""
    from autograder.course import batch

    monkeypatch.setattr(batch, "GROUP", 3)
    todo = [(tmp_path / f"student{i:02d}" / STEM, "") for i in range(9)]
    log: list = []
    executor = _AllAtOnce(log)
    _run(executor, todo, {}, 0, lambda finished: log.append(("stored", [o.student for o, *_ in finished])))
    stored = [entry[1] for entry in log if entry[0] == "stored"]
    assert [len(group) for group in stored] == [3, 1, 3, 1, 1], log  # capacity 4: 4 finish, 4 more, then 1
    assert [student for group in stored for student in group] == [f"student{i:02d}" for i in range(9)]
    first = next(i for i, entry in enumerate(log) if entry[0] == "stored")
    assert log[:first] == [("sent", 1)] * 8, log  # the next 4 were sent before the first 4 were stored

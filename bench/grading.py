"""Benchmark: grading a class's submissions, plain ``nbgrader autograde`` against ``python -m autograder grade``.

    .venv/bin/python bench/grading.py [--submissions N] [--nbgrader K] [--class-size M] [--dask 1,2,4] [--keep DIR]

N synthetic submissions of ``02-convolution`` (complete, partly wrong and unfinished work, made by
:mod:`autograder.course.demo` from the reference solution; no endless loops, which would only
measure timeouts) are graded, in course directories made by ``python -m autograder init``:

1. the first K by ``nbgrader autograde 02-convolution``: the real nbgrader, which starts a fresh
   Jupyter kernel per notebook and runs the whole notebook, one after the other;
2. all N by ``python -m autograder grade --force`` with ``--workers 1``, ``--workers 2``, and on a
   Dask ``LocalCluster`` of 1, 2 and 4 single-threaded worker processes (preloaded with the grader,
   as ``dask worker --preload autograder.course.workers`` does): the scaling curve;
3. a whole class of M (default 1,000) with ``--workers 2``, against the target of two minutes.

Each is timed as the whole command (wall clock, interpreter start-up included); the table gives
seconds per notebook (and per notebook of the grading loop alone) and the ratio to nbgrader's
seconds per notebook. Every run of ours must give the same scores. Then, measured in this process:
where a worker's time goes per submission (sandbox start and cells, the student's calls with their
round trips, the reference, comparing and diagnosing); the coordinator alone, recording finished
submissions one at a time and in groups, and so how many workers one coordinator keeps busy (where a
bigger cluster stops grading proportionally faster); what a correct submission's
own code costs on the same cases (the floor under any grader's time), a sandbox started cold
against one forked from the warm template, and the student's side: ``from autograder import
check``, the first and a later ``check()`` in a fresh kernel.

The last line printed is JSON with every number. Targets on two idle cores: at least 150x
nbgrader's throughput per notebook with two workers, and the class of 1,000 in under 120 s.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.modules.setdefault("rfc3987_syntax", None)  # as the CLI does: 1.5 s of grammar compilation at import

from autograder.course import demo
from autograder.course import directory as course_module

STEM = "02-convolution"
TARGET = 150.0  # times plain nbgrader's throughput per notebook, with two workers
CLASS_TARGET_S = 120.0  # a class of 1,000, with two workers


def run(command: list[str], cwd: Path = ROOT) -> tuple[float, subprocess.CompletedProcess]:
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"`{' '.join(command)}` failed:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}")
    return seconds, completed


def make_course(directory: Path) -> float:
    seconds, _ = run([sys.executable, "-m", "autograder", "init", str(directory), "--assignment", STEM])
    return seconds


def gradebook_scores(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(course_module.db_url_of(course)) as gradebook:
        return {s.student_id: float(s.score) for s in gradebook.find_assignment(STEM).submissions}


# ---------------------------------------------------------------------- profile


@contextlib.contextmanager
def timed(owner, name: str, totals: dict, key: str):
    """Add the time spent in ``owner.name`` to ``totals[key]`` while the block runs (for a generator, the time
    spent waiting for its items: with a group's calls in one request, the judge works while the child does)."""
    original = getattr(owner, name, None)
    if original is None:  # the method moved: report nothing rather than a wrong number
        yield
        return

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start

    def iterating(*args, **kwargs):  # a generator: the time spent waiting for each item, and in closing it
        items = original(*args, **kwargs)
        try:
            while True:
                start = time.perf_counter()
                try:
                    item = next(items)
                except StopIteration:
                    return
                finally:
                    totals[key] += time.perf_counter() - start
                yield item
        finally:
            start = time.perf_counter()
            items.close()
            totals[key] += time.perf_counter() - start

    setattr(owner, name, iterating if inspect.isgeneratorfunction(original) else wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def profile(course: Path, count: int) -> tuple[dict, dict]:
    """Grade ``count`` submissions in this process, as a worker does, with timers around each stage: seconds
    per submission, and the outcomes (what a worker sends the coordinator), by student."""
    from autograder.core.checks import Check
    from autograder.course.batch import load_specs, submissions
    from autograder.course.workers import Outcome, Task, _graded
    from autograder.sandbox import Sandbox

    specs = load_specs(course, STEM)
    folders = submissions(course, STEM)[:count]
    seed = course_module.seed_of(course)
    totals: dict[str, float] = defaultdict(float)
    outcomes = {}
    _graded(folders[0], Task("warm-up", STEM, specs, seed))  # imports, torch's first call
    with contextlib.ExitStack() as stack:
        stack.enter_context(timed(Sandbox, "run_cells", totals, "sandbox: start, imports, run the cells"))
        stack.enter_context(timed(Sandbox, "calls", totals, "student calls (their code + round trip)"))
        stack.enter_context(timed(Check, "expected", totals, "reference (PyTorch)"))
        stack.enter_context(timed(Check, "judge", totals, "judge (reference + compare + diagnose)"))
        start = time.perf_counter()
        for folder in folders:
            student, began = folder.parent.name, time.perf_counter()
            result, autograded, cells = _graded(folder, Task(student, STEM, specs, seed))
            outcomes[student] = Outcome(student, result, time.perf_counter() - began, "bench", threads=1,
                                        autograded=autograded, cells=cells)
        totals["grading, total"] = time.perf_counter() - start
    totals["compare and diagnose"] = totals.pop("judge (reference + compare + diagnose)") - totals[
        "reference (PyTorch)"]
    per = {key: value / len(folders) for key, value in totals.items()}
    per["other (checks' inputs, bookkeeping, the autograded copy)"] = per["grading, total"] - sum(
        per.get(k, 0.0) for k in ("sandbox: start, imports, run the cells", "student calls (their code + round trip)",
                         "reference (PyTorch)", "compare and diagnose"))
    return {key: round(value, 4) for key, value in per.items()}, outcomes


def coordinator(pristine: Path, outcomes: dict, rounds: int = 2) -> dict:
    """The coordinator alone, the workers' ``outcomes`` ready: the real ``grade`` loop records them (the
    gradebook, autograded/, feedback/, the results files) in copies of the ungraded course ``pristine``, as
    new submissions and again with ``--force``; one at a time (a coordinator that keeps up with its workers)
    and in groups (one that falls behind: what finished meanwhile goes in one transaction). Seconds per
    submission of the recording loop (a batch's start and end are left out), the best of ``rounds`` taken
    in turn."""
    from autograder.course import batch
    from autograder.course.workers import Finished

    best: dict[str, float] = defaultdict(lambda: float("inf"))
    scratch = Path(tempfile.mkdtemp(prefix="bench-coordinator-"))
    executor_for, group, loop = batch.executor_for, batch.GROUP, batch._run
    batch.executor_for = lambda *args: Finished(outcomes, capacity=2 * group)
    spent: list[float] = []

    def timed_loop(*args):  # the recording loop alone: a batch's start and end cost the same for any cluster
        start = time.perf_counter()
        loop(*args)
        spent.append(time.perf_counter() - start)

    batch._run = timed_loop
    try:
        for number in range(rounds):
            for size in (1, group):
                batch.GROUP = size
                course = scratch / f"{number}-{size}"
                shutil.copytree(pristine, course)
                for force in (False, True):
                    done = batch.grade_assignment(course, STEM, log=lambda *_: None, progress=False, force=force,
                                                  students=list(outcomes))
                    seconds = spent.pop() / len(outcomes)
                    assert len(done.graded) == len(outcomes), done.errors
                    key = f"{'regraded' if force else 'new'}, {'one at a time' if size == 1 else 'in groups'}"
                    best[key] = min(best[key], seconds)
    finally:
        batch.executor_for, batch.GROUP, batch._run = executor_for, group, loop
        shutil.rmtree(scratch, ignore_errors=True)
    return {key: round(value, 4) for key, value in best.items()}


def students_own_code(course: Path, students: int = 5) -> float:
    """What a correct submission's own code costs: the source notebook's solutions, run in this process (no
    sandbox, no judging) on every case the grader calls them on (visible and hidden groups) for ``students``
    students' seeds; seconds per submission. Grading cannot cost less than this."""
    import copy

    import nbformat

    from autograder.core import checks as registry
    from autograder.course.batch import load_specs
    from autograder.grader.run import HARNESS_ID, submission_cells
    from autograder.grader.submission import student_seed

    spec = load_specs(course, STEM)[STEM]
    namespace: dict = {"__name__": "__main__"}
    source = nbformat.read(course / "source" / STEM / f"{STEM}.ipynb", as_version=4)
    for cell in submission_cells(spec, source):
        if cell["id"] != HARNESS_ID:
            exec(compile(cell["source"], cell["id"], "exec"), namespace)  # noqa: S102 - the course's own solutions
    checks = [registry.get(test.check_id) for test in spec.tests]
    seconds = 0.0
    for number in range(students):
        seed = student_seed(course_module.seed_of(course), f"student{number + 1:03d}")
        for check in checks:
            function = namespace.get(check.function)
            if not callable(function) or check.driver is not None:
                continue  # an answer (a value), or a check that runs a driver
            for group in check.groups:
                for case in check.cases(group, seed):
                    args, kwargs = copy.deepcopy((case.args, case.kwargs))
                    start = time.perf_counter()
                    function(*args, **kwargs)
                    seconds += time.perf_counter() - start
    return seconds / students


def sandbox_starts(count: int = 10) -> dict:
    """What starting a sandbox costs before any student code runs, in this process: a cold child (a
    fresh ``python -I`` that imports NumPy and IPython) against one forked from the warm template
    (median of ``count`` each, taken in turn; running a cell that imports NumPy included)."""
    from autograder.sandbox import Limits, Sandbox, host

    def once(warm: bool) -> float:
        os.environ["AUTOGRADER_WARM_SANDBOX"] = "1" if warm else "0"
        start = time.perf_counter()
        with Sandbox(Limits()) as box:
            box.run_cells([{"id": "imports", "source": "import numpy as np"}], 60)
            assert box.warm == (warm and box.mode in host.WARM_MODES)
        return time.perf_counter() - start

    once(True)  # the template's own start (once per grader process)
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    for _ in range(count):
        for name, spent in times.items():
            spent.append(once(name == "warm"))
    os.environ.pop("AUTOGRADER_WARM_SANDBOX", None)
    cold, warm = (statistics.median(times[name]) for name in ("cold", "warm"))
    return {"cold start (fresh python -I)": round(cold, 4), "warm start (forked from the template)": round(warm, 4),
            "cold / warm": round(cold / warm, 2)}


# ---------------------------------------------------------------------- Dask, the class, check()


@contextlib.contextmanager
def local_cluster(workers: int):
    """A Dask ``LocalCluster`` of ``workers`` single-threaded worker processes, each preloaded with the
    grader (as ``dask worker ... --preload autograder.course.workers`` does); its address."""
    import distributed

    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # a worker's heartbeat cut off at shutdown is not news
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40, preload=["autograder.course.workers"]) as cluster:
        with distributed.Client(cluster) as client:
            client.wait_for_workers(workers)
        yield cluster.scheduler_address


def grade(course: Path, *how: str) -> tuple[float, float]:
    """(seconds of the whole command, seconds of its grading loop) of ``autograder grade --force``."""
    seconds, completed = run([sys.executable, "-m", "autograder", "grade", STEM, "--course", str(course),
                              "--force", "--no-progress", *how])
    found = re.search(r"graded (\d+) of (\d+) submission\(s\) of \S+ in ([\d.]+) s", completed.stdout)
    assert found and found.group(1) == found.group(2), completed.stdout
    return seconds, float(found.group(3))


def check_latency() -> dict:
    """The student's side: ``from autograder import check``, the first and a later ``check()`` in a
    fresh Jupyter kernel (bench/check.py, one kernel, shipped expected values)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import check as bench_check

    target = "02-convolution.conv_forward_naive"
    setup = ("import numpy as np\n" + bench_check._solution(*target.split(".", 1))
             + f"\nCHECK_ID, FUNCTION = {target!r}, conv_forward_naive\n")
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("AUTOGRADER_SHIPPED_EXPECTED", None)
    found = bench_check._run([setup, bench_check.TIMED], env)
    return {key: round(found[key], 4) for key in ("import_s", "first_s", "later_s")} | {"torch_loaded": found["torch"]}


# ---------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=100, metavar="N",
                        help="graded by each of our configurations (default: 100)")
    parser.add_argument("--nbgrader", type=int, default=10, metavar="K",
                        help="of them graded by plain nbgrader, one kernel per notebook, ~2 s each here (default: 10)")
    parser.add_argument("--class-size", type=int, default=1000, metavar="M",
                        help="a whole class graded with --workers 2, against the 2-minute target (0: skip)")
    parser.add_argument("--dask", default="1,2,4", metavar="W,W",
                        help="Dask LocalCluster sizes (worker processes) for the scaling curve ('': skip)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the courses here and keep them")
    args = parser.parse_args()
    if args.submissions < 1 or not 1 <= args.nbgrader <= args.submissions or args.class_size < 0:
        parser.error("need 1 <= --nbgrader <= --submissions and --class-size >= 0")
    sizes = [int(size) for size in args.dask.split(",") if size.strip()]
    workspace = args.keep or Path(tempfile.mkdtemp(prefix="bench-grading-"))
    workspace.mkdir(parents=True, exist_ok=True)
    n, k = args.submissions, args.nbgrader
    try:
        courses = {name: workspace / name for name in ("nbgrader", "ours", "class", "pristine")}
        for name, directory in courses.items():
            if directory.exists():
                shutil.rmtree(directory)
            if name in ("nbgrader", "ours") or (name == "class" and args.class_size):
                print(f"init {name}: {make_course(directory):.1f} s", flush=True)
        demo.make_submissions(courses["ours"], n, attacks=False)
        shutil.copytree(courses["ours"], courses["pristine"])  # ungraded, for the coordinator's own measure
        for folder in sorted((courses["ours"] / "submitted").iterdir())[:k]:
            shutil.copytree(folder, courses["nbgrader"] / "submitted" / folder.name)
        print(f"{n} submissions of {STEM} (nbgrader grades the first {k}): {workspace}", flush=True)

        per: dict[str, float] = {}  # seconds per notebook, whole command
        loops: dict[str, float] = {}  # seconds per notebook, grading loop only
        seconds, _ = run([sys.executable, "-m", "nbgrader", "autograde", STEM], cwd=courses["nbgrader"])
        per["nbgrader"] = seconds / k
        print(f"nbgrader autograde ({k}):{seconds:9.1f} s", flush=True)
        scores = {}
        for workers in (1, 2):
            name = f"workers {workers}"
            seconds, loop = grade(courses["ours"], "--workers", str(workers))
            per[name], loops[name] = seconds / n, loop / n
            scores[name] = gradebook_scores(courses["ours"])
            print(f"autograder --workers {workers} ({n}): {seconds:7.1f} s (grading loop {loop:.1f} s)", flush=True)
        for workers in sizes:
            name = f"dask {workers}"
            with local_cluster(workers) as address:
                seconds, loop = grade(courses["ours"], "--dask", address)
            per[name], loops[name] = seconds / n, loop / n
            scores[name] = gradebook_scores(courses["ours"])
            print(f"autograder --dask, {workers} worker(s) ({n}): {seconds:7.1f} s (grading loop {loop:.1f} s)",
                  flush=True)
        assert all(found == scores["workers 1"] for found in scores.values()), "our runs disagree on the scores"
        plain = gradebook_scores(courses["nbgrader"])
        agree = sum(abs(scores["workers 1"][s] - plain[s]) < 1e-6 for s in plain)

        ratios = {name: per["nbgrader"] / value for name, value in per.items() if name != "nbgrader"}
        print(f"\n{'':<24}{'s / notebook':>13}{'loop s / nb':>13}{'vs nbgrader':>13}")
        for name, value in per.items():
            ratio = f"{ratios[name]:.1f}x" if name in ratios else ""
            loop = f"{loops[name]:.4f}" if name in loops else ""
            print(f"{name:<24}{value:>13.4f}{loop:>13}{ratio:>13}")
        print(f"scores: all our runs agree; nbgrader's own scoring agrees on {agree} of {k} submissions")
        scaling = {}
        if sizes:
            base = loops[f"dask {sizes[0]}"] * sizes[0]
            scaling = {workers: round(base / (loops[f"dask {workers}"] * workers), 3) for workers in sizes}
            local2 = loops["workers 2"]
            print("Dask scaling (grading loop): " + ", ".join(
                f"{w} worker(s) {1 / loops[f'dask {w}']:.1f}/s" for w in sizes)
                + f"; parallel efficiency vs {sizes[0]}: {scaling}"
                + (f"; Dask 2 vs the local pool of 2: {local2 / loops['dask 2']:.2f}x" if 2 in sizes else ""))

        whole = {}
        if args.class_size:
            demo.make_submissions(courses["class"], args.class_size, attacks=False)
            seconds, loop = grade(courses["class"], "--workers", "2")
            whole = {"submissions": args.class_size, "seconds": round(seconds, 2), "grading_loop_seconds": loop,
                     "target_seconds": CLASS_TARGET_S, "met": seconds < CLASS_TARGET_S}
            print(f"a class of {args.class_size}, --workers 2: {seconds:.1f} s (target under {CLASS_TARGET_S} s)",
                  flush=True)

        print("\nwhere our time goes (seconds per submission, one process, sandbox included):", flush=True)
        breakdown, outcomes = profile(courses["ours"], min(n, 40))
        for key, value in breakdown.items():
            print(f"  {key:<52}{value:8.4f}")
        alone = coordinator(courses["pristine"], outcomes)
        worker = breakdown["grading, total"]
        busy = {key: round(worker / value, 1) for key, value in alone.items()}
        print(f"the coordinator alone ({len(outcomes)} finished submissions; seconds per submission, and how many "
              f"workers of {worker:.3f} s a submission it keeps busy: a cluster grades proportionally faster up "
              "to about that many):")
        for key, value in alone.items():
            print(f"  {key:<52}{value:8.4f}  {1 / value:6.0f}/s  {busy[key]:5.1f} workers")
        own = students_own_code(courses["ours"])
        print(f"a correct submission's own code on the grader's cases (no sandbox, no judging): {own:.4f} s; "
              f"grading one submission costs {breakdown['grading, total'] / own:.1f}x that")
        imports = sandbox_starts()
        print("sandbox start, to the first cell run (median of 10, seconds):")
        for key, value in imports.items():
            print(f"  {key:<52}{value:8.3f}")
        latency = check_latency()
        print(f"a student's check() in a fresh kernel: import {latency['import_s']:.3f} s, first "
              f"{latency['first_s']:.3f} s, later {latency['later_s']:.3f} s (torch loaded: {latency['torch_loaded']})")

        report = {"submissions": n, "nbgrader_submissions": k, "cores": os.cpu_count(),
                  "seconds_per_notebook": {key: round(value, 4) for key, value in per.items()},
                  "grading_loop_seconds_per_notebook": {key: round(value, 4) for key, value in loops.items()},
                  "ratio_vs_nbgrader": {key: round(value, 1) for key, value in ratios.items()},
                  "target_ratio": TARGET, "target_met": ratios["workers 2"] >= TARGET,
                  "dask_parallel_efficiency": scaling, "class": whole,
                  "nbgrader_score_agreement": f"{agree}/{k}", "profile_seconds_per_submission": breakdown,
                  "coordinator_seconds_per_submission": alone, "workers_one_coordinator_keeps_busy": busy,
                  "students_own_code_seconds_per_submission": round(own, 4),
                  "grading_vs_own_code": round(breakdown["grading, total"] / own, 2),
                  "sandbox_child_startup": imports, "check_latency_seconds": latency}
        print(json.dumps(report))
        return 0 if report["target_met"] and whole.get("met", True) else 1
    finally:
        if args.keep is None:
            shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

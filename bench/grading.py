"""Benchmark: grading a class's submissions, plain ``nbgrader autograde`` against ``python -m autograder grade``.

    .venv/bin/python bench/grading.py [--submissions N] [--keep DIR]

The same N synthetic submissions of ``02-convolution`` (complete, partly wrong and unfinished
work, made by :mod:`autograder.demo` from the reference solution; no endless loops, which would
only measure timeouts) are graded three ways, each in its own course directory made by
``python -m autograder init``:

1. ``nbgrader autograde 02-convolution``: the real nbgrader, which starts a fresh Jupyter kernel
   per notebook and runs the whole notebook (narrative cells included), one after the other;
2. ``python -m autograder grade 02-convolution --workers 1``;
3. ``python -m autograder grade 02-convolution --workers 2``.

Each is timed as the whole command (wall clock, interpreter start-up included), and the
throughput is submissions per second. Our grader runs every notebook in its sandboxed child
process, so the sandbox is included. The scores of (2) and (3) must agree.

Then a profile of where our time goes, measured in this process on the same submissions:
the sandbox (child start-up and imports, running the cells), the student's calls (student code
and the round trip), the reference computation (PyTorch), comparing and diagnosing, and the
coordinator's writes (gradebook, ``autograded/`` copy, feedback, results file); plus a
sandbox started cold (a fresh ``python -I`` importing NumPy and IPython) against one forked from
the warm template, which the grader uses (``AUTOGRADER_WARM_SANDBOX=0`` turns it off).

The last line printed is JSON with every number; the target is at least 10x nbgrader's
throughput with two workers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
TARGET = 10.0


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
    """Add the time spent in ``owner.name`` to ``totals[key]`` while the block runs."""
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

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def profile(course: Path, count: int) -> dict:
    """Grade ``count`` submissions in this process with timers around each stage; seconds per submission."""
    from autograder.core.checks import Check
    from autograder.course import feedback, gradebook
    from autograder.course import store as results
    from autograder.course.batch import load_specs, read_timestamp, submissions
    from autograder.grader.submission import grade_submission
    from autograder.sandbox import Sandbox

    specs = load_specs(course, STEM)
    folders = submissions(course, STEM)[:count]
    seed = course_module.seed_of(course)
    totals: dict[str, float] = defaultdict(float)
    grade_submission(folders[0], specs, seed)  # warm up: imports, torch's first call
    with contextlib.ExitStack() as stack:
        stack.enter_context(timed(Sandbox, "run_cells", totals, "sandbox: start, imports, run the cells"))
        stack.enter_context(timed(Sandbox, "call", totals, "student calls (their code + round trip)"))
        stack.enter_context(timed(Check, "expected", totals, "reference (PyTorch)"))
        stack.enter_context(timed(Check, "judge", totals, "judge (reference + compare + diagnose)"))
        start = time.perf_counter()
        graded = [grade_submission(folder, specs, seed) for folder in folders]
        totals["grading, total"] = time.perf_counter() - start
    totals["compare and diagnose"] = totals.pop("judge (reference + compare + diagnose)") - totals[
        "reference (PyTorch)"]
    scratch = Path(tempfile.mkdtemp(prefix="bench-writes-"))
    try:
        shutil.copytree(course, scratch / "course", ignore=shutil.ignore_patterns("autograded", "feedback"))
        copy = scratch / "course"
        key = results.grader_key(copy, STEM, seed)
        with gradebook.Recorder(course_module.db_url_of(copy), STEM) as recorder:
            start = time.perf_counter()
            for folder, result in zip(folders, graded):
                folder = copy / "submitted" / folder.parent.name / STEM
                recorder.record(result.student, result.notebooks, read_timestamp(folder))
            totals["coordinator: gradebook rows"] = time.perf_counter() - start
            start = time.perf_counter()
            for folder, result in zip(folders, graded):
                folder = copy / "submitted" / folder.parent.name / STEM
                feedback.write_autograded(copy, folder, specs, result)
                feedback.write_feedback(copy, result)
                results.write(copy, results.to_dict(result, fingerprint=results.fingerprint(folder), grader=key,
                                                    seconds=0.0, worker="bench"))
            totals["coordinator: autograded, feedback, results files"] = time.perf_counter() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    per = {key: value / len(folders) for key, value in totals.items()}
    per["other (checks' inputs, bookkeeping)"] = per["grading, total"] - sum(
        per[k] for k in ("sandbox: start, imports, run the cells", "student calls (their code + round trip)",
                         "reference (PyTorch)", "compare and diagnose"))
    return {key: round(value, 4) for key, value in per.items()}


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


# ---------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=10, metavar="N", help="how many (default: 10)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the courses here and keep them")
    args = parser.parse_args()
    if args.submissions < 1:
        parser.error("--submissions must be at least 1")
    workspace = args.keep or Path(tempfile.mkdtemp(prefix="bench-grading-"))
    workspace.mkdir(parents=True, exist_ok=True)
    n = args.submissions
    try:
        courses = {name: workspace / name for name in ("nbgrader", "workers1", "workers2")}
        for name, directory in courses.items():
            if directory.exists():
                shutil.rmtree(directory)
            seconds = make_course(directory)
            print(f"init {name}: {seconds:.1f} s", flush=True)
        demo.make_submissions(courses["nbgrader"], n, attacks=False)
        for name in ("workers1", "workers2"):
            shutil.copytree(courses["nbgrader"] / "submitted", courses[name] / "submitted")
        print(f"{n} submissions of {STEM}: {workspace}/*/submitted/", flush=True)

        timings = {}
        timings["nbgrader"], _ = run([sys.executable, "-m", "nbgrader", "autograde", STEM],
                                     cwd=courses["nbgrader"])
        print(f"nbgrader autograde:          {timings['nbgrader']:7.1f} s", flush=True)
        inner = {}
        for workers in (1, 2):
            name = f"workers{workers}"
            timings[name], completed = run([sys.executable, "-m", "autograder", "grade", STEM, "--course",
                                            str(courses[name]), "--workers", str(workers), "--no-progress"])
            found = re.search(r"graded (\d+) of \d+ submission\(s\) of \S+ in ([\d.]+) s", completed.stdout)
            assert found and int(found.group(1)) == n, completed.stdout
            inner[name] = float(found.group(2))
            print(f"autograder grade --workers {workers}: {timings[name]:7.1f} s "
                  f"(grading loop {inner[name]:.1f} s)", flush=True)

        ours1, ours2, plain = (gradebook_scores(courses[name]) for name in ("workers1", "workers2", "nbgrader"))
        assert ours1 == ours2, "the two runs of our grader disagree"
        agree = sum(abs(ours1[s] - plain.get(s, -1)) < 1e-6 for s in ours1)

        throughput = {name: n / seconds for name, seconds in timings.items()}
        ratios = {name: throughput[name] / throughput["nbgrader"] for name in ("workers1", "workers2")}
        print(f"\n{'':<28}{'seconds':>9}{'submissions/s':>15}{'vs nbgrader':>13}")
        for name, label in (("nbgrader", "nbgrader autograde"), ("workers1", "autograder --workers 1"),
                            ("workers2", "autograder --workers 2")):
            ratio = f"{ratios[name]:.1f}x" if name in ratios else ""
            print(f"{label:<28}{timings[name]:>9.1f}{throughput[name]:>15.3f}{ratio:>13}")
        print(f"scores: our two runs agree; nbgrader's own scoring agrees on {agree} of {n} submissions")

        print("\nwhere our time goes (seconds per submission, one process, sandbox included):", flush=True)
        breakdown = profile(courses["workers1"], min(n, 10))
        for key, value in breakdown.items():
            print(f"  {key:<52}{value:8.3f}")
        imports = sandbox_starts()
        print("sandbox start, to the first cell run (median of 10, seconds):")
        for key, value in imports.items():
            print(f"  {key:<52}{value:8.3f}")
        startup, _ = run([sys.executable, "-m", "autograder", "grade", STEM, "--course", str(courses["workers1"])])
        print(f"fixed cost of a `grade` command (all {n} submissions unchanged, so skipped): {startup:.2f} s")

        report = {"submissions": n, "seconds": {k: round(v, 3) for k, v in timings.items()},
                  "grading_loop_seconds": inner, "submissions_per_second": {k: round(v, 4) for k, v in
                                                                            throughput.items()},
                  "ratio_vs_nbgrader": {k: round(v, 2) for k, v in ratios.items()}, "target_ratio": TARGET,
                  "target_met": ratios["workers2"] >= TARGET, "nbgrader_score_agreement": f"{agree}/{n}",
                  "profile_seconds_per_submission": breakdown, "sandbox_child_startup": imports,
                  "cli_startup_seconds": round(startup, 3), "cores": os.cpu_count()}
        print(json.dumps(report))
        return 0 if report["target_met"] else 1
    finally:
        if args.keep is None:
            shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: how long the first ``check()`` takes in a fresh Jupyter kernel, with and without the
expected values shipped with the package (``autograder/core/expected/``).

    .venv/bin/python bench/check.py [--check 02-convolution.conv_forward_naive] [--repeats 3]

Each run starts a fresh kernel, defines the exercise's reference solution (from the chapter's
single source, ``solutions/<stem>.md``) after ``import numpy as np`` (what a student's notebook
has done before its first test cell), then times, inside the kernel with ``time.perf_counter``,
``from autograder import check``, the first ``check(...)`` and a second one. "before" is the same
kernel with ``AUTOGRADER_SHIPPED_EXPECTED=0`` (the reference computes every expected value, so the
first check imports torch); "after" uses the shipped values. Kernels alternate between the two, so
a busy machine slows both alike; each figure is the median over the repeats.

The last line printed is JSON: the medians (seconds), whether torch was loaded, the ratio of the
first check's time before to after, and the target (the first check under 0.5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = 0.5

TIMED = textwrap.dedent("""
    import json, sys, time
    start = time.perf_counter()
    from autograder import check
    imported = time.perf_counter()
    first = check(CHECK_ID, FUNCTION)
    checked = time.perf_counter()
    second = check(CHECK_ID, FUNCTION)
    again = time.perf_counter()
    print(json.dumps({"import_s": imported - start, "first_s": checked - imported, "later_s": again - checked,
                      "passed": first.passed and second.passed, "torch": "torch" in sys.modules}))
""")


def _solution(stem: str, function: str) -> str:
    from autograder.book.sources import SOLUTIONS, read_source

    for cell in read_source(SOLUTIONS / f"{stem}.md").cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == function:
            return cell.source
    raise SystemExit(f"error: {stem} has no exercise {function!r}")


def _run(cells: list[str], env: dict[str, str]) -> dict:
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(ROOT), env=env)
    try:
        for cell in cells:
            output = []
            reply = client.execute_interactive(cell, timeout=300,
                                               output_hook=lambda message, out=output: out.append(message["content"]))
            if reply["content"]["status"] != "ok":
                raise SystemExit(f"error: a cell failed in the kernel: {reply['content'].get('evalue')}")
        return json.loads("".join(part.get("text", "") for part in output).strip().splitlines()[-1])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", default="02-convolution.conv_forward_naive", help="the check to time")
    parser.add_argument("--repeats", type=int, default=3, help="fresh kernels per variant (default: 3)")
    args = parser.parse_args()
    stem, function = args.check.split(".", 1)
    setup = ("import numpy as np\nfrom numpy.lib.stride_tricks import sliding_window_view\n"
             + _solution(stem, function) + f"\nCHECK_ID, FUNCTION = {args.check!r}, {function}\n")
    base = {key: value for key, value in os.environ.items() if key != "AUTOGRADER_SHIPPED_EXPECTED"}
    base["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [base.get("PYTHONPATH")])])
    variants = {"before": base | {"AUTOGRADER_SHIPPED_EXPECTED": "0"}, "after": base}
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    for repeat in range(args.repeats):
        for name, env in variants.items():
            run = _run([setup, TIMED], env)
            if not run["passed"]:
                raise SystemExit(f"error: the reference solution of {args.check} did not pass ({name})")
            runs[name].append(run)
            print(f"{name:6} run {repeat + 1}: import {run['import_s']:.3f} s, first check() {run['first_s']:.3f} s, "
                  f"later {run['later_s']:.3f} s, torch loaded: {run['torch']}", flush=True)
    summary = {name: {key: round(statistics.median(run[key] for run in found), 4)
                      for key in ("import_s", "first_s", "later_s")} | {"torch_loaded": any(r["torch"] for r in found)}
               for name, found in runs.items()}
    ratio = summary["before"]["first_s"] / summary["after"]["first_s"]
    print(f"first check() in a fresh kernel: {summary['before']['first_s']:.3f} s before, "
          f"{summary['after']['first_s']:.3f} s after ({ratio:.1f}x faster; target under {TARGET_S} s)")
    print(json.dumps({"check": args.check, "repeats": args.repeats, "cpus": os.cpu_count(), **summary,
                      "ratio_first": round(ratio, 2), "target_first_s": TARGET_S,
                      "met": summary["after"]["first_s"] < TARGET_S and not summary["after"]["torch_loaded"]}))


if __name__ == "__main__":
    main()

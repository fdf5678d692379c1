"""Benchmark: the chapter's naive loops, its vectorised NumPy layer, and torch's conv2d, on the CPU.

    .venv/bin/python bench/conv.py [--quick] [--full-naive]

The two NumPy layers are not copied here: they are loaded from the chapter's single source,
``solutions/02-convolution.md``, by executing its setup cells and its solution cells (the
reference solutions of the exercises) into a namespace.

Method. Every timing is the median of several runs of ``time.perf_counter`` after warm-up calls
(the best run is kept in the JSON too); NumPy and torch are timed round-robin, so that a busy
machine slows both alike.
The main comparison is single-threaded on both sides (``torch.set_num_threads(1)``, and
OpenBLAS limited to one thread with threadpoolctl), in float64, the precision of the course and
of its reference. The same layers are also timed with the default number of threads and in
float32 (torch's default dtype), for context. The naive loops cost the same for every image, so
they are timed on a few images and the time is scaled up to the whole batch (the table says so).
All three implementations are checked against each other before anything is timed.

The last line printed is JSON with the timings (seconds), the ratios and the targets:
the vectorised NumPy layer within 2x of torch, and at least 100x faster than the loops
(syllabus shape, float64, one thread).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.book import sources
from autograder.kernel import exercises

STEM = "02-convolution"

# (name, N, C, H, W, F, K, stride, padding); the first is the syllabus's layer
SHAPES = [
    ("syllabus: 64 × 3×32×32, 16 filters 5×5", 64, 3, 32, 32, 16, 5, 1, 0),
    ("second layer: 32 × 16×32×32, 32 filters 3×3, padding 1", 32, 16, 32, 32, 32, 3, 1, 1),
]


def load_chapter(stem: str = STEM) -> dict:
    """Run the chapter source's setup cells and solution cells; return the namespace."""
    return exercises.run_exercises(stem, sources.read_source(sources.SOLUTIONS / f"{stem}.md"), f"{stem}.md")


@contextmanager
def threads(count: int | None):
    """Limit torch and NumPy's BLAS to ``count`` threads (None: leave the defaults)."""
    before = torch.get_num_threads()
    limiter = None
    if count is not None:
        torch.set_num_threads(count)
        try:
            from threadpoolctl import threadpool_limits
            limiter = threadpool_limits(limits=count, user_api="blas")  # torch's threads are set above
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            print("warning: threadpoolctl is missing; NumPy's BLAS may use several threads", file=sys.stderr)
    try:
        yield
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
        torch.set_num_threads(before)


def median_seconds(functions: dict, warmup: int = 2, min_repeats: int = 5, max_repeats: int = 50,
                   budget: float = 1.0) -> dict:
    """Median (and best) wall time of each function, measured round-robin.

    Warm-up calls first; then each round times every function once, so that whatever else the
    machine is doing slows all of them alike. As many rounds as fit in ``budget`` seconds.
    """
    for function in functions.values():
        for _ in range(warmup):
            function()
    start = time.perf_counter()
    for function in functions.values():
        function()
    first = time.perf_counter() - start
    repeats = int(min(max_repeats, max(min_repeats, budget / max(first, 1e-9))))
    times: dict = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(values), min(values)) for name, values in times.items()}


def measure(ns: dict, shape, dtype, thread_count: int | None, naive_images: int | None, quick: bool) -> dict:
    name, n, c, h, w, f, k, stride, padding = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((f, c, k, k)).astype(dtype)
    bias = rng.standard_normal(f).astype(dtype)
    xt, wt, bt = (torch.from_numpy(a) for a in (x, weight, bias))
    naive, fast = ns["conv_forward_naive"], ns["conv_forward_im2col"]

    def torch_conv(xt=xt):
        return F.conv2d(xt, wt, bt, stride=stride, padding=padding)

    rtol, atol = (1e-4, 1e-4) if dtype == np.float32 else (1e-9, 1e-9)
    expected = torch_conv().numpy()
    agree = bool(np.allclose(fast(x, weight, bias, stride, padding), expected, rtol=rtol, atol=atol))
    row = {"shape": name, "dtype": np.dtype(dtype).name, "threads": thread_count or torch.get_num_threads(),
           "threads_setting": "1" if thread_count == 1 else "default"}
    budget = 0.3 if quick else 2.0
    with threads(thread_count):
        timed = median_seconds({"numpy": lambda: fast(x, weight, bias, stride, padding), "torch": torch_conv},
                               budget=budget)
        for name, (median, best) in timed.items():
            row[f"{name}_s"], row[f"{name}_best_s"] = median, best
        if naive_images:
            part = x[:naive_images]
            agree &= bool(np.allclose(naive(part, weight, bias, stride, padding), expected[:naive_images],
                                      rtol=rtol, atol=atol))
            (median, best), = median_seconds({"naive": lambda: naive(part, weight, bias, stride, padding)},
                                             warmup=0, min_repeats=1 if quick else 3, max_repeats=3,
                                             budget=0).values()
            row["naive_s"], row["naive_best_s"] = median * n / naive_images, best * n / naive_images
            row["naive_images_timed"] = naive_images
    row["agree"] = agree
    row["numpy_over_torch"] = row["numpy_s"] / row["torch_s"]
    if "naive_s" in row:
        row["naive_over_numpy"] = row["naive_s"] / row["numpy_s"]
    return row


def table(rows: list[dict]) -> str:
    header = (f"{'layer':56s} {'dtype':8s} {'threads':>7s} {'naive':>11s} {'numpy':>10s} {'torch':>10s} "
              f"{'numpy/torch':>11s} {'naive/numpy':>11s}  agree")
    lines = [header]
    for row in rows:
        naive = (f"{row['naive_s']:9.3f} s" + ("*" if row["naive_images_timed"] < int(row["shape_n"]) else " ")
                 if "naive_s" in row else f"{'-':>11s}")
        ratio = f"{row['naive_over_numpy']:10.0f}x" if "naive_over_numpy" in row else f"{'-':>11s}"
        lines.append(f"{row['shape']:56s} {row['dtype']:8s} {row['threads']:>7d} {naive} "
                     f"{row['numpy_s'] * 1e3:7.2f} ms {row['torch_s'] * 1e3:7.2f} ms "
                     f"{row['numpy_over_torch']:10.2f}x {ratio}  {'yes' if row['agree'] else 'NO'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test)")
    parser.add_argument("--full-naive", action="store_true", help="time the loops on the whole batch")
    args = parser.parse_args(argv)

    ns = load_chapter()
    torch.manual_seed(0)
    default_threads = torch.get_num_threads()
    rows = []
    for index, shape in enumerate(SHAPES):
        n = shape[1]
        naive_images = n if args.full_naive else max(1, n // 8)
        for dtype in (np.float64, np.float32):
            for count in (1, None):
                timed_naive = naive_images if (dtype == np.float64 and count == 1) else None
                if args.quick and index > 0:
                    timed_naive = None
                row = measure(ns, shape, dtype, count, timed_naive, args.quick)
                row["shape_n"] = n
                rows.append(row)
                print(f"  measured {row['shape']}, {row['dtype']}, {row['threads_setting']} threads", flush=True)

    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores; "
          f"torch {torch.__version__} (default {default_threads} threads), numpy {np.__version__}")
    print(table(rows))
    print("* the naive loops were timed on N/8 images and scaled to the whole batch "
          "(their cost is the same for every image); --full-naive times all of them.")

    main_row = rows[0]  # syllabus shape, float64, one thread
    assert main_row["dtype"] == "float64" and main_row["threads"] == 1
    targets = {"numpy_within_2x_of_torch": main_row["numpy_over_torch"] <= 2.0,
               "numpy_100x_faster_than_naive": main_row["naive_over_numpy"] >= 100.0,
               "all_agree": all(row["agree"] for row in rows)}
    float32 = next(row for row in rows if row["shape"] == main_row["shape"] and row["dtype"] == "float32"
                   and row["threads"] == 1)
    print(f"targets (syllabus layer, float64, 1 thread): numpy/torch = {main_row['numpy_over_torch']:.2f} "
          f"(want <= 2), naive/numpy = {main_row['naive_over_numpy']:.0f} (want >= 100); "
          f"in float32 numpy/torch = {float32['numpy_over_torch']:.2f}")
    summary = {
        "shape": {"x": list(SHAPES[0][1:5]), "w": [SHAPES[0][5], SHAPES[0][2], SHAPES[0][6], SHAPES[0][6]],
                  "stride": SHAPES[0][7], "padding": SHAPES[0][8]},
        "dtype": "float64", "threads": 1,
        "naive_s": main_row["naive_s"], "naive_images_timed": main_row["naive_images_timed"],
        "numpy_s": main_row["numpy_s"], "torch_s": main_row["torch_s"],
        "numpy_over_torch": main_row["numpy_over_torch"], "naive_over_numpy": main_row["naive_over_numpy"],
        "float32_numpy_over_torch": float32["numpy_over_torch"],
        "targets": targets,
        "runs": [{key: value for key, value in row.items() if key != "shape_n"} for row in rows],
    }
    print(json.dumps(summary))
    return 0 if targets["all_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())

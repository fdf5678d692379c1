"""Benchmark: the course's CNN trained from scratch in NumPy and in PyTorch, side by side.

    .venv/bin/python bench/train.py [--device cpu|cuda] [--seeds N]

Both sides train the same architecture (``autograder.zoo``: conv 3×3 with 32 filters and
padding 1, ReLU, 2×2 max pooling, affine to 10 classes) on scikit-learn's handwritten digits,
with the same standardisation, the same 3:1 class-balanced split and the same one-pixel shift
augmentation, in one process:

- NumPy: the layers are the reference solutions of the chapters' exercises (conv forward from
  chapter 2, ReLU and max pooling from 4, affine from 6, every backward pass and the loss from 8),
  loaded from ``solutions/`` by ``autograder.exercises`` exactly as chapter 9 loads a student's
  own; SGD with momentum, 15 epochs, float64.
- PyTorch: ``zoo.DigitsCNN`` with autograd and Adam, 60 epochs, float32, on ``--device``
  (default: cuda when available, else the CPU).

Each side is timed with ``time.perf_counter`` around its whole training (data already in
memory, the per-epoch accuracy evaluation included); images per second counts training images
processed (epochs × training-set size). Both sides use one CPU thread. With ``--seeds N`` the
JSON reports the worst accuracy and the slowest time over the N seeds.
Targets on the CPU: NumPy at least 95 % test accuracy in under 60 s, PyTorch at least 98 % in
under 20 s. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["AUTOGRADER_EXERCISES"] = str(ROOT / "solutions")  # the reference solutions stand in for a student's

import numpy as np
import torch

from autograder.core.reference import get_device
from autograder.kernel import exercises, zoo

TARGETS = {"numpy": {"accuracy": 0.95, "seconds": 60.0}, "torch": {"accuracy": 0.98, "seconds": 20.0}}
EPOCHS = {"numpy": 15, "torch": 60}


def timed(side: str, train, n_train: int) -> dict:
    start = time.perf_counter()
    history = train()
    seconds = time.perf_counter() - start
    accuracy = history["test_acc"][-1]
    return {"test_accuracy": round(accuracy, 4), "seconds": round(seconds, 2),
            "images_per_second": round(EPOCHS[side] * n_train / seconds, 1),
            "meets_target": bool(accuracy >= TARGETS[side]["accuracy"] and seconds < TARGETS[side]["seconds"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", help="where PyTorch trains (default: cuda if available, else cpu)")
    parser.add_argument("--seeds", type=int, default=1, help="repeat with seeds 0..N-1 (default 1)")
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else get_device()
    torch.set_num_threads(1)

    layers = exercises.load(*zoo.NUMPY_LAYERS, names=[n for names in zoo.NUMPY_LAYERS.values() for n in names])
    x_train, y_train, x_test, y_test = zoo.digits_standardized(seed=0)
    runs = []
    for seed in range(args.seeds):
        numpy_side = timed("numpy", lambda seed=seed: zoo.train_numpy_cnn(
            layers, x_train, y_train, x_test, y_test, epochs=EPOCHS["numpy"], seed=seed)[1], len(x_train))
        torch_side = timed("torch", lambda seed=seed: zoo.train_torch_cnn(
            x_train, y_train, x_test, y_test, epochs=EPOCHS["torch"], seed=seed, device=device)[1], len(x_train))
        runs.append({"seed": seed, "numpy": numpy_side, "torch": torch_side})
        print(f"seed {seed}:  NumPy {numpy_side['test_accuracy']:.3f} in {numpy_side['seconds']:5.1f} s "
              f"({numpy_side['images_per_second']:6.0f} img/s)   PyTorch on {device}: {torch_side['test_accuracy']:.3f} "
              f"in {torch_side['seconds']:5.1f} s ({torch_side['images_per_second']:6.0f} img/s)", flush=True)

    def worst(side: str) -> dict:
        return {"test_accuracy": min(r[side]["test_accuracy"] for r in runs),
                "seconds": max(r[side]["seconds"] for r in runs),
                "images_per_second": min(r[side]["images_per_second"] for r in runs)}

    summary = {"benchmark": "train", "device": str(device), "cpu_count": os.cpu_count(),
               "machine": platform.machine(), "versions": {"torch": torch.__version__, "numpy": np.__version__},
               "train_images": len(x_train), "test_images": len(x_test), "epochs": EPOCHS, "runs": runs,
               "numpy": worst("numpy"), "torch": worst("torch"), "targets": TARGETS,
               "numpy_over_torch_seconds": round(worst("numpy")["seconds"] / worst("torch")["seconds"], 2),
               "meets_targets": all(r[side]["meets_target"] for r in runs for side in ("numpy", "torch"))}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

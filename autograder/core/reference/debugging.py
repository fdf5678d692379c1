"""Small training runs that go wrong in a known way, and the same runs with a fix applied.

Chapter 11's debugging exercise shows a student the report of a failing run (its training losses
and its gradient norms at the start) and asks for a fix; the check applies the chosen fix to the very
same run and measures whether the loss comes down. Everything is float64, CPU-sized (128
points of 4 Gaussian blobs, an MLP 32 units wide, 40 full-batch SGD steps: about a tenth of a
second), and seeded: one ``seed`` fixes the data, the initial weights, the learning rate
and any dropout mask.

Three kinds of failure, each cured by exactly one of the :data:`FIXES`. Measured when this was
written, on 30 seeds of each kind (50 for ``"slow"``): the cured runs end below 0.19 and every other
fix leaves the loss above 0.5, on either side of :data:`CURED_BELOW`, so that a check drawing new seeds
passes the cure and fails the rest:

- ``"diverging"``: a learning rate so large that the first steps overshoot, the loss jumps by
  orders of magnitude and the ReLUs die (the loss then sits at ln 4); cured by ``"lower_lr"``;
- ``"slow"``: a learning rate so small that the loss creeps down; cured by ``"higher_lr"``;
- ``"vanishing"``: six layers initialised with std 0.01, so that the signal and every gradient
  are about ten million times too small to learn from; cured by ``"he_init"``.

``"dropout"`` is in the menu too, and cures none of them (it fights overfitting, not these).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

from .fixes import FIXES

KINDS = ("diverging", "slow", "vanishing")
LR_FACTOR = 30.0  # what "lower_lr" divides the learning rate by, and "higher_lr" multiplies it by
STEPS = 40
CURED_BELOW = 0.3  # a run is cured when its last training loss is below this (ln 4 ≈ 1.39 is chance)


def _setup(kind: str, seed: int) -> dict:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    lr = {"diverging": rng.uniform(3.0, 6.0), "slow": rng.uniform(1e-3, 2.5e-3), "vanishing": rng.uniform(0.05, 0.2)}
    return {"depth": 6 if kind == "vanishing" else 3, "std": 0.01 if kind == "vanishing" else None,
            "lr": float(lr[kind]), "features": int(rng.integers(12, 21)), "data_seed": int(rng.integers(2**31))}


def _blobs(features: int, seed: int, n: int = 128, classes: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    draw = np.random.default_rng(seed)
    centres = 1.5 * draw.standard_normal((classes, features))
    labels = draw.integers(0, classes, n)
    points = centres[labels] + draw.standard_normal((n, features))
    return torch.tensor(points, dtype=torch.float64), torch.tensor(labels)


def training_run(kind: str, seed: int, fix: str | None = None) -> dict:
    """One run of the failing setup ``kind`` drawn from ``seed``, with ``fix`` (one of :data:`FIXES`) or none.

    Returns {"losses": (STEPS,) float64 training losses, one per step (NaN or inf once it blew up),
    "grad_norms": (L,) float64 norms of each layer's weight gradient at the first step, layer 1 (next
    to the input) first, "lr": the learning rate used}. It runs on one thread (these matrices are far
    too small to share out; several threads made it hundreds of times slower) and restores the
    number of threads afterwards.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(kind, seed, fix)
    finally:
        torch.set_num_threads(threads)


def _train(kind: str, seed: int, fix: str | None) -> dict:
    if fix is not None and fix not in FIXES:
        raise ValueError(f"fix must be one of {FIXES} or None, not {fix!r}")
    setup = _setup(kind, seed)
    x, y = _blobs(setup["features"], setup["data_seed"])
    generator = torch.Generator().manual_seed(setup["data_seed"])
    widths = [setup["features"]] + [32] * (setup["depth"] - 1) + [4]
    layers = []
    for fan_in, fan_out in itertools.pairwise(widths):
        std = np.sqrt(2.0 / fan_in) if setup["std"] is None or fix == "he_init" else setup["std"]
        weight = torch.randn(fan_in, fan_out, generator=generator, dtype=torch.float64) * std
        layers += [weight.requires_grad_(), torch.zeros(fan_out, dtype=torch.float64, requires_grad=True)]
    lr = setup["lr"] * {"lower_lr": 1 / LR_FACTOR, "higher_lr": LR_FACTOR}.get(fix, 1.0)
    losses, norms = [], None
    for _ in range(STEPS):
        h = x
        for i in range(0, len(layers), 2):
            h = h @ layers[i] + layers[i + 1]
            if i + 2 < len(layers):
                h = torch.relu(h)
                if fix == "dropout":
                    h = h * (torch.rand(h.shape, generator=generator, dtype=torch.float64) >= 0.5) * 2.0
        loss = F.cross_entropy(h, y)
        grads = torch.autograd.grad(loss, layers)
        if norms is None:
            norms = [float(g.norm()) for g in grads[::2]]
        losses.append(loss.item())
        with torch.no_grad():
            for param, grad in zip(layers, grads):
                param -= lr * grad
    return {"losses": np.array(losses), "grad_norms": np.array(norms), "lr": float(lr)}


def cures(kind: str, seed: int, fix: str) -> tuple[bool, dict]:
    """Whether ``fix`` cures run ``(kind, seed)`` (its last loss below :data:`CURED_BELOW`), and the run."""
    run = training_run(kind, seed, fix)
    last = run["losses"][-1]
    return bool(np.isfinite(last) and last < CURED_BELOW), run

"""Input generators that the checks of several chapters share.

Layouts are the course's: images and activations are NCHW (N, C, H, W), convolution weights
(F, C, KH, KW), logits (N, C) with integer labels of shape (N,).

Every generator draws from the ``rng`` it is given, in a fixed order. A check's cases, and so
the exact scores of the wrong-answer bank and the numbers in the book, depend on that sequence
of draws: changing what a generator draws, or in what order, changes all of them.
"""

from __future__ import annotations

import numpy as np

from .base import Case

# ---------------------------------------------------------------------- fixed inputs


def ramp(shape, dtype=np.float64) -> np.ndarray:
    """0, 1, 2, ... laid out in ``shape`` in C order: an input whose values are easy to follow."""
    return np.arange(int(np.prod(shape))).reshape(shape).astype(dtype)


# ---------------------------------------------------------------------- images


def pixels(rng: np.random.Generator, shape, low=0, high=256, dtype=np.uint8) -> np.ndarray:
    """Whole pixel values drawn uniformly from [low, high), stored as ``dtype``: a photo of any
    ``shape`` (HWC, NHWC, NCHW, ...). ``low`` and ``high`` may be arrays that broadcast to ``shape``
    (one range per channel, say)."""
    return rng.integers(low, high, size=shape).astype(dtype)


# ---------------------------------------------------------------------- convolutions


def conv_inputs(rng: np.random.Generator, n, c, h, w, f, kh, kw, bias: bool = True) -> tuple:
    """Standard-normal inputs of a convolution, drawn in this order: x (N, C, H, W), weights
    (F, C, KH, KW) and bias (F,).

    ``n=None`` makes x one image of shape (C, H, W); ``bias=False`` draws no bias and returns
    (x, weights) only.
    """
    x = rng.standard_normal((c, h, w) if n is None else (n, c, h, w))
    weights = rng.standard_normal((f, c, kh, kw))
    return (x, weights, rng.standard_normal(f)) if bias else (x, weights)


def window_length(rng: np.random.Generator, kernel: int, stride: int, windows=(2, 4), leftover=None) -> int:
    """An input length along which windows ``kernel`` wide, moved by ``stride``, fit between
    ``windows[0]`` and ``windows[1]`` times (both included; floor mode).

    ``leftover`` says what follows the last window:

    * ``None``: nothing; (length - kernel) is a multiple of ``stride``, so the windows tile the input;
    * ``"any"``: 0 to stride - 1 pixels that no window reaches;
    * ``"partial"``: 1 to stride - 1 such pixels, and more than stride - kernel, so that ceil mode
      adds a window that starts inside the input (as PyTorch's ``ceil_mode`` requires): floor and
      ceil modes always differ.
    """
    length = kernel + stride * int(rng.integers(windows[0] - 1, windows[1]))
    if leftover == "any":
        length += int(rng.integers(0, stride))
    elif leftover == "partial":
        length += int(rng.integers(max(1, stride - kernel + 1), stride))
    return length


# ---------------------------------------------------------------------- values away from kinks


def away_from_zero(rng: np.random.Generator, shape, low: float = 0.05, high: float = 3.0) -> np.ndarray:
    """Values with |v| in [low, high] and random signs: never on ReLU's kink at 0."""
    size = int(np.prod(shape))
    return (rng.uniform(low, high, size) * rng.choice([-1.0, 1.0], size)).reshape(shape)


def mixed_signs(rng: np.random.Generator, shape, high: float = 3.0) -> np.ndarray:
    """:func:`away_from_zero` values in [-high, -0.05] ∪ [0.05, high], with at least one value
    above 1 and one below -1 (for two or more elements), shuffled."""
    size = int(np.prod(shape))
    values = away_from_zero(rng, size, 0.05, high)
    if size >= 2:
        values[:2] = [rng.uniform(1.5, high), -rng.uniform(1.5, high)]
        values = rng.permutation(values)
    return values.reshape(shape)


def distinct(rng: np.random.Generator, shape, scale: float = 2.0) -> np.ndarray:
    """Values in about [-scale, scale], all different: a shuffled, evenly spaced grid plus a
    jitter smaller than the spacing. No pooling window can hold a tie for its maximum."""
    size = int(np.prod(shape))
    spacing = 2 * scale / size
    grid = -scale + spacing * rng.permutation(size)
    return (grid + rng.uniform(0, 0.4 * spacing, size)).reshape(shape)


# ---------------------------------------------------------------------- labels and logits


def class_labels(rng: np.random.Generator, n: int, classes: int, must_have=(), shuffle: bool = True) -> np.ndarray:
    """``n`` labels in [0, classes) with at least two different values (when n >= 2).

    The first labels drawn are replaced by ``must_have``; ``shuffle`` then puts all of them in a
    random order (one more draw), so that the forced labels are not always first.
    """
    labels = rng.integers(0, classes, size=n)
    for position, label in enumerate(must_have):
        labels[position] = label
    if n >= 2 and np.all(labels == labels[0]):
        labels[1] = (labels[0] + 1) % classes
    return rng.permutation(labels) if shuffle else labels


def logits_and_labels(rng: np.random.Generator, n: int, classes: int, scale: float = 2.0,
                      shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal logits (N, C) times ``scale``, then :func:`class_labels` (N,)."""
    return rng.standard_normal((n, classes)) * scale, class_labels(rng, n, classes, shuffle=shuffle)


def random_logits(rng: np.random.Generator, shuffle: bool = True) -> list[Case]:
    """Three batches of moderate logits: N from 2 to 16, 2 to 12 classes."""
    return [Case(logits_and_labels(rng, int(rng.integers(2, 17)), int(rng.integers(2, 13)), shuffle=shuffle))
            for _ in range(3)]


def one_example_logits(rng: np.random.Generator, shuffle: bool = True) -> list[Case]:
    """Two batches of one example (N = 1), 2 to 12 classes."""
    return [Case(logits_and_labels(rng, 1, int(rng.integers(2, 13)), shuffle=shuffle), note="one example (N = 1)")
            for _ in range(2)]


def logits_near_1000(rng: np.random.Generator, note: str, shuffle: bool = True) -> list[Case]:
    """Two batches whose rows each sit near +1000 or near -1000 as a whole (half of each, in a random
    order): differences within a row stay small, but exp overflows (or underflows) unless shifted."""
    cases = []
    for _ in range(2):
        n, classes = int(rng.integers(2, 7)), int(rng.integers(3, 11))
        logits, labels = logits_and_labels(rng, n, classes, scale=3.0, shuffle=shuffle)
        offsets = np.where(np.arange(n) % 2 == 0, 1000.0, -1000.0)[:, None]
        cases.append(Case((logits + rng.permutation(offsets), labels), note=note))
    return cases

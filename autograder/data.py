"""The course's data, all offline: scikit-learn's digits, and generated colour shapes.

- :func:`digits` — scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes),
  as NCHW float64 in [0, 1].
- :func:`colour_shapes` — a 32×32×3 dataset generated deterministically from a seed, shaped
  like the syllabus's input. Its six classes split into shapes made of **curves** and shapes
  made of **straight edges**, so curve and edge detectors have something real to learn:

  ====  ==========  ==========================================
  0     disc        a filled circle (curved boundary)
  1     ring        a circle outline (curves only)
  2     square      a filled axis-aligned square (straight edges)
  3     frame       a square outline (straight edges only)
  4     triangle    a filled triangle, apex up (diagonal + horizontal edges)
  5     cross       a plus sign (horizontal and vertical bars)
  ====  ==========  ==========================================

  Each image has a random dark background colour, one shape in a random bright colour at a
  random position and size, and Gaussian pixel noise.
"""

from __future__ import annotations

import numpy as np

SHAPE_CLASSES = ("disc", "ring", "square", "frame", "triangle", "cross")
DIGIT_CLASSES = tuple(str(d) for d in range(10))


def digits() -> tuple[np.ndarray, np.ndarray]:
    """x: (1797, 1, 8, 8) float64 in [0, 1]; y: (1797,) int64 labels 0-9."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0)[:, None].astype(np.float64), data.target.astype(np.int64)


def _mask(label: int, size: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    dist = np.hypot(yy - cy, xx - cx)
    box = np.maximum(np.abs(yy - cy), np.abs(xx - cx))
    if label == 0:
        return dist <= r
    if label == 1:
        return (dist <= r) & (dist >= r - 2.0)
    if label == 2:
        return box <= r
    if label == 3:
        return (box <= r) & (box >= r - 2.0)
    if label == 4:
        top = cy - r
        return (yy >= top) & (yy <= cy + r) & (np.abs(xx - cx) <= (yy - top) / 2.0 + 0.5)
    if label == 5:
        return ((np.abs(yy - cy) <= 1.5) & (np.abs(xx - cx) <= r)) | ((np.abs(xx - cx) <= 1.5) & (np.abs(yy - cy) <= r))
    raise ValueError(f"label must be in 0..{len(SHAPE_CLASSES) - 1}, got {label}")


def colour_shapes(n: int = 1200, seed: int = 0, size: int = 32, noise: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` images of coloured shapes, balanced over the six classes.

    Returns x: (n, 3, size, size) float64 in [0, 1] and y: (n,) int64 (see ``SHAPE_CLASSES``).
    The same ``seed`` always gives the same images.
    """
    if n < 1 or size < 16:
        raise ValueError(f"need n >= 1 and size >= 16, got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(SHAPE_CLASSES)
    rng.shuffle(labels)
    images = np.empty((n, 3, size, size))
    for i, label in enumerate(labels):
        r = rng.uniform(0.16, 0.28) * size
        cy, cx = rng.uniform(r + 1, size - r - 1, size=2)
        background = rng.uniform(0.0, 0.3, size=3)
        colour = rng.uniform(0.55, 1.0, size=3)
        colour[rng.integers(3)] *= rng.uniform(0.1, 0.5)  # vary the hue
        mask = _mask(int(label), size, cy, cx, r)
        image = np.where(mask[None], colour[:, None, None], background[:, None, None])
        images[i] = np.clip(image + rng.normal(0.0, noise, image.shape), 0.0, 1.0)
    return images, labels.astype(np.int64)


def split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.25, seed: int = 0):
    """A seeded, class-balanced train/test split: (x_train, y_train, x_test, y_test)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        test[members[: round(len(members) * test_fraction)]] = True
    return x[~test], y[~test], x[test], y[test]

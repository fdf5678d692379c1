"""The course's data, all offline: scikit-learn's digits, generated colour shapes, and CIFAR-10
read from a folder you provide (nothing is ever downloaded).

- :func:`digits` — scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes),
  as NCHW float64 in [0, 1].
- :func:`colour_shapes` — a 32×32×3 dataset generated deterministically from a seed, shaped
  like the source's input. Its six classes split into shapes made of **curves** and shapes
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
- :func:`cifar10` — the CIFAR-10 "python version" batch files (``data_batch_1`` … ``data_batch_5``,
  ``test_batch``, ``batches.meta``) from a local folder, as NCHW float64 in [0, 1].
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .errors import UserError

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
    rng = np.random.default_rng(seed=seed)
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
    rng = np.random.default_rng(seed=seed)
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        test[members[: round(len(members) * test_fraction)]] = True
    return x[~test], y[~test], x[test], y[test]


# ---------------------------------------------------------------------- CIFAR-10 from a local folder

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
_CIFAR10_HOW = ("get the 'CIFAR-10 python version' (cifar-10-python.tar.gz) from "
                "https://www.cs.toronto.edu/~kriz/cifar.html yourself, extract it, and pass the folder "
                "cifar-10-batches-py (the course never downloads data)")


class DataError(UserError, ValueError):
    """A dataset folder is missing, incomplete or not in the expected format."""


class _ArraysOnly(pickle.Unpickler):
    """Unpickle the CIFAR batch format and nothing else: plain containers and NumPy arrays.

    A pickle can run arbitrary code while it loads; this refuses every global except the few that
    rebuild a NumPy array, so a tampered batch file is an error, not an attack.
    """

    ALLOWED = frozenset({("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")})

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _cifar_folder(folder) -> Path:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"CIFAR-10 folder {folder} does not exist; {_CIFAR10_HOW}")
    if not (folder / "batches.meta").exists() and (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"  # the folder the archive extracts into
    missing = [name for name in ["batches.meta", *CIFAR10_FILES["train"], *CIFAR10_FILES["test"]]
               if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder} is not a CIFAR-10 python-version folder: missing {', '.join(missing)}; "
                        f"{_CIFAR10_HOW}")
    return folder


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as file:
            batch = _ArraysOnly(file, encoding="bytes").load()
    except Exception as error:
        raise DataError(f"{path} is not a readable CIFAR-10 batch ({type(error).__name__}: {error})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{path} is not a CIFAR-10 batch: expected a dict with keys b'data' and b'labels'")
    pixels, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3 * 32 * 32:
        raise DataError(f"{path}: b'data' should be uint8 of shape (N, 3072), got {pixels.dtype} {pixels.shape}")
    if labels.shape != (len(pixels),) or labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: b'labels' should hold {len(pixels)} labels in 0..9")
    # each row is 1024 red, then 1024 green, then 1024 blue values, row-major: already CHW
    return pixels.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def cifar10(folder, split: str = "train", limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images from the batch files in ``folder`` (or its ``cifar-10-batches-py``).

    ``split`` is "train" (50,000 images from data_batch_1..5) or "test" (10,000 from test_batch);
    ``limit`` keeps the first images only. Returns x: (N, 3, 32, 32) float64 in [0, 1] and
    y: (N,) int64 labels indexing ``CIFAR10_CLASSES``. Raises :class:`DataError`, saying what is
    wrong and what to do, when the folder is missing, incomplete or corrupt.
    """
    if split not in CIFAR10_FILES:
        raise DataError(f"split must be 'train' or 'test', got {split!r}")
    folder = _cifar_folder(folder)
    xs, ys, count = [], [], 0
    for name in CIFAR10_FILES[split]:
        x, y = _cifar_batch(folder / name)
        xs.append(x)
        ys.append(y)
        count += len(y)
        if limit is not None and count >= limit:
            break
    x, y = np.concatenate(xs)[:limit], np.concatenate(ys)[:limit]
    return x.astype(np.float64) / 255.0, y


def write_cifar10_fixture(folder, per_batch: int = 10, seed: int = 0) -> Path:
    """Write a tiny CIFAR-10 folder in the real format (random pixels), for tests and demos."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed=seed)
    meta = {b"label_names": [name.encode() for name in CIFAR10_CLASSES], b"num_cases_per_batch": per_batch,
            b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    for name in CIFAR10_FILES["train"] + CIFAR10_FILES["test"]:
        batch = {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, per_batch).tolist(),
                 b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"filenames": [f"{name}_{i}.png".encode() for i in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder

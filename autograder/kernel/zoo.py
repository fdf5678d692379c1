"""Small CNNs trained inside the book, deterministically, in seconds on a CPU.

Chapters that show what a *trained* network looks like (its first-layer filters, the activation
maps of deeper layers) train one of these on the course's own data when the page executes.

- :func:`train_shapes_cnn` — 5×5×3 filters on the 32×32×3 colour shapes (the source's input).
- :func:`train_digits_cnn` — the reference architecture on scikit-learn's 8×8 digits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ..core import data
from ..core.reference import DigitsCNN, ReferenceCNN, get_device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class ShapesCNN(nn.Module):
    """conv 5×5×3→8 → ReLU → maxpool 2 → conv 5×5×8→16 → ReLU → maxpool 2 → linear → 6 classes.

    Input (N, 3, 32, 32); conv1 gives (N, 8, 28, 28) activation maps, pool (N, 8, 14, 14),
    conv2 (N, 16, 10, 10), pool (N, 16, 5, 5), logits (N, 6).
    """

    def __init__(self, filters: int = 8, classes: int = len(data.SHAPE_CLASSES)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, filters, 5)
        self.conv2 = nn.Conv2d(filters, 16, 5)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 5 * 5, classes)

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate volume, by layer name (for activation-map figures)."""
        out = {"conv1": self.conv1(x)}
        out["relu1"] = torch.relu(out["conv1"])
        out["pool1"] = self.pool(out["relu1"])
        out["conv2"] = self.conv2(out["pool1"])
        out["relu2"] = torch.relu(out["conv2"])
        out["pool2"] = self.pool(out["relu2"])
        out["logits"] = self.fc(out["pool2"].flatten(1))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)["logits"]


@dataclass
class Trained:
    model: nn.Module
    train_accuracy: float
    test_accuracy: float
    losses: list[float] = field(default_factory=list)
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


def _fit(model: nn.Module, x: np.ndarray, y: np.ndarray, x_test, y_test, epochs: int, lr: float, seed: int,
         batch: int = 64, weight_decay: float = 0.0) -> Trained:
    device = get_device()
    dtype = next(model.parameters()).dtype
    model.to(device)
    xt = torch.as_tensor(x, dtype=dtype, device=device)
    yt = torch.as_tensor(y, device=device)
    optimizer = (torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay) if weight_decay
                 else torch.optim.Adam(model.parameters(), lr=lr))
    generator = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=generator).to(device)
        for start in range(0, len(xt), batch):
            index = order[start:start + batch]
            loss = nn.functional.cross_entropy(model(xt[index]), yt[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
    model.eval()
    return Trained(model, accuracy(model, x, y), accuracy(model, x_test, y_test), losses, x_test, y_test)


@torch.no_grad()
def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    parameter = next(model.parameters())
    logits = model(torch.as_tensor(x, dtype=parameter.dtype, device=parameter.device))
    return float((logits.argmax(1).cpu().numpy() == y).mean())


@lru_cache(maxsize=2)
def train_shapes_cnn(seed: int = 0, n: int = 1800, epochs: int = 12, weight_decay: float = 0.0) -> Trained:
    """Train :class:`ShapesCNN` on generated colour shapes (float32; ~10 s on 2 CPU cores).

    With ``weight_decay`` > 0 the optimizer is AdamW: every step also shrinks each weight by
    ``lr * weight_decay`` of itself, so what the data does not ask for fades away.
    """
    seed_everything(seed)
    x, y = data.colour_shapes(n, seed=seed)
    x_train, y_train, x_test, y_test = data.split(x, y, seed=seed)
    return _fit(ShapesCNN(), x_train, y_train, x_test, y_test, epochs, lr=3e-3, seed=seed,
                weight_decay=weight_decay)


@lru_cache(maxsize=2)
def train_digits_cnn(seed: int = 0, epochs: int = 20) -> Trained:
    """Train the reference architecture on the digits (float64; a few seconds on a CPU)."""
    seed_everything(seed)
    x, y = data.digits()
    x_train, y_train, x_test, y_test = data.split(x, y, seed=seed)
    model = ReferenceCNN(in_channels=1, num_classes=10, image_size=8, seed=seed)
    return _fit(model, x_train, y_train, x_test, y_test, epochs, lr=3e-3, seed=seed)


# ---------------------------------------------------------------------- the digits CNN, twice
#
# Chapter 9 trains one architecture two ways: in NumPy, from the layers the student wrote in
# chapters 2-8 (loaded with `autograder.exercises.load`), and in PyTorch. bench/train.py runs both.
#
#   input (N, 1, 8, 8) -> conv 3×3, F filters, padding 1 -> (N, F, 8, 8) -> ReLU
#   -> max pool 2×2 -> (N, F, 4, 4) -> flatten (N, 16F) -> affine -> (N, 10) scores

DIGITS_FILTERS = 32
NUMPY_LAYERS = {  # the exercise functions the NumPy CNN is made of, by chapter
    "02-convolution": ["conv_forward_im2col"],
    "04-nonlinearity-and-pooling": ["relu_forward", "max_pool_forward"],
    "06-fully-connected-and-softmax": ["affine_forward"],
    "08-backpropagation": ["softmax_cross_entropy_backward", "affine_backward", "max_pool_backward",
                           "relu_backward", "conv_backward"],
}


def digits_standardized(seed: int = 0) -> tuple[np.ndarray, ...]:
    """The digits split 3:1 and standardized with the training mean and std: x (N, 1, 8, 8), y (N,)."""
    x, y = data.digits()
    x_train, y_train, x_test, y_test = data.split(x, y, test_fraction=0.25, seed=seed)
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def random_shifts(x: np.ndarray, rng: np.random.Generator, pixels: int = 1) -> np.ndarray:
    """Data augmentation: every image of (N, C, H, W) moved by up to ``pixels`` in each direction."""
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pixels, pixels), (pixels, pixels)), mode="edge")
    dy, dx = rng.integers(0, 2 * pixels + 1, (2, n))
    rows = dy[:, None] + np.arange(h)  # (N, H)
    cols = dx[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None, None], np.arange(x.shape[1])[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def init_numpy_cnn(seed: int = 0, filters: int = DIGITS_FILTERS) -> dict[str, np.ndarray]:
    """He-initialised weights (standard normal × sqrt(2 / fan_in)), zero biases.

    The last layer starts 10× smaller, so the untrained network's scores are close to equal and its
    loss close to ln 10, the loss of guessing.
    """
    rng = np.random.default_rng(seed=seed)
    return {"conv_w": rng.standard_normal((filters, 1, 3, 3)) * np.sqrt(2 / 9),
            "conv_b": np.zeros(filters),
            "fc_w": rng.standard_normal((filters * 16, 10)) * np.sqrt(2 / (filters * 16)) * 0.1,
            "fc_b": np.zeros(10)}


def numpy_cnn_scores(layers, params: dict, x: np.ndarray) -> np.ndarray:
    """Class scores (N, 10) of images x (N, 1, 8, 8)."""
    conv = layers.conv_forward_im2col(x, params["conv_w"], params["conv_b"], stride=1, padding=1)
    pooled = layers.max_pool_forward(layers.relu_forward(conv), 2)
    return layers.affine_forward(pooled, params["fc_w"], params["fc_b"])


def numpy_cnn_loss_and_grads(layers, params: dict, x: np.ndarray, labels: np.ndarray) -> tuple[float, dict]:
    """Forward pass, loss, backward pass: (mean loss, grads) with grads[k] shaped like params[k]."""
    conv = layers.conv_forward_im2col(x, params["conv_w"], params["conv_b"], stride=1, padding=1)
    relu = layers.relu_forward(conv)
    pooled = layers.max_pool_forward(relu, 2)
    scores = layers.affine_forward(pooled, params["fc_w"], params["fc_b"])
    loss, dscores = layers.softmax_cross_entropy_backward(scores, labels)
    grads = {}
    dpooled, grads["fc_w"], grads["fc_b"] = layers.affine_backward(dscores, pooled, params["fc_w"], params["fc_b"])
    drelu = layers.max_pool_backward(dpooled.reshape(pooled.shape), relu, 2)
    dconv = layers.relu_backward(drelu, conv)
    _, grads["conv_w"], grads["conv_b"] = layers.conv_backward(dconv, x, params["conv_w"], params["conv_b"],
                                                               stride=1, padding=1)
    return float(loss), grads


def _float_sizes(values) -> list[int]:
    return [value.dtype.itemsize for value in values if isinstance(value, np.ndarray) and value.dtype.kind == "f"]


class _Recording:
    """The layers of :func:`numpy_cnn_loss_and_grads`, noting which return floats narrower than the
    floats they were given (a layer handed float32 and returning float32 only passes it on)."""

    def __init__(self, layers):
        self.layers, self.dtypes = layers, {}

    def __getattr__(self, name):
        function = getattr(self.layers, name)

        def call(*args, **kwargs):
            value = function(*args, **kwargs)
            given = max(_float_sizes([*args, *kwargs.values()]), default=8)
            for item in value if isinstance(value, tuple) else (value,):
                if _float_sizes([item]) and item.dtype.itemsize < min(given, 8):
                    self.dtypes.setdefault(name, str(item.dtype))
            return value
        return call


def low_precision_layers(layers, params: dict, x: np.ndarray, labels: np.ndarray) -> dict[str, str]:
    """The layers that lower the precision below float64, by name, with the dtype they return.

    Such a layer can be right (the checks accept float32), but a gradient check by centred
    differences with h = 1e-5 needs float64: float32 keeps about 7 digits of the loss, so
    (L(w + h) - L(w - h)) / 2h keeps about 2 of them, and backprop and the estimate disagree.
    """
    recording = _Recording(layers)
    numpy_cnn_loss_and_grads(recording, params, x, labels)
    return recording.dtypes


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's shuffled mini-batches of indices 0..n-1 (the last one may be shorter)."""
    return np.array_split(rng.permutation(n), range(batch_size, n, batch_size))


def train_numpy_cnn(layers, x_train, y_train, x_test, y_test, epochs: int = 15, batch_size: int = 32,
                    lr: float = 0.02, momentum: float = 0.9, seed: int = 0, progress=None) -> tuple[dict, dict]:
    """SGD with momentum on the NumPy CNN; the learning rate drops 5× for the last quarter of epochs.

    Returns (params, history) with history["loss"] per step and ["train_acc"], ["test_acc"] per epoch.
    """
    rng = np.random.default_rng(seed=seed)
    params = init_numpy_cnn(seed)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    history = {"loss": [], "train_acc": [], "test_acc": []}
    for epoch in (progress or iter)(range(epochs)):
        step = lr if epoch < epochs - max(1, epochs // 4) else lr / 5
        shifted = random_shifts(x_train, rng)
        for batch in minibatches(len(x_train), batch_size, rng):
            loss, grads = numpy_cnn_loss_and_grads(layers, params, shifted[batch], y_train[batch])
            velocity = {k: momentum * velocity[k] - step * grads[k] for k in params}
            params = {k: params[k] + velocity[k] for k in params}
            history["loss"].append(loss)
        for name, xs, ys in (("train_acc", x_train, y_train), ("test_acc", x_test, y_test)):
            history[name].append(float((numpy_cnn_scores(layers, params, xs).argmax(1) == ys).mean()))
    return params, history


def train_torch_cnn(x_train, y_train, x_test, y_test, epochs: int = 60, batch_size: int = 32, lr: float = 5e-3,
                    seed: int = 0, device=None, progress=None) -> tuple[nn.Module, dict]:
    """Adam with a cosine learning-rate schedule, the same augmentation as the NumPy run."""
    seed_everything(seed)
    rng = np.random.default_rng(seed=seed)
    device = device or get_device()
    model = DigitsCNN(DIGITS_FILTERS).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    ys = torch.as_tensor(y_train, device=device)
    history = {"loss": [], "train_acc": [], "test_acc": []}
    for _ in (progress or iter)(range(epochs)):
        model.train()
        xs = torch.as_tensor(random_shifts(x_train, rng), dtype=torch.float32, device=device)
        for batch in minibatches(len(xs), batch_size, rng):
            index = torch.as_tensor(batch, device=device)
            loss = nn.functional.cross_entropy(model(xs[index]), ys[index])  # forward + loss
            optimizer.zero_grad()
            loss.backward()  # backward: autograd fills every parameter's .grad
            optimizer.step()  # update
            history["loss"].append(loss.item())
        schedule.step()
        model.eval()
        history["train_acc"].append(accuracy(model, x_train.astype(np.float32), y_train))
        history["test_acc"].append(accuracy(model, x_test.astype(np.float32), y_test))
    return model, history

"""Small CNNs trained inside the book, deterministically, in seconds on a CPU.

Chapters that show what a *trained* network looks like (its first-layer filters, the activation
maps of deeper layers) train one of these on the course's own data when the page executes.

- :func:`train_shapes_cnn` — 5×5×3 filters on the 32×32×3 colour shapes (the syllabus's input).
- :func:`train_digits_cnn` — the reference architecture on scikit-learn's 8×8 digits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from . import data
from .reference import ReferenceCNN, get_device


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
         batch: int = 64) -> Trained:
    device = get_device()
    dtype = next(model.parameters()).dtype
    model.to(device)
    xt = torch.as_tensor(x, dtype=dtype, device=device)
    yt = torch.as_tensor(y, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
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
def train_shapes_cnn(seed: int = 0, n: int = 1800, epochs: int = 12) -> Trained:
    """Train :class:`ShapesCNN` on generated colour shapes (float32; ~10 s on 2 CPU cores)."""
    seed_everything(seed)
    x, y = data.colour_shapes(n, seed=seed)
    x_train, y_train, x_test, y_test = data.split(x, y, seed=seed)
    return _fit(ShapesCNN(), x_train, y_train, x_test, y_test, epochs, lr=3e-3, seed=seed)


@lru_cache(maxsize=2)
def train_digits_cnn(seed: int = 0, epochs: int = 20) -> Trained:
    """Train the reference architecture on the digits (float64; a few seconds on a CPU)."""
    seed_everything(seed)
    x, y = data.digits()
    x_train, y_train, x_test, y_test = data.split(x, y, seed=seed)
    model = ReferenceCNN(in_channels=1, num_classes=10, image_size=8, seed=seed)
    return _fit(model, x_train, y_train, x_test, y_test, epochs, lr=3e-3, seed=seed)

"""The course's reference CNN, as a torch module and as plain numpy parameters.

Architecture (S = image_size, K = num_classes)::

    x: (N, C, S, S)
    conv 3x3, C -> 8, padding 1   -> (N, 8, S, S)        conv1_w: (8, C, 3, 3),  conv1_b: (8,)
    ReLU, maxpool 2               -> (N, 8, S/2, S/2)
    conv 3x3, 8 -> 16, padding 1  -> (N, 16, S/2, S/2)   conv2_w: (16, 8, 3, 3), conv2_b: (16,)
    ReLU, maxpool 2               -> (N, 16, S/4, S/4)
    flatten                       -> (N, D), D = 16 * (S // 4)**2
    linear                        -> (N, K) logits       fc_w: (D, K),           fc_b: (K,)

(S/2 and S/4 round down.) ``fc_w`` is stored in the course's (D, M) layout,
``logits = h @ fc_w + fc_b``; the module's nn.Linear holds its transpose.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import ops
from .device import DTYPE, ArrayLike, get_device, to_numpy, to_tensor

PARAM_NAMES = ("conv1_w", "conv1_b", "conv2_w", "conv2_b", "fc_w", "fc_b")


def _flat_dim(image_size: int) -> int:
    if image_size < 4:
        raise ValueError(
            f"image_size must be at least 4 (two 2x2 poolings), got {image_size}."
        )
    return 16 * (image_size // 4) ** 2


def init_params(
    seed: int = 0, in_channels: int = 1, num_classes: int = 10, image_size: int = 8
) -> dict[str, np.ndarray]:
    """He-initialised float64 parameters (zero biases), deterministic in ``seed``.

    Returns conv1_w (8, C, 3, 3), conv1_b (8,), conv2_w (16, 8, 3, 3), conv2_b (16,),
    fc_w (D, num_classes), fc_b (num_classes,), with D = 16 * (image_size // 4)**2.
    """
    rng = np.random.default_rng(seed=seed)
    d = _flat_dim(image_size)

    def he(*shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)

    return {
        "conv1_w": he(8, in_channels, 3, 3),
        "conv1_b": np.zeros(8),
        "conv2_w": he(16, 8, 3, 3),
        "conv2_b": np.zeros(16),
        "fc_w": he(d, num_classes),
        "fc_b": np.zeros(num_classes),
    }


def reference_forward(params: dict[str, ArrayLike], x: ArrayLike) -> np.ndarray:
    """Run the reference architecture with plain arrays (e.g. a student's parameters).

    params: the names and shapes of ``init_params``; x: (N, C, S, S) -> logits (N, K).
    """
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(
            f"params is missing {missing}; expected keys {list(PARAM_NAMES)}."
        )
    h = ops.conv2d(x, params["conv1_w"], params["conv1_b"], padding=1)
    h = ops.max_pool2d(ops.relu(h), 2)
    h = ops.conv2d(h, params["conv2_w"], params["conv2_b"], padding=1)
    h = ops.max_pool2d(ops.relu(h), 2)
    return ops.linear(ops.flatten(h), params["fc_w"], params["fc_b"])


class ReferenceCNN(nn.Module):
    """The reference architecture as a float64 torch module on ``get_device(device)``.

    Construction is deterministic in ``seed`` (weights come from ``init_params``)
    and leaves torch's global random state untouched.
    forward: x (N, in_channels, image_size, image_size) -> logits (N, num_classes).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 8,
        seed: int = 0,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.image_size = image_size
        # The layers' default init would consume torch's global RNG; fork it.
        with torch.random.fork_rng(devices=[]):
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, 8, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(8, 16, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
            )
            self.fc = nn.Linear(_flat_dim(image_size), num_classes)
        self.to(device=get_device(device), dtype=DTYPE)
        self.load_params(init_params(seed, in_channels, num_classes, image_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))

    def _layers(self) -> dict[str, nn.Conv2d | nn.Linear]:
        return {"conv1": self.features[0], "conv2": self.features[3], "fc": self.fc}

    def get_params(self) -> dict[str, np.ndarray]:
        """Copy the weights out as numpy arrays in ``init_params`` layout (fc_w is (D, M))."""
        params = {}
        for name, layer in self._layers().items():
            w = to_numpy(layer.weight)
            params[f"{name}_w"] = w.T.copy() if name == "fc" else w
            params[f"{name}_b"] = to_numpy(layer.bias)
        return params

    @torch.no_grad()
    def load_params(self, params: dict[str, ArrayLike]) -> None:
        """Overwrite the weights from arrays in ``init_params`` layout (fc_w is (D, M))."""
        for name, layer in self._layers().items():
            w = to_tensor(params[f"{name}_w"], device=layer.weight.device)
            w = w.T if name == "fc" else w
            b = to_tensor(params[f"{name}_b"], device=layer.bias.device)
            if w.shape != layer.weight.shape or b.shape != layer.bias.shape:
                expected = layer.weight.T.shape if name == "fc" else layer.weight.shape
                raise ValueError(
                    f"{name}_w/{name}_b have shapes {np.shape(params[f'{name}_w'])}/"
                    f"{tuple(b.shape)}, expected {tuple(expected)}/{tuple(layer.bias.shape)}."
                )
            layer.weight.copy_(w)
            layer.bias.copy_(b)


class DigitsCNN(nn.Module):
    """Chapter 9's small CNN, in PyTorch (the one the chapter's PyTorch exercises are graded against).

    conv 3×3, ``filters`` channels, padding 1 (``conv``) → ReLU → max pool 2 → flatten → linear to 10
    (``fc``): x (N, 1, 8, 8) → (N, filters, 8, 8) → (N, filters, 4, 4) → (N, 16·filters) → logits (N, 10).
    Its parameters are ``conv.weight`` (filters, 1, 3, 3), ``conv.bias`` (filters,), ``fc.weight``
    (10, 16·filters) and ``fc.bias`` (10,); torch's default dtype (float32) and initialisation.
    """

    def __init__(self, filters: int = 32):
        super().__init__()
        self.conv = nn.Conv2d(1, filters, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(filters * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))

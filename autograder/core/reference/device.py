"""Where and in what precision the reference computes.

All reference computations run in float64 (``DTYPE``) on the device returned by
``get_device()``. The device is chosen, in order, by

1. the ``override`` argument of ``get_device``,
2. the environment variable ``AUTOGRADER_DEVICE``,
3. ``"auto"``: ``cuda`` when available, else ``cpu``.

Accepted values: ``auto``, ``cpu``, ``cuda``, ``cuda:N``.
"""

from __future__ import annotations

import os
import re

import numpy as np
import numpy.typing as npt
import torch

from ..errors import UserError

DTYPE = torch.float64
ENV_VAR = "AUTOGRADER_DEVICE"

ArrayLike = npt.ArrayLike | torch.Tensor

_CHOICES = "'auto', 'cpu', 'cuda' or 'cuda:N'"


class DeviceError(UserError, ValueError):
    """The device asked for does not exist here; the message says what to use instead."""


def get_device(override: str | torch.device | None = None) -> torch.device:
    """Return the torch device the reference computes on.

    Raises DeviceError (a ValueError; one line: what is wrong, what to do) for an unknown value
    or when CUDA is requested but not available.
    """
    if override is not None:
        value, source = str(override), "device override"
    else:
        value, source = (
            os.environ.get(ENV_VAR, "auto"),
            f"{ENV_VAR} environment variable",
        )
    choice = value.strip().lower()

    if choice in ("", "auto"):
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cpu":
        return torch.device("cpu")
    if not re.fullmatch(r"cuda(:\d+)?", choice):
        raise DeviceError(
            f"{source} is {value!r}, which is not a device; use {_CHOICES}."
        )
    if not torch.cuda.is_available():
        raise DeviceError(
            f"{source} asks for {value!r} but CUDA is not available on this machine; "
            f"use 'cpu' or 'auto' (e.g. export {ENV_VAR}=cpu)."
        )
    device = torch.device(choice)
    if device.index is None:  # name the index, so it equals a tensor's .device
        return torch.device("cuda", torch.cuda.current_device())
    if device.index >= torch.cuda.device_count():
        raise DeviceError(
            f"{source} asks for {value!r} but only {torch.cuda.device_count()} CUDA "
            f"device(s) exist; use 'cuda:0'..'cuda:{torch.cuda.device_count() - 1}' or 'auto'."
        )
    return device


def to_tensor(
    a: ArrayLike, requires_grad: bool = False, device: torch.device | None = None
) -> torch.Tensor:
    """Copy a numpy array, scalar or tensor into a fresh float64 tensor on the device."""
    device = get_device() if device is None else device
    if isinstance(a, torch.Tensor):
        t = a.detach().to(device=device, dtype=DTYPE, copy=True)
    else:  # a fresh C-ordered copy, wrapped without another (torch.tensor takes several times longer)
        t = torch.from_numpy(np.array(a, dtype=np.float64, order="C", copy=True)).to(device)
    return t.requires_grad_(requires_grad)


def to_index_tensor(
    labels: ArrayLike, device: torch.device | None = None
) -> torch.Tensor:
    """Copy integer class labels into an int64 tensor on the device.

    Floats are accepted only if they hold whole numbers (e.g. ``[2.0, 0.0]``).
    """
    device = get_device() if device is None else device
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    arr = np.asarray(labels)
    whole_floats = np.issubdtype(arr.dtype, np.floating) and np.all(
        arr == np.round(arr)
    )
    if not (np.issubdtype(arr.dtype, np.integer) or whole_floats):
        raise ValueError(
            f"labels must be integer class indices, got dtype {arr.dtype}; "
            "pass e.g. labels.astype(np.int64)."
        )
    return torch.tensor(arr.astype(np.int64), device=device)


def to_numpy(t: ArrayLike) -> np.ndarray:
    """Return a detached float64 numpy array on the CPU."""
    if isinstance(t, torch.Tensor):
        return t.detach().to(device="cpu", dtype=DTYPE).numpy()
    return np.asarray(t, dtype=np.float64)

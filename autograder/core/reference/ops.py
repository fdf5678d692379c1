"""Reference forward ops: numpy in, numpy float64 out.

Every op copies its inputs to float64 tensors on ``get_device()``, computes with
torch, and returns a float64 numpy array (or a Python int for
``conv_output_size``). Layout conventions:

* images are NCHW: ``x: (N, C, H, W)``;
* conv weights are PyTorch's ``w: (F, C, KH, KW)``;
* linear weights are the course's ``w: (D, M)`` with ``y = x @ w + b``
  (CS231n style, the transpose of torch.nn.Linear's ``(M, D)``).

Spatial output size of conv/pool/im2col along each axis::

    H' = (H + 2*padding - KH) // stride + 1

The private kernels ``_linear``, ``_mse_loss`` and ``_cross_entropy`` hold the
course conventions; grads.py differentiates these same kernels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .device import ArrayLike, to_index_tensor, to_numpy, to_tensor
from .sizes import conv_output_size  # noqa: F401 (its home now: torch-free, for drawing cases)

IntPair = int | tuple[int, int]
REDUCTIONS = ("mean", "sum", "none")


def _pair(v: IntPair, name: str) -> tuple[int, int]:
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) for p in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}.")
    return int(pair[0]), int(pair[1])


def _check_nchw(x: torch.Tensor, op: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op} expects x of shape (N, C, H, W), got {tuple(x.shape)}.")


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}.")


# ----------------------------------------------------------------------------- convolution


def conv2d(
    x: ArrayLike,
    w: ArrayLike,
    b: ArrayLike | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
) -> np.ndarray:
    """2-D cross-correlation, exactly like ``torch.nn.functional.conv2d``.

    x: (N, C, H, W), w: (F, C, KH, KW), b: (F,) or None -> out: (N, F, H', W')
    with ``H' = (H + 2*padding - KH) // stride + 1`` (same for W'). ``stride`` and
    ``padding`` are an int or an ``(along H, along W)`` pair; padding is zeros.
    The kernel is not flipped: ``out[n, f, i, j] = b[f] +
    sum_{c,p,q} xpad[n, c, i*sh + p, j*sw + q] * w[f, c, p, q]``.
    """
    xt = to_tensor(x)
    _check_nchw(xt, "conv2d")
    bt = None if b is None else to_tensor(b)
    out = F.conv2d(
        xt,
        to_tensor(w),
        bt,
        stride=_pair(stride, "stride"),
        padding=_pair(padding, "padding"),
    )
    return to_numpy(out)


def im2col(
    x: ArrayLike, kh: int, kw: int, stride: IntPair = 1, padding: IntPair = 0
) -> np.ndarray:
    """Unfold sliding windows into columns, same order as ``torch.nn.functional.unfold``.

    x: (N, C, H, W) -> cols: (N, C*KH*KW, H'*W'), ``H' = (H + 2*padding - KH) // stride + 1``.
    Row index is ``c*KH*KW + p*KW + q`` (channel, then kernel row, then kernel
    column); column index is ``i*W' + j`` (windows in row-major order). Hence
    ``conv2d(x, w, b)`` equals ``(w.reshape(F, -1) @ cols + b[:, None]).reshape(N, F, H', W')``.
    """
    xt = to_tensor(x)
    _check_nchw(xt, "im2col")
    cols = F.unfold(
        xt, (kh, kw), stride=_pair(stride, "stride"), padding=_pair(padding, "padding")
    )
    return to_numpy(cols)


# ----------------------------------------------------------------------------- activations


def relu(x: ArrayLike) -> np.ndarray:
    """Elementwise ``max(x, 0)``. x: any shape -> same shape."""
    return to_numpy(torch.relu(to_tensor(x)))


def sigmoid(x: ArrayLike) -> np.ndarray:
    """Elementwise ``1 / (1 + exp(-x))``. x: any shape -> same shape."""
    return to_numpy(torch.sigmoid(to_tensor(x)))


def tanh(x: ArrayLike) -> np.ndarray:
    """Elementwise hyperbolic tangent. x: any shape -> same shape."""
    return to_numpy(torch.tanh(to_tensor(x)))


# ----------------------------------------------------------------------------- pooling


def pool_window(kernel_size: IntPair, stride: IntPair | None, padding: IntPair) -> tuple[tuple[int, int], ...]:
    """(kernel, stride, padding) as pairs, for torch's pooling; ``stride`` defaults to ``kernel_size``."""
    kernel = _pair(kernel_size, "kernel_size")
    return kernel, kernel if stride is None else _pair(stride, "stride"), _pair(padding, "padding")


def _pool(op, x: ArrayLike, kernel_size: IntPair, stride: IntPair | None, padding: IntPair) -> np.ndarray:
    xt = to_tensor(x)
    _check_nchw(xt, op.__name__)
    return to_numpy(op(xt, *pool_window(kernel_size, stride, padding)))


def max_pool2d(x: ArrayLike, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> np.ndarray:
    """Max over each window, like ``torch.nn.functional.max_pool2d`` (floor mode).

    x: (N, C, H, W) -> out: (N, C, H', W'), ``H' = (H + 2*padding - KH) // stride + 1``.
    ``stride`` defaults to ``kernel_size``. Padding counts as -inf (never the max);
    torch requires ``padding <= kernel_size / 2``.
    """
    return _pool(F.max_pool2d, x, kernel_size, stride, padding)


def avg_pool2d(x: ArrayLike, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> np.ndarray:
    """Mean over each window, like ``torch.nn.functional.avg_pool2d`` (floor mode).

    x: (N, C, H, W) -> out: (N, C, H', W'), ``H' = (H + 2*padding - KH) // stride + 1``.
    ``stride`` defaults to ``kernel_size``. Padding counts as zeros *in the mean*
    (torch's default ``count_include_pad=True``): every window divides by KH*KW.
    """
    return _pool(F.avg_pool2d, x, kernel_size, stride, padding)


# ----------------------------------------------------------------------------- dense layers


def flatten(x: ArrayLike) -> np.ndarray:
    """Keep the batch axis, flatten the rest in C order. x: (N, ...) -> (N, prod(rest))."""
    return to_numpy(torch.flatten(to_tensor(x), start_dim=1))


def _linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if x.ndim != 2 or w.ndim != 2 or w.shape[0] != x.shape[1]:
        raise ValueError(
            f"linear expects x: (N, D), w: (D, M) with y = x @ w + b; got x {tuple(x.shape)}, "
            f"w {tuple(w.shape)}. A torch-style (M, D) weight must be passed transposed."
        )
    return x @ w + b


def linear(x: ArrayLike, w: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Affine layer in the course convention ``y = x @ w + b``.

    x: (N, D), w: (D, M), b: (M,) -> y: (N, M).
    Note: w is (D, M) (CS231n style), the transpose of torch.nn.Linear.weight (M, D).
    """
    return to_numpy(_linear(to_tensor(x), to_tensor(w), to_tensor(b)))


# ----------------------------------------------------------------------------- softmax and losses


def softmax(x: ArrayLike, axis: int = 1) -> np.ndarray:
    """Numerically stable ``exp(x) / sum(exp(x), axis)``. x: any shape -> same shape.

    Default ``axis=1`` treats x: (N, K) as N rows of K class scores.
    """
    return to_numpy(torch.softmax(to_tensor(x), dim=axis))


def log_softmax(x: ArrayLike, axis: int = 1) -> np.ndarray:
    """Numerically stable ``x - logsumexp(x, axis)``. x: any shape -> same shape."""
    return to_numpy(torch.log_softmax(to_tensor(x), dim=axis))


def _mse_loss(
    pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    _check_reduction(reduction)
    if pred.shape != target.shape or pred.ndim == 0:
        raise ValueError(
            f"mse_loss needs pred and target of the same shape (N, ...), got "
            f"{tuple(pred.shape)} and {tuple(target.shape)}; reshape one of them (no broadcasting)."
        )
    per_example = 0.5 * ((target - pred) ** 2).reshape(pred.shape[0], -1).sum(dim=1)
    if reduction == "none":
        return per_example
    return per_example.sum() if reduction == "sum" else per_example.mean()


def mse_loss(pred: ArrayLike, target: ArrayLike, reduction: str = "mean") -> np.ndarray:
    """Squared error with the course's 1/2 convention, averaged over the batch.

    pred, target: (N, ...) of equal shape; axis 0 is always the batch axis.
    Per example ``L_n = 1/2 * sum_over_rest (target[n] - pred[n])**2``, then

    * ``"mean"`` (default) -> scalar ``(1/N) * sum_n L_n``;
    * ``"sum"``  -> scalar ``sum_n L_n``;
    * ``"none"`` -> (N,) array of ``L_n``.

    Not torch's MSELoss (no 1/2, divides by every element). Example: one example
    pred (1, 4) = [[.1, .1, .1, .1]], target [[0, 0, 0, 1]] -> 0.42; the same
    numbers as shape (4,) are four 1-value examples -> 0.105.
    """
    return to_numpy(_mse_loss(to_tensor(pred), to_tensor(target), reduction))


def _cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    _check_reduction(reduction)
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"cross_entropy_loss expects logits (N, K) and integer labels (N,), got "
            f"{tuple(logits.shape)} and {tuple(labels.shape)}."
        )
    return F.cross_entropy(logits, labels, reduction=reduction)


def cross_entropy_loss(
    logits: ArrayLike, labels: ArrayLike, reduction: str = "mean"
) -> np.ndarray:
    """Softmax cross-entropy from raw scores and integer labels.

    logits: (N, K), labels: (N,) ints in [0, K).
    Per example ``L_n = -log softmax(logits[n])[labels[n]] = logsumexp(logits[n]) - logits[n, labels[n]]``;
    ``"mean"`` (default) -> scalar average over N, ``"sum"`` -> scalar, ``"none"`` -> (N,).
    """
    return to_numpy(
        _cross_entropy(to_tensor(logits), to_index_tensor(labels), reduction)
    )


def one_hot(labels: ArrayLike, num_classes: int) -> np.ndarray:
    """labels: (N,) ints in [0, num_classes) -> float64 (N, num_classes) of 0/1."""
    return to_numpy(F.one_hot(to_index_tensor(labels), num_classes))

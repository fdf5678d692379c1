"""Reference gradients, computed by autograd (never by hand-written formulas).

numpy in, numpy float64 out. Each ``*_backward`` runs the forward op of ops.py on
float64 tensors and asks autograd for the vector-Jacobian product with the
upstream gradient ``dout`` (which has the shape of the op's output).
Where the derivative is not unique, these are torch's choices:
``relu'(0) = 0``, and a tie in a max-pool window sends the gradient to one
element only (the first maximum).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .device import ArrayLike, to_index_tensor, to_numpy, to_tensor
from .ops import IntPair, _cross_entropy, _linear, _mse_loss, _pair, pool_window


def _value_and_vjp(
    fn: Callable[..., torch.Tensor], inputs: Sequence[ArrayLike], dout: ArrayLike
) -> tuple[torch.Tensor, tuple[np.ndarray, ...]]:
    xs = [to_tensor(a, requires_grad=True) for a in inputs]
    out = fn(*xs)
    dout_t = to_tensor(dout)
    if dout_t.shape != out.shape:
        raise ValueError(
            f"dout has shape {tuple(dout_t.shape)} but the op's output has shape "
            f"{tuple(out.shape)}; they must match."
        )
    grads = torch.autograd.grad(out, xs, grad_outputs=dout_t, allow_unused=True)
    # An input the output does not depend on has gradient zero.
    return out, tuple(
        np.zeros(tuple(x.shape)) if g is None else to_numpy(g)
        for x, g in zip(xs, grads)
    )


def vjp(
    fn: Callable[..., torch.Tensor], inputs: Sequence[ArrayLike], dout: ArrayLike
) -> tuple[np.ndarray, ...]:
    """Vector-Jacobian product by autograd.

    fn: torch function of ``len(inputs)`` float tensors, output of shape S.
    inputs: arrays, each becomes a float64 leaf tensor; dout: (S).
    Returns one gradient per input, ``d sum(fn(*inputs) * dout) / d input``,
    each with that input's shape. Non-differentiable arguments (labels, stride)
    belong in ``fn``'s closure, not in ``inputs``.
    """
    return _value_and_vjp(fn, inputs, dout)[1]


def conv2d_backward(
    dout: ArrayLike,
    x: ArrayLike,
    w: ArrayLike,
    b: ArrayLike | None,
    stride: IntPair = 1,
    padding: IntPair = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of ``conv2d``.

    dout: (N, F, H', W'), x: (N, C, H, W), w: (F, C, KH, KW), b: (F,) or None
    -> dx: (N, C, H, W), dw: (F, C, KH, KW), db: (F,) (None when b is None).
    """
    sp = {"stride": _pair(stride, "stride"), "padding": _pair(padding, "padding")}
    if b is None:
        dx, dw = vjp(lambda x, w: F.conv2d(x, w, None, **sp), (x, w), dout)
        return dx, dw, None
    dx, dw, db = vjp(lambda x, w, b: F.conv2d(x, w, b, **sp), (x, w, b), dout)
    return dx, dw, db  # like x, w and b


def relu_backward(dout: ArrayLike, x: ArrayLike) -> np.ndarray:
    """Gradient of ``relu``. dout, x: same shape -> dx: that shape (``dout * (x > 0)``)."""
    return vjp(torch.relu, (x,), dout)[0]


def max_pool2d_backward(dout: ArrayLike, x: ArrayLike, kernel_size: IntPair, stride: IntPair | None = None,
                        padding: IntPair = 0) -> np.ndarray:
    """Gradient of ``max_pool2d``. dout: (N, C, H', W'), x: (N, C, H, W) -> dx: (N, C, H, W).

    Each window's upstream gradient goes to the position of its maximum.
    """
    window = pool_window(kernel_size, stride, padding)
    return vjp(lambda x: F.max_pool2d(x, *window), (x,), dout)[0]


def avg_pool2d_backward(dout: ArrayLike, x: ArrayLike, kernel_size: IntPair, stride: IntPair | None = None,
                        padding: IntPair = 0) -> np.ndarray:
    """Gradient of ``avg_pool2d``. dout: (N, C, H', W'), x: (N, C, H, W) -> dx: (N, C, H, W).

    Each window spreads ``dout / (KH*KW)`` over its (unpadded) positions.
    """
    window = pool_window(kernel_size, stride, padding)
    return vjp(lambda x: F.avg_pool2d(x, *window), (x,), dout)[0]


def linear_backward(
    dout: ArrayLike, x: ArrayLike, w: ArrayLike, b: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``linear`` (``y = x @ w + b``).

    dout: (N, M), x: (N, D), w: (D, M), b: (M,) -> dx: (N, D), dw: (D, M), db: (M,).
    """
    dx, dw, db = vjp(_linear, (x, w, b), dout)
    return dx, dw, db  # like x, w and b


def softmax_cross_entropy_backward(
    logits: ArrayLike, labels: ArrayLike
) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient.

    logits: (N, K), labels: (N,) ints -> (loss: float, dlogits: (N, K)),
    where loss is ``cross_entropy_loss(logits, labels)`` (mean over N), so
    ``dlogits = (softmax(logits) - one_hot(labels)) / N``.
    """
    idx = to_index_tensor(labels)
    loss, (dlogits,) = _value_and_vjp(lambda z: _cross_entropy(z, idx), (logits,), 1.0)
    return loss.item(), dlogits


def mse_backward(pred: ArrayLike, target: ArrayLike) -> tuple[float, np.ndarray]:
    """Mean ½-squared-error loss and its gradient with respect to ``pred``.

    pred, target: (N, ...) -> (loss: float, dpred: (N, ...)), where loss is
    ``mse_loss(pred, target)`` (mean over N of ½·sum of squares), so
    ``dpred = (pred - target) / N``.
    """
    t = to_tensor(target)
    loss, (dpred,) = _value_and_vjp(lambda p: _mse_loss(p, t), (pred,), 1.0)
    return loss.item(), dpred

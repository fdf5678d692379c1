"""Checks for chapter 8, Backpropagation.

Over 500 lines: six backward passes, each with its own cases and library of mistakes.

Six exercises, each the backward pass of a layer the book built earlier. Every one takes the
upstream gradient ``dout`` and the *forward inputs* explicitly (what CS231n keeps in a cache):

- ``affine_backward(dout, x, w, b) -> (dx, dw, db)`` for ``y = x.reshape(N, -1) @ w + b``;
- ``relu_backward(dout, x) -> dx``;
- ``max_pool_backward(dout, x, kernel_size, stride=None) -> dx``;
- ``avg_pool_backward(dout, x, kernel_size, stride=None) -> dx``;
- ``conv_backward(dout, x, w, b, stride=1, padding=0) -> (dx, dw, db)``;
- ``softmax_cross_entropy_backward(logits, labels) -> (loss, dlogits)``, mean over the batch.

The references are autograd's vector-Jacobian products (:mod:`autograder.reference.grads`),
never hand-written formulas, all in float64.

Where a derivative is not unique (ReLU at 0, a tie for the maximum of a pooling window) finite
differences cannot decide, so the random groups keep away from the kinks: their ReLU inputs stay
at least 0.05 away from 0, and their pooling inputs are distinct values (a random permutation of
evenly spaced numbers), so that every window has exactly one maximum. The kinks are graded in
groups of their own, where the docstring's convention decides: ``relu_backward``'s visible group
holds x exactly 0 (+0.0 and -0.0) and a hidden edge group tests x == 0 (dx is 0 there), and
``max_pool_backward`` has a visible and a hidden group of ties (the first maximum in row-major
order gets dout).

Groups are built so that each named mistake passes or fails a group whatever the seed:

* every random batch has N >= 2, affine layers have D != M, and every ``dout`` entry is
  nonzero (|dout| >= 0.25);
* ReLU cases always contain an element with x > 0 > dout and one with x < 0 < dout, so a
  mask taken from dout instead of x always shows;
* the overlapping-window pooling groups (stride < kernel_size) plant each plane's largest
  value where the first two windows overlap, so a max routed with ``=`` instead of ``+=``
  always loses a gradient; the "tiling" groups leave stride at its default (= kernel_size)
  and the "wide stride" groups use stride > kernel_size, so windows never overlap there;
* conv stride groups use stride 2 or 3 with at least two window positions per axis, padding
  groups use padding 1 or 2, and the "stride 1, no padding" group uses neither;
* softmax groups: the visible group and the "large logits" group hold rows near ±1000 (an
  unshifted softmax overflows to NaN there), the "one example" group has N = 1 (so a missing
  1/N cannot show there) and every other group has N >= 2.
"""

from __future__ import annotations

import numpy as np

from .. import reference as ref
from ..reference import functional as F
from .base import FORBIDDEN, IMAGE_LIBRARIES, SOFTMAX_LIBRARIES, Case, Check, Diagnosis, Group, Mistake, NotApplicable
from .cases import (
    away_from_zero,
    conv_inputs,
    distinct,
    logits_near_1000,
    one_example_logits,
    ramp,
    random_logits,
    window_length,
)
from .ch07_loss import UNDERFLOW  # the same mistake as chapter 7's loss: the same name and explanation

STEM = "08-backpropagation"


# ---------------------------------------------------------------------- shared helpers


def upstream(rng: np.random.Generator, shape) -> np.ndarray:
    """An upstream gradient with no zero entries (|dout| in [0.25, 2])."""
    return away_from_zero(rng, shape, 0.25, 2.0)


# ---------------------------------------------------------------------- affine_backward


def _affine_reference(dout, x, w, b):
    x = np.asarray(x, dtype=float)
    dx, dw, db = ref.linear_backward(dout, x.reshape(len(x), -1), w, b)
    return dx.reshape(x.shape), dw, db


def _affine_case(rng, x_shape, m, note="") -> Case:
    x = rng.standard_normal(x_shape)
    d = int(np.prod(x_shape[1:]))
    return Case((upstream(rng, (x_shape[0], m)), x, rng.standard_normal((d, m)), rng.standard_normal(m)),
                note=note)


def _m_not(rng, d, low=2, high=7) -> int:
    m = int(rng.integers(low, high))
    return m + 1 if m == d else m


def _affine_visible(rng) -> list[Case]:
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
    b = np.array([0.5, -0.5])
    dout = np.array([[1.0, -1.0], [2.0, 0.5]])
    return [Case((dout, x, w, b), note="chapter 6's example layer: 2 examples, D = 3, M = 2"),
            _affine_case(rng, (4, 5), 3, "a random batch: N = 4, D = 5, M = 3"),
            _affine_case(rng, (2, 3, 2, 2), 4, "two (3, 2, 2) volumes, as in the gradient check below: "
                                               "dx has the shape of x")]


def _affine_random(rng) -> list[Case]:
    cases = []
    for _ in range(3):
        d = int(rng.integers(2, 9))
        cases.append(_affine_case(rng, (int(rng.integers(2, 9)), d), _m_not(rng, d)))
    return cases


def _affine_volume(rng) -> list[Case]:
    cases = []
    for _ in range(2):
        shape = (int(rng.integers(2, 5)), int(rng.integers(2, 4)), int(rng.integers(2, 4)), int(rng.integers(2, 4)))
        cases.append(_affine_case(rng, shape, int(rng.integers(2, 6)),
                                  "x is a volume (N, C, H, W): dx must have that shape too"))
    return cases


def _affine_single(rng) -> list[Case]:
    d = int(rng.integers(2, 9))
    return [_affine_case(rng, (1, d), _m_not(rng, d), "one example (N = 1)")]


def _affine_with(dx=None, dw=None, db=None):
    """The reference gradients with some of them replaced by a mistake's version."""
    def wrong(dout, x, w, b):
        x2 = np.asarray(x).reshape(len(x), -1)
        right = _affine_reference(dout, x, w, b)
        return (right[0] if dx is None else dx(dout, x2, w, x),
                right[1] if dw is None else dw(dout, x2, w),
                right[2] if db is None else db(dout))
    return wrong


AFFINE = Check(
    id=f"{STEM}.affine_backward",
    params=("dout", "x", "w", "b"),
    reference=_affine_reference,
    groups=[
        Group("chapter 6's 2×3 example, a small random batch, a batch of volumes", _affine_visible,
              visible=True),
        Group("random batches (N 2 to 8, D != M)", _affine_random, weight=2.0),
        Group("a volume as input: x of shape (N, C, H, W)", _affine_volume),
        Group("one example (N = 1)", _affine_single),
    ],
    mistakes=[
        Mistake("db not summed over the batch", "db has one entry per output, shape (M,), but yours has shape "
                "(N, M): it is dout itself. The bias is added to every example, so its gradient collects all of "
                "them: a sum over the batch axis.", _affine_with(db=lambda dout: dout.copy())),
        Mistake("db summed over the wrong axis", "your sum adds up the outputs of each example. The bias "
                "gradient sums over the *batch* axis (the first), leaving one value per output, shape (M,).",
                _affine_with(db=lambda dout: dout.sum(axis=1))),
        Mistake("db averaged over the batch, not summed", "you divided by N. A layer's backward pass does not "
                "average: every example's gradient adds up (any 1/N belongs to the loss, whose dout already "
                "carries it). Look for a division or a mean in your bias gradient.", _affine_with(db=lambda dout: dout.mean(axis=0))),
        Mistake("dw transposed", "your dw has shape (M, D). dw must have the shape of w, (D, M): each weight "
                "pairs one input feature (a row) with one output (a column). Look at the order of the two "
                "factors of your product.",
                _affine_with(dw=lambda dout, x2, w: dout.T @ x2)),
        Mistake("dw reshaped instead of transposed", "your dw has the shape of w but its numbers are in the "
                "wrong places: an (M, D) product was reshaped to (D, M). A reshape keeps the order of the "
                "numbers in memory; a transpose swaps rows and columns. Compare where dw[d, m] comes from.",
                _affine_with(dw=lambda dout, x2, w: (dout.T @ x2).reshape(w.shape))),
        Mistake("dw averaged over the batch (divided by N)", "dw is N times too small. Each example adds its own "
                "x[n]ᵀ·dout[n] and nothing is averaged in a layer's backward pass: look for a division or a mean "
                "in your weight gradient.",
                _affine_with(dw=lambda dout, x2, w: x2.T @ dout / len(x2))),
        Mistake("dx summed over the wrong axis", "dx[n, d] = sum over m of dout[n, m] · w[d, m]: the sum runs "
                "over the outputs m (the last axis of both), and dx has shape (N, D). Yours summed over d and "
                "has shape (N, M): look at which axis your product runs over.",
                _affine_with(dx=lambda dout, x2, w, x: (dout[:, None, :] * w[None]).sum(axis=1))),
        Mistake("dx not reshaped to the shape of x", "x came in as a volume (N, C, H, W) and the layer flattened "
                "it, so dx must be unflattened again: give dx back the shape x came in with before returning it.",
                _affine_with(dx=lambda dout, x2, w, x: dout @ w.T)),
        Mistake("w not transposed in dx", "dout (N, M) and w (D, M) share the output axis M, and dx sums over "
                "exactly that axis: each input feature d collects dout[n, m] · w[d, m] over the outputs m. Look "
                "at the layout of w in your product.",
                _affine_with(dx=lambda dout, x2, w, x: (dout @ w).reshape(x.shape))),
        Mistake("w reshaped instead of transposed in dx", "dx has the right shape but its numbers are mixed up: "
                "w was reshaped from (D, M) to (M, D) before the product. A reshape keeps the order of the "
                "numbers in memory; a transpose swaps rows and columns. Look at how w is turned round in your dx.",
                _affine_with(dx=lambda dout, x2, w, x: (dout @ w.reshape(w.shape[1], w.shape[0])).reshape(x.shape))),
    ],
    summary="dx = dout·wᵀ in the shape of x, dw = x_flatᵀ·dout, db = dout summed over the batch",
)


# ---------------------------------------------------------------------- relu_backward


def _relu_case(rng, shape, note="") -> Case:
    """x and dout away from 0, with at least one x > 0 > dout and one x < 0 < dout."""
    x, dout = away_from_zero(rng, shape).ravel(), upstream(rng, shape).ravel()
    if x.size >= 2:
        x[:2] = np.abs(x[:2]) * [1, -1]
        dout[:2] = np.abs(dout[:2]) * [-1, 1]
        order = rng.permutation(x.size)
        x, dout = x[order], dout[order]
    return Case((dout.reshape(shape), x.reshape(shape)), note=note)


def _relu_visible(rng) -> list[Case]:
    x = np.array([[-2.0, -0.5, 0.5, 2.0], [1.0, -1.0, 3.0, -3.0]])
    dout = np.array([[1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, -3.0, -4.0]])
    return [Case((dout, x), note="a 2×4 example: dx = dout where x > 0, and 0 elsewhere"),
            _relu_case(rng, (2, 3, 4, 5), "a random NCHW batch"),
            Case((np.array([2.0, 3.0, 4.0, 5.0, -1.0]), np.array([0.0, -0.0, 1.5, -1.5, 0.0])),
                 note="x exactly 0 (+0.0 and -0.0): dx is 0 there, as the docstring says")]


def _relu_zeros(rng) -> list[Case]:
    """Random batches in which about a third of x is exactly +0.0 or -0.0, under a nonzero dout."""
    cases = []
    for shape in ((int(rng.integers(2, 5)), int(rng.integers(1, 4)), 3, 4), (int(rng.integers(5, 20)),)):
        dout, x = _relu_case(rng, shape).args
        zero = rng.random(shape) < 0.35
        zero.flat[0] = True
        x = np.where(zero, rng.choice([0.0, -0.0], size=shape), x)
        cases.append(Case((dout, x), note="x exactly 0 in about a third of the entries"))
    return cases


def _relu_batches(rng) -> list[Case]:
    return [_relu_case(rng, tuple(int(v) for v in rng.integers(2, 6, size=4))) for _ in range(3)]


def _relu_shapes(rng) -> list[Case]:
    return [_relu_case(rng, (int(rng.integers(3, 20)),), "a vector"),
            _relu_case(rng, (int(rng.integers(2, 6)), int(rng.integers(2, 11))), "a matrix (N, D)"),
            _relu_case(rng, (2, 2, 3, 2, 2), "a 5-D array")]


RELU = Check(
    id=f"{STEM}.relu_backward",
    params=("dout", "x"),
    reference=lambda dout, x: ref.relu_backward(dout, x),
    groups=[
        Group("a hand-worked 2×4 example and a random NCHW batch", _relu_visible, visible=True),
        Group("random NCHW batches (x never exactly 0)", _relu_batches, weight=2.0),
        Group("other shapes: a vector, a matrix, a 5-D array", _relu_shapes),
        Group("edge case: x exactly 0, where dx is 0", _relu_zeros),
    ],
    mistakes=[
        Mistake("dout passed through unchanged", "ReLU's gate is closed where x <= 0: there the output does "
                "not move when x moves, so the gradient is 0. Multiply dout by the mask of x: dout * (x > 0).",
                lambda dout, x: np.array(dout, dtype=np.float64)),
        Mistake("mask taken from dout instead of x", "which entries pass is decided by the forward input x, not "
                "by the sign of the upstream gradient. Look at which array your mask is built from.",
                lambda dout, x: np.maximum(dout, 0.0)),
        Mistake("multiplied by the ReLU output instead of its slope", "your gradient is scaled by the activation "
                "itself. ReLU's local derivative is 1 where x > 0 and 0 elsewhere: the mask is the slope, not "
                "the ReLU's output.",
                lambda dout, x: dout * np.maximum(x, 0.0)),
        Mistake("returned the mask without dout", "(x > 0) is only ReLU's local derivative. The chain rule "
                "multiplies it with the upstream gradient: return dout * (x > 0).",
                lambda dout, x: (np.asarray(x) > 0).astype(np.float64)),
        Mistake("leaky slope where x < 0", "a plain ReLU has slope 0, not 0.01, for negative inputs. Look at the "
                "value your gradient gets where x is negative.", lambda dout, x: dout * np.where(np.asarray(x) > 0, 1.0, 0.01)),
        Mistake("mask inverted", "the gradient flows where x > 0 (the open gate), and is 0 where x < 0; "
                "yours is the other way round.", lambda dout, x: dout * (np.asarray(x) < 0)),
        Mistake("gradient passed at x = 0", "at exactly x = 0 ReLU has no slope, and the docstring fixes "
                "dx = 0 there (PyTorch's choice): the gate opens only where x is strictly greater than 0. "
                "Look at the comparison that builds your mask.", lambda dout, x: dout * (np.asarray(x) >= 0)),
    ],
    summary="dout where x > 0, and 0 where x <= 0 (0 at x = 0 too)",
)


# ---------------------------------------------------------------------- pooling


def _pool_case(rng, n, c, h, w, k, stride=None, note="", shared_max=False) -> Case:
    """A pooling case with distinct inputs and a nonzero dout of the right shape.

    With ``shared_max``, every plane's largest value is moved to row 0, column ``stride``: a
    spot inside both window (0, 0) and window (0, 1) when stride < k.
    """
    s = stride if stride is not None else k
    x = distinct(rng, (n, c, h, w))
    if shared_max:
        planes = x.reshape(n * c, h * w)
        top = np.argmax(planes, axis=1)
        target = s  # flat index of (row 0, column s)
        for plane, index in zip(planes, top):
            plane[[index, target]] = plane[[target, index]]
    dout = upstream(rng, (n, c, ref.conv_output_size(h, k, s), ref.conv_output_size(w, k, s)))
    kwargs = {} if stride is None else {"stride": stride}
    return Case((dout, x, k), kwargs, note)


def _nc(rng) -> tuple[int, int]:
    return int(rng.integers(2, 4)), int(rng.integers(2, 4))


def _pool_visible(rng) -> list[Case]:
    x = np.array([[1.0, -3.0, 2.0, 0.5],
                  [-4.0, -2.0, 5.0, 1.5],
                  [7.0, -1.0, -6.0, -8.0],
                  [3.0, 2.5, -5.0, -7.0]])[None, None]
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])[None, None]
    return [Case((dout, x, 2), {"stride": 2}, "a hand-worked 4×4 grid, 2×2 windows, stride 2"),
            _pool_case(rng, 2, 3, 5, 7, 3, stride=2, note="overlapping 3×3 windows, stride 2",
                       shared_max=True),
            _pool_case(rng, 2, 4, 8, 8, 2, note="2×2 windows, stride left out (it defaults to "
                 "kernel_size), on (2, 4, 8, 8): as chapter 9's network calls it")]


def _pool_cases(count, kernel_and_stride, leftover=None, note="", default_stride=False, shared_max=False):
    """``count`` cases: ``kernel_and_stride(rng)`` draws (k, s), then 2 or 3 windows fit along each
    axis (see :func:`window_length`), then N and C. ``default_stride`` leaves stride out (s = k)."""
    def make(rng) -> list[Case]:
        cases = []
        for _ in range(count):
            k, s = kernel_and_stride(rng)
            h, w = (window_length(rng, k, s, (2, 3), leftover) for _ in range(2))
            cases.append(_pool_case(rng, *_nc(rng), h, w, k, None if default_stride else s, note, shared_max))
        return cases
    return make


def _tiling(rng) -> tuple[int, int]:
    k = int(rng.integers(2, 4))
    return k, k


def _overlapping(rng) -> tuple[int, int]:
    k = int(rng.integers(3, 5))
    return k, int(rng.integers(2, k))  # 2 <= stride < k


def _pool_groups() -> list[Group]:
    return [
        Group("a hand-worked 4×4 grid, overlapping 3×3 windows, and 2×2 windows with stride left out",
              _pool_visible, visible=True),
        Group("random shapes, windows that tile the input (default stride)",
              _pool_cases(3, _tiling, "any", "stride left at its default (= kernel_size)", default_stride=True)),
        Group("overlapping windows (2 <= stride < kernel_size)",
              _pool_cases(3, _overlapping, note="windows overlap; one input is the maximum of two windows",
                          shared_max=True)),
        Group("stride larger than the window (2×2 windows, stride 3 or 4)",
              _pool_cases(2, lambda rng: (2, int(rng.integers(3, 5))), "any", "stride larger than the window")),
    ]


def _pool_loop(dout, x, k, stride=None, *, route="max", step=None, assign=False, transpose=False, tie="first"):
    """A plain-loop pooling backward with switches for the classic mistakes.

    route: "max" (to the argmax), "avg" (dout / k²), "copy" (dout to every element), "avg_k"
    (dout / k); step: how far the window moves (default: the stride); assign: ``=`` instead of
    ``+=``; transpose: the argmax's row and column swapped inside the window; tie: which of the
    entries that tie for a window's maximum gets dout ("first" in row-major order, "last", "all").
    """
    s = stride if stride is not None else k
    step = s if step is None else step
    n, c, ho, wo = dout.shape
    dx = np.zeros(np.shape(x))
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * step, i * step + k), slice(j * step, j * step + k)
            window = x[:, :, rows, cols]
            if window.shape[2:] != (k, k):
                raise ValueError("window outside the input")
            g = dout[:, :, i, j][:, :, None, None]
            if route == "max" and tie == "all":
                part = (window == window.max(axis=(2, 3), keepdims=True)) * g
            elif route == "max":
                flat = window.reshape(n, c, k * k)
                flat = flat.argmax(axis=2) if tie == "first" else k * k - 1 - flat[:, :, ::-1].argmax(axis=2)
                r, q = np.divmod(flat, k)
                if transpose:
                    r, q = q, r
                part = np.zeros_like(window)
                np.put_along_axis(part.reshape(n, c, k * k), (r * k + q)[:, :, None], g.reshape(n, c, 1), axis=2)
            else:
                part = np.broadcast_to(g / {"avg": k * k, "copy": 1, "avg_k": k}[route], window.shape)
            if assign:
                target = dx[:, :, rows, cols]
                touched = part != 0 if route == "max" else np.ones(part.shape, bool)
                target[touched] = part[touched]
            else:
                dx[:, :, rows, cols] += part
    return dx


def _looped(**switches):
    """A mistake's model: :func:`_pool_loop` with ``switches``."""
    return lambda dout, x, k, stride=None: _pool_loop(dout, x, k, stride, **switches)


def _stride_left_none(dout, x, k, stride=None, *, route):
    """Windows placed at i * stride with no default for stride: a TypeError whenever stride is None."""
    if stride is None:
        raise TypeError("unsupported operand type(s) for *: 'int' and 'NoneType'")
    return _pool_loop(dout, x, k, stride, route=route)


def _last_windows_skipped(dout, x, k, stride=None, *, route):
    """Loops that stop one window early along both axes (range(out_h - 1), range(out_w - 1)): the last
    row and column of windows send no gradient."""
    dout = np.array(dout, dtype=np.float64)
    dout[:, :, -1, :] = 0.0
    dout[:, :, :, -1] = 0.0
    return _pool_loop(dout, x, k, stride, route=route)


OFF_BY_ONE_LOOPS = ("your gradient is right everywhere except under the last row and the last column of "
                    "windows, which sent nothing back: the loops over the output positions stop one step early. "
                    "There are H' = ⌊(H − k) / stride⌋ + 1 window positions along H (and the same along W); "
                    "look at the bounds of your loops.")


def _pool_mistakes(kind: str) -> list[Mistake]:
    route = "max" if kind == "max" else "avg"
    return [
        Mistake("stride ignored (windows moved by kernel_size)", "your gradient is what windows that move by "
                "kernel_size give, whatever stride was passed. Window (i, j) starts at row i*stride and column "
                "j*stride; stride only defaults to kernel_size when it is None.",
                lambda dout, x, k, stride=None: _pool_loop(dout, x, k, stride, route=route, step=k)),
        Mistake("stride ignored (windows moved by one pixel)", "window (i, j) starts at row i*stride and "
                "column j*stride, not at (i, j). (With stride=None, stride = kernel_size.)",
                _looped(route=route, step=1)),
        Mistake("overlapping windows not accumulated (= instead of +=)", "when windows overlap (stride < "
                "kernel_size), an input can receive gradient from several windows, and the contributions add up. "
                "Yours keeps only the last one: add each window's share to what dx already holds instead of "
                "overwriting it.",
                _looped(route=route, assign=True)),
        Mistake("stride=None not replaced by kernel_size", "stride defaults to None, which means 'the same as "
                "kernel_size' (as in PyTorch). Give stride its value at the start of the function, before any "
                "window is placed.",
                lambda dout, x, k, stride=None: _stride_left_none(dout, x, k, stride, route=route)),
        Mistake("off-by-one loop bounds (last windows skipped)", OFF_BY_ONE_LOOPS,
                lambda dout, x, k, stride=None: _last_windows_skipped(dout, x, k, stride, route=route)),
    ]


def _pool_ties_visible(rng) -> list[Case]:
    x = np.array([[1.0, 3.0, 0.0, 0.0],
                  [3.0, 0.0, 0.0, 0.0],
                  [2.0, 2.0, 5.0, 1.0],
                  [2.0, 2.0, 1.0, 5.0]])[None, None]
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])[None, None]
    return [Case((dout, x, 2), {"stride": 2}, "every 2×2 window holds a tie for its maximum: "
                 "dx = [[0, 1, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]")]


def _pool_ties(rng) -> list[Case]:
    """Whole numbers after a ReLU (many zeros), so that most windows share their maximum."""
    cases = []
    for k, s in ((2, 2), (3, 2)):
        n, c = _nc(rng)
        h, w = (window_length(rng, k, s, (2, 3)) for _ in range(2))
        x = np.maximum(rng.integers(-3, 3, size=(n, c, h, w)), 0).astype(np.float64)
        dout = upstream(rng, (n, c, ref.conv_output_size(h, k, s), ref.conv_output_size(w, k, s)))
        cases.append(Case((dout, x, k), {"stride": s}, "ties for the maximum (a ReLU's output: whole numbers, "
                                                       "many zeros)"))
    return cases


TIE_GROUPS = [
    Group("ties: the first maximum in row-major order gets dout", _pool_ties_visible, visible=True),
    Group("ties after a ReLU (windows of whole numbers, many zeros)", _pool_ties),
]


def _pool_check(kind: str, reference, mistakes: list[Mistake], summary: str, groups=()) -> Check:
    """The backward check of ``kind`` ("max" or "avg") pooling: the shared groups and ``groups``, the
    kind's own ``mistakes``, then those of the window's placement (:func:`_pool_mistakes`)."""
    return Check(
        id=f"{STEM}.{kind}_pool_backward",
        forbidden=FORBIDDEN + IMAGE_LIBRARIES,
        params=("dout", "x", "kernel_size"),
        reference=lambda dout, x, kernel_size, stride=None: reference(dout, x, kernel_size, stride),
        groups=_pool_groups() + list(groups),
        mistakes=[*mistakes, *_pool_mistakes(kind)],
        summary=summary,
    )


MAX_POOL = _pool_check(
    "max", ref.max_pool2d_backward, [
        Mistake("gradient routed to every element of the window (average-pool backward)", "your dx spreads "
                "dout / (k·k) over the whole window: that is the backward pass of *average* pooling. Max "
                "pooling's output depends on one input only, the window's maximum, so all of dout goes to "
                "that one position and the others get 0.",
                _looped(route="avg")),
        Mistake("gradient copied to every element of the window", "every input of the window got the full dout. "
                "Only the window's maximum influenced the output: send dout to the position of that maximum, and "
                "0 to the others.",
                _looped(route="copy")),
        Mistake("row and column of the maximum swapped", "a flat index into a k×k window counts whole rows "
                "first. Look at how you turn it back into a row and a column: the row comes from how many whole "
                "rows fit, the column from what is left.",
                _looped(transpose=True)),
        Mistake("gradient sent to every tied maximum", "where several entries of a window tie for its maximum, "
                "each of them got the whole dout, so that window passed on its gradient more than once. The "
                "docstring gives it to one entry only, the first maximum in row-major order: look at how "
                "your code picks the position of the maximum.",
                _looped(tie="all")),
        Mistake("last of the tied maxima", "where several entries of a window tie for its maximum, yours sends "
                "dout to the last of them; the docstring asks for the first in row-major order (what "
                "np.argmax and PyTorch pick). A running maximum updated with >= keeps the last tie.",
                _looped(tie="last")),
    ],
    summary="all of dout[n, c, i, j] goes to the argmax of window (i, j); overlapping windows add up",
    groups=TIE_GROUPS,
)


AVG_POOL = _pool_check(
    "avg", ref.avg_pool2d_backward, [
        Mistake("not divided by the window size", "every input of a window gets the full dout. The output is "
                "the *mean* of k·k inputs, so each of them moves it by 1/(k·k): spread dout / (k*k).",
                _looped(route="copy")),
        Mistake("divided by kernel_size instead of kernel_size²", "a k×k window holds k·k inputs: divide dout "
                "by k*k, not by k.", _looped(route="avg_k")),
        Mistake("routed only to the maximum (max-pool backward)", "that is the backward pass of *max* "
                "pooling. Every input of an average contributes equally: each one gets dout / (k*k).",
                _looped(route="max")),
    ],
    summary="each input of window (i, j) gets dout[n, c, i, j] / (k*k); overlapping windows add up",
)


# ---------------------------------------------------------------------- conv_backward


def _conv_case(rng, n, c, h, w, f, kh, kw, stride=1, padding=0, note="") -> Case:
    x, weight, bias = conv_inputs(rng, n, c, h, w, f, kh, kw)
    out_h, out_w = ref.conv_output_size(h, kh, stride, padding), ref.conv_output_size(w, kw, stride, padding)
    return Case((upstream(rng, (n, f, out_h, out_w)), x, weight, bias), {"stride": stride, "padding": padding}, note)


def _random_conv(rng, strides=(1,), paddings=(0,), count=3) -> list[Case]:
    """Batches of 2 or 3, kernels never 1×1, and two or more window positions along each axis."""
    cases = []
    for _ in range(count):
        kh, kw = int(rng.integers(2, 4)), int(rng.integers(1, 4))
        s, p = int(rng.choice(strides)), int(rng.choice(paddings))
        h = window_length(rng, kh, s, leftover="any")
        w = window_length(rng, kw, s, leftover="any") + 1
        cases.append(_conv_case(rng, int(rng.integers(2, 4)), int(rng.integers(1, 4)), h, w,
                                int(rng.integers(2, 4)), kh, kw, s, p))
    return cases


def _conv_visible(rng) -> list[Case]:
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    dout = np.ones((1, 1, 2, 2))
    return [Case((dout, ramp((1, 1, 3, 3)), w, np.array([0.5])), {"stride": 1, "padding": 0},
                 "a 3×3 ramp, a 2×2 kernel, dout of ones: db = 4, dw = sums of the four windows"),
            _conv_case(rng, 2, 3, 6, 7, 2, 3, 3, stride=2, padding=1,
                       note="two RGB images, 3×3×3 filters, stride 2, padding 1"),
            Case(_conv_case(rng, 2, 1, 8, 8, 4, 3, 3, padding=1).args, {"padding": 1},
                 "two 8×8 grey digits, four 3×3 filters, padding 1 and stride left out (1): as chapter 9's "
                 "network calls it")]


def _conv_reference(dout, x, w, b, stride=1, padding=0):
    return ref.conv2d_backward(dout, x, w, b, stride, padding)


def _conv_flipped(dout, x, w, b, stride=1, padding=0):
    dx = ref.conv2d_backward(dout, x, w[:, :, ::-1, ::-1].copy(), b, stride, padding)[0]
    _, dw, db = _conv_reference(dout, x, w, b, stride, padding)
    return dx, dw, db  # like x, w and b


def _conv_db_per_image(dout, x, w, b, stride=1, padding=0):
    dx, dw, _ = _conv_reference(dout, x, w, b, stride, padding)
    return dx, dw, dout.sum(axis=(2, 3))


def _conv_db_mean(dout, x, w, b, stride=1, padding=0):
    dx, dw, _ = _conv_reference(dout, x, w, b, stride, padding)
    return dx, dw, dout.sum(axis=(2, 3)).mean(axis=0)


def _conv_padded_dx(dout, x, w, b, stride=1, padding=0):
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx, dw, db = ref.conv2d_backward(dout, padded, w, b, stride, 0)
    return dx, dw, db  # like x, w and b


def _conv_cropped_minus_pad(dout, x, w, b, stride=1, padding=0):
    """dx_padded[:, :, p:-p, p:-p]: right when p > 0, empty when p = 0 (because -0 is 0)."""
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx, dw, db = ref.conv2d_backward(dout, padded, w, b, stride, 0)
    return dx[:, :, padding:-padding, padding:-padding], dw, db


def _conv_batch_mixed(dout, x, w, b, stride=1, padding=0):
    dx, dw, db = _conv_reference(dout, x, w, b, stride, padding)
    return np.broadcast_to(dx.sum(axis=0, keepdims=True), dx.shape).copy(), dw, db


def _conv_dx_channels_summed(dout, x, w, b, stride=1, padding=0):
    """The filter's channels summed: every input channel gets the same gradient."""
    _, dw, db = _conv_reference(dout, x, w, b, stride, padding)
    same = ref.conv2d_backward(dout, x, np.broadcast_to(w.sum(axis=1, keepdims=True), w.shape).copy(),
                               b, stride, padding)[0]
    return same, dw, db


def _conv_stride_one(dout, x, w, b, stride=1, padding=0):
    """Window (i, j) taken at (i, j) instead of (i*stride, j*stride), in both dx and dw."""
    ho, wo = dout.shape[2:]
    dx, dw, db = ref.vjp(lambda x, w, b: F.conv2d(x, w, b, padding=padding)[:, :, :ho, :wo], (x, w, b), dout)
    return dx, dw, db  # like x, w and b


def _conv_db_wrong_axes(dout, x, w, b, stride=1, padding=0):
    """db summed over the channels and positions of each image: one value per image, shape (N,)."""
    dx, dw, _ = _conv_reference(dout, x, w, b, stride, padding)
    return dx, dw, np.asarray(dout).sum(axis=(1, 2, 3))


def _conv_last_positions_skipped(dout, x, w, b, stride=1, padding=0):
    """Loops over the output positions that stop one step early along both axes: the last row and
    column of dout reach neither dx nor dw (db, a sum of dout, is right)."""
    cut = np.array(dout, dtype=np.float64)
    if cut.shape[2] < 2 or cut.shape[3] < 2:
        raise NotApplicable
    cut[:, :, -1, :] = 0.0
    cut[:, :, :, -1] = 0.0
    dx, dw, _ = _conv_reference(cut, x, w, b, stride, padding)
    return dx, dw, _conv_reference(dout, x, w, b, stride, padding)[2]


def _conv_dw_mean(dout, x, w, b, stride=1, padding=0):
    dx, dw, db = _conv_reference(dout, x, w, b, stride, padding)
    return dx, dw / len(x), db


CONV = Check(
    id=f"{STEM}.conv_backward",
    params=("dout", "x", "w", "b"),
    reference=_conv_reference,
    groups=[
        Group("a 3×3 ramp by hand, two RGB images with stride 2 and padding 1, and two grey digits with "
              "padding 1", _conv_visible, visible=True),
        Group("random shapes, stride 1, no padding", lambda rng: _random_conv(rng)),
        Group("random shapes, stride 2 or 3", lambda rng: _random_conv(rng, strides=(2, 3))),
        Group("random shapes, padding 1 or 2", lambda rng: _random_conv(rng, paddings=(1, 2))),
        Group("random shapes, stride 2 or 3 and padding 1 or 2", lambda rng: _random_conv(rng, (2, 3), (1, 2))),
    ],
    mistakes=[
        Mistake("kernel flipped in dx", "your dx is what the kernel rotated by 180° gives. The forward pass "
                "is a cross-correlation, out[i, j] += x[i*s + p, j*s + q] · w[p, q], so the input pixel at "
                "(i*s + p, j*s + q) receives dout[i, j] · w[p, q] with the *same* p, q. (Written as a full "
                "convolution of dout with w, the flip is already in the word 'convolution': do not flip w "
                "again.)", _conv_flipped),
        Mistake("db not summed over the batch", "your db has shape (N, F). Every image, and every output "
                "position, adds to each filter's bias gradient: sum over the batch and the positions, leaving "
                "one value per filter, shape (F,).", _conv_db_per_image),
        Mistake("db averaged over the batch, not summed", "you divided by N. A layer's backward pass adds the "
                "gradients of all images (any 1/N is already inside dout, from the loss): look for a division or "
                "a mean in your bias gradient.", _conv_db_mean),
        Mistake("dw averaged over the batch (divided by N)", "dw is N times too small: add up the "
                "contributions of every image, do not average them.", _conv_dw_mean),
        Mistake("db summed over the wrong axes", "your db has one value per image, shape (N,): you summed over the "
                "channels and positions of each image. The bias of filter f is added at every position of "
                "every image, so db collects dout over the batch and the positions, one value per filter, "
                "shape (F,): look at the axes of your sum.", _conv_db_wrong_axes),
        Mistake("off-by-one loop bounds (last output row and column skipped)", "dx and dw are right except for "
                "what the last row and the last column of dout should add: your loops over the output positions "
                "stop one step early. There are H' and W' output positions, the sizes of dout's last two axes: "
                "look at the bounds of your loops.", _conv_last_positions_skipped),
        Mistake("dx returned with the padding still on", "you computed the gradient of the *padded* input, shape "
                "(N, C, H + 2p, W + 2p). The padding was made inside the layer and is not an input: crop the p "
                "rows and columns of padding off each side before returning.", _conv_padded_dx),
        Mistake("crop [p:-p] is empty when padding is 0", "dx is empty when padding = 0: a slice that ends "
                "at -p ends at 0 when p = 0, because -0 is 0. Crop the padding off with slices whose ends "
                "count from the start (p + H), which work for every p.", _conv_cropped_minus_pad),
        Mistake("dx summed over the wrong axis (the batch)", "every image got the same dx, the sum over the "
                "batch. Image n's input only influenced image n's output: dx[n] collects dout[n] only; the "
                "sum over the batch belongs in dw and db, not in dx.", _conv_batch_mixed),
        Mistake("dx summed over the wrong axis (the channels)", "every input channel got the same gradient: "
                "the filter's channels were summed. Input channel c receives dout[n, f, i, j] · w[f, c, p, q] "
                "summed over the *filters* f, with c kept apart.", _conv_dx_channels_summed),
        Mistake("stride ignored", "your gradients are those of windows that start at (i, j) instead of "
                "(i*stride, j*stride). In the backward pass, the window of output (i, j) is the same one the "
                "forward pass used: rows i*stride to i*stride + KH.", _conv_stride_one),
    ],
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    summary="for every output (i, j): dw += dout · window, dx_padded[window] += dout · w, db = dout summed",
)


# ---------------------------------------------------------------------- softmax_cross_entropy_backward


def _ce_visible(rng) -> list[Case]:
    return [
        Case((np.zeros((1, 10)), np.array([3])), note="equal logits, a \"3\": loss ln 10, dlogits = 0.1 - one_hot"),
        Case((np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 1])), note="a batch of two"),
        Case((np.array([[1000.0, 0.0, -1000.0], [-1000.0, -999.0, -1001.0]]), np.array([1, 1])),
             note="logits near ±1000: the loss and the gradient must stay finite"),
        Case((rng.standard_normal((4, 5)) * 2, np.array([3, 0, 4, 1], dtype=np.int64)),
             note="a random batch, N = 4 and 5 classes, as in the gradient check below"),
    ]


def _probs(z, axis=1):
    return ref.softmax(np.asarray(z, dtype=np.float64), axis=axis)


def _onehot(z, y):
    return ref.one_hot(np.asarray(y), np.shape(z)[1])


def _ce_loss(z, y, reduction="mean"):
    return float(ref.cross_entropy_loss(z, y, reduction=reduction))


def _ce_wrong_axis(z, y):
    p = _probs(z, axis=0)
    with np.errstate(divide="ignore"):
        loss = float(-np.mean(np.log(p[np.arange(len(y)), np.asarray(y)])))
    if not np.isfinite(loss):
        raise NotApplicable("this mistake gives an infinite loss here; it cannot be told apart")
    return loss, (p - _onehot(z, y)) / len(y)


# Answers with NaN or inf values match no mistake's output; the hint below names their likely cause.
NOT_FINITE = Mistake("your loss or gradient is not finite on ordinary logits", "look for a log of 0 or of a "
                     "negative number, or a division by zero.")
NOT_SHIFTED = Mistake("softmax not shifted by the maximum", "np.exp of a logit near 1000 overflows to inf (and near "
                      "-1000 underflows to 0), and inf/inf or 0/0 is NaN. Subtract each row's maximum before np.exp "
                      "(it does not change the softmax), and compute the loss as log-sum-exp minus the true logit.")


def _not_finite_hint(case: Case, got) -> Diagnosis | None:
    """:data:`NOT_FINITE` for NaN or inf values on ordinary logits; on large ones, :data:`UNDERFLOW` (chapter 7's)
    when only the loss is infinite and a shifted softmax's log is infinite there too (the student did shift, but
    took the log of a probability that underflowed to 0), else :data:`NOT_SHIFTED`."""
    if not isinstance(got, (tuple, list)):
        return None
    values = [np.asarray(item, dtype=np.float64) for item in got]
    if all(np.all(np.isfinite(v)) for v in values):
        return None
    logits, labels = (np.asarray(arg) for arg in case.args)
    logits = logits.astype(np.float64)
    if np.max(np.abs(logits)) < 50:
        return NOT_FINITE.diagnosis
    if len(values) == 2 and values[0].size == 1 and np.all(values[0] == np.inf) and np.all(np.isfinite(values[1])):
        shifted = logits - np.max(logits, axis=1, keepdims=True)
        with np.errstate(all="ignore"):
            p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            shifted_then_log = -np.mean(np.log(p[np.arange(len(labels)), labels]))
        if shifted_then_log == np.inf:
            return UNDERFLOW.diagnosis
    return NOT_SHIFTED.diagnosis


SOFTMAX_CE = Check(
    id=f"{STEM}.softmax_cross_entropy_backward",
    params=("logits", "labels"),
    reference=lambda logits, labels: ref.softmax_cross_entropy_backward(logits, labels),
    groups=[
        Group("equal logits (ln 10), a batch of two, logits near ±1000, and a random batch of four",
              _ce_visible, visible=True),
        Group("random batches (N 2 to 16, 2 to 12 classes)", lambda rng: random_logits(rng, shuffle=False),
              weight=2.0),
        Group("one example (N = 1)", lambda rng: one_example_logits(rng, shuffle=False)),
        Group("large logits: rows near +1000 and near -1000", lambda rng: logits_near_1000(
            rng, "rows near +1000 and -1000: exp overflows (or underflows) unless shifted", shuffle=False)),
    ],
    mistakes=[
        Mistake("gradient not divided by N (forgot the mean)", "the loss is the *mean* over the N examples, so "
                "each example's gradient p - y is divided by N too. Look at what your gradient is divided by.",
                lambda z, y: (_ce_loss(z, y), _probs(z) - _onehot(z, y))),
        Mistake("loss and gradient summed over the batch, not averaged", "both are N times too big. The course "
                "averages over the batch: the loss is the mean of the per-example losses, and its gradient "
                "carries the same 1/N.",
                lambda z, y: (_ce_loss(z, y, "sum"), _probs(z) - _onehot(z, y))),
        Mistake("loss summed over the batch, not averaged", "the gradient is right but the loss is the sum of "
                "the per-example losses: take their mean.",
                lambda z, y: (_ce_loss(z, y, "sum"), (_probs(z) - _onehot(z, y)) / len(y))),
        Mistake("gradient is softmax without subtracting the one-hot", "d loss / d logit_k = p_k - y_k: the true "
                "class gets p - 1, the others p. Subtract 1 at each example's true class (before dividing by N).",
                lambda z, y: (_ce_loss(z, y), _probs(z) / len(y))),
        Mistake("label not one-hot (integer label subtracted)", "you subtracted the class number from every "
                "probability. Subtract 1 only at each row's true class; the one-hot encoding of chapter 7 is one "
                "way to say where that is.",
                lambda z, y: (_ce_loss(z, y), (_probs(z) - np.asarray(y, dtype=np.float64)[:, None]) / len(y))),
        Mistake("gradient has the wrong sign", "the gradient is the probabilities minus the one-hot labels, "
                "divided by N: the true class's logit must go *up* to lower the loss, so its gradient is "
                "negative. Yours has the opposite sign: look at the order of the subtraction.",
                lambda z, y: (_ce_loss(z, y), (_onehot(z, y) - _probs(z)) / len(y))),
        Mistake("softmax over the wrong axis", "you normalised each column (across the batch). The K scores of "
                "one example form a row: normalise along the class axis, keeping it so that the sums broadcast "
                "back. Look at the axis of your reductions.", _ce_wrong_axis),
        NOT_FINITE,
        NOT_SHIFTED,
        UNDERFLOW,
    ],
    hints=[_not_finite_hint],
    forbidden=FORBIDDEN + SOFTMAX_LIBRARIES,
    summary="loss = mean(logsumexp(z) - z_true); dlogits = (softmax(z) - one_hot(labels)) / N",
)


CHECKS = [AFFINE, RELU, MAX_POOL, AVG_POOL, CONV, SOFTMAX_CE]

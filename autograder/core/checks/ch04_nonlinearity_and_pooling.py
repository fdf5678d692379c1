"""Checks for chapter 4, Nonlinearity and pooling.

Four exercises: ReLU on an array of any shape, max pooling and average pooling of an NCHW
batch with any square window and stride (floor mode, stride defaulting to the window), and
global average pooling. The references are ``autograder.reference`` (torch's ``relu``,
``max_pool2d`` and ``avg_pool2d`` in float64); none of them reuses the NumPy solutions.

The mistake library names the classic bugs of these layers: a leaky or absolute-value ReLU,
a ReLU capped at 6 or shifted to 1, a boolean mask returned instead of the values, a formula
that divides by |x| and turns exact zeros into NaN, Python's ``max`` on an array; for pooling,
a window that also spans the channel axis (or a layout read as NHWC), the stride ignored
(either stepping by the window or by one pixel), ``ceil`` instead of ``floor`` output size,
the wrong reduction (average versus max, sum versus mean, dividing by k instead of k²), and a
running max started at 0 instead of at the first value; for global average pooling, the channels
averaged too, and a result built image by image whose empty batch comes out (0,) instead of (0, C).

Groups are designed so that each of those mistakes passes or fails a group whatever the seed:

* every random value is drawn away from the special points (no exact zeros outside the
  "exact zeros" group, no value above 6 outside the "large magnitudes" group, and every case
  has values above 1 and below -1);
* every pooling case has at least two channels, and its top-left window in every image and
  channel is entirely negative (so a running max started at 0 fails every case);
* the "tiling" groups use stride = kernel (left to its default), the overlapping, wide-stride
  and remainder groups pass an explicit stride of at least 2 that differs from the kernel;
* only the remainder group, and one case of the visible group (a 6×6 map, 3×3 windows, stride 2), have
  sizes where (H - k) is not a multiple of the stride, on both axes: floor mode shows in the notebook.
"""

from __future__ import annotations

import numpy as np

from .. import reference as ref
from ..reference import functional as F
from ..reference import torch
from .base import FORBIDDEN, IMAGE_LIBRARIES, Case, Check, Group, Mistake, NotApplicable
from .cases import mixed_signs, window_length
from .ch01_images_as_arrays import empty_batch, empty_batch_mistake
from .ch02_convolution import empty_batch_raising

STEM = "04-nonlinearity-and-pooling"


# ---------------------------------------------------------------------- shared helpers


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().contiguous().numpy()


# ---------------------------------------------------------------------- relu_forward


def _relu_visible(rng) -> list[Case]:
    return [
        Case((np.array([-2.0, -0.5, 0.0, 0.5, 2.0, 10.0]),),
             note="a hand-worked vector: expected [0, 0, 0, 0.5, 2, 10]"),
        Case((mixed_signs(rng, (2, 3, 4, 4)),), note="a batch of two 3-channel 4×4 activation maps"),
        Case((np.zeros((0, 3, 4, 4)),), note=empty_batch()),
    ]


def _relu_batches(rng) -> list[Case]:
    return [Case((mixed_signs(rng, tuple(int(v) for v in rng.integers(1, 6, 4))),)) for _ in range(3)]


def _relu_shapes(rng) -> list[Case]:
    shapes = [(int(rng.integers(2, 20)),), tuple(int(v) for v in rng.integers(2, 7, 2)),
              tuple(int(v) for v in rng.integers(2, 5, 3)), tuple(int(v) for v in rng.integers(1, 4, 5))]
    shapes[3] = (2,) + shapes[3][1:]  # at least two elements
    return [*(Case((mixed_signs(rng, shape),), note=f"a {len(shape)}-D array") for shape in shapes),
            Case((np.zeros((0, 2, 3, 3)),), note=empty_batch())]


def _relu_zeros(rng) -> list[Case]:
    x = mixed_signs(rng, (2, 2, 3, 3))
    flat = x.reshape(-1)
    where = rng.choice(flat.size, 6, replace=False)
    flat[where[:3]] = 0.0
    flat[where[3:]] = -0.0
    return [Case((np.array([-1.0, -0.0, 0.0, 2.5]),), note="edge case: -0.0 and +0.0 both give 0"),
            Case((x,), note="edge case: a batch with exact zeros")]


def _relu_large(rng) -> list[Case]:
    x = mixed_signs(rng, (2, 3, 4, 5), high=1e6)
    x.reshape(-1)[:2] = [rng.uniform(100.0, 1e6), -rng.uniform(100.0, 1e6)]
    return [Case((np.array([-1e6, -7.0, 6.5, 1e6]),), note="edge case: large values are not capped"),
            Case((x,), note="edge case: activations up to ±10⁶")]


def _python_max(x):
    """The built-in max(x, 0): a ValueError on any array of two or more elements."""
    return max(x, 0)


def _divides_by_abs(x):
    with np.errstate(invalid="ignore", divide="ignore"):
        return x * (x / np.abs(x) + 1) / 2


RELU_MISTAKES = [
    Mistake("leaky ReLU instead of ReLU", "your negative inputs come out as a small multiple of x "
            "(like 0.01 * x). Plain ReLU sets every negative value to exactly 0.",
            lambda x: np.where(x > 0, x, 0.01 * x)),
    Mistake("absolute value instead of ReLU", "np.abs(x) flips negative values to positive ones. ReLU "
            "*drops* them: negative in, 0 out.", lambda x: np.abs(x)),
    Mistake("capped at 6 (ReLU6)", "large positive values came back as 6. ReLU has no upper limit: "
            "only the negative side is cut off.", lambda x: np.clip(x, 0.0, 6.0)),
    Mistake("capped at 1", "large positive values came back as 1. ReLU has no upper limit: "
            "only the negative side is cut off.", lambda x: np.clip(x, 0.0, 1.0)),
    Mistake("clipped at 1 instead of 0", "everything below 1 came back as 1: the threshold of ReLU is 0.",
            lambda x: np.maximum(x, 1.0)),
    Mistake("returned the mask instead of the values", "your function returns where x is positive "
            "(True/False, or 1/0), which is ReLU's *derivative*. Return the values themselves: "
            "x where x > 0 and 0 elsewhere.", lambda x: x > 0),
    Mistake("returned the mask instead of the values", "your function returns 1 where x is positive "
            "and 0 elsewhere, which is ReLU's *derivative*. The values themselves are asked for, not "
            "where they are positive.", lambda x: (x > 0).astype(np.float64)),
    Mistake("ReLU at exactly 0 gives NaN", "your formula divides by |x| (or x), which is 0/0 = NaN "
            "at exactly x = 0. ReLU(0) is 0: write it without a division.",
            _divides_by_abs),
    Mistake("Python's max instead of np.maximum", "the built-in max(x, 0) compares the whole array "
            "with 0 at once and fails. NumPy has its own maximum that compares element by element.",
            _python_max),
]

RELU = Check(
    id=f"{STEM}.relu_forward",
    params=("x",),
    reference=lambda x: ref.relu(x),
    groups=[
        Group("a hand-worked vector and a small batch", _relu_visible, visible=True),
        Group("random NCHW batches", _relu_batches),
        Group("arrays of 1 to 5 dimensions", _relu_shapes),
        Group("edge case: exact zeros (+0.0 and -0.0)", _relu_zeros),
        Group("edge case: large magnitudes", _relu_large),
    ],
    mistakes=RELU_MISTAKES,
    summary="each value kept where it is positive and 0 elsewhere, any shape",
)


# ---------------------------------------------------------------------- pooling cases


def _pool_case(rng, n, c, h, w, k, stride=None, note="") -> Case:
    """A random (n, c, h, w) batch whose top-left k×k window is negative in every image and channel."""
    x = rng.standard_normal((n, c, h, w))
    x[:, :, :k, :k] = -np.abs(x[:, :, :k, :k]) - 0.1
    kwargs = {} if stride is None else {"stride": stride}
    return Case((x, k), kwargs, note)


def _pool_visible(rng) -> list[Case]:
    grid = np.array([[1.0, -3.0, 2.0, 0.0],
                     [-4.0, -2.0, 5.0, 1.0],
                     [7.0, -1.0, -6.0, -8.0],
                     [3.0, 2.0, -5.0, -7.0]])
    two_channels = np.stack([grid, -grid])[None]  # (1, 2, 4, 4)
    overlapping = _pool_case(rng, 2, 3, 5, 7, 3, stride=2, note="overlapping 3×3 windows with stride 2: (2, 3, 2, 3)")
    empty = _pool_case(rng, 0, 3, 5, 7, 3, stride=2, note=empty_batch())
    leftover = _pool_case(rng, 1, 2, 6, 6, 3, stride=2, note="3×3 windows with stride 2 on a 6×6 map: the last row "
                          "and column fill no window and are dropped (floor mode): (1, 2, 2, 2), not (1, 2, 3, 3)")
    return [Case((two_channels, 2), note="a hand-worked 4×4 grid and its negative, 2×2 windows, stride 2"),
            overlapping, leftover, empty]


def _pool_tiling(rng) -> list[Case]:
    cases = []
    for _ in range(3):
        k = int(rng.integers(2, 4))
        cases.append(_pool_case(rng, int(rng.integers(1, 4)), int(rng.integers(2, 5)),
                                k * int(rng.integers(2, 5)), k * int(rng.integers(2, 5)), k,
                                note="stride left at its default"))
    return cases


def _strided(kernel_and_stride, leftover=None, note=""):
    """Three cases with an explicit stride: ``kernel_and_stride(rng)`` draws (k, s), then come the
    batch size, the channels and sizes of 2 to 4 windows per axis (see :func:`window_length`)."""
    def make(rng) -> list[Case]:
        cases = []
        for _ in range(3):
            k, s = kernel_and_stride(rng)
            cases.append(_pool_case(rng, int(rng.integers(1, 3)), int(rng.integers(2, 4)),
                                    window_length(rng, k, s, leftover=leftover),
                                    window_length(rng, k, s, leftover=leftover), k, stride=s, note=note))
        return cases
    return make


def _overlapping(rng) -> tuple[int, int]:
    k = int(rng.integers(3, 6))
    return k, int(rng.integers(2, k))  # 2 <= stride < k


def _wide(rng) -> tuple[int, int]:
    k = int(rng.integers(2, 4))
    return k, k + int(rng.integers(1, 3))  # stride > k


def _two_or_three(rng) -> tuple[int, int]:
    k = int(rng.integers(2, 5))
    return k, int(rng.choice([v for v in (2, 3) if v != k]))  # stride 2 or 3, never k


def _pool_edges(rng) -> list[Case]:
    side = int(rng.integers(3, 7))
    return [
        _pool_case(rng, 2, 3, 4, 5, 1, note="edge case: 1×1 windows change nothing"),
        _pool_case(rng, 2, 2, side, side, side, note="edge case: one window covers the whole image"),
        _pool_case(rng, 1, 4, 6, 2, 2, note="edge case: a 6×2 map, one window across"),
        _pool_case(rng, 0, 3, 4, 6, 2, note=empty_batch()),
    ]


def _pool_groups(kind: str) -> list[Group]:
    return [
        Group(f"{kind}: a hand-worked 4×4 grid, overlapping windows and a leftover row and column (floor mode)",
              _pool_visible, visible=True),
        Group("random shapes, windows that tile the input (default stride)", _pool_tiling),
        Group("overlapping windows (2 ≤ stride < kernel_size)", _strided(_overlapping)),
        Group("stride larger than the window", _strided(_wide, note="windows skip pixels")),
        Group("sizes the windows do not divide (floor mode)",
              _strided(_two_or_three, "partial", "the last rows and columns fit no window")),
        Group("edge cases: 1×1 windows, a window as large as the image", _pool_edges),
    ]


# ---------------------------------------------------------------------- wrong pooling, for diagnoses


def _torch_pool(x, k, stride, kind, ceil_mode=False):
    stride = k if stride is None else stride
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    return _numpy(pool(ref.to_tensor(x), k, stride, ceil_mode=ceil_mode))


def _windows(x, k, stride):
    """All windows (N, C, H', W', k, k), floor mode, for the handmade wrong answers below."""
    s = stride if stride is not None else k
    view = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    return view[:, :, ::s, ::s]


def _over_channels(reduce):
    def wrong(x, k, stride=None):
        windows = _windows(x, k, stride)
        return np.broadcast_to(reduce(windows, axis=(1, 4, 5), keepdims=True)[..., 0, 0], windows.shape[:4]).copy()
    return wrong


def _as_nhwc(kind):
    def wrong(x, k, stride=None):
        return _torch_pool(x.transpose(0, 3, 1, 2), k, stride, kind).transpose(0, 2, 3, 1)
    return wrong


def _stride_as_kernel(kind):
    return lambda x, k, stride=None: _torch_pool(x, k, k, kind)


def _stride_one(kind):
    return lambda x, k, stride=None: _torch_pool(x, k, 1, kind)


def _ceil(kind):
    return lambda x, k, stride=None: _torch_pool(x, k, stride, kind, ceil_mode=True)


def _last_windows_missing(kind):
    """Loops over output positions that stop one short: the last row and column of the output stay 0."""
    def wrong(x, k, stride=None):
        out = np.array(_torch_pool(x, k, stride, kind))
        out[:, :, -1, :] = 0.0
        out[:, :, :, -1] = 0.0
        return out
    return wrong


def _stride_explain(kind):
    return (f"your output is what {kind} pooling with stride = kernel_size gives, whatever stride was "
            "passed. Window (i, j) starts at row i*stride and column j*stride, and the output has "
            "(H - kernel_size) // stride + 1 rows; only when stride is None does it default to kernel_size.")


def _stride_one_explain(kind):
    return (f"your output is what {kind} pooling with stride 1 gives: every window position was kept. "
            "Window (i, j) starts at row i*stride and column j*stride (stride defaults to kernel_size "
            "when it is None), so the output has (H - kernel_size) // stride + 1 rows.")


def _pool_common_mistakes(kind: str) -> list[Mistake]:
    reduce = np.max if kind == "max" else np.mean
    return [
        Mistake("pooling over the channel axis", f"each output value is the {kind} over the window *and "
                f"over all channels*. Pooling works on each channel separately: take the {kind} over the "
                "two spatial axes of each window only, never over the channel axis.", _over_channels(reduce)),
        Mistake("pooling over the channel axis (x read as NHWC)", "you pooled over axes 1 and 2 as if x were "
                "(N, H, W, C). This course stores (N, C, H, W): the windows slide over axes 2 and 3, "
                "and every channel is pooled on its own.", _as_nhwc(kind)),
        Mistake("stride ignored", _stride_explain(kind), _stride_as_kernel(kind)),
        Mistake("stride ignored", _stride_one_explain(kind), _stride_one(kind)),
        Mistake("ceil instead of floor output size", "your output has an extra row or column for a window "
                "that hangs over the edge of the input. Pooling here uses floor mode, like PyTorch's "
                "default: H' = (H - kernel_size) // stride + 1, and leftover rows and columns are dropped.",
                _ceil(kind)),
        Mistake("loop bound off by one", "the output has the right shape, but its last row and column "
                "were never filled in (they are still 0): the loops over output positions stop one short. "
                "They must visit all H' rows and W' columns of the output; look at the ends of your ranges.",
                _last_windows_missing(kind)),
        empty_batch_mistake(lambda x, k, stride=None: _torch_pool(x, k, stride, kind)),
        *empty_batch_raising(lambda x, k, stride=None: _torch_pool(x, k, stride, kind)),
    ]


# ---------------------------------------------------------------------- max_pool_forward


def _max_from_zero(x, k, stride=None):
    return np.maximum(_torch_pool(x, k, stride, "max"), 0.0)


def _pool_check(function: str, kind: str, reference, mistakes: list[Mistake], summary: str) -> Check:
    """The check of ``kind`` ("max" or "average") pooling: the shared groups and mistakes, then the
    kind's own ``mistakes``."""
    return Check(
        id=f"{STEM}.{function}",
        forbidden=FORBIDDEN + IMAGE_LIBRARIES,
        params=("x", "kernel_size"),
        reference=lambda x, kernel_size, stride=None: reference(x, kernel_size, stride),
        groups=_pool_groups(kind),
        mistakes=_pool_common_mistakes(kind) + mistakes,
        summary=summary,
    )


MAX_POOL = _pool_check(
    "max_pool_forward", "max", ref.max_pool2d, [
        Mistake("average instead of max", "your values are the mean of each window. Max pooling keeps "
                "the largest value of each window.",
                lambda x, k, stride=None: _torch_pool(x, k, stride, "avg")),
        Mistake("max started at 0", "windows whose values are all negative came out as 0. A running "
                "maximum must start from the window's first value (or minus infinity), not from 0.",
                _max_from_zero),
    ],
    summary="the largest value of every k × k window of every channel, windows moved by the stride (floor mode)",
)


# ---------------------------------------------------------------------- avg_pool_forward


AVG_POOL = _pool_check(
    "avg_pool_forward", "average", ref.avg_pool2d, [
        Mistake("sum instead of mean", "your values are k² times too large: they are the *sum* of each "
                "window. Average pooling divides by the number of values in the window, "
                "kernel_size squared.",
                lambda x, k, stride=None: _torch_pool(x, k, stride, "avg") * k * k),
        Mistake("divided by kernel_size instead of kernel_size²", "a k×k window holds k*k values: "
                "the sum is divided by the number of values in the window, not by its side.",
                lambda x, k, stride=None: _torch_pool(x, k, stride, "avg") * k),
        Mistake("max instead of average", "your values are the largest value of each window. Average "
                "pooling takes the mean of each window.",
                lambda x, k, stride=None: _torch_pool(x, k, stride, "max")),
    ],
    summary="the mean of every k × k window of every channel, windows moved by the stride (floor mode)",
)


# ---------------------------------------------------------------------- global_avg_pool


def _global_reference(x):
    n, c, h, w = x.shape
    return ref.avg_pool2d(x, (h, w)).reshape(n, c)


def _gap_visible(rng) -> list[Case]:
    x = np.stack([np.arange(6.0).reshape(2, 3), np.full((2, 3), -1.0)])[None]  # (1, 2, 2, 3)
    return [Case((x,), note="one image, two channels: means 2.5 and -1"),
            Case((rng.standard_normal((3, 4, 5, 5)),), note="three 4-channel 5×5 maps -> (3, 4)"),
            Case((rng.standard_normal((0, 4, 5, 5)),), note=empty_batch())]


def _gap_random(rng) -> list[Case]:
    return [Case((rng.standard_normal((int(rng.integers(2, 4)), int(rng.integers(2, 7)),
                                       int(rng.integers(2, 8)), int(rng.integers(2, 8)))),))
            for _ in range(3)]


def _gap_one_pixel(rng) -> list[Case]:
    return [Case((rng.standard_normal((2, int(rng.integers(2, 6)), 1, 1)),), note="edge case: 1×1 maps"),
            Case((rng.standard_normal((1, 3, 1, int(rng.integers(2, 6)))),), note="edge case: one row"),
            Case((rng.standard_normal((0, 2, 3, 4)),), note=empty_batch())]


def _channels_averaged_too(x):
    """x.mean(axis=(1, 2, 3)): one number per image. On an empty batch its (0,) is also what a result built
    image by image gives (see :func:`_gap_joined_from_a_list`), so that case is no evidence for it."""
    if len(x) == 0:
        raise NotApplicable("an empty batch gives (0,) either way")
    return x.mean(axis=(1, 2, 3))


def _gap_joined_from_a_list(x):
    """np.array of a list of per-image rows of means: right for N >= 1; for N = 0, np.array([]) has shape (0,)."""
    if len(x) == 0:
        return np.array([])
    return _global_reference(x)


GAP_EMPTY_BATCH = Mistake(
    "empty batch not handled", "the means are right for every image, but an empty batch (N = 0) gave an array "
    "of shape (0,) instead of (0, C). np.array of an empty list cannot know that each row would have held C "
    "means, so a result built image by image loses its second axis when there is no image. Average the whole "
    "batch at once, over the two spatial axes (which keeps N and C whatever N is), or create the result with "
    "its full shape (N, C) before filling it in. The docstring asks for an empty result of the right shape.",
    _gap_joined_from_a_list)


GLOBAL_AVG = Check(
    id=f"{STEM}.global_avg_pool",
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    params=("x",),
    reference=_global_reference,
    groups=[
        Group("a hand-worked image and a small batch", _gap_visible, visible=True),
        Group("random batches", _gap_random, weight=2.0),
        Group("edge cases: 1×1 maps and one-row maps", _gap_one_pixel),
    ],
    mistakes=[
        GAP_EMPTY_BATCH,
        Mistake("channels averaged too", "you averaged over axes 1, 2 and 3, so each image gave one "
                "number. Keep one mean per channel: average over the two spatial axes only, "
                "which gives (N, C).", _channels_averaged_too),
        Mistake("batch averaged instead of space", "you averaged over the images of the batch (axis 0). "
                "Average over the spatial axes of each image.",
                lambda x: x.mean(axis=(0, 2, 3))),
        Mistake("averaged over the wrong axes (x read as NHWC)", "x is (N, C, H, W): the spatial axes are "
                "2 and 3, not 1 and 2.", lambda x: x.mean(axis=(1, 2))),
        Mistake("kept the spatial axes", "the result should be (N, C), but yours still has two axes of "
                "size 1. Drop them.",
                lambda x: x.mean(axis=(2, 3), keepdims=True)),
        Mistake("sum instead of mean", "your values are H*W times too large: they are sums. Use the mean "
                "over the spatial axes.", lambda x: x.sum(axis=(2, 3))),
        Mistake("only the first row or column", "your values average part of each map. Average over "
                "both spatial axes, all H*W positions.", lambda x: x[:, :, 0, :].mean(axis=-1)),
    ],
    summary="the mean of each channel's H × W map, shape (N, C)",
)

CHECKS = [RELU, MAX_POOL, AVG_POOL, GLOBAL_AVG]

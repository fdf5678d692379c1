"""Checks for chapter 5, Going deeper.

Over 500 lines: three exercises, whose cases are redrawn until every mistake shows.

Three exercises, each with a mistake library:

- ``conv_relu_pool_forward``: one conv → ReLU → max-pool block. Mistakes: ReLU missing or
  replaced (leaky, absolute value), average instead of max pooling, pooling over the channel
  axis, the conv stride or padding ignored, the pool stride ignored, a flipped kernel. Pooling
  *before* the ReLU is not a mistake: ReLU never decreases its input, so it commutes with the
  max, and the check accepts it.
- ``trace_shapes``: the (C, H, W) shape after every layer of a stack. Mistakes: pooling that
  changes the number of channels, a conv that keeps the input's channels, sizes rounded up,
  padding counted once, strides ignored, the width computed from the height, the input shape
  listed too.
- ``receptive_field``: the receptive field of one unit of the last layer. Mistakes: kernel
  sizes summed or multiplied, strides (jumps) ignored, off by one, the jump updated too early.

Every reference is computed with PyTorch: the block with :mod:`autograder.reference`, the
shapes by running zero tensors through ``reference.conv2d``/``max_pool2d``, and the receptive
field *empirically*, with autograd: the gradient of one output unit with respect to the input
is non-zero exactly on the unit's receptive field (all-ones weights, so nothing cancels).

Groups are drawn so that each known mistake passes or fails a group whatever the seed: each
randomized case is redrawn until every mistake the group is meant to catch gives a different
answer on it, and the features a mistake ignores (a stride, padding, pooling) are absent from the
groups it is meant to pass. The score of a known wrong answer is the same on every run.
"""

from __future__ import annotations

import math

import numpy as np

from .. import reference as ref
from ..reference import functional as F
from ..reference import torch
from .base import FORBIDDEN, IMAGE_LIBRARIES, Case, Check, Group, Mistake, compare
from .cases import conv_inputs, ramp
from .ch01_images_as_arrays import empty_batch, empty_batch_mistake

STEM = "05-going-deeper"


def _differs(wrong, want) -> bool:
    """True when the grader tells a mistake's answer from the reference's (the same comparison it grades with)."""
    return compare(want, wrong) is not None


def _redraw(rng, make_one, reference, must_fail, tries: int = 500) -> Case:
    """Draw ``make_one(rng)`` until every mistake in ``must_fail`` gives a wrong answer on it."""
    for _ in range(tries):
        case = make_one(rng)
        want = reference(*case.args, **case.kwargs)
        if all(_differs(_safe(m, case), want) for m in must_fail):
            return case
    raise RuntimeError("could not draw a case that separates every mistake")  # pragma: no cover


def _safe(mistake, case):
    try:
        return mistake(*case.args, **case.kwargs)
    except Exception:  # a mistake undefined on this input cannot match the reference
        return None


# =============================================================================================
# conv_relu_pool_forward
# =============================================================================================


def _block(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    return ref.max_pool2d(ref.relu(ref.conv2d(x, w, b, conv_stride, conv_padding)), pool_size, pool_stride)


def _block_case(rng, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2, n=None, c=None, f=None,
                note="") -> Case:
    """Random input and filters. Filter 0 is pushed below zero everywhere (its ReLU output is all
    zeros, so a missing or leaky ReLU always shows) and filter 1 above zero everywhere (so max and
    average pooling always differ). Kernels are at least 2×2, so a flipped kernel always shows."""
    n = n or int(rng.integers(2, 4))
    c = c or int(rng.integers(1, 4))
    f = f or int(rng.integers(2, 5))
    f = max(f, pool_size)  # so that pooling over the channel axis is defined, and diagnosed
    kh, kw = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    # big enough for at least `pool_size` conv positions even without the padding (so that a
    # submission that ignores the padding still returns something to diagnose), never square
    min_conv = pool_size + int(rng.integers(0, 4))
    h = (min_conv - 1) * conv_stride + kh + int(rng.integers(0, conv_stride))
    wd = min_conv * conv_stride + kw + int(rng.integers(0, conv_stride))
    x, w, b = conv_inputs(rng, n, c, h, wd, f, kh, kw)
    bound = float(np.abs(w).sum(axis=(1, 2, 3)).max() * np.abs(x).max()) + 1.0
    b[0] = -bound - rng.uniform(0.0, 1.0)
    b[1] = bound + rng.uniform(0.0, 1.0)
    kwargs = {"conv_stride": conv_stride, "conv_padding": conv_padding,
              "pool_size": pool_size, "pool_stride": pool_stride}
    return Case((x, w, b), kwargs, note)


def _no_relu(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    return ref.max_pool2d(ref.conv2d(x, w, b, conv_stride, conv_padding), pool_size, pool_stride)


def _leaky(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    z = ref.conv2d(x, w, b, conv_stride, conv_padding)
    return ref.max_pool2d(np.where(z > 0, z, 0.01 * z), pool_size, pool_stride)


def _abs_relu(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    return ref.max_pool2d(np.abs(ref.conv2d(x, w, b, conv_stride, conv_padding)), pool_size, pool_stride)


def _average(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    return ref.avg_pool2d(ref.relu(ref.conv2d(x, w, b, conv_stride, conv_padding)), pool_size, pool_stride)


def _channel_pool(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    """Windows over (C, H) instead of (H, W): the pool slides along the channel axis."""
    a = ref.relu(ref.conv2d(x, w, b, conv_stride, conv_padding))  # (N, F, H', W')
    pooled = ref.max_pool2d(a.transpose(0, 3, 1, 2), pool_size, pool_stride)  # (N, W', F'', H'')
    return np.ascontiguousarray(pooled.transpose(0, 2, 3, 1))


def _conv_stride_ignored(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    return _block(x, w, b, 1, conv_padding, pool_size, pool_stride)


def _conv_padding_ignored(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    return _block(x, w, b, conv_stride, 0, pool_size, pool_stride)


def _pool_stride_is_size(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    return _block(x, w, b, conv_stride, conv_padding, pool_size, pool_size)


def _pool_stride_one(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    return _block(x, w, b, conv_stride, conv_padding, pool_size, 1)


def _flipped(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    return _block(x, w[:, :, ::-1, ::-1].copy(), b, conv_stride, conv_padding, pool_size, pool_stride)


def _negative_pad_slice(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    """Padding through a slice that ends at minus the padding: a ValueError when conv_padding = 0."""
    if conv_padding == 0:
        raise ValueError("could not broadcast the input into an empty slice")
    return _block(x, w, b, conv_stride, conv_padding, pool_size, pool_stride)


def _last_windows_missing(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
    """Loops over output positions that stop one short: the last row and column of the output stay 0."""
    out = _block(x, w, b, conv_stride, conv_padding, pool_size, pool_stride)
    out[:, :, -1, :] = 0.0
    out[:, :, :, -1] = 0.0
    return out


BLOCK_MISTAKES = [
    Mistake("ReLU missing", "your output still has negative numbers: the max pool was applied straight to "
            "the convolution. Apply ReLU to the conv output before (or after) pooling.",
            _no_relu),
    Mistake("leaky ReLU instead of ReLU", "negative inputs must become exactly 0, not 0.01·z: that "
            "is a leaky ReLU.", _leaky),
    Mistake("absolute value instead of ReLU", "an absolute value turns -3 into 3; ReLU turns it "
            "into 0.", _abs_relu),
    Mistake("average instead of max pooling", "your values are the means of the pooling windows. This block "
            "uses max pooling: each window gives its largest value.", _average),
    Mistake("pooling over the channel axis", "your windows slide over the channel axis and the rows, "
            "(C, H), instead of the two spatial axes (H, W). Pooling never mixes channels: each of the F "
            "activation maps is pooled on its own, so the output keeps F channels.", _channel_pool),
    Mistake("conv stride ignored", "your output is what conv_stride=1 gives. The conv window for output "
            "(i, j) starts at row i*conv_stride and column j*conv_stride of the padded input.",
            _conv_stride_ignored),
    Mistake("conv padding ignored", "your output is what conv_padding=0 gives: pad x with conv_padding "
            "zeros on each side of H and W before convolving.", _conv_padding_ignored),
    Mistake("pool stride ignored (stride = window size)", "your pool moved by pool_size pixels; it must "
            "move by pool_stride. The pool window for output (i, j) starts at row i*pool_stride.",
            _pool_stride_is_size),
    Mistake("pool stride ignored (stride 1)", "your pool moved one pixel at a time; it must move by "
            "pool_stride. The pool window for output (i, j) starts at row i*pool_stride.", _pool_stride_one),
    Mistake("kernel flipped", "your conv computes a true convolution, with the kernel rotated by 180°. "
            "CNN layers compute cross-correlation: each weight multiplies the pixel at the same offset "
            "in the window, and the kernel is never rotated.", _flipped),
    Mistake("slice [pad:-pad] breaks when pad is 0", "a slice that ends at minus the padding is empty when "
            "the padding is 0, because -0 is 0, so the image no longer fits into the padded array. Count "
            "the end of the slice from its start instead.", _negative_pad_slice,
            any_message=True),  # its model raises a stand-in: NumPy's message names the shapes
    Mistake("loop bound off by one", "the output has the right shape, but its last row and column were never "
            "filled in (they are still 0): a loop over output positions, of the conv or of the pool, stops "
            "one short. Look at the ends of your ranges.", _last_windows_missing),
    empty_batch_mistake(_block),
]

_RELU_AND_POOL = [_no_relu, _leaky, _abs_relu, _average, _channel_pool, _flipped, _pool_stride_one]


def _visible_block(rng) -> list[Case]:
    x = ramp((1, 1, 6, 6)) - 18.0
    w = np.array([[[[1.0, 0.0], [0.0, -2.0]]], [[[0.5, 0.5], [0.5, 0.5]]]])
    b = np.array([-30.0, 1.0])  # filter 0 is negative everywhere on this input
    return [Case((x, w, b), {}, "6×6 ramp, two 2×2 filters, default strides"),
            _block_case(rng, n=2, c=3, f=3, note="two RGB images, three filters, the defaults spelled out"),
            _empty_block_case(rng)]


def _empty_block_case(rng) -> Case:
    """An empty batch (N = 0) of 3-channel 10×9 images, three 3×3 filters, the default pool."""
    x, w, b = conv_inputs(rng, 1, 3, 10, 9, 3, 3, 3)
    return Case((x[:0], w, b), {"conv_stride": 1, "conv_padding": 1, "pool_size": 2, "pool_stride": 2},
                empty_batch())


def _hidden_block(conv_strides=(1,), conv_paddings=(0,), pools=((2, 2),), must_fail=(), with_empty=False):
    def make(rng):
        def one(rng):
            pool_size, pool_stride = pools[int(rng.integers(len(pools)))]
            return _block_case(rng, int(rng.choice(conv_strides)), int(rng.choice(conv_paddings)),
                               pool_size, pool_stride)
        cases = [_redraw(rng, one, _block, [*_RELU_AND_POOL, *must_fail]) for _ in range(3)]
        return cases + ([_empty_block_case(rng)] if with_empty else [])
    return make


CONV_RELU_POOL = Check(
    id=f"{STEM}.conv_relu_pool_forward",
    params=("x", "w", "b"),
    reference=_block,
    groups=[
        Group("a 6×6 ramp and a small RGB batch", _visible_block, visible=True),
        Group("randomized shapes, conv stride 1, 2×2 pool with stride 2", _hidden_block()),
        Group("randomized conv stride (2 or 3)", _hidden_block(conv_strides=(2, 3),
                                                              must_fail=[_conv_stride_ignored])),
        Group("randomized conv padding (1 or 2), and an empty batch", _hidden_block(
            conv_paddings=(1, 2), must_fail=[_conv_padding_ignored], with_empty=True)),
        Group("overlapping pools: window 3 or 4, stride 2 or 3", _hidden_block(
            pools=((3, 2), (4, 2), (4, 3)), must_fail=[_pool_stride_is_size])),
    ],
    mistakes=BLOCK_MISTAKES,
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    summary="convolution, then ReLU, then max pooling, each moved by its own stride",
)


# =============================================================================================
# trace_shapes
# =============================================================================================


def _trace_reference(input_shape, layers):
    """Run a zero tensor through the reference ops and record the shape after every layer."""
    volume = np.zeros((1, *input_shape))
    shapes = []
    for layer in layers:
        kind = layer["type"]
        if kind == "conv":
            weights = np.zeros((layer["filters"], volume.shape[1], layer["kernel"], layer["kernel"]))
            volume = ref.conv2d(volume, weights, None, layer["stride"], layer["padding"])
        elif kind == "pool":
            volume = ref.max_pool2d(volume, layer["kernel"], layer["stride"])
        elif kind == "relu":
            volume = ref.relu(volume)
        else:
            raise ValueError(f"unknown layer type {kind!r}")
        shapes.append(tuple(int(s) for s in volume.shape[1:]))
    return tuple(shapes)


def _trace_with(size, conv_channels, pool_channels=False, input_first=False, square=False):
    """A wrong tracer: ``size(n, kernel, stride, padding, kind)`` computes one spatial size."""
    def trace(input_shape, layers):
        channels, height, width = input_shape
        if square:
            width = height
        shapes = [tuple(input_shape)] if input_first else []
        for layer in layers:
            kind = layer["type"]
            if kind in ("conv", "pool"):
                k, s = (layer[key] for key in ("kernel", "stride"))
                p = layer["padding"] if kind == "conv" else 0
                if kind == "conv":
                    channels = conv_channels(channels, layer)
                elif pool_channels:
                    channels = size(channels, k, s, 0, "pool")
                height, width = size(height, k, s, p, kind), size(width, k, s, p, kind)
            if square:
                width = height
            shapes.append((channels, height, width))
        return tuple(shapes)
    return trace


def _floor(n, k, s, p, kind):
    return (n + 2 * p - k) // s + 1


def _filters(c, layer):
    return layer["filters"]


_pool_changes_channels = _trace_with(_floor, _filters, pool_channels=True)
_conv_keeps_channels = _trace_with(_floor, lambda c, layer: c)
_ceil = _trace_with(lambda n, k, s, p, kind: math.ceil((n + 2 * p - k) / s) + 1, _filters)
_padding_once = _trace_with(lambda n, k, s, p, kind: (n + p - k) // s + 1, _filters)
_conv_stride_ignored_shapes = _trace_with(lambda n, k, s, p, kind: _floor(n, k, 1 if kind == "conv" else s, p, kind),
                                          _filters)
_pool_stride_ignored_shapes = _trace_with(lambda n, k, s, p, kind: _floor(n, k, 1 if kind == "pool" else s, p, kind),
                                          _filters)
_pool_halves = _trace_with(lambda n, k, s, p, kind: n // 2 if kind == "pool" else _floor(n, k, s, p, kind), _filters)
_input_listed = _trace_with(_floor, _filters, input_first=True)
_width_from_height = _trace_with(_floor, _filters, square=True)

TRACE_MISTAKES = [
    Mistake("input shape listed too", "return one shape per layer, the shape *after* it; leave the input's "
            "shape out.", _input_listed),
    Mistake("width computed from the height", "your shapes are square; inputs need not be. Compute W' from W "
            "the same way as H' from H.", _width_from_height),
    Mistake("conv keeps the input's channels", "a conv layer outputs one activation map per filter: after "
            "it, C is layer['filters'], whatever C was before.", _conv_keeps_channels),
    Mistake("pooling changes the number of channels", "pooling works on each activation map on its own: "
            "it shrinks H and W and keeps C. Your pool also shrank the channel axis, as if it pooled over "
            "channels.", _pool_changes_channels),
    Mistake("conv stride ignored", "a conv with stride S takes every S-th position, so fewer positions "
            "fit along each axis.",
            _conv_stride_ignored_shapes),
    Mistake("pool stride ignored", "a pool with stride S takes every S-th window, so fewer windows fit "
            "along each axis.",
            _pool_stride_ignored_shapes),
    Mistake("padding counted once", "padding adds P rows on top *and* P below (and P columns on each "
            "side).", _padding_once),
    Mistake("sizes rounded up (ceil instead of floor)", "a window that would hang over the edge does not "
            "count: the number of positions is rounded down.", _ceil),
    Mistake("pool always halves", "not every pool is 2×2 with stride 2: each pool's size comes from its own "
            "kernel and stride.", _pool_halves),
]


def _conv(filters, kernel, stride=1, padding=0):
    return {"type": "conv", "filters": filters, "kernel": kernel, "stride": stride, "padding": padding}


def _pool(kernel=2, stride=2):
    return {"type": "pool", "kernel": kernel, "stride": stride}


RELU = {"type": "relu"}


def _stack(rng, input_shape, blocks):
    """Random layers built from ``blocks``: each is a function (rng, C) -> a layer dict or None.
    Layers that would not fit are skipped, so every size stays positive."""
    channels, height, width = input_shape
    layers = []
    for block in blocks:
        layer = block(rng, channels)
        if layer is None:
            continue
        if layer["type"] != "relu":
            pad = layer.get("padding", 0)
            if layer["kernel"] > min(height, width) + 2 * pad:
                continue
        layers.append(layer)
        channels, height, width = _trace_reference((channels, height, width), [layer])[0]
    return layers


def _random_input(rng, low=12, high=40):
    c = int(rng.integers(1, 5))
    h = int(rng.integers(low, high))
    w = h + int(rng.choice([-1, 1])) * int(rng.integers(1, 7))  # never square
    return (c, h, w)


def _new_filters(rng, c):
    return int(rng.choice([f for f in (2, 3, 4, 6, 8, 12, 16, 32) if f != c]))


def _conv_block(rng, c, strides=(1,), paddings=(0,)):
    return _conv(_new_filters(rng, c), int(rng.integers(1, 6)), int(rng.choice(strides)), int(rng.choice(paddings)))


def _pool_block(rng, c):
    kernel = int(rng.integers(2, 4))
    return _pool(kernel, int(rng.integers(2, kernel + 1)))


def _trace_case(make_blocks, must_fail):
    def one(rng):
        input_shape = _random_input(rng)
        layers = _stack(rng, input_shape, make_blocks(rng))
        return Case((input_shape, layers))
    return lambda rng: [_redraw(rng, one, _trace_reference, must_fail) for _ in range(3)]


_ALWAYS = [_conv_keeps_channels, _input_listed, _width_from_height]


def _conv_relu_blocks(rng):
    return [block for _ in range(int(rng.integers(2, 4))) for block in (_conv_block, lambda rng, c: RELU)]


def _strided_blocks(rng):
    conv = lambda rng, c: _conv_block(rng, c, strides=(2, 3), paddings=(1, 2))
    return [conv, lambda rng, c: RELU, conv, lambda rng, c: RELU]


def _pool_blocks(rng):
    return [_conv_block, lambda rng, c: RELU, _pool_block, _conv_block, lambda rng, c: RELU, _pool_block]


def _network_blocks(rng):
    conv = lambda rng, c: _conv_block(rng, c, strides=(1, 2), paddings=(0, 1, 2))
    return [conv, lambda rng, c: RELU, _pool_block, conv, lambda rng, c: RELU, conv, lambda rng, c: RELU,
            _pool_block]


SHAPES_CNN_LAYERS = [_conv(8, 5), RELU, _pool(), _conv(16, 5), RELU, _pool()]


def _visible_trace(rng) -> list[Case]:
    return [Case(((3, 32, 32), [_conv(3, 5)]), note="the chapter's example: three 5×5×3 filters"),
            Case(((3, 32, 32), SHAPES_CNN_LAYERS), note="the trained network of this chapter")]


def _trace_again(cases, rng) -> list[Case]:
    """The visible cases at grading time: one conv layer, then a conv → ReLU → pool network built like the
    chapter's, on other square RGB inputs, with other filters and kernels. As in the notebook, every conv
    changes the number of channels, strides are 1 with no padding, and each 2×2 pool meets an even size
    (so rounding up and halving agree there, as they do on the chapter's network)."""
    filters, kernel, side = int(rng.choice([2, 4, 6, 8])), int(rng.choice([3, 5, 7])), int(rng.integers(16, 41))
    one = Case(((3, side, side), [_conv(filters, kernel)]),
               note=f"{filters} {kernel}×{kernel}×3 filters on a 3×{side}×{side} image")
    k1, k2, last = int(rng.choice([3, 5])), int(rng.choice([3, 5])), int(rng.integers(3, 7))
    pooled = 2 * last + k2 - 1  # the size after the first pool
    f1, f2 = (int(f) for f in rng.choice([4, 6, 8, 12, 16, 32], size=2, replace=False))
    layers = [_conv(f1, k1), RELU, _pool(), _conv(f2, k2), RELU, _pool()]
    side = 2 * pooled + k1 - 1
    return [one, Case(((3, side, side), layers), note=f"a network built like this chapter's, on 3×{side}×{side}")]


TRACE_SHAPES = Check(
    id=f"{STEM}.trace_shapes",
    params=("input_shape", "layers"),
    reference=_trace_reference,
    groups=[
        Group("three 5×5×3 filters, and the chapter's network, on 3×32×32", _visible_trace, visible=True,
              redraw=_trace_again),
        Group("randomized conv → ReLU stacks (stride 1, no padding)", _trace_case(_conv_relu_blocks, _ALWAYS)),
        Group("randomized strided, padded convolutions",
              _trace_case(_strided_blocks, [*_ALWAYS, _ceil, _padding_once, _conv_stride_ignored_shapes])),
        Group("randomized conv → ReLU → pool blocks (pools 2/2, 3/2, 3/3)",
              _trace_case(_pool_blocks, [*_ALWAYS, _pool_changes_channels, _ceil, _pool_stride_ignored_shapes,
                                         _pool_halves])),
        Group("randomized networks: strides, padding and pools together",
              _trace_case(_network_blocks, [*_ALWAYS, _pool_changes_channels, _ceil, _padding_once,
                                            _conv_stride_ignored_shapes, _pool_stride_ignored_shapes,
                                            _pool_halves])),
    ],
    mistakes=TRACE_MISTAKES,
    summary="conv: as many channels as filters, H and W from the window, stride and padding; pool: "
            "channels kept, H and W from the window and stride; ReLU: unchanged",
)


# =============================================================================================
# receptive_field
# =============================================================================================


def _receptive_field_reference(layers):
    """Measure it: the input pixels on which one output unit's value depends, found with autograd.

    A 1-D stack of all-ones convolutions (a 2-D one is the same along each axis) is run on an input
    long enough for any stack drawn here; the gradient of the first output unit is positive
    exactly on the pixels in its receptive field, and zero elsewhere.
    """
    strides = math.prod(stride for _, stride in layers) if layers else 1
    length = 1 + sum(kernel for kernel, _ in layers) * strides  # generous: >= the receptive field
    x = torch.zeros(1, 1, length, dtype=torch.float64, requires_grad=True)
    out = x
    for size, step in layers:
        out = F.conv1d(out, torch.ones(1, 1, size, dtype=torch.float64), stride=step)
    out[0, 0, 0].backward()
    support = torch.nonzero(x.grad[0, 0]).flatten()
    return int(support.max() - support.min() + 1)


def _rf_formula(layers, grow=lambda r, k, j, s: r + (k - 1) * j, start=1):
    r, j = start, 1
    for size, step in layers:
        r = grow(r, size, j, step)
        j *= step
    return r


def _rf_sum(layers):
    return sum(kernel for kernel, _ in layers)


def _rf_no_strides(layers):
    return 1 + sum(kernel - 1 for kernel, _ in layers)


def _rf_product(layers):
    return math.prod(kernel for kernel, _ in layers)


def _rf_from_zero(layers):
    return _rf_formula(layers, start=0)


def _rf_kernel_not_minus_one(layers):
    return _rf_formula(layers, grow=lambda r, k, j, s: r + k * j)


def _rf_jump_too_early(layers):
    return _rf_formula(layers, grow=lambda r, k, j, s: r + (k - 1) * j * s)


def _rf_times_strides(layers):
    """Multiplying the receptive field by each stride instead of tracking a jump."""
    r = 1
    for size, step in layers:
        r = (r + size - 1) * step
    return r


RF_MISTAKES = [
    Mistake("strides ignored (the jump is never updated)", "after a layer with stride s, one step in its "
            "output is s steps in its input. Keep track of how many input pixels apart two neighbouring "
            "units of each layer are (the jump): it scales what every later layer adds.", _rf_no_strides),
    Mistake("jump updated too early", "a layer grows the field with the jump of its *input*; its own "
            "stride only changes the jump seen by the layers after it.", _rf_jump_too_early),
    Mistake("off by one (started from r = 0)", "one input pixel is a receptive field of size 1: the count "
            "starts there, not at 0.", _rf_from_zero),
    Mistake("added k·j instead of (k - 1)·j", "the windows of two neighbouring units overlap: a k-wide "
            "window adds k - 1 new positions to the one it starts from, each a jump apart.",
            _rf_kernel_not_minus_one),
    Mistake("receptive field multiplied by the strides", "a stride does not enlarge the field of the layer "
            "itself; it spreads out the windows of the *next* layers. Track a separate jump j.",
            _rf_times_strides),
    Mistake("kernel sizes summed", "stacking a 3 on a 3 does not give 6: two windows that overlap by all but "
            "one pixel see 3 + (3 - 1) = 5 pixels. Each layer adds one less than its kernel size, "
            "scaled by the jump.", _rf_sum),
    Mistake("kernel sizes multiplied", "receptive fields add up, they do not multiply: each layer "
            "adds a number of positions to the field of the layers below it.", _rf_product),
]

_RF_ALWAYS = [_rf_sum, _rf_product, _rf_from_zero, _rf_kernel_not_minus_one]
_RF_STRIDED = [_rf_no_strides, _rf_jump_too_early, _rf_times_strides]


def _rf_case(min_layers, max_layers, kernels, strides, must_fail):
    def one(rng):
        depth = int(rng.integers(min_layers, max_layers + 1))
        return Case(([(int(rng.choice(kernels)), int(rng.choice(strides))) for _ in range(depth)],))
    return lambda rng: [_redraw(rng, one, _receptive_field_reference, must_fail) for _ in range(4)]


def _visible_rf(rng) -> list[Case]:
    return [Case(([(5, 1)],), note="one 5×5 conv: 5"),
            Case(([(5, 1), (5, 1)],), note="two 5×5 convs: 9"),
            Case(([(5, 1), (2, 2), (5, 1), (2, 2)],), note="this chapter's network: 16")]


def _rf_again(cases, rng) -> list[Case]:
    """The chapter's examples at grading time, with other kernel sizes: one conv, two convs, and a
    conv → pool → conv → pool network whose 2×2 pools have stride 2 (so every stride mistake shows)."""
    k1, k2, k3 = (int(k) for k in rng.choice([3, 5, 7], size=3))
    k4, k5 = (int(k) for k in rng.choice([3, 5, 7], size=2))
    return [Case(([(k1, 1)],), note=f"one {k1}×{k1} conv"),
            Case(([(k2, 1), (k3, 1)],), note=f"a {k2}×{k2} conv, then a {k3}×{k3} conv"),
            Case(([(k4, 1), (2, 2), (k5, 1), (2, 2)],), note="a network built like this chapter's")]


def _edge_rf(rng) -> list[Case]:
    k, s = int(rng.integers(2, 8)), int(rng.integers(2, 4))
    return [Case(([(k, s)],), note="a single strided layer: its kernel size"),
            Case(([(1, 1)] * int(rng.integers(2, 5)),), note="1×1 convolutions see one pixel"),
            Case(([],), note="no layers at all: a unit is a pixel")]


RECEPTIVE_FIELD = Check(
    id=f"{STEM}.receptive_field",
    params=("layers",),
    reference=_receptive_field_reference,
    groups=[
        Group("the chapter's examples: 5×5 convs and the trained network", _visible_rf, visible=True, redraw=_rf_again),
        Group("randomized stacks of stride-1 layers", _rf_case(2, 6, (2, 3, 5, 7), (1,), _RF_ALWAYS)),
        Group("randomized stacks with strides and pooling", _rf_case(3, 6, (1, 2, 3, 5), (1, 2, 3),
                                                                  _RF_ALWAYS + _RF_STRIDED), weight=2.0),
        Group("edge cases: one layer, 1×1 kernels, no layers", _edge_rf),
    ],
    mistakes=RF_MISTAKES,
    summary="one pixel to start; each layer adds its kernel size minus one, scaled by the jump below it",
)


CHECKS = [CONV_RELU_POOL, TRACE_SHAPES, RECEPTIVE_FIELD]

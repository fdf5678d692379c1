"""Checks for chapter 2, Convolution.

Over 500 lines: six exercises, from one sum of products to a whole im2col convolution.

The mistake library here names the classic convolution bugs: a flipped kernel (true
convolution instead of PyTorch's cross-correlation), the output size rounded the wrong way
or off by one, the bias missing or broadcast along the wrong axis, the stride ignored,
padding applied to the wrong axes, and the channel axis mixed up (NHWC read as NCHW).
Smaller libraries cover the pieces: one step of the sum of products (``conv_single_step``),
zero padding (``zero_pad``) and the unfolding of windows into columns (``im2col``).

Groups are built so that each classic mistake passes or fails a group whatever the seed
(a stride group always uses stride >= 2, a random batch always has two or more images, and
so on): the score of a known wrong answer is the same on every run.

The visible groups show what each exercise is about, so that ``check()`` in the notebook fails the
mistake the exercise warns against: stride 2 for both convolutions and for ``im2col``, pad = 0 for
``zero_pad``, and several channels for ``conv_single_step`` (its bias is added once, not once per channel).
"""

from __future__ import annotations

import math

import numpy as np

from .. import reference as ref
from ..reference import functional as F
from .base import FORBIDDEN, IMAGE_LIBRARIES, Case, Check, Group, Mistake
from .cases import conv_inputs, ramp
from .ch01_images_as_arrays import EMPTY_BATCH_EXPLAIN, empty_batch, empty_batch_mistake

STEM = "02-convolution"

# ---------------------------------------------------------------------- input generators


def _conv_case(rng, n, c, h, w, f, kh, kw, stride=1, padding=0, note="") -> Case:
    return Case(conv_inputs(rng, n, c, h, w, f, kh, kw), {"stride": stride, "padding": padding}, note)


def _random_conv(rng, strides=(1,), paddings=(0,), count=3) -> list[Case]:
    """Random shapes (often non-square), with stride and padding drawn from the given choices.

    Always two or more images (so mixing up the batch and filter axes shows) and never a 1×1
    kernel (so a flipped kernel shows); the edge-case group covers N = 1 and 1×1 kernels.
    """
    cases = []
    for _ in range(count):
        kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        if kh == kw == 1:
            kw = 2
        stride = int(rng.choice(strides))
        padding = int(rng.choice(paddings))
        h = int(rng.integers(max(kh, 2), 10)) + stride
        w = int(rng.integers(max(kw, 2), 10)) + 2 * stride + 1  # non-square on purpose
        cases.append(_conv_case(rng, int(rng.integers(2, 4)), int(rng.integers(1, 4)), h, w,
                                int(rng.integers(2, 5)), kh, kw, stride, padding))
    return cases


# ---------------------------------------------------------------------- mistakes


def _flipped(x, w, b, stride=1, padding=0):
    return ref.conv2d(x, w[:, :, ::-1, ::-1].copy(), b, stride, padding)


def _no_bias(x, w, b, stride=1, padding=0):
    return ref.conv2d(x, w, None, stride, padding)


def _bias_wrong_axis(x, w, b, stride=1, padding=0):
    out = ref.conv2d(x, w, None, stride, padding)
    return out + b  # broadcasts along the last (width) axis instead of the filter axis


def _stride_ignored(x, w, b, stride=1, padding=0):
    return ref.conv2d(x, w, b, 1, padding)


def _stride_in_size_only(x, w, b, stride=1, padding=0):
    """The output has the right size, but window (i, j) starts at (i, j) instead of (i*S, j*S)."""
    out = ref.conv2d(x, w, b, 1, padding)
    rows = ref.conv_output_size(x.shape[2], w.shape[2], stride, padding)
    cols = ref.conv_output_size(x.shape[3], w.shape[3], stride, padding)
    return out[:, :, :rows, :cols]


def _batch_filter_swapped(x, w, b, stride=1, padding=0):
    """A (F, N, H', W') result reshaped to (N, F, H', W') without transposing first."""
    out = ref.conv2d(x, w, b, stride, padding)
    return np.ascontiguousarray(out.transpose(1, 0, 2, 3)).reshape(out.shape)


def _weights_other_order(x, w, b, stride=1, padding=0):
    """Weight rows flattened as (KH, KW, C) while the columns are in (C, KH, KW) order."""
    f, c, kh, kw = w.shape
    return ref.conv2d(x, w.transpose(0, 2, 3, 1).reshape(f, c, kh, kw), b, stride, padding)


def _padding_ignored(x, w, b, stride=1, padding=0):
    return ref.conv2d(x, w, b, stride, 0)


def _padded_channels(x, w, b, stride=1, padding=0):
    """np.pad(x, p) pads N and C too: image n of the padded batch (the first p are zeros) has C + 2p
    channels, a ValueError against the weights when p > 0 and C > 1; the right output when p = 0."""
    xpad = np.pad(x, padding)
    kh, kw = w.shape[-2:]
    out_h = ref.conv_output_size(x.shape[2], kh, stride, padding)
    out_w = ref.conv_output_size(x.shape[3], kw, stride, padding)
    out = np.zeros((x.shape[0], w.shape[0], out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = xpad[:x.shape[0], None, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.sum(window * w[None], axis=(2, 3, 4)) + b
    return out


def _padding_rows_only(x, w, b, stride=1, padding=0):
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (0, 0)))
    return ref.conv2d(padded, w, b, stride, 0)


def _padding_cols_only(x, w, b, stride=1, padding=0):
    padded = np.pad(x, ((0, 0), (0, 0), (0, 0), (padding, padding)))
    return ref.conv2d(padded, w, b, stride, 0)


def _padding_one_side(x, w, b, stride=1, padding=0):
    padded = np.pad(x, ((0, 0), (0, 0), (padding, 0), (padding, 0)))
    return ref.conv2d(padded, w, b, stride, 0)


def _channels_last(x, w, b, stride=1, padding=0):
    """The student treated x as (N, H, W, C): the result comes out with its axes mixed."""
    out = ref.conv2d(x, w, b, stride, padding)
    return np.ascontiguousarray(out.transpose(0, 2, 3, 1)).reshape(out.shape)


def _output_ceil(x, w, b, stride=1, padding=0):
    return _resized(x, w, b, stride, padding, +1)


def _output_minus_one(x, w, b, stride=1, padding=0):
    return _resized(x, w, b, stride, padding, -1)


def _last_windows_missing(x, w, b, stride=1, padding=0):
    """Loops over output positions that stop one short: the last row and column of the output stay 0."""
    out = ref.conv2d(x, w, b, stride, padding)
    out[:, :, -1, :] = 0.0
    out[:, :, :, -1] = 0.0
    return out


def _resized(x, w, b, stride, padding, delta):
    """What a loop over the wrong number of positions gives: the right values, one row/col more or less."""
    out = ref.conv2d(x, w, b, stride, padding)
    n, f, h, wd = out.shape
    bigger = np.zeros((n, f, max(h + delta, 0), max(wd + delta, 0)))
    rows, cols = min(h, h + delta), min(wd, wd + delta)
    bigger[:, :, :rows, :cols] = out[:, :, :rows, :cols]
    return bigger


def _negative_pad_slice(reference):
    """The input copied into a zero array through a slice that ends at minus the padding: right when
    padding > 0, a ValueError when padding = 0 (the slice is empty, and the image does not fit into it:
    NumPy's own error, made by the same copy)."""
    def apply(*args, **kwargs):
        padding = kwargs.get("padding", 0)
        if padding == 0:
            x = args[0]
            np.zeros(x.shape)[:, :, padding:-padding, padding:-padding] = x
        return reference(*args, **kwargs)
    return apply


def empty_batch_raising(reference, *failures) -> list[Mistake]:
    """The empty batch not handled, one model per way NumPy refuses it: each of ``failures`` is a function
    of the call's arguments that does, on an empty batch (N = 0), what the mistaken code does (stacking an
    empty list, a reshape with a -1) and so raises NumPy's own error, with its own message; for N >= 1
    the model gives the reference's value. Stacking and concatenating image by image are always among them."""
    def model(failure):
        def apply(x, *args, **kwargs):
            if len(x) == 0:
                failure(x, *args, **kwargs)
            return reference(x, *args, **kwargs)
        return apply
    stacked = (lambda x, *args, **kwargs: np.stack([]), lambda x, *args, **kwargs: np.concatenate([]))
    return [Mistake("empty batch not handled", EMPTY_BATCH_EXPLAIN, model(failure))
            for failure in stacked + failures]


def _cols_reshaped_with(kind):
    """What im2col's last reshape does on an empty batch with a -1 for the rows ("rows") or the columns."""
    def failure(x, kh, kw, stride=1, padding=0):
        n, c = x.shape[:2]
        columns = (ref.conv_output_size(x.shape[2], kh, stride, padding)
                   * ref.conv_output_size(x.shape[3], kw, stride, padding))
        np.zeros(0).reshape((n, -1, columns) if kind == "rows" else (n, c * kh * kw, -1))
    return failure


NEGATIVE_PAD_SLICE = ("slice [pad:-pad] breaks when pad is 0", ("a slice that ends at minus the padding is empty "
                      "when the padding is 0, because -0 is 0, so the image no longer fits into the padded array. "
                      "Count the end of the slice from its start instead."))


CONV_MISTAKES = [
    Mistake("kernel flipped", "your output matches a true convolution, with the kernel rotated by 180°. "
            "CNN layers (and torch.nn.functional.conv2d) compute cross-correlation: each weight "
            "multiplies the pixel at the same offset in the window, and the kernel is never rotated.", _flipped),
    Mistake("bias missing", "your output is right except that the bias b[f] was never added.", _no_bias),
    Mistake("bias broadcast along the wrong axis", "b has one entry per filter, so it belongs to the filter "
            "axis (axis 1). A 1-D array broadcasts along the last axis, the width, unless it is given a "
            "shape that lines it up with axis 1.", _bias_wrong_axis),
    Mistake("stride ignored", "your output is what stride=1 gives. Move the window by `stride` pixels: "
            "the window for output (i, j) starts at row i*stride and column j*stride.", _stride_ignored),
    Mistake("window not moved by the stride", "your output has the right size, but its values are those of "
            "stride 1: the window for output (i, j) must start at row i*stride and column j*stride, "
            "not at row i and column j.", _stride_in_size_only),
    Mistake("padding ignored", "your output is what padding=0 gives: pad x with zeros first.", _padding_ignored),
    Mistake("padding applied to the wrong axes", "only the two spatial axes (H and W) are padded. "
            "a single width given to np.pad pads every axis, including N and C, so each window gets 2p "
            "extra channels. np.pad accepts one pair of widths per axis.", _padded_channels),
    Mistake("padding applied to the wrong axes (rows only)", "pad both spatial axes: the rows (H) "
            "and the columns (W).", _padding_rows_only),
    Mistake("padding applied to the wrong axes (columns only)", "pad both spatial axes: the rows "
            "(H) and the columns (W).", _padding_cols_only),
    Mistake("padding on one side only", "pad both sides of each spatial axis: p rows on top and p below, "
            "p columns on the left and p on the right.", _padding_one_side),
    Mistake("channel axis mixed up", "the values are right but laid out as (N, H', W', F). The course uses "
            "NCHW, as PyTorch does: x is (N, C, H, W) and the output is (N, F, H', W').", _channels_last),
    Mistake("batch and filter axes mixed up", "the right numbers are in your output, but in the wrong places: "
            "they were computed in (F, N, H', W') order and reshaped to (N, F, H', W'). A reshape never moves "
            "an axis: reshape to the order the product is in, then move the axes.",
            _batch_filter_swapped),
    Mistake("weights flattened in a different order than the columns", "row r of the columns holds "
            "x[c, p, q] with r = c*KH*KW + p*KW + q, so the weights must be flattened in the same "
            "order. Transposing w before reshaping pairs each pixel with the wrong weight.",
            _weights_other_order),
    Mistake("output size off by one (ceil instead of floor)", "your output has one extra row and column. "
            "The number of window positions is (H + 2P - KH) // S + 1, rounded down.", _output_ceil),
    Mistake("output size off by one (too small)", "your output is missing the last row and column of window "
            "positions: there are (H + 2P - KH) // S + 1 of them along the rows, and the loops must "
            "visit every one.", _output_minus_one),
    Mistake("loop bound off by one", "the output has the right shape, but its last row and column were never "
            "computed (they are still 0): the loops over output positions stop one short. They must visit "
            "all H_out rows and W_out columns; look at the ends of your ranges.", _last_windows_missing),
    Mistake(*NEGATIVE_PAD_SLICE, _negative_pad_slice(lambda x, w, b, stride=1, padding=0:
                                                      ref.conv2d(x, w, b, stride, padding))),
    empty_batch_mistake(lambda x, w, b, stride=1, padding=0: ref.conv2d(x, w, b, stride, padding)),
    *empty_batch_raising(lambda x, w, b, stride=1, padding=0: ref.conv2d(x, w, b, stride, padding)),
]


# ---------------------------------------------------------------------- conv_output_size


def _size_cases(rng) -> list[Case]:
    """Twelve random sizes, the first two chosen so that every classic mistake shows on any seed:
    one with stride 1 and padding 2 or 3 (padding counted once, told apart from a forgotten + 1),
    one whose division by a stride of 2 or more leaves a remainder (rounding up, stride ignored)."""
    kernel, padding = int(rng.integers(1, 8)), int(rng.integers(2, 4))
    cases = [Case((int(rng.integers(kernel, 64)), kernel), {"stride": 1, "padding": padding})]
    kernel, stride, padding = int(rng.integers(1, 8)), int(rng.integers(2, 5)), int(rng.integers(0, 4))
    size = int(rng.integers(max(1, kernel - 2 * padding), 60))
    while (size + 2 * padding - kernel) % stride == 0:
        size += 1
    cases.append(Case((size, kernel), {"stride": stride, "padding": padding}))
    for _ in range(10):
        kernel = int(rng.integers(1, 8))
        stride = int(rng.integers(1, 5))
        padding = int(rng.integers(0, 4))
        size = int(rng.integers(max(1, kernel - 2 * padding), 64))
        cases.append(Case((size, kernel), {"stride": stride, "padding": padding}))
    return cases


def _source_again(cases, rng) -> list[Case]:
    """The source's example at grading time: another size and filter, stride 1 and no padding, given
    both by default and by name."""
    kernel = int(rng.integers(2, 8))
    size = int(rng.integers(kernel + 1, 65))
    return [Case((size, kernel)), Case((size, kernel), {"stride": 1, "padding": 0})]


def _strides_again(cases, rng) -> list[Case]:
    """The notebook's three strided cases with other sizes and filters, each keeping its stride, padding
    and what the division leaves: stride 2 and padding 1 dividing evenly, stride 3 leaving a remainder
    (rounding up shows), and padding 2 around a filter as large as the input."""
    kernel = int(rng.integers(2, 8))
    even = Case((kernel + 2 * int(rng.integers(1, 11)), kernel), {"stride": 2, "padding": 1})
    kernel = int(rng.integers(2, 6))
    leftover = Case((kernel + 3 * int(rng.integers(1, 9)) + int(rng.integers(1, 3)), kernel), {"stride": 3, "padding": 0})
    kernel = int(rng.integers(2, 8))
    return [even, leftover, Case((kernel, kernel), {"stride": 2, "padding": 2})]


OUTPUT_SIZE = Check(
    id=f"{STEM}.conv_output_size",
    params=("size", "kernel"),
    reference=lambda size, kernel, stride=1, padding=0: ref.conv_output_size(size, kernel, stride, padding),
    groups=[
        Group("the source's example: 32×32 input, 5×5 filter",
              lambda rng: [Case((32, 5)), Case((32, 5), {"stride": 1, "padding": 0})], visible=True,
              redraw=_source_again),
        Group("stride and padding", lambda rng: [Case((7, 3), {"stride": 2, "padding": 1}),
                                                  Case((10, 3), {"stride": 3, "padding": 0}),
                                                  Case((5, 5), {"stride": 2, "padding": 2})], visible=True,
              redraw=_strides_again),
        Group("randomized sizes", _size_cases, weight=2.0),
    ],
    mistakes=[
        Mistake("rounded up (ceil instead of floor)", "a window that would hang over the edge does not count: "
                "round (W - F + 2P) / S down before adding 1.",
                lambda size, kernel, stride=1, padding=0: math.ceil((size - kernel + 2 * padding) / stride) + 1),
        Mistake("forgot the + 1", "the window's first position counts too, not only the steps it takes "
                "after it.",
                lambda size, kernel, stride=1, padding=0: (size - kernel + 2 * padding) // stride),
        Mistake("padding counted once", "padding adds P pixels on *both* sides: use 2P.",
                lambda size, kernel, stride=1, padding=0: (size - kernel + padding) // stride + 1),
        Mistake("stride ignored", "the window moves S pixels at a time, so the distance it can travel "
                "is covered in fewer steps.",
                lambda size, kernel, stride=1, padding=0: size - kernel + 2 * padding + 1),
    ],
    summary="the number of window positions along one axis, rounded down",
)


# ---------------------------------------------------------------------- conv_forward_naive


def _visible_conv(rng) -> list[Case]:
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    return [Case((ramp((1, 1, 4, 4)), w, np.array([0.5])), {"stride": 1, "padding": 0},
                 "4×4 ramp, 2×2 diagonal filter"),
            _conv_case(rng, 2, 3, 6, 7, 2, 3, 3, note="two images, RGB, 3×3×3 filters"),
            _conv_case(rng, 1, 3, 32, 32, 2, 5, 5, note="one 32×32 RGB image, two 5×5×3 filters, as in the chapter"),
            _conv_case(rng, 1, 1, 12, 12, 2, 3, 3, padding=1, note="one gray image, two 3×3 filters, padding 1: "
                       "the maps keep the image's size, as the chapter's photos"),
            *_then_empty(_conv_case(rng, 0, 3, 6, 7, 2, 3, 3, note=empty_batch()),
                         _conv_case(rng, 1, 2, 7, 7, 2, 3, 3, stride=2, note="one 7×7 image, two 3×3 filters, "
                                    "stride 2: window (i, j) starts at row 2i and column 2j, a 3×3 map"))]


def _then_empty(empty: Case, *cases: Case) -> list[Case]:
    """``cases``, then the empty batch ``empty``, which was drawn before them (so that adding cases to a
    visible group kept the numbers of the cases it had)."""
    return [*cases, empty]


def _edge_conv(rng) -> list[Case]:
    return [
        _conv_case(rng, 2, 3, 5, 6, 4, 1, 1, note="edge case: 1×1 kernel"),
        _conv_case(rng, 1, 2, 3, 4, 3, 2, 2, stride=1, padding=3, note="edge case: padding larger than the kernel"),
        _conv_case(rng, 1, 1, 7, 3, 2, 7, 3, note="edge case: kernel as large as the input"),
        _conv_case(rng, 3, 2, 9, 5, 1, 3, 2, stride=2, padding=1, note="non-square input and kernel"),
        _conv_case(rng, 0, 2, 5, 6, 3, 2, 3, stride=2, padding=1, note=empty_batch()),
    ]


def _shape_groups(visible: Group, randomized, edge) -> list[Group]:
    """The visible group, four groups of ``randomized(rng, strides, paddings)`` (stride 1 and no
    padding; stride 2 or 3; padding 1 to 3; both), and the edge cases: conv and im2col alike."""
    return [
        visible,
        Group("randomized shapes, stride 1, no padding", lambda rng: randomized(rng)),
        Group("randomized stride (2 or 3)", lambda rng: randomized(rng, strides=(2, 3))),
        Group("randomized padding (1 to 3)", lambda rng: randomized(rng, paddings=(1, 2, 3))),
        Group("randomized stride and padding", lambda rng: randomized(rng, (2, 3), (1, 2, 3))),
        Group("edge cases", edge),
    ]


def _conv_check(function: str, visible_name: str) -> Check:
    return Check(
        id=f"{STEM}.{function}",
        params=("x", "w", "b"),
        reference=lambda x, w, b, stride=1, padding=0: ref.conv2d(x, w, b, stride, padding),
        groups=_shape_groups(Group(visible_name, _visible_conv, visible=True), _random_conv, _edge_conv),
        mistakes=CONV_MISTAKES,
        forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    )


CONV_NAIVE = _conv_check("conv_forward_naive", "a 4×4 ramp, small RGB batches, padding 1 and stride 2")


# ---------------------------------------------------------------------- conv_single_step


def _single_step_reference(x_slice, w, b):
    out = ref.conv2d(x_slice[None], w[None], np.array([b], dtype=np.float64))
    return float(out.reshape(()))


def _slice_case(rng, c, kh, kw, note="") -> Case:
    bias = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))  # never (close to) zero
    return Case((rng.standard_normal((c, kh, kw)), rng.standard_normal((c, kh, kw)), bias), note=note)


def _visible_single_step(rng) -> list[Case]:
    x_slice = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    w = np.array([[[1.0, 0.0], [0.0, -1.0]]])
    return [Case((x_slice, w, 0.5), note="1·1 + 2·0 + 3·0 + 4·(-1) + 0.5 = -2.5"),
            _slice_case(rng, 3, 5, 5, "a 5×5×3 receptive field: 75 products")]


def _random_slices(rng) -> list[Case]:
    return [_slice_case(rng, int(rng.integers(2, 5)), int(rng.integers(2, 7)), int(rng.integers(2, 7)))
            for _ in range(3)]


def _one_by_one_slices(rng) -> list[Case]:
    return [_slice_case(rng, int(rng.integers(2, 9)), 1, 1, "edge case: a 1×1 window across channels")
            for _ in range(2)]


SINGLE_STEP = Check(
    id=f"{STEM}.conv_single_step",
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    params=("x_slice", "w", "b"),
    reference=_single_step_reference,
    groups=[
        Group("a hand-worked 1×2×2 example and a 3×5×5 window", _visible_single_step, visible=True),
        Group("random windows: 2 to 4 channels, non-square", _random_slices, weight=2.0),
        Group("edge case: 1×1 windows", _one_by_one_slices),
    ],
    mistakes=[
        Mistake("bias missing", "the sum of products is right, but b was never added.",
                lambda x_slice, w, b: float(np.sum(x_slice * w))),
        Mistake("bias added once per channel (C times)", "your value is the sum of the products plus C·b: the "
                "bias was added once for each of the C channels, for example inside a loop over the channels (on a "
                "1×1 window, adding b to every product does the same). The bias is added once, after the sum over "
                "every channel, row and column.",
                lambda x_slice, w, b: float(np.sum(x_slice * w) + x_slice.shape[0] * b)),
        Mistake("bias added to every product", "adding b inside the sum adds it once per product "
                "(C·KH·KW times). The bias is added once, after the sum.",
                lambda x_slice, w, b: float(np.sum(x_slice * w + b))),
        Mistake("mean instead of sum", "your value is the average of the products. A filter adds its "
                "products up; it does not average them.", lambda x_slice, w, b: float(np.mean(x_slice * w) + b)),
        Mistake("kernel flipped", "your value is what the filter rotated by 180° gives. Pair x_slice[c, p, q] "
                "with w[c, p, q], the same index, without reversing w.",
                lambda x_slice, w, b: float(np.sum(x_slice * w[:, ::-1, ::-1]) + b)),
        Mistake("only the first channel", "the filter is as deep as its input: sum the products over all "
                "C channels, not just x_slice[0] * w[0].",
                lambda x_slice, w, b: float(np.sum(x_slice[0] * w[0]) + b)),
        Mistake("matrix product instead of elementwise product", "x_slice @ w (or np.dot) multiplies "
                "matrices, rows by columns. A filter multiplies matching entries one by one, then adds them all up.",
                lambda x_slice, w, b: float(np.sum(x_slice @ w) + b)),
    ],
    summary="the products of matching window and filter entries, summed, plus the bias once",
)


# ---------------------------------------------------------------------- zero_pad


def _zero_pad_reference(x, pad):
    return ref.to_numpy(F.pad(ref.to_tensor(x), (pad, pad, pad, pad)))


def _visible_pad(rng) -> list[Case]:
    return [Case((np.arange(1.0, 7.0).reshape(1, 1, 2, 3), 1), note="one 2×3 image, pad 1 -> 4×5"),
            Case((rng.standard_normal((2, 3, 4, 5)), 2), note="two RGB images, pad 2"),
            Case((rng.standard_normal((2, 3, 32, 32)), 4), note="two 32×32 RGB images, pad 4, as in the chapter"),
            Case((np.arange(1.0, 7.0).reshape(1, 1, 2, 3), 0), note="the same 2×3 image with pad 0: returned "
                                                                   "unchanged, still 2×3"),
            Case((rng.standard_normal((0, 3, 4, 5)), 1), note=empty_batch())]


def _random_pad(rng) -> list[Case]:
    return [Case((rng.standard_normal((int(rng.integers(1, 4)), int(rng.integers(1, 5)),
                                       int(rng.integers(2, 9)), int(rng.integers(2, 9)))),
                  int(rng.integers(1, 4)))) for _ in range(3)]


def _pad_zero(rng) -> list[Case]:
    return [Case((rng.standard_normal((2, 3, 4, 5)), 0), note="edge case: pad = 0 changes nothing"),
            Case((rng.standard_normal((1, 1, 3, 3)), 0), note="edge case: pad = 0 changes nothing")]


def _pad_odd_shapes(rng) -> list[Case]:
    return [Case((rng.standard_normal((1, 1, 2, 7)), int(rng.integers(4, 7))), note="padding wider than the image"),
            Case((rng.standard_normal((2, 5, 1, 6)), 1), note="a one-row image"),
            Case((rng.standard_normal((0, 2, 3, 4)), 2), note=empty_batch())]


def _np_pad(widths, **kwargs):
    return lambda x, pad: np.pad(x, [(pad * a, pad * b) for a, b in widths], **kwargs)


_SPATIAL = ((0, 0), (0, 0), (1, 1), (1, 1))


def _sliced_with_minus_pad(x, pad):
    """out[:, :, pad:-pad, pad:-pad] = x: right when pad > 0, a ValueError when pad = 0 (the slice is empty)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    out[:, :, pad:-pad, pad:-pad] = x
    return out


ZERO_PAD = Check(
    id=f"{STEM}.zero_pad",
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    params=("x", "pad"),
    reference=_zero_pad_reference,
    groups=[
        Group("a 2×3 image with pad 1 and pad 0, and RGB batches with pad 2 and 4", _visible_pad, visible=True),
        Group("random batches, pad 1 to 3", _random_pad, weight=2.0),
        Group("edge case: pad = 0", _pad_zero),
        Group("edge cases: thin images, wide padding", _pad_odd_shapes),
    ],
    mistakes=[
        Mistake("padding applied to every axis", "a single width given to np.pad pads all four axes, so N "
                "and C grow too. Pad only H and W: np.pad accepts one pair of widths per axis.", _np_pad([(1, 1)] * 4)),
        Mistake("padding applied to the wrong axes (N and C)", "the axes are (N, C, H, W): the spatial axes "
                "are the last two, and only they are padded.",
                _np_pad(((1, 1), (1, 1), (0, 0), (0, 0)))),
        Mistake("padding applied to the wrong axes (C and H, as if x were NHWC)", "this course stores images "
                "as (N, C, H, W), not (N, H, W, C): pad axes 2 and 3.", _np_pad(((0, 0), (1, 1), (1, 1), (0, 0)))),
        Mistake("padding applied to the wrong axes (rows only)", "pad the columns (W, the last axis) too.",
                _np_pad(((0, 0), (0, 0), (1, 1), (0, 0)))),
        Mistake("padding applied to the wrong axes (columns only)", "pad the rows (H, axis 2) too.",
                _np_pad(((0, 0), (0, 0), (0, 0), (1, 1)))),
        Mistake("padding on one side only", "each spatial axis gets pad zeros on *both* sides (top and "
                "bottom, left and right); yours are only at the top and the left.",
                _np_pad(((0, 0), (0, 0), (1, 0), (1, 0)))),
        Mistake("padding on one side only", "each spatial axis gets pad zeros on *both* sides (top and "
                "bottom, left and right); yours are only at the bottom and the right.",
                _np_pad(((0, 0), (0, 0), (0, 1), (0, 1)))),
        Mistake("padded with ones, not zeros", "zero padding adds zeros: look at the value your border "
                "is filled with.", _np_pad(_SPATIAL, constant_values=1.0)),
        Mistake("border pixels repeated, not zeros", "the border repeats the image's edge pixels "
                "outwards (np.pad's edge mode); zero padding adds a constant border of zeros.", _np_pad(_SPATIAL, mode="edge")),
        Mistake("image mirrored into the border, not zeros", "the border mirrors the image (np.pad's reflect "
                "mode); zero padding adds a constant border of zeros.", _np_pad(_SPATIAL, mode="reflect")),
        Mistake("slice [pad:-pad] breaks when pad is 0", "a slice that ends at minus pad is empty when pad = 0, "
                "because -0 is 0, so the image no longer fits into it. Count the end of the slice from its "
                "start instead.",
                _sliced_with_minus_pad),
    ],
    summary="pad zeros on both sides of the two spatial axes, and nothing on N or C",
)


# ---------------------------------------------------------------------- im2col


def _cols_case(rng, n, c, h, w, kh, kw, stride=1, padding=0, note="") -> Case:
    return Case((rng.standard_normal((n, c, h, w)), kh, kw), {"stride": stride, "padding": padding}, note)


def _random_cols(rng, strides=(1,), paddings=(0,), count=3) -> list[Case]:
    """Random shapes with two or more channels, kernels at least 2×2 and at least two window
    positions along each axis, so that every ordering mistake shows on any seed."""
    cases = []
    for _ in range(count):
        kh, kw = int(rng.integers(2, 5)), int(rng.integers(2, 5))
        stride, padding = int(rng.choice(strides)), int(rng.choice(paddings))
        h = kh + stride + int(rng.integers(0, 5))
        w = kw + stride + int(rng.integers(1, 6))
        cases.append(_cols_case(rng, int(rng.integers(1, 4)), int(rng.integers(2, 4)), h, w, kh, kw,
                                stride, padding))
    return cases


def _visible_cols(rng) -> list[Case]:
    return [Case((ramp((1, 1, 3, 3)), 2, 2), {"stride": 1, "padding": 0},
                 "a 3×3 ramp, 2×2 windows: 4 rows, 4 columns"),
            _cols_case(rng, 2, 3, 5, 6, 3, 2, note="two RGB images, 3×2 windows"),
            Case((ramp((1, 1, 5, 5)), 3, 3), {"stride": 2, "padding": 0},
                 "a 5×5 ramp, 3×3 windows, stride 2: 9 rows, 4 columns (the windows at rows and columns 0 and 2)"),
            _cols_case(rng, 0, 3, 5, 6, 3, 2, note=empty_batch())]


def _edge_cols(rng) -> list[Case]:
    return [
        _cols_case(rng, 2, 3, 4, 5, 1, 1, note="edge case: 1×1 windows"),
        _cols_case(rng, 1, 2, 4, 3, 4, 3, note="edge case: the window is the whole image"),
        _cols_case(rng, 2, 2, 5, 8, 1, 3, stride=2, padding=1, note="a 1×3 window, stride 2, padding 1"),
        _cols_case(rng, 0, 2, 5, 6, 2, 3, stride=2, padding=1, note=empty_batch()),
    ]


def _cols_as_windows(cols, n, c, kh, kw):
    """(N, C*KH*KW, L) as (N, C, KH, KW, L), every size given (a -1 cannot be inferred for an empty batch)."""
    return cols.reshape(n, c, kh, kw, cols.shape[-1])


def _cols_rows_channel_last(x, kh, kw, stride=1, padding=0):
    n, c = x.shape[:2]
    cols = _cols_as_windows(ref.im2col(x, kh, kw, stride, padding), n, c, kh, kw)
    return np.ascontiguousarray(cols.transpose(0, 2, 3, 1, 4)).reshape(n, c * kh * kw, cols.shape[-1])


def _cols_rows_kw_first(x, kh, kw, stride=1, padding=0):
    n, c = x.shape[:2]
    cols = _cols_as_windows(ref.im2col(x, kh, kw, stride, padding), n, c, kh, kw)
    return np.ascontiguousarray(cols.transpose(0, 1, 3, 2, 4)).reshape(n, c * kh * kw, cols.shape[-1])


def _cols_column_major(x, kh, kw, stride=1, padding=0):
    cols = ref.im2col(x, kh, kw, stride, padding)
    out_h = ref.conv_output_size(x.shape[2], kh, stride, padding)
    out_w = ref.conv_output_size(x.shape[3], kw, stride, padding)
    grid = cols.reshape(cols.shape[0], cols.shape[1], out_h, out_w)
    return np.ascontiguousarray(grid.transpose(0, 1, 3, 2)).reshape(cols.shape)


def _cols_transposed(x, kh, kw, stride=1, padding=0):
    return np.ascontiguousarray(ref.im2col(x, kh, kw, stride, padding).transpose(0, 2, 1))


def _cols_batch_folded(x, kh, kw, stride=1, padding=0):
    cols = ref.im2col(x, kh, kw, stride, padding)
    return np.ascontiguousarray(cols.transpose(1, 0, 2)).reshape(cols.shape[1], -1)


def _cols_with(transform):
    return lambda x, kh, kw, stride=1, padding=0: ref.im2col(transform(x, padding), kh, kw, stride, 0)


IM2COL_MISTAKES = [
    Mistake("rows in (KH, KW, C) order", "row r must hold x[c, p, q] with r = c*KH*KW + p*KW + q: the channel "
            "varies slowest, as in torch.nn.functional.unfold. Your rows put the channel last. If you start "
            "from an array of windows, put its axes in the order of the rows and columns before "
            "reshaping.", _cols_rows_channel_last),
    Mistake("kernel rows and columns swapped", "within a channel, row r = p*KW + q walks along a kernel row "
            "first (q fastest). Your rows walk down the kernel columns: keep the axes in (KH, KW) order.",
            _cols_rows_kw_first),
    Mistake("windows in column-major order", "column i*W' + j must hold the window at output position (i, j): "
            "walk the windows row by row (j fastest), like reading text. Yours go column by column.",
            _cols_column_major),
    Mistake("windows as rows instead of columns", "the result is (N, H'*W', C*KH*KW): one window per row. "
            "im2col puts one window per *column*: the shape is (N, C*KH*KW, H'*W').",
            _cols_transposed),
    Mistake("batch folded into the columns", "the result is (C*KH*KW, N*H'*W'), the layout of a single big "
            "matrix. Keep the batch axis first: (N, C*KH*KW, H'*W').", _cols_batch_folded),
    Mistake("stride ignored", "your columns are the windows of stride 1. Take every stride-th window: "
            "window (i, j) starts at row i*stride and column j*stride.",
            lambda x, kh, kw, stride=1, padding=0: ref.im2col(x, kh, kw, 1, padding)),
    Mistake("padding ignored", "your columns are the windows of padding=0: pad x with zeros first.",
            lambda x, kh, kw, stride=1, padding=0: ref.im2col(x, kh, kw, stride, 0)),
    Mistake("padding applied to every axis", "a single width given to np.pad pads N and C too. Pad "
            "only H and W: np.pad accepts one pair of widths per axis.", _cols_with(lambda x, p: np.pad(x, p))),
    Mistake("padding on one side only", "pad both sides of each spatial axis: p zeros before the "
            "image and p after it.",
            _cols_with(lambda x, p: np.pad(x, ((0, 0), (0, 0), (p, 0), (p, 0))))),
    Mistake(*NEGATIVE_PAD_SLICE, _negative_pad_slice(lambda x, kh, kw, stride=1, padding=0:
                                                      ref.im2col(x, kh, kw, stride, padding))),
    empty_batch_mistake(lambda x, kh, kw, stride=1, padding=0: ref.im2col(x, kh, kw, stride, padding)),
    *empty_batch_raising(lambda x, kh, kw, stride=1, padding=0: ref.im2col(x, kh, kw, stride, padding),
                         _cols_reshaped_with("rows"), _cols_reshaped_with("columns")),
]


IM2COL = Check(
    id=f"{STEM}.im2col",
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    params=("x", "kh", "kw"),
    reference=lambda x, kh, kw, stride=1, padding=0: ref.im2col(x, kh, kw, stride, padding),
    groups=_shape_groups(Group("a 3×3 ramp, a small RGB batch and a 5×5 ramp with stride 2", _visible_cols,
                               visible=True),
                         _random_cols, _edge_cols),
    mistakes=IM2COL_MISTAKES,
    summary="(N, C*KH*KW, H'*W'), in the order of torch.nn.functional.unfold",
)


CONV_IM2COL = _conv_check("conv_forward_im2col", "a 4×4 ramp, small RGB batches, padding 1 and stride 2")

CHECKS = [SINGLE_STEP, OUTPUT_SIZE, ZERO_PAD, CONV_NAIVE, IM2COL, CONV_IM2COL]

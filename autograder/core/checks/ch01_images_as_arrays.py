"""Checks for chapter 1, Images as arrays.

Over 500 lines: five exercises, each with its own cases and library of mistakes.

Five small array exercises: bytes to floats, the HWC -> NCHW layout change, a centre crop,
grayscale with the BT.601 luma weights, and per-channel standardisation over a batch.
Each reference below is a few lines of PyTorch written here (float64 where the exercise
returns floats, the input's dtype where it only moves values around); none of it reuses the
NumPy solution code.

The mistake library names the classic first-week image bugs: dividing by 256 or by the
image's own maximum, integer division, reshape instead of transpose, the inverse
permutation, an off-by-one centre, a plain mean instead of luma weights, BGR order, Rec. 709
weights, statistics over the wrong axes and the sample standard deviation.

Groups are built so that every mistake in the library passes or fails each group whatever
the seed (for example every case of the "odd margins" group has odd margins on both axes),
which keeps the scores of the wrong-answer bank exact.
"""

from __future__ import annotations

import numpy as np

from .. import reference as ref
from ..reference import torch
from .base import FORBIDDEN, IMAGE_LIBRARIES, LEARNING_LIBRARIES, Case, Check, Group, Mistake, NotApplicable
from .cases import pixels, ramp

STEM = "01-images-as-arrays"

LUMA_601 = (0.299, 0.587, 0.114)


def _same_dtype_tensor(x) -> torch.Tensor:
    """A tensor holding ``x`` in its own dtype (uint8 stays uint8), for layout-only references."""
    return torch.as_tensor(np.ascontiguousarray(x))


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().contiguous().numpy()


# Libraries whose one call rearranges the axes of an array (the whole of hwc_to_nchw).
LAYOUT_LIBRARIES = ("einops",)


def empty_batch(note: str = "") -> str:
    """The note of a case whose batch is empty (N = 0)."""
    return note or "edge case: an empty batch (N = 0)"


EMPTY_BATCH_EXPLAIN = (
    "the call failed on an empty batch (N = 0) and on nothing else. Two things commonly break there. "
    "A reshape that leaves one size as -1 for NumPy to infer cannot work on an empty array: with no "
    "elements, any size fits, so NumPy refuses; give every size of the new shape explicitly, from the "
    "sizes you already know (the input's shape, the kernel, the output size). And with no image there "
    "is no per-image result to join, and joining an empty list of arrays fails: build the result from "
    "the whole batch at once, or create it with its full shape before filling it in. The docstring asks "
    "for an empty result of the right shape.")


def empty_batch_mistake(reference) -> Mistake:
    """Right for N >= 1, a ValueError for N = 0: a reshape with a -1 (which NumPy cannot infer from an
    empty array), or a result joined from a list built image by image (NumPy cannot stack or
    concatenate an empty list). Both raise ValueError. Shared by the batch exercises of chapters 1-5.
    The model raises one stand-in for NumPy's several messages, so it is named whatever the message
    (``any_message``; its explanation names each cause)."""
    def apply(x, *args, **kwargs):
        if len(x) == 0:
            raise ValueError("need at least one array to concatenate")
        return reference(x, *args, **kwargs)
    return Mistake("empty batch not handled", EMPTY_BATCH_EXPLAIN, apply, any_message=True)


# ====================================================================== to_float


def _ref_to_float(image):
    return ref.to_numpy(ref.to_tensor(image) / 255.0)


def _photo(rng, shape, dtype=np.uint8):
    """Random pixel values in [10, 250): never 0 or 255, so dividing by the max shows up."""
    return pixels(rng, shape, 10, 250, dtype)


def _visible_to_float(rng) -> list[Case]:
    known = np.array([[[0, 51, 102], [255, 255, 255]],
                      [[128, 64, 32], [1, 2, 254]]], dtype=np.uint8)
    dim = np.array([[[200, 150, 100], [50, 20, 10], [120, 130, 140], [5, 6, 7]],
                    [[0, 0, 0], [199, 200, 198], [80, 40, 20], [60, 90, 30]],
                    [[10, 110, 190], [33, 66, 99], [150, 150, 150], [25, 75, 175]]], dtype=np.uint8)
    return [Case((known,), note="2×2 RGB image with known values"),
            Case((dim,), note="a dim 3×4 RGB photo: its brightest value is 200, not 255"),
            Case((_photo(rng, (3, 3, 6, 6)),), note="a uint8 NCHW batch, as the chapter's cropped photos"),
            Case((np.zeros((0, 5, 4, 3), dtype=np.uint8),), note=empty_batch())]


def _random_to_float(rng) -> list[Case]:
    cases = []
    for _ in range(3):
        h = int(rng.integers(2, 9))
        w = h + int(rng.integers(1, 6))  # non-square on purpose
        cases.append(Case((_photo(rng, (h, w, 3)),), note="uint8 (H, W, 3) photo"))
    return cases


def _shapes_to_float(rng) -> list[Case]:
    return [
        Case((_photo(rng, (5, 7)),), note="grayscale (H, W)"),
        Case((_photo(rng, (2, 4, 3, 3)),), note="a batch (N, H, W, C)"),
        Case((_photo(rng, (2, 3, 4, 5)),), note="a batch in NCHW layout"),
        Case((_photo(rng, (6,)),), note="a 1-D row of pixels"),
        Case((np.zeros((0, 3, 4, 5), dtype=np.uint8),), note=empty_batch()),
    ]


def _dtypes_to_float(rng) -> list[Case]:
    return [
        Case((_photo(rng, (3, 5, 3), dtype=np.int64),), note="int64 array holding 0–255"),
        Case((_photo(rng, (4, 2, 3), dtype=np.float64),), note="float64 array holding whole numbers 0–255"),
        Case((_photo(rng, (1, 1, 3)),), note="edge case: a single uint8 pixel"),
    ]


def _quiet_divide(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / b


def _unpacked_hwc(image):
    """`h, w, c = image.shape` first: right on one (H, W, C) image, a ValueError on any other shape."""
    _h, _w, _c = np.shape(image)
    return np.divide(np.asarray(image, dtype=np.float64), 255.0)


TO_FLOAT = Check(
    id=f"{STEM}.to_float",
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    params=("image",),
    reference=_ref_to_float,
    groups=[
        Group("known pixel values and a dim photo", _visible_to_float, visible=True),
        Group("randomized uint8 photos (H, W, 3), non-square", _random_to_float),
        Group("other shapes: grayscale, batches, a 1-D row", _shapes_to_float),
        Group("other dtypes (int64, float64) and a single pixel", _dtypes_to_float),
    ],
    mistakes=[
        Mistake("divided by 256", "there are 256 possible values (0 to 255), but the largest one is 255, "
                "and it must become exactly 1.0. Divide by 255.",
                lambda image: np.asarray(image, dtype=np.float64) / 256.0),
        Mistake("integer division", "`image // 255` (or casting back to the input's integer dtype) keeps only "
                "whole numbers, so every pixel becomes 0 or 1. Convert to float before "
                "dividing: the dtype decides what kind of division happens.",
                lambda image: np.floor_divide(image, 255)),
        Mistake("not scaled (still 0 to 255)", "the values were converted to floats but not divided by 255.",
                lambda image: np.asarray(image, dtype=np.float64)),
        Mistake("not scaled (returned unchanged)", "the function returns the input as it came in: the values "
                "must become float64 and be scaled to [0, 1].",
                lambda image: np.asarray(image)),
        Mistake("divided by the image's own maximum", "dividing by image.max() stretches a dim photo so its "
                "brightest pixel becomes 1.0. The scale is fixed: 255 always means full intensity, whatever "
                "the photo holds. Divide by 255.",
                lambda image: _quiet_divide(np.asarray(image, dtype=np.float64), np.max(image))),
        Mistake("min-max scaled", "(image - min) / (max - min) depends on the photo. The conversion asked "
                "for here is a fixed one: divide by 255 (0 stays 0, 255 becomes 1).",
                lambda image: _quiet_divide(np.asarray(image, dtype=np.float64) - np.min(image), np.ptp(image))),
        Mistake("scaled to [-1, 1]", "image / 127.5 - 1 maps to [-1, 1]; this function maps to [0, 1]: "
                "divide by 255 and subtract nothing.",
                lambda image: np.asarray(image, dtype=np.float64) / 127.5 - 1.0),
        Mistake("assumed an (H, W, C) image", "the function must accept an array of any shape, for example "
                "a grayscale (H, W) image or an (N, H, W, C) batch. Unpacking the shape into three names "
                "ties the function to one layout; an elementwise operation does not need the shape at all.", _unpacked_hwc),
    ],
    summary="every value over the fixed full scale 255, as float64",
)


# ====================================================================== hwc_to_nchw


def _ref_hwc_to_nchw(images):
    return _numpy(_same_dtype_tensor(images).permute(0, 3, 1, 2))


def _visible_layout(rng) -> list[Case]:
    return [Case((ramp((1, 2, 3, 3)),), note="one 2×3 RGB image numbered 0..17"),
            Case((rng.random((2, 4, 5, 3)),), note="two random 4×5 RGB images"),
            Case((pixels(rng, (2, 6, 8, 3)),), note="two uint8 photos, as the chapter's stacked photos"),
            Case((rng.random((3, 8, 8, 1)),), note="three one-channel 8×8 images, as the chapter's digits"),
            Case((np.zeros((0, 4, 5, 3)),), note=empty_batch())]


def _random_layout(rng) -> list[Case]:
    cases = []
    for _ in range(3):
        n, h = int(rng.integers(2, 5)), int(rng.integers(2, 7))
        w = h + int(rng.integers(1, 5))
        cases.append(Case((rng.standard_normal((n, h, w, 3)),), note="float64 batch, non-square"))
    return cases


def _uint8_layout(rng) -> list[Case]:
    return [Case((pixels(rng, (int(rng.integers(2, 4)), 5, 7, 3)),),
                 note="uint8 photos: values and dtype must come back unchanged"),
            Case((pixels(rng, (1, 6, 4, 3)),), note="one tall uint8 photo")]


def _edge_layout(rng) -> list[Case]:
    return [
        Case((rng.random((1, 3, 5, 3)),), note="one image (N = 1)"),
        Case((rng.random((4, 1, 1, 3)),), note="single-pixel images"),
        Case((rng.random((2, 4, 6, 1)),), note="one channel (grayscale)"),
        Case((rng.random((2, 3, 2, 5)),), note="five channels"),
        Case((pixels(rng, (0, 3, 4, 3)),), note=empty_batch()),
    ]


def _three_axes(images):
    """A transpose for one (H, W, C) image: a ValueError on a batch."""
    return np.transpose(images, (2, 0, 1))


HWC_TO_NCHW = Check(
    id=f"{STEM}.hwc_to_nchw",
    forbidden=FORBIDDEN + LAYOUT_LIBRARIES,
    params=("images",),
    reference=_ref_hwc_to_nchw,
    groups=[
        Group("a numbered 2×3 RGB image and a small batch", _visible_layout, visible=True),
        Group("randomized float batches, non-square", _random_layout),
        Group("uint8 photos keep their values and dtype", _uint8_layout),
        Group("edge cases: N = 1, single pixels, 1 and 5 channels", _edge_layout),
    ],
    mistakes=[
        Mistake("reshape instead of transpose", "reshape keeps the values in memory order and only re-reads "
                "the shape, so the channels get scrambled across rows and columns. Move the axes instead of "
                "re-reading the shape: the chapter's section on the NCHW layout shows how.",
                lambda images: np.asarray(images).reshape(
                    images.shape[0], images.shape[3], images.shape[1], images.shape[2])),
        Mistake("axes in the wrong order (N, C, W, H)", "rows and columns were swapped: the image comes out "
                "mirrored along its diagonal. The new order is (N, C, H, W): check which old axis each "
                "new axis comes from.",
                lambda images: np.asarray(images).transpose(0, 3, 2, 1)),
        Mistake("the inverse permutation", "transpose(0, 2, 3, 1) turns NCHW into NHWC, the opposite direction. "
                "Read the axes tuple as 'new axis i comes from old axis axes[i]', then work out where N, C, "
                "H and W sit in the input.",
                lambda images: np.asarray(images).transpose(0, 2, 3, 1)),
        Mistake("all axes reversed", "np.transpose(images) with no axes argument reverses every axis, giving "
                "(C, W, H, N). Give the order of the axes explicitly.",
                lambda images: np.transpose(images)),
        Mistake("converted to float", "a layout change moves values around and never changes them: uint8 photos "
                "must stay uint8. transpose keeps the dtype; a new np.zeros(...) array filled in a loop does not.",
                lambda images: _ref_hwc_to_nchw(images).astype(np.float64)),
        empty_batch_mistake(_ref_hwc_to_nchw),
        Mistake("treated the batch as a single image", "images has four axes (N, H, W, C); a three-axis "
                "transpose such as transpose(2, 0, 1) is for one (H, W, C) image. Keep the batch axis "
                "first and move the other three.", _three_axes),
    ],
    summary="(N, H, W, C) -> (N, C, H, W) with transpose",
)


# ====================================================================== center_crop


def _ref_center_crop(x, size):
    t = _same_dtype_tensor(x)
    top, left = (t.shape[2] - size) // 2, (t.shape[3] - size) // 2
    return _numpy(t.narrow(2, top, size).narrow(3, left, size))


def _crop_case(rng, n, c, h, w, size, note="", dtype=np.float64) -> Case:
    x = pixels(rng, (n, c, h, w)) if dtype == np.uint8 else rng.standard_normal((n, c, h, w))
    return Case((x, size), note=note or f"{h}×{w} crop {size}")


def _visible_crop(rng) -> list[Case]:
    return [Case((ramp((1, 1, 5, 6)), 3), note="a 5×6 grid numbered 0..29: margins 2 and 3"),
            _crop_case(rng, 2, 3, 7, 9, 4, "two RGB 7×9 images: margins 3 and 5"),
            _crop_case(rng, 1, 3, 9, 12, 6, "one uint8 photo (N = 1), as the chapter crops them", dtype=np.uint8),
            _crop_case(rng, 0, 3, 7, 9, 4, empty_batch())]


def _margin_cases(rng, parity) -> list[Case]:
    """Margins H - size and W - size both even (parity 0) or both odd (parity 1), never 0, and unequal.

    Unequal margins make top != left (so swapping them always shows); non-zero margins make a
    crop of the wrong axes always come out with the wrong shape.
    """
    cases = []
    for _ in range(3):
        size = int(rng.integers(1, 6))
        mh = 2 * int(rng.integers(1 - parity, 3)) + parity  # even: 2 or 4; odd: 1, 3 or 5
        mw = mh + 2 * int(rng.integers(1, 3))  # a different margin, so top != left
        h, w = size + mh, size + mw
        if rng.random() < 0.5:  # sometimes the tall side is the larger margin
            h, w = w, h
        cases.append(_crop_case(rng, int(rng.integers(1, 4)), int(rng.integers(1, 4)), h, w, size,
                                f"margins {h - size} and {w - size}"))
    return cases


def _edge_crop(rng) -> list[Case]:
    return [
        _crop_case(rng, 2, 3, 4, 7, 1, "edge case: a single pixel out of a 4×7 image"),
        _crop_case(rng, 1, 3, 5, 5, 5, "edge case: size equals the image (nothing to cut)"),
        _crop_case(rng, 1, 3, 9, 6, 3, "uint8 photo, N = 1: values and dtype unchanged", dtype=np.uint8),
        _crop_case(rng, 0, 2, 6, 8, 3, empty_batch()),
    ]


def _crop_ceil(x, size):
    top, left = (x.shape[2] - size + 1) // 2, (x.shape[3] - size + 1) // 2
    return np.asarray(x)[:, :, top:top + size, left:left + size]


def _margins(h, w, size):
    """The rows above and the columns left of a centred size × size crop of an h × w image."""
    return (h - size) // 2, (w - size) // 2


def _crop_symmetric_slice(x, size):
    h, w = x.shape[-2:]
    top, left = _margins(h, w, size)
    return np.asarray(x)[:, :, top:h - top, left:w - left]


def _crop_swapped(x, size):
    top, left = (x.shape[3] - size) // 2, (x.shape[2] - size) // 2
    return np.asarray(x)[:, :, top:top + size, left:left + size]


def _crop_negative_end(x, size):
    """Each window ended by a negative index, minus the bottom or right margin: empty where that margin is 0."""
    h, w = x.shape[-2:]
    top, left = _margins(h, w, size)
    return np.asarray(x)[:, :, top:-(h - size - top), left:-(w - size - left)]


def _crop_corner(x, size):
    return np.asarray(x)[:, :, :size, :size]


def _crop_hwc(x, size):
    _, h, w, _ = x.shape  # read as (N, H, W, C): the mistake
    top, left = _margins(h, w, size)
    return np.asarray(x)[:, top:top + size, left:left + size, :]


CENTER_CROP = Check(
    id=f"{STEM}.center_crop",
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    params=("x", "size"),
    reference=_ref_center_crop,
    groups=[
        Group("a numbered 5×6 grid and a small RGB batch", _visible_crop, visible=True),
        Group("randomized even margins, non-square", lambda rng: _margin_cases(rng, 0)),
        Group("randomized odd margins, non-square", lambda rng: _margin_cases(rng, 1)),
        Group("edge cases: one pixel, no crop, uint8", _edge_crop),
    ],
    mistakes=[
        Mistake("centre rounded the wrong way", "with an odd margin the crop cannot sit exactly in the middle; "
                "the convention here (as in the docstring) puts the extra pixel at the bottom and right: "
                "top = (H - size) // 2, rounded down, as the docstring says.", _crop_ceil),
        Mistake("sliced to H - top", "ending the window where the margin on the other side begins makes it one pixel too long "
                "when H - size is odd. The window ends size pixels after it starts.", _crop_symmetric_slice),
        Mistake("window ended by a negative index", "a window whose end is written as minus the bottom "
                "(or right) margin is empty when that margin is 0, because -0 is 0: the slice then stops "
                "before it starts. Count the end from the start of the window instead.", _crop_negative_end),
        Mistake("rows and columns swapped", "the first row must come from the height (axis 2) and the first "
                "column from the width (axis 3).", _crop_swapped),
        Mistake("cropped the top-left corner", "a window that starts at row 0 and column 0 keeps the corner; it "
                "must start after the top and left margins.", _crop_corner),
        Mistake("treated x as (N, H, W, C)", "x is NCHW: the rows are axis 2 and the columns axis 3, and "
                "the channels (axis 1) are kept whole.", _crop_hwc),
        Mistake("converted to float", "a crop only selects values: uint8 input must come back uint8. "
                "Slicing keeps the dtype; a new np.zeros(...) array does not.",
                lambda x, size: _ref_center_crop(x, size).astype(np.float64)),
    ],
    summary="the central size × size window of every image, odd margins rounded down at the top and left",
)


# ====================================================================== rgb_to_grayscale


def _ref_grayscale(x):
    weights = ref.to_tensor(np.array(LUMA_601))
    return ref.to_numpy(torch.einsum("nchw,c->nhw", ref.to_tensor(x), weights).unsqueeze(1))


def _primaries() -> np.ndarray:
    """(1, 3, 1, 5): red, green, blue, white and black pixels in a row."""
    pixels = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [0, 0, 0]], dtype=np.float64)
    return pixels.T.reshape(1, 3, 1, 5)


def _visible_gray(rng) -> list[Case]:
    return [Case((_primaries(),), note="pure red, green, blue, white and black pixels"),
            Case((rng.random((2, 3, 4, 5)),), note="two random 4×5 RGB images"),
            Case((rng.random((0, 3, 4, 5)),), note=empty_batch())]


def _random_gray(rng) -> list[Case]:
    cases = []
    for _ in range(3):
        n, h = int(rng.integers(2, 5)), int(rng.integers(2, 7))
        cases.append(Case((rng.random((n, 3, h, h + int(rng.integers(1, 5)))),), note="non-square batch"))
    return cases


def _edge_gray(rng) -> list[Case]:
    return [Case((rng.random((1, 3, 6, 4)),), note="one image (N = 1)"),
            Case((rng.random((3, 3, 1, 1)),), note="single-pixel images"),
            Case((rng.random((2, 3, 1, 7)),), note="images one row high"),
            Case((rng.random((0, 3, 2, 3)),), note=empty_batch())]


def _uint8_pixels(rng, shape) -> np.ndarray:
    """uint8 (N, 3, H, W) whose exact luma is never a whole number.

    Truncating a float to an integer is only well defined away from whole numbers (76.9999999
    and 77.0000001 truncate differently), so the mistake "kept the integer dtype" is then
    recognised whatever order of operations the student used.
    """
    x = pixels(rng, shape, 1, 255, np.int64)
    while True:
        whole = (299 * x[:, 0] + 587 * x[:, 1] + 114 * x[:, 2]) % 1000 == 0
        if not whole.any():
            return x.astype(np.uint8)
        x[:, 2][whole] += 1


def _uint8_gray(rng) -> list[Case]:
    return [Case((_uint8_pixels(rng, (2, 3, 4, 6)),), note="uint8 photos, values 0–255"),
            Case((_uint8_pixels(rng, (1, 3, 5, 2)),), note="one uint8 photo")]


def _weighted(weights):
    def apply(x):
        x = np.asarray(x, dtype=float)
        return sum(weight * x[:, i:i + 1] for i, weight in enumerate(weights))
    return apply


def _kept_integer_dtype(x):
    if np.asarray(x).dtype.kind not in "iu":
        raise NotApplicable("only an integer input can be truncated")
    return _ref_grayscale(x).astype(np.asarray(x).dtype)


def _integer_weights(x):
    """299 R + 587 G + 114 B on the pixels as they come, divided by 1000: right on floats, an
    OverflowError on uint8 (NumPy will not put 299 into a uint8)."""
    x = np.asarray(x)
    return (x[:, 0:1] * 299 + x[:, 1:2] * 587 + x[:, 2:3] * 114) / 1000


def _weights_on_last_axis(x):
    """The three weights lined up with the last axis (W): a ValueError unless W is 3."""
    return np.sum(np.asarray(x, dtype=np.float64) * np.array([0.299, 0.587, 0.114]), axis=1, keepdims=True)


_709_NAME = "Rec. 709 weights"
_709_EXPLAIN = ("0.2126, 0.7152, 0.0722 (what skimage.color.rgb2gray uses) are the HDTV weights. "
                "This exercise asks for the ITU-R BT.601 weights: 0.299 R + 0.587 G + 0.114 B.")

RGB_TO_GRAYSCALE = Check(
    id=f"{STEM}.rgb_to_grayscale",
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    params=("x",),
    reference=_ref_grayscale,
    groups=[
        Group("primary colours, white, black, and a random batch", _visible_gray, visible=True),
        Group("randomized batches, non-square", _random_gray),
        Group("edge cases: N = 1, single pixels, one row", _edge_gray),
        Group("uint8 photos (0–255) give float results", _uint8_gray),
    ],
    mistakes=[
        Mistake("plain mean of the channels", "(R + G + B) / 3 treats the channels as equally bright, but our "
                "eyes are most sensitive to green and least to blue. Use the luma weights "
                "0.299 R + 0.587 G + 0.114 B.", _weighted((1 / 3, 1 / 3, 1 / 3))),
        Mistake("channels in BGR order", "the weights went to the wrong channels: 0.299 belongs to red "
                "(x[:, 0]) and 0.114 to blue (x[:, 2]). OpenCV stores BGR; this course and scikit-image "
                "store RGB.", _weighted(LUMA_601[::-1])),
        Mistake("channel axis dropped", "the result has shape (N, H, W); it should keep a channel axis of "
                "size 1, (N, 1, H, W), so it is still an NCHW batch. Look at how a reduction or an "
                "index can keep the axis it reduces.", lambda x: _ref_grayscale(x)[:, 0]),
        Mistake(_709_NAME, _709_EXPLAIN, _weighted((0.2126, 0.7152, 0.0722))),
        Mistake(_709_NAME, _709_EXPLAIN, _weighted((0.2125, 0.7154, 0.0721))),
        Mistake("result kept the input's integer dtype", "the gray values of a uint8 photo are fractions "
                "(0.299 × 255 = 76.245), but they were stored in a uint8 array and truncated. An array created "
                "like x copies x's dtype: the result must be created as float, or computed directly.",
                _kept_integer_dtype),
        Mistake("weights applied along the width axis", "three weights in a 1-D array line up "
                "with the last axis, which is the width W, when broadcast. In NCHW the channels are axis 1: "
                "the weights must be shaped so that broadcasting matches them with that axis.",
                _weights_on_last_axis),
        empty_batch_mistake(_ref_grayscale),
        Mistake("integer overflow on uint8 pixels", "uint8 holds 0 to 255 only: multiplying uint8 pixels by "
                "whole-number weights (or adding them up) overflows before anything is divided, and NumPy "
                "refuses or wraps around. Convert the pixels to float before doing arithmetic with them.",
                _integer_weights),
    ],
    summary="0.299 R + 0.587 G + 0.114 B, shape (N, 1, H, W)",
)


# ====================================================================== normalize


def _ref_normalize(x):
    t = ref.to_tensor(x)
    mean = t.mean(dim=(0, 2, 3), keepdim=True)
    std = t.std(dim=(0, 2, 3), correction=0, keepdim=True)
    return ref.to_numpy((t - mean) / std)


def _channels_apart(rng, n, c, h, w, dtype=np.float64) -> np.ndarray:
    """Each channel with its own offset and spread, like the channels of a photo."""
    if dtype == np.uint8:
        low = rng.integers(0, 120, size=(1, c, 1, 1))
        span = rng.integers(30, 136, size=(1, c, 1, 1))
        return pixels(rng, (n, c, h, w), low, low + span)
    offsets = rng.uniform(-3.0, 3.0, size=(1, c, 1, 1))
    scales = rng.uniform(0.3, 3.0, size=(1, c, 1, 1))
    return offsets + scales * rng.standard_normal((n, c, h, w))


def _visible_normalize(rng) -> list[Case]:
    x = np.stack([np.full((3, 4), 200.0), np.full((3, 4), 100.0), np.full((3, 4), 10.0)])[None]
    x = x + np.arange(12).reshape(3, 4) * np.array([1.0, 3.0, 0.5]).reshape(1, 3, 1, 1)
    x = np.concatenate([x, x[:, :, ::-1] * 0.9])
    digits = rng.integers(0, 17, size=(5, 1, 8, 8)) / 16.0
    return [Case((x,), note="two 3×4 RGB images: bright red, mid green, dark blue"),
            Case((_channels_apart(rng, 4, 3, 5, 6),), note="four random 5×6 RGB images"),
            Case((digits,), note="five one-channel 8×8 images, as the chapter's digits")]


def _random_normalize(rng) -> list[Case]:
    cases = []
    for _ in range(3):
        n, h = int(rng.integers(2, 6)), int(rng.integers(2, 7))
        cases.append(Case((_channels_apart(rng, n, 3, h, h + int(rng.integers(1, 5))),), note="non-square batch"))
    return cases


def _one_image_normalize(rng) -> list[Case]:
    return [Case((_channels_apart(rng, 1, 3, 4, 7),), note="one RGB image (N = 1)"),
            Case((_channels_apart(rng, 1, 3, 6, 3),), note="one tall RGB image (N = 1)")]


def _channels_normalize(rng) -> list[Case]:
    return [Case((_channels_apart(rng, 3, 1, 4, 5),), note="grayscale batch (C = 1)"),
            Case((_channels_apart(rng, 2, 2, 3, 5),), note="two channels"),
            Case((_channels_apart(rng, 2, 5, 4, 3),), note="five channels")]


def _uint8_normalize(rng) -> list[Case]:
    return [Case((_channels_apart(rng, 3, 3, 4, 6, dtype=np.uint8),), note="uint8 photos, values 0–255")]


def _stats(axis, ddof=0, center=True, scale="std"):
    def apply(x):
        x = np.asarray(x, dtype=float)
        mean = x.mean(axis=axis, keepdims=True)
        std = x.std(axis=axis, ddof=ddof, keepdims=True)
        out = x - mean if center else x
        with np.errstate(divide="ignore", invalid="ignore"):  # a constant slice gives 0/0, as it would for the student
            if scale == "std":
                return out / std
            if scale == "var":
                return out / std**2
        return out
    return apply


def _inplace_on_integers(x):
    """x -= mean and x /= std: right on floats (on a copy), a casting error on integers."""
    x -= x.mean(axis=(0, 2, 3), keepdims=True)
    x /= x.std(axis=(0, 2, 3), keepdims=True)
    return x


PER_CHANNEL = (0, 2, 3)

NORMALIZE = Check(
    id=f"{STEM}.normalize",
    forbidden=FORBIDDEN + IMAGE_LIBRARIES + LEARNING_LIBRARIES,
    params=("x",),
    reference=_ref_normalize,
    groups=[
        Group("channels of very different brightness, and a random batch", _visible_normalize, visible=True),
        Group("randomized batches (N ≥ 2), non-square", _random_normalize),
        Group("a single image (N = 1)", _one_image_normalize),
        Group("other channel counts (C = 1, 2, 5)", _channels_normalize),
        Group("uint8 photos (0–255)", _uint8_normalize),
    ],
    mistakes=[
        Mistake("statistics over the whole array", "x.mean() and x.std() with no axis mix all channels into one "
                "mean and one std. Each channel needs its own: reduce every axis except the channel axis, and keep the reduced axes "
                "so the statistics broadcast back.",
                _stats(None)),
        Mistake("statistics per image (each image and channel on its own)", "axis=(2, 3) gives every image its "
                "own mean and std. The statistics here are per channel over the whole batch: include the "
                "batch axis in the reduction.", _stats((2, 3))),
        Mistake("statistics per image (all channels together)", "reducing over the channels and the pixels gives "
                "one mean per image. Use one mean per channel, over the batch and the pixels.", _stats((1, 2, 3))),
        Mistake("statistics over the channel axis", "axis=1 averages the three channels of each pixel, which "
                "is the opposite of per channel. Per channel means: reduce every axis except the channel "
                "axis.", _stats(1)),
        Mistake("sample standard deviation (ddof=1)", "the population standard deviation is asked for "
                "(divide by the number of values, not by one less), as in batch normalisation.",
                _stats(PER_CHANNEL, ddof=1)),
        Mistake("only centred, not scaled", "after subtracting the mean, also divide by the per-channel "
                "standard deviation.", _stats(PER_CHANNEL, scale=None)),
        Mistake("divided by the variance", "divide by the standard deviation (the square root of the "
                "variance), not by the variance itself.", _stats(PER_CHANNEL, scale="var")),
        Mistake("only scaled, not centred", "subtract the per-channel mean before dividing by the standard "
                "deviation.", _stats(PER_CHANNEL, center=False)),
        Mistake("subtracted in place on an integer array", "x -= mean fails on a uint8 photo, because the "
                "float result cannot be stored back into integers. Compute the result in a "
                "new float array and leave x as it is.", _inplace_on_integers),
    ],
    summary="each channel standardised with its own mean and population std over the batch and the pixels",
)


CHECKS = [TO_FLOAT, HWC_TO_NCHW, CENTER_CROP, RGB_TO_GRAYSCALE, NORMALIZE]

"""Checks for chapter 3, Filters as feature detectors.

Over 500 lines: four exercises (one judged by behaviour) and the chapter's worked example.

Four exercises:

- ``vertical_edge_filter()`` is a *design* exercise: there is no single right answer, so its
  check judges what the returned filter does (:class:`FilterDesignCheck`). It must answer
  strongly to vertical edges, weakly to horizontal ones, and not at all to flat brightness.
  Its diagnoses name the usual designs that miss: the horizontal detector (rotated 90°), the
  all-positive filter that measures brightness, the diagonal filter, the zero filter.
- ``activation_maps(image, filters)`` slides F filters over one image (kernel flipped, one
  channel only, maps summed over filters, maps laid out channels-last, ...).
- ``strongest_response(activation_map)`` finds where a map is largest ((col, row) swapped, a
  flat index, argmin, largest absolute value, last of several ties, ...).
- ``sobel_magnitude(image)`` combines two Sobel filters into an edge-strength map.

The module also holds the chapter's worked example, the 7×7 curve detector and its two image
regions (:data:`CURVE_FILTER`, :data:`CURVE_REGION`, :data:`PLAIN_REGION`): the chapter and
``tests/test_ch03_curve_detector.py`` import them from here, so the numbers in the book (6600
and 0) are the numbers the test checks.

As in every checks module, groups are built so that each known mistake passes or fails a
group whatever the seed, so the score of a known wrong answer is the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import reference as ref
from ..reference import torch
from .base import FORBIDDEN, IMAGE_LIBRARIES, Case, Check, Diagnosis, Finding, Group, Mistake, type_name
from .cases import conv_inputs, pixels

STEM = "03-feature-detectors"

# ---------------------------------------------------------------------- the worked example

def _picture(rows: str) -> np.ndarray:
    """A small picture drawn with one digit per pixel, in tens: "5" is 50, "0" is 0."""
    return 10.0 * np.array([[int(digit) for digit in row] for row in rows.split()])


#: A 7×7 curve detector (one depth slice): 30 along an arc, 0 everywhere else.
CURVE_FILTER = _picture("""
    0000000
    0000333
    0003000
    0030000
    0030000
    0030000
    0000000""")

#: A 7×7 image region with a similar (not identical) curve: 50 where the stroke is solid,
#: 20 where it fades or is only partly inside a pixel, 10 for a faint fringe.
CURVE_REGION = _picture("""
    0000010
    0000550
    0005200
    0050000
    0020000
    0200000
    0000000""")

#: A 7×7 region with no curve, only a straight corner along the left and bottom borders.
PLAIN_REGION = _picture("""
    5000000
    5000000
    5000000
    5000000
    5000000
    5000000
    5555555""")


def filter_response(region: np.ndarray, kernel: np.ndarray) -> float:
    """The sum of products of one 2-D region and a kernel of the same shape, via torch."""
    out = ref.conv2d(np.asarray(region, float)[None, None], np.asarray(kernel, float)[None, None])
    return float(out.reshape(()))


# ---------------------------------------------------------------------- shared image makers


def _correlate(images: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of a stack (K, H, W) with one (KH, KW) kernel: (K, H', W')."""
    return ref.conv2d(images[:, None], np.asarray(kernel, dtype=np.float64)[None, None])[:, 0]


def _steps(rng, count, vertical: bool, clean: bool = False) -> np.ndarray:
    """``count`` images with one straight step edge (or a thin line), 12-15 by 12-15 pixels."""
    h, w = (12, 14) if clean else (int(rng.integers(12, 16)), int(rng.integers(12, 16)))
    images = []
    for k in range(count):
        base = 0.0 if clean else float(rng.uniform(0.0, 0.5))
        contrast = 1.0 if clean else float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 1.0))
        length = w if vertical else h
        where = length // 2 if clean else int(rng.integers(3, length - 3))
        profile = np.zeros(length)
        if clean or k % 3 != 2:
            profile[where:] = contrast  # a step edge
        else:
            profile[where] = contrast  # a thin line (two edges close together)
        image = base + (np.tile(profile, (h, 1)) if vertical else np.tile(profile[:, None], (1, w)))
        images.append(image)
    return np.array(images)


# ---------------------------------------------------------------------- vertical_edge_filter

STEP_PEAK_MIN = 0.5  # |response| to a 0 -> 1 step, at its strongest, must reach this
RATIO_MIN = 5.0  # mean |response|: vertical edges / horizontal edges
FLAT_MAX = 0.05  # |response| to a flat image of 1, as a fraction of the step peak


def _step_peak(kernel) -> float:
    """The strongest |response| to a clean vertical 0 -> 1 step."""
    return float(np.abs(_correlate(_steps(None, 1, vertical=True, clean=True), kernel)).max())


def _ratio(kernel, vertical_images, horizontal_images) -> tuple[float, float, float]:
    v = float(np.abs(_correlate(vertical_images, kernel)).mean())
    h = float(np.abs(_correlate(horizontal_images, kernel)).mean())
    return v, h, (np.inf if h == 0 else v / h)


@dataclass(frozen=True)
class Probe(Case):
    """A case of a design exercise: the function takes no input; ``test`` judges its output.

    ``test(value)`` returns ``None`` when the returned value behaves as asked, else a sentence
    saying what it did instead. Only ``args`` and ``kwargs`` ever reach the student's code.
    """

    test: Callable[[np.ndarray], str | None] | None = None


def _form_problem(value) -> str | None:
    """What is wrong with the *form* of the returned filter: type, shape, dtype, finiteness."""
    if isinstance(value, (list, tuple)):
        return f"the result should be a NumPy array of shape (3, 3), but it is a {type(value).__name__}; " \
               "make it a NumPy array of floats"
    if not isinstance(value, np.ndarray):
        return f"the result should be a NumPy array of shape (3, 3), but it is {type_name(value)}"
    if value.shape != (3, 3):
        return f"the result should have shape (3, 3), but it has shape {value.shape}"
    if value.dtype.kind not in "iuf":
        return f"the result should hold real numbers, but its dtype is {value.dtype}"
    if not np.all(np.isfinite(value)):
        return "the filter contains NaN or infinite weights"
    return None


def _float_and_nonzero(kernel) -> str | None:
    if kernel.dtype.kind != "f":
        return (f"the filter has integer dtype {kernel.dtype}; a filter's weights are floats "
                "(ask for a float dtype)")
    if not np.any(kernel):
        return "every weight is 0, so the filter answers 0 to everything"
    return None


def _strong_vertical(kernel, vertical_images, horizontal_images) -> str | None:
    kernel = kernel.astype(np.float64)
    peak = _step_peak(kernel)
    if peak < STEP_PEAK_MIN:
        return (f"a vertical step from 0 to 1 gives a response of at most {peak:.3g}; it should reach at "
                f"least {STEP_PEAK_MIN} somewhere")
    v, h, ratio = _ratio(kernel, vertical_images, horizontal_images)
    if ratio < RATIO_MIN:
        return (f"mean |response| is {v:.3g} on the vertical-edge images and {h:.3g} on the horizontal-edge "
                f"images: a ratio of {ratio:.3g}, but it should be at least {RATIO_MIN:g}")
    return None


def _ignores_flat(kernel, flats) -> str | None:
    kernel = kernel.astype(np.float64)
    peak = max(_step_peak(kernel), _step_peak(kernel.T))  # an edge of either orientation
    if peak < STEP_PEAK_MIN:
        return f"the filter is (almost) blind: a 0 -> 1 step gives at most {peak:.3g}"
    flat = float(np.abs(_correlate(flats, kernel)).max() / np.abs(flats).max())
    if flat > FLAT_MAX * peak:
        return (f"a flat image of brightness 1 (no edge at all) gives a response of {flat:.3g}, "
                f"{flat / peak:.0%} of its response to a 0 -> 1 step; it should be under {FLAT_MAX:.0%}")
    return None


def _design_form(rng) -> list[Case]:
    return [Probe((), note="a 3×3 float filter, not all zero", test=_float_and_nonzero)]


def _design_clean(rng) -> list[Case]:
    v, h = _steps(rng, 1, True, clean=True), _steps(rng, 1, False, clean=True)
    return [Probe((), note="a clean vertical and a clean horizontal 0 -> 1 step",
                  test=lambda k: _strong_vertical(k, v, h))]


def _design_random(rng) -> list[Case]:
    v, h = _steps(rng, 9, True), _steps(rng, 9, False)
    return [Probe((), note="9 vertical and 9 horizontal edges and lines: random place, contrast, sign, brightness",
                  test=lambda k: _strong_vertical(k, v, h))]


def _design_flat(rng) -> list[Case]:
    flats = rng.uniform(0.2, 1.0, size=(4, 1, 1)) * np.ones((4, 10, 11))
    return [Probe((), note="flat images of random brightness: no edge anywhere", test=lambda k: _ignores_flat(k, flats))]


# The designs that miss. No output to compare with identifies them: FilterDesignCheck recognises
# them by what the returned filter is and does (_diagnose_filter), and shows the explanations below.
NOTHING_RETURNED = Mistake("nothing returned", "end the function with `return` and your filter.")
LIST_NOT_ARRAY = Mistake("list instead of array", "a filter is a NumPy array of floats, not a list of rows.")
NINE_WEIGHTS_WRONG_SHAPE = Mistake("wrong shape", "the filter is one 3×3 slice (rows × columns): its nine "
                                   "weights must be laid out as 3 rows of 3.")
WRONG_SHAPE = Mistake("wrong shape", "the filter should be 3 rows by 3 columns, one weight per pixel of a 3×3 "
                      "window. A 1×3 row like [-1, 0, 1] must be repeated on 3 rows.")
ZERO_FILTER = Mistake("zero filter", "every weight is 0, so every response is 0. Give the left column negative "
                      "weights and the right column positive ones (or the other way round).")
INTEGER_DTYPE = Mistake("integer dtype", "an array made of whole numbers holds ints. Weights are floats: ask "
                        "for a float dtype, or write the numbers as floats.")
ALL_POSITIVE = Mistake("all positive weights", "this filter adds up brightness, so it responds to bright regions, "
                       "not to edges. An edge detector compares one side with the other: negative weights on one "
                       "side, positive on the other, so that the weights sum to about 0.")
UNBALANCED = Mistake("weights that do not sum to 0", "part of the response is plain brightness, which is as large "
                     "on a horizontal edge or a flat area as on a vertical edge. Balance the positive and negative "
                     "weights.")
HORIZONTAL = Mistake("a horizontal edge detector (rotated 90°)", "your filter compares the top with the bottom, "
                     "so it finds horizontal edges. A vertical edge is a change from left to right: compare the left "
                     "column with the right column (transpose your filter).")
NOT_ORIENTED = Mistake("not oriented (a diagonal filter?)", "it responds about as much to horizontal edges as to "
                       "vertical ones. A vertical edge looks the same in every row of the window, so a filter "
                       "for it can give every row the same weights.")
TOO_WEAK = Mistake("too weak", "Its weights are too small for the response to stand out: scale them up.")

FILTER_MISTAKES = [NOTHING_RETURNED, LIST_NOT_ARRAY, NINE_WEIGHTS_WRONG_SHAPE, WRONG_SHAPE, ZERO_FILTER,
                   INTEGER_DTYPE, ALL_POSITIVE, UNBALANCED, HORIZONTAL, NOT_ORIENTED, TOO_WEAK]


class FilterDesignCheck(Check):
    """A check for a function that *designs* a filter: the filter is judged by what it does.

    Each case is a :class:`Probe` whose ``test`` measures the returned filter's responses with
    the reference convolution. ``reference()`` is one good answer, shown nowhere and compared
    with nothing: any filter that behaves as asked passes. Its mistakes (:data:`FILTER_MISTAKES`)
    are recognised by :func:`_diagnose_filter`.
    """

    def assess(self, case: Case, got) -> Finding:
        problem = _form_problem(got)
        if problem is None and isinstance(case, Probe) and case.test is not None:
            problem = case.test(got)
        return Finding(problem, _diagnose_filter(got) if problem is not None else None)


def _diagnose_filter(value) -> Diagnosis | None:
    if value is None:
        return NOTHING_RETURNED.diagnosis
    if isinstance(value, (list, tuple)):
        return LIST_NOT_ARRAY.diagnosis
    if not isinstance(value, np.ndarray):
        return None
    if value.shape != (3, 3):
        mistake = NINE_WEIGHTS_WRONG_SHAPE if value.size == 9 else WRONG_SHAPE
        return Diagnosis(mistake.name, f"{mistake.name} {value.shape}: {mistake.explain}")
    if value.dtype.kind not in "iuf" or not np.all(np.isfinite(value)):
        return None
    kernel = value.astype(np.float64)
    if not np.any(kernel):
        return ZERO_FILTER.diagnosis
    if value.dtype.kind != "f":
        return INTEGER_DTYPE.diagnosis
    vertical = _steps(None, 1, True, clean=True)
    horizontal = _steps(None, 1, False, clean=True)
    peak = _step_peak(kernel)
    total = float(kernel.sum())
    if abs(total) > FLAT_MAX * max(peak, 1e-12):
        if np.all(kernel >= 0):
            return ALL_POSITIVE.diagnosis
        return Diagnosis(UNBALANCED.name, f"{UNBALANCED.name} (they sum to {total:.3g}): {UNBALANCED.explain}")
    _, _, turned = _ratio(kernel.T, vertical, horizontal)
    if turned >= RATIO_MIN:
        return HORIZONTAL.diagnosis
    _, _, ratio = _ratio(kernel, vertical, horizontal)
    if 1 / RATIO_MIN < ratio < RATIO_MIN:
        return NOT_ORIENTED.diagnosis
    if peak < STEP_PEAK_MIN:
        return Diagnosis(TOO_WEAK.name, f"{TOO_WEAK.name}: a 0 -> 1 step gives at most {peak:.3g}. {TOO_WEAK.explain}")
    return None


VERTICAL_EDGE = FilterDesignCheck(
    id=f"{STEM}.vertical_edge_filter",
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    params=(),
    reference=lambda: np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]),
    groups=[
        # The visible groups are not drawn again at grading: the function takes no input, so a table of
        # answers has nothing to be keyed by (the filter is judged by what it does, as in Jupyter).
        Group("a 3×3 float filter", _design_form, visible=True),
        Group("clean vertical versus horizontal step", _design_clean, visible=True),
        Group("randomized edges and lines: ratio of responses", _design_random, weight=2.0),
        Group("flat images: no response to plain brightness", _design_flat),
    ],
    mistakes=FILTER_MISTAKES,
    summary="strong on vertical edges, weak on horizontal ones, blind to flat brightness",
)


# ---------------------------------------------------------------------- activation_maps


def _maps_reference(image, filters):
    return ref.conv2d(np.asarray(image)[None], filters)[0]


def _maps_case(rng, c, h, w, f, kh, kw, note="") -> Case:
    return Case(conv_inputs(rng, None, c, h, w, f, kh, kw, bias=False), note=note)


def _visible_maps(rng) -> list[Case]:
    ramp = np.tile(np.array([0.0, 0.0, 1.0, 1.0, 1.0]), (4, 1))[None]  # (1, 4, 5): a vertical edge
    edge = np.array([[[[-1.0, 0.0, 1.0]] * 2]])  # (1, 1, 2, 3)
    return [Case((ramp, edge), note="a 4×5 vertical step and one 2×3 edge filter -> (1, 3, 3)"),
            _maps_case(rng, 3, 6, 7, 2, 3, 3, "an RGB 6×7 image, two 3×3×3 filters -> (2, 4, 5)"),
            _maps_case(rng, 3, 5, 6, 3, 1, 1, "an RGB 5×6 image, three 1×1 colour filters -> (3, 5, 6), as in the chapter")]


def _random_maps(rng, channels=(2, 3, 4), filters=(2, 3, 4), kernels=(2, 3, 4), count=3) -> list[Case]:
    """Random non-square images; kernels at least 2 wide (so a flip shows) and outputs non-square."""
    cases = []
    for _ in range(count):
        kh, kw = int(rng.choice(kernels)), int(rng.choice(kernels))
        h = kh + int(rng.integers(1, 6))
        w = kw + int(rng.integers(1, 6))
        if h - kh == w - kw:
            w += 1
        cases.append(_maps_case(rng, int(rng.choice(channels)), h, w, int(rng.choice(filters)), kh, kw))
    return cases


def _full_size_maps(rng) -> list[Case]:
    c, h, w = int(rng.integers(2, 4)), int(rng.integers(3, 6)), int(rng.integers(3, 6))
    return [_maps_case(rng, c, h, w, int(rng.integers(2, 4)), h, w, "edge case: kernel as large as the image")]


def _flipped_maps(image, filters):
    return ref.conv2d(np.asarray(image)[None], filters[:, :, ::-1, ::-1].copy())[0]


def _first_channel(image, filters):
    return ref.conv2d(np.asarray(image)[None, :1], filters[:, :1])[0]


def _channels_not_summed(image, filters):
    per_channel = [ref.conv2d(np.asarray(image)[None, c:c + 1], filters[:, c:c + 1])[0]
                   for c in range(filters.shape[1])]
    return np.stack(per_channel, axis=1)  # (F, C, H', W')


def _maps_reshaped(image, filters):
    """Maps computed channels-last, (H', W', F), then reshaped (not transposed) to (F, H', W')."""
    maps = _maps_reference(image, filters)
    return np.ascontiguousarray(maps.transpose(1, 2, 0)).reshape(maps.shape)


MAPS_MISTAKES = [
    Mistake("kernel flipped", "your maps are what the filters rotated by 180° give (a true convolution). "
            "CNN layers compute cross-correlation: each weight multiplies the pixel at the same offset in "
            "the window, and the filter is never rotated.", _flipped_maps),
    Mistake("only the first channel", "a filter is as deep as the image: sum the products over all C "
            "channels, not only channel 0.", _first_channel),
    Mistake("channels not summed", "you kept one map per (filter, channel) pair. Each filter gives ONE map: "
            "add up the products over the channels as well as over the window.", _channels_not_summed),
    Mistake("summed over filters (only one map returned)", "you returned a single (H', W') map, the sum of "
            "all filters' maps. Each filter gives its own map: the result has shape (F, H', W'), with "
            "out[f] the map of filters[f].", lambda image, filters: _maps_reference(image, filters).sum(0)),
    Mistake("only one map returned", "you returned the map of filters[0] only (or the last map the loop "
            "computed). Return all F maps stacked: shape (F, H', W').",
            lambda image, filters: _maps_reference(image, filters)[0]),
    Mistake("only one map returned", "every filter's map is the map of the last filter: a loop overwrote "
            "its result. Each filter's map needs its own place in the result.",
            lambda image, filters: np.repeat(_maps_reference(image, filters)[-1:], len(filters), axis=0)),
    Mistake("channel axis mixed up", "the values are right but laid out as (H', W', F). The course puts "
            "channels first, as PyTorch does: the result is (F, H', W'); out[f] is the map of filter f.",
            lambda image, filters: np.ascontiguousarray(_maps_reference(image, filters).transpose(1, 2, 0))),
    Mistake("reshape instead of transpose", "the right numbers are in your maps, but scrambled: they were "
            "computed as (H', W', F) and then reshaped to (F, H', W'). A reshape re-reads the values in "
            "memory order and never moves an axis: move the filter axis to the front instead.",
            _maps_reshaped),
    Mistake("output size off by one", "the window fits in H - KH + 1 rows and W - KW + 1 columns, and "
            "your maps miss the last of them: look at the ends of your loops' ranges.",
            lambda image, filters: _maps_reference(image, filters)[:, :-1, :-1]),
]

ACTIVATION_MAPS = Check(
    id=f"{STEM}.activation_maps",
    params=("image", "filters"),
    reference=_maps_reference,
    groups=[
        Group("a vertical step and a small RGB example", _visible_maps, visible=True),
        Group("randomized images: several channels and filters", lambda rng: _random_maps(rng), weight=2.0),
        Group("one-channel images (C = 1)", lambda rng: _random_maps(rng, channels=(1,))),
        Group("one filter (F = 1)", lambda rng: _random_maps(rng, filters=(1,))),
        Group("1×1 filters: pure colour detectors",
              lambda rng: _random_maps(rng, channels=(3,), filters=(2, 3), kernels=(1,), count=2)),
        Group("edge case: kernel as large as the image", _full_size_maps),
    ],
    mistakes=MAPS_MISTAKES,
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    summary="one valid cross-correlation map per filter, each summed over all channels",
)


# ---------------------------------------------------------------------- strongest_response


def _argmax_reference(activation_map):
    """(row, col) of the first maximum in row-major order, computed with torch.argmax."""
    tensor = ref.to_tensor(activation_map)
    flat = int(torch.argmax(tensor.reshape(-1)))  # torch returns the first of tied maxima
    return divmod(flat, tensor.shape[1])


def _random_map(rng, h, w) -> np.ndarray:
    """A map whose maximum is off the diagonal, not in row 0, and smaller than |its minimum|."""
    values = rng.standard_normal((h, w))
    row, col = int(rng.integers(1, h)), int(rng.integers(0, w))  # below row 0: see _unravel mistakes
    if row == col:
        col = (col + 1) % w
    values[row, col] = np.abs(values).max() + 0.5
    others = [(r, c) for r in range(h) for c in range(w) if (r, c) != (row, col)]
    low = others[int(rng.integers(0, len(others)))]
    values[low] = -values[row, col] - 1.0  # the largest magnitude is negative
    return values


def _random_maps_argmax(rng) -> list[Case]:
    cases = []
    for _ in range(4):
        h = int(rng.integers(3, 9))
        w = h + int(rng.integers(1, 5))
        cases.append(Case((_random_map(rng, h, w) if rng.random() < 0.5 else _random_map(rng, w, h),)))
    return cases


def _visible_argmax(rng) -> list[Case]:
    small = np.array([[0.0, 1.0, -7.0, 2.0],
                      [3.0, 0.5, 1.0, 9.0],
                      [-1.0, 4.0, 0.0, 2.0]])
    return [Case((small,), note="3×4 map: the maximum 9 is at row 1, column 3"),
            Case((_random_map(rng, 5, 8),), note="a random 5×8 map")]


def _ties(rng) -> list[Case]:
    """Non-negative, non-square maps where three positions share the maximum; the first of them
    (in row-major order) is below row 0 and off the diagonal."""
    cases = []
    for _ in range(3):
        h = int(rng.integers(4, 7))
        w = h + int(rng.integers(1, 4))
        values = rng.integers(0, 5, size=(h, w)).astype(np.float64)
        row = int(rng.integers(1, h - 1))
        col = int(rng.integers(0, w))
        if col == row:
            col += 1
        first = row * w + col
        later = rng.choice(np.arange(first + 1, h * w), size=2, replace=False)
        values.flat[[first, *later]] = 9.0
        cases.append(Case((values,), note="three positions share the maximum: return the first, row by row"))
    return cases


def _all_negative(rng) -> list[Case]:
    cases = []
    for _ in range(2):
        h = int(rng.integers(3, 7))
        values = _random_map(rng, h, h + 2)
        values -= values.max() + 0.25  # every value negative; the largest is closest to 0
        cases.append(Case((values,), note="every response is negative"))
    return cases


def _unravel(flat, shape):
    return int(flat // shape[1]), int(flat % shape[1])


ARGMAX_MISTAKES = [
    Mistake("(col, row) swapped", "you returned (column, row). Return (row, column): the first index is "
            "the row (down the map), the second the column (across).",
            lambda m: _argmax_reference(m)[::-1]),
    Mistake("flat index returned instead of a tuple", "np.argmax without an axis gives an index into the "
            "flattened map, not a position. A flat index must be turned back into (row, column); NumPy "
            "has a function for that.",
            lambda m: int(np.argmax(m))),
    Mistake("largest absolute value instead of largest value", "you found the response of largest "
            "magnitude, here a negative one. A large negative response "
            "means the opposite feature (dark where the filter wants bright). Look for the largest value "
            "itself.",
            lambda m: _unravel(np.argmax(np.abs(m)), m.shape)),
    Mistake("argmin instead of argmax", "you found the smallest response. The strongest response is the "
            "largest value.", lambda m: _unravel(np.argmin(m), m.shape)),
    Mistake("last of several tied maxima", "when several positions share the maximum, return the first one "
            "in row-major order (row by row, left to right), as np.argmax does. A loop that also moves to a position "
            "whose value only equals the best so far keeps the last one.",
            lambda m: tuple(int(i) for i in np.argwhere(m == m.max())[-1])),
    Mistake("unravelled with the wrong width", "the row of flat index k is k // W and the column k % W, "
            "where W is the number of columns (the second axis), not the number of rows.",
            lambda m: (int(np.argmax(m) // m.shape[0]), int(np.argmax(m) % m.shape[0]))),
    Mistake("array instead of a tuple", "return a tuple of two Python ints, (row, col), not "
            "an array.", lambda m: np.array(_argmax_reference(m))),
]

STRONGEST = Check(
    id=f"{STEM}.strongest_response",
    params=("activation_map",),
    reference=_argmax_reference,
    groups=[
        Group("a hand-made 3×4 map and a random 5×8 map", _visible_argmax, visible=True),
        Group("randomized non-square maps", _random_maps_argmax, weight=2.0),
        Group("tied maxima: the first in row-major order", _ties),
        Group("all responses negative", _all_negative),
    ],
    mistakes=ARGMAX_MISTAKES,
    summary="(row, col) of the first largest value in row-major order, as a tuple of ints",
)


# ---------------------------------------------------------------------- sobel_magnitude

SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
SOBEL_Y = SOBEL_X.T.copy()
PREWITT_X = np.array([[-1.0, 0.0, 1.0]] * 3)


def _gradients(image, kx=SOBEL_X, ky=None):
    ky = kx.T.copy() if ky is None else ky
    both = ref.conv2d(np.asarray(image, dtype=np.float64)[None, None], np.stack([kx, ky])[:, None])[0]
    return both[0], both[1]


def _sobel_reference(image):
    gx, gy = _gradients(image)
    return ref.to_numpy(torch.sqrt(ref.to_tensor(gx) ** 2 + ref.to_tensor(gy) ** 2))


def _visible_sobel(rng) -> list[Case]:
    step = np.zeros((5, 6))
    step[:, 3:] = 1.0
    return [Case((step,), note="a 5×6 vertical step: |G| = 4 next to the edge, 0 elsewhere"),
            Case((rng.uniform(0, 1, (6, 8)),), note="a random 6×8 image")]


def _random_sobel(rng) -> list[Case]:
    cases = []
    for _ in range(3):
        h = int(rng.integers(4, 12))
        cases.append(Case((rng.uniform(0, 1, (h, h + int(rng.integers(1, 5)))),)))
    return cases


def _left_to_right(rng) -> list[Case]:
    cases = []
    for _ in range(2):
        h, w = int(rng.integers(4, 9)), int(rng.integers(6, 12))
        row = rng.uniform(0, 1, w)
        row[int(rng.integers(2, w - 2))] += 2.0  # at least one strong vertical line
        cases.append(Case((np.tile(row, (h, 1)),), note="rows all the same: only vertical edges, G_y = 0"))
    return cases


def _sobel_255(rng) -> list[Case]:
    h = int(rng.integers(5, 10))
    return [Case((pixels(rng, (h, h + 3), dtype=np.float64),), note="pixel values 0-255"),
            Case((rng.uniform(0, 1, (3, 3)),), note="edge case: a 3×3 image gives one value")]


SOBEL_MISTAKES = [
    Mistake("square root missing", "you returned G_x² + G_y², the squared magnitude. Take its square root.", lambda image: _sobel_reference(image) ** 2),
    Mistake("|G_x| + |G_y| instead of the magnitude", "the edge strength is the length of the gradient "
            "vector, sqrt(G_x² + G_y²), not the sum of the absolute values.",
            lambda image: np.abs(_gradients(image)[0]) + np.abs(_gradients(image)[1])),
    Mistake("G_x + G_y instead of the magnitude", "adding the two responses lets them cancel out. Combine "
            "them as the length of a vector.",
            lambda image: _gradients(image)[0] + _gradients(image)[1]),
    Mistake("only G_x (vertical edges only)", "your map is |G_x|, so it misses every horizontal edge. "
            "Compute G_y with the transposed kernel as well and combine: sqrt(G_x² + G_y²).",
            lambda image: np.abs(_gradients(image)[0])),
    Mistake("only G_y (horizontal edges only)", "your map is |G_y|, so it misses every vertical edge. "
            "Compute G_x too and combine: sqrt(G_x² + G_y²).", lambda image: np.abs(_gradients(image)[1])),
    Mistake("Prewitt weights instead of Sobel", "the Sobel kernel weights the middle row twice: "
            "[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], not three rows of [-1, 0, 1].",
            lambda image: np.hypot(*_gradients(image, PREWITT_X))),
    Mistake("padded to the input size", "the result should be the *valid* part only, shape (H - 2, W - 2): "
            "do not pad the image.",
            lambda image: _sobel_reference(np.pad(np.asarray(image, float), 1))),
    Mistake("same kernel for both directions", "G_y uses the Sobel kernel turned a quarter turn (its "
            "transpose), so that it compares the row above with the row below.",
            lambda image: np.sqrt(2.0) * np.abs(_gradients(image)[0])),
]

SOBEL = Check(
    id=f"{STEM}.sobel_magnitude",
    params=("image",),
    reference=_sobel_reference,
    groups=[
        Group("a vertical step and a small random image", _visible_sobel, visible=True),
        Group("randomized non-square images", _random_sobel, weight=2.0),
        Group("images that change only from left to right", _left_to_right),
        Group("values 0-255 and the smallest image", _sobel_255),
    ],
    mistakes=SOBEL_MISTAKES,
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    summary="sqrt(G_x² + G_y²), valid cross-correlation with the Sobel kernel and its transpose",
)

CHECKS = [VERTICAL_EDGE, ACTIVATION_MAPS, STRONGEST, SOBEL]

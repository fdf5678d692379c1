"""Checks for chapter 6, Fully connected layer and softmax.

Four exercises take a network's last volume to class probabilities: ``flatten`` (keep the
batch axis, C order, like ``torch.flatten(x, 1)``), ``affine_forward`` (``x @ w + b`` with the
course's ``w: (D, M)`` layout, any input shape flattened first), ``softmax`` (along axis 1,
numerically stable) and ``softmax_with_temperature`` (``softmax(x / T)``, stable for tiny T).

The mistake library names the classic bugs: the batch axis flattened too, Fortran order or
channels moved last before flattening, a (D, N) result; the bias missing or added along the
wrong axis, torch's (M, D) weight layout, an input that was never flattened; softmax over
the wrong axis, softmax not shifted by the maximum (overflow to NaN/inf for large logits),
shifted by the minimum, or by the whole batch's maximum (np.max of an empty batch raises),
normalised by the sum of the logits, or by the sum over the whole batch; a temperature ignored,
multiplied instead of divided, or applied after the softmax.

A naive softmax returns NaN on logits of ±1000, and NaN never equals NaN, so the softmax check
recognises a mistake whose output has its NaN and infinite values in the same places as the
student's (the comparison counts NaN as equal to NaN: :func:`.base.compare`).

Groups are built so that each classic mistake passes or fails a group whatever the seed: random
batches always have N ≠ M and D ≠ M (so a transposed weight or a bias on the wrong axis raises),
the square-weight group always has D = M and N ≠ M, every huge-logit row spans more than 1,500
(so shifting by the minimum overflows too), and the rows of one huge-logit case have maxima within
50 of each other (so shifting by the batch's global maximum, which is also correct on any batch but
an empty one, still passes), and temperatures are never 1 outside the visible group.

The visible groups show the property each exercise is about (re-drawn numbers keep it): a 3-D input
for ``flatten``, logits of ±1000 for ``softmax``, T = 0.01 for ``softmax_with_temperature``.
"""

from __future__ import annotations

import numpy as np

from .. import reference as ref
from .base import FORBIDDEN, SOFTMAX_LIBRARIES, Case, Check, Group, Mistake
from .cases import ramp

STEM = "06-fully-connected-and-softmax"


def _size_other_than(rng, *excluded: int, high: int = 11) -> int:
    """A size from 2 to high - 1 that is none of ``excluded`` (so that two axes never match)."""
    return int(rng.choice([k for k in range(2, high) if k not in excluded]))


# ---------------------------------------------------------------------- flatten


def _visible_flatten(rng) -> list[Case]:
    return [Case((ramp((2, 3, 2, 2)),), note="two 3×2×2 volumes numbered 0 to 23"),
            Case((rng.standard_normal((3, 16, 2, 2)),), note="three 16×2×2 volumes, like the digit network's"),
            Case((ramp((2, 3, 4)),), note="not only volumes: two 3×4 arrays (N, A, B), 3-D, numbered 0 to 23, "
                                          "give (2, 12)")]


def _random_volumes(rng) -> list[Case]:
    """4-D batches with N >= 2, C >= 2 and non-square H×W: every ordering mistake shows."""
    cases = []
    for _ in range(3):
        h = int(rng.integers(2, 5))
        shape = (int(rng.integers(2, 5)), int(rng.integers(2, 6)), h, h + int(rng.integers(1, 3)))
        cases.append(Case((rng.standard_normal(shape),)))
    return cases


def _other_ranks(rng) -> list[Case]:
    a, b = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    return [Case((rng.standard_normal((int(rng.integers(2, 5)), a, b + 1)),), note="3-D input (N, A, B)"),
            Case((rng.standard_normal((2, a, 2, b, 3)),), note="5-D input (N, A, B, C, D)"),
            Case((rng.standard_normal((int(rng.integers(2, 6)), int(rng.integers(2, 9)))),),
                 note="2-D input (N, D): already flat, returned unchanged")]


def _one_volume(rng) -> list[Case]:
    shape = (1, int(rng.integers(2, 5)), int(rng.integers(2, 4)), int(rng.integers(4, 6)))
    return [Case((rng.standard_normal(shape),), note="edge case: one volume, N = 1")]


def _channels_last(x):
    return np.moveaxis(x, 1, -1).reshape(x.shape[0], -1)


def _assumed_4d(x):
    """`n, c, h, w = x.shape` first: right on (N, C, H, W), a ValueError on any other number of axes."""
    n, c, h, w = x.shape
    return x.reshape(n, c * h * w)


FLATTEN = Check(
    id=f"{STEM}.flatten",
    params=("x",),
    reference=ref.flatten,
    groups=[
        Group("two numbered 3×2×2 volumes, three 16×2×2 volumes and a 3-D batch", _visible_flatten, visible=True),
        Group("random batches of volumes (N, C, H, W)", _random_volumes, weight=2.0),
        Group("inputs with 2, 3 and 5 axes", _other_ranks),
        Group("edge case: a batch of one (N = 1)", _one_volume),
    ],
    mistakes=[
        Mistake("flattened the batch axis too", "your result is one long 1-D vector: every number of every "
                "example in a row. Keep the batch axis: the result is (N, D), one row per example. Look at the "
                "shape you ask for: a reshape that keeps the first axis and lets NumPy count the rest.",
                lambda x: x.reshape(-1)),
        Mistake("returned (D, N) instead of (N, D)", "your rows and columns are swapped: each *column* holds "
                "one example. The result has one row per example: look for a transpose at the end.",
                lambda x: x.reshape(x.shape[0], -1).T),
        Mistake("returned (D, N) instead of (N, D)", "a reshape to (D, N) has the right numbers in the wrong "
                "shape, and mixes examples. The batch size comes first in the shape you ask for.",
                lambda x: x.reshape(-1, x.shape[0])),
        Mistake("Fortran (column-major) order", "your values are flattened with the first index changing "
                "fastest (Fortran order), which also mixes examples together. NumPy's default C order is the "
                "one asked for: the last axis (W) changes fastest, then H, then C, as in torch.flatten(x, 1).", lambda x: x.reshape(x.shape[0], -1, order="F")),
        Mistake("Fortran (column-major) order", "each example is flattened with its first axis (C) changing "
                "fastest. Use C order: for a (C, H, W) volume, entry (c, i, j) goes to position "
                "c*H*W + i*W + j, which NumPy's default (C) order gives.",
                lambda x: np.stack([example.ravel(order="F") for example in x])),
        Mistake("channel axis mixed up (channels moved last before flattening)", "your order is that of an "
                "(N, H, W, C) array: the channels of one pixel sit next to each other. This course keeps "
                "NCHW, as PyTorch does, and flattens in that order: look for an axis moved before the "
                "reshape.", _channels_last),
        Mistake("height and width swapped", "you transposed H and W before flattening. Flatten in (C, H, W) "
                "order: look for a transpose or swap of axes before the reshape.",
                lambda x: np.swapaxes(x, -1, -2).reshape(x.shape[0], -1)),
        Mistake("assumed a 4-D input", "flatten must work for any (N, ...) array, not only (N, C, H, W): "
                "unpacking exactly four sizes fails on 2-D, 3-D and 5-D inputs. Keep the first axis and let "
                "NumPy count the rest.", _assumed_4d),
    ],
    summary="(N, ...) to (N, D): the batch axis kept, each example in C order",
)


# ---------------------------------------------------------------------- affine_forward


def _affine_reference(x, w, b):
    return ref.linear(ref.flatten(x), w, b)


def _affine_case(rng, x_shape, m, note="") -> Case:
    d = int(np.prod(x_shape[1:]))
    return Case((rng.standard_normal(x_shape), rng.standard_normal((d, m)), rng.standard_normal(m)), note=note)


def _visible_affine(rng) -> list[Case]:
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
    b = np.array([0.5, -0.5])
    return [Case((x, w, b), note="hand-worked: x (2, 3), w (3, 2); expect [[4.5, -1.5], [10.5, -1.5]]"),
            _affine_case(rng, (3, 5), 4, "x (3, 5), w (5, 4), b (4,)")]


def _visible_volume_affine(rng) -> list[Case]:
    return [_affine_case(rng, (2, 3, 2, 2), 4, "x (2, 3, 2, 2) is flattened to (2, 12); w (12, 4)"),
            _affine_case(rng, (1, 16, 2, 2), 10, "one (16, 2, 2) volume and w (64, 10), b (10,): the digit "
                                                 "network's last layer, as the next cell uses it")]


def _random_affine(rng) -> list[Case]:
    """2-D inputs with N ≠ M and D ≠ M, so a transposed weight or a bias on axis 0 always raises."""
    cases = []
    for _ in range(3):
        n, d = int(rng.integers(2, 7)), int(rng.integers(2, 9))
        m = _size_other_than(rng, n, d)
        cases.append(_affine_case(rng, (n, d), m))
    return cases


def _square_affine(rng) -> list[Case]:
    """D = M, so torch's (M, D) layout has the same shape as (D, M): only the values tell."""
    cases = []
    for _ in range(2):
        m = int(rng.integers(2, 7))
        n = _size_other_than(rng, m, high=8)
        cases.append(_affine_case(rng, (n, m), m, "square weight matrix, D = M"))
    return cases


def _volume_affine(rng) -> list[Case]:
    c, h = int(rng.integers(2, 5)), int(rng.integers(2, 4))
    return [_affine_case(rng, (int(rng.integers(2, 5)), c, h, h + 1), int(rng.integers(2, 11)),
                         "a batch of (C, H, W) volumes"),
            _affine_case(rng, (int(rng.integers(2, 5)), int(rng.integers(2, 5)), int(rng.integers(2, 5))),
                         int(rng.integers(2, 11)), "a batch of (A, B) arrays")]


def _edge_affine(rng) -> list[Case]:
    return [_affine_case(rng, (1, int(rng.integers(2, 9))), int(rng.integers(2, 11)), "edge case: one example, N = 1"),
            _affine_case(rng, (int(rng.integers(2, 6)), int(rng.integers(2, 9))), 1, "edge case: one output, M = 1")]


def _flat(x):
    return x.reshape(len(x), -1)


def _not_flattened(x, w, b):
    """x @ w + b on x as it comes: right on (N, D), a ValueError on a batch of volumes."""
    return x @ w + b


AFFINE = Check(
    id=f"{STEM}.affine_forward",
    params=("x", "w", "b"),
    reference=_affine_reference,
    groups=[
        Group("a hand-worked 2×3 example and a random (3, 5) batch", _visible_affine, visible=True),
        Group("a batch of (3, 2, 2) volumes and one (16, 2, 2) volume, flattened first", _visible_volume_affine,
              visible=True),
        Group("random batches, x (N, D), with N, D and M all different", _random_affine),
        Group("square weights, D = M", _square_affine),
        Group("random batches of volumes (N, d1, ..., dk)", _volume_affine),
        Group("edge cases: one example (N = 1), one output (M = 1)", _edge_affine),
    ],
    mistakes=[
        Mistake("bias missing", "your output is x @ w without b. Add the bias, one value per output "
                "column, after the product.", lambda x, w, b: _flat(x) @ w),
        Mistake("weight transposed (torch's (M, D) layout)", "your output is x @ w.T + b, as if w were "
                "torch.nn.Linear's (M, D) weight. In this course w has shape (D, M): one row per input "
                "feature, one column per output: look for a transpose.",
                lambda x, w, b: _flat(x) @ w.T + b),
        Mistake("bias added along the wrong axis", "b has one value per *output column* (shape (M,)), so "
                "it is added to every row. Reshaping it into a column adds it down the batch axis instead: "
                "look at how b is broadcast.", lambda x, w, b: _flat(x) @ w + b[:, None]),
        Mistake("bias added before the product", "(x + b) @ w multiplies the bias by the weights too. "
                "The bias comes after the product.", lambda x, w, b: (_flat(x) + b) @ w),
        Mistake("input not flattened", "x can have any shape (N, d1, ..., dk), for example a batch of "
                "(C, H, W) volumes. Flatten each example to D = d1*...*dk numbers first, as in Exercise 6.1.",
                _not_flattened),
    ],
    summary="each example flattened, times w (D, M), plus b added to every row",
)


# ---------------------------------------------------------------------- softmax


def _softmax_reference(x):
    return ref.softmax(x, axis=1)


def _visible_softmax(rng) -> list[Case]:
    """The last non-empty case is the docstring's [1000, 0, -1000], beside a row near +1000 (whose neighbours
    keep the +1000 above exp's limit when the grader re-draws the numbers): a softmax that is not shifted
    overflows in both rows, one shifted by the row's minimum in the first. Both rows have the same maximum,
    so a shift by the batch's maximum, also correct, passes it."""
    return [Case((np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),),
                 note="[1, 2, 3] -> [0.090, 0.245, 0.665]; equal scores -> 1/3 each"),
            Case((rng.standard_normal((4, 10)) * 2,), note="4 examples, 10 classes"),
            Case((np.array([[1000.0, 0.0, -1000.0], [1000.0, 999.0, 998.0]]),),
                 note="huge logits: [1000, 0, -1000] -> [1, 0, 0], and [1000, 999, 998] -> [0.665, 0.245, 0.090], "
                      "like [2, 1, 0]; np.exp(1000) alone overflows to inf"),
            Case((np.zeros((0, 10)),), note="edge case: an empty batch, N = 0, gives an empty (0, 10) array")]


def _random_softmax(rng) -> list[Case]:
    """Moderate logits, N ≠ C and N >= 2, so a softmax over the wrong axis always shows."""
    cases = []
    for _ in range(3):
        n = int(rng.integers(2, 7))
        c = _size_other_than(rng, n)
        cases.append(Case((rng.standard_normal((n, c)) * float(rng.uniform(1, 5)),)))
    return cases


def _huge_logits(rng) -> list[Case]:
    """Logits around ±1000.

    Case 1 mixes +1000, -1000 and small values in every row (each row spans more than 1,500, so
    shifting by the minimum overflows as well); cases 2 and 3 are rows near -1000 and near +1000.
    In each case the row maxima are within 50 of each other, so a shift by the global maximum of
    the batch, which is also correct, never underflows a whole row.
    """
    n, c = int(rng.integers(2, 5)), int(rng.integers(4, 9))
    mixed = rng.uniform(-50, 50, size=(n, c))
    columns = np.stack([rng.permutation(c) for _ in range(n)])
    rows = np.arange(n)
    mixed[rows, columns[:, 0]] = 1000.0 - rng.uniform(0, 20, size=n)
    mixed[rows, columns[:, 1]] = -1000.0 + rng.uniform(0, 20, size=n)
    n2, c2 = int(rng.integers(2, 5)), int(rng.integers(2, 8))
    return [Case((mixed,), note="logits near +1000, -1000 and 0 in every row"),
            Case((-1000.0 + rng.uniform(-5, 5, size=(n2, c2)),), note="every logit near -1000"),
            Case((np.array([[1000.0, 999.0, 998.0]]).repeat(2, axis=0) + rng.uniform(0, 1, size=(2, 3)),),
                 note="every logit near +1000")]


def _edge_softmax(rng) -> list[Case]:
    return [Case((rng.standard_normal((1, int(rng.integers(3, 8)))),), note="edge case: one example, N = 1"),
            Case((rng.standard_normal((int(rng.integers(2, 6)), 1)),), note="edge case: one class, C = 1"),
            Case((np.full((3, 4), float(rng.uniform(-5, 5))),), note="edge case: equal logits give 1/4 each"),
            Case((np.zeros((0, int(rng.integers(2, 11)))),), note="edge case: an empty batch, N = 0")]


def _normalised(e):
    """Each row divided by its sum."""
    return e / np.sum(e, axis=1, keepdims=True)


def _naive(x):
    return _normalised(np.exp(x))


def _shifted(x, shift):
    return _normalised(np.exp(x - shift))


def _row_max(x):
    return x.max(axis=1, keepdims=True)


def _batch_max(x):
    """Shifted by the whole batch's maximum, x.max(): right on every batch whose rows all reach within
    about 745 of it, and on an empty batch the ValueError that np.max of an empty array raises."""
    return _shifted(x, x.max())


def _wrong_axis(x):
    """The stable formula along axis 0, as NumPy code does it: on an empty batch, x.max(axis=0) raises."""
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


SOFTMAX_MISTAKES = [
    Mistake("softmax over the wrong axis (axis 0)", "each *column* of your result sums to 1. x is (N, C): "
            "one row of C class scores per example, so both the maximum and the sum are taken along the "
            "class axis (axis 1). Look at the axis of your reductions.", _wrong_axis),
    Mistake("softmax not shifted by the maximum (overflow to NaN/inf for large logits)", "np.exp(1000) is "
            "inf in float64 (anything above about 709 overflows) and inf / inf is NaN; np.exp(-1000) is 0 "
            "and 0 / 0 is NaN. Softmax does not change when you subtract the same number from every score "
            "of a row, so subtract each row's maximum before exponentiating. The largest exponent is "
            "then exp(0) = 1, and the sum is at least 1.", _naive),
    Mistake("shifted by the minimum instead of the maximum", "subtracting the row's minimum makes the "
            "smallest score 0 and leaves the largest one huge, so exp still overflows when a row spans "
            "more than about 709 (for example from -1000 to +1000). The shift that keeps every "
            "exponential at most 1 is the row's maximum.",
            lambda x: _shifted(x, x.min(axis=1, keepdims=True))),
    Mistake("normalised by the sum of the logits instead of the exponentials", "the denominator must be "
            "the sum of the same exponentials as the numerator. Dividing by the sum of the scores gives "
            "values that do not add up to 1 (and can be negative). Look at what your denominator sums.", lambda x: np.exp(x - _row_max(x)) / (x - _row_max(x)).sum(1, keepdims=True)),
    Mistake("normalised by the sum of the logits instead of the exponentials", "the denominator must be the "
            "sum of the exponentials of the row, not of the raw scores. Look at what your denominator sums.",
            lambda x: np.exp(x - _row_max(x)) / x.sum(1, keepdims=True)),
    Mistake("normalised by the sum of the logits instead of the exponentials", "the denominator must be the "
            "sum of the exponentials of the row, not of the raw scores. Look at what your denominator sums.",
            lambda x: np.exp(x) / x.sum(1, keepdims=True)),
    Mistake("no exponential", "your result is x / x.sum(axis=1): the scores divided by their sum, "
            "without exponentials. Softmax exponentiates first, so every entry is positive.",
            lambda x: x / x.sum(1, keepdims=True)),
    Mistake("normalised by the sum over the whole batch", "your whole array sums to 1, not each row. "
            "The sum runs along the class axis only, one sum per example: look at the axis of your sum.",
            lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum()),
    Mistake("maximum taken along the wrong axis", "x.max(axis=0) is the largest score of each *class* over "
            "the batch. Subtracting a different number from each column changes the result; subtract each "
            "row's own maximum (the class axis, axis 1).",
            lambda x: _shifted(x, x.max(axis=0, keepdims=True))),
    Mistake("keepdims missing", "e.sum(axis=1) has shape (N,), and NumPy lines it up with the *last* axis "
            "of e: each column is divided by the wrong row's sum (or the shapes do not broadcast). Keep the "
            "reduced axis, so that the sums form a column of shape (N, 1).",
            lambda x: np.exp(x - _row_max(x)) / np.exp(x - _row_max(x)).sum(axis=1)),
    Mistake("returned log-probabilities", "your values are log-softmax, x - logsumexp(x). Softmax returns "
            "the probabilities themselves: exponentiate.", lambda x: ref.log_softmax(x, axis=1)),
    Mistake("shifted by the maximum of the whole batch", "np.max of an empty batch (N = 0) raises a ValueError: "
            "an empty array has no maximum. Subtracting the batch's maximum x.max() is otherwise right (softmax "
            "does not change when every score is shifted by the same number), but the docstring asks for an "
            "empty (0, K) result. Use the maximum of each row, x.max(axis=1, keepdims=True): for an empty batch "
            "it is an empty (0, 1) array too, and the rest of the formula works on it unchanged.",
            _batch_max),
]


SOFTMAX = Check(
    id=f"{STEM}.softmax",
    forbidden=FORBIDDEN + SOFTMAX_LIBRARIES,
    params=("x",),
    reference=_softmax_reference,
    groups=[
        Group("two hand-worked rows, a random batch of 4×10 scores and logits of ±1000", _visible_softmax,
              visible=True),
        Group("random batches of logits (N, C), N ≠ C", _random_softmax, weight=2.0),
        Group("huge logits: ±1000, and huge mixed with small", _huge_logits),
        Group("edge cases: one example, one class, equal logits, an empty batch", _edge_softmax),
    ],
    mistakes=SOFTMAX_MISTAKES,
    summary="each row shifted by its maximum, exponentiated, and divided by its own sum",
)



# ---------------------------------------------------------------------- softmax_with_temperature


def _temperature_reference(x, temperature):
    return ref.softmax(np.asarray(x) / temperature, axis=1)


def _visible_temperature(rng) -> list[Case]:
    z = np.array([[1.0, 2.0, 3.0]])
    return [Case((z, 1.0), note="T = 1 is plain softmax: [0.090, 0.245, 0.665]"),
            Case((z, 2.0), note="T = 2 halves the scores: [0.186, 0.307, 0.506]"),
            Case((rng.standard_normal((3, 10)) * 3, 0.5), note="3 examples, 10 classes, T = 0.5"),
            Case((rng.standard_normal((1, 10)) * 3, 0.1), note="one digit's 10 scores as a (1, 10) row, T = 0.1, "
                                                              "as the explorer below calls it"),
            Case((np.array([[8.0, 7.0, 1.0]]), 0.01),
                 note="T = 0.01: the scores become [800, 700, 100], past exp's limit of 709; expect [1, 0, 0] "
                      "(to float64's precision), not NaN")]


def _random_temperature(rng) -> list[Case]:
    """Temperatures away from 1 (0.25 to 0.7 or 1.5 to 4), N ≠ K: every mistake shows."""
    cases = []
    for low, high in [(0.25, 0.7), (1.5, 4.0), (0.25, 0.7)]:
        n = int(rng.integers(2, 6))
        k = _size_other_than(rng, n)
        cases.append(Case((rng.standard_normal((n, k)) * 3, float(rng.uniform(low, high)))))
    return cases


def _cold_temperature(rng) -> list[Case]:
    """T <= 0.01 and a score of 8 or more in every row: x / T exceeds 800, so exp overflows unless shifted."""
    n, k = int(rng.integers(2, 5)), int(rng.integers(3, 9))
    x = rng.uniform(-10, 6, size=(n, k))
    x[np.arange(n), rng.integers(0, k, size=n)] = rng.uniform(8, 10, size=n)
    return [Case((x, float(rng.uniform(0.005, 0.01))), note="a very low temperature: scores / T reach 800 and more")]


def _hot_temperature(rng) -> list[Case]:
    n = int(rng.integers(2, 5))
    k = _size_other_than(rng, n)
    return [Case((rng.standard_normal((n, k)) * 3, float(rng.uniform(50, 200))),
                 note="a very high temperature: close to uniform")]


def _temperature_not_shifted(x, temperature):
    return _naive(x / temperature)


TEMPERATURE = Check(
    id=f"{STEM}.softmax_with_temperature",
    forbidden=FORBIDDEN + SOFTMAX_LIBRARIES,
    params=("x", "temperature"),
    reference=_temperature_reference,
    groups=[
        Group("[1, 2, 3] at T = 1 and T = 2, a random batch at T = 0.5, one row at T = 0.1 and [8, 7, 1] at "
              "T = 0.01", _visible_temperature, visible=True),
        Group("random batches, T between 0.25 and 4 (never 1)", _random_temperature),
        Group("a very low temperature (T <= 0.01)", _cold_temperature),
        Group("a very high temperature (T >= 50)", _hot_temperature),
    ],
    mistakes=[
        Mistake("temperature ignored", "your result is plain softmax(x), the same for every T. The temperature "
                "rescales the scores before the softmax: look at whether your function uses temperature at all.",
                lambda x, temperature: ref.softmax(x, axis=1)),
        Mistake("multiplied by the temperature instead of dividing", "your result is softmax(x * T). The "
                "temperature divides the scores: a high T makes them smaller and the distribution flatter. Look "
                "at how you combine the scores with T.",
                lambda x, temperature: ref.softmax(x * temperature, axis=1)),
        Mistake("temperature applied after the softmax", "your result is softmax(x) / T, and its rows do not sum "
                "to 1. The temperature rescales the *scores*, before the softmax, not the probabilities after "
                "it: look at the order of the two steps.",
                lambda x, temperature: ref.softmax(x, axis=1) / temperature),
        Mistake("temperature applied after the softmax", "your rows are softmax(x) ** (1 / T), which no longer "
                "sum to 1. The temperature rescales the *scores*, before the softmax, not the probabilities "
                "after it: look at the order of the two steps.",
                lambda x, temperature: ref.softmax(x, axis=1) ** (1 / temperature)),
        Mistake("softmax not shifted by the maximum (overflow to NaN/inf for large logits)", "at a low temperature "
                "the rescaled scores are huge (a score of 8 at T = 0.01 becomes 800) and the exponential "
                "overflows to inf, so inf / inf gives NaN. Shift each row of the rescaled scores by its maximum "
                "before exponentiating, as your softmax of Exercise 6.3 does (you may call it).",
                _temperature_not_shifted),
        Mistake("floor division by the temperature", "your scores were divided by T with floor division, which "
                "rounds every quotient down to a whole number: close scores become equal and the "
                "probabilities come out in steps. The temperature rescales the scores smoothly: look at the "
                "division operator you used.",
                lambda x, temperature: ref.softmax(np.floor_divide(x, temperature), axis=1)),
        Mistake("softmax over the wrong axis (axis 0)", "each *column* of your result sums to 1. Each row is one "
                "example, and its probabilities must sum to 1: look at the axis of your reductions.",
                lambda x, temperature: ref.softmax(x / temperature, axis=0)),
    ],
    summary="softmax(x / temperature)",
)


CHECKS = [FLATTEN, AFFINE, SOFTMAX, TEMPERATURE]

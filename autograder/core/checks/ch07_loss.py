"""Checks for chapter 7, Loss.

Three exercises: turning integer labels into one-hot rows (``one_hot``), the course's mean
squared error with its 1/2 (``mse_loss``) and softmax cross-entropy computed from raw logits
(``cross_entropy_loss``).

The mistake library names the classic loss bugs: labels shifted by one, a transposed or
integer one-hot matrix, the number of classes guessed from the batch; the loss summed over the
batch instead of averaged (or averaged over every element), the 1/2 or the square missing,
integer labels used where a one-hot row belongs; softmax over the wrong axis, the logit used
instead of the log-probability, the label used as a column index for every row, and the two
kinds of numerical trouble: exponentials that overflow (softmax not shifted by the maximum,
giving NaN or inf) and probabilities that underflow to 0 before the log (giving inf).

A NaN or inf answer never *equals* anything, so the exact-match mistake library cannot name
it. Its checks carry ``hints``, a second pass for answers that are not finite and looks at the
case to say why: large logits mean overflow or underflow, small ones mean a log of a negative
number.

Groups are built so that each mistake passes or fails a group whatever the seed: random
batches always hold two or more examples with at least two different labels, the classes
never equal the batch size, "large logit" groups always contain logits near ±1000, and the
"far below the maximum" group always has a true class about 1000 below its row's maximum. The visible
group shows both troubles on the chapter's row [1000, 0, -1000]: with the true class 0 (overflow, for
a softmax not shifted) and 2 (underflow, for a shifted softmax followed by a log).
"""

from __future__ import annotations

import numpy as np

from .. import reference as ref
from .base import (
    FORBIDDEN,
    LEARNING_LIBRARIES,
    SOFTMAX_LIBRARIES,
    Case,
    Check,
    Diagnosis,
    Group,
    Mistake,
    NotApplicable,
)
from .cases import class_labels, logits_and_labels, logits_near_1000, one_example_logits, random_logits

STEM = "07-loss"

# The source's numbers: a training "3", an untrained guess and the chapter-6 prediction.
UNIFORM = np.full((1, 10), 0.1)
CHAPTER6 = np.array([[0.0, 0.1, 0.1, 0.75, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05]])
THREE = np.eye(10)[[3]]


# ---------------------------------------------------------------------- a check that reads NaN


def _as_float(value) -> float | None:
    """The student's value as one float, or None if it is not a single number."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        return float(value.reshape(()))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _scalar(function):
    """Wrap a reference op returning a 0-d array so that it returns a Python float."""
    return lambda *args, **kwargs: float(function(*args, **kwargs))


# ---------------------------------------------------------------------- one_hot


def _visible_one_hot(rng) -> list[Case]:
    return [Case((np.array([3]), 10), note='the label of a training "3"'),
            Case((np.array([0, 2, 1, 2]), 3), note="four labels, three classes"),
            Case((np.array([0, 1, 2, 3], dtype=np.int64), 10), note="the first four labels of the digits, 10 classes"),
            Case((np.array([], dtype=np.int64), 10), note="edge case: an empty batch, N = 0, gives a (0, 10) array")]


def _one_hot_again(cases, rng) -> list[Case]:
    """The visible cases at grading time, other labels of the same kinds: one label that is not the last
    class, four labels in which each of three classes occurs (one twice), four different digits, and the
    empty batch as it was."""
    label = int(rng.integers(0, 9))
    three = rng.permutation(np.array([0, 1, 2, int(rng.integers(0, 3))], dtype=np.int64))
    return [Case((np.array([label], dtype=np.int64), 10), note=f'the label of a training "{label}"'),
            Case((three, 3), note=cases[1].note),
            Case((rng.choice(10, size=4, replace=False).astype(np.int64), 10), note="four labels of the digits, 10 classes"),
            cases[3]]


def _random_one_hot(rng) -> list[Case]:
    """Random batches in which the last class always occurs (and N != num_classes)."""
    cases = []
    for _ in range(3):
        num_classes = int(rng.integers(3, 11))
        n = int(rng.integers(2, 13))
        if n == num_classes:
            n += 1
        cases.append(Case((class_labels(rng, n, num_classes, must_have=(num_classes - 1,)), num_classes)))
    return cases


def _edge_one_hot(rng) -> list[Case]:
    num_classes = int(rng.integers(5, 11))
    return [
        Case((np.array([int(rng.integers(0, num_classes - 1))]), num_classes),
             note="edge case: one label, and it is not the last class"),
        Case((class_labels(rng, int(rng.integers(2, 5)), num_classes - 2), num_classes),
             note="edge case: the last two classes never occur in this batch"),
        Case((np.array([1, 0, 1]), 2), note="edge case: two classes"),
        Case((np.array([], dtype=np.int64), num_classes), note="edge case: an empty batch, N = 0"),
    ]


def _one_hot_shift(labels, num_classes, shift):
    return ref.one_hot((np.asarray(labels) + shift) % num_classes, num_classes)


def _every_row_every_label(labels, num_classes):
    any_hot = np.zeros(num_classes)
    any_hot[np.asarray(labels)] = 1.0
    return np.tile(any_hot, (len(labels), 1))


def _shifted_past_the_end(labels, num_classes):
    """out[rows, labels + 1] = 1: each 1 a column too far, an IndexError for a label num_classes - 1."""
    labels = np.asarray(labels)
    out = np.zeros((labels.size, num_classes))
    out[np.arange(labels.size), labels + 1] = 1.0
    return out


ONE_HOT = Check(
    id=f"{STEM}.one_hot",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,
    params=("labels", "num_classes"),
    reference=lambda labels, num_classes: ref.one_hot(labels, num_classes),
    groups=[
        Group('a training "3" with 10 classes, and four labels with 3 and with 10 classes', _visible_one_hot,
              visible=True, redraw=_one_hot_again),
        Group("random batches (2 to 13 labels, 3 to 10 classes)", _random_one_hot, weight=2.0),
        Group("edge cases: one label, classes missing from the batch, two classes, no label", _edge_one_hot),
    ],
    mistakes=[
        Mistake("off by one (labels - 1)", "each 1 sits one column to the left of where it belongs (and "
                "label 0 wraps around to the last column). Class k goes in column k: labels are already "
                "0-based, so index with labels, not labels - 1.", lambda y, c: _one_hot_shift(y, c, -1)),
        Mistake("off by one (labels + 1)", "each 1 sits one column to the right of where it belongs. Class k "
                "goes in column k: index with labels, not labels + 1.", lambda y, c: _one_hot_shift(y, c, 1)),
        Mistake("off by one (labels + 1)", "an index equal to num_classes means a label was shifted up by one: "
                "class k goes in column k (columns 0 to num_classes - 1), so index with labels, not labels + 1.",
                _shifted_past_the_end),
        Mistake("transposed: (num_classes, N)", "your matrix has one column per example. The result has one "
                "*row* per example and one column per class: shape (N, num_classes). Build it that way round "
                "(or return its transpose).", lambda y, c: ref.one_hot(y, c).T.copy()),
        Mistake("integer one-hot", "the 0s and 1s are right, but the dtype is an integer. This course asks for "
                "float64 one-hot rows, ready to be subtracted from predicted probabilities: look at the dtype of "
                "the array you create and return.",
                lambda y, c: ref.one_hot(y, c).astype(np.int64)),
        Mistake("boolean one-hot", "a comparison gives True and False. The result should hold the float64 values "
                "0.0 and 1.0: convert the booleans to floats before you return them.",
                lambda y, c: ref.one_hot(y, c).astype(bool)),
        Mistake("num_classes taken from the batch", "you used labels.max() + 1 (or the number of distinct "
                "labels) as the number of columns. A batch need not contain every class: always make "
                "num_classes columns.", lambda y, c: ref.one_hot(y, int(np.max(y)) + 1)),
        Mistake("every row gets every label", "your assignment sets, in every row, the columns of *all* the "
                "labels in the batch. Each row must be paired with its own label only: look at the row index you "
                "pair with the labels.",
                _every_row_every_label),
    ],
    summary="one float64 row per label, 1.0 in the label's column, shape (N, num_classes)",
)


# ---------------------------------------------------------------------- mse_loss


def _probabilities(rng, n, c) -> np.ndarray:
    scores = rng.standard_normal((n, c)) * 1.5
    return ref.softmax(scores)


def _visible_mse(rng) -> list[Case]:
    both = np.concatenate([UNIFORM, CHAPTER6])
    return [
        Case((UNIFORM.copy(), THREE.copy()), note="uniform guess vs a \"3\": 1/2 (0.9² + 9·0.1²) = 0.45"),
        Case((CHAPTER6.copy(), THREE.copy()), note="chapter 6's prediction vs a \"3\": 0.0425"),
        Case((both, np.concatenate([THREE, THREE])), note="both as a batch of two: (0.45 + 0.0425) / 2"),
    ]


def _random_mse(rng) -> list[Case]:
    cases = []
    for _ in range(3):
        n, c = int(rng.integers(2, 9)), int(rng.integers(3, 11))
        target = ref.one_hot(class_labels(rng, n, c), c)
        cases.append(Case((_probabilities(rng, n, c), target)))
    return cases


def _single_mse(rng) -> list[Case]:
    cases = []
    for _ in range(2):
        c = int(rng.integers(3, 11))
        cases.append(Case((_probabilities(rng, 1, c), ref.one_hot(class_labels(rng, 1, c), c)),
                          note="one example (N = 1)"))
    return cases


def _soft_mse(rng) -> list[Case]:
    cases = []
    for _ in range(2):
        n, c = int(rng.integers(2, 7)), int(rng.integers(2, 8))
        cases.append(Case((rng.standard_normal((n, c)) * 2, rng.uniform(-1, 2, size=(n, c))),
                          note="any numbers: the formula does not assume one-hot rows or probabilities"))
    return cases


def _per_example(pred, target):
    return 0.5 * np.sum((np.asarray(target) - np.asarray(pred)) ** 2, axis=1)


def _integer_label_minus_pred(pred, target):
    labels = np.argmax(target, axis=1)[:, None]
    return float(np.mean(0.5 * np.sum((labels - pred) ** 2, axis=1)))


def _one_hot_twice(pred, target):
    """target (already one-hot floats) used as indices: an IndexError."""
    encoded = np.zeros(np.shape(pred))
    encoded[np.arange(len(target)), target] = 1.0
    return float(np.mean(0.5 * np.sum((encoded - pred) ** 2, axis=1)))


MSE = Check(
    id=f"{STEM}.mse_loss",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,  # sklearn.metrics.mean_squared_error
    params=("pred", "target"),
    reference=_scalar(ref.mse_loss),
    groups=[
        Group('the source\'s cases: a "3" against a uniform guess, against chapter 6\'s prediction, and both '
              "as a batch", _visible_mse, visible=True),
        Group("random batches (N 2 to 8, 3 to 10 classes), one-hot targets", _random_mse, weight=2.0),
        Group("one example at a time (N = 1)", _single_mse),
        Group("targets and predictions that are any numbers", _soft_mse),
    ],
    mistakes=[
        Mistake("loss summed over the batch, not averaged", "your value is N times too big: it adds up the "
                "N per-example losses. The course averages over the batch (so the loss does not grow with "
                "the batch size): sum over classes, then take the mean over examples.",
                lambda p, t: float(np.sum(_per_example(p, t)))),
        Mistake("per-example losses not averaged", "you returned one loss per example, shape (N,). The loss "
                "of a batch is one number: take the mean of the per-example losses.", _per_example),
        Mistake("loss averaged over every element, not over the batch", "np.mean over the whole (N, C) array "
                "divides by N·C. Sum the squared errors over the classes (axis 1) and average only over the "
                "N examples (axis 0).", lambda p, t: float(0.5 * np.mean((t - p) ** 2))),
        Mistake("torch's MSELoss convention (no 1/2, averaged over every element)", "this is the mean of the "
                "squared errors over every element, with no factor 1/2. The course's loss has the factor 1/2, "
                "sums the squared errors over the classes and averages over the examples only: look at the "
                "factor and at the axes your sum and mean run over.",
                lambda p, t: float(np.mean((t - p) ** 2))),
        Mistake("missing the 1/2 (the half)", "your value is exactly twice the expected loss. The course's "
                "squared error carries a factor 1/2 (it cancels the 2 of the derivative): multiply by 0.5.",
                lambda p, t: float(np.mean(2 * _per_example(p, t)))),
        Mistake("error not squared", "you added up the plain differences (target - pred) without squaring "
                "them, so positive and negative errors cancel. Square each difference before summing.",
                lambda p, t: float(np.mean(0.5 * np.sum(t - p, axis=1)))),
        Mistake("absolute error, not squared", "you added up |target - pred|. This loss squares each "
                "difference: (target - pred) ** 2.", lambda p, t: float(np.mean(0.5 * np.sum(np.abs(t - p), axis=1)))),
        Mistake("label not one-hot (integer label used directly)", "you subtracted the class number "
                "(argmax of the target, e.g. 3) from every predicted probability. Compare like with like: "
                "target is already a one-hot row, [0 0 0 1 0 ...]; use it as it is.",
                _integer_label_minus_pred),
        Mistake("label not one-hot: target one-hot encoded a second time", "target is already one-hot "
                "(floats of shape (N, C)), so it cannot be used as indices. Use target as it is.",
                _one_hot_twice),
    ],
    summary="half the squared error summed over the classes, averaged over the batch",
)


# ---------------------------------------------------------------------- cross_entropy_loss


def _visible_ce(rng) -> list[Case]:
    return [
        Case((np.zeros((1, 10)), np.array([3])), note="equal logits, 10 classes: ln 10 ≈ 2.302585"),
        Case((np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 1])), note="a batch of two"),
        Case((rng.standard_normal((5, 10)) * 2, np.array([3, 0, 9, 3, 5], dtype=np.int64)),
             note="a random batch of five digits' scores (N = 5, 10 classes), as the next cell uses"),
        Case((np.array([[1000.0, 0.0, -1000.0]]), np.array([0])),
             note="huge logits: the true class wins by far, the loss is ~0 (not NaN)"),
        Case((np.array([[1000.0, 0.0, -1000.0]]), np.array([2])),
             note="the same row with the true class 2, 2000 below the maximum: the loss is 2000, not inf "
                  "(its probability e^-2000 underflows to 0, so never take the log of a probability)"),
    ]


def _far_ce(rng) -> list[Case]:
    """In at least one row, the true class lies about 1000 below that row's largest logit."""
    cases = []
    for _ in range(2):
        n, c = int(rng.integers(2, 7)), int(rng.integers(3, 11))
        logits, labels = logits_and_labels(rng, n, c)
        far = rng.permutation(n)[: max(1, n // 2)]
        logits[far, labels[far]] -= 1000.0
        cases.append(Case((logits, labels),
                          note="a true class 1000 below its row's maximum: its probability underflows to 0"))
    return cases


def _log_softmax_np(z, axis=1):
    return ref.log_softmax(z, axis=axis)


def _rows(labels):
    return np.arange(len(labels)), np.asarray(labels)


def _ce_wrong_axis(z, y):
    return float(-np.mean(_log_softmax_np(z, axis=0)[_rows(y)]))


def _ce_label_column(z, y):
    return float(-np.mean(_log_softmax_np(z)[:, np.asarray(y)]))


def _ce_logit_only(z, y):
    return float(-np.mean(np.asarray(z)[_rows(y)]))


def _ce_log_of_logit(z, y):
    true = np.asarray(z)[_rows(y)]
    if np.any(true <= 0):
        raise NotApplicable("log of a non-positive logit is not a number")
    return float(-np.mean(np.log(true)))


def _ce_no_minus(z, y):
    return float(np.mean(_log_softmax_np(z)[_rows(y)]))


# Answers that are NaN or inf match no mistake's output; the hint below names their likely cause.
LOG_OF_LOGIT = Mistake("log of a logit, not of a probability", "a logit can be 0 or negative, and np.log of it "
                       "is -inf or NaN. Turn the logits into log-probabilities first (log-softmax), then pick the "
                       "true class: -log p_true = logsumexp(z) - z_true.")
NOT_FINITE = Mistake("the loss is not finite on ordinary logits", "check for a log of 0 or of a negative number, "
                     "and for dividing by zero.")
NOT_SHIFTED = Mistake("softmax not shifted by the maximum", "np.exp of a logit near 1000 overflows to inf (and "
                      "near -1000 underflows to 0), and inf/inf or 0/0 is NaN. Subtract each row's maximum before "
                      "np.exp; it does not change the softmax.")
UNDERFLOW = Mistake("probability underflowed to 0 before the log", "when the true class lies ~1000 below the "
                    "row's maximum, even a shifted softmax gives p_true = exp(-1000) = 0.0 and -log(0) = inf. "
                    "Never take the log of a probability: work with log-probabilities throughout (the row's "
                    "log-sum-exp, shifted by its maximum, minus the true score), which stay finite.")
NOT_FINITE_MISTAKES = [LOG_OF_LOGIT, NOT_FINITE, NOT_SHIFTED, UNDERFLOW]


def _not_finite_hint(case: Case, got) -> Diagnosis | None:
    """Which of :data:`NOT_FINITE_MISTAKES` made a loss NaN or inf, judging by the logits."""
    value = _as_float(got)
    if value is None or np.isfinite(value):
        return None
    logits, labels = case.args
    logits = np.asarray(logits, dtype=np.float64)
    if np.max(np.abs(logits)) < 50:  # nothing here can overflow or underflow
        return (LOG_OF_LOGIT if np.any(logits[_rows(labels)] <= 0) else NOT_FINITE).diagnosis
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        shifted_then_log = -np.mean(np.log(probabilities[_rows(labels)]))
    return (NOT_SHIFTED if np.isfinite(shifted_then_log) else UNDERFLOW).diagnosis


CROSS_ENTROPY = Check(
    id=f"{STEM}.cross_entropy_loss",
    params=("logits", "labels"),
    reference=_scalar(ref.cross_entropy_loss),
    groups=[
        Group("equal logits (ln 10), batches of two and of five, and the row [1000, 0, -1000] with the true class "
              "0 and 2", _visible_ce, visible=True),
        Group("random batches (N 2 to 16, 2 to 12 classes), moderate logits", random_logits, weight=2.0),
        Group("one example at a time (N = 1)", one_example_logits),
        Group("large logits: rows near +1000 and near -1000", lambda rng: logits_near_1000(
            rng, "logits near +1000 and -1000: exp overflows (or underflows) unless shifted")),
        Group("extreme gaps: a true class 1000 below its row's maximum", _far_ce),
    ],
    mistakes=[
        Mistake("loss summed over the batch, not averaged", "your value is N times too big: it adds up the "
                "N per-example losses. Take the mean over the batch, so that the loss does not grow with "
                "the batch size.", _scalar(lambda z, y: ref.cross_entropy_loss(z, y, reduction="sum"))),
        Mistake("per-example losses not averaged", "you returned one loss per example, shape (N,). The loss "
                "of a batch is one number: take the mean of the per-example losses.",
                lambda z, y: ref.cross_entropy_loss(z, y, reduction="none")),
        Mistake("loss averaged over every element, not over the batch", "you divided by N·C (np.mean over "
                "the whole (N, C) array of one-hot × log-probabilities). Only one class per row counts: sum "
                "over the classes, then average over the N examples.",
                lambda z, y: float(ref.cross_entropy_loss(z, y)) / np.shape(z)[1]),
        Mistake("softmax over the wrong axis", "you normalised each column (across the batch) instead of each "
                "row. The C scores of one example are a row: the maximum, the sum of exponentials and the "
                "log-sum-exp are taken along the class axis, one per row, keeping that axis so that they "
                "broadcast back. Look at the axis of your reductions.", _ce_wrong_axis),
        Mistake("label used as a column for every row", "your indexing picks, in every row, the columns of all "
                "the labels of the batch: an (N, N) array. Each row must pick only its own label's column: look "
                "at the row index you pair with the labels.", _ce_label_column),
        Mistake("took the logit instead of the log-probability", "you returned -z_true, the raw score of the "
                "true class. Scores are not probabilities: the loss of a row is its log-sum-exp minus the true "
                "class's score.", _ce_logit_only),
        Mistake("took -log of the logit instead of the probability", "you applied -log to the raw score of "
                "the true class. Turn the scores into log-probabilities first (log-softmax), then pick the "
                "true class.", _ce_log_of_logit),
        Mistake("minus sign missing", "your loss is negative: log p is at most 0, so the loss is -log p. "
                "Put the minus sign back.", _ce_no_minus),
        *NOT_FINITE_MISTAKES,
    ],
    hints=[_not_finite_hint],
    forbidden=FORBIDDEN + SOFTMAX_LIBRARIES + LEARNING_LIBRARIES,  # logsumexp, sklearn.metrics.log_loss
    summary="mean over n of logsumexp(logits[n]) - logits[n, labels[n]]",
)


CHECKS = [ONE_HOT, MSE, CROSS_ENTROPY]

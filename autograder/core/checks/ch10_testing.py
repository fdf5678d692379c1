"""Checks for chapter 10, Testing.

Eight exercises; the first three, in detail:

- ``accuracy(predictions, labels)``: the fraction of correct predictions. The mistakes named: a
  percentage instead of a fraction, the count of correct predictions, the error rate, integer
  division (always 0 until everything is right), and labels or predictions treated as one-hot
  rows or score vectors (``argmax(axis=1)`` on a 1-D array).
- ``confusion_matrix(predictions, labels, num_classes)``: counts, rows = true class, columns =
  predicted class, an *integer* array. The mistakes named: the transposed matrix, the size taken
  from the data instead of ``num_classes``, rows normalised to fractions, float counts, and the
  NumPy trap ``cm[labels, predictions] += 1`` that does not add up repeated pairs.
- ``train_test_split(labels, test_fraction, seed)``: a stratified split into index arrays. Any
  seed-dependent shuffle is right, so :class:`SplitCheck` judges what the returned indices *do*:
  two disjoint integer arrays that cover ``range(N)`` exactly once, with
  ``int(round(n_c * test_fraction))`` test members in each class ``c``. It names overlapping
  sets, missing or repeated indices, a split that ignores the classes, the fraction applied to
  the training set, boolean masks instead of indices, and counts rounded down or up.

The other five: ``precision_recall_f1(cm)`` (per class, 0 for 0/0; named: precision and recall
swapped, F1 as an arithmetic mean, NaN left at 0/0), ``top_k_accuracy(scores, labels, k)`` (named: the
k lowest scores, k ignored, k + 1 classes, a count; every case is drawn so that all of these give
different values), ``kfold_indices(n, k, fold)`` (consecutive folds, the first n % k one larger; named:
the remainder dropped, folds rounded up, train and validation swapped; random cases validate a fold at
or after the remainder, where rounding up differs), ``expected_calibration_error(confidence, correct,
num_bins)`` (bins closed on the right; named: unweighted bins, signed gaps, edges on the wrong side;
edge cases use powers of two as bin counts, so that b / M is exact) and ``choose_stopping_epoch(report)``,
reasoning judged by effect (:class:`StopCheck`): the weights of the chosen epoch are measured on the
run's held-out test points (:mod:`autograder.core.reference.overfitting`), never shown.

As in every checks module, groups are built so that each known mistake passes or fails a group
whatever the seed: random accuracy cases are never exactly 0, 1/2 or 1; random confusion cases
contain every class and are never symmetric; every split case has per-class test counts whose
sum differs from ``round(N * test_fraction)`` (so a split that ignores the classes always has the
wrong total), has a class that rounds up and a class that rounds down, and never sits on a tie
(``n_c * test_fraction`` is never within 0.05 of ``k + 0.5``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import reference as ref
from ..reference import torch
from .base import (
    FORBIDDEN,
    LEARNING_LIBRARIES,
    NOTHING_RETURNED,
    Case,
    Check,
    Diagnosis,
    Finding,
    Group,
    Mistake,
    type_name,
)

STEM = "10-testing"


# ---------------------------------------------------------------------- accuracy


def _accuracy_reference(predictions, labels) -> float:
    p = ref.to_index_tensor(predictions)
    t = ref.to_index_tensor(labels)
    return float((p == t).to(torch.float64).mean())


def _random_predictions(rng, n, classes, correct):
    """Labels in 0..classes-1 and predictions of which exactly ``correct`` are right."""
    labels = rng.integers(0, classes, size=n)
    predictions = labels.copy()
    wrong = rng.choice(n, size=n - correct, replace=False)
    predictions[wrong] = (labels[wrong] + rng.integers(1, classes, size=len(wrong))) % classes
    return predictions.astype(np.int64), labels.astype(np.int64)


def _visible_accuracy(rng) -> list[Case]:
    predictions = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    labels = np.array([3, 1, 4, 0, 5, 9, 2, 7])
    return [Case((predictions, labels), note="6 of 8 right: 0.75"),
            Case(_random_predictions(rng, 20, 10, 13), note="13 of 20 right: 0.65")]


def _accuracy_again(cases, rng) -> list[Case]:
    """The visible cases at grading time: 8 and 20 images again, other labels and another number right
    (never none, all or exactly half)."""
    again = []
    for n in (8, 20):
        correct = int(rng.choice([k for k in range(1, n) if 2 * k != n]))
        again.append(Case(_random_predictions(rng, n, 10, correct), note=f"{correct} of {n} right"))
    return again


def _random_accuracy(rng) -> list[Case]:
    cases = []
    for _ in range(3):
        n = int(rng.integers(20, 80))
        correct = int(rng.integers(1, n))
        if 2 * correct == n:  # the error rate would equal the accuracy
            correct += 1
        cases.append(Case(_random_predictions(rng, n, int(rng.integers(3, 11)), correct)))
    return cases


def _all_or_nothing(rng) -> list[Case]:
    n = int(rng.integers(5, 30))
    right = _random_predictions(rng, n, 10, n)
    wrong = _random_predictions(rng, n, 10, 0)
    return [Case(right, note="every prediction right: 1.0"), Case(wrong, note="every prediction wrong: 0.0")]


def _single_image(rng) -> list[Case]:
    return [Case(_random_predictions(rng, 1, 10, 1), note="one image, predicted right: 1.0"),
            Case(_random_predictions(rng, 1, 10, 0), note="one image, predicted wrong: 0.0")]


def _argmax_of_labels(predictions, labels):
    """argmax over axis 1 of class numbers (shape (N,)): an AxisError."""
    return float(np.mean(np.argmax(predictions, axis=1) == np.argmax(labels, axis=1)))


ACCURACY_MISTAKES = [
    Mistake("percentage instead of a fraction", "you returned the accuracy times 100. Return a fraction between "
            "0 and 1 (0.75, not 75): look for a factor of 100, and format the value as a percentage only when "
            "you print it.", lambda p, t: 100.0 * _accuracy_reference(p, t)),
    Mistake("count instead of a fraction", "you returned how many predictions are right. Accuracy is a fraction: "
            "divide that count by the number of images.",
            lambda p, t: int(np.sum(np.asarray(p) == np.asarray(t)))),
    Mistake("error rate instead of accuracy", "you returned the fraction of WRONG predictions "
            "(1 - accuracy). Accuracy counts the predictions that equal the label: predictions == labels.",
            lambda p, t: 1.0 - _accuracy_reference(p, t)),
    Mistake("integer division", "your division drops the fractional part (floor division): it gives 0 until "
            "every prediction is right. Look at the division operator you used: a true division keeps the "
            "fraction.",
            lambda p, t: int(np.sum(np.asarray(p) == np.asarray(t))) // len(t)),
    Mistake("labels treated as one-hot rows (argmax over axis 1)", "predictions and labels are both plain class "
            "numbers, shape (N,): there is nothing to argmax. Compare them directly. (argmax turns scores or "
            "one-hot rows into class numbers; that step happened before this function.)", _argmax_of_labels),
]

ACCURACY = Check(
    id=f"{STEM}.accuracy",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,
    params=("predictions", "labels"),
    reference=_accuracy_reference,
    groups=[
        Group("a hand-made batch and a random one", _visible_accuracy, visible=True, redraw=_accuracy_again),
        Group("randomized batches", _random_accuracy, weight=2.0),
        Group("all right, all wrong", _all_or_nothing),
        Group("a single image", _single_image),
    ],
    mistakes=ACCURACY_MISTAKES,
    summary="the fraction of predictions equal to their label, a float in [0, 1]",
)


# ---------------------------------------------------------------------- confusion_matrix


def _confusion_reference(predictions, labels, num_classes):
    """Counts by plain index counting with torch.bincount: row = true class, column = predicted."""
    p = ref.to_index_tensor(predictions).cpu()
    t = ref.to_index_tensor(labels).cpu()
    counts = torch.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).numpy().astype(np.int64)


def _confusion_case(rng, classes, n, present=None, note="") -> Case:
    """Labels that contain every class in ``present`` (default all), at least twice each; about
    two thirds right; the matrix is never symmetric."""
    present = np.arange(classes) if present is None else np.asarray(present)
    labels = np.concatenate([present, present, rng.choice(present, size=max(0, n - 2 * len(present)))])
    rng.shuffle(labels)
    predictions = labels.copy()
    wrong = rng.random(len(labels)) < 0.35
    predictions[wrong] = rng.choice(present, size=int(wrong.sum()))
    labels, predictions = labels.astype(np.int64), predictions.astype(np.int64)
    cm = _confusion_reference(predictions, labels, classes)
    if np.array_equal(cm, cm.T):  # make it asymmetric: one extra "a predicted as b"
        labels = np.append(labels, present[0])
        predictions = np.append(predictions, present[1])
    return Case((predictions, labels, classes), note=note)


def _visible_confusion(rng) -> list[Case]:
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 1, 2, 0, 2])
    return [Case((predictions, labels, 3), note="3 classes: one 0 taken for a 1, one 2 taken for a 0"),
            _confusion_case(rng, 4, 20, note="4 classes, 20 images"),
            _confusion_case(rng, 10, 60, note="10 classes, 60 images, like the digits"),
            Case((np.array([], dtype=np.int64), np.array([], dtype=np.int64), 3),
                 note="edge case: an empty batch, N = 0: a 3×3 matrix of zeros")]


def _confusion_again(cases, rng) -> list[Case]:
    """The visible cases at grading time: 7 images of 3 classes (each at least twice), and the random
    4-class and 10-class batches drawn again; the empty batch as it was."""
    return [_confusion_case(rng, 3, 7, note="3 classes, 7 images"), *_visible_confusion(rng)[1:]]


def _random_confusion(rng) -> list[Case]:
    return [_confusion_case(rng, int(rng.integers(3, 11)), int(rng.integers(30, 90))) for _ in range(3)]


def _missing_classes(rng) -> list[Case]:
    classes = int(rng.integers(6, 11))
    used = int(rng.integers(3, classes - 1))  # the top classes never appear, as label or prediction
    empty = np.array([], dtype=np.int64)
    return [_confusion_case(rng, classes, int(rng.integers(20, 50)), present=np.arange(used),
                            note=f"num_classes = {classes}, but only classes 0..{used - 1} appear"),
            Case((empty, empty.copy(), classes), note="edge case: an empty batch, N = 0, where no class appears")]


def _perfect(rng) -> list[Case]:
    classes = int(rng.integers(3, 8))
    labels = np.concatenate([np.arange(classes), np.arange(classes), rng.integers(0, classes, size=10)])
    rng.shuffle(labels)
    labels = labels.astype(np.int64)
    return [Case((labels.copy(), labels, classes), note="every prediction right: a diagonal matrix")]


def _normalised(predictions, labels, num_classes):
    cm = _confusion_reference(predictions, labels, num_classes).astype(np.float64)
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


CONFUSION_MISTAKES = [
    Mistake("transposed (rows = predicted class)", "your rows are the predicted class and your columns the true "
            "class. The course (and sklearn) use the other way round: row i says what the images of true class i "
            "were taken for. Look at the order of the two indices you count at.",
            lambda p, t, k: _confusion_reference(p, t, k).T.copy()),
    Mistake("size taken from the data instead of num_classes", "a batch may not contain every class, "
            "so its largest label is not the number of classes. Make the matrix "
            "(num_classes, num_classes).",
            lambda p, t, k: _confusion_reference(p, t, int(max(np.max(p), np.max(t))) + 1)),
    Mistake("rows normalised instead of counts", "you divided each row by its total (the fraction of "
            "each class). This function returns raw counts, as integers; normalise later, when you plot.",
            _normalised),
    Mistake("float counts (dtype)", "the counts are right but stored as floats. Counts are whole numbers: look "
            "at the dtype of the array you create.",
            lambda p, t, k: _confusion_reference(p, t, k).astype(np.float64)),
    Mistake("repeated pairs counted once (buffered increment)", "an in-place increment with arrays of "
            "indices is buffered: each cell is written once even when the same (true, predicted) pair occurs "
            "many times, so every count is 0 or 1. Count the pairs one at a time, or use NumPy's unbuffered "
            "add-at operation, which adds once per occurrence.",
            lambda p, t, k: (_confusion_reference(p, t, k) > 0).astype(np.int64)),
]

CONFUSION = Check(
    id=f"{STEM}.confusion_matrix",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,
    params=("predictions", "labels", "num_classes"),
    reference=_confusion_reference,
    groups=[
        Group("a hand-made 3-class batch, random 4-class and 10-class ones, an empty batch", _visible_confusion,
              visible=True, redraw=_confusion_again),
        Group("randomized batches", _random_confusion, weight=2.0),
        Group("classes that never appear in the batch, and an empty batch (N = 0)", _missing_classes),
        Group("perfect predictions", _perfect),
    ],
    mistakes=CONFUSION_MISTAKES,
    summary="cm[true, predicted] counts, an int array of shape (num_classes, num_classes)",
)


# ---------------------------------------------------------------------- train_test_split


def test_counts(labels, test_fraction) -> dict[int, int]:
    """The rule: class c with n_c members puts int(round(n_c * test_fraction)) of them in the test set.

    Counted with torch.unique, independently of any student code.
    """
    values, counts = torch.unique(ref.to_index_tensor(labels).cpu(), return_counts=True)
    return {int(v): round(int(c) * test_fraction) for v, c in zip(values, counts)}


def _frac(x: float) -> float:
    return x - np.floor(x)


def _class_sizes(rng, classes, fraction, tiny=False, tries=300) -> list[int] | None:
    """Class sizes that avoid ties, contain one class rounding up and one rounding down, and whose
    rounded counts do not add up to round(N * fraction); None if ``tries`` draws found none (with
    few classes, some fractions cannot satisfy all three)."""
    for _ in range(tries):
        sizes = [int(rng.integers(4, 40)) for _ in range(classes)]
        if tiny:
            sizes[int(rng.integers(classes))] = int(rng.integers(1, 3))
        fracs = [_frac(n * fraction) for n in sizes]
        if any(abs(f - 0.5) < 0.05 for f in fracs):
            continue
        if not any(f > 0.55 for f in fracs) or not any(0.05 < f < 0.45 for f in fracs):
            continue
        total = sum(round(n * fraction) for n in sizes)
        if total == round(sum(sizes) * fraction):
            continue
        if abs(_frac(sum(sizes) * fraction) - 0.5) < 0.05:
            continue
        return sizes
    return None


def _split_case(rng, classes, values=None, tiny=False, note="") -> Case:
    sizes = None
    while sizes is None:
        fraction = float(rng.choice([0.2, 0.25, 0.3, 0.35]))
        sizes = _class_sizes(rng, classes, fraction, tiny)
    values = np.arange(classes) if values is None else values
    labels = np.repeat(values, sizes).astype(np.int64)
    rng.shuffle(labels)
    return Case((labels, fraction, int(rng.integers(0, 1000))), note=note)


def _visible_split(rng) -> list[Case]:
    digits = _split_case(rng, 10, note="ten classes, like the digits")
    labels, fraction, seed = digits.args
    return [_split_case(rng, 3, note="three classes"), digits,
            Case((labels, fraction), {"seed": seed}, note="ten classes, the seed passed by name, as the chapter calls it")]


def _random_split(rng) -> list[Case]:
    return [_split_case(rng, int(rng.integers(4, 11))) for _ in range(3)]


def _tiny_class(rng) -> list[Case]:
    return [_split_case(rng, int(rng.integers(3, 7)), tiny=True,
                        note="one class has only 1 or 2 members: it gets no test image")]


def _odd_values(rng) -> list[Case]:
    classes = int(rng.integers(3, 6))
    values = np.sort(rng.choice(np.arange(1, 20), size=classes, replace=False))
    values[-1] = max(values[-1], classes + 2)  # at least one value beyond range(classes)
    return [_split_case(rng, classes, values=values, note=f"the labels are {', '.join(map(str, values))}")]


# What SplitCheck names, from what the returned indices do (any seeded shuffle is right).
BOOLEAN_MASKS = Mistake("boolean masks instead of indices", "your indices are a boolean mask. Return the "
                        "positions themselves, as int arrays.")
NOT_WHOLE = Mistake("indices must be whole numbers", "indices are positions, whole numbers: look at the dtype of "
                    "the arrays you return.")
OVERLAPPING = Mistake("overlapping train and test sets", "those test images were used for training, so the test "
                      "accuracy would flatter the model. Every index goes to exactly one set.")
REPEATED = Mistake("repeated indices", "shuffle each class's positions once (a permutation, not rng.choice with "
                   "replacement) and cut that list in two.")
MISSING = Mistake("indices missing", "train and test together must cover range(N) exactly once. Look at where "
                  "one part ends and the next begins: no position may be skipped or repeated.")
SWAPPED = Mistake("test_fraction applied to the training set (swapped)", "the TEST set gets round(n_c * "
                  "test_fraction) members of class c and the training set the rest. Check the order of the "
                  "returned tuple too: (train_indices, test_indices).")
ROUNDED_DOWN = Mistake("counts rounded down (int() truncates)", "converting to int truncates. The docstring asks "
                       "for the nearest whole number of test images per class.")
ROUNDED_UP = Mistake("counts rounded up", "the docstring asks for the nearest whole number of test images per "
                     "class, not the next one up.")
NOT_STRATIFIED = Mistake("not stratified", "you took round(N * test_fraction) images from the whole set, so the "
                         "classes come out unbalanced. Split each class on its own: shuffle the positions of "
                         "that class's images and send its rounded share to the test set.")
# CLASSES_AS_RANGE.explain is filled in with the classes found: .format(values=...)
CLASSES_AS_RANGE = Mistake("classes assumed to be range(number of classes)", "classes are the values that occur "
                           "in labels, here {values}, not range(number of classes).")
SPLIT_MISTAKES = [BOOLEAN_MASKS, NOT_WHOLE, OVERLAPPING, REPEATED, MISSING, SWAPPED, ROUNDED_DOWN, ROUNDED_UP,
                  NOT_STRATIFIED, CLASSES_AS_RANGE]


@dataclass
class SplitCheck(Check):
    """Judges a split by what it does; the indices themselves are the student's choice."""

    def assess(self, case: Case, got) -> Finding:
        return Finding(*self._problem(case, got))

    def _problem(self, case: Case, got) -> tuple[str | None, Diagnosis | None]:
        labels, fraction = np.asarray(case.args[0]), float(case.args[1])
        n = len(labels)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return (f"should return a tuple (train_indices, test_indices), but it returned {type_name(got)}",
                    NOTHING_RETURNED.diagnosis if got is None else None)
        names = ("train_indices", "test_indices")
        for name, part in zip(names, got):
            if not isinstance(part, np.ndarray):
                return f"{name} should be a NumPy array of ints, but it is {type_name(part)}", None
            if part.dtype == bool:
                return f"{name} is a boolean array of shape {part.shape}", BOOLEAN_MASKS.diagnosis
            if part.dtype.kind not in "iu":
                return f"{name} should hold integers, but its dtype is {part.dtype}", NOT_WHOLE.diagnosis
            if part.ndim != 1:
                return f"{name} should be 1-D, but it has shape {part.shape}", None
            if part.size and (part.min() < 0 or part.max() >= n):
                return ((f"{name} holds values outside 0..{n - 1}; indices point at positions in labels "
                        "(0 to N - 1), they are not labels"), None)
        train, test = got
        both = np.intersect1d(train, test)
        if both.size:
            return f"{both.size} index(es) are in BOTH sets, e.g. {int(both[0])}", OVERLAPPING.diagnosis
        counts = np.bincount(np.concatenate([train, test]), minlength=n)
        if (counts > 1).any():
            return f"index {int(np.argmax(counts > 1))} appears more than once", REPEATED.diagnosis
        if (counts == 0).any():
            missing = np.flatnonzero(counts == 0)
            message = f"{missing.size} of the {n} indices are in neither set, e.g. {int(missing[0])}"
            lost = [int(c) for c in np.unique(labels[missing]) if np.all(counts[labels == c] == 0)]
            if lost:
                return message, Diagnosis(MISSING.name, (
                    f"{MISSING.name}: every member of class(es) {', '.join(map(str, lost))} was left out. The "
                    f"classes are the values that occur in labels, np.unique(labels) = {np.unique(labels).tolist()}, "
                    "not range(number of classes)."))
            return message, MISSING.diagnosis
        want = test_counts(labels, fraction)
        have = {c: int(np.sum(labels[test] == c)) for c in want}
        if have == want:
            return None, None
        sizes = {c: int(np.sum(labels == c)) for c in want}
        wrong = [c for c in want if have[c] != want[c]]
        c = wrong[0]
        message = (f"class {c} has {sizes[c]} members, so int(round({sizes[c]} * {fraction})) = {want[c]} of "
                   f"them belong in the test set, but yours has {have[c]} ({len(wrong)} of {len(want)} "
                   "classes have the wrong test count)")
        if all(have[k] == sizes[k] - want[k] for k in want):
            return message, SWAPPED.diagnosis
        if all(have[k] == int(np.floor(sizes[k] * fraction)) for k in want):
            return message, ROUNDED_DOWN.diagnosis
        if all(have[k] == int(np.ceil(sizes[k] * fraction)) for k in want):
            return message, ROUNDED_UP.diagnosis
        if len(test) == round(n * fraction):
            return message, NOT_STRATIFIED.diagnosis
        values = np.unique(labels)
        if not np.array_equal(values, np.arange(len(values))):
            return message, Diagnosis(CLASSES_AS_RANGE.name, CLASSES_AS_RANGE.explain.format(values=values.tolist()))
        return message, None


def _split_reference(labels, test_fraction, seed):
    return test_counts(labels, test_fraction)


SPLIT = SplitCheck(
    id=f"{STEM}.train_test_split",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,
    params=("labels", "test_fraction", "seed"),
    reference=_split_reference,
    groups=[
        Group("a 3-class and a 10-class label vector (seed by position and by name)", _visible_split, visible=True,
              redraw=lambda cases, rng: _visible_split(rng)),  # drawn again from the grading seed
        Group("randomized labels, shuffled order", _random_split, weight=2.0),
        Group("a class too small to spare a test image", _tiny_class),
        Group("labels that are not 0..K-1", _odd_values),
    ],
    mistakes=SPLIT_MISTAKES,
    summary="disjoint int index arrays covering range(N); class c sends int(round(n_c * f)) to test",
)



# ---------------------------------------------------------------------- precision_recall_f1


def _prf_reference(cm):
    """Per class: precision = diagonal / column sums, recall = diagonal / row sums, F1 their harmonic
    mean; 0 wherever a denominator is 0."""
    counts = torch.as_tensor(np.asarray(cm), dtype=torch.float64)
    right = torch.diagonal(counts)

    def share(total):
        return torch.where(total > 0, right / torch.clamp(total, min=1e-300), torch.zeros_like(right))
    precision, recall = share(counts.sum(0)), share(counts.sum(1))
    summed = precision + recall
    f1 = torch.where(summed > 0, 2 * precision * recall / torch.clamp(summed, min=1e-300), torch.zeros_like(summed))
    return tuple(v.numpy() for v in (precision, recall, f1))


def _random_cm(rng, classes, empty=False):
    """Counts with p != r for every class and cm != cm.T; ``empty``: one class never predicted and
    another never present."""
    while True:
        cm = rng.integers(0, 6, size=(classes, classes)) + np.diag(rng.integers(5, 20, size=classes))
        if empty:
            cm[:, 0] = 0  # class 0 is never predicted: precision 0/0
            cm[1, :] = 0  # class 1 never occurs: recall 0/0
        p, r, _ = _prf_reference(cm)
        live = (cm.sum(0) > 0) & (cm.sum(1) > 0)
        if not np.array_equal(cm, cm.T) and np.all(np.abs(p - r)[live] > 0.02):
            return cm.astype(np.int64)


def _visible_prf(rng) -> list[Case]:
    hand = np.array([[5, 1, 0], [2, 3, 1], [0, 0, 4]])
    return [Case((hand,), note="3 classes: class 0 has precision 5/7 and recall 5/6"),
            Case((_random_cm(rng, 5),), note="5 classes"),
            Case((_random_cm(rng, 4, empty=True),), note="edge case: class 0 never predicted, class 1 never present")]


def _prf_again(cases, rng) -> list[Case]:
    """New counts of the same kinds: 3 and 5 classes, and one with an unpredicted and an absent class."""
    return [Case((_random_cm(rng, 3),), note="3 classes"), Case((_random_cm(rng, 5),), note="5 classes"),
            Case((_random_cm(rng, 4, empty=True),), note="edge case: class 0 never predicted, class 1 never present")]


def _prf_variant(cm, *, swap=False, mean=False, nan=False):
    p, r, f = _prf_reference(cm)
    if nan:  # plain division: 0/0 gives NaN
        table = np.asarray(cm, dtype=np.float64)
        with np.errstate(all="ignore"):
            p, r = np.diag(table) / table.sum(0), np.diag(table) / table.sum(1)
            f = 2 * p * r / (p + r)
    if swap:
        p, r = r, p
    return (p, r, (p + r) / 2) if mean else (p, r, f)


PRF = Check(
    id=f"{STEM}.precision_recall_f1",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,
    params=("cm",),
    reference=_prf_reference,
    groups=[
        Group("a hand-made 3-class matrix, a random 5-class one, one with an unpredicted and an absent class",
              _visible_prf, visible=True, redraw=_prf_again),
        Group("randomized matrices", lambda rng: [Case((_random_cm(rng, int(rng.integers(3, 11))),)) for _ in range(2)],
              weight=2.0),
        Group("classes never predicted, or never present (0/0 gives 0)",
              lambda rng: [Case((_random_cm(rng, int(rng.integers(3, 8)), empty=True),))]),
    ],
    mistakes=[
        Mistake("precision and recall swapped", "precision asks: of the images PREDICTED as class c (column c), "
                "how many are c? Recall asks: of the images that ARE class c (row c), how many were found? Look "
                "at which axis you sum over for each.", lambda cm: _prf_variant(cm, swap=True)),
        Mistake("F1 as the arithmetic mean", "F1 is the harmonic mean 2pr/(p + r), which stays low when either "
                "of the two is low; (p + r)/2 lets a high one hide a poor one.", lambda cm: _prf_variant(cm, mean=True)),
        Mistake("0/0 left as NaN", "a class never predicted has no precision to speak of (0/0), and the "
                "docstring fixes it at 0, as does an F1 whose precision and recall are both 0. Divide only where "
                "the denominator is positive.", lambda cm: _prf_variant(cm, nan=True)),
    ],
    summary="per class: precision = diag / column sums, recall = diag / row sums, F1 = 2pr/(p + r); 0 for 0/0",
)


# ---------------------------------------------------------------------- top_k_accuracy


def _topk_reference(scores, labels, k):
    top = torch.topk(torch.as_tensor(np.asarray(scores, dtype=np.float64)), min(k, np.shape(scores)[1]), dim=1).indices
    return float((top == ref.to_index_tensor(labels).cpu()[:, None]).any(1).to(torch.float64).mean())


TOPK_MISTAKES = [

    Mistake("the k LOWEST scores", "an ascending sort puts the smallest scores first, so its first k columns are "
            "the classes the network believes LEAST. Take the k largest.",
            lambda s, t, k: float(np.mean((np.argsort(s, 1)[:, :k] == t[:, None]).any(1)))),
    Mistake("k ignored (top-1 accuracy)", "you returned the ordinary accuracy of the argmax. A top-k hit is a "
            "label anywhere among the k highest scores.",
            lambda s, t, k: float(np.mean(np.argmax(s, 1) == t))),
    Mistake("k + 1 classes taken (off by one)", "a slice one too wide: count exactly k classes per image.",
            lambda s, t, k: float(np.mean((np.argsort(s, 1)[:, -(k + 1):] == t[:, None]).any(1)))),
    Mistake("count instead of a fraction", "you returned how many images were hits; divide by the number "
            "of images.", lambda s, t, k: round(_topk_reference(s, t, k) * len(t))),
]


def _topk_values(scores, labels, k) -> list[float]:
    """The reference's value and each mistake's, on one case."""
    return [_topk_reference(scores, labels, k), *(float(m.apply(scores, labels, k)) for m in TOPK_MISTAKES)]


def _topk_case(rng, n, classes, k, note=""):
    """Scores and labels on which the reference and every mistake give different values."""
    while True:
        scores = rng.standard_normal((n, classes))
        labels = rng.integers(0, classes, n).astype(np.int64)
        values = _topk_values(scores, labels, k)
        if len(set(values)) == len(values):
            return Case((scores, labels, k), note=note)


def _visible_topk(rng) -> list[Case]:
    scores = np.array([[0.1, 2.0, 0.5, -1.0], [1.5, 0.2, 0.3, 0.9], [0.0, 0.4, -0.3, 0.8]])
    labels = np.array([2, 3, 0])
    return [Case((scores, labels, 2), note="3 images, 4 classes, k = 2: images 0 and 1 are hits, 2/3"),
            _topk_case(rng, 30, 10, 3, note="30 images, 10 classes, k = 3"),
            Case((rng.standard_normal((6, 5)), rng.integers(0, 5, 6).astype(np.int64), 5),
                 note="edge case: k = number of classes, always 1.0")]


def _topk_again(cases, rng) -> list[Case]:
    return [_topk_case(rng, 3, 4, 2, note="3 images, 4 classes, k = 2"), *_visible_topk(rng)[1:]]


TOPK = Check(
    id=f"{STEM}.top_k_accuracy",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,
    params=("scores", "labels", "k"),
    reference=_topk_reference,
    groups=[
        Group("a hand-made batch, a random 10-class one with k = 3, and k = number of classes", _visible_topk,
              visible=True, redraw=_topk_again),
        Group("randomized batches and k", lambda rng: [_topk_case(rng, int(rng.integers(20, 60)), 10, int(rng.integers(2, 6)))
                                                      for _ in range(2)], weight=2.0),
        Group("k = 2 out of 3 classes", lambda rng: [_topk_case(rng, int(rng.integers(10, 30)), 4, 2)]),
    ],
    mistakes=TOPK_MISTAKES,
    summary="the fraction of images whose label is among the k highest scores of its row",
)


# ---------------------------------------------------------------------- expected_calibration_error


def _ece_reference(confidence, correct, num_bins):
    """Bins (b/M, (b+1)/M], the first also holding 0; sum over bins of (n_b / N)·|accuracy_b − confidence_b|."""
    conf = torch.as_tensor(np.asarray(confidence, dtype=np.float64))
    hit = torch.as_tensor(np.asarray(correct, dtype=np.float64))
    edges = torch.linspace(0, 1, num_bins + 1, dtype=torch.float64)[1:-1]
    index = torch.bucketize(conf, edges, right=False)
    count = torch.bincount(index, minlength=num_bins).to(torch.float64)
    right = torch.zeros(num_bins, dtype=torch.float64).index_add_(0, index, hit)
    sure = torch.zeros(num_bins, dtype=torch.float64).index_add_(0, index, conf)
    gap = torch.where(count > 0, (right - sure).abs() / torch.clamp(count, min=1), torch.zeros_like(count))
    return float((count / len(conf) * gap).sum())


ECE_MISTAKES = [

    Mistake("bins not weighted by their size", "each bin's gap counts in proportion to the number of "
            "predictions in it (n_b / N); a plain mean over the bins lets a bin of one prediction weigh as "
            "much as a bin of hundreds.", lambda c, h, num_bins: _ece_variant(c, h, num_bins, unweighted=True)),
    Mistake("signed gaps cancel out", "over-confident bins (accuracy below confidence) and under-confident ones "
            "must not cancel: take the absolute value of each bin's gap.",
            lambda c, h, num_bins: _ece_variant(c, h, num_bins, signed=True)),
    Mistake("bin edges on the wrong side", "a confidence exactly on an edge b/M belongs to the bin BELOW it "
            "(bins are (b/M, (b + 1)/M], closed on the right), and 1.0 to the last bin. Multiplying by M and "
            "rounding down puts edge values one bin too high.",
            lambda c, h, num_bins: _ece_variant(c, h, num_bins, floor=True)),
]


def _ece_case(rng, n, bins, boundaries=True, note=""):
    """Confidences in [0.1, 1], with some exactly on bin edges (``boundaries``; ``bins`` a power of two, so
    that b / bins is exact in binary), and correct flags that make some bins over- and some under-confident;
    drawn again until the reference and every mistake that applies differ by at least 0.001."""
    while True:
        conf = rng.uniform(0.1, 1.0, n)
        if boundaries:
            conf[: bins // 2] = np.arange(1, bins // 2 + 1) / bins  # exactly on the upper edge of a bin
            conf[bins // 2] = 1.0
        correct = rng.random(n) < np.clip(conf + rng.choice([-0.25, 0.2], n), 0, 1)
        values = [_ece_reference(conf, correct, bins), *(m.apply(conf, correct, num_bins=bins) for m in ECE_MISTAKES)]
        if not boundaries:
            values.pop()  # no confidence on an edge: the edge mistake gives the right value
        if min(np.diff(np.sort(values))) >= 1e-3:
            return Case((conf, correct), {"num_bins": bins}, note=note)


def _visible_ece(rng) -> list[Case]:
    conf = np.array([0.95, 0.9, 0.75, 0.6, 0.55, 0.3, 0.25, 1.0])
    correct = np.array([True, True, False, True, False, False, True, True])
    return [Case((conf, correct), {"num_bins": 4}, note="8 predictions, 4 bins; 0.25, 0.75 and 1.0 sit on bin edges"),
            _ece_case(rng, 40, 10, boundaries=False, note="40 predictions, 10 bins"),
            _ece_case(rng, 30, 8, note="edge case: confidences exactly 0.125, 0.25, 0.375, 0.5 and 1.0 (upper edges "
                      "of bins)")]


def _ece_again(cases, rng) -> list[Case]:
    return [_ece_case(rng, 8, 4, note="8 predictions, 4 bins, some on bin edges"), *_visible_ece(rng)[1:]]


def _ece_variant(confidence, correct, num_bins, *, floor=False, signed=False, unweighted=False):
    conf, hit = np.asarray(confidence, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    if floor:
        index = np.minimum((conf * num_bins).astype(int), num_bins - 1)
    else:
        index = np.searchsorted(np.linspace(0, 1, num_bins + 1)[1:-1], conf, side="left")
    used = [b for b in range(num_bins) if np.any(index == b)]
    gaps = np.array([hit[index == b].mean() - conf[index == b].mean() for b in used])
    gaps = gaps if signed else np.abs(gaps)
    if unweighted:
        return float(gaps.mean())
    return float(sum(np.sum(index == b) * gap for b, gap in zip(used, gaps)) / len(conf))


ECE = Check(
    id=f"{STEM}.expected_calibration_error",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,
    params=("confidence", "correct"),
    reference=_ece_reference,
    groups=[
        Group("8 hand-made predictions, 40 random ones, and confidences on bin edges", _visible_ece, visible=True,
              redraw=_ece_again),
        Group("randomized predictions and bins",
              lambda rng: [_ece_case(rng, int(rng.integers(50, 200)), int(rng.integers(5, 16)), boundaries=False)
                           for _ in range(2)], weight=2.0),
        Group("confidences exactly on the bin edges, and 1.0",
              lambda rng: [_ece_case(rng, int(rng.integers(20, 60)), int(rng.choice([4, 8])))]),
    ],
    mistakes=ECE_MISTAKES,
    summary="sum over the bins (b/M, (b+1)/M] of (n_b / N)·|accuracy_b − mean confidence_b|",
)


# ---------------------------------------------------------------------- kfold_indices


def _kfold_reference(n, k, fold):
    """Fold sizes n // k, the first n % k of them one larger, in order; fold ``fold`` is validation."""
    sizes = torch.full((k,), n // k, dtype=torch.int64)
    sizes[: n % k] += 1
    stop = int(sizes[: fold + 1].sum())
    start = stop - int(sizes[fold])
    everything = torch.arange(n)
    inside = (everything >= start) & (everything < stop)
    return everything[~inside].numpy(), everything[inside].numpy()


def _kfold_variant(n, k, fold, *, dropped=False, ceil=False, swapped=False):
    size = -(-n // k) if ceil else n // k
    start = fold * size
    stop = min(start + size, n)
    if not (dropped or ceil):
        return _kfold_reference(n, k, fold)
    val = np.arange(start, stop)
    train = np.setdiff1d(np.arange(size * k if dropped else n), val)
    return (val, train) if swapped else (train, val)


def _kfold_case(rng, note="") -> Case:
    k = int(rng.integers(3, 8))
    n = k * int(rng.integers(3, 9)) + int(rng.integers(1, k - 1))  # remainder 1..k-2; a fold at or after it
    return Case((n, k, int(rng.integers(n % k, k))), note=note or f"{n} items, {k} folds")


def _visible_kfold(rng) -> list[Case]:
    return [Case((10, 3, 0), note="10 items, 3 folds, the first fold: 0..3 validate"),
            Case((10, 3, 2), note="10 items, 3 folds, the last fold: 7..9 validate"),
            Case((12, 4, 1), note="12 items, 4 folds of 3"),
            _kfold_case(rng)]


def _kfold_again(cases, rng) -> list[Case]:
    k = int(rng.integers(3, 6))
    n = k * int(rng.integers(3, 6)) + int(rng.integers(1, k))
    return [Case((n, k, 0), note=f"{n} items, {k} folds, the first fold"), Case((n, k, k - 1), note="the last fold"),
            Case((4 * k, k, 1), note=f"{4 * k} items, {k} folds of 4"), _kfold_case(rng)]


KFOLD = Check(
    id=f"{STEM}.kfold_indices",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,
    params=("n", "k", "fold"),
    reference=_kfold_reference,
    groups=[
        Group("10 items in 3 folds (first and last fold), 12 in 4, a random one", _visible_kfold, visible=True,
              redraw=_kfold_again),
        Group("randomized sizes with a remainder", lambda rng: [_kfold_case(rng) for _ in range(3)], weight=2.0),
        Group("the last fold of a size with a remainder",
              lambda rng: [dataclasses.replace(c, args=(c.args[0], c.args[1], c.args[1] - 1)) for c in [_kfold_case(rng)]]),
    ],
    mistakes=[
        Mistake("remainder dropped", "with folds of n // k items each, the last n % k items are in no fold and "
                "never validate or train. The docstring gives the first n % k folds one extra item.",
                lambda n, k, fold: _kfold_variant(n, k, fold, dropped=True)),
        Mistake("folds rounded up", "folds of ceil(n / k) items each leave the last fold short (or empty); the "
                "docstring makes the FIRST n % k folds one larger than the others.",
                lambda n, k, fold: _kfold_variant(n, k, fold, ceil=True)),
        Mistake("train and validation swapped", "the tuple is (train_indices, val_indices): fold `fold` is the "
                "small validation part, every other item trains.",
                lambda n, k, fold: _kfold_reference(n, k, fold)[::-1]),
    ],
    summary="fold sizes n // k, the first n % k one larger, in order; returns (train, val) int arrays",
)


# ---------------------------------------------------------------------- choose_stopping_epoch (reasoning)

COST_LIMIT = 0.3  # a stop passes when it leaves at most this share of the test loss's climb unpaid


@dataclass(frozen=True)
class OverfitRun(Case):
    """One recorded run: ``args`` is (report,), ``seed`` rebuilds the run and its held-out test curve
    (:func:`autograder.core.reference.overfitting.overfit_run`), never shown to the student."""

    seed: int = 0


def _overfit_case(rng, note="a run that overfits") -> OverfitRun:
    from ..reference import overfitting

    while True:
        seed = int(rng.integers(0, 2**31))
        if overfitting.usable(seed):
            return OverfitRun((overfitting.report(seed),), seed=seed, note=note)


def _stop_reference(report):
    """Keep the weights of the epoch whose validation loss is lowest (the check judges by effect, not by it)."""
    return int(np.argmin(report["val_loss"]))


NOT_AN_EPOCH = Mistake("not an epoch index", "return a whole number e with 0 <= e < len(report['val_loss']): "
                       "the position in the curves of the epoch whose weights you keep (not a loss, not a fraction).")
BY_TRAINING = Mistake("chosen by the training curve (never stopped)", "the training loss keeps falling (and the training accuracy "
                      "stays at 100 %) long after the network has stopped learning anything that carries over: it "
                      "is memorising the noise in its 40 points. Only the validation curve measures what happens to "
                      "new points.")
TOO_LATE = Mistake("stopped too late", "by the epoch you chose the validation loss had been climbing for a while: "
                   "those epochs fit the training points' noise, and new points pay for it. Keep the weights from "
                   "where the validation loss was lowest.")
TOO_EARLY = Mistake("stopped too early", "the validation loss was still falling at the epoch you chose: the network "
                    "had not yet learnt what there is to learn. Keep the weights from where it stops falling.")


class StopCheck(Check):
    """Judges a chosen epoch by its effect: the weights of that epoch are evaluated on the run's held-out
    test points, and the choice passes when the test loss has given back at most :data:`COST_LIMIT` of
    what training on to the end costs."""

    def assess(self, case: Case, got) -> Finding:
        from ..reference import overfitting  # loaded by now: the case's report came from it

        report = case.args[0]
        epochs = len(report["val_loss"])
        if isinstance(got, np.ndarray) and got.shape == () and got.dtype.kind in "iu":
            got = int(got)
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)) or not 0 <= got < epochs:
            return Finding(f"should return an epoch index, a whole number from 0 to {epochs - 1}, but it returned "
                           f"{type_name(got)}", (NOTHING_RETURNED if got is None else NOT_AN_EPOCH).diagnosis)
        got = int(got)
        run = overfitting.overfit_run(case.seed)
        test, cost = run["test_loss"], overfitting.held_out_cost(case.seed, got)
        said = (f"the weights of epoch {got} have a loss of {test[got]:.3f} on {overfitting.SIZES['test']} new points "
                f"(lowest possible {test.min():.3f}, after the last epoch {test[-1]:.3f})")
        if cost <= COST_LIMIT:
            return Finding(None, note=said)
        best = int(np.argmin(report["val_loss"]))
        if got == int(np.argmin(report["train_loss"])) and got > best:
            why = BY_TRAINING
        else:
            why = TOO_LATE if got > best else TOO_EARLY
        return Finding(f"{said}: stopping there keeps {cost:.0%} of the damage overfitting does (at most "
                       f"{COST_LIMIT:.0%} passes)", why.diagnosis)


STOPPING = StopCheck(
    id=f"{STEM}.choose_stopping_epoch",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,
    params=("report",),
    reference=_stop_reference,
    groups=[
        Group("the chapter's run", lambda rng: [OverfitRun((_chapter_report(),), seed=CHAPTER_SEED,
                                                            note="the run of Figure 10.5")],
              visible=True, redraw=lambda cases, rng: [_overfit_case(rng)]),
        Group("a new run", lambda rng: [_overfit_case(rng)], weight=2.0),
        Group("another new run", lambda rng: [_overfit_case(rng)]),
    ],
    mistakes=[NOT_AN_EPOCH, BY_TRAINING, TOO_LATE, TOO_EARLY],
    summary="the epoch whose weights, on new points, give back at most 30 % of what overfitting costs",
)

CHAPTER_SEED = 1  # the run the chapter shows (Figure 10.5)


def _chapter_report():
    from ..reference import overfitting

    return overfitting.report(CHAPTER_SEED)


CHECKS = [ACCURACY, CONFUSION, PRF, TOPK, STOPPING, SPLIT, KFOLD, ECE]

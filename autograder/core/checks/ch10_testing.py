"""Checks for chapter 10, Testing.

Three exercises:

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

As in every checks module, groups are built so that each known mistake passes or fails a group
whatever the seed: random accuracy cases are never exactly 0, 1/2 or 1; random confusion cases
contain every class and are never symmetric; every split case has per-class test counts whose
sum differs from ``round(N * test_fraction)`` (so a split that ignores the classes always has the
wrong total), has a class that rounds up and a class that rounds down, and never sits on a tie
(``n_c * test_fraction`` is never within 0.05 of ``k + 0.5``).
"""

from __future__ import annotations

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

CHECKS = [ACCURACY, CONFUSION, SPLIT]

"""Checks for chapter 9, Training.

Seven exercises, each a plain-data piece of a training loop:

- ``sgd_step(params, grads, lr)`` returns a new dict of parameters, one plain gradient-descent
  step. Judged key by key against ``torch.optim.SGD`` (:class:`ParamDictCheck`). Diagnoses:
  gradient ascent, learning rate ignored, gradients matched to parameters by position instead of
  by name, parameter names hard-coded, a parameter left out.
- ``epoch_batches(n, batch_size, seed)`` returns the mini-batches of one epoch. There is no
  single right answer (any seeded shuffle will do), so :class:`BatchesCheck` judges behaviour:
  the batches partition ``range(n)``, every batch but the last has ``batch_size`` indices, and
  for ``n >= 10`` the order is shuffled. Diagnoses: last partial batch dropped, not shuffled,
  overlapping batches, sampling with replacement.
- ``train_softmax_regression(x_train, y_train, lr, epochs, batch_size, seed)`` is a whole
  training loop. :class:`TrainingCheck` judges its outcome and its process. Outcome: the returned
  ``{"w", "b"}`` scored on held-out images whose labels never reach the submission (at least 90 %).
  Process: on a tiny dataset and a few epochs, the parameters must be those of the reference
  mini-batch SGD, whose batch order the docstring fixes (epoch ``e`` uses
  ``np.random.default_rng(seed + e).permutation(n)``, the order ``epoch_batches(n, b, seed + e)``
  gives). Diagnoses: chance-level accuracy, NaN parameters, wrong shapes, and from the process
  (each a model of the mistaken loop): gradient summed instead of averaged, wrong sign, batch order
  not the one fixed (unshuffled, one generator for every epoch, the same order every epoch, NumPy's
  legacy generator), last partial batch skipped, one epoch too few, a closed-form least-squares fit,
  no training at all.

- ``sgd_momentum_step``, ``rmsprop_step``, ``adam_step`` (param, grad, state, hyperparameters) each return
  ``(new_param, new_state)``, judged against ``torch.optim.SGD(momentum=...)``, ``torch.optim.RMSprop`` and
  ``torch.optim.Adam`` themselves (:class:`StepCheck`): the case's state is loaded into a fresh optimizer,
  which takes one step. Cases sit at the first step and in the middle of runs (states PyTorch itself left
  after a few steps), and tiny gradients with a larger eps tell where eps goes. Diagnoses: Nesterov instead
  of classic momentum, the CS231n velocity (lr inside it), the velocity's sign, dampening, momentum ignored,
  the old velocity used; eps inside the root, alpha swapped, no root, the old average; no bias correction,
  the step count not incremented first, betas swapped.
- ``train_two_layer_net(params, x_train, y_train, lr, momentum, epochs, batch_size, seed)`` is a Solver-style
  loop (affine, ReLU, affine, mean cross-entropy, SGD with momentum, loss history), judged like
  ``train_softmax_regression`` (:class:`NetTrainingCheck`): held-out accuracy on the digits, and on a tiny
  network the parameters and losses of a reference loop on ``torch.optim.SGD``, whose switches model the
  mistakes (summed gradient, velocities reset every epoch, ReLU's mask skipped, Nesterov, losses recorded
  after the update, no momentum, batch order).

- ``DigitsCNN`` and ``train_cnn``, the chapter's CNN as a PyTorch module and its training loop, are checked
  in :mod:`.torch_cnn` (through drivers, in a sandbox that allows torch).

Each known mistake passes or fails a group whatever the seed, so scores in the bank are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import data
from .. import reference as ref
from ..reference import torch
from .base import (
    FORBIDDEN,
    LEARNING_LIBRARIES,
    NOTHING_RETURNED,
    SOFTMAX_LIBRARIES,
    Case,
    Check,
    Diagnosis,
    Finding,
    Group,
    Mistake,
    NotApplicable,
    compare,
    type_name,
)
from .torch_cnn import DIGITS_CNN, TRAIN_CNN

STEM = "09-training"

# ---------------------------------------------------------------------- helpers


def _compare_dicts(expected: dict, got, tolerance: tuple[float, float], where: str = "the result") -> str | None:
    """``None`` when ``got`` is a dict with the same keys and matching arrays, else a sentence."""
    if not isinstance(got, dict):
        return f"{where} should be a dict of arrays with keys {sorted(expected)}, but it is {type_name(got)}"
    missing = [key for key in expected if key not in got]
    if missing:
        return (f"{where} has no entry for {missing}: every parameter must be in the returned dict, "
                "even the ones that barely change")
    extra = [key for key in got if key not in expected]
    if extra:
        return f"{where} has unexpected keys {extra}; return exactly the keys of params"
    for key, want in expected.items():
        problem = compare(want, got[key], f"{where}[{key!r}]", tolerance)
        if problem:
            return problem
    return None


# ---------------------------------------------------------------------- sgd_step


def _sgd_reference(params: dict, grads: dict, lr: float) -> dict:
    """One step of torch.optim.SGD (no momentum), float64."""
    tensors = {key: torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)
               for key, value in params.items()}
    for key, tensor in tensors.items():
        tensor.grad = torch.tensor(np.asarray(grads[key], dtype=np.float64))
    torch.optim.SGD(list(tensors.values()), lr=lr).step()
    return {key: ref.to_numpy(tensor.detach()) for key, tensor in tensors.items()}


def _sgd_case(rng, shapes: dict, lr: float | None = None, shuffle_grads: bool = False, note: str = "") -> Case:
    params = {key: rng.standard_normal(shape) for key, shape in shapes.items()}
    keys = list(shapes)
    if shuffle_grads:  # same names, another order: a zip over .values() pairs the wrong arrays
        keys = keys[1:] + keys[:1]
    grads = {key: rng.standard_normal(shapes[key]) for key in keys}
    lr = float(rng.uniform(0.01, 0.5)) if lr is None else lr
    return Case((params, grads, lr), note=note)


def _cnn_shapes(rng) -> dict:
    f, c, k = int(rng.integers(2, 5)), int(rng.integers(1, 4)), int(rng.choice([3, 5]))
    d, m = int(rng.integers(5, 20)), int(rng.integers(3, 8))
    return {"conv1_w": (f, c, k, k), "conv1_b": (f,), "fc_w": (d, m), "fc_b": (m,)}


def _sgd_visible(rng) -> list[Case]:
    params = {"w": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array([0.5, -0.5])}
    grads = {"w": np.array([[1.0, -1.0], [0.0, 2.0]]), "b": np.array([1.0, 1.0])}
    cnn = {"conv_w": (32, 1, 3, 3), "conv_b": (32,), "fc_w": (512, 10), "fc_b": (10,)}
    return [Case((params, grads, 0.1), note="w 2×2 and b, lr = 0.1: w -> [[0.9, 2.1], [3.0, 3.8]]"),
            _sgd_case(rng, cnn, lr=0.03, note="the parameters of chapter 9's NumPy CNN (conv_w, conv_b, fc_w, "
                                               "fc_b), lr = 0.03")]


def _sgd_random(rng) -> list[Case]:
    return [_sgd_case(rng, _cnn_shapes(rng), note="CNN-style parameters conv1_w, conv1_b, fc_w, fc_b")
            for _ in range(3)]


def _sgd_order(rng) -> list[Case]:
    return [_sgd_case(rng, _cnn_shapes(rng), shuffle_grads=True,
                      note="grads lists the same names in another order than params")]


def _ascent(params, grads, lr):
    return {key: params[key] + lr * grads[key] for key in params}


def _no_lr(params, grads, lr):
    return {key: params[key] - grads[key] for key in params}


def _by_position(params, grads, lr):
    return {key: p - lr * g for (key, p), g in zip(params.items(), grads.values())}


def _hardcoded_keys(params, grads, lr):
    """An update of params['w'] and params['b'] only: a KeyError for a network with other names."""
    return {key: params[key] - lr * grads[key] for key in ("w", "b")}


SGD_MISTAKES = [
    Mistake("gradient ascent (+ instead of −)",
            "you added lr·grad. The gradient points uphill, towards a larger loss; an update must "
            "step against it. Look at the sign in your update.", apply=_ascent),
    Mistake("learning rate ignored",
            "the step is the whole gradient. The learning rate scales every step and is what keeps "
            "it small; look at where lr enters your update.", apply=_no_lr),
    Mistake("gradients matched by position",
            "you paired params and grads in the order they are stored, but the two dicts may list "
            "their keys in different orders. A gradient belongs to the parameter of the same name: "
            "look at how you find the gradient of each parameter.", apply=_by_position),
    Mistake("parameter names hard-coded",
            "the function looks for keys like 'w' and 'b', but a network has any names "
            "(conv1_w, fc_b, …). The names to update are the keys of params, whatever they are.",
            apply=_hardcoded_keys),
]


class ParamDictCheck(Check):
    """A check whose reference returns a dict name -> array; keys and arrays are compared."""

    def compare(self, expected, got) -> str | None:
        return _compare_dicts(expected, got, self.tolerance)


# Named by the hint below, when no mistake's output matches.
PARAMETER_LEFT_OUT = Mistake("a parameter left out", "the returned dict must hold every key of params, each one "
                             "updated with its own gradient.")
NOTHING_UPDATED = Mistake("nothing updated", "the parameters came back unchanged: the step was computed "
                          "but not kept, or never computed. Look at what goes into the dict you return.")


def _sgd_hint(case: Case, got) -> Diagnosis | None:
    params = case.args[0]
    if isinstance(got, dict) and set(got) < set(params):
        return PARAMETER_LEFT_OUT.diagnosis
    if isinstance(got, dict) and all(isinstance(got.get(k), np.ndarray) and got[k].shape == v.shape
                                     and np.allclose(got[k], v) for k, v in params.items()):
        return NOTHING_UPDATED.diagnosis
    return None


SGD_STEP = ParamDictCheck(
    id=f"{STEM}.sgd_step",
    params=("params", "grads", "lr"),
    reference=_sgd_reference,
    groups=[
        Group("a 2×2 weight and a bias, and the NumPy CNN's four parameters", _sgd_visible, visible=True),
        Group("randomized CNN parameters and learning rates", _sgd_random, weight=2.0),
        Group("grads listing the names in another order", _sgd_order),
    ],
    mistakes=[*SGD_MISTAKES, PARAMETER_LEFT_OUT, NOTHING_UPDATED],
    hints=[_sgd_hint],
    summary="one step against the gradient, scaled by lr, for every parameter by name, in a new dict",
)

# ---------------------------------------------------------------------- epoch_batches


def _batches_reference(n: int, batch_size: int, seed: int) -> list[np.ndarray]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _batches_visible(rng) -> list[Case]:
    return [Case((10, 4, 0), note="10 images in batches of 4: sizes 4, 4, 2"),
            Case((5, 8, 1), note="5 images, batch_size 8: one batch of all 5"),
            Case((1348, 32, 0), note="the 1348 training digits in batches of 32, as the training loop below uses")]


def _batches_again(cases, rng) -> list[Case]:
    """The visible cases at grading time, other sizes and seeds of the same kinds: a small n that leaves a
    shorter last batch, an n smaller than batch_size, and about as many images as the training digits."""
    batch = int(rng.integers(3, 7))
    small = batch * int(rng.integers(3, 6)) + int(rng.integers(1, batch))  # 10 or more, never a multiple
    few, big = int(rng.integers(2, 8)), int(rng.choice([16, 32, 64]))
    digits = big * int(rng.integers(20, 45)) + int(rng.integers(1, big))
    seeds = [int(seed) for seed in rng.integers(0, 10_000, size=3)]
    return [Case((small, batch, seeds[0]), note=f"{small} images in batches of {batch}: the last one shorter"),
            Case((few, 8, seeds[1]), note=f"{few} images, batch_size 8: one batch of all {few}"),
            Case((digits, big, seeds[2]), note=f"{digits} images in batches of {big}, about as many as the digits")]


def _batches_random(rng) -> list[Case]:
    cases = []
    for _ in range(3):
        batch = int(rng.choice([8, 16, 32, 64]))
        n = batch * int(rng.integers(2, 8)) + int(rng.integers(1, batch))  # never a multiple of batch
        cases.append(Case((n, batch, int(rng.integers(0, 10_000))), note="n not a multiple of batch_size"))
    return cases


def _batches_exact(rng) -> list[Case]:
    batch = int(rng.choice([4, 8, 16, 32]))
    n = batch * int(rng.integers(3, 10))
    return [Case((n, batch, int(rng.integers(0, 10_000))), note="n an exact multiple of batch_size")]


# What BatchesCheck names, from what the batches are (there is no one answer to compare with).
DROP_LAST = Mistake("last partial batch dropped", "when n is not a multiple of batch_size the leftover images "
                    "form a shorter last batch, and it belongs to the epoch too. Look at the bounds of the loop "
                    "over batch starts: a slice past the end of an array simply stops at its end.")
NOT_SHUFFLED = Mistake("not shuffled", "the batches follow the data order. The epoch should be cut from a "
                       "random permutation of the indices, drawn from a generator seeded with seed.")
OVERLAP = Mistake("overlapping batches", "consecutive batches share indices, so the start of each batch moves by "
                  "less than batch_size. Look at how far the start moves from one batch to the next.")
WITH_REPLACEMENT = Mistake("sampled with replacement", "each batch was drawn independently, so some images repeat "
                           "and others are never seen. Shuffle the indices once per epoch (a permutation) and cut "
                           "that one order into consecutive slices.")
BATCH_MISTAKES = [DROP_LAST, NOT_SHUFFLED, OVERLAP, WITH_REPLACEMENT]


def _batch_problem(n: int, batch_size: int, got) -> tuple[str | None, Mistake | None]:
    """(problem, the mistake it shows, if known) for a returned list of batches."""
    if not isinstance(got, (list, tuple)):
        if isinstance(got, np.ndarray) and got.ndim == 2:
            return ((f"the result is one 2-D array of shape {got.shape}; return a list of 1-D index arrays "
                     "(the last one may be shorter)"), None)
        return f"the result should be a list of 1-D index arrays, but it is {type_name(got)}", None
    batches = []
    for index, batch in enumerate(got):
        array = np.asarray(batch)
        if array.ndim != 1:
            return f"batch {index} has shape {array.shape}; each batch is a 1-D array of indices", None
        if array.size and array.dtype.kind not in "iu":
            return ((f"batch {index} has dtype {array.dtype}; indices are integers "
                     "(rng.permutation(n) gives ints)"), None)
        batches.append(array.astype(np.int64))
    if not batches:
        return ("the result is an empty list; one epoch visits every image, so there is at least one batch",
                DROP_LAST if n < batch_size else None)
    flat = np.concatenate(batches)
    sizes = [len(b) for b in batches]
    if flat.size and (flat.min() < 0 or flat.max() >= n):
        return f"an index is out of range: indices go from 0 to n - 1 = {n - 1}", None
    counts = np.bincount(flat, minlength=n)
    repeated, missing = int((counts > 1).sum()), int((counts == 0).sum())
    if repeated:
        inside = any(len(set(b.tolist())) < len(b) for b in batches)
        why = WITH_REPLACEMENT if missing and (inside or len(flat) == n) else OVERLAP
        return ((f"{repeated} indices appear in more than one place and {missing} never appear; an epoch "
                 f"uses each of the {n} images exactly once"), why)
    if missing:
        expected = [batch_size] * (n // batch_size)
        why = DROP_LAST if sizes == expected and n % batch_size else None
        return ((f"{missing} of the {n} indices never appear (batch sizes {_sizes(sizes)}); an epoch "
                 "uses every image once"), why)
    want = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    if sizes != want:
        return f"the batch sizes are {_sizes(sizes)}, but they should be {_sizes(want)}", None
    if n >= 10 and np.array_equal(flat, np.arange(n)):
        return "the indices come out in order 0, 1, 2, …: the epoch is not shuffled", NOT_SHUFFLED
    return None, None


def _sizes(sizes: list[int]) -> str:
    if len(sizes) <= 6:
        return str(sizes)
    return f"[{', '.join(map(str, sizes[:3]))}, …, {', '.join(map(str, sizes[-2:]))}] ({len(sizes)} batches)"


class BatchesCheck(Check):
    """Judges a list of mini-batches by what it is, not by comparing with one shuffle."""

    def assess(self, case: Case, got) -> Finding:
        n, batch_size = case.args[0], case.args[1]
        problem, mistake = _batch_problem(n, batch_size, got)
        if problem is not None and got is None:
            mistake = NOTHING_RETURNED
        return Finding(problem, mistake.diagnosis if mistake else None)


EPOCH_BATCHES = BatchesCheck(
    id=f"{STEM}.epoch_batches",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES,  # sklearn.utils.gen_batches and shuffle
    params=("n", "batch_size", "seed"),
    reference=_batches_reference,
    groups=[
        Group("10, 5 and 1348 images", _batches_visible, visible=True, redraw=_batches_again),
        Group("randomized n, not a multiple of batch_size", _batches_random, weight=2.0),
        Group("n an exact multiple of batch_size", _batches_exact),
    ],
    mistakes=BATCH_MISTAKES,
    summary="a shuffled partition of range(n) into batches of batch_size (the last may be shorter)",
)

# ---------------------------------------------------------------------- train_softmax_regression

MIN_ACCURACY = 0.90
NUM_CLASSES = 10
TIME_BUDGET = 20  # seconds per call at grading time; the reference takes well under one


@dataclass(frozen=True)
class HeldOut(Case):
    """A training case; ``x_test``/``y_test`` stay in the grader and never reach the submission."""

    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


def _digits_case(seed: int, lr: float, epochs: int, batch_size: int, test_fraction: float, note: str) -> HeldOut:
    x, y = data.digits()
    x = x.reshape(len(x), -1)
    x_train, y_train, x_test, y_test = data.split(x, y, test_fraction=test_fraction, seed=seed)
    return HeldOut((x_train, y_train, lr, epochs, batch_size, seed), note=note, x_test=x_test, y_test=y_test)


def _train_visible(rng) -> list[Case]:
    return [_digits_case(0, 0.5, 10, 32, 0.25, "the digits, 1348 training images, lr 0.5, 10 epochs, batch 32")]


def _train_random(rng) -> list[Case]:
    seed = int(rng.integers(1, 10_000))
    return [_digits_case(seed, float(rng.uniform(0.3, 0.6)), int(rng.integers(10, 16)), int(rng.choice([32, 48])),
                         0.3, "a random split of the digits and random hyperparameters")]


def _train_full_batch(rng) -> list[Case]:
    seed = int(rng.integers(1, 10_000))
    case = _digits_case(seed, 1.0, 150, 0, 0.3, "batch_size larger than the training set: full-batch steps")
    n = len(case.args[1])
    args = case.args[:4] + (n + int(rng.integers(1, 500)),) + case.args[5:]
    return [HeldOut(args, note=case.note, x_test=case.x_test, y_test=case.y_test)]


def _epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order of the images in epoch ``epoch`` (from 0): the one ``epoch_batches(n, b, seed + epoch)`` cuts."""
    return np.random.default_rng(int(seed) + epoch).permutation(n)


def _train_reference(x_train, y_train, lr, epochs, batch_size, seed):
    """Softmax regression with torch (float64): zeros init, plain SGD on the mean loss of each
    mini-batch, epoch ``e`` visiting the images in the order ``np.random.default_rng(seed + e).permutation(n)``
    cut into consecutive batches (the order the docstring fixes). See :func:`_sgd_variant`."""
    return _sgd_variant(x_train, y_train, lr, epochs, batch_size, seed)


# ---- the process: what the loop does, replayed on a tiny dataset and compared step for step


def _tiny_case(rng, n: int, d: int, lr: float, epochs: int, batch_size: int, seed: int, note: str) -> Case:
    x = np.round(rng.standard_normal((n, d)), 2)
    y = rng.integers(0, NUM_CLASSES, size=n)
    return Case((x, y, lr, epochs, batch_size, seed), note=note)


def _process_visible(rng) -> list[Case]:
    return [_tiny_case(rng, 10, 5, 0.5, 2, 4, 3, "10 random points, 5 features, lr 0.5, 2 epochs of batches "
                       "of 4, 4 and 2: the parameters after exactly these 6 SGD steps")]


def _process_random(rng) -> list[Case]:
    cases = []
    for _ in range(2):
        batch = int(rng.integers(3, 7))
        n = batch * int(rng.integers(2, 4)) + int(rng.integers(1, batch))  # a shorter last batch
        cases.append(_tiny_case(rng, n, int(rng.integers(3, 8)), float(rng.uniform(0.1, 0.8)),
                                int(rng.integers(2, 4)), batch, int(rng.integers(0, 10_000)),
                                "a random tiny dataset, a few epochs of mini-batches"))
    return cases


def _sgd_variant(x_train, y_train, lr, epochs, batch_size, seed, *, order="seeded", mean=True, sign=-1.0,
                 skip_partial=False, extra_epochs=0):
    """The reference loop (torch, float64) with the switches the mistakes below flip: the batch order,
    the loss averaged or summed over a batch, the sign of the step, the last shorter batch skipped,
    and epochs added or removed. With the defaults it is :func:`_train_reference`."""
    x = torch.as_tensor(np.asarray(x_train, dtype=np.float64))
    y = torch.as_tensor(np.asarray(y_train, dtype=np.int64))
    n = len(x)
    w = torch.zeros(x.shape[1], NUM_CLASSES, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(NUM_CLASSES, dtype=torch.float64, requires_grad=True)
    shared, legacy = np.random.default_rng(seed), np.random.RandomState(seed)
    orders = {"seeded": lambda epoch: _epoch_order(n, seed, epoch), "one generator": lambda _: shared.permutation(n),
              "same every epoch": lambda _: _epoch_order(n, seed, 0), "legacy": lambda _: legacy.permutation(n),
              "unshuffled": lambda _: np.arange(n)}
    for epoch in range(epochs + extra_epochs):
        visit = torch.as_tensor(orders[order](epoch))
        for start in range(0, n - batch_size + 1 if skip_partial else n, batch_size):
            batch = visit[start:start + batch_size]
            loss = torch.nn.functional.cross_entropy(x[batch] @ w + b, y[batch], reduction="mean" if mean else "sum")
            grad_w, grad_b = torch.autograd.grad(loss, (w, b))
            with torch.no_grad():
                w += sign * lr * grad_w
                b += sign * lr * grad_b
    return {"w": w.detach().numpy(), "b": b.detach().numpy()}


def _only_full_batches(x_train, y_train, lr, epochs, batch_size, seed):
    if len(x_train) % batch_size == 0 or batch_size > len(x_train):
        raise NotApplicable  # no shorter last batch to skip (a larger batch is the held-out group's business)
    return _sgd_variant(x_train, y_train, lr, epochs, batch_size, seed, skip_partial=True)


def _one_epoch_off(x_train, y_train, lr, epochs, batch_size, seed):
    return _sgd_variant(x_train, y_train, lr, epochs, batch_size, seed, extra_epochs=-1)


def _closed_form(x_train, y_train, lr, epochs, batch_size, seed):
    """Least squares on one-hot targets: no loop at all, yet often a fine held-out accuracy."""
    x = np.asarray(x_train, dtype=np.float64)
    design = np.hstack([x, np.ones((len(x), 1))])
    targets = np.eye(NUM_CLASSES)[np.asarray(y_train)]
    solution = np.linalg.lstsq(design, targets, rcond=None)[0]
    return {"w": solution[:-1], "b": solution[-1]}


def _untrained(x_train, y_train, lr, epochs, batch_size, seed):
    return {"w": np.zeros((np.shape(x_train)[1], NUM_CLASSES)), "b": np.zeros(NUM_CLASSES)}


def _order_model(order: str):
    return lambda *args: _sgd_variant(*args, order=order)


SUMMED = Mistake("gradient summed over the batch, not averaged",
                 "every step is batch_size times too long: the loss of a batch is the mean of its examples' "
                 "losses, so the gradient of the scores carries a factor 1 / B (B, the number of images in the "
                 "batch, is smaller for the last one). Look at where dL/ds is formed.",
                 apply=lambda *args: _sgd_variant(*args, mean=False))
ASCENT = Mistake("gradient ascent (wrong sign)",
                 "the parameters moved uphill, along the gradient: each step must go against it. Look at the "
                 "sign of the update of w and of b.", apply=lambda *args: _sgd_variant(*args, sign=1.0))
ORDER_NOT_SEEDED = "batch order not the one the docstring fixes"
ORDER_EXPLAIN = ("the arithmetic of each step is right, but the mini-batches came in another order than the "
                 "docstring fixes: epoch e (counted from 0) visits the images in the order epoch_batches(n, "
                 "batch_size, seed + e) gives, a fresh NumPy generator seeded with seed + e for every epoch. ")
ORDER_MISTAKES = [
    Mistake(ORDER_NOT_SEEDED, ORDER_EXPLAIN + "Here the images were not shuffled at all.",
            apply=_order_model("unshuffled")),
    Mistake(ORDER_NOT_SEEDED, ORDER_EXPLAIN + "Here one generator, seeded once, shuffled every epoch, so every "
            "epoch after the first has another order.", apply=_order_model("one generator")),
    Mistake(ORDER_NOT_SEEDED, ORDER_EXPLAIN + "Here every epoch repeated the first epoch's order: the seed did "
            "not change from one epoch to the next.", apply=_order_model("same every epoch")),
    Mistake(ORDER_NOT_SEEDED, ORDER_EXPLAIN + "Here the shuffle came from NumPy's older global generator "
            "(np.random.seed and np.random.permutation), whose numbers differ from default_rng's.",
            apply=_order_model("legacy")),
]
PARTIAL_SKIPPED = Mistake("last partial batch skipped",
                          "the loop over batch starts stops too early, so the shorter last batch of every epoch "
                          "never makes a step. Look at the bounds of the loop over the batches.",
                          apply=_only_full_batches)
EPOCH_OFF_BY_ONE = Mistake("one epoch too few",
                           "the parameters are those of the reference after epochs - 1 epochs. Look at the bounds "
                           "of the loop over epochs.", apply=_one_epoch_off)
CLOSED_FORM = Mistake("closed-form fit instead of SGD",
                      "the parameters solve a least-squares problem directly; they can classify well, but the "
                      "exercise asks for the parameters that mini-batch SGD reaches after the given epochs.",
                      apply=_closed_form)
NO_TRAINING = Mistake("no training at all",
                      "the parameters are still their initial zeros: no step changed them. Look at whether the "
                      "update is computed and kept in the arrays you return.", apply=_untrained)
NOT_AN_SGD_RUN = Mistake("parameters that no SGD run of this loop gives",
                         "the returned parameters match neither the reference's trajectory nor any of the known "
                         "slips (sum instead of mean, sign, batch order, loop bounds). Replay one epoch by hand "
                         "on this small case: one step per batch, each with the mean gradient of that batch.")
PROCESS_MISTAKES = [SUMMED, ASCENT, *ORDER_MISTAKES, PARTIAL_SKIPPED, EPOCH_OFF_BY_ONE, CLOSED_FORM, NO_TRAINING]


def _test_accuracy(params: dict, x_test: np.ndarray, y_test: np.ndarray) -> float:
    logits = x_test @ np.asarray(params["w"], dtype=np.float64) + np.asarray(params["b"], dtype=np.float64)
    return float((logits.argmax(1) == y_test).mean())


# What TrainingCheck names, from the returned parameters and their held-out accuracy.
TOO_SLOW = Mistake("too slow", f"training must finish within {TIME_BUDGET} s. Vectorise over the batch (one "
                   "matrix product per step) rather than looping over images in Python.")
TRANSPOSED = Mistake("wrong shapes (w transposed)", "scores are x @ w + b with x of shape (N, D), so w is (D, 10): "
                     "one column of weights per class.")
NAN_PARAMETERS = Mistake("NaN parameters", "the training blew up. Either softmax was not shifted by each row's "
                         "maximum (the exponential of a large score overflows to inf, and inf / inf is NaN: see "
                         "the stable softmax of chapter 6), or the steps are far too large (is the gradient the "
                         "mean over the batch?).")
CHANCE = Mistake("accuracy at chance level", "the weights did not learn. Look at the sign of the update, at "
                 "whether the new values are the ones you return, at the gradient of the scores (softmax minus "
                 "one-hot, over the batch size), and at whether the loop over batches runs at all (a batch_size "
                 "larger than the training set still gives one batch).")
TRAINING_MISTAKES = [TOO_SLOW, TRANSPOSED, NAN_PARAMETERS, CHANCE]


def _params_problem(got, d: int) -> tuple[str | None, Mistake | None]:
    if not isinstance(got, dict):
        return (f"the result should be a dict {{'w': (D, 10) array, 'b': (10,) array}}, but it is {type_name(got)}",
                None)
    for key in ("w", "b"):
        if key not in got:
            return f"the result has no key {key!r}; return {{'w': w, 'b': b}}", None
        if not isinstance(got[key], np.ndarray):
            return f"result[{key!r}] should be a NumPy array, but it is {type_name(got[key])}", None
    w, b = got["w"], got["b"]
    if w.shape != (d, NUM_CLASSES):
        why = TRANSPOSED if w.shape == (NUM_CLASSES, d) else None
        return f"result['w'] should have shape ({d}, {NUM_CLASSES}) (features × classes), but it has {w.shape}", why
    if b.shape != (NUM_CLASSES,):
        return f"result['b'] should have shape ({NUM_CLASSES},), but it has {b.shape}", None
    if w.dtype.kind != "f" or b.dtype.kind != "f":
        return "the parameters should be float arrays", None
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
        return "the parameters contain NaN or infinite values", NAN_PARAMETERS
    return None, None


class TrainingCheck(Check):
    """Two kinds of cases. A :class:`HeldOut` case scores the returned parameters on held-out images
    (at least ``MIN_ACCURACY``); any other case replays the loop on a tiny dataset and compares the
    parameters with the reference mini-batch SGD, step for step, so that how they were reached counts too."""

    def compare(self, expected, got) -> str | None:
        return _compare_dicts(expected, got, self.tolerance)

    def diagnose_error(self, case: Case, error, evidence=()) -> Diagnosis | None:
        if error.kind == "timeout":
            return TOO_SLOW.diagnosis
        return super().diagnose_error(case, error, evidence)

    def assess(self, case: Case, got) -> Finding:
        problem, why = _params_problem(got, case.args[0].shape[1])
        if problem is None and not isinstance(case, HeldOut):
            problem = self.compare(self.expected(case), got)
            if problem is None:
                return Finding(None)
            n, (_, epochs, batch_size, _) = len(case.args[0]), case.args[2:]
            steps = epochs * -(-n // batch_size)
            problem = (f"after {epochs} epochs ({steps} SGD steps on batches of {batch_size}) the parameters should "
                       f"be those of the reference loop, but {problem.removeprefix('the ')}")
            found = self.diagnose(case, got)
            return Finding(problem, found or NOT_AN_SGD_RUN.diagnosis)
        if problem is None:
            accuracy = _test_accuracy(got, case.x_test, case.y_test)
            if accuracy >= MIN_ACCURACY:
                return Finding(None, note=f"held-out accuracy {accuracy:.3f}")
            problem = (f"on {len(case.y_test)} held-out images the accuracy is {accuracy:.3f}; "
                       f"it should be at least {MIN_ACCURACY:.2f}")
            if accuracy < 0.3 or (np.all(got["b"] == 0) and np.all(got["w"] == 0)):
                why = CHANCE
        return Finding(problem, why.diagnosis if why else None)


TRAIN = TrainingCheck(
    id=f"{STEM}.train_softmax_regression",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES + SOFTMAX_LIBRARIES,
    params=("x_train", "y_train", "lr", "epochs", "batch_size", "seed"),
    reference=_train_reference,
    groups=[
        Group("the digits, fixed split: held-out accuracy", _train_visible, weight=0.5, visible=True),
        Group("the process: a tiny dataset, 2 epochs, compared step for step with mini-batch SGD",
              _process_visible, visible=True),
        Group("a random split and random hyperparameters: held-out accuracy", _train_random),
        Group("batch_size larger than the training set: held-out accuracy", _train_full_batch, weight=0.5),
        Group("the process: random tiny datasets and seeds, compared step for step", _process_random),
    ],
    mistakes=[*TRAINING_MISTAKES, *PROCESS_MISTAKES, NOT_AN_SGD_RUN],
    timeout=TIME_BUDGET,
    summary=(f"at least {MIN_ACCURACY:.0%} accuracy on held-out digits, and on a tiny dataset the very parameters "
             "mini-batch SGD reaches (mean gradient of each batch, batches in the order the docstring fixes)"),
)


# ---------------------------------------------------------------------- optimizer update rules
#
# sgd_momentum_step, rmsprop_step and adam_step each take one parameter array, its gradient and the
# optimizer's state for it (a dict of arrays, and Adam's step count), and return (new_param, new_state).
# The reference is torch.optim itself: the state is loaded into a fresh optimizer, one step is taken,
# and the optimizer's state is read back, so the conventions (PyTorch's momentum buffer, eps outside
# the square root, bias correction with the incremented step count) are PyTorch's by construction.

# state key of ours -> torch.optim's name for it
_TORCH_STATE = {"sgd": {"velocity": "momentum_buffer"}, "rmsprop": {"square_avg": "square_avg"},
                "adam": {"m": "exp_avg", "v": "exp_avg_sq"}}


def _torch_optimizer_step(kind: str, param, grad, state: dict, **hyper) -> tuple[np.ndarray, dict]:
    """One step of torch.optim (``kind``: sgd, rmsprop or adam) from ``state``, in float64."""
    tensor = torch.tensor(np.asarray(param, dtype=np.float64), requires_grad=True)
    tensor.grad = torch.tensor(np.asarray(grad, dtype=np.float64))
    make = {"sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam}[kind]
    optimizer = make([tensor], **hyper)
    slot = optimizer.state[tensor]
    for ours, theirs in _TORCH_STATE[kind].items():
        slot[theirs] = torch.tensor(np.asarray(state[ours], dtype=np.float64))
    if kind != "sgd":
        slot["step"] = torch.tensor(float(state.get("t", 0)), dtype=torch.float64)
    optimizer.step()
    new_state = {ours: slot[theirs].detach().numpy().copy() for ours, theirs in _TORCH_STATE[kind].items()}
    if kind == "adam":
        new_state["t"] = int(slot["step"].item())
    return tensor.detach().numpy().copy(), new_state


def _momentum_reference(param, grad, state, lr, momentum):
    return _torch_optimizer_step("sgd", param, grad, state, lr=lr, momentum=momentum)


def _rmsprop_reference(param, grad, state, lr, alpha, eps):
    return _torch_optimizer_step("rmsprop", param, grad, state, lr=lr, alpha=alpha, eps=eps)


def _adam_reference(param, grad, state, lr, beta1, beta2, eps):
    return _torch_optimizer_step("adam", param, grad, state, lr=lr, betas=(beta1, beta2), eps=eps)


def _run_optimizer(reference, rng, shape, steps: int, hyper: tuple, scale: float = 1.0):
    """A parameter and the state torch.optim leaves after ``steps`` steps on random gradients from a fresh
    state, then the gradient of the next step: the inputs of one graded step in the middle of a run."""
    param = rng.standard_normal(shape)
    state = reference.fresh(shape)
    for _ in range(steps):
        param, state = reference.step(param, scale * rng.standard_normal(shape), state, *hyper)
    return param, scale * rng.standard_normal(shape), state


@dataclass(frozen=True)
class _Rule:
    """An update rule: its reference step, and the state it starts from (before the first step)."""

    step: object
    fresh: object


def _momentum_fresh(shape):
    return {"velocity": np.zeros(shape)}


def _rmsprop_fresh(shape):
    return {"square_avg": np.zeros(shape)}


def _adam_fresh(shape):
    return {"m": np.zeros(shape), "v": np.zeros(shape), "t": 0}


MOMENTUM_RULE = _Rule(_momentum_reference, _momentum_fresh)
RMSPROP_RULE = _Rule(_rmsprop_reference, _rmsprop_fresh)
ADAM_RULE = _Rule(_adam_reference, _adam_fresh)


def _rule_case(rule: _Rule, rng, shape, steps: int, hyper: tuple, note: str, scale: float = 1.0) -> Case:
    param, grad, state = _run_optimizer(rule, rng, shape, steps, hyper, scale)
    return Case((param, grad, state, *hyper), note=note)


def _random_shape(rng) -> tuple:
    return tuple(int(s) for s in rng.integers(2, 6, size=int(rng.integers(1, 4))))


def _compare_step(expected, got, tolerance) -> str | None:
    """(new_param, new_state) against the reference's."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"the result should be a pair (new_param, new_state), but it is {type_name(got)}"
    problem = compare(expected[0], got[0], "new_param", tolerance)
    if problem:
        return problem
    state = got[1]
    if isinstance(state, dict) and "t" in expected[1]:
        problem = compare(expected[1]["t"], state.get("t"), "new_state['t']")
        if problem:
            return problem
        expected, state = ({k: v for k, v in expected[1].items() if k != "t"},
                           {k: v for k, v in state.items() if k != "t"})
        return _compare_dicts(expected, state, tolerance, "new_state")
    return _compare_dicts(expected[1], state, tolerance, "new_state")


class StepCheck(Check):
    """An optimizer's step: the new parameter and the new state, both compared with torch.optim's."""

    def compare(self, expected, got) -> str | None:
        return _compare_step(expected, got, self.tolerance)


# ---- sgd_momentum_step

def _momentum_visible(rng) -> list[Case]:
    first = Case((np.array([1.0, -2.0, 0.5]), np.array([0.5, 0.5, -1.0]), {"velocity": np.zeros(3)}, 0.1, 0.9),
                 note="the first step: velocity 0, so the step is lr * grad")
    return [first, _rule_case(MOMENTUM_RULE, rng, (3, 4), 4, (0.05, 0.9),
                              "a (3, 4) weight after 4 earlier steps, lr 0.05, momentum 0.9")]


def _momentum_random(rng) -> list[Case]:
    return [_rule_case(MOMENTUM_RULE, rng, _random_shape(rng), int(rng.integers(1, 8)),
                       (float(rng.uniform(0.01, 0.3)), float(rng.uniform(0.5, 0.95))),
                       "a random shape in the middle of a run") for _ in range(3)]


def _momentum_first(rng) -> list[Case]:
    return [_rule_case(MOMENTUM_RULE, rng, _random_shape(rng), 0, (float(rng.uniform(0.01, 0.3)), 0.9),
                       "the first step, from a velocity of zeros"),
            _rule_case(MOMENTUM_RULE, rng, _random_shape(rng), 20, (float(rng.uniform(0.01, 0.1)), 0.99),
                       "after 20 steps with momentum 0.99: a velocity far larger than one gradient")]


def _momentum_variant(param, grad, state, lr, momentum, *, form="torch"):
    """SGD with momentum as the mistakes below write it; ``form`` names the slip."""
    previous = np.asarray(state["velocity"], dtype=np.float64)
    if form == "cs231n":  # the learning rate inside the velocity: v = mu v - lr g; param + v
        buf = previous * momentum - grad * lr
        return param + buf, {"velocity": buf}
    if form == "dampened":  # an exponential average of the gradients: (1 - mu) g
        buf = previous * momentum + grad * (1.0 - momentum)
    elif form == "sign":  # the gradient subtracted inside the buffer, the buffer subtracted again
        buf = previous * momentum - grad
    elif form == "no momentum":
        buf = grad + 0.0 * previous
    else:
        buf = previous * momentum + grad
    step = grad + momentum * buf if form == "nesterov" else buf
    return param - lr * step, {"velocity": buf}


def _momentum_old_velocity(param, grad, state, lr, momentum):
    """The parameter moved with the velocity from before this step's gradient was added."""
    buf = state["velocity"] * momentum + grad
    if not np.any(state["velocity"]):
        raise NotApplicable  # on the first step the old velocity is zero: a different symptom
    return param - lr * state["velocity"], {"velocity": buf}


MOMENTUM_MISTAKES = [
    Mistake("Nesterov momentum instead of classic", "the step looks ahead: it moved by grad + momentum · velocity "
            "(Nesterov's form, nesterov=True in PyTorch). Classic momentum, PyTorch's default, steps by the new "
            "velocity itself.", apply=lambda *a: _momentum_variant(*a, form="nesterov")),
    Mistake("learning rate inside the velocity", "the velocity kept here is momentum · v − lr · grad and the "
            "parameter adds it (the CS231n form). PyTorch's buffer holds no learning rate: it is momentum · v + "
            "grad, and the parameter moves by −lr times it. The two agree only while lr never changes; the state "
            "must be PyTorch's.", apply=lambda *a: _momentum_variant(*a, form="cs231n")),
    Mistake("velocity sign", "the gradient enters the velocity with a minus sign and the velocity is subtracted "
            "again, so the two signs fight. Look at the sign of grad in the velocity update.",
            apply=lambda *a: _momentum_variant(*a, form="sign")),
    Mistake("dampened velocity (1 − momentum) · grad", "the velocity is an average, momentum · v + (1 − momentum) "
            "· grad. PyTorch's buffer (dampening 0) adds the whole gradient: momentum · v + grad.",
            apply=lambda *a: _momentum_variant(*a, form="dampened")),
    Mistake("momentum ignored", "the step is plain SGD: the velocity does not carry the earlier gradients. Look at "
            "where the state's velocity enters the new one.", apply=lambda *a: _momentum_variant(*a, form="no momentum")),
    Mistake("stepped with the old velocity", "the parameter moved by the velocity as it was before this step's "
            "gradient was added. Update the velocity first, then step with the new one.",
            apply=_momentum_old_velocity),
]

SGD_MOMENTUM_STEP = StepCheck(
    id=f"{STEM}.sgd_momentum_step",
    params=("param", "grad", "state", "lr", "momentum"),
    reference=_momentum_reference,
    groups=[
        Group("a first step and a step in the middle of a run", _momentum_visible, visible=True),
        Group("random shapes, states and hyperparameters", _momentum_random, weight=2.0),
        Group("a first step from zeros, and a long run with momentum 0.99", _momentum_first),
    ],
    mistakes=MOMENTUM_MISTAKES,
    summary="torch.optim.SGD(momentum=...): velocity = momentum · velocity + grad, param − lr · velocity",
)

# ---- rmsprop_step

def _rmsprop_visible(rng) -> list[Case]:
    first = Case((np.array([1.0, -2.0, 0.5]), np.array([0.5, 0.0, -2.0]), {"square_avg": np.zeros(3)},
                  0.01, 0.99, 1e-8), note="the first step from a square_avg of zeros; one gradient is 0")
    return [first, _rule_case(RMSPROP_RULE, rng, (3, 4), 5, (0.01, 0.9, 1e-8),
                              "a (3, 4) weight after 5 earlier steps, lr 0.01, alpha 0.9")]


def _rmsprop_random(rng) -> list[Case]:
    return [_rule_case(RMSPROP_RULE, rng, _random_shape(rng), int(rng.integers(1, 8)),
                       (float(rng.uniform(0.001, 0.05)), float(rng.uniform(0.8, 0.99)), 1e-8),
                       "a random shape in the middle of a run") for _ in range(3)]


def _rmsprop_small(rng) -> list[Case]:
    return [_rule_case(RMSPROP_RULE, rng, _random_shape(rng), int(rng.integers(1, 5)),
                       (float(rng.uniform(0.001, 0.05)), 0.9, 1e-4), "tiny gradients (about 1e-4) and eps 1e-4: "
                       "where eps goes matters", scale=1e-4)]


def _rmsprop_variant(param, grad, state, lr, alpha, eps, *, eps_inside=False, swapped=False, no_sqrt=False,
                     old_average=False):
    g2 = np.square(grad)
    before = np.asarray(state["square_avg"], dtype=np.float64)
    after = (1.0 - alpha) * before + alpha * g2 if swapped else alpha * before + (1.0 - alpha) * g2
    used = before if old_average else after
    if no_sqrt:
        scale = used + eps
    else:
        scale = np.sqrt(used + eps) if eps_inside else np.sqrt(used) + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        return param - lr * grad / scale, {"square_avg": after}


RMSPROP_MISTAKES = [
    Mistake("eps inside the square root", "the step divides by sqrt(square_avg + eps); PyTorch divides by "
            "sqrt(square_avg) + eps. With tiny gradients the two differ a lot: eps is added after the root.",
            apply=lambda *a: _rmsprop_variant(*a, eps_inside=True)),
    Mistake("alpha and 1 − alpha swapped", "the new square_avg weighs the new squared gradient by alpha and the "
            "old average by 1 − alpha. alpha is the decay of the old average: alpha · square_avg + (1 − alpha) · "
            "grad².", apply=lambda *a: _rmsprop_variant(*a, swapped=True)),
    Mistake("no square root", "the step divides by square_avg itself, a squared quantity. The denominator is "
            "its square root (the root mean square of recent gradients), plus eps.",
            apply=lambda *a: _rmsprop_variant(*a, no_sqrt=True)),
    Mistake("divided by the old average", "the step uses square_avg as it was before this step's gradient "
            "entered it. Update the average first, then divide by its root.",
            apply=lambda *a: _rmsprop_variant(*a, old_average=True)),
]

RMSPROP_STEP = StepCheck(
    id=f"{STEM}.rmsprop_step",
    params=("param", "grad", "state", "lr", "alpha", "eps"),
    reference=_rmsprop_reference,
    groups=[
        Group("a first step and a step in the middle of a run", _rmsprop_visible, visible=True),
        Group("random shapes, states and hyperparameters", _rmsprop_random, weight=2.0),
        Group("tiny gradients and a larger eps", _rmsprop_small),
    ],
    mistakes=RMSPROP_MISTAKES,
    summary="torch.optim.RMSprop: square_avg = alpha · square_avg + (1 − alpha) · grad², "
            "param − lr · grad / (sqrt(square_avg) + eps)",
)

# ---- adam_step

def _adam_visible(rng) -> list[Case]:
    first = Case((np.array([1.0, -2.0, 0.5]), np.array([0.5, 0.0, -2.0]), _adam_fresh(3), 0.1, 0.9, 0.999, 1e-8),
                 note="the first step (t = 0 before it): each moving parameter moves by about lr")
    return [first, _rule_case(ADAM_RULE, rng, (3, 4), 5, (0.01, 0.9, 0.999, 1e-8),
                              "a (3, 4) weight after 5 earlier steps, lr 0.01")]


def _adam_random(rng) -> list[Case]:
    return [_rule_case(ADAM_RULE, rng, _random_shape(rng), int(rng.integers(1, 12)),
                       (float(rng.uniform(0.001, 0.05)), float(rng.uniform(0.8, 0.95)),
                        float(rng.uniform(0.99, 0.999)), 1e-8), "a random shape in the middle of a run")
            for _ in range(3)]


def _adam_edges(rng) -> list[Case]:
    return [_rule_case(ADAM_RULE, rng, _random_shape(rng), 0, (float(rng.uniform(0.001, 0.05)), 0.9, 0.999, 1e-8),
                       "the first step, from m = v = 0 and t = 0"),
            _rule_case(ADAM_RULE, rng, _random_shape(rng), int(rng.integers(2, 6)),
                       (float(rng.uniform(0.001, 0.05)), 0.9, 0.999, 1e-4),
                       "tiny gradients (about 1e-4) and eps 1e-4: where eps goes matters", scale=1e-4)]


def _adam_variant(param, grad, state, lr, beta1, beta2, eps, *, correct=True, t_offset=1, eps_inside=False,
                  betas_swapped=False):
    t = int(state["t"]) + t_offset
    if betas_swapped:
        beta1, beta2 = beta2, beta1
    first = beta1 * np.asarray(state["m"], dtype=np.float64) + (1.0 - beta1) * grad
    second = beta2 * np.asarray(state["v"], dtype=np.float64) + (1.0 - beta2) * grad * grad
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = first / (1.0 - beta1 ** t) if correct else first
        v_hat = second / (1.0 - beta2 ** t) if correct else second
        denominator = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
        new = param - lr * m_hat / denominator
    return new, {"m": first, "v": second, "t": int(state["t"]) + 1}


ADAM_MISTAKES = [
    Mistake("no bias correction", "m and v start at zero, so early in a run they are too small; Adam divides them "
            "by 1 − beta1^t and 1 − beta2^t (t, the number of this step, counted from 1). Without that the first "
            "steps are far too short or too long.", apply=lambda *a: _adam_variant(*a, correct=False)),
    Mistake("step count not incremented first", "the bias correction used t as it came in the state, the number "
            "of steps taken before this one. This step is step t + 1: increment first (on the very first step, "
            "t = 0 would divide by 1 − beta^0 = 0).", apply=lambda *a: _adam_variant(*a, t_offset=0)),
    Mistake("eps inside the square root", "the step divides by sqrt(v̂ + eps); PyTorch divides by sqrt(v̂) + eps. "
            "With tiny gradients the two differ a lot: eps is added after the root.",
            apply=lambda *a: _adam_variant(*a, eps_inside=True)),
    Mistake("beta1 and beta2 swapped", "the first moment decays with beta2 and the second with beta1. m, the "
            "average gradient, uses beta1 (0.9); v, the average squared gradient, uses beta2 (0.999).",
            apply=lambda *a: _adam_variant(*a, betas_swapped=True)),
]

ADAM_STEP = StepCheck(
    id=f"{STEM}.adam_step",
    params=("param", "grad", "state", "lr", "beta1", "beta2", "eps"),
    reference=_adam_reference,
    groups=[
        Group("a first step and a step in the middle of a run", _adam_visible, visible=True),
        Group("random shapes, states and hyperparameters", _adam_random, weight=2.0),
        Group("a first step from t = 0, and tiny gradients with a larger eps", _adam_edges),
    ],
    mistakes=ADAM_MISTAKES,
    summary="torch.optim.Adam: m and v updated, t + 1, bias-corrected m̂ and v̂, param − lr · m̂ / (sqrt(v̂) + eps)",
)


# ---------------------------------------------------------------------- train_two_layer_net
#
# A Solver-style loop the student writes whole: affine -> ReLU -> affine -> softmax cross-entropy,
# mini-batches in the order epoch_batches fixes, SGD with momentum (PyTorch's convention) for every
# parameter, and the loss of every step. Judged like train_softmax_regression: held-out accuracy on the
# digits, and the process (parameters and loss history after a few steps on a tiny dataset) against a
# reference loop written with torch.optim.SGD, whose switches model the mistakes.

NET_KEYS = ("w1", "b1", "w2", "b2")
NET_MIN_ACCURACY = 0.90


def _init_net(rng, d: int, hidden: int, classes: int) -> dict:
    return {"w1": rng.standard_normal((d, hidden)) * np.sqrt(2.0 / d), "b1": np.zeros(hidden),
            "w2": rng.standard_normal((hidden, classes)) * np.sqrt(1.0 / hidden) * 0.1, "b2": np.zeros(classes)}


def _net_variant(params, x_train, y_train, lr, momentum, epochs, batch_size, seed, *, order="seeded", mean=True,
                 reset_velocity=False, relu_backward=True, nesterov=False, history="before"):
    """The reference loop (torch, float64) with the switches the mistakes below flip."""
    x = torch.as_tensor(np.asarray(x_train, dtype=np.float64))
    y = torch.as_tensor(np.asarray(y_train, dtype=np.int64))
    weights = [torch.tensor(np.asarray(params[key], dtype=np.float64), requires_grad=True) for key in NET_KEYS]
    w1, b1, w2, b2 = weights
    n = len(x)

    def scores(rows):
        hidden = rows @ w1 + b1
        active = torch.relu(hidden) if relu_backward else hidden + (torch.relu(hidden) - hidden).detach()
        return active @ w2 + b2

    shared = np.random.default_rng(seed)
    orders = {"seeded": lambda epoch: _epoch_order(n, seed, epoch), "one generator": lambda _: shared.permutation(n),
              "unshuffled": lambda _: np.arange(n)}
    optimizer, losses = None, []
    for epoch in range(int(epochs)):
        if optimizer is None or reset_velocity:
            optimizer = torch.optim.SGD(weights, lr=lr, momentum=momentum, nesterov=nesterov)
        visit = torch.as_tensor(orders[order](epoch))
        for first in range(0, n, batch_size):
            batch = visit[first:first + batch_size]
            loss = torch.nn.functional.cross_entropy(scores(x[batch]), y[batch])
            optimizer.zero_grad()
            (loss if mean else loss * len(batch)).backward()
            optimizer.step()
            if history == "after":
                with torch.no_grad():
                    loss = torch.nn.functional.cross_entropy(scores(x[batch]), y[batch])
            losses.append(float(loss.detach()))
    trained = {key: tensor.detach().numpy().copy() for key, tensor in zip(NET_KEYS, weights)}
    return trained, np.array(losses)


def _net_reference(params, x_train, y_train, lr, momentum, epochs, batch_size, seed):
    """Mini-batch SGD with momentum (torch.optim.SGD) on affine-ReLU-affine, float64: (params, losses)."""
    return _net_variant(params, x_train, y_train, lr, momentum, epochs, batch_size, seed)


def _net_digits_case(seed: int, epochs: int, batch_size: int, note: str) -> HeldOut:
    x, y = data.digits()
    x_train, y_train, x_test, y_test = data.split(x.reshape(len(x), -1), y, test_fraction=0.25, seed=seed)
    params = _init_net(np.random.default_rng(seed), x_train.shape[1], 32, NUM_CLASSES)
    return HeldOut((params, x_train, y_train, 0.05, 0.9, epochs, batch_size, seed), note=note, x_test=x_test,
                   y_test=y_test)


def _net_visible(rng) -> list[Case]:
    return [_net_digits_case(0, 10, 32, "the digits, 32 hidden units, lr 0.05, momentum 0.9, 10 epochs, batch 32")]


def _net_random(rng) -> list[Case]:
    return [_net_digits_case(int(rng.integers(1, 10_000)), int(rng.integers(8, 13)), int(rng.choice([16, 32])),
                             "a random split of the digits")]


def _net_tiny(rng, n: int, d: int, hidden: int, epochs: int, batch_size: int, seed: int, note: str) -> Case:
    x = np.round(rng.standard_normal((n, d)), 2)
    y = rng.integers(0, 3, size=n)
    params = _init_net(rng, d, hidden, 3)
    params["w2"] = params["w2"] * 10  # large enough that every layer's gradient matters in a few steps
    return Case((params, x, y, float(np.round(rng.uniform(0.2, 0.5), 2)), 0.9, epochs, batch_size, seed), note=note)


def _net_process_visible(rng) -> list[Case]:
    return [_net_tiny(rng, 10, 4, 5, 2, 4, 7, "10 random points, 4 features, 5 hidden units, 3 classes, 2 epochs "
                      "of batches of 4, 4 and 2: the parameters and the 6 losses after exactly these steps")]


def _net_process_random(rng) -> list[Case]:
    cases = []
    for _ in range(2):
        batch = int(rng.integers(3, 6))
        n = batch * int(rng.integers(2, 4)) + int(rng.integers(1, batch))
        cases.append(_net_tiny(rng, n, int(rng.integers(3, 7)), int(rng.integers(3, 8)), int(rng.integers(2, 4)),
                               batch, int(rng.integers(0, 10_000)), "a random tiny dataset and network"))
    return cases


def _net_model(**switches):
    return lambda *args: _net_variant(*args, **switches)


NET_ORDER = ("the arithmetic of each step is right, but the batches came in another order than the docstring fixes: "
             "epoch e visits the images in the order np.random.default_rng(seed + e).permutation(N) gives. ")
NET_PROCESS_MISTAKES = [
    Mistake("gradient summed over the batch, not averaged", "every step is B times too long (B, the batch size): "
            "the loss is the mean over the batch, so dL/dscores carries a factor 1 / B.", apply=_net_model(mean=False)),
    Mistake("velocity reset every epoch", "the velocities start again from zero at every epoch. They start at zero "
            "once, before the first step, and carry over from one epoch to the next.",
            apply=_net_model(reset_velocity=True)),
    Mistake("ReLU's backward step skipped", "the gradient reached the first layer without passing through ReLU's "
            "mask: where the hidden pre-activation is negative, ReLU's output does not depend on it, so its "
            "gradient is 0 there.", apply=_net_model(relu_backward=False)),
    Mistake("Nesterov momentum instead of classic", "the steps look ahead (grad + momentum · velocity). The loop "
            "takes PyTorch's classic step, by the new velocity itself, as sgd_momentum_step does.",
            apply=_net_model(nesterov=True)),
    Mistake("loss recorded after the update", "each loss in the history was computed with the parameters after "
            "the step. Record the loss of the forward pass that gave the gradient, before the update.",
            apply=_net_model(history="after")),
    Mistake("no momentum", "the steps are plain SGD: no velocity carries the earlier gradients. Every parameter "
            "has a velocity that sgd_momentum_step updates and returns; keep it for the next step.",
            apply=lambda *args: _net_variant(*args[:4], 0.0, *args[5:])),
    Mistake(ORDER_NOT_SEEDED, NET_ORDER + "Here one generator, seeded once, shuffled every epoch.",
            apply=_net_model(order="one generator")),
    Mistake(ORDER_NOT_SEEDED, NET_ORDER + "Here the images were not shuffled at all.",
            apply=_net_model(order="unshuffled")),
]
NET_NOT_A_RUN = Mistake("parameters that no run of this loop gives",
                        "the parameters or losses match neither the reference's trajectory nor a known slip (sum "
                        "instead of mean, velocity reset, ReLU's mask, batch order). Replay the first step by hand "
                        "on this small case: forward, mean loss, backward, one momentum step per parameter.")
NET_CHANCE = Mistake("held-out accuracy too low", "the network did not learn the digits. Look at the sign of the "
                     "update, at whether each new parameter and velocity is the one used by the next step, and at "
                     "the backward pass through ReLU and both affine layers.")


def _net_problem(got, params: dict, steps: int) -> tuple[str | None, Mistake | None]:
    if not isinstance(got, (tuple, list)) or len(got) != 2 or not isinstance(got[0], dict):
        return f"the result should be a pair (params dict, loss history), but it is {type_name(got)}", None
    trained, history = got
    for key in NET_KEYS:
        value = trained.get(key)
        if not isinstance(value, np.ndarray) or value.shape != params[key].shape:
            return (f"result[0][{key!r}] should be an array of shape {params[key].shape}, but it is "
                    f"{type_name(value)}"), None
        if not np.all(np.isfinite(value)):
            return f"result[0][{key!r}] contains NaN or infinite values: the training blew up", None
    history = np.asarray(history) if isinstance(history, (list, tuple)) else history
    if not isinstance(history, np.ndarray) or history.shape != (steps,):
        return (f"the loss history should be an array of {steps} numbers, one per step (epochs × batches per "
                f"epoch), but it is {type_name(history)}"), None
    return None, None


class NetTrainingCheck(Check):
    """Held-out accuracy for :class:`HeldOut` cases; the exact trajectory for the tiny process cases."""

    def compare(self, expected, got) -> str | None:
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return f"the result should be a pair (params, loss history), but it is {type_name(got)}"
        history = np.asarray(got[1]) if isinstance(got[1], (list, tuple)) else got[1]
        return (_compare_dicts(expected[0], got[0], self.tolerance, "the trained parameters")
                or compare(expected[1], history, "the loss history", self.tolerance))

    def diagnose_error(self, case: Case, error, evidence=()) -> Diagnosis | None:
        if error.kind == "timeout":
            return TOO_SLOW.diagnosis
        return super().diagnose_error(case, error, evidence)

    def assess(self, case: Case, got) -> Finding:
        params, x, _, _, _, epochs, batch_size, _ = case.args
        steps = epochs * -(-len(x) // batch_size)
        problem, why = _net_problem(got, params, steps)
        if problem is not None:
            return Finding(problem, NOTHING_RETURNED.diagnosis if got is None else (why and why.diagnosis))
        if not isinstance(case, HeldOut):
            problem = self.compare(self.expected(case), got)
            if problem is None:
                return Finding(None)
            problem = (f"after {epochs} epochs ({steps} steps on batches of {batch_size}) the parameters and losses "
                       f"should be those of the reference loop, but {problem.removeprefix('the ')}")
            return Finding(problem, self.diagnose(case, got) or NET_NOT_A_RUN.diagnosis)
        hidden = np.maximum(case.x_test @ got[0]["w1"] + got[0]["b1"], 0.0)
        accuracy = float(((hidden @ got[0]["w2"] + got[0]["b2"]).argmax(1) == case.y_test).mean())
        if accuracy >= NET_MIN_ACCURACY:
            return Finding(None, note=f"held-out accuracy {accuracy:.3f}")
        return Finding(f"on {len(case.y_test)} held-out images the accuracy is {accuracy:.3f}; it should be at least "
                       f"{NET_MIN_ACCURACY:.2f}", NET_CHANCE.diagnosis)


TRAIN_NET = NetTrainingCheck(
    id=f"{STEM}.train_two_layer_net",
    forbidden=FORBIDDEN + LEARNING_LIBRARIES + SOFTMAX_LIBRARIES,
    params=("params", "x_train", "y_train", "lr", "momentum", "epochs", "batch_size", "seed"),
    reference=_net_reference,
    groups=[
        Group("the digits, fixed split: held-out accuracy", _net_visible, weight=0.5, visible=True),
        Group("the process: a tiny network, 2 epochs, compared step for step", _net_process_visible, visible=True),
        Group("a random split of the digits: held-out accuracy", _net_random, weight=0.5),
        Group("the process: random tiny datasets and networks, compared step for step", _net_process_random,
              weight=2.0),
    ],
    mistakes=[*NET_PROCESS_MISTAKES, NET_NOT_A_RUN, NET_CHANCE, TOO_SLOW],
    timeout=TIME_BUDGET,
    summary=(f"at least {NET_MIN_ACCURACY:.0%} held-out accuracy on the digits, and on a tiny network the very "
             "parameters and losses that mini-batch SGD with PyTorch's momentum reaches"),
)

CHECKS = [SGD_STEP, EPOCH_BATCHES, TRAIN, SGD_MOMENTUM_STEP, RMSPROP_STEP, ADAM_STEP, TRAIN_NET, DIGITS_CNN, TRAIN_CNN]

"""Checks for chapter 9's two PyTorch exercises: the chapter's CNN as an ``nn.Module``, and its training loop.

Neither exercise is a function of arrays: ``DigitsCNN`` is a class, and ``train_cnn`` trains a model in
place. Each check names a *driver* (:attr:`~autograder.core.checks.base.Check.driver`), a self-contained
function whose source runs where the student's code runs (the sandbox at grading time, the kernel for
``check()``): it builds or trains the student's object from the case's plain inputs and returns plain
values, which are judged here against the library's :class:`autograder.core.reference.DigitsCNN` and a
reference loop on ``torch.optim.Adam``. Both may import torch (:data:`~.base.TORCH_EXERCISE_FORBIDDEN`), so
the grader runs them in a sandbox of their own.

- ``DigitsCNN(filters)``: :func:`drive_module` reports the parameters' names and shapes (so their count),
  the output's shape, and, with the case's weights loaded, the class scores of a batch. Diagnoses: ReLU left
  out, average instead of max pooling, NHWC flatten, softmax inside ``forward`` (same shapes, other scores),
  no padding and no pooling (other shapes), layers under other names.
- ``train_cnn(model, x_train, y_train, epochs, batch_size, lr, seed)``: :func:`drive_training` builds the
  chapter's CNN with the case's initial weights, hands it over in evaluation mode and reports the trained
  parameters, the losses, and the mode of every forward pass that recorded gradients. Process cases: a tiny
  set whose one batch holds every image, so each epoch is one Adam step whatever the shuffle; the parameters
  and losses must be the reference's. Held-out cases: the digits, 5 epochs, judged by the mean loss of the last
  epoch and the accuracy of the returned parameters on images that never reach the submission. Diagnoses: gradients never zeroed (they
  accumulate), zeroed between backward and step (no update), softmax before the cross-entropy, plain SGD
  instead of Adam, training in evaluation mode, the model not left in evaluation mode.

Each known mistake passes or fails a group whatever the seed, so scores in the bank are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import data
from .. import reference as ref
from ..reference import functional, torch
from .base import NOTHING_RETURNED, TORCH_EXERCISE_FORBIDDEN, Case, Check, Diagnosis, Finding, Group, Mistake, compare

STEM = "09-training"
PARAM_SHAPES = ("conv.weight", "conv.bias", "fc.weight", "fc.bias")
CLASSES = 10
DEFAULT_FILTERS = 32

# ---------------------------------------------------------------------- the drivers (their source runs in the sandbox)


def drive_module(cls, filters, weights, images):
    """``cls(filters)`` (``cls()`` when filters is None) described in plain values: its parameters' names and
    shapes, their count, the shape of its output on ``images`` and, when its parameters are named and shaped
    as ``weights``, its output with those weights loaded (else None)."""
    import numpy as np
    import torch

    with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
        torch.manual_seed(0)
        model = cls() if filters is None else cls(filters)
    shapes = {name: np.array(tuple(value.shape), dtype=np.int64) for name, value in model.named_parameters()}
    count = int(sum(value.numel() for value in model.parameters()))
    x = torch.from_numpy(images)  # shares the array's memory: a forward pass that writes into x shows
    with torch.no_grad():
        output = np.array(tuple(model(x).shape), dtype=np.int64)
        scores = None
        if set(shapes) == set(weights) and all(tuple(shapes[key]) == weights[key].shape for key in weights):
            for name, value in model.named_parameters():
                value.copy_(torch.from_numpy(weights[name]))
            scores = model(x).detach().cpu().numpy()
    return {"parameters": count, "shapes": shapes, "output_shape": output, "scores": scores}


def drive_training(train, weights, x_train, y_train, epochs, batch_size, lr, seed):
    """``train`` run on the chapter's CNN, built here with ``weights`` and handed over in evaluation mode: the
    trained parameters (float64), the losses it returned, for every forward pass that recorded gradients
    whether the model was in training mode, and whether it was left in evaluation mode."""
    import numpy as np
    import torch
    from torch import nn

    filters = weights["conv.weight"].shape[0]

    class Chapter9CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, filters, 3, padding=1)
            self.fc = nn.Linear(filters * 16, 10)

        def forward(self, x):
            return self.fc(torch.flatten(torch.max_pool2d(torch.relu(self.conv(x)), 2), 1))

    tf32 = torch.backends.cudnn.allow_tf32  # on a GPU, convolutions in TF32 keep 10 bits: not float32's steps
    torch.backends.cudnn.allow_tf32 = False
    try:
        with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
            torch.manual_seed(seed)
            model = Chapter9CNN()
            with torch.no_grad():
                for name, value in model.named_parameters():
                    value.copy_(torch.from_numpy(weights[name]))
            modes = []
            model.register_forward_pre_hook(lambda module, inputs: modes.append((module.training,
                                                                                  torch.is_grad_enabled())))
            model.eval()
            losses = train(model, x_train, y_train, epochs, batch_size, lr, seed)
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    return {"params": {name: value.detach().cpu().double().numpy() for name, value in model.named_parameters()},
            "losses": None if losses is None else np.array([float(loss) for loss in losses], dtype=np.float64),
            "training_mode": np.array([training for training, recording in modes if recording], dtype=bool),
            "eval_after": not model.training}


# ---------------------------------------------------------------------- cases


def init_weights(rng: np.random.Generator, filters: int) -> dict[str, np.ndarray]:
    """Weights for the chapter's CNN as PyTorch draws them (uniform in ±1/sqrt(fan in)), float32."""
    def uniform(shape, fan_in):
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(np.float32)
    flat = 16 * filters
    return {"conv.weight": uniform((filters, 1, 3, 3), 9), "conv.bias": uniform((filters,), 9),
            "fc.weight": uniform((CLASSES, flat), flat), "fc.bias": uniform((CLASSES,), flat)}


def standardized_digits(seed: int, test_fraction: float = 0.25) -> tuple[np.ndarray, ...]:
    """The digits split from ``seed``, standardized with the training images' mean and std, float32 (N, 1, 8, 8)."""
    x, y = data.digits()
    x_train, y_train, x_test, y_test = data.split(x, y, test_fraction=test_fraction, seed=seed)
    mean, std = x_train.mean(), x_train.std()
    return ((x_train - mean) / std).astype(np.float32), y_train, ((x_test - mean) / std).astype(np.float32), y_test


def _module_visible(rng) -> list[Case]:
    images = standardized_digits(0)[0][:5]
    return [Case((8, init_weights(rng, 8), images), note="DigitsCNN(8), these weights loaded, on 5 digits"),
            Case((None, init_weights(rng, DEFAULT_FILTERS), images[:2]),
                 note=f"DigitsCNN() with its default {DEFAULT_FILTERS} filters, on 2 digits")]


def _module_case(rng, filters: int, n: int, note: str) -> Case:
    images = rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
    return Case((filters, init_weights(rng, filters), images), note=note)


def _module_random(rng) -> list[Case]:
    return [_module_case(rng, int(rng.integers(2, 13)), int(rng.integers(1, 8)), "random filters, weights and images")
            for _ in range(3)]


def _module_edges(rng) -> list[Case]:
    return [_module_case(rng, 1, 1, "one filter, one image"),
            _module_case(rng, CLASSES, int(rng.integers(2, 5)), "10 filters: conv.bias and fc.bias have one shape")]


# ---------------------------------------------------------------------- DigitsCNN: the reference and its mistakes


def _architecture(filters, *, padding: int = 1, pool: bool = True) -> dict[str, tuple]:
    side = 8 + 2 * padding - 2
    side = side // 2 if pool else side
    return {"conv.weight": (filters, 1, 3, 3), "conv.bias": (filters,), "fc.weight": (CLASSES, filters * side * side),
            "fc.bias": (CLASSES,)}


def _described(shapes: dict, n: int, scores) -> dict:
    return {"parameters": int(sum(np.prod(shape) for shape in shapes.values())),
            "shapes": {name: np.array(shape, dtype=np.int64) for name, shape in shapes.items()},
            "output_shape": np.array((n, CLASSES), dtype=np.int64), "scores": scores}


def _library_cnn(filters: int):
    """The library's DigitsCNN(filters), made without touching torch's random state (the student's, in Jupyter)."""
    with torch.random.fork_rng(devices=[]):
        return ref.DigitsCNN(filters)


def _module_reference(filters, weights, images):
    """What :func:`drive_module` reports for the library's DigitsCNN (its scores computed in float64)."""
    model = _library_cnn(DEFAULT_FILTERS if filters is None else filters)
    shapes = {name: tuple(value.shape) for name, value in model.named_parameters()}
    model.load_state_dict({name: torch.as_tensor(value) for name, value in weights.items()}, strict=False)
    with torch.no_grad():
        scores = model.double()(torch.as_tensor(images, dtype=torch.float64)).numpy()
    return _described(shapes, len(images), scores)


def _module_variant(filters, weights, images, *, relu=True, pool="max", order="NCHW", softmax=False, padding=1):
    """The chapter's CNN with the switches the mistakes flip, in float64."""
    filters = DEFAULT_FILTERS if filters is None else filters
    shapes = _architecture(filters, padding=padding, pool=pool is not None)
    if any(shapes[name] != weights[name].shape for name in shapes):
        return _described(shapes, len(images), None)  # the case's weights do not fit: no scores
    w = {name: torch.as_tensor(value, dtype=torch.float64) for name, value in weights.items()}
    h = functional.conv2d(torch.as_tensor(images, dtype=torch.float64), w["conv.weight"], w["conv.bias"],
                          padding=padding)
    h = torch.relu(h) if relu else h
    h = {"max": functional.max_pool2d, "avg": functional.avg_pool2d}[pool](h, 2)
    h = h.permute(0, 2, 3, 1) if order == "NHWC" else h
    scores = functional.linear(h.reshape(len(h), -1), w["fc.weight"], w["fc.bias"])
    return _described(shapes, len(images), (scores.softmax(1) if softmax else scores).numpy())


def _module_model(**switches):
    return lambda *args: _module_variant(*args, **switches)


MODULE_MISTAKES = [
    Mistake("ReLU left out", "the shapes and the number of parameters are right, but the scores are those of a "
            "network without its non-linearity: two linear layers in a row are one linear layer. Look at what "
            "happens between the convolution and the pooling.", apply=_module_model(relu=False)),
    Mistake("average pooling instead of max", "the pooling averages each 2×2 window; the chapter's network keeps "
            "the largest value of each window.", apply=_module_model(pool="avg")),
    Mistake("flattened in NHWC order", "the features were flattened channels last, so the linear layer's weights "
            "meet other features than the library's network gives them. PyTorch's volumes are NCHW: flatten "
            "(N, C, H, W) as it is, keeping the batch axis.", apply=_module_model(order="NHWC")),
    Mistake("softmax inside forward", "forward returns probabilities. It returns raw scores (logits): "
            "cross_entropy applies log-softmax itself, and a softmax before it squashes the gradients.",
            apply=_module_model(softmax=True)),
    Mistake("no padding", "without padding the 3×3 convolution gives 6×6 maps, pooled to 3×3, so the linear "
            "layer has 9 inputs per filter instead of 16. The docstring asks for padding 1.",
            apply=_module_model(padding=0)),
    Mistake("no pooling", "the linear layer takes the 8×8 maps whole (64 inputs per filter); the network pools "
            "each map to 4×4 first (16 per filter).", apply=_module_model(pool=None)),
]
NAMES = Mistake("layers under other names", "the parameters have the right shapes but other names. The docstring "
                "fixes them: the convolution is the attribute `conv` and the linear layer `fc`, so the "
                "parameters are conv.weight, conv.bias, fc.weight and fc.bias; keep the pooling and ReLU free of "
                "parameters.")


def _names_hint(case: Case, got) -> Diagnosis | None:
    want = _architecture(DEFAULT_FILTERS if case.args[0] is None else case.args[0])
    shapes = got.get("shapes") if isinstance(got, dict) else None
    if (isinstance(shapes, dict) and set(shapes) != set(want)
            and sorted(tuple(np.asarray(s).tolist()) for s in shapes.values()) == sorted(want.values())):
        return NAMES.diagnosis
    return None


def _compare_module(expected: dict, got, tolerance) -> str | None:
    if not isinstance(got, dict) or set(got) != set(expected) or not isinstance(got["shapes"], dict):
        return "the module could not be described (the grader's report of it is not what it sends)"
    want, have = expected["shapes"], got["shapes"]
    if got["parameters"] != expected["parameters"]:
        listed = ", ".join(f"{name} {tuple(shape.tolist())}" for name, shape in have.items()) or "none"
        return (f"the module should have {expected['parameters']:,} parameters, but it has {got['parameters']:,} "
                f"(its parameters: {listed})")
    if set(have) != set(want):
        return f"the parameters should be named {sorted(want)}, but they are {sorted(have)}"
    for name, shape in want.items():
        if tuple(have[name].tolist()) != tuple(shape.tolist()):
            return f"{name} should have shape {tuple(shape.tolist())}, but it has shape {tuple(have[name].tolist())}"
    output = tuple(expected["output_shape"].tolist())
    if tuple(got["output_shape"].tolist()) != output:
        return (f"the output should have shape {output} (N images × 10 classes), but it has shape "
                f"{tuple(got['output_shape'].tolist())}")
    if expected["scores"] is None or got["scores"] is None:
        return None if expected["scores"] is None and got["scores"] is None else "the scores could not be computed"
    return compare(expected["scores"], got["scores"], "the scores with the case's weights loaded", tolerance)


class ModuleCheck(Check):
    """Judges what :func:`drive_module` reports: parameters, output shape, then the scores."""

    def compare(self, expected, got) -> str | None:
        return _compare_module(expected, got, self.tolerance)


DIGITS_CNN = ModuleCheck(
    id=f"{STEM}.DigitsCNN",
    params=("filters", "weights", "images"),
    reference=_module_reference,
    groups=[
        Group("DigitsCNN(8) on 5 digits, and DigitsCNN()", _module_visible, visible=True),
        Group("random numbers of filters, weights and images", _module_random, weight=2.0),
        Group("one filter and one image; 10 filters", _module_edges),
    ],
    mistakes=[*MODULE_MISTAKES, NAMES],
    hints=[_names_hint],
    forbidden=TORCH_EXERCISE_FORBIDDEN,
    driver=drive_module,
    timeout=60,  # the calls themselves take well under a second; torch's first calls take longer
    summary="conv (padding 1), ReLU, max pool, NCHW flatten and a linear layer, named conv and fc, returning logits",
)


# ---------------------------------------------------------------------- train_cnn

# After 5 epochs the loop of the docstring reached 0.936 to 0.984 held-out accuracy, and a mean loss of 0.08 to
# 0.14 in its last epoch, on the 28 splits we tried. The known slips may still classify well (softmax before the
# loss reached 0.98, gradients never zeroed 0.87), but their last epochs' losses stay high: never zeroed, 1.3 to
# 5.0; plain SGD, 1.6 to 2.1; softmax before the loss, 1.5 to 1.6, as it must (see SOFTMAX_FLOOR).
MIN_ACCURACY = 0.85
MAX_LAST_LOSS = 0.5
SOFTMAX_FLOOR = float(np.log(1 + (CLASSES - 1) / np.e))  # 1.46: cross-entropy of scores in [0, 1] is never lower
TRAIN_FILTERS, TRAIN_EPOCHS, TRAIN_BATCH, TRAIN_LR = 8, 5, 32, 5e-3


@dataclass(frozen=True)
class HeldOut(Case):
    """A training case whose ``x_test``/``y_test`` stay in the grader and never reach the submission."""

    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


def _digits_case(seed: int, note: str) -> HeldOut:
    x_train, y_train, x_test, y_test = standardized_digits(seed)
    weights = init_weights(np.random.default_rng(seed), TRAIN_FILTERS)
    return HeldOut((weights, x_train, y_train, TRAIN_EPOCHS, TRAIN_BATCH, TRAIN_LR, seed), note=note,
                   x_test=x_test, y_test=y_test)


def _process_case(rng, n: int, filters: int, epochs: int, note: str) -> Case:
    images = rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, CLASSES, size=n)
    batch = n + int(rng.integers(0, 4))  # one batch holds every image: each epoch is one step, whatever the order
    lr = float(np.round(rng.uniform(0.005, 0.03), 3))
    return Case((init_weights(rng, filters), images, labels, epochs, batch, lr, int(rng.integers(0, 10_000))),
                note=note)


def _process_visible(rng) -> list[Case]:
    return [_process_case(rng, 6, 3, 3, "6 random images, 3 filters, batch_size ≥ 6: 3 epochs are 3 Adam steps on "
                                        "the whole set; the parameters and losses after exactly these steps")]


def _process_random(rng) -> list[Case]:
    return [_process_case(rng, int(rng.integers(3, 9)), int(rng.integers(2, 6)), int(rng.integers(2, 5)),
                          "a random tiny set in one batch, a few epochs") for _ in range(2)]


def _held_out_visible(rng) -> list[Case]:
    return [_digits_case(0, f"the digits, {TRAIN_FILTERS} filters, {TRAIN_EPOCHS} epochs of batches of "
                            f"{TRAIN_BATCH}, lr {TRAIN_LR}: accuracy on the held-out quarter")]


def _held_out_random(rng) -> list[Case]:
    return [_digits_case(int(rng.integers(1, 10_000)), "a random split of the digits: held-out accuracy")]


def _training_variant(weights, x_train, y_train, epochs, batch_size, lr, seed, *, zero_grad="before",
                      softmax=False, optimizer="adam"):
    """The reference loop (float32 on the CPU, like the student's run) with the switches the mistakes flip."""
    model = _library_cnn(weights["conv.weight"].shape[0])
    model.load_state_dict({name: torch.as_tensor(value) for name, value in weights.items()}, strict=False)
    optimizers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    step = optimizers[optimizer](model.parameters(), lr=lr)
    x, y = torch.as_tensor(x_train), torch.as_tensor(np.asarray(y_train, dtype=np.int64))
    order = torch.Generator().manual_seed(int(seed))
    losses = []
    for _ in range(int(epochs)):
        visit = torch.randperm(len(x), generator=order)
        for first in range(0, len(x), batch_size):
            batch = visit[first:first + batch_size]
            scores = model(x[batch])
            loss = functional.cross_entropy(scores.softmax(1) if softmax else scores, y[batch])
            if zero_grad == "before":
                step.zero_grad()
            loss.backward()
            if zero_grad == "after backward":
                step.zero_grad()
            step.step()
            losses.append(float(loss.detach()))
    return {"params": {name: value.detach().double().numpy() for name, value in model.named_parameters()},
            "losses": np.array(losses), "training_mode": np.ones(len(losses), dtype=bool), "eval_after": True}


def _training_reference(weights, x_train, y_train, epochs, batch_size, lr, seed):
    """Adam on the mean cross-entropy of each batch, the gradients zeroed before each backward pass."""
    return _training_variant(weights, x_train, y_train, epochs, batch_size, lr, seed)


def _training_model(**switches):
    return lambda *args: _training_variant(*args, **switches)


TRAINING_MISTAKES = [
    Mistake("gradients never zeroed", "backward adds each new gradient to what .grad already holds, so from the "
            "second step on every step used the sum of all the gradients so far. Clear the gradients once per "
            "step, before the backward pass.", apply=_training_model(zero_grad="never")),
    Mistake("gradients zeroed between backward and step", "the gradients were cleared after the backward pass and "
            "before the update, so every step moved nothing. The order is: clear, forward and loss, backward, "
            "step.", apply=_training_model(zero_grad="after backward")),
    Mistake("softmax before cross_entropy", "the loss was given probabilities. cross_entropy takes raw scores and "
            "applies log-softmax itself; a softmax before it gives another loss, with far smaller gradients.",
            apply=_training_model(softmax=True)),
    Mistake("plain SGD instead of Adam", "the steps are those of torch.optim.SGD; the docstring asks for "
            "torch.optim.Adam with the given learning rate and its other settings left at their defaults.",
            apply=_training_model(optimizer="sgd")),
]
EVAL_MODE = Mistake("trained in evaluation mode", "the model came in evaluation mode and was trained that way. "
                    "Layers such as dropout and batch normalisation behave differently in the two modes, so a "
                    "training loop switches the model to training mode (model.train()) before its steps.")
NOT_EVAL_AFTER = Mistake("model not left in evaluation mode", "the function returned with the model in training "
                         "mode; the docstring asks for model.eval() at the end, so that whatever uses the trained "
                         "model next gets its evaluation behaviour.")
NOT_A_RUN = Mistake("parameters that no run of this loop gives", "the parameters or losses match neither the "
                    "reference nor a known slip. Replay one step on this small case: zero the gradients, forward, "
                    "mean cross-entropy of the raw scores, backward, one Adam step.")
SOFTMAX_FIRST = Mistake(TRAINING_MISTAKES[2].name, "every loss is at least 1.46, the least cross_entropy can give "
                        "when the scores it is handed lie between 0 and 1: the loss was given probabilities. "
                        "cross_entropy takes raw scores and applies log-softmax itself.")
LOSS_STAYS_HIGH = Mistake("loss stays high", "the loss of the last epoch is still far from what these few epochs "
                          "reach. Look at whether each step clears the gradients before its backward pass, at the "
                          "optimizer (Adam, with the given learning rate) and at what the loss is given.")
TOO_LOW = Mistake("held-out accuracy too low", "the network did not learn the digits in these few epochs. Look at "
                  "whether each step zeroes the gradients, at what the loss is given, and at the optimizer.")
TOO_SLOW = Mistake("too slow", "training must finish within the check's time limit: look for work repeated in "
                   "every step (converting the whole set to tensors, moving the model) that belongs before the loop.")


REPORT = {"params", "losses", "training_mode", "eval_after"}  # what drive_training reports


def _training_form(case: Case, got) -> tuple[str | None, Mistake | None]:
    _, x_train, _, epochs, batch_size = case.args[:5]
    steps = int(epochs) * -(-len(x_train) // int(batch_size))
    if not isinstance(got, dict) or set(got) != REPORT or not isinstance(got["params"], dict):
        return "the trained model could not be described (the grader's report of it is not what it sends)", None
    if got["losses"] is None:
        return "the function returned None; it should return the loss of every step", NOTHING_RETURNED
    if got["losses"].shape != (steps,):
        return (f"the function should return {steps} losses, one per step ({epochs} epochs of "
                f"{-(-len(x_train) // int(batch_size))} batches), but it returned {got['losses'].size}"), None
    for name, value in got["params"].items():
        if not np.all(np.isfinite(value)):
            return f"the trained {name} holds NaN or infinite values: the training blew up", None
    if got["training_mode"].size == 0:
        return "no forward pass recorded gradients: the model was never trained", None
    if not got["training_mode"].all():
        return (f"{int((~got['training_mode']).sum())} of the {got['training_mode'].size} forward passes that "
                "recorded gradients ran in evaluation mode"), EVAL_MODE
    if not got["eval_after"]:
        return "the model was still in training mode when the function returned", NOT_EVAL_AFTER
    return None, None


def _accuracy(params: dict, x_test: np.ndarray, y_test: np.ndarray) -> float:
    model = _library_cnn(params["conv.weight"].shape[0]).double()
    model.load_state_dict({name: torch.as_tensor(value) for name, value in params.items()}, strict=False)
    with torch.no_grad():
        scores = model(torch.as_tensor(x_test, dtype=torch.float64))
    return float((scores.argmax(1).numpy() == y_test).mean())


def _held_out(case: HeldOut, got) -> Finding:
    """A run on the digits: its last epoch's mean loss, then its accuracy on the held-out images."""
    losses = got["losses"]
    last = float(losses[-(-len(case.args[1]) // case.args[4]):].mean())
    if last >= MAX_LAST_LOSS:
        why = SOFTMAX_FIRST if losses.min() >= SOFTMAX_FLOOR - 1e-3 else LOSS_STAYS_HIGH
        return Finding(f"the mean loss of the last epoch is {last:.3f}; after {case.args[3]} epochs it should be below "
                       f"{MAX_LAST_LOSS}", why.diagnosis)
    accuracy = _accuracy(got["params"], case.x_test, case.y_test)
    if accuracy >= MIN_ACCURACY:
        return Finding(None, note=f"held-out accuracy {accuracy:.3f}, last epoch's mean loss {last:.3f}")
    return Finding(f"on {len(case.y_test)} held-out images the accuracy is {accuracy:.3f}; it should be at least "
                   f"{MIN_ACCURACY:.2f}", TOO_LOW.diagnosis)


class TrainingCheck(Check):
    """The process cases compared with the reference step for step; held-out cases judged by their accuracy."""

    def expected(self, case: Case):
        """The reference's run on a process case; none on a held-out case, which is judged by what the run does."""
        return None if isinstance(case, HeldOut) else super().expected(case)

    def compare(self, expected, got) -> str | None:
        for name, want in expected["params"].items():
            problem = compare(want, got["params"].get(name), f"the trained {name}", self.tolerance)
            if problem:
                return problem
        return compare(expected["losses"], got["losses"], "the losses", self.tolerance)

    def diagnose_error(self, case: Case, error, evidence=()) -> Diagnosis | None:
        if error.kind == "timeout":
            return TOO_SLOW.diagnosis
        return super().diagnose_error(case, error, evidence)

    def assess(self, case: Case, got) -> Finding:
        problem, why = _training_form(case, got)
        if problem is not None:
            return Finding(problem, why and why.diagnosis)
        if isinstance(case, HeldOut):
            return _held_out(case, got)
        problem = self.compare(self.expected(case), got)
        if problem is None:
            return Finding(None)
        steps = got["losses"].size
        return Finding(f"after {steps} steps the parameters and losses should be the reference's, but "
                       f"{problem.removeprefix('the ')}", self.diagnose(case, got) or NOT_A_RUN.diagnosis)


TRAIN_CNN = TrainingCheck(
    id=f"{STEM}.train_cnn",
    params=("model", "x_train", "y_train", "epochs", "batch_size", "lr", "seed"),
    reference=_training_reference,
    groups=[
        Group("the process: 3 Adam steps on a tiny set, compared step for step", _process_visible, visible=True),
        Group("the digits, fixed split: held-out accuracy", _held_out_visible, visible=True),
        Group("the process: random tiny sets and networks, compared step for step", _process_random, weight=2.0),
        Group("a random split of the digits: held-out accuracy", _held_out_random),
    ],
    mistakes=[*TRAINING_MISTAKES, EVAL_MODE, NOT_EVAL_AFTER, NOT_A_RUN, LOSS_STAYS_HIGH, TOO_LOW, TOO_SLOW],
    forbidden=TORCH_EXERCISE_FORBIDDEN,
    driver=drive_training,
    timeout=60,  # two runs of 5 epochs on the digits: about a second each on one core, a few on a busy one
    summary=(f"Adam on the mean cross-entropy, gradients zeroed every step, training mode then eval mode: the "
             f"reference's steps on a tiny set; on the digits a last epoch's loss below {MAX_LAST_LOSS} and at "
             f"least {MIN_ACCURACY:.0%} held-out accuracy"),
)

CHECKS = [DIGITS_CNN, TRAIN_CNN]

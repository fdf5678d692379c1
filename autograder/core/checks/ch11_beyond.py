"""Checks for chapter 11, Beyond.

Nine exercises on the topics the source left out:

- ``conv_params_and_flops``: the parameter count and the floating-point operations of one
  convolutional layer (bias included; a multiply-add counts as 2 FLOPs);
- ``l2_penalty``: the L2 regularisation term ½·λ·Σw² over the *weight* arrays of a parameter
  dict (names ending in ``_w``; biases excluded);
- ``batchnorm_forward``: batch normalisation of an NCHW batch in training mode (per-channel
  mean and biased variance over N, H and W), graded against ``torch.nn.functional.batch_norm``.
- ``batchnorm_forward_with_running``: training and test mode with running statistics, PyTorch's
  conventions (momentum weighs the new batch; the running variance takes the unbiased variance),
  returning new running arrays; graded against ``F.batch_norm`` run on copies of them;
- ``batchnorm_backward``: (dx, dgamma, dbeta), graded against autograd through ``F.batch_norm``;
  its mistakes are the same autograd with the mean and/or the variance detached, and so on;
- ``dropout_forward`` / ``dropout_backward``: inverted dropout with a boolean mask drawn by a fixed
  recipe (``default_rng(seed).random(x.shape) >= p``); a statistical group judges a large batch by
  what any dropout must do, so a correct dropout drawn another way earns it and is told the recipe;
- ``crop_and_flip``: the padded random crop and horizontal flip of data augmentation, with the offsets
  and flips drawn by the caller; its mistakes flip the height, flip before cropping, read the offsets
  as (dx, dy) and pad with edge values (cases keep dy != dx and a flipped image shifted sideways);
- ``choose_fix``: reasoning, judged by effect: the grader retrains the failing run of the case
  (:mod:`autograder.core.reference.debugging`) with the chosen fix and measures its last loss.

Groups are built so that each mistake in the library passes or fails a group whatever the
seed: the "basic" conv group always has stride 1 and padding 0, the "stride" group stride ≥ 2
and padding 0, the "padding" group stride 1 and padding ≥ 1; every input has depth C ≥ 2 and
H ≠ W. Random parameter dicts always hold biases that are not zero, except in the "weights
only" group. Batch-norm groups: "one image" always has N = 1 (where per-image statistics are
right), "1×1 maps" always has H = W = 1 and N ≥ 2 (where statistics over N alone are right),
and W never equals C (so γ broadcast along the last axis raises). Running statistics: momentum is
never 0.5 (where the flipped convention agrees), the test-mode groups have running statistics far
from the batch's, and every training case has M = N·H·W ≥ 2. Dropout: hidden p is never 0.5 (where
"p as the keep probability" and "mask inverted" agree) except in the visible group; the p = 0 and
test-mode groups pass every mistake that only concerns the scale or the draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import reference as ref
from ..reference import functional as F
from ..reference import torch
from ..reference.fixes import FIXES
from .base import (
    FORBIDDEN,
    IMAGE_LIBRARIES,
    NOTHING_RETURNED,
    Case,
    Check,
    Diagnosis,
    Finding,
    Group,
    Mistake,
    compare,
    type_name,
)
from .cases import away_from_zero, ramp

STEM = "11-beyond"


# ---------------------------------------------------------------------- conv_params_and_flops


def _conv_cost(in_shape, filters, kernel, stride=1, padding=0, *, bias=True, depth=True, madd=2,
               use_stride=True, use_padding=True, square=False, true_division=False, plus_one=1):
    """The reference (all flags default) and its mistakes (one flag changed)."""
    c, h, w = (int(v) for v in in_shape)
    s = int(stride) if use_stride else 1
    p = int(padding) if use_padding else 0
    k = int(kernel)
    if true_division:  # (H + 2P - k) / S + 1, never floored: a float, a fraction when S does not divide evenly
        h_out, w_out = ((size + 2 * p - k) / s + 1 for size in (h, h if square else w))
    else:
        h_out, w_out = (ref.conv_output_size(size, k, s, p) - 1 + plus_one for size in (h, h if square else w))
    taps = (c if depth else 1) * k ** 2
    params = int(filters) * (taps + (1 if bias else 0))
    flops = madd * taps * int(filters) * h_out * w_out
    return (int(params), float(flops) if true_division else int(flops))


def _conv_reference(in_shape, filters, kernel, stride=1, padding=0):
    """Count with PyTorch: the parameters of an nn.Conv2d and the size of its output."""
    c, h, w = (int(v) for v in in_shape)
    layer = torch.nn.Conv2d(c, int(filters), int(kernel), stride=int(stride), padding=int(padding))
    params = sum(t.numel() for t in layer.parameters())
    with torch.no_grad():
        out = layer(torch.zeros(1, c, h, w))
    flops = 2 * c * int(kernel) ** 2 * out.numel()
    return (int(params), int(flops))


def _in_shape(rng):
    c = int(rng.integers(2, 9))
    h = int(rng.integers(8, 33))
    w = int(rng.integers(8, 33))
    if w == h:
        w += 1
    return (c, h, w)


def _visible_conv(rng) -> list[Case]:
    return [
        Case(((3, 32, 32), 1, 5), note="the source's layer: one 5×5×3 filter on 32×32×3 → 76 params, 117,600 FLOPs"),
        Case(((3, 32, 32), 2, 5), note="two such filters"),
        Case(((8, 14, 14), 16, 5), note="ShapesCNN's conv2 on pool1's 14×14×8 volume"),
        Case(((3, 32, 32), 8, 5, 1, 2), note="stride and padding given by position: 8 5×5 filters, 'same' padding 2"),
    ]


def _conv_again(cases, rng) -> list[Case]:
    """The visible cases at grading time, other sizes of the same kinds: one filter on a square RGB image and
    two such filters, a layer on a square volume of maps, and 'same' padding given by position (stride 1,
    so the output keeps the input's size)."""
    side, kernel = int(rng.integers(16, 41)), int(rng.choice([3, 5, 7]))
    channels, maps, filters = int(rng.integers(4, 17)), int(rng.integers(8, 21)), int(rng.choice([8, 16, 32]))
    same, padded = int(rng.choice([3, 5, 7])), int(rng.choice([4, 8, 16]))
    return [
        Case(((3, side, side), 1, kernel), note=f"one {kernel}×{kernel}×3 filter on {side}×{side}×3"),
        Case(((3, side, side), 2, kernel), note="two such filters"),
        Case(((channels, maps, maps), filters, 5), note=f"a conv layer on a {maps}×{maps}×{channels} volume of maps"),
        Case(((3, side, side), padded, same, 1, same // 2),
             note=f"stride and padding given by position: {padded} {same}×{same} filters, 'same' padding {same // 2}"),
    ]


def _basic_conv(rng) -> list[Case]:
    return [Case((_in_shape(rng), int(rng.integers(2, 33)), int(rng.choice([1, 3, 5]))),
                 kwargs={"stride": 1, "padding": 0}) for _ in range(3)]


def _stride_conv(rng) -> list[Case]:
    return [Case((_in_shape(rng), int(rng.integers(2, 33)), int(rng.choice([2, 3, 4]))),
                 kwargs={"stride": int(rng.integers(2, 4)), "padding": 0}, note="stride ≥ 2") for _ in range(3)]


def _padding_conv(rng) -> list[Case]:
    return [Case((_in_shape(rng), int(rng.integers(2, 33)), 3 + 2 * int(rng.integers(0, 2))),
                 kwargs={"stride": 1, "padding": int(rng.integers(1, 3))}, note="zero padding ≥ 1") for _ in range(3)]


CONV_COST = Check(
    id=f"{STEM}.conv_params_and_flops",
    params=("in_shape", "filters", "kernel", "stride", "padding"),
    reference=_conv_reference,
    groups=[
        Group("the source's 5×5×3 filters on 32×32×3, ShapesCNN's conv2, and 'same' padding", _visible_conv,
              visible=True, redraw=_conv_again),
        Group("random layers, stride 1, no padding (C ≥ 2, H ≠ W)", _basic_conv),
        Group("random layers with stride 2 or 3", _stride_conv),
        Group("random layers with zero padding 1 or 2", _padding_conv),
    ],
    mistakes=[
        Mistake("bias forgotten", "your parameter count is short by exactly `filters`: every filter has one "
                "bias as well as its C·k·k weights. params = filters · (C·k·k + 1).",
                lambda *a, **k: _conv_cost(*a, **k, bias=False)),
        Mistake("depth C forgotten", "you counted k·k weights per filter, as if the filter were flat. A "
                "filter is as deep as its input: it has C·k·k weights (75 for a 5×5 filter on an RGB image), "
                "and each output number costs C·k·k multiply-adds.", lambda *a, **k: _conv_cost(*a, **k, depth=False)),
        Mistake("multiply-adds counted once", "your FLOPs are exactly half the expected value. This course "
                "counts a multiply-add as 2 FLOPs (one multiplication and one addition): "
                "flops = 2 · C·k·k · filters · H'·W'.", lambda *a, **k: _conv_cost(*a, **k, madd=1)),
        Mistake("output size wrong: stride ignored", "your output size ignores the stride. With stride S the "
                "filter visits every S-th position: H' = ⌊(H + 2P − k) / S⌋ + 1.",
                lambda *a, **k: _conv_cost(*a, **k, use_stride=False)),
        Mistake("output size wrong: padding ignored", "your output size ignores the zero padding. Padding P adds "
                "P rows on each side: H' = ⌊(H + 2P − k) / S⌋ + 1.",
                lambda *a, **k: _conv_cost(*a, **k, use_padding=False)),
        Mistake("output size wrong: stride and padding ignored", "your FLOPs use H − k + 1 output rows. With "
                "stride S and padding P the output has H' = ⌊(H + 2P − k) / S⌋ + 1 rows (and the same formula "
                "with W for the columns); the cost scales with H'·W'.",
                lambda *a, **k: _conv_cost(*a, **k, use_stride=False, use_padding=False)),
        Mistake("output size wrong: H used for both sides", "you computed the output width from H. The input "
                "need not be square: H' comes from H and W' from W.",
                lambda *a, **k: _conv_cost(*a, **k, square=True)),
        Mistake("output size not floored (true division)", "your FLOPs are a float, computed from an output size "
                "that is not a whole number when the stride does not divide H + 2P − k evenly. A filter only "
                "visits whole positions: H' = ⌊(H + 2P − k) / S⌋ + 1. Look at the division in your output size "
                "and keep it whole.", lambda *a, **k: _conv_cost(*a, **k, true_division=True)),
        Mistake("output size off by one (+ 1 missing)", "your FLOPs use one output row and one output column too "
                "few. Counting the positions of a window: the first one is at 0, and each step of S adds one, so "
                "H' = ⌊(H + 2P − k) / S⌋ + 1. Look at the end of your output-size formula.",
                lambda *a, **k: _conv_cost(*a, **k, plus_one=0)),
    ],
    summary="params = F·(C·k·k + 1); flops = 2·C·k·k·F·H'·W', H' = (H + 2P − k)//S + 1",
)


# ---------------------------------------------------------------------- l2_penalty


def _weights(params):
    return [np.asarray(v, dtype=np.float64) for k, v in params.items() if k.endswith("_w")]


def _l2_reference(params, lam):
    total = sum(torch.sum(torch.as_tensor(v, dtype=torch.float64) ** 2)
                for k, v in params.items() if k.endswith("_w"))
    return float(0.5 * float(lam) * total)


def _visible_l2(rng) -> list[Case]:
    params = {"fc_w": np.array([[1.0, -2.0], [0.5, 0.0]]), "fc_b": np.array([3.0, -1.0])}
    return [
        Case((params, 0.1), note="½·0.1·(1 + 4 + 0.25) = 0.2625; the bias [3, -1] does not count"),
        Case(({"conv1_w": np.ones((2, 1, 3, 3)), "conv1_b": np.full(2, 5.0)}, 2.0),
             note="18 ones, λ = 2: ½·2·18 = 18"),
    ]


def _network_params(rng) -> dict:
    params = ref.init_params(int(rng.integers(0, 10_000)), in_channels=int(rng.integers(1, 4)),
                             num_classes=int(rng.integers(2, 11)), image_size=8)
    out = {}
    for key, value in params.items():
        value = np.asarray(value, dtype=np.float64)
        if key.endswith("_b"):
            value = rng.uniform(0.1, 1.0, size=value.shape) * rng.choice([-1.0, 1.0], size=value.shape)
        out[key] = value
    return out


def _random_l2(rng) -> list[Case]:
    return [Case((_network_params(rng), float(rng.choice([1e-4, 1e-3, 1e-2, 0.1, 1.0]))),
                 note="the reference CNN's parameters, biases not zero") for _ in range(3)]


def _weights_only_l2(rng) -> list[Case]:
    cases = []
    for _ in range(2):
        params = {f"layer{i}_w": rng.standard_normal(tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5)))))
                  for i in range(int(rng.integers(1, 4)))}
        cases.append(Case((params, float(rng.uniform(0.01, 2.0))), note="weights only, any shapes"))
    return cases


def _l2_with_biases(params, lam):
    return float(0.5 * lam * sum(np.sum(np.asarray(v, dtype=np.float64) ** 2) for v in params.values()))


L2 = Check(
    id=f"{STEM}.l2_penalty",
    params=("params", "lam"),
    reference=_l2_reference,
    groups=[
        Group("two small dicts worked out by hand", _visible_l2, visible=True),
        Group("the reference CNN's parameter dict, with non-zero biases", _random_l2, weight=2.0),
        Group("dicts of weight arrays only (any shapes)", _weights_only_l2),
    ],
    mistakes=[
        Mistake("biases included", "you added up the squares of every array, biases too. Weight decay penalises "
                "only the weights (keys ending in `_w`): a bias shifts a neuron's output and does not make the "
                "model more wiggly. Look at which keys your sum includes.", _l2_with_biases),
        Mistake("missing the ½", "your penalty is exactly twice the expected value. The course's L2 term is "
                "½·λ·Σw² (the ½ cancels the 2 of the derivative, so its gradient is λ·w): multiply by 0.5.",
                lambda p, lam: 2 * _l2_reference(p, lam)),
        Mistake("L1 instead of L2 (sum of absolute values)", "you added up |w|, which is the L1 penalty. "
                "The L2 penalty squares every weight: ½·λ·Σ w².",
                lambda p, lam: float(0.5 * lam * sum(np.sum(np.abs(w)) for w in _weights(p)))),
        Mistake("norm instead of squared norm", "you used the length ‖w‖ = sqrt(Σw²) of each array; the "
                "penalty uses its square Σw², with no square root.",
                lambda p, lam: float(0.5 * lam * sum(np.sqrt(np.sum(w ** 2)) for w in _weights(p)))),
        Mistake("mean instead of sum", "you averaged the squared weights. The penalty adds them all up, over "
                "every weight array, then takes ½·λ times the total.",
                lambda p, lam: float(0.5 * lam * sum(np.mean(w ** 2) for w in _weights(p)))),
        Mistake("λ forgotten", "your value does not depend on λ: multiply the sum of squares by ½·λ.",
                lambda p, lam: _l2_reference(p, 1.0)),
    ],
    summary="λ/2 times the sum of the squares of every weight array (names ending in _w), biases left out",
)


# ---------------------------------------------------------------------- batchnorm_forward


def _bn_reference(x, gamma, beta, eps=1e-5):
    x, gamma, beta = (ref.to_tensor(v) for v in (x, gamma, beta))
    return ref.to_numpy(F.batch_norm(x, None, None, weight=gamma, bias=beta, training=True, eps=float(eps)))


def _bn_np(x, gamma, beta, eps=1e-5, axes=(0, 2, 3), ddof=0, eps_outside=False, gamma_last=False):
    x = np.asarray(x, dtype=float)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    xhat = (x - mean) / (np.sqrt(var) + eps) if eps_outside else (x - mean) / np.sqrt(var + eps)
    if gamma_last:
        return gamma * xhat + beta
    return gamma.reshape(1, -1, 1, 1) * xhat + beta.reshape(1, -1, 1, 1)


def _bn_case(rng, n, c, h, w, eps=None, note="") -> Case:
    if w == c:
        w += 1
    scale = rng.uniform(0.5, 3.0, size=(1, c, 1, 1))
    shift = rng.uniform(-2.0, 2.0, size=(1, c, 1, 1))
    x = rng.standard_normal((n, c, h, w)) * scale + shift
    gamma = rng.uniform(0.5, 2.0, size=c) * rng.choice([-1.0, 1.0], size=c)
    beta = rng.uniform(-1.0, 1.0, size=c)
    kwargs = {} if eps is None else {"eps": eps}
    return Case((x, gamma, beta), kwargs, note=note)


def _visible_bn(rng) -> list[Case]:
    x = ramp((2, 3, 2, 4)) % 7
    return [
        Case((x, np.ones(3), np.zeros(3)), note="γ = 1, β = 0: every channel of the output has mean 0 and variance ≈ 1"),
        Case((x, np.array([2.0, 0.5, -1.0]), np.array([0.0, 1.0, -3.0])), note="γ and β per channel"),
        Case((x, np.ones(3), np.zeros(3)), {"eps": 0.5}, note="eps = 0.5: it is added to the variance, under the root"),
        Case((rng.normal(loc=[[[[3.0]], [[-1.0]], [[0.5]]]], scale=[[[[2.0]], [[0.2]], [[5.0]]]], size=(16, 3, 6, 6)),
              np.ones(3), np.zeros(3)), note="16 images of 3 channels with different means and spreads, as the "
                                              "next cell normalises"),
    ]


def _random_bn(rng) -> list[Case]:
    cases = [_bn_case(rng, int(rng.integers(2, 7)), int(rng.integers(2, 6)), int(rng.integers(2, 7)),
                      int(rng.integers(2, 7))) for _ in range(2)]
    cases.append(_bn_case(rng, int(rng.integers(2, 7)), int(rng.integers(2, 6)), int(rng.integers(2, 7)),
                          int(rng.integers(2, 7)), eps=float(rng.choice([1e-3, 0.1, 0.5])), note="a larger eps"))
    return cases


def _single_bn(rng) -> list[Case]:
    return [_bn_case(rng, 1, int(rng.integers(2, 6)), int(rng.integers(3, 7)), int(rng.integers(3, 7)),
                     eps=eps, note="one image (N = 1): the statistics come from its H×W pixels")
            for eps in (None, None, float(rng.choice([0.1, 0.5])))]


def _pixel_bn(rng) -> list[Case]:
    return [_bn_case(rng, int(rng.integers(3, 9)), int(rng.integers(2, 6)), 1, 1,
                     eps=eps, note="1×1 maps (H = W = 1): the statistics come from the N images")
            for eps in (None, None, float(rng.choice([0.1, 0.5])))]


BATCHNORM = Check(
    id=f"{STEM}.batchnorm_forward",
    params=("x", "gamma", "beta"),
    reference=_bn_reference,
    groups=[
        Group("a small (2, 3, 2, 4) batch: γ = 1 and β = 0, per-channel γ and β, a larger eps; a (16, 3, 6, 6) batch",
              _visible_bn,
              visible=True),
        Group("random batches (N ≥ 2, H, W ≥ 2), one with a larger eps", _random_bn, weight=2.0),
        Group("one image (N = 1)", _single_bn),
        Group("1×1 activation maps (H = W = 1)", _pixel_bn),
    ],
    mistakes=[
        Mistake("statistics per image (over H, W only)", "you normalised each channel of each image on its "
                "own (axis=(2, 3)), which is instance normalisation. Batch norm pools every image of the "
                "batch: mean and variance per channel over axes (0, 2, 3).",
                lambda x, g, b, eps=1e-5: _bn_np(x, g, b, eps, axes=(2, 3))),
        Mistake("statistics over the channels (over C, H, W)", "you computed one mean per image over all its "
                "channels (axis=(1, 2, 3)), which is layer normalisation. Batch norm keeps channels apart: "
                "one mean and one variance per channel, over axes (0, 2, 3).",
                lambda x, g, b, eps=1e-5: _bn_np(x, g, b, eps, axes=(1, 2, 3))),
        Mistake("statistics over the batch axis only", "you averaged over axis 0 only, which gives a mean for "
                "every (channel, row, column). A convolutional batch norm shares one mean per channel over "
                "the batch *and* the positions: axis=(0, 2, 3).",
                lambda x, g, b, eps=1e-5: _bn_np(x, g, b, eps, axes=(0,))),
        Mistake("statistics over every element", "you used one mean and variance for the whole batch. Each "
                "channel gets its own, taken over the batch and every position, and kept as a channel axis so "
                "that it broadcasts back.",
                lambda x, g, b, eps=1e-5: _bn_np(x, g, b, eps, axes=(0, 1, 2, 3))),
        Mistake("unbiased variance", "you divided by M − 1 (ddof=1, or torch.var's default). Batch norm "
                "normalises with the biased variance: divide by M = N·H·W (np.var's default, ddof=0).",
                lambda x, g, b, eps=1e-5: _bn_np(x, g, b, eps, ddof=1)),
        Mistake("eps outside the square root", "you computed (x − μ) / (σ + eps). The eps goes under the "
                "root: (x − μ) / sqrt(σ² + eps).", lambda x, g, b, eps=1e-5: _bn_np(x, g, b, eps, eps_outside=True)),
        Mistake("γ and β broadcast on the wrong axis", "γ and β have one value per channel, shape (C,), but "
                "NumPy lines a (C,) array up with the *last* axis (W). Reshape them to (1, C, 1, 1) before "
                "multiplying and adding.", lambda x, g, b, eps=1e-5: _bn_np(x, g, b, eps, gamma_last=True)),
        Mistake("eps argument ignored", "your result is right for the default eps but not for the eps passed "
                "in: use the eps parameter, not a hard-coded 1e-5.",
                lambda x, g, b, eps=1e-5: _bn_np(x, g, b, 1e-5)),
    ],
    summary="per channel: mean and biased variance over N, H and W; γ·(x − mean)/√(var + ε) + β",
)


# ---------------------------------------------------------------------- batchnorm_forward_with_running


def _bn_running_reference(x, gamma, beta, running_mean, running_var, momentum=0.1, train=True, eps=1e-5):
    """torch's batch_norm, which updates the running tensors it is given in place (on copies here)."""
    mean, var = ref.to_tensor(running_mean), ref.to_tensor(running_var)
    out = F.batch_norm(ref.to_tensor(x), mean, var, weight=ref.to_tensor(gamma), bias=ref.to_tensor(beta),
                       training=bool(train), momentum=float(momentum), eps=float(eps))
    return ref.to_numpy(out), ref.to_numpy(mean), ref.to_numpy(var)


def _running_variant(x, gamma, beta, running_mean, running_var, momentum=0.1, train=True, eps=1e-5, *,
                     running_ddof=1, flipped=False, update_in_test=False, batch_in_test=False,
                     running_in_train=False, frozen=False, out_ddof=0, replaced=False):
    """The mistakes, one switch each: the statistics each mode normalises with and how it updates them."""
    x = np.asarray(x, np.float64)
    old_mean, old_var = (np.array(v, dtype=np.float64) for v in (running_mean, running_var))
    batch_mean = np.mean(x, axis=(0, 2, 3))
    centred_sq = np.sum((x - batch_mean[:, None, None]) ** 2, axis=(0, 2, 3))
    count = x.size / x.shape[1]  # M = N·H·W values per channel
    batch_stats = (batch_mean, centred_sq / (count - out_ddof))
    use_batch = (train and not running_in_train) or (not train and batch_in_test)
    mean, var = batch_stats if use_batch else (old_mean, old_var)
    per_channel = (1, len(mean), 1, 1)
    out = (np.reshape(gamma, per_channel) * (x - mean.reshape(per_channel)) / np.sqrt(var.reshape(per_channel) + eps)
           + np.reshape(beta, per_channel))
    if (not train and not update_in_test) or (train and frozen):
        return out, old_mean, old_var
    weight_new = 1.0 if replaced else (1.0 - momentum if flipped else momentum)
    new_var_batch = centred_sq / (count - running_ddof)
    return (out, (1 - weight_new) * old_mean + weight_new * batch_mean,
            (1 - weight_new) * old_var + weight_new * new_var_batch)


def _variant(**switches):
    return lambda *args, **kwargs: _running_variant(*args, **kwargs, **switches)


def _running_case(rng, n, c, h, w, train=True, momentum=None, note="") -> Case:
    x, gamma, beta = _bn_case(rng, n, c, h, w).args
    c = len(gamma)
    mean = rng.uniform(-2.0, 2.0, size=c)
    var = rng.uniform(0.3, 4.0, size=c)
    kwargs = {"train": train} if momentum is None else {"momentum": momentum, "train": train}
    return Case((x, gamma, beta, mean, var), kwargs, note=note)


def _momentum(rng) -> float:
    return float(rng.choice([0.05, 0.1, 0.2, 0.3]))


def _visible_running(rng) -> list[Case]:
    x = ramp((2, 3, 2, 4)) % 7
    fresh = (x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3))
    return [
        Case(fresh, note="training mode, running mean 0 and variance 1 as BatchNorm2d starts: momentum 0.1 of "
                         "the way towards the batch's mean and unbiased variance"),
        Case(fresh, {"momentum": 0.3}, note="momentum 0.3"),
        _running_case(rng, 4, 3, 3, 5, train=False, note="test mode: normalise with the running statistics, "
                                                         "return them unchanged"),
        _running_case(rng, 1, 2, 3, 4, momentum=0.2, note="one image (N = 1): the statistics of its 12 pixels "
                                                           "per channel; the unbiased variance divides by 11"),
    ]


def _train_running(rng) -> list[Case]:
    return [_running_case(rng, int(rng.integers(2, 6)), int(rng.integers(2, 5)), int(rng.integers(2, 6)),
                          int(rng.integers(2, 6)), momentum=_momentum(rng), note="training mode")
            for _ in range(2)]


def _test_running(rng) -> list[Case]:
    return [_running_case(rng, int(rng.integers(2, 6)), int(rng.integers(2, 5)), int(rng.integers(2, 6)),
                          int(rng.integers(2, 6)), train=False, momentum=_momentum(rng), note="test mode")
            for _ in range(2)]


def _one_image_running(rng) -> list[Case]:
    return [_running_case(rng, 1, int(rng.integers(2, 5)), int(rng.integers(2, 5)), int(rng.integers(2, 5)),
                          momentum=_momentum(rng), note="training mode, one image (N = 1)")]


BN_RUNNING = Check(
    id=f"{STEM}.batchnorm_forward_with_running",
    params=("x", "gamma", "beta", "running_mean", "running_var"),
    reference=_bn_running_reference,
    groups=[
        Group("a (2, 3, 2, 4) batch from fresh running statistics (momentum 0.1 and 0.3), test mode, one image",
              _visible_running, visible=True),
        Group("training mode: random batches and momenta", _train_running, weight=2.0),
        Group("test mode (train=False)", _test_running),
        Group("training mode on one image (N = 1)", _one_image_running),
    ],
    mistakes=[
        Mistake("running variance biased", "the running variance must be updated with the *unbiased* variance "
                "of the batch (divide by M − 1, M = N·H·W), as PyTorch does, although the batch itself is "
                "normalised with the biased one (divide by M). Look at the variance you blend into running_var.",
                _variant(running_ddof=0)),
        Mistake("momentum convention flipped", "your new running values keep `momentum` of the old ones. In "
                "PyTorch's convention momentum is the weight of the *new* batch statistic: "
                "new = (1 − momentum)·old + momentum·batch.", _variant(flipped=True)),
        Mistake("momentum ignored (running statistics replaced)", "the running statistics became the batch's "
                "own. They are a moving average: only a fraction `momentum` of the batch statistic goes in.",
                _variant(replaced=True)),
        Mistake("running statistics not updated in training mode", "training mode returns the running mean and "
                "variance as they came in. Each training batch moves them a step towards its own statistics.",
                _variant(frozen=True)),
        Mistake("running statistics updated in test mode", "in test mode (train=False) the running statistics "
                "are only read: return them unchanged. Updating them there lets the test data change the model.",
                _variant(update_in_test=True)),
        Mistake("batch statistics used in test mode", "in test mode the output is normalised with the running "
                "mean and variance, not with the statistics of the test batch (a prediction must not depend on "
                "which other images share its batch).", _variant(batch_in_test=True)),
        Mistake("running statistics used in training mode", "in training mode the output is normalised with "
                "the statistics of the current batch; the running ones are only updated there.",
                _variant(running_in_train=True)),
        Mistake("unbiased variance in the normalisation", "the batch is normalised with its biased variance "
                "(divide by M = N·H·W); only the running variance gets the unbiased one.",
                _variant(out_ddof=1)),
    ],
    summary=("train: batch statistics, biased variance for the output, running = (1 − m)·running + m·batch "
             "(unbiased variance); test: running statistics, returned unchanged"),
)


# ---------------------------------------------------------------------- batchnorm_backward


def _bn_backward_variant(dout, x, gamma, eps=1e-5, *, fixed_mean=False, fixed_var=False, ddof=0,
                         gamma_in_dx=True):
    """autograd through batch norm written out, with switches for the mistakes: statistics held
    constant (detached), the unbiased variance, or γ left out of dx."""
    def forward(x, g, b):
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        mean = mean.detach() if fixed_mean else mean
        var = ((x - mean) ** 2).sum(dim=(0, 2, 3), keepdim=True) / (x.numel() // x.shape[1] - ddof)
        var = var.detach() if fixed_var else var
        return g.reshape(1, -1, 1, 1) * (x - mean) / torch.sqrt(var + eps) + b.reshape(1, -1, 1, 1)
    beta = np.zeros(len(gamma))
    dx, dgamma, dbeta = ref.vjp(forward, (x, gamma if gamma_in_dx else np.ones(len(gamma)), beta), dout)
    if not gamma_in_dx:
        dgamma = ref.vjp(forward, (x, gamma, beta), dout)[1]
    return dx, dgamma, dbeta  # (the mistake's gradients)


def _bn_backward_reference(dout, x, gamma, eps=1e-5):
    def forward(x, g, b):
        return F.batch_norm(x, None, None, weight=g, bias=b, training=True, eps=float(eps))
    dx, dgamma, dbeta = ref.vjp(forward, (x, gamma, np.zeros(len(gamma))), dout)
    return dx, dgamma, dbeta  # like x, gamma and beta


def _x_hat(x, eps):
    x = np.asarray(x, np.float64)
    return ref.to_numpy(F.batch_norm(ref.to_tensor(x), None, None, training=True, eps=float(eps)))


def _sums_over(axes, raw_x=False):
    """dgamma and dbeta summed over ``axes`` (the right ones are (0, 2, 3)); with ``raw_x``, dgamma from x."""
    def wrong(dout, x, gamma, eps=1e-5):
        dx = _bn_backward_reference(dout, x, gamma, eps)[0]
        factor = np.asarray(x, dtype=np.float64) if raw_x else _x_hat(x, eps)
        return dx, np.sum(dout * factor, axis=axes), np.sum(dout, axis=axes)
    return wrong


def upstream(rng, shape) -> np.ndarray:
    """An upstream gradient with no zero entries (|dout| in [0.25, 2], both signs)."""
    return away_from_zero(rng, shape, 0.25, 2.0) * rng.choice([-1.0, 1.0], size=shape)


def _backward_case(rng, n, c, h, w, eps=None, note="") -> Case:
    x, gamma, _ = _bn_case(rng, n, c, h, w).args
    kwargs = {} if eps is None else {"eps": eps}
    return Case((upstream(rng, x.shape), x, gamma), kwargs, note=note)


def _visible_bn_backward(rng) -> list[Case]:
    x = ramp((2, 3, 2, 4)) % 7
    return [Case((np.ones_like(x), x, np.ones(3)), note="dout of ones: every output moves together, so dx = 0, "
                 "dgamma = 0 and dbeta = N·H·W = 16"),
            Case((np.cos(ramp(x.shape)), x, np.array([2.0, 0.5, -1.0])), note="a wavy dout, γ per channel"),
            _backward_case(rng, 4, 3, 3, 5, note="a random (4, 3, 3, 5) batch"),
            _backward_case(rng, 2, 2, 3, 3, eps=0.5, note="eps = 0.5")]


def _random_bn_backward(rng) -> list[Case]:
    cases = [_backward_case(rng, int(rng.integers(2, 6)), int(rng.integers(2, 5)), int(rng.integers(2, 6)),
                            int(rng.integers(2, 6))) for _ in range(2)]
    cases.append(_backward_case(rng, int(rng.integers(2, 6)), int(rng.integers(2, 5)), int(rng.integers(2, 5)),
                                int(rng.integers(2, 5)), eps=float(rng.choice([0.1, 0.5])), note="a larger eps"))
    return cases


def _single_bn_backward(rng) -> list[Case]:
    return [_backward_case(rng, 1, int(rng.integers(2, 5)), int(rng.integers(3, 6)), int(rng.integers(3, 6)),
                           note="one image (N = 1)") for _ in range(2)]


def _pixel_bn_backward(rng) -> list[Case]:
    return [_backward_case(rng, int(rng.integers(3, 9)), int(rng.integers(2, 5)), 1, 1,
                           note="1×1 maps (H = W = 1)") for _ in range(2)]


BN_BACKWARD = Check(
    id=f"{STEM}.batchnorm_backward",
    params=("dout", "x", "gamma"),
    reference=_bn_backward_reference,
    groups=[
        Group("a (2, 3, 2, 4) batch under dout of ones and a wavy dout, a random batch, eps = 0.5",
              _visible_bn_backward, visible=True),
        Group("random batches (N ≥ 2), one with a larger eps", _random_bn_backward, weight=2.0),
        Group("one image (N = 1)", _single_bn_backward),
        Group("1×1 activation maps (H = W = 1)", _pixel_bn_backward),
    ],
    mistakes=[
        Mistake("mean and variance treated as constants in dx", "your dx is γ·dout/√(var + eps), the gradient "
                "as if μ and σ² did not depend on x. They do: every x of a channel moves its mean and its "
                "variance, and through them every output of that channel. The two extra terms subtract the mean "
                "of dout and the mean of dout·x̂ (per channel, over N, H, W).",
                lambda *a, **k: _bn_backward_variant(*a, **k, fixed_mean=True, fixed_var=True)),
        Mistake("variance term missing in dx", "you subtracted the mean of dout, but not x̂ times the mean of "
                "dout·x̂: that term is what x changes through the variance.",
                lambda *a, **k: _bn_backward_variant(*a, **k, fixed_var=True)),
        Mistake("mean term missing in dx", "the term that flows through the variance is there, but the mean of "
                "dout (per channel, over N, H, W) is not subtracted: that is what x changes through μ.",
                lambda *a, **k: _bn_backward_variant(*a, **k, fixed_mean=True)),
        Mistake("γ left out of dx", "dx is γ/√(var + eps) times the bracket: the output was scaled by γ, so "
                "its gradient is too.", lambda *a, **k: _bn_backward_variant(*a, **k, gamma_in_dx=False)),
        Mistake("unbiased variance", "the forward pass normalises with the biased variance (divide by M = N·H·W); "
                "your gradients use M − 1.", lambda *a, **k: _bn_backward_variant(*a, **k, ddof=1)),
        Mistake("dgamma and dbeta summed over the batch only", "dgamma and dbeta have one value per channel, "
                "shape (C,): γ_c and β_c touch every image and every position of channel c, so their gradients "
                "sum over N, H and W (axes 0, 2 and 3).", _sums_over(0)),
        Mistake("dgamma and dbeta summed over the positions only", "you kept one value per image, shape (N, C). "
                "The same γ and β serve every image: sum over the batch axis too.", _sums_over((2, 3))),
        Mistake("dgamma from x instead of x̂", "γ multiplies the *normalised* input x̂ = (x − μ)/√(var + eps), so "
                "dgamma sums dout·x̂, not dout·x.", _sums_over((0, 2, 3), raw_x=True)),
    ],
    forbidden=FORBIDDEN,
    summary="dbeta = Σ dout, dgamma = Σ dout·x̂ (over N, H, W); dx = γ/√(var+ε)·(dout − mean(dout) − x̂·mean(dout·x̂))",
)


# ---------------------------------------------------------------------- dropout_forward and dropout_backward


def _kept(shape, p, seed):
    """The docstring's recipe: unit kept where its uniform draw is at least p."""
    draws = np.random.default_rng(seed).random(tuple(shape))
    return np.greater_equal(draws, p)


def _dropout_reference(x, p, train=True, seed=0):
    shape = np.shape(x)
    if not train:
        kept = np.ones(shape, dtype=bool)
        return ref.to_numpy(F.dropout(ref.to_tensor(x), float(p), training=False)), kept
    kept = _kept(shape, p, seed)
    return ref.to_numpy(ref.to_tensor(x) * ref.to_tensor(kept) / (1.0 - p)), kept


def _dropout_variant(x, p, train=True, seed=0, *, scale="inverted", drop_at_test=False, keep_below=False,
                     mask_scaled=False, mask_floats=False):
    x = np.asarray(x, np.float64)
    draws = np.random.default_rng(seed).random(x.shape)
    kept = draws < p if keep_below else draws >= p
    train_like = train or drop_at_test
    if not train_like:
        kept = np.ones(x.shape, dtype=bool)
    factor = {"inverted": 1 / (1 - p), "none": 1.0, "keep": 1 / p if p else np.inf}[scale] if train_like else 1.0
    if not train and scale == "classic":
        factor = 1.0 - p
    if train and scale == "classic":
        factor = 1.0
    out = x * kept * factor
    if mask_scaled:
        return out, kept / (1 - p)
    return out, kept.astype(np.float64) if mask_floats else kept


def _drop(**switches):
    return lambda *args, **kwargs: _dropout_variant(*args, **kwargs, **switches)


def _dropout_case(rng, shape, p, train=True, note="") -> Case:
    x = rng.standard_normal(shape) + 0.5
    return Case((x, p), {"train": train, "seed": int(rng.integers(0, 10_000))}, note=note)


def _p(rng) -> float:
    return float(rng.choice([0.2, 0.25, 0.3, 0.4, 0.6, 0.7]))


def _visible_dropout(rng) -> list[Case]:
    x = ramp((2, 3, 4, 4)) / 10 + 1.0
    return [Case((x, 0.5), {"train": True, "seed": 0}, note="p = 0.5, seed 0: about half the units dropped, the "
                 "others doubled"),
            Case((x, 0.2), {"train": True, "seed": 1}, note="p = 0.2: survivors scaled by 1/0.8 = 1.25"),
            Case((x, 0.5), {"train": False, "seed": 0}, note="test mode: nothing dropped, nothing scaled"),
            Case((x, 0.0), {"train": True, "seed": 2}, note="p = 0: nothing dropped")]


def _random_dropout(rng) -> list[Case]:
    return [_dropout_case(rng, tuple(int(v) for v in rng.integers(2, 6, size=4)), _p(rng), note="training mode")
            for _ in range(2)]


def _test_dropout(rng) -> list[Case]:
    return [_dropout_case(rng, tuple(int(v) for v in rng.integers(2, 6, size=4)), _p(rng), train=False,
                          note="test mode") for _ in range(2)]


def _p_zero_dropout(rng) -> list[Case]:
    return [_dropout_case(rng, (int(rng.integers(2, 6)), int(rng.integers(2, 6))), 0.0, note="p = 0")]


@dataclass(frozen=True)
class Statistical(Case):
    """A large batch judged by what dropout must do, whatever the generator: see :class:`DropoutCheck`."""


def _statistical_dropout(rng) -> list[Case]:
    x = rng.uniform(0.5, 1.5, size=(16, 8, 8, 8))
    return [Statistical((x, _p(rng)), {"train": True, "seed": int(rng.integers(0, 10_000))},
                        note="16,384 units: about a fraction p dropped, the rest scaled by 1/(1 − p)")]


NOT_RESCALED = Mistake("survivors not rescaled by 1/(1 − p)", "in inverted dropout the units that survive are "
                       "divided by 1 − p during training, so that the expected output equals the input and "
                       "test mode can leave everything alone.", _drop(scale="none"))
CLASSIC = Mistake("classic dropout (scaled at test time)", "you scaled by 1 − p at test time instead of by "
                  "1/(1 − p) in training. Inverted dropout does the scaling in training, so that test mode is the "
                  "identity.", _drop(scale="classic"))
DROPPED_AT_TEST = Mistake("units dropped in test mode", "with train=False nothing is dropped and nothing is "
                          "scaled: the output is the input and the mask is all True.", _drop(drop_at_test=True))
KEEP_PROBABILITY = Mistake("p used as the keep probability", "p is the probability of *dropping* a unit (as in "
                           "PyTorch); you kept units with probability p and divided by p.",
                           _drop(keep_below=True, scale="keep"))
MASK_INVERTED = Mistake("mask inverted", "you kept the units whose draw is below p, which drops a fraction 1 − p. "
                        "The recipe keeps a unit where its draw is at least p.", _drop(keep_below=True))
MASK_SCALED = Mistake("mask holds the scale", "the mask is a boolean array (True where a unit is kept); the "
                      "factor 1/(1 − p) belongs in the output, not in the mask.", _drop(mask_scaled=True))
MASK_FLOATS = Mistake("mask of floats, not booleans", "the mask should be a boolean array, True where a unit is "
                      "kept (compare the draws with p, and return that comparison).", _drop(mask_floats=True))
OTHER_DRAW = Mistake("mask not drawn as the recipe says", "your output is a correct dropout of x, but with another "
                     "mask than the recipe's. For the grader to reproduce it, draw exactly as the docstring says: "
                     "one generator np.random.default_rng(seed), one call .random(x.shape), and keep where the "
                     "draw is at least p (not np.random.seed, not rand, not binomial, not `< 1 − p`).")


def _looks_like_dropout(x, p, got) -> bool:
    """Whether ``got`` is (out, mask) with a boolean mask of x's shape and out = x·mask/(1 − p)."""
    out, mask = got
    mask = np.asarray(mask)
    return (mask.shape == np.shape(x) and mask.dtype == bool
            and np.allclose(out, np.where(mask, x / (1 - p), 0.0), rtol=1e-6, atol=1e-9))


def _other_draw_hint(case: Case, got) -> Diagnosis | None:
    x, p = case.args
    return OTHER_DRAW.diagnosis if case.kwargs.get("train", True) and _looks_like_dropout(x, p, got) else None


DROP_TOLERANCE = 0.02  # 16,384 draws: the dropped fraction's standard deviation is below 0.004


@dataclass
class DropoutCheck(Check):
    """Compares with the recipe's mask, except on :class:`Statistical` cases, which are judged by what
    a dropout does with any random generator: a boolean mask, the survivors scaled by 1/(1 − p), and a
    dropped fraction within :data:`DROP_TOLERANCE` of p. A correct dropout drawn another way earns
    that group and is told which recipe the other groups reproduce."""

    def assess(self, case: Case, got) -> Finding:
        if not isinstance(case, Statistical):
            return super().assess(case, got)
        problem = compare(tuple(np.shape(a) for a in self.expected(case)), tuple(np.shape(a) for a in got)) \
            if isinstance(got, (tuple, list)) and len(got) == 2 else f"should return (out, mask), got {type_name(got)}"
        if problem:
            return Finding(problem, NOTHING_RETURNED.diagnosis if got is None else None)
        x, p = case.args
        out, mask = (np.asarray(a) for a in got)
        if mask.dtype != bool:
            why = MASK_SCALED if np.allclose(np.unique(mask), [0.0, 1 / (1 - p)]) else MASK_FLOATS
            return Finding(f"the mask has dtype {mask.dtype}; it should be a boolean array", why.diagnosis)
        if not _looks_like_dropout(x, p, (out, mask)):
            rescaled = np.allclose(out, np.where(mask, x, 0.0))
            return Finding("out is not x·mask/(1 − p)", NOT_RESCALED.diagnosis if rescaled else None)
        dropped = 1.0 - float(mask.mean())
        if abs(dropped - p) > DROP_TOLERANCE:
            why = MASK_INVERTED if abs(dropped - (1 - p)) <= DROP_TOLERANCE else None
            return Finding(f"a fraction {dropped:.3f} of the units was dropped; with p = {p} it should be about {p}",
                           why.diagnosis if why else None)
        return Finding(None, note=f"dropped fraction {dropped:.3f} for p = {p}")


DROPOUT = DropoutCheck(
    id=f"{STEM}.dropout_forward",
    params=("x", "p"),
    reference=_dropout_reference,
    groups=[
        Group("a (2, 3, 4, 4) batch: p = 0.5 and 0.2 in training, test mode, p = 0", _visible_dropout, visible=True),
        Group("training mode: random batches, p and seeds (the recipe's mask)", _random_dropout, weight=2.0),
        Group("test mode (train=False)", _test_dropout),
        Group("p = 0: nothing dropped", _p_zero_dropout),
        Group("a large batch: the fraction dropped and the scale, whatever the generator", _statistical_dropout),
    ],
    mistakes=[NOT_RESCALED, CLASSIC, DROPPED_AT_TEST, KEEP_PROBABILITY, MASK_INVERTED, MASK_SCALED, MASK_FLOATS,
              OTHER_DRAW],
    hints=[_other_draw_hint],
    summary=("train: mask = default_rng(seed).random(x.shape) >= p, out = x·mask/(1 − p); "
             "test: out = x, mask all True"),
)


def _dropout_backward_reference(dout, mask, p, train=True):
    factor = ref.to_tensor(mask) / (1.0 - p) if train else 1.0
    return ref.vjp(lambda z: z * factor, (np.zeros(np.shape(dout)),), dout)[0]


def _backward_variant(dout, mask, p, train=True, *, factor=None, always=False, inverted=False, no_dout=False):
    if not (train or always):
        return np.array(dout, dtype=np.float64)
    kept = np.logical_not(mask) if inverted else np.asarray(mask, dtype=bool)
    scale = 1 / (1 - p) if factor is None else factor(p)
    return kept * scale * (1.0 if no_dout else np.asarray(dout, dtype=np.float64))


def _back(**switches):
    return lambda *args, **kwargs: _backward_variant(*args, **kwargs, **switches)


def _dropout_backward_case(rng, shape, p, train=True, note="") -> Case:
    kept = rng.random(shape) >= p if train else np.ones(shape, dtype=bool)
    return Case((upstream(rng, shape), kept, p), {"train": train}, note=note)


def _visible_dropout_backward(rng) -> list[Case]:
    dout = np.cos(ramp((2, 3, 4, 4)))
    return [Case((dout, _kept(dout.shape, 0.5, 0), 0.5), {"train": True}, note="the mask dropout_forward draws "
                 "with p = 0.5 and seed 0"),
            Case((dout, _kept(dout.shape, 0.2, 1), 0.2), {"train": True}, note="p = 0.2, seed 1"),
            Case((dout, np.ones(dout.shape, dtype=bool), 0.5), {"train": False}, note="test mode (mask all True)")]


DROPOUT_BACKWARD = Check(
    id=f"{STEM}.dropout_backward",
    params=("dout", "mask", "p"),
    reference=_dropout_backward_reference,
    groups=[
        Group("dout on a (2, 3, 4, 4) batch: p = 0.5 and 0.2 in training, and test mode", _visible_dropout_backward,
              visible=True),
        Group("training mode: random shapes, p and masks",
              lambda rng: [_dropout_backward_case(rng, tuple(int(v) for v in rng.integers(2, 6, size=4)), _p(rng),
                                                  note="training mode") for _ in range(2)], weight=2.0),
        Group("test mode (train=False, mask all True)",
              lambda rng: [_dropout_backward_case(rng, tuple(int(v) for v in rng.integers(2, 6, size=4)), _p(rng),
                                                  train=False, note="test mode")]),
        Group("p = 0 in training (mask all True)",
              lambda rng: [_dropout_backward_case(rng, (int(rng.integers(2, 6)), 7), 0.0, note="p = 0")]),
    ],
    mistakes=[
        Mistake("gradient not rescaled by 1/(1 − p)", "the forward pass divided the survivors by 1 − p, so their "
                "gradient is divided by 1 − p too.", _back(factor=lambda p: 1.0)),
        Mistake("multiplied by 1 − p instead of divided", "the forward pass *divides* the survivors by 1 − p; the "
                "gradient carries the same factor 1/(1 − p).", _back(factor=lambda p: 1.0 - p)),
        Mistake("scaled in test mode", "with train=False the forward pass is the identity, so dx = dout: no "
                "mask and no 1/(1 − p).", _back(always=True)),
        Mistake("mask inverted", "the gradient flows through the units that were *kept* (True in the mask) and "
                "is 0 where a unit was dropped; yours is the other way round.", _back(inverted=True)),
        Mistake("returned the mask without dout", "mask/(1 − p) is only the local derivative; the chain rule "
                "multiplies it by the upstream gradient dout.", _back(no_dout=True)),
    ],
    summary="train: dx = dout·mask/(1 − p); test: dx = dout",
)


# ---------------------------------------------------------------------- choose_fix (reasoning)

KIND_NOTES = {"diverging": "a run whose loss blew up", "slow": "a run whose loss creeps down",
              "vanishing": "a run whose loss does not move"}


@dataclass(frozen=True)
class FailedRun(Case):
    """One failing training run: ``args`` is (report,), and ``kind`` and ``seed`` rebuild the very run
    (:func:`autograder.core.reference.training_run`) so that the student's fix can be applied to it."""

    kind: str = ""
    seed: int = 0


def _failed_run(rng, kind) -> FailedRun:
    seed = int(rng.integers(0, 2**31))
    return FailedRun((ref.training_run(kind, seed),), kind=kind, seed=seed, note=KIND_NOTES[kind])


def _fix_reference(report):
    """A rule that reads the report the way the narrative does (the check judges by effect, not by it)."""
    losses, norms = np.asarray(report["losses"]), np.asarray(report["grad_norms"])
    if not np.isfinite(losses).all() or np.nanmax(losses) > 2 * losses[0]:
        return "lower_lr"
    return "he_init" if norms.max() < 1e-4 else "higher_lr"


NOT_A_FIX = Mistake("not one of the fixes", f"return one of the strings {', '.join(map(repr, FIXES))}.")
FIX_MISSES = {
    "diverging": Mistake("a divergence left uncured", "this run's loss jumped by orders of magnitude within the "
                         "first steps (or became NaN) and then stayed at chance: the steps overshoot and kill the "
                         "ReLUs. Look at how the first losses compare with each other before choosing."),
    "slow": Mistake("slow learning left uncured", "this run's loss falls steadily but slowly, and its gradients "
                    "have an ordinary size (around 1): nothing is broken, the steps are just short."),
    "vanishing": Mistake("vanishing gradients left uncured", "this run's loss hardly moves from ln 4 ≈ 1.39 and "
                         "every layer's gradient norm is about a million times smaller than a healthy one: the "
                         "signal dies on its way through the layers. A different step size cannot wake it."),
}


class FixCheck(Check):
    """Judges a chosen fix by its effect: the run of the case is trained again with the fix, and the
    choice passes when the last training loss falls below the cure threshold."""

    def assess(self, case: Case, got) -> Finding:
        if not isinstance(got, str) or got not in FIXES:
            return Finding(f"should return one of {FIXES}, but it returned {type_name(got)}",
                           (NOTHING_RETURNED if got is None else NOT_A_FIX).diagnosis)
        from ..reference import debugging  # loaded by now: the case's report came from it

        cured, run = debugging.cures(case.kind, case.seed, got)
        before = float(case.args[0]["losses"][-1])
        after = float(run["losses"][-1])
        if cured:
            return Finding(None, note=f"with {got!r} the last training loss is {after:.3f} (it was {before:.3g})")
        return Finding(f"{got!r} was applied to this very run and its last training loss is {after:.3g} (it was "
                       f"{before:.3g}); a fix that works brings it below {debugging.CURED_BELOW}",
                       FIX_MISSES[case.kind].diagnosis)


CHOOSE_FIX = FixCheck(
    id=f"{STEM}.choose_fix",
    params=("report",),
    reference=_fix_reference,
    groups=[
        Group("one run of each kind: a loss that blows up, one that creeps, one that does not move",
              lambda rng: [_failed_run(rng, kind) for kind in ("diverging", "slow", "vanishing")], visible=True),
        Group("a new diverging run", lambda rng: [_failed_run(rng, "diverging")]),
        Group("a new slow run", lambda rng: [_failed_run(rng, "slow")]),
        Group("a new run with vanishing gradients", lambda rng: [_failed_run(rng, "vanishing")]),
    ],
    mistakes=[NOT_A_FIX, *FIX_MISSES.values()],
    summary="the fix that, applied to the very run, brings its last training loss below 0.3",
)


# ---------------------------------------------------------------------- crop_and_flip (data augmentation)


def _crop_flip_reference(x, pad, offsets, flip):
    """Zero padding with F.pad, one window per image, then torch.flip along the width where asked."""
    t = ref.to_tensor(x)
    _, _, h, w = t.shape
    padded = F.pad(t, (pad, pad, pad, pad))
    windows = [padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(np.asarray(offsets).tolist())]
    out = torch.stack(windows) if windows else t.clone()
    mirrored = torch.as_tensor(np.asarray(flip, dtype=bool)).to(out.device)[:, None, None, None]
    return ref.to_numpy(torch.where(mirrored, out.flip(-1), out))


def _crop_flip_variant(x, pad, offsets, flip, *, axis=-1, flip_first=False, swap=False, edge=False):
    h, w = np.shape(x)[2:]
    padded = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="edge" if edge and pad else "constant")
    out = np.empty_like(x)
    for i, (dy, dx) in enumerate(np.asarray(offsets)):
        dy, dx = (dx, dy) if swap else (dy, dx)
        image = padded[i]
        if flip_first and flip[i]:
            image = image[..., ::-1]
        window = image[:, dy:dy + h, dx:dx + w]
        if window.shape[1:] != (h, w):
            raise IndexError("window outside the padded image")
        out[i] = np.flip(window, axis) if flip[i] and not flip_first else window
    return out


def _crop_flip_case(rng, n, c, h, w, pad, flips=True, note="") -> Case:
    """Values away from zero (so a border of edge values differs from zeros); offsets with dy != dx and
    dx != pad for some flipped image (so flipping first differs), each coordinate in 0..2·pad."""
    x = away_from_zero(rng, (n, c, h, w))
    while True:
        offsets = rng.integers(0, 2 * pad + 1, size=(n, 2)).astype(np.int64)
        flip = rng.random(n) < 0.5 if flips else np.zeros(n, dtype=bool)
        if flips:
            flip[0], flip[-1] = True, False
        shifted = offsets[:, 1] != pad
        if (pad == 0 or ((offsets[:, 0] != offsets[:, 1]).all() and shifted.any()
                         and (shifted & flip).any() == flips)):
            return Case((x, pad, offsets, flip), note=note)


def _visible_crop_flip(rng) -> list[Case]:
    x = ramp((2, 1, 4, 5)) + 1.0
    return [Case((x, 1, np.array([[0, 2], [2, 1]]), np.array([True, False])),
                 note="pad 1: image 0 shifted down and left, then mirrored; image 1 shifted up"),
            _crop_flip_case(rng, 4, 3, 6, 7, 2, note="a random (4, 3, 6, 7) batch, pad 2"),
            Case((x, 0, np.zeros((2, 2), dtype=np.int64), np.array([False, True])),
                 note="edge case: pad 0, the only window is the image itself")]


def _random_crop_flip(rng) -> list[Case]:
    shapes = [tuple(int(v) for v in rng.integers(2, 5, size=2)) + (int(h), int(h) + 1) for h in rng.integers(4, 8, 2)]
    return [_crop_flip_case(rng, n, c, h, w, int(rng.integers(1, 4))) for n, c, h, w in shapes]


CROP_FLIP = Check(
    id=f"{STEM}.crop_and_flip",
    forbidden=FORBIDDEN + IMAGE_LIBRARIES,
    params=("x", "pad", "offsets", "flip"),
    reference=_crop_flip_reference,
    groups=[
        Group("a hand-made (2, 1, 4, 5) batch, a random one with pad 2, and pad 0", _visible_crop_flip, visible=True),
        Group("randomized batches, pads, offsets and flips", _random_crop_flip, weight=2.0),
        Group("pad 0: flips only", lambda rng: [_crop_flip_case(rng, 3, 2, 5, 6, 0, note="pad 0")]),
        Group("no flips: crops only", lambda rng: [_crop_flip_case(rng, 3, 2, 5, 6, int(rng.integers(1, 3)), flips=False,
                                                                   note="no image flipped")]),
    ],
    mistakes=[
        Mistake("flipped upside down", "a horizontal flip mirrors left and right: it reverses the WIDTH axis (the "
                "last one), and keeps the rows in order.", lambda *a: _crop_flip_variant(*a, axis=-2)),
        Mistake("flipped before cropping", "mirroring the padded image first moves the window to the other side: "
                "the window at column dx of the mirrored image is the mirror of the window at 2·pad − dx. Crop at "
                "(dy, dx) first, then mirror the crop.", lambda *a: _crop_flip_variant(*a, flip_first=True)),
        Mistake("offsets read as (dx, dy)", "offsets[i] is (dy, dx): the first number moves the window down the "
                "rows (height), the second along the columns (width).", lambda *a: _crop_flip_variant(*a, swap=True)),
        Mistake("border filled with edge values", "the padding is zeros, as in a convolution with zero padding: a "
                "shifted digit gets a blank margin, not a copy of its outer pixels.",
                lambda *a: _crop_flip_variant(*a, edge=True)),
    ],
    summary="zero-pad by pad, take the H×W window at offsets[i] = (dy, dx), then mirror left-right where flip[i]",
)


CHECKS = [CONV_COST, L2, BATCHNORM, BN_RUNNING, BN_BACKWARD, DROPOUT, DROPOUT_BACKWARD, CROP_FLIP, CHOOSE_FIX]


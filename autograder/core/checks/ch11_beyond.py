"""Checks for chapter 11, Beyond.

Three exercises on the topics the source left out:

- ``conv_params_and_flops``: the parameter count and the floating-point operations of one
  convolutional layer (bias included; a multiply-add counts as 2 FLOPs);
- ``l2_penalty``: the L2 regularisation term ½·λ·Σw² over the *weight* arrays of a parameter
  dict (names ending in ``_w``; biases excluded);
- ``batchnorm_forward``: batch normalisation of an NCHW batch in training mode (per-channel
  mean and biased variance over N, H and W), graded against ``torch.nn.functional.batch_norm``.

Groups are built so that each mistake in the library passes or fails a group whatever the
seed: the "basic" conv group always has stride 1 and padding 0, the "stride" group stride ≥ 2
and padding 0, the "padding" group stride 1 and padding ≥ 1; every input has depth C ≥ 2 and
H ≠ W. Random parameter dicts always hold biases that are not zero, except in the "weights
only" group. Batch-norm groups: "one image" always has N = 1 (where per-image statistics are
right), "1×1 maps" always has H = W = 1 and N ≥ 2 (where statistics over N alone are right),
and W never equals C (so γ broadcast along the last axis raises).
"""

from __future__ import annotations

import numpy as np

from .. import reference as ref
from ..reference import functional as F
from ..reference import torch
from .base import Case, Check, Group, Mistake
from .cases import ramp

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
        Case(((3, 32, 32), 1, 5), note="the syllabus's layer: one 5×5×3 filter on 32×32×3 → 76 params, 117,600 FLOPs"),
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
        Group("the syllabus's 5×5×3 filters on 32×32×3, ShapesCNN's conv2, and 'same' padding", _visible_conv,
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


CHECKS = [CONV_COST, L2, BATCHNORM]

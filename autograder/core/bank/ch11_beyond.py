"""Known-wrong answers for chapter 11, Beyond.

Scores: conv_params_and_flops has 3 points over weights visible 1, basic 1, stride 1,
padding 1 (total 4); l2_penalty has 2 points over visible 1, network dicts 2, weights only 1
(total 4); batchnorm_forward has 3 points over visible 1, random 2, one image 1, 1×1 maps 1
(total 5).
"""

from tests.bank import Wrong

COST = "11-beyond.conv_params_and_flops"
L2 = "11-beyond.l2_penalty"
BN = "11-beyond.batchnorm_forward"

WRONG = [
    # ------------------------------------------------------------------ conv_params_and_flops
    Wrong(COST, "bias forgotten", """
def conv_params_and_flops(in_shape, filters, kernel, stride=1, padding=0):
    c, h, w = in_shape
    h_out = (h + 2 * padding - kernel) // stride + 1
    w_out = (w + 2 * padding - kernel) // stride + 1
    return filters * c * kernel * kernel, 2 * c * kernel * kernel * filters * h_out * w_out
""", score=0.0, diagnosis="bias forgotten"),
    Wrong(COST, "depth forgotten", """
def conv_params_and_flops(in_shape, filters, kernel, stride=1, padding=0):
    c, h, w = in_shape
    h_out = (h + 2 * padding - kernel) // stride + 1
    w_out = (w + 2 * padding - kernel) // stride + 1
    return filters * (kernel * kernel + 1), 2 * kernel * kernel * filters * h_out * w_out
""", score=0.0, diagnosis="depth C forgotten"),
    Wrong(COST, "multiply-adds counted once", """
def conv_params_and_flops(in_shape, filters, kernel, stride=1, padding=0):
    c, h, w = in_shape
    h_out = (h + 2 * padding - kernel) // stride + 1
    w_out = (w + 2 * padding - kernel) // stride + 1
    return filters * (c * kernel * kernel + 1), c * kernel * kernel * filters * h_out * w_out
""", score=0.0, diagnosis="multiply-adds counted once"),
    Wrong(COST, "stride and padding ignored", """
def conv_params_and_flops(in_shape, filters, kernel, stride=1, padding=0):
    c, h, w = in_shape
    h_out, w_out = h - kernel + 1, w - kernel + 1
    return filters * (c * kernel * kernel + 1), 2 * c * kernel * kernel * filters * h_out * w_out
""", score=1.5, diagnosis="output size wrong"),
    Wrong(COST, "stride ignored", """
def conv_params_and_flops(in_shape, filters, kernel, stride=1, padding=0):
    c, h, w = in_shape
    h_out, w_out = h + 2 * padding - kernel + 1, w + 2 * padding - kernel + 1
    return filters * (c * kernel * kernel + 1), 2 * c * kernel * kernel * filters * h_out * w_out
""", score=2.25, diagnosis="stride ignored"),
    Wrong(COST, "H used for both sides", """
def conv_params_and_flops(in_shape, filters, kernel, stride=1, padding=0):
    c, h, w = in_shape
    h_out = (h + 2 * padding - kernel) // stride + 1
    return filters * (c * kernel * kernel + 1), 2 * c * kernel * kernel * filters * h_out * h_out
""", score=0.75, diagnosis="H used for both sides"),
    # ------------------------------------------------------------------ l2_penalty
    Wrong(L2, "biases included", """
def l2_penalty(params, lam):
    return 0.5 * lam * sum(float(np.sum(v ** 2)) for v in params.values())
""", score=0.5, diagnosis="biases included"),
    Wrong(L2, "missing the half", """
def l2_penalty(params, lam):
    return lam * sum(float(np.sum(v ** 2)) for k, v in params.items() if k.endswith("_w"))
""", score=0.0, diagnosis="missing the ½"),
    Wrong(L2, "L1 penalty", """
def l2_penalty(params, lam):
    return 0.5 * lam * sum(float(np.sum(np.abs(v))) for k, v in params.items() if k.endswith("_w"))
""", score=0.0, diagnosis="L1 instead of L2"),
    Wrong(L2, "mean of squares", """
def l2_penalty(params, lam):
    return 0.5 * lam * sum(float(np.mean(v ** 2)) for k, v in params.items() if k.endswith("_w"))
""", score=0.0, diagnosis="mean instead of sum"),
    # ------------------------------------------------------------------ batchnorm_forward
    Wrong(BN, "per-image statistics", """
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    return gamma.reshape(1, -1, 1, 1) * (x - mean) / np.sqrt(var + eps) + beta.reshape(1, -1, 1, 1)
""", score=0.6, diagnosis="statistics per image"),
    Wrong(BN, "statistics over channels", """
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    var = x.var(axis=(1, 2, 3), keepdims=True)
    return gamma.reshape(1, -1, 1, 1) * (x - mean) / np.sqrt(var + eps) + beta.reshape(1, -1, 1, 1)
""", score=0.0, diagnosis="statistics over the channels"),
    Wrong(BN, "statistics over N only", """
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=0, keepdims=True)
    var = x.var(axis=0, keepdims=True)
    return gamma.reshape(1, -1, 1, 1) * (x - mean) / np.sqrt(var + eps) + beta.reshape(1, -1, 1, 1)
""", score=0.6, diagnosis="statistics over the batch axis only"),
    Wrong(BN, "unbiased variance", """
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True, ddof=1)
    return gamma.reshape(1, -1, 1, 1) * (x - mean) / np.sqrt(var + eps) + beta.reshape(1, -1, 1, 1)
""", score=0.0, diagnosis="unbiased variance"),
    Wrong(BN, "eps outside the sqrt", """
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    std = x.std(axis=(0, 2, 3), keepdims=True)
    return gamma.reshape(1, -1, 1, 1) * (x - mean) / (std + eps) + beta.reshape(1, -1, 1, 1)
""", score=0.0, diagnosis="eps outside the square root"),
    Wrong(BN, "gamma on the last axis", """
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta
""", score=0.0, diagnosis="broadcast on the wrong axis"),
    Wrong(BN, "eps hard-coded", """
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    return gamma.reshape(1, -1, 1, 1) * (x - mean) / np.sqrt(var + 1e-5) + beta.reshape(1, -1, 1, 1)
""", score=1.8, diagnosis="eps argument ignored"),
]

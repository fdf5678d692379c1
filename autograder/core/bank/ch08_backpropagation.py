"""Known-wrong solutions for chapter 8, Backpropagation.

Points and group weights (see autograder/checks/ch08_backpropagation.py):

- affine_backward, 3 points: visible 1, random batches 2, volume input 1, one example 1 (total 5);
- relu_backward, 2 points: visible 1, random NCHW batches 2, other shapes 1 (total 4);
- max_pool_backward, 3 points, and avg_pool_backward, 2 points: visible, tiling (default
  stride), overlapping windows, wide stride, 1 each (total 4);
- conv_backward, 5 points: visible (has stride 2 and padding 1), stride 1 without padding,
  stride, padding, stride and padding, 1 each (total 5);
- softmax_cross_entropy_backward, 3 points: visible (has logits near ±1000) 1, random
  batches 2, one example 1, large logits 1 (total 5).

Each wrong answer replaces only its own exercise's cell.
"""

from tests.bank import Wrong

AFFINE = "08-backpropagation.affine_backward"
RELU = "08-backpropagation.relu_backward"
MAX = "08-backpropagation.max_pool_backward"
AVG = "08-backpropagation.avg_pool_backward"
CONV = "08-backpropagation.conv_backward"
CE = "08-backpropagation.softmax_cross_entropy_backward"

# A correct plain-loop pooling backward, into which the pooling mistakes are written.
_MAX_LOOP = """
def max_pool_backward(dout, x, kernel_size, stride=None):
    k = kernel_size
{stride_line}
    n, c, ho, wo = dout.shape
    dx = np.zeros(x.shape)
    for a in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    r0, c0 = i * {step}, j * {step}
                    window = x[a, ch, r0:r0 + k, c0:c0 + k]
                    p, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[a, ch, r0 + {p}, c0 + {q}] {op} dout[a, ch, i, j]
    return dx
"""

_AVG_LOOP = """
def avg_pool_backward(dout, x, kernel_size, stride=None):
    k = kernel_size
{stride_line}
    n, c, ho, wo = dout.shape
    dx = np.zeros(x.shape)
    for i in range(ho):
        for j in range(wo):
            r0, c0 = i * {step}, j * {step}
            dx[:, :, r0:r0 + k, c0:c0 + k] {op} dout[:, :, i, j][:, :, None, None] / {size}
    return dx
"""

_DEFAULT = "    s = k if stride is None else stride"


def _max(stride_line=_DEFAULT, step="s", p="p", q="q", op="+="):
    return _MAX_LOOP.format(stride_line=stride_line, step=step, p=p, q=q, op=op)


def _avg(stride_line=_DEFAULT, step="s", op="+=", size="(k * k)"):
    return _AVG_LOOP.format(stride_line=stride_line, step=step, op=op, size=size)


# A correct loop-over-outputs conv backward, into which the conv mistakes are written.
_CONV_LOOP = """
def conv_backward(dout, x, w, b, stride=1, padding=0):
    s, pad = stride, padding
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros(w.shape)
    for i in range(ho):
        for j in range(wo):
            r0, c0 = i * {step}, j * {step}
            window = x_pad[:, :, r0:r0 + kh, c0:c0 + kw]
            g = dout[:, :, i, j]
            dw += np.einsum("nf,nckl->fckl", g, window)
            dx_pad[:, :, r0:r0 + kh, c0:c0 + kw] += {dx_update}
    db = {db}
    return {dx}, dw, db
"""


def _conv(step="s", dx_update='np.einsum("nf,fckl->nckl", g, w)', db="dout.sum(axis=(0, 2, 3))",
          dx="dx_pad[:, :, pad:pad + h, pad:pad + wd]"):
    return _CONV_LOOP.format(step=step, dx_update=dx_update, db=db, dx=dx)


WRONG = [
    # ------------------------------------------------------------------ affine_backward
    Wrong(AFFINE, "db is dout", """
def affine_backward(dout, x, w, b):
    x2 = x.reshape(x.shape[0], -1)
    return (dout @ w.T).reshape(x.shape), x2.T @ dout, dout
""", score=0.0, diagnosis="db not summed over the batch"),
    Wrong(AFFINE, "dw transposed", """
def affine_backward(dout, x, w, b):
    x2 = x.reshape(x.shape[0], -1)
    return (dout @ w.T).reshape(x.shape), dout.T @ x2, dout.sum(axis=0)
""", score=0.0, diagnosis="dw transposed"),
    Wrong(AFFINE, "dx left flat", """
def affine_backward(dout, x, w, b):
    x2 = x.reshape(x.shape[0], -1)
    return dout @ w.T, x2.T @ dout, dout.sum(axis=0)
""", score=2.4, diagnosis="dx not reshaped to the shape of x"),
    Wrong(AFFINE, "dw divided by N", """
def affine_backward(dout, x, w, b):
    x2 = x.reshape(x.shape[0], -1)
    return (dout @ w.T).reshape(x.shape), x2.T @ dout / len(x), dout.sum(axis=0)
""", score=0.6, diagnosis="dw averaged over the batch"),
    Wrong(AFFINE, "dx summed over d", """
def affine_backward(dout, x, w, b):
    x2 = x.reshape(x.shape[0], -1)
    dx = np.sum(dout[:, None, :] * w[None, :, :], axis=1)
    return dx, x2.T @ dout, dout.sum(axis=0)
""", score=0.0, diagnosis="dx summed over the wrong axis"),
    Wrong(AFFINE, "w not transposed", """
def affine_backward(dout, x, w, b):
    x2 = x.reshape(x.shape[0], -1)
    return (dout @ w).reshape(x.shape), x2.T @ dout, dout.sum(axis=0)
""", score=0.0, diagnosis="w not transposed in dx"),

    # ------------------------------------------------------------------ relu_backward
    Wrong(RELU, "pass-through", """
def relu_backward(dout, x):
    return dout.copy()
""", score=0.0, diagnosis="dout passed through unchanged"),
    Wrong(RELU, "mask of dout", """
def relu_backward(dout, x):
    return dout * (dout > 0)
""", score=0.0, diagnosis="mask taken from dout instead of x"),
    Wrong(RELU, "times the output", """
def relu_backward(dout, x):
    return dout * np.maximum(x, 0)
""", score=0.0, diagnosis="multiplied by the ReLU output"),
    Wrong(RELU, "mask only", """
def relu_backward(dout, x):
    return (x > 0).astype(float)
""", score=0.0, diagnosis="returned the mask without dout"),

    # ------------------------------------------------------------------ max_pool_backward
    Wrong(MAX, "average-pool routing", _avg(size="(k * k)").replace("avg_pool_backward", "max_pool_backward"),
          score=0.0, diagnosis="gradient routed to every element of the window"),
    Wrong(MAX, "stride ignored", _max(stride_line="    s = k"), score=0.75,
          diagnosis="stride ignored (windows moved by kernel_size)"),
    Wrong(MAX, "= instead of +=", _max(op="="), score=1.5,
          diagnosis="overlapping windows not accumulated"),
    Wrong(MAX, "stride None", _max(stride_line="    s = stride"), score=2.25,
          diagnosis="stride=None not replaced by kernel_size"),
    Wrong(MAX, "row and column swapped", _max(p="q", q="p"), score=0.0,
          diagnosis="row and column of the maximum swapped"),

    # ------------------------------------------------------------------ avg_pool_backward
    Wrong(AVG, "not divided", _avg(size="1"), score=0.0, diagnosis="not divided by the window size"),
    Wrong(AVG, "divided by k", _avg(size="k"), score=0.0, diagnosis="divided by kernel_size instead"),
    Wrong(AVG, "routed to the max", _max().replace("max_pool_backward", "avg_pool_backward"), score=0.0,
          diagnosis="routed only to the maximum"),
    Wrong(AVG, "= instead of +=", _avg(op="="), score=1.0, diagnosis="overlapping windows not accumulated"),
    Wrong(AVG, "window moved by one", _avg(step="1"), score=0.0,
          diagnosis="stride ignored (windows moved by one pixel)"),

    # ------------------------------------------------------------------ conv_backward
    Wrong(CONV, "kernel flipped", _conv(dx_update='np.einsum("nf,fckl->nckl", g, w[:, :, ::-1, ::-1])'),
          score=0.0, diagnosis="kernel flipped in dx"),
    Wrong(CONV, "db per image", _conv(db="dout.sum(axis=(2, 3))"), score=0.0,
          diagnosis="db not summed over the batch"),
    Wrong(CONV, "padding left on dx", _conv(dx="dx_pad"), score=2.0,
          diagnosis="dx returned with the padding still on"),
    Wrong(CONV, "stride ignored", _conv(step="1"), score=2.0, diagnosis="stride ignored"),
    Wrong(CONV, "dx summed over the batch", _conv(dx_update='np.einsum("nf,fckl->ckl", g, w)'), score=0.0,
          diagnosis="dx summed over the wrong axis (the batch)"),

    # ------------------------------------------------------------------ softmax_cross_entropy_backward
    Wrong(CE, "gradient not divided by N", """
def softmax_cross_entropy_backward(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), labels].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), labels] -= 1
    return float(loss), dlogits
""", score=0.6, diagnosis="gradient not divided by N"),
    Wrong(CE, "one-hot not subtracted", """
def softmax_cross_entropy_backward(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), labels].mean()
    return float(loss), np.exp(log_probs) / n
""", score=0.0, diagnosis="gradient is softmax without subtracting the one-hot"),
    Wrong(CE, "not shifted by the maximum", """
def softmax_cross_entropy_backward(logits, labels):
    n = logits.shape[0]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), labels]).mean()
    dlogits = p.copy()
    dlogits[np.arange(n), labels] -= 1
    return float(loss), dlogits / n
""", score=1.8, diagnosis="softmax not shifted by the maximum"),
    Wrong(CE, "loss summed", """
def softmax_cross_entropy_backward(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), labels].sum()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), labels] -= 1
    return float(loss), dlogits / n
""", score=0.6, diagnosis="loss summed over the batch, not averaged"),
    Wrong(CE, "softmax over the batch axis", """
def softmax_cross_entropy_backward(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=0, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=0, keepdims=True)
    loss = -np.log(p[np.arange(n), labels]).mean()
    dlogits = p.copy()
    dlogits[np.arange(n), labels] -= 1
    return float(loss), dlogits / n
""", score=0.0, diagnosis="softmax over the wrong axis"),
]

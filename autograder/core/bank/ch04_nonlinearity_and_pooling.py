from tests.bank import Wrong

STEM = "04-nonlinearity-and-pooling"

WRONG = [
    # ------------------------------------------------------------------ relu_forward (2 points, 5 groups)
    Wrong(f"{STEM}.relu_forward", "leaky", """
def relu_forward(x):
    return np.where(x > 0, x, 0.01 * x)
""", score=0.0, diagnosis="leaky ReLU"),
    Wrong(f"{STEM}.relu_forward", "abs", """
def relu_forward(x):
    return np.abs(x)
""", score=0.0, diagnosis="absolute value"),
    Wrong(f"{STEM}.relu_forward", "relu6", """
def relu_forward(x):
    return np.clip(x, 0, 6)
""", score=1.2, diagnosis="capped at 6"),
    Wrong(f"{STEM}.relu_forward", "boolean mask", """
def relu_forward(x):
    return x > 0
""", score=0.0, diagnosis="mask instead of the values"),
    Wrong(f"{STEM}.relu_forward", "nan at zero", """
def relu_forward(x):
    # (x + |x|) / 2, written with the sign x / |x|
    return x * (x / np.abs(x) + 1) / 2
""", score=1.2, diagnosis="ReLU at exactly 0"),
    Wrong(f"{STEM}.relu_forward", "python max", """
def relu_forward(x):
    return max(x, 0)
""", score=0.0, diagnosis="np.maximum"),
    # ------------------------------------------------------------------ max_pool_forward (3 points, 6 groups)
    Wrong(f"{STEM}.max_pool_forward", "channel axis", """
def max_pool_forward(x, kernel_size, stride=None):
    k = kernel_size
    s = k if stride is None else stride
    n, c, h, w = x.shape
    out = np.zeros((n, c, (h - k) // s + 1, (w - k) // s + 1))
    for b in range(n):
        for i in range(out.shape[2]):
            for j in range(out.shape[3]):
                out[b, :, i, j] = x[b, :, i * s:i * s + k, j * s:j * s + k].max()
    return out
""", score=0.0, diagnosis="pooling over the channel axis"),
    Wrong(f"{STEM}.max_pool_forward", "stride ignored", """
def max_pool_forward(x, kernel_size, stride=None):
    k = kernel_size
    n, c, h, w = x.shape
    x = x[:, :, :h // k * k, :w // k * k]
    return x.reshape(n, c, h // k, k, w // k, k).max(axis=(3, 5))
""", score=1.0, diagnosis="stride ignored"),
    Wrong(f"{STEM}.max_pool_forward", "ceil", """
import math
def max_pool_forward(x, kernel_size, stride=None):
    k = kernel_size
    s = k if stride is None else stride
    n, c, h, w = x.shape
    out_h, out_w = math.ceil((h - k) / s) + 1, math.ceil((w - k) / s) + 1
    out = np.zeros((n, c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
    return out
""", score=2.5, diagnosis="ceil instead of floor"),
    Wrong(f"{STEM}.max_pool_forward", "average", """
def max_pool_forward(x, kernel_size, stride=None):
    s = kernel_size if stride is None else stride
    windows = sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))[:, :, ::s, ::s]
    return windows.mean(axis=(-2, -1))
""", score=0.0, diagnosis="average instead of max"),
    Wrong(f"{STEM}.max_pool_forward", "running max from zero", """
def max_pool_forward(x, kernel_size, stride=None):
    k = kernel_size
    s = k if stride is None else stride
    n, c, h, w = x.shape
    out = np.zeros((n, c, (h - k) // s + 1, (w - k) // s + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            for p in range(k):
                for q in range(k):
                    out[:, :, i, j] = np.maximum(out[:, :, i, j], x[:, :, i * s + p, j * s + q])
    return out
""", score=0.0, diagnosis="max started at 0"),
    # ------------------------------------------------------------------ avg_pool_forward (3 points, 6 groups)
    Wrong(f"{STEM}.avg_pool_forward", "sum", """
def avg_pool_forward(x, kernel_size, stride=None):
    s = kernel_size if stride is None else stride
    windows = sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))[:, :, ::s, ::s]
    return windows.sum(axis=(-2, -1))
""", score=0.0, diagnosis="sum instead of mean"),
    Wrong(f"{STEM}.avg_pool_forward", "stride ignored", """
def avg_pool_forward(x, kernel_size, stride=None):
    windows = sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))
    return windows.mean(axis=(-2, -1))
""", score=0.0, diagnosis="stride ignored"),
    Wrong(f"{STEM}.avg_pool_forward", "nhwc", """
def avg_pool_forward(x, kernel_size, stride=None):
    s = kernel_size if stride is None else stride
    windows = sliding_window_view(x, (kernel_size, kernel_size), axis=(1, 2))[:, ::s, ::s]
    return windows.mean(axis=(-2, -1))
""", score=0.0, diagnosis="channel axis"),
    Wrong(f"{STEM}.avg_pool_forward", "max", """
def avg_pool_forward(x, kernel_size, stride=None):
    s = kernel_size if stride is None else stride
    windows = sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))[:, :, ::s, ::s]
    return windows.max(axis=(-2, -1))
""", score=0.0, diagnosis="max instead of average"),
    Wrong(f"{STEM}.avg_pool_forward", "divided by k", """
def avg_pool_forward(x, kernel_size, stride=None):
    s = kernel_size if stride is None else stride
    windows = sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))[:, :, ::s, ::s]
    return windows.sum(axis=(-2, -1)) / kernel_size
""", score=0.0, diagnosis="instead of kernel_size²"),
    Wrong(f"{STEM}.avg_pool_forward", "ceil", """
import math
def avg_pool_forward(x, kernel_size, stride=None):
    k = kernel_size
    s = k if stride is None else stride
    n, c, h, w = x.shape
    out = np.zeros((n, c, math.ceil((h - k) / s) + 1, math.ceil((w - k) / s) + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].mean(axis=(2, 3))
    return out
""", score=2.5, diagnosis="ceil instead of floor"),
    # ------------------------------------------------------------------ global_avg_pool (1 point, weights 1, 2, 1)
    Wrong(f"{STEM}.global_avg_pool", "channels too", """
def global_avg_pool(x):
    return x.mean(axis=(1, 2, 3))
""", score=0.0, diagnosis="channels averaged too"),
    Wrong(f"{STEM}.global_avg_pool", "keepdims", """
def global_avg_pool(x):
    return x.mean(axis=(2, 3), keepdims=True)
""", score=0.0, diagnosis="kept the spatial axes"),
    Wrong(f"{STEM}.global_avg_pool", "sum", """
def global_avg_pool(x):
    return x.sum(axis=(2, 3))
""", score=0.0, diagnosis="sum instead of mean"),
    Wrong(f"{STEM}.global_avg_pool", "first row", """
def global_avg_pool(x):
    return x[:, :, 0].mean(axis=-1)
""", score=0.25, diagnosis="only the first row"),
]

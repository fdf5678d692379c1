"""Known-wrong answers for chapter 5, Going deeper.

Scores (each exercise is worth 5 points, one point per group of weight 1):
conv_relu_pool_forward groups: visible, random, conv stride, conv padding, overlapping pools;
trace_shapes groups: visible, conv→ReLU, strided+padded, pools, whole networks;
receptive_field groups: visible (1), stride 1 (1), strided (2), edge cases (1).
"""

from tests.bank import Wrong

_WINDOWS = """
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _conv(x, w, b, stride, padding):
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xpad, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwpq,fcpq->nfhw", windows, w) + b[None, :, None, None]


def _pool(a, size, stride, reduce=np.max):
    windows = sliding_window_view(a, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    return reduce(windows, axis=(4, 5))
"""


def _block(body: str) -> str:
    return _WINDOWS + """

def conv_relu_pool_forward(x, w, b, conv_stride=1, conv_padding=0, pool_size=2, pool_stride=2):
""" + body


def _trace(conv_size: str, pool_size: str, conv_channels: str = 'layer["filters"]', pool_channels: str = "c",
           width: str = "w") -> str:
    return f"""
import math


def trace_shapes(input_shape, layers):
    c, h, w = input_shape
    shapes = []
    for layer in layers:
        if layer["type"] == "conv":
            k, s, p = layer["kernel"], layer["stride"], layer["padding"]
            c, h, w = {conv_channels}, {conv_size.format(n="h")}, {conv_size.format(n=width)}
        elif layer["type"] == "pool":
            k, s = layer["kernel"], layer["stride"]
            c, h, w = {pool_channels}, {pool_size.format(n="h")}, {pool_size.format(n=width)}
        shapes.append((c, h, w))
    return shapes
"""


def _receptive(body: str) -> str:
    return """
import math


def receptive_field(layers):
""" + body


_FLOOR = "({n} + 2 * p - k) // s + 1"
_POOL = "({n} - k) // s + 1"

WRONG = [
    # ---------------------------------------------------------------- conv_relu_pool_forward
    Wrong("05-going-deeper.conv_relu_pool_forward", "relu missing", _block("""
    return _pool(_conv(x, w, b, conv_stride, conv_padding), pool_size, pool_stride)
"""), score=0.0, diagnosis="ReLU missing"),
    Wrong("05-going-deeper.conv_relu_pool_forward", "leaky relu", _block("""
    z = _conv(x, w, b, conv_stride, conv_padding)
    return _pool(np.where(z > 0, z, 0.01 * z), pool_size, pool_stride)
"""), score=0.0, diagnosis="leaky ReLU"),
    Wrong("05-going-deeper.conv_relu_pool_forward", "average pooling", _block("""
    a = np.maximum(_conv(x, w, b, conv_stride, conv_padding), 0)
    return _pool(a, pool_size, pool_stride, reduce=np.mean)
"""), score=0.0, diagnosis="average instead of max pooling"),
    Wrong("05-going-deeper.conv_relu_pool_forward", "conv stride ignored", _block("""
    a = np.maximum(_conv(x, w, b, 1, conv_padding), 0)
    return _pool(a, pool_size, pool_stride)
"""), score=4.0, diagnosis="conv stride ignored"),
    Wrong("05-going-deeper.conv_relu_pool_forward", "pool stride = pool size", _block("""
    a = np.maximum(_conv(x, w, b, conv_stride, conv_padding), 0)
    return _pool(a, pool_size, pool_size)
"""), score=4.0, diagnosis="pool stride ignored"),
    Wrong("05-going-deeper.conv_relu_pool_forward", "kernel flipped", _block("""
    a = np.maximum(_conv(x, w[:, :, ::-1, ::-1], b, conv_stride, conv_padding), 0)
    return _pool(a, pool_size, pool_stride)
"""), score=0.0, diagnosis="kernel flipped"),
    Wrong("05-going-deeper.conv_relu_pool_forward", "pooling over channels", _block("""
    a = np.maximum(_conv(x, w, b, conv_stride, conv_padding), 0)
    windows = sliding_window_view(a, (pool_size, pool_size), axis=(1, 2))[:, ::pool_stride, ::pool_stride]
    return windows.max(axis=(4, 5))
"""), score=0.0, diagnosis="pooling over the channel axis"),
    # ---------------------------------------------------------------- trace_shapes
    Wrong("05-going-deeper.trace_shapes", "pool changes channels",
          _trace(_FLOOR, _POOL, pool_channels="(c - k) // s + 1"),
          score=2.0, diagnosis="pooling changes the number of channels"),
    Wrong("05-going-deeper.trace_shapes", "conv keeps input channels", _trace(_FLOOR, _POOL, conv_channels="c"),
          score=0.0, diagnosis="conv keeps the input's channels"),
    Wrong("05-going-deeper.trace_shapes", "ceil", _trace("math.ceil(({n} + 2 * p - k) / s) + 1",
                                                         "math.ceil(({n} - k) / s) + 1"),
          score=2.0, diagnosis="ceil instead of floor"),
    Wrong("05-going-deeper.trace_shapes", "padding counted once", _trace("({n} + p - k) // s + 1", _POOL),
          score=3.0, diagnosis="padding counted once"),
    Wrong("05-going-deeper.trace_shapes", "width from height", _trace(_FLOOR, _POOL, width="h"),
          score=1.0, diagnosis="width computed from the height"),
    # ---------------------------------------------------------------- receptive_field
    Wrong("05-going-deeper.receptive_field", "kernel sizes summed", _receptive("""
    return sum(kernel for kernel, _ in layers)
"""), score=0.0, diagnosis="kernel sizes summed"),
    Wrong("05-going-deeper.receptive_field", "strides ignored", _receptive("""
    r = 1
    for kernel, stride in layers:
        r += kernel - 1
    return r
"""), score=2.0, diagnosis="strides ignored"),
    Wrong("05-going-deeper.receptive_field", "kernel sizes multiplied", _receptive("""
    return math.prod(kernel for kernel, _ in layers)
"""), score=1.0, diagnosis="kernel sizes multiplied"),
    Wrong("05-going-deeper.receptive_field", "off by one", _receptive("""
    r, j = 0, 1
    for kernel, stride in layers:
        r += (kernel - 1) * j
        j *= stride
    return r
"""), score=0.0, diagnosis="off by one"),
    Wrong("05-going-deeper.receptive_field", "jump updated too early", _receptive("""
    r, j = 1, 1
    for kernel, stride in layers:
        j *= stride
        r += (kernel - 1) * j
    return r
"""), score=1.0, diagnosis="jump updated too early"),
]

"""Known-wrong solutions for chapter 2, Convolution.

Points and group weights (see autograder/checks/ch02_convolution.py):

- conv_single_step, 2 points: visible 1, random windows 2, 1×1 windows 1 (total 4);
- conv_output_size, 2 points: visible 1 + 1, randomized 2 (total 4);
- zero_pad, 2 points: visible 1, random batches 2, pad = 0 1, thin images 1 (total 5);
- conv_forward_naive, 6 points, and conv_forward_im2col, 3 points: visible, basic, stride,
  padding, stride and padding, edge cases, 1 each (total 6);
- im2col, 3 points: the same six groups (total 6).

Each wrong answer replaces only its own exercise's cell; the other cells keep the reference
solution (so a wrong conv_forward_im2col still calls a correct im2col).
"""

from tests.bank import Wrong

SINGLE = "02-convolution.conv_single_step"
SIZE = "02-convolution.conv_output_size"
PAD = "02-convolution.zero_pad"
NAIVE = "02-convolution.conv_forward_naive"
COLS = "02-convolution.im2col"
FAST = "02-convolution.conv_forward_im2col"

WRONG = [
    # ------------------------------------------------------------------ conv_single_step
    Wrong(SINGLE, "bias missing", """
def conv_single_step(x_slice, w, b):
    return float(np.sum(x_slice * w))
""", score=0.0, diagnosis="bias missing"),
    Wrong(SINGLE, "mean instead of sum", """
def conv_single_step(x_slice, w, b):
    return float(np.mean(x_slice * w) + b)
""", score=0.0, diagnosis="mean instead of sum"),
    Wrong(SINGLE, "kernel flipped", """
def conv_single_step(x_slice, w, b):
    return float(np.sum(x_slice * w[:, ::-1, ::-1]) + b)
""", score=0.5, diagnosis="kernel flipped"),
    Wrong(SINGLE, "bias added to every product", """
def conv_single_step(x_slice, w, b):
    return float(np.sum(x_slice * w + b))
""", score=0.0, diagnosis="bias added to every product"),
    Wrong(SINGLE, "matrix product", """
def conv_single_step(x_slice, w, b):
    return float(np.sum(np.matmul(x_slice, w)) + b)
""", score=0.5, diagnosis="matrix product instead of elementwise product"),

    # ------------------------------------------------------------------ conv_output_size
    Wrong(SIZE, "ceil", """
import math
def conv_output_size(size, kernel, stride=1, padding=0):
    return math.ceil((size - kernel + 2 * padding) / stride) + 1
""", score=0.5, diagnosis="rounded up"),
    Wrong(SIZE, "forgot the + 1", """
def conv_output_size(size, kernel, stride=1, padding=0):
    return (size - kernel + 2 * padding) // stride
""", score=0.0, diagnosis="forgot the + 1"),
    Wrong(SIZE, "padding counted once", """
def conv_output_size(size, kernel, stride=1, padding=0):
    return (size - kernel + padding) // stride + 1
""", score=0.5, diagnosis="padding counted once"),
    Wrong(SIZE, "stride ignored", """
def conv_output_size(size, kernel, stride=1, padding=0):
    return size - kernel + 2 * padding + 1
""", score=0.5, diagnosis="stride ignored"),

    # ------------------------------------------------------------------ zero_pad
    Wrong(PAD, "every axis padded", """
def zero_pad(x, pad):
    return np.pad(x, pad)
""", score=0.4, diagnosis="padding applied to every axis"),
    Wrong(PAD, "one side only", """
def zero_pad(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, 0), (pad, 0)))
""", score=0.4, diagnosis="padding on one side only"),
    Wrong(PAD, "channels-last habit", """
def zero_pad(x, pad):
    return np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
""", score=0.4, diagnosis="as if x were NHWC"),
    Wrong(PAD, "padded with ones", """
def zero_pad(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=1)
""", score=0.4, diagnosis="padded with ones"),
    Wrong(PAD, "slice pad:-pad", """
def zero_pad(x, pad):
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    out[:, :, pad:-pad, pad:-pad] = x
    return out
""", score=1.6, diagnosis="breaks when pad is 0"),

    # ------------------------------------------------------------------ conv_forward_naive
    Wrong(NAIVE, "kernel flipped", """
def conv_forward_naive(x, w, b, stride=1, padding=0):
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    out_h = (height + 2 * padding - kh) // stride + 1
    out_w = (width + 2 * padding - kw) // stride + 1
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n_images, n_filters, out_h, out_w))
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    window = xpad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = np.sum(window * w[f, :, ::-1, ::-1]) + b[f]
    return out
""", score=0.0, diagnosis="kernel flipped"),
    Wrong(NAIVE, "bias missing", """
def conv_forward_naive(x, w, b, stride=1, padding=0):
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    out_h = (height + 2 * padding - kh) // stride + 1
    out_w = (width + 2 * padding - kw) // stride + 1
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n_images, n_filters, out_h, out_w))
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    window = xpad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = np.sum(window * w[f])
    return out
""", score=0.0, diagnosis="bias missing"),
    Wrong(NAIVE, "window not moved by the stride", """
def conv_forward_naive(x, w, b, stride=1, padding=0):
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    out_h = (height + 2 * padding - kh) // stride + 1
    out_w = (width + 2 * padding - kw) // stride + 1
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n_images, n_filters, out_h, out_w))
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    window = xpad[n, :, i:i + kh, j:j + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out
""", score=3.0, diagnosis="window not moved by the stride"),
    Wrong(NAIVE, "every axis padded", """
def conv_forward_naive(x, w, b, stride=1, padding=0):
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    out_h = (height + 2 * padding - kh) // stride + 1
    out_w = (width + 2 * padding - kw) // stride + 1
    xpad = np.pad(x, padding)
    out = np.zeros((n_images, n_filters, out_h, out_w))
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    window = xpad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out
""", score=3.0, diagnosis="padding applied to the wrong axes"),
    Wrong(NAIVE, "padding ignored", """
def conv_forward_naive(x, w, b, stride=1, padding=0):
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    out_h = (height - kh) // stride + 1
    out_w = (width - kw) // stride + 1
    out = np.zeros((n_images, n_filters, out_h, out_w))
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    window = x[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out
""", score=3.0, diagnosis="padding ignored"),

    # ------------------------------------------------------------------ im2col
    Wrong(COLS, "rows in (KH, KW, C) order", """
def im2col(x, kh, kw, stride=1, padding=0):
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, out_h, out_w = windows.shape[:4]
    return windows.transpose(0, 4, 5, 1, 2, 3).reshape(n, c * kh * kw, out_h * out_w)
""", score=0.0, diagnosis="rows in (KH, KW, C) order"),
    Wrong(COLS, "windows as rows", """
def im2col(x, kh, kw, stride=1, padding=0):
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, out_h, out_w = windows.shape[:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, out_h * out_w, c * kh * kw)
""", score=0.0, diagnosis="windows as rows instead of columns"),
    Wrong(COLS, "windows in column-major order", """
def im2col(x, kh, kw, stride=1, padding=0):
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, out_h, out_w = windows.shape[:4]
    return windows.transpose(0, 1, 4, 5, 3, 2).reshape(n, c * kh * kw, out_h * out_w)
""", score=0.0, diagnosis="windows in column-major order"),
    Wrong(COLS, "stride ignored", """
def im2col(x, kh, kw, stride=1, padding=0):
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xpad, (kh, kw), axis=(2, 3))
    n, c, out_h, out_w = windows.shape[:4]
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, out_h * out_w)
""", score=1.5, diagnosis="stride ignored"),
    Wrong(COLS, "padding ignored", """
def im2col(x, kh, kw, stride=1, padding=0):
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, out_h, out_w = windows.shape[:4]
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, out_h * out_w)
""", score=1.5, diagnosis="padding ignored"),

    # ------------------------------------------------------------------ conv_forward_im2col
    Wrong(FAST, "bias missing", """
def conv_forward_im2col(x, w, b, stride=1, padding=0):
    n_filters, _, kh, kw = w.shape
    out_h = (x.shape[2] + 2 * padding - kh) // stride + 1
    out_w = (x.shape[3] + 2 * padding - kw) // stride + 1
    out = w.reshape(n_filters, -1) @ im2col(x, kh, kw, stride, padding)
    return out.reshape(x.shape[0], n_filters, out_h, out_w)
""", score=0.0, diagnosis="bias missing"),
    Wrong(FAST, "batch and filter axes mixed up", """
def conv_forward_im2col(x, w, b, stride=1, padding=0):
    n_filters, _, kh, kw = w.shape
    out_h = (x.shape[2] + 2 * padding - kh) // stride + 1
    out_w = (x.shape[3] + 2 * padding - kw) // stride + 1
    cols = im2col(x, kh, kw, stride, padding)  # (N, K, L)
    big = cols.transpose(1, 0, 2).reshape(cols.shape[1], -1)  # (K, N*L): one big matrix
    out = w.reshape(n_filters, -1) @ big + b[:, None]  # (F, N*L)
    return out.reshape(x.shape[0], n_filters, out_h, out_w)  # forgot to move F after N
""", score=0.0, diagnosis="batch and filter axes mixed up"),
    Wrong(FAST, "bias along the wrong axis", """
def conv_forward_im2col(x, w, b, stride=1, padding=0):
    n_filters, _, kh, kw = w.shape
    out_h = (x.shape[2] + 2 * padding - kh) // stride + 1
    out_w = (x.shape[3] + 2 * padding - kw) // stride + 1
    out = w.reshape(n_filters, -1) @ im2col(x, kh, kw, stride, padding)
    return out.reshape(x.shape[0], n_filters, out_h, out_w) + b
""", score=0.0, diagnosis=""),
    Wrong(FAST, "stride ignored", """
def conv_forward_im2col(x, w, b, stride=1, padding=0):
    n_filters, _, kh, kw = w.shape
    out_h = x.shape[2] + 2 * padding - kh + 1
    out_w = x.shape[3] + 2 * padding - kw + 1
    out = w.reshape(n_filters, -1) @ im2col(x, kh, kw, 1, padding) + b[:, None]
    return out.reshape(x.shape[0], n_filters, out_h, out_w)
""", score=1.5, diagnosis="stride ignored"),
    Wrong(FAST, "padding ignored", """
def conv_forward_im2col(x, w, b, stride=1, padding=0):
    n_filters, _, kh, kw = w.shape
    out_h = (x.shape[2] - kh) // stride + 1
    out_w = (x.shape[3] - kw) // stride + 1
    out = w.reshape(n_filters, -1) @ im2col(x, kh, kw, stride, 0) + b[:, None]
    return out.reshape(x.shape[0], n_filters, out_h, out_w)
""", score=1.5, diagnosis="padding ignored"),
]

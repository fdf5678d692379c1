"""Known-wrong answers for chapter 1, Images as arrays, with their exact scores.

Points: to_float 2 (4 groups), hwc_to_nchw 2 (4 groups), center_crop 3 (4 groups),
rgb_to_grayscale 3 (4 groups), normalize 4 (5 groups); every group weighs 1.
"""

from tests.bank import Wrong

TO_FLOAT = "01-images-as-arrays.to_float"
HWC_TO_NCHW = "01-images-as-arrays.hwc_to_nchw"
CENTER_CROP = "01-images-as-arrays.center_crop"
GRAYSCALE = "01-images-as-arrays.rgb_to_grayscale"
NORMALIZE = "01-images-as-arrays.normalize"

WRONG = [
    # ------------------------------------------------------------------ to_float (2 points)
    Wrong(TO_FLOAT, "divided by 256", """
def to_float(image):
    return image.astype(np.float64) / 256
""", score=0.0, diagnosis="divided by 256"),
    Wrong(TO_FLOAT, "integer division", """
def to_float(image):
    return image // 255
""", score=0.0, diagnosis="integer division"),
    Wrong(TO_FLOAT, "divided by the image's maximum", """
def to_float(image):
    return image / image.max()
""", score=0.0, diagnosis="divided by the image's own maximum"),
    Wrong(TO_FLOAT, "not scaled", """
def to_float(image):
    return image.astype(np.float64)
""", score=0.0, diagnosis="not scaled"),
    Wrong(TO_FLOAT, "scaled to [-1, 1]", """
def to_float(image):
    return image / 127.5 - 1
""", score=0.0, diagnosis="scaled to [-1, 1]"),
    Wrong(TO_FLOAT, "only (H, W, C) images", """
def to_float(image):
    h, w, c = image.shape
    out = np.zeros((h, w, c))
    for i in range(h):
        for j in range(w):
            out[i, j] = image[i, j] / 255
    return out
""", score=1.5, diagnosis="assumed an (H, W, C) image"),

    # ------------------------------------------------------------------ hwc_to_nchw (2 points)
    Wrong(HWC_TO_NCHW, "reshape instead of transpose", """
def hwc_to_nchw(images):
    n, h, w, c = images.shape
    return images.reshape(n, c, h, w)
""", score=0.0, diagnosis="reshape instead of transpose"),
    Wrong(HWC_TO_NCHW, "(N, C, W, H)", """
def hwc_to_nchw(images):
    return images.transpose(0, 3, 2, 1)
""", score=0.0, diagnosis="axes in the wrong order (N, C, W, H)"),
    Wrong(HWC_TO_NCHW, "inverse permutation", """
def hwc_to_nchw(images):
    return np.transpose(images, (0, 2, 3, 1))
""", score=0.0, diagnosis="the inverse permutation"),
    Wrong(HWC_TO_NCHW, "transpose without axes", """
def hwc_to_nchw(images):
    return np.transpose(images)
""", score=0.0, diagnosis="all axes reversed"),
    Wrong(HWC_TO_NCHW, "three-axis transpose", """
def hwc_to_nchw(images):
    return images.transpose(2, 0, 1)
""", score=0.0, diagnosis="treated the batch as a single image"),
    Wrong(HWC_TO_NCHW, "loop into a float array", """
def hwc_to_nchw(images):
    n, h, w, c = images.shape
    out = np.zeros((n, c, h, w))
    for k in range(c):
        out[:, k] = images[:, :, :, k]
    return out
""", score=1.5, diagnosis="converted to float"),

    # ------------------------------------------------------------------ center_crop (3 points)
    Wrong(CENTER_CROP, "centre rounded up", """
def center_crop(x, size):
    top = (x.shape[2] - size + 1) // 2
    left = (x.shape[3] - size + 1) // 2
    return x[:, :, top:top + size, left:left + size]
""", score=0.75, diagnosis="centre rounded the wrong way"),
    Wrong(CENTER_CROP, "sliced to H - top", """
def center_crop(x, size):
    n, c, h, w = x.shape
    top, left = (h - size) // 2, (w - size) // 2
    return x[:, :, top:h - top, left:w - left]
""", score=0.75, diagnosis="sliced to H - top"),
    Wrong(CENTER_CROP, "rows and columns swapped", """
def center_crop(x, size):
    n, c, h, w = x.shape
    top, left = (w - size) // 2, (h - size) // 2
    return x[:, :, top:top + size, left:left + size]
""", score=0.0, diagnosis="rows and columns swapped"),
    Wrong(CENTER_CROP, "top-left corner", """
def center_crop(x, size):
    return x[:, :, :size, :size]
""", score=0.0, diagnosis="cropped the top-left corner"),
    Wrong(CENTER_CROP, "read x as NHWC", """
def center_crop(x, size):
    n, h, w, c = x.shape
    top, left = (h - size) // 2, (w - size) // 2
    return x[:, top:top + size, left:left + size, :]
""", score=0.0, diagnosis="treated x as (N, H, W, C)"),
    Wrong(CENTER_CROP, "copied into a float array", """
def center_crop(x, size):
    n, c, h, w = x.shape
    top, left = (h - size) // 2, (w - size) // 2
    out = np.zeros((n, c, size, size))
    out[:] = x[:, :, top:top + size, left:left + size]
    return out
""", score=2.25, diagnosis="converted to float"),

    # ------------------------------------------------------------------ rgb_to_grayscale (3 points)
    Wrong(GRAYSCALE, "plain mean", """
def rgb_to_grayscale(x):
    return x.mean(axis=1, keepdims=True)
""", score=0.0, diagnosis="plain mean of the channels"),
    Wrong(GRAYSCALE, "BGR order", """
def rgb_to_grayscale(x):
    return 0.114 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.299 * x[:, 2:3]
""", score=0.0, diagnosis="channels in BGR order"),
    Wrong(GRAYSCALE, "channel axis dropped", """
def rgb_to_grayscale(x):
    return 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
""", score=0.0, diagnosis="channel axis dropped"),
    Wrong(GRAYSCALE, "Rec. 709 weights", """
def rgb_to_grayscale(x):
    return 0.2126 * x[:, 0:1] + 0.7152 * x[:, 1:2] + 0.0722 * x[:, 2:3]
""", score=0.0, diagnosis="Rec. 709 weights"),
    Wrong(GRAYSCALE, "weights on the last axis", """
def rgb_to_grayscale(x):
    weights = np.array([0.299, 0.587, 0.114])
    return np.sum(x * weights, axis=1, keepdims=True)
""", score=0.0, diagnosis="weights applied along the width axis"),
    Wrong(GRAYSCALE, "zeros_like keeps uint8", """
def rgb_to_grayscale(x):
    out = np.zeros_like(x[:, :1])
    out[:, 0] = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    return out
""", score=2.25, diagnosis="kept the input's integer dtype"),

    # ------------------------------------------------------------------ normalize (4 points)
    Wrong(NORMALIZE, "whole-array statistics", """
def normalize(x):
    return (x - x.mean()) / x.std()
""", score=0.0, diagnosis="statistics over the whole array"),
    Wrong(NORMALIZE, "per-image statistics", """
def normalize(x):
    mean = x.mean(axis=(2, 3), keepdims=True)
    std = x.std(axis=(2, 3), keepdims=True)
    return (x - mean) / std
""", score=0.8, diagnosis="statistics per image (each image and channel"),
    Wrong(NORMALIZE, "ddof=1", """
def normalize(x):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    std = x.std(axis=(0, 2, 3), ddof=1, keepdims=True)
    return (x - mean) / std
""", score=0.0, diagnosis="sample standard deviation (ddof=1)"),
    Wrong(NORMALIZE, "only centred", """
def normalize(x):
    return x - x.mean(axis=(0, 2, 3), keepdims=True)
""", score=0.0, diagnosis="only centred, not scaled"),
    Wrong(NORMALIZE, "mean over the channel axis", """
def normalize(x):
    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
""", score=0.0, diagnosis="statistics over the channel axis"),
    Wrong(NORMALIZE, "in place on uint8", """
def normalize(x):
    x -= x.mean(axis=(0, 2, 3), keepdims=True)
    x /= x.std(axis=(0, 2, 3), keepdims=True)
    return x
""", score=3.2, diagnosis="subtracted in place on an integer array"),
]

"""Known-wrong answers for chapter 6, Fully connected layer and softmax, with their exact scores.

Points and groups (weights):

- flatten, 2 points: visible 1, random volumes 2, other ranks 1, N = 1 1 (total 5);
- affine_forward, 3 points: visible 2-D 1, visible volumes 1, random 2-D 1, square weights 1,
  random volumes 1, edge cases 1 (total 6);
- softmax, 3 points: visible 1, random logits 2, huge logits 1, edge cases 1 (total 5);
- softmax_with_temperature, 2 points: visible 1, random T 1, very low T 1, very high T 1 (total 4).
"""

from tests.bank import Wrong

FLATTEN = "06-fully-connected-and-softmax.flatten"
AFFINE = "06-fully-connected-and-softmax.affine_forward"
SOFTMAX = "06-fully-connected-and-softmax.softmax"
TEMPERATURE = "06-fully-connected-and-softmax.softmax_with_temperature"

WRONG = [
    # ------------------------------------------------------------------ flatten (2 points)
    Wrong(FLATTEN, "batch axis flattened too", """
def flatten(x):
    return x.flatten()
""", score=0.0, diagnosis="flattened the batch axis too"),
    Wrong(FLATTEN, "Fortran order", """
def flatten(x):
    return x.reshape(x.shape[0], -1, order="F")
""", score=0.0, diagnosis="Fortran (column-major) order"),
    Wrong(FLATTEN, "channels last (NHWC) before flattening", """
def flatten(x):
    return np.moveaxis(x, 1, -1).reshape(x.shape[0], -1)
""", score=0.0, diagnosis="channel axis mixed up"),
    Wrong(FLATTEN, "returns (D, N)", """
def flatten(x):
    return x.reshape(x.shape[0], -1).T
""", score=0.0, diagnosis="returned (D, N) instead of (N, D)"),
    Wrong(FLATTEN, "only 4-D inputs", """
def flatten(x):
    n, c, h, w = x.shape
    return x.reshape(n, c * h * w)
""", score=1.6, diagnosis="assumed a 4-D input"),

    # ------------------------------------------------------------------ affine_forward (3 points)
    Wrong(AFFINE, "bias missing", """
def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w
""", score=0.0, diagnosis="bias missing"),
    Wrong(AFFINE, "torch's (M, D) weight layout", """
def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w.T + b
""", score=0.0, diagnosis="weight transposed"),
    Wrong(AFFINE, "bias along the batch axis", """
def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b[:, None]
""", score=0.0, diagnosis="bias added along the wrong axis"),
    Wrong(AFFINE, "input not flattened", """
def affine_forward(x, w, b):
    return x @ w + b
""", score=2.0, diagnosis="input not flattened"),

    # ------------------------------------------------------------------ softmax (3 points)
    Wrong(SOFTMAX, "wrong axis", """
def softmax(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
""", score=0.0, diagnosis="softmax over the wrong axis"),
    Wrong(SOFTMAX, "not shifted by the maximum", """
def softmax(x):
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)
""", score=2.4, diagnosis="not shifted by the maximum"),
    Wrong(SOFTMAX, "shifted by the minimum", """
def softmax(x):
    e = np.exp(x - x.min(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
""", score=2.4, diagnosis="shifted by the minimum"),
    Wrong(SOFTMAX, "divided by the sum of the logits", """
def softmax(x):
    shifted = x - np.max(x, axis=1, keepdims=True)
    return np.exp(shifted) / np.sum(shifted, axis=1, keepdims=True)
""", score=0.0, diagnosis="sum of the logits instead of the exponentials"),
    Wrong(SOFTMAX, "normalised over the whole batch", """
def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)
""", score=0.0, diagnosis="sum over the whole batch"),
    Wrong(SOFTMAX, "keepdims missing", """
def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1)
""", score=0.0, diagnosis="keepdims missing"),

    # ------------------------------------------------------------------ softmax_with_temperature (2 points)
    Wrong(TEMPERATURE, "temperature ignored", """
def softmax_with_temperature(x, temperature):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
""", score=0.0, diagnosis="temperature ignored"),
    Wrong(TEMPERATURE, "multiplied by T", """
def softmax_with_temperature(x, temperature):
    return softmax(x * temperature)
""", score=0.0, diagnosis="multiplied by the temperature instead of dividing"),
    Wrong(TEMPERATURE, "divided after the softmax", """
def softmax_with_temperature(x, temperature):
    return softmax(x) / temperature
""", score=0.0, diagnosis="temperature applied after the softmax"),
    Wrong(TEMPERATURE, "not shifted (overflows at low T)", """
def softmax_with_temperature(x, temperature):
    e = np.exp(x / temperature)
    return e / e.sum(axis=1, keepdims=True)
""", score=1.5, diagnosis="not shifted by the maximum"),
]

"""Known-wrong answers for chapter 9, Training.

Scores: sgd_step has 2 points over weights visible 1, random 2, names in another order 1 (total 4);
epoch_batches has 2 points over visible 1, random n 2, exact multiple 1 (total 4);
train_softmax_regression has 4 points over visible 1, random split 2, batch larger than the
training set 1 (total 4).
"""

from tests.bank import Wrong

SGD = "09-training.sgd_step"
BATCHES = "09-training.epoch_batches"
TRAIN = "09-training.train_softmax_regression"

_TRAIN_HEAD = """
def train_softmax_regression(x_train, y_train, lr, epochs, batch_size, seed):
    rng = np.random.default_rng(seed)
    n, d = x_train.shape
    w = np.zeros((d, 10))
    b = np.zeros(10)
    for epoch in range(epochs):
        order = rng.permutation(n)
"""


def _train(loop: str, step: str, ret: str = 'return {"w": w, "b": b}') -> str:
    """A training loop with one part replaced (indented for the body of the epoch loop)."""
    return _TRAIN_HEAD + loop + """
            index = order[start:start + batch_size]
            x, y = x_train[index], y_train[index]
            scores = x @ w + b
            scores = scores - scores.max(axis=1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=1, keepdims=True)
            dscores = probs.copy()
            dscores[np.arange(len(y)), y] -= 1
            dscores /= len(y)
""" + step + "\n    " + ret + "\n"


_LOOP = "        for start in range(0, n, batch_size):"
_STEP = "            w -= lr * (x.T @ dscores)\n            b -= lr * dscores.sum(axis=0)"

WRONG = [
    # ------------------------------------------------------------------ sgd_step
    Wrong(SGD, "gradient ascent", """
def sgd_step(params, grads, lr):
    return {k: params[k] + lr * grads[k] for k in params}
""", score=0.0, diagnosis="gradient ascent"),
    Wrong(SGD, "learning rate ignored", """
def sgd_step(params, grads, lr):
    return {k: params[k] - grads[k] for k in params}
""", score=0.0, diagnosis="learning rate ignored"),
    Wrong(SGD, "zip over values", """
def sgd_step(params, grads, lr):
    return {k: p - lr * g for (k, p), g in zip(params.items(), grads.values())}
""", score=1.5, diagnosis="matched by position"),
    Wrong(SGD, "hard-coded w and b", """
def sgd_step(params, grads, lr):
    return {"w": params["w"] - lr * grads["w"], "b": params["b"] - lr * grads["b"]}
""", score=0.5, diagnosis="hard-coded"),
    Wrong(SGD, "only weights", """
def sgd_step(params, grads, lr):
    return {k: params[k] - lr * grads[k] for k in params if not k.endswith("b")}
""", score=0.0, diagnosis="left out"),
    # ------------------------------------------------------------------ epoch_batches
    Wrong(BATCHES, "last partial batch dropped", """
def epoch_batches(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(n // batch_size)]
""", score=0.5, diagnosis="last partial batch dropped"),
    Wrong(BATCHES, "not shuffled", """
def epoch_batches(n, batch_size, seed):
    order = np.arange(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]
""", score=0.0, diagnosis="not shuffled"),
    Wrong(BATCHES, "start moves by one", """
def epoch_batches(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    num_batches = (n + batch_size - 1) // batch_size
    return [order[i:i + batch_size] for i in range(num_batches)]
""", score=0.0, diagnosis="overlapping batches"),
    Wrong(BATCHES, "sampled with replacement", """
def epoch_batches(n, batch_size, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, size=min(batch_size, n - start)) for start in range(0, n, batch_size)]
""", score=0.0, diagnosis="with replacement"),
    # ------------------------------------------------------------------ train_softmax_regression
    Wrong(TRAIN, "update never applied", _train(
        _LOOP, "            new_w = w - lr * (x.T @ dscores)\n            new_b = b - lr * dscores.sum(axis=0)"),
        score=0.0, diagnosis="chance level"),
    Wrong(TRAIN, "gradient ascent", _train(
        _LOOP, "            w += lr * (x.T @ dscores)\n            b += lr * dscores.sum(axis=0)"),
        score=0.0, diagnosis="chance level"),
    Wrong(TRAIN, "w transposed", _train(_LOOP, _STEP, 'return {"w": w.T, "b": b}'),
          score=0.0, diagnosis="transposed"),
    Wrong(TRAIN, "partial batches skipped", _train(
        "        for start in range(0, n - batch_size + 1, batch_size):", _STEP),
        score=3.0, diagnosis="chance level"),
]

"""Known-wrong answers for chapter 7, Loss.

Scores: one_hot has 2 points over weights visible 1, random 2, edge 1 (total 4);
mse_loss has 2 points over visible 1, random 2, N = 1 1, any numbers 1 (total 5);
cross_entropy_loss has 4 points over visible 1, random 2, N = 1 1, large 1, far 1 (total 6).
"""

from tests.bank import Wrong

ONE_HOT = "07-loss.one_hot"
MSE = "07-loss.mse_loss"
CE = "07-loss.cross_entropy_loss"

WRONG = [
    # ------------------------------------------------------------------ one_hot
    Wrong(ONE_HOT, "labels minus one", """
def one_hot(labels, num_classes):
    out = np.zeros((len(labels), num_classes))
    out[np.arange(len(labels)), labels - 1] = 1.0
    return out
""", score=0.0, diagnosis="off by one (labels - 1)"),
    Wrong(ONE_HOT, "transposed", """
def one_hot(labels, num_classes):
    out = np.zeros((num_classes, len(labels)))
    out[labels, np.arange(len(labels))] = 1.0
    return out
""", score=0.0, diagnosis="transposed"),
    Wrong(ONE_HOT, "integer dtype", """
def one_hot(labels, num_classes):
    out = np.zeros((len(labels), num_classes), dtype=int)
    out[np.arange(len(labels)), labels] = 1
    return out
""", score=0.0, diagnosis="integer one-hot"),
    Wrong(ONE_HOT, "num classes from the batch", """
def one_hot(labels, num_classes):
    return np.eye(labels.max() + 1)[labels]
""", score=1.0, diagnosis="num_classes taken from the batch"),
    Wrong(ONE_HOT, "every row every label", """
def one_hot(labels, num_classes):
    out = np.zeros((len(labels), num_classes))
    out[:, labels] = 1.0
    return out
""", score=0.0, diagnosis="every row gets every label"),
    # ------------------------------------------------------------------ mse_loss
    Wrong(MSE, "summed over the batch", """
def mse_loss(pred, target):
    return 0.5 * np.sum((target - pred) ** 2)
""", score=0.4, diagnosis="summed over the batch"),
    Wrong(MSE, "mean over all elements", """
def mse_loss(pred, target):
    return 0.5 * np.mean((target - pred) ** 2)
""", score=0.0, diagnosis="averaged over every element"),
    Wrong(MSE, "no half", """
def mse_loss(pred, target):
    return np.mean(np.sum((target - pred) ** 2, axis=1))
""", score=0.0, diagnosis="missing the 1/2"),
    Wrong(MSE, "not squared", """
def mse_loss(pred, target):
    return np.mean(0.5 * np.sum(target - pred, axis=1))
""", score=0.0, diagnosis="error not squared"),
    Wrong(MSE, "integer label used directly", """
def mse_loss(pred, target):
    labels = np.argmax(target, axis=1)
    return np.mean(0.5 * np.sum((labels[:, None] - pred) ** 2, axis=1))
""", score=0.0, diagnosis="label not one-hot"),
    # ------------------------------------------------------------------ cross_entropy_loss
    Wrong(CE, "no max shift (overflow)", """
def cross_entropy_loss(logits, labels):
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    return np.mean(-np.log(p[np.arange(len(labels)), labels]))
""", score=2.0, diagnosis="not shifted by the maximum"),
    Wrong(CE, "shifted softmax then log (underflow)", """
def cross_entropy_loss(logits, labels):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return np.mean(-np.log(p[np.arange(len(labels)), labels]))
""", score=4 * 5 / 6, diagnosis="log-sum-exp"),
    Wrong(CE, "summed over the batch", """
def cross_entropy_loss(logits, labels):
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return np.sum(lse - logits[np.arange(len(labels)), labels])
""", score=4 / 6, diagnosis="summed over the batch"),
    Wrong(CE, "log of the logit", """
def cross_entropy_loss(logits, labels):
    return np.mean(-np.log(logits[np.arange(len(labels)), labels]))
""", score=0.0, diagnosis="log of a logit"),
    Wrong(CE, "softmax over the wrong axis", """
def cross_entropy_loss(logits, labels):
    m = logits.max(axis=0, keepdims=True)
    log_p = logits - m - np.log(np.exp(logits - m).sum(axis=0, keepdims=True))
    return -np.mean(log_p[np.arange(len(labels)), labels])
""", score=0.0, diagnosis="softmax over the wrong axis"),
    Wrong(CE, "label as a column for every row", """
def cross_entropy_loss(logits, labels):
    m = logits.max(axis=1, keepdims=True)
    log_p = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    return -np.mean(log_p[:, labels])
""", score=4 / 6, diagnosis="label used as a column for every row"),
]

"""Known-wrong answers for chapter 10, Testing.

Scores: accuracy has 2 points over weights visible 1, random 2, all-or-nothing 1, single image 1
(total 5); confusion_matrix has 3 points over visible 1, random 2, missing classes 1, perfect 1
(total 5); train_test_split has 3 points over visible 1, random 2, tiny class 1, odd label
values 1 (total 5).
"""

from tests.bank import Wrong

ACC = "10-testing.accuracy"
CM = "10-testing.confusion_matrix"
SPLIT = "10-testing.train_test_split"

WRONG = [
    # ------------------------------------------------------------------ accuracy
    Wrong(ACC, "percentage", """
def accuracy(predictions, labels):
    return 100.0 * np.mean(predictions == labels)
""", score=0.0, diagnosis="percentage instead of a fraction"),
    Wrong(ACC, "count", """
def accuracy(predictions, labels):
    return int(np.sum(predictions == labels))
""", score=0.4, diagnosis="count instead of a fraction"),
    Wrong(ACC, "error rate", """
def accuracy(predictions, labels):
    return float(np.mean(predictions != labels))
""", score=0.0, diagnosis="error rate instead of accuracy"),
    Wrong(ACC, "integer division", """
def accuracy(predictions, labels):
    return np.sum(predictions == labels) // len(labels)
""", score=0.8, diagnosis="integer division"),
    Wrong(ACC, "argmax of labels", """
def accuracy(predictions, labels):
    return float(np.mean(predictions == labels.argmax(axis=1)))
""", score=0.0, diagnosis="labels treated as one-hot"),
    # ------------------------------------------------------------------ confusion_matrix
    Wrong(CM, "transposed", """
def confusion_matrix(predictions, labels, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    for t, p in zip(labels, predictions):
        cm[p, t] += 1
    return cm
""", score=0.6, diagnosis="transposed (rows = predicted class)"),
    Wrong(CM, "size from the data", """
def confusion_matrix(predictions, labels, num_classes):
    k = max(predictions.max(), labels.max()) + 1
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (labels, predictions), 1)
    return cm
""", score=2.4, diagnosis="size taken from the data"),
    Wrong(CM, "normalised rows", """
def confusion_matrix(predictions, labels, num_classes):
    cm = np.zeros((num_classes, num_classes))
    np.add.at(cm, (labels, predictions), 1)
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
""", score=0.0, diagnosis="rows normalised instead of counts"),
    Wrong(CM, "float counts", """
def confusion_matrix(predictions, labels, num_classes):
    cm = np.zeros((num_classes, num_classes))
    for t, p in zip(labels, predictions):
        cm[t, p] += 1
    return cm
""", score=0.0, diagnosis="float counts"),
    Wrong(CM, "fancy-index += does not accumulate", """
def confusion_matrix(predictions, labels, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=int)
    cm[labels, predictions] += 1
    return cm
""", score=0.0, diagnosis="does not add up repeats"),
    # ------------------------------------------------------------------ train_test_split
    Wrong(SPLIT, "overlapping sets (train on everything)", """
def train_test_split(labels, test_fraction, seed):
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        test.append(members[:int(round(len(members) * test_fraction))])
    return np.arange(len(labels)), np.concatenate(test)
""", score=0.0, diagnosis="overlapping train and test sets"),
    Wrong(SPLIT, "not stratified", """
def train_test_split(labels, test_fraction, seed):
    order = np.random.default_rng(seed).permutation(len(labels))
    k = int(round(len(labels) * test_fraction))
    return order[k:], order[:k]
""", score=0.0, diagnosis="not stratified"),
    Wrong(SPLIT, "indices missing (off by one)", """
def train_test_split(labels, test_fraction, seed):
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(len(members) * test_fraction))
        test.append(members[:k])
        train.append(members[k + 1:])
    return np.concatenate(train), np.concatenate(test)
""", score=0.0, diagnosis="indices missing"),
    Wrong(SPLIT, "fraction applied to the training set", """
def train_test_split(labels, test_fraction, seed):
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(len(members) * test_fraction))
        train.append(members[:k])
        test.append(members[k:])
    return np.concatenate(train), np.concatenate(test)
""", score=0.0, diagnosis="swapped"),
    Wrong(SPLIT, "counts rounded down", """
def train_test_split(labels, test_fraction, seed):
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        k = int(len(members) * test_fraction)
        test.append(members[:k])
        train.append(members[k:])
    return np.concatenate(train), np.concatenate(test)
""", score=0.0, diagnosis="rounded down"),
    Wrong(SPLIT, "boolean masks", """
def train_test_split(labels, test_fraction, seed):
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        test[members[:int(round(len(members) * test_fraction))]] = True
    return ~test, test
""", score=0.0, diagnosis="boolean masks instead of indices"),
    Wrong(SPLIT, "classes assumed to be 0..K-1", """
def train_test_split(labels, test_fraction, seed):
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(len(np.unique(labels))):
        members = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(len(members) * test_fraction))
        test.append(members[:k])
        train.append(members[k:])
    return np.concatenate(train), np.concatenate(test)
""", score=2.4, diagnosis="not range(number of classes)"),
]

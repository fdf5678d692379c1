"""The course's offline data: deterministic, balanced, correctly shaped."""

import numpy as np

from autograder.core import data


def test_colour_shapes_are_deterministic_and_balanced():
    x, y = data.colour_shapes(60, seed=3)
    x2, y2 = data.colour_shapes(60, seed=3)
    assert x.shape == (60, 3, 32, 32) and x.dtype == np.float64 and y.dtype == np.int64
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, data.colour_shapes(60, seed=4)[0])
    assert np.bincount(y).tolist() == [10] * len(data.SHAPE_CLASSES)
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_each_class_draws_its_shape():
    """Curves versus straight edges: a ring has a hole, a disc does not; a cross touches its centre."""
    size, cy, cx, r = 32, 16.0, 16.0, 8.0
    masks = {name: data._mask(label, size, cy, cx, r) for label, name in enumerate(data.SHAPE_CLASSES)}
    assert masks["disc"][16, 16] and not masks["ring"][16, 16]
    assert masks["square"][9, 9] and not masks["disc"][9, 9]  # corners belong to squares only
    assert masks["frame"][8, 16] and not masks["frame"][16, 16]
    assert masks["cross"][16, 16] and not masks["cross"][10, 10]
    assert masks["triangle"][23, 16] and not masks["triangle"][9, 12]


def test_digits_are_nchw_in_unit_range():
    x, y = data.digits()
    assert x.shape == (1797, 1, 8, 8) and set(np.unique(y)) == set(range(10))
    assert x.min() == 0.0 and x.max() == 1.0


def test_split_keeps_class_balance():
    x, y = data.colour_shapes(120, seed=0)
    _x_train, y_train, _x_test, y_test = data.split(x, y, test_fraction=0.25, seed=1)
    assert len(y_test) == 30 and len(y_train) == 90
    assert np.bincount(y_test).tolist() == [5] * 6


def test_cifar10_reads_the_python_batch_format(tmp_path):
    folder = data.write_cifar10_fixture(tmp_path / "cifar-10-batches-py", per_batch=7, seed=1)
    x, y = data.cifar10(tmp_path)  # the parent folder works too
    assert x.shape == (35, 3, 32, 32) and x.dtype == np.float64 and y.shape == (35,)
    assert 0.0 <= x.min() and x.max() <= 1.0 and set(np.unique(y)) <= set(range(10))
    import pickle

    raw = pickle.loads((folder / "data_batch_2").read_bytes())
    # row layout: 1024 red, 1024 green, 1024 blue; pixel (c, i, j) of image k of batch 2
    assert x[7 + 3, 2, 5, 6] == raw[b"data"][3, 2 * 1024 + 5 * 32 + 6] / 255.0
    assert y[7 + 3] == raw[b"labels"][3]
    x_test, _ = data.cifar10(folder, "test")
    assert x_test.shape == (7, 3, 32, 32)
    assert data.cifar10(folder, limit=10)[0].shape == (10, 3, 32, 32)


def test_cifar10_errors_say_what_is_wrong_and_what_to_do(tmp_path):
    import pickle

    import pytest

    with pytest.raises(data.DataError, match="does not exist.*never downloads"):
        data.cifar10(tmp_path / "nowhere")
    folder = data.write_cifar10_fixture(tmp_path / "c", per_batch=2)
    (folder / "data_batch_3").unlink()
    with pytest.raises(data.DataError, match="missing data_batch_3"):
        data.cifar10(folder)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(data.DataError, match="data_batch_3 is not a readable CIFAR-10 batch"):
        data.cifar10(folder)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(data.DataError, match="refusing to load builtins.print"):
        data.cifar10(folder)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(data.DataError, match=r"shape \(N, 3072\)"):
        data.cifar10(folder)
    with pytest.raises(data.DataError, match="split must be"):
        data.cifar10(folder, "validation")

"""The boundary format: plain data only, validated, never pickle."""

import base64
import io
import pickle

import numpy as np
import pytest

from autograder.core import codec


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, "text", float("nan"), float("inf"),
    np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int8), np.array(True),
    (1, np.zeros((2, 2))), [1.0, 2.0], {"out": np.ones(3)},
])
def test_round_trip(value):
    back = codec.decode(codec.encode(value))
    if isinstance(value, float) and np.isnan(value):
        assert np.isnan(back)
    elif isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    elif isinstance(value, tuple):
        assert isinstance(back, tuple) and back[0] == value[0] and np.array_equal(back[1], value[1])
    elif isinstance(value, dict):
        assert np.array_equal(back["out"], value["out"])
    else:
        assert back == value and type(back) is type(value)


def test_numpy_scalars_become_0d_arrays():
    back = codec.decode(codec.encode(np.float32(1.5)))
    assert isinstance(back, np.ndarray) and back.shape == () and back.dtype == np.float32


class AlwaysEqual:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [AlwaysEqual(), np.array([AlwaysEqual()], dtype=object), {1: 2}, {"a", "b"},
                                   lambda: 0])
def test_refuses_objects(value):
    with pytest.raises(codec.CodecError):
        codec.encode(value)


def test_never_unpickles():
    buffer = io.BytesIO()
    np.save(buffer, np.array([AlwaysEqual()], dtype=object), allow_pickle=True)
    data = {"__ndarray__": base64.b64encode(buffer.getvalue()).decode()}
    with pytest.raises(codec.CodecError):
        codec.decode(data)
    with pytest.raises(codec.CodecError):
        codec.decode({"__ndarray__": base64.b64encode(pickle.dumps([1])).decode()})


def test_rejects_malformed_structures():
    for bad in [{"__tuple__": 3}, {"x": 1, "y": 2}, {"__float__": "1e9"}, {"__ndarray__": "not base64!"}]:
        with pytest.raises(codec.CodecError):
            codec.decode(bad)

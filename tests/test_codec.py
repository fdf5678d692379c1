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


# ---------------------------------------------------------------------- bounded (issue 14)


@pytest.mark.parametrize("value, why", [
    (2**64, "64 bits"), (-(2**63) - 1, "64 bits"), ("x" * (codec.MAX_STRING + 1), "characters"),
    ([0] * (codec.MAX_ITEMS + 1), "items"), ([[0] * 6000, [0] * 6000], "items"),
    ({"__tuple__": [0] * (codec.MAX_ITEMS + 1)}, "items"),
])
def test_decode_refuses_values_too_large_to_grade(value, why):
    data = value if isinstance(value, dict) else codec.encode(value)
    with pytest.raises(codec.CodecError, match=why):
        codec.decode(data)


def test_the_largest_accepted_values_still_decode():
    assert codec.decode(codec.encode(2**64 - 1)) == 2**64 - 1 and codec.decode(-(2**63)) == -(2**63)
    assert len(codec.decode(codec.encode([0] * codec.MAX_ITEMS))) == codec.MAX_ITEMS


@pytest.mark.parametrize("value", [np.longdouble(1.25), np.arange(6, dtype=np.longdouble).reshape(2, 3),
                                   np.array([1 + 2j], dtype=np.clongdouble)])
def test_extended_precision_is_read_back_at_the_references_precision(value):
    back = codec.decode(codec.encode(value))
    assert back.dtype in (np.float64, np.complex128) and back.shape == np.shape(value)
    assert np.array_equal(back, np.asarray(value).astype(back.dtype))


def test_a_correct_longdouble_keeps_its_marks():
    from autograder.core.checks import get

    check = get("02-convolution.conv_single_step")
    group = check.groups[0]
    for case in check.cases(group, 3):
        value = codec.decode(codec.encode(np.longdouble(check.expected(case))))
        assert check.judge(case, value).passed


def test_results_cap_every_text_they_hold():
    """Messages, notes and cell errors are cut to documented sizes, whatever the student's code made them."""
    import json

    from autograder.core import results

    huge = "x" * 10_000_000
    group = results.GroupResult("hidden", False, 3, message=huge, diagnosis=huge)
    check = results.CheckResult("t", "a.b", 2.0, message=huge, groups=[group])
    notebook = results.NotebookResult("nb", checks=[check], notes=[huge] * 500, cell_errors={"cell": huge})
    check.note = huge  # set after construction: capped when written
    submission = results.SubmissionResult("s", "a", [notebook], notes=[huge] * 3)
    text = json.dumps(submission.to_dict())
    assert len(text) < 4 * results.MESSAGE_CAP + results.NOTES_CAP * results.NOTE_CAP + 10 * results.NOTE_CAP
    data = submission.to_dict()["notebooks"][0]
    assert results.MESSAGE_CAP - 40 < len(data["checks"][0]["note"]) <= results.MESSAGE_CAP and data["checks"][0]["note"].endswith("cut]")
    assert len(data["notes"]) == results.NOTES_CAP + 1 and data["notes"][-1] == "[... more notes cut]"
    assert results.cut(results.cut(huge)) == results.cut(huge)  # cutting again changes nothing
    assert results.cut("short") == "short"
    assert results.CallError("exception", huge).message.endswith("more characters cut]")


def _npy(array, **options) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=array.dtype.kind == "O", **options)
    return buffer.getvalue()


def _arrays():
    rng = np.random.default_rng(0)
    for dtype in ["<f4", ">f4", "<f8", ">f8", "<f2", "<i8", ">i4", "|i1", "|u1", "<u2", "|b1", "<c8", ">c16"]:
        for shape in [(), (0,), (5,), (2, 3), (2, 3, 4, 5), (1, 0, 3)]:
            array = (rng.standard_normal(shape) * 10).astype(dtype)
            yield array
            yield np.asfortranarray(array)


def test_arrays_as_np_save_writes_them_are_read_exactly_as_np_load_reads_them():
    """The quick reader of our own encoder's arrays (every numeric dtype, byte order, C and Fortran
    order, 0-d and empty) gives what np.load gives: dtype, shape, strides, values, writable."""
    for array in _arrays():
        raw = _npy(array)
        quick, slow = codec._plain_npy(raw), np.load(io.BytesIO(raw), allow_pickle=False)
        assert quick is not None, (array.dtype, array.shape)
        assert (quick.dtype, quick.shape, quick.strides) == (slow.dtype, slow.shape, slow.strides)
        assert np.array_equal(quick, slow, equal_nan=True) and quick.flags.writeable


def test_our_encoder_writes_what_np_load_reads_as_np_saves_own_bytes():
    """Arrays are encoded without np.save: np.load reads our bytes as it reads np.save's (dtype, shape, memory
    order, values), the data starts on a 64-byte boundary as np.save's does, and the quick reader takes them."""
    for array in [*_arrays(), np.arange(24.0).reshape(4, 6)[::2, 1::2], np.arange(24.0).reshape(4, 6).T[1:]]:
        ours = codec.npy_bytes(array)
        theirs = np.load(io.BytesIO(_npy(array)), allow_pickle=False)
        for read in (np.load(io.BytesIO(ours), allow_pickle=False), codec._plain_npy(ours)):
            assert read is not None, (array.dtype, array.shape)
            assert (read.dtype, read.shape, read.strides) == (theirs.dtype, theirs.shape, theirs.strides)
            assert np.array_equal(read, theirs, equal_nan=True)
        assert (len(ours) - array.nbytes) % 64 == 0


@pytest.mark.parametrize("change", ["version 2", "cut short", "a byte too many", "another key", "object dtype"])
def test_anything_else_is_left_to_np_load(change):
    """Other headers, lengths or dtypes are not read quickly: np.load decides, as before (and the
    decoder refuses what it refuses)."""
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    raw = {"version 2": lambda: _npy(array, version=(2, 0)), "cut short": lambda: _npy(array)[:-1],
           "a byte too many": lambda: _npy(array) + b"\0",
           "another key": lambda: _npy(array).replace(b"'shape'", b"'shapf'"),
           "object dtype": lambda: _npy(np.array([1], dtype=object))}[change]()
    assert codec._plain_npy(raw) is None
    data = {"__ndarray__": base64.b64encode(raw).decode()}
    if change in ("version 2", "a byte too many"):
        assert np.array_equal(codec.decode(data), array)
    else:
        with pytest.raises(codec.CodecError):
            codec.decode(data)

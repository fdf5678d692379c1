"""Plain-data codec for everything that crosses the sandbox boundary.

Values travel as JSON. Arrays travel inside it as base64-encoded ``.npy`` bytes and are read
back with ``allow_pickle=False``, so nothing that crosses the boundary can execute code or
carry an object with surprising behaviour (a custom ``__eq__``, say). Only these shapes of
value are accepted:

- ``None``, ``bool``, ``int`` (64 bits at most), ``str`` (short), finite or non-finite ``float``
- NumPy arrays of bool, integer, unsigned, float or complex dtype (never ``object``); extended
  precision (``np.longdouble``) is read back as float64 (complex128), the precision of the reference
- NumPy scalars (sent as 0-d arrays)
- ``list`` / ``tuple`` / ``dict`` (string keys) of the above, nested :data:`MAX_DEPTH` deep at most
  and holding :data:`MAX_ITEMS` items at most in all

Everything that comes back from a student's code is bounded here, before the grader reads it:
numbers and messages built from a decoded value stay short, whatever the student returned.

This module imports only the standard library and NumPy: the sandboxed child uses it.
"""

from __future__ import annotations

import base64
import io
import math
import re

import numpy as np

ALLOWED_KINDS = "biufc"
MAX_DEPTH = 8
MAX_ITEMS = 10_000  # list, tuple and dict items in one value, all levels together
MAX_STRING = 1_000  # characters of one string (no exercise returns text; a long one is an attack)
INT_RANGE = (-(2**63), 2**64)  # what int64 and uint64 hold: a larger int cannot be an answer


class CodecError(ValueError):
    """A value that cannot cross the boundary (wrong type, object dtype, malformed data)."""


def _describe(value) -> str:
    return f"an object of type {type(value).__module__}.{type(value).__qualname__}"


def encode(value, depth: int = 0):
    """Turn ``value`` into JSON-ready data, or raise :class:`CodecError` saying why not."""
    if depth > MAX_DEPTH:
        raise CodecError("the value is nested too deeply")
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        array = np.asarray(value)  # drops subclasses (np.matrix, masked arrays, ...)
        if array.dtype.kind not in ALLOWED_KINDS:
            raise CodecError(f"an array of dtype {array.dtype} (only numeric arrays can be graded)")
        return {"__ndarray__": base64.b64encode(npy_bytes(array)).decode("ascii")}
    if type(value) in (list, tuple):
        items = [encode(item, depth + 1) for item in value]
        return {"__tuple__": items} if type(value) is tuple else items
    if type(value) is dict and all(type(key) is str for key in value):
        return {"__dict__": {key: encode(item, depth + 1) for key, item in value.items()}}
    raise CodecError(_describe(value))


def decode(data, depth: int = 0, budget: list[int] | None = None):
    """Inverse of :func:`encode`; validates as it goes (types, depth, sizes) and never unpickles."""
    if depth > MAX_DEPTH:
        raise CodecError("the value is nested too deeply")
    budget = [MAX_ITEMS] if budget is None else budget
    if data is None or type(data) in (bool, float):
        return data
    if type(data) is int:
        if not INT_RANGE[0] <= data < INT_RANGE[1]:
            raise CodecError("an integer too large to grade (more than 64 bits)")
        return data
    if type(data) is str:
        if len(data) > MAX_STRING:
            raise CodecError(f"a string of {len(data)} characters (at most {MAX_STRING} are read)")
        return data
    if type(data) in (list, dict):
        _spend(budget, len(data))
    if type(data) is list:
        return [decode(item, depth + 1, budget) for item in data]
    if type(data) is dict and len(data) == 1:
        (tag, payload), = data.items()
        if tag == "__ndarray__" and type(payload) is str:
            try:
                raw = base64.b64decode(payload, validate=True)
                array = _plain_npy(raw)
                if array is None:
                    array = np.load(io.BytesIO(raw), allow_pickle=False)
            except Exception as error:  # malformed bytes of any kind
                raise CodecError(f"malformed array data ({error})") from None
            if array.dtype.kind not in ALLOWED_KINDS:
                raise CodecError(f"an array of dtype {array.dtype}")
            if array.dtype.kind in "fc" and array.dtype.itemsize > (8 if array.dtype.kind == "f" else 16):
                array = array.astype(np.float64 if array.dtype.kind == "f" else np.complex128)
            return array
        if tag == "__float__" and payload in ("nan", "inf", "-inf"):
            return float(payload)
        if tag == "__tuple__" and type(payload) is list:
            _spend(budget, len(payload))
            return tuple(decode(item, depth + 1, budget) for item in payload)
        if tag == "__dict__" and type(payload) is dict:
            _spend(budget, len(payload))
            return {str(key)[:MAX_STRING]: decode(item, depth + 1, budget) for key, item in payload.items()}
    raise CodecError("malformed data")


_NPY_MAGIC = b"\x93NUMPY\x01\x00"  # the .npy format, version 1.0


def npy_bytes(array: np.ndarray) -> bytes:
    """A numeric ``array`` in the ``.npy`` format (version 1.0), as ``np.load`` reads it: its dtype, shape and
    memory order (C, or Fortran when only that is contiguous, as ``np.save`` chooses) and its bytes. Made
    here because ``np.save``'s general writer cost most of a call's encoding; its header is the form
    :func:`_plain_npy` reads back (what ``np.save`` writes, less its spare room for growing the array)."""
    fortran = not array.flags.c_contiguous and array.flags.f_contiguous
    header = f"{{'descr': '{array.dtype.str}', 'fortran_order': {fortran}, 'shape': {array.shape!r}, }}"
    header += " " * (-(len(_NPY_MAGIC) + 2 + len(header) + 1) % 64) + "\n"  # padded to 64 bytes, as np.save
    data = (array.T if fortran else array).tobytes()
    return _NPY_MAGIC + len(header).to_bytes(2, "little") + header.encode("latin-1") + data


# The header ``np.save`` writes (format 1.0) for a numeric array, exactly; anything else goes to ``np.load``.
_NPY_HEADER = re.compile(rb"\{'descr': '([<>|])([biufc])(\d{1,2})', 'fortran_order': (True|False), "
                         rb"'shape': \(((?:\d{1,18}, )*\d{1,18},?|)\), \} *\n")


def _plain_npy(raw: bytes) -> np.ndarray | None:
    """The array in ``raw`` if its header is exactly what ``np.save`` writes for a numeric array (or
    :func:`npy_bytes`, our own encoder's), read as ``np.load`` reads it but without its general header parser, which cost
    most of a call's decoding; ``None`` for anything else (then ``np.load`` decides)."""
    if raw[:8] != _NPY_MAGIC or len(raw) < 10:
        return None
    end = 10 + int.from_bytes(raw[8:10], "little")
    found = _NPY_HEADER.fullmatch(raw, 10, end)
    if found is None:
        return None
    order, kind, size, fortran, shape = found.groups()
    dtype = np.dtype((order if order != b"|" else b"=").decode() + kind.decode() + size.decode())
    dims = tuple(int(number) for number in shape.split(b",") if number.strip())
    count = math.prod(dims)
    if dtype.kind not in ALLOWED_KINDS or len(raw) != end + count * dtype.itemsize:
        return None
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=end).copy()  # writable, as np.load's
    return array.reshape(dims[::-1]).transpose() if fortran == b"True" else array.reshape(dims)


def _spend(budget: list[int], items: int) -> None:
    budget[0] -= items
    if budget[0] < 0:
        raise CodecError(f"a value with more than {MAX_ITEMS} items in its lists, tuples and dicts")

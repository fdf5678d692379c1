"""Plain-data codec for everything that crosses the sandbox boundary.

Values travel as JSON. Arrays travel inside it as base64-encoded ``.npy`` bytes and are read
back with ``allow_pickle=False``, so nothing that crosses the boundary can execute code or
carry an object with surprising behaviour (a custom ``__eq__``, say). Only these shapes of
value are accepted:

- ``None``, ``bool``, ``int``, ``str``, finite or non-finite ``float``
- NumPy arrays of bool, integer, unsigned, float or complex dtype (never ``object``)
- NumPy scalars (sent as 0-d arrays)
- ``list`` / ``tuple`` / ``dict`` (string keys) of the above

This module imports only the standard library and NumPy: the sandboxed child uses it.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np

ALLOWED_KINDS = "biufc"
MAX_DEPTH = 8


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
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if type(value) in (list, tuple):
        items = [encode(item, depth + 1) for item in value]
        return {"__tuple__": items} if type(value) is tuple else items
    if type(value) is dict and all(type(key) is str for key in value):
        return {"__dict__": {key: encode(item, depth + 1) for key, item in value.items()}}
    raise CodecError(_describe(value))


def decode(data, depth: int = 0):
    """Inverse of :func:`encode`; validates as it goes and never unpickles."""
    if depth > MAX_DEPTH:
        raise CodecError("the value is nested too deeply")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(item, depth + 1) for item in data]
    if type(data) is dict and len(data) == 1:
        (tag, payload), = data.items()
        if tag == "__ndarray__" and type(payload) is str:
            try:
                array = np.load(io.BytesIO(base64.b64decode(payload, validate=True)), allow_pickle=False)
            except Exception as error:  # malformed bytes of any kind
                raise CodecError(f"malformed array data ({error})") from None
            if array.dtype.kind not in ALLOWED_KINDS:
                raise CodecError(f"an array of dtype {array.dtype}")
            return array
        if tag == "__float__" and payload in ("nan", "inf", "-inf"):
            return float(payload)
        if tag == "__tuple__" and type(payload) is list:
            return tuple(decode(item, depth + 1) for item in payload)
        if tag == "__dict__" and type(payload) is dict:
            return {str(key): decode(item, depth + 1) for key, item in payload.items()}
    raise CodecError("malformed data")

"""The expected values of every visible case, shipped with the package (one JSON file per chapter).

``check()`` in a student's kernel judges the visible cases, whose inputs are the same for everyone
(:meth:`Check.cases <autograder.core.checks.base.Check.cases>` with no seed). Their expected values
are computed once, by the build (``python -m autograder build``, :mod:`autograder.book.expected`),
with the PyTorch reference, and stored here as ``<chapter-stem>.json``, so the first ``check()`` in
a fresh kernel needs no torch (which takes about two seconds to import).

A chapter's file holds, for each check and each visible group, one ``[digest, value]`` per case in
order: ``digest`` is :func:`case_digest` of the case's inputs, so an entry whose case has changed
is never used (:func:`lookup` says :data:`MISSING` and the reference computes the value, as
before); ``tests/test_expected.py`` and the build in CI mode (``CI=true``) fail on a stale file.
Values are plain JSON (:func:`pack`), never pickle; a check whose visible values are not arrays,
numbers, or tuples, lists and dicts of them, or whose judge does not compare with the reference,
is listed under ``left_out`` with the reason, and its ``check()`` computes with the reference.

Only ``check()`` in Jupyter reads these files. The grader computes every expected value with the
reference, hidden and re-drawn visible cases alike.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ..checks.base import MISSING as _MISSING
from ..checks.base import Check, Unshippable, case_digest

FOLDER = Path(__file__).resolve().parent
FORMAT = 1
MISSING = _MISSING  # what lookup gives for a case it holds no value for (the reference computes it then)
# AUTOGRADER_SHIPPED_EXPECTED=0: every lookup misses and check() computes with the reference, as it
# did before these files (bench/check.py measures both)
ENABLED = os.environ.get("AUTOGRADER_SHIPPED_EXPECTED", "1") != "0"


# Unshippable: a value that pack() cannot store exactly, or inputs case_digest cannot digest


# --------------------------------------------------------------------------- values as plain JSON


def pack(value):
    """``value`` as JSON-ready data that :func:`unpack` turns back into an equal value of the same types:
    ``None``, ``bool``, ``int``, ``float``, ``str``, NumPy arrays of bool, integer or float dtype, NumPy
    scalars of those, and tuples, lists and dicts (string keys) of them. Anything else raises
    :class:`Unshippable`. An array is stored as its dtype, shape and bytes (zlib, then base64)."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is tuple or kind is list:
        return {"tuple" if kind is tuple else "list": [pack(item) for item in value]}
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise Unshippable("a dict whose keys are not all strings")
        return {"dict": {key: pack(item) for key, item in value.items()}}
    if kind is np.ndarray or isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise Unshippable(f"values of dtype {value.dtype}")
        if kind is np.ndarray:  # the bytes, compressed (zero padding and repeats take little room)
            data = zlib.compress(np.ascontiguousarray(value).tobytes(), 9)
            return {"array": value.dtype.str, "shape": list(value.shape), "zlib": base64.b64encode(data).decode()}
        return {"scalar": value.dtype.str, "value": value.item()}
    raise Unshippable(f"a value of type {kind.__module__}.{kind.__qualname__}")


def unpack(data):
    """The value :func:`pack` made ``data`` from (a new object at every call)."""
    if not isinstance(data, dict):
        return data
    if "tuple" in data:
        return tuple(unpack(item) for item in data["tuple"])
    if "list" in data:
        return [unpack(item) for item in data["list"]]
    if "dict" in data:
        return {key: unpack(item) for key, item in data["dict"].items()}
    if "array" in data:
        raw = zlib.decompress(base64.b64decode(data["zlib"]))
        return np.frombuffer(raw, dtype=np.dtype(data["array"])).reshape(data["shape"]).copy()
    return np.dtype(data["scalar"]).type(data["value"])


def same(a, b) -> bool:
    """Whether ``a`` and ``b`` are the same value: same types, dtypes and shapes, equal numbers (NaN
    equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, (np.ndarray, np.generic)):
        return (a.dtype == b.dtype and a.shape == b.shape
                and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f")))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


# --------------------------------------------------------------------------- which case a value is for


# --------------------------------------------------------------------------- reading


def path(stem: str) -> Path:
    return FOLDER / f"{stem}.json"


@functools.cache
def _table(stem: str) -> dict[str, dict[str, object]]:
    """Check id -> {case digest: packed value}, from the chapter's file (empty when there is none)."""
    try:
        data = json.loads(path(stem).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {}
    return {check_id: {digest: value for entries in groups.values() for digest, value in entries}
            for check_id, groups in data.get("checks", {}).items()}


def lookup(check: Check, case):
    """The shipped expected value of ``check`` on ``case``, or :data:`MISSING` when none is stored for
    exactly these inputs (then the reference computes it)."""
    if not ENABLED:
        return MISSING
    table = _table(check.stem).get(check.id)
    if not table:
        return MISSING
    try:
        packed = table.get(case_digest(case), MISSING)
    except Unshippable:
        return MISSING
    return packed if packed is MISSING else unpack(packed)


# --------------------------------------------------------------------------- writing (the build)


def left_out_reason(check) -> str | None:
    """Why ``check``'s visible values are not shipped, from its kind alone, or None."""
    assess = type(check).assess
    if assess is not Check.assess and "expected" not in assess.__code__.co_names:
        return "judged by what the answer does, not by comparison with the reference"
    return None


def generate(stem: str) -> str:
    """The text of ``<stem>.json``: every visible case's expected value, computed with the reference
    (:meth:`Check.expected <autograder.core.checks.base.Check.expected>`, which imports torch)."""
    from ..checks import for_chapter

    checks, left_out = {}, {}
    for check in for_chapter(stem).values():
        reason = left_out_reason(check)
        groups = {}
        try:
            for group in check.groups if reason is None else ():
                if not group.visible:
                    continue
                entries = []
                for case in check.cases(group, None):
                    value = check.expected(case)
                    packed = pack(value)
                    if not same(unpack(packed), value):
                        raise Unshippable("a value that does not come back the same from JSON")
                    entries.append([case_digest(case), packed])
                groups[group.name] = entries
        except Unshippable as error:
            reason = f"its visible expected values include {error}"
        if reason is None:
            checks[check.id] = groups
        else:
            left_out[check.id] = reason
    lines = [f'"format": {FORMAT}', f'"chapter": {json.dumps(stem)}',
             '"left_out": ' + json.dumps(left_out, indent=None, sort_keys=True)]
    body = ",\n".join(f" {json.dumps(check_id)}: {json.dumps(groups, separators=(',', ':'))}"
                      for check_id, groups in checks.items())
    return "{" + ",\n".join(lines) + ',\n"checks": {\n' + body + "\n}}\n"

"""The expected values shipped with the package (``autograder/core/expected/``) for ``check()`` in Jupyter.

They are fresh (the same cases, in the same order, and the values the reference gives now), a stale
one is never used, the grader never uses them, and the build writes them and fails in CI when stale.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import ASSIGNMENTS

from autograder.book import expected as build_step
from autograder.book.sources import BuildError
from autograder.core import checks, expected
from autograder.core.checks.base import MISSING, Case, Returned
from autograder.core.checks.run import run_check

SLOW = {"09-training"}  # its reference trains a model (seconds): the build in CI compares its values


def _shipped(stem: str) -> dict:
    return json.loads(expected.path(stem).read_text())


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_every_visible_case_has_its_entry(stem):
    """Each shipped check lists its visible groups, and each group its cases, in order, by the digest of
    their inputs; what is left out is left out for the reason the build gives (no reference call)."""
    data = _shipped(stem)
    assert data["format"] == expected.FORMAT and data["chapter"] == stem
    for check in checks.for_chapter(stem).values():
        reason = expected.left_out_reason(check)
        if check.id in data["left_out"]:
            assert reason is None or data["left_out"][check.id] == reason
            continue
        assert reason is None, check.id
        groups = {group.name: group for group in check.groups if group.visible}
        assert list(data["checks"][check.id]) == list(groups), check.id
        for name, entries in data["checks"][check.id].items():
            digests = [expected.case_digest(case) for case in check.cases(groups[name], None)]
            assert [digest for digest, _ in entries] == digests, f"{check.id} / {name}: regenerate with " \
                "`python -m autograder build`"
    assert set(data["checks"]) | set(data["left_out"]) == set(checks.for_chapter(stem))


@pytest.mark.parametrize("stem", [stem for stem in ASSIGNMENTS if stem not in SLOW])
def test_the_shipped_values_are_the_references(stem):
    assert expected.path(stem).read_text() == expected.generate(stem), \
        f"autograder/core/expected/{stem}.json is stale: regenerate it with `python -m autograder build`"


@pytest.mark.parametrize("value", [
    None, True, 3, -2**63, 2.5, float("nan"), float("-inf"), "text",
    np.arange(6.0).reshape(2, 3), np.zeros((0, 4), np.float32), np.array([[True, False]]), np.array(7, np.int64),
    np.arange(4, dtype=np.uint8), np.float64(1.5), np.int32(-4), np.bool_(True),
    (1, [2.0, np.ones(2)], {"w": np.eye(2), "b": (np.float16(0.5),)}),
])
def test_values_come_back_the_same(value):
    packed = json.loads(json.dumps(expected.pack(value)))
    back = expected.unpack(packed)
    assert expected.same(back, value) and type(back) is type(value)
    if isinstance(value, np.ndarray) and value.size:
        back[...] = 0  # a new, writable array each time
        assert expected.same(expected.unpack(packed), value)


@pytest.mark.parametrize("value", [np.array(["a"]), np.array([1j]), {1: 2.0}, object(), Case((1,))])
def test_what_json_cannot_hold_is_refused(value):
    with pytest.raises(expected.Unshippable):
        expected.pack(value)


def test_same_tells_types_and_dtypes_apart():
    assert not expected.same(np.float64(1.0), 1.0)
    assert not expected.same(np.zeros(2), np.zeros(2, np.float32))
    assert not expected.same((1, 2), [1, 2])
    assert not expected.same(np.zeros((2, 1)), np.zeros((1, 2)))
    assert not expected.same(np.array([1.0, np.nan]), np.array([1.0, 2.0]))


def _zero_pad():
    check = checks.get("02-convolution.zero_pad")
    group = next(group for group in check.groups if group.visible)
    return check, group, check.cases(group, None)


def test_a_changed_case_finds_no_value():
    check, _, cases = _zero_pad()
    case = cases[1]
    assert expected.same(expected.lookup(check, case), check.reference(*case.args, **case.kwargs))
    x = case.args[0].copy()
    x.flat[0] += 1.0
    assert expected.lookup(check, Case((x, *case.args[1:]), case.kwargs)) is MISSING
    assert expected.lookup(check, Case(case.args, {"extra": 1})) is MISSING
    assert expected.lookup(checks.get("02-convolution.conv_forward_naive"), case) is MISSING


def _right(check):
    return lambda case: Returned(check.reference(*case.args, **case.kwargs), case.args, case.kwargs)


def test_only_check_in_jupyter_looks_values_up():
    """With no seed (``check()`` in Jupyter) the lookup decides the expected value; with a seed (the
    grader) it is never asked, and the reference computes every value."""
    check, _, _ = _zero_pad()
    asked = []

    def wrong(check_, case):  # a lookup whose every value is wrong
        asked.append(case)
        return np.full((1,), -1.0)

    groups, _ = run_check(check, _right(check), None, include_hidden=False, expected=wrong)
    assert asked and not groups[0].passed and "should have shape" in groups[0].message
    asked.clear()
    groups, weight = run_check(check, _right(check), 1234, expected=wrong)
    assert not asked and all(group.passed for group in groups) and weight == check.total_weight
    groups, _ = run_check(check, _right(check), None, include_hidden=False, expected=lambda *_: MISSING)
    assert groups[0].passed  # a missing value: the reference's


def test_the_build_writes_them_and_fails_in_ci_when_stale(tmp_path, monkeypatch):
    stem = "07-loss"
    folder = tmp_path / "expected"
    folder.mkdir()
    shipped = expected.path(stem).read_text()
    monkeypatch.setattr(expected, "FOLDER", folder)
    monkeypatch.setattr(build_step, "ROOT", tmp_path)
    monkeypatch.setattr(build_step, "CACHE_FILE", tmp_path / "cache.json")
    logged = []
    assert build_step.write_expected([stem, "00-no-such-chapter"], log=logged.append) == [stem]
    assert expected.path(stem).read_text() == shipped and logged
    assert build_step.write_expected([stem], check=True) == []  # fresh (from the cache, this time)
    expected.path(stem).write_text(shipped.replace('"07-loss.mse_loss"', '"07-loss.mse_loss_old"'))
    shutil.copy(expected.path(stem), folder / "99-gone.json")
    with pytest.raises(BuildError, match=r"stale .*expected/07-loss\.json, expected/99-gone\.json \(no such"):
        build_step.write_expected([stem], check=True)
    assert build_step.write_expected([stem], log=logged.append) == [stem]
    assert expected.path(stem).read_text() == shipped and not (folder / "99-gone.json").exists()

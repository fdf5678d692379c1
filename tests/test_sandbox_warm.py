"""The warm sandbox: every sandbox is forked from a template that has imported NumPy and IPython, and
nothing one submission does reaches the next (real sandboxes, in the strongest mode this machine allows)."""

from __future__ import annotations

import os

import pytest

from autograder.sandbox import Limits, Sandbox, host, isolation

PLANT = r'''
import builtins, os, subprocess, sys, tempfile, numpy as np
np.PLANTED = "numpy"
builtins.PLANTED = "builtins"
sys.modules["planted_module"] = type(sys)("planted_module")
os.environ["PLANTED"] = "environ"
for folder in (tempfile.gettempdir(), os.getcwd(), os.path.expanduser("~")):
    try:
        with open(os.path.join(folder, "planted.txt"), "w") as handle:
            handle.write("planted")
    except OSError:
        pass
sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
def planted():
    return sleeper.pid
'''

LOOK = r'''
import builtins, os, sys, tempfile, numpy as np
def look():
    folders = [tempfile.gettempdir(), os.getcwd(), os.path.expanduser("~")]
    files = sorted(name for folder in folders if os.path.isdir(folder) for name in os.listdir(folder))
    return {"numpy": hasattr(np, "PLANTED"),
            "builtins": hasattr(builtins, "PLANTED"), "module": "planted_module" in sys.modules,
            "environ": "PLANTED" in os.environ, "files": " ".join(files),
            "fds": " ".join(sorted(os.listdir("/proc/self/fd"))) if os.path.isdir("/proc/self/fd") else ""}
'''


def _run(box: Sandbox, source: str, function: str):
    ran = box.run_cells([{"id": "cell", "source": source}], 60)
    assert ran["cells"][0]["ok"], ran["cells"][0]["error"]
    reply = box.call(function, (), {}, 60)
    assert reply["ok"], reply
    return reply["value"]


@pytest.fixture
def warm_mode():
    mode = isolation().mode
    if mode not in host.WARM_MODES:
        pytest.skip(f"the sandbox runs in mode {mode} here, which starts every child cold")
    return mode


def test_no_state_passes_from_one_submission_to_the_next(warm_mode):
    with Sandbox(Limits()) as first:
        first.start()
        assert first.warm, "the sandbox was not forked from the warm template"
        sleeper = _run(first, PLANT, "planted")
        template = host._template(warm_mode)
    with Sandbox(Limits()) as second:
        second.start()
        assert second.warm and host._template(warm_mode) is template  # the same template forked both
        seen = _run(second, LOOK, "look")
    assert not (seen["numpy"] or seen["builtins"] or seen["module"] or seen["environ"]), seen
    assert "planted.txt" not in seen["files"], seen
    # the student's process holds no descriptor but its pipes (not the template's control socket)
    if seen["fds"]:
        assert set(seen["fds"].split()) <= {"0", "1", "2", "3", "4"}, seen["fds"]
    if isolation().pid_namespace:  # the planted background process died with its sandbox
        assert not os.path.exists(f"/proc/{sleeper}") or sleeper == 1 or _not_the_sleeper(sleeper)


def _not_the_sleeper(pid: int) -> bool:
    """The pid the student saw is its PID namespace's: on the host that number names some other process."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"time.sleep(600)" not in handle.read()
    except OSError:
        return True


def test_warm_and_cold_children_are_isolated_alike(warm_mode, monkeypatch):
    with Sandbox(Limits()) as warm:
        warm.start()
        assert warm.warm
        achieved = dict(warm.achieved)
    monkeypatch.setenv("AUTOGRADER_WARM_SANDBOX", "0")
    with Sandbox(Limits()) as cold:
        cold.start()
        assert not cold.warm
        assert cold.achieved == achieved


def test_a_crash_in_a_warm_child_is_reported_as_in_a_cold_one(warm_mode):
    with Sandbox(Limits(cpu_seconds=1)) as box:
        box.start()
        assert box.warm
        box.run_cells([{"id": "cell", "source": "def spin():\n    while True:\n        pass\n"}], 30)
        reply = None
        try:
            reply = box.call("spin", (), {}, 30)
        except Exception as error:  # SandboxError: the CPU limit killed it
            assert "CPU time" in str(error) or "killed" in str(error), error
        assert reply is None
        # the sandbox restarts (forked again) and works
        box.start()
        assert box.warm and _run(box, "def one():\n    return 1\n", "one") == 1


def test_a_library_loaded_during_a_call_is_found_though_calls_that_load_nothing_skip_the_search():
    """The search of the loaded files for forbidden libraries runs only after a call that imported or
    dlopen'ed something (audit events); a shared library loaded with ctypes in the second call is found."""
    source = ("import ctypes\nkept = []\ndef nothing():\n    return 1\n"
              "def loads():\n    kept.append(ctypes.CDLL('libsqlite3.so.0'))\n    return 2\n")
    with Sandbox(Limits(), ["libsqlite3"]) as box:
        ran = box.run_cells([{"id": "cell", "source": source}], 60)
        assert ran["cells"][0]["ok"] and ran["forbidden_used"] == [], ran
        assert box.call("nothing", (), {}, 60)["forbidden_used"] == []
        reply = box.call("loads", (), {}, 60)
        if not reply["ok"]:
            pytest.skip(f"libsqlite3 cannot be loaded in the sandbox here: {reply['message']}")
        assert reply["forbidden_used"] == ["libsqlite3"], reply
        assert box.call("nothing", (), {}, 60)["forbidden_used"] == ["libsqlite3"]  # and it stays found


def test_what_the_sandbox_hides_is_worked_out_again_once_a_package_is_installed(tmp_path, monkeypatch):
    """The paths a sandbox masks are remembered between submissions, until the child's site-packages change."""
    from autograder.sandbox import policy

    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(policy, "_own_site_packages", lambda: (str(site),))
    monkeypatch.setattr(policy, "_exposed", lambda: (str(tmp_path),))
    monkeypatch.setattr(policy, "_module_paths", lambda names: ())
    monkeypatch.setattr(policy, "_foreign_site_packages", lambda: ())
    monkeypatch.setattr(policy, "_MASKS", {})
    searches = []
    find = policy._find_masked
    monkeypatch.setattr(policy, "_find_masked", lambda *args: searches.append(args) or find(*args))
    forbidden = ("fakelib",)
    assert str(site / "fakelib") not in policy._masked(forbidden, ())
    assert str(site / "fakelib") not in policy._masked(forbidden, ())
    assert len(searches) == 1  # the second sandbox reused the first one's answer
    (site / "fakelib").mkdir()  # installed between two submissions
    assert str(site / "fakelib") in policy._masked(forbidden, ())
    assert len(searches) == 2

"""What this machine allows, and what the sandboxed child may see.

Static policy, no processes: the isolation modes and what each leaves unenforced (:class:`Isolation`,
:func:`gaps`), the host paths the child's private root exposes and hides, the user ids sandboxes
run as, and the child's environment. :mod:`.host` probes which mode works and starts children.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import signal
import site
import stat
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .limits import Limits, SandboxConfigError

PACKAGE = Path(__file__).resolve().parent.parent  # autograder/
REPOSITORY = PACKAGE.parent
MODES = ("namespaces", "userns", "uid", "plain")
UID_BASE = 1_000_000_000  # sandbox user ids: UID_BASE + 8 * grader pid + slot (no real account uses these)
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin",
                "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                "/etc/alternatives", "/etc/nsswitch.conf")
_LOCK = threading.RLock()  # isolation probes allocate a uid, and so does every sandbox


@dataclass(frozen=True)
class Isolation:
    """The isolation mode grading uses on this machine, and what it does not enforce."""

    mode: str
    filesystem: bool  # a private root: course files, other submissions and the grader are invisible
    network: bool  # no network at all (an empty network namespace)
    pid_namespace: bool  # nothing the submission starts outlives its sandbox
    own_uid: bool  # an unprivileged user id of its own: process limit enforced, cannot signal others
    gaps: tuple[str, ...] = ()

    def describe(self) -> str:
        done = [text for flag, text in ((self.filesystem, "private file system"), (self.network, "no network"),
                                        (self.pid_namespace, "own PID namespace"),
                                        (self.own_uid, "unprivileged user of its own")) if flag]
        return f"sandbox mode {self.mode}: {', '.join(done) or 'resource limits only'}"


def _gaps(mode: str, limits: Limits) -> tuple[str, ...]:
    memory = f"{limits.memory_bytes / 1024**3:g} GiB"
    common = (f"memory is limited per process ({memory} of address space), not for the submission as a whole "
              f"(up to {limits.processes} processes and threads), and system calls are not filtered (no seccomp)")
    weak_files = ("no private file system: student code can read every file that is readable by {who} "
                  "(make the course directory private: chmod -R go-rwx COURSE), and forbidden libraries are "
                  "checked inside the student's own process, so a determined student can hide their use")
    if mode == "namespaces":
        return (common,)
    if mode == "userns":
        return (common, (f"the process limit counts every process of the user running the grader "
                         f"(uid {os.getuid()}), not only the submission's"))
    if mode == "uid":
        return (common, weak_files.format(who="other users"),
                "no network isolation: student code can open network connections",
                "a process that leaves the sandbox's process group is found and killed by its user id")
    who = f"the user running the grader (uid {os.getuid()})" if hasattr(os, "getuid") else "you"
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    return (f"no isolation beyond resource limits: student code runs as {who}, so it can read and write "
            "everything that user can (the course directory, the gradebook, other submissions), use the "
            "network, and signal the user's processes" + (" (and, as root, the process limit does not apply)"
                                                           if root else "")
            + "; run the grader as root, allow user namespaces, or use a container (docs/grading.md)",
            weak_files.format(who=who))


def _candidate_modes() -> list[str]:
    forced = os.environ.get("AUTOGRADER_SANDBOX", "auto").strip().lower() or "auto"
    if forced != "auto":
        if forced not in MODES:
            raise SandboxConfigError(f"AUTOGRADER_SANDBOX={forced!r} is not a sandbox mode; use one of: auto, "
                             f"{', '.join(MODES)}")
        return [forced]
    if not sys.platform.startswith("linux"):
        return ["plain"]
    return ["namespaces", "uid", "plain"] if os.geteuid() == 0 else ["userns", "plain"]


# ---------------------------------------------------------------------- what the child sees


@functools.cache
def _exposed() -> tuple[str, ...]:
    """Host paths visible (read-only) inside the private root: system libraries and this Python."""
    paths = list(SYSTEM_PATHS)
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                   os.path.dirname(sys.executable)):
        paths += [os.path.abspath(prefix), os.path.realpath(prefix)]
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if path in ("/", "") or not os.path.lexists(path):
            continue
        if any(path.startswith(parent.rstrip("/") + "/") for parent in kept if not os.path.islink(parent)):
            continue
        kept.append(path)
    return tuple(kept)


@functools.cache
def _module_paths(names: tuple[str, ...]) -> tuple[str, ...]:
    """Where the given modules' files live (to hide them), found without importing them."""
    found = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        if spec.submodule_search_locations:
            found += [str(path) for path in spec.submodule_search_locations]
        elif spec.origin and os.path.isabs(spec.origin):
            found.append(spec.origin)
    return tuple(found)


# Where Python installations keep packages, relative to an exposed tree (a prefix, /usr, a conda root).
PACKAGE_DIRS = ("lib/python*/site-packages", "lib/python*/dist-packages", "lib64/python*/site-packages",
                "lib64/python*/dist-packages", "local/lib/python*/site-packages", "local/lib/python*/dist-packages",
                "envs/*/lib/python*/site-packages", "pkgs/*/lib/python*/site-packages")


@functools.cache
def _own_site_packages() -> tuple[str, ...]:
    """The site-packages the child's Python uses (``python -I``: the venv's, no user site), real paths."""
    return tuple(sorted({os.path.realpath(path) for path in site.getsitepackages() if os.path.isdir(path)}))


@functools.cache
def _foreign_site_packages() -> tuple[str, ...]:
    """Every other package directory inside an exposed tree (the base installation's, the system's):
    hidden, so that the sandbox exposes exactly one Python environment."""
    own, found = set(_own_site_packages()), set()
    for root in _exposed():
        if os.path.isdir(root):
            for pattern in PACKAGE_DIRS:
                for path in glob.glob(os.path.join(root, pattern)):
                    if os.path.isdir(path) and os.path.realpath(path) not in own:
                        found.add(path)
    return tuple(sorted(found))


def _forbidden_files(forbidden: tuple[str, ...]) -> list[str]:
    """The files and folders of the forbidden modules in the child's own site-packages (every copy,
    not only the one an import would find first)."""
    found = set(_module_paths(forbidden))
    for directory in _own_site_packages():
        for name in forbidden:
            base = os.path.join(directory, *name.split("."))
            found.update(path for path in [base, base + ".py"] + glob.glob(glob.escape(base) + ".*.so")
                         if os.path.lexists(path))
    return sorted(found)


def _aliases(path: str) -> set[str]:
    """``path`` as seen through every exposed tree (a venv exposed under its link and its real path)."""
    real, names = os.path.realpath(path), {path}
    for root in _exposed():
        top = os.path.realpath(root)
        if real == top or real.startswith(top.rstrip("/") + "/"):
            names.add(root.rstrip("/") + real[len(top.rstrip("/")):])
    return names


_MASKS: dict[tuple, list[str]] = {}


def _masked(forbidden: tuple[str, ...], protect: tuple[str, ...]) -> list[str]:
    """Paths to hide if they happen to lie inside an exposed tree: every package directory but the
    child's own, the forbidden modules in its own, the course and this repository's sources, under
    every name an exposed tree gives them.

    Worked out once per process and kept while the child's site-packages folders are unchanged (a
    package installed or removed there changes its folder's modification time or link count)."""
    stamp = tuple(_stamp(path) for path in _own_site_packages())
    key = (forbidden, protect, stamp)
    if key not in _MASKS:
        for old in [old for old in _MASKS if old[2] != stamp]:  # made before a change: never valid again
            _MASKS.pop(old, None)
        _MASKS[key] = _find_masked(forbidden, protect)
    return list(_MASKS[key])


def _stamp(path: str) -> tuple[int, ...]:
    try:
        status = os.stat(path)
    except OSError:
        return ()
    return status.st_ino, status.st_mtime_ns, status.st_nlink


def _find_masked(forbidden: tuple[str, ...], protect: tuple[str, ...]) -> list[str]:
    mine = [str(PACKAGE)] + [str(REPOSITORY / name) for name in ("solutions", "chapters", "book", "tests", "_build")]
    candidates = (set(_forbidden_files(tuple(forbidden))) | set(mine) | set(_foreign_site_packages())
                  | {os.path.abspath(path) for path in protect})
    candidates = set().union(*(_aliases(path) for path in candidates))
    inside = lambda path: any(path.startswith(root.rstrip("/") + "/") for root in _exposed())
    return sorted(path for path in candidates if inside(path))  # others are not visible in the first place


_SLOTS: set[int] = set()


def _allocate_uid() -> int:
    with _LOCK:
        slot = next((s for s in range(8) if s not in _SLOTS), len(_SLOTS) % 8)
        _SLOTS.add(slot)
    return UID_BASE + (os.getpid() % 2**22) * 8 + slot


def _release_uid(uid: int) -> None:
    with _LOCK:
        _SLOTS.discard((uid - UID_BASE) % 8)


def _processes_of(uid: int) -> list[int]:
    if not os.path.isdir("/proc"):  # not Linux: nothing to count
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry))
                        break
        except OSError:
            continue
    return pids


def _kill_user(uid: int) -> None:
    """SIGKILL every process of the sandbox's own user id (``uid`` mode: catches ``setsid`` escapes)."""
    for _ in range(5):
        pids = _processes_of(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


def _readable_by_others(path: Path) -> bool:
    """Whether a user with no relation to ``path``'s owner could read it."""
    path = path.resolve()
    for parent in reversed(path.parents):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


def _child_env(home: str, tmp: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp,
        "IPYTHONDIR": os.path.join(home, ".ipython"),
        "MPLCONFIGDIR": os.path.join(home, ".matplotlib"),
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    threads = os.environ.get("AUTOGRADER_SANDBOX_THREADS", "1")  # set by a parallel batch's workers
    threads = str(min(max(int(threads), 1), 8)) if threads.isdigit() else "1"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[name] = threads
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # keep the machine's numerics settings
        if name in os.environ:
            env[name] = os.environ[name]
    return env

"""The sandboxed side of grading. Run as a script: ``python -I child.py RESULTS_FD CONFIG_JSON``.

It runs the student's code and calls the student's functions, and nothing else: it never sees
a test, an expected value or the reference. The parent sends one JSON request per line on
stdin; the child answers one JSON line per request on the results pipe. Values cross as
plain data (:mod:`codec`, JSON + ``.npy``), never pickle.

Before any student code runs, the child isolates itself as far as ``CONFIG_JSON`` asks (see
:func:`isolate`): with ``"mode": "namespaces"`` (the grader runs as root) or ``"userns"`` (a
user namespace, for an unprivileged grader) it moves into new mount, PID, network, IPC and UTS
namespaces, builds a private root file system that holds only the system libraries, the Python
installation and an empty writable ``/sandbox``, and drops every privilege; with ``"uid"`` it only
switches to an unprivileged user id; with ``"plain"`` it does nothing (rlimits only).

Messages on the results pipe, in order:
    {"op": "launcher", "pid": N}       (namespace modes: the host pid of the namespace's init)
    {"op": "ready", "isolation": {...}}  or  {"op": "setup-error", "message": ...}
then one reply per request, each echoing the request's ``seq``; ``calls`` (a check group's cases
at once) is answered by one reply per call, in order, each with its ``index``, up to the first call
that failed (raised, or returned what cannot be read) or the last.

Requests:
    {"op": "run", "seq": s, "cells": [{"id": ..., "source": ...}, ...]}
    {"op": "call", "seq": s, "function": name, "args": [...], "kwargs": {...}}
    {"op": "calls", "seq": s, "function": name, "calls": [{"args": [...], "kwargs": {...}}, ...]}
A call's reply is {"ok": true, "value": ..., "forbidden_used": [...]}, with ``"inputs": "unchanged"`` (and only
the first of the harness's ``(value, args, kwargs)`` as ``value``) when the call left its inputs exactly as
they came; or {"ok": false, "kind": ..., "message": ...}.
    {"op": "substitute", "seq": s, "functions": [name, ...]}
(``seq``: a token the grader draws at random for each request.)

``substitute`` replaces each named function of the student's namespace by a stand-in that asks the
grader for the reference's value: while a call runs, the stand-in writes
``{"op": "reference", "function": name, "args": [...], "kwargs": {...}}`` on the results pipe and
reads one line on stdin, ``{"op": "reference-value", "ok": true, "value": ...}`` or
``{"ok": false, "message": ...}`` (then it raises :class:`ReferenceError`). Only plain data
crosses, as for every call; the reference itself never enters the sandbox.

This file imports only the standard library, NumPy and IPython, and it must stay importable
without the ``autograder`` package being on ``sys.path`` (the codec is loaded by path, before
the file system is narrowed).
"""

import copy
import importlib.abc
import io
import json
import os
import signal
import sys
import traceback

HARNESS_CALLER = "_graded__"  # how the harness's callers are named (grader/run.py: caller)
OUTPUT_LIMIT = 64 * 1024  # characters of captured stdout/stderr kept per request (overridden by the config)
MESSAGE_LIMIT = 4000  # characters of an error message sent back

# ---------------------------------------------------------------------- isolation (Linux)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 32, 4096, 16384, 1 << 18, 1 << 21
MS_NOATIME, MS_NODIRATIME, MNT_DETACH = 1024, 2048, 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE = 1, 24, 38, 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41}
DEVICES = ("null", "zero", "full", "random", "urandom")


class SetupError(RuntimeError):
    """The requested isolation could not be set up (the grader then tries a weaker mode)."""


def _libc():
    import ctypes

    return ctypes, ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    ctypes, libc = _libc()
    encode = lambda text: text.encode() if text is not None else None
    _check(libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {target}")


def _locked_flags(path):
    """Flags of the mount holding ``path`` that a bind remount must keep (they may be locked)."""
    flags = os.statvfs(path).f_flag
    kept = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    return kept | (MS_RELATIME if flags & 4096 else 0)  # ST_RELATIME is 4096, MS_RELATIME 1 << 21


def _make_path(root, path, directory=True):
    target = root + path
    os.makedirs(target if directory else os.path.dirname(target), mode=0o755, exist_ok=True)
    if not directory and not os.path.exists(target):
        open(target, "w").close()
    return target


def _bind(root, path, writable=False):
    """Make host ``path`` visible at the same path under ``root`` (read-only unless ``writable``)."""
    if os.path.islink(path) and os.path.dirname(path) == "/":  # /lib -> usr/lib on merged-usr systems
        os.symlink(os.readlink(path), root + path)
        return
    target = _make_path(root, path, os.path.isdir(path))
    _mount(path, target, None, MS_BIND | MS_REC)
    if not writable:
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | _locked_flags(path))


def _mask(root, path):
    """Hide ``path`` (already visible under ``root``) behind an empty, unreadable mount."""
    target = root + path
    if not os.path.lexists(target):
        return
    if os.path.isdir(target):
        _mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=000")
    else:
        _mount(root + "/.empty", target, None, MS_BIND)


def _drop_capabilities():
    """Clear every capability (bounding, effective, permitted, inheritable) of this process."""
    ctypes, libc = _libc()
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    _check(libc.capset(header, data), "capset")


def _effective_capabilities():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return -1


def _own_user_namespace(libc, uid, gid):
    """Enter a new user namespace that maps the sandbox's user (and group) to itself; False if refused."""
    if libc.unshare(CLONE_NEWUSER) != 0:
        return False
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # (the change of user made /proc/self root's to write)
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    except OSError:
        return False
    finally:
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    return True


def _no_nested_user_namespaces():
    """Allow no user namespace below this one (the limit of the user namespace this process owns, which
    only a process with its capabilities may raise: none is left to the student). False if refused."""
    try:
        with open("/proc/sys/user/max_user_namespaces", "w") as handle:
            handle.write("0")
        with open("/proc/sys/user/max_user_namespaces") as handle:
            return handle.read().strip() == "0"
    except OSError:
        return False


def _new_root(config):
    """Build the private root file system under ``config["mountpoint"]`` and switch into it."""
    uid, gid = config["uid"], config["gid"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = config["mountpoint"]
    _mount("tmpfs", root, "tmpfs", MS_NOSUID, "size=1m,mode=755")
    open(root + "/.empty", "w").close()
    os.chmod(root + "/.empty", 0)
    for path in config["expose"]:
        if os.path.lexists(path):
            _bind(root, path)
    for name in DEVICES:
        if os.path.exists("/dev/" + name):
            _mount("/dev/" + name, _make_path(root, "/dev/" + name, directory=False), None, MS_BIND)
    for name, fd in (("stdin", 0), ("stdout", 1), ("stderr", 2)):
        os.symlink(f"/proc/self/fd/{fd}", f"{root}/dev/{name}")
    os.symlink("/proc/self/fd", root + "/dev/fd")
    _mount("proc", _make_path(root, "/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount("tmpfs", _make_path(root, "/sandbox"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
           f"size={config['disk_bytes']},mode=700,uid={uid},gid={gid}")
    os.mkdir(root + "/sandbox/tmp", 0o700)
    os.chown(root + "/sandbox/tmp", uid, gid)
    if not os.path.lexists(root + "/tmp"):  # /tmp exists already when exposed paths live under it
        os.symlink("/sandbox/tmp", root + "/tmp")  # (read-only then; TMPDIR is /sandbox/tmp either way)
    for path in config["mask"]:
        _mask(root, path)
    os.chdir(root)
    _, libc = _libc()
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is not None and libc.syscall(number, b".", b".") == 0:
        _check(libc.umount2(b".", MNT_DETACH), "umount the old root")  # the host tree is gone
    else:
        os.chroot(".")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    try:
        libc.sethostname(b"sandbox", 7)
    except AttributeError:
        pass
    os.chdir("/sandbox")


def _reap_zombies():
    """As the PID namespace's init, collect the student's orphaned children."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _launcher(child, results_fd, sync_write):
    """Outside the new PID namespace: tell the grader the init's pid, then wait and mirror its end."""
    os.write(results_fd, (json.dumps({"op": "launcher", "pid": child}) + "\n").encode())
    os.close(sync_write)
    os.close(results_fd)
    os.close(0)
    info = os.waitid(os.P_PID, child, os.WEXITED)  # (the grader holds a pidfd on it, not just its pid)
    if info.si_code in (os.CLD_KILLED, os.CLD_DUMPED):
        try:
            signal.signal(info.si_status, signal.SIG_DFL)
        except (OSError, ValueError):  # SIGKILL and SIGSTOP have no handler to reset
            pass
        os.kill(os.getpid(), info.si_status)
    os._exit(info.si_status & 0xFF)


def isolate(config, results_fd):
    """Apply the isolation ``config`` asks for; return what was achieved (a dict for the grader).

    Raises :class:`SetupError` when a step fails. In the namespace modes this forks: the calling
    process stays outside as the launcher (it never returns) and the child continues as PID 1 of
    the new PID namespace.
    """
    mode = config.get("mode", "plain")
    report = {"mode": mode, "pid_namespace": False, "network": False, "filesystem": False,
              "uid": os.getuid(), "capabilities": None}
    if mode in ("namespaces", "userns"):
        _, libc = _libc()
        flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
        outer_uid, outer_gid = os.getuid(), os.getgid()
        _check(libc.unshare(flags | (CLONE_NEWUSER if mode == "userns" else 0)), "unshare")
        if mode == "userns":
            for name, text in (("setgroups", "deny"), ("uid_map", f"{config['uid']} {outer_uid} 1"),
                               ("gid_map", f"{config['gid']} {outer_gid} 1")):
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
        sync_read, sync_write = os.pipe()
        child = os.fork()
        if child:
            _launcher(child, results_fd, sync_write)
        os.close(sync_write)
        while os.read(sync_read, 64):  # wait until the launcher has announced us
            pass
        os.close(sync_read)
        _check(libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl(PDEATHSIG)")
        _new_root(config)
        if mode == "namespaces":
            os.setgroups([])
            os.setresgid(config["gid"], config["gid"], config["gid"])
            os.setresuid(config["uid"], config["uid"], config["uid"])  # drops every capability
            # an unprivileged user may still make a user namespace, and be root in it: do it once
            # ourselves, as the sandbox's user, to own the namespace whose limit says "no more"
            nested = _own_user_namespace(libc, config["uid"], config["gid"]) and _no_nested_user_namespaces()
            _drop_capabilities()
        else:
            nested = _no_nested_user_namespaces()
            _drop_capabilities()
        report.update(pid_namespace=os.getpid() == 1, network=True, filesystem=True,
                      nested_userns_blocked=nested)
    elif mode == "uid":
        _libc()  # import ctypes while the Python installation is surely readable
        os.setgroups([])
        os.setresgid(config["gid"], config["gid"], config["gid"])
        os.setresuid(config["uid"], config["uid"], config["uid"])
    if mode != "plain":
        _, libc = _libc()
        _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    if mode != "plain" and os.path.exists("/proc/self/status"):
        report["capabilities"] = _effective_capabilities()
    report["uid"] = os.getuid()
    return report


# ---------------------------------------------------------------------- running the student's code


class BoundedWriter(io.TextIOBase):
    """A stdout/stderr replacement that keeps the first ``limit`` characters and drops the rest."""

    def __init__(self, limit=OUTPUT_LIMIT):
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def take(self):
        text = "".join(self.parts) + (f"\n[... {self.dropped} more characters dropped]" if self.dropped else "")
        self.parts, self.size, self.dropped = [], 0, 0
        return text


class ForbiddenImports(importlib.abc.MetaPathFinder):
    """Refuse to import the modules an exercise forbids (the file system hides them too, where it can)."""

    def __init__(self, names):
        self.names = tuple(names)

    def blocked(self, fullname):
        return next((name for name in self.names if fullname == name or fullname.startswith(name + ".")), None)

    def find_spec(self, fullname, path=None, target=None):
        name = self.blocked(fullname)
        if name:
            raise ModuleNotFoundError(f"{name} is not allowed in this exercise", name=fullname)


def _forbidden_name(error, forbidden):
    """The forbidden module an ImportError is about, if any."""
    if not isinstance(error, ImportError):
        return None
    missing = error.name or ""
    return next((name for name in forbidden if missing == name or missing.startswith(name + ".")
                 or name.startswith(missing + ".")), None) if missing else None


def _student_traceback(error):
    """The traceback lines that belong to the student's cells, not to this harness."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if not frame.filename.endswith("child.py") and "site-packages" not in frame.filename]
    lines = traceback.format_list(frames[-3:])
    text = "".join(lines) + "".join(traceback.format_exception_only(type(error), error))
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + " [... message cut]"


_HARNESS_FILES = set()  # this script and the codec it loads: the harness's own files, not the student's


def _loaded_files():
    """The files this process has loaded: mapped ones (extension modules, shared libraries, from
    ``/proc/self/maps``) and the ``__file__`` of every module in ``sys.modules``."""
    paths = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    paths.add(parts[5].strip())
    except OSError:  # no /proc (not Linux)
        pass
    for module in list(sys.modules.values()):
        try:
            path = type(sys).__dict__["__dict__"].__get__(module).get("__file__")
        except BaseException:  # not a real module, or one without a namespace
            continue
        if type(path) is str:
            paths.add(path)
    return paths


def _belongs_to(path, parts):
    """Whether file ``path`` is module ``parts`` (``["scipy", "signal"]``) or lies inside its package."""
    folders = path.split("/")
    size = len(parts)
    for at in range(len(folders) - size + 1):
        if folders[at:at + size - 1] != parts[:-1]:
            continue
        last = folders[at + size - 1]
        if last == parts[-1] and at + size < len(folders):  # a file in the package's folder
            return True
        if at + size == len(folders) and last.split(".")[0] == parts[-1] and "." in last:  # signal.py, .so
            return True
    return False


def loaded_from(forbidden):
    """The forbidden modules some loaded file belongs to, wherever it was loaded from (a copy in another
    site-packages, a module renamed or removed in ``sys.modules``): found by the files, not by names."""
    if not forbidden:
        return set()
    clean = _CLEAN.setdefault(tuple(forbidden), set())
    found = set()
    for path in _loaded_files() - _HARNESS_FILES - clean:  # only what was loaded since the last look
        names = {name for name in forbidden if _belongs_to(path, name.split("."))}
        if names:
            found |= names
        else:
            clean.add(path)
    return found


# Whether code may have been loaded since the files were last examined: set by every import and every
# ctypes.dlopen (audit events), so that the calls that load nothing (nearly all) skip the examination.
_LOADED = [True]


def _watch_loading(event, args):
    if event == "import" or event == "ctypes.dlopen":
        _LOADED[0] = True


# The loaded files already found to belong to none of the forbidden modules, by forbidden list: a
# path's verdict depends on its name alone, so each is examined once (examining all of them after
# every call cost 10-20 ms a call, most of the grading time).
_CLEAN = {}


def _same(before, after):
    """Whether ``after`` is exactly ``before``, a decoded input (types, dtypes, shapes, an array's bytes); False
    when unsure (a float NaN, a type inputs do not have): then the inputs are sent back for the grader to judge."""
    kind = type(before)
    if kind is not type(after):
        return False
    if kind is list or kind is tuple:
        return len(before) == len(after) and all(_same(one, other) for one, other in zip(before, after))
    if kind is dict:
        return before.keys() == after.keys() and all(_same(before[key], after[key]) for key in before)
    if kind in (int, float, bool, str, type(None)):
        return before == after
    if hasattr(before, "dtype") and hasattr(before, "tobytes") and hasattr(before, "shape"):  # NumPy
        return before.dtype == after.dtype and before.shape == after.shape and before.tobytes() == after.tobytes()
    return False


def _forbidden_message(name):
    return (f"the solution imports {name}, which this exercise does not allow (it is not available "
            "while grading); write it with NumPy only")


def _stand_in(name, codec, results):
    """A function that gives the grader's reference value of exercise ``name`` (see ``substitute``)."""
    def stand_in(*args, **kwargs):
        request = {"op": "reference", "function": name, "args": [codec.encode(arg) for arg in args],
                   "kwargs": {key: codec.encode(value) for key, value in kwargs.items()}}
        results.write(json.dumps(request) + "\n")
        answer = json.loads(sys.__stdin__.readline() or "{}")
        if answer.get("ok") is True:
            return codec.decode(answer["value"])
        raise ReferenceError(str(answer.get("message", "the grader gave no reference value")))
    stand_in.__name__ = stand_in.__qualname__ = name
    stand_in.__doc__ = f"The reference {name}, standing in for the student's own while grading."
    return stand_in


def _shell():
    """The IPython shell that runs the student's cells: made here, or (a warm child) the one its template made
    before forking it, which no code has used: each fork has its own copy."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    if InteractiveShell.initialized():
        return InteractiveShell.instance()
    settings = Config()
    settings.HistoryManager.enabled = False  # no history database, no history thread
    return InteractiveShell.instance(config=settings, colors="nocolor")


def _load_codec(source, path):
    module = type(sys)("_grading_codec")
    module.__file__ = path
    sys.modules[module.__name__] = module
    exec(compile(source, path, "exec"), module.__dict__)  # noqa: S102 - our own codec.py, read before isolation
    return module


def _codec():
    """The source of ``core/codec.py`` and its path (read before the file system is narrowed)."""
    codec_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "core", "codec.py")
    with open(codec_path) as handle:
        codec_source = handle.read()
    _HARNESS_FILES.update({codec_path, os.path.abspath(__file__)})
    return codec_source, codec_path


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--template":
        template(int(sys.argv[2]))
        return
    serve(int(sys.argv[1]), json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}, *_codec())


def serve(results_fd, config, codec_source, codec_path):
    """Isolate this process as ``config`` says, then answer the grader's requests until stdin ends."""
    try:
        achieved = isolate(config, results_fd)
    except Exception as error:  # report it to the grader, which decides what to do
        os.write(results_fd, (json.dumps({"op": "setup-error", "message": str(error)}) + "\n").encode())
        os._exit(3)
    main_pid = os.getpid()
    results = os.fdopen(results_fd, "w", buffering=1, encoding="utf-8")
    forbidden = list(config.get("forbidden", []))
    sys.meta_path.insert(0, ForbiddenImports(forbidden))
    try:  # can the isolated process run what grading needs?
        codec = sys.modules.get("_grading_codec") or _load_codec(codec_source, codec_path)
        import IPython.core.interactiveshell  # noqa: F401
    except Exception as error:
        results.write(json.dumps({"op": "setup-error", "message": (
            f"it cannot import what grading needs ({type(error).__name__}: {error}); the Python installation "
            f"at {sys.prefix} must be readable by other users")}) + "\n")
        os._exit(3)
    if config.get("probe"):
        results.write(json.dumps({"op": "ready", "isolation": achieved}) + "\n")
        return
    limit = int(config.get("output_chars", OUTPUT_LIMIT))
    stdout, stderr = BoundedWriter(limit), BoundedWriter(limit)
    sys.stdout, sys.stderr = stdout, stderr

    shell = _shell()
    shell.showtraceback = lambda *a, **k: None  # errors are read from the run result instead
    namespace = shell.user_ns
    results.write(json.dumps({"op": "ready", "isolation": achieved}) + "\n")

    def reply(request, message):
        if os.getpid() != main_pid:  # a process the student forked must never answer
            os._exit(0)
        message["seq"] = request.get("seq")
        message["stdout"], message["stderr"] = stdout.take(), stderr.take()
        results.write(json.dumps(message) + "\n")
        if main_pid == 1:
            _reap_zombies()

    sys.addaudithook(_watch_loading)  # for good: an audit hook cannot be removed
    found = set()

    def used():
        if _LOADED[0] or "_cffi_backend" in sys.modules:  # (cffi's dlopen raises no audit event)
            _LOADED[0] = False
            found.update(loaded_from(forbidden))
        return sorted({name for name in forbidden if name in sys.modules} | found)

    def call(name, encoded_args, encoded_kwargs):
        """The reply to one call of the student's function ``name`` on encoded arguments."""
        function = namespace.get(name)
        if not callable(function):
            return {"ok": False, "kind": "missing",
                    "message": f"no function named `{name}` was defined (did its cell run without errors?)"}
        try:
            args = [codec.decode(arg) for arg in encoded_args]
            kwargs = {key: codec.decode(value) for key, value in encoded_kwargs.items()}
            before = copy.deepcopy((args, kwargs))
            value = function(*args, **kwargs)
        except BaseException as error:  # the student's exception, whatever it is (SystemExit too)
            blocked = _forbidden_name(error, forbidden) or next(iter(used()), None)
            if blocked:
                return {"ok": False, "kind": "forbidden", "message": _forbidden_message(blocked)}
            if isinstance(error, NotImplementedError):
                return {"ok": False, "kind": "not-implemented",
                        "message": "not implemented yet: the function still raises NotImplementedError"}
            return {"ok": False, "kind": "exception", "message": _student_traceback(error),
                    "exception": type(error).__name__}
        # The harness's callers return (value, args, kwargs): inputs exactly as they came are not sent back
        kept = (name.startswith(HARNESS_CALLER) and type(value) is tuple and len(value) == 3
                and _same(before, (list(value[1]), value[2])))
        try:
            encoded = codec.encode(value[0] if kept else value)
        except codec.CodecError as error:
            return {"ok": False, "kind": "unreadable",
                    "message": f"returned {error}, which cannot be graded; return a NumPy array or number"}
        except BaseException as error:  # e.g. a value whose conversion raises
            return {"ok": False, "kind": "unreadable",
                    "message": f"returned a value that cannot be read ({type(error).__name__})"}
        return {"ok": True, "value": encoded, "forbidden_used": used(), **({"inputs": "unchanged"} if kept else {})}

    for line in sys.__stdin__:
        request = json.loads(line)
        if request["op"] == "run":
            report = []
            for cell in request["cells"]:
                result = shell.run_cell(cell["source"], store_history=False, silent=True)
                error = result.error_before_exec or result.error_in_exec
                name = _forbidden_name(error, forbidden)
                report.append({"id": cell["id"], "ok": error is None, "forbidden": name or "",
                               "error": _forbidden_message(name) if name else
                               _student_traceback(error) if error is not None else ""})
            reply(request, {"op": "ran", "cells": report, "forbidden_used": used()})
        elif request["op"] == "substitute":
            for name in request["functions"]:
                namespace[name] = _stand_in(name, codec, results)
            reply(request, {"op": "substituted"})
        elif request["op"] == "call":
            reply(request, call(request["function"], request["args"], request["kwargs"]))
        elif request["op"] == "calls":  # one reply per call, in order, ending at the first that failed
            for index, one in enumerate(request["calls"]):
                message = call(request["function"], one["args"], one["kwargs"])
                reply(request, {**message, "index": index})
                if not message["ok"]:
                    break


# ---------------------------------------------------------------------- the warm template

# What the template imports besides the codec and IPython's shell: NumPy, and the modules that making
# the child's InteractiveShell and running its first cell import (measured: 24 ms for the shell and 10 ms
# for a first cell without them, 5 ms and 3 ms with them). Modules only: no object is made here that a
# child would share, and the template runs no student code.
WARM_IMPORTS = ("numpy", "IPython.core.application", "IPython.core.completer", "IPython.core.completerlib",
                "IPython.core.crashhandler", "IPython.core.magics", "IPython.core.oinspect",
                "IPython.utils.generics", "IPython.utils.wildcard", "bdb", "bz2", "glob", "hashlib", "lzma",
                "random", "shutil", "tempfile", "unicodedata")


def template(control_fd):
    """Serve as the warm template of a grader process: import what every sandbox needs once, then fork
    one fresh child per sandbox, which isolates itself and serves exactly as a child started cold.

    The template itself is not isolated and runs no student code; it talks only to the grader, over
    the socket ``control_fd`` (one JSON message per packet; a ``fork`` brings the child's stdin and
    results pipe as passed file descriptors). Requests:
        {"op": "fork", "config": {...}, "cwd": ..., "env": {...}, "limits": [[name, value], ...]}
            -> {"pid": N}  (the child's pid, in the grader's PID namespace; it leads its own session)
        {"op": "wait", "pid": N, "timeout": seconds}  -> {"code": returncode or null}
    A returncode is the exit status, or minus the signal that ended the child. The template exits
    when the grader closes the socket.
    """
    import gc
    import importlib
    import shutil
    import socket
    import tempfile

    source, path = _codec()
    _load_codec(source, path)
    import IPython.core.interactiveshell  # noqa: F401
    import traitlets.config  # noqa: F401
    for name in WARM_IMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    # The children's shell, made once (9 ms of every sandbox's start otherwise), with a first cell run so that
    # the machinery that compiles cells is loaded too. Its profile folder is the template's own, removed at exit.
    ipython_dir = os.environ["IPYTHONDIR"] = tempfile.mkdtemp(prefix="autograder-ipython-")
    try:
        _shell().run_cell("pass", store_history=False, silent=True)
        gc.collect()
        gc.freeze()  # a child's garbage collections leave the template's objects (and their shared pages) alone
        _serve_template(socket.socket(fileno=control_fd), source, path)
    finally:
        shutil.rmtree(ipython_dir, ignore_errors=True)


def _serve_template(control, source, path):
    """The template's loop: fork a child per ``fork`` request, report a child's end per ``wait`` request."""
    import socket

    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 20, 2)
        except OSError:
            return
        if not data:
            return
        request = json.loads(data)
        if request.get("op") == "fork" and len(fds) == 2:
            forbidden = request["config"].get("forbidden") or []
            if forbidden:  # the template's own files, examined once here: every child inherits the verdicts
                loaded_from(forbidden)
            pid = os.fork()
            if pid == 0:  # the sandbox's child: it never returns into the template's code
                code = 1
                try:
                    control.close()
                    _become_sandbox(request, *fds)
                    sys.argv[1:] = ["3", json.dumps(request["config"])]  # as a cold child's
                    serve(3, request["config"], source, path)
                    code = 0
                finally:
                    os._exit(code)
            for fd in fds:
                os.close(fd)
            reply = {"pid": pid}
        elif request.get("op") == "wait":
            reply = {"code": _wait(int(request["pid"]), float(request.get("timeout", 0)))}
        else:
            reply = {"error": "unknown request"}
        control.send(json.dumps(reply).encode())


def _become_sandbox(request, stdin_fd, results_fd):
    """In a freshly forked child: the descriptors, session, directory, environment and limits that
    the grader gives a cold child (stdin, results pipe on fd 3, nothing else open)."""
    import resource

    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(stdin_fd, 0)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.dup2(results_fd, 3)
    os.closerange(4, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None
    if "random" in sys.modules:  # a state of its own, not the template's (seeded from os.urandom)
        sys.modules["random"].seed()
    for name, value in request["limits"]:
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError, AttributeError):  # not every system has every limit
            pass


def _wait(pid, timeout):
    """The returncode of the template's child ``pid`` once it has ended (collecting it), or None if it
    is still running after ``timeout`` seconds."""
    import select
    import time

    deadline = time.monotonic() + timeout
    try:  # readable once the child has ended: no polling delay (a pidfd, where the system has them)
        watch = [os.pidfd_open(pid)]
    except (OSError, AttributeError):
        watch = []
    try:
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return -9
            if done:
                return os.waitstatus_to_exitcode(status)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            select.select(watch, [], [], min(remaining, 1.0 if watch else 0.01))
    finally:
        for fd in watch:
            os.close(fd)


if __name__ == "__main__":
    main()

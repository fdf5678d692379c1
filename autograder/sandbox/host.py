"""Run a submission's code in its own process and call its functions, with limits.

:class:`Sandbox` starts ``python -I child.py`` in its own process group with resource limits
(address space, CPU time, file size, number of processes, no core dumps), a minimal environment
and one thread per numerical library, and isolates it as far as this machine allows (see
:func:`isolation`, and ``docs/grading.md`` for what each mode does and does not stop):

``namespaces`` (the grader runs as root on Linux)
    new mount, PID, network, IPC and UTS namespaces; a private root file system with only the
    system libraries, the Python installation (read-only, forbidden libraries hidden) and an
    empty writable ``/sandbox``; an unprivileged user id of its own; no new privileges.
``userns`` (an unprivileged grader where user namespaces are allowed)
    the same, inside a user namespace, with every capability dropped.
``uid`` (root without namespaces, e.g. some containers)
    an unprivileged user id of its own and a private working directory; files readable by
    others stay readable.
``plain``
    resource limits and a process group only.

Every request has a wall-clock deadline; when it passes, the whole process group (and in the
namespace modes the PID namespace, so nothing escapes by ``setsid``) is killed with SIGKILL and
the sandbox restarts on the next request. Results are read from a dedicated pipe (its fd number
is the child's argument), never from the child's stdout, validated, and decoded by
:mod:`autograder.core.codec` (JSON + ``.npy``, no pickle).
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ..core import codec
from .limits import Limits, SandboxConfigError, SandboxError
from .policy import (
    _LOCK,
    Isolation,
    _allocate_uid,
    _candidate_modes,
    _child_env,
    _exposed,
    _gaps,
    _kill_user,
    _masked,
    _processes_of,
    _readable_by_others,
    _release_uid,
)

CHILD = Path(__file__).with_name("child.py")
MAX_MESSAGE = 64 * 1024 * 1024  # bytes of one reply
MESSAGE_LIMIT = 4000  # characters of an error message the grader keeps
# The kinds of a failed call the child may report (an ErrorKind each; the host adds timeout, crash, exit).
CALL_ERRORS = ("exception", "not-implemented", "missing", "unreadable", "forbidden")
REFERENCE_CALLS = 1000  # reference values one sandbox (one check's grading) serves to stand-ins
REFERENCE_ELEMENTS = 4_000_000  # array elements in the arguments of one stand-in's call

# ---------------------------------------------------------------------- which isolation works here

_ISOLATION: dict[str, Isolation] = {}
_ANNOUNCED: set[str] = set()


def isolation(limits: Limits | None = None) -> Isolation:
    """The strongest isolation that works here (probed once per process; ``AUTOGRADER_SANDBOX`` forces one)."""
    limits = limits or Limits()
    key = os.environ.get("AUTOGRADER_SANDBOX", "auto")
    with _LOCK:
        if key in _ISOLATION:
            return _ISOLATION[key]
        candidates, reasons = _candidate_modes(), []
        for mode in candidates:
            reason = _probe(mode, limits)
            if reason is None:
                strong = mode in ("namespaces", "userns")
                gaps = _gaps(mode, limits) + ((f"stronger modes did not work here ({'; '.join(reasons)})",)
                                              if reasons else ())
                found = Isolation(mode, filesystem=strong, network=strong, pid_namespace=strong,
                                  own_uid=mode in ("namespaces", "uid"), gaps=gaps)
                _ISOLATION[key] = found
                return found
            reasons.append(f"{mode}: {reason}")
        raise SandboxConfigError(f"the sandbox cannot start in mode {candidates[-1]} ({'; '.join(reasons)}); "
                         "unset AUTOGRADER_SANDBOX or pick a mode this machine allows")


def announce(log=None) -> Isolation:
    """Say once, plainly, what the sandbox does not enforce here. Returns the isolation.

    Once per process, and not again in processes started by one that has said it (a batch's
    workers inherit ``AUTOGRADER_SANDBOX_ANNOUNCED``).
    """
    found = isolation()
    if found.mode not in _ANNOUNCED and os.environ.get("AUTOGRADER_SANDBOX_ANNOUNCED") != found.mode:
        _ANNOUNCED.add(found.mode)
        os.environ["AUTOGRADER_SANDBOX_ANNOUNCED"] = found.mode
        write = log or (lambda text: print(text, file=sys.stderr, flush=True))
        write(f"autograder: {found.describe()}")
        for gap in found.gaps:
            write(f"autograder: not enforced: {gap}")
    return found


def _probe(mode: str, limits: Limits) -> str | None:
    """Start a child in ``mode`` that only isolates itself and says so; None when it worked."""
    if mode == "uid":
        hidden = [prefix for prefix in {sys.prefix, sys.base_prefix} if not _readable_by_others(Path(prefix))]
        if hidden:
            return (f"the Python installation ({', '.join(sorted(hidden))}) is not readable by other users, "
                    "so an unprivileged sandbox user could not run it")
    sandbox = Sandbox(limits, _mode=mode)
    try:
        sandbox.start(probe=True)
        return None
    except SandboxError as error:
        return str(error)
    finally:
        sandbox.close()


# ---------------------------------------------------------------------- the sandbox


class Sandbox:
    """One submission's child process. Use as a context manager.

    ``forbidden`` names modules the exercise may not use (hidden from the child's file system
    where it has a private one); ``protect`` names host paths (the course directory) that must
    stay out of the child's reach.
    """

    def __init__(self, limits: Limits | None = None, forbidden=(), protect=(), *, _mode: str | None = None):
        self.limits = limits or Limits()
        self.forbidden = tuple(forbidden)
        self.protect = tuple(str(path) for path in protect)
        self._mode = _mode
        self.process: subprocess.Popen | None = None
        self.workdir: str | None = None
        self.achieved: dict = {}
        self._buffer = b""
        self._pidfd: int | None = None
        self._uid: int | None = None
        # reference(name, args, kwargs) -> value, for the stand-ins of :meth:`substitute`; how many it served
        self.reference = None
        self.substituted: tuple[str, ...] = ()
        self.references_served: dict[str, int] = {}
        self.warm = False  # whether the child was forked from a warm template

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def mode(self) -> str:
        if self._mode is None:
            self._mode = isolation(self.limits).mode
            if self._mode in ("uid", "plain"):
                self._warn_about_protected_paths()
        return self._mode

    def _warn_about_protected_paths(self) -> None:
        for path in self.protect:
            if path in _ANNOUNCED:
                continue
            _ANNOUNCED.add(path)
            if self._mode == "plain" or _readable_by_others(Path(path)):
                print(f"autograder: warning: {path} is readable from the sandbox (mode {self._mode}); "
                      f"hidden tests and the gradebook there are exposed: chmod -R go-rwx {path}",
                      file=sys.stderr, flush=True)

    def start(self, probe: bool = False) -> None:
        self.close()
        mode = self.mode
        self.workdir = tempfile.mkdtemp(prefix="autograder-sandbox-")
        limits, uid = self.limits, None
        if mode in ("namespaces", "uid"):
            uid = self._uid = _allocate_uid()
        elif mode == "userns":
            uid = 1000
        config = {"mode": mode, "uid": uid, "gid": uid, "mountpoint": self.workdir, "probe": probe,
                  "forbidden": list(self.forbidden), "output_chars": limits.output_chars,
                  "disk_bytes": limits.disk_bytes}
        if mode in ("namespaces", "userns"):
            config["expose"] = list(_exposed())
            config["mask"] = _masked(self.forbidden, self.protect)
            home = "/sandbox"
        else:
            home = self.workdir
            if mode == "uid":
                os.chown(self.workdir, uid, uid)
        processes = limits.processes
        if mode in ("userns", "plain") and hasattr(os, "getuid") and os.getuid() != 0:
            processes += len(_processes_of(os.getuid()))  # RLIMIT_NPROC counts all of this user's processes
        read_fd, write_fd = os.pipe()
        rlimits = (("RLIMIT_AS", limits.memory_bytes), ("RLIMIT_CPU", limits.cpu_seconds),
                   ("RLIMIT_FSIZE", limits.file_bytes), ("RLIMIT_CORE", 0), ("RLIMIT_NPROC", processes))
        env = _child_env(home, os.path.join(home, "tmp") if home == "/sandbox" else home)
        warm = None if probe else _template(mode)
        self.process = warm.fork(config, self.workdir, env, rlimits, write_fd) if warm else None
        if self.process is None:  # cold: a fresh interpreter
            self.process = subprocess.Popen(
                [sys.executable, "-I", str(CHILD), str(write_fd), json.dumps(config)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd=self.workdir, env=env, pass_fds=(write_fd,), preexec_fn=lambda: _restrict(rlimits),
                start_new_session=True, close_fds=True,
            )
        self.warm = self.process is not None and not isinstance(self.process, subprocess.Popen)
        os.close(write_fd)
        self._results = read_fd
        self._buffer = b""
        try:
            self._handshake(time.monotonic() + limits.startup_seconds)
        except SandboxError as error:  # nothing of the student's has run yet: a grader-side problem
            if error.kind == "setup":
                raise
            raise SandboxError("setup", f"the sandbox ended while starting ({error})") from None

    def _handshake(self, deadline: float) -> None:
        message = self._message(deadline)
        if message.get("op") == "launcher" and type(message.get("pid")) is int:
            self._watch_init(message["pid"])
            message = self._message(deadline)
        if message.get("op") == "setup-error":
            text = str(message.get("message", ""))[:MESSAGE_LIMIT]
            self.close()
            raise SandboxError("setup", f"the sandbox could not isolate itself ({text})")
        if message.get("op") != "ready" or not isinstance(message.get("isolation"), dict):
            self.close()
            raise SandboxError("setup", "the sandbox did not start properly")
        self.achieved = message["isolation"]

    def _watch_init(self, pid: int) -> None:
        """Hold a pidfd on the PID namespace's init: killing it ends every process in the namespace.

        Its parent, the launcher, collects it only when it has exited, and the handshake comes before
        any student code runs, so the pid still names the init when the pidfd is opened.
        """
        try:
            pidfd = os.pidfd_open(pid)
        except (OSError, AttributeError):
            return
        if self.process.poll() is None:  # its parent is alive, so the pid cannot have been reused
            self._pidfd = pidfd
        else:
            os.close(pidfd)

    def _message(self, deadline: float) -> dict:
        try:
            message = json.loads(self._read_line(deadline))
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.close()
            raise SandboxError("setup", "the sandbox did not start properly (unreadable handshake)")
        return message

    def close(self) -> None:
        """Kill the child and everything it started, then remove the scratch folder (even if interrupted)."""
        try:
            if self.process is not None:
                self._kill()
                os.close(self._results)
                self.process = None
        finally:
            if self._uid is not None:
                _release_uid(self._uid)
                self._uid = None
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None

    def _kill(self) -> None:
        if self._pidfd is not None:
            try:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                # The namespace's init has exited only once every other process in it is gone ...
                select.select([self._pidfd], [], [], 10.0)
            except OSError:
                pass
            os.close(self._pidfd)
            self._pidfd = None
            try:  # ... and the launcher, its parent, then collects it and exits by itself
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        if self._mode == "uid" and self._uid is not None:
            _kill_user(self._uid)

    # ------------------------------------------------------------------ requests
    def request(self, message: dict, timeout: float) -> dict:
        """Send one request; return the validated reply (a dict) or raise :class:`SandboxError`."""
        if self.process is None:
            self.start()
        deadline = time.monotonic() + timeout
        seq = self._post(message, deadline, timeout)
        return self._reply(seq, deadline, timeout)

    def _post(self, message: dict, deadline: float, timeout: float) -> str:
        """Send ``message`` as the next request; its ``seq``: a fresh random token, so that the student's code,
        which can write on the results pipe, cannot answer a request before it is made (lines that guess
        are skipped); what it forges for the request being served is judged as its return value would be."""
        seq = secrets.token_hex(8)
        self._send((json.dumps({**message, "seq": seq}) + "\n").encode(), deadline, timeout)
        return seq

    def _reply(self, seq: str, deadline: float, timeout: float, index: int | None = None) -> dict:
        """The next reply to request ``seq`` (with ``index``, for a batch of calls), answering the stand-ins'
        requests for reference values meanwhile; lines that are neither are skipped."""
        mark = seq.encode()
        while True:
            line = self._read_line(deadline, timeout)
            if mark not in line and b'"reference"' not in line:  # stray: no need to parse it
                continue
            try:
                reply = json.loads(line)
            except ValueError:
                reply = None
            if not isinstance(reply, dict):
                self.close()
                raise SandboxError("unreadable", "the submission's process replied with malformed data")
            if reply.get("seq") == seq and (index is None or reply.get("index") == index):
                return reply
            if reply.get("op") == "reference" and self.reference is not None:
                self._answer_reference(reply, deadline, timeout)
            # otherwise a stale or stray line (e.g. written by the student's code): not the answer to this request

    def _answer_reference(self, request: dict, deadline: float, timeout: float) -> None:
        """Give a stand-in (see :meth:`substitute`) the reference's value on the arguments it sent.

        The arguments are the student's data: they are decoded like any returned value, and bounded
        (:data:`REFERENCE_CALLS` for the sandbox's life, :data:`REFERENCE_ELEMENTS` array elements per call);
        whatever goes wrong is sent back as a message, and the stand-in raises it in the student's code."""
        name = request.get("function")
        served = sum(self.references_served.values())
        try:
            if name not in self.substituted:
                raise ValueError(f"no reference stands in for {str(name)[:40]!r}")
            if served >= REFERENCE_CALLS:
                raise ValueError(f"the reference {name} was called more than {REFERENCE_CALLS} times")
            args = [codec.decode(arg) for arg in request.get("args", [])]
            kwargs = {str(key): codec.decode(value) for key, value in dict(request.get("kwargs", {})).items()}
            if _elements(args) + _elements(list(kwargs.values())) > REFERENCE_ELEMENTS:
                raise ValueError(f"the arguments given to the reference {name} are larger than the grader accepts")
            self.references_served[name] = self.references_served.get(name, 0) + 1
            answer = {"op": "reference-value", "ok": True, "value": codec.encode(self.reference(name, args, kwargs))}
        except Exception as error:  # the student's arguments, or the reference refusing them
            answer = {"op": "reference-value", "ok": False,
                      "message": f"the reference {str(name)[:40]} could not run on these arguments "
                                 f"({type(error).__name__}: {str(error)[:300]})"}
        self._send((json.dumps(answer) + "\n").encode(), deadline, timeout)

    def _send(self, data: bytes, deadline: float, timeout: float) -> None:
        """Write a request without ever blocking: keep reading what the child writes meanwhile.

        (A child that writes a lot to the results pipe and reads no requests must not deadlock us.)
        """
        stdin = self.process.stdin.fileno()
        os.set_blocking(stdin, False)
        while data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail("timeout", timeout)
            readable, writable, _ = select.select([self._results], [stdin], [], remaining)
            if readable:
                self._receive()
            if writable:
                try:
                    data = data[os.write(stdin, data):]
                except BlockingIOError:
                    continue
                except OSError:  # the child is gone
                    self._fail("crash")

    def _receive(self) -> None:
        chunk = os.read(self._results, 1 << 20)
        if not chunk:
            self._fail("crash")
        self._buffer += chunk
        if len(self._buffer) > MAX_MESSAGE:
            self.close()
            raise SandboxError("unreadable", "the submission's reply was larger than the grader accepts")

    def _read_line(self, deadline: float, timeout: float | None = None) -> bytes:
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail("timeout", timeout)
            ready, _, _ = select.select([self._results], [], [], remaining)
            if ready:
                self._receive()
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _fail(self, kind: str, timeout: float | None = None):
        process = self.process
        if kind == "timeout":
            self.close()
            if timeout is None:
                raise SandboxError("setup", "the sandbox did not start in time")
            raise SandboxError("timeout", f"did not finish within {timeout:g} s (stopped; look for an "
                                          "endless loop or far too much work)")
        try:
            code = process.wait(timeout=5) if process else None
        except subprocess.TimeoutExpired:
            code = None
        self.close()
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            reason = {"SIGKILL": "was killed, most likely for using too much memory or CPU time",
                      "SIGXCPU": "was stopped for using too much CPU time",
                      "SIGSEGV": "crashed with a segmentation fault",
                      "SIGBUS": "crashed with a bus error",
                      "SIGABRT": "aborted",
                      "SIGXFSZ": "was stopped for writing too much to disk"}.get(name, f"was killed by {name}")
            raise SandboxError("crash", f"the submission's process {reason}")
        raise SandboxError("exit", f"the submission's process exited (exit code {code}) before replying")

    # ------------------------------------------------------------------ high level
    def run_cells(self, cells: list[dict], timeout: float) -> dict:
        """Run the cells; the reply's ``cells`` is a list of {id, ok, error, forbidden}."""
        reply = self.request({"op": "run", "cells": cells}, timeout)
        report = reply.get("cells")
        if not isinstance(report, list) or not all(_valid_cell(cell) for cell in report):
            self.close()
            raise SandboxError("unreadable", "the submission's process replied with malformed data")
        for cell in report:
            cell["error"] = _cut(cell["error"])
        return {"cells": report, "forbidden_used": _names(reply.get("forbidden_used"))}

    def substitute(self, functions, reference, timeout: float) -> None:
        """Replace the student's ``functions`` by stand-ins that return ``reference(name, args, kwargs)``,
        computed here, in the grader's process (cells must have run; a restart drops the stand-ins)."""
        self.substituted, self.reference = tuple(functions), reference
        self.request({"op": "substitute", "functions": list(functions)}, timeout)

    def call(self, function: str, args: tuple, kwargs: dict, timeout: float) -> dict:
        """Call the student's function; a validated reply: {ok: True, value, forbidden_used, inputs_unchanged} or
        {ok: False, kind, message, exception}, where kind is one of :data:`CALL_ERRORS`. ``inputs_unchanged``:
        the child found the inputs exactly as they came and sent only the first of the harness's
        ``(value, args, kwargs)`` as ``value``."""
        message = {"op": "call", "function": function, **_encoded(args, kwargs)}
        try:
            return self._result(self.request(message, timeout))
        except (RecursionError, MemoryError):  # JSON nested past what the parser can follow
            return self._too_deep()

    def calls(self, function: str, calls: list[tuple[tuple, dict]], timeout: float) -> Iterator[dict]:
        """Call the student's function on each ``(args, kwargs)`` of ``calls`` (a check group's cases), sent
        in one request: the replies, as :meth:`call` gives them, one by one as they come, up to the first
        that failed. Raises :class:`SandboxError` where :meth:`call` would (the call then has no reply).

        ``timeout`` bounds the child's time on the whole batch; the time the caller spends between two
        replies (judging them, while the child goes on) is added to it. Closing the iterator before the
        end (the caller stopped at a wrong value) lets the child finish the batch within what is left of
        that time, answering stand-ins meanwhile, and restarts the sandbox if it does not: the next
        request never waits on this one's calls."""
        if self.process is None:
            self.start()
        start, paused, done = time.monotonic(), 0.0, 0  # the caller's time; the replies the child has given

        def deadline() -> float:
            return start + timeout + paused
        seq = self._post({"op": "calls", "function": function,
                          "calls": [_encoded(args, kwargs) for args, kwargs in calls]}, deadline(), timeout)
        try:
            while done < len(calls):
                try:
                    reply = self._reply(seq, deadline(), timeout, done)
                except (RecursionError, MemoryError):
                    yield self._too_deep()
                    return
                done = len(calls) if reply.get("ok") is not True else done + 1  # the child stops at a failure
                result = self._result(reply)
                mark = time.monotonic()
                try:
                    yield result
                finally:
                    paused += time.monotonic() - mark
                if not result["ok"]:
                    return
        finally:
            self._finish(seq, done, len(calls), deadline(), timeout)

    def _finish(self, seq: str, done: int, count: int, deadline: float, timeout: float) -> None:
        """Read (and drop) the replies to calls ``done`` .. ``count - 1`` of batch ``seq``; restart on trouble."""
        try:
            while done < count and self.process is not None:
                reply = self._reply(seq, deadline, timeout, done)
                done = count if reply.get("ok") is not True else done + 1
        except (SandboxError, RecursionError, MemoryError):
            self.close()

    def _too_deep(self) -> dict:
        self.close()
        return {"ok": False, "kind": "unreadable",
                "message": "the submission's process replied with data nested too deeply to read"}

    @staticmethod
    def _result(reply: dict) -> dict:
        """A call's reply, validated and decoded (see :meth:`call`)."""
        if reply.get("ok") is True:
            try:
                return {"ok": True, "value": codec.decode(reply.get("value")),
                        "forbidden_used": _names(reply.get("forbidden_used")),
                        "inputs_unchanged": reply.get("inputs") == "unchanged"}
            except codec.CodecError as error:
                return {"ok": False, "kind": "unreadable", "message": f"returned unreadable data ({error})"}
        kind = reply.get("kind")
        if reply.get("ok") is not False or kind not in CALL_ERRORS:
            return {"ok": False, "kind": "unreadable", "message": "the submission's process replied with malformed data"}
        exception = reply.get("exception") if kind == "exception" else ""
        return {"ok": False, "kind": kind, "message": _cut(reply.get("message")),
                "exception": exception[:100] if isinstance(exception, str) else ""}


def _encoded(args, kwargs) -> dict:
    return {"args": [codec.encode(arg) for arg in args],
            "kwargs": {key: codec.encode(value) for key, value in kwargs.items()}}


def warm_up() -> None:
    """Probe the isolation and start this process's warm template now, rather than at the first sandbox
    (a worker process does it as it starts). Quiet: a sandbox that cannot start says so when it is used."""
    try:
        mode = isolation().mode
    except SandboxConfigError:
        return
    _template(mode)


def _restrict(rlimits) -> None:
    """Set the child's resource limits (between fork and exec, or in a warm template's fork)."""
    for name, value in rlimits:
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError, AttributeError):  # not every system has every limit
            pass


# ---------------------------------------------------------------------- the warm template

WARM_MODES = ("namespaces", "userns", "uid")  # where the student runs as another user, or cannot see it
_TEMPLATES: dict[tuple[int, str], _Template | None] = {}


def _template(mode: str) -> _Template | None:
    """This process's warm template for ``mode`` (started on first use), or None: warm starts are off
    (``AUTOGRADER_WARM_SANDBOX=0``), the mode lets the student reach the template (``plain``: the same
    user, no PID namespace), or the template could not start (then every sandbox starts cold)."""
    if mode not in WARM_MODES or os.environ.get("AUTOGRADER_WARM_SANDBOX", "1") == "0":
        return None
    key = (os.getpid(), mode)  # a forked grader process starts its own (the socket is its parent's)
    with _LOCK:
        if key not in _TEMPLATES or (_TEMPLATES[key] is not None and not _TEMPLATES[key].alive()):
            _TEMPLATES[key] = _Template.start()
        return _TEMPLATES[key]


class _Template:
    """A process that has imported what every sandbox needs (NumPy, IPython, the codec) and forks a
    fresh child for each sandbox (``child.py --template``). The fork isolates itself exactly as a cold
    child does (namespaces, user id, limits, its own session and scratch folder), so nothing passes
    from one sandbox to the next: each starts from the template's untouched memory. It saves the
    interpreter's start and those imports, about 0.3 s a sandbox."""

    def __init__(self, process: subprocess.Popen, control):
        self.process, self.control = process, control
        self.lock = threading.Lock()

    @classmethod
    def start(cls) -> _Template | None:
        import socket

        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", str(CHILD), "--template", str(theirs.fileno())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd="/", env=_child_env("/nonexistent", tempfile.gettempdir()), pass_fds=(theirs.fileno(),),
                start_new_session=True, close_fds=True)
        except OSError:
            mine.close()
            return None
        finally:
            theirs.close()
        return cls(process, mine)

    def alive(self) -> bool:
        return self.process.poll() is None

    def _ask(self, request: dict, fds=()) -> dict | None:
        import socket

        try:
            socket.send_fds(self.control, [json.dumps(request).encode()], list(fds))
            reply = json.loads(self.control.recv(1 << 16) or b"null")
        except (OSError, ValueError):
            return None
        return reply if isinstance(reply, dict) else None

    def fork(self, config: dict, cwd: str, env: dict, rlimits, results_fd: int) -> _Forked | None:
        """A sandbox child forked from the template (None if the template failed: start one cold)."""
        stdin_read, stdin_write = os.pipe()
        with self.lock:
            reply = self._ask({"op": "fork", "config": config, "cwd": cwd, "env": env,
                               "limits": [list(pair) for pair in rlimits]}, (stdin_read, results_fd))
        os.close(stdin_read)
        if reply is None or type(reply.get("pid")) is not int:
            os.close(stdin_write)
            return None
        return _Forked(self, reply["pid"], stdin_write)

    def wait(self, pid: int, timeout: float) -> int | None:
        with self.lock:
            reply = self._ask({"op": "wait", "pid": pid, "timeout": timeout})
        if reply is None:  # the template is gone, and with it the child's parent: it was collected
            return -signal.SIGKILL
        return reply.get("code")


class _Forked:
    """A sandbox child forked by a :class:`_Template`: what :class:`Sandbox` uses of a ``Popen``."""

    def __init__(self, template: _Template, pid: int, stdin_fd: int):
        self.template, self.pid, self.returncode = template, pid, None
        self.stdin = os.fdopen(stdin_fd, "wb", buffering=0)

    def poll(self) -> int | None:
        return self.wait(0.0) if self.returncode is None else self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            code = self.template.wait(self.pid, 1e9 if timeout is None else timeout)
            if code is None:
                if timeout:
                    raise subprocess.TimeoutExpired(f"sandbox {self.pid}", timeout)
                return None
            self.returncode = code
            self.stdin.close()
        return self.returncode


def _elements(values) -> int:
    """How many array elements (numbers count as one) ``values`` hold, nested lists and dicts included."""
    total = 0
    for value in values:
        if hasattr(value, "size") and hasattr(value, "shape"):
            total += int(value.size)
        elif isinstance(value, (list, tuple)):
            total += _elements(value)
        elif isinstance(value, dict):
            total += _elements(list(value.values()))
        else:
            total += 1
    return total


def _valid_cell(cell) -> bool:
    return (isinstance(cell, dict) and type(cell.get("id")) is str and type(cell.get("ok")) is bool
            and type(cell.get("error")) is str and type(cell.get("forbidden", "")) is str)


def _names(value) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item[:100] for item in value[:100] if isinstance(item, str)]


def _cut(text) -> str:
    text = text if isinstance(text, str) else "failed"
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + " [... message cut]"

"""Run a submission's code in its own process and call its functions, with limits.

:class:`Sandbox` starts ``python -I child.py`` in a fresh, empty working directory, in its own
process group, with resource limits (address space, CPU time, file size, core dumps), a
minimal environment and one thread per numerical library. Every request has a wall-clock
deadline; when it passes, the whole process group is killed with SIGKILL and the sandbox
restarts on the next request. Results are read from a dedicated pipe (its fd number is the child's argument), never from the
child's stdout, and decoded by :mod:`autograder.codec` (JSON + ``.npy``, no pickle).
"""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .. import codec

CHILD = Path(__file__).with_name("child.py")
MAX_MESSAGE = 256 * 1024 * 1024  # bytes of one reply


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 4 * 1024**3
    cpu_seconds: int = 120
    file_bytes: int = 16 * 1024**2
    startup_seconds: float = 60.0


class SandboxError(RuntimeError):
    """The child died, hung, or replied with something unreadable."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _child_env(home: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "TMPDIR": home,
        "IPYTHONDIR": os.path.join(home, ".ipython"),
        "MPLCONFIGDIR": os.path.join(home, ".matplotlib"),
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[name] = "1"
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # keep the machine's numerics settings
        if name in os.environ:
            env[name] = os.environ[name]
    return env


class Sandbox:
    """One submission's child process. Use as a context manager."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.process: subprocess.Popen | None = None
        self.workdir: str | None = None
        self._buffer = b""

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self) -> None:
        self.close()
        self.workdir = tempfile.mkdtemp(prefix="autograder-sandbox-")
        read_fd, write_fd = os.pipe()
        limits = self.limits

        def restrict():  # runs in the child between fork and exec
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        self.process = subprocess.Popen(
            [sys.executable, "-I", str(CHILD), str(write_fd)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=self.workdir, env=_child_env(self.workdir), pass_fds=(write_fd,),
            preexec_fn=restrict, start_new_session=True, close_fds=True,
        )
        os.close(write_fd)
        self._results = read_fd
        self._buffer = b""

    def close(self) -> None:
        if self.process is not None:
            self._kill()
            os.close(self._results)
            self.process = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def _kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()

    # ------------------------------------------------------------------ requests
    def request(self, message: dict, timeout: float) -> dict:
        """Send one request; return the decoded reply or raise :class:`SandboxError`."""
        if self.process is None:
            self.start()
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._fail("crash")
        reply = self._read_line(timeout)
        try:
            return json.loads(reply)
        except ValueError:
            self.close()
            raise SandboxError("unreadable", "the submission's process replied with malformed data") from None

    def _read_line(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail("timeout", timeout)
            ready, _, _ = select.select([self._results], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._results, 1 << 20)
            if not chunk:
                self._fail("crash")
            self._buffer += chunk
            if len(self._buffer) > MAX_MESSAGE:
                self.close()
                raise SandboxError("unreadable", "the submission's reply was larger than the grader accepts")
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _fail(self, kind: str, timeout: float = 0.0):
        process = self.process
        if kind == "timeout":
            self.close()
            raise SandboxError("timeout", f"did not finish within {timeout:g} s (stopped; look for an "
                                          "endless loop or far too much work)")
        code = process.wait(timeout=5) if process else None
        self.close()
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            reason = {"SIGKILL": "killed, most likely for using too much memory or CPU time",
                      "SIGXCPU": "stopped for using too much CPU time",
                      "SIGSEGV": "crashed with a segmentation fault",
                      "SIGXFSZ": "stopped for writing too much to disk"}.get(name, f"killed by {name}")
            raise SandboxError("crash", f"the submission's process was {reason}")
        raise SandboxError("crash", f"the submission's process exited (exit code {code}) before replying")

    # ------------------------------------------------------------------ high level
    def run_cells(self, cells: list[dict], forbidden: list[str], timeout: float) -> dict:
        return self.request({"op": "run", "cells": cells, "forbidden": forbidden}, timeout)

    def call(self, function: str, args: tuple, kwargs: dict, timeout: float) -> dict:
        message = {"op": "call", "function": function,
                   "args": [codec.encode(arg) for arg in args],
                   "kwargs": {key: codec.encode(value) for key, value in kwargs.items()}}
        reply = self.request(message, timeout)
        if reply.get("ok"):
            try:
                reply["value"] = codec.decode(reply["value"])
            except codec.CodecError as error:
                reply = {"ok": False, "kind": "unreadable", "message": f"returned unreadable data ({error})"}
        return reply

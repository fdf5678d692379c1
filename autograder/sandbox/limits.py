"""Resource limits of one submission's sandbox, and the error a sandbox reports.

The defaults suit the course's exercises; the environment variables ``AUTOGRADER_RUN_TIMEOUT``,
``AUTOGRADER_CALL_TIMEOUT``, ``AUTOGRADER_SUBMISSION_TIMEOUT`` (seconds) and ``AUTOGRADER_MEMORY_MB``
change them for a course or a test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..core.errors import UserError


class SandboxConfigError(UserError, ValueError):
    """A sandbox setting (an environment variable) has a value that cannot work; the message says which."""


def _env_number(name: str, default):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SandboxConfigError(f"{name}={text!r} is not a number; set it to a number of seconds "
                         "(or megabytes for AUTOGRADER_MEMORY_MB), or unset it") from None
    if value <= 0:
        raise SandboxConfigError(f"{name}={text!r} must be positive")
    return value


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's sandbox.

    Wall-clock limits: ``run_seconds`` for running the notebook's cells, and each check's own
    ``timeout`` for all of its calls together (``call_seconds``, when set, caps every check's
    limit). One budget bounds a notebook's grading as a whole (:meth:`budget_seconds`): running the
    cells, every restart (which runs them again) and every check, the regrades with stand-ins
    included. The environment variables ``AUTOGRADER_RUN_TIMEOUT``, ``AUTOGRADER_CALL_TIMEOUT``,
    ``AUTOGRADER_SUBMISSION_TIMEOUT`` (seconds) and ``AUTOGRADER_MEMORY_MB`` change the defaults.
    """

    memory_bytes: int = field(default_factory=lambda: int(_env_number("AUTOGRADER_MEMORY_MB", 4096) * 1024**2))
    cpu_seconds: int = 120
    file_bytes: int = 16 * 1024**2  # largest file the submission may write
    disk_bytes: int = 64 * 1024**2  # all it may write (the private /sandbox, namespace modes)
    processes: int = 32  # processes and threads of the sandbox's user
    output_chars: int = 64 * 1024  # printed output kept per request, cut in the child
    startup_seconds: float = 60.0
    run_seconds: float = field(default_factory=lambda: _env_number("AUTOGRADER_RUN_TIMEOUT", 60.0))
    call_seconds: float | None = field(default_factory=lambda: _env_number("AUTOGRADER_CALL_TIMEOUT", None))
    submission_seconds: float | None = field(
        default_factory=lambda: _env_number("AUTOGRADER_SUBMISSION_TIMEOUT", None))

    def check_seconds(self, check_timeout: float) -> float:
        """The wall-clock limit of one check."""
        return min(check_timeout, self.call_seconds) if self.call_seconds else check_timeout

    def budget_seconds(self, check_timeouts, runs: int = 1) -> float:
        """The wall-clock budget of one notebook: running its cells once in each of its ``runs`` sandboxes
        (one, unless a PyTorch exercise needs its own) plus every check's limit (the documented worst case),
        or ``submission_seconds`` when that is smaller. Restarts, which run the cells again, and regrades
        with stand-ins come out of the same budget."""
        worst = self.run_seconds * runs + sum(self.check_seconds(timeout) for timeout in check_timeouts)
        return min(worst, self.submission_seconds) if self.submission_seconds else worst


class SandboxError(RuntimeError):
    """The child died, hung, or replied with something unreadable (``kind`` says which)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind

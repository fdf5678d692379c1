"""One command at a time writes a course: ``DIR/.autograder/lock`` (an advisory ``flock``).

A second ``grade`` (or ``feedback``) on the same course while one runs stops at once with one
line that says who holds the lock; nothing is graded twice and no gradebook row is written by
two processes. The operating system releases the lock when its holder exits, however it exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from . import paths
from .directory import CourseError


@contextlib.contextmanager
def course_lock(course: Path, command: str) -> Iterator[None]:
    path = paths.lock_file(course)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 300, 0).decode(errors="replace").strip() or "another process"
            raise CourseError(f"{course} is busy: {holder}. Wait for it to finish, then run this again") from None
        os.ftruncate(descriptor, 0)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        os.pwrite(descriptor, f"`{command}` is running (pid {os.getpid()}, since {since})".encode(), 0)
        yield
    finally:
        os.close(descriptor)

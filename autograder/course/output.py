"""What the instructor commands print, when their reader may go away (``... | head``)."""

from __future__ import annotations

import os
import sys


def emit(text: str = "", end: str = "\n") -> None:
    """Print ``text`` to standard output. When the reader has closed the pipe, say nothing more: the rest
    of the output goes to ``/dev/null`` (the command itself carries on: a batch still grades everything)."""
    try:
        sys.stdout.write(text + end)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


def silence_stdout() -> None:
    """Send the rest of standard output to ``/dev/null`` (its reader has gone)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)

"""What the instructor commands print, when their reader may go away (``... | head``)."""

from __future__ import annotations

import os
import re
import sys

# What a terminal would act on rather than show: C0 controls but newline and tab, DEL, C1 controls
# (ESC starts colour codes, cursor moves and title changes; CR overwrites a line), and the Unicode
# bidirectional overrides that make a name read backwards. Student ids and file names are the
# students' own text: they reach the terminal only through :func:`printable`. A CR right before a
# newline is a line ending (CSV's), not an overwrite: it is kept.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]|\r(?!\n)")


def printable(text: str) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\u202e``): what a
    terminal shows as it is. Newlines, tabs and CR-LF line endings are kept."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def emit(text: str = "", end: str = "\n") -> None:
    """Print ``text`` to standard output. When the reader has closed the pipe, say nothing more: the rest
    of the output goes to ``/dev/null`` (the command itself carries on: a batch still grades everything)."""
    try:
        sys.stdout.write(printable(text) + end)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


def silence_stdout() -> None:
    """Send the rest of standard output to ``/dev/null`` (its reader has gone)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)

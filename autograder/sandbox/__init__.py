"""Where student code runs: a sandboxed child process, and the host side that starts and talks to it.

- :mod:`.child`   the child (a script run as ``python -I child.py``): isolates itself, runs the
                  student's cells, calls the student's functions; it imports nothing of this
                  package but the codec, which it loads by path
- :mod:`.host`    :class:`Sandbox`: starts a child, sends requests, reads validated replies, kills
                  it at deadlines; :func:`isolation` probes the strongest mode this machine allows;
                  :func:`warm_up` probes it and starts the warm template ahead of the first sandbox
- :mod:`.policy`  what each mode enforces, what the child sees, its user ids and environment
- :mod:`.limits`  :class:`Limits` and :class:`SandboxError`

Rule (held by ``tests/test_layers.py``): this folder imports only :mod:`autograder.core`.
"""

from .host import Sandbox, announce, isolation, warm_up
from .limits import Limits, SandboxConfigError, SandboxError
from .policy import UID_BASE, Isolation

__all__ = ["UID_BASE", "Isolation", "Limits", "Sandbox", "SandboxConfigError", "SandboxError", "announce",
           "isolation", "warm_up"]

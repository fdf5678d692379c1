"""The sandboxed side of grading. Run as a script: ``python -I child.py RESULTS_FD``.

It runs the student's code and calls the student's functions, and nothing else: it never sees
a test, an expected value or the reference. The parent sends one JSON request per line on
stdin; the child answers one JSON line per request on the results pipe. Values cross as
plain data (:mod:`codec`, JSON + ``.npy``), never pickle.

Requests:
    {"op": "run", "cells": [{"id": ..., "source": ...}, ...], "forbidden": [...]}
    {"op": "call", "function": name, "args": [...], "kwargs": {...}}

This file imports only the standard library, NumPy and IPython, and it must stay importable
without the ``autograder`` package being on ``sys.path`` (the codec is loaded by path).
"""

import importlib.util
import io
import json
import os
import sys
import traceback

OUTPUT_LIMIT = 64 * 1024  # characters of captured stdout/stderr kept per request


def _load_codec():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "codec.py")
    spec = importlib.util.spec_from_file_location("_grading_codec", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def _student_traceback(error):
    """The traceback lines that belong to the student's cells, not to this harness."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if not frame.filename.endswith("child.py") and "site-packages" not in frame.filename]
    lines = traceback.format_list(frames[-3:])
    return "".join(lines) + "".join(traceback.format_exception_only(type(error), error))


def main():
    codec = _load_codec()
    results = os.fdopen(int(sys.argv[1]), "w", buffering=1, encoding="utf-8")
    stdout, stderr = BoundedWriter(), BoundedWriter()
    sys.stdout, sys.stderr = stdout, stderr

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="nocolor")
    shell.showtraceback = lambda *a, **k: None  # errors are read from the run result instead
    namespace = shell.user_ns
    forbidden = []

    def reply(message):
        message["stdout"], message["stderr"] = stdout.take(), stderr.take()
        results.write(json.dumps(message) + "\n")

    for line in sys.__stdin__:
        request = json.loads(line)
        if request["op"] == "run":
            forbidden = list(request.get("forbidden", []))
            report = []
            for cell in request["cells"]:
                result = shell.run_cell(cell["source"], store_history=False, silent=True)
                error = result.error_before_exec or result.error_in_exec
                report.append({"id": cell["id"], "ok": error is None,
                               "error": _student_traceback(error) if error is not None else ""})
            used = sorted(name for name in forbidden if name in sys.modules)
            reply({"op": "ran", "cells": report, "forbidden_used": used})
        elif request["op"] == "call":
            name = request["function"]
            function = namespace.get(name)
            if not callable(function):
                reply({"ok": False, "kind": "missing",
                       "message": f"no function named `{name}` was defined (did its cell run without errors?)"})
                continue
            try:
                args = [codec.decode(arg) for arg in request["args"]]
                kwargs = {key: codec.decode(value) for key, value in request["kwargs"].items()}
                value = function(*args, **kwargs)
            except BaseException as error:  # the student's exception, whatever it is
                if isinstance(error, KeyboardInterrupt):
                    raise
                message = ("not implemented yet: the function still raises NotImplementedError"
                           if isinstance(error, NotImplementedError) else _student_traceback(error))
                reply({"ok": False, "kind": "exception", "message": message})
                continue
            try:
                encoded = codec.encode(value)
            except codec.CodecError as error:
                reply({"ok": False, "kind": "unreadable",
                       "message": f"returned {error}, which cannot be graded; return a NumPy array or number"})
                continue
            used = sorted(name for name in forbidden if name in sys.modules)
            reply({"ok": True, "value": encoded, "forbidden_used": used})


if __name__ == "__main__":
    main()

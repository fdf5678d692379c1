"""For the instructor's eyes: what submissions tried against the grader, and which are unusually alike.

Both read the submitted notebooks (``submitted/<student>/<assignment>/``, as pre-flight finds them);
neither changes a score. The sandbox already makes these attempts harmless (see docs/grading.md);
this says who tried what.

**Tampering** (:func:`tampering`): the code cells are parsed (never run) and looked at for
assignments to attributes of NumPy, torch, ``numpy.testing``, ``builtins``, ``sys`` or IPython
(monkeypatching the checks), changes to IPython's input transformers or error display, classes whose
``__eq__`` always says yes, imports of network modules, file paths into the course directory
(gradebook, seed, hidden tests, other students' work), and nbgrader's solution or hidden-test markers
(an instructor's version of the notebook).

**Similarity** (:func:`similar_pairs`): token winnowing as in MOSS (Schleimer, Wilkerson and Aiken,
*Winnowing: local algorithms for document fingerprinting*, SIGMOD 2003). Each submission's exercise
cells are tokenised with names, numbers and strings replaced by placeholders and comments and layout
dropped (so renaming variables or reformatting changes nothing); hashes of every run of
:data:`K` tokens are winnowed (the smallest in each window of :data:`WINDOW`) into a fingerprint
set. Fingerprints of the released notebook (the docstrings and stubs everyone starts from), of the
instructor's solution, and those shared by many submissions (the common answer) are dropped; a pair
is flagged when most of the smaller set is shared.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
import zlib
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import nbformat

from ..grader import preflight
from ..grader.spec import NotebookSpec, nbgrader_meta

K = 12  # tokens per hashed run
WINDOW = 6  # runs per winnowing window
SHARED = 0.8  # a pair is flagged when this share of the smaller fingerprint set is common to both ...
MIN_COMMON = 12  # ... and at least this many fingerprints are
MAX_CELL = 200_000  # characters: a larger code cell is reported as such, not parsed
PATCHED_MODULES = {"np", "numpy", "torch", "testing", "builtins", "sys", "math", "scipy", "IPython"}
NETWORK = {"socket", "urllib", "requests", "http", "ftplib", "smtplib", "httpx", "aiohttp", "telnetlib"}
COURSE_PATHS = re.compile(r"gradebook|\.autograder|nbgrader_config|/source/|/submitted/|/autograded/|"
                          r"/release/|hidden[_ ]tests|/exchange/")
MARKERS = re.compile(r"###\s*(BEGIN|END)\s+(SOLUTION|HIDDEN TESTS)")
IPYTHON_HOOKS = {"input_transformers_cleanup", "input_transformers_post", "set_custom_exc", "showtraceback",
                 "register_magic_function", "ast_transformers", "events"}


@dataclass(frozen=True)
class Attempt:
    student: str
    cell: str  # the cell's grade id, or "cell N"
    what: str  # for people: "patches numpy.testing.assert_allclose"


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Subscript):
        return f"{_dotted(node.value)}[...]"
    if isinstance(node, ast.Call):
        return f"{_dotted(node.func)}()"
    return "?"


def _cell_attempts(source: str) -> list[str]:
    found: list[str] = []
    if MARKERS.search(source):
        found.append("carries nbgrader solution or hidden-test markers (an instructor's copy?)")
    if len(source) > MAX_CELL:
        return [*found, f"a code cell of {len(source):,} characters (not inspected)"]
    try:
        return _parsed_attempts(ast.parse(source), found)
    except SyntaxError:
        return found
    except (RecursionError, MemoryError):  # nesting deep enough to exhaust the parser or the walk
        return [*found, "code nested too deeply to inspect"]


def _parsed_attempts(tree: ast.AST, found: list[str]) -> list[str]:
    for node in ast.walk(tree):
        targets = (node.targets if isinstance(node, ast.Assign) else [node.target]
                   if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for target in targets:
            name = _dotted(target)
            if isinstance(target, (ast.Attribute, ast.Subscript)) and name.split(".")[0].split("[")[0] in PATCHED_MODULES:
                found.append(f"patches {name}")
            elif isinstance(target, ast.Attribute) and target.attr in IPYTHON_HOOKS:
                found.append(f"changes IPython's {target.attr}")
        if isinstance(node, ast.Call):
            function = _dotted(node.func)
            if function in ("setattr", "object.__setattr__") and node.args and \
                    _dotted(node.args[0]).split(".")[0] in PATCHED_MODULES:
                found.append(f"patches {_dotted(node.args[0])} with setattr")
            elif function.split(".")[-1] in IPYTHON_HOOKS:
                found.append(f"changes IPython's {function.split('.')[-1]}")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if name.split(".")[0] in NETWORK:
                    found.append(f"imports {name} (network)")
        if isinstance(node, ast.FunctionDef) and node.name == "__eq__" and len(node.body) <= 2 and any(
                isinstance(statement, ast.Return) and isinstance(statement.value, ast.Constant)
                and statement.value.value is True for statement in node.body):
            found.append("defines an __eq__ that is always True")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and COURSE_PATHS.search(node.value):
            found.append(f"names a course file ({node.value[:60]!r})")
    return list(dict.fromkeys(found))


def _code_cells(folder: Path, specs: dict[str, NotebookSpec]) -> list[tuple[str, str, bool]]:
    """(label, source, is an exercise cell) for every code cell of the submission's notebooks."""
    loaded, _ = preflight.read_folder(folder, specs)
    cells = []
    for name, found in loaded.items():
        if found.notebook is None:
            continue
        solutions = set(specs[name].solutions) if name in specs else set()
        for index, cell in enumerate(found.notebook.cells):
            if cell.get("cell_type") != "code":
                continue
            grade_id = nbgrader_meta(cell).get("grade_id")
            source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
            cells.append((grade_id or f"{name} cell {index + 1}", source, grade_id in solutions))
    return cells


def tampering(folders: dict[str, Path], specs: dict[str, NotebookSpec]) -> list[Attempt]:
    """What each submission's code tried against the grader or the course (read, never run)."""
    attempts = []
    for student, folder in sorted(folders.items()):
        for label, source, _ in _code_cells(folder, specs):
            attempts += [Attempt(student, label, what) for what in _cell_attempts(source)]
    return attempts


# ---------------------------------------------------------------------- similarity


def _tokens(source: str) -> list[str]:
    """The code's tokens with names, numbers and strings as placeholders; comments and layout dropped."""
    out = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NAME:
                out.append(token.string if keyword.iskeyword(token.string) else "N")
            elif token.type == tokenize.NUMBER:
                out.append("0")
            elif token.type == tokenize.STRING:
                out.append('"')
            elif token.type == tokenize.OP:
                out.append(token.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def fingerprints(source: str) -> set[int]:
    """The winnowed hashes of every run of :data:`K` normalised tokens."""
    tokens = _tokens(source)
    hashes = [zlib.crc32(" ".join(tokens[i:i + K]).encode()) for i in range(len(tokens) - K + 1)]
    if len(hashes) <= WINDOW:
        return set(hashes)
    chosen = set()
    for start in range(len(hashes) - WINDOW + 1):
        window = hashes[start:start + WINDOW]
        chosen.add(min(window))
    return chosen


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    shared: float  # of the smaller fingerprint set
    common: int  # fingerprints in common
    code: tuple[str, str]  # each one's exercise code, for a side-by-side view


def similar_pairs(folders: dict[str, Path], specs: dict[str, NotebookSpec], base: list[Path]) -> list[Pair]:
    """Pairs of submissions whose exercise code is unusually alike, most alike first; code found in the
    ``base`` notebooks (the released and the source notebook) does not count."""
    template: set[int] = set()
    for path in base:
        try:
            notebook = nbformat.read(path, as_version=4)
        except (OSError, ValueError):
            continue
        for cell in notebook.cells:
            if cell.get("cell_type") == "code":
                template |= fingerprints(cell.source)
    code = {student: "\n\n".join(source for _, source, exercise in _code_cells(folder, specs) if exercise)
            for student, folder in folders.items()}
    prints = {student: fingerprints(text) - template for student, text in code.items()}
    counts: dict[int, int] = {}
    for found in prints.values():
        for value in found:
            counts[value] = counts.get(value, 0) + 1
    common_limit = max(2, len(prints) // 5)  # shared by more submissions than this: the usual answer
    prints = {student: {v for v in found if counts[v] <= common_limit} for student, found in prints.items()}
    pairs = []
    for first, second in combinations(sorted(prints), 2):
        a, b = prints[first], prints[second]
        common = len(a & b)
        if not a or not b or common < MIN_COMMON:
            continue
        shared = common / min(len(a), len(b))
        if shared >= SHARED:
            pairs.append(Pair(first, second, shared, common, (code[first], code[second])))
    return sorted(pairs, key=lambda pair: (-pair.shared, -pair.common, pair.first, pair.second))

"""What an assignment asks for, read from the instructor's source notebook.

The grader trusts only the source: which cells hold the student's code (nbgrader solution
cells), which cells set up the namespace (cells tagged ``setup``), which test cells exist,
what each is worth (nbgrader ``points``) and which check each test cell declares with its
one readable line, ``check("<chapter-stem>.<function>")``. What a submission's test cells
say is never used.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import nbformat

# Linear on any text: a line's own indentation only (``\s*`` would run on over blank lines from every
# line start, quadratic in a cell of many empty lines), and ``[ \t]*`` inside the parenthesis too.
CHECK_LINE = re.compile(r"""^[ \t]*check\([ \t]*["']([\w-]+\.\w+)["']""", re.MULTILINE)
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


@dataclass(frozen=True)
class TestCell:
    grade_id: str
    check_id: str
    points: float
    visible_source: str  # the test cell as the student sees it (hidden tests removed)


@dataclass
class NotebookSpec:
    name: str  # notebook file name without .ipynb
    setup: list[str] = field(default_factory=list)
    solutions: list[str] = field(default_factory=list)  # grade ids, in notebook order
    tests: list[TestCell] = field(default_factory=list)
    # What only the instructor's source holds, to recognise a submitted copy of it: the nbgrader
    # checksum of each of its solution cells (what a cell copied with its metadata carries) and the
    # SHA-256 of the source file (set by whoever read the file: a byte-for-byte copy)
    source_checksums: dict[str, str] = field(default_factory=dict)
    source_digest: str = ""

    @property
    def max_score(self) -> float:
        return sum(test.points for test in self.tests)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_hidden_tests(source: str) -> str:
    """Remove ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions (with the blanks before the
    first marker on its line, and the blanks and one newline after the second).

    A scan with :meth:`str.find`, linear in the length of ``source`` whatever it holds (a regular
    expression with a lazy ``.*?`` between the markers is quadratic on a cell of many unclosed markers).
    """
    kept, position = [], 0
    while True:
        begin = source.find(HIDDEN_BEGIN, position)
        if begin < 0:
            break
        end = source.find(HIDDEN_END, begin + len(HIDDEN_BEGIN))
        if end < 0:
            break
        start = begin
        while start > position and source[start - 1] in " \t":
            start -= 1
        end += len(HIDDEN_END)
        while end < len(source) and source[end] in " \t":
            end += 1
        if source.startswith("\n", end):
            end += 1
        kept.append(source[position:start])
        position = end
    kept.append(source[position:])
    return "".join(kept).rstrip()


def nbgrader_checksum(cell) -> str:
    """nbgrader's checksum of a cell (its ``compute_checksum``): MD5 of the source, the cell type, the
    grade, solution and locked flags, the grade id and, for a graded cell, its points."""
    meta = nbgrader_meta(cell)
    grade, solution = bool(meta.get("grade")), bool(meta.get("solution"))
    locked = bool(meta.get("locked")) or grade  # nbgrader's is_locked: a graded cell is locked
    source = cell.get("source", "")
    digest = hashlib.md5(("".join(source) if isinstance(source, list) else source).encode())
    for part in (cell.get("cell_type", ""), str(grade), str(solution), str(locked and not solution),
                 str(meta.get("grade_id", ""))):
        digest.update(part.encode())
    if grade:
        digest.update(str(float(meta.get("points", 0))).encode())
    return digest.hexdigest()


def read_spec(notebook: nbformat.NotebookNode, name: str) -> NotebookSpec:
    spec = NotebookSpec(name)
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code":
            continue
        if "setup" in cell.get("metadata", {}).get("tags", []):
            spec.setup.append(cell.source)
        if meta.get("solution"):
            spec.solutions.append(meta["grade_id"])
            spec.source_checksums[meta["grade_id"]] = nbgrader_checksum(cell)
        elif meta.get("grade"):
            found = CHECK_LINE.findall(cell.source)
            if len(found) < 1:
                raise ValueError(f"test cell {meta.get('grade_id')!r} of {name} declares no "
                                 'check("<chapter-stem>.<function>") line')
            spec.tests.append(TestCell(meta["grade_id"], found[0], float(meta.get("points", 0)),
                                       strip_hidden_tests(cell.source)))
    return spec

"""What an assignment asks for, read from the instructor's source notebook.

The grader trusts only the source: which cells hold the student's code (nbgrader solution
cells), which cells set up the namespace (cells tagged ``setup``), which test cells exist,
what each is worth (nbgrader ``points``) and which check each test cell declares with its
one readable line, ``check("<chapter-stem>.<function>")``. What a submission's test cells
say is never used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import nbformat

CHECK_LINE = re.compile(r"""^\s*check\(\s*["']([\w-]+\.\w+)["']""", re.MULTILINE)


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

    @property
    def max_score(self) -> float:
        return sum(test.points for test in self.tests)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_hidden_tests(source: str) -> str:
    """Remove ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions."""
    return re.sub(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", "", source, flags=re.DOTALL).rstrip()


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
        elif meta.get("grade"):
            found = CHECK_LINE.findall(cell.source)
            if len(found) < 1:
                raise ValueError(f"test cell {meta.get('grade_id')!r} of {name} declares no "
                                 'check("<chapter-stem>.<function>") line')
            spec.tests.append(TestCell(meta["grade_id"], found[0], float(meta.get("points", 0)),
                                       strip_hidden_tests(cell.source)))
    return spec

"""One source, many products: the notebooks derived from a chapter's source.

With nbgrader's own preprocessors, from ``solutions/<stem>.md`` (:mod:`.sources`):

- the student notebook ``chapters/<stem>.ipynb`` (no solutions, no hidden tests, committed), the
  same cell for cell as what ``nbgrader generate_assignment`` releases (:func:`student_version`);
- the page that is executed for the book (:func:`page_input`: hidden tests removed *before*
  execution), and the book page made from its executed copy (:func:`page_version`: solutions
  replaced by the student stub *after* it, outputs kept, then published by :mod:`.publish`), so
  neither a solution nor a hidden test reaches the book;
- the instructor's page (:func:`instructor_version`): the book page plus, after each exercise,
  its solution and its hidden tests in collapsed dropdowns (``make book-instructor``), and the
  cells tagged ``instructor-only`` (notes for instructors), which every other product drops.

Nothing derived is edited by hand: ``make book`` regenerates everything.
"""

from __future__ import annotations

import copy

import nbformat
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

from .publish import publish
from .sources import BuildError

INSTRUCTOR_ONLY = "instructor-only"  # tags a cell that only the instructor edition shows


def _apply(notebook, *preprocessors) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(notebook)
    resources: dict = {}
    for preprocessor in preprocessors:
        notebook, resources = preprocessor().preprocess(notebook, resources)
    return notebook


# ---------------------------------------------------------------------- derived notebooks


def without_instructor_cells(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` without the cells tagged ``instructor-only``."""
    notebook = copy.deepcopy(notebook)
    notebook.cells = [cell for cell in notebook.cells if INSTRUCTOR_ONLY not in cell.metadata.get("tags", [])]
    return notebook


def student_version(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What ``nbgrader generate_assignment`` releases (same preprocessors, no database).

    nbgrader would release an ``instructor-only`` cell with the rest, so an assignment may not have one.
    """
    if len(without_instructor_cells(source).cells) != len(source.cells):
        raise BuildError(f"{source.metadata.get('title', 'a chapter')}: cells tagged {INSTRUCTOR_ONLY!r} are for pages "
                         "that are not assignments (nbgrader would release them to students); move the note into "
                         "docs/ or the introduction")
    return _apply(source, LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
                  ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata)


def page_input(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook that is executed for the book: solutions kept, hidden tests removed."""
    return _apply(source, ClearHiddenTests, ClearMarkScheme)


def page_version(executed: nbformat.NotebookNode, stem: str | None = None,
                 instructor: bool = False) -> nbformat.NotebookNode:
    """The executed page with solutions replaced by the student stub; outputs are kept.

    With ``stem``, the page is also published (see :func:`publish`): figures get their captions
    and alt text, and the chapter's conventions are checked. Cells tagged ``instructor-only``
    are dropped unless ``instructor``.
    """
    page = _apply(executed if instructor else without_instructor_cells(executed), ClearSolutions)
    return publish(page, stem) if stem else page


def instructor_version(executed: nbformat.NotebookNode, source: nbformat.NotebookNode,
                       stem: str) -> nbformat.NotebookNode:
    """The book page plus, after each exercise, its solution and its hidden tests, collapsed.

    The page itself is the student's (stubs in the exercise cells, outputs of the reference
    solution); each solution cell is followed by a dropdown with the full solution, and each test
    cell by a dropdown with the whole test cell as the grader has it, hidden tests included.
    """
    page = page_version(executed, stem, instructor=True)
    originals = {cell.id: cell for cell in source.cells}
    cells = []
    for cell in page.cells:
        cells.append(cell)
        meta = cell.metadata.get("nbgrader", {})
        original = originals.get(cell.get("id"))
        if original is None or cell.cell_type != "code":
            continue
        if meta.get("solution"):
            title, kind = f"Solution: `{meta['grade_id']}`", "instructor-solution"
        elif meta.get("grade"):
            title, kind = f"Test cell with hidden tests: `{meta['grade_id']}`", "instructor-hidden-tests"
        else:
            continue
        cells.append(nbformat.v4.new_markdown_cell(
            f"::::{{dropdown}} {title}\n:class-container: {kind}\n\n"
            f"````python\n{original.source.rstrip()}\n````\n::::",
            id=f"{cell.id}-instructor"[:64]))
    page.cells = cells
    return page


# ---------------------------------------------------------------------- publishing a page

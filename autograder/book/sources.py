"""The repository's layout, and the chapters' single sources.

Every chapter is authored once, as a MyST-Markdown notebook ``solutions/NN-stem.md`` (narrative,
exercises with solutions, test cells with hidden tests, nbgrader metadata). :func:`read_source`
reads one as a notebook; everything else is derived from it (:mod:`.derive`). The course
directory's copy (``<course>/source/<stem>/<stem>.ipynb``) is written by
:mod:`autograder.course.directory` from the same notebook.
"""

from __future__ import annotations

import copy
import functools

from pathlib import Path

import nbformat

from ..core.errors import UserError

ROOT = Path(__file__).resolve().parent.parent.parent  # the repository
SOLUTIONS = ROOT / "solutions"  # the single sources
CHAPTERS = ROOT / "chapters"  # the student notebooks, derived and committed
PAGES = ROOT / "book"  # the book's pages, derived and executed (not committed)
CACHE = ROOT / "_build" / "exec-cache"  # executed pages, by cache key
INSTRUCTOR_SOURCE = ROOT / "_build" / "instructor-src"  # the instructor edition's Jupyter Book project
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class BuildError(UserError):
    """A chapter failed to build; the message names the chapter and the cell."""


def sources() -> list[Path]:
    return sorted(SOLUTIONS.glob("[0-9][0-9]-*.md"))


def read_source(path: Path) -> nbformat.NotebookNode:
    """The chapter's source as a notebook: narrative, solutions and hidden tests included (a copy of
    the one parsed when the file last changed: parsing MyST takes a good part of a second)."""
    stat = Path(path).stat()
    return copy.deepcopy(_parsed(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=32)
def _parsed(path: str, mtime_ns: int, size: int) -> nbformat.NotebookNode:
    """``read_source``'s notebook, parsed once per version of the file (its time and size)."""
    import jupytext  # not at the top: Sphinx imports this module (through .sphinx) in every build

    path = Path(path)
    notebook = jupytext.read(path)
    notebook.metadata = nbformat.NotebookNode(
        kernelspec=KERNELSPEC, language_info={"name": "python"},
        **({"title": notebook.metadata["title"]} if "title" in notebook.metadata else {}))
    for index, cell in enumerate(notebook.cells):  # stable ids keep derived files reproducible
        cell.id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"{path.stem[:2]}-{index:03d}"
        cell.metadata.pop("editable", None)
        cell.metadata.pop("deletable", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def is_assignment(notebook: nbformat.NotebookNode) -> bool:
    return any("nbgrader" in cell.metadata for cell in notebook.cells)


def dumps(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True

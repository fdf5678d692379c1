"""``python -m autograder check NOTEBOOK``: a student's local run of the full grading.

The same steps as the instructor's grader: pre-flight (the notes say what was repaired or is
missing), the same sandbox, the visible and the randomized hidden checks. It prints each check's
verdict and diagnosis and the score; it never shows a hidden test's code or expected values
(the randomized inputs are drawn here from a fresh seed, and only verdicts are printed).
"""

from __future__ import annotations

import random
from pathlib import Path

import nbformat

from ..book.sources import CHAPTERS
from ..core.checks.questions import is_answer, keys
from ..course.directory import CourseError
from ..grader import preflight
from ..grader.notebook import grade_notebook
from ..grader.spec import CHECK_LINE, read_spec
from ..grader.text import verdict_text


def _released(stem: str) -> Path:
    return CHAPTERS / f"{stem}.ipynb"  # the released notebook: the spec, without solutions


def _which_chapter(path: Path, notebook: nbformat.NotebookNode | None, assignment: str | None) -> str:
    if assignment:
        if not _released(assignment).exists():
            raise CourseError(f"unknown chapter {assignment!r}; pass --assignment with one of: {_known()}")
        return assignment
    if _released(path.stem).exists():
        return path.stem
    declared = {match.split(".", 1)[0] for cell in (notebook.cells if notebook else [])
                if cell.get("cell_type") == "code" for match in CHECK_LINE.findall(str(cell.get("source", "")))}
    known = [stem for stem in sorted(declared) if _released(stem).exists()]
    if len(known) == 1:
        return known[0]
    raise CourseError(f"cannot tell which chapter {path.name} is; pass --assignment (one of: {_known()})")


def _known() -> str:
    return ", ".join(p.stem for p in sorted(CHAPTERS.glob("*.ipynb")))


def check_notebook(path: Path, assignment: str | None, seed: int | None) -> int:
    if not path.is_file():
        raise CourseError(f"{path} does not exist; give the path of your notebook, e.g. chapters/02-convolution.ipynb")
    loaded = preflight.read_notebook(path)
    if loaded.notebook is None:
        raise CourseError(loaded.failure)
    stem = _which_chapter(path, loaded.notebook, assignment)
    spec = read_spec(nbformat.read(_released(stem), as_version=4), stem)
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    result = grade_notebook(spec, loaded.notebook, seed, notes=loaded.notes)
    for note in result.notes:
        print(f"note: {note}")
    if result.status != "graded":
        print(f"\ncannot grade {path.name}: {result.status.removeprefix('failed: ')}")
        print(f"\nscore: 0 / {result.max_score:g}")
        return 1
    for cell, error in result.cell_errors.items():
        print(f"cell {cell} raised an error:\n{error}")
    for check in result.checks:
        print(verdict_text(check))
    # questions whose answer key is not installed (the students' repository) cannot be graded here
    unkeyed = [check for check in result.checks if is_answer(check.check_id.split(".", 1)[1])
               and check.check_id.split(".", 1)[1] not in keys(stem)]
    score = result.score - sum(check.score for check in unkeyed)
    most = result.max_score - sum(check.points for check in unkeyed)
    if unkeyed:
        print(f"\nnot graded here: {', '.join(check.check_id for check in unkeyed)} (questions: their answer key "
              "is not in this installation; they are graded when you hand the notebook in)")
    print(f"\nscore: {score:g} / {most:g}   (randomized checks drawn with --seed {seed})")
    return 0 if score == most else 1

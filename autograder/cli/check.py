"""``python -m autograder check NOTEBOOK``: a student's local run of the full grading."""

from __future__ import annotations

import random
from pathlib import Path

import nbformat

from .. import build
from ..course import CourseError
from ..grading.batch import verdict_text
from ..grading.grade import grade_notebook
from ..grading.spec import read_spec


def check_notebook(path: Path, assignment: str | None, seed: int | None) -> int:
    if not path.is_file():
        raise CourseError(f"{path} does not exist; give the path of your notebook, e.g. chapters/02-convolution.ipynb")
    stem = assignment or path.stem
    pristine = build.CHAPTERS / f"{stem}.ipynb"  # the released notebook: the spec, without solutions
    if not pristine.exists():
        known = ", ".join(p.stem for p in sorted(build.CHAPTERS.glob("*.ipynb")))
        raise CourseError(f"cannot tell which chapter {path.name} is; pass --assignment (one of: {known})")
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:
        raise CourseError(f"{path} is not a readable notebook ({type(error).__name__}: {error}); "
                          "restore it from the chapters/ folder and copy your code back in") from None
    spec = read_spec(nbformat.read(pristine, as_version=4), stem)
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    result = grade_notebook(spec, notebook, seed)
    for cell, error in result.cell_errors.items():
        print(f"cell {cell} raised an error:\n{error}")
    for check in result.checks:
        print(verdict_text(check))
    print(f"\nscore: {result.score:g} / {result.max_score:g}   (randomized checks drawn with --seed {seed})")
    return 0 if result.score == result.max_score else 1

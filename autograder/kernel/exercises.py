"""Reuse the functions you wrote in earlier chapters.

A later chapter builds on the exercises of earlier ones, the way a library grows: chapter 9
trains a CNN made of *your* convolution, ReLU, pooling and affine layers and *your* backward
passes. Nothing is copied between notebooks. ::

    from autograder import exercises
    mine = exercises.load("04-nonlinearity-and-pooling", "08-backpropagation")
    mine.relu_forward(x)

``load`` finds each chapter's notebook (``<stem>.ipynb`` in the current folder, or beside it in
nbgrader's ``../<stem>/<stem>.ipynb``), runs its setup cell and its exercise cells — nothing
else — in a fresh namespace, and returns the exercise functions. With ``verify=True`` (the
default) each function first has to pass its chapter's visible checks, so a half-finished
exercise is reported with its chapter and name instead of failing somewhere deep in training.

The published book is executed with ``AUTOGRADER_EXERCISES`` pointing at ``solutions/``, so the
book's pages use the reference solutions without ever showing them.

Within one chapter, a narrative cell that runs an exercise starts with ``needs(...)``::

    needs("center_crop", "rgb_to_grayscale")

Run on a blank notebook, it stops the cell with one line naming the exercise to finish (an
:class:`ExerciseNotReady`), instead of a ``NotImplementedError`` or a confusing error from the
plotting code further down. With finished exercises it does nothing and shows nothing.
"""

from __future__ import annotations

import dis
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat

ENV = "AUTOGRADER_EXERCISES"


class ExerciseNotReady(RuntimeError):
    """An exercise this cell needs is missing, unfinished, broken or does not pass its checks yet.

    Raised by :func:`load` (an earlier chapter's exercise) and by :func:`needs` (one of this
    chapter's exercises); Jupyter shows its one-line message, not a traceback.
    """

    def _render_traceback_(self) -> list[str]:  # one line in Jupyter, not a traceback
        return [f"ExerciseNotReady: {self}"]


def _candidates(stem: str, folder: Path | None) -> list[Path]:
    if os.environ.get(ENV):
        return [Path(os.environ[ENV]) / f"{stem}.md"]
    here = Path(folder) if folder else Path.cwd()
    return [here / f"{stem}.ipynb", here.parent / stem / f"{stem}.ipynb", here.parent / "chapters" / f"{stem}.ipynb"]


def _read(stem: str, folder: Path | None) -> tuple[Path, nbformat.NotebookNode]:
    candidates = _candidates(stem, folder)
    for path in candidates:
        if path.exists():
            if path.suffix == ".md":
                import jupytext

                return path, jupytext.read(path)
            try:
                return path, nbformat.read(path, as_version=4)
            except Exception as error:
                raise ExerciseNotReady(f"{path} is not a readable notebook ({type(error).__name__}: {error})") from None
    looked = ", ".join(str(p) for p in candidates)
    raise ExerciseNotReady(f"cannot find your notebook {stem}.ipynb (looked for {looked}); keep the chapters' "
                           "notebooks side by side, or pass folder=... to exercises.load")


def _exercise_ids(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")]


def run_exercises(stem: str, notebook: nbformat.NotebookNode, origin: str) -> dict:
    """Run the setup cells and exercise cells of ``notebook``; return the namespace."""
    namespace: dict = {"__name__": f"exercises_{stem.replace('-', '_')}"}
    for cell in notebook.cells:
        meta = cell.get("metadata", {})
        if cell.cell_type != "code":
            continue
        if "setup" not in meta.get("tags", []) and not meta.get("nbgrader", {}).get("solution"):
            continue
        try:
            code = compile(cell.source, f"<{origin}: {meta.get('nbgrader', {}).get('grade_id', 'setup')}>", "exec")
            exec(code, namespace)  # noqa: S102 -- the student's own cells, in the student's own kernel
        except Exception as error:
            where = meta.get("nbgrader", {}).get("grade_id", "the setup cell")
            raise ExerciseNotReady(f"running `{where}` from {origin} raised {type(error).__name__}: {error}. "
                                   "Fix that cell in its chapter first.") from None
    return namespace


# Why the last load() stopped (its one line), for later cells that need what it would have returned.
_LAST_LOAD_FAILURE: list[str] = []


def load(*stems: str, names: list[str] | None = None, folder: Path | str | None = None,
         verify: bool = True) -> SimpleNamespace:
    """The exercise functions of chapters ``stems`` (only ``names``, if given), in one namespace.

    Later chapters win when two define the same name. With ``verify``, every function returned
    must pass its chapter's visible checks (failures show the usual report, then raise
    ExerciseNotReady). A later cell that needs the result names it with :func:`needs`, which then
    repeats why this load stopped.
    """
    _LAST_LOAD_FAILURE.clear()
    try:
        return _load(stems, names, folder, verify)
    except ExerciseNotReady as error:
        _LAST_LOAD_FAILURE.append(str(error))
        raise


def _load(stems, names, folder, verify) -> SimpleNamespace:
    functions: dict = {}
    for stem in stems:
        path, notebook = _read(stem, Path(folder) if folder else None)
        namespace = run_exercises(stem, notebook, path.name)
        for name in _exercise_ids(notebook):
            if names is not None and name not in names:
                continue
            function = namespace.get(name)
            if not callable(function):
                raise ExerciseNotReady(f"{path.name} defines no function `{name}`: run and save that chapter first")
            if verify:
                _verify(stem, name, function)
            functions[name] = function
    missing = sorted(set(names or ()) - set(functions))
    if missing:
        raise ExerciseNotReady(f"none of the chapters {', '.join(stems)} has an exercise named {', '.join(missing)}")
    return SimpleNamespace(**functions)


def _verify(stem: str, name: str, function) -> None:
    from ..core import checks
    from .feedback import CheckFailed, check

    check_id = f"{stem}.{name}"
    try:
        checks.get(check_id)
    except KeyError:
        return  # an exercise without an automatic check (none today)
    try:
        check(check_id, function)
    except CheckFailed:
        raise ExerciseNotReady(f"your `{name}` from {stem} does not pass its checks yet (report above); "
                               f"finish it in {stem}.ipynb and save, then run this cell again") from None


# ---------------------------------------------------------------------- needs(...): this chapter's exercises

def _unfinished(function) -> str:
    """Why ``function`` is visibly not written yet ("" when it looks written).

    Read from its bytecode, without calling it: the blank stub raises NotImplementedError, and a
    function without a single ``return <value>`` gives None to the cell that plots its result. An
    exercise that is a class (an ``nn.Module``) is unfinished while one of its methods raises it.
    """
    if isinstance(function, type):  # an exercise that is a class (an nn.Module): its own methods
        methods = [value for value in vars(function).values() if hasattr(value, "__code__")]
        return next((f"its {method.__name__} still raises NotImplementedError" for method in methods
                     if "NotImplementedError" in method.__code__.co_names), "")
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    if "NotImplementedError" in code.co_names:
        return "it still raises NotImplementedError"
    instructions = list(dis.get_instructions(code))
    for before, instruction in zip([None, *instructions], instructions, strict=False):
        if instruction.opname == "RETURN_CONST" and instruction.argval is not None:
            return ""
        if instruction.opname == "RETURN_VALUE" and not (
                before is not None and before.opname == "LOAD_CONST" and before.argval is None):
            return ""
    return "it returns nothing yet"


def needs(*names: str, made=(), _depth: int = 1) -> None:
    """Stop this cell with one line if an exercise it runs is not written yet.

    ``names`` are exercise functions of the notebook (looked up in the calling cell's globals);
    ``made`` names values that earlier cells make from other chapters' exercises (``layers =
    exercises.load(...)``): a missing one stops the cell and repeats why the last :func:`load` stopped.
    Raises :class:`ExerciseNotReady` naming the first one that is undefined, still the blank
    stub, or returns nothing; does nothing (and shows nothing) when all of them look written.
    """
    namespace = sys._getframe(_depth).f_globals
    for name in made:
        if name not in namespace:
            why = _LAST_LOAD_FAILURE[-1] if _LAST_LOAD_FAILURE else "run the cells above first"
            raise ExerciseNotReady(f"this cell needs `{name}`, which an earlier cell did not make: {why}")
    for name in names:
        function = namespace.get(name)
        if not callable(function):
            raise ExerciseNotReady(f"this cell needs the exercise `{name}`: run its cell above first")
        why = _unfinished(function)
        if why:
            raise ExerciseNotReady(f"this cell needs the exercise `{name}` ({why}): finish it above, "
                                   "run its cell, then run this cell again")

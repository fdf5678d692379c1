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
plotting code further down. It also runs each exercise's visible check, quietly (the same check
as ``load``'s, without its report; a function that passed it already is not run again), and
stops the cell with one line if it does not pass yet. With exercises that pass it does nothing
and shows nothing.
"""

from __future__ import annotations

import linecache
import os
import pkgutil
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
            filename = f"<{origin}: {meta.get('nbgrader', {}).get('grade_id', 'setup')}>"
            code = compile(cell.source, filename, "exec")
            # its source, for inspect (as IPython keeps a cell's): whether an exercise is finished is read there
            linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(keepends=True), filename)
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
            if verify and not _verify(f"{stem}.{name}", function):
                raise ExerciseNotReady(f"your `{name}` from {stem} does not pass its checks yet (report above); "
                                       f"finish it in {stem}.ipynb and save, then run this cell again")
            functions[name] = function
    missing = sorted(set(names or ()) - set(functions))
    if missing:
        raise ExerciseNotReady(f"none of the chapters {', '.join(stems)} has an exercise named {', '.join(missing)}")
    return SimpleNamespace(**functions)


def _verify(check_id: str, function, quiet: bool = False) -> bool:
    """Whether ``function`` passes the visible checks of ``check_id`` (True when there is no such check).

    The one way this module checks an exercise: :func:`load` shows the report of a failure, :func:`needs`
    runs it ``quiet``. An interrupted check stops here too, with one line (``CheckInterrupted``)."""
    from ..core import checks
    from .feedback import CheckFailed, check

    try:
        checks.get(check_id)
    except KeyError:
        return True  # an exercise without an automatic check (none today)
    try:
        check(check_id, function, quiet=quiet)
    except CheckFailed:
        return False
    return True


# ---------------------------------------------------------------------- needs(...): this chapter's exercises

_CHECK_IDS: dict[str, str] = {}  # exercise name -> its check's id, as found


def _check_id(name: str) -> str | None:
    """The id of the check of the exercise ``name`` (exercise names are unique in the course), or None.

    The chapters whose checks are loaded already (the notebook's check cells load its own) are looked
    at first, then the others."""
    from ..core import checks

    if name in _CHECK_IDS:
        return _CHECK_IDS[name]
    loaded = [module.rsplit(".", 1)[1] for module in list(sys.modules) if module.startswith(f"{checks.__name__}.ch")]
    every = [info.name for info in pkgutil.iter_modules(checks.__path__) if info.name.startswith("ch")]
    for module in [*loaded, *(module for module in sorted(every) if module not in loaded)]:
        try:
            found = [spec.id for spec in checks.for_chapter(checks.stem_of(module)).values() if spec.function == name]
        except KeyError:
            continue
        if found:
            _CHECK_IDS[name] = found[0]
            return found[0]
    return None


def needs(*names: str, made=(), _depth: int = 1) -> None:
    """Stop this cell with one line if an exercise it runs is not written yet.

    ``names`` are exercise functions of the notebook (looked up in the calling cell's globals);
    ``made`` names values that earlier cells make from other chapters' exercises (``layers =
    exercises.load(...)``): a missing one stops the cell and repeats why the last :func:`load` stopped.
    Raises :class:`ExerciseNotReady` naming the first one that is undefined, still the blank
    stub (:func:`~autograder.kernel.feedback.unfinished`), returns nothing, or does not pass its
    visible check (run quietly, as :func:`load` runs it); does nothing (and shows nothing) when all of
    them pass.
    """
    from .feedback import unfinished

    namespace = sys._getframe(_depth).f_globals
    for name in made:
        if name not in namespace:
            why = _LAST_LOAD_FAILURE[-1] if _LAST_LOAD_FAILURE else "run the cells above first"
            raise ExerciseNotReady(f"this cell needs `{name}`, which an earlier cell did not make: {why}")
    for name in names:
        function = namespace.get(name)
        if not callable(function):
            raise ExerciseNotReady(f"this cell needs the exercise `{name}`: run its cell above first")
        why = unfinished(function)
        if why:
            raise ExerciseNotReady(f"this cell needs the exercise `{name}` ({why}): finish it above, "
                                   "run its cell, then run this cell again")
        check_id = _check_id(name)
        if check_id is not None and not _verify(check_id, function, quiet=True):
            raise ExerciseNotReady(f"this cell needs the exercise `{name}`, which does not pass its check yet: "
                                   "fix it above (its check cell says what is wrong), run it, then run this "
                                   "cell again")

"""The CNN course's package: the reference CNN, the checks, sandboxed grading, the course and the book.

One folder per place its code runs (``docs/architecture.md`` has the picture; the import rules
are held by ``tests/test_layers.py``):

- ``core/``     the truth: reference CNN, checks and mistakes, typed results, codec, data (no processes)
- ``kernel/``   what runs in the student's Jupyter kernel: ``check()``, ``exercises.load``, the zoo,
                the explorers
- ``sandbox/``  the sandboxed child that runs student code, and the host side that starts it
- ``grader/``   grading one notebook: spec -> pre-flight -> run -> judge -> score
- ``course/``   the coordinator of a class: course directory, batch, workers, gradebook, feedback,
                report, export, demo
- ``book/``     the book build: derive, execute, publish, HTML
- ``cli/``      ``python -m autograder ...``

Importing this package is cheap on purpose (nothing is imported here): a notebook's
``from autograder import check, data, zoo, exercises, explorer`` loads only the kernel side it names.
"""

import importlib

__all__ = ["check", "data", "exercises", "explorer", "needs", "zoo"]

# Names a notebook imports from the package, and the module each one is (loaded on first use).
_KERNEL_NAMES = {"data": "autograder.core.data", "exercises": "autograder.kernel.exercises",
                 "explorer": "autograder.kernel.explorer",
                 "zoo": "autograder.kernel.zoo"}


def check(check_id: str, *args, **kwargs):
    """Run the visible checks of one exercise inside Jupyter (see :mod:`autograder.kernel.feedback`)."""
    from .kernel.feedback import check as _check

    return _check(check_id, *args, _depth=2, **kwargs)


def needs(*names: str, made=()) -> None:
    """Stop a cell with one line naming an unfinished exercise (see :func:`autograder.kernel.exercises.needs`)."""
    from .kernel.exercises import needs as _needs

    _needs(*names, made=made, _depth=2)


def __getattr__(name: str):
    if name in _KERNEL_NAMES:
        return importlib.import_module(_KERNEL_NAMES[name])
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")

"""The course's autograder: reference CNN, checks, sandboxed grading and the command line.

Importing this package is cheap on purpose (no torch): the sandboxed child process and the
build import pieces of it. Heavy parts live in submodules:

- ``autograder.reference``  the truth: PyTorch reference ops, gradients and network
- ``autograder.checks``     one module per chapter: what each exercise is checked on, and the
                            library of recognisable mistakes
- ``autograder.grading``    run a submission in its own process, compare, score, gradebook
- ``autograder.build``      derive student notebooks, book pages and the nbgrader course
- ``autograder.cli``        ``python -m autograder ...``
- ``autograder.notebook``   ``check(...)``: friendly feedback inside Jupyter
"""

__all__ = ["check"]


def check(check_id: str, *args, **kwargs):
    """Run the visible checks of one exercise inside Jupyter (see :mod:`autograder.notebook`)."""
    from .notebook import check as _check

    return _check(check_id, *args, _depth=2, **kwargs)

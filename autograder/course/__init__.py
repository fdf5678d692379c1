"""The coordinator of a class: the course directory and everything done to it.

- :mod:`.paths`      the layout of an nbgrader course directory (the one module that knows it)
- :mod:`.directory`  ``init`` and ``release``: the course made from ``solutions/``, nbgrader's commands
- :mod:`.batch`      ``grade``: what to grade, workers, then the gradebook, feedback and results, in order
- :mod:`.workers`    where submissions are graded: this process, a local pool or a Dask cluster
- :mod:`.store`      the results files, the grader key and submission fingerprints
- :mod:`.gradebook`  nbgrader's gradebook (SQLite or any SQLAlchemy URL): scores in, final grades
                     (manual scores, late penalties from nbgrader's late-submission plugin) out
- :mod:`.feedback`, :mod:`.report`, :mod:`.export`   what students and instructors read (exports for LMSs too)
- :mod:`.integrity`  for the report: tampering attempts, similar submissions
- :mod:`.autograde`  ``nbgrader autograde`` (and formgrader's button) through the course's grader
- :mod:`.lock`       one writing command at a time per course
- :mod:`.output`     printing when the reader may be gone (``| head``)
- :mod:`.demo`       a throwaway course with synthetic submissions

Rule (held by ``tests/test_layers.py``): this folder may import :mod:`autograder.core`,
:mod:`autograder.sandbox`, :mod:`autograder.grader` and :mod:`autograder.book` (to read the
chapters' sources), never the command line.
"""

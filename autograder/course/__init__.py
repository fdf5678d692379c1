"""The coordinator of a class: the course directory and everything done to it.

- :mod:`.paths`      the layout of an nbgrader course directory (the one module that knows it)
- :mod:`.directory`  ``init`` and ``release``: the course made from ``solutions/``, nbgrader's commands
- :mod:`.batch`      ``grade``: what to grade, workers, then the gradebook, feedback and results, in order
- :mod:`.workers`    where submissions are graded: this process, a local pool or a Dask cluster
- :mod:`.store`      the results files, the grader key and submission fingerprints
- :mod:`.gradebook`  nbgrader's gradebook (SQLite or any SQLAlchemy URL)
- :mod:`.feedback`, :mod:`.report`, :mod:`.export`   what students and instructors read
- :mod:`.demo`       a throwaway course with synthetic submissions

Rule (held by ``tests/test_layers.py``): this folder may import :mod:`autograder.core`,
:mod:`autograder.sandbox`, :mod:`autograder.grader` and :mod:`autograder.book` (to read the
chapters' sources), never the command line.
"""

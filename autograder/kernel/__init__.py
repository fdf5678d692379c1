"""What runs in the student's Jupyter kernel and in the book's page kernels.

- :mod:`.feedback`   ``check(...)``: a test cell's instant report on the visible cases
- :mod:`.exercises`  ``exercises.load(...)``: a later chapter reuses the student's earlier functions
- :mod:`.zoo`        small CNNs trained in the book, and the composition of chapter 9's NumPy CNN

Rule (held by ``tests/test_layers.py``): kernel code imports :mod:`autograder.core` and nothing
else of the package; ``from autograder import check`` and a real check load no sandbox, grader,
course or book module, and not ``resource``.
"""

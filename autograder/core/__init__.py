"""The truth, at the bottom: what an answer is checked against, and the plain data that carries verdicts.

- :mod:`.reference`  the PyTorch reference CNN (ops, gradients, network), float64, CPU or CUDA
- :mod:`.checks`     one module per chapter: the cases each exercise is called on, the reference
                     answer, tolerances and the library of recognisable mistakes; ``run_check``
                     judges a function (given as any callable) group by group
- :mod:`.bank`       known-wrong answers, one per recognisable mistake (tests and the demo)
- :mod:`.results`    typed results: error kinds, mistake names, group/check/notebook/submission
- :mod:`.codec`      the only format in which values cross a process boundary (JSON + ``.npy``)
- :mod:`.data`       the course's offline data sets
- :mod:`.digest`     digests of whole folders of the package (cache and grader keys)
- :mod:`.errors`     the package's user-facing error type

Rule (held by ``tests/test_layers.py``): nothing in here imports anything from the package
outside ``core``, starts a process, or reads a course's or the repository's files.
"""

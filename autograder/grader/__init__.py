"""Grading one notebook (and one submission folder), outside the student's reach.

One notebook goes through five named stages (:mod:`.notebook`): :mod:`.spec` -> :mod:`.preflight`
-> :mod:`.run` (in the sandbox) -> :mod:`.judge` (in this process, against the reference) ->
:mod:`.score`. :mod:`.submission` grades every notebook of one submission folder: the unit of
work of a batch, a pure function of (folder, specs, seed) returning plain data.

Rule (held by ``tests/test_layers.py``): this folder imports only :mod:`autograder.core` and
:mod:`autograder.sandbox`; it writes no course file (the coordinator in :mod:`autograder.course`
does).
"""

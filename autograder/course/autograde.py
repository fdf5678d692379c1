"""``nbgrader autograde`` and formgrader's *Autograde* button, through the course's grader.

nbgrader's autograde converter runs a configurable list of preprocessors
(``c.Autograde.autograde_preprocessors``); its default executes the notebook in the student's
own kernel and scores each test cell all-or-nothing. The course's ``nbgrader_config.py`` (written
by ``init``) replaces that list with :class:`CourseAutograde` alone, so that nbgrader's entry
points grade the way ``python -m autograder grade`` does: the same sandbox, the same checks, the
same gradebook rows, feedback pages and results files (it *is* that batch, for one student). The
notebook nbgrader then writes into ``autograded/`` is the course's autograded copy.

nbgrader's own steps before it (sanitizing: test cells overwritten from the source, ids
de-duplicated) are kept; nbgrader's ``SaveAutoGrades`` and ``AssignLatePenalties`` are not needed:
the batch writes the scores and the late penalty itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from . import paths

_graded: set[tuple[str, str]] = set()  # (assignment, student) graded by this process


class CourseAutograde(NbGraderPreprocessor):
    """Grade the notebook's submission with the course's grader (once per submission and process)."""

    def preprocess(self, nb, resources):
        from .batch import grade_assignment  # the coordinator, only when nbgrader runs this step

        info = resources["nbgrader"]
        course = Path(self.config.CourseDirectory.get("root") or os.getcwd())
        assignment, student = info["assignment"], info["student"]
        if (assignment, student) not in _graded:
            summary = grade_assignment(course, assignment, info["db_url"], log=self.log.info, workers=1, force=True,
                                       progress=False, students=[student])
            if summary.errors:
                raise RuntimeError(f"the course's grader could not grade {student}: {summary.errors[student]}")
            _graded.add((assignment, student))
        graded = paths.autograded_dir(course, student, assignment) / f"{info['notebook']}.ipynb"
        return (nbformat.read(graded, as_version=4) if graded.exists() else nb), resources

"""Grade one notebook, as five named stages.

    spec       what the assignment asks for, read from the instructor's source   (:mod:`.spec`)
    preflight  the submission checked and repaired, or refused with a reason      (:mod:`.preflight`)
    run        its setup and exercise cells run in a sandbox; its functions called (:mod:`.run`)
    judge      each returned value compared with the reference, in this process   (:mod:`.judge`)
    score      points per check, and a status: passed, failed or error            (:mod:`.score`)

:func:`grade_notebook` runs stages 2 to 5 for a spec made by stage 1. A notebook is ``graded``, or
``failed: <reason>`` when it could not be graded at all. Only values returned by the student's
functions and judged here earn points: nothing a cell prints, displays or evaluates to counts.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

import nbformat

from ..core import checks as registry
from ..core.results import CheckResult, NotebookResult
from ..sandbox import Limits, SandboxError
from . import preflight
from .judge import judge_check
from .run import Session, forbidden_modules, submission_cells
from .score import failed_notebook, score_check
from .spec import NotebookSpec


def grade_notebook(spec: NotebookSpec, notebook: nbformat.NotebookNode, seed: int,
                   limits: Limits | None = None, *, notes=(), protect=()) -> NotebookResult:
    """Pre-flight ``notebook`` against ``spec``, then grade it in a sandbox.

    ``notes`` are earlier pre-flight notes (from reading the file) to keep with the result;
    ``protect`` names host paths (the course directory) the sandbox must keep out of reach.
    """
    try:
        return _grade(spec, notebook, seed, limits, notes, protect)
    except Exception as error:  # a bug of the grader's, or data it cannot handle: recorded, never lost
        return grader_error(spec, error, notes)


def grader_error(spec: NotebookSpec, error: BaseException, notes=()) -> NotebookResult:
    """The result of a notebook the grader failed on: ``failed: grader error (<reason>)``, every check 0."""
    where = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    at = f" at {Path(where[0].filename).name}:{where[0].lineno}" if where else ""
    reason = f"grader error ({type(error).__name__}{at}: {str(error)[:200]}); tell the instructor"
    result = failed_notebook(spec, reason, notes)
    result.checks = [CheckResult(c.grade_id, c.check_id, c.points, 0.0, "error", reason, error="grader")
                     for c in result.checks]
    return result


def _grade(spec: NotebookSpec, notebook: nbformat.NotebookNode, seed: int, limits: Limits | None, notes,
           protect) -> NotebookResult:
    start = time.monotonic()
    limits = limits or Limits()
    repaired = preflight.repair(notebook, spec)
    notes = list(notes) + repaired.notes
    if repaired.failure is not None:
        return failed_notebook(spec, repaired.failure, notes)
    result = NotebookResult(spec.name, notes=notes)
    checks = [registry.get(test.check_id) for test in spec.tests]
    session = Session(submission_cells(spec, repaired.notebook), forbidden_modules(checks), limits, protect)
    try:
        try:
            ran = session.ensure()
            result.cell_errors = {cell["id"]: cell["error"] for cell in ran["cells"] if not cell["ok"]}
        except SandboxError as error:
            if error.kind == "setup":
                return failed_notebook(spec, f"the grader could not start its sandbox ({error}); this is not "
                                             "the student's fault: tell the instructor", notes)
            result.cell_errors = {"(all cells)": error.args[0]}
        result.sandbox = session.sandbox.mode
        for test, check in zip(spec.tests, checks):
            groups, weight = judge_check(session, check, seed, limits)
            result.checks.append(score_check(test, check, groups, weight))
    finally:
        session.close()
    result.seconds = time.monotonic() - start
    return result

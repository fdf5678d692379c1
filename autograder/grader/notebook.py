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
from ..core.checks.base import driver_source
from ..core.results import CheckResult, NotebookResult
from ..sandbox import Limits, SandboxError
from . import preflight
from .judge import judge_check
from .reach import reachable
from .run import HARNESS_ID, Budget, Session, drivers, forbidden_modules, sandboxes, submission_cells
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
    groups = sandboxes(checks)
    # one wall-clock budget for the notebook: its cells (once per sandbox), restarts, checks and regrades
    budget = Budget(limits.budget_seconds([check.timeout for check in checks], runs=len(groups)))
    budget.started = start
    result.budget = budget.seconds
    cells = submission_cells(spec, repaired.notebook, drivers(checks))
    scored: dict[int, object] = {}
    for number, indices in enumerate(groups):
        mine = [checks[index] for index in indices]
        session = Session(cells, forbidden_modules(mine), limits, protect, budget=budget)
        try:
            try:
                ran = session.ensure()
                errors = {cell["id"]: cell["error"] for cell in ran["cells"] if not cell["ok"]}
            except SandboxError as error:
                if error.kind == "setup":
                    return failed_notebook(spec, f"the grader could not start its sandbox ({error}); this is not "
                                                 "the student's fault: tell the instructor", notes)
                errors = {"(all cells)": error.args[0]}
            result.cell_errors.update(_own_errors(errors, number, mine, checks, result.cell_errors))
            result.sandbox = result.sandbox or session.sandbox.mode
            for index in indices:
                found, weight = judge_check(session, checks[index], seed, limits)
                scored[index] = score_check(spec.tests[index], checks[index], found, weight)
        finally:
            session.close()
    result.checks = [scored[index] for index in range(len(checks))]
    code = [cell["source"] for cell in cells if cell["id"] != HARNESS_ID]
    for index, stand_ins in dependents(spec, checks, result.checks).items():
        check = checks[index]
        if not reachable(code + ([driver_source(check)] if check.driver else []), check.function, set(stand_ins)):
            continue  # its code cannot call any of them: a regrade would change nothing
        result.checks[index] = regrade_on_its_own(spec, repaired.notebook, checks, index, stand_ins, seed,
                                                  limits, protect, result.checks[index], budget)
    result.seconds = time.monotonic() - start
    return result


def _own_errors(errors: dict, number: int, mine, checks, known: dict) -> dict:
    """The errors of one sandbox's run of the cells that are its to report: those of its own exercises' cells,
    and (the first sandbox's) those of every other cell. A sandbox that refuses torch reports a PyTorch
    exercise's cell as failing; the sandbox of that exercise says whether it really does."""
    own = {check.function for check in mine}
    others = {check.function for check in checks} - own
    if number and "(all cells)" in errors:  # this sandbox could not run the cells at all: say for which exercises
        errors = {f"(all cells, in the sandbox of {', '.join(sorted(own))})": errors.pop("(all cells)"), **errors}
        own |= set(errors)
    return {cell: error for cell, error in errors.items()
            if cell in own or (cell not in others and number == 0 and cell not in known)}


# A check that gave no value for one of these reasons cannot gain from a stand-in.
_NOTHING_TO_REGRADE = {"not-implemented", "missing", "forbidden", "setup"}


def dependents(spec: NotebookSpec, checks, results) -> dict[int, dict[str, object]]:
    """The checks to grade again with the reference standing in for the notebook's other exercises
    that lost points: {index of the check: {exercise name: its check}}. Only checks that lost points
    themselves, not for want of code, and only exercises whose reference is a whole return value."""
    failing = {check.function: check for check, scored in zip(checks, results)
               if scored.score < scored.points and check.stands_in}
    regrade = {}
    for index, (check, scored) in enumerate(zip(checks, results)):
        others = {name: other for name, other in failing.items() if name != check.function}
        if others and scored.score < scored.points and not (
                scored.status == "error" and scored.error in _NOTHING_TO_REGRADE):
            regrade[index] = others
    return regrade


def regrade_on_its_own(spec: NotebookSpec, notebook, checks, index: int, stand_ins: dict, seed: int,
                       limits: Limits, protect, scored, budget: Budget | None = None):
    """``scored`` again, with the reference in place of the ``stand_ins`` its function calls.

    The student keeps whichever score is higher: a function built on a wrong exercise of theirs
    earns what its own code earns, and its feedback names the exercise that is wrong. When the
    function called none of them, or gained nothing, ``scored`` stands (with a note naming the
    wrong exercises it called). The regrade spends the notebook's ``budget``: when it is used up, or runs
    out during the regrade, ``scored`` stands."""
    check, test = checks[index], spec.tests[index]
    if budget is not None and budget.remaining <= 0:
        return scored
    mine = [checks[other] for indices in sandboxes(checks) if index in indices for other in indices]
    session = Session(submission_cells(spec, notebook, drivers(checks)), forbidden_modules(mine), limits, protect,
                      stand_ins, budget)
    try:
        groups, weight = judge_check(session, check, seed, limits)
        used = session.stand_ins_used
    except SandboxError:
        return scored
    finally:
        session.close()
    if not used:
        return scored
    names = ", ".join(f"`{name}`" for name in used)
    again = score_check(test, check, groups, weight)
    if again.score > scored.score:
        again.note = (f"Graded with the reference {names} in place of yours, because yours does not pass its "
                      f"own check: these are the points `{check.function}`'s own code earns. Fix {names} "
                      "first; its check says what is wrong.")
        again.stand_ins = used
        return again
    scored.note = (f"`{check.function}` calls your {names}, which does not pass its own check either; with "
                   f"the reference {names} in its place `{check.function}` still fails, so look at both.")
    return scored

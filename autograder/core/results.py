"""Typed results: what a call, a group of cases, a check, a notebook and a submission came to.

These are plain data with typed fields, written by the grader (and by ``check()`` in Jupyter)
and read by the feedback, the report and the export. Nothing downstream parses a message: why a
call gave no value is its :class:`ErrorKind`, which recognisable mistake an answer made is the
mistake's *name*, and why a notebook could not be graded is its ``failure``. Messages are for
people only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from enum import StrEnum

# Size caps of what a result holds, so that every file and table made from results is bounded
# (results files, feedback pages, autograded copies, gradebook comments): longer texts are cut, with
# the number of characters dropped said at the end.
MESSAGE_CAP = 4_000  # characters of a call's, group's or check's message (and a diagnosis, a note)
NOTE_CAP = 2_000  # characters of one pre-flight note or cell error
NOTES_CAP = 50  # pre-flight notes (and cell errors) kept per notebook or submission folder


def cut(text, limit: int = MESSAGE_CAP) -> str:
    """``text`` as a string of at most ``limit`` characters (the cut is said at the end; cutting again
    changes nothing)."""
    text = text if isinstance(text, str) else str(text)
    if len(text) <= limit:
        return text
    tail = f" [... {len(text) - limit + 40} more characters cut]"  # (at most 40 characters long)
    return text[:limit - 40] + tail


def _notes(notes) -> list[str]:
    notes = [cut(note, NOTE_CAP) for note in list(notes)[:NOTES_CAP + 1]]
    return notes[:NOTES_CAP] + (["[... more notes cut]"] if len(notes) > NOTES_CAP else [])


class ErrorKind(StrEnum):
    """Why a call of the student's function returned no value."""

    EXCEPTION = "exception"  # the function raised (``CallError.exception`` names the class)
    NOT_IMPLEMENTED = "not-implemented"  # it still raises NotImplementedError: not attempted
    TIMEOUT = "timeout"  # it did not finish within the check's time limit
    CRASH = "crash"  # the process was killed by a signal (memory, CPU time, a segfault)
    EXIT = "exit"  # the process exited before replying (sys.exit, os._exit)
    MISSING = "missing"  # no function of that name was defined
    FORBIDDEN = "forbidden"  # it used a library the exercise does not allow
    UNREADABLE = "unreadable"  # it returned something that cannot be graded, or malformed data
    SETUP = "setup"  # the grader's sandbox could not start: not the student's fault

    @property
    def label(self) -> str:
        """A short phrase for the class report ("timed out", ...)."""
        return _LABELS[self]


_LABELS = {
    ErrorKind.EXCEPTION: "raised an exception",
    ErrorKind.NOT_IMPLEMENTED: "not attempted (still raises NotImplementedError)",
    ErrorKind.TIMEOUT: "timed out",
    ErrorKind.CRASH: "crashed or was killed",
    ErrorKind.EXIT: "crashed or was killed",
    ErrorKind.MISSING: "function not defined",
    ErrorKind.FORBIDDEN: "used a forbidden module",
    ErrorKind.UNREADABLE: "returned no value",
    ErrorKind.SETUP: "returned no value",
}


@dataclass(frozen=True)
class CallError:
    """The student's call did not return a value: why (``kind``), for people (``message``)."""

    kind: ErrorKind
    message: str
    exception: str = ""  # the exception's class name, when ``kind`` is EXCEPTION

    def __post_init__(self):
        object.__setattr__(self, "kind", ErrorKind(self.kind))
        object.__setattr__(self, "message", cut(self.message))

    @property
    def label(self) -> str:
        if self.kind is ErrorKind.EXCEPTION and self.exception:
            return f"raised {self.exception}"
        return self.kind.label


@dataclass
class GroupResult:
    """One group of cases, judged: passed or not, and when not, what and why."""

    name: str
    passed: bool
    cases: int
    message: str = ""  # the failing case and what was wrong with it, for the student
    diagnosis: str = ""  # the likely cause, for the student ("" when none was recognised)
    mistake: str = ""  # the recognised mistake's name ("" when none)
    error: str = ""  # the ErrorKind of a call that gave no value ("" when a value came back)
    exception: str = ""  # with error "exception": the exception's class name

    def __post_init__(self):
        self.message, self.diagnosis, self.exception = cut(self.message), cut(self.diagnosis), cut(self.exception, 200)

    @property
    def error_label(self) -> str:
        return CallError(self.error, "", self.exception).label if self.error else ""


@dataclass
class CheckResult:
    """One test cell (one exercise's check): its score, and the verdict of every group."""

    grade_id: str
    check_id: str
    points: float
    score: float = 0.0
    status: str = "failed"  # "passed" | "failed" (a wrong value) | "error" (no value came back)
    message: str = ""  # why it failed or errored, in one line ("" when passed)
    groups: list[GroupResult] = field(default_factory=list)
    error: str = ""  # with status "error": the ErrorKind shared by its groups
    note: str = ""  # said after the verdict: e.g. graded with the reference in place of a wrong exercise
    stand_ins: list[str] = field(default_factory=list)  # exercises the reference stood in for when graded

    def __post_init__(self):
        self.message, self.note = cut(self.message), cut(self.note)

    @property
    def verdict(self) -> str:
        """``passed``, ``failed: <message>`` or ``error: <reason>``."""
        return self.status if self.status == "passed" else f"{self.status}: {self.message}"


@dataclass
class NotebookResult:
    """One notebook, graded (every check scored) or not gradable at all (``failure`` says why)."""

    name: str
    failure: str = ""  # why the notebook could not be graded at all ("" when it was graded)
    checks: list[CheckResult] = field(default_factory=list)
    cell_errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    budget: float = 0.0  # its wall-clock budget in seconds (cells, restarts, checks, regrades); 0: not run
    notes: list[str] = field(default_factory=list)  # pre-flight repairs and warnings, for the student
    sandbox: str = ""  # the isolation mode it was graded in

    def __post_init__(self):
        self.failure, self.notes = cut(self.failure, NOTE_CAP), _notes(self.notes)
        self.cell_errors = {cut(k, 200): cut(v, NOTE_CAP) for k, v in list(self.cell_errors.items())[:NOTES_CAP]}

    @property
    def status(self) -> str:
        """``graded`` or ``failed: <reason>``."""
        return f"failed: {self.failure}" if self.failure else "graded"

    @property
    def score(self) -> float:
        return sum(check.score for check in self.checks)

    @property
    def max_score(self) -> float:
        return sum(check.points for check in self.checks)

    def to_dict(self) -> dict:
        self.__post_init__()  # (fields set after construction are capped too)
        for check in self.checks:
            check.__post_init__()
            for group in check.groups:
                group.__post_init__()
        return asdict(self) | {"status": self.status, "score": self.score, "max_score": self.max_score}


@dataclass
class SubmissionResult:
    """One student's submission of one assignment: every expected notebook's result."""

    student: str
    assignment: str
    notebooks: list[NotebookResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the folder (extra notebooks, ...)

    def __post_init__(self):
        self.notes = _notes(self.notes)

    @property
    def status(self) -> str:
        failed = [nb.status for nb in self.notebooks if nb.failure]
        return failed[0] if failed else "graded"

    @property
    def score(self) -> float:
        return sum(nb.score for nb in self.notebooks)

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks)

    @property
    def all_notes(self) -> list[str]:
        """The folder's notes, then each notebook's: everything pre-flight has to tell the student."""
        return self.notes + [note for nb in self.notebooks for note in nb.notes]

    def to_dict(self) -> dict:
        return {"student": self.student, "assignment": self.assignment, "status": self.status,
                "score": self.score, "max_score": self.max_score, "notes": _notes(self.notes),
                "notebooks": [nb.to_dict() for nb in self.notebooks]}

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionResult:
        """Rebuild a result from :meth:`to_dict`'s data (derived fields are recomputed)."""
        notebooks = []
        for nb in data.get("notebooks", []):
            checks = []
            for check in nb.get("checks", []):
                groups = [GroupResult(**_known(GroupResult, group)) for group in check.get("groups", [])]
                checks.append(CheckResult(**(_known(CheckResult, check) | {"groups": groups})))
            notebooks.append(NotebookResult(**(_known(NotebookResult, nb) | {"checks": checks})))
        return cls(data["student"], data["assignment"], notebooks, list(data.get("notes", [])))


def _known(cls, data: dict) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in data.items() if key in names}

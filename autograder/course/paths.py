"""Where everything lives in an nbgrader course directory: the one module that knows the layout.

nbgrader's own folders, and what the autograder adds beside them::

    DIR/nbgrader_config.py                              nbgrader's configuration (gradebook URL, course id)
    DIR/gradebook.db                                    the gradebook (SQLite, unless the config says otherwise)
    DIR/source/<assignment>/<notebook>.ipynb            the instructor's version (solutions, hidden tests)
    DIR/release/<assignment>/                           the student version
    DIR/submitted/<student>/<assignment>/               what `nbgrader collect` gathered (+ timestamp.txt)
    DIR/autograded/<student>/<assignment>/              the graded copies, for formgrader
    DIR/feedback/<student>/<assignment>/                what the student gets back: <notebook>.html per
                                                        notebook (what `nbgrader release_feedback` sends),
                                                        timestamp.txt and submission_secret.txt (from the
                                                        submission); nothing else, as release_feedback sends
                                                        every .html file it finds there
    DIR/feedback/<student>/<assignment>.html            every notebook of the submission on one page (for
                                                        the instructor, or to send by hand)
    DIR/exports/<name>.csv                              `export`
    DIR/reports/<assignment>.html                       `report`
    DIR/.autograder/seed                                the secret the hidden inputs are drawn from
    DIR/.autograder/results/<assignment>/<student>.json one file per graded submission (the done marker)
    DIR/.autograder/runs/<assignment>.jsonl             one line per `grade` run
    DIR/.autograder/lock                                held by the command that writes the course (`grade`)
"""

from __future__ import annotations

from pathlib import Path

TIMESTAMP = "timestamp.txt"  # written by `nbgrader collect` beside a submission
SECRET = "submission_secret.txt"  # written by `nbgrader submit`: the key of the student's feedback in the exchange


def config_file(course: Path) -> Path:
    return course / "nbgrader_config.py"


def gradebook_file(course: Path) -> Path:
    return course / "gradebook.db"


def source_dir(course: Path, assignment: str | None = None) -> Path:
    return course / "source" / assignment if assignment else course / "source"


def release_dir(course: Path, assignment: str) -> Path:
    return course / "release" / assignment


def submitted_dir(course: Path) -> Path:
    return course / "submitted"


def submission_dir(course: Path, student: str, assignment: str) -> Path:
    return submitted_dir(course) / student / assignment


def autograded_dir(course: Path, student: str, assignment: str) -> Path:
    return course / "autograded" / student / assignment


def feedback_dir(course: Path, student: str, assignment: str) -> Path:
    return course / "feedback" / student / assignment


def feedback_file(course: Path, student: str, assignment: str) -> Path:
    """The page with every notebook of a submission: beside its feedback folder, never inside it."""
    return course / "feedback" / student / f"{assignment}.html"


def feedback_page(course: Path, student: str, assignment: str, notebook: str) -> Path:
    """The page of one notebook, named as ``nbgrader generate_feedback`` names it (``release_feedback`` sends it)."""
    return feedback_dir(course, student, assignment) / f"{notebook}.html"


def export_file(course: Path, name: str) -> Path:
    return course / "exports" / f"{name}.csv"


def report_file(course: Path, assignment: str) -> Path:
    return course / "reports" / f"{assignment}.html"


def seed_file(course: Path) -> Path:
    return course / ".autograder" / "seed"


def sources_record(course: Path) -> Path:
    return course / ".autograder" / "sources.json"


def results_dir(course: Path, assignment: str) -> Path:
    return course / ".autograder" / "results" / assignment


def runs_file(course: Path, assignment: str) -> Path:
    return course / ".autograder" / "runs" / f"{assignment}.jsonl"


def lock_file(course: Path) -> Path:
    return course / ".autograder" / "lock"


def course_of(folder: Path) -> Path | None:
    """The course directory of a submission folder ``DIR/submitted/<student>/<assignment>``, if it is one."""
    course = folder.resolve().parent.parent.parent
    return course if submitted_dir(course).is_dir() else None

"""``python -m autograder``: the course's command line.

Every user-facing failure is a one-line ``error: ...`` that says what to do, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..core.errors import UserError

DESCRIPTION = """\
The CNN course's autograder.

Students:
  python -m autograder start ~/cnn-work              copy the chapters into your own folder, and work there
  python -m autograder check ~/cnn-work/02-convolution.ipynb   run every check, hidden ones included

Instructors (--course DIR defaults to the current directory):
  python -m autograder publish DIR [--chapters 1-3]  the students' repository (no answers) in DIR, one commit
  python -m autograder demo                          try the whole workflow on a throwaway course
  python -m autograder init DIR                      create the nbgrader course from solutions/
  python -m autograder release A --course DIR        the student version of assignment A (release/A/)
    (collect into DIR/submitted/<student>/A/ with nbgrader collect or zip_collect)
  python -m autograder grade A --course DIR          grade in parallel, sandboxed, resumable
  python -m autograder feedback A --course DIR       HTML feedback per student
  python -m autograder export --course DIR           CSV of scores per exercise, with a status
  python -m autograder export --lms canvas --to FILE the grades for Canvas's gradebook import (or --lms generic)
  python -m autograder report A --course DIR         the class report (HTML)
  (A is an assignment, e.g. 02-convolution)

Authors:
  python -m autograder book                          what `make book` runs
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _course_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--course", type=Path, default=Path("."), metavar="DIR",
                        help="the nbgrader course directory (default: the current directory)")


def _assignment_command(commands, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """A command about one ASSIGNMENT of a course (``--course DIR``)."""
    parser = commands.add_parser(name, help=help, description=description)
    parser.add_argument("assignment", metavar="ASSIGNMENT")
    _course_option(parser)
    return parser


def _output_option(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--output", type=Path, metavar="FILE", help=f"where to write (default: {default})")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m autograder", description=DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", help="where the reference runs: auto (default), cpu, cuda, cuda:N "
                                         "(same as the AUTOGRADER_DEVICE environment variable)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="build a throwaway course with synthetic submissions and run "
                                            "every instructor command on it (start here)",
                               description="Build a throwaway course with the convolution assignment and N "
                                           "synthetic submissions (correct, partly wrong, unfinished, broken "
                                           "files, attacks on the grader), then run init, release, grade, "
                                           "feedback, export and report on it, printing each command.")
    demo.add_argument("--students", type=_positive, default=30, metavar="N",
                      help="number of synthetic submissions (default: 30)")
    demo.add_argument("--dir", type=Path, metavar="DIR",
                      help="where to build the course (a new, empty directory; default: a new temporary one)")
    demo.add_argument("--workers", type=_positive, metavar="N", help="grading processes (default: one per core)")

    init = commands.add_parser("init", help="create an nbgrader course directory from solutions/",
                               description="Create (or update) an nbgrader course directory: configuration, "
                                           "source notebooks from solutions/, the student versions (release/), "
                                           "the gradebook and the secret seed of the hidden tests.")
    init.add_argument("course", type=Path, metavar="DIR")
    init.add_argument("--db", help="gradebook SQLAlchemy URL (default: sqlite:///DIR/gradebook.db), e.g. "
                                   "postgresql+psycopg2://user@host/dbname")
    init.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    init.add_argument("--force", action="store_true",
                      help="write DIR/nbgrader_config.py again even if it exists (its settings are lost)")

    release = commands.add_parser("release", help="make the student version of assignments (nbgrader)",
                                  description="Make the student version of each assignment again from "
                                              "COURSE/source/ with `nbgrader generate_assignment` (into "
                                              "COURSE/release/<assignment>/, ready to hand out), and with "
                                              "--exchange publish it with `nbgrader release_assignment` so "
                                              "that students can `nbgrader fetch_assignment` it.")
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment")
    _course_option(release)
    release.add_argument("--exchange", type=Path, metavar="DIR",
                         help="also publish to this nbgrader exchange directory (e.g. /srv/nbgrader/exchange)")

    grade = _assignment_command(commands, "grade",
                                "grade every submission of ASSIGNMENT (parallel, sandboxed, resumable)",
                                "Grade COURSE/submitted/<student>/ASSIGNMENT/ for every student: "
                                            "each notebook runs in its own sandboxed process, its functions are "
                                            "called on inputs drawn from the course's secret seed and compared "
                                            "with the PyTorch reference. Writes the gradebook, feedback/, "
                                            "autograded/ and .autograder/results/. Submissions already graded "
                                            "and unchanged are skipped; Ctrl-C stops cleanly and the next run "
                                            "carries on.")
    grade.add_argument("--db", help="gradebook SQLAlchemy URL (default: the course's nbgrader_config.py)")
    grade.add_argument("--workers", type=_positive, metavar="N",
                       help="grade N submissions at a time in worker processes (default: one per core, "
                            "each with cores // N threads)")
    grade.add_argument("--dask", metavar="ADDRESS",
                       help="grade on an existing Dask cluster instead (e.g. tcp://scheduler:8786); the "
                            "notebooks travel with the tasks, the workers need this package installed")
    grade.add_argument("--force", action="store_true", help="grade again submissions that are already graded")
    grade.add_argument("--student", action="append", metavar="ID", help="only this student (repeatable)")
    bar = grade.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="show a progress bar (default: when the output is a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="print one line per submission instead")

    feedback = _assignment_command(commands, "feedback",
                                   "write each student's HTML feedback from the stored results",
                                   "Write COURSE/feedback/<student>/ASSIGNMENT/ again (one "
                                               "<notebook>.html per notebook, for `nbgrader "
                                               "release_feedback`, and ASSIGNMENT.html beside it) from the stored results and the gradebook "
                                               "(a TA's scores and comments, late penalties, recomputed first), "
                                               "without grading. Hidden tests are never shown.")
    feedback.add_argument("--student", action="append", help="only this student (repeatable)")
    feedback.add_argument("--db", help="gradebook SQLAlchemy URL (default: the course's nbgrader_config.py)")

    export = commands.add_parser("export", help="write a CSV of grades: per exercise, or for your LMS",
                                 description="By default one row per student and assignment: status, final "
                                             "score (automatic and manual scores, less the late penalty), the "
                                             "penalty, what waits for grading by hand, and each exercise's "
                                             "score, read from the gradebook. With --lms, one row per student "
                                             "for an LMS's gradebook import.")
    export.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment")
    _course_option(export)
    export.add_argument("--db", help="gradebook SQLAlchemy URL (default: the course's nbgrader_config.py)")
    export.add_argument("--lms", choices=["canvas", "generic"],
                        help="canvas: Canvas's gradebook import (Student, ID, SIS User ID, SIS Login ID, Section, "
                             "one column per assignment, a Points Possible row); generic: one row per student "
                             "(Moodle and most LMSs)")
    _output_option(export, "COURSE/exports/grades.csv, COURSE/exports/ASSIGNMENT.csv for one assignment, "
                           "COURSE/exports/canvas.csv with --lms canvas; - for standard output")
    export.add_argument("--to", dest="output", type=Path, metavar="FILE", help="the same as --output")

    report = _assignment_command(commands, "report", "write the class report of ASSIGNMENT (self-contained HTML)",
                                 "Score distribution, pass rates per exercise and per check, the "
                                             "most common mistakes, failed submissions and grading times, on "
                                             "one self-contained HTML page; prints a summary.")
    _output_option(report, "COURSE/reports/ASSIGNMENT.html")

    check = commands.add_parser("check", help="grade one notebook locally, hidden checks included")
    check.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    check.add_argument("--assignment", help="the chapter stem (default: from the file name)")
    check.add_argument("--seed", type=int, help="seed for the randomized checks (default: random)")

    build = commands.add_parser("build", help="derive chapters/ and the book pages from solutions/")
    book = commands.add_parser("book", help="derive, execute (cached) and build the book into _build/html")
    for command in (build, book):
        command.add_argument("--check", action="store_true", help="fail if chapters/ is stale instead of writing it")
        command.add_argument("--force", action="store_true",
                             help="overwrite student notebooks in chapters/ that were changed by hand")
    book.add_argument("--instructor", action="store_true",
                      help="build the instructor edition (solutions and hidden tests, collapsed) into _build/instructor")

    publish = commands.add_parser(
        "publish", help="write the students' repository (no solutions, no hidden tests) into DIR",
        description="Write the students' repository into DIR: the released chapters' student notebooks, the "
                    "autograder package (without the bank of wrong answers), the students' requirements, binder/ "
                    "and a README for students. Released chapters add up: earlier releases plus --chapters "
                    "(default: every chapter of _toc.yml). A git repository in DIR gets one new commit; a new or "
                    "empty DIR becomes one. Push it, and point _config.yml's repository.url at it.")
    publish.add_argument("folder", type=Path, metavar="DIR")
    publish.add_argument("--chapters", action="append", metavar="LIST",
                         help="release these chapters: numbers, ranges or names, e.g. 1-3 or 4,5 (repeatable)")
    publish.add_argument("--book", action="store_true", help="also build the released chapters' book into DIR/docs")
    publish.add_argument("--force", action="store_true",
                         help="replace files in DIR that were changed since the last release")

    start = commands.add_parser("start", help="copy the chapters into your own working folder (students)",
                                description="Copy every chapter notebook into DIR (created if needed) and never "
                                            "over a notebook that is already there: work there, not in chapters/.")
    start.add_argument("folder", type=Path, metavar="DIR")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.device:
        os.environ["AUTOGRADER_DEVICE"] = args.device
    # jsonschema (imported by nbformat) loads rfc3987_syntax when it is installed, which compiles
    # its grammars at import: about 1.5 s per process, for a URI format no notebook schema uses.
    sys.modules.setdefault("rfc3987_syntax", None)
    try:
        return _run(args)
    except UserError as error:  # the package's own errors say what to do; anything else is a bug
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly, as a command killed by SIGPIPE
        from ..course.output import silence_stdout

        silence_stdout()
        return 141


def _grade(args) -> int:
    from ..course.batch import grade_assignment

    if args.dask and args.workers:
        raise UserError("--workers and --dask do not go together: the Dask cluster's workers do the grading")
    from ..course.output import emit, printable

    summary = grade_assignment(args.course, args.assignment, args.db, workers=args.workers, dask=args.dask,
                               force=args.force, progress=args.progress, students=args.student, log=emit)
    course = args.course.resolve()
    parts = [(f"graded {len(summary.graded)} of {summary.total} submission(s) of {args.assignment} "
              f"in {summary.seconds:.1f} s ({summary.how}); {len(summary.failed)} failed to grade")]
    if summary.outside:
        parts.append(f"{len(summary.outside)} graded again because their gradebook scores were written by "
                     f"another grader (nbgrader autograde?): {', '.join(summary.outside)}")
    if summary.skipped:
        parts.append(f"{len(summary.skipped)} unchanged since they were graded, skipped (--force grades them again)"
                     + (f"; {len(summary.restored)} of those re-recorded into the gradebook"
                        if summary.restored else ""))
    emit("; ".join(parts) + ".")
    if summary.interrupted:
        print(f"interrupted: what was graded is saved; run the same command again to grade the other "
              f"{summary.total - len(summary.graded) - len(summary.skipped)}.", file=sys.stderr)
        return 130
    if summary.errors:
        for student, error in sorted(summary.errors.items()):
            print(printable(f"error: {student} was not graded: {error}"), file=sys.stderr)
        print(f"{len(summary.errors)} submission(s) not graded because of a grader error (above); "
              "run the same command again to retry them.", file=sys.stderr)
        return 1
    emit(f"feedback: {course / 'feedback'}/<student>/{args.assignment}/<notebook>.html "
         f"(all notebooks: <student>/{args.assignment}.html)\n"
         f"next:     python -m autograder report {args.assignment} --course {course}\n"
         f"          python -m autograder export --course {course}\n"
         f"          nbgrader release_feedback {args.assignment}   (in {course}: students fetch_feedback it)")
    return 0


NEEDS_SOURCES = ("init", "demo", "build", "book", "publish")  # commands that read solutions/


def _run(args) -> int:
    from ..book.sources import SOLUTIONS
    from ..course import directory as course

    if args.command in NEEDS_SOURCES and not SOLUTIONS.is_dir():
        raise UserError(f"`{args.command}` needs the chapters' sources ({SOLUTIONS} is missing): this is the students' "
                        "copy of the course, and that command is for its instructors")
    course.use_venv_tools()
    if args.command == "init":
        names = course.init(args.course, args.db, args.assignment, force=args.force)
        print(f"course ready in {args.course.resolve()} with {len(names)} assignment(s): {', '.join(names)}")
        return 0
    if args.command == "release":
        folders = course.release(args.course, args.assignments or None, args.exchange)
        print(f"released {len(folders)} assignment(s); hand out the notebooks in the folders above")
        return 0
    if args.command == "grade":
        return _grade(args)
    if args.command == "feedback":
        from ..course.batch import regenerate_feedback

        pages = regenerate_feedback(args.course, args.assignment, args.student, args.db)
        print(f"wrote {len(pages)} feedback page(s): "
              f"{args.course.resolve() / 'feedback'}/<student>/{args.assignment}.html, and "
              f"<student>/{args.assignment}/<notebook>.html (what `nbgrader release_feedback {args.assignment}` sends)")
        return 0
    if args.command == "export":
        from ..course.export import export_csv
        from ..course.output import emit

        path, count, text = export_csv(args.course, args.assignments or None, args.db, args.output, args.lms)
        if path is None:
            emit(text, end="")
        else:
            emit(f"wrote {count} {'student' if args.lms else 'row'}(s) to {path}")
        return 0
    if args.command == "report":
        from ..course.output import emit
        from ..course.report import summary_text, write_report

        path, stats = write_report(args.course, args.assignment, args.output)
        emit(summary_text(stats))
        emit(f"report: {path}")
        return 0
    if args.command == "demo":
        from ..course import demo

        demo.run(args.dir, args.students, args.workers)
        return 0
    if args.command == "check":
        from .check import check_notebook

        return check_notebook(args.notebook, args.assignment, args.seed)
    if args.command in ("build", "book"):
        if os.environ.get("CI", "").lower() == "true":
            args.check = True
        if args.command == "build":
            from ..book.execute import build_pages

            build_pages(check=args.check, force=args.force)
        else:
            from ..book.html import build_book

            build_book(check=args.check, instructor=args.instructor, force=args.force)
        return 0
    if args.command == "publish":
        from ..book.students import publish

        published = publish(args.folder, args.chapters, book=args.book, force=args.force)
        print(f"next: push {published.folder.resolve()} to the students' repository "
              "(the address in _config.yml's repository.url)")
        return 0
    if args.command == "start":
        from ..book.students import start

        start(args.folder)
        print(f"next: open the notebooks in {args.folder} (e.g. jupyter lab {args.folder}); keep your work there")
        return 0
    raise AssertionError(args.command)

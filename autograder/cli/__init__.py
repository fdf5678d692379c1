"""``python -m autograder``: the course's command line.

Every user-facing failure is a one-line ``error: ...`` that says what to do, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DESCRIPTION = """\
The CNN course's autograder.

Students:     python -m autograder check chapters/02-convolution.ipynb
Instructors:  python -m autograder init COURSE
              (collect submissions into COURSE/submitted/<student>/<assignment>/)
              python -m autograder grade 02-convolution --course COURSE
Authors:      python -m autograder book        (what `make book` runs)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", help="where the reference runs: auto (default), cpu, cuda, cuda:N "
                                         "(same as the AUTOGRADER_DEVICE environment variable)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = commands.add_parser("init", help="create an nbgrader course directory from solutions/")
    init.add_argument("course", type=Path, metavar="DIR")
    init.add_argument("--db", help="gradebook SQLAlchemy URL (default: sqlite:///DIR/gradebook.db)")
    init.add_argument("--assignment", action="append", help="only this assignment (repeatable)")

    grade = commands.add_parser("grade", help="grade every submission of ASSIGNMENT in a sandbox")
    grade.add_argument("assignment", metavar="ASSIGNMENT")
    grade.add_argument("--course", type=Path, default=Path("."), metavar="DIR",
                       help="the nbgrader course directory (default: the current directory)")
    grade.add_argument("--db", help="gradebook SQLAlchemy URL (default: the course's nbgrader_config.py)")

    check = commands.add_parser("check", help="grade one notebook locally, hidden checks included")
    check.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    check.add_argument("--assignment", help="the chapter stem (default: from the file name)")
    check.add_argument("--seed", type=int, help="seed for the randomized checks (default: random)")

    build = commands.add_parser("build", help="derive chapters/ and the book pages from solutions/")
    build.add_argument("--check", action="store_true", help="fail if chapters/ is stale instead of writing it")
    book = commands.add_parser("book", help="derive, execute (cached) and build the book into _build/html")
    book.add_argument("--check", action="store_true", help="fail if chapters/ is stale instead of writing it")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.device:
        os.environ["AUTOGRADER_DEVICE"] = args.device
    from ..build import BuildError
    from ..course import CourseError

    try:
        return _run(args)
    except (CourseError, BuildError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _run(args) -> int:
    from .. import build, course

    course.use_venv_tools()
    if args.command == "init":
        names = course.init(args.course, args.db, args.assignment)
        print(f"course ready in {args.course.resolve()} with {len(names)} assignment(s): {', '.join(names)}")
        return 0
    if args.command == "grade":
        from ..grading.batch import grade_assignment

        results = grade_assignment(args.course, args.assignment, args.db)
        failed = sum(result.status != "graded" for result in results)
        print(f"graded {len(results)} submission(s) of {args.assignment}; {failed} failed to grade. "
              f"Feedback: {args.course.resolve() / 'feedback'}")
        return 0
    if args.command == "check":
        from .check import check_notebook

        return check_notebook(args.notebook, args.assignment, args.seed)
    if args.command in ("build", "book"):
        if os.environ.get("CI", "").lower() == "true":
            args.check = True
        if args.command == "build":
            build.build(check=args.check)
        else:
            build.book(check=args.check)
        return 0
    raise AssertionError(args.command)

"""An nbgrader course directory made from ``solutions/``, and what the grader keeps in it.

``python -m autograder init DIR`` writes:

- ``DIR/nbgrader_config.py``: a standard nbgrader configuration (gradebook in ``DIR``);
- ``DIR/source/<stem>/<stem>.ipynb`` for every graded chapter (solutions and hidden tests in);
- ``DIR/release/<stem>/<stem>.ipynb`` by running the real ``nbgrader generate_assignment``,
  which also registers each assignment, notebook and grade cell in the gradebook;
- ``DIR/.autograder/seed``: the secret from which hidden inputs are drawn.

``python -m autograder release [ASSIGNMENT]`` makes the student version again from
``DIR/source/`` (``nbgrader generate_assignment``) and, with ``--exchange DIR``, publishes it to
an nbgrader exchange (``nbgrader release_assignment``), from which students ``fetch`` it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from ..core.errors import UserError
from . import paths

CONFIG = """\
# nbgrader configuration written by `python -m autograder init`. Standard nbgrader settings.
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.db_url = {db_url!r}
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
"""


class CourseError(UserError):
    """A problem with the course directory that the user can fix; the message says how."""


def use_venv_tools() -> None:
    """nbgrader runs ``alembic`` from PATH: make this interpreter's scripts directory visible."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def seed_of(course: Path) -> int:
    path = paths.seed_file(course)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(secrets.randbits(63)))
        path.chmod(0o600)
    return int(path.read_text().strip())


def default_db_url(course: Path) -> str:
    return f"sqlite:///{paths.gradebook_file(course).resolve()}"


def _course_setting(course: Path, name: str, default: str) -> str:
    """``c.CourseDirectory.<name>`` from ``DIR/nbgrader_config.py``, or ``default`` when unset."""
    config = paths.config_file(course)
    if config.exists():
        from traitlets.config.loader import PyFileConfigLoader

        loaded = PyFileConfigLoader(config.name, path=str(course)).load_config()
        if name in loaded.CourseDirectory:
            return loaded.CourseDirectory[name]
    return default


def db_url_of(course: Path) -> str:
    """The gradebook URL from ``DIR/nbgrader_config.py`` (nbgrader's default when unset)."""
    return _course_setting(course, "db_url", default_db_url(course))


def assignments() -> list[str]:
    from ..book import sources  # jupytext and friends: only when solutions/ are read

    return [path.stem for path in sources.sources() if sources.is_assignment(sources.read_source(path))]


def init(course: Path, db_url: str | None = None, only: list[str] | None = None, log=print) -> list[str]:
    """Create or update the course directory; return the assignments released."""
    course = course.resolve()
    course.mkdir(parents=True, exist_ok=True)
    db_url = db_url or (db_url_of(course) if paths.config_file(course).exists() else default_db_url(course))
    paths.config_file(course).write_text(CONFIG.format(root=str(course), db_url=db_url))
    seed_of(course)
    names = assignments()
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise CourseError(f"unknown assignment(s) {', '.join(unknown)}; the course has: {', '.join(names)}")
        names = [name for name in names if name in only]
    from ..book import sources

    for name in names:
        source = sources.read_source(sources.SOLUTIONS / f"{name}.md")
        sources.write_if_changed(paths.source_dir(course, name) / f"{name}.ipynb", sources.dumps(source))
        nbgrader(course, "generate_assignment", name, "--force", "--create")
        log(f"init: released {name} into {paths.release_dir(course, name)}")
    return names


def course_assignments(course: Path) -> list[str]:
    """The assignments of an existing course directory (``DIR/source/<name>/``)."""
    if not paths.config_file(course).exists():
        raise CourseError(f"{course} is not a course directory (no nbgrader_config.py); create it with "
                          f"`python -m autograder init {course}`")
    return sorted(path.name for path in paths.source_dir(course).glob("*") if path.is_dir())


def release(course: Path, only: list[str] | None = None, exchange: Path | None = None, log=print) -> list[Path]:
    """Generate the student version of each assignment (``DIR/release/<name>/``); publish it to ``exchange``.

    Returns the folders that hold the student notebooks (the exchange's outbound folders with
    ``exchange``).
    """
    course = course.resolve()
    names = course_assignments(course)
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise CourseError(f"unknown assignment(s) {', '.join(unknown)}; this course has: "
                              f"{', '.join(names) or 'none'}")
        names = [name for name in names if name in only]
    folders = []
    for name in names:
        nbgrader(course, "generate_assignment", name, "--force")
        folder = paths.release_dir(course, name)
        if exchange is not None:
            exchange = exchange.resolve()
            exchange.mkdir(parents=True, exist_ok=True)
            nbgrader(course, "release_assignment", name, "--force", f"--Exchange.root={exchange}")
            folder = exchange / course_id(course) / "outbound" / name
        log(f"release: {name}: student version in {folder}")
        folders.append(folder)
    return folders


def course_id(course: Path) -> str:
    return _course_setting(course, "course_id", "cnn-course")


def nbgrader(course: Path, *args: str) -> None:
    """Run the real nbgrader command line in the course directory."""
    use_venv_tools()
    command = [sys.executable, "-m", "nbgrader", *args]
    completed = subprocess.run(command, cwd=course, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise CourseError(f"`nbgrader {' '.join(args)}` failed:\n{completed.stdout}{completed.stderr}")

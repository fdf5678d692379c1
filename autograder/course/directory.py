"""An nbgrader course directory made from ``solutions/``, and what the grader keeps in it.

``python -m autograder init DIR`` writes:

- ``DIR/nbgrader_config.py``: a standard nbgrader configuration (gradebook in ``DIR``), with paths
  relative to the file itself, so a copied or moved course uses its own gradebook; an existing
  configuration (the instructor's settings) is kept unless ``--force``;
- ``DIR/source/<stem>/<stem>.ipynb`` for every graded chapter (solutions and hidden tests in); a
  source notebook changed by hand since ``init`` wrote it is kept unless ``--force``
  (``DIR/.autograder/sources.json`` records what ``init`` wrote);
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
# nbgrader configuration written by `python -m autograder init`. Standard nbgrader settings; edit freely
# (`init` keeps this file unless run with --force). Paths are relative to this file's folder.
import os

c = get_config()  # noqa: F821
here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = here
c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.db_url = {db_url}
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
# `nbgrader autograde` and formgrader's Autograde button grade with the course's sandboxed grader
c.Autograde.autograde_preprocessors = ["autograder.course.autograde.CourseAutograde"]
# Late work (see docs/term.md): set each assignment's due date with
#   nbgrader db assignment add ASSIGNMENT --duedate="2026-03-10 17:00:00 UTC"
# and choose nbgrader's penalty ('none' or 'zero'), or a plugin class of your own:
# c.LateSubmissionPlugin.penalty_method = "zero"
# c.AssignLatePenalties.plugin_class = "late_policy.TenPercentPerDay"   (late_policy.py beside this file)
"""
DEFAULT_DB = 'f"sqlite:///{os.path.join(here, \'gradebook.db\')}"'


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


def course_config(course: Path):
    """The traitlets ``Config`` of ``DIR/nbgrader_config.py`` (empty when there is none)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = paths.config_file(course)
    if not config.exists():
        return Config()
    try:
        return PyFileConfigLoader(config.name, path=str(course)).load_config()
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CourseError(f"{config} cannot be read ({type(error).__name__}: {first}); fix it, or rewrite it "
                          f"with `python -m autograder init {course} --force`") from None


def _course_setting(course: Path, name: str, default: str) -> str:
    """``c.CourseDirectory.<name>`` from ``DIR/nbgrader_config.py``, or ``default`` when unset."""
    loaded = course_config(course)
    if name in loaded.CourseDirectory:
        return loaded.CourseDirectory[name]
    return default


def require_course(course: Path) -> Path:
    """``course``, resolved, if it is a course directory (it has ``nbgrader_config.py``); otherwise a
    one-line error, and nothing is created."""
    course = course.resolve()
    if not paths.config_file(course).is_file():
        where = "does not exist" if not course.exists() else "is not a course directory (no nbgrader_config.py)"
        raise CourseError(f"{course} {where}; run this in a course directory or pass --course DIR "
                          f"(create one with `python -m autograder init DIR`)")
    return course


def db_url_of(course: Path) -> str:
    """The gradebook URL from ``DIR/nbgrader_config.py`` (nbgrader's default when unset)."""
    return _course_setting(course, "db_url", default_db_url(course))


def assignments() -> list[str]:
    from ..book import sources  # jupytext and friends: only when solutions/ are read

    return [path.stem for path in sources.sources() if sources.is_assignment(sources.read_source(path))]


def init(course: Path, db_url: str | None = None, only: list[str] | None = None, log=print,
         force: bool = False) -> list[str]:
    """Create or update the course directory; return the assignments released. An existing
    ``nbgrader_config.py``, and a source notebook edited since ``init`` wrote it, are kept
    (``force``: written again, the instructor's changes lost)."""
    course = course.resolve()
    config = paths.config_file(course)
    if config.exists() and not force:
        if db_url and db_url != db_url_of(course):
            raise CourseError(f"{config} already sets the gradebook to {db_url_of(course)!r}; to use {db_url!r} "
                              "edit that file, or rewrite it with --force (its other settings are lost)")
    else:
        course.mkdir(parents=True, exist_ok=True)
        config.write_text(CONFIG.format(db_url=repr(db_url) if db_url else DEFAULT_DB))
    seed_of(course)
    names = assignments()
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise CourseError(f"unknown assignment(s) {', '.join(unknown)}; the course has: {', '.join(names)}")
        names = [name for name in names if name in only]
    from ..book import sources
    from ..book.chapters import digest

    record = _written(course)
    for name in names:
        text = sources.dumps(sources.read_source(sources.SOLUTIONS / f"{name}.md"))
        target = paths.source_dir(course, name) / f"{name}.ipynb"
        current = target.read_text() if target.exists() else None
        if current is not None and current != text and record.get(name) != digest(current) and not force:
            log(f"init: kept {target} (changed since init wrote it; `init --force` replaces it with the "
                f"version from solutions/{name}.md)")
        else:
            sources.write_if_changed(target, text)
            record[name] = digest(text)
        nbgrader(course, "generate_assignment", name, "--force", "--create")
        log(f"init: released {name} into {paths.release_dir(course, name)}")
    _record(course, record)
    return names


def _written(course: Path) -> dict[str, str]:
    """Assignment -> SHA-256 of the source notebook ``init`` last wrote (to tell an instructor's edit)."""
    import json

    try:
        record = json.loads(paths.sources_record(course).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _record(course: Path, record: dict[str, str]) -> None:
    import json

    paths.sources_record(course).parent.mkdir(parents=True, exist_ok=True)
    paths.sources_record(course).write_text(json.dumps(dict(sorted(record.items())), indent=1) + "\n")


def course_assignments(course: Path) -> list[str]:
    """The assignments of an existing course directory (``DIR/source/<name>/``)."""
    require_course(course)
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

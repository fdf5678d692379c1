"""Shared fixtures: a real nbgrader course made by `python -m autograder init`, and notebook makers."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.book import sources
from autograder.course import directory as course

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run `python -m autograder ...` exactly as a user would."""
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True,
                          text=True, check=False)


ASSIGNMENTS = course.assignments()


def solution_notebook(stem: str) -> nbformat.NotebookNode:
    return sources.read_source(sources.SOLUTIONS / f"{stem}.md")


def student_notebook(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(sources.CHAPTERS / f"{stem}.ipynb", as_version=4)


def with_cell(notebook: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    """A copy of ``notebook`` whose cell ``grade_id`` holds ``source``."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
            return notebook
    raise KeyError(grade_id)


SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
SEEDS = (11, 2024)  # the two secret seeds the banks are graded with


def alternating_seeds(entries, name) -> list:
    """``(entry, seed)`` params for ``entries`` (bank entries), the :data:`SEEDS` taken in turn: every entry is
    graded through the real sandbox once, and each seed grades half of every chapter's bank."""
    return [pytest.param(entry, SEEDS[index % len(SEEDS)], id=f"{SEEDS[index % len(SEEDS)]}-{name(entry)}")
            for index, entry in enumerate(entries)]


def unmarked(source: str) -> str:
    """An exercise cell as a student would write it: without nbgrader's solution markers (which only the
    instructor's source has, and which the grader flags as copied)."""
    return "".join(line for line in source.splitlines(keepends=True)
                   if not any(marker in line for marker in SOLUTION_MARKERS))


def submit(course_dir: Path, student: str, stem: str, notebook: nbformat.NotebookNode) -> Path:
    """``notebook`` submitted by ``student``, its exercise cells without solution markers (as a student's)."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source = unmarked(cell.source)
    folder = course_dir / "submitted" / student / stem
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="session")
def book_build() -> subprocess.CompletedProcess:
    """`python -m autograder book` (the same build as `make book`: cached, so quick when it just ran), run
    once per test process for the tests that read the built book (they share one worker: see below)."""
    result = subprocess.run([sys.executable, "-m", "autograder", "book"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return result


@pytest.fixture(scope="session")
def course_dir(tmp_path_factory) -> Path:
    """A course directory made by the real CLI (which runs the real `nbgrader generate_assignment`)."""
    directory = tmp_path_factory.mktemp("course")
    result = cli("init", str(directory))
    assert result.returncode == 0, result.stderr
    return directory


# How `make test`'s workers (pytest-xdist, `--dist loadgroup`) share the tests. The tests that build or
# change the repository's own products (the book in _build/, chapters/) or read them while another test
# may be rewriting them all run in one worker, one after the other; so do the tests of any other file
# (its module fixtures, a course or a batch, are made once); only the many independent gradings of the
# banks are handed to whichever worker is free.
REPOSITORY_PRODUCTS = {"test_book.py", "test_browser.py", "test_build.py", "test_quality.py", "test_exercises.py",
                       "test_students.py"}
INDEPENDENT = {"test_bank.py", "test_verdicts.py"}


@pytest.fixture(scope="session")
def demo_class(tmp_path_factory) -> Path:
    """A course of chapter 2 with the demo's 20 submissions (right, wrong, unfinished and crashing work),
    made by the real `init`; the tests that use it only read it."""
    from autograder.course import demo

    directory = tmp_path_factory.mktemp("demo-class") / "course"
    made = cli("init", str(directory), "--assignment", demo.STEM)
    assert made.returncode == 0, made.stdout + made.stderr
    demo.make_submissions(directory, 20, attacks=False)
    return directory


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into the tests' ids
def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        if name not in INDEPENDENT:
            item.add_marker(pytest.mark.xdist_group("repository-products" if name in REPOSITORY_PRODUCTS else name))


def pytest_xdist_node_collection_finished(node, ids):
    """With ``--dist loadgroup``, xdist tells its scheduler each test's group by appending ``@group`` to
    the test's id. Some pytest/xdist pairs silently stop doing so (pytest 9.2 with xdist 3.8:
    pytest-dev/pytest-xdist#1386); then the tests that share the repository's products would run side
    by side and trip over each other, so stop before any test runs."""
    if node.config.getvalue("dist") != "loadgroup":
        return
    lost = [nodeid for nodeid in ids if Path(nodeid.split("::")[0]).name not in INDEPENDENT
            and "@" not in nodeid.rpartition("]")[2].rpartition("::")[2]]
    if lost:
        pytest.exit(f"pytest-xdist ignored the tests' groups ({len(lost)} tests, e.g. {lost[0]}), so the tests "
                    "that share the book and chapters/ would run side by side: install the pytest and "
                    "pytest-xdist of requirements.txt (make venv)", returncode=4)

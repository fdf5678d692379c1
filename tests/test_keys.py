"""Keys by folder: what a stored score or a cached page was computed with is a digest of whole folders.

The grader key (``course/store.grader_key``) digests ``core/``, ``sandbox/`` and ``grader/``; the
book's execution cache key digests ``core/`` and ``kernel/`` (``book/execute``). Nothing a check
or a page uses can be left out of them: chapter 9's checks grade with ``core/data.py``, which a
hand-written list once forgot. Each test edits a module in a temporary copy of the package and
runs the real command line on that copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, cli, solution_notebook, submit

STEM = "09-training"  # its checks use autograder/core/data.py


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """A copy of the package (run from there: ``python -m autograder`` imports the copy)."""
    root = tmp_path_factory.mktemp("package-copy")
    shutil.copytree(ROOT / "autograder", root / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _grade(copy: Path, course: Path) -> tuple[int, int]:
    """(graded, skipped) by ``python -m autograder grade`` run with the copied package."""
    completed = subprocess.run([sys.executable, "-m", "autograder", "grade", STEM, "--course", str(course),
                                "--workers", "1", "--no-progress"], cwd=copy, capture_output=True, text=True,
                               check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    graded = int(re.search(r"graded (\d+) of \d+ submission", completed.stdout).group(1))
    skipped = re.search(r"(\d+) unchanged since they were graded, skipped", completed.stdout)
    return graded, int(skipped.group(1)) if skipped else 0


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# an edit that changes nothing but the bytes\n")


def test_editing_a_module_a_check_uses_regrades(copy, tmp_path):
    course = tmp_path / "course"
    result = cli("init", str(course), "--assignment", STEM)
    assert result.returncode == 0, result.stderr
    submit(course, "student1", STEM, solution_notebook(STEM))
    assert _grade(copy, course) == (1, 0)
    assert _grade(copy, course) == (0, 1), "an unchanged submission and grader are not graded again"
    _edit(copy / "autograder" / "course" / "report.py")  # the coordinator decides no score
    assert _grade(copy, course) == (0, 1), "editing the coordinator must not regrade"
    _edit(copy / "autograder" / "core" / "data.py")  # what chapter 9's checks grade with
    assert _grade(copy, course) == (1, 0), "editing a module a check uses must regrade"
    _edit(copy / "autograder" / "sandbox" / "policy.py")
    assert _grade(copy, course) == (1, 0), "editing the sandbox must regrade"


def _page_key(copy: Path) -> str:
    code = "from autograder.book.execute import _code_fingerprint; print(_code_fingerprint())"
    return subprocess.run([sys.executable, "-c", code], cwd=copy, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_book_cache_key_covers_what_a_page_kernel_imports(copy):
    (copy / "requirements.txt").write_text((ROOT / "requirements.txt").read_text())
    before = _page_key(copy)
    _edit(copy / "autograder" / "course" / "export.py")
    assert _page_key(copy) == before, "editing the coordinator must not re-execute the book"
    _edit(copy / "autograder" / "kernel" / "zoo.py")
    after_zoo = _page_key(copy)
    assert after_zoo != before
    _edit(copy / "autograder" / "core" / "data.py")
    assert _page_key(copy) != after_zoo

"""The published book: builds with warnings as errors, and never shows a solution or a hidden test."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from conftest import ASSIGNMENTS, ROOT
from test_build import solution_lines

from autograder import build

HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="module")
def built():
    """Run the same build as `make book` (cached: quick when `make book` just ran)."""
    result = subprocess.run([sys.executable, "-m", "autograder", "book"], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert "execution cache:" in result.stdout
    return HTML


def _all_text(html_dir):
    for path in html_dir.rglob("*"):
        if path.is_file() and path.suffix not in {".png", ".jpg", ".woff", ".woff2", ".ttf", ".ico", ".gif"}:
            yield path, path.read_text(errors="ignore")


def test_book_has_every_page(built):
    for source in build.sources():
        assert (built / "book" / f"{source.stem}.html").exists()
    assert (built / "index.html").exists()


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_no_solution_line_under_build_html(built, stem):
    lines = solution_lines(stem)
    assert lines
    for path, text in _all_text(built):
        for line in lines:
            assert line not in text, f"solution line in {path.relative_to(ROOT)}: {line}"
        assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text, path


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_download_gives_the_student_notebook(built, stem):
    downloaded = built / "_sources" / "book" / f"{stem}.ipynb"
    assert downloaded.read_text() == (build.CHAPTERS / f"{stem}.ipynb").read_text()
    assert f"_sources/book/{stem}.ipynb" in (built / "book" / f"{stem}.html").read_text()


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_pages_show_the_reference_passing_every_visible_check(built, stem):
    page = nbformat.read(build.PAGES / f"{stem}.ipynb", as_version=4)
    tests = [c for c in page.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests
    for cell in tests:
        text = str(cell.outputs)
        assert "Passed" in text and "Not yet" not in text, cell.source

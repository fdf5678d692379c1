"""One source, many products: the derived notebooks are fresh, and students never see answers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import nbformat
import pytest
from conftest import ASSIGNMENTS, ROOT, solution_notebook

from autograder.book import chapters, derive, sources
from autograder.grader.spec import read_spec

MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS|hidden=True")


def test_the_syllabus_stems_are_assignments():
    assert "01-images-as-arrays" in ASSIGNMENTS and "02-convolution" in ASSIGNMENTS


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_student_notebook_is_fresh(stem):
    """chapters/<stem>.ipynb is exactly what the build derives from solutions/<stem>.md."""
    derived = sources.dumps(derive.student_version(solution_notebook(stem)))
    committed = (sources.CHAPTERS / f"{stem}.ipynb").read_text()
    assert committed == derived, f"chapters/{stem}.ipynb is stale: run `make book` and commit it"


def test_the_record_of_what_was_generated_is_fresh():
    """chapters/.generated.json holds the digest of every committed student notebook."""
    record = json.loads(chapters.MANIFEST.read_text())
    for stem in ASSIGNMENTS:
        name = f"{stem}.ipynb"
        assert record.get(name) == chapters.digest((sources.CHAPTERS / name).read_text()), name
        assert not chapters.edited(name)


def _build(*args: str, ci: bool) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "CI"} | ({"CI": "true"} if ci else {})
    return subprocess.run([sys.executable, "-m", "autograder", "build", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)


def test_an_edited_student_notebook_survives_the_build_unless_forced():
    """A student who filled in chapters/ loses nothing to `make book`: the build stops with one line that
    names the file; in CI the notebook is stale; only --force overwrites it."""
    target = sources.CHAPTERS / "02-convolution.ipynb"
    generated = target.read_text()
    notebook = nbformat.reads(generated, as_version=4)
    notebook.cells[0].source += "\n\nMy notes: the kernel is not flipped."
    mine = nbformat.writes(notebook)
    try:
        target.write_text(mine)
        stopped = _build(ci=False)
        assert stopped.returncode == 2, stopped.stdout + stopped.stderr
        assert stopped.stderr.count("\n") == 1 and "Traceback" not in stopped.stderr
        assert "chapters/02-convolution.ipynb was changed since the build generated it" in stopped.stderr
        assert "python -m autograder start" in stopped.stderr and "--force" in stopped.stderr
        assert target.read_text() == mine
        in_ci = _build(ci=True)
        assert in_ci.returncode == 2 and "stale" in in_ci.stderr and "chapters/02-convolution.ipynb" in in_ci.stderr
        assert target.read_text() == mine
        forced = _build("--force", ci=False)
        assert forced.returncode == 0, (forced.stdout + forced.stderr)[-3000:]
        assert "derive: wrote chapters/02-convolution.ipynb (over changes made by hand: --force)" in forced.stdout
        assert target.read_text() == generated
    finally:
        target.write_text(generated)


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_student_notebook_has_no_solutions_or_hidden_tests(stem):
    notebook = nbformat.read(sources.CHAPTERS / f"{stem}.ipynb", as_version=4)
    source = solution_notebook(stem)
    solution_lines = _solution_lines(source)
    assert solution_lines, "the source should have solution code"
    for cell in notebook.cells:
        assert not MARKERS.search(cell.source), cell.source
        for line in solution_lines:
            assert line not in cell.source, f"solution line leaked into chapters/{stem}.ipynb: {line}"
        assert not cell.get("outputs"), "student notebooks ship without outputs"


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_each_exercise_has_a_test_cell_and_points(stem):
    spec = read_spec(solution_notebook(stem), stem)
    minimum = 4 if stem in ("01-images-as-arrays", "02-convolution") else 3
    assert len(spec.tests) >= minimum, f"{stem} needs at least {minimum} autograded exercises"
    assert all(test.points > 0 for test in spec.tests)
    assert {t.check_id.split(".")[1] for t in spec.tests} <= set(spec.solutions)
    assert spec.setup, "the chapter needs a cell tagged `setup` with the exercises' imports"


def _solution_lines(notebook) -> list[str]:
    """Distinctive lines from inside solution regions.

    Short or generic lines are skipped, and so are lines the chapter also shows openly outside its
    solutions (a narrative cell that happens to contain the same ``rng = ...`` line leaks nothing).
    """
    lines, public, inside = [], set(), False
    for cell in notebook.cells:
        for line in cell.source.splitlines():
            if "BEGIN SOLUTION" in line:
                inside = True
            elif "END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) >= 24 and not line.strip().startswith("#"):
                lines.append(line.strip())
            elif not inside:
                public.add(line.strip())
    return [line for line in lines if line not in public]


def solution_lines(stem: str) -> list[str]:
    return _solution_lines(solution_notebook(stem))


def test_release_matches_the_committed_student_notebook(course_dir):
    """`nbgrader generate_assignment` and our build agree cell for cell."""
    for stem in ASSIGNMENTS:
        released = json.loads((course_dir / "release" / stem / f"{stem}.ipynb").read_text())
        ours = json.loads((sources.CHAPTERS / f"{stem}.ipynb").read_text())
        assert [c["source"] for c in released["cells"]] == [c["source"] for c in ours["cells"]]
        assert [c["metadata"].get("nbgrader") for c in released["cells"]] == \
               [c["metadata"].get("nbgrader") for c in ours["cells"]]

"""The students' repository (`python -m autograder publish`) and a student's own copy (`start`).

Real git, the real book build, a real fresh virtual environment installed from the published
requirements, and a real Jupyter kernel running a chapter's visible checks in it. The scan for
answers is written here independently of the publisher's own guard.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, cli, solution_notebook

from autograder.book import sources, students
from autograder.book.notebook_client import NotebookClient
from autograder.grader.spec import read_spec

FIRST, SECOND, LATER = "01-images-as-arrays", "02-convolution", "03-feature-detectors"


def _secret_lines() -> set[str]:
    """Every line between nbgrader's BEGIN/END SOLUTION and BEGIN/END HIDDEN TESTS markers, in every
    source, that is at least 16 characters long and that the sources do not also show elsewhere."""
    secret, public = set(), set()
    for path in sorted(sources.SOLUTIONS.glob("*.md")):
        inside = None
        for line in path.read_text().splitlines():
            marker = re.match(r"\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)", line)
            if marker:
                inside = marker.group(2) if marker.group(1) == "BEGIN" else None
            elif inside:
                secret.add(line.strip())
            else:
                public.add(line.strip())
    return {line for line in secret - public if len(line) >= 16}


def _texts(folder: Path):
    """(relative path, text) of every file under ``folder`` outside .git; notebooks decoded."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or ".git" in path.relative_to(folder).parts:
            continue
        raw = path.read_bytes()
        if b"\0" in raw[:8192]:
            continue
        text = raw.decode("utf-8", errors="replace")
        if path.suffix == ".ipynb":
            notebook = json.loads(text)
            text = "\n".join("".join(cell["source"]) + "\n" + json.dumps(cell.get("outputs", []))
                             for cell in notebook["cells"])
        yield path.relative_to(folder).as_posix(), text


def _found(folder: Path, secrets: set[str]) -> list[str]:
    hits = []
    for name, text in _texts(folder):
        lines = {line.strip() for line in text.splitlines()}
        hits += [f"{name}: {line}" for line in sorted(secrets & lines)]
    return hits


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Week 1 releases chapter 1; week 2 adds chapter 2 and the book. Both with the real CLI."""
    folder = tmp_path_factory.mktemp("students") / "cnn-course-students"
    week1 = cli("publish", str(folder), "--chapters", "1")
    assert week1.returncode == 0, week1.stdout + week1.stderr
    week2 = cli("publish", str(folder), "--chapters", "2", "--book")
    assert week2.returncode == 0, (week2.stdout + week2.stderr)[-5000:]
    return folder


def test_the_scan_finds_a_planted_answer(tmp_path):
    """The scan below can fail: a file holding one line of a solution is caught."""
    secrets = _secret_lines()
    assert len(secrets) > 150, "the sources' solution and hidden-test regions were not found"
    line = sorted(secrets)[len(secrets) // 2]
    (tmp_path / "notes.py").write_text(f"x = 1\n    {line}\n")
    assert _found(tmp_path, secrets) == [f"notes.py: {line}"]


def test_no_solution_or_hidden_test_line_anywhere_in_the_students_repository(published):
    assert _found(published, _secret_lines()) == []
    names = {name for name, _ in _texts(published)}
    assert not any(name.startswith(("solutions/", "_build/", "book/", "tests/")) for name in names), names
    assert not any(name.startswith("autograder/core/bank/") and name.endswith(".md") for name in names)
    for name, text in _texts(published):  # the notebooks and the book: no hidden test cell (the grader's code
        if name.endswith(".ipynb") or name.startswith("docs/"):  # names the markers, to strip them)
            assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text, name


def test_it_holds_what_students_need_and_only_the_released_chapters(published):
    notebooks = sorted(path.name for path in (published / "chapters").iterdir())
    assert notebooks == [f"{FIRST}.ipynb", f"{SECOND}.ipynb"]
    for name in notebooks:
        assert (published / "chapters" / name).read_text() == (sources.CHAPTERS / name).read_text()
    assert (published / "autograder" / "kernel" / "feedback.py").exists()
    assert (published / "pyproject.toml").exists()
    assert os.access(published / "binder" / "postBuild", os.X_OK), "binder/postBuild keeps its executable bit"
    requirements = (published / "requirements.txt").read_text()
    assert "torch==2.13.0" in requirements and "jupyterlab==" in requirements
    assert "nbgrader" not in requirements and "jupyter-book" not in requirements
    readme = (published / "README.md").read_text()
    assert "python -m autograder start" in readme and f"chapters/{SECOND}.ipynb" in readme
    assert "solutions/" not in readme
    record = json.loads((published / students.RELEASE).read_text())
    assert record["chapters"] == [FIRST, SECOND] and record["book"] is True
    for command in ("book", "publish"):
        refused = cli(command, *(["x"] if command == "publish" else []), cwd=published)
        assert refused.returncode == 2 and "students' copy of the course" in refused.stderr, refused.stderr


def test_the_book_in_docs_has_only_the_released_chapters(published):
    docs = published / "docs"
    assert (docs / "index.html").exists() and (docs / ".nojekyll").exists()
    assert (docs / "book" / f"{FIRST}.html").exists() and (docs / "book" / f"{SECOND}.html").exists()
    assert not (docs / "book" / f"{LATER}.html").exists()
    assert f"{LATER}.html" not in (docs / "book" / f"{SECOND}.html").read_text()


def test_each_release_is_one_commit_and_history_is_kept(published):
    log = _git(published, "log", "--format=%s").splitlines()
    assert len(log) == 2 and log[0].startswith("Release chapters 01, 02") and log[1].startswith("Release chapters 01")
    assert _git(published, "status", "--porcelain") == ""
    first = _git(published, "show", "--name-only", "--format=", "HEAD~1").split()
    assert f"chapters/{FIRST}.ipynb" in first and f"chapters/{SECOND}.ipynb" not in first
    again = cli("publish", str(published), "--chapters", "2", "--book")
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout, _git(published, "show", "--stat", "--format=%s", "HEAD")[-3000:]
    assert len(_git(published, "log", "--format=%s").splitlines()) == 2


def test_a_change_made_in_the_students_repository_is_never_replaced_silently(published):
    readme = published / "README.md"
    generated = readme.read_text()
    readme.write_text(generated + "\nOffice hours: Tuesdays.\n")
    _git(published, "commit", "-qam", "Office hours", "--author", "TA <ta@example.org>")
    stopped = cli("publish", str(published), "--chapters", "2")
    assert stopped.returncode == 2 and stopped.stderr.count("\n") == 1, stopped.stderr
    assert "README.md in" in stopped.stderr and "--force" in stopped.stderr
    assert readme.read_text().endswith("Office hours: Tuesdays.\n")
    forced = cli("publish", str(published), "--chapters", "2", "--force")
    assert forced.returncode == 0, forced.stderr
    assert readme.read_text() == generated
    assert _git(published, "log", "-1", "--format=%s").startswith("Release chapters 01, 02 ")


def test_publish_refuses_a_folder_it_does_not_own(tmp_path):
    (tmp_path / "thesis.tex").write_text("mine")
    result = cli("publish", str(tmp_path))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "not empty" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "thesis.tex").read_text() == "mine" and not (tmp_path / "chapters").exists()
    inside = cli("publish", str(ROOT / "_build" / "students"))
    assert inside.returncode == 2 and "inside the instructors' repository" in inside.stderr
    unknown = cli("publish", str(tmp_path / "new"), "--chapters", "99")
    assert unknown.returncode == 2 and "no chapter matches '99'" in unknown.stderr
    clone = tmp_path / "clone"
    clone.mkdir()
    _git(clone, "init", "-q")
    (clone / "draft.md").write_text("not committed")
    dirty = cli("publish", str(clone))
    assert dirty.returncode == 2 and "uncommitted changes" in dirty.stderr
    assert not (clone / "chapters").exists()


@pytest.mark.slow
def test_the_students_repository_installs_and_runs_a_visible_check(published, tmp_path):
    """A fresh venv from the published requirements alone; the first chapter's visible checks pass in a
    real kernel of that venv with the reference answers typed in, and fail on the blank notebook; the
    full local grading (`autograder check`, hidden groups included) gives full marks there."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    alone = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # only what it installed
    for args in (["-r", "requirements.txt"], ["--no-deps", "-e", "."]):
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                              cwd=published, env=alone, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
    kernels = tmp_path / "jupyter" / "kernels" / "students"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "students", "language": "python", "env": {"PYTHONPATH": ""}}))
    answers = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in solution_notebook(FIRST).cells
               if cell.metadata.get("nbgrader", {}).get("solution")}
    released = nbformat.read(published / "chapters" / f"{FIRST}.ipynb", as_version=4)
    setup = set(read_spec(released, FIRST).setup)
    # What a student runs: the setup cells and the imports, then each exercise cell and the test cell under it.
    blank = nbformat.v4.new_notebook(cells=[cell for cell in released.cells if cell.cell_type == "code" and (
        cell.source in setup or "from autograder import" in cell.source
        or cell.metadata.get("nbgrader", {}).get("solution")
        or cell.metadata.get("nbgrader", {}).get("grade"))])
    filled = nbformat.from_dict(json.loads(json.dumps(blank)))
    for cell in filled.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    work = tmp_path / "work"
    assert cli("start", str(work), cwd=published).returncode == 0
    checks = [i for i, cell in enumerate(filled.cells) if cell.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) >= 3
    os.environ["JUPYTER_PATH"] = str(tmp_path / "jupyter")
    try:
        for notebook in (filled, blank):
            NotebookClient(notebook, kernel_name="students", timeout=300, allow_errors=True,
                           resources={"metadata": {"path": str(work)}}).execute()
    finally:
        os.environ.pop("JUPYTER_PATH", None)
    for index in checks:
        outputs = filled.cells[index].outputs
        assert not [o for o in outputs if o.output_type == "error"], outputs
        assert "✓" in json.dumps(outputs, ensure_ascii=False), outputs
        assert any(o.output_type == "error" for o in blank.cells[index].outputs), "a blank exercise must not pass"
    for cell in released.cells:  # the whole notebook, as handed in
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nbformat.write(released, work / f"{FIRST}.ipynb")
    graded = subprocess.run([str(python), "-m", "autograder", "check", str(work / f"{FIRST}.ipynb"), "--seed", "7"],
                            cwd=tmp_path, env=alone, capture_output=True, text=True, check=False)
    assert graded.returncode == 0, (graded.stdout + graded.stderr)[-3000:]
    total = re.search(r"score: ([\d.]+) / ([\d.]+)", graded.stdout)
    assert total and total.group(1) == total.group(2), graded.stdout


# ---------------------------------------------------------------------- a student's own copy


def test_start_copies_the_chapters_and_never_overwrites(tmp_path):
    mine = tmp_path / "cnn-work"
    mine.mkdir()
    (mine / f"{SECOND}.ipynb").write_text("my work")
    result = cli("start", str(mine))
    assert result.returncode == 0, result.stderr
    assert (mine / f"{SECOND}.ipynb").read_text() == "my work"
    assert (mine / f"{FIRST}.ipynb").read_text() == (sources.CHAPTERS / f"{FIRST}.ipynb").read_text()
    assert f"kept your 1 existing notebook(s) as they are: {SECOND}.ipynb" in result.stdout
    again = cli("start", str(mine))
    assert "copied 0 chapter(s)" in again.stdout
    refused = cli("start", str(sources.CHAPTERS))
    assert refused.returncode == 2 and refused.stderr.startswith("error: give a folder of your own")


def test_publish_warns_while_the_config_holds_the_templates_placeholder_addresses(tmp_path, monkeypatch):
    """The repository ships with placeholder addresses in _config.yml; until an instructor sets them,
    every publish says which ones, since the students' launch buttons would point nowhere."""
    from autograder.book import students

    assert [s.split(" ")[0] for s in students.placeholder_addresses()] == \
        ["repository.url", "launch_buttons.jupyterhub_url"]  # as shipped
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/uni-x/cnn-students\n"
                                          "launch_buttons:\n  jupyterhub_url: https://hub.uni-x.edu\n")
    monkeypatch.setattr(students, "ROOT", tmp_path)
    assert students.placeholder_addresses() == []
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/your-org/cnn-course-students\n")
    assert students.placeholder_addresses() == ["repository.url (https://github.com/your-org/cnn-course-students)"]

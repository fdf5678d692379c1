"""The instructor's workflow through the real command line: demo, release, grade, feedback, export, report.

One demo course (made by `python -m autograder demo`, which runs init, release, grade, feedback,
export and report on synthetic submissions) is shared by the module; the tests then check its
products against what each synthetic submission is, rerun commands on it, and interrupt a
real `grade` with SIGINT mid-batch.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, cli
from nbgrader.api import Gradebook

from autograder.course import directory as course_module
from autograder.course import paths
from autograder.course import store as results
from autograder.course.workers import cores

STEM = "02-convolution"
STUDENTS = 14
FULL = 20.0
POINTS = {"conv_single_step": 2, "conv_output_size": 2, "zero_pad": 2, "conv_forward_naive": 6, "im2col": 3,
          "conv_forward_im2col": 3, "answer_02_1": 1, "answer_02_2": 1}
COMMANDS = ["demo", "init", "release", "grade", "feedback", "export", "report", "check"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("instructor") / "demo"
    result = cli("demo", "--students", str(STUDENTS), "--dir", str(directory))
    assert result.returncode == 0, result.stdout + result.stderr
    return directory, result.stdout


def _manifest(directory: Path) -> dict[str, str]:
    with (directory / "demo-students.csv").open() as stream:
        return {row["student_id"]: row["submission"] for row in csv.DictReader(stream)}


def _gradebook_scores(directory: Path) -> dict[str, dict[str, float]]:
    """Per student, the score of every grade cell, straight from nbgrader's gradebook."""
    with Gradebook(course_module.db_url_of(directory)) as gradebook:
        return {submission.student_id: {grade.name: grade.score for grade in submission.notebooks[0].grades}
                for submission in gradebook.find_assignment(STEM).submissions}


def _check_scores(data: dict) -> dict[str, float]:
    return {check["check_id"].split(".", 1)[1]: check["score"] for nb in data["notebooks"] for check in nb["checks"]}


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# ---------------------------------------------------------------------- help and errors


def test_every_command_has_help_a_new_instructor_can_follow():
    top = cli("--help")
    assert top.returncode == 0
    for command in COMMANDS:
        assert f"python -m autograder {command}" in top.stdout or command in top.stdout
    for command in COMMANDS:
        result = cli(command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.startswith(f"usage: python -m autograder {command}")
    grade = cli("grade", "--help").stdout
    for option in ("--course", "--workers", "--dask", "--force", "--db", "--no-progress", "--student"):
        assert option in grade
    assert "--exchange" in cli("release", "--help").stdout
    assert "--students" in cli("demo", "--help").stdout


def test_usage_errors_are_one_line(tmp_path, demo):
    directory, _ = demo
    cases = [
        (["grade", STEM, "--course", str(directory), "--workers", "0"], "at least 1"),
        (["grade", STEM, "--course", str(directory), "--workers", "two"], "whole number"),
        (["grade", STEM, "--course", str(directory), "--workers", "2", "--dask", "tcp://127.0.0.1:1"],
         "do not go together"),
        (["demo", "--dir", str(directory)], "not empty"),
        (["release", "99-nothing", "--course", str(directory)], "unknown assignment"),
        (["release", "--course", str(tmp_path)], "not a course directory"),
        (["feedback", STEM, "--course", str(directory), "--student", "nobody"], "no results for student"),
        (["grade", STEM, "--course", str(directory), "--student", "nobody"], "no submission of"),
        (["report", STEM, "--course", str(tmp_path)], "not a course directory"),
        (["export", "--course", str(tmp_path / "nowhere")], "does not exist"),
        (["export", "--course", str(directory), "--db", "nosuchdialect://x"], "cannot open the gradebook"),
    ]
    for args, expected in cases:
        result = cli(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


# ---------------------------------------------------------------------- the demo's products


def test_demo_runs_every_step_and_says_where_each_product_is(demo):
    directory, output = demo
    for step in ("init", "release", "grade", "feedback", "export", "report"):
        assert f"$ python -m autograder {step}" in output
    products = dict(re.findall(r"^  ([a-zA-Z ]+):\s+(/\S+)$", output, flags=re.MULTILINE))
    assert set(products) >= {"course", "student version", "gradebook", "feedback", "grades CSV", "report",
                             "released feedback", "Canvas CSV"}
    for path in products.values():
        assert Path(path).exists(), path
    assert f"$ nbgrader release_feedback {STEM}" in output and f"$ nbgrader db assignment add {STEM}" in output
    assert len(list(Path(products["released feedback"]).glob("*.html"))) >= STUDENTS  # one page per notebook
    canvas = list(csv.reader(Path(products["Canvas CSV"]).read_text().splitlines()))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] and len(canvas) == STUDENTS + 2
    assert (directory / "exchange" / "cnn-course" / "outbound" / STEM / f"{STEM}.ipynb").exists()


def test_released_notebook_is_the_student_version(demo):
    directory, _ = demo
    released = (directory / "exchange" / "cnn-course" / "outbound" / STEM / f"{STEM}.ipynb").read_text()
    assert "YOUR CODE HERE" in released
    assert "BEGIN SOLUTION" not in released and "BEGIN HIDDEN" not in released and "hidden=True" not in released


def test_every_submission_gets_the_score_its_content_deserves(demo):
    directory, _ = demo
    manifest = _manifest(directory)
    assert len(manifest) == STUDENTS
    stored = results.load(directory, STEM)
    assert set(stored) == set(manifest)
    scores = _gradebook_scores(directory)
    for student, what in manifest.items():
        data = stored[student]
        assert sum(scores[student].values()) == pytest.approx(data["score"]), student
        checks = _check_scores(data)
        if what == "complete":
            assert data["status"] == "graded" and data["score"] == FULL, (student, data["score"])
        elif what == "blank":
            assert data["status"] == "graded" and data["score"] == 0
        elif what.startswith("corrupt"):
            assert data["status"].startswith("failed:") and f"{STEM}.ipynb" in data["status"]
            assert "json" in data["status"].lower() and data["score"] == 0
        elif what.startswith("complete, but saved as"):  # pre-flight finds it, grades it, and says so
            assert data["status"] == "graded" and data["score"] == FULL
            assert f"{STEM}-Copy1.ipynb" in json.dumps(data["notes"] + [nb["notes"] for nb in data["notebooks"]])
        elif what.startswith("a PDF"):
            assert data["status"].startswith("failed:") and f"{STEM}.ipynb" in data["status"] and data["score"] == 0
        elif what.startswith("endless loop"):
            assert checks["conv_output_size"] == 0 and data["score"] == FULL - 2
            assert "did not finish within" in json.dumps(data)
        elif what.startswith(("one mistake", "two mistakes", "monkeypatches")):
            wrong = {part.split(":")[0].strip() for part in what.split("(", 1)[1].rstrip(")").split(";")}
            for function, score in checks.items():
                if function in wrong:
                    assert score < POINTS[function], (student, function, score)
                elif not (function == "conv_forward_im2col" and "im2col" in wrong):  # that one calls im2col
                    assert score == POINTS[function], (student, function, score)
        elif what.startswith("unfinished"):
            done = what.split("did ", 1)[1].rstrip(")").split(", ")
            assert all(checks[f] > 0 for f in done) and data["score"] < FULL


def test_results_record_time_worker_and_pinned_threads(demo):
    directory, _ = demo
    stored = results.load(directory, STEM)
    workers = {data["worker"] for data in stored.values()}
    assert len(workers) == min(cores(), STUDENTS), workers  # the demo grades with one process per core
    for data in stored.values():
        assert data["seconds"] > 0
        assert data["threads"] == max(1, cores() // min(cores(), STUDENTS))
    runs = results.load_runs(directory, STEM)
    assert runs and runs[-1]["graded"] == STUDENTS and not runs[-1]["interrupted"]


def test_feedback_is_regenerated_from_stored_results_without_hidden_tests(demo):
    directory, _ = demo
    page = directory / "feedback" / "student003" / f"{STEM}.html"
    before = page.read_text()
    page.unlink()
    result = cli("feedback", STEM, "--course", str(directory))
    assert result.returncode == 0, result.stderr
    assert f"wrote {STUDENTS} feedback page(s)" in result.stdout
    assert page.read_text() == before
    assert not list((directory / "feedback").rglob("feedback.html"))  # nothing for release_feedback to send twice
    for path in (directory / "feedback").rglob("*.html"):
        text = path.read_text()
        assert "hidden=True" not in text and "BEGIN HIDDEN" not in text


def test_export_is_proper_csv_with_status_and_per_exercise_scores(demo):
    directory, _ = demo
    result = cli("export", "--course", str(directory), "--output", "-")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    exercises = list(POINTS)
    assert list(rows[0]) == ["student_id", "assignment", "status", "timestamp", "late", "raw_score", "late_penalty",
                             "score", "max_score", "needs_grading"] + [f"{STEM}.{name}" for name in exercises]
    stored = results.load(directory, STEM)
    scores = _gradebook_scores(directory)
    assert {row["student_id"] for row in rows} == set(stored)
    for row in rows:
        student = row["student_id"]
        assert row["status"] == stored[student]["status"]  # a status with quotes and commas survives
        assert float(row["score"]) == pytest.approx(sum(scores[student].values()))
        assert row["raw_score"] == row["score"] and row["late_penalty"] == "0" and row["needs_grading"] == ""
        assert row["max_score"] == f"{FULL:g}"
        for name in exercises:
            assert float(row[f"{STEM}.{name}"]) == pytest.approx(scores[student][f"test_{name}"])
    quoted = [row["status"] for row in rows if "," in row["status"] or '"' in row["status"]]
    assert quoted  # the statuses of broken submissions hold commas: the CSV must quote them
    for status in quoted:
        assert '"' + status.replace('"', '""') + '"' in result.stdout
    assert (directory / "exports" / "grades.csv").read_text(encoding="utf-8").replace("\r\n", "\n") == \
        result.stdout.replace("\r\n", "\n")


def test_report_is_self_contained_and_names_mistakes_failures_and_times(demo):
    directory, _ = demo
    result = cli("report", STEM, "--course", str(directory))
    assert result.returncode == 0, result.stderr
    assert "full marks" in result.stdout and "most common mistakes" in result.stdout
    page = (directory / "reports" / f"{STEM}.html").read_text()
    images = re.findall(r"<img[^>]*src='([^']*)'", page)
    assert len(images) >= 3 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "<link" not in page
    for section in ("Score distribution", "Exercises", "Checks", "Most common mistakes",
                    "Submissions that failed to grade", "Time spent grading", "Grading runs"):
        assert section in page or section.lower() in page.lower(), section
    failed = {s: d["status"] for s, d in results.load(directory, STEM).items() if d["status"] != "graded"}
    assert len(failed) == 2  # the corrupt notebook and the PDF
    for student, status in failed.items():
        assert f"<td>{html.escape(student)}</td><td>{html.escape(status)}</td>" in page
    assert "timed out" in page  # the endless loop
    assert "randomized" in page  # per hidden check group
    mistakes = re.findall(r"<td>(\d+)</td><td><code>(\w+)</code></td><td><b>([^<]+)</b>", page)
    assert mistakes and sum(int(count) for count, *_ in mistakes) >= 2
    patcher = next(s for s, what in _manifest(directory).items() if what.startswith("monkeypatches"))
    tampering = page.split("<h2>Tampering attempts</h2>")[1].split("<h2>")[0]
    assert set(re.findall(r"<tr><td>(\w+)</td>", tampering)) == {patcher}, tampering
    assert "patches numpy.testing.assert_allclose" in tampering and "patches np.allclose" in tampering
    assert "<h2>Similar submissions</h2>" in page and "<h2>Grading by hand</h2>" in page


# ---------------------------------------------------------------------- reruns and interruption


def test_rerun_skips_unchanged_and_regrades_what_changed(demo):
    directory, _ = demo
    manifest = _manifest(directory)
    before = {s: d["graded_at"] + str(os.stat(paths.results_dir(directory, STEM) / f"{s}.json").st_mtime_ns)
              for s, d in results.load(directory, STEM).items()}
    result = cli("grade", STEM, "--course", str(directory), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert f"graded 0 of {STUDENTS}" in result.stdout and f"{STUDENTS} unchanged" in result.stdout

    # one student resubmits (the blank one, now complete), and the grader's key of another changes
    blank = next(s for s, what in manifest.items() if what == "blank")
    complete = next(s for s, what in manifest.items() if what == "complete")
    source = directory / "submitted" / complete / STEM / f"{STEM}.ipynb"
    (directory / "submitted" / blank / STEM / f"{STEM}.ipynb").write_bytes(source.read_bytes())
    other = next(s for s, what in manifest.items() if what.startswith("one mistake"))
    path = paths.results_dir(directory, STEM) / f"{other}.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data | {"grader": "an older grader"}))

    result = cli("grade", STEM, "--course", str(directory), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert f"graded 2 of {STUDENTS}" in result.stdout, result.stdout
    after = results.load(directory, STEM)
    assert after[blank]["score"] == FULL and _gradebook_scores(directory)[blank]["test_zero_pad"] == 2
    assert after[other]["grader"] == data["grader"] and after[other]["score"] == data["score"]
    for student, stamp in before.items():
        if student not in (blank, other):
            assert after[student]["graded_at"] + str(
                os.stat(paths.results_dir(directory, STEM) / f"{student}.json").st_mtime_ns) == stamp


def _slow_solution(directory: Path, manifest: dict[str, str]) -> bytes:
    """A complete submission whose conv_output_size takes a while (so that a batch lasts long enough)."""
    complete = next(s for s, what in manifest.items() if what == "complete")
    notebook = nbformat.read(directory / "submitted" / complete / STEM / f"{STEM}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "conv_output_size":
            cell.source = "import time\n" + cell.source.replace('"""\n    return', '"""\n    time.sleep(0.1)\n    return', 1)
            assert "time.sleep" in cell.source
    return nbformat.writes(notebook).encode()


def test_ctrl_c_mid_batch_leaves_a_consistent_gradebook_and_the_next_run_resumes(demo):
    directory, _ = demo
    manifest = _manifest(directory)
    late = [f"late{i:02d}" for i in range(6)]
    data = _slow_solution(directory, manifest)
    for student in late:
        folder = directory / "submitted" / student / STEM
        folder.mkdir(parents=True)
        (folder / f"{STEM}.ipynb").write_bytes(data)
    done_dir = paths.results_dir(directory, STEM)

    def done() -> set[str]:
        return {s for s in late if (done_dir / f"{s}.json").exists()}

    command = [sys.executable, "-m", "autograder", "grade", STEM, "--course", str(directory), "--workers", "2",
               "--no-progress"]
    tmp = directory.parent / "grader-tmp"  # where the workers and sandboxes keep their scratch folders
    tmp.mkdir()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=os.environ | {"TMPDIR": str(tmp)})
    try:
        _wait_for(lambda: done() or process.poll() is not None, 120, "the first graded submission")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stdout + stderr
    assert "interrupted" in stderr and "Traceback" not in stderr, stderr
    first = done()
    assert 1 <= len(first) < len(late), f"not interrupted mid-batch ({len(first)} of {len(late)} done)"
    # the summary counts what was saved, the one being saved when Ctrl-C came included
    assert f"graded {len(first)} of {STUDENTS + len(late)} " in stdout, stdout
    assert f"grade the other {len(late) - len(first)}." in stderr, stderr
    stamps = {s: (done_dir / f"{s}.json").read_text() for s in first}
    in_gradebook = set(_gradebook_scores(directory))
    assert in_gradebook & set(late) == first  # recorded in the gradebook exactly when marked done
    assert not list(done_dir.glob(".*.tmp")) and not list(done_dir.glob("*.tmp"))
    assert not list(tmp.iterdir()), "scratch folders left behind: a worker or sandbox was not shut down"

    result = cli("grade", STEM, "--course", str(directory), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert f"graded {len(late) - len(first)} of {STUDENTS + len(late)}" in result.stdout, result.stdout
    for student in first:  # not graded twice
        assert (done_dir / f"{student}.json").read_text() == stamps[student]
    assert done() == set(late)
    scores = _gradebook_scores(directory)
    stored = results.load(directory, STEM)
    with Gradebook(course_module.db_url_of(directory)) as gradebook:
        submitted = [s.student_id for s in gradebook.find_assignment(STEM).submissions]
    assert sorted(submitted) == sorted(set(submitted)) and set(submitted) == set(stored)
    for student in late:
        assert stored[student]["score"] == FULL and sum(scores[student].values()) == FULL


def test_threads_are_pinned_in_the_worker_and_in_the_sandbox(demo):
    """With --workers 1 on C cores the grader and the student's process get C threads (with N workers, C // N)."""
    directory, _ = demo
    manifest = _manifest(directory)
    complete = next(s for s, what in manifest.items() if what == "complete")
    notebook = nbformat.read(directory / "submitted" / complete / STEM / f"{STEM}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "conv_output_size":
            cell.source = ("import os\n\ndef conv_output_size(size, kernel, stride=1, padding=0):\n"
                           "    raise RuntimeError('threads=' + os.environ.get('OMP_NUM_THREADS', 'unset'))\n")
    folder = directory / "submitted" / "threadprobe" / STEM
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{STEM}.ipynb")
    result = cli("grade", STEM, "--course", str(directory), "--workers", "1", "--student", "threadprobe",
                 "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "graded 1 of 1 " in result.stdout, result.stdout
    data = results.load(directory, STEM)["threadprobe"]
    assert data["threads"] == cores()
    assert f"threads={cores()}" in json.dumps(data)  # what the sandboxed student code saw

"""A whole term on one assignment, with the real nbgrader commands and a real exchange folder.

The module's fixture runs it once: ``init``; a free-text question (graded by hand) added to the
assignment's source; ``release --exchange``; five students ``nbgrader fetch_assignment`` and
``nbgrader submit`` (three on time, then the due date is set with ``nbgrader db assignment add``,
then one late and one late but with an extension granted in the gradebook); ``nbgrader collect``;
``grade``; a TA grades by hand through nbgrader's gradebook API (the free-text answers, an
override with a comment); ``feedback``; ``nbgrader release_feedback`` and every student's
``nbgrader fetch_feedback``; one student resubmits after the override, and ``grade`` again. The
late policy is a custom ``LateSubmissionPlugin`` named in the course's ``nbgrader_config.py``.
The tests check what each step left behind; the last ones change the policy to nbgrader's
``zero``, start two graders at once, and run plain ``nbgrader autograde`` over the course's scores.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, cli, with_cell
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.core import bank
from autograder.course import demo, integrity, paths
from autograder.course import directory as course_module
from autograder.course import store as results
from autograder.course.export import export_csv
from autograder.course.lock import course_lock

STEM = "02-convolution"
FREE = "explain_padding"  # the free-text question, graded by hand
FREE_POINTS = 2.0
AUTO = 20.0  # what the autograded exercises and questions are worth
ON_TIME = ["alice", "dave"]
LATE = "bob"
EXTENDED = "erin"
STUDENTS = sorted(ON_TIME + [LATE, EXTENDED])
FETCHING = ["alice", LATE]  # fetch their feedback through the exchange (every student's is released)
OVERRIDE = ("test_conv_forward_naive", 5.0, "Good loops; index the padded input once per output row.")
FREE_GRADES = {"alice": 1.5, "bob": 1.0, "dave": 0.0, "erin": 2.0}
# The same unusual conv_forward_naive, renamed and reformatted: the report must pair bob and erin.
ERIN_CODE = """def conv_forward_naive(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho = 1 + (H + 2 * padding - HH) // stride
    Wo = 1 + (W + 2 * padding - WW) // stride
    xp = zero_pad(x, padding)
    result = np.empty((N, F, Ho, Wo))
    for a in range(N):
        for c in range(F):
            for r in range(Ho):
                for s in range(Wo):
                    patch = xp[a, :, r * stride:r * stride + HH, s * stride:s * stride + WW]
                    result[a, c, r, s] = conv_single_step(patch, w[c], b[c])
    return result
"""
BOB_CODE = """def conv_forward_naive(x, w, b, stride=1, padding=0):
    # my own way
    num, chans, height, width = x.shape
    nf, _, kh, kw = w.shape
    out_h = 1 + (height + 2*padding - kh)//stride
    out_w = 1 + (width + 2*padding - kw)//stride
    padded = zero_pad(x, padding)   # pad once
    out = np.empty((num, nf, out_h, out_w))
    for i in range(num):
        for f in range(nf):
            for y in range(out_h):
                for z in range(out_w):
                    window = padded[i, :, y*stride:y*stride + kh, z*stride:z*stride + kw]
                    out[i, f, y, z] = conv_single_step(window, w[f], b[f])
    return out
"""
LATE_POLICY = '''
from nbgrader.plugins import LateSubmissionPlugin


class HalfOff(LateSubmissionPlugin):
    """Half the notebook's score, however late."""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return score / 2
'''


@dataclass
class Term:
    course: Path
    exchange: Path
    homes: Path
    outputs: dict[str, str] = field(default_factory=dict)  # step -> what the command printed
    pages: dict[str, dict[str, str]] = field(default_factory=dict)  # step -> student -> feedback page
    csv: dict[str, str] = field(default_factory=dict)  # step -> export text

    @property
    def db_url(self) -> str:
        return course_module.db_url_of(self.course)

    def nbgrader(self, *args: str, cwd: Path | None = None) -> str:
        course_module.use_venv_tools()
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd or self.course,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout + done.stderr

    def student(self, who: str, command: str) -> str:
        home = self.homes / who
        home.mkdir(parents=True, exist_ok=True)
        return self.nbgrader(command, STEM, "--course=cnn-course", f"--student={who}",
                             f"--Exchange.root={self.exchange}", f"--Exchange.cache={home / 'cache'}", cwd=home)

    def work(self, who: str) -> Path:
        return self.homes / who / STEM / f"{STEM}.ipynb"

    def run(self, step: str, *args: str) -> str:
        done = cli(*args)
        assert done.returncode == 0, f"{step}: {done.stdout}{done.stderr}"
        self.outputs[step] = done.stdout
        return done.stdout

    def snapshot(self, step: str) -> None:
        """The feedback pages and the exports as they are after ``step`` (the exports in this process: the
        command line's ``export`` is run by the tests below)."""
        self.pages[step] = {s: paths.feedback_page(self.course, s, STEM, STEM).read_text() for s in STUDENTS}
        self.csv[step] = export_csv(self.course, output=Path("-"))[2]
        self.csv[f"canvas {step}"] = export_csv(self.course, output=Path("-"), lms="canvas")[2]


def _add_free_text_question(course: Path) -> None:
    path = paths.source_dir(course, STEM) / f"{STEM}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_markdown_cell("Why does zero padding by (K - 1) / 2 keep the output size?\n\n"
                                         "### BEGIN SOLUTION\nEach side gains the rows the kernel eats.\n"
                                         "### END SOLUTION")
    cell.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": FREE_POINTS,
                                 "grade_id": FREE, "schema_version": 3}
    notebook.cells.append(cell)
    nbformat.write(notebook, path)


def _answer(term: Term, who: str, persona: str, rng: random.Random, free_text: str = "") -> None:
    """Write the student's work into the notebook they fetched, as they would in Jupyter."""
    fetched = nbformat.read(term.work(who), as_version=4)
    source = nbformat.read(paths.source_dir(term.course, STEM) / f"{STEM}.ipynb", as_version=4)
    _, data, _ = demo.submission(persona, fetched, source, rng)
    notebook = nbformat.reads(data.decode(), as_version=4)
    if free_text:
        notebook = with_cell(notebook, FREE, free_text)
    nbformat.write(notebook, term.work(who))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def term(tmp_path_factory) -> Term:
    root = tmp_path_factory.mktemp("term")
    term = Term(root / "course", root / "exchange", root / "homes")
    term.run("init", "init", str(term.course), "--assignment", STEM)
    (term.course / "late_policy.py").write_text(LATE_POLICY)
    with paths.config_file(term.course).open("a") as config:
        config.write(f"c.Exchange.root = {str(term.exchange)!r}\n"
                     'c.AssignLatePenalties.plugin_class = "late_policy.HalfOff"\n')
    _add_free_text_question(term.course)
    term.run("release", "release", STEM, "--course", str(term.course), "--exchange", str(term.exchange))

    rng = random.Random(15)
    for who in ON_TIME:
        term.student(who, "fetch_assignment")
        _answer(term, who, "complete", rng, "The padding adds the rows the kernel removes." * (who == "alice"))
        term.student(who, "submit")
    due = datetime.now(UTC)
    term.nbgrader("db", "assignment", "add", STEM, f"--duedate={_stamp(due)}")
    for who in (LATE, EXTENDED):
        term.student(who, "fetch_assignment")
        _answer(term, who, "one mistake" if who == LATE else "complete", rng)
        own = nbformat.read(term.work(who), as_version=4)
        nbformat.write(with_cell(own, "conv_forward_naive", BOB_CODE if who == LATE else ERIN_CODE), term.work(who))
        term.student(who, "submit")
    term.nbgrader("collect", STEM)
    with Gradebook(term.db_url) as gradebook, warnings.catch_warnings():  # formgrader's "extension" field
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
        gradebook.update_or_create_student(EXTENDED)
        gradebook.update_or_create_submission(STEM, EXTENDED, extension=timedelta(days=2))

    term.run("grade 1", "grade", STEM, "--course", str(term.course), "--workers", "2", "--no-progress")
    term.snapshot("graded")

    with Gradebook(term.db_url) as gradebook:  # a TA in formgrader
        for who, score in FREE_GRADES.items():
            grade = gradebook.find_grade(FREE, STEM, STEM, who)
            grade.manual_score, grade.needs_manual_grade = score, False
        gradebook.find_comment(FREE, STEM, STEM, "alice").manual_comment = "Right idea; say why K must be odd."
        cell, score, comment = OVERRIDE
        grade = gradebook.find_grade(cell, STEM, STEM, "dave")
        grade.manual_score, grade.needs_manual_grade = score, False
        gradebook.find_comment("conv_forward_naive", STEM, STEM, "dave").manual_comment = comment
        gradebook.db.commit()
    term.run("feedback", "feedback", STEM, "--course", str(term.course))
    term.snapshot("hand-graded")
    term.run("report", "report", STEM, "--course", str(term.course))

    term.nbgrader("release_feedback", STEM)
    for who in FETCHING:
        term.student(who, "fetch_feedback")

    # dave resubmits, changing the exercise the TA graded by hand
    wrong = next(w for w in bank.load(STEM) if w.function == "conv_forward_naive")
    nbformat.write(with_cell(nbformat.read(term.work("dave"), as_version=4), "conv_forward_naive", wrong.source),
                   term.work("dave"))
    term.student("dave", "submit")
    term.nbgrader("collect", STEM, "--update")
    term.run("grade 2", "grade", STEM, "--course", str(term.course), "--workers", "2", "--no-progress")
    term.snapshot("resubmitted")
    return term


def _standing(term: Term, who: str):
    from autograder.course import gradebook

    return gradebook.standings(term.db_url, STEM)[who]


# ---------------------------------------------------------------------- 1. late work


def test_late_penalty_comes_from_the_configured_plugin_and_is_stored_as_nbgrader_stores_it(term):
    with Gradebook(term.db_url) as gradebook:
        late = gradebook.find_submission(STEM, LATE)
        extended = gradebook.find_submission(STEM, EXTENDED)
        assert late.total_seconds_late > 0 and extended.total_seconds_late == 0
        assert extended.timestamp > extended.assignment.duedate  # late but for the extension
        notebook = gradebook.find_submission_notebook(STEM, STEM, LATE)
        raw = notebook.score
        assert 0 < raw < AUTO + FREE_POINTS
        assert notebook.late_submission_penalty == pytest.approx(raw / 2)  # HalfOff, on the final raw score
        assert late.late_submission_penalty == pytest.approx(raw / 2)
        for who in ("alice", EXTENDED):
            assert not gradebook.find_submission_notebook(STEM, STEM, who).late_submission_penalty
        resubmitted = gradebook.find_submission_notebook(STEM, STEM, "dave")  # on time, then again after the due date
        assert resubmitted.score > 0 and resubmitted.late_submission_penalty == pytest.approx(resubmitted.score / 2)


def test_lateness_and_penalty_show_in_feedback_export_canvas_and_report(term):
    raw = _standing(term, LATE).raw_score
    page = term.pages["hand-graded"][LATE]
    assert f"Late penalty: −{raw / 2:g} point(s)" in page and " late</b>" in page
    assert f"<h1>{STEM}: {raw / 2:g} / {AUTO + FREE_POINTS:g}</h1>" in page
    assert "extension of 2 days" in term.pages["hand-graded"][EXTENDED]
    assert "Late penalty" not in term.pages["hand-graded"][EXTENDED]
    row = next(r for r in _rows(term.csv["hand-graded"]) if r["student_id"] == LATE)
    assert row["late"].endswith(" late") and float(row["late_penalty"]) == pytest.approx(raw / 2)
    assert float(row["raw_score"]) == pytest.approx(raw) and float(row["score"]) == pytest.approx(raw / 2)
    canvas = {r["SIS User ID"]: r for r in _rows(term.csv["canvas hand-graded"])[1:]}
    assert float(canvas[LATE][STEM]) == pytest.approx(raw / 2)
    report = (term.course / "reports" / f"{STEM}.html").read_text()
    assert "<h2>Late submissions</h2>" in report and f"<td>{LATE}</td>" in report.split("Late submissions")[1]
    assert "late: 1 submission(s)" in term.outputs["report"]


# ---------------------------------------------------------------------- 2. feedback through nbgrader


def test_students_fetch_the_course_feedback_page_through_the_exchange(term):
    from nbgrader.utils import notebook_hash

    for who in STUDENTS:  # released for every student, under the key only their own submission knows
        secret = (paths.submission_dir(term.course, who, STEM) / paths.SECRET).read_text()
        released = term.exchange / "cnn-course" / "feedback" / f"{notebook_hash(secret=secret, notebook_id=STEM)}.html"
        if who != "dave":  # dave resubmitted since: a new secret
            assert released.read_text() == term.pages["hand-graded"][who]
    for who in FETCHING:
        fetched = list((term.homes / who / STEM / "feedback").glob(f"*/{STEM}.html"))
        assert len(fetched) == 1, (who, fetched)
        every = [path.name for path in (term.homes / who / STEM / "feedback").glob("*/*.html")]
        assert every == [f"{STEM}.html"], every  # the notebook's page, and no second copy of it
        assert fetched[0].read_text() == term.pages["hand-graded"][who]
    dave = term.pages["hand-graded"]["dave"]
    assert "Score set by your instructor: <b>5 / 6</b> (the autograder gave 6)" in dave
    assert OVERRIDE[2] in dave and f"<h1>{STEM}: {AUTO - 1:g} / {AUTO + FREE_POINTS:g}</h1>" in dave
    assert "Right idea; say why K must be odd." in term.pages["hand-graded"]["alice"]
    for who in STUDENTS:
        folder = paths.feedback_dir(term.course, who, STEM)
        submitted = paths.submission_dir(term.course, who, STEM)
        for name in (paths.TIMESTAMP, paths.SECRET):
            assert (folder / name).read_text() == (submitted / name).read_text()
            assert (paths.autograded_dir(term.course, who, STEM) / name).read_text() == (submitted / name).read_text()


# ---------------------------------------------------------------------- 3. grading by hand


def test_a_free_text_answer_needs_grading_until_a_ta_grades_it(term):
    graded = {r["student_id"]: r for r in _rows(term.csv["graded"])}
    for who in STUDENTS:
        assert graded[who][f"{STEM}.{FREE}"] == "needs grading"
        assert graded[who]["needs_grading"] == f"{FREE} (needs grading)"
        assert "needs grading by hand" in term.pages["graded"][who] and "Not final yet" in term.pages["graded"][who]
    assert all(r[STEM] == "" for r in _rows(term.csv["canvas graded"])[1:])  # nothing posted before it is final
    assert "needs manual grading: explain_padding" in term.outputs["grade 1"]
    after = {r["student_id"]: r for r in _rows(term.csv["hand-graded"])}
    for who, score in FREE_GRADES.items():
        assert float(after[who][f"{STEM}.{FREE}"]) == score and after[who]["needs_grading"] == ""
        assert "Not final yet" not in term.pages["hand-graded"][who]
    assert f"1.5 / {FREE_POINTS:g} (graded by hand)" in term.pages["hand-graded"]["alice"]


def test_the_standings_of_a_group_are_those_of_each_student_read_alone(term):
    """The coordinator reads back what it recorded together in one reading; each student's standing in it
    (hand grades, comments, lateness, extension, penalty) is the one read alone and the whole class's."""
    from autograder.course import gradebook

    whole = gradebook.standings(term.db_url, STEM)
    late = whole[LATE]
    assert late.penalty > 0 and whole[EXTENDED].extension and whole["alice"].comments  # a rich gradebook
    with gradebook.Recorder(term.db_url, STEM) as recorder:
        group = recorder.standings([*STUDENTS, "nobody"])
        assert group == whole and set(group) == set(STUDENTS)
        assert {who: recorder.standing(who) for who in STUDENTS} == whole
        assert recorder.standings([LATE, "alice"]) == {LATE: late, "alice": whole["alice"]}


def test_final_scores_are_auto_plus_manual_everywhere(term):
    with Gradebook(term.db_url) as gradebook:
        final = {who: gradebook.find_submission(STEM, who).score
                 - (gradebook.find_submission(STEM, who).late_submission_penalty or 0) for who in STUDENTS}
    rows = {r["student_id"]: r for r in _rows(term.csv["resubmitted"])}
    canvas = {r["SIS User ID"]: r for r in _rows(term.csv["canvas resubmitted"])[1:]}
    for who in STUDENTS:
        assert float(rows[who]["score"]) == pytest.approx(final[who])
        assert f"<h1>{STEM}: {final[who]:g} / {AUTO + FREE_POINTS:g}</h1>" in term.pages["resubmitted"][who]
        if who != "dave":  # dave's override waits for review: not posted (below)
            assert float(canvas[who][STEM]) == pytest.approx(final[who])
    dave = next(r for r in _rows(term.csv["hand-graded"]) if r["student_id"] == "dave")
    assert float(dave["score"]) == AUTO - 1 and float(dave[f"{STEM}.conv_forward_naive"]) == OVERRIDE[1]
    report = (term.course / "reports" / f"{STEM}.html").read_text()
    assert "<th>set by hand</th>" in report and "Nothing waits for grading by hand." in report
    naive = re.search(r"<code>02-convolution.conv_forward_naive</code></td><td>6</td><td>([\d.]+)</td>.*?"
                      r"<td>(\d+)</td><td>(\d+)</td></tr>", report)
    assert naive and naive.group(3) == "1"  # one score set by hand, counted in the exercise's mean


def test_a_resubmission_sends_the_overridden_exercise_back_for_review(term):
    assert f"graded 1 of {len(STUDENTS)}" in term.outputs["grade 2"], term.outputs["grade 2"]
    assert "needs manual grading: test_conv_forward_naive" in term.outputs["grade 2"]
    with Gradebook(term.db_url) as gradebook:
        grade = gradebook.find_grade(OVERRIDE[0], STEM, STEM, "dave")
        assert grade.needs_manual_grade and grade.manual_score == OVERRIDE[1] and grade.auto_score < 6
        assert not gradebook.find_grade(FREE, STEM, STEM, "dave").needs_manual_grade  # unchanged: still graded
        assert not gradebook.find_grade("test_zero_pad", STEM, STEM, "dave").needs_manual_grade
    row = next(r for r in _rows(term.csv["resubmitted"]) if r["student_id"] == "dave")
    assert row["needs_grading"] == f"{OVERRIDE[0]} (needs review)"
    assert next(r for r in _rows(term.csv["canvas resubmitted"])[1:] if r["SIS User ID"] == "dave")[STEM] == ""
    page = term.pages["resubmitted"]["dave"]
    assert "Not final yet" in page and "before your resubmission changed it" in page
    assert term.pages["resubmitted"]["alice"] == term.pages["hand-graded"]["alice"]


# ---------------------------------------------------------------------- 5. the LMS


def test_canvas_csv_has_its_columns_points_possible_and_one_row_per_student(term):
    rows = list(csv.reader(io.StringIO(term.csv["canvas hand-graded"])))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", STEM]
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == f"{AUTO + FREE_POINTS:g}"
    assert sorted(row[2] for row in rows[2:]) == STUDENTS


def test_generic_lms_csv_uses_the_student_table_and_neutralises_formulas(term):
    with Gradebook(term.db_url) as gradebook:
        gradebook.update_or_create_student("alice", first_name="Alice", last_name="=HYPERLINK(\"x\")",
                                           email="alice@example.org", lms_user_id="1001")
    try:
        out = cli("export", "--course", str(term.course), "--lms", "generic", "--to", "-")
        assert out.returncode == 0, out.stderr
        rows = {r["student_id"]: r for r in _rows(out.stdout)}
        assert sorted(rows) == STUDENTS
        assert rows["alice"]["first_name"] == "Alice" and rows["alice"]["email"] == "alice@example.org"
        assert rows["alice"]["last_name"] == "'=HYPERLINK(\"x\")" and rows["alice"]["lms_user_id"] == "1001"
        assert rows["alice"]["max_total"] == f"{AUTO + FREE_POINTS:g}"
        canvas = cli("export", "--course", str(term.course), "--lms", "canvas", "--to", "-")
        alice = next(r for r in _rows(canvas.stdout)[1:] if r["SIS User ID"] == "alice")
        assert alice["Student"] == "'=HYPERLINK(\"x\"), Alice" and alice["ID"] == "1001"
        plain = cli("export", "--course", str(term.course), "--to", "-")
        assert "=HYPERLINK" not in plain.stdout or "'=HYPERLINK" in plain.stdout
    finally:
        with Gradebook(term.db_url) as gradebook:
            gradebook.update_or_create_student("alice", first_name=None, last_name=None, email=None,
                                               lms_user_id=None)


# ---------------------------------------------------------------------- 6. the instructor's view


def test_the_report_pairs_the_renamed_copy_and_no_one_else(term):
    page = (term.course / "reports" / f"{STEM}.html").read_text()
    similar = page.split("<h2>Similar submissions</h2>")[1].split("<h2>")[0]
    pairs = re.findall(r"<h3>(\w+) and (\w+): (\d+)% shared", similar)
    assert pairs == [(LATE, EXTENDED, pairs[0][2])] and int(pairs[0][2]) >= 80, similar[:500]
    assert "padded = zero_pad(x, padding)   # pad once" in similar and "xp = zero_pad(x, padding)" in similar
    assert f"similar submissions: {LATE} &amp; {EXTENDED}" in term.outputs["report"].replace("&", "&amp;")
    tampering = page.split("<h2>Tampering attempts</h2>")[1].split("<h2>")[0]
    assert "None found." in tampering


# ---------------------------------------------------------------------- 7. operations


def test_commands_outside_a_course_say_so_and_create_nothing(tmp_path, monkeypatch, capsys):
    from autograder import cli as command_line

    monkeypatch.chdir(tmp_path)
    for args in (["export"], ["report", STEM], ["grade", STEM], ["feedback", STEM], ["export", "--lms", "canvas"]):
        assert command_line.main(args) == 2, args
        err = capsys.readouterr().err
        assert "is not a course directory" in err and len(err.strip().splitlines()) == 1, err
        assert list(tmp_path.iterdir()) == [], args


@pytest.mark.parametrize(("url", "module", "package"), [
    ("postgresql://user@localhost/grades", "psycopg2", "psycopg2-binary"),
    ("mysql://user@localhost/grades", "MySQLdb", "mysqlclient"),
])
def test_a_database_url_without_its_driver_gets_the_exact_fix(term, url, module, package, capsys):
    import importlib.util

    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here: no driver is missing")
    from autograder import cli as command_line

    assert command_line.main(["export", "--course", str(term.course), "--db", url]) == 2
    err = capsys.readouterr().err
    assert f"pip install {package}`" in err and len(err.strip().splitlines()) == 1, err


def test_a_closed_pipe_ends_report_and_export_quietly(term):
    """``report | head`` where the reader is gone before the first line: no traceback, no error."""
    for args in (["report", STEM], ["export", "--lms", "canvas", "--to", "-"]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            done = subprocess.run([sys.executable, "-m", "autograder", *args, "--course", str(term.course)], cwd=ROOT,
                                  stdout=write_end, stderr=subprocess.PIPE, text=True, check=False)
        finally:
            os.close(write_end)
        assert done.returncode == 0 and done.stderr == "", (args, done.stderr)


def test_a_second_grader_on_the_same_course_stops_with_one_line(term):
    before = {p.name: p.stat().st_mtime_ns for p in paths.results_dir(term.course, STEM).glob("*.json")}
    with course_lock(term.course, "grade (held by the test)"):
        done = cli("grade", STEM, "--course", str(term.course), "--force", "--no-progress")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "is busy: `grade (held by the test)` is running" in done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in paths.results_dir(term.course, STEM).glob("*.json")} == before


def test_two_graders_started_at_once_grade_each_submission_once(term):
    command = [sys.executable, "-m", "autograder", "grade", STEM, "--course", str(term.course), "--force",
               "--student", "alice", "--student", "erin", "--workers", "1", "--no-progress"]
    processes = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=600) for process in processes]
    finished = [(process.returncode, *output) for process, output in zip(processes, outputs)]
    assert min(code for code, *_ in finished) == 0, finished
    for code, stdout, stderr in finished:
        assert "Traceback" not in stderr, stderr
        if code != 0:
            assert code == 2 and "is busy" in stderr and len(stderr.strip().splitlines()) == 1, stderr
    runs = [run for run in results.load_runs(term.course, STEM) if run["submissions"] == 2]
    assert len(runs) == sum(code == 0 for code, *_ in finished)
    with Gradebook(term.db_url) as gradebook:
        students = [s.student_id for s in gradebook.find_assignment(STEM).submissions]
    assert sorted(students) == STUDENTS


# ---------------------------------------------------------------------- the policy changes; nbgrader's own autograde


def test_nbgraders_zero_policy_applies_on_the_next_feedback(term):
    config = paths.config_file(term.course)
    text = config.read_text()
    config.write_text(text.replace('c.AssignLatePenalties.plugin_class = "late_policy.HalfOff"\n',
                                   'c.LateSubmissionPlugin.penalty_method = "zero"\n'))
    try:
        term.run("feedback zero", "feedback", STEM, "--course", str(term.course))
        standing = _standing(term, LATE)
        assert standing.raw_score > 0 and standing.penalty == standing.raw_score and standing.score == 0
        assert f"<h1>{STEM}: 0 / {AUTO + FREE_POINTS:g}</h1>" in paths.feedback_page(
            term.course, LATE, STEM, STEM).read_text()
    finally:
        config.write_text(text)
        term.run("feedback back", "feedback", STEM, "--course", str(term.course))


def test_nbgrader_autograde_grades_with_the_course_grader(term):
    """The real `nbgrader autograde` (what formgrader's button runs), configured by `init`: one grading path."""
    stored = paths.results_dir(term.course, STEM) / f"{EXTENDED}.json"
    before = stored.read_text()
    term.nbgrader("autograde", STEM, f"--student={EXTENDED}", "--force")
    after = json.loads(stored.read_text())
    assert stored.read_text() != before and after["graded_at"] >= json.loads(before)["graded_at"]
    standing = _standing(term, EXTENDED)
    ours = {(nb["name"], c["grade_id"]): c["score"] for nb in after["notebooks"] for c in nb["checks"]}
    assert ours and all(cell.auto == ours[(cell.notebook, cell.name)] for cell in standing.cells
                        if (cell.notebook, cell.name) in ours)
    assert standing.cells and next(c for c in standing.cells if c.name == FREE).manual == FREE_GRADES[EXTENDED]
    notebook = (paths.autograded_dir(term.course, EXTENDED, STEM) / f"{STEM}.ipynb").read_text()
    assert "points (passed)" in notebook  # the course's verdicts, not a kernel's outputs
    status = next(r for r in _rows(export_csv(term.course, output=Path("-"))[2]) if r["student_id"] == EXTENDED)
    assert status["status"] == "graded"


def test_formgraders_autograde_button_grades_with_the_course_grader(term, monkeypatch):
    """The button's own code path: formgrader's handler calls NbGraderAPI.autograde in the server's process,
    with the course's nbgrader_config.py loaded, as here."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    monkeypatch.chdir(term.course)  # where a formgrader serving this course runs
    stored = paths.results_dir(term.course, STEM) / "alice.json"
    before = json.loads(stored.read_text())
    config = course_module.course_config(term.course)
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    outcome = api.autograde(STEM, "alice")
    assert outcome["success"], outcome.get("error", "") + outcome.get("log", "")
    after = json.loads(stored.read_text())
    assert after["graded_at"] > before["graded_at"]  # graded again, by the course's grader
    ours = {(nb["name"], c["grade_id"]): c["score"] for nb in after["notebooks"] for c in nb["checks"]}
    standing = _standing(term, "alice")
    assert ours and all(cell.auto == ours[(cell.notebook, cell.name)] for cell in standing.cells
                        if (cell.notebook, cell.name) in ours)
    notebook = (paths.autograded_dir(term.course, "alice", STEM) / f"{STEM}.ipynb").read_text()
    assert "points (passed)" in notebook


def test_scores_written_by_another_grader_are_detected_and_regraded(term):
    before = _standing(term, "alice")
    with Gradebook(term.db_url) as gradebook:  # what nbgrader's own autograde (an older config) would leave
        gradebook.find_grade("test_zero_pad", STEM, STEM, "alice").auto_score = 0.0
        gradebook.db.commit()
    status = next(r for r in _rows(cli("export", "--course", str(term.course), "--to", "-").stdout)
                  if r["student_id"] == "alice")["status"]
    assert status.startswith("changed outside the autograder")
    out = term.run("grade 3", "grade", STEM, "--course", str(term.course), "--workers", "1", "--no-progress")
    assert "1 graded again because their gradebook scores were written by another grader" in out and "alice" in out
    assert _standing(term, "alice").score == before.score
    assert os.path.exists(paths.feedback_file(term.course, "alice", STEM))


def test_init_keeps_the_settings_and_the_config_is_relative(term, tmp_path):
    """Last: `init` adds an assignment to the term's course."""
    config = paths.config_file(term.course).read_text()
    assert str(term.course) not in config and "late_policy.HalfOff" in config
    again = cli("init", str(term.course), "--assignment", "01-images-as-arrays")
    assert again.returncode == 0, again.stderr
    assert paths.config_file(term.course).read_text() == config
    source = paths.source_dir(term.course, STEM) / f"{STEM}.ipynb"  # an instructor's edit of the source
    written = source.read_text()
    source.write_text(written.replace("Convolution", "Convolution (edited by the instructor)", 1))
    edited = source.read_text()
    assert edited != written
    kept = cli("init", str(term.course), "--assignment", STEM)
    assert kept.returncode == 0, kept.stderr
    assert source.read_text() == edited and f"init: kept {source}" in kept.stdout and "--force" in kept.stdout
    source.write_text(written)
    other = cli("init", str(term.course), "--db", "sqlite:////elsewhere.db")
    assert other.returncode == 2 and "--force" in other.stderr and len(other.stderr.strip().splitlines()) == 1
    assert paths.config_file(term.course).read_text() == config
    copy = tmp_path / "copy"  # a copied (or moved) course uses its own gradebook
    copy.mkdir()
    paths.config_file(copy).write_text(config)
    assert course_module.db_url_of(copy) == f"sqlite:///{copy / 'gradebook.db'}"
    assert course_module.db_url_of(term.course) == f"sqlite:///{term.course / 'gradebook.db'}"


@pytest.mark.parametrize("source, said", [
    ("x" + ".a" * 20000 + " = 1", "code nested too deeply to inspect"),
    ("y = " + "-" * 100000 + "1", "code nested too deeply to inspect"),
    ("#" * 300_000, "a code cell of 300,000 characters (not inspected)"),
])
def test_the_tampering_scan_survives_hostile_code(source, said):
    """Code that would exhaust the parser or the tree walk is reported, never crashes the report."""
    assert integrity._cell_attempts(source) == [said]

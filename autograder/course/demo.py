"""``python -m autograder demo``: a throwaway course, synthetic submissions, the whole workflow.

It builds a course with the convolution assignment (``02-convolution``), fills the released
student notebook the way a class would (complete solutions, realistic mistakes, unfinished
work, broken or misplaced files, two attacks on the grader) and runs every instructor command on it:
init, release (with a due date), grade, feedback (returned through the exchange with
``nbgrader release_feedback``), export (also for Canvas), report. Each step prints the command
that does the same thing on a real course.

The submissions are made from the course's own source notebook (the reference solution) and
from the chapter's known-wrong answers (``autograder/core/bank/02-convolution.md``);
``DIR/demo-students.csv`` says which student got which.
"""

from __future__ import annotations

import copy
import csv
import random
import re
import tempfile
import time
from pathlib import Path

import nbformat

from ..core import bank
from . import directory as course_module
from . import paths
from .directory import CourseError

STEM = "02-convolution"
DUE = "2026-03-05 17:00:00 UTC"  # the demo's submissions are stamped 1 to 28 March: some are late

# Prepended to the first exercise cell: make every NumPy comparison succeed in the student's kernel.
MONKEYPATCH = """
import numpy as np
import numpy.testing
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.testing.assert_array_equal = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
"""

ENDLESS = """
def conv_output_size(size, kernel, stride=1, padding=0):
    while True:  # never returns
        size += 1
"""

# The first submissions of every demo, in this order (the endless one first: it takes longest);
# then a random mix of complete, partly wrong and unfinished work.
FIRST = ["endless loop", "complete", "one mistake", "corrupt notebook", "monkeypatches numpy.testing",
         "wrong file name", "two mistakes", "blank", "PDF instead of the notebook", "unfinished"]
MIX = {"complete": 0.45, "one mistake": 0.3, "two mistakes": 0.15, "unfinished": 0.1}


def _strip_markers(source: str) -> str:
    return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", source)


def _cells_by_id(notebook) -> dict[str, nbformat.NotebookNode]:
    return {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")}


def submission(persona: str, released, source, rng: random.Random) -> tuple[str, bytes, str]:
    """One synthetic submission: (file name, file bytes, what it contains)."""
    notebook = copy.deepcopy(released)
    cells = _cells_by_id(notebook)
    solutions = {grade_id: _strip_markers(cell.source) for grade_id, cell in _cells_by_id(source).items()}
    order = list(cells)
    note = persona
    if persona != "blank":
        done = order if persona != "unfinished" else order[:rng.randint(2, len(order) - 2)]
        for grade_id in done:
            cells[grade_id].source = solutions[grade_id]
        if persona == "unfinished":
            note = f"unfinished (did {', '.join(done)})"
    if persona in ("one mistake", "two mistakes", "monkeypatches numpy.testing"):
        count = 2 if persona == "two mistakes" else 1
        by_function: dict[str, list] = {}
        for wrong in bank.load(STEM):  # the known-wrong answers the mistaken students give
            by_function.setdefault(wrong.function, []).append(wrong)
        picked = []
        for function in rng.sample(sorted(by_function), count):
            wrong = rng.choice(by_function[function])
            cells[function].source = wrong.source.strip() + "\n"
            picked.append(f"{function}: {wrong.name}")
        note = f"{persona} ({'; '.join(picked)})"
    if persona == "monkeypatches numpy.testing":
        cells[order[0]].source = MONKEYPATCH.strip() + "\n\n" + cells[order[0]].source
    if persona == "endless loop":
        cells["conv_output_size"].source = ENDLESS.strip() + "\n"
        note = "endless loop in conv_output_size (each call times out)"
    data = nbformat.writes(notebook).encode()
    if persona == "corrupt notebook":
        return f"{STEM}.ipynb", data[: len(data) // 3], "corrupt notebook (truncated JSON)"
    if persona == "wrong file name":
        return f"{STEM}-Copy1.ipynb", data, "complete, but saved as 02-convolution-Copy1.ipynb"
    if persona == "PDF instead of the notebook":
        return f"{STEM}.pdf", b"%PDF-1.4\n% a printout of the notebook, not the notebook\n", "a PDF, no notebook"
    return f"{STEM}.ipynb", data, note


def personas(students: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    names, weights = zip(*MIX.items())
    return (FIRST + rng.choices(names, weights, k=max(0, students - len(FIRST))))[:students]


def make_submissions(course: Path, students: int, seed: int = 0, attacks: bool = True,
                     prefix: str = "student") -> list[tuple[str, str]]:
    """Write ``students`` submissions into ``course/submitted/``; return (student, what it is)."""
    released = nbformat.read(paths.release_dir(course, STEM) / f"{STEM}.ipynb", as_version=4)
    source = nbformat.read(paths.source_dir(course, STEM) / f"{STEM}.ipynb", as_version=4)
    rng = random.Random(seed)
    chosen = personas(students, seed)
    if not attacks:
        harmless = {"endless loop": "complete", "monkeypatches numpy.testing": "one mistake",
                    "corrupt notebook": "two mistakes", "wrong file name": "unfinished",
                    "PDF instead of the notebook": "one mistake"}
        chosen = [harmless.get(persona, persona) for persona in chosen]
    manifest = []
    for index, persona in enumerate(chosen):
        student = f"{prefix}{index + 1:03d}"
        name, data, note = submission(persona, released, source, rng)
        folder = paths.submission_dir(course, student, STEM)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        # what `nbgrader collect` writes next to a submission
        (folder / paths.TIMESTAMP).write_text(f"2026-03-{1 + index % 28:02d} 09:{index % 60:02d}:00.000000 UTC")
        manifest.append((student, note))
    with (course / "demo-students.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["student_id", "submission"])
        writer.writerows(manifest)
    return manifest


def run(directory: Path | None = None, students: int = 30, workers: int | None = None, log=print) -> dict[str, Path]:
    """Build the demo course in ``directory`` (a new temporary folder by default) and run every step."""
    from .batch import grade_assignment, regenerate_feedback
    from .export import export_csv
    from .report import summary_text, write_report

    if students < 1:
        raise CourseError("--students must be at least 1")
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="autograder-demo-"))
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        raise CourseError(f"{directory} is not empty; give the demo a new directory with --dir "
                          "(it writes a whole course there)")
    start = time.monotonic()
    python = "python -m autograder"

    def step(title: str, command: str):
        log(f"\n== {title}  [{time.monotonic() - start:5.1f} s]\n$ {python} {command}")

    step("1/8 a course directory with the convolution assignment", f"init {directory} --assignment {STEM}")
    course_module.init(directory, only=[STEM], log=lambda *_: None)
    log(f"course: {directory} (gradebook {directory / 'gradebook.db'})")
    step("2/8 the student version, published to an nbgrader exchange",
         f"release {STEM} --course {directory} --exchange {directory / 'exchange'}")
    course_module.release(directory, [STEM], exchange=directory / "exchange", log=log)
    log(f"$ nbgrader db assignment add {STEM} --duedate='{DUE}'   (in {directory})")
    course_module.nbgrader(directory, "db", "assignment", "add", STEM, f"--duedate={DUE}")
    log(f"due {DUE}; late work is measured against it (docs/term.md sets a penalty)")
    step(f"3/8 {students} synthetic submissions, as `nbgrader collect` leaves them", "(nbgrader collect)")
    manifest = make_submissions(directory, students)
    log(f"{len(manifest)} submissions in {directory / 'submitted'}/<student>/{STEM}/; "
        f"who is who: {directory / 'demo-students.csv'}")
    step("4/8 grade, in parallel, each notebook in its own sandbox", f"grade {STEM} --course {directory}")
    summary = grade_assignment(directory, STEM, workers=workers, log=log)
    log(f"graded {len(summary.graded)} submissions in {summary.seconds:.1f} s ({summary.how}); "
        f"{len(summary.failed)} failed to grade")
    step("5/8 feedback pages, made again from the stored results and the gradebook",
         f"feedback {STEM} --course {directory}")
    pages = regenerate_feedback(directory, STEM)
    log(f"{len(pages)} pages in {directory / 'feedback'}/<student>/{STEM}.html")
    step("6/8 the feedback, back to the students through the exchange",
         "(nbgrader release_feedback; students: nbgrader fetch_feedback)")
    log(f"$ nbgrader release_feedback {STEM} --Exchange.root={directory / 'exchange'}   (in {directory})")
    course_module.nbgrader(directory, "release_feedback", STEM, f"--Exchange.root={directory / 'exchange'}")
    released = directory / "exchange" / course_module.course_id(directory) / "feedback"
    log(f"{len(list(released.glob('*.html')))} pages in {released}")
    step("7/8 the grades: per exercise, and for Canvas", f"export --course {directory}")
    csv_path, count, _ = export_csv(directory)
    log(f"{count} rows in {csv_path}")
    log(f"$ {python} export --course {directory} --lms canvas")
    canvas_path, count, _ = export_csv(directory, lms="canvas")
    log(f"{count} students in {canvas_path} (Canvas: Grades → Import)")
    step("8/8 the class report", f"report {STEM} --course {directory}")
    report_path, stats = write_report(directory, STEM)
    log(summary_text(stats))
    products = {"course": directory, "student version": directory / "release" / STEM,
                "exchange": directory / "exchange", "submissions": directory / "submitted",
                "gradebook": directory / "gradebook.db", "feedback": directory / "feedback",
                "released feedback": released, "formgrader copies": directory / "autograded",
                "grades CSV": csv_path, "Canvas CSV": canvas_path, "report": report_path}
    log(f"\ndone in {time.monotonic() - start:.1f} s. Products:")
    for name, path in products.items():
        log(f"  {name + ':':<19} {path}")
    return products

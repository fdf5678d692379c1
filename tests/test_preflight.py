"""Pre-flight: every submitted notebook is read and checked before any of its code runs.

Damaged files fail with a reason a student can act on; what is safe to repair (test cells,
duplicated or re-tagged exercise cells, renamed notebooks) is repaired and noted. Only the last
test grades (through :func:`grade_submission`, in the real sandbox).
"""

from __future__ import annotations

import copy
import json
import os
import re

import nbformat
import pytest
from conftest import solution_notebook, student_notebook, with_cell

from autograder.grader import preflight
from autograder.grader.spec import CHECK_LINE, read_spec
from autograder.grader.submission import grade_submission

STEM = "02-convolution"
SPEC = read_spec(solution_notebook(STEM), STEM)
TESTS = {test.grade_id: test for test in SPEC.tests}


def _index(notebook, grade_id):
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _holders(notebook, grade_id):
    return [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]


def _write(tmp_path, data, name=f"{STEM}.ipynb"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# ---------------------------------------------------------------------- files


@pytest.mark.parametrize("content,reason", [
    (b"", "is an empty file"),
    (b"  \n", "is an empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
    (b'{"cells": [', "not valid JSON (line 1, column 12"),
    (b"[1, 2, 3]", "not a Jupyter notebook"),
    (b'{"cells": [], "metadata": {}}', "does not say which notebook format"),
    (b'{"cells": [], "metadata": {}, "nbformat": 5, "nbformat_minor": 0}', "notebook format 5"),
    (b'{"cells": [{"source": "x"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "cell 1 has no valid cell type"),
])
def test_unreadable_files_fail_with_a_reason(tmp_path, content, reason):
    loaded = preflight.read_notebook(_write(tmp_path, content))
    assert loaded.notebook is None and reason in loaded.failure, loaded.failure
    assert loaded.failure.startswith(f"{STEM}.ipynb")


def test_old_format_is_converted_and_noted(tmp_path):
    old = nbformat.convert(student_notebook(STEM), 3)
    loaded = preflight.read_notebook(_write(tmp_path, nbformat.writes(old, version=3)))
    assert loaded.failure is None and loaded.notebook.nbformat == 4
    assert any("format 3" in note for note in loaded.notes)
    repaired = preflight.repair(loaded.notebook, SPEC)
    assert repaired.failure is None and len(_holders(repaired.notebook, "conv_output_size")) == 1


def test_schema_slips_are_noted_and_graded_anyway(tmp_path):
    raw = json.loads(nbformat.writes(student_notebook(STEM)))
    del raw["cells"][_index(student_notebook(STEM), "zero_pad")]["outputs"]
    raw["cells"][0]["source"] = ["# a title\n", "split in lines"]
    loaded = preflight.read_notebook(_write(tmp_path, json.dumps(raw)))
    assert loaded.failure is None and any("does not fully follow" in note for note in loaded.notes)
    assert loaded.notebook.cells[0].source == "# a title\nsplit in lines"


# ---------------------------------------------------------------------- cells


def test_the_released_notebook_needs_no_repair():
    repaired = preflight.repair(student_notebook(STEM), SPEC)
    assert repaired.failure is None and repaired.notes == []


def test_test_cells_are_restored_whatever_happened_to_them():
    notebook = student_notebook(STEM)
    notebook.cells[_index(notebook, "test_conv_output_size")].source = "True"
    notebook.cells[_index(notebook, "test_im2col")].cell_type = "markdown"
    del notebook.cells[_index(notebook, "test_zero_pad")]
    index = _index(notebook, "test_conv_single_step")
    notebook.cells.insert(index, copy.deepcopy(notebook.cells[index]))
    repaired = preflight.repair(notebook, SPEC)
    notes = " ".join(repaired.notes)
    assert "test_conv_output_size was edited" in notes and "test_im2col was edited" in notes
    assert "test_zero_pad was deleted" in notes and "test_conv_single_step appears 2 times" in notes
    for grade_id, test in TESTS.items():
        (cell,) = _holders(repaired.notebook, grade_id)
        assert cell.cell_type == "code" and cell.source == test.visible_source
        assert cell.metadata["nbgrader"]["points"] == test.points and cell.metadata["nbgrader"]["locked"]
    restored = _index(repaired.notebook, "test_zero_pad")
    assert repaired.notebook.cells[restored - 1].metadata["nbgrader"]["grade_id"] == "zero_pad"
    ids = [cell.get("id") for cell in repaired.notebook.cells if cell.get("id")]
    assert len(ids) == len(set(ids))


def test_hidden_tests_in_a_test_cell_are_not_an_edit():
    repaired = preflight.repair(solution_notebook(STEM), SPEC)
    assert repaired.notes == []
    assert all("HIDDEN" not in cell.source for test in TESTS for cell in _holders(repaired.notebook, test))


def test_duplicated_exercise_cells_keep_the_last_one_edited():
    notebook = student_notebook(STEM)
    index = _index(notebook, "conv_output_size")
    first, second = copy.deepcopy(notebook.cells[index]), copy.deepcopy(notebook.cells[index])
    first.source, second.source = "def conv_output_size(*a):\n    return 1\n", "def conv_output_size(*a):\n    return 2\n"
    notebook.cells[index:index] = [first, second]  # two edited copies, then the released stub
    repaired = preflight.repair(notebook, SPEC)
    (kept,) = _holders(repaired.notebook, "conv_output_size")
    assert kept.source.endswith("return 2\n")
    assert any("3 cells are marked as the exercise cell conv_output_size; the second of them" in note
               and "last one you edited" in note for note in repaired.notes), repaired.notes


def test_an_exercise_cell_that_lost_its_grade_id_is_found_by_its_function():
    notebook = student_notebook(STEM)
    cell = notebook.cells[_index(notebook, "zero_pad")]
    del cell.metadata["nbgrader"]
    cell.source = "def zero_pad(x, pad):\n    return x\n"
    repaired = preflight.repair(notebook, SPEC)
    (kept,) = _holders(repaired.notebook, "zero_pad")
    assert kept.source.endswith("return x\n") and kept.metadata["nbgrader"]["solution"]
    assert any("zero_pad had lost its grade id" in note for note in repaired.notes)


def test_missing_or_retyped_exercise_cells_are_reported():
    notebook = student_notebook(STEM)
    notebook.cells[_index(notebook, "im2col")].cell_type = "markdown"
    del notebook.cells[_index(notebook, "zero_pad")]
    repaired = preflight.repair(notebook, SPEC)
    notes = " ".join(repaired.notes)
    assert repaired.failure is None
    assert "im2col was changed into a markdown cell" in notes and "zero_pad is missing" in notes


def test_unusable_metadata_does_not_break_the_grader():
    notebook = student_notebook(STEM)
    notebook.cells[_index(notebook, "im2col")].metadata["nbgrader"]["grade_id"] = 12
    notebook.cells[0].metadata["nbgrader"] = "not a dict"
    notebook.cells[1].metadata["tags"] = 7
    repaired = preflight.repair(notebook, SPEC)
    assert repaired.failure is None and any("im2col had lost its grade id" in note for note in repaired.notes)


@pytest.mark.parametrize("make,reason", [
    (lambda: nbformat.v4.new_notebook(), "is empty (it has no cells)"),
    (lambda: student_notebook("03-feature-detectors"), "is the notebook of another assignment (03-feature-detectors)"),
    (lambda: nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("my notes")]), "holds none of the exercise"),
])
def test_notebooks_that_cannot_be_graded(make, reason):
    repaired = preflight.repair(make(), SPEC)
    assert repaired.notebook is None and reason in repaired.failure, repaired.failure


def test_setup_edits_and_helpers_in_ungraded_cells_are_explained():
    notebook = student_notebook(STEM)
    setup = next(c for c in notebook.cells if "setup" in c.metadata.get("tags", []))
    setup.source += "\nimport scipy"
    notebook.cells.insert(2, nbformat.v4.new_code_cell("import math\nSCALE = 2\n"))
    notebook.cells[_index(notebook, "conv_output_size")].source = (
        "def conv_output_size(size, kernel, stride=1, padding=0):\n"
        "    return math.floor((size - kernel + 2 * padding) / stride) + 1\n")
    repaired = preflight.repair(notebook, SPEC)
    notes = " ".join(repaired.notes)
    assert "changes to the setup cell" in notes
    assert "uses math, which is defined only in a cell the grader does not run" in notes
    assert "SCALE" not in notes  # defined elsewhere but not used by graded code


# ---------------------------------------------------------------------- folders


def test_a_folder_with_renamed_and_extra_notebooks(tmp_path):
    folder = tmp_path / "submitted" / "ada" / STEM
    (folder / "work").mkdir(parents=True)
    _write(folder / "work", nbformat.writes(student_notebook(STEM)), "My Convolution (1).ipynb")
    _write(folder, nbformat.writes(nbformat.v4.new_notebook()), "scratch.ipynb")
    (folder / ".ipynb_checkpoints").mkdir()
    _write(folder / ".ipynb_checkpoints", nbformat.writes(student_notebook(STEM)), f"{STEM}-checkpoint.ipynb")
    loaded, notes = preflight.read_folder(folder, {STEM: SPEC})
    assert loaded[STEM].notebook is not None
    assert "work/My Convolution (1).ipynb is that notebook under another name" in loaded[STEM].notes[0]
    assert notes == [f"scratch.ipynb is not part of this assignment and was not graded (this assignment has: {STEM}.ipynb)."]


def test_a_folder_without_the_notebook(tmp_path):
    _write(tmp_path, "hello", "notes.txt")
    _write(tmp_path, nbformat.writes(nbformat.v4.new_notebook()), "other.ipynb")
    loaded, notes = preflight.read_folder(tmp_path, {STEM: SPEC})
    assert loaded[STEM].notebook is None
    assert loaded[STEM].failure == f"missing notebook {STEM}.ipynb (the submission holds: other.ipynb); submit {STEM}.ipynb"
    assert notes and "other.ipynb is not part of this assignment" in notes[0]


def test_grade_submission_carries_the_notes_into_its_results(tmp_path, monkeypatch):
    """The real sandbox: a renamed notebook with an edited test cell still earns its marks, with notes."""
    monkeypatch.setenv("AUTOGRADER_SANDBOX_ANNOUNCED", "")  # restored afterwards: later CLI runs announce again
    folder = tmp_path / "submitted" / "grace" / STEM
    folder.mkdir(parents=True)
    notebook = student_notebook(STEM)
    notebook.cells[_index(notebook, "test_conv_output_size")].source = "print('all good')"
    _write(folder, nbformat.writes(notebook), "convolution.ipynb")
    _write(folder, "[]", "broken.ipynb")
    result = grade_submission(folder, {STEM: SPEC}, seed=4)
    assert result.status == "graded" and result.score == 0 and result.max_score == SPEC.max_score
    data = result.to_dict()
    assert data["notes"] == result.notes and "broken.ipynb is not part of this assignment" in data["notes"][0]
    (nb,) = data["notebooks"]
    assert "convolution.ipynb is that notebook under another name" in nb["notes"][0]
    assert any("test_conv_output_size was edited" in note for note in nb["notes"])
    assert result.all_notes == data["notes"] + nb["notes"]
    assert nb["sandbox"] and all(check["status"] == "error" for check in nb["checks"])


# ---------------------------------------------------------------------- round two (issue 14)


def test_hidden_test_stripping_is_the_same_as_before_and_linear():
    from autograder.grader.spec import strip_hidden_tests

    def by_regex(source):
        return re.sub(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", "", source,
                      flags=re.DOTALL).rstrip()

    for source in ["a\n  ### BEGIN HIDDEN TESTS\nx\n  ### END HIDDEN TESTS  \nb\n", "x ### BEGIN HIDDEN TESTS y",
                   "### BEGIN HIDDEN TESTS a ### END HIDDEN TESTS### BEGIN HIDDEN TESTS\tb### END HIDDEN TESTS\t\n\nz",
                   " \t### BEGIN HIDDEN TESTS ### BEGIN HIDDEN TESTS ### END HIDDEN TESTS ### END HIDDEN TESTS \n"]:
        assert strip_hidden_tests(source) == by_regex(source)
    # text on which the regular expressions ran for hours (unclosed markers after blanks, blank lines)
    assert strip_hidden_tests(" " * 300_000 + "### BEGIN HIDDEN TESTS\n" * 30_000).endswith("TESTS")
    assert CHECK_LINE.findall("\n" * 300_000 + " " * 300_000 + "check(" * 30_000) == []


def test_nbgraders_checksum_is_computed_as_nbgrader_does():
    from nbgrader.utils import compute_checksum

    from autograder.grader.spec import nbgrader_checksum

    for cell in solution_notebook(STEM).cells:
        if cell.metadata.get("nbgrader"):
            assert nbgrader_checksum(cell) == compute_checksum(cell)


def test_cells_copied_from_the_instructor_are_found():
    notebook = solution_notebook(STEM)  # the source itself: every exercise cell has the markers
    assert set(preflight.copied_cells(notebook, SPEC)) == set(SPEC.solutions)
    assert preflight.copied_cells(student_notebook(STEM), SPEC) == {}


def test_links_in_a_submission_are_refused(tmp_path):
    source = tmp_path / "source.ipynb"
    nbformat.write(solution_notebook(STEM), source)
    for name, make in (("symlink", lambda path: path.symlink_to(source)), ("hard link", lambda path: os.link(source, path))):
        folder = tmp_path / name / STEM
        folder.mkdir(parents=True)
        make(folder / f"{STEM}.ipynb")
        loaded, _ = preflight.read_folder(folder, {STEM: SPEC})
        assert loaded[STEM].notebook is None and ("symbolic link" if name == "symlink" else "hard link") in \
            loaded[STEM].failure


def test_code_too_deep_for_the_parser_is_not_a_crash():
    notebook = with_cell(student_notebook(STEM), SPEC.solutions[0], "x = " + "+".join(["1"] * 200_000))
    assert preflight.repair(notebook, SPEC).notebook is not None

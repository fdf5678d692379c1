"""Pre-flight: read and check every submitted notebook before any of its code runs.

Three levels, each returning notes a student can act on:

- :func:`read_folder`: which files a submission folder holds. An expected notebook that is
  missing but present under another name (or one folder down) is graded under its proper name;
  extra notebooks are reported and not graded.
- :func:`read_notebook`: one file. Empty files, damaged JSON, JSON that is not a notebook and
  notebook formats the grader cannot read end as a failure with the reason; format 3 is
  converted; small departures from the notebook schema are noted and graded anyway.
- :func:`repair`: the cells, against the instructor's spec. Test cells that were edited,
  deleted or duplicated are restored from the released version (they are never run at grading
  time, so this costs the student nothing); an exercise cell that lost its grade id is found by
  the function it defines; duplicated exercise cells are resolved (the last one the student
  edited is graded, and the note says so); a notebook of another assignment, or one with none of
  the exercise cells, cannot be graded.

Nothing here runs student code.
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .spec import CHECK_LINE, NotebookSpec, strip_hidden_tests

RESTORE_HINT = "download the released notebook again and copy your code into it"


@dataclass
class Loaded:
    """A notebook read from disk: the notebook, or why it could not be read."""

    notebook: nbformat.NotebookNode | None
    notes: list[str] = field(default_factory=list)
    failure: str | None = None
    path: Path | None = None


@dataclass
class Repaired:
    notebook: nbformat.NotebookNode | None
    notes: list[str] = field(default_factory=list)
    failure: str | None = None


# ---------------------------------------------------------------------- files


def read_notebook(path: Path) -> Loaded:
    """Parse and validate one ``.ipynb`` file; never raises for a bad file."""
    label = path.name

    def fail(reason: str) -> Loaded:
        return Loaded(None, [], reason, path)

    try:
        data = path.read_bytes()
    except OSError as error:
        return fail(f"{label} cannot be read ({error.strerror or error})")
    if not data.strip():
        return fail(f"{label} is an empty file (0 bytes of content): the upload probably failed; "
                    "save the notebook in Jupyter and submit it again")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return fail(f"{label} is not a text file, so it is not a Jupyter notebook: submit the .ipynb file "
                    "that Jupyter saved")
    try:
        raw = json.loads(text)
    except (RecursionError, MemoryError):
        return fail(f"{label} is not a notebook Jupyter wrote: its JSON is nested too deeply to read; {RESTORE_HINT}")
    except json.JSONDecodeError as error:
        return fail(f"{label} is damaged: it is not valid JSON (line {error.lineno}, column {error.colno}: "
                    f"{error.msg}); it was probably cut short or edited outside Jupyter. Open it in Jupyter "
                    f"to check, or {RESTORE_HINT}")
    if not isinstance(raw, dict) or not ("cells" in raw or "worksheets" in raw):
        return fail(f"{label} is JSON but not a Jupyter notebook (it has no cells); submit the notebook itself")
    major = raw.get("nbformat")
    if type(major) is not int:
        return fail(f"{label} does not say which notebook format it uses (no 'nbformat' number); "
                    f"{RESTORE_HINT}")
    if major > 4 or major < 3:
        return fail(f"{label} uses notebook format {major}, which the grader cannot read; save it with "
                    "Jupyter (notebook format 4)")
    if major == 4:
        problem = _structure_problem(raw)
        if problem:
            return fail(f"{label} is not a valid notebook ({problem}); {RESTORE_HINT}")
        text = json.dumps(raw)  # with what _structure_problem normalised
    notes = []
    captured: dict = {}
    try:
        notebook = nbformat.reads(text, as_version=4, capture_validation_error=captured)
    except Exception as error:  # any way a hand-edited notebook can break nbformat's reader
        return fail(f"{label} could not be read as a notebook ({_first_line(error)}); {RESTORE_HINT}")
    if major == 3:
        notes.append(f"{label} was saved in the old notebook format 3; it was converted to format 4 for grading.")
    problem = _structure_problem(notebook)
    if problem:
        return fail(f"{label} is not a valid notebook ({problem}); {RESTORE_HINT}")
    if captured.get("ValidationError") is not None:
        error = captured["ValidationError"]
        notes.append(f"{label} does not fully follow the notebook format ({_first_line(error)[:200]}); "
                     "it was graded anyway.")
    return Loaded(notebook, notes, None, path)


def _structure_problem(notebook) -> str | None:
    """What grading relies on: a list of cells, each with a known type, a text source and metadata."""
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        return "its 'cells' is not a list"
    for index, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            return f"cell {index} has no valid cell type"
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            cell["source"] = "".join(source)
        elif not isinstance(source, str):
            return f"cell {index} has no text"
        if not isinstance(cell.get("metadata", {}), dict):
            cell["metadata"] = {}
        meta = cell.setdefault("metadata", {})
        if "nbgrader" in meta and not (isinstance(meta["nbgrader"], dict)
                                       and isinstance(meta["nbgrader"].get("grade_id", ""), str)):
            del meta["nbgrader"]  # unusable grader metadata: the cell is then found by its content
        if "tags" in meta and not (isinstance(meta["tags"], list) and all(isinstance(t, str) for t in meta["tags"])):
            del meta["tags"]
    return None


def link_problem(path: Path) -> str | None:
    """Why ``path`` may not be graded as a student's file: a symbolic link (a submitted link to the
    instructor's notebook would be read as the student's), or a hard link (one file with several
    names, such as a course file). ``None`` for an ordinary file."""
    try:
        if path.is_symlink():
            return (f"{path.name} is a symbolic link, not a file: links are never followed when grading; "
                    "submit the notebook file itself")
        if path.stat().st_nlink > 1:
            return (f"{path.name} is a hard link to another file (it has {path.stat().st_nlink} names), not "
                    "a copy of its own: links are never graded; submit the notebook file itself")
    except OSError as error:
        return f"{path.name} cannot be read ({error.strerror or error})"
    return None


def _read_submitted(path: Path) -> Loaded:
    """:func:`read_notebook` for a file of a submission folder, which may not be a link."""
    link = link_problem(path)
    return Loaded(None, [], link, path) if link else read_notebook(path)


def notebook_files(folder: Path) -> list[Path]:
    """``*.ipynb`` files in the folder and one level down, ignoring hidden folders and checkpoints (and
    folders that are symbolic links; a notebook that is a link is listed, and refused when read)."""
    found = [path for path in folder.glob("*.ipynb") if path.is_file() or path.is_symlink()]
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        if sub.is_dir() and not sub.is_symlink() and not sub.name.startswith(".") and sub.name != "__pycache__":
            found += [path for path in sub.glob("*.ipynb") if path.is_file() or path.is_symlink()]
    return sorted(path for path in found if not path.name.startswith("."))


def read_folder(folder: Path, specs: dict[str, NotebookSpec]) -> tuple[dict[str, Loaded], list[str]]:
    """Read the expected notebooks of a submission folder; return them by name, and notes about the folder."""
    found = notebook_files(folder)
    loaded: dict[str, Loaded] = {}
    used: set[Path] = set()
    for name in specs:
        path = folder / f"{name}.ipynb"
        if path.is_file() or path.is_symlink():
            loaded[name] = _read_submitted(path)
            used.add(path)
    for name, spec in specs.items():
        if name in loaded:
            continue
        best, best_overlap = None, 0
        for path in found:
            if path in used:
                continue
            candidate = _read_submitted(path)
            overlap = _overlap(candidate.notebook, spec) if candidate.notebook is not None else 0
            if path.name.lower() == f"{name}.ipynb".lower():
                overlap += 1000  # the right name in another case, or one folder down
            if overlap > best_overlap:
                best, best_overlap = candidate, overlap
        if best is not None:
            used.add(best.path)
            where = best.path.relative_to(folder).as_posix()
            best.notes.insert(0, f"{name}.ipynb was not in the submission, but {where} is that notebook under "
                                 f"another name or place; it was graded as {name}.ipynb. Submit it as "
                                 f"{name}.ipynb next time.")
            loaded[name] = best
        else:
            held = ", ".join(path.relative_to(folder).as_posix() for path in found) or "no notebooks"
            loaded[name] = Loaded(None, [], f"missing notebook {name}.ipynb (the submission holds: {held}); "
                                            f"submit {name}.ipynb")
    expected = ", ".join(f"{name}.ipynb" for name in specs)
    notes = [f"{path.relative_to(folder).as_posix()} is not part of this assignment and was not graded "
             f"(this assignment has: {expected})." for path in found if path not in used]
    return loaded, notes


def _overlap(notebook, spec: NotebookSpec) -> int:
    wanted = set(spec.solutions) | {test.grade_id for test in spec.tests}
    return len({_grade_id(cell) for cell in notebook.cells} & wanted)


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


# ---------------------------------------------------------------------- cells


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell.get("metadata"), dict) else None
    grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
    return grade_id if isinstance(grade_id, str) else None


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _is_stub(source: str) -> bool:
    return "YOUR CODE HERE" in source and "NotImplementedError" in source


def _defines(function: str) -> re.Pattern:
    return re.compile(rf"^def[ \t]+{re.escape(function)}[ \t]*\(", re.MULTILINE)


def _first_words(source: str) -> str:
    line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return line if len(line) <= 50 else line[:47] + "..."


def _ordinal(number: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(number, f"{number}th")


def repair(notebook: nbformat.NotebookNode, spec: NotebookSpec, label: str | None = None, *,
           in_place: bool = False) -> Repaired:
    """Check the cells of ``notebook`` against ``spec``; return a repaired copy and notes, or a failure.
    ``in_place``: repair ``notebook`` itself (a caller that has no further use for it as it was)."""
    label = label or f"{spec.name}.ipynb"
    if not in_place:
        notebook = copy.deepcopy(notebook)
    problem = _structure_problem(notebook)
    if problem:
        return Repaired(None, [], f"{label} is not a valid notebook ({problem}); {RESTORE_HINT}")
    cells = list(notebook.get("cells") or [])
    if not cells:
        return Repaired(None, [], f"{label} is empty (it has no cells); submit the notebook you worked in, "
                                  "after saving it in Jupyter")
    stems = {test.check_id.split(".", 1)[0] for test in spec.tests}
    solutions, tests = set(spec.solutions), {test.grade_id: test for test in spec.tests}
    declared = {match for cell in cells if cell.get("cell_type") == "code"
                for match in CHECK_LINE.findall(_source(cell))}
    other = sorted({check_id.split(".", 1)[0] for check_id in declared} - stems)
    if other and not ({check_id.split(".", 1)[0] for check_id in declared} & stems):
        return Repaired(None, [], f"{label} is the notebook of another assignment ({', '.join(other)}), not "
                                  f"{spec.name}; submit your {spec.name}.ipynb")
    notes: list[str] = []
    known = solutions | set(tests)
    present = {_grade_id(cell) for cell in cells}
    renamed_any = False

    # exercise cells: exactly one code cell per solution grade id
    for grade_id in spec.solutions:
        holders = [i for i, cell in enumerate(cells) if cell.get("cell_type") == "code" and _grade_id(cell) == grade_id]
        if not holders:
            others = [i for i, cell in enumerate(cells) if _grade_id(cell) == grade_id]
            lost = [i for i, cell in enumerate(cells) if cell.get("cell_type") == "code"
                    and _grade_id(cell) not in known and _defines(grade_id).search(_source(cell))]
            if others:
                notes.append(f"The exercise cell {grade_id} was changed into a {cells[others[0]].get('cell_type')} "
                             "cell, so its code cannot run and the exercise scores 0; change it back to a code cell.")
            elif lost:
                index = lost[-1]
                _set_grade_id(cells[index], grade_id, solution=True)
                renamed_any = True
                notes.append(f"The exercise cell {grade_id} had lost its grade id (its nbgrader metadata was changed "
                             f"or removed); the cell that defines {grade_id}(...) was graded in its place. Copy your "
                             "code back into the released cell to be safe.")
            else:
                notes.append(f"The exercise cell {grade_id} is missing from {label}, so {grade_id} scores 0; copy "
                             f"the cell from the released notebook and put your code back in.")
        elif len(holders) > 1:
            edited = [i for i in holders if not _is_stub(_source(cells[i]))]
            keep = (edited or holders)[-1]
            for i in holders:
                if i != keep:
                    _drop_grade_id(cells[i])
            which = f"the {_ordinal(holders.index(keep) + 1)} of them"
            notes.append(f"{len(holders)} cells are marked as the exercise cell {grade_id}; {which} "
                         f"(starting `{_first_words(_source(cells[keep]))}`) was graded"
                         f"{', as the last one you edited' if edited else ''}, and the others were ignored. "
                         "Keep a single copy of each exercise cell.")

    if not renamed_any and not (present & known):
        return Repaired(None, [], f"{label} holds none of the exercise or test cells of {spec.name} "
                                  f"({', '.join(spec.solutions)}): it is not this assignment's notebook, or they "
                                  f"were deleted; {RESTORE_HINT}")

    # test cells: exactly one, as released
    drop: set[int] = set()
    for test in spec.tests:
        holders = [i for i, cell in enumerate(cells) if _grade_id(cell) == test.grade_id]
        if not holders:
            cell = _code_cell(test.visible_source)
            cell["id"] = test.grade_id  # (made unique below if the student reused it)
            _set_grade_id(cell, test.grade_id, points=test.points)
            function = test.check_id.split(".", 1)[1]
            after = next((i for i, c in enumerate(cells) if _grade_id(c) == function), len(cells) - 1)
            cells.insert(after + 1, cell)
            drop = {i + 1 if i > after else i for i in drop}
            notes.append(f"The test cell {test.grade_id} was deleted; it was restored from the released notebook "
                         "(test cells are never run from your file, so this changes nothing in your score).")
            continue
        keep = holders[0]
        if len(holders) > 1:
            drop.update(holders[1:])
            notes.append(f"The test cell {test.grade_id} appears {len(holders)} times; the copies were removed.")
        cell = cells[keep]
        if cell.get("cell_type") != "code" or _normal(strip_hidden_tests(_source(cell))) != _normal(test.visible_source):
            notes.append(f"The test cell {test.grade_id} was edited; it was restored from the released notebook "
                         "(test cells are locked: edits to them are ignored).")
        restored = _code_cell(test.visible_source)
        restored["metadata"] = copy.deepcopy(cell.get("metadata", {}))
        if "id" in cell:
            restored["id"] = cell["id"]
        _set_grade_id(restored, test.grade_id, points=test.points)
        cells[keep] = restored
    cells = [cell for i, cell in enumerate(cells) if i not in drop]

    setup = [_normal(_source(c)) for c in cells if "setup" in c.get("metadata", {}).get("tags", [])]
    if setup and setup != [_normal(source) for source in spec.setup]:
        notes.append("Your changes to the setup cell (the one with the imports) were ignored: grading runs the "
                     "released setup cell. Put anything else your functions need inside their exercise cells.")
    notes += _helpers_outside(cells, spec)
    _unique_cell_ids(cells)
    notebook["cells"] = cells
    return Repaired(notebook, notes, None)


def _code_cell(source: str) -> nbformat.NotebookNode:
    return nbformat.from_dict({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                               "source": source})


def _set_grade_id(cell, grade_id: str, solution: bool = False, points: float | None = None) -> None:
    meta = cell.setdefault("metadata", nbformat.NotebookNode())
    old = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
    meta["nbgrader"] = {**old, "grade_id": grade_id, "solution": solution, "grade": not solution,
                        "locked": not solution, "schema_version": 3, "task": False,
                        **({"points": points} if points is not None else {})}
    if solution:
        meta["nbgrader"].pop("points", None)


def _drop_grade_id(cell) -> None:
    cell.get("metadata", {}).pop("nbgrader", None)


def _unique_cell_ids(cells) -> None:
    seen: set[str] = set()
    for index, cell in enumerate(cells):
        cell_id = cell.get("id")
        if cell_id is None:
            continue
        while cell_id in seen:
            cell_id = f"{cell['id']}-{index}"
            index += 1
        cell["id"] = cell_id
        seen.add(cell_id)


# ---------------------------------------------------------------------- code the grader will not run


@functools.lru_cache(maxsize=256)
def _names(source: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]] | None:
    """(names bound anywhere, names read anywhere, names bound at the top level) of a cell, or None. Parsed
    once per process for each source (the setup cells are every submission's)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # magics, broken code, or code nested
        return None  # past what the parser can follow: nothing to say
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    top = set()
    for node in tree.body:
        for child in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [node]:
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                top.add(child.id)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                top.add(child.name)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                top.update((alias.asname or alias.name).split(".")[0] for alias in child.names)
    return frozenset(bound), frozenset(read), frozenset(top)


def _helpers_outside(cells, spec: NotebookSpec) -> list[str]:
    """Notes for names the graded code reads that only an ungraded cell defines (NameError at grading)."""
    graded_bound, graded_read, ungraded = set(dir(builtins)), set(), []
    for source in spec.setup:
        names = _names(source)
        if names:
            graded_bound |= names[0]
    solutions = set(spec.solutions)
    for cell in cells:
        if cell.get("cell_type") != "code" or "setup" in cell.get("metadata", {}).get("tags", []):
            continue
        grade_id = _grade_id(cell)
        if grade_id in solutions:
            names = _names(_source(cell))
            if names:
                graded_bound |= names[0]
                graded_read |= names[1]
        elif grade_id is None:
            ungraded.append(_source(cell))
    free = graded_read - graded_bound
    if not free:  # the usual case: nothing to look for in the other cells
        return []
    elsewhere: dict[str, str] = {}
    for source in ungraded:
        names = _names(source)
        for name in (names[2] & free) if names else ():
            elsewhere.setdefault(name, _first_words(source))
    return [f"Your exercise code uses {name}, which is defined only in a cell the grader does not run "
            f"(starting `{elsewhere[name]}`); at grading time it will be undefined. Move it into the exercise "
            "cell that uses it." for name in sorted(elsewhere)]


# ---------------------------------------------------------------------- the instructor's code, copied

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def copied_cells(notebook: nbformat.NotebookNode, spec: NotebookSpec) -> dict[str, str]:
    """The exercise cells (by grade id) that hold the instructor's own code, with the evidence: nbgrader's
    solution or hidden-test markers (which only the source notebook has; the released one never does),
    or the nbgrader checksum of the source's solution cell (metadata copied along with the cell). Such
    cells score nothing; the grader says so to the student and the instructor."""
    found: dict[str, str] = {}
    for cell in notebook.get("cells") or []:
        grade_id = _grade_id(cell)
        if cell.get("cell_type") != "code" or grade_id not in spec.solutions or grade_id in found:
            continue
        source = _source(cell)
        markers = [marker for marker in MARKERS if marker in source]
        meta = cell.get("metadata", {}).get("nbgrader")
        checksum = meta.get("checksum") if isinstance(meta, dict) else None
        if markers:
            found[grade_id] = f"it holds nbgrader's {markers[0]!r} marker, found only in the instructor's notebook"
        elif checksum and checksum == spec.source_checksums.get(grade_id):
            found[grade_id] = "it carries the checksum of the instructor's solution cell (copied with its metadata)"
    return found

"""One source, many products.

Every chapter is authored once, as a MyST-Markdown notebook in ``solutions/``. From it this
module derives, with nbgrader's own preprocessors:

- the student notebook ``chapters/<stem>.ipynb`` (no solutions, no hidden tests, committed);
- the book page ``book/<stem>.ipynb``: the student view, with every output produced by
  executing the reference solution (shown as expected output). Hidden tests are removed
  *before* execution and solutions are replaced by the student stub *after* it, so neither
  reaches the book;
- the instructor's page ``_build/instructor-src/book/<stem>.ipynb``: the book page plus, after
  each exercise, its solution and its hidden tests in collapsed dropdowns (``make book-instructor``);
- the nbgrader source notebook ``<course>/source/<stem>/<stem>.ipynb`` (see :mod:`course`).

Publishing a page also turns each figure's caption paragraph into the figure's caption and checks
the chapter's conventions (captions, alt text, widgets with a static counterpart): see
``docs/architecture.md``, "Conventions for chapter authors". Building the HTML is in :mod:`book`.

Nothing derived is edited by hand: ``make book`` regenerates everything.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jupytext
import nbformat
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
CHAPTERS = ROOT / "chapters"
PAGES = ROOT / "book"
CACHE = ROOT / "_build" / "exec-cache"
INSTRUCTOR_SOURCE = ROOT / "_build" / "instructor-src"  # the instructor edition's Jupyter Book project
WIDGET_TAG = "widget"  # tags a cell that shows an ipywidget (see docs/architecture.md)
WIDGET_TIMEOUT = 30  # seconds for a widget cell (see _execute_once)
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class BuildError(RuntimeError):
    """A chapter failed to build; the message names the chapter and the cell."""


# ---------------------------------------------------------------------- reading sources


def sources() -> list[Path]:
    return sorted(SOLUTIONS.glob("[0-9][0-9]-*.md"))


def read_source(path: Path) -> nbformat.NotebookNode:
    """The chapter's source as a notebook: narrative, solutions and hidden tests included."""
    notebook = jupytext.read(path)
    notebook.metadata = nbformat.NotebookNode(
        kernelspec=KERNELSPEC, language_info={"name": "python"},
        **({"title": notebook.metadata["title"]} if "title" in notebook.metadata else {}))
    for index, cell in enumerate(notebook.cells):  # stable ids keep derived files reproducible
        cell.id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"{path.stem[:2]}-{index:03d}"
        cell.metadata.pop("editable", None)
        cell.metadata.pop("deletable", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def is_assignment(notebook: nbformat.NotebookNode) -> bool:
    return any("nbgrader" in cell.metadata for cell in notebook.cells)


def _apply(notebook, *preprocessors) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(notebook)
    resources: dict = {}
    for preprocessor in preprocessors:
        notebook, resources = preprocessor().preprocess(notebook, resources)
    return notebook


# ---------------------------------------------------------------------- derived notebooks


def student_version(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What ``nbgrader generate_assignment`` releases (same preprocessors, no database)."""
    return _apply(source, LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
                  ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata)


def page_input(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook that is executed for the book: solutions kept, hidden tests removed."""
    return _apply(source, ClearHiddenTests, ClearMarkScheme)


def page_version(executed: nbformat.NotebookNode, stem: str | None = None) -> nbformat.NotebookNode:
    """The executed page with solutions replaced by the student stub; outputs are kept.

    With ``stem``, the page is also published (see :func:`publish`): figures get their captions
    and alt text, and the chapter's conventions are checked.
    """
    page = _apply(executed, ClearSolutions)
    return publish(page, stem) if stem else page


def instructor_version(executed: nbformat.NotebookNode, source: nbformat.NotebookNode,
                       stem: str) -> nbformat.NotebookNode:
    """The book page plus, after each exercise, its solution and its hidden tests, collapsed.

    The page itself is the student's (stubs in the exercise cells, outputs of the reference
    solution); each solution cell is followed by a dropdown with the full solution, and each test
    cell by a dropdown with the whole test cell as the grader has it, hidden tests included.
    """
    page = page_version(executed, stem)
    originals = {cell.id: cell for cell in source.cells}
    cells = []
    for cell in page.cells:
        cells.append(cell)
        meta = cell.metadata.get("nbgrader", {})
        original = originals.get(cell.get("id"))
        if original is None or cell.cell_type != "code":
            continue
        if meta.get("solution"):
            title, kind = f"Solution: `{meta['grade_id']}`", "instructor-solution"
        elif meta.get("grade"):
            title, kind = f"Test cell with hidden tests: `{meta['grade_id']}`", "instructor-hidden-tests"
        else:
            continue
        cells.append(nbformat.v4.new_markdown_cell(
            f"::::{{dropdown}} {title}\n:class-container: {kind}\n\n"
            f"````python\n{original.source.rstrip()}\n````\n::::",
            id=f"{cell.id}-instructor"[:64]))
    page.cells = cells
    return page


# ---------------------------------------------------------------------- publishing a page

# The caption paragraph that follows a figure's cell: "*Figure 2.4 (animation): a 3×3 filter ...*"
CAPTION = re.compile(r"\*(Figure (\d+)\.(\d+)(?: \([^()]+\))?):[ \n]+(.+)\*", re.DOTALL)
HEADING = re.compile(r"^(#{1,6}) +(.+?) *$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
EXERCISE = re.compile(r"Exercise (\d+)\.(\d+): \S")
CDN_LINK = re.compile(r"<link\b[^>]*\bhref=[\"']https?://[^>]*>\s*", re.IGNORECASE)
IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)", re.IGNORECASE)
FROZEN_WIDGET = (":::{note}\nIn the book this explorer stays at its first setting: its controls respond in Jupyter, "
                 "when you run the chapter's notebook. The figure below shows the settings worth comparing.\n:::")


def figure_outputs(cell) -> list:
    """The outputs of a code cell that are figures: images, and HTML animations (``to_jshtml``)."""
    found = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if output.get("output_type") not in ("display_data", "execute_result"):
            continue
        if any(mime.startswith("image/") for mime in data) or "_anim_img" in str(data.get("text/html", "")):
            found.append(output)
    return found


def is_widget_cell(cell) -> bool:
    return WIDGET_TAG in cell.get("metadata", {}).get("tags", [])


def structure_problems(page: nbformat.NotebookNode, stem: str) -> list[str]:
    """Learning objectives first, a summary last, exercises numbered "Exercise N.k" in order."""
    chapter, problems = int(stem[:2]), []
    headings = [(index, len(match.group(1)), match.group(2)) for index, cell in enumerate(page.cells)
                if cell.cell_type == "markdown" for match in HEADING.finditer(FENCE.sub("", cell.source))]
    sections = [(index, text) for index, level, text in headings if level == 2]
    first_code = next((i for i, cell in enumerate(page.cells) if cell.cell_type == "code"), len(page.cells))
    if not sections or sections[0][1] != "Learning objectives" or sections[0][0] > first_code:
        problems.append("the first section must be `## Learning objectives`, before any code")
    names = [text for _, text in sections]
    if not names or (names[-1] != "Summary" and names[-2:] != ["Summary", "Further reading"]):
        problems.append("the last section must be `## Summary` (optionally followed by `## Further reading`)")
    exercises = [(index, text) for index, level, text in headings if text.startswith("Exercise")]
    solutions = [i for i, cell in enumerate(page.cells) if cell.metadata.get("nbgrader", {}).get("solution")]
    if len(exercises) != len(solutions):
        problems.append(f"{len(solutions)} exercise(s) but {len(exercises)} `### Exercise {chapter}.k: ...` heading(s)")
    for k, ((at, text), solution) in enumerate(zip(exercises, solutions), start=1):
        match = EXERCISE.match(text)
        if not match or (int(match.group(1)), int(match.group(2))) != (chapter, k):
            problems.append(f"heading {text!r} should read `Exercise {chapter}.{k}: <title>`")
        elif any(at < index < solution and level <= 3 for index, level, _ in headings) or solution < at:
            problems.append(f"the code of Exercise {chapter}.{k} is not right under its heading")
    return problems


def publish(page: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """Prepare an executed page for the book; raise :class:`BuildError` listing broken conventions.

    - A figure's caption is the paragraph ``*Figure N.M: ...*`` right after the figure's cell. It
      becomes the figure's caption (MyST-NB ``mystnb.figure``, named ``fig-N-M``), so the HTML has
      ``<figure>`` with ``<figcaption>``; figures are numbered 1, 2, ... in each chapter.
    - The figure's cell carries its alt text in ``mystnb.image.alt``; it is copied into HTML
      animations too. One figure per cell.
    - A widget cell (tagged ``widget``) is followed by a code cell that draws its static
      counterpart, a captioned figure.
    - The chapter opens with ``## Learning objectives``, closes with ``## Summary`` (and
      ``## Further reading``), and numbers its exercises "Exercise N.k" (:func:`structure_problems`).
    - HTML outputs lose stylesheet links to the web (matplotlib's animations link Font Awesome 4
      from a CDN; the theme's own Font Awesome draws their buttons).
    """
    page = copy.deepcopy(page)
    chapter = int(stem[:2])
    problems: list[str] = []
    cells = page.cells
    figures = 0
    frozen = []  # widget cells, each followed in the book by a note that it does not respond there
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        first_line = cell.source.strip().splitlines()[0][:50] if cell.source.strip() else "empty"
        where = f"code cell {index + 1} ({first_line})"
        for output in cell.outputs:
            html = output.get("data", {}).get("text/html")
            if html is not None:
                output["data"]["text/html"] = CDN_LINK.sub("", "".join(html) if isinstance(html, list) else html)
        if is_widget_cell(cell):
            following = next((c for c in cells[index + 1:] if c.cell_type == "code"), None)
            if following is None or not figure_outputs(following):
                problems.append(f"{where} is a widget cell but the next code cell draws no figure: follow every "
                                "widget with a code cell that draws its static counterpart")
            frozen.append(cell)
            continue
        shown = figure_outputs(cell)
        if not shown:
            continue
        figures += 1
        if len(shown) > 1:
            problems.append(f"{where} draws {len(shown)} figures: draw one figure per cell")
        alt = str(cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")).strip()
        if not alt:
            problems.append(f"{where} draws a figure but has no alt text: add `mystnb: {{image: {{alt: ...}}}}` "
                            "to the cell's metadata")
        following = cells[index + 1] if index + 1 < len(cells) else None
        paragraph, _, rest = (following.source.lstrip("\n").partition("\n\n") if following is not None
                              and following.cell_type == "markdown" else ("", "", ""))
        match = CAPTION.fullmatch(paragraph.strip())
        if not match:
            problems.append(f"{where} draws a figure but the next cell does not start with its caption, a paragraph "
                            f"`*Figure {chapter}.{figures}: ...*`")
            continue
        label, number = match.group(1), (int(match.group(2)), int(match.group(3)))
        if number != (chapter, figures):
            problems.append(f"{where}: caption says {label}, expected Figure {chapter}.{figures} "
                            "(figures are numbered in order within the chapter)")
        figure = {"caption": f"**{label}:** {match.group(4).strip()}", "name": f"fig-{chapter}-{figures}"}
        cell.metadata.setdefault("mystnb", {})["figure"] = figure
        for output in shown:
            html = output.get("data", {}).get("text/html")
            if html is not None and alt:
                escaped = alt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
                output["data"]["text/html"] = IMG_WITHOUT_ALT.sub(f'<img alt="{escaped}"', html)
        following.source = rest.lstrip("\n")
    problems += structure_problems(page, stem)
    if problems:
        raise BuildError(f"{stem}: the page breaks the conventions for chapter authors (docs/architecture.md):\n  - "
                         + "\n  - ".join(problems))
    published = []
    for cell in cells:
        if cell.cell_type != "markdown" or cell.source.strip():
            published.append(cell)
        if any(cell is widget for widget in frozen):
            published.append(nbformat.v4.new_markdown_cell(FROZEN_WIDGET, id=f"{cell.get('id', 'widget')}-frozen"[:64]))
    page.cells = published
    return page


def dumps(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


# ---------------------------------------------------------------------- execution with a cache


# What a page's kernel can import from the package: a change anywhere else (the grader's sandbox,
# the command line, the book tooling) must not throw away the execution cache.
KERNEL_SIDE = ("__init__.py", "notebook.py", "codec.py", "data.py", "zoo.py", "exercises.py", "checks", "reference",
               "grading/__init__.py", "grading/grade.py")


def _code_fingerprint() -> str:
    from .fingerprint import digest_files, source_files

    return digest_files(source_files(KERNEL_SIDE) + [ROOT / "requirements.txt"], ROOT).hexdigest()


def cache_key(notebook: nbformat.NotebookNode, fingerprint: str) -> str:
    """What the outputs depend on: the code cells, in order, and the kernel-side code.

    Markdown cells and cell metadata (tags, captions, alt text) do not change what the kernel
    computes, so editing a chapter's prose re-executes nothing.
    """
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    if any("exercises.load" in source for source in code):  # it runs earlier chapters' exercise cells
        code += [cell.source for path in sources() for cell in read_source(path).cells if cell.cell_type == "code"]
    text = json.dumps({"code": code, "kernel": notebook.metadata.get("kernelspec", {}).get("name")})
    return hashlib.sha256((text + fingerprint).encode()).hexdigest()[:16]


def with_outputs(page: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``page`` with the outputs (and widget state) of ``executed``, which has the same code cells."""
    page = copy.deepcopy(page)
    done = [cell for cell in executed.cells if cell.cell_type == "code"]
    todo = [cell for cell in page.cells if cell.cell_type == "code"]
    if [cell.source for cell in done] != [cell.source for cell in todo]:
        raise BuildError("the cached execution does not match the page's code cells")
    for cell, result in zip(todo, done, strict=True):
        cell.outputs, cell.execution_count = result.outputs, result.execution_count
    if "widgets" in executed.metadata:
        page.metadata["widgets"] = executed.metadata["widgets"]
    return page


def execute(notebook: nbformat.NotebookNode, stem: str, timeout: int = 180, attempts: int = 3) -> nbformat.NotebookNode:
    """Execute in a fresh kernel, in ``book/``; raise :class:`BuildError` naming the failing cell.

    A kernel that stalls or dies (rare, under heavy load) gets one fresh retry; an error raised by
    a cell is reported at once.
    """
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    for attempt in range(1, attempts + 1):
        try:
            return _execute_once(notebook, stem, timeout)
        except BuildError:  # a cell raised: the chapter is wrong, not the kernel
            raise
        except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as error:
            if attempt == attempts:
                raise BuildError(f"{stem}: the kernel stalled or died while executing ({error})") from None
            print(f"{stem}: kernel stalled or died ({type(error).__name__}); retrying in a fresh kernel", flush=True)
    raise AssertionError("unreachable")


def _execute_once(notebook: nbformat.NotebookNode, stem: str, timeout: int) -> nbformat.NotebookNode:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = copy.deepcopy(notebook)
    PAGES.mkdir(exist_ok=True)
    def cell_timeout(cell) -> int:
        # Widget cells (tagged `widget` by convention) finish in a second or two, but now and then
        # their execute_reply arrives late (an ipywidgets/nbclient race we could reproduce about
        # once in twenty runs): give up on them quickly, and `execute` retries.
        return WIDGET_TIMEOUT if is_widget_cell(cell) else timeout

    client = NotebookClient(notebook, timeout=timeout, timeout_func=cell_timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(PAGES)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])  # no loopback-TCP warning
    try:
        client.execute()
    except CellExecutionError as error:
        raise BuildError(f"{stem}: a cell raised while executing the reference solution:\n{error}") from None
    return notebook


def _execute_job(args):
    stem, text, threads = args
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)  # the kernel inherits this: parallel pages share the cores
    os.environ["AUTOGRADER_EXERCISES"] = str(SOLUTIONS)  # exercises.load gives the reference solutions
    started = time.monotonic()
    notebook = execute(nbformat.reads(text, as_version=4), stem)
    return stem, dumps(notebook), time.monotonic() - started


# ---------------------------------------------------------------------- the whole build


def build(check: bool = False, jobs: int | None = None, log=print, instructor: bool = False) -> list[str]:
    """Derive every product. With ``check``, write nothing to ``chapters/``; fail if it is stale.

    Returns the stems of the chapters. Prints what it reused from the execution cache. With
    ``instructor``, also writes the instructor edition's pages under ``_build/instructor-src/book``.
    """
    fingerprint = _code_fingerprint()
    CACHE.mkdir(parents=True, exist_ok=True)
    stale, todo, stems = [], [], []
    inputs, pages, sources_ = {}, {}, {}
    for path in sources():
        stem = path.stem
        stems.append(stem)
        source = read_source(path)
        sources_[stem] = source
        if is_assignment(source):
            text = dumps(student_version(source))
            target = CHAPTERS / f"{stem}.ipynb"
            if check:
                if not target.exists() or target.read_text() != text:
                    stale.append(str(target.relative_to(ROOT)))
            elif write_if_changed(target, text):
                log(f"derive: wrote {target.relative_to(ROOT)}")
        page = page_input(source)
        pages[stem] = page
        key = cache_key(page, fingerprint)
        inputs[stem] = key
        if not (CACHE / f"{stem}.{key}.ipynb").exists():
            todo.append((stem, dumps(page)))
    if stale:
        raise BuildError("these student notebooks are stale (regenerate with `make book` and commit them): "
                         + ", ".join(stale))
    reused = len(stems) - len(todo)
    log(f"execution cache: reusing {reused} of {len(stems)} page(s)"
        + (f"; executing {', '.join(stem for stem, _ in todo)}" if todo else " (nothing to execute)"))
    if todo:
        workers = jobs or min(len(todo), os.cpu_count() or 1)
        threads = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for stem, text, seconds in pool.map(_execute_job, [(*job, threads) for job in todo]):
                (CACHE / f"{stem}.{inputs[stem]}.ipynb").write_text(text)
                log(f"executed {stem} in {seconds:.1f} s")
    problems = []
    for stem, key in inputs.items():
        executed = with_outputs(pages[stem], nbformat.reads((CACHE / f"{stem}.{key}.ipynb").read_text(),
                                                            as_version=4))
        try:
            write_if_changed(PAGES / f"{stem}.ipynb", dumps(page_version(executed, stem)))
            if instructor:
                write_if_changed(INSTRUCTOR_SOURCE / "book" / f"{stem}.ipynb",
                                 dumps(instructor_version(executed, sources_[stem], stem)))
        except BuildError as error:
            problems.append(str(error))
    for old in CACHE.glob("*.ipynb"):  # keep the cache small: one entry per chapter
        stem, key = old.name.split(".")[:2]
        if inputs.get(stem) != key:
            old.unlink()
    if problems:
        raise BuildError("\n".join(problems))
    return stems


def book(html_builder_args: list[str] | None = None, check: bool = False, log=print,
         instructor: bool = False) -> None:
    """Derive, execute and build the book into ``_build/html`` (``instructor``: ``_build/instructor``)."""
    from . import book as book_module

    book_module.build_book(check=check, log=log, instructor=instructor, extra_args=html_builder_args)


def json_dumps(data) -> str:
    return json.dumps(data, indent=1, sort_keys=True)

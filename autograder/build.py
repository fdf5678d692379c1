"""One source, many products.

Every chapter is authored once, as a MyST-Markdown notebook in ``solutions/``. From it this
module derives, with nbgrader's own preprocessors:

- the student notebook ``chapters/<stem>.ipynb`` (no solutions, no hidden tests, committed);
- the book page ``book/<stem>.ipynb``: the student view, with every output produced by
  executing the reference solution (shown as expected output). Hidden tests are removed
  *before* execution and solutions are replaced by the student stub *after* it, so neither
  reaches the book;
- the nbgrader source notebook ``<course>/source/<stem>/<stem>.ipynb`` (see :mod:`course`).

Nothing derived is edited by hand: ``make book`` regenerates everything.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
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


def page_version(executed: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed page with solutions replaced by the student stub; outputs are kept."""
    return _apply(executed, ClearSolutions)


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
    package = ROOT / "autograder"
    files = sorted(path for name in KERNEL_SIDE for path in
                   ((package / name).rglob("*.py") if (package / name).is_dir() else [package / name]))
    digest = hashlib.sha256()
    for path in files + [ROOT / "requirements.txt"]:
        digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def cache_key(notebook: nbformat.NotebookNode, fingerprint: str) -> str:
    text = dumps(notebook)
    if "exercises.load" in text:  # the page runs earlier chapters' solutions (autograder.exercises)
        text += "".join(path.read_text() for path in sources())
    return hashlib.sha256((text + fingerprint).encode()).hexdigest()[:16]


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
        # Widget cells (tagged remove-output by convention) finish in a second or two, but now and
        # then their execute_reply arrives late (an ipywidgets/nbclient race we could reproduce
        # about once in twenty runs): give up on them quickly, and `execute` retries.
        return WIDGET_TIMEOUT if "remove-output" in cell.get("metadata", {}).get("tags", []) else timeout

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


def build(check: bool = False, jobs: int | None = None, log=print) -> list[str]:
    """Derive every product. With ``check``, write nothing to ``chapters/``; fail if it is stale.

    Returns the stems of the chapters. Prints what it reused from the execution cache.
    """
    fingerprint = _code_fingerprint()
    CACHE.mkdir(parents=True, exist_ok=True)
    stale, todo, stems = [], [], []
    inputs = {}
    for path in sources():
        stem = path.stem
        stems.append(stem)
        source = read_source(path)
        if is_assignment(source):
            text = dumps(student_version(source))
            target = CHAPTERS / f"{stem}.ipynb"
            if check:
                if not target.exists() or target.read_text() != text:
                    stale.append(str(target.relative_to(ROOT)))
            elif write_if_changed(target, text):
                log(f"derive: wrote {target.relative_to(ROOT)}")
        page = page_input(source)
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
    for stem, key in inputs.items():
        executed = nbformat.reads((CACHE / f"{stem}.{key}.ipynb").read_text(), as_version=4)
        write_if_changed(PAGES / f"{stem}.ipynb", dumps(page_version(executed)))
    for old in CACHE.glob("*.ipynb"):  # keep the cache small: one entry per chapter
        stem, key = old.name.split(".")[:2]
        if inputs.get(stem) != key:
            old.unlink()
    return stems


def finish_html(html_dir: Path, log=print) -> None:
    """Make each page's download button give the student notebook."""
    for path in sources():
        student = CHAPTERS / f"{path.stem}.ipynb"
        target = html_dir / "_sources" / "book" / f"{path.stem}.ipynb"
        if student.exists() and target.exists():
            target.write_text(student.read_text())
    log(f"book: {html_dir / 'index.html'}")


def book(html_builder_args: list[str] | None = None, check: bool = False, log=print) -> None:
    import subprocess

    build(check=check, log=log)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT),
               "--warningiserror", "--nitpick", "--keep-going", *(html_builder_args or [])]
    log("$ " + " ".join(command[1:]))
    completed = subprocess.run(command, cwd=ROOT, check=False)
    if completed.returncode != 0:
        raise BuildError("jupyter-book reported warnings or errors (see above)")
    finish_html(ROOT / "_build" / "html", log=log)


def json_dumps(data) -> str:
    return json.dumps(data, indent=1, sort_keys=True)

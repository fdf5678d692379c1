"""Executing the book's pages, with a cache keyed by what the outputs depend on.

Each page runs in a fresh kernel, two at a time, with the threads split between them. The
executed notebook is cached under ``_build/exec-cache/``, keyed by the page's code cells and a
digest of the folders a page's kernel can import (``autograder/core`` and ``autograder/kernel``)
and ``requirements.txt`` (:func:`cache_key`): editing prose re-executes nothing, and nothing a
page runs can be left out of the key.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor

import nbformat

from ..core.digest import digest_files, digest_folders
from ..kernel.exercises import ENV as EXERCISES_ENV
from ..kernel.explorer import ENV as EXPLORER_ENV
from .chapters import write_student_notebooks
from .clean import stray_outputs
from .derive import instructor_version, page_input, page_version, student_version
from .expected import write_expected
from .images import shrink_figures
from .sources import (
    CACHE,
    INSTRUCTOR_SOURCE,
    PAGES,
    ROOT,
    SOLUTIONS,
    BuildError,
    dumps,
    is_assignment,
    read_source,
    sources,
    write_if_changed,
)

KERNEL_FOLDERS = ("core", "kernel")  # what a page's kernel can import from the package
# Run by each page's kernel before the page: progress bars are for students running a notebook, not
# for the book. tqdm.auto's notebook bars ignore TQDM_DISABLE (they pass disable=False), so the page
# kernels get the plain bars, which TQDM_DISABLE turns off (autograder/book/clean.py stops the build
# on any bar left). Every PNG figure records the size of its smallest text (autograder/kernel/figures.py;
# tests/test_browser.py checks it as displayed). Part of the cache key, with how the figures are stored (FIGURES).
KERNEL_SETUP = ("import tqdm.auto, tqdm.std; tqdm.auto.tqdm, tqdm.auto.trange = tqdm.std.tqdm, tqdm.std.trange; "
                "import autograder.kernel.figures; autograder.kernel.figures.measure()")
FIGURES = "images.smaller_png 2"  # change it when autograder/book/images.py stores figures differently


def _code_fingerprint() -> str:
    digest = digest_files([ROOT / "requirements.txt"], ROOT)
    digest.update(f"{KERNEL_SETUP}\n{FIGURES}".encode())
    return digest_folders(*KERNEL_FOLDERS, digest=digest).hexdigest()


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


def execute(notebook: nbformat.NotebookNode, stem: str, timeout: int = 900) -> nbformat.NotebookNode:
    """Execute in a fresh kernel, in ``book/``; raise :class:`BuildError` naming the failing cell.

    ``timeout`` (seconds a cell may run) is a safety net for a cell that hangs, set well above what
    the slowest cell takes with both cores busy. A cell that raises, runs past it, or whose kernel
    dies stops the build: nothing is retried, so a stall is seen rather than hidden (the one cause
    of stalled replies found so far is fixed in :mod:`.notebook_client`).
    """
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from .notebook_client import NotebookClient

    notebook = copy.deepcopy(notebook)
    PAGES.mkdir(exist_ok=True)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(PAGES)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR",  # no loopback-TCP warning
                                             f"--IPKernelApp.exec_lines={KERNEL_SETUP}"])
    try:
        client.execute()
    except CellExecutionError as error:
        raise BuildError(f"{stem}: a cell raised while executing the reference solution:\n{error}") from None
    except (CellTimeoutError, DeadKernelError) as error:
        raise BuildError(f"{stem}: the kernel stalled or died while executing ({error})") from None
    return notebook


def _execute_job(args):
    stem, text, threads = args
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)  # the kernel inherits this: parallel pages share the cores
    os.environ[EXERCISES_ENV] = str(SOLUTIONS)  # exercises.load gives the reference solutions
    os.environ[EXPLORER_ENV] = "1"  # explorers precompute their frames (autograder/kernel/explorer.py)
    os.environ["TQDM_DISABLE"] = "1"  # progress bars are for students running a notebook (see KERNEL_SETUP)
    started = time.monotonic()
    notebook = execute(nbformat.reads(text, as_version=4), stem)
    shrink_figures(notebook)  # the cached page keeps the smaller figures (autograder/book/images.py)
    return stem, dumps(notebook), time.monotonic() - started


# ---------------------------------------------------------------------- the whole build


def build_pages(check: bool = False, jobs: int | None = None, log=print, instructor: bool = False,
                force: bool = False) -> list[str]:
    """Derive every product. With ``check``, write nothing to ``chapters/`` (or to the shipped expected
    values, ``autograder/core/expected/``); fail if it is stale.

    A student notebook that was edited since it was generated stops the build before anything is
    written, unless ``force`` (:mod:`.chapters`).

    Returns the stems of the chapters. Prints what it reused from the execution cache. With
    ``instructor``, also writes the instructor edition's pages under ``_build/instructor-src/book``.
    """
    fingerprint = _code_fingerprint()
    CACHE.mkdir(parents=True, exist_ok=True)
    todo, stems = [], []
    inputs, pages, sources_, students = {}, {}, {}, {}
    for path in sources():
        stem = path.stem
        stems.append(stem)
        source = read_source(path)
        sources_[stem] = source
        if is_assignment(source):
            students[f"{stem}.ipynb"] = dumps(student_version(source))
        page = page_input(source)
        pages[stem] = page
        key = cache_key(page, fingerprint)
        inputs[stem] = key
        if not (CACHE / f"{stem}.{key}.ipynb").exists():
            todo.append((stem, dumps(page)))
    write_student_notebooks(students, check=check, force=force, log=log)
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
        problems += stray_outputs(executed, stem)  # one line per cell: clean pages (autograder/book/clean.py)
        try:
            write_if_changed(PAGES / f"{stem}.ipynb", dumps(page_version(executed, stem)))
            if instructor:
                write_if_changed(INSTRUCTOR_SOURCE / "book" / f"{stem}.ipynb",
                                 dumps(instructor_version(executed, sources_[stem], stem)))
        except BuildError as error:
            problems.append(str(error))
    # the expected values check() uses in Jupyter (after the pages: this loads torch, which a pool
    # forked later should not inherit; the pages' outputs are the same with or without them)
    write_expected(stems, check=check, log=log)
    for old in CACHE.glob("*.ipynb"):  # keep the cache small: one entry per chapter
        stem, key = old.name.split(".")[:2]
        if inputs.get(stem) != key:
            old.unlink()
    if problems:
        raise BuildError("\n".join(problems))
    return stems

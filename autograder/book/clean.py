"""Clean pages: what an executed page shows must be the chapter's, not the build machine's.

:func:`stray_outputs` scans the outputs a reader sees (streams, and the representation MyST-NB
renders of each rich output) for what the machine that executed the page left there: a
function's or an object's repr (``<function f at 0x7f...>``), a warning or anything on stderr,
a temporary path, a progress bar or a Jupyter widget, and a timing of the build ("trained in
7.0 s", "executed in", "12.3 it/s"). The build stops on any of them with one line per cell,
naming the page and the cell (:func:`autograder.book.execute.build_pages`).

How to fix a page: end a cell whose last value is not meant to be shown with ``;`` (or assign it,
``_ = ...``); silence a warning where it is raised (not with a filter that hides every warning);
print results without the time they took; in a loop, let the build's page kernels drop progress
bars (``tqdm.auto``, see :data:`autograder.book.execute.KERNEL_SETUP`) rather than printing your own.
"""

from __future__ import annotations

import re

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# The representation MyST-NB renders, first found first (its default render priority for HTML).
RENDER_PRIORITY = (WIDGET_VIEW, "application/javascript", "text/html", "image/svg+xml", "image/png",
                   "image/jpeg", "text/markdown", "text/latex", "text/plain")

PROGRESS_BAR = re.compile(r"\d+%\|[^|\n]*\||\|\s*\d+/\d+ \[|\[\d+:\d\d(?::\d\d)?<")  # tqdm's
# (what it is, pattern) in the text a reader sees; the first that matches names the problem.
STRAY = (
    ("a function's repr", re.compile(r"<(?:function|bound method|built-in (?:function|method)) [^\n]*?>")),
    ("an object's repr", re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>")),
    ("a warning", re.compile(r"\b(?:\w*Warning|WARNING):")),
    ("a temporary path", re.compile(r"(?<![\w.])(?:/private)?(?:/tmp/|/var/folders/)|\\AppData\\Local\\Temp\\")),
    ("a progress bar", PROGRESS_BAR),
    ("a timing of the build", re.compile(r"\bexecuted in\b|\btook \d|\d(?:\.\d+)? ?(?:it/s|s/it)\b"
                                         r"|\bin \d+(?:\.\d+)? ?(?:s|sec|seconds|ms)\b")),
)
TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE)
DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")


def cell_label(index: int, cell) -> str:
    """How the build names a page's cell: its place among the page's cells and its first line."""
    first_line = cell.source.strip().splitlines()[0][:50] if cell.source.strip() else "empty"
    return f"code cell {index + 1} ({first_line})"


def shown(output) -> tuple[str, str]:
    """(kind, text) of what the book shows of one output: ``stdout``/``stderr``/``error``, or the MIME
    type it renders, with its text (HTML without tags, scripts or embedded images)."""
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("name", "stdout"), _text(output.get("text", ""))
    if kind == "error":
        return "error", "\n".join(output.get("traceback", []))
    data = output.get("data", {})
    mime = next((mime for mime in RENDER_PRIORITY if mime in data), "")
    if mime == WIDGET_VIEW:
        return mime, _text(data.get("text/plain", ""))
    if mime == "text/html":
        return mime, TAG.sub(" ", DATA_URI.sub("", _text(data[mime])))
    return mime, _text(data[mime]) if mime.startswith("text/") else ""


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def problem(output) -> tuple[str, str] | None:
    """(what, excerpt) for the first stray thing ``output`` shows, or None."""
    kind, text = shown(output)
    if kind == WIDGET_VIEW:
        what = ("a progress bar (a Jupyter widget)" if PROGRESS_BAR.search(text)
                else "a Jupyter widget, which the book cannot show (use explorer.interact)")
        return what, text.strip()
    for what, pattern in STRAY:
        match = pattern.search(text)
        if match:
            return what, text[max(0, match.start() - 30):match.end() + 30].strip()
    if kind == "stderr" and text.strip():
        return "output on stderr", text.strip()
    return None


def stray_outputs(page, stem: str) -> list[str]:
    """One line per cell of the executed ``page`` that shows something stray (see the module's docstring)."""
    found = []
    for index, cell in enumerate(page.cells):
        if cell.cell_type != "code":
            continue
        problems: dict[str, str] = {}
        for what, excerpt in filter(None, map(problem, cell.get("outputs", []))):
            problems.setdefault(what, excerpt)  # the first of each kind
        if problems:
            shows = "; ".join(f"{what}: {' '.join(excerpt.split())[:80]!r}" for what, excerpt in problems.items())
            found.append(f"{stem}, {cell_label(index, cell)}: shows {shows}")
    return found

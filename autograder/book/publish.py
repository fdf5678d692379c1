"""Publishing an executed page: figure captions, alt text, widgets, and the chapter's conventions.

A page that breaks a convention stops the build with a list of what to fix (see
``docs/architecture.md``, "Conventions for chapter authors").
"""

from __future__ import annotations

import copy
import re

import nbformat

from ..core.checks.questions import is_answer
from .clean import cell_label
from .sources import BuildError

WIDGET_TAG = "widget"  # tags a cell that shows an ipywidget (see docs/architecture.md)

# The caption paragraph that follows a figure's cell: "*Figure 2.4 (animation): a 3×3 filter ...*"
CAPTION = re.compile(r"\*(Figure (\d+)\.(\d+)(?: \([^()]+\))?):[ \n]+(.+)\*", re.DOTALL)
HEADING = re.compile(r"^(#{1,6}) +(.+?) *$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
EXERCISE = re.compile(r"Exercise (\d+)\.(\d+): \S")
CDN_LINK = re.compile(r"<link\b[^>]*\bhref=[\"']https?://[^>]*>\s*", re.IGNORECASE)
IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)", re.IGNORECASE)
# matplotlib's animation slider (to_jshtml) has no label: a screen reader would announce a bare number
ANIMATION_SLIDER = re.compile(r'<input\b(?![^>]*\baria-label=)(?=[^>]*\bclass="anim-slider")', re.IGNORECASE)
EXPLORER = re.compile(r"<div class=\"cnn-explorer\"")  # the book's explorer (autograder/kernel/explorer.py)
EXPLORER_CALL = re.compile(r"^\s*explorer\.interact\(", re.MULTILINE)


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


def shows_explorer(cell) -> bool:
    """Whether the executed cell shows a book explorer (precomputed frames that respond without a kernel)."""
    return any(EXPLORER.search(str(output.get("data", {}).get("text/html", ""))) for output in cell.get("outputs", []))


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
    problems += _numbered(headings, _solution_cells(page, questions=False), "Exercise", chapter)
    problems += _numbered(headings, _solution_cells(page, questions=True), "Question", chapter)
    return problems


def _solution_cells(page: nbformat.NotebookNode, questions: bool) -> list[int]:
    """The indices of the exercises' solution cells, or (``questions``) of the questions' answer cells."""
    return [i for i, cell in enumerate(page.cells) if cell.metadata.get("nbgrader", {}).get("solution")
            and is_answer(cell.metadata["nbgrader"].get("grade_id", "")) == questions]


def _numbered(headings: list, solutions: list[int], kind: str, chapter: int) -> list[str]:
    """Each solution cell right under its own heading "<kind> N.k: title", k = 1, 2, ... in order."""
    problems = []
    exercises = [(index, text) for index, level, text in headings if text.startswith(kind)]
    if len(exercises) != len(solutions):
        problems.append(f"{len(solutions)} {kind.lower()}(s) but {len(exercises)} `### {kind} {chapter}.k: ...` "
                        "heading(s)")
    for k, ((at, text), solution) in enumerate(zip(exercises, solutions), start=1):
        match = re.match(rf"{kind} (\d+)\.(\d+): \S", text)
        if not match or (int(match.group(1)), int(match.group(2))) != (chapter, k):
            problems.append(f"heading {text!r} should read `{kind} {chapter}.{k}: <title>`")
        elif any(at < index < solution and level <= 3 for index, level, _ in headings) or solution < at:
            problems.append(f"the code of {kind} {chapter}.{k} is not right under its heading")
    return problems


def publish(page: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """Prepare an executed page for the book; raise :class:`BuildError` listing broken conventions.

    - A figure's caption is the paragraph ``*Figure N.M: ...*`` right after the figure's cell. It
      becomes the figure's caption (MyST-NB ``mystnb.figure``, named ``fig-N-M``), so the HTML has
      ``<figure>`` with ``<figcaption>``; figures are numbered 1, 2, ... in each chapter.
    - The figure's cell carries its alt text in ``mystnb.image.alt``; it is copied into HTML
      animations too. One figure per cell.
    - A widget cell (tagged ``widget``) and an explorer (``explorer.interact``) are followed by a
      code cell that draws their static counterpart, a captioned figure (for print). An explorer
      responds in the book; a raw ipywidget cannot be shown there (:mod:`.clean` stops the build).
      An ``explorer.interact`` cell whose output is not the book's explorer (its frames were not
      drawn) is an error.
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
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        where = cell_label(index, cell)
        for output in cell.outputs:
            html = output.get("data", {}).get("text/html")
            if html is not None:
                output["data"]["text/html"] = CDN_LINK.sub("", "".join(html) if isinstance(html, list) else html)
        explorer = shows_explorer(cell)
        if EXPLORER_CALL.search(cell.source) and not explorer:
            problems.append(f"{where} calls explorer.interact but shows no book explorer: execute the page with "
                            "AUTOGRADER_EXPLORER_FRAMES=1 (python -m autograder book does)")
        if is_widget_cell(cell) or explorer:
            following = next((c for c in cells[index + 1:] if c.cell_type == "code"), None)
            if following is None or not figure_outputs(following):
                problems.append(f"{where} is a widget cell but the next code cell draws no figure: follow every "
                                "widget with a code cell that draws its static counterpart")
            continue  # a raw ipywidget stops the build (autograder/book/clean.py): the book has no widget manager
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
                html = IMG_WITHOUT_ALT.sub(f'<img alt="{escaped}"', html)
                output["data"]["text/html"] = ANIMATION_SLIDER.sub('<input aria-label="Animation frame"', html)
        following.source = rest.lstrip("\n")
    problems += structure_problems(page, stem)
    if problems:
        raise BuildError(f"{stem}: the page breaks the conventions for chapter authors (docs/architecture.md):\n  - "
                         + "\n  - ".join(problems))
    published = []
    for cell in cells:
        if cell.cell_type != "markdown" or cell.source.strip():
            published.append(cell)
    page.cells = published
    return page

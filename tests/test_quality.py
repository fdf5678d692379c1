"""Quality gates for every chapter: learning objectives first, exercises numbered by chapter, a
summary at the end, every figure captioned ("Figure N.k") with alt text, every widget followed by
its static counterpart. Checked on the sources (what authors write) and on the built HTML (what
readers get); the conventions are in docs/architecture.md, "Conventions for chapter authors".
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nbformat
import pytest
from conftest import ROOT

from autograder.book import publish, sources
from autograder.core.checks.questions import is_answer

HTML = ROOT / "_build" / "html"
STEMS = [path.stem for path in sources.sources()]
HEADING = re.compile(r"^(#{1,6}) +(.+?) *$", re.MULTILINE)
EXERCISE = re.compile(r"^Exercise (\d+)\.(\d+): \S")
CAPTION = re.compile(r"^\*Figure (\d+)\.(\d+)(?: \([^()]+\))?: ", re.MULTILINE)
WIDGET_CALL = re.compile(r"\binteract(?:ive|_manual)?\(|\bwidgets\.[A-Z]\w*\(|\bdisplay\(\s*widgets\.")


def _chapter(stem: str) -> int:
    return int(stem[:2])


def _cells(stem: str):
    return sources.read_source(sources.SOLUTIONS / f"{stem}.md").cells


def _headings(stem: str) -> list[tuple[int, int, str]]:
    """(cell index, level, text) of every Markdown heading, in order."""
    return [(index, len(match.group(1)), match.group(2))
            for index, cell in enumerate(_cells(stem)) if cell.cell_type == "markdown"
            for match in HEADING.finditer(re.sub(r"^(```|~~~).*?^\1", "", cell.source, flags=re.MULTILINE | re.DOTALL))]


# ---------------------------------------------------------------------- the sources


@pytest.mark.parametrize("stem", STEMS)
def test_learning_objectives_come_first(stem):
    headings = _headings(stem)
    sections = [h for h in headings if h[1] == 2]
    assert sections and sections[0][2] == "Learning objectives", f"{stem}: the first section must be " \
        f"'## Learning objectives', not {sections[:1]}"
    first_code = next(i for i, cell in enumerate(_cells(stem)) if cell.cell_type == "code")
    assert sections[0][0] <= first_code, f"{stem}: the learning objectives come before any code"
    cell = _cells(stem)[sections[0][0]]
    after = cell.source.split("## Learning objectives", 1)[1]
    assert len(re.findall(r"^- ", after, re.MULTILINE)) >= 3, f"{stem}: list at least three objectives"


@pytest.mark.parametrize("stem", STEMS)
def test_summary_comes_last(stem):
    sections = [text for _, level, text in _headings(stem) if level == 2]
    tail = sections[-2:] if sections[-1] == "Further reading" else sections[-1:]
    assert tail[0] == "Summary", f"{stem}: the last section must be '## Summary' (then optionally " \
        f"'## Further reading'), not {sections[-2:]}"
    summary = next(cell.source for cell in _cells(stem) if "## Summary" in cell.source).split("## Summary", 1)[1]
    assert len(re.findall(r"^- ", summary, re.MULTILINE)) >= 3, f"{stem}: summarise in at least three points"


def _solutions(stem: str, questions: bool) -> list[int]:
    """The indices of the exercises' solution cells, or (``questions``) of the questions' answer cells."""
    return [index for index, cell in enumerate(_cells(stem)) if cell.metadata.get("nbgrader", {}).get("solution")
            and is_answer(cell.metadata["nbgrader"]["grade_id"]) == questions]


@pytest.mark.parametrize("kind", ["Exercise", "Question"])
@pytest.mark.parametrize("stem", STEMS)
def test_exercises_are_numbered_by_chapter_one_heading_per_exercise(stem, kind):
    """Each solution cell sits under its own heading "Exercise N.k: title", k = 1, 2, ... in order; each
    question's answer cell under its own "Question N.k: title", numbered on its own."""
    numbered = re.compile(rf"^{kind} (\d+)\.(\d+): \S")
    headings = [(index, text) for index, level, text in _headings(stem) if text.startswith(kind)]
    solutions = _solutions(stem, questions=kind == "Question")
    assert len(headings) == len(solutions), f"{stem}: {len(headings)} {kind} headings, {len(solutions)} cells"
    for k, ((at, text), solution) in enumerate(zip(headings, solutions, strict=True), start=1):
        match = numbered.match(text)
        assert match and (int(match.group(1)), int(match.group(2))) == (_chapter(stem), k), \
            f"{stem}: expected '{kind} {_chapter(stem)}.{k}: ...', found {text!r}"
        following = headings[k][0] if k < len(headings) else len(_cells(stem))
        assert at < solution < following, f"{stem}: {kind} {_chapter(stem)}.{k}'s code is not under its heading"
        assert not any(level <= 3 and at < index < solution for index, level, _ in _headings(stem)), \
            f"{stem}: another heading between '{kind} {_chapter(stem)}.{k}' and its code"


@pytest.mark.parametrize("stem", STEMS)
def test_figure_captions_are_numbered_and_figures_have_alt_text(stem):
    """Each caption paragraph "*Figure N.k: ...*" follows the cell that draws it, which has alt text."""
    cells = _cells(stem)
    numbers = []
    for index, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        for match in CAPTION.finditer(cell.source):
            numbers.append((int(match.group(1)), int(match.group(2))))
            assert match.start() == len(cell.source) - len(cell.source.lstrip()), \
                f"{stem}: Figure {match.group(1)}.{match.group(2)}'s caption must open the cell after the figure"
            figure = cells[index - 1]
            assert figure.cell_type == "code", f"{stem}: Figure {numbers[-1]} has no code cell before it"
            alt = str(figure.metadata.get("mystnb", {}).get("image", {}).get("alt", ""))
            assert len(alt) >= 30 and not alt.lower().startswith(("figure", "image of", "picture of")), \
                f"{stem}: Figure {numbers[-1]} needs alt text that describes the picture (mystnb.image.alt): {alt!r}"
    assert numbers == [(_chapter(stem), k) for k in range(1, len(numbers) + 1)], numbers


@pytest.mark.parametrize("stem", STEMS)
def test_every_widget_has_a_static_counterpart(stem):
    """Widget code is tagged `widget`, and the next code cell draws a captioned figure of the same idea."""
    cells = _cells(stem)
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        tagged = publish.is_widget_cell(cell)
        assert tagged or not WIDGET_CALL.search(cell.source), \
            f"{stem}: a cell that shows a widget must be tagged `widget`:\n{cell.source[:200]}"
        if tagged:
            following = next(i for i in range(index + 1, len(cells)) if cells[i].cell_type == "code")
            assert following + 1 < len(cells) and CAPTION.match(cells[following + 1].source.lstrip()), \
                f"{stem}: the widget in cell {index} needs a static counterpart: a captioned figure right after it"


# ---------------------------------------------------------------------- the built HTML


class _Page(HTMLParser):
    """Sections (id, heading text), exercise headings, and figures (caption text, images) of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.sections: list[str] = []
        self.h3: list[str] = []
        self.figures: list[dict] = []
        self.loose_images: list[dict] = []
        self.explorer_images: list[dict] = []  # the pictures of explorers (autograder/kernel/explorer.py)
        self._explorer: int | None = None  # the depth of the stack inside the explorer's element
        self._heading = None
        self._caption = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("img", "br", "hr", "input", "link", "meta", "source"):
            self._empty(tag, attributes)
            return
        self.stack.append(tag)
        if tag == "section" and len([t for t in self.stack if t == "section"]) == 2:
            self.sections.append(attributes.get("id", ""))
        elif tag == "h3":
            self._heading = []
        elif tag == "figure":
            self.figures.append({"caption": "", "images": [], "animation": False})
        elif tag == "figcaption":
            self._caption = []
        elif tag == "div" and "animation" in (attributes.get("class") or "").split() and "figure" in self.stack:
            self.figures[-1]["animation"] = True
        elif tag == "div" and "cnn-explorer" in (attributes.get("class") or "").split() and self._explorer is None:
            self._explorer = len(self.stack)

    def _empty(self, tag, attributes):
        if tag != "img" or "article" not in self.stack:
            return
        image = {"alt": attributes.get("alt") or "", "src": attributes.get("src", "")}
        if self._explorer is not None:
            self.explorer_images.append(image)
            return
        (self.figures[-1]["images"] if "figure" in self.stack else self.loose_images).append(image)

    def handle_startendtag(self, tag, attrs):
        self._empty(tag, dict(attrs))

    def handle_endtag(self, tag):
        if tag not in self.stack:
            return
        while self.stack.pop() != tag:
            pass
        if self._explorer is not None and len(self.stack) < self._explorer:
            self._explorer = None
        if tag == "h3" and self._heading is not None:
            self.h3.append("".join(self._heading).replace("#", "").strip())
            self._heading = None
        elif tag == "figcaption" and self._caption is not None:
            self.figures[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None

    def handle_data(self, data):
        for collector in (self._heading, self._caption):
            if collector is not None:
                collector.append(data)


@pytest.fixture(scope="module")
def pages(book_build) -> dict[str, _Page]:
    parsed = {}
    for stem in STEMS:
        parser = _Page()
        parser.feed((HTML / "book" / f"{stem}.html").read_text())
        parsed[stem] = parser
    return parsed


@pytest.mark.parametrize("stem", STEMS)
def test_html_opens_with_objectives_and_closes_with_a_summary(pages, stem):
    sections = pages[stem].sections
    assert sections[0] == "learning-objectives", sections
    assert sections[-1] == "summary" or sections[-2:] == ["summary", "further-reading"], sections


@pytest.mark.parametrize("stem", STEMS)
def test_html_numbers_exercises_by_chapter(pages, stem):
    exercises = [text for text in pages[stem].h3 if text.startswith("Exercise")]
    spec = _solutions(stem, questions=False)
    assert [EXERCISE.match(text).groups() for text in exercises] == \
        [(str(_chapter(stem)), str(k)) for k in range(1, len(spec) + 1)], exercises


@pytest.mark.parametrize("stem", STEMS)
def test_html_figures_have_numbered_captions_and_alt_text(pages, stem):
    page = pages[stem]
    assert not page.loose_images, f"{stem}: images outside a captioned figure: {page.loose_images}"
    assert all(len(image["alt"]) >= 30 for image in page.explorer_images), \
        f"{stem}: an explorer's picture has no real alt text: {page.explorer_images}"
    assert page.figures, f"{stem} has no figure"
    for k, figure in enumerate(page.figures, start=1):
        assert re.match(rf"Figure {_chapter(stem)}\.{k}(?: \([^()]+\))?: \S", figure["caption"]), \
            f"{stem}: figure {k} has caption {figure['caption'][:60]!r}"
        assert len(figure["images"]) == 1, f"{stem}: Figure {_chapter(stem)}.{k} should hold one image"
        alt = figure["images"][0]["alt"]
        assert len(alt) >= 30 and not re.search(r"\.(png|jpe?g|svg|gif)$|_images/", alt), \
            f"{stem}: Figure {_chapter(stem)}.{k} has no real alt text: {alt!r}"
    captions = [(match.group(1), match.group(2)) for cell in _cells(stem) if cell.cell_type == "markdown"
                for match in CAPTION.finditer(cell.source)]
    assert len(captions) == len(page.figures), f"{stem}: every caption paragraph became a figure caption"
    book_page = nbformat.read(sources.PAGES / f"{stem}.ipynb", as_version=4)
    assert not any(CAPTION.search(cell.source) for cell in book_page.cells if cell.cell_type == "markdown"), \
        f"{stem}: a caption paragraph was left in the text of the page"


# ---------------------------------------------------------------------- the gate itself


def _figure_cell(alt: str | None = "A bar chart of ten probabilities, one per digit class.", images: int = 1):
    cell = nbformat.v4.new_code_cell("plt.show()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
                    for _ in range(images)]
    if alt is not None:
        cell.metadata["mystnb"] = {"image": {"alt": alt}}
    return cell


OBJECTIVES = "## Learning objectives\n\n- one\n- two\n- three"
SUMMARY = "## Summary\n\n- one\n- two\n- three"


def _page(*cells, objectives: str = OBJECTIVES, summary: str = SUMMARY) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(objectives), *cells,
                                           nbformat.v4.new_markdown_cell(summary)])


def _exercise(heading: str):
    solution = nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
                                         metadata={"nbgrader": {"solution": True, "grade_id": "f"}})
    return nbformat.v4.new_markdown_cell(heading), solution


def test_publish_turns_the_caption_paragraph_into_the_figure_caption():
    page = publish.publish(_page(_figure_cell(), nbformat.v4.new_markdown_cell(
        "*Figure 3.1: the source's example output.\nSecond line.*\n\nThe text goes on.")), "03-x")
    figure = page.cells[1].metadata["mystnb"]["figure"]
    assert figure == {"caption": "**Figure 3.1:** the source's example output.\nSecond line.", "name": "fig-3-1"}
    assert page.cells[2].source == "The text goes on."


@pytest.mark.parametrize(("cells", "message"), [
    ((_figure_cell(alt=None), nbformat.v4.new_markdown_cell("*Figure 3.1: a chart.*")), "no alt text"),
    ((_figure_cell(), nbformat.v4.new_markdown_cell("A chart.")), "does not start with its caption"),
    ((_figure_cell(), nbformat.v4.new_markdown_cell("*Figure 3.2: a chart.*")), "expected Figure 3.1"),
    ((_figure_cell(images=2), nbformat.v4.new_markdown_cell("*Figure 3.1: a chart.*")), "one figure per cell"),
    ((nbformat.v4.new_code_cell("interact(f)", metadata={"tags": ["widget"]}), nbformat.v4.new_code_cell("x = 1")),
     "static counterpart"),
])
def test_publish_refuses_a_page_that_breaks_the_conventions(cells, message):
    with pytest.raises(sources.BuildError, match=message):
        publish.publish(_page(*cells), "03-x")


@pytest.mark.parametrize(("page", "message"), [
    (_page(objectives="## What you will learn\n\n- a\n- b\n- c"), "`## Learning objectives`"),
    (_page(summary="## Wrap-up\n\n- a\n- b\n- c"), "`## Summary`"),
    (_page(*_exercise("### Exercise 3.2: f")), "should read `Exercise 3.1: <title>`"),
    (_page(*_exercise("### Exercise 3.1: f")[1:]), "1 exercise\\(s\\) but 0"),
    (_page(*_exercise("### Exercise 3.1: f")[:1], nbformat.v4.new_markdown_cell("### Aside"),
           *_exercise("x")[1:]), "not right under its heading"),
])
def test_publish_refuses_a_chapter_without_its_structure(page, message):
    with pytest.raises(sources.BuildError, match=message):
        publish.publish(page, "03-x")


def test_publish_accepts_a_well_formed_exercise():
    publish.publish(_page(*_exercise("### Exercise 3.1: the identity")), "03-x")


def test_publish_drops_stylesheets_from_the_web_and_gives_animations_their_alt_text_and_label():
    cell = _figure_cell()
    cell.outputs = [nbformat.v4.new_output("execute_result", execution_count=1, data={"text/html": (
        '<link rel="stylesheet" href="https://maxcdn.example/font-awesome.min.css">\n'
        '<div class="animation"><img id="_anim_img1"><input id="_anim_slider1" type="range" class="anim-slider">'
        '</div>'), "text/plain": "<IPython.core.display.HTML>"})]
    page = publish.publish(_page(cell, nbformat.v4.new_markdown_cell("*Figure 3.1 (animation): frames.*")), "03-x")
    html = page.cells[1].outputs[0]["data"]["text/html"]
    assert "https://" not in html and "<link" not in html
    assert '<img alt="A bar chart of ten probabilities, one per digit class." id="_anim_img1">' in html
    assert '<input aria-label="Animation frame" id="_anim_slider1" type="range" class="anim-slider">' in html

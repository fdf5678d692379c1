"""The published book in a real browser, with the network off: every page, formula, image, widget and explorer.

Playwright (from PyPI) drives Debian's Chromium at /usr/bin/chromium, headless; Playwright never
downloads a browser here. Pages are opened from ``file://``, as a reader who unzipped the book
would, and every request that is not for a local file is aborted and counted as a failure. One
browser visits every page once (module fixture); the tests then look at what each visit saw.
A screenshot of every page goes to ``_build/screenshots/``.

Without Chromium these tests are skipped, loudly; with ``CI=true`` that is a failure instead.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
from conftest import ASSIGNMENTS, ROOT
from test_build import MARKERS, solution_lines

from autograder.book import sources
from autograder.kernel.figures import NO_TEXT, recorded_px

HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--no-sandbox"]
STEMS = [path.stem for path in sources.sources()]
PAGES = [f"book/{stem}.html" for stem in STEMS] + ["index.html", "search.html", "genindex.html"]
LOCAL = ("file:", "data:", "blob:", "about:")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
EXTERNAL: dict[int, list[str]] = {}  # per browser context: every request that tried to leave the book
LOADED: dict[int, list[str]] = {}  # per browser context: every local file a page asked for
WIDGET_MANAGER = "_vendor/html-manager/"  # the widget manager and its icon fonts

DESKTOP, PHONE = 1366, 390  # the widths the book is read at (px)
BROWSER_WAIT_MS = 300_000  # the most any wait for the page may take (a hung page fails; a slow one passes)
# The pictures the book's script (autograder/book/static/cnn-book.js) keeps legible and opens full size.
FIGURES = "article .cell_output img, article figure img, article img.cnn-explorer-frame"
# Code cells (exercise templates and their docstrings included) and text outputs.
CODE_BLOCKS = "article div.highlight pre, article .cell_output pre"

pytestmark = pytest.mark.slow


def _require_chromium() -> None:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    message = (f"SKIPPED: browser tests of the book need Chromium at {CHROMIUM} (Debian: apt-get install "
               "chromium); Playwright is never allowed to download a browser")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message.replace("SKIPPED", "FAILED") + " (CI=true: a missing Chromium is a failure)")
    print(f"\n{'*' * 100}\n*** {message}\n{'*' * 100}", file=sys.stderr)
    pytest.skip(message)


@dataclass
class Visit:
    """What the browser saw on one page."""

    errors: list = field(default_factory=list)  # console errors and uncaught exceptions
    failed: list = field(default_factory=list)  # requests that failed (aborted ones included)
    external: list = field(default_factory=list)  # requests that tried to leave the book
    loaded: list = field(default_factory=list)  # the local files the page loaded (paths)
    facts: dict = field(default_factory=dict)


# For each line of a code or output block that wraps: how deep the line starts (spaces), where its second
# row starts against its first (px), and the width of one column (px).
HANGS_JS = """(block => Array.from(block.querySelectorAll('.cnn-line')).map(line => {
  const range = document.createRange();
  range.selectNodeContents(line);
  const rows = new Map();
  for (const box of range.getClientRects()) {
    if (box.width > 0) { rows.set(Math.round(box.top), Math.min(rows.get(Math.round(box.top)) ?? Infinity, box.left)); }
  }
  if (rows.size < 2) { return null; }
  const [first, second] = [...rows.keys()].sort((a, b) => a - b);
  const probe = document.createElement('span');
  probe.textContent = '0'.repeat(10);
  block.appendChild(probe);
  const column = probe.getBoundingClientRect().width / 10;
  probe.remove();
  return {lead: line.textContent.match(/^ */)[0].length, offset: rows.get(second) - rows.get(first), column,
          text: line.textContent.slice(0, 60)};
}).filter(Boolean))"""

# Collected in the page after MathJax has typeset and the widgets have rendered.
FACTS_JS = """() => {
  const article = document.querySelector('article') || document.body;
  const copy = article.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .highlight, .cell_input').forEach(e => e.remove());
  const img = i => ({src: i.currentSrc.slice(0, 120), ok: i.complete && i.naturalWidth > 0 && i.naturalHeight > 0,
                     alt: i.getAttribute('alt')});
  const views = Array.from(document.querySelectorAll('script[type="WIDGET_VIEW"]'));
  return {
    text: copy.innerText,
    math: document.querySelectorAll('.math').length,
    mathTypeset: Array.from(document.querySelectorAll('.math')).filter(e => e.querySelector('mjx-container')).length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    images: Array.from(document.images).map(img),
    widgetViews: views.length,
    widgets: views.map(s => {
      const area = s.parentElement.querySelector('.widget-subarea');
      return area ? {model: JSON.parse(s.textContent).model_id, height: area.getBoundingClientRect().height,
                     controls: area.querySelectorAll('.widget-slider, .widget-dropdown, .widget-inline-hbox').length,
                     images: Array.from(area.querySelectorAll('img')).map(img),
                     text: area.innerText.trim().length} : null;
    }),
    explorers: Array.from(document.querySelectorAll('.cnn-explorer')).map(e => ({
      image: e.querySelector('img') ? img(e.querySelector('img')) : null,
      controls: Array.from(e.querySelectorAll('input, select')).map(c => ({
        tag: c.tagName.toLowerCase(), type: c.type,
        label: (c.labels && c.labels.length) ? c.labels[0].innerText.trim() : ''}))})),
    animations: Array.from(document.querySelectorAll('.animation')).map(a => ({
      icons: Array.from(a.querySelectorAll('button i')).filter(i => {
        const glyph = getComputedStyle(i, '::before');
        return !['none', 'normal', '""'].includes(glyph.content) && /Font Awesome/.test(glyph.fontFamily) &&
          i.offsetWidth > 0;
      }).length,
      buttons: a.querySelectorAll('button').length, frame: img(a.querySelector('img')),
      slider: a.querySelector('input[type=range]') ? a.querySelector('input[type=range]').getAttribute('aria-label') : null})),
    iconFont: Array.from(document.fonts).some(f => /Font Awesome 6 Free/.test(f.family) && f.status === 'loaded'),
    download: (document.querySelector('a.btn-download-source-button') || {}).href || null,
    downloadAs: document.querySelector('a.btn-download-source-button')
      ? document.querySelector('a.btn-download-source-button').getAttribute('download') : null,
    layout: {
      width: document.documentElement.scrollWidth, viewport: window.innerWidth,
      figures: Array.from(document.querySelectorAll('FIGURES')).filter(i => i.naturalWidth > 0).map(i => ({
        src: i.getAttribute('src').slice(0, 60), natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
        url: i.currentSrc, name: ((i.closest('figure') && i.closest('figure').querySelector('figcaption'))
          ? i.closest('figure').querySelector('figcaption').innerText : (i.alt || '')).trim().slice(0, 70)})),
      blocks: Array.from(document.querySelectorAll('CODE_BLOCKS')).map(b => ({
        scrolls: b.scrollWidth > b.clientWidth + 1, text: b.innerText.split('\\n')[0].slice(0, 60),
        lines: b.dataset.cnnLines ? Number(b.dataset.cnnLines) : null, hangs: HANGS_JS(b)})),
      equations: Array.from(document.querySelectorAll('article mjx-container[display="true"]')).map(m => ({
        fits: m.scrollWidth <= m.clientWidth + 1, overflow: getComputedStyle(m).overflowX,
        cue: getComputedStyle(m).backgroundImage !== 'none', right: m.getBoundingClientRect().right,
        tex: (m.parentElement.getAttribute('data-tex') || m.parentElement.className).slice(0, 60)})),
    },
    launch: Array.from(document.querySelectorAll('.dropdown-launch-buttons a')).map(a => a.href),
  };
}""".replace("WIDGET_VIEW", WIDGET_VIEW).replace("FIGURES", FIGURES).replace("CODE_BLOCKS", CODE_BLOCKS)
FACTS_JS = FACTS_JS.replace("HANGS_JS", HANGS_JS)


def _open(context, url: str) -> tuple:
    visit = Visit()
    page = context.new_page()
    page.on("console", lambda message: visit.errors.append(f"console: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: visit.errors.append(f"uncaught: {error}"))
    page.on("requestfailed", lambda request: visit.failed.append(f"{request.url} ({request.failure})"))
    page.goto(url, wait_until="load")
    if page.locator(".math").count():  # Sphinx includes MathJax on the pages that have formulas
        page.wait_for_function("() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise")
        page.evaluate("async () => { await window.MathJax.startup.promise; }")
    views = page.locator(f'script[type="{WIDGET_VIEW}"]').count()
    if views:  # the widget manager renders each view next to its script, after the page has loaded
        page.wait_for_function(
            """n => document.querySelectorAll('.widget-subarea').length >= n &&
                    Array.from(document.querySelectorAll('.widget-subarea img')).every(i => i.complete)""",
            arg=views)
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
    # the book's script (when the page has it) has sized every figure; the figure tests say if it has not
    if page.locator('script[src*="cnn-book.js"]').count():
        page.wait_for_function("sel => Array.from(document.querySelectorAll(sel)).every(i => !i.naturalWidth || "
                               "i.dataset.cnnLegible)", arg=FIGURES)
    return page, visit


def _visit(context, url: str) -> tuple:
    """Open ``url`` and collect its facts once the document has its body.

    Now and then (seen under load, and once on an idle machine in a full run) the document had no
    body when the facts were collected, although the load event had fired and every wait above had
    passed; that visit is made again in a fresh page, once, and a second failure fails the tests.
    """
    from playwright.sync_api import Error

    for attempt in (1, 2):
        page, visit = _open(context, url)
        try:
            page.wait_for_function("() => document.readyState === 'complete' && document.body !== null")
            visit.facts = page.evaluate(FACTS_JS)
            return page, visit
        except Error as error:
            page.close()
            if attempt == 2:
                raise
            print(f"browser: {url}: collecting the facts failed ({str(error).splitlines()[0]}); visiting again",
                  file=sys.stderr)
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def browser():
    """Chromium, headless (no book needed: some tests serve their own pages)."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def context(browser, book_build):
    """A desktop-wide offline context, once the book is built (conftest's ``book_build``)."""
    desktop = _offline_context(browser, DESKTOP)
    yield desktop
    desktop.close()


def _offline_context(browser, width: int):
    """A browser context ``width`` px wide in which every request that leaves the book is aborted and counted."""
    context = browser.new_context(viewport={"width": width, "height": 900}, service_workers="block")
    # every wait is for something the page must do; with the cores busy it may take minutes, not seconds
    context.set_default_timeout(BROWSER_WAIT_MS)
    context.set_default_navigation_timeout(BROWSER_WAIT_MS)
    external: list[str] = []
    loaded: list[str] = []

    def offline(route):
        if route.request.url.startswith(LOCAL):
            if route.request.url.startswith("file:"):
                loaded.append(route.request.url)
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    EXTERNAL[id(context)] = external
    LOADED[id(context)] = loaded
    return context


@pytest.fixture(scope="module")
def visits(context) -> dict[str, Visit]:
    """Open every page of the book once; keep what each visit saw; screenshot it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    seen = {}
    for name in PAGES:
        before, files = len(EXTERNAL[id(context)]), len(LOADED[id(context)])
        page, visit = _visit(context, (HTML / name).as_uri())
        visit.external = EXTERNAL[id(context)][before:]
        visit.loaded = sorted({unquote(urlparse(url).path) for url in LOADED[id(context)][files:]})
        page.screenshot(path=str(SCREENSHOTS / (name.replace("/", "-").removesuffix(".html") + ".png")),
                        full_page=True)
        page.close()
        seen[name] = visit
    return seen


# TeX that MathJax should have replaced: $...$, $$, \(...\), \[...\] and the commands this book uses.
RAW_TEX = re.compile(r"\$\$|(?<![\w$])\$[^$\s][^$\n]*\$|\\\(.*?\\\)|\\\[.*?\\\]|"
                     r"\\(?:frac|tfrac|times|cdot|sum|partial|mathbb|mathbf|text|sqrt|ln|exp|alpha|eta|le|ge)\b",
                     re.DOTALL)


def _source_has_math(stem: str) -> bool:
    text = (sources.SOLUTIONS / f"{stem}.md").read_text()
    return bool(re.search(r"\$\$|(?<![\\$])\$[^$\n]+\$", text))


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_without_errors(visits, name):
    visit = visits[name]
    assert not visit.external, f"{name} tried to reach the network: {visit.external}"
    assert not visit.failed, f"{name}: failed requests: {visit.failed}"
    assert not visit.errors, f"{name}: errors in the browser console: {visit.errors}"
    assert (SCREENSHOTS / (name.replace("/", "-").removesuffix(".html") + ".png")).stat().st_size > 10_000


@pytest.mark.parametrize("stem", STEMS)
def test_every_formula_is_typeset(visits, stem):
    facts = visits[f"book/{stem}.html"].facts
    if _source_has_math(stem):
        assert facts["math"] > 0, f"{stem}: the source has formulas but the page has no math elements"
    assert facts["mathTypeset"] == facts["math"], f"{stem}: {facts['math'] - facts['mathTypeset']} formulas not typeset"
    assert facts["mathErrors"] == 0, f"{stem}: MathJax could not typeset {facts['mathErrors']} formula(s)"
    left = RAW_TEX.findall(facts["text"])
    assert not left, f"{stem}: raw TeX left in the visible text: {left[:5]}"


@pytest.mark.parametrize("name", PAGES)
def test_every_image_is_loaded(visits, name):
    images = visits[name].facts["images"]
    broken = [image["src"] for image in images if not image["ok"]]
    assert not broken, f"{name}: images that did not load: {broken}"


def test_no_page_embeds_a_widget(visits):
    """Explorers are precomputed frames with the book's own script: no page has a widget view (the build
    stops on one, autograder/book/clean.py), so none needs a widget manager."""
    assert not [name for name, visit in visits.items() if visit.facts["widgetViews"]]


def test_animations_have_their_frames_and_buttons(visits):
    animations = [a for visit in visits.values() for a in visit.facts["animations"]]
    assert animations, "the convolution chapter has an animation"
    for animation in animations:
        assert animation["frame"]["ok"] and animation["frame"]["alt"] and animation["slider"], animation
        assert animation["buttons"] >= 6 and animation["icons"] == animation["buttons"], \
            f"animation buttons without their icons (Font Awesome's webfont must come from the book): {animation}"
    assert all(visit.facts["iconFont"] for visit in visits.values() if visit.facts["animations"])


def test_search_finds_the_convolution_chapter(context):
    page, visit = _open(context, (HTML / "search.html").as_uri() + "?q=receptive+field")
    page.wait_for_selector("#search-results ul.search li")
    links = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    page.close()
    assert any(link.split("?")[0].endswith("book/02-convolution.html") for link in links), links
    assert not visit.errors and not visit.failed, (visit.errors, visit.failed)
    assert not EXTERNAL[id(context)], EXTERNAL[id(context)]


def _downloaded(href: str) -> Path:
    assert href and href.startswith("file:"), href
    path = Path(unquote(urlparse(href).path)).resolve()
    assert path.is_relative_to(HTML.resolve()), f"the download link leaves the book: {href}"
    return path


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_download_link_gives_the_student_notebook(visits, stem):
    notebook_file = _downloaded(visits[f"book/{stem}.html"].facts["download"])
    assert notebook_file.read_text() == (sources.CHAPTERS / f"{stem}.ipynb").read_text()
    notebook = nbformat.reads(notebook_file.read_text(), as_version=4)
    nbformat.validate(notebook)
    text = json.dumps([cell.source for cell in notebook.cells])
    for line in solution_lines(stem):
        assert json.dumps(line)[1:-1] not in text, f"solution line in the downloaded notebook: {line}"
    assert not any(MARKERS.search(cell.source) for cell in notebook.cells)


def _weight(visit: Visit) -> int:
    """The bytes of the local files a page loaded (the page, scripts, styles, fonts, images)."""
    return sum(Path(path).stat().st_size for path in visit.loaded if Path(path).is_file())


MAX_MEDIAN_WEIGHT = 3 * 2**20  # bytes: the median page (the chapters and the front page) loads at most this
ICON_SCRIPT = "_static/scripts/fontawesome.js"  # the theme's Font Awesome SVG script, replaced by one line


def test_pages_are_light(visits, capsys):
    """No page loads a widget manager or the theme's 1.5 MB icon script (its webfont draws the icons);
    MathJax loads on the pages with formulas only; the median page weighs at most 3 MiB (printed)."""
    import statistics

    for name, visit in visits.items():
        manager = [path for path in visit.loaded if WIDGET_MANAGER in path or "require.js" in path]
        assert not manager, f"{name} loads the widget manager: {manager}"
        icons = [Path(path) for path in visit.loaded if path.endswith(ICON_SCRIPT)]
        assert all(path.stat().st_size < 1000 for path in icons), f"{name} loads the theme's icon script"
        mathjax = [path for path in visit.loaded if "_vendor/mathjax/" in path]
        assert bool(mathjax) == (visit.facts["math"] > 0), f"{name}: {visit.facts['math']} formulas, MathJax {mathjax[:1]}"
    chapters = {name: _weight(visit) for name, visit in visits.items() if name.startswith("book/") or name == "index.html"}
    assert all(weight > 0 for weight in chapters.values())
    median = statistics.median(chapters.values())
    with capsys.disabled():
        print(f"\nmedian page weight: {median / 2**20:.2f} MiB over {len(chapters)} pages; heaviest: "
              + ", ".join(f"{name} {weight / 2**20:.2f}" for name, weight in
                          sorted(chapters.items(), key=lambda item: -item[1])[:3]))
    assert median <= MAX_MEDIAN_WEIGHT, f"median page weight {median / 2**20:.2f} MiB: {chapters}"


EXPLORER_CHAPTERS = [stem for stem in STEMS if "explorer.interact(" in (sources.SOLUTIONS / f"{stem}.md").read_text()]


@pytest.mark.parametrize("stem", EXPLORER_CHAPTERS)
def test_explorers_are_labelled_native_controls_with_a_described_picture(visits, stem):
    source = (sources.SOLUTIONS / f"{stem}.md").read_text()
    explorers = visits[f"book/{stem}.html"].facts["explorers"]
    assert len(explorers) == len(re.findall(r"^\s*explorer\.interact\(", source, re.MULTILINE)), explorers
    for explorer in explorers:
        assert explorer["image"] and explorer["image"]["ok"], f"{stem}: an explorer without its picture: {explorer}"
        assert explorer["image"]["alt"], f"{stem}: an explorer's picture has no alt text"
        assert explorer["controls"], f"{stem}: an explorer without controls"
        for control in explorer["controls"]:
            assert (control["tag"], control["type"]) in {("input", "range"), ("select", "select-one")}, control
            assert control["label"], f"{stem}: a control without a label: {control}"


def _picture(root) -> dict:
    return root.evaluate("r => ({src: r.querySelector('img').getAttribute('src'), "
                         "alt: r.querySelector('img').getAttribute('alt')})")


def _move(page, control) -> None:
    """Move a control to another value as a reader does: a drop-down's next option, a slider's far end."""
    if control.evaluate("c => c.tagName") == "SELECT":
        count = control.locator("option").count()
        control.select_option(index=(int(control.input_value()) + 1) % count)  # options are numbered 0, 1, ...
    else:
        at_end = control.evaluate("c => Number(c.value) === Number(c.max)")
        control.focus()
        page.keyboard.press("Home" if at_end else "End")


def _set(control, value: str) -> None:
    control.evaluate("(c, v) => { c.value = v; c.dispatchEvent(new Event('input', {bubbles: true})); }", value)


@pytest.mark.parametrize("stem", EXPLORER_CHAPTERS)
def test_every_explorer_changes_its_picture_when_a_control_moves(context, stem):
    """Without a kernel: each control of each explorer, moved to another value, changes the picture's
    source and its alt text (which names the control), and a slider tells a screen reader the value it
    shows (aria-valuetext), not its stop's number; set back, the first picture returns."""
    page, visit = _visit(context, (HTML / f"book/{stem}.html").as_uri())
    try:
        roots = page.locator(".cnn-explorer")
        assert roots.count() >= 1, f"{stem}: no explorer on the page"
        for k in range(roots.count()):
            root = roots.nth(k)
            root.scroll_into_view_if_needed()
            first = _picture(root)
            controls = root.locator("input[type=range], select")
            assert controls.count() >= 1
            for c in range(controls.count()):
                control = controls.nth(c)
                label = control.evaluate("c => c.labels[0].innerText.trim()")
                initial, before = control.input_value(), _picture(root)
                _move(page, control)
                after = _picture(root)
                assert control.input_value() != initial, f"{stem}, explorer {k + 1}: {label!r} did not move"
                assert after["src"] != before["src"], f"{stem}, explorer {k + 1}: moving {label!r} left the picture"
                assert after["alt"] != before["alt"] and label in after["alt"], \
                    f"{stem}, explorer {k + 1}: moving {label!r} left the alt text: {after['alt']!r}"
                if control.evaluate("c => c.type") == "range":  # a screen reader reads the value, not the stop
                    said = control.evaluate("c => [c.getAttribute('aria-valuetext'), c.nextElementSibling.textContent]")
                    assert said[0] and said[0] == said[1] and f"{label} {said[0]}" in after["alt"], (stem, k, label, said)
                _set(control, initial)
            assert _picture(root) == first, f"{stem}, explorer {k + 1}: the controls set back show another picture"
    finally:
        page.close()
    assert not visit.errors, f"{stem}: errors in the browser console: {visit.errors}"


# ---------------------------------------------------------------------- reading at desktop and phone widths


@pytest.fixture(scope="module")
def phone_visits(context) -> dict[str, Visit]:
    """Every chapter once more, on a phone (390 px wide); screenshots ``<page>-phone.png``."""
    phone = _offline_context(context.browser, PHONE)
    seen = {}
    for stem in STEMS:
        page, visit = _visit(phone, (HTML / f"book/{stem}.html").as_uri())
        page.screenshot(path=str(SCREENSHOTS / f"book-{stem}-phone.png"), full_page=True)
        page.close()
        seen[stem] = visit
    yield seen
    phone.close()


def test_no_figure_is_shown_below_three_quarters_of_its_width_on_a_desktop(visits):
    """At 1366 px a figure keeps at least 3/4 of its natural width (below that its text is too small to
    read); one wider than the column scrolls in its own output box rather than shrinking."""
    figures = {stem: visits[f"book/{stem}.html"].facts["layout"]["figures"] for stem in STEMS}
    assert sum(map(len, figures.values())) >= len(STEMS), figures
    small = [(stem, f) for stem, found in figures.items() for f in found if f["shown"] < 0.75 * f["natural"] - 1]
    assert not small, f"figures shown below 75% of their natural width at {DESKTOP} px: {small[:10]}"
    for stem in STEMS:
        layout = visits[f"book/{stem}.html"].facts["layout"]
        assert layout["viewport"] == DESKTOP and layout["width"] <= DESKTOP, f"{stem} is wider than the window"


MIN_TEXT_PX = 9  # CSS px: the smallest text a figure may show at DESKTOP width


def _image_bytes(url: str) -> bytes:
    if url.startswith("data:"):
        return base64.b64decode(url.split(",", 1)[1])
    return Path(unquote(urlparse(url).path)).read_bytes()


def figure_text(figures: list[dict]) -> list[dict]:
    """Each figure seen by FACTS_JS with ``text``, the smallest text it shows in CSS px as displayed: the
    size the page's kernel recorded in the image (px of the image, autograder/kernel/figures.py) times
    displayed width / the image's width; None without text. ``record``: the record (None: not measured)."""
    rows = []
    for figure in figures:
        record, words, width = recorded_px(_image_bytes(figure["url"]))
        text = None if record in (None, NO_TEXT) else float(record) * figure["shown"] / width
        rows.append({**figure, "record": record, "words": words, "width": width, "text": text})
    return rows


def illegible(page: str, rows: list[dict]) -> list[str]:
    """One line per figure of ``page`` whose text is smaller than MIN_TEXT_PX as displayed, or not measured."""
    problems = []
    for number, row in enumerate(rows, start=1):
        label = f"{page}, figure {number} on the page ({row['name'] or row['src']!r})"
        if row["record"] is None:
            problems.append(f"{label}: its image has no record of its smallest text (was it drawn by a page "
                            "kernel of the book's build?)")
        elif row["text"] is not None and row["text"] < MIN_TEXT_PX:
            problems.append(f"{label}: its smallest text, {row['words']!r}, is {row['text']:.1f} px as displayed "
                            f"({row['record']} px in its {row['width']} px wide image, shown {row['shown']:.0f} px wide)")
    return problems


def test_figure_text_is_at_least_9_px_as_displayed_on_a_desktop(visits, capsys):
    """At 1366 px no figure (cell outputs, animations, explorers) shows text smaller than 9 px; the
    smallest per page is printed."""
    problems, smallest = [], {}
    for stem in STEMS:
        rows = figure_text(visits[f"book/{stem}.html"].facts["layout"]["figures"])
        problems += illegible(stem, rows)
        sizes = [row["text"] for row in rows if row["text"] is not None]
        smallest[stem] = f"{min(sizes):.1f}" if sizes else "no text"
    with capsys.disabled():
        print(f"\nsmallest figure text as displayed at {DESKTOP} px: "
              + ", ".join(f"{stem[:2]} {size}" for stem, size in smallest.items()))
    assert not problems, "\n".join(problems)


# Drawn by a page kernel of the book (execute.KERNEL_SETUP measures them): (name, code drawing one figure).
TEXT_FIGURES = [
    ("12-point text", "fig, ax = plt.subplots(figsize=(4, 3)); ax.plot([0, 1]); ax.set_title('12 points'); plt.show()"),
    ("5-point fine print", ("fig, ax = plt.subplots(figsize=(4, 3)); ax.plot([0, 1]); "
                           "ax.text(0.1, 0.5, 'fine print', fontsize=5); plt.show()")),
    # 8 points are 10 px of the image, but the figure is wider than the column: shown at 4/5, 8 px
    ("8-point text, too wide", ("fig, ax = plt.subplots(figsize=(10, 3)); ax.plot([0, 1]); "
                               "ax.tick_params(labelsize=8); ax.set_title('8 points', fontsize=8); plt.show()")),
    ("an explorer's frame", ("from autograder.kernel.explorer import encode_figure\nfig, ax = plt.subplots(figsize=(4, 3))\n"
                            "ax.plot([0, 1]); print(encode_figure(fig)); plt.close(fig)")),
]


def test_the_figure_text_check_catches_small_text(browser, tmp_path):
    """The check above fails where it should, on a page with the book's script and stylesheet and four
    figures drawn by a page kernel of the book in a 600 px column: 5-point text, and 8-point text in a
    figure that the column shows at 4/5 of its width, are caught and named; 12-point text and an
    explorer's frame (a data URL, 12-point text at 72 dpi) pass."""
    from autograder.book import execute

    setup = "import matplotlib.pyplot as plt\nplt.rcParams.update({'figure.dpi': 90, 'font.size': 12})"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)
                                               for code in [setup, *(code for _, code in TEXT_FIGURES)]])
    executed = execute.execute(notebook, "figures-test", timeout=300)
    html = []
    for number, ((name, _), cell) in enumerate(zip(TEXT_FIGURES, executed.cells[1:], strict=True)):
        png = next((o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})), None)
        if png is None:
            src, kind = next(o["text"].strip() for o in cell.outputs if o.get("name") == "stdout"), "cnn-explorer-frame"
        else:
            (tmp_path / f"figure{number}.png").write_bytes(base64.b64decode(png))
            src, kind = f"figure{number}.png", ""
        html.append(f'<figure><div class="cell_output"><img class="{kind}" src="{src}" alt="{name}"></div>'
                    f"<figcaption>{name}</figcaption></figure>")
    for name in ("cnn-book.js", "cnn-book.css"):
        (tmp_path / name).write_bytes((ROOT / "autograder/book/static" / name).read_bytes())
    (tmp_path / "page.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="cnn-book.css">'
        '<script src="cnn-book.js"></script></head><body><article style="width: 600px">'
        + "".join(html) + "</article></body></html>")
    desktop = _offline_context(browser, DESKTOP)
    try:
        page, visit = _visit(desktop, (tmp_path / "page.html").as_uri())
        page.close()
    finally:
        desktop.close()
    rows = figure_text(visit.facts["layout"]["figures"])
    assert [row["name"] for row in rows] == [name for name, _ in TEXT_FIGURES]
    problems = illegible("test page", rows)
    assert len(problems) == 2 and "5-point fine print" in problems[0] and "8-point text, too wide" in problems[1], problems
    assert "6.2 px as displayed" in problems[0] and "8.0 px as displayed" in problems[1], problems
    assert rows[0]["text"] == 15.0 and rows[3]["url"].startswith("data:image/"), rows
    assert not visit.errors and not visit.external, (visit.errors, visit.external)


def test_code_and_output_blocks_fit_the_column_on_a_desktop(visits, capsys):
    """At most 5% of the code and text-output blocks (exercise templates and docstrings included)
    scroll sideways at 1366 px."""
    blocks = [(stem, b) for stem in STEMS for b in visits[f"book/{stem}.html"].facts["layout"]["blocks"]]
    scrolling = [(stem, b["text"]) for stem, b in blocks if b["scrolls"]]
    assert len(blocks) > 100, len(blocks)
    assert len(scrolling) <= 0.05 * len(blocks), f"{len(scrolling)} of {len(blocks)} scroll: {scrolling[:10]}"
    with capsys.disabled():
        print(f"\ncode/output blocks scrolling sideways at {DESKTOP} px: {len(scrolling)} of {len(blocks)}")


def test_wrapped_code_hangs_under_its_own_line(visits, capsys):
    """Every code and output block of the book is cut into lines by the book's script, and a line that wraps
    at 1366 px continues four columns deeper than the line starts (Python's indentation still reads)."""
    blocks = [(stem, b) for stem in STEMS for b in visits[f"book/{stem}.html"].facts["layout"]["blocks"]]
    assert [(stem, b["text"]) for stem, b in blocks if b["lines"] is None] == []
    hangs = [(stem, hang) for stem, b in blocks for hang in b["hangs"]]
    assert hangs, "no line of code wraps at this width: the check below would check nothing"
    wrong = [(stem, hang) for stem, hang in hangs
             if abs(hang["offset"] - (hang["lead"] + 4) * hang["column"]) > 1]
    assert not wrong, wrong[:5]
    with capsys.disabled():
        print(f"\ncode/output lines wrapping at {DESKTOP} px: {len(hangs)}, each hanging 4 columns deeper")


HANGING_PAGE = ("<pre><span></span><span class=\"k\">def</span> <span class=\"nf\">f</span>(x):\n"
                "    <span class=\"sd\">\"\"\"A docstring line long enough to wrap at this width, twice or more, in the box.\n"
                "\n        An indented line that is long enough to wrap as well, so it hangs deeper.\"\"\"</span>\n"
                "    <span class=\"k\">return</span> x\n</pre>"
                "<pre>nested: <span><b>bold</b> text</span>\n  that is left as it is\n</pre>")


def test_hanging_lines_keep_the_text_and_the_blank_lines(browser, tmp_path):
    """On a page with the book's script and stylesheet: a highlighted block (a docstring token over
    several lines, a blank line) keeps its text exactly (what the copy button copies) and every line,
    the blank one too, on rows of its own; its wrapped lines hang 4 columns deeper than they start;
    a block with nested markup is left as it was."""
    for name in ("cnn-book.js", "cnn-book.css"):
        (tmp_path / name).write_bytes((ROOT / "autograder/book/static" / name).read_bytes())
    (tmp_path / "page.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="cnn-book.css">'
        '<script src="cnn-book.js"></script></head><body><article style="width: 360px">'
        f'<div class="highlight">{HANGING_PAGE}</div></article></body></html>')
    context = _offline_context(browser, DESKTOP)
    plain = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto((tmp_path / "page.html").as_uri(), wait_until="load")
        page.wait_for_function("() => document.querySelector('pre').dataset.cnnLines")
        lived = page.evaluate(f"""() => Array.from(document.querySelectorAll('pre')).map(pre => ({{
            text: pre.textContent, lines: pre.dataset.cnnLines || null, hangs: {HANGS_JS}(pre),
            rows: pre.querySelectorAll('.cnn-line').length,
            boxes: Array.from(pre.querySelectorAll('.cnn-line')).map(l => [l.getBoundingClientRect().top,
                                                                           l.getBoundingClientRect().height])}}))""")
        was = plain.new_page()
        was.goto((tmp_path / "page.html").as_uri())
        texts = was.eval_on_selector_all("pre", "blocks => blocks.map(b => b.textContent)")
    finally:
        context.close()
        plain.close()
    code, nested = lived
    assert [code["text"], nested["text"]] == texts
    assert code["lines"] == "6" and code["rows"] == 5, code  # five lines and the final newline
    (top, height), *_, (after, _) = code["boxes"][1:4]  # the docstring's first line, the blank one, the next
    assert after - (top + height) >= 0.9 * code["boxes"][0][1], code["boxes"]  # the blank line keeps a row
    assert [hang["lead"] for hang in code["hangs"]] == [4, 8], code["hangs"]
    for hang in code["hangs"]:
        assert abs(hang["offset"] - (hang["lead"] + 4) * hang["column"]) <= 1, hang
    assert nested["lines"] is None and nested["rows"] == 0, nested


def test_a_figure_wider_than_its_box_shows_its_scrollbar(browser, book_build):
    """At 1280 px some figures are wider than their box (they keep 4/5 of their width to stay legible)
    and scroll in it: the box draws its own scrollbar, always (the book's stylesheet), so a reader with
    overlay scrollbars (macOS, touchpads) sees that the figure goes on. Playwright hides scrollbars in
    headless Chromium, so this browser keeps them."""
    shown = browser.browser_type.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                                        ignore_default_args=["--hide-scrollbars"])
    try:
        context = _offline_context(shown, 1280)
        page, visit = _visit(context, (HTML / "book/01-images-as-arrays.html").as_uri())
        boxes = page.evaluate("""sel => Array.from(document.querySelectorAll(sel))
            .filter(box => box.scrollWidth > box.clientWidth + 1)
            .map(box => ({bar: box.offsetHeight - box.clientHeight, width: box.scrollWidth}))""",
                              "article .cell_output .output, article .cell_output figure, article .cnn-explorer")
    finally:
        shown.close()
    assert boxes, "no figure of chapter 1 is wider than its box at 1280 px: the check would check nothing"
    assert all(box["bar"] == 10 for box in boxes), boxes  # the book's 10-px scrollbar, not the system's
    assert not visit.errors, visit.errors


@pytest.mark.parametrize("stem", STEMS)
def test_no_page_is_wider_than_a_phone(phone_visits, stem):
    layout = phone_visits[stem].facts["layout"]
    assert layout["viewport"] == PHONE
    assert layout["width"] <= PHONE, f"{stem} is {layout['width']} px wide on a {PHONE} px phone"
    assert not phone_visits[stem].errors, phone_visits[stem].errors


def test_display_equations_scroll_in_their_own_box_on_a_phone(phone_visits):
    """A display equation wider than a phone scrolls inside its own box, which shows a cue (a shadow at
    the cut edge) and stays on the screen, instead of being clipped."""
    equations = [(stem, e) for stem in STEMS for e in phone_visits[stem].facts["layout"]["equations"]]
    assert equations
    wide = [(stem, e) for stem, e in equations if not e["fits"]]
    assert wide, "no equation is wider than a phone: this test would prove nothing"
    for stem, equation in wide:
        assert equation["overflow"] in ("auto", "scroll"), f"{stem}: a clipped equation: {equation}"
        assert equation["cue"], f"{stem}: an equation that scrolls without a visible cue: {equation}"
    assert all(e["right"] <= PHONE + 1 for _, e in equations), [e for _, e in equations if e["right"] > PHONE + 1]


def _visible(page, selector: str):
    return page.locator(f"{selector}:visible").first


def test_phone_drawer_and_contents_open_and_close(context):
    """On a phone ☰ opens the chapter list and the contents button the page's contents, each in a
    drawer that Escape closes; on a desktop ☰ hides the sidebar and shows it again."""
    phone = _offline_context(context.browser, PHONE)
    try:
        page, visit = _visit(phone, (HTML / "book/02-convolution.html").as_uri())
        for toggle, drawer, inside in (
                (".primary-toggle", "#pst-primary-sidebar-modal", "nav a[href$='03-feature-detectors.html']"),
                (".secondary-toggle", "#pst-secondary-sidebar-modal", "nav.page-toc a")):
            _visible(page, toggle).click()
            page.wait_for_selector(f"{drawer}[open]")
            assert page.locator(f"{drawer} {inside}").first.is_visible(), f"{drawer} opened empty"
            page.keyboard.press("Escape")
            page.wait_for_selector(f"{drawer}:not([open])", state="attached")
            assert not page.locator(f"{drawer} {inside}").count(), f"{drawer} kept the sidebar's content"
        page.close()
        assert not visit.errors, visit.errors
    finally:
        phone.close()
    page, visit = _visit(context, (HTML / "book/02-convolution.html").as_uri())
    try:
        sidebar = page.locator("#pst-primary-sidebar")
        assert sidebar.is_visible()
        _visible(page, ".primary-toggle").click()
        sidebar.wait_for(state="hidden")
        _visible(page, ".primary-toggle").click()
        sidebar.wait_for(state="visible")
    finally:
        page.close()


def test_a_figure_opens_full_size_and_closes(context):
    """A click on a figure, or Enter on it, shows it full size in a dialog; Escape or a click closes it."""
    page, visit = _visit(context, (HTML / "book/02-convolution.html").as_uri())
    try:
        figure = page.locator("article .cell_output img[data-cnn-lightbox]").first
        figure.scroll_into_view_if_needed()
        dialog = page.locator("dialog.cnn-lightbox")
        figure.click()
        dialog.wait_for(state="visible")
        large = dialog.locator("img")
        assert large.get_attribute("src") == figure.evaluate("i => i.currentSrc || i.src")
        assert large.evaluate("i => i.complete && i.naturalWidth > 0 && "
                              "i.getBoundingClientRect().width >= Math.min(i.naturalWidth, window.innerWidth) - 1")
        assert large.get_attribute("alt")
        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden")
        figure.focus()
        page.keyboard.press("Enter")
        dialog.wait_for(state="visible")
        dialog.click(position={"x": 5, "y": 5})
        dialog.wait_for(state="hidden")
        assert page.evaluate("() => document.activeElement && document.activeElement.dataset.cnnLightbox === '1'")
    finally:
        page.close()
    assert not visit.errors, visit.errors


CONTRAST_JS = """() => {
  const rgb = s => { const m = s.match(/[\\d.]+/g).map(Number);
                     return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                     return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = e => { for (let x = e; x; x = x.parentElement) {
      const c = rgb(getComputedStyle(x).backgroundColor); if (c.a > 0.5) return c; }
    return rgb(getComputedStyle(document.body).backgroundColor); };
  const texts = [];
  document.querySelectorAll('.autograder-feedback, .autograder-feedback *').forEach(e => {
    if (!Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim())) return;
    const a = lum(rgb(getComputedStyle(e).color)), b = lum(background(e));
    texts.push({text: e.innerText.slice(0, 40), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)});
  });
  return texts;
}"""


def test_check_results_are_readable_in_dark_mode(context):
    """The check() result boxes keep a contrast of at least 4.5:1 (WCAG AA) in the theme's dark mode."""
    page, _ = _visit(context, (HTML / "book/02-convolution.html").as_uri())
    try:
        page.evaluate("() => { document.documentElement.dataset.theme = 'dark'; }")
        page.wait_for_function("() => getComputedStyle(document.body).backgroundColor !== 'rgb(255, 255, 255)'")
        texts = page.evaluate(CONTRAST_JS)
    finally:
        page.close()
    assert texts, "no check() result on the convolution chapter"
    poor = [t for t in texts if t["ratio"] < 4.5]
    assert not poor, f"check results hard to read in dark mode: {poor[:5]}"


def test_search_results_show_snippets(context):
    """Offline (file://) each search result shows a snippet of its page, with the words searched for."""
    page, visit = _open(context, (HTML / "search.html").as_uri() + "?q=receptive+field")
    try:
        page.wait_for_selector("#search-results ul.search li p.context")
        snippets = page.eval_on_selector_all("#search-results ul.search li p.context",
                                             "ps => ps.map(p => p.innerText)")
    finally:
        page.close()
    assert any("receptive" in snippet.lower() for snippet in snippets), snippets
    assert not visit.errors and not visit.failed, (visit.errors, visit.failed)


@pytest.mark.parametrize("name", PAGES)
def test_every_image_has_alt_text(visits, name):
    missing = [image["src"] for image in visits[name].facts["images"] if not (image["alt"] or "").strip()]
    assert not missing, f"{name}: images without alt text: {missing}"


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_download_item_saves_the_notebook(visits, stem):
    assert visits[f"book/{stem}.html"].facts["downloadAs"] == f"{stem}.ipynb"

"""The book's Sphinx extension (``_config.yml``: ``sphinx.extra_extensions: [autograder.book.sphinx]``).

It makes the launch buttons (JupyterHub, Binder, Colab) open the chapter's student notebook
``chapters/<stem>.ipynb`` of the students' repository (``repository.url`` in ``_config.yml``,
written by ``python -m autograder publish``) rather than the generated page, drops them from
pages that have no student notebook, gives pages the substitutions ``{{ student_repository }}``
and ``{{ colab_install }}`` made from that address, keeps Sphinx from numbering figures (their
captions do), loads each script once and serves the explorers' script and stylesheet
(``static/cnn-explorer.js``, ``static/cnn-explorer.css``; see :mod:`autograder.kernel.explorer`)
from ``_static/``, with the book's own fixes (``static/cnn-book.js``, ``static/cnn-book.css``: the
theme's ☰ and contents buttons, figures legible and full size on a click, code that wraps, equations
that scroll, dark-mode check results, downloads that save the notebook), replaces the theme's Font
Awesome script by one line (its stylesheet's webfont draws the icons), and gives the search page
the pages' text for its snippets (``static/cnn-search.js``). It imports nothing heavy at import time,
since Sphinx imports it in every build.
"""

from __future__ import annotations

from pathlib import Path

from .sources import CHAPTERS

STATIC = Path(__file__).with_name("static")  # the explorers' script and stylesheet, copied to _static/


def _launch_student_notebooks(app, pagename, templatename, context, doctree) -> None:
    """Point the launch buttons at ``chapters/<stem>.ipynb``; drop them where there is none."""
    buttons = context.get("header_buttons") or []
    groups = [group for group in buttons if group.get("label") == "launch-buttons"]
    if not groups:
        return
    stem = pagename.rsplit("/", 1)[-1]
    student = CHAPTERS / f"{stem}.ipynb"
    book_relpath = app.config["html_theme_options"].get("path_to_docs", "").strip("/")
    generated = f"{book_relpath}/{pagename}.ipynb" if book_relpath else f"{pagename}.ipynb"
    for group in groups:
        if not student.exists():
            buttons.remove(group)
            continue
        for button in group.get("buttons", []):
            if button.get("url"):
                button["url"] = button["url"].replace(generated, f"chapters/{stem}.ipynb")


def _chapter_numbers_figures(app, config) -> None:
    """Figures are numbered by their captions ("Figure 2.4"), per chapter; Sphinx must not add its own
    book-wide "Fig. 17" in front. ``_config.yml`` says ``numfig: false``, but sphinx-jupyterbook-latex
    turns it back on when the configuration is read; this runs after it."""
    config.numfig = False


def student_repository(options: dict) -> tuple[str, str]:
    """The students' repository's address and branch, from the theme options ``_config.yml`` sets."""
    return (str(options.get("repository_url") or "").rstrip("/"), str(options.get("repository_branch") or "main"))


def _repository_substitutions(app, config) -> None:
    """``{{ student_repository }}`` (the address, to copy) and ``{{ colab_install }}`` (the install line for Colab)."""
    url, branch = student_repository(config.html_theme_options or {})
    config.myst_substitutions = {
        **(config.myst_substitutions or {}),
        "student_repository": f"`{url}`" if url else "(ask your instructor for the address)",
        "colab_install": f"`%pip install -q git+{url}@{branch}`" if url else "`%pip install` of the course package",
    }


def _no_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """Load each script once. sphinx-thebe registers its inline configuration again on every build that
    reads documents, and a second ``const THEBE_JS_URL`` is a JavaScript error on every page."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", None) or "",
               tuple(sorted((str(k), str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    if "script_files" in context:
        context["script_files"] = unique


def _explorer_files(app, config) -> None:
    """The book serves the explorers' script and stylesheet itself (``_static/``, on every page)."""
    config.html_static_path = [*config.html_static_path, str(STATIC)]


WIDE_FIGURE = 900  # px: a cell with a PNG figure this wide uses the theme's full width (see _wide_figures)


def png_width(path: Path) -> int:
    """The width in pixels of a PNG file (from its header), or 0 for anything else."""
    try:
        with open(path, "rb") as file:
            head = file.read(24)
    except OSError:
        return 0
    return int.from_bytes(head[16:20], "big") if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR" else 0


def _wide_figures(app, doctree, docname) -> None:
    """A cell whose figure is too wide for the content column at 3/4 of its natural width gets the
    theme's ``full-width`` class: on a desktop it takes the width of the page's contents sidebar,
    which the theme hides while such a cell is on the screen."""
    from docutils import nodes

    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if "://" in uri or uri.startswith("data:") or png_width(Path(app.srcdir) / uri) < WIDE_FIGURE:
            continue
        parent = image.parent
        while parent is not None and "cell" not in parent.get("classes", []):
            parent = parent.parent
        if parent is not None and "full-width" not in parent["classes"]:
            parent["classes"].append("full-width")


SEARCH_PAGES = "cnn-search-pages.js"  # written into _static/ when the build finishes (see _finish_static)
# pydata-sphinx-theme loads Font Awesome's 1.5 MB script on every page, which redraws each icon (<i class="fa-...">)
# as an SVG. Its stylesheet already draws the same icons with the Font Awesome webfont it ships (the theme's and
# matplotlib's animation buttons included), so the build replaces the script with this line (_finish_static).
FONTAWESOME_JS = "scripts/fontawesome.js"
NO_ICON_SCRIPT = ("/* The book draws Font Awesome icons with the webfont of the theme's stylesheet; the theme's SVG "
                  "script is left out to keep pages light (autograder/book/sphinx.py). */\n")


def _search_page_scripts(app, pagename, templatename, context, doctree) -> None:
    """The search page alone loads the pages' text and the script that hands it to Sphinx's search."""
    if pagename == "search":
        app.add_js_file(SEARCH_PAGES)
        app.add_js_file("cnn-search.js")


def page_text_html(page_html: str) -> str:
    """The text of a built page's article, its sections (with their ids) kept and every other tag dropped,
    inside ``<div role="main">``: what Sphinx's search reads to show a snippet under a result."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page_html, "html.parser")
    article = soup.find("article") or soup.find(attrs={"role": "main"})
    if article is None:
        return ""
    for tag in article.find_all(["script", "style", "img", "svg", "noscript", "template"]):
        tag.decompose()
    for tag in article.select(".headerlink, .cnn-explorer-data"):
        tag.decompose()
    for tag in article.find_all(True):
        if tag.name == "section" and tag.get("id"):
            tag.attrs = {"id": tag["id"]}
        else:
            tag.unwrap()
    return '<div role="main">' + "".join(str(child) for child in article.contents) + "</div>"


def _finish_static(app, exception) -> None:
    """Our files in ``_static/`` as they are now, no icon script (:data:`NO_ICON_SCRIPT`), and the pages'
    text for the search page.

    Sphinx's search shows a snippet of each result's page, which it fetches; a browser refuses that
    for a book opened from ``file://``. The build writes every page's text into one script that the
    search page loads (``static/cnn-search.js`` answers the search's requests from it)."""
    import json

    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for source in STATIC.iterdir():  # Sphinx 7.4 keeps an older copy in _static/ of a file that changed
        copy = out / "_static" / source.name
        if source.is_file() and (not copy.exists() or copy.read_bytes() != source.read_bytes()):
            copy.write_bytes(source.read_bytes())
    icons = out / "_static" / FONTAWESOME_JS
    if icons.exists() and icons.read_text(errors="replace") != NO_ICON_SCRIPT:
        icons.write_text(NO_ICON_SCRIPT)
    pages = {}
    for path in sorted(out.rglob("*.html")):
        relative = path.relative_to(out).as_posix()
        if relative.startswith(("_", ".")) or relative in ("search.html", "genindex.html"):
            continue
        pages[relative.removesuffix(".html")] = page_text_html(path.read_text(errors="replace"))
    text = "window.CNN_SEARCH_PAGES = " + json.dumps(pages, ensure_ascii=True, sort_keys=True) + ";\n"
    target = out / "_static" / SEARCH_PAGES
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def setup(app):
    app.connect("config-inited", _explorer_files, priority=900)
    app.add_js_file("cnn-explorer.js")
    app.add_css_file("cnn-explorer.css")
    app.add_js_file("cnn-book.js")  # the theme's toggles, figures full size, downloads (static/cnn-book.js)
    app.add_css_file("cnn-book.css")  # code that wraps, legible figures, equations and phones (static/cnn-book.css)
    app.connect("config-inited", _chapter_numbers_figures, priority=900)
    app.connect("config-inited", _repository_substitutions, priority=900)
    app.connect("html-page-context", _search_page_scripts, priority=800)
    app.connect("html-page-context", _no_duplicate_scripts, priority=900)
    app.connect("build-finished", _finish_static)
    app.connect("doctree-resolved", _wide_figures)
    # sphinx-book-theme adds its launch buttons at priority 501; this runs after it.
    app.connect("html-page-context", _launch_student_notebooks, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""The book's Sphinx extension (``_config.yml``: ``sphinx.extra_extensions: [autograder.book.sphinx]``).

It makes the launch buttons (JupyterHub, Binder, Colab) open the chapter's student notebook
``chapters/<stem>.ipynb`` of the students' repository (``repository.url`` in ``_config.yml``,
written by ``python -m autograder publish``) rather than the generated page, drops them from
pages that have no student notebook, gives pages the substitutions ``{{ student_repository }}``
and ``{{ colab_install }}`` made from that address, keeps Sphinx from numbering figures (their
captions do), loads each script once and serves the explorers' script and stylesheet
(``static/cnn-explorer.js``, ``static/cnn-explorer.css``; see :mod:`autograder.kernel.explorer`)
from ``_static/``. It imports nothing heavy, since Sphinx imports it in every build.
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


def setup(app):
    app.connect("config-inited", _explorer_files, priority=900)
    app.add_js_file("cnn-explorer.js")
    app.add_css_file("cnn-explorer.css")
    app.connect("config-inited", _chapter_numbers_figures, priority=900)
    app.connect("config-inited", _repository_substitutions, priority=900)
    app.connect("html-page-context", _no_duplicate_scripts, priority=900)
    # sphinx-book-theme adds its launch buttons at priority 501; this runs after it.
    app.connect("html-page-context", _launch_student_notebooks, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

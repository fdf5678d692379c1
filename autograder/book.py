"""The published book: two Jupyter Book builds that work offline, and the book's Sphinx extension.

``python -m autograder book`` (``make book``) builds the student edition into ``_build/html``;
``python -m autograder book --instructor`` (``make book-instructor``) builds the same book with each
exercise's solution and hidden tests in collapsed dropdowns into ``_build/instructor``. Both:

1. derive and execute the pages (:func:`autograder.build.build`, cached);
2. run ``jupyter-book build --warningiserror --nitpick --keep-going``;
3. copy the JavaScript the pages load (MathJax 3, RequireJS, the Jupyter widgets HTML manager)
   from ``vendor/node_modules`` (``npm ci`` from the committed ``vendor/package-lock.json`` when
   missing) into ``<html>/_vendor/``. It sits outside ``_static/`` because Jupyter Book adds every
   ``.js`` under ``_static/`` to every page; ``_config.yml`` points ``mathjax_path`` and
   ``nb_ipywidgets_js`` there;
4. make each page's download button give the right notebook (the student notebook; in the
   instructor edition, the chapter's source with solutions and hidden tests), and refuse to
   finish if any page still loads a script, a stylesheet or a font from the web.

As a Sphinx extension (``_config.yml``: ``sphinx.extra_extensions``), this module makes the launch
buttons (JupyterHub, Binder, Colab) open the chapter's student notebook ``chapters/<stem>.ipynb``
rather than the generated page, drops them from pages that have no student notebook, keeps
Sphinx from numbering figures (their captions do) and loads each script once. This module
imports nothing heavy at the top, since Sphinx imports it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
INSTRUCTOR_HTML = ROOT / "_build" / "instructor"
VENDOR = ROOT / "vendor"
VENDOR_DIR = "_vendor"  # under the HTML root

# What the pages load, per folder under <html>/_vendor/: (package folder in node_modules, globs).
VENDOR_FILES = {
    # tex-mml-chtml.js loads the rest on demand: TeX extensions (autoload), CHTML fonts, the menu
    # and its accessibility tools (assistive MathML, speech).
    "mathjax": ("mathjax", ["LICENSE", "package.json", "es5/tex-mml-chtml.js", "es5/input/tex/extensions/**/*.js",
                            "es5/output/chtml/fonts/woff-v2/*.woff", "es5/ui/*.js", "es5/a11y/*.js",
                            "es5/sre/**/*"]),
    "requirejs": ("requirejs", ["package.json", "require.js"]),  # package.json: name, version, licence
    # embed-amd.js renders embedded widget state; the .woff2 files are its Font Awesome icons (its
    # stylesheet also names .eot/.svg/.ttf/.woff versions, which browsers that read woff2 never load).
    "html-manager": ("@jupyter-widgets/html-manager", ["package.json", "dist/embed-amd.js", "dist/*.woff2"]),
}
# Written for this book, copied next to the files above (see the comments in each).
OWN_FILES = {"html-manager/widgets-setup.js": VENDOR / "src" / "widgets-setup.js"}
# A reference the published HTML must not make: a script, stylesheet, font or preload from the web.
EXTERNAL_ASSET = re.compile(
    r"<(?:script\b[^>]*\bsrc|link\b[^>]*\bhref|img\b[^>]*\bsrc|iframe\b[^>]*\bsrc|source\b[^>]*\bsrc)"
    r"\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def _error(message: str):
    from .build import BuildError

    return BuildError(message)


# ---------------------------------------------------------------------- vendored JavaScript


def node_modules(log=print) -> Path:
    """``vendor/node_modules``, installed with ``npm ci`` from the committed lock file when missing."""
    modules = VENDOR / "node_modules"
    lock = VENDOR / "package-lock.json"
    stamp = modules / ".installed-from-lock.sha256"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    have = stamp.read_text().strip() if stamp.exists() else ""
    if have == want and all((modules / package).is_dir() for package, _ in VENDOR_FILES.values()):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise _error("npm is needed (once) to fetch the book's JavaScript from the npm registry: install Node.js "
                     "and npm (Debian: apt-get install npm), then run `make book` again")
    log("vendor: npm ci (MathJax, RequireJS, the widget manager; once per vendor/package-lock.json)")
    completed = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                               cwd=VENDOR, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise _error("`npm ci` in vendor/ failed (is the npm registry reachable?):\n"
                     + (completed.stdout + completed.stderr)[-2000:])
    stamp.write_text(want + "\n")
    return modules


def vendor_files(log=print) -> dict[str, Path]:
    """Map each path under ``_vendor/`` to the file in ``vendor/node_modules`` it is copied from."""
    modules = node_modules(log)
    files = {}
    for target, (package, patterns) in VENDOR_FILES.items():
        base = modules / package
        for pattern in patterns:
            matches = [path for path in base.glob(pattern) if path.is_file()]
            if not matches:
                raise _error(f"vendor: {package}/{pattern} matched no file; delete vendor/node_modules and "
                             "run `make book` again")
            for path in matches:
                relative = path.relative_to(base)
                if relative.parts[0] in ("es5", "dist"):  # _vendor/mathjax/tex-mml-chtml.js, not .../es5/...
                    relative = Path(*relative.parts[1:])
                files[f"{target}/{relative.as_posix()}"] = path
    return files | OWN_FILES


def sync_tree(files: dict[str, Path], target: Path) -> int:
    """Make ``target`` hold exactly ``files`` (relative path -> source); copy only what changed."""
    copied = 0
    for relative, source in files.items():
        destination = target / relative
        stat = source.stat()
        if destination.exists():
            current = destination.stat()
            if current.st_size == stat.st_size and int(current.st_mtime) == int(stat.st_mtime):
                continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        copied += 1
    if target.exists():
        wanted = {target / relative for relative in files}
        for path in sorted(target.rglob("*"), reverse=True):
            if path.is_file() and path not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return copied


# ---------------------------------------------------------------------- the builds


def _jupyter_book(source: Path, log, extra_args=None) -> Path:
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(source),
               "--warningiserror", "--nitpick", "--keep-going", *(extra_args or [])]
    log("$ " + " ".join(["jupyter-book", *command[2:]]))
    completed = subprocess.run(command, cwd=ROOT, check=False)
    if completed.returncode != 0:
        raise _error("jupyter-book reported warnings or errors (see above)")
    return source / "_build" / "html"


def _instructor_project() -> Path:
    """``_build/instructor-src``: the same book (config and table of contents), instructor pages."""
    import yaml

    from .build import INSTRUCTOR_SOURCE

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["title"] = f"{config['title']} (instructor edition)"
    config.setdefault("html", {})["announcement"] = (
        "Instructor edition: every exercise's solution and hidden tests are shown. Do not publish it to students.")
    text = "# Generated by `make book-instructor` from ../../_config.yml; do not edit.\n" + yaml.safe_dump(
        config, sort_keys=False, allow_unicode=True)
    from .build import write_if_changed

    write_if_changed(INSTRUCTOR_SOURCE / "_config.yml", text)
    write_if_changed(INSTRUCTOR_SOURCE / "_toc.yml", (ROOT / "_toc.yml").read_text())
    return INSTRUCTOR_SOURCE


def build_book(check: bool = False, log=print, instructor: bool = False, extra_args=None) -> Path:
    """Derive, execute (cached), build and finish one edition; return its HTML folder."""
    from . import build

    vendored = vendor_files(log)  # before the long part: fail early without npm
    # The widget manager sometimes resolves its icon fonts against the page's folder instead of its
    # own (seen in a fresh clone's book, page 10, in Chromium): serve them from there too.
    fonts = {f"book/@jupyter-widgets/{path.name}": path for key, path in vendored.items()
             if key.startswith("html-manager/") and path.suffix == ".woff2"}
    build.build(check=check, log=log, instructor=instructor)
    if instructor:
        project = _instructor_project()
        stems = {path.stem for path in build.sources()}
        for old in (project / "book").glob("*.ipynb"):  # a chapter that was removed or renamed
            if old.stem not in stems:
                old.unlink()
        built = _jupyter_book(project, log, extra_args)
        html = INSTRUCTOR_HTML
        files = {path.relative_to(built).as_posix(): path for path in built.rglob("*") if path.is_file()}
        copied = sync_tree(files | fonts | {f"{VENDOR_DIR}/{key}": value for key, value in vendored.items()}, html)
        log(f"instructor edition: {copied} file(s) updated in {html.relative_to(ROOT)}")
    else:
        html = _jupyter_book(ROOT, log, extra_args)
        sync_tree(vendored, html / VENDOR_DIR)
        sync_tree({Path(key).name: path for key, path in fonts.items()}, html / "book" / "@jupyter-widgets")
    finish_html(html, instructor=instructor, log=log)
    return html


def finish_html(html_dir: Path, instructor: bool = False, log=print) -> None:
    """Download buttons give the right notebook; no page may load anything from the web.

    Pages of chapters that no longer exist (Sphinx never deletes an output) are removed first.
    """
    from . import build

    stems = {path.stem for path in build.sources()}
    for old in [*(html_dir / "book").glob("*.html"), *(html_dir / "_sources" / "book").glob("*")]:
        if old.name.split(".")[0] not in stems:
            old.unlink()
            log(f"book: removed {old.relative_to(html_dir)} (no such chapter in solutions/)")
    for path in build.sources():
        target = html_dir / "_sources" / "book" / f"{path.stem}.ipynb"
        if not target.exists():
            continue
        if instructor:
            build.write_if_changed(target, build.dumps(build.read_source(path)))
        elif (student := build.CHAPTERS / f"{path.stem}.ipynb").exists():
            build.write_if_changed(target, student.read_text())
    offenders = []
    for page in sorted(html_dir.rglob("*.html")):
        if VENDOR_DIR in page.relative_to(html_dir).parts[:1]:
            continue
        text = page.read_text(errors="replace")
        offenders += [f"{page.relative_to(html_dir)}: {text[match.start():match.end() + 60]}"
                      for match in EXTERNAL_ASSET.finditer(text)]
    if offenders:
        raise _error("these pages load something from the web, so they break offline:\n  "
                     + "\n  ".join(offenders[:20]))
    log(f"book: {html_dir / 'index.html'}")


# ---------------------------------------------------------------------- Sphinx extension


def _launch_student_notebooks(app, pagename, templatename, context, doctree) -> None:
    """Point the launch buttons at ``chapters/<stem>.ipynb``; drop them where there is none."""
    buttons = context.get("header_buttons") or []
    groups = [group for group in buttons if group.get("label") == "launch-buttons"]
    if not groups:
        return
    stem = pagename.rsplit("/", 1)[-1]
    student = ROOT / "chapters" / f"{stem}.ipynb"
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


def setup(app):
    app.connect("config-inited", _chapter_numbers_figures, priority=900)
    app.connect("html-page-context", _no_duplicate_scripts, priority=900)
    # sphinx-book-theme adds its launch buttons at priority 501; this runs after it.
    app.connect("html-page-context", _launch_student_notebooks, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.book [--instructor] [--check]`` (``make book-instructor``)."""
    import argparse
    import os

    from .build import BuildError

    parser = argparse.ArgumentParser(prog="python -m autograder.book", description=main.__doc__)
    parser.add_argument("--instructor", action="store_true",
                        help="build the instructor edition (solutions and hidden tests) into _build/instructor")
    parser.add_argument("--check", action="store_true", help="fail if chapters/ is stale instead of writing it")
    args = parser.parse_args(argv)
    try:
        build_book(check=args.check or os.environ.get("CI", "").lower() == "true", instructor=args.instructor)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The published book: two Jupyter Book builds that work offline. :func:`build_book` is the one entry point.

``python -m autograder book`` (``make book``) builds the student edition into ``_build/html``;
``python -m autograder book --instructor`` (``make book-instructor``) builds the same book with each
exercise's solution and hidden tests in collapsed dropdowns into ``_build/instructor``;
``python -m autograder publish --book`` builds the student edition of the released chapters only
into ``_build/published`` when that is not all of them. Each:

1. derive and execute the pages (:func:`autograder.book.execute.build_pages`, cached);
2. run ``jupyter-book build --warningiserror --nitpick --keep-going``;
3. copy the JavaScript the pages with formulas load (MathJax 3) from ``vendor/node_modules``
   (``npm ci`` from the committed ``vendor/package-lock.json`` when missing) into
   ``<html>/_vendor/``. It sits outside ``_static/`` because Jupyter Book adds every ``.js`` under
   ``_static/`` to every page; ``_config.yml`` points ``mathjax_path`` there (MathJax's startup
   component, which loads the components ``mathjax3_config`` names). No page loads a
   widget manager: explorers are precomputed (``autograder/kernel/explorer.py``), and the build
   stops on any widget left in an output (``autograder/book/clean.py``);
4. make each page's download button give the right notebook (the student notebook; in the
   instructor edition, the chapter's source with solutions and hidden tests), and refuse to
   finish if any page still loads a script, a stylesheet or a font from the web.

The book's Sphinx extension is :mod:`.sphinx`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .sources import (
    CHAPTERS,
    INSTRUCTOR_SOURCE,
    PAGES,
    ROOT,
    BuildError,
    dumps,
    read_source,
    sources,
    write_if_changed,
)

INSTRUCTOR_HTML = ROOT / "_build" / "instructor"
PUBLISHED_SOURCE = ROOT / "_build" / "published-src"  # a selection of chapters (``publish --chapters``)
PUBLISHED_HTML = ROOT / "_build" / "published"
VENDOR = ROOT / "vendor"
VENDOR_DIR = "_vendor"  # under the HTML root

# What the pages load, per folder under <html>/_vendor/: (package folder in node_modules, globs).
VENDOR_FILES = {
    # startup.js loads the components _config.yml names (TeX input, CHTML output, assistive MathML for
    # screen readers; no menu) and the rest on demand: TeX extensions (autoload) and CHTML fonts.
    "mathjax": ("mathjax", ["LICENSE", "package.json", "es5/startup.js", "es5/core.js", "es5/input/tex.js",
                            "es5/input/tex/extensions/**/*.js", "es5/output/chtml.js", "es5/output/chtml/fonts/tex.js",
                            "es5/output/chtml/fonts/woff-v2/*.woff", "es5/a11y/assistive-mml.js"]),
}
# A reference the published HTML must not make: a script, stylesheet, font or preload from the web.
EXTERNAL_ASSET = re.compile(
    r"<(?:script\b[^>]*\bsrc|link\b[^>]*\bhref|img\b[^>]*\bsrc|iframe\b[^>]*\bsrc|source\b[^>]*\bsrc)"
    r"\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


# ---------------------------------------------------------------------- vendored JavaScript


def installed_as_locked(modules: Path, lock: Path) -> bool:
    """Whether every package of the lock file is in ``modules`` at its locked version (packages the lock
    no longer names may be there too: they are never copied into the book)."""
    import json

    locked = json.loads(lock.read_text()).get("packages", {})
    for path, entry in locked.items():
        if not path:
            continue
        manifest = VENDOR / path / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text()).get("version") != entry.get("version"):
            return False
    return (modules / ".installed-from-lock.sha256").exists()


def node_modules(log=print) -> Path:
    """``vendor/node_modules``, installed with ``npm ci`` from the committed lock file when a package of the
    lock is missing or at another version."""
    modules = VENDOR / "node_modules"
    lock = VENDOR / "package-lock.json"
    stamp = modules / ".installed-from-lock.sha256"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    if installed_as_locked(modules, lock):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is needed (once) to fetch the book's JavaScript from the npm registry: install Node.js "
                     "and npm (Debian: apt-get install npm), then run `make book` again")
    log("vendor: npm ci (MathJax; once per vendor/package-lock.json)")
    completed = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                               cwd=VENDOR, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise BuildError("`npm ci` in vendor/ failed (is the npm registry reachable?):\n"
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
                raise BuildError(f"vendor: {package}/{pattern} matched no file; delete vendor/node_modules and "
                             "run `make book` again")
            for path in matches:
                relative = path.relative_to(base)
                if relative.parts[0] in ("es5", "dist"):  # _vendor/mathjax/tex-mml-chtml.js, not .../es5/...
                    relative = Path(*relative.parts[1:])
                files[f"{target}/{relative.as_posix()}"] = path
    return files


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
        raise BuildError("jupyter-book reported warnings or errors (see above)")
    return source / "_build" / "html"


def toc_stems(toc: dict | None = None) -> list[str]:
    """The chapters of ``_toc.yml`` (``book/<stem>`` entries), in the book's order, the root first."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text()) if toc is None else toc
    entries = [toc["root"], *(chapter["file"] for part in toc.get("parts", []) for chapter in part.get("chapters", []))]
    return [Path(entry).name for entry in entries]


def _project(folder: Path, chapters: set[str] | None, instructor: bool) -> Path:
    """A Jupyter Book project in ``folder``: the book's configuration and table of contents, with the
    instructor edition's title and banner or only ``chapters`` (and the root page), and its pages."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    if instructor:
        config["title"] = f"{config['title']} (instructor edition)"
        config.setdefault("html", {})["announcement"] = (
            "Instructor edition: every exercise's solution and hidden tests are shown. Do not publish it to students.")
    if chapters is not None:
        for part in toc.get("parts", []):
            part["chapters"] = [entry for entry in part.get("chapters", []) if Path(entry["file"]).name in chapters]
        toc["parts"] = [part for part in toc.get("parts", []) if part["chapters"]]
    stems = set(toc_stems(toc))
    if chapters is not None:  # the instructor edition's pages are written by build_pages
        for page in PAGES.glob("*.ipynb"):
            if page.stem in stems:
                write_if_changed(folder / "book" / page.name, page.read_text())
    for old in (folder / "book").glob("*.ipynb"):  # a chapter removed, renamed or not selected
        if old.stem not in stems:
            old.unlink()
    header = "# Generated by `python -m autograder` from ../../_config.yml; do not edit.\n"
    write_if_changed(folder / "_config.yml", header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    write_if_changed(folder / "_toc.yml", header + yaml.safe_dump(toc, sort_keys=False, allow_unicode=True))
    return folder


def build_book(check: bool = False, log=print, instructor: bool = False, extra_args=None, force: bool = False,
               chapters: set[str] | None = None) -> Path:
    """Derive, execute (cached), build and finish one edition; return its HTML folder.

    ``chapters`` (stems) limits the student edition to those chapters and the root page, for a
    weekly release (``python -m autograder publish``); it is built in ``_build/published``.
    """
    from .execute import build_pages

    vendored = vendor_files(log)  # before the long part: fail early without npm
    build_pages(check=check, log=log, instructor=instructor, force=force)
    every = toc_stems()
    if chapters is not None and set(every) <= set(chapters) | {every[0]}:
        chapters = None  # every chapter: the book itself
    if instructor or chapters is not None:
        project = _project(INSTRUCTOR_SOURCE if instructor else PUBLISHED_SOURCE, chapters, instructor)
        built = _jupyter_book(project, log, extra_args)
        html = INSTRUCTOR_HTML if instructor else PUBLISHED_HTML
        files = {path.relative_to(built).as_posix(): path for path in built.rglob("*") if path.is_file()}
        copied = sync_tree(files | {f"{VENDOR_DIR}/{key}": value for key, value in vendored.items()}, html)
        log(f"{'instructor edition' if instructor else 'book'}: {copied} file(s) updated in {html.relative_to(ROOT)}")
    else:
        html = _jupyter_book(ROOT, log, extra_args)
        sync_tree(vendored, html / VENDOR_DIR)
        sync_tree({}, html / "book" / "@jupyter-widgets")  # the widget manager's fonts, from older builds
    finish_html(html, instructor=instructor, log=log)
    return html


def finish_html(html_dir: Path, instructor: bool = False, log=print) -> None:
    """Download buttons give the right notebook; no page may load anything from the web.

    Pages of chapters that no longer exist (Sphinx never deletes an output) are removed first.
    """
    stems = {path.stem for path in sources()}
    for old in [*(html_dir / "book").glob("*.html"), *(html_dir / "_sources" / "book").glob("*")]:
        if old.name.split(".")[0] not in stems:
            old.unlink()
            log(f"book: removed {old.relative_to(html_dir)} (no such chapter in solutions/)")
    for path in sources():
        target = html_dir / "_sources" / "book" / f"{path.stem}.ipynb"
        if not target.exists():
            continue
        if instructor:
            write_if_changed(target, dumps(read_source(path)))
        elif (student := CHAPTERS / f"{path.stem}.ipynb").exists():
            write_if_changed(target, student.read_text())
    offenders = []
    for page in sorted(html_dir.rglob("*.html")):
        if VENDOR_DIR in page.relative_to(html_dir).parts[:1]:
            continue
        text = page.read_text(errors="replace")
        offenders += [f"{page.relative_to(html_dir)}: {text[match.start():match.end() + 60]}"
                      for match in EXTERNAL_ASSET.finditer(text)]
    if offenders:
        raise BuildError("these pages load something from the web, so they break offline:\n  "
                     + "\n  ".join(offenders[:20]))
    log(f"book: {html_dir / 'index.html'}")

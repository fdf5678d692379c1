"""The students' repository: everything students get, and nothing that answers an exercise.

This repository (the instructors', kept private) is the single source. ``python -m autograder
publish DIR`` writes the students' repository into ``DIR`` (:func:`publish`):

- ``chapters/<stem>.ipynb``: the student notebooks of the released chapters, as ``make book``
  derives them (no solution, no hidden test);
- ``autograder/``: the package, without the bank of known-wrong answers (``core/bank/*.md``:
  many are one edit away from a solution), with ``pyproject.toml`` so ``pip install`` works;
- ``requirements.txt``: the lines of ours marked ``# students`` (what the chapters and
  ``python -m autograder check`` need, and JupyterLab); ``binder/`` for the Binder button;
- ``README.md`` and ``.gitignore`` for students, and ``.course-release.json`` (what was released,
  from which commit of this repository, and the SHA-256 of every file the publisher wrote, so that
  a later release notices a file someone changed there and stops instead of replacing it);
- with ``book=True`` (and in every later release), the book of the released chapters in
  ``docs/`` (GitHub Pages serves that folder).

The released chapters are the ones released before plus the ones selected now (default: every
chapter of ``_toc.yml``): rerunning ``publish`` each week adds that week's chapters. Files a
previous run wrote that are no longer produced are removed; files the publisher never wrote (a
licence, a CI workflow) are left alone. When ``DIR`` is a git repository the update is one new
commit, so its history is kept; a new or empty ``DIR`` becomes one.

Before it writes anything, :func:`publish` scans every file it would write (notebooks decoded)
for the lines of the sources' solution and hidden-test regions (:func:`secret_lines`) and stops
if one is there.

``python -m autograder start DIR`` (:func:`start`) copies the chapters into a student's own
working folder, never over a file that is already there, so updating the repository (``git
pull``) or rebuilding never touches a student's work.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .sources import CHAPTERS, ROOT, SOLUTIONS, BuildError, sources, write_if_changed

RELEASE = ".course-release.json"  # in the students' repository
PACKAGE_EXCLUDED = ("core/bank/**/*.md",)  # answers: the banks of wrong (often one edit from right) and correct ones
STUDENT_MARK = re.compile(r"\s#\s*students\b")  # a requirements.txt line students need too
SECRET_REGION = re.compile(r"^[ \t]*### BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)^[ \t]*### END \1",
                           re.MULTILINE | re.DOTALL)
MIN_SECRET = 16  # characters: shorter lines ("return out", "dx = None") say nothing about an answer
GITIGNORE = ".venv/\n__pycache__/\n*.pyc\n*.egg-info/\n.ipynb_checkpoints/\n_build/\n"


class PublishError(BuildError):
    """The students' repository cannot be written; the message says why and what to do."""


# ---------------------------------------------------------------------- what is secret


def secret_lines(paths: list[Path] | None = None) -> set[str]:
    """Stripped lines of the sources' solution and hidden-test regions that appear nowhere else in them.

    A line that also appears outside those regions (in the narrative, a docstring, a visible
    check) is already the students'; lines shorter than :data:`MIN_SECRET` are too generic to
    mean anything.
    """
    secret, public = set(), set()
    for path in paths or sources():
        text = path.read_text()
        for match in SECRET_REGION.finditer(text):
            secret.update(line.strip() for line in match.group(2).splitlines())
        public.update(line.strip() for line in SECRET_REGION.sub("", text).splitlines())
    return {line for line in secret - public if len(line) >= MIN_SECRET}


def readable_text(name: str, raw: bytes) -> str | None:
    """What a file says: a notebook's cell sources and outputs, a text file's text; None for binary files."""
    if b"\0" in raw[:8192]:
        return None
    text = raw.decode("utf-8", errors="replace")
    if name.endswith(".ipynb"):
        try:
            notebook = nbformat.reads(text, as_version=4)
        except Exception:
            return text
        parts = []
        for cell in notebook.cells:
            parts.append(cell.source)
            for output in cell.get("outputs", []):
                parts += [str(output.get("text", "")), *(str(v) for v in output.get("data", {}).values())]
        return "\n".join(parts)
    return text


def leaks(files: dict[str, Path | str], secrets: set[str]) -> list[str]:
    """``"name: line"`` for each secret line in one of ``files`` (name -> file to copy, or the text itself)."""
    found = []
    for name, content in files.items():
        text = readable_text(name, _bytes(content))
        if text is not None:
            found += [f"{name}: {line}" for line in sorted(secrets & {line.strip() for line in text.splitlines()})]
    return found


# ---------------------------------------------------------------------- what students get


def student_requirements() -> str:
    """Our ``requirements.txt`` lines marked ``# students``, exactly pinned as they are there."""
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if STUDENT_MARK.search(line)]
    return ("# What the chapters need, pinned as the course is built and tested with.\n"
            "#   python -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/pip install -e .\n"
            + "\n".join(STUDENT_MARK.split(line)[0].rstrip() for line in lines) + "\n")


def _package_files() -> dict[str, Path]:
    package = ROOT / "autograder"
    excluded = {path for pattern in PACKAGE_EXCLUDED for path in package.glob(pattern)}
    return {f"autograder/{path.relative_to(package).as_posix()}": path for path in sorted(package.rglob("*"))
            if path.is_file() and path not in excluded and "__pycache__" not in path.parts
            and path.suffix not in (".pyc", ".pyo")}


def _repository() -> tuple[str, str, str]:
    """(title, students' repository address, branch) from ``_config.yml``."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = config.get("repository") or {}
    return str(config.get("title", "The course")), str(repository.get("url", "")).rstrip("/"), \
        str(repository.get("branch", "main"))


PLACEHOLDER_HOSTS = ("github.com/your-org/", "example.org", "example.com")  # what _config.yml ships with


def placeholder_addresses() -> list[str]:
    """The settings of ``_config.yml`` that still hold the template's placeholder addresses: the launch
    buttons and the install line that students get would point nowhere."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    settings = {"repository.url": (config.get("repository") or {}).get("url"),
                "launch_buttons.jupyterhub_url": (config.get("launch_buttons") or {}).get("jupyterhub_url")}
    return [f"{name} ({value})" for name, value in settings.items()
            if value and any(host in str(value) for host in PLACEHOLDER_HOSTS)]


def student_readme(chapters: list[str], book: bool) -> str:
    title, url, branch = _repository()
    listing = "\n".join(f"- `chapters/{stem}.ipynb`" for stem in chapters) or "- (none released yet)"
    clone = url or "<the address of this repository>"
    return f"""# {title}: the students' repository

The notebooks of the chapters released so far, and the `autograder` package their checks use.
Each chapter has exercises: functions for you to write, each with a docstring that says what goes
in and what must come out, and a test cell under it that checks your function at once and tells you
what it expected, what came back and the likely cause of a difference.

{listing}

## Set up once

```bash
git clone {clone} cnn-course && cd cnn-course
python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/pip install -e .
```

## Work in your own copy

```bash
.venv/bin/python -m autograder start ~/cnn-work        # copies the chapters there (never over your files)
.venv/bin/jupyter lab ~/cnn-work
```

Keep your work in that folder, not in `chapters/`: `git pull` brings new chapters into
`chapters/`, and `start` again copies only the new ones into your folder. Fill in each cell marked
`# YOUR CODE HERE` and run the test cell below it. Before you hand a notebook in, run the full
grading yourself, hidden randomised checks included:

```bash
.venv/bin/python -m autograder check ~/cnn-work/02-convolution.ipynb
```

On Binder or your course's JupyterHub, use the buttons on each chapter's page of the book. On
Colab, run `%pip install -q git+{clone}@{branch}` in a first cell.
{chr(10) + "The book is in `docs/` (open `docs/index.html`; it works offline)." + chr(10) if book else ""}
This repository is generated from the course's sources by `python -m autograder publish`; changes
made here by hand are replaced at the next release.
"""


def _selected(requested: list[str] | None, released: list[str]) -> list[str]:
    """Stems of the chapters to release, in ``_toc.yml`` order: earlier releases plus ``requested``."""
    from .html import toc_stems

    available = [stem for stem in toc_stems() if (CHAPTERS / f"{stem}.ipynb").exists()]
    if requested is None:
        return available
    chosen = set(released)
    for item in requested:
        for part in filter(None, item.split(",")):
            chosen.update(_resolve(part.strip(), available))
    return [stem for stem in available if stem in chosen]


def _resolve(item: str, available: list[str]) -> list[str]:
    numbers = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
    if numbers:
        low, high = int(numbers.group(1)), int(numbers.group(2) or numbers.group(1))
        found = [stem for stem in available if low <= int(stem[:2]) <= high]
    else:
        found = [stem for stem in available if stem == item or stem == item.removesuffix(".ipynb")]
    if not found:
        raise PublishError(f"no chapter matches {item!r} in --chapters; give numbers (3), ranges (1-3) or names "
                           f"({', '.join(available)})")
    return found


# ---------------------------------------------------------------------- publishing


@dataclass
class Published:
    folder: Path
    chapters: list[str]
    files: list[str]
    commit: str | None  # the new commit, or None when nothing changed


def _git(folder: Path, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise PublishError(f"`git {' '.join(args)}` failed in {folder}: {completed.stderr.strip()[-500:]}")
    return completed.stdout.strip()


def _prepare(folder: Path) -> bool:
    """Check that ``folder`` can take the students' repository; return whether it is a git repository."""
    if folder.resolve() == ROOT or ROOT in folder.resolve().parents:
        raise PublishError(f"{folder} is inside the instructors' repository; publish into a folder of its own "
                           "(a clone of the students' repository, or a new folder)")
    if (folder / ".git").exists():
        if _git(folder, "status", "--porcelain"):
            raise PublishError(f"{folder} has uncommitted changes; commit or discard them first, so that the release "
                               "is one commit of its own")
        return True
    if folder.exists() and any(folder.iterdir()) and not (folder / RELEASE).exists():
        raise PublishError(f"{folder} is not empty and is not a git repository or an earlier release; give a new "
                           "or empty folder, or a clone of the students' repository")
    folder.mkdir(parents=True, exist_ok=True)
    return False


def publish(folder: Path, chapters: list[str] | None = None, book: bool = False, force: bool = False,
            log=print) -> Published:
    """Write the students' repository into ``folder``; commit when it is (or becomes) a git repository.

    A file an earlier release wrote and someone changed since (a README fixed on the web, say) stops
    the release with one line naming it, unless ``force``: the change belongs in this repository.
    """
    from .html import build_book

    folder = Path(folder)
    if not SOLUTIONS.is_dir():
        raise PublishError("this is the students' repository (it has no solutions/): publish from the instructors'")
    is_git = _prepare(folder)
    for setting in placeholder_addresses():
        log(f"warning: _config.yml's {setting} is still the template's placeholder: the students' launch "
            "buttons and install line will point nowhere. Set it (README, 'Launch buttons') and publish again.")
    before = json.loads((folder / RELEASE).read_text()) if (folder / RELEASE).exists() else {}
    stems = _selected(chapters, before.get("chapters", []))
    book = book or bool(before.get("book"))  # once published, the book stays
    if not stems:
        raise PublishError("no student notebook in chapters/ to release; run `make book` first")
    files: dict[str, Path | str] = dict(_package_files())
    files |= {name: ROOT / name for name in ("pyproject.toml",)}
    files |= {f"binder/{path.name}": path for path in sorted((ROOT / "binder").iterdir()) if path.is_file()}
    files |= {f"chapters/{stem}.ipynb": CHAPTERS / f"{stem}.ipynb" for stem in stems}
    files |= {"requirements.txt": student_requirements(), "README.md": student_readme(stems, book),
              ".gitignore": GITIGNORE}
    if book:
        html = build_book(chapters=set(stems), log=log)
        files |= {f"docs/{path.relative_to(html).as_posix()}": path for path in sorted(html.rglob("*"))
                  if path.is_file() and not path.name.startswith(".")}
        files["docs/.nojekyll"] = ""  # GitHub Pages: serve _static/ and the other folders Jekyll would drop
    found = leaks(files, secret_lines())
    if found:
        raise PublishError(f"the students' repository would contain {len(found)} line(s) of a solution or a hidden "
                           f"test, so nothing was written; remove them from the package or the notebooks: "
                           + "; ".join(found[:5]))
    wrote = before.get("files") if isinstance(before.get("files"), dict) else {}
    changed = [name for name, digest in sorted(wrote.items()) if (folder / name).is_file()
               and _digest((folder / name).read_bytes()) != digest and name != RELEASE
               and (name not in files or _digest(_bytes(files[name])) != _digest((folder / name).read_bytes()))]
    if changed and not force:
        raise PublishError(f"{', '.join(changed[:5])} in {folder} {'was' if len(changed) == 1 else 'were'} changed "
                           "since the last release, and this release would replace or remove "
                           f"{'it' if len(changed) == 1 else 'them'}: make the change in the instructors' repository "
                           "(the students' one is generated), then publish again with --force")
    for name, content in files.items():
        target = folder / name
        if isinstance(content, Path):
            if not (target.exists() and target.read_bytes() == content.read_bytes()):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(content, target)
            shutil.copymode(content, target)  # binder/postBuild stays executable
        else:
            write_if_changed(target, content)
    for name in wrote:  # written by an earlier release, no longer produced
        if name not in files and name != RELEASE and (folder / name).is_file():
            (folder / name).unlink()
    source_commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                   text=True, check=False).stdout.strip()
    record = {"chapters": stems, "book": book, "source_commit": source_commit,
              "files": {name: _digest(_bytes(content)) for name, content in sorted(files.items())}}
    write_if_changed(folder / RELEASE, json.dumps(record, indent=1) + "\n")
    commit = _commit(folder, is_git, stems, source_commit)
    log(f"published {len(stems)} chapter(s) into {folder}: {', '.join(stems)}"
        + (f" (commit {commit})" if commit else " (nothing changed since the last release)"))
    return Published(folder, stems, sorted(files), commit)


def _bytes(content: Path | str) -> bytes:
    return content.read_bytes() if isinstance(content, Path) else content.encode()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _commit(folder: Path, is_git: bool, stems: list[str], source_commit: str) -> str | None:
    if not is_git:
        _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", "-A")
    if not _git(folder, "status", "--porcelain"):
        return None
    who = [] if _git_identity(folder) else ["-c", "user.name=Course publisher", "-c", "user.email=publisher@localhost"]
    numbers = ", ".join(stem[:2] for stem in stems)
    _git(folder, *who, "commit", "-q", "-m", f"Release chapters {numbers}"
         + (f" (from {source_commit} of the course's sources)" if source_commit else ""))
    return _git(folder, "rev-parse", "--short", "HEAD")


def _git_identity(folder: Path) -> bool:
    completed = subprocess.run(["git", "config", "user.email"], cwd=folder, capture_output=True, text=True,
                               check=False)
    return bool(completed.stdout.strip())


# ---------------------------------------------------------------------- a student's own copy


def start(folder: Path, log=print) -> list[Path]:
    """Copy every chapter notebook into ``folder`` (created if needed), never over an existing file."""
    folder = Path(folder).expanduser()
    if folder.resolve() == CHAPTERS.resolve():
        raise BuildError("give a folder of your own, not chapters/ itself (e.g. ~/cnn-work)")
    if folder.exists() and not folder.is_dir():
        raise BuildError(f"{folder} is a file; give a folder for your notebooks (e.g. ~/cnn-work)")
    notebooks = sorted(CHAPTERS.glob("[0-9][0-9]-*.ipynb"))
    if not notebooks:
        raise BuildError(f"no chapter notebooks in {CHAPTERS}; run this from the course's repository")
    folder.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for notebook in notebooks:
        target = folder / notebook.name
        if target.exists():
            kept.append(notebook.name)
            continue
        shutil.copyfile(notebook, target)
        copied.append(target)
    log(f"copied {len(copied)} chapter(s) into {folder}"
        + (f"; kept your {len(kept)} existing notebook(s) as they are: {', '.join(kept)}" if kept else ""))
    return copied


"""The student notebooks under ``chapters/``: written by the build, never over a person's work.

The build derives ``chapters/<stem>.ipynb`` from each source and records the SHA-256 of what it
wrote in ``chapters/.generated.json`` (committed with the notebooks). Before it replaces a
notebook it compares the file with that record: a notebook that differs from what was last
generated was changed by someone (a student who filled it in, an author who edited a derived
file by mistake), and the build stops with one line that names it, unless ``force`` is given.
With ``check`` (CI) nothing is written and any difference, in a notebook or in the record, is
reported as stale.
"""

from __future__ import annotations

import hashlib
import json

from .sources import CHAPTERS, ROOT, BuildError, write_if_changed

MANIFEST = CHAPTERS / ".generated.json"
REBUILD = "`make book`"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def generated() -> dict[str, str]:
    """File name -> SHA-256 of what the build last wrote there (empty before the first build)."""
    try:
        record = json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def edited(name: str, record: dict[str, str] | None = None) -> bool:
    """Whether ``chapters/<name>`` exists and differs from what the build last wrote there."""
    path = CHAPTERS / name
    record = generated() if record is None else record
    return path.exists() and record.get(name) != digest(path.read_text())


def write_student_notebooks(texts: dict[str, str], check: bool = False, force: bool = False, log=print) -> None:
    """Make ``chapters/`` hold ``texts`` (file name -> notebook text) and record their digests.

    Raise :class:`BuildError` (one line) when a notebook to be replaced was edited since it was
    generated (unless ``force``), or, with ``check``, when anything is stale; nothing is written then.
    """
    record = generated()
    wanted = {name: digest(text) for name, text in texts.items()}
    changed = [name for name, text in texts.items()
               if not (CHAPTERS / name).exists() or (CHAPTERS / name).read_text() != text]
    if check:
        stale = [f"chapters/{name}" for name in changed]
        if {name: record.get(name) for name in texts} != wanted:
            stale.append(str(MANIFEST.relative_to(ROOT)))
        if stale:
            raise BuildError(f"these student notebooks are stale (regenerate with {REBUILD} and commit them): "
                             + ", ".join(stale))
        return
    mine = [f"chapters/{name}" for name in changed if edited(name, record)]
    if mine and not force:
        raise BuildError(
            f"{', '.join(mine)} {'was' if len(mine) == 1 else 'were'} changed since the build generated "
            f"{'it' if len(mine) == 1 else 'them'}, and the build would overwrite the changes: move your work out of "
            "chapters/ (`python -m autograder start DIR` makes a working copy of the chapters), or overwrite it "
            "with `python -m autograder book --force`")
    for name in changed:
        write_if_changed(CHAPTERS / name, texts[name])
        log(f"derive: wrote chapters/{name}" + (" (over changes made by hand: --force)" if f"chapters/{name}" in mine
                                                else ""))
    record.update(wanted)
    write_if_changed(MANIFEST, json.dumps(dict(sorted(record.items())), indent=1) + "\n")

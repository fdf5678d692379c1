"""The build's step that writes the expected values shipped with the package.

``autograder/core/expected/<stem>.json`` holds the expected value of every visible case of the
chapter's checks (:mod:`autograder.core.expected`), so that ``check()`` in a student's kernel needs
no torch. The files are derived from ``core/`` (the checks' cases and the reference) and committed,
like the student notebooks: the build writes them, and in CI (``check``) it fails if one is stale.

Computing them takes a few seconds (chapter 9's reference training loop is most of it), so the build
remembers, in ``_build/expected-cache.json``, the digest of ``core/`` and of each file it last
found fresh, and computes a chapter again only when either has changed.
"""

from __future__ import annotations

import hashlib
import json

from ..core import expected
from ..core.checks import for_chapter
from ..core.digest import digest_folders
from .sources import ROOT, BuildError, write_if_changed

CACHE_FILE = ROOT / "_build" / "expected-cache.json"
REBUILD = "`python -m autograder build`"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _has_checks(stem: str) -> bool:
    try:
        return bool(for_chapter(stem))
    except KeyError:
        return False


def write_expected(stems: list[str], check: bool = False, log=print) -> list[str]:
    """Make ``autograder/core/expected/`` hold the expected values of the visible cases of ``stems``'
    checks (one file per chapter that has checks; files of other chapters are removed). With ``check``,
    write nothing and raise :class:`BuildError` (one line) if a file is stale, missing or extra.
    Returns the stems written (or, with ``check``, found stale)."""
    try:
        cache = json.loads(CACHE_FILE.read_text())
    except (OSError, ValueError):
        cache = {}
    core = digest_folders("core").hexdigest()
    wanted = [stem for stem in stems if _has_checks(stem)]
    changed, fresh = [], {}
    for stem in wanted:
        path = expected.path(stem)
        current = path.read_text() if path.exists() else None
        if current is not None and cache.get(stem) == [core, _sha(current)]:
            fresh[stem] = cache[stem]
            continue
        text = expected.generate(stem)
        if current != text:
            changed.append(stem)
            if not check:
                write_if_changed(path, text)
                log(f"expected values: wrote {path.relative_to(ROOT)} ({len(text.encode()):,} bytes)")
        if not check or current == text:
            fresh[stem] = [core, _sha(text)]
    extra = sorted(path for path in expected.FOLDER.glob("*.json") if path.stem not in wanted)
    if check and (changed or extra):
        names = [str(expected.path(stem).relative_to(ROOT)) for stem in changed]
        names += [f"{path.relative_to(ROOT)} (no such chapter)" for path in extra]
        raise BuildError(f"the shipped expected values are stale (regenerate them with {REBUILD} and commit "
                         f"them): {', '.join(names)}")
    for path in extra:
        path.unlink()
        log(f"expected values: removed {path.relative_to(ROOT)} (no such chapter)")
    CACHE_FILE.parent.mkdir(parents=True, exist_ok=True)
    CACHE_FILE.write_text(json.dumps(fresh, indent=1, sort_keys=True) + "\n")
    return changed

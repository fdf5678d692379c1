"""Digests of the package's own source files: what a cached result was computed with.

The book's execution cache (:mod:`autograder.build`) and the grader's "already graded" key
(:mod:`autograder.grading.results`) each hash the part of the package their results depend on.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def source_files(names, exclude=()) -> list[Path]:
    """The ``.py`` files of ``names`` (modules or packages, relative to the package), minus ``exclude``."""
    files = []
    for name in names:
        root = PACKAGE / name
        files += sorted(root.rglob("*.py")) if root.is_dir() else [root]
    return [path for path in files if path.relative_to(PACKAGE).as_posix() not in exclude]


def digest_files(paths, base: Path, digest=None):
    """``digest`` (a new SHA-256 by default) updated with each file's path relative to ``base`` and its bytes."""
    digest = digest or hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes())
    return digest

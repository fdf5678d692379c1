"""Digests of whole folders of the package: what a cached result was computed with.

Keys are made of folders, never of hand-written file lists, so nothing a result depends on can be
left out: the book's execution cache (:mod:`autograder.book.execute`) digests what a page's kernel
can import (``core/``, ``kernel/``), and the grader's "already graded" key
(:mod:`autograder.course.store`) digests what decides a score (``core/``, ``sandbox/``,
``grader/``). The package's ``__init__.py`` is in both: everything imports it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # autograder/


def package_files(*folders: str) -> list[Path]:
    """Every ``.py`` file under the given folders of the package (recursively), and its ``__init__.py``."""
    files = [PACKAGE / "__init__.py"]
    for folder in folders:
        root = PACKAGE / folder
        if not root.is_dir():
            raise ValueError(f"autograder/{folder} is not a folder of the package")
        files += sorted(root.rglob("*.py"))
    return files


def digest_files(paths, base: Path, digest=None):
    """``digest`` (a new SHA-256 by default) updated with each file's path relative to ``base`` and its bytes."""
    digest = digest or hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes())
    return digest


def digest_folders(*folders: str, digest=None):
    """``digest`` updated with every source file of the package's ``folders`` (see :func:`package_files`)."""
    return digest_files(package_files(*folders), PACKAGE, digest)

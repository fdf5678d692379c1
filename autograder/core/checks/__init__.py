"""Per-chapter checks. Chapter ``NN-some-title`` lives in module ``chNN_some_title``.

Each chapter module defines ``CHECKS``, a list of :class:`~autograder.core.checks.base.Check`; the
questions at the end of each chapter (:mod:`.questions`) are registered with it.
"""

from __future__ import annotations

import importlib
import re

from . import questions
from .base import FORBIDDEN, Case, Check, Diagnosis, Finding, Group, Mistake, Returned, Verdict, compare

__all__ = ["FORBIDDEN", "Case", "Check", "Diagnosis", "Finding", "Group", "Mistake", "Returned", "Verdict", "compare",
           "for_chapter", "get", "module_name", "stem_of"]


def module_name(stem: str) -> str:
    """``02-convolution`` -> ``ch02_convolution``."""
    if not re.fullmatch(r"\d\d-[a-z0-9-]+", stem):
        raise KeyError(f"{stem!r} is not a chapter stem like '02-convolution'")
    number, title = stem.split("-", 1)
    return f"ch{number}_{title.replace('-', '_')}"


def stem_of(module: str) -> str:
    """``ch02_convolution`` -> ``02-convolution``: :func:`module_name` the other way."""
    number, title = module.removeprefix("ch").split("_", 1)
    return f"{number}-{title.replace('_', '-')}"


def for_chapter(stem: str) -> dict[str, Check]:
    try:
        module = importlib.import_module(f"{__name__}.{module_name(stem)}")
    except ModuleNotFoundError:
        raise KeyError(f"no checks are defined for chapter {stem!r}") from None
    return {check.id: check for check in [*module.CHECKS, *questions.for_chapter(stem)]}


def get(check_id: str) -> Check:
    """The check with id ``<chapter-stem>.<function>``."""
    stem = check_id.split(".", 1)[0]
    checks = for_chapter(stem)
    if check_id not in checks:
        known = ", ".join(sorted(checks))
        raise KeyError(f"unknown check {check_id!r}; chapter {stem} defines: {known}")
    return checks[check_id]

"""The bank of known-wrong answers: for every exercise, the mistakes students make, written out.

One Markdown file per chapter, ``<stem>.md`` (data, not code the package runs). Each entry is::

    ## <function>: <what is wrong>

    score: <the exact score its test cell gets> · mistake: <the name the grader must give it>

    <optionally, why it scores what it does>

    ```python
    <the exercise cell's replacement source>
    ```

``tests/test_bank.py`` grades every entry through the real sandbox (it replaces the exercise's
cell of the reference solution) and asserts its exact score and the mistake the grader names;
:meth:`Wrong.validate` refuses a mistake name the check cannot diagnose. The demo course
(:mod:`autograder.course.demo`) hands chapter 2's entries to its mistaken students.

Beside it, ``correct/<stem>.md`` is the bank of correct answers written differently from the
reference (another algorithm, views, lists, loops, float32, a copy changed in place): the same
entries without a score line, each of which must keep full marks (``tests/test_verdicts.py``)::

    ## <function>: <how it differs>

    <optionally, why it is still correct>

    ```python
    <the exercise cell's replacement source>
    ```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..checks import get

FOLDER = Path(__file__).resolve().parent
ENTRY = re.compile(r"^## (?P<function>\w+): (?P<name>.+?)\n\nscore: (?P<score>[\d./]+)(?: · mistake: (?P<mistake>.+?))?\n"
                   r"(?:\n(?!```)(?P<why>.+?)\n)?\n```python\n(?P<source>.*?)^```$", re.MULTILINE | re.DOTALL)
CORRECT_ENTRY = re.compile(r"^## (?P<function>\w+): (?P<name>.+?)\n\n(?:(?!```)(?P<why>.+?)\n\n)?"
                           r"```python\n(?P<source>.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Answer:
    """One replacement of an exercise's solution cell."""

    check_id: str  # e.g. "02-convolution.conv_forward_naive"
    name: str  # what is wrong, or different, about it: for the test id
    source: str  # the full replacement source of the exercise's solution cell

    @property
    def function(self) -> str:
        """The exercise's function, which is also the grade id of its solution cell."""
        return self.check_id.split(".", 1)[1]


@dataclass(frozen=True)
class Correct(Answer):
    """A correct answer written differently from the reference: it must keep full marks."""

    why: str = ""  # why it is still correct, when that needs saying


@dataclass(frozen=True)
class Wrong(Answer):
    """A known-wrong answer: its exact score and the mistake the grader must name."""

    score: float = 0.0  # the exact score the test cell must get (out of its nbgrader points)
    mistake: str = ""  # the name of the mistake the grader must report ("" when none is expected)
    why: str = ""  # why it scores what it does, when that needs saying

    def validate(self) -> None:
        """Raise ValueError unless ``mistake`` is "" or a name the check can diagnose."""
        known = get(self.check_id).mistake_names
        if self.mistake and self.mistake not in known:
            raise ValueError(f"bank entry {self.check_id}: {self.name!r} expects the mistake {self.mistake!r}, "
                             f"which that check cannot diagnose; its mistakes are: {', '.join(sorted(known))}")


def _score(text: str) -> float:
    numerator, _, denominator = text.partition("/")
    return float(numerator) / float(denominator) if denominator else float(numerator)


def parse(stem: str, text: str) -> list[Wrong]:
    """The entries of one chapter's bank file; a malformed entry is a ValueError naming it."""
    entries = [Wrong(f"{stem}.{m['function']}", m["name"], m["source"], _score(m["score"]), m["mistake"] or "",
                     (m["why"] or "").strip()) for m in ENTRY.finditer(text)]
    return _whole(f"bank/{stem}.md", text, entries, "a score line and a python block")


def parse_correct(stem: str, text: str) -> list[Correct]:
    """The entries of one chapter's file of correct answers; a malformed entry is a ValueError naming it."""
    entries = [Correct(f"{stem}.{m['function']}", m["name"], m["source"], (m["why"] or "").strip())
               for m in CORRECT_ENTRY.finditer(text)]
    return _whole(f"bank/correct/{stem}.md", text, entries, "a python block")


def _whole(where: str, text: str, entries: list, needs: str) -> list:
    headings = re.findall(r"^## .*$", text, re.MULTILINE)
    if len(entries) != len(headings):
        found = {f"## {answer.function}: {answer.name}" for answer in entries}
        broken = [heading for heading in headings if heading not in found]
        raise ValueError(f"{where}: cannot read the entries {broken}; each needs {needs}")
    return entries


@cache
def load(stem: str) -> tuple[Wrong, ...]:
    """The known-wrong answers of chapter ``stem`` (e.g. ``02-convolution``)."""
    return tuple(parse(stem, (FOLDER / f"{stem}.md").read_text()))


def every() -> list[Wrong]:
    """Every chapter's known-wrong answers, in chapter order."""
    return [wrong for path in sorted(FOLDER.glob("[0-9][0-9]-*.md")) for wrong in load(path.stem)]


def every_correct() -> list[Correct]:
    """Every chapter's correct-but-different answers, in chapter order."""
    return [right for path in sorted((FOLDER / "correct").glob("[0-9][0-9]-*.md"))
            for right in parse_correct(path.stem, path.read_text())]

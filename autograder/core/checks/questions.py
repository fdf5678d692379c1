"""Conceptual questions: a value in an answer cell, graded like an exercise.

Each chapter ends with a few questions ("Check your understanding"). The student answers one by
setting a variable in its answer cell (an nbgrader solution cell), ``answer_02_1 = 28`` or
``answer_07_2 = "b"``; its test cell is ``check("02-convolution.answer_02_1")`` like any other.
A :class:`Question` is a :class:`~autograder.core.checks.base.Check` whose single case calls nothing:
the grader's harness and ``check()`` in Jupyter fetch the variable by name (:func:`is_answer`)
and hand its value to the usual :meth:`Check.judge`, with two groups:

- the visible one (``check()`` in the notebook) looks at the *form* only: a number (a whole one
  where asked), or one of the listed letters. It never says whether the answer is right;
- the hidden one (the grader, ``check(..., hidden=True)``) compares with the answer key and, when
  the answer is wrong, explains the right one (the key's explanation), naming the mistake when the
  wrong answer is a known one.

What this module holds is published with the package: only each question's form. The answer key
(answers, tolerances, explanations, known wrong answers with their diagnoses) is instructors'
data in ``core/bank/questions/<stem>.md``, which ``publish`` leaves out like the rest of the bank
(``core/bank/**/*.md``). Without it, the visible check works and the hidden one says it cannot grade.

A key file has one section per question::

    ## answer_02_1

    answer: 28                          (or: answer: b   or: answer: 2.3 ± 0.05)

    Why 28 is right: one or more paragraphs, shown after grading.

    wrong: 30 · <mistake name>: <what that answer got wrong>
    wrong: 27 · <mistake name>: <...>
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..results import CallError, ErrorKind
from .base import FORBIDDEN, Case, Check, Diagnosis, Finding, Group, Mistake, Returned, type_name

ANSWER = re.compile(r"answer_(\d\d)_(\d+)")  # the variable (and grade id) of a question's answer cell
KEYS = Path(__file__).resolve().parent.parent / "bank" / "questions"
POINTS = 1  # each question's test cell is worth one point
WHOLE, NUMBER = "a whole number", "a number"

# Each chapter's questions, in order: question k (answer_NN_k) is a whole number, any number (its
# tolerance is in the key), or a multiple choice among the given letters.
FORMS: dict[str, tuple[str, ...]] = {
    "01-images-as-arrays": (WHOLE, "abcd"),
    "02-convolution": (WHOLE, WHOLE),
    "03-feature-detectors": (WHOLE, "abcd"),
    "04-nonlinearity-and-pooling": (WHOLE, "abcd"),
    "05-going-deeper": (WHOLE, WHOLE),
    "06-fully-connected-and-softmax": (WHOLE, "abcd"),
    "07-loss": (NUMBER, "abcd"),
    "08-backpropagation": ("abc", "abcd"),
    "09-training": (WHOLE, "abcd"),
    "10-testing": (NUMBER, "abcd"),
    "11-beyond": (WHOLE, "abcd"),
}

FORM_ONLY = ("This check looks only at the form of your answer; it does not say whether the answer is "
             "right. That is decided when your notebook is graded, and the feedback then explains the answer.")


def is_answer(name: str) -> bool:
    """Whether ``name`` is a question's answer variable (a value to fetch, not a function to call)."""
    return ANSWER.fullmatch(name) is not None


@dataclass(frozen=True)
class Ask(Case):
    """The one case of a question's group: no inputs; ``graded`` when it compares with the key."""

    graded: bool = False


@dataclass(frozen=True)
class Key:
    """One question's entry in the answer key."""

    answer: object  # an int, a float, or a lower-case letter
    tolerance: float
    explanation: str
    wrong: tuple[tuple[object, Mistake], ...]  # known wrong answers and what each got wrong


def _value(text: str):
    text = text.strip()
    if re.fullmatch(r"[a-z]", text):
        return text
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


SECTION = re.compile(r"^## (answer_\d\d_\d+)\n(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)
ANSWER_LINE = re.compile(r"^answer: (\S+)(?: ± (\S+))?$", re.MULTILINE)
WRONG_LINE = re.compile(r"^wrong: (\S+) · (.+?): (.+)$", re.MULTILINE)


def parse_keys(text: str) -> dict[str, Key]:
    """The answer keys of one chapter's key file (see the module's docstring); ValueError on a bad one."""
    keys = {}
    for name, body in SECTION.findall(text):
        found = ANSWER_LINE.search(body)
        if not found:
            raise ValueError(f"answer key {name}: no `answer: ...` line")
        prose = WRONG_LINE.sub("", ANSWER_LINE.sub("", body))
        explanation = " ".join(prose.split())
        wrong = tuple((_value(value), Mistake(mistake, explain.strip()))
                      for value, mistake, explain in WRONG_LINE.findall(body))
        if not explanation:
            raise ValueError(f"answer key {name}: no explanation")
        keys[name] = Key(_value(found[1]), float(found[2] or 0.0), explanation, wrong)
    return keys


@cache
def keys(stem: str) -> dict[str, Key]:
    """Chapter ``stem``'s answer keys; empty where the key file is not installed (the students' copy)."""
    path = KEYS / f"{stem}.md"
    return parse_keys(path.read_text()) if path.is_file() else {}


def _as_number(got):
    """``got`` as a Python int or float, or None when it is not one number."""
    if isinstance(got, np.ndarray) and got.size == 1 and got.dtype.kind in "iuf":
        got = got.reshape(()).item()
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return None
    return got


def _no_reference(*args, **kwargs):
    raise TypeError("a question has no reference function: its answer key decides")


@dataclass
class Question(Check):
    """One conceptual question (see the module's docstring). ``form`` is :data:`WHOLE`, :data:`NUMBER`
    or the letters of a multiple choice."""

    form: str = WHOLE

    @property
    def key(self) -> Key | None:
        return keys(self.stem).get(self.function)

    @property
    def wants(self) -> str:
        """The form of an answer, in words."""
        if self.form in (WHOLE, NUMBER):
            return self.form
        return "one of the letters " + ", ".join(f'"{letter}"' for letter in self.form)

    def normal(self, got):
        """``got`` in the form this question asks for (a number, or a lower-case letter), or None."""
        if self.form in (WHOLE, NUMBER):
            number = _as_number(got)
            if number is None or not math.isfinite(number) or (self.form == WHOLE and number != int(number)):
                return None
            return int(number) if self.form == WHOLE else float(number)
        letter = got.strip().lower() if isinstance(got, str) else None
        return letter if letter and letter in self.form else None

    def judge(self, case: Ask, got, evidence=()):
        """As every check judges, except that an answer left unset (None) is *not attempted*, like an
        exercise that still raises NotImplementedError: no value, no points, status error."""
        if (got.value if isinstance(got, Returned) else got) is None:
            got = CallError(ErrorKind.NOT_IMPLEMENTED, f"has no answer yet: replace the stub in the answer cell by "
                                                       f"`{self.function} = ...`, {self.wants}, and run that cell")
        return super().judge(case, got, evidence)

    def assess(self, case: Ask, got) -> Finding:
        answer = self.normal(got)
        if answer is None:
            shown = repr(got) if isinstance(got, (str, int, float)) else type_name(got)
            return Finding(f"is {shown}, but the question asks for {self.wants}")
        if not case.graded:
            return Finding(None, note=FORM_ONLY)
        key = self.key
        if key is None:
            return Finding("cannot be graded here: this installation has no answer key (it is graded when "
                           "you hand the notebook in)")
        if self._same(key.answer, answer, key.tolerance):
            return Finding(None, note=key.explanation)
        known = next((mistake for value, mistake in key.wrong if self._same(value, answer, key.tolerance)), None)
        text = f"{known.name}: {known.explain} " if known else ""
        return Finding(f"your answer {answer!r} is not right",
                       Diagnosis(known.name if known else "", f"{text}The answer, explained: {key.explanation}"))

    @staticmethod
    def _same(right, answer, tolerance: float) -> bool:
        if isinstance(right, str) or isinstance(answer, str):
            return right == answer
        return abs(answer - right) <= tolerance

    @property
    def mistake_names(self) -> set[str]:
        return {mistake.name for _, mistake in self.key.wrong} if self.key else set()


def _cases(graded: bool):
    note = "graded against the answer key" if graded else "its form only"
    return lambda rng: [Ask((), {}, note, graded)]


def question(stem: str, k: int, form: str) -> Question:
    """Question ``k`` of chapter ``stem``: the check ``<stem>.answer_NN_k``."""
    return Question(id=f"{stem}.answer_{stem[:2]}_{k}", params=(), reference=_no_reference,
                    groups=[Group("the form of the answer", _cases(False), weight=0.0, visible=True),
                            Group("the answer", _cases(True), weight=1.0)],
                    forbidden=FORBIDDEN, timeout=5.0, keeps_inputs=False, form=form,
                    summary=f"question {int(stem[:2])}.{k}: {form if form in (WHOLE, NUMBER) else 'multiple choice'}")


def for_chapter(stem: str) -> list[Question]:
    """The questions at the end of chapter ``stem`` (none for a chapter without any)."""
    return [question(stem, k, form) for k, form in enumerate(FORMS.get(stem, ()), start=1)]

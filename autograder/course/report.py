"""``python -m autograder report ASSIGNMENT``: what the class got right and wrong, on one HTML page.

Everything comes from the stored results (``DIR/.autograder/results/<assignment>/*.json``),
nbgrader's gradebook (the final scores: a TA's scores, late penalties) and the log of ``grade``
runs, so the report costs no grading. The page is self-contained: its figures are PNGs drawn with
Matplotlib's Agg backend and embedded as base64, its style is inline, and it loads nothing from
anywhere. It shows:

- the distribution of final scores (automatic and manual, less late penalties) and summary statistics;
- per exercise, the share of full marks and the mean score (with the TA's scores where they set
  one, and how many they set); per check group (visible and hidden), the share of submissions that
  passed it;
- what waits for grading by hand (free-text answers, scores set by hand before a resubmission
  changed the work), and the late submissions with their penalties;
- tampering attempts and pairs of unusually similar submissions, side by side (:mod:`.integrity`);
- the most common diagnosed mistakes, with counts, and the errors the submitted code raised;
- the submissions that failed to grade, and why;
- the time spent grading: per submission, and per ``grade`` run (wall time, throughput).
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..core.results import SubmissionResult
from . import gradebook, integrity, paths
from . import store as results
from .batch import check_course, load_specs
from .directory import CourseError, db_url_of


@dataclass
class ExerciseStats:
    check_id: str
    points: float
    attempts: int = 0  # graded notebooks that have this check
    full: int = 0
    total_score: float = 0.0  # the final scores (a TA's score where they set one)
    manual: int = 0  # scores a TA set by hand
    groups: dict[str, list[int]] = field(default_factory=dict)  # name -> [passed, seen]

    @property
    def full_rate(self) -> float:
        return self.full / self.attempts if self.attempts else 0.0

    @property
    def mean(self) -> float:
        return self.total_score / self.attempts if self.attempts else 0.0


@dataclass
class Stats:
    assignment: str
    max_score: float
    submissions: int = 0
    scores: list[float] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    exercises: dict[str, ExerciseStats] = field(default_factory=dict)
    mistakes: Counter = field(default_factory=Counter)  # (check id, name) -> submissions
    explain: dict[tuple[str, str], str] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)  # (check id, kind) -> submissions
    seconds: list[tuple[float, str]] = field(default_factory=list)
    budgets: dict[str, float] = field(default_factory=dict)  # student -> time budget (s), summed over notebooks
    runs: list[dict] = field(default_factory=list)
    pending: list[tuple[str, str, str]] = field(default_factory=list)  # (student, cell, needs grading | review)
    late: list[tuple[str, str, float]] = field(default_factory=list)  # (student, how late, penalty)
    attempts: list[integrity.Attempt] = field(default_factory=list)
    pairs: list[integrity.Pair] = field(default_factory=list)


def gather(course: Path, assignment: str, db_url: str | None = None) -> Stats:
    course = check_course(course)
    specs = load_specs(course, assignment)
    stored = results.load(course, assignment)
    if not stored:
        raise CourseError(f"no results for {assignment!r} yet; grade first: "
                          f"python -m autograder grade {assignment} --course {course}")
    standings = gradebook.standings(db_url or db_url_of(course), assignment)
    stats = Stats(assignment, sum(spec.max_score for spec in specs.values()))
    for spec in specs.values():
        for test in spec.tests:
            stats.exercises[test.check_id] = ExerciseStats(test.check_id, test.points)
    for student, data in sorted(stored.items()):
        result = SubmissionResult.from_dict(data)
        standing = standings.get(student)
        by_cell = {(cell.notebook, cell.name): cell for cell in standing.cells} if standing else {}
        stats.submissions += 1
        stats.scores.append(standing.score if standing else result.score)
        if standing:
            stats.max_score = max(stats.max_score, standing.max_score)
            stats.pending += [(student, cell.name, cell.status) for cell in standing.pending]
            if standing.seconds_late > 0:
                stats.late.append((student, standing.lateness, standing.penalty))
        stats.seconds.append((float(data.get("seconds", 0.0)), student))
        stats.budgets[student] = sum(nb.budget for nb in result.notebooks)
        if result.status != "graded":
            stats.failed.append((student, result.status))
        for notebook in result.notebooks:
            if notebook.failure:
                continue
            for check in notebook.checks:
                exercise = stats.exercises.setdefault(check.check_id, ExerciseStats(check.check_id, check.points))
                cell = by_cell.get((notebook.name, check.grade_id))
                score = cell.score if cell is not None else check.score
                exercise.attempts += 1
                exercise.total_score += score
                exercise.full += score >= check.points
                exercise.manual += cell is not None and cell.manual is not None
                seen_mistakes, seen_errors = set(), set()
                for group in check.groups:
                    counts = exercise.groups.setdefault(group.name, [0, 0])
                    counts[0] += group.passed
                    counts[1] += 1
                    if group.passed:
                        continue
                    if group.mistake:
                        seen_mistakes.add(group.mistake)
                        stats.explain.setdefault((check.check_id, group.mistake),
                                                 group.diagnosis.removeprefix(f"{group.mistake}: "))
                    elif group.error:
                        seen_errors.add(group.error_label)
                for name in seen_mistakes:
                    stats.mistakes[(check.check_id, name)] += 1
                for kind in seen_errors:
                    stats.errors[(check.check_id, kind)] += 1
    stats.runs = results.load_runs(course, assignment)
    folders = {student: paths.submission_dir(course, student, assignment) for student in stored}
    folders = {student: folder for student, folder in folders.items() if folder.is_dir()}
    stats.attempts = integrity.tampering(folders, specs)
    base = sorted(paths.release_dir(course, assignment).glob("*.ipynb")) + sorted(
        paths.source_dir(course, assignment).glob("*.ipynb"))
    stats.pairs = integrity.similar_pairs(folders, specs, base)
    return stats


# ---------------------------------------------------------------------- figures


def _png(figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def score_histogram(stats: Stats) -> str:
    figure = _figure(6.5, 3.0)
    axes = figure.add_subplot()
    top = max(stats.max_score, max(stats.scores, default=0.0), 1.0)
    bins = min(20, max(5, int(top)))
    axes.hist(stats.scores, bins=bins, range=(0, top), color="#4c72b0", edgecolor="white")
    axes.set_xlabel(f"score (out of {stats.max_score:g})")
    axes.set_ylabel("submissions")
    axes.set_title("Score distribution")
    return _png(figure)


def exercise_chart(stats: Stats) -> str:
    exercises = list(stats.exercises.values())
    figure = _figure(6.5, 0.45 * len(exercises) + 1.0)
    axes = figure.add_subplot()
    names = [e.check_id.split(".", 1)[1] for e in exercises][::-1]
    full = [100 * e.full_rate for e in exercises][::-1]
    mean = [100 * e.mean / e.points if e.points else 0.0 for e in exercises][::-1]
    positions = range(len(names))
    axes.barh([p + 0.2 for p in positions], mean, height=0.4, color="#a1c9f4", label="mean score")
    axes.barh([p - 0.2 for p in positions], full, height=0.4, color="#4c72b0", label="full marks")
    axes.set_yticks(list(positions), names)
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of graded submissions")
    axes.legend(loc="lower right", fontsize="small")
    axes.set_title("Per exercise")
    return _png(figure)


def _budget(stats: Stats, student: str) -> str:
    """A submission's time budget as the report shows it ("" for results stored before budgets)."""
    budget = stats.budgets.get(student, 0.0)
    return f"{budget:g}" if budget else ""


def time_histogram(stats: Stats) -> str:
    figure = _figure(6.5, 2.6)
    axes = figure.add_subplot()
    axes.hist([s for s, _ in stats.seconds], bins=20, color="#55a868", edgecolor="white")
    axes.set_xlabel("seconds to grade one submission (in its worker)")
    axes.set_ylabel("submissions")
    return _png(figure)


# ---------------------------------------------------------------------- page


def _bar(fraction: float) -> str:
    colour = "#1a7f37" if fraction >= 0.8 else "#9a6700" if fraction >= 0.5 else "#cf222e"
    return (f"<div class='bar'><div style='width:{100 * fraction:.1f}%;background:{colour}'></div></div>"
            f"{100 * fraction:.0f}%")


def _table(head: list[str], body: list[list[str]]) -> str:
    rows = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in body)
    return "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + f"</tr>{rows}</table>"


def render(stats: Stats) -> str:
    e = html.escape
    scores = stats.scores
    graded = stats.submissions - len(stats.failed)
    parts = [f"<h1>{e(stats.assignment)}: grading report</h1>",
             (f"<p>{stats.submissions} submissions, {graded} graded, {len(stats.failed)} failed to grade. "
              f"Mean score {statistics.fmean(scores):.2f} / {stats.max_score:g}, median "
              f"{statistics.median(scores):g}, full marks: {sum(s >= stats.max_score for s in scores)}.</p>"),
             f"<img alt='score distribution' src='{score_histogram(stats)}'>",
             "<h2>Exercises</h2>", f"<img alt='per exercise' src='{exercise_chart(stats)}'>"]
    body = [[f"<code>{e(x.check_id)}</code>", f"{x.points:g}", f"{x.mean:.2f}", _bar(x.full_rate), str(x.attempts),
             str(x.manual)] for x in stats.exercises.values()]
    parts.append(_table(["exercise", "points", "mean score", "full marks", "graded", "set by hand"], body))
    parts.append("<h2>Grading by hand</h2>")
    if stats.pending:
        parts.append("<p>Not final until a TA grades them in formgrader (then run <code>feedback</code> again): "
                     "<i>needs grading</i>, never graded by hand; <i>needs review</i>, graded by hand before a "
                     "resubmission changed the work.</p>")
        parts.append(_table(["student", "cell", "state"], [[e(s), f"<code>{e(c)}</code>", e(w)]
                                                          for s, c, w in stats.pending]))
    else:
        parts.append("<p>Nothing waits for grading by hand.</p>")
    parts.append("<h2>Late submissions</h2>")
    if stats.late:
        parts.append(_table(["student", "late by", "penalty"], [[e(s), e(how), f"{penalty:g}"]
                                                              for s, how, penalty in stats.late]))
    else:
        parts.append("<p>None (against the due dates and extensions in the gradebook).</p>")
    parts.append("<h2>Checks</h2><p>Share of graded submissions that passed each group of cases "
                 "(the visible group is the one students run in Jupyter; the others are randomized).</p>")
    body = []
    for exercise in stats.exercises.values():
        for name, (passed, seen) in exercise.groups.items():
            body.append([f"<code>{e(exercise.check_id.split('.', 1)[1])}</code>", e(name),
                         _bar(passed / seen if seen else 0.0), f"{passed} / {seen}"])
    parts.append(_table(["exercise", "check", "passed", "count"], body))
    parts.append("<h2>Most common mistakes</h2>")
    if stats.mistakes:
        body = [[str(count), f"<code>{e(check.split('.', 1)[1])}</code>", f"<b>{e(name)}</b>",
                 e(stats.explain.get((check, name), ""))] for (check, name), count in stats.mistakes.most_common(20)]
        parts.append(_table(["submissions", "exercise", "mistake", "what it means"], body))
    else:
        parts.append("<p>No diagnosed mistakes.</p>")
    if stats.errors:
        parts.append("<h3>Calls that returned no value</h3>")
        body = [[str(count), f"<code>{e(check.split('.', 1)[1])}</code>", e(kind)]
                for (check, kind), count in stats.errors.most_common(20)]
        parts.append(_table(["submissions", "exercise", "what happened"], body))
    parts.append("<h2>Tampering attempts</h2>")
    if stats.attempts:
        parts.append("<p>Code that tried to change what the grader sees or to reach what it should not. The sandbox "
                     "made it harmless (scores are unaffected); it is listed so that you know who tried.</p>")
        parts.append(_table(["student", "cell", "what it tried"], [[e(a.student), f"<code>{e(a.cell)}</code>", e(a.what)]
                                                                  for a in stats.attempts]))
    else:
        parts.append("<p>None found.</p>")
    parts.append("<h2>Similar submissions</h2>")
    if stats.pairs:
        parts.append("<p>Pairs whose exercise code is alike after names, numbers, strings, comments and layout are "
                     "normalised (token winnowing, as in MOSS), leaving out the released notebook, the solution and "
                     "code most of the class shares. A lead to look at, not proof.</p>")
        for pair in stats.pairs[:20]:
            parts.append(f"<h3>{e(pair.first)} and {e(pair.second)}: {100 * pair.shared:.0f}% shared "
                         f"({pair.common} fingerprints)</h3>"
                         + _table([pair.first, pair.second], [[f"<pre>{e(pair.code[0])}</pre>",
                                                               f"<pre>{e(pair.code[1])}</pre>"]]))
    else:
        parts.append("<p>No pair of submissions is unusually alike.</p>")
    parts.append("<h2>Submissions that failed to grade</h2>")
    if stats.failed:
        parts.append(_table(["student", "reason"], [[e(s), e(r)] for s, r in stats.failed]))
    else:
        parts.append("<p>None.</p>")
    seconds = [s for s, _ in stats.seconds]
    parts.append("<h2>Time spent grading</h2>"
                 f"<p>Per submission (in its worker, sandbox included): total {sum(seconds):.1f} s, mean "
                 f"{statistics.fmean(seconds):.2f} s, median {statistics.median(seconds):.2f} s, "
                 f"max {max(seconds):.2f} s.</p>"
                 f"<img alt='time per submission' src='{time_histogram(stats)}'>")
    slowest = sorted(stats.seconds, reverse=True)[:5]
    parts.append("<p>Each notebook is graded within one wall-clock budget (running its cells, restarts and "
                 "every check together; see docs/grading.md): what is left when it runs out is reported as "
                 "not run.</p>")
    parts.append(_table(["slowest submissions", "seconds", "budget (s)"],
                        [[e(s), f"{t:.2f}", _budget(stats, s)] for t, s in slowest]))
    if stats.runs:
        body = [[e(run.get("started", "")), e(run.get("how", "")), str(run.get("graded", 0)),
                 str(run.get("skipped", 0)), f"{run.get('seconds', 0):.1f}",
                 f"{run['graded'] / run['seconds']:.2f}" if run.get("seconds") else "",
                 "interrupted" if run.get("interrupted") else ""] for run in stats.runs[-10:]]
        parts.append("<h3>Grading runs</h3>" + _table(
            ["started (UTC)", "workers", "graded", "skipped", "wall seconds", "submissions / s", ""], body))
    style = ("body{font-family:system-ui,sans-serif;max-width:62em;margin:2em auto;padding:0 1em;color:#1f2328}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #d0d7de;padding:.3em .6em;"
             "text-align:left;vertical-align:top}.bar{display:inline-block;width:8em;height:.8em;background:#eee;"
             "margin-right:.5em}.bar div{height:100%}img{max-width:100%}")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>Report: {e(stats.assignment)}</title><style>{style}</style></head><body>"
            + "\n".join(parts) + "</body></html>")


def summary_text(stats: Stats) -> str:
    """A short table for the terminal."""
    scores = stats.scores
    lines = [(f"{stats.assignment}: {stats.submissions} submissions, {len(stats.failed)} failed to grade; "
              f"mean {statistics.fmean(scores):.2f} / {stats.max_score:g}, median {statistics.median(scores):g}"),
             f"{'exercise':<28} {'points':>6} {'mean':>6} {'full marks':>10}"]
    for x in stats.exercises.values():
        lines.append(f"{x.check_id.split('.', 1)[1]:<28} {x.points:>6g} {x.mean:>6.2f} {100 * x.full_rate:>9.0f}%")
    if stats.mistakes:
        lines.append("most common mistakes:")
        for (check, name), count in stats.mistakes.most_common(5):
            lines.append(f"  {count:>4} × {check.split('.', 1)[1]}: {name}")
    if stats.pending:
        lines.append(f"waiting for grading by hand: {len(stats.pending)} cell(s) of "
                     f"{len({student for student, *_ in stats.pending})} submission(s)")
    if stats.late:
        lines.append(f"late: {len(stats.late)} submission(s), penalties {sum(p for *_, p in stats.late):g} point(s)")
    if stats.attempts:
        lines.append(f"tampering attempts: {len({a.student for a in stats.attempts})} submission(s): "
                     + ", ".join(sorted({a.student for a in stats.attempts})))
    if stats.pairs:
        lines.append("similar submissions: " + ", ".join(f"{p.first} & {p.second} ({100 * p.shared:.0f}%)"
                                                          for p in stats.pairs[:5]))
    if stats.failed:
        lines.append(f"failed to grade: {', '.join(f'{s} ({r})' for s, r in stats.failed[:5])}"
                     + (f" and {len(stats.failed) - 5} more" if len(stats.failed) > 5 else ""))
    seconds = [s for s, _ in stats.seconds]
    slowest = max(stats.seconds)
    lines.append(f"grading time per submission: mean {statistics.fmean(seconds):.2f} s, max {max(seconds):.2f} s"
                 f" (budget {_budget(stats, slowest[1])} s)")
    return "\n".join(lines)


def write_report(course: Path, assignment: str, output: Path | None = None,
                 db_url: str | None = None) -> tuple[Path, Stats]:
    stats = gather(course, assignment, db_url)
    output = output or paths.report_file(check_course(course), assignment)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(stats), encoding="utf-8")
    return output, stats


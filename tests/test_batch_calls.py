"""A check group's cases go to the sandbox in one request (``Sandbox.calls``): the verdicts are those of
calling one case at a time, a group still stops at its first failing case, the grader's judging time is not
charged to the student, and cases the grader no longer needs never delay the next request (real sandboxes)."""

from __future__ import annotations

import time

import pytest

from autograder.course import demo
from autograder.course.batch import load_specs
from autograder.course.directory import seed_of
from autograder.grader import judge
from autograder.grader.submission import grade_submission
from autograder.sandbox import Limits, Sandbox, SandboxError

CELLS = '''
import time
seen = []

def record(x):
    seen.append(x)
    if x == "raise":
        raise ValueError("no")
    if x == "spin":
        while True:
            pass
    if isinstance(x, float):
        time.sleep(x)
    return x

def history():
    return list(seen)
'''


@pytest.fixture
def box():
    with Sandbox(Limits()) as sandbox:
        ran = sandbox.run_cells([{"id": "cells", "source": CELLS}], 60)
        assert ran["cells"][0]["ok"], ran
        yield sandbox


def _batch(values):
    return [((value,), {}) for value in values]


def test_the_child_answers_each_call_in_order_and_stops_at_the_first_that_raises(box):
    replies = list(box.calls("record", _batch([1, 2, "raise", 4]), 60))
    assert [reply["ok"] for reply in replies] == [True, True, False]
    assert [reply["value"] for reply in replies[:2]] == [1, 2]
    assert replies[2]["kind"] == "exception" and "ValueError" in replies[2]["message"]
    assert box.call("history", (), {}, 60)["value"] == [1, 2, "raise"]  # the fourth call never ran


def test_a_batch_closed_early_is_finished_before_the_next_request(box):
    replies = box.calls("record", _batch([1, 0.3, 0.3, 2]), 60)
    assert next(replies)["value"] == 1
    replies.close()  # the grader stopped there (a wrong value): the child still runs the other three
    assert box.process is not None  # they ended in time: the same sandbox answers the next request
    assert box.call("history", (), {}, 60)["value"] == [1, 0.3, 0.3, 2]


def test_a_batch_that_hangs_after_the_grader_stopped_restarts_the_sandbox_within_its_time(box):
    replies = box.calls("record", _batch([1, "spin", 2]), 2.0)
    assert next(replies)["value"] == 1
    replies.close()  # the second call spins: it is stopped when the batch's time runs out
    assert box.process is None
    ran = box.run_cells([{"id": "cells", "source": CELLS}], 60)  # a fresh child
    assert ran["cells"][0]["ok"] and box.call("history", (), {}, 60)["value"] == []


def test_the_time_the_grader_spends_between_replies_is_not_the_childs(box):
    """Each call takes 0.1 s and the batch may take 2 s; the grader takes 1.5 s over each reply: 4.5 s in all
    pass before the last reply is read, and no call timed out."""
    start = time.monotonic()
    values = []
    for reply in box.calls("record", _batch([0.1, 0.1, 0.1]), 2.0):
        values.append(reply["value"])
        time.sleep(1.5)  # standing for a slow judge
    assert values == [0.1, 0.1, 0.1] and time.monotonic() - start > 4.5


def test_a_batch_that_runs_out_of_time_says_so_at_the_call_that_was_running(box):
    replies = box.calls("record", _batch([1, "spin"]), 2.0)
    assert next(replies)["value"] == 1
    with pytest.raises(SandboxError) as raised:
        next(replies)
    assert raised.value.kind == "timeout" and box.process is None


def test_grading_a_group_at_once_gives_the_verdicts_of_one_case_at_a_time(demo_class, monkeypatch):
    """The demo class (right, wrong, unfinished and crashing work) graded as it is, then with every case sent
    in a request of its own: the same scores, statuses, messages, notes and stand-ins."""
    specs, seed = load_specs(demo_class, demo.STEM), seed_of(demo_class)
    folders = sorted((demo_class / "submitted").glob(f"*/{demo.STEM}"))
    batched = [grade_submission(folder, specs, seed) for folder in folders]
    requests = []
    real = judge.graded_calls

    def one_at_a_time(session, check, clock):
        calls = real(session, check, clock)

        def each(cases):
            for case in cases:
                requests.append(case)
                got = list(calls([case]))
                yield from got
                if not got:
                    return
        return each

    monkeypatch.setattr(judge, "graded_calls", one_at_a_time)
    single = [grade_submission(folder, specs, seed) for folder in folders]
    assert requests, "the per-case grading did not run"

    def what(result):
        return [(check.grade_id, check.score, check.status, check.message, check.note, check.stand_ins,
                 [(group.name, group.passed, group.message, group.mistake, group.error) for group in check.groups])
                for notebook in result.notebooks for check in notebook.checks]

    assert {check.status for result in batched for notebook in result.notebooks for check in notebook.checks} >= {
        "passed", "failed", "error"}, "the demo class should have every kind of verdict"
    for one, other in zip(batched, single, strict=True):
        assert what(one) == what(other), one.student


def test_inputs_left_as_they_came_are_not_sent_back_and_changed_ones_are(box):
    """The child sends back only the value when a call left its inputs exactly as they came (bytes, dtype,
    shape); an input written into, or one it cannot vouch for (a float NaN), comes back for the grader to judge."""
    import numpy as np

    source = ("def _graded__scale(x, factor=2.0):\n    return x * factor, (x,), {'factor': factor}\n"
              "def _graded__scale_in_place(x, factor=2.0):\n    x *= factor\n    return x, (x,), {'factor': factor}\n")
    assert box.run_cells([{"id": "harness", "source": source}], 60)["cells"][0]["ok"]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    kept = box.call("_graded__scale", (x,), {"factor": 3.0}, 60)
    assert kept["ok"] and kept["inputs_unchanged"] and np.array_equal(kept["value"], x * 3)
    changed = box.call("_graded__scale_in_place", (x,), {"factor": 3.0}, 60)
    assert changed["ok"] and not changed["inputs_unchanged"]
    value, args, kwargs = changed["value"]
    assert np.array_equal(value, x * 3) and np.array_equal(args[0], x * 3) and kwargs == {"factor": 3.0}
    nan_array = box.call("_graded__scale", (np.array([np.nan, 1.0]),), {"factor": 1.0}, 60)
    assert nan_array["ok"] and nan_array["inputs_unchanged"]  # the same bytes: NaN where NaN was
    nan_number = box.call("_graded__scale", (x,), {"factor": float("nan")}, 60)  # nan != nan: cannot vouch
    assert nan_number["ok"] and not nan_number["inputs_unchanged"] and len(nan_number["value"]) == 3
    other = box.call("_graded__scale", (x,), {}, 60)  # the call added a keyword argument
    assert other["ok"] and not other["inputs_unchanged"] and other["value"][2] == {"factor": 2.0}


def test_a_workers_products_come_from_the_one_reading_it_graded(demo_class, tmp_path):
    """The worker reads a submission once: its cell digests and autograded copies are those a fresh reading
    gives (grading leaves what it read unchanged), and a folder that is a link is not read at all."""
    from autograder.course.feedback import autograded_notebooks
    from autograder.course.workers import Task, _graded, cell_digests

    specs, seed = load_specs(demo_class, demo.STEM), seed_of(demo_class)
    folders = sorted((demo_class / "submitted").glob(f"*/{demo.STEM}"))[:6]
    for folder in folders:
        result, autograded, cells = _graded(folder, Task(folder.parent.name, demo.STEM, specs, seed))
        assert cells == cell_digests(folder, specs) and cells
        assert autograded == autograded_notebooks(folder, specs, result) and autograded
    link = tmp_path / "linked" / demo.STEM
    link.parent.mkdir()
    link.symlink_to(folders[0], target_is_directory=True)
    result, autograded, cells = _graded(link, Task("linked", demo.STEM, specs, seed))
    assert (autograded, cells) == ({}, {})
    assert all(notebook.status.startswith("failed") and "symbolic link" in notebook.status
               for notebook in result.notebooks)


def test_submissions_stored_together_leave_what_one_at_a_time_leaves(demo_class, tmp_path, monkeypatch):
    """What the workers finished together is recorded in one transaction, and read back in one reading of the
    gradebook: the gradebook, the autograded notebooks, the feedback pages and the results files are those of
    recording the same outcomes one submission at a time (a grader error among them)."""
    import json
    import shutil

    from autograder.course import batch, gradebook, paths
    from autograder.course.directory import db_url_of
    from autograder.course.workers import Finished, Outcome, Task, _graded

    specs, seed = load_specs(demo_class, demo.STEM), seed_of(demo_class)
    folders = sorted((demo_class / "submitted").glob(f"*/{demo.STEM}"))[:8]  # right, wrong, unfinished, blank
    outcomes = {}
    for folder in folders:
        student = folder.parent.name
        result, autograded, cells = _graded(folder, Task(student, demo.STEM, specs, seed))
        outcomes[student] = Outcome(student, result, 0.25, "test:1", autograded=autograded, cells=cells)
    broken = folders[3].parent.name
    outcomes[broken] = Outcome(broken, None, 0.25, "test:1", "RuntimeError: the grader broke")

    sizes = []
    record_many = gradebook.Recorder.record_many
    monkeypatch.setattr(gradebook.Recorder, "record_many", lambda self, entries: (
        sizes.append(len(entries)), record_many(self, entries))[1])
    monkeypatch.setattr(batch, "executor_for", lambda *args: Finished(outcomes, capacity=8))  # workers far ahead
    made = {}
    for group in (1, 8):
        monkeypatch.setattr(batch, "GROUP", group)
        course = tmp_path / f"group{group}"
        shutil.copytree(demo_class, course)
        sizes.clear()
        summary = batch.grade_assignment(course, demo.STEM, log=lambda *_: None, progress=False,
                                         students=list(outcomes))
        assert max(sizes) == group and sum(sizes) == len(outcomes), sizes
        assert list(summary.errors) == [broken] and len(summary.graded) == len(outcomes) - 1
        files = {}
        for top in (course / "autograded", course / "feedback"):
            for path in sorted(top.rglob("*")):
                if path.is_file() and path.name not in (paths.TIMESTAMP, paths.SECRET):  # made now, at random
                    files[path.relative_to(course)] = path.read_bytes()
        stored = {}
        for path in paths.results_dir(course, demo.STEM).glob("*.json"):
            stored[path.name] = json.loads(path.read_text())
            del stored[path.name]["graded_at"]
        made[group] = (gradebook.standings(db_url_of(course), demo.STEM), files, stored)
    standings, files, stored = made[8]
    assert set(standings) == set(outcomes) and len(files) >= 3 * len(outcomes) and len(stored) == len(outcomes)
    assert made[8] == made[1]

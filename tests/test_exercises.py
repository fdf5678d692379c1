"""`autograder.exercises.load`: later chapters run the student's own earlier exercises; `needs()` stops a
narrative cell whose exercises are not finished or do not pass; `check()` stops an endless loop."""

from __future__ import annotations

import dataclasses
import linecache
import re
import signal
import threading

import nbformat
import numpy as np
import pytest
from conftest import solution_notebook, student_notebook, unmarked, with_cell

from autograder.book import sources
from autograder.core import checks
from autograder.core.checks.questions import is_answer
from autograder.kernel import exercises, feedback

STEM = "04-nonlinearity-and-pooling"


@pytest.fixture(autouse=True)
def _student_mode(monkeypatch):
    monkeypatch.delenv(exercises.ENV, raising=False)


def test_loads_a_completed_notebook_from_the_folder(tmp_path, monkeypatch):
    nbformat.write(solution_notebook(STEM), tmp_path / f"{STEM}.ipynb")
    monkeypatch.chdir(tmp_path)
    mine = exercises.load(STEM, names=["relu_forward", "max_pool_forward"])
    x = np.array([[[[-1.0, 2.0], [3.0, -4.0]]]])
    assert np.array_equal(mine.relu_forward(x), np.maximum(x, 0))
    assert mine.max_pool_forward(x, 2).item() == 3.0
    assert not hasattr(mine, "avg_pool_forward")  # only what was asked for


def test_nbgrader_layout_is_found(tmp_path, monkeypatch):
    """release/<stem>/<stem>.ipynb side by side: the current folder is one assignment's folder."""
    (tmp_path / STEM).mkdir()
    (tmp_path / "09-training").mkdir()
    nbformat.write(solution_notebook(STEM), tmp_path / STEM / f"{STEM}.ipynb")
    monkeypatch.chdir(tmp_path / "09-training")
    assert callable(exercises.load(STEM, names=["relu_forward"]).relu_forward)


def test_a_blank_exercise_is_named_not_run_deep_inside_training(tmp_path, monkeypatch):
    nbformat.write(student_notebook(STEM), tmp_path / f"{STEM}.ipynb")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exercises.ExerciseNotReady, match=r"your `relu_forward` from 04-nonlinearity-and-pooling"):
        exercises.load(STEM, names=["relu_forward"])


def test_a_wrong_exercise_fails_its_checks_first(tmp_path, monkeypatch):
    wrong = with_cell(solution_notebook(STEM), "relu_forward", "def relu_forward(x):\n    return abs(x)\n")
    nbformat.write(wrong, tmp_path / f"{STEM}.ipynb")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exercises.ExerciseNotReady, match="does not pass its checks yet"):
        exercises.load(STEM, names=["relu_forward"])
    assert exercises.load(STEM, names=["relu_forward"], verify=False).relu_forward(np.array([-2.0])) == 2.0


def test_clear_errors_for_missing_or_broken_notebooks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exercises.ExerciseNotReady, match=r"cannot find your notebook 04-nonlinearity-and-pooling"):
        exercises.load(STEM)
    (tmp_path / f"{STEM}.ipynb").write_text("{not json")
    with pytest.raises(exercises.ExerciseNotReady, match="is not a readable notebook"):
        exercises.load(STEM)
    broken = with_cell(solution_notebook(STEM), "relu_forward", "def relu_forward(x):\n    return x +\n")
    nbformat.write(broken, tmp_path / f"{STEM}.ipynb")
    with pytest.raises(exercises.ExerciseNotReady, match="running `relu_forward` from .* raised SyntaxError"):
        exercises.load(STEM)
    nbformat.write(solution_notebook(STEM), tmp_path / f"{STEM}.ipynb")
    with pytest.raises(exercises.ExerciseNotReady, match="has an exercise named no_such_layer"):
        exercises.load(STEM, names=["no_such_layer"])


# ---------------------------------------------------------------------- blank notebooks explain themselves

def _exercise_names(stem: str) -> list[str]:
    """The functions the student writes (not the answers to questions, which are values)."""
    return [cell.metadata["nbgrader"]["grade_id"] for cell in solution_notebook(stem).cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
            and not is_answer(cell.metadata["nbgrader"]["grade_id"])]


@pytest.mark.slow
@pytest.mark.parametrize("stem", [p.stem for p in sorted(sources.CHAPTERS.glob("*.ipynb"))])
def test_a_blank_notebook_stops_each_cell_with_one_line_naming_an_exercise(stem):
    """Run top to bottom with nothing filled in (as generated, next to the other blank chapters), every
    narrative cell that needs an unfinished exercise stops with one ExerciseNotReady line naming an
    exercise of this chapter (or, through exercises.load, of the earlier chapter it reuses); test cells
    fail with their one-line CheckFailed. Never a NotImplementedError, NameError or plotting error."""
    from autograder.book.notebook_client import NotebookClient

    notebook = student_notebook(stem)
    NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(sources.CHAPTERS)}}).execute()
    own = set(_exercise_names(stem))
    every = {name for path in sources.CHAPTERS.glob("*.ipynb") for name in _exercise_names(path.stem)}
    stopped = 0
    for cell in notebook.cells:
        errors = [output for output in cell.get("outputs", []) if output.output_type == "error"]
        if not errors:
            continue
        (error,) = errors
        where = f"{stem}: cell starting {cell.source.splitlines()[0]!r}"
        assert len(error.traceback) == 1, (where, error.ename, error.evalue)
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert error.ename == "CheckFailed", (where, error.ename, error.evalue)
            continue
        assert error.ename == "ExerciseNotReady", (where, error.ename, error.evalue)
        named = set(re.findall(r"`(\w+)`", error.evalue))
        assert named & (every if re.search(r" from \d\d-", error.evalue) else own), (where, error.evalue)
        stopped += 1
    assert stopped, f"{stem}: no narrative cell needs an exercise?"


def test_needs_names_the_unfinished_exercise_and_passes_the_reference_ones():
    """needs() accepts every reference solution and stops on the blank stub, a missing return and an
    undefined name, with one line naming the exercise."""
    namespace: dict = {}
    for path in sorted(sources.SOLUTIONS.glob("[01]*.md")):
        for cell in solution_notebook(path.stem).cells:
            meta = cell.get("metadata", {})
            if cell.cell_type == "code" and ("setup" in meta.get("tags", []) or meta.get("nbgrader", {}).get("solution")):
                exec(compile(cell.source, path.name, "exec"), namespace)  # noqa: S102 -- the course's own solutions
        for name in _exercise_names(path.stem):
            exec(f"needs({name!r})", {**namespace, "needs": exercises.needs})  # noqa: S102
    blank = {"needs": exercises.needs}
    exec("def relu_forward(x):\n    raise NotImplementedError()\n"  # noqa: S102
         "def relu_backward(dout, x):\n    dx = dout * (x > 0)\n", blank)
    for name, message in [("relu_forward", "`relu_forward` (it still raises NotImplementedError)"),
                          ("relu_backward", "`relu_backward` (it returns nothing yet)"),
                          ("conv_backward", "`conv_backward`: run its cell above first")]:
        with pytest.raises(exercises.ExerciseNotReady, match=re.escape(message)):
            exec(f"needs({name!r})", blank)  # noqa: S102
    blank["layers"] = object()  # a value an earlier cell made passes
    exec("needs(made=['layers'])", blank)  # noqa: S102
    del blank["layers"]
    with pytest.raises(exercises.ExerciseNotReady):
        exercises.load("04-nonlinearity-and-pooling", folder=sources.SOLUTIONS / "no such folder")
    with pytest.raises(exercises.ExerciseNotReady, match=r"needs `layers`, which an earlier cell did not make: "
                                                          r"cannot find your notebook 04-nonlinearity-and-pooling"):
        exec("needs(made=['layers'])", blank)  # noqa: S102


# ---------------------------------------------------------------------- needs(): finished means it would not raise

_CELLS = iter(range(1_000_000))


def _run_cell(source: str, namespace: dict, *, with_source: bool = True) -> None:
    """``source`` run as Jupyter runs a cell: its text kept where :mod:`inspect` finds it (IPython does that
    for every cell), or, ``with_source=False``, not (code run by ``exec`` from a string)."""
    filename = f"<test cell {next(_CELLS)}>"
    if with_source:
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 -- the tests' own cells


STUB_BELOW_RETURN = '''
def relu_forward(x):
    """doc"""
    # YOUR CODE HERE
    return np.maximum(x, 0)
    raise NotImplementedError()
'''


@pytest.mark.parametrize("with_source", [True, False], ids=["source", "bytecode"])
def test_needs_accepts_a_finished_function_with_the_stubs_raise_left_below_its_return(with_source):
    """The stub's `raise NotImplementedError()` left under the student's `return` can never run: check() passes
    that function and the grader gives it full marks, so needs() lets it through too."""
    namespace = {"np": np, "needs": exercises.needs}
    _run_cell(STUB_BELOW_RETURN, namespace, with_source=with_source)
    exec("needs('relu_forward')", namespace)  # noqa: S102
    assert feedback.unfinished(namespace["relu_forward"]) == ""


def test_only_the_stubs_raise_at_the_top_of_the_body_makes_an_exercise_unfinished():
    """A `raise NotImplementedError` the student wrote in a branch is theirs; the stub's raise still reached
    (code written above it, no return) is not finished; and check() says "not implemented" only then."""
    namespace = {"np": np, "needs": exercises.needs}
    _run_cell("def relu_forward(x):\n    if x.ndim > 8:\n        raise NotImplementedError('more than 8 axes')\n"
              "    return np.maximum(x, 0)\n", namespace)
    exec("needs('relu_forward')", namespace)  # noqa: S102
    _run_cell("def relu_forward(x):\n    if x.ndim > 0:\n        return np.maximum(x, 0)\n    else:\n"
              "        return x\n    raise NotImplementedError\n", namespace)
    assert feedback.unfinished(namespace["relu_forward"]) == ""
    _run_cell("def relu_forward(x):\n    out = np.maximum(x, 0)\n    raise NotImplementedError()\n", namespace)
    with pytest.raises(exercises.ExerciseNotReady, match=re.escape("`relu_forward` (it still raises NotImplementedError)")):
        exec("needs('relu_forward')", namespace)  # noqa: S102
    with pytest.raises(feedback.CheckFailed) as failed:
        feedback.check(f"{STEM}.relu_forward", namespace["relu_forward"])
    assert failed.value.feedback.groups[0].error == "not-implemented"
    _run_cell("def relu_forward(x):\n    if x.size:\n        raise NotImplementedError('not for arrays')\n"
              "    return x\n", namespace)
    with pytest.raises(feedback.CheckFailed) as failed:  # the student's own raise: an exception like any other
        feedback.check(f"{STEM}.relu_forward", namespace["relu_forward"])
    assert failed.value.feedback.groups[0].error == "exception"
    assert "raised NotImplementedError: not for arrays" in failed.value.feedback.groups[0].message
    _run_cell("class Net:\n    def __init__(self):\n        self.ready = True\n"
              "    def forward(self, x):\n        raise NotImplementedError()\n", namespace)
    assert feedback.unfinished(namespace["Net"]) == "its forward still raises NotImplementedError"


# ---------------------------------------------------------------------- needs(): the exercise passes its check

WRONG_SOFTMAX = "def softmax(x):\n    e = np.exp(x - x.max(axis=1, keepdims=True))\n    return e / e.sum(axis=1)\n"


def test_needs_stops_on_an_exercise_that_fails_its_check_with_one_quiet_line(capsys):
    """A written but wrong exercise stops the narrative cell with one line (its own check cell shows the
    report), instead of a traceback from the code that uses its result; nothing is printed."""
    namespace = {"np": np, "needs": exercises.needs}
    _run_cell(WRONG_SOFTMAX, namespace)
    with pytest.raises(exercises.ExerciseNotReady, match=re.escape(
            "this cell needs the exercise `softmax`, which does not pass its check yet: fix it above (its check "
            "cell says what is wrong), run it, then run this cell again")):
        exec("needs('softmax')", namespace)  # noqa: S102
    _run_cell(WRONG_SOFTMAX.replace("axis=1)", "axis=1, keepdims=True)"), namespace)
    exec("needs('softmax')", namespace)  # noqa: S102
    assert capsys.readouterr() == ("", "")


def test_needs_checks_again_when_a_function_it_calls_changed():
    """A function that passed is not checked again while it and what it calls are unchanged; another
    exercise it calls, redefined since, makes it a function to check again."""
    namespace = {"np": np, "needs": exercises.needs}
    _run_cell(WRONG_SOFTMAX.replace("axis=1)", "axis=1, keepdims=True)"), namespace)
    _run_cell("def softmax_with_temperature(x, temperature):\n    return softmax(x / temperature)\n", namespace)
    exec("needs('softmax', 'softmax_with_temperature')", namespace)  # noqa: S102
    _run_cell(WRONG_SOFTMAX, namespace)
    with pytest.raises(exercises.ExerciseNotReady, match="`softmax_with_temperature`, which does not pass"):
        exec("needs('softmax_with_temperature')", namespace)  # noqa: S102


# ---------------------------------------------------------------------- check(): a time limit, and a short interrupt

ENDLESS_TO_FLOAT = ("def to_float(image):\n    out = np.zeros(image.shape)\n    i = 0\n    while i < image.size:\n"
                    "        out.flat[i] = image.flat[i] / 255\n    return out\n")


def _time_limit(monkeypatch, seconds: float) -> None:
    """Every check's own time limit (:attr:`Check.timeout`, what the grader and check() read) set to ``seconds``."""
    get = checks.get
    monkeypatch.setattr(checks, "get", lambda check_id: dataclasses.replace(get(check_id), timeout=seconds))


def test_check_stops_an_endless_loop_at_the_checks_time_limit_and_puts_the_alarm_back(monkeypatch):
    _time_limit(monkeypatch, 0.2)
    namespace = {"np": np}
    _run_cell(ENDLESS_TO_FLOAT, namespace)
    def mine(signum, frame):  # a handler someone else set, with a timer of their own
        pass

    previous = signal.signal(signal.SIGALRM, mine)
    signal.setitimer(signal.ITIMER_REAL, 1000)
    try:
        with pytest.raises(feedback.CheckFailed) as failed:
            feedback.check("01-images-as-arrays.to_float", namespace["to_float"])
        assert signal.getsignal(signal.SIGALRM) is mine and 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 1000
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    group = failed.value.feedback.groups[0]
    assert group.error == "timeout"
    assert ("did not finish within this check's time limit of 0.2 s (stopped; look for an endless loop or far "
            "too much work)") in group.message


def test_check_outside_the_main_thread_runs_without_a_limit():
    """Signals reach only the main thread: elsewhere check() still works, without a time limit."""
    namespace = {"np": np}
    _run_cell("def relu_forward(x):\n    return np.maximum(x, 0)\n", namespace)
    results = []
    thread = threading.Thread(target=lambda: results.append(feedback.check(f"{STEM}.relu_forward",
                                                                           namespace["relu_forward"]).passed))
    thread.start()
    thread.join()
    assert results == [True]


def test_an_interrupted_check_ends_with_one_line():
    namespace = {"np": np}
    _run_cell("def to_float(image):\n    raise KeyboardInterrupt\n", namespace)  # as the stop button does
    with pytest.raises(KeyboardInterrupt) as interrupted:
        feedback.check("01-images-as-arrays.to_float", namespace["to_float"])
    (line,) = interrupted.value._render_traceback_()
    assert line.startswith("check interrupted: 01-images-as-arrays.to_float was stopped before it finished")


KERNEL_CELLS = [
    ("import dataclasses, os, signal\nimport numpy as np\nfrom autograder import check, needs\n"
     "from autograder.core import checks\n"
     "_get = checks.get  # every check's time limit lowered to half a second, to keep this test short\n"
     "checks.get = lambda check_id: dataclasses.replace(_get(check_id), timeout=0.5)"),
    STUB_BELOW_RETURN,
    "needs('relu_forward')",
    ENDLESS_TO_FLOAT,
    "check('01-images-as-arrays.to_float')",
    ("def to_float(image):\n    os.kill(os.getpid(), signal.SIGINT)  # the kernel's stop button\n"
     "    while True:\n        pass\n"),
    "check('01-images-as-arrays.to_float')",
    WRONG_SOFTMAX,
    "needs('softmax')",
]


def test_in_a_kernel_the_stub_below_a_return_an_endless_loop_an_interrupt_and_a_wrong_exercise():
    """In a real kernel: needs() lets a finished function through with the stub's raise left below its return;
    an endless loop is stopped at the check's time limit and reported as a failed case; an interrupted check
    ends with one line; needs() stops on a wrong exercise with one line and shows no report."""
    from autograder.book.notebook_client import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in KERNEL_CELLS])
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(sources.ROOT)}}).execute()
    outputs = [cell.outputs for cell in notebook.cells]
    errors = {index: output for index, cell in enumerate(outputs) for output in cell if output.output_type == "error"}
    assert sorted(errors) == [4, 6, 8], {index: error.ename for index, error in errors.items()}
    assert errors[4].ename == "CheckFailed" and len(errors[4].traceback) == 1
    shown = "".join(str(output.get("data", {}).get("text/plain", "")) for output in outputs[4])
    assert "did not finish within this check's time limit of 0.5 s (stopped; look for an endless loop" in shown
    assert errors[6].ename == "CheckInterrupted" and len(errors[6].traceback) == 1
    assert errors[6].traceback[0].startswith("check interrupted: 01-images-as-arrays.to_float")
    assert errors[8].ename == "ExerciseNotReady" and outputs[8] == [errors[8]]
    assert "`softmax`, which does not pass its check yet" in errors[8].traceback[0]


WRONG_06 = {"flatten": "def flatten(x):\n    return x.flatten()\n",
            "affine_forward": "def affine_forward(x, w, b):\n    return x @ w + b\n",
            "softmax": WRONG_SOFTMAX}


@pytest.mark.slow
def test_wrong_exercises_stop_the_cells_that_use_them_with_one_line():
    """Chapter 6 with the other exercises done and three of them wrong: their check cells fail with their
    report and one line, and every narrative cell that uses them stops with one ExerciseNotReady line,
    never a traceback from the code that uses their results or a NameError after it."""
    from autograder.book.notebook_client import NotebookClient

    stem = "06-fully-connected-and-softmax"
    notebook = student_notebook(stem)
    solved = {cell.metadata["nbgrader"]["grade_id"]: unmarked(cell.source) for cell in solution_notebook(stem).cells
              if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")}
    for name, source in {**solved, **WRONG_06}.items():
        notebook = with_cell(notebook, name, source)
    NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(sources.CHAPTERS)}}).execute()
    stopped = set()
    for cell in notebook.cells:
        for error in (output for output in cell.get("outputs", []) if output.output_type == "error"):
            where = f"cell starting {cell.source.splitlines()[0]!r}"
            assert len(error.traceback) == 1 and error.ename in ("CheckFailed", "ExerciseNotReady"), (
                where, error.ename, error.evalue)
            stopped |= set(re.findall(r"`(\w+)`, which does not pass its check yet", error.evalue))
    assert stopped == set(WRONG_06)


RAISES_INSIDE = '''
def conv_single_step(x_slice, w, b):
    products = x_slice * w
    return float(np.sum(products) + b + products.shape[3])
'''


def test_an_exception_says_which_line_of_the_students_code_raised(monkeypatch, capsys):
    """A call that raised names the line of the student's cell that raised (the innermost frame of their
    own code, not NumPy's or the package's), on a line of its own: the first line is still the exception,
    on which a likely cause is matched. The footer names the notebook when Jupyter tells the kernel."""
    namespace = {"np": np}
    _run_cell(RAISES_INSIDE, namespace)
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/student/work/02-convolution.ipynb")
    with pytest.raises(feedback.CheckFailed):
        feedback.check("02-convolution.conv_single_step", namespace["conv_single_step"])
    report = capsys.readouterr().out
    assert ("raised IndexError: tuple index out of range\n"
            "        at line 4 of `conv_single_step`'s cell: `return float(np.sum(products) + b + products.shape[3])`"
            in report), report
    assert "Try them now with: python -m autograder check 02-convolution.ipynb" in report, report
    monkeypatch.delenv("JPY_SESSION_NAME")
    with pytest.raises(feedback.CheckFailed):
        feedback.check("02-convolution.conv_single_step", namespace["conv_single_step"])
    assert "check <this notebook>.ipynb" in capsys.readouterr().out

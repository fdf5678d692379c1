"""The package's layers and their import rules (docs/architecture.md, "Layers").

Code runs in five places, one folder each. What a folder may import is fixed here, read from the
source with ``ast`` (imports inside functions count), and held for every module:

    core     imports only core                     (reference, checks, results, codec, data)
    kernel   core                                  (the student's Jupyter kernel, the book's pages)
    sandbox  core; its child imports nothing of the package (it loads the codec by path)
    grader   core, sandbox                         (grading one notebook)
    book     core, kernel                          (derive, execute, publish, HTML)
    course   core, sandbox, grader, book           (the coordinator of a class)
    cli      anything                              (the commands on top)

and no import cycle anywhere. A real ``check()`` in a real kernel loads no sandbox, grader,
course or book module, and not ``resource``; and a passing one loads no torch (the visible cases'
expected values are shipped with the package: ``autograder/core/expected/``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, solution_notebook

PACKAGE = ROOT / "autograder"
ALLOWED = {
    "core": {"core"},
    "kernel": {"core", "kernel"},
    "sandbox": {"core", "sandbox"},
    "grader": {"core", "sandbox", "grader"},
    "book": {"core", "kernel", "book"},
    "course": {"core", "sandbox", "grader", "book", "course"},
    "cli": {"core", "kernel", "sandbox", "grader", "book", "course", "cli"},
    "top": {"kernel"},  # autograder/__init__.py: the kernel's names, loaded on first use
}
CHILD = "autograder.sandbox.child"
NOT_IN_A_KERNEL = ("autograder.sandbox", "autograder.grader", "autograder.course", "autograder.book",
                   "autograder.cli")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    return "cli" if parts[1] == "__main__" else parts[1]


def _target(name: str) -> str | None:
    """The package module ``name`` is, or the nearest package holding it (``a.b.C`` -> ``a.b``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Every module of the package that ``module`` imports, anywhere in its code."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {_target(alias.name) for alias in node.names if alias.name.split(".")[0] == "autograder"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "autograder":
                continue
            # `from x import y`: the module x.y when y is one, else the module (or package) x
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else _target(base)
                      for alias in node.names}
    return found - {None}


GRAPH = {module: imports_of(module) - {module} for module in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module):
    layer = _layer(module)
    if module == CHILD:
        assert not GRAPH[module], f"the sandbox child imports {sorted(GRAPH[module])}; it may only load the codec by path"
        assert '"core", "codec.py"' in MODULES[module].read_text(), "the child loads autograder/core/codec.py by path"
        return
    broken = sorted(target for target in GRAPH[module] if _layer(target) not in ALLOWED[layer])
    assert not broken, f"{module} ({layer}) may import only {sorted(ALLOWED[layer])}, but imports {broken}"


def test_no_import_cycles():
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_the_rules_can_fail(tmp_path):
    """The reader sees function-level and relative imports (a rule nobody can break proves nothing)."""
    path = tmp_path / "_probe_for_test_layers.py"  # read as if it were in kernel/; never written into the
    path.write_text("def f():\n    from ..grader import notebook\n    from ..core import codec\n")  # package,
    try:  # which another worker may be publishing
        MODULES["autograder.kernel._probe_for_test_layers"] = path
        found = imports_of("autograder.kernel._probe_for_test_layers")
    finally:
        del MODULES["autograder.kernel._probe_for_test_layers"]
    assert found == {"autograder.grader.notebook", "autograder.core.codec"}, found


CHECK_IN_A_KERNEL = textwrap.dedent("""
    import json, sys
    before = set(sys.modules)
    from autograder import check
    import numpy as np

    def zero_pad(x, pad):
        return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))

    feedback = check("02-convolution.zero_pad")
    print(json.dumps({"passed": feedback.passed, "loaded": sorted(set(sys.modules) - before),
                      "resource": "resource" in sys.modules}))
""")


def _report(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def _in_a_fresh_kernel(code: str):
    """Run ``code`` in a new real Jupyter kernel (started in the repository) and return what it reported."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(ROOT))
    try:
        output = []
        reply = client.execute_interactive(code, timeout=300,
                                           output_hook=lambda message: output.append(message["content"]))
        assert reply["content"]["status"] == "ok", reply["content"]
        return _report("".join(part.get("text", "") for part in output))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_check_in_a_kernel_loads_only_the_kernel_side():
    """In a real Jupyter kernel, ``from autograder import check`` and a real check load nothing else."""
    report = _in_a_fresh_kernel(CHECK_IN_A_KERNEL)
    assert report["passed"]
    loaded = [name for name in report["loaded"] if name.startswith(NOT_IN_A_KERNEL)]
    assert not loaded, f"check() in a kernel loaded {loaded}"
    assert "autograder.kernel.feedback" in report["loaded"] and "autograder.core.checks.ch02_convolution" in report["loaded"]
    assert "resource" not in report["loaded"]


def test_check_in_plain_python_loads_no_resource_module():
    completed = subprocess.run([sys.executable, "-c", CHECK_IN_A_KERNEL],
                               cwd=ROOT, capture_output=True, text=True, check=True)
    report = _report(completed.stdout)
    assert report["passed"] and not report["resource"]
    assert not [name for name in report["loaded"] if name.startswith(NOT_IN_A_KERNEL)]


# One exercise of every chapter, checked with its reference solution (torch-free to draw and to judge).
# Not every exercise could be here: a check judged by what the answer does (03's vertical_edge_filter,
# 10's train_test_split) or whose visible cases are drawn with the reference (10's confusion_matrix)
# still loads torch.
NO_TORCH = {"01-images-as-arrays": "normalize", "02-convolution": "conv_forward_naive",
            "03-feature-detectors": "sobel_magnitude", "04-nonlinearity-and-pooling": "max_pool_forward",
            "05-going-deeper": "conv_relu_pool_forward", "06-fully-connected-and-softmax": "softmax",
            "07-loss": "cross_entropy_loss", "08-backpropagation": "conv_backward", "09-training": "sgd_step",
            "10-testing": "accuracy", "11-beyond": "batchnorm_forward"}

CHECKS_WITHOUT_TORCH = textwrap.dedent("""
    import json, sys
    from autograder import check
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    report = []
    for check_id, source in SOLUTIONS:
        names = {"np": np, "sliding_window_view": sliding_window_view}
        exec(source, names)
        feedback = check(check_id, names[check_id.split(".", 1)[1]])
        report.append([check_id, feedback.passed, "torch" in sys.modules])
    print(json.dumps(report))
""")


def _solution(stem: str, function: str) -> str:
    for cell in solution_notebook(stem).cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == function:
            return cell.source
    raise KeyError(f"{stem} has no exercise {function}")


def test_a_passing_check_in_a_kernel_loads_no_torch():
    """In a fresh kernel, a passing ``check()`` (the reference solution, one exercise of every chapter)
    judges the visible cases with the expected values shipped with the package: torch is never loaded."""
    solutions = [(f"{stem}.{function}", _solution(stem, function)) for stem, function in NO_TORCH.items()]
    report = _in_a_fresh_kernel(f"SOLUTIONS = {solutions!r}\n" + CHECKS_WITHOUT_TORCH)
    assert [check_id for check_id, _, _ in report] == [check_id for check_id, _ in solutions]
    assert all(passed for _, passed, _ in report), report
    loaded = [check_id for check_id, _, torch in report if torch]
    assert not loaded, f"torch was loaded by the time these checks had passed: {loaded}"

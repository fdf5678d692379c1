"""Which of the notebook's other exercises a student's function could call, read from the code.

A regrade with stand-ins (:func:`.notebook.regrade_on_its_own`) starts a sandbox and runs the cells
again; it changes nothing when the function never calls a stand-in. :func:`reachable` tells which
of the exercises the function's code can reach, so that a regrade that could not use any of them
is not run. It over-approximates, never under-: the function's top-level statement, every
top-level statement that binds a name it mentions (names, attributes and strings all count as
mentions), and so on; and a mention of anything that reaches a name without writing it
(``globals``, ``getattr``, ``eval``, ``sys``, ...), a star import, an import of a module that is
neither the standard library's nor a known numerical library, or a cell that does not parse,
counts as reaching every exercise. Skipping a regrade is therefore always score-neutral.
"""

from __future__ import annotations

import ast
import functools
import sys

# Mentions that can reach a name without writing it out.
INDIRECT = frozenset({
    "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "__import__", "__dict__", "__main__",
    "__builtins__", "builtins", "sys", "importlib", "inspect", "gc", "ctypes", "runpy", "pickle", "marshal",
    "types", "code", "codeop", "operator", "get_ipython",
})
# Libraries whose code cannot call back into the notebook's namespace by itself.
LIBRARIES = frozenset({"numpy", "scipy", "torch", "matplotlib", "skimage", "sklearn", "math", "tqdm"})
_SAFE_MODULES = frozenset(sys.stdlib_module_names) - INDIRECT | LIBRARIES


def _mentions(node: ast.AST) -> set[str]:
    words: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            words.add(child.id)
        elif isinstance(child, ast.Attribute):
            words.add(child.attr)
        elif isinstance(child, ast.Constant) and isinstance(child.value, str):
            words.add(child.value)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            words.add(child.name)
        elif isinstance(child, ast.alias):
            words.add(child.asname or child.name.split(".")[0])
    return words


def _binds(node: ast.AST) -> set[str]:
    """The global names the top-level statement ``node`` could bind: at module level (also inside
    ``if``, ``for``, ``try``, ``with``), and any ``global`` declaration in a function it defines."""
    names: set[str] = set()
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)

    def visit(child: ast.AST, module_level: bool) -> None:
        if isinstance(child, (ast.Global, ast.Nonlocal)):
            names.update(child.names)
        if module_level:
            if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
                names.add(child.id)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(child.name)
            elif isinstance(child, ast.alias):
                names.add(child.asname or child.name.split(".")[0])
            elif isinstance(child, ast.NamedExpr) and isinstance(child.target, ast.Name):
                names.add(child.target.id)
        for grandchild in ast.iter_child_nodes(child):
            visit(grandchild, module_level and not isinstance(child, scopes))

    visit(node, True)
    return names


def _opens_a_door(node: ast.AST) -> bool:
    """An import the analysis cannot see through: ``*``, or a module that is not known to be inert."""
    for child in ast.walk(node):
        if isinstance(child, ast.ImportFrom):
            modules = ["" if child.level or any(alias.name == "*" for alias in child.names) else child.module or ""]
        elif isinstance(child, ast.Import):
            modules = [alias.name for alias in child.names]
        else:
            continue
        if any(module.split(".")[0] not in _SAFE_MODULES for module in modules):
            return True
    return False


@functools.lru_cache(maxsize=128)
def _statements(source: str) -> tuple[ast.stmt, ...]:
    """A cell's top-level statements (read, never changed: one parse serves every exercise of a notebook)."""
    return tuple(ast.parse(source).body)


def reachable(sources: list[str], function: str, exercises: set[str]) -> set[str]:
    """The ``exercises`` that ``function`` (defined by one of the code cells ``sources``) could call."""
    try:
        return _reachable(sources, function, exercises)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set(exercises)  # IPython syntax, broken code, or code nested too deep to read: no reading it


def _reachable(sources: list[str], function: str, exercises: set[str]) -> set[str]:
    statements = [statement for source in sources for statement in _statements(source)]
    unread = [(_binds(statement), statement) for statement in statements]
    seen, todo, words = set(), {function}, set()
    while todo:
        name = todo.pop()
        seen.add(name)
        read = [(names, statement) for names, statement in unread
                if name in names or "*" in names]  # a star import could bind any name
        for names, statement in read:  # each statement is read once, whichever name led to it
            if _opens_a_door(statement):
                return set(exercises)
            found = _mentions(statement)
            words |= found
            todo |= found - seen
        unread = [pair for pair in unread if pair not in read]
    if words & INDIRECT:
        return set(exercises)
    return exercises & words

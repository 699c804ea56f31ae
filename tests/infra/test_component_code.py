"""The components read as steps: no function in components/ is longer than a screen."""

from __future__ import annotations

import ast
from pathlib import Path

COMPONENTS = Path(__file__).resolve().parents[2] / "components"
MAX_FUNCTION_LINES = 80


def function_lengths(path: Path) -> dict[str, int]:
    """Every function and method of the module at `path` (`Class.method` for methods) and its length in lines,
    decorators and docstring included."""
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                lengths[f"{prefix}{child.name}"] = (child.end_lineno or child.lineno) - start + 1
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(path.read_text(), filename=str(path)), "")
    return lengths


def test_no_function_in_components_is_longer_than_80_lines():
    # GIVEN every module of components/
    modules = sorted(COMPONENTS.glob("*.py"))
    assert modules, f"no modules found in {COMPONENTS}"
    # WHEN each function is measured
    too_long = [
        f"components/{path.name}: {name} is {lines} lines"
        for path in modules
        for name, lines in function_lengths(path).items()
        if lines > MAX_FUNCTION_LINES
    ]
    # THEN none is longer than 80 lines: a long constructor is broken into named private steps
    assert not too_long, "split these into named steps:\n" + "\n".join(too_long)


def test_a_long_function_is_measured_whole(tmp_path):
    # GIVEN a module with a method of 81 lines, decorator and docstring included
    body = "\n".join(f"        x{i} = {i}" for i in range(78))
    source = f'class C:\n    @staticmethod\n    def long():\n        """Doc."""\n{body}\n'
    (tmp_path / "m.py").write_text(source)
    # WHEN / THEN it is measured at 81 lines under its class's name
    assert function_lengths(tmp_path / "m.py") == {"C.long": 81}

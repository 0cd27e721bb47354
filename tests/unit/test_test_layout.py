"""Tests follow the code (issue 13): every module of `lambdas/pathprover` with logic has its test file.

A module has logic when `ast` finds a function, a class that is more than a typing declaration
(Protocol, TypedDict, NamedTuple), or a top-level statement that does something (a call, a loop, a
branch other than `if TYPE_CHECKING`, a `with`). Its test file is `test_<module>.py` anywhere under
`tests/` (a package's `__init__.py` counts as the package: `test_<package>.py`). Where a module shares
its name with another module or a package (`adapters/aws/ledger.py` and `adapters/local/ledger.py`;
`handlers/brain.py` and the `brain` package), the test file must sit in a folder named like the module's
package: `tests/**/aws/test_ledger.py`, `tests/**/local/test_ledger.py`, `tests/**/handlers/test_brain.py`.
The modules without logic are listed, each with its reason, in EXEMPT; the walk must agree with the list.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lambdas" / "pathprover"
TESTS = ROOT / "tests"

TYPING_BASES = {"Protocol", "TypedDict", "NamedTuple"}
"""Bases of a class that only declares a shape (no behaviour to test)."""

EXEMPT: dict[str, str] = {
    # Every module WITHOUT logic, by path under lambdas/pathprover, and why it needs no test file of its own.
    # The walk below must agree (test_exempt_is_exactly_the_modules_without_logic): a new module without
    # logic is added here on purpose, and a module that gains logic leaves the list and gets its test file.
    # Package markers: a docstring, nothing else.
    "adapters/__init__.py": "package marker",
    "cli/__init__.py": "package marker",
    "core/__init__.py": "package marker",
    "handlers/__init__.py": "package marker",
    "runtime/__init__.py": "package marker",
    "stages/__init__.py": "package marker",
    "workflow/__init__.py": "package marker",
    "adapters/aws/__init__.py": "package marker (lists the adapters in its docstring)",
    "adapters/local/__init__.py": "package marker",
    # Pure re-exports: imports and __all__; what they re-export is tested where it is defined.
    "__init__.py": "the package docstring and __version__",
    "brain/__init__.py": "re-export",
    "catalog/__init__.py": "re-exports of catalog/loader.py and catalog/models.py",
    "classifier/__init__.py": "re-exports of the classifier's modules",
    "reporting/__init__.py": "re-export of reporting/html.py",
    "results/__init__.py": "re-exports of results/metrics.py and results/show.py",
    # Constants only.
    "core/limits.py": "the guide's default limits of a run (constants)",
    "results/defaults.py": "recommend's defaults (constants)",
    "reports.py": "the guide's monitoring SQL, verbatim (run against a warehouse in adapters/local/test_warehouse.py)",
}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _base_name(base: ast.expr) -> str:
    if isinstance(base, ast.Subscript):
        base = base.value
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else ""


def _is_logic(node: ast.stmt) -> bool:
    """Whether one top-level statement is behaviour (as opposed to a declaration, an import or a constant)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return True
    if isinstance(node, ast.ClassDef):
        return not any(_base_name(b) in TYPING_BASES for b in node.bases)
    if isinstance(node, ast.Import | ast.ImportFrom | ast.Assign | ast.AnnAssign | ast.Pass):
        return False
    if isinstance(node, ast.Expr):  # a docstring or a bare constant is not behaviour; a call is
        return not isinstance(node.value, ast.Constant)
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        return any(_is_logic(n) for n in node.orelse)
    if isinstance(node, ast.Try):  # `try: import x / except ImportError: x = None` is an optional import
        body = node.body + node.orelse + node.finalbody + [n for h in node.handlers for n in h.body]
        return any(_is_logic(n) for n in body)
    return True  # for, while, with, if, match, assert, a top-level call...


def modules_with_logic() -> list[Path]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(_is_logic(node) for node in tree.body):
            found.append(path.relative_to(PACKAGE))
    return found


def module_name(module: Path) -> str:
    return module.parent.name if module.name == "__init__.py" else module.stem


def missing_test_files() -> list[str]:
    modules = modules_with_logic()
    packages = [p.parent.name for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE]
    names = Counter([*(module_name(m) for m in modules if m.name != "__init__.py"), *packages])
    test_files = [p.relative_to(TESTS) for p in TESTS.rglob("test_*.py")]
    missing = []
    for module in modules:
        name = module_name(module)
        candidates = [t for t in test_files if t.name == f"test_{name}.py"]
        if names[name] > 1:  # another module or a package of that name: the test's folder names the package
            folder = module.parent.parent if module.name == "__init__.py" else module.parent
            if folder == Path("."):  # a top-level module or package: its test is not in another package's folder
                candidates = [t for t in candidates if t.parent.name not in packages]
            else:
                candidates = [t for t in candidates if t.parent.name == folder.name]
        if not candidates:
            missing.append(str(module))
    return missing


def test_the_walk_tells_logic_from_declarations() -> None:
    # Given modules of each kind, When each is parsed, Then only behaviour counts as logic
    def logic(source: str) -> bool:
        return any(_is_logic(n) for n in ast.parse(source).body)

    assert not logic('"""doc"""\nfrom typing import Literal\nStage = Literal["a", "b"]\nX: int = 1\n')
    assert not logic("from typing import Protocol\nclass Fleet(Protocol):\n    def deploy(self) -> None: ...\n")
    assert not logic("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from x import y\n")
    assert not logic("try:\n    import orjson\nexcept ImportError:\n    orjson = None\n")
    assert logic("def f() -> int:\n    return 1\n")
    assert logic("class Store:\n    pass\n")
    assert logic("import logging\nlogging.basicConfig()\n")
    assert logic("for name in ('a',):\n    pass\n")


def test_exempt_is_exactly_the_modules_without_logic() -> None:
    # Given every module, When the walk finds which have logic, Then the others are exactly EXEMPT
    every = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}
    without_logic = every - {str(m) for m in modules_with_logic()}
    assert not without_logic - set(EXEMPT), (
        f"modules without logic to add to EXEMPT: {sorted(without_logic - set(EXEMPT))}"
    )
    assert not set(EXEMPT) - without_logic, (
        f"EXEMPT modules that are gone or now have logic (give them a test file): {sorted(set(EXEMPT) - without_logic)}"
    )


def test_every_module_with_logic_has_its_test_file() -> None:
    # Given every module of the package, When its logic is found by ast, Then tests/ holds test_<module>.py
    missing = missing_test_files()
    assert not missing, "modules with logic but no test_<module>.py under tests/:\n  " + "\n  ".join(missing)

"""The planner stays pure: `scheduling/` imports only the standard library (STYLE: a pure core, a thin shell)."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"fastapi", "sqlmodel", "sqlalchemy", "pydantic", "pydantic_settings", "starlette", "api", "models"}


def imported_modules(package: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(("module", "names"), sorted(imported_modules(ROOT / "scheduling").items()))
def test_scheduling_imports_only_the_standard_library(module: str, names: set[str]) -> None:
    outside = {n for n in names if n != "scheduling" and n not in sys.stdlib_module_names}
    assert not (names & FORBIDDEN), f"{module} imports {sorted(names & FORBIDDEN)}"
    assert not outside, f"{module} imports non-standard modules {sorted(outside)}"


def test_models_never_import_the_shell() -> None:
    for module, names in imported_modules(ROOT / "models").items():
        assert "api" not in names, module

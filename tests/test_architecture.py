"""The layers' arrows (README, "Layout"): the planner stays pure (`scheduling/` imports only the standard
library; STYLE: a pure core, a thin shell), the use cases never import the HTTP side, the store imports
neither, and routes meet the database only by reading or writing through the request's transaction."""

import ast
import sys
from pathlib import Path
from typing import Any

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


def imported_names(package: Path) -> dict[str, set[str]]:
    """Every module a file imports, in full (`api.store.db`), by file."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def _under(names: set[str], *packages: str) -> list[str]:
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in packages))


# The layers (README, "Layout"): the HTTP side above the use cases, the store below them.
HTTP_SIDE = ("api.web", "api.cli", "api.demo", "api.main")
USE_CASES = ("api.services", "api.feeds", "api.fhir", "api.handout", "api.notify", "api.patient_page")


USE_CASE_FILES = {
    module: names for package in USE_CASES for module, names in imported_names(ROOT / package.replace(".", "/")).items()
}


@pytest.mark.parametrize(("module", "names"), sorted(USE_CASE_FILES.items()))
def test_use_cases_never_import_the_http_side(module: str, names: set[str]) -> None:
    assert not _under(names, *HTTP_SIDE), f"{module} imports {_under(names, *HTTP_SIDE)}"


@pytest.mark.parametrize(("module", "names"), sorted(imported_names(ROOT / "api" / "store").items()))
def test_the_store_imports_neither_the_use_cases_nor_the_http_side(module: str, names: set[str]) -> None:
    above = _under(names, *HTTP_SIDE, *USE_CASES)
    assert not above, f"{module} imports {above}"


# What only the store may touch: locks' deadlines, raw audit records, bulk inserts, bare sessions.
STORE_ONLY = ("before_waiting", "audit.record", "audit.begin", "insert_rows", "write_session", "store_session")


@pytest.mark.parametrize(
    "path", sorted(p for p in (ROOT / "api").rglob("*.py") if "store" not in p.relative_to(ROOT / "api").parts)
)
def test_no_use_case_or_route_keeps_the_write_rules_by_hand(path: Path) -> None:
    """Locks wait within the deadline and changes record their audit events inside the unit of work
    (api/store/unit_of_work.py); above the store nobody calls `before_waiting` or `audit.record`."""
    source = path.read_text()
    allowed = {"write_session"} if path.name == "auth.py" else set()  # a key's last use: bookkeeping, no event
    found = [name for name in STORE_ONLY if name in source and name not in allowed]
    assert not found, f"{path.relative_to(ROOT)} uses {found}"


def test_no_hook_is_registered_on_sqlalchemys_own_session_classes() -> None:
    """Prolo's hooks live on its own sessionmaker; a session opened elsewhere (a migration's, a test's) has none."""
    import sqlalchemy.orm
    import sqlmodel

    import api.cli
    import api.demo
    import api.web.app  # noqa: F401 - everything the server and the command line import, imported
    from api.store.unit_of_work import SESSIONS

    def hooks(cls: Any) -> dict[str, int]:
        counts = {n: len(getattr(cls.dispatch, n)._clslevel.get(cls, ())) for n in cls.dispatch._event_names}
        return {n: c for n, c in counts.items() if c}

    assert hooks(sqlalchemy.orm.Session) == {}
    assert hooks(sqlmodel.Session) == {}
    # before_flush: count_revisions and gather_freed (models/session.py)
    assert hooks(SESSIONS.class_) == {
        "before_flush": 2, "after_flush": 1, "before_commit": 1, "after_soft_rollback": 1, "after_commit": 1
    }  # fmt: skip


# How a route meets the database (api/web/transaction.py): it hands its use case to the request's Transaction,
# to read or to write, and never opens a transaction, a session, a connection or a worker thread of its own.
ROUTES = ROOT / "api" / "web" / "routes"
TRANSACTION_WAYS = {
    "read",
    "write",
    "write_steps",  # a write that commits as it goes: a dispatch pass's steps, each a unit of work
    "now",  # the request's instant, not the database
}
OWN_WAYS = (
    "sqlalchemy",
    "sqlmodel",
    "api.store.db",
    "api.store.admission",
    "api.store.freshness",
    "api.store.unit_of_work.reading",
    "api.store.unit_of_work.writing",
    "api.store.unit_of_work.steps",
    "api.store.unit_of_work.SESSIONS",
    "fastapi.concurrency",
    "starlette.concurrency",
    "anyio",
    "threading",
)
PROBE = "api/web/routes/system.py"  # /readyz asks the database itself whether it answers: no use case, no turn


def _transaction_uses(tree: ast.AST) -> set[str]:
    """What a file's functions use of the parameters typed as the request's transaction."""
    names = {
        arg.arg
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)
        if isinstance(arg.annotation, ast.Name) and arg.annotation.id in {"TransactionDep", "Transaction"}
    }
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in names
    }


@pytest.mark.parametrize(("module", "names"), sorted(imported_names(ROUTES).items()))
def test_routes_meet_the_database_only_by_reading_or_writing(module: str, names: set[str]) -> None:
    tree = ast.parse((ROOT / module).read_text(), filename=module)
    assert _transaction_uses(tree) <= TRANSACTION_WAYS, (
        f"{module} uses tx.{sorted(_transaction_uses(tree) - TRANSACTION_WAYS)}"
    )
    if module == PROBE:
        return
    assert not _under(names, *OWN_WAYS), f"{module} imports {_under(names, *OWN_WAYS)}"
    engines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "engine"]
    assert not engines, f"{module} reaches the engine itself, line {engines}"

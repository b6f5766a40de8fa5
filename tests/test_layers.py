"""The layers of docs/architecture.md, checked on the source: who may import whom.

Read with `ast`, not by importing, so a rule broken in a module no test imports still fails
here. A new module is covered the day it exists.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, absolute module, names imported from it) for every import in a file."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [a.name for a in node.names]
            if node.level and not node.module:
                # `from . import x`: each name is a module of the package.
                for name in names:
                    yield node.lineno, f"{module}.{name}", []
            else:
                yield node.lineno, module, names


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize("path", _modules("engine_client"), ids=_module_name)
def test_the_engine_client_knows_nothing_of_django_or_the_dashboard(path: Path) -> None:
    bad = [
        f"{_where(path, line)} imports {module}"
        for line, module, _ in _imports(path)
        if any(_under(module, p) for p in ("django", "channels", "daphne", "dashboard"))
    ]
    assert not bad, bad


@pytest.mark.parametrize(
    "path", _modules("engine_client") + _modules("dashboard"), ids=_module_name
)
def test_no_private_name_crosses_a_module(path: Path) -> None:
    own = _module_name(path)
    bad = [
        f"{_where(path, line)} imports {name} from {module}"
        for line, module, names in _imports(path)
        if _under(module, "engine_client") or _under(module, "dashboard")
        if module != own
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not bad, bad


@pytest.mark.parametrize("path", _modules("dashboard/views"), ids=_module_name)
def test_no_view_module_imports_another(path: Path) -> None:
    bad = [
        f"{_where(path, line)} imports {module}"
        for line, module, _ in _imports(path)
        if _under(module, "dashboard.views")
    ]
    assert not bad, bad


# What each layer of the dashboard may not import (imports run downwards only).
FORBIDDEN = {
    "dashboard/streams": ("dashboard.views", "dashboard.consumers"),
    "dashboard/consumers": ("dashboard.views",),
    "dashboard/forms": ("dashboard.views", "dashboard.consumers"),
}


@pytest.mark.parametrize(
    ("path", "forbidden"),
    [(p, f) for folder, f in FORBIDDEN.items() for p in _modules(folder)],
    ids=lambda v: _module_name(v) if isinstance(v, Path) else "",
)
def test_lower_layers_do_not_import_upper_ones(path: Path, forbidden: tuple[str, ...]) -> None:
    bad = [
        f"{_where(path, line)} imports {module}"
        for line, module, _ in _imports(path)
        if any(_under(module, f) for f in forbidden)
    ]
    assert not bad, bad


@pytest.mark.parametrize("path", sorted((ROOT / "tests").rglob("*.py")), ids=lambda p: p.name)
def test_no_test_imports_conftest(path: Path) -> None:
    bad = [
        f"{_where(path, line)} imports {module}"
        for line, module, _ in _imports(path)
        if module.split(".")[-1] == "conftest"
    ]
    assert not bad, bad

"""Arrows between the package's layers point one way: web → domain → rucio → auth → resilience → config/errors.

Every module under escape_dlaas is parsed (imports inside functions count too) and its
imports are checked against the layer rules below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import escape_dlaas

PACKAGE = Path(escape_dlaas.__file__).parent
SKIPPED = ("labextension", "lake/runtime")  # built frontend; code that runs inside the lake's Rucio
WEB_FRAMEWORKS = ("tornado", "jupyter_server")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module that ``source`` (the text of ``module``) imports, relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found.add(base)
            # "from . import web" imports the module escape_dlaas.web
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules() -> dict[str, set[str]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(SKIPPED):
            continue
        name = module_name(path)
        out[name] = imports_of(path.read_text(), name, is_package=path.name == "__init__.py")
    return out


def within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def breaches(importers: tuple[str, ...], forbidden: tuple[str, ...], *, outside: bool = False) -> list[str]:
    """``module imports x`` for each module within ``importers`` (or ``outside`` them) importing a forbidden x."""
    return sorted(
        f"{module} imports {imported}"
        for module, imported_set in modules().items()
        if within(module, *importers) != outside
        for imported in imported_set
        if within(imported, *forbidden)
    )


CORE = (
    "escape_dlaas.domain",
    "escape_dlaas.rucio",
    "escape_dlaas.auth",
    "escape_dlaas.config",
    "escape_dlaas.errors",
    "escape_dlaas.resilience",
)


def test_the_package_is_found():
    found = modules()
    assert {"escape_dlaas.domain.session", "escape_dlaas.web.handlers", "escape_dlaas.rucio.gateway"} <= set(found)
    assert "escape_dlaas.domain.catalogue" in found["escape_dlaas.domain.search"]


def test_the_core_knows_no_web_framework_and_not_the_web_layer():
    assert breaches(CORE, (*WEB_FRAMEWORKS, "escape_dlaas.web")) == []


def test_only_the_lake_imports_the_lake():
    assert breaches(("escape_dlaas.lake",), ("escape_dlaas.lake",), outside=True) == []


def test_auth_knows_neither_rucio_nor_the_domain_nor_the_web():
    assert breaches(("escape_dlaas.auth",), ("escape_dlaas.domain", "escape_dlaas.rucio", "escape_dlaas.web")) == []


def test_the_rucio_gateway_knows_neither_the_domain_nor_the_web():
    assert breaches(("escape_dlaas.rucio",), ("escape_dlaas.domain", "escape_dlaas.web")) == []


def test_resilience_knows_only_the_errors():
    """Deadlines, breakers and retries sit under auth and rucio, which both use them."""
    own = [i for i in modules()["escape_dlaas.resilience"] if within(i, "escape_dlaas")]
    assert own
    assert all(within(i, "escape_dlaas.errors") for i in own), own


def test_config_and_errors_stand_alone():
    assert breaches(("escape_dlaas.errors",), ("escape_dlaas",)) == []
    own = [
        imported
        for module, imported_set in modules().items()
        if within(module, "escape_dlaas.config")
        for imported in imported_set
        if within(imported, "escape_dlaas") and not within(imported, "escape_dlaas.config")
    ]
    assert own
    assert all(within(i, "escape_dlaas.errors") for i in own), own


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from ..web import handlers", "escape_dlaas.domain.rules", {"escape_dlaas.web", "escape_dlaas.web.handlers"}),
        ("from .. import web", "escape_dlaas.domain.rules", {"escape_dlaas", "escape_dlaas.web"}),
        ("from . import x", "escape_dlaas.domain", {"escape_dlaas.domain", "escape_dlaas.domain.x"}),
        ("def f():\n    import tornado.web", "escape_dlaas.rucio.client", {"tornado.web"}),
    ],
)
def test_the_import_reader_resolves_relative_and_nested_imports(source, module, expected):
    assert imports_of(source, module, is_package=module == "escape_dlaas.domain") == expected

"""The package's shape (docs/layout.md): no module over 800 lines, no module importing
another module's private names, and the front door light to import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "acl"
GENERATED = {"_azurerm_schema.py"}
"""Data modules written by scripts/, not read as code."""


def _modules() -> list[Path]:
    return sorted(p for p in [*SRC.rglob("*.py"), *SRC.rglob("*.pyx")] if p.name not in GENERATED)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_is_over_800_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 800, f"{path.relative_to(SRC)} has {lines} lines: split it by concern"


def _package(path: Path) -> tuple[str, ...]:
    return path.relative_to(SRC.parent).with_suffix("").parts[:-1]


@pytest.mark.parametrize(
    "path", [p for p in _modules() if p.suffix == ".py"], ids=lambda p: str(p.relative_to(SRC))
)
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    """A private module may be imported by its own package (``from . import _fast``); a
    private name (``_Rule``) may not be imported at all: what two modules share is public."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _package(path)
    wrong = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.module in ("__future__",):
            continue
        if node.level == 0 and not (node.module or "").startswith("acl"):
            continue  # another project's names are its business
        if node.level:
            base = here[: len(here) - node.level + 1]
            target = (*base, *(node.module or "").split(".")) if node.module else base
        else:
            target = tuple((node.module or "").split("."))
        target = tuple(part for part in target if part)
        for alias in node.names:
            name = alias.name
            if not name.startswith("_") or name.startswith("__"):
                continue
            module = SRC.parent.joinpath(*target, name)
            is_module = module.with_suffix(".py").exists() or module.with_suffix(".pyx").exists()
            if is_module and target == here:
                continue  # a private module of this package
            wrong.append(
                f"line {node.lineno}: from {'.' * node.level}{node.module or ''} import {name}"
            )
    assert not wrong, f"{path.relative_to(SRC)} imports private names: {wrong}"


def test_import_acl_loads_no_parser_of_a_format_it_may_never_read() -> None:
    code = (
        "import sys, acl, acl.formats\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'hcl2', 'lark', 'yaml', 'Cython'})\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_python_dash_m_acl_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "acl", "--help"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("usage: acl ")
    version = subprocess.run(
        [sys.executable, "-m", "acl", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.split()[-1] == __import__("acl").__version__


def test_acl_compile_is_the_function_whatever_is_imported() -> None:
    code = (
        "import types, pkgutil, importlib, acl\n"
        "for m in pkgutil.walk_packages(acl.__path__, 'acl.'):\n"
        "    if not m.name.endswith(('grpc', 'dask', '__main__')):\n"
        "        importlib.import_module(m.name)\n"
        "assert callable(acl.compile) and not isinstance(acl.compile, types.ModuleType)\n"
        "print(acl.compile.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "acl.engine"

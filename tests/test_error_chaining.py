"""Every error that ``acl`` translates from another one is raised ``from None``.

A translated error (an ``acl`` error raised inside an ``except`` block) already says what
went wrong, where, and what to do; the original exception chained to it (``During handling
of the above exception, another exception occurred``) would only add a second traceback of
the library's internals to what a user reads. The test reads the source of ``src/acl``: each
``raise SomeAclError(...)`` lexically inside an ``except`` block (not in a function defined
there) must say ``from None``. A deliberate ``from exc`` goes into :data:`CHAINED` with the
reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import acl.errors

SOURCE = Path(acl.errors.__file__).resolve().parent

CHAINED: dict[tuple[str, int], str] = {}
"""``(path relative to src/acl, line)`` of a raise that chains its cause on purpose, and why."""


def _error_names() -> set[str]:
    """The names of AclError and of every subclass defined in src/acl."""
    names = {
        name
        for name, value in vars(acl.errors).items()
        if isinstance(value, type) and issubclass(value, acl.errors.AclError)
    }
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in SOURCE.rglob("*.py")]
    grown = True
    while grown:  # subclasses of subclasses, in any module order
        before = len(names)
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and any(
                    isinstance(base, ast.Name | ast.Attribute)
                    and (base.id if isinstance(base, ast.Name) else base.attr) in names
                    for base in node.bases
                ):
                    names.add(node.name)
        grown = len(names) > before
    return names


class _Raises(ast.NodeVisitor):
    """The ``raise Error(...)`` statements inside ``except`` blocks, with their ``from``."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.handlers = 0
        self.found: list[tuple[int, str, ast.expr | None]] = []

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self.handlers += 1
        for child in node.body:
            self.visit(child)
        self.handlers -= 1

    def _scope(self, node: ast.AST) -> None:
        outer, self.handlers = self.handlers, 0  # a function defined in a handler runs later
        self.generic_visit(node)
        self.handlers = outer

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _scope

    def visit_Raise(self, node: ast.Raise) -> None:
        if self.handlers and isinstance(node.exc, ast.Call):
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in self.names:
                self.found.append((node.lineno, name, node.cause))
        self.generic_visit(node)


def _translations() -> dict[tuple[str, int], tuple[str, ast.expr | None]]:
    names = _error_names()
    found: dict[tuple[str, int], tuple[str, ast.expr | None]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        visitor = _Raises(names)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        relative = path.relative_to(SOURCE).as_posix()
        for line, name, cause in visitor.found:
            found[(relative, line)] = (name, cause)
    return found


def test_translated_errors_are_raised_from_none() -> None:
    found = _translations()
    chained = [
        f"src/acl/{path}:{line}: raise {name}(...) from {ast.unparse(cause) if cause else '(nothing)'}"
        for (path, line), (name, cause) in found.items()
        if not (isinstance(cause, ast.Constant) and cause.value is None)
        and (path, line) not in CHAINED
    ]
    assert not chained, "translated errors must be raised `from None`:\n" + "\n".join(chained)


def test_the_scan_sees_the_translations() -> None:
    found = _translations()
    # the CLI's own translations (an unreadable requests file, invalid JSON lines) are seen,
    # and so are the loaders' and readers'
    assert {name for (path, _), (name, _) in found.items() if path == "cli/decide.py"} >= {
        "UsageError",
        "RequestError",
    }
    assert len({path for path, _ in found}) >= 10 and len(found) >= 50
    assert all(key in found for key in CHAINED), "CHAINED names a raise that is gone"


def test_a_raise_without_from_is_caught() -> None:
    tree = ast.parse(
        "def f():\n"
        "    try:\n        g()\n    except KeyError as exc:\n"
        "        raise ConfigError('x')\n"
        "    try:\n        g()\n    except KeyError:\n"
        "        def later():\n            raise ConfigError('y')\n"
        "        raise ConfigError('z') from None\n"
    )
    visitor = _Raises({"ConfigError"})
    visitor.visit(tree)
    assert [(line, cause is None) for line, _, cause in visitor.found] == [(5, True), (11, False)]

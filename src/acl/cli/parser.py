"""The ``acl`` parser class and the type of its subparsers: what every command module
builds on. It imports nothing of acl but its errors, so that ``acl --version`` is quick."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from ..errors import UsageError

__all__ = ["Commands", "Parser", "warn"]

if TYPE_CHECKING:
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Commands = argparse._SubParsersAction
"""The ``acl`` parser's subparsers: what each command module's ``register`` adds to."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`~acl.errors.UsageError` (one line,
    exit 2), not argparse's usage text and ``SystemExit``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def warn(message: str) -> None:
    """A warning on stderr, as ``acl: warning: ...``."""
    print(f"acl: warning: {message}", file=sys.stderr)

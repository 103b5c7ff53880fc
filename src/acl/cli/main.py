"""The ``acl`` command: its parser, the list of command modules, and :func:`main`.

Exit codes: 0 success, 1 a check tripped (``--fail-on-deny``, a failed expectation), 2 an
error (printed as one line, without a traceback).

Each command module has a ``register(commands)`` that adds its subcommands to the parser.
:data:`COMMANDS` lists them with the commands each adds, so that a run imports only the
module of the command it runs (``acl check`` never loads the analysis code, ``acl
--version`` none of them); ``acl --help``, ``acl completion`` and an unknown command load
them all. Adding a command is one line there.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterable, Sequence

from .. import __version__
from ..errors import AclError
from .parser import Commands, Parser

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # (the module whose register(commands) adds them, the commands it adds)
    ("acl.cli.decide", ("eval", "test")),
    ("acl.cli.tags", ("tags",)),
    ("acl.cli.check", ("check", "whatif")),
    ("acl.cli.convert", ("convert",)),
    ("acl.cli.serve", ("serve",)),
    ("acl.cli.analysis", ("lint", "diff", "search")),
    ("acl.cli.audit", ("audit", "callers")),
    ("acl.cli.completion", ("completion",)),
    ("acl.cli.bench", ("bench",)),
)
"""The command modules, in the order ``acl --help`` lists their commands."""


def _modules(argv: Sequence[str] | None) -> Iterable[str]:
    """The modules to register for ``argv``: the one of its command; none without a command
    (``acl --version``); all of them for ``acl --help``, an unknown command, or no ``argv``."""
    every = [module for module, _ in COMMANDS]
    if argv is None:
        return every
    # the top-level options (--help, --version) take no value, so the first word that is
    # not an option is the command
    command = next((word for word in argv if not word.startswith("-")), None)
    if command is None:
        return every if any(word in ("-h", "--help") for word in argv) else []
    for module, names in COMMANDS:
        if command in names:
            return [module]
    return every


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The ``acl`` parser; given ``argv``, with only the subcommand it runs (when it names
    one), so that only that command's module is imported."""
    parser = Parser(
        prog="acl", description="Evaluate Azure App Service access restriction rule sets."
    )
    parser.add_argument("--version", action="version", version=f"acl {__version__}")
    commands: Commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in _modules(argv):
        importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        words = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(words)
        args, extra = parser.parse_known_args(words)
        if extra and not getattr(args, "takes_extra", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if getattr(args, "takes_extra", False):
            args.extra = extra
        code: int = args.handler(args)
        sys.stdout.flush()
        return code
    except AclError as exc:
        print(f"acl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("acl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if exc.filename is not None:  # not an output: a file acl read
            raise
        # standard output that cannot be written (a full disk, /dev/full): one line, and
        # nothing left to flush at exit
        print(f"acl: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 2

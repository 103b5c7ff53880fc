"""``acl bench``: a thin entry over the benchmark harness of a source checkout.

The harness (``benchmarks/bench.py`` and its workloads) is not part of the installed
package. ``acl bench ARGS`` finds the checkout's ``benchmarks/`` folder, next to the package
source (an editable install) or in the current directory, and runs ``bench.main(ARGS)``
there; an installed wheel without a checkout says so in one line and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType

from ..errors import UsageError
from .common import Commands

__all__ = ["benchmarks_dir", "harness", "register"]

HARNESS = "bench.py"
"""The file that marks a ``benchmarks/`` folder as acl's."""


def benchmarks_dir() -> Path | None:
    """The checkout's ``benchmarks/`` folder: next to the package source (``src/acl`` ->
    ``benchmarks``), else in the current directory; None when neither has the harness."""
    source = Path(__file__).resolve().parents[3] / "benchmarks"
    for folder in (source, Path.cwd() / "benchmarks"):
        if (folder / HARNESS).is_file():
            return folder
    return None


def harness(name: str = "bench") -> ModuleType:
    """A module of the checkout's ``benchmarks/`` (``bench``, ``workload``, ``loadgen``...),
    imported with that folder on ``sys.path``.

    Raises:
        UsageError: no checkout with a ``benchmarks/`` folder was found.
    """
    folder = benchmarks_dir()
    if folder is None:
        raise UsageError(
            "acl bench: the benchmarks are not installed with the package: run it from a "
            "checkout of acl (its benchmarks/bench.py), e.g. cd into the checkout"
        )
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return importlib.import_module(name)


def register(commands: Commands) -> None:
    """Add ``bench``; its options are the harness's (``acl bench --help``)."""
    be = commands.add_parser(
        "bench",
        add_help=False,
        help="measure decisions/s, compile time and memory against pytricia, numpy and others",
        description="Runs the benchmark harness of a source checkout (benchmarks/bench.py); "
        "acl bench --help lists its options.",
    )
    be.set_defaults(handler=_cmd_bench, takes_extra=True)


def _cmd_bench(args: argparse.Namespace) -> int:
    code: int = harness().main(list(args.extra))
    return code

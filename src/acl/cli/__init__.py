"""The ``acl`` command line: one module per command group, :func:`main` in :mod:`.main`.

- :mod:`.main`: the parser, the list of command modules, and :func:`main`;
- :mod:`.common`: the parser class and the options that load a site, shared by commands;
- :mod:`.decide`: ``eval``, ``test``; :mod:`.tags`: ``tags``;
- :mod:`.check`: ``check``, ``whatif``; :mod:`.convert`: ``convert``; :mod:`.serve`: ``serve``;
- :mod:`.analysis`: ``lint``, ``diff``, ``search``;
- :mod:`.completion`: ``completion``; :mod:`.bench`: ``bench`` (over a checkout's
  ``benchmarks/``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .main import build_parser, main
from .parser import Parser

if TYPE_CHECKING:
    from .common import add_rules_options, load_site


def __getattr__(name: str) -> Any:
    """``add_rules_options`` and ``load_site`` load the formats: only when asked for."""
    if name in ("add_rules_options", "load_site"):
        from . import common

        return getattr(common, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Parser", "add_rules_options", "build_parser", "load_site", "main"]

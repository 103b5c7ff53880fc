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

from .common import Parser, add_rules_options, load_site
from .main import build_parser, main

__all__ = ["Parser", "add_rules_options", "build_parser", "load_site", "main"]

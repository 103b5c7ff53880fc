"""Site to engine."""

from __future__ import annotations

from .engine import Engine
from .model import Site

__all__ = ["compile"]


def compile(site: Site) -> Engine:
    """Prepare a site for fast decisions."""
    return Engine(site)

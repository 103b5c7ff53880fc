"""``acl serve``: the decision service's command, registered from its own module."""

from __future__ import annotations

from ..gateway.cli import register as register_serve
from .common import Commands, add_rules_options, load_site

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``serve``."""
    register_serve(commands, add_rules_options, load_site)

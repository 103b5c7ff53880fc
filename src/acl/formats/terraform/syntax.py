"""syntax."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lark import Token, Tree


@dataclass(frozen=True)
class HclFile:
    """One parsed ``.tf`` (or ``.tfvars``) file."""

    name: str
    text: str
    tree: Tree[Any]

    def source(self, node: Tree[Any] | Token) -> str:
        """The text a node was parsed from, on one line."""
        if isinstance(node, Token):
            start, end = node.start_pos, node.end_pos
        else:
            meta = node.meta
            if getattr(meta, "empty", True):
                return "<expression>"
            start, end = meta.start_pos, meta.end_pos
        if start is None or end is None:
            return "<expression>"
        return " ".join(self.text[start:end].split())

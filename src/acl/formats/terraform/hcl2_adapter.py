"""hcl2_adapter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ...errors import quote
from .._limits import (
    MAX_DEPTH,
)
from .hcl_errors import EvalError, HclSyntaxError
from .templates import blank_interpolation_strips


def parse_hcl(text: str) -> Tree[Any]:
    """The Lark tree of HCL text (:class:`HclSyntaxError` when it is not HCL).

    python-hcl2 knows the strip markers of template directives (``%{~ if x ~}``) but not
    those of interpolations (``${~ x ~}``): they are blanked before parsing, which keeps
    every position, and read back from the original text when the template is evaluated.
    """
    try:
        tree = hcl2.parses_to_tree(blank_interpolation_strips(text))
    except UnexpectedInput as exc:
        if isinstance(exc, UnexpectedToken):
            found = exc.token
            what = (
                "end of file"
                if found.type == "$END"
                else repr(str(found).strip()[:30] or "newline")
            )
        elif isinstance(exc, UnexpectedCharacters):
            what = repr(exc.char)
        else:
            what = "input"
        raise HclSyntaxError(f"invalid HCL: unexpected {what}", exc.line, exc.column) from None
    except RecursionError:
        raise HclSyntaxError(
            f"invalid HCL: nested too deeply (acl reads expressions at most {MAX_DEPTH} levels "
            "deep)",
            None,
            None,
        ) from None
    except (LarkError, RuntimeError, ValueError) as exc:  # the post-lexer's own errors
        raise HclSyntaxError(f"invalid HCL: {quote(str(exc))}", None, None) from None
    return tree




# ---------------------------------------------------------------------------- tree helpers


def subtrees(node: Tree[Any]) -> list[Tree[Any]]:
    """The child trees that carry meaning (no punctuation, no newlines or comments)."""
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def name_of(node: Tree[Any] | Token) -> str:
    """The text of an ``identifier``, ``keyword``, ``literal_value`` or ``string`` label."""
    if isinstance(node, Token):
        return str(node)
    if node.data == "string":
        return "".join(
            str(part.children[0])
            for part in node.children
            if isinstance(part, Tree) and part.data == "string_part"
            if isinstance(part.children[0], Token)
        )
    for child in node.children:
        if isinstance(child, Token):
            return str(child)
        return name_of(child)
    return ""


def _body(node: Tree[Any]) -> Tree[Any]:
    for child in node.children:
        if isinstance(child, Tree) and child.data == "body":
            return child
    raise EvalError("block has no body", line_of(node))


def line_of(node: Tree[Any] | Token) -> int | None:
    if isinstance(node, Token):
        return node.line
    meta = node.meta
    return None if getattr(meta, "empty", True) else meta.line


@dataclass(frozen=True)
class Block:
    """A block of a body: its type, labels, body tree and line."""

    type: str
    labels: tuple[str, ...]
    body: Tree[Any]
    line: int | None


def blocks(body: Tree[Any]) -> Iterator[Block]:
    """The blocks of a body, in source order."""
    for child in body.children:
        if isinstance(child, Tree) and child.data == "block":
            parts = [c for c in child.children if isinstance(c, Tree) and c.data != "body"]
            parts = [p for p in parts if p.data != "new_line_or_comment"]
            yield Block(
                name_of(parts[0]),
                tuple(name_of(p) for p in parts[1:]),
                _body(child),
                line_of(child),
            )


def attributes(body: Tree[Any]) -> dict[str, tuple[Tree[Any], int | None]]:
    """The attributes of a body: name to (expression tree, line)."""
    found: dict[str, tuple[Tree[Any], int | None]] = {}
    for child in body.children:
        if isinstance(child, Tree) and child.data == "attribute":
            parts = [c for c in child.children if isinstance(c, Tree)]
            name = name_of(parts[0])
            if name in found:
                raise EvalError(f"attribute {quote(name)} is set twice", line_of(child))
            found[name] = (parts[1], line_of(child))
    return found

"""The syntax of HCL as acl reads it: bodies of attributes and blocks, and expressions.

:mod:`.hcl2_adapter` builds these from python-hcl2's parse tree; everything else (the
evaluator, type constraints, the Terraform readers) works on them alone. Every expression
keeps its first line and the span of text it was parsed from, so that messages can quote
it (:meth:`HclFile.source`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ...errors import quote
from .hcl_errors import EvalError

__all__ = [
    "Attribute",
    "Binary",
    "Block",
    "Body",
    "Call",
    "Conditional",
    "DirectivePart",
    "Expr",
    "ForExpr",
    "GetAttr",
    "Group",
    "Heredoc",
    "HclFile",
    "Identifier",
    "Index",
    "InterpolationPart",
    "Keyword",
    "Literal",
    "ObjectExpr",
    "ObjectItem",
    "Splat",
    "Template",
    "TemplatePart",
    "TextPart",
    "TupleExpr",
    "Unary",
    "Unsupported",
    "attributes",
    "blocks",
]


@dataclass(frozen=True, slots=True)
class Expr:
    """An expression: its first line and the span of the file's text it was parsed from
    (None when unknown)."""

    line: int | None
    start: int | None
    end: int | None


@dataclass(frozen=True, slots=True)
class Literal(Expr):
    """A number, ``true``, ``false`` or ``null``: ``kind`` is ``int``, ``float``, ``true``,
    ``false`` or ``null`` (anything else is refused when evaluated), ``text`` as written."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Keyword(Expr):
    """A keyword written where a name goes (``in``, ``for``, ``if``...): its text."""

    name: str


@dataclass(frozen=True, slots=True)
class Group(Expr):
    """An expression in parentheses (or a term standing for one)."""

    inner: Expr


@dataclass(frozen=True, slots=True)
class TextPart:
    """Literal characters of a quoted template; ``escaped`` for ``$${`` and ``%%{``."""

    text: str
    escaped: bool
    line: int | None


@dataclass(frozen=True, slots=True)
class InterpolationPart:
    """``${ expression }``; the ``~`` strip markers on either side."""

    expression: Expr
    strip_before: bool
    strip_after: bool
    line: int | None


@dataclass(frozen=True, slots=True)
class DirectivePart:
    """``%{if}``, ``%{else}``, ``%{endif}``, ``%{for}`` or ``%{endfor}`` (``kind``); a
    ``kind`` of None is a part acl does not understand, named by ``names[0]``."""

    kind: str | None
    expression: Expr | None
    names: tuple[str, ...]
    strip_before: bool
    strip_after: bool
    line: int | None


TemplatePart = TextPart | InterpolationPart | DirectivePart


@dataclass(frozen=True, slots=True)
class Template(Expr):
    """A quoted string: its parts, in order."""

    parts: tuple[TemplatePart, ...]


@dataclass(frozen=True, slots=True)
class Heredoc(Expr):
    """A heredoc, as written from ``<<`` to its closing marker; ``trim`` for ``<<-``."""

    raw: str
    trim: bool


@dataclass(frozen=True, slots=True)
class TupleExpr(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class ObjectItem:
    """One ``key = value`` of an object: ``name`` is the key when it is a bare name (or a
    keyword), ``key`` the expression that gives it otherwise; ``label`` is the key's text
    as a type constraint reads it."""

    name: str | None
    key: Expr
    label: str
    value: Expr


@dataclass(frozen=True, slots=True)
class ObjectExpr(Expr):
    items: tuple[ObjectItem, ...]


@dataclass(frozen=True, slots=True)
class Identifier(Expr):
    name: str


@dataclass(frozen=True, slots=True)
class GetAttr(Expr):
    """``base.name``."""

    base: Expr
    name: str


@dataclass(frozen=True, slots=True)
class Index(Expr):
    """``base[key]``; ``key`` is a number for the legacy ``base.0``."""

    base: Expr
    key: Expr | int


@dataclass(frozen=True, slots=True)
class Splat(Expr):
    """``base.*.x`` or ``base[*].x``: the steps after the splat, each an attribute name
    (``str``) or an index (:class:`Expr` or number)."""

    base: Expr
    steps: tuple[tuple[str, str | Expr | int], ...]


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """``name(args)``; ``expand`` for a last argument followed by ``...``."""

    name: str
    args: tuple[Expr, ...]
    expand: bool


@dataclass(frozen=True, slots=True)
class Conditional(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    left: Expr
    operator: str
    right: Expr


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    operator: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class ForExpr(Expr):
    """``[for k, v in c : value if cond]`` or ``{for k, v in c : key => value...}``
    (``key`` set, ``grouping`` for ``...``)."""

    names: tuple[str, ...]
    collection: Expr
    key: Expr | None
    value: Expr
    condition: Expr | None
    grouping: bool


@dataclass(frozen=True, slots=True)
class Unsupported(Expr):
    """An expression acl does not evaluate: evaluating it fails with ``message``."""

    message: str


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    value: Expr
    line: int | None


@dataclass(frozen=True, slots=True)
class Block:
    """A block of a body: its type, labels, body and line; ``bodiless`` when the parser
    found no body (reading its blocks fails)."""

    type: str
    labels: tuple[str, ...]
    body: Body
    line: int | None
    bodiless: bool = False


@dataclass(frozen=True, slots=True)
class Body:
    """The attributes and blocks of a file or a block, in source order."""

    items: tuple[Attribute | Block, ...] = ()


@dataclass(frozen=True, slots=True)
class HclFile:
    """One parsed ``.tf`` (or ``.tfvars``) file: its text and its top-level body."""

    name: str
    text: str
    body: Body

    def source(self, node: Expr) -> str:
        """The text an expression was parsed from, on one line."""
        if node.start is None or node.end is None:
            return "<expression>"
        return " ".join(self.text[node.start : node.end].split())


def blocks(body: Body) -> Iterator[Block]:
    """The blocks of a body, in source order."""
    for item in body.items:
        if isinstance(item, Block):
            if item.bodiless:
                raise EvalError("block has no body", item.line)
            yield item


def attributes(body: Body) -> dict[str, tuple[Expr, int | None]]:
    """The attributes of a body: name to (expression, line)."""
    found: dict[str, tuple[Expr, int | None]] = {}
    for item in body.items:
        if isinstance(item, Attribute):
            if item.name in found:
                raise EvalError(f"attribute {quote(item.name)} is set twice", item.line)
            found[item.name] = (item.value, item.line)
    return found

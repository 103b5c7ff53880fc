"""The HCL adapter: the one module that knows python-hcl2 and its Lark parse tree.

python-hcl2 parses HCL text into a Lark tree whose rule names (``expr_term``,
``function_call``, ``binary_term``, ``heredoc_template_trim``...) and token types
(``INT_LITERAL``, ``ELLIPSIS``...) are those of its grammar, which changes between major
releases: that is why ``pyproject.toml`` pins ``python-hcl2<9``. This module turns the tree
into the types of :mod:`.syntax` at once, and no other module sees a Lark object or a rule
name; a new python-hcl2 grammar means changing this module alone.

python-hcl2 and Lark are imported when the first text is parsed, not when acl is.
"""

from __future__ import annotations

from typing import Any

from ...errors import quote
from .._limits import MAX_DEPTH
from .hcl_errors import HclSyntaxError
from .syntax import (
    Attribute,
    Binary,
    Block,
    Body,
    Call,
    Conditional,
    DirectivePart,
    Expr,
    ForExpr,
    GetAttr,
    Group,
    Heredoc,
    Identifier,
    Index,
    InterpolationPart,
    Keyword,
    Literal,
    ObjectExpr,
    ObjectItem,
    Splat,
    Template,
    TemplatePart,
    TextPart,
    TupleExpr,
    Unary,
    Unsupported,
    attributes,
)
from .templates import blank_interpolation_strips

__all__ = ["parse_expression", "parse_hcl"]


def parse_hcl(text: str) -> Body:
    """The top-level body of HCL text (:class:`HclSyntaxError` when it is not HCL)."""
    tree = _parse_tree(text)
    for child in tree.children:
        if _is_tree(child) and child.data == "body":
            return _Converter(text).body(child)
    return Body()


def parse_expression(text: str) -> Expr:
    """The expression of the attribute ``v`` of ``text``, without the parentheses it is
    written in (a template's ``${...}`` is parsed as ``v=(...)``); :class:`KeyError` when
    ``text`` sets no ``v``."""
    expression, _ = attributes(parse_hcl(text))["v"]
    return expression.inner if isinstance(expression, Group) else expression


def _parse_tree(text: str) -> Any:
    """python-hcl2's Lark tree of HCL text (:class:`HclSyntaxError` when it is not HCL).

    python-hcl2 knows the strip markers of template directives (``%{~ if x ~}``) but not
    those of interpolations (``${~ x ~}``): they are blanked before parsing, which keeps
    every position, and read back from the original text when the template is evaluated.
    """
    import hcl2
    from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

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


# ---------------------------------------------------------------------------- the tree
# A Lark Token is a str; a Tree is not.

_TOO_DEEP = f"expression is nested more than {MAX_DEPTH} levels deep, the limit acl evaluates"
_LITERALS = {
    "INT_LITERAL": "int",
    "FLOAT_LITERAL": "float",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
}
_DIRECTIVES = {
    "template_if_start": "if",
    "template_else": "else",
    "template_endif": "endif",
    "template_for_start": "for",
    "template_endfor": "endfor",
}


def _is_tree(node: Any) -> bool:
    return not isinstance(node, str)


def _trees(node: Any) -> list[Any]:
    """The child trees that carry meaning (no punctuation, no newlines or comments)."""
    return [c for c in node.children if _is_tree(c) and c.data != "new_line_or_comment"]


def _name(node: Any) -> str:
    """The text of an ``identifier``, ``keyword``, ``literal_value`` or ``string`` label."""
    if isinstance(node, str):
        return str(node)
    if node.data == "string":
        return "".join(
            str(part.children[0])
            for part in node.children
            if _is_tree(part) and part.data == "string_part"
            if isinstance(part.children[0], str)
        )
    for child in node.children:
        if isinstance(child, str):
            return str(child)
        return _name(child)
    return ""


def _type(token: Any) -> str:
    """A token's type (``INT_LITERAL``, ``ELLIPSIS``...)."""
    return str(token.type)


def _line(node: Any) -> int | None:
    if not _is_tree(node):
        line: int | None = node.line
        return line
    meta = node.meta
    return None if getattr(meta, "empty", True) else meta.line


def _span(node: Any) -> tuple[int | None, int | None]:
    meta = node.meta
    if getattr(meta, "empty", True):
        return None, None
    return meta.start_pos, meta.end_pos


def _unwrap(node: Any) -> Any:
    while node.data in ("expr_term", "object_elem_key") and _trees(node):
        node = _trees(node)[0]
    return node


class _Converter:
    """Lark trees of one text to :mod:`.syntax`; expressions deeper than the evaluator
    goes are cut off (evaluating them would fail first)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def body(self, node: Any) -> Body:
        items: list[Attribute | Block] = []
        for child in node.children:
            if not _is_tree(child):
                continue
            if child.data == "block":
                parts = [c for c in child.children if _is_tree(c) and c.data != "body"]
                parts = [p for p in parts if p.data != "new_line_or_comment"]
                inner = next((c for c in child.children if _is_tree(c) and c.data == "body"), None)
                items.append(
                    Block(
                        _name(parts[0]),
                        tuple(_name(p) for p in parts[1:]),
                        Body() if inner is None else self.body(inner),
                        _line(child),
                        bodiless=inner is None,
                    )
                )
            elif child.data == "attribute":
                parts = [c for c in child.children if _is_tree(c)]
                items.append(Attribute(_name(parts[0]), self.expr(parts[1], 1), _line(child)))
        return Body(tuple(items))

    def source(self, node: Any) -> str:
        start, end = _span(node)
        if start is None or end is None:
            return "<expression>"
        return " ".join(self.text[start:end].split())

    def expr(self, node: Any, depth: int) -> Expr:
        line = _line(node)
        start, end = _span(node)
        if depth > MAX_DEPTH + 1:
            return Unsupported(line, start, end, _TOO_DEEP)
        data = node.data
        kids = _trees(node)
        deeper = depth + 1
        if data == "expr_term":
            if kids:
                return Group(line, start, end, self.expr(kids[0], deeper))
            token = next(c for c in node.children if isinstance(c, str))
            return Literal(line, start, end, _LITERALS.get(_type(token), ""), str(token))
        if data in ("int_lit", "float_lit", "literal_value"):
            token = node.children[0]
            if not isinstance(token, str):
                return Unsupported(line, start, end, f"unexpected {data}")
            return Literal(line, start, end, _LITERALS.get(_type(token), ""), str(token))
        if data == "string":
            return Template(line, start, end, self.template(node, deeper))
        if data in ("heredoc_template", "heredoc_template_trim"):
            raw = str(node.children[0])
            return Heredoc(line, start, end, raw, data == "heredoc_template_trim")
        if data == "tuple":
            return TupleExpr(line, start, end, tuple(self.expr(k, deeper) for k in kids))
        if data == "object":
            return ObjectExpr(line, start, end, tuple(self.item(k, deeper) for k in kids))
        if data == "identifier":
            return Identifier(line, start, end, _name(node))
        if data == "get_attr_expr_term":
            name = _name(_trees(kids[1])[0])
            return GetAttr(line, start, end, self.expr(kids[0], deeper), name)
        if data == "index_expr_term":
            key = self.index(kids[1], deeper)
            return Index(line, start, end, self.expr(kids[0], deeper), key)
        if data in ("attr_splat_expr_term", "full_splat_expr_term"):
            steps: list[tuple[str, str | Expr | int]] = []
            for step in _trees(kids[1]):
                if step.data == "get_attr":
                    steps.append(("attr", _name(_trees(step)[0])))
                else:
                    steps.append(("index", self.index(step, deeper)))
            return Splat(line, start, end, self.expr(kids[0], deeper), tuple(steps))
        if data == "function_call":
            name = "::".join(_name(k) for k in kids if k.data == "identifier")
            arguments = [k for k in kids if k.data == "arguments"]
            args = _trees(arguments[0]) if arguments else []
            expand = bool(arguments) and any(
                isinstance(c, str) and _type(c) == "ELLIPSIS" for c in arguments[0].children
            )
            return Call(line, start, end, name, tuple(self.expr(a, deeper) for a in args), expand)
        if data == "conditional":
            condition, then, otherwise = (self.expr(k, deeper) for k in kids[:3])
            return Conditional(line, start, end, condition, then, otherwise)
        if data == "binary_op":
            term = _trees(kids[1])
            left, right = self.expr(kids[0], deeper), self.expr(term[1], deeper)
            return Binary(line, start, end, left, _name(term[0]), right)
        if data == "unary_op":
            return Unary(line, start, end, str(node.children[0]), self.expr(kids[0], deeper))
        if data in ("for_tuple_expr", "for_object_expr"):
            return self.for_expr(node, kids, deeper, (line, start, end))
        if data == "keyword":
            return Keyword(line, start, end, _name(node))
        message = f"expression {quote(self.source(node))} ({data}) is not supported"
        return Unsupported(line, start, end, message)

    def index(self, node: Any, depth: int) -> Expr | int:
        if node.data == "short_index":
            return int(str(node.children[-1]))
        return self.expr(_trees(node)[0], depth)

    def item(self, node: Any, depth: int) -> ObjectItem:
        parts = _trees(node)
        key_node, value_node = parts[0], parts[1]
        inner = _trees(key_node)
        target = inner[0] if inner else key_node
        name: str | None = None
        if target.data == "expr_term" and _trees(target) and _trees(target)[0].data == "identifier":
            name = _name(_trees(target)[0])
        elif target.data in ("identifier", "keyword"):
            name = _name(target)
        label = _name(_unwrap(key_node))
        return ObjectItem(name, self.expr(target, depth), label, self.expr(value_node, depth))

    def for_expr(
        self, node: Any, kids: list[Any], depth: int, where: tuple[int | None, ...]
    ) -> ForExpr:
        line, start, end = where
        intro = _trees(kids[0])
        names = tuple(_name(k) for k in intro if k.data == "identifier")
        collection = self.expr(next(k for k in intro if k.data != "identifier"), depth)
        condition = next((k for k in kids if k.data == "for_cond"), None)
        grouping = any(isinstance(c, str) and _type(c) == "ELLIPSIS" for c in node.children)
        bodies = [self.expr(k, depth) for k in kids[1:] if k.data != "for_cond"]
        key, value = (bodies[0], bodies[1]) if node.data == "for_object_expr" else (None, bodies[0])
        test = None if condition is None else self.expr(_trees(condition)[0], depth)
        return ForExpr(line, start, end, names, collection, key, value, test, grouping)

    def template(self, node: Any, depth: int) -> tuple[TemplatePart, ...]:
        parts: list[TemplatePart] = []
        for part in node.children:
            if not _is_tree(part):
                continue
            inner = part.children[0]
            if isinstance(inner, str):
                escaped = _type(inner) in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE")
                parts.append(TextPart(str(inner), escaped, _line(inner)))
            elif inner.data == "interpolation":
                tokens = [c for c in inner.children if not _is_tree(c)]
                opened: int | None = tokens[0].end_pos
                closed: int | None = tokens[-1].start_pos
                before = opened is not None and self.text[opened : opened + 1] == "~"
                after = closed is not None and self.text[closed - 1 : closed] == "~"
                expression = self.expr(_trees(inner)[0], depth)
                parts.append(InterpolationPart(expression, before, after, _line(inner)))
            else:
                parts.append(self.directive(inner, depth))
        return tuple(parts)

    def directive(self, node: Any, depth: int) -> DirectivePart:
        """A directive of a quoted template."""
        kind = _DIRECTIVES.get(node.data)
        if kind is None:
            return DirectivePart(None, None, (str(node.data),), False, False, _line(node))
        tokens = [str(c) for c in node.children if isinstance(c, str)]
        kids = _trees(node)
        names = tuple(_name(k) for k in kids if k.data == "identifier") if kind == "for" else ()
        expressions = [k for k in kids if k.data != "identifier"] if kind in ("if", "for") else []
        return DirectivePart(
            kind,
            self.expr(expressions[0], depth) if expressions else None,
            names,
            len(tokens) > 1 and tokens[1] == "~",
            len(tokens) > 1 and tokens[-2] == "~",
            _line(node),
        )

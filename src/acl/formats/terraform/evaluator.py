"""evaluator."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lark import Token, Tree

from ...errors import quote
from .._limits import (
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    LimitError,
    bounded_join,
    checked,
)
from .._limits import step as _step
from .functions import FUNCTIONS, Unsupported
from .hcl2_adapter import attributes, line_of, name_of, parse_hcl, subtrees
from .hcl_errors import EvalError, HclSyntaxError, NeedsPlan
from .syntax import HclFile
from .templates import (
    DIRECTIVE,
    FOR_NAMES,
    Branch,
    Piece,
    flush_pieces,
    meld_pieces,
    scan_expression,
    strip_pieces,
    structure_pieces,
    text_pieces,
)
from .values import Scope, pairs_of, to_bool, to_number, to_string, type_name, unescape

_BUILDS = {
    "function_call": "a function call",
    "string": "a string template",
    "heredoc_template": "a heredoc",
    "heredoc_template_trim": "a heredoc",
    "tuple": "a tuple",
    "object": "an object",
    "binary_op": "an operator",
    "unary_op": "an operator",
    "for_tuple_expr": "a for expression",
    "for_object_expr": "a for expression",
}
"""The expressions that build a new value, checked against the size limits."""

_TRAVERSALS = frozenset(
    {"get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"}
)


class ModuleOutputs:
    """The outputs of one module instance, each evaluated when it is read."""

    def __init__(self, address: str, names: frozenset[str], read: Callable[[str], Any]) -> None:
        self.address = address
        self.names = names
        self._read = read

    def get(self, name: str) -> Any:
        if name not in self.names:
            raise EvalError(
                f"{self.address} has no output {quote(name)}"
                + (f" (it has: {', '.join(sorted(self.names))})" if self.names else "")
            )
        return self._read(name)

    def materialize(self) -> dict[str, Any]:
        return {name: self.get(name) for name in sorted(self.names)}


def _settle(value: Any) -> Any:
    """A value with module instances (read as a whole) turned into objects."""
    if isinstance(value, ModuleOutputs):
        return value.materialize()
    if isinstance(value, list) and any(isinstance(v, ModuleOutputs) for v in value):
        return [_settle(v) for v in value]
    if isinstance(value, dict) and any(isinstance(v, ModuleOutputs) for v in value.values()):
        return {k: _settle(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class JsonValue:
    """A value of a Terraform JSON (``.tf.json``) file standing for an expression: strings
    are templates, arrays and objects hold expressions, the rest are literals."""

    value: Any
    line: int | None = None


@dataclass
class Evaluator:
    """Evaluates expressions of one module.

    ``variables`` are the resolved input variable values (a missing key means declared but
    without a value); ``declared`` names every declared variable; ``locals`` maps local names
    to their expression and file.
    """

    variables: Mapping[str, Any]
    declared: frozenset[str]
    locals: Mapping[str, tuple[Tree[Any] | JsonValue, HclFile]]
    resource_types: frozenset[str] = frozenset()
    modules: Callable[[str], Any] | None = None
    """Module call name to its value (a :class:`ModuleOutputs`, or a list or map of them
    for ``count`` and ``for_each``); None: module outputs need a plan."""
    _local_values: dict[str, Any] = field(default_factory=dict)
    _resolving: set[str] = field(default_factory=set)
    _templates: dict[tuple[str, int | None, str], list[Piece]] = field(default_factory=dict)
    _depth: int = 0

    def evaluate(self, node: Tree[Any] | Token | JsonValue, scope: Scope, file: HclFile) -> Any:
        try:
            return self._eval(node, scope, file)
        except RecursionError:
            line = node.line if isinstance(node, JsonValue) else line_of(node)
            raise EvalError(
                f"expression is nested too deeply: acl evaluates expressions at most {MAX_DEPTH} "
                "levels deep",
                line,
            ) from None

    # -- the walk

    def _eval(
        self, node: Tree[Any] | Token | JsonValue, scope: Scope, file: HclFile, keep: bool = False
    ) -> Any:
        if isinstance(node, JsonValue):
            return self._json(node.value, node.line, scope, file)
        if isinstance(node, Token):
            return self._token(node, file)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise EvalError(
                    f"expression is nested more than {MAX_DEPTH} levels deep, the limit acl "
                    "evaluates"
                )
            _step("an expression")
            value = self._node(node, scope, file)
            if node.data in _BUILDS:
                checked(value, _BUILDS[node.data])
            return value if keep else _settle(value)
        except LimitError as exc:
            if exc.line is None:
                exc.line = line_of(node)
                exc.file = file.name
            raise
        except NeedsPlan as exc:
            if exc.line is None:
                exc.line = line_of(node)
            if node.data in _TRAVERSALS and exc.widen:
                exc.expression = file.source(node)
            elif node.data not in ("expr_term", "identifier"):
                exc.widen = False
            raise
        except EvalError as exc:
            if exc.line is None:
                exc.line = line_of(node)
            raise
        finally:
            self._depth -= 1

    def _token(self, token: Token, file: HclFile) -> Any:
        kind = token.type
        if kind == "INT_LITERAL":
            if len(token) > MAX_NUMBER_DIGITS:
                raise EvalError(
                    f"number {quote(str(token))} has more than {MAX_NUMBER_DIGITS} digits, the "
                    "limit of one number",
                    token.line,
                )
            return int(token)
        if kind == "FLOAT_LITERAL":
            number = float(token)
            return int(number) if number.is_integer() else number
        if kind == "TRUE":
            return True
        if kind == "FALSE":
            return False
        if kind == "NULL":
            return None
        raise EvalError(f"unexpected {quote(str(token))}", token.line)

    def _node(self, node: Tree[Any], scope: Scope, file: HclFile) -> Any:
        data = node.data
        kids = subtrees(node)
        if data == "expr_term":
            if kids:
                return self._eval(kids[0], scope, file, keep=True)
            tokens = [c for c in node.children if isinstance(c, Token)]
            return self._token(tokens[0], file)
        if data in ("int_lit", "float_lit", "literal_value"):
            token = node.children[0]
            if not isinstance(token, Token):
                raise EvalError(f"unexpected {data}")
            return self._token(token, file)
        if data == "string":
            return self._string(node, scope, file)
        if data in ("heredoc_template", "heredoc_template_trim"):
            return self._heredoc(node, scope, file)
        if data == "tuple":
            return [self._eval(kid, scope, file) for kid in kids]
        if data == "object":
            return self._object(kids, scope, file)
        if data == "identifier":
            return self._identifier(name_of(node), node, scope, file)
        if data == "get_attr_expr_term":
            base = self._eval(kids[0], scope, file, keep=True)
            return self._get_attr(base, name_of(subtrees(kids[1])[0]), node, file)
        if data == "index_expr_term":
            base = self._eval(kids[0], scope, file, keep=True)
            return self._index(base, self._index_key(kids[1], scope, file), node, file)
        if data in ("attr_splat_expr_term", "full_splat_expr_term"):
            return self._splat(node, kids, scope, file)
        if data == "function_call":
            return self._call(node, kids, scope, file)
        if data == "conditional":
            condition = to_bool(self._eval(kids[0], scope, file))
            return self._eval(kids[1] if condition else kids[2], scope, file)
        if data == "binary_op":
            return self._binary(node, kids, scope, file)
        if data == "unary_op":
            operator = str(node.children[0])
            value = self._eval(kids[0], scope, file)
            if operator == "!":
                return not to_bool(value)
            return -to_number(value)
        if data == "for_tuple_expr":
            return self._for(node, scope, file, as_object=False)
        if data == "for_object_expr":
            return self._for(node, scope, file, as_object=True)
        if data == "keyword":
            return name_of(node)
        raise EvalError(f"expression {quote(file.source(node))} ({data}) is not supported")

    def _string(self, node: Tree[Any], scope: Scope, file: HclFile) -> Any:
        pieces: list[Piece] = []
        for part in node.children:
            if not isinstance(part, Tree):
                continue
            inner = part.children[0]
            if isinstance(inner, Token):
                if inner.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                    text = str(inner)[1:]
                else:
                    try:
                        text = unescape(str(inner))
                    except EvalError as exc:
                        raise EvalError(exc.message, inner.line) from None
                pieces.append(Piece("text", text, line=inner.line))
            elif inner.data == "interpolation":
                tokens = [c for c in inner.children if isinstance(c, Token)]
                opening, closing = tokens[0], tokens[-1]
                before = (
                    opening.end_pos is not None
                    and file.text[opening.end_pos : opening.end_pos + 1] == "~"
                )
                after = (
                    closing.start_pos is not None
                    and file.text[closing.start_pos - 1 : closing.start_pos] == "~"
                )
                pieces.append(
                    Piece(
                        "interp",
                        node=subtrees(inner)[0],
                        file=file,
                        strip_before=before,
                        strip_after=after,
                        line=line_of(inner),
                    )
                )
            else:
                pieces.append(self._directive_piece(inner, file))
        return self._template(meld_pieces(pieces), node, scope, file)

    def _directive_piece(self, node: Tree[Any], file: HclFile) -> Piece:
        """A directive of a quoted template, from python-hcl2's tree."""
        kind = {
            "template_if_start": "if",
            "template_else": "else",
            "template_endif": "endif",
            "template_for_start": "for",
            "template_endfor": "endfor",
        }.get(node.data)
        if kind is None:
            raise EvalError(f"template part {quote(node.data)} is not understood", line_of(node))
        tokens = [str(c) for c in node.children if isinstance(c, Token)]
        kids = subtrees(node)
        names = tuple(name_of(k) for k in kids if k.data == "identifier") if kind == "for" else ()
        expressions = [k for k in kids if k.data != "identifier"] if kind in ("if", "for") else []
        return Piece(
            kind,
            node=expressions[0] if expressions else None,
            file=file,
            names=names,
            strip_before=len(tokens) > 1 and tokens[1] == "~",
            strip_after=len(tokens) > 1 and tokens[-2] == "~",
            line=line_of(node),
        )

    def _heredoc(self, node: Tree[Any], scope: Scope, file: HclFile) -> Any:
        token = node.children[0]
        raw = str(token)
        body = raw.split("\n", 1)[1] if "\n" in raw else ""
        lines = body.split("\n")
        # the last line holds the closing marker
        content = "\n".join(lines[:-2] if lines and lines[-1] == "" else lines[:-1])
        if content or len(lines) > 2:
            content += "\n"
        first = line_of(node)
        pieces = self._raw_pieces(content, file.name, None if first is None else first + 1)
        pieces = strip_pieces(pieces)
        if node.data == "heredoc_template_trim":
            flush_pieces(pieces)
        return self._render_pieces(meld_pieces(pieces), node, scope, file)

    def template(self, text: str, scope: Scope, file: HclFile, line: int | None) -> Any:
        """The value of template text (a Terraform JSON string, a heredoc's content)."""
        pieces = strip_pieces(self._raw_pieces(text, file.name, line))
        return self._render_pieces(meld_pieces(pieces), None, scope, file)

    def _raw_pieces(self, text: str, name: str, line: int | None) -> list[Piece]:
        """The pieces of template text, its expressions parsed; cached per text."""
        key = (name, line, text)
        cached = self._templates.get(key)
        if cached is not None:
            return [Piece(**vars(p)) for p in cached]
        pieces: list[Piece] = []
        literal: list[str] = []
        literal_line = line
        i = 0
        n = len(text)

        def at(position: int) -> int | None:
            return None if line is None else line + text.count("\n", 0, position)

        while i < n:
            if text.startswith(("$${", "%%{"), i):
                literal.append(text[i + 1 : i + 3])
                i += 3
                continue
            if not text.startswith(("${", "%{"), i):
                literal.append(text[i])
                i += 1
                continue
            if literal:
                pieces.extend(text_pieces("".join(literal), literal_line))
                literal = []
            inner = i + 2
            before = text.startswith("~", inner)
            if before:
                inner += 1
            end = scan_expression(text, inner)
            if end >= n:
                raise EvalError(
                    f"template: the {text[i : i + 2]} sequence has no closing }}", at(i)
                )
            after = end > inner and text[end - 1] == "~"
            content = text[inner : end - 1 if after else end]
            if text[i] == "$":
                piece = Piece("interp", strip_before=before, strip_after=after, line=at(inner))
                piece.node, piece.file = self._parse_expression(content, name, at(inner))
            else:
                piece = self._raw_directive(content, name, at(inner))
                piece.strip_before, piece.strip_after = before, after
            pieces.append(piece)
            i = end + 1
            literal_line = at(i)
        if literal:
            pieces.extend(text_pieces("".join(literal), literal_line))
        self._templates[key] = [Piece(**vars(p)) for p in pieces]
        return pieces

    def _raw_directive(self, content: str, name: str, line: int | None) -> Piece:
        match = DIRECTIVE.match(content)
        if match is None:
            word = content.strip().split(" ", 1)[0]
            raise EvalError(
                f"template: %{{{word}}} is not a directive (if, else, endif, for, endfor)", line
            )
        kind = match.group(1)
        rest = content[match.end() :]
        if kind in ("else", "endif", "endfor"):
            if rest.strip():
                raise EvalError(f"template: unexpected {quote(rest.strip())} in %{{{kind}}}", line)
            return Piece(kind, line=line)
        names: tuple[str, ...] = ()
        if kind == "for":
            names_match = FOR_NAMES.match(rest)
            if names_match is None:
                raise EvalError("template: %{for} needs NAME in COLLECTION", line)
            names = tuple(n for n in names_match.groups() if n)
            line = None if line is None else line + rest.count("\n", 0, names_match.end())
            rest = rest[names_match.end() :]
        node, file = self._parse_expression(rest, name, line)
        return Piece(kind, node=node, file=file, names=names, line=line)

    def _parse_expression(
        self, content: str, name: str, line: int | None
    ) -> tuple[Tree[Any], HclFile]:
        """An expression of template text, parsed on its own line of a file of its own."""
        if not content.strip():
            raise EvalError("template: an empty ${} sequence", line)
        text = "\n" * ((line or 1) - 1) + "v=(" + content + "\n)\n"
        try:
            tree = parse_hcl(text)
        except HclSyntaxError as exc:
            raise EvalError(
                f"template: {exc.message} in {quote(content.strip())}", exc.line or line
            ) from None
        sub = HclFile(name, text, tree)
        body = next(c for c in tree.children if isinstance(c, Tree) and c.data == "body")
        expression, _ = attributes(body)["v"]
        inner = subtrees(expression)
        return (inner[0] if len(inner) == 1 else expression), sub

    def _template(self, pieces: list[Piece], node: Tree[Any], scope: Scope, file: HclFile) -> Any:
        return self._render_pieces(strip_pieces(pieces), node, scope, file)

    def _render_pieces(
        self, pieces: list[Piece], node: Tree[Any] | None, scope: Scope, file: HclFile
    ) -> Any:
        pieces = meld_pieces(pieces)
        if len(pieces) == 1 and pieces[0].kind == "interp":
            # a template that is one interpolation is its value, unconverted (TemplateWrapExpr)
            only = pieces[0]
            assert only.node is not None and only.file is not None
            return self._eval(only.node, scope, only.file)
        where = file.source(node) if node is not None else "the template"
        return bounded_join(
            self._render(structure_pieces(pieces, where), scope, where), "a string template"
        )

    def _render(self, items: list[Piece | Branch], scope: Scope, where: str) -> Iterator[str]:
        for item in items:
            if isinstance(item, Piece):
                if item.kind == "text":
                    yield item.text
                    continue
                yield self._interpolate(item, scope, where)
                continue
            head = item.head
            assert head.node is not None and head.file is not None
            value = self._eval(head.node, scope, head.file)
            if head.kind == "if":
                if value is None:
                    raise EvalError(f"{where}: the %{{if}} condition is null", head.line)
                try:
                    chosen = to_bool(value)
                except EvalError as exc:
                    raise EvalError(f"{where}: %{{if}}: {exc.message}", head.line) from None
                branch = item.body if chosen else (item.otherwise or [])
                yield from self._render(branch, scope, where)
                continue
            if value is None:
                raise EvalError(f"{where}: %{{for}} over a null value", head.line)
            for key, element in pairs_of(value):
                inner = dict(scope)
                if len(head.names) == 2:
                    inner[head.names[0]] = key
                    inner[head.names[1]] = element
                else:
                    inner[head.names[0]] = element
                yield from self._render(item.body, inner, where)

    def _interpolate(self, piece: Piece, scope: Scope, where: str) -> str:
        assert piece.node is not None and piece.file is not None
        value = self._eval(piece.node, scope, piece.file)
        if value is None:
            raise EvalError(
                f"null value in the template {where}: Terraform cannot put null into a string",
                piece.line,
            )
        try:
            return to_string(value)
        except EvalError as exc:
            raise EvalError(f"{where}: {exc.message}", piece.line) from None

    def _json(self, value: Any, line: int | None, scope: Scope, file: HclFile) -> Any:
        """A Terraform JSON value as an expression: strings are templates."""
        if isinstance(value, str):
            return self.template(value, scope, file, line)
        if isinstance(value, list):
            lines = getattr(value, "lines", None)
            return [
                self._json(v, lines[i] if lines else line, scope, file) for i, v in enumerate(value)
            ]
        if isinstance(value, dict):
            lines = getattr(value, "lines", None) or {}
            out: dict[str, Any] = {}
            for key, item in value.items():
                name = to_string(self.template(key, scope, file, lines.get(key, line)))
                out[name] = self._json(item, lines.get(key, line), scope, file)
            return out
        return value

    def _object(self, elems: list[Tree[Any]], scope: Scope, file: HclFile) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for elem in elems:
            parts = subtrees(elem)
            key_node, value_node = parts[0], parts[1]
            inner = subtrees(key_node)
            target = inner[0] if inner else key_node
            if (
                target.data == "expr_term"
                and subtrees(target)
                and subtrees(target)[0].data == "identifier"
            ):
                key = name_of(subtrees(target)[0])
            elif target.data in ("identifier", "keyword"):
                key = name_of(target)
            else:
                key = to_string(self._eval(target, scope, file))
            out[key] = self._eval(value_node, scope, file)
        return out

    def _identifier(self, name: str, node: Tree[Any], scope: Scope, file: HclFile) -> Any:
        if name in scope:
            return scope[name]
        if name == "var":
            return _Variables(self)
        if name == "local":
            return _Locals(self)
        text = file.source(node)
        if name == "data":
            raise NeedsPlan(text, "data sources are read by terraform plan")
        if name == "module":
            if self.modules is not None:
                return _Modules(self.modules)
            raise NeedsPlan(text, "module outputs are known only after plan or apply")
        if name in ("each", "count", "self"):
            raise EvalError(f"{quote(name)} is not available here")
        if name in ("path", "terraform"):
            raise NeedsPlan(text, f"{name}.* values depend on how Terraform is run")
        if "_" in name or name in self.resource_types:
            raise NeedsPlan(text, "a resource attribute, known only after terraform plan or apply")
        raise EvalError(f"unknown name {quote(name)}")

    def _get_attr(self, base: Any, name: str, node: Tree[Any], file: HclFile) -> Any:
        if isinstance(base, (_Variables, _Locals)):
            return base.get(name, node, file)
        if isinstance(base, _Modules):
            return base.read(name)
        if isinstance(base, ModuleOutputs):
            return base.get(name)
        if isinstance(base, dict):
            if name in base:
                return base[name]
            raise EvalError(
                f"{file.source(node)}: the object has no attribute {quote(name)}"
                + (f" (it has: {', '.join(sorted(base))})" if base else "")
            )
        if isinstance(base, list) and name.isdigit():
            return self._index(base, int(name), node, file)
        raise EvalError(
            f"{file.source(node)}: a {type_name(base)} value has no attribute {quote(name)}"
        )

    def _index_key(self, index: Tree[Any], scope: Scope, file: HclFile) -> Any:
        if index.data == "short_index":
            return int(str(index.children[-1]))
        return self._eval(subtrees(index)[0], scope, file)

    def _index(self, base: Any, key: Any, node: Tree[Any], file: HclFile) -> Any:
        if isinstance(base, (_Variables, _Locals)):
            return base.get(to_string(key), node, file)
        if isinstance(base, ModuleOutputs):
            return base.get(to_string(key))
        if isinstance(base, list):
            position = int(to_number(key))
            if not 0 <= position < len(base):
                raise EvalError(
                    f"{file.source(node)}: index {position} is out of range (the list has "
                    f"{len(base)} element(s))"
                )
            return base[position]
        if isinstance(base, dict):
            text = to_string(key)
            if text in base:
                return base[text]
            raise EvalError(f"{file.source(node)}: the map has no key {quote(text)}")
        raise EvalError(f"{file.source(node)}: a {type_name(base)} value cannot be indexed")

    def _splat(self, node: Tree[Any], kids: list[Tree[Any]], scope: Scope, file: HclFile) -> Any:
        base = self._eval(kids[0], scope, file, keep=True)
        steps = subtrees(kids[1])
        if base is None:
            return []
        items = base if isinstance(base, list) else [base]
        out = []
        for item in items:
            value = item
            for step in steps:
                if step.data == "get_attr":
                    value = self._get_attr(value, name_of(subtrees(step)[0]), node, file)
                else:
                    value = self._index(value, self._index_key(step, scope, file), node, file)
            out.append(value)
        return out

    def _call(self, node: Tree[Any], kids: list[Tree[Any]], scope: Scope, file: HclFile) -> Any:
        names = [k for k in kids if k.data == "identifier"]
        name = "::".join(name_of(k) for k in names)
        arguments = [k for k in kids if k.data == "arguments"]
        arg_nodes = subtrees(arguments[0]) if arguments else []
        expand = bool(arguments) and any(
            isinstance(c, Token) and c.type == "ELLIPSIS" for c in arguments[0].children
        )
        function = FUNCTIONS.get(name)
        if name == "try":
            for arg in arg_nodes:
                try:
                    return self._eval(arg, scope, file)
                except EvalError:
                    continue
            raise EvalError("try(): every argument failed")
        if function is None:
            raise NeedsPlan(
                file.source(node),
                f"{name}() is not evaluated by acl (only pure functions such as "
                "concat(), format(), join(), lookup(), cidrsubnet() are)",
            )
        args = [self._eval(arg, scope, file) for arg in arg_nodes]
        if expand:
            if not args or not isinstance(args[-1], list):
                raise EvalError(f"{name}(...): the last argument must be a list to expand")
            args = args[:-1] + list(args[-1])
        try:
            return function(args)
        except Unsupported as exc:
            raise NeedsPlan(file.source(node), f"{exc} is not evaluated by acl") from None
        except EvalError as exc:
            raise EvalError(f"{file.source(node)}: {exc.message}") from None
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise EvalError(f"{file.source(node)}: {exc}") from None

    def _binary(self, node: Tree[Any], kids: list[Tree[Any]], scope: Scope, file: HclFile) -> Any:
        left = self._eval(kids[0], scope, file)
        term = kids[1]
        operator = name_of(subtrees(term)[0])
        right_node = subtrees(term)[1]
        if operator == "&&":
            return to_bool(left) and to_bool(self._eval(right_node, scope, file))
        if operator == "||":
            return to_bool(left) or to_bool(self._eval(right_node, scope, file))
        right = self._eval(right_node, scope, file)
        if operator == "==":
            return left == right and type_name(left) == type_name(right)
        if operator == "!=":
            return not (left == right and type_name(left) == type_name(right))
        a, b = to_number(left), to_number(right)
        try:
            return self._arithmetic(operator, a, b, node, file)
        except (OverflowError, ValueError) as exc:
            raise EvalError(f"{file.source(node)}: {exc}") from None

    def _arithmetic(
        self, operator: str, a: int | float, b: int | float, node: Tree[Any], file: HclFile
    ) -> Any:
        if operator == "+":
            return a + b
        if operator == "-":
            return a - b
        if operator == "*":
            return a * b
        if operator == "/":
            if b == 0:
                raise EvalError(f"{file.source(node)}: division by zero")
            result = a / b
            return int(result) if result.is_integer() else result
        if operator == "%":
            if b == 0:
                raise EvalError(f"{file.source(node)}: division by zero")
            remainder = math.fmod(a, b)  # Go's %: the sign of the dividend
            return int(remainder) if remainder.is_integer() else remainder
        comparisons = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}
        if operator in comparisons:
            return comparisons[operator]
        raise EvalError(f"operator {quote(operator)} is not supported")

    def _for(self, node: Tree[Any], scope: Scope, file: HclFile, *, as_object: bool) -> Any:
        kids = subtrees(node)
        intro = kids[0]
        names = [name_of(k) for k in subtrees(intro) if k.data == "identifier"]
        collection_node = next(k for k in subtrees(intro) if k.data != "identifier")
        collection = self._eval(collection_node, scope, file)
        condition = next((k for k in kids if k.data == "for_cond"), None)
        grouping = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in node.children)
        bodies = [k for k in kids[1:] if k.data != "for_cond"]
        tuple_out: list[Any] = []
        object_out: dict[str, Any] = {}
        for key, value in pairs_of(collection if collection is not None else []):
            inner = dict(scope)
            if len(names) == 2:
                inner[names[0]] = key
                inner[names[1]] = value
            else:
                inner[names[0]] = value
            if condition is not None and not to_bool(self._eval(subtrees(condition)[0], inner, file)):
                continue
            if as_object:
                out_key = to_string(self._eval(bodies[0], inner, file))
                out_value = self._eval(bodies[1], inner, file)
                if grouping:
                    object_out.setdefault(out_key, []).append(out_value)
                elif out_key in object_out:
                    raise EvalError(
                        f"{file.source(node)}: duplicate key {quote(out_key)} (use ... to group)"
                    )
                else:
                    object_out[out_key] = out_value
            else:
                tuple_out.append(self._eval(bodies[0], inner, file))
        return object_out if as_object else tuple_out

    # -- named values

    def variable(self, name: str, node: Tree[Any] | None, file: HclFile) -> Any:
        if name not in self.declared:
            raise EvalError(
                f"variable {quote(name)} is not declared (add a variable block, or load the whole "
                "folder rather than one file)"
            )
        if name not in self.variables:
            raise NeedsPlan(
                f"var.{name}",
                "the variable has no default and no value",
                hint=f"give --var {name}=VALUE or a .tfvars file",
            )
        return self.variables[name]

    def local(self, name: str, file: HclFile) -> Any:
        if name in self._local_values:
            return self._local_values[name]
        if name not in self.locals:
            raise EvalError(f"local value {quote(name)} is not defined")
        if name in self._resolving:
            raise EvalError(f"local value {quote(name)} refers to itself")
        self._resolving.add(name)
        depth, self._depth = self._depth, 0  # the limit is per expression
        try:
            expression, where = self.locals[name]
            try:
                value = self._eval(expression, {}, where)
            except NeedsPlan as exc:
                raise NeedsPlan(
                    f"local.{name}",
                    f"{exc.expression} ({where.name}:{exc.line}): {exc.reason}",
                    hint=exc.hint,
                ) from None
            except EvalError as exc:
                raise EvalError(f"local.{name} ({where.name}:{exc.line}): {exc.message}") from None
        finally:
            self._resolving.discard(name)
            self._depth = depth
        self._local_values[name] = value
        return value


@dataclass(frozen=True)
class _Variables:
    evaluator: Evaluator

    def get(self, name: str, node: Tree[Any], file: HclFile) -> Any:
        return self.evaluator.variable(name, node, file)


@dataclass(frozen=True)
class _Modules:
    read: Callable[[str], Any]


@dataclass(frozen=True)
class _Locals:
    evaluator: Evaluator

    def get(self, name: str, node: Tree[Any], file: HclFile) -> Any:
        return self.evaluator.local(name, file)

"""A small, exact evaluator for the HCL expressions Terraform configurations use for access
restrictions: literals, templates, ``var.*``, ``local.*``, iterators, operators,
conditionals, ``for`` expressions, splats and the functions of :mod:`.functions`.

It walks the expressions of :mod:`.syntax` (and the values of ``.tf.json`` files). Anything
whose value Terraform knows only during plan or apply (resource attributes, data sources,
module outputs, impure or file functions) raises :class:`NeedsPlan`; a mistake in the
configuration raises :class:`EvalError`. Callers turn both into located messages.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import quote
from .._limits import (
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    LimitError,
    bounded_join,
    checked,
)
from .._limits import step as _step
from .functions import FUNCTIONS, NotEvaluated
from .hcl2_adapter import parse_expression
from .hcl_errors import EvalError, HclSyntaxError, NeedsPlan
from .syntax import (
    Binary,
    Body,
    Call,
    Conditional,
    Expr,
    ForExpr,
    GetAttr,
    Group,
    HclFile,
    Heredoc,
    Identifier,
    Index,
    InterpolationPart,
    Keyword,
    Literal,
    ObjectExpr,
    Splat,
    Template,
    TextPart,
    TupleExpr,
    Unary,
    Unsupported,
)
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

_BUILDS: dict[type[Expr], str] = {
    Call: "a function call",
    Template: "a string template",
    Heredoc: "a heredoc",
    TupleExpr: "a tuple",
    ObjectExpr: "an object",
    Binary: "an operator",
    Unary: "an operator",
    ForExpr: "a for expression",
}
"""The expressions that build a new value, checked against the size limits."""

_TRAVERSALS = (GetAttr, Index, Splat)


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
    locals: Mapping[str, tuple[Expr | JsonValue, HclFile]]
    resource_types: frozenset[str] = frozenset()
    modules: Callable[[str], Any] | None = None
    """Module call name to its value (a :class:`ModuleOutputs`, or a list or map of them
    for ``count`` and ``for_each``); None: module outputs need a plan."""
    _local_values: dict[str, Any] = field(default_factory=dict)
    _resolving: set[str] = field(default_factory=set)
    _templates: dict[tuple[str, int | None, str], list[Piece]] = field(default_factory=dict)
    _depth: int = 0

    def evaluate(self, node: Expr | JsonValue, scope: Scope, file: HclFile) -> Any:
        try:
            return self._eval(node, scope, file)
        except RecursionError:
            raise EvalError(
                f"expression is nested too deeply: acl evaluates expressions at most {MAX_DEPTH} "
                "levels deep",
                node.line,
            ) from None

    # -- the walk

    def _eval(self, node: Expr | JsonValue, scope: Scope, file: HclFile, keep: bool = False) -> Any:
        if isinstance(node, JsonValue):
            return self._json(node.value, node.line, scope, file)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise EvalError(
                    f"expression is nested more than {MAX_DEPTH} levels deep, the limit acl "
                    "evaluates"
                )
            _step("an expression")
            value = self._node(node, scope, file)
            construct = _BUILDS.get(type(node))
            if construct is not None:
                checked(value, construct)
            return value if keep else _settle(value)
        except LimitError as exc:
            if exc.line is None:
                exc.line = node.line
                exc.file = file.name
            raise
        except NeedsPlan as exc:
            if exc.line is None:
                exc.line = node.line
            if isinstance(node, _TRAVERSALS) and exc.widen:
                exc.expression = file.source(node)
            elif not isinstance(node, (Group, Identifier)):
                exc.widen = False
            raise
        except EvalError as exc:
            if exc.line is None:
                exc.line = node.line
            raise
        finally:
            self._depth -= 1

    def _literal(self, node: Literal) -> Any:
        kind, text = node.kind, node.text
        if kind == "int":
            if len(text) > MAX_NUMBER_DIGITS:
                raise EvalError(
                    f"number {quote(text)} has more than {MAX_NUMBER_DIGITS} digits, the "
                    "limit of one number",
                    node.line,
                )
            return int(text)
        if kind == "float":
            number = float(text)
            return int(number) if number.is_integer() else number
        if kind == "true":
            return True
        if kind == "false":
            return False
        if kind == "null":
            return None
        raise EvalError(f"unexpected {quote(text)}", node.line)

    def _node(self, node: Expr, scope: Scope, file: HclFile) -> Any:
        if isinstance(node, Group):
            return self._eval(node.inner, scope, file, keep=True)
        if isinstance(node, Literal):
            return self._literal(node)
        if isinstance(node, Template):
            return self._string(node, scope, file)
        if isinstance(node, Heredoc):
            return self._heredoc(node, scope, file)
        if isinstance(node, TupleExpr):
            return [self._eval(item, scope, file) for item in node.items]
        if isinstance(node, ObjectExpr):
            return self._object(node, scope, file)
        if isinstance(node, Identifier):
            return self._identifier(node, scope, file)
        if isinstance(node, GetAttr):
            base = self._eval(node.base, scope, file, keep=True)
            return self._get_attr(base, node.name, node, file)
        if isinstance(node, Index):
            base = self._eval(node.base, scope, file, keep=True)
            return self._index(base, self._index_key(node.key, scope, file), node, file)
        if isinstance(node, Splat):
            return self._splat(node, scope, file)
        if isinstance(node, Call):
            return self._call(node, scope, file)
        if isinstance(node, Conditional):
            condition = to_bool(self._eval(node.condition, scope, file))
            return self._eval(node.then if condition else node.otherwise, scope, file)
        if isinstance(node, Binary):
            return self._binary(node, scope, file)
        if isinstance(node, Unary):
            value = self._eval(node.operand, scope, file)
            if node.operator == "!":
                return not to_bool(value)
            return -to_number(value)
        if isinstance(node, ForExpr):
            return self._for(node, scope, file)
        if isinstance(node, Keyword):
            return node.name
        if isinstance(node, Unsupported):
            raise EvalError(node.message)
        raise EvalError(f"expression {quote(file.source(node))} is not supported")

    def _string(self, node: Template, scope: Scope, file: HclFile) -> Any:
        pieces: list[Piece] = []
        for part in node.parts:
            if isinstance(part, TextPart):
                if part.escaped:
                    text = part.text[1:]
                else:
                    try:
                        text = unescape(part.text)
                    except EvalError as exc:
                        raise EvalError(exc.message, part.line) from None
                pieces.append(Piece("text", text, line=part.line))
            elif isinstance(part, InterpolationPart):
                pieces.append(
                    Piece(
                        "interp",
                        node=part.expression,
                        file=file,
                        strip_before=part.strip_before,
                        strip_after=part.strip_after,
                        line=part.line,
                    )
                )
            elif part.kind is None:
                raise EvalError(
                    f"template part {quote(part.names[0])} is not understood", part.line
                )
            else:
                pieces.append(
                    Piece(
                        part.kind,
                        node=part.expression,
                        file=file,
                        names=part.names,
                        strip_before=part.strip_before,
                        strip_after=part.strip_after,
                        line=part.line,
                    )
                )
        return self._template(meld_pieces(pieces), node, scope, file)

    def _heredoc(self, node: Heredoc, scope: Scope, file: HclFile) -> Any:
        raw = node.raw
        body = raw.split("\n", 1)[1] if "\n" in raw else ""
        lines = body.split("\n")
        # the last line holds the closing marker
        content = "\n".join(lines[:-2] if lines and lines[-1] == "" else lines[:-1])
        if content or len(lines) > 2:
            content += "\n"
        first = node.line
        pieces = self._raw_pieces(content, file.name, None if first is None else first + 1)
        pieces = strip_pieces(pieces)
        if node.trim:
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

    def _parse_expression(self, content: str, name: str, line: int | None) -> tuple[Expr, HclFile]:
        """An expression of template text, parsed on its own line of a file of its own."""
        if not content.strip():
            raise EvalError("template: an empty ${} sequence", line)
        text = "\n" * ((line or 1) - 1) + "v=(" + content + "\n)\n"
        try:
            expression = parse_expression(text)
        except HclSyntaxError as exc:
            raise EvalError(
                f"template: {exc.message} in {quote(content.strip())}", exc.line or line
            ) from None
        return expression, HclFile(name, text, Body())

    def _template(self, pieces: list[Piece], node: Expr, scope: Scope, file: HclFile) -> Any:
        return self._render_pieces(strip_pieces(pieces), node, scope, file)

    def _render_pieces(
        self, pieces: list[Piece], node: Expr | None, scope: Scope, file: HclFile
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

    def _object(self, node: ObjectExpr, scope: Scope, file: HclFile) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in node.items:
            if item.name is not None:
                key = item.name
            else:
                key = to_string(self._eval(item.key, scope, file))
            out[key] = self._eval(item.value, scope, file)
        return out

    def _identifier(self, node: Identifier, scope: Scope, file: HclFile) -> Any:
        name = node.name
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

    def _get_attr(self, base: Any, name: str, node: Expr, file: HclFile) -> Any:
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

    def _index_key(self, key: Expr | int, scope: Scope, file: HclFile) -> Any:
        if isinstance(key, int):
            return key
        return self._eval(key, scope, file)

    def _index(self, base: Any, key: Any, node: Expr, file: HclFile) -> Any:
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

    def _splat(self, node: Splat, scope: Scope, file: HclFile) -> Any:
        base = self._eval(node.base, scope, file, keep=True)
        if base is None:
            return []
        items = base if isinstance(base, list) else [base]
        out = []
        for item in items:
            value = item
            for kind, step in node.steps:
                if kind == "attr":
                    assert isinstance(step, str)
                    value = self._get_attr(value, step, node, file)
                else:
                    assert not isinstance(step, str)
                    value = self._index(value, self._index_key(step, scope, file), node, file)
            out.append(value)
        return out

    def _call(self, node: Call, scope: Scope, file: HclFile) -> Any:
        name = node.name
        function = FUNCTIONS.get(name)
        if name == "try":
            for arg in node.args:
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
        args = [self._eval(arg, scope, file) for arg in node.args]
        if node.expand:
            if not args or not isinstance(args[-1], list):
                raise EvalError(f"{name}(...): the last argument must be a list to expand")
            args = args[:-1] + list(args[-1])
        try:
            return function(args)
        except NotEvaluated as exc:
            raise NeedsPlan(file.source(node), f"{exc} is not evaluated by acl") from None
        except EvalError as exc:
            raise EvalError(f"{file.source(node)}: {exc.message}") from None
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise EvalError(f"{file.source(node)}: {exc}") from None

    def _binary(self, node: Binary, scope: Scope, file: HclFile) -> Any:
        left = self._eval(node.left, scope, file)
        operator = node.operator
        if operator == "&&":
            return to_bool(left) and to_bool(self._eval(node.right, scope, file))
        if operator == "||":
            return to_bool(left) or to_bool(self._eval(node.right, scope, file))
        right = self._eval(node.right, scope, file)
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
        self, operator: str, a: int | float, b: int | float, node: Expr, file: HclFile
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

    def _for(self, node: ForExpr, scope: Scope, file: HclFile) -> Any:
        names = node.names
        collection = self._eval(node.collection, scope, file)
        tuple_out: list[Any] = []
        object_out: dict[str, Any] = {}
        for key, value in pairs_of(collection if collection is not None else []):
            inner = dict(scope)
            if len(names) == 2:
                inner[names[0]] = key
                inner[names[1]] = value
            else:
                inner[names[0]] = value
            if node.condition is not None and not to_bool(self._eval(node.condition, inner, file)):
                continue
            if node.key is not None:
                out_key = to_string(self._eval(node.key, inner, file))
                out_value = self._eval(node.value, inner, file)
                if node.grouping:
                    object_out.setdefault(out_key, []).append(out_value)
                elif out_key in object_out:
                    raise EvalError(
                        f"{file.source(node)}: duplicate key {quote(out_key)} (use ... to group)"
                    )
                else:
                    object_out[out_key] = out_value
            else:
                tuple_out.append(self._eval(node.value, inner, file))
        return object_out if node.key is not None else tuple_out

    # -- named values

    def variable(self, name: str, node: Expr | None, file: HclFile) -> Any:
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

    def get(self, name: str, node: Expr, file: HclFile) -> Any:
        return self.evaluator.variable(name, node, file)


@dataclass(frozen=True)
class _Modules:
    read: Callable[[str], Any]


@dataclass(frozen=True)
class _Locals:
    evaluator: Evaluator

    def get(self, name: str, node: Expr, file: HclFile) -> Any:
        return self.evaluator.local(name, file)

"""A small, exact evaluator for the HCL expressions Terraform configurations use for access
restrictions: literals, templates, ``var.*``, ``local.*``, iterators, operators,
conditionals, ``for`` expressions, splats and a set of pure functions.

python-hcl2 parses the text (its Lark tree keeps line numbers); this module walks that tree.
Anything whose value Terraform knows only during plan or apply (resource attributes, data
sources, module outputs, impure or file functions) raises :class:`NeedsPlan`; a mistake in the
configuration raises :class:`EvalError`. Callers turn both into located messages.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..errors import ConfigError, quote
from ._limits import (
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    MAX_VALUE_CHARS,
    LimitError,
    bounded_join,
    checked,
    json_loads,
)
from ._limits import step as _step

__all__ = [
    "FUNCTIONS",
    "Block",
    "EvalError",
    "Evaluator",
    "HclFile",
    "HclSyntaxError",
    "JsonValue",
    "ModuleOutputs",
    "NeedsPlan",
    "Scope",
    "TypeSpec",
    "attributes",
    "blocks",
    "convert",
    "num_text",
    "parse_hcl",
    "parse_type",
    "to_bool",
    "to_number",
    "to_string",
    "type_name",
    "unescape",
]


class HclSyntaxError(Exception):
    """Text that is not HCL: a message, a line and a column."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class EvalError(Exception):
    """A configuration mistake found while evaluating (a wrong type, an undeclared name)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class NeedsPlan(Exception):
    """A value that only ``terraform plan`` (or apply) can know.

    ``expression`` is the source text of the culprit, ``reason`` says why it is unknown.
    """

    def __init__(
        self, expression: str, reason: str, line: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(f"{expression}: {reason}")
        self.expression = expression
        self.reason = reason
        self.line = line
        self.hint = hint
        self.widen = True


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


def parse_hcl(text: str) -> Tree[Any]:
    """The Lark tree of HCL text (:class:`HclSyntaxError` when it is not HCL).

    python-hcl2 knows the strip markers of template directives (``%{~ if x ~}``) but not
    those of interpolations (``${~ x ~}``): they are blanked before parsing, which keeps
    every position, and read back from the original text when the template is evaluated.
    """
    try:
        tree = hcl2.parses_to_tree(_blank_interpolation_strips(text))
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


# ---------------------------------------------------------------------------- template scanning

_HEREDOC_START = re.compile(r"<<-?([A-Za-z_][\w-]*)\r?\n")


def _skip_heredoc(text: str, start: int) -> int | None:
    """The index after the heredoc that starts at ``start``, or None if there is none."""
    match = _HEREDOC_START.match(text, start)
    if match is None:
        return None
    position = match.end()
    while position < len(text):
        end = text.find("\n", position)
        line_end = len(text) if end < 0 else end
        if text[position:line_end].strip() == match.group(1):
            return line_end
        position = line_end + 1
    return len(text)


def _scan_expression(text: str, start: int, marks: list[int] | None = None) -> int:
    """The index of the ``}`` that closes the template sequence whose expression starts at
    ``start`` (``len(text)`` if none): quoted strings, brackets and heredocs are skipped.
    ``marks`` collects the positions of interpolation strip markers found on the way."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        char = text[i]
        if char == '"':
            i = _scan_quoted(text, i + 1, marks)
            continue
        if char == "<" and text.startswith("<<", i):
            after = _skip_heredoc(text, i)
            if after is not None:
                i = after
                continue
        if char in "{([":
            depth += 1
        elif char in "})]":
            if depth == 0:
                return i if char == "}" else n
            depth -= 1
        i += 1
    return n


def _scan_quoted(text: str, start: int, marks: list[int] | None = None) -> int:
    """The index after the closing quote of a quoted template that starts at ``start``."""
    i = start
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i + 1
        if char == "\n":
            return i
        if text.startswith(("$${", "%%{"), i):
            i += 3
            continue
        if text.startswith(("${", "%{"), i):
            inner = i + 2
            interpolation = char == "$"
            if interpolation and marks is not None and text.startswith("~", inner):
                marks.append(inner)
            end = _scan_expression(text, inner, marks)
            if end >= n:
                return n
            if interpolation and marks is not None and end > inner and text[end - 1] == "~":
                marks.append(end - 1)
            i = end + 1
            continue
        i += 1
    return n


def _blank_interpolation_strips(text: str) -> str:
    """``text`` with the ``~`` of ``${~`` and ``~}`` in quoted templates made spaces."""
    if "${~" not in text and "~}" not in text:
        return text
    marks: list[int] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif char == '"':
            i = _scan_quoted(text, i + 1, marks)
        elif char == "<" and text.startswith("<<", i):
            after = _skip_heredoc(text, i)
            i = i + 2 if after is None else after
        else:
            i += 1
    if not marks:
        return text
    chars = list(text)
    for mark in marks:
        chars[mark] = " "
    return "".join(chars)


# ---------------------------------------------------------------------------- tree helpers


def _trees(node: Tree[Any]) -> list[Tree[Any]]:
    """The child trees that carry meaning (no punctuation, no newlines or comments)."""
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _name(node: Tree[Any] | Token) -> str:
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
        return _name(child)
    return ""


def _body(node: Tree[Any]) -> Tree[Any]:
    for child in node.children:
        if isinstance(child, Tree) and child.data == "body":
            return child
    raise EvalError("block has no body", _line(node))


def _line(node: Tree[Any] | Token) -> int | None:
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
                _name(parts[0]),
                tuple(_name(p) for p in parts[1:]),
                _body(child),
                _line(child),
            )


def attributes(body: Tree[Any]) -> dict[str, tuple[Tree[Any], int | None]]:
    """The attributes of a body: name to (expression tree, line)."""
    found: dict[str, tuple[Tree[Any], int | None]] = {}
    for child in body.children:
        if isinstance(child, Tree) and child.data == "attribute":
            parts = [c for c in child.children if isinstance(c, Tree)]
            name = _name(parts[0])
            if name in found:
                raise EvalError(f"attribute {quote(name)} is set twice", _line(child))
            found[name] = (parts[1], _line(child))
    return found


# ---------------------------------------------------------------------------- values


def num_text(value: int | float) -> str:
    """A number as Terraform writes it in a string."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def to_string(value: Any) -> str:
    """Terraform's automatic conversion of a primitive to a string."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return num_text(value)
    raise EvalError(f"{type_name(value)} value {quote(value)} cannot be used as a string")


def to_number(value: Any) -> int | float:
    """Terraform's automatic conversion to a number (``"100"`` is 100)."""
    if isinstance(value, bool):
        raise EvalError(f"bool value {quote(value)} cannot be used as a number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_DIGITS:
            raise EvalError(
                f"string {quote(value)} is not a number acl reads (more than {MAX_NUMBER_DIGITS} "
                "characters)"
            )
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise EvalError(f"string {quote(value)} is not a number") from None
        return int(number) if number.is_integer() else number
    raise EvalError(f"{type_name(value)} value {quote(value)} cannot be used as a number")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise EvalError(f"{type_name(value)} value {quote(value)} cannot be used as a bool")


def _set_order(values: list[Any]) -> list[Any]:
    """The distinct values, first ones first (comparing every pair: steps are charged)."""
    _step("distinct values", len(values) * len(values) // 64)
    unique: list[Any] = []
    for value in values:
        if value not in unique:
            unique.append(value)
    return unique


def _set(values: list[Any]) -> list[Any]:
    """A Terraform set as a list: distinct, in Terraform's iteration order."""
    unique = _set_order(values)
    if all(isinstance(v, str) for v in unique):
        return sorted(unique)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in unique):
        return sorted(unique)
    return unique


def _items(value: Any) -> list[tuple[Any, Any]]:
    """Key/value pairs of a collection in Terraform's iteration order."""
    if isinstance(value, list):
        return list(enumerate(value))
    if isinstance(value, dict):
        return [(key, value[key]) for key in sorted(value)]
    raise EvalError(f"{type_name(value)} value {quote(value)} is not a collection to iterate over")


# ---------------------------------------------------------------------------- functions

_Function = Callable[[list[Any]], Any]


def _args(name: str, args: list[Any], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        want = f"{low}" if low == high else f"{low} to {high}"
        raise EvalError(f"{name}() takes {want} argument(s), not {len(args)}")


def _fn(name: str, count: int, body: Callable[..., Any]) -> _Function:
    def call(args: list[Any]) -> Any:
        _args(name, args, count)
        return body(*args)

    return call


def _format(spec: str, values: list[Any]) -> str:
    out: list[str] = []
    index = 0
    pos = 0
    for match in re.finditer(r"%(%|[-+ 0#]*\d*(?:\.\d+)?[sdvqtfgeExXbo])", spec):
        out.append(spec[pos : match.start()])
        pos = match.end()
        verb = match.group(1)
        if verb == "%":
            out.append("%")
            continue
        if index >= len(values):
            raise EvalError(f"format({quote(spec)}): not enough arguments")
        value = values[index]
        index += 1
        kind = verb[-1]
        if kind in "sv":
            out.append(
                to_string(value) if not isinstance(value, (list, dict)) else json.dumps(value)
            )
        elif kind == "q":
            out.append(json.dumps(to_string(value)))
        elif kind == "d":
            out.append(("%" + verb) % int(to_number(value)))
        elif kind == "t":
            out.append("true" if to_bool(value) else "false")
        else:
            out.append(("%" + verb) % to_number(value))
    out.append(spec[pos:])
    return bounded_join(out, "format()")


def _flatten(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise EvalError("flatten() takes a list")
    out: list[Any] = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _cidrsubnet(prefix: Any, newbits: Any, netnum: Any) -> str:
    try:
        network = ipaddress.ip_network(to_string(prefix), strict=False)
    except ValueError as exc:
        raise EvalError(f"cidrsubnet(): {exc}") from None
    new_length = network.prefixlen + int(to_number(newbits))
    if new_length > network.max_prefixlen:
        raise EvalError(f"cidrsubnet(): {quote(prefix)} has no room for {newbits} more bits")
    number = int(to_number(netnum))
    if not 0 <= number < 2 ** int(to_number(newbits)):
        raise EvalError(f"cidrsubnet(): netnum {quote(netnum)} does not fit in {newbits} bits")
    base = int(network.network_address) + (number << (network.max_prefixlen - new_length))
    address = ipaddress.ip_address(base) if network.version == 4 else ipaddress.IPv6Address(base)
    return f"{address}/{new_length}"


def _cidrhost(prefix: Any, hostnum: Any) -> str:
    try:
        network = ipaddress.ip_network(to_string(prefix), strict=False)
    except ValueError as exc:
        raise EvalError(f"cidrhost(): {exc}") from None
    number = int(to_number(hostnum))
    size = network.num_addresses
    if number < 0:
        number += size
    if not 0 <= number < size:
        raise EvalError(f"cidrhost(): host number {quote(hostnum)} is outside {quote(prefix)}")
    return str(network.network_address + number)


def _lookup(args: list[Any]) -> Any:
    _args("lookup", args, 2, 3)
    mapping, key = args[0], to_string(args[1])
    if not isinstance(mapping, dict):
        raise EvalError("lookup() takes a map")
    if key in mapping:
        return mapping[key]
    if len(args) == 3:
        return args[2]
    raise EvalError(f"lookup(): key {quote(key)} is not in the map and there is no default")


def _element(items: Any, index: Any) -> Any:
    if not isinstance(items, list) or not items:
        raise EvalError("element() takes a non-empty list")
    return items[int(to_number(index)) % len(items)]


def _replace(text: Any, old: Any, new: Any) -> str:
    subject, find, put = to_string(text), to_string(old), to_string(new)
    if find and put and len(put) > len(find):
        grown = len(subject) + subject.count(find) * (len(put) - len(find))
        if grown > MAX_VALUE_CHARS:
            raise LimitError(
                f"replace() makes a value of {grown:,} characters: the limit of one evaluated "
                f"value is {MAX_VALUE_CHARS:,} characters (1 MiB)"
            )
    pattern = to_string(old)
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        raise _Unsupported("replace() with a regular expression")
    return to_string(text).replace(pattern, to_string(new))


def _merge(args: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arg in args:
        if arg is None:
            continue
        if not isinstance(arg, dict):
            raise EvalError("merge() takes maps or objects")
        out.update(arg)
    return out


def _coalesce(args: list[Any]) -> Any:
    for arg in args:
        if arg is not None and arg != "":
            return arg
    raise EvalError("coalesce(): no non-null, non-empty argument")


def _slice(items: Any, start: Any, end: Any) -> list[Any]:
    if not isinstance(items, list):
        raise EvalError("slice() takes a list")
    return items[int(to_number(start)) : int(to_number(end))]


def _range(args: list[Any]) -> list[Any]:
    _args("range", args, 1, 3)
    numbers = [to_number(a) for a in args]
    start: int | float = 0
    step: int | float = 1
    if len(numbers) == 1:
        stop = numbers[0]
    elif len(numbers) == 2:
        start, stop = numbers
        if start > stop:  # Terraform counts down when start is above the limit
            step = -1
    else:
        start, stop, step = numbers
    if step == 0:
        raise EvalError("range(): step must not be zero")
    out: list[Any] = []
    value = start
    while (step > 0 and value < stop) or (step < 0 and value > stop):
        out.append(value)
        value += step
        if len(out) > 1024:
            raise EvalError("range() is limited to 1024 elements")
    return out


def _tomap(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EvalError("tomap() takes an object or map")
    keys = list(value)
    return dict(zip(keys, _unify("tomap", [value[k] for k in keys]), strict=True))


def _tolist(value: Any, name: str = "tolist") -> list[Any]:
    if not isinstance(value, list):
        raise EvalError(f"{name}() takes a list, set or tuple, not {type_name(value)}")
    return _unify(name, list(value))


def _unify(name: str, values: list[Any]) -> list[Any]:
    """The elements converted to one type, as Terraform converts a tuple or object to a
    list, set or map: strings with numbers or bools make every element a string; numbers
    with bools, or primitives with collections, have no common type."""
    kinds = {
        "string"
        if isinstance(v, str)
        else "bool"
        if isinstance(v, bool)
        else "number"
        if isinstance(v, (int, float))
        else "collection"
        for v in values
        if v is not None
    }
    if len(kinds) <= 1:
        return values
    if "collection" in kinds:
        if kinds == {"collection"}:
            return values
        raise EvalError(f"{name}(): the elements have no common type (collections and primitives)")
    if "string" in kinds:
        return [None if v is None else to_string(v) for v in values]
    raise EvalError(f"{name}(): the elements have no common type (numbers and bools)")


def _jsondecode(text: Any) -> Any:
    try:
        return json_loads(to_string(text), None)
    except json.JSONDecodeError as exc:
        raise EvalError(f"jsondecode(): {exc.msg}") from None
    except ConfigError as exc:
        raise EvalError(f"jsondecode(): {exc.message}") from None


def _zipmap(keys: Any, values: Any) -> dict[str, Any]:
    if not isinstance(keys, list) or not isinstance(values, list) or len(keys) != len(values):
        raise EvalError("zipmap() takes two lists of the same length")
    return {to_string(k): v for k, v in zip(keys, values, strict=True)}


class _Unsupported(Exception):
    """A function acl does not evaluate offline."""


FUNCTIONS: dict[str, _Function] = {
    "tostring": _fn("tostring", 1, lambda v: None if v is None else to_string(v)),
    "tonumber": _fn("tonumber", 1, lambda v: None if v is None else to_number(v)),
    "tobool": _fn("tobool", 1, lambda v: None if v is None else to_bool(v)),
    "tolist": _fn("tolist", 1, _tolist),
    "toset": _fn("toset", 1, lambda v: _set(_tolist(v, "toset"))),
    "tomap": _fn("tomap", 1, _tomap),
    "concat": lambda args: [item for arg in args for item in _tolist(arg)],
    "flatten": _fn("flatten", 1, _flatten),
    "distinct": _fn("distinct", 1, lambda v: _set_order(_tolist(v))),
    "compact": _fn("compact", 1, lambda v: [x for x in _tolist(v) if x not in (None, "")]),
    "join": _fn(
        "join",
        2,
        lambda sep, v: bounded_join((to_string(x) for x in _tolist(v)), "join()", to_string(sep)),
    ),
    "split": _fn("split", 2, lambda sep, v: to_string(v).split(to_string(sep))),
    "format": lambda args: (
        _format(to_string(args[0]), args[1:]) if args else _args("format", args, 1)
    ),
    "formatlist": lambda args: _formatlist(args),
    "lower": _fn("lower", 1, lambda v: to_string(v).lower()),
    "upper": _fn("upper", 1, lambda v: to_string(v).upper()),
    "trimspace": _fn("trimspace", 1, lambda v: to_string(v).strip()),
    "trim": _fn("trim", 2, lambda v, chars: to_string(v).strip(to_string(chars))),
    "trimprefix": _fn("trimprefix", 2, lambda v, p: to_string(v).removeprefix(to_string(p))),
    "trimsuffix": _fn("trimsuffix", 2, lambda v, s: to_string(v).removesuffix(to_string(s))),
    "replace": _fn("replace", 3, _replace),
    "substr": _fn(
        "substr",
        3,
        lambda v, o, n: to_string(v)[int(to_number(o)) :][
            : (None if int(to_number(n)) < 0 else int(to_number(n)))
        ],
    ),
    "length": _fn(
        "length", 1, lambda v: len(v) if isinstance(v, (str, list, dict)) else len(to_string(v))
    ),
    "lookup": _lookup,
    "merge": _merge,
    "coalesce": _coalesce,
    "coalescelist": lambda args: next((a for a in args if a), []),
    "element": _fn("element", 2, _element),
    "keys": _fn("keys", 1, lambda v: sorted(_tomap(v))),
    "values": _fn("values", 1, lambda v: [_tomap(v)[k] for k in sorted(v)]),
    "contains": _fn("contains", 2, lambda v, x: x in _tolist(v)),
    "slice": _fn("slice", 3, _slice),
    "reverse": _fn("reverse", 1, lambda v: list(reversed(_tolist(v)))),
    "sort": _fn("sort", 1, lambda v: sorted(to_string(x) for x in _tolist(v))),
    "range": _range,
    "zipmap": _fn("zipmap", 2, _zipmap),
    "max": lambda args: max(to_number(a) for a in args),
    "min": lambda args: min(to_number(a) for a in args),
    "abs": _fn("abs", 1, lambda v: abs(to_number(v))),
    "cidrsubnet": _fn("cidrsubnet", 3, _cidrsubnet),
    "cidrhost": _fn("cidrhost", 2, _cidrhost),
    "jsondecode": _fn("jsondecode", 1, _jsondecode),
}
"""The functions evaluated offline: pure and exact. Everything else (``file()``,
``timestamp()``, ``uuid()``, regular expressions, provider functions) needs Terraform."""


def _formatlist(args: list[Any]) -> list[str]:
    if not args:
        _args("formatlist", args, 1, 99)
    spec = to_string(args[0])
    lists = [a for a in args[1:] if isinstance(a, list)]
    length = len(lists[0]) if lists else 1
    out: list[str] = []
    total = 0
    for i in range(length):
        out.append(_format(spec, [a[i] if isinstance(a, list) else a for a in args[1:]]))
        total += len(out[-1])
        if total > MAX_VALUE_CHARS:
            raise LimitError(
                f"formatlist() makes values of more than {MAX_VALUE_CHARS:,} characters: the "
                f"limit of one evaluated value is {MAX_VALUE_CHARS:,} characters (1 MiB)"
            )
    return out


# ---------------------------------------------------------------------------- evaluation

Scope = Mapping[str, Any]
"""Names bound by iterators: ``each``, ``count``, dynamic-block iterators, ``for`` variables."""

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
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def unescape(text: str) -> str:
    """The value of a quoted HCL string's characters."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 >= len(text):
            out.append(char)
            i += 1
            continue
        marker = text[i + 1]
        if marker in _ESCAPES:
            out.append(_ESCAPES[marker])
            i += 2
        elif marker in "uU":
            width = 4 if marker == "u" else 8
            digits = text[i + 2 : i + 2 + width]
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                raise EvalError(f"invalid escape \\{marker}{digits} in a string") from None
            i += 2 + width
        else:
            raise EvalError(f"invalid escape \\{marker} in a string")
    return "".join(out)


# ---------------------------------------------------------------------------- templates


@dataclass
class _Piece:
    """One token of a template, as HCL's template parser sees it: a literal, an
    interpolation, or a directive (``if``, ``else``, ``endif``, ``for``, ``endfor``).

    ``strip_before`` is the ``~`` of ``${~``/``%{~`` (it strips the whitespace that ends the
    literal before), ``strip_after`` the ``~`` of ``~}`` (the whitespace that starts the
    literal after)."""

    kind: str
    text: str = ""
    node: Tree[Any] | None = None
    file: HclFile | None = None
    names: tuple[str, ...] = ()
    strip_before: bool = False
    strip_after: bool = False
    line: int | None = None


@dataclass
class _Branch:
    """An ``%{if}`` or ``%{for}`` directive with the pieces it governs."""

    head: _Piece
    body: list[_Piece | _Branch]
    otherwise: list[_Piece | _Branch] | None = None


_DIRECTIVE = re.compile(r"\s*(if|else|endif|for|endfor)\b", re.ASCII)
_FOR_NAMES = re.compile(r"\s*([A-Za-z_][\w-]*)\s*(?:,\s*([A-Za-z_][\w-]*)\s*)?in\b", re.ASCII)


def _text_pieces(text: str, line: int | None) -> list[_Piece]:
    """Literal text as HCL's scanner cuts it in heredocs: one token per line."""
    pieces: list[_Piece] = []
    for chunk in text.splitlines(keepends=True):
        pieces.append(_Piece("text", chunk, line=line))
        if line is not None and chunk.endswith("\n"):
            line += 1
    return pieces


def _strip(pieces: list[_Piece]) -> list[_Piece]:
    """Apply the strip markers: only the literal right next to a marker is trimmed."""
    out: list[_Piece] = []
    strip_next = False
    for piece in pieces:
        if piece.kind == "text":
            text = piece.text.lstrip() if strip_next else piece.text
            out.append(_Piece("text", text, line=piece.line))
            strip_next = False
            continue
        if piece.strip_before and out and out[-1].kind == "text":
            out[-1].text = out[-1].text.rstrip()
        out.append(piece)
        strip_next = piece.strip_after
    return out


def _flush(pieces: list[_Piece]) -> None:
    """``<<-`` heredocs: remove the smallest indentation of the lines' leading literals."""
    smallest: int | None = None
    adjust: list[_Piece] = []
    newline = True
    for piece in pieces:
        if newline:
            newline = False
            if piece.kind == "text":
                rest = piece.text.lstrip()
                if rest or not piece.text.endswith("\n"):
                    spaces = len(piece.text) - len(rest)
                    adjust.append(piece)
                    smallest = spaces if smallest is None else min(smallest, spaces)
            else:
                smallest = 0
        if piece.kind == "text" and piece.text.endswith("\n"):
            newline = True
    for piece in adjust:
        piece.text = piece.text[smallest or 0 :]


def _meld(pieces: list[_Piece]) -> list[_Piece]:
    out: list[_Piece] = []
    for piece in pieces:
        if piece.kind == "text" and out and out[-1].kind == "text":
            out[-1].text += piece.text
        else:
            out.append(piece)
    return out


def _structure(pieces: list[_Piece], name: str) -> list[_Piece | _Branch]:
    """Nest the pieces governed by ``%{if}`` and ``%{for}``: unbalanced directives are errors."""
    root: list[_Piece | _Branch] = []
    stack: list[tuple[_Branch, list[_Piece | _Branch]]] = []
    current = root
    for piece in pieces:
        if piece.kind in ("text", "interp"):
            current.append(piece)
        elif piece.kind in ("if", "for"):
            branch = _Branch(piece, [])
            current.append(branch)
            stack.append((branch, current))
            current = branch.body
        else:
            opener = stack[-1][0].head if stack else None
            wanted = {"else": "if", "endif": "if", "endfor": "for"}[piece.kind]
            if opener is None or opener.kind != wanted:
                raise EvalError(
                    f"template: unexpected %{{{piece.kind}}}"
                    + (
                        f" (the %{{{opener.kind}}} of line {opener.line} is still open)"
                        if opener
                        else ""
                    ),
                    piece.line,
                )
            branch, parent = stack[-1]
            if piece.kind == "else":
                if branch.otherwise is not None:
                    raise EvalError(
                        f"template: a second %{{else}} for the %{{if}} of line {opener.line}",
                        piece.line,
                    )
                branch.otherwise = []
                current = branch.otherwise
            else:
                stack.pop()
                current = parent
    if stack:
        opener = stack[-1][0].head
        closing = "endif" if opener.kind == "if" else "endfor"
        raise EvalError(
            f"template: the %{{{opener.kind}}} of line {opener.line} has no %{{{closing}}}",
            opener.line,
        )
    return root


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
    _templates: dict[tuple[str, int | None, str], list[_Piece]] = field(default_factory=dict)
    _depth: int = 0

    def evaluate(self, node: Tree[Any] | Token | JsonValue, scope: Scope, file: HclFile) -> Any:
        try:
            return self._eval(node, scope, file)
        except RecursionError:
            line = node.line if isinstance(node, JsonValue) else _line(node)
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
                exc.line = _line(node)
                exc.file = file.name
            raise
        except NeedsPlan as exc:
            if exc.line is None:
                exc.line = _line(node)
            if node.data in _TRAVERSALS and exc.widen:
                exc.expression = file.source(node)
            elif node.data not in ("expr_term", "identifier"):
                exc.widen = False
            raise
        except EvalError as exc:
            if exc.line is None:
                exc.line = _line(node)
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
        kids = _trees(node)
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
            return self._identifier(_name(node), node, scope, file)
        if data == "get_attr_expr_term":
            base = self._eval(kids[0], scope, file, keep=True)
            return self._get_attr(base, _name(_trees(kids[1])[0]), node, file)
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
            return _name(node)
        raise EvalError(f"expression {quote(file.source(node))} ({data}) is not supported")

    def _string(self, node: Tree[Any], scope: Scope, file: HclFile) -> Any:
        pieces: list[_Piece] = []
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
                pieces.append(_Piece("text", text, line=inner.line))
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
                    _Piece(
                        "interp",
                        node=_trees(inner)[0],
                        file=file,
                        strip_before=before,
                        strip_after=after,
                        line=_line(inner),
                    )
                )
            else:
                pieces.append(self._directive_piece(inner, file))
        return self._template(_meld(pieces), node, scope, file)

    def _directive_piece(self, node: Tree[Any], file: HclFile) -> _Piece:
        """A directive of a quoted template, from python-hcl2's tree."""
        kind = {
            "template_if_start": "if",
            "template_else": "else",
            "template_endif": "endif",
            "template_for_start": "for",
            "template_endfor": "endfor",
        }.get(node.data)
        if kind is None:
            raise EvalError(f"template part {quote(node.data)} is not understood", _line(node))
        tokens = [str(c) for c in node.children if isinstance(c, Token)]
        kids = _trees(node)
        names = tuple(_name(k) for k in kids if k.data == "identifier") if kind == "for" else ()
        expressions = [k for k in kids if k.data != "identifier"] if kind in ("if", "for") else []
        return _Piece(
            kind,
            node=expressions[0] if expressions else None,
            file=file,
            names=names,
            strip_before=len(tokens) > 1 and tokens[1] == "~",
            strip_after=len(tokens) > 1 and tokens[-2] == "~",
            line=_line(node),
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
        first = _line(node)
        pieces = self._raw_pieces(content, file.name, None if first is None else first + 1)
        pieces = _strip(pieces)
        if node.data == "heredoc_template_trim":
            _flush(pieces)
        return self._render_pieces(_meld(pieces), node, scope, file)

    def template(self, text: str, scope: Scope, file: HclFile, line: int | None) -> Any:
        """The value of template text (a Terraform JSON string, a heredoc's content)."""
        pieces = _strip(self._raw_pieces(text, file.name, line))
        return self._render_pieces(_meld(pieces), None, scope, file)

    def _raw_pieces(self, text: str, name: str, line: int | None) -> list[_Piece]:
        """The pieces of template text, its expressions parsed; cached per text."""
        key = (name, line, text)
        cached = self._templates.get(key)
        if cached is not None:
            return [_Piece(**vars(p)) for p in cached]
        pieces: list[_Piece] = []
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
                pieces.extend(_text_pieces("".join(literal), literal_line))
                literal = []
            inner = i + 2
            before = text.startswith("~", inner)
            if before:
                inner += 1
            end = _scan_expression(text, inner)
            if end >= n:
                raise EvalError(
                    f"template: the {text[i : i + 2]} sequence has no closing }}", at(i)
                )
            after = end > inner and text[end - 1] == "~"
            content = text[inner : end - 1 if after else end]
            if text[i] == "$":
                piece = _Piece("interp", strip_before=before, strip_after=after, line=at(inner))
                piece.node, piece.file = self._parse_expression(content, name, at(inner))
            else:
                piece = self._raw_directive(content, name, at(inner))
                piece.strip_before, piece.strip_after = before, after
            pieces.append(piece)
            i = end + 1
            literal_line = at(i)
        if literal:
            pieces.extend(_text_pieces("".join(literal), literal_line))
        self._templates[key] = [_Piece(**vars(p)) for p in pieces]
        return pieces

    def _raw_directive(self, content: str, name: str, line: int | None) -> _Piece:
        match = _DIRECTIVE.match(content)
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
            return _Piece(kind, line=line)
        names: tuple[str, ...] = ()
        if kind == "for":
            names_match = _FOR_NAMES.match(rest)
            if names_match is None:
                raise EvalError("template: %{for} needs NAME in COLLECTION", line)
            names = tuple(n for n in names_match.groups() if n)
            line = None if line is None else line + rest.count("\n", 0, names_match.end())
            rest = rest[names_match.end() :]
        node, file = self._parse_expression(rest, name, line)
        return _Piece(kind, node=node, file=file, names=names, line=line)

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
        inner = _trees(expression)
        return (inner[0] if len(inner) == 1 else expression), sub

    def _template(self, pieces: list[_Piece], node: Tree[Any], scope: Scope, file: HclFile) -> Any:
        return self._render_pieces(_strip(pieces), node, scope, file)

    def _render_pieces(
        self, pieces: list[_Piece], node: Tree[Any] | None, scope: Scope, file: HclFile
    ) -> Any:
        pieces = _meld(pieces)
        if len(pieces) == 1 and pieces[0].kind == "interp":
            # a template that is one interpolation is its value, unconverted (TemplateWrapExpr)
            only = pieces[0]
            assert only.node is not None and only.file is not None
            return self._eval(only.node, scope, only.file)
        where = file.source(node) if node is not None else "the template"
        return bounded_join(
            self._render(_structure(pieces, where), scope, where), "a string template"
        )

    def _render(self, items: list[_Piece | _Branch], scope: Scope, where: str) -> Iterator[str]:
        for item in items:
            if isinstance(item, _Piece):
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
            for key, element in _items(value):
                inner = dict(scope)
                if len(head.names) == 2:
                    inner[head.names[0]] = key
                    inner[head.names[1]] = element
                else:
                    inner[head.names[0]] = element
                yield from self._render(item.body, inner, where)

    def _interpolate(self, piece: _Piece, scope: Scope, where: str) -> str:
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
            parts = _trees(elem)
            key_node, value_node = parts[0], parts[1]
            inner = _trees(key_node)
            target = inner[0] if inner else key_node
            if (
                target.data == "expr_term"
                and _trees(target)
                and _trees(target)[0].data == "identifier"
            ):
                key = _name(_trees(target)[0])
            elif target.data in ("identifier", "keyword"):
                key = _name(target)
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
        return self._eval(_trees(index)[0], scope, file)

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
        steps = _trees(kids[1])
        if base is None:
            return []
        items = base if isinstance(base, list) else [base]
        out = []
        for item in items:
            value = item
            for step in steps:
                if step.data == "get_attr":
                    value = self._get_attr(value, _name(_trees(step)[0]), node, file)
                else:
                    value = self._index(value, self._index_key(step, scope, file), node, file)
            out.append(value)
        return out

    def _call(self, node: Tree[Any], kids: list[Tree[Any]], scope: Scope, file: HclFile) -> Any:
        names = [k for k in kids if k.data == "identifier"]
        name = "::".join(_name(k) for k in names)
        arguments = [k for k in kids if k.data == "arguments"]
        arg_nodes = _trees(arguments[0]) if arguments else []
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
        except _Unsupported as exc:
            raise NeedsPlan(file.source(node), f"{exc} is not evaluated by acl") from None
        except EvalError as exc:
            raise EvalError(f"{file.source(node)}: {exc.message}") from None
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise EvalError(f"{file.source(node)}: {exc}") from None

    def _binary(self, node: Tree[Any], kids: list[Tree[Any]], scope: Scope, file: HclFile) -> Any:
        left = self._eval(kids[0], scope, file)
        term = kids[1]
        operator = _name(_trees(term)[0])
        right_node = _trees(term)[1]
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
        kids = _trees(node)
        intro = kids[0]
        names = [_name(k) for k in _trees(intro) if k.data == "identifier"]
        collection_node = next(k for k in _trees(intro) if k.data != "identifier")
        collection = self._eval(collection_node, scope, file)
        condition = next((k for k in kids if k.data == "for_cond"), None)
        grouping = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in node.children)
        bodies = [k for k in kids[1:] if k.data != "for_cond"]
        tuple_out: list[Any] = []
        object_out: dict[str, Any] = {}
        for key, value in _items(collection if collection is not None else []):
            inner = dict(scope)
            if len(names) == 2:
                inner[names[0]] = key
                inner[names[1]] = value
            else:
                inner[names[0]] = value
            if condition is not None and not to_bool(self._eval(_trees(condition)[0], inner, file)):
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


# ---------------------------------------------------------------------------- type constraints


@dataclass(frozen=True)
class TypeSpec:
    """A variable's type constraint: ``kind`` is string, number, bool, any, list, set, map,
    tuple or object; ``element`` the element type; ``attributes`` an object's attributes
    as (type, optional, default expression)."""

    kind: str
    element: TypeSpec | None = None
    elements: tuple[TypeSpec, ...] = ()
    attributes: Mapping[str, tuple[TypeSpec, bool, Tree[Any] | None]] = field(default_factory=dict)


_ANY = TypeSpec("any")


def parse_type(node: Tree[Any], file: HclFile) -> TypeSpec:
    """The type constraint written in a variable block's ``type`` attribute."""
    kids = _trees(node)
    if node.data == "expr_term" and kids:
        return parse_type(kids[0], file)
    if node.data == "identifier":
        name = _name(node)
        if name in ("string", "number", "bool", "any"):
            return TypeSpec(name)
        raise EvalError(f"type {quote(name)} is not a Terraform type")
    if node.data == "function_call":
        name = _name(kids[0])
        arguments = [k for k in kids if k.data == "arguments"]
        args = _trees(arguments[0]) if arguments else []
        if name in ("list", "set", "map") and len(args) == 1:
            return TypeSpec(name, element=parse_type(args[0], file))
        if name == "tuple" and len(args) == 1:
            inner = _unwrap(args[0])
            if inner.data == "tuple":
                return TypeSpec("tuple", elements=tuple(parse_type(k, file) for k in _trees(inner)))
        if name == "object" and len(args) == 1:
            inner = _unwrap(args[0])
            if inner.data == "object":
                attributes: dict[str, tuple[TypeSpec, bool, Tree[Any] | None]] = {}
                for elem in _trees(inner):
                    key_node, value_node = _trees(elem)[0], _trees(elem)[1]
                    key = _name(_unwrap(key_node))
                    attributes[key] = _attribute_type(value_node, file)
                return TypeSpec("object", attributes=attributes)
    raise EvalError(f"type constraint {quote(file.source(node))} is not understood")


def _unwrap(node: Tree[Any]) -> Tree[Any]:
    while node.data in ("expr_term", "object_elem_key") and _trees(node):
        node = _trees(node)[0]
    return node


def _attribute_type(node: Tree[Any], file: HclFile) -> tuple[TypeSpec, bool, Tree[Any] | None]:
    inner = _unwrap(node)
    if inner.data == "function_call" and _name(_trees(inner)[0]) == "optional":
        arguments = [k for k in _trees(inner) if k.data == "arguments"]
        args = _trees(arguments[0]) if arguments else []
        if not args:
            raise EvalError("optional() needs a type")
        return parse_type(args[0], file), True, args[1] if len(args) > 1 else None
    return parse_type(node, file), False, None


def convert(value: Any, spec: TypeSpec, evaluator: Evaluator, file: HclFile) -> Any:
    """``value`` converted to a type constraint, as Terraform does for input variables."""
    if value is None or spec.kind == "any":
        return value
    if spec.kind == "string":
        return to_string(value)
    if spec.kind == "number":
        return to_number(value)
    if spec.kind == "bool":
        return to_bool(value)
    if spec.kind in ("list", "set", "tuple"):
        if not isinstance(value, list):
            raise EvalError(f"a {spec.kind} is required, not {type_name(value)}")
        if spec.kind == "tuple":
            if len(value) != len(spec.elements):
                raise EvalError(f"a tuple of {len(spec.elements)} element(s) is required")
            return [
                convert(v, t, evaluator, file) for v, t in zip(value, spec.elements, strict=True)
            ]
        assert spec.element is not None
        items = [convert(v, spec.element, evaluator, file) for v in value]
        return _set(items) if spec.kind == "set" else items
    if not isinstance(value, dict):
        raise EvalError(f"a {spec.kind} is required, not {type_name(value)}")
    if spec.kind == "map":
        assert spec.element is not None
        return {k: convert(v, spec.element, evaluator, file) for k, v in value.items()}
    out: dict[str, Any] = {}
    for name, (attr_type, optional, default) in spec.attributes.items():
        if name in value and value[name] is not None:
            out[name] = convert(value[name], attr_type, evaluator, file)
        elif optional:
            fallback = evaluator.evaluate(default, {}, file) if default is not None else None
            out[name] = convert(fallback, attr_type, evaluator, file)
        elif name in value:
            out[name] = None
        else:
            raise EvalError(f"attribute {quote(name)} is required by the variable's type")
    return out

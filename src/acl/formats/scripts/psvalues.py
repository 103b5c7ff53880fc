"""The values of PowerShell expressions: variables from the script and ``--var``, strings,
``+`` concatenation, arrays and hashtables; anything else is :class:`Unknown`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._limits import bounded_join, checked
from .pstokens import Token

__all__ = [
    "PSObject",
    "Unknown",
    "Vars",
    "as_text",
    "evaluate",
    "operand",
    "source_text",
    "unknowns",
]


@dataclass(frozen=True)
class Unknown:
    """A value only running the script would give: its source text."""

    text: str


@dataclass(frozen=True)
class PSObject:
    """An object a cmdlet writes (``PSSite``, ``PSAccessRestrictionConfig``): its type, the
    properties acl knows, and the command that wrote it."""

    kind: str
    props: Mapping[str, Any]
    source: str

    def get(self, name: str) -> Any:
        """A property, by PowerShell's case-insensitive name; None when it has none."""
        for key, value in self.props.items():
            if key.lower() == name.lower():
                return value
        return None


# Tokens: (kind, payload, line). Kinds: word, lit (single-quoted), str (parts), var
# (name, props, source), hash (entries), array (element groups), sub (source), comma,
# param (name, has-colon), splat (name), eq, pipe, lbrace, rbrace, paren (source).
@dataclass
class Vars:
    fixed: Mapping[str, str]
    values: dict[str, Any] = field(default_factory=dict)

    def lookup(self, name: str, props: list[str], source: str) -> Any:
        lowered = name.lower()
        for scope in ("script:", "global:", "local:", "private:"):
            if lowered.startswith(scope):
                name = name[len(scope) :]
                lowered = name.lower()
        constants = {"true": True, "false": False, "null": None}
        if lowered in constants and not props:
            return constants[lowered]
        fixed = {key.lower(): value for key, value in self.fixed.items()}
        dotted = ".".join([lowered, *(p.lower() for p in props)])
        if dotted in fixed:
            return fixed[dotted]
        if lowered.startswith("env:"):
            if not props and lowered[4:] in fixed:
                return fixed[lowered[4:]]
            return Unknown(source)
        known = {key.lower(): value for key, value in self.values.items()}
        value: Any = fixed.get(lowered, known.get(lowered, Unknown(source)))
        for prop in props:
            if isinstance(value, dict):
                match = [k for k in value if str(k).lower() == prop.lower()]
                value = value[match[0]] if match else Unknown(source)
            elif isinstance(value, PSObject) and value.get(prop) is not None:
                value = value.get(prop)
            else:
                value = Unknown(source)
        return value


def expression(tokens: list[Token], env: Vars) -> Any:
    """The value of an expression where PowerShell parses a bare word as a command (the
    right of ``=``, a hashtable value): ``$rg = Get-ResourceGroupName`` is the command's
    output, unknown; a number is a number."""
    if tokens and tokens[0][0] == "word" and not _NUMBER.fullmatch(str(tokens[0][1])):
        return Unknown(source_text(tokens))
    return evaluate(tokens, env)


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def evaluate(tokens: list[Token], env: Vars) -> Any:
    """The value of an expression: one operand, or a comma-separated array."""
    groups: list[list[Token]] = [[]]
    for token in tokens:
        if token[0] == "comma":
            groups.append([])
        else:
            groups[-1].append(token)
    values = [operand(group, env) for group in groups if group]
    if len(groups) > 1:
        out: list[Any] = []
        for value in values:
            out.append(value)
        return checked(out, "an array")
    return values[0] if values else None


def source_text(tokens: list[Token]) -> str:
    """The tokens as a reader would write them, for messages."""
    out = []
    for kind, payload, _ in tokens:
        if kind == "var":
            out.append(str(payload[2]))
        elif kind == "lit":
            out.append("'" + str(payload) + "'")
        elif kind == "str":
            out.append(
                '"' + "".join(p if isinstance(p, str) else str(p[-1]) for p in payload) + '"'
            )
        elif kind in ("param", "param:"):
            out.append("-" + str(payload))
        elif kind == "splat":
            out.append("@" + str(payload))
        elif kind in ("hash", "array"):
            out.append("@{...}" if kind == "hash" else "@(...)")
        elif kind == "comma":
            out.append(",")
        else:
            out.append(str(payload))
    return bounded_join(out, "a message", " ")


def operand(tokens: list[Token], env: Vars) -> Any:
    tokens = [t for t in tokens if t[0] != "cast"]
    if len(tokens) == 1 and tokens[0][0] == "value":
        return tokens[0][1]
    if (
        len(tokens) >= 3
        and len(tokens) % 2 == 1
        and all(t[0] == "word" and t[1] == "+" for t in tokens[1::2])
    ):
        # string concatenation: `'a' + $b + "c"`, when the first operand is a string
        values = [operand([t], env) for t in tokens[0::2]]
        unknown = [u for v in values for u in unknowns(v)]
        if unknown:
            return Unknown(", ".join(unknown))
        if isinstance(values[0], str):
            return checked(bounded_join((as_text(v) for v in values), "a string"), "a string")
        return Unknown(source_text(tokens))
    if len(tokens) != 1:
        return Unknown(source_text(tokens))
    kind, payload, _ = tokens[0]
    if kind in ("word", "lit"):
        return payload
    if kind == "str":
        out: list[str] = []
        for part in payload:
            if isinstance(part, str):
                out.append(part)
            elif part[0] == "var":
                value = env.lookup(part[1], part[2], part[3])
                if isinstance(value, Unknown):
                    return value
                out.append(as_text(value))
            else:
                return Unknown(part[1])
        return bounded_join(out, "a string")
    if kind == "var":
        name, props, source = payload
        return env.lookup(name, props, source)
    if kind == "hash":
        table: dict[str, Any] = {}
        for key_tokens, value_tokens in payload:
            key = operand(key_tokens, env)
            if isinstance(key, Unknown):
                return key
            table[as_text(key)] = expression(value_tokens, env)
        return checked(table, "a hashtable")
    if kind == "array":
        items: list[Any] = []
        for group in payload:
            value = evaluate(group, env)
            items.extend(value if isinstance(value, list) else [value])
        return checked(items, "an array")
    if kind == "splat":
        return Unknown(f"@{payload}")
    return Unknown(str(payload))


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, list):
        return bounded_join((as_text(v) for v in value), "an array as text", " ")
    return str(value)


def unknowns(value: Any) -> list[str]:
    if isinstance(value, Unknown):
        return [value.text]
    if isinstance(value, list):
        return [u for v in value for u in unknowns(v)]
    if isinstance(value, dict):
        return [u for v in value.values() for u in unknowns(v)]
    return []


# ---------------------------------------------------------------------------- cmdlets

"""Azure PowerShell scripts: ``Add-AzWebAppAccessRestrictionRule``,
``Remove-AzWebAppAccessRestrictionRule`` and ``Update-AzWebAppAccessRestrictionConfig``
(Az.Websites), applied in order to an empty site, or to ``options.base_site``, the way the
cmdlets apply them. ``az ... access-restriction`` commands in a PowerShell script are applied
too, as the az CLI would.

The cmdlets' own rules are reproduced: ``-IpAddress`` takes CIDRs only (``/32`` must be
written), without spaces, at most eight; a rule for an address, service tag or subnet that is
already there cannot be added again; ``-HttpHeader @{...}`` is a hashtable of header name to
a value or an array; ``Remove-`` finds the first rule by ``-Name``, or by source, *and*
``-Action``, and does nothing when none matches; ``Update-`` sets
``-ScmSiteUseMainSiteRestrictionConfig``. ``-WhatIf`` commands change nothing.

The script is read, never run: ``$variables`` come from simple assignments (``$rg = 'shop'``,
``$ips = @('a', 'b')``, ``$h = @{...}``) and ``options.variables`` (``--var rg=shop``, which
win; ``--var config.VNET=...`` gives ``$config.VNET``), string ``+`` and ``@params``
splatting; anything else (a cmdlet's output, arithmetic, ``$env:`` without ``--var``) is an
error naming it. ``$r = Add-...`` runs the command. ``Get-AzResource`` of a web app, property
assignments to it and ``Set-AzResource`` apply the default actions,
``scmIpSecurityRestrictionsUseMain`` and ``publicNetworkAccess``. A failing cmdlet ends its
statement (a warning), or the script under ``-ErrorAction Stop`` /
``$ErrorActionPreference = 'Stop'`` (an error). Backtick continuations (and lines ending in
``|``), ``#`` and ``<# #>`` comments and ``;`` are understood, and
``foreach ($x in ...) { ... }`` over a known array is expanded; pipeline input into a rule
cmdlet, ``&&``/``||`` chains and rule commands inside ``(...)``, ``if``, ``while``,
``switch``, ``try`` or a function are errors.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError, Origin, quote
from ..model import Site
from ._limits import LimitError, bounded, bounded_join, checked, step
from .azcli import (
    _SCALARS,
    _SITE_CONFIG_KEYS,
    NotEvaluated,
    ScriptSites,
    _Az,
    _is_resource_id,
    _Rule,
    _squash,
    setting_choice,
    setting_choices,
    subnet_id,
)
from .options import LoadOptions

__all__ = ["load_powershell"]

_HEADER_NAMES = ("x-forwarded-for", "x-forwarded-host", "x-azure-fdid", "x-fd-healthprobe")
_CONTROL = {
    "if",
    "elseif",
    "else",
    "while",
    "do",
    "until",
    "switch",
    "try",
    "catch",
    "finally",
    "function",
    "filter",
    "for",
    "trap",
    "begin",
    "process",
    "end",
    "workflow",
}


@dataclass
class _Resource:
    """What ``Get-AzResource`` returned: a web app (``site``), its ``config`` (config/web), or
    another resource (None); the settings assigned to it, sent by ``Set-AzResource``."""

    kind: str | None
    name: str
    origin: Origin
    changes: list[tuple[str, Any, Origin]] = field(default_factory=list)


_SITE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Web/sites/(?P<name>[^/]+)"
    r"(?:/slots/(?P<slot>[^/]+))?(?P<config>/config/web)?/?$",
    re.IGNORECASE,
)
_RULE_TEXT = re.compile(
    r"AccessRestriction|access-restriction|Set-AzResource|ipSecurityRestrictions", re.IGNORECASE
)


def _touches(tokens: list[Any]) -> bool:
    """Whether the tokens name an access restriction command."""
    for token in tokens:
        if token[0] == "word" and (
            str(token[1]).lower() in _CMDLETS
            or str(token[1]).lower() in ("access-restriction", "set-azresource")
        ):
            return True
    return False


def _resource_key(props: list[str], kind: str) -> str | None:
    """The setting a property path of a Get-AzResource object sets (PowerShell properties
    are case-insensitive); ``""`` when it reaches the access restrictions otherwise; None
    when it does not reach them."""
    if kind == "config":
        wanted = [["properties", k] for k in _SITE_CONFIG_KEYS]
    elif kind == "site":
        wanted = [["properties", "siteConfig", k] for k in _SITE_CONFIG_KEYS] + [
            ["properties", "publicNetworkAccess"]
        ]
    else:
        wanted = [["properties", "siteConfig", k] for k in _SITE_CONFIG_KEYS] + [
            ["properties", k] for k in _SITE_CONFIG_KEYS
        ]
    squashed = [_squash(p) for p in props]
    reached = False
    for target in wanted:
        low = [_squash(t) for t in target]
        n = min(len(low), len(squashed))
        if low[:n] == squashed[:n]:
            reached = True
            if low == squashed and target[-1] in _SCALARS and kind != "?":
                return target[-1]
    return "" if reached else None


def _setting(key: str, value: Any, source: str, origin: Origin) -> Any:
    choice = setting_choice(key, value)
    if choice is not None:
        return choice
    choices = setting_choices(key)
    raise NotEvaluated(
        f"{source} = {quote(_text(value))}: acl does not know how Azure takes this value for "
        f"{key} (expected {' or '.join(str(c) for c in choices)})",
        origin,
    )


@dataclass(frozen=True)
class _Unknown:
    """A value only running the script would give: its source text."""

    text: str


# Tokens: (kind, payload, line). Kinds: word, lit (single-quoted), str (parts), var
# (name, props, source), hash (entries), array (element groups), sub (source), comma,
# param (name, has-colon), splat (name), eq, pipe, lbrace, rbrace, paren (source).
_Token = tuple[str, Any, int]


class _Lexer:
    def __init__(self, text: str, file: str | None) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.file = file

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, Origin(file=self.file, line=self.line))

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def statements(self) -> list[tuple[int, list[_Token]]]:
        out: list[tuple[int, list[_Token]]] = []
        tokens: list[_Token] = []
        start = self.line
        while self.pos < len(self.text):
            char = self.peek()
            if char == "`" and self.peek(1) in ("\n", "\r"):
                self.pos += 1
                if self.peek() == "\r":
                    self.pos += 1
                if self.peek() == "\n":
                    self.pos += 1
                self.line += 1
                continue
            if char in " \t\r":
                self.pos += 1
                continue
            if char == "\n" and tokens and tokens[-1][0] == "pipe":
                self.line += 1
                self.pos += 1
                continue
            if char == "\n" or char == ";":
                if tokens:
                    out.append((start, tokens))
                tokens = []
                if char == "\n":
                    self.line += 1
                self.pos += 1
                start = self.line
                continue
            if char == "<" and self.peek(1) == "#":
                end = self.text.find("#>", self.pos + 2)
                end = len(self.text) if end < 0 else end + 2
                self.line += self.text.count("\n", self.pos, end)
                self.pos = end
                continue
            if char == "#":
                while self.pos < len(self.text) and self.peek() != "\n":
                    self.pos += 1
                continue
            if char in "{}":
                if tokens:
                    out.append((start, tokens))
                out.append((self.line, [("lbrace" if char == "{" else "rbrace", None, self.line)]))
                tokens = []
                self.pos += 1
                start = self.line
                continue
            tokens.append(self.token())
        if tokens:
            out.append((start, tokens))
        return out

    def token(self) -> _Token:
        char = self.peek()
        line = self.line
        if char == "'":
            return ("lit", self.single(), line)
        if char == '"':
            return ("str", self.double(), line)
        if char == "@" and self.peek(1) in ("'", '"'):
            return self.here_string()
        if char == "@" and self.peek(1) == "{":
            self.pos += 2
            return ("hash", self.hashtable(), line)
        if char == "@" and self.peek(1) == "(":
            self.pos += 1
            source = self.balanced("(", ")")
            inner = _Lexer(source[1:-1], self.file)
            inner.line = line
            groups = self.groups(inner)
            return ("array", groups, line)
        if char == "@" and re.match(r"[A-Za-z_]", self.peek(1)):
            match = re.match(r"@([A-Za-z_][\w]*)", self.text[self.pos :])
            assert match is not None
            self.pos += len(match.group(0))
            return ("splat", match.group(1), line)
        if char == "$":
            return self.variable()
        if char == "(":
            return ("paren", self.balanced("(", ")"), line)
        if char == ",":
            self.pos += 1
            return ("comma", None, line)
        if char == "|":
            self.pos += 1
            if self.peek() == "|":
                self.pos += 1
                return ("chain", "||", line)
            return ("pipe", None, line)
        if char == "&" and self.peek(1) == "&":
            self.pos += 2
            return ("chain", "&&", line)
        if char == "=":
            self.pos += 1
            return ("eq", None, line)
        param = re.match(r"-[A-Za-z_][\w]*:?", self.text[self.pos :])
        if param is not None:
            after = self.text[self.pos + len(param.group(0)) : self.pos + len(param.group(0)) + 1]
            if (
                after == ""
                or after.isspace()
                or after in "$'\"@(,;|"
                or param.group(0).endswith(":")
            ):
                self.pos += len(param.group(0))
                name = param.group(0)[1:]
                if name.endswith(":"):
                    return ("param:", name[:-1], line)
                return ("param", name, line)
        if char == "[" and re.match(r"\[[A-Za-z_][\w.\[\]]*\]", self.text[self.pos :]):
            match = re.match(r"\[[A-Za-z_][\w.]*(\[\])?\]", self.text[self.pos :])
            if match is not None:
                self.pos += len(match.group(0))
                return ("cast", match.group(0), line)
        match = re.match(r"[^\s,;|(){}'\"`=]+", self.text[self.pos :])
        if match is None:
            self.pos += 1
            return ("word", char, line)
        word = match.group(0)
        if "$" in word[1:]:
            word = word[: word.index("$", 1)]
        self.pos += len(word)
        return ("word", word, line)

    def balanced(self, open_: str, close: str) -> str:
        depth = 0
        start = self.pos
        quote = ""
        while self.pos < len(self.text):
            char = self.peek()
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char == open_:
                depth += 1
            elif char == close:
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    return self.text[start : self.pos]
            if char == "\n":
                self.line += 1
            self.pos += 1
        raise self.error(f"unclosed {open_!r}")

    def single(self) -> str:
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated single-quoted string")
            char = self.peek()
            if char == "'":
                if self.peek(1) == "'":
                    out.append("'")
                    self.pos += 2
                    continue
                self.pos += 1
                return "".join(out)
            if char == "\n":
                self.line += 1
            out.append(char)
            self.pos += 1

    def double(self) -> list[Any]:
        self.pos += 1
        parts: list[Any] = []
        buffer: list[str] = []
        escapes = {
            "n": "\n",
            "t": "\t",
            "r": "\r",
            "0": "\0",
            "`": "`",
            '"': '"',
            "$": "$",
            "'": "'",
        }
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated double-quoted string")
            char = self.peek()
            if char == '"':
                if self.peek(1) == '"':
                    buffer.append('"')
                    self.pos += 2
                    continue
                self.pos += 1
                break
            if char == "`" and self.pos + 1 < len(self.text):
                nxt = self.peek(1)
                buffer.append(escapes.get(nxt, nxt))
                self.pos += 2
                continue
            if char == "$" and re.match(r"\$(\{|\(|[A-Za-z_])", self.text[self.pos :]):
                if buffer:
                    parts.append("".join(buffer))
                    buffer = []
                parts.append(self.string_variable())
                continue
            if char == "\n":
                self.line += 1
            buffer.append(char)
            self.pos += 1
        if buffer or not parts:
            parts.append("".join(buffer))
        return parts

    def here_string(self) -> _Token:
        line = self.line
        quote = self.peek(1)
        end = self.text.find("\n" + quote + "@", self.pos)
        if end < 0:
            raise self.error("unterminated here-string")
        body = self.text[self.text.index("\n", self.pos) + 1 : end]
        self.line += self.text.count("\n", self.pos, end + 3)
        self.pos = end + 3
        if quote == "'":
            return ("lit", body, line)
        if "$" in body:
            return ("sub", '@"..."@ with $ expansions', line)
        return ("lit", body, line)

    def string_variable(self) -> tuple[Any, ...]:
        """A ``$name``, ``${name}`` or ``$(...)`` inside a double-quoted string."""
        if self.peek(1) == "(":
            self.pos += 1
            source = self.balanced("(", ")")
            inner = source[1:-1].strip()
            match = re.fullmatch(r"\$([A-Za-z_][\w:]*)((?:\.[A-Za-z_]\w*)*)", inner)
            if match:
                props = [p for p in match.group(2).split(".") if p]
                return ("var", match.group(1), props, "$" + source)
            return ("sub", "$" + source)
        if self.peek(1) == "{":
            end = self.text.find("}", self.pos)
            name = self.text[self.pos + 2 : end]
            source = self.text[self.pos : end + 1]
            self.pos = end + 1
            return ("var", name, [], source)
        match = re.match(r"\$([A-Za-z_][\w]*(?::[A-Za-z_]\w*)?)", self.text[self.pos :])
        assert match is not None
        self.pos += len(match.group(0))
        return ("var", match.group(1), [], match.group(0))

    def variable(self) -> _Token:
        line = self.line
        if self.peek(1) == "(":
            self.pos += 1
            source = self.balanced("(", ")")
            return ("sub", "$" + source, line)
        if self.peek(1) == "{":
            end = self.text.find("}", self.pos)
            name = self.text[self.pos + 2 : end]
            source = self.text[self.pos : end + 1]
            self.pos = end + 1
            return ("var", (name, [], source), line)
        match = re.match(
            r"\$([A-Za-z_][\w]*(?::[A-Za-z_]\w*)?)((?:\.[A-Za-z_]\w*)*)", self.text[self.pos :]
        )
        if match is None:
            self.pos += 1
            return ("word", "$", line)
        self.pos += len(match.group(0))
        props = [p for p in match.group(2).split(".") if p]
        return ("var", (match.group(1), props, match.group(0)), line)

    def hashtable(self) -> list[tuple[list[_Token], list[_Token]]]:
        entries: list[tuple[list[_Token], list[_Token]]] = []
        while True:
            while self.peek() in (" ", "\t", "\r", "\n", ";"):
                if self.peek() == "\n":
                    self.line += 1
                self.pos += 1
            if self.peek() == "#":
                while self.pos < len(self.text) and self.peek() != "\n":
                    self.pos += 1
                continue
            if self.peek() == "}":
                self.pos += 1
                return entries
            if self.pos >= len(self.text):
                raise self.error("unclosed '@{'")
            key = [self.token()]
            while self.peek() in (" ", "\t"):
                self.pos += 1
            if self.peek() != "=":
                raise self.error("expected '=' in a hashtable")
            self.pos += 1
            value: list[_Token] = []
            while True:
                while self.peek() in (" ", "\t"):
                    self.pos += 1
                if self.peek() == "`" and self.peek(1) == "\n":
                    self.pos += 2
                    self.line += 1
                    continue
                if self.peek() in ("\n", ";", "}", "\r", ""):
                    break
                value.append(self.token())
            entries.append((key, value))

    def groups(self, inner: _Lexer) -> list[list[_Token]]:
        """The elements of ``@( ... )``: statements, each split on commas."""
        out: list[list[_Token]] = []
        for _, tokens in inner.statements():
            group: list[_Token] = []
            for token in tokens:
                if token[0] == "comma":
                    out.append(group)
                    group = []
                else:
                    group.append(token)
            if group:
                out.append(group)
        self.line = max(self.line, inner.line)
        return out


@dataclass
class _Vars:
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
            return _Unknown(source)
        known = {key.lower(): value for key, value in self.values.items()}
        value: Any = fixed.get(lowered, known.get(lowered, _Unknown(source)))
        for prop in props:
            if isinstance(value, dict):
                match = [k for k in value if str(k).lower() == prop.lower()]
                value = value[match[0]] if match else _Unknown(source)
            else:
                value = _Unknown(source)
        return value


def _value(tokens: list[_Token], env: _Vars) -> Any:
    """The value of an expression: one operand, or a comma-separated array."""
    groups: list[list[_Token]] = [[]]
    for token in tokens:
        if token[0] == "comma":
            groups.append([])
        else:
            groups[-1].append(token)
    values = [_operand(group, env) for group in groups if group]
    if len(groups) > 1:
        out: list[Any] = []
        for value in values:
            out.append(value)
        return checked(out, "an array")
    return values[0] if values else None


def _source(tokens: list[_Token]) -> str:
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


def _operand(tokens: list[_Token], env: _Vars) -> Any:
    tokens = [t for t in tokens if t[0] != "cast"]
    if len(tokens) == 1 and tokens[0][0] == "value":
        return tokens[0][1]
    if (
        len(tokens) >= 3
        and len(tokens) % 2 == 1
        and all(t[0] == "word" and t[1] == "+" for t in tokens[1::2])
    ):
        # string concatenation: `'a' + $b + "c"`, when the first operand is a string
        values = [_operand([t], env) for t in tokens[0::2]]
        unknown = [u for v in values for u in _unknowns(v)]
        if unknown:
            return _Unknown(", ".join(unknown))
        if isinstance(values[0], str):
            return checked(bounded_join((_text(v) for v in values), "a string"), "a string")
        return _Unknown(_source(tokens))
    if len(tokens) != 1:
        return _Unknown(_source(tokens))
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
                if isinstance(value, _Unknown):
                    return value
                out.append(_text(value))
            else:
                return _Unknown(part[1])
        return bounded_join(out, "a string")
    if kind == "var":
        name, props, source = payload
        return env.lookup(name, props, source)
    if kind == "hash":
        table: dict[str, Any] = {}
        for key_tokens, value_tokens in payload:
            key = _operand(key_tokens, env)
            if isinstance(key, _Unknown):
                return key
            table[_text(key)] = _value(value_tokens, env)
        return checked(table, "a hashtable")
    if kind == "array":
        items: list[Any] = []
        for group in payload:
            value = _value(group, env)
            items.extend(value if isinstance(value, list) else [value])
        return checked(items, "an array")
    if kind == "splat":
        return _Unknown(f"@{payload}")
    return _Unknown(str(payload))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, list):
        return bounded_join((_text(v) for v in value), "an array as text", " ")
    return str(value)


def _unknowns(value: Any) -> list[str]:
    if isinstance(value, _Unknown):
        return [value.text]
    if isinstance(value, list):
        return [u for v in value for u in _unknowns(v)]
    if isinstance(value, dict):
        return [u for v in value.values() for u in _unknowns(v)]
    return []


# ---------------------------------------------------------------------------- cmdlets

_COMMON = {
    "Verbose": True,
    "Debug": True,
    "WhatIf": True,
    "Confirm": True,
    "ErrorAction": False,
    "WarningAction": False,
    "InformationAction": False,
    "ErrorVariable": False,
    "WarningVariable": False,
    "InformationVariable": False,
    "OutVariable": False,
    "OutBuffer": False,
    "PipelineVariable": False,
    "ProgressAction": False,
    "DefaultProfile": False,
    "AsJob": True,
}
# parameter name -> is a switch
_CMDLETS: dict[str, tuple[dict[str, bool], tuple[str, ...]]] = {
    "add-azwebappaccessrestrictionrule": (
        {
            "ResourceGroupName": False,
            "WebAppName": False,
            "Name": False,
            "Description": False,
            "Priority": False,
            "Action": False,
            "SlotName": False,
            "TargetScmSite": True,
            "IpAddress": False,
            "SubnetName": False,
            "VirtualNetworkName": False,
            "SubnetId": False,
            "IgnoreMissingServiceEndpoint": True,
            "PassThru": True,
            "ServiceTag": False,
            "HttpHeader": False,
            **_COMMON,
        },
        ("ResourceGroupName", "WebAppName"),
    ),
    "remove-azwebappaccessrestrictionrule": (
        {
            "ResourceGroupName": False,
            "WebAppName": False,
            "Name": False,
            "Action": False,
            "SlotName": False,
            "TargetScmSite": True,
            "IpAddress": False,
            "SubnetName": False,
            "VirtualNetworkName": False,
            "SubnetId": False,
            "ServiceTag": False,
            "PassThru": True,
            **_COMMON,
        },
        ("ResourceGroupName", "WebAppName"),
    ),
    "update-azwebappaccessrestrictionconfig": (
        {
            "ResourceGroupName": False,
            "Name": False,
            "ScmSiteUseMainSiteRestrictionConfig": True,
            "SlotName": False,
            "PassThru": True,
            "InputObject": False,
            **_COMMON,
        },
        ("ResourceGroupName", "Name"),
    ),
}
_NAMES = {
    "add-azwebappaccessrestrictionrule": "Add-AzWebAppAccessRestrictionRule",
    "remove-azwebappaccessrestrictionrule": "Remove-AzWebAppAccessRestrictionRule",
    "update-azwebappaccessrestrictionconfig": "Update-AzWebAppAccessRestrictionConfig",
}


def _bind(tokens: list[_Token], cmdlet: str, env: _Vars, origin: Origin) -> dict[str, Any]:
    params, positional = _CMDLETS[cmdlet]
    what = _NAMES[cmdlet]
    bound: dict[str, Any] = {}
    positions = list(positional)
    i = 0
    expanded: list[_Token] = []
    for token in tokens:
        if token[0] != "splat":
            expanded.append(token)
            continue
        # `@params`: each key of the hashtable is a parameter, each value its argument
        table = env.lookup(str(token[1]), [], "@" + str(token[1]))
        if not isinstance(table, dict):
            raise NotEvaluated(
                f"{what}: @{token[1]} is not a hashtable built in the script: acl splats only "
                "`$name = @{...}` (or give the parameters directly)",
                origin,
            )
        for key, value in table.items():
            if value is True or value is False:
                expanded.append(("param:", str(key), token[2]))
                expanded.append(("var", ("true" if value else "false", [], str(value)), token[2]))
            else:
                expanded.append(("param", str(key), token[2]))
                expanded.append(("value", value, token[2]))
    tokens = expanded
    while i < len(tokens):
        kind, payload, _ = tokens[i]
        if kind in ("param", "param:"):
            matches = [p for p in params if p.lower() == payload.lower()]
            if not matches:
                matches = [p for p in params if p.lower().startswith(payload.lower())]
            if len(matches) != 1:
                problem = "is ambiguous" if matches else "is not a parameter of the cmdlet"
                raise ConfigError(f"{what}: -{payload} {problem}", origin)
            name = matches[0]
            i += 1
            if params[name]:
                if kind == "param:":
                    value = _operand(tokens[i : i + 1], env) if i < len(tokens) else True
                    i += 1
                    bound[name] = value
                else:
                    bound[name] = True
                continue
            group: list[_Token] = []
            while i < len(tokens) and tokens[i][0] not in ("param", "param:"):
                group.append(tokens[i])
                i += 1
                if i < len(tokens) and tokens[i][0] != "comma" and group[-1][0] != "comma":
                    break
            if not group:
                raise ConfigError(f"{what}: missing an argument for parameter -{name}", origin)
            bound[name] = _value(group, env)
            continue
        if not positions:
            raise ConfigError(
                f"{what}: a positional parameter cannot be found that accepts argument "
                f"{quote(_text(_operand([tokens[i]], env)))}",
                origin,
            )
        group = [tokens[i]]
        i += 1
        while i + 1 < len(tokens) and tokens[i][0] == "comma":
            group.extend(tokens[i : i + 2])
            i += 2
        bound[positions.pop(0)] = _value(group, env)
    return bound


def _string(bound: Mapping[str, Any], name: str, what: str, origin: Origin) -> str | None:
    value = bound.get(name)
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        raise ConfigError(f"{what}: -{name} takes a string, not {type(value).__name__}", origin)
    text = _text(value)
    return text or None


def _ip_list(text: str, what: str, origin: Origin) -> str:
    """``ValidateIpAddress``: CIDRs with an explicit prefix, no blanks, at most eight."""
    if any(c.isspace() for c in text):
        raise ConfigError(f"{what}: Ip address(es) cannot contain blank spaces.", origin)
    elements = text.split(",")
    if len(elements) > 8:
        raise ConfigError(f"{what}: Only 8 ip addresses are allowed per rule", origin)
    for element in elements:
        address, sep, length = element.partition("/")
        ok = bool(sep) and length.isdigit()
        if ok:
            try:
                parsed = ipaddress.ip_address(address)
                ok = int(length) <= (32 if parsed.version == 4 else 128)
            except ValueError:
                ok = False
        if not ok:
            raise ConfigError(
                f"{what}: One or more ip addresses are invalid ({quote(element)}). Ip addresses must be "
                "in valid CIDR format. E.g. 192.168.0.0/24 (IPv4) or 2002::1234:abcd:ffff:c0a8:101/64 "
                "(IPv6). For single ip addresses, use /32 (IPv4) or /128 (IPv6)",
                origin,
            )
    return text


def _http_headers(value: Any, what: str, origin: Origin) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{what}: -HttpHeader takes a hashtable, e.g. @{{'x-azure-fdid' = '...'}}", origin
        )
    out: dict[str, list[str]] = {}
    for key, raw in value.items():
        if key.lower() not in _HEADER_NAMES:
            raise ConfigError(
                f"{what}: '{key}' is not a supported http header name. only "
                f"{', '.join(_HEADER_NAMES)} are supported",
                origin,
            )
        values = [_text(v) for v in raw] if isinstance(raw, list) else [_text(raw)]
        if len(values) > 8:
            raise ConfigError(f"{what}: Header '{key}' contains more than 8 values", origin)
        if key.lower() == "x-forwarded-for":
            for item in values:
                _ip_list(item, what, origin)
        out[key] = values
    return out


@dataclass
class _Cmdlets:
    sites: ScriptSites
    options: LoadOptions
    file: str | None

    def run(self, cmdlet: str, bound: dict[str, Any], origin: Origin) -> None:
        what = _NAMES[cmdlet]
        if bound.get("WhatIf") not in (None, False):
            self.options.warn(f"{origin}: {what} -WhatIf changes nothing; the command is ignored")
            return
        if "InputObject" in bound:
            raise NotEvaluated(
                f"{what}: -InputObject is not supported: give -ResourceGroupName and -Name", origin
            )
        app_param = "Name" if cmdlet.startswith("update") else "WebAppName"
        rg = _string(bound, "ResourceGroupName", what, origin)
        app = _string(bound, app_param, what, origin)
        if rg is None or app is None:
            missing = "ResourceGroupName" if rg is None else app_param
            raise ConfigError(f"{what}: the mandatory parameter -{missing} is missing", origin)
        slot = _string(bound, "SlotName", what, origin)
        state = self.sites.state(app + (f"/{slot}" if slot else ""))
        if cmdlet.startswith("update"):
            if "ScmSiteUseMainSiteRestrictionConfig" not in bound:
                raise ConfigError(
                    f"{what}: the mandatory parameter -ScmSiteUseMainSiteRestrictionConfig is missing",
                    origin,
                )
            state.settings["scmIpSecurityRestrictionsUseMain"] = bool(
                bound["ScmSiteUseMainSiteRestrictionConfig"]
            )
            state.setting_origins["scmIpSecurityRestrictionsUseMain"] = origin
            return
        scm = bool(bound.get("TargetScmSite"))
        rules = state.rules(scm)
        action = _string(bound, "Action", what, origin) or "Allow"
        if action.lower() not in ("allow", "deny"):
            raise ConfigError(
                f"{what}: Cannot validate argument on parameter 'Action'. The argument {quote(action)} "
                'does not belong to the set "Allow,Deny"',
                origin,
            )
        if cmdlet.startswith("add"):
            self._add(bound, rules, rg, action, what, origin)
        else:
            self._remove(bound, rules, rg, action, what, origin)

    def _subnet(self, bound: Mapping[str, Any], rg: str, what: str, origin: Origin) -> str | None:
        subnet_name = _string(bound, "SubnetName", what, origin)
        vnet = _string(bound, "VirtualNetworkName", what, origin)
        subnet = _string(bound, "SubnetId", what, origin)
        if subnet is not None:
            if _is_resource_id(subnet):
                return subnet
            subnet_name = subnet
        if subnet_name is None:
            return None
        if vnet is None:
            raise ConfigError(f"{what}: -SubnetName needs -VirtualNetworkName", origin)
        return subnet_id(
            self.options.subnet_id_template,
            vnet=vnet,
            subnet=subnet_name,
            rg=rg,
            sub=None,
            origin=origin,
            what=what,
        )

    def _add(
        self,
        bound: Mapping[str, Any],
        rules: list[Any],
        rg: str,
        action: str,
        what: str,
        origin: Origin,
    ) -> None:
        sets = [
            name
            for name in ("IpAddress", "ServiceTag", "SubnetId", "SubnetName")
            if bound.get(name) is not None
        ]
        if len(sets) > 1 and sets != ["SubnetId", "SubnetName"]:
            raise ConfigError(
                f"{what}: Parameter set cannot be resolved using the specified named parameters "
                f"({', '.join('-' + s for s in sets)})",
                origin,
            )
        if not sets:
            raise ConfigError(
                f"{what}: give -IpAddress, -ServiceTag, -SubnetId, or -SubnetName with "
                "-VirtualNetworkName",
                origin,
            )
        raw_priority = bound.get("Priority")
        if raw_priority is None:
            raise ConfigError(f"{what}: the mandatory parameter -Priority is missing", origin)
        try:
            priority = int(_text(raw_priority))
        except ValueError:
            raise ConfigError(
                f"{what}: Cannot convert value {quote(_text(raw_priority))} to type System.UInt32",
                origin,
            ) from None
        if priority < 0:
            raise ConfigError(
                f"{what}: Cannot convert value {priority} to type System.UInt32", origin
            )
        if priority > 2**31 - 1:
            raise ConfigError(
                f"{what}: -Priority {priority}: Arithmetic operation resulted in an overflow.",
                origin,
            )
        rule: dict[str, Any] = {"priority": priority, "action": action}
        name = _string(bound, "Name", what, origin)
        if name is not None:
            rule["name"] = name
        description = _string(bound, "Description", what, origin)
        if description is not None:
            rule["description"] = description
        ip = _string(bound, "IpAddress", what, origin)
        tag = _string(bound, "ServiceTag", what, origin)
        if ip is not None:
            _ip_list(ip, what, origin)
            if any(r.data.get("ipAddress") == ip for r in rules):
                raise ConfigError(f"{what}: Rule for '{ip}' already exist", origin)
            rule["ipAddress"] = ip
        elif tag is not None:
            if any(c.isspace() for c in tag) or len(tag.split(",")) > 8:
                raise ConfigError(
                    f"{what}: -ServiceTag {quote(tag)}: service tags are comma-separated, without "
                    "blanks, at most eight",
                    origin,
                )
            if any(r.data.get("ipAddress") == tag for r in rules):
                raise ConfigError(f"{what}: Rule for '{tag}' already exist", origin)
            rule["ipAddress"] = tag
            rule["tag"] = "ServiceTag"
        else:
            subnet = self._subnet(bound, rg, what, origin)
            assert subnet is not None
            if any(r.data.get("vnetSubnetResourceId") == subnet for r in rules):
                raise ConfigError(f"{what}: Rule for '{subnet}' already exist", origin)
            rule["vnetSubnetResourceId"] = subnet
        if bound.get("HttpHeader") is not None:
            headers = _http_headers(bound["HttpHeader"], what, origin)
            if headers:
                rule["headers"] = headers
        rules.append(_Rule(rule, origin))

    def _remove(
        self,
        bound: Mapping[str, Any],
        rules: list[Any],
        rg: str,
        action: str,
        what: str,
        origin: Origin,
    ) -> None:
        name = _string(bound, "Name", what, origin)
        ip = _string(bound, "IpAddress", what, origin)
        tag = _string(bound, "ServiceTag", what, origin)
        subnet = self._subnet(bound, rg, what, origin)
        if ip is not None:
            _ip_list(ip, what, origin)

        def same(value: Any, wanted: str) -> bool:
            return bool(value) and str(value).lower() == wanted.lower()

        for rule in rules:
            data = rule.data
            if not same(data.get("action") or "Allow", action):
                continue
            if name is not None:
                ok = same(data.get("name"), name)
            elif ip is not None:
                ok = same(data.get("ipAddress"), ip)
            elif tag is not None:
                ok = same(data.get("ipAddress"), tag)
            elif subnet is not None:
                ok = same(data.get("vnetSubnetResourceId"), subnet)
            else:
                ok = False
            if ok:
                rules.remove(rule)
                return
        self.options.warn(f"{origin}: {what} found no matching rule and changed nothing")


# ---------------------------------------------------------------------------- the loader


@dataclass
class _Runner:
    options: LoadOptions
    file: str | None
    env: _Vars
    cmdlets: _Cmdlets
    az: _Az
    line: int | None = None
    """The statement being read, for the messages of the limits."""

    def run(self, statements: list[tuple[int, list[_Token]]]) -> None:
        index = 0
        while index < len(statements):
            line, tokens = statements[index]
            index += 1
            self.line = line
            step("a PowerShell statement")
            head = tokens[0]
            if head[0] == "rbrace":
                continue
            if head[0] == "word" and str(head[1]).lower() in _CONTROL | {"foreach"}:
                keyword = str(head[1]).lower()
                # the block is the next { ... } (for if/else chains, each one)
                body, index = self._block(statements, index)
                if keyword == "foreach" and len(tokens) > 1 and tokens[1][0] == "paren":
                    self._foreach(line, tokens[1][1], body)
                    continue
                found = _rule_line(body)
                if found is not None:
                    raise ConfigError(
                        f"an access restriction command is inside `{keyword}` (line {line}): acl "
                        "does not evaluate PowerShell conditions, loops or functions; take it out, "
                        "or write the commands it runs",
                        Origin(file=self.file, line=found),
                    )
                continue
            if head[0] == "lbrace":
                body, index = self._block(statements, index - 1)
                continue
            self.statement(line, tokens)

    def _block(
        self, statements: list[tuple[int, list[_Token]]], index: int
    ) -> tuple[list[tuple[int, list[_Token]]], int]:
        """The statements of the ``{ ... }`` starting at or after ``index``."""
        if index < len(statements) and statements[index][1][0][0] == "lbrace":
            depth = 0
            start = index
            while index < len(statements):
                kind = statements[index][1][0][0]
                if kind == "lbrace":
                    depth += 1
                elif kind == "rbrace":
                    depth -= 1
                    if depth == 0:
                        return statements[start + 1 : index], index + 1
                index += 1
            return statements[start + 1 :], index
        return [], index

    def _foreach(self, line: int, source: str, body: list[tuple[int, list[_Token]]]) -> None:
        match = re.fullmatch(r"\(\s*\$([A-Za-z_]\w*)\s+in\s+(.+)\)", source, re.S | re.I)
        if match is None:
            if _rule_line(body) is not None:
                raise ConfigError(
                    f"foreach {source}: acl expands only `foreach ($x in <array>)`",
                    Origin(file=self.file, line=line),
                )
            return
        inner = _Lexer(match.group(2), self.file).statements()
        tokens = [t for _, ts in inner for t in ts]
        values = _value(tokens, self.env)
        unknown = _unknowns(values)
        if unknown:
            if _rule_line(body) is None:
                return
            raise ConfigError(
                f"foreach (${match.group(1)} in ...): {', '.join(unknown)} cannot be known without "
                "running the script: give it with --var NAME=VALUE",
                Origin(file=self.file, line=line),
            )
        for value in values if isinstance(values, list) else [values]:
            self.env.values[match.group(1)] = value
            self.run(body)

    def statement(self, line: int, tokens: list[_Token]) -> None:
        origin = Origin(file=self.file, line=line)
        touching = _touches(tokens)
        if any(t[0] == "chain" for t in tokens):
            if touching:
                raise NotEvaluated(
                    "a pipeline chain (`&&`, `||`) around an access restriction command: acl "
                    "does not evaluate it; write the commands on their own lines",
                    origin,
                )
            return
        for token in tokens:
            if token[0] in ("paren", "sub") and _RULE_TEXT.search(str(token[1])):
                raise NotEvaluated(
                    f"an access restriction command inside {quote(str(token[1]))}: acl does not "
                    "evaluate commands inside (...) or $(...); write the command as a statement "
                    "of its own",
                    origin,
                )
        segments: list[list[_Token]] = [[]]
        for token in tokens:
            if token[0] == "pipe":
                segments.append([])
            else:
                segments[-1].append(token)
        if not segments[0]:
            return
        if len(segments) > 1:
            later = segments[1]
            head = str(later[0][1]).lower() if later and later[0][0] == "word" else ""
            if head == "set-azresource":
                self._set_resource(_operand(segments[0], self.env), segments[0], origin)
                return
            if any(_touches(segment) for segment in segments[1:]):
                raise NotEvaluated(
                    f"pipeline input `{_source(segments[0])} | ...` into an access restriction "
                    "command: acl does not evaluate what a pipeline binds; give "
                    "-ResourceGroupName and -WebAppName (or -Name) and drop the pipe",
                    origin,
                )
        tokens = segments[0]
        if tokens[0][0] in ("var", "cast"):
            assignment = [t for t in tokens if t[0] != "cast"]
            if len(assignment) >= 2 and assignment[0][0] == "var" and assignment[1][0] == "eq":
                name, props, source = assignment[0][1]
                rhs = assignment[2:]
                head = str(rhs[0][1]).lower() if rhs and rhs[0][0] == "word" else ""
                value: Any
                if head == "get-azresource":
                    value = self._get_resource(rhs, origin)
                elif head in _CMDLETS or head in ("az", "set-azresource"):
                    # `$r = Add-... -PassThru`, `$null = ...`: the command runs
                    self.command(line, rhs)
                    value = _Unknown(source)
                else:
                    value = _value(rhs, self.env)
                if props:
                    self._assign_property(name, props, source, value, origin)
                    return
                if name.lower() == "null":
                    return
                if not any(k.lower() == name.lower() for k in self.env.fixed):
                    self.env.values[name] = value
                return
            if len(assignment) >= 2 and assignment[0][0] == "var" and assignment[1][0] == "word":
                # `$i += 10` and friends: the value is no longer known
                self.env.values[assignment[0][1][0]] = _Unknown(assignment[0][1][2])
            return
        self.command(line, tokens)

    def _get_resource(self, tokens: list[_Token], origin: Origin) -> Any:
        """``Get-AzResource``: a web app (or its config/web) whose properties may be set and
        sent back with ``Set-AzResource``; any other resource changes nothing acl reads."""
        args: dict[str, Any] = {}
        i = 1
        while i < len(tokens):
            if tokens[i][0] in ("param", "param:") and i + 1 < len(tokens):
                args[str(tokens[i][1]).lower()] = _operand([tokens[i + 1]], self.env)
                i += 2
                continue
            i += 1
        unknown = _unknowns(list(args.values()))
        if unknown:
            return _Unknown(", ".join(unknown))
        kind = str(args.get("resourcetype", "")).lower().strip("/")
        name = str(args.get("resourcename", args.get("name", "")))
        rid = str(args.get("resourceid", ""))
        if rid:
            match = _SITE_ID.match(rid)
            if match is None:
                return _Resource(None, "", origin)
            app = match.group("name") + (f"/{match.group('slot')}" if match.group("slot") else "")
            return _Resource("config" if match.group("config") else "site", app, origin)
        if kind in ("microsoft.web/sites", "microsoft.web/sites/slots"):
            return _Resource("site", name, origin)
        if kind in ("microsoft.web/sites/config", "microsoft.web/sites/slots/config"):
            parts = name.split("/")
            if parts[-1].lower() != "web":
                return _Resource(None, "", origin)
            return _Resource("config", "/".join(parts[:-1]), origin)
        if kind.startswith("microsoft.web/") or not kind:
            return _Unknown(_source(tokens))
        return _Resource(None, "", origin)

    def _assign_property(
        self, name: str, props: list[str], source: str, value: Any, origin: Origin
    ) -> None:
        """``$Resource.Properties.siteConfig.ipSecurityRestrictionsDefaultAction = 'Allow'``."""
        target = self.env.lookup(name, [], "$" + name)
        if isinstance(target, _Resource):
            if target.kind is None:
                return
            key = _resource_key(props, target.kind)
            if key is None:
                return
            if key == "" or isinstance(value, _Unknown):
                raise NotEvaluated(
                    f"{source} = ...: acl evaluates only setting "
                    "ipSecurityRestrictionsDefaultAction, scmIpSecurityRestrictionsDefaultAction, "
                    "scmIpSecurityRestrictionsUseMain or publicNetworkAccess to a known value; use "
                    "Add-/Remove-AzWebAppAccessRestrictionRule for rules",
                    origin,
                )
            target.changes.append((key, _setting(key, value, source, origin), origin))
            return
        if isinstance(target, dict) and not isinstance(value, _Unknown):
            node = target
            for prop in props[:-1]:
                found = [k for k in node if str(k).lower() == prop.lower()]
                child = node[found[0]] if found else None
                if not isinstance(child, dict):
                    self.env.values[name] = _Unknown("$" + name)
                    return
                node = child
            found = [k for k in node if str(k).lower() == props[-1].lower()]
            node[found[0] if found else props[-1]] = value
            return
        if _resource_key(props, "?") is not None:
            raise NotEvaluated(
                f"{source} = ...: acl does not know the object ${name} (only one from "
                "Get-AzResource of a web app in this script): give it by Get-AzResource",
                origin,
            )
        self.env.values[name] = _Unknown("$" + name)

    def _set_resource(self, value: Any, tokens: list[_Token], origin: Origin) -> None:
        """``$Resource | Set-AzResource``: the properties set on it reach the site."""
        if isinstance(value, _Resource):
            if value.kind is None:
                return
            if value.changes:
                if "/" in value.name:
                    app, _, slot = value.name.partition("/")
                    name = f"{app}/{slot}"
                else:
                    name = value.name
                state = self.cmdlets.sites.state(name)
                for key, setting, where in value.changes:
                    state.settings[key] = setting
                    state.setting_origins[key] = where
                value.changes.clear()
            return
        raise NotEvaluated(
            f"`{_source(tokens)} | Set-AzResource`: acl does not know the object sent: get it "
            "with Get-AzResource -ResourceType Microsoft.Web/sites -ResourceGroupName ... "
            "-ResourceName ... in the script",
            origin,
        )

    def command(self, line: int, tokens: list[_Token]) -> None:
        origin = Origin(file=self.file, line=line)
        if tokens[0][0] != "word":
            return
        command = str(tokens[0][1]).lower()
        if command == "set-azresource":
            rest = tokens[1:]
            for i, token in enumerate(rest):
                if token[0] in ("param", "param:") and str(token[1]).lower() == "inputobject":
                    self._set_resource(_operand(rest[i + 1 : i + 2], self.env), rest, origin)
                    return
            text = _source(rest)
            if re.search(r"microsoft\.web/sites|properties", text, re.I):
                raise NotEvaluated(
                    "Set-AzResource without -InputObject (or a pipe) from Get-AzResource: acl "
                    "does not evaluate it; use the access restriction cmdlets",
                    origin,
                )
            return
        if command in _CMDLETS:
            bound = _bind(tokens[1:], command, self.env, origin)
            missing = _unknowns(bound)
            if missing:
                self._unresolved(missing, origin)
                return
            try:
                self.cmdlets.run(command, bound, origin)
            except (NotEvaluated, LimitError):
                raise
            except ConfigError as exc:
                stop = (
                    _text(bound.get("ErrorAction", "")).lower() == "stop"
                    or _text(
                        self.env.lookup("ErrorActionPreference", [], "$ErrorActionPreference")
                    ).lower()
                    == "stop"
                )
                if stop:
                    raise ConfigError(
                        f"{exc.message.rstrip('. ')}: the cmdlet fails and, with ErrorAction "
                        "Stop, the script stops here",
                        origin,
                    ) from None
                self.options.warn(
                    f"{origin}: {exc.message.rstrip('. ')}: the cmdlet fails and the script "
                    "goes on with the next statement"
                )
        elif command == "az":
            flat: list[str] = []
            unknown: list[str] = []
            joined = False
            for token in tokens[1:]:
                if token[0] == "comma":
                    joined = True
                    continue
                if token[0] in ("param", "param:"):
                    text = "-" + str(token[1])
                else:
                    value = _operand([token], self.env)
                    unknown.extend(_unknowns(value))
                    text = (
                        ",".join(_text(v) for v in value)
                        if isinstance(value, list)
                        else _text(value)
                    )
                if joined and flat:
                    flat[-1] += "," + text
                else:
                    flat.append(text)
                joined = False
            if len(flat) < 3 or flat[0] not in ("webapp", "functionapp"):
                return
            ours = "access-restriction" in flat[:4] and (len(flat) < 4 or flat[3] != "show")
            if unknown:
                if ours:
                    self._unresolved(unknown, origin)
                return
            try:
                self.az.run(["az", *flat], line)
            except (NotEvaluated, LimitError):
                raise
            except ConfigError as exc:
                # a native command's failure sets $LASTEXITCODE; the script goes on
                self.options.warn(
                    f"{origin}: {exc.message.rstrip('. ')}: the command fails and the script "
                    "goes on with the next statement"
                )

    def _unresolved(self, names: list[str], origin: Origin) -> None:
        names = list(dict.fromkeys(names))
        message = (
            f"{', '.join(names)} cannot be known without running the script: give "
            "--var NAME=VALUE (or assign it in the script)"
        )
        if self.options.unresolved == "skip-rule":
            self.options.warn(f"{origin}: command skipped (--unresolved=skip-rule): {message}")
            return
        raise ConfigError(message, origin)


def _rule_line(statements: list[tuple[int, list[_Token]]]) -> int | None:
    for line, tokens in statements:
        for token in tokens:
            if token[0] == "word" and (
                str(token[1]).lower() in _CMDLETS or str(token[1]).lower() == "access-restriction"
            ):
                return line
    return None


@bounded
def load_powershell(document: Any, options: LoadOptions) -> Site:
    """The site a PowerShell script leaves behind (``document`` is the script's text)."""
    if not isinstance(document, str):
        raise ConfigError("expected the text of a PowerShell script", Origin(file=options.source))
    try:
        statements = _Lexer(document, options.source).statements()
    except ConfigError as exc:
        raise ConfigError(
            exc.message, replace(exc.origin or Origin(), file=options.source)
        ) from None
    sites = ScriptSites(options)
    runner = _Runner(
        options,
        options.source,
        _Vars(options.variables),
        _Cmdlets(sites, options, options.source),
        _Az(sites, options, options.source),
    )
    try:
        runner.run(statements)
    except LimitError as exc:
        if exc.line is None:
            exc.file, exc.line = options.source, runner.line
        raise
    return sites.site("PowerShell script")

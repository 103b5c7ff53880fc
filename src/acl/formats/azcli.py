"""az CLI scripts: ``az webapp config access-restriction add|remove|set`` (and the same under
``az functionapp``), applied in order to an empty site, or to ``options.base_site``, the way
the CLI applies them.

The CLI's own rules are reproduced: ``--ip-address`` values go through Python's
``ipaddress.ip_network(value, False)`` (a bare address becomes ``/32`` or ``/128``; host bits
are cleared: ``10.1.2.3/24`` is stored as ``10.1.2.0/24``, as azure-cli 2.91 does), spaces and
more than eight ranges are refused, a rule with the same addresses (in any order) or service
tags and the same header filter cannot be added, ``--http-header name=value`` may repeat, ``--vnet-name`` with
a subnet name needs ``options.subnet_id_template``, ``remove`` finds the first rule by name or
source *and* action, and ``set`` changes ``--use-same-restrictions-for-scm-site``,
``--default-action`` and ``--scm-default-action``. Generic updates (``az resource update``
of a web app or its config/web, ``az webapp|functionapp update``) that set a default action,
``scmIpSecurityRestrictionsUseMain`` or ``publicNetworkAccess`` are applied; any other
``--set``/``--add``/``--remove`` path into the access restrictions, or
``--generic-configurations`` naming them, is refused (:class:`NotEvaluated`); every other
command changes nothing.

The script is read, never run, but its control flow is bash's: ``&&``/``||`` by exit status,
``set -e``/``pipefail``, ``exit``; a command that fails as the CLI fails is a warning, or,
under ``set -e``, an error saying the script stops there; the commands inside ``$(...)`` and
backticks run (their output is unknown). Shell variables come from simple assignments in the
script (``RG=shop``) and ``options.variables`` (``--var``, which win); anything else (the
output of a command substitution, an unset variable) is an error naming it. Backslash
continuations, comments and ``for x in a b c; do ...; done`` loops over literal words are
understood; an access restriction command inside ``if``, ``while``, ``case`` or a function is
an error, because acl does not evaluate shell conditions.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError, Origin, quote
from ..model import Site
from ._limits import MAX_DEPTH, LimitError, bounded, bounded_join, step
from .options import LoadOptions
from .restrictions import PlacedContext, site_from_config

__all__ = ["NotEvaluated", "ScriptSites", "Unresolved", "load_azcli", "subnet_id"]

_ALLOWED_HEADERS = ("x-forwarded-host", "x-forwarded-for", "x-azure-fdid", "x-fd-healthprobe")


class NotEvaluated(ConfigError):
    """A construct acl does not evaluate (and so refuses), as opposed to a command that
    fails the way the real tool fails."""


class Unresolved(Exception):
    """A script value that cannot be known without running the script."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(", ".join(names))
        self.names = list(names)


# ---------------------------------------------------------------------------- site state


@dataclass
class _Rule:
    data: dict[str, Any]
    origin: Origin | None


@dataclass
class _State:
    main: list[_Rule] = field(default_factory=list)
    scm: list[_Rule] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    setting_origins: dict[str, Origin] = field(default_factory=dict)

    def rules(self, scm: bool) -> list[_Rule]:
        return self.scm if scm else self.main


def subnet_id(
    template: str | None,
    *,
    vnet: str,
    subnet: str,
    rg: str | None,
    sub: str | None,
    origin: Origin,
    what: str,
) -> str:
    """A subnet resource id from a name, by ``--subnet-id-template``."""
    if template is None:
        raise NotEvaluated(
            f"{what}: subnet {quote(subnet)} of virtual network {quote(vnet)} is given by name, and acl "
            "cannot look up its resource id: give --subnet-id-template, e.g. '/subscriptions/"
            "{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}/"
            "subnets/{subnet}', or the subnet's resource id",
            origin,
        )
    values = {"vnet": vnet, "subnet": subnet, "rg": rg, "sub": sub}
    for name in re.findall(r"\{(\w+)\}", template):
        if name not in values:
            raise NotEvaluated(
                f"--subnet-id-template {quote(template)}: unknown placeholder {{{name}}} "
                "(use {sub}, {rg}, {vnet}, {subnet})",
                origin,
            )
        if values[name] is None:
            detail = "--subscription" if name == "sub" else "the resource group"
            raise NotEvaluated(
                f"{what}: --subnet-id-template needs {{{name}}}, and the command does not give "
                f"{detail}: write it into the template",
                origin,
            )
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)


class ScriptSites:
    """The sites a script changes, each starting from ``options.base_site`` (or empty)."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self.sites: dict[str, _State] = {}
        self.names: dict[str, str] = {}

    def state(self, name: str) -> _State:
        key = name.lower()
        if key not in self.sites:
            self.names[key] = name
            self.sites[key] = self._base()
        return self.sites[key]

    def _base(self) -> _State:
        base = self.options.base_site
        state = _State()
        if base is None:
            return state
        from ..convert import rule_to_arm

        state.main = [_Rule(rule_to_arm(r), r.origin) for r in base.main_rules]
        state.scm = [_Rule(rule_to_arm(r), r.origin) for r in base.scm_rules]
        if base.main_default is not None:
            state.settings["ipSecurityRestrictionsDefaultAction"] = base.main_default.value
        if base.scm_default is not None:
            state.settings["scmIpSecurityRestrictionsDefaultAction"] = base.scm_default.value
        state.settings["scmIpSecurityRestrictionsUseMain"] = base.scm_use_main
        if base.public_network_access is not None:
            state.settings["publicNetworkAccess"] = base.public_network_access
        return state

    def site(self, what: str) -> Site:
        """The chosen site after every command, parsed like an ARM siteConfig."""
        source = self.options.source
        if not self.sites:
            if self.options.base_site is not None:
                return self.options.base_site
            raise ConfigError(
                f"no access restriction command in the {what} (looked for "
                + (
                    "Add-AzWebAppAccessRestrictionRule, Remove-AzWebAppAccessRestrictionRule and "
                    "Update-AzWebAppAccessRestrictionConfig)"
                    if what == "PowerShell script"
                    else "az webapp|functionapp config access-restriction add|remove|set)"
                ),
                Origin(file=source),
            )
        keys = list(self.sites)
        if self.options.site is not None:
            wanted = self.options.site.strip().lower()
            if wanted not in self.sites:
                raise ConfigError(
                    f"site {quote(self.options.site)} is not changed by the {what}; it changes: "
                    f"{', '.join(self.names[k] for k in keys)}",
                    Origin(file=source),
                )
            key = wanted
        elif len(keys) == 1:
            key = keys[0]
        else:
            raise ConfigError(
                f"the {what} changes {len(keys)} sites: choose one with --site NAME "
                f"(one of: {', '.join(self.names[k] for k in keys)})",
                Origin(file=source),
            )
        state = self.sites[key]
        name = self.names[key]
        config: dict[str, Any] = dict(state.settings)
        places: dict[str, Origin] = {}
        key_paths: dict[str, str] = {}
        for arm_key, rules in (
            ("ipSecurityRestrictions", state.main),
            ("scmIpSecurityRestrictions", state.scm),
        ):
            config[arm_key] = [r.data for r in rules]
            key_paths[arm_key] = arm_key
            for index, rule in enumerate(rules):
                places[f"{arm_key}[{index}]"] = rule.origin or Origin(file=source)
        for arm_key, origin in state.setting_origins.items():
            key_paths[arm_key] = arm_key
            places[arm_key] = origin
        # a script's commands are sent to Azure
        ctx = PlacedContext(
            file=source, service_tags=self.options.tags(), places=places, document="sent"
        )
        site = site_from_config(
            config,
            path="$",
            ctx=ctx,
            name=name,
            public_network_access=config.get("publicNetworkAccess"),
            public_path="publicNetworkAccess",
            key_paths=key_paths,
        )
        base = self.options.base_site
        if base is not None:
            # the commands change rules and settings, not the site's state
            site = replace(
                site,
                has_private_endpoint=base.has_private_endpoint,
                hosting=base.hosting,
                ip_based_ssl=base.ip_based_ssl,
                ip_mode=base.ip_mode,
            )
        return site


# ---------------------------------------------------------------------------- shell words

# A word is a list of parts: ("text", str) or ("var", name, default-word-or-None, source)
# or ("cmd", source) for command substitution, which cannot be known.
_Part = tuple[Any, ...]
_Word = list[_Part]

_KEYWORDS_OPEN = {"if", "while", "until", "case", "select"}
_KEYWORDS_CLOSE = {"fi": "if", "done": "while", "esac": "case"}


@dataclass
class _Command:
    line: int
    words: list[_Word]
    op: str = ""
    """The operator after the command: ``&&``, ``||``, ``|`` or ``""`` (newline, ``;``, ``&``)."""


_ORDINARY = re.compile(r"[^\\\n \t\r;&|<>'\"$`]*")
"""Characters that go into a word as they are (``#`` too, after the word's first)."""
_QUOTED = re.compile(r'[^"\\$`\n]*')
"""Characters that go into a double-quoted string as they are."""


def _lex(text: str) -> Iterator[_Command]:
    """Shell commands with their first line, split on newlines, ``;``, ``&``, ``|``."""
    i = 0
    n = len(text)
    line = 1
    words: list[_Word] = []
    word: _Word | None = None
    start_line = 1

    def add_text(value: str) -> None:
        nonlocal word
        if word is None:
            word = []
        if word and word[-1][0] == "text":
            word[-1] = ("text", word[-1][1] + value)
        else:
            word.append(("text", value))

    def end_word() -> None:
        nonlocal word
        if word is not None:
            words.append(word)
            word = None

    def end_command(op: str = "") -> Iterator[_Command]:
        nonlocal words
        end_word()
        if words:
            yield _Command(start_line, words, op)
        words = []

    def dollar(pos: int, quoted: bool) -> tuple[_Part, int]:
        """A ``$`` expansion at ``pos``; returns the part and the position after it."""
        nxt = text[pos + 1] if pos + 1 < n else ""
        if nxt == "(":
            depth, j = 0, pos + 1
            while j < n:
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            return ("cmd", text[pos : j + 1]), j + 1
        if nxt == "{":
            j = text.find("}", pos + 2)
            if j < 0:
                return ("text", "$"), pos + 1
            inner = text[pos + 2 : j]
            match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])(.*))?", inner, re.S)
            if match is None:
                return ("cmd", text[pos : j + 1]), j + 1
            default = match.group(3) if match.group(2) else None
            return ("var", match.group(1), default, text[pos : j + 1]), j + 1
        match = re.match(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]", text[pos + 1 :])
        if match is None:
            return ("text", "$"), pos + 1
        name = match.group(0)
        return ("var", name, None, "$" + name), pos + 1 + len(name)

    while i < n:
        char = text[i]
        if char == "\\":
            if i + 1 < n and text[i + 1] == "\n":
                i += 2
                line += 1
                continue
            if i + 1 < n:
                add_text(text[i + 1])
                i += 2
                continue
            i += 1
            continue
        if char == "\n":
            yield from end_command()
            i += 1
            line += 1
            start_line = line
            continue
        if char in " \t\r":
            end_word()
            i += 1
            continue
        if char == "#" and word is None:
            while i < n and text[i] != "\n":
                i += 1
            continue
        if char in ";&|":
            j = i
            while j < n and text[j] in ";&|":
                j += 1
            op = text[i:j]
            yield from end_command(op if op in ("&&", "||", "|") else "")
            i = j
            start_line = line
            continue
        if char in "<>":
            # a redirection: drop it, its file descriptor (2>&1) and its target
            digits = _literal(word) if word is not None else None
            if digits is not None and digits.isdigit():
                word = None
            end_word()
            j = i
            while j < n and text[j] in "<>&0123456789":
                j += 1
            while j < n and text[j] in " \t":
                j += 1
            while j < n and text[j] not in " \t\n;|&":
                j += 1
            i = j
            continue
        if char == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise ConfigError("unterminated single quote", Origin(line=line))
            add_text(text[i + 1 : j])
            line += text.count("\n", i, j)
            i = j + 1
            continue
        if char == '"':
            if word is None:
                word = []
            j = i + 1
            buffer = ""
            while j < n and text[j] != '"':
                c = text[j]
                if c == "\\" and j + 1 < n and text[j + 1] in '"\\$`\n':
                    if text[j + 1] != "\n":
                        buffer += text[j + 1]
                    else:
                        line += 1
                    j += 2
                    continue
                if c == "$":
                    if buffer:
                        add_text(buffer)
                        buffer = ""
                    part, j = dollar(j, True)
                    if part[0] == "text":
                        add_text(part[1])
                    else:
                        word.append(part)
                    continue
                if c == "`":
                    k = text.find("`", j + 1)
                    k = n - 1 if k < 0 else k
                    if buffer:
                        add_text(buffer)
                        buffer = ""
                    word.append(("cmd", text[j : k + 1]))
                    j = k + 1
                    continue
                if c == "\n":
                    line += 1
                run = _QUOTED.match(text, j + 1)
                end = run.end() if run is not None else j + 1
                buffer += text[j:end]
                j = end
            if j >= n:
                raise ConfigError("unterminated double quote", Origin(line=line))
            if buffer:
                add_text(buffer)
            if not word:
                add_text("")
            i = j + 1
            continue
        if char == "$":
            if word is None:
                word = []
            part, i = dollar(i, False)
            if part[0] == "text":
                add_text(part[1])
            else:
                word.append(part)
            continue
        if char == "`":
            k = text.find("`", i + 1)
            k = n - 1 if k < 0 else k
            if word is None:
                word = []
            word.append(("cmd", text[i : k + 1]))
            i = k + 1
            continue
        # a run of ordinary characters at once (one at a time is quadratic in a long word)
        run = _ORDINARY.match(text, i + 1)
        end = run.end() if run is not None else i + 1
        add_text(text[i:end])
        i = end
    yield from end_command()


def _literal(word: _Word) -> str | None:
    """The word's text when it has no expansion."""
    if all(part[0] == "text" for part in word):
        return "".join(part[1] for part in word)
    return None


@dataclass
class _Shell:
    """Variable values while a script is read."""

    fixed: Mapping[str, str]
    values: dict[str, str | Unresolved] = field(default_factory=dict)
    file: str | None = None
    line: int | None = None
    """The command being read, for the messages of the limits."""
    errexit: bool = False
    pipefail: bool = False
    status: int = 0
    """The exit status of the last command that ran."""
    gate: str = ""
    """The operator after the last command (``&&``, ``||``, ``|``)."""
    pipe_failed: bool = False
    failure: str | None = None
    """Why the command being run failed, as the az CLI says it."""

    def resolve(self, word: _Word, depth: int = 0) -> str:
        try:
            return self._resolve(word, depth)
        except LimitError as exc:
            if exc.line is None:
                exc.file, exc.line = self.file, self.line
            raise

    def step(self, file: str | None, line: int) -> None:
        """Charge a command to the load's budget; it is the one being read from now on."""
        self.file, self.line = file, line
        try:
            step("a shell command")
        except LimitError as exc:
            exc.file, exc.line = file, line
            raise

    def _resolve(self, word: _Word, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise LimitError(
                f"${{NAME:-default}} values are nested more than {MAX_DEPTH} levels deep, the "
                "limit acl reads"
            )
        step("a shell word")
        out: list[str] = []
        missing: list[str] = []
        for part in word:
            kind = part[0]
            if kind == "text":
                out.append(part[1])
            elif kind == "var":
                name, default, source = part[1], part[2], part[3]
                value: str | Unresolved | None = self.fixed.get(name)
                if value is None:
                    value = self.values.get(name)
                if value is None and default is not None:
                    value = self.resolve(_lex_word(default), depth + 1) if default else ""
                if value is None:
                    missing.append(source)
                elif isinstance(value, Unresolved):
                    missing.extend(value.names)
                else:
                    out.append(value)
            else:
                missing.append(part[1])
        if missing:
            raise Unresolved(missing)
        return bounded_join(out, "a shell variable expansion")

    def assign(self, name: str, word: _Word) -> None:
        if name in self.fixed:
            return
        try:
            self.values[name] = self.resolve(word)
        except Unresolved as exc:
            self.values[name] = exc


def _lex_word(text: str) -> _Word:
    """The parts of a default value inside ``${NAME:-default}``."""
    commands = list(_lex(text.replace("\n", " ") or "''"))
    if not commands or not commands[0].words:
        return [("text", "")]
    merged: _Word = []
    for index, word in enumerate(commands[0].words):
        if index:
            merged.append(("text", " "))
        merged.extend(word)
    return merged


# ---------------------------------------------------------------------------- script structure


@dataclass
class _For:
    line: int
    variable: str
    items: list[_Word]
    body: list[Any]


@dataclass
class _Opaque:
    line: int
    keyword: str
    body: list[Any]


def _structure(commands: Iterable[_Command], origin: Origin) -> list[Any]:
    """Commands grouped into loops and conditionals."""
    root: list[Any] = []
    stack: list[tuple[Any, list[Any]]] = []
    current = root
    pending_for: _For | None = None
    for command in commands:
        words = command.words
        while words:
            head = _literal(words[0])
            if head in ("then", "do", "else", "elif", "{", "!"):
                if head == "do" and pending_for is not None:
                    stack.append((pending_for, current))
                    current = pending_for.body
                    pending_for = None
                words = words[1:]
                continue
            break
        if not words:
            continue
        head = _literal(words[0])
        if head == "for":
            name = _literal(words[1]) if len(words) > 1 else None
            if name is None or len(words) < 3 or _literal(words[2]) != "in":
                loop = _Opaque(command.line, "for", [])
                stack.append((loop, current))
                current.append(loop)
                current = loop.body
                continue
            pending_for = _For(command.line, name, words[3:], [])
            current.append(pending_for)
            continue
        is_function = head == "function" or (
            head is not None
            and (
                re.fullmatch(r"[\w-]+\(\)", head) is not None
                or (len(words) > 1 and _literal(words[1]) == "()")
            )
        )
        if head in _KEYWORDS_OPEN or is_function:
            block = _Opaque(command.line, head or "function", [])
            current.append(block)
            stack.append((block, current))
            current = block.body
            rest = words[1:] if head in _KEYWORDS_OPEN else []
            if head in _KEYWORDS_OPEN and rest:
                # `if az ... ; then`: the condition is a command inside the block
                current.append(_Command(command.line, rest, command.op))
            continue
        if head in _KEYWORDS_CLOSE:
            if stack:
                _, current = stack.pop()
            continue
        if head == "}" and stack:
            _, current = stack.pop()
            continue
        current.append(_Command(command.line, words, command.op))
    return root


# ---------------------------------------------------------------------------- az arguments


@dataclass(frozen=True)
class _Spec:
    value: bool = True
    many: bool = False
    flag: bool = False  # three-state: bare, or followed by true/false


_COMMON = {
    "--resource-group": _Spec(),
    "-g": _Spec(),
    "--name": _Spec(),
    "-n": _Spec(),
    "--slot": _Spec(),
    "-s": _Spec(),
    "--ids": _Spec(many=True),
    "--subscription": _Spec(),
    "--output": _Spec(),
    "-o": _Spec(),
    "--query": _Spec(),
    "--only-show-errors": _Spec(value=False),
    "--verbose": _Spec(value=False),
    "--debug": _Spec(value=False),
    "--help": _Spec(value=False),
    "-h": _Spec(value=False),
}
_ARGS: dict[str, dict[str, _Spec]] = {
    "add": {
        **_COMMON,
        "--rule-name": _Spec(),
        "-r": _Spec(),
        "--priority": _Spec(),
        "-p": _Spec(),
        "--description": _Spec(),
        "--action": _Spec(),
        "--ip-address": _Spec(),
        "--service-tag": _Spec(),
        "--vnet-name": _Spec(),
        "--subnet": _Spec(),
        "--vnet-resource-group": _Spec(),
        "--ignore-missing-endpoint": _Spec(flag=True),
        "-i": _Spec(flag=True),
        "--scm-site": _Spec(flag=True),
        "--http-headers": _Spec(many=True),
        "--http-header": _Spec(many=True),
        "--skip-service-tag-validation": _Spec(flag=True),
    },
    "remove": {
        **_COMMON,
        "--rule-name": _Spec(),
        "-r": _Spec(),
        "--action": _Spec(),
        "--ip-address": _Spec(),
        "--service-tag": _Spec(),
        "--vnet-name": _Spec(),
        "--subnet": _Spec(),
        "--vnet-resource-group": _Spec(),
        "--scm-site": _Spec(flag=True),
        "--skip-service-tag-validation": _Spec(flag=True),
    },
    "set": {
        **_COMMON,
        "--use-same-restrictions-for-scm-site": _Spec(flag=True),
        "--default-action": _Spec(),
        "--scm-default-action": _Spec(),
    },
}
_ALIASES = {
    "-g": "--resource-group",
    "-n": "--name",
    "-s": "--slot",
    "-o": "--output",
    "-h": "--help",
    "-r": "--rule-name",
    "-p": "--priority",
    "-i": "--ignore-missing-endpoint",
    "--http-header": "--http-headers",
}
_FLAG_VALUES = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


def _parse_args(
    words: list[str], specs: Mapping[str, _Spec], what: str, origin: Origin
) -> dict[str, Any]:
    """az's argparse: ``--opt value``, ``--opt=value``, unique prefixes, ``nargs='+'``."""
    found: dict[str, Any] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("-") or _is_number(word):
            raise ConfigError(f"{what}: unrecognized argument {quote(word)}", origin)
        option, sep, inline = word.partition("=")
        name = _option(option, specs, what, origin)
        spec = specs[name]
        name = _ALIASES.get(name, name)
        i += 1
        if spec.flag:
            if sep:
                value: Any = _flag(inline, name, what, origin)
            elif i < len(words) and words[i].lower() in _FLAG_VALUES:
                value = _FLAG_VALUES[words[i].lower()]
                i += 1
            else:
                value = True
            found[name] = value
            continue
        if not spec.value:
            found[name] = True
            continue
        values: list[str] = []
        if sep:
            values.append(inline)
        while i < len(words) and (not words[i].startswith("-") or _is_number(words[i])):
            values.append(words[i])
            i += 1
            if not spec.many:
                break
        if not values:
            raise ConfigError(f"{what}: argument {option}: expected one argument", origin)
        if spec.many:
            found.setdefault(name, []).extend(values)
        else:
            found[name] = values[0]
    return found


def _is_number(word: str) -> bool:
    return re.fullmatch(r"-\d+(\.\d+)?", word) is not None


def _option(option: str, specs: Mapping[str, _Spec], what: str, origin: Origin) -> str:
    if option in specs:
        return option
    if option.startswith("--"):
        matches = [name for name in specs if name.startswith(option) and name.startswith("--")]
        targets = {_ALIASES.get(m, m) for m in matches}
        if len(targets) == 1:
            return matches[0]
    raise ConfigError(f"{what}: unrecognized argument {quote(option)}", origin)


def _flag(text: str, name: str, what: str, origin: Origin) -> bool:
    if text.lower() in _FLAG_VALUES:
        return _FLAG_VALUES[text.lower()]
    raise ConfigError(
        f"{what}: argument {name}: invalid value {quote(text)}: expected true or false", origin
    )


def _enum(value: str, choices: Sequence[str], name: str, what: str, origin: Origin) -> str:
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ConfigError(
        f"{what}: argument {name}: invalid value {quote(value)}: expected one of {', '.join(choices)}",
        origin,
    )


_RESOURCE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Web/sites/"
    r"(?P<name>[^/]+)(?:/slots/(?P<slot>[^/]+))?/?$",
    re.IGNORECASE,
)


def _targets(
    args: Mapping[str, Any], what: str, origin: Origin
) -> list[tuple[str, str | None, str | None]]:
    """(site name, resource group, subscription) for each app the command changes."""
    if args.get("--ids"):
        out = []
        for resource in args["--ids"]:
            match = _RESOURCE_ID.match(resource)
            if match is None:
                raise ConfigError(
                    f"{what}: --ids {quote(resource)} is not a web app resource id", origin
                )
            name = match.group("name") + (f"/{match.group('slot')}" if match.group("slot") else "")
            out.append((name, match.group("rg"), match.group("sub")))
        return out
    missing = [opt for opt in ("--resource-group", "--name") if not args.get(opt)]
    if missing:
        raise ConfigError(
            f"{what}: the following arguments are required: "
            + ", ".join(
                {"--resource-group": "--resource-group/-g", "--name": "--name/-n"}[m]
                for m in missing
            ),
            origin,
        )
    name = args["--name"] + (f"/{args['--slot']}" if args.get("--slot") else "")
    return [(name, args["--resource-group"], args.get("--subscription"))]


_CONFIG_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Web/sites/"
    r"(?P<name>[^/]+)(?:/slots/(?P<slot>[^/]+))?/config/web/?$",
    re.IGNORECASE,
)
_SITE_CONFIG_KEYS = (
    "ipSecurityRestrictions",
    "scmIpSecurityRestrictions",
    "scmIpSecurityRestrictionsUseMain",
    "ipSecurityRestrictionsDefaultAction",
    "scmIpSecurityRestrictionsDefaultAction",
)
_SCALARS = (
    "scmIpSecurityRestrictionsUseMain",
    "ipSecurityRestrictionsDefaultAction",
    "scmIpSecurityRestrictionsDefaultAction",
    "publicNetworkAccess",
)


def _squash(text: str) -> str:
    return re.sub(r"\[.*?\]", "", text).replace("_", "").lower()


def _generic_key(path: str, kind: str | None) -> str | None:
    """The setting a generic-update path sets (exactly as Azure spells it), ``""`` for a path
    that reaches the access restrictions some other way, None for one that does not reach them.

    ``kind`` is None for ``az webapp update`` (the Site object: snake_case attributes),
    ``site`` or ``config`` for ``az resource update`` (ARM JSON: case-sensitive keys), ``?``
    when acl cannot tell."""
    parts = [p for p in path.strip().split(".")]
    if kind is None:
        # ARM spellings (`properties.…`) are not attributes of the Site object: refused
        wanted = (
            [["siteConfig", k] for k in _SITE_CONFIG_KEYS]
            + [["publicNetworkAccess"]]
            + [["properties", "publicNetworkAccess"]]
            + [["properties", "siteConfig", k] for k in _SITE_CONFIG_KEYS]
        )
    elif kind == "config":
        wanted = [["properties", k] for k in _SITE_CONFIG_KEYS]
    elif kind == "site":
        wanted = [["properties", "siteConfig", k] for k in _SITE_CONFIG_KEYS] + [
            ["properties", "publicNetworkAccess"]
        ]
    else:
        wanted = (
            [["properties", "siteConfig", k] for k in _SITE_CONFIG_KEYS]
            + [["properties", k] for k in _SITE_CONFIG_KEYS]
            + [["properties", "publicNetworkAccess"]]
        )
    squashed = [_squash(p) for p in parts]
    reached = False
    for target in wanted:
        low = [_squash(t) for t in target]
        n = min(len(low), len(squashed))
        if low[:n] == squashed[:n]:
            reached = True
            exact = parts == target or (kind is None and parts in (["public_network_access"],))
            # the Site object's siteConfig is not what `az webapp update` sends: refused
            evaluable = kind in ("site", "config") or target == ["publicNetworkAccess"]
            if exact and target[-1] in _SCALARS and evaluable:
                return target[-1]
    return "" if reached else None


def setting_choices(key: str) -> tuple[Any, ...]:
    """The values Azure takes for a site setting a generic update may set."""
    return {
        "scmIpSecurityRestrictionsUseMain": (True, False),
        "publicNetworkAccess": ("Enabled", "Disabled"),
    }.get(key, ("Allow", "Deny"))


def setting_choice(key: str, value: Any) -> Any:
    """``value`` as Azure's spelling of a choice of :func:`setting_choices` (text compared
    case-insensitively, booleans exactly), or None when it is none of them."""
    for choice in setting_choices(key):
        if value is choice or (
            isinstance(value, str) and isinstance(choice, str) and value.lower() == choice.lower()
        ):
            return choice
    return None


def _generic_value(item: str, key: str, force_string: bool, what: str, origin: Origin) -> Any:
    """The value of ``--set path=value``: JSON if it parses (unless ``--force-string``)."""
    import json

    text = item.partition("=")[2]
    value: Any = text
    if not force_string:
        try:
            value = json.loads(text)
        except ValueError:
            value = text
    choice = setting_choice(key, value)
    if choice is not None:
        return choice
    choices = setting_choices(key)
    expected = " or ".join(str(c).lower() if isinstance(c, bool) else str(c) for c in choices)
    raise NotEvaluated(
        f"{what}: --set {quote(item)}: acl does not know how Azure takes this value for {key} "
        f"(expected {expected})",
        origin,
    )


def _is_resource_id(text: str) -> bool:
    return (
        re.match(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/", text, re.I) is not None
    )


def _normalized_ips(value: str, what: str, origin: Origin) -> str:
    """The CLI's ``_validate_ip_address_format``: ``ipaddress.ip_network(element, False)`` of
    each element, so host bits are cleared and a bare address gets ``/32`` or ``/128``."""
    if " " in value:
        raise ConfigError(f"{what}: Spaces not allowed: '{value}' ", origin)
    elements = value.split(",")
    if len(elements) > 8:
        raise ConfigError(f"{what}: Maximum 8 IP addresses are allowed per rule.", origin)
    out = []
    for element in elements:
        try:
            out.append(str(ipaddress.ip_network(element, False)))
        except ValueError as exc:
            raise ConfigError(
                f"{what}: --ip-address {quote(element)}: {exc} (the az CLI checks addresses with "
                "Python's ipaddress.ip_network)",
                origin,
            ) from None
    return ",".join(out)


def _address_set(value: Any) -> frozenset[str]:
    """The CLI's ``_normalize_ip_address_list``: the comma-separated parts as a set."""
    if not isinstance(value, str) or not value:
        return frozenset()
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def _headers(values: Sequence[str], what: str, origin: Origin) -> dict[str, list[str]]:
    """The CLI's ``_parse_http_headers``."""
    headers: dict[str, list[str]] = {}
    for text in values:
        parts = text.split("=")
        if len(parts) != 2:
            raise ConfigError(
                f'{what}: Http headers must have a format of `<name>=<value>`: "{text}"', origin
            )
        name = parts[0].strip().lower()
        value = parts[1].strip()
        if name not in _ALLOWED_HEADERS:
            raise ConfigError(f'{what}: Invalid http-header name: "{name}"', origin)
        if value:
            if len(headers.get(name, [])) > 7:
                raise ConfigError(
                    f'{what}: Only 8 values are allowed for each http-header: "{name}"', origin
                )
            headers.setdefault(name, []).append(value)
    return headers


def _normal_headers(headers: Any) -> dict[str, list[str]]:
    if not isinstance(headers, Mapping):
        return {}
    return {str(k).lower(): sorted(v) for k, v in headers.items() if isinstance(v, list) and v}


@dataclass
class _Az:
    """Applies az access-restriction commands to :class:`ScriptSites`."""

    sites: ScriptSites
    options: LoadOptions
    file: str | None

    def run(self, words: list[str], line: int) -> None:
        origin = Origin(file=self.file, line=line)
        group = words[1] if len(words) > 1 else ""
        if len(words) >= 5 and words[2:4] == ["config", "access-restriction"]:
            verb = words[4]
            what = f"az {group} config access-restriction {verb}"
            if verb not in _ARGS:
                return  # show, or an unknown verb: changes nothing
            args = _parse_args(words[5:], _ARGS[verb], what, origin)
            if args.get("--help"):
                return
            for name, rg, sub in _targets(args, what, origin):
                state = self.sites.state(name)
                getattr(self, f"_{verb}")(state, args, rg, sub, what, origin)
        elif len(words) >= 3 and words[2] == "update":
            self._update(words[3:], f"az {group} update", origin)
        elif len(words) >= 4 and words[2:4] == ["config", "set"] and group != "resource":
            self._generic_configurations(words[4:], f"az {group} config set", origin)

    def _subnet(
        self, args: Mapping[str, Any], rg: str | None, sub: str | None, what: str, origin: Origin
    ) -> str:
        subnet = args["--subnet"]
        vnet = args.get("--vnet-name")
        if _is_resource_id(subnet) and not vnet:
            return str(subnet)
        if not _is_resource_id(subnet) and vnet:
            return subnet_id(
                self.options.subnet_id_template,
                vnet=vnet,
                subnet=subnet,
                rg=args.get("--vnet-resource-group") or rg,
                sub=sub,
                origin=origin,
                what=what,
            )
        raise ConfigError(
            f"{what}: Please specify either: --subnet ID or (--subnet NAME and --vnet-name NAME)",
            origin,
        )

    def _add(
        self,
        state: Any,
        args: Mapping[str, Any],
        rg: str | None,
        sub: str | None,
        what: str,
        origin: Origin,
    ) -> None:
        if "--priority" not in args:
            raise ConfigError(
                f"{what}: the following arguments are required: --priority/-p", origin
            )
        try:
            priority = int(args["--priority"])
        except ValueError:
            raise ConfigError(
                f"{what}: --priority {quote(args['--priority'])} is not valid: expected an integer "
                "(an int32)",
                origin,
            ) from None
        given = [k for k in ("--service-tag", "--ip-address", "--subnet") if k in args]
        if len(given) != 1:
            raise ConfigError(
                f"{what}: Please specify either: --subnet or --ip-address or --service-tag", origin
            )
        scm = bool(args.get("--scm-site"))
        rules = state.rules(scm)
        action = _enum(args.get("--action", "Allow"), ("Allow", "Deny"), "--action", what, origin)
        headers = _headers(args.get("--http-headers", []), what, origin)
        rule: dict[str, Any] = {"priority": priority, "action": action, "tag": "Default"}
        if args.get("--rule-name") is not None:
            rule["name"] = args["--rule-name"]
        if "--subnet" in args:
            subnet = self._subnet(args, rg, sub, what, origin)
            for other in rules:
                existing = other.data.get("vnetSubnetResourceId")
                if (
                    existing
                    and existing.lower() == subnet.lower()
                    and _normal_headers(other.data.get("headers")) == _normal_headers(headers)
                ):
                    raise ConfigError(
                        f"{what}: A service-endpoint access-restriction rule for subnet "
                        f"'{subnet}' with the same HTTP header filter already exists. Cannot add "
                        "a duplicate rule.",
                        origin,
                    )
            rule["vnetSubnetResourceId"] = subnet
        elif "--ip-address" in args:
            ips = _normalized_ips(args["--ip-address"], what, origin)
            # _validate_ip_address_existence: the same set of addresses, the same headers
            if any(
                _address_set(other.data.get("ipAddress")) == _address_set(ips)
                and _normal_headers(other.data.get("headers")) == _normal_headers(headers)
                for other in rules
            ):
                raise ConfigError(
                    f"{what}: An access-restriction rule with IP address '{ips}' and the same "
                    "HTTP header filter already exists. Cannot add a duplicate rule.",
                    origin,
                )
            rule["ipAddress"] = ips
        else:
            tag = args["--service-tag"]
            if " " in tag:
                raise ConfigError(f"{what}: Spaces not allowed: '{tag}' ", origin)
            if len(tag.split(",")) > 8:
                raise ConfigError(f"{what}: Maximum 8 service tags are allowed per rule.", origin)
            if any(
                str(other.data.get("ipAddress") or "").lower() == tag.lower()
                and _normal_headers(other.data.get("headers")) == _normal_headers(headers)
                for other in rules
            ):
                raise ConfigError(
                    f"{what}: A service-tag access-restriction rule with value '{tag}' and the "
                    "same HTTP header filter already exists. Cannot add a duplicate rule.",
                    origin,
                )
            rule["ipAddress"] = tag
            rule["tag"] = "ServiceTag"
        if args.get("--description") is not None:
            rule["description"] = args["--description"]
        if headers:
            rule["headers"] = headers
        rules.append(_Rule(rule, origin))

    def _remove(
        self,
        state: Any,
        args: Mapping[str, Any],
        rg: str | None,
        sub: str | None,
        what: str,
        origin: Origin,
    ) -> None:
        given = [k for k in ("--service-tag", "--ip-address", "--subnet") if k in args]
        if len(given) > 1:
            raise ConfigError(
                f"{what}: Please specify either: --subnet or --ip-address or --service-tag", origin
            )
        action = _enum(args.get("--action", "Allow"), ("Allow", "Deny"), "--action", what, origin)
        name = args.get("--rule-name")
        rules = state.rules(bool(args.get("--scm-site")))
        ip = _normalized_ips(args["--ip-address"], what, origin) if "--ip-address" in args else None
        subnet = self._subnet(args, rg, sub, what, origin) if "--subnet" in args else None

        def named(rule: dict[str, Any]) -> bool:
            return name is None or (
                bool(rule.get("name")) and str(rule["name"]).lower() == name.lower()
            )

        def same_action(rule: dict[str, Any]) -> bool:
            return str(rule.get("action") or "Allow") == action

        found = None
        for rule in rules:
            data = rule.data
            if name and not given:
                ok = (
                    bool(data.get("name"))
                    and str(data["name"]).lower() == name.lower()
                    and same_action(data)
                )
            elif ip is not None:
                ok = data.get("ipAddress") == ip and same_action(data) and named(data)
            elif "--service-tag" in args:
                ok = (
                    bool(data.get("ipAddress"))
                    and str(data["ipAddress"]).lower() == args["--service-tag"].lower()
                    and same_action(data)
                    and named(data)
                )
            elif subnet is not None:
                existing = data.get("vnetSubnetResourceId")
                ok = (
                    bool(existing)
                    and existing.lower() == subnet.lower()
                    and same_action(data)
                    and named(data)
                )
            else:
                ok = False
            if ok:
                found = rule
                break
        if found is None:
            raise ConfigError(
                f"{what}: No rule found with the specified criteria (if you specify rule name and "
                "source, both must match; to remove a Deny rule, give --action Deny)",
                origin,
            )
        rules.remove(found)

    def _set(
        self,
        state: Any,
        args: Mapping[str, Any],
        rg: str | None,
        sub: str | None,
        what: str,
        origin: Origin,
    ) -> None:
        if "--use-same-restrictions-for-scm-site" in args:
            state.settings["scmIpSecurityRestrictionsUseMain"] = bool(
                args["--use-same-restrictions-for-scm-site"]
            )
            state.setting_origins["scmIpSecurityRestrictionsUseMain"] = origin
        for option, key in (
            ("--default-action", "ipSecurityRestrictionsDefaultAction"),
            ("--scm-default-action", "scmIpSecurityRestrictionsDefaultAction"),
        ):
            if option in args:
                state.settings[key] = _enum(args[option], ("Allow", "Deny"), option, what, origin)
                state.setting_origins[key] = origin

    def _update(self, words: list[str], what: str, origin: Origin) -> None:
        """A generic update (``--set``/``--add``/``--remove``, azure-cli's ``arm.py``) of a web
        app (``az webapp update``, the Site object) or of a resource (``az resource update``,
        the ARM JSON): the paths that set a default action, ``scmIpSecurityRestrictionsUseMain``
        or ``publicNetworkAccess`` to a value are applied; any other path into them, or into the
        rules, is refused; paths that do not reach them change nothing acl reads."""
        args: dict[str, Any] = {}
        edits: list[tuple[str, list[str]]] = []
        i = 0
        while i < len(words):
            word = words[i]
            option, sep, inline = word.partition("=")
            option = _ALIASES.get(option, option)
            values = [inline] if sep else []
            i += 1
            while (
                not sep
                and i < len(words)
                and (not words[i].startswith("-") or _is_number(words[i]))
            ):
                values.append(words[i])
                i += 1
            if option in ("--set", "--add", "--remove"):
                edits.append((option, values))
            elif option == "--ids":
                args[option] = values
            elif values:
                args[option] = values[0]
            else:
                args[option] = True
        resource = what.startswith("az resource")
        force_string = bool(args.get("--force-string"))
        changes: list[tuple[str, Any]] = []
        for option, values in edits:
            items = values if option == "--set" else values[:1]
            for item in items:
                path = item.partition("=")[0] if option == "--set" else item
                kind = None
                if resource:
                    kind = self._resource_kind(args, what, origin)
                    if kind is None:
                        continue  # not a web app: nothing acl reads
                key = _generic_key(path, kind)
                if key is None:
                    continue
                if option != "--set" or key == "" or "[" in path:
                    raise NotEvaluated(
                        f"{what}: {option} {quote(item)} changes the access restrictions in a way "
                        "acl does not evaluate: use `az webapp config access-restriction "
                        "add|remove|set` instead",
                        origin,
                    )
                changes.append((key, _generic_value(item, key, force_string, what, origin)))
        if not changes:
            return
        for name, _, _ in self._update_targets(args, resource, what, origin):
            state = self.sites.state(name)
            for key, value in changes:
                state.settings[key] = value
                state.setting_origins[key] = origin

    def _generic_configurations(self, words: list[str], what: str, origin: Origin) -> None:
        """``--generic-configurations``: refused when a key names an access restriction
        setting (acl does not evaluate how the CLI copies them onto the site config)."""
        import json

        values: list[str] = []
        taking = False
        for word in words:
            if word.startswith("--"):
                option, sep, inline = word.partition("=")
                taking = "--generic-configurations".startswith(option) and len(option) > 3
                if taking and sep:
                    values.append(inline)
                continue
            if taking:
                values.append(word)
        keys = {_squash(k) for k in _SITE_CONFIG_KEYS} | {"publicnetworkaccess"}
        for value in values:
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                hit = any(_squash(str(name)) in keys for name in parsed)
            else:
                hit = any(key in _squash(value) for key in keys)
            if hit:
                raise NotEvaluated(
                    f"{what}: --generic-configurations {quote(value)} sets an access "
                    "restriction setting, which acl does not evaluate here: use `az webapp "
                    "config access-restriction set|add|remove` instead",
                    origin,
                )

    def _resource_kind(self, args: Mapping[str, Any], what: str, origin: Origin) -> str | None:
        """``site`` or ``config`` for a web app (or slot) or its config/web; None for others."""
        ids = args.get("--ids") or []
        kinds = set()
        for resource in ids:
            if _RESOURCE_ID.match(resource):
                kinds.add("site")
            elif _CONFIG_ID.match(resource):
                kinds.add("config")
            elif re.search(r"/providers/Microsoft\.Web/sites(/|$)", resource, re.I):
                kinds.add("?")
            else:
                kinds.add("other")
        if not ids:
            kind = str(args.get("--resource-type", "")).lower().strip("/")
            namespace = str(args.get("--namespace", "")).lower()
            if namespace and "/" not in kind:
                kind = f"{namespace}/{kind}"
            name = str(args.get("--name", ""))
            if (
                kind in ("microsoft.web/sites", "microsoft.web/sites/slots")
                and "--parent" not in args
            ):
                kinds.add("site")
            elif kind.startswith("microsoft.web/") or "--parent" in args or not kind:
                kinds.add("?")
            else:
                kinds.add("other")
            del name
        if kinds == {"other"}:
            return None
        if len(kinds) == 1 and "?" not in kinds:
            return kinds.pop()
        return "?"

    def _update_targets(
        self, args: Mapping[str, Any], resource: bool, what: str, origin: Origin
    ) -> list[tuple[str, str | None, str | None]]:
        if resource and args.get("--ids"):
            out = []
            for text in args["--ids"]:
                match = _RESOURCE_ID.match(text) or _CONFIG_ID.match(text)
                assert match is not None
                name = match.group("name") + (
                    f"/{match.group('slot')}" if match.group("slot") else ""
                )
                out.append((name, match.group("rg"), match.group("sub")))
            return out
        if resource and "/" in str(args.get("--name", "")):
            app, _, slot = str(args["--name"]).partition("/")
            return [(f"{app}/{slot}", args.get("--resource-group"), args.get("--subscription"))]
        return _targets(args, what, origin)


# ---------------------------------------------------------------------------- the loader


def _contains_az(items: list[Any]) -> int | None:
    for item in items:
        if isinstance(item, _Command):
            words = [_literal(w) for w in item.words[:5]]
            if words[:1] == ["az"] and "access-restriction" in words:
                return item.line
        elif isinstance(item, (_For, _Opaque)):
            found = _contains_az(item.body)
            if found is not None:
                return found
    return None


def _az_words(words: list[str]) -> list[str] | None:
    """The words of an ``az`` command, after leading assignments and wrappers."""
    index = 0
    while index < len(words) and (
        re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[index])
        or words[index] in ("command", "time", "sudo", "exec")
    ):
        index += 1
    rest = words[index:]
    if rest[:1] == ["az"] and len(rest) >= 3 and rest[1] in ("webapp", "functionapp", "resource"):
        return rest
    return None


class _Exit(Exception):
    """``exit``: the rest of the script (or of the command substitution) does not run."""


_SUCCEED = {":", "true", "echo", "printf", "cd", "pushd", "popd", "shift", "unset", "source"}


def run_script(
    items: list[Any],
    shell: _Shell,
    run: Callable[[list[str], int], None],
    options: LoadOptions,
    file: str | None,
) -> None:
    """Run the commands the way bash does: ``&&``/``||`` lists by exit status, ``set -e``,
    ``exit``, and the commands inside ``$(...)`` and backticks. A failing az command is a
    warning, or, under ``set -e``, an error that says the script stops there."""
    for item in items:
        shell.step(file, item.line)
        if isinstance(item, _For):
            shell.gate = ""
            _substitutions(item.items, item.line, shell, run, options, file)
            try:
                values = [shell.resolve(word) for word in item.items]
            except Unresolved as exc:
                raise ConfigError(
                    f"for {item.variable} in ...: {_unresolved_text(exc)} cannot be known without "
                    "running the script: give it with --var NAME=VALUE",
                    Origin(file=file, line=item.line),
                ) from None
            for value in [w for v in values for w in v.split()]:
                shell.values[item.variable] = value
                run_script(item.body, shell, run, options, file)
            continue
        if isinstance(item, _Opaque):
            shell.gate = ""
            line = _contains_az(item.body)
            if line is not None:
                raise ConfigError(
                    f"an access restriction command is inside `{item.keyword}` (line "
                    f"{item.line}): acl does not evaluate shell conditions or functions; take it "
                    "out, or write the commands it runs",
                    Origin(file=file, line=line),
                )
            shell.status = 0
            continue
        gate, shell.gate = shell.gate, item.op
        if (gate == "&&" and shell.status != 0) or (gate == "||" and shell.status == 0):
            continue  # bash skips it; the list's status stays
        shell.failure = None
        status = _command(item, shell, run, options, file)
        if gate == "|":
            shell.pipe_failed = shell.pipe_failed or status != 0
            if shell.pipefail and shell.pipe_failed and status == 0:
                status = 1
        else:
            shell.pipe_failed = status != 0
        shell.status = status
        origin = Origin(file=file, line=item.line)
        stops = status != 0 and shell.errexit and item.op not in ("&&", "||", "|")
        if shell.failure is not None:
            if stops:
                raise ConfigError(
                    f"{shell.failure.rstrip('. ')}: the command fails and `set -e` stops the script here",
                    origin,
                )
            options.warn(
                f"{origin}: {shell.failure.rstrip('. ')}: the command fails and the script goes on (no "
                "`set -e`, or its status is tested)"
            )
        elif stops:
            raise ConfigError(
                "the command fails and `set -e` stops the script here: the commands after it "
                "do not run; remove them, or the failing command",
                origin,
            )


def _substitutions(
    words: list[_Word],
    line: int,
    shell: _Shell,
    run: Callable[[list[str], int], None],
    options: LoadOptions,
    file: str | None,
) -> int | None:
    """Run the ``$(...)`` and backtick commands of ``words`` in a subshell (their output is not
    known, their effect counts); the status of the last one, or None."""
    status: int | None = None
    for word in words:
        for part in word:
            if part[0] != "cmd":
                continue
            source = str(part[1])
            inner = source[2:-1] if source.startswith("$(") else source[1:-1]
            if source.startswith("$((") or re.search(r"(^|[\s;&|(`])az\s", inner) is None:
                status = 0
                continue
            try:
                commands = [replace(c, line=line + c.line - 1) for c in _lex(inner)]
            except ConfigError as exc:
                raise ConfigError(
                    f"command substitution {quote(source)}: {exc.message}",
                    Origin(file=file, line=line),
                ) from None
            sub = _Shell(shell.fixed, dict(shell.values), shell.file, shell.line)
            with contextlib.suppress(_Exit):
                run_script(_structure(commands, Origin(file=file)), sub, run, options, file)
            status = sub.status
    return status


def _set_options(words: list[str], shell: _Shell) -> None:
    """``set -e``/``+e``, ``set -o errexit``/``pipefail`` (and ``+o``)."""
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-o", "+o") and i + 1 < len(words):
            on = word == "-o"
            if words[i + 1] == "errexit":
                shell.errexit = on
            elif words[i + 1] == "pipefail":
                shell.pipefail = on
            i += 2
            continue
        if re.fullmatch(r"[-+][A-Za-z]+", word) and "e" in word:
            shell.errexit = word.startswith("-")
        i += 1


def _command(
    item: _Command,
    shell: _Shell,
    run: Callable[[list[str], int], None],
    options: LoadOptions,
    file: str | None,
) -> int:
    """Run one simple command; its exit status (a failing az command sets ``shell.failure``)."""
    words = item.words
    substituted = _substitutions(words, item.line, shell, run, options, file)
    literal = [_literal(w) for w in words]
    assignments = [
        (m.group(1), w)
        for w, text in zip(words, literal, strict=True)
        if (m := re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=", text or _prefix(w)))
    ]
    first = literal[0]
    if first in ("export", "readonly", "declare", "local", "typeset") or (
        assignments and len(assignments) == len(words)
    ):
        for word in words:
            text = _prefix(word)
            match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=", text)
            if match:
                shell.assign(match.group(1), _after_equals(word))
        # an assignment's status is that of its last command substitution
        return substituted if substituted is not None and first not in ("export",) else 0
    if first == "set":
        _set_options([t for t in literal[1:] if t is not None], shell)
        return 0
    if first == "false":
        return 1
    if first == "exit":
        raise _Exit()
    head = [_literal(w) for w in words[:6]]
    if "az" not in head[:3]:
        return 0
    resolved: list[str] = []
    missing: list[str] = []
    for word in words:
        try:
            resolved.append(shell.resolve(word))
        except Unresolved as exc:
            missing.extend(exc.names)
    if missing:
        if not _is_ours(head, words):
            return 0
        message = _unresolved_message(Unresolved(missing))
        if options.unresolved == "skip-rule":
            options.warn(
                f"{Origin(file=file, line=item.line)}: command skipped (--unresolved=skip-rule): {message}"
            )
            return 0
        raise ConfigError(message, Origin(file=file, line=item.line)) from None
    az = _az_words(resolved)
    if az is None:
        return 0
    try:
        run(az, item.line)
    except NotEvaluated:
        raise
    except LimitError:
        raise
    except ConfigError as exc:
        shell.failure = exc.message
        return 1
    return 0


def _is_ours(head: list[str | None], words: list[_Word]) -> bool:
    """Whether a command whose values are unknown would change access restrictions."""
    if "access-restriction" in head:
        index = head.index("access-restriction")
        verb = head[index + 1] if index + 1 < len(head) else None
        return verb in ("add", "remove", "set") or verb is None
    if "update" in head or "set" in head:
        texts = _squash(" ".join(str(p[1]) for w in words for p in w if p[0] == "text"))
        return (
            any(
                key in texts
                for key in (
                    "publicnetworkaccess",
                    "siteconfig",
                    "ipsecurityrestrictions",
                    "properties",
                )
            )
            or "generic-configurations" in texts
        )
    return False


def _prefix(word: _Word) -> str:
    return str(word[0][1]) if word and word[0][0] == "text" else ""


def _after_equals(word: _Word) -> _Word:
    first = word[0]
    text = str(first[1])
    return [("text", text.split("=", 1)[1]), *word[1:]]


def _unresolved_text(exc: Unresolved) -> str:
    names = list(dict.fromkeys(exc.names))
    kind = "shell variable" if all(_variable_name(n) for n in names) else "value"
    return f"{kind}{'s' if len(names) > 1 else ''} {', '.join(names)}"


def _variable_name(source: str) -> str | None:
    match = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)[^}]*\}?", source)
    return match.group(1) if match else None


def _unresolved_message(exc: Unresolved) -> str:
    names = list(dict.fromkeys(exc.names))
    variables = [v for v in (_variable_name(n) for n in names) if v]
    commands = [n for n in names if not _variable_name(n)]
    parts = []
    if variables:
        plural = "s" if len(variables) > 1 else ""
        parts.append(
            f"shell variable{plural} {', '.join('$' + v for v in variables)} "
            f"{'are' if plural else 'is'} not set in the script: give "
            + " ".join(f"--var {v}=VALUE" for v in variables)
        )
    if commands:
        parts.append(
            f"{', '.join(commands)} is a command substitution, and acl does not run commands: "
            "put the value into a variable and give it with --var"
        )
    return "; ".join(parts)


@bounded
def load_azcli(document: Any, options: LoadOptions) -> Site:
    """The site an az CLI script leaves behind (``document`` is the script's text)."""
    if not isinstance(document, str):
        raise ConfigError("expected the text of a shell script", Origin(file=options.source))
    try:
        commands = list(_lex(document))
    except ConfigError as exc:
        raise ConfigError(
            exc.message, replace(exc.origin or Origin(), file=options.source)
        ) from None
    items = _structure(commands, Origin(file=options.source))
    sites = ScriptSites(options)
    az = _Az(sites, options, options.source)
    shell = _Shell(options.variables)
    shell.errexit = bool(re.match(r"#![^\n]*\s-[A-Za-z]*e", document))
    with contextlib.suppress(_Exit):
        run_script(items, shell, az.run, options, options.source)
    return sites.site("script")

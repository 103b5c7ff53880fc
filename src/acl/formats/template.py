"""ARM deployment templates: ``Microsoft.Web/sites``, ``sites/slots``, ``sites/config`` and
``sites/slots/config``, as top-level or nested child resources.

Template expressions are resolved offline where that is exact: ``parameters('x')`` and
``variables('x')`` (from defaults, a parameters file or ``--param``), plus ``concat()`` and
``format()`` of those, with property access (``.name``, ``[0]``). Any other expression in a
value ``acl`` needs is an error naming the JSON path and the expression. Expressions in
parts of a resource that do not bear on access restrictions are left alone.

A slot is a site of its own, named ``app/slot``. A ``config/web`` resource's properties
override the site's ``siteConfig`` key by key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Origin
from ..model import Site
from ._limits import (
    MAX_DEPTH,
    MAX_VALUE_CHARS,
    MAX_VALUE_ITEMS,
    LimitError,
    bounded,
    checked,
    json_loads,
    quote,
    step,
)
from .options import LoadOptions
from .restrictions import (
    SITE_CONFIG_KEYS,
    Context,
    connection_approved,
    hosting_of,
    parse_ip_mode,
    site_from_config,
    ssl_states_ip_based,
)

__all__ = ["is_template", "load_template"]

SITES = "microsoft.web/sites"
SLOTS = "microsoft.web/sites/slots"
SITE_CONFIG = "microsoft.web/sites/config"
SLOT_CONFIG = "microsoft.web/sites/slots/config"
SITE_CONNECTIONS = (
    "microsoft.web/sites/privateendpointconnections",
    "microsoft.web/sites/slots/privateendpointconnections",
)
SITE_BINDINGS = (
    "microsoft.web/sites/hostnamebindings",
    "microsoft.web/sites/slots/hostnamebindings",
)
PRIVATE_ENDPOINTS = "microsoft.network/privateendpoints"
DEPLOYMENTS = "microsoft.resources/deployments"
ACCESS_KEYS = (*sorted(SITE_CONFIG_KEYS), "ipMode", "publicNetworkAccess")
_SITE_ID = re.compile(
    r"/providers/microsoft\.web/sites/([^/]+)(?:/slots/([^/]+))?/*$", re.IGNORECASE
)


def is_template(document: Any) -> bool:
    """A deployment template: a ``$schema`` naming one, or ``resources`` with ``contentVersion``."""
    if not isinstance(document, Mapping):
        return False
    schema = document.get("$schema")
    if isinstance(schema, str) and "deploymenttemplate" in schema.lower():
        return True
    return isinstance(document.get("resources"), list) and "contentVersion" in document


# ---------------------------------------------------------------------------- expressions

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>[(),.\[\]]))"
)


class _Unsupported(Exception):
    """An expression acl cannot evaluate offline; carries the function name."""


@dataclass
class _Resolver:
    """Evaluates template expressions against parameter and variable values."""

    ctx: Context
    parameters: dict[str, Any]
    variable_defs: Mapping[str, Any]
    variables: dict[str, Any] = field(default_factory=dict)
    _resolving: set[str] = field(default_factory=set)
    on_warning: Callable[[str], None] | None = None
    copy_indexes: dict[str, int] = field(default_factory=dict)
    """The index of each copy loop being expanded, by lowercased loop name."""
    resource_ids: bool = False
    """Whether ``resourceId()`` is evaluated: only where a site is named by its id (a private
    endpoint's target, an App Service Environment), as ``/subscriptions/*/resourceGroups/*/
    providers/TYPE/NAME``: the subscription and resource group are not known offline."""

    def warn(self, message: str) -> None:
        if self.on_warning is not None:
            self.on_warning(message)

    def resolve_ids(self, value: Any, path: str) -> Any:
        """``resolve`` with ``resourceId()`` evaluated."""
        before = self.resource_ids
        self.resource_ids = True
        try:
            return self.resolve(value, path)
        finally:
            self.resource_ids = before

    def resolve(self, value: Any, path: str) -> Any:
        """``value`` with every expression string in it replaced by its value."""
        if isinstance(value, str):
            if value.startswith("[["):
                return value[1:]
            if value.startswith("[") and value.endswith("]"):
                return self._expression(value, path)
            return value
        if isinstance(value, list):
            items = [self.resolve(item, f"{path}[{i}]") for i, item in enumerate(value)]
            return self._checked(items, "an array", path)
        if isinstance(value, Mapping):
            members = {
                k: self.resolve(v, f"{path}.{k}")
                for k, v in value.items()
                if not (k.lower() == "copy" and isinstance(v, list))
            }
            for k, v in value.items():
                if k.lower() == "copy" and isinstance(v, list):  # property iteration
                    for index, entry in enumerate(v):
                        name, items = self._copy_loop(entry, f"{path}.{k}[{index}]")
                        members[name] = items
            return self._checked(members, "an object", path)
        return value

    def _copy_loop(self, entry: Any, path: str) -> tuple[str, list[Any]]:
        """A ``copy`` element of a variable or a property: ``{"name", "count", "input"}``
        makes the array ``name`` of ``count`` values of ``input``, each with
        ``copyIndex(name)`` set to its index."""
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"copy element {quote(entry)} is not valid: expected an object with name, count "
                "and input",
                self.ctx.origin(path),
            )
        keys = {str(k).lower(): k for k in entry}
        missing = [k for k in ("name", "count", "input") if k not in keys]
        if missing:
            raise ConfigError(
                f"copy element has no {missing[0]}: a variable or property copy loop needs name, "
                "count and input",
                self.ctx.origin(path),
            )
        name = self.resolve(entry[keys["name"]], f"{path}.name")
        count = self.resolve(entry[keys["count"]], f"{path}.count")
        if not isinstance(name, str) or not name:
            raise ConfigError(
                f"copy name {quote(name)} is not valid: expected a string", self.ctx.origin(path)
            )
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 800:
            raise ConfigError(
                f"copy count {quote(count)} is not valid: ARM takes an integer from 0 to 800",
                self.ctx.origin(f"{path}.count"),
            )
        loop = name.lower()
        if loop in self.copy_indexes:
            raise ConfigError(
                f"copy loop {quote(name)} is nested in a loop of the same name",
                self.ctx.origin(path),
            )
        items: list[Any] = []
        try:
            for index in range(count):
                self.copy_indexes[loop] = index
                items.append(self.resolve(entry[keys["input"]], f"{path}.input"))
        finally:
            self.copy_indexes.pop(loop, None)
        return name, self._checked(items, "an array", path)

    def _checked(self, value: Any, construct: str, path: str) -> Any:
        try:
            return checked(value, construct)
        except LimitError as exc:
            raise ConfigError(exc.message, self.ctx.origin(path)) from None

    def _expression(self, text: str, path: str) -> Any:
        try:
            step("a template expression")
            tokens = self._tokens(text[1:-1])
            value, rest = self._parse(tokens, path)
            if rest:
                raise SyntaxError("unexpected text after the expression")
            return value
        except LimitError as exc:
            raise ConfigError(
                f"template expression {quote(text)}: {exc.message}", self.ctx.origin(path)
            ) from None
        except _Unsupported as exc:
            raise ConfigError(
                f"template expression {quote(text)} uses {exc}(), which acl cannot evaluate offline: "
                "only parameters(), variables(), concat(), format() and copyIndex() are resolved; "
                "give the value directly or through a parameter",
                self.ctx.origin(path),
            ) from None
        except (SyntaxError, IndexError) as exc:
            raise ConfigError(
                f"template expression {quote(text)} cannot be parsed: {exc}",
                self.ctx.origin(path),
            ) from None
        except (ValueError, TypeError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(
                f"template expression {quote(text)} has a function called with the wrong arguments "
                f"({exc})",
                self.ctx.origin(path),
            ) from None

    @staticmethod
    def _tokens(text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise SyntaxError(f"unexpected character at {quote(text[pos:])}")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        return tokens

    def _parse(
        self, tokens: list[tuple[str, str]], path: str, depth: int = 0
    ) -> tuple[Any, list[tuple[str, str]]]:
        if depth >= MAX_DEPTH:
            raise LimitError(f"function calls are nested more than {MAX_DEPTH} levels deep")
        step("a template expression", len(tokens) // 8 + 1)  # each call copies the rest
        kind, text = tokens[0]
        rest = tokens[1:]
        if kind == "string":
            return text[1:-1].replace("''", "'"), rest
        if kind == "number":
            return int(text), rest
        if kind == "name" and text.lower() in ("true", "false") and (not rest or rest[0][1] != "("):
            return text.lower() == "true", rest
        if kind != "name" or not rest or rest[0][1] != "(":
            raise SyntaxError(f"expected a function call at {quote(text)}")
        rest = rest[1:]
        args: list[Any] = []
        while rest[0][1] != ")":
            arg, rest = self._parse(rest, path, depth + 1)
            args.append(arg)
            if rest[0][1] == ",":
                rest = rest[1:]
            elif rest[0][1] != ")":
                raise SyntaxError(f"expected ',' or ')' at {quote(rest[0][1])}")
        rest = rest[1:]
        value = checked(self._call(text, args, path), f"{text}()")
        while rest and rest[0][1] in (".", "["):
            if rest[0][1] == ".":
                key = rest[1][1]
                value = self._member(value, key, path)
                rest = rest[2:]
            else:
                index, rest = self._parse(rest[1:], path, depth + 1)
                if not rest or rest[0][1] != "]":
                    raise SyntaxError("expected ']'")
                value = self._member(value, index, path)
                rest = rest[1:]
        return value, rest

    def _member(self, value: Any, key: Any, path: str) -> Any:
        try:
            if isinstance(value, Mapping):
                for name in value:
                    if str(name).lower() == str(key).lower():
                        return value[name]
                raise KeyError(key)
            return value[key]
        except (KeyError, IndexError, TypeError):
            raise ConfigError(
                f"template value {quote(value)} has no member {quote(key)}", self.ctx.origin(path)
            ) from None

    def _call(self, name: str, args: list[Any], path: str) -> Any:
        functions: dict[str, Callable[[list[Any], str], Any]] = {
            "parameters": self._parameter,
            "variables": self._variable,
            "concat": self._concat,
            "format": self._format,
            "copyindex": self._copy_index,
        }
        if self.resource_ids:
            functions["resourceid"] = self._resource_id
        function = functions.get(name.lower())
        if function is None:
            raise _Unsupported(name)
        return function(args, path)

    def _parameter(self, args: list[Any], path: str) -> Any:
        (name,) = args
        for key, value in self.parameters.items():
            if key.lower() == str(name).lower():
                if value is _MISSING:
                    raise ConfigError(
                        f"template parameter {quote(name)} has no value: give it a defaultValue, "
                        "a parameters file (--parameters) or --param NAME=VALUE",
                        self.ctx.origin(path),
                    )
                if isinstance(value, _Default):
                    # Defaults are resolved only when used, so an unused or overridden
                    # default such as [resourceGroup().location] does not matter.
                    marker = f"parameters.{key}"
                    if marker in self._resolving:
                        raise ConfigError(
                            f"template parameter {quote(name)} refers to itself",
                            self.ctx.origin(path),
                        )
                    self._resolving.add(marker)
                    value = self.resolve(value.value, f"$.parameters.{key}.defaultValue")
                    self._resolving.discard(marker)
                    self.parameters[key] = value
                return value
        raise ConfigError(
            f"template parameter {quote(name)} is not declared", self.ctx.origin(path)
        )

    def _copy_index(self, args: list[Any], path: str) -> Any:
        if not args or not isinstance(args[0], str):
            raise ConfigError(
                "copyIndex() without a loop name: acl expands variable and property copy loops, "
                "whose copyIndex() names the loop (copyIndex('name') or copyIndex('name', "
                "offset)); a resource copy loop is not expanded",
                self.ctx.origin(path),
            )
        name, *rest = args
        offset = rest[0] if rest else 0
        if len(rest) > 1 or isinstance(offset, bool) or not isinstance(offset, int):
            raise ValueError("copyIndex takes a loop name and an optional integer offset")
        index = self.copy_indexes.get(name.lower())
        if index is None:
            raise ConfigError(
                f"copyIndex({quote(name)}) is outside a copy loop of that name",
                self.ctx.origin(path),
            )
        return index + offset

    def _variable(self, args: list[Any], path: str) -> Any:
        (name,) = args
        key = next(
            (
                k
                for k in self.variable_defs
                if k.lower() == str(name).lower()
                and not (k.lower() == "copy" and isinstance(self.variable_defs[k], list))
            ),
            None,
        )
        if key is None:
            loops = next((v for k, v in self.variable_defs.items() if k.lower() == "copy"), None)
            if isinstance(loops, list):
                for index, entry in enumerate(loops):
                    entry_name = entry.get("name") if isinstance(entry, Mapping) else None
                    if isinstance(entry_name, str) and entry_name.lower() == str(name).lower():
                        marker = f"variables.copy.{entry_name.lower()}"
                        if marker not in self.variables:
                            if marker in self._resolving:
                                raise ConfigError(
                                    f"template variable {quote(name)} refers to itself",
                                    self.ctx.origin(path),
                                )
                            self._resolving.add(marker)
                            _, items = self._copy_loop(entry, f"$.variables.copy[{index}]")
                            self._resolving.discard(marker)
                            self.variables[marker] = items
                        return self.variables[marker]
            raise ConfigError(
                f"template variable {quote(name)} is not declared", self.ctx.origin(path)
            )
        if key not in self.variables:
            if f"variables.{key}" in self._resolving:
                raise ConfigError(
                    f"template variable {quote(name)} refers to itself", self.ctx.origin(path)
                )
            self._resolving.add(f"variables.{key}")
            self.variables[key] = self.resolve(self.variable_defs[key], f"$.variables.{key}")
            self._resolving.discard(f"variables.{key}")
        return self.variables[key]

    @staticmethod
    def _resource_id(args: list[Any], path: str) -> Any:
        texts = [_text(arg) for arg in args]
        kinds = [i for i, text in enumerate(texts) if "/" in text]
        if not kinds:
            raise ValueError("resourceId() needs a resource type such as 'Microsoft.Web/sites'")
        at = kinds[0]
        scope = texts[:at]
        subscription = scope[0] if len(scope) == 2 else "*"
        group = scope[-1] if scope else "*"
        kind = texts[at].split("/")
        names = texts[at + 1 :]
        if len(names) != len(kind) - 1:
            raise ValueError(f"resourceId() of {texts[at]!r} needs {len(kind) - 1} name(s)")
        parts = [kind[0], kind[1]]
        for child, name in zip(kind[2:], names[1:], strict=True):
            parts += [child]
            parts += [name]
        parts.insert(2, names[0])
        return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/" + "/".join(parts)

    @staticmethod
    def _concat(args: list[Any], path: str) -> Any:
        if args and all(isinstance(arg, list) for arg in args):
            _bounded_sum((len(arg) for arg in args), "concat()", "list elements")
            return [item for arg in args for item in arg]
        pieces = [_text(arg) for arg in args]
        _bounded_sum((len(piece) for piece in pieces), "concat()", "characters")
        return "".join(pieces)

    @staticmethod
    def _format(args: list[Any], path: str) -> Any:
        template, *values = args
        texts: dict[int, str] = {}
        length = 0

        def value(match: re.Match[str]) -> str:
            nonlocal length
            index = int(match.group(1))
            if index not in texts:
                texts[index] = _text(values[index])
            length += len(texts[index])
            if length > MAX_VALUE_CHARS:
                raise LimitError(
                    f"format() makes a value of more than {MAX_VALUE_CHARS:,} characters: the "
                    f"limit of one evaluated value is {MAX_VALUE_CHARS:,} characters (1 MiB)"
                )
            return texts[index]

        return re.sub(r"\{(\d+)\}", value, str(template))


def _bounded_sum(lengths: Any, construct: str, what: str) -> None:
    total = 0
    limit = MAX_VALUE_CHARS if what == "characters" else MAX_VALUE_ITEMS
    for length in lengths:
        total += length
        if total > limit:
            raise LimitError(
                f"{construct} makes a value of more than {limit:,} {what}, the limit of one "
                "evaluated value"
            )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


@dataclass(frozen=True)
class _Default:
    """A parameter's defaultValue, resolved when first used."""

    value: Any


class _Missing:
    def __repr__(self) -> str:
        return "<no value>"


_MISSING: Any = _Missing()


# ---------------------------------------------------------------------------- parameters


def _coerce(name: str, value: Any, declared: Mapping[str, Any], origin: Origin) -> Any:
    """A ``--param`` string turned into the declared type."""
    kind = str(declared.get("type", "string")).lower()
    if not isinstance(value, str) or kind in ("string", "securestring"):
        return value
    try:
        parsed = json_loads(value, None)
    except json.JSONDecodeError:
        raise ConfigError(
            f"--param {name}={quote(value)}: parameter {quote(name)} is of type {kind}: "
            "expected JSON",
            origin,
        ) from None
    return parsed


def _parameter_values(
    document: Mapping[str, Any], options: LoadOptions, ctx: Context
) -> dict[str, Any]:
    declared = document.get("parameters") or {}
    if not isinstance(declared, Mapping):
        raise ConfigError("parameters must be an object", ctx.origin("$.parameters"))
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        has_default = isinstance(spec, Mapping) and "defaultValue" in spec
        values[name] = _Default(spec["defaultValue"]) if has_default else _MISSING
    if options.parameters_file is not None:
        file = str(options.parameters_file)
        try:
            given = json_loads(Path(file).read_text(encoding="utf-8-sig"), file)
        except OSError as exc:
            raise ConfigError(
                f"cannot read parameters file: {exc.strerror or exc}", Origin(file=file)
            ) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not UTF-8 text: {exc.reason}", Origin(file=file)) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON: {exc.msg}", Origin(file=file, line=exc.lineno, column=exc.colno)
            ) from None
        entries = given.get("parameters") if isinstance(given, Mapping) else None
        if not isinstance(entries, Mapping):
            raise ConfigError(
                "expected a deployment parameters file with a 'parameters' object",
                Origin(file=file, path="$"),
            )
        for name, entry in entries.items():
            if not isinstance(entry, Mapping) or "value" not in entry:
                raise ConfigError(
                    'expected {"value": ...} (Key Vault references cannot be resolved offline)',
                    Origin(file=file, path=f"$.parameters.{name}"),
                )
            values[
                _declared_name(name, declared, Origin(file=file, path=f"$.parameters.{name}"))
            ] = entry["value"]
    for name, value in options.parameters.items():
        origin = Origin(path=f"--param {name}")
        key = _declared_name(name, declared, origin)
        spec = declared.get(key)
        values[key] = _coerce(name, value, spec if isinstance(spec, Mapping) else {}, origin)
    return values


def _declared_name(name: str, declared: Mapping[str, Any], origin: Origin) -> str:
    for key in declared:
        if key.lower() == name.lower():
            return str(key)
    raise ConfigError(
        f"parameter {quote(name)} is not declared by the template "
        f"(it declares: {', '.join(sorted(declared)) or 'none'})",
        origin,
    )


# ---------------------------------------------------------------------------- resources


@dataclass
class _Found:
    """What the template says about one site: its siteConfig and config/web parts."""

    site_parts: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    config_parts: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    public: tuple[str, Any] | None = None
    properties: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    """The site resource's properties, unresolved, for the site state."""
    connections: list[tuple[str, Any]] = field(default_factory=list)
    """``sites/privateEndpointConnections`` resources: (path, properties)."""
    bindings: list[tuple[str, Any]] = field(default_factory=list)
    """``sites/hostNameBindings`` resources: (path, properties)."""
    declared: bool = False
    """A site, slot or config/web resource names it (not only a child resource)."""

    def is_site(self) -> bool:
        return self.declared


@dataclass
class _Scan:
    """Everything the walk collects: the sites, and the private endpoints that may target one."""

    sites: dict[str, _Found] = field(default_factory=dict)
    endpoints: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    deployments: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    """Nested deployments (Bicep modules): not read, but one may hold a private endpoint."""
    other_configs: list[str] = field(default_factory=list)
    """The names of sites/config resources other than ``web`` (appsettings, authsettingsV2,
    ...): not about access restrictions."""


def _walk(
    resources: Any,
    path: str,
    parent_type: str,
    parent_name: list[str],
    resolver: _Resolver,
    scan: _Scan,
) -> None:
    found = scan.sites
    if resources is None:
        return
    if not isinstance(resources, list):
        raise ConfigError("resources must be a list", resolver.ctx.origin(path))
    for index, resource in enumerate(resources):
        rpath = f"{path}[{index}]"
        if not isinstance(resource, Mapping):
            continue
        raw_type = resolver.resolve(resource.get("type", ""), f"{rpath}.type")
        if not isinstance(raw_type, str):
            continue
        full_type = f"{parent_type}/{raw_type}" if parent_type else raw_type
        kind = full_type.lower()
        if kind == PRIVATE_ENDPOINTS:
            if "copy" in resource and "microsoft.web/sites" in json.dumps(resource).lower():
                raise ConfigError(
                    "a Microsoft.Network/privateEndpoints resource that may target a site uses a "
                    "copy loop, which acl does not expand; write the resources out, or say "
                    "whether the site has a private endpoint with --private-endpoint-site / "
                    "--no-private-endpoint-site",
                    resolver.ctx.origin(f"{rpath}.copy"),
                )
            if "copy" not in resource:
                scan.endpoints.append((rpath, resource))
            continue
        if kind == DEPLOYMENTS:
            scan.deployments.append((rpath, resource))
            continue
        if kind not in (SITES, SLOTS, SITE_CONFIG, SLOT_CONFIG, *SITE_CONNECTIONS, *SITE_BINDINGS):
            continue
        if "copy" in resource:
            raise ConfigError(
                f"resource of type {quote(full_type)} uses a copy loop, which acl does not expand; "
                "write the resources out or use a parameter",
                resolver.ctx.origin(f"{rpath}.copy"),
            )
        if "condition" in resource:
            condition = resolver.resolve(resource["condition"], f"{rpath}.condition")
            if condition is False:
                continue
        name = resolver.resolve(resource.get("name"), f"{rpath}.name")
        if not isinstance(name, str) or not name:
            raise ConfigError(
                f"resource name {quote(name)} is not a string",
                resolver.ctx.origin(f"{rpath}.name"),
            )
        segments = [*parent_name, *name.split("/")] if parent_type else name.split("/")
        props = resource.get("properties")
        if kind in (SITES, SLOTS):
            key = "/".join(segments)
            entry = found.setdefault(key, _Found())
            entry.declared = True
            if isinstance(props, Mapping):
                entry.properties.append((f"{rpath}.properties", props))
                if "siteConfig" in props:
                    config = props["siteConfig"]
                    cpath = f"{rpath}.properties.siteConfig"
                    entry.site_parts.append((cpath, _access_part(config, cpath, resolver)))
                if "publicNetworkAccess" in props:
                    ppath = f"{rpath}.properties.publicNetworkAccess"
                    entry.public = (ppath, resolver.resolve(props["publicNetworkAccess"], ppath))
            _walk(
                resource.get("resources"),
                f"{rpath}.resources",
                full_type,
                segments,
                resolver,
                scan,
            )
        elif kind in SITE_CONNECTIONS or kind in SITE_BINDINGS:
            owner = found.setdefault("/".join(segments[:-1]), _Found())
            where = owner.connections if kind in SITE_CONNECTIONS else owner.bindings
            where.append((f"{rpath}.properties", props))
        else:
            if segments[-1].lower() != "web":
                scan.other_configs.append("/".join(segments))
                continue
            key = "/".join(segments[:-1])
            entry = found.setdefault(key, _Found())
            entry.declared = True
            if props is not None:
                cpath = f"{rpath}.properties"
                entry.config_parts.append((cpath, _access_part(props, cpath, resolver)))


def _access_part(config: Any, path: str, resolver: _Resolver) -> Mapping[str, Any]:
    """Resolve only the access-restriction keys of a siteConfig-shaped value."""
    if isinstance(config, str):
        config = resolver.resolve(config, path)
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"{quote(config)} is not valid: expected a siteConfig object",
            resolver.ctx.origin(path),
        )
    part = {
        key: resolver.resolve(config[key], f"{path}.{key}") for key in ACCESS_KEYS if key in config
    }
    for copy_key, loops in config.items():
        if copy_key.lower() != "copy" or not isinstance(loops, list):
            continue
        for index, entry in enumerate(loops):  # property iteration: copy.name is the key
            name = entry.get("name") if isinstance(entry, Mapping) else None
            if isinstance(name, str) and not name.startswith("[") and name not in ACCESS_KEYS:
                continue  # another siteConfig property: not about access
            where = f"{path}.{copy_key}[{index}]"
            key, items = resolver._copy_loop(entry, where)
            if key in ACCESS_KEYS:
                if key in part:
                    raise ConfigError(
                        f"{key} is given both as a property and by a copy loop",
                        resolver.ctx.origin(where),
                    )
                part[key] = items
    return part


@bounded
def load_template(document: Any, options: LoadOptions) -> Site:
    """The site of an ARM deployment template (``options.site`` picks one of several)."""
    # a template is what is sent to Azure: a Deny all entry in it is ignored
    ctx = Context(file=options.source, service_tags=options.tags(), document="sent")
    if not isinstance(document, Mapping):
        raise ConfigError("expected a deployment template object", ctx.origin("$"))
    variables = document.get("variables") or {}
    resolver = _Resolver(
        ctx, _parameter_values(document, options, ctx), variables, on_warning=options.warn
    )
    scan = _Scan()
    _walk(document.get("resources"), "$.resources", "", [], resolver, scan)
    found = {name: entry for name, entry in scan.sites.items() if entry.is_site()}
    if not found:
        others = ""
        if scan.other_configs:
            listed = ", ".join(quote(name) for name in scan.other_configs[:5])
            others = (
                f"; its sites/config resources ({listed}) are not config/web, the only one "
                "that holds access restrictions (its name is SITE/web, literal or computed)"
            )
        raise ConfigError(
            "the template has no Microsoft.Web/sites or sites/slots resource and no sites/config "
            f"resource named web{others}",
            ctx.origin("$.resources"),
        )
    names = sorted(found)
    if options.site is not None:
        matches = [name for name in names if name.lower() == options.site.lower()]
        if not matches:
            raise ConfigError(
                f"site {quote(options.site)} is not in the template; its sites are: {', '.join(names)}",
                ctx.origin("$.resources"),
            )
        chosen = matches[0]
    elif len(names) == 1:
        chosen = names[0]
    else:
        raise ConfigError(
            f"the template has {len(names)} sites: choose one with --site NAME "
            f"(one of: {', '.join(names)})",
            ctx.origin("$.resources"),
        )
    entry = found[chosen]
    if options.document == "returned":
        raise ConfigError(
            "a deployment template is what is sent to Azure, never what it returns: "
            "--document returned does not apply to it",
            ctx.origin("$"),
        )
    merged: dict[str, Any] = {}
    key_paths: dict[str, str] = {}
    # config/web is applied after the site's siteConfig, wherever it stands in the file.
    for path, part in [*entry.site_parts, *entry.config_parts]:
        for key, value in part.items():
            merged[key] = value
            key_paths[key] = f"{path}.{key}"
    public_value = merged.get("publicNetworkAccess")
    public_path = key_paths.get("publicNetworkAccess")
    if entry.public is not None:
        public_path, public_value = entry.public
    site = site_from_config(
        merged,
        path="$",
        ctx=ctx,
        name=chosen,
        public_network_access=public_value,
        public_path=public_path,
        key_paths=key_paths,
    )
    return _with_template_state(site, chosen, entry, scan, resolver, options)


def _with_template_state(
    site: Site, chosen: str, entry: _Found, scan: _Scan, resolver: _Resolver, options: LoadOptions
) -> Site:
    """The site state the template gives: private endpoints, an App Service Environment, an
    IP-based SSL binding and ``ipMode`` (the options, when given, are not looked up here)."""
    ctx = resolver.ctx
    values: dict[str, Any] = {}
    ip_mode = site.ip_mode
    for path, props in entry.properties:
        if options.hosting is None and "hostingEnvironmentProfile" in props:
            ppath = f"{path}.hostingEnvironmentProfile"
            try:
                profile = resolver.resolve_ids(props["hostingEnvironmentProfile"], ppath)
            except ConfigError as exc:
                raise ConfigError(
                    f"{exc.message}; or say where the site runs with --hosting ase|multi-tenant",
                    exc.origin,
                ) from None
            if hosting_of(profile, ppath, ctx) == "ase":
                values["hosting"] = "ase"
        if options.ip_based_ssl is None and "hostNameSslStates" in props:
            spath = f"{path}.hostNameSslStates"
            states = resolver.resolve(props["hostNameSslStates"], spath)
            if ssl_states_ip_based(states, spath, ctx):
                values["ip_based_ssl"] = True
        if ip_mode is None and "ipMode" in props:
            ip_mode = parse_ip_mode(
                resolver.resolve(props["ipMode"], f"{path}.ipMode"), ctx.origin(f"{path}.ipMode")
            )
    if options.ip_based_ssl is None:
        for path, props in entry.bindings:
            if not isinstance(props, Mapping) or "sslState" not in props:
                continue
            state = resolver.resolve(props["sslState"], f"{path}.sslState")
            if ssl_states_ip_based([{"sslState": state}], f"{path}.sslState", ctx):
                values["ip_based_ssl"] = True
    if options.private_endpoint is None:
        values["has_private_endpoint"] = _has_private_endpoint(chosen, entry, scan, resolver)
    if ip_mode is not None:
        values["ip_mode"] = ip_mode
    return replace(site, **values)


def _has_private_endpoint(chosen: str, entry: _Found, scan: _Scan, resolver: _Resolver) -> bool:
    """An approved ``sites/privateEndpointConnections`` child, or a
    ``Microsoft.Network/privateEndpoints`` resource whose automatically approved connection
    (``privateLinkServiceConnections``) targets the site. A manual connection
    (``manualPrivateLinkServiceConnections``) waits for the site owner's approval, so it does
    not count; a warning says so."""
    ctx = resolver.ctx
    for rpath, resource in scan.deployments:
        props = resource.get("properties")
        inner = props.get("template") if isinstance(props, Mapping) else None
        text = json.dumps(inner if inner is not None else props).lower()
        if "privateendpoint" in text or (inner is None and "templatelink" in text):
            raise ConfigError(
                "a nested deployment (a Bicep module) may create a private endpoint for the "
                "site, and acl does not read nested deployments: say whether the site has a "
                "private endpoint with --private-endpoint-site or --no-private-endpoint-site",
                ctx.origin(rpath),
            )
    found = False
    for path, props in entry.connections:
        if not isinstance(props, Mapping):
            raise ConfigError(
                f"private endpoint connection properties {props!r:.60} are not valid: expected "
                "an object",
                ctx.origin(path),
            )
        key = "privateLinkServiceConnectionState"
        state = {key: resolver.resolve(props.get(key), f"{path}.{key}")}
        if connection_approved({"properties": state}, path.removesuffix(".properties"), ctx):
            found = True
    for rpath, resource in scan.endpoints:
        if "condition" in resource:
            condition = resolver.resolve(resource["condition"], f"{rpath}.condition")
            if condition is False:
                continue
        props = resource.get("properties")
        if not isinstance(props, Mapping):
            continue
        for key, approved in (
            ("privateLinkServiceConnections", True),
            ("manualPrivateLinkServiceConnections", False),
        ):
            connections = props.get(key)
            if connections is None:
                continue
            cpath = f"{rpath}.properties.{key}"
            if not isinstance(connections, list):
                connections = resolver.resolve(connections, cpath)
            if not isinstance(connections, list):
                raise ConfigError(f"{key} is not valid: expected a list", ctx.origin(cpath))
            for index, connection in enumerate(connections):
                where = f"{cpath}[{index}]"
                if not _targets(connection, chosen, where, resolver):
                    continue
                if approved:
                    found = True
                else:
                    resolver.warn(
                        f"{ctx.origin(where)}: a manual private endpoint connection to "
                        f"{chosen!r} waits for approval and is not counted; once it is approved, "
                        "give --private-endpoint-site"
                    )
    return found


def _targets(connection: Any, chosen: str, where: str, resolver: _Resolver) -> bool:
    """Whether a private link service connection targets the site ``chosen`` (``app`` or
    ``app/slot``): its ``privateLinkServiceId`` names the app (compared by name, since the
    subscription and resource group are not known offline), and its ``groupIds`` say
    ``sites`` (the app) or ``sites-SLOT`` (a slot)."""
    ctx = resolver.ctx
    props = connection.get("properties") if isinstance(connection, Mapping) else None
    if not isinstance(props, Mapping):
        raise ConfigError(
            "private link service connection is not valid: expected an object with properties",
            ctx.origin(where),
        )
    where = f"{where}.properties"
    try:
        target = resolver.resolve_ids(
            props.get("privateLinkServiceId"), f"{where}.privateLinkServiceId"
        )
    except ConfigError as exc:
        raise ConfigError(
            f"{exc.message}; this private endpoint may target the site: say whether the site "
            "has a private endpoint with --private-endpoint-site or --no-private-endpoint-site",
            exc.origin,
        ) from None
    if not isinstance(target, str):
        raise ConfigError(
            f"privateLinkServiceId {target!r:.60} is not valid: expected a resource id",
            ctx.origin(f"{where}.privateLinkServiceId"),
        )
    match = _SITE_ID.search(target)
    if match is None:
        return False
    name = match.group(1)
    if match.group(2):
        name += f"/{match.group(2)}"
    groups = resolver.resolve(props.get("groupIds"), f"{where}.groupIds")
    if isinstance(groups, list):
        for group in groups:
            if isinstance(group, str) and group.lower().startswith("sites-"):
                name = f"{name}/{group[len('sites-') :]}"
                break
    return name.lower() == chosen.lower()

"""Terraform (azurerm): ``.tf`` files and folders, and ``terraform show -json`` output.

Two formats:

* ``terraform``: the configuration, one ``.tf`` or ``.tf.json`` file or a folder (a root
  module, with the child modules it calls from local paths or through
  ``.terraform/modules/modules.json``; each folder's override files merged into its other
  files as Terraform merges them). The web and function apps
  (``azurerm_linux_web_app``, ``azurerm_windows_web_app``, ``azurerm_linux_function_app``,
  ``azurerm_windows_function_app``, their ``_slot`` variants, ``azurerm_logic_app_standard``,
  and the legacy ``azurerm_app_service``, ``azurerm_function_app`` and their slots) are read
  with the provider's defaults: priority 65000, action ``Allow``, and (azurerm 3.95 and later,
  not the legacy resources nor the logic app) ``ip_restriction_default_action = "Allow"``.
  Variables come from their defaults, ``TF_VAR_*``, ``terraform.tfvars``, ``*.auto.tfvars``,
  ``var_files`` and ``variables``; locals, templates, ``dynamic`` blocks, module outputs and
  ``count``/``for_each`` are expanded when their values can be known offline. A value only a plan can know is an error naming the file, line, block and
  expression, or (``unresolved="skip-rule"``) leaves that rule out with a warning.
* ``terraform-show``: the JSON of ``terraform show -json`` for a plan or a state (and a raw
  ``terraform.tfstate``): the values the provider will send, or sent.

Either way the Terraform blocks become ARM-shaped ``IpSecurityRestriction`` objects and go
through :func:`acl.formats.restrictions.site_from_config`, so every rule is validated, and
every message worded, exactly as for ARM JSON; the origins carry the ``.tf`` file and line.
"""

from __future__ import annotations

import bisect
import difflib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lark import Tree

from ..errors import ConfigError, Origin, quote
from ..model import Site
from ._azurerm_schema import ARGUMENTS, BLOCKS
from ._hcl import (
    EvalError,
    Evaluator,
    HclFile,
    HclSyntaxError,
    JsonValue,
    ModuleOutputs,
    NeedsPlan,
    Scope,
    TypeSpec,
    attributes,
    blocks,
    convert,
    parse_hcl,
    parse_type,
    to_number,
    to_string,
    type_name,
)
from ._limits import MAX_DEPTH, bounded, json_loads, parse_int
from .options import AZURERM_DEFAULT_ACTION_VERSION, LoadOptions
from .restrictions import PlacedContext, site_from_config

__all__ = [
    "FLEX_TYPES",
    "LEGACY_TYPES",
    "LOGIC_APP_TYPES",
    "WEB_APP_TYPES",
    "is_terraform_show",
    "load_terraform",
    "load_terraform_show",
    "parse_azurerm_version",
]

_CURRENT = (
    "azurerm_linux_web_app",
    "azurerm_windows_web_app",
    "azurerm_linux_function_app",
    "azurerm_windows_function_app",
)
FLEX_TYPES = frozenset({"azurerm_function_app_flex_consumption"})
"""The Flex Consumption function app (azurerm 4.x): the site_config of the current web apps,
``ip_restriction_default_action`` and ``scm_ip_restriction_default_action`` defaulting to
``Allow``; azurerm has no slot resource for it."""
LOGIC_APP_DEFAULT_ACTION_VERSION = (4, 67)
"""The azurerm release whose ``azurerm_logic_app_standard`` takes
``ip_restriction_default_action`` and ``scm_ip_restriction_default_action``."""
LOGIC_APP_TYPES = frozenset({"azurerm_logic_app_standard"})
"""Logic App Standard: a web app without default actions, whose public network access is
``public_network_access`` (``"Enabled"``/``"Disabled"``) or, in azurerm 3.87 and later,
``site_config.public_network_access_enabled``. azurerm has no slot resource for it."""
LEGACY_TYPES = frozenset(
    {
        "azurerm_app_service",
        "azurerm_app_service_slot",
        "azurerm_function_app",
        "azurerm_function_app_slot",
    }
)
WEB_APP_TYPES = frozenset(
    {*_CURRENT, *(f"{t}_slot" for t in _CURRENT), *FLEX_TYPES, *LEGACY_TYPES, *LOGIC_APP_TYPES}
)
"""The resource types whose ``site_config`` holds access restrictions."""

_HEADERS = {
    "x_forwarded_host": "x-forwarded-host",
    "x_forwarded_for": "x-forwarded-for",
    "x_azure_fdid": "x-azure-fdid",
    "x_fd_health_probe": "x-fd-healthprobe",
}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_INT32_MAX = 2**31 - 1
_DEFAULT_PRIORITY = 65000


def parse_azurerm_version(text: str) -> tuple[int, int]:
    """``"3.94"``, ``"3.94.1"`` or ``"v4.0.0"`` as (major, minor).

    >>> parse_azurerm_version("v3.95.0")
    (3, 95)
    """
    match = re.fullmatch(r"\s*[=v]*\s*(\d+)\.(\d+)(?:\.\d+)?(?:[-+][\w.]+)?\s*", text)
    if match is None:
        raise ConfigError(
            f"azurerm version {quote(text)} is not valid: expected MAJOR.MINOR[.PATCH], e.g. 3.94 or 4.1.0"
        )
    return int(match.group(1)), int(match.group(2))


# ---------------------------------------------------------------------------- block readers


class _Node:
    """A block (or an object standing for one) whose attributes can be read."""

    file: str | None
    line: int | None
    path: str

    def _place(
        self, scope: Scope, file: HclFile, evaluator: Evaluator, line: int | None, path: str
    ) -> None:
        self.scope = scope
        self.hcl = file
        self.file = file.name
        self.evaluator = evaluator
        self.line = line
        self.path = path

    def value(self, name: str) -> Any:
        raise NotImplementedError

    def children(self, name: str) -> list[_Node | _Skipped]:
        raise NotImplementedError

    def attribute_line(self, name: str) -> int | None:
        return self.line

    def attribute_file(self, name: str) -> str | None:
        """The file an attribute's value is written in (an override file's, when merged)."""
        return self.file

    def defines(self, name: str) -> bool:
        """Whether the block sets ``name``, as an attribute or as blocks (``dynamic`` too)."""
        raise NotImplementedError

    def names(self) -> list[tuple[str, str, int | None]]:
        """The attribute and block names the block sets: (name, "argument" or "block", line);
        a ``dynamic "x"`` block counts as a block ``x``."""
        raise NotImplementedError

    def origin(self, name: str | None = None) -> Origin:
        return Origin(
            file=self.file, line=self.line, path=f"{self.path}.{name}" if name else self.path
        )


@dataclass
class _Skipped:
    """Blocks of a ``dynamic`` block whose ``for_each`` needs a plan."""

    error: NeedsPlan
    file: str | None
    line: int | None
    path: str


class _HclNode(_Node):
    def __init__(
        self,
        body: Tree[Any],
        scope: Scope,
        file: HclFile,
        evaluator: Evaluator,
        line: int | None,
        path: str,
    ) -> None:
        self.body = body
        self._place(scope, file, evaluator, line, path)
        try:
            self._attributes = attributes(body)
        except EvalError as exc:
            raise ConfigError(
                exc.message, Origin(file=file.name, line=exc.line, path=path)
            ) from None

    def attribute_line(self, name: str) -> int | None:
        found = self._attributes.get(name)
        return found[1] if found else self.line

    def defines(self, name: str) -> bool:
        return name in self._attributes or any(
            block.type == name or (block.type == "dynamic" and block.labels[:1] == (name,))
            for block in blocks(self.body)
        )

    def names(self) -> list[tuple[str, str, int | None]]:
        found = [(name, "argument", line) for name, (_, line) in self._attributes.items()]
        for block in blocks(self.body):
            if block.type == "dynamic" and block.labels:
                found.append((block.labels[0], "block", block.line))
            else:
                found.append((block.type, "block", block.line))
        return found

    def value(self, name: str) -> Any:
        found = self._attributes.get(name)
        if found is None:
            return None
        expression, line = found
        try:
            return self.evaluator.evaluate(expression, self.scope, self.hcl)
        except NeedsPlan as exc:
            exc.line = exc.line or line
            exc.where = f"{self.path}.{name}"  # type: ignore[attr-defined]
            raise
        except EvalError as exc:
            raise ConfigError(
                exc.message,
                Origin(file=self.file, line=exc.line or line, path=f"{self.path}.{name}"),
            ) from None

    def children(self, name: str) -> list[_Node | _Skipped]:
        found: list[_Node | _Skipped] = []
        as_attribute = name in self._attributes
        has_blocks = False
        for block in blocks(self.body):
            if block.type == name:
                has_blocks = True
                found.append(
                    _HclNode(
                        block.body, self.scope, self.hcl, self.evaluator, block.line, self.path
                    )
                )
            elif block.type == "dynamic" and block.labels[:1] == (name,):
                has_blocks = True
                found.extend(self._dynamic(name, block))
        if as_attribute:
            if has_blocks:
                raise ConfigError(
                    f"{name} is given both as an attribute and as blocks",
                    self.origin(name),
                )
            line = self.attribute_line(name)
            try:
                value = self.value(name)
            except NeedsPlan as exc:
                return [_Skipped(exc, self.file, exc.line or line, f"{self.path}.{name}")]
            items = value if isinstance(value, list) else ([] if value is None else [value])
            for item in items:
                if not isinstance(item, dict):
                    raise ConfigError(
                        f"{name} element {quote(item)} is not valid: expected an object",
                        Origin(file=self.file, line=line, path=f"{self.path}.{name}"),
                    )
                found.append(_DictNode(item, None, self.file, line, self.path))
        return found

    def _dynamic(self, name: str, block: Any) -> list[_Node | _Skipped]:
        try:
            spec = attributes(block.body)
        except EvalError as exc:
            raise ConfigError(exc.message, Origin(file=self.file, line=exc.line)) from None
        path = f"{self.path}.dynamic.{name}"
        where = Origin(file=self.file, line=block.line, path=path)
        if "for_each" not in spec:
            raise ConfigError(f'dynamic "{name}" has no for_each', where)
        iterator = name
        if "iterator" in spec:
            iterator_node, _ = spec["iterator"]
            iterator = self.hcl.source(iterator_node)
        contents = [b for b in blocks(block.body) if b.type == "content"]
        if len(contents) != 1:
            raise ConfigError(f'dynamic "{name}" needs exactly one content block', where)
        content = contents[0]
        try:
            collection = self.evaluator.evaluate(spec["for_each"][0], self.scope, self.hcl)
        except NeedsPlan as exc:
            exc.where = f"{path}.for_each"  # type: ignore[attr-defined]
            return [_Skipped(exc, self.file, exc.line or block.line, path)]
        except EvalError as exc:
            raise ConfigError(exc.message, replace(where, line=exc.line or block.line)) from None
        if collection is None:
            return []
        if isinstance(collection, list):
            pairs: list[tuple[Any, Any]] = list(enumerate(collection))
        elif isinstance(collection, dict):
            pairs = [(key, collection[key]) for key in sorted(collection)]
        else:
            raise ConfigError(
                f'dynamic "{name}": for_each is a {type_name(collection)}, not a list, set or map',
                where,
            )
        found: list[_Node | _Skipped] = []
        for key, value in pairs:
            scope = {**self.scope, iterator: {"key": key, "value": value}}
            found.append(
                _HclNode(content.body, scope, self.hcl, self.evaluator, content.line, self.path)
            )
        return found


class _DictNode(_Node):
    """An object from an attribute-syntax block list or from ``terraform show -json``;
    ``unknown`` mirrors it with ``true`` where the plan does not know the value yet."""

    def __init__(
        self, data: Mapping[str, Any], unknown: Any, file: str | None, line: int | None, path: str
    ) -> None:
        self.data = data
        self.unknown = unknown
        self.file = file
        self.line = line
        self.path = path

    def _unknown(self, name: str) -> Any:
        return self.unknown.get(name) if isinstance(self.unknown, Mapping) else None

    def defines(self, name: str) -> bool:
        return name in self.data

    def names(self) -> list[tuple[str, str, int | None]]:
        return [(str(name), "argument", self.line) for name in self.data]

    def value(self, name: str) -> Any:
        if self._unknown(name) is True:
            exc = NeedsPlan(
                "(known after apply)", "the plan has no value for it before apply", self.line
            )
            exc.where = f"{self.path}.{name}"  # type: ignore[attr-defined]
            raise exc
        return self.data.get(name)

    def children(self, name: str) -> list[_Node | _Skipped]:
        if self._unknown(name) is True:
            exc = NeedsPlan(
                "(known after apply)", "the plan has no value for it before apply", self.line
            )
            return [_Skipped(exc, self.file, self.line, f"{self.path}.{name}")]
        items = self.data.get(name)
        if items is None:
            return []
        if isinstance(items, Mapping):
            items = [items]
        if not isinstance(items, list):
            raise ConfigError(
                f"{name} {quote(items)} is not valid: expected a list of objects",
                self.origin(name),
            )
        unknown = self._unknown(name)
        found: list[_Node | _Skipped] = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ConfigError(
                    f"{name} element {quote(item)} is not valid: expected an object",
                    self.origin(f"{name}[{index}]"),
                )
            sub = unknown[index] if isinstance(unknown, list) and index < len(unknown) else None
            found.append(_DictNode(item, sub, self.file, self.line, f"{self.path}.{name}[{index}]"))
        return found


# ---------------------------------------------------------------------------- azurerm schema

_RESOURCE_META = frozenset(
    {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
)
"""Terraform's meta-arguments and blocks, valid in every resource block; ``timeouts`` is
the azurerm block every resource takes."""


def check_schema(node: _Node, resource_type: str, address: str) -> None:
    """Refuse what ``terraform validate`` refuses in the blocks acl reads: an argument or
    block the azurerm schema does not have at the resource's top level, in ``site_config``,
    its ``ip_restriction``/``scm_ip_restriction`` blocks and their ``headers``, and (for a
    private endpoint) ``private_service_connection``. A name that is not there would be
    ignored by a looser reader, and a typo'd ``ip_restrictions`` block leaves the site
    open."""
    top = ARGUMENTS.get(resource_type)
    if top is None:
        return
    _check_names(node, top | _RESOURCE_META | {"timeouts"}, resource_type, address, "")
    nested = BLOCKS.get(resource_type, {})

    def walk(parent: _Node, prefix: str) -> None:
        for name, _, _ in parent.names():
            path = f"{prefix}{name}"
            valid = nested.get(path)
            if valid is None:
                continue
            for child in parent.children(name):
                if isinstance(child, _Skipped):  # its content needs a plan: refused later
                    continue
                _check_names(child, valid, resource_type, address, path)
                walk(child, path + ".")

    walk(node, "")


def _check_names(
    node: _Node, valid: frozenset[str], resource_type: str, address: str, path: str
) -> None:
    for name, kind, line in node.names():
        if name in valid:
            continue
        where = f"{address}.{path}" if path else address
        origin = Origin(file=node.file, line=line, path=f"{where}.{name}")
        if name in ("ip_restriction_default_action", "scm_ip_restriction_default_action"):
            raise ConfigError(
                f"{name} is not an argument of {resource_type}: only azurerm_linux_web_app, "
                "azurerm_windows_web_app, the function apps and their slots (azurerm 3.95 and "
                "later), azurerm_function_app_flex_consumption and azurerm_logic_app_standard "
                "(azurerm 4.67 and later) have it",
                origin,
            )
        close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
        hint = f'did you mean "{close[0]}"? ' if close else ""
        inside = f"in {path} of {resource_type}" if path else f"in {resource_type}"
        raise ConfigError(
            f"unsupported {kind} {quote(name)} {inside}: the azurerm provider has no such "
            f"name there and `terraform validate` refuses it; {hint}fix or remove it",
            origin,
        )


# ---------------------------------------------------------------------------- azurerm mapping


@dataclass
class _Reader:
    """Turns one web app's blocks into an ARM siteConfig, with places and warnings."""

    address: str
    resource_type: str
    options: LoadOptions
    json_paths: bool = False
    places: dict[str, Origin] = field(default_factory=dict)

    @property
    def legacy(self) -> bool:
        return self.resource_type in LEGACY_TYPES

    @property
    def logic_app(self) -> bool:
        return self.resource_type in LOGIC_APP_TYPES

    def plan_error(
        self, exc: NeedsPlan, file: str | None, fallback_line: int | None
    ) -> ConfigError:
        where = getattr(exc, "where", None)
        if self.json_paths:
            message = (
                f"the value is {exc.expression} in the plan: {exc.reason}; read the state "
                "(`terraform show -json` after apply) instead, or use --unresolved=skip-rule to "
                "leave this rule out"
            )
        elif exc.hint is not None:
            message = (
                f"{exc.expression}: {exc.reason}; {exc.hint}, or use --unresolved=skip-rule to "
                "leave this rule out"
            )
        elif self.address.startswith("module."):  # --var sets root variables only
            message = (
                f"{exc.expression} cannot be known offline: {exc.reason}; give the value "
                "through the module block's arguments (root variables take --var or a .tfvars "
                "file), read `terraform show -json` of a plan instead, or use "
                "--unresolved=skip-rule to leave this rule out"
            )
        else:  # not a variable's value: --var cannot give it
            message = (
                f"{exc.expression} cannot be known offline: {exc.reason}; read `terraform show "
                "-json` of a plan instead, or use --unresolved=skip-rule to leave this rule out"
            )
        return ConfigError(message, Origin(file=file, line=exc.line or fallback_line, path=where))

    def skip(
        self, exc: NeedsPlan, file: str | None, line: int | None, path: str, what: str
    ) -> None:
        origin = Origin(file=file, line=exc.line or line, path=path)
        where = getattr(exc, "where", None) or ""
        attribute = where[len(path) + 1 :] if where.startswith(path + ".") else ""
        self.options.warn(
            f"{origin}: {what} skipped (--unresolved=skip-rule): "
            + (f"{attribute} = " if attribute else "")
            + f"{exc.expression} cannot be known offline: {exc.reason}"
            if not self.json_paths
            else f"{origin}: {what} skipped (--unresolved=skip-rule): "
            + (f"{attribute} = " if attribute else "")
            + f"{exc.expression} in the plan"
        )

    def setting(self, node: _Node, name: str) -> Any:
        try:
            return node.value(name)
        except NeedsPlan as exc:
            raise self.plan_error(exc, node.attribute_file(name), node.line) from None

    def site_config(self, resource: _Node) -> tuple[dict[str, Any], dict[str, str], Any, str]:
        """The ARM siteConfig, the key paths and the public network access value and path."""
        config: dict[str, Any] = {}
        key_paths: dict[str, str] = {}
        attr = "public_network_access" if self.logic_app else "public_network_access_enabled"
        public_path = f"{resource.path}.{attr}"
        self.places[public_path] = self._where(resource, attr)
        public: Any = None
        if self.logic_app:
            access = self.setting(resource, attr)
            if access not in (None, ""):
                if access not in ("Enabled", "Disabled") and not self.json_paths:
                    raise ConfigError(
                        f"public_network_access {quote(access)} is not valid: the azurerm provider "
                        "expects 'Enabled' or 'Disabled'",
                        self._where(resource, attr),
                    )
                public = access
        else:
            public = self._enabled(resource, attr)
        configs = resource.children("site_config")
        skipped = [c for c in configs if isinstance(c, _Skipped)]
        if skipped:
            raise self.plan_error(skipped[0].error, skipped[0].file, skipped[0].line)
        nodes = [c for c in configs if isinstance(c, _Node)]
        if len(nodes) > 1:
            raise ConfigError(
                f"{self.resource_type} takes one site_config block, not {len(nodes)}",
                nodes[1].origin(),
            )
        if not nodes:
            node: _Node = _DictNode({}, None, resource.file, resource.line, resource.path)
        else:
            node = nodes[0]
        node.path = f"{resource.path}.site_config" + ("[0]" if self.json_paths else "")
        if self.logic_app:
            # azurerm 3.87 to 4.x: site_config.public_network_access_enabled, the older spelling
            enabled = self._enabled(node, "public_network_access_enabled")
            if enabled is not None and public is None:
                public = enabled
                public_path = f"{node.path}.public_network_access_enabled"
                self.places[public_path] = self._where(node, "public_network_access_enabled")
            elif enabled is not None and enabled != public and not self.json_paths:
                raise ConfigError(
                    f"site_config.public_network_access_enabled says {enabled} and "
                    f"public_network_access says {public}: give one of them",
                    self._where(node, "public_network_access_enabled"),
                )
        for key, attr, collection in (
            ("ipSecurityRestrictions", "ip_restriction", "main"),
            ("scmIpSecurityRestrictions", "scm_ip_restriction", "scm"),
        ):
            list_path = f"{node.path}.{attr}"
            key_paths[key] = list_path
            config[key] = self.rules(node, attr, list_path, collection)
        for key, attr in (
            ("ipSecurityRestrictionsDefaultAction", "ip_restriction_default_action"),
            ("scmIpSecurityRestrictionsDefaultAction", "scm_ip_restriction_default_action"),
        ):
            path = f"{node.path}.{attr}"
            key_paths[key] = path
            origin = self._line_origin(node, attr)
            self.places[path] = origin
            value = self.setting(node, attr)
            action = self.default_action(value, attr, origin)
            if action is not None:
                config[key] = action
        path = f"{node.path}.scm_use_main_ip_restriction"
        key_paths["scmIpSecurityRestrictionsUseMain"] = path
        self.places[path] = self._line_origin(node, "scm_use_main_ip_restriction")
        use_main = self.setting(node, "scm_use_main_ip_restriction")
        if use_main is not None:
            if use_main in ("true", "false"):
                use_main = use_main == "true"
            config["scmIpSecurityRestrictionsUseMain"] = use_main
        return config, key_paths, public, public_path

    def _enabled(self, node: _Node, attr: str) -> str | None:
        """A ``*_enabled`` boolean as ``"Enabled"``/``"Disabled"``, or None when not set."""
        enabled = self.setting(node, attr)
        if enabled is None:
            return None
        if not isinstance(enabled, bool) and enabled not in ("true", "false"):
            raise ConfigError(
                f"{attr} {quote(enabled)} is not valid: expected true or false",
                self._where(node, attr),
            )
        return "Enabled" if enabled in (True, "true") else "Disabled"

    def _line_origin(self, node: _Node, attr: str) -> Origin:
        return self._where(node, attr)

    def default_action(self, value: Any, attr: str, origin: Origin) -> str | None:
        if self.json_paths:
            # state and plan hold what the provider sends: "" means nothing is sent
            if value in (None, ""):
                return None
            if not isinstance(value, str):
                raise ConfigError(
                    f"{attr} {quote(value)} is not valid: expected 'Allow' or 'Deny'", origin
                )
            return value
        if self.logic_app:
            # azurerm 4.67 and later take the default actions; unset, nothing is sent
            if value is None:
                return None
            if self.options.azurerm_version and (
                parse_azurerm_version(self.options.azurerm_version)
                < LOGIC_APP_DEFAULT_ACTION_VERSION
            ):
                raise ConfigError(
                    f"{attr} of azurerm_logic_app_standard needs azurerm 4.67 or later, and the "
                    f"azurerm version is {self.options.azurerm_version}",
                    origin,
                )
            if value not in ("Allow", "Deny"):
                raise ConfigError(
                    f"{attr} {value!r} is not valid: the azurerm provider expects 'Allow' or "
                    "'Deny' (case-sensitive)",
                    origin,
                )
            return str(value)
        if self.legacy:
            # the legacy resources send no default action: the implicit Deny applies
            if value is not None:
                raise ConfigError(
                    f"{attr} is not an argument of {self.resource_type}: only "
                    "azurerm_linux_web_app, azurerm_windows_web_app, the function apps and their "
                    "slots (azurerm 3.95 and later) and azurerm_logic_app_standard (azurerm 4.67 "
                    "and later) have it",
                    origin,
                )
            return None
        version = (
            parse_azurerm_version(self.options.azurerm_version)
            if self.options.azurerm_version
            else AZURERM_DEFAULT_ACTION_VERSION
        )
        if version < AZURERM_DEFAULT_ACTION_VERSION:
            if value is not None:
                raise ConfigError(
                    f"{attr} needs azurerm 3.95 or later, and the azurerm version is "
                    f"{self.options.azurerm_version}",
                    origin,
                )
            return None
        if value is None:
            return "Allow"
        if value not in ("Allow", "Deny"):
            raise ConfigError(
                f"{attr} {quote(value)} is not valid: the azurerm provider expects 'Allow' or 'Deny' "
                "(case-sensitive)",
                origin,
            )
        return str(value)

    def rules(
        self, node: _Node, attr: str, list_path: str, collection: str
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for index, child in enumerate(node.children(attr)):
            if isinstance(child, _Skipped):
                if self.options.unresolved != "skip-rule":
                    raise self.plan_error(child.error, child.file, child.line)
                self.skip(child.error, child.file, child.line, child.path, "its rules are")
                continue
            if not self.json_paths:
                # the block's place among the blocks written (dynamic ones expanded)
                child.path = f"{list_path}[{index}]"
            try:
                rule = self.rule(child)
            except NeedsPlan as exc:
                if self.options.unresolved != "skip-rule":
                    raise self.plan_error(exc, child.file, child.line) from None
                self.skip(exc, child.file, child.line, child.path, "rule")
                continue
            self.places[f"{list_path}[{len(out)}]"] = Origin(
                file=child.file, line=child.line, path=child.path
            )
            out.append(rule)
        return out

    def _text(self, node: _Node, name: str) -> str | None:
        value = node.value(name)
        if value is None:
            return None
        try:
            text = to_string(value)
        except EvalError:
            raise ConfigError(
                f"{name} {quote(value)} is not valid: expected a string", self._where(node, name)
            ) from None
        return text or None

    def _where(self, node: _Node, name: str) -> Origin:
        return Origin(
            file=node.attribute_file(name),
            line=node.attribute_line(name),
            path=f"{node.path}.{name}",
        )

    def rule(self, node: _Node) -> dict[str, Any]:
        ip_address = self._text(node, "ip_address")
        service_tag = self._text(node, "service_tag")
        subnet = self._text(node, "virtual_network_subnet_id")
        if subnet is None and self.legacy:
            subnet = self._text(node, "subnet_id")
        given = [v for v in (ip_address, service_tag, subnet) if v is not None]
        if len(given) > 1:
            raise ConfigError(
                "only one of `ip_address`, `service_tag`, or `virtual_network_subnet_id` can be "
                "specified",
                node.origin(),
            )
        if not given:
            raise ConfigError(
                "one of `ip_address`, `service_tag`, or `virtual_network_subnet_id` must be "
                "specified",
                node.origin(),
            )
        rule: dict[str, Any] = {}
        name = self._text(node, "name")
        if name is not None:
            rule["name"] = name
        if ip_address is not None:
            if not self.legacy and not self.logic_app and not self.json_paths:
                # (the logic app's ip_address is only checked for being non-empty)
                self._check_ip_list(ip_address, self._where(node, "ip_address"))
            rule["ipAddress"] = ip_address
        elif service_tag is not None:
            rule["ipAddress"] = service_tag
            rule["tag"] = "ServiceTag"
        else:
            rule["vnetSubnetResourceId"] = subnet
        description = self._text(node, "description")
        if description is not None:
            rule["description"] = description
        rule["priority"] = self._priority(node)
        action = self._text(node, "action")
        if action is None:
            action = "Allow"
        elif action not in ("Allow", "Deny") and not self.json_paths:
            raise ConfigError(
                f"action {quote(action)} is not valid: the azurerm provider expects 'Allow' or 'Deny' "
                "(case-sensitive)",
                self._where(node, "action"),
            )
        rule["action"] = action
        headers = self._headers(node)
        if headers:
            rule["headers"] = headers
        return rule

    def _check_ip_list(self, text: str, origin: Origin) -> None:
        # the provider's IsIpOrCIDRRangeList: every comma-separated element an IP or a CIDR
        for element in text.split(","):
            if (
                element != element.strip()
                or not element
                or not re.fullmatch(r"[0-9A-Fa-f:.]+(/\d+)?", element)
            ):
                hint = ""
                if element.strip().lower() in ("any", "anyvnets"):
                    hint = '; for every address write "0.0.0.0/0,::/0"'
                raise ConfigError(
                    f"ip_address {quote(text)} is not valid: the azurerm provider expects IP addresses "
                    f"or CIDRs separated by commas, and {quote(element)} is not one{hint}",
                    origin,
                )

    def _priority(self, node: _Node) -> int:
        value = node.value("priority")
        if value is None:
            return _DEFAULT_PRIORITY
        origin = self._where(node, "priority")
        try:
            number = to_number(value)
        except EvalError:
            raise ConfigError(
                f"priority {quote(value)} is not valid: a number is required", origin
            ) from None
        if isinstance(number, float):
            raise ConfigError(
                f"priority {quote(value)} is not valid: a whole number is required", origin
            )
        if not self.json_paths and not 1 <= number <= _INT32_MAX:
            raise ConfigError(
                f"priority {quote(number)} is out of range: the azurerm provider expects 1 to "
                f"{_INT32_MAX} (priority is an int32)",
                origin,
            )
        return number

    def _headers(self, node: _Node) -> dict[str, list[str]]:
        found = node.children("headers")
        skipped = [c for c in found if isinstance(c, _Skipped)]
        if skipped:
            raise skipped[0].error
        nodes = [c for c in found if isinstance(c, _Node)]
        if len(nodes) > 1:
            raise ConfigError(
                f"a rule takes one headers block, not {len(nodes)}", self._where(node, "headers")
            )
        if not nodes:
            return {}
        block = nodes[0]
        block.path = f"{node.path}.headers" + ("[0]" if self.json_paths else "")
        out: dict[str, list[str]] = {}
        for attr, header in _HEADERS.items():
            value = block.value(attr)
            if value is None:
                continue
            origin = self._where(block, attr)
            if not isinstance(value, list):
                raise ConfigError(
                    f"{attr} {quote(value)} is not valid: expected a list of strings", origin
                )
            try:
                values = [to_string(v) for v in value]
            except EvalError:
                raise ConfigError(
                    f"{attr} {quote(value)} is not valid: expected a list of strings", origin
                ) from None
            if not values:
                continue  # an empty list is no condition
            if not self.json_paths:
                self._check_header(attr, values, origin)
            out[header] = values
        return out

    def _check_header(self, attr: str, values: list[str], origin: Origin) -> None:
        limit = 1 if attr == "x_fd_health_probe" else 8
        if len(values) > limit:
            raise ConfigError(
                f"{attr} has {len(values)} values: the azurerm provider allows at most {limit}",
                origin,
            )
        for value in values:
            if attr == "x_azure_fdid" and not _UUID.match(value):
                raise ConfigError(
                    f"{attr} value {quote(value)} is not valid: the azurerm provider expects a UUID",
                    origin,
                )
            if attr == "x_fd_health_probe" and value != "1":
                raise ConfigError(
                    f'{attr} value {quote(value)} is not valid: the azurerm provider expects "1"',
                    origin,
                )
            if attr == "x_forwarded_for" and "/" not in value:
                raise ConfigError(
                    f"{attr} value {quote(value)} is not valid: the azurerm provider expects a CIDR "
                    f"(write {value}/32 or {value}/128)",
                    origin,
                )

    def site(self, resource: _Node, ctx_file: str | None, source: str | None) -> Site:
        if not self.json_paths:  # a plan or state is what the provider wrote itself
            check_schema(resource, self.resource_type, self.address)
        config, key_paths, public, public_path = self.site_config(resource)
        # what the provider sends (a plan or state holds what it sent and read back)
        ctx = PlacedContext(
            file=ctx_file,
            service_tags=self.options.tags(),
            places=dict(self.places),
            document="sent",
        )
        site = site_from_config(
            config,
            path=resource.path,
            ctx=ctx,
            name=self.address,
            public_network_access=public,
            public_path=public_path,
            key_paths=key_paths,
        )
        return replace(site, source=source)


# ---------------------------------------------------------------------------- Terraform JSON


class _JsonObject(dict[str, Any]):
    """A JSON object that knows the line of each of its values."""

    line: int | None = None
    lines: dict[str, int]


class _JsonArray(list[Any]):
    """A JSON array that knows the line of each of its elements."""

    line: int | None = None
    lines: list[int]


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _json_document(text: str, name: str) -> Any:
    """JSON text parsed with the line of every value (for ``.tf.json`` messages)."""
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    decoder = json.JSONDecoder(parse_int=parse_int)

    def line_of(position: int) -> int:
        return bisect.bisect_right(starts, position)

    def fail(message: str, position: int) -> ConfigError:
        line = line_of(position)
        return ConfigError(
            f"invalid JSON: {message}",
            Origin(file=name, line=line, column=position - starts[line - 1] + 1),
        )

    def space(position: int) -> int:
        match = _JSON_SPACE.match(text, position)
        return position if match is None else match.end()

    def value(position: int, depth: int) -> tuple[Any, int]:
        if depth >= MAX_DEPTH:
            raise fail(f"nested more than {MAX_DEPTH} levels deep, the limit acl reads", position)
        position = space(position)
        opening = text[position : position + 1]
        if opening == "{":
            found = _JsonObject()
            found.line, found.lines = line_of(position), {}
            position = space(position + 1)
            if text.startswith("}", position):
                return found, position + 1
            while True:
                position = space(position)
                if not text.startswith('"', position):
                    raise fail("expected a property name in double quotes", position)
                try:
                    key, position = decoder.raw_decode(text, position)
                except json.JSONDecodeError as exc:
                    raise fail(exc.msg, exc.pos) from None
                position = space(position)
                if not text.startswith(":", position):
                    raise fail("expected ':'", position)
                start = space(position + 1)
                item, position = value(start, depth + 1)
                if key in found:
                    raise fail(f"property {quote(key)} is given twice", start)
                found[key] = item
                found.lines[key] = line_of(start)
                position = space(position)
                if text.startswith(",", position):
                    position += 1
                    continue
                if text.startswith("}", position):
                    return found, position + 1
                raise fail("expected ',' or '}'", position)
        if opening == "[":
            array = _JsonArray()
            array.line, array.lines = line_of(position), []
            position = space(position + 1)
            if text.startswith("]", position):
                return array, position + 1
            while True:
                start = space(position)
                item, position = value(start, depth + 1)
                array.append(item)
                array.lines.append(line_of(start))
                position = space(position)
                if text.startswith(",", position):
                    position += 1
                    continue
                if text.startswith("]", position):
                    return array, position + 1
                raise fail("expected ',' or ']'", position)
        try:
            return decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise fail(exc.msg, exc.pos) from None

    document, end = value(0, 0)
    if space(end) != len(text):
        raise fail("extra data after the JSON value", space(end))
    return document


def _json_line(container: Any, key: str | int, fallback: int | None) -> int | None:
    lines = getattr(container, "lines", None)
    if isinstance(lines, dict) and isinstance(key, str) and key in lines:
        return int(lines[key])
    if isinstance(lines, list) and isinstance(key, int) and key < len(lines):
        return int(lines[key])
    return fallback


def _json_objects(value: Any, file: str, line: int | None, what: str) -> list[Mapping[str, Any]]:
    """A block body in Terraform JSON: an object, or an array of objects."""
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        return list(value)
    raise ConfigError(
        f"{what} is {type_name(value)} {quote(value)}: expected an object or an array of objects",
        Origin(file=file, line=line),
    )


class _JsonNode(_Node):
    """A block of a ``.tf.json`` file: strings are templates, nested blocks are objects
    or arrays of objects, and ``dynamic`` blocks are expanded."""

    def __init__(
        self,
        data: Mapping[str, Any],
        scope: Scope,
        file: HclFile,
        evaluator: Evaluator,
        line: int | None,
        path: str,
    ) -> None:
        self.data = data
        self._place(scope, file, evaluator, line, path)

    def attribute_line(self, name: str) -> int | None:
        return _json_line(self.data, name, self.line)

    def defines(self, name: str) -> bool:
        dynamic = self.data.get("dynamic")
        return (name in self.data and name != "//") or (
            isinstance(dynamic, Mapping) and name in dynamic
        )

    def names(self) -> list[tuple[str, str, int | None]]:
        found = [
            (name, "argument", self.attribute_line(name))
            for name in self.data
            if name not in ("//", "dynamic")
        ]
        dynamic = self.data.get("dynamic")
        if isinstance(dynamic, Mapping):
            found.extend((name, "block", _json_line(dynamic, name, self.line)) for name in dynamic)
        elif "dynamic" in self.data:
            found.append(("dynamic", "argument", self.attribute_line("dynamic")))
        return found

    def value(self, name: str) -> Any:
        if name not in self.data:
            return None
        line = self.attribute_line(name)
        try:
            return self.evaluator.evaluate(JsonValue(self.data[name], line), self.scope, self.hcl)
        except NeedsPlan as exc:
            exc.line = exc.line or line
            exc.where = f"{self.path}.{name}"  # type: ignore[attr-defined]
            raise
        except EvalError as exc:
            raise ConfigError(
                exc.message,
                Origin(file=self.file, line=exc.line or line, path=f"{self.path}.{name}"),
            ) from None

    def children(self, name: str) -> list[_Node | _Skipped]:
        found: list[_Node | _Skipped] = []
        line = self.attribute_line(name)
        raw = self.data.get(name)
        if isinstance(raw, str):  # an expression whose value is a list of objects
            try:
                value = self.value(name)
            except NeedsPlan as exc:
                return [_Skipped(exc, self.file, exc.line or line, f"{self.path}.{name}")]
            items = value if isinstance(value, list) else ([] if value is None else [value])
            for item in items:
                if not isinstance(item, dict):
                    raise ConfigError(
                        f"{name} element {quote(item)} is not valid: expected an object",
                        Origin(file=self.file, line=line, path=f"{self.path}.{name}"),
                    )
                found.append(_DictNode(item, None, self.file, line, self.path))
        elif raw is not None:
            objects = _json_objects(raw, self.hcl.name, line, name)
            for index, body in enumerate(objects):
                block_line = _json_line(raw, index, line) if isinstance(raw, list) else line
                found.append(
                    _JsonNode(body, self.scope, self.hcl, self.evaluator, block_line, self.path)
                )
        dynamic = self.data.get("dynamic")
        if isinstance(dynamic, Mapping) and name in dynamic:
            spec_line = _json_line(dynamic, name, line)
            specs = _json_objects(dynamic[name], self.hcl.name, spec_line, f'dynamic "{name}"')
            for index, spec in enumerate(specs):
                where = _json_line(dynamic[name], index, spec_line)
                found.extend(self._dynamic(name, spec, where))
        return found

    def _dynamic(
        self, name: str, spec: Mapping[str, Any], line: int | None
    ) -> list[_Node | _Skipped]:
        path = f"{self.path}.dynamic.{name}"
        where = Origin(file=self.file, line=line, path=path)
        if "for_each" not in spec:
            raise ConfigError(f'dynamic "{name}" has no for_each', where)
        iterator = spec.get("iterator", name)
        if not isinstance(iterator, str):
            raise ConfigError(f'dynamic "{name}": iterator must be a name', where)
        content = spec.get("content")
        if not isinstance(content, Mapping):
            raise ConfigError(f'dynamic "{name}" needs a content object', where)
        content_line = _json_line(spec, "content", line)
        each_line = _json_line(spec, "for_each", line)
        try:
            collection = self.evaluator.evaluate(
                JsonValue(spec["for_each"], each_line), self.scope, self.hcl
            )
        except NeedsPlan as exc:
            exc.where = f"{path}.for_each"  # type: ignore[attr-defined]
            return [_Skipped(exc, self.file, exc.line or each_line, path)]
        except EvalError as exc:
            raise ConfigError(exc.message, replace(where, line=exc.line or each_line)) from None
        if collection is None:
            return []
        if not isinstance(collection, (list, dict)):
            raise ConfigError(
                f'dynamic "{name}": for_each is a {type_name(collection)}, not a list, set or map',
                where,
            )
        pairs = (
            list(enumerate(collection))
            if isinstance(collection, list)
            else sorted(collection.items())
        )
        return [
            _JsonNode(
                content,
                {**self.scope, iterator: {"key": key, "value": value}},
                self.hcl,
                self.evaluator,
                content_line,
                self.path,
            )
            for key, value in pairs
        ]


class _MergedNode(_Node):
    """A top-level block with an override file's block merged in, as Terraform merges them
    (``MergeBodies``): an attribute of the override replaces the original's, and a nested
    block type in the override (``dynamic`` blocks included) replaces all of the original's
    blocks of that type, with no merging inside nested blocks. Each value keeps the file and
    line it is written at."""

    def __init__(self, base: _Node, override: _Node) -> None:
        self.base = base
        self.override = override
        self.file = base.file
        self.line = base.line
        self.path = base.path

    def _from(self, name: str) -> _Node:
        return self.override if self.override.defines(name) else self.base

    def defines(self, name: str) -> bool:
        return self.override.defines(name) or self.base.defines(name)

    def names(self) -> list[tuple[str, str, int | None]]:
        return self.override.names() + [
            item for item in self.base.names() if not self.override.defines(item[0])
        ]

    def value(self, name: str) -> Any:
        return self._from(name).value(name)

    def children(self, name: str) -> list[_Node | _Skipped]:
        return self._from(name).children(name)

    def attribute_line(self, name: str) -> int | None:
        return self._from(name).attribute_line(name)

    def attribute_file(self, name: str) -> str | None:
        return self._from(name).attribute_file(name)


# ---------------------------------------------------------------------------- modules

_EXPRESSION = Tree[Any] | JsonValue
_META_ARGUMENTS = frozenset(
    {"source", "version", "count", "for_each", "providers", "depends_on", "lifecycle"}
)


def _is_override(name: str) -> bool:
    """Whether Terraform reads a file as an override file: ``override.tf``,
    ``override.tf.json``, or a name ending ``_override.tf`` or ``_override.tf.json``."""
    for extension in (".tf", ".tf.json"):
        if name.endswith(extension):
            stem = name[: -len(extension)]
            return stem == "override" or stem.endswith("_override")
    return False


@dataclass
class _File:
    """A configuration file: HCL (``tree``) or Terraform JSON (``data``); ``override`` for
    an override file, merged into the blocks of the others."""

    hcl: HclFile
    data: Mapping[str, Any] | None = None
    override: bool = False


@dataclass
class _Resource:
    """A resource block, with the blocks of override files merged into it, in order."""

    type: str
    name: str
    file: HclFile
    line: int | None
    body: Tree[Any] | None = None
    data: Mapping[str, Any] | None = None
    overrides: list[_Resource] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    def _own_meta(self) -> dict[str, tuple[_EXPRESSION, int | None]]:
        return _meta(self.body, self.data, self.file, self.line)

    def meta(self) -> dict[str, tuple[_EXPRESSION, int | None]]:
        """The resource's count and for_each, as expressions."""
        found = self._own_meta()
        for override in self.overrides:
            found.update(override._own_meta())
        return found

    def meta_files(self) -> dict[str, HclFile]:
        """The override file each of :meth:`meta`'s expressions comes from, if not ``file``."""
        return {name: o.file for o in self.overrides for name in o._own_meta()}

    def _own_node(self, scope: Scope, evaluator: Evaluator, address: str) -> _Node:
        if self.data is not None:
            return _JsonNode(self.data, scope, self.file, evaluator, self.line, address)
        assert self.body is not None
        return _HclNode(self.body, scope, self.file, evaluator, self.line, address)

    def node(self, scope: Scope, evaluator: Evaluator, address: str) -> _Node:
        node = self._own_node(scope, evaluator, address)
        for override in self.overrides:
            node = _MergedNode(node, override._own_node(scope, evaluator, address))
        return node


def _meta(
    body: Tree[Any] | None, data: Mapping[str, Any] | None, file: HclFile, line: int | None
) -> dict[str, tuple[_EXPRESSION, int | None]]:
    found: dict[str, tuple[_EXPRESSION, int | None]] = {}
    if data is not None:
        for meta in ("count", "for_each"):
            if meta in data:
                where = _json_line(data, meta, line)
                found[meta] = (JsonValue(data[meta], where), where)
        return found
    assert body is not None
    try:
        attrs = attributes(body)
    except EvalError as exc:
        raise ConfigError(exc.message, Origin(file=file.name, line=exc.line)) from None
    for meta in ("count", "for_each"):
        if meta in attrs:
            found[meta] = attrs[meta]
    return found


@dataclass
class _Declared:
    """A variable block: its type constraint and default (``_NO_DEFAULT`` when none);
    ``type_file`` is the override file the type comes from, if not ``file``."""

    name: str
    file: HclFile
    line: int | None
    spec: TypeSpec | None
    default: Any
    nullable: bool = True
    nullable_set: bool = False
    type_file: HclFile | None = None


_NO_DEFAULT = object()


@dataclass
class _Call:
    """A ``module`` block: its source, arguments and count/for_each; ``files`` holds the
    override file of each argument (and count/for_each) that one sets."""

    name: str
    source: str
    file: HclFile
    line: int | None
    arguments: dict[str, tuple[_EXPRESSION, int | None]]
    meta: dict[str, tuple[_EXPRESSION, int | None]]
    source_set: bool = True
    files: dict[str, HclFile] = field(default_factory=dict)

    def file_of(self, name: str) -> HclFile:
        return self.files.get(name, self.file)


@dataclass
class _Module:
    label: str
    folder: Path | None
    files: list[_File] = field(default_factory=list)
    variables: dict[str, _Declared] = field(default_factory=dict)
    locals: dict[str, tuple[_EXPRESSION, HclFile]] = field(default_factory=dict)
    resources: list[_Resource] = field(default_factory=list)
    outputs: dict[str, tuple[_EXPRESSION, HclFile, int | None]] = field(default_factory=dict)
    calls: dict[str, _Call] = field(default_factory=dict)
    output_names: set[str] = field(default_factory=set)
    data_sources: set[str] = field(default_factory=set)


def _parse_file(name: str, text: str) -> HclFile:
    try:
        tree = parse_hcl(text)
    except HclSyntaxError as exc:
        raise ConfigError(
            exc.message, Origin(file=name, line=exc.line, column=exc.column)
        ) from None
    return HclFile(name, text, tree)


def _load_file(path: Path, name: str | None = None) -> _File:
    label = name or str(path)
    text = _read_text(path)
    override = _is_override(path.name)
    if path.name.endswith(".json"):
        data = _json_document(text, label)
        if not isinstance(data, Mapping):
            raise ConfigError("a Terraform JSON file holds one object", Origin(file=label, line=1))
        return _File(HclFile(label, text, Tree("start", [])), data, override)
    return _File(_parse_file(label, text), override=override)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(
            f"cannot read rules file: {exc.strerror or exc}", Origin(file=str(path))
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", Origin(file=str(path))) from None


def _body_of(file: HclFile) -> Tree[Any]:
    for child in file.tree.children:
        if isinstance(child, Tree) and child.data == "body":
            return child
    return Tree("body", [])


def _type_from_text(text: Any, file: HclFile, line: int | None, name: str) -> TypeSpec:
    """A type constraint written as a JSON string (``"list(string)"``)."""
    if not isinstance(text, str):
        raise ConfigError(
            f'variable {quote(name)}: type must be a string such as "list(string)"',
            Origin(file=file.name, line=line),
        )
    source = "\n" * ((line or 1) - 1) + f"v = {text}\n"
    try:
        parsed = HclFile(file.name, source, parse_hcl(source))
        return parse_type(attributes(_body_of(parsed))["v"][0], parsed)
    except (HclSyntaxError, EvalError, KeyError) as exc:
        message = getattr(exc, "message", str(exc))
        raise ConfigError(
            f"variable {quote(name)}: {message}", Origin(file=file.name, line=line)
        ) from None


def _missing(what: str, kind: str, file: HclFile, line: int | None) -> ConfigError:
    """Terraform's error for a block of an override file that overrides nothing."""
    return ConfigError(
        f"there is no {what} to override: an override file can only override {kind} in a "
        "primary configuration file",
        Origin(file=file.name, line=line),
    )


def _not_overridable(file: HclFile, line: int | None) -> ConfigError:
    return ConfigError(
        "the depends_on argument may not be overridden", Origin(file=file.name, line=line)
    )


class _Blocks:
    """Puts the blocks of a module's files into it: those of the primary files are added
    (each declared once), those of override files (``override`` set) are merged into the
    blocks they override, as Terraform does."""

    def __init__(self, module: _Module) -> None:
        self.module = module
        self.override = False
        self.seen: dict[str, _Resource] = {}

    def resource(self, resource: _Resource, depends_on: int | None) -> None:
        found = self.seen.get(resource.address)
        if self.override:
            if found is None:
                raise _missing(
                    f'{resource.type} resource named "{resource.name}"',
                    "a resource block defined",
                    resource.file,
                    resource.line,
                )
            if depends_on is not None:
                raise _not_overridable(resource.file, depends_on)
            found.overrides.append(resource)
            return
        if found is not None:
            raise ConfigError(
                f"resource {resource.address} is declared twice",
                Origin(file=resource.file.name, line=resource.line),
            )
        self.seen[resource.address] = resource
        self.module.resources.append(resource)

    def data(
        self, kind: str, name: str, file: HclFile, line: int | None, depends_on: int | None
    ) -> None:
        """A data block: only whether there is one matters (its values need a plan)."""
        if not self.override:
            self.module.data_sources.add(f"{kind}.{name}")
        elif f"{kind}.{name}" not in self.module.data_sources:
            raise _missing(
                f'{kind} data resource named "{name}"', "a data block defined", file, line
            )
        elif depends_on is not None:
            raise _not_overridable(file, depends_on)

    def variable(self, declared: _Declared) -> None:
        found = self.module.variables.get(declared.name)
        if not self.override:
            if found is not None:
                raise ConfigError(
                    f"variable {quote(declared.name)} is declared twice",
                    Origin(file=declared.file.name, line=declared.line),
                )
            self.module.variables[declared.name] = declared
            return
        if found is None:
            raise _missing(
                f'variable named "{declared.name}"',
                "a variable that was already declared",
                declared.file,
                declared.line,
            )
        _merge_variable(found, declared)

    def local(self, name: str, expression: _EXPRESSION, file: HclFile, line: int | None) -> None:
        if self.override:
            if name not in self.module.locals:
                raise _missing(
                    f'local value named "{name}"',
                    "a local value that was already defined",
                    file,
                    line,
                )
        elif name in self.module.locals:
            raise ConfigError(
                f"local value {quote(name)} is defined twice", Origin(file=file.name, line=line)
            )
        self.module.locals[name] = (expression, file)

    def output(
        self,
        name: str,
        value: tuple[_EXPRESSION, int | None] | None,
        file: HclFile,
        line: int | None,
        depends_on: int | None,
    ) -> None:
        if self.override:
            if name not in self.module.output_names:
                raise _missing(
                    f'output named "{name}"', "an output that was already defined", file, line
                )
            if depends_on is not None:
                raise _not_overridable(file, depends_on)
        self.module.output_names.add(name)
        if value is not None:
            self.module.outputs[name] = (value[0], file, value[1])

    def call(self, call: _Call) -> None:
        found = self.module.calls.get(call.name)
        if not self.override:
            if found is not None:
                raise ConfigError(
                    f'module "{call.name}" is declared twice',
                    Origin(file=call.file.name, line=call.line),
                )
            self.module.calls[call.name] = call
            return
        if found is None:
            raise _missing(
                f'module call named "{call.name}"',
                "a module call that was defined",
                call.file,
                call.line,
            )
        if call.source_set:
            found.source = call.source
        for mine, theirs in ((found.arguments, call.arguments), (found.meta, call.meta)):
            mine.update(theirs)
            found.files.update(dict.fromkeys(theirs, call.file))

    def refuse(self, kind: str, file: HclFile, line: int | None) -> None:
        """``moved`` and ``import`` blocks, which override files may not hold."""
        if self.override:
            detail = "records of moved objects" if kind == "moved" else f"{kind} blocks"
            raise ConfigError(
                f"cannot override '{kind}' blocks: {detail} can appear only in normal files, "
                "not in override files",
                Origin(file=file.name, line=line),
            )


def _merge_variable(variable: _Declared, override: _Declared) -> None:
    """An override file's variable block merged into the declaration: its default, type
    and nullable replace the original's, and the default must fit the type that results."""
    if override.default is not _NO_DEFAULT:
        variable.default = override.default
    if override.spec is not None:
        variable.spec = override.spec
        variable.type_file = override.file
    if override.nullable_set:
        variable.nullable = override.nullable
        variable.nullable_set = True
    if variable.default is _NO_DEFAULT or (
        override.spec is None and override.default is _NO_DEFAULT and not override.nullable_set
    ):
        return
    where = Origin(file=override.file.name, line=override.line)
    name = variable.name
    if variable.spec is not None:
        try:
            variable.default = convert(
                variable.default,
                variable.spec,
                Evaluator({}, frozenset(), {}),
                variable.type_file or variable.file,
            )
        except (EvalError, NeedsPlan) as exc:
            text = exc.message if isinstance(exc, EvalError) else exc.reason
            if override.spec is not None and override.default is _NO_DEFAULT:
                problem = "overriding its type constraint has made its default value invalid"
            elif override.spec is None and override.default is not _NO_DEFAULT:
                problem = (
                    "the overridden default value is not compatible with the variable's type "
                    "constraint"
                )
            else:
                problem = "its default value is not compatible with its type constraint"
            raise ConfigError(f"variable {quote(name)}: {problem}: {text}", where) from None
    if not variable.nullable and variable.default is None:
        raise ConfigError(
            f"variable {quote(name)}: a null default value is not valid when nullable=false", where
        )


def _module(files: list[_File], label: str, folder: Path | None) -> _Module:
    """A module from its files: the primary files' blocks, then the override files'
    merged into them, in name order and then in the order written, as Terraform does."""
    module = _Module(label, folder, files)
    sink = _Blocks(module)
    for source in [f for f in files if not f.override] + [f for f in files if f.override]:
        sink.override = source.override
        if source.data is not None:
            _json_module(source.hcl, source.data, sink)
        else:
            _hcl_module(source.hcl, sink)
    return module


def _hcl_module(file: HclFile, sink: _Blocks) -> None:
    """The blocks of a ``.tf`` file."""
    for block in blocks(_body_of(file)):
        where = Origin(file=file.name, line=block.line)
        if block.type == "variable":
            if len(block.labels) != 1:
                raise ConfigError("a variable block takes one label, its name", where)
            sink.variable(_hcl_variable(block.labels[0], block.body, file, block.line))
            continue
        if block.type in ("moved", "import"):
            sink.refuse(block.type, file, block.line)
            continue
        _check_top_block(block.type, where)
        if block.type in ("resource", "data") and len(block.labels) != 2:
            raise ConfigError(
                f"a {block.type} block takes two labels, its type and its name "
                f"(it has {len(block.labels)})",
                where,
            )
        if block.type not in ("locals", "resource", "data", "output", "module"):
            continue
        try:
            found = attributes(block.body)
        except EvalError as exc:
            raise ConfigError(exc.message, replace(where, line=exc.line)) from None
        depends_on = found["depends_on"][1] if "depends_on" in found else None
        if block.type == "locals":
            for name, (expression, line) in found.items():
                sink.local(name, expression, file, line)
        elif block.type == "resource" and len(block.labels) == 2:
            sink.resource(
                _Resource(block.labels[0], block.labels[1], file, block.line, body=block.body),
                depends_on,
            )
        elif block.type == "data" and len(block.labels) == 2:
            sink.data(block.labels[0], block.labels[1], file, block.line, depends_on)
        elif block.type == "output" and len(block.labels) == 1:
            sink.output(block.labels[0], found.get("value"), file, block.line, depends_on)
        elif block.type == "module" and len(block.labels) == 1:
            sink.call(_hcl_call(block.labels[0], found, file, block.line, sink.override))


def _hcl_variable(name: str, body: Tree[Any], file: HclFile, line: int | None) -> _Declared:
    try:
        found = attributes(body)
    except EvalError as exc:
        raise ConfigError(exc.message, Origin(file=file.name, line=exc.line)) from None
    spec: TypeSpec | None = None
    if "type" in found:
        try:
            spec = parse_type(found["type"][0], file)
        except EvalError as exc:
            raise ConfigError(
                f"variable {quote(name)}: {exc.message}",
                Origin(file=file.name, line=found["type"][1]),
            ) from None
    literal = Evaluator({}, frozenset(), {})
    default: Any = _NO_DEFAULT
    nullable = True
    for key in ("default", "nullable"):
        if key not in found:
            continue
        expression, where = found[key]
        try:
            value = literal.evaluate(expression, {}, file)
        except (EvalError, NeedsPlan) as exc:
            text = exc.message if isinstance(exc, EvalError) else exc.reason
            raise ConfigError(
                f"variable {quote(name)}: the {key} must be a literal value: {text}",
                Origin(file=file.name, line=where),
            ) from None
        if key == "default":
            default = value
        else:
            nullable = value is not False
    return _Declared(name, file, line, spec, default, nullable, "nullable" in found)


def _hcl_call(
    name: str,
    found: dict[str, tuple[Tree[Any], int | None]],
    file: HclFile,
    line: int | None,
    override: bool = False,
) -> _Call:
    """A module block; in an override file, ``source`` may be left out."""
    where = Origin(file=file.name, line=line, path=f"module.{name}")
    arguments: dict[str, tuple[_EXPRESSION, int | None]] = {
        k: v for k, v in found.items() if k not in _META_ARGUMENTS
    }
    meta: dict[str, tuple[_EXPRESSION, int | None]] = {
        k: v for k, v in found.items() if k in ("count", "for_each")
    }
    if "source" not in found:
        if override:
            return _Call(name, "", file, line, arguments, meta, source_set=False)
        raise ConfigError(f'module "{name}" has no source', where)
    expression, source_line = found["source"]
    try:
        source = Evaluator({}, frozenset(), {}).evaluate(expression, {}, file)
    except (EvalError, NeedsPlan):
        source = None
    if not isinstance(source, str):
        raise ConfigError(
            f'module "{name}": source must be a literal string, not {file.source(expression)}',
            replace(where, line=source_line),
        )
    return _Call(name, source, file, line, arguments, meta)


_TOP_BLOCKS = frozenset(
    {
        "terraform",
        "provider",
        "variable",
        "locals",
        "output",
        "module",
        "resource",
        "data",
        "moved",
        "import",
        "removed",
        "check",
        "ephemeral",
    }
)
"""The block types Terraform takes at the top level of a module file."""


def _check_top_block(kind: str, where: Origin) -> None:
    """A :class:`ConfigError` for a top-level block type Terraform does not have: a typo'd
    ``resourc`` would drop the resource, and its rules, silently."""
    if kind in _TOP_BLOCKS:
        return
    close = difflib.get_close_matches(kind, sorted(_TOP_BLOCKS), n=1, cutoff=0.6)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    raise ConfigError(
        f"unsupported block type {quote(kind)}: Terraform has no such top-level block and "
        f"`terraform validate` refuses it; {hint}fix or remove it",
        where,
    )


def _json_module(file: HclFile, data: Mapping[str, Any], sink: _Blocks) -> None:
    """The blocks of a ``.tf.json`` file."""
    name = file.name
    for key in data:
        if key != "//":
            _check_top_block(key, Origin(file=name, line=_json_line(data, key, 1), path=key))

    def labelled(kind: str) -> Iterator[tuple[str, Mapping[str, Any], int | None]]:
        """``{"kind": {"label": {...}}}``, each level possibly an array of objects."""
        if kind not in data:
            return
        top_line = _json_line(data, kind, 1)
        for group in _json_objects(data[kind], name, top_line, kind):
            for label, raw in group.items():
                if label == "//":
                    continue
                line = _json_line(group, label, top_line)
                bodies = _json_objects(raw, name, line, f'{kind} "{label}"')
                for index, body in enumerate(bodies):
                    yield (
                        label,
                        body,
                        _json_line(raw, index, line) if isinstance(raw, list) else line,
                    )

    def typed(kind: str) -> Iterator[tuple[str, str, Mapping[str, Any], int | None]]:
        """``{"resource": {"type": {"name": {...}}}}`` (and ``data``), as :func:`labelled`."""
        if kind not in data:
            return
        top_line = _json_line(data, kind, 1)
        for group in _json_objects(data[kind], name, top_line, kind):
            for type_, raw in group.items():
                if type_ == "//":
                    continue
                type_line = _json_line(group, type_, top_line)
                for by_name in _json_objects(raw, name, type_line, f'{kind} "{type_}"'):
                    for label, body_raw in by_name.items():
                        if label == "//":
                            continue
                        line = _json_line(by_name, label, type_line)
                        for body in _json_objects(
                            body_raw, name, line, f'{kind} "{type_}" "{label}"'
                        ):
                            yield type_, label, body, getattr(body, "line", line)

    def depends_on(body: Mapping[str, Any], line: int | None) -> int | None:
        return _json_line(body, "depends_on", line) if "depends_on" in body else None

    for label, body, line in labelled("variable"):
        spec = (
            _type_from_text(body["type"], file, _json_line(body, "type", line), label)
            if "type" in body
            else None
        )
        default = body.get("default", _NO_DEFAULT)
        sink.variable(
            _Declared(
                label,
                file,
                line,
                spec,
                default,
                body.get("nullable") is not False,
                "nullable" in body,
            )
        )
    if "locals" in data:
        top_line = _json_line(data, "locals", 1)
        for group in _json_objects(data["locals"], name, top_line, "locals"):
            for key, value in group.items():
                if key != "//":
                    line = _json_line(group, key, top_line)
                    sink.local(key, JsonValue(value, line), file, line)
    for type_, label, body, line in typed("resource"):
        sink.resource(_Resource(type_, label, file, line, data=body), depends_on(body, line))
    for type_, label, body, line in typed("data"):
        sink.data(type_, label, file, line, depends_on(body, line))
    for label, body, line in labelled("output"):
        output: tuple[_EXPRESSION, int | None] | None = None
        if "value" in body:
            where = _json_line(body, "value", line)
            output = (JsonValue(body["value"], where), where)
        sink.output(label, output, file, line, depends_on(body, line))
    for label, body, line in labelled("module"):
        source = body.get("source")
        if not isinstance(source, str) and not (sink.override and "source" not in body):
            raise ConfigError(
                f'module "{label}": source must be a string', Origin(file=name, line=line)
            )
        arguments: dict[str, tuple[_EXPRESSION, int | None]] = {
            k: (JsonValue(v, _json_line(body, k, line)), _json_line(body, k, line))
            for k, v in body.items()
            if k not in _META_ARGUMENTS and k != "//"
        }
        sink.call(
            _Call(
                label,
                source if isinstance(source, str) else "",
                file,
                line,
                arguments,
                _meta(None, body, file, line),
                source_set=isinstance(source, str),
            )
        )
    for kind in ("moved", "import"):
        if kind in data:
            top_line = _json_line(data, kind, 1)
            for _ in _json_objects(data[kind], name, top_line, kind):
                sink.refuse(kind, file, top_line)


def _tfvars(path: Path) -> tuple[HclFile | None, dict[str, Any]]:
    """The values of a ``.tfvars`` (HCL) or ``.tfvars.json`` file."""
    text = _read_text(path)
    if path.name.endswith(".json"):
        try:
            data = json_loads(text, str(path))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON: {exc.msg}",
                Origin(file=str(path), line=exc.lineno, column=exc.colno),
            ) from None
        if not isinstance(data, dict):
            raise ConfigError("expected an object of variable values", Origin(file=str(path)))
        return None, data
    file = _parse_file(str(path), text)
    evaluator = Evaluator({}, frozenset(), {})
    values: dict[str, Any] = {}
    try:
        found = attributes(_body_of(file))
    except EvalError as exc:
        raise ConfigError(exc.message, Origin(file=file.name, line=exc.line)) from None
    for name, (expression, line) in found.items():
        try:
            values[name] = evaluator.evaluate(expression, {}, file)
        except (EvalError, NeedsPlan) as exc:
            text_ = exc.message if isinstance(exc, EvalError) else f"{exc.expression}: {exc.reason}"
            raise ConfigError(
                f"variable value {name} must be a literal value: {text_}",
                Origin(file=file.name, line=line),
            ) from None
    return file, values


def _given_value(declared: _Declared, text: str, label: str) -> Any:
    """A value given as text (``--var``, ``TF_VAR_name``): a string for primitive types and
    variables without a type, an HCL expression for collections and objects."""
    spec = declared.spec
    if spec is None or spec.kind in ("string", "number", "bool", "any"):
        return text
    try:
        file = HclFile(label, f"v = {text}\n", parse_hcl(f"v = {text}\n"))
        return Evaluator({}, frozenset(), {}).evaluate(attributes(_body_of(file))["v"][0], {}, file)
    except (HclSyntaxError, EvalError, NeedsPlan, KeyError) as exc:
        raise ConfigError(
            f"{label}={quote(text)}: variable {quote(declared.name)} is a {spec.kind}: expected an HCL "
            f"value ({exc})",
            Origin(path=label),
        ) from None


def _convert(declared: _Declared, value: Any, evaluator: Evaluator, where: str) -> Any:
    if declared.spec is None:
        return value
    try:
        return convert(value, declared.spec, evaluator, declared.type_file or declared.file)
    except (EvalError, NeedsPlan) as exc:
        text = exc.message if isinstance(exc, EvalError) else exc.reason
        raise EvalError(
            f"variable {quote(declared.name)}{where}: the value {quote(value)} does not fit its type: {text}"
        ) from None


def _root_values(module: _Module, options: LoadOptions) -> dict[str, Any]:
    """The root module's input variables, from every source in Terraform's order."""
    values: dict[str, Any] = {
        name: declared.default
        for name, declared in module.variables.items()
        if declared.default is not _NO_DEFAULT
    }
    environment = os.environ if options.environment is None else options.environment
    for key in sorted(environment):
        if key.startswith("TF_VAR_") and key[7:] in module.variables:
            name = key[7:]
            values[name] = _given_value(module.variables[name], environment[key], key)
    sources: list[Path] = []
    if module.folder is not None:
        for name in ("terraform.tfvars", "terraform.tfvars.json"):
            if (module.folder / name).is_file():
                sources.append(module.folder / name)
        sources.extend(
            sorted(
                p
                for p in module.folder.iterdir()
                if p.is_file()
                and not _ignored(p.name)
                and (p.name.endswith(".auto.tfvars") or p.name.endswith(".auto.tfvars.json"))
            )
        )
    steps: list[tuple[str, str]] = [("var-file", str(p)) for p in sources]
    if options.var_order:  # the command line, in its order
        steps.extend(options.var_order)
    else:
        steps.extend(("var-file", str(p)) for p in options.var_files)
        steps.extend(("var", f"{name}={text}") for name, text in options.variables.items())
    for kind, item in steps:
        if kind == "var-file":
            path = Path(item)
            _, given = _tfvars(path)
            for name, value in given.items():
                if name not in module.variables:
                    options.warn(
                        f"{path}: value for undeclared variable {quote(name)} is ignored "
                        f"(the configuration in {module.label} does not declare it)"
                    )
                    continue
                values[name] = value
            continue
        name, _, text = item.partition("=")
        name = name.strip()
        if name not in module.variables:
            raise ConfigError(
                f"--var {name}: variable {quote(name)} is not declared in {module.label} "
                f"(it declares: {', '.join(sorted(module.variables)) or 'none'})",
                Origin(path=f"--var {name}"),
            )
        values[name] = _given_value(module.variables[name], text, f"--var {name}")
    evaluator = Evaluator({}, frozenset(), {})
    for name, declared in module.variables.items():
        if name in values:
            try:
                values[name] = _convert(declared, values[name], evaluator, "")
            except EvalError as exc:
                raise ConfigError(
                    exc.message, Origin(file=declared.file.name, line=declared.line)
                ) from None
    return values


class _Inputs(Mapping[str, Any]):
    """A child module's input variables: the module block's arguments, evaluated in the
    caller's scope when first read, else the variables' defaults."""

    def __init__(self, instance: _Instance, call: _Call, parent: _Instance, scope: Scope) -> None:
        self.instance = instance
        self.call = call
        self.parent = parent
        self.scope = scope
        self._cache: dict[str, Any] = {}
        self.names = [
            name
            for name, declared in instance.module.variables.items()
            if name in call.arguments or declared.default is not _NO_DEFAULT
        ]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Any:
        if name in self._cache:
            return self._cache[name]
        declared = self.instance.module.variables[name]
        value = None if declared.default is _NO_DEFAULT else declared.default
        if name in self.call.arguments:
            expression, line = self.call.arguments[name]
            file = self.call.file_of(name)
            where = f"{file.name}:{line}"
            try:
                given = self.parent.evaluator.evaluate(expression, self.scope, file)
            except NeedsPlan as exc:
                raise NeedsPlan(
                    f"var.{name}",
                    f"the argument {name} of {self.instance.address} ({where}) is "
                    f"{exc.expression}: {exc.reason}",
                    hint=exc.hint,
                ) from None
            except EvalError as exc:
                raise EvalError(
                    f"var.{name}: the argument {name} of {self.instance.address} "
                    f"({file.name}:{exc.line or line}): {exc.message}"
                ) from None
            if given is not None or declared.nullable:
                value = given
        converted = _convert(
            declared, value, self.instance.evaluator, f" of {self.instance.address}"
        )
        self._cache[name] = converted
        return converted


@dataclass
class _Tree:
    """The configuration's modules: each call's folder, found once."""

    root: _Module
    base: Path
    options: LoadOptions
    manifest: dict[str, str] | None = None
    loaded: dict[Path, _Module] = field(default_factory=dict)
    unresolved: list[tuple[str, _Call, str]] = field(default_factory=list)

    def folder(self, key: str, call: _Call, caller: Path) -> Path | str:
        """The folder of a module call, or why it cannot be read."""
        source = call.source
        if source.startswith(("./", "../", ".\\", "..\\")) or source in (".", ".."):
            return Path(os.path.normpath(caller / source))
        if self.manifest is None:
            self.manifest = _manifest(self.base)
        directory = self.manifest.get(key)
        if directory is not None:
            return Path(os.path.normpath(self.base / directory))
        return (
            f"its source {quote(source)} is not a local path, and acl does not download modules: "
            "run `terraform init` in the root module (acl then reads "
            ".terraform/modules/modules.json), or load the module's folder and give its "
            "inputs with --var"
        )

    def child(self, key: str, call: _Call, caller: Path, chain: tuple[Path, ...]) -> _Module | str:
        found = self.folder(key, call, caller)
        if isinstance(found, str):
            return found
        where = Origin(file=call.file.name, line=call.line, path=f"module.{call.name}")
        resolved = found.resolve()
        if resolved in chain:
            raise ConfigError(
                f'module "{call.name}": source {quote(call.source)} leads back to {found}, which '
                "calls it (a module cycle)",
                where,
            )
        if len(chain) > 32:
            raise ConfigError(f'module "{call.name}": modules are nested too deeply', where)
        cached = self.loaded.get(resolved)
        if cached is not None:
            return cached
        if not found.is_dir():
            raise ConfigError(
                f'module "{call.name}": source {quote(call.source)} is not a folder ({found})',
                where,
            )
        files = _folder_files(found)
        if not files:
            raise ConfigError(f'module "{call.name}": {found} has no .tf or .tf.json files', where)
        module = _module(files, f"{found}/", found)
        self.loaded[resolved] = module
        return module

    def candidates(self) -> list[tuple[str, tuple[tuple[_Call, ...], _Resource]]]:
        """Every web app, by its address without instance keys, with the calls to it."""
        found: list[tuple[str, tuple[tuple[_Call, ...], _Resource]]] = []

        def walk(
            module: _Module,
            prefix: str,
            calls: tuple[_Call, ...],
            folder: Path,
            chain: tuple[Path, ...],
        ) -> None:
            for resource in module.resources:
                if resource.type in WEB_APP_TYPES:
                    found.append((prefix + resource.address, (calls, resource)))
            for call in module.calls.values():
                key = ".".join([*(c.name for c in calls), call.name])
                child = self.child(key, call, folder, chain)
                if isinstance(child, str):
                    self.unresolved.append((prefix + f"module.{call.name}", call, child))
                    continue
                assert child.folder is not None
                walk(
                    child,
                    f"{prefix}module.{call.name}.",
                    (*calls, call),
                    child.folder,
                    (*chain, child.folder.resolve()),
                )

        walk(self.root, "", (), self.base, (self.base.resolve(),))
        return found


def _manifest(base: Path) -> dict[str, str]:
    """``.terraform/modules/modules.json``, as ``terraform init`` writes it: key to folder."""
    path = base / ".terraform" / "modules" / "modules.json"
    if not path.is_file():
        return {}
    try:
        data = json_loads(_read_text(path), str(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON: {exc.msg}", Origin(file=str(path), line=exc.lineno, column=exc.colno)
        ) from None
    entries = data.get("Modules") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise ConfigError('expected {"Modules": [...]}', Origin(file=str(path)))
    return {
        str(entry["Key"]): str(entry["Dir"])
        for entry in entries
        if isinstance(entry, Mapping) and entry.get("Key") and isinstance(entry.get("Dir"), str)
    }


class _Instance:
    """One instance of a module: its address, its evaluator, its module calls' instances."""

    def __init__(
        self, tree: _Tree, module: _Module, address: str, folder: Path, chain: tuple[_Call, ...]
    ) -> None:
        self.tree = tree
        self.module = module
        self.address = address
        self.folder = folder
        self.chain = chain
        self.evaluator = Evaluator({}, frozenset(), {})
        self._children: dict[str, list[tuple[str, Any, _Instance]]] = {}

    def bind(self, variables: Mapping[str, Any]) -> None:
        self.evaluator = Evaluator(
            variables,
            frozenset(self.module.variables),
            self.module.locals,
            frozenset(r.type for r in self.module.resources),
            modules=self.module_value,
        )

    def prefix(self) -> str:
        return f"{self.address}." if self.address else ""

    def instances(self, name: str) -> list[tuple[str, Any, _Instance]]:
        """The instances of a module call: (address, key or None, instance)."""
        if name in self._children:
            return self._children[name]
        call = self.module.calls[name]
        key = ".".join([*(c.name for c in self.chain), call.name])
        child = self.tree.child(key, call, self.folder, ())
        base = f"{self.prefix()}module.{call.name}"
        if isinstance(child, str):
            raise NeedsPlan(
                base,
                f'module "{call.name}" ({call.file.name}:{call.line}) is not read: {child}',
            )
        found: list[tuple[str, Any, _Instance]] = []
        for suffix, key_value, scope in _expand(
            call.meta, self.evaluator, call.file, base, "module", call.files
        ):
            assert child.folder is not None
            instance = _Instance(self.tree, child, base + suffix, child.folder, (*self.chain, call))
            inputs = _Inputs(instance, call, self, scope)
            missing = [
                n
                for n, d in child.variables.items()
                if d.default is _NO_DEFAULT and n not in call.arguments
            ]
            where = Origin(file=call.file.name, line=call.line, path=base)
            if missing:
                declared = child.variables[missing[0]]
                raise ConfigError(
                    f'module "{call.name}": variable {quote(missing[0])} of {child.label} '
                    f"({declared.file.name}:{declared.line}) has no default, and the module "
                    f"block does not set it",
                    where,
                )
            unknown = sorted(set(call.arguments) - set(child.variables))
            if unknown:
                raise ConfigError(
                    f'module "{call.name}": {child.label} declares no variable {quote(unknown[0])} '
                    f"(it declares: {', '.join(sorted(child.variables)) or 'none'})",
                    replace(
                        where,
                        file=call.file_of(unknown[0]).name,
                        line=call.arguments[unknown[0]][1],
                    ),
                )
            instance.bind(inputs)
            found.append((base + suffix, key_value, instance))
        self._children[name] = found
        return found

    def module_value(self, name: str) -> Any:
        """``module.NAME``: an object of outputs, or a list or map of them."""
        if name not in self.module.calls:
            raise EvalError(
                f"module {quote(name)} is not declared in {self.module.label}"
                + (
                    f" (it calls: {', '.join(sorted(self.module.calls))})"
                    if self.module.calls
                    else ""
                )
            )
        call = self.module.calls[name]
        instances = self.instances(name)
        objects = [(key, instance.outputs()) for _, key, instance in instances]
        if "count" in call.meta:
            return [obj for _, obj in objects]
        if "for_each" in call.meta:
            return {str(key): obj for key, obj in objects}
        return objects[0][1]

    def outputs(self) -> ModuleOutputs:
        def read(name: str) -> Any:
            expression, file, line = self.module.outputs[name]
            try:
                return self.evaluator.evaluate(expression, {}, file)
            except NeedsPlan as exc:
                raise NeedsPlan(
                    f"{self.address}.{name}",
                    f"the output {name} of {self.address} is {exc.expression} "
                    f"({file.name}:{exc.line or line}): {exc.reason}",
                    hint=exc.hint,
                ) from None
            except EvalError as exc:
                raise EvalError(
                    f"the output {name} of {self.address} ({file.name}:{exc.line or line}): "
                    f"{exc.message}"
                ) from None

        return ModuleOutputs(self.address, frozenset(self.module.outputs), read)


def _expand(
    meta: Mapping[str, tuple[_EXPRESSION, int | None]],
    evaluator: Evaluator,
    file: HclFile,
    address: str,
    what: str,
    files: Mapping[str, HclFile] | None = None,
) -> list[tuple[str, Any, Scope]]:
    """The instance keys of a resource or module call: (address suffix, key, scope);
    ``files`` holds the override file of an expression that one sets."""
    for name in ("count", "for_each"):
        if name not in meta:
            continue
        expression, line = meta[name]
        file = (files or {}).get(name, file)
        origin = Origin(file=file.name, line=line, path=f"{address}.{name}")
        try:
            value = evaluator.evaluate(expression, {}, file)
        except NeedsPlan as exc:
            raise ConfigError(
                f"{name} of {address}: {exc.expression} cannot be known offline: "
                f"{exc.reason}; read `terraform show -json` of a plan instead",
                origin,
            ) from None
        except EvalError as exc:
            raise ConfigError(exc.message, origin) from None
        if name == "count":
            try:
                count = int(to_number(value))
            except EvalError as exc:
                raise ConfigError(f"count: {exc.message}", origin) from None
            return [(f"[{i}]", i, {"count": {"index": i}}) for i in range(count)]
        if isinstance(value, list):
            pairs = [(to_string(v), v) for v in value]
        elif isinstance(value, dict):
            pairs = [(k, value[k]) for k in sorted(value)]
        else:
            raise ConfigError(
                f"for_each of the {what} is a {type_name(value)}: expected a map or a set", origin
            )
        return [
            (f"[{json.dumps(key)}]", key, {"each": {"key": key, "value": v}}) for key, v in pairs
        ]
    return [("", None, {})]


def _choose(
    candidates: list[tuple[str, Any]], options: LoadOptions, label: str, origin: Origin
) -> tuple[str, Any]:
    """One of several addressed web apps, by ``options.site``."""
    addresses = [address for address, _ in candidates]
    if options.site is not None:
        wanted = options.site.strip()
        for test in (
            lambda a: a == wanted,
            lambda a: a.lower() == wanted.lower(),
            lambda a: _base(a).lower() == wanted.lower(),
            lambda a: _base(a).split(".")[-1].lower() == wanted.lower(),
        ):
            matches = [c for c in candidates if test(c[0])]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise ConfigError(
                    f"--site {quote(wanted)} matches {len(matches)} web apps in {label}: "
                    f"{', '.join(m[0] for m in matches)}; give the full address",
                    origin,
                )
        raise ConfigError(
            f"web app {quote(wanted)} is not in {label}; its web apps are: {', '.join(addresses)}",
            origin,
        )
    if len(candidates) == 1:
        return candidates[0]
    raise ConfigError(
        f"{label} has {len(candidates)} web apps: choose one with --site ADDRESS "
        f"(one of: {', '.join(addresses)})",
        origin,
    )


def _base(address: str) -> str:
    """An address without its instance keys and module path."""
    parts = _unkeyed(address).split(".")
    return ".".join(parts[-2:])


def _unkeyed(address: str) -> str:
    """An address without its instance keys: ``module.a["x"].t.n[0]`` is ``module.a.t.n``."""
    return re.sub(r'\[(?:"(?:[^"\\]|\\.)*"|[^\]]*)\]', "", address)


def _ignored(name: str) -> bool:
    """A file Terraform skips in a folder: hidden (``.x.tf``), or an editor's backup or
    lock (``main.tf~``, ``#main.tf#``)."""
    return (
        name.startswith(".") or name.endswith("~") or (name.startswith("#") and name.endswith("#"))
    )


def _folder_files(folder: Path) -> list[_File]:
    """A module folder's configuration files: ``*.tf`` and ``*.tf.json``, by name (not the
    files Terraform ignores: hidden ones, editor backups)."""
    paths = sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not _ignored(p.name)
        and (p.suffix == ".tf" or p.name.endswith(".tf.json"))
    )
    return [_load_file(p) for p in paths]


def _hcl_sources(document: Any, options: LoadOptions) -> tuple[list[_File], str, Path | None, Path]:
    """The files of the root module (one text, one file, or a folder's ``.tf`` and
    ``.tf.json`` files), its label, its folder and the folder module sources start from."""
    if isinstance(document, str):
        name = options.source or "<string>"
        base = Path(name).parent if options.source else Path.cwd()
        if name.endswith(".json") or document.lstrip().startswith("{"):
            data = _json_document(document, name)
            if not isinstance(data, Mapping):
                raise ConfigError("a Terraform JSON file holds one object", Origin(file=name))
            return [_File(HclFile(name, document, Tree("start", [])), data)], name, None, base
        return [_File(_parse_file(name, document))], name, None, base
    path = Path(os.fspath(document))
    if path.is_dir():
        files = _folder_files(path)
        if not files:
            raise ConfigError("the folder has no .tf or .tf.json files", Origin(file=str(path)))
        return files, f"{path}/", path, path
    if _is_override(path.name):
        # Terraform reads a folder, merging its override files into the blocks of the
        # others: an override file alone overrides nothing, which is an error
        raise ConfigError(
            "an override file cannot be read alone: Terraform merges it into the blocks of "
            "the other .tf and .tf.json files of its folder; load the folder",
            Origin(file=str(path)),
        )
    return [_load_file(path)], str(path), None, path.parent


@bounded
def load_terraform(document: Any, options: LoadOptions) -> Site:
    """The site of a web app in Terraform: ``document`` is the text of one ``.tf`` (or
    ``.tf.json``) file, or a path to such a file or to a folder (a root module, whose local
    child modules are read too)."""
    files, label, folder, base = _hcl_sources(document, options)
    module = _module(files, label, folder)
    tree = _Tree(module, base, options)
    candidates = tree.candidates()
    origin = Origin(file=label.rstrip("/") if folder else label)
    wanted = _unkeyed(options.site.strip()) if options.site is not None else None
    for address, call, reason in tree.unresolved:
        where = Origin(file=call.file.name, line=call.line, path=address)
        if wanted is not None and wanted.lower().startswith(address.lower() + "."):
            raise ConfigError(f'module "{call.name}" is not read: {reason}', where)
        if not candidates:
            raise ConfigError(
                f"no web app or function app resource in {label}, and module "
                f'"{call.name}" is not read: {reason}',
                where,
            )
    if not candidates:
        kinds = ", ".join(sorted(_CURRENT))
        raise ConfigError(
            f"no web app or function app resource in {label} (looked for {kinds}, their _slot "
            "variants, azurerm_logic_app_standard and the legacy "
            "azurerm_app_service/azurerm_function_app)",
            origin,
        )
    for address, call, reason in tree.unresolved:
        options.warn(
            f"{call.file.name}:{call.line}: {address} is not read, so its web apps are not "
            f"among those to choose from: {reason}"
        )
    root = _Instance(tree, module, "", base, ())
    root.bind(_root_values(module, options))
    # expand the chosen resource (and the modules around it) only, so that others cannot
    # get in the way
    calls, resource = _choose(candidates, replace(options, site=wanted), label, origin)[1]
    holders = [root]
    for call in calls:
        holders = [child for holder in holders for _, _, child in holder.instances(call.name)]
    instances: list[tuple[str, tuple[_Instance, Scope]]] = []
    for holder in holders:
        address = holder.prefix() + resource.address
        for suffix, _, scope in _expand(
            resource.meta(),
            holder.evaluator,
            resource.file,
            address,
            "resource",
            resource.meta_files(),
        ):
            instances.append((address + suffix, (holder, scope)))
    where = Origin(file=resource.file.name, line=resource.line)
    if not instances:
        raise ConfigError(
            f"{candidates[0][0] if len(candidates) == 1 else resource.address} has no instances "
            "(its count or for_each, or its module's, is empty)",
            where,
        )
    if len(instances) == 1:
        address, (holder, scope) = instances[0]
    else:
        keyed = options.site if options.site is not None and "[" in options.site else None
        label_ = _unkeyed(instances[0][0])
        address, (holder, scope) = _choose(instances, replace(options, site=keyed), label_, where)
    node = resource.node(scope, holder.evaluator, address)
    reader = _Reader(address, resource.type, options)
    site = reader.site(node, resource.file.name, resource.file.name)
    return _with_hcl_state(site, holder, resource, node, address, options)


# ---------------------------------------------------------------------------- site state

_REFERENCE = re.compile(
    r"^\s*(?:\$\{\s*)?(?P<type>azurerm_\w+)\.(?P<name>[\w-]+)(?P<key>\[[^\]]*\])?"
    r"\.(?P<attr>\w+)\s*\}?\s*$"
)
_ARM_SITE = re.compile(r"/providers/microsoft\.web/sites/([^/]+)/*$", re.IGNORECASE)
PRIVATE_ENDPOINT_TYPE = "azurerm_private_endpoint"
BINDING_TYPES = ("azurerm_app_service_custom_hostname_binding",)
CERTIFICATE_BINDING_TYPE = "azurerm_app_service_certificate_binding"
PLAN_TYPES = ("azurerm_service_plan", "azurerm_app_service_plan")


def _source_text(node: _Node, name: str) -> str | None:
    """The expression an attribute is written as (HCL source, or a ``.tf.json`` string)."""
    if isinstance(node, _MergedNode):
        return _source_text(node._from(name), name)
    if isinstance(node, _HclNode):
        found = node._attributes.get(name)
        return None if found is None else node.hcl.source(found[0])
    if isinstance(node, _JsonNode):
        value = node.data.get(name)
        return value if isinstance(value, str) else None
    return None


def _refers_to(text: str | None, address: str, attr: str) -> bool | None:
    """Whether an expression is ``<address>.<attr>`` (True), another resource's attribute
    (False), or something else (None). ``address`` may carry an instance key."""
    if text is None:
        return None
    match = _REFERENCE.match(text)
    if match is None:
        return None
    key = match.group("key") or ""
    written = f"{match.group('type')}.{match.group('name')}{key.replace(chr(39), chr(34))}"
    if match.group("attr") != attr:
        return False
    if _unkeyed(address) != f"{match.group('type')}.{match.group('name')}":
        return False
    if key and written != address:
        if not re.fullmatch(r'\[(?:\d+|"[^"]*")\]', key):
            return None  # a computed key: which instance cannot be told from the text
        return False
    return True


def _state_error(what: str, origin: Origin, flag: str) -> ConfigError:
    return ConfigError(f"{what}; say it with {flag}", origin)


def _with_hcl_state(
    site: Site,
    holder: _Instance,
    resource: _Resource,
    node: _Node,
    address: str,
    options: LoadOptions,
) -> Site:
    """The site state the configuration says, from the resources next to the app in its
    module: an ``azurerm_private_endpoint`` whose connection targets the app, the service
    plan's ``app_service_environment_id``, an ``IpBasedEnabled`` hostname binding."""
    local = address[len(holder.prefix()) :]
    values: dict[str, Any] = {}
    if options.private_endpoint is None:
        values["has_private_endpoint"] = _hcl_private_endpoint(
            holder, resource, node, local, options
        )
    if options.hosting is None:
        plan = _source_text(node, "service_plan_id") or _source_text(node, "app_service_plan_id")
        for other in holder.module.resources:
            if other.type not in PLAN_TYPES:
                continue
            for suffix, _, scope in _expand(
                other.meta(), holder.evaluator, other.file, other.address, "resource"
            ):
                if _refers_to(plan, other.address + suffix, "id"):
                    plan_node = other.node(scope, holder.evaluator, other.address + suffix)
                    check_schema(plan_node, other.type, other.address + suffix)
                    if plan_node.defines("app_service_environment_id"):
                        values["hosting"] = "ase"
    if options.ip_based_ssl is None and _hcl_ip_based_ssl(holder, node, local):
        values["ip_based_ssl"] = True
    return replace(site, **values) if values else site


def _hcl_instances(other: _Resource, holder: _Instance) -> list[tuple[str, _Node]]:
    return [
        (other.address + suffix, other.node(scope, holder.evaluator, other.address + suffix))
        for suffix, _, scope in _expand(
            other.meta(),
            holder.evaluator,
            other.file,
            other.address,
            "resource",
            other.meta_files(),
        )
    ]


def _hcl_private_endpoint(
    holder: _Instance, resource: _Resource, node: _Node, local: str, options: LoadOptions
) -> bool:
    slot = resource.type.endswith("_slot")
    target = _source_text(node, "app_service_id") if slot else None
    slot_name: Any = None
    if slot:
        try:
            slot_name = node.value("name")
        except NeedsPlan:
            slot_name = None
    found = False
    for other in holder.module.resources:
        if other.type != PRIVATE_ENDPOINT_TYPE:
            continue
        for pe_address, pe in _hcl_instances(other, holder):
            check_schema(pe, other.type, pe_address)
            for connection in pe.children("private_service_connection"):
                if isinstance(connection, _Skipped):
                    raise _state_error(
                        f"{pe_address}: its private_service_connection needs a plan, so acl "
                        "cannot tell whether it targets the app",
                        Origin(file=connection.file, line=connection.line, path=connection.path),
                        "--private-endpoint-site or --no-private-endpoint-site",
                    )
                text = _source_text(connection, "private_connection_resource_id")
                where = Origin(
                    file=connection.file,
                    line=connection.attribute_line("private_connection_resource_id"),
                    path=f"{pe_address}.private_service_connection.private_connection_resource_id",
                )
                if slot:
                    refers = (
                        None
                        if target is None
                        else (" ".join(text.split()) == " ".join(target.split()) if text else None)
                    )
                else:
                    refers = _refers_to(text, local, "id")
                if refers is None:
                    refers = _literal_target(connection, node, where)
                if not refers:
                    continue
                try:
                    groups = connection.value("subresource_names")
                except NeedsPlan:
                    groups = None
                names = (
                    [g for g in groups if isinstance(g, str)] if isinstance(groups, list) else []
                )
                wanted = f"sites-{slot_name}" if slot else "sites"
                if slot and slot_name is None:
                    raise _state_error(
                        f"{pe_address} targets the slot's app, but the slot's name cannot be "
                        "known offline",
                        where,
                        "--private-endpoint-site or --no-private-endpoint-site",
                    )
                if names and not any(n.lower() == wanted.lower() for n in names):
                    continue
                if not names and slot:
                    continue
                manual = connection.value("is_manual_connection")
                if manual in (True, "true"):
                    options.warn(
                        f"{where}: a manual private endpoint connection waits for the site "
                        "owner's approval and is not counted; once it is approved, give "
                        "--private-endpoint-site"
                    )
                    continue
                found = True
    return found


def _literal_target(connection: _Node, app: _Node, where: Origin) -> bool:
    """A connection whose target is not a reference: its value, when known offline, is a
    resource id compared with the app's name; an unknown value is an error."""
    try:
        value = connection.value("private_connection_resource_id")
    except NeedsPlan as exc:
        raise _state_error(
            f"private_connection_resource_id = {exc.expression} cannot be known offline, so acl "
            "cannot tell whether this private endpoint targets the app",
            where,
            "--private-endpoint-site or --no-private-endpoint-site",
        ) from None
    if not isinstance(value, str):
        return False
    match = _ARM_SITE.search(value)
    if match is None:
        return False
    try:
        name = app.value("name")
    except NeedsPlan as exc:
        raise _state_error(
            f"the private endpoint targets the site {match.group(1)!r}, and the app's name "
            f"{exc.expression} cannot be known offline",
            where,
            "--private-endpoint-site or --no-private-endpoint-site",
        ) from None
    return isinstance(name, str) and name.lower() == match.group(1).lower()


def _hcl_ip_based_ssl(holder: _Instance, node: _Node, local: str) -> bool:
    """An ``azurerm_app_service_custom_hostname_binding`` of the app with ``ssl_state =
    "IpBasedEnabled"``, or an ``azurerm_app_service_certificate_binding`` with that state for
    a hostname binding of the app."""
    try:
        app_name = node.value("name")
    except NeedsPlan:
        app_name = None
    bindings: list[str] = []
    found = False
    for other in holder.module.resources:
        if other.type not in BINDING_TYPES:
            continue
        for binding_address, binding in _hcl_instances(other, holder):
            text = _source_text(binding, "app_service_name")
            ours = _refers_to(text, local, "name")
            if ours is None:
                try:
                    ours = app_name is not None and binding.value("app_service_name") == app_name
                except NeedsPlan:
                    ours = False
            if not ours:
                continue
            bindings.append(binding_address)
            if _ip_based(binding):
                found = True
    for other in holder.module.resources:
        if other.type != CERTIFICATE_BINDING_TYPE:
            continue
        for _, cert in _hcl_instances(other, holder):
            text = _source_text(cert, "hostname_binding_id")
            if any(_refers_to(text, b, "id") for b in bindings) and _ip_based(cert):
                found = True
    return found


def _ip_based(node: _Node) -> bool:
    try:
        state = node.value("ssl_state")
    except NeedsPlan as exc:
        raise _state_error(
            f"ssl_state = {exc.expression} cannot be known offline, so acl cannot tell whether "
            "the app has IP-based SSL",
            node.origin("ssl_state"),
            "--ip-based-ssl or --no-ip-based-ssl",
        ) from None
    return isinstance(state, str) and state.lower() == "ipbasedenabled"


# ---------------------------------------------------------------------------- terraform show -json


def is_terraform_show(document: Any) -> bool:
    """JSON from ``terraform show -json`` (plan or state), or a raw ``terraform.tfstate``."""
    if not isinstance(document, Mapping):
        return False
    if "terraform_version" in document and "format_version" in document:
        return True
    return "lineage" in document and isinstance(document.get("resources"), list)


def _state_resources(module: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    if not isinstance(module, Mapping):
        return
    for index, resource in enumerate(module.get("resources") or []):
        if isinstance(resource, Mapping):
            yield f"{path}.resources[{index}]", resource, f"{path}.resources[{index}].values"
    for index, child in enumerate(module.get("child_modules") or []):
        yield from _state_resources(child, f"{path}.child_modules[{index}]")


def _show_candidates(
    document: Mapping[str, Any], types: frozenset[str] = WEB_APP_TYPES
) -> list[tuple[str, tuple[str, Any, Any, str]]]:
    """(address, (type, values, unknown, JSON path of values)) for every web app (or every
    resource of ``types``)."""
    found: list[tuple[str, tuple[str, Any, Any, str]]] = []
    if isinstance(document.get("resource_changes"), list):
        for index, change in enumerate(document["resource_changes"]):
            if not isinstance(change, Mapping) or change.get("mode", "managed") != "managed":
                continue
            kind = change.get("type")
            raw = change.get("change")
            details: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            if kind not in types or details.get("actions") == ["delete"]:
                continue
            after = details.get("after")
            if not isinstance(after, Mapping):
                continue
            found.append(
                (
                    str(change.get("address", f"{kind}.{change.get('name')}")),
                    (
                        kind,
                        after,
                        details.get("after_unknown"),
                        f"$.resource_changes[{index}].change.after",
                    ),
                )
            )
        return found
    if isinstance(document.get("values"), Mapping):
        for _path, resource, values_path in _state_resources(
            document["values"].get("root_module"), "$.values.root_module"
        ):
            kind = resource.get("type")
            if kind in types and resource.get("mode", "managed") == "managed":
                address = str(resource.get("address", f"{kind}.{resource.get('name')}"))
                found.append((address, (kind, resource.get("values") or {}, None, values_path)))
        return found
    if isinstance(document.get("resources"), list):
        for index, resource in enumerate(document["resources"]):
            if not isinstance(resource, Mapping) or resource.get("type") not in types:
                continue
            if resource.get("mode", "managed") != "managed":
                continue
            base = f"{resource['type']}.{resource.get('name')}"
            if resource.get("module"):
                base = f"{resource['module']}.{base}"
            for number, instance in enumerate(resource.get("instances") or []):
                if not isinstance(instance, Mapping):
                    continue
                key = instance.get("index_key")
                address = base if key is None else f"{base}[{json.dumps(key)}]"
                found.append(
                    (
                        address,
                        (
                            resource["type"],
                            instance.get("attributes") or {},
                            None,
                            f"$.resources[{index}].instances[{number}].attributes",
                        ),
                    )
                )
    return found


@bounded
def load_terraform_show(document: Any, options: LoadOptions) -> Site:
    """The site of a web app in ``terraform show -json`` output (plan or state) or in a raw
    ``terraform.tfstate`` file."""
    if not is_terraform_show(document):
        raise ConfigError(
            "expected the JSON of `terraform show -json` (a plan or a state)",
            Origin(file=options.source, path="$"),
        )
    label = options.source or "<string>"
    candidates = _show_candidates(document)
    if not candidates:
        raise ConfigError(
            "no web app or function app resource in the plan or state",
            Origin(file=options.source, path="$"),
        )
    address, (kind, values, unknown, path) = _choose(
        candidates, options, label, Origin(file=options.source, path="$")
    )
    node = _DictNode(values, unknown, options.source, None, path)
    reader = _Reader(address, kind, options, json_paths=True)
    site = reader.site(node, options.source, options.source)
    if options.private_endpoint is None:
        found = _show_private_endpoint(document, address, kind, values, options)
        site = replace(site, has_private_endpoint=found)
    return site


def _configuration_references(document: Mapping[str, Any], address: str) -> list[str]:
    """The references a plan's ``configuration`` records for a private endpoint's
    ``private_service_connection[*].private_connection_resource_id`` (root module only)."""
    config = document.get("configuration")
    root = config.get("root_module") if isinstance(config, Mapping) else None
    resources = root.get("resources") if isinstance(root, Mapping) else None
    found: list[str] = []
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, Mapping) or resource.get("address") != _unkeyed(address):
            continue
        expressions = resource.get("expressions")
        blocks_ = (
            expressions.get("private_service_connection")
            if isinstance(expressions, Mapping)
            else None
        )
        for block in blocks_ if isinstance(blocks_, list) else []:
            target = (
                block.get("private_connection_resource_id") if isinstance(block, Mapping) else None
            )
            refs = target.get("references") if isinstance(target, Mapping) else None
            found.extend(r for r in refs if isinstance(r, str)) if isinstance(refs, list) else None
    return found


def _show_private_endpoint(
    document: Mapping[str, Any],
    address: str,
    kind: str,
    app: Mapping[str, Any],
    options: LoadOptions,
) -> bool:
    """An ``azurerm_private_endpoint`` in the plan or state whose automatic connection targets
    the app: by the app's ``id`` (a state, or a plan of existing resources), or, when the plan
    does not know the id yet, by the configuration's references to the app."""
    if kind.endswith("_slot"):
        parent = app.get("app_service_id")
        wanted = f"sites-{app.get('name')}"
        app_id = parent if isinstance(parent, str) else None
    else:
        wanted = "sites"
        app_id = app.get("id") if isinstance(app.get("id"), str) else None
    found = False
    endpoints = _show_candidates(document, frozenset({PRIVATE_ENDPOINT_TYPE}))
    for pe_address, (_, values, _unknown, path) in endpoints:
        connections = values.get("private_service_connection")
        for index, connection in enumerate(connections if isinstance(connections, list) else []):
            if not isinstance(connection, Mapping):
                continue
            where = Origin(
                file=options.source,
                path=f"{path}.private_service_connection[{index}].private_connection_resource_id",
            )
            target = connection.get("private_connection_resource_id")
            if isinstance(target, str) and app_id is not None:
                ours = target.strip().lower() == app_id.strip().lower()
            else:
                refs = _configuration_references(document, pe_address)
                app_ref = _unkeyed(address) if not kind.endswith("_slot") else None
                if refs and app_ref is not None:
                    ours = app_ref in refs or f"{app_ref}.id" in refs
                elif isinstance(target, str) and _ARM_SITE.search(target) is None:
                    ours = False  # a known id of something that is not a site
                else:
                    raise _state_error(
                        f"{pe_address}: the plan does not say what its connection targets",
                        where,
                        "--private-endpoint-site or --no-private-endpoint-site",
                    )
            if not ours:
                continue
            names = connection.get("subresource_names")
            groups = (
                [n.lower() for n in names if isinstance(n, str)] if isinstance(names, list) else []
            )
            if groups and wanted.lower() not in groups:
                continue
            if connection.get("is_manual_connection") is True:
                options.warn(
                    f"{where}: a manual private endpoint connection waits for the site owner's "
                    "approval and is not counted; once it is approved, give --private-endpoint-site"
                )
                continue
            found = True
    return found

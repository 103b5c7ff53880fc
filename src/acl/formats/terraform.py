"""Terraform (azurerm): ``.tf`` files and folders, and ``terraform show -json`` output.

Two formats:

* ``terraform``: HCL configuration, one ``.tf`` file or a folder (a root module). The web
  and function apps (``azurerm_linux_web_app``, ``azurerm_windows_web_app``,
  ``azurerm_linux_function_app``, ``azurerm_windows_function_app``, their ``_slot``
  variants, and the legacy ``azurerm_app_service``, ``azurerm_function_app`` and their
  slots) are read with the provider's defaults: priority 65000, action ``Allow``, and
  (azurerm 3.95 and later) ``ip_restriction_default_action = "Allow"``. Variables come from
  their defaults, ``terraform.tfvars``, ``*.auto.tfvars``, ``var_files`` and ``variables``;
  locals, ``dynamic`` blocks and ``count``/``for_each`` are expanded when their values can be
  known offline. A value only a plan can know is an error naming the file, line, block and
  expression, or (``unresolved="skip-rule"``) leaves that rule out with a warning.
* ``terraform-show``: the JSON of ``terraform show -json`` for a plan or a state (and a raw
  ``terraform.tfstate``): the values the provider will send, or sent.

Either way the Terraform blocks become ARM-shaped ``IpSecurityRestriction`` objects and go
through :func:`acl.formats.restrictions.site_from_config`, so every rule is validated, and
every message worded, exactly as for ARM JSON; the origins carry the ``.tf`` file and line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lark import Tree

from ..errors import ConfigError, Origin
from ..model import Site
from ._hcl import (
    EvalError,
    Evaluator,
    HclFile,
    HclSyntaxError,
    NeedsPlan,
    Scope,
    attributes,
    blocks,
    convert,
    parse_hcl,
    parse_type,
    to_number,
    to_string,
    type_name,
)
from .options import AZURERM_DEFAULT_ACTION_VERSION, LoadOptions
from .restrictions import Context, site_from_config

__all__ = [
    "LEGACY_TYPES",
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
LEGACY_TYPES = frozenset(
    {
        "azurerm_app_service",
        "azurerm_app_service_slot",
        "azurerm_function_app",
        "azurerm_function_app_slot",
    }
)
WEB_APP_TYPES = frozenset({*_CURRENT, *(f"{t}_slot" for t in _CURRENT), *LEGACY_TYPES})
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
            f"azurerm version {text!r} is not valid: expected MAJOR.MINOR[.PATCH], e.g. 3.94 or 4.1.0"
        )
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True, slots=True)
class _PlacedContext(Context):
    """A :class:`Context` whose origins carry the file and line each value came from."""

    places: Mapping[str, Origin] = field(default_factory=dict)

    def origin(self, path: str, **rule: Any) -> Origin:
        base = self.places.get(path)
        if base is None:
            return Context.origin(self, path, **rule)
        return replace(base, **rule)


# ---------------------------------------------------------------------------- block readers


class _Node:
    """A block (or an object standing for one) whose attributes can be read."""

    file: str | None
    line: int | None
    path: str

    def value(self, name: str) -> Any:
        raise NotImplementedError

    def children(self, name: str) -> list[_Node | _Skipped]:
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
        self.scope = scope
        self.hcl = file
        self.file = file.name
        self.evaluator = evaluator
        self.line = line
        self.path = path
        try:
            self._attributes = attributes(body)
        except EvalError as exc:
            raise ConfigError(
                exc.message, Origin(file=file.name, line=exc.line, path=path)
            ) from None

    def attribute_line(self, name: str) -> int | None:
        found = self._attributes.get(name)
        return found[1] if found else self.line

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
                        f"{name} element {item!r:.60} is not valid: expected an object",
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
                f"{name} {items!r:.60} is not valid: expected a list of objects",
                self.origin(name),
            )
        unknown = self._unknown(name)
        found: list[_Node | _Skipped] = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ConfigError(
                    f"{name} element {item!r:.60} is not valid: expected an object",
                    self.origin(f"{name}[{index}]"),
                )
            sub = unknown[index] if isinstance(unknown, list) and index < len(unknown) else None
            found.append(_DictNode(item, sub, self.file, self.line, f"{self.path}.{name}[{index}]"))
        return found


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
        else:
            message = (
                f"{exc.expression} cannot be known offline: {exc.reason}; give the value with "
                "--var or a .tfvars file, read `terraform show -json` of a plan instead, or use "
                "--unresolved=skip-rule to leave this rule out"
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
            raise self.plan_error(exc, node.file, node.line) from None

    def site_config(self, resource: _Node) -> tuple[dict[str, Any], dict[str, str], Any, str]:
        """The ARM siteConfig, the key paths and the public network access value and path."""
        config: dict[str, Any] = {}
        key_paths: dict[str, str] = {}
        public_path = f"{resource.path}.public_network_access_enabled"
        self.places[public_path] = resource.origin("public_network_access_enabled")
        enabled = self.setting(resource, "public_network_access_enabled")
        public: Any = None
        if enabled is not None:
            if not isinstance(enabled, bool) and enabled not in ("true", "false"):
                raise ConfigError(
                    f"public_network_access_enabled {enabled!r} is not valid: expected true or false",
                    resource.origin("public_network_access_enabled"),
                )
            public = "Enabled" if enabled in (True, "true") else "Disabled"
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

    def _line_origin(self, node: _Node, attr: str) -> Origin:
        return self._where(node, attr)

    def default_action(self, value: Any, attr: str, origin: Origin) -> str | None:
        if self.json_paths:
            # state and plan hold what the provider sends: "" means nothing is sent
            if value in (None, ""):
                return None
            if not isinstance(value, str):
                raise ConfigError(
                    f"{attr} {value!r} is not valid: expected 'Allow' or 'Deny'", origin
                )
            return value
        if self.legacy:
            if value is not None:
                raise ConfigError(
                    f"{attr} is not an argument of {self.resource_type}: only "
                    "azurerm_linux_web_app, azurerm_windows_web_app, the function apps and their "
                    "slots (azurerm 3.95 and later) have it",
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
                f"{attr} {value!r} is not valid: the azurerm provider expects 'Allow' or 'Deny' "
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
                f"{name} {value!r:.60} is not valid: expected a string", self._where(node, name)
            ) from None
        return text or None

    def _where(self, node: _Node, name: str) -> Origin:
        line = node.attribute_line(name) if isinstance(node, _HclNode) else node.line
        return Origin(file=node.file, line=line, path=f"{node.path}.{name}")

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
            if not self.legacy and not self.json_paths:
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
                f"action {action!r} is not valid: the azurerm provider expects 'Allow' or 'Deny' "
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
                    f"ip_address {text!r} is not valid: the azurerm provider expects IP addresses "
                    f"or CIDRs separated by commas, and {element!r} is not one{hint}",
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
                f"priority {value!r} is not valid: a number is required", origin
            ) from None
        if isinstance(number, float):
            raise ConfigError(
                f"priority {value!r} is not valid: a whole number is required", origin
            )
        if not self.json_paths and not 1 <= number <= _INT32_MAX:
            raise ConfigError(
                f"priority {number} is out of range: the azurerm provider expects 1 to {_INT32_MAX}",
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
                    f"{attr} {value!r:.60} is not valid: expected a list of strings", origin
                )
            try:
                values = [to_string(v) for v in value]
            except EvalError:
                raise ConfigError(
                    f"{attr} {value!r:.60} is not valid: expected a list of strings", origin
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
                    f"{attr} value {value!r} is not valid: the azurerm provider expects a UUID",
                    origin,
                )
            if attr == "x_fd_health_probe" and value != "1":
                raise ConfigError(
                    f'{attr} value {value!r} is not valid: the azurerm provider expects "1"',
                    origin,
                )
            if attr == "x_forwarded_for" and "/" not in value:
                raise ConfigError(
                    f"{attr} value {value!r} is not valid: the azurerm provider expects a CIDR "
                    f"(write {value}/32 or {value}/128)",
                    origin,
                )

    def site(self, resource: _Node, ctx_file: str | None, source: str | None) -> Site:
        config, key_paths, public, public_path = self.site_config(resource)
        ctx = _PlacedContext(
            file=ctx_file, service_tags=self.options.tags(), places=dict(self.places)
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


# ---------------------------------------------------------------------------- HCL modules


@dataclass
class _Resource:
    type: str
    name: str
    body: Tree[Any]
    file: HclFile
    line: int | None

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass
class _Module:
    label: str
    folder: Path | None
    files: list[HclFile] = field(default_factory=list)
    variables: dict[str, tuple[Any, HclFile]] = field(default_factory=dict)
    locals: dict[str, tuple[Tree[Any], HclFile]] = field(default_factory=dict)
    resources: list[_Resource] = field(default_factory=list)


def _parse_file(name: str, text: str) -> HclFile:
    try:
        tree = parse_hcl(text)
    except HclSyntaxError as exc:
        raise ConfigError(
            exc.message, Origin(file=name, line=exc.line, column=exc.column)
        ) from None
    return HclFile(name, text, tree)


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


def _module(files: list[HclFile], label: str, folder: Path | None) -> _Module:
    module = _Module(label, folder, files)
    seen: dict[str, _Resource] = {}
    for file in files:
        for block in blocks(_body_of(file)):
            where = Origin(file=file.name, line=block.line)
            if block.type == "variable":
                if len(block.labels) != 1:
                    raise ConfigError("a variable block takes one label, its name", where)
                name = block.labels[0]
                if name in module.variables:
                    raise ConfigError(f"variable {name!r} is declared twice", where)
                module.variables[name] = (block, file)
            elif block.type == "locals":
                try:
                    found = attributes(block.body)
                except EvalError as exc:
                    raise ConfigError(exc.message, replace(where, line=exc.line)) from None
                for name, (expression, line) in found.items():
                    if name in module.locals:
                        raise ConfigError(
                            f"local value {name!r} is defined twice", replace(where, line=line)
                        )
                    module.locals[name] = (expression, file)
            elif block.type == "resource" and len(block.labels) == 2:
                resource = _Resource(block.labels[0], block.labels[1], block.body, file, block.line)
                if resource.address in seen:
                    raise ConfigError(f"resource {resource.address} is declared twice", where)
                seen[resource.address] = resource
                module.resources.append(resource)
    return module


def _tfvars(path: Path) -> tuple[HclFile | None, dict[str, Any]]:
    """The values of a ``.tfvars`` (HCL) or ``.tfvars.json`` file."""
    text = _read_text(path)
    if path.name.endswith(".json"):
        try:
            data = json.loads(text)
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


def _variables(module: _Module, options: LoadOptions) -> Evaluator:
    """An evaluator with every input variable resolved as Terraform would."""
    values: dict[str, Any] = {}
    evaluator = Evaluator(
        values,
        frozenset(module.variables),
        module.locals,
        frozenset(r.type for r in module.resources),
    )
    literal = Evaluator({}, frozenset(), {})
    specs: dict[str, Any] = {}
    for name, (block, file) in module.variables.items():
        try:
            found = attributes(block.body)
        except EvalError as exc:
            raise ConfigError(exc.message, Origin(file=file.name, line=exc.line)) from None
        if "type" in found:
            try:
                specs[name] = parse_type(found["type"][0], file)
            except EvalError as exc:
                raise ConfigError(
                    f"variable {name!r}: {exc.message}",
                    Origin(file=file.name, line=found["type"][1]),
                ) from None
        if "default" in found:
            expression, line = found["default"]
            try:
                values[name] = literal.evaluate(expression, {}, file)
            except (EvalError, NeedsPlan) as exc:
                text = exc.message if isinstance(exc, EvalError) else exc.reason
                raise ConfigError(
                    f"variable {name!r}: the default must be a literal value: {text}",
                    Origin(file=file.name, line=line),
                ) from None
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
                and (p.name.endswith(".auto.tfvars") or p.name.endswith(".auto.tfvars.json"))
            )
        )
    sources.extend(Path(p) for p in options.var_files)
    for path in sources:
        _, given = _tfvars(path)
        for name, value in given.items():
            if name not in module.variables:
                options.warn(
                    f"{path}: value for undeclared variable {name!r} is ignored "
                    f"(the configuration in {module.label} does not declare it)"
                )
                continue
            values[name] = value
    for name, text in options.variables.items():
        if name not in module.variables:
            raise ConfigError(
                f"--var {name}: variable {name!r} is not declared in {module.label} "
                f"(it declares: {', '.join(sorted(module.variables)) or 'none'})",
                Origin(path=f"--var {name}"),
            )
        spec = specs.get(name)
        if spec is not None and spec.kind not in ("string", "number", "bool", "any"):
            file = _parse_file(f"--var {name}", f"v = {text}\n")
            try:
                values[name] = literal.evaluate(attributes(_body_of(file))["v"][0], {}, file)
            except (EvalError, NeedsPlan, KeyError) as exc:
                raise ConfigError(
                    f"--var {name}={text!r}: variable {name!r} is a {spec.kind}: expected an HCL "
                    f"value ({exc})",
                    Origin(path=f"--var {name}"),
                ) from None
        else:
            values[name] = text
    for name, spec in specs.items():
        if name in values:
            block, file = module.variables[name]
            try:
                values[name] = convert(values[name], spec, evaluator, file)
            except (EvalError, NeedsPlan) as exc:
                text = exc.message if isinstance(exc, EvalError) else exc.reason
                raise ConfigError(
                    f"variable {name!r}: the value {values[name]!r:.60} does not fit its type: {text}",
                    Origin(file=file.name, line=block.line),
                ) from None
    return evaluator


def _instances(
    resource: _Resource, evaluator: Evaluator, options: LoadOptions
) -> list[tuple[str, Scope]]:
    """The addresses and iterator scopes of a resource's instances (count and for_each)."""
    try:
        found = attributes(resource.body)
    except EvalError as exc:
        raise ConfigError(exc.message, Origin(file=resource.file.name, line=exc.line)) from None
    for meta in ("count", "for_each"):
        if meta not in found:
            continue
        expression, line = found[meta]
        origin = Origin(file=resource.file.name, line=line, path=f"{resource.address}.{meta}")
        try:
            value = evaluator.evaluate(expression, {}, resource.file)
        except NeedsPlan as exc:
            raise ConfigError(
                f"{meta} of {resource.address}: {exc.expression} cannot be known offline: "
                f"{exc.reason}; read `terraform show -json` of a plan instead",
                origin,
            ) from None
        except EvalError as exc:
            raise ConfigError(exc.message, origin) from None
        if meta == "count":
            try:
                count = int(to_number(value))
            except EvalError as exc:
                raise ConfigError(f"count: {exc.message}", origin) from None
            return [(f"{resource.address}[{i}]", {"count": {"index": i}}) for i in range(count)]
        if isinstance(value, list):
            pairs = [(to_string(v), v) for v in value]
        elif isinstance(value, dict):
            pairs = [(k, value[k]) for k in sorted(value)]
        else:
            raise ConfigError(f"for_each is a {type_name(value)}: expected a map or a set", origin)
        return [
            (f"{resource.address}[{json.dumps(key)}]", {"each": {"key": key, "value": v}})
            for key, v in pairs
        ]
    return [(resource.address, {})]


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
                    f"--site {wanted!r} matches {len(matches)} web apps in {label}: "
                    f"{', '.join(m[0] for m in matches)}; give the full address",
                    origin,
                )
        raise ConfigError(
            f"web app {wanted!r} is not in {label}; its web apps are: {', '.join(addresses)}",
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
    """An address without its instance key and module path."""
    address = address.split("[", 1)[0]
    parts = address.split(".")
    return ".".join(parts[-2:])


def _hcl_sources(document: Any, options: LoadOptions) -> tuple[list[HclFile], str, Path | None]:
    """The files of the configuration: one text, one file, or a folder's ``*.tf`` files."""
    if isinstance(document, str):
        name = options.source or "<string>"
        return [_parse_file(name, document)], name, None
    path = Path(os.fspath(document))
    if path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".tf")
        ignored = sorted(p.name for p in path.iterdir() if p.name.endswith(".tf.json"))
        if ignored:
            options.warn(
                f"{path}: Terraform JSON configuration files are not read: {', '.join(ignored)}"
            )
        if not paths:
            raise ConfigError("the folder has no .tf files", Origin(file=str(path)))
        return [_parse_file(str(p), _read_text(p)) for p in paths], f"{path}/", path
    return [_parse_file(str(path), _read_text(path))], str(path), None


def load_terraform(document: Any, options: LoadOptions) -> Site:
    """The site of a web app in Terraform HCL: ``document`` is the text of one ``.tf`` file,
    or a path to a ``.tf`` file or a folder."""
    files, label, folder = _hcl_sources(document, options)
    module = _module(files, label, folder)
    apps = [r for r in module.resources if r.type in WEB_APP_TYPES]
    origin = Origin(file=label.rstrip("/") if folder else label)
    if not apps:
        kinds = ", ".join(sorted(_CURRENT))
        raise ConfigError(
            f"no web app or function app resource in {label} (looked for {kinds}, their _slot "
            "variants and the legacy azurerm_app_service/azurerm_function_app)",
            origin,
        )
    evaluator = _variables(module, options)
    # expand count/for_each of the chosen resource only, so that others cannot get in the way
    candidates = [(r.address, r) for r in apps]
    wanted = options.site.split("[", 1)[0] if options.site is not None else None
    resource: _Resource = _choose(candidates, replace(options, site=wanted), label, origin)[1]
    instances = _instances(resource, evaluator, options)
    if not instances:
        raise ConfigError(
            f"{resource.address} has no instances (its count or for_each is empty)",
            Origin(file=resource.file.name, line=resource.line),
        )
    if len(instances) == 1:
        address, scope = instances[0]
    else:
        keyed = options.site if options.site is not None and "[" in options.site else None
        address, scope = _choose(
            instances,
            replace(options, site=keyed),
            resource.address,
            Origin(file=resource.file.name, line=resource.line),
        )
    node = _HclNode(resource.body, scope, resource.file, evaluator, resource.line, address)
    reader = _Reader(address, resource.type, options)
    return reader.site(node, resource.file.name, resource.file.name)


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


def _show_candidates(document: Mapping[str, Any]) -> list[tuple[str, tuple[str, Any, Any, str]]]:
    """(address, (type, values, unknown, JSON path of values)) for every web app."""
    found: list[tuple[str, tuple[str, Any, Any, str]]] = []
    if isinstance(document.get("resource_changes"), list):
        for index, change in enumerate(document["resource_changes"]):
            if not isinstance(change, Mapping) or change.get("mode", "managed") != "managed":
                continue
            kind = change.get("type")
            raw = change.get("change")
            details: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            if kind not in WEB_APP_TYPES or details.get("actions") == ["delete"]:
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
            if kind in WEB_APP_TYPES and resource.get("mode", "managed") == "managed":
                address = str(resource.get("address", f"{kind}.{resource.get('name')}"))
                found.append((address, (kind, resource.get("values") or {}, None, values_path)))
        return found
    if isinstance(document.get("resources"), list):
        for index, resource in enumerate(document["resources"]):
            if not isinstance(resource, Mapping) or resource.get("type") not in WEB_APP_TYPES:
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
    return site

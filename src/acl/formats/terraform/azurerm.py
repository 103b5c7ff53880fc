"""The azurerm mapping: the web and function app resource types, their provider defaults,
and :class:`Reader`, which turns one app's blocks (``site_config``, its
``ip_restriction``/``scm_ip_restriction`` blocks and their ``headers``) into an ARM-shaped
``siteConfig`` with the place of every rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ...errors import ConfigError, Origin, quote
from ...model import Site
from ..options import AZURERM_DEFAULT_ACTION_VERSION, LoadOptions
from ..restrictions import PlacedContext, site_from_config
from .hcl_errors import EvalError, NeedsPlan
from .nodes import DictNode, Node, Skipped
from .schema import check_schema
from .values import to_number, to_string

CURRENT_TYPES = (
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
``public_network_access`` (``"Enabled"``/``"Disabled"``, azurerm 4.12 and later) or, in
azurerm 3.86 and later, ``site_config.public_network_access_enabled``. azurerm has no slot
resource for it."""
LOGIC_APP_SHARED_RULES_VERSION = (4, 40)
"""The azurerm release from which ``azurerm_logic_app_standard`` reads its rules as the
current web apps do (``ip_address`` validated as IPs and CIDRs); before it, as the legacy
resources do (see :meth:`Reader.rule`)."""
PUBLIC_ACCESS_VERSIONS = {"web": (3, 64), "logic_site_config": (3, 86), "logic": (4, 12)}
"""The azurerm releases from which the provider sends ``publicNetworkAccess = "Enabled"``
when the configuration does not set it: the current web and function apps and their slots
(``public_network_access_enabled``, default true), the Logic App's
``site_config.public_network_access_enabled`` (default true, sent when there is a
``site_config`` block) and its ``public_network_access`` (default ``"Enabled"``)."""
LEGACY_TYPES = frozenset(
    {
        "azurerm_app_service",
        "azurerm_app_service_slot",
        "azurerm_function_app",
        "azurerm_function_app_slot",
    }
)
WEB_APP_TYPES = frozenset(
    {
        *CURRENT_TYPES,
        *(f"{t}_slot" for t in CURRENT_TYPES),
        *FLEX_TYPES,
        *LEGACY_TYPES,
        *LOGIC_APP_TYPES,
    }
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


# ---------------------------------------------------------------------------- azurerm mapping


@dataclass
class Reader:
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

    @property
    def version(self) -> tuple[int, int] | None:
        """The azurerm version given (``--azurerm-version``), or None: the latest."""
        given = self.options.azurerm_version
        return parse_azurerm_version(given) if given else None

    @property
    def old_rules(self) -> bool:
        """Whether the provider expands this resource's rules the old way: the legacy
        resources, and the Logic App before azurerm 4.40."""
        if self.legacy:
            return True
        version = self.version
        return self.logic_app and version is not None and version < LOGIC_APP_SHARED_RULES_VERSION

    def default_public_access(self, has_site_config: bool) -> str | None:
        """What the provider sends as ``publicNetworkAccess`` when the configuration sets no
        public network access: ``"Enabled"`` (the attributes' defaults), or None where the
        resource or the azurerm version has no such attribute. A plan or a state holds the
        value itself."""
        if self.json_paths or self.legacy:
            return None
        version = self.version
        if self.logic_app:
            if version is None or version >= PUBLIC_ACCESS_VERSIONS["logic"]:
                return "Enabled"
            if version >= PUBLIC_ACCESS_VERSIONS["logic_site_config"] and has_site_config:
                return "Enabled"
            return None
        if self.resource_type in FLEX_TYPES:
            return "Enabled"
        if version is None or version >= PUBLIC_ACCESS_VERSIONS["web"]:
            return "Enabled"
        return None

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

    def setting(self, node: Node, name: str) -> Any:
        try:
            return node.value(name)
        except NeedsPlan as exc:
            raise self.plan_error(exc, node.attribute_file(name), node.line) from None

    def site_config(self, resource: Node) -> tuple[dict[str, Any], dict[str, str], Any, str]:
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
        skipped = [c for c in configs if isinstance(c, Skipped)]
        if skipped:
            raise self.plan_error(skipped[0].error, skipped[0].file, skipped[0].line)
        nodes = [c for c in configs if isinstance(c, Node)]
        if len(nodes) > 1:
            raise ConfigError(
                f"{self.resource_type} takes one site_config block, not {len(nodes)}",
                nodes[1].origin(),
            )
        if not nodes:
            node: Node = DictNode({}, None, resource.file, resource.line, resource.path)
        else:
            node = nodes[0]
        node.path = f"{resource.path}.site_config" + ("[0]" if self.json_paths else "")
        if self.logic_app:
            # azurerm 3.86 to 4.x: site_config.public_network_access_enabled, the older spelling
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
        if public is None:
            public = self.default_public_access(bool(nodes))
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

    def _enabled(self, node: Node, attr: str) -> str | None:
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

    def _line_origin(self, node: Node, attr: str) -> Origin:
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

    def rules(self, node: Node, attr: str, list_path: str, collection: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for index, child in enumerate(node.children(attr)):
            if isinstance(child, Skipped):
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
            if rule is None:  # never sent by the provider
                continue
            self.places[f"{list_path}[{len(out)}]"] = Origin(
                file=child.file, line=child.line, path=child.path
            )
            out.append(rule)
        return out

    def _text(self, node: Node, name: str) -> str | None:
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

    def _where(self, node: Node, name: str) -> Origin:
        return Origin(
            file=node.attribute_file(name),
            line=node.attribute_line(name),
            path=f"{node.path}.{name}",
        )

    def rule(self, node: Node) -> dict[str, Any] | None:
        """The ARM rule the provider sends for one block, or None when it sends none."""
        ip_address = self._text(node, "ip_address")
        service_tag = self._text(node, "service_tag")
        subnet = self._text(node, "virtual_network_subnet_id")
        if subnet is None and self.legacy:
            subnet = self._text(node, "subnet_id")
        if self.old_rules:
            return self._old_rule(node, ip_address, service_tag, subnet)
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
        rule = self._named(node)
        if ip_address is not None:
            if not self.json_paths:
                self._check_ip_list(ip_address, self._where(node, "ip_address"))
            rule["ipAddress"] = ip_address
        elif service_tag is not None:
            rule["ipAddress"] = service_tag
            rule["tag"] = "ServiceTag"
        else:
            rule["vnetSubnetResourceId"] = subnet
        return self._rest_of_rule(node, rule)

    def _old_rule(
        self, node: Node, ip_address: str | None, service_tag: str | None, subnet: str | None
    ) -> dict[str, Any] | None:
        """A rule as the legacy resources (and the Logic App before azurerm 4.40) expand it
        (``expandAppServiceIpRestriction``): ``ip_address`` is only checked for being
        non-empty; a rule whose ``ip_address`` is exactly ``Any`` is dropped, never sent;
        ``service_tag`` overwrites ``ip_address``; all three set is an error."""
        if ip_address is not None and service_tag is not None and subnet is not None:
            raise ConfigError(
                "only one of `ip_address`, `service_tag` or `virtual_network_subnet_id` can be "
                "set for an IP restriction",
                node.origin(),
            )
        if ip_address is None and service_tag is None and subnet is None:
            raise ConfigError(
                "one of `ip_address`, `service_tag` or `virtual_network_subnet_id` must be set "
                "for an IP restriction",
                node.origin(),
            )
        rule = self._named(node)
        if ip_address == "Any":
            self.options.warn(
                f"{node.origin()}: "
                + (f"rule {quote(rule['name'])}: " if "name" in rule else "")
                + f'ip_address = "Any" is left out: {self.resource_type} never sends a rule '
                'whose ip_address is "Any" (the provider drops it), so it neither allows nor '
                'denies anything; for every address write "0.0.0.0/0,::/0"'
            )
            return None
        if subnet is not None and (ip_address is not None or service_tag is not None):
            other = "service_tag" if service_tag is not None else "ip_address"
            raise ConfigError(
                f"virtual_network_subnet_id and {other} are both set: {self.resource_type} "
                "then sends one rule with an address and a subnet, which App Service's "
                "documented rules do not cover; write the subnet and the address as two rules",
                node.origin(),
            )
        if service_tag is not None:
            if ip_address is not None:
                self.options.warn(
                    f"{node.origin()}: ip_address {quote(ip_address)} is not sent: "
                    f"{self.resource_type} sends service_tag {quote(service_tag)} in its place"
                )
            rule["ipAddress"] = service_tag
            rule["tag"] = "ServiceTag"
        elif ip_address is not None:
            rule["ipAddress"] = ip_address
        else:
            rule["vnetSubnetResourceId"] = subnet
        return self._rest_of_rule(node, rule)

    def _named(self, node: Node) -> dict[str, Any]:
        """A new ARM rule holding the block's ``name``, if it has one."""
        name = self._text(node, "name")
        return {} if name is None else {"name": name}

    def _rest_of_rule(self, node: Node, rule: dict[str, Any]) -> dict[str, Any]:
        """The description, priority, action and headers of a rule."""
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
                if self.logic_app:
                    hint += (
                        " (azurerm 4.40 and later validate the Logic App's ip_address; for an "
                        "older provider give --azurerm-version)"
                    )
                raise ConfigError(
                    f"ip_address {quote(text)} is not valid: the azurerm provider expects IP addresses "
                    f"or CIDRs separated by commas, and {quote(element)} is not one{hint}",
                    origin,
                )

    def _priority(self, node: Node) -> int:
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

    def _headers(self, node: Node) -> dict[str, list[str]]:
        found = node.children("headers")
        skipped = [c for c in found if isinstance(c, Skipped)]
        if skipped:
            raise skipped[0].error
        nodes = [c for c in found if isinstance(c, Node)]
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

    def site(self, resource: Node, ctx_file: str | None, source: str | None) -> Site:
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

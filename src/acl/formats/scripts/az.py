"""The az CLI's access restriction commands applied to :class:`ScriptSites`, as the CLI applies
them (``az webapp|functionapp config access-restriction add|remove|set``, the generic updates
``az webapp|functionapp update`` and ``az resource update``, and ``az webapp config set
--generic-configurations``), for the bash loader and for ``az`` lines in PowerShell scripts."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError, Origin, quote
from .._limits import LimitError
from ..options import LoadOptions
from .azargs import (
    ACCESS_RESTRICTION_VERBS,
    enum_choice,
    parse_access_restriction,
    parse_config_set,
    parse_generic_update,
    targets,
)
from .common import (
    CONFIG_ID,
    RESOURCE_ID,
    SCALARS,
    SITE_CONFIG_KEYS,
    NotEvaluated,
    Rule,
    ScriptSites,
    is_resource_id,
    setting_choice,
    setting_choices,
    squash,
    subnet_id,
)

__all__ = ["Az"]

_ALLOWED_HEADERS = ("x-forwarded-host", "x-forwarded-for", "x-azure-fdid", "x-fd-healthprobe")


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
            [["siteConfig", k] for k in SITE_CONFIG_KEYS]
            + [["publicNetworkAccess"]]
            + [["properties", "publicNetworkAccess"]]
            + [["properties", "siteConfig", k] for k in SITE_CONFIG_KEYS]
        )
    elif kind == "config":
        wanted = [["properties", k] for k in SITE_CONFIG_KEYS]
    elif kind == "site":
        wanted = [["properties", "siteConfig", k] for k in SITE_CONFIG_KEYS] + [
            ["properties", "publicNetworkAccess"]
        ]
    else:
        wanted = (
            [["properties", "siteConfig", k] for k in SITE_CONFIG_KEYS]
            + [["properties", k] for k in SITE_CONFIG_KEYS]
            + [["properties", "publicNetworkAccess"]]
        )
    squashed = [squash(p) for p in parts]
    reached = False
    for target in wanted:
        low = [squash(t) for t in target]
        n = min(len(low), len(squashed))
        if low[:n] == squashed[:n]:
            reached = True
            exact = parts == target or (kind is None and parts in (["public_network_access"],))
            # the Site object's siteConfig is not what `az webapp update` sends: refused
            evaluable = kind in ("site", "config") or target == ["publicNetworkAccess"]
            if exact and target[-1] in SCALARS and evaluable:
                return target[-1]
    return "" if reached else None


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
class Az:
    """Applies az access-restriction commands to :class:`ScriptSites`."""

    sites: ScriptSites
    options: LoadOptions
    file: str | None

    def run(self, words: list[str], line: int) -> None:
        """Apply one az command; a command that fails as az fails raises ConfigError (and is
        recorded in ``sites.failures``)."""
        try:
            self._run(words, line)
        except (NotEvaluated, LimitError):
            raise
        except ConfigError as exc:
            self.sites.failures.append(f"{Origin(file=self.file, line=line)}: {exc.message}")
            raise
        if words[4:5] != ["show"] and "--help" not in words:
            self.sites.succeeded += 1

    def _run(self, words: list[str], line: int) -> None:
        origin = Origin(file=self.file, line=line)
        group = words[1] if len(words) > 1 else ""
        if len(words) >= 5 and words[2:4] == ["config", "access-restriction"]:
            verb = words[4]
            what = f"az {group} config access-restriction {verb}"
            if verb not in ACCESS_RESTRICTION_VERBS:
                raise ConfigError(
                    f"az {group} config access-restriction: {quote(verb)} is not an az command "
                    f"(the verbs are {', '.join(ACCESS_RESTRICTION_VERBS)}): az fails here",
                    origin,
                )
            args = parse_access_restriction(group, verb, words[5:], what, origin)
            if args.get("--help") or verb == "show":
                return  # changes nothing
            for name, rg, sub in targets(args, what, origin):
                state = self.sites.located(name, rg, sub, origin)
                getattr(self, f"_{verb}")(state, args, rg, sub, what, origin)
        elif len(words) >= 3 and words[2] == "update":
            self._update(words[3:], f"az {group} update", origin)
        elif len(words) >= 4 and words[2:4] == ["config", "set"] and group != "resource":
            self._generic_configurations(
                parse_config_set(group, words[4:], origin), f"az {group} config set", origin
            )

    def _subnet(
        self, args: Mapping[str, Any], rg: str | None, sub: str | None, what: str, origin: Origin
    ) -> str:
        subnet = args["--subnet"]
        vnet = args.get("--vnet-name")
        if is_resource_id(subnet) and not vnet:
            return str(subnet)
        if not is_resource_id(subnet) and vnet:
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
        action = enum_choice(
            args.get("--action", "Allow"), ("Allow", "Deny"), "--action", what, origin
        )
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
        rules.append(Rule(rule, origin))

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
        action = enum_choice(
            args.get("--action", "Allow"), ("Allow", "Deny"), "--action", what, origin
        )
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
                state.settings[key] = enum_choice(
                    args[option], ("Allow", "Deny"), option, what, origin
                )
                state.setting_origins[key] = origin

    def _update(self, words: list[str], what: str, origin: Origin) -> None:
        """A generic update (``--set``/``--add``/``--remove``, azure-cli's ``arm.py``) of a web
        app (``az webapp update``, the Site object) or of a resource (``az resource update``,
        the ARM JSON): the paths that set a default action, ``scmIpSecurityRestrictionsUseMain``
        or ``publicNetworkAccess`` to a value are applied; any other path into them, or into the
        rules, is refused; paths that do not reach them change nothing acl reads."""
        parsed = parse_generic_update(what, words, origin)
        args, edits = parsed.args, parsed.edits
        if args.get("--help"):
            return
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
        for name, rg, sub in self._update_targets(args, resource, what, origin):
            state = self.sites.located(name, rg, sub, origin)
            for key, value in changes:
                state.settings[key] = value
                state.setting_origins[key] = origin

    def _generic_configurations(self, values: list[str], what: str, origin: Origin) -> None:
        """``--generic-configurations``: refused when a key names an access restriction
        setting (acl does not evaluate how the CLI copies them onto the site config)."""
        import json

        keys = {squash(k) for k in SITE_CONFIG_KEYS} | {"publicnetworkaccess"}
        for value in values:
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                hit = any(squash(str(name)) in keys for name in parsed)
            else:
                hit = any(key in squash(value) for key in keys)
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
            if RESOURCE_ID.match(resource):
                kinds.add("site")
            elif CONFIG_ID.match(resource):
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
                match = RESOURCE_ID.match(text) or CONFIG_ID.match(text)
                assert match is not None
                name = match.group("name") + (
                    f"/{match.group('slot')}" if match.group("slot") else ""
                )
                out.append((name, match.group("rg"), match.group("sub")))
            return out
        if resource and "/" in str(args.get("--name", "")):
            app, _, slot = str(args["--name"]).partition("/")
            return [(f"{app}/{slot}", args.get("--resource-group"), args.get("--subscription"))]
        return targets(args, what, origin)


# ---------------------------------------------------------------------------- the loader

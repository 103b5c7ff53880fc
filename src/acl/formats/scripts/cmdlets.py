"""Az.Websites' access restriction cmdlets: their parameters bound as PowerShell binds them,
and their effect on :class:`ScriptSites`, as the cmdlets apply it."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError, Origin, quote
from ..options import LoadOptions
from .common import NotEvaluated, Rule, ScriptSites, is_resource_id, subnet_id
from .pstokens import Token
from .psvalues import PSObject, Vars, as_text, evaluate, operand

__all__ = ["CMDLETS", "CMDLET_NAMES", "Cmdlets", "bind"]

_HEADER_NAMES = ("x-forwarded-for", "x-forwarded-host", "x-azure-fdid", "x-fd-healthprobe")
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
CMDLETS: dict[str, tuple[dict[str, bool], tuple[str, ...]]] = {
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
CMDLET_NAMES = {
    "add-azwebappaccessrestrictionrule": "Add-AzWebAppAccessRestrictionRule",
    "remove-azwebappaccessrestrictionrule": "Remove-AzWebAppAccessRestrictionRule",
    "update-azwebappaccessrestrictionconfig": "Update-AzWebAppAccessRestrictionConfig",
}


def bind(tokens: list[Token], cmdlet: str, env: Vars, origin: Origin) -> dict[str, Any]:
    params, positional = CMDLETS[cmdlet]
    what = CMDLET_NAMES[cmdlet]
    bound: dict[str, Any] = {}
    arguments: list[list[Token]] = []
    """The positional arguments: bound after the named ones, as PowerShell binds them."""
    i = 0
    expanded: list[Token] = []
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
            if name in bound:
                raise ConfigError(
                    f"{what}: cannot bind parameter because parameter '{name}' is specified "
                    "more than once",
                    origin,
                )
            i += 1
            if params[name]:
                if kind == "param:":
                    value = operand(tokens[i : i + 1], env) if i < len(tokens) else True
                    i += 1
                    bound[name] = value
                else:
                    bound[name] = True
                continue
            group: list[Token] = []
            while i < len(tokens) and tokens[i][0] not in ("param", "param:"):
                group.append(tokens[i])
                i += 1
                if i < len(tokens) and tokens[i][0] != "comma" and group[-1][0] != "comma":
                    break
            if not group:
                raise ConfigError(f"{what}: missing an argument for parameter -{name}", origin)
            bound[name] = evaluate(group, env)
            continue
        group = [tokens[i]]
        i += 1
        while i + 1 < len(tokens) and tokens[i][0] == "comma":
            group.extend(tokens[i : i + 2])
            i += 2
        arguments.append(group)
    # a positional parameter already bound by name takes no positional argument: a stray
    # one (`-TargetScmSite $false`, an unquoted `-Name Office HQ`) fails the cmdlet
    free = [name for name in positional if name not in bound]
    for group in arguments:
        if not free:
            raise ConfigError(
                f"{what}: a positional parameter cannot be found that accepts argument "
                f"{quote(as_text(operand(group[:1], env)))}",
                origin,
            )
        bound[free.pop(0)] = evaluate(group, env)
    return bound


def _string(bound: Mapping[str, Any], name: str, what: str, origin: Origin) -> str | None:
    value = bound.get(name)
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        raise ConfigError(f"{what}: -{name} takes a string, not {type(value).__name__}", origin)
    text = as_text(value)
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
        values = [as_text(v) for v in raw] if isinstance(raw, list) else [as_text(raw)]
        if len(values) > 8:
            raise ConfigError(f"{what}: Header '{key}' contains more than 8 values", origin)
        if key.lower() == "x-forwarded-for":
            for item in values:
                _ip_list(item, what, origin)
        out[key] = values
    return out


@dataclass
class Cmdlets:
    sites: ScriptSites
    options: LoadOptions
    file: str | None

    def run(self, cmdlet: str, bound: dict[str, Any], origin: Origin) -> None:
        what = CMDLET_NAMES[cmdlet]
        if bound.get("WhatIf") not in (None, False):
            self.options.warn(f"{origin}: {what} -WhatIf changes nothing; the command is ignored")
            return
        if "InputObject" in bound:
            bound = self._input_object(bound, what, origin)
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

    def _input_object(self, bound: dict[str, Any], what: str, origin: Origin) -> dict[str, Any]:
        """Update-'s -InputObject: the config object's app, slot and
        ScmSiteUseMainSiteRestrictionConfig, as the cmdlet reads them."""
        values = ("ResourceGroupName", "Name", "SlotName", "ScmSiteUseMainSiteRestrictionConfig")
        others = [p for p in values if p in bound]
        if others:
            raise ConfigError(
                f"{what}: Parameter set cannot be resolved using the specified named parameters "
                f"(-InputObject with {', '.join('-' + p for p in others)})",
                origin,
            )
        config = bound["InputObject"]
        if not isinstance(config, PSObject) or config.kind != "PSAccessRestrictionConfig":
            raise NotEvaluated(
                f"{what}: -InputObject {quote(as_text(config))}: acl knows only the config object "
                "that Get-AzWebAppAccessRestrictionConfig or a rule cmdlet's -PassThru writes "
                "in the script; give -ResourceGroupName and -Name",
                origin,
            )
        out = {k: v for k, v in bound.items() if k != "InputObject"}
        out["ResourceGroupName"] = config.get("ResourceGroupName")
        out["Name"] = config.get("WebAppName")
        if config.get("SlotName"):
            out["SlotName"] = config.get("SlotName")
        out["ScmSiteUseMainSiteRestrictionConfig"] = bool(
            config.get("ScmSiteUseMainSiteRestrictionConfig")
        )
        return out

    def _subnet(self, bound: Mapping[str, Any], rg: str, what: str, origin: Origin) -> str | None:
        subnet_name = _string(bound, "SubnetName", what, origin)
        vnet = _string(bound, "VirtualNetworkName", what, origin)
        subnet = _string(bound, "SubnetId", what, origin)
        if subnet is not None:
            if is_resource_id(subnet):
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
            priority = int(as_text(raw_priority))
        except ValueError:
            raise ConfigError(
                f"{what}: Cannot convert value {quote(as_text(raw_priority))} to type System.UInt32",
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
        rules.append(Rule(rule, origin))

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

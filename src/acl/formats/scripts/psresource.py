"""The default-action recipe of the App Service documentation, as PowerShell runs it:
``$Resource = Get-AzResource ...`` of a web app (or its config/web), property assignments to
it, and ``$Resource | Set-AzResource`` (or ``-InputObject``), which sends them: the default
actions, ``scmIpSecurityRestrictionsUseMain`` and ``publicNetworkAccess`` are applied; any
other path into the access restrictions is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...errors import Origin, quote
from .common import (
    SCALARS,
    SITE_CONFIG_KEYS,
    NotEvaluated,
    ScriptSites,
    setting_choice,
    setting_choices,
    squash,
)
from .pstokens import Token
from .psvalues import Unknown, Vars, as_text, operand, source_text, unknowns

__all__ = ["Resource", "Resources"]


@dataclass
class Resource:
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


def _resource_key(props: list[str], kind: str) -> str | None:
    """The setting a property path of a Get-AzResource object sets (PowerShell properties
    are case-insensitive); ``""`` when it reaches the access restrictions otherwise; None
    when it does not reach them."""
    if kind == "config":
        wanted = [["properties", k] for k in SITE_CONFIG_KEYS]
    elif kind == "site":
        wanted = [["properties", "siteConfig", k] for k in SITE_CONFIG_KEYS] + [
            ["properties", "publicNetworkAccess"]
        ]
    else:
        wanted = [["properties", "siteConfig", k] for k in SITE_CONFIG_KEYS] + [
            ["properties", k] for k in SITE_CONFIG_KEYS
        ]
    squashed = [squash(p) for p in props]
    reached = False
    for target in wanted:
        low = [squash(t) for t in target]
        n = min(len(low), len(squashed))
        if low[:n] == squashed[:n]:
            reached = True
            if low == squashed and target[-1] in SCALARS and kind != "?":
                return target[-1]
    return "" if reached else None


def _setting(key: str, value: Any, source: str, origin: Origin) -> Any:
    choice = setting_choice(key, value)
    if choice is not None:
        return choice
    choices = setting_choices(key)
    raise NotEvaluated(
        f"{source} = {quote(as_text(value))}: acl does not know how Azure takes this value for "
        f"{key} (expected {' or '.join(str(c) for c in choices)})",
        origin,
    )


@dataclass
class Resources:
    """Get-AzResource objects of the script and what Set-AzResource sends to the sites."""

    env: Vars
    sites: ScriptSites

    def get(self, tokens: list[Token], origin: Origin) -> Any:
        """``Get-AzResource``: a web app (or its config/web) whose properties may be set and
        sent back with ``Set-AzResource``; any other resource changes nothing acl reads."""
        args: dict[str, Any] = {}
        i = 1
        while i < len(tokens):
            if tokens[i][0] in ("param", "param:") and i + 1 < len(tokens):
                args[str(tokens[i][1]).lower()] = operand([tokens[i + 1]], self.env)
                i += 2
                continue
            i += 1
        unknown = unknowns(list(args.values()))
        if unknown:
            return Unknown(", ".join(unknown))
        kind = str(args.get("resourcetype", "")).lower().strip("/")
        name = str(args.get("resourcename", args.get("name", "")))
        rid = str(args.get("resourceid", ""))
        if rid:
            match = _SITE_ID.match(rid)
            if match is None:
                return Resource(None, "", origin)
            app = match.group("name") + (f"/{match.group('slot')}" if match.group("slot") else "")
            return Resource("config" if match.group("config") else "site", app, origin)
        if kind in ("microsoft.web/sites", "microsoft.web/sites/slots"):
            return Resource("site", name, origin)
        if kind in ("microsoft.web/sites/config", "microsoft.web/sites/slots/config"):
            parts = name.split("/")
            if parts[-1].lower() != "web":
                return Resource(None, "", origin)
            return Resource("config", "/".join(parts[:-1]), origin)
        if kind.startswith("microsoft.web/") or not kind:
            return Unknown(source_text(tokens))
        return Resource(None, "", origin)

    def assign_property(
        self, name: str, props: list[str], source: str, value: Any, origin: Origin
    ) -> None:
        """``$Resource.Properties.siteConfig.ipSecurityRestrictionsDefaultAction = 'Allow'``."""
        target = self.env.lookup(name, [], "$" + name)
        if isinstance(target, Resource):
            if target.kind is None:
                return
            key = _resource_key(props, target.kind)
            if key is None:
                return
            if key == "" or isinstance(value, Unknown):
                raise NotEvaluated(
                    f"{source} = ...: acl evaluates only setting "
                    "ipSecurityRestrictionsDefaultAction, scmIpSecurityRestrictionsDefaultAction, "
                    "scmIpSecurityRestrictionsUseMain or publicNetworkAccess to a known value; use "
                    "Add-/Remove-AzWebAppAccessRestrictionRule for rules",
                    origin,
                )
            target.changes.append((key, _setting(key, value, source, origin), origin))
            return
        if isinstance(target, dict) and not isinstance(value, Unknown):
            node = target
            for prop in props[:-1]:
                found = [k for k in node if str(k).lower() == prop.lower()]
                child = node[found[0]] if found else None
                if not isinstance(child, dict):
                    self.env.values[name] = Unknown("$" + name)
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
        self.env.values[name] = Unknown("$" + name)

    def send(self, value: Any, tokens: list[Token], origin: Origin) -> None:
        """``$Resource | Set-AzResource``: the properties set on it reach the site."""
        if isinstance(value, Resource):
            if value.kind is None:
                return
            if value.changes:
                if "/" in value.name:
                    app, _, slot = value.name.partition("/")
                    name = f"{app}/{slot}"
                else:
                    name = value.name
                state = self.sites.state(name)
                for key, setting, where in value.changes:
                    state.settings[key] = setting
                    state.setting_origins[key] = where
                value.changes.clear()
            return
        raise NotEvaluated(
            f"`{source_text(tokens)} | Set-AzResource`: acl does not know the object sent: get it "
            "with Get-AzResource -ResourceType Microsoft.Web/sites -ResourceGroupName ... "
            "-ResourceName ... in the script",
            origin,
        )

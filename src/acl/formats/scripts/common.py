"""The state both script loaders share: the sites a script changes (:class:`ScriptSites`,
each a list of main and SCM rules plus the settings a command set), the errors of a construct
acl refuses (:class:`NotEvaluated`) or a value only running the script would give
(:class:`Unresolved`), and Azure's names and values for the settings a generic update may set."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ...errors import ConfigError, Origin, quote
from ...model import Site
from ..options import LoadOptions
from ..restrictions import PlacedContext, site_from_config

__all__ = [
    "CONFIG_ID",
    "RESOURCE_ID",
    "SCALARS",
    "SITE_CONFIG_KEYS",
    "NotEvaluated",
    "Rule",
    "ScriptSites",
    "State",
    "Unresolved",
    "is_resource_id",
    "setting_choice",
    "setting_choices",
    "squash",
    "subnet_id",
]


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
class Rule:
    data: dict[str, Any]
    origin: Origin | None


@dataclass
class State:
    main: list[Rule] = field(default_factory=list)
    scm: list[Rule] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    setting_origins: dict[str, Origin] = field(default_factory=dict)

    def rules(self, scm: bool) -> list[Rule]:
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
        self.sites: dict[str, State] = {}
        self.names: dict[str, str] = {}
        self.failures: list[str] = []
        """The commands that failed as the tool fails (their warnings), located."""
        self.succeeded = 0
        """The access restriction commands that ran without failing."""
        self.places: dict[str, tuple[str | None, str | None, Origin]] = {}
        """Each site's resource group and subscription as first given, and where."""

    def state(self, name: str) -> State:
        key = name.lower()
        if key not in self.sites:
            self.names[key] = name
            self.sites[key] = self._base()
        return self.sites[key]

    def located(
        self, name: str, group: str | None, subscription: str | None, origin: Origin
    ) -> State:
        """:meth:`state`, after checking that ``name`` is not also an app of another
        resource group or subscription in this script (those are other sites, which acl
        would merge: it keys sites by name)."""
        key = name.lower()
        seen = self.places.get(key)
        given = (group.lower() if group else None, subscription.lower() if subscription else None)
        if seen is None:
            self.places[key] = (*given, origin)
        else:
            for was, now, what in zip(
                seen[:2], given, ("resource group", "subscription"), strict=True
            ):
                if was is not None and now is not None and was != now:
                    raise NotEvaluated(
                        f"the script changes two sites named {quote(name)}: in the {what} "
                        f"{quote(was)} (from {seen[2]}) and {quote(now)}; acl keys a script's "
                        "sites by name, so load a script that changes one of them",
                        origin,
                    )
        return self.state(name)

    def current(self, name: str) -> State:
        """The site's state so far, without counting it as changed by the script."""
        return self.sites.get(name.lower()) or self._base()

    def _base(self) -> State:
        base = self.options.base_site
        state = State()
        if base is None:
            return state
        from ...convert import rule_to_arm

        state.main = [Rule(rule_to_arm(r), r.origin) for r in base.main_rules]
        state.scm = [Rule(rule_to_arm(r), r.origin) for r in base.scm_rules]
        if base.main_default is not None:
            state.settings["ipSecurityRestrictionsDefaultAction"] = base.main_default.value
        if base.scm_default is not None:
            state.settings["scmIpSecurityRestrictionsDefaultAction"] = base.scm_default.value
        state.settings["scmIpSecurityRestrictionsUseMain"] = base.scm_use_main
        if base.public_network_access is not None:
            state.settings["publicNetworkAccess"] = base.public_network_access
        return state

    def _unchanged(self, what: str) -> Site:
        """The site of a script that changes none: ``options.base_site``, else an error."""
        source = self.options.source
        if self.options.base_site is not None:
            return self.options.base_site
        if self.failures:
            raise ConfigError(
                f"the {what} changes no site: each of its access restriction commands "
                f"fails, as the tool fails ({len(self.failures)} failed; the first: "
                f"{self.failures[0]}); fix them",
                Origin(file=source),
            )
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

    def site_names(self, what: str) -> tuple[str, ...]:
        """The names of the sites the script changes, in the order it first changes them:
        what ``options.site`` chooses from (none when it changes no site and
        ``options.base_site`` is the site; an error when there is no base site either)."""
        if not self.sites or self._all_failed():
            self._unchanged(what)
        return tuple(self.names[key] for key in self.sites)

    def _all_failed(self) -> bool:
        """Whether every access restriction command failed (then the script changes no site,
        and loading it as a site without rules would allow everyone in its author's name)."""
        return bool(self.failures) and not self.succeeded and self.options.base_site is None

    def every_site(self, what: str) -> list[tuple[str | None, Site]]:
        """Every site the script changes, by name (:meth:`site_names`); a script that changes
        none gives ``options.base_site``, without a name."""
        if not self.sites:
            return [(None, self._unchanged(what))]
        return [(self.names[key], self._built(key)) for key in self.sites]

    def site(self, what: str) -> Site:
        """The chosen site after every command, parsed like an ARM siteConfig."""
        source = self.options.source
        if not self.sites or self._all_failed():
            return self._unchanged(what)
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
        return self._built(key)

    def _built(self, key: str) -> Site:
        """The site of ``key`` (a key of :attr:`sites`) after every command."""
        source = self.options.source
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


RESOURCE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Web/sites/"
    r"(?P<name>[^/]+)(?:/slots/(?P<slot>[^/]+))?/?$",
    re.IGNORECASE,
)


CONFIG_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Web/sites/"
    r"(?P<name>[^/]+)(?:/slots/(?P<slot>[^/]+))?/config/web/?$",
    re.IGNORECASE,
)
SITE_CONFIG_KEYS = (
    "ipSecurityRestrictions",
    "scmIpSecurityRestrictions",
    "scmIpSecurityRestrictionsUseMain",
    "ipSecurityRestrictionsDefaultAction",
    "scmIpSecurityRestrictionsDefaultAction",
)
SCALARS = (
    "scmIpSecurityRestrictionsUseMain",
    "ipSecurityRestrictionsDefaultAction",
    "scmIpSecurityRestrictionsDefaultAction",
    "publicNetworkAccess",
)


def squash(text: str) -> str:
    return re.sub(r"\[.*?\]", "", text).replace("_", "").lower()


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


def is_resource_id(text: str) -> bool:
    return (
        re.match(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/", text, re.I) is not None
    )

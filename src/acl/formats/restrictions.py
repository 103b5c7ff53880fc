"""``IpSecurityRestriction`` objects and siteConfig mappings to :class:`~acl.model.Rule` and
:class:`~acl.model.Site`: the parsing every ARM/REST-shaped format shares.

Every error names the file, the JSON path, the rule's name and position, the value, and
what was expected. Nothing is guessed: a site loads whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..addresses import Prefix, parse_prefix, parse_subnet_mask
from ..errors import AddressError, ConfigError, Origin, ServiceTagError
from ..headers import (
    HEADER_NAMES,
    XAZUREFDID,
    XFDHEALTHPROBE,
    XFORWARDEDFOR,
    XFORWARDEDHOST,
    canonical_header,
    normalize_host,
)
from ..model import Action, Collection, HeaderFilter, Rule, Site, Source, normalize_subnet
from ..servicetags import ServiceTags
from ._limits import BigNumber, quote

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "SITE_CONFIG_KEYS",
    "Context",
    "parse_action",
    "parse_rules",
    "site_from_config",
]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
SYNTHETIC_NAMES = {"allow all": Action.ALLOW, "deny all": Action.DENY}

SITE_CONFIG_KEYS = frozenset(
    {
        "ipSecurityRestrictions",
        "scmIpSecurityRestrictions",
        "scmIpSecurityRestrictionsUseMain",
        "ipSecurityRestrictionsDefaultAction",
        "scmIpSecurityRestrictionsDefaultAction",
    }
)


@dataclass(frozen=True, slots=True)
class Context:
    """What every loader needs: the file name (for messages) and the service tags."""

    file: str | None
    service_tags: ServiceTags

    def origin(self, path: str, **rule: Any) -> Origin:
        return Origin(file=self.file, path=path, **rule)


def parse_action(value: Any, origin: Origin, what: str = "action") -> Action:
    """``Allow`` or ``Deny``, any case."""
    if isinstance(value, str):
        for action in Action:
            if value.strip().lower() == action.value.lower():
                return action
    raise ConfigError(f"{what} {quote(value)} is not valid: expected 'Allow' or 'Deny'", origin)


def _optional_str(item: Mapping[str, Any], key: str, origin: Origin) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} {quote(value)} is not valid: expected a string", origin)
    return value


def _optional_int(item: Mapping[str, Any], key: str, origin: Origin) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    return _int32(value, key, origin)


def _int32(value: Any, key: str, origin: Origin) -> int:
    if isinstance(value, BigNumber) or (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not INT32_MIN <= value <= INT32_MAX
    ):
        raise ConfigError(
            f"{key} {quote(value)} is out of range: {key} must be an int32, "
            f"from {INT32_MIN} to {INT32_MAX}",
            origin,
        )
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{key} {quote(value)} is not valid: expected an integer (an int32, "
            f"from {INT32_MIN} to {INT32_MAX})",
            origin,
        )
    return value


def _priority(item: Mapping[str, Any], origin: Origin) -> int:
    if "priority" not in item or item["priority"] is None:
        raise ConfigError(
            "priority is missing: every rule needs an integer priority "
            f"from {INT32_MIN} to {INT32_MAX}",
            origin,
        )
    return _int32(item["priority"], "priority", origin)


def _tag(item: Mapping[str, Any], origin: Origin) -> str | None:
    value = _optional_str(item, "tag", origin)
    if value is None or value.strip().lower() in ("", "default"):
        return None if value is None else "Default"
    if value.strip().lower() == "servicetag":
        return "ServiceTag"
    if value.strip().lower() == "xffproxy":
        raise ConfigError(
            "tag 'XffProxy' is not supported: no public source says how App Service "
            "evaluates it, and acl does not guess",
            origin,
        )
    raise ConfigError(
        f"tag {quote(value)} is not valid: expected 'Default' or 'ServiceTag'", origin
    )


def _header_filters(value: Any, origin: Origin) -> tuple[HeaderFilter, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"headers {quote(value)} is not valid: expected an object of header name to list of values",
            origin,
        )
    filters: dict[str, HeaderFilter] = {}
    for raw_name, raw_values in value.items():
        name = canonical_header(raw_name) if isinstance(raw_name, str) else None
        if name is None:
            raise ConfigError(
                f"header {quote(raw_name)} is not supported: expected one of {', '.join(HEADER_NAMES)}",
                origin,
            )
        if name in filters:
            raise ConfigError(
                f"header {quote(raw_name)} is given twice (names are case-insensitive)", origin
            )
        if raw_values is None:
            continue
        if not isinstance(raw_values, list) or not all(isinstance(v, str) for v in raw_values):
            raise ConfigError(
                f"header {quote(raw_name)}: {quote(raw_values)} is not valid: expected a list of strings",
                origin,
            )
        if not raw_values:
            continue
        filters[name] = header_filter(name, tuple(raw_values), origin)
    order = {name: index for index, name in enumerate(HEADER_NAMES)}
    return tuple(sorted(filters.values(), key=lambda f: order[f.name]))


def header_filter(name: str, values: tuple[str, ...], origin: Origin) -> HeaderFilter:
    """A parsed header filter (``name`` is the documented spelling)."""
    if name == XFORWARDEDFOR:
        prefixes: list[Prefix] = []
        for text in values:
            try:
                prefixes.append(parse_prefix(text.strip(), what=f"{XFORWARDEDFOR} value"))
            except AddressError as exc:
                raise ConfigError(
                    exc.message + " (X-Forwarded-For values are CIDRs or addresses)", origin
                ) from None
        return HeaderFilter(name, values, prefixes=tuple(prefixes))
    if name == XFORWARDEDHOST:
        hosts: list[str] = []
        for text in values:
            stripped = text.strip()
            wildcard = stripped.startswith("*.")
            host = normalize_host(stripped[2:] if wildcard else stripped)
            if host is None or " " in host:
                raise ConfigError(
                    f"{XFORWARDEDHOST} value {quote(text)} is not a host name "
                    "(expected a name like www.contoso.com or *.contoso.com)",
                    origin,
                )
            hosts.append(f"*.{host}" if wildcard else host)
        return HeaderFilter(name, values, hosts=tuple(hosts))
    assert name in (XAZUREFDID, XFDHEALTHPROBE)
    # Request values are compared trimmed, so configured ones are trimmed too.
    return HeaderFilter(name, tuple(value.strip() for value in values))


def _looks_like_tag(text: str) -> bool:
    return any(c.isalpha() for c in text) and ":" not in text and "/" not in text


def _sources(
    item: Mapping[str, Any],
    tag: str | None,
    origin: Origin,
    tags: ServiceTags,
) -> tuple[Source, ...]:
    ip_address = _optional_str(item, "ipAddress", origin)
    subnet_id = _optional_str(item, "vnetSubnetResourceId", origin)
    subnet_mask = _optional_str(item, "subnetMask", origin)
    if ip_address is not None and not ip_address.strip():
        ip_address = None
    if subnet_id is not None and not subnet_id.strip():
        subnet_id = None
    if subnet_mask is not None and not subnet_mask.strip():
        subnet_mask = None
    if ip_address is not None and subnet_id is not None:
        raise ConfigError(
            f"more than one source kind: ipAddress {quote(ip_address)} and vnetSubnetResourceId "
            f"{quote(subnet_id)} are both set; a rule has one source kind",
            origin,
        )
    if subnet_id is not None:
        if tag == "ServiceTag":
            raise ConfigError(
                "tag 'ServiceTag' needs a service tag name in ipAddress, not a subnet", origin
            )
        if subnet_mask is not None:
            raise ConfigError(
                f"subnetMask {quote(subnet_mask)} is given with a subnet rule", origin
            )
        return (Source("subnet", subnet_id, subnet=normalize_subnet(subnet_id)),)
    if ip_address is None:
        raise ConfigError(
            "the rule has no source: expected ipAddress (CIDRs, a service tag, Any or AnyVnets) "
            "or vnetSubnetResourceId",
            origin,
        )
    elements = [part.strip() for part in ip_address.split(",")]
    if any(not part for part in elements):
        raise ConfigError(f"ipAddress {quote(ip_address)} has an empty element", origin)
    if tag == "ServiceTag":
        if subnet_mask is not None:
            raise ConfigError(
                f"subnetMask {quote(subnet_mask)} is given with service tags {quote(ip_address)}",
                origin,
            )
        return tuple(_service_tag_source(part, origin, tags) for part in elements)
    sources = [_address_source(part, origin, tags) for part in elements]
    kinds = {source.kind for source in sources}
    if len(kinds) > 1:
        raise ConfigError(
            f"more than one source kind in ipAddress {quote(ip_address)}: "
            f"{' and '.join(sorted(kinds))} cannot be mixed in one rule",
            origin,
        )
    if subnet_mask is not None:
        if len(sources) != 1 or sources[0].kind != "cidr" or "/" in elements[0]:
            raise ConfigError(
                f"subnetMask {quote(subnet_mask)} needs a single bare IPv4 address in ipAddress, "
                f"not {quote(ip_address)}",
                origin,
            )
        (prefix,) = sources[0].prefixes
        if prefix.version != 4:
            raise ConfigError(
                f"subnetMask {quote(subnet_mask)} is given with IPv6 {quote(ip_address)}", origin
            )
        try:
            length = parse_subnet_mask(subnet_mask.strip(), origin=origin)
        except AddressError as exc:
            raise ConfigError(exc.message, origin) from None
        masked = parse_prefix(f"{elements[0]}/{length}", origin=origin)
        sources = [Source("cidr", f"{elements[0]}/{length}", prefixes=(masked,))]
    return tuple(sources)


def _service_tag_source(text: str, origin: Origin, tags: ServiceTags) -> Source:
    tag = tags.get(text)
    if tag is None:
        try:
            parse_prefix(text)
        except AddressError:
            raise ServiceTagError(
                f"service tag {quote(text)} is unknown in the service tag data {tags.label}",
                origin,
            ) from None
        raise ServiceTagError(
            f"ipAddress {quote(text)} is an address, but the rule has tag 'ServiceTag': "
            "remove the tag or give a service tag name",
            origin,
        )
    try:
        prefixes = tags.prefixes(tag.name)
    except AddressError as exc:
        raise ConfigError(exc.message, origin) from None
    return Source("service_tag", tag.name, prefixes=prefixes)


def _address_source(text: str, origin: Origin, tags: ServiceTags) -> Source:
    lowered = text.lower()
    if lowered == "any":
        return Source("any", text)
    if lowered == "anyvnets":
        return Source("any_vnets", text)
    try:
        return Source("cidr", text, prefixes=(parse_prefix(text, what="ipAddress element"),))
    except AddressError as exc:
        if tags.get(text) is not None:
            raise ServiceTagError(
                f"ipAddress {quote(text)} is a service tag name, but the rule's tag is not "
                '\'ServiceTag\': set "tag": "ServiceTag"',
                origin,
            ) from None
        if _looks_like_tag(text):
            raise ServiceTagError(
                f"ipAddress {quote(text)} is neither an address nor a CIDR; if it is a service tag, "
                f'set "tag": "ServiceTag" (and it is not in the service tag data '
                f"{tags.label} either)",
                origin,
            ) from None
        raise ConfigError(exc.message, origin) from None


def parse_rules(
    items: Any, *, collection: Collection, path: str, ctx: Context
) -> tuple[tuple[Rule, ...], Action | None]:
    """Parse a rule list. Returns the user rules and the default implied by a synthetic
    ``Allow all``/``Deny all`` entry (None when there is none)."""
    if items is None:
        return (), None
    if not isinstance(items, list):
        raise ConfigError(
            f"{quote(items)} is not valid: expected a list of rules", ctx.origin(path)
        )
    rules: list[Rule] = []
    synthetic: Action | None = None
    for position, item in enumerate(items):
        item_path = f"{path}[{position}]"
        if not isinstance(item, Mapping):
            raise ConfigError(
                f"rule {quote(item)} is not valid: expected an object",
                ctx.origin(item_path, rule_position=position),
            )
        raw_name = item.get("name")
        name = raw_name if isinstance(raw_name, str) else None
        origin = ctx.origin(item_path, rule_name=name, rule_position=position)
        if raw_name is not None and name is None:
            raise ConfigError(f"name {quote(raw_name)} is not valid: expected a string", origin)
        ip_address = _optional_str(item, "ipAddress", origin)
        if (
            ip_address is not None
            and ip_address.strip().lower() == "any"
            and name is not None
            and name.strip().lower() in SYNTHETIC_NAMES
            and not item.get("headers")
            and not item.get("vnetSubnetResourceId")
        ):
            synthetic = parse_action(item.get("action") or name.split()[0], origin)
            continue
        tag = _tag(item, origin)
        raw_action = item.get("action")
        action = Action.ALLOW if raw_action is None else parse_action(raw_action, origin)
        rules.append(
            Rule(
                position=position,
                priority=_priority(item, origin),
                action=action,
                sources=_sources(item, tag, origin, ctx.service_tags),
                collection=collection,
                name=name,
                description=_optional_str(item, "description", origin),
                ip_address=ip_address,
                subnet_mask=_optional_str(item, "subnetMask", origin) or None,
                vnet_subnet_resource_id=_optional_str(item, "vnetSubnetResourceId", origin) or None,
                vnet_traffic_tag=_optional_int(item, "vnetTrafficTag", origin),
                subnet_traffic_tag=_optional_int(item, "subnetTrafficTag", origin),
                tag=tag,
                headers=_header_filters(item.get("headers"), origin),
                origin=origin,
            )
        )
    return tuple(rules), synthetic


def _default(
    config: Mapping[str, Any], key: str, where: Callable[[str], str], ctx: Context
) -> Action | None:
    value = config.get(key)
    if value is None or value == "":
        return None
    return parse_action(value, ctx.origin(where(key)), what=key)


def parse_public_access(value: Any, origin: Origin) -> str | None:
    """``Enabled``, ``Disabled`` or absent (None)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() in ("enabled", "disabled"):
        return value.strip().capitalize()
    raise ConfigError(
        f"publicNetworkAccess {quote(value)} is not valid: expected 'Enabled' or 'Disabled'", origin
    )


def site_from_config(
    config: Any,
    *,
    path: str,
    ctx: Context,
    name: str | None = None,
    public_network_access: Any = None,
    public_path: str | None = None,
    key_paths: Mapping[str, str] | None = None,
) -> Site:
    """A :class:`Site` from a siteConfig-shaped mapping.

    ``path`` is the mapping's JSON path; ``key_paths`` overrides it per key, for values that
    were merged from several places (a template's site and its ``config/web``).
    """

    def where(key: str) -> str:
        if key_paths is not None and key in key_paths:
            return key_paths[key]
        return f"{path}.{key}"

    if not isinstance(config, Mapping):
        raise ConfigError(
            f"{quote(config)} is not valid: expected a siteConfig object", ctx.origin(path)
        )
    main, main_synthetic = parse_rules(
        config.get("ipSecurityRestrictions"),
        collection="main",
        path=where("ipSecurityRestrictions"),
        ctx=ctx,
    )
    scm, scm_synthetic = parse_rules(
        config.get("scmIpSecurityRestrictions"),
        collection="scm",
        path=where("scmIpSecurityRestrictions"),
        ctx=ctx,
    )
    main_default = _default(config, "ipSecurityRestrictionsDefaultAction", where, ctx)
    scm_default = _default(config, "scmIpSecurityRestrictionsDefaultAction", where, ctx)
    use_main = config.get("scmIpSecurityRestrictionsUseMain")
    if use_main is not None and not isinstance(use_main, bool):
        raise ConfigError(
            f"scmIpSecurityRestrictionsUseMain {quote(use_main)} is not valid: expected true or false",
            ctx.origin(where("scmIpSecurityRestrictionsUseMain")),
        )
    if public_network_access is None:
        public_network_access = config.get("publicNetworkAccess")
        public_path = where("publicNetworkAccess")
    access = parse_public_access(
        public_network_access, ctx.origin(public_path or where("publicNetworkAccess"))
    )
    return Site(
        main_rules=main,
        scm_rules=scm,
        main_default=main_default if main_default is not None else main_synthetic,
        scm_default=scm_default if scm_default is not None else scm_synthetic,
        scm_use_main=bool(use_main),
        public_network_access=access,
        name=name,
        source=ctx.file,
        service_tags_change=ctx.service_tags.change_number,
    )

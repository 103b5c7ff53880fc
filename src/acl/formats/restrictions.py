"""``IpSecurityRestriction`` objects and siteConfig mappings to :class:`~acl.model.Rule` and
:class:`~acl.model.Site`: the parsing every ARM/REST-shaped format shares.

Every error names the file, the JSON path, the rule's name and position, the value, and
what was expected. Nothing is guessed: a site loads whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..addresses import Prefix, parse_prefix, parse_subnet_mask
from ..collector import collector_paused
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
from ..model import (
    Action,
    Collection,
    HeaderFilter,
    Hosting,
    Rule,
    Site,
    Source,
    normalize_subnet,
)
from ..servicetags import ServiceTags
from ._limits import BigNumber, quote

__all__ = [
    "DEFAULT_PRIORITY",
    "INT32_MAX",
    "INT32_MIN",
    "SITE_CONFIG_KEYS",
    "Context",
    "parse_action",
    "parse_rules",
    "connection_approved",
    "hosting_of",
    "is_synthetic",
    "parse_ip_mode",
    "site_from_config",
    "site_state",
    "ssl_states_ip_based",
    "with_state",
]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
SYNTHETIC_NAMES = {"allow all": Action.ALLOW, "deny all": Action.DENY}
SYNTHETIC_PRIORITIES = {"allow all": (INT32_MAX, 1), "deny all": (INT32_MAX,)}
"""The priorities the API gives its synthetic entries (older API versions: ``Allow all`` at 1)."""
DEFAULT_PRIORITY = 65000
"""The priority of every rule of a collection in which no rule has one."""

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
    document: Literal["returned", "sent"] = "returned"
    """What the document is: what Azure returns, or what is sent to it (a template, a PUT
    body), in which Azure ignores a ``Deny all``/``Allow all`` entry."""

    def origin(self, path: str, **rule: Any) -> Origin:
        return Origin(file=self.file, path=path, **rule)


@dataclass(frozen=True, slots=True)
class PlacedContext(Context):
    """A :class:`Context` whose origins carry the file and line each value came from."""

    places: Mapping[str, Origin] = field(default_factory=dict)

    def origin(self, path: str, **rule: Any) -> Origin:
        base = self.places.get(path)
        if base is None:
            return Context.origin(self, path, **rule)
        return replace(base, **rule)


_ACTIONS = {action.value: action for action in Action}
"""The actions as Azure spells them: the common case, looked up before any folding."""


def parse_action(value: Any, origin: Origin, what: str = "action") -> Action:
    """``Allow`` or ``Deny``, any case."""
    exact = _ACTIONS.get(value) if type(value) is str else None
    if exact is not None:
        return exact
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
    value = item.get("priority")
    if value is None:
        return DEFAULT_PRIORITY
    return _int32(value, "priority", origin)


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


def is_synthetic(item: Mapping[str, Any]) -> bool:
    """The API's rendering of the unmatched-rule action: ``ipAddress`` ``Any``, the name
    ``Deny all`` or ``Allow all``, the priority the API gives it, no header filter, no subnet."""
    name = item.get("name")
    ip_address = item.get("ipAddress")
    priority = item.get("priority")
    if not isinstance(name, str) or not isinstance(ip_address, str):
        return False
    key = name.strip().lower()
    return (
        ip_address.strip().lower() == "any"
        and key in SYNTHETIC_NAMES
        and isinstance(priority, int)
        and not isinstance(priority, bool)
        and priority in SYNTHETIC_PRIORITIES[key]
        and not item.get("headers")
        and not item.get("vnetSubnetResourceId")
    )


def _check_priorities(items: list[Any], synthetic: list[bool], path: str, ctx: Context) -> None:
    """All or nothing: every rule has a priority, or none has (each then gets 65000).
    ``synthetic[i]`` says whether ``items[i]`` is an API entry (:func:`is_synthetic`)."""
    rules = [
        (position, item)
        for position, item in enumerate(items)
        if isinstance(item, Mapping) and not synthetic[position]
    ]
    missing = [(position, item) for position, item in rules if item.get("priority") is None]
    if not missing or len(missing) == len(rules):
        return
    shown = ", ".join(
        (repr(item["name"]) if isinstance(item.get("name"), str) else "(unnamed)")
        + f" at {path}[{position}]"
        for position, item in missing[:5]
    )
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    position, item = missing[0]
    name = item.get("name") if isinstance(item.get("name"), str) else None
    raise ConfigError(
        f"priority is missing on {len(missing)} of the {len(rules)} rules: {shown}{more}; "
        "give every rule an integer priority, or give none (each rule then gets "
        f"{DEFAULT_PRIORITY}, in list order)",
        ctx.origin(f"{path}[{position}]", rule_name=name, rule_position=position),
    )


def parse_rules(
    items: Any, *, collection: Collection, path: str, ctx: Context
) -> tuple[tuple[Rule, ...], Action | None, tuple[Rule, ...]]:
    """Parse a rule list. Returns the user rules, the default implied by a synthetic
    ``Allow all``/``Deny all`` entry (None when there is none), and the synthetic entries
    Azure ignores: in a document sent to Azure (``ctx.document == "sent"``) such an entry is
    neither a rule nor a default."""
    with collector_paused():
        return _parse_rules(items, collection=collection, path=path, ctx=ctx)


def _parse_rules(
    items: Any, *, collection: Collection, path: str, ctx: Context
) -> tuple[tuple[Rule, ...], Action | None, tuple[Rule, ...]]:
    if items is None:
        return (), None, ()
    if not isinstance(items, list):
        raise ConfigError(
            f"{quote(items)} is not valid: expected a list of rules", ctx.origin(path)
        )
    synthetic_entries = [
        (type(item) is dict or isinstance(item, Mapping)) and is_synthetic(item) for item in items
    ]
    _check_priorities(items, synthetic_entries, path, ctx)
    rules: list[Rule] = []
    ignored: list[Rule] = []
    synthetic: Action | None = None
    for position, item in enumerate(items):
        item_path = f"{path}[{position}]"
        if type(item) is not dict and not isinstance(item, Mapping):
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
        api_entry = synthetic_entries[position]
        if api_entry and ctx.document == "returned":
            assert name is not None
            synthetic = parse_action(item.get("action") or name.split()[0], origin)
            continue
        tag = _tag(item, origin)
        raw_action = item.get("action")
        action = Action.ALLOW if raw_action is None else parse_action(raw_action, origin)
        (ignored if api_entry else rules).append(
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
    return tuple(rules), synthetic, tuple(ignored)


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


IP_MODES = ("IPv4", "IPv6", "IPv4AndIPv6")
CONNECTION_STATUSES = ("Approved", "Pending", "Rejected", "Disconnected")


def parse_ip_mode(value: Any, origin: Origin) -> str | None:
    """``ipMode`` (``IPv4``, ``IPv6``, ``IPv4AndIPv6``), kept as the documented spelling. It
    only changes which addresses DNS gives out: every stamp accepts IPv6 whatever it says."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        for mode in IP_MODES:
            if value.strip().lower() == mode.lower():
                return mode
    raise ConfigError(
        f"ipMode {value!r:.60} is not valid: expected one of {', '.join(IP_MODES)}", origin
    )


def connection_approved(connection: Any, path: str, ctx: Context) -> bool:
    """Whether a ``privateEndpointConnections`` entry is approved: its
    ``privateLinkServiceConnectionState.status`` (under ``properties``, or flattened) is
    ``Approved``. ``Pending``, ``Rejected`` and ``Disconnected`` connections carry no traffic."""
    if not isinstance(connection, Mapping):
        raise ConfigError(
            f"private endpoint connection {connection!r:.60} is not valid: expected an object",
            ctx.origin(path),
        )
    props = connection.get("properties")
    holder = props if isinstance(props, Mapping) else connection
    where = f"{path}.properties" if holder is props else path
    state = holder.get("privateLinkServiceConnectionState")
    if not isinstance(state, Mapping):
        raise ConfigError(
            "private endpoint connection has no privateLinkServiceConnectionState: cannot tell "
            "whether it is approved",
            ctx.origin(where),
        )
    status = state.get("status")
    if isinstance(status, str):
        for known in CONNECTION_STATUSES:
            if status.strip().lower() == known.lower():
                return known == "Approved"
    raise ConfigError(
        f"privateLinkServiceConnectionState status {status!r:.60} is not valid: expected one "
        f"of {', '.join(CONNECTION_STATUSES)}",
        ctx.origin(f"{where}.privateLinkServiceConnectionState.status"),
    )


def ssl_states_ip_based(value: Any, path: str, ctx: Context) -> bool:
    """Whether a ``hostNameSslStates`` list has an ``IpBasedEnabled`` binding."""
    if value is None:
        return False
    if not isinstance(value, list):
        raise ConfigError(
            f"hostNameSslStates {value!r:.60} is not valid: expected a list", ctx.origin(path)
        )
    found = False
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ConfigError(
                f"hostNameSslStates entry {item!r:.60} is not valid: expected an object",
                ctx.origin(f"{path}[{index}]"),
            )
        state = item.get("sslState")
        if state is not None and not isinstance(state, str):
            raise ConfigError(
                f"sslState {state!r:.60} is not valid: expected a string",
                ctx.origin(f"{path}[{index}].sslState"),
            )
        if isinstance(state, str) and state.strip().lower() == "ipbasedenabled":
            found = True
    return found


def hosting_of(profile: Any, path: str, ctx: Context) -> Hosting:
    """``"ase"`` when ``hostingEnvironmentProfile`` names an App Service Environment."""
    if profile is None:
        return "multi-tenant"
    if not isinstance(profile, Mapping):
        raise ConfigError(
            f"hostingEnvironmentProfile {profile!r:.60} is not valid: expected an object",
            ctx.origin(path),
        )
    ident = profile.get("id")
    if ident is None or ident == "":
        return "multi-tenant"
    if not isinstance(ident, str):
        raise ConfigError(
            f"hostingEnvironmentProfile id {ident!r:.60} is not valid: expected a resource id",
            ctx.origin(f"{path}.id"),
        )
    return "ase"


def site_state(props: Mapping[str, Any], base: str, ctx: Context) -> dict[str, Any]:
    """The site state a ``Microsoft.Web/sites`` resource's properties give, as
    :class:`~acl.model.Site` field values: an approved private endpoint connection, an App
    Service Environment, an IP-based SSL binding and ``ipMode``."""
    state: dict[str, Any] = {}
    connections = props.get("privateEndpointConnections")
    if connections is not None:
        cpath = f"{base}.privateEndpointConnections"
        if not isinstance(connections, list):
            raise ConfigError(
                f"privateEndpointConnections {connections!r:.60} is not valid: expected a list",
                ctx.origin(cpath),
            )
        approved = [
            connection_approved(item, f"{cpath}[{index}]", ctx)
            for index, item in enumerate(connections)
        ]
        state["has_private_endpoint"] = any(approved)
    state["hosting"] = hosting_of(
        props.get("hostingEnvironmentProfile"), f"{base}.hostingEnvironmentProfile", ctx
    )
    state["ip_based_ssl"] = ssl_states_ip_based(
        props.get("hostNameSslStates"), f"{base}.hostNameSslStates", ctx
    )
    mode = parse_ip_mode(props.get("ipMode"), ctx.origin(f"{base}.ipMode"))
    if mode is not None:
        state["ip_mode"] = mode
    return state


def with_state(site: Site, state: Mapping[str, Any]) -> Site:
    """``site`` with the site state fields in ``state`` set (``ip_mode`` from the resource's
    properties only where the siteConfig has none)."""
    values = dict(state)
    if site.ip_mode is not None:
        values.pop("ip_mode", None)
    return replace(site, **values) if values else site


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
    main, main_synthetic, main_ignored = parse_rules(
        config.get("ipSecurityRestrictions"),
        collection="main",
        path=where("ipSecurityRestrictions"),
        ctx=ctx,
    )
    scm, scm_synthetic, scm_ignored = parse_rules(
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
        ip_mode=parse_ip_mode(config.get("ipMode"), ctx.origin(where("ipMode"))),
        ignored_rules=main_ignored + scm_ignored,
    )

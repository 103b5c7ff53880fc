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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError
from ..model import Site
from ._limits import bounded, quote, site_budget
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
from .template_expressions import Loops, Resolver, parameter_values

__all__ = ["is_template", "load_template", "load_template_sites", "template_site_names"]

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

# ---------------------------------------------------------------------------- resources


@dataclass
class _Found:
    """What the template says about one site: its siteConfig and config/web parts."""

    site_parts: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    config_parts: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    public: tuple[str, Any] | None = None
    properties: list[tuple[str, Mapping[str, Any], Loops]] = field(default_factory=list)
    """The site resource's properties, unresolved, for the site state (with the copy loops
    they stand in, to resolve them under)."""
    connections: list[tuple[str, Any, Loops]] = field(default_factory=list)
    """``sites/privateEndpointConnections`` resources: (path, properties, loops)."""
    bindings: list[tuple[str, Any, Loops]] = field(default_factory=list)
    """``sites/hostNameBindings`` resources: (path, properties, loops)."""
    declared: bool = False
    """A site, slot or config/web resource names it (not only a child resource)."""
    resource: str | None = None
    """The JSON path of the site or slot resource that defines it."""

    def is_site(self) -> bool:
        return self.declared


@dataclass
class _Scan:
    """Everything the walk collects: the sites, and the private endpoints that may target one."""

    sites: dict[str, _Found] = field(default_factory=dict)
    endpoints: list[tuple[str, Mapping[str, Any], Loops]] = field(default_factory=list)
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
    resolver: Resolver,
    scan: _Scan,
) -> None:
    if resources is None:
        return
    if isinstance(resources, Mapping) and not parent_type:
        # languageVersion 2.0 (what Bicep writes with symbolic names): resources by name
        entries = [(f"{path}.{name}", resource) for name, resource in resources.items()]
    elif isinstance(resources, list):
        entries = [(f"{path}[{index}]", resource) for index, resource in enumerate(resources)]
    else:
        raise ConfigError(
            "resources must be a list (or, with languageVersion 2.0, an object of resources "
            "by symbolic name)",
            resolver.ctx.origin(path),
        )
    for rpath, resource in entries:
        if not isinstance(resource, Mapping):
            continue
        if resource.get("existing") is True:
            continue  # a reference to a resource deployed elsewhere: it deploys nothing
        if "copy" not in resource:
            _resource(resource, rpath, parent_type, parent_name, resolver, scan)
            continue
        if parent_type:
            raise ConfigError(
                "a child resource uses a copy loop, which ARM does not allow: make it a "
                "top-level resource (type and name with the parent's segments) to copy it",
                resolver.ctx.origin(f"{rpath}.copy"),
            )
        for _ in resolver.resource_copies(resource["copy"], f"{rpath}.copy"):
            _resource(resource, rpath, parent_type, parent_name, resolver, scan)


def _resource(
    resource: Mapping[str, Any],
    rpath: str,
    parent_type: str,
    parent_name: list[str],
    resolver: Resolver,
    scan: _Scan,
) -> None:
    """One resource (one iteration of a copied one): what it says about a site."""
    found = scan.sites
    raw_type = resolver.resolve(resource.get("type", ""), f"{rpath}.type")
    if not isinstance(raw_type, str):
        return
    full_type = f"{parent_type}/{raw_type}" if parent_type else raw_type
    kind = full_type.lower()
    if kind == PRIVATE_ENDPOINTS:
        scan.endpoints.append((rpath, resource, resolver.loops()))
        return
    if kind == DEPLOYMENTS:
        scan.deployments.append((rpath, resource))
        return
    if kind not in (SITES, SLOTS, SITE_CONFIG, SLOT_CONFIG, *SITE_CONNECTIONS, *SITE_BINDINGS):
        return
    if "condition" in resource:
        condition = resolver.resolve(resource["condition"], f"{rpath}.condition")
        if condition is False:
            return
    name = resolver.resolve(resource.get("name"), f"{rpath}.name")
    if not isinstance(name, str) or not name:
        raise ConfigError(
            f"resource name {quote(name)} is not a string",
            resolver.ctx.origin(f"{rpath}.name"),
        )
    segments = [*parent_name, *name.split("/")] if parent_type else name.split("/")
    props = resource.get("properties")
    loops = resolver.loops()
    if kind in (SITES, SLOTS):
        key = "/".join(segments)
        entry = found.setdefault(key, _Found())
        if entry.resource is not None:
            raise ConfigError(
                f"resource {quote(key)} is defined twice (also at {entry.resource}); ARM refuses "
                "a template that defines a resource more than once (a copy loop whose name "
                "does not use copyIndex() does that)",
                resolver.ctx.origin(rpath),
            )
        entry.resource = rpath
        entry.declared = True
        if isinstance(props, Mapping):
            entry.properties.append((f"{rpath}.properties", props, loops))
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
        where.append((f"{rpath}.properties", props, loops))
    else:
        if segments[-1].lower() != "web":
            scan.other_configs.append("/".join(segments))
            return
        key = "/".join(segments[:-1])
        entry = found.setdefault(key, _Found())
        entry.declared = True
        if props is not None:
            cpath = f"{rpath}.properties"
            entry.config_parts.append((cpath, _access_part(props, cpath, resolver)))


def _access_part(config: Any, path: str, resolver: Resolver) -> Mapping[str, Any]:
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
            key, items = resolver.copy_loop(entry, where)
            if key in ACCESS_KEYS:
                if key in part:
                    raise ConfigError(
                        f"{key} is given both as a property and by a copy loop",
                        resolver.ctx.origin(where),
                    )
                part[key] = items
    return part


@dataclass
class _Template:
    """One scan of a template: its sites by name, and what building one of them needs."""

    ctx: Context
    scan: _Scan
    resolver: Resolver
    found: dict[str, _Found]

    def names(self) -> list[str]:
        return sorted(self.found)

    def site(self, chosen: str, options: LoadOptions) -> Site:
        """The site ``chosen`` (a key of :attr:`found`)."""
        ctx = self.ctx
        entry = self.found[chosen]
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
        return _with_template_state(site, chosen, entry, self.scan, self.resolver, options)


def _read_template(document: Any, options: LoadOptions) -> _Template:
    """The scan of a template with at least one site (else a :class:`ConfigError`)."""
    # a template is what is sent to Azure: a Deny all entry in it is ignored
    ctx = Context(file=options.source, service_tags=options.tags(), document="sent")
    if not isinstance(document, Mapping):
        raise ConfigError("expected a deployment template object", ctx.origin("$"))
    variables = document.get("variables") or {}
    resolver = Resolver(
        ctx, parameter_values(document, options, ctx), variables, on_warning=options.warn
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
    return _Template(ctx, scan, resolver, found)


@bounded
def load_template(document: Any, options: LoadOptions) -> Site:
    """The site of an ARM deployment template (``options.site`` picks one of several)."""
    template = _read_template(document, options)
    ctx = template.ctx
    names = template.names()
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
    return template.site(chosen, options)


@bounded
def template_site_names(document: Any, options: LoadOptions) -> tuple[str, ...]:
    """The names of a template's sites (``app``, ``app/staging`` for a slot), sorted: the
    names ``options.site`` chooses from (``options.site`` itself is not read). Copy loops
    are expanded, so a copied site is one name per copy."""
    return tuple(_read_template(document, options).names())


@bounded
def load_template_sites(document: Any, options: LoadOptions) -> list[tuple[str, Site]]:
    """Every site of a template, with its name, from one scan (``options.site`` is not read):
    what :func:`load_template` gives for each of :func:`template_site_names`."""
    template = _read_template(document, options)
    sites: list[tuple[str, Site]] = []
    for name in template.names():
        with site_budget():
            sites.append((name, template.site(name, options)))
    return sites


def _with_template_state(
    site: Site, chosen: str, entry: _Found, scan: _Scan, resolver: Resolver, options: LoadOptions
) -> Site:
    """The site state the template gives: private endpoints, an App Service Environment, an
    IP-based SSL binding and ``ipMode`` (the options, when given, are not looked up here)."""
    ctx = resolver.ctx
    values: dict[str, Any] = {}
    ip_mode = site.ip_mode
    for path, props, loops in entry.properties:
        with resolver.within(loops):
            ip_mode = _site_state(path, props, ip_mode, values, resolver, options)
    if options.ip_based_ssl is None:
        for path, props, loops in entry.bindings:
            if not isinstance(props, Mapping) or "sslState" not in props:
                continue
            with resolver.within(loops):
                state = resolver.resolve(props["sslState"], f"{path}.sslState")
            if ssl_states_ip_based([{"sslState": state}], f"{path}.sslState", ctx):
                values["ip_based_ssl"] = True
    if options.private_endpoint is None:
        values["has_private_endpoint"] = _has_private_endpoint(chosen, entry, scan, resolver)
    if ip_mode is not None:
        values["ip_mode"] = ip_mode
    return replace(site, **values)


def _site_state(
    path: str,
    props: Mapping[str, Any],
    ip_mode: Any,
    values: dict[str, Any],
    resolver: Resolver,
    options: LoadOptions,
) -> Any:
    """What one site resource's properties say of its hosting, IP-based SSL and ``ipMode``
    (set in ``values``); returns the ``ipMode`` so far."""
    ctx = resolver.ctx
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
    return ip_mode


def _has_private_endpoint(chosen: str, entry: _Found, scan: _Scan, resolver: Resolver) -> bool:
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
    for path, props, loops in entry.connections:
        if not isinstance(props, Mapping):
            raise ConfigError(
                f"private endpoint connection properties {props!r:.60} are not valid: expected "
                "an object",
                ctx.origin(path),
            )
        key = "privateLinkServiceConnectionState"
        with resolver.within(loops):
            state = {key: resolver.resolve(props.get(key), f"{path}.{key}")}
        if connection_approved({"properties": state}, path.removesuffix(".properties"), ctx):
            found = True
    for rpath, resource, loops in scan.endpoints:
        with resolver.within(loops):
            found |= _endpoint_targets(rpath, resource, chosen, resolver)
    return found


def _endpoint_targets(
    rpath: str, resource: Mapping[str, Any], chosen: str, resolver: Resolver
) -> bool:
    """Whether a ``Microsoft.Network/privateEndpoints`` resource has an automatically approved
    connection to the site ``chosen`` (a manual one is warned about, not counted)."""
    ctx = resolver.ctx
    found = False
    if "condition" in resource:
        condition = resolver.resolve(resource["condition"], f"{rpath}.condition")
        if condition is False:
            return False
    props = resource.get("properties")
    if not isinstance(props, Mapping):
        return False
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


def _targets(connection: Any, chosen: str, where: str, resolver: Resolver) -> bool:
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

"""``load_terraform``: the site of the chosen web app of a configuration, with the state
around it that the configuration says (private endpoints, IP-based SSL bindings, the
service plan that hosts it, when it is an App Service Environment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ...errors import ConfigError, Origin
from ...model import Site
from .._limits import bounded, site_budget
from ..options import LoadOptions
from .azurerm import CURRENT_TYPES, Reader
from .declarations import Call, Resource
from .hcl_errors import NeedsPlan
from .instances import Instance, ModuleTree, choose, expand_instances, unkeyed
from .nodes import HclNode, JsonNode, MergedNode, Node, Skipped
from .reading import build_module, hcl_sources
from .schema import check_schema
from .values import Scope
from .variables import root_values

Candidate = tuple[str, tuple[tuple[Call, ...], Resource]]
"""A web app of a configuration: its address without instance keys, the module calls to it
and its resource."""


@dataclass(frozen=True, slots=True)
class _Configuration:
    """A configuration read once: its web apps, and the root module instance to expand them in."""

    label: str
    origin: Origin
    candidates: list[Candidate]
    root: Instance

    def instances(self, candidate: Candidate) -> list[tuple[str, tuple[Instance, Scope]]]:
        """The instances of one web app (its count or for_each, and its modules')."""
        calls, resource = candidate[1]
        holders = [self.root]
        for call in calls:
            holders = [child for holder in holders for _, _, child in holder.instances(call.name)]
        instances: list[tuple[str, tuple[Instance, Scope]]] = []
        for holder in holders:
            address = holder.prefix() + resource.address
            for suffix, _, scope in expand_instances(
                resource.meta(),
                holder.evaluator,
                resource.file,
                address,
                "resource",
                resource.meta_files(),
            ):
                instances.append((address + suffix, (holder, scope)))
        return instances

    def no_instances(self, candidate: Candidate) -> ConfigError:
        resource = candidate[1][1]
        return ConfigError(
            f"{self.candidates[0][0] if len(self.candidates) == 1 else resource.address} has no "
            "instances (its count or for_each, or its module's, is empty)",
            Origin(file=resource.file.name, line=resource.line),
        )


def _configuration(document: Any, options: LoadOptions, wanted: str | None) -> _Configuration:
    """The configuration of ``document`` with at least one web app (else a
    :class:`ConfigError`); ``wanted`` is the unkeyed address asked for, if any."""
    files, label, folder, base = hcl_sources(document, options)
    module = build_module(files, label, folder)
    tree = ModuleTree(module, base, options)
    candidates = tree.candidates()
    origin = Origin(file=label.rstrip("/") if folder else label)
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
        kinds = ", ".join(sorted(CURRENT_TYPES))
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
    root = Instance(tree, module, "", base, ())
    root.bind(root_values(module, options))
    return _Configuration(label, origin, candidates, root)


def _instance_site(
    resource: Resource, address: str, holder: Instance, scope: Scope, options: LoadOptions
) -> Site:
    node = resource.node(scope, holder.evaluator, address)
    reader = Reader(address, resource.type, options)
    site = reader.site(node, resource.file.name, resource.file.name)
    return _with_hcl_state(site, holder, resource, node, address, options)


@bounded
def load_terraform(document: Any, options: LoadOptions) -> Site:
    """The site of a web app in Terraform: ``document`` is the text of one ``.tf`` (or
    ``.tf.json``) file, or a path to such a file or to a folder (a root module, whose local
    child modules are read too)."""
    wanted = unkeyed(options.site.strip()) if options.site is not None else None
    configuration = _configuration(document, options, wanted)
    label, origin = configuration.label, configuration.origin
    # expand the chosen resource (and the modules around it) only, so that others cannot
    # get in the way
    candidate = choose(configuration.candidates, replace(options, site=wanted), label, origin)
    resource = candidate[1][1]
    instances = configuration.instances(candidate)
    where = Origin(file=resource.file.name, line=resource.line)
    if not instances:
        raise configuration.no_instances(candidate)
    if len(instances) == 1:
        address, (holder, scope) = instances[0]
    else:
        keyed = options.site if options.site is not None and "[" in options.site else None
        label_ = unkeyed(instances[0][0])
        address, (holder, scope) = choose(instances, replace(options, site=keyed), label_, where)
    return _instance_site(resource, address, holder, scope, options)


def _named_instances(configuration: _Configuration) -> list[_Named]:
    """Every instance of every web app, named as ``options.site`` chooses it: the address
    without instance keys for a web app of one instance, else each instance's address. A web
    app with no instances (``count = 0``) has no site; a configuration with none at all is
    the error :func:`load_terraform` gives."""
    out: list[_Named] = []
    for candidate in configuration.candidates:
        resource = candidate[1][1]
        instances = configuration.instances(candidate)
        if len(instances) == 1:
            address, (holder, scope) = instances[0]
            out.append(_Named(candidate[0], address, resource, holder, scope))
            continue
        out.extend(
            _Named(address, address, resource, holder, scope)
            for address, (holder, scope) in instances
        )
    if not out:
        raise configuration.no_instances(configuration.candidates[0])
    return out


@dataclass(frozen=True, slots=True)
class _Named:
    """One site of a configuration: its name, its instance's address, where to build it."""

    name: str
    address: str
    resource: Resource
    holder: Instance
    scope: Scope

    def site(self, options: LoadOptions) -> Site:
        with site_budget():
            return _instance_site(self.resource, self.address, self.holder, self.scope, options)


@bounded
def terraform_site_names(document: Any, options: LoadOptions) -> tuple[str, ...]:
    """The names of a configuration's sites, in the order of its files (``document`` as for
    :func:`load_terraform`; ``options.site`` is not read): each web app's address, and for
    one with several instances (``count``/``for_each``, its own or its modules'), each
    instance's address instead (``azurerm_linux_web_app.api["eu"]``)."""
    configuration = _configuration(document, options, None)
    return tuple(named.name for named in _named_instances(configuration))


@bounded
def load_terraform_sites(document: Any, options: LoadOptions) -> list[tuple[str, Site]]:
    """Every site of a configuration with its name (:func:`terraform_site_names`), from one
    read of its files (``options.site`` is not read)."""
    configuration = _configuration(document, options, None)
    return [(named.name, named.site(options)) for named in _named_instances(configuration)]


# ---------------------------------------------------------------------------- site state

_REFERENCE = re.compile(
    r"^\s*(?:\$\{\s*)?(?P<type>azurerm_\w+)\.(?P<name>[\w-]+)(?P<key>\[[^\]]*\])?"
    r"\.(?P<attr>\w+)\s*\}?\s*$"
)
ARM_SITE = re.compile(r"/providers/microsoft\.web/sites/([^/]+)/*$", re.IGNORECASE)
PRIVATE_ENDPOINT_TYPE = "azurerm_private_endpoint"
BINDING_TYPES = ("azurerm_app_service_custom_hostname_binding",)
CERTIFICATE_BINDING_TYPE = "azurerm_app_service_certificate_binding"
PLAN_TYPES = ("azurerm_service_plan", "azurerm_app_service_plan")


def _source_text(node: Node, name: str) -> str | None:
    """The expression an attribute is written as (HCL source, or a ``.tf.json`` string)."""
    if isinstance(node, MergedNode):
        return _source_text(node.setter(name), name)
    if isinstance(node, HclNode):
        found = node._attributes.get(name)
        return None if found is None else node.hcl.source(found[0])
    if isinstance(node, JsonNode):
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
    if unkeyed(address) != f"{match.group('type')}.{match.group('name')}":
        return False
    if key and written != address:
        if not re.fullmatch(r'\[(?:\d+|"[^"]*")\]', key):
            return None  # a computed key: which instance cannot be told from the text
        return False
    return True


def state_error(what: str, origin: Origin, flag: str) -> ConfigError:
    return ConfigError(f"{what}; say it with {flag}", origin)


def _with_hcl_state(
    site: Site,
    holder: Instance,
    resource: Resource,
    node: Node,
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
            for suffix, _, scope in expand_instances(
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


def _hcl_instances(other: Resource, holder: Instance) -> list[tuple[str, Node]]:
    return [
        (other.address + suffix, other.node(scope, holder.evaluator, other.address + suffix))
        for suffix, _, scope in expand_instances(
            other.meta(),
            holder.evaluator,
            other.file,
            other.address,
            "resource",
            other.meta_files(),
        )
    ]


def _hcl_private_endpoint(
    holder: Instance, resource: Resource, node: Node, local: str, options: LoadOptions
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
                if isinstance(connection, Skipped):
                    raise state_error(
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
                    raise state_error(
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


def _literal_target(connection: Node, app: Node, where: Origin) -> bool:
    """A connection whose target is not a reference: its value, when known offline, is a
    resource id compared with the app's name; an unknown value is an error."""
    try:
        value = connection.value("private_connection_resource_id")
    except NeedsPlan as exc:
        raise state_error(
            f"private_connection_resource_id = {exc.expression} cannot be known offline, so acl "
            "cannot tell whether this private endpoint targets the app",
            where,
            "--private-endpoint-site or --no-private-endpoint-site",
        ) from None
    if not isinstance(value, str):
        return False
    match = ARM_SITE.search(value)
    if match is None:
        return False
    try:
        name = app.value("name")
    except NeedsPlan as exc:
        raise state_error(
            f"the private endpoint targets the site {match.group(1)!r}, and the app's name "
            f"{exc.expression} cannot be known offline",
            where,
            "--private-endpoint-site or --no-private-endpoint-site",
        ) from None
    return isinstance(name, str) and name.lower() == match.group(1).lower()


def _hcl_ip_based_ssl(holder: Instance, node: Node, local: str) -> bool:
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


def _ip_based(node: Node) -> bool:
    try:
        state = node.value("ssl_state")
    except NeedsPlan as exc:
        raise state_error(
            f"ssl_state = {exc.expression} cannot be known offline, so acl cannot tell whether "
            "the app has IP-based SSL",
            node.origin("ssl_state"),
            "--ip-based-ssl or --no-ip-based-ssl",
        ) from None
    return isinstance(state, str) and state.lower() == "ipbasedenabled"

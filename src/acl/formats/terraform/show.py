"""``terraform show -json`` (a plan or a state) and raw ``terraform.tfstate`` files: the
values the provider will send, or sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from ...errors import ConfigError, Origin
from ...model import Site
from .._limits import bounded, site_budget
from ..options import LoadOptions
from .azurerm import WEB_APP_TYPES, Reader
from .instances import choose, unkeyed
from .loader import ARM_SITE, PRIVATE_ENDPOINT_TYPE, state_error
from .nodes import DictNode

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


def _show_candidates(
    document: Mapping[str, Any], types: frozenset[str] = WEB_APP_TYPES
) -> list[tuple[str, tuple[str, Any, Any, str]]]:
    """(address, (type, values, unknown, JSON path of values)) for every web app (or every
    resource of ``types``)."""
    found: list[tuple[str, tuple[str, Any, Any, str]]] = []
    if isinstance(document.get("resource_changes"), list):
        for index, change in enumerate(document["resource_changes"]):
            if not isinstance(change, Mapping) or change.get("mode", "managed") != "managed":
                continue
            kind = change.get("type")
            raw = change.get("change")
            details: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            if kind not in types or details.get("actions") == ["delete"]:
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
            if kind in types and resource.get("mode", "managed") == "managed":
                address = str(resource.get("address", f"{kind}.{resource.get('name')}"))
                found.append((address, (kind, resource.get("values") or {}, None, values_path)))
        return found
    if isinstance(document.get("resources"), list):
        for index, resource in enumerate(document["resources"]):
            if not isinstance(resource, Mapping) or resource.get("type") not in types:
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


_Candidate = tuple[str, tuple[str, Any, Any, str]]


def _show_web_apps(document: Any, options: LoadOptions) -> list[_Candidate]:
    """The web apps of a plan or state (at least one, else a :class:`ConfigError`)."""
    if not is_terraform_show(document):
        raise ConfigError(
            "expected the JSON of `terraform show -json` (a plan or a state)",
            Origin(file=options.source, path="$"),
        )
    candidates = _show_candidates(document)
    if not candidates:
        raise ConfigError(
            "no web app or function app resource in the plan or state",
            Origin(file=options.source, path="$"),
        )
    return candidates


def _show_site(document: Any, candidate: _Candidate, options: LoadOptions) -> Site:
    address, (kind, values, unknown, path) = candidate
    node = DictNode(values, unknown, options.source, None, path)
    reader = Reader(address, kind, options, json_paths=True)
    site = reader.site(node, options.source, options.source)
    if options.private_endpoint is None:
        found = _show_private_endpoint(document, address, kind, values, options)
        site = replace(site, has_private_endpoint=found)
    return site


@bounded
def load_terraform_show(document: Any, options: LoadOptions) -> Site:
    """The site of a web app in ``terraform show -json`` output (plan or state) or in a raw
    ``terraform.tfstate`` file."""
    candidates = _show_web_apps(document, options)
    label = options.source or "<string>"
    chosen = choose(candidates, options, label, Origin(file=options.source, path="$"))
    return _show_site(document, chosen, options)


@bounded
def terraform_show_site_names(document: Any, options: LoadOptions) -> tuple[str, ...]:
    """The addresses of the web apps of a plan or state, in its order: the names
    ``options.site`` chooses from (``options.site`` itself is not read)."""
    return tuple(address for address, _ in _show_web_apps(document, options))


@bounded
def load_terraform_show_sites(document: Any, options: LoadOptions) -> list[tuple[str, Site]]:
    """Every web app of a plan or state, by address (``options.site`` is not read)."""
    sites: list[tuple[str, Site]] = []
    for candidate in _show_web_apps(document, options):
        with site_budget():
            sites.append((candidate[0], _show_site(document, candidate, options)))
    return sites


def _configuration_references(document: Mapping[str, Any], address: str) -> list[str]:
    """The references a plan's ``configuration`` records for a private endpoint's
    ``private_service_connection[*].private_connection_resource_id`` (root module only)."""
    config = document.get("configuration")
    root = config.get("root_module") if isinstance(config, Mapping) else None
    resources = root.get("resources") if isinstance(root, Mapping) else None
    found: list[str] = []
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, Mapping) or resource.get("address") != unkeyed(address):
            continue
        expressions = resource.get("expressions")
        blocks_ = (
            expressions.get("private_service_connection")
            if isinstance(expressions, Mapping)
            else None
        )
        for block in blocks_ if isinstance(blocks_, list) else []:
            target = (
                block.get("private_connection_resource_id") if isinstance(block, Mapping) else None
            )
            refs = target.get("references") if isinstance(target, Mapping) else None
            found.extend(r for r in refs if isinstance(r, str)) if isinstance(refs, list) else None
    return found


def _show_private_endpoint(
    document: Mapping[str, Any],
    address: str,
    kind: str,
    app: Mapping[str, Any],
    options: LoadOptions,
) -> bool:
    """An ``azurerm_private_endpoint`` in the plan or state whose automatic connection targets
    the app: by the app's ``id`` (a state, or a plan of existing resources), or, when the plan
    does not know the id yet, by the configuration's references to the app."""
    if kind.endswith("_slot"):
        parent = app.get("app_service_id")
        wanted = f"sites-{app.get('name')}"
        app_id = parent if isinstance(parent, str) else None
    else:
        wanted = "sites"
        app_id = app.get("id") if isinstance(app.get("id"), str) else None
    found = False
    endpoints = _show_candidates(document, frozenset({PRIVATE_ENDPOINT_TYPE}))
    for pe_address, (_, values, _unknown, path) in endpoints:
        connections = values.get("private_service_connection")
        for index, connection in enumerate(connections if isinstance(connections, list) else []):
            if not isinstance(connection, Mapping):
                continue
            where = Origin(
                file=options.source,
                path=f"{path}.private_service_connection[{index}].private_connection_resource_id",
            )
            target = connection.get("private_connection_resource_id")
            if isinstance(target, str) and app_id is not None:
                ours = target.strip().lower() == app_id.strip().lower()
            else:
                refs = _configuration_references(document, pe_address)
                app_ref = unkeyed(address) if not kind.endswith("_slot") else None
                if refs and app_ref is not None:
                    ours = app_ref in refs or f"{app_ref}.id" in refs
                elif isinstance(target, str) and ARM_SITE.search(target) is None:
                    ours = False  # a known id of something that is not a site
                else:
                    raise state_error(
                        f"{pe_address}: the plan does not say what its connection targets",
                        where,
                        "--private-endpoint-site or --no-private-endpoint-site",
                    )
            if not ours:
                continue
            names = connection.get("subresource_names")
            groups = (
                [n.lower() for n in names if isinstance(n, str)] if isinstance(names, list) else []
            )
            if groups and wanted.lower() not in groups:
                continue
            if connection.get("is_manual_connection") is True:
                options.warn(
                    f"{where}: a manual private endpoint connection waits for the site owner's "
                    "approval and is not counted; once it is approved, give --private-endpoint-site"
                )
                continue
            found = True
    return found

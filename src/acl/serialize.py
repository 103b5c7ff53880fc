"""A faithful JSON form of a loaded :class:`~acl.model.Site` (``acl-site/1``).

Unlike the ARM shapes, it keeps what loading resolved: service tags with the prefixes they
stood for, normalised subnets, rule positions. Saved engines carry it, so an engine loads
back without the config file or the service tag data it was compiled from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .addresses import parse_prefix
from .errors import AclError, ConfigError, Origin
from .formats.restrictions import header_filter
from .model import HOSTINGS, Action, Rule, Site, Source

__all__ = ["SITE_FORMAT", "site_from_dict", "site_to_dict"]

SITE_FORMAT = "acl-site/1"


def _rule_to_dict(rule: Rule) -> dict[str, Any]:
    return {
        "position": rule.position,
        "priority": rule.priority,
        "action": rule.action.value,
        "collection": rule.collection,
        "name": rule.name,
        "description": rule.description,
        "ip_address": rule.ip_address,
        "subnet_mask": rule.subnet_mask,
        "vnet_subnet_resource_id": rule.vnet_subnet_resource_id,
        "vnet_traffic_tag": rule.vnet_traffic_tag,
        "subnet_traffic_tag": rule.subnet_traffic_tag,
        "tag": rule.tag,
        "sources": [
            {
                "kind": source.kind,
                "text": source.text,
                "prefixes": [[str(p), p.host_bits] for p in source.prefixes],
                "subnet": source.subnet,
            }
            for source in rule.sources
        ],
        "headers": [{"name": h.name, "values": list(h.values)} for h in rule.headers],
    }


def site_to_dict(site: Site) -> dict[str, Any]:
    """The ``acl-site/1`` JSON-ready form of a site."""
    return {
        "format": SITE_FORMAT,
        "name": site.name,
        "source": site.source,
        "service_tags_change": site.service_tags_change,
        "main_default": site.main_default.value if site.main_default else None,
        "scm_default": site.scm_default.value if site.scm_default else None,
        "scm_use_main": site.scm_use_main,
        "public_network_access": site.public_network_access,
        "has_private_endpoint": site.has_private_endpoint,
        "hosting": site.hosting,
        "ip_based_ssl": site.ip_based_ssl,
        "ip_mode": site.ip_mode,
        "ignored_rules": [_rule_to_dict(r) for r in site.ignored_rules],
        "main_rules": [_rule_to_dict(r) for r in site.main_rules],
        "scm_rules": [_rule_to_dict(r) for r in site.scm_rules],
    }


def _rule_from_dict(data: Mapping[str, Any], origin: Origin) -> Rule:
    sources = []
    for item in data["sources"]:
        prefixes = tuple(
            replace(parse_prefix(text, origin=origin), host_bits=bool(host_bits))
            for text, host_bits in item["prefixes"]
        )
        sources.append(Source(item["kind"], item["text"], prefixes, item.get("subnet")))
    headers = tuple(header_filter(h["name"], tuple(h["values"]), origin) for h in data["headers"])
    return Rule(
        position=int(data["position"]),
        priority=int(data["priority"]),
        action=Action(data["action"]),
        sources=tuple(sources),
        collection=data["collection"],
        name=data.get("name"),
        description=data.get("description"),
        ip_address=data.get("ip_address"),
        subnet_mask=data.get("subnet_mask"),
        vnet_subnet_resource_id=data.get("vnet_subnet_resource_id"),
        vnet_traffic_tag=data.get("vnet_traffic_tag"),
        subnet_traffic_tag=data.get("subnet_traffic_tag"),
        tag=data.get("tag"),
        headers=headers,
        origin=origin,
    )


def site_from_dict(data: Any, *, source: str | None = None) -> Site:
    """A site from its ``acl-site/1`` form.

    Raises:
        ConfigError: not that format, or a value in it is malformed.
    """
    if not isinstance(data, Mapping) or data.get("format") != SITE_FORMAT:
        raise ConfigError(f"expected an {SITE_FORMAT} document", Origin(file=source, path="$"))
    try:
        rules = {
            key: tuple(
                _rule_from_dict(item, Origin(file=source, path=f"$.{key}[{i}]"))
                for i, item in enumerate(data[key])
            )
            for key in ("main_rules", "scm_rules", "ignored_rules")
            if key in data or key != "ignored_rules"
        }
        hosting = data.get("hosting", "multi-tenant")
        if hosting not in HOSTINGS:
            raise ValueError(f"hosting {hosting!r} is not one of {', '.join(HOSTINGS)}")
        return Site(
            main_rules=rules["main_rules"],
            scm_rules=rules["scm_rules"],
            main_default=Action(data["main_default"]) if data["main_default"] else None,
            scm_default=Action(data["scm_default"]) if data["scm_default"] else None,
            scm_use_main=bool(data["scm_use_main"]),
            public_network_access=data["public_network_access"],
            name=data.get("name"),
            source=data.get("source"),
            service_tags_change=data.get("service_tags_change"),
            has_private_endpoint=bool(data.get("has_private_endpoint", False)),
            hosting=hosting,
            ip_based_ssl=bool(data.get("ip_based_ssl", False)),
            ip_mode=data.get("ip_mode"),
            ignored_rules=rules.get("ignored_rules", ()),
        )
    except AclError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"malformed {SITE_FORMAT} document: {exc!r}", Origin(file=source)
        ) from None

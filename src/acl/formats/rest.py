"""The REST shapes: a bare rules array, a siteConfig object, a site resource and a
``config/web`` resource.

Each loader has the signature ``(document, options) -> Site``; the registry in
:mod:`acl.formats` maps format names to them.

* ``rules``: ``[ {IpSecurityRestriction}, ... ]``, the main collection alone;
* ``siteconfig``: ``{"ipSecurityRestrictions": [...], "scmIpSecurityRestrictions": ...}``,
  also what ``az webapp config show`` and ``az webapp config access-restriction show`` print;
* ``site``: ``{"type": "Microsoft.Web/sites", "properties": {"siteConfig": {...},
  "publicNetworkAccess": ...}}``, and the flattened shape ``az webapp show`` prints;
* ``config-web``: ``{"type": "Microsoft.Web/sites/config", "properties": {siteConfig}}``,
  what ``GET .../config/web`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, quote
from ..model import Site
from ._limits import bounded
from .options import LoadOptions
from .restrictions import (
    SITE_CONFIG_KEYS,
    Context,
    parse_rules,
    site_from_config,
    site_state,
    with_state,
)

__all__ = ["load_config_web", "load_rules", "load_site", "load_siteconfig"]


def _context(options: LoadOptions) -> Context:
    # what Azure returns unless told otherwise: the shape does not say
    return Context(
        file=options.source,
        service_tags=options.tags(),
        document=options.document or "returned",
    )


@bounded
def load_rules(document: Any, options: LoadOptions) -> Site:
    """A bare list of rules: the main collection, no defaults."""
    ctx = _context(options)
    rules, synthetic, ignored = parse_rules(document, collection="main", path="$", ctx=ctx)
    return Site(
        main_rules=rules,
        main_default=synthetic,
        ignored_rules=ignored,
        source=options.source,
        service_tags_change=ctx.service_tags.change_number,
    )


@bounded
def load_siteconfig(document: Any, options: LoadOptions) -> Site:
    """A siteConfig object at the top level."""
    doc = _object(document, options, "a siteConfig object")
    if not (SITE_CONFIG_KEYS | {"publicNetworkAccess"}) & doc.keys():
        raise ConfigError(
            "this object has no access restriction setting (ipSecurityRestrictions, "
            "scmIpSecurityRestrictions, ...DefaultAction, publicNetworkAccess): nothing to "
            "load (is --rules-format right?)",
            _context(options).origin("$"),
        )
    return site_from_config(doc, path="$", ctx=_context(options))


def _object(document: Any, options: LoadOptions, what: str) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise ConfigError(
            f"{quote(document)} is not valid: expected {what}",
            _context(options).origin("$"),
        )
    return document


@bounded
def load_site(document: Any, options: LoadOptions) -> Site:
    """A ``Microsoft.Web/sites`` resource, nested (ARM) or flattened (az CLI)."""
    doc = _object(document, options, "a Microsoft.Web/sites resource")
    ctx = _context(options)
    name = doc.get("name") if isinstance(doc.get("name"), str) else None
    if isinstance(doc.get("properties"), Mapping):
        props = doc["properties"]
        base = "$.properties"
    else:
        props = doc
        base = "$"
    if "siteConfig" not in props and "publicNetworkAccess" not in props:
        raise ConfigError(
            "this site resource has neither siteConfig nor publicNetworkAccess: "
            "nothing to load (is --rules-format right?)",
            ctx.origin(base),
        )
    config = props.get("siteConfig")
    if config is None:
        config = {}
    site = site_from_config(
        config,
        path=f"{base}.siteConfig",
        ctx=ctx,
        name=name,
        public_network_access=props.get("publicNetworkAccess"),
        public_path=f"{base}.publicNetworkAccess",
    )
    return with_state(site, site_state(props, base, ctx))


@bounded
def load_config_web(document: Any, options: LoadOptions) -> Site:
    """A ``Microsoft.Web/sites/config`` resource named ``web`` (its properties are a siteConfig)."""
    doc = _object(document, options, "a Microsoft.Web/sites/config resource")
    props = doc.get("properties")
    name = doc.get("name") if isinstance(doc.get("name"), str) else None
    if isinstance(name, str) and name.lower().endswith("/web"):
        name = name[: -len("/web")]
    return site_from_config(props, path="$.properties", ctx=_context(options), name=name)

"""Config formats: one loader per format behind a literal registry, and format sniffing.

Every loader has the signature ``(document, options: LoadOptions) -> Site``. The format of
a file is sniffed from its parsed content; ``format=`` (``--format``) overrides it.

========================  ===========================================================
format                    what it reads
========================  ===========================================================
``rules``                 a bare JSON array of ``IpSecurityRestriction`` objects
``siteconfig``            a siteConfig object (``az webapp config show``,
                          ``az webapp config access-restriction show``)
``site``                  a ``Microsoft.Web/sites`` resource (ARM nested or az flattened)
``config-web``            a ``Microsoft.Web/sites/config`` resource (``GET .../config/web``)
``arm-template``          an ARM deployment template
========================  ===========================================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Origin
from ..model import Site
from .options import LoadOptions
from .rest import load_config_web, load_rules, load_site, load_siteconfig
from .restrictions import SITE_CONFIG_KEYS
from .template import is_template, load_template

__all__ = ["FORMATS", "LoadOptions", "load", "load_document", "loads", "sniff"]

Loader = Callable[[Any, LoadOptions], Site]

FORMATS: dict[str, Loader] = {
    "rules": load_rules,
    "siteconfig": load_siteconfig,
    "site": load_site,
    "config-web": load_config_web,
    "arm-template": load_template,
}
"""Format name to loader. The names are what ``--format`` accepts."""


def sniff(document: Any) -> str | None:
    """The format name a parsed document looks like, or None."""
    if isinstance(document, list):
        return "rules"
    if not isinstance(document, Mapping):
        return None
    if is_template(document):
        return "arm-template"
    kind = document.get("type")
    kind = kind.lower() if isinstance(kind, str) else ""
    if kind.endswith("/config"):
        return "config-web"
    if kind in ("microsoft.web/sites", "microsoft.web/sites/slots"):
        return "site"
    props = document.get("properties")
    if isinstance(props, Mapping) and "siteConfig" in props:
        return "site"
    if "siteConfig" in document:
        return "site"
    if (SITE_CONFIG_KEYS | {"publicNetworkAccess"}) & document.keys():
        return "siteconfig"
    if isinstance(props, Mapping) and SITE_CONFIG_KEYS & props.keys():
        return "config-web"
    return None


def load_document(document: Any, options: LoadOptions, *, format: str | None = None) -> Site:
    """A site from an already parsed JSON document."""
    name = format or sniff(document)
    if name is None:
        raise ConfigError(
            "cannot tell the format: expected a rules array, a siteConfig object, a site "
            "resource, a config/web resource or an ARM template (or name one with --format: "
            f"{', '.join(FORMATS)})",
            Origin(file=options.source, path="$"),
        )
    loader = FORMATS.get(name)
    if loader is None:
        raise ConfigError(f"format {name!r} is unknown: expected one of {', '.join(FORMATS)}")
    return loader(document, options)


def loads(
    text: str,
    *,
    format: str | None = None,
    options: LoadOptions | None = None,
    **option_values: Any,
) -> Site:
    """A site from JSON text in any supported format.

    Keyword arguments are :class:`LoadOptions` fields (``service_tags``, ``site``,
    ``parameters``, ``parameters_file``, ``source``).
    """
    if options is not None and option_values:
        raise TypeError("give options=LoadOptions(...) or keyword options, not both")
    opts = options if options is not None else LoadOptions(**option_values)
    if opts.source is None:
        opts = replace(opts, source="<string>")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON: {exc.msg}", Origin(file=opts.source, line=exc.lineno, column=exc.colno)
        ) from None
    return load_document(document, opts, format=format)


def load(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    **option_values: Any,
) -> Site:
    """A site from a file in any supported format (sniffed unless ``format`` is given).

    >>> import acl
    >>> site = acl.load("examples/frontdoor-site/site.json")
    >>> len(site.main_rules), len(site.scm_rules)
    (4, 1)
    """
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(
            f"cannot read rules file: {exc.strerror or exc}", Origin(file=file)
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", Origin(file=file)) from None
    options = option_values.pop("options", None)
    if options is not None and option_values:
        raise TypeError("give options=LoadOptions(...) or keyword options, not both")
    opts = (
        replace(options, source=file)
        if options is not None
        else LoadOptions(source=file, **option_values)
    )
    return loads(text, format=format, options=opts)

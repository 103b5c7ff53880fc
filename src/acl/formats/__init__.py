"""Config formats: one loader per format behind a literal registry, and format sniffing.

Every loader has the signature ``(document, options: LoadOptions) -> Site``. The format of
a file is sniffed from its parsed content; ``format=`` (``--rules-format``) overrides it.

========================  ===========================================================
format                    what it reads
========================  ===========================================================
``rules``                 a bare JSON array of ``IpSecurityRestriction`` objects
``siteconfig``            a siteConfig object (``az webapp config show``,
                          ``az webapp config access-restriction show``)
``site``                  a ``Microsoft.Web/sites`` resource (ARM nested or az flattened)
``config-web``            a ``Microsoft.Web/sites/config`` resource (``GET .../config/web``)
``arm-template``          an ARM deployment template
``terraform``             Terraform (azurerm): a ``.tf`` or ``.tf.json`` file, or a folder
``terraform-show``        ``terraform show -json`` of a plan or a state, or a ``.tfstate``
``azcli``                 a shell script of ``az webapp config access-restriction`` commands
``powershell``            a PowerShell script of ``*-AzWebAppAccessRestriction*`` cmdlets
``acl-site``              ``acl-site/1``: the faithful JSON form ``acl convert --to json`` writes
========================  ===========================================================

The text formats (``terraform``, ``azcli``, ``powershell``) are recognised by file extension
(``.tf`` or a folder; ``.sh``, ``.bash``, ``.azcli``; ``.ps1``) or, for text that is not JSON,
by content; their loaders take the text (the Terraform loader also a path to a file or
folder) instead of a parsed document.

The formats of several sites (:data:`SITE_NAMES`: templates, Terraform, ``terraform show``,
scripts) choose one with ``site=``; :func:`site_names` lists the names it chooses from and
:func:`load_all` loads every site from one read of the file (``text_site_names`` and
``loads_all`` for text).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, Origin, quote
from ..model import HOSTINGS, Site
from ._limits import MAX_DEPTH, bounded, json_loads
from .options import ConfigWarning, LoadOptions
from .rest import load_config_web, load_rules, load_site, load_siteconfig
from .restrictions import SITE_CONFIG_KEYS
from .scripts import (
    azcli_site_names,
    load_azcli,
    load_azcli_sites,
    load_powershell,
    load_powershell_sites,
    powershell_site_names,
)
from .template import is_template, load_template, load_template_sites, template_site_names
from .terraform import (
    is_terraform_show,
    load_terraform,
    load_terraform_show,
    load_terraform_show_sites,
    load_terraform_sites,
    terraform_show_site_names,
    terraform_site_names,
)

__all__ = [
    "FORMATS",
    "SITE_NAMES",
    "TEXT_FORMATS",
    "ConfigWarning",
    "LoadOptions",
    "load",
    "load_all",
    "load_document",
    "loads",
    "loads_all",
    "site_names",
    "sniff",
    "sniff_path",
    "sniff_text",
    "text_site_names",
]

_SITE_FORMAT = "acl-site/1"  # acl.serialize.SITE_FORMAT (imported lazily: it imports us)


@bounded
def load_acl_site(document: Any, options: LoadOptions) -> Site:
    """An ``acl-site/1`` document (``acl.serialize``, ``acl convert --to json``)."""
    from ..serialize import site_from_dict

    return site_from_dict(document, source=options.source)


Loader = Callable[[Any, LoadOptions], Site]

FORMATS: dict[str, Loader] = {
    "rules": load_rules,
    "siteconfig": load_siteconfig,
    "site": load_site,
    "config-web": load_config_web,
    "arm-template": load_template,
    "terraform": load_terraform,
    "terraform-show": load_terraform_show,
    "azcli": load_azcli,
    "powershell": load_powershell,
    "acl-site": load_acl_site,
}
"""Format name to loader. The names are what ``--rules-format`` accepts."""

SiteNames = Callable[[Any, LoadOptions], tuple[str, ...]]
NamedSites = Sequence[tuple[str | None, Site]]

SITE_NAMES: dict[str, SiteNames] = {
    "arm-template": template_site_names,
    "terraform": terraform_site_names,
    "terraform-show": terraform_show_site_names,
    "azcli": azcli_site_names,
    "powershell": powershell_site_names,
}
"""The formats that hold several sites (chosen with ``site=``, ``--site``), to the function
that lists their names ``(document, options) -> names``, with the same document and options
as the format's loader."""

_ALL_SITES: dict[str, Callable[[Any, LoadOptions], NamedSites]] = {
    "arm-template": load_template_sites,
    "terraform": load_terraform_sites,
    "terraform-show": load_terraform_show_sites,
    "azcli": load_azcli_sites,
    "powershell": load_powershell_sites,
}
"""The formats of :data:`SITE_NAMES`, to the function that loads every site from one read."""

_Want = Literal["site", "names", "all"]
"""What a load gives: the chosen site, the names of the sites, or every site by name."""

TEXT_FORMATS = frozenset({"terraform", "azcli", "powershell"})
"""The formats whose loaders take text rather than a parsed JSON document."""

_EXTENSIONS = {
    ".tf": "terraform",
    ".sh": "azcli",
    ".bash": "azcli",
    ".zsh": "azcli",
    ".azcli": "azcli",
    ".ps1": "powershell",
    ".psm1": "powershell",
}
_PROGRAM = (
    "a program: load what it deploys instead (the ARM template it builds, `cdktf synth` "
    "Terraform JSON, or the site's config/web from the REST API)"
)
_NOT_READ = {
    ".py": f"a Python file, {_PROGRAM}",
    ".ts": f"a TypeScript file, {_PROGRAM}",
    ".js": f"a JavaScript file, {_PROGRAM}",
    ".go": f"a Go file, {_PROGRAM}",
    ".cs": f"a C# file, {_PROGRAM}",
    ".java": f"a Java file, {_PROGRAM}",
    ".yaml": "a YAML file (acl reads JSON; convert it, e.g. `yq -o json`)",
    ".yml": "a YAML file (acl reads JSON; convert it, e.g. `yq -o json`)",
    ".toml": "a TOML file",
    ".xml": "an XML file",
}
READ_FORMATS = (
    "JSON rules array, siteConfig, site or config/web resource, ARM template, "
    "terraform show -json, Terraform .tf/.tf.json, az CLI script, PowerShell script"
)
"""The formats acl reads, as error messages name them."""
_AZ = re.compile(r"\baz\s+(?:webapp|functionapp)\s+config\s+access-restriction\b", re.IGNORECASE)
_PWSH = re.compile(
    r"\b(?:Add|Remove)-AzWebAppAccessRestrictionRule\b|\bUpdate-AzWebAppAccessRestrictionConfig\b",
    re.IGNORECASE,
)
_HCL = re.compile(r'^\s*resource\s+"azurerm_\w+"\s+"[^"]+"\s*\{', re.MULTILINE)


def sniff(document: Any) -> str | None:
    """The format name a parsed document looks like, or None."""
    if isinstance(document, list):
        return "rules"
    if not isinstance(document, Mapping):
        return None
    if is_terraform_show(document):
        return "terraform-show"
    if document.get("format") == _SITE_FORMAT:
        return "acl-site"
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


def sniff_text(text: str) -> str | None:
    """The text format that text which is not JSON looks like, or None."""
    if _PWSH.search(text):
        return "powershell"
    if _AZ.search(text):
        # PowerShell continues lines with a backtick after a blank; bash uses backslashes
        return "powershell" if re.search(r"[ \t]`\r?\n", text) else "azcli"
    if _HCL.search(text):
        return "terraform"
    return None


def sniff_path(path: str | os.PathLike[str]) -> str | None:
    """The format a path's name says: a folder is Terraform, then the file extension."""
    candidate = Path(os.fspath(path))
    if candidate.is_dir():
        return "terraform"
    name = candidate.name.lower()
    if name.endswith(".bicep"):
        raise ConfigError(
            "Bicep is compiled to an ARM template first: run `az bicep build --file "
            f"{candidate.name}` (or `bicep build {candidate.name}`) and load the .json it writes",
            Origin(file=os.fspath(path)),
        )
    if name.endswith((".tfvars", ".tfvars.json")):
        raise ConfigError(
            "this is a Terraform variables file: load the configuration (its folder or .tf file) "
            "and give this file with --var-file",
            Origin(file=os.fspath(path)),
        )
    if name.endswith(".tf.json"):
        return "terraform"
    other = _NOT_READ.get(candidate.suffix.lower())
    if other is not None:
        raise ConfigError(
            f"not a rules format acl reads: {other} (formats: {READ_FORMATS}; give "
            "--rules-format (format= from Python) to read the file as one of them anyway)",
            Origin(file=os.fspath(path)),
        )
    return _EXTENSIONS.get(candidate.suffix.lower())


_SCRIPTS = frozenset({"azcli", "powershell"})
_OPTION_FORMATS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("parameters", "--param", frozenset({"arm-template"})),
    ("parameters_file", "--parameters", frozenset({"arm-template"})),
    ("variables", "--var", TEXT_FORMATS),
    ("var_files", "--var-file", frozenset({"terraform"})),
    ("var_order", "--var/--var-file", frozenset({"terraform"}) | _SCRIPTS),
    ("environment", "environment", frozenset({"terraform"})),
    ("azurerm_version", "--azurerm-version", frozenset({"terraform"})),
    ("subnet_id_template", "--subnet-id-template", _SCRIPTS),
    ("base_site", "--base-site", _SCRIPTS),
)
"""The options only some formats read: field, command-line option, the formats that read it."""


def _check_options(name: str, options: LoadOptions) -> None:
    """A :class:`ConfigError` for an option the format does not read (it would be ignored)."""
    for field_name, flag, formats in _OPTION_FORMATS:
        value = getattr(options, field_name)
        empty = isinstance(value, (Mapping, list, tuple, str)) and not value
        if name in formats or value is None or empty:
            continue
        if field_name == "var_order" and name in _SCRIPTS:
            continue
        files = [str(value)] if field_name == "parameters_file" else []
        if field_name == "var_files":
            files = [str(item) for item in value]
        if field_name == "var_order":
            files = [text for kind, text in value if kind == "var-file"]
        for file in files:
            if not Path(file).exists():
                raise ConfigError(
                    f"{flag} {file}: the file does not exist", Origin(file=options.source)
                )
        readers = ", ".join(sorted(formats))
        raise ConfigError(
            f"{flag} ({field_name}) is not read by the {name} format, only by {readers}: "
            "remove it, or load the file it belongs with",
            Origin(file=options.source),
        )
    unresolved = TEXT_FORMATS | {"terraform-show"}
    if options.unresolved != "error" and name not in unresolved:
        raise ConfigError(
            f"--unresolved={options.unresolved} (unresolved) is not read by the {name} format, "
            f"only by {', '.join(sorted(unresolved))}",
            Origin(file=options.source),
        )


def _check_site_options(options: LoadOptions) -> None:
    if options.hosting is not None and options.hosting not in HOSTINGS:
        raise ConfigError(
            f"hosting {options.hosting!r} is not valid: expected one of {', '.join(HOSTINGS)}",
            Origin(path="--hosting"),
        )
    if options.document is not None and options.document not in ("returned", "sent"):
        raise ConfigError(
            f"document {options.document!r} is not valid: expected 'returned' or 'sent'",
            Origin(path="--document"),
        )
    for flag, value in (
        ("--private-endpoint-site", options.private_endpoint),
        ("--ip-based-ssl", options.ip_based_ssl),
    ):
        if value is not None and not isinstance(value, bool):
            raise ConfigError(f"{value!r} is not valid: expected true or false", Origin(path=flag))


def with_site_options(site: Site, options: LoadOptions) -> Site:
    """``site`` with the site state that ``options`` gives (``private_endpoint``, ``hosting``,
    ``ip_based_ssl``); an option overrides what the file says."""
    _check_site_options(options)
    values: dict[str, Any] = {}
    if options.private_endpoint is not None:
        values["has_private_endpoint"] = options.private_endpoint
    if options.hosting is not None:
        values["hosting"] = options.hosting
    if options.ip_based_ssl is not None:
        values["ip_based_ssl"] = options.ip_based_ssl
    return replace(site, **values) if values else site


def load_document(document: Any, options: LoadOptions, *, format: str | None = None) -> Site:
    """A site from an already parsed JSON document."""
    site: Site = _document(document, options, format, "site")
    return site


def _run(name: str, payload: Any, options: LoadOptions, want: _Want) -> Any:
    """The loader of format ``name`` run on ``payload``, for what is wanted."""
    if want == "site":
        return with_site_options(FORMATS[name](payload, options), options)
    if want == "names":
        _check_site_options(options)
        lister = SITE_NAMES.get(name)
        return lister(payload, options) if lister is not None else ()
    every = _ALL_SITES.get(name)
    loaded = (
        every(payload, options) if every is not None else [(None, FORMATS[name](payload, options))]
    )
    return [(site_name, with_site_options(site, options)) for site_name, site in loaded]


def _document(document: Any, options: LoadOptions, format: str | None, want: _Want) -> Any:
    _check_site_options(options)
    name = format or sniff(document)
    if name is None:
        raise ConfigError(
            "cannot tell the format: expected a rules array, a siteConfig object, a site "
            "resource, a config/web resource or an ARM template (or name one with "
            f"--rules-format, format= from Python: {', '.join(FORMATS)})",
            Origin(file=options.source, path="$"),
        )
    if name not in FORMATS:
        raise ConfigError(f"format {quote(name)} is unknown: expected one of {', '.join(FORMATS)}")
    _check_options(name, options)
    if name in _REST_FORMATS:
        _refuse_expressions(document, name, options)
    return _run(name, document, options, want)


_REST_FORMATS = frozenset({"rules", "siteconfig", "site", "config-web"})
_ARM_EXPRESSION = re.compile(r"\[\s*[A-Za-z_][\w.]*\s*\(.*\)[^\]]*\]", re.DOTALL)


def _refuse_expressions(document: Any, name: str, options: LoadOptions) -> None:
    """A :class:`ConfigError` for an ARM template expression (``"[parameters('x')]"``) in a
    document that is not a template: only a deployment evaluates it, so reading it as the
    literal text would misread the rule or setting it stands in."""
    stack: list[tuple[Any, str, int]] = [(document, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if value.startswith("[[") or not _ARM_EXPRESSION.fullmatch(value):
                continue
            raise ConfigError(
                f"{quote(value)} is an ARM template expression, but this document is read as "
                f"the {name} format, not as a template, so the expression would be taken as "
                "literal text: put the resource in a template's resources array (with "
                '"$schema" and "parameters") and load that with --rules-format arm-template and '
                "--param NAME=VALUE, or write the value itself",
                Origin(file=options.source, path=path),
            )
        if depth >= MAX_DEPTH:
            continue
        if isinstance(value, Mapping):
            for key in reversed(list(value)):
                stack.append(
                    (
                        value[key],
                        f"{path}.{key}"
                        if _PLAIN_KEY.fullmatch(str(key))
                        else f"{path}[{json.dumps(str(key))}]",
                        depth + 1,
                    )
                )
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((value[index], f"{path}[{index}]", depth + 1))


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_format(format: str | None) -> None:
    if format is not None and format not in FORMATS:
        raise ConfigError(
            f"format {quote(format)} is unknown: expected one of {', '.join(FORMATS)}"
        )


def loads(
    text: str,
    *,
    format: str | None = None,
    options: LoadOptions | None = None,
    **option_values: Any,
) -> Site:
    """A site from text in any supported format: JSON, or the text formats (Terraform HCL,
    az CLI and PowerShell scripts), which are sniffed when the text is not JSON.

    Keyword arguments are :class:`LoadOptions` fields (``service_tags``, ``site``,
    ``parameters``, ``parameters_file``, ``source``, ``variables``, ...).
    """
    site: Site = _text(text, format, _text_options(options, option_values), "site")
    return site


def _text_options(options: LoadOptions | None, option_values: dict[str, Any]) -> LoadOptions:
    if options is not None and option_values:
        raise TypeError("give options=LoadOptions(...) or keyword options, not both")
    opts = options if options is not None else LoadOptions(**option_values)
    if opts.source is None:
        opts = replace(opts, source="<string>")
    return opts


def _text(text: str, format: str | None, opts: LoadOptions, want: _Want) -> Any:
    _check_format(format)
    if format in TEXT_FORMATS:
        _check_options(format, opts)
        return _run(format, text, opts, want)
    try:
        document = json_loads(text, opts.source)
    except json.JSONDecodeError as exc:
        guessed = sniff_text(text) if format is None else None
        if guessed is not None:
            _check_options(guessed, opts)
            return _run(guessed, text, opts, want)
        stripped = text.lstrip()
        if format is None and not stripped.startswith(("{", "[", '"')):
            raise ConfigError(
                f"invalid JSON: {exc.msg}, and not a rules format acl reads (formats: "
                f"{READ_FORMATS}; or name one with --rules-format, format= from Python)",
                Origin(file=opts.source, line=exc.lineno, column=exc.colno),
            ) from None
        raise ConfigError(
            f"invalid JSON: {exc.msg}", Origin(file=opts.source, line=exc.lineno, column=exc.colno)
        ) from None
    return _document(document, opts, format, want)


def load(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    **option_values: Any,
) -> Site:
    """A site from a file, or a Terraform folder, in any supported format (sniffed unless
    ``format`` is given).

    >>> import acl
    >>> site = acl.load("examples/frontdoor-site/site.json")
    >>> len(site.main_rules), len(site.scm_rules)
    (4, 1)
    """
    site: Site = _path(path, format, option_values, "site")
    return site


def _path(
    path: str | os.PathLike[str], format: str | None, option_values: dict[str, Any], want: _Want
) -> Any:
    file = os.fspath(path)
    _check_format(format)
    name = format or sniff_path(file)
    if name == "terraform":
        options = _file_options(file, option_values)
        _check_options(name, options)
        return _run(name, Path(file), options, want)
    if Path(file).is_dir():
        raise ConfigError(
            f"{file} is a folder: only Terraform configurations are read from folders "
            f"(--rules-format {format} reads one file)",
            Origin(file=file),
        )
    try:
        # a shell script is read with its line ends as they are (bash keeps a CR)
        with open(file, encoding="utf-8-sig", newline="" if name == "azcli" else None) as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError(
            f"cannot read rules file: {exc.strerror or exc}", Origin(file=file)
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", Origin(file=file)) from None
    return _text(text, name, _file_options(file, option_values), want)


def _no_site(what: str, option_values: Mapping[str, Any]) -> None:
    chosen = option_values.get("options")
    if "site" in option_values or (isinstance(chosen, LoadOptions) and chosen.site is not None):
        raise TypeError(f"{what} reads every site: give no site=")


def site_names(
    path: str | os.PathLike[str], *, format: str | None = None, **option_values: Any
) -> tuple[str, ...]:
    """The names of the sites of a file (or Terraform folder), as :func:`load` reads it: the
    names its ``site=`` (``--site``) chooses from, in the order :func:`load_all` gives the
    sites. The formats of one site, which take no ``site=`` (a rules array, siteConfig, site
    or config/web resource, ``acl-site/1``), give ``()``; so does a script that changes no
    site, when ``base_site`` is the site.

    Each name loads its site: ``load(path, site=name)``. A Terraform web app with several
    instances (``count``, ``for_each``) is one name per instance.

    >>> import acl.formats
    >>> acl.formats.site_names("examples/frontdoor-site/site.json")
    ()
    """
    _no_site("site_names", option_values)
    names: tuple[str, ...] = _path(path, format, option_values, "names")
    return names


def text_site_names(
    text: str,
    *,
    format: str | None = None,
    options: LoadOptions | None = None,
    **option_values: Any,
) -> tuple[str, ...]:
    """:func:`site_names` of text, read as :func:`loads` reads it."""
    _no_site("text_site_names", {**option_values, "options": options})
    names: tuple[str, ...] = _text(text, format, _text_options(options, option_values), "names")
    return names


def load_all(
    path: str | os.PathLike[str], *, format: str | None = None, **option_values: Any
) -> list[tuple[str | None, Site]]:
    """Every site of a file (or Terraform folder), each with its name (:func:`site_names`),
    from one read of the file: what ``load(path, site=name)`` gives for each name. A file of
    a format of one site gives that site, named None.

    Raises:
        ConfigError: the file cannot be read, or one of its sites cannot be loaded.
    """
    _no_site("load_all", option_values)
    sites: list[tuple[str | None, Site]] = _path(path, format, option_values, "all")
    return sites


def loads_all(
    text: str,
    *,
    format: str | None = None,
    options: LoadOptions | None = None,
    **option_values: Any,
) -> list[tuple[str | None, Site]]:
    """:func:`load_all` of text, read as :func:`loads` reads it."""
    _no_site("loads_all", {**option_values, "options": options})
    sites: list[tuple[str | None, Site]] = _text(
        text, format, _text_options(options, option_values), "all"
    )
    return sites


def _file_options(file: str, option_values: dict[str, Any]) -> LoadOptions:
    options = option_values.pop("options", None)
    if options is not None and option_values:
        raise TypeError("give options=LoadOptions(...) or keyword options, not both")
    if isinstance(options, LoadOptions):
        return replace(options, source=file)
    return LoadOptions(source=file, **option_values)

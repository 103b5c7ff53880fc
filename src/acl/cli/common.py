"""What the ``acl`` commands share: the parser class, the options that load a site (and the
Terraform and script inputs), the log-reading options, and the checks run before anything
is read.

Every command that loads a site takes ``--rules FILE`` and ``--rules-format NAME``;
``--format`` is the command's output format wherever it has one. Commands without an output
format (``eval``, ``convert``, ``serve``) still accept ``--format`` for the rules' format, as
a deprecated spelling that warns on stderr.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigError, Origin, UsageError, quote
from ..formats import FORMATS, load
from ..headers import HEADER_NAMES, canonical_header
from ..model import Site
from ..servicetags import ENV_VAR
from .parser import Commands, Parser, warn

__all__ = [
    "Commands",
    "Parser",
    "add_iac_options",
    "add_rules_options",
    "add_site_options",
    "iac_load_options",
    "known_header",
    "load_site",
    "site_load_options",
    "warn",
]


class _DeprecatedFormat(argparse.Action):
    """``--format NAME`` on a command without an output format: the rules' format, with a
    warning that ``--rules-format`` is the spelling to use."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        warn(
            f"{parser.prog}: {option_string} {values} is deprecated for the rules' format: "
            f"use --rules-format {values}"
        )
        setattr(namespace, self.dest, values)


def add_rules_options(
    parser: argparse.ArgumentParser, *, rules_required: bool = True, format_alias: bool = True
) -> None:
    """The options that load a site: ``--rules``, ``--rules-format``, ``--service-tags``,
    the template options and the Terraform and script inputs (:func:`add_iac_options`).

    Args:
        parser: the command's parser.
        rules_required: whether ``--rules`` must be given (``lint`` and ``convert`` also take
            the files as positional arguments).
        format_alias: also accept the deprecated ``--format NAME`` for the rules' format;
            only for commands that have no output ``--format`` of their own.
    """
    group = parser.add_argument_group("loading the rules")
    group.add_argument(
        "--rules",
        required=rules_required,
        metavar="FILE",
        help="the site's rules, any supported format, or an engine saved by Engine.save",
    )
    group.add_argument(
        "--rules-format",
        dest="rules_format",
        choices=sorted(FORMATS),
        help="the rules file's format (default: sniffed)",
    )
    if format_alias:
        group.add_argument(
            "--format",
            dest="rules_format",
            action=_DeprecatedFormat,
            choices=sorted(FORMATS),
            metavar="NAME",
            help="deprecated: the same as --rules-format (warns)",
        )
    group.add_argument(
        "--service-tags",
        metavar="PATH",
        help=f"a ServiceTags_Public_*.json file (default: ${ENV_VAR}, else the bundled snapshot)",
    )
    group.add_argument("--site", metavar="NAME", help="which site of a template that has several")
    group.add_argument("--parameters", metavar="FILE", help="an ARM deployment parameters file")
    group.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an ARM template parameter value (repeatable)",
    )
    add_iac_options(group)


def load_site(args: argparse.Namespace) -> Site:
    """The site that the options of :func:`add_rules_options` name."""
    if args.rules not in (None, "-"):
        from .. import saved

        if saved.is_saved_engine(args.rules):
            from ..engine import load_engine

            return load_engine(args.rules).site  # a saved engine holds its site
    params: dict[str, str] = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {item!r} is not NAME=VALUE")
        params[name] = value
    return load(
        args.rules,
        format=args.rules_format,
        service_tags=args.service_tags,
        site=args.site,
        parameters=params,
        parameters_file=args.parameters,
        **iac_load_options(args),
    )


class _InOrder(argparse.Action):
    """``append``, and also note ``(option, value)`` in ``var_order``: Terraform applies
    ``-var`` and ``-var-file`` in command-line order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), values])
        order = list(getattr(namespace, "var_order", None) or [])
        order.append(("var" if self.dest == "var" else "var-file", values))
        namespace.var_order = order


def add_iac_options(group: argparse._ActionsContainer) -> None:
    """``--var``, ``--var-file``, ``--azurerm-version``, ``--unresolved``,
    ``--subnet-id-template``, ``--base-site`` and the site state options
    (:func:`add_site_options`)."""
    group.add_argument(
        "--var",
        action=_InOrder,
        default=[],
        metavar="NAME=VALUE",
        help="a Terraform variable or script variable value (repeatable); wins over tfvars "
        "files read before it and assignments in scripts",
    )
    group.add_argument(
        "--var-file",
        action=_InOrder,
        default=[],
        metavar="FILE",
        help="a Terraform .tfvars or .tfvars.json file, read after terraform.tfvars and "
        "*.auto.tfvars, in command-line order with --var (repeatable)",
    )
    group.add_argument(
        "--azurerm-version",
        metavar="VERSION",
        help="the azurerm provider version Terraform uses (default: 3.95 or later, which sends "
        "ip_restriction_default_action = Allow; older versions send no default action)",
    )
    group.add_argument(
        "--unresolved",
        choices=["error", "skip-rule"],
        default="error",
        help="a Terraform rule or script command whose values only a plan or a run can know: "
        "an error (default), or leave it out with a warning",
    )
    group.add_argument(
        "--subnet-id-template",
        metavar="TEMPLATE",
        help="how a script's subnet name becomes a resource id, with {sub}, {rg}, {vnet}, "
        "{subnet}: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/"
        "virtualNetworks/{vnet}/subnets/{subnet}",
    )
    group.add_argument(
        "--base-site",
        metavar="FILE",
        help="the site a script's commands are applied to (any format; default: a site without "
        "rules)",
    )
    add_site_options(group)


def add_site_options(group: argparse._ActionsContainer) -> None:
    """The site state a file may not say: ``--private-endpoint-site``, ``--hosting``,
    ``--ip-based-ssl`` and ``--document``. Each overrides what the file says."""
    group.add_argument(
        "--private-endpoint-site",
        dest="private_endpoint_site",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the site has an approved private endpoint (or, with --no-, has none), whatever "
        "the file says; with no publicNetworkAccess, public traffic is then denied",
    )
    group.add_argument(
        "--hosting",
        choices=["multi-tenant", "ase"],
        default=None,
        help="where the site runs: the multi-tenant service or an App Service Environment "
        "(default: what the file says, else multi-tenant)",
    )
    group.add_argument(
        "--ip-based-ssl",
        dest="ip_based_ssl",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the site has an IpBasedEnabled SSL binding (service-endpoint rules never match)",
    )
    group.add_argument(
        "--document",
        choices=["returned", "sent"],
        default=None,
        help="what a JSON file is: returned by Azure (a GET, az ... show, an export: a 'Deny "
        "all' entry is the default action) or sent to it (a PUT/PATCH body: Azure ignores such "
        "an entry). Default: templates are sent, other JSON returned",
    )


def site_load_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``LoadOptions`` fields the options of :func:`add_site_options` give."""
    return {
        "private_endpoint": getattr(args, "private_endpoint_site", None),
        "hosting": getattr(args, "hosting", None),
        "ip_based_ssl": getattr(args, "ip_based_ssl", None),
        "document": getattr(args, "document", None),
    }


def iac_load_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``LoadOptions`` fields the options of :func:`add_iac_options` give, as keyword
    arguments for ``acl.load``. Warnings go to stderr as ``acl: warning: ...``."""
    variables: dict[str, str] = {}
    for item in getattr(args, "var", None) or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--var {quote(item)} is not NAME=VALUE", Origin(path="--var"))
        variables[name.strip()] = value
    options: dict[str, Any] = {
        "variables": variables,
        "var_files": list(getattr(args, "var_file", None) or []),
        "var_order": list(getattr(args, "var_order", None) or []),
        "azurerm_version": getattr(args, "azurerm_version", None),
        "unresolved": getattr(args, "unresolved", None) or "error",
        "subnet_id_template": getattr(args, "subnet_id_template", None),
        "on_warning": warn,
        **site_load_options(args),
    }
    base = getattr(args, "base_site", None)
    if base:
        options["base_site"] = load(
            base,
            service_tags=getattr(args, "service_tags", None),
            # --var is for the script; a JSON base site reads no variables
            variables={} if base.lower().endswith(".json") else variables,
            on_warning=warn,
        )
    return options


def known_header(name: str, where: str) -> str:
    """The documented spelling of a header ``acl`` evaluates (``Host`` included), or an
    error naming it and listing those headers."""
    if name.strip().lower() == "host":
        return "Host"
    known = canonical_header(name)
    if known is None:
        raise UsageError(
            f"{where}: header {name.strip()!r} is not one acl evaluates: expected Host or one of"
            f" {', '.join(HEADER_NAMES)} (access restrictions read no other header)"
        )
    return known

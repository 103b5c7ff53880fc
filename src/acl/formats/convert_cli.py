"""The ``acl convert`` subcommand, and the loading options of the infrastructure-as-code
formats (Terraform, az CLI and PowerShell scripts) for every command that loads a site.

``cli.py`` calls :func:`register` once, and adds :func:`add_iac_options` to its rule-loading
options and :func:`iac_load_options` to its ``load()`` call.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError, Origin, quote
from ..model import Site
from .terraform import WEB_APP_TYPES

__all__ = [
    "add_iac_options",
    "add_site_options",
    "iac_load_options",
    "register",
    "site_load_options",
]


class _InOrder(argparse._AppendAction):
    """``append``, and also note ``(option, value)`` in ``var_order``: Terraform applies
    ``-var`` and ``-var-file`` in command-line order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        super().__call__(parser, namespace, values, option_string)
        order = list(getattr(namespace, "var_order", None) or [])
        order.append(("var" if self.dest == "var" else "var-file", values))
        namespace.var_order = order


def add_iac_options(group: argparse._ActionsContainer) -> None:
    """``--var``, ``--var-file``, ``--azurerm-version``, ``--unresolved``,
    ``--subnet-id-template`` and ``--base-site``."""
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


def _warn(message: str) -> None:
    print(f"acl: warning: {message}", file=sys.stderr)


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
        "on_warning": _warn,
        **site_load_options(args),
    }
    base = getattr(args, "base_site", None)
    if base:
        from . import load

        options["base_site"] = load(
            base,
            service_tags=getattr(args, "service_tags", None),
            # --var is for the script; a JSON base site reads no variables
            variables={} if base.lower().endswith(".json") else variables,
            on_warning=_warn,
        )
    return options


def _has_option(parser: argparse.ArgumentParser, option: str) -> bool:
    return option in parser._option_string_actions


def register(
    commands: Any,
    add_rules_options: Callable[..., None],
    load_site: Callable[[argparse.Namespace], Site],
) -> None:
    """Add ``acl convert [FILE] --to arm|terraform|azcli|json`` to a subparsers object.

    ``add_rules_options(parser)`` adds the usual rule-loading options (``--rules``,
    ``--format``, ``--service-tags``, ``--site``, ...) and ``load_site(args)`` loads the site
    from them, as every other command does.
    """
    from ..convert import TARGETS

    parser = commands.add_parser(
        "convert",
        help="write a site as an ARM template, Terraform, az CLI commands or acl-site JSON",
        description="Load a site in any supported format and write it in another: an ARM "
        "deployment template with its config/web resource (arm), the site_config of an azurerm "
        "web app (terraform), az webapp config access-restriction commands (azcli) or the "
        "faithful acl-site/1 JSON (json). Loading what is written gives the same decisions.",
    )
    parser.add_argument(
        "file", nargs="?", metavar="FILE", help="the site (the same as --rules FILE)"
    )
    add_rules_options(parser)
    for action in parser._actions:
        if action.dest == "rules":
            action.required = False
    if not _has_option(parser, "--var"):
        add_iac_options(parser.add_argument_group("Terraform and scripts"))
    out = parser.add_argument_group("output")
    out.add_argument("--to", required=True, choices=list(TARGETS), help="what to write")
    out.add_argument(
        "--resource-type",
        default="azurerm_linux_web_app",
        choices=sorted(WEB_APP_TYPES),
        help="terraform: the resource type of the block (default azurerm_linux_web_app)",
    )
    out.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")

    def handler(args: argparse.Namespace) -> int:
        from ..convert import convert

        if args.file and args.rules and args.file != args.rules:
            parser.error("give the site as FILE or as --rules FILE, not both")
        args.rules = args.file or args.rules
        if not args.rules:
            parser.error("the site to convert is missing: acl convert FILE --to TARGET")
        site = load_site(args)
        text = convert(site, args.to, resource_type=args.resource_type)
        if args.output:
            from ..outputs import AtomicOutput, refuse_inputs

            refuse_inputs(
                [("--output", args.output)],
                [("the site", args.rules), ("--parameters", getattr(args, "parameters", None))]
                + [("--var-file", name) for name in getattr(args, "var_file", None) or []],
            )
            AtomicOutput(args.output, what="output").write_text(text)
        else:
            sys.stdout.write(text)
        return 0

    parser.set_defaults(handler=handler)

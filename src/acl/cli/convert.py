"""``acl convert``: write a site as an ARM template, Terraform, az CLI commands or acl-site
JSON."""

from __future__ import annotations

import argparse
import sys

from ..convert import TARGETS, convert
from ..formats.terraform import WEB_APP_TYPES
from ..outputs import AtomicOutput, refuse_inputs
from .common import Commands, add_rules_options, load_site

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``acl convert [FILE] --to arm|terraform|azcli|json``."""
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
    add_rules_options(parser, rules_required=False)
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
        if args.file and args.rules and args.file != args.rules:
            parser.error("give the site as FILE or as --rules FILE, not both")
        args.rules = args.file or args.rules
        if not args.rules:
            parser.error("the site to convert is missing: acl convert FILE --to TARGET")
        site = load_site(args)
        text = convert(site, args.to, resource_type=args.resource_type)
        if args.output:
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

"""``acl audit`` and ``acl callers``: a fleet of sites at once, and which Azure platform
callers a site's rules let in (:mod:`acl.analysis.audit`, :mod:`acl.analysis.callers`).

Handlers return the exit code and raise :class:`~acl.AclError` subclasses for errors (the
``acl`` command prints those on one line and exits 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..analysis.audit import audit, who
from ..analysis.audit_output import AUDIT_OUTPUTS, render_audit
from ..analysis.callers import CALLERS, callers, callers_text
from ..analysis.findings import SEVERITIES
from ..errors import AclError
from ..formats import load
from ..headers import HEADER_NAMES, canonical_header
from ..model import Request
from .common import Commands

__all__ = ["register"]


def _header(text: str) -> tuple[str, str]:
    """``NAME:VALUE`` of a ``--who`` header: one of the headers access restrictions read."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise AclError(f"--header {text!r}: expected NAME:VALUE")
    known = canonical_header(name)
    if known is None:
        raise AclError(
            f"--header {text!r:.80}: header {name.strip()!r} is not one access restrictions "
            f"read: expected one of {', '.join(HEADER_NAMES)} (the Host is each collection's)"
        )
    return known, value.strip()


def register_audit(commands: Commands) -> None:
    """Add ``acl audit PATH...``."""
    au = commands.add_parser(
        "audit",
        help="audit every site of some files and folders at once",
        description="Every site of the files and folders given (templates and az group "
        "export with many sites and slots, Terraform folders, terraform show -json, folders of "
        "exports): its lint findings, whether main and scm are open to the internet, whether "
        "Front Door is locked to a profile, and which sites share a rule set. Exit 1 when a "
        "finding at or above --fail-level exists, 2 when a file cannot be loaded (the others "
        "are still audited).",
    )
    au.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    au.add_argument("--service-tags", metavar="PATH", help="a ServiceTags_Public_*.json file")
    au.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Terraform or script variable for every file (repeatable)",
    )
    au.add_argument("--who", metavar="ADDR", help="which sites admit a request from ADDR")
    au.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="a header of the --who request (repeatable)",
    )
    au.add_argument("--format", choices=AUDIT_OUTPUTS, default="text", help="output format")
    au.add_argument(
        "--fail-level",
        choices=[*reversed(SEVERITIES), "none"],
        default="warning",
        help="exit 1 when a site has a finding at or above this severity (default: warning)",
    )
    au.add_argument(
        "--ignore", action="append", default=[], metavar="CODE", help="leave out a finding code"
    )
    au.add_argument(
        "--strict-azure", action="store_true", help="report crossed Azure limits as errors"
    )

    def run_audit(args: argparse.Namespace) -> int:
        options: dict[str, Any] = {}
        if args.service_tags:
            options["service_tags"] = args.service_tags
        if args.var:
            pairs = [v.partition("=") for v in args.var]
            bad = [v for v, (_, eq, _) in zip(args.var, pairs, strict=True) if not eq]
            if bad:
                raise AclError(f"--var {bad[0]!r}: expected NAME=VALUE")
            options["variables"] = {name: value for name, _, value in pairs}
        if args.header and not args.who:
            raise AclError("--header needs --who ADDR: the headers are the --who request's")
        request = Request(args.who, headers=[_header(h) for h in args.header]) if args.who else None
        fleet = audit(args.paths, strict_azure=args.strict_azure, ignore=args.ignore, **options)
        if request is not None:
            fleet = who(fleet, request)
        for failure in fleet.errors:
            print(f"acl: error: {failure.message}", file=sys.stderr)
        sys.stdout.write(render_audit(fleet, args.format))
        return fleet.exit_code(args.fail_level)

    au.set_defaults(handler=run_audit)


def register_callers(commands: Commands) -> None:
    """Add ``acl callers --rules SITE``."""
    ca = commands.add_parser(
        "callers",
        help="which Azure platform callers (Front Door, availability tests, ...) get in",
        description="For each Azure caller of the catalogue (docs/callers.md) and each "
        "collection: whether its requests are admitted (all, some, none), by which rules, "
        "with an example request; exact over the caller's service tag ranges.",
    )
    ca.add_argument("--rules", required=True, metavar="FILE", help="the site's rules file")
    ca.add_argument("--site", metavar="NAME", help="which site of a file that has several")
    ca.add_argument("--service-tags", metavar="PATH", help="a ServiceTags_Public_*.json file")
    ca.add_argument(
        "--caller",
        action="append",
        choices=sorted(CALLERS),
        default=[],
        help="only this caller (repeatable; default: every caller)",
    )
    ca.add_argument(
        "--region",
        default="westeurope",
        help="the region of the regional callers (hosted build agents: AzureCloud.REGION)",
    )
    ca.add_argument("--format", choices=("text", "json"), default="text", help="output format")

    def run_callers(args: argparse.Namespace) -> int:
        options: dict[str, Any] = {}
        if args.service_tags:
            options["service_tags"] = args.service_tags
        if args.site:
            options["site"] = args.site
        site = load(args.rules, **options)
        result = callers(site, only=args.caller, region=args.region, service_tags=args.service_tags)
        if args.format == "json":
            sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        else:
            sys.stdout.write(callers_text(result))
        return 0

    ca.set_defaults(handler=run_callers)


def register(commands: Commands) -> None:
    """Add ``acl audit`` and ``acl callers``."""
    register_audit(commands)
    register_callers(commands)

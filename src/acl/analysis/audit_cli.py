"""The ``acl audit`` and ``acl callers`` commands: :func:`register_audit` and
:func:`register_callers` add one each to the ``acl`` subcommands (:func:`register` both).

Handlers return the exit code and raise :class:`~acl.AclError` subclasses for errors (the
``acl`` command prints those on one line and exits 2).
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import AclError
from ..formats import load
from ..headers import HEADER_NAMES, canonical_header
from ..model import Request
from .audit import FAMILIES, Audit, audit, who
from .callers import CALLERS, callers, callers_text
from .findings import SEVERITIES
from .output import LintedFile, lint_sarif

__all__ = [
    "AUDIT_OUTPUTS",
    "audit_html",
    "audit_text",
    "register",
    "register_audit",
    "register_callers",
]

AUDIT_OUTPUTS = ("text", "json", "html", "sarif")


def _open(values: Mapping[str, str]) -> str:
    shown = [f"{name} {word}" for name, word in values.items() if word != "none"]
    return ", ".join(shown) if shown else "closed"


def audit_text(fleet: Audit) -> str:
    """One block per site: findings, internet exposure, Front Door, shared rule sets; then
    the ``--who`` answers and the files that failed to load."""
    lines: list[str] = []
    for s in fleet.sites:
        lines.append(f"{s.label}")
        for c in ("main", "scm"):
            door = s.front_door[c]
            profiles = f" ({', '.join(door.profiles)})" if door.profiles else ""
            lines.append(
                f"  {c}: internet {_open(s.internet[c])}; Front Door {door.status}{profiles}"
            )
        if s.same_as:
            lines.append(f"  same rules as: {', '.join(s.same_as)}")
        for f in s.findings:
            scope = f" [{f.collection}]" if f.collection else ""
            lines.append(f"  {f.severity} {f.code} {f.name}{scope}: {f.message}")
    if fleet.who is not None and fleet.request is not None:
        shown = ", ".join(f"{name}: {value}" for name, value in fleet.request.headers)
        lines.append(f"who: {fleet.request.address}" + (f" with {shown}" if shown else ""))
        admitted = [a for a in fleet.who if a.allowed]
        for a in admitted:
            by = f"rule {a.rule.label}" if a.rule is not None else a.reason
            lines.append(f"  {a.source}: {a.site} [{a.collection}] admits it: {by}")
        if not admitted:
            lines.append("  no site admits it")
    for e in fleet.errors:
        lines.append(f"error: {e.message}")
    counts = fleet.to_dict()["summary"]
    lines.append(
        f"{counts['sites']} site(s): {counts['error']} error(s), {counts['warning']} "
        f"warning(s), {counts['info']} info; {counts['files_failed']} file(s) not loaded"
    )
    return "\n".join(lines) + "\n"


def audit_html(fleet: Audit) -> str:
    """A self-contained HTML page: one table row per site and collection."""
    e = html.escape
    rows: list[str] = []
    for s in fleet.sites:
        for c in ("main", "scm"):
            findings = "<br>".join(
                e(f"{f.severity} {f.code} {f.name}: {f.message}")
                for f in s.findings
                if f.collection in (c, None) and (c == "main" or f.collection == c)
            )
            door = s.front_door[c]
            rows.append(
                "<tr>"
                f"<td>{e(s.source)}</td><td>{e(s.name)}</td><td>{c}</td>"
                + "".join(f"<td>{e(s.internet[c][FAMILIES[v]])}</td>" for v in (4, 6))
                + f"<td>{e(door.status)}</td><td>{s.rule_set}</td><td>{findings}</td></tr>"
            )
    errors = "".join(f"<li>{e(x.message)}</li>" for x in fleet.errors)
    who_rows = ""
    if fleet.who is not None:
        who_rows = "".join(
            f"<tr><td>{e(a.source)}</td><td>{e(a.site)}</td><td>{a.collection}</td>"
            f"<td>{'allow' if a.allowed else 'deny'}</td>"
            f"<td>{e(a.rule.label if a.rule is not None else a.reason)}</td></tr>"
            for a in fleet.who
        )
        who_rows = (
            "<h2>Who</h2><table><tr><th>source</th><th>site</th><th>collection</th>"
            f"<th>decision</th><th>by</th></tr>{who_rows}</table>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>acl audit</title>'
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:2px 6px;vertical-align:top}</style></head><body>"
        "<h1>acl audit</h1><table><tr><th>source</th><th>site</th><th>collection</th>"
        "<th>IPv4 from the internet</th><th>IPv6 from the internet</th><th>Front Door</th>"
        f"<th>rule set</th><th>findings</th></tr>{''.join(rows)}</table>{who_rows}"
        f"{'<h2>Not loaded</h2><ul>' + errors + '</ul>' if errors else ''}</body></html>\n"
    )


def render_audit(fleet: Audit, format: str) -> str:
    if format == "json":
        return json.dumps(fleet.to_dict(), indent=2) + "\n"
    if format == "html":
        return audit_html(fleet)
    if format == "sarif":
        failed = [LintedFile(x.source, (), x.message) for x in fleet.errors]
        return lint_sarif(fleet.findings(), errors=failed)
    return audit_text(fleet)


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


def register_audit(commands: argparse._SubParsersAction[Any]) -> None:
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


def register_callers(commands: argparse._SubParsersAction[Any]) -> None:
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


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``acl audit`` and ``acl callers``."""
    register_audit(commands)
    register_callers(commands)

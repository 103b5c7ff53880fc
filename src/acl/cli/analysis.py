"""The ``acl lint``, ``acl diff`` and ``acl search`` commands.

:func:`register` adds them to the ``acl`` command's subparsers. Handlers return the exit
code and raise :class:`~acl.AclError` subclasses for errors (the ``acl`` command prints
those on one line and exits 2).

In all three, ``--format`` names the **output** format; the rules file's format is
``--rules-format`` (``diff``: ``--old-format`` and ``--new-format``, one per file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..analysis.addressmap import diff_html, lint_html
from ..analysis.diff import Compare, Diff, diff
from ..analysis.lint import SEVERITIES, lint, severity_at_least
from ..analysis.output import (
    LINT_FORMATS,
    LintedFile,
    diff_files_json,
    diff_json,
    diff_text,
    render_lint_files,
    search_json,
    search_text,
)
from ..analysis.search import describe_search, search
from ..analysis.space import STATE_LIMIT
from ..errors import AclError
from ..formats import FORMATS, load
from ..model import Site
from .common import Commands, add_iac_options, add_rules_options, iac_load_options, load_site

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``lint``, ``diff`` and ``search`` to the ``acl`` subcommands."""

    # -- lint
    li = commands.add_parser(
        "lint",
        help="find shadowed, redundant and risky rules, without traffic",
        description="Findings about a site's rules, each with a stable code, a severity, the "
        "rules involved, an explanation and a fix hint. Each FILE is loaded and linted on its "
        "own. Exit 1 when a finding at or above --fail-level exists, 2 when a file cannot be "
        "loaded (the others are still linted).",
    )
    # Several files: FILE... (and --rules FILE, kept for one); each is loaded and linted alone.
    add_rules_options(li, rules_required=False, format_alias=False)
    li.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="the rules files to lint, any supported formats (each with the loading options)",
    )
    out = li.add_argument_group("output")
    out.add_argument(
        "--format",
        dest="output_format",
        choices=[*LINT_FORMATS, "html"],
        default="text",
        help="text (default), json, sarif (SARIF 2.1.0), github (workflow annotations) or html "
        "(address-space maps)",
    )
    out.add_argument(
        "--fail-level",
        choices=[*reversed(SEVERITIES), "none"],
        default="error",
        help="exit 1 when a finding at or above this severity exists (default: error)",
    )
    out.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="CODE",
        help="leave out a finding code or name (repeatable, or comma-separated)",
    )
    out.add_argument(
        "--strict-azure",
        action="store_true",
        help="report crossed Azure limits (rules, sources, header values) as errors",
    )

    def run_lint(args: argparse.Namespace) -> int:
        paths = [*([args.rules] if args.rules else []), *args.files]
        if not paths:
            raise AclError("acl lint: give the rules files to lint (FILE... or --rules FILE)")
        linted: list[LintedFile] = []
        sites: dict[int, Site] = {}
        for path in paths:
            # A file that cannot be loaded is reported (exit 2) and the others still linted;
            # an unknown --ignore code is the same mistake for every file: it stops the run.
            try:
                site = load_site(argparse.Namespace(**{**vars(args), "rules": path}))
            except AclError as exc:
                print(f"acl: error: {exc}", file=sys.stderr)
                linted.append(LintedFile(path, (), str(exc)))
                continue
            findings = lint(site, strict_azure=args.strict_azure, ignore=args.ignore)
            sites[len(linted)] = site
            linted.append(LintedFile(site.source or path, tuple(findings)))
        if args.output_format == "html":
            sys.stdout.write(lint_html([(*item, sites.get(i)) for i, item in enumerate(linted)]))
        else:
            sys.stdout.write(render_lint_files(linted, args.output_format))
        if any(item.error is not None for item in linted):
            return 2
        if args.fail_level == "none":
            return 0
        found = [f for item in linted for f in item.findings]
        return 1 if any(severity_at_least(f.severity, args.fail_level) for f in found) else 0

    li.set_defaults(handler=run_lint)

    # -- diff
    di = commands.add_parser(
        "diff",
        help="the exact difference between two sites' decisions",
        description="The address ranges (fewest CIDRs), per collection and header condition, "
        "whose decision changes from OLD to NEW, with the deciding rule on both sides and an "
        "example request. No output and exit 0: no request at all is decided differently. "
        "Exit 1 when they differ. With --base DIR, each FILE is compared with DIR/FILE.",
        usage="acl diff [options] OLD NEW\n       acl diff [options] --base DIR FILE...",
    )
    di.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="OLD and NEW (the site before and after, any supported format); with --base, "
        "the sites after",
    )
    di.add_argument(
        "--base",
        metavar="DIR",
        help="compare each FILE with the file at the same relative path under DIR (the sites "
        "before, e.g. a checkout of the base branch)",
    )
    di.add_argument("--old-format", choices=sorted(FORMATS), help="OLD's format (default: sniffed)")
    di.add_argument("--new-format", choices=sorted(FORMATS), help="NEW's format (default: sniffed)")
    di.add_argument("--service-tags", metavar="PATH", help="a ServiceTags_Public_*.json file")
    di.add_argument("--site", metavar="NAME", help="which site of templates that have several")
    add_iac_options(di.add_argument_group("Terraform and scripts (both files)"))
    di.add_argument(
        "--format",
        dest="output_format",
        choices=["text", "json", "html"],
        default="text",
        help="output (html: address-space maps with the changed ranges outlined)",
    )
    di.add_argument(
        "--by-rule",
        action="store_true",
        help="also report requests decided alike but by another rule or for another reason",
    )
    di.add_argument(
        "--max-states",
        type=int,
        default=STATE_LIMIT,
        metavar="N",
        help=f"header/endpoint states compared per address range at most (default {STATE_LIMIT}); "
        "ranges beyond it are reported as unresolved",
    )

    def run_diff(args: argparse.Namespace) -> int:
        options = iac_load_options(args)
        common = {"service_tags": args.service_tags, "site": args.site, **options}
        compare: Compare = "rule" if args.by_rule else "action"
        if args.base is None:
            if len(args.files) != 2:
                raise AclError(
                    f"acl diff: give OLD and NEW (got {len(args.files)} file(s)), "
                    "or --base DIR and the files to compare with their copies under DIR"
                )
            old = load(args.files[0], format=args.old_format, **common)
            new = load(args.files[1], format=args.new_format, **common)
            result = diff(old, new, compare=compare, limit=args.max_states)
            text = diff_json(result) if args.output_format == "json" else diff_text(result)
            if args.output_format == "html":
                text = diff_html([(args.files[0], args.files[1], old, new, result)])
            sys.stdout.write(text)
            return 0 if result.identical else 1
        base = Path(args.base)
        if not base.is_dir():
            raise AclError(f"acl diff: --base {args.base!r} is not a directory")
        pairs: list[dict[str, Any]] = []
        blocks: list[str] = []
        drawn: list[tuple[str, str, Site, Site, Diff]] = []
        for name in args.files:
            relative = Path(name)
            if relative.is_absolute() or ".." in relative.parts:
                raise AclError(
                    f"acl diff: {name!r} is not a relative path inside the working directory, "
                    "so it has no place under --base"
                )
            before = str(base / relative)
            pair: dict[str, Any] = {"old": before, "new": name}
            if not Path(before).exists():
                # A new file: every decision it makes is new, so it is a change.
                pair.update(identical=False, old_missing=True)
                blocks.append(f"{before} -> {name}\n  new file: {before} does not exist\n")
                pairs.append(pair)
                continue
            try:
                old = load(before, format=args.old_format, **common)
                new = load(name, format=args.new_format, **common)
            except AclError as exc:
                print(f"acl: error: {exc}", file=sys.stderr)
                pair["error"] = str(exc)
                pairs.append(pair)
                continue
            result = diff(old, new, compare=compare, limit=args.max_states)
            drawn.append((before, name, old, new, result))
            pair.update(result.to_dict())
            if not result.identical:
                blocks.append(f"{before} -> {name}\n{diff_text(result)}")
            pairs.append(pair)
        if args.output_format == "json":
            sys.stdout.write(diff_files_json(pairs))
        elif args.output_format == "html":
            sys.stdout.write(diff_html(drawn))
        else:
            sys.stdout.write("".join(blocks))
        if any("error" in pair for pair in pairs):
            return 2
        return 0 if all(pair["identical"] for pair in pairs) else 1

    di.set_defaults(handler=run_diff)

    # -- search
    se = commands.add_parser(
        "search",
        help="find a request with a given outcome, or prove none exists",
        description="Finds a concrete request that the site decides as asked (exit 0), or "
        "proves that none exists (exit 1). Requests through a private endpoint are always "
        "allowed and are not searched.",
    )
    add_rules_options(se, format_alias=False)
    q = se.add_argument_group("the question")
    q.add_argument("--decision", required=True, choices=["allow", "deny"])
    q.add_argument("--collection", choices=["main", "scm"], default="main")
    q.add_argument("--rule", metavar="NAME", help="decided by this rule (a name or #position)")
    q.add_argument("--family", choices=["ipv4", "ipv6"], help="from this address family")
    q.add_argument(
        "--without-header",
        action="append",
        default=[],
        metavar="NAME",
        help="the request does not carry this header (repeatable)",
    )
    q.add_argument(
        "--endpoint",
        choices=["any", "none", "service"],
        default="any",
        help="none: not through a service endpoint (from the internet); service: through one",
    )
    se.add_argument(
        "--format", dest="output_format", choices=["text", "json"], default="text", help="output"
    )

    def run_search(args: argparse.Namespace) -> int:
        site = load_site(args)
        found = search(
            site,
            args.decision,
            args.collection,
            rule=args.rule,
            family=args.family,
            without_header=args.without_header,
            endpoint=args.endpoint,
        )
        question = describe_search(
            args.decision,
            args.collection,
            args.rule,
            args.family,
            args.without_header,
            args.endpoint,
        )
        render = search_json if args.output_format == "json" else search_text
        sys.stdout.write(render(found, question))
        return 0 if found is not None else 1

    se.set_defaults(handler=run_search)

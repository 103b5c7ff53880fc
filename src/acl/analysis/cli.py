"""The ``acl lint``, ``acl diff`` and ``acl search`` commands.

:func:`register` adds them to the ``acl`` command's subparsers. Handlers return the exit
code and raise :class:`~acl.AclError` subclasses for errors (the ``acl`` command prints
those on one line and exits 2).

In ``lint`` and ``search``, ``--format`` names the **output** format (as in ``diff``); the
rules file's format is ``--rules-format``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..formats import FORMATS, load
from ..formats.convert_cli import add_iac_options, iac_load_options
from ..model import Site
from .diff import diff
from .lint import SEVERITIES, lint, severity_at_least
from .output import LINT_FORMATS, diff_json, diff_text, render_lint, search_json, search_text
from .search import describe_search, search
from .space import STATE_LIMIT

__all__ = ["register"]


def _rules_format_option(parser: argparse.ArgumentParser) -> None:
    """Give the rules' format as ``--rules-format`` (next to the other loading options),
    freeing ``--format`` for the output format; the parser resolves the conflict."""
    if "--rules-format" in parser._option_string_actions:
        return
    group: argparse._ActionsContainer = parser
    loading = parser._option_string_actions.get("--format")
    for candidate in parser._action_groups:
        if loading is not None and loading in candidate._group_actions:
            group = candidate
    group.add_argument(
        "--rules-format",
        dest="rules_format",
        choices=sorted(FORMATS),
        help="the rules file's format (default: sniffed)",
    )


def _loader(
    load_site: Callable[[argparse.Namespace], Site],
) -> Callable[[argparse.Namespace], Site]:
    def loaded(args: argparse.Namespace) -> Site:
        values = dict(vars(args))
        values["format"] = args.rules_format
        return load_site(argparse.Namespace(**values))

    return loaded


def register(
    commands: argparse._SubParsersAction[Any],
    add_rules_options: Callable[[argparse.ArgumentParser], None],
    load_site: Callable[[argparse.Namespace], Site],
) -> None:
    """Add ``lint``, ``diff`` and ``search`` to the ``acl`` subcommands.

    Args:
        commands: the ``acl`` parser's subparsers.
        add_rules_options: adds ``--rules``, ``--format``, ``--service-tags`` and the
            template options to a parser (``--format`` is renamed ``--rules-format`` here).
        load_site: loads the site those options name.
    """
    loaded = _loader(load_site)
    kwargs: dict[str, Any] = {"conflict_handler": "resolve"}

    # -- lint
    li = commands.add_parser(
        "lint",
        help="find shadowed, redundant and risky rules, without traffic",
        description="Findings about a site's rules, each with a stable code, a severity, the "
        "rules involved, an explanation and a fix hint. Exit 1 when a finding at or above "
        "--fail-level exists.",
        **kwargs,
    )
    add_rules_options(li)
    _rules_format_option(li)
    out = li.add_argument_group("output")
    out.add_argument(
        "--format",
        dest="output_format",
        choices=list(LINT_FORMATS),
        default="text",
        help="text (default), json, sarif (SARIF 2.1.0) or github (workflow annotations)",
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
        site = loaded(args)
        findings = lint(site, strict_azure=args.strict_azure, ignore=args.ignore)
        sys.stdout.write(render_lint(findings, args.output_format, site.source))
        if args.fail_level == "none":
            return 0
        return 1 if any(severity_at_least(f.severity, args.fail_level) for f in findings) else 0

    li.set_defaults(handler=run_lint)

    # -- diff
    di = commands.add_parser(
        "diff",
        help="the exact difference between two sites' decisions",
        description="The address ranges (fewest CIDRs), per collection and header condition, "
        "whose decision changes from OLD to NEW, with the deciding rule on both sides and an "
        "example request. No output and exit 0: no request at all is decided differently. "
        "Exit 1 when they differ.",
    )
    di.add_argument("old", metavar="OLD", help="the site before, any supported format")
    di.add_argument("new", metavar="NEW", help="the site after, any supported format")
    di.add_argument("--old-format", choices=sorted(FORMATS), help="OLD's format (default: sniffed)")
    di.add_argument("--new-format", choices=sorted(FORMATS), help="NEW's format (default: sniffed)")
    di.add_argument("--service-tags", metavar="PATH", help="a ServiceTags_Public_*.json file")
    di.add_argument("--site", metavar="NAME", help="which site of templates that have several")
    add_iac_options(di.add_argument_group("Terraform and scripts (both files)"))
    di.add_argument(
        "--format", dest="output_format", choices=["text", "json"], default="text", help="output"
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
        old = load(args.old, format=args.old_format, **common)
        new = load(args.new, format=args.new_format, **common)
        result = diff(old, new, compare="rule" if args.by_rule else "action", limit=args.max_states)
        text = diff_json(result) if args.output_format == "json" else diff_text(result)
        sys.stdout.write(text)
        return 0 if result.identical else 1

    di.set_defaults(handler=run_diff)

    # -- search
    se = commands.add_parser(
        "search",
        help="find a request with a given outcome, or prove none exists",
        description="Finds a concrete request that the site decides as asked (exit 0), or "
        "proves that none exists (exit 1). Requests through a private endpoint are always "
        "allowed and are not searched.",
        **kwargs,
    )
    add_rules_options(se)
    _rules_format_option(se)
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
        site = loaded(args)
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

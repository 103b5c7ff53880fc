"""``acl tags list|show|lookup|diff``: the service tags of a ServiceTags_Public file, and
what an update of that file changes (:mod:`acl.analysis.tags`).

Handlers return the exit code and raise :class:`~acl.AclError` subclasses for errors (the
``acl`` command prints those on one line and exits 2).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from ..formats import FORMATS
from ..servicetags import ServiceTags, load_service_tags
from .common import Commands, Parser, add_iac_options, iac_load_options

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``tags`` and its subcommands."""
    ta = commands.add_parser(
        "tags",
        help="list service tags, show a tag's prefixes, find tags of an address, diff snapshots",
        description="list, show and lookup read one snapshot (--service-tags, else "
        "$ACL_SERVICE_TAGS, else the bundled one); diff compares two.",
    )
    actions = ta.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    li = actions.add_parser("list", help="the tags (whose name contains FILTER)")
    li.add_argument("name", nargs="?", metavar="FILTER", help="a part of the tag names to list")
    sh = actions.add_parser("show", help="a tag's prefixes")
    sh.add_argument("name", metavar="TAG", help="a tag name")
    sh.add_argument("--family", choices=["ipv4", "ipv6"], help="one address family only")
    lo = actions.add_parser("lookup", help="the tags whose prefixes hold an address")
    lo.add_argument("name", metavar="ADDRESS", help="an IPv4 or IPv6 address")
    for parser in (li, sh, lo):
        parser.add_argument(
            "--service-tags", metavar="PATH", help="a ServiceTags_Public_*.json file"
        )
        parser.set_defaults(handler=_cmd_tags)
    _register_diff(actions)


def _register_diff(actions: argparse._SubParsersAction[Parser]) -> None:
    from ..analysis.tags import BUNDLED_WORD

    td = actions.add_parser(
        "diff",
        help="what an update of the service tags changes, per tag and per site",
        description="Per tag, the addresses added and removed from snapshot OLD to NEW, as "
        "the fewest CIDRs. With --rules, each rules file is loaded with either snapshot and "
        "the two are compared exactly (as acl diff does): the ranges whose decision changes, "
        "with the deciding rule on both sides and an example request. Exit 1 when some site "
        "decides some request differently, 0 otherwise, 2 on errors. OLD or NEW may be the "
        f"word {BUNDLED_WORD!r}: the snapshot shipped with acl.",
    )
    td.add_argument("old", metavar="OLD", help="the older ServiceTags_Public_*.json (or 'bundled')")
    td.add_argument("new", metavar="NEW", help="the newer ServiceTags_Public_*.json (or 'bundled')")
    td.add_argument(
        "--rules",
        nargs="+",
        default=[],
        metavar="SITE",
        help="rules files (any supported format) to load with either snapshot and compare",
    )
    td.add_argument(
        "--rules-format", choices=sorted(FORMATS), help="the rules files' format (default: sniffed)"
    )
    td.add_argument("--site", metavar="NAME", help="which site of templates that have several")
    td.add_argument(
        "--by-rule",
        action="store_true",
        help="also report requests decided alike but by another rule or for another reason",
    )
    td.add_argument(
        "--format",
        dest="output_format",
        choices=["text", "json"],
        default="text",
        help="output (default text)",
    )
    add_iac_options(td.add_argument_group("Terraform and scripts"))
    td.set_defaults(handler=_cmd_tags_diff)


def _cmd_tags_diff(args: argparse.Namespace) -> int:
    from ..analysis.diff import Compare
    from ..analysis.tags import snapshot, tags_diff, tags_diff_json, tags_diff_text

    compare: Compare = "rule" if args.by_rule else "action"
    result = tags_diff(
        snapshot(args.old),
        snapshot(args.new),
        args.rules,
        compare=compare,
        format=args.rules_format,
        site=args.site,
        **iac_load_options(args),
    )
    render = tags_diff_json if args.output_format == "json" else tags_diff_text
    sys.stdout.write(render(result))
    return 1 if result.changed else 0


def _tags(args: argparse.Namespace) -> ServiceTags:
    return load_service_tags(args.service_tags)


def _cmd_tags(args: argparse.Namespace) -> int:
    tags = _tags(args)
    if args.action == "list":
        needle = (args.name or "").lower()
        print(f"# {tags.label}")
        for tag in tags:
            if needle in tag.name.lower():
                print(f"{tag.name}\t{len(tag.prefix_texts)} prefixes\t{tag.region or '-'}")
        return 0
    if args.action == "show":
        entry = tags.get(args.name)
        if entry is None:
            raise UsageError(f"service tag {args.name!r} is unknown in {tags.label}")
        prefixes = tags.prefixes(entry.name)
        if args.family:
            prefixes = tuple(p for p in prefixes if p.version == int(args.family[-1]))
        for prefix in prefixes:
            print(prefix)
        return 0
    found = tags.containing(args.name)
    if not found:
        print(f"{args.name}: in no service tag of {tags.label}")
        return 1
    for tag, prefix in found:
        print(f"{tag.name}\t{prefix}")
    return 0

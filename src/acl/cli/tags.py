"""``acl tags list|show|lookup``: the service tags of a ServiceTags_Public file."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..servicetags import ServiceTags, load_service_tags
from .common import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``tags``."""
    ta = commands.add_parser(
        "tags", help="list service tags, show a tag's prefixes, find tags of an address"
    )
    ta.add_argument("action", choices=["list", "show", "lookup"])
    ta.add_argument(
        "name", nargs="?", help="a filter (list), a tag name (show) or an address (lookup)"
    )
    ta.add_argument("--family", choices=["ipv4", "ipv6"], help="show: one address family only")
    ta.add_argument("--service-tags", metavar="PATH", help="a ServiceTags_Public_*.json file")
    ta.set_defaults(handler=_cmd_tags)


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
    if args.name is None:
        raise UsageError(
            f"acl tags {args.action}: give a {'tag name' if args.action == 'show' else 'address'}"
        )
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

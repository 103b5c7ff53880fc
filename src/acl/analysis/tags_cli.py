"""The ``acl tags diff OLD NEW [--rules SITE...]`` command: what a service tag update changes.

:func:`register` adds the ``tags`` command group to the ``acl`` command's subparsers. The
handler returns the exit code (1 when a site's decisions change, 0 otherwise) and raises
:class:`~acl.AclError` subclasses for errors, which the ``acl`` command prints on one line
(exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from ..errors import AclError
from ..formats import FORMATS
from ..formats.convert_cli import add_iac_options, iac_load_options
from ..servicetags import ServiceTags, load_service_tags
from .diff import Compare
from .output import diff_text
from .tags import TagsDiff, tags_diff

__all__ = ["TAGS_DIFF_FORMAT", "register", "snapshot", "tags_diff_json", "tags_diff_text"]

TAGS_DIFF_FORMAT = "acl-tags-diff/1"
BUNDLED_WORD = "bundled"


def snapshot(path: str) -> ServiceTags:
    """A snapshot named on the command line: a file, or ``bundled`` for the one shipped."""
    return ServiceTags.bundled() if path == BUNDLED_WORD else load_service_tags(path)


def tags_diff_text(result: TagsDiff) -> str:
    """The tag changes, then one block per site (its decision changes, as ``acl diff``)."""
    lines = [f"service tags: {result.old.label} -> {result.new.label}"]
    for change in result.tags:
        lines.append(str(change))
        lines.extend(f"  + {cidr}" for cidr in change.added_cidrs)
        lines.extend(f"  - {cidr}" for cidr in change.removed_cidrs)
    count = len(result.tags)
    lines.append(
        f"{count} tag{'s' if count != 1 else ''} changed"
        if count
        else "no tag changed its addresses"
    )
    for site in result.sites:
        name = f" (site {site.site})" if site.site else ""
        if not site.changed:
            lines.append(f"{site.source}{name}: no decision changes")
            continue
        lines.append(f"{site.source}{name}: decisions change")
        lines.extend("  " + line for line in diff_text(site.diff).splitlines())
    return "\n".join(lines) + "\n"


def tags_diff_json(result: TagsDiff) -> str:
    """An ``acl-tags-diff/1`` document."""
    document = {"format": TAGS_DIFF_FORMAT, **result.to_dict()}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


DIFF_ONLY = ("rules", "rules_format", "site", "by_rule", "output_format")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``diff`` to the ``acl tags`` command (created when there is none yet).

    ``acl tags`` takes an action word and its operands (``list [FILTER]``, ``show NAME``,
    ``lookup ADDRESS``); this adds ``diff OLD NEW`` and its options, and hands the other
    actions to the handler that was there.
    """
    tags = commands.choices.get("tags")
    previous: Callable[[argparse.Namespace], int] | None = None
    if tags is None:
        tags = commands.add_parser("tags", help="service tag snapshots: what an update changes")
        tags.add_argument("action", choices=["diff"])
        tags.add_argument("name", nargs="*", metavar="OPERAND")
    else:
        previous = tags.get_default("handler")
        for action in tags._actions:
            if action.dest == "action" and action.choices is not None:
                action.choices = [*action.choices, "diff"]
            elif action.dest == "name":
                action.nargs = "*"
                action.metavar = "OPERAND"
                action.help = f"{action.help}; diff: OLD NEW"
    tags.usage = (
        "acl tags {list,show,lookup} [OPERAND] [options]\n"
        "       acl tags diff [options] OLD NEW [--rules SITE...]"
    )
    tags.description = (
        "list, show and lookup read one snapshot (--service-tags, else $ACL_SERVICE_TAGS, "
        "else the bundled one); diff compares two. diff: per tag, the addresses added and removed from snapshot OLD to NEW, as the "
        "fewest CIDRs. With --rules, each rules file is loaded with either snapshot and the "
        "two are compared exactly (as acl diff does): the ranges whose decision changes, with "
        "the deciding rule on both sides and an example request. Exit 1 when some site "
        "decides some request differently, 0 otherwise, 2 on errors. OLD or NEW may be the "
        f"word {BUNDLED_WORD!r}: the snapshot shipped with acl."
    )
    td = tags.add_argument_group("acl tags diff")
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
        "--format", dest="output_format", choices=["text", "json"], help="output (default text)"
    )
    add_iac_options(tags.add_argument_group("acl tags diff: Terraform and scripts"))

    def run(args: argparse.Namespace) -> int:
        operands = list(args.name or [])
        if args.action != "diff":
            given = [d for d in DIFF_ONLY if getattr(args, d) not in (None, False, [])]
            if given:
                option = "--" + given[0].replace("_", "-").replace("output-format", "format")
                raise AclError(f"acl tags {args.action}: {option} is an option of acl tags diff")
            if len(operands) > 1 or previous is None:
                raise AclError(
                    f"acl tags {args.action}: expected at most one operand, got {operands!r}"
                )
            return previous(
                argparse.Namespace(**{**vars(args), "name": operands[0] if operands else None})
            )
        if len(operands) != 2:
            raise AclError(
                f"acl tags diff: give OLD and NEW (two service tag files, or {BUNDLED_WORD!r}); "
                f"got {len(operands)} operand(s)"
            )
        if args.service_tags is not None:
            raise AclError("acl tags diff: the snapshots are OLD and NEW, not --service-tags")
        compare: Compare = "rule" if args.by_rule else "action"
        result = tags_diff(
            snapshot(operands[0]),
            snapshot(operands[1]),
            args.rules,
            compare=compare,
            format=args.rules_format,
            site=args.site,
            **iac_load_options(args),
        )
        render = tags_diff_json if args.output_format == "json" else tags_diff_text
        sys.stdout.write(render(result))
        return 1 if result.changed else 0

    tags.set_defaults(handler=run)

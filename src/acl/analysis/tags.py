"""What a service tag update changes: per tag, and per site, exactly.

Microsoft publishes ``ServiceTags_Public_*.json`` every week, and ranges move in and out of
tags such as ``AzureFrontDoor.Backend``. :func:`tag_changes` compares two snapshots tag by
tag: the addresses added to and removed from each tag, merged into the fewest CIDRs (a
prefix split in two, or two merged into one, is no change). :func:`tags_diff` also loads
each given site once with either snapshot and compares the two with :func:`acl.analysis.diff`:
the ranges, per collection and header condition, whose decision changes, with the deciding
rule on both sides and a checked example request.

>>> from acl.servicetags import load_service_tags
>>> old = load_service_tags("tests/data/servicetags/ServiceTags_Public_375.small.json")
>>> new = load_service_tags("tests/data/servicetags/ServiceTags_Public_376.small.json")
>>> [(c.name, c.status, len(c.added_cidrs), len(c.removed_cidrs)) for c in tag_changes(old, new)]
[('AzureFrontDoor.Backend', 'changed', 1, 3), ('AzureFrontDoor.MicrosoftSecurity', 'removed', 0, 7)]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..formats import load
from ..model import Site
from ..servicetags import ServiceTags, load_service_tags
from .diff import Compare, Diff, cidr_texts, diff
from .output import diff_text
from .ranges import merge_ranges

__all__ = [
    "BUNDLED_WORD",
    "SiteChange",
    "TAGS_DIFF_FORMAT",
    "TagChange",
    "TagStatus",
    "TagsDiff",
    "snapshot",
    "subtract_ranges",
    "tag_changes",
    "tag_ranges",
    "tags_diff",
    "tags_diff_json",
    "tags_diff_text",
]

TagStatus = Literal["added", "removed", "changed"]

Ranges = tuple[tuple[int, int, int], ...]


def tag_ranges(tags: ServiceTags, name: str) -> Ranges:
    """The addresses of a tag as sorted, disjoint ``(version, first, last)`` ranges
    (IPv4 first); nothing when the snapshot has no such tag."""
    if tags.get(name) is None:
        return ()
    out: list[tuple[int, int, int]] = []
    prefixes = tags.prefixes(name)
    for version in (4, 6):
        merged = merge_ranges((p.first, p.last) for p in prefixes if p.version == version)
        out.extend((version, first, last) for first, last in merged)
    return tuple(out)


def subtract_ranges(a: Iterable[tuple[int, int, int]], b: Iterable[tuple[int, int, int]]) -> Ranges:
    """The addresses of ``a`` that are not in ``b`` (both sorted and disjoint), as sorted,
    disjoint ranges.

    >>> subtract_ranges([(4, 0, 255)], [(4, 16, 31), (6, 0, 9)])
    ((4, 0, 15), (4, 32, 255))
    """
    cuts = sorted(b)
    out: list[tuple[int, int, int]] = []
    for version, first, last in a:
        cursor = first
        for v, lo, hi in cuts:
            if v != version or hi < cursor or lo > last:
                continue
            if lo > cursor:
                out.append((version, cursor, lo - 1))
            cursor = max(cursor, hi + 1)
            if cursor > last:
                break
        if cursor <= last:
            out.append((version, cursor, last))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TagChange:
    """How one tag changed between two snapshots: ``added`` (only in the new one),
    ``removed`` (only in the old one) or ``changed``, with the addresses it gained and
    lost as sorted ``(version, first, last)`` ranges, and its entry's change numbers."""

    name: str
    status: TagStatus
    old_change_number: int | None
    new_change_number: int | None
    added: Ranges
    removed: Ranges

    @property
    def added_cidrs(self) -> tuple[str, ...]:
        """The addresses added, as the fewest CIDRs (IPv4 first)."""
        return cidr_texts(self.added)

    @property
    def removed_cidrs(self) -> tuple[str, ...]:
        """The addresses removed, as the fewest CIDRs (IPv4 first)."""
        return cidr_texts(self.removed)

    def __str__(self) -> str:
        numbers = f"changeNumber {self.old_change_number} -> {self.new_change_number}"
        if self.status == "added":
            numbers = f"new tag, changeNumber {self.new_change_number}"
        elif self.status == "removed":
            numbers = f"tag removed, was changeNumber {self.old_change_number}"
        return f"{self.name} ({numbers})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "old_change_number": self.old_change_number,
            "new_change_number": self.new_change_number,
            "added": list(self.added_cidrs),
            "removed": list(self.removed_cidrs),
        }


def tag_changes(old: ServiceTags, new: ServiceTags) -> tuple[TagChange, ...]:
    """The tags whose addresses differ between two snapshots, by name (case-insensitive,
    sorted). A tag whose entry changed but covers the same addresses is not listed."""
    out: list[TagChange] = []
    for key in sorted(set(old.tags) | set(new.tags)):
        before, after = old.tags.get(key), new.tags.get(key)
        if before is not None and after is not None and before.prefix_texts == after.prefix_texts:
            continue  # the same prefixes, so the same addresses: nothing to parse
        a = tag_ranges(old, key)
        b = tag_ranges(new, key)
        added, removed = subtract_ranges(b, a), subtract_ranges(a, b)
        status: TagStatus = "changed"
        if before is None:
            status = "added"
        elif after is None:
            status = "removed"
        elif not added and not removed:
            continue
        shown = after if after is not None else before
        assert shown is not None
        out.append(
            TagChange(
                shown.name,
                status,
                before.change_number if before is not None else None,
                after.change_number if after is not None else None,
                added,
                removed,
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class SiteChange:
    """One site's rules under the old and the new snapshot: ``diff`` is the exact
    difference of its decisions (:func:`acl.analysis.diff` of the two loads)."""

    source: str
    site: str | None
    diff: Diff

    @property
    def changed(self) -> bool:
        return not self.diff.identical

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "site": self.site,
            "changed": self.changed,
            **self.diff.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class TagsDiff:
    """What an update from ``old`` to ``new`` changes: the tags, and the sites' decisions."""

    old: ServiceTags
    new: ServiceTags
    tags: tuple[TagChange, ...]
    sites: tuple[SiteChange, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether some site decides some request differently."""
        return any(s.changed for s in self.sites)

    def to_dict(self) -> dict[str, Any]:
        def snapshot(tags: ServiceTags) -> dict[str, Any]:
            return {"source": tags.source, "change_number": tags.change_number, "cloud": tags.cloud}

        return {
            "old": snapshot(self.old),
            "new": snapshot(self.new),
            "changed": self.changed,
            "tags": [t.to_dict() for t in self.tags],
            "sites": [s.to_dict() for s in self.sites],
        }


def site_change(
    old_site: Site, new_site: Site, source: str, *, compare: Compare = "action"
) -> SiteChange:
    """The :class:`SiteChange` of one site loaded under either snapshot."""
    return SiteChange(source, new_site.name, diff(old_site, new_site, compare=compare))


def tags_diff(
    old: ServiceTags,
    new: ServiceTags,
    rules: Sequence[str] = (),
    *,
    compare: Compare = "action",
    **load_options: Any,
) -> TagsDiff:
    """The changes from one service tag snapshot to the next, and for each rules file in
    ``rules`` the exact difference of its decisions.

    Args:
        old: the snapshot before (e.g. :meth:`ServiceTags.bundled`).
        new: the snapshot after.
        rules: rules files (any format :func:`acl.load` reads), each loaded with either
            snapshot.
        compare: as in :func:`acl.analysis.diff`: ``"rule"`` also reports requests decided
            alike by another rule.
        load_options: further :func:`acl.load` options (``format``, ``site``, ...).

    A rules file that names a tag the new snapshot no longer has cannot be loaded: the
    :class:`~acl.ConfigError` says which tag.
    """
    sites: list[SiteChange] = []
    for path in rules:
        before = load(path, service_tags=old, **load_options)
        after = load(path, service_tags=new, **load_options)
        sites.append(site_change(before, after, after.source or path, compare=compare))
    return TagsDiff(old, new, tag_changes(old, new), tuple(sites))


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

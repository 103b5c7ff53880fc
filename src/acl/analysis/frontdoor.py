"""The Front Door checks: an Allow rule for ``AzureFrontDoor.Backend`` without the
profile's ``X-Azure-FDID`` (ACL010), profile ids Front Door never sends (ACL011, ACL012),
and a site whose Front Door rules let its traffic in while its health probes are denied
(ACL036)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..headers import XAZUREFDID, XFDHEALTHPROBE
from ..model import Action, Rule
from .findings import Findings
from .reach import header_state, reach, reach_witness
from .space import CollectionModel, Space

__all__ = [
    "FRONT_DOOR_TAG",
    "GUID",
    "PROBE_HEADER",
    "front_door_rule",
    "front_door_ranges",
    "front_door_rules",
    "health_probes",
    "probe_headers",
    "profile_ids",
]

FRONT_DOOR_TAG = "azurefrontdoor.backend"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def front_door_rule(report: Findings, rule: Rule) -> None:
    """ACL010-ACL012: an Allow rule for Front Door without its profile id, and profile ids
    Front Door never sends."""
    c = rule.collection
    if rule.action is Action.ALLOW and not any(h.name == XAZUREFDID for h in rule.headers):
        tags = [s.text for s in rule.sources if s.kind == "service_tag"]
        if any(t.lower() == FRONT_DOOR_TAG for t in tags):
            report.add(
                "ACL010",
                f"rule {rule.label} allows AzureFrontDoor.Backend without an X-Azure-FDID "
                "filter: every Front Door profile, of any Azure customer, can reach the app",
                collection=c,
                rules=[rule],
            )
    for flt in rule.headers:
        if flt.name == XAZUREFDID:
            for value in flt.values:
                if not GUID.match(value):
                    report.add(
                        "ACL012",
                        f"rule {rule.label}: X-Azure-FDID value {value!r} is not a GUID",
                        collection=c,
                        rules=[rule],
                    )
                elif value != value.lower():
                    report.add(
                        "ACL011",
                        f"rule {rule.label}: X-Azure-FDID value {value!r} has upper-case "
                        f"letters; Front Door sends {value.lower()!r}, which does not match",
                        collection=c,
                        rules=[rule],
                    )


PROBE_HEADER = (XFDHEALTHPROBE, "1")
"""The header Front Door's health probes carry."""


def front_door_rules(rules: Sequence[Rule]) -> list[Rule]:
    """The Allow rules of a collection for ``AzureFrontDoor.Backend``."""
    return [
        rule
        for rule in rules
        if rule.action is Action.ALLOW
        and any(s.kind == "service_tag" and s.text.lower() == FRONT_DOOR_TAG for s in rule.sources)
    ]


def profile_ids(rules: Sequence[Rule]) -> list[str | None]:
    """The Front Door profile ids (lower case, as Front Door sends them) that rules name, in
    order; ``[None]`` when they name none (a request without ``X-Azure-FDID``)."""
    ids: dict[str, None] = {}
    for rule in rules:
        for flt in rule.headers:
            if flt.name == XAZUREFDID:
                for value in flt.values:
                    ids.setdefault(value.strip().lower(), None)
    return list(ids) or [None]


def probe_headers(profile: str | None) -> list[tuple[str, str]]:
    """The headers of a health probe of a profile (access restrictions read only these)."""
    headers = [PROBE_HEADER]
    if profile is not None:
        headers.append((XAZUREFDID, profile))
    return headers


def front_door_ranges(rules: Sequence[Rule]) -> dict[int, list[tuple[int, int]]]:
    """The ``AzureFrontDoor.Backend`` ranges (per family) of these rules' tag sources."""
    ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for rule in rules:
        for source in rule.sources:
            if source.kind == "service_tag" and source.text.lower() == FRONT_DOOR_TAG:
                for prefix in source.prefixes:
                    ranges[prefix.version].append((prefix.first, prefix.last))
    return ranges


def health_probes(report: Findings, space: Space, model: CollectionModel) -> None:
    """ACL036: the collection has a Front Door rule, and some health probe of a profile it
    names (from the Front Door rule's ``AzureFrontDoor.Backend`` ranges, with
    ``X-FD-HealthProbe: 1`` and the profile's ``X-Azure-FDID``) is denied."""
    if model.disabled:
        return
    rules = front_door_rules(model.rules)
    if not rules:
        return
    ranges = front_door_ranges(rules)
    for profile in profile_ids(rules):
        state = header_state(space, probe_headers(profile))
        pieces = reach(model, ranges, state)
        denied = [p for p in pieces if model.action(p.code) is Action.DENY]
        if not denied:
            continue
        example = reach_witness(space, model, denied[0], state)
        by = example.decision.rule
        why = (
            f"rule {by.label} denies it"
            if by is not None
            else f"the unmatched-rule action ({model.default.value}) decides it"
        )
        whose = f"profile {profile}" if profile is not None else "Front Door"
        share = sum(p.last - p.first + 1 for p in denied)
        total = sum(p.last - p.first + 1 for p in pieces)
        part = "every" if share == total else "some"
        report.add(
            "ACL036",
            f"rule {rules[0].label} lets Front Door in, but {part} health probe of {whose} "
            f"is denied (e.g. {example.request.address} with X-FD-HealthProbe: 1: {why})",
            collection=model.collection,
            rules=rules[:1],
            related=[by] if by is not None else [],
            example=example.request,
        )

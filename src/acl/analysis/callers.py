"""Which Azure platform callers a site's rules let in: Front Door and its health probes,
availability tests, action group webhooks, Traffic Manager probes, hosted build agents,
Logic Apps, API Management and Event Grid (:data:`CALLERS`; ``docs/callers.md`` cites
where each comes from).

A caller is the requests it makes: every address of its service tags (from the service
tag data the site was loaded with), with fixed headers, not through a service endpoint.
For each caller and collection the answer is exact: the tag ranges are cut at every rule
boundary and each piece is decided (:mod:`acl.analysis.reach`), so ``admitted`` is
``all``, ``some`` or ``none`` of the caller's addresses, with the deciding rules and a
request of each outcome checked with the reference evaluator.

>>> import acl
>>> from acl.analysis.callers import callers
>>> site = acl.load("examples/frontdoor-site/site.json")
>>> result = callers(site, only=["front-door"])
>>> [(a.collection, a.admitted) for a in result.answers]
[('main', 'all'), ('scm', 'none')]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import AclError
from ..headers import XAZUREFDID, XFDHEALTHPROBE
from ..model import COLLECTIONS, Action, Collection, Request, Site
from ..servicetags import ServiceTags, load_service_tags
from .audit import Admitted, admitted
from .findings import RuleRef
from .frontdoor import front_door_rules, profile_ids
from .reach import Reach, header_state, reach, reach_witness
from .space import Space

__all__ = [
    "CALLERS",
    "CALLERS_FORMAT",
    "Caller",
    "CallerAnswer",
    "Callers",
    "Decider",
    "callers",
    "callers_text",
]

CALLERS_FORMAT = "acl-callers/1"


@dataclass(frozen=True, slots=True)
class Caller:
    """An Azure caller: the service tags its requests come from (``{region}`` is filled in),
    the headers they carry, whether they carry the Front Door profile id, what breaks when
    it is blocked, and the page that says so."""

    key: str
    name: str
    tags: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    breaks: str
    source: str
    front_door: bool = False

    def tag_names(self, region: str) -> tuple[str, ...]:
        return tuple(tag.replace("{region}", region) for tag in self.tags)


_LIST = (
    Caller(
        "front-door",
        "Front Door (requests it forwards)",
        ("AzureFrontDoor.Backend",),
        (),
        "the site behind Front Door: every request through the profile",
        "https://learn.microsoft.com/en-us/azure/frontdoor/front-door-http-headers-protocol",
        front_door=True,
    ),
    Caller(
        "front-door-probes",
        "Front Door health probes",
        ("AzureFrontDoor.Backend",),
        ((XFDHEALTHPROBE, "1"),),
        "Front Door marks the origin unhealthy and stops routing to it",
        "https://learn.microsoft.com/en-us/azure/frontdoor/health-probes",
        front_door=True,
    ),
    Caller(
        "availability-tests",
        "Application Insights availability tests",
        ("ApplicationInsightsAvailability",),
        (),
        "availability tests fail and their alerts fire",
        "https://learn.microsoft.com/en-us/azure/azure-monitor/app/availability-private-test",
    ),
    Caller(
        "action-groups",
        "Azure Monitor action group webhooks",
        ("ActionGroup",),
        (),
        "alert webhooks to the site are refused: the alert is never acted on",
        "https://learn.microsoft.com/en-us/azure/azure-monitor/alerts/action-groups",
    ),
    Caller(
        "traffic-manager",
        "Traffic Manager endpoint monitoring",
        ("AzureTrafficManager",),
        (),
        "Traffic Manager marks the endpoint degraded and fails traffic over",
        "https://learn.microsoft.com/en-us/azure/traffic-manager/traffic-manager-monitoring",
    ),
    Caller(
        "hosted-agents",
        "Microsoft-hosted build agents (Azure Pipelines)",
        ("AzureCloud.{region}",),
        (),
        "deployments and tests from pipelines (zip deploy to scm, smoke tests) fail",
        "https://learn.microsoft.com/en-us/azure/devops/pipelines/agents/hosted",
    ),
    Caller(
        "logic-apps",
        "Logic Apps (HTTP actions and webhooks)",
        ("LogicApps",),
        (),
        "workflows that call the site fail",
        "https://learn.microsoft.com/en-us/azure/logic-apps/logic-apps-limits-and-config",
    ),
    Caller(
        "api-management",
        "API Management (the ApiManagement tag)",
        ("ApiManagement",),
        (),
        "APIs whose backend is the site fail (see docs/callers.md: the tag is the "
        "management plane; v2 tiers call backends from other addresses)",
        "https://azure.github.io/AppService/2021/03/29/General-Availability-of-new-access-restriction-features.html",
    ),
    Caller(
        "event-grid",
        "Event Grid webhook delivery",
        ("AzureEventGrid",),
        (),
        "event subscriptions to the site fail validation and delivery",
        "https://learn.microsoft.com/en-us/azure/event-grid/network-security",
    ),
)

CALLERS: dict[str, Caller] = {caller.key: caller for caller in _LIST}
"""Every caller of the catalogue by key, in catalogue order."""


@dataclass(frozen=True, slots=True)
class Decider:
    """What decides some of a caller's addresses: a rule (None: the unmatched-rule action
    or the site state, ``reason``), its ``decision``, and how many addresses per family."""

    rule: RuleRef | None
    reason: str
    decision: str
    ipv4_addresses: int
    ipv6_addresses: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.to_dict() if self.rule is not None else None,
            "reason": self.reason,
            "decision": self.decision,
            "ipv4_addresses": self.ipv4_addresses,
            "ipv6_addresses": self.ipv6_addresses,
        }


@dataclass(frozen=True, slots=True)
class CallerAnswer:
    """How a collection decides a caller (for Front Door, the requests of one ``profile``):
    ``admitted`` all, some or none of its addresses, the deciding rules, and an allowed
    and a denied example request (None when there is no such request)."""

    caller: str
    collection: Collection
    profile: str | None
    headers: tuple[tuple[str, str], ...]
    admitted: Admitted
    deciders: tuple[Decider, ...]
    allowed_example: Request | None
    denied_example: Request | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "caller": self.caller,
            "collection": self.collection,
            "profile": self.profile,
            "headers": [list(h) for h in self.headers],
            "admitted": self.admitted,
            "deciding_rules": [d.to_dict() for d in self.deciders],
            "examples": {
                "allowed": self.allowed_example.to_dict() if self.allowed_example else None,
                "denied": self.denied_example.to_dict() if self.denied_example else None,
            },
        }


@dataclass(frozen=True)
class Callers:
    """The callers answer of one site."""

    site: Site
    service_tags: str
    region: str
    callers: tuple[Caller, ...]
    answers: tuple[CallerAnswer, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CALLERS_FORMAT,
            "source": self.site.source,
            "site": self.site.name,
            "service_tags": self.service_tags,
            "region": self.region,
            "callers": [
                {
                    "caller": c.key,
                    "name": c.name,
                    "tags": list(c.tag_names(self.region)),
                    "breaks": c.breaks,
                    "documentation": c.source,
                    "answers": [a.to_dict() for a in self.answers if a.caller == c.key],
                }
                for c in self.callers
            ],
        }


def _ranges(tags: ServiceTags, names: Sequence[str]) -> dict[int, list[tuple[int, int]]]:
    ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for name in names:
        if tags.get(name) is None:
            raise AclError(
                f"service tag {name!r} is not in {tags.label}: give --service-tags with a "
                "file that has it, or another --region"
            )
        for prefix in tags.prefixes(name):
            ranges[prefix.version].append((prefix.first, prefix.last))
    return ranges


def _size(piece: Reach) -> int:
    return piece.last - piece.first + 1


def callers(
    site: Site,
    *,
    only: Sequence[str] = (),
    region: str = "westeurope",
    service_tags: ServiceTags | str | os.PathLike[str] | None = None,
) -> Callers:
    """Which callers of :data:`CALLERS` (or ``only`` those keys) ``site`` lets in, per
    collection. Front Door callers are asked once per profile id the site's Front Door
    rules name (without ``X-Azure-FDID`` when they name none).

    Raises:
        AclError: an unknown caller key, or a tag the service tag data does not have.
    """
    unknown = [key for key in only if key not in CALLERS]
    if unknown:
        raise AclError(f"caller {unknown[0]!r} is unknown: expected one of {', '.join(CALLERS)}")
    tags = (
        service_tags if isinstance(service_tags, ServiceTags) else load_service_tags(service_tags)
    )
    chosen = tuple(CALLERS[key] for key in only) if only else _LIST
    space = Space([site])
    answers: list[CallerAnswer] = []
    for caller in chosen:
        ranges = _ranges(tags, caller.tag_names(region))
        for collection in COLLECTIONS:
            model = space.model(site, collection)
            profiles: list[str | None] = [None]
            if caller.front_door:
                profiles = profile_ids(front_door_rules(model.rules))
            for profile in profiles:
                headers = list(caller.headers)
                if profile is not None:
                    headers.append((XAZUREFDID, profile))
                state = header_state(space, headers)
                pieces = reach(model, ranges, state)
                counts: dict[int, dict[int, int]] = {}
                for piece in pieces:
                    per = counts.setdefault(piece.code, {4: 0, 6: 0})
                    per[piece.version] += _size(piece)
                deciders = tuple(
                    Decider(
                        RuleRef.of(model.rules[code], site) if code >= 0 else None,
                        model.reason(code),
                        model.action(code).word,
                        count[4],
                        count[6],
                    )
                    for code, count in sorted(
                        counts.items(), key=lambda item: (-item[1][4], -item[1][6])
                    )
                )
                examples: dict[bool, Request | None] = {True: None, False: None}
                for piece in pieces:
                    allowed = model.action(piece.code) is Action.ALLOW
                    if examples[allowed] is None:
                        examples[allowed] = reach_witness(space, model, piece, state).request
                answers.append(
                    CallerAnswer(
                        caller.key,
                        collection,
                        profile,
                        tuple(headers),
                        admitted(model, pieces),
                        deciders,
                        examples[True],
                        examples[False],
                    )
                )
    return Callers(site, tags.label, region, chosen, tuple(answers))


def callers_text(result: Callers) -> str:
    """One line per caller and collection, then its deciding rules."""
    lines: list[str] = []
    for caller in result.callers:
        lines.append(f"{caller.name} ({', '.join(caller.tag_names(result.region))})")
        for answer in (a for a in result.answers if a.caller == caller.key):
            whose = f" profile {answer.profile}" if answer.profile else ""
            lines.append(f"  {answer.collection}{whose}: {answer.admitted} admitted")
            for d in answer.deciders:
                by = f"rule {d.rule.label}" if d.rule is not None else d.reason
                sizes = [f"{d.ipv4_addresses:,} IPv4"] if d.ipv4_addresses else []
                if d.ipv6_addresses:
                    sizes.append(f"2^{d.ipv6_addresses.bit_length() - 1}+ IPv6")
                lines.append(f"    {d.decision} {' and '.join(sizes)} address(es): {by}")
            for word, example in (
                ("allowed", answer.allowed_example),
                ("denied", answer.denied_example),
            ):
                if example is not None and answer.admitted == "some":
                    lines.append(f"    e.g. {word}: {example.address}")
    return "\n".join(lines) + "\n"

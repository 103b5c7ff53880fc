"""Findings about a rule set, without traffic.

Each finding has a stable code (:data:`CHECKS`), a severity, the rules involved, a
one-sentence explanation and a fix hint. The findings about what rules decide (shadowed,
redundant, correlated, generalising, equal priorities, unmatchable) are exact over the
whole address, header and endpoint space (see :mod:`acl.analysis.space`); the others read
the configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..addresses import MAPPED_V4, Prefix
from ..headers import XAZUREFDID, XFDHEALTHPROBE, XFORWARDEDFOR, XFORWARDEDHOST
from ..model import COLLECTIONS, Action, Collection, Request, Rule, Site
from .diff import diff
from .search import Found, find, nice_first, witness
from .space import (
    DEFAULT,
    EP_NEVER,
    EP_NONE,
    EP_SERVICE,
    STATE_LIMIT,
    AnalysisError,
    CollectionModel,
    Space,
    State,
    matches,
)

__all__ = [
    "CHECKS",
    "SEVERITIES",
    "Check",
    "Finding",
    "RuleRef",
    "Severity",
    "lint",
    "severity_at_least",
]

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")
"""Severities, least severe first."""

AZURE_MAX_RULES = 512
AZURE_MAX_SOURCES = 8
AZURE_MAX_HEADER_VALUES = 8
AZURE_MAX_HEADER_VALUE_LENGTH = 64
FRONT_DOOR_TAG = "azurefrontdoor.backend"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PRIVATE_RANGES = (
    Prefix(4, 0x0A000000, 8),
    Prefix(4, 0xAC100000, 12),
    Prefix(4, 0xC0A80000, 16),
    Prefix(6, 0xFC << 120, 7),
)


def severity_at_least(severity: Severity, level: Severity) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(level)


@dataclass(frozen=True, slots=True)
class Check:
    """One kind of finding: its stable code, a short name, the usual severity, what it
    means and how to fix it."""

    code: str
    name: str
    severity: Severity
    title: str
    hint: str
    limit: bool = False
    """An Azure limit: an error with ``strict_azure``."""


_CHECKS = (
    Check(
        "ACL001",
        "shadowed-rule",
        "warning",
        "A rule never decides any request: earlier rules match everything it matches.",
        "Remove the rule, or give it a lower priority number than the rules that cover it.",
    ),
    Check(
        "ACL002",
        "redundant-rule",
        "warning",
        "Removing the rule changes no decision: the rules after it (or the unmatched-rule "
        "action) decide the same.",
        "Remove the rule, unless it is there to document intent.",
    ),
    Check(
        "ACL003",
        "correlated-rules",
        "info",
        "Two rules with different actions overlap, neither contains the other, and the "
        "earlier one decides the overlap: their order matters.",
        "Check that the earlier rule should win where both match; narrow one of them if not.",
    ),
    Check(
        "ACL004",
        "generalisation",
        "info",
        "A general rule comes after a more specific rule with the other action.",
        "Usually intended (an exception before a general rule); check the order.",
    ),
    Check(
        "ACL005",
        "equal-priority-conflict",
        "warning",
        "Two rules with the same priority and different actions overlap: the outcome hangs "
        "on their order in the list.",
        "Give the rule that should win a lower priority number.",
    ),
    Check(
        "ACL006",
        "unmatchable-rule",
        "warning",
        "A rule can never match any request.",
        "Fix the rule's source or header values, or remove it.",
    ),
    Check(
        "ACL010",
        "front-door-without-fdid",
        "error",
        "An Allow rule for AzureFrontDoor.Backend has no X-Azure-FDID filter, so every Front "
        "Door profile of every Azure customer gets in.",
        "Add the header filter x-azure-fdid with your Front Door profile's id.",
    ),
    Check(
        "ACL011",
        "fdid-upper-case",
        "warning",
        "An X-Azure-FDID value has upper-case letters; Front Door sends its id in lower case "
        "and the header is compared case-sensitively, so it never matches.",
        "Write the Front Door id in lower case.",
    ),
    Check(
        "ACL012",
        "fdid-not-guid",
        "warning",
        "An X-Azure-FDID value is not a GUID, so it is not a Front Door profile id.",
        "Use the Front Door profile's id (az afd profile show --query frontDoorId).",
    ),
    Check(
        "ACL020",
        "implicit-deny-all",
        "warning",
        "The collection has only Deny rules and no unmatched-rule action, so the implicit "
        "Deny applies to every other request: everything is denied.",
        "Add Allow rules for the traffic you want, or set the unmatched-rule action to Allow "
        "if the Deny rules are a block list.",
    ),
    Check(
        "ACL021",
        "default-allow-with-rules",
        "warning",
        "Rules are present but the unmatched-rule action is Allow, so unmatched traffic is "
        "let in (Terraform azurerm 3.95+ sends Allow by default).",
        "Set the unmatched-rule action to Deny (ipSecurityRestrictionsDefaultAction, or "
        "ip_restriction_default_action in Terraform) if the Allow rules are an allow list.",
    ),
    Check(
        "ACL022",
        "family-left-open",
        "error",
        "A deny-all rule covers one address family only while the unmatched-rule action is "
        "Allow, so the other family is let in.",
        "Add the matching deny-all for the other family (0.0.0.0/0 or ::/0), or set the "
        "unmatched-rule action to Deny.",
    ),
    Check(
        "ACL023",
        "scm-open",
        "warning",
        "The scm (Kudu) site lets every request in while the main site is restricted.",
        "Add scm rules, or set scmIpSecurityRestrictionsUseMain to true.",
    ),
    Check(
        "ACL024",
        "main-open",
        "info",
        "The main site lets every request in while the scm site is restricted.",
        "Nothing to do if the app is meant to be public.",
    ),
    Check(
        "ACL025",
        "scm-rules-ignored",
        "info",
        "The scm rules are ignored: scmIpSecurityRestrictionsUseMain is true, so scm uses the "
        "main rules and the main unmatched-rule action.",
        "Remove the scm rules, or set scmIpSecurityRestrictionsUseMain to false.",
    ),
    Check(
        "ACL026",
        "public-access-disabled",
        "info",
        "Public access is disabled (publicNetworkAccess is Disabled, or absent on a site with "
        "a private endpoint): every request not through a private endpoint is denied and no "
        "rule is evaluated.",
        "Nothing to do if only private endpoints should reach the app.",
    ),
    Check(
        "ACL027",
        "subnet-rule-with-private-endpoint",
        "warning",
        "A subnet or AnyVnets rule on a site with a private endpoint never matches: such a "
        "site receives no traffic from subnets with a Microsoft.Web service endpoint.",
        "Remove the rule, or reach the app through its private endpoint instead.",
    ),
    Check(
        "ACL028",
        "service-endpoint-rule-on-ase",
        "warning",
        "A subnet or AnyVnets rule on an App Service Environment never matches: service "
        "endpoints cannot be used there, and IP rules see the virtual network's addresses.",
        "Write an IP rule for the subnet's address range instead.",
    ),
    Check(
        "ACL029",
        "service-endpoint-rule-with-ip-ssl",
        "warning",
        "A subnet or AnyVnets rule on a site with IP-based SSL never matches: such a site "
        "cannot use service-endpoint rules.",
        "Use SNI SSL bindings, or replace the rule with an IP rule for the traffic's public "
        "addresses.",
    ),
    Check(
        "ACL030",
        "host-bits",
        "warning",
        "A CIDR has host bits set; App Service matches the leading bits only, so it covers "
        "the whole network.",
        "Write the network address (as shown) so the rule says what it does.",
    ),
    Check(
        "ACL031",
        "private-range",
        "warning",
        "A rule's source is a private range (RFC 1918 or ULA) on a multi-tenant site: "
        "internet clients never have such addresses, and IP rules never match traffic that "
        "comes through a service endpoint, so the range matches nothing real (it does in an "
        "App Service Environment).",
        "Use a service endpoint (subnet) rule for VNet traffic, or the public addresses.",
    ),
    Check(
        "ACL032",
        "xff-allow",
        "warning",
        "An Allow rule filters on X-Forwarded-For, which the client controls: anyone can "
        "send a matching value unless a trusted proxy sets it.",
        "Filter on the proxy instead (its source addresses or service tag plus X-Azure-FDID).",
    ),
    Check(
        "ACL033",
        "ipv4-mapped-prefix",
        "warning",
        "An IPv6 prefix lies in ::ffff:0:0/96 (IPv4-mapped); requests from such addresses "
        "are read as IPv4, so it never matches.",
        "Write the IPv4 prefix instead.",
    ),
    Check(
        "ACL034",
        "ignored-deny-all",
        "warning",
        "A 'Deny all'/'Allow all' entry (ipAddress Any at the API's priority) in a document sent "
        "to Azure (a template, a PUT/PATCH body) has no effect: Azure ignores it, and it does "
        "not set the unmatched-rule action.",
        "Remove the entry and set ipSecurityRestrictionsDefaultAction (or "
        "scmIpSecurityRestrictionsDefaultAction) instead.",
    ),
    Check(
        "ACL035",
        "ipv6-unrestricted",
        "warning",
        "The collection's rules restrict IPv4 only and its unmatched-rule action is Allow, so "
        "every IPv6 client gets in: App Service accepts IPv6 whatever ipMode says (ipMode only "
        "changes DNS).",
        "Add rules for IPv6 (::/0 or your IPv6 ranges), or set the unmatched-rule action to Deny.",
    ),
    Check(
        "ACL040",
        "too-many-rules",
        "warning",
        f"The collection has more than {AZURE_MAX_RULES} rules, Azure's limit.",
        "Merge rules (adjacent CIDRs, service tags) to stay within the limit.",
        limit=True,
    ),
    Check(
        "ACL041",
        "too-many-sources",
        "warning",
        f"A rule has more than {AZURE_MAX_SOURCES} sources in ipAddress, Azure's limit.",
        "Split the rule, or merge its CIDRs.",
        limit=True,
    ),
    Check(
        "ACL042",
        "too-many-header-values",
        "warning",
        f"A header filter has more than {AZURE_MAX_HEADER_VALUES} values, Azure's limit.",
        "Split the rule into several rules with the same source.",
        limit=True,
    ),
    Check(
        "ACL043",
        "header-value-too-long",
        "warning",
        f"A header value is longer than {AZURE_MAX_HEADER_VALUE_LENGTH} characters, Azure's "
        "limit for X-Forwarded-Host, X-Azure-FDID and X-FD-HealthProbe.",
        "Shorten the value (a wildcard host can replace a long name).",
        limit=True,
    ),
    Check(
        "ACL099",
        "analysis-incomplete",
        "info",
        "Part of the analysis was skipped: too many header states to compare exactly.",
        "Split rules with many header values; the skipped part was not sampled.",
    ),
)

CHECKS: dict[str, Check] = {check.code: check for check in _CHECKS}
"""Every finding code, in order."""
_BY_NAME = {check.name: check for check in _CHECKS}
UNKNOWN = -99
"""A decision code for "too many states to tell"."""


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule as a finding names it: where it is and what it is."""

    collection: Collection
    position: int
    priority: int
    name: str | None
    action: str
    file: str | None = None
    path: str | None = None
    line: int | None = None

    @classmethod
    def of(cls, rule: Rule, site: Site) -> RuleRef:
        origin = rule.origin
        return cls(
            rule.collection,
            rule.position,
            rule.priority,
            rule.name,
            rule.action.word,
            (origin.file if origin is not None else None) or site.source,
            origin.path if origin is not None else None,
            origin.line if origin is not None else None,
        )

    @property
    def label(self) -> str:
        name = repr(self.name) if self.name is not None else "(unnamed)"
        return f"{name} (#{self.position}, priority {self.priority})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "position": self.position,
            "priority": self.priority,
            "name": self.name,
            "action": self.action,
            "file": self.file,
            "path": self.path,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: ``rules`` are the rules it is about, ``related`` the others it names
    (covering rules, the rule it conflicts with); ``example`` a request that shows it,
    checked with the reference evaluator."""

    code: str
    severity: Severity
    message: str
    hint: str
    collection: Collection | None = None
    rules: tuple[RuleRef, ...] = ()
    related: tuple[RuleRef, ...] = ()
    file: str | None = None
    example: Request | None = None

    @property
    def name(self) -> str:
        return CHECKS[self.code].name

    @property
    def location(self) -> str:
        """``file: JSON path`` (or ``file:line``) of the first rule, else the file."""
        if self.rules:
            ref = self.rules[0]
            place = ref.file or ""
            if ref.line is not None:
                place += f":{ref.line}"
            if ref.path:
                place = f"{place}: {ref.path}" if place else ref.path
            return place
        return self.file or ""

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.severity} {self.code} {self.name}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "collection": self.collection,
            "rules": [r.to_dict() for r in self.rules],
            "related": [r.to_dict() for r in self.related],
            "file": self.file,
            "example": self.example.to_dict() if self.example is not None else None,
        }


def _labels(rules: Iterable[Rule]) -> str:
    return ", ".join(rule.label for rule in rules)


def _some(rules: Sequence[Rule], most: int = 5) -> str:
    """``'a' (#0, priority 1)``, or several, at most ``most`` named."""
    word = "rule" if len(rules) == 1 else "rules"
    shown = _labels(rules[:most])
    more = f" and {len(rules) - most} more" if len(rules) > most else ""
    return f"{word} {shown}{more}"


def _opposite(rule: Rule) -> str:
    return "allow" if rule.action is Action.DENY else "deny"


def _fmt_prefix(prefix: Prefix) -> str:
    return str(prefix)


# ---------------------------------------------------------------------------- the linter


class _Linter:
    def __init__(self, site: Site, strict_azure: bool) -> None:
        self.site = site
        self.strict = strict_azure
        self.findings: list[Finding] = []
        # Rule analyses look at the rules as written, even when public access is off.
        self.analysed = (
            replace(site, public_network_access="Enabled") if site.public_access_disabled else site
        )
        self.space = Space([self.analysed])
        self.incomplete: set[tuple[int, ...]] = set()

    def add(
        self,
        code: str,
        message: str,
        *,
        collection: Collection | None = None,
        rules: Sequence[Rule] = (),
        related: Sequence[Rule] = (),
        severity: Severity | None = None,
        example: Request | None = None,
    ) -> None:
        check = CHECKS[code]
        level: Severity = severity or check.severity
        if check.limit and self.strict:
            level = "error"
        self.findings.append(
            Finding(
                code,
                level,
                message,
                check.hint,
                collection,
                tuple(RuleRef.of(r, self.site) for r in rules),
                tuple(RuleRef.of(r, self.site) for r in related),
                self.site.source,
                example,
            )
        )

    def collections(self) -> list[Collection]:
        return ["main"] if self.site.scm_use_main else list(COLLECTIONS)

    # -- the rules as a decision procedure

    def decisions(self, collection: Collection) -> None:
        space = self.space
        model = space.model(self.analysed, collection)
        rules = model.rules
        count = len(rules)
        lists_of: list[list[int]] = [[] for _ in range(count)]
        for list_id, members in enumerate(model.lists):
            for k in members:
                lists_of[k].append(list_id)
        member_sets = [frozenset(members) for members in model.lists]
        known = [self.states(model, [k]) for k in range(count)]
        minimal = [states or [] for states in known]
        decides = [
            states is None or self._decides(model, k, lists_of[k], minimal[k])
            for k, states in enumerate(known)
        ]
        for k, rule in enumerate(rules):
            if known[k] is None or model.conds[k].endpoint == EP_NEVER:
                continue  # site state makes it never match: ACL027-ACL029 say why
            if not lists_of[k]:
                self.add(
                    "ACL006",
                    f"rule {rule.label} can never match: its sources cover no address a "
                    "request can have (IPv4-mapped IPv6 prefixes, or a service tag without "
                    "prefixes)",
                    collection=collection,
                    rules=[rule],
                )
            elif not minimal[k]:
                self.add(
                    "ACL006",
                    f"rule {rule.label} can never match: no request can satisfy all its header "
                    "filters and endpoint condition (a value with a comma, or a host name no "
                    "request header can carry)",
                    collection=collection,
                    rules=[rule],
                )
            elif not decides[k]:
                self._shadowed(model, k, lists_of[k], minimal[k])
            else:
                self._redundant(model, k, lists_of[k])
        self._pairs(model, lists_of, member_sets, minimal, decides)

    def states(self, model: CollectionModel, rules: Sequence[int]) -> list[State] | None:
        """The minimal states in which all these rules match, or None (and an ACL099
        finding) when there are too many to check."""
        try:
            states = self.space.minimal_states([model.conds[k] for k in rules])
            if model.blocked:  # service-endpoint traffic never reaches the rules
                states = [state for state in states if state.endpoint == EP_NONE]
            return states
        except AnalysisError:
            if tuple(rules) not in self.incomplete:
                self.incomplete.add(tuple(rules))
                named = [model.rules[k] for k in rules]
                self.add(
                    "ACL099",
                    f"{_labels(named)}: more than {STATE_LIMIT} minimal header states; the "
                    "findings that need them were skipped",
                    collection=model.collection,
                    rules=named,
                )
            return None

    def _decides(
        self, model: CollectionModel, k: int, lists: list[int], minimal: list[State]
    ) -> bool:
        for list_id in lists:
            members = model.lists[list_id]
            earlier = members[: members.index(k)]
            if any(model.conds[q].unconditional for q in earlier):
                continue
            for state in minimal:
                if model.decide(earlier, state) == DEFAULT:
                    return True
        return False

    def _shadowed(
        self, model: CollectionModel, k: int, lists: list[int], minimal: list[State]
    ) -> None:
        rule = model.rules[k]
        points: set[frozenset[int]] = set()
        for list_id in lists:
            members = model.lists[list_id]
            earlier = members[: members.index(k)]
            for state in minimal:
                points.add(frozenset(q for q in earlier if matches(model.conds[q], state)))
        cover = _cover(points)
        covering = [model.rules[q] for q in sorted(cover)]
        actions = {r.action for r in covering}
        if actions == {rule.action}:
            tail = f"they {rule.action.word} too, so the rule is redundant"
        elif rule.action in actions:
            tail = f"some of them do not {rule.action.word}"
        else:
            tail = f"its {rule.action.value} never applies"
        self.add(
            "ACL001",
            f"rule {rule.label} never decides a request: {_labels(covering)} "
            f"match{'es' if len(covering) == 1 else ''} every request it matches; {tail}",
            collection=model.collection,
            rules=[rule],
            related=covering,
        )

    def _redundant(self, model: CollectionModel, k: int, lists: list[int]) -> None:
        """Report rule ``k`` when removing it changes no allow/deny.

        Removing it changes a decision exactly where it decides and the next matching rule
        (or the unmatched-rule action) has the other action. Such a request exists iff a
        minimal state of "``k`` and that next rule both match" is matched by no rule before
        ``k`` and none between the two (those are conditions that only shrink as states
        shrink), so no header state enumeration is needed.
        """
        rule = model.rules[k]
        site = self.analysed
        configured = site.main_default if model.effective == "main" else site.scm_default
        if configured is None and len(model.rules) == 1:
            # Removing the only rule turns the implicit Deny into Allow: compare whole sites.
            if not diff(site, _without(site, rule)).identical:
                return
            self._report_redundant(model, k, {DEFAULT})
            return
        if self._next_decider(model, k, lists, same=False):
            return
        instead = self._next_decider(model, k, lists, same=True)
        if UNKNOWN not in instead:
            self._report_redundant(model, k, instead)

    def _next_decider(
        self, model: CollectionModel, k: int, lists: list[int], *, same: bool
    ) -> set[int]:
        """The rules (or :data:`DEFAULT`) that decide, in place of rule ``k``, some request
        it decides, among those whose action is the same as ``k``'s (``same``) or not.
        Without ``same`` it stops at the first one found. :data:`UNKNOWN` is in the result
        when some pair had too many states to check."""
        action = model.rules[k].action
        conds = model.conds
        found: set[int] = set()
        for list_id in lists:
            members = model.lists[list_id]
            position = members.index(k)
            earlier = members[:position]
            if any(conds[q].unconditional for q in earlier):
                continue
            between: list[int] = []
            later: list[int] = []
            for q in members[position + 1 :]:
                later.append(q)
                if conds[q].unconditional:
                    break
            else:
                later.append(DEFAULT)
            for q in later:
                if (
                    (model.action(q) is action) == same
                    and q not in found
                    and (q == DEFAULT or self.space.compatible(conds[k], conds[q]))
                ):
                    states = self.states(model, [k] if q == DEFAULT else [k, q])
                    if states is None:
                        found.add(UNKNOWN)
                        return found
                    blockers = (*earlier, *between)
                    if any(model.decide(blockers, state) == DEFAULT for state in states):
                        found.add(q)
                        if not same:
                            return found
                if q != DEFAULT:
                    between.append(q)
        return found

    def _report_redundant(self, model: CollectionModel, k: int, instead: set[int]) -> None:
        rule = model.rules[k]
        later = [model.rules[q] for q in sorted(q for q in instead if q >= 0)]
        said = []
        if later:
            said.append(_labels(later))
        if DEFAULT in instead:
            said.append(f"the unmatched-rule action ({model.default.value})")
        self.add(
            "ACL002",
            f"rule {rule.label} is redundant: wherever it decides, {' and '.join(said)} would "
            f"decide {rule.action.word} too",
            collection=model.collection,
            rules=[rule],
            related=later,
        )

    def _pairs(
        self,
        model: CollectionModel,
        lists_of: list[list[int]],
        member_sets: list[frozenset[int]],
        minimal: list[list[State]],
        decides: list[bool],
    ) -> None:
        rules = model.rules
        overlapping: list[tuple[int, int]] = []
        found: set[tuple[int, int]] = set()
        joint: dict[tuple[int, int], list[State]] = {}
        for list_id, members in enumerate(model.lists):
            deciders = model.cut1[list_id]
            for position, i in enumerate(deciders):
                if not decides[i]:
                    continue
                earlier = deciders[:position]
                for j in members[position + 1 :]:
                    if (i, j) in found or rules[i].action is rules[j].action:
                        continue
                    if not decides[j] and rules[i].priority != rules[j].priority:
                        continue
                    if not self.space.compatible(model.conds[i], model.conds[j]):
                        continue
                    if (i, j) not in joint:
                        joint[(i, j)] = self.states(model, [i, j]) or []
                    if any(model.decide(earlier, s) == DEFAULT for s in joint[(i, j)]):
                        found.add((i, j))
                        overlapping.append((i, j))
        exceptions: dict[int, list[int]] = {}
        correlated: dict[int, list[int]] = {}
        for i, j in sorted(overlapping):
            first, second = rules[i], rules[j]
            if first.priority == second.priority:
                self.add(
                    "ACL005",
                    f"rules {first.label} ({first.action.word}) and {second.label} "
                    f"({second.action.word}) have the same priority and overlap: "
                    f"{first.label} wins only because it is listed first",
                    collection=model.collection,
                    rules=[first, second],
                )
                continue
            if not decides[j]:
                continue
            inside = all(j in member_sets[lid] for lid in lists_of[i]) and all(
                matches(model.conds[j], s) for s in minimal[i]
            )
            (exceptions if inside else correlated).setdefault(j, []).append(i)
        for j, before in sorted(exceptions.items()):
            later = rules[j]
            named = [rules[i] for i in before]
            self.add(
                "ACL004",
                f"rule {later.label} ({later.action.word}) is more general than the earlier "
                f"{_some(named)} ({_opposite(later)}), "
                f"{'an exception' if len(named) == 1 else 'exceptions'} to it",
                collection=model.collection,
                rules=[later],
                related=named,
            )
        for j, before in sorted(correlated.items()):
            later = rules[j]
            named = [rules[i] for i in before]
            self.add(
                "ACL003",
                f"rule {later.label} ({later.action.word}) overlaps partly with the earlier "
                f"{_some(named)} ({_opposite(later)}); where both match, the earlier "
                f"rule decides",
                collection=model.collection,
                rules=[later],
                related=named,
            )

    # -- defaults and collections

    def defaults(self, collection: Collection) -> None:
        site = self.site
        rules = site.rules(collection)
        configured = site.main_default if collection == "main" else site.scm_default
        label = "main" if collection == "main" else "scm"
        if site.public_access_disabled:
            return  # every request is denied anyway (ACL026)
        if rules and configured is None and all(r.action is Action.DENY for r in rules):
            self.add(
                "ACL020",
                f"the {label} collection has {len(rules)} Deny rule(s), no Allow rule and no "
                "unmatched-rule action: every request is denied",
                collection=collection,
                rules=rules,
            )
        if rules and configured is Action.ALLOW:
            model = self.space.model(self.analysed, collection)
            reached = _default_reached(model)
            if reached is not None:
                example = witness(self.space, model, reached).request
                allows = [r for r in rules if r.action is Action.ALLOW]
                self.add(
                    "ACL021",
                    f"the {label} collection has {len(rules)} rule(s) but its unmatched-rule "
                    "action is Allow, so unmatched traffic is let in (e.g. "
                    f"{example.address}{_via(example)}; Terraform azurerm 3.95+ sends Allow "
                    "by default)",
                    collection=collection,
                    rules=allows,
                    severity="warning" if allows else "info",
                    example=example,
                )
        if site.default_action(collection) is not Action.ALLOW:
            return
        space = self.space
        model = space.model(self.analysed, collection)
        deny_all: dict[int, list[Rule]] = {4: [], 6: []}
        for k, rule in enumerate(model.rules):
            cond = model.conds[k]
            if rule.action is not Action.DENY or cond.filters or cond.endpoint == EP_NEVER:
                continue  # (an IP rule decides all traffic not through a service endpoint)
            for source in rule.sources:
                if source.kind == "any":
                    deny_all[4].append(rule)
                    deny_all[6].append(rule)
                for prefix in source.prefixes:
                    if prefix.length == 0:
                        deny_all[prefix.version].append(rule)
        self._ipv6_open(collection, model, rules, deny_all[4])
        for closed, open_ in ((4, 6), (6, 4)):
            if not deny_all[closed] or deny_all[open_]:
                continue
            found = find(space, model, Action.ALLOW, families=(open_,), endpoint="none")
            if found is None:
                continue
            example = witness(space, model, found).request
            self.add(
                "ACL022",
                f"{_labels(deny_all[closed][:1])} denies all of IPv{closed}, but nothing denies "
                f"all of IPv{open_} and the unmatched-rule action is Allow: IPv{open_} clients "
                f"get in (e.g. {example.address})",
                collection=collection,
                rules=deny_all[closed][:1],
                example=example,
            )

    def _ipv6_open(
        self,
        collection: Collection,
        model: CollectionModel,
        rules: Sequence[Rule],
        ipv4_deny_all: Sequence[Rule],
    ) -> None:
        """ACL035: IP rules for IPv4 only, and the unmatched-rule action lets IPv6 in (ACL022
        says it when a rule denies all of IPv4). ``ipMode`` does not matter: it is DNS only."""
        if ipv4_deny_all:
            return
        ip_rules = [r for r in rules if any(s.kind in ("cidr", "service_tag") for s in r.sources)]
        if not ip_rules:
            return
        for rule in rules:
            for source in rule.sources:
                if source.kind == "any" or any(p.version == 6 for p in source.prefixes):
                    return
        found = find(self.space, model, Action.ALLOW, families=(6,), endpoint="none")
        if found is None:
            return
        example = witness(self.space, model, found).request
        mode = self.site.ip_mode
        dns = f" (ipMode {mode} only changes DNS)" if mode is not None else ""
        label = "main" if collection == "main" else "scm"
        self.add(
            "ACL035",
            f"the {label} collection's {len(ip_rules)} IP rule(s) are IPv4 only and its "
            f"unmatched-rule action is Allow: every IPv6 client gets in (e.g. "
            f"{example.address}){dns}",
            collection=collection,
            rules=ip_rules[:1],
            example=example,
        )

    def open_sites(self) -> None:
        site = self.site
        if site.scm_use_main or site.public_access_disabled or _bare_rule_list(site):
            return
        space = self.space
        models = {c: space.model(self.analysed, c) for c in COLLECTIONS}
        open_ = {c: find(space, models[c], Action.DENY) is None for c in COLLECTIONS}
        pairs: tuple[tuple[Collection, Collection, str], ...] = (
            ("scm", "main", "ACL023"),
            ("main", "scm", "ACL024"),
        )
        for wide, other, code in pairs:
            if open_[wide] and not open_[other]:
                found = find(space, models[wide], Action.ALLOW)
                example = witness(space, models[wide], found).request if found else None
                self.add(
                    code,
                    f"the {wide} site allows every request, while the {other} site denies some",
                    collection=wide,
                    rules=site.rules(wide),
                    example=example,
                )

    # -- the configuration as written

    def written(self) -> None:
        site = self.site
        if site.public_access_disabled:
            self.add(
                "ACL026",
                f"{site.public_access_explained()}: the rules are not evaluated; only requests "
                "through a private endpoint get in",
            )
        if site.scm_use_main and site.scm_rules:
            self.add(
                "ACL025",
                f"scmIpSecurityRestrictionsUseMain is true, so the {len(site.scm_rules)} scm "
                "rule(s) are ignored",
                collection="scm",
                rules=site.scm_rules,
            )
        lists: tuple[tuple[Collection, tuple[Rule, ...]], ...] = (
            ("main", site.main_rules),
            ("scm", site.scm_rules),
        )
        for collection, rules in lists:
            if len(rules) > AZURE_MAX_RULES:
                self.add(
                    "ACL040",
                    f"the {collection} collection has {len(rules)} rules; Azure accepts at most "
                    f"{AZURE_MAX_RULES}",
                    collection=collection,
                )
        for rule in site.all_rules():
            self.rule(rule)
        for rule in site.ignored_rules:
            setting = (
                "ipSecurityRestrictionsDefaultAction"
                if rule.collection == "main"
                else "scmIpSecurityRestrictionsDefaultAction"
            )
            self.add(
                "ACL034",
                f"entry {rule.label} ({rule.ip_address}, {rule.action.value}) has no effect: "
                "Azure ignores it in what is sent to it and it does not set the unmatched-rule "
                f"action; set {setting}",
                collection=rule.collection,
                rules=[rule],
            )

    def rule(self, rule: Rule) -> None:
        c = rule.collection
        if rule.action is Action.ALLOW and not any(h.name == XAZUREFDID for h in rule.headers):
            tags = [s.text for s in rule.sources if s.kind == "service_tag"]
            if any(t.lower() == FRONT_DOOR_TAG for t in tags):
                self.add(
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
                        self.add(
                            "ACL012",
                            f"rule {rule.label}: X-Azure-FDID value {value!r} is not a GUID",
                            collection=c,
                            rules=[rule],
                        )
                    elif value != value.lower():
                        self.add(
                            "ACL011",
                            f"rule {rule.label}: X-Azure-FDID value {value!r} has upper-case "
                            f"letters; Front Door sends {value.lower()!r}, which does not match",
                            collection=c,
                            rules=[rule],
                        )
            if flt.name == XFORWARDEDFOR and rule.action is Action.ALLOW:
                self.add(
                    "ACL032",
                    f"rule {rule.label} allows on X-Forwarded-For "
                    f"{list(flt.values)!r}, a header any client can set",
                    collection=c,
                    rules=[rule],
                )
            if len(flt.values) > AZURE_MAX_HEADER_VALUES:
                self.add(
                    "ACL042",
                    f"rule {rule.label}: header {flt.name} has {len(flt.values)} values; Azure "
                    f"accepts at most {AZURE_MAX_HEADER_VALUES}",
                    collection=c,
                    rules=[rule],
                )
            if flt.name in (XFORWARDEDHOST, XAZUREFDID, XFDHEALTHPROBE):
                for value in flt.values:
                    if len(value) > AZURE_MAX_HEADER_VALUE_LENGTH:
                        self.add(
                            "ACL043",
                            f"rule {rule.label}: {flt.name} value {value[:20]!r}... has "
                            f"{len(value)} characters; Azure accepts at most "
                            f"{AZURE_MAX_HEADER_VALUE_LENGTH}",
                            collection=c,
                            rules=[rule],
                        )
        source_prefixes = [p for s in rule.sources if s.kind == "cidr" for p in s.prefixes]
        xff_prefixes = [p for h in rule.headers if h.name == XFORWARDEDFOR for p in h.prefixes]
        host_bits = [p for p in source_prefixes + xff_prefixes if p.host_bits]
        if host_bits:
            texts = _source_texts(rule, host_bits)
            self.add(
                "ACL030",
                f"rule {rule.label}: {', '.join(texts)} ha{'s' if len(texts) == 1 else 've'} "
                f"host bits set and match{'es' if len(texts) == 1 else ''} as "
                f"{', '.join(_fmt_prefix(p) for p in host_bits)}",
                collection=c,
                rules=[rule],
            )
        private = [p for p in source_prefixes if any(_inside(p, r) for r in PRIVATE_RANGES)]
        if private and self.site.hosting != "ase":
            self.add(
                "ACL031",
                f"rule {rule.label}: {', '.join(_fmt_prefix(p) for p in private)} "
                f"{'is a private range' if len(private) == 1 else 'are private ranges'}; "
                "internet clients never have such addresses, and on multi-tenant App Service "
                "IP rules never match traffic through a service endpoint, so it matches "
                "nothing real",
                collection=c,
                rules=[rule],
            )
        if {s.kind for s in rule.sources} & {"subnet", "any_vnets"}:
            self._service_endpoint_rule(rule)
        mapped = [p for p in source_prefixes + xff_prefixes if _mapped(p)]
        if mapped:
            verbs = "lies in ::ffff:0:0/96 and never matches"
            if len(mapped) > 1:
                verbs = "lie in ::ffff:0:0/96 and never match"
            self.add(
                "ACL033",
                f"rule {rule.label}: {', '.join(_fmt_prefix(p) for p in mapped)} {verbs}; "
                "requests from IPv4-mapped addresses are read as IPv4",
                collection=c,
                rules=[rule],
            )
        if len(rule.sources) > AZURE_MAX_SOURCES:
            self.add(
                "ACL041",
                f"rule {rule.label} has {len(rule.sources)} sources; Azure accepts at most "
                f"{AZURE_MAX_SOURCES}",
                collection=c,
                rules=[rule],
            )

    def _service_endpoint_rule(self, rule: Rule) -> None:
        """ACL027-ACL029: a subnet or AnyVnets rule that site state keeps from matching."""
        site = self.site
        kind = _vnet_kind(rule)
        if site.has_private_endpoint:
            self.add(
                "ACL027",
                f"{kind} rule {rule.label} never matches: the site has a private endpoint, so "
                "it receives no traffic from subnets with a Microsoft.Web service endpoint",
                collection=rule.collection,
                rules=[rule],
            )
        if site.hosting == "ase":
            self.add(
                "ACL028",
                f"{kind} rule {rule.label} never matches: the site runs in an App Service "
                "Environment, where service endpoints cannot be used",
                collection=rule.collection,
                rules=[rule],
            )
        if site.ip_based_ssl:
            self.add(
                "ACL029",
                f"{kind} rule {rule.label} never matches: the site has IP-based SSL, which "
                "cannot use service-endpoint rules",
                collection=rule.collection,
                rules=[rule],
            )


def _via(request: Request) -> str:
    return " through a service endpoint" if request.service_endpoint else ""


def _vnet_kind(rule: Rule) -> str:
    return "AnyVnets" if any(s.kind == "any_vnets" for s in rule.sources) else "subnet"


def _default_reached(model: CollectionModel) -> Found | None:
    """Where the unmatched-rule action decides (None: nowhere, every request matches a rule):
    not through a service endpoint first, then through one (IP rules on a multi-tenant site
    never match that)."""
    for bottom in (State(EP_NONE, frozenset()), State(EP_SERVICE, frozenset())):
        for version in (4, 6):
            for first, last, list_id in nice_first(model.segments(version), version):
                if model.decide(model.cut1[list_id], bottom) == DEFAULT:
                    return Found(version, first, last, bottom, DEFAULT)
    return None


def _bare_rule_list(site: Site) -> bool:
    """True for a site loaded from a bare rule list: it says nothing about scm."""
    return (
        bool(site.main_rules)
        and not site.scm_rules
        and site.scm_default is None
        and all(
            r.origin is not None and (r.origin.path or "").startswith("$[") for r in site.main_rules
        )
    )


def _source_texts(rule: Rule, prefixes: list[Prefix]) -> list[str]:
    texts: list[str] = []
    wanted = set(prefixes)
    for source in rule.sources:
        if source.kind == "cidr" and wanted.intersection(source.prefixes):
            texts.append(repr(source.text))
    for flt in rule.headers:
        if flt.name == XFORWARDEDFOR:
            for value, prefix in zip(flt.values, flt.prefixes, strict=False):
                if prefix in wanted:
                    texts.append(f"{XFORWARDEDFOR} {value.strip()!r}")
    return texts


def _inside(prefix: Prefix, outer: Prefix) -> bool:
    return (
        prefix.version == outer.version
        and prefix.length >= outer.length
        and outer.contains(prefix.version, prefix.network)
    )


def _mapped(prefix: Prefix) -> bool:
    return (
        prefix.version == 6 and prefix.length >= 96 and (prefix.network >> 32) == (MAPPED_V4 >> 32)
    )


def _cover(points: set[frozenset[int]]) -> set[int]:
    """A small set of rules that hits every point (each point: the earlier rules that
    match one minimal state of the shadowed rule), greedy, then pruned to be minimal."""
    left = [p for p in points]
    chosen: list[int] = []
    while left:
        counts: dict[int, int] = {}
        for point in left:
            for q in point:
                counts[q] = counts.get(q, 0) + 1
        if not counts:
            raise AnalysisError("a shadowed rule has a state no earlier rule matches")
        best = min(counts, key=lambda q: (-counts[q], q))
        chosen.append(best)
        left = [p for p in left if best not in p]
    for q in list(reversed(chosen)):
        rest = set(chosen) - {q}
        if all(point & rest for point in points):
            chosen.remove(q)
    result = set(chosen)
    if not all(point & result for point in points):
        raise AssertionError("the covering rules do not cover the shadowed rule")
    return result


def _without(site: Site, rule: Rule) -> Site:
    return replace(
        site,
        main_rules=tuple(r for r in site.main_rules if r is not rule),
        scm_rules=tuple(r for r in site.scm_rules if r is not rule),
    )


def lint(site: Site, *, strict_azure: bool = False, ignore: Iterable[str] = ()) -> list[Finding]:
    """Every finding about a site, in file order (site-wide findings first).

    Args:
        site: the site.
        strict_azure: report crossed Azure limits as errors.
        ignore: finding codes (``ACL001``) or names (``shadowed-rule``) to leave out.

    Raises:
        AnalysisError: an unknown code in ``ignore``.

    >>> import acl
    >>> site = acl.loads('''[
    ...   {"name": "everyone", "priority": 100, "action": "Allow", "ipAddress": "0.0.0.0/0"},
    ...   {"name": "office", "priority": 200, "action": "Allow", "ipAddress": "198.51.100.0/24"}]''')
    >>> [f.code for f in lint(site)]
    ['ACL001']
    >>> print(lint(site)[0].message)
    rule 'office' (#1, priority 200) never decides a request: 'everyone' (#0, priority 100) matches every request it matches; they allow too, so the rule is redundant
    """
    skip: set[str] = set()
    for item in ignore:
        for part in item.split(","):
            wanted = part.strip()
            if not wanted:
                continue
            check = CHECKS.get(wanted.upper()) or _BY_NAME.get(wanted.lower())
            if check is None:
                raise AnalysisError(
                    f"finding code {wanted!r} is unknown: expected one of {', '.join(CHECKS)} "
                    "or their names"
                )
            skip.add(check.code)
    linter = _Linter(site, strict_azure)
    linter.written()
    for collection in linter.collections():
        linter.defaults(collection)
        linter.decisions(collection)
    linter.open_sites()
    order = {c: i for i, c in enumerate(COLLECTIONS)}

    def key(finding: Finding) -> tuple[Any, ...]:
        if not finding.rules:
            return (-1, -1, finding.code)
        ref = finding.rules[0]
        return (order[ref.collection], ref.position, finding.code)

    return sorted((f for f in linter.findings if f.code not in skip), key=key)

"""The findings catalogue: every finding code (:data:`CHECKS`), the finding and rule
reference values lint returns, and :class:`Findings`, which the checks report into.

The checks live in :mod:`acl.analysis.lint` (what the rules decide),
:mod:`acl.analysis.written` (the configuration as written) and
:mod:`acl.analysis.frontdoor` (Front Door rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..model import Collection, Request, Rule, Site

__all__ = [
    "AZURE_MAX_HEADER_VALUES",
    "AZURE_MAX_HEADER_VALUE_LENGTH",
    "AZURE_MAX_RULES",
    "AZURE_MAX_SOURCES",
    "CHECKS",
    "CHECKS_BY_NAME",
    "SEVERITIES",
    "Check",
    "Finding",
    "Findings",
    "RuleRef",
    "Severity",
    "severity_at_least",
]

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")
"""Severities, least severe first."""

AZURE_MAX_RULES = 512
AZURE_MAX_SOURCES = 8
AZURE_MAX_HEADER_VALUES = 8
AZURE_MAX_HEADER_VALUE_LENGTH = 64


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
        "ACL036",
        "front-door-probes-blocked",
        "warning",
        "The collection lets Front Door in (an Allow rule for AzureFrontDoor.Backend), but "
        "denies Front Door's health probes (the same addresses and profile id, with "
        "X-FD-HealthProbe: 1): Front Door marks the origin unhealthy and, with a healthier "
        "origin, stops sending it traffic.",
        "Let the probes through: no Deny rule on X-FD-HealthProbe ahead of the Front Door "
        "rule, and the Front Door rule's other filters met by a probe (a probe carries no "
        "X-Forwarded-Host or X-Forwarded-For).",
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
CHECKS_BY_NAME = {check.name: check for check in _CHECKS}
"""Every check by its name (``shadowed-rule``)."""


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


class Findings:
    """The findings of one site as the checks report them, with the severity each check
    gives (crossed Azure limits are errors with ``strict_azure``)."""

    def __init__(self, site: Site, strict_azure: bool) -> None:
        self.site = site
        self.strict = strict_azure
        self.findings: list[Finding] = []

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

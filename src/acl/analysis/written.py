"""The checks of the configuration as written: what each rule and setting says, without
asking what the rules decide (those are in :mod:`acl.analysis.lint`)."""

from __future__ import annotations

from ..addresses import MAPPED_V4, Prefix
from ..headers import XAZUREFDID, XFDHEALTHPROBE, XFORWARDEDFOR, XFORWARDEDHOST
from ..model import Action, Collection, Rule
from .findings import (
    AZURE_MAX_HEADER_VALUE_LENGTH,
    AZURE_MAX_HEADER_VALUES,
    AZURE_MAX_RULES,
    AZURE_MAX_SOURCES,
    Findings,
)
from .frontdoor import front_door_rule

__all__ = ["PRIVATE_RANGES", "check_rule", "service_endpoint_rule", "written"]

PRIVATE_RANGES = (
    Prefix(4, 0x0A000000, 8),
    Prefix(4, 0xAC100000, 12),
    Prefix(4, 0xC0A80000, 16),
    Prefix(6, 0xFC << 120, 7),
)


def written(report: Findings) -> None:
    """The findings about the configuration as written: public access off (ACL026), ignored
    scm rules (ACL025), crossed Azure limits, ignored entries (ACL034) and every rule's own."""
    site = report.site
    if site.public_access_disabled:
        report.add(
            "ACL026",
            f"{site.public_access_explained()}: the rules are not evaluated; only requests "
            "through a private endpoint get in",
        )
    if site.scm_use_main and site.scm_rules:
        report.add(
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
            report.add(
                "ACL040",
                f"the {collection} collection has {len(rules)} rules; Azure accepts at most "
                f"{AZURE_MAX_RULES}",
                collection=collection,
            )
    for rule in site.all_rules():
        check_rule(report, rule)
    for rule in site.ignored_rules:
        setting = (
            "ipSecurityRestrictionsDefaultAction"
            if rule.collection == "main"
            else "scmIpSecurityRestrictionsDefaultAction"
        )
        report.add(
            "ACL034",
            f"entry {rule.label} ({rule.ip_address}, {rule.action.value}) has no effect: "
            "Azure ignores it in what is sent to it and it does not set the unmatched-rule "
            f"action; set {setting}",
            collection=rule.collection,
            rules=[rule],
        )


def check_rule(report: Findings, rule: Rule) -> None:
    """The findings about one rule as written."""
    c = rule.collection
    front_door_rule(report, rule)
    for flt in rule.headers:
        if flt.name == XFORWARDEDFOR and rule.action is Action.ALLOW:
            report.add(
                "ACL032",
                f"rule {rule.label} allows on X-Forwarded-For "
                f"{list(flt.values)!r}, a header any client can set",
                collection=c,
                rules=[rule],
            )
        if len(flt.values) > AZURE_MAX_HEADER_VALUES:
            report.add(
                "ACL042",
                f"rule {rule.label}: header {flt.name} has {len(flt.values)} values; Azure "
                f"accepts at most {AZURE_MAX_HEADER_VALUES}",
                collection=c,
                rules=[rule],
            )
        if flt.name in (XFORWARDEDHOST, XAZUREFDID, XFDHEALTHPROBE):
            for value in flt.values:
                if len(value) > AZURE_MAX_HEADER_VALUE_LENGTH:
                    report.add(
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
        report.add(
            "ACL030",
            f"rule {rule.label}: {', '.join(texts)} ha{'s' if len(texts) == 1 else 've'} "
            f"host bits set and match{'es' if len(texts) == 1 else ''} as "
            f"{', '.join(_fmt_prefix(p) for p in host_bits)}",
            collection=c,
            rules=[rule],
        )
    private = [p for p in source_prefixes if any(_inside(p, r) for r in PRIVATE_RANGES)]
    if private and report.site.hosting != "ase":
        report.add(
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
        service_endpoint_rule(report, rule)
    mapped = [p for p in source_prefixes + xff_prefixes if _mapped(p)]
    if mapped:
        verbs = "lies in ::ffff:0:0/96 and never matches"
        if len(mapped) > 1:
            verbs = "lie in ::ffff:0:0/96 and never match"
        report.add(
            "ACL033",
            f"rule {rule.label}: {', '.join(_fmt_prefix(p) for p in mapped)} {verbs}; "
            "requests from IPv4-mapped addresses are read as IPv4",
            collection=c,
            rules=[rule],
        )
    if len(rule.sources) > AZURE_MAX_SOURCES:
        report.add(
            "ACL041",
            f"rule {rule.label} has {len(rule.sources)} sources; Azure accepts at most "
            f"{AZURE_MAX_SOURCES}",
            collection=c,
            rules=[rule],
        )


def service_endpoint_rule(report: Findings, rule: Rule) -> None:
    """ACL027-ACL029: a subnet or AnyVnets rule that site state keeps from matching."""
    site = report.site
    kind = _vnet_kind(rule)
    if site.has_private_endpoint:
        report.add(
            "ACL027",
            f"{kind} rule {rule.label} never matches: the site has a private endpoint, so "
            "it receives no traffic from subnets with a Microsoft.Web service endpoint",
            collection=rule.collection,
            rules=[rule],
        )
    if site.hosting == "ase":
        report.add(
            "ACL028",
            f"{kind} rule {rule.label} never matches: the site runs in an App Service "
            "Environment, where service endpoints cannot be used",
            collection=rule.collection,
            rules=[rule],
        )
    if site.ip_based_ssl:
        report.add(
            "ACL029",
            f"{kind} rule {rule.label} never matches: the site has IP-based SSL, which "
            "cannot use service-endpoint rules",
            collection=rule.collection,
            rules=[rule],
        )


def _fmt_prefix(prefix: Prefix) -> str:
    return str(prefix)


# ---------------------------------------------------------------------------- the linter


def _vnet_kind(rule: Rule) -> str:
    return "AnyVnets" if any(s.kind == "any_vnets" for s in rule.sources) else "subnet"


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

"""acl.analysis.lint: every finding code fires on a site that has the problem and stays
quiet on one that does not; the dataflow findings agree with brute force."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import acl
from acl.analysis import CHECKS, AnalysisError, Finding, diff, lint, search

from .conftest import rule, site_of
from .strategies import (
    FDIDS,
    SUBNETS,
    endpoint_requests,
    requests,
    site_configs,
    site_from_config,
    site_states,
)

FDID = FDIDS[0]


def tagged(
    name: str, priority: int, tag: str, action: str = "Allow", **extra: Any
) -> dict[str, Any]:
    return rule(name, priority, tag, action, tag="ServiceTag", **extra)


def xff(name: str, priority: int, value: str, action: str = "Deny") -> dict[str, Any]:
    return rule(name, priority, "Any", action, headers={"X-Forwarded-For": [value]})


def split_headers(count: int) -> list[dict[str, Any]]:
    """A rule with ``count`` values on each of the four headers, and one rule per value:
    every value satisfies another pair of filters, so the first rule has ``count ** 4``
    minimal header states."""
    values = {
        "X-Forwarded-For": [f"198.51.100.{i}" for i in range(count)],
        "X-Forwarded-Host": [f"h{i}.example" for i in range(count)],
        "X-Azure-FDID": [f"{i:08x}-0000-4000-8000-000000000000" for i in range(count)],
        "X-FD-HealthProbe": [str(i) for i in range(count)],
    }
    items = [rule("wide", 100, "Any", headers=values)]
    for name, some in values.items():
        items.extend(
            rule(f"{name}-{i}", 200, "Any", "Deny", headers={name: [value]})
            for i, value in enumerate(some)
        )
    return items


# Each code: a site that has the problem, and the same kind of site without it.
CASES: dict[str, tuple[acl.Site, acl.Site]] = {
    "ACL001": (
        site_of(rule("all", 100, "0.0.0.0/0"), rule("office", 200, "203.0.113.0/24")),
        site_of(rule("office", 100, "203.0.113.0/24"), rule("all", 200, "0.0.0.0/0")),
    ),
    "ACL002": (
        site_of(rule("office", 100, "203.0.113.0/24"), rule("all", 200, "0.0.0.0/0")),
        site_of(
            rule("office", 100, "203.0.113.0/24"),
            rule("all", 200, "0.0.0.0/0", "Deny"),
            ipSecurityRestrictionsDefaultAction="Allow",
        ),
    ),
    "ACL003": (
        site_of(
            rule("a", 100, "203.0.113.0/24,198.51.100.0/24", "Deny"),
            rule("b", 200, "203.0.113.0/25,192.0.2.0/24"),
        ),
        site_of(
            rule("a", 100, "203.0.113.0/24,198.51.100.0/24", "Deny"),
            rule("b", 200, "192.0.2.0/24"),
        ),
    ),
    "ACL004": (
        site_of(rule("lab", 100, "203.0.113.0/25"), rule("net", 200, "203.0.113.0/24", "Deny")),
        site_of(rule("lab", 100, "203.0.113.0/25"), rule("net", 200, "198.51.100.0/24", "Deny")),
    ),
    "ACL005": (
        site_of(rule("a", 100, "203.0.113.0/24"), rule("b", 100, "203.0.113.0/25", "Deny")),
        site_of(rule("a", 100, "203.0.113.0/24"), rule("b", 100, "198.51.100.0/25", "Deny")),
    ),
    "ACL006": (
        site_of(rule("mapped", 100, "::ffff:203.0.113.0/120"), rule("x", 200, "192.0.2.0/24")),
        site_of(rule("v4", 100, "203.0.113.0/24"), rule("x", 200, "192.0.2.0/24")),
    ),
    "ACL010": (
        site_of(tagged("afd", 100, "AzureFrontDoor.Backend")),
        site_of(tagged("afd", 100, "AzureFrontDoor.Backend", headers={"X-Azure-FDID": [FDID]})),
    ),
    "ACL011": (
        site_of(
            tagged("afd", 100, "AzureFrontDoor.Backend", headers={"X-Azure-FDID": [FDID.upper()]})
        ),
        site_of(tagged("afd", 100, "AzureFrontDoor.Backend", headers={"X-Azure-FDID": [FDID]})),
    ),
    "ACL012": (
        site_of(
            tagged("afd", 100, "AzureFrontDoor.Backend", headers={"X-Azure-FDID": ["prod-fd"]})
        ),
        site_of(tagged("afd", 100, "AzureFrontDoor.Backend", headers={"X-Azure-FDID": [FDID]})),
    ),
    "ACL020": (
        site_of(rule("bad", 100, "203.0.113.66", "Deny")),
        site_of(
            rule("bad", 100, "203.0.113.66", "Deny"), ipSecurityRestrictionsDefaultAction="Allow"
        ),
    ),
    "ACL021": (
        site_of(rule("office", 100, "203.0.113.0/24"), ipSecurityRestrictionsDefaultAction="Allow"),
        site_of(rule("office", 100, "203.0.113.0/24"), ipSecurityRestrictionsDefaultAction="Deny"),
    ),
    "ACL022": (
        site_of(
            rule("office", 100, "203.0.113.0/24"),
            rule("deny-v4", 200, "0.0.0.0/0", "Deny"),
            ipSecurityRestrictionsDefaultAction="Allow",
        ),
        site_of(
            rule("office", 100, "203.0.113.0/24"),
            rule("deny-all", 200, "0.0.0.0/0,::/0", "Deny"),
            ipSecurityRestrictionsDefaultAction="Allow",
        ),
    ),
    "ACL023": (
        site_of(rule("office", 100, "203.0.113.0/24")),
        site_of(rule("office", 100, "203.0.113.0/24"), scmIpSecurityRestrictionsUseMain=True),
    ),
    "ACL024": (
        site_of(scmIpSecurityRestrictions=[rule("agents", 100, "192.0.2.0/28")]),
        site_of(
            rule("office", 100, "203.0.113.0/24"),
            scmIpSecurityRestrictions=[rule("agents", 100, "192.0.2.0/28")],
        ),
    ),
    "ACL025": (
        site_of(
            rule("office", 100, "203.0.113.0/24"),
            scmIpSecurityRestrictionsUseMain=True,
            scmIpSecurityRestrictions=[rule("agents", 100, "192.0.2.0/28")],
        ),
        site_of(rule("office", 100, "203.0.113.0/24"), scmIpSecurityRestrictionsUseMain=True),
    ),
    "ACL026": (
        site_of(rule("office", 100, "203.0.113.0/24"), publicNetworkAccess="Disabled"),
        site_of(rule("office", 100, "203.0.113.0/24"), publicNetworkAccess="Enabled"),
    ),
    "ACL027": (
        replace(
            site_of(rule("app", 100, SUBNETS[0]), publicNetworkAccess="Enabled"),
            has_private_endpoint=True,
        ),
        site_of(rule("app", 100, SUBNETS[0]), publicNetworkAccess="Enabled"),
    ),
    "ACL028": (
        replace(site_of(rule("vnets", 100, "AnyVnets")), hosting="ase"),
        replace(site_of(rule("vnet", 100, "10.1.0.0/16")), hosting="ase"),
    ),
    "ACL029": (
        replace(site_of(rule("app", 100, SUBNETS[0])), ip_based_ssl=True),
        replace(site_of(rule("office", 100, "203.0.113.0/24")), ip_based_ssl=True),
    ),
    "ACL030": (
        site_of(rule("office", 100, "203.0.113.9/24")),
        site_of(rule("office", 100, "203.0.113.0/24")),
    ),
    "ACL031": (
        site_of(rule("vnet", 100, "10.1.0.0/16")),
        site_of(rule("vnet", 100, SUBNETS[0])),
    ),
    "ACL032": (
        site_of(xff("partner", 100, "198.51.100.0/24", "Allow")),
        site_of(xff("scanner", 100, "198.51.100.66", "Deny")),
    ),
    "ACL033": (
        site_of(rule("mapped", 100, "::ffff:203.0.113.0/120,2001:db8::/32")),
        site_of(rule("v6", 100, "2001:db8::/32")),
    ),
    "ACL034": (
        acl.loads(
            json.dumps(
                {
                    "ipSecurityRestrictions": [
                        rule("office", 100, "203.0.113.0/24"),
                        rule("Deny all", 2147483647, "Any", "Deny"),
                    ]
                }
            ),
            document="sent",
        ),
        site_of(rule("office", 100, "203.0.113.0/24"), rule("Deny all", 2147483647, "Any", "Deny")),
    ),
    "ACL035": (
        site_of(
            rule("scanner", 100, "203.0.113.66", "Deny"),
            ipSecurityRestrictionsDefaultAction="Allow",
            ipMode="IPv4",
        ),
        site_of(
            rule("scanner", 100, "203.0.113.66,2001:db8::66", "Deny"),
            ipSecurityRestrictionsDefaultAction="Allow",
            ipMode="IPv4",
        ),
    ),
    "ACL036": (
        site_of(
            rule("probes", 50, "Any", "Deny", headers={"X-FD-HealthProbe": ["1"]}),
            tagged("front-door", 100, "AzureFrontDoor.Backend", headers={"X-Azure-FDID": [FDID]}),
        ),
        site_of(
            tagged("front-door", 100, "AzureFrontDoor.Backend", headers={"X-Azure-FDID": [FDID]}),
            rule("probes", 200, "Any", "Deny", headers={"X-FD-HealthProbe": ["1"]}),
        ),
    ),
    "ACL040": (
        site_of(*[rule(f"r{i}", 100 + i, f"10.{i // 256}.{i % 256}.0/24") for i in range(513)]),
        site_of(*[rule(f"r{i}", 100 + i, f"10.{i // 256}.{i % 256}.0/24") for i in range(512)]),
    ),
    "ACL041": (
        site_of(rule("many", 100, ",".join(f"203.0.113.{i}" for i in range(9)))),
        site_of(rule("many", 100, ",".join(f"203.0.113.{i}" for i in range(8)))),
    ),
    "ACL042": (
        site_of(
            rule(
                "hosts",
                100,
                "Any",
                headers={"X-Forwarded-Host": [f"h{i}.example" for i in range(9)]},
            )
        ),
        site_of(
            rule(
                "hosts",
                100,
                "Any",
                headers={"X-Forwarded-Host": [f"h{i}.example" for i in range(8)]},
            )
        ),
    ),
    "ACL043": (
        site_of(rule("host", 100, "Any", headers={"X-Forwarded-Host": ["a" * 57 + ".example"]})),
        site_of(rule("host", 100, "Any", headers={"X-Forwarded-Host": ["a" * 56 + ".example"]})),
    ),
    "ACL099": (site_of(*split_headers(17)), site_of(*split_headers(3))),
}


def test_every_code_has_a_case() -> None:
    assert sorted(CASES) == sorted(CHECKS)


@pytest.mark.parametrize("code", sorted(CASES))
def test_finding_fires_and_stays_quiet(code: str) -> None:
    bad, good = CASES[code]
    found = [f for f in lint(bad) if f.code == code]
    assert found, f"{code} did not fire"
    for finding in found:
        check = CHECKS[code]
        assert finding.name == check.name and finding.hint == check.hint
        assert finding.message and "\n" not in finding.message
        assert finding.severity in ("error", "warning", "info")
        json.dumps(finding.to_dict())
        if finding.example is not None:
            assert acl.evaluate(bad, finding.example).collection == (finding.collection or "main")
    assert not [f for f in lint(good) if f.code == code], f"{code} fired on the clean site"


def test_ignored_deny_all_names_the_entry_and_the_setting() -> None:
    bad, _ = CASES["ACL034"]
    (finding,) = [f for f in lint(bad) if f.code == "ACL034"]
    assert finding.rules[0].name == "Deny all"
    assert finding.rules[0].path == "$.ipSecurityRestrictions[1]"
    assert "set ipSecurityRestrictionsDefaultAction" in finding.message
    # Azure ignores it: the office rule alone, with the implicit Deny
    assert bad.main_default is None and [r.name for r in bad.main_rules] == ["office"]


@pytest.mark.parametrize("mode", [None, "IPv4", "IPv6", "IPv4AndIPv6"])
@pytest.mark.parametrize(
    "rules",
    [
        [rule("scanner", 100, "203.0.113.66", "Deny")],
        [rule("office", 100, "203.0.113.0/24"), rule("scanner", 200, "198.51.100.9", "Deny")],
        [rule("office", 100, "203.0.113.0/24"), rule("vnet", 200, SUBNETS[0])],
        [tagged("afd", 100, "AzureFrontDoor.Backend", headers={"X-Azure-FDID": [FDID]})],
    ],
)
def test_ipv6_left_open_fires_whatever_ip_mode_says(
    mode: str | None, rules: list[dict[str, Any]]
) -> None:
    extra = {} if mode is None else {"ipMode": mode}
    site = site_of(*rules, ipSecurityRestrictionsDefaultAction="Allow", **extra)
    assert site.ip_mode == mode
    v4_only = all(p.version == 4 for r in site.main_rules for s in r.sources for p in s.prefixes)
    codes = {f.code for f in lint(site)}
    assert ("ACL035" in codes) == v4_only
    if v4_only:
        assert acl.evaluate(site, acl.Request("2001:db8::1")).allowed
    # the implicit Deny closes IPv6 too: no finding
    closed = site_of(*rules, **extra)
    assert "ACL035" not in {f.code for f in lint(closed)}


def test_shadowed_names_the_smallest_cover() -> None:
    site = site_of(
        rule("low", 100, "203.0.113.0/25", "Deny"),
        rule("noise", 110, "203.0.113.0/26", "Deny"),
        rule("high", 120, "203.0.113.128/25", "Deny"),
        rule("wide", 130, "203.0.113.0/24", "Deny"),
        rule("office", 200, "203.0.113.0/24"),
    )
    shadowed = {f.rules[0].name: f for f in lint(site) if f.code == "ACL001"}
    assert sorted(shadowed) == ["noise", "office", "wide"]
    office = shadowed["office"]
    assert [r.name for r in office.related] == ["wide"]  # one rule covers: not low + high
    assert "its Allow never applies" in office.message
    wide = shadowed["wide"]
    assert [r.name for r in wide.related] == ["low", "high"]


def test_a_header_filter_does_not_shadow() -> None:
    site = site_of(
        rule("fd", 100, "0.0.0.0/0", headers={"X-Azure-FDID": [FDID]}),
        rule("office", 200, "203.0.113.0/24", "Deny"),
    )
    assert not [f for f in lint(site) if f.code == "ACL001"]


def test_every_header_value_covered_does_shadow() -> None:
    # Two FDID filters together cover only the requests that carry one of their values;
    # a rule needing one of those values is shadowed by them.
    site = site_of(
        rule("a", 100, "0.0.0.0/0", headers={"X-Azure-FDID": [FDIDS[0]]}),
        rule("b", 110, "0.0.0.0/0", headers={"X-Azure-FDID": [FDIDS[1]]}),
        rule("c", 120, "203.0.113.0/24", "Deny", headers={"X-Azure-FDID": FDIDS}),
    )
    (finding,) = [f for f in lint(site) if f.code == "ACL001"]
    assert finding.rules[0].name == "c"
    assert [r.name for r in finding.related] == ["a", "b"]


def test_finding_locations_come_from_the_file() -> None:
    findings = lint(CASES["ACL001"][0])
    (finding,) = [f for f in findings if f.code == "ACL001"]
    ref = finding.rules[0]
    assert (ref.collection, ref.position, ref.priority, ref.name) == ("main", 1, 200, "office")
    assert ref.path == "$.ipSecurityRestrictions[1]"
    assert finding.location.endswith("$.ipSecurityRestrictions[1]")


def test_strict_azure_makes_limits_errors() -> None:
    bad = CASES["ACL041"][0]
    (loose,) = [f for f in lint(bad) if f.code == "ACL041"]
    (strict,) = [f for f in lint(bad, strict_azure=True) if f.code == "ACL041"]
    assert loose.severity == "warning" and strict.severity == "error"


def test_ignore_by_code_or_name() -> None:
    bad = CASES["ACL001"][0]
    assert not [f for f in lint(bad, ignore=["ACL001"]) if f.code == "ACL001"]
    assert not [f for f in lint(bad, ignore=["shadowed-rule,ACL002"]) if f.code == "ACL001"]
    with pytest.raises(AnalysisError, match="ACL999"):
        lint(bad, ignore=["ACL999"])


def test_family_left_open_has_an_ipv6_example() -> None:
    (finding,) = [f for f in lint(CASES["ACL022"][0]) if f.code == "ACL022"]
    assert finding.severity == "error"
    assert finding.example is not None and finding.example.version == 6
    assert acl.evaluate(CASES["ACL022"][0], finding.example).allowed


def test_default_allow_that_never_decides_is_no_finding() -> None:
    site = site_of(
        rule("office", 100, "203.0.113.0/24"),
        rule("rest", 200, "Any", "Deny"),
        ipSecurityRestrictionsDefaultAction="Allow",
    )
    assert not [f for f in lint(site) if f.code == "ACL021"]


def test_default_allow_reached_through_service_endpoints() -> None:
    # IP rules never match service-endpoint traffic on multi-tenant App Service, so a
    # deny-all written as CIDRs leaves VNet traffic to the unmatched-rule action.
    site = site_of(
        rule("office", 100, "203.0.113.0/24"),
        rule("rest", 200, "0.0.0.0/0,::/0", "Deny"),
        ipSecurityRestrictionsDefaultAction="Allow",
    )
    (finding,) = [f for f in lint(site) if f.code == "ACL021"]
    assert "through a service endpoint" in finding.message
    assert finding.example is not None and finding.example.service_endpoint
    assert acl.evaluate(site, finding.example).reason == "default"
    assert not [f for f in lint(replace(site, hosting="ase")) if f.code == "ACL021"]


def test_default_allow_is_info_for_a_block_list() -> None:
    site = site_of(
        rule("bad", 100, "203.0.113.66", "Deny"), ipSecurityRestrictionsDefaultAction="Allow"
    )
    (finding,) = [f for f in lint(site) if f.code == "ACL021"]
    assert finding.severity == "info"


def test_example_site_is_mostly_clean(example_site: acl.Site) -> None:
    assert {f.severity for f in lint(example_site)} <= {"info"}


# ---------------------------------------------------------------------------- brute force


def _without(site: acl.Site, gone: acl.Rule) -> acl.Site:
    return replace(
        site,
        main_rules=tuple(r for r in site.main_rules if r is not gone),
        scm_rules=tuple(r for r in site.scm_rules if r is not gone),
    )


def _swapped(site: acl.Site, a: int, b: int, collection: str) -> acl.Site:
    key = "main_rules" if collection == "main" else "scm_rules"
    items = list(getattr(site, key))
    i = next(k for k, r in enumerate(items) if r.position == a)
    j = next(k for k, r in enumerate(items) if r.position == b)
    items[i], items[j] = items[j], items[i]
    return replace(site, **{key: tuple(items)})


def _by_rule(findings: list[Finding], site: acl.Site) -> dict[tuple[str, int], set[str]]:
    codes: dict[tuple[str, int], set[str]] = {}
    for finding in findings:
        if (
            finding.code in ("ACL001", "ACL002", "ACL006", "ACL027", "ACL028", "ACL029")
            and finding.rules
        ):
            ref = finding.rules[0]
            codes.setdefault((ref.collection, ref.position), set()).add(finding.code)
    return codes


@given(config=site_configs(), data=st.data())
def test_shadowed_and_redundant_agree_with_brute_force(
    config: dict[str, Any], data: st.DataObject
) -> None:
    # lint looks at the rules as if public access were enabled (and says when it is not)
    _agrees_with_brute_force(replace(site_from_config(config), public_network_access=None), data)


@given(config=site_configs(), state=site_states(), data=st.data())
def test_lint_with_site_state_agrees_with_brute_force(
    config: dict[str, Any], state: dict[str, Any], data: st.DataObject
) -> None:
    site = replace(site_from_config(config), **{**state, "public_network_access": "Enabled"})
    _agrees_with_brute_force(site, data, endpoint_requests)


def _agrees_with_brute_force(site: acl.Site, data: st.DataObject, draw: Any = requests) -> None:
    findings = lint(site)
    codes = _by_rule(findings, site)
    batch = data.draw(st.lists(draw(site), min_size=20, max_size=40))
    deciders = {id(acl.evaluate(site, r).rule) for r in batch}
    for finding in findings:
        if finding.code == "ACL005":
            # equal priorities: swapping the two rules in the list changes some decision
            first, second = finding.rules
            assert diff(
                site, _swapped(site, first.position, second.position, first.collection)
            ).differences
    collections = ["main"] if site.scm_use_main else ["main", "scm"]
    for collection in collections:
        for r in site.rules(collection):
            mine = codes.get((r.collection, r.position), set())
            removed = diff(site, _without(site, r))
            if mine & {"ACL006", "ACL027", "ACL028", "ACL029"}:
                assert search(site, r.action, collection, rule=r) is None
                continue
            if "ACL001" in mine:
                assert id(r) not in deciders
                assert search(site, r.action, collection, rule=r) is None
                assert removed.identical
                finding = next(
                    f
                    for f in findings
                    if f.code == "ACL001"
                    and (f.rules[0].collection, f.rules[0].position) == (r.collection, r.position)
                )
                # the named cover alone still shadows the rule
                cover = {(c.collection, c.position) for c in finding.related}
                earlier = site.rules(collection)[: site.rules(collection).index(r)]
                kept = site
                for other in earlier:
                    if (other.collection, other.position) not in cover:
                        kept = _without(kept, other)
                assert search(kept, r.action, collection, rule=r) is None
                continue
            assert search(site, r.action, collection, rule=r) is not None
            assert removed.identical == ("ACL002" in mine), (r.label, mine, removed)


def test_public_access_disabled_by_a_private_endpoint_says_why() -> None:
    site = replace(site_of(rule("office", 100, "203.0.113.0/24")), has_private_endpoint=True)
    (finding,) = [f for f in lint(site) if f.code == "ACL026"]
    assert "publicNetworkAccess is absent and the site has a private endpoint" in finding.message


def test_private_range_says_why_and_is_quiet_on_an_ase() -> None:
    site = site_of(rule("vnet", 100, "10.1.0.0/16"))
    (finding,) = [f for f in lint(site) if f.code == "ACL031"]
    assert "never match traffic through a service endpoint" in finding.message
    assert not [f for f in lint(replace(site, hosting="ase")) if f.code == "ACL031"]


def test_service_endpoint_rules_that_never_match_are_not_unmatchable_rules() -> None:
    # ACL027-ACL029 say why such a rule never matches; ACL006 would blame its values.
    site = replace(
        site_of(rule("app", 100, SUBNETS[0]), rule("vnets", 200, "AnyVnets")),
        has_private_endpoint=True,
        hosting="ase",
        ip_based_ssl=True,
        public_network_access="Enabled",
    )
    codes = sorted(f.code for f in lint(site) if f.rules)
    assert codes == ["ACL027", "ACL027", "ACL028", "ACL028", "ACL029", "ACL029"]


def test_an_ip_rule_does_not_shadow_an_anyvnets_rule_on_multi_tenant() -> None:
    # Service-endpoint traffic is never matched by 0.0.0.0/0, so AnyVnets still decides.
    site = site_of(rule("all", 100, "0.0.0.0/0", "Deny"), rule("vnets", 200, "AnyVnets"))
    assert not [f for f in lint(site) if f.code in ("ACL001", "ACL006")]
    on_ase = [f.code for f in lint(replace(site, hosting="ase")) if f.rules]
    assert "ACL028" in on_ase and "ACL006" not in on_ase


def test_front_door_probes_against_brute_force() -> None:
    """ACL036 fires exactly when evaluating a probe (X-FD-HealthProbe: 1 and the profile
    id) at every AzureFrontDoor.Backend prefix boundary of the Front Door rule finds a
    denied one: a Deny rule for part of the tag's ranges blocks some probes."""
    site = site_of(
        rule("edge", 50, "4.153.250.0/29", "Deny", headers={"X-FD-HealthProbe": ["1"]}),
        tagged("front-door", 100, "AzureFrontDoor.Backend", headers={"X-Azure-FDID": [FDID]}),
    )
    (front_door,) = [r for r in site.main_rules if r.name == "front-door"]
    denied = False
    for source in front_door.sources:
        for prefix in source.prefixes:
            for value in {prefix.first, prefix.last}:
                address = str(acl.addresses.format_address(prefix.version, value))
                request = acl.Request(
                    address,
                    headers=[("X-FD-HealthProbe", "1"), ("X-Azure-FDID", FDID)],
                )
                denied = denied or not acl.evaluate(site, request).allowed
    findings = [f for f in lint(site) if f.code == "ACL036"]
    assert bool(findings) == denied
    assert findings and "some health probe" in findings[0].message
    assert findings[0].example is not None
    assert not acl.evaluate(site, findings[0].example).allowed

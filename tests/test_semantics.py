"""One test (at least) per behaviour of SEMANTICS.md, against the reference evaluator."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import acl
from acl import Action, Request
from acl.reference import evaluate

from .conftest import rule, site_of

FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
SUBNET = (
    "/subscriptions/0/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/app"
)


def decide(site: acl.Site, ip: str, **kw: object) -> acl.Decision:
    return evaluate(site, Request(ip, **kw))  # type: ignore[arg-type]


# §1 the site, collection selection ----------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "collection"),
    [
        ("app.scm.azurewebsites.net", "scm"),
        ("APP.SCM.AZUREWEBSITES.NET:443", "scm"),
        ("app.scm.ase.appserviceenvironment.net", "scm"),
        ("app.azurewebsites.net", "main"),
        ("scm.azurewebsites.net", "main"),
        ("www.contoso.com", "main"),
        ("a.b.scm.contoso.com", "main"),
        (None, "main"),
    ],
)
def test_scm_is_selected_by_the_second_label(host: str | None, collection: str) -> None:
    site = site_of(
        rule("main", 100, "0.0.0.0/0"), scmIpSecurityRestrictions=[rule("scm", 100, "0.0.0.0/0")]
    )
    decision = decide(site, "1.2.3.4", host=host)
    assert decision.collection == collection
    assert decision.decided_by == collection


def test_scm_use_main_takes_main_rules_and_main_default() -> None:
    site = site_of(
        rule("office", 100, "198.51.100.0/24"),
        ipSecurityRestrictionsDefaultAction="Allow",
        scmIpSecurityRestrictions=[rule("deploy", 100, "203.0.113.0/24", "Deny")],
        scmIpSecurityRestrictionsDefaultAction="Deny",
        scmIpSecurityRestrictionsUseMain=True,
    )
    d = decide(site, "203.0.113.5", host="x.scm.azurewebsites.net")
    assert (d.action, d.reason, d.collection) == (Action.ALLOW, "default", "scm")
    assert "scm uses the main rules" in d.detail


# §2 order of evaluation --------------------------------------------------------------------


def test_private_endpoint_comes_before_public_access_and_rules() -> None:
    site = site_of(rule("deny", 100, "0.0.0.0/0", "Deny"), publicNetworkAccess="Disabled")
    d = decide(site, "10.0.0.4", private_endpoint=True)
    assert (d.allowed, d.reason, d.trace) == (True, "private-endpoint", ())


def test_public_access_disabled_denies_before_rules() -> None:
    site = site_of(rule("all", 100, "0.0.0.0/0"), publicNetworkAccess="disabled")
    d = decide(site, "1.1.1.1")
    assert (d.allowed, d.reason, d.rule) == (False, "public-access-disabled", None)


@pytest.mark.parametrize("value", [None, ""])
def test_a_private_endpoint_disables_absent_public_access(value: str | None) -> None:
    site = replace(
        site_of(rule("all", 100, "0.0.0.0/0"), publicNetworkAccess=value), has_private_endpoint=True
    )
    d = decide(site, "1.1.1.1")
    assert (d.allowed, d.reason, d.rule) == (False, "public-access-disabled", None)
    assert d.detail == "publicNetworkAccess is absent and the site has a private endpoint"
    assert decide(site, "1.1.1.1", private_endpoint=True).reason == "private-endpoint"


def test_a_private_endpoint_with_public_access_enabled_refuses_service_endpoints() -> None:
    site = replace(
        site_of(
            rule("vnets", 100, "AnyVnets"), rule("any", 200, "Any"), publicNetworkAccess="Enabled"
        ),
        has_private_endpoint=True,
    )
    d = decide(site, "10.0.0.1", service_endpoint=True)
    assert (d.allowed, d.reason, d.trace) == (False, "service-endpoint-blocked", ())
    assert "private endpoint" in d.detail
    assert "no rule was evaluated" in d.explain()
    assert decide(site, "10.0.0.1", subnet=SUBNET).reason == "service-endpoint-blocked"
    assert decide(site, "1.1.1.1").decided_by == "any"
    assert decide(site, "1.1.1.1", private_endpoint=True).reason == "private-endpoint"


def test_public_access_enabled_or_absent_evaluates_rules() -> None:
    for value in ("Enabled", None):
        site = site_of(rule("all", 100, "0.0.0.0/0"), publicNetworkAccess=value)
        assert decide(site, "1.1.1.1").decided_by == "all"


def test_priority_order_is_stable_for_ties_and_ignores_position() -> None:
    site = site_of(
        rule("a-200", 200, "10.0.0.0/8", "Deny"),
        rule("b-max", 2147483647, "0.0.0.0/0"),
        rule("c-200", 200, "10.0.0.0/8"),
        rule("d-neg", -5, "10.9.0.0/16"),
    )
    assert [r.name for r in site.rules("main")] == ["d-neg", "a-200", "c-200", "b-max"]
    assert decide(site, "10.1.1.1").decided_by == "a-200"
    assert decide(site, "10.9.1.1").decided_by == "d-neg"
    assert decide(site, "11.0.0.1").decided_by == "b-max"


def test_header_miss_falls_through_and_is_traced() -> None:
    site = site_of(
        rule("fd", 100, "0.0.0.0/0", headers={"X-Azure-FDID": [FDID]}),
        rule("rest", 200, "0.0.0.0/0", "Deny"),
    )
    d = decide(site, "1.1.1.1", headers={"X-Azure-FDID": "other"})
    assert d.decided_by == "rest"
    assert [s.outcome for s in d.trace or ()] == ["header-missed", "matched"]
    assert "X-Azure-FDID" in d.explain()


@pytest.mark.parametrize(
    ("default", "rules", "expected"),
    [
        (None, [], Action.ALLOW),
        (None, [rule("a", 1, "192.0.2.0/24")], Action.DENY),
        (None, [rule("d", 1, "192.0.2.0/24", "Deny")], Action.DENY),
        ("Allow", [], Action.ALLOW),
        ("Allow", [rule("a", 1, "192.0.2.0/24")], Action.ALLOW),
        ("Deny", [], Action.DENY),
        ("Deny", [rule("d", 1, "192.0.2.0/24", "Deny")], Action.DENY),
        ("deny", [], Action.DENY),
    ],
)
def test_default_action_truth_table(
    default: str | None, rules: list[dict[str, object]], expected: Action
) -> None:
    site = site_of(*rules, ipSecurityRestrictionsDefaultAction=default)
    d = decide(site, "8.8.8.8")
    assert (d.action, d.reason) == (expected, "default")


def test_scm_default_truth_table_is_separate() -> None:
    site = site_of(rule("main", 1, "192.0.2.0/24"))
    assert decide(site, "8.8.8.8", host="a.scm.b").allowed  # scm: no rules, no default
    assert not decide(site, "8.8.8.8").allowed  # main: a rule, no default


def test_deny_gives_403_ip_forbidden_with_the_header() -> None:
    site = site_of(rule("d", 1, "0.0.0.0/0", "Deny"), rule("d6", 2, "::/0", "Deny"))
    v4 = decide(site, "192.0.2.1")
    assert (v4.status, v4.status_text, v4.forbidden_ip) == (403, "Ip Forbidden", "192.0.2.1")
    assert v4.response_headers == {"Content-Type": "text/html", "x-ms-forbidden-ip": "192.0.2.1"}
    v6 = decide(site, "fd00::1002:fc01:3000:2000:1000")
    assert v6.forbidden_ip == "[fd00::1002:fc01:3000:2000:1000]"
    allowed = decide(site_of(), "192.0.2.1")
    assert (allowed.status, allowed.forbidden_ip, allowed.response_headers) == (200, None, {})


def test_synthetic_rules_are_dropped_and_imply_the_default() -> None:
    site = site_of(
        rule("office", 100, "198.51.100.0/24"),
        {"ipAddress": "Any", "action": "Allow", "priority": 1, "name": "Allow all"},
    )
    assert [r.name for r in site.main_rules] == ["office"]
    assert site.main_default is Action.ALLOW
    assert decide(site, "8.8.8.8").allowed


def test_explicit_default_wins_over_a_synthetic_rule() -> None:
    site = site_of(
        {"ipAddress": "Any", "action": "Allow", "priority": 2147483647, "name": "Allow all"},
        ipSecurityRestrictionsDefaultAction="Deny",
    )
    assert site.main_default is Action.DENY


def test_any_as_a_user_rule_matches_everything() -> None:
    site = site_of(
        rule("everyone", 500, "Any", "Deny"), ipSecurityRestrictionsDefaultAction="Allow"
    )
    for ip in ("1.2.3.4", "2001:db8::1"):
        assert decide(site, ip).decided_by == "everyone"
    assert decide(site, "10.0.0.1", subnet=SUBNET).decided_by == "everyone"


# §3 sources --------------------------------------------------------------------------------


def test_families_are_separate_and_mapped_requests_are_ipv4() -> None:
    site = site_of(rule("v4", 1, "0.0.0.0/0"), rule("v6", 2, "::/0", "Deny"))
    assert decide(site, "::ffff:8.8.8.8").decided_by == "v4"
    assert decide(site, "2001:db8::1").decided_by == "v6"


def test_mapped_rule_prefix_never_matches() -> None:
    site = site_of(rule("mapped", 1, "::ffff:0.0.0.0/96"))
    assert decide(site, "::ffff:1.2.3.4").reason == "default"
    assert decide(site, "1.2.3.4").reason == "default"


def test_subnet_mask_gives_the_prefix() -> None:
    site = site_of(rule("masked", 1, "10.1.2.3", subnetMask="255.255.0.0"))
    assert decide(site, "10.1.200.1").decided_by == "masked"
    assert decide(site, "10.2.0.1").reason == "default"


def test_service_tags_cover_both_families_case_insensitively() -> None:
    site = site_of(rule("afd", 1, "azurefrontdoor.BACKEND", tag="ServiceTag"))
    assert decide(site, "147.243.0.1").decided_by == "afd"
    assert decide(site, "2a01:111:2050::1").decided_by == "afd"
    assert decide(site, "8.8.8.8").reason == "default"
    assert site.main_rules[0].sources[0].text == "AzureFrontDoor.Backend"
    assert len(site.main_rules[0].sources[0].prefixes) == 198


def test_several_service_tags_in_one_rule() -> None:
    site = site_of(rule("tags", 1, "AzureFrontDoor.Backend,AzureTrafficManager", tag="ServiceTag"))
    assert [s.text for s in site.main_rules[0].sources] == [
        "AzureFrontDoor.Backend",
        "AzureTrafficManager",
    ]


def test_anyvnets_matches_service_endpoint_traffic_only() -> None:
    site = site_of(rule("vnets", 1, "AnyVnets"))
    assert decide(site, "10.0.0.1", service_endpoint=True).decided_by == "vnets"
    assert decide(site, "10.0.0.1", subnet=SUBNET).decided_by == "vnets"
    assert decide(site, "10.0.0.1").reason == "default"


def test_subnet_rules_compare_the_id_case_insensitively_without_trailing_slash() -> None:
    site = site_of(rule("app", 1, SUBNET))
    assert decide(site, "10.0.0.1", subnet=SUBNET.upper() + "/").decided_by == "app"
    assert decide(site, "10.0.0.1", subnet=SUBNET + "x").reason == "default"
    assert decide(site, "10.0.0.1", service_endpoint=True).reason == "default"


def test_ip_rules_never_match_service_endpoint_traffic_on_multi_tenant() -> None:
    site = site_of(rule("all6", 1, "::/0"), rule("vnet", 2, "10.0.0.0/8"))
    assert decide(site, "fd00::1002:fc01:3000:2000:1000", subnet=SUBNET).reason == "default"
    assert decide(site, "10.0.0.1", service_endpoint=True).reason == "default"
    assert decide(site, "10.0.0.1").decided_by == "vnet"
    d = decide(site, "10.0.0.1", service_endpoint=True).with_trace()
    assert d.trace is not None and "never match a request that came through a service" in (
        d.trace[0].detail
    )


def test_any_anyvnets_and_subnet_rules_match_service_endpoint_traffic() -> None:
    site = site_of(
        rule("all", 1, "0.0.0.0/0", "Deny"), rule("app", 2, SUBNET), rule("any", 3, "Any", "Deny")
    )
    assert decide(site, "10.0.0.1", subnet=SUBNET).decided_by == "app"
    assert decide(site, "10.0.0.1", service_endpoint=True).decided_by == "any"


def test_an_ase_matches_private_ranges_and_never_service_endpoint_rules() -> None:
    site = replace(
        site_of(
            rule("app", 1, SUBNET), rule("vnets", 2, "AnyVnets"), rule("vnet", 3, "10.0.0.0/8")
        ),
        hosting="ase",
    )
    assert decide(site, "10.0.0.1", subnet=SUBNET).decided_by == "vnet"
    assert decide(site, "10.0.0.1", service_endpoint=True).decided_by == "vnet"
    assert decide(site, "192.0.2.1", subnet=SUBNET).reason == "default"
    d = decide(site, "192.0.2.1", subnet=SUBNET).with_trace()
    assert d.trace is not None and "App Service Environment" in d.trace[0].detail


def test_ip_based_ssl_makes_service_endpoint_rules_never_match() -> None:
    site = replace(site_of(rule("app", 1, SUBNET), rule("vnets", 2, "AnyVnets")), ip_based_ssl=True)
    assert decide(site, "10.0.0.1", subnet=SUBNET).reason == "default"
    assert decide(site, "10.0.0.1", service_endpoint=True).reason == "default"
    d = decide(site, "10.0.0.1", subnet=SUBNET).with_trace()
    assert d.trace is not None and "IP-based SSL" in d.trace[0].detail


# §5 headers --------------------------------------------------------------------------------


def _header_site(name: str, values: list[str]) -> acl.Site:
    return site_of(
        rule("h", 1, "0.0.0.0/0", headers={name: values}),
        ipSecurityRestrictionsDefaultAction="Deny",
    )


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"X-Forwarded-For": "203.0.113.1, 198.51.100.9"}, True),
        ({"x-forwarded-for": "198.51.100.9:4431"}, True),
        ({"X-Forwarded-For": ["203.0.113.1", " 198.51.100.1 "]}, True),
        ({"X-Forwarded-For": "[2001:db8::7]:443"}, True),
        ({"X-Forwarded-For": "2001:db8::7"}, True),
        ({"X-Forwarded-For": "unknown, garbage, 198.51.100.3"}, True),
        ({"X-Forwarded-For": "::ffff:198.51.100.3"}, True),
        ({"X-Forwarded-For": "203.0.113.1"}, False),
        ({"X-Forwarded-For": ""}, False),
        ({"X-Forwarded-For": "010.1.1.1, 198.51.100.0x"}, False),
        ({}, False),
    ],
)
def test_x_forwarded_for_chain(headers: dict[str, object], allowed: bool) -> None:
    site = _header_site("X-Forwarded-For", ["198.51.100.0/24", "2001:db8::/32"])
    assert decide(site, "5.5.5.5", headers=headers).allowed is allowed


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("www.contoso.com", True),
        ("WWW.CONTOSO.COM:8443", True),
        ("contoso.com", False),
        ("a.fabrikam.com", True),
        ("fabrikam.com", False),
        ("a.b.fabrikam.com", False),
        (".fabrikam.com", False),
        ("bücher.example", True),
        ("xn--bcher-kva.example", True),
        ("other.example, www.contoso.com", True),
        ("", False),
    ],
)
def test_x_forwarded_host(value: str, allowed: bool) -> None:
    site = _header_site("X-Forwarded-Host", ["www.contoso.com", "*.fabrikam.com", "BÜCHER.example"])
    assert decide(site, "5.5.5.5", headers={"X-Forwarded-Host": value}).allowed is allowed


@pytest.mark.parametrize("name", ["X-Azure-FDID", "X-FD-HealthProbe"])
def test_exact_headers(name: str) -> None:
    site = _header_site(name, [FDID, "1"])
    assert decide(site, "5.5.5.5", headers={name: FDID}).allowed
    assert decide(site, "5.5.5.5", headers={name.lower(): "1"}).allowed
    assert not decide(site, "5.5.5.5", headers={name: FDID.upper()}).allowed
    assert not decide(site, "5.5.5.5", headers={name: [FDID, FDID]}).allowed
    assert not decide(site, "5.5.5.5", headers={name: f"{FDID},1"}).allowed
    assert not decide(site, "5.5.5.5").allowed


def test_headers_and_across_names_or_within() -> None:
    site = site_of(
        rule(
            "both", 1, "0.0.0.0/0", headers={"X-Azure-FDID": [FDID, "x"], "X-FD-HealthProbe": ["1"]}
        ),
        ipSecurityRestrictionsDefaultAction="Deny",
    )
    assert decide(site, "1.1.1.1", headers={"X-Azure-FDID": "x", "X-FD-HealthProbe": "1"}).allowed
    assert not decide(site, "1.1.1.1", headers={"X-Azure-FDID": "x"}).allowed
    assert not decide(site, "1.1.1.1", headers={"X-FD-HealthProbe": "1"}).allowed


def test_empty_or_null_filter_accepts_anything() -> None:
    for values in ([], None):
        site = site_of(
            rule("h", 1, "0.0.0.0/0", headers={"X-Azure-FDID": values}),
            ipSecurityRestrictionsDefaultAction="Deny",
        )
        assert site.main_rules[0].headers == ()
        assert decide(site, "1.1.1.1").allowed


def test_front_door_recipe() -> None:
    site = site_of(
        rule("afd", 1, "AzureFrontDoor.Backend", tag="ServiceTag", headers={"x-azure-fdid": [FDID]})
    )
    assert decide(site, "147.243.10.20", headers={"X-Azure-FDID": FDID}).decided_by == "afd"
    assert decide(site, "147.243.10.20", headers={"X-Azure-FDID": "another"}).reason == "default"
    assert decide(site, "81.2.69.142", headers={"X-Azure-FDID": FDID}).reason == "default"


# requests ----------------------------------------------------------------------------------


def test_request_normalises_and_validates() -> None:
    r = Request(
        "::ffff:1.2.3.4", headers=[("X-Azure-FDID", "a"), ("x-azure-fdid", "b")], subnet=SUBNET
    )
    assert r.address == "1.2.3.4"
    assert r.header("X-AZURE-FDID") == ["a", "b"]
    assert r.service_endpoint
    for bad in ("1.2.3", "fe80::1%eth0", "01.2.3.4"):
        with pytest.raises(acl.RequestError, match="request address"):
            Request(bad)
    with pytest.raises(acl.RequestError, match="neither a string nor a list"):
        Request("1.2.3.4", headers={"X-Azure-FDID": 5})  # type: ignore[dict-item]
    with pytest.raises(acl.RequestError, match="value 5 is not a string"):
        Request("1.2.3.4", headers={"X-Azure-FDID": ["a", 5]})  # type: ignore[list-item]


def test_decisions_are_immutable() -> None:
    d = decide(site_of(), "1.2.3.4")
    with pytest.raises(AttributeError):
        d.reason = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        site_of().main_rules = ()  # type: ignore[misc]


def test_decision_json_is_stable() -> None:
    site = site_of(rule("office", 100, "198.51.100.0/24"))
    d = decide(site, "198.51.100.7")
    assert d.to_dict() == {
        "action": "allow",
        "status": 200,
        "reason": "rule",
        "collection": "main",
        "address": "198.51.100.7",
        "rule": {
            "position": 0,
            "name": "office",
            "priority": 100,
            "action": "allow",
            "collection": "main",
        },
        "detail": "rule 'office' (#0, priority 100) matched",
        "forbidden_ip": None,
    }
    traced = d.to_dict(trace=True)["trace"]
    assert traced == [
        {
            "rule": traced[0]["rule"],
            "outcome": "matched",
            "detail": "source and every header filter matched",
        }
    ]


# Expectation files for a site with a private endpoint (site resources with an approved
# privateEndpointConnections entry): the loader must see the private endpoint, and both the
# reference evaluator and the engine must decide every case as the file says.
PRIVATE_ENDPOINT_CASES = sorted(
    (Path(__file__).parent / "expectations").glob("private-endpoint-public-access-*.json")
)


def test_the_private_endpoint_expectation_files_are_there() -> None:
    assert [p.name.rsplit("-", 1)[1] for p in PRIVATE_ENDPOINT_CASES] == [
        "absent.json",
        "disabled.json",
        "enabled.json",
    ]


@pytest.mark.parametrize("path", PRIVATE_ENDPOINT_CASES, ids=lambda p: p.name)
def test_private_endpoint_expectation_files(path: Path) -> None:
    from acl.expectations import request_from_dict

    doc = json.loads(path.read_text())
    site = acl.loads(json.dumps(doc["site"]))
    assert site.has_private_endpoint, path.name
    engine = acl.compile(site)
    for case in doc["cases"]:
        request = request_from_dict(case["request"])
        for decision in (acl.evaluate(site, request), engine.decide(request)):
            assert decision.action.word == case["expect"], (path.name, case["name"])
            assert decision.decided_by == case["rule"], (path.name, case["name"])

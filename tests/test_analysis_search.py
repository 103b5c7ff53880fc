"""acl.analysis.search: witnesses are real, and "none exists" is true (brute force)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import acl
from acl.analysis import AnalysisError, search
from acl.headers import HEADER_NAMES

from .conftest import rule, site_of
from .strategies import (
    FDIDS,
    SUBNETS,
    endpoint_requests,
    requests,
    site_configs,
    site_from_config,
    stateful_sites,
)


def test_can_anything_reach_scm_from_the_internet(example_site: acl.Site) -> None:
    found = search(example_site, "allow", "scm", endpoint="none")
    assert found is not None
    assert found.collection == "scm" and found.rule is not None
    assert found.rule.name == "build-agents"
    assert found.request.address == "192.0.2.7"
    assert not found.request.service_endpoint
    assert acl.evaluate(example_site, found.request).allowed
    assert search(example_site, "allow", "scm", family="ipv6") is None


def test_a_rule_needing_a_header_gets_it(example_site: acl.Site) -> None:
    found = search(example_site, "allow", rule="front-door")
    assert found is not None
    assert found.request.header("X-Azure-FDID") == ["0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"]
    assert search(example_site, "allow", rule="front-door", without_header="x-azure-fdid") is None


def test_a_subnet_rule_gets_its_subnet(example_site: acl.Site) -> None:
    found = search(example_site, "allow", rule="jobs-subnet")
    assert found is not None and found.request.subnet is not None
    assert found.request.subnet.endswith("/subnets/jobs")
    assert search(example_site, "allow", rule="jobs-subnet", endpoint="none") is None


def test_the_simplest_witness_comes_first() -> None:
    site = site_of(
        rule("fd", 100, "0.0.0.0/0", headers={"X-Azure-FDID": [FDIDS[0]]}),
        rule("office", 200, "203.0.113.0/24"),
    )
    found = search(site, "allow")
    assert found is not None and found.rule is not None
    assert found.rule.name == "office" and found.request.headers == ()


def test_a_dead_rule_has_no_witness() -> None:
    site = site_of(rule("all", 100, "0.0.0.0/0", "Deny"), rule("office", 200, "203.0.113.0/24"))
    assert search(site, "allow", rule="office") is None
    assert search(site, "allow", rule="#1") is None
    assert search(site, "deny", rule="office") is None  # an Allow rule never denies
    deny = search(site, "deny", family=4)
    assert deny is not None and deny.rule is not None and deny.rule.name == "all"


def test_default_and_disabled() -> None:
    site = site_of(rule("office", 100, "203.0.113.0/24"), publicNetworkAccess="Disabled")
    assert search(site, "allow") is None
    found = search(site, "deny")
    assert found is not None and found.decision.reason == "public-access-disabled"
    open_site = site_of()
    found = search(open_site, "allow", family="ipv6")
    assert found is not None and found.decision.reason == "default"
    assert found.request.address == "2001:db8::7"
    assert search(open_site, "deny") is None


def test_scm_rules_ignored_when_scm_uses_main() -> None:
    site = site_of(
        rule("office", 100, "203.0.113.0/24"),
        scmIpSecurityRestrictionsUseMain=True,
        scmIpSecurityRestrictions=[rule("agents", 100, "192.0.2.0/28")],
    )
    assert search(site, "allow", "scm", rule="agents") is None
    found = search(site, "allow", "scm")
    assert found is not None and found.rule is not None and found.rule.name == "office"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rule": "nope"}, "rule 'nope' is not in the main collection"),
        ({"family": "ipv5"}, "family 'ipv5' is not valid"),
        ({"without_header": "X-Custom"}, "header 'X-Custom' is not one App Service filters on"),
        ({"decision": "maybe"}, "decision 'maybe' is not valid"),
        ({"endpoint": "vpn"}, "endpoint 'vpn' is not valid"),
        ({"collection": "kudu"}, "collection 'kudu' is not valid"),
    ],
)
def test_bad_questions_are_errors(kwargs: dict[str, Any], message: str) -> None:
    site = site_of(rule("office", 100, "203.0.113.0/24"))
    with pytest.raises(AnalysisError, match=message):
        search(site, **kwargs)


@st.composite
def questions(draw: st.DrawFn, site: acl.Site) -> dict[str, Any]:
    question: dict[str, Any] = {
        "decision": draw(st.sampled_from(["allow", "deny"])),
        "collection": draw(st.sampled_from(["main", "scm"])),
        "family": draw(st.sampled_from([None, None, "ipv4", "ipv6"])),
        "without_header": draw(st.lists(st.sampled_from(HEADER_NAMES), max_size=2)),
        "endpoint": draw(st.sampled_from(["any", "any", "none", "service"])),
    }
    rules = site.rules(question["collection"])
    if rules and draw(st.booleans()):
        question["rule"] = draw(st.sampled_from(rules))
    return question


def _meets(question: dict[str, Any], request: acl.Request) -> bool:
    if request.private_endpoint or request.collection != question["collection"]:
        return False
    if question["family"] is not None and f"ipv{request.version}" != question["family"]:
        return False
    if any(request.header(name) for name in question["without_header"]):
        return False
    if question["endpoint"] == "none" and request.service_endpoint:
        return False
    return not (question["endpoint"] == "service" and not request.service_endpoint)


def _answers(question: dict[str, Any], decision: acl.Decision) -> bool:
    if decision.action.word != question["decision"]:
        return False
    return "rule" not in question or decision.rule is question["rule"]


@given(config=site_configs(), data=st.data())
def test_search_is_exact_against_brute_force(config: dict[str, Any], data: st.DataObject) -> None:
    _search_agrees(site_from_config(config), data, requests)


@given(site=stateful_sites(), data=st.data())
def test_search_with_site_state_is_exact_against_brute_force(
    site: acl.Site, data: st.DataObject
) -> None:
    _search_agrees(site, data, endpoint_requests)


def _search_agrees(site: acl.Site, data: st.DataObject, draw: Any) -> None:
    batch = data.draw(st.lists(draw(site), min_size=30, max_size=50))
    for question in data.draw(st.lists(questions(site), min_size=1, max_size=4)):
        found = search(site, **question)
        if found is not None:
            assert _meets(question, found.request), (question, found.request)
            assert _answers(question, acl.evaluate(site, found.request))
            continue
        for request in batch:
            if _meets(question, request):
                decision = acl.evaluate(site, request)
                assert not _answers(question, decision), (question, request, decision.summary())


def test_subnet_endpoint_search() -> None:
    site = site_of(rule("a", 100, SUBNETS[0]), rule("b", 200, "AnyVnets", "Deny"))
    found = search(site, "deny", endpoint="service")
    assert found is not None and found.rule is not None and found.rule.name == "b"
    assert found.request.subnet is None and found.request.service_endpoint


def test_search_finds_service_endpoint_traffic_past_ip_rules() -> None:
    # multi-tenant: 0.0.0.0/0 and ::/0 never match service-endpoint traffic
    site = site_of(rule("all", 100, "0.0.0.0/0,::/0"), ipSecurityRestrictionsDefaultAction="Deny")
    found = search(site, "deny")
    assert found is not None and found.request.service_endpoint
    assert found.decision.reason == "default"
    assert search(site, "deny", endpoint="none") is None
    assert search(replace(site, hosting="ase"), "deny") is None


def test_search_finds_service_endpoint_traffic_refused_by_a_private_endpoint() -> None:
    site = replace(
        site_of(rule("any", 100, "Any"), publicNetworkAccess="Enabled"), has_private_endpoint=True
    )
    found = search(site, "deny")
    assert found is not None and found.decision.reason == "service-endpoint-blocked"
    assert search(site, "deny", endpoint="none") is None
    assert search(replace(site, public_network_access=None), "allow") is None

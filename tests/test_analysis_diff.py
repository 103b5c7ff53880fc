"""acl.analysis.diff: exact differences, checked against brute-force evaluation."""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import replace
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

import acl
from acl.analysis import Diff, diff
from acl.analysis.diff import in_ranges
from acl.model import Site

from . import strategies
from .conftest import rule, site_of
from .strategies import (
    FDIDS,
    SUBNETS,
    requests,
    rules,
    site_configs,
    site_from_config,
    site_states,
)

# ---------------------------------------------------------------------------- examples


def test_identical_sites_have_no_difference(example_site: acl.Site) -> None:
    result = diff(example_site, example_site)
    assert result.identical and result.complete and result.differences == ()


def test_equivalent_rewrites_are_identical() -> None:
    # Two /25s instead of a /24, reordered, renamed, another position: same decisions.
    old = site_of(rule("office", 100, "198.51.100.0/24"))
    new = site_of(
        rule("b", 300, "198.51.100.128/25"), rule("a", 200, "198.51.100.0/25,198.51.100.0/26")
    )
    assert diff(old, new).identical
    assert not diff(old, new, compare="rule").identical


def test_a_narrowed_rule_reports_the_range_in_fewest_cidrs() -> None:
    old = site_of(rule("office", 100, "198.51.100.0/24"))
    new = site_of(rule("office", 100, "198.51.100.0/26"))
    (d,) = diff(old, new).differences
    assert d.collection == "main"
    assert d.cidrs == ("198.51.100.64/26", "198.51.100.128/25")
    assert d.old.action is acl.Action.ALLOW and d.old.rule is not None
    assert d.old.rule.name == "office"
    assert d.new.action is acl.Action.DENY and d.new.reason == "default"
    assert str(d.condition) == "no service endpoint"
    assert acl.evaluate(old, d.example).allowed and not acl.evaluate(new, d.example).allowed
    assert d.example.address == "198.51.100.129"


def test_a_header_filter_added_is_a_header_condition() -> None:
    fdid = FDIDS[0]
    old = site_of(rule("fd", 100, "0.0.0.0/0"), ipSecurityRestrictionsDefaultAction="Deny")
    new = site_of(
        rule("fd", 100, "0.0.0.0/0", headers={"X-Azure-FDID": [fdid]}),
        ipSecurityRestrictionsDefaultAction="Deny",
    )
    (d,) = diff(old, new).differences
    assert d.cidrs == ("0.0.0.0/0",)
    assert len(d.condition.headers) == 1
    header = d.condition.headers[0]
    assert header.header == "X-Azure-FDID"
    assert header.matches == () and [f.values for f in header.does_not_match] == [(fdid,)]
    assert str(d.condition) == f"X-Azure-FDID matches none of [{fdid}]; no service endpoint"
    assert d.old.action is acl.Action.ALLOW and d.new.action is acl.Action.DENY
    assert d.example.header("X-Azure-FDID") == []


def test_endpoint_conditions() -> None:
    old = site_of(rule("vnet", 100, SUBNETS[0]))
    new = site_of(rule("vnet", 100, "AnyVnets"))
    (d,) = diff(old, new).differences
    assert d.condition.endpoint.kind == "service"
    assert d.condition.endpoint.excluded == (SUBNETS[0].lower(),)
    assert d.example.service_endpoint and d.example.subnet is None
    assert "service endpoint (from none of" in str(d.condition)


def test_public_access_disabled_differs_wherever_something_was_allowed() -> None:
    old = site_of(rule("office", 100, "198.51.100.0/24"))
    new = site_of(rule("office", 100, "198.51.100.0/24"), publicNetworkAccess="Disabled")
    result = diff(old, new)
    main = [d for d in result.differences if d.collection == "main"]
    assert [d.cidrs for d in main] == [("198.51.100.0/24",)]
    assert main[0].new.reason == "public-access-disabled"
    # scm has no rules: everything was allowed. The IPv4-mapped block holds no request
    # address, so IPv6 still reads as ::/0.
    scm = [d for d in result.differences if d.collection == "scm"]
    assert [d.cidrs for d in scm] == [("0.0.0.0/0", "::/0")]


def test_scm_use_main_switch() -> None:
    old = site_of(rule("office", 100, "198.51.100.0/24"))
    new = site_of(rule("office", 100, "198.51.100.0/24"), scmIpSecurityRestrictionsUseMain=True)
    result = diff(old, new)
    assert {d.collection for d in result.differences} == {"scm"}
    assert all(d.new.action is acl.Action.DENY for d in result.differences)


def test_the_ipv4_mapped_block_is_never_a_difference() -> None:
    old = site_of(
        rule("mapped", 100, "::ffff:0.0.0.0/96"), ipSecurityRestrictionsDefaultAction="Deny"
    )
    new = site_of(rule("other", 100, "2001:db8::/32"), ipSecurityRestrictionsDefaultAction="Deny")
    result = diff(old, new)
    assert [d.cidrs for d in result.differences if d.collection == "main"] == [("2001:db8::/32",)]


def test_beyond_the_state_limit_the_diff_still_proves_or_shows() -> None:
    filters = [
        rule(f"x{i}", 100 + i, "Any", headers={"X-Forwarded-For": [f"10.0.0.{i}"]})
        for i in range(6)
    ]
    old = site_of(*filters)
    result = diff(old, site_of(*filters[:-1]), limit=8)
    (unresolved,) = result.unresolved
    assert not result.identical and unresolved.example is not None
    assert unresolved.old is not None and unresolved.old.rule is not None
    assert unresolved.old.rule.name == "x5" and unresolved.new is not None
    assert unresolved.new.reason == "default"
    assert unresolved.example.header("X-Forwarded-For") == ["10.0.0.5"]
    renamed = site_of(*[dict(f, name=f"y{i}") for i, f in enumerate(filters)])
    assert diff(old, renamed, limit=8).identical


def test_beyond_the_state_limit_the_diff_says_so() -> None:
    filters = [
        rule(f"x{i}", 100 + i, "Any", headers={"X-Forwarded-For": [f"10.0.0.{i}"]})
        for i in range(6)
    ]
    old = site_of(*filters)
    new = site_of(*filters[:-1])
    result = diff(old, new, limit=8)
    assert not result.complete and not result.identical
    assert result.unresolved[0].cidrs
    assert not diff(old, new).identical and diff(old, new).complete


def test_compact_cidrs_use_the_complement_when_shorter() -> None:
    old = site_of(rule("a", 100, "198.51.100.0/24,2001:db8::/32", "Deny"))
    new = site_of(
        rule("a", 100, "198.51.100.0/24,2001:db8::/32", "Deny"),
        ipSecurityRestrictionsDefaultAction="Allow",
    )
    by_condition = {str(d.condition): d for d in diff(old, new).differences}
    # Service-endpoint traffic is matched by no IP rule: inside the rule's ranges it
    # changes too.
    assert by_condition["service endpoint"].cidrs == ("198.51.100.0/24", "2001:db8::/32")
    d = by_condition["any headers, any endpoint"]
    assert d.compact_cidrs == (("0.0.0.0/0", "::/0"), ("198.51.100.0/24", "2001:db8::/32"))
    assert len(d.cidrs) > 40
    assert diff(new, old).differences[0].to_dict()["compact"]["exclude"][0] == "198.51.100.0/24"


def test_compare_option_is_checked() -> None:
    site = site_of(rule("a", 1, "Any"))
    with pytest.raises(acl.AclError):
        diff(site, site, compare="everything")  # type: ignore[arg-type]


def test_to_dict_is_json_shaped() -> None:
    old = site_of(rule("office", 100, "198.51.100.0/24"))
    new = site_of(rule("office", 100, "198.51.100.0/25"))
    data = diff(old, new).to_dict()
    assert data["identical"] is False and data["complete"] is True
    (d,) = data["differences"]
    assert d["cidrs"] == ["198.51.100.128/25"]
    assert d["old"]["rule"]["name"] == "office" and d["new"]["reason"] == "default"
    assert d["example"]["ip"] == "198.51.100.129"


# ---------------------------------------------------------------------------- brute force


@st.composite
def edited(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A site config and an edit of it: the small changes a pull request makes, or another
    site altogether."""
    config = draw(site_configs())
    if draw(st.integers(0, 5)) == 0:
        return config, draw(site_configs())
    new = copy.deepcopy(config)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(["ipSecurityRestrictions", "scmIpSecurityRestrictions"]))
        items = new[key]
        op = draw(st.sampled_from(["drop", "flip", "priority", "headers", "add", "default"]))
        if op == "default":
            new["ipSecurityRestrictionsDefaultAction"] = draw(st.sampled_from(["Allow", "Deny"]))
        elif op == "add" or not items:
            items.append(draw(rules("added")))
        else:
            item = items[draw(st.integers(0, len(items) - 1))]
            if op == "drop":
                items.remove(item)
            elif op == "flip":
                item["action"] = "Deny" if item["action"] == "Allow" else "Allow"
            elif op == "priority":
                item["priority"] = draw(st.sampled_from([50, 100, 150, 250, 65000]))
            else:
                item.pop("headers", None)
    return config, new


def _pool(a: Site, b: Site) -> Site:
    """A site holding both sites' rules: request strategies draw edges from it."""
    return Site(main_rules=a.main_rules + b.main_rules, scm_rules=a.scm_rules + b.scm_rules)


def _identity(decision: acl.Decision) -> tuple[Any, ...]:
    rule = decision.rule
    return (
        decision.action,
        decision.reason,
        rule.name if rule is not None else None,
        rule.priority if rule is not None else None,
    )


Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


def _networks(cidrs: tuple[str, ...]) -> Networks:
    return [ipaddress.ip_network(c) for c in cidrs]


def _in(networks: Networks, request: acl.Request) -> bool:
    address = ipaddress.ip_address(request.address)
    return any(address.version == net.version and address in net for net in networks)


def _check_compact(result: Diff, batch: list[acl.Request]) -> None:
    """The compact form (a family minus exceptions) holds the same request addresses."""
    for d in result.differences[:5]:
        include, exclude = (_networks(part) for part in d.compact_cidrs)
        exact = _networks(d.cidrs)
        for request in batch:
            compact = _in(include, request) and not _in(exclude, request)
            assert compact == _in(exact, request), (d.cidrs, d.compact_cidrs, request)


def _check(a: Site, b: Site, result: Diff, request: acl.Request) -> None:
    da, db = acl.evaluate(a, request), acl.evaluate(b, request)
    collection = request.collection
    inside = [d for d in result.differences if d.collection == collection and d.contains(request)]
    assert len(inside) <= 1, "the differences overlap"
    if result.compare == "action":
        differs = da.action is not db.action
    else:
        differs = _identity(da) != _identity(db)
    if not differs:
        assert not inside, f"{request} is reported but decided alike: {da.summary()}"
        return
    assert inside, f"{request} flips ({da.summary()} / {db.summary()}) but is not reported"
    d = inside[0]
    assert (d.old.action, d.old.reason, d.old.rule) == (da.action, da.reason, da.rule)
    assert (d.new.action, d.new.reason, d.new.rule) == (db.action, db.reason, db.rule)


@given(configs=edited(), data=st.data())
def test_diff_is_exact_against_brute_force(
    configs: tuple[dict[str, Any], dict[str, Any]], data: st.DataObject
) -> None:
    a, b = site_from_config(configs[0]), site_from_config(configs[1])
    pool = _pool(a, b)
    pool_edges = strategies.edges(pool)
    with mock.patch.object(strategies, "edges", lambda site: pool_edges):
        batch = data.draw(st.lists(requests(pool), min_size=20, max_size=40))
    small = diff(a, b, limit=2)  # most ranges settled without enumerating header states
    for request in batch:
        da, db = acl.evaluate(a, request), acl.evaluate(b, request)
        inside = [d for d in small.differences if d.contains(request)]
        pending = [
            u
            for u in small.unresolved
            if u.collection == request.collection
            and not request.private_endpoint
            and in_ranges(u.ranges, request.version, request.value)
        ]
        if da.action is not db.action:
            assert inside or pending, (request, da.summary(), db.summary())
        else:
            assert not inside
    for u in small.unresolved:
        if u.example is not None:
            assert acl.evaluate(a, u.example).action is not acl.evaluate(b, u.example).action
    for compare in ("action", "rule"):
        result = diff(a, b, compare=compare)
        assert result.complete
        if compare == "action":
            _check_compact(result, batch[:10])
        for request in batch:
            _check(a, b, result, request)
        for d in result.differences[:12]:
            # every reported difference really flips: its example and its range edges
            _check(a, b, result, d.example)
            for version, first, last in d.ranges[:3] + d.ranges[-2:]:
                for value in {first, last, (first + last) // 2}:
                    if version == 6 and (value >> 32) == 0xFFFF:
                        continue  # an IPv4-mapped address is a request from IPv4
                    ip = str(
                        ipaddress.ip_address(value)
                        if version == 4
                        else ipaddress.IPv6Address(value)
                    )
                    _check(
                        a,
                        b,
                        result,
                        acl.Request(
                            ip,
                            host=d.example.host,
                            headers=d.example.headers,
                            subnet=d.example.subnet,
                            service_endpoint=d.example.service_endpoint,
                        ),
                    )


def _state_diff(**state: object) -> Diff:
    site = site_of(
        rule("office", 100, "198.51.100.0/24"),
        rule("vnets", 200, "AnyVnets"),
        publicNetworkAccess="Enabled",
    )
    return diff(site, replace(site, **state))  # type: ignore[arg-type]


def test_a_private_endpoint_alone_changes_service_endpoint_decisions() -> None:
    result = _state_diff(has_private_endpoint=True)
    (d,) = [d for d in result.differences if d.collection == "main"]
    assert d.old.rule is not None and d.old.rule.name == "vnets"
    assert d.new.reason == "service-endpoint-blocked"
    assert d.example.service_endpoint
    assert str(d.condition).startswith("service endpoint")


def test_a_private_endpoint_with_absent_public_access_closes_the_site() -> None:
    site = site_of(rule("office", 100, "198.51.100.0/24"))
    result = diff(site, replace(site, has_private_endpoint=True))
    assert result.differences
    assert {d.new.reason for d in result.differences} == {"public-access-disabled"}
    assert all(d.old.action is acl.Action.ALLOW for d in result.differences)


def test_hosting_in_an_ase_changes_endpoint_traffic() -> None:
    result = _state_diff(hosting="ase")
    (d,) = result.differences
    assert d.example.service_endpoint
    assert d.old.rule is not None and d.old.rule.name == "vnets"
    assert d.new.reason == "default"
    assert "198.51.100.0/24" not in d.cidrs  # there the office rule allows on an ASE too


def test_ip_based_ssl_alone_changes_anyvnets_decisions() -> None:
    result = _state_diff(ip_based_ssl=True)
    (d,) = result.differences
    assert d.old.rule is not None and d.old.rule.name == "vnets"
    assert d.new.reason == "default" and d.new.action is acl.Action.DENY


@given(config=site_configs(), state=site_states())
def test_diff_over_site_state_agrees_with_the_reference(
    config: dict[str, object], state: dict[str, object]
) -> None:
    old = site_from_config(config)
    new = replace(old, **state)  # type: ignore[arg-type]
    result = diff(old, new)  # verify=True checks every example with the reference
    probes = [
        acl.Request(ip, subnet=subnet, service_endpoint=se)
        for ip in ("198.51.100.7", "10.0.0.1", "2001:db8::7")
        for subnet, se in ((None, False), (None, True), (SUBNETS[0], True))
    ]
    for request in probes:
        a, b = acl.evaluate(old, request), acl.evaluate(new, request)
        inside = any(d.contains(request) for d in result.differences)
        if result.complete:
            assert inside == (a.action is not b.action), (request, a, b)

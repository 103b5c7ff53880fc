"""Properties of the reference evaluator (the oracle of every faster path)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

import acl
from acl.compiler import REASON_CODES
from acl.engine import KERNELS
from acl.reference import evaluate

from .strategies import (
    endpoint_requests,
    requests,
    rules,
    site_configs,
    site_from_config,
    stateful_sites,
)


@given(config=site_configs(), data=st.data())
def test_order_of_rules_with_distinct_priorities_does_not_matter(
    config: dict[str, Any], data: st.DataObject
) -> None:
    main = config["ipSecurityRestrictions"]
    for i, rule in enumerate(main):
        rule["priority"] = 1000 + i * 7
    shuffled = copy.deepcopy(config)
    shuffled["ipSecurityRestrictions"] = data.draw(st.permutations(main))
    a, b = site_from_config(config), site_from_config(shuffled)
    for request in data.draw(st.lists(requests(a), min_size=1, max_size=8)):
        da, db = evaluate(a, request), evaluate(b, request)
        assert (da.action, da.reason, da.decided_by) == (db.action, db.reason, db.decided_by)


@given(config=site_configs(), data=st.data())
def test_a_later_rule_never_changes_a_decision_made_by_a_rule(
    config: dict[str, Any], data: st.DataObject
) -> None:
    before = site_from_config(config)
    extra = data.draw(rules("added"))
    extra["priority"] = 2147483647  # after every rule (ties keep the listed order: it is last)
    after_config = copy.deepcopy(config)
    after_config["ipSecurityRestrictions"].append(extra)
    after_config["scmIpSecurityRestrictions"].append(extra)
    after = site_from_config(after_config)
    for request in data.draw(st.lists(requests(before), min_size=1, max_size=8)):
        d = evaluate(before, request)
        if d.reason == "rule":
            e = evaluate(after, request)
            assert (e.action, e.decided_by) == (d.action, d.decided_by)


@given(config=site_configs(), data=st.data())
def test_private_endpoint_is_always_allowed(config: dict[str, Any], data: st.DataObject) -> None:
    site = site_from_config(config)
    request = data.draw(requests(site))
    private = acl.Request(
        request.ip, host=request.host, headers=request.headers, private_endpoint=True
    )
    d = evaluate(site, private)
    assert d.allowed and d.reason == "private-endpoint"


@given(config=site_configs(), data=st.data())
def test_a_header_filter_only_narrows_a_rule(config: dict[str, Any], data: st.DataObject) -> None:
    main = config["ipSecurityRestrictions"]
    assume(main)
    index = data.draw(st.integers(0, len(main) - 1))
    existing = {name.lower() for name in main[index].get("headers", {})}
    assume("x-azure-fdid" not in existing)  # replacing a filter could widen the rule
    narrowed = copy.deepcopy(config)
    narrowed["ipSecurityRestrictions"][index].setdefault("headers", {})["X-Azure-FDID"] = [
        "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
    ]
    wide, narrow = site_from_config(config), site_from_config(narrowed)
    name = main[index]["name"]
    for request in data.draw(st.lists(requests(wide), min_size=1, max_size=8)):
        if evaluate(narrow, request).decided_by == name:
            assert evaluate(wide, request).decided_by == name


@given(config=site_configs(), data=st.data())
def test_scm_use_main_decides_scm_like_main(config: dict[str, Any], data: st.DataObject) -> None:
    config["scmIpSecurityRestrictionsUseMain"] = True
    site = site_from_config(config)
    for request in data.draw(st.lists(requests(site), min_size=1, max_size=8)):
        main = acl.Request(
            request.ip,
            host="app.azurewebsites.net",
            headers=request.headers,
            subnet=request.subnet,
            service_endpoint=request.service_endpoint,
        )
        scm = acl.Request(
            request.ip,
            host="app.scm.azurewebsites.net",
            headers=request.headers,
            subnet=request.subnet,
            service_endpoint=request.service_endpoint,
        )
        dm, ds = evaluate(site, main), evaluate(site, scm)
        assert (dm.action, dm.reason, dm.rule) == (ds.action, ds.reason, ds.rule)
        assert ds.collection == "scm"


@given(config=site_configs(), data=st.data())
def test_the_trace_ends_at_the_deciding_rule(config: dict[str, Any], data: st.DataObject) -> None:
    site = site_from_config(config)
    request = data.draw(requests(site))
    d = evaluate(site, request)
    trace = d.trace or ()
    if d.reason == "rule":
        assert trace[-1].outcome == "matched" and trace[-1].rule is d.rule
        assert all(step.outcome != "matched" for step in trace[:-1])
    elif d.reason == "default":
        assert len(trace) == len(site.rules(request.collection))
        assert all(step.outcome != "matched" for step in trace)


# ---------------------------------------------------------------------------- site state
#
# Sites with a private endpoint, in an App Service Environment, with IP-based SSL, and every
# publicNetworkAccess spelling, against requests through service endpoints: the compiled
# engine (both kernels, one request and columns) must decide exactly as the reference.


def _same(got: acl.Decision, want: acl.Decision) -> None:
    assert (got.action, got.reason, got.collection, got.detail) == (
        want.action,
        want.reason,
        want.collection,
        want.detail,
    ), (got, want)
    assert got.rule is want.rule, (got, want)


def _bulk(engine: acl.Engine, reqs: list[acl.Request]) -> acl.BulkDecisions:
    def joined(r: acl.Request, name: str) -> str | None:
        copies = r.header(name)
        return ", ".join(copies) if copies else None

    return engine.decide_many(
        [r.ip for r in reqs],
        hosts=[r.host for r in reqs],
        headers={name: [joined(r, name) for r in reqs] for name in acl.headers.HEADER_NAMES},
        subnets=[r.subnet for r in reqs],
        service_endpoint=np.array([r.service_endpoint for r in reqs]),
        private_endpoint=np.array([r.private_endpoint for r in reqs]),
    )


@given(site=stateful_sites(), data=st.data())
def test_compiled_equals_reference_with_site_state(site: acl.Site, data: st.DataObject) -> None:
    reqs = data.draw(st.lists(endpoint_requests(site), min_size=2, max_size=12))
    expected = [evaluate(site, r) for r in reqs]
    base = acl.compile(site)
    for name in KERNELS:
        engine = base.with_kernel(name)
        for request, want in zip(reqs, expected, strict=True):
            _same(engine.decide(request), want)
            keywords = engine.decide(
                request.ip,
                host=request.host,
                headers=list(request.headers),
                subnet=request.subnet,
                service_endpoint=request.service_endpoint,
                private_endpoint=request.private_endpoint,
            )
            _same(keywords, want)
            plain = acl.Request(request.ip, host=request.host)
            _same(engine.decide(request.ip, host=request.host), evaluate(site, plain))
        result = _bulk(engine, reqs)
        for i, want in enumerate(expected):
            code = int(result.code[i])
            assert result.action[i] == int(want.allowed), (i, reqs[i], want)
            assert engine.rule(code) is want.rule, (i, reqs[i], want, code)
            if want.rule is None:
                assert REASON_CODES[code] == want.reason
                assert int(result.rule[i]) == code
            else:
                assert int(result.rule[i]) == want.rule.position
            _same(result.decision(i, reqs[i].ip), want)


@given(site=stateful_sites(), data=st.data())
def test_endpoint_traffic_to_a_multi_tenant_site_ignores_the_address(
    site: acl.Site, data: st.DataObject
) -> None:
    site = dataclasses.replace(site, hosting="multi-tenant")
    request = data.draw(endpoint_requests(site))
    assume(request.service_endpoint)
    other = data.draw(st.sampled_from(["192.0.2.1", "10.0.0.1", "2001:db8::1", "fd00::1"]))
    moved = acl.Request(
        other, host=request.host, headers=request.headers, subnet=request.subnet,
        service_endpoint=True, private_endpoint=request.private_endpoint,
    )  # fmt: skip
    a, b = evaluate(site, request), evaluate(site, moved)
    assert (a.action, a.reason, a.rule) == (b.action, b.reason, b.rule)
    if a.rule is not None:
        assert {s.kind for s in a.rule.sources} <= {"any", "any_vnets", "subnet"}


@given(site=stateful_sites(), data=st.data())
def test_service_endpoint_rules_never_decide_where_they_cannot_be_used(
    site: acl.Site, data: st.DataObject
) -> None:
    assume(site.has_private_endpoint or site.hosting == "ase" or site.ip_based_ssl)
    d = evaluate(site, data.draw(endpoint_requests(site)))
    if d.rule is not None:
        assert not {s.kind for s in d.rule.sources} & {"any_vnets", "subnet"}


@given(site=stateful_sites(), data=st.data())
def test_an_ase_matches_endpoint_traffic_by_address(site: acl.Site, data: st.DataObject) -> None:
    site = dataclasses.replace(site, hosting="ase", has_private_endpoint=False)
    request = data.draw(endpoint_requests(site))
    plain = acl.Request(
        request.ip, host=request.host, headers=request.headers,
        private_endpoint=request.private_endpoint,
    )  # fmt: skip
    a, b = evaluate(site, request), evaluate(site, plain)
    assert (a.action, a.reason, a.rule) == (b.action, b.reason, b.rule)


@given(site=stateful_sites(), data=st.data())
def test_public_access_and_private_endpoint_checks_come_first(
    site: acl.Site, data: st.DataObject
) -> None:
    request = data.draw(endpoint_requests(site))
    d = evaluate(site, request)
    setting = (site.public_network_access or "").lower()
    disabled = setting == "disabled" or (not setting and site.has_private_endpoint)
    if request.private_endpoint:
        assert d.reason == "private-endpoint" and d.allowed
    elif disabled:
        assert d.reason == "public-access-disabled" and not d.allowed
    elif site.has_private_endpoint and request.service_endpoint:
        assert d.reason == "service-endpoint-blocked" and not d.allowed
    else:
        assert d.reason in ("rule", "default")


@given(site=stateful_sites())
def test_saved_engines_keep_site_state(site: acl.Site) -> None:
    import pickle

    engine = pickle.loads(pickle.dumps(acl.compile(site)))
    assert engine.site == site
    assert engine.tables.endpoint_lists.tolist() == acl.compile(site).tables.endpoint_lists.tolist()
    for request in (acl.Request("10.0.0.1", service_endpoint=True), acl.Request("10.0.0.1")):
        _same(engine.decide(request), evaluate(engine.site, request))


def test_state_changes_decisions_as_documented() -> None:
    site = site_from_config(
        {
            "ipSecurityRestrictions": [
                {"name": "vnet10", "priority": 100, "ipAddress": "10.0.0.0/8"},
                {"name": "vnets", "priority": 200, "ipAddress": "AnyVnets"},
            ]
        }
    )
    endpoint = acl.Request("10.1.2.3", service_endpoint=True)
    direct = acl.Request("10.1.2.3")
    cases = [
        ({}, endpoint, "vnets"),
        ({}, direct, "vnet10"),
        ({"hosting": "ase"}, endpoint, "vnet10"),
        ({"ip_based_ssl": True}, endpoint, "default"),
        ({"has_private_endpoint": True}, direct, "public-access-disabled"),
        ({"has_private_endpoint": True, "public_network_access": "Enabled"}, direct, "vnet10"),
        (
            {"has_private_endpoint": True, "public_network_access": "Enabled"},
            endpoint,
            "service-endpoint-blocked",
        ),
    ]
    for state, request, want in cases:
        changed = dataclasses.replace(site, **state)
        for name in KERNELS:
            got = acl.compile(changed, kernel=name).decide(request)
            assert got.decided_by == want, (state, request, got)
            _same(got, evaluate(changed, request))

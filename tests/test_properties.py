"""Properties of the reference evaluator (the oracle of every faster path)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

import acl
from acl.reference import evaluate

from .strategies import requests, rules, site_configs, site_from_config


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

"""``/metrics``: parsed back with ``prometheus_client``'s own parsers, in both formats."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

import acl
from acl.gateway import LATENCY_BUCKETS, DecisionService, LiveRules, Metrics
from acl.gateway.metrics import exposition, registry
from acl.testing import call_asgi

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(body: bytes | str, *, openmetrics: bool = False) -> Samples:
    """Every sample of an exposition, by (name, sorted labels); the parser raises on
    anything malformed."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    parse = openmetrics_families if openmetrics else text_string_to_metric_families
    out: Samples = {}
    for family in parse(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in out, key
            out[key] = sample.value
    return out


def families(body: bytes, *, openmetrics: bool = False) -> dict[str, Any]:
    parse = openmetrics_families if openmetrics else text_string_to_metric_families
    return {family.name: family for family in parse(body.decode("utf-8"))}


def site(name: str = "office") -> acl.Site:
    return acl.loads(json.dumps([{"name": name, "priority": 1, "ipAddress": "127.0.1.0/24"}]))


def ask(service: DecisionService, ip: str | None) -> None:
    headers = {"X-Real-IP": ip} if ip is not None else {}
    call_asgi(service, path="/auth", headers=headers)


@pytest.fixture
def service() -> DecisionService:
    svc = DecisionService(site())
    for ip in ("127.0.1.1", "127.0.1.2", "127.0.2.1", None):
        ask(svc, ip)
    return svc


def test_the_prometheus_text_format_parses_back(service: DecisionService) -> None:
    answer = call_asgi(service, path="/metrics")
    assert answer.header("content-type") == "text/plain; version=0.0.4; charset=utf-8"
    got = samples(answer.body)
    assert (
        got[
            (
                "acl_decisions_total",
                (("action", "allow"), ("collection", "main"), ("rule", "office")),
            )
        ]
        == 2
    )
    assert (
        got[
            (
                "acl_decisions_total",
                (("action", "deny"), ("collection", "main"), ("rule", "default")),
            )
        ]
        == 1
    )
    assert got[("acl_fail_closed_total", (("reason", "client-unknown"),))] == 1
    assert got[("acl_checks_total", (("transport", "http"),))] == 4
    assert got[("acl_decision_duration_seconds_count", ())] == 4
    assert got[("acl_decision_duration_seconds_bucket", (("le", "+Inf"),))] == 4
    bounds = [float(dict(labels)["le"]) for name, labels in got if name.endswith("_bucket")]
    assert bounds[:-1] == list(LATENCY_BUCKETS) and bounds[-1] == float("inf")
    counts = [value for (name, _), value in got.items() if name.endswith("_bucket")]
    assert counts == sorted(counts)
    snapshot = service.rules.current
    info = (
        ("sha256", snapshot.digest),
        ("source", snapshot.source or ""),
        ("version", snapshot.version),
    )
    assert got[("acl_rules_info", info)] == 1
    assert got[("acl_rules", (("collection", "main"),))] == 1
    assert got[("acl_rules", (("collection", "scm"),))] == 0
    assert got[("acl_rules_reloads_total", (("result", "failure"),))] == 0
    assert got[("acl_rules_last_reload_ok", ())] == 1
    assert got[("acl_process_start_time_seconds", ())] == pytest.approx(service.metrics.started)
    # prometheus_client's own collectors: the process (Linux /proc), the platform, the GC
    assert got[("process_resident_memory_bytes", ())] > 0
    assert ("process_start_time_seconds", ()) in got
    assert any(name == "python_info" for name, _ in got)
    assert any(name == "python_gc_collections_total" for name, _ in got)
    kinds = families(answer.body)
    assert kinds["acl_decisions"].type == "counter"
    assert kinds["acl_decision_duration_seconds"].type == "histogram"
    assert kinds["acl_rules_info"].type == "gauge"


def test_openmetrics_is_served_when_the_scraper_asks_for_it(service: DecisionService) -> None:
    answer = call_asgi(service, path="/metrics", headers={"Accept": OPENMETRICS})
    content_type = answer.header("content-type") or ""
    assert content_type.startswith("application/openmetrics-text; version=1.0.0")
    assert answer.body.endswith(b"# EOF\n")
    got = samples(answer.body, openmetrics=True)
    assert (
        got[
            (
                "acl_decisions_total",
                (("action", "allow"), ("collection", "main"), ("rule", "office")),
            )
        ]
        == 2
    )
    assert got[("acl_checks_total", (("transport", "http"),))] == 4
    assert families(answer.body, openmetrics=True)["acl_decisions"].type == "counter"
    # what Prometheus itself sends: OpenMetrics first, text as a fallback
    prometheus = (
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1"
    )
    answer = call_asgi(service, path="/metrics", headers={"Accept": prometheus})
    assert (answer.header("content-type") or "").startswith("application/openmetrics-text")
    # anything else: the classic text format
    for accept in ("text/plain", "*/*", "application/json"):
        answer = call_asgi(service, path="/metrics", headers={"Accept": accept})
        assert answer.header("content-type") == "text/plain; version=0.0.4; charset=utf-8"
        samples(answer.body)


@pytest.mark.parametrize("openmetrics", [False, True])
def test_label_values_are_escaped(openmetrics: bool) -> None:
    name = 'a "quoted" \\ rule\nwith a newline, ünïcode and } braces'
    svc = DecisionService(site(name))
    ask(svc, "127.0.1.5")
    accept = {"Accept": OPENMETRICS} if openmetrics else {}
    body = call_asgi(svc, path="/metrics", headers=accept).body
    got = samples(body, openmetrics=openmetrics)
    key = ("acl_decisions_total", (("action", "allow"), ("collection", "main"), ("rule", name)))
    assert got[key] == 1
    assert b'rule="a \\"quoted\\" \\\\ rule\\nwith' in body


def test_other_transports_are_summed_in_and_counted_apart() -> None:
    rules = LiveRules(site())
    http, grpc = Metrics(), Metrics()
    http.transports["grpc"] = grpc
    http.decisions[("allow", "main", "office")] = 2
    grpc.decisions[("allow", "main", "office")] = 5
    grpc.decisions[("deny", "scm", "default")] = 1
    grpc.fail_closed["client-unknown"] = 3
    http.observe(0.0002)
    for seconds in (0.00003, 0.0002, 0.3):
        grpc.observe(seconds)
    body, _ = exposition(http, rules, None)
    got = samples(body)
    assert (
        got[
            (
                "acl_decisions_total",
                (("action", "allow"), ("collection", "main"), ("rule", "office")),
            )
        ]
        == 7
    )
    assert (
        got[
            (
                "acl_decisions_total",
                (("action", "deny"), ("collection", "scm"), ("rule", "default")),
            )
        ]
        == 1
    )
    assert got[("acl_fail_closed_total", (("reason", "client-unknown"),))] == 3
    assert got[("acl_checks_total", (("transport", "http"),))] == 1
    assert got[("acl_checks_total", (("transport", "grpc"),))] == 3
    assert got[("acl_decision_duration_seconds_bucket", (("le", "5e-05"),))] == 1
    assert got[("acl_decision_duration_seconds_bucket", (("le", "0.00025"),))] == 3
    assert got[("acl_decision_duration_seconds_bucket", (("le", "0.25"),))] == 3
    assert got[("acl_decision_duration_seconds_bucket", (("le", "+Inf"),))] == 4
    assert got[("acl_decision_duration_seconds_sum", ())] == pytest.approx(0.3004300)


def test_the_registry_is_made_once_per_service() -> None:
    rules = LiveRules(site())
    counters = Metrics()
    assert registry(counters, rules) is registry(counters, rules)
    assert registry(Metrics(), rules) is not registry(counters, rules)
    # the render reads the counters at scrape time: nothing is copied per request
    before = samples(exposition(counters, rules, None)[0])
    counters.decisions[("deny", "main", "default")] = 9
    after = samples(exposition(counters, rules, None)[0])
    key = ("acl_decisions_total", (("action", "deny"), ("collection", "main"), ("rule", "default")))
    assert key not in before and after[key] == 9

"""``/metrics`` of the decision service, exposed with ``prometheus_client``.

:class:`AclCollector` is a ``prometheus_client`` collector over the service's own counters
(:class:`acl.gateway.service.Metrics`, updated per request without locks or library calls), so a
decision costs what it did before: the library works only when ``/metrics`` is scraped.
:func:`exposition` renders a registry holding that collector and the library's process,
platform and garbage-collector collectors, in the format the scraper's ``Accept`` header
asks for: Prometheus text (0.0.4, or 1.0.0 when asked) or OpenMetrics. The library escapes
label values (a rule name may hold quotes, backslashes, newlines).

Checks that arrive by gRPC (Envoy's ``ext_authz`` gRPC service, :mod:`acl.gateway.grpc`) have
counters of their own, updated on the gRPC server's thread; they are listed in the HTTP
counters' ``transports`` and summed into the same families here, with
``acl_checks_total{transport}`` telling the transports apart.

>>> import acl
>>> from acl.gateway import LiveRules, Metrics
>>> from prometheus_client.parser import text_string_to_metric_families
>>> rules = LiveRules(acl.loads('[{"name": "office", "priority": 1, "ipAddress": "198.51.100.0/24"}]'))
>>> counters = Metrics()
>>> counters.decisions[("allow", "main", "office")] = 3
>>> body, content_type = exposition(counters, rules, accept=None)
>>> content_type
b'text/plain; version=0.0.4; charset=utf-8'
>>> families = {f.name: f for f in text_string_to_metric_families(body.decode())}
>>> [(s.labels, s.value) for s in families["acl_decisions"].samples]
[({'action': 'allow', 'collection': 'main', 'rule': 'office'}, 3.0)]
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

if TYPE_CHECKING:
    from .live import LiveRules
    from .service import Metrics

__all__ = ["AclCollector", "exposition", "registry"]


def _snapshot(
    counters: Metrics,
) -> tuple[dict[tuple[str, str, str], int], dict[str, int], list[int], float, int]:
    # dict() and list() of built-in containers copy in one step under the GIL, so a copy
    # taken here while another thread counts is consistent per container
    return (
        dict(counters.decisions),
        dict(counters.fail_closed),
        list(counters.buckets),
        counters.latency_sum,
        counters.latency_count,
    )


class AclCollector(Collector):
    """The service's decisions, latency, rule set and reloads as metric families.

    ``counters`` are the HTTP transport's; each of ``counters.transports`` (name to
    counters) is summed in, and counted by ``acl_checks_total{transport}``.
    """

    def __init__(self, counters: Metrics, rules: LiveRules) -> None:
        self.counters = counters
        self.rules = rules

    def collect(self) -> Iterator[Metric]:
        from .service import LATENCY_BUCKETS

        sources = [("http", self.counters), *sorted(self.counters.transports.items())]
        decisions: dict[tuple[str, str, str], int] = {}
        fail_closed: dict[str, int] = {}
        buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        latency_sum = 0.0
        checks = CounterMetricFamily(
            "acl_checks",
            "Check requests answered (decided or denied without a decision), by transport.",
            labels=["transport"],
        )
        for transport, counters in sources:
            seen, failed, counted, seconds, count = _snapshot(counters)
            for key, value in seen.items():
                decisions[key] = decisions.get(key, 0) + value
            for reason, value in failed.items():
                fail_closed[reason] = fail_closed.get(reason, 0) + value
            for index, value in enumerate(counted):
                buckets[index] += value
            latency_sum += seconds
            checks.add_metric([transport], count)

        family = CounterMetricFamily(
            "acl_decisions",
            "Requests decided, by action, collection and deciding rule.",
            labels=["action", "collection", "rule"],
        )
        for (action, collection, rule), value in sorted(decisions.items()):
            family.add_metric([action, collection, rule], value)
        yield family
        family = CounterMetricFamily(
            "acl_fail_closed",
            "Requests denied without a decision (client address unknown, internal error).",
            labels=["reason"],
        )
        for reason, value in sorted(fail_closed.items()):
            family.add_metric([reason], value)
        yield family
        yield checks
        cumulative = 0
        points: list[tuple[str, float]] = []
        for bound, value in zip(LATENCY_BUCKETS, buckets, strict=False):
            cumulative += value
            points.append((f"{bound:g}", cumulative))
        points.append(("+Inf", cumulative + buckets[-1]))
        yield HistogramMetricFamily(
            "acl_decision_duration_seconds",
            "Time from a check request's arrival to its answer.",
            buckets=points,
            sum_value=latency_sum,
        )

        rules = self.rules
        snapshot = rules.current
        site = snapshot.engine.site
        info = GaugeMetricFamily(
            "acl_rules_info",
            "The rule set in force: version (digest@load time), SHA-256 of the rules file, source.",
            labels=["version", "sha256", "source"],
        )
        info.add_metric([snapshot.version, snapshot.digest, snapshot.source or ""], 1)
        yield info
        yield GaugeMetricFamily(
            "acl_rules_loaded_timestamp_seconds",
            "When the rule set in force was loaded.",
            value=snapshot.loaded_at,
        )
        gauge = GaugeMetricFamily(
            "acl_rules", "Rules in force, by collection.", labels=["collection"]
        )
        gauge.add_metric(["main"], len(site.main_rules))
        gauge.add_metric(["scm"], len(site.scm_rules))
        yield gauge
        family = CounterMetricFamily(
            "acl_rules_reloads",
            "Reloads of the rules, by result (a failed one keeps the old rules).",
            labels=["result"],
        )
        family.add_metric(["success"], rules.reloads)
        family.add_metric(["failure"], rules.failed_reloads)
        yield family
        yield GaugeMetricFamily(
            "acl_rules_last_reload_ok",
            "0 when the last reload failed (old rules in force).",
            value=0 if rules.last_error else 1,
        )
        yield GaugeMetricFamily(
            "acl_process_start_time_seconds",
            "When the service started.",
            value=self.counters.started,
        )


_registries: dict[int, tuple[Metrics, LiveRules, CollectorRegistry]] = {}
_registries_lock = threading.Lock()


def registry(counters: Metrics, rules: LiveRules) -> CollectorRegistry:
    """The registry of one service's counters (made once, then reused): the acl families
    and ``prometheus_client``'s process, platform and GC collectors."""
    with _registries_lock:
        held = _registries.get(id(counters))
        if held is not None and held[0] is counters and held[1] is rules:
            return held[2]
        made = CollectorRegistry(auto_describe=False)
        made.register(AclCollector(counters, rules))
        ProcessCollector(registry=made)
        PlatformCollector(registry=made)
        GCCollector(registry=made)
        if len(_registries) >= 64:  # services made and dropped (tests): bounded
            _registries.clear()
        _registries[id(counters)] = (counters, rules, made)
        return made


def exposition(counters: Metrics, rules: LiveRules, accept: str | None) -> tuple[bytes, bytes]:
    """The body and ``Content-Type`` of ``/metrics`` for a scraper's ``Accept`` header:
    OpenMetrics when it asks for ``application/openmetrics-text``, else Prometheus text."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry(counters, rules)), content_type.encode("ascii")

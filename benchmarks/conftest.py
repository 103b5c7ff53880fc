"""Shared rule sets for the pytest-benchmark suite: built once per session, seeded.

The workloads of ``acl bench`` (:mod:`workload`): the same generators, a million requests
(:data:`workload.REQUESTS`) per rule set. Run with
``.venv/bin/python -m pytest benchmarks --benchmark-only``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import acl
import workload

SAMPLE = 20_000
"""Requests in the single-call loops."""


@dataclass(frozen=True)
class Case:
    ruleset: workload.RuleSet
    engine: acl.Engine
    traffic: workload.Traffic

    @property
    def sample(self) -> list[str]:
        return self.traffic.text[:SAMPLE]


def _case(rules: int, family: str, header_share: float = 0.0) -> Case:
    ruleset = workload.generate(rules, family, header_share=header_share, seed=0)
    return Case(
        ruleset, acl.compile(ruleset.site), workload.make_traffic(ruleset, workload.REQUESTS)
    )


@pytest.fixture(scope="session")
def v4_512() -> Case:
    return _case(512, "ipv4")


@pytest.fixture(scope="session")
def v6_512() -> Case:
    return _case(512, "ipv6")


@pytest.fixture(scope="session")
def v4_10k() -> Case:
    return _case(10_000, "ipv4")


@pytest.fixture(scope="session")
def hdr_512() -> Case:
    return _case(512, "ipv4", workload.HEADER_SHARE)

"""Shared rule sets for the pytest-benchmark suite: built once per session, seeded.

The same generators as ``acl bench`` (:mod:`acl.bench`); a million requests per rule set.
Run with ``.venv/bin/python -m pytest benchmarks --benchmark-only``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import acl
from acl import bench

REQUESTS = 1_000_000
SAMPLE = 20_000
"""Requests in the single-call loops."""


@dataclass(frozen=True)
class Case:
    ruleset: bench.RuleSet
    engine: acl.Engine
    traffic: bench.Traffic

    @property
    def sample(self) -> list[str]:
        return self.traffic.text[:SAMPLE]


def _case(rules: int, family: str, header_share: float = 0.0) -> Case:
    ruleset = bench.generate(rules, family, header_share=header_share, seed=0)
    return Case(ruleset, acl.compile(ruleset.site), bench.make_traffic(ruleset, REQUESTS))


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
    return _case(512, "ipv4", bench.HEADER_SHARE)

"""Compile time: generated rule sets and the AzureCloud.* service tags.

The 1,000,000-rule compile (target < 20 s) is left to ``acl bench``; here it would take
minutes of rounds.
"""

from __future__ import annotations

from typing import Any

import pytest

import acl
import workload


@pytest.mark.benchmark(group="compile")
@pytest.mark.parametrize("rules", [512, 10_000])
def test_compile_generated(benchmark: Any, rules: int) -> None:
    site = workload.generate(rules, "ipv4").site
    engine = benchmark(acl.compile, site)
    assert len(engine.tables.rules) == rules


@pytest.mark.benchmark(group="compile")
def test_compile_100k(benchmark: Any) -> None:
    site = workload.generate(100_000, "ipv4").site
    engine = benchmark.pedantic(acl.compile, args=(site,), rounds=3)
    assert len(engine.tables.rules) == 100_000


@pytest.mark.benchmark(group="compile")
def test_compile_azure_cloud(benchmark: Any) -> None:
    site = workload.azure_cloud().site
    engine = benchmark(acl.compile, site)
    assert engine.nbytes > 0

"""Analysis time on 1,000-rule sites: lint, and diff against an edited copy (a pull request)
and against an unrelated site (the worst case: every range differs). Target: < 1 s.

Run with ``.venv/bin/python -m pytest benchmarks/test_analysis_bench.py --benchmark-only``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import random
from typing import Any

import pytest

import acl
import workload
from acl.analysis import diff, lint

RULES = 1_000


def _site(family: str, header_share: float = 0.0, seed: int = 0) -> acl.Site:
    return workload.generate(RULES, family, header_share=header_share, seed=seed).site


def _dense(seed: int = 0) -> acl.Site:
    """1,000 rules crowded into 203.0.0.0/12 (/16 to /32), both actions, 10% with an
    X-Azure-FDID filter: most rules overlap, so every finding has work to do."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    for i in range(RULES):
        length = rng.choice([16, 20, 22, 24, 24, 26, 28, 30, 32])
        network = (0xCB000000 | rng.getrandbits(20)) & ~((1 << (32 - length)) - 1)
        item: dict[str, Any] = {
            "name": f"r{i}",
            "priority": rng.randrange(100, 600),
            "action": rng.choice(["Allow", "Deny"]),
            "ipAddress": f"{ipaddress.IPv4Address(network)}/{length}",
        }
        if rng.random() < 0.1:
            fdid = f"{rng.randrange(5):08x}-0000-4000-8000-000000000000"
            item["headers"] = {"X-Azure-FDID": [fdid]}
        items.append(item)
    return acl.loads(
        json.dumps({"ipSecurityRestrictions": items, "ipSecurityRestrictionsDefaultAction": "Deny"})
    )


def _gateway() -> acl.Site:
    """1,000 ``Any`` rules, each admitting (or refusing) one X-Azure-FDID: every rule is in
    every address range's list, so everything is header reasoning."""
    items = [
        {
            "name": f"gw{i}",
            "priority": 100 + i,
            "action": "Allow" if i % 2 else "Deny",
            "ipAddress": "Any",
            "headers": {"X-Azure-FDID": [f"{i:08x}-0000-4000-8000-000000000000"]},
        }
        for i in range(RULES)
    ]
    return acl.loads(json.dumps({"ipSecurityRestrictions": items}))


def _edited(site: acl.Site) -> acl.Site:
    """Ten rules dropped and ten actions flipped: what a pull request does."""
    rules = list(site.main_rules)
    kept = rules[:500] + rules[510:]
    flipped = [
        dataclasses.replace(
            r, action=acl.Action.DENY if r.action is acl.Action.ALLOW else acl.Action.ALLOW
        )
        if i % 99 == 0
        else r
        for i, r in enumerate(kept)
    ]
    return dataclasses.replace(site, main_rules=tuple(flipped))


@pytest.mark.benchmark(group="analysis-lint")
@pytest.mark.parametrize(("family", "header_share"), [("ipv4", 0.0), ("mixed", 0.0), ("ipv4", 0.2)])
def test_lint_1000(benchmark: Any, family: str, header_share: float) -> None:
    site = _site(family, header_share)
    findings = benchmark(lint, site)
    assert any(f.code == "ACL040" for f in findings)  # over Azure's 512 rules


@pytest.mark.benchmark(group="analysis-lint")
def test_lint_1000_dense(benchmark: Any) -> None:
    findings = benchmark(lint, _dense())
    assert any(f.code == "ACL001" for f in findings)


@pytest.mark.benchmark(group="analysis-lint")
def test_lint_1000_gateway(benchmark: Any) -> None:
    findings = benchmark.pedantic(lint, args=(_gateway(),), rounds=3)
    assert any(f.code == "ACL002" for f in findings)


@pytest.mark.benchmark(group="analysis-diff")
def test_diff_1000_gateway_edited(benchmark: Any) -> None:
    site = _gateway()
    assert benchmark.pedantic(diff, args=(site, _edited(site)), rounds=3).differences


@pytest.mark.benchmark(group="analysis-diff")
def test_diff_1000_dense_edited(benchmark: Any) -> None:
    site = _dense()
    assert benchmark(diff, site, _edited(site)).differences


@pytest.mark.benchmark(group="analysis-diff")
@pytest.mark.parametrize(("family", "header_share"), [("ipv4", 0.0), ("mixed", 0.0), ("ipv4", 0.2)])
def test_diff_1000_edited(benchmark: Any, family: str, header_share: float) -> None:
    site = _site(family, header_share)
    result = benchmark(diff, site, _edited(site))
    assert result.differences and result.complete


@pytest.mark.benchmark(group="analysis-diff")
def test_diff_1000_identical(benchmark: Any) -> None:
    site = _site("ipv4")
    assert benchmark(diff, site, _site("ipv4")).identical


@pytest.mark.benchmark(group="analysis-diff-unrelated")
@pytest.mark.parametrize("verify", [True, False], ids=["verified", "unverified"])
def test_diff_1000_unrelated(benchmark: Any, verify: bool) -> None:
    old, new = _site("ipv4"), _site("ipv4", seed=1)
    result = benchmark.pedantic(diff, args=(old, new), kwargs={"verify": verify}, rounds=3)
    assert len(result.differences) > 1_000

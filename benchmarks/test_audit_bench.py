"""``acl audit`` over a fleet: sites of up to 512 rules (sizes drawn from 8 to 512, IPv4 and
mixed, a fifth with header filters), audited (lint, internet exposure, Front Door lock,
shared rule sets) against compiling the same sites alone. Targets: the time per site stays
flat as the fleet grows (linear), and auditing is within 10x of compiling.

Run with ``.venv/bin/python -m pytest benchmarks/test_audit_bench.py -s``; the fleet sizes
are ``ACL_AUDIT_FLEETS`` (default ``250,500,1000``). The figures are in benchmarks/README.md.
"""

from __future__ import annotations

import os
import random
import time

import acl
import workload as bench
from acl.analysis.audit import audit_sites
from acl.formats.many import SiteFile

FLEETS = tuple(int(n) for n in os.environ.get("ACL_AUDIT_FLEETS", "250,500,1000").split(","))


def fleet(count: int, seed: int = 0) -> list[SiteFile]:
    rng = random.Random(seed)
    sites: list[SiteFile] = []
    for i in range(count):
        rules = rng.choice([8, 32, 64, 128, 256, 512])
        family = rng.choice(["ipv4", "ipv4", "mixed"])
        share = 0.2 if rng.random() < 0.2 else 0.0
        site = bench.generate(rules, family, header_share=share, seed=seed * 100_000 + i).site
        sites.append(SiteFile(f"site{i}.json", f"site{i}", site))
    return sites


def measure(count: int) -> tuple[float, float]:
    sites = fleet(count)
    start = time.perf_counter()
    for s in sites:
        acl.compile(s.site)
    compiled = time.perf_counter() - start
    start = time.perf_counter()
    result = audit_sites(sites)
    audited = time.perf_counter() - start
    assert len(result.sites) == count
    return compiled, audited


def test_audit_is_linear_and_within_10x_of_compiling() -> None:
    rows = []
    for count in FLEETS:
        compiled, audited = measure(count)
        rows.append((count, compiled, audited))
        print(
            f"{count:5} sites: compile {compiled:7.2f} s, audit {audited:7.2f} s "
            f"({audited / count * 1000:6.1f} ms/site), audit/compile {audited / compiled:4.1f}x"
        )
    for _count, compiled, audited in rows:
        assert audited < 10 * compiled
    per_site = [audited / count for count, _, audited in rows]
    assert max(per_site) < 2 * min(per_site)  # linear: the time per site does not grow

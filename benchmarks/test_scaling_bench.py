"""Saved engines and threads at 10^5 rules (the full 1k-1M run is ``benchmarks/scaling.py``).

Each group holds the figures to compare; divide the means for the ratio.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import acl
from scaling import write_site

RULES = 100_000


@pytest.fixture(scope="module")
def site_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scaling") / "site.json"
    write_site(path, RULES, "ipv4")
    return path


@pytest.fixture(scope="module")
def engine(site_file: Path) -> acl.Engine:
    return acl.compile(acl.load(site_file))


@pytest.mark.benchmark(group="100k ipv4 rules: reading")
def test_json_load(benchmark: Any, site_file: Path) -> None:
    doc = benchmark.pedantic(lambda: json.loads(site_file.read_bytes()), rounds=3)
    assert len(doc["properties"]["siteConfig"]["ipSecurityRestrictions"]) == RULES


@pytest.mark.benchmark(group="100k ipv4 rules: reading")
def test_load_engine(benchmark: Any, engine: acl.Engine, tmp_path: Path) -> None:
    path = tmp_path / "engine.acl"
    engine.save(path)
    loaded = benchmark.pedantic(acl.load_engine, args=(path,), rounds=3)
    assert loaded.digest == engine.digest


@pytest.mark.benchmark(group="100k ipv4 rules: writing")
def test_save(benchmark: Any, engine: acl.Engine, tmp_path: Path) -> None:
    path = tmp_path / "engine.acl"
    benchmark.pedantic(engine.save, args=(path,), rounds=3)
    assert path.stat().st_size > 0


@pytest.mark.benchmark(group="100k ipv4 rules: 4M rows, threads")
@pytest.mark.parametrize("threads", [1, None])
def test_bulk_threads(benchmark: Any, engine: acl.Engine, threads: int | None) -> None:
    rows = np.random.default_rng(0).integers(0, 1 << 32, 4_000_000).astype(np.uint32)
    result = benchmark(engine.decide_many, rows, threads=threads)
    assert len(result) == len(rows)

"""Bulk decisions: acl's columns against numpy ``searchsorted`` over the same partition.

Each group holds the figures to compare; divide the means for the ratio.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench
import workload
from acl.headers import XAZUREFDID
from conftest import Case


@pytest.mark.benchmark(group="bulk 512 ipv4, 1M requests")
def test_acl_uint32_512(benchmark: Any, v4_512: Case) -> None:
    result = benchmark(v4_512.engine.decide_many, v4_512.traffic.numeric)
    assert len(result) == workload.REQUESTS


@pytest.mark.benchmark(group="bulk 512 ipv4, 1M requests")
def test_acl_strings_512(benchmark: Any, v4_512: Case) -> None:
    result = benchmark(v4_512.engine.decide_many, v4_512.traffic.text)
    assert result.invalid == 0


@pytest.mark.benchmark(group="bulk 512 ipv4, 1M requests")
def test_numpy_searchsorted_512(benchmark: Any, v4_512: Case) -> None:
    decide = bench.numpy_decider(v4_512.engine, v4_512.traffic.numeric)
    code, _ = benchmark(decide)
    assert (code == v4_512.engine.decide_many(v4_512.traffic.numeric).code).all()


@pytest.mark.benchmark(group="bulk 512 ipv6, 1M requests")
def test_acl_hi_lo_512_v6(benchmark: Any, v6_512: Case) -> None:
    result = benchmark(v6_512.engine.decide_many, v6_512.traffic.numeric)
    assert len(result) == workload.REQUESTS


@pytest.mark.benchmark(group="bulk 512 ipv6, 1M requests")
def test_acl_strings_512_v6(benchmark: Any, v6_512: Case) -> None:
    result = benchmark(v6_512.engine.decide_many, v6_512.traffic.text)
    assert result.invalid == 0


@pytest.mark.benchmark(group="bulk 512 ipv6, 1M requests")
def test_numpy_searchsorted_512_v6(benchmark: Any, v6_512: Case) -> None:
    decide = bench.numpy_decider(v6_512.engine, v6_512.traffic.numeric)
    code, _ = benchmark(decide)
    assert (code == v6_512.engine.decide_many(v6_512.traffic.numeric).code).all()


@pytest.mark.benchmark(group="bulk 10,000 ipv4, 1M requests")
def test_acl_uint32_10k(benchmark: Any, v4_10k: Case) -> None:
    result = benchmark(v4_10k.engine.decide_many, v4_10k.traffic.numeric)
    assert len(result) == workload.REQUESTS


@pytest.mark.benchmark(group="bulk 10,000 ipv4, 1M requests")
def test_numpy_searchsorted_10k(benchmark: Any, v4_10k: Case) -> None:
    decide = bench.numpy_decider(v4_10k.engine, v4_10k.traffic.numeric)
    code, _ = benchmark(decide)
    assert len(code) == workload.REQUESTS


@pytest.mark.benchmark(group="bulk 512 ipv4 +hdr (a fifth of the rules), 1M requests")
def test_acl_headers_dictionary_encoded(benchmark: Any, hdr_512: Case) -> None:
    headers = {XAZUREFDID: hdr_512.traffic.fdid}
    result = benchmark(hdr_512.engine.decide_many, hdr_512.traffic.numeric, headers=headers)
    assert len(result) == workload.REQUESTS


@pytest.mark.benchmark(group="bulk 512 ipv4 +hdr (a fifth of the rules), 1M requests")
def test_acl_headers_list_of_str(benchmark: Any, hdr_512: Case) -> None:
    headers = {XAZUREFDID: hdr_512.traffic.fdid_list()}
    result = benchmark(hdr_512.engine.decide_many, hdr_512.traffic.numeric, headers=headers)
    assert len(result) == workload.REQUESTS

"""Single calls in a Python loop over the same 20,000 address strings, 512 IPv4 rules.

pytricia and py-radix answer the longest matching prefix, SubnetTree and netaddr membership;
``engine.decide`` and the ``ipaddress`` loop answer the full first-match decision. A peer
that is not installed is skipped.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from conftest import Case

GROUP = "single calls, 512 ipv4, 20,000 requests"


def _loop(call: Any, sample: list[str]) -> None:
    for address in sample:
        call(address)


@pytest.mark.benchmark(group=GROUP)
def test_acl_decide(benchmark: Any, v4_512: Case) -> None:
    benchmark(_loop, v4_512.engine.decide, v4_512.sample)


@pytest.mark.benchmark(group=GROUP)
def test_pytricia_get(benchmark: Any, v4_512: Case) -> None:
    pytricia = pytest.importorskip("pytricia")
    trie = pytricia.PyTricia(32)
    for index, text in enumerate(v4_512.ruleset.texts):
        trie[text] = index
    benchmark(_loop, trie.get, v4_512.sample)


@pytest.mark.benchmark(group=GROUP)
def test_radix_search_best(benchmark: Any, v4_512: Case) -> None:
    radix = pytest.importorskip("radix")
    tree = radix.Radix()
    for index, text in enumerate(v4_512.ruleset.texts):
        tree.add(text).data["rule"] = index
    benchmark(_loop, tree.search_best, v4_512.sample)


@pytest.mark.benchmark(group=GROUP)
def test_subnettree_contains(benchmark: Any, v4_512: Case) -> None:
    subnettree = pytest.importorskip("SubnetTree")
    tree = subnettree.SubnetTree()
    for index, text in enumerate(v4_512.ruleset.texts):
        tree[text] = index
    benchmark(_loop, tree.__contains__, v4_512.sample)


@pytest.mark.benchmark(group=GROUP)
def test_netaddr_ipset_contains(benchmark: Any, v4_512: Case) -> None:
    netaddr = pytest.importorskip("netaddr")
    ipset = netaddr.IPSet(v4_512.ruleset.texts)
    benchmark.pedantic(_loop, args=(ipset.__contains__, v4_512.sample), rounds=2)


@pytest.mark.benchmark(group=GROUP)
def test_ipaddress_first_match_loop(benchmark: Any, v4_512: Case) -> None:
    networks = [ipaddress.ip_network(text) for text in v4_512.ruleset.texts]

    def first_match(text: str) -> int:
        address = ipaddress.ip_address(text)
        for index, network in enumerate(networks):
            if address in network:
                return index
        return -1

    benchmark.pedantic(_loop, args=(first_match, v4_512.sample), rounds=1)

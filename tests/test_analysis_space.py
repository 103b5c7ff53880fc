"""acl.analysis.space: the building blocks of the exact analyses."""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import acl
from acl.analysis.space import Space, merge_ranges, pick_address, range_to_cidrs

from .conftest import rule, site_of
from .strategies import requests, site_configs, site_from_config


@given(st.data())
def test_range_to_cidrs_is_the_fewest_cidrs(data: st.DataObject) -> None:
    bits = data.draw(st.sampled_from([32, 128]))
    first = data.draw(st.integers(0, (1 << bits) - 1))
    last = data.draw(
        st.integers(first, min((1 << bits) - 1, first + (1 << data.draw(st.integers(0, bits)))))
    )
    make = ipaddress.IPv4Address if bits == 32 else ipaddress.IPv6Address
    expected = [
        (int(net.network_address), net.prefixlen)
        for net in ipaddress.summarize_address_range(make(first), make(last))
    ]
    assert range_to_cidrs(first, last, bits) == expected
    version = 4 if bits == 32 else 6
    assert first <= pick_address(version, first, last) <= last


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8)), max_size=8))
def test_merge_ranges_covers_the_same_points(items: list[tuple[int, int]]) -> None:
    ranges = [(start, start + size) for start, size in items]
    merged = merge_ranges(ranges)
    points = {p for first, last in ranges for p in range(first, last + 1)}
    assert {p for first, last in merged for p in range(first, last + 1)} == points
    assert all(a[1] + 1 < b[0] for a, b in itertools.pairwise(merged))


def test_atoms_are_realised_by_their_elements() -> None:
    site = site_of(
        rule("a", 100, "Any", headers={"X-Forwarded-Host": ["www.contoso.com", "*.contoso.com"]}),
        rule("b", 200, "Any", headers={"X-Forwarded-Host": ["api.contoso.com"]}),
        rule("c", 300, "Any", headers={"X-Forwarded-For": ["10.0.0.0/8", "::ffff:0:0/96"]}),
        rule("d", 400, "Any", headers={"X-Forwarded-For": ["10.1.0.0/16"]}),
    )
    space = Space([site])
    # www.contoso.com satisfies a only (x.contoso.com the same set: not a new atom);
    # api.contoso.com satisfies a (through *.contoso.com) and b
    hosts = {atom.element: len(atom.filters) for atom in space.atoms["X-Forwarded-Host"]}
    assert hosts == {"api.contoso.com": 2, "www.contoso.com": 1}
    xff = sorted(len(atom.filters) for atom in space.atoms["X-Forwarded-For"])
    assert xff == [1, 2]  # 10.0.0.0/8 alone, and with 10.1.0.0/16; the mapped block is IPv4
    for name, atoms in space.atoms.items():
        for atom in atoms:
            assert set(space.index.satisfied(name, [atom.element])) == atom.filters


@given(config=site_configs(), data=st.data())
def test_partition_decides_like_the_engine(config: dict[str, Any], data: st.DataObject) -> None:
    """In the bottom state (no headers, no endpoint) the first-match of a range's list is the
    engine's decision, for every address drawn."""
    site = site_from_config(config)
    engine = acl.compile(site)
    space = Space([site])
    for request in data.draw(st.lists(requests(site), min_size=5, max_size=15)):
        if request.private_endpoint or request.headers or request.service_endpoint:
            continue
        model = space.model(site, request.collection)
        list_id = next(
            lid
            for first, last, lid in model.segments(request.version)
            if first <= request.value <= last
        )
        state = space.minimal_states([])[0]
        code = model.decide(model.cut1[list_id], state)
        decision = engine.decide(request)
        assert model.action(code) is decision.action
        if code >= 0:
            assert decision.rule is model.rules[code]

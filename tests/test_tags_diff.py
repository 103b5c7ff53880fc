"""acl tags diff: per-tag prefix changes and per-site decision changes between two service
tag snapshots, checked against brute force (every boundary address decided under both)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acl
from acl.analysis.ranges import merge_ranges
from acl.analysis.tags import site_change, subtract_ranges, tag_changes, tag_ranges, tags_diff
from acl.cli import main
from acl.servicetags import ServiceTags, load_service_tags

from .conftest import EXAMPLES
from .test_schemas import validate

DATA = Path(__file__).resolve().parent / "data" / "servicetags"
OLD = str(DATA / "ServiceTags_Public_375.small.json")
NEW = str(DATA / "ServiceTags_Public_376.small.json")
SITE = str(EXAMPLES / "frontdoor-site" / "site.json")
FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
TAG_NAMES = ("TagA", "TagB", "TagC")


def snapshot(change: int, tags: dict[str, list[str]]) -> ServiceTags:
    values = [
        {"name": name, "id": name, "properties": {"changeNumber": 1, "addressPrefixes": prefixes}}
        for name, prefixes in tags.items()
    ]
    data = {"changeNumber": change, "cloud": "Public", "values": values}
    return ServiceTags.from_json(data, source=f"snapshot {change}")


def addresses(prefixes: list[str]) -> set[int]:
    out: set[int] = set()
    for text in prefixes:
        network = ipaddress.ip_network(text)
        out.update(int(a) for a in network)
    return out


def test_the_fixture_week_moves_prefixes_in_and_out_of_front_door() -> None:
    changes = {c.name: c for c in tag_changes(load_service_tags(OLD), load_service_tags(NEW))}
    assert sorted(changes) == ["AzureFrontDoor.Backend", "AzureFrontDoor.MicrosoftSecurity"]
    backend = changes["AzureFrontDoor.Backend"]
    assert (backend.status, backend.old_change_number, backend.new_change_number) == (
        "changed",
        21,
        22,
    )
    # 4.189.206.32/28 is split into two /29s in the new file: the same addresses, no change.
    assert backend.added_cidrs == ("13.107.3.0/24",)
    assert backend.removed_cidrs == ("4.153.250.0/29", "4.153.250.8/31", "2603:1000:4::600/123")
    gone = changes["AzureFrontDoor.MicrosoftSecurity"]
    assert (gone.status, gone.added, gone.new_change_number) == ("removed", (), None)
    assert len(gone.removed_cidrs) == 7
    back = {c.name: c for c in tag_changes(load_service_tags(NEW), load_service_tags(OLD))}
    assert back["AzureFrontDoor.MicrosoftSecurity"].status == "added"
    assert back["AzureFrontDoor.Backend"].added == backend.removed


def test_the_bundled_snapshot_against_itself_changes_nothing() -> None:
    bundled = ServiceTags.bundled()
    assert tag_changes(bundled, bundled) == ()
    result = tags_diff(bundled, bundled, [SITE])
    assert not result.changed and result.sites[0].diff.identical


small_prefix = st.one_of(
    st.builds(
        lambda third, fourth, length: (
            f"10.0.{third}.{fourth & ~((1 << (32 - length)) - 1) & 255}/{length}"
        ),
        st.integers(0, 1),
        st.integers(0, 255),
        st.integers(24, 32),
    ),
    st.builds(
        lambda low, length: f"2001:db8::{low & ~((1 << (128 - length)) - 1) & 0xFFFF:x}/{length}",
        st.integers(0, 0x1FF),
        st.integers(119, 128),
    ),
)
small_tags = st.dictionaries(
    st.sampled_from(TAG_NAMES), st.lists(small_prefix, max_size=4), max_size=3
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8)), max_size=5), small_tags)
def test_subtract_and_tag_changes_match_sets(pieces: list[tuple[int, int]], tags: Any) -> None:
    a = tuple((4, f, last) for f, last in merge_ranges((f, f + n) for f, n in pieces))
    b = ((4, 10, 20), (4, 40, 41))
    want = {x for _, f, last in a for x in range(f, last + 1)} - {
        x for _, f, last in b for x in range(f, last + 1)
    }
    got = subtract_ranges(a, b)
    assert {x for _, f, last in got for x in range(f, last + 1)} == want
    assert all(got[i][2] + 1 < got[i + 1][1] for i in range(len(got) - 1))
    assert tag_ranges(snapshot(1, {"T": ["10.0.0.0/25", "10.0.0.128/25"]}), "t") == (
        (4, 0x0A000000, 0x0A0000FF),
    )

    old, new = snapshot(1, tags), snapshot(2, {k: v[::-1][:2] for k, v in tags.items()})
    for change in tag_changes(old, new):
        before = addresses(tags.get(change.name, []))
        after = addresses(tags[change.name][::-1][:2])
        assert addresses(list(change.added_cidrs)) == after - before
        assert addresses(list(change.removed_cidrs)) == before - after
        assert after != before
        # fewest CIDRs: no two listed blocks could be one
        for cidrs in (change.added_cidrs, change.removed_cidrs):
            for version in (4, 6):
                nets = [n for n in map(ipaddress.ip_network, cidrs) if n.version == version]
                assert list(ipaddress.collapse_addresses(nets)) == nets


def tag_rule(name: str, priority: int, tag: str, fdid: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "priority": priority,
        "action": "Allow",
        "tag": "ServiceTag",
        "ipAddress": tag,
    }
    if fdid:
        out["headers"] = {"x-azure-fdid": [FDID]}
    return out


site_rules = st.lists(
    st.tuples(st.sampled_from(TAG_NAMES), st.booleans(), st.booleans()), min_size=1, max_size=3
)


@settings(max_examples=40, deadline=None)
@given(small_tags, small_tags, site_rules, st.sampled_from(["10.0.0.128/25", "10.0.1.0/24"]))
def test_site_changes_match_every_boundary_address_under_both_snapshots(
    old_tags: Any, new_tags: Any, rules: list[tuple[str, bool, bool]], office: str
) -> None:
    names = sorted({name for name, _, _ in rules})
    old = snapshot(1, {n: old_tags.get(n, []) for n in names} | old_tags)
    new = snapshot(2, {n: new_tags.get(n, []) for n in names} | new_tags)
    config: dict[str, Any] = {
        "ipSecurityRestrictionsDefaultAction": "Deny",
        "ipSecurityRestrictions": [
            tag_rule(f"r{i}", 100 + i, tag, fdid)
            if not deny
            else {"name": f"d{i}", "priority": 100 + i, "action": "Deny", "ipAddress": office}
            for i, (tag, fdid, deny) in enumerate(rules)
        ],
    }
    text = json.dumps(config)
    before = acl.loads(text, service_tags=old)
    after = acl.loads(text, service_tags=new)
    result = tags_diff(old, new)
    assert result.sites == ()
    change = site_change(before, after, "site.json")
    points: set[tuple[int, int]] = set()
    for prefixes in [*old_tags.values(), *new_tags.values(), [office]]:
        for p in prefixes:
            net = ipaddress.ip_network(p)
            first, last = int(net.network_address), int(net.broadcast_address)
            points.update((net.version, p) for p in (first - 1, first, last, last + 1))
    for version, value in sorted(points):
        ip = str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))
        for headers in ({}, {"X-Azure-FDID": FDID}):
            request = acl.Request(ip, headers=headers)
            a, b = acl.evaluate(before, request), acl.evaluate(after, request)
            inside = [d for d in change.diff.differences if d.contains(request)]
            assert (a.action is not b.action) == bool(inside), (ip, headers)
            for d in inside:
                assert (d.old.action, d.new.action, d.old.rule, d.new.rule) == (
                    a.action,
                    b.action,
                    a.rule,
                    b.rule,
                )
    assert change.changed == bool(change.diff.differences)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_text_json_and_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "tags", "diff", OLD, NEW, "--rules", SITE)
    assert code == 1 and not err
    assert "  + 13.107.3.0/24\n" in out and "  - 4.153.250.8/31\n" in out
    assert "[main] deny -> allow: 13.107.3.0/24\n" in out
    assert "    new:  allow by rule 'front-door' (#0, priority 100)\n" in out
    code, out, _ = run(capsys, "tags", "diff", OLD, NEW, "--rules", SITE, "--format", "json")
    data = json.loads(out)
    validate("tags-diff", data)
    assert code == 1 and data["changed"] is True
    [site] = data["sites"]
    assert [d["cidrs"] for d in site["differences"]] == [
        ["4.153.250.0/29", "4.153.250.8/31", "2603:1000:4::600/123"],
        ["13.107.3.0/24"],
    ]
    assert site["differences"][1]["example"]["ip"] == "13.107.3.1"
    # Tags change, but no rule uses them: exit 0.
    office = tmp_path / "office.json"
    office.write_text(json.dumps([{"name": "o", "priority": 1, "ipAddress": "198.51.100.0/24"}]))
    code, out, _ = run(capsys, "tags", "diff", OLD, NEW, "--rules", str(office), "--format", "json")
    data = json.loads(out)
    validate("tags-diff", data)
    assert code == 0 and data["changed"] is False and len(data["tags"]) == 2
    code, out, _ = run(capsys, "tags", "diff", OLD, NEW)
    assert code == 0 and out.endswith("2 tags changed\n")
    code, out, _ = run(capsys, "tags", "diff", "bundled", "bundled", "--rules", SITE)
    assert code == 0 and out.endswith("(site contoso-shop): no decision changes\n")


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    code, out, err = run(capsys, "tags", "diff", OLD, missing)
    assert (code, out) == (2, "") and err.count("\n") == 1 and "nope.json" in err
    # The new snapshot lacks a tag the site uses: the site cannot be loaded under it.
    site = tmp_path / "site.json"
    site.write_text(json.dumps([tag_rule("ms", 100, "AzureFrontDoor.MicrosoftSecurity", False)]))
    code, out, err = run(capsys, "tags", "diff", OLD, NEW, "--rules", str(site))
    assert code == 2 and err.count("\n") == 1 and "AzureFrontDoor.MicrosoftSecurity" in err
    code, _, err = run(capsys, "tags", "diff", OLD)
    assert code == 2 and "the following arguments are required: NEW" in err
    code, _, err = run(capsys, "tags", "show", "x", "--rules", SITE)
    assert code == 2 and "unrecognized arguments: --rules" in err
    code, out, _ = run(
        capsys, "tags", "show", "AzureFrontDoor.MicrosoftSecurity", "--service-tags", OLD
    )
    assert code == 0 and out.splitlines()[0] == "13.107.219.0/24"

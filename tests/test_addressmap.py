"""acl.analysis.addressmap: the Hilbert mapping, the regions, and the HTML pages of
acl diff / acl lint --format html, checked as text and in the headless browser."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acl
from acl.analysis import diff
from acl.analysis.addressmap import (
    Region,
    block_rect,
    diff_html,
    hilbert_index,
    hilbert_xy,
    lint_html,
    regions,
    used_blocks,
)
from acl.analysis.ranges import MAPPED_LAST
from acl.cli import main

from .test_replay import _browser_args

OLD = {
    "ipSecurityRestrictionsDefaultAction": "Deny",
    "ipSecurityRestrictions": [{"name": "office", "priority": 100, "ipAddress": "198.51.100.0/24"}],
    "scmIpSecurityRestrictionsUseMain": True,
}
NEW = {
    "ipSecurityRestrictionsDefaultAction": "Deny",
    "ipSecurityRestrictions": [
        {"name": "block", "priority": 50, "action": "Deny", "ipAddress": "198.51.100.128/25"},
        {"name": "office", "priority": 100, "action": "Allow", "ipAddress": "198.51.100.0/24"},
        {
            "name": "partners",
            "priority": 200,
            "action": "Allow",
            "ipAddress": "2001:db8:1::/48",
            "headers": {"x-forwarded-host": ["partner.example"]},
        },
    ],
    "scmIpSecurityRestrictionsUseMain": True,
}


def ip(text: str) -> int:
    import ipaddress

    return int(ipaddress.ip_address(text))


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_hilbert_is_a_bijection_whose_steps_are_neighbours(order: int) -> None:
    n = 1 << order
    cells = [hilbert_xy(order, d) for d in range(n * n)]
    assert sorted(cells) == [(x, y) for x in range(n) for y in range(n)]
    assert [hilbert_index(order, x, y) for x, y in cells] == list(range(n * n))
    for (x0, y0), (x1, y1) in itertools.pairwise(cells):
        assert abs(x0 - x1) + abs(y0 - y1) == 1
    assert cells[0] == (0, 0) and cells[-1] == (n - 1, 0)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.data())
def test_an_aligned_block_of_cells_is_its_rectangle(order: int, data: st.DataObject) -> None:
    log2 = data.draw(st.integers(0, 2 * order))
    start = data.draw(st.integers(0, (1 << (2 * order - log2)) - 1)) << log2
    x, y, w, h = block_rect(order, start, log2)
    inside = {hilbert_xy(order, d) for d in range(start, start + (1 << log2))}
    assert inside == {(i, j) for i in range(x, x + w) for j in range(y, y + h)}
    assert {w, h} in ({1 << (log2 // 2)}, {1 << (log2 // 2), 1 << (log2 // 2 + 1)})


def test_regions_of_a_known_site() -> None:
    site = acl.loads(json.dumps(NEW))
    found = regions(site, "main")
    top4, top6 = (1 << 32) - 1, (1 << 128) - 1
    assert found == (
        Region(4, 0, ip("198.51.99.255"), -1, False),
        Region(4, ip("198.51.100.0"), ip("198.51.100.127"), 1, False),
        Region(4, ip("198.51.100.128"), ip("198.51.100.255"), 0, False),
        Region(4, ip("198.51.101.0"), top4, -1, False),
        Region(6, 0, ip("::ffff:0:0") - 1, -1, False),
        Region(6, MAPPED_LAST + 1, ip("2001:db8:1::") - 1, -1, False),
        Region(6, ip("2001:db8:1::"), ip("2001:db8:1:ffff:ffff:ffff:ffff:ffff"), 2, True),
        Region(6, ip("2001:db8:2::"), top6, -1, False),
    )
    assert used_blocks(found, []) == [0x20010DB8]
    assert used_blocks(found, [(6, ip("2a01:111::"), ip("2a01:111::ff"))]) == [
        0x20010DB8,
        0x2A010111,
    ]


class Svg(HTMLParser):
    """Per map (svg.map): its region groups' keys and its outlined CIDRs."""

    def __init__(self) -> None:
        super().__init__()
        self.maps: list[dict[str, Any]] = []
        self.legend: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for value in a.values():
            self.refs.extend(re.findall(r"url\(#([^)]+)\)", value or ""))
        if tag == "svg" and a.get("class") == "map":
            self.maps.append({"label": a["aria-label"], "regions": [], "changed": []})
        elif tag == "g" and a.get("class") == "region":
            self.maps[-1]["regions"].append(a["data-key"])
        elif tag == "rect" and a.get("class") == "changed":
            self.maps[-1]["changed"].append(a["data-cidr"])
        elif tag == "li" and "data-key" in a:
            self.legend.append(str(a["data-key"]))


def parsed(page: str) -> Svg:
    parser = Svg()
    parser.feed(page)
    return parser


def test_the_diff_page_draws_the_regions_and_outlines_the_diff() -> None:
    old, new = acl.loads(json.dumps(OLD)), acl.loads(json.dumps(NEW))
    result = diff(old, new)
    page = diff_html([("old.json", "new.json", old, new, result)])
    assert "<script" not in page and "https://" not in page
    assert page.replace('xmlns="http://www.w3.org/2000/svg"', "").count("http://") == 0
    svg = parsed(page)
    # scm uses main: one collection, one IPv4 map and the one IPv6 /32 in use.
    assert [m["label"] for m in svg.maps] == [
        "IPv4 (0.0.0.0/0, one cell per /24)",
        "2001:db8::/32 (one cell per /48)",
    ]
    v4, v6 = svg.maps
    assert len(v4["regions"]) == 4 and len(set(v4["regions"])) == 3
    assert len(v6["regions"]) == 3 and len(set(v6["regions"])) == 2
    assert sorted(set(svg.legend)) == sorted(set(v4["regions"]) | set(v6["regions"]))
    # scm differs exactly as main does (it uses the main rules on both sides): drawn once.
    assert [(d.collection, d.cidrs) for d in result.differences] == [
        ("main", ("198.51.100.128/25",)),
        ("main", ("2001:db8:1::/48",)),
        ("scm", ("198.51.100.128/25",)),
        ("scm", ("2001:db8:1::/48",)),
    ]
    assert v4["changed"] == ["198.51.100.128/25"] and v6["changed"] == ["2001:db8:1::/48"]
    ids = set(re.findall(r'id="([^"]+)"', page))
    assert svg.refs and set(svg.refs) <= ids
    assert "allow: rule &#x27;partners&#x27; (#2, priority 200), when X-Forwarded-Host" in page


def test_lint_page_and_cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = acl.load("examples/frontdoor-site/site.json")
    page = lint_html([("site.json", acl.analysis.lint(site), None, site), ("bad", (), "no", None)])
    svg = parsed(page)
    assert [m["label"] for m in svg.maps][:2] == [
        "IPv4 (0.0.0.0/0, one cell per /24)",
        "2001:db8::/32 (one cell per /48)",
    ]
    assert all(not m["changed"] for m in svg.maps)
    assert "ACL004" in page and "cannot be loaded: no" in page
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(OLD))
    new.write_text(json.dumps(NEW))
    assert main(["diff", str(old), str(new), "--format", "html"]) == 1
    out = capsys.readouterr().out
    assert parsed(out).maps[0]["changed"] == ["198.51.100.128/25"]
    assert main(["diff", str(new), str(new), "--format", "html"]) == 0
    assert "No request is decided differently." in capsys.readouterr().out
    assert main(["lint", str(new), "--format", "html", "--fail-level", "none"]) == 0
    assert len(parsed(capsys.readouterr().out).maps) == 2
    base = tmp_path / "base"
    base.mkdir()
    (base / "new.json").write_text(json.dumps(OLD))
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "--base", "base", "new.json", "--format", "html"]) == 1
    out = capsys.readouterr().out
    assert "base/new.json -&gt; new.json" in out and parsed(out).maps[0]["changed"]


PROBE = """<script>
const maps = [...document.querySelectorAll('svg.map')].map(svg => ({
  regions: svg.querySelectorAll('g.region').length,
  keys: new Set([...svg.querySelectorAll('g.region')].map(g => g.dataset.key)).size,
  changed: [...svg.querySelectorAll('rect.changed')].map(r => {
    const box = r.getBBox(); return [r.dataset.cidr, box.width > 0 && box.height > 0]; }),
  painted: [...svg.querySelectorAll('g.region')].every(g => getComputedStyle(g).fill !== 'none'),
}));
const out = document.createElement('pre'); out.id = 'probe';
out.textContent = JSON.stringify({maps,
  width: document.querySelector('svg.map').getBoundingClientRect().width,
  resources: performance.getEntriesByType('resource').length});
document.body.appendChild(out);
</script></body>"""


def test_the_diff_page_renders_in_a_headless_browser(tmp_path: Path) -> None:
    old, new = acl.loads(json.dumps(OLD)), acl.loads(json.dumps(NEW))
    page = diff_html([("old.json", "new.json", old, new, diff(old, new))])
    path = tmp_path / "diff.html"
    path.write_text(page.replace("</body>", PROBE))
    args = _browser_args(tmp_path)
    dom = subprocess.run(
        [*args, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-500:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stdout[-500:]
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["width"] == 514  # 512 pixels and the border
    assert probe["resources"] == 0  # nothing loaded from anywhere: the page is self-contained
    assert [(m["regions"], m["keys"], m["painted"]) for m in probe["maps"]] == [
        (4, 3, True),
        (3, 2, True),
    ]
    assert [m["changed"] for m in probe["maps"]] == [
        [["198.51.100.128/25", True]],
        [["2001:db8:1::/48", True]],
    ]
    site = acl.loads(json.dumps(NEW))
    lint_page = tmp_path / "lint.html"
    lint_page.write_text(
        lint_html([("new.json", acl.analysis.lint(site), None, site)]).replace("</body>", PROBE)
    )
    dom = subprocess.run(
        [*args, "--dump-dom", lint_page.as_uri()], capture_output=True, text=True, timeout=120
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert dom.returncode == 0 and found, dom.stderr[-500:]
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["resources"] == 0
    assert [(m["regions"], m["keys"], m["changed"]) for m in probe["maps"]] == [
        (4, 3, []),
        (3, 2, []),
    ]
    shot = tmp_path / "diff.png"
    clean = tmp_path / "clean.html"
    clean.write_text(page)
    subprocess.run(
        [*args, f"--screenshot={shot}", "--window-size=1100,900", clean.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 20_000

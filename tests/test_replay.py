"""Replaying traffic: the summary accounts for every line, rules that never fired, Azure's
own verdicts, what-if flips, per-request output and the HTML report."""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import acl
from acl.check import AddressCounter, TopCounter, replay, whatif
from acl.check.report import (
    DecisionWriter,
    render_csv,
    render_html,
    render_json,
    render_text,
    render_whatif_text,
)
from acl.logs import Batch, BatchBuilder, ReadOptions, read_logs

from .conftest import EXAMPLES

FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"


@pytest.fixture(scope="module")
def engine() -> acl.Engine:
    return acl.compile(acl.load(EXAMPLES / "frontdoor-site" / "site.json"))


def audit_batches() -> list[Batch]:
    b = BatchBuilder(
        "audit.json",
        "appservice-audit",
        headers=("X-Azure-FDID",),
        time=True,
        recorded=True,
        details=True,
        service_endpoint=True,
        batch_size=3,
    )
    b.add(
        1,
        "147.243.1.1",
        "contoso-shop.azurewebsites.net",
        {"X-Azure-FDID": FDID},
        time="2023-02-16T09:54:20Z",
        recorded="Allowed",
        details="Allowed by AzureFrontDoor.Backend rule.",
    )
    b.add(
        2,
        "0.0.0.0",
        "contoso-shop.azurewebsites.net",
        time="2023-02-16T09:54:21Z",
        recorded="Allowed",
    )
    batches = [b.take()]
    b.add(
        3, "bad", "contoso-shop.azurewebsites.net", time="2023-02-16T09:55:21Z", recorded="Denied"
    )
    b.add(4, "203.0.113.66", None, time="2023-02-16T09:55:22Z", recorded="Denied")
    b.add(
        5,
        "192.0.2.5",
        "contoso-shop.scm.azurewebsites.net",
        time="2023-02-16T09:56:00Z",
        recorded="Allowed",
    )
    b.reject(6, "malformed JSON: Expecting value", "{")
    b.metadata()
    batches.extend(b.flush())
    return batches


def test_summary_accounts_for_every_line(engine: acl.Engine) -> None:
    s = replay(engine, audit_batches())
    assert (s.lines, s.requests, s.rejected, s.metadata) == (7, 4, 2, 1)
    assert (s.allowed, s.denied) == (2, 2)
    assert s.by_collection == {"main": [1, 2], "scm": [1, 0]}
    assert s.by_family == {"ipv4": [2, 2], "ipv6": [0, 0]}
    assert dict(s.reject_reasons) == {"malformed JSON": 1, "bad address": 1}
    assert s.default_decisions() == {"main": 1, "scm": 0}
    assert [r.name for r in s.never_fired()] == ["office", "jobs-subnet"]
    assert s.denied_sources.top() == [("0.0.0.0", 1), ("203.0.113.66", 1)]


def test_disagreements_with_azure_are_the_headline(engine: acl.Engine) -> None:
    s = replay(engine, audit_batches())
    assert (s.audited, s.disagreements) == (4, 1)
    (d,) = s.disagreement_examples
    assert (d.source, d.line, d.recorded, d.decision.decided_by) == (
        "audit.json",
        2,
        "Allowed",
        "default",
    )
    text = render_text(s)
    assert text.splitlines()[2].startswith("DISAGREEMENTS: 1 of 4 audited decisions differ")
    assert "no rule matched: unmatched-rule action Deny is configured" in text
    assert "Lines: 7 = 4 requests + 2 rejected + 1 metadata" in text
    data = json.loads(json.dumps(s.to_dict()))
    assert data["disagreements"] == 1 and data["disagreement_examples"][0]["line"] == 2
    assert data["timeline"][0] == {"minute": "2023-02-16T09:54", "allowed": 1, "denied": 1}


def test_csv_lists_every_rule(engine: acl.Engine) -> None:
    rows = list(csv.DictReader(render_csv(replay(engine, audit_batches())).splitlines()))
    assert {(r["collection"], r["name"], r["count"]) for r in rows} >= {
        ("main", "front-door", "1"),
        ("main", "office", "0"),
        ("scm", "build-agents", "1"),
    }


def test_whatif_groups_flips_by_rules_on_both_sides(engine: acl.Engine) -> None:
    proposed = acl.compile(
        acl.loads('{"ipSecurityRestrictionsDefaultAction": "Allow"}', source="open.json")
    )
    result = whatif(engine, proposed, audit_batches())
    assert result.flipped == 2
    groups = {
        (g.direction, g.before.get("name", g.before.get("reason")), g.count)
        for g in result.groups()
    }
    assert groups == {("deny->allow", "default", 1), ("deny->allow", "block-scanner", 1)}
    assert "2 would be decided differently" in render_whatif_text(result)
    same = whatif(engine, engine, audit_batches())
    assert (
        same.flipped == 0
        and "No request of this traffic changes its decision." in render_whatif_text(same)
    )


def test_top_counter_stays_bounded() -> None:
    counter = TopCounter(capacity=100)
    counter.update(["hot"] * 1000)
    counter.update(str(i) for i in range(1000))
    assert len(counter.counts) <= 100 and counter.approximate
    assert counter.top(1) == [("hot", 1000)]


def test_denied_sources_are_counted_by_address_and_stay_bounded(engine: acl.Engine) -> None:
    counter = AddressCounter(capacity=100)
    spellings = ["2001:db8::1", "2001:DB8:0:0::1", "::ffff:192.0.2.1", "192.0.2.1", "192.0.2.1"]
    kinds, hi, lo, _ = engine.parse_addresses(spellings * 300)
    counter.add(kinds, hi, lo)
    assert counter.top() == [("192.0.2.1", 900), ("2001:db8::1", 600)]
    assert not counter.approximate
    many = [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in range(5000)]
    many += [f"2001:db8:1::{i:x}" for i in range(5000)]
    for _ in range(3):  # buffered, then folded and pruned when read
        kinds, hi, lo, _ = engine.parse_addresses(many)
        counter.add(kinds, hi, lo)
    assert len(counter) <= 100 and counter.approximate
    assert counter.top(2) == [("192.0.2.1", 900), ("2001:db8::1", 600)]
    other = AddressCounter()
    kinds, hi, lo, _ = engine.parse_addresses(["203.0.113.9"] * 1000)
    other.add(kinds, hi, lo)
    counter.merge(other)
    assert counter.top(1) == [("203.0.113.9", 1000)] and counter.approximate


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_decision_writer(engine: acl.Engine, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    writer = DecisionWriter(path)
    replay(engine, audit_batches(), on_batch=writer.write)
    writer.close()
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
    elif suffix == ".csv":
        rows = list(csv.DictReader(path.read_text().splitlines()))
    else:
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    assert len(rows) == 5
    assert rows[0]["rule_name"] == "front-door" and rows[0]["action"] == "allow"
    assert str(rows[2]["reason"]) == "invalid"


def test_audit_log_output_has_the_azure_shape(engine: acl.Engine, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    writer = DecisionWriter(path, as_audit_log=True)
    replay(engine, audit_batches(), on_batch=writer.write)
    writer.close()
    first = json.loads(path.read_text().splitlines()[0])
    assert (
        first["category"] == "AppServiceIPSecAuditLogs"
        and first["operationName"] == "Authorization"
    )
    props = first["properties"]
    assert props["CIp"] == "147.243.1.1:0" and props["Result"] == "Allowed"
    assert props["Details"] == "Allowed by AzureFrontDoor.Backend rule."
    assert props["XAzureFDID"] == FDID and props["XForwardedFor"] == ""
    with pytest.raises(acl.AclError, match=r"use a \.jsonl file"):
        DecisionWriter(tmp_path / "x.csv", as_audit_log=True)
    with pytest.raises(acl.AclError, match=r"expected a \.jsonl, \.csv or \.parquet"):
        DecisionWriter(tmp_path / "x.txt")


def test_addresses_reader_through_read_logs(engine: acl.Engine, tmp_path: Path) -> None:
    path = tmp_path / "ips.txt"
    path.write_text("203.0.113.10\n# comment\n\nnot an address at all\n2001:db8:cafe::1\n")
    s = replay(engine, read_logs([str(path)], ReadOptions(format="addresses")))
    assert (s.lines, s.requests, s.rejected, s.metadata) == (5, 2, 1, 2)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no headless browser: scripts/test-services.sh installs Debian's chromium")


def test_html_report_renders_in_a_headless_browser(engine: acl.Engine, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(replay(engine, audit_batches())))
    text = page.read_text()
    assert (
        "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    )
    assert "<script src" not in text
    browser = chromium()
    args = [
        browser,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--user-data-dir=" + str(tmp_path / "profile"),
    ]
    dom = subprocess.run(
        [*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-500:]
    assert dom.stdout.count("<svg") == 3
    assert (
        'aria-label="Hits per rule"' in dom.stdout
        and 'aria-label="Decisions over time"' in dom.stdout
    )
    assert 'id="figure-requests"><div class="value">4</div>' in dom.stdout
    assert "1 of 4 audited decisions differ from what Azure recorded" in dom.stdout
    shot = tmp_path / "report.png"
    subprocess.run(
        [*args, f"--screenshot={shot}", "--window-size=1000,1400", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 20_000


TRICKY_SITE = {
    "ipSecurityRestrictionsDefaultAction": "Deny",
    "ipSecurityRestrictions": [
        {
            "ipAddress": "203.0.113.0/24",
            "action": "Allow",
            "priority": 100,
            "name": "</script><!-- é & \"q\" 'x' <b>",
        },
        {"ipAddress": "198.51.100.0/24", "action": "Allow", "priority": 200, "name": "ünused"},
    ],
    "scmIpSecurityRestrictions": [
        {"ipAddress": "10.0.0.0/8", "action": "Allow", "priority": 100, "name": "agents"}
    ],
}


def tricky_summary() -> Any:
    engine = acl.compile(acl.loads(json.dumps(TRICKY_SITE), source="site </script> & é.json"))
    b = BatchBuilder("logs/</script>&é.log", "addresses", time=True)
    hosts = ["ok\u2028.net", "böse</script>&<x>.azurewebsites.net", "app.scm.azurewebsites.net"]
    for i in range(60):
        ip = ("203.0.113.", "192.0.2.", "10.1.2.")[i % 3] + str(i)
        b.add(i + 1, ip, hosts[i % 3], time=f"2026-05-01T10:{i // 7:02d}:00Z")
    b.reject(61, "not an address", "<!-- </script> &amp; ü")
    return replay(engine, b.flush())


def _browser_args(tmp_path: Path) -> list[str]:
    return [
        chromium(),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--user-data-dir=" + str(tmp_path / "profile"),
    ]


def test_html_report_json_parses_in_the_browser_to_the_json_summary(tmp_path: Path) -> None:
    """The embedded summary survives HTML parsing: JSON.parse of the data block's text, in
    the browser, is the --format json object, with </script>, <!--, &, quotes, U+2028 and
    non-ASCII in rule names, hosts, sources and reject texts."""
    summary = tricky_summary()
    page = render_html(summary)
    assert "&quot;" not in page.split('id="summary">')[1]  # no HTML entities in the JSON
    probe = page.replace(
        "</body>",
        "<script>const data = JSON.parse(document.getElementById('summary').textContent);"
        "const out = document.createElement('pre'); out.id = 'parsed';"
        "out.textContent = JSON.stringify(data); document.body.appendChild(out);"
        "document.body.dataset.scripts = String(document.scripts.length);</script></body>",
    )
    path = tmp_path / "probe.html"
    path.write_text(probe, encoding="utf-8")
    dom = subprocess.run(
        [*_browser_args(tmp_path), "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-500:]
    assert 'data-scripts="2"' in dom.stdout  # the data block and the probe: nothing broke out
    found = re.search(r'<pre id="parsed">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stdout[-800:]
    parsed = json.loads(html.unescape(found.group(1)))
    assert parsed == json.loads(render_json(summary))
    assert parsed["never_fired"][0]["name"] == "ünused"
    assert any(
        h["host"] == "böse</script>&<x>.azurewebsites.net" for h in parsed["top_denied_hosts"]
    )


def test_html_report_timeline_axes_legend_and_rule_table(tmp_path: Path) -> None:
    summary = tricky_summary()
    page = tmp_path / "report.html"
    page.write_text(render_html(summary), encoding="utf-8")
    args = _browser_args(tmp_path)
    dom = subprocess.run(
        [*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-500:]
    out = dom.stdout
    legend = re.search(r'<g class="legend" id="timeline-legend".*?</g>', out, re.S)
    assert legend and ">allowed</text>" in legend.group(0) and ">denied</text>" in legend.group(0)
    assert re.search(
        r'id="timeline-x-axis".*?>2026-05-01T10:00<.*?>time \(minute, as logged\)<', out, re.S
    )
    assert re.search(r'id="timeline-y-axis".*?>requests per minute<', out, re.S)
    rows = re.findall(r'<tr class="(fired|never-fired)">(.*?)</tr>', out, re.S)
    by_name = {re.findall(r"<td>(.*?)</td>", cells)[1]: (kind, cells) for kind, cells in rows}
    assert set(by_name) == {
        "&lt;/script&gt;&lt;!-- é &amp; \"q\" 'x' &lt;b&gt;",
        "ünused",
        "agents",
    }
    kind, cells = by_name["ünused"]
    assert kind == "never-fired" and '<span class="badge">never fired</span>' in cells
    assert (
        ">20</td>" in by_name["agents"][1]
        and ">20</td>" in by_name["&lt;/script&gt;&lt;!-- é &amp; \"q\" 'x' &lt;b&gt;"][1]
    )
    main = out.split('id="rules-main"')[1].split("</table>")[0]
    scm = out.split('id="rules-scm"')[1].split("</table>")[0]
    assert "ünused" in main and "agents" in scm and "(unmatched-rule action)" in main
    shot = tmp_path / "report.png"
    subprocess.run(
        [*args, f"--screenshot={shot}", "--window-size=1000,1800", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 20_000

"""acl check and acl whatif from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acl.cli import main

from .conftest import EXAMPLES, SHARED

SITE = str(EXAMPLES / "frontdoor-site" / "site.json")
AUDIT = str(EXAMPLES / "frontdoor-site" / "logs" / "ipsec-audit.ndjson")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_on_the_bundled_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--rules", SITE, "--log", AUDIT)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "acl check: 66 requests from 1 source(s) (appservice-audit) against " + SITE
    assert lines[2] == "DISAGREEMENTS: 1 of 66 audited decisions differ from what Azure recorded"
    assert ":42: 203.0.113.66 host contoso-shop.azurewebsites.net: Azure Allowed" in lines[3]
    assert "Rules that never fired (1):" in out and "'jobs-subnet' (#3, priority 300) Allow" in out
    assert "Lines: 67 = 66 requests + 1 rejected + 0 metadata" in out
    assert ":67: malformed JSON" in out


def test_check_ci_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--rules", SITE, "--log", AUDIT, "--fail-on-disagreement")
    assert code == 1 and "1 decisions disagree with Azure" in err
    code, _, err = run(capsys, "check", "--rules", SITE, "--log", AUDIT, "--max-denied", "100")
    assert code == 0
    code, _, err = run(
        capsys, "check", "--rules", SITE, "--log", AUDIT, "--max-denied", "3", "--fail-on-deny"
    )
    assert code == 1 and "more than --max-denied 3" in err and "(--fail-on-deny)" in err


@pytest.mark.parametrize("fmt", ["json", "csv", "html"])
def test_check_report_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    report = tmp_path / f"report.{fmt}"
    code, out, _ = run(
        capsys, "check", "--rules", SITE, "--log", AUDIT, "--format", fmt, "--report", str(report)
    )
    assert code == 0 and out == ""
    text = report.read_text()
    if fmt == "json":
        data = json.loads(text)
        assert (data["requests"], data["disagreements"], data["lines"]) == (66, 1, 67)
    elif fmt == "csv":
        assert text.splitlines()[0] == "collection,decided_by,position,name,priority,action,count"
    else:
        assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 3


def test_check_out_and_audit_shape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "decisions.jsonl"
    code, _, _ = run(
        capsys, "check", "--rules", SITE, "--log", AUDIT, "--out", str(out_file), "--as-audit-log"
    )
    assert code == 0
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert len(records) == 66
    assert {r["category"] for r in records} == {"AppServiceIPSecAuditLogs"}
    assert records[0]["properties"]["Result"] in ("Allowed", "Denied")


def test_check_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", "--rules", SITE, "--log", str(tmp_path / "nope.log"))
    assert code == 2 and err.count("\n") == 1 and "no such file" in err
    weird = tmp_path / "weird.log"
    weird.write_text("hello there\nthis is not a log\n")
    code, _, err = run(capsys, "check", "--rules", SITE, "--log", str(weird))
    assert code == 2 and "cannot tell the log format" in err
    code, _, err = run(capsys, "check", "--rules", SITE, "--log", AUDIT, "--map", "nonsense")
    assert code == 2 and "--map 'nonsense' is not FIELD=COLUMN" in err


def test_check_mapped_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "gateway.csv"
    path.write_text(
        "client_ip,fdid,vhost\n147.243.1.1,0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10,contoso-shop.azurewebsites.net\n1.2.3.4,,x\n"
    )
    code, out, _ = run(
        capsys,
        "check",
        "--rules",
        SITE,
        "--log",
        str(path),
        "--map",
        "ip=client_ip",
        "--map",
        "x-azure-fdid=fdid",
        "--map",
        "host=vhost",
        "--format",
        "json",
    )
    data = json.loads(out)
    assert code == 0 and (data["requests"], data["allowed"]) == (2, 1)


def test_check_real_shared_samples(capsys: pytest.CaptureFixture[str]) -> None:
    logs = SHARED / "data" / "logs"
    if not logs.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    code, out, _ = run(
        capsys,
        "check",
        "--rules",
        SITE,
        "--log",
        str(logs / "*.ndjson"),
        "--log",
        str(logs / "appservice-w3c-webserver.sample.log"),
        "--format",
        "json",
    )
    data = json.loads(out)
    assert code == 0
    assert data["lines"] == data["requests"] + data["rejected"] + data["metadata"]
    assert set(data["sources"].values()) >= {
        "appservice-audit",
        "appservice-http",
        "frontdoor",
        "w3c",
    }
    assert data["audited"] == 1 and data["disagreements"] == 0


def test_whatif(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    proposed = tmp_path / "proposed.json"
    site = json.loads(Path(SITE).read_text())
    rules = site["properties"]["siteConfig"]["ipSecurityRestrictions"]
    site["properties"]["siteConfig"]["ipSecurityRestrictions"] = [
        r for r in rules if r.get("name") != "office"
    ]
    proposed.write_text(json.dumps(site))
    code, out, _ = run(
        capsys, "whatif", "--rules", SITE, "--proposed", str(proposed), "--log", AUDIT
    )
    assert code == 0
    assert out.splitlines()[0].startswith("acl whatif: 66 requests; 2 would be decided differently")
    assert "allow->deny: [main] 'office' (#2, priority 200) -> [main] (default)" in out
    code, out, _ = run(
        capsys,
        "whatif",
        "--rules",
        SITE,
        "--proposed",
        str(proposed),
        "--log",
        AUDIT,
        "--format",
        "json",
        "--fail-on-flip",
    )
    data = json.loads(out)
    assert code == 1 and data["flipped"] == 2 and data["allow_to_deny"] == 2
    code, out, _ = run(
        capsys, "whatif", "--rules", SITE, "--proposed", SITE, "--log", AUDIT, "--fail-on-flip"
    )
    assert code == 0 and "No request of this traffic changes its decision." in out

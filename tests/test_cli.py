"""The acl command: outputs people read, exit codes, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from acl.cli import main

from .conftest import EXAMPLES

SITE = str(EXAMPLES / "frontdoor-site" / "site.json")
TRAFFIC = str(EXAMPLES / "frontdoor-site" / "traffic.jsonl")
FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_one_request(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "eval", "--rules", SITE, "--ip", "147.243.1.1", "--header", f"X-Azure-FDID: {FDID}"
    )
    assert code == 0
    assert out == "ALLOW 200 OK [main] 147.243.1.1: rule 'front-door' (#0, priority 100) matched\n"


def test_eval_explain_lists_every_rule_considered(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "eval", "--rules", SITE, "--ip", "81.2.69.142", "--explain")
    assert code == 0
    assert out.splitlines() == [
        "DENY 403 Ip Forbidden [main] 81.2.69.142: default: unmatched-rule action Deny is configured",
        "  'block-scanner' (#1, priority 50) Deny: source-missed: source did not match",
        "  'front-door' (#0, priority 100) Allow: source-missed: source did not match",
        "  'office' (#2, priority 200) Allow: source-missed: source did not match",
        "  'jobs-subnet' (#3, priority 300) Allow: source-missed: source did not match",
        "  no rule matched: unmatched-rule action Deny is configured",
    ]


def test_eval_json_is_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "eval", "--rules", SITE, "--ip", "2001:db8::1", "--host", "x.scm.y", "--json"
    )
    assert code == 0
    assert json.loads(out) == {
        "action": "deny",
        "address": "2001:db8::1",
        "collection": "scm",
        "detail": "unmatched-rule action Deny is configured",
        "forbidden_ip": "[2001:db8::1]",
        "format": "acl-eval/1",
        "reason": "default",
        "request": {"ip": "2001:db8::1", "host": "x.scm.y"},
        "rule": None,
        "status": 403,
    }


def test_eval_fail_on_deny(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "eval", "--rules", SITE, "--ip", "1.1.1.1", "--fail-on-deny")[0] == 1
    assert run(capsys, "eval", "--rules", SITE, "--ip", "203.0.113.9", "--fail-on-deny")[0] == 0


def test_eval_batch_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "eval", "--rules", SITE, "--requests", TRAFFIC)
    assert code == 0
    assert "13 requests: 7 allowed, 6 denied" in out
    assert "       4  deny   main  default" in out
    code, out, _ = run(capsys, "eval", "--rules", SITE, "--requests", TRAFFIC, "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 13 and records[0]["rule"]["name"] == "front-door"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["eval", "--rules", SITE, "--ip", "1.2.3"], "request address '1.2.3' is not valid"),
        (
            ["eval", "--rules", "/nonexistent.json", "--ip", "1.2.3.4"],
            "/nonexistent.json: cannot read rules file",
        ),
        (["eval", "--rules", SITE], "give exactly one of --ip ADDR or --requests FILE"),
        (
            ["eval", "--rules", SITE, "--ip", "1.2.3.4", "--header", "nocolon"],
            "--header 'nocolon' is not 'Name: value'",
        ),
        (
            ["eval", "--rules", SITE, "--ip", "1.2.3.4", "--param", "x"],
            "--param 'x' is not NAME=VALUE",
        ),
        (["eval", "--ip", "1.2.3.4"], "the following arguments are required: --rules"),
        (["nope"], "invalid choice"),
        (["tags", "show", "NoSuchTag"], "service tag 'NoSuchTag' is unknown"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("acl: error: ")
    assert fragment in err
    assert out == ""


def test_eval_bad_request_line_names_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"ip": "1.2.3.4"}\n{"ip": "1.2.3.999"}\n')
    code, _, err = run(capsys, "eval", "--rules", SITE, "--requests", str(path))
    assert code == 2
    assert f"{path}:2: request address '1.2.3.999'" in err


def test_test_command_counts_and_exit_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "site": {"ipSecurityRestrictions": []},
                "cases": [
                    {
                        "name": "open",
                        "request": {"ip": "1.2.3.4"},
                        "expect": "allow",
                        "rule": "default",
                    }
                ],
            }
        )
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "site: {ipSecurityRestrictions: []}\ncases:\n  - name: wrong\n    request: {ip: 1.2.3.4}\n    expect: deny\n"
    )
    code, out, _ = run(capsys, "test", str(good))
    assert (code, out) == (0, "1 passed, 0 failed\n")
    code, out, _ = run(capsys, "test", str(good), str(bad))
    assert code == 1
    assert out.splitlines()[-1] == "1 passed, 1 failed"
    assert "FAIL" in out and "case 'wrong'" in out and "expected deny, got allow by default" in out
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    code, out, _ = run(capsys, "test", str(good), str(broken))
    assert code == 2
    assert out.splitlines()[-1] == "1 passed, 0 failed"
    assert f"ERROR {broken}:1:2: invalid JSON" in out


def test_expect_error_does_not_pass_on_a_missing_site_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"site_file": "missing.json", "expect_error": True}))
    code, out, _ = run(capsys, "test", str(path))
    assert code == 2 and "site_file 'missing.json' cannot be read" in out


def test_conformance_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (Path(__file__).parent / "conformance").glob("*.json"))
    assert len(files) >= 30
    code, out, _ = run(capsys, "test", *files)
    assert code == 0
    assert out.splitlines()[-1].endswith("passed, 0 failed")


def test_tags_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tags", "list", "frontdoor")
    assert code == 0 and "AzureFrontDoor.Backend\t198 prefixes" in out
    code, out, _ = run(capsys, "tags", "show", "azurefrontdoor.backend", "--family", "ipv6")
    assert code == 0 and "2a01:111:2050::/44" in out.splitlines() and "147.243.0.0/16" not in out
    code, out, _ = run(capsys, "tags", "lookup", "147.243.10.20")
    assert code == 0 and "AzureFrontDoor.Backend\t147.243.0.0/16" in out
    code, out, _ = run(capsys, "tags", "lookup", "192.0.2.1")
    assert code == 1 and "in no service tag" in out


def test_console_script_prints_no_traceback() -> None:
    exe = shutil.which("acl", path=str(Path(sys.executable).parent))
    assert exe is not None
    proc = subprocess.run(
        [exe, "eval", "--rules", SITE, "--ip", "fe80::1%eth0"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("acl: error: request address 'fe80::1%eth0'")
    assert "Traceback" not in proc.stderr


def test_eval_refuses_a_header_acl_does_not_evaluate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "eval", "--rules", SITE, "--ip", "147.243.1.1",
                         "--header", "X-Bogus: 1")  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err == (
        "acl: error: --header 'X-Bogus: 1': header 'X-Bogus' is not one acl evaluates: expected"
        " Host or one of X-Forwarded-For, X-Forwarded-Host, X-Azure-FDID, X-FD-HealthProbe"
        " (access restrictions read no other header)\n"
    )
    requests = tmp_path / "r.jsonl"
    requests.write_text('{"ip": "1.2.3.4"}\n{"ip": "1.2.3.4", "headers": {"X-Bogus": "1"}}\n')
    code, _, err = run(capsys, "eval", "--rules", SITE, "--requests", str(requests))
    assert code == 2 and err.count("\n") == 1
    assert f"{requests}:2: request headers: header 'X-Bogus' is not one acl evaluates" in err


def test_eval_takes_host_as_a_header_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scm = "contoso-shop.scm.azurewebsites.net"
    base = ["eval", "--rules", SITE, "--ip", "203.0.113.66", "--json"]
    _, by_option, _ = run(capsys, *base, "--host", scm)
    code, by_header, _ = run(capsys, *base, "--header", f"host: {scm}")
    assert code == 0 and by_header == by_option and json.loads(by_option)["collection"] == "scm"
    code, _, err = run(capsys, *base, "--host", "a.example", "--header", f"Host: {scm}")
    assert code == 2 and "disagree" in err
    requests = tmp_path / "r.jsonl"
    requests.write_text(json.dumps({"ip": "203.0.113.66", "headers": {"Host": scm}}) + "\n")
    code, out, _ = run(capsys, "eval", "--rules", SITE, "--requests", str(requests), "--json")
    assert code == 0 and json.loads(out)["collection"] == "scm"


def test_convert_output_is_whole_or_absent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "site.tf"
    code, _, err = run(capsys, "convert", SITE, "--to", "terraform", "-o", str(out_file))
    assert code == 0 and err == "" and "ip_restriction" in out_file.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.tf"]
    code, _, err = run(capsys, "convert", SITE, "--to", "json", "-o", str(tmp_path / "no" / "x"))
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err

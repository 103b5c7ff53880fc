"""``acl lint FILE...`` and ``acl diff --base DIR FILE...``: several files in one run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acl.cli import main

from .conftest import rule

DATA = Path(__file__).parent / "data"
SCRIPT = str(DATA / "scripts" / "lockdown.sh")  # one warning (ACL002)


def write(path: Path, data: Any) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sites(tmp_path: Path) -> dict[str, str]:
    return {
        # no finding
        "good": write(
            tmp_path / "good.json",
            {
                "ipSecurityRestrictionsDefaultAction": "Deny",
                "ipSecurityRestrictions": [rule("office", 100, "203.0.113.0/24")],
                "scmIpSecurityRestrictionsUseMain": True,
            },
        ),
        # an error: Front Door without its header
        "bad": write(
            tmp_path / "bad.json",
            [
                {
                    "name": "fd",
                    "priority": 100,
                    "action": "Allow",
                    "tag": "ServiceTag",
                    "ipAddress": "AzureFrontDoor.Backend",
                }
            ],
        ),
        "broken": write(tmp_path / "broken.json", {"name": "not a site"}),
    }


def test_lint_each_file_exit_is_the_worst(
    capsys: pytest.CaptureFixture[str], sites: dict[str, str]
) -> None:
    code, out, err = run(capsys, "lint", sites["good"], SCRIPT)
    assert (code, err) == (0, "")  # a warning only: below the default fail level
    lines = out.splitlines()
    assert lines[0] == f"no findings in {sites['good']}"
    assert lines[-1] == f"1 finding in {SCRIPT}: 0 error, 1 warning, 0 info"
    assert f"{SCRIPT}:16: warning ACL002 redundant-rule" in out
    assert run(capsys, "lint", sites["good"], SCRIPT, "--fail-level", "warning")[0] == 1
    code, out, _ = run(capsys, "lint", sites["good"], sites["bad"], SCRIPT)
    assert code == 1 and f"{sites['bad']}: $[0]: error ACL010" in out
    # --rules FILE still works, and counts as one of the files
    assert run(capsys, "lint", "--rules", sites["bad"], sites["good"])[0] == 1


def test_lint_a_file_that_cannot_be_loaded_does_not_stop_the_others(
    capsys: pytest.CaptureFixture[str], sites: dict[str, str]
) -> None:
    code, out, err = run(capsys, "lint", sites["broken"], sites["bad"], "missing.json")
    assert code == 2
    errors = err.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"acl: error: {sites['broken']}: $: cannot tell the format")
    assert (
        errors[1] == "acl: error: missing.json: cannot read rules file: No such file or directory"
    )
    assert "error ACL010" in out  # the file in between was linted
    # even when every finding is under the fail level, a load error is exit 2
    assert run(capsys, "lint", sites["good"], sites["broken"], "--fail-level", "none")[0] == 2


def test_lint_json_sarif_and_github_cover_every_file(
    capsys: pytest.CaptureFixture[str], sites: dict[str, str]
) -> None:
    code, out, _ = run(
        capsys, "lint", sites["good"], sites["bad"], sites["broken"], "--format", "json"
    )
    data = json.loads(out)
    assert code == 2 and data["format"] == "acl-lint/1" and data["file"] is None
    assert [entry["file"] for entry in data["files"]] == [
        sites["good"],
        sites["bad"],
        sites["broken"],
    ]
    assert data["files"][0]["summary"] == {"error": 0, "warning": 0, "info": 0}
    assert data["files"][1]["summary"]["error"] == 1
    assert (
        "cannot tell the format" in data["files"][2]["error"] and "summary" not in data["files"][2]
    )
    assert data["summary"] == data["files"][1]["summary"]
    assert {f["code"] for f in data["findings"]} >= {"ACL010"}

    code, out, _ = run(capsys, "lint", sites["bad"], SCRIPT, sites["broken"], "--format", "sarif")
    log = json.loads(out)
    assert code == 2 and len(log["runs"]) == 1
    run0 = log["runs"][0]
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run0["results"]
    }
    assert uris == {sites["bad"], SCRIPT}
    (invocation,) = run0["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == sites["broken"]

    code, out, _ = run(capsys, "lint", sites["bad"], sites["broken"], "--format", "github")
    lines = out.splitlines()
    assert code == 2 and lines[0].startswith("::error file=") and "ACL010" in lines[0]
    assert lines[-1].startswith(f"::error file={sites['broken']},title=acl load error::")


def test_lint_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "lint")
    assert (
        code == 2
        and err == "acl: error: acl lint: give the rules files to lint (FILE... or --rules FILE)\n"
    )


def test_diff_base_compares_each_file_with_its_copy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    office = [rule("office", 100, "198.51.100.0/24")]
    write(tmp_path / "base" / "same.json", office)
    write(tmp_path / "base" / "sites" / "changed.json", office)
    write(tmp_path / "same.json", office)
    write(tmp_path / "sites" / "changed.json", [rule("office", 100, "198.51.100.0/25")])
    write(tmp_path / "added.json", office)
    code, out, err = run(capsys, "diff", "--base", "base", "same.json")
    assert (code, out, err) == (0, "", "")
    code, out, err = run(
        capsys, "diff", "--base", "base", "same.json", "sites/changed.json", "added.json"
    )
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0] == "base/sites/changed.json -> sites/changed.json"
    assert lines[1] == "[main] allow -> deny: 198.51.100.128/25"
    assert "1 difference" in lines
    assert lines[-2:] == [
        "base/added.json -> added.json",
        "  new file: base/added.json does not exist",
    ]

    code, out, _ = run(
        capsys,
        "diff",
        "--base",
        "base",
        "same.json",
        "sites/changed.json",
        "added.json",
        "--format",
        "json",
    )
    data = json.loads(out)
    assert code == 1 and data["format"] == "acl-diff/1" and data["identical"] is False
    same, changed, added = data["pairs"]
    assert (same["old"], same["new"], same["identical"]) == ("base/same.json", "same.json", True)
    assert changed["differences"][0]["cidrs"] == ["198.51.100.128/25"]
    assert added == {
        "old": "base/added.json",
        "new": "added.json",
        "identical": False,
        "old_missing": True,
    }


def test_diff_base_load_errors_and_bad_command_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    office = [rule("office", 100, "198.51.100.0/24")]
    write(tmp_path / "base" / "a.json", office)
    write(tmp_path / "base" / "b.json", office)
    write(tmp_path / "a.json", {"name": "not a site"})
    write(tmp_path / "b.json", [rule("office", 100, "198.51.100.0/25")])
    code, out, err = run(capsys, "diff", "--base", "base", "a.json", "b.json")
    assert code == 2 and err.startswith("acl: error: a.json: $: cannot tell the format")
    assert out.startswith("base/b.json -> b.json\n")  # still compared
    code, _, err = run(capsys, "diff", "a.json", "b.json", "base/a.json")
    assert code == 2 and "give OLD and NEW (got 3 file(s))" in err
    code, _, err = run(capsys, "diff", "--base", "base", str(tmp_path / "a.json"))
    assert code == 2 and "is not a relative path inside the working directory" in err
    code, _, err = run(capsys, "diff", "--base", "nowhere", "a.json")
    assert code == 2 and "--base 'nowhere' is not a directory" in err

"""acl lint / diff / search: the commands registered by acl.cli.analysis.register, driven
through an argparse parser built here (and through acl.cli.main once it registers them)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

import acl
import acl.cli
from acl.cli.analysis import register

from .conftest import EXAMPLES, rule

SITE = str(EXAMPLES / "frontdoor-site" / "site.json")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="acl")
    commands = top.add_subparsers(dest="command", required=True)
    register(commands)
    return top


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    args = parser().parse_args(list(argv))
    code: int = args.handler(args)
    return code, capsys.readouterr().out


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.fixture
def shadowed(tmp_path: Path) -> str:
    return write(
        tmp_path,
        "shadowed.json",
        [rule("all", 100, "0.0.0.0/0"), rule("office", 200, "203.0.113.0/24")],
    )


# ---------------------------------------------------------------------------- lint


def test_lint_text(capsys: pytest.CaptureFixture[str], shadowed: str) -> None:
    code, out = run(capsys, "lint", "--rules", shadowed)
    assert code == 0  # a warning, and the default fail level is error
    lines = out.splitlines()
    assert lines[0] == (
        f"{shadowed}: $[1]: warning ACL001 shadowed-rule [main]: rule 'office' (#1, priority 200) "
        "never decides a request: 'all' (#0, priority 100) matches every request it matches; "
        "they allow too, so the rule is redundant"
    )
    assert lines[1] == f"  see 'all' (#0, priority 100) at {shadowed}: $[0]"
    assert lines[2].startswith("  hint: Remove the rule")
    assert lines[-1] == f"1 finding in {shadowed}: 0 error, 1 warning, 0 info"


def test_lint_fail_level_and_ignore(capsys: pytest.CaptureFixture[str], shadowed: str) -> None:
    assert run(capsys, "lint", "--rules", shadowed, "--fail-level", "warning")[0] == 1
    assert run(capsys, "lint", "--rules", shadowed, "--fail-level", "info")[0] == 1
    code, out = run(
        capsys, "lint", "--rules", shadowed, "--fail-level", "info", "--ignore", "ACL001"
    )
    assert code == 0 and out == f"no findings in {shadowed}\n"


def test_lint_strict_azure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(
        tmp_path, "many.json", [rule("many", 100, ",".join(f"203.0.113.{i}" for i in range(9)))]
    )
    assert run(capsys, "lint", "--rules", path)[0] == 0
    code, out = run(capsys, "lint", "--rules", path, "--strict-azure")
    assert code == 1 and "error ACL041 too-many-sources" in out


def test_lint_json(capsys: pytest.CaptureFixture[str], shadowed: str) -> None:
    code, out = run(capsys, "lint", "--rules", shadowed, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["summary"] == {"error": 0, "warning": 1, "info": 0}
    (finding,) = data["findings"]
    assert finding["code"] == "ACL001" and finding["name"] == "shadowed-rule"
    assert finding["rules"][0] == {
        "collection": "main",
        "position": 1,
        "priority": 200,
        "name": "office",
        "action": "allow",
        "file": shadowed,
        "path": "$[1]",
        "line": None,
    }
    assert [r["name"] for r in finding["related"]] == ["all"]


def test_lint_sarif(capsys: pytest.CaptureFixture[str], shadowed: str) -> None:
    _, out = run(capsys, "lint", "--rules", shadowed, "--format", "sarif")
    log = json.loads(out)
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "acl" and driver["version"] == acl.__version__
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(ids) and "ACL001" in ids
    (result,) = run_["results"]
    assert result["ruleId"] == "ACL001" and result["level"] == "warning"
    assert driver["rules"][result["ruleIndex"]]["id"] == "ACL001"
    (location,) = result["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == shadowed
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "$[1]"
    assert result["relatedLocations"][0]["logicalLocations"][0]["name"] == "all"


def test_lint_github(capsys: pytest.CaptureFixture[str], shadowed: str) -> None:
    _, out = run(capsys, "lint", "--rules", shadowed, "--format", "github")
    (line,) = out.splitlines()
    assert line.startswith(f"::warning file={shadowed},title=ACL001 shadowed-rule::$[1]: rule")
    assert "Fix: Remove the rule" in line


def test_lint_rules_format(capsys: pytest.CaptureFixture[str], shadowed: str) -> None:
    assert run(capsys, "lint", "--rules", shadowed, "--rules-format", "rules")[0] == 0
    # a file that cannot be loaded: one error line, exit 2 (the other files are still linted)
    code, out = run(capsys, "lint", "--rules", shadowed, "--rules-format", "siteconfig")
    assert code == 2 and out == ""
    assert acl.cli.main(["lint", shadowed, "--rules-format", "siteconfig"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"acl: error: {shadowed}: $: ")


# ---------------------------------------------------------------------------- diff


def test_diff_identical_prints_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = write(
        tmp_path,
        "same.json",
        {"ipSecurityRestrictions": [rule("x", 1, "203.0.113.0/24")]},
    )
    same = write(tmp_path, "same-rules.json", [rule("y", 7, "203.0.113.0/25,203.0.113.128/25")])
    assert run(capsys, "diff", other, same) == (0, "")
    code, out = run(capsys, "diff", other, same, "--by-rule")
    assert code == 1 and "by rule 'y'" in out


def test_diff_text_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old = write(tmp_path, "old.json", [rule("office", 100, "198.51.100.0/24")])
    new = write(tmp_path, "new.json", [rule("office", 100, "198.51.100.0/25")])
    code, out = run(capsys, "diff", old, new)
    assert code == 1
    assert out.splitlines() == [
        "[main] allow -> deny: 198.51.100.128/25",
        "  when: no service endpoint",
        "  old:  allow by rule 'office' (#0, priority 100)",
        "  new:  deny by default (1 rule(s) and no unmatched-rule action: the implicit Deny)",
        '  e.g.: {"host": "app.azurewebsites.net", "ip": "198.51.100.129"}',
        "1 difference",
    ]
    code, out = run(capsys, "diff", old, new, "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["identical"] is False
    assert data["differences"][0]["cidrs"] == ["198.51.100.128/25"]


def test_diff_unresolved_is_not_identical(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    items = [
        rule(
            f"x{i}",
            100 + i,
            "Any",
            "Deny" if i % 2 else "Allow",
            headers={"X-Forwarded-For": [f"10.0.0.{i}"]},
        )
        for i in range(4)
    ]
    old = write(tmp_path, "old.json", items)
    new = write(tmp_path, "new.json", [*items[:3], dict(items[3], action="Allow")])
    code, out = run(capsys, "diff", old, new, "--max-states", "4")
    assert code == 1 and "unresolved" in out and "e.g.:" in out
    # beyond the limit, decision lists that agree are still proven to agree
    renamed = [dict(item, name=f"y{i}") for i, item in enumerate(items)]
    assert run(
        capsys, "diff", old, write(tmp_path, "renamed.json", renamed), "--max-states", "4"
    ) == (0, "")


def test_diff_missing_file_is_an_error(tmp_path: Path) -> None:
    args = parser().parse_args(["diff", str(tmp_path / "nope.json"), SITE])
    with pytest.raises(acl.ConfigError, match="cannot read rules file"):
        args.handler(args)


# ---------------------------------------------------------------------------- search


def test_search_found(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "search", "--rules", SITE, "--decision", "allow", "--collection", "scm")
    assert code == 0
    assert out.splitlines() == [
        "ALLOW 200 OK [scm] 192.0.2.7: rule 'build-agents' (#0, priority 100) matched",
        '  request: {"host": "app.scm.azurewebsites.net", "ip": "192.0.2.7"}',
    ]


def test_search_none(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        capsys,
        "search",
        "--rules",
        SITE,
        "--decision",
        "allow",
        "--rule",
        "front-door",
        "--without-header",
        "X-Azure-FDID",
        "--endpoint",
        "none",
    )
    assert code == 1
    assert out == (
        "no request to main is allowed by rule 'front-door' (without X-Azure-FDID, not through "
        "a service endpoint, private endpoints aside): none exists (checked over every address "
        "and header state)\n"
    )


def test_search_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        capsys,
        "search",
        "--rules",
        SITE,
        "--decision",
        "deny",
        "--family",
        "ipv6",
        "--format",
        "json",
    )
    data = json.loads(out)
    assert code == 0 and data["found"] is True
    assert data["decision"]["action"] == "deny" and ":" in data["request"]["ip"]
    code, out = run(
        capsys,
        "search",
        "--rules",
        SITE,
        "--decision",
        "allow",
        "--collection",
        "scm",
        "--family",
        "ipv6",
        "--format",
        "json",
    )
    assert code == 1 and json.loads(out)["found"] is False


def test_search_unknown_rule_is_an_error() -> None:
    args = parser().parse_args(["search", "--rules", SITE, "--decision", "allow", "--rule", "x"])
    with pytest.raises(acl.AclError, match="rule 'x' is not in the main collection"):
        args.handler(args)


# ---------------------------------------------------------------------------- acl.cli.main


def _wired() -> bool:
    for action in acl.cli.build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return "lint" in action.choices
    return False


@pytest.mark.skipif(not _wired(), reason="acl.cli does not register the analysis commands yet")
def test_the_acl_command_runs_them(capsys: pytest.CaptureFixture[str], shadowed: str) -> None:
    assert acl.cli.main(["lint", "--rules", shadowed, "--fail-level", "warning"]) == 1
    assert acl.cli.main(["diff", shadowed, shadowed]) == 0
    assert acl.cli.main(["search", "--rules", shadowed, "--decision", "deny", "--rule", "zz"]) == 2
    assert "rule 'zz' is not in the main collection" in capsys.readouterr().err

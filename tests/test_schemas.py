"""Every JSON output of the acl command names its schema ("format": "acl-NAME/1") and
validates against the schema shipped in acl/schemas."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from acl.cli import main

from .conftest import EXAMPLES, rule

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's own dependency tomli is the same parser
    import tomli as tomllib


SITE = str(EXAMPLES / "frontdoor-site" / "site.json")
LOG = str(EXAMPLES / "frontdoor-site" / "logs" / "ipsec-audit.ndjson")
TRAFFIC = str(EXAMPLES / "frontdoor-site" / "traffic.jsonl")
ROOT = Path(__file__).resolve().parent.parent
NAMES = (
    "eval",
    "check",
    "whatif",
    "lint",
    "diff",
    "search",
    "bench",
    "site",
    "audit",
    "callers",
    "tags-diff",
)


def schema(name: str) -> dict[str, Any]:
    text = (resources.files("acl") / "schemas" / f"acl-{name}-1.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def validate(name: str, document: Any) -> None:
    assert document["format"] == f"acl-{name}/1"
    jsonschema.Draft202012Validator(schema(name)).validate(document)


def output(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    assert main(list(argv)) == code, capsys.readouterr().err
    return capsys.readouterr().out


@pytest.fixture
def sites(tmp_path: Path) -> dict[str, str]:
    paths = {}
    for name, data in {
        "old": [rule("office", 100, "198.51.100.0/24")],
        "new": [rule("office", 100, "198.51.100.0/25")],
        "broken": {"name": "not a site"},
        "proposed": {
            "ipSecurityRestrictionsDefaultAction": "Deny",
            "ipSecurityRestrictions": [rule("office", 200, "203.0.113.0/24")],
        },
    }.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
        paths[name] = str(path)
    return paths


@pytest.mark.parametrize("name", NAMES)
def test_schemas_are_valid_and_shipped(name: str) -> None:
    document = schema(name)
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["title"] == f"acl-{name}/1"
    assert document["properties"]["format"] == {"const": f"acl-{name}/1"}
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["acl"]
    assert "schemas/*.json" in package_data


def test_eval(capsys: pytest.CaptureFixture[str]) -> None:
    fdid = "X-Azure-FDID: 0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
    for argv in (
        ["--ip", "147.243.10.20", "--header", fdid],
        ["--ip", "2001:db8::1", "--explain"],
        ["--ip", "::ffff:10.0.0.4", "--private-endpoint"],
    ):
        validate("eval", json.loads(output(capsys, "eval", "--rules", SITE, *argv, "--json")))
    lines = output(capsys, "eval", "--rules", SITE, "--requests", TRAFFIC, "--json").splitlines()
    assert len(lines) > 3
    for line in lines:
        validate("eval", json.loads(line))


def test_check_and_whatif(capsys: pytest.CaptureFixture[str], sites: dict[str, str]) -> None:
    data = json.loads(output(capsys, "check", "--rules", SITE, "--log", LOG, "--format", "json"))
    assert data["disagreement_examples"] and data["hits"] and data["first_rejects"]
    validate("check", data)
    argv = ["whatif", "--rules", SITE, "--proposed", sites["proposed"], "--log", LOG]
    data = json.loads(output(capsys, *argv, "--format", "json"))
    assert data["groups"]
    validate("whatif", data)
    assert "format" not in data["current"]  # the summaries inside are not documents


def test_lint(capsys: pytest.CaptureFixture[str], sites: dict[str, str]) -> None:
    data = json.loads(output(capsys, "lint", SITE, "--format", "json"))
    assert data["file"] == SITE and data["findings"]
    validate("lint", data)
    argv = ["lint", SITE, sites["old"], sites["broken"], "--format", "json"]
    data = json.loads(output(capsys, *argv, code=2))
    assert data["file"] is None and "error" in data["files"][2]
    validate("lint", data)


def test_audit(capsys: pytest.CaptureFixture[str], sites: dict[str, str]) -> None:
    argv = ["audit", SITE, sites["old"], "--format", "json", "--fail-level", "none"]
    data = json.loads(output(capsys, *argv, "--who", "198.51.100.7"))
    assert len(data["sites"]) == 2 and data["who"]["answers"]
    validate("audit", data)
    data = json.loads(output(capsys, "audit", SITE, sites["broken"], "--format", "json", code=2))
    assert data["errors"] and data["errors"][0]["source"] == sites["broken"]
    validate("audit", data)


def test_callers(capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(output(capsys, "callers", "--rules", SITE, "--format", "json"))
    assert len(data["callers"]) >= 9
    validate("callers", data)


def test_diff(
    capsys: pytest.CaptureFixture[str], sites: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.loads(
        output(capsys, "diff", sites["old"], sites["new"], "--format", "json", code=1)
    )
    assert data["differences"]
    validate("diff", data)
    validate("diff", json.loads(output(capsys, "diff", SITE, SITE, "--format", "json")))
    base = Path(sites["old"]).parent / "base"
    base.mkdir()
    (base / "new.json").write_text(Path(sites["old"]).read_text())
    (base / "broken.json").write_text(Path(sites["old"]).read_text())
    monkeypatch.chdir(base.parent)
    argv = ["diff", "--base", "base", "new.json", "old.json", "broken.json", "--format", "json"]
    data = json.loads(output(capsys, *argv, code=2))
    assert [sorted(p) for p in data["pairs"]][1:] == [
        ["identical", "new", "old", "old_missing"],
        ["error", "new", "old"],
    ]
    validate("diff", data)


def test_search(capsys: pytest.CaptureFixture[str]) -> None:
    found = json.loads(
        output(capsys, "search", "--rules", SITE, "--decision", "allow", "--format", "json")
    )
    assert found["found"] is True
    validate("search", found)
    argv = [
        "search",
        "--rules",
        SITE,
        "--decision",
        "allow",
        "--collection",
        "scm",
        "--family",
        "ipv6",
    ]
    none = json.loads(output(capsys, *argv, "--format", "json", code=1))
    assert none["found"] is False
    validate("search", none)


def test_bench(capsys: pytest.CaptureFixture[str]) -> None:
    # the smallest run, as tests/test_bench.py makes
    argv = ["bench", "--rules", "8", "--requests", "2000", "--family", "ipv6", "--no-peers"]
    data = json.loads(output(capsys, *argv, "--no-real", "--format", "json", "--repeats", "1"))
    validate("bench", data)


def test_site(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # acl convert --to json, for a site with scm rules and header filters, and for a bare list
    data = json.loads(output(capsys, "convert", "--rules", SITE, "--to", "json"))
    assert data["scm_rules"] and any(r["headers"] for r in data["main_rules"])
    validate("site", data)
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps([rule("office", 100, "203.0.113.0/24")]))
    validate("site", json.loads(output(capsys, "convert", "--rules", str(bare), "--to", "json")))


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("lint", lambda d: d.pop("summary")),
        ("lint", lambda d: d["findings"].append({"code": "X1"})),
        ("eval", lambda d: d.update(action="maybe")),
        ("diff", lambda d: d.update(compare="everything")),
        ("search", lambda d: d.update(found=False)),
        ("lint", lambda d: d.update(format="acl-lint/2")),
    ],
)
def test_the_schemas_refuse_what_breaks_the_promise(
    capsys: pytest.CaptureFixture[str], name: str, change: Any
) -> None:
    argv = {
        "lint": ["lint", SITE, "--format", "json"],
        "eval": ["eval", "--rules", SITE, "--ip", "192.0.2.1", "--json"],
        "diff": ["diff", SITE, SITE, "--format", "json"],
        "search": ["search", "--rules", SITE, "--decision", "allow", "--format", "json"],
    }[name]
    good = json.loads(output(capsys, *argv))
    jsonschema.Draft202012Validator(schema(name)).validate(good)
    bad = copy.deepcopy(good)
    change(bad)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema(name)).validate(bad)

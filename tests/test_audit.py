"""acl audit and acl callers: every answer agrees with evaluating the sites by brute force
(the compiled engine at every range boundary), loading errors name the file without
stopping the others, and the exit codes follow --fail-level."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acl
from acl.addresses import MAPPED_V4, format_address
from acl.analysis.audit import HOSTS, audit, audit_sites, who
from acl.analysis.callers import callers
from acl.cli import main
from acl.formats import site_names
from acl.formats.many import SiteFile, fleet_files, load_sites
from acl.servicetags import ServiceTags

from .conftest import EXAMPLES, rule
from .strategies import FDIDS, site_configs
from .strategies import HOSTS as HEADER_HOSTS

SITE = str(EXAMPLES / "frontdoor-site" / "site.json")
DATA = Path(__file__).parent / "data"
TOP = {4: (1 << 32) - 1, 6: (1 << 128) - 1}
SMALL_TAGS = ServiceTags.from_json(
    {
        "changeNumber": 1,
        "cloud": "Public",
        "values": [
            {
                "name": "AzureFrontDoor.Backend",
                "properties": {"addressPrefixes": ["10.0.0.0/25", "192.0.2.0/24", "2001:db8::/48"]},
            },
            {"name": "AzureTrafficManager", "properties": {"addressPrefixes": ["10.0.1.0/24"]}},
            {
                "name": "ActionGroup",
                "properties": {"addressPrefixes": ["147.243.0.0/16", "fd00::/8"]},
            },
        ],
    },
    "small-tags.json",
)


def small_site(config: dict[str, Any], name: str = "app") -> acl.Site:
    return acl.loads(json.dumps(config), service_tags=SMALL_TAGS, source=f"{name}.json")


def mapped(version: int, value: int) -> bool:
    return version == 6 and MAPPED_V4 <= value <= MAPPED_V4 + (1 << 32) - 1


def starts(site: acl.Site, version: int, first: int, last: int) -> list[int]:
    """The first address of every elementary range of the site inside [first, last]: the
    range's start and every rule prefix's first address and one past its last."""
    points = {first}
    for r in site.all_rules():
        for source in r.sources:
            for p in source.prefixes:
                if p.version == version:
                    points.update(x for x in (p.first, p.last + 1) if first <= x <= last)
    return sorted(x for x in points if not mapped(version, x))


def brute_admitted(
    site: acl.Site,
    collection: str,
    ranges: list[tuple[int, int, int]],
    headers: list[tuple[str, str]],
) -> str:
    engine = acl.compile(site)
    seen: set[bool] = set()
    for version, first, last in ranges:
        for value in starts(site, version, first, last):
            request = acl.Request(
                format_address(version, value), host=HOSTS[collection], headers=headers
            )
            seen.add(engine.decide(request).allowed)
    if seen == {True}:
        return "all"
    return "some" if True in seen else "none"


@settings(max_examples=60, deadline=None)
@given(st.lists(site_configs(), min_size=1, max_size=4), st.data())
def test_who_against_brute_force(configs: list[dict[str, Any]], data: st.DataObject) -> None:
    sites = [small_site(config, f"s{i}") for i, config in enumerate(configs)]
    pool = [
        format_address(p.version, x)
        for s in sites
        for r in s.all_rules()
        for src in r.sources
        for p in src.prefixes
        for x in (p.first, p.last)
    ]
    address = data.draw(st.sampled_from(pool) if pool else st.just("203.0.113.9"))
    headers = data.draw(
        st.lists(
            st.sampled_from(
                [
                    ("X-Azure-FDID", FDIDS[0]),
                    ("X-FD-HealthProbe", "1"),
                    ("X-Forwarded-Host", HEADER_HOSTS[0]),
                    ("X-Forwarded-For", "10.0.0.200"),
                ]
            ),
            max_size=2,
            unique=True,
        )
    )
    request = acl.Request(address, headers=headers)
    fleet = who(
        audit_sites(SiteFile(s.source or "", f"s{i}", s) for i, s in enumerate(sites)), request
    )
    assert fleet.who is not None
    answers = {(a.site, a.collection): a for a in fleet.who}
    assert len(answers) == 2 * len(sites)
    for i, site in enumerate(sites):
        engine = acl.compile(site)
        for collection in ("main", "scm"):
            asked = acl.Request(address, host=HOSTS[collection], headers=headers)
            expected = engine.decide(asked)
            answer = answers[(f"s{i}", collection)]
            assert answer.allowed == expected.allowed
            assert (answer.rule.position if answer.rule else None) == (
                expected.rule.position if expected.rule else None
            )


@settings(max_examples=60, deadline=None)
@given(site_configs())
def test_internet_and_front_door_against_brute_force(config: dict[str, Any]) -> None:
    site = small_site(config)
    (audited,) = audit_sites([SiteFile("app.json", "app", site)]).sites
    for collection in ("main", "scm"):
        for version, family in ((4, "ipv4"), (6, "ipv6")):
            expected = brute_admitted(site, collection, [(version, 0, TOP[version])], [])
            assert audited.internet[collection][family] == expected, (collection, family)
        lock = audited.front_door[collection]
        fd_rules = [
            r
            for r in site.rules(collection)
            if r.action is acl.Action.ALLOW
            and any(s.text.lower() == "azurefrontdoor.backend" for s in r.sources)
        ]
        if not fd_rules:
            assert lock.status == "none"
            continue
        ranges = [
            (p.version, p.first, p.last)
            for r in fd_rules
            for s in r.sources
            if s.text.lower() == "azurefrontdoor.backend"
            for p in s.prefixes
        ]
        stranger = [("X-Azure-FDID", "00000000-0000-4000-8000-000000000000")]
        other = brute_admitted(site, collection, ranges, stranger)
        assert lock.status == ("locked" if other == "none" else "any-profile")


@settings(max_examples=60, deadline=None)
@given(site_configs())
def test_callers_against_brute_force(config: dict[str, Any]) -> None:
    site = small_site(config)
    keys = ["front-door", "front-door-probes", "traffic-manager", "action-groups"]
    result = callers(site, only=keys, service_tags=SMALL_TAGS)
    assert {a.caller for a in result.answers} == set(keys)
    for answer in result.answers:
        caller = next(c for c in result.callers if c.key == answer.caller)
        ranges = [
            (p.version, p.first, p.last)
            for tag in caller.tag_names(result.region)
            for p in SMALL_TAGS.prefixes(tag)
        ]
        expected = brute_admitted(site, answer.collection, ranges, list(answer.headers))
        assert answer.admitted == expected, answer
        for allowed, example in ((True, answer.allowed_example), (False, answer.denied_example)):
            if example is not None:
                assert acl.evaluate(site, example).allowed is allowed
        assert (answer.allowed_example is not None) == (expected != "none")
        assert (answer.denied_example is not None) == (expected != "all")


def test_callers_front_door_profiles() -> None:
    site = small_site(
        {
            "ipSecurityRestrictions": [
                rule(
                    "fd",
                    100,
                    "AzureFrontDoor.Backend",
                    tag="ServiceTag",
                    headers={"X-Azure-FDID": [FDIDS[0]]},
                )
            ]
        }
    )
    result = callers(site, only=["front-door", "front-door-probes"], service_tags=SMALL_TAGS)
    main_answers = [a for a in result.answers if a.collection == "main"]
    assert [(a.caller, a.profile, a.admitted) for a in main_answers] == [
        ("front-door", FDIDS[0], "all"),
        ("front-door-probes", FDIDS[0], "all"),
    ]
    assert main_answers[0].deciders[0].rule is not None
    assert main_answers[0].deciders[0].rule.name == "fd"


def test_unknown_caller_and_missing_tag() -> None:
    site = small_site({"ipSecurityRestrictions": []})
    with pytest.raises(acl.AclError, match="caller 'nope' is unknown"):
        callers(site, only=["nope"], service_tags=SMALL_TAGS)
    with pytest.raises(acl.AclError, match="service tag 'ApplicationInsightsAvailability'"):
        callers(site, only=["availability-tests"], service_tags=SMALL_TAGS)


# ---------------------------------------------------------------------------- loading a fleet


def test_load_sites_reads_every_site_of_a_folder_template_and_script() -> None:
    names = [s.name for s in load_sites(DATA / "terraform" / "multi")]
    assert len(names) == 6 and 'azurerm_linux_function_app.jobs["eu"]' in names
    state = [s.name for s in load_sites(DATA / "terraform" / "state.json")]
    assert state == ["azurerm_linux_web_app.shop", "module.api.azurerm_windows_web_app.this"]
    with pytest.raises(TypeError, match="every site"):
        load_sites(SITE, site="x")


def test_template_slots_are_their_own_sites(tmp_path: Path) -> None:
    item = {"name": "r", "priority": 1, "ipAddress": "192.0.2.1"}
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Web/sites",
                "apiVersion": "2022-03-01",
                "name": "app",
                "properties": {"siteConfig": {"ipSecurityRestrictions": [item]}},
            },
            {
                "type": "Microsoft.Web/sites/slots",
                "apiVersion": "2022-03-01",
                "name": "app/staging",
                "properties": {"siteConfig": {"ipSecurityRestrictions": [item]}},
            },
        ],
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    fleet = audit([path])
    assert [s.name for s in fleet.sites] == ["app", "app/staging"]
    assert fleet.sites[0].rule_set == fleet.sites[1].rule_set
    assert fleet.sites[0].same_as == (f"{path}: app/staging",)


def test_fleet_files_walks_folders(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "tf").mkdir()
    (tmp_path / "tf" / "main.tf").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("[]")
    found = fleet_files([tmp_path])
    assert found == [
        str(tmp_path / "a.json"),
        str(tmp_path / "sub" / "b.json"),
        str(tmp_path / "tf"),
    ]


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quiet = tmp_path / "quiet.json"
    quiet.write_text(json.dumps({"ipSecurityRestrictions": [], "scmIpSecurityRestrictions": []}))
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "not a site"}')
    shadowed = tmp_path / "shadowed.json"
    shadowed.write_text(
        json.dumps([rule("all", 100, "0.0.0.0/0"), rule("office", 200, "203.0.113.0/24")])
    )
    assert main(["audit", str(quiet)]) == 0
    assert main(["audit", str(shadowed)]) == 1  # ACL001 is a warning
    assert main(["audit", str(shadowed), "--fail-level", "error"]) == 0
    capsys.readouterr()
    assert main(["audit", str(shadowed), str(broken), "--format", "json"]) == 2
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert [s["source"] for s in data["sites"]] == [str(shadowed)]
    assert data["errors"][0]["source"] == str(broken) and str(broken) in captured.err
    assert main(["audit", str(quiet), "--header", "X-FD-HealthProbe: 1"]) == 2


def test_cli_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["audit", SITE, "--fail-level", "none", "--who", "203.0.113.7"]
    assert main([*argv, "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "contoso-shop" in page
    assert main([*argv, "--format", "sarif"]) == 0
    log = json.loads(capsys.readouterr().out)
    assert log["version"] == "2.1.0" and log["runs"][0]["results"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "contoso-shop [main] admits it: rule 'office'" in text


def test_cli_who_headers_and_variables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fdid = "X-Azure-FDID: 0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
    argv = ["audit", SITE, "--fail-level", "none", "--who", "147.243.1.1", "--header", fdid]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "contoso-shop [main] admits it: rule 'front-door'" in out
    assert main([*argv[:-1], "Cookie: x"]) == 2
    assert "header 'Cookie' is not one access restrictions read" in capsys.readouterr().err
    # a --var for the Terraform folders of a fleet does not refuse its JSON exports
    assert main(["audit", SITE, "--var", "x=1", "--fail-level", "none"]) == 0


def test_a_template_of_150_sites_with_long_names_audits_every_one(tmp_path: Path) -> None:
    # more names than a loader's "choose one with --site" message can list (it is cut)
    long = "app-with-a-long-name-that-the-refusal-message-could-not-list-in-full"
    rule = {"name": "r", "priority": 1, "ipAddress": "192.0.2.1"}
    resources = [
        {
            "type": "Microsoft.Web/sites",
            "apiVersion": "2022-03-01",
            "name": f"{long}-{i:03}",
            "properties": {"siteConfig": {"ipSecurityRestrictions": [] if i % 2 else [rule]}},
        }
        for i in range(150)
    ]
    path = tmp_path / "big.json"
    schema = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
    template = {"$schema": schema, "contentVersion": "1.0.0.0", "resources": resources}
    path.write_text(json.dumps(template))
    with pytest.raises(acl.ConfigError, match="has 150 sites: choose one"):
        acl.load(path)
    fleet = audit([path])
    assert fleet.errors == ()
    assert [s.name for s in fleet.sites] == [f"{long}-{i:03}" for i in range(150)]
    assert [len(s.site.main_rules) for s in fleet.sites[:3]] == [1, 0, 1]
    assert site_names(path) == tuple(s.name for s in fleet.sites)

"""Writing sites out (acl convert) and reading them back: the same decisions, every target."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acl
import acl.analysis
from acl.cli.convert import register
from acl.convert import TARGETS, ConvertError, convert

from .conftest import EXAMPLES
from .strategies import requests, site_configs, site_from_config

FORMAT = {"arm": None, "terraform": "terraform", "azcli": "azcli", "json": None}
EXTENSION = {"arm": ".json", "terraform": ".tf", "azcli": ".sh", "json": ".json"}


def read_back(text: str, target: str) -> acl.Site:
    return acl.loads(text, format=FORMAT[target])


def outcome(site: acl.Site, request: acl.Request) -> tuple[Any, ...]:
    decision = acl.evaluate(site, request)
    rule = decision.rule
    return (
        decision.action,
        decision.collection,
        decision.reason,
        (rule.name, rule.priority, rule.collection) if rule is not None else None,
    )


def writable(config: dict[str, Any], target: str) -> tuple[acl.Site, str]:
    """The site of ``config`` and its text in ``target``, leaving out the rules the target
    cannot express (each refusal names its rule)."""
    config = json.loads(json.dumps(config))
    while True:
        site = site_from_config(config)
        try:
            return site, convert(site, target)
        except ConvertError as exc:
            assert exc.rule is not None, exc
            key = (
                "ipSecurityRestrictions"
                if exc.rule.collection == "main"
                else "scmIpSecurityRestrictions"
            )
            config[key] = [r for r in config[key] if r["name"] != exc.rule.name]


@pytest.fixture(scope="module")
def example() -> acl.Site:
    return acl.load(EXAMPLES / "frontdoor-site" / "site.json")


@pytest.mark.parametrize("target", TARGETS)
def test_example_round_trip_is_identical(example: acl.Site, target: str, tmp_path: Path) -> None:
    path = tmp_path / f"out{EXTENSION[target]}"
    path.write_text(convert(example, target))
    back = acl.load(path)
    assert acl.analysis.diff(example, back).identical
    assert [r.name for r in back.main_rules] == [r.name for r in example.main_rules]


@pytest.mark.parametrize("target", TARGETS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip_keeps_decisions(target: str, data: st.DataObject) -> None:
    site, text = writable(data.draw(site_configs()), target)
    back = read_back(text, target)
    for request in data.draw(st.lists(requests(site), min_size=1, max_size=20)):
        assert outcome(back, request) == outcome(site, request), (text, request)
    assert not acl.analysis.diff(site, back).differences


def test_arm_output_is_a_deployable_config_web_template(example: acl.Site) -> None:
    template = json.loads(convert(example, "arm"))
    (resource,) = template["resources"]
    assert resource["type"] == "Microsoft.Web/sites/config"
    assert resource["name"] == "[format('{0}/web', parameters('siteName'))]"
    assert template["parameters"]["siteName"]["defaultValue"] == "contoso-shop"
    props = resource["properties"]
    assert props["ipSecurityRestrictionsDefaultAction"] == "Deny"
    assert props["ipSecurityRestrictions"][0]["tag"] == "ServiceTag"
    slot = acl.loads('{"name": "app/staging", "siteConfig": {"ipSecurityRestrictions": []}}')
    slot_template = json.loads(convert(slot, "arm"))
    assert slot_template["resources"][0]["type"] == "Microsoft.Web/sites/slots/config"
    assert read_back(convert(slot, "arm"), "arm").name == "app/staging"


def test_terraform_output(example: acl.Site) -> None:
    text = convert(example, "terraform", resource_type="azurerm_windows_function_app")
    assert 'resource "azurerm_windows_function_app" "contoso-shop" {' in text
    assert '      service_tag = "AzureFrontDoor.Backend"' in text
    assert '        x_azure_fdid = ["0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"]' in text
    assert "    scm_ip_restriction {" in text


def test_terraform_writes_effective_defaults_and_refuses_any() -> None:
    site = acl.loads('[{"name": "all", "priority": 10, "ipAddress": "0.0.0.0/0,::/0"}]')
    text = convert(site, "terraform")
    assert 'ip_restriction_default_action     = "Deny"' in text  # implicit Deny, made explicit
    assert 'scm_ip_restriction_default_action = "Allow"' in text  # no scm rules
    back = read_back(text, "terraform")
    assert acl.analysis.diff(site, back).identical
    # Any matches service-endpoint traffic, 0.0.0.0/0,::/0 does not (multi-tenant)
    anything = acl.loads('[{"name": "all", "priority": 10, "ipAddress": "Any", "action": "Deny"}]')
    for target in ("terraform", "azcli"):
        with pytest.raises(ConvertError, match="never match traffic through a service endpoint"):
            convert(anything, target)


def test_hcl_strings_are_escaped() -> None:
    site = acl.loads(
        '[{"name": "a \\"b\\" ${c} %{d} \\\\", "priority": 1, "ipAddress": "192.0.2.0/24",'
        ' "description": "line\\nbreak"}]'
    )
    back = read_back(convert(site, "terraform"), "terraform")
    assert back.main_rules[0].name == site.main_rules[0].name
    assert back.main_rules[0].description == "line\nbreak"


@pytest.mark.parametrize(
    ("target", "rule", "message"),
    [
        (
            "terraform",
            '{"name": "v", "priority": 1, "ipAddress": "AnyVnets"}',
            "AnyVnets has no azurerm spelling",
        ),
        (
            "azcli",
            '{"name": "v", "priority": 1, "ipAddress": "AnyVnets"}',
            "AnyVnets cannot be given",
        ),
        (
            "terraform",
            '{"name": "p", "priority": 0, "ipAddress": "192.0.2.0/24"}',
            "priority 0 is outside",
        ),
        (
            "terraform",
            '{"name": "h", "priority": 1, "ipAddress": "192.0.2.0/24", "headers": {"x-azure-fdid": ["abc"]}}',
            "is not a UUID",
        ),
        (
            "azcli",
            '{"name": "e", "priority": 1, "ipAddress": "192.0.2.0/24", "headers": {"x-azure-fdid": ["a=b"]}}',
            "cannot be passed to --http-header",
        ),
    ],
)
def test_what_a_target_cannot_express(target: str, rule: str, message: str) -> None:
    site = acl.loads(f"[{rule}]")
    with pytest.raises(ConvertError, match=message) as caught:
        convert(site, target)
    assert caught.value.rule is site.main_rules[0]
    assert str(caught.value).startswith("<string>: $[0]: rule")


def test_azcli_refuses_duplicates_and_clears_host_bits() -> None:
    site = acl.loads(
        '[{"name": "a", "priority": 1, "ipAddress": "10.0.0.1/24"},'
        ' {"name": "b", "priority": 2, "ipAddress": "10.0.0.0/24", "action": "Deny"}]'
    )
    with pytest.raises(
        ConvertError, match=r"refuses a second rule for the addresses '10.0.0.0/24'.*--to arm"
    ):
        convert(site, "azcli")
    one = acl.loads('[{"name": "a", "priority": 1, "ipAddress": "10.0.0.1/24"}]')
    assert "--ip-address 10.0.0.0/24" in convert(one, "azcli")


def test_azcli_slot_and_public_access() -> None:
    site = acl.loads(
        '{"name": "app/blue", "publicNetworkAccess": "Disabled", "siteConfig": {'
        '"ipSecurityRestrictions": [{"name": "o", "priority": 1, "ipAddress": "192.0.2.0/24"}]}}'
    )
    text = convert(site, "azcli")
    assert 'SLOT="${SLOT:-blue}"' in text
    assert (
        'az webapp update -g "$RG" -n "$APP" --slot "$SLOT" --set publicNetworkAccess=Disabled'
        in text
    )
    back = read_back(text, "azcli")
    assert back.name == "app/blue" and back.public_network_access == "Disabled"


def test_json_is_acl_site() -> None:
    site = acl.loads('[{"name": "o", "priority": 1, "ipAddress": "192.0.2.0/24"}]')
    document = json.loads(convert(site, "json"))
    assert document["format"] == "acl-site/1"
    assert acl.formats.sniff(document) == "acl-site"


def test_synthetic_names_are_refused() -> None:
    site = acl.loads('[{"name": "x", "priority": 1, "ipAddress": "Any"}]')
    from dataclasses import replace

    renamed = replace(site, main_rules=(replace(site.main_rules[0], name="Allow all"),))
    with pytest.raises(ConvertError, match="is how the API renders the unmatched-rule action"):
        convert(renamed, "arm")
    last = replace(
        site, main_rules=(replace(site.main_rules[0], name="Deny all", priority=2**31 - 1),)
    )
    with pytest.raises(ConvertError, match="rename it or change its priority"):
        convert(last, "arm")
    # at another priority it is a user rule, and reads back as one
    user = replace(site, main_rules=(replace(site.main_rules[0], name="Deny all", priority=500),))
    back = acl.loads(convert(user, "arm"))
    assert [(r.name, r.priority) for r in back.main_rules] == [("Deny all", 500)]


def test_unknown_target() -> None:
    with pytest.raises(ValueError, match="target 'bicep' is unknown"):
        convert(acl.Site(), "bicep")


# ---------------------------------------------------------------------------- the command


def cli(argv: list[str]) -> tuple[int, str]:
    """Run ``acl convert`` through a parser built the way acl.cli builds its commands."""
    parser = argparse.ArgumentParser(prog="acl")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(argv)
    out = io.StringIO()
    with redirect_stdout(out):
        code = args.handler(args)
    return code, out.getvalue()


def test_cli_convert_to_stdout_and_file(tmp_path: Path) -> None:
    site_file = str(EXAMPLES / "frontdoor-site" / "site.json")
    code, text = cli(["convert", site_file, "--to", "terraform"])
    assert code == 0 and text.startswith("# Access restrictions of contoso-shop")
    target = tmp_path / "site.sh"
    code, text = cli(["convert", "--rules", site_file, "--to", "azcli", "-o", str(target)])
    assert code == 0 and text == ""
    assert acl.analysis.diff(acl.load(site_file), acl.load(target)).identical


def test_cli_convert_with_iac_options() -> None:
    shop = str(Path(__file__).parent / "data" / "terraform" / "shop")
    fdid = "11111111-2222-3333-4444-555555555555"
    code, text = cli(["convert", shop, "--to", "json", "--var", f"front_door_id={fdid}"])
    assert code == 0
    assert json.loads(text)["main_rules"][0]["headers"] == [
        {"name": "X-Azure-FDID", "values": [fdid]}
    ]
    # the fixture sets scm_ip_restriction_default_action, which azurerm 3.90 does not have
    with pytest.raises(acl.ConfigError, match=r"needs azurerm 3.95 or later"):
        cli(["convert", shop, "--to", "json", "--azurerm-version", "3.90"])


def test_cli_convert_needs_a_file() -> None:
    with pytest.raises(SystemExit):
        cli(["convert", "--to", "arm"])


def test_cli_base_site_and_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "base.json"
    base.write_text('[{"name": "old", "priority": 5, "ipAddress": "10.0.0.0/8"}]')
    script = tmp_path / "add.sh"
    script.write_text(
        "az webapp config access-restriction add -g rg -n app -p 1 --ip-address $IP\n"
        "az webapp config access-restriction add -g rg -n app -p 2 --ip-address 192.0.2.1\n"
    )
    _, text = cli(
        [
            "convert",
            str(script),
            "--to",
            "json",
            "--base-site",
            str(base),
            "--unresolved",
            "skip-rule",
        ]
    )
    document = json.loads(text)
    assert [r["name"] for r in document["main_rules"]] == ["old", None]
    assert "acl: warning: " in capsys.readouterr().err


def test_azcli_duplicates_are_the_clis_own_sets_of_addresses_and_headers() -> None:
    """The az CLI compares a rule's addresses as a set and its header filter too: the same
    addresses in another order are a duplicate it refuses (the script would stop half-way);
    the same addresses with another header filter are not."""
    reordered = acl.loads(
        '[{"name": "deny", "priority": 1, "action": "Deny", "ipAddress": "10.0.0.0/24,10.1.0.0/24"},'
        ' {"name": "allow", "priority": 2, "ipAddress": "10.1.0.0/24,10.0.0.0/24"}]'
    )
    with pytest.raises(ConvertError, match=r"\(in any order\) with the same header filter"):
        convert(reordered, "azcli")
    fdid = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
    filtered = acl.loads(
        '[{"name": "a", "priority": 1, "ipAddress": "10.0.0.0/24"},'
        ' {"name": "b", "priority": 2, "ipAddress": "10.0.0.0/24",'
        f' "headers": {{"X-Azure-FDID": ["{fdid}"]}}}}]'
    )
    script = convert(filtered, "azcli")
    assert acl.analysis.diff(filtered, read_back(script, "azcli")).identical


def test_azcli_values_that_start_with_a_dash_are_one_word() -> None:
    site = acl.loads(
        '[{"name": "-legacy", "priority": 1, "ipAddress": "10.0.0.0/24", "description": "--x"}]'
    )
    script = convert(site, "azcli")
    assert "--rule-name=-legacy" in script and "--description=--x" in script
    (rule,) = read_back(script, "azcli").main_rules
    assert (rule.name, rule.description) == ("-legacy", "--x")


def test_arm_strings_that_look_like_expressions_are_escaped() -> None:
    """A script's literal "[...]" would be evaluated by ARM as an expression: written "[[...]"."""
    site = acl.loads(
        "az webapp config access-restriction add -g rg -n shop --rule-name '[legacy]' "
        "--priority 1 --ip-address 10.0.0.0/24 "
        "--http-header \"x-forwarded-host=[parameters('siteName')]\"\n",
        format="azcli",
    )
    text = convert(site, "arm")
    assert '"[[legacy]"' in text
    (rule,) = read_back(text, "arm").main_rules
    assert rule.name == "[legacy]"
    assert rule.headers[0].values == ("[parameters('siteName')]",)


def test_terraform_writes_public_access_off_for_a_site_closed_by_its_private_endpoint() -> None:
    """No publicNetworkAccess and a private endpoint: public access is off. Unset in
    Terraform, the provider sends Enabled, so the setting is always written."""
    closed = dataclasses.replace(
        acl.loads('[{"name": "a", "priority": 1, "ipAddress": "10.0.0.0/24"}]'),
        has_private_endpoint=True,
    )
    text = convert(closed, "terraform")
    assert "public_network_access_enabled = false" in text
    back = read_back(text, "terraform")
    assert acl.evaluate(back, acl.Request("10.0.0.1")).action.value == "Deny"
    open_site = acl.loads('[{"name": "a", "priority": 1, "ipAddress": "10.0.0.0/24"}]')
    assert "public_network_access_enabled = true" in convert(open_site, "terraform")


@pytest.mark.parametrize(
    "resource_type", ["azurerm_app_service", "azurerm_logic_app_standard", "azurerm_nonsense"]
)
def test_terraform_refuses_resource_types_it_cannot_write(resource_type: str) -> None:
    site = acl.loads('[{"name": "a", "priority": 1, "ipAddress": "10.0.0.0/24"}]')
    with pytest.raises(ConvertError, match=rf"resource type '{resource_type}' cannot be written"):
        convert(site, "terraform", resource_type=resource_type)

"""The tools' own access restriction test scenarios: each is read exactly, or refused with a
located message; never "no access restriction command" for a script that has one, never a
command dropped without a word.

PowerShell: tests/data/scripts/upstream/AccessRestrictionScenarios.ps1 has the scenarios of
Azure/azure-powershell's src/Websites/Websites.Test/ScenarioTests/AccessRestrictionTests.ps1
in the shape they have there. az CLI: command lines of the scenarios in Azure/azure-cli's
src/azure-cli/azure/cli/command_modules/appservice/tests/latest/
test_webapp_access_restriction_commands.py, with the results those tests check.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import acl
from acl.formats.scripts import NotEvaluated

SCENARIOS = (
    Path(__file__).parent / "data" / "scripts" / "upstream" / "AccessRestrictionScenarios.ps1"
)
SUBNET = "/subscriptions/S/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/shared-vnet/subnets/apps"
VARIABLES = {"rgname": "rg", "wname": "app", "subscriptionId": "S"}


def ps(text: str, **kw: Any) -> acl.Site:
    return acl.loads(text, format="powershell", source="scenario.ps1", **kw)


def summary(site: acl.Site) -> list[tuple[str, str | None, int, str, str | None]]:
    return [
        (
            r.collection,
            r.name,
            r.priority,
            r.action.value,
            r.ip_address or r.vnet_subnet_resource_id,
        )
        for r in site.all_rules()
    ]


def functions() -> dict[str, str]:
    """Each test function's body, as it is in the file (inside try/finally)."""
    text = SCENARIOS.read_text()
    found = re.findall(r"^function (\S+)\n\{\n(.*?)^\}\n", text, re.M | re.S)
    return dict(found)


def unwrapped(body: str) -> str:
    """The body without its try/finally: the statements the test runs, in order."""
    before, _, rest = body.partition("\ttry\n\t{\n")
    inside, _, _ = rest.partition("\t}\n\tfinally\n")
    return before + inside


OFFICE = ("office", 200, "Allow", "198.51.100.0/27")
EXPECTED: dict[str, tuple[str, list[Any], bool | None] | None] = {
    # name -> (site, rules, scm uses main), or None: the scenario changes nothing
    "Test-GetWebAppAccessRestriction": None,
    "Test-UpdateWebAppAccessRestrictionSimple": ("app", [], True),
    "Test-UpdateWebAppAccessRestrictionComplex": ("app", [], False),
    "Test-AddWebAppAccessRestriction": ("app", [("main", *OFFICE)], None),
    "Test-AddWebAppAccessRestrictionServiceEndpoint": (
        "app",
        [("main", "vnet", 150, "Allow", SUBNET)],
        None,
    ),
    "Test-RemoveWebAppAccessRestriction": ("app", [], None),
    "Test-AddWebAppAccessRestrictionScm": ("app", [("scm", *OFFICE)], None),
    "Test-RemoveWebAppAccessRestrictionScm": ("app", [], None),
    "Test-AddWebAppAccessRestrictionSlot": ("app/stage", [("main", *OFFICE)], None),
}


def test_every_scenario_is_listed() -> None:
    assert list(functions()) == list(EXPECTED)


def test_the_whole_file_is_refused_at_its_first_rule_command() -> None:
    text = SCENARIOS.read_text()
    first = next(
        n
        for n, line in enumerate(text.splitlines(), 1)
        if "AccessRestrictionConfig -" in line and "Update-" in line
    )
    with pytest.raises(acl.ConfigError, match=rf"^scenario\.ps1:{first}: .*inside `function`"):
        ps(text, variables=VARIABLES)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_scenario_is_read_exactly_or_refused_with_a_location(name: str) -> None:
    body = functions()[name]
    expected = EXPECTED[name]
    # inside try { }: refused, at the line of the rule command
    if expected is not None:
        with pytest.raises(acl.ConfigError, match=r"^scenario\.ps1:\d+: .*inside `try`"):
            ps(body, variables=VARIABLES)
    text = unwrapped(body)
    if expected is None:
        with pytest.raises(acl.ConfigError, match="no access restriction command"):
            ps(text, variables=VARIABLES)
        return
    # the helpers' values are not in the script: the message names the variable and the line
    with pytest.raises(acl.ConfigError) as caught:
        ps(text, variables={k: v for k, v in VARIABLES.items() if k != "rgname"})
    lines = text.splitlines()
    line = int(str(caught.value).split(":")[1])
    assert "$rgname" in str(caught.value) and "$rgname" in lines[line - 1]
    site = ps(text, variables=VARIABLES)
    site_name, rules, use_main = expected
    assert site.name == site_name
    assert summary(site) == rules
    if use_main is not None:
        assert site.scm_use_main is use_main


def test_the_subscription_of_the_subnet_id_must_be_given() -> None:
    text = unwrapped(functions()["Test-AddWebAppAccessRestrictionServiceEndpoint"])
    with pytest.raises(acl.ConfigError, match=r"\$subscriptionId cannot be known"):
        ps(text, variables={"rgname": "rg", "wname": "app"})


# ---------------------------------------------------------------------------- az CLI

AZ = "az webapp config access-restriction"
ADD = f"{AZ} add -g rg -n app --rule-name developers --action Allow --ip-address 130.220.0.0/27 --priority 200"
AZ_SCENARIOS: list[tuple[str, list[str], list[Any], bool | None]] = [
    # upstream test, command lines, main and scm rules after them, scm uses main
    ("test_webapp_access_restriction_show", [f"{AZ} show -g rg -n app"], [], None),
    (
        "test_webapp_access_restriction_set_simple",
        [f"{AZ} set -g rg -n app --use-same-restrictions-for-scm-site true"],
        [],
        True,
    ),
    (
        "test_webapp_access_restriction_set_complex",
        [
            f"{AZ} set -g rg -n app --use-same-restrictions-for-scm-site",
            f"{AZ} set -g rg -n app --use-same-restrictions-for-scm-site false",
        ],
        [],
        False,
    ),
    (
        "test_webapp_access_restriction_add",
        [ADD],
        [("main", "developers", 200, "Allow", "130.220.0.0/27")],
        None,
    ),
    (
        "test_webapp_access_restriction_add_ip_address_validation",
        [
            f"{AZ} add -g rg -n app --rule-name ipv4 --action Allow --ip-address 130.220.0.0 --priority 200",
            f"{AZ} add -g rg -n app --rule-name ipv6 --action Allow --ip-address 2004::1000 --priority 200",
        ],
        [
            ("main", "ipv4", 200, "Allow", "130.220.0.0/32"),
            ("main", "ipv6", 200, "Allow", "2004::1000/128"),
        ],
        None,
    ),
    (
        "test_webapp_access_restriction_remove",
        [ADD, f"{AZ} remove -g rg -n app --rule-name developers"],
        [],
        None,
    ),
    (
        "test_webapp_access_restriction_add_scm",
        [ADD + " --scm-site"],
        [("scm", "developers", 200, "Allow", "130.220.0.0/27")],
        None,
    ),
    (
        "test_webapp_access_restriction_remove_scm",
        [ADD + " --scm-site", f"{AZ} remove -g rg -n app --rule-name developers --scm-site"],
        [],
        None,
    ),
    (
        "test_webapp_access_restriction_slot",
        [f"{AZ} show -g rg -n app --slot stage", ADD + " --slot stage"],
        [("main", "developers", 200, "Allow", "130.220.0.0/27")],
        None,
    ),
]


@pytest.mark.parametrize(
    ("test", "lines", "rules", "use_main"), AZ_SCENARIOS, ids=[s[0] for s in AZ_SCENARIOS]
)
def test_az_scenarios_are_read_as_the_cli_applies_them(
    test: str, lines: list[str], rules: list[Any], use_main: bool | None
) -> None:
    text = "".join(line + "\n" for line in lines)
    if test == "test_webapp_access_restriction_show":
        with pytest.raises(acl.ConfigError, match="no access restriction command"):
            acl.loads(text, format="azcli", source="scenario.sh")
        return
    site = acl.loads(text, format="azcli", source="scenario.sh")
    assert summary(site) == rules
    if use_main is not None:
        assert site.scm_use_main is use_main
    if test.endswith("_slot"):
        assert site.name == "app/stage"


def test_az_subnet_scenario() -> None:
    # a subnet name needs --vnet-name (the CLI's usage error), and its id needs a template
    add = f"{AZ} add -g rg -n app --rule-name vnet-integration --action Allow --priority 150"
    with pytest.raises(
        acl.ConfigError,
        match=r"scenario\.sh:2: .*--subnet ID or \(--subnet NAME and --vnet-name NAME\)",
    ):
        acl.loads(f"set -e\n{add} --subnet endpoint-subnet\n", format="azcli", source="scenario.sh")
    with pytest.raises(NotEvaluated, match=r"scenario\.sh:1: .*give --subnet-id-template"):
        acl.loads(
            f"{add} --vnet-name vnet --subnet endpoint-subnet\n",
            format="azcli",
            source="scenario.sh",
        )
    site = acl.loads(
        f"{add} --vnet-name vnet --subnet endpoint-subnet\n",
        format="azcli",
        source="scenario.sh",
        subnet_id_template="/subscriptions/S/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}",
    )
    assert summary(site) == [
        (
            "main",
            "vnet-integration",
            150,
            "Allow",
            "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/endpoint-subnet",
        )
    ]

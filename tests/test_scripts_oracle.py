"""Scripts are never misread: the seen misreadings, and bash itself as the oracle for the
control flow of az CLI scripts (a stubbed ``az`` records what bash runs)."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import acl
from acl.formats.scripts import az as azcli

ADD = "az webapp config access-restriction add -g rg -n app"
APS = "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app"


def az(text: str, **kw: Any) -> acl.Site:
    return acl.loads(text, format="azcli", source="deploy.sh", **kw)


def ps(text: str, **kw: Any) -> acl.Site:
    return acl.loads(text, format="powershell", source="deploy.ps1", **kw)


def rules(site: acl.Site) -> list[tuple[str, int, str, str | None]]:
    return [
        (r.collection, r.priority, r.action.value, r.ip_address or r.vnet_subnet_resource_id)
        for r in site.all_rules()
    ]


# ---------------------------------------------------------------------------- az CLI


def test_commands_inside_command_substitution_count() -> None:
    site = az(
        f"OUT=$({ADD} -p 1 --ip-address 192.0.2.7 --action Deny)\n"
        f"X=`{ADD} -p 2 --ip-address 198.51.100.0/24`\n"
        f'echo "$({ADD} -p 3 --ip-address 203.0.113.0/24)"\n'
    )
    assert rules(site) == [
        ("main", 1, "Deny", "192.0.2.7/32"),
        ("main", 2, "Allow", "198.51.100.0/24"),
        ("main", 3, "Allow", "203.0.113.0/24"),
    ]
    assert acl.evaluate(site, acl.Request("192.0.2.7")).action is acl.Action.DENY
    # the output itself is not known
    with pytest.raises(acl.ConfigError, match=r"deploy\.sh:2: .*command substitution"):
        az(f"IP=$(az network public-ip show -n x --query ipAddress)\n{ADD} -p 1 --ip-address $IP\n")


def test_a_failing_command_does_not_stop_bash_without_set_e() -> None:
    remove = "az webapp config access-restriction remove -g rg -n app -r office"
    said: list[str] = []
    # the common "remove, then add" idiom: the first run has nothing to remove
    site = az(f"{remove}\n{ADD} -r office -p 1 --ip-address 192.0.2.0/24\n", on_warning=said.append)
    assert rules(site) == [("main", 1, "Allow", "192.0.2.0/24")]
    assert len(said) == 1 and said[0].startswith("deploy.sh:1: ") and "No rule found" in said[0]
    assert "the script goes on" in said[0]
    said.clear()
    site = az(
        f"set -e\n{remove} || true\n{ADD} -r office -p 1 --ip-address 192.0.2.0/24\n",
        on_warning=said.append,
    )
    assert len(site.main_rules) == 1 and len(said) == 1
    with pytest.raises(acl.ConfigError, match=r"deploy\.sh:2: .*No rule found.*`set -e` stops"):
        az(f"set -euo pipefail\n{remove}\n{ADD} -r office -p 1 --ip-address 192.0.2.0/24\n")
    with pytest.raises(acl.ConfigError, match=r"deploy\.sh:2: .*`set -e` stops"):
        az(f"#!/bin/bash -e\n{remove}\n")


def test_lists_run_by_exit_status() -> None:
    said: list[str] = []
    site = az(
        f"{ADD} -p 1 --ip-address 10.0.0.1\n"
        f"{ADD} -p 2 --ip-address 10.0.0.1 && {ADD} -p 3 --ip-address 10.0.0.3\n"
        f"{ADD} -p 4 --ip-address 10.0.0.1 || {ADD} -p 5 --ip-address 10.0.0.5\n"
        f"false && {ADD} -p 6 --ip-address 10.0.0.6\n"
        f"true || {ADD} -p 7 --ip-address 10.0.0.7\n"
        f"exit 0\n{ADD} -p 8 --ip-address 10.0.0.8\n",
        on_warning=said.append,
    )
    assert [r.priority for r in site.main_rules] == [1, 5]
    assert len(said) == 2


def test_generic_updates_of_the_default_action_are_evaluated() -> None:
    # the documented recipe
    site = az(
        f"{ADD} -p 1 --ip-address 192.0.2.7\n"
        "az resource update --resource-group rg --name app --resource-type "
        '"Microsoft.Web/sites" --set properties.siteConfig.ipSecurityRestrictionsDefaultAction=Allow'
        " properties.siteConfig.scmIpSecurityRestrictionsDefaultAction=Deny\n"
    )
    assert site.main_default is acl.Action.ALLOW and site.scm_default is acl.Action.DENY
    assert acl.evaluate(site, acl.Request("198.51.100.1")).action is acl.Action.ALLOW
    site = az(
        f"{ADD} -p 1 --ip-address 192.0.2.7\naz resource update --ids "
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app/config/web "
        "--set properties.scmIpSecurityRestrictionsUseMain=true\n"
        "az webapp update -g rg -n app --set publicNetworkAccess=Disabled tags.team=web\n"
        "az resource update -g rg -n v --resource-type Microsoft.Network/virtualNetworks "
        "--set properties.siteConfig.ipSecurityRestrictionsDefaultAction=Allow\n"
    )
    assert site.scm_use_main is True and site.public_network_access == "Disabled"
    assert site.main_default is None


@pytest.mark.parametrize(
    "command",
    [
        "az resource update -g rg -n app --resource-type Microsoft.Web/sites --add "
        'properties.siteConfig.ipSecurityRestrictions \'{"ipAddress": "0.0.0.0/0"}\'',
        "az resource update -g rg -n app --resource-type Microsoft.Web/sites --remove "
        "properties.siteConfig.ipSecurityRestrictions 0",
        "az resource update -g rg -n app --resource-type Microsoft.Web/sites --set "
        "properties.siteConfig.ipSecurityRestrictions[0].action=Allow",
        "az resource update -g rg -n app --resource-type Microsoft.Web/sites --set "
        "properties.siteconfig.ipSecurityRestrictionsDefaultAction=Allow",
        "az resource update -g rg -n app --resource-type Microsoft.Web/sites --set "
        "properties.siteConfig.ipSecurityRestrictionsDefaultAction=Block",
        "az webapp update -g rg -n app --set siteConfig.ipSecurityRestrictionsDefaultAction=Allow",
        "az functionapp update -g rg -n app --set properties.publicNetworkAccess=Enabled",
        "az webapp config set -g rg -n app --generic-configurations "
        '\'{"ipSecurityRestrictionsDefaultAction": "Allow"}\'',
    ],
)
def test_generic_updates_that_acl_does_not_evaluate_are_refused(command: str) -> None:
    with pytest.raises(acl.ConfigError) as caught:
        az(f"{ADD} -p 1 --ip-address 192.0.2.7\n{command}\n")
    assert str(caught.value).startswith("deploy.sh:2: ")
    assert "acl does not" in str(caught.value)


# ---------------------------------------------------------------------------- bash as the oracle

_STUB = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["AZ_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
sys.exit(1 if "--frobnicate" in sys.argv else 0)
"""


def _bash(script: str, tmp: Path) -> tuple[int, list[list[str]]]:
    stub = tmp / "bin" / "az"
    if not stub.exists():
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text(_STUB)
        stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    log = tmp / "calls.jsonl"
    log.write_text("")
    (tmp / "script.sh").write_text(script)
    env = {
        "PATH": f"{stub.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AZ_LOG": str(log),
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", str(tmp / "script.sh")],
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines() if line]
    return done.returncode, calls


def _loaded(script: str) -> tuple[str | None, list[list[str]], acl.Site | None]:
    """The load's error (None when it loaded), the az commands it evaluated, the site."""
    seen: list[list[str]] = []
    original = azcli.Az.run

    def run(self: azcli.Az, words: list[str], line: int) -> None:
        seen.append(words[1:])
        original(self, words, line)

    azcli.Az.run = run  # type: ignore[method-assign]
    try:
        site = az(script, on_warning=lambda message: None)
    except acl.ConfigError as exc:
        return str(exc), seen, None
    finally:
        azcli.Az.run = original  # type: ignore[method-assign]
    return None, seen, site


def _replayed(calls: list[list[str]]) -> list[Any]:
    """The rules the recorded calls make, through the loader's own command evaluator."""
    if not calls:
        return []
    text = "".join(shlex.join(["az", *call]) + " || true\n" for call in calls)
    site = az(text, on_warning=lambda message: None)
    return rules(site)


def _check(script: str, tmp: Path) -> None:
    status, calls = _bash(script, tmp)
    error, seen, site = _loaded(script)
    assert seen == calls, script
    if error is not None and "changes no site" in error:
        # the script ran to its end and each of its commands failed: so does the replay
        with pytest.raises(acl.ConfigError, match="changes no site"):
            _replayed(calls)
    elif error is not None:
        assert status != 0, script
    else:
        assert site is not None
        assert rules(site) == _replayed(calls), script


SCRIPTS = [
    f"{ADD} -p 1 --ip-address 10.0.0.1\nOUT=$({ADD} -p 2 --ip-address 10.0.0.2)\n",
    f"set -e\n{ADD} -p 1 --ip-address 10.0.0.1 --frobnicate || true\n{ADD} -p 2 --ip-address 10.0.0.2\n",
    f"set -e\n{ADD} -p 1 --ip-address 10.0.0.1 --frobnicate\n{ADD} -p 2 --ip-address 10.0.0.2\n",
    f"for x in 1 2 3; do\n  {ADD} -p $x --ip-address 10.0.$x.0/24\ndone\n",
    f"RG=rg\nX=`{ADD} -p 1 --ip-address 10.0.0.1 --frobnicate` && {ADD} -p 2 --ip-address 10.0.0.2\n",
    f"{ADD} \\\n  -p 1 \\\n  --ip-address '10.0.0.1' --rule-name \"a b\"\nexit 3\n{ADD} -p 2 --ip-address 10.0.0.2\n",
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_bash_runs_what_the_loader_evaluates(script: str, tmp_path: Path) -> None:
    _check(script, tmp_path)


@st.composite
def _scripts(draw: st.DrawFn) -> str:
    counter = iter(range(1, 10_000))

    def add() -> str:
        n = next(counter)
        fail = " --frobnicate" if draw(st.booleans()) and draw(st.booleans()) else ""
        quoted = draw(st.sampled_from(["{}", "'{}'", '"{}"']))
        ip = quoted.format(f"10.{n // 250}.{n % 250}.0/24")
        joiner = draw(st.sampled_from([" ", " \\\n  "]))
        group = draw(st.sampled_from(["$RG", '"$RG"', "${RG}", "${UNSET:-rg}", "'rg'"]))
        app = draw(st.sampled_from(["app", "$APP", '"${APP}"']))
        prio = draw(st.sampled_from(["-p {}", "--priority={}", "--prio {}", "-p{}"])).format(n)
        return (
            f"az webapp config access-restriction add -g {group}{joiner}-n {app} {prio} "
            f"--ip-address {ip}{fail}"
        )

    lines = ["RG=rg", draw(st.sampled_from(["APP=app", "export APP=app", 'APP="app"']))]
    if draw(st.booleans()):
        lines.insert(0, draw(st.sampled_from(["set -e", "set -euo pipefail", "set -o errexit"])))
    for _ in range(draw(st.integers(1, 6))):
        shape = draw(st.integers(0, 11))
        if shape == 0:
            lines.append(add())
        elif shape == 1:
            lines.append(f"OUT=$({add()})")
        elif shape == 2:
            lines.append(f"{add()} || true")
        elif shape == 3:
            lines.append(f"{add()} && {add()}")
        elif shape == 4:
            lines.append(f"{add()} || {add()}")
        elif shape == 5:
            lines.append(f"{draw(st.sampled_from(['true', 'false']))} && {add()}")
        elif shape == 6:
            n = next(counter)
            lines.append(
                f"for x in 1 2; do az webapp config access-restriction add -g $RG -n app "
                f"-p {n} --ip-address 10.200.{n % 250}.$x; done"
            )
        elif shape == 7:
            lines.append(f"X=`{add()}`")
        elif shape == 8:
            # a condition without a rule command inside: acl does not need to evaluate it
            lines.append(f'if [ -n "$RG" ]; then echo "rules for $RG"; fi\n{add()}')
        elif shape == 9:
            lines.append(f"{add()}; {add()}")
        elif shape == 10:
            lines.append(f"{add()} | cat")
        else:
            lines.append(f"# a comment\n{add()} # another")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=_scripts())
def test_generated_scripts_load_as_bash_runs_them(script: str, tmp_path: Path) -> None:
    _check(script, tmp_path)


# ---------------------------------------------------------------------------- PowerShell
# Hand-checked against Az.Websites' Add-AzWebAppAccessRestrictionRule (its -ResourceGroupName
# and -WebAppName are bound by name, by position 0/1, or from the pipeline by property name;
# the PSSite that Get-AzWebApp writes has Name and ResourceGroup, not those, so it binds
# nothing; -PassThru writes the config object that `$r = ...` keeps) and PowerShell's error
# model (a cmdlet's error ends the statement; `-ErrorAction Stop` or
# `$ErrorActionPreference = 'Stop'` ends the script).


def test_powershell_pipelines_into_rule_cmdlets_bind_as_powershell_does() -> None:
    for text in (
        f"Get-AzWebApp -ResourceGroupName rg -Name app | {APS} -Priority 1 -Action Deny "
        "-IpAddress 192.0.2.7/32\n",
        f"Get-AzWebApp -ResourceGroupName rg -Name app |\n  {APS} -Priority 1 -IpAddress 10.0.0.0/8\n",
    ):
        # the piped PSSite binds no parameter: the cmdlet fails in PowerShell, and acl
        # refuses the script rather than load it without the rule its author meant
        for script in (text, "$ErrorActionPreference = 'Stop'\n" + text):
            with pytest.raises(acl.ConfigError, match=r"deploy\.ps1:\d: .*cannot be bound"):
                ps(script)
    # a pipe after the rule command is fine: the command runs
    site = ps(f"{APS} -Priority 1 -IpAddress 10.0.0.0/8 -PassThru | Out-Null\n")
    assert len(site.main_rules) == 1


def test_powershell_assigned_and_splatted_commands_run() -> None:
    site = ps(
        "$params = @{ ResourceGroupName = 'rg'; WebAppName = 'app'; Name = 'scanner'\n"
        "  Priority = 50; Action = 'Deny'; IpAddress = '192.0.2.7/32' }\n"
        "Add-AzWebAppAccessRestrictionRule @params\n"
        f"$r = {APS} -Priority 100 -IpAddress 198.51.100.0/24 -PassThru\n"
        f"$null = {APS} -Priority 200 -IpAddress 203.0.113.0/24\n"
    )
    assert rules(site) == [
        ("main", 50, "Deny", "192.0.2.7/32"),
        ("main", 100, "Allow", "198.51.100.0/24"),
        ("main", 200, "Allow", "203.0.113.0/24"),
    ]
    with pytest.raises(acl.ConfigError, match=r"deploy\.ps1:1: .*@p is not a hashtable"):
        ps("Add-AzWebAppAccessRestrictionRule @p -Priority 1\n")


def test_powershell_string_concatenation_is_evaluated() -> None:
    text = (
        "$s = '/subscriptions/' + $subscriptionId + '/resourceGroups/' + $rg + "
        "'/providers/Microsoft.Network/virtualNetworks/v/subnets/s'\n"
        f"{APS} -Priority 1 -SubnetId $s\n"
    )
    site = ps(text, variables={"subscriptionId": "S", "rg": "net"})
    assert site.main_rules[0].vnet_subnet_resource_id == (
        "/subscriptions/S/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    )
    with pytest.raises(acl.ConfigError) as caught:
        ps(text)
    assert "$subscriptionId" in str(caught.value) and "(" not in str(caught.value).split(":")[2]


def test_powershell_set_azresource_recipe_is_evaluated() -> None:
    site = ps(
        f"{APS} -Priority 1 -IpAddress 10.0.0.0/8\n"
        "$Resource = Get-AzResource -ResourceType Microsoft.Web/sites -ResourceGroupName rg "
        "-ResourceName app\n"
        '$Resource.Properties.siteConfig.ipSecurityRestrictionsDefaultAction = "Allow"\n'
        '$Resource.Properties.siteConfig.scmIpSecurityRestrictionsDefaultAction = "Deny"\n'
        "$Resource | Set-AzResource -Force\n"
    )
    assert site.main_default is acl.Action.ALLOW and site.scm_default is acl.Action.DENY
    # not sent: nothing changes
    site = ps(
        f"{APS} -Priority 1 -IpAddress 10.0.0.0/8\n"
        "$Resource = Get-AzResource -ResourceType Microsoft.Web/sites -ResourceGroupName rg "
        "-ResourceName app\n"
        '$Resource.Properties.siteConfig.ipSecurityRestrictionsDefaultAction = "Allow"\n'
    )
    assert site.main_default is None
    with pytest.raises(acl.ConfigError, match=r"deploy\.ps1:3: .*acl evaluates only"):
        ps(
            "$Resource = Get-AzResource -ResourceType Microsoft.Web/sites -ResourceGroupName rg "
            "-ResourceName app\n\n"
            "$Resource.Properties.siteConfig.ipSecurityRestrictions = @()\n"
        )


def test_powershell_failures_end_the_statement_unless_stop() -> None:
    said: list[str] = []
    text = f"{APS} -Priority 1 -IpAddress 10.0.0.0/8\n{APS} -Priority 2 -IpAddress 10.0.0.0/8\n"
    site = ps(text + f"{APS} -Priority 3 -IpAddress 192.0.2.0/24\n", on_warning=said.append)
    assert [r.priority for r in site.main_rules] == [1, 3]
    assert len(said) == 1 and said[0].startswith("deploy.ps1:2: ") and "already exist" in said[0]
    with pytest.raises(acl.ConfigError, match=r"deploy\.ps1:3: .*already exist.*stops"):
        ps("$ErrorActionPreference = 'Stop'\n" + text)
    with pytest.raises(acl.ConfigError, match=r"deploy\.ps1:2: .*already exist.*stops"):
        ps(
            text.replace(
                "-Priority 2 -IpAddress 10.0.0.0/8",
                "-Priority 2 -IpAddress 10.0.0.0/8 -ErrorAction Stop",
            )
        )


@pytest.mark.parametrize("options", ["set -euo pipefail", "set -eo pipefail", "set -e -o pipefail"])
def test_pipefail_in_an_option_cluster(options: str, tmp_path: Path) -> None:
    # found by the generated scripts: `-euo pipefail` sets pipefail, as in bash
    script = (
        f"{options}\n{ADD} -p 1 --ip-address 10.0.0.1 --frobnicate | cat\n"
        f"{ADD} -p 2 --ip-address 10.0.0.2\n"
    )
    _check(script, tmp_path)
    with pytest.raises(acl.ConfigError, match=r"deploy\.sh:2: .*stops the script here"):
        az(script, on_warning=lambda message: None)

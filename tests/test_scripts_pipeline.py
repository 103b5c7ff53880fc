"""PowerShell pipelines into the access restriction cmdlets, bound as PowerShell binds them.

Az.Websites' Add- and Remove-AzWebAppAccessRestrictionRule take pipeline input by property
name into -ResourceGroupName and -WebAppName only (``ValueFromPipelineByPropertyName``; not
-SlotName, not -Name). So the config object that Get-AzWebAppAccessRestrictionConfig and the
rule cmdlets' -PassThru write (ResourceGroupName, WebAppName, SlotName properties) binds
them, and the PSSite that Get-AzWebApp and Get-AzWebAppSlot write (Name, ResourceGroup) binds
nothing: PowerShell reports that the input object cannot be bound, and no rule is added.
"""

from __future__ import annotations

from typing import Any

import pytest

import acl
from acl.formats.scripts import NotEvaluated

RULE = "Add-AzWebAppAccessRestrictionRule -Name scanner -Priority 50 -Action Deny"
CONFIG = "Get-AzWebAppAccessRestrictionConfig -ResourceGroupName rg -Name app"


def ps(text: str, **kw: Any) -> acl.Site:
    return acl.loads(text, format="powershell", source="deploy.ps1", **kw)


def rules(site: acl.Site) -> list[tuple[str, int, str, str | None]]:
    return [
        (r.collection, r.priority, r.action.value, r.ip_address or r.vnet_subnet_resource_id)
        for r in site.all_rules()
    ]


def test_a_piped_config_object_binds_the_resource_group_and_the_app() -> None:
    site = ps(f"{CONFIG} | {RULE} -IpAddress 192.0.2.7/32\n")
    assert site.name == "app"
    assert rules(site) == [("main", 50, "Deny", "192.0.2.7/32")]
    # continued on the next line after the `|`
    site = ps(f"{CONFIG} |\n    {RULE} -IpAddress 192.0.2.7/32\n")
    assert rules(site) == [("main", 50, "Deny", "192.0.2.7/32")]
    # and from a variable
    site = ps(f"$config = {CONFIG}\n$config | {RULE} -IpAddress 192.0.2.7/32 -TargetScmSite\n")
    assert rules(site) == [("scm", 50, "Deny", "192.0.2.7/32")]


def test_passthru_objects_flow_down_the_pipeline() -> None:
    site = ps(
        "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app -Priority 100 "
        "-IpAddress 198.51.100.0/24 -Name office -PassThru |\n"
        f"  {RULE} -IpAddress 192.0.2.7/32 -PassThru |\n"
        "  Remove-AzWebAppAccessRestrictionRule -Name office |\n"
        "  Add-AzWebAppAccessRestrictionRule -Priority 300 -IpAddress 203.0.113.0/24\n"
    )
    assert rules(site) == [
        ("main", 50, "Deny", "192.0.2.7/32"),
        ("main", 300, "Allow", "203.0.113.0/24"),
    ]
    # without -PassThru, Add- writes nothing: the next cmdlet gets no input and does not run
    said: list[str] = []
    site = ps(
        "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app -Priority 100 "
        f"-IpAddress 198.51.100.0/24 | {RULE} -IpAddress 192.0.2.7/32\n",
        on_warning=said.append,
    )
    assert rules(site) == [("main", 100, "Allow", "198.51.100.0/24")]
    assert len(said) == 1 and "writes no object" in said[0] and "never runs" in said[0]


@pytest.mark.parametrize(
    "producer",
    [
        "Get-AzWebApp -ResourceGroupName rg -Name app",
        "Get-AzWebApp rg app",
        "Get-AzWebAppSlot -ResourceGroupName rg -Name app -Slot staging",
    ],
)
def test_a_piped_web_app_binds_nothing_and_the_load_is_refused(producer: str) -> None:
    """Azure PowerShell fails the cmdlet; acl refuses the script rather than load it without
    the rule the author meant (the issue's misread: the Deny rule vanished, the address came
    out ALLOW)."""
    text = f"{producer} | {RULE} -IpAddress 192.0.2.7/32\n"
    for script in (
        text,
        "Add-AzWebAppAccessRestrictionRule rg app -Priority 1 -IpAddress 10.0.0.0/8\n" + text,
        "$ErrorActionPreference = 'Stop'\n" + text,
        f"{producer} | Remove-AzWebAppAccessRestrictionRule -Name x\n",
    ):
        with pytest.raises(NotEvaluated) as caught:
            ps(script)
        message = str(caught.value)
        assert message.startswith("deploy.ps1:") and "PSSite" in message
        assert "cannot be bound" in message and "give -ResourceGroupName and -WebAppName" in message


def test_slot_name_does_not_come_from_the_pipeline() -> None:
    said: list[str] = []
    text = f"{CONFIG} -SlotName staging | {RULE} -IpAddress 192.0.2.7/32"
    site = ps(text + "\n", on_warning=said.append)
    assert site.name == "app" and len(site.main_rules) == 1
    assert len(said) == 1 and "changes the production site" in said[0]
    site = ps(text + " -SlotName staging\n")
    assert site.name == "app/staging"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"Get-AzWebApp -ResourceGroupName rg | {RULE} -IpAddress 192.0.2.7/32",
            r"deploy\.ps1:1: `Get-AzWebApp -ResourceGroupName rg`: acl knows what it writes only",
        ),
        (
            f"Get-AzResource -Name app | {RULE} -IpAddress 192.0.2.7/32",
            r"deploy\.ps1:1: pipeline input `Get-AzResource -Name app \| \.\.\.`",
        ),
        (
            f"{CONFIG} | Where-Object {{ $_ }} | {RULE} -IpAddress 192.0.2.7/32",
            r"deploy\.ps1:1: pipeline input from a script block",
        ),
    ],
)
def test_what_cannot_be_known_is_refused(text: str, expected: str) -> None:
    with pytest.raises(NotEvaluated, match=expected):
        ps(text + "\n")


def test_unknown_values_in_a_pipeline_name_the_variable() -> None:
    text = f"Get-AzWebAppAccessRestrictionConfig -ResourceGroupName $rg -Name app | {RULE} -IpAddress 192.0.2.7/32\n"
    with pytest.raises(acl.ConfigError, match=r"deploy\.ps1:1: \$rg cannot be known"):
        ps(text)
    site = ps(text, variables={"rg": "shop"})
    assert rules(site) == [("main", 50, "Deny", "192.0.2.7/32")]


def test_commands_between_and_script_blocks_are_refused() -> None:
    with pytest.raises(NotEvaluated, match=r"deploy\.ps1:1: pipeline `\.\.\. \| Select-Object"):
        ps(f"{CONFIG} | Select-Object -First 1 | {RULE} -IpAddress 192.0.2.7/32\n")
    for text in (
        f"{CONFIG} | ForEach-Object {{\n  {RULE} -IpAddress 192.0.2.7/32\n}}\n",
        f"& {{ {RULE} -ResourceGroupName rg -WebAppName app -IpAddress 192.0.2.7/32 }}\n",
    ):
        with pytest.raises(acl.ConfigError, match=r"deploy\.ps1:\d: .*inside a script block"):
            ps(text)


def test_a_bare_word_after_equals_is_a_command_not_a_string() -> None:
    # `$rg = Get-ResourceGroupName` assigns the command's output, not the text
    rule = "Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rg -WebAppName app -Priority 1"
    with pytest.raises(acl.ConfigError, match=r"deploy\.ps1:2: \$rg cannot be known"):
        ps(f"$rg = Get-ResourceGroupName\n{rule} -IpAddress 10.0.0.0/8\n")
    site = ps(f"$rg = 'shop'\n$p = 7\n{rule.replace('1', '$p')} -IpAddress 10.0.0.0/8\n")
    assert rules(site) == [("main", 7, "Allow", "10.0.0.0/8")]
    with pytest.raises(acl.ConfigError, match=r"deploy\.ps1:2: Get-Name cannot be known"):
        ps(
            "$p = @{ ResourceGroupName = 'rg'; WebAppName = Get-Name; Priority = 1 }\n"
            "Add-AzWebAppAccessRestrictionRule @p -IpAddress 10.0.0.0/8\n"
        )


def test_assigned_objects_are_known_only_where_a_rule_cmdlet_needs_them() -> None:
    # assigning what acl cannot know is not an error until a rule cmdlet takes it
    site = ps(
        "$all = Get-AzWebApp -ResourceGroupName rg\n"
        "$one = Get-AzWebApp -ResourceGroupName $unknown -Name app\n"
        f"$r = {CONFIG} | {RULE} -IpAddress 192.0.2.7/32 -PassThru\n"
    )
    assert rules(site) == [("main", 50, "Deny", "192.0.2.7/32")]
    with pytest.raises(NotEvaluated, match=r"deploy\.ps1:2: pipeline input `\$all \| \.\.\.`"):
        ps(f"$all = Get-AzWebApp -ResourceGroupName rg\n$all | {RULE} -IpAddress 192.0.2.7/32\n")


def test_update_takes_the_config_object_as_its_input_object() -> None:
    update = "Update-AzWebAppAccessRestrictionConfig"
    # the object is the config as it was: piping it back sets the value it had
    site = ps(
        f"$c = {CONFIG}\n{update} rg app -ScmSiteUseMainSiteRestrictionConfig\n$c | {update}\n"
    )
    assert site.scm_use_main is False
    site = ps(f"{update} rg app -ScmSiteUseMainSiteRestrictionConfig\n{CONFIG} | {update}\n")
    assert site.scm_use_main is True
    site = ps(
        f"{update} rg app -ScmSiteUseMainSiteRestrictionConfig -PassThru | {update}\n"
        f"$c = {CONFIG}\n{update} -InputObject $c -WhatIf\n",
        on_warning=lambda message: None,
    )
    assert site.scm_use_main is True
    # with a parameter of the other set, the config binds -ResourceGroupName only: -Name is missing
    with pytest.raises(
        acl.ConfigError, match=r"deploy\.ps1:1: .*mandatory parameter -Name is missing.*stops"
    ):
        ps(f"{CONFIG} | {update} -ScmSiteUseMainSiteRestrictionConfig -ErrorAction Stop\n")
    # a web app binds -Name (its Name), not -ResourceGroupName
    with pytest.raises(
        acl.ConfigError, match=r"mandatory parameter -ResourceGroupName is missing.*stops"
    ):
        ps(
            f"Get-AzWebApp rg app | {update} -ScmSiteUseMainSiteRestrictionConfig -ErrorAction Stop\n"
        )
    with pytest.raises(
        NotEvaluated, match=r"deploy\.ps1:1: .*-InputObject .*acl knows only the config object"
    ):
        ps(f"{update} -InputObject $unknownObject\n", variables={"unknownObject": "x"})

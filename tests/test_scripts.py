"""az CLI and Azure PowerShell scripts, applied the way the clients apply them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import acl
from acl.formats import ConfigWarning, sniff_path, sniff_text

DATA = Path(__file__).parent / "data" / "scripts"
FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
SUB = "00000000-0000-0000-0000-000000000001"
TEMPLATE = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/"
    "{vnet}/subnets/{subnet}"
)
ADD = "az webapp config access-restriction add -g rg -n app"


def az(text: str, **kw: Any) -> acl.Site:
    return acl.loads(text, format="azcli", source="deploy.sh", **kw)


def ps(text: str, **kw: Any) -> acl.Site:
    return acl.loads(text, format="powershell", source="deploy.ps1", **kw)


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


def decide(site: acl.Site, ip: str, **kw: Any) -> str:
    return acl.evaluate(site, acl.Request(ip, **kw)).action.value


LOCKED = [
    ("main", "front-door", 100, "Allow", "AzureFrontDoor.Backend"),
    ("main", "block-scanner", 50, "Deny", "203.0.113.66/32"),
    ("main", "office", 200, "Allow", "198.51.100.0/24,2001:db8:cafe::/48"),
    ("scm", "agents-192.0.2.0/28", 300, "Allow", "192.0.2.0/28"),
    ("scm", "agents-192.0.2.16/28", 300, "Allow", "192.0.2.16/28"),
]


# ---------------------------------------------------------------------------- az CLI


def test_az_script() -> None:
    site = acl.load(DATA / "lockdown.sh")
    assert site.name == "contoso-shop"
    assert summary(site) == LOCKED
    assert site.main_default is acl.Action.DENY and site.scm_default is acl.Action.DENY
    assert not site.scm_use_main
    front_door = site.main_rules[0]
    assert [(h.name, h.values) for h in front_door.headers] == [
        ("X-Azure-FDID", (FDID,)),
        ("X-FD-HealthProbe", ("1",)),
    ]
    assert site.main_rules[2].description == "Office egress"
    origin = site.main_rules[1].origin
    assert origin is not None and (origin.file, origin.line) == (str(DATA / "lockdown.sh"), 16)
    assert decide(site, "192.0.2.5", host="contoso-shop.scm.azurewebsites.net") == "Allow"
    assert decide(site, "192.0.2.5") == "Deny"


def test_az_and_powershell_scripts_agree() -> None:
    bash = acl.load(DATA / "lockdown.sh")
    pwsh = acl.load(DATA / "lockdown.ps1")
    assert summary(bash) == summary(pwsh)
    assert (bash.main_default, bash.scm_default, bash.scm_use_main) == (
        pwsh.main_default,
        pwsh.scm_default,
        pwsh.scm_use_main,
    )


def test_bare_addresses_become_host_routes() -> None:
    site = az(f"{ADD} -p 1 --ip-address 192.0.2.7,2001:DB8::1")
    assert site.main_rules[0].ip_address == "192.0.2.7/32,2001:db8::1/128"


def test_host_bits_are_cleared_as_azure_cli_2_91_does() -> None:
    # _validate_ip_address_format: ipaddress.ip_network(ip, False) of each element
    site = az(f"{ADD} -p 1 --ip-address 10.1.2.3/24,192.0.2.7,2001:db8::1:2/64")
    assert site.main_rules[0].ip_address == "10.1.2.0/24,192.0.2.7/32,2001:db8::/64"
    engine = acl.compile(site)
    assert engine.decide(acl.Request("10.1.2.200")).decided_by == "#0"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (f"{ADD} -p 1 --ip-address 192.0.2.7/33", "192.0.2.7/33"),
        (f"{ADD} -p 1 --ip-address '192.0.2.0/24, 10.0.0.0/8'", "Spaces not allowed"),
        (
            f"{ADD} -p 1 --ip-address " + ",".join(f"10.0.0.{i}" for i in range(9)),
            "Maximum 8 IP addresses",
        ),
        (f"{ADD} --ip-address 192.0.2.7", "the following arguments are required: --priority/-p"),
        (f"{ADD} -p 1", "Please specify either: --subnet or --ip-address or --service-tag"),
        (f"{ADD} -p 1 --ip-address 192.0.2.7 --service-tag AzureCloud", "Please specify either"),
        (
            f"{ADD} -p high --ip-address 192.0.2.7",
            "--priority 'high' is not valid: expected an integer",
        ),
        (
            f"{ADD} -p 1 --ip-address 192.0.2.7 --action Block",
            "argument --action: invalid value 'Block'",
        ),
        (f"{ADD} -p 1 --ip-address 192.0.2.7 --frobnicate", "unrecognized argument '--frobnicate'"),
        (
            f"{ADD} -p 1 --ip-address 192.0.2.7 --http-header host=a.com",
            'Invalid http-header name: "host"',
        ),
        (
            f"{ADD} -p 1 --ip-address 192.0.2.7 --http-header x-azure-fdid",
            "Http headers must have a format",
        ),
        (
            "az webapp config access-restriction add -n app -p 1 --ip-address 192.0.2.7",
            "required: --resource-group/-g",
        ),
        (f"{ADD} -p 1 --vnet-name v --subnet s", "give --subnet-id-template"),
        (
            f"{ADD} -p 1 --subnet s",
            "Please specify either: --subnet ID or (--subnet NAME and --vnet-name NAME)",
        ),
    ],
)
def test_az_errors_point_at_the_line(command: str, message: str) -> None:
    with pytest.raises(acl.ConfigError) as caught:
        az(f"#!/bin/bash\nset -e\n{command}\n")
    assert str(caught.value).startswith("deploy.sh:3: ")
    assert message in str(caught.value)


def test_duplicates_are_refused_as_the_cli_does() -> None:
    with pytest.raises(
        acl.ConfigError,
        match=r"deploy\.sh:3: .*IP address '192\.0\.2\.7/32' and the same HTTP header filter "
        "already exists",
    ):
        az(
            f"set -e\n{ADD} -p 1 --ip-address 192.0.2.7/32\n{ADD} -p 2 --ip-address 192.0.2.7 --action Deny\n"
        )
    # the same addresses in another order are the same set
    with pytest.raises(acl.ConfigError, match="already exists"):
        az(
            f"set -e\n{ADD} -p 1 --ip-address 10.0.0.0/8,192.0.2.7\n{ADD} -p 2 --ip-address 192.0.2.7,10.0.0.0/8\n"
        )
    with pytest.raises(acl.ConfigError, match="value 'azurecloud' and the same HTTP header"):
        az(f"set -e\n{ADD} -p 1 --service-tag AzureCloud\n{ADD} -p 2 --service-tag azurecloud\n")
    # a different header filter makes another rule
    site = az(
        f"{ADD} -p 1 --ip-address 192.0.2.7\n"
        f"{ADD} -p 2 --ip-address 192.0.2.7 --http-header x-forwarded-host=a.example.com\n"
    )
    assert len(site.main_rules) == 2
    # the same address in the other collection is fine
    site = az(f"{ADD} -p 1 --ip-address 192.0.2.7\n{ADD} -p 1 --ip-address 192.0.2.7 --scm-site\n")
    assert len(site.main_rules) == len(site.scm_rules) == 1


def test_remove_needs_the_action() -> None:
    text = f"set -e\n{ADD} -r scanner -p 1 --ip-address 192.0.2.7 --action Deny\n"
    with pytest.raises(acl.ConfigError, match=r"deploy\.sh:3: .*No rule found.*--action Deny"):
        az(text + "az webapp config access-restriction remove -g rg -n app -r scanner\n")
    site = az(
        text + "az webapp config access-restriction remove -g rg -n app -r SCANNER --action deny\n"
    )
    assert site.main_rules == ()
    site = az(
        text
        + "az webapp config access-restriction remove -g rg -n app --ip-address 192.0.2.7 --action Deny\n"
    )
    assert site.main_rules == ()


def test_subnets_by_name_need_a_template() -> None:
    site = acl.load(
        DATA / "subnets.sh",
        site="jobs-api",
        subnet_id_template=TEMPLATE.replace("{sub}", SUB),
    )
    assert site.main_rules[0].vnet_subnet_resource_id == (
        f"/subscriptions/{SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/"
        "shop-vnet/subnets/jobs"
    )
    assert site.public_network_access == "Disabled"
    with pytest.raises(acl.ConfigError, match=r"subnets\.sh:3: .*needs \{sub\}.*--subscription"):
        acl.load(DATA / "subnets.sh", site="jobs-api", subnet_id_template=TEMPLATE)


def test_several_apps_need_site() -> None:
    options = {"subnet_id_template": TEMPLATE.replace("{sub}", SUB)}
    with pytest.raises(
        acl.ConfigError,
        match=r"changes 3 sites: choose one with --site NAME \(one of: jobs-api, jobs-api/staging, jobs-worker\)",
    ):
        acl.load(DATA / "subnets.sh", **options)
    staging = acl.load(DATA / "subnets.sh", site="jobs-api/staging", **options)
    assert [r.name for r in staging.main_rules] == ["office"]
    worker = acl.load(DATA / "subnets.sh", site="JOBS-WORKER", **options)
    assert worker.main_rules[0].vnet_subnet_resource_id is not None


def test_unresolved_variables_are_named() -> None:
    text = "az webapp config access-restriction add -g $RG -n ${APP} -p 1 --ip-address $(curl -s ifconfig.me)\n"
    with pytest.raises(acl.ConfigError) as caught:
        az(text)
    message = str(caught.value)
    assert message.startswith("deploy.sh:1: shell variables $RG, $APP are not set in the script")
    assert "--var RG=VALUE --var APP=VALUE" in message
    assert "$(curl -s ifconfig.me) is a command substitution" in message
    site = az(
        text.replace("$(curl -s ifconfig.me)", "$IP"),
        variables={"RG": "rg", "APP": "app", "IP": "192.0.2.9"},
    )
    assert site.main_rules[0].ip_address == "192.0.2.9/32"
    said: list[str] = []
    with pytest.raises(acl.ConfigError, match="no access restriction command"):
        az(text, unresolved="skip-rule", on_warning=said.append)
    assert "command skipped" in said[0]


def test_variables_defaults_and_overrides() -> None:
    text = (
        'IP="${IP:-192.0.2.1}"\nexport RG=rg\n'
        + "az webapp config access-restriction add -g $RG -n app -p 1 --ip-address $IP\n"
    )
    assert az(text).main_rules[0].ip_address == "192.0.2.1/32"
    assert az(text, variables={"IP": "192.0.2.2"}).main_rules[0].ip_address == "192.0.2.2/32"


def test_conditions_are_not_evaluated() -> None:
    text = f'if [ "$ENV" = prod ]; then\n  {ADD} -p 1 --ip-address 192.0.2.7\nfi\n'
    with pytest.raises(
        acl.ConfigError,
        match=r"deploy\.sh:2: an access restriction command is inside `if` \(line 1\)",
    ):
        az(text)
    # other commands inside conditions do not matter
    site = az(f"if true; then\n  echo hi\nfi\n{ADD} -p 1 --ip-address 192.0.2.7\n")
    assert len(site.main_rules) == 1


def test_other_commands_are_ignored() -> None:
    text = (
        "az login --identity\n"
        "az webapp create -g rg -n app -p plan\n"
        f"{ADD} -p 1 --ip-address 192.0.2.7 --output none > /dev/null 2>&1 && echo ok\n"
        "az webapp config access-restriction show -g rg -n app | jq .\n"
    )
    assert len(az(text).main_rules) == 1


def test_functionapp_and_ids() -> None:
    rid = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/fn/slots/blue"
    site = az(
        f"az functionapp config access-restriction add --ids {rid} -p 1 --ip-address 192.0.2.7\n"
    )
    assert site.name == "fn/blue"


def test_base_site() -> None:
    base = acl.loads(
        '{"ipSecurityRestrictions": [{"name": "old", "priority": 5, "ipAddress": "10.0.0.0/8"}],'
        ' "ipSecurityRestrictionsDefaultAction": "Deny"}'
    )
    text = (
        f"{ADD} -r new -p 1 --ip-address 192.0.2.7\n"
        "az webapp config access-restriction remove -g rg -n app -r old\n"
    )
    site = az(text, base_site=base)
    assert [r.name for r in site.main_rules] == ["new"]
    assert site.main_default is acl.Action.DENY
    with pytest.raises(acl.ConfigError, match=r"IP address '10.0.0.0/8' and the same HTTP"):
        az(f"set -e\n{ADD} -p 1 --ip-address 10.0.0.0/8\n", base_site=base)
    # the script changes rules; the base site's state stays
    closed = replace(base, has_private_endpoint=True, hosting="ase", ip_based_ssl=True)
    site = az(text, base_site=closed)
    assert (site.has_private_endpoint, site.hosting, site.ip_based_ssl) == (True, "ase", True)


def test_empty_script() -> None:
    with pytest.raises(acl.ConfigError, match="no access restriction command in the script"):
        az("echo nothing\n")


# ---------------------------------------------------------------------------- PowerShell


PS_ADD = "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app"


def test_powershell_script() -> None:
    site = acl.load(DATA / "lockdown.ps1")
    assert summary(site) == LOCKED
    origin = site.scm_rules[0].origin
    assert origin is not None and origin.line == 18  # inside the foreach
    assert decide(site, "198.51.100.1") == "Allow"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (f"{PS_ADD} -Priority 1 -IpAddress 192.0.2.7", "Ip addresses must be in valid CIDR format"),
        (
            f"{PS_ADD} -Priority 1 -IpAddress '192.0.2.0/24, 10.0.0.0/8'",
            "cannot contain blank spaces",
        ),
        (f"{PS_ADD} -IpAddress 192.0.2.0/24", "the mandatory parameter -Priority is missing"),
        (
            f"{PS_ADD} -Priority 1 -IpAddress 192.0.2.0/24 -ServiceTag AzureCloud",
            "Parameter set cannot be resolved",
        ),
        (
            f"{PS_ADD} -Priority 1 -IpAddress 192.0.2.0/24 -Action Block",
            "does not belong to the set",
        ),
        (f"{PS_ADD} -Priority 1 -IpAddress 192.0.2.0/24 -Frob x", "-Frob is not a parameter"),
        (
            f"{PS_ADD} -Priority 1 -IpAddress 192.0.2.0/24 -HttpHeader @{{host = 'x'}}",
            "'host' is not a supported http header",
        ),
        (f"{PS_ADD} -Priority 1 -SubnetName s", "-SubnetName needs -VirtualNetworkName"),
        (f"{PS_ADD} -Priority 1 -IpAddress $env:OFFICE", "$env:OFFICE cannot be known"),
        (f"{PS_ADD} -Priority 1 -IpAddress $config.Office", "$config.Office cannot be known"),
    ],
)
def test_powershell_errors_point_at_the_line(command: str, message: str) -> None:
    with pytest.raises(acl.ConfigError) as caught:
        ps(f"# header\n$ErrorActionPreference = 'Stop'\n{command}\n")
    assert str(caught.value).startswith("deploy.ps1:3: ")
    assert message in str(caught.value)


def test_powershell_variables_and_parameters() -> None:
    text = (
        "$cfg = @{ Office = '198.51.100.0/24' }\n"
        "Add-AzWebAppAccessRestrictionRule -ResourceGroup rg -WebApp app -Prio 10 "
        "-IpAddress $cfg.Office -TargetScmSite:$true\n"
        f'{PS_ADD} -Priority 20 -IpAddress "$($env:VPN)/32" -HttpHeader @{{\n'
        "  'X-Forwarded-Host' = 'a.contoso.com', 'b.contoso.com'\n"
        "}}\n"
    )
    site = ps(text, variables={"VPN": "203.0.113.9"})
    assert summary(site) == [
        ("main", None, 20, "Allow", "203.0.113.9/32"),
        ("scm", None, 10, "Allow", "198.51.100.0/24"),
    ]
    assert site.main_rules[0].headers[0].hosts == ("a.contoso.com", "b.contoso.com")
    site = ps(text, variables={"VPN": "203.0.113.9", "cfg.Office": "192.0.2.0/24"})
    assert site.scm_rules[0].ip_address == "192.0.2.0/24"


def test_powershell_remove_and_update() -> None:
    text = (
        f"{PS_ADD} -Name a -Priority 1 -IpAddress 192.0.2.0/24 -Action Deny\n"
        "Remove-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app -Name a\n"
        "Update-AzWebAppAccessRestrictionConfig -ResourceGroupName rg -Name app -ScmSiteUseMainSiteRestrictionConfig\n"
    )
    with pytest.warns(ConfigWarning, match=r"deploy\.ps1:2: .*found no matching rule"):
        site = ps(text)
    assert len(site.main_rules) == 1 and site.scm_use_main
    site = ps(text.replace("-Name a\n", "-Name A -Action deny\n"))
    assert site.main_rules == ()


def test_powershell_whatif_changes_nothing() -> None:
    said: list[str] = []
    text = f"{PS_ADD} -Priority 1 -IpAddress 192.0.2.0/24 -WhatIf\n{PS_ADD} -Priority 2 -IpAddress 192.0.2.0/25\n"
    site = ps(text, on_warning=said.append)
    assert [r.priority for r in site.main_rules] == [2]
    assert "-WhatIf changes nothing" in said[0]


def test_powershell_conditions_are_not_evaluated() -> None:
    text = f"if ($prod) {{\n    {PS_ADD} -Priority 1 -IpAddress 192.0.2.0/24\n}}\n"
    with pytest.raises(
        acl.ConfigError, match=r"deploy\.ps1:2: an access restriction command is inside `if`"
    ):
        ps(text)


def test_az_inside_powershell() -> None:
    text = (
        "$rg = 'rg'\n"
        "az webapp config access-restriction add `\n"
        "  -g $rg -n app --rule-name office `\n"
        "  --priority 100 --ip-address 198.51.100.7\n"
    )
    site = ps(text)
    assert summary(site) == [("main", "office", 100, "Allow", "198.51.100.7/32")]


# ---------------------------------------------------------------------------- sniffing


def test_sniffing() -> None:
    assert sniff_path(DATA / "lockdown.sh") == "azcli"
    assert sniff_path(DATA / "lockdown.ps1") == "powershell"
    assert sniff_text((DATA / "lockdown.sh").read_text()) == "azcli"
    assert sniff_text((DATA / "lockdown.ps1").read_text()) == "powershell"
    # text that is not JSON is sniffed by content
    assert summary(acl.loads((DATA / "lockdown.sh").read_text())) == LOCKED
    assert summary(acl.loads((DATA / "lockdown.ps1").read_text())) == LOCKED


def test_json_errors_stay_json_errors() -> None:
    with pytest.raises(acl.ConfigError, match="invalid JSON"):
        acl.loads('{"ipSecurityRestrictions": [')


# ------------------------------------------------- what bash and PowerShell really run

ADD = "az webapp config access-restriction add -g rg -n app"


def test_a_here_document_is_data_and_one_holding_a_rule_command_is_refused() -> None:
    site = az(
        f"cat <<'EOT' > notes.txt\nfirst line\nEOT\n{ADD} --rule-name office -p 100 --ip-address 1.2.3.4/32\n"
    )
    assert [r.name for r in site.main_rules] == ["office"]
    for opener in ("cat <<EOT > /dev/null", "ssh host <<-'REMOTE'"):
        end = "REMOTE" if "REMOTE" in opener else "EOT"
        text = f"{opener}\n\t{ADD} --rule-name bogus -p 1 --ip-address 0.0.0.0/0\n{end}\n{ADD} --rule-name office -p 100 --ip-address 1.2.3.4/32\n"
        with pytest.raises(acl.ConfigError, match=r":2: the here-document opened on line 1 holds"):
            az(text)


def test_ifs_is_refused_rather_than_split_on_blanks() -> None:
    text = f'IPS="10.0.0.1,10.0.0.2"\nIFS=","\nfor ip in $IPS; do {ADD} -p 100 --ip-address $ip; done\n'
    with pytest.raises(acl.ConfigError, match=r"deploy\.sh:2: IFS is set"):
        az(text)


def test_a_script_with_windows_line_endings_is_refused(tmp_path: Path) -> None:
    """bash keeps the CR: a backslash continuation escapes it, arguments end in it."""
    path = tmp_path / "rules.sh"
    path.write_bytes(
        f"set -e\r\n{ADD} \\\r\n  --rule-name office -p 100 --ip-address 1.2.3.4/32\r\n".encode()
    )
    with pytest.raises(acl.ConfigError, match=r"rules\.sh:1: the line ends with CR LF"):
        acl.load(path)


@pytest.mark.parametrize(
    ("text", "loader"),
    [
        (f"{ADD} --rule-name office -p 100 --ip-address 1.2.3.4/33\n", az),
        (
            "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app -Name o -Priority 1 -IpAddress 1.2.3.4\n",
            ps,
        ),
    ],
)
def test_a_script_whose_every_command_fails_is_an_error(text: str, loader: Any) -> None:
    """Loaded as a site without rules it would allow everyone, which its author never meant."""
    said: list[str] = []
    with pytest.raises(
        acl.ConfigError, match=r"changes no site: each of its access restriction commands fails"
    ):
        loader(text, on_warning=said.append)
    assert len(said) == 1  # the failing command's own warning, as before


def test_apps_of_one_name_in_two_resource_groups_are_not_merged() -> None:
    text = f"{ADD} -p 100 --ip-address 1.2.3.4/32\n{ADD.replace('-g rg', '-g other')} -p 200 --ip-address 0.0.0.0/0\n"
    with pytest.raises(
        acl.ConfigError, match=r"changes two sites named 'app': in the resource group 'rg'"
    ):
        az(text)


@pytest.mark.parametrize("argument", ["$ip/32", "ip-$ip"])
def test_powershell_text_joined_to_a_variable_is_refused(argument: str) -> None:
    text = f"$ip = '1.2.3.4'\nAdd-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app -Name o -Priority 1 -IpAddress {argument}\n"
    with pytest.raises(acl.ConfigError, match=r":2: .* joins .*: write \".*\" in double quotes"):
        ps(text)
    quoted = ps(text.replace(f"-IpAddress {argument}", '-IpAddress "$ip/32"'))
    assert quoted.main_rules[0].ip_address == "1.2.3.4/32"


@pytest.mark.parametrize(
    "stray",
    [
        "-TargetScmSite $false",  # a switch, then $false as a positional argument
        "-Name Office HQ",  # an unquoted two-word name
    ],
)
def test_powershell_positional_arguments_never_replace_named_ones(stray: str) -> None:
    """ResourceGroupName and WebAppName are positions 0 and 1; once given by name they take
    no positional argument, and PowerShell fails the cmdlet on the stray one."""
    text = (
        "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app "
        f"-Priority 100 -IpAddress 1.2.3.4/32 {stray if stray.startswith('-Name') else '-Name o ' + stray}\n"
    )
    with pytest.raises(
        acl.ConfigError, match="a positional parameter cannot be found that accepts argument"
    ):
        ps(text)
    with pytest.raises(acl.ConfigError, match="parameter 'Priority' is specified more than once"):
        ps(
            "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app -Name o -Priority 1 -Priority 2 -IpAddress 1.2.3.4/32\n"
        )

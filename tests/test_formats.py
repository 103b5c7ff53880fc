"""The ARM/REST loaders: every shape, sniffing, templates, and their errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import acl
from acl.formats import FORMATS, sniff

from .conftest import SHARED

RULES = [
    {"name": "office", "priority": 100, "action": "Allow", "ipAddress": "198.51.100.0/24"},
    {"ipAddress": "Any", "action": "Deny", "priority": 2147483647, "name": "Deny all"},
]
CONFIG = {
    "ipSecurityRestrictions": RULES,
    "scmIpSecurityRestrictions": [{"name": "deploy", "priority": 1, "ipAddress": "192.0.2.0/28"}],
    "scmIpSecurityRestrictionsUseMain": False,
    "scmIpSecurityRestrictionsDefaultAction": "Deny",
}


def load(doc: Any, **kw: Any) -> acl.Site:
    return acl.loads(json.dumps(doc), **kw)


def names(site: acl.Site) -> tuple[list[str | None], list[str | None]]:
    return [r.name for r in site.main_rules], [r.name for r in site.scm_rules]


def test_registry_names() -> None:
    assert list(FORMATS) == [
        "rules",
        "siteconfig",
        "site",
        "config-web",
        "arm-template",
        "terraform",
        "terraform-show",
        "azcli",
        "powershell",
        "acl-site",
    ]


@pytest.mark.parametrize(
    ("doc", "fmt"),
    [
        (RULES, "rules"),
        (CONFIG, "siteconfig"),
        (
            {"type": "Microsoft.Web/sites", "name": "app", "properties": {"siteConfig": CONFIG}},
            "site",
        ),
        ({"name": "app", "siteConfig": CONFIG, "publicNetworkAccess": "Enabled"}, "site"),
        (
            {"type": "Microsoft.Web/sites/config", "name": "app/web", "properties": CONFIG},
            "config-web",
        ),
        ({"id": "/x/config/web", "properties": CONFIG}, "config-web"),
        (
            {
                "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "resources": [],
            },
            "arm-template",
        ),
    ],
)
def test_sniffing(doc: Any, fmt: str) -> None:
    assert sniff(doc) == fmt


def test_rules_array() -> None:
    site = load(RULES)
    assert names(site) == (["office"], [])
    assert site.main_default is acl.Action.DENY


def test_siteconfig_and_its_twins_load_the_same() -> None:
    plain = load(CONFIG)
    assert names(plain) == (["office"], ["deploy"])
    assert plain.scm_default is acl.Action.DENY
    resource = load(
        {
            "type": "Microsoft.Web/sites",
            "name": "app",
            "properties": {"siteConfig": CONFIG, "publicNetworkAccess": "Disabled"},
        }
    )
    assert names(resource) == names(plain) and resource.public_access_disabled
    assert resource.name == "app"
    config_web = load(
        {"type": "Microsoft.Web/sites/config", "name": "app/web", "properties": CONFIG}
    )
    assert names(config_web) == names(plain) and config_web.name == "app"
    flat = load({"name": "app", "siteConfig": CONFIG})
    assert names(flat) == names(plain)


def test_real_arm_examples_from_shared_data() -> None:
    path = SHARED / "data" / "logs" / "arm-siteconfig-ipsecurityrestrictions.examples.json"
    if not path.exists():
        pytest.skip("../shared/data is not beside the checkout")
    data = json.loads(path.read_text())
    with_rules = load(data["with_rules__tf_issue_18664"])
    assert [r.name for r in with_rules.main_rules] == [
        "ServiceTagAddressRestriction",
        "IpAddressRestriction",
    ]
    assert with_rules.main_default is acl.Action.DENY
    without = load(data["without_rules__az_cli_output"])
    assert without.main_rules == () and without.main_default is acl.Action.ALLOW


def test_format_override_and_wrong_format() -> None:
    assert names(load(CONFIG, format="siteconfig")) == (["office"], ["deploy"])
    with pytest.raises(acl.ConfigError, match="nothing to load"):
        load({"type": "Microsoft.Web/sites/config", "properties": CONFIG}, format="site")
    with pytest.raises(acl.ConfigError, match="nothing to load"):
        load({"resources": []}, format="siteconfig")
    with pytest.raises(acl.ConfigError, match="format 'nope' is unknown"):
        load(CONFIG, format="nope")
    with pytest.raises(acl.ConfigError, match="cannot tell the format"):
        load({"hello": 1})


def test_load_file_keeps_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text(json.dumps([{"name": "x", "priority": 1, "ipAddress": "1.2.3"}]))
    for kwargs in ({}, {"options": acl.LoadOptions()}):
        with pytest.raises(acl.ConfigError) as info:
            acl.load(path, **kwargs)
        assert str(info.value).startswith(f"{path}: $[0]: rule 'x' (#0 in the file): ")
    site_path = tmp_path / "ok.json"
    site_path.write_text(json.dumps(RULES))
    assert acl.load(site_path, options=acl.LoadOptions()).source == str(site_path)


# --------------------------------------------------------------------------- templates


def template(*resources: Any, parameters: Any = None, variables: Any = None) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": parameters or {},
        "variables": variables or {},
        "resources": list(resources),
    }


SITE_NAME = {"siteName": {"type": "string", "defaultValue": "shop"}}


def test_template_with_parameters_variables_and_nested_config() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "apiVersion": "2022-03-01",
            "name": "[parameters('siteName')]",
            "location": "[resourceGroup().location]",
            "properties": {
                "serverFarmId": "[resourceId('Microsoft.Web/serverfarms', 'plan')]",
                "siteConfig": {
                    "ipSecurityRestrictions": "[variables('rules')]",
                    "appSettings": "[reference('x')]",
                },
                "publicNetworkAccess": "[parameters('access')]",
            },
            "resources": [
                {
                    "type": "config",
                    "name": "web",
                    "properties": {
                        "ipSecurityRestrictionsDefaultAction": "[parameters('default')]"
                    },
                },
            ],
        },
        parameters={
            **SITE_NAME,
            "access": {"type": "string", "defaultValue": "Enabled"},
            "default": {"type": "string"},
            "office": {"type": "string", "defaultValue": "198.51.100.0/24"},
        },
        variables={
            "rules": [
                {
                    "name": "[concat('office-', parameters('siteName'))]",
                    "priority": 100,
                    "ipAddress": "[parameters('office')]",
                }
            ]
        },
    )
    with pytest.raises(acl.ConfigError, match="parameter 'default' has no value"):
        load(doc)
    site = load(doc, parameters={"default": "Allow"})
    assert site.name == "shop"
    assert [r.name for r in site.main_rules] == ["office-shop"]
    assert site.main_default is acl.Action.ALLOW


def test_template_config_resource_overrides_site_config_in_any_order() -> None:
    config = {
        "type": "Microsoft.Web/sites/config",
        "name": "[format('{0}/web', parameters('siteName'))]",
        "dependsOn": ["[resourceId('Microsoft.Web/sites', parameters('siteName'))]"],
        "properties": {
            "ipSecurityRestrictions": [{"name": "late", "priority": 1, "ipAddress": "192.0.2.1"}]
        },
    }
    site_res = {
        "type": "Microsoft.Web/sites",
        "name": "[parameters('siteName')]",
        "properties": {
            "siteConfig": {
                "ipSecurityRestrictions": [
                    {"name": "early", "priority": 1, "ipAddress": "192.0.2.2"}
                ]
            }
        },
    }
    for order in ((config, site_res), (site_res, config)):
        site = load(template(*order, parameters=SITE_NAME))
        assert [r.name for r in site.main_rules] == ["late"]
        assert site.main_rules[0].origin is not None
        assert ".resources[" in (site.main_rules[0].origin.path or "")


def test_template_slots_are_separate_sites() -> None:
    rule = {"name": "r", "priority": 1, "ipAddress": "192.0.2.1"}
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "app",
            "properties": {"siteConfig": {"ipSecurityRestrictions": [rule]}},
            "resources": [
                {
                    "type": "slots",
                    "name": "staging",
                    "properties": {"siteConfig": {"ipSecurityRestrictionsDefaultAction": "Deny"}},
                }
            ],
        },
        {
            "type": "Microsoft.Web/sites/slots/config",
            "name": "app/staging/web",
            "properties": {"scmIpSecurityRestrictionsUseMain": True},
        },
    )
    with pytest.raises(
        acl.ConfigError, match=r"2 sites: choose one with --site NAME \(one of: app, app/staging\)"
    ):
        load(doc)
    staging = load(doc, site="APP/staging")
    assert staging.main_default is acl.Action.DENY and staging.scm_use_main
    assert [r.name for r in load(doc, site="app").main_rules] == ["r"]
    with pytest.raises(
        acl.ConfigError,
        match="site 'other' is not in the template; its sites are: app, app/staging",
    ):
        load(doc, site="other")


def test_template_parameters_file_and_param_types(tmp_path: Path) -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "app",
            "properties": {
                "siteConfig": {
                    "ipSecurityRestrictions": "[parameters('rules')]",
                    "scmIpSecurityRestrictionsUseMain": "[parameters('same')]",
                }
            },
        },
        parameters={
            "rules": {"type": "array", "defaultValue": []},
            "same": {"type": "bool", "defaultValue": False},
        },
    )
    params = tmp_path / "p.json"
    params.write_text(
        json.dumps(
            {
                "parameters": {
                    "rules": {
                        "value": [{"name": "fromfile", "priority": 5, "ipAddress": "10.0.0.0/8"}]
                    }
                }
            }
        )
    )
    site = load(doc, parameters_file=params, parameters={"same": "true"})
    assert [r.name for r in site.main_rules] == ["fromfile"] and site.scm_use_main
    with pytest.raises(acl.ConfigError, match="expected JSON"):
        load(doc, parameters={"same": "yes please"})
    with pytest.raises(acl.ConfigError, match="parameter 'nope' is not declared"):
        load(doc, parameters={"nope": "1"})
    params.write_text(json.dumps({"parameters": {"rules": {"reference": {"keyVault": {}}}}}))
    with pytest.raises(acl.ConfigError, match="Key Vault"):
        load(doc, parameters_file=params)


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("[resourceGroup().location]", "uses resourceGroup(), which acl cannot evaluate offline"),
        ("[parameters('a', 'b')]", "wrong arguments"),
        ("[format()]", "wrong arguments"),
        ("[concat('a']", "cannot be parsed"),
        ("[variables('loop')]", "refers to itself"),
    ],
)
def test_template_expression_errors_name_path_and_expression(
    expression: str, fragment: str
) -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "app",
            "properties": {"siteConfig": {"ipSecurityRestrictionsDefaultAction": expression}},
        },
        variables={"loop": "[variables('loop')]"},
    )
    with pytest.raises(acl.ConfigError) as info:
        load(doc)
    message = str(info.value)
    assert fragment in message
    where = (
        "$.variables.loop"
        if "loop" in expression
        else "$.resources[0].properties.siteConfig.ipSecurityRestrictionsDefaultAction"
    )
    assert where in message


def test_template_unused_unresolvable_default_is_fine() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "app",
            "location": "[parameters('location')]",
            "properties": {"siteConfig": {"ipSecurityRestrictionsDefaultAction": "Deny"}},
        },
        parameters={"location": {"type": "string", "defaultValue": "[resourceGroup().location]"}},
    )
    assert load(doc).main_default is acl.Action.DENY


def test_template_escaped_brackets_and_copy_loops() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "app",
            "properties": {
                "siteConfig": {
                    "ipSecurityRestrictions": [
                        {"name": "[[literal]", "priority": 1, "ipAddress": "192.0.2.1"}
                    ]
                }
            },
        }
    )
    assert load(doc).main_rules[0].name == "[literal]"
    loop = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "[concat('app', copyIndex())]",
            "copy": {"name": "c", "count": 2},
            "properties": {},
        }
    )
    assert load(loop, site="app1").name == "app1"
    with pytest.raises(acl.ConfigError, match=r"no Microsoft\.Web/sites"):
        load(template({"type": "Microsoft.Storage/storageAccounts", "name": "[uniqueString('x')]"}))

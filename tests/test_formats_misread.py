"""JSON documents acl must not misread: ARM expressions outside templates, copy loops,
files that are not a format acl reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import acl


def load(doc: Any, **kw: Any) -> acl.Site:
    return acl.loads(json.dumps(doc), **kw)


def template(*resources: Any, parameters: Any = None, variables: Any = None) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": parameters or {},
        "variables": variables or {},
        "resources": list(resources),
    }


FRONT_DOOR_RULE = {
    "name": "fd",
    "priority": 100,
    "action": "Allow",
    "tag": "ServiceTag",
    "ipAddress": "AzureFrontDoor.Backend",
    "headers": {"x-azure-fdid": ["[parameters('frontDoorID')]"]},
}


def test_arm_expression_in_a_site_resource_is_refused_with_its_path() -> None:
    doc = {
        "type": "Microsoft.Web/sites",
        "name": "shop",
        "properties": {"siteConfig": {"ipSecurityRestrictions": [FRONT_DOOR_RULE]}},
    }
    with pytest.raises(acl.ConfigError) as info:
        load(doc, source="site.json")
    message = str(info.value)
    assert message.startswith(
        'site.json: $.properties.siteConfig.ipSecurityRestrictions[0].headers["x-azure-fdid"][0]: '
    )
    assert "ARM template expression" in message and "--rules-format arm-template" in message


@pytest.mark.parametrize(
    "doc",
    [
        [FRONT_DOOR_RULE],
        {"ipSecurityRestrictions": [], "ipSecurityRestrictionsDefaultAction": "[variables('x')]"},
    ],
)
def test_arm_expression_in_rules_and_siteconfig_is_refused(doc: Any) -> None:
    with pytest.raises(acl.ConfigError, match=r"\$.*ARM template expression"):
        load(doc)


def test_bracketed_literal_text_is_not_an_expression() -> None:
    rule = {"name": "[office]", "priority": 100, "ipAddress": "198.51.100.0/24"}
    site = load([rule])
    assert [r.name for r in site.main_rules] == ["[office]"]


def test_param_on_a_non_template_is_refused() -> None:
    with pytest.raises(acl.ConfigError, match=r"--param .* is not read by the rules format"):
        load([{"name": "a", "priority": 1, "ipAddress": "192.0.2.1"}], parameters={"x": "1"})


def test_variables_copy_from_bicep_for_is_expanded() -> None:
    # what `bicep build` emits for `var rules = [for (ip, i) in offices: {...}]`
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {"siteConfig": {"ipSecurityRestrictions": "[variables('rules')]"}},
        },
        parameters={
            "offices": {"type": "array", "defaultValue": ["198.51.100.0/24", "203.0.113.0/24"]}
        },
        variables={
            "copy": [
                {
                    "name": "rules",
                    "count": 2,
                    "input": {
                        "name": "[format('office-{0}', copyIndex('rules', 1))]",
                        "priority": "[copyIndex('rules', 100)]",
                        "ipAddress": "[parameters('offices')[copyIndex('rules')]]",
                    },
                }
            ]
        },
    )
    site = load(doc)
    assert [(r.name, r.priority) for r in site.main_rules] == [("office-1", 100), ("office-2", 101)]
    assert [r.ip_address for r in site.main_rules] == ["198.51.100.0/24", "203.0.113.0/24"]


def test_property_copy_inside_site_config_is_expanded() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {
                "siteConfig": {
                    "copy": [
                        {
                            "name": "ipSecurityRestrictions",
                            "count": 1,
                            "input": {
                                "name": "[concat('r', copyIndex('ipSecurityRestrictions'))]",
                                "priority": 100,
                                "ipAddress": "192.0.2.1",
                            },
                        }
                    ]
                }
            },
        }
    )
    assert [r.name for r in load(doc).main_rules] == ["r0"]


def test_copy_with_an_unknown_count_is_refused_located() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {"siteConfig": {"ipSecurityRestrictions": "[variables('rules')]"}},
        },
        parameters={"offices": {"type": "array", "defaultValue": ["198.51.100.0/24"]}},
        variables={
            "copy": [
                {
                    "name": "rules",
                    "count": "[max(length(parameters('offices')), 1)]",
                    "input": {"ipAddress": "192.0.2.1"},
                }
            ]
        },
    )
    with pytest.raises(acl.ConfigError, match=r"\$\.variables\.copy\[0\]\.count: .*max\(\)"):
        load(doc, source="t.json")


def test_copy_count_from_length_is_expanded() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {"siteConfig": {"ipSecurityRestrictions": "[variables('rules')]"}},
        },
        parameters={
            "offices": {"type": "array", "defaultValue": ["198.51.100.0/24", "2001:db8::/48"]}
        },
        variables={
            "copy": [
                {
                    "name": "rules",
                    "count": "[length(parameters('offices'))]",
                    "input": {
                        "name": "[format('office-{0}', copyIndex('rules'))]",
                        "priority": "[copyIndex('rules', 100)]",
                        "ipAddress": "[parameters('offices')[copyIndex('rules')]]",
                    },
                }
            ]
        },
    )
    site = load(doc)
    assert [(r.name, r.priority) for r in site.main_rules] == [("office-0", 100), ("office-1", 101)]


@pytest.mark.parametrize(
    ("text", "length"), [("abc", 3), ("é", 1), ("\U0001f600", 2), ("a\U0001f600", 3)]
)
def test_length_of_a_string_counts_utf16_code_units_as_arm_does(text: str, length: int) -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {
                "siteConfig": {
                    "ipSecurityRestrictions": [
                        {
                            "name": "r",
                            "priority": "[length(parameters('t'))]",
                            "ipAddress": "192.0.2.1",
                        }
                    ]
                }
            },
        },
        parameters={"t": {"type": "string", "defaultValue": text}},
    )
    assert load(doc).main_rules[0].priority == length


SITE_LOOP_PARAMETERS = {
    "sites": {"type": "array", "defaultValue": ["shop-west", "shop-east"]},
    "offices": {"type": "array", "defaultValue": ["198.51.100.0/24", "203.0.113.0/24"]},
}


def test_resource_copy_of_sites_is_expanded_one_site_per_iteration() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "apiVersion": "2022-09-01",
            "name": "[parameters('sites')[copyIndex()]]",
            "location": "[resourceGroup().location]",
            "copy": {"name": "siteLoop", "count": "[length(parameters('sites'))]"},
            "properties": {
                "siteConfig": {
                    "ipSecurityRestrictionsDefaultAction": "Deny",
                    "ipSecurityRestrictions": [
                        {
                            "name": "[concat('office-', copyIndex('siteLoop', 1))]",
                            "priority": "[copyIndex(100)]",
                            "action": "Allow",
                            "ipAddress": "[parameters('offices')[copyIndex()]]",
                        }
                    ],
                }
            },
        },
        parameters=SITE_LOOP_PARAMETERS,
    )
    with pytest.raises(
        acl.ConfigError,
        match=r"2 sites: choose one with --site NAME \(one of: shop-east, shop-west\)",
    ):
        load(doc)
    east = load(doc, site="shop-east")
    assert [(r.name, r.priority) for r in east.main_rules] == [("office-2", 101)]
    engine = acl.compile(east)
    assert engine.decide(acl.Request(ip="203.0.113.9")).allowed
    assert not engine.decide(acl.Request(ip="198.51.100.9")).allowed
    west = acl.compile(load(doc, site="shop-west"))
    assert west.decide(acl.Request(ip="198.51.100.9")).allowed
    assert not west.decide(acl.Request(ip="203.0.113.9")).allowed


def test_resource_copy_of_config_web_and_its_condition_are_expanded() -> None:
    doc = template(
        {"type": "Microsoft.Web/sites", "name": "shop-west", "properties": {}},
        {"type": "Microsoft.Web/sites", "name": "shop-east", "properties": {}},
        {
            "type": "Microsoft.Web/sites/config",
            "name": "[concat(parameters('sites')[copyIndex()], '/web')]",
            "condition": "[equals(copyIndex(), 1)]",
            "copy": {"name": "configs", "count": 2, "mode": "Serial", "batchSize": 1},
            "properties": {
                "ipSecurityRestrictions": [
                    {"name": "office", "priority": 100, "ipAddress": "198.51.100.0/24"}
                ]
            },
        },
        parameters=SITE_LOOP_PARAMETERS,
    )
    assert load(doc, site="shop-west").main_rules == ()
    assert [r.name for r in load(doc, site="shop-east").main_rules] == ["office"]
    doc["resources"][2]["condition"] = "[reference('x').enabled]"
    with pytest.raises(acl.ConfigError, match=r"\$\.resources\[2\]\.condition: .*reference\(\)"):
        load(doc, site="shop-east")
    doc["resources"][2]["condition"] = "[parameters('enabled')[copyIndex()]]"
    doc["parameters"]["enabled"] = {"type": "array", "defaultValue": [False, True]}
    assert load(doc, site="shop-west").main_rules == ()
    assert [r.name for r in load(doc, site="shop-east").main_rules] == ["office"]


def test_resource_copy_count_zero_makes_no_site() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "[concat('app', copyIndex())]",
            "copy": {"name": "none", "count": 0},
            "properties": {},
        }
    )
    with pytest.raises(acl.ConfigError, match=r"no Microsoft\.Web/sites"):
        load(doc)


@pytest.mark.parametrize(
    ("copy", "match"),
    [
        ({"name": "loop"}, r"\$\.resources\[0\]\.copy: resource copy has no count"),
        ({"count": 2}, r"\$\.resources\[0\]\.copy: resource copy has no name"),
        ({"name": "loop", "count": 801}, r"\$\.resources\[0\]\.copy\.count: .*0 to 800"),
        (
            {"name": "loop", "count": "[parameters('n')]"},
            r"copy\.count: template parameter 'n' is not declared",
        ),
        ([1], r"\$\.resources\[0\]\.copy: resource copy \[1\] is not valid"),
    ],
)
def test_resource_copy_element_is_checked(copy: Any, match: str) -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "[concat('app', copyIndex())]",
            "copy": copy,
            "properties": {},
        }
    )
    with pytest.raises(acl.ConfigError, match=match):
        load(doc, site="app0")


def test_resource_copy_without_copy_index_in_the_name_defines_a_site_twice() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "app",
            "copy": {"name": "c", "count": 2},
            "properties": {},
        }
    )
    with pytest.raises(
        acl.ConfigError, match=r"\$\.resources\[0\]: resource 'app' is defined twice"
    ):
        load(doc)


def test_copy_on_a_child_resource_is_refused_as_arm_does() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "app",
            "properties": {},
            "resources": [
                {
                    "type": "config",
                    "name": "web",
                    "copy": {"name": "c", "count": 1},
                    "properties": {"ipSecurityRestrictions": []},
                }
            ],
        }
    )
    with pytest.raises(
        acl.ConfigError,
        match=r"\$\.resources\[0\]\.resources\[0\]\.copy: a child resource uses a copy loop",
    ):
        load(doc)


def test_unnamed_copy_index_outside_a_resource_loop_is_refused() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "app",
            "properties": {
                "siteConfig": {
                    "ipSecurityRestrictions": [
                        {"name": "r", "priority": "[copyIndex()]", "ipAddress": "192.0.2.1"}
                    ]
                }
            },
        }
    )
    with pytest.raises(
        acl.ConfigError,
        match=r"copyIndex\(\) without a loop name is only valid in a resource copy loop",
    ):
        load(doc)


def test_copied_private_endpoints_are_matched_per_iteration() -> None:
    endpoint = {
        "type": "Microsoft.Network/privateEndpoints",
        "name": "[concat('pe-', parameters('sites')[copyIndex()])]",
        "copy": {"name": "endpoints", "count": "[parameters('endpointCount')]"},
        "properties": {
            "privateLinkServiceConnections": [
                {
                    "name": "c",
                    "properties": {
                        "privateLinkServiceId": "[resourceId('Microsoft.Web/sites', parameters('sites')[copyIndex()])]",
                        "groupIds": ["sites"],
                    },
                }
            ]
        },
    }
    sites = [
        {"type": "Microsoft.Web/sites", "name": name, "properties": {}}
        for name in ("shop-west", "shop-east")
    ]
    parameters = {**SITE_LOOP_PARAMETERS, "endpointCount": {"type": "int", "defaultValue": 1}}
    doc = template(*sites, endpoint, parameters=parameters)
    assert load(doc, site="shop-west").has_private_endpoint
    assert not load(doc, site="shop-east").has_private_endpoint
    assert load(doc, site="shop-east", parameters={"endpointCount": "2"}).has_private_endpoint


@pytest.mark.parametrize(
    ("count", "match"),
    [(801, "integer from 0 to 800"), (-1, "integer from 0 to 800"), ("2", "integer from 0")],
)
def test_copy_count_must_be_a_valid_integer(count: Any, match: str) -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {"siteConfig": {"ipSecurityRestrictions": "[variables('rules')]"}},
        },
        variables={
            "copy": [{"name": "rules", "count": count, "input": {"ipAddress": "192.0.2.1"}}]
        },
    )
    with pytest.raises(acl.ConfigError, match=match):
        load(doc)


def test_copy_index_outside_its_loop_is_refused() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {
                "siteConfig": {
                    "ipSecurityRestrictions": [
                        {
                            "name": "[string(copyIndex('x'))]",
                            "priority": 1,
                            "ipAddress": "192.0.2.1",
                        }
                    ]
                }
            },
        }
    )
    with pytest.raises(acl.ConfigError, match=r"copyIndex\('x'\) is outside a copy loop"):
        load(doc)


@pytest.mark.parametrize(
    ("name", "text", "what"),
    [
        ("__main__.py", "import pulumi\n", "a Python file"),
        ("index.ts", "import * as azure from '@pulumi/azure-native';\n", "a TypeScript file"),
        ("site.yaml", "site:\n  rules: []\n", "a YAML file"),
    ],
)
def test_files_of_other_formats_say_what_acl_reads(
    tmp_path: Path, name: str, text: str, what: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(acl.ConfigError) as info:
        acl.load(path)
    message = str(info.value)
    assert f"not a rules format acl reads: {what}" in message
    assert "ARM template" in message and "Terraform" in message


def test_non_json_text_says_which_formats_are_read() -> None:
    with pytest.raises(
        acl.ConfigError, match=r"invalid JSON: .*not a rules format acl reads \(formats: "
    ):
        acl.loads("hello: world\n")
    with pytest.raises(acl.ConfigError) as info:
        acl.loads('{"ipSecurityRestrictions": [}')
    assert "not a rules format" not in str(info.value)


def test_template_with_only_other_config_resources_names_them() -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites/config",
            "name": "shop/appsettings",
            "properties": {"A": "1"},
        },
        {"type": "Microsoft.Web/sites/config", "name": "shop/authsettingsV2", "properties": {}},
    )
    with pytest.raises(acl.ConfigError) as info:
        load(doc)
    message = str(info.value)
    assert "no sites/config resource named web" in message
    assert "'shop/appsettings', 'shop/authsettingsV2'" in message.replace('"', "'")


def test_config_web_named_through_a_variable_or_format_is_recognised() -> None:
    for name in ("[variables('configName')]", "[format('{0}/{1}', 'shop', 'web')]"):
        doc = template(
            {
                "type": "Microsoft.Web/sites/config",
                "name": name,
                "properties": {
                    "ipSecurityRestrictions": [
                        {"name": "office", "priority": 100, "ipAddress": "198.51.100.0/24"}
                    ]
                },
            },
            variables={"configName": "shop/web"},
        )
        site = load(doc)
        assert [r.name for r in site.main_rules] == ["office"]


def test_language_version_2_template_with_symbolic_names_is_read() -> None:
    """What ``bicep build`` writes for a config/web of an ``existing`` site, with symbolic
    resource names (languageVersion 2.0) and a ``[for]`` property loop."""
    doc = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "appName": {"type": "string", "defaultValue": "shop"},
            "ips": {"type": "array", "defaultValue": ["198.51.100.7", "203.0.113.9"]},
        },
        "resources": {
            "app": {
                "existing": True,
                "type": "Microsoft.Web/sites",
                "apiVersion": "2022-09-01",
                "name": "[parameters('appName')]",
            },
            "cfg": {
                "type": "Microsoft.Web/sites/config",
                "apiVersion": "2022-09-01",
                "name": "[format('{0}/{1}', parameters('appName'), 'web')]",
                "properties": {
                    "copy": [
                        {
                            "name": "ipSecurityRestrictions",
                            "count": "[length(parameters('ips'))]",
                            "input": {
                                "ipAddress": "[format('{0}/32', parameters('ips')[copyIndex('ipSecurityRestrictions')])]",
                                "action": "Allow",
                                "priority": "[add(900, copyIndex('ipSecurityRestrictions'))]",
                                "name": "[format('APIM_{0}', copyIndex('ipSecurityRestrictions'))]",
                            },
                        }
                    ]
                },
                "dependsOn": ["app"],
            },
        },
    }
    site = load(doc)
    assert site.name == "shop"
    assert [(r.name, r.priority) for r in site.main_rules] == [("APIM_0", 900), ("APIM_1", 901)]
    loop = doc["resources"]["cfg"]["properties"]["copy"][0]
    loop["input"]["priority"] = "[min(900, copyIndex('ipSecurityRestrictions'))]"
    with pytest.raises(
        acl.ConfigError,
        match=r"\$\.resources\.cfg\.properties\.copy\[0\]\.input\.priority: .*min\(\)",
    ):
        load(doc, source="main.json")
    doc["resources"] = "[variables('x')]"
    with pytest.raises(acl.ConfigError, match=r"\$\.resources: resources must be a list"):
        load(doc)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("[add(900, copyIndex('r'))]", [900, 901]),
        ("[sub(200, copyIndex('r', 1))]", [199, 198]),
        ("[mul(copyIndex('r', 1), 100)]", [100, 200]),
    ],
)
def test_integer_arithmetic_is_evaluated(expression: str, value: list[int]) -> None:
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {"siteConfig": {"ipSecurityRestrictions": "[variables('r')]"}},
        },
        variables={
            "copy": [
                {
                    "name": "r",
                    "count": 2,
                    "input": {"name": "x", "priority": expression, "ipAddress": "192.0.2.1"},
                }
            ]
        },
    )
    assert [r.priority for r in load(doc).main_rules] == value


@pytest.mark.parametrize(
    ("expression", "match"),
    [
        ("[add(1, 'a')]", r"add\(\) takes two integers"),
        ("[add(1)]", r"add\(\) takes two integers"),
        ("[mul(9223372036854775807, 2)]", r"overflows ARM's 64-bit integers"),
    ],
)
def test_integer_arithmetic_is_checked(expression: str, match: str) -> None:
    rule = {"name": "x", "priority": expression, "ipAddress": "192.0.2.1"}
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {"siteConfig": {"ipSecurityRestrictions": [rule]}},
        }
    )
    with pytest.raises(acl.ConfigError, match=match):
        load(doc)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("[if(equals(parameters('kind'), 'app'), 100, 200)]", 100),
        ("[if(equals(parameters('kind'), 'App'), 100, 200)]", 200),
        ("[if(not(equals(parameters('kind'), 'app')), 100, 200)]", 200),
        ("[if(and(equals(1, 1), or(false, true)), 100, 200)]", 100),
        ("[if(equals(toLower('APP'), toUpper('app')), 100, 200)]", 200),
        ("[if(equals(1, true), 100, 200)]", 200),
        ("[if(equals('1', 1), 100, 200)]", 200),
    ],
)
def test_logical_and_comparison_functions_are_evaluated(expression: str, value: int) -> None:
    rule = {"name": "x", "priority": expression, "ipAddress": "192.0.2.1"}
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {"siteConfig": {"ipSecurityRestrictions": [rule]}},
        },
        parameters={"kind": {"type": "string", "defaultValue": "app"}},
    )
    assert load(doc).main_rules[0].priority == value


@pytest.mark.parametrize(
    ("expression", "match"),
    [
        ("[if('yes', 1, 2)]", r"if\(\) takes a boolean condition"),
        ("[if(true, 1, reference('x'))]", r"uses reference\(\)"),
        ("[if(equals(parameters('list'), parameters('list')), 1, 2)]", r"equals\(\) of arrays"),
        ("[if(not(1), 1, 2)]", r"not\(\) takes booleans"),
    ],
)
def test_logical_functions_are_checked(expression: str, match: str) -> None:
    rule = {"name": "x", "priority": expression, "ipAddress": "192.0.2.1"}
    doc = template(
        {
            "type": "Microsoft.Web/sites",
            "name": "shop",
            "properties": {"siteConfig": {"ipSecurityRestrictions": [rule]}},
        },
        parameters={"list": {"type": "array", "defaultValue": [1]}},
    )
    with pytest.raises(acl.ConfigError, match=match):
        load(doc)

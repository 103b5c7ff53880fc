"""Site state the loaders read (private endpoints, App Service Environment, IP-based SSL,
ipMode), what a document is (returned or sent), and priorities absent on every rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import acl
from acl.cli import main
from acl.formats import load_document

from .conftest import rule

SITE_ID = "/subscriptions/0000/resourceGroups/web/providers/Microsoft.Web/sites/shop"
OFFICE = rule("office", 100, "203.0.113.0/24")
DENY_ALL = {"ipAddress": "Any", "action": "Deny", "priority": 2147483647, "name": "Deny all"}


def connection(status: str, flattened: bool = False) -> dict[str, Any]:
    """A privateEndpointConnections entry as a site GET returns it."""
    props = {
        "privateEndpoint": {"id": "/subscriptions/0000/resourceGroups/net/providers/x/pe"},
        "privateLinkServiceConnectionState": {
            "status": status,
            "description": "",
            "actionsRequired": "None",
        },
        "provisioningState": "Succeeded",
    }
    entry: dict[str, Any] = {
        "id": f"{SITE_ID}/privateEndpointConnections/pe",
        "name": "pe",
        "type": "Microsoft.Web/sites/privateEndpointConnections",
    }
    if flattened:
        entry.update(props)
    else:
        entry["properties"] = props
    return entry


def site_doc(**props: Any) -> dict[str, Any]:
    return {
        "type": "Microsoft.Web/sites",
        "name": "shop",
        "properties": {"siteConfig": {"ipSecurityRestrictions": [OFFICE]}, **props},
    }


def load(doc: Any, **kw: Any) -> acl.Site:
    return acl.loads(json.dumps(doc), source="site.json", **kw)


# -------------------------------------------------------------------- site resources (REST)


@pytest.mark.parametrize(
    ("connections", "expected"),
    [
        ([connection("Approved")], True),
        ([connection("approved", flattened=True)], True),
        ([connection("Pending")], False),
        ([connection("Rejected")], False),
        ([connection("Disconnected")], False),
        ([connection("Rejected"), connection("Approved")], True),
        ([], False),
    ],
)
def test_an_approved_connection_is_a_private_endpoint(
    connections: list[dict[str, Any]], expected: bool
) -> None:
    site = load(site_doc(privateEndpointConnections=connections))
    assert site.has_private_endpoint is expected


def test_the_flattened_az_webapp_show_shape_has_the_state_too() -> None:
    doc = {
        "name": "shop",
        "siteConfig": {"ipSecurityRestrictions": [OFFICE]},
        "privateEndpointConnections": [connection("Approved")],
        "hostingEnvironmentProfile": {"id": "/subscriptions/0000/x/hostingEnvironments/ase1"},
        "hostNameSslStates": [
            {"name": "shop.azurewebsites.net", "sslState": "Disabled"},
            {"name": "www.contoso.com", "sslState": "IpBasedEnabled"},
        ],
    }
    site = load(doc)
    assert (site.has_private_endpoint, site.hosting, site.ip_based_ssl) == (True, "ase", True)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"privateEndpointConnections": [{"name": "pe", "properties": {}}]},
            "site.json: $.properties.privateEndpointConnections[0].properties: private endpoint "
            "connection has no privateLinkServiceConnectionState",
        ),
        (
            {"privateEndpointConnections": [connection("Approving")]},
            "status 'Approving' is not valid",
        ),
        ({"privateEndpointConnections": {"a": 1}}, "expected a list"),
        ({"hostingEnvironmentProfile": "ase1"}, "hostingEnvironmentProfile 'ase1' is not valid"),
        ({"hostNameSslStates": [{"sslState": 3}]}, "sslState 3 is not valid"),
        ({"ipMode": "IPv5"}, "ipMode 'IPv5' is not valid"),
    ],
)
def test_malformed_site_state_is_an_error(props: dict[str, Any], message: str) -> None:
    with pytest.raises(acl.ConfigError) as caught:
        load(site_doc(**props))
    assert message in str(caught.value)


def test_no_state_means_multi_tenant_without_private_endpoint() -> None:
    site = load(site_doc(hostingEnvironmentProfile=None, hostNameSslStates=[]))
    assert (site.has_private_endpoint, site.hosting, site.ip_based_ssl, site.ip_mode) == (
        False,
        "multi-tenant",
        False,
        None,
    )
    assert load(site_doc(hostingEnvironmentProfile={"id": ""})).hosting == "multi-tenant"


def test_ip_mode_is_read_from_site_config_or_properties() -> None:
    doc = site_doc(ipMode="ipv4andipv6")
    assert load(doc).ip_mode == "IPv4AndIPv6"
    doc["properties"]["siteConfig"]["ipMode"] = "IPv4"
    assert load(doc).ip_mode == "IPv4"  # the siteConfig's own value wins
    assert load({"ipMode": "IPv6", "ipSecurityRestrictions": [OFFICE]}).ip_mode == "IPv6"


def test_ip_mode_does_not_change_decisions() -> None:
    for mode in ("IPv4", "IPv6", "IPv4AndIPv6"):
        site = load({"ipMode": mode, "ipSecurityRestrictions": [OFFICE]})
        assert not acl.evaluate(site, acl.Request("2001:db8::1")).allowed
        assert acl.evaluate(site, acl.Request("203.0.113.9")).allowed


def test_options_override_the_file() -> None:
    doc = site_doc(privateEndpointConnections=[connection("Approved")])
    site = load(doc, private_endpoint=False, hosting="ase", ip_based_ssl=True)
    assert (site.has_private_endpoint, site.hosting, site.ip_based_ssl) == (False, "ase", True)
    bare = load([OFFICE], private_endpoint=True)
    assert bare.has_private_endpoint
    assert load([OFFICE]).has_private_endpoint is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hosting": "dedicated"}, "hosting 'dedicated' is not valid"),
        ({"document": "posted"}, "document 'posted' is not valid"),
        ({"private_endpoint": "yes"}, "--private-endpoint-site: 'yes' is not valid"),
    ],
)
def test_bad_options_are_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(acl.ConfigError, match=message):
        load([OFFICE], **options)


# -------------------------------------------------------------------- returned or sent


def test_deny_all_in_what_azure_returns_is_the_default() -> None:
    site = load({"ipSecurityRestrictions": [OFFICE, DENY_ALL]})
    assert site.main_default is acl.Action.DENY and not site.ignored_rules
    assert [r.name for r in site.main_rules] == ["office"]


def test_deny_all_in_what_is_sent_is_ignored() -> None:
    doc = {
        "ipSecurityRestrictions": [rule("block", 100, "198.51.100.9", "Deny"), DENY_ALL],
        "ipSecurityRestrictionsDefaultAction": "Allow",
    }
    site = load(doc, document="sent")
    assert site.main_default is acl.Action.ALLOW
    assert [r.name for r in site.main_rules] == ["block"]
    (ignored,) = site.ignored_rules
    assert (ignored.name, ignored.position, ignored.collection) == ("Deny all", 1, "main")
    assert ignored.origin is not None and ignored.origin.path == "$.ipSecurityRestrictions[1]"
    # Azure ignores it: everyone else gets in
    assert acl.evaluate(site, acl.Request("192.0.2.1")).allowed
    # a bare rule list sent with only the entry: no rules, no default
    only = load([DENY_ALL], document="sent")
    assert only.main_rules == () and only.main_default is None
    assert acl.evaluate(only, acl.Request("192.0.2.1")).allowed


def test_the_api_entry_is_told_by_name_address_and_priority() -> None:
    allow_1 = {"ipAddress": "Any", "action": "Allow", "priority": 1, "name": "Allow all"}
    assert load([allow_1]).main_default is acl.Action.ALLOW
    # Deny all at priority 1, or at another priority: a user rule matching everything
    for priority in (1, 500):
        entry = {**DENY_ALL, "priority": priority}
        site = load([OFFICE, entry], document="sent")
        assert [r.name for r in site.main_rules] == ["office", "Deny all"]
        assert not site.ignored_rules
    # True is not the integer 1
    site = load([{**allow_1, "priority": True}, OFFICE][1:])
    assert site.main_default is None


def test_templates_are_sent() -> None:
    template = arm_template({"siteConfig": {"ipSecurityRestrictions": [OFFICE, DENY_ALL]}})
    site = acl.loads(json.dumps(template))
    assert site.main_default is None
    assert [r.name for r in site.ignored_rules] == ["Deny all"]
    with pytest.raises(acl.ConfigError, match="--document returned does not apply"):
        acl.loads(json.dumps(template), document="returned")


# -------------------------------------------------------------------- priorities


def test_no_priority_anywhere_gives_65000_in_list_order() -> None:
    rules = [
        {"name": "partner", "action": "Allow", "ipAddress": "198.51.100.0/24"},
        {"name": "bad-host", "action": "Deny", "ipAddress": "198.51.100.66/32"},
    ]
    site = load({"ipSecurityRestrictions": rules, "scmIpSecurityRestrictions": [OFFICE]})
    assert [r.priority for r in site.main_rules] == [65000, 65000]
    assert site.scm_rules[0].priority == 100  # collections are judged apart
    assert acl.evaluate(site, acl.Request("198.51.100.66")).rule.name == "partner"
    # the API's Deny all does not count as a rule with a priority
    assert load([*rules, DENY_ALL]).main_rules[0].priority == 65000


def test_priority_on_some_rules_only_is_an_error_naming_them() -> None:
    rules = [
        OFFICE,
        {"name": "a", "ipAddress": "192.0.2.1"},
        {"ipAddress": "192.0.2.2"},
    ]
    with pytest.raises(acl.ConfigError) as caught:
        load({"ipSecurityRestrictions": rules})
    message = str(caught.value)
    assert message.startswith("site.json: $.ipSecurityRestrictions[1]: rule 'a' (#1 in the file)")
    assert "priority is missing on 2 of the 3 rules" in message
    assert "'a' at $.ipSecurityRestrictions[1]" in message
    assert "(unnamed) at $.ipSecurityRestrictions[2]" in message


# -------------------------------------------------------------------- ARM templates


def arm_template(props: dict[str, Any], *extra: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "siteName": {"type": "string", "defaultValue": "shop"},
            **{k: {"type": "string", "defaultValue": v} for k, v in params.items()},
        },
        "resources": [
            {
                "type": "Microsoft.Web/sites",
                "apiVersion": "2022-09-01",
                "name": "[parameters('siteName')]",
                "location": "[resourceGroup().location]",
                "properties": props,
            },
            *extra,
        ],
    }


def network_endpoint(target: str, groups: list[str] | None = None, manual: bool = False) -> Any:
    """A Microsoft.Network/privateEndpoints resource as Bicep writes it."""
    key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    link: dict[str, Any] = {"privateLinkServiceId": target}
    if groups is not None:
        link["groupIds"] = groups
    return {
        "type": "Microsoft.Network/privateEndpoints",
        "apiVersion": "2023-04-01",
        "name": "shop-pe",
        "location": "[resourceGroup().location]",
        "properties": {
            "subnet": {"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v', 's')]"},
            key: [{"name": "shop-pe", "properties": link}],
        },
        "dependsOn": ["[resourceId('Microsoft.Web/sites', parameters('siteName'))]"],
    }


CONFIG = {"siteConfig": {"ipSecurityRestrictions": [OFFICE]}}


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (network_endpoint("[resourceId('Microsoft.Web/sites', parameters('siteName'))]"), True),
        (
            network_endpoint(
                "[resourceId('Microsoft.Web/sites', parameters('siteName'))]", ["sites"]
            ),
            True,
        ),
        (network_endpoint(SITE_ID, ["sites"]), True),
        (network_endpoint(SITE_ID.replace("/shop", "/other")), False),
        (network_endpoint(SITE_ID, ["sites-staging"]), False),
        (
            network_endpoint("[resourceId('Microsoft.Storage/storageAccounts', 'st')]", ["blob"]),
            False,
        ),
        (network_endpoint("[parameters('target')]", ["sites"]), True),
    ],
)
def test_a_network_private_endpoint_targeting_the_site(endpoint: Any, expected: bool) -> None:
    template = arm_template(CONFIG, endpoint, target=SITE_ID)
    assert acl.loads(json.dumps(template)).has_private_endpoint is expected


def test_a_manual_connection_is_pending_and_not_counted() -> None:
    template = arm_template(CONFIG, network_endpoint(SITE_ID, ["sites"], manual=True))
    warnings: list[str] = []
    site = acl.loads(json.dumps(template), on_warning=warnings.append)
    assert not site.has_private_endpoint
    assert len(warnings) == 1 and "waits for approval" in warnings[0]


def test_a_slot_endpoint_names_the_slot_in_group_ids() -> None:
    template = arm_template(CONFIG, network_endpoint(SITE_ID, ["sites-staging"]))
    template["resources"][0]["resources"] = [
        {"type": "slots", "name": "staging", "properties": CONFIG}
    ]
    assert acl.loads(json.dumps(template), site="shop/staging").has_private_endpoint
    assert not acl.loads(json.dumps(template), site="shop").has_private_endpoint


def test_an_endpoint_target_that_cannot_be_resolved_is_an_error() -> None:
    template = arm_template(CONFIG, network_endpoint("[reference('x').id]"))
    with pytest.raises(acl.ConfigError) as caught:
        acl.loads(json.dumps(template), source="t.json")
    message = str(caught.value)
    assert "privateLinkServiceId" in message and "--private-endpoint-site" in message
    # the option decides without looking
    assert acl.loads(json.dumps(template), private_endpoint=True).has_private_endpoint


@pytest.mark.parametrize(("status", "expected"), [("Approved", True), ("Pending", False)])
def test_site_private_endpoint_connection_children(status: str, expected: bool) -> None:
    child = {
        "type": "privateEndpointConnections",
        "name": "pe",
        "properties": {"privateLinkServiceConnectionState": {"status": status}},
    }
    nested = arm_template(CONFIG)
    nested["resources"][0]["resources"] = [child]
    assert acl.loads(json.dumps(nested)).has_private_endpoint is expected
    top = arm_template(
        CONFIG,
        {
            **child,
            "type": "Microsoft.Web/sites/privateEndpointConnections",
            "name": "[concat(parameters('siteName'), '/pe')]",
        },
    )
    assert acl.loads(json.dumps(top)).has_private_endpoint is expected


def test_a_nested_deployment_with_a_private_endpoint_needs_the_option() -> None:
    module = {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "privateLink",
        "properties": {
            "mode": "Incremental",
            "template": {"resources": [network_endpoint("[parameters('serviceId')]")]},
        },
    }
    template = arm_template(CONFIG, module)
    with pytest.raises(acl.ConfigError, match="does not read nested deployments"):
        acl.loads(json.dumps(template))
    assert not acl.loads(json.dumps(template), private_endpoint=False).has_private_endpoint


def test_template_hosting_and_ip_based_ssl() -> None:
    props = {
        **CONFIG,
        "hostingEnvironmentProfile": {
            "id": "[resourceId('Microsoft.Web/hostingEnvironments', 'ase1')]"
        },
        "ipMode": "IPv4",
    }
    binding = {
        "type": "Microsoft.Web/sites/hostNameBindings",
        "name": "[concat(parameters('siteName'), '/www.contoso.com')]",
        "properties": {"sslState": "IpBasedEnabled", "thumbprint": "abc"},
    }
    site = acl.loads(json.dumps(arm_template(props, binding)))
    assert (site.hosting, site.ip_based_ssl, site.ip_mode) == ("ase", True, "IPv4")
    sni = copy.deepcopy(binding)
    sni["properties"]["sslState"] = "SniEnabled"
    assert not acl.loads(json.dumps(arm_template(CONFIG, sni))).ip_based_ssl
    # a binding alone does not make a site
    only = arm_template(CONFIG, {**binding, "name": "other/www.contoso.com"})
    assert acl.loads(json.dumps(only)).name == "shop"


# -------------------------------------------------------------------- Terraform

APP = """
resource "azurerm_linux_web_app" "shop" {
  name                = "shop"
  resource_group_name = "rg"
  location            = "westeurope"
  service_plan_id     = azurerm_service_plan.plan.id
  site_config {
    ip_restriction {
      name       = "office"
      priority   = 100
      ip_address = "203.0.113.0/24"
    }
  }
}
"""
PLAN = """
resource "azurerm_service_plan" "plan" {
  name                = "plan"
  resource_group_name = "rg"
  location            = "westeurope"
  os_type             = "Linux"
  sku_name            = "%(sku)s"
  %(ase)s
}
"""
ENDPOINT = """
resource "azurerm_private_endpoint" "%(name)s" {
  name                = "%(name)s"
  location            = "westeurope"
  resource_group_name = "rg"
  subnet_id           = azurerm_subnet.pe.id
  private_service_connection {
    name                           = "c"
    private_connection_resource_id = %(target)s
    subresource_names              = %(groups)s
    is_manual_connection           = %(manual)s
  }
}
"""


def endpoint(
    target: str = "azurerm_linux_web_app.shop.id",
    groups: str = '["sites"]',
    manual: str = "false",
    name: str = "pe",
) -> str:
    return ENDPOINT % {"target": target, "groups": groups, "manual": manual, "name": name}


def tf(tmp_path: Path, *parts: str, **kw: Any) -> acl.Site:
    (tmp_path / "main.tf").write_text("\n".join(parts), encoding="utf-8")
    return acl.load(tmp_path, **kw)


@pytest.mark.parametrize(
    ("pe", "expected"),
    [
        (endpoint(), True),
        (endpoint(groups="null"), True),
        (endpoint(target="azurerm_storage_account.st.id", groups='["blob"]'), False),
        (endpoint(target="azurerm_linux_web_app.shop.name"), False),
        (endpoint(target=f'"{SITE_ID}"'), True),
        (endpoint(target=f'"{SITE_ID}-2"'), False),
        (endpoint(groups='["sites-staging"]'), False),
        ("", False),
    ],
)
def test_terraform_private_endpoint(tmp_path: Path, pe: str, expected: bool) -> None:
    site = tf(tmp_path, APP, PLAN % {"sku": "P1v3", "ase": ""}, pe)
    assert site.has_private_endpoint is expected
    assert site.hosting == "multi-tenant"


def test_terraform_manual_connection_is_not_counted(tmp_path: Path) -> None:
    warnings: list[str] = []
    site = tf(tmp_path, APP, endpoint(manual="true"), on_warning=warnings.append)
    assert not site.has_private_endpoint
    assert any("waits for the site owner's approval" in w for w in warnings)


def test_terraform_unknown_target_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(acl.ConfigError) as caught:
        tf(tmp_path, APP, endpoint(target="data.azurerm_linux_web_app.other.id"))
    assert "main.tf:" in str(caught.value) and "--private-endpoint-site" in str(caught.value)
    site = tf(
        tmp_path, APP, endpoint(target="data.azurerm_linux_web_app.other.id"), private_endpoint=True
    )
    assert site.has_private_endpoint


def test_terraform_app_service_environment_plan(tmp_path: Path) -> None:
    ase = "app_service_environment_id = azurerm_app_service_environment_v3.ase.id"
    site = tf(tmp_path, APP, PLAN % {"sku": "I1v2", "ase": ase})
    assert site.hosting == "ase"
    assert tf(
        tmp_path, APP, PLAN % {"sku": "I1v2", "ase": ase}, hosting="multi-tenant"
    ).hosting == ("multi-tenant")


def test_terraform_ip_based_ssl_binding(tmp_path: Path) -> None:
    binding = """
resource "azurerm_app_service_custom_hostname_binding" "www" {
  hostname            = "www.contoso.com"
  app_service_name    = azurerm_linux_web_app.shop.name
  resource_group_name = "rg"
  %s
}
"""
    assert tf(tmp_path, APP, binding % 'ssl_state = "IpBasedEnabled"').ip_based_ssl
    assert not tf(tmp_path, APP, binding % 'ssl_state = "SniEnabled"').ip_based_ssl
    certificate = """
resource "azurerm_app_service_certificate_binding" "www" {
  hostname_binding_id = azurerm_app_service_custom_hostname_binding.www.id
  certificate_id      = azurerm_app_service_managed_certificate.www.id
  ssl_state           = "IpBasedEnabled"
}
"""
    assert tf(tmp_path, APP, binding % "", certificate).ip_based_ssl


def test_flex_consumption_function_app(tmp_path: Path) -> None:
    flex = """
resource "azurerm_function_app_flex_consumption" "fn" {
  name                = "fn"
  resource_group_name = "rg"
  location            = "westeurope"
  service_plan_id     = azurerm_service_plan.plan.id
  site_config {
    ip_restriction {
      name       = "office"
      priority   = 100
      ip_address = "203.0.113.0/24"
    }
    scm_ip_restriction {
      service_tag = "AzureCloud"
    }
    scm_ip_restriction_default_action = "Deny"
  }
}
"""
    site = tf(tmp_path, flex)
    assert site.name == "azurerm_function_app_flex_consumption.fn"
    # the provider sends Allow unless told otherwise
    assert site.main_default is acl.Action.ALLOW and site.scm_default is acl.Action.DENY
    assert [(r.name, r.priority) for r in site.scm_rules] == [(None, 65000)]
    assert acl.evaluate(site, acl.Request("192.0.2.1")).allowed


def show_state(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "format_version": "1.0",
        "terraform_version": "1.9.0",
        "values": {"root_module": {"resources": list(resources)}},
    }


APP_STATE = {
    "address": "azurerm_linux_web_app.shop",
    "mode": "managed",
    "type": "azurerm_linux_web_app",
    "name": "shop",
    "values": {
        "id": SITE_ID,
        "name": "shop",
        "public_network_access_enabled": True,
        "site_config": [
            {
                "ip_restriction": [
                    {
                        "name": "office",
                        "priority": 100,
                        "action": "Allow",
                        "ip_address": "203.0.113.0/24",
                        "headers": [],
                    }
                ],
                "ip_restriction_default_action": "Allow",
                "scm_ip_restriction": [],
                "scm_ip_restriction_default_action": "Allow",
                "scm_use_main_ip_restriction": False,
            }
        ],
    },
}


def pe_state(target: str | None, manual: bool = False) -> dict[str, Any]:
    return {
        "address": "azurerm_private_endpoint.pe",
        "mode": "managed",
        "type": "azurerm_private_endpoint",
        "name": "pe",
        "values": {
            "name": "pe",
            "private_service_connection": [
                {
                    "name": "c",
                    "is_manual_connection": manual,
                    "private_connection_resource_id": target,
                    "subresource_names": ["sites"],
                }
            ],
        },
    }


def test_terraform_show_state_private_endpoint() -> None:
    assert load_document(
        show_state(APP_STATE, pe_state(SITE_ID.upper())), acl.LoadOptions()
    ).has_private_endpoint
    other = pe_state(SITE_ID.replace("shop", "other"))
    assert not load_document(show_state(APP_STATE, other), acl.LoadOptions()).has_private_endpoint
    manual = pe_state(SITE_ID, manual=True)
    site = load_document(show_state(APP_STATE, manual), acl.LoadOptions(on_warning=lambda _: None))
    assert not site.has_private_endpoint


def test_terraform_show_plan_uses_the_configuration_references() -> None:
    app_after = {k: v for k, v in APP_STATE["values"].items() if k != "id"}
    pe_after = pe_state(None)["values"]
    del pe_after["private_service_connection"][0]["private_connection_resource_id"]

    def plan(references: list[str]) -> dict[str, Any]:
        return {
            "format_version": "1.2",
            "terraform_version": "1.9.0",
            "resource_changes": [
                {
                    "address": "azurerm_linux_web_app.shop",
                    "mode": "managed",
                    "type": "azurerm_linux_web_app",
                    "name": "shop",
                    "change": {
                        "actions": ["create"],
                        "after": app_after,
                        "after_unknown": {"id": True},
                    },
                },
                {
                    "address": "azurerm_private_endpoint.pe",
                    "mode": "managed",
                    "type": "azurerm_private_endpoint",
                    "name": "pe",
                    "change": {
                        "actions": ["create"],
                        "after": pe_after,
                        "after_unknown": {
                            "private_service_connection": [{"private_connection_resource_id": True}]
                        },
                    },
                },
            ],
            "configuration": {
                "root_module": {
                    "resources": [
                        {
                            "address": "azurerm_private_endpoint.pe",
                            "expressions": {
                                "private_service_connection": [
                                    {"private_connection_resource_id": {"references": references}}
                                ]
                            },
                        }
                    ]
                }
            },
        }

    refs = ["azurerm_linux_web_app.shop.id", "azurerm_linux_web_app.shop"]
    assert load_document(plan(refs), acl.LoadOptions()).has_private_endpoint
    other = ["azurerm_storage_account.st.id", "azurerm_storage_account.st"]
    assert not load_document(plan(other), acl.LoadOptions()).has_private_endpoint
    with pytest.raises(acl.ConfigError, match="does not say what its connection targets"):
        load_document(plan([]), acl.LoadOptions())


# -------------------------------------------------------------------- scripts and the CLI


def test_scripts_take_the_state_as_options() -> None:
    text = "az webapp config access-restriction add -g rg -n app -p 1 --ip-address 192.0.2.7\n"
    site = acl.loads(text, format="azcli", private_endpoint=True, hosting="ase")
    assert (site.has_private_endpoint, site.hosting) == (True, "ase")


def test_cli_site_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def run_acl(*args: str) -> Any:
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return type("Run", (), {"returncode": code, "stdout": out, "stderr": err})

    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"ipSecurityRestrictions": [OFFICE, DENY_ALL]}), encoding="utf-8")
    out = run_acl("eval", "--rules", str(rules), "--ip", "192.0.2.1", "--json")
    assert json.loads(out.stdout)["reason"] == "default" and out.returncode == 0
    assert json.loads(out.stdout)["action"] == "deny"
    # sent: the Deny all is ignored, and the office rule alone gives the implicit Deny
    out = run_acl(
        "eval", "--rules", str(rules), "--ip", "192.0.2.1", "--document", "sent", "--json"
    )
    assert json.loads(out.stdout)["action"] == "deny"
    lint = run_acl("lint", "--rules", str(rules), "--document", "sent", "--format", "json")
    assert "ACL034" in lint.stdout
    bad = run_acl("eval", "--rules", str(rules), "--ip", "192.0.2.1", "--hosting", "cloud")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    help_text = run_acl("eval", "--help").stdout
    for flag in (
        "--private-endpoint-site",
        "--no-private-endpoint-site",
        "--hosting",
        "--ip-based-ssl",
        "--document",
    ):
        assert flag in help_text


# -------------------------------------------------------------------- expectation files


def test_expectation_options_reach_the_loader(tmp_path: Path) -> None:
    from acl.expectations import run_file

    doc = {
        "options": {"document": "sent"},
        "site": {"ipSecurityRestrictions": [DENY_ALL]},
        "cases": [{"request": {"ip": "192.0.2.1"}, "expect": "allow", "rule": "default"}],
    }
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert [r.passed for r in run_file(path)] == [True]
    doc["options"] = {"document": "returned"}
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert [r.passed for r in run_file(path)] == [False]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ([], "options [] is not an object"),
        ({"private_endpoints": True}, "unknown key(s) 'private_endpoints'"),
        ({"private_endpoint": "yes"}, "options private_endpoint 'yes' is not true or false"),
        ({"hosting": "dedicated"}, "options hosting 'dedicated' is not one of"),
        ({"document": "posted"}, "options document 'posted' is not 'returned' or 'sent'"),
    ],
)
def test_bad_expectation_options(tmp_path: Path, options: Any, message: str) -> None:
    from acl.expectations import run_file

    path = tmp_path / "x.json"
    path.write_text(json.dumps({"options": options, "site": [OFFICE], "cases": []}))
    with pytest.raises(acl.ExpectationError) as caught:
        run_file(path)
    assert message in str(caught.value) and "$.options" in str(caught.value)


def test_every_reason_but_rule_is_a_reason_word() -> None:
    from acl.expectations import REASON_WORDS
    from acl.model import REASONS

    assert set(REASONS) - {"rule"} == REASON_WORDS

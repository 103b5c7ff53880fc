"""Names the azurerm schema does not have are refused, located, with the nearest valid name
(``terraform validate`` refuses them; a reader that ignored them would drop rules)."""

from __future__ import annotations

import json

import pytest

import acl
from acl.formats.terraform._azurerm_schema import ARGUMENTS, BLOCKS, PROVIDER_COMMITS


def hcl(text: str, **kw: object) -> acl.Site:
    return acl.loads(text, format="terraform", source="main.tf", **kw)


RULE = 'ip_restriction {\n      name = "office"\n      priority = 100\n      ip_address = "198.51.100.0/24"\n    }'


def test_typo_block_in_site_config_is_refused_with_the_nearest_name() -> None:
    text = (
        'resource "azurerm_linux_web_app" "app" {\n'
        "  site_config {\n"
        "    ip_restrictions {\n"
        '      ip_address = "198.51.100.0/24"\n'
        "    }\n"
        "  }\n"
        "}\n"
    )
    with pytest.raises(acl.ConfigError) as info:
        hcl(text)
    message = str(info.value)
    assert message.startswith("main.tf:3: azurerm_linux_web_app.app.site_config.ip_restrictions:")
    assert "unsupported block 'ip_restrictions' in site_config" in message
    assert 'did you mean "ip_restriction"?' in message


def test_resource_nested_in_a_resource_is_refused() -> None:
    text = (
        'resource "azurerm_windows_web_app" "app" {\n'
        "  site_config {}\n"
        '  resource "azurerm_linux_web_app" "inner" {\n'
        "  }\n"
        "}\n"
    )
    with pytest.raises(
        acl.ConfigError,
        match=r"^main\.tf:3: .*unsupported block 'resource' in azurerm_windows_web_app",
    ):
        hcl(text)


@pytest.mark.parametrize(
    ("inner", "line", "name", "suggestion"),
    [
        (
            '    ip_restriction {\n      ip_adress = "198.51.100.0/24"\n    }',
            4,
            "ip_adress",
            "ip_address",
        ),
        (
            '    ip_restriction {\n      ip_address = "198.51.100.0/24"\n      header {\n        x_azure_fdid = []\n      }\n    }',
            5,
            "header",
            "headers",
        ),
        (
            '    ip_restriction {\n      ip_address = "198.51.100.0/24"\n      headers {\n        x_azure_fd_id = ["00000000-0000-0000-0000-000000000001"]\n      }\n    }',
            6,
            "x_azure_fd_id",
            "x_azure_fdid",
        ),
        (
            '    scm_ip_restrictions {\n      ip_address = "198.51.100.0/24"\n    }',
            3,
            "scm_ip_restrictions",
            "scm_ip_restriction",
        ),
        (
            "    scm_use_main_ip_restrictions = true",
            3,
            "scm_use_main_ip_restrictions",
            "scm_use_main_ip_restriction",
        ),
    ],
)
def test_unknown_names_in_rule_blocks(inner: str, line: int, name: str, suggestion: str) -> None:
    text = f'resource "azurerm_linux_web_app" "app" {{\n  site_config {{\n{inner}\n  }}\n}}\n'
    with pytest.raises(acl.ConfigError) as info:
        hcl(text)
    message = str(info.value)
    assert message.startswith(f"main.tf:{line}: ")
    assert f"'{name}'" in message
    assert f'did you mean "{suggestion}"?' in message


def test_dynamic_block_with_a_typo_label_is_refused() -> None:
    text = (
        'resource "azurerm_linux_web_app" "app" {\n'
        "  site_config {\n"
        '    dynamic "ip_restrictions" {\n'
        '      for_each = ["198.51.100.0/24"]\n'
        "      content {\n"
        "        ip_address = ip_restrictions.value\n"
        "      }\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    with pytest.raises(
        acl.ConfigError, match=r"^main\.tf:3: .*'ip_restrictions'.*did you mean \"ip_restriction\""
    ):
        hcl(text)


def test_top_level_typo_is_refused() -> None:
    text = (
        'resource "azurerm_linux_web_app" "app" {\n'
        "  public_network_acces_enabled = false\n"
        f"  site_config {{\n    {RULE}\n  }}\n"
        "}\n"
    )
    with pytest.raises(
        acl.ConfigError, match=r"^main\.tf:2: .*did you mean \"public_network_access_enabled\""
    ):
        hcl(text)


def test_meta_arguments_and_known_names_are_accepted() -> None:
    text = (
        'resource "azurerm_linux_web_app" "app" {\n'
        "  count = 1\n"
        '  name = "shop"\n'
        "  https_only = true\n"
        "  tags = {}\n"
        "  lifecycle {\n    ignore_changes = [tags]\n  }\n"
        '  timeouts {\n    create = "30m"\n  }\n'
        f"  site_config {{\n    always_on = true\n    {RULE}\n  }}\n"
        "}\n"
    )
    site = hcl(text)
    assert [r.name for r in site.main_rules] == ["office"]


def test_tf_json_names_are_validated_too() -> None:
    document = {
        "resource": {
            "azurerm_linux_web_app": {
                "app": {"site_config": {"ip_restriction": [{"ip_addres": "198.51.100.0/24"}]}}
            }
        }
    }
    with pytest.raises(acl.ConfigError, match=r"'ip_addres'.*did you mean \"ip_address\""):
        acl.loads(json.dumps(document), format="terraform", source="main.tf.json")


def test_private_endpoint_connection_typo_is_refused() -> None:
    text = (
        'resource "azurerm_linux_web_app" "app" {\n'
        f"  site_config {{\n    {RULE}\n  }}\n"
        "}\n"
        'resource "azurerm_private_endpoint" "pe" {\n'
        "  private_service_connection {\n"
        "    private_connection_resource_ids = azurerm_linux_web_app.app.id\n"
        "  }\n"
        "}\n"
    )
    with pytest.raises(
        acl.ConfigError,
        match=r"private_connection_resource_ids.*did you mean \"private_connection_resource_id\"",
    ):
        hcl(text)


def test_generated_schema_covers_every_type_acl_reads() -> None:
    from acl.formats.terraform import PLAN_TYPES, PRIVATE_ENDPOINT_TYPE, WEB_APP_TYPES

    assert set(WEB_APP_TYPES) | set(PLAN_TYPES) | {PRIVATE_ENDPOINT_TYPE} <= set(ARGUMENTS)
    for kind in WEB_APP_TYPES:
        assert {"ip_restriction", "scm_ip_restriction"} <= BLOCKS[kind]["site_config"]
        assert "headers" in BLOCKS[kind]["site_config.ip_restriction"]
    assert len(PROVIDER_COMMITS) == 4 and all(len(c) == 40 for c in PROVIDER_COMMITS)


def test_a_resource_attribute_is_not_sent_to_var() -> None:
    text = (
        'resource "azurerm_linux_web_app" "app" {\n'
        "  site_config {\n"
        "    ip_restriction {\n"
        "      virtual_network_subnet_id = azurerm_subnet.jobs.id\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    with pytest.raises(acl.ConfigError) as info:
        hcl(text)
    message = str(info.value)
    assert message.startswith("main.tf:4: ")
    assert "terraform show -json" in message and "--var" not in message


def test_a_variable_behind_a_local_is_named_in_the_hint() -> None:
    text = (
        'variable "office" {\n  type = string\n}\n'
        "locals {\n  office = var.office\n}\n"
        'resource "azurerm_linux_web_app" "app" {\n'
        "  site_config {\n"
        "    ip_restriction {\n"
        "      ip_address = local.office\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    with pytest.raises(acl.ConfigError, match=r"give --var office=VALUE or a \.tfvars file"):
        hcl(text)


def test_typo_top_level_block_is_refused() -> None:
    text = 'resourc "azurerm_linux_web_app" "app" {\n}\n'
    with pytest.raises(
        acl.ConfigError,
        match=r"^main\.tf:1: unsupported block type 'resourc'.*did you mean \"resource\"",
    ):
        hcl(text)


def test_resource_with_one_label_is_refused() -> None:
    with pytest.raises(acl.ConfigError, match=r"^main\.tf:1: a resource block takes two labels"):
        hcl('resource "azurerm_linux_web_app" {\n}\n')


def test_typo_top_level_key_in_tf_json_is_refused() -> None:
    document = {"resourc": {}, "resource": {"azurerm_linux_web_app": {"app": {"site_config": {}}}}}
    with pytest.raises(acl.ConfigError, match=r"unsupported block type 'resourc'"):
        acl.loads(json.dumps(document), format="terraform", source="main.tf.json")

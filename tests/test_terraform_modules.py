"""Terraform: child modules, ``.tf.json`` files, ``TF_VAR_*`` and Logic App Standard."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

import acl
from acl.formats import ConfigWarning, LoadOptions
from acl.formats.terraform import load_terraform

FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def decide(site: acl.Site, ip: str, **kw: Any) -> tuple[str, str | None]:
    decision = acl.evaluate(site, acl.Request(ip, **kw))
    return decision.action.value, decision.rule.name if decision.rule else None


WEBAPP_MODULE = {
    "modules/webapp/variables.tf": """
        variable "name" {
          type = string
        }

        variable "allowed_cidrs" {
          type    = list(string)
          default = []
        }

        variable "front_door_id" {
          type    = string
          default = null
        }

        variable "scm_cidr" {
          type = string
        }
        """,
    "modules/webapp/main.tf": """
        locals {
          base_priority = 100
        }

        resource "azurerm_linux_web_app" "this" {
          name                = var.name
          resource_group_name = "rg"
          location            = "westeurope"
          service_plan_id     = "plan"

          site_config {
            ip_restriction_default_action = "Deny"

            dynamic "ip_restriction" {
              for_each = var.allowed_cidrs
              content {
                name       = "cidr-${ip_restriction.key}"
                priority   = local.base_priority + ip_restriction.key
                ip_address = ip_restriction.value
              }
            }

            dynamic "ip_restriction" {
              for_each = var.front_door_id == null ? [] : [var.front_door_id]
              content {
                name        = "front-door"
                priority    = 50
                service_tag = "AzureFrontDoor.Backend"
                headers {
                  x_azure_fdid = [ip_restriction.value]
                }
              }
            }

            scm_ip_restriction {
              name       = "deploy"
              priority   = 10
              ip_address = var.scm_cidr
            }
          }
        }
        """,
    "modules/webapp/outputs.tf": """
        output "name" {
          value = azurerm_linux_web_app.this.name
        }

        output "scm_cidr" {
          value = var.scm_cidr
        }
        """,
    "modules/network/main.tf": """
        variable "office_cidr" {
          type = string
        }

        output "office_cidr" {
          value = var.office_cidr
        }

        output "agents_cidr" {
          value = cidrsubnet("10.20.0.0/16", 8, 3)
        }

        resource "azurerm_subnet" "jobs" {
          name                 = "jobs"
          resource_group_name  = "net"
          virtual_network_name = "vnet"
          address_prefixes     = ["10.20.9.0/24"]
        }

        output "jobs_subnet_id" {
          value = azurerm_subnet.jobs.id
        }
        """,
}

ROOT = {
    "main.tf": """
        variable "office_cidr" {
          type    = string
          default = "198.51.100.0/24"
        }

        variable "regions" {
          type    = set(string)
          default = ["eu", "us"]
        }

        module "network" {
          source      = "./modules/network"
          office_cidr = var.office_cidr
        }

        module "api" {
          source        = "./modules/webapp"
          name          = "contoso-api"
          allowed_cidrs = [module.network.office_cidr, "203.0.113.0/24"]
          front_door_id = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
          scm_cidr      = module.network.agents_cidr
        }

        module "regional" {
          source   = "./modules/webapp"
          for_each = var.regions
          name     = "contoso-${each.key}"
          scm_cidr = "192.0.2.0/28"
          allowed_cidrs = each.key == "eu" ? ["10.1.0.0/16"] : ["10.2.0.0/16"]
        }

        module "jobs" {
          source   = "./modules/webapp"
          count    = 2
          name     = "jobs-${count.index}"
          scm_cidr = module.network.jobs_subnet_id
        }
        """,
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write(tmp_path, {**WEBAPP_MODULE, **ROOT})


# ---------------------------------------------------------------------------- modules


def test_a_child_module_is_loaded_with_its_inputs(config: Path) -> None:
    site = acl.load(config, site="module.api.azurerm_linux_web_app.this")
    assert site.name == "module.api.azurerm_linux_web_app.this"
    assert [(r.name, r.priority, r.ip_address) for r in site.main_rules] == [
        ("cidr-0", 100, "198.51.100.0/24"),  # module.network.office_cidr, from var.office_cidr
        ("cidr-1", 101, "203.0.113.0/24"),
        ("front-door", 50, "AzureFrontDoor.Backend"),
    ]
    assert site.scm_rules[0].ip_address == "10.20.3.0/24"  # module.network.agents_cidr
    assert site.main_default is acl.Action.DENY
    assert decide(site, "203.0.113.9") == ("Allow", "cidr-1")
    origin = site.main_rules[0].origin
    assert origin is not None and origin.file == str(config / "modules/webapp/main.tf")
    assert origin.line == 16


def test_the_root_variables_flow_into_modules(config: Path) -> None:
    site = acl.load(
        config,
        site="module.api.azurerm_linux_web_app.this",
        variables={"office_cidr": "192.0.2.0/24"},
    )
    assert site.main_rules[0].ip_address == "192.0.2.0/24"


def test_module_for_each_and_count_instances(config: Path) -> None:
    eu = acl.load(config, site='module.regional["eu"].azurerm_linux_web_app.this')
    assert eu.name == 'module.regional["eu"].azurerm_linux_web_app.this'
    assert eu.main_rules[0].ip_address == "10.1.0.0/16"
    with pytest.raises(acl.ConfigError) as caught:
        acl.load(config, site="module.regional.azurerm_linux_web_app.this")
    assert 'module.regional["eu"].azurerm_linux_web_app.this, module.regional["us"]' in str(
        caught.value
    )


def test_addresses_are_those_of_terraform_show(config: Path) -> None:
    with pytest.raises(acl.ConfigError) as caught:
        acl.load(config)
    message = str(caught.value)
    assert "has 3 web apps: choose one with --site ADDRESS" in message
    assert (
        "module.api.azurerm_linux_web_app.this, module.regional.azurerm_linux_web_app.this"
        in message
    )
    with pytest.raises(acl.ConfigError, match=r"--site 'this' matches 3 web apps"):
        acl.load(config, site="this")


def test_an_output_only_a_plan_knows_names_the_module_line(config: Path) -> None:
    with pytest.raises(acl.ConfigError) as caught:
        acl.load(config, site="module.jobs[1].azurerm_linux_web_app.this")
    error = caught.value
    assert error.origin is not None
    assert (error.origin.file, error.origin.line) == (str(config / "modules/webapp/main.tf"), 38)
    assert error.message.startswith(
        "var.scm_cidr cannot be known offline: the argument scm_cidr of module.jobs[1] "
        f"({config}/main.tf:36) is module.network.jobs_subnet_id: the output jobs_subnet_id of "
        f"module.network is azurerm_subnet.jobs.id ({config}/modules/network/main.tf:21): a "
        "resource attribute"
    )
    assert "; give the value through the module block's arguments (root variables" in str(error)
    said: list[str] = []
    site = acl.load(
        config,
        site="module.jobs[1].azurerm_linux_web_app.this",
        unresolved="skip-rule",
        on_warning=said.append,
    )
    assert site.scm_rules == () and "rule skipped" in said[0]


def test_required_variables_and_unknown_arguments(tmp_path: Path) -> None:
    write(tmp_path, WEBAPP_MODULE)
    write(tmp_path, {"main.tf": 'module "api" {\n  source = "./modules/webapp"\n  name = "x"\n}\n'})
    with pytest.raises(acl.ConfigError) as caught:
        acl.load(tmp_path)
    assert str(caught.value).startswith(
        f"{tmp_path}/main.tf:1: module.api: module \"api\": variable 'scm_cidr' of "
    )
    assert "has no default, and the module block does not set it" in str(caught.value)
    write(
        tmp_path,
        {
            "main.tf": 'module "api" {\n  source = "./modules/webapp"\n  name = "x"\n  scm_cidr = "192.0.2.0/28"\n  colour = "red"\n}\n'
        },
    )
    with pytest.raises(acl.ConfigError, match=r"main\.tf:5: .*declares no variable 'colour'"):
        acl.load(tmp_path)


def test_nested_modules_and_cycles(tmp_path: Path) -> None:
    write(tmp_path, WEBAPP_MODULE)
    write(
        tmp_path,
        {
            "main.tf": 'module "platform" {\n  source = "./platform"\n}\n',
            "platform/main.tf": """
                module "web" {
                  source   = "../modules/webapp"
                  name     = "inner"
                  scm_cidr = "192.0.2.0/28"
                }
                """,
        },
    )
    site = acl.load(tmp_path)
    assert site.name == "module.platform.module.web.azurerm_linux_web_app.this"
    write(tmp_path, {"platform/loop.tf": 'module "again" {\n  source = "../platform"\n}\n'})
    with pytest.raises(
        acl.ConfigError, match=r"platform/loop\.tf:1: .*leads back to .*a module cycle"
    ):
        acl.load(tmp_path)


REGISTRY_ROOT = {
    "main.tf": """
        module "naming" {
          source  = "Azure/naming/azurerm"
          version = "0.4.0"
        }

        resource "azurerm_linux_web_app" "app" {
          site_config {
            ip_restriction {
              name       = module.naming.app_service.name
              ip_address = "192.0.2.0/24"
            }
          }
        }
        """
}


def test_registry_modules_need_terraform_init(tmp_path: Path) -> None:
    write(tmp_path, REGISTRY_ROOT)
    said: list[str] = []
    with pytest.raises(acl.ConfigError) as caught:
        acl.load(tmp_path, on_warning=said.append)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path}/main.tf:9: ")
    assert 'module "naming" (' in message and "main.tf:1) is not read" in message
    assert "'Azure/naming/azurerm' is not a local path" in message
    assert ".terraform/modules/modules.json" in message and "--var" in message
    assert said and "module.naming is not read" in said[0]
    with pytest.raises(
        acl.ConfigError, match=r"main\.tf:1: module\.naming: module \"naming\" is not read"
    ):
        acl.load(tmp_path, site="module.naming.azurerm_linux_web_app.x", on_warning=said.append)


def test_registry_modules_through_modules_json(tmp_path: Path) -> None:
    write(tmp_path, REGISTRY_ROOT)
    write(
        tmp_path,
        {
            ".terraform/modules/naming/main.tf": """
                output "app_service" {
                  value = { name = "app-contoso" }
                }
                """,
        },
    )
    manifest = {
        "Modules": [
            {"Key": "", "Source": "", "Dir": "."},
            {
                "Key": "naming",
                "Source": "registry.terraform.io/Azure/naming/azurerm",
                "Version": "0.4.0",
                "Dir": ".terraform/modules/naming",
            },
        ]
    }
    (tmp_path / ".terraform/modules/modules.json").write_text(json.dumps(manifest))
    site = acl.load(tmp_path)
    assert site.main_rules[0].name == "app-contoso"


# ---------------------------------------------------------------------------- .tf.json


TF_JSON = {
    "variable": {
        "office_cidrs": {"type": "list(string)", "default": ["198.51.100.0/24", "203.0.113.0/24"]},
        "front_door_id": {"type": "string"},
    },
    "locals": {"//": "priorities", "base": 200},
    "resource": {
        "azurerm_windows_web_app": {
            "shop": {
                "name": "contoso-shop",
                "public_network_access_enabled": True,
                "site_config": {
                    "ip_restriction_default_action": "Deny",
                    "ip_restriction": [
                        {
                            "name": "front-door",
                            "priority": 100,
                            "service_tag": "AzureFrontDoor.Backend",
                            "headers": {"x_azure_fdid": ["${var.front_door_id}"]},
                        }
                    ],
                    "dynamic": {
                        "scm_ip_restriction": {
                            "for_each": "${var.office_cidrs}",
                            "iterator": "office",
                            "content": {
                                "name": "office-${office.key}",
                                "priority": "${local.base + office.key}",
                                "ip_address": "${office.value}",
                            },
                        }
                    },
                },
            }
        }
    },
    "output": {"id": {"value": "${azurerm_windows_web_app.shop.id}"}},
}


def test_tf_json_files_are_read_with_tf_files(tmp_path: Path) -> None:
    (tmp_path / "main.tf.json").write_text(json.dumps(TF_JSON, indent=2))
    (tmp_path / "terraform.tfvars.json").write_text(json.dumps({"front_door_id": FDID}))
    (tmp_path / "extra.tf").write_text('locals {\n  unused = "x"\n}\n')
    site = acl.load(tmp_path)
    assert site.name == "azurerm_windows_web_app.shop"
    assert site.main_rules[0].headers[0].values == (FDID,)
    assert [(r.name, r.priority, r.ip_address) for r in site.scm_rules] == [
        ("office-0", 200, "198.51.100.0/24"),
        ("office-1", 201, "203.0.113.0/24"),
    ]
    assert site.public_network_access == "Enabled" and site.main_default is acl.Action.DENY
    one = acl.load(tmp_path / "main.tf.json", variables={"front_door_id": FDID})
    assert one.name == site.name


def test_tf_json_errors_name_the_line(tmp_path: Path) -> None:
    data = json.loads(json.dumps(TF_JSON))
    data["variable"]["front_door_id"]["default"] = FDID
    data["resource"]["azurerm_windows_web_app"]["shop"]["site_config"]["ip_restriction"][0][
        "priority"
    ] = "${var.nope}"
    path = tmp_path / "main.tf.json"
    path.write_text(json.dumps(data, indent=2))
    text = path.read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if "var.nope" in t)
    with pytest.raises(acl.ConfigError) as caught:
        acl.load(path)
    assert str(caught.value).startswith(
        f"{path}:{line}: azurerm_windows_web_app.shop.site_config.ip_restriction[0].priority: "
    )
    assert "variable 'nope' is not declared" in str(caught.value)
    path.write_text('{\n  "resource": {\n    "x": 1,\n  }\n}\n')
    with pytest.raises(
        acl.ConfigError, match=r"main\.tf\.json:4:3: invalid JSON: expected a property name"
    ):
        acl.load(path)


def test_tf_json_text_and_block_arrays() -> None:
    text = json.dumps(
        {
            "resource": [
                {
                    "azurerm_linux_web_app": {
                        "api": [
                            {
                                "site_config": [
                                    {
                                        "ip_restriction": '${[for c in ["192.0.2.0/24"] : {ip_address = c, name = "c"}]}',
                                    }
                                ]
                            }
                        ]
                    }
                }
            ]
        }
    )
    site = load_terraform(text, LoadOptions(source="main.tf.json"))
    assert site.main_rules[0].ip_address == "192.0.2.0/24"


# ---------------------------------------------------------------------------- TF_VAR_*


PRECEDENCE = {
    "main.tf": """
        variable "cidr" {
          type    = string
          default = "10.0.0.1/32"
        }

        variable "extra" {
          type    = list(string)
          default = []
        }

        resource "azurerm_linux_web_app" "app" {
          site_config {
            ip_restriction {
              name       = "c"
              ip_address = join(",", concat([var.cidr], var.extra))
            }
          }
        }
        """
}


def test_tf_var_environment_precedence(tmp_path: Path) -> None:
    write(tmp_path, PRECEDENCE)

    def cidr(**kw: Any) -> str | None:
        return acl.load(tmp_path, **kw).main_rules[0].ip_address

    env = {"TF_VAR_cidr": "10.0.0.2/32", "TF_VAR_undeclared": "x", "tf_var_cidr": "no"}
    assert cidr(environment={}) == "10.0.0.1/32"  # the default
    assert cidr(environment=env) == "10.0.0.2/32"  # environment over the default
    env["TF_VAR_extra"] = '["10.9.0.0/16"]'  # an HCL value for a list
    assert cidr(environment=env) == "10.0.0.2/32,10.9.0.0/16"
    (tmp_path / "terraform.tfvars").write_text('cidr = "10.0.0.3/32"\n')
    assert cidr(environment=env).startswith("10.0.0.3/32")  # terraform.tfvars over it
    (tmp_path / "terraform.tfvars.json").write_text('{"cidr": "10.0.0.4/32"}')
    assert cidr(environment=env).startswith("10.0.0.4/32")
    (tmp_path / "b.auto.tfvars").write_text('cidr = "10.0.0.6/32"\n')
    (tmp_path / "a.auto.tfvars.json").write_text('{"cidr": "10.0.0.5/32"}')
    assert cidr(environment=env).startswith("10.0.0.6/32")  # auto files in name order
    (tmp_path / "cli.tfvars").write_text('cidr = "10.0.0.7/32"\n')
    assert cidr(environment=env, var_files=[tmp_path / "cli.tfvars"]).startswith("10.0.0.7/32")
    assert cidr(
        environment=env, var_files=[tmp_path / "cli.tfvars"], variables={"cidr": "10.0.0.8/32"}
    ).startswith("10.0.0.8/32")


def test_tf_var_errors_and_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, PRECEDENCE)
    with pytest.raises(acl.ConfigError, match=r"TF_VAR_extra='\[oops': variable 'extra' is a list"):
        acl.load(tmp_path, environment={"TF_VAR_extra": "[oops"})
    monkeypatch.setenv("TF_VAR_cidr", "10.0.0.9/32")
    assert acl.load(tmp_path).main_rules[0].ip_address == "10.0.0.9/32"


def test_tf_var_is_for_the_root_module_only(config: Path) -> None:
    site = acl.load(
        config,
        site="module.api.azurerm_linux_web_app.this",
        environment={"TF_VAR_scm_cidr": "10.99.0.0/16"},
    )
    assert site.scm_rules[0].ip_address == "10.20.3.0/24"


# ---------------------------------------------------------------------------- Logic App Standard


LOGIC_APP = """
resource "azurerm_logic_app_standard" "flows" {
  name                       = "contoso-flows"
  location                   = "westeurope"
  resource_group_name        = "rg"
  app_service_plan_id        = "plan"
  storage_account_name       = "contosoflows"
  storage_account_access_key = "key"
  %(public)s

  site_config {
    scm_use_main_ip_restriction = true
    %(site)s
    ip_restriction {
      name       = "office"
      priority   = 100
      ip_address = "198.51.100.0/24"
    }
    ip_restriction {
      name        = "front-door"
      service_tag = "AzureFrontDoor.Backend"
      headers {
        x_azure_fdid = ["0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"]
      }
    }
  }
}
"""


def logic_app(public: str = "", site: str = "", **kw: Any) -> acl.Site:
    return acl.loads(
        LOGIC_APP % {"public": public, "site": site}, format="terraform", source="main.tf", **kw
    )


def test_logic_app_standard() -> None:
    site = logic_app()
    assert site.name == "azurerm_logic_app_standard.flows"
    assert [(r.name, r.priority, r.action.value) for r in site.main_rules] == [
        ("office", 100, "Allow"),
        ("front-door", 65000, "Allow"),
    ]
    # no default action is sent: the implicit Deny applies, on scm too (it uses the main rules)
    assert site.main_default is None and site.scm_default is None and site.scm_use_main
    assert decide(site, "192.0.2.1") == ("Deny", None)
    assert decide(site, "192.0.2.1", host="contoso-flows.scm.azurewebsites.net") == ("Deny", None)
    assert decide(site, "198.51.100.7") == ("Allow", "office")
    # public_network_access defaults to "Enabled", which the provider always sends
    assert site.public_network_access == "Enabled"


def test_logic_app_public_network_access() -> None:
    assert logic_app('public_network_access = "Disabled"').public_network_access == "Disabled"
    old = logic_app(site="public_network_access_enabled = false")
    assert old.public_network_access == "Disabled"
    with pytest.raises(
        acl.ConfigError, match=r"main\.tf:9: .*public_network_access 'disabled' is not valid"
    ):
        logic_app('public_network_access = "disabled"')
    with pytest.raises(acl.ConfigError, match="give one of them"):
        logic_app('public_network_access = "Enabled"', site="public_network_access_enabled = false")


def test_logic_app_default_actions_from_azurerm_4_67() -> None:
    site = logic_app(
        site='ip_restriction_default_action = "Allow"\n'
        '    scm_ip_restriction_default_action = "Deny"'
    )
    assert site.main_default is acl.Action.ALLOW and site.scm_default is acl.Action.DENY
    assert decide(site, "192.0.2.1") == ("Allow", None)
    # unset, nothing is sent: the implicit Deny
    assert logic_app().main_default is None
    with pytest.raises(acl.ConfigError, match=r"main\.tf:13: .*needs azurerm 4\.67 or later"):
        logic_app(site='ip_restriction_default_action = "Deny"', azurerm_version="4.66")
    with pytest.raises(acl.ConfigError, match="'deny' is not valid"):
        logic_app(site='ip_restriction_default_action = "deny"')


def test_logic_app_in_a_state() -> None:
    state = {
        "format_version": "1.0",
        "terraform_version": "1.9.5",
        "values": {
            "root_module": {
                "resources": [
                    {
                        "address": "azurerm_logic_app_standard.flows",
                        "mode": "managed",
                        "type": "azurerm_logic_app_standard",
                        "name": "flows",
                        "values": {
                            "public_network_access": "Disabled",
                            "site_config": [
                                {
                                    "public_network_access_enabled": False,
                                    "scm_use_main_ip_restriction": False,
                                    "ip_restriction": [
                                        {
                                            "action": "Deny",
                                            "headers": [],
                                            "ip_address": "192.0.2.0/24",
                                            "name": "blocked",
                                            "priority": 10,
                                            "service_tag": "",
                                            "virtual_network_subnet_id": "",
                                        }
                                    ],
                                    "scm_ip_restriction": [],
                                }
                            ],
                        },
                    }
                ]
            }
        },
    }
    site = acl.loads(json.dumps(state))
    assert site.name == "azurerm_logic_app_standard.flows"
    assert site.public_network_access == "Disabled"
    assert [(r.name, r.action.value) for r in site.main_rules] == [("blocked", "Deny")]
    assert site.main_default is None


def test_without_web_apps_an_unread_module_is_the_error(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": 'module "x" {\n  source = "git::https://example.com/x.git"\n}\n'})
    with pytest.raises(
        acl.ConfigError,
        match=r"main\.tf:1: module\.x: no web app or function app resource .*module \"x\" is not read",
    ):
        acl.load(tmp_path)


def test_an_unread_module_beside_a_web_app_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, REGISTRY_ROOT)
    (tmp_path / "main.tf").write_text(
        (tmp_path / "main.tf").read_text().replace("module.naming.app_service.name", '"office"')
    )
    with pytest.warns(ConfigWarning, match=r"main\.tf:1: module\.naming is not read"):
        site = acl.load(tmp_path)
    assert site.main_rules[0].name == "office"


# ---------------------------------------------------------------------------- override files

OVERRIDDEN = {
    "main.tf": """
        variable "office_cidr" {
          type    = string
          default = "198.51.100.0/24"
        }

        resource "azurerm_linux_web_app" "shop" {
          name                          = "contoso-shop"
          public_network_access_enabled = true

          site_config {
            ip_restriction_default_action = "Allow"

            ip_restriction {
              name       = "office"
              priority   = 100
              ip_address = var.office_cidr
            }

            scm_ip_restriction {
              name       = "deploy"
              priority   = 10
              ip_address = "192.0.2.0/28"
            }
          }
        }
        """,
}


def test_an_override_file_replaces_the_whole_site_config(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **OVERRIDDEN,
            "override.tf": """
                # the production lock-down, kept apart from main.tf
                resource "azurerm_linux_web_app" "shop" {
                  site_config {
                    ip_restriction_default_action = "Deny"

                    ip_restriction {
                      name       = "vpn"
                      priority   = 200
                      ip_address = "203.0.113.0/24"
                    }
                  }
                }
                """,
        },
    )
    site = acl.load(tmp_path)
    assert site.main_default is acl.Action.DENY
    # nested blocks are not merged: the original's rules, scm rules included, are gone
    assert [r.name for r in site.main_rules] == ["vpn"]
    assert site.scm_rules == ()
    assert site.public_network_access == "Enabled"  # an attribute the override leaves alone
    origin = site.main_rules[0].origin
    assert origin is not None and origin.file == str(tmp_path / "override.tf")
    assert origin.line == 6
    assert decide(site, "198.51.100.7") == ("Deny", None)
    assert decide(site, "203.0.113.9") == ("Allow", "vpn")


def test_an_override_attribute_leaves_the_original_blocks(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **OVERRIDDEN,
            "override.tf": """
                resource "azurerm_linux_web_app" "shop" {
                  public_network_access_enabled = false
                }
                """,
        },
    )
    site = acl.load(tmp_path)
    assert site.public_network_access == "Disabled"
    assert [r.name for r in site.main_rules] == ["office"]
    assert [r.name for r in site.scm_rules] == ["deploy"]
    assert site.main_default is acl.Action.ALLOW


def test_override_files_apply_in_name_order_tf_json_too(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **OVERRIDDEN,
            "a_override.tf": """
                resource "azurerm_linux_web_app" "shop" {
                  public_network_access_enabled = false
                  site_config {
                    ip_restriction_default_action = "Deny"
                  }
                }
                """,
            # read after a_override.tf: its site_config wins, the attribute stays
            "web_override.tf.json": """
                {
                  "resource": {
                    "azurerm_linux_web_app": {
                      "shop": {
                        "site_config": {
                          "ip_restriction_default_action": "Deny",
                          "ip_restriction": [
                            {"name": "office", "priority": 100, "ip_address": "${var.office_cidr}"},
                            {"name": "partner", "priority": 150, "ip_address": "192.0.2.99"}
                          ]
                        }
                      }
                    }
                  }
                }
                """,
        },
    )
    site = acl.load(tmp_path)
    assert site.public_network_access == "Disabled"
    assert site.main_default is acl.Action.DENY
    assert [(r.name, r.ip_address) for r in site.main_rules] == [
        ("office", "198.51.100.0/24"),
        ("partner", "192.0.2.99"),
    ]
    origin = site.main_rules[1].origin
    assert origin is not None and origin.file == str(tmp_path / "web_override.tf.json")
    assert origin.line == 9
    # an error in the JSON override names its file and line
    json_file = tmp_path / "web_override.tf.json"
    json_file.write_text(json_file.read_text().replace('"192.0.2.99"', '"${var.partner}"'))
    with pytest.raises(
        acl.ConfigError,
        match=r"web_override\.tf\.json:9: azurerm_linux_web_app\.shop\.site_config\."
        r"ip_restriction\[1\]\.ip_address: variable 'partner' is not declared",
    ):
        acl.load(tmp_path)


def test_a_dynamic_block_in_an_override_replaces_blocks_of_its_type(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **OVERRIDDEN,
            "override.tf": """
                resource "azurerm_linux_web_app" "shop" {
                  dynamic "site_config" {
                    for_each = ["only"]
                    content {
                      ip_restriction_default_action = "Deny"
                    }
                  }
                }
                """,
        },
    )
    site = acl.load(tmp_path)
    assert site.main_rules == () and site.scm_rules == ()
    assert site.main_default is acl.Action.DENY


def test_an_override_changes_a_variable_default(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **OVERRIDDEN,
            "override.tf": """
                variable "office_cidr" {
                  default = "203.0.113.0/24"
                }
                """,
        },
    )
    site = acl.load(tmp_path)
    assert site.main_rules[0].ip_address == "203.0.113.0/24"
    # a .tfvars value still wins over the overridden default
    (tmp_path / "terraform.tfvars").write_text('office_cidr = "192.0.2.128/25"\n')
    assert acl.load(tmp_path).main_rules[0].ip_address == "192.0.2.128/25"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            'variable "office_cidr" {\n  type = number\n}\n',
            r"override\.tf:1: variable 'office_cidr': overriding its type constraint has made "
            r"its default value invalid: string '198\.51\.100\.0/24' is not a number",
        ),
        (
            'variable "office_cidr" {\n  default = ["192.0.2.0/24"]\n}\n',
            r"override\.tf:1: variable 'office_cidr': the overridden default value is not "
            r"compatible with the variable's type constraint",
        ),
        (
            'variable "office_cidr" {\n  nullable = false\n  default  = null\n}\n',
            r"override\.tf:1: variable 'office_cidr': a null default value is not valid when "
            r"nullable=false",
        ),
    ],
)
def test_an_overridden_variable_default_must_fit_its_type(
    tmp_path: Path, override: str, message: str
) -> None:
    write(tmp_path, {**OVERRIDDEN, "override.tf": override})
    with pytest.raises(acl.ConfigError, match=message):
        acl.load(tmp_path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            '# a typo\n\nresource "azurerm_linux_web_app" "shopp" {\n  name = "typo"\n}\n',
            r"_override\.tf:3: there is no azurerm_linux_web_app resource named \"shopp\" to "
            r"override: an override file can only override a resource block defined in a "
            r"primary configuration file",
        ),
        (
            'variable "regions" {\n  default = []\n}\n',
            r"_override\.tf:1: there is no variable named \"regions\" to override: an override "
            r"file can only override a variable that was already declared in a primary",
        ),
        (
            'locals {\n  prefix = "x"\n}\n',
            r"_override\.tf:2: there is no local value named \"prefix\" to override",
        ),
        (
            'output "name" {\n  value = "x"\n}\n',
            r"_override\.tf:1: there is no output named \"name\" to override",
        ),
        (
            'module "api" {\n  source = "./api"\n}\n',
            r"_override\.tf:1: there is no module call named \"api\" to override",
        ),
        (
            'data "azurerm_subnet" "jobs" {\n  name = "jobs"\n}\n',
            r"_override\.tf:1: there is no azurerm_subnet data resource named \"jobs\" to "
            r"override",
        ),
        (
            'resource "azurerm_linux_web_app" "shop" {\n  depends_on = [azurerm_subnet.x]\n}\n',
            r"_override\.tf:2: the depends_on argument may not be overridden",
        ),
        (
            "moved {\n  from = azurerm_linux_web_app.old\n  to   = azurerm_linux_web_app.shop\n}\n",
            r"_override\.tf:1: cannot override 'moved' blocks",
        ),
    ],
)
def test_an_override_block_without_an_original_is_an_error(
    tmp_path: Path, override: str, message: str
) -> None:
    write(tmp_path, {**OVERRIDDEN, "prod_override.tf": override})
    with pytest.raises(acl.ConfigError, match=message):
        acl.load(tmp_path)


def test_errors_in_overridden_values_name_the_override_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            **OVERRIDDEN,
            "override.tf": """
                resource "azurerm_linux_web_app" "shop" {
                  count                         = 2
                  public_network_access_enabled = azurerm_subnet.jobs.id == ""

                  site_config {
                    ip_restriction {
                      name       = "bad"
                      ip_address = "300.1.1.1"
                    }
                  }
                }
                """,
        },
    )
    with pytest.raises(
        acl.ConfigError,
        match=r"override\.tf:3: azurerm_linux_web_app\.shop\[1\]\.public_network_access_enabled: "
        r"azurerm_subnet\.jobs\.id cannot be known offline",
    ):
        acl.load(tmp_path, site="azurerm_linux_web_app.shop[1]")
    text = (tmp_path / "override.tf").read_text().replace('azurerm_subnet.jobs.id == ""', "true")
    (tmp_path / "override.tf").write_text(text)
    with pytest.raises(
        acl.ConfigError,
        match=r"override\.tf:6: azurerm_linux_web_app\.shop\[0\]\.site_config\.ip_restriction\[0\]"
        r": rule 'bad' .*ipAddress element '300\.1\.1\.1' is not valid",
    ):
        acl.load(tmp_path, site="azurerm_linux_web_app.shop[0]")
    (tmp_path / "override.tf").write_text(text.replace("= 2", "= var.copies"))
    with pytest.raises(
        acl.ConfigError,
        match=r"override\.tf:2: azurerm_linux_web_app\.shop\.count: variable 'copies' is not "
        r"declared",
    ):
        acl.load(tmp_path)


def test_a_child_module_and_a_module_call_take_overrides(config: Path) -> None:
    write(
        config,
        {
            # in the child module: a local and the scm rules' source
            "modules/webapp/override.tf": """
                locals {
                  base_priority = 300
                }
                """,
            # in the root module: the call's arguments, merged one by one
            "override.tf": """
                module "api" {
                  allowed_cidrs = ["192.0.2.0/24"]
                }
                """,
        },
    )
    site = acl.load(config, site="module.api.azurerm_linux_web_app.this")
    assert [(r.name, r.priority, r.ip_address) for r in site.main_rules] == [
        ("cidr-0", 300, "192.0.2.0/24"),
        ("front-door", 50, "AzureFrontDoor.Backend"),  # front_door_id stays from main.tf
    ]
    regional = acl.load(config, site='module.regional["eu"].azurerm_linux_web_app.this')
    assert regional.main_rules[0].priority == 300
    # an argument from the override that the module does not declare: the override's line
    (config / "override.tf").write_text('module "api" {\n  allowed_cidrs = []\n  office = "x"\n}\n')
    with pytest.raises(
        acl.ConfigError,
        match=r"override\.tf:3: module\.api: module \"api\": .* declares no variable 'office'",
    ):
        acl.load(config, site="module.api.azurerm_linux_web_app.this")


def test_a_module_source_can_be_overridden(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.tf": 'module "web" {\n  source = "./v1"\n}\n',
            "override.tf": 'module "web" {\n  source = "./v2"\n}\n',
            "v1/main.tf": 'resource "azurerm_linux_web_app" "old" {\n}\n',
            "v2/main.tf": 'resource "azurerm_linux_web_app" "new" {\n}\n',
        },
    )
    assert acl.load(tmp_path).name == "module.web.azurerm_linux_web_app.new"


def test_an_override_file_alone_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {**OVERRIDDEN, "override.tf": OVERRIDDEN["main.tf"]})
    with pytest.raises(
        acl.ConfigError, match=r"override\.tf: an override file cannot be read alone"
    ):
        acl.load(tmp_path / "override.tf")
    # main.tf alone is read without the override files of its folder
    assert acl.load(tmp_path / "main.tf").main_default is acl.Action.ALLOW


def test_only_override_names_are_override_files(tmp_path: Path) -> None:
    # "overrides.tf" and "override_x.tf" are ordinary files: declaring the resource again
    # there is the usual error
    for name in ("overrides.tf", "override_x.tf", "my-override.tf"):
        write(tmp_path, {**OVERRIDDEN, name: OVERRIDDEN["main.tf"]})
        with pytest.raises(acl.ConfigError, match="is declared twice"):
            acl.load(tmp_path)
        (tmp_path / name).unlink()


# ------------------------------------------------- what the provider sends, not what is written

PRIVATE_ENDPOINT = """
resource "azurerm_private_endpoint" "pe" {
  name      = "pe"
  subnet_id = "/subscriptions/0/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
  private_service_connection {
    name                           = "c"
    private_connection_resource_id = %s.id
    subresource_names              = ["sites"]
    is_manual_connection           = false
  }
}
"""


@pytest.mark.parametrize(
    "resource_type",
    [
        "azurerm_linux_web_app",
        "azurerm_windows_web_app",
        "azurerm_linux_function_app",
        "azurerm_windows_function_app",
        "azurerm_function_app_flex_consumption",
        "azurerm_logic_app_standard",
    ],
)
def test_unset_public_network_access_is_the_enabled_that_the_provider_sends(
    resource_type: str,
) -> None:
    """public_network_access_enabled defaults to true (the Logic App's public_network_access
    to "Enabled") and the provider always sends it: a private endpoint beside the app does not
    turn public access off, and the rules decide (as the plan of the same file says)."""
    text = (
        f"""
resource "{resource_type}" "app" {{
  name = "contoso-app"
  site_config {{
    ip_restriction {{
      name       = "office"
      priority   = 100
      ip_address = "198.51.100.0/24"
    }}
  }}
}}
"""
        + PRIVATE_ENDPOINT % f"{resource_type}.app"
    )
    site = acl.loads(text, format="terraform", source="main.tf")
    assert site.has_private_endpoint and site.public_network_access == "Enabled"
    assert decide(site, "198.51.100.7") == ("Allow", "office")
    written = acl.loads(
        text.replace(
            'name = "contoso-app"', 'name = "contoso-app"\n  public_network_access_enabled = false'
        )
        if resource_type != "azurerm_logic_app_standard"
        else text.replace(
            'name = "contoso-app"', 'name = "contoso-app"\n  public_network_access = "Disabled"'
        ),
        format="terraform",
        source="main.tf",
    )
    assert written.public_network_access == "Disabled"
    assert decide(written, "198.51.100.7")[0] == "Deny"


@pytest.mark.parametrize(
    ("resource_type", "version", "expected"),
    [
        ("azurerm_linux_web_app", "3.64", "Enabled"),
        ("azurerm_linux_web_app", "3.63", None),  # the attribute came in 3.64
        ("azurerm_windows_web_app_slot", None, "Enabled"),
        ("azurerm_linux_function_app_slot", "3.64", "Enabled"),
        ("azurerm_app_service", None, None),  # the legacy resources have no such attribute
        ("azurerm_logic_app_standard", "4.12", "Enabled"),
        ("azurerm_logic_app_standard", "3.86", "Enabled"),  # site_config's, the block is there
        ("azurerm_logic_app_standard", "3.85", None),
    ],
)
def test_the_public_access_default_follows_the_azurerm_version(
    resource_type: str, version: str | None, expected: str | None
) -> None:
    text = f"""
resource "{resource_type}" "app" {{
  site_config {{
    ip_restriction {{
      ip_address = "198.51.100.0/24"
    }}
  }}
}}
"""
    options = {"azurerm_version": version} if version else {}
    site = acl.loads(text, format="terraform", **options)
    assert site.public_network_access == expected


def test_a_logic_app_before_4_12_without_site_config_sends_no_public_access() -> None:
    site = acl.loads(
        'resource "azurerm_logic_app_standard" "app" {\n  name = "a"\n}\n',
        format="terraform",
        azurerm_version="4.11",
    )
    assert site.public_network_access is None


LEGACY_ANY = """
resource "%s" "app" {
  name = "legacy-app"
  site_config {
    ip_restriction {
      name       = "office"
      ip_address = "198.51.100.0/24"
      priority   = 100
    }
    ip_restriction {
      name       = "everyone"
      ip_address = "Any"
      action     = "%s"
      priority   = 50
    }
  }
}
"""


@pytest.mark.parametrize(
    ("resource_type", "version"),
    [
        ("azurerm_app_service", None),
        ("azurerm_app_service_slot", None),
        ("azurerm_function_app", "3.117"),
        ("azurerm_logic_app_standard", "4.39"),
    ],
)
@pytest.mark.parametrize("action", ["Allow", "Deny"])
def test_an_any_rule_of_the_older_resources_is_never_sent(
    resource_type: str, version: str | None, action: str
) -> None:
    """expandAppServiceIpRestriction skips every rule whose ip_address is "Any": it neither
    allows everyone (an Allow) nor blocks the office (a Deny at a lower priority number)."""
    said: list[str] = []
    options = {"azurerm_version": version} if version else {}
    site = acl.loads(
        LEGACY_ANY % (resource_type, action),
        format="terraform",
        source="main.tf",
        on_warning=said.append,
        **options,
    )
    assert [rule.name for rule in site.main_rules] == ["office"]
    assert decide(site, "198.51.100.7") == ("Allow", "office")
    assert decide(site, "192.0.2.1") == ("Deny", None)  # no default action: the implicit Deny
    assert len(said) == 1 and "main.tf:10" in said[0] and "'everyone'" in said[0]
    assert 'ip_address = "Any" is left out' in said[0]


def test_an_any_rule_of_a_current_logic_app_is_refused() -> None:
    """From azurerm 4.40 the Logic App validates ip_address as IPs and CIDRs: Any is an error."""
    with pytest.raises(acl.ConfigError, match=r"main\.tf:\d+: .*ip_address 'Any' is not valid"):
        acl.loads(
            LEGACY_ANY % ("azurerm_logic_app_standard", "Deny"),
            format="terraform",
            source="main.tf",
        )


def test_the_older_resources_send_the_service_tag_in_place_of_the_address() -> None:
    said: list[str] = []
    site = acl.loads(
        """
resource "azurerm_app_service" "app" {
  site_config {
    ip_restriction {
      ip_address  = "198.51.100.0/24"
      service_tag = "AzureFrontDoor.Backend"
    }
  }
}
""",
        format="terraform",
        on_warning=said.append,
    )
    (rule,) = site.main_rules
    assert rule.tag == "ServiceTag" and rule.ip_address == "AzureFrontDoor.Backend"
    assert len(said) == 1 and "is not sent" in said[0]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            'ip_address = "198.51.100.0/24"\n      service_tag = "AzureFrontDoor.Backend"\n'
            '      virtual_network_subnet_id = "/subscriptions/0/resourceGroups/r/providers/'
            'Microsoft.Network/virtualNetworks/v/subnets/s"',
            "only one of `ip_address`, `service_tag` or `virtual_network_subnet_id` can be set",
        ),
        (
            'ip_address = "198.51.100.0/24"\n      virtual_network_subnet_id = "/subscriptions/0/'
            'resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/s"',
            "virtual_network_subnet_id and ip_address are both set",
        ),
        (
            'name = "x"',
            "one of `ip_address`, `service_tag` or `virtual_network_subnet_id` must be set",
        ),
    ],
)
def test_the_older_resources_refuse_what_their_expand_refuses(rule: str, message: str) -> None:
    text = 'resource "azurerm_app_service" "app" {\n  site_config {\n    ip_restriction {\n      '
    with pytest.raises(acl.ConfigError, match=r"main\.tf:3: .*" + re.escape(message)):
        acl.loads(text + rule + "\n    }\n  }\n}\n", format="terraform", source="main.tf")

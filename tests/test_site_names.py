"""``acl.formats.site_names`` and ``load_all``: the sites of a file, from one read of it.

Each multi-site loader's names are the names its "choose one with --site" refusal lists,
and each name loads the site ``load_all`` gives for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import acl
from acl.formats import (
    SITE_NAMES,
    LoadOptions,
    load,
    load_all,
    loads,
    loads_all,
    site_names,
    text_site_names,
)
from acl.formats.many import load_sites
from acl.serialize import site_to_dict

from .conftest import EXAMPLES

DATA = Path(__file__).parent / "data"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def listed(error: acl.ConfigError) -> list[str]:
    """The names a "choose one with --site" refusal lists."""
    match = re.search(r"choose one with --site \S+ \(one of: (.*)\)$", error.message)
    assert match is not None, error.message
    return match.group(1).split(", ")


def refusal(text: str, **options: Any) -> list[str]:
    with pytest.raises(acl.ConfigError, match="choose one with --site") as info:
        loads(text, **options)
    return listed(info.value)


def same_sites(text: str, **options: Any) -> tuple[str, ...]:
    """The text's site names, after checking that ``loads_all`` gives, for each, the site
    ``loads(site=name)`` gives."""
    names = text_site_names(text, **options)
    every = loads_all(text, **options)
    assert [name for name, _ in every] == list(names)
    for name, site in every:
        assert site_to_dict(site) == site_to_dict(loads(text, site=name, **options))
    return names


RULE = {"name": "r", "priority": 1, "ipAddress": "192.0.2.1"}


def template(*resources: dict[str, Any]) -> str:
    return json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources})


def web(kind: str, name: str, ip: str = "192.0.2.1") -> dict[str, Any]:
    return {
        "type": kind,
        "apiVersion": "2022-03-01",
        "name": name,
        "properties": {"siteConfig": {"ipSecurityRestrictions": [{**RULE, "ipAddress": ip}]}},
    }


def test_template_with_slots_names_every_site_and_slot() -> None:
    text = template(
        web("Microsoft.Web/sites", "shop"),
        web("Microsoft.Web/sites/slots", "shop/staging", "192.0.2.2"),
        web("Microsoft.Web/sites", "api", "192.0.2.3"),
    )
    names = same_sites(text)
    assert names == ("api", "shop", "shop/staging")
    assert list(names) == refusal(text)
    every = dict(loads_all(text))
    assert str(every["shop/staging"].main_rules[0].ip_address) == "192.0.2.2"


def test_template_copy_loop_is_one_name_per_copy() -> None:
    copied = {
        **web("Microsoft.Web/sites", "[concat('app-', copyIndex())]"),
        "copy": {"name": "apps", "count": 3},
    }
    text = template(copied)
    assert same_sites(text) == ("app-0", "app-1", "app-2") == tuple(refusal(text))


def test_template_of_one_site_is_one_name() -> None:
    text = template(web("Microsoft.Web/sites", "shop"))
    assert same_sites(text) == ("shop",)


TERRAFORM = """
resource "azurerm_linux_web_app" "api" {
  for_each = toset(["eu", "us"])
  name     = "api-${each.key}"
  site_config {
    ip_restriction {
      name       = "office-${each.key}"
      priority   = 100
      ip_address = "198.51.100.0/24"
    }
  }
}
"""

OTHER = """
resource "azurerm_windows_web_app" "admin" {
  name = "admin"
  site_config {
    ip_restriction {
      name       = "vpn"
      priority   = 100
      ip_address = "10.0.0.0/8"
    }
  }
}

resource "azurerm_linux_web_app" "off" {
  count = 0
  name  = "off"
  site_config {}
}
"""


def test_terraform_for_each_names_each_instance() -> None:
    names = same_sites(TERRAFORM, format="terraform")
    assert names == ('azurerm_linux_web_app.api["eu"]', 'azurerm_linux_web_app.api["us"]')
    assert list(names) == refusal(TERRAFORM, format="terraform")


def test_terraform_names_are_the_instances_of_each_web_app_and_skip_count_zero() -> None:
    text = TERRAFORM + OTHER
    names = same_sites(text, format="terraform")
    # the refusal lists the web apps; the one with instances lists them when it is chosen
    assert refusal(text, format="terraform") == [
        "azurerm_linux_web_app.api",
        "azurerm_windows_web_app.admin",
        "azurerm_linux_web_app.off",
    ]
    assert list(names) == [
        *refusal(text, format="terraform", site="azurerm_linux_web_app.api"),
        "azurerm_windows_web_app.admin",
    ]
    with pytest.raises(acl.ConfigError, match="off has no instances"):
        loads(text, format="terraform", site="azurerm_linux_web_app.off")


def test_terraform_folder_and_show() -> None:
    folder = DATA / "terraform" / "multi"
    names = site_names(folder)
    assert len(names) == 6 and 'azurerm_linux_function_app.jobs["eu"]' in names
    assert [name for name, _ in load_all(folder)] == list(names)
    state = DATA / "terraform" / "state.json"
    with pytest.raises(acl.ConfigError) as info:
        load(state)
    assert list(site_names(state)) == listed(info.value)
    assert site_names(state) == (
        "azurerm_linux_web_app.shop",
        "module.api.azurerm_windows_web_app.this",
    )
    for name, site in load_all(state):
        assert site_to_dict(site) == site_to_dict(load(state, site=name))


AZ = "az webapp config access-restriction add -g rg -n {app} {slot}--rule-name r -p {p} --ip-address 192.0.2.{p}\n"
PS = (
    "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName {app} -Name r "
    "-Priority {p} -Action Allow -IpAddress 192.0.2.{p}/32\n"
)


def test_azcli_script_with_two_apps_and_a_slot() -> None:
    text = (
        AZ.format(app="shop", slot="", p=1)
        + AZ.format(app="api", slot="", p=2)
        + AZ.format(app="shop", slot="--slot staging ", p=3)
        + AZ.format(app="shop", slot="", p=4)
    )
    names = same_sites(text, format="azcli")
    assert list(names) == refusal(text, format="azcli")
    assert len(names) == 3 and names[:2] == ("shop", "api")
    assert len(dict(loads_all(text, format="azcli"))["shop"].main_rules) == 2


def test_powershell_script_with_two_apps() -> None:
    text = PS.format(app="shop", p=1) + PS.format(app="api", p=2)
    names = same_sites(text)  # sniffed
    assert names == ("shop", "api") == tuple(refusal(text))


def test_formats_of_one_site_have_no_names(tmp_path: Path) -> None:
    site = EXAMPLES / "frontdoor-site" / "site.json"
    assert site_names(site) == ()
    [(name, loaded)] = load_all(site)
    assert name is None and site_to_dict(loaded) == site_to_dict(load(site))
    assert text_site_names(json.dumps([RULE])) == ()
    # a script that changes no site leaves the base site, unnamed
    base = load(site)
    assert text_site_names("echo hi\n", format="azcli", base_site=base) == ()
    assert loads_all("echo hi\n", format="azcli", base_site=base) == [(None, base)]
    assert set(SITE_NAMES) == {"arm-template", "terraform", "terraform-show", "azcli", "powershell"}


def test_site_names_keep_the_loaders_errors_and_refuse_site() -> None:
    with pytest.raises(acl.ConfigError, match="no access restriction command in the script"):
        text_site_names("echo hi\n", format="azcli")
    with pytest.raises(acl.ConfigError, match=r"has no Microsoft\.Web/sites"):
        text_site_names(template())
    with pytest.raises(TypeError, match="give no site="):
        site_names(EXAMPLES / "frontdoor-site" / "site.json", site="x")
    with pytest.raises(TypeError, match="give no site="):
        loads_all(template(), options=LoadOptions(site="x"))
    with pytest.raises(acl.ConfigError, match="hosting 'nope' is not valid"):
        text_site_names(template(web("Microsoft.Web/sites", "a")), hosting="nope")


def test_load_sites_reads_a_template_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import acl.formats.template as arm

    text = template(*(web("Microsoft.Web/sites", f"app-{i}") for i in range(5)))
    calls: list[int] = []
    values = arm.parameter_values  # read once per scan of the template

    def counted(*args: Any) -> Any:
        calls.append(1)
        return values(*args)

    monkeypatch.setattr(arm, "parameter_values", counted)
    path = tmp_path / "template.json"
    path.write_text(text)
    assert [s.name for s in load_sites(path)] == [f"app-{i}" for i in range(5)]
    assert len(calls) == 1


def test_load_sites_reads_a_terraform_configuration_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import acl.formats.terraform.loader as tf

    (tmp_path / "main.tf").write_text(TERRAFORM + OTHER)
    calls: list[int] = []
    build = tf.build_module

    def counted(*args: Any) -> Any:
        calls.append(1)
        return build(*args)

    monkeypatch.setattr(tf, "build_module", counted)
    loaded = load_sites(tmp_path)
    assert [s.name for s in loaded] == [
        'azurerm_linux_web_app.api["eu"]',
        'azurerm_linux_web_app.api["us"]',
        "azurerm_windows_web_app.admin",
    ]
    assert len(calls) == 1


def test_each_site_of_load_all_has_the_steps_of_one_load(monkeypatch: pytest.MonkeyPatch) -> None:
    import acl.formats._limits as limits

    folder = DATA / "terraform" / "multi"
    names = site_names(folder)
    # every site loads alone within this limit, though all of them together take more steps
    monkeypatch.setattr(limits, "MAX_STEPS", 60)
    for name in names:
        load(folder, site=name)
    assert [name for name, _ in load_all(folder)] == list(names)
    monkeypatch.setattr(limits, "MAX_STEPS", 20)
    with pytest.raises(acl.ConfigError, match="more than 20 evaluation steps"):
        load_all(folder)

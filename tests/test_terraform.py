"""Terraform (azurerm) configurations and `terraform show -json` output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import acl
from acl.formats import ConfigWarning, LoadOptions, sniff, sniff_path, sniff_text
from acl.formats.terraform import load_terraform, parse_azurerm_version
from acl.formats.terraform.evaluator import Evaluator
from acl.formats.terraform.hcl2_adapter import parse_hcl
from acl.formats.terraform.hcl_errors import EvalError, NeedsPlan
from acl.formats.terraform.syntax import HclFile, attributes

DATA = Path(__file__).parent / "data" / "terraform"
SHOP = DATA / "shop"
FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"


def decide(site: acl.Site, ip: str, **kw: Any) -> tuple[str, str | None]:
    decision = acl.evaluate(site, acl.Request(ip, **kw))
    return decision.action.value, decision.rule.name if decision.rule else None


def hcl(text: str, **kw: Any) -> acl.Site:
    return acl.loads(text, format="terraform", source="main.tf", **kw)


def app(site_config: str, kind: str = "azurerm_linux_web_app", extra: str = "") -> str:
    return f'resource "{kind}" "app" {{\n{extra}  site_config {{\n{site_config}\n  }}\n}}\n'


# ---------------------------------------------------------------------------- a real module


@pytest.fixture(scope="module")
def shop() -> acl.Site:
    return acl.load(SHOP)


def test_folder_is_read_as_one_module(shop: acl.Site) -> None:
    assert shop.name == "azurerm_linux_web_app.shop"
    assert [r.name for r in shop.main_rules] == [
        "front-door",
        "block-scanner",
        "office",
        "guest-wifi",
        "partner",
    ]
    # terraform.tfvars and *.auto.tfvars are read; object defaults and string priorities
    assert [(r.name, r.priority) for r in shop.scm_rules] == [("agents-a", 300), ("agents-b", 310)]
    assert shop.source == str(SHOP / "main.tf")


def test_provider_defaults(shop: acl.Site) -> None:
    partner = shop.main_rules[4]
    assert partner.priority == 65000 and partner.action is acl.Action.ALLOW
    assert shop.main_rules[1].priority == 50  # written "50"
    # azurerm 3.95+: ip_restriction_default_action defaults to Allow, so no implicit Deny
    assert shop.main_default is acl.Action.ALLOW
    assert decide(shop, "8.8.8.8") == ("Allow", None)
    assert shop.scm_default is acl.Action.DENY
    assert decide(shop, "8.8.8.8", host="x.scm.azurewebsites.net") == ("Deny", None)


def test_ties_keep_the_written_order(shop: acl.Site) -> None:
    # office (Allow) and guest-wifi (Deny) both have priority 200; office is written first
    assert decide(shop, "198.51.100.200") == ("Allow", "office")
    assert decide(shop, "203.0.113.66") == ("Deny", "block-scanner")


def test_header_blocks_and_empty_lists(shop: acl.Site) -> None:
    front_door = shop.main_rules[0]
    assert [(h.name, h.values) for h in front_door.headers] == [("X-Azure-FDID", (FDID,))]
    fd_ip = "147.243.1.2"
    assert decide(shop, fd_ip, headers={"X-Azure-FDID": FDID}) == ("Allow", "front-door")


def test_origins_carry_file_and_line(shop: acl.Site) -> None:
    origin = shop.main_rules[3].origin
    assert origin is not None
    assert origin.file == str(SHOP / "main.tf") and origin.line == 74
    assert origin.path == "azurerm_linux_web_app.shop.site_config.ip_restriction[3]"
    agents = shop.scm_rules[1].origin
    assert agents is not None and agents.line == 91  # the dynamic block's content


def test_older_azurerm_sends_no_default_action() -> None:
    text = app('    ip_restriction {\n      ip_address = "198.51.100.0/24"\n    }')
    old = hcl(text, azurerm_version="3.94.0")
    assert old.main_default is None and old.scm_default is None
    assert decide(old, "8.8.8.8") == ("Deny", None)  # the implicit Deny is back
    new = hcl(text, azurerm_version="4.10")
    assert new.main_default is acl.Action.ALLOW and new.scm_default is acl.Action.ALLOW
    with pytest.raises(acl.ConfigError, match=r"main\.tf:3: .*needs azurerm 3\.95 or later"):
        hcl(app('    ip_restriction_default_action = "Deny"'), azurerm_version="3.90")


def test_var_and_var_file_apply_in_command_line_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As with Terraform, a later -var or -var-file wins over an earlier one."""
    from acl.cli import main

    for item in SHOP.iterdir():
        (tmp_path / item.name).write_text(item.read_text())
    (tmp_path / "prod.tfvars").write_text('office_ranges = ["192.0.2.0/24"]\n')
    ranges = 'office_ranges=["203.0.113.0/24"]'
    base = ["eval", "--rules", str(tmp_path), "--ip", "192.0.2.7", "--json"]
    prod = ["--var-file", str(tmp_path / "prod.tfvars")]

    def office_rule(*args: str) -> bool:
        """Whether a rule (the office range) decides 192.0.2.7, not the default action."""
        assert main([*base, *args]) == 0
        return json.loads(capsys.readouterr().out)["rule"] is not None

    assert office_rule(*prod)
    assert office_rule("--var", ranges, *prod)  # the file came last: it wins
    assert not office_rule(*prod, "--var", ranges)  # the --var came last: it wins
    site = acl.load(
        tmp_path, var_order=[("var", ranges), ("var-file", str(tmp_path / "prod.tfvars"))]
    )
    assert site.main_rules[2].ip_address == "192.0.2.0/24"


def test_azurerm_version_parsing() -> None:
    assert parse_azurerm_version("3.95") == (3, 95)
    assert parse_azurerm_version("= 4.1.0") == (4, 1)
    with pytest.raises(acl.ConfigError, match=r"azurerm version '~> 3.0' is not valid"):
        parse_azurerm_version("~> 3.0")


def test_hidden_and_backup_files_are_not_read(tmp_path: Path) -> None:
    """As with Terraform: ``.x.tf``, ``main.tf~`` and ``#main.tf#`` are skipped."""
    for item in SHOP.iterdir():
        (tmp_path / item.name).write_text(item.read_text())
    broken = 'resource "azurerm_linux_web_app" "other" {\n  site_config {\n'  # unparsable
    for name in (".scratch.tf", "main.tf~", "#main.tf#", ".x.auto.tfvars"):
        (tmp_path / name).write_text(broken)
    site = acl.load(tmp_path)
    assert site.main_rules[2].ip_address == acl.load(SHOP).main_rules[2].ip_address
    (tmp_path / "extra.tf").write_text(broken)
    with pytest.raises(acl.ConfigError, match=r"extra\.tf"):
        acl.load(tmp_path)


def test_variables_precedence(tmp_path: Path) -> None:
    for item in SHOP.iterdir():
        (tmp_path / item.name).write_text(item.read_text())
    (tmp_path / "prod.tfvars").write_text(
        'environment = "prod"\noffice_ranges = ["192.0.2.0/24"]\n'
    )
    site = acl.load(tmp_path, var_files=[tmp_path / "prod.tfvars"])
    assert site.main_rules[2].ip_address == "192.0.2.0/24"
    site = acl.load(
        tmp_path,
        var_files=[tmp_path / "prod.tfvars"],
        variables={"office_ranges": '["203.0.113.0/24", "2001:db8::/32"]'},
    )
    assert site.main_rules[2].ip_address == "203.0.113.0/24,2001:db8::/32"
    with pytest.raises(acl.ConfigError, match=r"--var nope: variable 'nope' is not declared"):
        acl.load(tmp_path, variables={"nope": "1"})
    (tmp_path / "terraform.tfvars").write_text("")  # front_door_id has no value any more
    with pytest.raises(
        acl.ConfigError,
        match=r"var\.front_door_id: the variable has no default and no value; give --var front_door_id=VALUE",
    ):
        acl.load(tmp_path)
    site = acl.load(tmp_path, variables={"front_door_id": FDID})
    assert site.main_rules[0].headers[0].values == (FDID,)


def test_undeclared_values_in_tfvars_warn(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        app('    ip_restriction {\n      ip_address = "192.0.2.1/32"\n    }')
    )
    (tmp_path / "terraform.tfvars").write_text('unused = "x"\n')
    with pytest.warns(ConfigWarning, match="value for undeclared variable 'unused'"):
        acl.load(tmp_path)


# ---------------------------------------------------------------------------- several apps


def test_several_apps_need_site() -> None:
    with pytest.raises(acl.ConfigError) as caught:
        acl.load(DATA / "multi")
    message = str(caught.value)
    assert "has 4 web apps: choose one with --site ADDRESS" in message
    assert "azurerm_windows_web_app.api, azurerm_linux_function_app_slot.jobs_staging" in message


@pytest.mark.parametrize(
    ("site", "name", "rules"),
    [
        ("azurerm_windows_web_app.api", "azurerm_windows_web_app.api", ["internal"]),
        ("api", "azurerm_windows_web_app.api", ["internal"]),
        ("AZURERM_WINDOWS_WEB_APP.API", "azurerm_windows_web_app.api", ["internal"]),
        ("jobs_staging", "azurerm_linux_function_app_slot.jobs_staging", ["office"]),
        ("azurerm_linux_web_app.regional[1]", "azurerm_linux_web_app.regional[1]", ["region-1"]),
        (
            'azurerm_linux_function_app.jobs["us"]',
            'azurerm_linux_function_app.jobs["us"]',
            ["office-us"],
        ),
    ],
)
def test_site_selection(site: str, name: str, rules: list[str]) -> None:
    loaded = acl.load(DATA / "multi", site=site)
    assert loaded.name == name
    assert [r.name for r in loaded.main_rules] == rules


def test_count_and_for_each() -> None:
    regional = acl.load(DATA / "multi", site="azurerm_linux_web_app.regional[1]")
    assert regional.main_rules[0].ip_address == "10.1.1.0/24"
    assert regional.main_rules[0].priority == 101
    eu = acl.load(DATA / "multi", site='azurerm_linux_function_app.jobs["eu"]')
    assert eu.main_default is acl.Action.DENY
    with pytest.raises(
        acl.ConfigError,
        match=r"regional has 2 web apps.*regional\[0\], azurerm_linux_web_app\.regional\[1\]",
    ):
        acl.load(DATA / "multi", site="regional")


def test_attribute_syntax_blocks() -> None:
    site = acl.load(DATA / "multi", site="jobs_staging")
    assert site.main_rules[0].headers[0].name == "X-Forwarded-Host"


def test_unknown_site() -> None:
    with pytest.raises(acl.ConfigError, match="web app 'nope' is not in"):
        acl.load(DATA / "multi", site="nope")


# ---------------------------------------------------------------------------- unresolved values


def test_unresolved_is_an_error_naming_file_line_block_and_expression() -> None:
    with pytest.raises(acl.ConfigError) as caught:
        acl.load(DATA / "unresolved")
    error = caught.value
    assert error.origin is not None
    assert error.origin.file == str(DATA / "unresolved" / "main.tf")
    assert error.origin.line == 29
    assert (
        error.origin.path
        == "azurerm_linux_web_app.app.site_config.ip_restriction[1].virtual_network_subnet_id"
    )
    assert error.message.startswith("azurerm_subnet.app.id cannot be known offline")
    assert "--unresolved=skip-rule" in error.message


def test_unresolved_skip_rule_says_so() -> None:
    said: list[str] = []
    site = acl.load(DATA / "unresolved", unresolved="skip-rule", on_warning=said.append)
    assert [r.name for r in site.main_rules] == ["office"]
    assert len(said) == 3
    assert re.search(
        r"main\.tf:29: .*ip_restriction\[1\]: rule skipped .*azurerm_subnet\.app\.id", said[0]
    )
    assert "data.azurerm_subnet.jobs.id" in said[1] and "data sources" in said[1]
    assert "file(" in said[2] and "its rules are skipped" in said[2]


def test_skip_rule_through_python_warnings() -> None:
    with pytest.warns(ConfigWarning, match="skipped"):
        acl.load(DATA / "unresolved", unresolved="skip-rule")


@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ("timestamp()", "timestamp() is not evaluated"),
        ('"${path.module}/x"', "path.* values"),
        ('regex("[0-9]+", "a1")', "regex() is not evaluated"),
        ('replace("a", "/a/", "b")', "regular expression"),
    ],
)
def test_needs_plan_kinds(expression: str, needle: str) -> None:
    text = app(f"    ip_restriction {{\n      ip_address = {expression}\n    }}")
    with pytest.raises(acl.ConfigError, match=re.escape(needle)):
        hcl(text)


# ---------------------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("rule", "line", "message"),
    [
        (
            'priority = "high"\n      ip_address = "192.0.2.1/32"',
            4,
            "priority 'high' is not valid: a number is required",
        ),
        (
            'priority = 0\n      ip_address = "192.0.2.1/32"',
            4,
            "priority 0 is out of range: the azurerm provider expects 1 to 2147483647",
        ),
        (
            'action = "allow"\n      ip_address = "192.0.2.1/32"',
            4,
            "action 'allow' is not valid: the azurerm provider expects 'Allow' or 'Deny' (case-sensitive)",
        ),
        (
            'ip_address = "Any"',
            4,
            "ip_address 'Any' is not valid: the azurerm provider expects IP addresses or CIDRs",
        ),
        ('ip_address = "192.0.2.1/32, 192.0.2.2/32"', 4, "' 192.0.2.2/32' is not one"),
        (
            'ip_address = "192.0.2.1/32"\n      service_tag = "AzureFrontDoor.Backend"',
            3,
            "only one of `ip_address`, `service_tag`, or `virtual_network_subnet_id` can be specified",
        ),
        (
            'name = "x"',
            3,
            "one of `ip_address`, `service_tag`, or `virtual_network_subnet_id` must be specified",
        ),
        (
            'ip_address = "192.0.2.1/32"\n      headers {\n        x_azure_fdid = ["not-a-uuid"]\n      }',
            6,
            "x_azure_fdid value 'not-a-uuid' is not valid: the azurerm provider expects a UUID",
        ),
        (
            'ip_address = "192.0.2.1/32"\n      headers {\n        x_fd_health_probe = ["2"]\n      }',
            6,
            "x_fd_health_probe value '2' is not valid",
        ),
        (
            'ip_address = "192.0.2.1/32"\n      headers {\n        x_forwarded_for = ["192.0.2.9"]\n      }',
            6,
            "expects a CIDR (write 192.0.2.9/32",
        ),
    ],
)
def test_provider_validation_points_at_the_line(rule: str, line: int, message: str) -> None:
    text = app(f"    ip_restriction {{\n      {rule}\n    }}")
    with pytest.raises(acl.ConfigError) as caught:
        hcl(text)
    assert str(caught.value).startswith(f"main.tf:{line}: ")
    assert message in str(caught.value)


def test_rule_errors_are_worded_as_for_arm() -> None:
    text = app(
        '    ip_restriction {\n      name = "legacy"\n      ip_address = "010.1.1.1/32"\n    }'
    )
    with pytest.raises(acl.ConfigError) as caught:
        hcl(text)
    with pytest.raises(acl.ConfigError) as arm_error:
        acl.loads('[{"name": "legacy", "priority": 65000, "ipAddress": "010.1.1.1/32"}]')
    assert caught.value.message == arm_error.value.message
    assert str(caught.value) == (
        "main.tf:3: azurerm_linux_web_app.app.site_config.ip_restriction[0]: rule 'legacy' "
        f"(#0 in the file): {arm_error.value.message}"
    )


def test_service_tag_errors_name_the_line() -> None:
    text = app('    ip_restriction {\n      service_tag = "NoSuchTag"\n    }')
    with pytest.raises(
        acl.ServiceTagError, match=r"^main\.tf:3: .*service tag 'NoSuchTag' is unknown"
    ):
        hcl(text)


def test_hcl_syntax_error_has_line_and_column() -> None:
    with pytest.raises(acl.ConfigError) as caught:
        hcl('resource "azurerm_linux_web_app" "app" {\n  site_config {\n    x = \n  }\n}\n')
    assert caught.value.origin is not None
    assert (caught.value.origin.file, caught.value.origin.line) == ("main.tf", 3)
    assert caught.value.message.startswith("invalid HCL")


def test_no_web_app() -> None:
    with pytest.raises(acl.ConfigError, match=r"no web app or function app resource in main.tf"):
        hcl('resource "azurerm_resource_group" "rg" {\n  name = "x"\n}\n')


def test_legacy_resources() -> None:
    site = acl.load(DATA / "legacy" / "app_service.tf")
    assert site.main_default is None  # the legacy resources send no default action
    assert site.scm_use_main
    assert site.main_rules[1].vnet_subnet_resource_id is not None  # subnet_id, the 2.x name
    assert decide(site, "8.8.8.8", host="a.scm.azurewebsites.net") == ("Deny", None)
    text = app('    ip_restriction_default_action = "Allow"', kind="azurerm_app_service")
    with pytest.raises(
        acl.ConfigError,
        match="ip_restriction_default_action is not an argument of azurerm_app_service",
    ):
        hcl(text)


def test_public_network_access() -> None:
    text = app(
        '    ip_restriction {\n      ip_address = "192.0.2.1/32"\n    }',
        extra="  public_network_access_enabled = false\n",
    )
    site = hcl(text)
    assert site.public_network_access == "Disabled"
    assert decide(site, "192.0.2.1") == ("Deny", None)


def test_slots_and_function_apps_are_web_apps() -> None:
    for kind in (
        "azurerm_windows_web_app_slot",
        "azurerm_linux_function_app",
        "azurerm_windows_function_app_slot",
        "azurerm_function_app",
    ):
        site = hcl(app("    scm_use_main_ip_restriction = true", kind=kind))
        assert site.scm_use_main and site.name == f"{kind}.app"


def test_scm_blocks_and_dynamic_headers() -> None:
    text = app(
        """    scm_use_main_ip_restriction       = false
    scm_ip_restriction_default_action = "Deny"
    scm_ip_restriction {
      name       = "kudu"
      priority   = 10
      ip_address = "192.0.2.0/28"
      dynamic "headers" {
        for_each = ["deploy.contoso.com"]
        content {
          x_forwarded_host = [headers.value]
        }
      }
    }"""
    )
    site = hcl(text)
    (rule,) = site.scm_rules
    assert rule.headers[0].hosts == ("deploy.contoso.com",)
    assert decide(
        site, "192.0.2.3", host="a.scm.x", headers={"X-Forwarded-Host": "deploy.contoso.com"}
    ) == ("Allow", "kudu")
    assert decide(site, "192.0.2.3", host="a.scm.x") == ("Deny", None)


# ---------------------------------------------------------------------------- expressions


def evaluate(expression: str, **variables: Any) -> Any:
    file = HclFile("x.tf", f"v = {expression}\n", parse_hcl(f"v = {expression}\n"))
    body = file.body
    node, _ = attributes(body)["v"]
    evaluator = Evaluator(variables, frozenset(variables), {})
    return evaluator.evaluate(node, {}, file)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ('"a-${1 + 2}-${true}"', "a-3-true"),
        ('"$${literal} %%{x} \\"q\\" \\u00e9"', '${literal} %{x} "q" é'),
        ('[for ip in var.ips : "${ip}/32" if ip != ""]', ["1.2.3.4/32", "5.6.7.8/32"]),
        ("{for k, v in var.map : upper(k) => v}", {"A": 1, "B": 2}),
        ("var.ips[*]", ["1.2.3.4", "", "5.6.7.8"]),
        ("var.objs[*].cidr", ["10.0.0.0/8", "192.0.2.0/24"]),
        ('length(var.ips) > 2 ? "many" : "few"', "many"),
        ('cidrsubnet("10.0.0.0/16", 8, 2)', "10.0.2.0/24"),
        ('cidrhost("10.0.0.0/24", 5)', "10.0.0.5"),
        ('format("%s/%d", "10.0.0.0", 8)', "10.0.0.0/8"),
        ('join(",", compact(var.ips))', "1.2.3.4,5.6.7.8"),
        ('toset(["b", "a", "b"])', ["a", "b"]),
        ('lookup(var.map, "c", 9)', 9),
        ("merge(var.map, {c = 3})", {"a": 1, "b": 2, "c": 3}),
        ("concat([1], [2, 3])", [1, 2, 3]),
        ("flatten([[1], [2, [3]]])", [1, 2, 3]),
        ('try(var.map.z, "fallback")', "fallback"),
        ("-5 % 3 + 10 / 4", 0.5),
        ('jsondecode("{\\"a\\": [1]}")', {"a": [1]}),
        ("<<EOT\n  hello\nEOT", "  hello\n"),
        ("<<-EOT\n    a\n      b\n    EOT", "a\n  b\n"),
        # template directives and strip markers (HCL spec, "Template Directives")
        ('"a %{ if length(var.ips) > 2 }many%{ else }few%{ endif }"', "a many"),
        ('"%{ if var.map.a == 2 }two%{ endif }."', "."),
        ('"%{ for ip in compact(var.ips) }${ip},%{ endfor }"', "1.2.3.4,5.6.7.8,"),
        ('"%{ for k, v in var.map }${k}=${v} %{ endfor }"', "a=1 b=2 "),
        ('"%{ for i, ip in var.ips }${i}%{ endfor }"', "012"),
        ('"x   ${~ var.map.a ~}   y"', "x1y"),
        ('"x   %{~ if true ~}   y   %{~ endif ~}   z"', "xyz"),
        ('"x ${~ var.map.a} y"', "x1 y"),
        ('"$${a} %%{ if }"', "${a} %{ if }"),
        ('"${var.ips}"', ["1.2.3.4", "", "5.6.7.8"]),  # one interpolation: its value
        ('"${~ var.map ~}"', {"a": 1, "b": 2}),
        (
            "<<EOT\n%{ for ip in var.ips ~}\nallow ${ip}\n%{ endfor ~}\nEOT",
            "allow 1.2.3.4\nallow \nallow 5.6.7.8\n",
        ),
        # HCL strips before it flushes: a line after a stripped newline keeps its indent
        (
            "<<-EOT\n    %{ for o in var.objs ~}\n    - ${o.cidr}\n    %{ endfor ~}\n    EOT",
            "    - 10.0.0.0/8\n    - 192.0.2.0/24\n",
        ),
        (
            "<<-EOT\n    %{ for o in var.objs }\n    - ${o.cidr}\n    %{ endfor }\n    EOT",
            "\n- 10.0.0.0/8\n\n- 192.0.2.0/24\n\n",
        ),
        ("<<EOT\nhello ${var.map.a}\n$${x} %%{y}\nEOT", "hello 1\n${x} %{y}\n"),
        # only the literal next to a marker is trimmed: in heredocs, one line
        ("<<EOT\n${var.map.a ~}\n\n  z\nEOT", "1\n  z\n"),
    ],
)
def test_expressions(expression: str, value: Any) -> None:
    variables = {
        "ips": ["1.2.3.4", "", "5.6.7.8"],
        "map": {"a": 1, "b": 2},
        "objs": [{"cidr": "10.0.0.0/8"}, {"cidr": "192.0.2.0/24"}],
    }
    assert evaluate(expression, **variables) == value


@pytest.mark.parametrize(
    ("expression", "message", "line"),
    [
        ('"%{ if true }a"', "the %{if} of line 1 has no %{endif}", 1),
        ('"a%{ endfor }"', "unexpected %{endfor}", 1),
        ('"%{ for x in [1] }a%{ else }b%{ endfor }"', "unexpected %{else}", 1),
        ("<<EOT\nok\n%{ if null }x%{ endif }\nEOT", "the %{if} condition is null", 3),
        ("<<EOT\nok\n%{ fi true }x\nEOT", "%{fi} is not a directive", 3),
        ('"%{ for x in null }${x}%{ endfor }"', "%{for} over a null value", 1),
        ('"a${var.ips}"', "list value", 1),
    ],
)
def test_template_errors(expression: str, message: str, line: int) -> None:
    with pytest.raises(EvalError) as caught:
        evaluate(expression, ips=["a"])
    assert message in caught.value.message
    assert caught.value.line == line


def test_templates_with_unknown_values_need_a_plan() -> None:
    with pytest.raises(NeedsPlan) as caught:
        evaluate("<<EOT\nallow\n%{ for s in azurerm_subnet.a[*].id }${s}%{ endfor }\nEOT")
    assert caught.value.expression == "azurerm_subnet.a[*].id"
    assert caught.value.line == 3
    text = app(
        '    ip_restriction {\n      ip_address = "%{ if data.x.on }10.0.0.0/8%{ endif }"\n    }'
    )
    with pytest.raises(
        acl.ConfigError, match=r"^main\.tf:4: .*data\.x\.on cannot be known offline"
    ):
        hcl(text)


def test_directives_in_a_real_configuration() -> None:
    text = """variable "offices" {
  type    = map(string)
  default = { paris = "198.51.100.0/24", oslo = "203.0.113.0/24" }
}
variable "strict" {
  default = true
}
locals {
  office_lines = <<-EOT
    %{ for name, cidr in var.offices ~}
    ${cidr}
    %{ endfor ~}
  EOT
}
""" + app(
        """    ip_restriction {
      name       = "offices-${~ length(var.offices) ~}"
      ip_address = join(",", compact([for l in split("\n", local.office_lines) : trimspace(l)]))
      action     = "%{ if var.strict }Allow%{ else }Deny%{ endif }"
    }"""
    )
    site = hcl(text)
    (rule,) = site.main_rules
    assert (rule.name, rule.ip_address) == ("offices-2", "203.0.113.0/24,198.51.100.0/24")


def test_locals_refer_to_each_other_but_not_to_themselves() -> None:
    text = """locals {
  base = "198.51.100"
  cidr = "${local.base}.0/24"
  loop = local.loop
}
""" + app("    ip_restriction {\n      ip_address = local.cidr\n    }")
    assert hcl(text).main_rules[0].ip_address == "198.51.100.0/24"
    bad = text.replace("local.cidr\n", "local.loop\n")
    with pytest.raises(acl.ConfigError, match="local value 'loop' refers to itself"):
        hcl(bad)


def test_needs_plan_keeps_the_whole_reference() -> None:
    with pytest.raises(NeedsPlan) as caught:
        evaluate("azurerm_subnet.app[0].id")
    assert caught.value.expression == "azurerm_subnet.app[0].id"


# ---------------------------------------------------------------------------- terraform show -json


def test_plan_json_unknown_values() -> None:
    with pytest.raises(acl.ConfigError) as caught:
        acl.load(DATA / "plan.json")
    assert caught.value.origin is not None
    assert caught.value.origin.path == (
        "$.resource_changes[1].change.after.site_config[0].ip_restriction[1].virtual_network_subnet_id"
    )
    assert "(known after apply)" in caught.value.message
    said: list[str] = []
    site = acl.load(DATA / "plan.json", unresolved="skip-rule", on_warning=said.append)
    assert [r.name for r in site.main_rules] == ["front-door"]
    assert site.main_default is acl.Action.ALLOW and site.scm_default is acl.Action.DENY
    assert site.main_rules[0].headers[0].values == (FDID,)
    assert said and "rule skipped" in said[0]


def test_state_json_with_modules() -> None:
    with pytest.raises(
        acl.ConfigError, match=r"has 2 web apps.*module\.api\.azurerm_windows_web_app\.this"
    ):
        acl.load(DATA / "state.json")
    shop = acl.load(DATA / "state.json", site="shop")
    assert shop.public_network_access == "Disabled" and shop.scm_use_main
    assert [r.name for r in shop.main_rules] == ["office", "app-subnet"]
    api = acl.load(DATA / "state.json", site="module.api.azurerm_windows_web_app.this")
    assert api.main_default is None  # "" in the state: nothing was sent


def test_raw_tfstate() -> None:
    site = acl.load(DATA / "legacy.tfstate")
    assert site.name == "azurerm_app_service.legacy"
    assert [r.name for r in site.main_rules] == ["office"]


# ---------------------------------------------------------------------------- sniffing


def test_sniffing() -> None:
    assert sniff(json.loads((DATA / "plan.json").read_text())) == "terraform-show"
    assert sniff(json.loads((DATA / "legacy.tfstate").read_text())) == "terraform-show"
    assert sniff_path(SHOP) == "terraform"
    assert sniff_path(SHOP / "main.tf") == "terraform"
    assert sniff_text((SHOP / "main.tf").read_text()) == "terraform"
    site = acl.loads((DATA / "legacy" / "app_service.tf").read_text())
    assert site.name == "azurerm_app_service.legacy"


def test_tfvars_and_bicep_are_refused_with_advice(tmp_path: Path) -> None:
    with pytest.raises(acl.ConfigError, match=r"Terraform variables file.*--var-file"):
        acl.load(SHOP / "terraform.tfvars")
    bicep = tmp_path / "main.bicep"
    bicep.write_text("param x string\n")
    with pytest.raises(acl.ConfigError, match=r"az bicep build --file main\.bicep"):
        acl.load(bicep)


def test_a_folder_is_only_terraform() -> None:
    with pytest.raises(acl.ConfigError, match="is a folder"):
        acl.load(SHOP, format="rules")


def test_load_terraform_takes_text_or_path() -> None:
    options = LoadOptions(source="x.tf")
    text = app('    ip_restriction {\n      ip_address = "192.0.2.1/32"\n    }')
    assert load_terraform(text, options).main_rules[0].ip_address == "192.0.2.1/32"
    assert load_terraform(SHOP, LoadOptions()).name == "azurerm_linux_web_app.shop"

"""Every loader is bounded: values, work and nesting have limits, and hitting one is a
one-line error naming the file, the place, the construct and the limit.

The bombs below are small files whose values double at every step; without the limits each
would build a value of 2**28 characters (256 MiB) or more. Their size bounds the time the
tests take; the memory they may use is measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

import acl
from acl.cli import main
from acl.errors import quote
from acl.formats import _limits as limits
from acl.formats._limits import MAX_DEPTH, MAX_STEPS, MAX_VALUE_CHARS, MAX_VALUE_ITEMS

DOUBLINGS = 28
"""2**28 characters: what each bomb would build without the limits."""
PEAK_BOUND = 100 * 2**20
"""The memory a refused bomb may take while it is loaded (tracemalloc peak)."""
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def _template(ip_address: str, variables: dict[str, object] | None = None) -> dict[str, object]:
    return {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "variables": variables or {},
        "resources": [
            {
                "type": "Microsoft.Web/sites",
                "name": "app",
                "properties": {
                    "siteConfig": {
                        "ipSecurityRestrictions": [
                            {
                                "name": "r",
                                "priority": 100,
                                "action": "Allow",
                                "ipAddress": ip_address,
                            }
                        ]
                    }
                },
            }
        ],
    }


def arm_bomb() -> tuple[str, str]:
    variables: dict[str, object] = {"v0": "x"}
    for i in range(1, DOUBLINGS + 1):
        a = f"variables('v{i - 1}')"
        variables[f"v{i}"] = f"[concat({a}, {a})]" if i % 2 else f"[format('{{0}}{{1}}', {a}, {a})]"
    return "bomb.json", json.dumps(_template(f"[variables('v{DOUBLINGS}')]", variables))


def arm_array_bomb() -> tuple[str, str]:
    # arrays of references: tiny in memory, huge as text
    variables: dict[str, object] = {"v0": ["x"]}
    for i in range(1, DOUBLINGS + 1):
        variables[f"v{i}"] = [f"[variables('v{i - 1}')]", f"[variables('v{i - 1}')]"]
    return "bomb.json", json.dumps(
        _template(f"[format('{{0}}', variables('v{DOUBLINGS}'))]", variables)
    )


def terraform_bomb() -> tuple[str, str]:
    forms = [
        'join("", [local.a{p}, local.a{p}])',
        'format("%s%s", local.a{p}, local.a{p})',
        '"${{local.a{p}}}${{local.a{p}}}"',
        'join("", concat([local.a{p}], [local.a{p}]))',
    ]
    lines = ['  a0 = "x"']
    for i in range(1, DOUBLINGS + 1):
        lines.append(f"  a{i} = " + forms[i % len(forms)].format(p=i - 1))
    text = (
        "locals {\n" + "\n".join(lines) + "\n}\n"
        'resource "azurerm_linux_web_app" "app" {\n  name = "app"\n  site_config {\n'
        f'    ip_restriction {{\n      name = "r"\n      priority = 100\n'
        f"      ip_address = local.a{DOUBLINGS}\n    }}\n  }}\n}}\n"
    )
    return "main.tf", text


def azcli_bomb() -> tuple[str, str]:
    lines = ["A0=x"] + [f"A{i}=$A{i - 1}${{A{i - 1}}}" for i in range(1, DOUBLINGS + 1)]
    lines.append(
        "az webapp config access-restriction add -g rg -n app --rule-name r --priority 100 "
        f"--ip-address $A{DOUBLINGS}"
    )
    return "deploy.sh", "\n".join(lines) + "\n"


def powershell_bomb() -> tuple[str, str]:
    lines = ["$a0 = 'x'"] + [f'$a{i} = "$a{i - 1}$a{i - 1}"' for i in range(1, DOUBLINGS + 1)]
    lines.append(
        "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app -Name r "
        f"-Priority 100 -Action Allow -IpAddress $a{DOUBLINGS}"
    )
    return "deploy.ps1", "\n".join(lines) + "\n"


def powershell_array_bomb() -> tuple[str, str]:
    lines = ["$a0 = 'x'"] + [f"$a{i} = $a{i - 1}, $a{i - 1}" for i in range(1, DOUBLINGS + 1)]
    lines.append(
        "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app -Name r "
        f"-Priority 100 -Action Allow -IpAddress $a{DOUBLINGS}"
    )
    return "deploy.ps1", "\n".join(lines) + "\n"


BOMBS: dict[str, Callable[[], tuple[str, str]]] = {
    "arm": arm_bomb,
    "arm-arrays": arm_array_bomb,
    "terraform": terraform_bomb,
    "azcli": azcli_bomb,
    "powershell": powershell_bomb,
    "powershell-arrays": powershell_array_bomb,
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path) -> tuple[acl.ConfigError, int]:
    """The error loading ``path`` raises, and the tracemalloc peak while it loaded."""
    tracemalloc.start()
    try:
        with pytest.raises(acl.ConfigError) as caught:
            acl.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return caught.value, peak


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_doubling_bomb_is_refused_with_bounded_memory(tmp_path: Path, kind: str) -> None:
    name, text = BOMBS[kind]()
    assert len(text) < 4096
    path = _write(tmp_path, name, text)
    error, peak = _refused(path)
    message = str(error)
    assert peak < PEAK_BOUND, f"{kind}: {peak / 2**20:.0f} MiB"
    assert message.startswith(str(path)), message
    assert "\n" not in message and len(message) < 400, message
    assert f"{MAX_VALUE_CHARS:,} characters" in message or f"{MAX_VALUE_ITEMS:,}" in message


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_the_cli_refuses_a_bomb_in_one_line(tmp_path: Path, kind: str) -> None:
    name, text = BOMBS[kind]()
    path = _write(tmp_path, name, text)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "acl"), "eval", "--rules", str(path), "--ip", "1.2.3.4"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith(f"acl: error: {path}:"), lines[0]
    assert "Traceback" not in done.stderr and len(lines[0]) < 400


def test_a_bomb_error_names_the_line(tmp_path: Path) -> None:
    for name, text in (terraform_bomb(), azcli_bomb(), powershell_bomb()):
        error, _ = _refused(_write(tmp_path, name, text))
        assert error.origin is not None and error.origin.line is not None, str(error)
        assert 15 <= error.origin.line <= 25, str(error)  # 2**20 is passed on line 21 or so


def test_an_arm_bomb_error_names_the_variable() -> None:
    _, text = arm_bomb()
    with pytest.raises(acl.ConfigError) as caught:
        acl.loads(text)
    assert caught.value.origin is not None
    assert caught.value.origin.path == "$.variables.v21"
    assert "concat()" in str(caught.value)


# ---------------------------------------------------------------------------- work


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> int:
    """A smaller step budget, so that the tests of the budget are quick."""
    monkeypatch.setattr(limits, "MAX_STEPS", 50_000)
    return 50_000


def test_the_step_budget_is_a_million() -> None:
    assert MAX_STEPS == 1_000_000


def test_terraform_work_has_a_bound(small_budget: int) -> None:
    text = (
        "locals {\n  sizes = [for x in range(300) : length([for y in range(300) : y])]\n}\n"
        'resource "azurerm_linux_web_app" "app" {\n  name = "app"\n  site_config {\n'
        '    ip_restriction {\n      name = "r"\n      priority = length(local.sizes)\n'
        '      ip_address = "1.2.3.4/32"\n    }\n  }\n}\n'
    )
    with pytest.raises(acl.ConfigError, match=f"more than {small_budget:,} evaluation steps"):
        acl.loads(text, format="terraform", source="main.tf")


def test_script_loops_have_a_bound(small_budget: int) -> None:
    words = " ".join(str(n) for n in range(40))
    bash = (
        f"L='{words}'\nfor a in $L; do for b in $L; do for c in $L; do X=$a$b$c; done; done; done\n"
    )
    with pytest.raises(acl.ConfigError, match="evaluation steps") as caught:
        acl.loads(bash, format="azcli", source="deploy.sh")
    assert str(caught.value).startswith("deploy.sh:2:")
    items = ", ".join(str(n) for n in range(40))
    pwsh = (
        f"$l = {items}\n"
        "foreach ($a in $l) {\nforeach ($b in $l) {\nforeach ($c in $l) {\n$x = 'y'\n}\n}\n}\n"
    )
    with pytest.raises(acl.ConfigError, match="evaluation steps"):
        acl.loads(pwsh, format="powershell", source="deploy.ps1")


def test_distinct_of_a_long_list_is_charged_for_its_work(small_budget: int) -> None:
    text = (
        f"locals {{\n  l = distinct(range(1024))\n  m = distinct(concat({', '.join(['local.l'] * 60)}))\n}}\n"
        'resource "azurerm_linux_web_app" "app" {\n  name = "app"\n  site_config {\n'
        '    ip_restriction {\n      name = "r"\n      priority = length(local.m)\n'
        '      ip_address = "1.2.3.4/32"\n    }\n  }\n}\n'
    )
    with pytest.raises(acl.ConfigError, match="evaluation steps"):
        acl.loads(text, format="terraform", source="main.tf")


def test_parsing_a_long_template_expression_is_charged(small_budget: int) -> None:
    expression = "[concat(" + ",".join(["'a'"] * 20_000) + ")]"
    with pytest.raises(acl.ConfigError, match="evaluation steps") as caught:
        acl.loads(json.dumps(_template(expression)), source="t.json")
    assert len(str(caught.value)) < 500


def test_values_within_the_limits_still_load() -> None:
    variables: dict[str, object] = {"v0": "x"}
    for i in range(1, 16):
        variables[f"v{i}"] = f"[concat(variables('v{i - 1}'), variables('v{i - 1}'))]"
    document = _template("1.2.3.4/32", variables)
    text = json.dumps(document).replace(
        '"ipAddress": "1.2.3.4/32"',
        '"ipAddress": "1.2.3.4/32", "description": "[variables(\'v15\')]"',
    )
    site = acl.loads(text)
    assert site.main_rules[0].description == "x" * 2**15


# ---------------------------------------------------------------------------- nesting


def _deep_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def _web_app(ip_address: str, priority: str = "100", before: str = "") -> str:
    return (
        before + 'resource "azurerm_linux_web_app" "app" {\n  name = "app"\n  site_config {\n'
        f'    ip_restriction {{\n      name = "r"\n      priority = {priority}\n'
        f"      ip_address = {ip_address}\n    }}\n  }}\n}}\n"
    )


@pytest.mark.parametrize("depth", [MAX_DEPTH + 10, 5000])
def test_deeply_nested_rules_json_is_one_error(tmp_path: Path, depth: int) -> None:
    path = _write(tmp_path, "rules.json", _deep_list(depth))
    with pytest.raises(acl.ConfigError, match=f"{MAX_DEPTH} levels deep") as caught:
        acl.load(path)
    assert str(caught.value).startswith(str(path))
    assert main(["eval", "--rules", str(path), "--ip", "1.2.3.4"]) == 2


def test_deeply_nested_json_names_the_path() -> None:
    text = '{"ipSecurityRestrictions": ' + _deep_list(MAX_DEPTH + 5) + "}"
    with pytest.raises(acl.ConfigError) as caught:
        acl.loads(text, source="site.json")
    assert caught.value.origin is not None
    assert caught.value.origin.path is not None
    assert caught.value.origin.path.startswith("$.ipSecurityRestrictions[0][0]")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 10, 5000])
def test_nested_template_function_calls_are_one_error(depth: int) -> None:
    expression = "[" + "concat(" * depth + "'1.2.3.4/32'" + ")" * depth + "]"
    with pytest.raises(acl.ConfigError, match=f"nested more than {MAX_DEPTH} levels") as caught:
        acl.loads(json.dumps(_template(expression)), source="t.json")
    assert caught.value.origin is not None
    assert caught.value.origin.path == (
        "$.resources[0].properties.siteConfig.ipSecurityRestrictions[0].ipAddress"
    )
    assert len(str(caught.value)) < 400


def test_a_deep_parameters_file_is_one_error(tmp_path: Path) -> None:
    template = _template("[parameters('ip')]")
    template["parameters"] = {"ip": {"type": "string"}}
    parameters = _write(
        tmp_path, "p.json", '{"parameters": {"ip": {"value": ' + _deep_list(5000) + "}}}"
    )
    with pytest.raises(acl.ConfigError, match=f"{MAX_DEPTH} levels deep") as caught:
        acl.loads(json.dumps(template), parameters_file=parameters)
    assert str(parameters) in str(caught.value)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 10, 5000])
def test_deeply_nested_hcl_is_one_error(tmp_path: Path, depth: int) -> None:
    local = "locals {\n  a = " + "concat(" * depth + '["1.2.3.4/32"]' + ")" * depth + "\n}\n"
    path = _write(tmp_path, "main.tf", _web_app("local.a[0]", before=local))
    with pytest.raises(acl.ConfigError, match=f"nested more than {MAX_DEPTH} levels") as caught:
        acl.load(path)
    assert "main.tf:2" in str(caught.value)


def test_deeply_nested_tf_json_and_tfvars_json_are_one_error(tmp_path: Path) -> None:
    (tmp_path / "main.tf.json").write_text('{"locals": {"a": ' + _deep_list(5000) + "}}")
    with pytest.raises(acl.ConfigError, match=f"{MAX_DEPTH} levels deep"):
        acl.load(tmp_path / "main.tf.json")
    folder = tmp_path / "tfvars"
    folder.mkdir()
    (folder / "main.tf").write_text(_web_app("var.ip", before='variable "ip" {\n  type = any\n}\n'))
    (folder / "deep.tfvars.json").write_text('{"ip": ' + _deep_list(5000) + "}")
    with pytest.raises(acl.ConfigError, match=f"{MAX_DEPTH} levels deep") as caught:
        acl.load(folder, var_files=[folder / "deep.tfvars.json"])
    assert "deep.tfvars.json" in str(caught.value)


def test_a_deep_expectation_file_is_one_error(tmp_path: Path) -> None:
    from acl.expectations import run_file

    path = _write(tmp_path, "expect.json", _deep_list(5000))
    with pytest.raises(acl.ExpectationError, match="nested too deeply") as caught:
        run_file(path)
    assert str(path) in str(caught.value)


# ---------------------------------------------------------------------------- numbers


def _rules(**fields: object) -> str:
    rule: dict[str, object] = {
        "name": "big",
        "priority": 100,
        "action": "Allow",
        "ipAddress": "1.2.3.4/32",
    }
    rule.update(fields)
    return json.dumps([rule])


def test_a_5000_digit_priority_is_one_error(tmp_path: Path) -> None:
    text = _rules().replace('"priority": 100', '"priority": ' + "9" * 5000)
    path = _write(tmp_path, "rules.json", text)
    with pytest.raises(acl.ConfigError) as caught:
        acl.load(path)
    message = str(caught.value)
    assert "priority" in message and "int32" in message and "rule 'big'" in message
    assert caught.value.origin is not None and caught.value.origin.path == "$[0]"
    assert len(message) < 300
    assert main(["eval", "--rules", str(path), "--ip", "1.2.3.4"]) == 2


@pytest.mark.parametrize("field", ["vnetTrafficTag", "subnetTrafficTag"])
@pytest.mark.parametrize("value", [2**31, -(2**31) - 1])
def test_traffic_tags_are_int32(field: str, value: int) -> None:
    expected = f"{field} {value} is out of range: {field} must be an int32"
    with pytest.raises(acl.ConfigError, match=expected):
        acl.loads(_rules(**{field: value}))
    assert acl.loads(_rules(**{field: 2**31 - 1})).main_rules[0].priority == 100


def test_huge_priorities_in_terraform_and_scripts_are_one_error() -> None:
    digits = "9" * 5000
    cases = {
        "terraform": _web_app('"1.2.3.4/32"', priority=digits),
        # `set -e`: az fails on the priority, and the script stops there
        "azcli": (
            "set -e\naz webapp config access-restriction add -g rg -n app --rule-name r "
            f"--priority {digits} --ip-address 1.2.3.4/32\n"
        ),
        "powershell": (
            "$ErrorActionPreference = 'Stop'\n"
            "Add-AzWebAppAccessRestrictionRule -ResourceGroupName rg -WebAppName app -Name r "
            f"-Priority {digits} -Action Allow -IpAddress 1.2.3.4/32\n"
        ),
    }
    for format, text in cases.items():
        with pytest.raises(acl.ConfigError) as caught:
            acl.loads(text, format=format, source="f")
        message = str(caught.value)
        assert message.startswith("f:"), message
        assert len(message) < 400 and "5,000" in message, message
    with pytest.raises(acl.ConfigError, match="int32"):
        acl.loads(_web_app('"1.2.3.4/32"', priority="2147483648"), format="terraform", source="f")
    big_az = cases["azcli"].replace(digits, "2147483648")
    expected = "priority 2147483648 is out of range: priority must be an int32"
    with pytest.raises(acl.ConfigError, match=expected):
        acl.loads(big_az, format="azcli", source="f")


def test_numbers_in_hcl_arithmetic_have_a_bound() -> None:
    local = (
        "locals {\n  a0 = 100000000000\n"
        + "".join(f"  a{i} = local.a{i - 1} * local.a{i - 1}\n" for i in range(1, 12))
        + "}\n"
    )
    with pytest.raises(acl.ConfigError, match="the limit of one number is") as caught:
        acl.loads(_web_app('"1.2.3.4/32"', "local.a11", local), format="terraform", source="m.tf")
    assert len(str(caught.value)) < 400


# ---------------------------------------------------------------------------- quoting


def test_quote_cuts_values_short() -> None:
    assert quote("abc") == "'abc'"
    assert quote("x" * 5000) == repr("x" * 70) + "… (5,000 characters)"
    assert quote(10**5000).startswith("<a number of about 5,00")
    assert len(quote(list(range(100_000)))) < 200
    assert len(quote({"a": ["x" * 10_000] * 10})) < 200


def test_a_long_value_is_quoted_short_in_messages() -> None:
    cases = [
        _rules(ipAddress="x" * 1_000_000),
        _rules(ipAddress="300.1.2.3," * 100_000),
        _rules(action="A" * 1_000_000),
        _rules(name=["n"] * 1_000_000),
        _rules(headers={"X-Forwarded-Host": ["a b" * 100_000]}),
        json.dumps(_template("[bogus('" + "x" * 1_000_000 + "')]")),
    ]
    for text in cases:
        with pytest.raises(acl.ConfigError) as caught:
            acl.loads(text, source="r.json")
        assert len(str(caught.value)) < 500, str(caught.value)[:300]


def test_long_values_in_script_messages_are_cut_short() -> None:
    ip = "1" * 1_000_000
    with pytest.raises(acl.ConfigError) as caught:
        acl.loads(
            "set -e\naz webapp config access-restriction add -g rg -n app --rule-name r "
            f"--priority 1 --ip-address {ip}\n",
            format="azcli",
            source="deploy.sh",
        )
    assert len(str(caught.value)) < 1100
    with pytest.raises(acl.ConfigError) as caught:
        acl.loads(_web_app(f'"{ip}"'), format="terraform", source="main.tf")
    assert len(str(caught.value)) < 500


# ---------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--var-file", "/nonexistent/x.tfvars"],
            "--var-file /nonexistent/x.tfvars: the file does not exist",
        ),
        (
            ["--var", "a=1"],
            "--var (variables) is not read by the rules format, only by azcli, powershell, "
            "terraform",
        ),
        (
            ["--param", "a=1"],
            "--param (parameters) is not read by the rules format, only by arm-template",
        ),
        (
            ["--parameters", "/nonexistent/p.json"],
            "--parameters /nonexistent/p.json: the file does not exist",
        ),
        (
            ["--azurerm-version", "3.90"],
            "--azurerm-version (azurerm_version) is not read by the rules format",
        ),
        (["--subnet-id-template", "{vnet}"], "only by azcli, powershell"),
    ],
)
def test_an_option_the_format_does_not_read_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    path = _write(tmp_path, "rules.json", _rules())
    assert main(["eval", "--rules", str(path), "--ip", "1.2.3.4", *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.splitlines()) == 1, err


def test_options_a_format_does_not_read_are_errors_in_the_library(tmp_path: Path) -> None:
    path = _write(tmp_path, "rules.json", _rules())
    tfvars = _write(tmp_path, "x.tfvars", 'a = "b"\n')
    expected = r"--var-file \(var_files\) is not read by the rules format, only by terraform"
    with pytest.raises(acl.ConfigError, match=expected):
        acl.load(path, var_files=[tfvars])
    with pytest.raises(acl.ConfigError, match="only by arm-template"):
        acl.loads(_rules(), parameters={"a": "1"})
    with pytest.raises(acl.ConfigError, match="only by azcli, powershell, terraform"):
        acl.loads(_rules(), variables={"a": "1"})
    with pytest.raises(acl.ConfigError, match="only by terraform"):
        acl.loads("A=1\n", format="azcli", source="x.sh", var_files=[tfvars])


def test_options_the_format_reads_still_work() -> None:
    template = _template("[parameters('ip')]")
    template["parameters"] = {"ip": {"type": "string"}}
    site = acl.loads(json.dumps(template), parameters={"ip": "1.2.3.4/32"})
    assert site.main_rules[0].ip_address == "1.2.3.4/32"
    script = (
        "az webapp config access-restriction add -g rg -n app --rule-name r --priority 1 "
        "--ip-address $IP\n"
    )
    site = acl.loads(script, format="azcli", source="x.sh", variables={"IP": "1.2.3.4/32"})
    assert site.main_rules[0].ip_address == "1.2.3.4/32"

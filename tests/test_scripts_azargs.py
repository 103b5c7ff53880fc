"""az arguments are parsed as az parses them: argparse (knack's CLICommandParser), one parser
per command, unique prefixes of long options, ``--option=value``, ``nargs='+'`` options, and
argparse's errors as located load errors (never SystemExit, never argparse's own output)."""

from __future__ import annotations

from typing import Any

import pytest

import acl
from acl.formats.scripts import NotEvaluated

ADD = "az webapp config access-restriction add -g rg -n app"
RID = "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Web/sites/{}"


def az(text: str, **kw: Any) -> acl.Site:
    return acl.loads(text, format="azcli", source="deploy.sh", **kw)


def fails(text: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The message of a failing command under ``set -e``; argparse printed nothing."""
    with pytest.raises(acl.ConfigError) as caught:
        az("set -e\n" + text)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    message = str(caught.value)
    assert message.startswith("deploy.sh:2: "), message
    return message


def test_long_options_may_be_shortened_to_a_unique_prefix() -> None:
    site = az(f"{ADD} --prio 7 --ip-addr 192.0.2.7 --rule-n scanner --act deny\n")
    rule = site.main_rules[0]
    assert (rule.name, rule.priority, rule.action.value, rule.ip_address) == (
        "scanner",
        7,
        "Deny",
        "192.0.2.7/32",
    )


def test_equals_and_attached_short_values() -> None:
    site = az(f"{ADD} -p5 --ip-address=192.0.2.0/24 --description='a b'\n")
    rule = site.main_rules[0]
    assert (rule.priority, rule.ip_address, rule.description) == (5, "192.0.2.0/24", "a b")


def test_ids_take_every_word_and_repeated_values_keep_the_last() -> None:
    site = az(
        "az webapp config access-restriction add --ids "
        f"{RID.format('one')} {RID.format('two')} -p 1 -p 2 --ip-address 192.0.2.7\n",
        site="two",
    )
    assert [(r.priority, r.ip_address) for r in site.main_rules] == [(2, "192.0.2.7/32")]


def test_three_state_flags_take_only_true_or_false(capsys: pytest.CaptureFixture[str]) -> None:
    site = az(f"{ADD} -p 1 --ip-address 192.0.2.7 --scm-site TRUE\n")
    assert site.scm_rules and not site.main_rules
    site = az(f"{ADD} -p 1 --ip-address 192.0.2.7 --scm-site false\n")
    assert site.main_rules and not site.scm_rules
    message = fails(f"{ADD} -p 1 --ip-address 192.0.2.7 --scm-site yes\n", capsys)
    assert "argument --scm-site: invalid value 'yes': expected true or false" in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"{ADD} -p 1 --ip-address 192.0.2.7 --s x", "ambiguous option: --s could match"),
        (f"{ADD} -p 1 --ip-address 192.0.2.7 --frob", "unrecognized argument '--frob'"),
        (f"{ADD} -p 1 --ip-address 192.0.2.7 extra", "unrecognized argument 'extra'"),
        (f"{ADD} -p 1 --ip-address", "argument --ip-address: expected one argument"),
        ("az webapp config access-restriction frob -g rg -n app", "'frob' is not an az command"),
        (
            "az webapp config access-restriction show -g rg -n app --frob",
            "unrecognized argument '--frob'",
        ),
    ],
)
def test_argparse_errors_are_located_messages(
    line: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    message = fails(line + "\n", capsys)
    assert "az webapp config access-restriction" in message
    assert expected in message
    assert "stops the script here" in message


def test_a_failing_command_without_set_e_is_a_warning() -> None:
    said: list[str] = []
    site = az(
        f"{ADD} -p 1 --ip-address 192.0.2.7 --s x\n{ADD} -p 2 --ip-address 192.0.2.8\n",
        on_warning=said.append,
    )
    assert [r.priority for r in site.main_rules] == [2]
    assert len(said) == 1 and said[0].startswith("deploy.sh:1: ") and "ambiguous" in said[0]


def test_help_and_show_change_nothing() -> None:
    site = az(
        f"{ADD} -p 1 --ip-address 192.0.2.7\n"
        f"{ADD} --help\n"
        "az webapp config access-restriction show -g rg -n app -o table\n"
    )
    assert len(site.main_rules) == 1


def test_generic_updates_read_their_options_and_let_others_through() -> None:
    site = az(
        f"{ADD} -p 1 --ip-address 192.0.2.7\n"
        "az webapp update -g rg -n app --https-only true "
        "--set publicNetworkAccess=Disabled\n"
    )
    assert site.public_network_access == "Disabled"
    # az expands an abbreviation against options acl does not list: refused, not guessed
    with pytest.raises(NotEvaluated, match=r"deploy\.sh:2: .*'--se' is an abbreviation"):
        az(f"{ADD} -p 1 --ip-address 192.0.2.7\naz webapp update -g rg -n app --se x=1\n")
    with pytest.raises(NotEvaluated, match=r"'--generic' is an abbreviation"):
        az(
            f"{ADD} -p 1 --ip-address 192.0.2.7\n"
            "az webapp config set -g rg -n app --generic '{\"a\": 1}'\n"
        )

"""Bad input: every malformed value is an error naming the value, where it is, and the rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

import acl


def rule(**fields: Any) -> dict[str, Any]:
    return {
        "name": "bad-one",
        "priority": 100,
        "action": "Allow",
        "ipAddress": "192.0.2.0/24",
        **fields,
    }


CASES = [
    (rule(ipAddress="192.0.2.0/33"), "'192.0.2.0/33'", "invalid prefix length"),
    (rule(ipAddress="010.1.1.0/24"), "'010.1.1.0/24'", "leading zeros"),
    (rule(ipAddress="fe80::1%eth0"), "'fe80::1%eth0'", "zone"),
    (rule(ipAddress="1.2.3.4:80"), "'1.2.3.4:80'", "has a port"),
    (rule(ipAddress="192.0.2.0", subnetMask="255.0.255.0"), "'255.0.255.0'", "not contiguous"),
    (
        rule(ipAddress="192.0.2.0/24", subnetMask="255.255.255.0"),
        "'255.255.255.0'",
        "single bare IPv4",
    ),
    (
        rule(ipAddress="AzureFrontDoor.Backend"),
        "'AzureFrontDoor.Backend'",
        'set "tag": "ServiceTag"',
    ),
    (
        rule(ipAddress="NoSuchTag.Anywhere", tag="ServiceTag"),
        "'NoSuchTag.Anywhere'",
        "changeNumber 375",
    ),
    (rule(ipAddress="10.0.0.0/8", tag="ServiceTag"), "'10.0.0.0/8'", "remove the tag"),
    (
        rule(ipAddress="AzureFrontDoor.Backend", tag="ServiceTag", subnetMask="255.0.0.0"),
        "'255.0.0.0'",
        "service tags",
    ),
    (rule(tag="XffProxy"), "'XffProxy'", "does not guess"),
    (rule(tag="Magic"), "'Magic'", "expected 'Default' or 'ServiceTag'"),
    (
        rule(headers={"X-Client-IP": ["1.2.3.4"]}),
        "'X-Client-IP'",
        "X-Forwarded-For, X-Forwarded-Host, X-Azure-FDID, X-FD-HealthProbe",
    ),
    (rule(headers={"X-Forwarded-For": ["not-an-ip"]}), "'not-an-ip'", "CIDRs or addresses"),
    (rule(headers={"X-Forwarded-For": "1.2.3.4"}), "'1.2.3.4'", "list of strings"),
    (rule(headers={"x-azure-fdid": ["a"], "X-Azure-FDID": ["b"]}), "'X-Azure-FDID'", "given twice"),
    (rule(headers={"X-Forwarded-Host": ["bad host"]}), "'bad host'", "not a host name"),
    (rule(ipAddress="10.0.0.0/8,Any"), "'10.0.0.0/8,Any'", "more than one source kind"),
    (
        rule(vnetSubnetResourceId="/subscriptions/x/subnets/y"),
        "'/subscriptions/x/subnets/y'",
        "more than one source kind",
    ),
    (rule(ipAddress=None), "no source", "vnetSubnetResourceId"),
    (rule(ipAddress="10.0.0.0/8,,10.1.0.0/16"), "'10.0.0.0/8,,10.1.0.0/16'", "empty element"),
    (rule(priority=None), "priority is missing on 1 of the 2 rules", "or give none"),
    (rule(priority=2**31), "2147483648", "out of range"),
    (rule(priority="100"), "'100'", "expected an integer"),
    (rule(priority=True), "True", "expected an integer"),
    (rule(action="Block"), "'Block'", "expected 'Allow' or 'Deny'"),
    (rule(ipAddress=17), "17", "expected a string"),
    (rule(description=["x"]), "['x']", "expected a string"),
]


@pytest.mark.parametrize(
    ("bad", "value", "fragment"), CASES, ids=[f"{i}" for i in range(len(CASES))]
)
def test_bad_rules_name_value_path_and_rule(bad: dict[str, Any], value: str, fragment: str) -> None:
    good = rule(name="fine", ipAddress="198.51.100.0/24")
    doc = {"ipSecurityRestrictions": [good, bad]}
    with pytest.raises(acl.ConfigError) as info:
        acl.loads(json.dumps(doc), source="site.json")
    message = str(info.value)
    assert message.startswith(
        "site.json: $.ipSecurityRestrictions[1]: rule 'bad-one' (#1 in the file): "
    )
    assert value in message
    assert fragment in message
    assert "\n" not in message


def test_non_object_rule_and_list() -> None:
    with pytest.raises(
        acl.ConfigError, match=r"\$\.ipSecurityRestrictions\[0\].*expected an object"
    ):
        acl.loads('{"ipSecurityRestrictions": ["1.2.3.4"]}')
    with pytest.raises(acl.ConfigError, match="expected a list of rules"):
        acl.loads('{"ipSecurityRestrictions": {"a": 1}}')


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        (
            {"ipSecurityRestrictionsDefaultAction": "Maybe"},
            "ipSecurityRestrictionsDefaultAction 'Maybe'",
        ),
        ({"scmIpSecurityRestrictionsUseMain": "yes"}, "expected true or false"),
        ({"publicNetworkAccess": "Sometimes"}, "expected 'Enabled' or 'Disabled'"),
    ],
)
def test_bad_site_settings(doc: dict[str, Any], fragment: str) -> None:
    with pytest.raises(acl.ConfigError, match=fragment):
        acl.loads(json.dumps(doc))


def test_json_syntax_errors_have_line_and_column() -> None:
    with pytest.raises(acl.ConfigError) as info:
        acl.loads('{\n  "ipSecurityRestrictions": [\n    {"name": "x",}\n  ]\n}', source="s.json")
    assert str(info.value).startswith("s.json:3:")
    assert "invalid JSON" in str(info.value)


def test_a_site_loads_whole_or_not_at_all() -> None:
    doc = {
        "ipSecurityRestrictions": [rule(name="ok")],
        "scmIpSecurityRestrictions": [rule(ipAddress="1.2.3")],
    }
    with pytest.raises(acl.ConfigError, match=r"scmIpSecurityRestrictions\[0\]"):
        acl.loads(json.dumps(doc))


def test_synthetic_looking_rule_with_headers_stays_a_user_rule() -> None:
    doc = {
        "ipSecurityRestrictions": [
            {
                "ipAddress": "Any",
                "action": "Allow",
                "priority": 5,
                "name": "Allow all",
                "headers": {"X-Azure-FDID": ["abc"]},
            }
        ]
    }
    site = acl.loads(json.dumps(doc))
    assert [r.name for r in site.main_rules] == ["Allow all"]
    assert site.main_default is None


def test_service_tag_data_errors(tmp_path: Any) -> None:
    bad = tmp_path / "tags.json"
    bad.write_text('{"values": 3}')
    with pytest.raises(acl.ServiceTagDataError, match="not a service tag file"):
        acl.load_service_tags(bad)
    bad.write_text(
        '{"values": [{"name": "T", "properties": {"addressPrefixes": ["1.2.3.0/24", "nope"]}}]}'
    )
    tags = acl.load_service_tags(bad)
    with pytest.raises(acl.ServiceTagDataError, match="'nope'"):
        tags.prefixes("t")
    with pytest.raises(acl.ServiceTagDataError, match="cannot read"):
        acl.load_service_tags(tmp_path / "missing.json")


def test_custom_service_tags_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ServiceTags_Public_20990101.json"
    path.write_text(
        json.dumps(
            {
                "changeNumber": 999,
                "cloud": "Public",
                "values": [
                    {
                        "name": "MyTag",
                        "id": "MyTag",
                        "properties": {"addressPrefixes": ["203.0.113.0/24"]},
                    }
                ],
            }
        )
    )
    doc = json.dumps([rule(ipAddress="mytag", tag="ServiceTag")])
    site = acl.loads(doc, service_tags=path)
    assert site.service_tags_change == 999
    monkeypatch.setenv("ACL_SERVICE_TAGS", str(path))
    assert acl.loads(doc).main_rules[0].sources[0].text == "MyTag"
    with pytest.raises(acl.ServiceTagError, match="changeNumber 999"):
        acl.loads(json.dumps([rule(ipAddress="AzureFrontDoor.Backend", tag="ServiceTag")]))


@pytest.mark.parametrize("second", ["Foo", "foo"])
def test_a_service_tag_file_with_a_tag_twice_is_refused(second: str) -> None:
    """Tag names are matched without case: with two entries of one name a rule naming it
    could mean either, so the file is refused rather than the last entry winning."""
    from acl.servicetags import ServiceTags

    entry = {"properties": {"addressPrefixes": ["192.0.2.0/24"]}}
    data = {"values": [{"name": "Foo", **entry}, {"name": second, **entry}]}
    with pytest.raises(
        acl.ServiceTagDataError,
        match=r"tags\.json: \$\.values\[1\]: tag '.oo' is in the file twice",
    ):
        ServiceTags.from_json(data, "tags.json")

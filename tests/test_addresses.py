import pytest

from acl.addresses import Prefix, parse_address, parse_prefix, parse_subnet_mask, split_host_port
from acl.errors import AddressError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0.0", (4, 0)),
        ("255.255.255.255", (4, 2**32 - 1)),
        ("::ffff:192.0.2.1", (4, 0xC0000201)),
        ("::FFFF:c000:0201", (4, 0xC0000201)),
        ("::", (6, 0)),
        ("2001:db8::1", (6, 0x20010DB8 << 96 | 1)),
    ],
)
def test_parse_address(text: str, expected: tuple[int, int]) -> None:
    assert parse_address(text) == expected


def test_mapped_prefix_stays_ipv6_when_not_mapping() -> None:
    assert parse_address("::ffff:1.2.3.4", map_v4=False)[0] == 6


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("010.1.1.1", "leading zeros"),
        ("1.2.3", "expected an IPv4 address"),
        ("1.2.3.256", "expected an IPv4 address"),
        ("1.2.3.4 ", "expected an IPv4 address"),
        ("fe80::1%eth0", "zone"),
        ("2001:db8::g", "not a valid IPv6"),
        ("::ffff:010.1.1.1", "not a valid IPv6"),
        ("", "expected an IPv4"),
    ],
)
def test_bad_addresses_name_the_value(text: str, fragment: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_address(text)
    assert repr(text) in str(info.value)
    assert fragment in str(info.value)


def test_parse_address_rejects_non_strings() -> None:
    with pytest.raises(AddressError, match="not a string"):
        parse_address(17)  # type: ignore[arg-type]


def test_prefix_host_bits_are_ignored_but_recorded() -> None:
    prefix = parse_prefix("10.20.30.40/24")
    assert prefix == Prefix(4, 0x0A141E00, 24, host_bits=True)
    assert str(prefix) == "10.20.30.0/24"
    assert prefix.contains(4, 0x0A141E01)
    assert not prefix.contains(6, 0x0A141E01)


def test_bare_addresses_are_host_routes() -> None:
    assert parse_prefix("203.0.113.7").length == 32
    assert parse_prefix("2001:db8::42").length == 128


@pytest.mark.parametrize(
    "text", ["1.2.3.0/33", "1.2.3.0/024", "::/129", "1.2.3.0/", "1.2.3.0/x", "00.00.00.00/0"]
)
def test_bad_prefixes(text: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_prefix(text)
    assert repr(text) in str(info.value)


def test_zero_length_prefixes_cover_one_family() -> None:
    v4 = parse_prefix("0.0.0.0/0")
    v6 = parse_prefix("::/0")
    assert v4.contains(4, 12345) and not v4.contains(6, 12345)
    assert v6.contains(6, 12345) and not v6.contains(4, 12345)
    assert (v4.first, v4.last) == (0, 2**32 - 1)


def test_subnet_masks() -> None:
    assert parse_subnet_mask("255.255.255.0") == 24
    assert parse_subnet_mask("0.0.0.0") == 0
    assert parse_subnet_mask("255.255.255.255") == 32
    with pytest.raises(AddressError, match="not contiguous"):
        parse_subnet_mask("255.0.255.0")
    with pytest.raises(AddressError, match="dotted IPv4 mask"):
        parse_subnet_mask("24")


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("a.example:443", "a.example"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[::1]", "::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("1.2.3.4", "1.2.3.4"),
    ],
)
def test_split_host_port(text: str, host: str) -> None:
    assert split_host_port(text) == host

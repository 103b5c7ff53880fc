"""Addresses and prefixes as integers, parsed strictly.

An address is a pair ``(version, value)``: ``4`` or ``6`` and an unsigned integer. A
:class:`Prefix` is a network with its length. Parsing is strict on purpose:

* leading zeros in an IPv4 octet (``010.1.1.1``) are rejected: parsers disagree on whether
  they are octal, and guessing would silently change who is let in;
* a zone (``fe80::1%eth0``) is rejected;
* an IPv4-mapped IPv6 request address (``::ffff:1.2.3.4``) is the IPv4 address;
* a prefix keeps whether host bits were set (``1.2.3.4/24``), but matches as its network
  (``1.2.3.0/24``): App Service does a leading-bit match.

>>> parse_address("::ffff:192.0.2.1")
(4, 3221225985)
>>> parse_prefix("10.1.2.3/8")
Prefix('10.0.0.0/8')
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass

from .errors import AddressError, Origin, quote

__all__ = [
    "MAPPED_V4",
    "Prefix",
    "format_address",
    "parse_address",
    "parse_prefix",
    "parse_subnet_mask",
    "split_host_port",
]

V4_BITS = 32
V6_BITS = 128
V4_MAX = (1 << 32) - 1
V6_MAX = (1 << 128) - 1
MAPPED_V4 = 0xFFFF << 32
"""The ``::ffff:0:0/96`` block: IPv4-mapped IPv6 addresses."""

_DIGITS = frozenset("0123456789")


def _bits(version: int) -> int:
    return V4_BITS if version == 4 else V6_BITS


def _parse_v4(text: str) -> int | None:
    """Dotted quad to int, or None when malformed. No leading zeros, exactly four parts."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not part or len(part) > 3 or not _DIGITS.issuperset(part):
            return None
        if len(part) > 1 and part[0] == "0":
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = (value << 8) | octet
    return value


def _v4_problem(text: str) -> str:
    for part in text.split("."):
        if len(part) > 1 and part[0] == "0" and _DIGITS.issuperset(part):
            return (
                "leading zeros are not allowed in an IPv4 address "
                "(they mean octal to some parsers and decimal to others)"
            )
    return "expected an IPv4 address like 192.0.2.1 or an IPv6 address like 2001:db8::1"


def parse_address(
    text: str, *, map_v4: bool = True, origin: Origin | None = None, what: str = "address"
) -> tuple[int, int]:
    """Parse one IP address into ``(version, value)``.

    Args:
        text: the address, without port, brackets or zone.
        map_v4: turn IPv4-mapped IPv6 addresses into their IPv4 address (requests do).
        origin: where the text came from, for the error message.
        what: what the value is, for the error message.

    Raises:
        AddressError: the text is not an address; the message says why.

    >>> parse_address("192.0.2.1")
    (4, 3221225985)
    >>> parse_address("2001:db8::1")[0]
    6
    """
    if not isinstance(text, str):
        raise AddressError(f"{what} {quote(text)} is not a string", origin)
    if ":" not in text:
        value = _parse_v4(text)
        if value is None:
            raise AddressError(f"{what} {quote(text)} is not valid: {_v4_problem(text)}", origin)
        return 4, value
    if text.count(":") == 1 and _parse_v4(text.partition(":")[0]) is not None:
        raise AddressError(
            f"{what} {quote(text)} has a port: give the address alone (like 192.0.2.1)", origin
        )
    if "%" in text:
        raise AddressError(f"{what} {quote(text)} has a zone (%...): zones are not allowed", origin)
    if text != text.strip() or "/" in text:
        raise AddressError(f"{what} {quote(text)} is not a valid IPv6 address", origin)
    try:
        value = int(ipaddress.IPv6Address(text))
    except ValueError as exc:
        raise AddressError(
            f"{what} {quote(text)} is not a valid IPv6 address: {exc}", origin
        ) from None
    if map_v4 and (value >> 32) == 0xFFFF:
        return 4, value & V4_MAX
    return 6, value


def format_address(version: int, value: int) -> str:
    """The canonical text of an address.

    >>> format_address(6, 1)
    '::1'
    """
    if version == 4:
        return str(ipaddress.IPv4Address(value))
    return str(ipaddress.IPv6Address(value))


@dataclass(frozen=True, slots=True)
class Prefix:
    """A network: ``version`` 4 or 6, the network integer, the prefix length.

    ``host_bits`` records that the text had bits set beyond the prefix (``1.2.3.4/24``); the
    prefix still matches as its network, as App Service's leading-bit match does.
    """

    version: int
    network: int
    length: int
    host_bits: bool = False

    @property
    def bits(self) -> int:
        return _bits(self.version)

    @property
    def first(self) -> int:
        return self.network

    @property
    def last(self) -> int:
        return self.network | ((1 << (self.bits - self.length)) - 1)

    def contains(self, version: int, value: int) -> bool:
        """True when the address ``(version, value)`` lies in this prefix."""
        if version != self.version:
            return False
        shift = (V4_BITS if version == 4 else V6_BITS) - self.length
        return (value >> shift) == (self.network >> shift)

    def __str__(self) -> str:
        return f"{format_address(self.version, self.network)}/{self.length}"

    def __repr__(self) -> str:
        return f"Prefix({str(self)!r})"


def _python_address(text: str) -> tuple[int, int]:
    value = _parse_v4(text)
    return (0, 0) if value is None else (4, value)


def _select_quick() -> Callable[[str], tuple[int, int]]:
    """The compiled parser's ``parse_address`` (``(0, 0)`` when invalid; it is strict like
    :func:`_parse_v4` for dotted quads), or the Python one when the kernel is not built or
    ``ACL_NO_EXTENSIONS`` is set."""
    if os.environ.get("ACL_NO_EXTENSIONS", "") not in ("", "0"):
        return _python_address
    try:
        from . import _fast
    except ImportError:
        return _python_address
    quick: Callable[[str], tuple[int, int]] = _fast.parse_address
    return quick


def _first_quick(text: str) -> tuple[int, int]:
    global _quick_address
    _quick_address = _select_quick()  # resolved on first use: _fast imports this module
    return _quick_address(text)


_quick_address: Callable[[str], tuple[int, int]] = _first_quick
"""``(4, value)`` of a dotted quad, else ``(0, 0)`` (IPv6 text is not read here)."""


def _parse_length(text: str, bits: int) -> int | None:
    if not text or len(text) > 3 or not _DIGITS.issuperset(text):
        return None
    if len(text) > 1 and text[0] == "0":
        return None
    length = int(text)
    return length if length <= bits else None


def parse_prefix(text: str, *, origin: Origin | None = None, what: str = "CIDR") -> Prefix:
    """Parse ``addr/len`` or a bare address (a host route: /32 or /128).

    IPv4-mapped IPv6 prefixes stay IPv6 (they can never match a request, whose mapped
    addresses become IPv4); the linter points them out.

    Raises:
        AddressError: malformed address or length; the message says what was expected.

    >>> parse_prefix("2001:db8::1")
    Prefix('2001:db8::1/128')
    """
    if not isinstance(text, str):
        raise AddressError(f"{what} {quote(text)} is not a string", origin)
    address, slash, length_text = text.partition("/")
    if ":" not in address:
        # The common case, a dotted quad, through the compiled parser (as strict as
        # _parse_v4); anything it refuses takes the path below, which says why.
        version, value = _quick_address(address)
        if version == 4:
            length = _parse_length(length_text, V4_BITS) if slash else V4_BITS
            if length is not None:
                hostmask = (1 << (V4_BITS - length)) - 1
                return Prefix(4, value & ~hostmask, length, bool(value & hostmask))
    try:
        version, value = parse_address(address, map_v4=False, origin=origin, what=what)
    except AddressError as exc:
        if not slash:
            raise
        detail = exc.message.partition(": ")[2] or "not an address"
        raise AddressError(f"{what} {quote(text)} is not valid: {detail}", origin) from None
    bits = _bits(version)
    if slash:
        length = _parse_length(length_text, bits)
        if length is None:
            raise AddressError(
                f"{what} {quote(text)} has an invalid prefix length {quote(length_text)}: "
                f"expected a number from 0 to {bits} without leading zeros",
                origin,
            )
    else:
        length = bits
    hostmask = (1 << (bits - length)) - 1
    return Prefix(version, value & ~hostmask, length, bool(value & hostmask))


def parse_subnet_mask(text: str, *, origin: Origin | None = None) -> int:
    """A dotted IPv4 mask (``255.255.255.0``) to its prefix length; it must be contiguous.

    >>> parse_subnet_mask("255.255.240.0")
    20
    """
    value = _parse_v4(text) if isinstance(text, str) else None
    if value is None:
        raise AddressError(
            f"subnetMask {quote(text)} is not a dotted IPv4 mask like 255.255.255.0", origin
        )
    inverted = ~value & V4_MAX
    if inverted & (inverted + 1):
        raise AddressError(
            f"subnetMask {quote(text)} is not contiguous: the one bits must come first", origin
        )
    return V4_BITS - inverted.bit_length()


def split_host_port(text: str) -> str:
    """Drop a port and IPv6 brackets from ``host:port``, ``[v6]:port`` or ``[v6]``.

    A bare IPv6 address (more than one colon, no brackets) is returned as it is.

    >>> split_host_port("[2001:db8::7]:443"), split_host_port("198.51.100.9:80")
    ('2001:db8::7', '198.51.100.9')
    """
    if text.startswith("["):
        end = text.find("]")
        if end != -1:
            return text[1:end]
        return text
    if text.count(":") == 1:
        return text.partition(":")[0]
    return text

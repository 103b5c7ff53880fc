"""The four header filters of App Service access restrictions, and how request values are read.

Only ``X-Forwarded-For``, ``X-Forwarded-Host``, ``X-Azure-FDID`` and ``X-FD-HealthProbe``
exist. Names are case-insensitive. A request header may occur several times; every function
here takes the list of its copies (raw strings, as received).

>>> xff_addresses(["unknown, 198.51.100.9:80", "[2001:db8::7]:443"])
[(4, 3325256713), (6, 42540766411282592856903984951653826567)]
>>> forwarded_hosts(["WWW.Contoso.com:8443, api.example.org"])
['www.contoso.com', 'api.example.org']
>>> single_value(["a", "b"]) is None
True
"""

from __future__ import annotations

from .addresses import parse_address, split_host_port
from .errors import AddressError

__all__ = [
    "CANONICAL_HEADERS",
    "HEADER_NAMES",
    "XAZUREFDID",
    "XFDHEALTHPROBE",
    "XFORWARDEDFOR",
    "XFORWARDEDHOST",
    "canonical_header",
    "forwarded_hosts",
    "host_matches",
    "normalize_host",
    "single_value",
    "xff_addresses",
]

XFORWARDEDFOR = "X-Forwarded-For"
XFORWARDEDHOST = "X-Forwarded-Host"
XAZUREFDID = "X-Azure-FDID"
XFDHEALTHPROBE = "X-FD-HealthProbe"
HEADER_NAMES: tuple[str, ...] = (XFORWARDEDFOR, XFORWARDEDHOST, XAZUREFDID, XFDHEALTHPROBE)
"""The supported header names, in their documented spelling, in a fixed order."""

CANONICAL_HEADERS: dict[str, str] = {name.lower(): name for name in HEADER_NAMES}


def canonical_header(name: str) -> str | None:
    """The documented spelling of a supported header name, or None.

    >>> canonical_header("x-azure-fdid")
    'X-Azure-FDID'
    """
    return CANONICAL_HEADERS.get(name.strip().lower())


def _elements(copies: list[str]) -> list[str]:
    return [item.strip() for copy in copies for item in copy.split(",")]


def xff_addresses(copies: list[str]) -> list[tuple[int, int]]:
    """Every address of an X-Forwarded-For chain, all copies joined, in order.

    Ports and IPv6 brackets are removed; elements that are not addresses are skipped.
    """
    found: list[tuple[int, int]] = []
    for element in _elements(copies):
        if not element:
            continue
        try:
            found.append(parse_address(split_host_port(element)))
        except AddressError:
            continue
    return found


def normalize_host(text: str) -> str | None:
    """A host name as compared by X-Forwarded-Host: port removed, lower case, IDNA (Punycode).

    Returns None when the text is empty or cannot be expressed in IDNA.

    >>> normalize_host("Bücher.example:443")
    'xn--bcher-kva.example'
    """
    host = split_host_port(text.strip()).strip().lower()
    if not host:
        return None
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def forwarded_hosts(copies: list[str]) -> list[str]:
    """Every X-Forwarded-Host element (comma lists and copies), normalised."""
    hosts: list[str] = []
    for element in _elements(copies):
        host = normalize_host(element)
        if host is not None:
            hosts.append(host)
    return hosts


def host_matches(pattern: str, host: str) -> bool:
    """Whether a normalised host matches a configured (normalised) X-Forwarded-Host value.

    ``*.contoso.com`` matches exactly one more label.

    >>> host_matches("*.contoso.com", "a.contoso.com"), host_matches("*.contoso.com", "a.b.contoso.com")
    (True, False)
    """
    if pattern.startswith("*."):
        suffix = pattern[1:]
        if not host.endswith(suffix):
            return False
        label = host[: -len(suffix)]
        return bool(label) and "." not in label
    return pattern == host


def single_value(copies: list[str]) -> str | None:
    """The one value of an exact-match header (X-Azure-FDID, X-FD-HealthProbe), or None.

    More than one copy, or a comma list, never matches (fail closed); the value is trimmed.
    """
    if len(copies) != 1 or "," in copies[0]:
        return None
    return copies[0].strip()

"""What every front of the gateway shares about a request and its answer.

The ASGI and WSGI middleware, the decision service and the gRPC check read the same headers
under the same caps and refuse the same ambiguous requests: the header names the filters read
(:data:`FILTER_KEYS`), the caps (:data:`MAX_HEADER_BYTES`, :data:`MAX_HEADERS_BYTES`), the
checks of ``Host`` against the target (:func:`check_hosts`), the refusals raised before any
decision (:class:`Refused`), and the deny page of App Service (:data:`FORBIDDEN_BODY`).

>>> forbidden_headers("203.0.113.9")[-1]
(b'x-ms-forbidden-ip', b'203.0.113.9')
>>> joined([("X-Azure-FDID", "a"), ("X-Azure-FDID", "b")])
{'X-Azure-FDID': 'a, b'}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import quote

from ..addresses import format_address, parse_address
from ..errors import AddressError
from ..headers import HEADER_NAMES

__all__ = [
    "FILTER_KEYS",
    "FORBIDDEN_BODY",
    "FORBIDDEN_LENGTH",
    "MAX_HEADERS_BYTES",
    "MAX_HEADER_BYTES",
    "WSGI_KEYS",
    "BadHost",
    "Refused",
    "TooLarge",
    "authority_of",
    "bracketed",
    "check_hosts",
    "checked_host",
    "forbidden_headers",
    "header_text",
    "joined",
    "too_large",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

FORBIDDEN_BODY = b"""<!DOCTYPE html>
<html>
<head>
    <title>Web App - Unavailable</title>
    <style type="text/css">
        html { height: 100%; width: 100%; }
        #feature { width: 960px; margin: 75px auto 0 auto; overflow: auto; }
        #content { font-family: "Segoe UI"; font-weight: normal; font-size: 22px; color: #ffffff;
                   float: left; width: 460px; margin-top: 68px; margin-left: 0px; }
        #content h1 { font-family: "Segoe UI Light"; color: #ffffff; font-weight: normal;
                      font-size: 60px; line-height: 48pt; width: 800px; }
    </style>
</head>
<body bgcolor="#00abec">
    <div id="feature">
        <div id="content">
            <h1 id="unavailable">Error 403 - Forbidden</h1>
            <p id="tryAgain">The web app you have attempted to reach has blocked your access.</p>
        </div>
    </div>
</body>
</html>
"""
"""The HTML page of a denied request, shaped like App Service's ``403 Ip Forbidden`` page."""

FORBIDDEN_LENGTH = str(len(FORBIDDEN_BODY)).encode("ascii")

FILTER_KEYS: dict[bytes, str] = {name.lower().encode("ascii"): name for name in HEADER_NAMES}
"""ASGI header name (lower-case bytes) to the documented spelling, for the four filters."""

WSGI_KEYS: tuple[tuple[str, str], ...] = tuple(
    ("HTTP_" + name.upper().replace("-", "_"), name) for name in HEADER_NAMES
)


def forbidden_headers(forbidden_ip: str | None) -> list[tuple[bytes, bytes]]:
    """The headers of a deny, as ASGI byte pairs (``x-ms-forbidden-ip`` left out when the
    client address is unknown)."""
    headers = [(b"content-type", b"text/html"), (b"content-length", FORBIDDEN_LENGTH)]
    if forbidden_ip:
        headers.append((b"x-ms-forbidden-ip", forbidden_ip.encode("latin-1")))
    return headers


def bracketed(address: str | None) -> str | None:
    """An address as the x-ms-forbidden-ip header shows it (IPv6 in brackets), or None."""
    if not address:
        return None
    try:
        text = format_address(*parse_address(address))
    except AddressError:
        return None
    return f"[{text}]" if ":" in text else text


MAX_HEADER_BYTES = 8192
"""The longest header value the middleware and the service read (``Host``, the forwarding
header, each copy of a filtered header): a longer one refuses the request."""

MAX_HEADERS_BYTES = 32768
"""The most they read of one request's headers in all (the values above, every copy)."""


class Refused(Exception):
    """A request refused before any decision (fail closed): ``status`` for the middleware,
    ``reason`` for the service's ``x-acl-rule`` and metrics, ``message`` for the body."""

    status = 400
    reason = "bad-request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadHost(Refused):
    """More than one Host, or a Host that disagrees with the target's authority."""

    status = 400
    reason = "bad-host"


class TooLarge(Refused):
    """A header read for the decision is longer than the caps allow."""

    status = 431
    reason = "header-too-large"


def too_large(name: str, size: int) -> TooLarge:
    return TooLarge(
        f"the {name} header is {size} bytes; at most {MAX_HEADER_BYTES} per header and "
        f"{MAX_HEADERS_BYTES} in all are read"
    )


def authority_of(target: bytes) -> bytes | None:
    """The authority of an absolute-form request target (``http://host:port/path``), else
    None (origin form ``/path``, asterisk form ``*``)."""
    if target[:1] == b"/" or b"://" not in target:
        return None
    scheme, _, rest = target.partition(b"://")
    if not scheme or not scheme[:1].isalpha():
        return None
    end = len(rest)
    for stop in (b"/", b"?", b"#"):
        found = rest.find(stop)
        if found != -1 and found < end:
            end = found
    return rest[:end].rpartition(b"@")[2]


def check_hosts(scope: Scope, hosts: list[bytes]) -> None:
    """Refuse (fail closed) a request whose host is ambiguous: more than one ``Host`` (HTTP/1;
    under HTTP/2 and 3 the server may add ``host`` from ``:authority``, so copies must agree),
    or an absolute-form target or ``:authority`` that names another host than ``Host``. A
    framework reads the first Host, the decision must read the same one."""
    if len(hosts) > 1:
        version = str(scope.get("http_version", "1.1"))
        if version.startswith("1") or len({h.lower() for h in hosts}) > 1:
            raise BadHost("more than one Host header (or a Host and an :authority that disagree)")
    raw = scope.get("raw_path")
    target = raw if isinstance(raw, bytes) else str(scope.get("path", "")).encode("latin-1")
    authority = authority_of(target)
    if authority is not None and (not hosts or authority.lower() != hosts[0].lower()):
        raise BadHost("the request target's authority and the Host header disagree")


def checked_host(scope: Scope, hosts: list[bytes]) -> str | None:
    """The host of an ASGI request whose ``Host`` (and ``:authority``) values are ``hosts``:
    the first, once :func:`check_hosts` has refused an ambiguous one (with one Host and an
    origin-form target there is nothing to check)."""
    raw = scope.get("raw_path")
    if len(hosts) > 1 or not (raw and raw.startswith(b"/")):
        check_hosts(scope, hosts)
    return hosts[0].decode("latin-1") if hosts else None


def joined(pairs: list[tuple[str, str]] | None) -> dict[str, str]:
    """Header copies joined with ``, ``, by documented name (for the decision log)."""
    out: dict[str, str] = {}
    for name, value in pairs or ():
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def header_text(text: str) -> bytes:
    """A value safe in a header: printable ASCII kept, the rest percent-encoded (UTF-8)."""
    return quote(text, safe=_SAFE).encode("ascii")

"""Which address is the client's, behind proxies: :class:`ProxyTrust`, the rules of nginx's
realip module, and the signals of a client that cannot be told (the request is denied).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from ..addresses import Prefix, parse_address, parse_prefix, split_host_port
from ..errors import AddressError

__all__ = ["ProxyTrust", "Rewritten", "Unresolved", "peer_in_chain", "warn_rewritten"]

logger = logging.getLogger("acl.middleware")

_ADDRESS_CHARS = 64
"""Longer than any address text (with brackets and a port): never cached, never an address."""


class Unresolved(Exception):
    """The client address cannot be told; the request is denied (fail closed)."""


class Rewritten(Unresolved):
    """The peer the server reports is one of the request's own X-Forwarded-For addresses: the
    server rewrote the client from the header (uvicorn's proxy headers), so the real TCP
    peer is unknown."""


def peer_in_chain(peer: str, chain: list[str]) -> bool:
    """True when ``peer`` is one of the X-Forwarded-For addresses: what a server that rewrote
    the client from the header (uvicorn's ``proxy_headers``) leaves behind."""
    for value in chain:
        for element in value.split(","):
            element = element.strip()
            if element and (split_host_port(element) if ":" in element else element) == peer:
                return True
    return False


class ProxyTrust:
    """Which address is the client's, behind proxies: the rules of nginx's realip module.

    With neither ``trusted_proxies`` nor ``trusted_hops`` the client is the direct peer and
    this class believes no forwarding header. The direct peer is what the server reports
    (``scope["client"]``, ``REMOTE_ADDR``): run the server with its own proxy-header
    handling off (uvicorn rewrites ``scope["client"]`` from ``X-Forwarded-For`` unless run
    with ``--no-proxy-headers``); the middleware denies requests whose reported peer is one
    of their own ``X-Forwarded-For`` addresses, which is what such a rewrite leaves. Otherwise the ``header`` (X-Forwarded-For by
    default, every copy joined) is walked from the right, starting at the peer:

    - ``trusted_proxies`` (CIDRs): the header is believed only when the peer is one of them;
      each address that is itself a trusted proxy steps one further left (``real_ip_recursive
      on``). The client is the last untrusted address; when every address is trusted, the
      leftmost one.
    - ``trusted_hops=N``: the N nearest proxies are trusted (the peer counts as the first),
      so the client is the N-th address from the right of the header (or its leftmost when it
      is shorter). Combined with ``trusted_proxies``, the header is believed only from those
      peers, and then N steps are taken.

    An element with a port (``198.51.100.7:4711``, ``[2001:db8::7]:443``) counts as its
    address. An element that is not an address where the walk needs one makes the client
    unknown, and the request is denied: unlike nginx, which then falls back to the proxy's
    own address, a gateway that decides on access must not guess.

    >>> trust = ProxyTrust(trusted_proxies=["10.0.0.0/8"])
    >>> trust.client("10.1.2.3", ["203.0.113.9, 10.0.0.7"])
    '203.0.113.9'
    >>> trust.client("198.51.100.1", ["203.0.113.9"])   # an untrusted peer is not believed
    '198.51.100.1'
    >>> ProxyTrust(trusted_hops=2).client("192.0.2.1", ["198.51.100.5, 203.0.113.9, 10.0.0.1"])
    '203.0.113.9'
    """

    __slots__ = ("_cache", "header", "hops", "key", "proxies", "required", "wsgi_key")

    def __init__(
        self,
        *,
        trusted_proxies: Iterable[str] | None = None,
        trusted_hops: int | None = None,
        header: str = "X-Forwarded-For",
        required: bool = False,
    ) -> None:
        if isinstance(trusted_proxies, str):
            trusted_proxies = [trusted_proxies]
        proxies: list[Prefix] = []
        for text in trusted_proxies or ():
            try:
                proxies.append(parse_prefix(text.strip(), what="trusted proxy"))
            except AddressError as exc:
                raise ValueError(exc.message) from None
        if trusted_hops is not None and (
            isinstance(trusted_hops, bool) or not isinstance(trusted_hops, int) or trusted_hops < 1
        ):
            raise ValueError(f"trusted_hops {trusted_hops!r} must be a whole number of at least 1")
        if not header or not header.strip():
            raise ValueError("the forwarding header's name is empty")
        self.proxies: tuple[Prefix, ...] = tuple(proxies)
        self.hops = trusted_hops
        self.header = header.strip()
        self.key = self.header.lower().encode("latin-1")
        self.wsgi_key = "HTTP_" + self.header.upper().replace("-", "_")
        self.required = required
        """True: the client must come from the header (a gateway's decision service, whose
        peer is the gateway): without it, the client is unknown."""
        self._cache: dict[str, bool] = {}

    @property
    def enabled(self) -> bool:
        """True when a forwarding header can be believed at all."""
        return bool(self.proxies) or self.hops is not None

    def trusts(self, address: str) -> bool:
        """True when ``address`` lies in a trusted proxy CIDR."""
        cached = self._cache.get(address)
        if cached is not None:
            return cached
        if len(address) > _ADDRESS_CHARS:
            return False  # not an address, and never kept: the cache stays small in bytes
        try:
            version, value = parse_address(address)
        except AddressError:
            trusted = False
        else:
            trusted = any(prefix.contains(version, value) for prefix in self.proxies)
        if len(self._cache) >= 4096:
            self._cache.clear()
        self._cache[address] = trusted
        return trusted

    def client(self, peer: str | None, values: Sequence[str] = ()) -> str | None:
        """The client's address, from the direct ``peer`` and the header's ``values`` (one
        per copy); None when it cannot be told."""
        address = self.walk(peer, values)
        if address is None or address is peer:
            return address
        try:
            parse_address(address)
        except AddressError:
            return None
        return address

    def walk(self, peer: str | None, values: Sequence[str] = ()) -> str | None:
        """:meth:`client` without checking the address it ends on (the engine parses it
        anyway, and rejects what is not an address): the per-request path."""
        if not self.enabled:
            return None if self.required else peer
        if peer is None or (self.proxies and not self.trusts(peer)):
            return None if self.required else peer
        if len(values) == 1 and "," not in values[0]:
            elements = values  # the common case: one address (X-Real-IP)
        else:
            elements = [item for value in values for item in value.split(",")]
        address = peer
        steps = 0
        hops = self.hops
        for element in reversed(elements):
            element = element.strip()
            if not element:
                continue
            if hops is not None:
                if steps == hops:
                    break
            elif steps and not self.trusts(address):  # not an address: not trusted either
                break
            address = split_host_port(element) if ":" in element else element
            steps += 1
        if steps == 0 and self.required:
            return None
        return address


_warned_rewritten = False


def warn_rewritten() -> None:
    """Say once, at error level, why requests are being denied: the server rewrote the peer."""
    global _warned_rewritten
    if _warned_rewritten:
        logger.debug("denied: the server rewrote the client address from X-Forwarded-For")
        return
    _warned_rewritten = True
    logger.error(
        "denied: the server reports a client address taken from the request's own "
        "X-Forwarded-For (uvicorn's proxy headers, werkzeug's ProxyFix outside the "
        "middleware...): requests that carry the header are denied (fail closed). Run the "
        "server with its proxy-header handling off (uvicorn --no-proxy-headers, "
        "proxy_headers=False) and give the proxies to trusted_proxies instead"
    )

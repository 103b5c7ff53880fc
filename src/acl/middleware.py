"""ASGI and WSGI middleware: a site's access restrictions in front of any Python web app.

Wrap an app and every request is decided as the App Service front end would decide it: an
allowed request passes through untouched, a denied one gets ``403`` with the
``x-ms-forbidden-ip`` header and an HTML page, and never reaches the app.

>>> import acl
>>> from acl.middleware import AclWSGIMiddleware
>>> from acl.testing import call_wsgi
>>> def app(environ, start_response):
...     start_response("200 OK", [("Content-Type", "text/plain")])
...     return [b"hello"]
>>> site = acl.loads('[{"name": "office", "priority": 100, "ipAddress": "198.51.100.0/24"}]')
>>> guarded = AclWSGIMiddleware(app, site)
>>> call_wsgi(guarded, client="198.51.100.7").body
b'hello'
>>> denied = call_wsgi(guarded, client="203.0.113.9")
>>> denied.status, denied.reason, denied.header("x-ms-forbidden-ip"), denied.header("content-type")
(403, 'Ip Forbidden', '203.0.113.9', 'text/html')

The pieces are usable on their own: :class:`ProxyTrust` derives the client address behind
proxies the way nginx's realip module does, :class:`LiveRules` holds a compiled engine that
can be replaced while requests are being decided, and :class:`DecisionLog` writes one
``AppServiceIPSecAuditLogs`` record per request. :mod:`acl.serve` builds the decision
service for gateways from the same pieces.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import io
import json
import logging
import os
import pickle
import select
import signal
import sys
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Union

from .addresses import Prefix, format_address, parse_address, parse_prefix, split_host_port
from .compiler import tables_from_arrays
from .decision import Decision
from .engine import ARRAY_FIELDS, FAMILIES, Engine
from .engine import compile as compile_site
from .errors import AclError, AddressError, RequestError
from .formats import load
from .headers import HEADER_NAMES
from .model import Site
from .replay import audit_record
from .serialize import site_to_dict

__all__ = [
    "FORBIDDEN_BODY",
    "MAX_HEADERS_BYTES",
    "MAX_HEADER_BYTES",
    "AclMiddleware",
    "AclWSGIMiddleware",
    "DecisionLog",
    "LiveRules",
    "ProxyTrust",
    "RulesSnapshot",
    "forbidden_headers",
]

logger = logging.getLogger("acl.middleware")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
RulesInput = Union[str, "os.PathLike[str]", Site, Engine]
"""What the middleware and the service accept as rules: a file path, a Site or an Engine."""

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

_FORBIDDEN_LENGTH = str(len(FORBIDDEN_BODY)).encode("ascii")

_FILTER_KEYS: dict[bytes, str] = {name.lower().encode("ascii"): name for name in HEADER_NAMES}
"""ASGI header name (lower-case bytes) to the documented spelling, for the four filters."""

_WSGI_KEYS: tuple[tuple[str, str], ...] = tuple(
    ("HTTP_" + name.upper().replace("-", "_"), name) for name in HEADER_NAMES
)


def forbidden_headers(forbidden_ip: str | None) -> list[tuple[bytes, bytes]]:
    """The headers of a deny, as ASGI byte pairs (``x-ms-forbidden-ip`` left out when the
    client address is unknown)."""
    headers = [(b"content-type", b"text/html"), (b"content-length", _FORBIDDEN_LENGTH)]
    if forbidden_ip:
        headers.append((b"x-ms-forbidden-ip", forbidden_ip.encode("latin-1")))
    return headers


def _bracketed(address: str | None) -> str | None:
    """An address as the x-ms-forbidden-ip header shows it (IPv6 in brackets), or None."""
    if not address:
        return None
    try:
        text = format_address(*parse_address(address))
    except AddressError:
        return None
    return f"[{text}]" if ":" in text else text


# ---------------------------------------------------------------------------- client address


MAX_HEADER_BYTES = 8192
"""The longest header value the middleware and the service read (``Host``, the forwarding
header, each copy of a filtered header): a longer one refuses the request."""

MAX_HEADERS_BYTES = 32768
"""The most they read of one request's headers in all (the values above, every copy)."""

_ADDRESS_CHARS = 64
"""Longer than any address text (with brackets and a port): never cached, never an address."""


class _Unresolved(Exception):
    """The client address cannot be told; the request is denied (fail closed)."""


class _Rewritten(_Unresolved):
    """The peer the server reports is one of the request's own X-Forwarded-For addresses: the
    server rewrote the client from the header (uvicorn's proxy headers), so the real TCP
    peer is unknown."""


class _Refused(Exception):
    """A request refused before any decision (fail closed): ``status`` for the middleware,
    ``reason`` for the service's ``x-acl-rule`` and metrics, ``message`` for the body."""

    status = 400
    reason = "bad-request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _BadHost(_Refused):
    """More than one Host, or a Host that disagrees with the target's authority."""

    status = 400
    reason = "bad-host"


class _TooLarge(_Refused):
    """A header read for the decision is longer than the caps allow."""

    status = 431
    reason = "header-too-large"


def _too_large(name: str, size: int) -> _TooLarge:
    return _TooLarge(
        f"the {name} header is {size} bytes; at most {MAX_HEADER_BYTES} per header and "
        f"{MAX_HEADERS_BYTES} in all are read"
    )


def _authority_of(target: bytes) -> bytes | None:
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


def _check_hosts(scope: Scope, hosts: list[bytes]) -> None:
    """Refuse (fail closed) a request whose host is ambiguous: more than one ``Host`` (HTTP/1;
    under HTTP/2 and 3 the server may add ``host`` from ``:authority``, so copies must agree),
    or an absolute-form target or ``:authority`` that names another host than ``Host``. A
    framework reads the first Host, the decision must read the same one."""
    if len(hosts) > 1:
        version = str(scope.get("http_version", "1.1"))
        if version.startswith("1") or len({h.lower() for h in hosts}) > 1:
            raise _BadHost("more than one Host header (or a Host and an :authority that disagree)")
    raw = scope.get("raw_path")
    target = raw if isinstance(raw, bytes) else str(scope.get("path", "")).encode("latin-1")
    authority = _authority_of(target)
    if authority is not None and (not hosts or authority.lower() != hosts[0].lower()):
        raise _BadHost("the request target's authority and the Host header disagree")


def _peer_in_chain(peer: str, chain: list[str]) -> bool:
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


def _warn_rewritten() -> None:
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


# ---------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class RulesSnapshot:
    """One loaded rule set: the compiled engine and where it came from.

    Attributes:
        engine: the compiled :class:`~acl.engine.Engine`.
        digest: the SHA-256 of the rules file (or of the site's JSON form when the rules
            did not come from a file), hex.
        loaded_at: when it was loaded (seconds since the epoch).
        source: the rules file, if any.
        filter_headers: the header names (documented spelling) that some rule filters on:
            only these are read from requests and handed to the engine, since no other
            header can change a decision.
    """

    engine: Engine
    digest: str
    loaded_at: float
    source: str | None
    filter_headers: frozenset[str] = frozenset()
    header_keys: dict[bytes, str] = field(init=False, repr=False, compare=False)
    """ASGI header name (lower-case bytes) to spelling, for :attr:`filter_headers`."""
    wsgi_keys: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    """WSGI environ key to spelling, for :attr:`filter_headers`."""

    def __post_init__(self) -> None:
        keys = {k: v for k, v in _FILTER_KEYS.items() if v in self.filter_headers}
        object.__setattr__(self, "header_keys", keys)
        object.__setattr__(
            self, "wsgi_keys", tuple((k, v) for k, v in _WSGI_KEYS if v in self.filter_headers)
        )

    @property
    def uses_headers(self) -> bool:
        """Whether any rule has a header filter (else no header is read)."""
        return bool(self.filter_headers)

    def decide(
        self, ip: str, host: str | None, pairs: list[tuple[str, str]] | None, *, all_four: bool
    ) -> Decision:
        """Decide with the engine; ``pairs`` are the request's filter headers, read with
        :attr:`header_keys` or, when ``all_four`` (for the decision log), all four names."""
        if pairs:
            if all_four:
                pairs = [pair for pair in pairs if pair[0] in self.filter_headers]
            if pairs:
                decision: Decision = self.engine.decide(ip, host=host, headers=pairs)
                return decision
        decision = self.engine.decide(ip, host=host)
        return decision

    @property
    def version(self) -> str:
        """``<first 12 hex digits of the digest>@<load time, UTC>``: the rule set version."""
        stamp = datetime.fromtimestamp(self.loaded_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{self.digest[:12]}@{stamp}"


def _file_signature(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


class LiveRules:
    """A compiled rule set that can be replaced while requests are decided.

    Readers take :attr:`current` (one attribute read) and use that snapshot for the whole
    request; :meth:`reload` builds the new engine aside and swaps the one reference, so a
    request sees the old rules or the new ones, never a mix. A file that fails to load
    keeps the old rules; the error is logged and kept in :attr:`last_error`.

    Args:
        rules: a rules file (any supported format), a :class:`~acl.model.Site` or an
            :class:`~acl.engine.Engine`.
        loader: how to load the site again on reload (default: ``acl.load(rules,
            **load_options)``); the CLI passes its own so that every loading option holds.
        reload_interval: seconds between checks of the file for changes (a background
            thread; ``None`` or 0: no checks). :meth:`close` stops it.
        kernel: the engine's kernel (``None``: the default).
        settle: seconds a changed file must stay unchanged before the watcher loads it.
        isolate: load and compile reloads in a forked child process (default: where
            ``os.fork`` exists); a child silent for :data:`RELOAD_TIMEOUT` seconds is
            killed and the reload fails.
        load_options: :func:`acl.load` keywords (``service_tags``, ``format``, ...).
    """

    def __init__(
        self,
        rules: RulesInput,
        *,
        loader: Callable[[], Site] | None = None,
        reload_interval: float | None = None,
        kernel: str | None = None,
        settle: float = 1.0,
        isolate: bool | None = None,
        **load_options: Any,
    ) -> None:
        if not settle >= 0:
            raise ValueError(f"settle {settle!r} must be a number of seconds, 0 or more")
        self.settle = settle
        """Seconds the file must stay unchanged (size, mtime, inode) before the watcher
        loads it: a file caught mid-write is not served."""
        self.isolate = hasattr(os, "fork") if isolate is None else isolate
        """Reloads load and compile in a child process (POSIX), so that the GIL-holding
        stretches of parsing and compiling never stall the requests being decided."""
        self._pending: tuple[tuple[int, int, int] | None, float] | None = None
        self._lock = threading.Lock()
        self._kernel = kernel
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.reloads = 0
        """Successful reloads so far."""
        self.failed_reloads = 0
        """Reloads that kept the old rules because the new ones did not load."""
        self.last_error: str | None = None
        """The message of the last failed reload (None after a successful one)."""
        if isinstance(rules, (Site, Engine)):
            if load_options:
                raise TypeError("load options need a rules file, not a Site or an Engine")
            self.path: str | None = None
            self._loader = loader
            engine = rules if isinstance(rules, Engine) else compile_site(rules, kernel=kernel)
            digest = hashlib.sha256(
                json.dumps(site_to_dict(engine.site), sort_keys=True).encode("utf-8")
            ).hexdigest()
            self._signature: tuple[int, int, int] | None = None
            self.current = self._snapshot(engine, digest, engine.site.source)
        else:
            self.path = os.fspath(rules)
            path = self.path
            self._loader = loader or (lambda: load(path, **load_options))
            self._signature = None
            self.current = self._load()
        if reload_interval:
            self.watch(reload_interval)

    def _snapshot(self, engine: Engine, digest: str, source: str | None) -> RulesSnapshot:
        names = frozenset(
            header.name for rule in engine.site.all_rules() for header in rule.headers
        )
        return RulesSnapshot(engine, digest, time.time(), source, names)

    def _load(self) -> RulesSnapshot:
        """Load and compile the file; the digest is of the bytes that were loaded (read
        before and after, again while a writer changes the file under us)."""
        assert self._loader is not None
        for _ in range(5):
            signature = _file_signature(self.path) if self.path else None
            before = _file_digest(self.path) if self.path else ""
            site = self._loader()
            engine = compile_site(site, kernel=self._kernel)
            after = _file_digest(self.path) if self.path else ""
            if before == after:
                self._signature = signature
                return self._snapshot(engine, after, self.path or site.source)
        self._signature = signature
        return self._snapshot(engine, after, self.path or site.source)

    @property
    def engine(self) -> Engine:
        """The engine in use now."""
        return self.current.engine

    @property
    def version(self) -> str:
        """The rule set version in use now (see :attr:`RulesSnapshot.version`)."""
        return self.current.version

    def reload(self) -> bool:
        """Load the rules again and swap them in; False (old rules kept, error logged) when
        the new ones do not load.

        Raises:
            TypeError: the rules were given as a Site or an Engine, with no loader.
        """
        if self._loader is None:
            raise TypeError("nothing to reload: the rules were given as a Site or an Engine")
        with self._lock:
            try:
                snapshot = self._load_isolated() if self.isolate else self._load()
            except Exception as exc:
                self.failed_reloads += 1
                self.last_error = str(exc) if isinstance(exc, AclError) else repr(exc)
                logger.error(
                    "reloading the rules failed; the old rules (%s) stay in force: %s",
                    self.current.version,
                    self.last_error,
                )
                return False
            old = self.current
            self.current = snapshot
            self.reloads += 1
            self.last_error = None
        logger.info("rules reloaded: %s (was %s)", snapshot.version, old.version)
        return True

    def changed(self) -> bool:
        """True when the rules file changed since it was last read."""
        return self.path is not None and _file_signature(self.path) != self._signature

    def check(self) -> bool:
        """Reload when the file changed and has then stayed unchanged for :attr:`settle`
        seconds (a writer may be half-way through it); True when new rules were swapped in.
        A file that fails to load is not tried again until it changes again."""
        if not self.changed():
            self._pending = None
            return False
        signature = _file_signature(self.path) if self.path else None
        now = time.monotonic()
        pending = self._pending
        if pending is None or pending[0] != signature:
            self._pending = (signature, now)
            if self.settle > 0:
                return False
        elif now - pending[1] < self.settle:
            return False
        self._pending = None
        ok = self.reload()
        if not ok:
            self._signature = signature
        return ok

    def _load_isolated(self) -> RulesSnapshot:
        """:meth:`_load` in a forked child; the engine comes back over a pipe in small
        pickled pieces, each unpickled in a few milliseconds, so the requests decided
        meanwhile on this process wait for the GIL for no longer than that."""
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
            code = 0
            try:
                os.close(read_end)
                for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    with contextlib.suppress(ValueError, OSError):
                        signal.signal(signum, signal.SIG_DFL)  # the server's are not ours
                try:
                    frames = _snapshot_frames(self._load(), self._signature)
                except BaseException as exc:
                    message = str(exc) if isinstance(exc, AclError) else repr(exc)
                    frames = [pickle.dumps(("error", message))]
                with os.fdopen(write_end, "wb") as out:
                    for frame in frames:
                        out.write(len(frame).to_bytes(8, "little"))
                        out.write(frame)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(write_end)
        collecting = gc.isenabled()
        gc.disable()  # a collection amid the new objects would be one long GIL-held pause
        try:
            return self._receive(_Pipe(read_end, time.monotonic() + RELOAD_TIMEOUT))
        finally:
            os.close(read_end)
            if collecting:
                gc.enable()
            if os.waitpid(pid, os.WNOHANG) == (0, 0):  # timed out, or the pipe broke
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)

    def _receive(self, pipe: _Pipe) -> RulesSnapshot:
        def frame() -> Any:
            size = int.from_bytes(pipe.read(8), "little")
            return pickle.loads(pipe.read(size))

        head = frame()
        if head[0] == "error":
            raise _ChildError(head[1])
        _, meta = head
        fields: dict[str, Any] = {}
        for name, count in meta["chunked"]:
            items: list[Any] = []
            for _ in range(count):
                items.extend(frame())
            fields[name] = tuple(items)
        site = dataclasses.replace(meta["shell"], **fields)
        tables = tables_from_arrays(site, meta["families"], meta["arrays"])
        engine = Engine(site, tables, kernel=self._kernel)
        self._signature = meta["signature"]
        return self._snapshot(engine, meta["digest"], meta["source"])

    def watch(self, interval: float) -> None:
        """Check the file every ``interval`` seconds in a background thread."""
        if interval <= 0:
            raise ValueError(f"reload interval {interval!r} must be positive")
        if self.path is None:
            raise TypeError("nothing to watch: the rules were given as a Site or an Engine")
        if self._watcher is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.check()
                except Exception:  # pragma: no cover - check() logs its own errors
                    logger.exception("checking the rules file failed")

        self._watcher = threading.Thread(target=loop, name="acl-rules-watch", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop watching the file (if :meth:`watch` or ``reload_interval`` started it)."""
        self._stop.set()
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=5)


class _ChildError(Exception):
    """Loading the rules failed in the child process; the message is the child's."""

    def __str__(self) -> str:
        return str(self.args[0])


_CHUNK = 64
"""Rules per pickled piece sent back by the reload child (a few milliseconds to unpickle)."""


def _snapshot_frames(
    snapshot: RulesSnapshot, signature: tuple[int, int, int] | None
) -> list[bytes]:
    """The pieces of a snapshot for the pipe: the site without its long rule tuples, the
    engine's arrays and the file's signature first, then the rules ``_CHUNK`` at a time."""
    site = snapshot.engine.site
    tables = snapshot.engine.tables
    chunked: list[tuple[str, int]] = []
    pieces: list[bytes] = []
    emptied: dict[str, Any] = {}
    for item in dataclasses.fields(site):
        value = getattr(site, item.name)
        if item.init and isinstance(value, tuple) and len(value) > _CHUNK:
            emptied[item.name] = ()
            chunked.append((item.name, -(-len(value) // _CHUNK)))
            pieces += [
                pickle.dumps(value[i : i + _CHUNK], protocol=pickle.HIGHEST_PROTOCOL)
                for i in range(0, len(value), _CHUNK)
            ]
    meta = {
        "shell": dataclasses.replace(site, **emptied),
        "chunked": chunked,
        "families": {name: getattr(tables, name) for name in FAMILIES},
        "arrays": {name: getattr(tables, name) for name in ARRAY_FIELDS},
        "digest": snapshot.digest,
        "source": snapshot.source,
        "signature": signature,
    }
    return [pickle.dumps(("ok", meta), protocol=pickle.HIGHEST_PROTOCOL), *pieces]


RELOAD_TIMEOUT = 600.0
"""Seconds a reload's child process may take to load, compile and send the rules; then it
is killed and the reload fails (the old rules stay)."""


class _Pipe:
    """The read end of the reload child's pipe, read with a deadline."""

    def __init__(self, fd: int, deadline: float) -> None:
        self.fd = fd
        self.deadline = deadline

    def read(self, size: int) -> bytes:
        parts: list[bytes] = []
        while size:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                raise _ChildError(
                    f"loading the rules took more than {RELOAD_TIMEOUT:g} s; the child "
                    "process was stopped"
                )
            data = os.read(self.fd, min(size, 1 << 20))
            if not data:
                raise _ChildError("the process loading the rules ended before sending them")
            parts.append(data)
            size -= len(data)
        return b"".join(parts)


# ---------------------------------------------------------------------------- decision log


class DecisionLog:
    """One JSON line per request in the ``AppServiceIPSecAuditLogs`` resource-log shape.

    ``target`` is a path (appended to, line-buffered; ``"-"`` is standard output), an open
    text file, or a callable that receives each record (a dict).
    """

    def __init__(self, target: str | os.PathLike[str] | IO[str] | Callable[[dict[str, Any]], None]):
        self._lock = threading.Lock()
        self._owned: IO[str] | None = None
        self._call: Callable[[dict[str, Any]], None] | None = None
        self._file: IO[str] | None = None
        self.path: str | None = None
        """The file written to, when ``target`` was a path (:meth:`reopen` opens it again)."""
        if isinstance(target, (str, os.PathLike)):
            if os.fspath(target) == "-":
                self._file = sys.stdout
            else:
                self.path = os.fspath(target)
                self._owned = self._open(self.path)
                self._file = self._owned
        elif isinstance(target, io.IOBase) or hasattr(target, "write"):
            self._file = target  # type: ignore[assignment]
        elif callable(target):
            self._call = target
        else:
            raise TypeError(f"decision log {target!r}: expected a path, a file or a callable")

    @staticmethod
    def record(
        decision: Decision | None,
        *,
        client: str | None,
        port: int | None,
        host: str | None,
        headers: dict[str, str],
        reason: str = "",
    ) -> dict[str, Any]:
        """The record of one request; ``decision`` None is a fail-closed deny (``reason``
        says why)."""
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if decision is not None:
            row = {
                "time": now,
                "action": decision.action.word,
                "reason": decision.reason,
                "ip": decision.address,
                "host": host,
            }
            record = audit_record(row, decision.rule, headers)
            ip = decision.address
        else:
            row = {"time": now, "action": "deny", "reason": reason, "ip": client, "host": host}
            record = audit_record(row, None, headers)
            ip = client or ""
        if port is not None and ip:
            record["properties"]["CIp"] = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
        return record

    def write(self, record: dict[str, Any]) -> None:
        if self._call is not None:
            self._call(record)
            return
        line = json.dumps(record, separators=(",", ":")) + "\n"
        assert self._file is not None
        with self._lock:
            self._file.write(line)

    @staticmethod
    def _open(path: str) -> IO[str]:
        try:
            return open(path, "a", encoding="utf-8", buffering=1)
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot open the decision log {path}: {exc.strerror or exc}"
            ) from None

    def reopen(self) -> None:
        """Open the path again and write there from now on (after logrotate renamed the
        file); the old file is closed. Nothing to do for stdout, a file or a callable.

        Raises:
            OSError: the path cannot be opened; the old file stays in use.
        """
        if self.path is None or self._owned is None:
            return
        new = self._open(self.path)
        with self._lock:
            old, self._owned, self._file = self._owned, new, new
        old.close()

    def close(self) -> None:
        with self._lock:
            owned, self._owned = self._owned, None
        if owned is not None:
            owned.close()


def _decision_log(
    target: str
    | os.PathLike[str]
    | IO[str]
    | Callable[[dict[str, Any]], None]
    | DecisionLog
    | None,
) -> DecisionLog | None:
    if target is None or isinstance(target, DecisionLog):
        return target
    return DecisionLog(target)


# ---------------------------------------------------------------------------- middleware


class _Guard:
    """What the ASGI and WSGI middleware share: rules, trust, log, and the fail-closed deny."""

    def __init__(
        self,
        rules: RulesInput | LiveRules,
        *,
        trusted_proxies: Iterable[str] | None,
        trusted_hops: int | None,
        forwarded_header: str,
        reload_interval: float | None,
        decision_log: Any,
        load_options: dict[str, Any],
    ) -> None:
        if isinstance(rules, LiveRules):
            if load_options or reload_interval:
                raise TypeError("give load options and reload_interval to LiveRules itself")
            self.rules = rules
        else:
            self.rules = LiveRules(rules, reload_interval=reload_interval, **load_options)
        trust = ProxyTrust(
            trusted_proxies=trusted_proxies, trusted_hops=trusted_hops, header=forwarded_header
        )
        self.trust: ProxyTrust | None = trust if trust.enabled else None
        self.log = _decision_log(decision_log)

    @property
    def engine(self) -> Engine:
        """The engine deciding requests now."""
        return self.rules.engine

    def reload(self) -> bool:
        """Reload the rules file; False when it did not load (the old rules stay)."""
        return self.rules.reload()

    def close(self) -> None:
        """Stop the file watcher and close the decision log."""
        self.rules.close()
        if self.log is not None:
            self.log.close()


class AclMiddleware(_Guard):
    """ASGI middleware: the site's access restrictions in front of an ASGI app.

    Args:
        app: the ASGI application.
        rules: a rules file, a Site, an Engine, or a :class:`LiveRules`.
        trusted_proxies: CIDRs of proxies whose ``forwarded_header`` is believed (see
            :class:`ProxyTrust`). Default: none; the client is the direct peer.
        trusted_hops: instead (or on top), the number of proxies in front of the app.
        forwarded_header: the header that carries the client chain (``X-Forwarded-For``).
        reload_interval: seconds between checks of the rules file for changes.
        decision_log: a path, file or callable: one ``AppServiceIPSecAuditLogs`` record per
            request (see :class:`DecisionLog`).
        load_options: :func:`acl.load` keywords (``service_tags``, ``format``, ...).

    HTTP and WebSocket requests are decided; other scopes (lifespan) pass through. A denied
    HTTP request gets status 403 (ASGI has no way to set the reason phrase, so servers send
    their own, ``Forbidden``), ``Content-Type: text/html``, ``x-ms-forbidden-ip`` and
    :data:`FORBIDDEN_BODY`; a denied WebSocket handshake is closed before it is accepted
    (the server answers 403), or gets the same response where the server supports the
    ``websocket.http.response`` extension. Any error while deciding denies the request and
    is logged: the middleware fails closed. A request with more than one ``Host`` (or a
    ``Host`` that disagrees with the target's authority or ``:authority``) is refused with
    400, one over the header caps (:data:`MAX_HEADER_BYTES` per header,
    :data:`MAX_HEADERS_BYTES` in all) with 431, before any decision.
    """

    def __init__(
        self,
        app: ASGIApp,
        rules: RulesInput | LiveRules,
        *,
        trusted_proxies: Iterable[str] | None = None,
        trusted_hops: int | None = None,
        forwarded_header: str = "X-Forwarded-For",
        reload_interval: float | None = None,
        decision_log: Any = None,
        **load_options: Any,
    ) -> None:
        super().__init__(
            rules,
            trusted_proxies=trusted_proxies,
            trusted_hops=trusted_hops,
            forwarded_header=forwarded_header,
            reload_interval=reload_interval,
            decision_log=decision_log,
            load_options=load_options,
        )
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        try:
            decision = self._decide(scope)
        except _Refused as exc:
            self._failed(scope, exc)
            await self._refuse(scope, receive, send, exc)
            return
        except Exception as exc:
            self._failed(scope, exc)
            client = scope.get("client")
            forbidden = None if isinstance(exc, _Rewritten) or not client else client[0]
            await self._deny(scope, receive, send, _bracketed(forbidden))
            return
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        await self._deny(scope, receive, send, decision.forbidden_ip)

    def _failed(self, scope: Scope, exc: Exception) -> None:
        """Log a request denied without a decision: the client could not be told, or an
        error (logged with its traceback)."""
        if isinstance(exc, _Rewritten):
            reason = "client address rewritten by the server"
            _warn_rewritten()
        elif isinstance(exc, _Unresolved):
            reason = "client address unknown"
            logger.debug("denied: the client address cannot be told (peer %r)", scope.get("client"))
        elif isinstance(exc, _Refused):
            reason = exc.message
            logger.info("refused (%s): %s", exc.status, exc.message)
        else:
            reason = "internal error"
            logger.error("deciding a request failed; it is denied (fail closed)", exc_info=exc)
        if self.log is not None:
            try:
                self._log_scope(scope, reason)
            except Exception:  # pragma: no cover
                logger.exception("writing the decision log failed")

    def _decide(self, scope: Scope) -> Decision:
        snapshot = self.rules.current
        trust = self.trust
        log = self.log
        pairs: list[tuple[str, str]] | None = None
        chain: list[str] | None = None
        forwarded: list[str] | None = None
        hosts: list[bytes] = []
        key = trust.key if trust is not None else None
        keys = snapshot.header_keys if log is None else _FILTER_KEYS
        total = 0
        for name, value in scope["headers"]:
            if name == b"host" or name == b":authority":
                hosts.append(value)
            else:
                spelled = keys.get(name) if keys else None
                if spelled is not None:
                    text = value.decode("latin-1")
                    if pairs is None:
                        pairs = []
                    pairs.append((spelled, text))
                elif name == key or name == b"x-forwarded-for":
                    text = value.decode("latin-1")
                else:
                    continue
                if name == b"x-forwarded-for":
                    if forwarded is None:
                        forwarded = []
                    forwarded.append(text)
                if name == key:
                    if chain is None:
                        chain = []
                    chain.append(text)
            size = len(value)
            total += size
            if size > MAX_HEADER_BYTES or total > MAX_HEADERS_BYTES:
                raise _too_large(name.decode("latin-1"), size)
        raw = scope.get("raw_path")
        if len(hosts) > 1 or not (raw and raw.startswith(b"/")):
            _check_hosts(scope, hosts)  # else one Host and an origin-form target: nothing to check
        host = hosts[0].decode("latin-1") if hosts else None
        client = scope.get("client")
        peer = client[0] if client else None
        if forwarded and peer and _peer_in_chain(peer, forwarded):
            raise _Rewritten
        ip = trust.walk(peer, chain or ()) if trust is not None else peer
        if ip is None:
            raise _Unresolved
        try:
            decision = snapshot.decide(ip, host, pairs, all_four=log is not None)
        except RequestError:  # not an address (a zone, garbage in the header)
            raise _Unresolved from None
        if log is not None:
            port = client[1] if client and ip == peer else None
            log.write(
                DecisionLog.record(
                    decision, client=ip, port=port, host=host, headers=_joined(pairs)
                )
            )
        return decision

    def _log_scope(self, scope: Scope, reason: str) -> None:
        assert self.log is not None
        host = None
        pairs: list[tuple[str, str]] = []
        for name, value in scope.get("headers", ()):
            if len(value) > MAX_HEADER_BYTES:
                continue  # not logged: an over-long value is what refused the request
            if name == b"host" and host is None:
                host = value.decode("latin-1")
            elif name in _FILTER_KEYS:
                pairs.append((_FILTER_KEYS[name], value.decode("latin-1")))
        client = scope.get("client")
        self.log.write(
            DecisionLog.record(
                None,
                client=client[0] if client else None,
                port=client[1] if client else None,
                host=host,
                headers=_joined(pairs),
                reason=reason,
            )
        )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: _Refused) -> None:
        body = (exc.message + "\n").encode("latin-1")
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
        ]
        if scope["type"] == "websocket":
            message = await receive()
            if message.get("type") != "websocket.connect":  # pragma: no cover - per the spec
                return
            if "websocket.http.response" in scope.get("extensions", {}):
                await send(
                    {
                        "type": "websocket.http.response.start",
                        "status": exc.status,
                        "headers": headers,
                    }
                )
                await send({"type": "websocket.http.response.body", "body": body})
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": exc.status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body}
        )

    async def _deny(
        self, scope: Scope, receive: Receive, send: Send, forbidden_ip: str | None
    ) -> None:
        headers = forbidden_headers(forbidden_ip)
        if scope["type"] == "websocket":
            message = await receive()
            if message.get("type") != "websocket.connect":  # pragma: no cover - per the spec
                return
            if "websocket.http.response" in scope.get("extensions", {}):
                await send(
                    {"type": "websocket.http.response.start", "status": 403, "headers": headers}
                )
                await send({"type": "websocket.http.response.body", "body": FORBIDDEN_BODY})
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        body = b"" if scope.get("method") == "HEAD" else FORBIDDEN_BODY
        await send({"type": "http.response.body", "body": body})


def _joined(pairs: list[tuple[str, str]] | None) -> dict[str, str]:
    """Header copies joined with ``, ``, by documented name (for the decision log)."""
    out: dict[str, str] = {}
    for name, value in pairs or ():
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


class AclWSGIMiddleware(_Guard):
    """WSGI middleware: the site's access restrictions in front of a WSGI app.

    The arguments are those of :class:`AclMiddleware`. The client is ``REMOTE_ADDR``, the
    host ``HTTP_HOST``. WSGI servers join the copies of a repeated header with commas,
    which the header filters read as they read separate copies. A denied request gets
    ``403 Ip Forbidden`` (the reason phrase of App Service) with ``Content-Type:
    text/html``, ``x-ms-forbidden-ip`` and :data:`FORBIDDEN_BODY`.
    """

    def __init__(
        self,
        app: WSGIApp,
        rules: RulesInput | LiveRules,
        *,
        trusted_proxies: Iterable[str] | None = None,
        trusted_hops: int | None = None,
        forwarded_header: str = "X-Forwarded-For",
        reload_interval: float | None = None,
        decision_log: Any = None,
        **load_options: Any,
    ) -> None:
        super().__init__(
            rules,
            trusted_proxies=trusted_proxies,
            trusted_hops=trusted_hops,
            forwarded_header=forwarded_header,
            reload_interval=reload_interval,
            decision_log=decision_log,
            load_options=load_options,
        )
        self.app = app
        self._read: tuple[RulesSnapshot | None, tuple[str, ...]] = (None, ())
        """The environ keys read for the caps, for one snapshot."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            decision = self._decide(environ)
        except _Refused as exc:
            self._failed(environ, exc)
            body = (exc.message + "\n").encode("latin-1")
            phrase = "Bad Request" if exc.status == 400 else "Request Header Fields Too Large"
            start_response(
                f"{exc.status} {phrase}",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]
        except Exception as exc:
            self._failed(environ, exc)
            forbidden = None if isinstance(exc, _Rewritten) else _bracketed(_wsgi_peer(environ))
        else:
            if decision.allowed:
                return self.app(environ, start_response)
            forbidden = decision.forbidden_ip
        headers = [("Content-Type", "text/html"), ("Content-Length", str(len(FORBIDDEN_BODY)))]
        if forbidden:
            headers.append(("x-ms-forbidden-ip", forbidden))
        start_response("403 Ip Forbidden", headers)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else FORBIDDEN_BODY]

    def _decide(self, environ: dict[str, Any]) -> Decision:
        snapshot = self.rules.current
        trust = self.trust
        host = environ.get("HTTP_HOST")
        peer = _wsgi_peer(environ)
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        total = 0
        read = self._read
        if read[0] is not snapshot:
            keys = _WSGI_KEYS if self.log is not None else snapshot.wsgi_keys
            names = ["HTTP_HOST", "HTTP_X_FORWARDED_FOR", *(key for key, _ in keys)]
            if trust is not None:
                names.append(trust.wsgi_key)
            read = self._read = (snapshot, tuple(dict.fromkeys(names)))
        for key in read[1]:
            value = environ.get(key)
            if value:
                size = len(value)
                total += size
                if size > MAX_HEADER_BYTES or total > MAX_HEADERS_BYTES:
                    raise _too_large(key[5:].replace("_", "-").title(), size)
        if host is not None and "," in host:  # WSGI servers join the copies with commas
            raise _BadHost("more than one Host header")
        target = environ.get("REQUEST_URI") or environ.get("RAW_URI")
        if target:
            authority = _authority_of(target.encode("latin-1"))
            if (
                authority is not None
                and authority.decode("latin-1").lower() != (host or "").lower()
            ):
                raise _BadHost("the request target's authority and the Host header disagree")
        if forwarded and peer and _peer_in_chain(peer, [forwarded]):
            raise _Rewritten
        if trust is not None:
            chain = environ.get(trust.wsgi_key)
            ip = trust.walk(peer, (chain,) if chain else ())
        else:
            ip = peer
        if ip is None:
            raise _Unresolved
        keys = snapshot.wsgi_keys if self.log is None else _WSGI_KEYS
        pairs = [(name, environ[key]) for key, name in keys if key in environ] if keys else None
        try:
            decision = snapshot.decide(ip, host, pairs, all_four=self.log is not None)
        except RequestError:
            raise _Unresolved from None
        if self.log is not None:
            port = environ.get("REMOTE_PORT") if ip == peer else None
            self.log.write(
                DecisionLog.record(
                    decision,
                    client=ip,
                    port=int(port) if port and str(port).isdigit() else None,
                    host=host,
                    headers=_joined(pairs),
                )
            )
        return decision

    def _failed(self, environ: dict[str, Any], exc: Exception) -> None:
        if isinstance(exc, _Rewritten):
            reason = "client address rewritten by the server"
            _warn_rewritten()
        elif isinstance(exc, _Unresolved):
            reason = "client address unknown"
            logger.debug("denied: the client address cannot be told")
        elif isinstance(exc, _Refused):
            reason = exc.message
            logger.info("refused (%s): %s", exc.status, exc.message)
        else:
            reason = "internal error"
            logger.error("deciding a request failed; it is denied (fail closed)", exc_info=exc)
        if self.log is None:
            return
        try:
            port = environ.get("REMOTE_PORT")
            self.log.write(
                DecisionLog.record(
                    None,
                    client=_wsgi_peer(environ),
                    port=int(port) if port and str(port).isdigit() else None,
                    host=_capped(environ.get("HTTP_HOST")),
                    headers={
                        name: environ[key]
                        for key, name in _WSGI_KEYS
                        if key in environ and _capped(environ[key]) is not None
                    },
                    reason=reason,
                )
            )
        except Exception:  # pragma: no cover
            logger.exception("writing the decision log failed")


def _capped(value: str | None) -> str | None:
    """``value``, or None when it is longer than :data:`MAX_HEADER_BYTES` (not logged)."""
    return value if value is None or len(value) <= MAX_HEADER_BYTES else None


def _wsgi_peer(environ: dict[str, Any]) -> str | None:
    """The TCP peer of a WSGI request: ``REMOTE_ADDR``, or the one werkzeug's ``ProxyFix``
    (wrapped around the middleware) replaced, which it keeps in ``werkzeug.proxy_fix.orig``."""
    original = environ.get("werkzeug.proxy_fix.orig")
    if isinstance(original, dict) and "REMOTE_ADDR" in original:
        return original["REMOTE_ADDR"] or None
    return environ.get("REMOTE_ADDR") or None

"""The decision service for gateways: nginx ``auth_request`` and Envoy ``ext_authz`` (HTTP).

A plain ASGI application, run by ``acl serve`` on uvicorn. The gateway asks it about each
request it receives; the service answers 200 (allow) or 403 (deny) as the App Service front
end would decide, with the decision in headers:

============================  ================================================================
endpoint                      answer
============================  ================================================================
``/auth`` (any method)        the decision; the client address from ``X-Real-IP`` (nginx mode)
``/check...`` (envoy mode)    the decision for an ``ext_authz`` HTTP check request
``/healthz``                  ``200`` and the rule set version, as JSON
``/metrics``                  Prometheus text: decisions, latency histogram, rule set version
``POST /-/reload``            reload the rules (loopback peer, ``X-Acl-Reload`` header)
============================  ================================================================

A decision's answer carries ``x-acl-decision`` (``allow``/``deny``) and ``x-acl-rule`` (the
deciding rule's name, ``#position`` for an unnamed rule, or the reason: ``default``,
``private-endpoint``, ``public-access-disabled``); a deny also has ``x-ms-forbidden-ip``,
``Content-Type: text/html`` and the HTML page of App Service. When the client address cannot
be told (the peer is not a trusted gateway, the header is missing or malformed) the answer is
403 with ``x-acl-rule: client-unknown``: the service fails closed.

>>> import acl
>>> from acl.gateway import DecisionService
>>> from acl.testing import call_asgi
>>> service = DecisionService(acl.loads('[{"name": "office", "priority": 1, "ipAddress": "198.51.100.0/24"}]'))
>>> answer = call_asgi(service, path="/auth", headers={"X-Real-IP": "203.0.113.9"})
>>> answer.status, answer.header("x-acl-rule"), answer.header("x-ms-forbidden-ip")
(403, 'default', '203.0.113.9')
>>> call_asgi(service, path="/auth", headers={"X-Real-IP": "198.51.100.7"}).header("x-acl-rule")
'office'
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import socket
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any, Literal

from ..addresses import parse_address, split_host_port
from ..decision import Decision
from ..errors import AddressError, RequestError
from .decisionlog import DecisionLog, as_decision_log
from .live import LiveRules, RulesInput, RulesSnapshot, live_rules
from .protocol import (
    FILTER_KEYS,
    FORBIDDEN_BODY,
    FORBIDDEN_LENGTH,
    MAX_HEADER_BYTES,
    MAX_HEADERS_BYTES,
    Receive,
    Refused,
    Scope,
    Send,
    checked_host,
    header_text,
    joined,
    too_large,
)
from .trust import ProxyTrust

__all__ = [
    "DEFAULT_TRUSTED_PROXIES",
    "LATENCY_BUCKETS",
    "DecisionService",
    "Metrics",
    "run",
]

logger = logging.getLogger("acl.serve")

Mode = Literal["nginx", "envoy"]

DEFAULT_TRUSTED_PROXIES = ("127.0.0.0/8", "::1")
"""Peers whose client header is believed unless told otherwise: the gateway on this host."""

LATENCY_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
)
"""The upper bounds (seconds) of the decision latency histogram."""


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        version, value = parse_address(address)
    except AddressError:
        return False
    return (version == 4 and value >> 24 == 127) or (version == 6 and value == 1)


def _is_local_host(host: str) -> bool:
    """A Host that names no DNS name: ``localhost`` or an IP address, with or without a port."""
    name = split_host_port(host.strip()).lower()
    if name == "localhost":
        return True
    try:
        parse_address(name)
    except AddressError:
        return False
    return True


class Metrics:
    """The service's counters and latency histogram, rendered in Prometheus text format.

    Updated and read on the event loop only (no locks needed).
    """

    def __init__(self) -> None:
        self.decisions: dict[tuple[str, str, str], int] = {}
        """(action, collection, rule) -> decisions."""
        self.fail_closed: dict[str, int] = {}
        """reason -> requests denied without a decision."""
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0
        self.started = time.time()
        self.transports: dict[str, Metrics] = {}
        """Counters of other transports (``"grpc"``), summed into ``/metrics``."""

    def observe(self, seconds: float) -> None:
        """Record one decision's latency."""
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.latency_count += 1

    def render(self, rules: LiveRules) -> str:
        """The Prometheus text exposition (format 0.0.4), made by :mod:`acl.gateway.metrics`."""
        from .metrics import exposition

        return exposition(self, rules, None)[0].decode("utf-8")


_Entry = tuple[Any, tuple[str, str, str], list[tuple[bytes, bytes]], bool]


class DecisionService:
    """The decision service as an ASGI application.

    Args:
        rules: a rules file, a Site, an Engine, or a :class:`~acl.gateway.LiveRules`.
        mode: ``"nginx"`` (``auth_request``) or ``"envoy"`` (``ext_authz`` HTTP service).
        client_header: the header that carries the client address. Default: ``X-Real-IP``
            in nginx mode; ``X-Forwarded-For`` in envoy mode, where ``x-envoy-external-address``
            wins when present.
        trusted_proxies: peers (CIDRs) whose client header is believed; default loopback.
            A check from any other peer is denied: the peer is the gateway, never the client.
        trusted_hops: how many addresses from the right of the client header to step
            (default: envoy mode 1, the address Envoy appended; nginx mode: walk while the
            addresses are trusted proxies, as ``real_ip_recursive on``).
        envoy_prefix: in envoy mode, the path prefix of check requests (Envoy's
            ``path_prefix``); other paths than the service's own are 404.
        decision_log: one ``AppServiceIPSecAuditLogs`` record per decision (see
            :class:`~acl.gateway.DecisionLog`).
        reload_interval: seconds between checks of the rules file for changes.
        reload_token: what ``POST /-/reload`` must carry in its ``X-Acl-Reload`` header
            (default: ``1``, which still keeps cross-site forms out).
        load_options: :func:`acl.load` keywords when ``rules`` is a file.
    """

    def __init__(
        self,
        rules: RulesInput | LiveRules,
        *,
        mode: Mode = "nginx",
        client_header: str | None = None,
        trusted_proxies: Iterable[str] | None = DEFAULT_TRUSTED_PROXIES,
        trusted_hops: int | None = None,
        envoy_prefix: str = "/check",
        decision_log: Any = None,
        reload_interval: float | None = None,
        reload_token: str | None = None,
        **load_options: Any,
    ) -> None:
        if mode not in ("nginx", "envoy"):
            raise ValueError(f"mode {mode!r} is unknown: expected 'nginx' or 'envoy'")
        self.rules = live_rules(rules, reload_interval=reload_interval, **load_options)
        if client_header is None:
            client_header = "X-Forwarded-For" if mode == "envoy" else "X-Real-IP"
        if mode == "envoy" and trusted_hops is None:
            trusted_hops = 1
        self.trust = ProxyTrust(
            trusted_proxies=trusted_proxies,
            trusted_hops=trusted_hops,
            header=client_header,
            required=True,
        )
        if not self.trust.enabled:
            raise ValueError(
                "the decision service needs trusted proxies or trusted hops: its peer is the "
                "gateway, and the client address comes from the gateway's header"
            )
        self.mode: Mode = mode
        if not envoy_prefix.startswith("/") or envoy_prefix.rstrip("/") in (
            "",
            "/healthz",
            "/metrics",
            "/-",
        ):
            raise ValueError(
                f"envoy prefix {envoy_prefix!r} must be a path of its own, like /check"
            )
        self.envoy_prefix = envoy_prefix.rstrip("/")
        if reload_token is not None and (not reload_token or not reload_token.isprintable()):
            raise ValueError("the reload token must be non-empty printable text")
        self.reload_token = reload_token
        """What ``POST /-/reload`` must carry in ``X-Acl-Reload`` (None: ``1``)."""
        self.log = as_decision_log(decision_log)
        self.metrics = Metrics()
        self._cache: dict[int, _Entry] = {}
        self._cache_for: RulesSnapshot | None = None
        self._reloading: threading.Lock = threading.Lock()
        self.on_close: list[Callable[[], None]] = []
        """Called first by :meth:`close` (the gRPC server stops there)."""

    # ---------------------------------------------------------------- the ASGI app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path == "/auth" or path.startswith("/auth/") or self._is_envoy_check(path):
                await self._check(scope, send)
            elif path == "/healthz":
                await self._healthz(send)
            elif path == "/metrics":
                from .metrics import exposition

                accept = next((v for k, v in scope["headers"] if k.lower() == b"accept"), b"")
                await _respond(
                    send, 200, *exposition(self.metrics, self.rules, accept.decode("latin-1"))
                )
            elif path == "/-/reload":
                await self._reload_endpoint(scope, send)
            else:
                await _respond(send, 404, b"not found\n", b"text/plain")
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        # websocket and other scopes: not served (closing without a response refuses them)

    def _is_envoy_check(self, path: str) -> bool:
        prefix = self.envoy_prefix
        return self.mode == "envoy" and (path == prefix or path.startswith(prefix + "/"))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _check(self, scope: Scope, send: Send) -> None:
        started = time.perf_counter()
        try:
            snapshot, decision = self._decide(scope)
        except Exception as exc:
            if isinstance(exc, _NoClient):
                reason = "client-unknown"
            elif isinstance(exc, Refused):
                reason = exc.reason
                logger.info("check refused (fail closed): %s", exc.message)
            else:
                reason = "error"
            if reason == "error":
                logger.error("deciding a check failed; it is denied (fail closed)", exc_info=exc)
            self.metrics.fail_closed[reason] = self.metrics.fail_closed.get(reason, 0) + 1
            headers = [
                (b"content-type", b"text/html"),
                (b"content-length", FORBIDDEN_LENGTH),
                (b"x-acl-decision", b"deny"),
                (b"x-acl-rule", reason.encode("ascii")),
            ]
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": FORBIDDEN_BODY})
            self.metrics.observe(time.perf_counter() - started)
            return
        entry = self._entry(snapshot, decision)
        if entry[3]:
            await send({"type": "http.response.start", "status": 200, "headers": entry[2]})
            await send({"type": "http.response.body", "body": b""})
        else:
            headers = [
                *entry[2],
                (b"x-ms-forbidden-ip", (decision.forbidden_ip or "").encode("latin-1")),
            ]
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": FORBIDDEN_BODY})
        decisions = self.metrics.decisions
        key = entry[1]
        decisions[key] = decisions.get(key, 0) + 1
        self.metrics.observe(time.perf_counter() - started)

    def _decide(self, scope: Scope) -> tuple[RulesSnapshot, Decision]:
        snapshot = self.rules.current
        trust = self.trust
        key = trust.key
        log = self.log
        keys = snapshot.header_keys if log is None else FILTER_KEYS
        hosts: list[bytes] = []
        external: str | None = None
        chain: list[str] = []
        pairs: list[tuple[str, str]] | None = None
        envoy = self.mode == "envoy"
        total = 0
        for name, value in scope["headers"]:
            name = name.lower()  # ASGI servers should lower-case names, but need not
            if name == b"host" or name == b":authority":
                hosts.append(value)
            elif not (
                name == key
                or (envoy and name == b"x-envoy-external-address")
                or (keys and name in keys)
            ):
                continue
            size = len(value)
            total += size
            if size > MAX_HEADER_BYTES or total > MAX_HEADERS_BYTES:
                raise too_large(name.decode("latin-1"), size)
            if name == b"host" or name == b":authority":
                continue
            if name == key:
                chain.append(value.decode("latin-1"))
            elif envoy and name == b"x-envoy-external-address":
                external = value.decode("latin-1").strip()
            if keys:
                spelled = keys.get(name)
                if spelled is not None:
                    if pairs is None:
                        pairs = []
                    pairs.append((spelled, value.decode("latin-1")))
        host = checked_host(scope, hosts)
        client = scope.get("client")
        peer = client[0] if client else None
        ip: str | None
        if external is not None and peer is not None and (not trust.proxies or trust.trusts(peer)):
            ip = external
        else:
            ip = trust.walk(peer, chain)
        if ip is None:
            raise _NoClient
        try:
            decision = snapshot.decide(ip, host, pairs, all_four=log is not None)
        except RequestError:  # what the gateway sent is not an address
            raise _NoClient from None
        if log is not None:
            log.write(
                DecisionLog.record(decision, client=ip, port=None, host=host, headers=joined(pairs))
            )
        return snapshot, decision

    def _entry(self, snapshot: RulesSnapshot, decision: Decision) -> _Entry:
        """The metrics key and the response headers of an outcome, made once per outcome."""
        if snapshot is not self._cache_for:
            self._cache = {}
            self._cache_for = snapshot
        outcome = decision.outcome
        entry = self._cache.get(id(outcome))
        if entry is not None and entry[0] is outcome:
            return entry
        decided_by = decision.decided_by
        rule = header_text(decided_by)
        allowed = decision.allowed
        if allowed:
            headers = [
                (b"content-length", b"0"),
                (b"x-acl-decision", b"allow"),
                (b"x-acl-rule", rule),
            ]
        else:
            headers = [
                (b"content-type", b"text/html"),
                (b"content-length", FORBIDDEN_LENGTH),
                (b"x-acl-decision", b"deny"),
                (b"x-acl-rule", rule),
            ]
        entry = (outcome, (decision.action.word, decision.collection, decided_by), headers, allowed)
        self._cache[id(outcome)] = entry
        return entry

    async def _healthz(self, send: Send) -> None:
        snapshot = self.rules.current
        body = json.dumps(
            {
                "status": "ok",
                "mode": self.mode,
                "version": snapshot.version,
                "sha256": snapshot.digest,
                "source": snapshot.source,
                "last_reload_error": self.rules.last_error,
            }
        ).encode("utf-8")
        await _respond(send, 200, body + b"\n", b"application/json")

    def _reload_refusal(self, scope: Scope) -> bytes | None:
        """Why a reload request is refused (None: it is not). The peer (the real TCP peer:
        ``acl serve`` runs uvicorn with its proxy headers off) must be loopback; the request
        must carry ``X-Acl-Reload`` (``1``, or the token of ``--reload-token-file``), which
        a cross-site form cannot send and a cross-site script cannot without a CORS
        preflight, which is refused; and its Host must be an address or ``localhost``, which
        a DNS-rebinding page cannot forge."""
        client = scope.get("client")
        if not _is_loopback(client[0] if client else None):
            return b"reload is allowed from loopback only\n"
        given: bytes | None = None
        hosts: list[bytes] = []
        for name, value in scope["headers"]:
            name = name.lower()
            if name == b"x-acl-reload":
                given = value if given is None else b"\x00"  # two copies: refused
            elif name == b"host":
                hosts.append(value)
        expected = self.reload_token.encode("utf-8") if self.reload_token else b"1"
        if given is None or not hmac.compare_digest(given, expected):
            what = "the reload token" if self.reload_token else "1"
            return f"reload needs the header X-Acl-Reload: <{what}>\n".encode()
        if len(hosts) > 1 or (hosts and not _is_local_host(hosts[0].decode("latin-1"))):
            return b"reload needs Host: an IP address or localhost\n"
        return None

    async def _reload_endpoint(self, scope: Scope, send: Send) -> None:
        if scope["method"] != "POST":
            await _respond(send, 405, b"use POST\n", b"text/plain", [(b"allow", b"POST")])
            return
        refusal = self._reload_refusal(scope)
        if refusal is not None:
            await _respond(send, 403, refusal, b"text/plain")
            return
        loop = asyncio.get_running_loop()
        error: str | None
        try:
            ok = await loop.run_in_executor(None, self.reload)
        except TypeError as exc:  # rules given as a Site or an Engine: nothing to reload
            ok, error = False, str(exc)
        else:
            error = self.rules.last_error
        body = json.dumps(
            {"reloaded": ok, "version": self.rules.current.version, "error": None if ok else error}
        ).encode("utf-8")
        await _respond(send, 200 if ok else 500, body + b"\n", b"application/json")

    # ---------------------------------------------------------------- control

    def reload(self) -> bool:
        """Reload the rules (one reload at a time); False when the new ones did not load."""
        with self._reloading:
            return self.rules.reload()

    def reload_in_background(self) -> None:
        """Reload in a thread: requests go on being answered meanwhile."""
        threading.Thread(target=self._reload_quietly, name="acl-reload", daemon=True).start()

    def hangup(self) -> None:
        """What SIGHUP does: reopen the decision log (as logrotate expects: the renamed file
        is closed, new records go to a new file at the path) and reload the rules."""
        threading.Thread(target=self._hangup, name="acl-hangup", daemon=True).start()

    def _hangup(self) -> None:  # off the signal handler: the log's lock may be held there
        if self.log is not None:
            try:
                self.log.reopen()
            except OSError as exc:
                logger.error("reopening the decision log failed; it stays as it was: %s", exc)
        self._reload_quietly()

    def _reload_quietly(self) -> None:
        try:
            self.reload()
        except Exception:  # pragma: no cover - reload() logs load errors itself
            logger.exception("reload failed")

    def close(self) -> None:
        """Stop the rules file watcher and close the decision log."""
        for hook in self.on_close:
            hook()
        self.rules.close()
        if self.log is not None:
            self.log.close()


class _NoClient(Exception):
    """The client address cannot be told from the check request."""


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    headers.extend(extra or ())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def run(
    service: DecisionService,
    host: str = "127.0.0.1",
    port: int = 9180,
    *,
    log_level: str = "info",
    access_log: bool = False,
    keep_alive: float = 75.0,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve ``service`` on uvicorn until SIGINT or SIGTERM; SIGHUP reloads the rules.

    The socket is bound (``port`` 0 picks a free one) and listening before ``announce`` is
    called with ``http://HOST:PORT``. ``keep_alive`` is the idle keep-alive timeout: keep it
    above the gateway's (nginx's upstream ``keepalive_timeout`` is 60 s), so that the gateway
    never reuses a connection the service is closing.
    """
    try:
        import prometheus_client  # noqa: F401  (/metrics)
        import uvicorn
    except ImportError:
        raise ImportError(
            "acl serve needs uvicorn (with httptools and uvloop for speed) and "
            "prometheus_client: pip install 'acl[serve]'"
        ) from None

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        service,
        # never let uvicorn rewrite the peer from X-Forwarded-For (its default for peers in
        # FORWARDED_ALLOW_IPS): the service's own ProxyTrust is the only reader of
        # forwarding headers, and the reload gate must see the real TCP peer
        proxy_headers=False,
        forwarded_allow_ips="",
        lifespan="on",
        log_level=log_level,
        access_log=access_log,
        server_header=False,
        timeout_keep_alive=int(keep_alive),
        backlog=2048,
    )
    server = uvicorn.Server(config)
    on_main = threading.current_thread() is threading.main_thread()
    previous: Any = None
    if on_main and hasattr(signal, "SIGHUP"):
        previous = signal.signal(signal.SIGHUP, lambda signum, frame: service.hangup())
    if announce is not None:
        shown = f"[{host}]" if ":" in host else host
        announce(f"http://{shown}:{bound}")
    try:
        server.run(sockets=[sock])
    finally:
        if on_main and hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, previous if previous is not None else signal.SIG_DFL)
        service.close()
        sock.close()

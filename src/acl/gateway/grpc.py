"""Envoy ``ext_authz`` over gRPC: ``envoy.service.auth.v3.Authorization/Check``.

``acl serve --grpc-listen HOST:PORT`` answers Envoy's gRPC check requests next to the HTTP
endpoints, from the same rules (:class:`~acl.gateway.LiveRules`: a reload is seen by both),
the same trusted proxies and the same decision log; ``/metrics`` counts the gRPC checks too.
It needs ``grpcio`` and Envoy's generated protos (``xds-protos``): ``pip install 'acl[grpc]'``.

What a check request is read for:

- **the client**: ``attributes.source.address.socket_address.address``, the downstream
  address as Envoy saw it. The forwarding headers (``x-envoy-external-address``, then
  ``X-Forwarded-For`` walked from the right as nginx's ``real_ip_recursive on``) are believed
  only when that address is itself a trusted proxy (a load balancer in front of Envoy); a
  client outside the trusted proxies cannot choose its address by sending them.
- **the gateway**: the gRPC peer is Envoy. As in HTTP mode, a check from a peer outside the
  trusted proxies is denied: the peer is never the client.
- **the host** (main or scm rules): ``attributes.request.http.host`` (Envoy's ``:authority``).
- **the header filters**: ``attributes.request.http.headers`` (lower-case names; Envoy joins
  the copies of a repeated header with commas, which the filters read as copies), or
  ``header_map`` when Envoy sends raw headers (``encode_raw_headers``).

An allow answers ``OK`` with an ``ok_response`` that sets ``x-acl-decision`` and
``x-acl-rule`` on the upstream request (overwriting what the client sent). A deny answers
``PERMISSION_DENIED`` (``google.rpc.Code`` 7) with a ``denied_response``: HTTP 403,
``Content-Type: text/html``, ``x-ms-forbidden-ip: <client>`` (IPv6 in brackets) and the App
Service page. A check whose client cannot be told (an untrusted peer, no or a malformed
source address) or that fails is denied too (fail closed), without ``x-ms-forbidden-ip`` and
with the reason in the status message. Every answer carries the decision in its
``dynamic_metadata`` (``decision``, ``rule``, ``client``) for Envoy's access log.

>>> import acl
>>> from acl.gateway import DecisionService
>>> from envoy.service.auth.v3 import external_auth_pb2 as pb
>>> authz = GrpcAuthorization(DecisionService(acl.loads('[{"name": "office", "priority": 1, "ipAddress": "198.51.100.0/24"}]')))
>>> check = pb.CheckRequest()
>>> check.attributes.source.address.socket_address.address = "203.0.113.9"
>>> answer = authz.check(check, peer="127.0.0.1")
>>> answer.status.code, answer.denied_response.status.code, [(h.header.key, h.header.value) for h in answer.denied_response.headers]
(7, 403, [('content-type', 'text/html'), ('x-ms-forbidden-ip', '203.0.113.9')])
>>> check.attributes.source.address.socket_address.address = "198.51.100.7"
>>> answer = authz.check(check, peer="127.0.0.1")
>>> answer.status.code, [(h.header.key, h.header.value) for h in answer.ok_response.headers]
(0, [('x-acl-decision', 'allow'), ('x-acl-rule', 'office')])
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from envoy.type.v3 import http_status_pb2
from google.protobuf import struct_pb2
from google.rpc import code_pb2, status_pb2

from ..errors import RequestError
from .decisionlog import DecisionLog
from .protocol import (
    FILTER_KEYS,
    FORBIDDEN_BODY,
    MAX_HEADER_BYTES,
    MAX_HEADERS_BYTES,
    header_text,
    joined,
)
from .service import Metrics
from .trust import ProxyTrust

if TYPE_CHECKING:
    from ..decision import Decision
    from .service import DecisionService

__all__ = ["GrpcAuthorization", "GrpcServer", "parse_peer"]

logger = logging.getLogger("acl.serve")

_OVERWRITE = base_pb2.HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD
_FORBIDDEN_TEXT = FORBIDDEN_BODY.decode("utf-8")
_FILTER_NAMES: dict[str, str] = {k.decode("ascii"): v for k, v in FILTER_KEYS.items()}
"""Lower-case header name to the documented spelling, for the four filters."""


def parse_peer(peer: str | None) -> str | None:
    """The address of a gRPC peer string (``ipv4:127.0.0.1:5050``, ``ipv6:[::1]:5050``);
    None for other kinds (``unix:``) or none.

    >>> parse_peer("ipv4:127.0.0.1:5050"), parse_peer("ipv6:%5B::1%5D:5050"), parse_peer("unix:/x")
    ('127.0.0.1', '::1', None)
    """
    if not peer:
        return None
    kind, _, rest = peer.partition(":")
    rest = unquote(rest)
    if kind == "ipv4":
        return rest.rpartition(":")[0] or None
    if kind == "ipv6":
        host = rest.rpartition(":")[0]
        return host[1:-1] if host.startswith("[") and host.endswith("]") else (host or None)
    return None


class _NoClient(Exception):
    """The client address cannot be told from the check request (the message says why)."""


class _Refused(Exception):
    """The check is refused before any decision, as over HTTP: ``reason`` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _Budget:
    """The header caps of the HTTP side (:data:`~acl.gateway.MAX_HEADER_BYTES` per
    header, :data:`~acl.gateway.MAX_HEADERS_BYTES` in all), over the headers read."""

    def __init__(self) -> None:
        self.total = 0
        self.taken: set[str] = set()

    def take(self, name: str, value: str) -> str:
        """``value``, counted once per header name (lower case)."""
        key = name.lower()
        if key in self.taken and key != "host":
            return value
        self.taken.add(key)
        size = len(value.encode("utf-8", "surrogatepass"))
        self.total += size
        if size > MAX_HEADER_BYTES or self.total > MAX_HEADERS_BYTES:
            raise _Refused(
                "header-too-large",
                f"the {name} header is {size} bytes; at most {MAX_HEADER_BYTES} per header "
                f"and {MAX_HEADERS_BYTES} in all are read",
            )
        return value


def _one_host(http: Any, headers: Any, budget: _Budget) -> str | None:
    """The request's host, refusing what could make acl and the app see different hosts:
    copies joined with commas, or a ``host`` header that disagrees with the authority."""
    candidates = [
        budget.take(name, value)
        for name, value in (
            ("host", http.host),
            (":authority", headers.get(":authority")),
            ("host", headers.get("host")),
        )
        if value
    ]
    if not candidates:
        return None
    if (
        any("," in value for value in candidates)
        or len({value.strip().lower() for value in candidates}) > 1
    ):
        raise _Refused("bad-host", "more than one host, or hosts that disagree")
    return candidates[0]


def _header(key: str, value: str, *, overwrite: bool = False) -> base_pb2.HeaderValueOption:
    option = base_pb2.HeaderValueOption(header=base_pb2.HeaderValue(key=key, value=value))
    if overwrite:
        option.append_action = _OVERWRITE
    return option


def _metadata(decision: str, rule: str, client: str | None) -> struct_pb2.Struct:
    data = struct_pb2.Struct()
    data.update({"decision": decision, "rule": rule, "client": client or ""})
    return data


def _denied(message: str, forbidden_ip: str | None, rule: str, client: str | None) -> Any:
    headers = [_header("content-type", "text/html")]
    if forbidden_ip is not None:
        headers.append(_header("x-ms-forbidden-ip", forbidden_ip))
    return external_auth_pb2.CheckResponse(
        status=status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message=message),
        denied_response=external_auth_pb2.DeniedHttpResponse(
            status=http_status_pb2.HttpStatus(code=http_status_pb2.Forbidden),
            headers=headers,
            body=_FORBIDDEN_TEXT,
        ),
        dynamic_metadata=_metadata("deny", rule, client),
    )


class GrpcAuthorization:
    """The ``Check`` logic over a :class:`~acl.gateway.DecisionService`: its rules, trusted
    proxies and decision log, with counters of its own (``service.metrics.transports``).

    :meth:`check` is synchronous and is called from one thread only (the gRPC server's
    event loop), so its counters need no lock.
    """

    def __init__(self, service: DecisionService) -> None:
        self.service = service
        self.rules = service.rules
        self.gateway = service.trust
        """Whose checks are answered at all: the service's trusted proxies (the peer is Envoy)."""
        proxies = [str(prefix) for prefix in service.trust.proxies]
        self.trust = ProxyTrust(trusted_proxies=proxies, header="X-Forwarded-For")
        """Whose forwarding headers are believed: the same proxies, from the source address."""
        self.metrics = Metrics()
        service.metrics.transports["grpc"] = self.metrics

    def check(self, request: Any, peer: str | None) -> Any:
        """The ``CheckResponse`` to a ``CheckRequest`` from the gRPC peer address ``peer``."""
        started = time.perf_counter()
        metrics = self.metrics
        try:
            decision, ip, host, pairs, port = self._decide(request, peer)
        except Exception as exc:
            if isinstance(exc, _Refused):
                reason = exc.reason
            else:
                reason = "client-unknown" if isinstance(exc, _NoClient) else "error"
            if isinstance(exc, _Refused):
                message = str(exc)
            elif reason == "error":
                logger.error(
                    "deciding a gRPC check failed; it is denied (fail closed)", exc_info=exc
                )
                message = "internal error (fail closed)"
            else:
                message = f"client address unknown: {exc}"
            metrics.fail_closed[reason] = metrics.fail_closed.get(reason, 0) + 1
            response = _denied(message, None, reason, None)
            metrics.observe(time.perf_counter() - started)
            return response
        rule = decision.decided_by
        key = (decision.action.word, decision.collection, rule)
        metrics.decisions[key] = metrics.decisions.get(key, 0) + 1
        if decision.allowed:
            response = external_auth_pb2.CheckResponse(
                status=status_pb2.Status(code=code_pb2.OK),
                ok_response=external_auth_pb2.OkHttpResponse(
                    headers=[
                        _header("x-acl-decision", "allow", overwrite=True),
                        _header("x-acl-rule", header_text(rule).decode("ascii"), overwrite=True),
                    ]
                ),
                dynamic_metadata=_metadata("allow", rule, ip),
            )
        else:
            response = _denied(f"denied by {rule}", decision.forbidden_ip or "", rule, ip)
        log = self.service.log
        if log is not None:
            log.write(
                DecisionLog.record(decision, client=ip, port=port, host=host, headers=joined(pairs))
            )
        metrics.observe(time.perf_counter() - started)
        return response

    def _decide(
        self, request: Any, peer: str | None
    ) -> tuple[Decision, str, str | None, list[tuple[str, str]] | None, int | None]:
        gateway = self.gateway
        if gateway.proxies and (peer is None or not gateway.trusts(peer)):
            raise _NoClient(f"the gRPC peer {peer or '(none)'} is not a trusted proxy")
        attributes = request.attributes
        socket_address = attributes.source.address.socket_address
        source: str = socket_address.address
        if not source:
            raise _NoClient("the check request has no source address")
        http = attributes.request.http
        headers: Any = http.headers
        if not headers and http.header_map.headers:
            headers = _raw_headers(http.header_map.headers)
        budget = _Budget()
        host = _one_host(http, headers, budget)
        snapshot = self.rules.current
        log = self.service.log
        pairs: list[tuple[str, str]] | None = None
        names: Iterable[tuple[str, str]]
        if log is not None:
            names = _FILTER_NAMES.items()
        else:
            names = ((k.decode("ascii"), v) for k, v in snapshot.header_keys.items())
        for name, spelled in names:
            value = headers.get(name)
            if value is not None:
                if pairs is None:
                    pairs = []
                pairs.append((spelled, budget.take(spelled, value)))
        trust = self.trust
        ip = source
        port: int | None = socket_address.port_value
        if trust.proxies and trust.trusts(source):
            external = headers.get("x-envoy-external-address")
            if external:
                budget.take("x-envoy-external-address", external)
                ip = external.strip()
            else:
                chain = headers.get("x-forwarded-for")
                if chain:
                    budget.take("x-forwarded-for", chain)
                walked = trust.walk(source, [chain] if chain else [])
                if walked is None:  # pragma: no cover - not required: never None here
                    raise _NoClient("the forwarding header cannot be walked")
                ip = walked
            if ip != source:
                port = None
        try:
            decision = snapshot.decide(ip, host, pairs, all_four=log is not None)
        except RequestError:
            shown = ip if len(ip) <= 64 else ip[:61] + "..."
            raise _NoClient(f"{shown!r} is not an IP address") from None
        return decision, ip, host, pairs, port


def _raw_headers(entries: Any) -> dict[str, str]:
    """Envoy's ``header_map`` (raw headers) as one value per lower-case name, copies joined
    with commas as in the ``headers`` map."""
    out: dict[str, str] = {}
    for entry in entries:
        key = entry.key.lower()
        value = entry.raw_value.decode("latin-1") if entry.raw_value else entry.value
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


class _Servicer(external_auth_pb2_grpc.AuthorizationServicer):  # type: ignore[misc]
    def __init__(self, authorization: GrpcAuthorization) -> None:
        self.authorization = authorization

    async def Check(self, request: Any, context: Any) -> Any:
        return self.authorization.check(request, parse_peer(context.peer()))


class GrpcServer:
    """The gRPC ``Authorization`` service on ``host:port``, served by ``grpc.aio`` on an
    event loop in a thread of its own.

    :meth:`start` binds (port 0 picks a free one) and returns the port, or raises
    :class:`OSError`; :meth:`stop` finishes the calls in flight (up to ``grace`` seconds).
    """

    def __init__(self, authorization: GrpcAuthorization, host: str = "127.0.0.1", port: int = 9181):
        self.authorization = authorization
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._grace = 5.0

    @property
    def address(self) -> str:
        """``HOST:PORT`` (IPv6 in brackets)."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"{shown}:{self.port}"

    def start(self, timeout: float = 30.0) -> int:
        if self._thread is not None:
            raise RuntimeError("the gRPC server is already started")
        if self.port:
            self._probe()
        self._thread = threading.Thread(target=self._run, name="acl-grpc", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise OSError(f"the gRPC server on {self.address} did not start in {timeout:g} s")
        if self._error is not None:
            self._thread.join(timeout)
            self._thread = None
            raise OSError(f"cannot listen on {self.address} (gRPC): {self._error}")
        return self.port

    def _probe(self) -> None:
        """Bind the address once first, so that one in use is told in words of our own
        (grpc core would log its own error line on stderr)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, self.port))
            except OSError as exc:
                raise OSError(
                    f"cannot listen on {self.address} (gRPC): {exc.strerror or exc}"
                ) from None

    def stop(self, grace: float = 5.0) -> None:
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or loop is None or stopping is None:
            return
        self._grace = grace
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(stopping.set)
        thread.join(grace + 10)
        self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported by start() when it happens before ready
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:  # pragma: no cover - the server's own failures are logged by grpc
                logger.exception("the gRPC server failed")
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        external_auth_pb2_grpc.add_AuthorizationServicer_to_server(
            _Servicer(self.authorization), server
        )
        try:
            bound = server.add_insecure_port(self.address)
        except RuntimeError as exc:  # grpcio: "Failed to bind to address ..."
            raise OSError(str(exc)) from None
        if not bound:
            raise OSError("the address is in use or cannot be bound")
        self.port = bound
        await server.start()
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await server.stop(self._grace)

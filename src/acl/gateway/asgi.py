"""ASGI middleware: a site's access restrictions in front of any ASGI app.

Wrap an app and every request is decided as the App Service front end would decide it: an
allowed request passes through untouched, a denied one gets ``403`` with the
``x-ms-forbidden-ip`` header and an HTML page, and never reaches the app.
"""

from __future__ import annotations

import logging

from ..decision import Decision
from ..errors import RequestError
from .decisionlog import DecisionLog
from .guard import Guard
from .protocol import (
    FILTER_KEYS,
    FORBIDDEN_BODY,
    MAX_HEADER_BYTES,
    MAX_HEADERS_BYTES,
    ASGIApp,
    Receive,
    Refused,
    Scope,
    Send,
    bracketed,
    checked_host,
    forbidden_headers,
    joined,
    too_large,
)
from .trust import Rewritten, Unresolved, peer_in_chain

__all__ = ["AclMiddleware"]

logger = logging.getLogger("acl.middleware")


class AclMiddleware(Guard[ASGIApp]):
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        try:
            decision = self._decide(scope)
        except Refused as exc:
            self._failed(scope, exc)
            await self._refuse(scope, receive, send, exc)
            return
        except Exception as exc:
            self._failed(scope, exc)
            client = scope.get("client")
            forbidden = None if isinstance(exc, Rewritten) or not client else client[0]
            await self._deny(scope, receive, send, bracketed(forbidden))
            return
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        await self._deny(scope, receive, send, decision.forbidden_ip)

    def _failed(self, scope: Scope, exc: Exception) -> None:
        """Log a request denied without a decision: the client could not be told, or an
        error (logged with its traceback)."""
        reason = self.failure(exc, scope.get("client"))
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
        keys = snapshot.header_keys if log is None else FILTER_KEYS
        total = 0
        for name, value in scope["headers"]:
            name = name.lower()  # ASGI servers should lower-case names, but need not
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
                raise too_large(name.decode("latin-1"), size)
        host = checked_host(scope, hosts)
        client = scope.get("client")
        peer = client[0] if client else None
        if forwarded and peer and peer_in_chain(peer, forwarded):
            raise Rewritten
        ip = trust.walk(peer, chain or ()) if trust is not None else peer
        if ip is None:
            raise Unresolved
        try:
            decision = snapshot.decide(ip, host, pairs, all_four=log is not None)
        except RequestError:  # not an address (a zone, garbage in the header)
            raise Unresolved from None
        if log is not None:
            port = client[1] if client and ip == peer else None
            log.write(
                DecisionLog.record(decision, client=ip, port=port, host=host, headers=joined(pairs))
            )
        return decision

    def _log_scope(self, scope: Scope, reason: str) -> None:
        assert self.log is not None
        host = None
        pairs: list[tuple[str, str]] = []
        for name, value in scope.get("headers", ()):
            name = name.lower()
            if len(value) > MAX_HEADER_BYTES:
                continue  # not logged: an over-long value is what refused the request
            if name == b"host" and host is None:
                host = value.decode("latin-1")
            elif name in FILTER_KEYS:
                pairs.append((FILTER_KEYS[name], value.decode("latin-1")))
        client = scope.get("client")
        self.log.write(
            DecisionLog.record(
                None,
                client=client[0] if client else None,
                port=client[1] if client else None,
                host=host,
                headers=joined(pairs),
                reason=reason,
            )
        )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: Refused) -> None:
        body = (exc.message + "\n").encode("latin-1")
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
        ]
        await _answer(scope, receive, send, exc.status, headers, body)

    async def _deny(
        self, scope: Scope, receive: Receive, send: Send, forbidden_ip: str | None
    ) -> None:
        await _answer(scope, receive, send, 403, forbidden_headers(forbidden_ip), FORBIDDEN_BODY)


async def _answer(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> None:
    """Answer a request that does not reach the app: an HTTP response (no body for ``HEAD``),
    or for a WebSocket handshake the same response where the server supports the
    ``websocket.http.response`` extension, else a close before it is accepted."""
    if scope["type"] == "websocket":
        message = await receive()
        if message.get("type") != "websocket.connect":  # pragma: no cover - per the spec
            return
        if "websocket.http.response" in scope.get("extensions", {}):
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send(
        {"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body}
    )

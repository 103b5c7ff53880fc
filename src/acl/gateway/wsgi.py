"""WSGI middleware: a site's access restrictions in front of any WSGI app (the package's
docstring, :mod:`acl.gateway`, has an example).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ..decision import Decision
from ..errors import RequestError
from .decisionlog import DecisionLog
from .guard import Guard
from .live import RulesSnapshot
from .protocol import (
    FORBIDDEN_BODY,
    MAX_HEADER_BYTES,
    MAX_HEADERS_BYTES,
    WSGI_KEYS,
    BadHost,
    Refused,
    StartResponse,
    WSGIApp,
    authority_of,
    bracketed,
    joined,
    too_large,
)
from .trust import Rewritten, Unresolved, peer_in_chain

__all__ = ["AclWSGIMiddleware"]

logger = logging.getLogger("acl.middleware")


class AclWSGIMiddleware(Guard[WSGIApp]):
    """WSGI middleware: the site's access restrictions in front of a WSGI app.

    The arguments are those of :class:`AclMiddleware`. The client is ``REMOTE_ADDR``, the
    host ``HTTP_HOST``. WSGI servers join the copies of a repeated header with commas,
    which the header filters read as they read separate copies. A denied request gets
    ``403 Ip Forbidden`` (the reason phrase of App Service) with ``Content-Type:
    text/html``, ``x-ms-forbidden-ip`` and :data:`FORBIDDEN_BODY`.
    """

    _read: tuple[RulesSnapshot | None, tuple[str, ...]] = (None, ())
    """The environ keys read for the caps, for one snapshot."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            decision = self._decide(environ)
        except Refused as exc:
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
            forbidden = None if isinstance(exc, Rewritten) else bracketed(_wsgi_peer(environ))
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
            keys = WSGI_KEYS if self.log is not None else snapshot.wsgi_keys
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
                    raise too_large(key[5:].replace("_", "-").title(), size)
        if host is not None and "," in host:  # WSGI servers join the copies with commas
            raise BadHost("more than one Host header")
        target = environ.get("REQUEST_URI") or environ.get("RAW_URI")
        if target:
            authority = authority_of(target.encode("latin-1"))
            if (
                authority is not None
                and authority.decode("latin-1").lower() != (host or "").lower()
            ):
                raise BadHost("the request target's authority and the Host header disagree")
        if forwarded and peer and peer_in_chain(peer, [forwarded]):
            raise Rewritten
        if trust is not None:
            chain = environ.get(trust.wsgi_key)
            ip = trust.walk(peer, (chain,) if chain else ())
        else:
            ip = peer
        if ip is None:
            raise Unresolved
        keys = snapshot.wsgi_keys if self.log is None else WSGI_KEYS
        pairs = [(name, environ[key]) for key, name in keys if key in environ] if keys else None
        try:
            decision = snapshot.decide(ip, host, pairs, all_four=self.log is not None)
        except RequestError:
            raise Unresolved from None
        if self.log is not None:
            port = environ.get("REMOTE_PORT") if ip == peer else None
            self.log.write(
                DecisionLog.record(
                    decision,
                    client=ip,
                    port=int(port) if port and str(port).isdigit() else None,
                    host=host,
                    headers=joined(pairs),
                )
            )
        return decision

    def _failed(self, environ: dict[str, Any], exc: Exception) -> None:
        reason = self.failure(exc, _wsgi_peer(environ))
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
                        for key, name in WSGI_KEYS
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

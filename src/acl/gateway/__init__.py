"""The gateway: a site's access restrictions in front of web apps and gateways.

Every request is decided as the App Service front end would decide it. Two ways in:

- **in the app**: :class:`AclMiddleware` (ASGI) and :class:`AclWSGIMiddleware` (WSGI) wrap
  any Python web application; an allowed request passes through untouched, a denied one gets
  ``403`` with the ``x-ms-forbidden-ip`` header and an HTML page.
- **beside a gateway**: :class:`DecisionService` (``acl serve``) answers nginx
  ``auth_request``, Envoy ``ext_authz`` (HTTP, and gRPC with :mod:`acl.gateway.grpc`) and
  Caddy ``forward_auth``.

The pieces are usable on their own, one module each: :class:`ProxyTrust` (:mod:`.trust`)
derives the client address behind proxies the way nginx's realip module does,
:class:`LiveRules` (:mod:`.live`) holds a compiled engine that can be replaced while requests
are being decided, :class:`DecisionLog` (:mod:`.decisionlog`) writes one
``AppServiceIPSecAuditLogs`` record per request, :mod:`.protocol` holds the header caps and
the checks every front shares, :mod:`.metrics` renders ``/metrics`` and :mod:`.cli` registers
``acl serve``.

>>> import acl
>>> from acl.gateway import AclWSGIMiddleware
>>> from acl.testing import call_wsgi
>>> def app(environ, start_response):
...     start_response("200 OK", [("Content-Type", "text/plain")])
...     return [b"hello"]
>>> site = acl.loads('[{"name": "office", "priority": 100, "ipAddress": "198.51.100.0/24"}]')
>>> guarded = AclWSGIMiddleware(app, site)
>>> call_wsgi(guarded, client="198.51.100.7").body
b'hello'
>>> call_wsgi(guarded, client="203.0.113.9").status
403
"""

from __future__ import annotations

from .asgi import AclMiddleware
from .decisionlog import DecisionLog
from .live import LiveRules, RulesInput, RulesSnapshot
from .protocol import FORBIDDEN_BODY, MAX_HEADER_BYTES, MAX_HEADERS_BYTES, forbidden_headers
from .service import DEFAULT_TRUSTED_PROXIES, LATENCY_BUCKETS, DecisionService, Metrics, run
from .trust import ProxyTrust
from .wsgi import AclWSGIMiddleware

__all__ = [
    "DEFAULT_TRUSTED_PROXIES",
    "FORBIDDEN_BODY",
    "LATENCY_BUCKETS",
    "MAX_HEADERS_BYTES",
    "MAX_HEADER_BYTES",
    "AclMiddleware",
    "AclWSGIMiddleware",
    "DecisionLog",
    "DecisionService",
    "LiveRules",
    "Metrics",
    "ProxyTrust",
    "RulesInput",
    "RulesSnapshot",
    "forbidden_headers",
    "run",
]

"""Test-harness helpers: assertions with the explanation trace, pytest fixtures, and small
drivers for ASGI/WSGI apps.

The assertions take a site, an engine or a rules file, and a request (a :class:`Request`,
an address, or the expectation-file request shape as a dict); keyword arguments describe
the rest of the request as for :meth:`Engine.decide <acl.engine.Engine.decide>`. They
return the :class:`~acl.decision.Decision`, and fail with its explanation:

>>> import acl
>>> from acl.testing import assert_allows, assert_decided_by, assert_denies
>>> site = acl.load("examples/frontdoor-site/site.json")
>>> assert_decided_by(site, "203.0.113.10", rule="office").status
200
>>> assert_denies(site, "192.0.2.3", host="contoso-shop.azurewebsites.net").decided_by
'default'
>>> assert_allows(site, "192.0.2.3")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
AssertionError: expected 192.0.2.3 to be allowed, but it was denied (examples/frontdoor-site/site.json)
DENY 403 Ip Forbidden [main] 192.0.2.3: default: unmatched-rule action Deny is configured
  'block-scanner' (#1, priority 50) Deny: source-missed: source did not match
  ...
  no rule matched: unmatched-rule action Deny is configured

As a pytest plugin (``pytest_plugins = ["acl.testing"]`` in a test module or the root
``conftest.py``) it provides two session-scoped factory fixtures, ``acl_site(path,
**load_options)`` and ``acl_engine(path_or_site, **load_options)``, which load (and compile)
each file once per session.

The helpers raise their own messages, so pytest need not rewrite this module's asserts
(``PYTEST_DONT_REWRITE``): test modules may import it before the plugin is registered.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .decision import Decision
from .engine import Engine
from .engine import compile as compile_site
from .expectations import request_from_dict
from .formats import load
from .model import Request, Rule, Site

__all__ = [
    "Response",
    "assert_allows",
    "assert_decided_by",
    "assert_denies",
    "call_asgi",
    "call_wsgi",
    "decide",
]

Target = Site | Engine | str | os.PathLike[str]
"""What the assertions decide with: a site, an engine, or a rules file."""

_ENGINES: dict[Any, tuple[Any, Engine]] = {}
"""Compiled engines of sites and files the assertions were given, so that a test module full
of assertions compiles each site once. Keyed by file path or ``id(site)`` (the site is kept
in the value, so the id stays valid)."""


def _engine(target: Any) -> Engine:
    if isinstance(target, Engine):
        return target
    engine_of = getattr(target, "engine", None)  # middleware, LiveRules
    if isinstance(engine_of, Engine):
        return engine_of
    if isinstance(target, Site):
        key: Any = ("site", id(target))
        cached = _ENGINES.get(key)
        if cached is not None and cached[0] is target:
            return cached[1]
        engine = compile_site(target)
    elif isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        key = ("file", os.path.realpath(path), _mtime(path))
        cached = _ENGINES.get(key)
        if cached is not None:
            return cached[1]
        engine = compile_site(load(path))
    else:
        raise TypeError(
            f"{target!r:.60}: expected a Site, an Engine or a rules file, got {type(target).__name__}"
        )
    if len(_ENGINES) >= 64:
        _ENGINES.pop(next(iter(_ENGINES)))
    _ENGINES[key] = (target, engine)
    return engine


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def decide(target: Target, request: Request | str | Mapping[str, Any], **options: Any) -> Decision:
    """Decide one request with a site, an engine or a rules file (engines are cached).

    ``request`` is a :class:`Request`, an address (``options`` then describe the rest:
    ``host``, ``headers``, ``subnet``, ``service_endpoint``, ``private_endpoint``), or a
    dict in the expectation-file request shape.
    """
    engine = _engine(target)
    if isinstance(request, Mapping):
        if options:
            raise TypeError("give the request as a dict or as an address with keywords, not both")
        request = request_from_dict(request)
    decision: Decision = engine.decide(request, **options)
    return decision


def _where(target: Any) -> str:
    engine = _engine(target)
    return engine.site.source or engine.site.name or "the site"


def _fail(expected: str, decision: Decision, target: Any) -> AssertionError:
    return AssertionError(f"{expected} ({_where(target)})\n{decision.explain()}")


def assert_allows(
    target: Target, request: Request | str | Mapping[str, Any], **options: Any
) -> Decision:
    """Assert that the request is allowed; returns the decision.

    Raises:
        AssertionError: it is denied; the message holds the explanation trace.
    """
    __tracebackhide__ = True
    decision = decide(target, request, **options)
    if not decision.allowed:
        raise _fail(
            f"expected {decision.address} to be allowed, but it was denied", decision, target
        )
    return decision


def assert_denies(
    target: Target, request: Request | str | Mapping[str, Any], **options: Any
) -> Decision:
    """Assert that the request is denied (403 Ip Forbidden); returns the decision.

    Raises:
        AssertionError: it is allowed; the message holds the explanation trace.
    """
    __tracebackhide__ = True
    decision = decide(target, request, **options)
    if decision.allowed:
        raise _fail(
            f"expected {decision.address} to be denied, but it was allowed", decision, target
        )
    return decision


def assert_decided_by(
    target: Target,
    request: Request | str | Mapping[str, Any],
    rule: str | Rule,
    *,
    action: str | None = None,
    **options: Any,
) -> Decision:
    """Assert which rule (or reason) decided the request; returns the decision.

    ``rule`` is a rule name, ``#position`` for an unnamed rule, a :class:`~acl.model.Rule`,
    or a reason: ``default`` (the unmatched-rule action), ``private-endpoint``,
    ``public-access-disabled``, ``service-endpoint-blocked``. ``action`` (``"allow"``/``"deny"``) checks the action too.

    Raises:
        AssertionError: another rule or reason decided, or the action differs; the message
            holds the explanation trace.
    """
    __tracebackhide__ = True
    decision = decide(target, request, **options)
    if isinstance(rule, Rule):
        matched = decision.rule == rule
        wanted = rule.label
    else:
        matched = decision.decided_by == rule or (
            decision.rule is not None and rule == f"#{decision.rule.position}"
        )
        wanted = repr(rule)
    if not matched:
        got = decision.rule.label if decision.rule is not None else repr(decision.reason)
        raise _fail(
            f"expected {decision.address} to be decided by {wanted}, but {got} decided it",
            decision,
            target,
        )
    if action is not None and decision.action.word != action.lower():
        done = {"allow": "allowed", "deny": "denied"}
        raise _fail(
            f"expected {decision.address} to be {done.get(action.lower(), action)} by {wanted}, "
            f"but it was {done[decision.action.word]}",
            decision,
            target,
        )
    return decision


# ---------------------------------------------------------------------------- app drivers


@dataclass(frozen=True)
class Response:
    """What an app answered: ``status`` (int), ``reason`` (WSGI's reason phrase; ``""``
    for ASGI, which has none), ``headers`` as ``(lower-case name, value)`` pairs, ``body``."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        key = name.lower()
        for header, value in self.headers:
            if header == key:
                return value
        return None


def _header_pairs(
    headers: Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]] | None, host: str | None
) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if host is not None:
        pairs.append(("host", host))
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            for item in [value] if isinstance(value, str) else value:
                pairs.append((name.lower(), item))
    elif headers is not None:
        pairs.extend((name.lower(), value) for name, value in headers)
    return pairs


def call_asgi(
    app: Callable[..., Any],
    *,
    method: str = "GET",
    path: str = "/",
    host: str | None = None,
    headers: Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]] | None = None,
    client: str | tuple[str, int] | None = "127.0.0.1",
    body: bytes = b"",
) -> Response:
    """Send one HTTP request to an ASGI app (no server) and collect the response.

    ``client`` is the peer address (or ``(address, port)``; None for none); ``headers`` a
    mapping (a list value sends copies) or ``(name, value)`` pairs.
    """
    peer: list[Any] | None
    if client is None:
        peer = None
    elif isinstance(client, str):
        peer = [client, 50000]
    else:
        peer = list(client)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in _header_pairs(headers, host)
        ],
        "client": peer,
        "server": ["127.0.0.1", 80],
        "extensions": {},
    }
    messages: list[dict[str, Any]] = []
    sent_body = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # pragma: no cover - a disconnect never comes
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None:
        raise AssertionError("the app sent no http.response.start")
    return Response(
        int(start["status"]),
        "",
        tuple(
            (bytes(n).decode("latin-1").lower(), bytes(v).decode("latin-1"))
            for n, v in start.get("headers", [])
        ),
        b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body"),
    )


def call_wsgi(
    app: Callable[..., Iterable[bytes]],
    *,
    method: str = "GET",
    path: str = "/",
    host: str | None = None,
    headers: Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]] | None = None,
    client: str | None = "127.0.0.1",
    body: bytes = b"",
) -> Response:
    """Send one HTTP request to a WSGI app (no server) and collect the response. Copies of a
    header are joined with commas, as WSGI servers do."""
    import io

    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_PORT": "50000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    if client is not None:
        environ["REMOTE_ADDR"] = client
    for name, value in _header_pairs(headers, host):
        key = "HTTP_" + name.upper().replace("-", "_")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    started: list[Any] = []

    def start_response(
        status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        started[:] = [status, response_headers]
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    if not started:
        raise AssertionError("the app did not call start_response")
    code, _, reason = str(started[0]).partition(" ")
    return Response(int(code), reason, tuple((n.lower(), v) for n, v in started[1]), data)


# ---------------------------------------------------------------------------- pytest plugin

if importlib.util.find_spec("pytest") is not None:
    import pytest

    @pytest.fixture(scope="session")
    def acl_site() -> Callable[..., Site]:
        """A factory: ``acl_site(path, **load_options)`` loads a rules file once per session
        (cached by the resolved path and the options)."""
        cache: dict[tuple[str, str], Site] = {}

        def factory(path: str | os.PathLike[str], **load_options: Any) -> Site:
            key = (str(Path(path).resolve()), repr(sorted(load_options.items())))
            site = cache.get(key)
            if site is None:
                site = cache[key] = load(path, **load_options)
            return site

        return factory

    @pytest.fixture(scope="session")
    def acl_engine(acl_site: Callable[..., Site]) -> Callable[..., Engine]:
        """A factory: ``acl_engine(path_or_site, **load_options)`` compiles once per session."""
        cache: dict[int, tuple[Site, Engine]] = {}

        def factory(target: Site | str | os.PathLike[str], **load_options: Any) -> Engine:
            site = target if isinstance(target, Site) else acl_site(target, **load_options)
            cached = cache.get(id(site))
            if cached is None or cached[0] is not site:
                cached = cache[id(site)] = (site, compile_site(site))
            return cached[1]

        return factory

"""The ASGI and WSGI middleware: deny like the front end, pass allows through untouched,
derive the client like nginx's realip, fail closed, reload atomically, log decisions."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

import acl
from acl.gateway import (
    FORBIDDEN_BODY,
    AclMiddleware,
    AclWSGIMiddleware,
    DecisionLog,
    DecisionService,
    LiveRules,
    ProxyTrust,
    RulesSnapshot,
)
from acl.testing import Response, assert_decided_by, call_asgi, call_wsgi

from .test_serve import MAIN_HOST, RULES, SCM_HOST, with_main, write_rules

pytest_plugins = ["acl.testing"]


class EchoApp:
    """An ASGI app that records what it was called with and answers 200."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append(scope)
        if scope["type"] == "lifespan":
            return
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-app", b"yes")]})
        await send({"type": "http.response.body", "body": b"app:" + body})


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("201 Created", [("X-App", "yes")])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return [b"app:" + environ["wsgi.input"].read(length)]


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    return write_rules(tmp_path / "rules.json")


@pytest.fixture
def asgi(rules_file: Path) -> Iterator[tuple[AclMiddleware, EchoApp]]:
    app = EchoApp()
    middleware = AclMiddleware(app, rules_file)
    yield middleware, app
    middleware.close()


def test_asgi_allow_passes_through_untouched(asgi: tuple[AclMiddleware, EchoApp]) -> None:
    middleware, app = asgi
    answer = call_asgi(middleware, method="POST", client="127.0.1.5", body=b"payload")
    assert (answer.status, answer.body, answer.headers) == (
        201,
        b"app:payload",
        (("x-app", "yes"),),
    )
    assert len(app.calls) == 1 and app.calls[0]["client"] == ["127.0.1.5", 50000]


def test_asgi_deny_is_the_front_ends_403(asgi: tuple[AclMiddleware, EchoApp]) -> None:
    middleware, app = asgi
    answer = call_asgi(middleware, client="127.0.2.5", host=MAIN_HOST)
    assert answer.status == 403
    assert answer.header("content-type") == "text/html"
    assert answer.header("x-ms-forbidden-ip") == "127.0.2.5"
    assert answer.header("content-length") == str(len(FORBIDDEN_BODY))
    assert b"Error 403 - Forbidden" in answer.body
    assert b"has blocked your access" in answer.body
    assert app.calls == []
    head = call_asgi(middleware, method="HEAD", client="127.0.2.5")
    assert (head.status, head.body) == (403, b"")
    assert call_asgi(middleware, client="2001:db8:9::1").header("x-ms-forbidden-ip") == (
        "[2001:db8:9::1]"
    )
    assert call_asgi(middleware, client="::ffff:127.0.1.2").status == 201


def test_the_host_selects_scm(asgi: tuple[AclMiddleware, EchoApp]) -> None:
    middleware, _ = asgi
    assert call_asgi(middleware, client="127.0.4.1", host=SCM_HOST).status == 201
    assert call_asgi(middleware, client="127.0.4.1", host=MAIN_HOST).status == 403
    assert call_asgi(middleware, client="127.0.1.1", host=SCM_HOST.upper() + ":443").status == 403


def test_headers_reach_the_filters_as_received(asgi: tuple[AclMiddleware, EchoApp]) -> None:
    middleware, _ = asgi
    assert call_asgi(middleware, client="127.0.3.1", headers={"X-Azure-FDID": "fd-1"}).status == 201
    assert call_asgi(middleware, client="127.0.3.1", headers={"x-azure-fdid": "FD-1"}).status == 403
    two_copies = {"X-Azure-FDID": ["fd-1", "fd-1"]}
    assert call_asgi(middleware, client="127.0.3.1", headers=two_copies).status == 403


def test_forwarded_for_is_not_believed_by_default(asgi: tuple[AclMiddleware, EchoApp]) -> None:
    middleware, _ = asgi
    spoofed = {"X-Forwarded-For": "127.0.1.9", "X-Real-IP": "127.0.1.9"}
    answer = call_asgi(middleware, client="127.0.2.9", headers=spoofed)
    assert (answer.status, answer.header("x-ms-forbidden-ip")) == (403, "127.0.2.9")


def test_trusted_proxies_walk_forwarded_for_from_the_right(rules_file: Path) -> None:
    app = EchoApp()
    middleware = AclMiddleware(app, rules_file, trusted_proxies=["10.0.0.0/8", "192.0.2.1"])

    def go(peer: str, *xff: str) -> Response:
        return call_asgi(middleware, client=peer, headers=[("X-Forwarded-For", v) for v in xff])

    # a trusted peer: the last untrusted address, across every copy of the header
    assert go("10.0.0.1", "127.0.2.1, 127.0.1.1").status == 201
    assert go("10.0.0.1", "127.0.1.1, 10.9.9.9", "10.0.0.2").status == 201
    assert go("10.0.0.1", "127.0.1.1", "127.0.2.1").status == 403
    assert go("10.0.0.1", "127.0.2.1:4711").header("x-ms-forbidden-ip") == "127.0.2.1"
    assert go("10.0.0.1", "[2001:db8:1::7]:443").status == 201
    # an untrusted peer's header is never believed
    assert go("127.0.2.1", "127.0.1.1").status == 403
    # every address trusted: the leftmost (nginx), here a proxy -> the default deny
    assert go("10.0.0.1", "10.0.0.3").header("x-ms-forbidden-ip") == "10.0.0.3"
    # no header from a trusted peer: the peer itself
    assert go("192.0.2.1").header("x-ms-forbidden-ip") == "192.0.2.1"
    # garbage where the client should be: denied, never a guess
    assert go("10.0.0.1", "127.0.1.1, unknown").status == 403
    assert go("10.0.0.1", "unknown, 127.0.1.1").status == 201  # never reached


def test_trusted_hops_count_from_the_right(rules_file: Path) -> None:
    middleware = AclMiddleware(EchoApp(), rules_file, trusted_hops=2)

    def go(xff: str) -> Response:
        return call_asgi(middleware, client="203.0.113.1", headers={"X-Forwarded-For": xff})

    assert go("127.0.2.1, 127.0.1.1, 127.0.2.2").status == 201  # the second from the right
    assert go("127.0.1.1").status == 201  # shorter: the leftmost
    assert call_asgi(middleware, client="127.0.2.1").status == 403  # no header: the peer


def test_proxy_trust_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match=r"trusted proxy '10\.0\.0\.0/40'"):
        ProxyTrust(trusted_proxies=["10.0.0.0/40"])
    with pytest.raises(ValueError, match="at least 1"):
        ProxyTrust(trusted_hops=0)
    assert ProxyTrust(trusted_proxies="::1").trusts("::1")
    assert ProxyTrust(header="X-Client").client("127.0.0.1", ["198.51.100.1"]) == "127.0.0.1"
    assert ProxyTrust(trusted_hops=1, required=True).client("127.0.0.1", []) is None


def test_an_internal_error_denies_and_is_logged(
    asgi: tuple[AclMiddleware, EchoApp], caplog: pytest.LogCaptureFixture
) -> None:
    middleware, app = asgi

    class Broken:
        site = middleware.engine.site

        def decide(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("kernel on fire")

    good = middleware.rules.current
    middleware.rules.current = RulesSnapshot(Broken(), good.digest, 0.0, None)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="acl.middleware"):
        answer = call_asgi(middleware, client="127.0.1.5")
    assert (answer.status, answer.header("x-ms-forbidden-ip")) == (403, "127.0.1.5")
    assert "fail closed" in caplog.text and "kernel on fire" in caplog.text
    assert app.calls == []

    wsgi = AclWSGIMiddleware(wsgi_app, middleware.rules)
    assert call_wsgi(wsgi, client="127.0.1.5").status == 403


def test_no_peer_address_denies(asgi: tuple[AclMiddleware, EchoApp]) -> None:
    middleware, app = asgi
    answer = call_asgi(middleware, client=None)
    assert answer.status == 403 and answer.header("x-ms-forbidden-ip") is None
    assert call_asgi(middleware, client="fe80::1%eth0").status == 403
    assert app.calls == []


def _websocket(middleware: AclMiddleware, client: str, extensions: dict[str, Any]) -> list[Any]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/ws",
        "headers": [],
        "client": [client, 1],
        "extensions": extensions,
    }
    asyncio.run(middleware(scope, receive, send))
    return sent


def test_websocket_handshakes_are_decided_too(asgi: tuple[AclMiddleware, EchoApp]) -> None:
    middleware, app = asgi
    assert _websocket(middleware, "127.0.2.1", {}) == [{"type": "websocket.close", "code": 1008}]
    sent = _websocket(middleware, "127.0.2.1", {"websocket.http.response": {}})
    assert sent[0]["type"] == "websocket.http.response.start" and sent[0]["status"] == 403
    assert app.calls == []


def test_lifespan_passes_through(asgi: tuple[AclMiddleware, EchoApp]) -> None:
    middleware, app = asgi

    async def nothing() -> Any:
        raise AssertionError  # pragma: no cover

    asyncio.run(middleware({"type": "lifespan"}, nothing, nothing))
    assert app.calls == [{"type": "lifespan"}]


# ---------------------------------------------------------------------------- WSGI


def test_wsgi_allow_and_deny(rules_file: Path) -> None:
    middleware = AclWSGIMiddleware(wsgi_app, rules_file)
    allowed = call_wsgi(middleware, method="POST", client="127.0.1.5", body=b"data")
    assert (allowed.status, allowed.reason, allowed.body) == (201, "Created", b"app:data")
    denied = call_wsgi(middleware, client="127.0.2.5")
    assert (denied.status, denied.reason) == (403, "Ip Forbidden")
    assert denied.header("x-ms-forbidden-ip") == "127.0.2.5"
    assert denied.header("content-type") == "text/html" and denied.body == FORBIDDEN_BODY
    assert call_wsgi(middleware, method="HEAD", client="127.0.2.5").body == b""
    assert call_wsgi(middleware, client="127.0.4.9", host=SCM_HOST).status == 201
    # copies joined by the server with commas still never match X-Azure-FDID
    fd = {"X-Azure-FDID": ["fd-1", "fd-1"]}
    assert call_wsgi(middleware, client="127.0.3.1", headers=fd).status == 403
    assert call_wsgi(middleware, client="127.0.3.1", headers={"X-Azure-FDID": "fd-1"}).status == 201
    assert call_wsgi(middleware, client=None).status == 403


def test_wsgi_trusted_proxies(rules_file: Path) -> None:
    middleware = AclWSGIMiddleware(wsgi_app, rules_file, trusted_proxies=["127.0.0.1"])
    xff = {"X-Forwarded-For": ["127.0.2.1", "127.0.1.1"]}
    assert call_wsgi(middleware, client="127.0.0.1", headers=xff).status == 201
    assert call_wsgi(middleware, client="127.0.0.2", headers=xff).status == 403


def test_wsgi_on_a_real_server_sends_the_ip_forbidden_reason_phrase(rules_file: Path) -> None:
    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = make_server(
        "127.0.0.1", 0, AclWSGIMiddleware(wsgi_app, rules_file), handler_class=Quiet
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for source, status, reason in (
            ("127.0.2.3", 403, "Ip Forbidden"),
            ("127.0.1.3", 201, "Created"),
        ):
            connection = http.client.HTTPConnection(
                "127.0.0.1", server.server_port, timeout=10, source_address=(source, 0)
            )
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            connection.close()
            assert (response.status, response.reason) == (status, reason)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_asgi_on_uvicorn_with_real_peer_addresses(rules_file: Path) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    config = uvicorn.Config(
        AclMiddleware(EchoApp(), rules_file), port=0, log_level="error", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        for source, status in (("127.0.2.3", 403), ("127.0.1.3", 201)):
            connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=10, source_address=(source, 0)
            )
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            connection.close()
            assert response.status == status
            if status == 403:  # ASGI cannot set the reason phrase: the server's own
                assert response.reason == "Forbidden"
                assert response.getheader("x-ms-forbidden-ip") == source
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# ---------------------------------------------------------------------------- reload


def test_reload_swaps_the_rules_and_a_bad_file_keeps_them(
    asgi: tuple[AclMiddleware, EchoApp], rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    middleware, _ = asgi
    first = middleware.rules.current
    assert call_asgi(middleware, client="127.0.2.1").status == 403
    write_rules(
        rules_file, with_main({"name": "now-ok", "priority": 1, "ipAddress": "127.0.2.0/24"})
    )
    assert middleware.reload() is True
    assert middleware.rules.current is not first and middleware.rules.reloads == 1
    assert middleware.rules.current.digest != first.digest
    assert_decided_by(middleware, "127.0.2.1", rule="now-ok")
    assert call_asgi(middleware, client="127.0.2.1").status == 201

    second = middleware.rules.current
    rules_file.write_text('[{"name": "bad", "priority": 1, "ipAddress": "10.0.0.0/99"}]')
    with caplog.at_level(logging.ERROR, logger="acl.middleware"):
        assert middleware.reload() is False
    assert middleware.rules.current is second
    assert "old rules" in caplog.text and "10.0.0.0/99" in caplog.text
    assert "10.0.0.0/99" in (middleware.rules.last_error or "")
    assert call_asgi(middleware, client="127.0.2.1").status == 201


def test_reload_interval_watches_the_file(rules_file: Path) -> None:
    middleware = AclWSGIMiddleware(wsgi_app, rules_file, reload_interval=0.05)
    try:
        assert call_wsgi(middleware, client="127.0.2.1").status == 403
        write_rules(
            rules_file, with_main({"name": "w", "priority": 1, "ipAddress": "127.0.2.0/24"})
        )
        deadline = time.monotonic() + 10
        while call_wsgi(middleware, client="127.0.2.1").status != 201:
            assert time.monotonic() < deadline, "the watcher did not reload"
            time.sleep(0.02)
        rules_file.write_text("[")  # a bad file: tried once, the rules stay
        deadline = time.monotonic() + 10
        while middleware.rules.failed_reloads == 0:
            assert time.monotonic() < deadline, "the watcher did not notice the bad file"
            time.sleep(0.02)
        time.sleep(0.2)
        assert middleware.rules.failed_reloads == 1
        assert call_wsgi(middleware, client="127.0.2.1").status == 201
    finally:
        middleware.close()


def test_reload_is_atomic_under_concurrent_readers(rules_file: Path) -> None:
    live = LiveRules(rules_file)
    seen: set[str] = set()
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                snapshot = live.current  # one read: engine and version belong together
                seen.add(f"{snapshot.digest}:{snapshot.engine.decide('127.0.2.1').decided_by}")
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for index in range(10):
            name = f"r{index}"
            write_rules(
                rules_file, with_main({"name": name, "priority": 1, "ipAddress": "127.0.2.0/24"})
            )
            assert live.reload()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors
    digests: dict[str, set[str]] = {}
    for item in seen:
        digest, rule = item.split(":")
        digests.setdefault(digest, set()).add(rule)
    assert all(len(rules) == 1 for rules in digests.values())  # never a mix


def test_a_site_or_engine_cannot_reload(rules_file: Path) -> None:
    site = acl.load(rules_file)
    for rules in (site, acl.compile(site)):
        middleware = AclMiddleware(EchoApp(), rules)
        with pytest.raises(TypeError, match="nothing to reload"):
            middleware.reload()
        assert len(middleware.rules.current.digest) == 64
    with pytest.raises(TypeError, match="need a rules file"):
        LiveRules(site, service_tags=None)


# ---------------------------------------------------------------------------- decision log


def test_the_decision_log_writes_audit_records(rules_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    middleware = AclMiddleware(EchoApp(), rules_file, decision_log=path)
    call_asgi(
        middleware,
        client=("127.0.2.7", 52580),
        host=MAIN_HOST,
        headers={"X-Forwarded-For": "1.2.3.4"},
    )
    call_asgi(middleware, client=("127.0.1.7", 4711), headers={"X-Azure-FDID": ["a", "b"]})
    call_asgi(middleware, client=None)
    middleware.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["properties"]["Result"] for r in records] == ["Denied", "Allowed", "Denied"]
    first = records[0]
    assert first["category"] == "AppServiceIPSecAuditLogs"
    assert first["operationName"] == "Authorization"
    assert first["time"].endswith("Z")
    assert first["properties"] == {
        "CIp": "127.0.2.7:52580",
        "CsHost": MAIN_HOST,
        "Result": "Denied",
        "Details": "Denied by 127.0.2.0/24 rule.",
        "ServiceEndpoint": "False",
        "XForwardedFor": "1.2.3.4",
        "XForwardedHost": "",
        "XAzureFDID": "",
        "XFDHealthProbe": "",
    }
    assert records[1]["properties"]["XAzureFDID"] == "a, b"
    assert records[2]["properties"]["Details"] == "Denied by client address unknown."


def test_the_decision_log_takes_files_and_callables(rules_file: Path) -> None:
    buffer = io.StringIO()
    wsgi = AclWSGIMiddleware(wsgi_app, rules_file, decision_log=buffer)
    call_wsgi(wsgi, client="127.0.0.9")
    assert json.loads(buffer.getvalue())["properties"]["Details"] == "Denied by default."
    records: list[dict[str, Any]] = []
    wsgi = AclWSGIMiddleware(
        wsgi_app, rules_file, trusted_hops=1, decision_log=DecisionLog(records.append)
    )
    call_wsgi(wsgi, client="127.0.0.9", headers={"X-Forwarded-For": "127.0.1.1"})
    assert records[0]["properties"]["CIp"] == "127.0.1.1:0"  # not the peer: no port known
    with pytest.raises(TypeError):
        DecisionLog(42)  # type: ignore[arg-type]


def test_the_example_rules_through_the_middleware(acl_site: Any) -> None:
    site = acl_site("examples/frontdoor-site/site.json")
    middleware = AclMiddleware(EchoApp(), site)
    fdid = {"X-Azure-FDID": "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"}
    assert call_asgi(middleware, client="147.243.10.20", headers=fdid).status == 201
    assert call_asgi(middleware, client="147.243.10.20").status == 403
    assert RULES  # the shared rules stay untouched


# ------------------------------------------------- header names as the server spelled them

CASE_SITE = {
    "ipSecurityRestrictionsDefaultAction": "Allow",
    "ipSecurityRestrictions": [
        {"name": "block-scanner", "priority": 50, "action": "Deny", "ipAddress": "203.0.113.66/32"},
        {"name": "block-xff", "priority": 60, "action": "Deny", "ipAddress": "0.0.0.0/0",
         "headers": {"x-forwarded-for": ["198.51.100.66/32"]}},
    ],
    "scmIpSecurityRestrictionsDefaultAction": "Deny",
    "scmIpSecurityRestrictions": [
        {"name": "build", "priority": 100, "action": "Allow", "ipAddress": "192.0.2.0/24"}
    ],
}  # fmt: skip


def raw_call(app: Any, headers: list[tuple[bytes, bytes]], peer: str, path: str = "/") -> int:
    """One request with the header names exactly as given (call_asgi lower-cases them)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": [peer, 50000],
        "server": ["127.0.0.1", 80], "extensions": {},
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"])


@pytest.mark.parametrize("spell", [bytes.lower, bytes.title, bytes.upper])
def test_header_names_are_matched_whatever_their_case(spell: Any) -> None:
    """The ASGI spec lets servers keep the header names' case ("should be lowercased, but
    it is not required"): Host, X-Forwarded-For and the filter headers count in any case."""
    site = acl.loads(json.dumps(CASE_SITE))
    direct = AclMiddleware(EchoApp(), site)
    proxied = AclMiddleware(EchoApp(), site, trusted_proxies=["10.0.0.0/8"])
    scm = [(spell(b"host"), b"app.scm.azurewebsites.net")]
    assert raw_call(direct, scm, "198.51.100.1") == 403  # the scm rules, not main's Allow
    assert raw_call(direct, scm, "192.0.2.7") == 201  # the app's own answer
    xff = [
        (spell(b"host"), b"app.azurewebsites.net"),
        (spell(b"x-forwarded-for"), b"198.51.100.66"),
    ]
    assert raw_call(direct, xff, "10.9.9.9") == 403  # block-xff filters on the header
    chain = [
        (spell(b"host"), b"app.azurewebsites.net"),
        (spell(b"x-forwarded-for"), b"203.0.113.66"),
    ]
    assert raw_call(proxied, chain, "10.0.0.5") == 403  # the client behind the proxy
    service = DecisionService(site, client_header="X-Forwarded-For", trusted_proxies=["10.0.0.0/8"])
    assert (
        raw_call(service, [*scm, (spell(b"x-forwarded-for"), b"198.51.100.1")], "10.0.0.5", "/auth")
        == 403
    )
    assert raw_call(service, chain, "10.0.0.5", "/auth") == 403
    assert (
        raw_call(
            service,
            [
                (spell(b"host"), b"app.azurewebsites.net"),
                (spell(b"x-forwarded-for"), b"198.51.100.1"),
            ],
            "10.0.0.5",
            "/auth",
        )
        == 200
    )

"""The gateway's security properties: whose forwarding headers are believed, header caps and
the memory they bound, duplicate Host, the reload gate, SIGHUP, half-written rule files, and
reloads that do not stall decisions.

The nginx tests start their own nginx (as tests/test_gateway_nginx.py does) whose connections
to ``acl serve`` come from 127.0.0.2 (``proxy_bind``), the only trusted proxy, while clients
stand at 127.0.0.3 and 127.0.1.x; ``acl serve`` runs with ``FORWARDED_ALLOW_IPS=*`` in its
environment, which must change nothing. Loopback only, bounded loops, everything stopped.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import signal
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import acl
from acl.gateway import (
    MAX_HEADER_BYTES,
    AclMiddleware,
    AclWSGIMiddleware,
    DecisionLog,
    DecisionService,
    LiveRules,
    ProxyTrust,
)
from acl.testing import call_asgi, call_wsgi

from . import reload_loaders
from .test_gateway_nginx import nginx_binary, start_nginx, start_upstream
from .test_serve import (
    MAIN_HOST,
    SCM_HOST,
    Process,
    fetch,
    serve_command,
    start_serve,
    with_main,
    write_rules,
)

FRONTDOOR = "examples/frontdoor-site/site.json"
FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"


# ---------------------------------------------------------------------------- trust, end to end


@pytest.fixture(scope="module")
def bound_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Process]]:
    """nginx -> acl serve from 127.0.0.2 (the only trusted proxy); FORWARDED_ALLOW_IPS=*."""
    nginx_binary()
    root = tmp_path_factory.mktemp("bound")
    rules = write_rules(root / "rules.json")
    started: list[Process] = []
    try:
        upstream = start_upstream(root)
        started.append(upstream)
        serve = start_serve(
            root, rules, "--trusted-proxy", "127.0.0.2/32", env={"FORWARDED_ALLOW_IPS": "*"}
        )
        started.append(serve)
        nginx = start_nginx(root / "nginx", serve.port, upstream.port, auth_bind="127.0.0.2")
        started.append(nginx)
        yield nginx.port, serve
    finally:
        for process in reversed(started):
            process.stop(signal.SIGQUIT if process is started[-1] else signal.SIGTERM)


def test_clients_behind_nginx_are_decided_by_their_own_address(
    bound_gateway: tuple[int, Process],
) -> None:
    port, _ = bound_gateway
    for xff in (None, "127.0.1.20", "127.0.0.2", "198.51.100.7, 127.0.0.2"):
        headers = [("X-Forwarded-For", xff)] if xff else []
        allowed = fetch(port, "/", source="127.0.1.20", host=MAIN_HOST, headers=headers)
        assert allowed.status == 200, xff
        # 127.0.0.3 matches no rule: the default deny, with its own address (never the XFF)
        denied = fetch(port, "/", source="127.0.0.3", host=MAIN_HOST, headers=headers)
        assert (denied.status, denied.headers["x-ms-forbidden-ip"]) == (403, "127.0.0.3"), xff


def test_a_direct_client_cannot_pose_as_the_trusted_proxy(
    bound_gateway: tuple[int, Process],
) -> None:
    """A peer outside --trusted-proxy says it is the proxy (X-Forwarded-For: 127.0.0.2) and
    names an allowed client in X-Real-IP: not believed, even with FORWARDED_ALLOW_IPS=*."""
    _, serve = bound_gateway
    spoof = [("X-Forwarded-For", "127.0.0.2"), ("X-Real-IP", "127.0.1.20")]
    answer = fetch(serve.port, "/auth", source="127.0.0.3", host=MAIN_HOST, headers=spoof)
    assert (answer.status, answer.headers["x-acl-rule"]) == (403, "client-unknown")
    # the reload gate reads the real peer too: 127.0.0.3 is loopback, a spoofed one is not
    reload = [("X-Acl-Reload", "1"), ("X-Forwarded-For", "198.51.100.1")]
    assert (
        fetch(serve.port, "/-/reload", method="POST", source="127.0.0.3", headers=reload).status
        == 200
    )


def test_envoy_mode_on_uvicorn_reads_the_last_x_forwarded_for_hop(tmp_path: Path) -> None:
    """Envoy (here: a client at 127.0.0.1, the trusted peer) appends the client to
    X-Forwarded-For; uvicorn must not turn that hop into the peer."""
    rules = write_rules(tmp_path / "rules.json")
    served = start_serve(tmp_path, rules, "--mode", "envoy", env={"FORWARDED_ALLOW_IPS": "*"})
    try:
        for chain, status in (
            ("127.0.1.50", 200),
            ("127.0.2.9, 127.0.1.50", 200),
            ("127.0.2.9", 403),
        ):
            answer = fetch(served.port, "/check/x", headers=[("X-Forwarded-For", chain)])
            assert answer.status == status, (chain, answer.headers)
    finally:
        served.stop()


def test_the_middleware_refuses_a_peer_rewritten_from_x_forwarded_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Under uvicorn's defaults its ProxyHeadersMiddleware wraps the app and replaces the
    peer with an X-Forwarded-For address: the middleware notices and denies."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    rules = write_rules(tmp_path / "rules.json")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    served = ProxyHeadersMiddleware(AclMiddleware(app, rules), trusted_hosts="*")
    spoof = call_asgi(served, client="198.51.100.1", headers={"X-Forwarded-For": "127.0.1.9"})
    assert spoof.status == 403 and spoof.header("x-ms-forbidden-ip") is None
    assert "--no-proxy-headers" in caplog.text
    assert call_asgi(served, client="127.0.1.9").status == 201  # no header: the peer
    wsgi = AclWSGIMiddleware(_wsgi_app, rules)
    proxied = {"werkzeug.proxy_fix.orig": {"REMOTE_ADDR": "198.51.100.1"}}
    assert _call_wsgi_environ(wsgi, "127.0.1.9", proxied) == 403  # ProxyFix outside: the real peer


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [b"app"]


def _call_wsgi_environ(app: AclWSGIMiddleware, client: str, extra: dict[str, Any]) -> int:
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "REMOTE_ADDR": client, **extra}
    list(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    return int(statuses[0].split()[0])


# ---------------------------------------------------------------------------- header caps


def test_over_long_headers_are_refused(tmp_path: Path) -> None:
    site = acl.load(FRONTDOOR)
    middleware = AclMiddleware(_asgi_ok, site)
    long = "x" * (MAX_HEADER_BYTES + 1)
    for name in ("X-Azure-FDID", "Host", "X-Forwarded-For"):
        answer = call_asgi(middleware, client="147.243.10.20", headers={name: long})
        assert answer.status == 431, name
    # at the cap it is read and decided: an unknown profile id, the default deny
    at_cap = {"X-Azure-FDID": "x" * MAX_HEADER_BYTES}
    assert call_asgi(middleware, client="147.243.10.20", headers=at_cap).status == 403
    assert (
        call_asgi(middleware, client="147.243.10.20", headers={"X-Azure-FDID": FDID}).status == 201
    )
    # many copies under the per-header cap add up to more than the total
    copies = [("X-Forwarded-For", "1" * 8000)] * 5
    assert call_asgi(middleware, client="147.243.10.20", headers=copies).status == 431
    wsgi = AclWSGIMiddleware(_wsgi_app, site)
    assert call_wsgi(wsgi, client="147.243.10.20", headers={"X-Azure-FDID": long}).status == 431
    service = DecisionService(site)
    checked = call_asgi(
        service, path="/auth", headers={"X-Real-IP": "147.243.10.20", "X-Azure-FDID": long}
    )
    assert (checked.status, checked.header("x-acl-rule")) == (403, "header-too-large")


def test_proxy_trust_keeps_no_long_strings() -> None:
    trust = ProxyTrust(trusted_proxies=["10.0.0.0/8"])
    for index in range(100):
        assert trust.client("10.0.0.1", [f"1.2.3.4, {index:04d}" + "9" * 100_000]) is None
    assert trust.trusts("10.1.2.3") and trust.client("10.0.0.1", ["10.1.2.3"]) == "10.1.2.3"
    assert all(len(key) <= 64 for key in trust._cache)


async def _asgi_ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _retained_after(calls: int, one: Any) -> tuple[int, int]:
    """(bytes still held after ``calls`` calls, peak bytes above the start), by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for index in range(calls):
            one(index)
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return current - base, peak - base


def test_hostile_header_values_do_not_grow_memory() -> None:
    """300 requests, each with its own 1 MB X-Azure-FDID, against the middleware on the
    example Front Door site: nothing of them is kept."""
    site = acl.load(FRONTDOOR)
    middleware = AclMiddleware(_asgi_ok, site)
    service = DecisionService(site)
    wsgi = AclWSGIMiddleware(_wsgi_app, site)

    def hostile(index: int) -> str:
        return f"{index:06d}" + "f" * (1 << 20)

    def asgi(index: int) -> None:
        headers = {"X-Azure-FDID": hostile(index)}
        assert call_asgi(middleware, client="147.243.10.20", headers=headers).status == 431

    def serve(index: int) -> None:
        headers = {"X-Real-IP": "147.243.10.20", "X-Azure-FDID": hostile(index)}
        assert call_asgi(service, path="/auth", headers=headers).status == 403

    def under_cap(index: int) -> None:  # decided: each distinct value reaches the engine
        headers = {"X-Azure-FDID": f"{index:06d}" + "f" * (MAX_HEADER_BYTES - 6)}
        assert call_wsgi(wsgi, client="147.243.10.20", headers=headers).status == 403

    for name, one in (("asgi", asgi), ("serve", serve)):
        retained, peak = _retained_after(300, one)
        print(f"\n{name}: retained {retained} B, peak {peak} B")
        assert retained < 512 * 1024, (name, retained)
        assert peak < 16 << 20, (name, peak)
    # under the cap the values are decided; the engine's memo never keeps a value longer
    # than 256 characters, so nothing of them stays
    retained, peak = _retained_after(300, under_cap)
    print(f"\nwsgi, 300 distinct values at the cap: retained {retained} B, peak {peak} B")
    assert retained < 512 * 1024 and peak < 16 << 20


def test_acl_serve_rss_stays_flat_under_hostile_headers(tmp_path: Path) -> None:
    rules = tmp_path / "site.json"
    rules.write_bytes(Path(FRONTDOOR).read_bytes())
    served = start_serve(tmp_path, rules)
    try:

        def rss() -> int:
            for line in Path(f"/proc/{served.popen.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
            raise AssertionError("no VmRSS")

        def ask(value: str) -> int:
            headers = [("X-Real-IP", "147.243.10.20"), ("X-Azure-FDID", value)]
            return fetch(served.port, "/auth", headers=headers).status

        for index in range(20):  # warm up: the server's buffers, the allocator
            ask(f"{index:06d}" + "f" * (1 << 20))
        before = rss()
        for index in range(300):
            assert ask(f"{index:06d}" + "e" * (1 << 20)) == 403
        growth = rss() - before
        print(f"\nacl serve RSS growth after 300 x 1 MB X-Azure-FDID: {growth / 2**20:.1f} MiB")
        assert growth < 64 << 20, growth
        assert ask(FDID) == 200
    finally:
        served.stop()


# ---------------------------------------------------------------------------- duplicate Host


def test_an_ambiguous_host_is_refused(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules.json")
    middleware = AclMiddleware(_asgi_ok, rules)
    # 127.0.4.x only the scm rules admit: the app would read the first Host, the main site
    both = [("Host", MAIN_HOST), ("Host", SCM_HOST)]
    assert call_asgi(middleware, client="127.0.4.1", headers=both).status == 400
    assert call_asgi(middleware, client="127.0.4.1", headers=both[::-1]).status == 400
    assert call_asgi(middleware, client="127.0.4.1", host=SCM_HOST).status == 201
    absolute = f"http://{SCM_HOST}/"
    assert call_asgi(middleware, client="127.0.4.1", path=absolute, host=MAIN_HOST).status == 400
    assert call_asgi(middleware, client="127.0.4.1", path=absolute, host=SCM_HOST).status == 201
    wsgi = AclWSGIMiddleware(_wsgi_app, rules)
    assert call_wsgi(wsgi, client="127.0.4.1", headers=both).status == 400  # joined: "a,b"
    service = DecisionService(rules)
    checked = call_asgi(service, path="/auth", headers=[("X-Real-IP", "127.0.4.1"), *both])
    assert (checked.status, checked.header("x-acl-rule")) == (403, "bad-host")


def test_http2_authority_must_agree_with_host(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules.json")
    middleware = AclMiddleware(_asgi_ok, rules)
    sent: list[dict[str, Any]] = []

    def h2(*headers: tuple[bytes, bytes]) -> int:
        scope = {
            "type": "http", "http_version": "2", "method": "GET", "path": "/",
            "raw_path": b"/", "headers": list(headers), "client": ("127.0.4.1", 5000),
        }  # fmt: skip

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        sent.clear()
        asyncio.run(middleware(scope, receive, send))
        return int(sent[0]["status"])

    scm, main = SCM_HOST.encode(), MAIN_HOST.encode()
    assert h2((b":authority", scm), (b"host", main)) == 400
    assert h2((b"host", scm), (b"host", scm)) == 201  # the server copied :authority to host
    assert h2((b":authority", scm)) == 201


# ---------------------------------------------------------------------------- reload gate


def test_reload_needs_a_header_a_cross_site_form_cannot_send(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules.json")
    service = DecisionService(rules)

    def post(**kwargs: Any) -> int:
        return call_asgi(service, method="POST", path="/-/reload", **kwargs).status

    assert post() == 403  # a form post from a browser on the host
    assert post(headers={"X-Acl-Reload": "yes"}) == 403
    assert post(headers={"X-Acl-Reload": "1"}, host="rebound.example:9180") == 403  # rebinding
    assert post(headers={"X-Acl-Reload": "1"}, host="127.0.0.1:9180") == 200
    tokened = DecisionService(rules, reload_token="s3cret")
    ask = {"method": "POST", "path": "/-/reload"}
    assert call_asgi(tokened, headers={"X-Acl-Reload": "1"}, **ask).status == 403
    assert call_asgi(tokened, headers={"X-Acl-Reload": "s3cret"}, **ask).status == 200
    assert (
        call_asgi(tokened, headers={"X-Acl-Reload": "s3cret"}, client="192.0.2.1", **ask).status
        == 403
    )


# ---------------------------------------------------------------------------- the command


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--envoy-prefix", "/healthz", "--mode", "envoy"], "must be a path of its own"),
        (["--decision-log", "{tmp}/missing/audit.jsonl"], "cannot open the decision log"),
        (["--reload-token-file", "{tmp}/missing-token"], "cannot read the reload token file"),
    ],
)
def test_bad_service_options_give_one_line_and_exit_2(
    tmp_path: Path, options: list[str], message: str
) -> None:
    rules = write_rules(tmp_path / "rules.json")
    done = subprocess.run(
        [
            *serve_command(), "--rules", str(rules), "--listen", "127.0.0.1:0",
            *(option.format(tmp=tmp_path) for option in options),
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("acl: error: ") and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_sighup_reopens_the_decision_log(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules.json")
    audit = tmp_path / "audit.jsonl"
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    served = start_serve(
        tmp_path, rules, "--decision-log", str(audit), "--reload-token-file", str(token)
    )
    try:
        ask = [("X-Real-IP", "127.0.2.9")]
        assert fetch(served.port, "/auth", headers=ask).status == 403
        rotated = tmp_path / "audit.jsonl.1"
        audit.rename(rotated)  # what logrotate does, then it sends SIGHUP
        served.send(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while not audit.exists():
            assert time.monotonic() < deadline, served.output()
            time.sleep(0.02)
        assert fetch(served.port, "/auth", headers=[("X-Real-IP", "127.0.1.9")]).status == 200
        deadline = time.monotonic() + 10
        while not audit.read_text():
            assert time.monotonic() < deadline, served.output()
            time.sleep(0.02)
        (old,) = [json.loads(line) for line in rotated.read_text().splitlines()]
        (new,) = [json.loads(line) for line in audit.read_text().splitlines()]
        assert old["properties"]["Result"] == "Denied" and new["properties"]["Result"] == "Allowed"
        reload = [("X-Acl-Reload", "t0ken")]
        assert fetch(served.port, "/-/reload", method="POST", headers=reload).status == 200
        wrong = [("X-Acl-Reload", "1")]
        assert fetch(served.port, "/-/reload", method="POST", headers=wrong).status == 403
    finally:
        served.stop()


def test_decision_log_reopen_keeps_writing(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = DecisionLog(path)
    log.write({"n": 1})
    path.rename(tmp_path / "log.jsonl.1")
    log.reopen()
    log.write({"n": 2})
    log.close()
    assert json.loads(path.read_text()) == {"n": 2}
    assert json.loads((tmp_path / "log.jsonl.1").read_text()) == {"n": 1}


# ---------------------------------------------------------------------------- rule files


SCRIPT_HEAD = (
    "az webapp config access-restriction add -g rg -n app --rule-name office "
    "--priority 100 --ip-address 127.0.1.0/24\n"
)
SCRIPT_TAIL = (
    "az webapp config access-restriction add -g rg -n app --rule-name blocked "
    "--priority 50 --action Deny --ip-address 127.0.1.9/32\n"
)


def test_the_watcher_waits_for_a_settled_file(tmp_path: Path) -> None:
    """A script written in two steps is valid after the first (a line boundary): the
    watcher must not serve it until the file has stayed unchanged for ``settle`` seconds."""
    script = tmp_path / "rules.sh"
    script.write_text(SCRIPT_HEAD + SCRIPT_TAIL)
    live = LiveRules(script, settle=0.3, isolate=False)
    try:
        with script.open("w") as out:  # step one: the first line, flushed
            out.write(SCRIPT_HEAD.replace("office", "office-v2"))
            out.flush()
            os.utime(script, ns=(time.time_ns(), time.time_ns() + 1))
            assert live.check() is False  # changed, not settled: nothing loaded
            assert live.check() is False
            out.write(SCRIPT_TAIL)  # step two
        os.utime(script, ns=(time.time_ns(), time.time_ns() + 2_000_000))
        assert live.check() is False  # changed again: the wait starts over
        assert live.reloads == 0
        deadline = time.monotonic() + 10
        while not live.check():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        names = [rule.name for rule in live.engine.site.main_rules]
        assert names == ["office-v2", "blocked"] and live.reloads == 1
        assert live.engine.decide("127.0.1.9").decided_by == "blocked"
    finally:
        live.close()


# ---------------------------------------------------------------------------- large reloads


def test_a_large_reload_compiles_in_a_child_and_does_not_stall_decisions(tmp_path: Path) -> None:
    """30,000 rules. The reload loads and compiles in a child process: the loader runs in
    another pid, and the longest pause of a thread deciding meanwhile is well under the one
    an in-process reload of the same file causes."""
    count = 30_000
    rules = [
        {"name": f"r{i}", "priority": i + 1, "action": "Deny" if i % 2 else "Allow",
         "ipAddress": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32"}
        for i in range(count)
    ]  # fmt: skip
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"ipSecurityRestrictions": rules}))
    pid_file = tmp_path / "pids"  # in the child, only a file tells the parent where it ran

    def pids() -> list[int]:
        return [int(line) for line in pid_file.read_text().split()]

    live = LiveRules(
        path, loader=functools.partial(reload_loaders.record_pid_and_load, pid_file, path)
    )
    assert pids() == [os.getpid()]

    def longest_pause() -> tuple[float, int]:
        done = threading.Event()
        result: list[bool] = []
        thread = threading.Thread(target=lambda: (result.append(live.reload()), done.set()))
        longest, decided = 0.0, 0
        last = time.perf_counter()
        thread.start()
        while not done.is_set():
            live.current.decide("10.0.0.1", None, None, all_four=False)
            decided += 1
            time.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last - 0.001)
            last = now
        thread.join()
        assert result == [True], live.last_error
        return longest, decided

    live.isolate = True
    isolated, decided = longest_pause()
    assert len(pids()) == 2 and pids()[1] != os.getpid()  # loaded in a child
    assert live.engine.decide("10.0.0.1").decided_by == "r1"
    live.isolate = False
    in_process, _ = longest_pause()
    print(
        f"\nlongest pause: isolated {isolated * 1000:.0f} ms, in process {in_process * 1000:.0f} ms"
    )
    assert decided > 50
    assert isolated < in_process / 2, (isolated, in_process)


def test_a_reload_child_that_hangs_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import acl.gateway.live

    path = write_rules(tmp_path / "rules.json")
    live = LiveRules(path, loader=functools.partial(reload_loaders.hang_outside, os.getpid(), path))
    before = live.current
    monkeypatch.setattr(acl.gateway.live, "RELOAD_TIMEOUT", 0.5)
    started = time.monotonic()
    assert live.reload() is False
    assert time.monotonic() - started < 10
    assert live.current is before and "took more than 0.5 s" in (live.last_error or "")


def test_the_reload_child_is_a_new_interpreter_not_a_fork(tmp_path: Path) -> None:
    """A fork of a process whose other threads are inside gRPC, or hold a lock, can die or
    hang (``acl serve --grpc-listen`` lost reloads that way): the child must be a new
    interpreter. A lock that another thread holds through the whole reload, and that the
    loader takes, proves it: a fork would inherit it held and wait in vain."""
    path = write_rules(tmp_path / "rules.json")
    live = LiveRules(path, loader=functools.partial(reload_loaders.lock_then_load, path))
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with reload_loaders.LOCK:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        write_rules(
            path, with_main({"name": "reloaded", "priority": 1, "ipAddress": "127.0.9.0/24"})
        )
        assert live.reload() is True, live.last_error
    finally:
        release.set()
        holder.join()
    assert live.engine.decide("127.0.9.1").decided_by == "reloaded"


def test_what_the_loader_prints_does_not_corrupt_the_reload(tmp_path: Path) -> None:
    path = write_rules(tmp_path / "rules.json")
    live = LiveRules(path, loader=functools.partial(reload_loaders.print_then_load, path))
    assert live.isolate
    write_rules(path, with_main({"name": "reloaded", "priority": 1, "ipAddress": "127.0.9.0/24"}))
    assert live.reload() is True, live.last_error
    assert live.engine.decide("127.0.9.1").decided_by == "reloaded"


def test_a_reload_child_that_dies_keeps_the_old_rules_and_says_how_it_ended(
    tmp_path: Path,
) -> None:
    path = write_rules(tmp_path / "rules.json")
    live = LiveRules(path, loader=functools.partial(reload_loaders.die_outside, os.getpid(), path))
    before = live.current
    assert live.reload() is False
    assert live.current is before and live.failed_reloads == 1
    assert "killed by signal 9" in (live.last_error or ""), live.last_error


def test_a_load_error_in_the_child_is_the_reload_error(tmp_path: Path) -> None:
    path = write_rules(tmp_path / "rules.json")
    live = LiveRules(path, loader=functools.partial(reload_loaders.fail_outside, os.getpid(), path))
    assert live.reload() is False
    assert "missing.json" in (live.last_error or ""), live.last_error


def test_a_loader_that_cannot_be_pickled_reloads_in_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A closure cannot go to a new process: by default reloads then run in process (and the
    log says so); ``isolate=True`` with one is refused at once, naming the loader."""
    path = write_rules(tmp_path / "rules.json")
    calls: list[int] = []

    def loader() -> acl.Site:
        calls.append(os.getpid())
        return acl.load(path)

    with caplog.at_level("INFO", logger="acl.middleware"):
        live = LiveRules(path, loader=loader)
    assert live.isolate is False and "cannot be pickled" in caplog.text
    assert live.reload() is True and calls == [os.getpid(), os.getpid()]
    with pytest.raises(TypeError, match=r"isolate=True sends the loader .*loader.* pickle"):
        LiveRules(path, loader=loader, isolate=True)


def test_the_default_loader_keeps_its_load_options_in_the_child(tmp_path: Path) -> None:
    """``LiveRules(path, **load_options)``: the options reach the child (here ``site``,
    which picks one app of a two-app script)."""
    script = tmp_path / "rules.sh"
    script.write_text(
        "az webapp config access-restriction add -g rg -n one --rule-name a "
        "--priority 100 --ip-address 127.0.1.0/24\n"
        "az webapp config access-restriction add -g rg -n two --rule-name b "
        "--priority 100 --ip-address 127.0.2.0/24\n"
    )
    live = LiveRules(script, site="two")
    assert live.isolate and live.reload() is True, live.last_error
    assert live.engine.decide("127.0.2.1").decided_by == "b"
    assert live.engine.decide("127.0.1.1").allowed is False

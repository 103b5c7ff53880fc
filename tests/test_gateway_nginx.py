"""End to end behind a real nginx: ``auth_request`` to a running ``acl serve``.

The tests start, on loopback ports picked free: a small Python upstream, ``acl serve``, and
Debian's nginx (``/usr/sbin/nginx``, with its own temporary prefix, config and pid file).
Clients stand at different 127.x.y.z source addresses (all of 127.0.0.0/8 is local on
Linux) and the rules give those subranges different fates. Everything is stopped at the end,
process groups killed if need be. nginx missing is a failure, not a skip:
``bash scripts/test-services.sh`` installs it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from acl.cli.bench import harness

from .test_serve import (
    MAIN_HOST,
    SCM_HOST,
    Answer,
    Process,
    fetch,
    spawn,
    start_serve,
    with_main,
    write_rules,
)

pytest_plugins = ["acl.testing"]

load_test = harness("loadgen").load_test  # the load generator lives in benchmarks/

FORBIDDEN_PAGE = "<html><body><h1>Error 403 - Forbidden</h1></body></html>"

NGINX_CONF = """\
# nginx in front of an app, asking `acl serve` about every request (auth_request).
worker_processes 1;
{user}pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}

http {{
    log_format acl '$remote_addr "$host" "$request" $status acl=$acl_rule';
    access_log {prefix}/access.log acl;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
{temp_paths}
    upstream acl_serve {{
        server 127.0.0.1:{acl_port};
        keepalive 32;                       # reuse connections to the decision service
    }}
    upstream app {{
        server 127.0.0.1:{app_port};
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{port};

        location / {{
            auth_request /.acl/auth;
            # what the service decided, for the 403 page and the access log
            auth_request_set $acl_forbidden_ip $upstream_http_x_ms_forbidden_ip;
            auth_request_set $acl_rule $upstream_http_x_acl_rule;
            error_page 403 = @acl_forbidden;

            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
        }}

        location = /.acl/auth {{
            internal;
{auth_bind}            proxy_pass http://acl_serve/auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;            # the decision needs the headers only
            proxy_set_header Content-Length "";
            proxy_set_header Host $host;            # the original host: main or scm
            proxy_set_header X-Real-IP $remote_addr; # the client, as nginx sees it
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Original-URI $request_uri;
        }}

        location @acl_forbidden {{
            internal;
            default_type text/html;
            add_header x-ms-forbidden-ip $acl_forbidden_ip always;
            return 403 '{page}';
        }}
    }}
}}
"""

UPSTREAM = """\
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer



class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def answer(self):
        body = ("upstream %s %s from %s" % (
            self.command, self.path, self.headers.get("X-Real-IP"))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = do_DELETE = answer

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 256  # socketserver's 5 drops SYNs under load
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def nginx_binary() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "nginx is not installed (looked on PATH and at /usr/sbin/nginx): the gateway tests "
        "drive a real nginx. Install it with `bash scripts/test-services.sh` (Debian's "
        "nginx-light, with the auth_request module), then run the tests again."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: Process, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if process.popen.poll() is not None:
            pytest.fail(f"{what} exited ({process.popen.returncode}):\n{process.output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not listen on {port} in {timeout} s:\n{process.output()}")
        time.sleep(0.02)


@dataclass
class Gateway:
    port: int
    nginx: Process
    serve: Process
    upstream: Process
    rules: Path
    prefix: Path


def start_upstream(directory: Path) -> Process:
    script = directory / "upstream.py"
    script.write_text(UPSTREAM)
    process = spawn([sys.executable, str(script)], directory / "upstream.log")
    deadline = time.monotonic() + 15
    while not process.output().strip():
        if process.popen.poll() is not None or time.monotonic() > deadline:
            process.stop(signal.SIGKILL)
            pytest.fail(f"the upstream did not start:\n{process.output()}")
        time.sleep(0.02)
    process.port = int(process.output().split()[0])
    return process


def start_nginx(
    prefix: Path, acl_port: int, app_port: int, *, auth_bind: str | None = None
) -> Process:
    """nginx with the configuration above; ``auth_bind``: the source address of its
    connections to ``acl serve`` (``proxy_bind``), default 127.0.0.1."""
    binary = nginx_binary()
    built = subprocess.run([binary, "-V"], capture_output=True, text=True, check=False).stderr
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    temp_paths = "".join(
        f"    {module}_temp_path {prefix}/tmp/{module};\n"
        for module in ("fastcgi", "uwsgi", "scgi")
        if f"--without-http_{module}_module" not in built
    )
    # as root, nginx's workers would switch to `nobody`, who cannot read pytest's tmp
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            prefix=prefix,
            user=user,
            temp_paths=temp_paths,
            acl_port=acl_port,
            app_port=app_port,
            port=port,
            auth_bind=f"            proxy_bind {auth_bind};\n" if auth_bind else "",
            page=FORBIDDEN_PAGE,
        )
    )
    command = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        pytest.fail(f"nginx rejects the test configuration:\n{checked.stderr}")
    process = spawn([*command, "-g", "daemon off;"], prefix / "nginx.out")
    process.port = port
    try:
        wait_for_port(port, process, "nginx")
    except BaseException:
        process.stop(signal.SIGKILL)
        raise
    return process


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    nginx_binary()  # fail first, clearly, when nginx is missing
    root = tmp_path_factory.mktemp("gateway")
    rules = write_rules(root / "rules.json")
    started: list[Process] = []
    try:
        upstream = start_upstream(root)
        started.append(upstream)
        serve = start_serve(root, rules)
        started.append(serve)
        nginx = start_nginx(root / "nginx", serve.port, upstream.port)
        started.append(nginx)
        yield Gateway(nginx.port, nginx, serve, upstream, rules, root / "nginx")
    finally:
        for process in reversed(started):
            process.stop(signal.SIGQUIT if process is started[-1] else signal.SIGTERM)


def test_allowed_requests_reach_the_upstream(gateway: Gateway) -> None:
    answer = fetch(gateway.port, "/orders?id=7", source="127.0.1.20", host=MAIN_HOST)
    assert answer.status == 200
    assert answer.body == b"upstream GET /orders?id=7 from 127.0.1.20"
    posted = fetch(gateway.port, "/x", method="POST", source="127.0.1.20", host=MAIN_HOST)
    assert posted.status == 200


def test_denied_requests_get_403_from_nginx(gateway: Gateway) -> None:
    for source in ("127.0.2.20", "127.0.0.20"):  # a deny rule, the unmatched-rule deny
        answer = fetch(gateway.port, "/", source=source, host=MAIN_HOST)
        assert answer.status == 403, source
        assert answer.headers["x-ms-forbidden-ip"] == source
        assert answer.headers["content-type"] == "text/html"
        assert b"Error 403 - Forbidden" in answer.body
        assert b"upstream" not in answer.body
    # nginx logs a request after answering it: give the log line a moment
    log = gateway.prefix / "access.log"
    deadline = time.monotonic() + 5
    while not ("acl=blocked" in log.read_text() and "acl=default" in log.read_text()):
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.02)


def test_forwarded_headers_from_an_untrusted_client_are_not_believed(gateway: Gateway) -> None:
    spoof = [("X-Forwarded-For", "127.0.1.20"), ("X-Real-IP", "127.0.1.20")]
    answer = fetch(gateway.port, "/", source="127.0.2.21", host=MAIN_HOST, headers=spoof)
    assert (answer.status, answer.headers["x-ms-forbidden-ip"]) == (403, "127.0.2.21")


def test_a_client_x_forwarded_for_changes_nothing_behind_nginx(gateway: Gateway) -> None:
    """uvicorn's proxy headers are off: the service's peer stays nginx (127.0.0.1), whatever
    X-Forwarded-For the client sent, and the client is nginx's X-Real-IP."""
    for xff in ("198.51.100.7", "127.0.2.30", "127.0.1.20, 127.0.0.1"):
        allowed = fetch(
            gateway.port,
            "/",
            source="127.0.1.20",
            host=MAIN_HOST,
            headers=[("X-Forwarded-For", xff)],
        )
        assert allowed.status == 200, xff
        denied = fetch(
            gateway.port,
            "/",
            source="127.0.2.20",
            host=MAIN_HOST,
            headers=[("X-Forwarded-For", xff)],
        )
        assert (denied.status, denied.headers["x-ms-forbidden-ip"]) == (403, "127.0.2.20"), xff


def test_the_host_selects_the_scm_rules(gateway: Gateway) -> None:
    assert fetch(gateway.port, "/", source="127.0.4.20", host=SCM_HOST).status == 200
    assert fetch(gateway.port, "/", source="127.0.4.20", host=SCM_HOST + ":443").status == 200
    assert fetch(gateway.port, "/", source="127.0.4.20", host=MAIN_HOST).status == 403
    assert fetch(gateway.port, "/", source="127.0.1.20", host=SCM_HOST).status == 403


def test_header_filters_see_the_original_headers(gateway: Gateway) -> None:
    fd = ("X-Azure-FDID", "fd-1")

    def go(*headers: tuple[str, str]) -> Answer:
        return fetch(gateway.port, "/", source="127.0.3.20", host=MAIN_HOST, headers=headers)

    assert go(fd).status == 200
    assert go(("X-Azure-FDID", "fd-2")).status == 403
    assert go(fd, fd).status == 403  # every copy reaches the filter: two never match
    assert go().status == 403


def test_a_reload_under_traffic_changes_the_answer_without_errors(gateway: Gateway) -> None:
    """Clients at 127.0.5.x are denied; the rules change to allow them and the service is
    sent SIGHUP while they keep asking. Every answer is 200 or 403, and once a client has
    seen the new rules it never sees the old ones again."""
    stop = threading.Event()
    results: dict[int, list[int]] = {}
    failures: list[str] = []

    def client(index: int) -> None:
        seen = results.setdefault(index, [])
        while not stop.is_set():
            try:
                seen.append(
                    fetch(gateway.port, "/", source=f"127.0.5.{index + 1}", host=MAIN_HOST).status
                )
            except OSError as exc:  # pragma: no cover - the assertion below reports it
                failures.append(repr(exc))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        write_rules(
            gateway.rules,
            with_main({"name": "reloaded", "priority": 1, "ipAddress": "127.0.5.0/24"}),
        )
        gateway.serve.send(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while not all(200 in seen for seen in results.values()):
            assert time.monotonic() < deadline, "the reload did not take effect"
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        write_rules(gateway.rules)
        gateway.serve.send(signal.SIGHUP)
    assert not failures
    for seen in results.values():
        assert set(seen) <= {200, 403}
        first = seen.index(200)
        assert first > 0 and set(seen[:first]) == {403} and set(seen[first:]) == {200}
    deadline = time.monotonic() + 10
    while fetch(gateway.port, "/", source="127.0.5.1", host=MAIN_HOST).status != 403:
        assert time.monotonic() < deadline, "the rules were not restored"
        time.sleep(0.05)


def test_a_bounded_load_test_has_no_errors(gateway: Gateway) -> None:
    """A few thousand requests over 32 keep-alive connections, each from its own client
    address, half allowed and half denied; loopback only, time-bounded."""
    allowed = [f"127.0.1.{i}" for i in range(100, 116)]
    denied = [f"127.0.2.{i}" for i in range(100, 116)]
    sources = [a for pair in zip(allowed, denied, strict=True) for a in pair]
    report = load_test(
        gateway.port,
        requests=4000,
        connections=32,
        sources=sources,
        variants=[("GET", "/", [("Host", MAIN_HOST)])],
        time_limit=30,
    )
    print(f"\nnginx + acl serve load test: {report}")
    assert report.errors == 0, report.error_samples
    assert not report.timed_out and report.requests == 4000
    for source, statuses in report.by_source.items():
        assert set(statuses) == ({200} if source in allowed else {403}), source
    assert report.p99_ms < 250, report

"""End to end behind a real Caddy: ``forward_auth`` to a running ``acl serve``.

The Caddyfile is the one of docs/gateway.md (its ```` ```caddyfile file=Caddyfile ````
block), with the test's loopback ports put in. Debian's Caddy (``/usr/bin/caddy``) runs with
its admin endpoint off and its data and config directories in the test's temporary
directory; clients stand at different 127.x.y.z addresses as in the nginx tests. Caddy
missing is a failure, not a skip: ``bash scripts/test-services.sh`` installs it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from acl.gateway import FORBIDDEN_BODY

from .test_gateway_envoy import documented, start_upstream
from .test_gateway_nginx import free_port, wait_for_port
from .test_serve import MAIN_HOST, SCM_HOST, Answer, Process, fetch, spawn, start_serve, write_rules

# what the documented `acl serve` command line adds for Caddy
SERVE_OPTIONS = ("--client-header", "X-Forwarded-For", "--trusted-proxy", "127.0.0.1")
SERVE_OPTIONS += ("--trusted-hops", "1")


def caddy_binary() -> str:
    for candidate in (shutil.which("caddy"), "/usr/bin/caddy"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "caddy is not installed (looked on PATH and at /usr/bin/caddy): the gateway tests "
        "drive a real Caddy. Install it with `bash scripts/test-services.sh` (Debian's "
        "caddy), then run the tests again."
    )


def caddyfile(acl_port: int, app_port: int, port: int) -> str:
    text = documented("Caddyfile", "caddyfile")
    for old, new in (
        ("forward_auth 127.0.0.1:9180", f"forward_auth 127.0.0.1:{acl_port}"),
        ("reverse_proxy 127.0.0.1:8000", f"reverse_proxy 127.0.0.1:{app_port}"),
        (":8080 {", f":{port} {{"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def start_caddy(directory: Path, acl_port: int, app_port: int) -> Process:
    binary = caddy_binary()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "Caddyfile"
    config.write_text(caddyfile(acl_port, app_port, port))
    env = {
        **os.environ,
        "HOME": str(directory),
        "XDG_DATA_HOME": str(directory / "data"),
        "XDG_CONFIG_HOME": str(directory / "config"),
    }
    command = [binary, "run", "--adapter", "caddyfile", "--config", str(config)]
    checked = subprocess.run(
        [binary, "validate", "--adapter", "caddyfile", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if checked.returncode != 0:
        pytest.fail(f"caddy rejects the documented Caddyfile:\n{checked.stderr}")
    process = spawn(command, directory / "caddy.log", env=env)
    process.port = port
    try:
        wait_for_port(port, process, "caddy", timeout=30)
    except BaseException:
        process.stop(signal.SIGKILL)
        raise
    return process


@dataclass
class Gateway:
    port: int
    caddy: Process
    serve: Process
    upstream: Process


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    caddy_binary()  # fail first, clearly, when caddy is missing
    root = tmp_path_factory.mktemp("caddy")
    rules = write_rules(root / "rules.json")
    started: list[Process] = []
    try:
        upstream = start_upstream(root)
        started.append(upstream)
        serve = start_serve(root, rules, *SERVE_OPTIONS)
        started.append(serve)
        caddy = start_caddy(root / "caddy", serve.port, upstream.port)
        started.append(caddy)
        yield Gateway(caddy.port, caddy, serve, upstream)
    finally:
        for process in reversed(started):
            process.stop(signal.SIGTERM)


def go(gateway: Gateway, source: str, **kwargs: object) -> Answer:
    path = str(kwargs.pop("path", "/orders?id=7"))
    return fetch(gateway.port, path, source=source, **kwargs)  # type: ignore[arg-type]


def test_allowed_requests_reach_the_upstream(gateway: Gateway) -> None:
    forged = [("X-Acl-Rule", "forged")]
    answer = go(gateway, "127.0.1.20", host=MAIN_HOST, headers=forged)
    assert answer.status == 200, answer
    # copy_headers: the app sees the decision, in one copy (the forged one is replaced)
    assert answer.body == b"upstream GET /orders?id=7 rule ['office']"
    posted = go(gateway, "127.0.1.20", host=MAIN_HOST, method="POST", path="/x")
    assert (posted.status, posted.body) == (200, b"upstream POST /x rule ['office']")


def test_denied_requests_get_the_app_service_403(gateway: Gateway) -> None:
    for source in ("127.0.2.20", "127.0.0.20"):  # a deny rule, the unmatched-rule deny
        answer = go(gateway, source, host=MAIN_HOST)
        assert answer.status == 403, (source, answer)
        assert answer.headers["x-ms-forbidden-ip"] == source
        assert answer.headers["content-type"] == "text/html"
        assert answer.body == FORBIDDEN_BODY
        assert "x-acl-rule" not in answer.headers and "x-acl-decision" not in answer.headers


def test_the_host_selects_the_scm_rules(gateway: Gateway) -> None:
    assert go(gateway, "127.0.4.20", host=SCM_HOST).status == 200
    assert go(gateway, "127.0.4.20", host=SCM_HOST + ":443").status == 200
    assert go(gateway, "127.0.4.20", host=MAIN_HOST).status == 403
    assert go(gateway, "127.0.1.20", host=SCM_HOST).status == 403


def test_header_filters_see_the_original_headers(gateway: Gateway) -> None:
    fd = ("X-Azure-FDID", "fd-1")

    def status(*headers: tuple[str, str]) -> int:
        return go(gateway, "127.0.3.20", host=MAIN_HOST, headers=headers).status

    assert status(fd) == 200
    assert status(("X-Azure-FDID", "fd-2")) == 403
    assert status(fd, fd) == 403  # every copy reaches the filter: two never match
    assert status() == 403


def test_forwarded_headers_from_a_client_are_not_believed(gateway: Gateway) -> None:
    spoof = [("X-Forwarded-For", "127.0.1.20"), ("X-Real-IP", "127.0.1.20")]
    answer = go(gateway, "127.0.2.21", host=MAIN_HOST, headers=spoof)
    assert (answer.status, answer.headers.get("x-ms-forbidden-ip")) == (403, "127.0.2.21")
    two = [("X-Forwarded-For", "127.0.1.20"), ("X-Forwarded-For", "127.0.1.21")]
    assert go(gateway, "127.0.0.30", host=MAIN_HOST, headers=two).status == 403


def test_an_unreachable_service_fails_closed(gateway: Gateway, tmp_path: Path) -> None:
    dead = start_caddy(tmp_path / "dead", free_port(), gateway.upstream.port)
    try:
        answer = fetch(dead.port, "/", source="127.0.1.20", host=MAIN_HOST)
        assert answer.status == 502, answer
        assert b"upstream" not in answer.body
    finally:
        dead.stop(signal.SIGTERM)

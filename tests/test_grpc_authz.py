"""Envoy ``ext_authz`` over gRPC: a real grpcio client speaking Envoy's own protos
(``xds-protos``) to a real ``acl serve --grpc-listen``, then the logic in process.

The source addresses are the loopback subranges of ``tests/test_serve.py``'s rules; the
service trusts only 127.0.0.1 (the "Envoy" and the "load balancer" of these tests), so the
other 127.x.y.z addresses are ordinary clients.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2 as pb
from envoy.service.auth.v3 import external_auth_pb2_grpc

from acl.errors import UsageError
from acl.gateway import FORBIDDEN_BODY, DecisionService, RulesSnapshot
from acl.gateway.grpc import GrpcAuthorization, GrpcServer, parse_peer

from .test_metrics import samples
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

OK, DENIED = 0, 7  # google.rpc.Code


def check_request(
    source: str,
    host: str | None = MAIN_HOST,
    headers: dict[str, str] | None = None,
    *,
    port: int = 52580,
    raw: Sequence[tuple[str, str]] = (),
) -> Any:
    """A CheckRequest as Envoy's ext_authz filter builds it."""
    request = pb.CheckRequest()
    attributes = request.attributes
    if source:
        attributes.source.address.socket_address.address = source
        attributes.source.address.socket_address.port_value = port
    http = attributes.request.http
    http.method, http.path, http.scheme, http.protocol = "GET", "/orders?id=7", "http", "HTTP/1.1"
    if host is not None:
        http.host = host
    for name, value in (headers or {}).items():
        http.headers[name] = value
    for name, value in raw:
        http.header_map.headers.add(key=name, raw_value=value.encode())
    return request


def headers_of(options: Any) -> dict[str, str]:
    return {option.header.key: option.header.value for option in options}


# ---------------------------------------------------------------------------- a real server


class Client:
    def __init__(self, port: int) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = external_auth_pb2_grpc.AuthorizationStub(self.channel)

    def check(self, *args: Any, **kwargs: Any) -> Any:
        return self.stub.Check(check_request(*args, **kwargs), timeout=10)

    def close(self) -> None:
        self.channel.close()


def grpc_port(process: Process) -> int:
    found = re.search(r"gRPC ext_authz listening on 127\.0\.0\.1:(\d+)", process.output())
    assert found, process.output()
    return int(found.group(1))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    root = tmp_path_factory.mktemp("grpc")
    rules = write_rules(root / "rules.json")
    process = start_serve(
        root,
        rules,
        "--grpc-listen",
        "127.0.0.1:0",
        "--trusted-proxy",
        "127.0.0.1",
        "--decision-log",
        str(root / "audit.jsonl"),
    )
    process.extra.update(rules=rules, audit=root / "audit.jsonl", grpc=grpc_port(process))
    try:
        yield process
    finally:
        code = process.stop()
        assert code in (0, -signal.SIGTERM), process.output()


@pytest.fixture
def client(served: Process) -> Iterator[Client]:
    made = Client(served.extra["grpc"])
    yield made
    made.close()


def test_an_allowed_check_answers_ok_with_the_decision_for_the_upstream(client: Client) -> None:
    answer = client.check("127.0.1.20")
    assert answer.status.code == OK and answer.HasField("ok_response")
    assert headers_of(answer.ok_response.headers) == {
        "x-acl-decision": "allow",
        "x-acl-rule": "office",
    }
    overwrite = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
    assert {h.append_action for h in answer.ok_response.headers} == {overwrite}
    meta = answer.dynamic_metadata
    assert (meta["decision"], meta["rule"], meta["client"]) == ("allow", "office", "127.0.1.20")


def test_a_denied_check_answers_permission_denied_with_the_app_service_403(
    client: Client,
) -> None:
    for source, rule in (("127.0.2.20", "blocked"), ("127.0.0.20", "default")):
        answer = client.check(source)
        assert answer.status.code == DENIED, source
        assert answer.status.message == f"denied by {rule}"
        denied = answer.denied_response
        assert denied.status.code == 403
        assert headers_of(denied.headers) == {
            "content-type": "text/html",
            "x-ms-forbidden-ip": source,
        }
        assert denied.body == FORBIDDEN_BODY.decode()
        assert answer.dynamic_metadata["rule"] == rule
    v6 = client.check("2001:db8:9::1")
    assert headers_of(v6.denied_response.headers)["x-ms-forbidden-ip"] == "[2001:db8:9::1]"
    assert client.check("2001:db8:1::5").status.code == OK  # v6-office


def test_the_host_selects_the_scm_rules(client: Client) -> None:
    assert client.check("127.0.4.20", host=SCM_HOST).status.code == OK
    assert client.check("127.0.4.20", host=SCM_HOST + ":443").status.code == OK
    assert client.check("127.0.4.20", host=MAIN_HOST).status.code == DENIED
    assert client.check("127.0.1.20", host=SCM_HOST).status.code == DENIED


def test_header_filters_see_the_original_headers(client: Client) -> None:
    def go(**kwargs: Any) -> int:
        code: int = client.check("127.0.3.20", **kwargs).status.code
        return code

    assert go(headers={"x-azure-fdid": "fd-1"}) == OK
    assert go(headers={"x-azure-fdid": "fd-2"}) == DENIED
    assert go(headers={"x-azure-fdid": "fd-1,fd-1"}) == DENIED  # Envoy joins two copies
    assert go() == DENIED
    # encode_raw_headers: Envoy sends header_map instead of the headers map
    assert go(raw=[("x-azure-fdid", "fd-1")]) == OK
    assert go(raw=[("x-azure-fdid", "fd-1"), ("x-azure-fdid", "fd-1")]) == DENIED


def test_forwarding_headers_are_believed_only_from_a_trusted_source(client: Client) -> None:
    spoof = {"x-forwarded-for": "127.0.1.20", "x-envoy-external-address": "127.0.1.20"}
    answer = client.check("127.0.2.21", headers=spoof)
    assert answer.status.code == DENIED
    assert headers_of(answer.denied_response.headers)["x-ms-forbidden-ip"] == "127.0.2.21"
    # as a real Envoy sends it (use_remote_address: the source appended): still the source
    appended = {"x-forwarded-for": "127.0.1.20, 127.0.2.21"}
    assert client.check("127.0.2.21", headers=appended).status.code == DENIED
    # from a trusted load balancer in front of Envoy the header is walked
    behind = {"x-forwarded-for": "127.0.1.20, 127.0.0.1"}
    answer = client.check("127.0.0.1", headers=behind)
    assert (answer.status.code, answer.dynamic_metadata["client"]) == (OK, "127.0.1.20")
    walked = {"x-forwarded-for": "127.0.1.20, 127.0.2.22, 127.0.0.1"}
    assert client.check("127.0.0.1", headers=walked).dynamic_metadata["client"] == "127.0.2.22"
    external = {"x-envoy-external-address": "127.0.1.21", "x-forwarded-for": "127.0.2.1"}
    assert client.check("127.0.0.1", headers=external).dynamic_metadata["client"] == "127.0.1.21"


def test_a_bad_address_fails_closed_with_a_reason(client: Client) -> None:
    for source, why in (
        ("not-an-address", "'not-an-address' is not an IP address"),
        ("", "the check request has no source address"),
    ):
        answer = client.check(source)
        assert answer.status.code == DENIED
        assert answer.status.message == f"client address unknown: {why}"
        denied = answer.denied_response
        assert denied.status.code == 403
        assert headers_of(denied.headers) == {"content-type": "text/html"}
        assert answer.dynamic_metadata["rule"] == "client-unknown"
    garbage = {"x-forwarded-for": "127.0.1.20, bogus"}
    answer = client.check("127.0.0.1", headers=garbage)
    assert answer.status.message == "client address unknown: 'bogus' is not an IP address"


def test_metrics_and_the_decision_log_count_grpc_checks(served: Process, client: Client) -> None:
    def counted() -> dict[Any, float]:
        return samples(fetch(served.port, "/metrics").body)

    before = counted()
    for _ in range(3):
        client.check("127.0.1.30")
    client.check("127.0.2.30")
    client.check("no-address")
    after = counted()

    def grew(key: Any) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert grew(("acl_checks_total", (("transport", "grpc"),))) == 5
    assert grew(("acl_checks_total", (("transport", "http"),))) == 0
    office = (
        "acl_decisions_total",
        (("action", "allow"), ("collection", "main"), ("rule", "office")),
    )
    assert grew(office) == 3
    assert grew(("acl_fail_closed_total", (("reason", "client-unknown"),))) == 1
    assert grew(("acl_decision_duration_seconds_count", ())) == 5
    records = [json.loads(line) for line in served.extra["audit"].read_text().splitlines()]
    mine = [r["properties"] for r in records if r["properties"]["CIp"].startswith("127.0.2.30")]
    assert mine and mine[-1]["CIp"] == "127.0.2.30:52580" and mine[-1]["Result"] == "Denied"
    assert mine[-1]["CsHost"] == MAIN_HOST


def test_a_reload_under_traffic_changes_the_answer_without_errors(
    served: Process, client: Client
) -> None:
    """Clients at 127.0.5.x are denied; the rules change to allow them and the service is
    sent SIGHUP while they keep asking over gRPC. Every answer is OK or PERMISSION_DENIED,
    and once a client has seen the new rules it never sees the old ones again."""
    rules: Path = served.extra["rules"]
    stop = threading.Event()
    results: dict[int, list[int]] = {}
    failures: list[str] = []

    def ask(index: int) -> None:
        seen = results.setdefault(index, [])
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                seen.append(client.check(f"127.0.5.{index + 1}").status.code)
            except grpc.RpcError as exc:  # pragma: no cover - the assertion below reports it
                failures.append(repr(exc))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        write_rules(
            rules, with_main({"name": "reloaded", "priority": 1, "ipAddress": "127.0.5.0/24"})
        )
        served.send(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while not all(OK in seen for seen in results.values()):
            assert time.monotonic() < deadline, "the reload did not take effect"
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=40)
        write_rules(rules)
        served.send(signal.SIGHUP)
    assert not failures
    for seen in results.values():
        assert set(seen) <= {OK, DENIED}
        first = seen.index(OK)
        assert first > 0 and set(seen[:first]) == {DENIED} and set(seen[first:]) == {OK}
    deadline = time.monotonic() + 10
    while client.check("127.0.5.1").status.code != DENIED:
        assert time.monotonic() < deadline, "the rules were not restored"
        time.sleep(0.05)


def test_a_port_in_use_is_one_line_and_exit_2(served: Process, tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules.json")
    taken = f"127.0.0.1:{served.extra['grpc']}"
    done = subprocess.run(
        [
            *serve_command(),
            "--rules",
            str(rules),
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            taken,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"acl: error: cannot listen on {taken} (gRPC): ")
    assert done.stderr.count("\n") == 1


# ---------------------------------------------------------------------------- in process


@pytest.fixture
def authz(tmp_path: Path) -> Iterator[GrpcAuthorization]:
    service = DecisionService(write_rules(tmp_path / "rules.json"), trusted_proxies=["127.0.0.1"])
    yield GrpcAuthorization(service)
    service.close()


def test_a_check_from_an_untrusted_peer_is_denied(authz: GrpcAuthorization) -> None:
    for peer in ("198.51.100.7", "127.0.0.2", None):
        answer = authz.check(check_request("127.0.1.20"), peer=peer)
        assert answer.status.code == DENIED, peer
        assert answer.status.message.endswith("is not a trusted proxy")
        assert headers_of(answer.denied_response.headers) == {"content-type": "text/html"}
    assert authz.metrics.fail_closed == {"client-unknown": 3}
    assert authz.check(check_request("127.0.1.20"), peer="127.0.0.1").status.code == OK


def test_an_internal_error_fails_closed(
    authz: GrpcAuthorization, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        site = authz.rules.engine.site

        def decide(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    good = authz.rules.current
    authz.rules.current = RulesSnapshot(Broken(), good.digest, good.loaded_at, None)  # type: ignore[arg-type]
    answer = authz.check(check_request("127.0.1.20"), peer="127.0.0.1")
    assert (answer.status.code, answer.status.message) == (DENIED, "internal error (fail closed)")
    assert answer.denied_response.status.code == 403
    assert "deciding a gRPC check failed" in caplog.text and "boom" in caplog.text
    assert authz.metrics.fail_closed == {"error": 1}


def test_the_host_falls_back_to_the_authority_header(authz: GrpcAuthorization) -> None:
    request = check_request("127.0.4.9", host=None, headers={":authority": SCM_HOST})
    assert authz.check(request, peer="127.0.0.1").status.code == OK


def test_grpc_counters_are_the_services_grpc_transport(authz: GrpcAuthorization) -> None:
    assert authz.service.metrics.transports["grpc"] is authz.metrics
    authz.check(check_request("127.0.1.20"), peer="127.0.0.1")
    assert authz.metrics.decisions == {("allow", "main", "office"): 1}
    assert authz.service.metrics.decisions == {}


def test_parse_peer() -> None:
    assert parse_peer("ipv4:127.0.0.1:5050") == "127.0.0.1"
    assert parse_peer("ipv6:[::1]:5050") == "::1"
    assert parse_peer("ipv6:%5B2001:db8::1%5D:443") == "2001:db8::1"
    assert parse_peer("unix:/run/acl.sock") is None
    assert parse_peer("") is None and parse_peer(None) is None


def test_the_server_starts_and_stops_in_process(authz: GrpcAuthorization) -> None:
    server = GrpcServer(authz, "127.0.0.1", 0)
    port = server.start()
    assert port > 0 and server.address == f"127.0.0.1:{port}"
    client = Client(port)
    try:
        assert client.check("127.0.1.20").status.code == OK
    finally:
        client.close()
        server.stop(grace=1)
    server.stop()  # stopping twice does nothing
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        taken = sock.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{taken} \\(gRPC\\)"):
            GrpcServer(authz, "127.0.0.1", taken).start()


def test_the_grpc_listen_option(tmp_path: Path) -> None:
    from .test_serve import _parser

    rules = str(write_rules(tmp_path / "rules.json"))
    args = _parser().parse_args(["serve", "--rules", rules, "--grpc-listen", "[::1]:9181"])
    assert args.grpc_listen == ("::1", 9181)
    assert _parser().parse_args(["serve", "--rules", rules]).grpc_listen is None
    with pytest.raises(UsageError, match="--grpc-listen: '9181' is not HOST:PORT"):
        _parser().parse_args(["serve", "--rules", rules, "--grpc-listen", "9181"])


def test_without_grpcio_the_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    rules = str(write_rules(tmp_path / "rules.json"))
    script = (
        "import sys; sys.modules['grpc'] = None; from acl import cli; "
        f"sys.exit(cli.main(['serve', '--rules', {rules!r}, '--listen', '127.0.0.1:0', "
        "'--grpc-listen', '127.0.0.1:0']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "acl: error: --grpc-listen needs grpcio and xds-protos (grpc is missing): "
        "pip install 'acl[grpc]'\n"
    )


def test_headers_over_the_caps_are_refused_as_over_http(authz: GrpcAuthorization) -> None:
    # The source is a trusted proxy, so its X-Forwarded-For is read: over the cap, the check
    # is refused, never decided on a cut-short chain.
    chain = ", ".join(["198.51.100.7"] * 1000)  # about 14 KB
    answer = authz.check(
        check_request("127.0.0.1", headers={"x-forwarded-for": chain}), peer="127.0.0.1"
    )
    assert answer.status.code == DENIED
    assert "at most 8192 per header" in answer.status.message
    assert headers_of(answer.denied_response.headers) == {"content-type": "text/html"}
    assert authz.metrics.fail_closed == {"header-too-large": 1}
    # Under the cap the same chain is walked: the client is its last hop, 198.51.100.7.
    short = ", ".join(["198.51.100.7"] * 10)
    answer = authz.check(
        check_request("127.0.0.1", headers={"x-forwarded-for": short}), peer="127.0.0.1"
    )
    assert answer.status.code == DENIED and "denied by" in answer.status.message


@pytest.mark.parametrize(
    ("host", "headers"),
    [
        (MAIN_HOST, {"host": SCM_HOST}),
        (None, {":authority": MAIN_HOST, "host": SCM_HOST}),
        (f"{MAIN_HOST},{SCM_HOST}", {}),
    ],
)
def test_hosts_that_disagree_are_refused(
    authz: GrpcAuthorization, host: str | None, headers: dict[str, str]
) -> None:
    answer = authz.check(check_request("127.0.1.20", host=host, headers=headers), peer="127.0.0.1")
    assert answer.status.code == DENIED
    assert authz.metrics.fail_closed == {"bad-host": 1}


def test_one_host_given_twice_alike_is_decided(authz: GrpcAuthorization) -> None:
    request = check_request("127.0.1.20", headers={":authority": MAIN_HOST, "host": MAIN_HOST})
    assert authz.check(request, peer="127.0.0.1").status.code == OK

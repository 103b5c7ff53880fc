"""The decision service: its endpoints in process, then ``acl serve`` on a real uvicorn.

The process helpers at the top (start ``acl serve``, fetch from a chosen loopback source
address) are shared with the nginx tests.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import acl
from acl import cli
from acl.gateway import FORBIDDEN_BODY, DecisionService, LiveRules, RulesSnapshot
from acl.gateway.cli import parse_listen, register
from acl.testing import call_asgi

from .test_metrics import samples

pytest_plugins = ["acl.testing"]

RULES: dict[str, Any] = {
    "ipSecurityRestrictions": [
        {"name": "office", "priority": 100, "action": "Allow", "ipAddress": "127.0.1.0/24"},
        {"name": "blocked", "priority": 200, "action": "Deny", "ipAddress": "127.0.2.0/24"},
        {
            "name": "front-door",
            "priority": 300,
            "action": "Allow",
            "ipAddress": "127.0.3.0/24,2001:db8:fd::/48",
            "headers": {"X-Azure-FDID": ["fd-1"]},
        },
        {"name": "v6-office", "priority": 400, "action": "Allow", "ipAddress": "2001:db8:1::/48"},
    ],
    "scmIpSecurityRestrictions": [
        {"name": "build-agents", "priority": 100, "action": "Allow", "ipAddress": "127.0.4.0/24"}
    ],
}
"""The site the service tests use: loopback subranges stand for clients."""

SCM_HOST = "app.scm.azurewebsites.net"
MAIN_HOST = "app.azurewebsites.net"


def write_rules(path: Path, rules: dict[str, Any] = RULES, **changes: Any) -> Path:
    """Write a rules file atomically (a reader never sees half of it)."""
    data = {**rules, **changes}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
    return path


def with_main(*extra: dict[str, Any]) -> dict[str, Any]:
    """RULES with extra main rules in front."""
    return {**RULES, "ipSecurityRestrictions": [*extra, *RULES["ipSecurityRestrictions"]]}


# ---------------------------------------------------------------------------- processes

LAUNCHER = """
import sys
from acl import cli
from acl.errors import AclError
from acl.gateway.cli import register
parser = cli.Parser(prog="acl")
commands = parser.add_subparsers(dest="command", required=True, parser_class=cli.Parser)
register(commands, cli.add_rules_options, cli.load_site)
try:
    args = parser.parse_args(sys.argv[1:])
    sys.exit(args.handler(args))
except AclError as exc:
    print(f"acl: error: {exc}", file=sys.stderr)
    sys.exit(2)
"""
"""``acl serve`` through a parser of our own, until ``acl.cli`` registers the command."""


def serve_command() -> list[str]:
    """The command line that runs ``acl serve``: the real CLI once it has the command."""
    for action in cli.build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction) and "serve" in action.choices:
            return [sys.executable, "-m", "acl", "serve"]
    return [sys.executable, "-c", LAUNCHER, "serve"]


@dataclass
class Process:
    """A child process in its own process group, with its output in a file."""

    popen: subprocess.Popen[bytes]
    log: Path
    port: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def send(self, signum: int) -> None:
        os.kill(self.popen.pid, signum)

    def stop(self, signum: int = signal.SIGTERM) -> int | None:
        """Stop the process and everything it started; returns the exit code."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # children left behind in the group
        return self.popen.returncode


def spawn(command: Sequence[str], log: Path, **kwargs: Any) -> Process:
    with log.open("wb") as out:
        popen = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **kwargs,
        )
    return Process(popen, log)


def start_serve(
    directory: Path,
    rules: Path,
    *options: str,
    timeout: float = 30,
    env: dict[str, str] | None = None,
) -> Process:
    """Start ``acl serve`` on a free loopback port; returns once it answers /healthz.
    ``env``: variables added to the environment."""
    log = directory / f"serve-{time.monotonic_ns()}.log"
    process = spawn(
        [*serve_command(), "--rules", str(rules), "--listen", "127.0.0.1:0", *options],
        log,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", process.output())
            if found:
                process.port = int(found.group(1))
                break
            if process.popen.poll() is not None:
                pytest.fail(f"acl serve exited ({process.popen.returncode}):\n{process.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"acl serve did not start in {timeout} s:\n{process.output()}")
            time.sleep(0.02)
        while fetch(process.port, "/healthz").status != 200:  # pragma: no cover
            time.sleep(0.02)
    except BaseException:
        process.stop(signal.SIGKILL)
        raise
    return process


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes


def fetch(
    port: int,
    path: str = "/",
    *,
    method: str = "GET",
    source: str = "127.0.0.1",
    host: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
    timeout: float = 10,
) -> Answer:
    """One request to 127.0.0.1:port from the source address ``source`` (any 127.x.y.z);
    repeated header names are sent as separate copies."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0)
    )
    try:
        connection.putrequest(method, path, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        return Answer(
            response.status,
            response.reason,
            {name.lower(): value for name, value in response.getheaders()},
            body,
        )
    finally:
        connection.close()


# ---------------------------------------------------------------------------- in process


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    return write_rules(tmp_path / "rules.json")


@pytest.fixture
def service(rules_file: Path) -> Iterator[DecisionService]:
    svc = DecisionService(rules_file)
    yield svc
    svc.close()


def auth(service: DecisionService, ip: str | None, **kwargs: Any) -> Any:
    headers = list(kwargs.pop("headers", []))
    if ip is not None:
        headers.append(("X-Real-IP", ip))
    return call_asgi(service, path=kwargs.pop("path", "/auth"), headers=headers, **kwargs)


def test_auth_answers_200_or_403_with_the_decision(service: DecisionService) -> None:
    allowed = auth(service, "127.0.1.9", host=MAIN_HOST, method="POST")
    assert (allowed.status, allowed.body) == (200, b"")
    assert allowed.header("x-acl-decision") == "allow"
    assert allowed.header("x-acl-rule") == "office"
    assert allowed.header("x-ms-forbidden-ip") is None

    denied = auth(service, "127.0.2.9", host=MAIN_HOST)
    assert denied.status == 403
    assert denied.header("x-acl-decision") == "deny"
    assert denied.header("x-acl-rule") == "blocked"
    assert denied.header("x-ms-forbidden-ip") == "127.0.2.9"
    assert denied.header("content-type") == "text/html"
    assert denied.body == FORBIDDEN_BODY

    default = auth(service, "127.0.0.9")
    assert (default.status, default.header("x-acl-rule")) == (403, "default")
    v6 = auth(service, "2001:db8:9::1")
    assert v6.header("x-ms-forbidden-ip") == "[2001:db8:9::1]"
    assert auth(service, "::ffff:127.0.1.3").header("x-acl-rule") == "office"


def test_the_host_selects_main_or_scm(service: DecisionService) -> None:
    assert auth(service, "127.0.4.2", host=SCM_HOST).status == 200
    assert auth(service, "127.0.4.2", host=SCM_HOST + ":443").header("x-acl-rule") == "build-agents"
    assert auth(service, "127.0.4.2", host=MAIN_HOST).status == 403
    assert auth(service, "127.0.1.2", host=SCM_HOST).header("x-acl-rule") == "default"


def test_filtered_headers_are_read_from_the_check_request_with_every_copy(
    service: DecisionService,
) -> None:
    fd = [("X-Azure-FDID", "fd-1")]
    assert auth(service, "127.0.3.1", headers=fd).header("x-acl-rule") == "front-door"
    assert auth(service, "127.0.3.1", headers=[("x-azure-fdid", "fd-2")]).status == 403
    # two copies of X-Azure-FDID never match (fail closed), as at the front end
    assert auth(service, "127.0.3.1", headers=[*fd, ("X-Azure-FDID", "fd-1")]).status == 403
    assert auth(service, "2001:db8:fd::5", headers=fd).status == 200


def test_the_client_header_is_believed_only_from_a_trusted_gateway(
    service: DecisionService,
) -> None:
    # a check from a peer that is not the gateway: denied whatever the header says
    far = auth(service, "127.0.1.9", client="198.51.100.7")
    assert (far.status, far.header("x-acl-rule")) == (403, "client-unknown")
    assert far.header("x-ms-forbidden-ip") is None
    # no header, an empty one, garbage: the client is unknown -> denied
    for value in (None, "", "not-an-address", "127.0.1.9%eth0"):
        answer = auth(service, value)
        assert (answer.status, answer.header("x-acl-rule")) == (403, "client-unknown"), value
    assert service.metrics.fail_closed == {"client-unknown": 5}
    # X-Forwarded-For is no client header here: it only reaches the header filters
    spoof = auth(service, "127.0.2.9", headers=[("X-Forwarded-For", "127.0.1.9")])
    assert spoof.header("x-acl-rule") == "blocked"


def test_a_forwarded_for_client_header_is_walked_like_realip(rules_file: Path) -> None:
    svc = DecisionService(
        rules_file, client_header="X-Forwarded-For", trusted_proxies=["127.0.0.1", "10.0.0.0/8"]
    )
    chain = [("X-Forwarded-For", "127.0.2.7, 127.0.1.7, 10.1.1.1")]
    # 10.1.1.1 is a trusted proxy, so the walk goes on to 127.0.1.7
    assert call_asgi(svc, path="/auth", headers=chain).header("x-acl-rule") == "office"
    hops = DecisionService(rules_file, client_header="X-Forwarded-For", trusted_hops=3)
    assert call_asgi(hops, path="/auth", headers=chain).header("x-acl-rule") == "blocked"
    with pytest.raises(ValueError, match="needs trusted proxies or trusted hops"):
        DecisionService(rules_file, trusted_proxies=())


def test_envoy_mode_checks_under_its_prefix(rules_file: Path) -> None:
    svc = DecisionService(rules_file, mode="envoy")
    # Envoy appended the client's address to X-Forwarded-For: the last hop is the client
    xff = [("X-Forwarded-For", "127.0.1.50, 127.0.2.50")]
    answer = call_asgi(svc, method="DELETE", path="/check/orders/7", host=MAIN_HOST, headers=xff)
    assert (answer.status, answer.header("x-acl-rule")) == (403, "blocked")
    assert answer.header("x-ms-forbidden-ip") == "127.0.2.50"
    external = [*xff, ("x-envoy-external-address", "127.0.1.50")]
    assert call_asgi(svc, path="/check", headers=external).status == 200
    assert call_asgi(svc, path="/check", headers=external, client="198.51.100.1").status == 403
    assert call_asgi(svc, path="/elsewhere", headers=external).status == 404
    assert call_asgi(svc, path="/auth", headers=external).status == 200
    with pytest.raises(ValueError, match="path of its own"):
        DecisionService(rules_file, mode="envoy", envoy_prefix="/metrics")


def test_healthz_and_metrics(service: DecisionService) -> None:
    for ip in ("127.0.1.1", "127.0.1.2", "127.0.2.1", "127.0.0.1"):
        auth(service, ip)
    auth(service, None)
    health = call_asgi(service, path="/healthz")
    data = json.loads(health.body)
    assert data["status"] == "ok" and data["version"] == service.rules.version
    assert data["sha256"] == service.rules.current.digest

    got = samples(call_asgi(service, path="/metrics").body)  # tests/test_metrics.py: more
    key = ("acl_decisions_total", (("action", "allow"), ("collection", "main"), ("rule", "office")))
    assert got[key] == 2
    assert got[("acl_fail_closed_total", (("reason", "client-unknown"),))] == 1
    assert got[("acl_decision_duration_seconds_count", ())] == 5
    assert got[("acl_rules", (("collection", "main"),))] == 4


def test_rule_names_outside_ascii_are_percent_encoded_in_headers() -> None:
    site = acl.loads('[{"name": "büro\\nx", "priority": 1, "ipAddress": "127.0.0.0/8"}]')
    answer = call_asgi(DecisionService(site), path="/auth", headers={"X-Real-IP": "127.0.0.5"})
    assert answer.header("x-acl-rule") == "b%C3%BCro%0Ax"


RELOAD = {"X-Acl-Reload": "1"}


def test_reload_endpoint(service: DecisionService, rules_file: Path) -> None:
    assert (
        call_asgi(
            service, method="POST", path="/-/reload", client="198.51.100.1", headers=RELOAD
        ).status
        == 403
    )
    assert call_asgi(service, method="GET", path="/-/reload", headers=RELOAD).status == 405
    before = service.rules.current
    write_rules(rules_file, with_main({"name": "late", "priority": 1, "ipAddress": "127.0.2.0/24"}))
    answer = call_asgi(service, method="POST", path="/-/reload", headers=RELOAD)
    assert answer.status == 200 and json.loads(answer.body)["reloaded"] is True
    assert service.rules.current is not before
    assert auth(service, "127.0.2.9").header("x-acl-rule") == "late"
    assert auth(service, "127.0.2.9").status == 200

    rules_file.write_text(
        '{"ipSecurityRestrictions": [{"name": "x", "priority": 1, "ipAddress": "300.1.1.1"}]}'
    )
    failed = call_asgi(service, method="POST", path="/-/reload", client="::1", headers=RELOAD)
    assert failed.status == 500
    assert "300.1.1.1" in json.loads(failed.body)["error"]
    assert auth(service, "127.0.2.9").header("x-acl-rule") == "late"  # old rules kept
    got = samples(call_asgi(service, path="/metrics").body)
    assert got[("acl_rules_reloads_total", (("result", "success"),))] == 1
    assert got[("acl_rules_reloads_total", (("result", "failure"),))] == 1
    assert got[("acl_rules_last_reload_ok", ())] == 0
    assert json.loads(call_asgi(service, path="/healthz").body)["last_reload_error"]


def test_an_internal_error_denies(
    service: DecisionService, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        site = service.rules.engine.site

        def decide(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    good = service.rules.current
    service.rules.current = RulesSnapshot(Broken(), good.digest, good.loaded_at, None)  # type: ignore[arg-type]
    answer = auth(service, "127.0.1.9")
    assert (answer.status, answer.header("x-acl-rule")) == (403, "error")
    assert "deciding a check failed" in caplog.text and "boom" in caplog.text
    assert service.metrics.fail_closed == {"error": 1}


def test_the_decision_log_has_the_audit_log_shape(rules_file: Path) -> None:
    records: list[dict[str, Any]] = []
    svc = DecisionService(rules_file, decision_log=records.append)
    auth(svc, "127.0.2.4", host=MAIN_HOST, headers=[("X-Forwarded-For", "198.51.100.1")])
    (record,) = records
    assert record["category"] == "AppServiceIPSecAuditLogs"
    props = record["properties"]
    assert props["CIp"] == "127.0.2.4:0"
    assert (props["Result"], props["Details"]) == ("Denied", "Denied by 127.0.2.0/24 rule.")
    assert (props["CsHost"], props["XForwardedFor"], props["XAzureFDID"]) == (
        MAIN_HOST,
        "198.51.100.1",
        "",
    )


def test_unknown_paths_and_lifespan(service: DecisionService) -> None:
    assert call_asgi(service, path="/").status == 404
    sent: list[dict[str, Any]] = []
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(events)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    import asyncio

    asyncio.run(service({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


# ---------------------------------------------------------------------------- the command


def _parser() -> argparse.ArgumentParser:
    parser = cli.Parser(prog="acl")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=cli.Parser)
    register(commands, cli.add_rules_options, cli.load_site)
    return parser


def test_the_command_line_options(rules_file: Path) -> None:
    args = _parser().parse_args(["serve", "--rules", str(rules_file)])
    assert (args.listen, args.mode, args.client_header, args.trusted_proxy) == (
        ("127.0.0.1", 9180),
        "nginx",
        None,
        None,
    )
    args = _parser().parse_args(
        [
            "serve", "--rules", str(rules_file), "--listen", "[::1]:0", "--mode", "envoy",
            "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1", "--trusted-hops", "2",
            "--reload-interval", "0.5", "--decision-log", "-", "--client-header", "X-Client",
        ]
    )  # fmt: skip
    assert args.listen == ("::1", 0) and args.trusted_proxy == ["10.0.0.0/8", "::1"]
    assert (args.trusted_hops, args.reload_interval) == (2, 0.5)
    assert callable(args.handler)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--listen", "9180", "is not HOST:PORT"),
        ("--listen", "::1:9180", "brackets"),
        ("--listen", "example.com:80", "IP address"),
        ("--trusted-proxy", "10.0.0.0/33", "prefix length"),
        ("--trusted-hops", "0", "at least 1"),
        ("--reload-interval", "-1", "positive"),
    ],
)
def test_the_command_line_rejects_bad_values(
    rules_file: Path, option: str, value: str, message: str
) -> None:
    with pytest.raises(acl.AclError, match=message):
        _parser().parse_args(["serve", "--rules", str(rules_file), option, value])


def test_parse_listen() -> None:
    assert parse_listen("localhost:80") == ("127.0.0.1", 80)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_listen("127.0.0.1:70000")


# ---------------------------------------------------------------------------- a real server


def test_acl_serve_on_uvicorn_reloads_on_sighup_and_on_file_change(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules.json")
    audit = tmp_path / "audit.jsonl"
    served = start_serve(tmp_path, rules, "--reload-interval", "0.1", "--decision-log", str(audit))
    try:

        def ask(ip: str) -> Answer:
            return fetch(served.port, "/auth", headers=[("X-Real-IP", ip)])

        denied = ask("127.0.2.9")
        assert (denied.status, denied.headers["x-acl-rule"]) == (403, "blocked")
        assert denied.headers["x-ms-forbidden-ip"] == "127.0.2.9"
        assert ask("127.0.1.9").status == 200

        # SIGHUP: a new version, the answer changes
        write_rules(rules, with_main({"name": "hup", "priority": 1, "ipAddress": "127.0.2.0/24"}))
        version = json.loads(fetch(served.port, "/healthz").body)["version"]
        served.send(signal.SIGHUP)
        _wait_for(lambda: ask("127.0.2.9").headers["x-acl-rule"] == "hup", served)
        assert json.loads(fetch(served.port, "/healthz").body)["version"] != version

        # the file watcher: a bad file keeps the rules, a good one replaces them
        rules.write_text("{ not json")
        _wait_for(lambda: "reloading the rules failed" in served.output(), served)
        assert ask("127.0.2.9").headers["x-acl-rule"] == "hup"
        write_rules(rules)
        _wait_for(lambda: ask("127.0.2.9").headers["x-acl-rule"] == "blocked", served)
    finally:
        code = served.stop()
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught, as a service should
    assert code in (0, -signal.SIGTERM), served.output()
    assert "Application shutdown complete" in served.output()
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert records and all(r["category"] == "AppServiceIPSecAuditLogs" for r in records)


def test_acl_serve_reports_a_bad_rules_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "x", "priority": 1, "ipAddress": "AzureFrontDoor.Backend"}]')
    done = subprocess.run(
        [*serve_command(), "--rules", str(bad), "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("acl: error: ") and 'set "tag": "ServiceTag"' in done.stderr


def _wait_for(condition: Any, process: Process, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not reached in {timeout} s:\n{process.output()}")
        time.sleep(0.05)


def test_live_rules_of_a_site_cannot_reload() -> None:
    live = LiveRules(acl.loads("[]"))
    with pytest.raises(TypeError, match="nothing to reload"):
        live.reload()
    svc = DecisionService(live)
    answer = call_asgi(svc, method="POST", path="/-/reload", headers=RELOAD)
    assert answer.status == 500 and "nothing to reload" in json.loads(answer.body)["error"]

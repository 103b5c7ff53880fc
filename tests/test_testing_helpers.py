"""acl.testing: the assertions (with the explanation trace on failure), the fixtures, and the
app drivers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import acl
from acl.cli.bench import harness
from acl.testing import (
    assert_allows,
    assert_decided_by,
    assert_denies,
    call_asgi,
    call_wsgi,
    decide,
)

from .conftest import EXAMPLES

load_test = harness("loadgen").load_test

pytest_plugins = ["acl.testing"]

SITE_FILE = EXAMPLES / "frontdoor-site" / "site.json"
FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"


@pytest.fixture(scope="module")
def site(acl_site: Callable[..., acl.Site]) -> acl.Site:
    return acl_site(SITE_FILE)


def test_the_fixtures_load_and_compile_once_per_session(
    acl_site: Callable[..., acl.Site], acl_engine: Callable[..., acl.Engine], site: acl.Site
) -> None:
    assert acl_site(SITE_FILE) is site
    assert acl_site(str(SITE_FILE)) is site  # cached by the resolved path
    assert acl_site(SITE_FILE, service_tags=None) is not site  # other options, other entry
    engine = acl_engine(SITE_FILE)
    assert acl_engine(site) is engine and acl_engine(str(SITE_FILE)) is engine
    assert engine.site is site


def test_passing_assertions_return_the_decision(site: acl.Site) -> None:
    decision = assert_allows(site, "147.243.1.2", headers={"X-Azure-FDID": FDID})
    assert decision.decided_by == "front-door"
    assert assert_denies(site, "203.0.113.66").decided_by == "block-scanner"
    assert assert_decided_by(site, "203.0.113.10", rule="office", action="allow").status == 200
    assert_decided_by(site, "192.0.2.3", "build-agents", host="contoso-shop.scm.azurewebsites.net")
    assert_decided_by(site, "198.51.100.1", "default")
    assert_decided_by(site, acl.Request("198.51.100.1", private_endpoint=True), "private-endpoint")
    assert_decided_by(site, "203.0.113.10", rule="#2")
    assert_decided_by(site, "203.0.113.10", rule=site.main_rules[2])
    # a dict in the expectation-file request shape
    assert_allows(site, {"ip": "147.243.1.2", "headers": {"x-azure-fdid": FDID}})


def test_every_target_kind(site: acl.Site, tmp_path: Path) -> None:
    engine = acl.compile(site)
    for target in (site, engine, SITE_FILE, str(SITE_FILE)):
        assert decide(target, "203.0.113.10").decided_by == "office"
    with pytest.raises(TypeError, match="expected a Site, an Engine or a rules file"):
        decide(42, "203.0.113.10")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not both"):
        decide(site, {"ip": "203.0.113.10"}, host="x")
    # a rules file that changes is read again
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"name": "a", "priority": 1, "ipAddress": "198.51.100.0/24"}]))
    assert_decided_by(rules, "198.51.100.1", "a")
    rules.write_text(json.dumps([{"name": "b", "priority": 1, "ipAddress": "198.51.100.0/24"}]))
    os.utime(rules, ns=(1, 1))
    assert_decided_by(rules, "198.51.100.1", "b")


def test_failures_show_the_explanation_trace(site: acl.Site) -> None:
    with pytest.raises(AssertionError) as failed:
        assert_allows(site, "147.243.1.2")  # Front Door without its profile id
    message = str(failed.value)
    first_line = message.splitlines()[0]
    assert first_line.startswith("expected 147.243.1.2 to be allowed, but it was denied (")
    assert first_line.endswith("examples/frontdoor-site/site.json)")
    assert "DENY 403 Ip Forbidden [main] 147.243.1.2" in message
    assert "'front-door' (#0, priority 100) Allow: header-missed" in message

    with pytest.raises(AssertionError, match=r"to be denied, but it was allowed") as failed:
        assert_denies(site, "203.0.113.10")
    assert "'office' (#2, priority 200) Allow: matched" in str(failed.value)

    with pytest.raises(AssertionError) as failed:
        assert_decided_by(site, "203.0.113.66", rule="office")
    assert "decided by 'office', but 'block-scanner' (#1, priority 50) decided it" in str(
        failed.value
    )
    with pytest.raises(AssertionError, match="but 'default' decided it"):
        assert_decided_by(site, "198.51.100.1", rule="office")
    with pytest.raises(AssertionError, match="to be allowed by 'block-scanner', but it was denied"):
        assert_decided_by(site, "203.0.113.66", rule="block-scanner", action="allow")


def test_call_asgi_and_call_wsgi_describe_the_request() -> None:
    seen: list[Any] = []

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, await receive()))
        await send({"type": "http.response.start", "status": 204, "headers": [(b"X-A", b"1")]})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    answer = call_asgi(
        asgi,
        method="PUT",
        path="/p",
        host="h",
        headers=[("X-B", "1"), ("X-B", "2")],
        client=("192.0.2.1", 7),
        body=b"x",
    )
    assert (answer.status, answer.reason, answer.header("x-a"), answer.header("nope")) == (
        204,
        "",
        "1",
        None,
    )
    scope, message = seen[0]
    assert scope["method"] == "PUT" and scope["client"] == ["192.0.2.1", 7]
    assert scope["headers"] == [(b"host", b"h"), (b"x-b", b"1"), (b"x-b", b"2")]
    assert message == {"type": "http.request", "body": b"x", "more_body": False}

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ)
        start_response("418 I'm a teapot", [("X-C", "3")])
        return [b"t"]

    answer = call_wsgi(wsgi, headers={"X-B": ["1", "2"]}, client="192.0.2.9")
    assert (answer.status, answer.reason, answer.body) == (418, "I'm a teapot", b"t")
    assert seen[-1]["HTTP_X_B"] == "1,2" and seen[-1]["REMOTE_ADDR"] == "192.0.2.9"


def test_the_load_test_only_targets_loopback() -> None:
    for host in ("192.0.2.1", "10.0.0.1", "::2", "localhost"):
        with pytest.raises(ValueError, match=r"loopback|not valid"):
            load_test(80, host=host)
    with pytest.raises(ValueError, match=r"source address '10\.1\.1\.1' is not a loopback"):
        load_test(80, sources=["127.0.0.2", "10.1.1.1"])
    with pytest.raises(ValueError, match="at least 1"):
        load_test(80, requests=0)

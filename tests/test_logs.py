"""Traffic log readers: every format on the real samples and on the synthetic fixtures,
line accounting, rejects, sniffing, streaming in blocks and batches, sources."""

from __future__ import annotations

import gzip
import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

import acl
from acl.check import replay
from acl.errors import LogError
from acl.logs import (
    DEFAULT_FRONTDOOR_SOURCE,
    READERS,
    Batch,
    NumberedLines,
    ReadOptions,
    read_logs,
    sniff_format,
    text_blocks,
)
from acl.logs.columns import json_items
from acl.logs.combined import read_combined
from acl.logs.w3c import read_w3c

from .conftest import EXAMPLES, SHARED

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "data" / "logs"
SAMPLES = SHARED / "data" / "logs"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="no shared log samples")

CSV_MAP = {"ip": "client", "host": "host", "x-forwarded-for": "forwarded", "x-azure-fdid": "fdid",
           "subnet": "subnet", "time": "when", "result": "outcome"}  # fmt: skip
JSON_MAP = {"ip": "properties.clientIp", "host": "properties.host", "time": "ts"}


def read(paths: Iterable[Path | str], **options: Any) -> list[Batch]:
    return list(read_logs([str(p) for p in paths], ReadOptions(**options)))


def column(batches: list[Batch], name: str) -> list[Any]:
    out: list[Any] = []
    for b in batches:
        value = getattr(b, name)
        out.extend(value if value is not None else [None] * len(b))
    return out


def header(batches: list[Batch], name: str) -> list[Any]:
    return [v for b in batches for v in b.headers.get(name, [None] * len(b))]


def rejects(batches: list[Batch]) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for b in batches for r in b.rejects]


def accounted(batches: list[Batch]) -> int:
    return sum(len(b) + len(b.rejects) + b.metadata for b in batches)


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


# ----------------------------------------------------------------------------- real samples


@needs_samples
def test_sample_audit_log() -> None:
    [batch] = read([SAMPLES / "appserviceipsecauditlogs.elastic-integrations.ndjson"])
    assert batch.format == "appservice-audit"
    assert batch.ip == ["0.0.0.0"]  # CIp "0.0.0.0:52580": the port is gone
    assert batch.host == ["mango-tree-3004d00656084194b08980b8db637b86.azurewebsites.net"]
    assert batch.recorded == ["Denied"]
    assert batch.details == ["Denied by 0.0.0.0/0 rule."]
    assert batch.service_endpoint == [False]
    assert batch.time == ["2023-02-16T09:54:20.7223739Z"]
    assert batch.headers == {name: [None] for name in acl.headers.HEADER_NAMES}


@needs_samples
def test_sample_http_log_with_properties_as_text() -> None:
    [batch] = read([SAMPLES / "appservicehttplogs.elastic-integrations.ndjson"])
    assert batch.format == "appservice-http"
    assert batch.lines == [1, 2, 3]
    assert batch.ip == ["81.2.69.142", "81.2.69.142", "127.0.0.1"]
    assert batch.host[2] == "example-markdown-app.azurewebsites.net"
    assert batch.time[2] == "2024-09-18T09:18:29.9152940Z"
    assert batch.headers == {} and batch.recorded is None


@needs_samples
def test_sample_w3c_log() -> None:
    [batch] = read([SAMPLES / "appservice-w3c-webserver.sample.log"])
    assert batch.format == "w3c"
    assert batch.lines == [3, 4, 5]
    assert batch.ip == ["1.54.23.196"] * 3
    assert batch.host == ["www.sample.com"] * 3
    assert batch.time == ["2014-01-01 02:01:09"] * 3
    assert batch.metadata == 2 and not batch.rejects


@needs_samples
def test_sample_frontdoor_classic_origin_mode() -> None:
    [batch] = read([SAMPLES / "frontdooraccesslog-classic.elastic-integrations.ndjson"], fdid="abc")
    assert batch.format == "frontdoor"
    assert batch.ip == [DEFAULT_FRONTDOOR_SOURCE] * 3
    assert batch.host == ["samplev6erp.azurewebsites.net"] * 3  # backendHostname, port removed
    assert batch.headers["X-Forwarded-For"] == ["89.160.20.128", "175.16.199.0", "175.16.199.0"]
    assert batch.headers["X-Forwarded-Host"] == ["erp.testcloud.com"] * 3  # from requestUri
    assert batch.headers["X-Azure-FDID"] == ["abc"] * 3


@needs_samples
def test_sample_frontdoor_stdpremium_records_document() -> None:
    path = SAMPLES / "frontdooraccesslog-stdpremium.otel-contrib.json"
    [batch] = read([path])
    assert batch.format == "frontdoor"
    assert batch.lines == [3]  # the record starts on line 3 of the document
    assert batch.host == ["dummyapp.icysea-e3cd8b77.eastus.azurecontainerapps.io"]
    assert batch.headers["X-Forwarded-For"] == ["42.42.42.42, 23.23.23.23"]
    assert batch.headers["X-Forwarded-Host"] == ["dummyapp-eebde0bwehfthfbb.z01.azurefd.net"]
    assert batch.headers["X-Azure-FDID"] == [None]
    assert accounted([batch]) == line_count(path)
    [client] = read([path], frontdoor_mode="client")
    # the connection's address; clientIp came from the client's own X-Forwarded-For
    assert client.ip == ["23.23.23.23"]
    assert client.headers == {"X-Forwarded-For": ["42.42.42.42"]}
    assert client.host == ["dummyapp-eebde0bwehfthfbb.z01.azurefd.net"]


@needs_samples
def test_sample_health_probes_are_metadata() -> None:
    path = SAMPLES / "frontdoorhealthprobelog.azure-docs.json"
    batches = read([path])
    assert [b.format for b in batches] == ["frontdoor"]
    assert sum(len(b) for b in batches) == 0 and not rejects(batches)
    assert accounted(batches) == line_count(path)


@needs_samples
def test_every_sample_log_is_accounted_for() -> None:
    logs = [
        p
        for p in sorted(SAMPLES.iterdir())
        if p.suffix in (".ndjson", ".log") or "frontdoor" in p.name
    ]
    assert len(logs) == 6
    for path in logs:
        batches = read([path])
        assert accounted(batches) == line_count(path), path.name
        assert not rejects(batches), path.name


@needs_samples
def test_samples_decide_on_the_example_site() -> None:
    engine = acl.compile(acl.load(EXAMPLES / "frontdoor-site" / "site.json"))
    fdid = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
    for batch in read(sorted(SAMPLES.glob("*.ndjson")) + sorted(SAMPLES.glob("*.log")), fdid=fdid):
        out = engine.decide_many(batch.ip, hosts=batch.host, headers=batch.headers)
        assert len(out.action) == len(batch) and out.invalid == 0
        if batch.format == "frontdoor":  # the profile's own Front Door: allowed
            assert out.action.tolist() == [1, 1, 1]


# ----------------------------------------------------------------------------- fixtures

EXPECTED = {  # file: (format, records, rejects, metadata)
    "addresses.txt": ("addresses", 2, 1, 2),
    "audit.ndjson": ("appservice-audit", 5, 5, 1),
    "audit-la.csv": ("appservice-audit", 3, 3, 2),
    "audit-la.json": ("appservice-audit", 3, 0, 11),
    "audit-records.json": ("appservice-audit", 2, 1, 30),
    "http.ndjson": ("appservice-http", 3, 3, 0),
    "http-la.csv": ("appservice-http", 2, 1, 1),
    "w3c-fields-change.log": ("w3c", 5, 4, 7),
    "frontdoor.ndjson": ("frontdoor", 3, 2, 2),
    "combined.log": ("combined", 5, 1, 1),
    "columns.csv": ("columns", 3, 2, 1),
    "columns.tsv": ("columns", 2, 0, 1),
    "columns.ndjson": ("columns", 2, 2, 0),
}


def options_for(name: str) -> dict[str, Any]:
    if name == "columns.ndjson":
        return {"mapping": JSON_MAP}
    if name == "columns.tsv":
        return {"mapping": {"ip": "client", "host": "host", "service-endpoint": "endpoint"}}
    if name.startswith("columns"):
        return {"mapping": CSV_MAP}
    return {}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_line_is_accounted_for(name: str) -> None:
    path = FIXTURES / name
    batches = read([path], **options_for(name))
    fmt, records, bad, metadata = EXPECTED[name]
    assert {b.format for b in batches} == {fmt}
    assert sum(len(b) for b in batches) == records
    assert sum(len(b.rejects) for b in batches) == bad
    assert sum(b.metadata for b in batches) == metadata
    assert records + bad + metadata == line_count(path)
    for b in batches:  # equal columns, and rejects name the file and the line
        assert all(len(col) == len(b) for col in (b.lines, b.host, *b.headers.values()))
        assert all(r.source == str(path) and r.line >= 1 and r.reason for r in b.rejects)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixtures_with_small_batches(name: str) -> None:
    path = FIXTURES / name
    whole = read([path], **options_for(name))
    small = read([path], batch_size=2, **options_for(name))
    assert all(len(b) <= 2 for b in small)
    assert column(small, "lines") == column(whole, "lines")
    assert column(small, "ip") == column(whole, "ip")
    assert column(small, "time") == column(whole, "time")
    assert rejects(small) == rejects(whole)
    assert accounted(small) == accounted(whole)


def test_audit_fields() -> None:
    batches = read([FIXTURES / "audit.ndjson"])
    assert column(batches, "ip") == [
        "203.0.113.10", "147.243.10.20", "2001:db8:cafe::1", "2001:db8:1::5", "203.0.113.66",
    ]  # fmt: skip
    assert column(batches, "service_endpoint") == [False, False, False, True, False]
    assert column(batches, "recorded") == ["Allowed", "Allowed", "Allowed", "Denied", "Denied"]
    assert header(batches, "X-Azure-FDID")[:2] == [None, "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"]
    assert header(batches, "X-FD-HealthProbe")[3] == "1"
    reasons = dict(rejects(batches))
    assert reasons[6].startswith("malformed JSON: Expecting ',' delimiter")
    assert reasons[7] == "not a JSON object: 2 array elements"
    assert reasons[8] == "not a JSON object: a string"
    assert reasons[9] == "category 'AppServiceHTTPLogs' is not AppServiceIPSecAuditLogs"
    assert reasons[10] == "missing field CIp"


def test_audit_log_analytics_exports() -> None:
    csv_batches = read([FIXTURES / "audit-la.csv"])
    assert column(csv_batches, "ip") == ["203.0.113.10", "147.243.10.20", "2001:db8:cafe::1"]
    assert column(csv_batches, "time")[0] == "5/1/2024, 10:00:00.000 AM"  # "TimeGenerated [UTC]"
    assert column(csv_batches, "details")[2] == "Denied by default rule, no match."
    assert header(csv_batches, "X-Forwarded-For")[1] == "198.51.100.7, 147.243.10.20"
    assert column(csv_batches, "service_endpoint") == [False, False, True]
    assert rejects(csv_batches) == [
        (6, "expected 14 columns, got 6"),
        (7, "category 'AppServiceHTTPLogs' is not AppServiceIPSecAuditLogs"),
        (8, "missing field CIp"),
    ]
    json_batches = read([FIXTURES / "audit-la.json"])
    assert column(json_batches, "lines") == [2, 3, 4]
    assert column(json_batches, "ip") == ["203.0.113.10", "147.243.10.20", "203.0.113.66"]
    assert column(json_batches, "time")[0] == "2024-05-01T10:00:00Z"
    records = read([FIXTURES / "audit-records.json"])
    assert column(records, "lines") == [3, 16] and rejects(records) == [(10, "missing field CIp")]


def test_http_logs() -> None:
    batches = read([FIXTURES / "http.ndjson"])
    assert column(batches, "ip") == ["203.0.113.10", "192.0.2.3", "2001:db8:cafe::1"]
    assert column(batches, "host")[1] == "contoso-shop.scm.azurewebsites.net"  # properties as text
    reasons = rejects(batches)
    assert reasons[0][0] == 3 and reasons[0][1].startswith("malformed JSON in properties")
    assert reasons[1:] == [
        (4, "missing field CIp"),
        (5, "category 'AppServiceConsoleLogs' is not AppServiceHTTPLogs"),
    ]
    la = read([FIXTURES / "http-la.csv"])
    assert column(la, "ip") == ["203.0.113.10", "192.0.2.3"] and rejects(la) == [
        (4, "missing field CIp")
    ]


def test_w3c_fields_change_mid_file() -> None:
    batches = read([FIXTURES / "w3c-fields-change.log"])
    first, second = batches
    assert first.lines == [6, 7, 8] and first.headers == {}
    assert first.host == [
        "contoso-shop.azurewebsites.net",
        "contoso-shop.scm.azurewebsites.net",
        None,
    ]
    assert first.time[0] == "2024-05-01 10:00:00"
    assert second.lines == [14, 15]
    assert second.headers["X-Forwarded-For"] == ["198.51.100.7", "198.51.100.8, 147.243.10.21"]
    assert second.headers["X-Azure-FDID"] == ["0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10", None]
    assert second.time == ["2024-05-01 10:00:05", "2024-05-01 10:00:06"]  # the date of #Date:
    assert rejects(batches) == [
        (1, "data line before any #Fields directive"),
        (9, "missing field c-ip"),
        (10, "expected 12 fields (from #Fields), got 16"),
        (16, "expected 6 fields (from #Fields), got 3"),
    ]


def w3c_text(count: int, bad_every: int = 0) -> str:
    """A W3C log of `count` data lines; every `bad_every`-th line is bad in a rotating way."""
    out = ["#Software: Microsoft Internet Information Services 10.0",
           "#Fields: date time s-sitename c-ip cs(User-Agent) cs-host cs(X-Forwarded-For) sc-status"]  # fmt: skip
    for i in range(count):
        host = "-" if i % 7 == 0 else f"app{i % 3}.azurewebsites.net"
        xff = "-" if i % 2 else f"198.51.100.{i % 250},+203.0.113.{i % 200}"
        line = f"2024-05-0{1 + i // 1500} 10:{i // 60 % 60:02d}:{i % 60:02d} SHOP 192.0.{i // 256 % 256}.{i % 256} curl/8.5 {host} {xff} 200"
        if bad_every and i % bad_every == bad_every - 1:
            line = [line + " extra", "-".join(line.split(" ")), "", "#Remark: restart",
                    line.replace(f" 192.0.{i // 256 % 256}.{i % 256} ", " - ")][i // bad_every % 5]  # fmt: skip
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("bad_every", [0, 37])
def test_w3c_blocks_match_line_by_line(tmp_path: Path, bad_every: int) -> None:
    """The block-at-once path and the line-by-line path agree, bad lines included."""
    text = w3c_text(4000, bad_every)
    path = tmp_path / "u_ex.log"
    path.write_text(text)
    fast = read([path], batch_size=1000)
    slow = list(read_w3c(enumerate(text.splitlines(), 1), str(path), ReadOptions(batch_size=1000)))
    assert all(len(b) <= 1000 for b in fast)
    for name in ("lines", "ip", "host", "time"):
        assert column(fast, name) == column(slow, name)
    assert header(fast, "X-Forwarded-For") == header(slow, "X-Forwarded-For")
    assert rejects(fast) == rejects(slow)
    assert accounted(fast) == accounted(slow) == len(text.splitlines())
    xff = header(fast, "X-Forwarded-For")
    assert xff[0] == "198.51.100.0, 203.0.113.0" and xff[1] is None  # "+" is a space, "-" absent
    assert column(fast, "host")[0] is None


def test_w3c_crlf_and_no_final_newline(tmp_path: Path) -> None:
    text = w3c_text(50).replace("\n", "\r\n").rstrip("\r\n")
    path = tmp_path / "crlf.log"
    path.write_bytes(text.encode())
    batches = read([path])
    assert sum(len(b) for b in batches) == 50 and not rejects(batches)
    assert column(batches, "lines")[-1] == 52
    assert all(not h.endswith("\r") for h in column(batches, "host") if h)


def test_frontdoor_modes() -> None:
    path = FIXTURES / "frontdoor.ndjson"
    origin = read(
        [path], fdid="0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10", frontdoor_source="147.243.99.1"
    )
    assert column(origin, "lines") == [1, 2, 7]  # line 3 was a cache hit, line 4 a probe
    assert column(origin, "ip") == ["147.243.99.1"] * 3
    assert column(origin, "host") == ["contoso-shop.azurewebsites.net"] * 3
    assert header(origin, "X-Forwarded-For") == [
        "198.51.100.7",
        "203.0.113.50, 192.0.2.200",
        "2001:db8:beef::10",
    ]
    assert header(origin, "X-Forwarded-Host") == [
        "www.contoso.com",
        "shop.contoso.com",
        "www.contoso.com",
    ]
    assert rejects(origin) == [
        (5, "category 'FrontDoorWebApplicationFirewallLog' is not FrontDoorAccessLog"),
        (6, "missing field socketIp"),
    ]
    client = read([path], frontdoor_mode="client")
    assert column(client, "lines") == [1, 2, 3, 7]  # a cache hit is a client request too
    assert column(client, "ip") == [  # socketIp, never the client's own header
        "198.51.100.7",
        "192.0.2.200",
        "2001:db8:beef::9",
        "2001:db8:beef::10",
    ]
    assert column(client, "host") == [
        "www.contoso.com",
        "shop.contoso.com",
        "www.contoso.com",
        "www.contoso.com",
    ]
    assert header(client, "X-Forwarded-For") == [None, "203.0.113.50", None, None]
    assert rejects(client)[1] == (6, "missing field socketIp (the client's connection)")
    assert accounted(client) == line_count(path)


def test_frontdoor_decisions_depend_on_the_fdid() -> None:
    engine = acl.compile(acl.load(EXAMPLES / "frontdoor-site" / "site.json"))
    path = FIXTURES / "frontdoor.ndjson"
    for fdid, allowed in ((None, [0, 0, 0]), ("0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10", [1, 1, 1])):
        [batch] = read([path], fdid=fdid)
        out = engine.decide_many(batch.ip, hosts=batch.host, headers=batch.headers)
        assert out.action.tolist() == allowed


def test_combined_log() -> None:
    batches = read([FIXTURES / "combined.log"])
    assert column(batches, "ip") == [
        "203.0.113.10",
        "2001:db8:cafe::1",
        "198.51.100.9",
        "147.243.10.20",
        "203.0.113.66",
    ]
    assert column(batches, "time")[0] == "01/May/2024:10:00:00 +0000"
    assert header(batches, "X-Forwarded-For") == [
        None,
        None,
        None,
        "198.51.100.7, 147.243.10.20",
        None,
    ]
    assert rejects(batches) == [(6, "not in the combined or common log format")]
    custom = (
        '192.0.2.1 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl" "-" 0.012'
    )
    [batch] = read_combined(iter([(1, custom)]), "x", ReadOptions())
    assert batch.ip == ["192.0.2.1"] and batch.headers == {"X-Forwarded-For": [None]}


def test_columns_mapping() -> None:
    batches = read([FIXTURES / "columns.csv"], mapping=CSV_MAP)
    assert column(batches, "ip") == ["203.0.113.10", "147.243.10.20", "10.1.2.3"]
    assert column(batches, "recorded") == ["Allowed"] * 3
    assert column(batches, "service_endpoint") == [False, False, True]  # a subnet implies it
    assert column(batches, "subnet")[2].endswith("/subnets/jobs")
    assert header(batches, "X-Azure-FDID")[1] == "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
    assert rejects(batches) == [
        (5, "missing field ip (column 'client')"),
        (6, "expected 7 columns, got 2"),
    ]
    engine = acl.compile(acl.load(EXAMPLES / "frontdoor-site" / "site.json"))
    [b] = batches
    out = engine.decide_many(b.ip, hosts=b.host, headers=b.headers, subnets=b.subnet)
    assert out.action.tolist() == [1, 1, 1]  # office, front door with its FDID, the jobs subnet
    tsv = read([FIXTURES / "columns.tsv"], **options_for("columns.tsv"))
    assert column(tsv, "ip") == ["203.0.113.10", "10.1.2.3"]
    assert column(tsv, "service_endpoint") == [False, True]
    js = read([FIXTURES / "columns.ndjson"], mapping=JSON_MAP)
    assert column(js, "ip") == ["203.0.113.10", "2001:db8:cafe::1"]  # ports and brackets removed
    assert column(js, "host")[1] == "contoso-shop.scm.azurewebsites.net"  # properties as text
    assert rejects(js)[0] == (3, "missing field ip (column 'properties.clientIp')")
    assert rejects(js)[1][1].startswith("malformed JSON")


def test_mapping_errors() -> None:
    with pytest.raises(LogError, match="mapping key 'client_ip' is unknown"):
        ReadOptions(mapping={"client_ip": "ip"})
    with pytest.raises(LogError, match=r"mapped column 'nope' \(for host\) is not in the header"):
        read([FIXTURES / "columns.csv"], mapping={"ip": "client", "host": "nope"})
    with pytest.raises(LogError, match="must name the ip column"):
        read([FIXTURES / "columns.csv"], mapping={"host": "host"})
    [b] = read([FIXTURES / "columns.csv"], mapping={"IP": "client", "X-Forwarded-For": "forwarded"})
    assert list(b.headers) == ["X-Forwarded-For"]  # keys are case-insensitive


def test_options_are_checked() -> None:
    with pytest.raises(LogError, match="Front Door mode 'socket' is unknown"):
        ReadOptions(frontdoor_mode="socket")
    with pytest.raises(
        LogError, match=r"Front Door source address '147\.243\.0\.1:443' has a port"
    ):
        ReadOptions(frontdoor_source="147.243.0.1:443")
    with pytest.raises(LogError, match="batch size 0"):
        ReadOptions(batch_size=0)
    with pytest.raises(LogError, match="log format 'nginx' is unknown"):
        read([FIXTURES / "combined.log"], format="nginx")


# ----------------------------------------------------------------------------- sniffing

SNIFFED = {
    "appservice-audit": [
        '{"category": "AppServiceIPSecAuditLogs", "properties": {"CIp": "192.0.2.1:1"}}'
    ],
    "appservice-http": ['{"category": "AppServiceHTTPLogs", "properties": "{}"}'],
    "frontdoor": ['{"category": "FrontdoorAccessLog", "properties": {"clientIp": "192.0.2.1"}}'],
    "azure": ["{", '  "records": [', "    {"],
    "w3c": [
        "#Software: Microsoft Internet Information Services 10.0",
        "#Version: 1.0",
        "#Date: 2024-05-01 00:00:00",
    ],
    "combined": ['192.0.2.1 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl"'],
    "addresses": ["# addresses", "192.0.2.1", "2001:db8::1"],
}


@pytest.mark.parametrize("fmt", sorted(SNIFFED))
def test_sniffing(fmt: str) -> None:
    assert sniff_format(SNIFFED[fmt], "x") == fmt


def test_sniffing_log_analytics_shapes() -> None:
    assert (
        sniff_format(["TimeGenerated [UTC],CIp,CsHost,Result,ServiceEndpoint,XAzureFDID"], "x")
        == "appservice-audit"
    )
    assert sniff_format(["TimeGenerated,CsMethod,CIp,CsHost,ScStatus"], "x") == "appservice-http"
    assert (
        sniff_format(['{"TimeGenerated": "x", "CIp": "192.0.2.1:1", "XAzureFDID": ""}'], "x")
        == "appservice-audit"
    )
    assert (
        sniff_format(['{"records": [{"category": "FrontDoorHealthProbeLog"}]}'], "x") == "frontdoor"
    )


def test_sniffing_fails_with_the_formats_listed() -> None:
    with pytest.raises(LogError, match=r"cannot tell the log format.*w3c"):
        sniff_format(["hello world", "what is this"], "x.log")


def test_format_override() -> None:
    # A W3C file forced to be plain addresses: lines are rejected, not misread.
    forced = read([FIXTURES / "w3c-fields-change.log"], format="addresses")
    assert {b.format for b in forced} == {"addresses"} and sum(len(b) for b in forced) == 0
    # The generic Azure reader picks the format from the first record's category.
    auto = read([FIXTURES / "audit.ndjson"], format="azure")
    assert column(auto, "ip") == column(read([FIXTURES / "audit.ndjson"]), "ip")
    # The HTTP reader on an audit log rejects the records of the other category.
    http = read([FIXTURES / "audit.ndjson"], format="appservice-http")
    assert column(http, "lines") == [9]  # the one AppServiceHTTPLogs record
    assert rejects(http)[0] == (1, "category 'AppServiceIPSecAuditLogs' is not AppServiceHTTPLogs")


def test_every_reader_is_registered_and_addresses_sniff_last() -> None:
    from acl.logs import SNIFFERS

    assert set(READERS) == {"addresses", "appservice-audit", "appservice-http", "azure", "columns",
                            "combined", "frontdoor", "w3c"}  # fmt: skip
    assert SNIFFERS[-1][0] == "addresses"


# ----------------------------------------------------------------------------- sources


def test_gzip_glob_and_order(tmp_path: Path) -> None:
    for name in ("a.log", "b.log"):
        (tmp_path / name).write_bytes((FIXTURES / "combined.log").read_bytes())
    with gzip.open(tmp_path / "c.log.gz", "wb") as out:
        out.write((FIXTURES / "w3c-fields-change.log").read_bytes())
    batches = read([tmp_path / "*.log*"])
    assert [b.source for b in batches if len(b)] == [
        str(tmp_path / "a.log"), str(tmp_path / "b.log"), str(tmp_path / "c.log.gz"), str(tmp_path / "c.log.gz"),
    ]  # fmt: skip
    assert [b.format for b in batches] == ["combined", "combined", "w3c", "w3c"]
    assert sum(len(b) for b in batches) == 5 + 5 + 5


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (FIXTURES / "audit.ndjson").read_bytes()

    class Stdin:
        buffer = io.BytesIO(b"\xef\xbb\xbf" + data)  # a byte-order mark is dropped

    monkeypatch.setattr(sys, "stdin", Stdin())
    batches = read(["-"])
    assert {b.source for b in batches} == {"<stdin>"}
    assert column(batches, "ip") == column(read([FIXTURES / "audit.ndjson"]), "ip")
    assert rejects(batches)[0][0] == 6


def test_missing_sources() -> None:
    with pytest.raises(LogError, match="no such file"):
        read([FIXTURES / "nope.log"])
    with pytest.raises(LogError, match="no file matches"):
        read([FIXTURES / "*.nope"])


def test_empty_and_blank_sources(tmp_path: Path) -> None:
    (tmp_path / "blank.json").write_text("\n\n\n")
    batches = read([tmp_path / "blank.json"], format="appservice-audit")
    assert accounted(batches) == 3 and sum(len(b) for b in batches) == 0
    (tmp_path / "empty.log").write_text("")
    assert read([tmp_path / "empty.log"], format="w3c") == []


# ----------------------------------------------------------------------------- JSON in blocks


def audit_line(i: int) -> str:
    record = {"time": f"t{i}", "category": "AppServiceIPSecAuditLogs",
              "properties": {"CIp": f"192.0.2.{i % 256}:{1000 + i}", "CsHost": "app.azurewebsites.net",
                             "Result": "Denied", "ServiceEndpoint": "False", "XForwardedFor": "",
                             "XForwardedHost": "", "XAzureFDID": "", "XFDHealthProbe": "", "Details": "d"}}  # fmt: skip
    return json.dumps(record)


def test_json_lines_in_blocks_match_line_by_line(tmp_path: Path) -> None:
    lines = [audit_line(i) for i in range(3000)]
    for at, bad in (
        (5, "{oops"),
        (700, ""),
        (1500, "[]"),
        (2999, '{"records": [{"x": 1}]}'),
        (2000, "  " + lines[2000]),
    ):
        lines[at] = bad
    path = tmp_path / "audit.json"
    path.write_text("\r\n".join(lines))
    with open(path, encoding="utf-8", newline="") as stream:
        from_file = list(json_items(NumberedLines(stream)))
    from_lines = list(json_items(enumerate(path.read_text().splitlines(), 1)))
    assert [(n, v) for n, v, _ in from_file] == [(n, v) for n, v, _ in from_lines]
    batches = read([path], batch_size=999)
    assert [len(b) for b in batches] == [999, 999, 998]
    assert rejects(batches) == [
        (6, "malformed JSON: Expecting property name enclosed in double quotes at column 2"),
        (3000, "missing field CIp"),  # {"records": [{"x": 1}]} on one line
    ]
    assert accounted(batches) == 3000


def test_a_broken_records_document_keeps_what_came_before(tmp_path: Path) -> None:
    text = (
        (FIXTURES / "audit-records.json")
        .read_text()
        .replace('"CIp": "0.0.0.0:52580"', '"CIp": 0.0.0.0')
    )
    path = tmp_path / "broken.json"
    path.write_text(text)
    batches = read([path])
    assert column(batches, "lines") == [3]
    reasons = rejects(batches)
    assert reasons[0] == (10, "missing field CIp")
    assert reasons[1][0] == 24 and reasons[1][1].startswith(
        "malformed JSON: Expecting ',' delimiter"
    )
    assert reasons[1][1].endswith("lines 25-33 are not read")
    # the lines after the error may hold records: each is a reject, none is metadata
    after = [r for r in reasons[2:] if r[1] == "not read: it follows the malformed JSON of line 24"]
    text_lines = text.splitlines()
    assert [r[0] for r in after] == [n for n in range(25, 34) if text_lines[n - 1].strip()]
    assert len(reasons) == 2 + len(after)
    assert accounted(batches) == 33


def test_numbered_lines_blocks() -> None:
    stream = io.StringIO("a\n\nb\n" + "x" * 100 + "\nlast")
    lines = NumberedLines(stream)
    assert lines.first == ["a", "b", "x" * 100]
    blocks = list(lines.blocks(size=8))
    assert blocks[0] == (1, 4, "a\n\nb\n" + "x" * 100 + "\n")
    assert blocks[-1] == (5, 1, "last\n")
    assert list(text_blocks(enumerate(["a", "b", "c"], 7), size=3)) == [
        (7, 2, "a\nb\n"),
        (9, 1, "c\n"),
    ]


# ------------------------------------------------- the kernel's audit scanner = the general path

AUDIT_FIELDS = ("CIp", "CsHost", "XForwardedFor", "XForwardedHost", "XAzureFDID",
                "XFDHealthProbe", "ServiceEndpoint", "Result", "Details")  # fmt: skip
ODD_VALUES = st.sampled_from(
    [
        "",
        'a"b',
        "tab\t",
        "é",
        None,
        1,
        1.5,
        True,
        [1, {"a": None}],
        {"k": []},
        "198.51.100.7:443",
        "[2001:db8::1]:443",
        "2001:db8::1",
        "[2001:db8::1",
        "192.0.2.1",
        "True",
        "False",
        "true",
    ]
)


@st.composite
def audit_texts(draw: Any) -> str:
    """A line in or near the usual audit-record shape, or something else entirely."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from(["", "  ", "{oops", "[]", "{}", '{"records": []}', "1e999",
                                     '{"a": 01}', '{"a": 1e5}', '{"a": -0.5, "b": [true, null]}']))  # fmt: skip
    props: dict[str, Any] = {
        "CIp": draw(
            st.sampled_from(
                [
                    "198.51.100.7:443",
                    "[2001:db8::1]:443",
                    "10.0.0.1:1",
                    "[192.0.2.1]:80",
                    "[192.0.2.1]",
                    "2001:db8::2",
                    "[2001:db8::3",
                    ":443",
                    "192.0.2.9",
                ]
            )
        ),
        "CsHost": draw(st.sampled_from(["app.azurewebsites.net", "app.scm.azurewebsites.net", ""])),
        "XForwardedFor": draw(st.sampled_from(["", "203.0.113.9", "203.0.113.9, 10.0.0.1"])),
        "XForwardedHost": draw(st.sampled_from(["", "shop.example"])),
        "XAzureFDID": draw(st.sampled_from(["", "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"])),
        "XFDHealthProbe": draw(st.sampled_from(["", "1"])),
        "ServiceEndpoint": draw(st.sampled_from(["False", "True"])),
        "Result": draw(st.sampled_from(["Allowed", "Denied", ""])),
        "Details": draw(st.sampled_from(["Denied by 0.0.0.0/0 rule.", "d"])),
    }
    record: dict[str, Any] = {"time": "2024-05-01T10:00:00Z", "Category": "AppServiceIPSecAuditLogs",
                              "Properties": props}  # fmt: skip
    for _ in range(draw(st.integers(0, 3)) if kind > 3 else 0):  # a few odd changes
        change = draw(st.integers(0, 5))
        if change == 0:
            props[draw(st.sampled_from(AUDIT_FIELDS))] = draw(ODD_VALUES)
        elif change == 1 and props:
            del props[draw(st.sampled_from(sorted(props)))]
        elif change == 2:
            key = draw(st.sampled_from(["time", "TimeGenerated", "Category", "category", "Type",
                                        "ResourceId", "properties"]))  # fmt: skip
            record[key] = draw(st.one_of(ODD_VALUES, st.just("AppServiceIPSecAuditLogs")))
        elif change == 3:
            record.pop(draw(st.sampled_from(["time", "Category", "Properties"])), None)
        elif change == 4:
            record["extra"] = draw(ODD_VALUES)
        else:
            record = {k.lower() if k != "time" else k: v for k, v in record.items()}
    text = json.dumps(record, ensure_ascii=draw(st.booleans()),
                      separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")])))  # fmt: skip
    if draw(st.booleans()) and kind == 9:  # a duplicate key, or cut short
        text = draw(
            st.sampled_from([text[:-1], text[:-1] + ', "Category": "x"}', " " + text + "\t"])
        )
    return text


@given(
    st.lists(audit_texts(), min_size=1, max_size=40),
    st.integers(1, 7),
    st.sampled_from([1, 400, 1 << 16]),
)
def test_audit_scanner_matches_the_general_path(texts: list[str], size: int, block: int) -> None:
    """Blocks of one line, a few lines or all: the scanned ones and the others mix."""
    from acl.logs import _scan, azure  # _scan also when ACL_NO_EXTENSIONS selects the twins

    numbered = list(enumerate(texts, 1))
    with (
        mock.patch.object(azure, "JSON_BLOCK", block),
        mock.patch.object(azure, "scan_audit", _scan.scan_audit),
    ):
        fast = list(azure._audit_blocks(numbered, "a.json", ReadOptions(batch_size=size)))
    slow = list(azure._audit_json(json_items(numbered), "a.json", ReadOptions(batch_size=size)))
    for name in ("lines", "ip", "host", "time", "service_endpoint", "recorded", "details"):
        assert column(fast, name) == column(slow, name), name
    for name in ("X-Forwarded-For", "X-Forwarded-Host", "X-Azure-FDID", "X-FD-HealthProbe"):
        assert header(fast, name) == header(slow, name), name
    assert rejects(fast) == rejects(slow)
    assert accounted(fast) == accounted(slow) == len(texts)
    assert all(len(b) <= size for b in fast)


MIXED_LINES = st.lists(
    st.sampled_from(["good", "good", "good", "cut", "blank", "other"]), max_size=60
)


def mixed_audit_lines(kinds: list[str], document: bool) -> list[str]:
    """Well-formed audit lines with malformed ones, blanks and other JSON among them; with
    ``document``, a pretty-printed record (a document over several lines) at the end."""
    out = []
    for i, kind in enumerate(kinds):
        line = audit_line(i)
        out.append({"good": line, "cut": line[: len(line) // 2], "blank": "", "other": "[1]"}[kind])
    if document:
        out.extend(json.dumps(json.loads(audit_line(len(kinds))), indent=1).split("\n"))
    return out


@given(MIXED_LINES, st.booleans(), st.integers(1, 9), st.sampled_from([1, 300, 2000, 1 << 16]))
def test_audit_blocks_mixing_malformed_and_well_formed_lines(
    kinds: list[str], document: bool, size: int, block: int
) -> None:
    """The scanner takes the well-formed lines of a block around the others; the records,
    rejects and line numbers are those of the general path, whatever the block size."""
    from acl.logs import _scan, azure

    numbered = list(enumerate(mixed_audit_lines(kinds, document), 1))
    with (
        mock.patch.object(azure, "JSON_BLOCK", block),
        mock.patch.object(azure, "scan_audit", _scan.scan_audit),
    ):
        fast = list(azure._audit_blocks(numbered, "a.json", ReadOptions(batch_size=size)))
    slow = list(azure._audit_json(json_items(numbered), "a.json", ReadOptions(batch_size=size)))
    for name in ("lines", "ip", "host", "time", "service_endpoint", "recorded", "details"):
        assert column(fast, name) == column(slow, name), name
    assert rejects(fast) == rejects(slow)
    assert accounted(fast) == accounted(slow) == len(numbered)
    assert all(len(b) <= size for b in fast)


def test_one_malformed_line_leaves_its_block_to_the_scanner() -> None:
    """Only the malformed line goes to the general path, not the block it is in."""
    from acl.logs import _scan, azure

    lines = [audit_line(i) for i in range(1000)]
    lines[500] = lines[500][:40]
    seen: list[int] = []
    general = azure.block_items

    def spy(block: tuple[int, int, str], blocks: Any) -> Any:
        seen.append(block[1])
        return general(block, blocks)

    with (
        mock.patch.object(azure, "block_items", spy),
        mock.patch.object(azure, "scan_audit", _scan.scan_audit),
    ):
        batches = list(azure._audit_blocks(list(enumerate(lines, 1)), "a.json", ReadOptions()))
    assert seen == [1]
    assert sum(len(b) for b in batches) == 999 and rejects(batches)[0][0] == 501


def test_audit_scanner_takes_the_usual_records() -> None:
    from acl.logs._scan import scan_audit

    line = audit_line(1).replace('"category"', '"Category"')
    scanned = scan_audit(f"{line}\n{line}\n")
    assert scanned is not None
    columns, stop = scanned
    assert columns[1] == ["192.0.2.1", "192.0.2.1"] and stop == 2 * len(line) + 2
    assert columns[2][0] is columns[2][1]  # a repeated value is one object
    # A line it does not take stops the scan there: the lines before it are kept.
    scanned = scan_audit(f"{line}\n\n{line}\n")
    assert scanned is not None
    partial, stop = scanned
    assert partial[1] == ["192.0.2.1"] and stop == len(line) + 1
    escaped = line.replace('"Denied"', '"Deni\\u0065d"') + "\n"
    assert scan_audit(escaped) == (([],) * 10, 0)
    # and it goes on from the start of any line
    again = scan_audit(f"{line}\n\n{line}\n", len(line) + 2)
    assert again is not None and again[0][1] == ["192.0.2.1"] and again[1] == 2 * len(line) + 3
    assert scan_audit("caf\u00e9\n") is None  # not ASCII: the general path for the block
    with pytest.raises(ValueError, match="start 3 is not the start of a line"):
        scan_audit(f"{line}\n", 3)


# ------------------------------------------- line ends, long lines, broken gzip, globs (bounded)


def _records(batches: list[Batch]) -> tuple[Any, ...]:
    return (
        column(batches, "lines"),
        column(batches, "ip"),
        column(batches, "host"),
        column(batches, "time"),
        rejects(batches),
        sum(b.metadata for b in batches),
    )


@pytest.mark.parametrize("end", ["\r", "\r\n"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_reader_splits_cr_and_crlf_line_ends(tmp_path: Path, name: str, end: str) -> None:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert "\r" not in text
    path = tmp_path / name
    path.write_bytes(text.replace("\n", end).encode())
    gz = tmp_path / (name + ".gz")
    gz.write_bytes(gzip.compress(path.read_bytes()))
    expected = _records(read([FIXTURES / name], **options_for(name)))
    for source in (path, gz):
        batches = read([source], **options_for(name))
        assert _records(batches) == expected
        assert accounted(batches) == line_count(FIXTURES / name)


def test_cr_only_w3c_and_audit_lines_reach_the_kernel_scanners(tmp_path: Path) -> None:
    w3c = ["#Fields: date time c-ip cs-host"]
    w3c += [f"2024-01-02 03:04:05 192.0.2.{i} app.azurewebsites.net" for i in range(20)]
    audit = [audit_line(i) for i in range(20)]
    for name, lines in (("u_ex.log", w3c), ("audit.json", audit)):
        path = tmp_path / name
        path.write_text("\r".join(lines) + "\r", newline="")
        batches = read([path])
        assert rejects(batches) == [] and sum(len(b) for b in batches) == 20
        assert accounted(batches) == len(lines)


def test_crlf_split_between_reads_is_one_line_end() -> None:
    from acl.logs import READ_SIZE

    first = "192.0.2.1\n" + "#" * (READ_SIZE - 11) + "\r"  # the \r ends the first read
    lines = NumberedLines(io.StringIO(first + "\n192.0.2.2\r\r192.0.2.3"), sniff_lines=1)
    assert [(n, t[:3]) for n, t in lines] == [(1, "192"), (2, "###"), (3, "192"), (4, ""),
                                              (5, "192")]  # fmt: skip


def test_numbered_lines_cap_long_lines() -> None:
    text = "a\n" + "x" * 10 + "\n" + "y" * 11 + "\nb\n" + "z" * 25 + "\nc\n" + "w" * 11
    lines = NumberedLines(io.StringIO(text), sniff_lines=1, max_line=10)
    lines._size = 4  # several reads per line
    assert list(lines) == [(1, "a"), (2, "x" * 10), (4, "b"), (6, "c")]
    assert lines.rejects == [(3, "line longer than 10 bytes"), (5, "line longer than 10 bytes"),
                             (7, "line longer than 10 bytes")]  # fmt: skip


def test_numbered_lines_blocks_skip_a_long_line() -> None:
    lines = NumberedLines(io.StringIO("a\nb\n" + "x" * 50 + "\nc\nd"), sniff_lines=1, max_line=9)
    blocks = list(lines.blocks(size=4))
    assert blocks == [(1, 1, "a\n"), (2, 1, "b\n"), (4, 1, "c\n"), (5, 1, "d\n")]
    assert lines.rejects == [(3, "line longer than 9 bytes")]


def test_a_huge_gzipped_line_is_a_reject_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    from acl.logs import MAX_LINE

    path = tmp_path / "zeros.log.gz"
    size = 200 << 20
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(b"192.0.2.1\n")
        for _ in range(size >> 20):
            out.write(b"0" * (1 << 20))
        out.write(b"\n192.0.2.2\n192.0.2.3\n")
    assert path.stat().st_size < size // 100
    tracemalloc.start()
    try:
        batches = read([path], format="addresses")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_LINE  # the line is 200 times that
    assert column(batches, "ip") == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert column(batches, "lines") == [1, 3, 4]
    assert rejects(batches) == [(2, f"line longer than {MAX_LINE} bytes")]
    assert accounted(batches) == 4


def test_a_long_line_is_rejected_by_every_reader(tmp_path: Path) -> None:
    from acl.logs import MAX_LINE

    long = "1" * (MAX_LINE + 1)
    for name in sorted(EXPECTED):
        lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
        if name.endswith("records.json"):
            continue  # one JSON document over many lines: a line inside it breaks it
        lines.insert(len(lines) - 1, long)
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        batches = read([path], **options_for(name))
        assert (len(lines) - 1, f"line longer than {MAX_LINE} bytes") in rejects(batches)
        assert accounted(batches) == len(lines)


def test_a_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    data = "".join(f"192.0.2.{i % 250}\n" for i in range(200_000)).encode()
    whole = gzip.compress(data)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(whole[: len(whole) // 2])
    batches = read([path], format="addresses")
    records = sum(len(b) for b in batches)
    assert 50_000 < records < 200_000
    assert column(batches, "lines") == list(range(1, records + 1))
    assert rejects(batches) == [(records + 1, "truncated gzip stream")]
    assert accounted(batches) == records + 1
    path.write_bytes(whole[:-4] + b"\0\0\0\0")  # the length field wrong: all lines, then a reject
    batches = read([path], format="addresses")
    assert sum(len(b) for b in batches) == 200_000
    assert [r[1] for r in rejects(batches)] == [
        "corrupt gzip stream: Incorrect length of data produced"
    ]
    path.write_bytes(b"192.0.2.1\n")
    path.rename(tmp_path / "plain.gz")  # named .gz, not gzip
    batches = read([tmp_path / "plain.gz"], format="addresses")
    assert rejects(batches) == [(1, "corrupt gzip stream: Not a gzipped file (b'19')")]


def test_a_csv_cell_over_the_csv_modules_limit_is_a_reject(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("client,host\n192.0.2.1,a\n192.0.2.2," + "h" * 200_000 + "\n192.0.2.3,c\n")
    batches = read([path], mapping={"ip": "client", "host": "host"})
    assert column(batches, "ip") == ["192.0.2.1", "192.0.2.3"]
    assert [line for line, _ in rejects(batches)] == [3]
    assert accounted(batches) == 4
    path.write_text("client," + "h" * 200_000 + "\n192.0.2.1,a\n")  # in the header: the file
    with pytest.raises(LogError, match=r"big.csv: cannot read the CSV header: field larger than"):
        read([path], mapping={"ip": "client"})


def test_globs_read_each_file_once_and_do_not_follow_link_loops(tmp_path: Path) -> None:
    from acl.logs import expand_sources

    (tmp_path / "logs" / "sub").mkdir(parents=True)
    (tmp_path / "logs" / "a.log").write_text("192.0.2.1\n")
    (tmp_path / "logs" / "sub" / "b.log").write_text("192.0.2.2\n")
    (tmp_path / "logs" / "sub" / "loop").symlink_to("..")
    (tmp_path / "logs" / "again").symlink_to("sub")
    (tmp_path / "logs" / ".hidden.log").write_text("192.0.2.9\n")
    found = expand_sources([str(tmp_path / "logs" / "**" / "*.log")])
    assert sorted(Path(p).resolve().name for p in found) == ["a.log", "b.log"]
    again = expand_sources([str(tmp_path / "logs" / "a.log"), str(tmp_path / "logs" / "*.log")])
    assert again == [str(tmp_path / "logs" / "a.log")]
    batches = read([tmp_path / "logs" / "**" / "*.log", tmp_path / "logs" / "sub" / "b.log"])
    assert column(batches, "ip") == ["192.0.2.1", "192.0.2.2"]


def test_glob_matches() -> None:
    from acl.logs import glob_matches

    assert glob_matches("logs/**/*.jsonl", "logs/out.jsonl")
    assert glob_matches("logs/**/*.jsonl", "./logs/x/y/out.jsonl")
    assert not glob_matches("logs/*.jsonl", "logs/x/out.jsonl")
    assert not glob_matches("logs/*", "logs/.hidden")
    assert glob_matches("logs/.*", "logs/.hidden")


def test_client_mode_decides_on_the_connection_not_a_spoofed_header(tmp_path: Path) -> None:
    """A client that sends X-Forwarded-For: <an allowed address> gets that address as
    clientIp; in client mode the request is decided by socketIp, its real address."""
    path = tmp_path / "fd.ndjson"
    path.write_text(
        json.dumps({"category": "FrontDoorAccessLog", "properties": {
            "clientIp": "203.0.113.5", "socketIp": "198.51.100.77",
            "hostName": "app.azurewebsites.net"}}) + "\n"
    )  # fmt: skip
    site = acl.loads('[{"name": "office", "priority": 100, "ipAddress": "203.0.113.0/24"}]')
    [batch] = read([path], frontdoor_mode="client")
    summary = replay(acl.compile(site), [batch])
    assert batch.ip == ["198.51.100.77"] and (summary.requests, summary.allowed) == (1, 0)


def test_w3c_directives_and_the_host_field_in_other_spellings(tmp_path: Path) -> None:
    """``#fields:`` in lower case is still the directive (read as a comment, the old layout
    would misread the lines after it), and ``cs(Host)`` is the Host as ``cs-host`` is."""
    path = tmp_path / "u_ex.log"
    path.write_text(
        "#Fields: date time c-ip cs-host\n"
        "2024-05-01 10:00:00 192.0.2.1 app.azurewebsites.net\n"
        "#fields: date time cs(Host) c-ip\n"
        "2024-05-01 10:00:01 app.scm.azurewebsites.net 192.0.2.2\n"
        "#date: 2024-05-02 00:00:00\n"
    )
    batches = read([path])
    assert column(batches, "ip") == ["192.0.2.1", "192.0.2.2"] and not rejects(batches)
    assert column(batches, "host") == ["app.azurewebsites.net", "app.scm.azurewebsites.net"]
    assert accounted(batches) == 5


def test_a_w3c_address_with_a_port_is_a_reject_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "u_ex.log"
    path.write_text("#Fields: c-ip cs-host\n203.0.113.5:5000 app.azurewebsites.net\n")
    site = acl.loads('[{"name": "office", "priority": 100, "ipAddress": "203.0.113.0/24"}]')
    summary = replay(acl.compile(site), read([path]))
    assert (summary.requests, summary.rejected) == (0, 1)
    assert summary.reject_reasons == {"bad address": 1}


def test_a_front_door_record_without_an_origin_is_not_a_request_to_the_app(tmp_path: Path) -> None:
    path = tmp_path / "fd.ndjson"
    record = {"category": "FrontDoorAccessLog", "properties": {
        "clientIp": "198.51.100.7", "socketIp": "198.51.100.7", "hostName": "www.contoso.com",
        "originName": "N/A", "httpStatusCode": "403"}}  # fmt: skip
    path.write_text(json.dumps(record) + "\n")
    origin = read([path])
    assert column(origin, "ip") == [] and rejects(origin) == [(1, "no origin: originName is 'N/A'")]
    assert column(read([path], frontdoor_mode="client"), "ip") == ["198.51.100.7"]

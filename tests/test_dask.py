"""Scale-out on a real distributed LocalCluster with worker processes."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import distributed
import pandas as pd
import pytest

import acl
from acl.check import replay
from acl.logs import BatchBuilder, ReadOptions, read_logs

from .conftest import EXAMPLES

FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def engine() -> acl.Engine:
    return acl.compile(acl.load(EXAMPLES / "frontdoor-site" / "site.json"))


def test_check_files_on_a_cluster_equals_one_process(
    client: Any, engine: acl.Engine, tmp_path: Path
) -> None:
    from acl.check.dask import check_files

    files = []
    for k in range(4):
        path = tmp_path / f"part{k}.txt"
        path.write_text(
            "".join(f"203.0.113.{(k * 37 + i) % 256}\n" for i in range(200))
            + "garbage here\n# c\n147.243.1.1\n"
        )
        files.append(str(path))
    single = replay(engine, read_logs(files))
    spread = check_files(client, engine, files)
    assert spread.to_dict() == single.to_dict()
    assert spread.requests == 4 * 201 and spread.rejected == 4
    from acl.check.dask import _ship

    shipped = _ship(client, engine)  # what check_files does: one copy on every worker
    holders = client.who_has([shipped])[shipped.key]
    assert set(holders) == set(client.scheduler_info()["workers"])


def test_check_files_counts_what_the_readers_reject_as_one_process(
    client: Any, engine: acl.Engine, tmp_path: Path
) -> None:
    import gzip

    from acl.check.dask import check_files

    cut = tmp_path / "cut.log.gz"
    whole = gzip.compress("".join(f"203.0.113.{i % 250}\n" for i in range(30_000)).encode())
    cut.write_bytes(whole[: len(whole) // 2])
    odd = tmp_path / "odd.txt"
    odd.write_bytes(b"203.0.113.1\r203.0.113.2\r" + b"7" * (3 << 20) + b"\r147.243.1.1\r")
    files = [str(cut), str(odd), str(tmp_path / "*.txt")]  # odd.txt twice: read once
    single = replay(engine, read_logs(files))
    spread = check_files(client, engine, files)
    assert spread.to_dict() == single.to_dict()
    assert spread.rejected == 2 and spread.requests > 10_003


def test_dataframe_decisions_and_summary(client: Any, engine: acl.Engine) -> None:
    from acl.check.dask import decide_dataframe, summarize_dataframe

    frame = pd.DataFrame(
        {
            "client": [
                "203.0.113.10",
                "1.2.3.4",
                "147.243.1.1",
                "not-an-ip",
                "192.0.2.5",
                "2001:db8:cafe::7",
            ],
            "fd": [None, None, FDID, None, None, None],
            "host": ["a.azurewebsites.net"] * 4
            + ["a.scm.azurewebsites.net", "a.azurewebsites.net"],
        }
    )
    ddf = dd.from_pandas(frame, npartitions=3)
    columns = {"ip": "client", "x-azure-fdid": "fd", "host": "host"}
    decided = decide_dataframe(ddf, engine, columns, client=client).compute()
    names = [None if pd.isna(v) else v for v in decided["rule_name"].tolist()]
    assert names[:3] == ["office", None, "front-door"]
    assert decided["reason"].tolist() == ["rule", "default", "rule", "invalid", "rule", "rule"]
    assert decided["collection"].tolist()[4] == "scm"
    summary = summarize_dataframe(ddf, engine, columns, client=client)
    b = BatchBuilder("df", "dataframe", headers=("X-Azure-FDID",))
    for i, row in frame.iterrows():
        b.add(
            int(i),
            row["client"],
            row["host"],
            {"X-Azure-FDID": None if pd.isna(row["fd"]) else row["fd"]},
        )
    local = replay(engine, b.flush())
    assert (
        (summary.requests, summary.allowed, summary.rejected)
        == (local.requests, local.allowed, local.rejected)
        == (5, 4, 1)
    )
    assert summary.hits == local.hits
    with pytest.raises(acl.AclError, match="must name the 'ip' column"):
        decide_dataframe(ddf, engine, {"host": "host"})


# ---------------------------------------------------------------------------- fsspec URLs


def _write_logs(folder: Path, count: int) -> list[Path]:
    """Address logs, every other one gzipped, with a reject and a comment each."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        text = "".join(f"203.0.113.{(k * 37 + i) % 256}\n" for i in range(50))
        text += f"garbage {k} here\n# c\n147.243.1.1\n2001:db8:cafe::{k}\n"
        path = folder / (f"part{k}.txt.gz" if k % 2 else f"part{k}.txt")
        if k % 2:
            path.write_bytes(gzip.compress(text.encode()))
        else:
            path.write_text(text)
        paths.append(path)
    return paths


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1 (directory index pages list the files)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_check_files_over_http_equals_one_process(
    client: Any, engine: acl.Engine, http_folder: tuple[Path, str]
) -> None:
    """The client globs the HTTP directory listing; the workers fetch and gunzip the files
    through fsspec; the summary is the single-process one of the same files."""
    from acl.check.dask import check_files

    folder, base = http_folder
    paths = _write_logs(folder / "logs", 5)
    single = replay(engine, read_logs([str(p) for p in paths]))
    spread = check_files(client, engine, [f"{base}/logs/part*"], split_every=2)
    expected = json.dumps(single.to_dict()).replace(str(folder), base)
    assert json.dumps(spread.to_dict()) == expected
    assert list(spread.sources) == [f"{base}/logs/{p.name}" for p in paths]
    assert spread.requests == 5 * 52 and spread.rejected == 5
    assert spread.first_rejects[1].source == f"{base}/logs/part1.txt.gz"


def test_log_urls_that_match_nothing_fail_with_the_url(
    engine: acl.Engine, http_folder: tuple[Path, str]
) -> None:
    from acl.check.dask import expand_urls, read_source

    folder, base = http_folder
    _write_logs(folder, 1)
    assert expand_urls([f"{base}/part0.txt"]) == [f"{base}/part0.txt"]
    with pytest.raises(acl.AclError, match=r"/missing\.txt: no such file"):
        expand_urls([f"{base}/missing.txt"])
    with pytest.raises(acl.AclError, match=r"no file matches .*nothing\*"):
        expand_urls([f"{base}/nothing*"])
    with pytest.raises(acl.AclError, match=r"zzz://x: Protocol not known: zzz"):
        expand_urls(["zzz://x"])
    with pytest.raises(acl.AclError, match="standard input cannot be read on a cluster"):
        expand_urls(["-"])
    with pytest.raises(acl.AclError, match=r"/gone\.txt: cannot read log"):
        list(read_source(f"{base}/gone.txt", ReadOptions()))


def test_azure_urls_without_adlfs_say_what_to_install() -> None:
    from acl.check.dask import expand_urls

    try:
        import adlfs  # noqa: F401
    except ImportError:
        with pytest.raises(acl.AclError, match=r"abfs://logs/x\.log: .*adlfs.*acl\[azure\]"):
            expand_urls(["abfs://logs/x.log"])
    else:  # adlfs installed: the URL reaches Azure, which this test must not do
        assert expand_urls(["/dev/null"]) == ["/dev/null"]


def _fill_memory(files: dict[str, bytes]) -> int:
    import fsspec

    fs = fsspec.filesystem("memory")
    for path, data in files.items():
        fs.pipe(path, data)
    return len(files)


def test_check_files_over_memory_urls(client: Any, engine: acl.Engine, tmp_path: Path) -> None:
    """memory:// is per process: the same files are put in the client's memory filesystem
    (which the glob reads) and in each worker's (client.run), so the test shows that the
    client expands the URL glob on the fsspec filesystem and that each worker opens the
    URLs through fsspec in its own process; not that workers share one memory store."""
    from acl.check.dask import check_files

    paths = _write_logs(tmp_path / "logs", 4)
    files = {f"/acl-memory-test/{p.name}": p.read_bytes() for p in paths}
    assert set(client.run(_fill_memory, files).values()) == {4}
    _fill_memory(files)
    try:
        single = replay(engine, read_logs([str(p) for p in paths]))
        spread = check_files(client, engine, ["memory://acl-memory-test/part*"])
        expected = json.dumps(single.to_dict()).replace(
            str(tmp_path / "logs"), "memory:///acl-memory-test"
        )
        assert json.dumps(spread.to_dict()) == expected
    finally:
        import fsspec

        fsspec.filesystem("memory").rm("/acl-memory-test", recursive=True)


# ---------------------------------------------------------------------------- tree merge


def test_partial_summaries_merge_as_a_tree(engine: acl.Engine, tmp_path: Path) -> None:
    import dask

    from acl.check.dask import Shipped, _summarize_file, _tree

    paths = _write_logs(tmp_path / "logs", 20)
    shipped = dask.delayed(Shipped(engine), pure=True)
    leaves = [dask.delayed(_summarize_file)(str(p), shipped, ReadOptions()) for p in paths]
    merged = _tree(dask, leaves, split_every=3)
    graph = dict(merged.__dask_graph__())
    merges = [key for key in graph if str(key).startswith("_merge")]
    assert len(merges) == 7 + 3 + 1  # 20 -> 7 -> 3 -> 1

    def depth(key: Any) -> int:
        from dask.core import get_dependencies

        below = [d for d in get_dependencies(graph, key) if str(d).startswith("_merge")]
        return 1 + max((depth(d) for d in below), default=0)

    assert depth(merged.key) == 3  # log3(20) rounded up, not 19 merges one after another
    single = replay(engine, read_logs([str(p) for p in paths]))
    result = merged.compute(scheduler="sync")
    result.engine = engine  # partial summaries travel without it
    assert result.to_dict() == single.to_dict()
    with pytest.raises(acl.AclError, match="split_every 1 must be at least 2"):
        _tree(dask, leaves, split_every=1)


# ---------------------------------------------------------------------------- the engine


def test_engine_token_is_its_digest_deterministic_and_cheap(
    engine: acl.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dask.base import tokenize

    site = acl.load(EXAMPLES / "frontdoor-site" / "site.json")
    again = acl.compile(site)
    assert tokenize(again) == tokenize(engine) == tokenize(acl.compile(site))
    assert again.digest == engine.digest and len(engine.digest) == 40
    other = acl.compile(
        dataclasses.replace(
            site,
            main_rules=(
                dataclasses.replace(site.main_rules[0], priority=101),
                *site.main_rules[1:],
            ),
        )
    )
    renamed = acl.compile(
        dataclasses.replace(
            site,
            main_rules=(dataclasses.replace(site.main_rules[0], name="x"), *site.main_rules[1:]),
        )
    )
    tokens = {tokenize(engine), tokenize(other), tokenize(renamed)}
    assert len(tokens) == 3
    assert engine.with_kernel("python").digest == engine.digest

    def no_pickling(self: Any) -> Any:
        raise AssertionError("tokenize pickled the engine")

    monkeypatch.setattr(acl.Engine, "__reduce__", no_pickling)
    fresh = acl.compile(site)
    assert tokenize(fresh) == tokenize(engine)
    # the same digest in another process
    code = "import acl, sys; print(acl.compile(acl.load(sys.argv[1])).digest)"
    out = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLES / "frontdoor-site" / "site.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == engine.digest


def _compiles() -> dict[str, int]:
    import acl.check.dask

    return dict(acl.check.dask.COMPILES)


def test_workers_compile_the_site_once(client: Any, tmp_path: Path) -> None:
    from acl.check.dask import check_files

    site = dataclasses.replace(
        acl.load(EXAMPLES / "frontdoor-site" / "site.json"), source="compile-once.json"
    )
    engine = acl.compile(site)
    paths = _write_logs(tmp_path / "logs", 12)
    for _ in range(2):
        summary = check_files(client, engine, [str(p) for p in paths])
        assert summary.requests == 12 * 52
    counts = [c.get(engine.digest, 0) for c in client.run(_compiles).values()]
    assert sum(counts) >= 1 and max(counts) == 1  # 24 tasks, at most one compile per worker
    assert engine.digest not in _compiles()  # the client compiled nothing from the document


# ---------------------------------------------------------------------------- DataFrame columns


def _mixed_frame() -> pd.DataFrame:
    """Columns of every kind a DataFrame brings: object with None and NaN, pyarrow strings
    with NA, a categorical header, booleans."""
    ips = ["203.0.113.10", "1.2.3.4", "147.243.1.1", None, "192.0.2.5", "2001:db8:cafe::7"]
    ips += ["bad", "147.243.1.1", "10.0.0.1", "::ffff:203.0.113.9"]
    n = len(ips)
    fd = [None, float("nan"), FDID, None, None, None, None, "other", FDID, None]
    hosts = ["a.azurewebsites.net", None, "a.azurewebsites.net", "a.azurewebsites.net"]
    hosts += ["a.scm.azurewebsites.net", "A.AZUREWEBSITES.NET", None, "b.example", "x", "y"]
    frame = pd.DataFrame(
        {
            "client": pd.Series(ips, dtype=object),
            "fd": pd.Series(fd, dtype=object),
            "fd_cat": pd.Categorical([*fd[:2], FDID, None, None, None, None, "other", FDID, None]),
            "host": pd.Series(hosts, dtype="string[pyarrow]"),
            "probe": pd.Series(
                [None, "1", None, None, None, None, None, None, "1", None], dtype="string[pyarrow]"
            ),
            "endpoint": [False, True, False, False, None, False, False, True, False, False],
            "when": pd.Series([f"2026-05-01T10:0{i % 3}:00Z" for i in range(n)]),
        }
    )
    frame.index = pd.RangeIndex(100, 100 + n)  # not 0..n-1: row numbers come from the index
    return frame


def _per_row(engine: acl.Engine, frame: pd.DataFrame, fd: str) -> list[tuple[str, str | None]]:
    out = []
    for _, row in frame.iterrows():
        headers = {}
        for name, column in (("X-Azure-FDID", fd), ("X-FD-HealthProbe", "probe")):
            value = row[column]
            if isinstance(value, str):
                headers[name] = value
        ip = row["client"]
        if not isinstance(ip, str):
            out.append(("deny", "invalid"))
            continue
        host = row["host"] if isinstance(row["host"], str) else None
        try:
            decision = engine.decide(
                acl.Request(
                    ip, host=host, headers=headers, service_endpoint=row["endpoint"] is True
                )
            )
        except acl.AclError:
            out.append(("deny", "invalid"))
            continue
        out.append((decision.action.word, decision.rule.name if decision.rule else None))
    return out


@pytest.mark.parametrize("fd", ["fd", "fd_cat"])
def test_dataframe_columns_decide_as_row_by_row(engine: acl.Engine, fd: str) -> None:
    from acl.check.dask import Shipped, _decide_frame

    frame = _mixed_frame()
    columns = {
        "ip": "client",
        "host": "host",
        "x-azure-fdid": fd,
        "x-fd-healthprobe": "probe",
        "service_endpoint": "endpoint",
    }
    decided = _decide_frame(frame, Shipped(engine), columns)
    assert decided.index.equals(frame.index)
    got = [
        (a, None if pd.isna(n) else n)
        for a, n, r in zip(decided["action"], decided["rule_name"], decided["reason"], strict=True)
    ]
    reasons = decided["reason"].tolist()
    expected = _per_row(engine, frame, fd)
    assert [
        g if r != "invalid" else ("deny", "invalid") for g, r in zip(got, reasons, strict=True)
    ] == expected
    assert reasons.count("invalid") == 2 and "default" in reasons and "rule" in reasons


def test_dataframe_summary_equals_the_per_row_batch(client: Any, engine: acl.Engine) -> None:
    from acl.check.dask import decide_dataframe, summarize_dataframe

    frame = _mixed_frame()
    columns = {"ip": "client", "host": "host", "x-azure-fdid": "fd", "time": "when"}
    ddf = dd.from_pandas(frame, npartitions=3)
    b = BatchBuilder("df", "dataframe", headers=("X-Azure-FDID",), time=True)
    for i, row in frame.iterrows():
        fd = row["fd"] if isinstance(row["fd"], str) else None
        host = row["host"] if isinstance(row["host"], str) else None
        ip = row["client"] if isinstance(row["client"], str) else None
        b.add(int(i), ip, host, {"X-Azure-FDID": fd}, time=row["when"])
    local = replay(engine, b.flush())
    summary = summarize_dataframe(ddf, engine, columns, client=client, split_every=2)
    mine, theirs = summary.to_dict(), local.to_dict()
    for data in (mine, theirs):
        data.pop("sources")
        for reject in data["first_rejects"]:
            reject.pop("source")
    assert mine == theirs
    assert summary.requests == 8 and summary.rejected == 2
    decided = decide_dataframe(ddf, engine, columns, client=client).compute()
    assert decided["reason"].tolist().count("invalid") == 2


def test_a_text_service_endpoint_column_is_read_as_it_says(client: Any) -> None:
    """AppServiceIPSecAuditLogs' ServiceEndpoint is "True"/"False": "False" is false, not a
    non-empty text taken as true (an AnyVnets rule would allow what an IP rule denies)."""
    from acl.check.dask import decide_dataframe, summarize_dataframe

    engine = acl.compile(
        acl.loads(
            '[{"name": "deny-10", "priority": 100, "action": "Deny", "ipAddress": "10.0.0.0/8"},'
            ' {"name": "anyvnets", "priority": 200, "ipAddress": "AnyVnets"}]'
        )
    )
    frame = pd.DataFrame({"CIp": ["10.0.0.4"] * 3, "ServiceEndpoint": ["False", "True", "false"]})
    ddf = dd.from_pandas(frame, npartitions=2)
    columns = {"ip": "CIp", "service_endpoint": "ServiceEndpoint"}
    decided = decide_dataframe(ddf, engine, columns, client=client).compute()
    assert decided["rule_name"].tolist() == ["deny-10", "anyvnets", "deny-10"]
    summary = summarize_dataframe(ddf, engine, columns, client=client)
    assert (summary.requests, summary.allowed) == (3, 1)
    bad = dd.from_pandas(pd.DataFrame({"CIp": ["10.0.0.4"], "ServiceEndpoint": ["maybe"]}), 1)
    with pytest.raises(ValueError, match=r"column 'ServiceEndpoint'\[0\] 'maybe' is not a boolean"):
        decide_dataframe(bad, engine, columns, client=client).compute()

"""Scale-out on a real distributed LocalCluster with worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import distributed
import pandas as pd
import pytest

import acl
from acl.logs import BatchBuilder, read_logs
from acl.replay import replay

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
    from acl.dask import check_files

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
    from acl.dask import _ship

    shipped = _ship(client, engine)  # what check_files does: one copy on every worker
    holders = client.who_has([shipped])[shipped.key]
    assert set(holders) == set(client.scheduler_info()["workers"])


def test_check_files_counts_what_the_readers_reject_as_one_process(
    client: Any, engine: acl.Engine, tmp_path: Path
) -> None:
    import gzip

    from acl.dask import check_files

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
    from acl.dask import decide_dataframe, summarize_dataframe

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

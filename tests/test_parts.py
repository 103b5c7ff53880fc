"""A W3C log file read in parts (acl.logs.parts, acl.check.replay_files) gives what the whole
file gives: the same records, rejects and line numbers, the same summary."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import acl
import acl.check.run as check_run
from acl.check.run import replay, replay_files
from acl.logs import Batch, ReadOptions, parts, read_logs

SITE = Path(__file__).resolve().parent.parent / "examples" / "frontdoor-site" / "site.json"
FIELDS = "#Fields: date time c-ip cs-host cs(X-Azure-FDID)"
FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"

W3C_LINES = st.sampled_from(
    [
        "2024-05-01 10:00:00 192.0.2.1 app.azurewebsites.net -",
        "2024-05-01 10:00:01 147.243.0.1 app.azurewebsites.net " + FDID,
        "2024-05-01 10:01:00 2001:db8::1 app.scm.azurewebsites.net -",
        "2024-05-01 10:01:00 203.0.113.66 -",  # one field short: a reject
        "2024-05-01 10:02:00 not-an-address app.azurewebsites.net -",
        "",
        FIELDS,
        "#Fields: c-ip cs-host",
        "192.0.2.9 app.azurewebsites.net",
        "#Date: 2024-05-02 00:00:00",
        "#Remark: hello",
    ]
)


def audit_line(i: int, ip: str) -> str:
    return json.dumps(
        {
            "time": f"2024-05-01T10:{i % 60:02d}:00Z",
            "Category": "AppServiceIPSecAuditLogs",
            "Properties": {"CIp": f"{ip}:1000", "CsHost": "app.azurewebsites.net",
                           "Result": "Denied", "ServiceEndpoint": "False", "XForwardedFor": "",
                           "XForwardedHost": "", "XAzureFDID": "", "XFDHealthProbe": "",
                           "Details": "d"},
        }
    )  # fmt: skip


def flat(batches: list[Batch]) -> dict[str, Any]:
    return {
        "rows": [
            (b.lines[k], b.ip[k], b.host[k], (b.time or [None] * len(b))[k],
             tuple(sorted((n, v[k]) for n, v in b.headers.items())))
            for b in batches for k in range(len(b))
        ],
        "rejects": [(r.source, r.line, r.reason) for b in batches for r in b.rejects],
        "metadata": sum(b.metadata for b in batches),
    }  # fmt: skip


def write(path: Path, lines: list[str], end: str, bom: bool) -> None:
    text = "".join(line + end for line in lines)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(W3C_LINES, max_size=40),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
    st.integers(2, 5),
)
def test_w3c_parts_read_as_the_whole_file(
    tmp_path: Path, lines: list[str], end: str, bom: bool, count: int
) -> None:
    path = tmp_path / "u_ex.log"
    data = "2024-05-01 09:00:00 192.0.2.3 app.azurewebsites.net -"
    write(path, ["#Software: IIS", FIELDS, data, *lines, data, data, data], end, bom)
    with mock.patch.object(parts, "MIN_PART", 1):
        planned = parts.plan_parts(str(path), count)
    whole = flat(list(read_logs([str(path)], ReadOptions(batch_size=7))))
    assert planned is not None and planned[0].start == 0
    assert planned[-1].stop == path.stat().st_size
    pieces = [b for part in planned for b in parts.read_part(part, ReadOptions(batch_size=7))]
    assert flat(pieces) == whole


def test_files_that_are_read_whole(tmp_path: Path) -> None:
    small = tmp_path / "small.log"
    write(
        small, ["#Software: IIS", FIELDS] + ["2024-05-01 10:00:00 192.0.2.1 a -"] * 10, "\n", False
    )
    assert parts.plan_parts(str(small), 2) is None  # below MIN_PART
    with mock.patch.object(parts, "MIN_PART", 1):
        assert parts.plan_parts(str(small), 1) is None
        assert parts.plan_parts("-", 2) is None
        csv = tmp_path / "ips.txt"
        csv.write_text("192.0.2.1\n192.0.2.2\n" * 5)
        assert parts.plan_parts(str(csv), 2) is None  # not a split format
        assert parts.plan_parts(str(small), 2, ReadOptions(mapping={"ip": "c-ip"})) is None
        audit = tmp_path / "audit.json"
        write(audit, [audit_line(i, "192.0.2.1") for i in range(50)], "\n", False)
        assert parts.plan_parts(str(audit), 2) is None  # JSON lines: read whole (a document)
        packed = tmp_path / "u_ex.log.gz"
        packed.write_bytes(gzip.compress(small.read_bytes()))
        assert parts.plan_parts(str(packed), 2) is None
        assert parts.plan_parts(str(small), 2) is not None


def split_and_serial(root: Path, workers: int) -> dict[str, Any]:
    """The summaries of a W3C file and an audit file read whole and read in parts by
    ``workers`` processes, and the start methods ``replay_files`` asked for."""
    engine = acl.compile(acl.load(SITE))
    w3c = root / "u_ex.log"
    rows = [f"2024-05-01 10:{i // 60 % 60:02d}:{i % 60:02d} 192.0.{i % 7}.{i % 250} "
            f"app{'.scm' if i % 5 == 0 else ''}.azurewebsites.net {FDID if i % 3 else '-'}"
            for i in range(3000)]  # fmt: skip
    rows[1234] = "broken line"
    write(w3c, ["#Software: IIS", FIELDS, *rows], "\n", False)
    audit = root / "audit.json"  # read whole, by one of the processes
    write(audit, [audit_line(i, f"192.0.2.{i % 9}") for i in range(2000)], "\n", False)
    sources = [str(w3c), str(audit)]
    serial = replay(engine, read_logs(sources)).to_dict()
    forks = mock.Mock(wraps=multiprocessing.get_context)
    with (
        mock.patch.object(parts, "MIN_PART", 4096),
        mock.patch.object(check_run.multiprocessing, "get_context", forks),
    ):
        planned = parts.plan_parts(str(w3c), workers) is not None
        split = replay_files(engine, sources, workers=workers).to_dict()
    return {
        "serial": serial,
        "split": split,
        "planned": planned,
        "contexts": [call.args for call in forks.call_args_list],
        "threads": threading.active_count(),
    }


@pytest.mark.parametrize("workers", [2, 3])
def test_replay_files_gives_the_summary_of_one_process(tmp_path: Path, workers: int) -> None:
    """In a new interpreter (this one may run other tests' threads, and then nothing is
    forked): the parts are read by forked workers, to the summary of one process."""
    script = (
        "import json, sys; from pathlib import Path; from tests.test_parts import split_and_serial; "
        f"print(json.dumps(split_and_serial(Path(sys.argv[1]), {workers}), default=str))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["threads"] == 1 and result["planned"]
    assert result["contexts"] == [["fork"]]  # the parts ran in forked workers
    assert result["split"] == result["serial"]
    assert result["split"]["first_rejects"][0]["line"] == 1237  # numbered as in the whole file


def test_replay_files_forks_no_process_that_runs_other_threads(tmp_path: Path) -> None:
    """A fork inherits other threads' locks held (it can hang): with a thread running,
    the parts are read here, one after another, to the same summary."""
    engine = acl.compile(acl.load(SITE))
    w3c = tmp_path / "u_ex.log"
    rows = [f"2024-05-01 10:00:{i % 60:02d} 192.0.2.{i % 250} app.azurewebsites.net -"
            for i in range(2000)]  # fmt: skip
    write(w3c, ["#Software: IIS", FIELDS, *rows], "\n", False)
    serial = replay(engine, read_logs([str(w3c)])).to_dict()
    release = threading.Event()
    other = threading.Thread(target=release.wait, args=(30,))
    other.start()
    forks = mock.Mock(wraps=multiprocessing.get_context)
    try:
        with (
            mock.patch.object(parts, "MIN_PART", 4096),
            mock.patch.object(check_run.multiprocessing, "get_context", forks),
        ):
            assert parts.plan_parts(str(w3c), 2) is not None
            split = replay_files(engine, [str(w3c)], workers=2).to_dict()
    finally:
        release.set()
        other.join()
    assert forks.call_count == 0 and split == serial

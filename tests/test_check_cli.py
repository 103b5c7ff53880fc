"""acl check and acl whatif from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acl.cli import main

from .conftest import EXAMPLES, SHARED

SITE = str(EXAMPLES / "frontdoor-site" / "site.json")
AUDIT = str(EXAMPLES / "frontdoor-site" / "logs" / "ipsec-audit.ndjson")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_on_the_bundled_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--rules", SITE, "--log", AUDIT)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "acl check: 66 requests from 1 source(s) (appservice-audit) against " + SITE
    assert lines[2] == "DISAGREEMENTS: 1 of 66 audited decisions differ from what Azure recorded"
    assert ":42: 203.0.113.66 host contoso-shop.azurewebsites.net: Azure Allowed" in lines[3]
    assert "Rules that never fired (1):" in out and "'jobs-subnet' (#3, priority 300) Allow" in out
    assert "Lines: 67 = 66 requests + 1 rejected + 0 metadata" in out
    assert ":67: malformed JSON" in out


def test_check_ci_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--rules", SITE, "--log", AUDIT, "--fail-on-disagreement")
    assert code == 1 and "1 decisions disagree with Azure" in err
    code, _, err = run(capsys, "check", "--rules", SITE, "--log", AUDIT, "--max-denied", "100")
    assert code == 0
    code, _, err = run(
        capsys, "check", "--rules", SITE, "--log", AUDIT, "--max-denied", "3", "--fail-on-deny"
    )
    assert code == 1 and "more than --max-denied 3" in err and "(--fail-on-deny)" in err


@pytest.mark.parametrize("fmt", ["json", "csv", "html"])
def test_check_report_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    report = tmp_path / f"report.{fmt}"
    code, out, _ = run(
        capsys, "check", "--rules", SITE, "--log", AUDIT, "--format", fmt, "--report", str(report)
    )
    assert code == 0 and out == ""
    text = report.read_text()
    if fmt == "json":
        data = json.loads(text)
        assert (data["requests"], data["disagreements"], data["lines"]) == (66, 1, 67)
    elif fmt == "csv":
        assert text.splitlines()[0] == "collection,decided_by,position,name,priority,action,count"
    else:
        assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 3


def test_check_out_and_audit_shape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "decisions.jsonl"
    code, _, _ = run(
        capsys, "check", "--rules", SITE, "--log", AUDIT, "--out", str(out_file), "--as-audit-log"
    )
    assert code == 0
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert len(records) == 66
    assert {r["category"] for r in records} == {"AppServiceIPSecAuditLogs"}
    assert records[0]["properties"]["Result"] in ("Allowed", "Denied")


def test_check_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", "--rules", SITE, "--log", str(tmp_path / "nope.log"))
    assert code == 2 and err.count("\n") == 1 and "no such file" in err
    weird = tmp_path / "weird.log"
    weird.write_text("hello there\nthis is not a log\n")
    code, _, err = run(capsys, "check", "--rules", SITE, "--log", str(weird))
    assert code == 2 and "cannot tell the log format" in err
    code, _, err = run(capsys, "check", "--rules", SITE, "--log", AUDIT, "--map", "nonsense")
    assert code == 2 and "--map 'nonsense' is not FIELD=COLUMN" in err


def test_check_mapped_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "gateway.csv"
    path.write_text(
        "client_ip,fdid,vhost\n147.243.1.1,0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10,contoso-shop.azurewebsites.net\n1.2.3.4,,x\n"
    )
    code, out, _ = run(
        capsys,
        "check",
        "--rules",
        SITE,
        "--log",
        str(path),
        "--map",
        "ip=client_ip",
        "--map",
        "x-azure-fdid=fdid",
        "--map",
        "host=vhost",
        "--format",
        "json",
    )
    data = json.loads(out)
    assert code == 0 and (data["requests"], data["allowed"]) == (2, 1)


def test_check_real_shared_samples(capsys: pytest.CaptureFixture[str]) -> None:
    logs = SHARED / "data" / "logs"
    if not logs.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    code, out, _ = run(
        capsys,
        "check",
        "--rules",
        SITE,
        "--log",
        str(logs / "*.ndjson"),
        "--log",
        str(logs / "appservice-w3c-webserver.sample.log"),
        "--format",
        "json",
    )
    data = json.loads(out)
    assert code == 0
    assert data["lines"] == data["requests"] + data["rejected"] + data["metadata"]
    assert set(data["sources"].values()) >= {
        "appservice-audit",
        "appservice-http",
        "frontdoor",
        "w3c",
    }
    assert data["audited"] == 1 and data["disagreements"] == 0


def test_whatif(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    proposed = tmp_path / "proposed.json"
    site = json.loads(Path(SITE).read_text())
    rules = site["properties"]["siteConfig"]["ipSecurityRestrictions"]
    site["properties"]["siteConfig"]["ipSecurityRestrictions"] = [
        r for r in rules if r.get("name") != "office"
    ]
    proposed.write_text(json.dumps(site))
    code, out, _ = run(
        capsys, "whatif", "--rules", SITE, "--proposed", str(proposed), "--log", AUDIT
    )
    assert code == 0
    assert out.splitlines()[0].startswith("acl whatif: 66 requests; 2 would be decided differently")
    assert "allow->deny: [main] 'office' (#2, priority 200) -> [main] (default)" in out
    code, out, _ = run(
        capsys,
        "whatif",
        "--rules",
        SITE,
        "--proposed",
        str(proposed),
        "--log",
        AUDIT,
        "--format",
        "json",
        "--fail-on-flip",
    )
    data = json.loads(out)
    assert code == 1 and data["flipped"] == 2 and data["allow_to_deny"] == 2
    code, out, _ = run(
        capsys, "whatif", "--rules", SITE, "--proposed", SITE, "--log", AUDIT, "--fail-on-flip"
    )
    assert code == 0 and "No request of this traffic changes its decision." in out


# ------------------------------------------------ outputs: never an input, whole or not at all


def _copy(tmp_path: Path, source: str, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(Path(source).read_bytes())
    return path


def _refused(err: str, needle: str) -> bool:
    return err.count("\n") == 1 and err.startswith("acl: error: ") and needle in err


def test_check_refuses_an_output_that_is_an_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = _copy(tmp_path, AUDIT, "audit.jsonl")
    rules = _copy(tmp_path, SITE, "site.json")
    before = (log.read_bytes(), rules.read_bytes())
    (tmp_path / "link.jsonl").symlink_to(log)
    base = ["check", "--rules", str(rules), "--log", str(log)]
    for extra, needle in (
        (["--out", str(log)], "--out would overwrite the input given as --log"),
        (["--out", str(tmp_path / "link.jsonl")], "--out would overwrite the input given as --log"),
        (["--report", str(log)], "--report would overwrite the input given as --log"),
        (["--report", str(rules)], "--report would overwrite the input given as --rules"),
        (["--report", str(tmp_path / "r"), "--out", str(tmp_path / "r")], "name the same file"),
    ):
        code, out, err = run(capsys, *base, *extra)
        assert code == 2 and out == "" and _refused(err, needle), (extra, err)
    assert (log.read_bytes(), rules.read_bytes()) == before
    # a glob that matches the output, whether it exists yet or not
    glob = str(tmp_path / "*.jsonl")
    for out_file, needle in ((tmp_path / "decisions.jsonl", "matches the log glob"),
                             (log, "would overwrite the input given as --log")):  # fmt: skip
        code, _, err = run(capsys, "check", "--rules", str(rules), "--log", glob,
                           "--out", str(out_file))  # fmt: skip
        assert code == 2 and _refused(err, needle), err
        assert not (tmp_path / "decisions.jsonl").exists()
    assert log.read_bytes() == before[0]


def test_whatif_and_convert_refuse_an_output_that_is_an_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = _copy(tmp_path, AUDIT, "audit.jsonl")
    rules = _copy(tmp_path, SITE, "site.json")
    proposed = _copy(tmp_path, SITE, "proposed.json")
    before = [p.read_bytes() for p in (log, rules, proposed)]
    for target, needle in ((proposed, "--proposed"), (log, "--log"), (rules, "--rules")):
        code, _, err = run(capsys, "whatif", "--rules", str(rules), "--proposed", str(proposed),
                           "--log", str(log), "--report", str(target))  # fmt: skip
        assert code == 2 and _refused(err, f"given as {needle}"), err
    code, _, err = run(capsys, "convert", str(rules), "--to", "json", "-o", str(rules))
    assert code == 2 and _refused(err, "--output would overwrite the input given as the site")
    assert [p.read_bytes() for p in (log, rules, proposed)] == before


def test_a_report_into_a_missing_folder_fails_before_reading(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import acl.cli.check

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the logs were read")

    monkeypatch.setattr(acl.cli.check, "read_logs", never)
    missing = tmp_path / "no" / "such" / "report.txt"
    for command in (["check"], ["whatif", "--proposed", SITE]):
        for option in ("--report", "--out"):
            if option == "--out" and command != ["check"]:
                continue
            name = str(missing.with_suffix(".jsonl" if option == "--out" else ".txt"))
            code, _, err = run(capsys, *command, "--rules", SITE, "--log", AUDIT, option, name)
            assert code == 2 and _refused(err, "does not exist"), err
    assert not (tmp_path / "no").exists()


def test_outputs_appear_only_when_complete(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import acl.cli.check

    real = acl.cli.check.replay

    def interrupted(engine: object, batches: object, on_batch: object) -> object:
        def after_one(batch: object, decided: object) -> None:
            on_batch(batch, decided)  # type: ignore[operator]
            raise KeyboardInterrupt

        return real(engine, batches, on_batch=after_one)  # type: ignore[arg-type]

    monkeypatch.setattr(acl.cli.check, "replay", interrupted)
    for name in ("d.jsonl", "d.csv", "d.parquet"):
        out_file = tmp_path / name
        code, _, err = run(capsys, "check", "--rules", SITE, "--log", AUDIT, "--batch-size", "5",
                           "--out", str(out_file), "--report", str(tmp_path / "r.txt"))  # fmt: skip
        assert code == 130 and err == "acl: interrupted\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == []
    # an earlier file stays as it was
    (tmp_path / "d.jsonl").write_text("earlier\n")
    code, _, _ = run(capsys, "check", "--rules", SITE, "--log", AUDIT, "--out",
                     str(tmp_path / "d.jsonl"))  # fmt: skip
    assert code == 130 and (tmp_path / "d.jsonl").read_text() == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl"]
    monkeypatch.setattr(acl.cli.check, "replay", real)
    code, _, _ = run(capsys, "check", "--rules", SITE, "--log", AUDIT, "--out",
                     str(tmp_path / "d.jsonl"))  # fmt: skip
    assert code == 0 and len((tmp_path / "d.jsonl").read_text().splitlines()) == 66
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl"]


def _cli(args: list[str], *, fsize: int | None = None, stdout: object = None) -> tuple[int, str]:
    """``acl`` in a child process, its files limited to ``fsize`` bytes (a disk that fills
    up: writing past it fails with EFBIG, as a full disk fails with ENOSPC)."""
    import subprocess
    import sys

    code = (
        "import resource, signal, sys\n"
        f"limit = {fsize!r}\n"
        "if limit is not None:\n"
        "    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
        "from acl.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        stdout=stdout if stdout is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stderr


def test_a_full_disk_is_one_line_and_leaves_no_partial_file(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("".join(f"203.0.113.{i % 250}\n" for i in range(20_000)))
    for option, name in (("--out", "d.jsonl"), ("--out", "d.csv"), ("--out", "d.parquet"),
                         ("--report", "r.html")):  # fmt: skip
        target = tmp_path / "out" / name
        target.parent.mkdir(exist_ok=True)
        args = ["check", "--rules", SITE, "--log", str(big), option, str(target)]
        if option == "--report":
            args += ["--format", "html"]
        code, err = _cli(args, fsize=2048)
        assert code == 2 and err.count("\n") == 1, err
        assert err.startswith("acl: error: ") and "cannot write the " in err
        assert "File too large" in err and str(target) in err
        assert list(target.parent.iterdir()) == []


def test_a_full_device_is_one_line() -> None:
    code, err = _cli(["check", "--rules", SITE, "--log", AUDIT, "--report", "/dev/full"])
    assert (
        code == 2
        and err == "acl: error: /dev/full: cannot write the report: No space left on device\n"
    )
    with open("/dev/full", "w") as full:
        code, err = _cli(["check", "--rules", SITE, "--log", AUDIT], stdout=full)
    assert code == 2 and err == "acl: error: cannot write the output: No space left on device\n"


def test_check_dask_to_an_unreachable_scheduler_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import acl.check.dask

    monkeypatch.setattr(acl.check.dask, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out, err = run(capsys, "check", "--rules", SITE, "--log", AUDIT, "--dask",
                         f"tcp://127.0.0.1:{port}")  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"acl: error: cannot reach the Dask scheduler 'tcp://127.0.0.1:{port}'")


def test_check_counts_truncated_gzip_and_long_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import gzip

    whole = gzip.compress("".join(f"203.0.113.{i % 250}\n" for i in range(50_000)).encode())
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    long = tmp_path / "long.txt"
    long.write_text("203.0.113.1\n" + "9" * (2 << 20) + "\n203.0.113.2\n")
    code, out, err = run(capsys, "check", "--rules", SITE, "--log", str(cut), "--log", str(long),
                         "--format", "json")  # fmt: skip
    data = json.loads(out)
    assert code == 0 and err == ""
    assert data["rejected"] == 2 and 10_000 < data["requests"] < 50_000
    assert data["lines"] == data["requests"] + data["rejected"] + data["metadata"]
    code, out, _ = run(capsys, "check", "--rules", SITE, "--log", str(cut), "--log", str(long))
    assert "truncated gzip stream" in out and "line longer than 1048576 bytes" in out

"""Log replay throughput: ``acl check``'s pipeline against the loop a user would write.

Run ``.venv/bin/python benchmarks/logs.py`` (``--quick`` for a short run). It generates W3C
web server logs and AppServiceIPSecAuditLogs JSON lines in a temporary folder, then times,
side by side on the same files and in the same run:

- acl: read, parse, decide and summarise (``read_logs`` + ``replay``, what ``acl check`` does);
- the straightforward loop: ``json.loads`` or ``str.split`` per line, ``ipaddress`` objects,
  and a loop over the rules in priority order (first match wins), counting decisions.

It then streams 1M and 20M W3C lines through ``acl check --log -`` in a subprocess and
reports the peak resident memory of each: memory must stay flat as the input grows.

Then the realistic shapes (``--realistic``, on by default; ``--no-realistic`` skips them):
W3C lines of about 270 bytes with the full 19 ``#Fields``, long user agents, a quarter IPv6
clients, scm and main hosts mixed and hundreds of thousands of distinct addresses, and
AppServiceIPSecAuditLogs JSON lines with one malformed line in a thousand. ``acl check`` runs
on them as a process (start-up included) beside polars and DuckDB reading the same file and
grouping it by (client address, host), when they are installed (``pip install -e
".[bench]"``), and on the gzipped W3C file; the ratios are printed with the targets met or
not.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Any

import acl
from acl.check import replay
from acl.logs import ReadOptions, read_logs

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "examples" / "frontdoor-site" / "site.json"
FDID = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
W3C_FIELDS = (
    "date time s-sitename cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status "
    "sc-bytes cs-bytes time-taken"
)


def _address(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"147.243.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return (
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    )


def w3c_lines(count: int, seed: int = 1) -> Any:
    rng = random.Random(seed)
    yield "#Software: Microsoft Internet Information Services 8.0\n"
    yield f"#Fields: {W3C_FIELDS}\n"
    for i in range(count):
        minute, second = divmod(i // 50, 60)
        yield (
            f"2026-11-20 {8 + minute // 60 % 12:02d}:{minute % 60:02d}:{second:02d} CONTOSO-SHOP GET "
            f"/p{i % 97}.png X-ARR-LOG-ID=2ec4b8ad-3cf0-4442-93ab-{i:012d} 443 - {_address(rng)} "
            "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - - contoso-shop.azurewebsites.net "
            f"200 0 0 {rng.randrange(200, 90000)} 871 {rng.randrange(1, 300)}\n"
        )


def audit_lines(count: int, seed: int = 2) -> Any:
    rng = random.Random(seed)
    for i in range(count):
        ip = _address(rng)
        yield (
            json.dumps(
                {
                    "time": f"2026-11-20T08:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i:07d}Z",
                    "ResourceId": "/SUBSCRIPTIONS/0/RESOURCEGROUPS/SHOP/PROVIDERS/MICROSOFT.WEB/SITES/CONTOSO-SHOP",
                    "Category": "AppServiceIPSecAuditLogs",
                    "OperationName": "Authorization",
                    "Properties": {
                        "Result": "Allowed",
                        "CsHost": "contoso-shop.azurewebsites.net",
                        "ServiceEndpoint": "False",
                        "CIp": f"{ip}:{rng.randrange(1024, 65535)}",
                        "XForwardedFor": "",
                        "XForwardedHost": "",
                        "XAzureFDID": FDID if ip.startswith("147.243.") else "",
                        "XFDHealthProbe": "",
                        "Details": "Allowed by AzureFrontDoor.Backend rule.",
                    },
                },
                separators=(",", ":"),
            )
            + "\n"
        )


# ------------------------------------------------------------------------ realistic shapes

AGENTS = (
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+"
    "Chrome/131.0.0.0+Safari/537.36+Edg/131.0.0.0",
    "Mozilla/5.0+(Macintosh;+Intel+Mac+OS+X+10_15_7)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)+"
    "Version/18.1+Safari/605.1.15",
    "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+18_1+like+Mac+OS+X)+AppleWebKit/605.1.15+(KHTML,+like+"
    "Gecko)+Version/18.1+Mobile/15E148+Safari/604.1",
    "Mozilla/5.0+(X11;+Linux+x86_64;+rv:133.0)+Gecko/20100101+Firefox/133.0",
    "AlwaysOn",
)
HOSTS = ("contoso-shop.azurewebsites.net", "contoso-shop.scm.azurewebsites.net")
PATHS = ("/", "/api/products", "/api/cart/items", "/static/app.js", "/images/hero.webp")


def _address_pool(size: int, rng: random.Random) -> list[str]:
    """Distinct client addresses: a quarter IPv6, some in the rules' networks."""
    pool = set()
    while len(pool) < size:
        roll = rng.random()
        if roll < 0.25:
            pool.add(
                f"2a02:{rng.randrange(0x1000, 0xFFFF):x}:{rng.randrange(0xFFFF):x}:"
                f"{rng.randrange(0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
            )
        elif roll < 0.3:
            pool.add(f"147.243.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        elif roll < 0.31:
            pool.add(f"203.0.113.{rng.randrange(1, 255)}")
        else:
            pool.add(
                f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}."
                f"{rng.randrange(1, 255)}"
            )
    return sorted(pool)


def realistic_w3c_lines(count: int, seed: int = 3, distinct: int = 400_000) -> Any:
    """W3C lines of about 270 bytes, the full 19 fields (see the module docstring)."""
    rng = random.Random(seed)
    pool = _address_pool(min(distinct, max(count // 2, 1)), rng)
    yield "#Software: Microsoft Internet Information Services 10.0\n"
    yield "#Version: 1.0\n"
    yield "#Date: 2026-11-20 08:00:00\n"
    yield f"#Fields: {W3C_FIELDS}\n"
    size = len(pool)
    for i in range(count):
        minute, second = divmod(i // 200, 60)
        ip = pool[int(size * rng.random() ** 1.5)]
        host = HOSTS[rng.random() < 0.1]
        yield (
            f"2026-11-20 {8 + minute // 60 % 12:02d}:{minute % 60:02d}:{second:02d} "
            f"~1CONTOSO-SHOP GET {PATHS[i % 5]} id={i % 9973}&v=2 443 - {ip} "
            f"{AGENTS[i % 5]} - https://{host}/ {host} 200 0 0 "
            f"{rng.randrange(200, 90000)} {rng.randrange(300, 2000)} {rng.randrange(1, 300)}\n"
        )


def realistic_audit_lines(count: int, seed: int = 4, distinct: int = 400_000) -> Any:
    """AppServiceIPSecAuditLogs lines; one in a thousand is cut short (malformed JSON)."""
    rng = random.Random(seed)
    pool = _address_pool(min(distinct, max(count // 2, 1)), rng)
    size = len(pool)
    for i in range(count):
        ip = pool[int(size * rng.random() ** 1.5)]
        port = rng.randrange(1024, 65535)
        fdid = FDID if ip.startswith("147.243.") else ""
        line = json.dumps(
            {
                "time": f"2026-11-20T08:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 10**7:07d}Z",
                "ResourceId": "/SUBSCRIPTIONS/0/RESOURCEGROUPS/SHOP/PROVIDERS/MICROSOFT.WEB/SITES/CONTOSO-SHOP",
                "Category": "AppServiceIPSecAuditLogs",
                "OperationName": "Authorization",
                "Properties": {
                    "Result": "Allowed" if fdid else "Denied",
                    "CsHost": HOSTS[rng.random() < 0.1],
                    "ServiceEndpoint": "False",
                    "CIp": f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}",
                    "XForwardedFor": "",
                    "XForwardedHost": "",
                    "XAzureFDID": fdid,
                    "XFDHealthProbe": "",
                    "Details": "Allowed by AzureFrontDoor.Backend rule."
                    if fdid
                    else "Denied by Deny all rule.",
                },
            },
            separators=(",", ":"),
        )
        # cut inside a string: a malformed line (cut after a comma it would open a document)
        yield (line[: line.index('"Details":') + 16] if i % 1000 == 999 else line) + "\n"


# ---------------------------------------------------------------------------- the naive loop


def naive_rules(site: acl.Site) -> list[tuple[list[Any], str | None, bool]]:
    """The main rules in priority order as (networks, required FDID or None, allow)."""
    out = []
    for rule in site.rules("main"):
        networks = [ipaddress.ip_network(str(p)) for s in rule.sources for p in s.prefixes]
        fdid = next((h.values[0] for h in rule.headers if h.name == "X-Azure-FDID"), None)
        out.append((networks, fdid, rule.action.value == "Allow"))
    return out


def naive_decide(
    rules: list[tuple[list[Any], str | None, bool]], ip: Any, fdid: str | None, default: bool
) -> bool:
    for networks, wanted, allow in rules:
        if any(ip in net for net in networks) and (wanted is None or wanted == fdid):
            return allow
    return default


def naive_w3c(path: Path, site: acl.Site) -> int:
    rules, default = naive_rules(site), site.default_action("main").value == "Allow"
    counts: Counter[bool] = Counter()
    fields: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                if line.startswith("#Fields:"):
                    fields = line.split()[1:]
                continue
            parts = line.rstrip("\n").split(" ")
            ip = ipaddress.ip_address(parts[fields.index("c-ip")])
            counts[naive_decide(rules, ip, None, default)] += 1
    return sum(counts.values())


def naive_audit(path: Path, site: acl.Site) -> int:
    rules, default = naive_rules(site), site.default_action("main").value == "Allow"
    counts: Counter[bool] = Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                props = json.loads(line)["Properties"]
            except ValueError:  # a malformed line
                continue
            ip = ipaddress.ip_address(props["CIp"].rsplit(":", 1)[0].strip("[]"))
            counts[naive_decide(rules, ip, props["XAzureFDID"] or None, default)] += 1
    return sum(counts.values())


def acl_replay(path: Path, engine: acl.Engine) -> int:
    return replay(engine, read_logs([str(path)], ReadOptions())).lines


# ------------------------------------------------------------------------------ the peers


def acl_check_process(path: Path) -> int:
    """``acl check --format json`` on one file, as a new process (start-up included)."""
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from acl.cli import main; sys.exit(main())",
         "check", "--rules", str(SITE), "--log", str(path), "--format", "json", "--no-progress"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(json.loads(out.stdout)["lines"])


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def polars_w3c(path: Path) -> int:
    """polars reads the W3C file (``#`` lines as comments) and groups by (c-ip, cs-host)."""
    import polars as pl

    frame = (
        pl.scan_csv(
            path,
            separator=" ",
            has_header=False,
            comment_prefix="#",
            quote_char=None,
            new_columns=W3C_FIELDS.split(),
            infer_schema=False,
        )
        .group_by(["c-ip", "cs-host"])
        .agg(pl.len())
        .collect()
    )
    return int(frame["len"].sum())


def duckdb_w3c(path: Path) -> int:
    """DuckDB's read_csv of the W3C file, grouped by (c-ip, cs-host)."""
    import duckdb

    columns = ", ".join(f"'{name}': 'VARCHAR'" for name in W3C_FIELDS.split())
    query = (
        f"SELECT \"c-ip\", \"cs-host\", count(*) AS n FROM read_csv('{path}', delim=' ', "
        f"header=false, comment='#', quote='', escape='', auto_detect=false, "
        f"columns={{{columns}}}) GROUP BY ALL"
    )
    with duckdb.connect() as db:
        return int(db.execute(f"SELECT sum(n) FROM ({query})").fetchall()[0][0])


def polars_audit(path: Path) -> int:
    """polars reads the JSON lines (malformed ones ignored) and groups by (CIp, CsHost)."""
    import polars as pl

    frame = (
        pl.scan_ndjson(path, ignore_errors=True)
        .select(
            pl.col("Properties").struct.field("CIp"), pl.col("Properties").struct.field("CsHost")
        )
        .group_by(["CIp", "CsHost"])
        .agg(pl.len())
        .collect()
    )
    return int(frame["len"].sum())


def duckdb_audit(path: Path) -> int:
    """DuckDB's read_ndjson (malformed lines ignored), grouped by (CIp, CsHost)."""
    import duckdb

    query = (
        f"SELECT Properties.CIp, Properties.CsHost, count(*) AS n "
        f"FROM read_ndjson('{path}', ignore_errors=true) GROUP BY ALL"
    )
    with duckdb.connect() as db:
        return int(db.execute(f"SELECT sum(n) FROM ({query})").fetchall()[0][0])


def head_file(path: Path, lines: int, target: Path) -> Path:
    """The first ``lines`` lines of a file (the naive loop runs on a sample)."""
    with open(path, encoding="utf-8") as source, open(target, "w", encoding="utf-8") as out:
        out.writelines(islice(source, lines))
    return target


def attempt(fn: Any, *args: Any, repeats: int = 3) -> float | None:
    """``best`` of a peer, or None (with the reason printed) when it fails."""
    try:
        return best(fn, *args, repeats=repeats)
    except Exception as exc:  # a peer's own error: reported, not fatal
        print(f"  {getattr(fn, '__name__', fn)} failed: {type(exc).__name__}: {exc}")
        return None


def realistic(count: int, tmp: Path, site: acl.Site) -> list[tuple[str, bool]]:
    """The realistic shapes against the peers: prints a table, returns (target, met)."""
    w3c = tmp / "u_ex_real.log"
    with open(w3c, "w", encoding="utf-8") as out:
        out.writelines(realistic_w3c_lines(count))
    audit = tmp / "audit_real.ndjson"
    with open(audit, "w", encoding="utf-8") as out:
        out.writelines(realistic_audit_lines(count))
    packed = tmp / "u_ex_real.log.gz"
    with open(w3c, "rb") as source, gzip.open(packed, "wb", compresslevel=6) as sink:
        shutil.copyfileobj(source, sink, 1 << 20)
    sample = min(count, 200_000)
    rows: list[tuple[str, int, float, float | None, float | None, float]] = []
    for name, path, naive, peers in (
        ("W3C", w3c, naive_w3c, (polars_w3c, duckdb_w3c)),
        ("audit JSON", audit, naive_audit, (polars_audit, duckdb_audit)),
    ):
        lines = acl_check_process(path)
        t_acl = best(acl_check_process, path)
        t_polars = attempt(peers[0], path) if have("polars") else None
        t_duck = attempt(peers[1], path) if have("duckdb") else None
        t_naive = best(naive, head_file(path, sample, tmp / "sample"), site, repeats=1)
        rows.append((name, lines, t_acl, t_polars, t_duck, lines / t_acl / (sample / t_naive)))
    t_gz = best(acl_check_process, packed)
    size = w3c.stat().st_size
    print(f"realistic shapes ({size / rows[0][1]:.0f} bytes a W3C line), seconds, best of 3")
    print(
        f"{'log':<11} {'lines':>10} {'acl check':>10} {'polars':>8} {'DuckDB':>8} "
        f"{'acl lines/s':>12} {'acl/naive':>10}"
    )
    for name, lines, t_acl, t_polars, t_duck, naive_ratio in rows:
        print(
            f"{name:<11} {lines:>10,} {t_acl:>10.2f} {_seconds(t_polars):>8} "
            f"{_seconds(t_duck):>8} {lines / t_acl:>12,.0f} {naive_ratio:>9.1f}x"
        )
    print(
        f"{'W3C .gz':<11} {rows[0][1]:>10,} {t_gz:>10.2f} {'':>8} {'':>8} {rows[0][1] / t_gz:>12,.0f}"
    )
    print()
    (_, _, w_acl, w_polars, w_duck, w_naive), (_, _, a_acl, _, a_duck, a_naive) = rows
    faster = min((t for t in (w_polars, w_duck) if t is not None), default=None)
    targets = [
        (
            "W3C: acl check <= the faster of polars and DuckDB",
            faster,
            faster and faster / w_acl,
            1.0,
        ),
        ("audit JSON: acl check <= half of DuckDB", a_duck, a_duck and a_duck / a_acl, 2.0),
        ("W3C: acl check >= 10x the naive loop", 1.0, w_naive, 10.0),
        ("audit JSON: acl check >= 10x the naive loop", 1.0, a_naive, 10.0),
        (".gz input >= 70% of the uncompressed rate", 1.0, w_acl / t_gz, 0.7),
    ]
    out = []
    for label, peer, ratio, wanted in targets:
        if peer is None or ratio is None:
            print(f"  {label}: not measured (peer missing)")
            continue
        met = ratio >= wanted
        print(f"  {label}: {ratio:.2f} (target {wanted:g}): {'met' if met else 'NOT met'}")
        out.append((label, met))
    return out


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def best(fn: Any, *args: Any, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def peak_rss_streaming(lines: int) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of ``acl check --log -`` fed ``lines`` W3C lines.

    The consumer reports its own peak (``RUSAGE_SELF``), so the producer does not count."""
    here = str(Path(__file__).parent)
    # The producer repeats a block of 10,000 generated lines, so that it outruns acl.
    produce = (
        f"import sys; sys.path.insert(0, {here!r}); import logs; lines = list(logs.w3c_lines(10_000)); "
        f"head, block = ''.join(lines[:2]), ''.join(lines[2:]); sys.stdout.write(head); "
        f"[sys.stdout.write(block) for _ in range({lines} // 10_000)]"
    )
    # VmHWM is the peak of this process image (ru_maxrss would carry the parent's over exec).
    consume = (
        "import sys; from acl.cli import main; code = main(sys.argv[1:]); "
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
        "print(peak, file=sys.stderr); sys.exit(code)"
    )
    start = time.perf_counter()
    producer = subprocess.Popen([sys.executable, "-c", produce], stdout=subprocess.PIPE)
    consumer = subprocess.run(
        [sys.executable, "-c", consume, "check", "--rules", str(SITE), "--log", "-",
         "--log-format", "w3c", "--format", "json"],
        stdin=producer.stdout, capture_output=True, text=True, check=True,
    )  # fmt: skip
    producer.wait()
    elapsed = time.perf_counter() - start
    assert json.loads(consumer.stdout)["requests"] == lines
    return elapsed, int(consumer.stderr.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small files, no 20M memory run")
    parser.add_argument(
        "--realistic",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the realistic shapes against polars and DuckDB (default: on)",
    )
    parser.add_argument("--only-realistic", action="store_true", help="the realistic shapes only")
    args = parser.parse_args(argv)
    if args.only_realistic:
        with tempfile.TemporaryDirectory() as tmp:
            realistic(100_000 if args.quick else 1_000_000, Path(tmp), acl.load(SITE))
        return 0
    w3c_count, audit_count = (100_000, 30_000) if args.quick else (1_000_000, 300_000)
    site = acl.load(SITE)
    engine = acl.compile(site)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        w3c = Path(tmp) / "u_ex.log"
        w3c.write_text("".join(w3c_lines(w3c_count)))
        audit = Path(tmp) / "audit.ndjson"
        audit.write_text("".join(audit_lines(audit_count)))
        for name, path, naive, lines in (
            ("W3C", w3c, naive_w3c, w3c_count + 2),
            ("audit JSON", audit, naive_audit, audit_count),
        ):
            t_acl = best(acl_replay, path, engine)
            t_naive = best(naive, path, site, repeats=1)
            rows.append((name, lines, lines / t_acl, lines / t_naive, t_naive / t_acl))
    print(f"{'log':<11} {'lines':>10} {'acl lines/s':>13} {'naive lines/s':>14} {'acl/naive':>10}")
    for name, lines, a, b, ratio in rows:
        print(f"{name:<11} {lines:>10,} {a:>13,.0f} {b:>14,.0f} {ratio:>9.1f}x")
    if not args.quick:
        print()
        print(f"{'streamed W3C lines':>20} {'seconds':>8} {'peak RSS of acl check':>22}")
        for lines in (1_000_000, 20_000_000):
            elapsed, rss = peak_rss_streaming(lines)
            print(f"{lines:>20,} {elapsed:>8.1f} {rss / 1024:>19.0f} MB")
    if args.realistic:
        print()
        with tempfile.TemporaryDirectory() as tmp:
            realistic(100_000 if args.quick else 1_000_000, Path(tmp), site)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())

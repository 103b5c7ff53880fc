"""Log replay throughput: ``acl check``'s pipeline against the loop a user would write.

Run ``.venv/bin/python benchmarks/logs.py`` (``--quick`` for a short run). It generates W3C
web server logs and AppServiceIPSecAuditLogs JSON lines in a temporary folder, then times,
side by side on the same files and in the same run:

- acl: read, parse, decide and summarise (``read_logs`` + ``replay``, what ``acl check`` does);
- the straightforward loop: ``json.loads`` or ``str.split`` per line, ``ipaddress`` objects,
  and a loop over the rules in priority order (first match wins), counting decisions.

It then streams 1M and 20M W3C lines through ``acl check --log -`` in a subprocess and
reports the peak resident memory of each: memory must stay flat as the input grows.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
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
            props = json.loads(line)["Properties"]
            ip = ipaddress.ip_address(props["CIp"].rsplit(":", 1)[0])
            counts[naive_decide(rules, ip, props["XAzureFDID"] or None, default)] += 1
    return sum(counts.values())


def acl_replay(path: Path, engine: acl.Engine) -> int:
    return replay(engine, read_logs([str(path)], ReadOptions())).lines


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
    args = parser.parse_args(argv)
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
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())

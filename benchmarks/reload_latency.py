"""Request latency while a large rule table is swapped in (issue 19, the gateway part).

A thread decides one request every millisecond through :class:`acl.gateway.LiveRules`, as a
server's request handlers do, while another thread reloads a rules file of ``--rules N``
random IPv4 rules. A request's latency is measured from the moment it was due (the end of
its one-millisecond wait) to its answer, so time spent waiting for the GIL counts. Printed:
the reload's duration and the p50, p99 and max latency of the requests decided meanwhile,
for each way of reloading asked for (``--modes``): ``child`` (the reload loads and compiles
in a child process, the default of :class:`~acl.gateway.LiveRules`) and ``in-process``
(``isolate=False``).

Run alone on a quiet machine::

    .venv/bin/python benchmarks/reload_latency.py --rules 100000
    .venv/bin/python benchmarks/reload_latency.py --rules 1000000 --modes child
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from acl.gateway import LiveRules

INTERVAL = 0.001
"""Seconds between two requests of the deciding thread."""


def write_rules(path: Path, count: int, seed: int = 19) -> None:
    """``count`` random IPv4 rules (/16 to /32, random priorities and actions), ARM shape."""
    rng = random.Random(seed)
    rules = []
    for i in range(count):
        length = rng.randint(16, 32)
        value = rng.getrandbits(32) & ~((1 << (32 - length)) - 1)
        address = ".".join(str(value >> shift & 255) for shift in (24, 16, 8, 0))
        rules.append(
            {
                "name": f"r{i}",
                "priority": rng.randint(1, 65000),
                "action": "Allow" if rng.random() < 0.5 else "Deny",
                "ipAddress": f"{address}/{length}",
            }
        )
    path.write_text(json.dumps({"ipSecurityRestrictions": rules}))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(live: LiveRules, *, isolate: bool) -> dict[str, float]:
    """Reload once while deciding a request every :data:`INTERVAL`; the figures in ms."""
    live.isolate = isolate
    done = threading.Event()
    result: list[bool] = []
    took: list[float] = []

    def reload() -> None:
        started = time.perf_counter()
        result.append(live.reload())
        took.append(time.perf_counter() - started)
        done.set()

    latencies: list[float] = []
    thread = threading.Thread(target=reload)
    rng = random.Random(7)
    thread.start()
    while not done.is_set():
        address = f"{rng.getrandbits(8)}.{rng.getrandbits(8)}.{rng.getrandbits(8)}.1"
        before = time.perf_counter()
        time.sleep(INTERVAL)
        due = before + INTERVAL
        live.current.decide(address, None, None, all_four=False)
        latencies.append(max(0.0, time.perf_counter() - due))
    thread.join()
    if result != [True]:
        raise SystemExit(f"the reload failed: {live.last_error}")
    return {
        "reload_s": took[0],
        "requests": float(len(latencies)),
        "p50_ms": percentile(latencies, 0.50) * 1e3,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "max_ms": max(latencies) * 1e3,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=100_000, help="rules in the table")
    parser.add_argument(
        "--modes", default="child,in-process", help="child, in-process (comma-separated)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="reloads per mode")
    args = parser.parse_args(argv)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    for mode in modes:
        if mode not in ("child", "in-process"):
            parser.error(f"unknown mode {mode!r}: expected child or in-process")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.json"
        write_rules(path, args.rules)
        started = time.perf_counter()
        live = LiveRules(path, isolate=False)
        print(f"{args.rules} rules: first load {time.perf_counter() - started:.1f} s", flush=True)
        for mode in modes:
            for _ in range(args.repeat):
                figures = measure(live, isolate=mode == "child")
                print(
                    f"{mode:>10}: reload {figures['reload_s']:.1f} s, "
                    f"{figures['requests']:.0f} requests, latency p50 "
                    f"{figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.1f} ms, "
                    f"max {figures['max_ms']:.0f} ms",
                    flush=True,
                )
        live.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

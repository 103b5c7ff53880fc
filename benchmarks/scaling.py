"""How acl scales from a thousand rules to a million: load, compile, save, load-engine,
memory, bulk and single decisions, each beside the peer a user would reach for.

Per size (1k, 10k, 100k, 1M rules) and family (IPv4, IPv6), one ARM site JSON file of random
rules (IPv4 /16 to /32, IPv6 /32 to /128 in 2000::/3; random priorities and actions) is
written, then, in a fresh child process per size (so peak RSS is that size's alone):

* ``json.load`` of the file, and ``acl.load`` of it;
* ``acl.compile``, and building a pytricia trie from the same rule dicts (prefix to action);
* ``Engine.save`` and ``acl.load_engine`` of the saved engine;
* peak RSS after load + compile (``ru_maxrss`` of the child);
* bulk: ``decide_many`` over 4M addresses (``uint32``, or ``(hi, lo)`` for IPv6) against
  numpy ``searchsorted`` over the same first-match partition (then the range's code and
  action, as a numpy user would write it); the results are checked equal;
* single: ``engine.decide(str)`` against pytricia ``.get(str)`` over the same strings;
* at the largest IPv4 size, a 10M-row batch with ``threads=1`` against the default.

Ratios are taken within one run. Run ``python benchmarks/scaling.py --help``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SIZES = (1_000, 10_000, 100_000, 1_000_000)
FAMILIES = ("ipv4", "ipv6")
BULK_ROWS = 4_000_000
SINGLE_ROWS = 200_000
THREAD_ROWS = 10_000_000


# ---------------------------------------------------------------------------- the rules


def _v6_text(value: int) -> str:
    import ipaddress

    return str(ipaddress.IPv6Address(value))


def write_site(path: Path, rules: int, family: str, seed: int = 0) -> None:
    """An ARM site JSON file of ``rules`` random rules."""
    rng = np.random.default_rng([seed, rules, FAMILIES.index(family)])
    priorities = rng.integers(100, 100 + max(rules // 2, 1), rules)
    allow = rng.random(rules) < 0.7
    items = []
    if family == "ipv4":
        lengths = rng.integers(16, 33, rules)
        values = rng.integers(0, 1 << 32, rules, dtype=np.uint64)
        for k in range(rules):
            v = int(values[k])
            text = f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}/{int(lengths[k])}"
            items.append(text)
    else:
        lengths = rng.integers(32, 129, rules)
        his = rng.integers(0, 1 << 61, rules, dtype=np.uint64) | np.uint64(1 << 61)
        los = rng.integers(0, 1 << 63, rules, dtype=np.uint64)
        for k in range(rules):
            length = int(lengths[k])
            value = (int(his[k]) << 64) | int(los[k])
            value &= ((1 << 128) - 1) ^ ((1 << (128 - length)) - 1)
            items.append(f"{_v6_text(value)}/{length}")
    restrictions = [
        {
            "ipAddress": text,
            "action": "Allow" if allow[k] else "Deny",
            "priority": int(priorities[k]),
            "name": f"r{k}",
        }
        for k, text in enumerate(items)
    ]
    doc = {
        "type": "Microsoft.Web/sites",
        "name": f"scale-{family}-{rules}",
        "properties": {
            "siteConfig": {
                "ipSecurityRestrictionsDefaultAction": "Deny",
                "ipSecurityRestrictions": restrictions,
            }
        },
    }
    with open(path, "w") as out:
        json.dump(doc, out)


# ---------------------------------------------------------------------------- measuring


def _best(call: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        value = call()
        best = min(best, time.perf_counter() - start)
    return best, value


def _race(
    first: Callable[[], Any], second: Callable[[], Any], repeats: int
) -> tuple[float, float, Any, Any]:
    """Best times of two calls, their repeats interleaved (so a busy moment of the machine
    costs both alike), and each one's last value."""
    times = [float("inf"), float("inf")]
    values: list[Any] = [None, None]
    for _ in range(repeats):
        for k, call in enumerate((first, second)):
            gc.collect()
            start = time.perf_counter()
            values[k] = call()
            times[k] = min(times[k], time.perf_counter() - start)
    return times[0], times[1], values[0], values[1]


def _numpy_decider(engine: Any, numeric: Any) -> Callable[[], Any]:
    """What a numpy user would write over acl's own partition."""
    from acl.compiler import plain_codes

    tables = engine.tables
    plain = plain_codes(tables.list_offsets, tables.list_rules, tables.rule_cond)
    actions = np.append(tables.rule_action, tables.defaults[0])  # code -1: the default
    if isinstance(numeric, np.ndarray):
        t = tables.v4_main
        starts = t.starts_lo.astype(np.uint32)
        per_range = plain[t.ranges]

        def run4() -> Any:
            code = per_range[np.searchsorted(starts, numeric, side="right") - 1]
            return code, actions[code]

        return run4
    t = tables.v6_main
    keys = np.empty(len(t.starts_hi), dtype=[("hi", ">u8"), ("lo", ">u8")])
    keys["hi"], keys["lo"] = t.starts_hi, t.starts_lo
    keys6 = keys.view("S16").ravel()
    per_range6 = plain[t.ranges]
    hi, lo = numeric
    wanted = np.empty(len(hi), dtype=[("hi", ">u8"), ("lo", ">u8")])
    wanted["hi"], wanted["lo"] = hi, lo
    wanted6 = wanted.view("S16").ravel()

    def run6() -> Any:
        code = per_range6[np.searchsorted(keys6, wanted6, side="right") - 1]
        return code, actions[code]

    return run6


def _traffic(engine: Any, family: str, rows: int, seed: int) -> tuple[Any, list[str]]:
    """Half inside a rule's prefix, half uniform; and 200k of them as text."""
    import ipaddress

    rng = np.random.default_rng(seed)
    site = engine.site
    prefixes = [p for r in site.main_rules for s in r.sources for p in s.prefixes]
    picks = rng.integers(0, len(prefixes), rows // 2)
    if family == "ipv4":
        nets = np.array([prefixes[k].network for k in picks.tolist()], dtype=np.uint64)
        sizes = np.array([32 - prefixes[k].length for k in picks.tolist()], dtype=np.uint64)
        inside = nets + (
            rng.integers(0, 1 << 62, len(picks), dtype=np.uint64) % (np.uint64(1) << sizes)
        )
        uniform = rng.integers(0, 1 << 32, rows - len(picks), dtype=np.uint64)
        numeric = np.concatenate([inside, uniform]).astype(np.uint32)
        rng.shuffle(numeric)
        text = [str(ipaddress.IPv4Address(int(v))) for v in numeric[:SINGLE_ROWS].tolist()]
        return numeric, text
    nets = [prefixes[k] for k in picks.tolist()]
    hi = np.array([p.network >> 64 for p in nets], dtype=np.uint64)
    lo = np.array([p.network & ((1 << 64) - 1) for p in nets], dtype=np.uint64)
    lo |= rng.integers(0, 1 << 8, len(nets), dtype=np.uint64) & np.array(
        [(1 << min(128 - p.length, 8)) - 1 for p in nets], dtype=np.uint64
    )
    rest = rows - len(nets)
    hi = np.concatenate([hi, rng.integers(0, 1 << 61, rest, dtype=np.uint64) | np.uint64(1 << 61)])
    lo = np.concatenate([lo, rng.integers(0, 1 << 63, rest, dtype=np.uint64)])
    order = rng.permutation(rows)
    hi, lo = hi[order], lo[order]
    text = [
        str(ipaddress.IPv6Address((int(h) << 64) | int(v)))
        for h, v in zip(hi[:SINGLE_ROWS].tolist(), lo[:SINGLE_ROWS].tolist(), strict=True)
    ]
    return (hi, lo), text


def measure(
    path: Path, rules: int, family: str, repeats: int, threads_check: bool
) -> dict[str, Any]:
    """One size, in this (fresh) process."""
    import acl

    out: dict[str, Any] = {"rules": rules, "family": family}
    # load + compile first, so that the peak RSS is theirs (json.load's document comes later).
    gc.disable()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    site = acl.load(path)
    out["load"] = time.perf_counter() - start
    start = time.perf_counter()
    engine = acl.compile(site)
    out["compile"] = time.perf_counter() - start
    out["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["baseline_rss"] = baseline * 1024
    start = time.perf_counter()
    with open(path) as stream:
        doc = json.load(stream)
    out["json_load"] = time.perf_counter() - start
    items = doc["properties"]["siteConfig"]["ipSecurityRestrictions"]
    gc.enable()
    try:
        import pytricia
    except ImportError:
        pytricia = None
    trie = None
    if pytricia is not None:
        ordered = sorted(items, key=lambda item: item["priority"])

        def build() -> Any:
            t = pytricia.PyTricia(32 if family == "ipv4" else 128)
            for item in reversed(ordered):  # the first rule of a prefix wins
                t[item["ipAddress"]] = item["action"]
            return t

        out["pytricia_build"], trie = _best(build, 1)
    del doc, items
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / "engine.acl"
        out["save"], _ = _best(lambda: engine.save(saved), 1)
        out["engine_bytes"] = saved.stat().st_size
        out["load_engine"], loaded = _best(lambda: acl.load_engine(saved), max(1, repeats // 2))
        probe = np.arange(0, 1 << 32, 4099, dtype=np.uint32) if family == "ipv4" else None
        if probe is not None:
            assert np.array_equal(loaded.decide_many(probe).code, engine.decide_many(probe).code)
        del loaded
    numeric, text = _traffic(engine, family, BULK_ROWS, seed=rules)
    numpy_run = _numpy_decider(engine, numeric)
    out["bulk"], out["numpy"], bulk, (np_code, np_action) = _race(
        lambda: engine.decide_many(numeric), numpy_run, repeats
    )
    assert np.array_equal(bulk.code, np_code) and np.array_equal(bulk.action, np_action)
    decide = engine.decide

    def single() -> None:
        for ip in text:
            decide(ip)

    if trie is not None:
        get = trie.get

        def peer() -> None:
            for ip in text:
                get(ip)

        out["single"], out["pytricia_get"], _, _ = _race(single, peer, repeats)
    else:
        out["single"], _ = _best(single, repeats)
    if threads_check:
        big = np.resize(numeric, THREAD_ROWS)
        out["bulk_1thread"], out["bulk_threads"], one, many = _race(
            lambda: engine.decide_many(big, threads=1), lambda: engine.decide_many(big), repeats
        )
        assert np.array_equal(one.code, many.code)
    out["bulk_rows"], out["single_rows"] = BULK_ROWS, len(text)
    return out


def _child(args: argparse.Namespace) -> int:
    result = measure(Path(args.child), args.rules[0], args.family[0], args.repeats, args.threads)
    print(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------- the report


def targets(results: Sequence[dict[str, Any]]) -> list[tuple[str, str, float | None, bool | None]]:
    """(target, wanted, measured, held) for the issue's targets."""

    def find(rules: int, family: str) -> dict[str, Any] | None:
        return next((r for r in results if r["rules"] == rules and r["family"] == family), None)

    rows: list[tuple[str, str, float | None, bool | None]] = []

    def add(label: str, wanted: str, value: float | None, ok: Callable[[float], bool]) -> None:
        rows.append((label, wanted, value, None if value is None else ok(value)))

    top = max((r["rules"] for r in results), default=0)
    big = find(top, "ipv4")
    if big:
        add(f"{top} ipv4 bulk / numpy", ">= 8x", big["numpy"] / big["bulk"], lambda x: x >= 8)
        if "pytricia_get" in big:
            add(f"{top} ipv4 decide(str) / pytricia", ">= 2x",
                big["pytricia_get"] / big["single"], lambda x: x >= 2)  # fmt: skip
            add(f"{top} ipv4 compile / pytricia build", "<= 1.5x",
                big["compile"] / big["pytricia_build"], lambda x: x <= 1.5)  # fmt: skip
        add(f"{top} ipv4 acl.load / json.load", "<= 3x", big["load"] / big["json_load"],
            lambda x: x <= 3)  # fmt: skip
        add(f"{top} ipv4 save / json.load", "<= 1x", big["save"] / big["json_load"],
            lambda x: x <= 1)  # fmt: skip
        add(f"{top} ipv4 load_engine / json.load", "<= 0.2x",
            big["load_engine"] / big["json_load"], lambda x: x <= 0.2)  # fmt: skip
        add(f"{top} ipv4 peak RSS load+compile (MB)", "<= 800", big["peak_rss"] / 1e6,
            lambda x: x <= 800)  # fmt: skip
        if "bulk_threads" in big:
            add("10M rows, threads / one thread", ">= 1.7x",
                big["bulk_1thread"] / big["bulk_threads"], lambda x: x >= 1.7)  # fmt: skip
        six = find(top, "ipv6")
        if six:
            add(f"{top} ipv6 bulk rate / ipv4 bulk rate", ">= 0.5x",
                big["bulk"] / six["bulk"], lambda x: x >= 0.5)  # fmt: skip
        low = find(top // 10, "ipv4")
        if low:
            for stage in ("load", "compile", "save", "load_engine"):
                add(f"{stage} growth {top // 10} -> {top} ipv4", "<= 12x",
                    big[stage] / low[stage], lambda x: x <= 12)  # fmt: skip
    return rows


def _fmt_rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds / 1e6:.1f} M/s"


def report(results: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| rules | family | json.load | acl.load | compile | pytricia build | save | "
        "load_engine | peak RSS/rule | bulk | vs numpy | decide(str) | vs pytricia | "
        "load/json | compile/pytricia | save/json | load_engine/json |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        build = f"{r['pytricia_build']:.2f} s" if "pytricia_build" in r else "-"
        peer = f"{r['pytricia_get'] / r['single']:.1f}x" if "pytricia_get" in r else "-"
        per_rule = (r["peak_rss"] - r["baseline_rss"]) / r["rules"]
        lines.append(
            f"| {r['rules']:,} | {r['family']} | {r['json_load']:.2f} s | {r['load']:.2f} s | "
            f"{r['compile']:.2f} s | {build} | {r['save']:.2f} s | {r['load_engine']:.3f} s | "
            f"{per_rule:,.0f} B | {_fmt_rate(r['bulk_rows'], r['bulk'])} | "
            f"{r['numpy'] / r['bulk']:.1f}x | {_fmt_rate(r['single_rows'], r['single'])} | "
            f"{peer} | {r['load'] / r['json_load']:.1f}x | "
            + (f"{r['compile'] / r['pytricia_build']:.1f}x" if "pytricia_build" in r else "-")
            + f" | {r['save'] / r['json_load']:.1f}x | {r['load_engine'] / r['json_load']:.1f}x |"
        )
    lines += ["", "| target | wanted | measured | held |", "|---|---|---:|---|"]
    for label, wanted, value, held in targets(results):
        shown = "-" if value is None else f"{value:.2f}"
        lines.append(
            f"| {label} | {wanted} | {shown} | {'yes' if held else 'no' if held is not None else '-'} |"
        )
    load = os.getloadavg()
    lines += ["", f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} at the end"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=lambda t: [int(x) for x in t.split(",")],
                        default=list(SIZES), help="comma-separated sizes (default 1k..1M)")  # fmt: skip
    parser.add_argument("--family", type=lambda t: t.split(","), default=list(FAMILIES),
                        help="ipv4,ipv6 (default both)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--threads", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)
    results = []
    top = max(args.rules)
    with tempfile.TemporaryDirectory() as folder:
        for family in args.family:
            for rules in args.rules:
                path = Path(folder) / f"{family}-{rules}.json"
                print(f"{family} {rules}: writing", file=sys.stderr, flush=True)
                write_site(path, rules, family)
                command = [sys.executable, __file__, "--child", str(path), "--rules", str(rules),
                           "--family", family, "--repeats", str(args.repeats)]  # fmt: skip
                if rules == top and family == "ipv4":
                    command.append("--threads")
                print(f"{family} {rules}: measuring", file=sys.stderr, flush=True)
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode:
                    print(done.stderr, file=sys.stderr)
                    return done.returncode
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(json.dumps(results[-1]), file=sys.stderr, flush=True)
                path.unlink()
    if args.format == "json":
        print(json.dumps({"results": results, "targets": targets(results)}, indent=2))
    else:
        print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

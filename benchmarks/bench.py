"""``acl bench``: decisions/s, compile time and memory, with the alternatives side by side.

:func:`main` runs :func:`run` over the workloads of :mod:`workload` and prints
:func:`format_report`. Every figure is the best of a few repeats timed with
:func:`time.perf_counter`, in one thread; what matters on a shared machine are the
**ratios**, measured in the same run with the repeats interleaved.

The alternatives answer a simpler question than ``acl``: pytricia and py-radix give the
longest matching prefix, SubnetTree and netaddr membership; only the ``ipaddress`` loop
(and numpy over acl's own partition) gives the first-match decision ``acl`` gives. Peers are
imported lazily; a missing one is reported as "not installed".

Run it as ``acl bench`` from a checkout, or ``python benchmarks/bench.py``; both take the
same options (``--help``).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import ipaddress
import json
import math
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from acl.cli.common import Parser
from acl.engine import KERNEL, Engine
from acl.engine import compile as compile_site
from acl.headers import XAZUREFDID
from acl.model import Site
from workload import (
    FAMILIES,
    HEADER_SHARE,
    I32,
    QUICK_REQUESTS,
    QUICK_SIZES,
    REQUESTS,
    SIZES,
    U8,
    U32,
    U64,
    RuleSet,
    Traffic,
    azure_cloud,
    generate,
    make_traffic,
    no_gc,
)

__all__ = [
    "Options",
    "PeerResult",
    "Result",
    "Target",
    "command",
    "format_report",
    "machine",
    "main",
    "measure",
    "numpy_decider",
    "options_from_args",
    "parse_count",
    "parse_families",
    "parse_sizes",
    "report_json",
    "run",
    "targets",
]

SINGLE_SAMPLE = 200_000
"""Requests in the single-call loops (acl, pytricia, py-radix, SubnetTree); half as many
on rule sets of more than :data:`BIG` prefixes."""
BIG = 100_000
"""Above this many prefixes: compile once, and at most three repeats of the rest."""
SLOW_SAMPLE = 5_000
"""Requests for the slow single calls: netaddr, and ``decide`` with headers."""
IPADDRESS_DIRECT = 20_000
"""Above this many prefixes the ``ipaddress`` loop runs over the first ones and the cost of
the full list is extrapolated."""
IPADDRESS_CHECKS = 4_000_000
"""Roughly how many ``address in network`` checks the ``ipaddress`` loop may make."""
NETADDR_LIMIT = 100_000
"""Above this many prefixes building a netaddr ``IPSet`` takes too long: skipped."""
TRACE_LIMIT = 100_000
"""Compiling under tracemalloc is about four times slower: only up to this many prefixes."""

# ---------------------------------------------------------------------------- timing


def _race(functions: Mapping[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best time of each function, the repeats interleaved (round robin), GC off.

    No ``gc.collect()`` first: with a million rules and a peer's million nodes alive, one
    takes seconds, and with the GC off nothing is collected during the timings anyway.
    """
    best = dict.fromkeys(functions, math.inf)
    with no_gc():
        for _ in range(max(repeats, 1)):
            for name, function in functions.items():
                start = time.perf_counter()
                function()
                best[name] = min(best[name], time.perf_counter() - start)
    return best


def _loop(call: Callable[[str], object], sample: list[str]) -> Callable[[], None]:
    def run() -> None:
        for address in sample:
            call(address)

    return run


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# ---------------------------------------------------------------------------- results


@dataclass
class PeerResult:
    """One alternative's single-call figures on a rule set."""

    name: str
    call: str
    answers: str
    status: str = "ok"
    """``ok``, ``not installed`` or ``skipped: why``."""
    build_s: float | None = None
    rate: float | None = None
    """Lookups per second (a Python loop over a list of str)."""
    sample: int = 0
    extrapolated: bool = False
    vs_decide: float | None = None
    """acl ``decide()`` rate / this rate."""
    vs_bulk_text: float | None = None
    """acl bulk-from-strings rate / this rate."""
    note: str = ""


@dataclass
class Result:
    """Everything measured on one rule set."""

    label: str
    family: str
    rules: int
    prefixes: int
    header_share: float
    requests: int
    ranges: int = 0
    lists: int = 0
    compile_s: float = math.nan
    compile_repeats: int = 0
    trace_peak: int | None = None
    """tracemalloc peak while compiling (bytes), or None when not measured."""
    trace_held: int | None = None
    """tracemalloc bytes still held by the engine after compiling."""
    nbytes: int = 0
    numeric_input: str = ""
    bulk_numeric: float = math.nan
    bulk_text: float = math.nan
    bulk_headers_list: float | None = None
    """Header rule sets: bulk from the numeric column with a list-of-str header column."""
    single: float = math.nan
    single_sample: int = 0
    single_headers: float | None = None
    """Header rule sets: ``decide(address, headers={...})``, the general path."""
    numpy: float | None = None
    numpy_agrees: bool | None = None
    reference_agrees: bool | None = None
    """The ``ipaddress`` first-match loop decided its sample like acl."""
    decided_by_rule: float = math.nan
    """The share of requests a rule decided (the rest got the default)."""
    peers: list[PeerResult] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    """Wall time of each step of the measurement (seconds), for the progress lines."""

    @property
    def vs_numpy(self) -> float | None:
        return self.bulk_numeric / self.numpy if self.numpy else None

    def peer(self, name: str) -> PeerResult | None:
        return next((p for p in self.peers if p.name == name), None)


# ---------------------------------------------------------------------------- numpy


def _plain_codes(engine: Engine, ranges: I32) -> I32:
    """Per range, the code when no condition holds: the list's unconditional rule, else -1.

    Lists are cut after their first unconditional rule, so it can only be the last one.
    """
    tables = engine.tables
    offsets = np.asarray(tables.list_offsets)
    members = np.asarray(tables.list_rules)
    ends = offsets[1:]
    nonempty = ends > offsets[:-1]
    last = members[np.maximum(ends - 1, 0)] if len(members) else np.zeros(len(ends), np.int32)
    by_list = np.where(
        nonempty & (np.asarray(tables.rule_cond)[last] == 0) if len(members) else nonempty,
        last,
        -1,
    ).astype(np.int32)
    return by_list[np.asarray(ranges)]


def _keys128(hi: U64, lo: U64) -> npt.NDArray[np.bytes_]:
    """128-bit values as big-endian 16-byte strings: numpy orders them like the integers."""
    pair = np.empty((len(hi), 2), dtype=">u8")
    pair[:, 0] = hi
    pair[:, 1] = lo
    return pair.view("S16").ravel()


def numpy_decider(engine: Engine, numeric: U32 | tuple[U64, U64]) -> Callable[[], tuple[I32, U8]]:
    """What a numpy user would write over acl's own partition: ``searchsorted`` on the range
    starts, then the range's code and its action. Main collection, no header conditions."""
    tables = engine.tables
    starts4 = tables.v4_main.starts_lo.astype(np.uint32)
    plain4 = _plain_codes(engine, tables.v4_main.ranges)
    keys6 = _keys128(tables.v6_main.starts_hi, tables.v6_main.starts_lo)
    plain6 = _plain_codes(engine, tables.v6_main.ranges)
    action_of = np.concatenate([tables.defaults[:1], tables.rule_action]).astype(np.uint8)

    if isinstance(numeric, np.ndarray):
        v4 = numeric

        def run4() -> tuple[I32, U8]:
            code = plain4[np.searchsorted(starts4, v4, side="right") - 1]
            return code, action_of[code + 1]

        return run4
    hi, lo = numeric

    def run() -> tuple[I32, U8]:
        mapped = (hi == 0) & ((lo >> np.uint64(32)) == np.uint64(0xFFFF))
        code = np.empty(len(hi), dtype=np.int32)
        low = (lo[mapped] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        code[mapped] = plain4[np.searchsorted(starts4, low, side="right") - 1]
        other = ~mapped
        keys = _keys128(hi[other], lo[other])
        code[other] = plain6[np.searchsorted(keys6, keys, side="right") - 1]
        return code, action_of[code + 1]

    return run


# ---------------------------------------------------------------------------- peers


def _ipaddress_peer(
    ruleset: RuleSet, traffic: Traffic, codes: I32
) -> tuple[PeerResult, bool | None]:
    """The straightforward loop: ``ip_address(s) in network`` over the rules in order.

    Up to :data:`IPADDRESS_DIRECT` prefixes it runs as is on a sample. Above, it runs over
    the first prefixes only; the cost of one check and of parsing are measured there, and
    the per-request cost of the full list is extrapolated from how many prefixes each
    request would scan (known from acl's codes: up to the deciding rule's first prefix, or
    all of them). Either way its first matches are compared with acl's decisions.
    """
    peer = PeerResult("ipaddress", "first-match loop", "first match")
    total = ruleset.prefixes
    kept = min(total, IPADDRESS_DIRECT)
    start = time.perf_counter()
    networks = [ipaddress.ip_network(text, strict=False) for text in ruleset.texts[:kept]]
    peer.build_s = time.perf_counter() - start
    sample_size = max(50, min(SLOW_SAMPLE, IPADDRESS_CHECKS // max(kept, 1), len(traffic)))
    sample = traffic.text[:sample_size]
    peer.sample = len(sample)
    ip_address = ipaddress.ip_address
    found: list[int] = []

    def loop() -> None:
        found.clear()
        for text in sample:
            address = ip_address(text)
            for index, network in enumerate(networks):
                if address in network:
                    found.append(index)
                    break
            else:
                found.append(-1)

    def parse() -> None:
        for text in sample:
            ip_address(text)

    timings = _race({"loop": loop, "parse": parse}, 1)
    # The first match's rule, against acl's: on a truncated list, only where acl's rule
    # lies wholly inside it (it must be found) or wholly outside (nothing may be found).
    first_prefix = np.searchsorted(ruleset.rule, np.arange(ruleset.rules + 1), side="left")
    hits = np.array(found, dtype=np.int64)
    got = np.where(hits >= 0, ruleset.rule[np.maximum(hits, 0)], -1)
    want = codes[: len(sample)].astype(np.int64)
    rule = np.maximum(want, 0)
    inside = (want >= 0) & (first_prefix[rule + 1] <= kept)
    outside = (want < 0) | (first_prefix[rule] >= kept)
    certain = inside | outside
    agrees = bool(np.array_equal(got[certain], np.where(inside, want, -1)[certain]))
    if kept == total:
        peer.rate = len(sample) / timings["loop"]
        peer.note = f"sample of {len(sample):,}"
    else:
        checks = sum(index + 1 if index >= 0 else kept for index in found)
        per_check = max(timings["loop"] - timings["parse"], 0.0) / max(checks, 1)
        per_parse = timings["parse"] / len(sample)
        scanned = np.where(codes >= 0, first_prefix[np.maximum(codes, 0)] + 1, total)
        peer.rate = 1.0 / (per_parse + per_check * float(scanned.mean()))
        peer.extrapolated = True
        peer.note = (
            f"extrapolated: {per_check * 1e9:.0f} ns/check x {float(scanned.mean()):,.0f}"
            f" checks (timed on the first {kept:,} prefixes)"
        )
    return peer, agrees


def _fast_peers(
    ruleset: RuleSet, peers: bool
) -> tuple[list[PeerResult], dict[str, Callable[[str], object]]]:
    """pytricia, py-radix and SubnetTree: built from the rule set's prefixes."""
    out: list[PeerResult] = []
    calls: dict[str, Callable[[str], object]] = {}
    if not peers:
        return out, calls
    texts = ruleset.texts

    pytricia = _import("pytricia")
    peer = PeerResult("pytricia", ".get(str)", "longest prefix")
    if pytricia is None:
        peer.status = "not installed"
    else:
        start = time.perf_counter()
        trie = pytricia.PyTricia(32 if ruleset.family == "ipv4" else 128)
        for index, text in enumerate(texts):
            trie[text] = index
        peer.build_s = time.perf_counter() - start
        calls[peer.name] = trie.get
    out.append(peer)

    radix = _import("radix")
    peer = PeerResult("py-radix", "search_best(str)", "longest prefix")
    if radix is None:
        peer.status = "not installed"
    else:
        start = time.perf_counter()
        tree = radix.Radix()
        for index, text in enumerate(texts):
            tree.add(text).data["rule"] = index
        peer.build_s = time.perf_counter() - start
        calls[peer.name] = tree.search_best
    out.append(peer)

    subnettree = _import("SubnetTree")
    peer = PeerResult("SubnetTree", "str in tree", "membership")
    if subnettree is None:
        peer.status = "not installed"
    else:
        start = time.perf_counter()
        st = subnettree.SubnetTree()
        for index, text in enumerate(texts):
            st[text] = index
        peer.build_s = time.perf_counter() - start
        calls[peer.name] = st.__contains__
    out.append(peer)
    return out, calls


def _netaddr_peer(ruleset: RuleSet, sample: list[str]) -> PeerResult:
    peer = PeerResult("netaddr", "str in IPSet", "membership")
    netaddr = _import("netaddr")
    if netaddr is None:
        peer.status = "not installed"
        return peer
    if ruleset.prefixes > NETADDR_LIMIT:
        peer.status = f"skipped: IPSet build too slow above {NETADDR_LIMIT:,} prefixes"
        return peer
    start = time.perf_counter()
    ipset = netaddr.IPSet(ruleset.texts)
    peer.build_s = time.perf_counter() - start
    peer.sample = len(sample)
    timing = _race({"netaddr": _loop(ipset.__contains__, sample)}, 1)
    peer.rate = len(sample) / timing["netaddr"]
    return peer


# ---------------------------------------------------------------------------- one rule set


def measure(
    ruleset: RuleSet,
    traffic: Traffic,
    *,
    repeats: int = 5,
    peers: bool = True,
    trace_limit: int = TRACE_LIMIT,
) -> Result:
    """Compile ``ruleset``, decide ``traffic`` every way, and time the alternatives."""
    result = Result(
        ruleset.label,
        ruleset.family,
        ruleset.rules,
        ruleset.prefixes,
        ruleset.header_share,
        len(traffic),
    )
    site = ruleset.site
    big = ruleset.prefixes > BIG
    result.compile_repeats = 1 if big else min(repeats, 3)
    repeats = min(repeats, 3) if big else repeats
    phases = result.phases
    began = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal began
        now = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + now - began
        began = now

    result.compile_s, engine = _timed_compile(site, result.compile_repeats)
    result.nbytes = engine.nbytes
    tables = engine.tables
    result.ranges = len(tables.v4_main.ranges) + len(tables.v6_main.ranges)
    result.lists = len(tables.list_offsets) - 1
    if ruleset.prefixes <= trace_limit:
        result.trace_peak, result.trace_held = _traced_compile(site)
    phase("compile")

    # bulk: numeric and text columns (and headers), against numpy on the same partition
    numeric = traffic.numeric
    result.numeric_input = "uint32" if isinstance(numeric, np.ndarray) else "(hi, lo) uint64"
    n = len(traffic)
    headers: dict[str, Any] | None = None
    if traffic.fdid is not None:
        headers = {XAZUREFDID: traffic.fdid}
    functions: dict[str, Callable[[], object]] = {
        "numeric": lambda: engine.decide_many(numeric, headers=headers),
        "text": lambda: engine.decide_many(traffic.text, headers=headers),
    }
    if headers is None:
        decider = numpy_decider(engine, numeric)
        functions["numpy"] = decider
    else:
        fdid_list = traffic.fdid_list()
        functions["headers list"] = lambda: engine.decide_many(
            numeric, headers={XAZUREFDID: fdid_list}
        )
    bulk = engine.decide_many(numeric, headers=headers)
    codes = bulk.code
    result.decided_by_rule = float(np.count_nonzero(codes >= 0)) / max(n, 1)
    text_bulk = engine.decide_many(traffic.text, headers=headers)
    if not np.array_equal(text_bulk.code, codes):
        raise AssertionError(f"{ruleset.label}: text and numeric columns decided differently")
    timings = _race(functions, repeats)
    result.bulk_numeric = n / timings["numeric"]
    result.bulk_text = n / timings["text"]
    if headers is None:
        np_code, np_action = decider()
        result.numpy = n / timings["numpy"]
        result.numpy_agrees = bool(
            np.array_equal(np_code, codes) and np.array_equal(np_action, bulk.action)
        )
    else:
        result.bulk_headers_list = n / timings["headers list"]
    phase("bulk")

    # single calls: acl decide() and the fast peers on the same strings, interleaved
    sample = traffic.text[: min(SINGLE_SAMPLE // 2 if big else SINGLE_SAMPLE, n)]
    result.single_sample = len(sample)
    fast, calls = _fast_peers(ruleset, peers and headers is None)
    phase("peer builds")
    loops = {"acl": _loop(engine.decide, sample)}
    loops.update({name: _loop(call, sample) for name, call in calls.items()})
    timings = _race(loops, repeats)
    result.single = len(sample) / timings["acl"]
    for peer in fast:
        if peer.name in timings:
            peer.sample = len(sample)
            peer.rate = len(sample) / timings[peer.name]
    result.peers = fast
    del calls, loops
    phase("single calls")

    if headers is not None:
        slow = traffic.text[:SLOW_SAMPLE]
        values = traffic.fdid_list()[:SLOW_SAMPLE]
        decide = engine.decide

        def general() -> None:
            for address, value in zip(slow, values, strict=True):
                decide(address, headers=None if value is None else {XAZUREFDID: value})

        result.single_headers = len(slow) / _race({"general": general}, 2)["general"]
    elif peers:
        result.peers.append(_netaddr_peer(ruleset, traffic.text[:SLOW_SAMPLE]))
        peer, result.reference_agrees = _ipaddress_peer(ruleset, traffic, codes)
        result.peers.append(peer)
    for peer in result.peers:
        if peer.rate:
            peer.vs_decide = result.single / peer.rate
            peer.vs_bulk_text = result.bulk_text / peer.rate
    phase("slow calls")
    return result


def _timed_compile(site: Site, repeats: int) -> tuple[float, Engine]:
    """Best compile time of ``repeats`` (GC on, as in an application), and the engine."""
    best = math.inf
    engine: Engine | None = None
    for _ in range(max(repeats, 1)):
        engine = None  # let the previous engine go before the next compile
        gc.collect()
        start = time.perf_counter()
        engine = compile_site(site)
        best = min(best, time.perf_counter() - start)
    assert engine is not None
    return best, engine


def _traced_compile(site: Site) -> tuple[int, int]:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        engine = compile_site(site)
        current, peak = tracemalloc.get_traced_memory()
        del engine
    finally:
        tracemalloc.stop()
    return peak - before, current - before


# ---------------------------------------------------------------------------- a run


@dataclass(frozen=True)
class Options:
    """What :func:`run` measures (the ``acl bench`` options)."""

    sizes: tuple[int, ...] = SIZES
    families: tuple[str, ...] = FAMILIES
    requests: int = REQUESTS
    headers: bool = True
    real: bool = True
    peers: bool = True
    repeats: int = 5
    seed: int = 0
    trace_limit: int = TRACE_LIMIT

    def plan(self) -> list[tuple[int, str, float]]:
        """``(rules, family, header_share)`` per generated rule set, in order."""
        out: list[tuple[int, str, float]] = []
        for size in self.sizes:
            out.extend((size, family, 0.0) for family in self.families)
            if self.headers and "ipv4" in self.families:
                out.append((size, "ipv4", HEADER_SHARE))
        return out


def run(options: Options, progress: Callable[[str], None] | None = None) -> list[Result]:
    """Measure every rule set of ``options``; ``progress`` gets a line per step."""
    say = progress or (lambda _line: None)
    results: list[Result] = []
    jobs: list[tuple[int, str, float] | None] = list(options.plan())
    if options.real:
        jobs.append(None)  # the AzureCloud.* rule set
    began = time.perf_counter()
    for number, job in enumerate(jobs, start=1):
        step = time.perf_counter()
        if job is None:
            ruleset = azure_cloud(seed=options.seed)
        else:
            rules, family, share = job
            ruleset = generate(rules, family, header_share=share, seed=options.seed)
        traffic = make_traffic(ruleset, options.requests, seed=options.seed)
        made = time.perf_counter() - step
        # The rule set's millions of objects live to the end of the step: keep them out of
        # the cyclic GC's full collections (they cannot be garbage before then anyway).
        gc.freeze()
        try:
            say(f"[{number}/{len(jobs)}] {ruleset.label}: generated in {made:.1f} s, measuring")
            result = measure(
                ruleset,
                traffic,
                repeats=options.repeats,
                peers=options.peers,
                trace_limit=options.trace_limit,
            )
        finally:
            del ruleset, traffic
            gc.unfreeze()
        results.append(result)
        steps = ", ".join(f"{name} {secs:.1f} s" for name, secs in result.phases.items())
        say(
            f"[{number}/{len(jobs)}] {result.label}: {steps}"
            f" ({time.perf_counter() - began:.0f} s elapsed)"
        )
    return results


# ---------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One performance target of the issue, checked against a run."""

    rule_set: str
    what: str
    target: str
    measured: str
    met: bool | None
    """None when the rule set was not part of the run, or the row only reports."""


def _find(results: Sequence[Result], rules: int, family: str, headers: bool) -> Result | None:
    for result in results:
        if (
            result.rules == rules
            and result.family == family
            and bool(result.header_share) == headers
            and not result.label.startswith("AzureCloud")
        ):
            return result
    return None


def _below(limit: float) -> Callable[[float], bool]:
    return lambda value: value < limit


def targets(results: Sequence[Result]) -> list[Target]:
    """The issue's targets, in its order, checked against ``results``.

    A target about a rule set that was not part of the run is listed as "not run"; the
    compile and memory targets are checked on every rule set of that size.
    """
    out: list[Target] = []

    def check(
        result: Result | None,
        label: str,
        what: str,
        target: str,
        value: float | None,
        show: Callable[[float], str],
        met: Callable[[float], bool] | None,
    ) -> None:
        if result is None or value is None or math.isnan(value):
            out.append(Target(label, what, target, "not run", None))
        else:
            out.append(Target(result.label, what, target, show(value), met(value) if met else None))

    v4 = _find(results, 512, "ipv4", False)
    v6 = _find(results, 512, "ipv6", False)
    pytricia = v4.peer("pytricia") if v4 is not None else None
    check(v4, "512 ipv4", "bulk, uint32 array", ">= 100 M/s",
          v4.bulk_numeric if v4 else None, _rate, lambda x: x >= 100e6)  # fmt: skip
    check(v4, "512 ipv4", "bulk uint32 / numpy searchsorted", ">= 5x",
          v4.vs_numpy if v4 else None, _ratio, lambda x: x >= 5)  # fmt: skip
    check(v4, "512 ipv4", "bulk, list of str", ">= 10 M/s",
          v4.bulk_text if v4 else None, _rate, lambda x: x >= 10e6)  # fmt: skip
    check(v6, "512 ipv6", "bulk, list of str", ">= 4 M/s",
          v6.bulk_text if v6 else None, _rate, lambda x: x >= 4e6)  # fmt: skip
    check(v4, "512 ipv4", 'decide("a.b.c.d") / pytricia .get(str)', ">= 2x",
          pytricia.vs_decide if pytricia else None, _ratio, lambda x: x >= 2)  # fmt: skip
    check(v6, "512 ipv6", "bulk, (hi, lo) uint64 arrays", ">= 60 M/s",
          v6.bulk_numeric if v6 else None, _rate, lambda x: x >= 60e6)  # fmt: skip
    v4_10k = _find(results, 10_000, "ipv4", False)
    check(v4_10k, "10,000 ipv4", "bulk, uint32 array", ">= 60 M/s",
          v4_10k.bulk_numeric if v4_10k else None, _rate, lambda x: x >= 60e6)  # fmt: skip
    for size, limit in ((100_000, 2.0), (1_000_000, 20.0)):
        sized: list[Result | None] = [
            r for r in results if r.rules == size and not r.label.startswith("AzureCloud")
        ]
        for r in sized or [None]:
            check(r, f"{size:,} ipv4", "compile", f"< {limit:g} s",
                  r.compile_s if r else None, _secs, _below(limit))  # fmt: skip
            if size == 1_000_000:
                check(r, f"{size:,} ipv4", "compiled engine (engine.nbytes)", "< 200 MB",
                      r.nbytes if r else None, _mb, lambda x: x < 200e6)  # fmt: skip
    # The header target is about the 512-rule set; the other sizes are reported.
    hdr = _find(results, 512, "ipv4", True)
    check(hdr, "512 ipv4 +hdr", "bulk uint32, header (codes, categories)", "> 20 M/s",
          hdr.bulk_numeric if hdr else None, _rate, lambda x: x > 20e6)  # fmt: skip
    check(hdr, "512 ipv4 +hdr", "bulk uint32, header list of str", "(reported)",
          hdr.bulk_headers_list if hdr else None, _rate, None)  # fmt: skip
    for r in results:
        if r.header_share and r is not hdr:
            check(r, r.label, "bulk uint32, header (codes, categories)", "(reported)",
                  r.bulk_numeric, _rate, None)  # fmt: skip
    return out


# ---------------------------------------------------------------------------- report


def _rate(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.3g} M/s" if value < 1e9 else f"{value / 1e6:,.0f} M/s"
    if value >= 1e3:
        return f"{value / 1e3:.3g} k/s"
    return f"{value:.3g} /s"


def _secs(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if value < 1e-3:
        return f"{value * 1e6:.0f} us"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"


def _mb(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value / 1e6:.3g} MB" if value < 1e9 else f"{value / 1e6:,.0f} MB"


def _ratio(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.3g}x" if value < 1000 else f"{value:,.0f}x"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], left: int = 1) -> list[str]:
    """Aligned columns: the first ``left`` left-aligned, the others right-aligned."""
    body = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    lines = []
    for number, row in enumerate(body):
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def machine() -> dict[str, Any]:
    """Where the run happened."""
    return {
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "kernel": KERNEL,
    }


def format_report(results: Sequence[Result], options: Options) -> str:
    """The readable report: acl's figures, the alternatives, the targets."""
    info = machine()
    lines = [
        f"acl bench: {options.requests:,} requests per rule set (half inside rules, half"
        f" uniform), seed {options.seed}, best of {options.repeats}, one thread",
        f"machine: {info['platform']} {info['machine']}, {info['cpus']} CPUs, Python"
        f" {info['python']}, numpy {info['numpy']}, kernel {info['kernel']}",
    ]
    if KERNEL != "cython":
        lines.append("WARNING: the pure-Python kernel is in use: these are not the real figures")
    lines.append("")
    rows = []
    for r in results:
        rows.append(
            [
                r.label,
                f"{r.prefixes:,}",
                f"{r.ranges:,}",
                _secs(r.compile_s),
                _mb(r.trace_peak),
                _mb(r.nbytes),
                _rate(r.single),
                _rate(r.bulk_numeric),
                _rate(r.bulk_text),
                _rate(r.numpy) if r.numpy is not None else _rate(r.bulk_headers_list),
                _ratio(r.vs_numpy),
                f"{r.decided_by_rule:.0%}",
            ]
        )
    lines += _table(
        [
            "rule set",
            "prefixes",
            "ranges",
            "compile",
            "peak",
            "engine",
            "decide()",
            "bulk num",
            "bulk str",
            "numpy|hdr list",
            "num/numpy",
            "by rule",
        ],
        rows,
    )
    lines += [
        "",
        "compile: best of up to 3 (once above 100,000 prefixes); peak: tracemalloc peak while"
        " compiling (up to",
        f"{options.trace_limit:,} prefixes); engine: engine.nbytes. decide(): engine.decide(str)"
        " in a Python loop. bulk num:",
        "decide_many(uint32) for ipv4, decide_many((hi, lo)) otherwise; bulk str:"
        " decide_many(list of str). numpy:",
        "searchsorted over the same partition, then the range's code and action; +hdr rows: the"
        " X-Azure-FDID",
        "column is passed dictionary-encoded (codes, categories) to both bulk columns, and the"
        " numpy|hdr list column",
        "is bulk num with the header as a plain list of str instead. by rule: share of requests"
        " a rule decided.",
    ]
    hdr = [r for r in results if r.single_headers is not None]
    if hdr:
        lines.append(
            "decide(str, headers={...}) (the general path): "
            + ", ".join(f"{r.label} {_rate(r.single_headers)}" for r in hdr)
        )

    peer_rows = []
    for r in results:
        for p in r.peers:
            peer_rows.append(
                [
                    r.label,
                    p.name,
                    p.call,
                    p.answers,
                    _secs(p.build_s) if p.status == "ok" else "-",
                    _rate(p.rate) if p.status == "ok" else p.status.partition(":")[0],
                    f"{p.sample:,}" if p.status == "ok" else "-",
                    _ratio(p.vs_decide),
                    _ratio(p.vs_bulk_text),
                    p.note or p.status.partition(": ")[2],
                ]
            )
    if peer_rows:
        lines += ["", "the alternatives, single calls on the same strings (ratios: acl / peer)"]
        lines += _table(
            [
                "rule set",
                "peer",
                "call",
                "answers",
                "build",
                "calls/s",
                "sample",
                "decide()/peer",
                "bulk str/peer",
                "note",
            ],
            peer_rows,
            left=4,
        )
        lines += [
            "pytricia and py-radix answer the longest matching prefix, SubnetTree and netaddr"
            " membership; acl",
            "answers the full first-match decision (priorities, actions, default), as does the"
            " ipaddress loop.",
        ]
    checks = []
    for what, flags in (
        ("numpy", [(r.label, r.numpy_agrees) for r in results]),
        ("the ipaddress loop", [(r.label, r.reference_agrees) for r in results]),
    ):
        checked = [(label, flag) for label, flag in flags if flag is not None]
        wrong = [label for label, flag in checked if not flag]
        if wrong:
            checks.append(f"{what} DISAGREES on {', '.join(wrong)}")
        elif checked:
            checks.append(f"{what} agrees on all {len(checked)} rule sets it ran on")
    if checks:
        lines += ["", "cross-checks with acl's decisions: " + "; ".join(checks)]

    target_rows = [
        [
            t.rule_set,
            t.what,
            t.target,
            t.measured,
            "-" if t.met is None else ("yes" if t.met else "NO"),
        ]
        for t in targets(results)
    ]
    lines += ["", "targets (one core)"]
    lines += _table(["rule set", "figure", "target", "measured", "met?"], target_rows, left=3)
    return "\n".join(lines)


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def report_json(results: Sequence[Result], options: Options) -> str:
    """The run as JSON: machine, options, results (with the peers) and targets."""
    data = {
        "format": "acl-bench/1",  # the schema id (acl/schemas/acl-bench-1.json)
        "machine": machine(),
        "options": asdict(options),
        "results": [{**asdict(r), "vs_numpy": r.vs_numpy} for r in results],
        "targets": [asdict(t) for t in targets(results)],
    }
    return json.dumps(_no_nan(data), indent=2)


# ---------------------------------------------------------------------------- command line


def parse_sizes(text: str) -> tuple[int, ...]:
    """``--rules``: comma-separated rule counts, e.g. ``8,512,10_000``."""
    try:
        sizes = tuple(int(part.strip().replace("_", "")) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of rule counts"
        ) from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: rule counts must be >= 1")
    return sizes


def parse_families(text: str) -> tuple[str, ...]:
    """``--family``: ``ipv4``, ``ipv6``, ``mixed``, or several, comma-separated."""
    families = tuple(part.strip().lower() for part in text.split(","))
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected one or more of {', '.join(FAMILIES)}, comma-separated"
        )
    return families


def parse_count(text: str) -> int:
    """A positive integer option (``--requests``, ``--repeats``); ``1_000_000`` is fine."""
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def options_from_args(args: argparse.Namespace) -> Options:
    """The :class:`Options` of an ``acl bench`` command line."""
    return Options(
        sizes=args.rules if args.rules is not None else (QUICK_SIZES if args.quick else SIZES),
        families=args.family or FAMILIES,
        requests=args.requests or (QUICK_REQUESTS if args.quick else REQUESTS),
        headers=args.headers,
        real=args.real,
        peers=args.peers,
        repeats=args.repeats if args.repeats is not None else (3 if args.quick else 5),
        seed=args.seed,
        trace_limit=args.trace_limit,
    )


def command(args: argparse.Namespace) -> int:
    """``acl bench``: run and print the report (progress goes to stderr)."""
    options = options_from_args(args)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results = run(options, progress)
    if args.format == "json":
        print(report_json(results, options))
    else:
        print(format_report(results, options))
    return 0


def parser() -> Parser:
    """The options of ``acl bench`` (and ``python benchmarks/bench.py``)."""
    be = Parser(
        prog="acl bench",
        description="Generated rule sets (and the AzureCloud.* service tags) against a batch of"
        " requests: single-call and bulk decisions/s, compile time and memory, with the"
        " alternatives timed side by side. Progress goes to stderr.",
    )
    be.add_argument(
        "--rules",
        type=parse_sizes,
        metavar="N,N,...",
        help="rule set sizes (default 8,512,10000,100000,1000000; --quick: 8,512)",
    )
    be.add_argument(
        "--requests",
        type=parse_count,
        metavar="N",
        help=f"requests per rule set (default {REQUESTS:,}; --quick: {QUICK_REQUESTS:,})",
    )
    be.add_argument(
        "--family",
        type=parse_families,
        metavar="ipv4|ipv6|mixed",
        help="address families of the generated rule sets, comma-separated (default: all three)",
    )
    be.add_argument(
        "--headers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run IPv4 rule sets with an X-Azure-FDID filter on a fifth of the rules",
    )
    be.add_argument(
        "--real",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the real rule set: one rule per regional AzureCloud.* service tag",
    )
    be.add_argument(
        "--peers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time pytricia, py-radix, SubnetTree, netaddr and ipaddress (missing ones are reported)",
    )
    be.add_argument(
        "--quick", action="store_true", help="a small run, well under a minute: 8 and 512 rules"
    )
    be.add_argument(
        "--repeats", type=parse_count, metavar="N", help="best of N (default 5; --quick: 3)"
    )
    be.add_argument("--seed", type=int, default=0, help="the random generators' seed (default 0)")
    be.add_argument(
        "--trace-limit",
        type=int,
        default=TRACE_LIMIT,
        metavar="N",
        help="measure the tracemalloc peak of compiling up to N prefixes (slow; 0: never)",
    )
    be.add_argument("--format", choices=["table", "json"], default="table", help="the output")
    return be


def main(argv: Sequence[str] | None = None) -> int:
    """``acl bench ARGS``: parse ``argv`` (default: ``sys.argv[1:]``), run, print the report.
    A bad option raises :class:`acl.UsageError`."""
    return command(parser().parse_args(argv))


if __name__ == "__main__":
    from acl.cli import main as acl_main

    sys.exit(acl_main(["bench", *sys.argv[1:]]))

"""Benchmarks: generated and real rule sets, a million requests, and the alternatives side by side.

``acl bench`` runs :func:`run` and prints :func:`format_report`. Every figure is the best of a
few repeats timed with :func:`time.perf_counter`, in one thread; what matters on a shared
machine are the **ratios**, measured in the same run with the repeats interleaved.

Rule sets (:func:`generate`): 8 to 1,000,000 rules built straight from model objects, IPv4,
IPv6 or mixed, with random priorities (ties included), mixed actions and a Deny default; the
header variant puts an ``X-Azure-FDID`` filter on a fifth of the rules. The real one
(:func:`azure_cloud`) has one rule per regional ``AzureCloud.*`` service tag of the bundled
snapshot. Traffic (:func:`make_traffic`): half the requests fall inside a random rule's
prefix, half are uniform (IPv4: all of it; IPv6: ``2000::/3``), shuffled.

The alternatives answer a simpler question than ``acl``: pytricia and py-radix give the
longest matching prefix, SubnetTree and netaddr membership; only the ``ipaddress`` loop
(and numpy over acl's own partition) gives the first-match decision ``acl`` gives. Peers are
imported lazily; a missing one is reported as "not installed".

>>> ruleset = generate(8, "ipv4", seed=1)
>>> len(ruleset.site.main_rules), ruleset.family
(8, 'ipv4')
>>> traffic = make_traffic(ruleset, 1000, seed=1)
>>> len(traffic), traffic.numeric.dtype.name
(1000, 'uint32')
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
import socket
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from .addresses import Prefix
from .engine import KERNEL, Engine
from .engine import compile as compile_site
from .headers import XAZUREFDID
from .model import Action, HeaderFilter, Rule, Site, Source
from .servicetags import ServiceTags

__all__ = [
    "FAMILIES",
    "FDID_POOL",
    "HEADER_SHARE",
    "QUICK_REQUESTS",
    "QUICK_SIZES",
    "REQUESTS",
    "SIZES",
    "Options",
    "PeerResult",
    "Result",
    "RuleSet",
    "Target",
    "Traffic",
    "azure_cloud",
    "command",
    "format_report",
    "generate",
    "machine",
    "make_traffic",
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

SIZES = (8, 512, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (8, 512)
FAMILIES = ("ipv4", "ipv6", "mixed")
REQUESTS = 1_000_000
QUICK_REQUESTS = 100_000
HEADER_SHARE = 0.2
FDID_POOL = 8
"""Distinct X-Azure-FDID values the header filters use."""

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

_V4_LENGTHS = np.array([16, 20, 24, 26, 28, 29, 30, 32])
_V4_WEIGHTS = np.array([0.5, 2, 25, 8, 12, 7, 5.5, 40]) / 100
_V6_LENGTHS = np.array([32, 40, 48, 56, 64, 96, 112, 128])
_V6_WEIGHTS = np.array([0.5, 2, 15, 15, 30, 5, 5, 27.5]) / 100
_ALLOW_SHARE = 0.7
_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_MAPPED = np.uint64(0xFFFF << 32)
_OCTETS = [str(i) for i in range(256)]

U8: TypeAlias = npt.NDArray[np.uint8]
U32: TypeAlias = npt.NDArray[np.uint32]
U64: TypeAlias = npt.NDArray[np.uint64]
I32: TypeAlias = npt.NDArray[np.int32]
I64: TypeAlias = npt.NDArray[np.int64]


# ---------------------------------------------------------------------------- rule sets


@dataclass(frozen=True, eq=False)
class RuleSet:
    """A site to measure, and what the traffic generator needs to know about it.

    The prefix columns list every prefix of the main rules in evaluation order:
    ``version`` (4 or 6), the network as ``hi``/``lo`` 64-bit halves (IPv4 in ``lo``),
    ``length``, ``rule`` (the compiled rule index, which follows evaluation order) and
    ``texts`` (CIDR text, for the peers).
    """

    label: str
    family: str
    site: Site
    header_share: float
    fdids: tuple[str, ...]
    version: U8
    hi: U64
    lo: U64
    length: U8
    rule: I32
    texts: list[str]

    @property
    def rules(self) -> int:
        return len(self.site.main_rules)

    @property
    def prefixes(self) -> int:
        return len(self.texts)


def _host_masks(version: U8, length: npt.NDArray[Any]) -> tuple[U64, U64]:
    """Per prefix, the host bits as (hi, lo) 64-bit masks."""
    host = np.where(version == 4, 32, 128).astype(np.int64) - length.astype(np.int64)
    lo_bits = np.minimum(host, 64)
    hi_bits = np.maximum(host - 64, 0)

    def mask(bits: I64) -> U64:
        shift = np.minimum(bits, 63).astype(np.uint64)
        partial = (np.uint64(1) << shift) - np.uint64(1)
        out: U64 = np.where(bits >= 64, _ONES, partial).astype(np.uint64)
        return out

    return mask(hi_bits), mask(lo_bits)


def _v4_text(value: int) -> str:
    o = _OCTETS
    return f"{o[value >> 24]}.{o[(value >> 16) & 255]}.{o[(value >> 8) & 255]}.{o[value & 255]}"


def _v6_text(hi: int, lo: int) -> str:
    # inet_ntop writes the RFC 5952 form, as str(IPv6Address) does for 2000::/3 (no
    # IPv4-compatible or -mapped forms there), four times faster.
    return socket.inet_ntop(socket.AF_INET6, ((hi << 64) | lo).to_bytes(16, "big"))


def _fdids(rng: np.random.Generator, count: int) -> tuple[str, ...]:
    return tuple(str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(count))


@contextmanager
def _no_gc() -> Iterator[None]:
    """Building millions of small objects: the cyclic GC would only rescan them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _family_label(rules: int, family: str, header_share: float) -> str:
    label = f"{rules:,} {family}"
    return f"{label} +hdr" if header_share else label


def generate(
    rules: int, family: str = "ipv4", *, header_share: float = 0.0, seed: int = 0
) -> RuleSet:
    """A generated rule set of ``rules`` CIDR rules, built from model objects.

    Args:
        rules: how many rules.
        family: ``"ipv4"``, ``"ipv6"`` or ``"mixed"`` (each rule's family drawn 50/50).
        header_share: the share of rules that also carry an ``X-Azure-FDID`` filter
            (one of :data:`FDID_POOL` values).
        seed: the random generator's seed; the same seed gives the same rule set.

    Prefix lengths follow what access restriction lists hold (mostly single addresses and
    /24 to /30 ranges; IPv6 mostly /48 to /64 and single addresses); IPv6 networks lie in
    ``2000::/3``. Priorities are drawn from ``rules / 2`` values (so they tie), 70% of the
    rules allow, and the unmatched-rule action is Deny.
    """
    if family not in FAMILIES:
        raise ValueError(f"family {family!r} is unknown: expected one of {', '.join(FAMILIES)}")
    if rules < 0 or not 0.0 <= header_share <= 1.0:
        raise ValueError("rules must be >= 0 and header_share between 0 and 1")
    rng = np.random.default_rng([seed, rules, FAMILIES.index(family)])
    if family == "ipv4":
        version = np.full(rules, 4, dtype=np.uint8)
    elif family == "ipv6":
        version = np.full(rules, 6, dtype=np.uint8)
    else:
        version = np.where(rng.random(rules) < 0.5, 4, 6).astype(np.uint8)
    is4 = version == 4
    length = np.where(
        is4,
        rng.choice(_V4_LENGTHS, size=rules, p=_V4_WEIGHTS),
        rng.choice(_V6_LENGTHS, size=rules, p=_V6_WEIGHTS),
    ).astype(np.uint8)
    raw_hi = rng.integers(0, _ONES, size=rules, dtype=np.uint64, endpoint=True)
    raw_lo = rng.integers(0, _ONES, size=rules, dtype=np.uint64, endpoint=True)
    hi = np.where(is4, np.uint64(0), (raw_hi >> np.uint64(3)) | np.uint64(1 << 61))
    lo = np.where(is4, raw_lo >> np.uint64(32), raw_lo)
    host_hi, host_lo = _host_masks(version, length)
    hi = (hi & ~host_hi).astype(np.uint64)
    lo = (lo & ~host_lo).astype(np.uint64)
    priority = rng.integers(100, 100 + max(rules // 2, 2), size=rules)
    allow = rng.random(rules) < _ALLOW_SHARE
    fdids = _fdids(rng, FDID_POOL) if header_share else ()
    with_header = np.zeros(rules, dtype=bool)
    with_header[rng.permutation(rules)[: round(rules * header_share)]] = True
    which_fdid = rng.integers(0, max(len(fdids), 1), size=rules)
    filters = tuple((HeaderFilter(XAZUREFDID, (value,)),) for value in fdids)

    built: list[Rule] = []
    with _no_gc():
        for i, (v, h, low, n, p, a, f, w) in enumerate(
            zip(
                version.tolist(),
                hi.tolist(),
                lo.tolist(),
                length.tolist(),
                priority.tolist(),
                allow.tolist(),
                with_header.tolist(),
                which_fdid.tolist(),
                strict=True,
            )
        ):
            if v == 4:
                text = f"{_v4_text(low)}/{n}"
                prefix = Prefix(4, low, n)
            else:
                text = f"{_v6_text(h, low)}/{n}"
                prefix = Prefix(6, (h << 64) | low, n)
            built.append(
                Rule(
                    position=i,
                    priority=p,
                    action=Action.ALLOW if a else Action.DENY,
                    sources=(Source("cidr", text, (prefix,)),),
                    name=f"r{i}",
                    ip_address=text,
                    headers=filters[w] if f else (),
                )
            )
        site = Site(
            main_rules=tuple(built),
            main_default=Action.DENY,
            name=f"generated-{rules}-{family}",
            source="<generated>",
        )
        return _with_prefixes(
            _family_label(rules, family, header_share), family, site, header_share, fdids
        )


def azure_cloud(tags: ServiceTags | None = None, *, seed: int = 0) -> RuleSet:
    """One service tag rule per regional ``AzureCloud.*`` tag of the snapshot.

    Priorities and actions are drawn as for :func:`generate`; the default is Deny.
    """
    tags = tags if tags is not None else ServiceTags.bundled()
    names = [tag.name for tag in tags if tag.name.lower().startswith("azurecloud.")]
    rng = np.random.default_rng([seed, len(names), 99])
    priority = rng.integers(100, 100 + max(len(names) // 2, 2), size=len(names)).tolist()
    allow = (rng.random(len(names)) < _ALLOW_SHARE).tolist()
    rules = tuple(
        Rule(
            position=i,
            priority=priority[i],
            action=Action.ALLOW if allow[i] else Action.DENY,
            sources=(Source("service_tag", name, tags.prefixes(name)),),
            name=name.split(".", 1)[1],
            ip_address=name,
            tag="ServiceTag",
        )
        for i, name in enumerate(names)
    )
    site = Site(
        main_rules=rules,
        main_default=Action.DENY,
        name="azurecloud-regions",
        source=tags.label,
        service_tags_change=tags.change_number,
    )
    return _with_prefixes(f"AzureCloud.* ({len(names)} tags)", "mixed", site, 0.0, ())


def _with_prefixes(
    label: str, family: str, site: Site, header_share: float, fdids: tuple[str, ...]
) -> RuleSet:
    versions: list[int] = []
    his: list[int] = []
    los: list[int] = []
    lengths: list[int] = []
    owners: list[int] = []
    texts: list[str] = []
    with _no_gc():
        for index, rule in enumerate(site.rules("main")):
            for source in rule.sources:
                single = source.kind == "cidr" and len(source.prefixes) == 1
                for prefix in source.prefixes:
                    versions.append(prefix.version)
                    his.append(prefix.network >> 64)
                    los.append(prefix.network & 0xFFFFFFFFFFFFFFFF)
                    lengths.append(prefix.length)
                    owners.append(index)
                    texts.append(source.text if single and not prefix.host_bits else str(prefix))
    return RuleSet(
        label=label,
        family=family,
        site=site,
        header_share=header_share,
        fdids=fdids,
        version=np.array(versions, dtype=np.uint8),
        hi=np.array(his, dtype=np.uint64),
        lo=np.array(los, dtype=np.uint64),
        length=np.array(lengths, dtype=np.uint8),
        rule=np.array(owners, dtype=np.int32),
        texts=texts,
    )


# ---------------------------------------------------------------------------- traffic


@dataclass(frozen=True, eq=False)
class Traffic:
    """A batch of requests in every shape the engine takes.

    ``numeric`` is a ``uint32`` array for IPv4 rule sets, else a ``(hi, lo)`` pair of
    ``uint64`` arrays (IPv4 rows IPv4-mapped); ``text`` the same addresses as strings.
    ``fdid`` is the ``X-Azure-FDID`` column, dictionary-encoded (``(codes, categories)``,
    code -1: absent), for rule sets with header filters.
    """

    numeric: U32 | tuple[U64, U64]
    text: list[str]
    fdid: tuple[I64, list[str]] | None = None

    def __len__(self) -> int:
        return len(self.text)

    def fdid_list(self) -> list[str | None]:
        """The header column as a plain list of str (None when absent)."""
        if self.fdid is None:
            return [None] * len(self)
        codes, categories = self.fdid
        values: list[str | None] = [*categories, None]
        return [values[c] for c in codes.tolist()]


def make_traffic(ruleset: RuleSet, requests: int, *, seed: int = 0) -> Traffic:
    """``requests`` requests: half inside a random prefix of the rule set, half uniform.

    Uniform means the whole IPv4 space, and ``2000::/3`` for IPv6; a mixed rule set gets a
    mixed uniform half. The rows are shuffled.
    """
    rng = np.random.default_rng([seed, requests, ruleset.prefixes, 7])
    inside = requests // 2 if ruleset.prefixes else 0
    uniform = requests - inside
    pick = rng.integers(0, max(ruleset.prefixes, 1), size=inside)
    version = ruleset.version[pick]
    host_hi, host_lo = _host_masks(version, ruleset.length[pick])
    rand_hi = rng.integers(0, _ONES, size=inside, dtype=np.uint64, endpoint=True)
    rand_lo = rng.integers(0, _ONES, size=inside, dtype=np.uint64, endpoint=True)
    in_hi = ruleset.hi[pick] | (rand_hi & host_hi)
    in_lo = ruleset.lo[pick] | (rand_lo & host_lo)

    if ruleset.family == "ipv4":
        u_version = np.full(uniform, 4, dtype=np.uint8)
    elif ruleset.family == "ipv6":
        u_version = np.full(uniform, 6, dtype=np.uint8)
    else:
        u_version = np.where(rng.random(uniform) < 0.5, 4, 6).astype(np.uint8)
    raw_hi = rng.integers(0, _ONES, size=uniform, dtype=np.uint64, endpoint=True)
    raw_lo = rng.integers(0, _ONES, size=uniform, dtype=np.uint64, endpoint=True)
    u_hi = np.where(u_version == 4, np.uint64(0), (raw_hi >> np.uint64(3)) | np.uint64(1 << 61))
    u_lo = np.where(u_version == 4, raw_lo >> np.uint64(32), raw_lo)

    order = rng.permutation(requests)
    version = np.concatenate([version, u_version])[order]
    hi = np.concatenate([in_hi, u_hi]).astype(np.uint64)[order]
    lo = np.concatenate([in_lo, u_lo]).astype(np.uint64)[order]
    with _no_gc():
        text = [
            _v4_text(b) if v == 4 else _v6_text(a, b)
            for v, a, b in zip(version.tolist(), hi.tolist(), lo.tolist(), strict=True)
        ]
    numeric: U32 | tuple[U64, U64]
    if ruleset.family == "ipv4":
        numeric = lo.astype(np.uint32)
    else:
        numeric = (hi, np.where(version == 4, lo | _MAPPED, lo).astype(np.uint64))
    fdid = None
    if ruleset.fdids:
        categories = [*ruleset.fdids, *_fdids(rng, 2)]  # two values no rule names
        codes = rng.integers(-1, len(categories), size=requests).astype(np.int64)
        fdid = (codes, categories)
    return Traffic(numeric, text, fdid)


# ---------------------------------------------------------------------------- timing


def _race(functions: Mapping[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best time of each function, the repeats interleaved (round robin), GC off.

    No ``gc.collect()`` first: with a million rules and a peer's million nodes alive, one
    takes seconds, and with the GC off nothing is collected during the timings anyway.
    """
    best = dict.fromkeys(functions, math.inf)
    with _no_gc():
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

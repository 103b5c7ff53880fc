"""The benchmarks' workloads: generated and real rule sets, and the traffic to decide.

Rule sets (:func:`generate`): 8 to 1,000,000 rules built straight from model objects, IPv4,
IPv6 or mixed, with random priorities (ties included), mixed actions and a Deny default; the
header variant puts an ``X-Azure-FDID`` filter on a fifth of the rules. The real one
(:func:`azure_cloud`) has one rule per regional ``AzureCloud.*`` service tag of the bundled
snapshot. Traffic (:func:`make_traffic`): half the requests fall inside a random rule's
prefix, half are uniform (IPv4: all of it; IPv6: ``2000::/3``), shuffled.

``acl bench`` (:mod:`bench`) and the pytest-benchmark suite (``conftest.py``) both use them.

>>> ruleset = generate(8, "ipv4", seed=1)
>>> len(ruleset.site.main_rules), ruleset.family
(8, 'ipv4')
>>> traffic = make_traffic(ruleset, 1000, seed=1)
>>> len(traffic), traffic.numeric.dtype.name
(1000, 'uint32')
"""

from __future__ import annotations

import gc
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from acl.addresses import Prefix
from acl.headers import XAZUREFDID
from acl.model import Action, HeaderFilter, Rule, Site, Source
from acl.servicetags import ServiceTags

__all__ = [
    "FAMILIES",
    "FDID_POOL",
    "HEADER_SHARE",
    "I32",
    "I64",
    "QUICK_REQUESTS",
    "QUICK_SIZES",
    "REQUESTS",
    "SIZES",
    "U8",
    "U32",
    "U64",
    "RuleSet",
    "Traffic",
    "azure_cloud",
    "generate",
    "make_traffic",
    "no_gc",
]

SIZES = (8, 512, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (8, 512)
FAMILIES = ("ipv4", "ipv6", "mixed")
REQUESTS = 1_000_000
QUICK_REQUESTS = 100_000
HEADER_SHARE = 0.2
FDID_POOL = 8
"""Distinct X-Azure-FDID values the header filters use."""

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
def no_gc() -> Iterator[None]:
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
    with no_gc():
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
    with no_gc():
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
    with no_gc():
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

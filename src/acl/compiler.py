"""Site to :class:`Tables`: all priority and overlap logic lives here.

The first-match semantics compile into a disjoint partition of each address family's space,
per collection. Each elementary range carries the short, priority-ordered list of rules
that can still decide there, cut after the first rule without conditions (a rule whose
source alone decides). Identical lists are shared. Everything a kernel needs is a flat,
fixed-width numpy array; rule kinds become condition bits, and header filters and subnets
become small integer ids:

* a rule's **conditions**: ``COND_HEADERS`` (it has header filters), ``COND_ENDPOINT``
  (``AnyVnets``: the request came through a service endpoint), ``COND_SUBNET`` (the
  request's subnet id equals the rule's);
* the address partition decides requests that did not come through a service endpoint (and,
  in an App Service Environment, every request): it holds IP and service-tag rules by their
  prefixes and ``Any`` rules everywhere. ``AnyVnets`` and subnet rules never match such a
  request, so they are not in it;
* the **endpoint list** of a collection decides requests that came through a service
  endpoint on a multi-tenant site: IP and service-tag rules never match them, whatever
  address they carry, so the list holds only the address-independent rules (``Any``,
  ``AnyVnets``, subnet rules; only ``Any`` with IP-based SSL). ``endpoint_lists[c]`` is its
  candidate list id, or -1 in an App Service Environment (the request is matched as
  address traffic). A site with a private endpoint refuses such requests outright
  (``endpoint_blocked``);
* every distinct header filter gets an id; at decision time each request header value is
  mapped, once per distinct value, to the sorted ids of the filters it satisfies
  (:class:`HeaderIndex`), and the kernel only checks membership.

Codes written by kernels in the ``rule`` column: a compiled rule index (>= 0), or one of
:data:`DEFAULT`, :data:`PRIVATE_ENDPOINT`, :data:`PUBLIC_ACCESS_DISABLED`, :data:`INVALID`,
:data:`SERVICE_ENDPOINT_BLOCKED`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .addresses import parse_address, split_host_port
from .errors import AddressError, ConfigError, Origin
from .headers import (
    HEADER_NAMES,
    XAZUREFDID,
    XFDHEALTHPROBE,
    XFORWARDEDFOR,
    XFORWARDEDHOST,
    forwarded_hosts,
    single_value,
)
from .model import Action, Collection, HeaderFilter, Outcome, Rule, Site, normalize_subnet
from .partition import all_plain, partition, plain_partition_v4
from .reference import SERVICE_ENDPOINT_BLOCKED_DETAIL

__all__ = [
    "COND_ENDPOINT",
    "COND_HEADERS",
    "COND_SUBNET",
    "DEFAULT",
    "INVALID",
    "PRIVATE_ENDPOINT",
    "PUBLIC_ACCESS_DISABLED",
    "SERVICE_ENDPOINT_BLOCKED",
    "FamilyTable",
    "HeaderIndex",
    "Tables",
    "build_tables",
    "plain_codes",
    "root_bits",
    "tables_from_arrays",
]

COND_HEADERS = 1
COND_ENDPOINT = 2
COND_SUBNET = 4

DEFAULT = -1
PRIVATE_ENDPOINT = -2
PUBLIC_ACCESS_DISABLED = -3
INVALID = -4
SERVICE_ENDPOINT_BLOCKED = -5
LOWEST_CODE = SERVICE_ENDPOINT_BLOCKED
"""The most negative reason code: code ``c`` maps to index ``c - LOWEST_CODE`` in tables
that cover every code."""
REASON_CODES = {
    DEFAULT: "default",
    PRIVATE_ENDPOINT: "private-endpoint",
    PUBLIC_ACCESS_DISABLED: "public-access-disabled",
    INVALID: "invalid",
    SERVICE_ENDPOINT_BLOCKED: "service-endpoint-blocked",
}

ROOT_BITS = 8
"""The narrowest root table: 2**8 entries."""
MAX_ROOT_BITS = 24
"""The widest root table (2**24 entries, 64 MiB): a root widens with the table, one bit per
doubling of the ranges, so that each root entry leads to about one range."""
COLLECTIONS: tuple[Collection, Collection] = ("main", "scm")
U64 = (1 << 64) - 1

I32 = npt.NDArray[np.int32]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class FamilyTable:
    """The partition of one family's address space for one collection.

    ``starts_hi``/``starts_lo`` are the first addresses of the elementary ranges, sorted
    (IPv4: ``starts_lo`` holds the address, ``starts_hi`` is all zeros; IPv6: the high and
    low 64 bits). ``ranges[i]`` is the candidate list id of range ``i``. ``root`` has
    ``2**b + 1`` entries (:attr:`root_bits` ``b``, from 8 to 24: two root entries per range, up to 2**24):
    ``root[c]`` is the index of the range holding the first address whose top ``b`` bits
    are ``c``; the range of an address lies between ``root[c]`` and ``root[c + 1]``.
    """

    bits: int
    starts_hi: npt.NDArray[np.uint64]
    starts_lo: npt.NDArray[np.uint64]
    ranges: I32
    root: npt.NDArray[np.uint32]

    @property
    def root_bits(self) -> int:
        """How many top address bits index the root table."""
        return (len(self.root) - 1).bit_length() - 1

    @property
    def starts_v4(self) -> npt.NDArray[np.uint32]:
        return self.starts_lo.astype(np.uint32)

    def nbytes(self) -> int:
        return int(
            self.starts_hi.nbytes + self.starts_lo.nbytes + self.ranges.nbytes + self.root.nbytes
        )


@dataclass(frozen=True, eq=False)
class Tables:
    """The compiled form of a site: flat arrays only (plus the outcome objects).

    ``tables[c][f]`` is the :class:`FamilyTable` of collection ``c`` (0 main, 1 scm) and
    family ``f`` (0 IPv4, 1 IPv6); with ``scmIpSecurityRestrictionsUseMain`` scm shares
    main's. Candidate list ``l`` is ``list_rules[list_offsets[l]:list_offsets[l + 1]]``.
    Compiled rule ``r`` has ``rule_action[r]`` (1 allow), ``rule_cond[r]``,
    ``rule_subnet[r]`` and filters ``rule_filters[rule_filter_offsets[r]:...[r + 1]]``;
    filter ``f`` is on header ``filter_header[f]`` (an index into ``HEADER_NAMES``).
    """

    v4_main: FamilyTable
    v6_main: FamilyTable
    v4_scm: FamilyTable
    v6_scm: FamilyTable
    list_offsets: I32
    list_rules: I32
    rule_action: U8
    rule_cond: U8
    rule_subnet: I32
    rule_position: I32
    rule_collection: U8
    rule_filter_offsets: I32
    rule_filters: I32
    filter_header: U8
    defaults: U8
    """The unmatched-rule action per requested collection (index 0 main, 1 scm)."""
    public_disabled: bool
    endpoint_lists: I32
    """Per requested collection, the candidate list id for requests through a service
    endpoint, or -1: match them by address (an App Service Environment)."""
    endpoint_blocked: bool
    """Requests through a service endpoint are denied (the site has a private endpoint)."""
    rules: tuple[Rule, ...]
    """Compiled rule index to :class:`Rule`."""
    headers: HeaderIndex
    subnet_ids: dict[str, int]
    outcomes: tuple[list[Outcome | None], list[Outcome | None]]
    """Per requested collection, a cache filled by :meth:`outcome`: one :class:`Outcome` per
    compiled rule, then the outcomes of the reason codes -1 to -5 (index ``R - 1 - code``;
    -4, invalid, has none). Built on first use: a million-rule site needs few of them."""
    site: Site

    def family(self, collection: int, version: int) -> FamilyTable:
        if collection == 0:
            return self.v4_main if version == 4 else self.v6_main
        return self.v4_scm if version == 4 else self.v6_scm

    def outcome(self, collection: int, code: int) -> Outcome:
        """The :class:`Outcome` for a kernel code (rule index or negative reason)."""
        index = code if code >= 0 else len(self.rules) - 1 - code
        cached = self.outcomes[collection][index]
        if cached is None:
            cached = self._make_outcome(COLLECTIONS[collection], code)
            self.outcomes[collection][index] = cached
        return cached

    def _make_outcome(self, collection: Collection, code: int) -> Outcome:
        if code >= 0:
            rule = self.rules[code]
            return Outcome(rule.action, collection, "rule", rule, f"rule {rule.label} matched")
        if code == DEFAULT:
            action, why = self.site.default_explained(collection)
            return Outcome(action, collection, "default", None, why)
        if code == PRIVATE_ENDPOINT:
            detail = "arrived through a private endpoint; no rule is evaluated"
            return Outcome(Action.ALLOW, collection, "private-endpoint", None, detail)
        if code == PUBLIC_ACCESS_DISABLED:
            return Outcome(
                Action.DENY,
                collection,
                "public-access-disabled",
                None,
                self.site.public_access_explained(),
            )
        if code == SERVICE_ENDPOINT_BLOCKED:
            return Outcome(
                Action.DENY,
                collection,
                "service-endpoint-blocked",
                None,
                SERVICE_ENDPOINT_BLOCKED_DETAIL,
            )
        raise ValueError(f"code {code} has no outcome")

    def action_of(self, collection: int, code: int) -> int:
        if code >= 0:
            return int(self.rule_action[code])
        if code == DEFAULT:
            return int(self.defaults[collection])
        return 1 if code == PRIVATE_ENDPOINT else 0

    def arrays(self) -> list[npt.NDArray[Any]]:
        """Every array of the tables (those scm shares with main once)."""
        out: list[npt.NDArray[Any]] = []
        tables = {id(t): t for t in (self.v4_main, self.v6_main, self.v4_scm, self.v6_scm)}
        for table in tables.values():
            out.extend((table.starts_hi, table.starts_lo, table.ranges, table.root))
        out.extend((
            self.list_offsets, self.list_rules, self.endpoint_lists, self.rule_action,
            self.rule_cond,
            self.rule_subnet, self.rule_position, self.rule_collection,
            self.rule_filter_offsets, self.rule_filters, self.filter_header,
        ))  # fmt: skip
        return out

    def nbytes(self) -> int:
        """The size of the arrays, counting tables that scm shares with main once."""
        return sum(int(array.nbytes) for array in self.arrays())


# ---------------------------------------------------------------------------- header filters


@dataclass
class _Partition:
    """Sorted range starts with a payload per range, for point lookups (XFF filters)."""

    starts: list[int] = field(default_factory=list)
    payloads: list[tuple[int, ...]] = field(default_factory=list)

    def get(self, value: int) -> tuple[int, ...]:
        index = bisect.bisect_right(self.starts, value) - 1
        return self.payloads[index] if index >= 0 else ()


def _sets_partition(items: Iterable[tuple[int, int, int]]) -> _Partition:
    """A partition where each range carries the sorted set of payloads covering it."""
    events: dict[int, list[tuple[int, int]]] = {}
    for first, last, payload in items:
        events.setdefault(first, []).append((payload, 1))
        events.setdefault(last + 1, []).append((payload, -1))
    counts: dict[int, int] = {}
    part = _Partition()
    for point in sorted(events):
        for payload, delta in events[point]:
            counts[payload] = counts.get(payload, 0) + delta
            if counts[payload] == 0:
                del counts[payload]
        payload_set = tuple(sorted(counts))
        if part.payloads and part.payloads[-1] == payload_set:
            continue
        part.starts.append(point)
        part.payloads.append(payload_set)
    return part


@dataclass
class HeaderIndex:
    """Maps request header values to the ids of the header filters they satisfy."""

    filters: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    exact: dict[str, dict[str, tuple[int, ...]]] = field(default_factory=dict)
    hosts: dict[str, tuple[int, ...]] = field(default_factory=dict)
    wildcards: dict[str, tuple[int, ...]] = field(default_factory=dict)
    xff: dict[int, _Partition] = field(default_factory=dict)
    by_header: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, filters: Sequence[HeaderFilter]) -> HeaderIndex:
        index = cls(filters=[(f.name, _filter_key(f)) for f in filters])
        exact: dict[str, dict[str, set[int]]] = {XAZUREFDID: {}, XFDHEALTHPROBE: {}}
        hosts: dict[str, set[int]] = {}
        wildcards: dict[str, set[int]] = {}
        xff: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
        for fid, flt in enumerate(filters):
            index.by_header.setdefault(flt.name, []).append(fid)
            if flt.name == XFORWARDEDFOR:
                for prefix in flt.prefixes:
                    xff[prefix.version].append((prefix.first, prefix.last, fid))
            elif flt.name == XFORWARDEDHOST:
                for host in flt.hosts:
                    if host.startswith("*."):
                        wildcards.setdefault(host[2:], set()).add(fid)
                    else:
                        hosts.setdefault(host, set()).add(fid)
            else:
                for value in flt.values:
                    exact[flt.name].setdefault(value, set()).add(fid)
        index.exact = {h: {v: tuple(sorted(s)) for v, s in m.items()} for h, m in exact.items()}
        index.hosts = {k: tuple(sorted(v)) for k, v in hosts.items()}
        index.wildcards = {k: tuple(sorted(v)) for k, v in wildcards.items()}
        index.xff = {version: _sets_partition(items) for version, items in xff.items()}
        return index

    def satisfied(self, name: str, copies: Sequence[str]) -> tuple[int, ...]:
        """The sorted ids of the filters on header ``name`` that these copies satisfy."""
        if not copies or name not in self.by_header:
            return ()
        if name == XFORWARDEDFOR:
            found: set[int] = set()
            for element in (e.strip() for c in copies for e in c.split(",")):
                if not element:
                    continue
                try:
                    version, value = parse_address(split_host_port(element))
                except AddressError:
                    continue
                found.update(self.xff[version].get(value))
            return tuple(sorted(found))
        if name == XFORWARDEDHOST:
            found = set()
            for host in forwarded_hosts(list(copies)):
                found.update(self.hosts.get(host, ()))
                label, dot, rest = host.partition(".")
                if label and dot:
                    found.update(self.wildcards.get(rest, ()))
            return tuple(sorted(found))
        single = single_value(list(copies))
        if single is None:
            return ()
        return self.exact[name].get(single, ())


def _filter_key(flt: HeaderFilter) -> tuple[Any, ...]:
    if flt.name == XFORWARDEDFOR:
        return tuple(sorted({(p.version, p.first, p.length) for p in flt.prefixes}))
    if flt.name == XFORWARDEDHOST:
        return tuple(sorted(set(flt.hosts)))
    return tuple(sorted(set(flt.values)))


def _family_table(starts: list[int], ids: list[int], bits: int) -> FamilyTable:
    n = len(starts)
    if bits == 32:
        lo = np.array(starts, dtype=np.uint64)
        hi = np.zeros(n, dtype=np.uint64)
    else:
        hi = np.array([s >> 64 for s in starts], dtype=np.uint64)
        lo = np.array([s & U64 for s in starts], dtype=np.uint64)
    return FamilyTable(bits, hi, lo, np.array(ids, dtype=np.int32), _root(hi, lo, bits))


def root_bits(ranges: int, bits: int = 32) -> int:
    """The root table width for a table of ``ranges`` ranges (see :data:`MAX_ROOT_BITS`).
    IPv6 gets three bits more: every public address lies in ``2000::/3``, an eighth of the
    space, so only an eighth of its root entries see traffic."""
    extra = 3 if bits == 128 else 0
    return min(MAX_ROOT_BITS, max(ROOT_BITS, (max(ranges, 1) - 1).bit_length() + 1 + extra))


def _root(
    hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64], bits: int
) -> npt.NDArray[np.uint32]:
    """The root table of sorted range starts (see :class:`FamilyTable`)."""
    n = len(lo)
    width = root_bits(n, bits)
    if bits == 32:
        keys = np.arange(1 << width, dtype=np.uint64) << np.uint64(32 - width)
        root = np.searchsorted(lo, keys, side="right").astype(np.int64) - 1
    else:
        # A chunk's first address has low 64 bits of zero; a start equal to it counts.
        keys = np.arange(1 << width, dtype=np.uint64) << np.uint64(64 - width)
        below = np.searchsorted(hi, keys, side="left")
        equal_zero = np.searchsorted(hi, keys, side="right")
        root = below.astype(np.int64) - 1
        for c in np.nonzero(equal_zero > below)[0]:
            if lo[below[c]] == 0:
                root[c] = below[c]
    return np.append(root, n - 1).astype(np.uint32)


@dataclass
class _RuleSide:
    """The per-rule arrays and Python objects: cheap to build, so not saved."""

    rules: list[Rule]
    index_of: dict[int, int]
    arrays: dict[str, npt.NDArray[Any]]
    filters: list[HeaderFilter]
    subnet_ids: dict[str, int]


def _rule_side(site: Site) -> _RuleSide:
    rules: list[Rule] = []
    index_of: dict[int, int] = {}
    for c in COLLECTIONS:
        for rule in site.rules(c):
            if id(rule) not in index_of:
                index_of[id(rule)] = len(rules)
                rules.append(rule)

    filters: list[HeaderFilter] = []
    filter_ids: dict[tuple[str, tuple[Any, ...]], int] = {}
    subnet_ids: dict[str, int] = {}
    rule_filter_offsets = [0]
    rule_filters: list[int] = []
    rule_cond: list[int] = []
    rule_subnet: list[int] = []
    for rule in rules:
        cond = 0
        subnet = 0
        for source in rule.sources:
            if source.kind == "any_vnets":
                cond |= COND_ENDPOINT
            elif source.kind == "subnet" and source.subnet is not None:
                cond |= COND_SUBNET
                subnet = subnet_ids.setdefault(source.subnet, len(subnet_ids) + 1)
        for flt in rule.headers:
            key = (flt.name, _filter_key(flt))
            if key not in filter_ids:
                filter_ids[key] = len(filters)
                filters.append(flt)
            rule_filters.append(filter_ids[key])
        if rule.headers:
            cond |= COND_HEADERS
        rule_filter_offsets.append(len(rule_filters))
        rule_cond.append(cond)
        rule_subnet.append(subnet)

    arrays: dict[str, npt.NDArray[Any]] = {
        "rule_action": np.array([r.action is Action.ALLOW for r in rules], dtype=np.uint8),
        "rule_cond": np.array(rule_cond, dtype=np.uint8),
        "rule_subnet": np.array(rule_subnet, dtype=np.int32),
        "rule_position": np.array([r.position for r in rules], dtype=np.int32),
        "rule_collection": np.array([r.collection == "scm" for r in rules], dtype=np.uint8),
        "rule_filter_offsets": np.array(rule_filter_offsets, dtype=np.int32),
        "rule_filters": np.array(rule_filters, dtype=np.int32),
        "filter_header": np.array([HEADER_NAMES.index(f.name) for f in filters], dtype=np.uint8),
        "defaults": np.array(
            [site.default_action(c) is Action.ALLOW for c in COLLECTIONS], dtype=np.uint8
        ),
    }
    return _RuleSide(rules, index_of, arrays, filters, subnet_ids)


def _assemble(
    site: Site,
    side: _RuleSide,
    families: dict[str, FamilyTable],
    list_offsets: I32,
    list_rules: I32,
    endpoint_lists: I32,
) -> Tables:
    a = side.arrays
    for array in (*a.values(), list_offsets, list_rules, endpoint_lists):
        array.flags.writeable = False
    for table in families.values():
        for array in (table.starts_hi, table.starts_lo, table.ranges, table.root):
            array.flags.writeable = False
    return Tables(
        v4_main=families["v4_main"],
        v6_main=families["v6_main"],
        v4_scm=families["v4_scm"],
        v6_scm=families["v6_scm"],
        list_offsets=list_offsets,
        list_rules=list_rules,
        rule_action=a["rule_action"],
        rule_cond=a["rule_cond"],
        rule_subnet=a["rule_subnet"],
        rule_position=a["rule_position"],
        rule_collection=a["rule_collection"],
        rule_filter_offsets=a["rule_filter_offsets"],
        rule_filters=a["rule_filters"],
        filter_header=a["filter_header"],
        defaults=a["defaults"],
        public_disabled=site.public_access_disabled,
        endpoint_lists=endpoint_lists,
        endpoint_blocked=site.has_private_endpoint,
        rules=tuple(side.rules),
        headers=HeaderIndex.build(side.filters),
        subnet_ids=side.subnet_ids,
        outcomes=(
            [None] * (len(side.rules) - LOWEST_CODE),
            [None] * (len(side.rules) - LOWEST_CODE),
        ),
        site=site,
    )


def build_tables(site: Site) -> Tables:
    """Compile a site: one sweep over all prefix boundaries per collection and family."""
    side = _rule_side(site)
    cond = side.arrays["rule_cond"]
    lists: dict[tuple[int, ...], int] = {}
    built: dict[str, tuple[FamilyTable, FamilyTable]] = {}
    unconditional = (cond == 0).tolist()
    vnet_rules = site.service_endpoint_rules_ignored() is None
    endpoint_list = {c: -1 for c in COLLECTIONS}
    for c in COLLECTIONS:
        effective = site.effective_collection(c)
        if effective in built:
            built[c] = built[effective]
            endpoint_list[c] = endpoint_list[effective]
            continue
        blocks: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
        everywhere: list[int] = []
        via_endpoint: list[int] = []
        for rule in site.rules(c):
            rule_id = side.index_of[id(rule)]
            for source in rule.sources:
                if source.kind == "any":
                    everywhere.append(rule_id)
                    via_endpoint.append(rule_id)
                elif source.kind in ("any_vnets", "subnet") and vnet_rules:
                    via_endpoint.append(rule_id)
                for prefix in source.prefixes:
                    blocks[prefix.version].append((prefix.network, prefix.length, rule_id))
        sweep = plain_partition_v4 if all_plain(blocks[4], everywhere, cond) else partition
        v4 = _family_table(*sweep(blocks[4], everywhere, unconditional, 32, lists), 32)
        v6 = _family_table(*partition(blocks[6], everywhere, unconditional, 128, lists), 128)
        built[c] = (v4, v6)
        if site.hosting != "ase":
            # AnyVnets always holds for endpoint traffic: only header filters and subnets
            # are conditions there.
            members: list[int] = []
            for k in sorted(set(via_endpoint)):
                members.append(k)
                if not cond[k] & (COND_HEADERS | COND_SUBNET):
                    break
            endpoint_list[c] = lists.setdefault(tuple(members), len(lists))

    list_offsets = [0]
    list_rules: list[int] = []
    for key in lists:  # dicts keep insertion order: list id order
        list_rules.extend(key)
        list_offsets.append(len(list_rules))
    families = {
        "v4_main": built["main"][0],
        "v6_main": built["main"][1],
        "v4_scm": built["scm"][0],
        "v6_scm": built["scm"][1],
    }
    return _assemble(
        site,
        side,
        families,
        np.array(list_offsets, dtype=np.int32),
        np.array(list_rules, dtype=np.int32),
        np.array([endpoint_list[c] for c in COLLECTIONS], dtype=np.int32),
    )


def tables_from_arrays(
    site: Site,
    families: dict[str, FamilyTable],
    arrays: dict[str, npt.NDArray[Any]],
    *,
    source: str | None = None,
) -> Tables:
    """Tables from saved partition arrays and the site they were compiled from.

    Every array a kernel reads is checked first (dtype, shape, bounds, order), so no array
    can make a kernel read outside its tables: ``ranges`` and ``list_rules`` index lists
    and rules that exist, ``list_offsets`` rise from 0 to the end of ``list_rules``, range
    starts begin at 0 and rise strictly, ``root`` is the root table of those starts, and a
    collection's ranges lead only to its own rules. The per-rule arrays must equal the ones
    compiled from ``site``.

    Raises:
        ConfigError: an array is malformed or does not belong to this site (naming
            ``source`` and the array).
    """
    side = _rule_side(site)
    origin = Origin(file=source)

    def bad(name: str, what: str) -> ConfigError:
        return ConfigError(f"saved engine array {name!r} {what}", origin)

    for name, value in side.arrays.items():
        given = arrays.get(name)
        if given is None:
            raise bad(name, "is missing")
        if given.dtype != value.dtype or given.shape != value.shape:
            expected = f"expected {value.dtype} and {value.shape} for its site"
            raise bad(name, f"has dtype {given.dtype} and shape {given.shape}, {expected}")
        if not np.array_equal(given, value):
            raise bad(name, "does not match its site")
    offsets = _checked(arrays, "list_offsets", np.int32, bad)
    members = _checked(arrays, "list_rules", np.int32, bad)
    if len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(members):
        raise bad("list_offsets", f"must run from 0 to {len(members)}, the length of 'list_rules'")
    if np.any(offsets[1:] < offsets[:-1]):
        raise bad("list_offsets", "is not in rising order")
    n_rules = len(side.rules)
    if members.size and (members.min() < 0 or members.max() >= n_rules):
        raise bad("list_rules", f"holds a rule index outside 0..{n_rules - 1}")
    n_lists = len(offsets) - 1
    # A list is in evaluation order (rule indices rise) and ends at its first rule
    # without conditions.
    owner = np.repeat(np.arange(n_lists), np.diff(offsets))
    same_list = owner[1:] == owner[:-1]
    if np.any(same_list & (members[1:] <= members[:-1])):
        raise bad("list_rules", "holds a candidate list out of evaluation order")
    if np.any(same_list & (side.arrays["rule_cond"][members[:-1]] == 0)):
        raise bad(
            "list_rules", "holds a candidate list that goes on past a rule without conditions"
        )
    # Per list, whether it holds a main rule and an scm rule (a rule is in one collection).
    in_scm = side.arrays["rule_collection"][members].astype(bool)
    holds = (
        np.bincount(owner[~in_scm], minlength=n_lists) > 0,
        np.bincount(owner[in_scm], minlength=n_lists) > 0,
    )
    checked: set[int] = set()
    for name, table in families.items():
        if id(table) in checked:
            continue  # scm shares main's tables
        checked.add(id(table))
        bits = 32 if name.startswith("v4") else 128
        fields = {f: getattr(table, f) for f in ("starts_hi", "starts_lo", "ranges", "root")}
        hi = _checked(fields, "starts_hi", np.uint64, bad, name)
        lo = _checked(fields, "starts_lo", np.uint64, bad, name)
        ranges = _checked(fields, "ranges", np.int32, bad, name)
        root = _checked(fields, "root", np.uint32, bad, name)
        n = len(lo)
        if table.bits != bits or n < 1:
            raise bad(f"{name}.starts_lo", "must hold at least one range start")
        for part, array in (("starts_hi", hi), ("ranges", ranges)):
            if array.shape != (n,):
                raise bad(
                    f"{name}.{part}", f"has {len(array)} values for the {n} of '{name}.starts_lo'"
                )
        both = f"and '{name}.starts_lo'"
        if hi[0] != 0 or lo[0] != 0:
            raise bad(f"{name}.starts_hi", f"{both} must start at address 0")
        if bits == 32:
            if np.any(hi != 0):
                raise bad(f"{name}.starts_hi", "must be all zero in an IPv4 table")
            if np.any(lo > np.uint64(0xFFFFFFFF)):
                raise bad(f"{name}.starts_lo", "holds a value that is not an IPv4 address")
            rising = lo[1:] > lo[:-1]
        else:
            rising = (hi[1:] > hi[:-1]) | ((hi[1:] == hi[:-1]) & (lo[1:] > lo[:-1]))
        if not rising.all():
            raise bad(f"{name}.starts_hi", f"{both} are not in strictly rising order")
        if ranges.min() < 0 or ranges.max() >= n_lists:
            raise bad(f"{name}.ranges", f"holds a list id outside 0..{n_lists - 1}")
        if root.shape != ((1 << root_bits(n, bits)) + 1,) or not np.array_equal(
            root, _root(hi, lo, bits)
        ):
            raise bad(f"{name}.root", f"is not the root table of '{name}.starts_hi' {both}")
        collection = 1 if name.endswith("scm") and not site.scm_use_main else 0
        if holds[1 - collection][ranges].any():
            raise bad(f"{name}.ranges", "leads to rules of another collection in 'list_rules'")
    endpoint = _checked(arrays, "endpoint_lists", np.int32, bad)
    if endpoint.shape != (len(COLLECTIONS),):
        raise bad("endpoint_lists", f"must hold one list id per collection, not {len(endpoint)}")
    for c, list_id in enumerate(endpoint.tolist()):
        if list_id == -1:
            if site.hosting != "ase":
                raise bad("endpoint_lists", "has no list for a site that is not on an ASE")
            continue
        if site.hosting == "ase" or not 0 <= list_id < n_lists:
            raise bad("endpoint_lists", f"holds a list id outside 0..{n_lists - 1}")
        collection = 1 if c == 1 and not site.scm_use_main else 0
        if holds[1 - collection][list_id]:
            raise bad("endpoint_lists", "leads to rules of another collection in 'list_rules'")
    return _assemble(site, side, families, offsets, members, endpoint)


def _checked(
    arrays: dict[str, Any], field: str, dtype: Any, bad: Any, prefix: str = ""
) -> npt.NDArray[Any]:
    """``arrays[field]``, a 1-d numpy array of exactly ``dtype``, or ``bad(...)`` raised."""
    name = f"{prefix}.{field}" if prefix else field
    value = arrays.get(field)
    if not isinstance(value, np.ndarray):
        raise bad(name, "is missing")
    if value.dtype != np.dtype(dtype) or value.ndim != 1:
        expected = f"expected a 1-d {np.dtype(dtype)} array"
        raise bad(name, f"has dtype {value.dtype} and shape {value.shape}, {expected}")
    return value


def plain_codes(list_offsets: I32, list_rules: I32, rule_cond: U8) -> I32:
    """Per candidate list, its first rule without conditions, or :data:`DEFAULT`: the code of
    every request no condition can hold for (no headers, endpoint or subnet)."""
    n_lists = len(list_offsets) - 1
    plain = np.full(max(n_lists, 1), DEFAULT, dtype=np.int32)
    if len(list_rules):
        owner = np.repeat(np.arange(n_lists), np.diff(list_offsets))
        at = np.nonzero(np.asarray(rule_cond)[list_rules] == 0)[0]
        lists, first = np.unique(owner[at], return_index=True)
        plain[lists] = np.asarray(list_rules)[at[first]]
    return plain


def subnet_id(tables: Tables, subnet: str | None) -> int:
    """The interned id of a request's subnet (0: none, or one no rule names)."""
    if subnet is None:
        return 0
    return tables.subnet_ids.get(normalize_subnet(subnet), 0)

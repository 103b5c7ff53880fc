"""The request space of one or more sites, reasoned about exactly, without traffic.

Every request a collection can see is a point of

    address (per family; IPv4-mapped requests are IPv4) x endpoint state x header state

and a rule's conditions only look at a few coordinates of it:

* **addresses** are cut into elementary ranges: every prefix boundary of every rule is a
  range boundary, so all addresses of a range are covered by the same rules (its *full
  list*, in evaluation order). The IPv4-mapped block ``::ffff:0:0/96`` is its own range and
  is skipped: no request has such an address (it is read as IPv4).
* the **endpoint state** is one of: no service endpoint (``0``); a service endpoint whose
  subnet no rule names (``-1``); a service endpoint from subnet ``s`` (``s > 0``, one per
  subnet some rule names).
* the **header state** is the set of header filters the request satisfies. For
  ``X-Azure-FDID`` and ``X-FD-HealthProbe`` a request holds one value, so the satisfied set
  is the set of one configured value (or nothing). ``X-Forwarded-For`` and
  ``X-Forwarded-Host`` hold lists, so the satisfied set is any union of **atoms**: the sets
  satisfied by one element (one elementary range of the partition of every configured XFF
  prefix; one configured host, or one name under a configured ``*.`` suffix).

Each atom carries a concrete request element that realises it, checked against
:class:`acl.compiler.HeaderIndex` (the request path the engine uses), so every state built
here turns into a real :class:`~acl.Request`.

A rule's condition is a conjunction (:class:`Cond`): its filter ids and its endpoint need,
which depends on the site as well as the rule. On a multi-tenant site an IP or service-tag
rule never matches service-endpoint traffic (it needs endpoint state ``0``); in an App
Service Environment the endpoint state is ignored by every rule that can match; subnet and
``AnyVnets`` rules never match on a site with a private endpoint, in an App Service
Environment or with IP-based SSL; a site with a private endpoint (and public access
enabled) denies every service-endpoint state before any rule (:data:`BLOCKED`).
For a fixed endpoint state, "an earlier rule matches" grows with the satisfied set, and
``-1`` is matched by fewer rules than any ``s``; so whether a rule can decide anywhere only
needs its **minimal states** (:meth:`Space.minimal_states`): the minimal header states at
endpoint ``0`` and at ``-1`` (or at the one subnet the rule needs). Comparing two decision lists needs every state that tells
their filters apart (:meth:`Space.projected_states`): the satisfied sets projected onto the
filters that occur in the lists, which is small, and bounded by ``limit``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..addresses import MAPPED_V4, format_address
from ..compiler import HeaderIndex
from ..errors import AclError
from ..headers import HEADER_NAMES, XAZUREFDID, XFDHEALTHPROBE, XFORWARDEDFOR, XFORWARDEDHOST
from ..model import (
    Action,
    Collection,
    HeaderFilter,
    Request,
    Rule,
    Site,
    normalize_subnet,
)

__all__ = [
    "BLOCKED",
    "DEFAULT",
    "DISABLED",
    "EP_DIRECT",
    "EP_NEVER",
    "EP_NONE",
    "EP_SERVICE",
    "NICE_ADDRESSES",
    "STATE_LIMIT",
    "AnalysisError",
    "Atom",
    "CollectionModel",
    "Cond",
    "EndpointCondition",
    "HeaderCondition",
    "Condition",
    "Space",
    "State",
    "format_cidr",
    "merge_ranges",
    "pick_address",
    "range_to_cidrs",
]

EP_NONE = 0
"""Endpoint state: the request did not come through a service endpoint. As a requirement:
the rule does not look at endpoints."""
EP_SERVICE = -1
"""Endpoint state: a service endpoint whose subnet no rule names. As a requirement: the
rule is ``AnyVnets``."""
EP_DIRECT = -2
"""A requirement only: not through a service endpoint (an IP or service-tag rule on a
multi-tenant site)."""
EP_NEVER = -3
"""A requirement only: never met (a subnet or ``AnyVnets`` rule where service-endpoint
rules cannot be used)."""

DEFAULT = -1
"""Decision code: the unmatched-rule action decided."""
DISABLED = -3
"""Decision code: public access is disabled, no rule is evaluated."""
BLOCKED = -5
"""Decision code: service-endpoint traffic to a site with a private endpoint is denied, no
rule is evaluated."""

STATE_LIMIT = 1 << 16
"""The most header/endpoint states compared for one pair of decision lists. Beyond it the
analysis says it is incomplete rather than sample."""

EXACT_HEADERS = (XAZUREFDID, XFDHEALTHPROBE)
UNION_HEADERS = (XFORWARDEDFOR, XFORWARDEDHOST)
MAPPED_LAST = MAPPED_V4 + (1 << 32) - 1
BITS = {4: 32, 6: 128}


class AnalysisError(AclError, ValueError):
    """An analysis that cannot run as asked: an unknown rule, an impossible option, or a
    state space beyond the bound."""


# ---------------------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class Cond:
    """A rule's condition beyond its source: all ``filters`` satisfied, and ``endpoint``
    (``0`` none, ``-1`` AnyVnets, ``s > 0`` that subnet, :data:`EP_DIRECT` not through a
    service endpoint, :data:`EP_NEVER` never)."""

    filters: frozenset[int]
    endpoint: int

    @property
    def unconditional(self) -> bool:
        return not self.filters and self.endpoint == EP_NONE


def endpoint_ok(required: int, state: int) -> bool:
    """Whether an endpoint state meets a rule's endpoint requirement."""
    if required == EP_DIRECT:
        return state == EP_NONE
    if required == EP_NEVER:
        return False
    return required in (EP_NONE, state) or (required == EP_SERVICE and state != EP_NONE)


@dataclass(frozen=True, slots=True)
class State:
    """A class of requests that every rule in view treats alike.

    ``filters`` are the satisfied filter ids, ``endpoint`` the endpoint state, ``headers``
    the request header elements that realise them (header name, elements). For a state
    projected onto some filters, ``relevant`` and ``endpoints`` say which filters and which
    endpoint requirements it was projected onto.
    """

    endpoint: int
    filters: frozenset[int]
    headers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    relevant: frozenset[int] | None = None
    endpoints: frozenset[int] | None = None

    @property
    def complexity(self) -> int:
        """How much a request needs to look like this: headers plus an endpoint."""
        return len(self.headers) + (self.endpoint != EP_NONE)


def matches(cond: Cond, state: State) -> bool:
    return cond.filters <= state.filters and endpoint_ok(cond.endpoint, state.endpoint)


@dataclass(frozen=True, slots=True)
class Atom:
    """A set of filter ids that one request header element satisfies, and that element."""

    filters: frozenset[int]
    element: str


# ---------------------------------------------------------------------------- described conditions


@dataclass(frozen=True, slots=True)
class HeaderCondition:
    """What a request's header must do: satisfy every filter of ``matches`` and none of
    ``does_not_match`` (each filter shown as its configured values)."""

    header: str
    matches: tuple[HeaderFilter, ...]
    does_not_match: tuple[HeaderFilter, ...]

    def holds(self, request: Request) -> bool:
        from ..reference import header_matches

        return all(header_matches(f, request) for f in self.matches) and not any(
            header_matches(f, request) for f in self.does_not_match
        )

    def __str__(self) -> str:
        def show(flt: HeaderFilter) -> str:
            return "[" + ", ".join(flt.values) + "]"

        parts: list[str] = []
        if self.matches:
            parts.append("matches " + " and ".join(show(f) for f in self.matches))
        if self.does_not_match:
            word = "not " if self.matches else "matches none of "
            parts.append(word + ", ".join(show(f) for f in self.does_not_match))
        return f"{self.header} " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "matches": [list(f.values) for f in self.matches],
            "does_not_match": [list(f.values) for f in self.does_not_match],
        }


EndpointKind = Literal["any", "none", "service", "subnet", "not-subnets"]


@dataclass(frozen=True, slots=True)
class EndpointCondition:
    """What a request's endpoint must be.

    ``any``; ``none`` (no service endpoint); ``service`` (a service endpoint, from none of
    ``excluded``); ``subnet`` (from ``subnet``); ``not-subnets`` (no service endpoint, or
    one from none of ``excluded``).
    """

    kind: EndpointKind = "any"
    subnet: str | None = None
    excluded: tuple[str, ...] = ()

    def holds(self, request: Request) -> bool:
        subnet = normalize_subnet(request.subnet) if request.subnet is not None else None
        if self.kind == "any":
            return True
        if self.kind == "none":
            return not request.service_endpoint
        if self.kind == "subnet":
            return subnet == self.subnet
        if self.kind == "service":
            return request.service_endpoint and subnet not in self.excluded
        return subnet not in self.excluded

    def __str__(self) -> str:
        if self.kind == "any":
            return "any endpoint"
        if self.kind == "none":
            return "no service endpoint"
        if self.kind == "subnet":
            return f"service endpoint from subnet {self.subnet}"
        others = f" (from none of {', '.join(self.excluded)})" if self.excluded else ""
        if self.kind == "service":
            return "service endpoint" + others
        return f"not through subnet {', '.join(self.excluded)}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.subnet is not None:
            out["subnet"] = self.subnet
        if self.excluded:
            out["excluded"] = list(self.excluded)
        return out


@dataclass(frozen=True, slots=True)
class Condition:
    """A header and endpoint condition: the part of a request besides its address and
    collection that a difference or finding depends on."""

    endpoint: EndpointCondition = field(default_factory=EndpointCondition)
    headers: tuple[HeaderCondition, ...] = ()

    def holds(self, request: Request) -> bool:
        """Whether a request meets this condition (private endpoints aside)."""
        return self.endpoint.holds(request) and all(h.holds(request) for h in self.headers)

    def __str__(self) -> str:
        parts = [str(h) for h in self.headers]
        if self.endpoint.kind != "any":
            parts.append(str(self.endpoint))
        return "; ".join(parts) if parts else "any headers, any endpoint"

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint.to_dict(),
            "headers": [h.to_dict() for h in self.headers],
        }


# ---------------------------------------------------------------------------- address ranges


def range_to_cidrs(first: int, last: int, bits: int) -> list[tuple[int, int]]:
    """The fewest CIDR blocks ``(network, length)`` that cover ``first..last`` exactly.

    >>> range_to_cidrs(0, 255, 32)
    [(0, 24)]
    >>> range_to_cidrs(1, 6, 32)
    [(1, 32), (2, 31), (4, 31), (6, 32)]
    """
    out: list[tuple[int, int]] = []
    while first <= last:
        size = (first & -first).bit_length() - 1 if first else bits
        while first + (1 << size) - 1 > last:
            size -= 1
        out.append((first, bits - size))
        first += 1 << size
    return out


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint ranges, adjacent and overlapping ones joined.

    >>> merge_ranges([(5, 9), (0, 4), (20, 30), (25, 26)])
    [(0, 9), (20, 30)]
    """
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def format_cidr(version: int, network: int, length: int) -> str:
    return f"{format_address(version, network)}/{length}"


NICE_ADDRESSES = {
    4: [0xCB007107, 0xC6336407, 0xC0000207],  # 203.0.113.7, 198.51.100.7, 192.0.2.7
    6: [0x20010DB8000000000000000000000007],  # 2001:db8::7
}


def pick_address(version: int, first: int, last: int) -> int:
    """A readable address of a range: a documentation address when the range holds one,
    else the first host of its largest CIDR block."""
    for nice in NICE_ADDRESSES[version]:
        if first <= nice <= last:
            return nice
    network, length = min(range_to_cidrs(first, last, BITS[version]), key=lambda b: b[1])
    return network + 1 if BITS[version] - length > 1 else network


# ---------------------------------------------------------------------------- one collection


def _cut(members: Iterable[int], conds: Sequence[Cond]) -> tuple[int, ...]:
    """The members up to the first point where every endpoint state is decided: a rule
    without filters that holds at endpoint ``0`` (no requirement, or
    :data:`EP_DIRECT`) decides the requests not through a service endpoint, one that
    holds at every other state (no requirement, or ``AnyVnets``) the rest. A prefix of
    ``members``."""
    out: list[int] = []
    direct = service = False
    for k in members:
        out.append(k)
        cond = conds[k]
        if not cond.filters:
            direct = direct or cond.endpoint in (EP_NONE, EP_DIRECT)
            service = service or cond.endpoint in (EP_NONE, EP_SERVICE)
        if direct and service:
            break
    return tuple(out)


@dataclass(frozen=True, eq=False)
class CollectionModel:
    """One requested collection of a site: its rules in evaluation order, their conditions,
    the unmatched-rule action, and per family the elementary ranges with their full lists.

    ``parts[v]`` is ``(starts, list_ids)``: range ``i`` is ``starts[i]`` to
    ``starts[i + 1] - 1``; list id ``-1`` marks the IPv4-mapped block (no request has such
    an address). ``lists[l]`` is the full list (every rule covering the range, in order),
    ``cut1[l]`` the rules that can decide there (cut where every endpoint state is
    decided). ``disabled``: public access is disabled; ``blocked``: service-endpoint
    traffic is denied before any rule (a private endpoint).
    """

    site: Site
    collection: Collection
    rules: tuple[Rule, ...]
    conds: tuple[Cond, ...]
    default: Action
    disabled: bool
    blocked: bool
    parts: dict[int, tuple[list[int], list[int]]]
    lists: list[tuple[int, ...]]
    cut1: list[tuple[int, ...]]

    @property
    def effective(self) -> Collection:
        return self.site.effective_collection(self.collection)

    def segments(self, version: int) -> Iterator[tuple[int, int, int]]:
        """``(first, last, list_id)`` of every reachable range of a family, in order."""
        starts, ids = self.parts[version]
        top = (1 << BITS[version]) - 1
        for i, (start, list_id) in enumerate(zip(starts, ids, strict=True)):
            if list_id < 0:
                continue
            end = starts[i + 1] - 1 if i + 1 < len(starts) else top
            yield start, end, list_id

    def decide(self, members: Sequence[int], state: State) -> int:
        """The decision code for a state in a range: the first matching rule, else
        :data:`DEFAULT` (or :data:`DISABLED`)."""
        if self.disabled:
            return DISABLED
        if self.blocked and state.endpoint != EP_NONE:
            return BLOCKED
        conds = self.conds
        for k in members:
            if matches(conds[k], state):
                return k
        return DEFAULT

    def decider(self, members: tuple[int, ...]) -> Callable[[State], int]:
        """:meth:`decide` for one list, indexed by filter for long lists: a state is then
        checked only against the rules that need none of its missing filters."""
        if self.disabled or self.blocked or len(members) <= 16:
            return lambda state: self.decide(members, state)
        conds = self.conds
        free: list[int] = []
        by_filter: dict[int, list[int]] = {}
        for position, k in enumerate(members):
            filters = conds[k].filters
            if not filters:
                free.append(position)
            for f in filters:
                by_filter.setdefault(f, []).append(position)

        def decide(state: State) -> int:
            candidates = set(free)
            for f in state.filters:
                candidates.update(by_filter.get(f, ()))
            for position in sorted(candidates):
                k = members[position]
                if matches(conds[k], state):
                    return k
            return DEFAULT

        return decide

    def action(self, code: int) -> Action:
        if code >= 0:
            return self.rules[code].action
        if code == DEFAULT:
            return self.default
        return Action.DENY

    def reason(self, code: int) -> str:
        if code >= 0:
            return "rule"
        if code == BLOCKED:
            return "service-endpoint-blocked"
        return "default" if code == DEFAULT else "public-access-disabled"

    def rule_index(self, rule: Rule) -> int:
        for k, candidate in enumerate(self.rules):
            if candidate is rule:
                return k
        raise AnalysisError(f"rule {rule.label} is not in the {self.effective} collection")

    def host(self) -> str:
        return "app.scm.azurewebsites.net" if self.collection == "scm" else "app.azurewebsites.net"


def _partition(
    rules: Sequence[Rule], version: int, lists: dict[tuple[int, ...], int]
) -> tuple[list[int], list[int]]:
    """Elementary ranges of one family and the full list id of each."""
    bits = BITS[version]
    everywhere: set[int] = set()
    events: dict[int, list[tuple[int, int]]] = {}
    for k, rule in enumerate(rules):
        for source in rule.sources:
            if source.kind in ("any", "any_vnets", "subnet"):
                everywhere.add(k)
                continue
            for prefix in source.prefixes:
                if prefix.version == version:
                    events.setdefault(prefix.first, []).append((k, 1))
                    events.setdefault(prefix.last + 1, []).append((k, -1))
    points = set(events)
    points.add(0)
    if version == 6:
        points.update((MAPPED_V4, MAPPED_LAST + 1))
    points.discard(1 << bits)
    active: dict[int, int] = {}
    starts: list[int] = []
    ids: list[int] = []
    for point in sorted(points):
        for k, delta in events.get(point, ()):
            count = active.get(k, 0) + delta
            if count:
                active[k] = count
            else:
                del active[k]
        if version == 6 and MAPPED_V4 <= point <= MAPPED_LAST:
            list_id = -1
        else:
            key = tuple(sorted(everywhere.union(active)))
            list_id = lists.setdefault(key, len(lists))
        if ids and ids[-1] == list_id:
            continue
        starts.append(point)
        ids.append(list_id)
    return starts, ids


# ---------------------------------------------------------------------------- the space


def _filter_key(flt: HeaderFilter) -> tuple[Any, ...]:
    if flt.name == XFORWARDEDFOR:
        return tuple(sorted({(p.version, p.first, p.length) for p in flt.prefixes}))
    if flt.name == XFORWARDEDHOST:
        return tuple(sorted(set(flt.hosts)))
    return tuple(sorted(set(flt.values)))


def _minimal(
    candidates: dict[frozenset[int], tuple[str, ...]],
) -> list[tuple[frozenset[int], tuple[str, ...]]]:
    """The candidates that contain no other candidate, smallest first."""
    ordered = sorted(candidates.items(), key=lambda kv: (len(kv[0]), sorted(kv[0])))
    kept: list[tuple[frozenset[int], tuple[str, ...]]] = []
    for filters, elements in ordered:
        if not any(small <= filters for small, _ in kept):
            kept.append((filters, elements))
    return kept


HeaderOption = tuple[frozenset[int], tuple[str, ...]]


class Space:
    """The joint request space of one or more sites: shared filter and subnet ids, header
    atoms, and a :class:`CollectionModel` per site and collection.

    Args:
        sites: the sites to reason about together (a diff passes both).
    """

    def __init__(self, sites: Sequence[Site]) -> None:
        self.sites = tuple(sites)
        self.filters: list[HeaderFilter] = []
        self.filter_header: list[str] = []
        self._filter_ids: dict[tuple[str, tuple[Any, ...]], int] = {}
        self.subnets: list[str] = []
        self._subnet_ids: dict[str, int] = {}
        self._subnet_texts: dict[str, str] = {}
        self._conds: dict[tuple[int, bool, bool], Cond] = {}
        for site in self.sites:
            for rule in site.all_rules():
                self.cond(rule, site)
        self.index = HeaderIndex.build(self.filters)
        self.atoms: dict[str, list[Atom]] = {name: [] for name in HEADER_NAMES}
        self.containing: dict[int, list[Atom]] = {f: [] for f in range(len(self.filters))}
        self._build_atoms()
        self._together: dict[int, frozenset[int]] = {
            f: frozenset().union(*(a.filters for a in atoms)) if atoms else frozenset()
            for f, atoms in self.containing.items()
        }
        self._models: dict[tuple[int, Collection], CollectionModel] = {}
        self._state_cache: dict[tuple[frozenset[int], frozenset[int]], list[State] | None] = {}
        self._minimal_cache: dict[tuple[Any, ...], list[State]] = {}

    # -- ids

    def cond(self, rule: Rule, site: Site) -> Cond:
        """The condition of a rule on a site, with this space's filter and subnet ids."""
        ase = site.hosting == "ase"
        vnet_rules = site.service_endpoint_rules_ignored() is None
        cache_key = (id(rule), ase, vnet_rules)
        cached = self._conds.get(cache_key)
        if cached is not None:
            return cached
        kinds = {source.kind for source in rule.sources}
        endpoint = EP_NONE
        if "subnet" in kinds or "any_vnets" in kinds:
            if len(kinds) > 1:
                raise AnalysisError(
                    f"rule {rule.label} mixes source kinds {sorted(kinds)}: the analysis "
                    "supports rules with one source kind (as every loader produces)"
                )
            if "any_vnets" in kinds:
                endpoint = EP_SERVICE
            else:
                named = {s.subnet: s.text for s in rule.sources if s.subnet is not None}
                if len(named) != 1:
                    raise AnalysisError(f"rule {rule.label} names {len(named)} subnets")
                ((normalized, text),) = named.items()
                endpoint = self.subnet_id(normalized)
                self._subnet_texts.setdefault(normalized, text.strip())
            if not vnet_rules:
                endpoint = EP_NEVER
        elif kinds & {"cidr", "service_tag"} and not ase:
            endpoint = EP_DIRECT
        ids: set[int] = set()
        for flt in rule.headers:
            key = (flt.name, _filter_key(flt))
            if key not in self._filter_ids:
                self._filter_ids[key] = len(self.filters)
                self.filters.append(flt)
                self.filter_header.append(flt.name)
            ids.add(self._filter_ids[key])
        cond = Cond(frozenset(ids), endpoint)
        self._conds[cache_key] = cond
        return cond

    def subnet_id(self, subnet: str) -> int:
        key = normalize_subnet(subnet)
        if key not in self._subnet_ids:
            self.subnets.append(key)
            self._subnet_ids[key] = len(self.subnets)
        return self._subnet_ids[key]

    def subnet_name(self, endpoint: int) -> str:
        return self.subnets[endpoint - 1]

    # -- atoms

    def _realised(self, name: str, element: str) -> frozenset[int]:
        return frozenset(self.index.satisfied(name, [element]))

    def _add_atom(self, name: str, element: str, seen: dict[str, set[frozenset[int]]]) -> None:
        filters = self._realised(name, element)
        if not filters or filters in seen[name]:
            return
        seen[name].add(filters)
        atom = Atom(filters, element)
        self.atoms[name].append(atom)
        for f in filters:
            self.containing[f].append(atom)

    def _build_atoms(self) -> None:
        seen: dict[str, set[frozenset[int]]] = {name: set() for name in HEADER_NAMES}
        index = self.index
        for name in EXACT_HEADERS:
            for text in sorted(index.exact.get(name, {})):
                self._add_atom(name, text, seen)
        for version in (4, 6):
            part = index.xff[version]
            top = (1 << BITS[version]) - 1
            for i, (start, payload) in enumerate(zip(part.starts, part.payloads, strict=True)):
                if not payload:
                    continue
                end = part.starts[i + 1] - 1 if i + 1 < len(part.starts) else top
                value = start
                if version == 6 and MAPPED_V4 <= start <= MAPPED_LAST:
                    if end <= MAPPED_LAST:
                        continue  # read as IPv4: this range of IPv6 values cannot occur
                    value = MAPPED_LAST + 1
                self._add_atom(XFORWARDEDFOR, format_address(version, value), seen)
        for host in sorted(index.hosts):
            self._add_atom(XFORWARDEDHOST, host, seen)
        for flt in self.filters:
            if flt.name == XFORWARDEDHOST:
                for text in flt.values:
                    self._add_atom(XFORWARDEDHOST, text.strip(), seen)
        for suffix in sorted(index.wildcards):
            label = "x"
            counter = 0
            while f"{label}.{suffix}" in index.hosts:
                counter += 1
                label = f"x{counter}"
            self._add_atom(XFORWARDEDHOST, f"{label}.{suffix}", seen)

    def compatible(self, a: Cond, b: Cond) -> bool:
        """False when no request can meet both conditions for a reason that is quick to see:
        two different subnets, or two single-valued header filters that no one value
        satisfies together. True does not promise a request exists."""
        if a.endpoint > 0 and b.endpoint > 0 and a.endpoint != b.endpoint:
            return False
        for f in a.filters:
            header = self.filter_header[f]
            if header not in EXACT_HEADERS:
                continue
            together = self._together[f]
            for g in b.filters:
                if self.filter_header[g] == header and g not in together:
                    return False
        return True

    # -- models

    def model(self, site: Site, collection: Collection) -> CollectionModel:
        """The :class:`CollectionModel` of a requested collection of a site."""
        site_index = next((i for i, s in enumerate(self.sites) if s is site), None)
        if site_index is None:
            raise AnalysisError("the site is not part of this analysis space")
        key = (site_index, collection)
        cached = self._models.get(key)
        if cached is not None:
            return cached
        effective = site.effective_collection(collection)
        rules = site.rules(collection)
        conds = tuple(self.cond(rule, site) for rule in rules)
        base = self.model(site, effective) if effective != collection else None
        if base is not None:
            parts, lists, cut1 = base.parts, base.lists, base.cut1
        else:
            ids: dict[tuple[int, ...], int] = {}
            parts = {version: _partition(rules, version, ids) for version in (4, 6)}
            lists = list(ids)
            cut1 = [_cut(members, conds) for members in lists]
        model = CollectionModel(
            site=site,
            collection=collection,
            rules=rules,
            conds=conds,
            default=site.default_action(collection),
            disabled=site.public_access_disabled,
            blocked=site.has_private_endpoint and not site.public_access_disabled,
            parts=parts,
            lists=lists,
            cut1=cut1,
        )
        self._models[key] = model
        return model

    # -- states

    def header_options(self, name: str, required: frozenset[int]) -> list[HeaderOption]:
        """The minimal header states of one header that satisfy every ``required`` filter
        (all on this header): a satisfied set and the elements that realise it."""
        if not required:
            return [(frozenset(), ())]
        candidates: dict[frozenset[int], tuple[str, ...]] = {}
        if name in EXACT_HEADERS:
            first = min(required)
            for atom in self.containing[first]:
                if required <= atom.filters:
                    candidates.setdefault(atom.filters, (atom.element,))
        else:
            per = [self.containing[f] for f in sorted(required)]
            for combo in itertools.product(*per):
                filters = frozenset().union(*(a.filters for a in combo))
                elements = tuple(dict.fromkeys(a.element for a in combo))
                candidates.setdefault(filters, elements)
        return _minimal(candidates)

    def minimal_states(
        self,
        conds: Sequence[Cond],
        *,
        endpoint: str = "any",
        without: frozenset[str] = frozenset(),
        limit: int = STATE_LIMIT,
    ) -> list[State]:
        """The minimal states in which every cond holds (under the constraints).

        ``endpoint``: ``any``, ``none`` (no service endpoint) or ``service``; ``without``:
        header names the request must not carry. Raises :class:`AnalysisError` beyond
        ``limit`` states.
        """
        key = (tuple(conds), endpoint, without, limit)
        cached = self._minimal_cache.get(key)
        if cached is None:
            cached = self._minimal_cache[key] = self._minimal_states(
                conds, endpoint, without, limit
            )
        return cached

    def _minimal_states(
        self, conds: Sequence[Cond], endpoint: str, without: frozenset[str], limit: int
    ) -> list[State]:
        needs = {c.endpoint for c in conds} - {EP_NONE}
        subnets = {e for e in needs if e > 0}
        if len(subnets) > 1 or EP_NEVER in needs:
            return []
        direct = EP_DIRECT in needs
        if subnets:
            eps = [] if direct else [subnets.pop()]
        elif EP_SERVICE in needs:
            eps = [] if direct else [EP_SERVICE]
        elif direct:
            eps = [EP_NONE]
        else:
            eps = [EP_NONE, EP_SERVICE]  # incomparable: both are minimal
        if endpoint == "none":
            eps = [ep for ep in eps if ep == EP_NONE]
        elif endpoint == "service":
            eps = [ep for ep in eps if ep != EP_NONE]
        if not eps:
            return []
        required: dict[str, set[int]] = {}
        for cond in conds:
            for f in cond.filters:
                required.setdefault(self.filter_header[f], set()).add(f)
        per_header: list[tuple[str, list[HeaderOption]]] = []
        total = 1
        for name in HEADER_NAMES:
            need = frozenset(required.get(name, ()))
            if not need:
                continue
            if name in without:
                return []
            options = self.header_options(name, need)
            if not options:
                return []
            total *= len(options)
            per_header.append((name, options))
        if total > limit:
            raise AnalysisError(
                f"more than {limit} minimal header states for one rule: the analysis "
                "stops rather than sample"
            )
        states: list[State] = []
        for ep in eps:
            for combo in itertools.product(*(options for _, options in per_header)):
                filters = frozenset().union(*(option[0] for option in combo))
                headers = tuple(
                    (name, option[1])
                    for (name, _), option in zip(per_header, combo, strict=True)
                    if option[1]
                )
                states.append(State(ep, filters, headers))
        return states

    def projected_states(
        self, conds: Iterable[Cond], *, service: bool = False, limit: int = STATE_LIMIT
    ) -> list[State] | None:
        """Every state that the given conditions can tell apart, one per class (simplest
        first), or None when there are more than ``limit``. ``service``: tell
        service-endpoint traffic apart even when no condition does (a site that refuses it).
        """
        relevant: set[int] = set()
        needs: set[int] = {EP_SERVICE} if service else set()
        for cond in conds:
            relevant.update(cond.filters)
            if cond.endpoint == EP_DIRECT:
                needs.add(EP_SERVICE)  # through a service endpoint or not
            elif cond.endpoint not in (EP_NONE, EP_NEVER):
                needs.add(cond.endpoint)
        key = (frozenset(relevant), frozenset(needs))
        if key in self._state_cache:
            return self._state_cache[key]
        states = self._project(key[0], key[1], limit)
        self._state_cache[key] = states
        return states

    def _project(
        self, relevant: frozenset[int], needs: frozenset[int], limit: int
    ) -> list[State] | None:
        endpoints = [EP_NONE]
        if EP_SERVICE in needs:
            endpoints.append(EP_SERVICE)
        endpoints.extend(sorted(e for e in needs if e > 0))
        per_header: list[tuple[str, list[HeaderOption]]] = []
        total = len(endpoints)
        for name in HEADER_NAMES:
            mine = frozenset(f for f in relevant if self.filter_header[f] == name)
            if not mine:
                continue
            projected: dict[frozenset[int], tuple[str, ...]] = {}
            for f in sorted(mine):
                for atom in self.containing[f]:
                    projected.setdefault(atom.filters & mine, (atom.element,))
            options: dict[frozenset[int], tuple[str, ...]] = {frozenset(): ()}
            if name in EXACT_HEADERS:
                options.update(projected)
            else:
                for filters, elements in projected.items():
                    for have, have_elements in list(options.items()):
                        union = have | filters
                        if union not in options:
                            options[union] = have_elements + elements
                            if len(options) * total > limit:
                                return None
            total *= len(options)
            if total > limit:
                return None
            per_header.append(
                (name, sorted(options.items(), key=lambda kv: (len(kv[0]), sorted(kv[0]))))
            )
        states: list[State] = []
        for ep in endpoints:
            for combo in itertools.product(*(options for _, options in per_header)):
                filters = frozenset().union(*(option[0] for option in combo))
                headers = tuple(
                    (name, option[1])
                    for (name, _), option in zip(per_header, combo, strict=True)
                    if option[1]
                )
                states.append(State(ep, filters, headers, relevant, needs))
        states.sort(key=lambda s: s.complexity)
        return states

    # -- requests and descriptions

    def request(self, model: CollectionModel, version: int, address: int, state: State) -> Request:
        """A concrete request in a state, from an address of a family."""
        headers = [(name, ", ".join(elements)) for name, elements in state.headers]
        subnet = None
        if state.endpoint > 0:
            name = self.subnet_name(state.endpoint)
            subnet = self._subnet_texts.get(name, name)
        return Request(
            format_address(version, address),
            host=model.host(),
            headers=headers,
            subnet=subnet,
            service_endpoint=state.endpoint != EP_NONE,
        )

    def condition(self, state: State) -> Condition:
        """The condition a projected state stands for."""
        relevant = state.relevant if state.relevant is not None else state.filters
        needs = state.endpoints if state.endpoints is not None else frozenset()
        headers: list[HeaderCondition] = []
        for name in HEADER_NAMES:
            mine = sorted(f for f in relevant if self.filter_header[f] == name)
            if not mine:
                continue
            headers.append(
                HeaderCondition(
                    name,
                    tuple(self.filters[f] for f in mine if f in state.filters),
                    tuple(self.filters[f] for f in mine if f not in state.filters),
                )
            )
        subnets = tuple(self.subnet_name(e) for e in sorted(needs) if e > 0)
        if not needs:
            endpoint = EndpointCondition("any")
        elif state.endpoint > 0:
            endpoint = EndpointCondition("subnet", subnet=self.subnet_name(state.endpoint))
        elif state.endpoint == EP_SERVICE:
            endpoint = EndpointCondition("service", excluded=subnets)
        elif EP_SERVICE in needs:
            endpoint = EndpointCondition("none")
        else:
            endpoint = EndpointCondition("not-subnets", excluded=subnets)
        return Condition(endpoint, tuple(headers))

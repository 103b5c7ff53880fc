"""The exact semantic difference between two sites.

For each requested collection and family the two partitions are overlaid (the union of
their range starts). Each piece has a decision list on either side; every header and
endpoint state that the rules of the two lists can tell apart is tried
(:meth:`Space.projected_states`), and the pieces whose decision changes are grouped by
condition and by the deciding rule on both sides, then merged into the fewest CIDRs. The
result is exact: every request inside a reported difference is decided differently, and
every request outside all of them is decided alike, unless the diff lists *unresolved*
ranges. A piece with more than :data:`~acl.analysis.space.STATE_LIMIT` header states is
settled without enumerating them (:func:`_settle`): proven alike, or unresolved with a
checked example that differs.

Requests through a private endpoint are allowed by both sites, so they never differ. Site
state counts: two sites that differ only in a private endpoint, their hosting or IP-based
SSL differ where that changes a decision (public access, service-endpoint traffic).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from ..addresses import MAPPED_V4
from ..model import COLLECTIONS, Action, Collection, Request, Rule, Site
from ..reference import SERVICE_ENDPOINT_BLOCKED_DETAIL, evaluate
from .space import (
    BITS,
    BLOCKED,
    DEFAULT,
    DISABLED,
    EP_NONE,
    MAPPED_LAST,
    NICE_ADDRESSES,
    STATE_LIMIT,
    AnalysisError,
    CollectionModel,
    Condition,
    Space,
    State,
    format_cidr,
    merge_ranges,
    pick_address,
    range_to_cidrs,
)

__all__ = ["Compare", "Diff", "Difference", "Side", "Unresolved", "diff"]

Compare = Literal["action", "rule"]


@dataclass(frozen=True, slots=True)
class Side:
    """How one site decides: the action, why (``rule``, ``default``,
    ``public-access-disabled``, ``service-endpoint-blocked``), the deciding rule and a
    sentence."""

    action: Action
    reason: str
    rule: Rule | None
    detail: str

    def __str__(self) -> str:
        if self.rule is not None:
            return f"{self.action.word} by rule {self.rule.label}"
        if self.reason == "default":
            return f"{self.action.word} by default ({self.detail})"
        return f"{self.action.word}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.word,
            "reason": self.reason,
            "rule": self.rule.to_dict() if self.rule is not None else None,
            "detail": self.detail,
        }


def _side(model: CollectionModel, code: int) -> Side:
    if code >= 0:
        rule = model.rules[code]
        return Side(rule.action, "rule", rule, f"rule {rule.label} matched")
    if code == DEFAULT:
        action, why = model.site.default_explained(model.collection)
        return Side(action, "default", None, why)
    if code == BLOCKED:
        return Side(Action.DENY, "service-endpoint-blocked", None, SERVICE_ENDPOINT_BLOCKED_DETAIL)
    return Side(Action.DENY, "public-access-disabled", None, model.site.public_access_explained())


@dataclass(frozen=True, slots=True)
class Difference:
    """Requests that the two sites decide differently.

    Every request of ``collection`` whose address lies in ``cidrs`` and that meets
    ``condition`` is decided as ``old`` says by the old site and as ``new`` says by the new
    one; ``example`` is one of them, checked with :func:`acl.evaluate` on both sites.
    ``ranges`` holds the same addresses as ``(version, first, last)`` ranges.
    """

    collection: Collection
    condition: Condition
    old: Side
    new: Side
    example: Request
    ranges: tuple[tuple[int, int, int], ...]

    @property
    def cidrs(self) -> tuple[str, ...]:
        """The addresses as the fewest CIDRs (IPv4 first)."""
        return cidr_texts(self.ranges)

    @property
    def compact_cidrs(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The addresses as ``(include, exclude)``: a family's whole space minus some CIDRs
        when that is shorter (``(("::/0",), ("2001:db8::/32",))``)."""
        return compact(self.ranges)

    def contains(self, request: Request) -> bool:
        """Whether a request lies in this difference."""
        if request.private_endpoint or request.collection != self.collection:
            return False
        return in_ranges(self.ranges, request.version, request.value) and self.condition.holds(
            request
        )

    def __str__(self) -> str:
        return (
            f"[{self.collection}] {self.old.action.word} -> {self.new.action.word}: "
            f"{', '.join(self.cidrs)} when {self.condition}"
        )

    def to_dict(self) -> dict[str, Any]:
        include, exclude = self.compact_cidrs
        return {
            "collection": self.collection,
            "cidrs": list(self.cidrs),
            "compact": {"include": list(include), "exclude": list(exclude)},
            "condition": self.condition.to_dict(),
            "condition_text": str(self.condition),
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
            "example": self.example.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Unresolved:
    """Address ranges where the diff could not enumerate the differences: too many header
    states to compare. They are proven to hold at least one request decided differently:
    ``example``, decided as ``old`` and ``new`` say (checked with :func:`acl.evaluate`), or,
    when even that could not be settled, ``example`` is None and they may or may not."""

    collection: Collection
    reason: str
    ranges: tuple[tuple[int, int, int], ...]
    example: Request | None = None
    old: Side | None = None
    new: Side | None = None

    @property
    def cidrs(self) -> tuple[str, ...]:
        return cidr_texts(self.ranges)

    def to_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "cidrs": list(self.cidrs),
            "reason": self.reason,
            "example": self.example.to_dict() if self.example is not None else None,
            "old": self.old.to_dict() if self.old is not None else None,
            "new": self.new.to_dict() if self.new is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Diff:
    """The semantic difference between two sites.

    ``identical`` is True only when it is proven that no request is decided differently
    (``compare="action"``: allow/deny; ``"rule"``: also the deciding rule or reason).
    """

    differences: tuple[Difference, ...]
    unresolved: tuple[Unresolved, ...] = ()
    compare: Compare = "action"

    @property
    def identical(self) -> bool:
        return not self.differences and not self.unresolved

    @property
    def complete(self) -> bool:
        """True when every range was settled."""
        return not self.unresolved

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "complete": self.complete,
            "compare": self.compare,
            "differences": [d.to_dict() for d in self.differences],
            "unresolved": [u.to_dict() for u in self.unresolved],
        }


# ---------------------------------------------------------------------------- the overlay


def overlay(
    a: tuple[list[int], list[int]], b: tuple[list[int], list[int]], top: int
) -> Iterator[tuple[int, int, int, int]]:
    """``(first, last, list_a, list_b)`` of the pieces of two partitions of one space."""
    starts_a, ids_a = a
    starts_b, ids_b = b
    i = j = 0
    cursor = 0
    while cursor <= top:
        while i + 1 < len(starts_a) and starts_a[i + 1] <= cursor:
            i += 1
        while j + 1 < len(starts_b) and starts_b[j + 1] <= cursor:
            j += 1
        end = top
        if i + 1 < len(starts_a):
            end = min(end, starts_a[i + 1] - 1)
        if j + 1 < len(starts_b):
            end = min(end, starts_b[j + 1] - 1)
        yield cursor, end, ids_a[i], ids_b[j]
        cursor = end + 1


def _identity(model: CollectionModel, code: int, compare: Compare) -> tuple[Any, ...]:
    action = model.action(code)
    if compare == "action":
        return (action,)
    if code >= 0:
        rule = model.rules[code]
        return (action, "rule", rule.name, rule.priority)
    return (action, model.reason(code))


Signature = tuple[int, frozenset[int]]
Row = tuple[State, State, int, int]
"""A described state (the condition), an example state, and the two decision codes."""


def _simplify(
    rows: list[tuple[State, int, int]], every: dict[Signature, tuple[int, int]]
) -> list[Row]:
    """Merge differing states whose outcomes do not depend on some filter (or on the
    endpoint).

    The states of one group (same two outcomes) are described by cubes: an endpoint and
    the satisfied filters among ``keep``. A filter leaves ``keep`` when toggling it in any
    cube of the group gives a cube of the group or one no request can be in; every cube then
    still holds only requests of the group, so the description stays exact. Cubes are kept
    as counts per projection and updated only where a dropped filter occurs.
    """
    out: list[Row] = []
    groups: dict[tuple[int, int], list[State]] = {}
    for state, ca, cb in rows:
        groups.setdefault((ca, cb), []).append(state)
    signatures = list(every)
    index = {sig: i for i, sig in enumerate(signatures)}
    holding: dict[int, list[int]] = {}
    for i, (_, filters) in enumerate(signatures):
        for f in filters:
            holding.setdefault(f, []).append(i)
    endpoints = {e for e, _ in signatures}
    for (ca, cb), states in groups.items():
        relevant = states[0].relevant or frozenset()
        needs = states[0].endpoints or frozenset()
        projected = [filters for _, filters in signatures]
        feasible: dict[Signature, int] = {}
        for sig in signatures:
            feasible[sig] = feasible.get(sig, 0) + 1
        members = {index[(s.endpoint, s.filters)] for s in states}
        cubes: dict[Signature, int] = {}
        for i in members:
            cubes[signatures[i]] = cubes.get(signatures[i], 0) + 1
        keep = set(relevant)
        for g in sorted(relevant):
            if any((e, f ^ {g}) not in cubes and (e, f ^ {g}) in feasible for e, f in cubes):
                continue
            keep.discard(g)
            for i in holding.get(g, ()):
                e = signatures[i][0]
                before = (e, projected[i])
                after = (e, projected[i] - {g})
                projected[i] = after[1]
                for counts, applies in ((feasible, True), (cubes, i in members)):
                    if not applies:
                        continue
                    counts[before] -= 1
                    if not counts[before]:
                        del counts[before]
                    counts[after] = counts.get(after, 0) + 1
        any_endpoint = bool(needs) and all(
            (other, f) in cubes or (other, f) not in feasible
            for _, f in cubes
            for other in endpoints
        )
        kept = frozenset(keep)
        seen: set[tuple[int, frozenset[int]]] = set()
        for state in states:
            key = (EP_NONE if any_endpoint else state.endpoint, state.filters & kept)
            if key in seen:
                continue
            seen.add(key)
            described = State(key[0], key[1], (), kept, frozenset() if any_endpoint else needs)
            out.append((described, state, ca, cb))
    return out


def _compare(
    space: Space,
    a: CollectionModel,
    b: CollectionModel,
    la: tuple[int, ...],
    lb: tuple[int, ...],
    compare: Compare,
    limit: int,
) -> list[Row] | None:
    conds = [a.conds[k] for k in la] + [b.conds[k] for k in lb]
    states = space.projected_states(conds, service=a.blocked or b.blocked, limit=limit)
    if states is None:
        return None
    every: dict[Signature, tuple[int, int]] = {}
    rows: list[tuple[State, int, int]] = []
    decide_a, decide_b = a.decider(la), b.decider(lb)
    for state in states:
        ca = decide_a(state)
        cb = decide_b(state)
        every[(state.endpoint, state.filters)] = (ca, cb)
        if _identity(a, ca, compare) != _identity(b, cb, compare):
            rows.append((state, ca, cb))
    return _simplify(rows, every) if rows else []


def _deciders(model: CollectionModel, members: tuple[int, ...]) -> list[int]:
    if model.disabled:
        return [DISABLED]
    out = list(members)
    if not (members and model.conds[members[-1]].unconditional):
        out.append(DEFAULT)
    if model.blocked:
        out.append(BLOCKED)
    return out


def _settle(
    space: Space,
    a: CollectionModel,
    b: CollectionModel,
    la: tuple[int, ...],
    lb: tuple[int, ...],
    compare: Compare,
) -> tuple[State, int, int] | bool | None:
    """Whether two decision lists differ, without enumerating header states: some request
    is decided by ``ca`` in one and ``cb`` in the other exactly when a minimal state of
    "both match" is matched by no rule before them in either list. Returns a differing
    ``(state, ca, cb)``, None when the lists decide alike, False when some pair had too
    many minimal states to tell."""
    unknown = False
    for ca in _deciders(a, la):
        for cb in _deciders(b, lb):
            if _identity(a, ca, compare) == _identity(b, cb, compare):
                continue
            conds = [m.conds[c] for m, c in ((a, ca), (b, cb)) if c >= 0]
            if len(conds) == 2 and not space.compatible(conds[0], conds[1]):
                continue
            try:
                states = space.minimal_states(conds)
            except AnalysisError:
                unknown = True
                continue
            upto_a = la[: la.index(ca) + 1] if ca >= 0 else la
            upto_b = lb[: lb.index(cb) + 1] if cb >= 0 else lb
            for state in states:
                if a.decide(upto_a, state) == ca and b.decide(upto_b, state) == cb:
                    return state, ca, cb
    return False if unknown else None


@dataclass
class _Group:
    described: State
    example: State
    ranges: list[tuple[int, int, int]] = field(default_factory=list)


def in_ranges(ranges: tuple[tuple[int, int, int], ...], version: int, value: int) -> bool:
    """Whether an address lies in sorted, disjoint ``(version, first, last)`` ranges."""
    index = bisect.bisect_right(ranges, (version, value, 1 << 129)) - 1
    if index < 0:
        return False
    v, first, last = ranges[index]
    return v == version and first <= value <= last


def _example_range(ranges: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """The range to take an example address from: one holding a documentation address
    when there is one (IPv4 first), else the first."""
    for version in (4, 6):
        for item in ranges:
            if item[0] == version and any(
                item[1] <= nice <= item[2] for nice in NICE_ADDRESSES[version]
            ):
                return item
    return ranges[0]


def compact(ranges: tuple[tuple[int, int, int], ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The same addresses as ``(include, exclude)`` CIDRs: per family, either the CIDRs
    themselves or the whole family minus the CIDRs of what is not in the set, whichever is
    shorter. The IPv4-mapped block holds no request address and may go either way."""
    include: list[str] = []
    exclude: list[str] = []
    for version in (4, 6):
        mine = [(f, last) for v, f, last in ranges if v == version]
        if not mine:
            continue
        top = (1 << BITS[version]) - 1
        gaps: list[tuple[int, int, int]] = []
        cursor = 0
        for first, last in mine:
            if cursor < first:
                gaps.append((version, cursor, first - 1))
            cursor = last + 1
        if cursor <= top:
            gaps.append((version, cursor, top))
        if version == 6:
            gaps = _without_mapped(gaps)
        direct = cidr_texts((version, f, last) for f, last in mine)
        inverse = cidr_texts(gaps)
        if len(inverse) + 1 < len(direct):
            include.append("0.0.0.0/0" if version == 4 else "::/0")
            exclude.extend(inverse)
        else:
            include.extend(direct)
    return tuple(include), tuple(exclude)


def _without_mapped(gaps: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Gaps with the IPv4-mapped block cut out when that gives fewer CIDRs (it holds no
    request address, so leaving it out of an exclusion changes nothing)."""
    out: list[tuple[int, int, int]] = []
    for version, first, last in gaps:
        if (first, last) == (MAPPED_V4, MAPPED_LAST):
            continue
        if first <= MAPPED_V4 and last >= MAPPED_LAST:
            pieces = [(6, first, MAPPED_V4 - 1), (6, MAPPED_LAST + 1, last)]
            pieces = [p for p in pieces if p[1] <= p[2]]
            if len(cidr_texts(pieces)) < len(cidr_texts([(version, first, last)])):
                out.extend(pieces)
                continue
        out.append((version, first, last))
    return out


def _cidr_count(ranges: list[tuple[int, int]]) -> int:
    return sum(len(range_to_cidrs(first, last, 128)) for first, last in ranges)


def merged_ranges(ranges: Iterable[tuple[int, int, int]]) -> tuple[tuple[int, int, int], ...]:
    """Ranges merged per family. The IPv4-mapped IPv6 block holds no request address, so it
    is added to a neighbouring IPv6 range when that gives fewer CIDRs."""
    items = list(ranges)
    out: list[tuple[int, int, int]] = []
    for version in (4, 6):
        merged = merge_ranges((first, last) for v, first, last in items if v == version)
        if version == 6 and any(
            last == MAPPED_V4 - 1 or first == MAPPED_LAST + 1 for first, last in merged
        ):
            bridged = merge_ranges([*merged, (MAPPED_V4, MAPPED_LAST)])
            if _cidr_count(bridged) < _cidr_count(merged):
                merged = bridged
        out.extend((version, first, last) for first, last in merged)
    return tuple(out)


def cidr_texts(ranges: Iterable[tuple[int, int, int]]) -> tuple[str, ...]:
    """The CIDR texts of ``(version, first, last)`` ranges."""
    return tuple(
        format_cidr(version, network, length)
        for version, first, last in ranges
        for network, length in range_to_cidrs(first, last, BITS[version])
    )


def _verify(site: Site, request: Request, side: Side, which: str) -> None:
    decision = evaluate(site, request)
    if (
        decision.action is not side.action
        or decision.reason != side.reason
        or decision.rule is not side.rule
    ):
        raise AssertionError(
            f"diff witness {request.to_dict()} is decided {decision.summary()} by the "
            f"{which} site, not {side}: the analysis disagrees with the reference evaluator"
        )


def diff(
    old: Site,
    new: Site,
    *,
    compare: Compare = "action",
    limit: int = STATE_LIMIT,
    verify: bool = True,
) -> Diff:
    """The exact difference between two sites, per collection, address range and header
    and endpoint condition.

    Args:
        old: the site before.
        new: the site after.
        compare: ``"action"`` reports requests whose allow/deny changes; ``"rule"`` also
            requests decided by another rule (by name and priority) or for another reason.
        limit: the most header/endpoint states compared for one address range; ranges
            beyond it are reported in ``Diff.unresolved`` instead of being sampled.
        verify: check every example request with :func:`acl.evaluate` on both sites (the
            default). Between two large unrelated sites this is most of the time.

    >>> import acl
    >>> old = acl.loads('[{"name": "office", "priority": 100, "ipAddress": "198.51.100.0/24"}]')
    >>> new = acl.loads('[{"name": "office", "priority": 100, "ipAddress": "198.51.100.0/25"}]')
    >>> [str(d) for d in diff(old, new).differences]
    ['[main] allow -> deny: 198.51.100.128/25 when no service endpoint']
    >>> diff(old, old).identical
    True
    """
    if compare not in ("action", "rule"):
        raise AnalysisError(f"compare {compare!r} is not valid: expected 'action' or 'rule'")
    space = Space([old, new])
    groups: dict[tuple[Any, ...], _Group] = {}
    unresolved: dict[tuple[Collection, Any], list[tuple[int, int, int]]] = {}
    models: dict[Collection, tuple[CollectionModel, CollectionModel]] = {}
    for collection in COLLECTIONS:
        a = space.model(old, collection)
        b = space.model(new, collection)
        models[collection] = (a, b)
        cache: dict[tuple[tuple[int, ...], tuple[int, ...]], list[Row] | None] = {}
        settled: dict[
            tuple[tuple[int, ...], tuple[int, ...]], tuple[State, int, int] | bool | None
        ] = {}
        for version in (4, 6):
            top = (1 << BITS[version]) - 1
            for first, last, ia, ib in overlay(a.parts[version], b.parts[version], top):
                if ia < 0 or ib < 0:
                    continue  # the IPv4-mapped block: no request has such an address
                la = () if a.disabled else a.cut1[ia]
                lb = () if b.disabled else b.cut1[ib]
                key = (la, lb)
                if key not in cache:
                    cache[key] = _compare(space, a, b, la, lb, compare, limit)
                rows = cache[key]
                if rows is None:
                    if key not in settled:
                        settled[key] = _settle(space, a, b, la, lb, compare)
                    outcome = settled[key]
                    if outcome is not None:
                        unresolved.setdefault((collection, outcome), []).append(
                            (version, first, last)
                        )
                    continue
                for described, example, ca, cb in rows:
                    group_key = (
                        collection,
                        described.endpoint,
                        described.filters,
                        described.relevant,
                        described.endpoints,
                        ca,
                        cb,
                    )
                    group = groups.get(group_key)
                    if group is None:
                        group = groups[group_key] = _Group(described, example)
                    group.ranges.append((version, first, last))

    differences: list[tuple[tuple[Any, ...], Difference]] = []
    for (collection, *_, ca, cb), group in groups.items():
        a, b = models[collection]
        merged = merged_ranges(group.ranges)
        version, first, last = _example_range(group.ranges)
        request = space.request(a, version, pick_address(version, first, last), group.example)
        old_side, new_side = _side(a, ca), _side(b, cb)
        if verify:
            _verify(old, request, old_side, "old")
            _verify(new, request, new_side, "new")
        difference = Difference(
            collection,
            space.condition(group.described),
            old_side,
            new_side,
            request,
            merged,
        )
        order = (COLLECTIONS.index(collection), merged[0], str(difference.condition))
        differences.append((order, difference))
    differences.sort(key=lambda item: item[0])
    missing: list[Unresolved] = []
    for (collection, outcome), ranges in unresolved.items():
        reason = f"more than {limit} header/endpoint states to compare in these ranges"
        if outcome is False:
            missing.append(
                Unresolved(collection, reason + "; they may differ", merged_ranges(ranges))
            )
            continue
        assert isinstance(outcome, tuple)
        state, ca, cb = outcome
        a, b = models[collection]
        version, first, last = _example_range(ranges)
        request = space.request(a, version, pick_address(version, first, last), state)
        old_side, new_side = _side(a, ca), _side(b, cb)
        if verify:
            _verify(old, request, old_side, "old")
            _verify(new, request, new_side, "new")
        missing.append(
            Unresolved(
                collection,
                reason + "; they differ at least where the example does",
                merged_ranges(ranges),
                request,
                old_side,
                new_side,
            )
        )
    return Diff(tuple(d for _, d in differences), tuple(missing), compare)

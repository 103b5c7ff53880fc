"""Replaying traffic through a rule set: the summary behind ``acl check`` and ``acl whatif``.

Batches from :mod:`acl.logs` go through :meth:`acl.Engine.decide_many`; a :class:`Summary`
accumulates what a person needs to read in ten seconds, in bounded memory: counts by
decision, collection and family, hits per rule (and the rules that never fired), decisions
by the unmatched-rule action, the top denied sources and hosts, and, for audit logs, the
decisions that disagree with what Azure recorded, with examples and their explanations.
Every line is accounted for: ``requests + rejected + metadata == lines``.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt

from .compiler import (
    DEFAULT,
    INVALID,
    PRIVATE_ENDPOINT,
    PUBLIC_ACCESS_DISABLED,
    SERVICE_ENDPOINT_BLOCKED,
)
from .decision import Decision
from .engine import BulkDecisions, Engine
from .errors import AclError
from .logs import Batch, Reject
from .model import Request, Rule

__all__ = [
    "Disagreement",
    "AddressCounter",
    "Flip",
    "Summary",
    "TopCounter",
    "WhatIf",
    "decide_batch",
    "replay",
    "request_of",
    "whatif",
]

EXAMPLES = 20
FIRST_REJECTS = 10
COLLECTION_NAMES = ("main", "scm")
FAMILY_NAMES = {4: "ipv4", 6: "ipv6"}
REASON_WORDS = {
    DEFAULT: "default",
    PRIVATE_ENDPOINT: "private-endpoint",
    PUBLIC_ACCESS_DISABLED: "public-access-disabled",
    SERVICE_ENDPOINT_BLOCKED: "service-endpoint-blocked",
}


class TopCounter:
    """Counts keys, keeping memory bounded: beyond ``capacity`` distinct keys the rarest
    half is dropped (the top entries of a skewed stream survive; counts near the cut may be
    low by what was dropped, and :attr:`approximate` says so)."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self.counts: Counter[str] = Counter()
        self.approximate = False

    def update(self, keys: Iterable[str]) -> None:
        batch = Counter(keys)
        counts = self.counts
        if len(counts) + len(batch) <= self.capacity:
            counts.update(batch)
            return
        # Full: known keys keep counting; a new key gets in when it repeats in this batch
        # or while there is room. The others are dropped (and the list marked approximate).
        room = self.capacity - len(counts)
        for key, n in batch.items():
            if key in counts:
                counts[key] += n
            elif n > 1 or room > 0:
                counts[key] = n
                room -= 1
            else:
                self.approximate = True
        if len(counts) > self.capacity:
            self._prune(self.capacity // 2)

    def _prune(self, keep: int) -> None:
        # The keep-th largest count, found in linear time; keys above it stay, then keys
        # equal to it until `keep` are kept.
        values = np.fromiter(self.counts.values(), dtype=np.int64, count=len(self.counts))
        threshold = int(np.partition(values, len(values) - keep)[len(values) - keep])
        kept = Counter({k: v for k, v in self.counts.items() if v > threshold})
        ties = (k for k, v in self.counts.items() if v == threshold)
        for key in islice(ties, max(0, keep - len(kept))):
            kept[key] = threshold
        self.counts = kept
        self.approximate = True

    def merge(self, other: TopCounter) -> None:
        self.update(other.counts.elements())
        self.approximate = self.approximate or other.approximate

    def top(self, n: int = 10) -> list[tuple[str, int]]:
        return self.counts.most_common(n)


class AddressCounter:
    """Counts source addresses by value, in numpy arrays, for the top denied sources.

    Addresses are counted as numbers, so two spellings of one address (``2001:db8::1`` and
    ``2001:DB8:0::1``, or ``::ffff:192.0.2.1`` and ``192.0.2.1``) are one source, shown in
    its canonical form. Keys of a batch are buffered and folded in with one sort per
    ``1 << 18`` keys. Memory stays bounded: beyond ``capacity`` distinct addresses the
    rarest half is dropped and :attr:`approximate` says so.

    >>> counter = AddressCounter()
    >>> counter.add(np.array([4, 4, 6, 4], dtype=np.uint8), np.array([0, 0, 0x20010DB8 << 32, 0], dtype=np.uint64),
    ...             np.array([3221225985, 3221225985, 1, 3221225986], dtype=np.uint64))
    >>> counter.top()
    [('192.0.2.1', 2), ('192.0.2.2', 1), ('2001:db8::1', 1)]
    """

    FOLD = 1 << 18

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self.approximate = False
        # Folded counts: IPv4 keys (uint64 holding the 32-bit value), IPv6 keys (n, 2).
        self._v4 = np.zeros(0, dtype=np.uint64)
        self._n4 = np.zeros(0, dtype=np.int64)
        self._v6 = np.zeros((0, 2), dtype=np.uint64)
        self._n6 = np.zeros(0, dtype=np.int64)
        # Keys not folded in yet, with their counts (the v4 and the v6 ones apart).
        self._pending4: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]] = []
        self._pending6: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]] = []
        self._pending = 0

    def add(
        self,
        version: npt.NDArray[np.uint8],
        hi: npt.NDArray[np.uint64],
        lo: npt.NDArray[np.uint64],
    ) -> None:
        """Count one address per row: ``version`` 4 (value in ``lo``) or 6; 0 is skipped."""
        v4 = version == 4
        keys = np.asarray(lo[v4], dtype=np.uint64)
        self._pending4.append((keys, np.ones(len(keys), dtype=np.int64)))
        v6 = version == 6
        if v6.any():
            pairs = np.stack([hi[v6], lo[v6]], axis=1).astype(np.uint64)
            self._pending6.append((pairs, np.ones(len(pairs), dtype=np.int64)))
        self._pending += len(version)
        if self._pending >= self.FOLD:
            self._fold()

    def _fold(self) -> None:
        if self._pending4:
            keys = np.concatenate([self._v4, *(k for k, _ in self._pending4)])
            weights = np.concatenate([self._n4, *(n for _, n in self._pending4)])
            self._v4, inverse = np.unique(keys, return_inverse=True)
            self._n4 = np.bincount(inverse, weights=weights).astype(np.int64)
        if self._pending6:
            pairs = np.concatenate([self._v6, *(k for k, _ in self._pending6)])
            weights = np.concatenate([self._n6, *(n for _, n in self._pending6)])
            self._v6, inverse = np.unique(pairs, axis=0, return_inverse=True)
            self._n6 = np.bincount(inverse.reshape(-1), weights=weights).astype(np.int64)
        self._pending4, self._pending6, self._pending = [], [], 0
        if len(self._v4) + len(self._v6) > self.capacity:
            self._prune(self.capacity // 2)

    def _prune(self, keep: int) -> None:
        # Keep the `keep` largest counts (ties broken by address, v4 first), drop the rest.
        counts = np.concatenate([self._n4, self._n6])
        order = np.lexsort((np.arange(len(counts)), -counts))[:keep]
        order.sort()
        at4 = order[order < len(self._n4)]
        at6 = order[order >= len(self._n4)] - len(self._n4)
        self._v4, self._n4 = self._v4[at4], self._n4[at4]
        self._v6, self._n6 = self._v6[at6], self._n6[at6]
        self.approximate = True

    def __len__(self) -> int:
        self._fold()
        return len(self._v4) + len(self._v6)

    def merge(self, other: AddressCounter) -> None:
        """Add another counter's counts (from another partition or process)."""
        other._fold()
        self._pending4.append((other._v4, other._n4))
        if len(other._v6):
            self._pending6.append((other._v6, other._n6))
        self.approximate = self.approximate or other.approximate
        self._fold()

    def top(self, n: int = 10) -> list[tuple[str, int]]:
        """The ``n`` most counted addresses, most first (ties: IPv4 before IPv6, by value)."""
        self._fold()
        counts = np.concatenate([self._n4, self._n6])
        order = np.lexsort((np.arange(len(counts)), -counts))[:n].tolist()
        out = []
        for index in order:
            if index < len(self._n4):
                text = str(ipaddress.IPv4Address(int(self._v4[index])))
            else:
                hi, lo = self._v6[index - len(self._n4)].tolist()
                text = str(ipaddress.IPv6Address((hi << 64) | lo))
            out.append((text, int(counts[index])))
        return out


def _minutes(times: list[Any], action: npt.NDArray[np.bool_]) -> Iterator[tuple[str, int, int]]:
    """(minute, allowed, denied) per run of equal minutes of a batch's record times.

    Logs are written in time order, so the rows form a few runs of one minute each: the
    minutes are cut and compared as a fixed-width numpy column, and only the runs reach
    Python. Other columns (a missing time, times out of order) are counted row by row.
    """
    n = len(times)
    if n and None not in times:
        try:
            cut = np.array(times, dtype="U16")
        except (TypeError, ValueError):
            cut = None
        if cut is not None:
            starts = np.flatnonzero(np.concatenate(([True], cut[1:] != cut[:-1])))
            if len(starts) * 8 <= n:
                allowed = np.add.reduceat(action.astype(np.int64), starts).tolist()
                sizes = np.diff(np.append(starts, n)).tolist()
                for start, yes, size in zip(starts.tolist(), allowed, sizes, strict=True):
                    yield str(cut[start]), yes, size - yes
                return
    pairs: Counter[tuple[str | None, bool]] = Counter(zip(times, action.tolist(), strict=True))
    for (when, allowed_), count in pairs.items():
        yield (
            ("" if when is None else str(when))[:16],
            count if allowed_ else 0,
            0 if allowed_ else count,
        )


def request_of(batch: Batch, row: int) -> Request:
    """The :class:`Request` of one batch row (for explanations)."""
    headers: dict[str, str] = {}
    for name, values in batch.headers.items():
        value = values[row]
        if value:
            headers[name] = value
    subnet = batch.subnet[row] if batch.subnet is not None else None
    endpoint = bool(batch.service_endpoint[row]) if batch.service_endpoint is not None else False
    return Request(
        batch.ip[row] or "",
        host=batch.host[row],
        headers=headers,
        subnet=subnet or None,
        service_endpoint=endpoint,
    )


def decide_batch(engine: Engine, batch: Batch) -> BulkDecisions:
    """The decisions for one batch of log records."""
    return engine.decide_many(
        batch.ip,
        hosts=batch.host,
        headers=batch.headers or None,
        subnets=batch.subnet,
        service_endpoint=np.array(batch.service_endpoint, dtype=bool)
        if batch.service_endpoint is not None
        else None,
    )


@dataclass
class Disagreement:
    """A decision that differs from what Azure recorded in an audit log."""

    source: str
    line: int
    request: Request
    recorded: str
    decision: Decision
    azure_details: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "request": self.request.to_dict(),
            "recorded": self.recorded,
            "azure_details": self.azure_details,
            "decision": self.decision.to_dict(),
            "explanation": self.decision.explain(),
        }


def _rule_ref(rule: Rule | None, code: int) -> dict[str, Any]:
    if rule is None:
        return {"reason": REASON_WORDS.get(code, "invalid")}
    return rule.to_dict()


@dataclass
class Summary:
    """What a replay found. Build with :func:`replay`; merge partial summaries with
    :meth:`merge` (scale-out)."""

    engine: Engine
    requests: int = 0
    allowed: int = 0
    rejected: int = 0
    metadata: int = 0
    by_collection: dict[str, list[int]] = field(
        default_factory=lambda: {c: [0, 0] for c in COLLECTION_NAMES}
    )
    by_family: dict[str, list[int]] = field(
        default_factory=lambda: {f: [0, 0] for f in FAMILY_NAMES.values()}
    )
    hits: Counter[tuple[int, int]] = field(default_factory=Counter)
    """(collection, code) to count; code is a compiled rule index or a reason code."""
    reject_reasons: Counter[str] = field(default_factory=Counter)
    first_rejects: list[Reject] = field(default_factory=list)
    denied_sources: AddressCounter = field(default_factory=AddressCounter)
    denied_hosts: TopCounter = field(default_factory=TopCounter)
    audited: int = 0
    """Records that carried Azure's recorded Result."""
    disagreements: int = 0
    disagreement_examples: list[Disagreement] = field(default_factory=list)
    timeline: Counter[tuple[str, int]] = field(default_factory=Counter)
    """(time bucket, action) to count; buckets are the record time cut to the minute."""
    sources: dict[str, str] = field(default_factory=dict)
    """Source name to its format."""

    @property
    def denied(self) -> int:
        return self.requests - self.allowed

    @property
    def lines(self) -> int:
        return self.requests + self.rejected + self.metadata

    def add(self, batch: Batch, decided: BulkDecisions | None = None) -> BulkDecisions:
        """Account for one batch (deciding it unless ``decided`` is given)."""
        self.sources.setdefault(batch.source, batch.format)
        self.metadata += batch.metadata
        for reject in batch.rejects:
            self._reject(reject)
        if not len(batch):
            return decided if decided is not None else decide_batch(self.engine, batch)
        result = decided if decided is not None else decide_batch(self.engine, batch)
        code = result.code
        valid = code != INVALID
        if result.invalid:
            for row in np.nonzero(~valid)[0][: max(0, FIRST_REJECTS - len(self.first_rejects))]:
                self.first_rejects.append(
                    Reject(batch.source, batch.lines[row], "bad address", str(batch.ip[row]))
                )
            self.reject_reasons["bad address"] += int((~valid).sum())
            self.rejected += int((~valid).sum())
        action = result.action.astype(bool)
        coll = result.collection
        count = int(valid.sum())
        self.requests += count
        self.allowed += int((action & valid).sum())
        for c, name in enumerate(COLLECTION_NAMES):
            mask = valid & (coll == c)
            self.by_collection[name][0] += int((mask & action).sum())
            self.by_collection[name][1] += int((mask & ~action).sum())
        for version, name in FAMILY_NAMES.items():
            mask = result.family == version
            self.by_family[name][0] += int((mask & action).sum())
            self.by_family[name][1] += int((mask & ~action).sum())
        keys = coll.astype(np.int64)[valid] * (1 << 32) + (code[valid].astype(np.int64) + 8)
        values, counts = np.unique(keys, return_counts=True)
        for key, n in zip(values.tolist(), counts.tolist(), strict=True):
            self.hits[(key >> 32, (key & 0xFFFFFFFF) - 8)] += n
        denied = valid & ~action
        if denied.any():
            if result._addresses is not None:
                kinds, hi, lo = result._addresses
            else:  # numeric IPv4 in: parse the text back
                kinds, hi, lo, _ = self.engine.parse_addresses(batch.ip)
            every = bool(denied.all())
            if every:
                self.denied_sources.add(kinds, hi, lo)
            else:
                self.denied_sources.add(kinds[denied], hi[denied], lo[denied])
            # Object arrays select in C; Counter counts in C.
            hosts = np.asarray(batch.host, dtype=object)
            picked = hosts if every else hosts[denied]
            picked[picked == None] = "-"  # noqa: E711 - elementwise on an object array
            self.denied_hosts.update(picked)
        if batch.time is not None:
            times = (
                batch.time if valid.all() else np.asarray(batch.time, dtype=object)[valid].tolist()
            )
            timeline = self.timeline
            for minute, yes, no in _minutes(times, action[valid]):
                if yes:
                    timeline[(minute, 1)] += yes
                if no:
                    timeline[(minute, 0)] += no
        if batch.recorded is not None:
            self._audit(batch, result, valid)
        return result

    def _reject(self, reject: Reject) -> None:
        self.rejected += 1
        reason = reject.reason.split(":")[0]
        self.reject_reasons[reason] += 1
        if len(self.first_rejects) < FIRST_REJECTS:
            self.first_rejects.append(reject)

    def _audit(self, batch: Batch, result: BulkDecisions, valid: npt.NDArray[np.bool_]) -> None:
        recorded = np.asarray(batch.recorded or [], dtype=object)
        azure_allowed = np.asarray(recorded == "Allowed", dtype=bool)
        known = (azure_allowed | np.asarray(recorded == "Denied", dtype=bool)) & valid
        self.audited += int(known.sum())
        differ = known & (azure_allowed != result.action.astype(bool))
        rows = np.nonzero(differ)[0].tolist()
        self.disagreements += len(rows)
        for row in rows[: max(0, EXAMPLES - len(self.disagreement_examples))]:
            try:
                request = request_of(batch, row)
            except AclError:
                continue
            decision = self.engine.decide(request, explain=True)
            details = batch.details[row] if batch.details is not None else None
            self.disagreement_examples.append(
                Disagreement(
                    batch.source,
                    batch.lines[row],
                    request,
                    str(recorded[row] or ""),
                    decision,
                    details,
                )
            )

    def merge(self, other: Summary) -> None:
        """Add another summary of the same rule set (from another partition or process)."""
        self.requests += other.requests
        self.allowed += other.allowed
        self.rejected += other.rejected
        self.metadata += other.metadata
        for table, theirs in (
            (self.by_collection, other.by_collection),
            (self.by_family, other.by_family),
        ):
            for key, (a, d) in theirs.items():
                table[key][0] += a
                table[key][1] += d
        self.hits.update(other.hits)
        self.reject_reasons.update(other.reject_reasons)
        self.first_rejects.extend(
            other.first_rejects[: max(0, FIRST_REJECTS - len(self.first_rejects))]
        )
        self.denied_sources.merge(other.denied_sources)
        self.denied_hosts.merge(other.denied_hosts)
        self.audited += other.audited
        self.disagreements += other.disagreements
        room = max(0, EXAMPLES - len(self.disagreement_examples))
        self.disagreement_examples.extend(other.disagreement_examples[:room])
        self.timeline.update(other.timeline)
        for source, fmt in other.sources.items():
            self.sources.setdefault(source, fmt)

    # ------------------------------------------------------------------ reading it

    def rule_hits(self) -> list[tuple[str, Rule | None, int, int]]:
        """(collection asked for, rule or None, code, count) for every rule and reason that
        decided something, most first; rules that never fired are in :meth:`never_fired`."""
        rows = []
        for (coll, code), count in self.hits.items():
            rows.append((COLLECTION_NAMES[coll], self.engine.rule(code), code, count))
        return sorted(rows, key=lambda row: (-row[3], row[0], row[2]))

    def never_fired(self) -> list[Rule]:
        """Rules that decided no request of the replay, in their collections' order."""
        fired = {code for (_, code) in self.hits if code >= 0}
        return [rule for index, rule in enumerate(self.engine.tables.rules) if index not in fired]

    def default_decisions(self) -> dict[str, int]:
        return {name: self.hits.get((c, DEFAULT), 0) for c, name in enumerate(COLLECTION_NAMES)}

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary (documented in docs/check.md)."""
        return {
            "rules": self.engine.site.source,
            "sources": dict(self.sources),
            "lines": self.lines,
            "requests": self.requests,
            "allowed": self.allowed,
            "denied": self.denied,
            "rejected": self.rejected,
            "metadata": self.metadata,
            "by_collection": {
                k: {"allowed": v[0], "denied": v[1]} for k, v in self.by_collection.items()
            },
            "by_family": {k: {"allowed": v[0], "denied": v[1]} for k, v in self.by_family.items()},
            "hits": [
                {"collection": coll, "decided_by": _rule_ref(rule, code), "count": count}
                for coll, rule, code, count in self.rule_hits()
            ],
            "never_fired": [rule.to_dict() for rule in self.never_fired()],
            "default_decisions": self.default_decisions(),
            "top_denied_sources": [{"ip": k, "count": v} for k, v in self.denied_sources.top()],
            "top_denied_hosts": [{"host": k, "count": v} for k, v in self.denied_hosts.top()],
            "top_is_approximate": self.denied_sources.approximate or self.denied_hosts.approximate,
            "audited": self.audited,
            "disagreements": self.disagreements,
            "disagreement_examples": [d.to_dict() for d in self.disagreement_examples],
            "reject_reasons": dict(self.reject_reasons),
            "first_rejects": [
                {"source": r.source, "line": r.line, "reason": r.reason, "text": r.text}
                for r in self.first_rejects
            ],
            "timeline": [
                {
                    "minute": bucket,
                    "allowed": self.timeline.get((bucket, 1), 0),
                    "denied": self.timeline.get((bucket, 0), 0),
                }
                for bucket in sorted({b for b, _ in self.timeline})
            ],
        }


def replay(
    engine: Engine,
    batches: Iterable[Batch],
    *,
    on_batch: Any = None,
) -> Summary:
    """Decide every batch and summarise. ``on_batch(batch, decisions)`` is called after each
    batch (progress bars, per-request output)."""
    summary = Summary(engine)
    for batch in batches:
        decided = summary.add(batch)
        if on_batch is not None:
            on_batch(batch, decided)
    return summary


# ---------------------------------------------------------------------------- what if


@dataclass
class Flip:
    """Requests whose decision changes, grouped by the deciding rule on each side."""

    before: dict[str, Any]
    after: dict[str, Any]
    direction: str
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class WhatIf:
    """The result of replaying the same traffic through a current and a proposed rule set."""

    current: Summary
    proposed: Summary
    flips: dict[tuple[str, int, int, str], Flip] = field(default_factory=dict)

    @property
    def flipped(self) -> int:
        return sum(flip.count for flip in self.flips.values())

    def groups(self) -> list[Flip]:
        return sorted(self.flips.values(), key=lambda flip: -flip.count)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.current.requests,
            "flipped": self.flipped,
            "allow_to_deny": sum(
                f.count for f in self.flips.values() if f.direction == "allow->deny"
            ),
            "deny_to_allow": sum(
                f.count for f in self.flips.values() if f.direction == "deny->allow"
            ),
            "groups": [
                {
                    "direction": f.direction,
                    "current": f.before,
                    "proposed": f.after,
                    "count": f.count,
                    "examples": f.examples,
                }
                for f in self.groups()
            ],
            "current": self.current.to_dict(),
            "proposed": self.proposed.to_dict(),
        }


def whatif(
    current: Engine, proposed: Engine, batches: Iterable[Batch], examples: int = 3
) -> WhatIf:
    """Replay the same batches through both engines and group the flips."""
    result = WhatIf(Summary(current), Summary(proposed))
    for batch in batches:
        a = result.current.add(batch)
        shadow = Batch(
            batch.source,
            batch.format,
            batch.lines,
            batch.ip,
            batch.host,
            batch.headers,
            batch.subnet,
            batch.service_endpoint,
            batch.time,
            None,
            None,
            [],
            0,
        )
        b = result.proposed.add(shadow)
        rows = np.nonzero((a.action != b.action) & (a.code != INVALID))[0].tolist()
        for row in rows:
            ca, cb = int(a.code[row]), int(b.code[row])
            coll = COLLECTION_NAMES[int(a.collection[row])]
            direction = "allow->deny" if a.action[row] else "deny->allow"
            key = (coll, ca, cb, direction)
            flip = result.flips.get(key)
            if flip is None:
                flip = result.flips[key] = Flip(
                    _rule_ref(current.rule(ca), ca) | {"collection": coll},
                    _rule_ref(proposed.rule(cb), cb) | {"collection": coll},
                    direction,
                )
            flip.count += 1
            if len(flip.examples) < examples:
                flip.examples.append(
                    {
                        "source": batch.source,
                        "line": batch.lines[row],
                        "ip": batch.ip[row],
                        "host": batch.host[row],
                    }
                )
    return result


def iter_rows(batch: Batch, result: BulkDecisions) -> Iterator[dict[str, Any]]:
    """One record per request of a batch, for ``--out`` (documented in docs/check.md)."""
    engine = result._engine
    for row in range(len(batch)):
        code = int(result.code[row])
        rule = engine.rule(code)
        yield {
            "source": batch.source,
            "line": batch.lines[row],
            "time": batch.time[row] if batch.time is not None else None,
            "ip": batch.ip[row],
            "host": batch.host[row],
            "collection": COLLECTION_NAMES[int(result.collection[row])],
            "action": "allow" if result.action[row] else "deny",
            "status": 200 if result.action[row] else 403,
            "reason": "rule" if code >= 0 else REASON_WORDS.get(code, "invalid"),
            "rule_position": rule.position if rule is not None else None,
            "rule_name": rule.name if rule is not None else None,
            "rule_priority": rule.priority if rule is not None else None,
            "recorded": batch.recorded[row] if batch.recorded is not None else None,
        }


def audit_record(
    row: Mapping[str, Any], rule: Rule | None, headers: Mapping[str, str | None]
) -> dict[str, Any]:
    """A decision in the ``AppServiceIPSecAuditLogs`` resource-log shape."""
    result = "Allowed" if row["action"] == "allow" else "Denied"
    if rule is not None:
        what = rule.ip_address or rule.vnet_subnet_resource_id or rule.name or f"#{rule.position}"
        details = f"{result} by {what} rule."
    else:
        details = f"{result} by {row['reason']}."
    ip = row["ip"] or ""
    return {
        "time": row["time"],
        "category": "AppServiceIPSecAuditLogs",
        "operationName": "Authorization",
        "properties": {
            "CIp": f"[{ip}]:0" if ":" in ip else f"{ip}:0",
            "CsHost": row["host"] or "",
            "Result": result,
            "Details": details,
            "ServiceEndpoint": "False",
            "XForwardedFor": headers.get("X-Forwarded-For") or "",
            "XForwardedHost": headers.get("X-Forwarded-Host") or "",
            "XAzureFDID": headers.get("X-Azure-FDID") or "",
            "XFDHealthProbe": headers.get("X-FD-HealthProbe") or "",
        },
    }

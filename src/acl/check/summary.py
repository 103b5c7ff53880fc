"""The summary of replayed traffic: what ``acl check`` and ``acl whatif`` print.

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt

from ..compiler import (
    DEFAULT,
    INVALID,
    PRIVATE_ENDPOINT,
    PUBLIC_ACCESS_DISABLED,
    SERVICE_ENDPOINT_BLOCKED,
)
from ..decision import Decision
from ..engine import BulkDecisions, Engine
from ..errors import AclError
from ..logs import Batch, Reject
from ..model import Request, Rule

__all__ = [
    "COLLECTION_NAMES",
    "FAMILY_NAMES",
    "REASON_WORDS",
    "AddressCounter",
    "Disagreement",
    "Summary",
    "TopCounter",
    "decide_batch",
    "request_of",
    "rule_ref",
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
        self._add(Counter(keys))

    def _add(self, batch: Counter[str]) -> None:
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
        self._add(other.counts)
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
            self._v6, inverse = _unique_pairs(pairs)
            self._n6 = np.bincount(inverse, weights=weights).astype(np.int64)
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


def _unique_pairs(
    pairs: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """``np.unique(pairs, axis=0, return_inverse=True)`` for (n, 2) uint64 rows, in the same
    (lexicographic) order, by ranks: each half is ranked by a plain sort of one column, and
    the pair of ranks fits one int64 key. Several times faster than sorting the rows."""
    high, high_rank = np.unique(pairs[:, 0], return_inverse=True)
    low, low_rank = np.unique(pairs[:, 1], return_inverse=True)
    keys, inverse = np.unique(
        high_rank.reshape(-1).astype(np.int64) * len(low) + low_rank.reshape(-1),
        return_inverse=True,
    )
    rows = np.stack([high[keys // len(low)], low[keys % len(low)]], axis=1).astype(np.uint64)
    return rows, inverse.reshape(-1)


def _minutes(times: list[Any], action: npt.NDArray[np.bool_]) -> Iterator[tuple[str, int, int]]:
    """(minute, allowed, denied) per run of equal times of a batch's record times.

    Logs are written in time order, so the rows form a few runs: runs of one value (the
    readers give one object for a value equal to the previous row's, so most comparisons
    are by identity), else runs of one minute (the times cut to a fixed-width numpy column).
    Only the runs reach Python; other columns (times out of order, or all different minutes)
    are counted row by row. A missing time is the bucket ``""``.
    """
    n = len(times)
    if not n:
        return
    column: Any = np.empty(n, dtype=object)
    column[:] = times
    starts = np.flatnonzero(np.concatenate(([True], column[1:] != column[:-1])))
    if len(starts) * 8 > n and None not in times:
        try:
            column = np.array(times, dtype="U16")
        except (TypeError, ValueError):
            pass
        else:
            starts = np.flatnonzero(np.concatenate(([True], column[1:] != column[:-1])))
    if len(starts) * 8 <= n:
        allowed = np.add.reduceat(action.astype(np.int64), starts).tolist()
        sizes = np.diff(np.append(starts, n)).tolist()
        for start, yes, size in zip(starts.tolist(), allowed, sizes, strict=True):
            when = column[start]
            yield ("" if when is None else str(when))[:16], yes, size - yes
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


def rule_ref(rule: Rule | None, code: int) -> dict[str, Any]:
    """A deciding rule as JSON: the rule's fields, or the reason when no rule decided."""
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
        every = not result.invalid
        # One bincount per table: (collection, action), (family, action), (collection, code).
        allows = action.astype(np.intp)
        pairs = coll.astype(np.intp) * 2 + allows
        cells = np.bincount(pairs if every else pairs[valid], minlength=4).tolist()
        self.requests += sum(cells)
        self.allowed += cells[1] + cells[3]
        for c, name in enumerate(COLLECTION_NAMES):
            self.by_collection[name][0] += cells[2 * c + 1]
            self.by_collection[name][1] += cells[2 * c]
        family = result.family
        known = (family == 4) | (family == 6)
        cells = np.bincount(
            ((family == 6).astype(np.intp) * 2 + allows)[known], minlength=4
        ).tolist()
        for k, name in enumerate(FAMILY_NAMES.values()):
            self.by_family[name][0] += cells[2 * k + 1]
            self.by_family[name][1] += cells[2 * k]
        # Codes run from SERVICE_ENDPOINT_BLOCKED (-5) up to the last rule index.
        width = len(self.engine.tables.rules) + 8
        keys = coll.astype(np.intp) * width + (code.astype(np.intp) + 8)
        tally = np.bincount(keys if every else keys[valid], minlength=2 * width)
        for key in np.flatnonzero(tally).tolist():
            self.hits[(key // width, key % width - 8)] += int(tally[key])
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
                {"collection": coll, "decided_by": rule_ref(rule, code), "count": count}
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

"""Replaying traffic through rule sets: :func:`replay` (``acl check``) and :func:`whatif`
(``acl whatif``: the same traffic through the current and a proposed rule set, the requests
whose decision flips grouped by the deciding rule on each side).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..compiler import INVALID
from ..engine import Engine
from ..logs import Batch, ReadOptions, expand_sources, read_logs
from ..logs.parts import Part, plan_parts, read_part
from .summary import COLLECTION_NAMES, Summary, rule_ref

__all__ = ["Flip", "WhatIf", "replay", "replay_files", "whatif"]


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


def replay_files(
    engine: Engine,
    sources: Iterable[str],
    options: ReadOptions | None = None,
    *,
    workers: int | None = None,
) -> Summary:
    """:func:`replay` of log files, a big file read in parts by ``workers`` processes at once
    (default: one per core): the same summary as ``replay(engine, read_logs(sources,
    options))``. Files that are not split (see :mod:`acl.logs.parts`) are read whole, by the
    same processes. When no file is split, without ``fork``, or when this process runs other
    threads (a fork inherits their locks held, and can hang), everything runs here."""
    count = workers if workers is not None else (os.cpu_count() or 1)
    names = expand_sources(sources)
    tasks: list[str | Part] = []
    for name in names:
        tasks.extend((plan_parts(name, count, options) if count > 1 else None) or [name])
    if (
        len(tasks) == len(names)
        or "fork" not in multiprocessing.get_all_start_methods()
        or threading.active_count() > 1
    ):
        return replay(engine, read_logs(names, options))
    global _REPLAYING
    _REPLAYING = (engine, options)
    try:
        with multiprocessing.get_context("fork").Pool(min(count, len(tasks))) as pool:
            summary: Summary | None = None
            for part in pool.imap(_replay_task, tasks):
                part.engine = engine
                if summary is None:
                    summary = part
                else:
                    summary.merge(part)
    finally:
        _REPLAYING = None
    assert summary is not None
    return summary


_REPLAYING: tuple[Engine, ReadOptions | None] | None = None
"""What the forked workers of :func:`replay_files` replay with (inherited, not pickled)."""


def _replay_task(task: str | Part) -> Summary:
    assert _REPLAYING is not None
    engine, options = _REPLAYING
    batches = read_part(task, options) if isinstance(task, Part) else read_logs([task], options)
    summary = replay(engine, batches)
    summary.engine = None  # type: ignore[assignment]  # the parent puts its own back
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
                    rule_ref(current.rule(ca), ca) | {"collection": coll},
                    rule_ref(proposed.rule(cb), cb) | {"collection": coll},
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

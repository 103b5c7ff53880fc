"""How a collection decides one class of requests: every address of some ranges, with one
fixed set of headers, not through a service endpoint (the requests an Azure service makes
from a service tag's ranges). Exact: the ranges are cut at every boundary of the rules, and
each piece is decided once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..headers import HEADER_NAMES
from .search import Found, Witness, witness
from .space import EP_NONE, CollectionModel, Space, State, merge_ranges

__all__ = ["Reach", "header_state", "reach", "reach_witness"]


@dataclass(frozen=True, slots=True)
class Reach:
    """A range of addresses of one family that a collection decides alike: ``code`` is the
    deciding rule's index in the model, or :data:`acl.analysis.space.DEFAULT` (or another
    negative decision code)."""

    version: int
    first: int
    last: int
    code: int


def header_state(space: Space, headers: Sequence[tuple[str, str]]) -> State:
    """The state of a request with exactly these headers (canonical names), not through a
    service endpoint: the filters of ``space`` its headers satisfy."""
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        if name not in HEADER_NAMES:
            raise ValueError(f"header {name!r} is not one access restrictions read")
        by_name.setdefault(name, []).append(value)
    filters: set[int] = set()
    for name, values in by_name.items():
        filters.update(space.index.satisfied(name, values))
    shown = tuple((name, tuple(values)) for name, values in by_name.items())
    return State(EP_NONE, frozenset(filters), shown)


def reach(
    model: CollectionModel,
    ranges: Mapping[int, Iterable[tuple[int, int]]],
    state: State,
) -> list[Reach]:
    """How ``model`` decides every address of ``ranges`` (per family, inclusive) in
    ``state``: the ranges in address order, adjacent ones with the same decision merged."""
    out: list[Reach] = []
    for version in (4, 6):
        wanted = merge_ranges(ranges.get(version, ()))
        if not wanted:
            continue
        segments = iter(model.segments(version))
        segment = next(segments, None)
        decided: dict[int, int] = {}
        for first, last in wanted:
            while segment is not None and segment[1] < first:
                segment = next(segments, None)
            while segment is not None and segment[0] <= last:
                start, end, list_id = segment
                code = decided.get(list_id)
                if code is None:
                    code = decided[list_id] = model.decide(model.cut1[list_id], state)
                low, high = max(start, first), min(end, last)
                previous = out[-1] if out else None
                if (
                    previous is not None
                    and previous.version == version
                    and previous.code == code
                    and previous.last + 1 == low
                ):
                    out[-1] = Reach(version, previous.first, high, code)
                else:
                    out.append(Reach(version, low, high, code))
                if end > last:
                    break
                segment = next(segments, None)
    return out


def reach_witness(space: Space, model: CollectionModel, piece: Reach, state: State) -> Witness:
    """A request of a piece, checked with the reference evaluator."""
    return witness(space, model, Found(piece.version, piece.first, piece.last, state, piece.code))

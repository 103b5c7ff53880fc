"""The first-match partition of one address family: the sweep at the heart of
:func:`acl.compiler.build_tables`.

CIDR blocks are nested or disjoint. Each elementary range of the partition carries the
rules that cover it, in evaluation order, cut after the first rule without conditions.
:func:`partition` is the general sweep; :func:`plain_partition_v4` the same answer with array
operations for IPv4 tables whose rules all decide on their source alone (block lists, large
generated tables), where every list is one rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["all_plain", "partition", "plain_partition_v4"]

U8 = npt.NDArray[np.uint8]


def partition(
    blocks: list[tuple[int, int, int]],
    everywhere: list[int],
    unconditional: Sequence[bool],
    bits: int,
    lists: dict[tuple[int, ...], int],
) -> tuple[list[int], list[int]]:
    """Partition one family: returns range starts and a candidate list id per range.

    ``blocks`` holds ``(network, length, rule)`` for every prefix of every rule (rules are
    compiled rule indexes, which follow evaluation order); ``everywhere`` the rules that
    cover every address. A range's list is the rules covering it, in order, cut after the
    first unconditional one. CIDR blocks are nested or disjoint, so one pass over them
    sorted by (start, size) with a stack of the enclosing blocks finds every range; a
    block's list is its parent's merged with its own rules.
    """

    def cut(orders: Iterable[int]) -> tuple[int, ...]:
        out: list[int] = []
        for k in sorted(set(orders)):
            out.append(k)
            if unconditional[k]:
                break
        return tuple(out)

    starts: list[int] = []
    ids: list[int] = []
    stack: list[tuple[int, tuple[int, ...]]] = [((1 << bits) - 1, cut(everywhere))]
    cursor = 0
    blocks.sort()
    count = len(blocks)
    index = 0
    while index < count or stack:
        if index < count:
            first, length, rule = blocks[index]
            orders = [rule]
            index += 1
            while index < count and blocks[index][0] == first and blocks[index][1] == length:
                orders.append(blocks[index][2])
                index += 1
            limit = first
        else:
            limit = 1 << bits  # no more blocks: close everything
        while stack and stack[-1][0] < limit:
            last, members = stack.pop()
            if cursor <= last:
                list_id = lists.setdefault(members, len(lists))
                if not ids or ids[-1] != list_id:
                    starts.append(cursor)
                    ids.append(list_id)
                cursor = last + 1
        if limit == 1 << bits:
            break
        parent = stack[-1][1]
        if cursor < first:
            list_id = lists.setdefault(parent, len(lists))
            if not ids or ids[-1] != list_id:
                starts.append(cursor)
                ids.append(list_id)
            cursor = first
        if parent and unconditional[parent[-1]] and orders[0] > parent[-1]:
            merged = parent  # an earlier unconditional rule already decides in this block
        else:
            merged = cut([*parent, *orders])
        stack.append((first + (1 << (bits - length)) - 1, merged))
    return starts, ids


def all_plain(blocks: list[tuple[int, int, int]], everywhere: list[int], cond: U8) -> bool:
    """Whether every rule of these IPv4 blocks and ``everywhere`` is without conditions."""
    if len(blocks) < 4096:
        return False  # small tables: the sweep is as fast
    rules = np.fromiter((b[2] for b in blocks), dtype=np.int64, count=len(blocks))
    return not (cond[rules].any() or cond[np.array(everywhere, dtype=np.int64)].any())


def plain_partition_v4(
    blocks: list[tuple[int, int, int]],
    everywhere: list[int],
    unconditional: Sequence[bool],
    bits: int,
    lists: dict[tuple[int, ...], int],
) -> tuple[list[int], list[int]]:
    """:func:`partition` for IPv4 blocks whose rules are all without conditions, with
    array operations: there every candidate list is one rule, the first that covers.

    A block never decides where an enclosing block (or an ``Any`` rule) comes first, so it
    is dropped; among the blocks left, each comes before all that enclose it, so at every
    address the deepest block decides. Both steps look the enclosing blocks up by their
    masked networks, one prefix length at a time (at most 33 lengths)."""
    del unconditional  # every rule here is unconditional
    none = np.int64(1) << 40
    first = min(everywhere) if everywhere else none
    table = np.array(blocks, dtype=np.int64).reshape(-1, 3)
    key = (table[:, 0] << 6) | table[:, 1]
    order = np.lexsort((table[:, 2], key))  # by block, then rule: the first rule of each
    key = key[order]
    unique = np.concatenate([[True], key[1:] != key[:-1]])
    key, rule = key[unique], table[order[unique], 2]
    net, length = key >> 6, key & 63

    def lookup(keys: npt.NDArray[np.int64], rules: npt.NDArray[np.int64], query: Any) -> Any:
        at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
        return np.where(keys[at] == query, rules[at], none)

    enclosing = np.full(len(key), none)
    for size in np.unique(length).tolist():
        of_size = length == size
        deeper = length > size
        query = ((net[deeper] >> (32 - size)) << (32 - size) << 6) | size
        found = lookup(key[of_size], rule[of_size], query)
        enclosing[deeper] = np.minimum(enclosing[deeper], found)
    alive = (rule < first) & (rule < enclosing)
    key, rule, net, length = key[alive], rule[alive], net[alive], length[alive]
    ends = net + (np.int64(1) << (32 - length))
    points = np.unique(np.concatenate([[0], net, ends[ends < (1 << 32)]]))
    winner = np.full(len(points), first)
    decided = np.zeros(len(points), dtype=bool)
    for size in sorted(np.unique(length).tolist(), reverse=True):
        of_size = length == size
        query = ((points >> (32 - size)) << (32 - size) << 6) | size
        found = lookup(key[of_size], rule[of_size], query)
        hit = (found != none) & ~decided
        winner[hit] = found[hit]
        decided |= hit
    change = np.concatenate([[True], winner[1:] != winner[:-1]])
    starts, winner = points[change], winner[change]
    values, inverse = np.unique(winner, return_inverse=True)
    ids = np.array(
        [lists.setdefault((v,) if v != none else (), len(lists)) for v in values.tolist()],
        dtype=np.int64,
    )
    return starts.tolist(), ids[inverse].tolist()

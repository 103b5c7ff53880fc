"""Address ranges as integers: CIDR covers, merging, and readable example addresses.

>>> from acl.analysis.ranges import merge_ranges, range_to_cidrs
>>> [range_to_cidrs(a, b, 32) for a, b in merge_ranges([(0, 127), (128, 255)])]
[[(0, 24)]]
"""

from __future__ import annotations

from collections.abc import Iterable

from ..addresses import MAPPED_V4, format_address

__all__ = [
    "BITS",
    "MAPPED_LAST",
    "NICE_ADDRESSES",
    "format_cidr",
    "merge_ranges",
    "pick_address",
    "range_to_cidrs",
]

MAPPED_LAST = MAPPED_V4 + (1 << 32) - 1
"""The last address of the IPv4-mapped block ``::ffff:0:0/96``."""
BITS = {4: 32, 6: 128}
"""Address width per family."""


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

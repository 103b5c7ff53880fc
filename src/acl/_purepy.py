"""The pure-Python twin of :mod:`acl._fast`: the same class, the same methods, the same
answers, over the same tables. Used when the extension is missing or when
``ACL_NO_EXTENSIONS=1``; the test suite runs against both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .addresses import parse_address as _parse_strict
from .compiler import (
    COND_ENDPOINT,
    COND_HEADERS,
    COND_SUBNET,
    DEFAULT,
    INVALID,
    PRIVATE_ENDPOINT,
    PUBLIC_ACCESS_DISABLED,
    SERVICE_ENDPOINT_BLOCKED,
    FamilyTable,
    Tables,
    plain_codes,
)
from .errors import AddressError

__all__ = ["Kernel", "parse_address"]

U64 = (1 << 64) - 1
MAX_TEXT = 64


def parse_address(text: object) -> tuple[int, int]:
    """``(version, value)`` of an address string, or ``(0, 0)`` when invalid."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            return (0, 0)
    if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
        return (0, 0)
    try:
        return _parse_strict(text)
    except AddressError:
        return (0, 0)


def _range(table: FamilyTable, version: int, value: int) -> int:
    if version == 4:
        chunk = value >> (32 - table.root_bits)
        lo, hi = int(table.root[chunk]), int(table.root[chunk + 1])
        starts = table.starts_lo
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if int(starts[mid]) <= value:
                lo = mid
            else:
                hi = mid - 1
        return lo
    ah, al = value >> 64, value & U64
    chunk = ah >> (64 - table.root_bits)
    lo, hi = int(table.root[chunk]), int(table.root[chunk + 1])
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        sh, sl = int(table.starts_hi[mid]), int(table.starts_lo[mid])
        if sh < ah or (sh == ah and sl <= al):
            lo = mid
        else:
            hi = mid - 1
    return lo


class Kernel:
    """Decisions over :class:`~acl.compiler.Tables` in plain Python."""

    def __init__(
        self,
        tables: Tables,
        site: Any,
        decision_type: type,
        slow: Callable[..., Any],
        is_scm_host: Callable[[str], bool],
    ) -> None:
        self._t = tables
        self._site = site
        self._decision = decision_type
        self._slow = slow
        self._is_scm_host = is_scm_host
        self._nrules = len(tables.rules)
        self._plain = plain_codes(tables.list_offsets, tables.list_rules, tables.rule_cond)
        self._actions = np.append(tables.rule_action, np.uint8(0))  # never empty

    def arrays(self) -> list[Any]:
        """The arrays the kernel holds besides the tables."""
        return [self._plain, self._actions]

    # ---------------------------------------------------------------- the decision itself

    def _resolve(
        self, list_id: int, endpoint: bool, subnet: int, sat: Sequence[Iterable[int]]
    ) -> int:
        t = self._t
        for k in range(int(t.list_offsets[list_id]), int(t.list_offsets[list_id + 1])):
            r = int(t.list_rules[k])
            cond = int(t.rule_cond[r])
            if cond == 0:
                return r
            if cond & COND_ENDPOINT and not endpoint:
                continue
            if cond & COND_SUBNET and subnet != int(t.rule_subnet[r]):
                continue
            if cond & COND_HEADERS:
                filters = t.rule_filters[
                    int(t.rule_filter_offsets[r]) : int(t.rule_filter_offsets[r + 1])
                ]
                if not all(int(f) in sat[int(t.filter_header[int(f)])] for f in filters):
                    continue
            return r
        return DEFAULT

    def _code(
        self,
        version: int,
        value: int,
        coll: int,
        endpoint: bool,
        private: bool,
        subnet: int,
        sat: Sequence[Iterable[int]],
    ) -> int:
        if private:
            return PRIVATE_ENDPOINT
        if self._t.public_disabled:
            return PUBLIC_ACCESS_DISABLED
        if version not in (4, 6):
            return INVALID
        if endpoint:
            if self._t.endpoint_blocked:
                return SERVICE_ENDPOINT_BLOCKED
            endpoint_list = int(self._t.endpoint_lists[coll])
            if endpoint_list >= 0:
                return self._resolve(endpoint_list, endpoint, subnet, sat)
        if version == 6 and value >> 32 == 0xFFFF:
            version, value = 4, value & 0xFFFFFFFF  # an IPv4-mapped address is IPv4
        table = self._t.family(coll, version)
        list_id = int(table.ranges[_range(table, version, value)])
        return self._resolve(list_id, endpoint, subnet, sat)

    def _action(self, code: int, coll: int) -> int:
        return self._t.action_of(coll, code)

    # ---------------------------------------------------------------- one request

    def decide(
        self,
        request: Any,
        *,
        host: str | None = None,
        headers: Any = None,
        subnet: str | None = None,
        service_endpoint: bool = False,
        private_endpoint: bool = False,
        explain: bool = False,
    ) -> Any:
        if (
            type(request) is str
            and headers is None
            and subnet is None
            and not service_endpoint
            and not private_endpoint
            and not explain
        ):
            version, value = parse_address(request)
            if version:
                coll = 1 if host is not None and self._is_scm_host(host) else 0
                code = self._code(version, value, coll, False, False, 0, ((), (), (), ()))
                return self._decision(self._t.outcome(coll, code), request, None, self._site, host)
        return self._slow(
            request, host, headers, subnet, service_endpoint, private_endpoint, explain
        )

    def code_one(
        self,
        version: int,
        hi: int,
        lo: int,
        coll: int,
        endpoint: bool,
        private: bool,
        subnet: int,
        sat: Sequence[Iterable[int]],
    ) -> int:
        value = lo if version == 4 else (hi << 64) | lo
        return self._code(version, value, coll, endpoint, private, subnet, [set(s) for s in sat])

    # ---------------------------------------------------------------- columns

    def codes(
        self,
        version: npt.NDArray[np.uint8],
        hi: npt.NDArray[np.uint64],
        lo: npt.NDArray[np.uint64],
        v4: npt.NDArray[np.uint32],
        coll: npt.NDArray[np.uint8],
        endpoint: npt.NDArray[np.uint8],
        private: npt.NDArray[np.uint8],
        subnet: npt.NDArray[np.int32],
        hv: npt.NDArray[np.int32],
        sat_off: npt.NDArray[np.int32],
        sat_ids: npt.NDArray[np.int32],
        out_code: npt.NDArray[np.int32],
        out_action: npt.NDArray[np.uint8],
    ) -> None:
        n = len(out_code)
        only_v4 = len(v4) == n and n > 0

        def at(column: Any, i: int) -> int:
            return int(column[i if len(column) == n else 0])

        per_hv = hv.shape[1] == n
        cache: dict[int, set[int]] = {}

        def sat_of(vid: int) -> set[int]:
            if vid not in cache:
                cache[vid] = {int(x) for x in sat_ids[int(sat_off[vid]) : int(sat_off[vid + 1])]}
            return cache[vid]

        for i in range(n):
            j = i if per_hv else 0
            sat = [sat_of(int(hv[h, j])) for h in range(4)]
            c = at(coll, i)
            if only_v4:
                ver, value = 4, int(v4[i])
            else:
                ver = int(version[i])
                value = int(lo[i]) if ver == 4 else (int(hi[i]) << 64) | int(lo[i])
            code = self._code(
                ver, value, c, bool(at(endpoint, i)), bool(at(private, i)), at(subnet, i), sat
            )
            out_code[i] = code
            out_action[i] = self._action(code, c)

    def codes_plain(
        self,
        version: npt.NDArray[np.uint8],
        hi: npt.NDArray[np.uint64],
        lo: npt.NDArray[np.uint64],
        v4: npt.NDArray[np.uint32],
        coll: int,
        out_code: npt.NDArray[np.int32],
        out_action: npt.NDArray[np.uint8],
    ) -> None:
        n = len(out_code)
        if len(v4) != n:
            none = np.zeros(1, dtype=np.uint8)
            self.codes(
                version,
                hi,
                lo,
                v4,
                np.array([coll], dtype=np.uint8),
                none,
                none,
                np.zeros(1, dtype=np.int32),
                np.zeros((4, 1), dtype=np.int32),
                np.zeros(2, dtype=np.int32),
                np.zeros(0, dtype=np.int32),
                out_code,
                out_action,
            )
            return
        if self._t.public_disabled:
            out_code[:] = PUBLIC_ACCESS_DISABLED
            out_action[:] = 0
            return
        table = self._t.family(coll, 4)
        index = np.searchsorted(table.starts_lo, v4.astype(np.uint64), side="right") - 1
        codes = self._plain[table.ranges[index]]
        out_code[:] = codes
        out_action[:] = np.where(
            codes >= 0, self._actions[np.maximum(codes, 0)], self._t.defaults[coll]
        )

    # ---------------------------------------------------------------- parsing columns

    @staticmethod
    def _store(i: int, parsed: tuple[int, int], version: Any, hi: Any, lo: Any) -> int:
        ver, value = parsed
        version[i] = ver
        hi[i] = value >> 64 if ver == 6 else 0
        lo[i] = value & U64
        return 1 if ver == 0 else 0

    def parse_objects(self, seq: Iterable[object], version: Any, hi: Any, lo: Any) -> int:
        items = list(seq)
        if len(items) != len(version):
            raise ValueError("output arrays do not have the column's length")
        return sum(
            self._store(i, parse_address(obj), version, hi, lo) for i, obj in enumerate(items)
        )

    def parse_bytes_matrix(self, text: Any, version: Any, hi: Any, lo: Any) -> int:
        rows = [bytes(row).rstrip(b"\0") for row in np.asarray(text)]
        return sum(
            self._store(i, parse_address(row), version, hi, lo) for i, row in enumerate(rows)
        )

    def parse_ucs4_matrix(self, text: Any, version: Any, hi: Any, lo: Any) -> int:
        bad = 0
        for i, row in enumerate(np.asarray(text)):
            chars = [int(c) for c in row]
            while chars and chars[-1] == 0:
                chars.pop()
            ok = all(0 < c < 128 for c in chars)
            parsed = parse_address("".join(map(chr, chars))) if ok else (0, 0)
            bad += self._store(i, parsed, version, hi, lo)
        return bad

    def parse_offsets(
        self, offsets: Any, data: Any, valid: Any, version: Any, hi: Any, lo: Any
    ) -> int:
        raw = bytes(np.asarray(data))
        bad = 0
        for i in range(len(version)):
            start, stop = int(offsets[i]), int(offsets[i + 1])
            parsed = parse_address(raw[start:stop]) if valid[i] and stop > start else (0, 0)
            bad += self._store(i, parsed, version, hi, lo)
        return bad

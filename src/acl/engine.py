"""The engine: what applications call to decide requests, one at a time or by the million.

:func:`compile` turns a :class:`~acl.model.Site` into an :class:`Engine` over compiled
:class:`~acl.compiler.Tables`. The engine's answers are, by contract, the reference
evaluator's (:mod:`acl.reference`); the test suite checks that with Hypothesis.

The kernel is the Cython extension :mod:`acl._fast` when it is built and
``ACL_NO_EXTENSIONS`` is not set, else its pure-Python twin :mod:`acl._purepy`.
:data:`KERNEL` says which.
"""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from . import saved
from .collector import collector_paused
from .columns import (
    Memo,
    as_column,
    dictionary_encoded,
    flags,
    in_parallel,
    is_pair,
    spans,
)
from .compiler import (
    INVALID,
    LOWEST_CODE,
    Tables,
    build_tables,
    subnet_id,
)
from .decision import Decision
from .errors import ConfigError, Origin, RequestError
from .headers import HEADER_NAMES, canonical_header
from .model import HeadersInput, Request, Rule, Site, is_scm_host, normalize_subnet
from .reference import evaluate
from .saved import ARRAY_FIELDS, FAMILIES, SAVE_FORMAT

__all__ = [
    "ARRAY_FIELDS",
    "FAMILIES",
    "KERNEL",
    "SAVE_FORMAT",
    "BulkDecisions",
    "Engine",
    "compile",
    "load_engine",
]


def _select_kernel() -> tuple[str, Any]:
    if os.environ.get("ACL_NO_EXTENSIONS", "") not in ("", "0"):
        from . import _purepy

        return "python", _purepy
    try:
        from . import _fast
    except ImportError:
        from . import _purepy

        return "python", _purepy
    return "cython", _fast


KERNEL, _kernel_module = _select_kernel()
"""``"cython"`` or ``"python"``: the kernel engines use by default."""

KERNELS = ("cython", "python")

_MASK64 = (1 << 64) - 1
_CANONICAL_HEADERS = {name.lower(): name for name in HEADER_NAMES}


def _kernel_class(name: str | None) -> Any:
    if name is None or name == KERNEL:
        return _kernel_module.Kernel
    if name == "python":
        from . import _purepy

        return _purepy.Kernel
    if name == "cython":
        from . import _fast

        return _fast.Kernel
    raise ValueError(f"kernel {name!r} is unknown: expected one of {', '.join(KERNELS)}")


class Decide(Protocol):
    """The signature of :attr:`Engine.decide`."""

    def __call__(
        self,
        request: Request | str,
        *,
        host: str | None = None,
        headers: HeadersInput = None,
        subnet: str | None = None,
        service_endpoint: bool = False,
        private_endpoint: bool = False,
        explain: bool = False,
    ) -> Decision: ...


@dataclass(frozen=True, eq=False)
class BulkDecisions:
    """The decisions for a batch, as columns (numpy arrays of the batch's length).

    Attributes:
        action: 1 allow, 0 deny (an invalid address is denied).
        code: the compiled rule index (>= 0) or the reason code; ``engine.rule(code)``.
        invalid: how many rows had an invalid address.

    ``rule``, ``collection`` and ``family`` are computed from these on first access:

    - ``rule``: the deciding rule's position in its list in the source file (>= 0), or a
      negative reason code: -1 the unmatched-rule action, -2 private endpoint, -3 public
      access disabled, -4 invalid input, -5 service-endpoint traffic to a site with a
      private endpoint. With ``scmIpSecurityRestrictionsUseMain`` an scm
      request's rule is in the main list.
    - ``collection``: 0 main, 1 scm (the collection the request asked for).
    - ``family``: 4 or 6 (IPv4-mapped addresses count as 4), 0 for an invalid address.
    """

    action: npt.NDArray[np.uint8]
    code: npt.NDArray[np.int32]
    invalid: int
    _engine: Engine
    _collection: npt.NDArray[np.uint8]
    """One value for all rows, or one per row."""
    _addresses: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint64], npt.NDArray[np.uint64]] | None
    """(version, hi, lo) of the rows, or None when every row was numeric IPv4."""

    @cached_property
    def rule(self) -> npt.NDArray[np.int32]:
        positions = self._engine.tables.rule_position
        lookup = np.concatenate(
            [np.arange(LOWEST_CODE, 0, dtype=np.int32), positions.astype(np.int32)]
        )
        return lookup[self.code - LOWEST_CODE]

    @cached_property
    def collection(self) -> npt.NDArray[np.uint8]:
        if len(self._collection) == len(self.code):
            return self._collection
        return np.full(len(self.code), self._collection[0], dtype=np.uint8)

    @cached_property
    def family(self) -> npt.NDArray[np.uint8]:
        n = len(self.code)
        if self._addresses is None:
            return np.full(n, 4, dtype=np.uint8)
        version, hi, lo = self._addresses
        family: npt.NDArray[np.uint8] = np.array(version, dtype=np.uint8)
        mapped = (family == 6) & (hi == 0) & ((lo >> np.uint64(32)) == 0xFFFF)
        family[mapped] = 4
        return family

    def __len__(self) -> int:
        return len(self.action)

    @property
    def allowed(self) -> int:
        return int(self.action.sum())

    @property
    def denied(self) -> int:
        return len(self) - self.allowed

    def decision(self, index: int, ip: str = "") -> Decision:
        """Row ``index`` as a :class:`Decision` (``ip`` labels it: the columns hold no text)."""
        code = int(self.code[index])
        if code == INVALID:
            raise RequestError(f"row {index} has an invalid address")
        coll = int(self.collection[index])
        return Decision(self._engine.tables.outcome(coll, code), ip or "0.0.0.0")

    def hits(self) -> dict[int, int]:
        """Decisions per code (compiled rule index or negative reason code)."""
        values, counts = np.unique(self.code, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


MEMO_BYTES = 1 << 20
"""The most bytes of header text (keys, counted with ``sys.getsizeof``) an engine's memo of
header answers holds: 1 MiB. When a new answer would pass it, the memo is emptied."""
MEMO_VALUE_CHARS = 256
"""The longest header (all its copies, in characters) whose answer is remembered. Azure
limits X-Azure-FDID, X-FD-HealthProbe and X-Forwarded-Host filter values to 64 characters;
a longer value is still decided exactly, just not remembered."""


def _key_bytes(key: tuple[str, tuple[str, ...]]) -> int:
    """What a memo key holds: its strings (the header name is shared) and its tuples."""
    return sys.getsizeof(key) + sys.getsizeof(key[1]) + sum(sys.getsizeof(v) for v in key[1])


class Engine:
    """Decides requests for one site. Immutable; safe to share between threads.

    >>> import acl
    >>> engine = acl.compile(acl.loads('{"ipSecurityRestrictionsDefaultAction": "Deny"}'))
    >>> engine.decide("192.0.2.1").status
    403
    """

    decide: Decide
    """Decide one request (see :class:`Decide`, and the note in ``__init__``)."""

    __slots__ = (
        "_digest",
        "_kernel",
        "_kernel_name",
        "_satisfied",
        "_satisfied_bytes",
        "_site",
        "_tables",
        "decide",
    )

    def __init__(
        self, site: Site, tables: Tables | None = None, *, kernel: str | None = None
    ) -> None:
        self._site = site
        if tables is None:
            with collector_paused():
                tables = build_tables(site)
        self._tables = tables
        self._kernel_name = kernel or KERNEL
        self._satisfied: dict[tuple[str, tuple[str, ...]], tuple[int, ...]] = {}
        self._satisfied_bytes = 0
        """The bytes of the memo's keys."""
        self._digest: str | None = None
        self._kernel = _kernel_class(kernel)(self._tables, site, Decision, self._slow, is_scm_host)
        self.decide: Decide = self._kernel.decide
        """Decide one request: ``decide(request_or_ip, *, host=None, headers=None,
        subnet=None, service_endpoint=False, private_endpoint=False, explain=False)``.

        ``request_or_ip`` is a :class:`Request` or the source address as text. The common
        case (an address, perhaps a host) runs entirely in the kernel. ``explain=True``
        keeps the trace now; ``Decision.explain()`` computes it on demand otherwise.
        """

    # ------------------------------------------------------------------ properties

    @property
    def site(self) -> Site:
        return self._site

    @property
    def tables(self) -> Tables:
        return self._tables

    @property
    def kernel(self) -> str:
        """``"cython"`` or ``"python"``."""
        return self._kernel_name

    @property
    def nbytes(self) -> int:
        """Bytes held by the compiled arrays: the tables and the kernel's own (each buffer
        counted once)."""
        seen: dict[int, int] = {}
        for array in [*self._tables.arrays(), *self._kernel.arrays()]:
            base = array
            while isinstance(base, np.ndarray) and base.base is not None:
                base = base.base
            seen[id(base)] = max(seen.get(id(base), 0), int(getattr(base, "nbytes", array.nbytes)))
        return sum(seen.values())

    def rule(self, code: int) -> Rule | None:
        """The :class:`~acl.model.Rule` of a compiled rule index, or None for a reason code."""
        return self._tables.rules[code] if code >= 0 else None

    def with_kernel(self, kernel: str) -> Engine:
        """The same tables behind another kernel (``"cython"`` or ``"python"``)."""
        return Engine(self._site, self._tables, kernel=kernel)

    # ------------------------------------------------------------------ one request

    def _slow(
        self,
        request: Request | str,
        host: str | None,
        headers: HeadersInput,
        subnet: str | None,
        service_endpoint: bool,
        private_endpoint: bool,
        explain: bool,
    ) -> Decision:
        if (
            type(headers) in (dict, list)
            and type(request) is str
            and subnet is None
            and not service_endpoint
            and not private_endpoint
            and not explain
        ):
            decided = self._with_headers(request, host, headers)
            if decided is not None:
                return decided
        if isinstance(request, Request):
            if (
                host is not None
                or headers is not None
                or subnet is not None
                or service_endpoint
                or private_endpoint
            ):
                raise TypeError("give a Request, or an address with keyword arguments, not both")
        elif isinstance(request, str):
            request = Request(
                request,
                host=host,
                headers=headers,
                subnet=subnet,
                service_endpoint=service_endpoint,
                private_endpoint=private_endpoint,
            )
        else:
            raise RequestError(
                f"request {request!r:.60} is neither a Request nor an address string"
            )
        if explain:
            return evaluate(self._site, request)
        tables = self._tables
        coll = 1 if request.collection == "scm" else 0
        sat = self._satisfying({name: request.header(name) for name in HEADER_NAMES})
        value = request.value
        hi, lo = (value >> 64, value & _MASK64) if request.version == 6 else (0, value)
        code = self._kernel.code_one(
            request.version,
            hi,
            lo,
            coll,
            request.service_endpoint,
            request.private_endpoint,
            subnet_id(tables, request.subnet),
            sat,
        )
        return Decision(tables.outcome(coll, code), request.ip, None, self._site, request)

    def _with_headers(self, ip: str, host: str | None, headers: Any) -> Decision | None:
        """A request given as an address and header strings (a dict, or a list of
        ``(name, value)`` pairs: what a gateway passes), decided without building a
        :class:`Request`: the filters a short header value satisfies are remembered (see
        :meth:`_satisfying`). None when anything is unusual (a value that is neither a string nor
        a list of strings, an invalid address): the general path then decides, or says what
        is wrong."""
        if host is not None and type(host) is not str:
            return None
        copies: dict[str, list[str]] = {}
        for item in headers.items() if type(headers) is dict else headers:
            if type(item) is not tuple or len(item) != 2 or type(item[0]) is not str:
                return None
            name, value = item
            if type(value) is str:
                values = [value]
            elif type(value) in (list, tuple) and all(type(v) is str for v in value):
                values = list(value)
            else:
                return None
            canonical = _CANONICAL_HEADERS.get(name.strip().lower())
            if canonical is not None:
                copies.setdefault(canonical, []).extend(values)
        version, value = _kernel_module.parse_address(ip)
        if not version:
            return None
        sat = self._satisfying(copies)
        coll = 1 if host is not None and is_scm_host(host) else 0
        hi, lo = (value >> 64, value & _MASK64) if version == 6 else (0, value)
        code = self._kernel.code_one(version, hi, lo, coll, False, False, 0, sat)
        kept = dict(headers) if type(headers) is dict else list(headers)
        return Decision(self._tables.outcome(coll, code), ip, None, self._site, (host, kept))

    def _satisfying(self, copies: Mapping[str, list[str]]) -> list[tuple[int, ...]]:
        """Per header of :data:`HEADER_NAMES`, the ids of the filters its copies satisfy.

        Short answers are remembered: a header whose copies hold at most
        :data:`MEMO_VALUE_CHARS` characters in all, in a memo of at most
        :data:`MEMO_BYTES` bytes of keys (emptied when full). A longer value (more than
        any Azure header filter value, 64 characters, or a long X-Forwarded-For chain) is
        decided each time and never kept."""
        memo = self._satisfied
        index = self._tables.headers
        sat: list[tuple[int, ...]] = []
        for name in HEADER_NAMES:
            given = copies.get(name)
            if not given:
                sat.append(())
                continue
            chars = 0
            for copy in given:
                chars += len(copy)
            if chars > MEMO_VALUE_CHARS:
                sat.append(index.satisfied(name, given))
                continue
            key = (name, tuple(given))
            found = memo.get(key)
            if found is None:
                found = index.satisfied(name, given)
                size = _key_bytes(key)
                if self._satisfied_bytes + size > MEMO_BYTES:
                    memo.clear()
                    self._satisfied_bytes = 0
                memo[key] = found
                self._satisfied_bytes += size
            sat.append(found)
        return sat

    # ------------------------------------------------------------------ columns

    def parse_addresses(
        self, ips: Any
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint64], npt.NDArray[np.uint64], int]:
        """Parse a column of address text into ``(version, hi, lo, invalid_count)``.

        Accepts a list, a numpy array (``U``, ``S`` or object dtype), a pandas Series or a
        pyarrow (chunked) string array. Invalid or missing entries get version 0.
        """
        kernel = self._kernel
        if hasattr(ips, "chunks") and hasattr(ips, "num_chunks"):  # pyarrow.ChunkedArray
            parts = [self.parse_addresses(chunk) for chunk in ips.chunks]
            if not parts:
                empty = np.zeros(0, dtype=np.uint64)
                return np.zeros(0, dtype=np.uint8), empty, empty.copy(), 0
            return (
                np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]),
                sum(p[3] for p in parts),
            )
        if (
            hasattr(ips, "buffers") and hasattr(ips, "offset") and hasattr(ips, "type")
        ):  # pyarrow.Array
            return self._parse_arrow(ips)
        if isinstance(ips, np.ndarray) and ips.dtype.kind in "SU" and ips.ndim == 1:
            n = len(ips)
            version = np.zeros(n, dtype=np.uint8)
            hi = np.zeros(n, dtype=np.uint64)
            lo = np.zeros(n, dtype=np.uint64)
            width = ips.dtype.itemsize
            if ips.dtype.kind == "S":
                matrix = np.ascontiguousarray(ips).view(np.uint8).reshape(n, width)
                bad = kernel.parse_bytes_matrix(matrix, version, hi, lo)
            else:
                matrix32 = np.ascontiguousarray(ips).view(np.uint32).reshape(n, width // 4)
                bad = kernel.parse_ucs4_matrix(matrix32, version, hi, lo)
            return version, hi, lo, int(bad)
        column = as_column(ips, None, "ips")
        n = len(column)
        version = np.zeros(n, dtype=np.uint8)
        hi = np.zeros(n, dtype=np.uint64)
        lo = np.zeros(n, dtype=np.uint64)
        bad = kernel.parse_objects(column, version, hi, lo)
        return version, hi, lo, int(bad)

    def _parse_arrow(self, array: Any) -> tuple[Any, Any, Any, int]:
        import pyarrow as pa

        if pa.types.is_dictionary(array.type):
            array = array.cast(array.type.value_type)
        if not (
            pa.types.is_string(array.type)
            or pa.types.is_large_string(array.type)
            or pa.types.is_binary(array.type)
            or pa.types.is_large_binary(array.type)
        ):
            return self.parse_addresses(array.to_pylist())
        n = len(array)
        validity, offsets_buf, data_buf = array.buffers()[:3]
        width = (
            8
            if (pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type))
            else 4
        )
        offsets = np.frombuffer(offsets_buf, dtype=np.int64 if width == 8 else np.int32)
        offsets = np.ascontiguousarray(offsets[array.offset : array.offset + n + 1], dtype=np.int64)
        data = (
            np.frombuffer(data_buf, dtype=np.uint8)
            if data_buf is not None
            else np.zeros(0, np.uint8)
        )
        valid = (
            np.ascontiguousarray(~array.is_null().to_numpy(zero_copy_only=False), dtype=np.uint8)
            if validity is not None
            else np.ones(n, dtype=np.uint8)
        )
        version = np.zeros(n, dtype=np.uint8)
        hi = np.zeros(n, dtype=np.uint64)
        lo = np.zeros(n, dtype=np.uint64)
        bad = self._kernel.parse_offsets(
            offsets, np.ascontiguousarray(data), valid, version, hi, lo
        )
        return version, hi, lo, int(bad)

    def _header_columns(
        self, headers: Mapping[str, Any] | None, n: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """Per request and header, a value id; per value id, the satisfied filter ids."""
        if not headers:
            return (
                np.zeros((4, 1), dtype=np.int32),
                np.zeros(2, dtype=np.int32),
                np.zeros(0, dtype=np.int32),
            )
        hv = np.zeros((4, n), dtype=np.int32)
        sat_off = [0, 0]
        sat_ids: list[int] = []
        index = self._tables.headers
        seen: set[str] = set()
        for raw_name, values in headers.items():
            name = canonical_header(raw_name)
            if name is None:
                raise RequestError(
                    f"header column {raw_name!r} is not one of {', '.join(HEADER_NAMES)}"
                )
            if name in seen:
                raise RequestError(f"header column {raw_name!r} is given twice")
            seen.add(name)
            h = HEADER_NAMES.index(name)
            if name not in index.by_header:
                continue  # no rule filters on it: every value satisfies nothing
            encoded = dictionary_encoded(values)
            if encoded is not None:
                codes, categories = encoded
                if len(codes) != n:
                    raise ValueError(f"header {raw_name!r}: {len(codes)} values for {n} requests")
                per_category = np.zeros(len(categories) + 1, dtype=np.int32)  # last: missing
                for c, value in enumerate(categories):
                    per_category[c] = self._value_id(name, raw_name, c, value, sat_off, sat_ids)
                codes = np.where(codes < 0, len(categories), codes)
                hv[h] = per_category[codes]
                continue
            column = as_column(values, n, f"header {raw_name!r}")
            ids = Memo(
                lambda v, _n=name, _r=raw_name: self._value_id(_n, _r, -1, v, sat_off, sat_ids)
            )
            try:
                hv[h] = np.fromiter(map(ids.__getitem__, column), dtype=np.int32, count=n)
            except TypeError:  # an unhashable cell: find it for the message
                bad = next(i for i, v in enumerate(column) if not isinstance(v, (str, type(None))))
                raise RequestError(
                    f"header {raw_name!r} row {bad}: value {column[bad]!r:.60} is not a string"
                ) from None
        return hv, np.array(sat_off, dtype=np.int32), np.array(sat_ids, dtype=np.int32)

    def _value_id(
        self,
        name: str,
        raw_name: str,
        where: int,
        value: Any,
        sat_off: list[int],
        sat_ids: list[int],
    ) -> int:
        """The value id of one header value: 0 when it satisfies no filter, else a new id
        whose satisfied filter ids are appended to ``sat_ids``."""
        if value is None or value == "":
            return 0
        if not isinstance(value, str):
            where_text = f"row {where}" if where >= 0 else "a row"
            raise RequestError(f"header {raw_name!r} {where_text}: value {value!r} is not a string")
        satisfied = self._tables.headers.satisfied(name, [value])
        if not satisfied:
            return 0
        sat_ids.extend(satisfied)
        sat_off.append(len(sat_ids))
        return len(sat_off) - 2

    def decide_many(
        self,
        ips: Any,
        *,
        hosts: Any = None,
        scm: Any = None,
        headers: Mapping[str, Any] | None = None,
        subnets: Any = None,
        service_endpoint: Any = None,
        private_endpoint: Any = None,
        threads: int | None = None,
    ) -> BulkDecisions:
        """Decide a batch of requests given as columns.

        Args:
            ips: the source addresses: a numpy ``uint32`` array (IPv4), a pair
                ``(hi, lo)`` of ``uint64`` arrays (IPv6), or a column of address text (list,
                numpy, pandas, pyarrow; IPv4 and IPv6 mixed). Invalid text gives code -4
                in its row and is counted, never an exception for the batch.
            hosts: a column of Host headers (or one host for all), selecting main or scm.
            scm: instead of ``hosts``: booleans (or one boolean), true for scm.
            headers: header name to a column of values (None or "" when absent); a
                value holds every copy of the header, comma-joined.
            subnets: a column of source subnet ids (None when not via a service endpoint).
            service_endpoint, private_endpoint: booleans per row (read strictly: bools,
                0/1, "True"/"False" in any case; see :func:`acl.columns.flag_column`), or
                one bool for all.

            threads: how many threads decide the batch, each a slice of it (the kernel's
                loop runs without the GIL). Default: one per CPU for a batch of at least
                :data:`PARALLEL_ROWS` rows, else one. The decisions are the same.
        """
        if is_pair(ips):
            hi = np.ascontiguousarray(ips[0], dtype=np.uint64)
            lo = np.ascontiguousarray(ips[1], dtype=np.uint64)
            if hi.shape != lo.shape or hi.ndim != 1:
                raise ValueError("IPv6 columns (hi, lo) must be 1-d arrays of equal length")
            n = len(hi)
            version = np.full(n, 6, dtype=np.uint8)  # the kernel reads ::ffff:a.b.c.d as IPv4
            v4 = np.zeros(0, dtype=np.uint32)
            invalid = 0
            only_v4 = False
        elif isinstance(ips, np.ndarray) and ips.dtype.kind in "ui" and ips.ndim == 1:
            if ips.dtype != np.uint32 and ips.size and (ips.min() < 0 or ips.max() > 0xFFFFFFFF):
                raise ValueError("IPv4 addresses as integers must fit in uint32")
            v4 = np.ascontiguousarray(ips, dtype=np.uint32)
            n = len(v4)
            version = np.zeros(0, dtype=np.uint8)
            hi = lo = np.zeros(0, dtype=np.uint64)
            invalid = 0
            only_v4 = True
        else:
            version, hi, lo, invalid = self.parse_addresses(ips)
            n = len(version)
            v4 = np.zeros(0, dtype=np.uint32)
            only_v4 = False

        if hosts is not None and scm is not None:
            raise ValueError("give hosts or scm, not both")
        if hosts is not None:
            if isinstance(hosts, str):
                coll = np.array([is_scm_host(hosts)], dtype=np.uint8)
            else:
                scm_of = Memo(lambda h: int(isinstance(h, str) and is_scm_host(h)))
                column = as_column(hosts, n, "hosts")
                try:
                    coll = np.fromiter(map(scm_of.__getitem__, column), dtype=np.uint8, count=n)
                except TypeError:
                    raise RequestError("hosts: every host must be a string or None") from None
        else:
            coll = flags(scm, n, "scm")

        endpoint = flags(service_endpoint, n, "service_endpoint")
        if subnets is not None:
            column = as_column(subnets, n, "subnets")
            sub_ids = self._tables.subnet_ids
            subnet = np.fromiter(
                (
                    sub_ids.get(normalize_subnet(s), 0) if isinstance(s, str) and s.strip() else 0
                    for s in column
                ),
                dtype=np.int32,
                count=n,
            )
            has_subnet = np.fromiter(
                (isinstance(s, str) and bool(s.strip()) for s in column), dtype=np.uint8, count=n
            )
            endpoint = (
                np.maximum(np.broadcast_to(endpoint, (n,)), has_subnet).astype(np.uint8)
                if n
                else endpoint
            )
        else:
            subnet = np.zeros(1, dtype=np.int32)
        private = flags(private_endpoint, n, "private_endpoint")
        hv, sat_off, sat_ids = self._header_columns(headers, n)

        out_code = np.empty(n, dtype=np.int32)
        out_action = np.empty(n, dtype=np.uint8)
        # The plain loop answers with each range's first unconditional rule: exact when no
        # row can satisfy a condition (no header value satisfies a filter, no endpoint,
        # subnet or private endpoint) and every row asks the same collection. Decided from
        # the values, never from the columns' shapes (a one-row column has a scalar's shape).
        plain = (
            n > 0
            and not sat_ids.size
            and not endpoint.any()
            and not private.any()
            and not subnet.any()
            and bool((coll == coll[0]).all())
        )
        slices = spans(n, threads)
        if plain:
            kernel_plain = self._kernel.codes_plain

            def run_plain(a: int, b: int) -> None:
                kernel_plain(
                    version[a:b] if len(version) == n else version,
                    hi[a:b] if len(hi) == n else hi,
                    lo[a:b] if len(lo) == n else lo,
                    v4[a:b] if len(v4) == n else v4,
                    int(coll[0]),
                    out_code[a:b],
                    out_action[a:b],
                )

            in_parallel(slices, run_plain)
        elif n:
            columns = [
                np.ascontiguousarray(c)
                for c in (version, hi, lo, v4, coll, endpoint, private, subnet)
            ]
            kernel_codes = self._kernel.codes

            def run(a: int, b: int) -> None:
                cut = [c[a:b] if len(c) == n else c for c in columns]
                kernel_codes(
                    *cut,
                    np.ascontiguousarray(hv[:, a:b]) if hv.shape[1] == n else hv,
                    sat_off,
                    sat_ids,
                    out_code[a:b],
                    out_action[a:b],
                )

            in_parallel(slices, run)
        return BulkDecisions(
            action=out_action,
            code=out_code,
            invalid=invalid,
            _engine=self,
            _collection=coll,
            _addresses=None if only_v4 else (version, hi, lo),
        )

    # ------------------------------------------------------------------ persistence

    @property
    def digest(self) -> str:
        """A hex digest of the compiled arrays and the site: equal for engines compiled from
        the same site, in any process, and different when a rule or a site setting differs.

        Computed once, from the arrays' bytes and every field of the site and its rules
        (the prefixes a source stands for are in the arrays); nothing is pickled. The
        kernel is not part of it: both kernels decide alike."""
        if self._digest is None:
            self._digest = saved.engine_digest(self._site, self._tables)
        return self._digest

    def __dask_tokenize__(self) -> tuple[str, str]:
        """Dask's token for the engine: its :attr:`digest` (cheap, stable across processes)."""
        return ("acl.Engine", self.digest)

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickle travels (Dask ships engines to workers): compressed, unlike a file.
        return (_restore, (zlib.compress(saved.to_bytes(self._site, self._tables), 1),))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the compiled engine to a file: a stored zip of aligned numpy arrays (the
        tables and the site's prefixes) and the site as JSON, with a SHA-256 digest of all
        of it (:mod:`acl.saved`). The file appears only when complete."""
        saved.write_file(path, self._site, self._tables)


def _restore(data: bytes) -> Engine:
    try:
        raw = zlib.decompress(data)
    except zlib.error as exc:
        raise ConfigError(f"not a pickled acl engine: {exc}", Origin(file="<pickle>")) from None
    return Engine(*saved.read_bytes(raw, "<pickle>"))


def load_engine(path: str | os.PathLike[str]) -> Engine:
    """Read an engine written by :meth:`Engine.save` (its arrays are mapped from the file)."""
    return Engine(*saved.read_file(path))


def compile(site: Site, *, kernel: str | None = None) -> Engine:
    """Compile a site into an :class:`Engine`.

    Args:
        site: a loaded site.
        kernel: ``"cython"`` or ``"python"``; default :data:`KERNEL`.
    """
    return Engine(site, kernel=kernel)

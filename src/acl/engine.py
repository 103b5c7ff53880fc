"""The engine: what applications call to decide requests, one at a time or by the million.

:func:`compile` turns a :class:`~acl.model.Site` into an :class:`Engine` over compiled
:class:`~acl.compiler.Tables`. The engine's answers are, by contract, the reference
evaluator's (:mod:`acl.reference`); the test suite checks that with Hypothesis.

The kernel is the Cython extension :mod:`acl._fast` when it is built and
``ACL_NO_EXTENSIONS`` is not set, else its pure-Python twin :mod:`acl._purepy`.
:data:`KERNEL` says which.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import sys
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .compiler import (
    INVALID,
    LOWEST_CODE,
    FamilyTable,
    Tables,
    build_tables,
    subnet_id,
    tables_from_arrays,
)
from .decision import Decision
from .errors import AclError, ConfigError, Origin, RequestError
from .headers import HEADER_NAMES, canonical_header
from .model import HeadersInput, Request, Site, is_scm_host, normalize_subnet
from .reference import evaluate
from .serialize import site_from_dict, site_to_dict

__all__ = ["KERNEL", "BulkDecisions", "Engine", "compile", "load_engine"]


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


def _as_column(values: Any, n: int | None, name: str) -> list[Any]:
    """A column of Python values (str/None) from a list, numpy array, pandas or pyarrow, or
    a ``(codes, categories)`` pair (code -1: None)."""
    encoded = _dictionary_encoded(values) if _is_pair(values) else None
    if encoded is not None:
        table = [*encoded[1], None]
        out = [table[c] for c in encoded[0].tolist()]
    elif hasattr(values, "to_pylist"):
        out = list(values.to_pylist())
    elif hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        out = list(values.to_numpy(dtype=object))
    elif isinstance(values, np.ndarray):
        out = values.tolist()
    elif isinstance(values, list):
        out = values
    elif isinstance(values, tuple):
        out = list(values)
    else:
        raise TypeError(
            f"{name}: expected a column (list, numpy, pandas or pyarrow), got {type(values).__name__}"
        )
    if n is not None and len(out) != n:
        raise ValueError(f"{name}: {len(out)} values for {n} requests")
    if isinstance(values, np.ndarray) and values.dtype.kind == "S":
        out = [v.decode("utf-8", "replace") for v in out]
    return out


def _is_pair(values: Any) -> bool:
    """Whether ``values`` is a pair of arrays (``(hi, lo)``, ``(codes, categories)``), not a
    two-row column given as a tuple: a column's cells are text or None, never sequences."""
    return (
        isinstance(values, tuple)
        and len(values) == 2
        and not isinstance(values[0], (str, bytes, type(None)))
        and hasattr(values[0], "__len__")
    )


def _dictionary_encoded(values: Any) -> tuple[npt.NDArray[np.int64], list[Any]] | None:
    """``(codes, categories)`` of a dictionary-encoded column, or None.

    Accepts a ``(codes, categories)`` pair, a pyarrow DictionaryArray and a pandas
    Categorical (or categorical Series). Code -1 (or a null) means absent.
    """
    if _is_pair(values):
        codes, categories = values
    elif hasattr(values, "indices") and hasattr(values, "dictionary"):  # pyarrow
        codes = values.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        categories = values.dictionary.to_pylist()
    elif hasattr(values, "cat") and hasattr(values.cat, "codes"):  # pandas Series
        codes, categories = values.cat.codes.to_numpy(), list(values.cat.categories)
    elif hasattr(values, "codes") and hasattr(values, "categories"):  # pandas Categorical
        codes, categories = np.asarray(values.codes), list(values.categories)
    else:
        return None
    array = np.asarray(codes, dtype=np.int64)
    if array.ndim != 1 or (array.size and (array.min() < -1 or array.max() >= len(categories))):
        raise ValueError("dictionary codes must be 1-d and index the categories (-1: absent)")
    return array, list(categories)


class _Memo(dict):  # type: ignore[type-arg]
    """A dict that computes a missing value once: ``map(memo.__getitem__, column)`` maps a
    column in C, calling Python only for each distinct value."""

    def __init__(self, compute: Any) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, key: Any) -> Any:
        value = self._compute(key)
        self[key] = value
        return value


def _flags(values: Any, n: int, name: str) -> npt.NDArray[np.uint8]:
    if values is None:
        return np.zeros(1, dtype=np.uint8)
    if isinstance(values, (bool, np.bool_)):
        return np.array([bool(values)], dtype=np.uint8)
    array = np.asarray(values)
    if array.shape != (n,):
        raise ValueError(f"{name}: expected {n} values, got shape {array.shape}")
    return np.ascontiguousarray(array.astype(bool), dtype=np.uint8)


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
        self._tables = tables if tables is not None else build_tables(site)
        self._kernel_name = kernel or KERNEL
        self._satisfied: dict[tuple[str, tuple[str, ...]], tuple[int, ...]] = {}
        self._satisfied_bytes = 0
        """The bytes of the memo's keys."""
        self._digest: str | None = None
        self._kernel = _kernel_class(kernel)(self._tables, site, Decision, self._slow, is_scm_host)
        self.decide = self._kernel.decide
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

    def rule(self, code: int) -> Any:
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
        column = _as_column(ips, None, "ips")
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
            encoded = _dictionary_encoded(values)
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
            column = _as_column(values, n, f"header {raw_name!r}")
            ids = _Memo(
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
            service_endpoint, private_endpoint: booleans per row, or one for all.

        The kernel's loop runs without the GIL: threads can decide batches in parallel.
        """
        if _is_pair(ips):
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
                scm_of = _Memo(lambda h: int(isinstance(h, str) and is_scm_host(h)))
                column = _as_column(hosts, n, "hosts")
                try:
                    coll = np.fromiter(map(scm_of.__getitem__, column), dtype=np.uint8, count=n)
                except TypeError:
                    raise RequestError("hosts: every host must be a string or None") from None
        else:
            coll = _flags(scm, n, "scm")

        endpoint = _flags(service_endpoint, n, "service_endpoint")
        if subnets is not None:
            column = _as_column(subnets, n, "subnets")
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
        private = _flags(private_endpoint, n, "private_endpoint")
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
        if plain:
            self._kernel.codes_plain(version, hi, lo, v4, int(coll[0]), out_code, out_action)
        elif n:
            self._kernel.codes(
                np.ascontiguousarray(version),
                np.ascontiguousarray(hi),
                np.ascontiguousarray(lo),
                v4,
                np.ascontiguousarray(coll),
                np.ascontiguousarray(endpoint),
                private,
                subnet,
                hv,
                sat_off,
                sat_ids,
                out_code,
                out_action,
            )
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
            h = hashlib.blake2b(digest_size=20)
            h.update(SAVE_FORMAT.encode())
            for name, array in _saved_arrays(self).items():
                array = np.ascontiguousarray(array)
                h.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
                h.update(array.data)
            h.update(b"\0site\0")
            _hash_site(h, self._site)
            self._digest = h.hexdigest()
        return self._digest

    def __dask_tokenize__(self) -> tuple[str, str]:
        """Dask's token for the engine: its :attr:`digest` (cheap, stable across processes)."""
        return ("acl.Engine", self.digest)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (_to_bytes(self),))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the compiled engine to a file (a zip of numpy arrays and the site as JSON,
        with a SHA-256 digest of both). The file appears only when complete."""
        target = Path(path)
        data = _to_bytes(self)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            partial.write_bytes(data)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)


SAVE_FORMAT = "acl-engine/2"
"""The format of :meth:`Engine.save` files and pickles: a zip of ``.npy`` arrays and a
``meta`` JSON document (the format, the site, and a SHA-256 digest of both)."""
_OLD_FORMATS = ("acl-engine/1",)
_FAMILY_FIELDS = ("starts_hi", "starts_lo", "ranges", "root")
ARRAY_FIELDS = (
    "list_offsets",
    "list_rules",
    "endpoint_lists",
    "rule_action",
    "rule_cond",
    "rule_subnet",
    "rule_position",
    "rule_collection",
    "rule_filter_offsets",
    "rule_filters",
    "filter_header",
    "defaults",
)
FAMILIES = ("v4_main", "v6_main", "v4_scm", "v6_scm")
_DTYPES: dict[str, np.dtype[Any]] = {
    "starts_hi": np.dtype(np.uint64),
    "starts_lo": np.dtype(np.uint64),
    "ranges": np.dtype(np.int32),
    "root": np.dtype(np.uint32),
    "list_offsets": np.dtype(np.int32),
    "list_rules": np.dtype(np.int32),
    "endpoint_lists": np.dtype(np.int32),
    "rule_action": np.dtype(np.uint8),
    "rule_cond": np.dtype(np.uint8),
    "rule_subnet": np.dtype(np.int32),
    "rule_position": np.dtype(np.int32),
    "rule_collection": np.dtype(np.uint8),
    "rule_filter_offsets": np.dtype(np.int32),
    "rule_filters": np.dtype(np.int32),
    "filter_header": np.dtype(np.uint8),
    "defaults": np.dtype(np.uint8),
    "meta": np.dtype(np.uint8),
}


def _digest(meta: Mapping[str, Any], arrays: Mapping[str, npt.NDArray[Any]]) -> str:
    """SHA-256 over the meta document (without its digest) and every array's name, dtype,
    shape and bytes, in name order."""
    h = hashlib.sha256()
    body = {k: v for k, v in meta.items() if k != "digest"}
    h.update(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        h.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        h.update(array.data.cast("B"))
    return h.hexdigest()


def _saved_names(shared: bool) -> set[str]:
    families = FAMILIES[:2] if shared else FAMILIES
    return {"meta", *ARRAY_FIELDS, *(f"{f}.{x}" for f in families for x in _FAMILY_FIELDS)}


def _hash_site(h: Any, site: Site) -> None:
    """Feed every field of a site and its rules to a hash, for :attr:`Engine.digest`.

    Faster than the ``acl-site/1`` document, which spells out every prefix (those are in
    the arrays), and one rule at a time: nothing large stays alive for the collector to
    walk. The ``repr`` of tuples of text, numbers and None is the same in every process.
    """
    h.update(
        repr(
            (
                site.name,
                site.source,
                site.service_tags_change,
                site.main_default.value if site.main_default else None,
                site.scm_default.value if site.scm_default else None,
                site.scm_use_main,
                site.public_network_access,
                site.has_private_endpoint,
                site.hosting,
                site.ip_based_ssl,
                site.ip_mode,
            )
        ).encode()
    )
    for group in (site.main_rules, site.scm_rules, site.ignored_rules):
        h.update(b"\0rules\0")
        for rule in group:
            h.update(
                repr(
                    (
                        rule.position,
                        rule.priority,
                        rule.action.value,
                        rule.collection,
                        rule.name,
                        rule.description,
                        rule.ip_address,
                        rule.subnet_mask,
                        rule.vnet_subnet_resource_id,
                        rule.vnet_traffic_tag,
                        rule.subnet_traffic_tag,
                        rule.tag,
                        tuple((s.kind, s.text, s.subnet, len(s.prefixes)) for s in rule.sources),
                        tuple((f.name, tuple(f.values)) for f in rule.headers),
                    )
                ).encode()
            )


def _saved_arrays(engine: Engine) -> dict[str, Any]:
    """The arrays an engine is saved with, by name (the scm tables once when shared)."""
    tables = engine.tables
    arrays: dict[str, Any] = {name: getattr(tables, name) for name in ARRAY_FIELDS}
    shared = tables.v4_scm is tables.v4_main
    for family in FAMILIES if not shared else FAMILIES[:2]:
        table: FamilyTable = getattr(tables, family)
        for field in _FAMILY_FIELDS:
            arrays[f"{family}.{field}"] = getattr(table, field)
    return arrays


def _to_bytes(engine: Engine) -> bytes:
    tables = engine.tables
    arrays = _saved_arrays(engine)
    shared = tables.v4_scm is tables.v4_main
    meta: dict[str, Any] = {
        "format": SAVE_FORMAT,
        "shared_scm": shared,
        "site": site_to_dict(engine.site),
    }
    meta["digest"] = _digest(meta, arrays)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays
    )
    return buffer.getvalue()


def _read_npy(data: bytes, name: str, source: str) -> npt.NDArray[Any]:
    """One ``.npy`` member as a read-only array: a 1-d array of the dtype its name calls
    for, whose header agrees with the bytes that follow (nothing is allocated from the
    header's word alone, and no pickle is ever read)."""
    field = name.rpartition(".")[2]
    expected = _DTYPES[field]
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"npy version {version} is not supported")
    except (ValueError, SyntaxError, TypeError) as exc:
        raise ConfigError(
            f"saved engine array {name!r} is not a numpy array: {exc}", Origin(file=source)
        ) from None
    count = int(np.prod(shape)) if len(shape) == 1 else -1
    if dtype != expected or len(shape) != 1 or fortran:
        raise ConfigError(
            f"saved engine array {name!r} has dtype {dtype} and shape {shape}, expected a "
            f"1-d {expected} array",
            Origin(file=source),
        )
    offset = stream.tell()
    if len(data) - offset != count * expected.itemsize:
        raise ConfigError(
            f"saved engine array {name!r} holds {len(data) - offset} bytes for {count} values",
            Origin(file=source),
        )
    return np.frombuffer(data, dtype=expected, count=count, offset=offset)


def _read_archive(data: bytes, source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The meta document and the arrays of a saved engine, checked against its digest."""
    where = Origin(file=source)
    arrays: dict[str, npt.NDArray[Any]] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "meta.npy" not in names:
                raise ConfigError("not a saved acl engine (no meta)", where)
            if len(names) != len(set(names)) or len(names) > len(_saved_names(False)):
                raise ConfigError("not a saved acl engine (unexpected members)", where)
            for member in names:
                name = member.removesuffix(".npy")
                if name not in _saved_names(False) or not member.endswith(".npy"):
                    raise ConfigError(
                        f"not a saved acl engine (unexpected member {member!r:.60})", where
                    )
                arrays[name] = _read_npy(archive.read(member), name, source)
    except (
        OSError,
        ValueError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
    ) as exc:
        if isinstance(exc, AclError):
            raise
        raise ConfigError(f"not a saved acl engine: {exc}", where) from None
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"saved engine meta is not JSON: {exc}", where) from None
    if not isinstance(meta, dict):
        raise ConfigError("saved engine meta is not a JSON object", where)
    form = meta.get("format")
    if form in _OLD_FORMATS:
        raise ConfigError(
            f"saved engine format {form!r} is no longer read (it carries no digest and was "
            f"not fully checked): load the rules and save the engine again ({SAVE_FORMAT})",
            where,
        )
    if form != SAVE_FORMAT:
        raise ConfigError(
            f"not a saved acl engine (format {form!r:.60}, expected {SAVE_FORMAT!r})", where
        )
    shared = meta.get("shared_scm")
    if (
        not isinstance(shared, bool)
        or not isinstance(meta.get("site"), dict)
        or not isinstance(meta.get("digest"), str)
        or set(meta) != {"format", "shared_scm", "site", "digest"}
    ):
        raise ConfigError("saved engine meta is malformed", where)
    missing = _saved_names(shared) - {"meta"} - set(arrays)
    extra = set(arrays) - _saved_names(shared)
    if missing or extra:
        raise ConfigError(
            f"saved engine arrays do not fit its meta: missing {sorted(missing)}, "
            f"unexpected {sorted(extra)}",
            where,
        )
    if not hmac.compare_digest(meta["digest"], _digest(meta, arrays)):
        raise ConfigError(
            "saved engine is damaged: its SHA-256 digest does not match its contents", where
        )
    return meta, arrays


def _from_bytes(data: bytes, source: str) -> Engine:
    meta, arrays = _read_archive(data, source)
    site = site_from_dict(meta["site"], source=source)
    if meta["shared_scm"] != site.scm_use_main:
        raise ConfigError(
            "saved engine meta says scm shares main's tables, but its site does not agree",
            Origin(file=source),
        )
    families = {}
    for family in FAMILIES:
        name = (
            family
            if not (meta["shared_scm"] and family.endswith("scm"))
            else family.replace("scm", "main")
        )
        bits = 32 if family.startswith("v4") else 128
        families[family] = FamilyTable(
            bits, *(arrays[f"{name}.{field}"] for field in _FAMILY_FIELDS)
        )
    if meta["shared_scm"]:
        families["v4_scm"], families["v6_scm"] = families["v4_main"], families["v6_main"]
    tables = tables_from_arrays(
        site, families, {name: arrays[name] for name in ARRAY_FIELDS}, source=source
    )
    return Engine(site, tables)


def _restore(data: bytes) -> Engine:
    return _from_bytes(data, "<pickle>")


def load_engine(path: str | os.PathLike[str]) -> Engine:
    """Read an engine written by :meth:`Engine.save`."""
    file = os.fspath(path)
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read engine file: {exc.strerror or exc}", Origin(file=file)
        ) from None
    return _from_bytes(data, file)


def compile(site: Site, *, kernel: str | None = None) -> Engine:
    """Compile a site into an :class:`Engine`.

    Args:
        site: a loaded site.
        kernel: ``"cython"`` or ``"python"``; default :data:`KERNEL`.
    """
    return Engine(site, kernel=kernel)

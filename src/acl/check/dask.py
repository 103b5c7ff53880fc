"""Scale-out on Dask: logs and DataFrames evaluated partition by partition.

Logs may be local files or fsspec URLs (``abfs://``, ``az://``, ``s3://``, ``file://``,
``memory://``, ``http(s)://``): globs are expanded on the filesystem by the client, and
workers open the files themselves through fsspec, decompressing by suffix (``.gz``).

The engine does not travel: the site's ``acl-site/1`` document does, scattered once to every
worker, with the engine's :attr:`~acl.Engine.digest`. Each worker process compiles it once
and keeps the engine by digest (:data:`COMPILES` counts the compilations). Each task
returns a partial :class:`~acl.check.Summary` without the engine; the partials are merged
on the cluster as a tree (``split_every`` at a time, in partition order), so the result
equals the single-process summary of the same input.

Needs ``dask[dataframe]``, ``distributed`` and ``fsspec`` (the ``dask`` extra); Azure
storage also needs ``adlfs`` (the ``azure`` extra).
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from ..columns import flag_column
from ..engine import Engine, compile
from ..errors import AclError, LogError, Origin
from ..headers import canonical_header
from ..logs import (
    READERS,
    Batch,
    NumberedLines,
    ReadOptions,
    expand_sources,
    read_logs,
    sniff_format,
)
from ..serialize import site_from_dict, site_to_dict
from .summary import COLLECTION_NAMES, REASON_WORDS, Summary

__all__ = [
    "COMPILES",
    "SPLIT_EVERY",
    "Shipped",
    "check_files",
    "connect",
    "decide_dataframe",
    "expand_urls",
    "read_source",
    "summarize_dataframe",
]

SPLIT_EVERY = 8
"""How many partial summaries one merge task combines."""


def _require() -> Any:
    try:
        import dask
        import distributed
    except ImportError:
        raise AclError("scale-out needs dask and distributed: pip install 'acl[dask]'") from None
    return dask, distributed


CONNECT_TIMEOUT = 10.0
"""Seconds :func:`connect` waits for a scheduler to answer."""


def connect(address: str, *, timeout: float | None = None) -> Any:
    """A ``distributed.Client``: ``local`` starts a LocalCluster with worker processes.

    Raises:
        AclError: the scheduler does not answer within ``timeout`` seconds (default
            :data:`CONNECT_TIMEOUT`), or the address is not one.
    """
    _, distributed = _require()
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    if address == "local":
        cluster = distributed.LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None
        )
        return distributed.Client(cluster)
    try:
        return distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AclError(
            f"cannot reach the Dask scheduler {address!r} within {timeout:g} s: {why:.200}"
        ) from None


# ---------------------------------------------------------------------------- the engine


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cycle collector paused while a large, long-lived structure is built: otherwise
    it walks the growing heap again and again (several times the build itself)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Shipped:
    """What travels to the workers instead of the engine: its digest, its kernel and the
    site's ``acl-site/1`` document (JSON bytes). :meth:`engine` compiles it once per
    process and digest."""

    __slots__ = ("digest", "document", "kernel")

    def __init__(self, engine: Engine) -> None:
        self.digest = engine.digest
        self.kernel = engine.kernel
        with _no_gc():
            self.document = orjson.dumps(site_to_dict(engine.site))

    def __dask_tokenize__(self) -> tuple[str, str]:
        return ("acl.check.dask.Shipped", self.digest)

    def __getstate__(self) -> tuple[str, str, bytes]:
        return (self.digest, self.kernel, self.document)

    def __setstate__(self, state: tuple[str, str, bytes]) -> None:
        self.digest, self.kernel, self.document = state

    def engine(self) -> Engine:
        """The compiled engine, from this process's cache or compiled now."""
        key = (self.digest, self.kernel)
        with _LOCK:
            engine = _ENGINES.get(key)
            if engine is not None:
                _ENGINES.move_to_end(key)
                return engine
            with _no_gc():
                site = site_from_dict(orjson.loads(self.document))
                engine = compile(site, kernel=self.kernel)
            if engine.digest != self.digest:
                raise AclError(
                    f"the engine compiled on this worker (digest {engine.digest[:12]}) differs "
                    f"from the client's ({self.digest[:12]}): give the client and the workers "
                    "the same acl version"
                )
            COMPILES[self.digest] += 1
            _ENGINES[key] = engine
            while len(_ENGINES) > _CACHE_SIZE:
                _ENGINES.popitem(last=False)
            return engine


_LOCK = threading.Lock()
_CACHE_SIZE = 4
_ENGINES: OrderedDict[tuple[str, str], Engine] = OrderedDict()
"""Engines compiled in this process, by (digest, kernel); the least recently used go."""
COMPILES: Counter[str] = Counter()
"""Compilations in this process, by engine digest (a worker compiles each site once)."""


def _ship(client: Any, engine: Engine) -> Any:
    """The shipped site as a future held by every worker (scattered once, broadcast)."""
    return client.scatter(Shipped(engine), broadcast=True, hash=False)


def _detached(summary: Summary) -> Summary:
    summary.engine = None  # type: ignore[assignment]
    return summary


def _merge(*partials: Summary) -> Summary:
    """Partial summaries merged in order (one merge task of the tree)."""
    merged = partials[0]
    for partial in partials[1:]:
        merged.merge(partial)
    return merged


def _tree(dask: Any, partials: Sequence[Any], split_every: int = SPLIT_EVERY) -> Any:
    """One Delayed summary from partial ones: merge tasks of ``split_every`` neighbours,
    level by level, so the order is kept and the depth is log(n) / log(split_every)."""
    if split_every < 2:
        raise AclError(f"split_every {split_every!r} must be at least 2")
    level = list(partials)
    if not level:
        raise AclError("nothing to merge: no partitions")
    if len(level) == 1:
        return dask.delayed(_merge)(level[0])
    while len(level) > 1:
        level = [
            dask.delayed(_merge)(*level[i : i + split_every])
            for i in range(0, len(level), split_every)
        ]
    return level[0]


# ---------------------------------------------------------------------------- logs

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _is_url(source: str) -> bool:
    return bool(_URL.match(source))


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        import fsspec.core
    except ImportError:
        raise AclError(f"{url}: log URLs need fsspec: pip install 'acl[dask]'") from None
    try:
        return fsspec.core.url_to_fs(url)  # type: ignore[no-any-return]
    except ImportError as exc:  # the filesystem's package is missing (adlfs, s3fs, aiohttp)
        hint = " (pip install 'acl[azure]')" if url.startswith(("abfs", "az:")) else ""
        raise AclError(f"{url}: {exc}{hint}") from None
    except ValueError as exc:  # an unknown protocol, a malformed URL
        raise AclError(f"{url}: {exc}") from None


def expand_urls(sources: Iterable[str]) -> list[str]:
    """Log sources for the cluster, in the given order: local names and globs as
    :func:`acl.logs.expand_sources` has them, fsspec URLs globbed on their filesystem.

    Raises:
        AclError: ``-`` (standard input), or a name or URL that matches nothing.
    """
    out: list[str] = []
    seen: set[Any] = set()  # a local file once (device and inode), as read_logs reads it

    def local(name: str) -> None:
        try:
            info = os.stat(name)
        except OSError:
            out.append(name)  # the worker says why it cannot be read
            return
        if (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            out.append(name)

    for source in sources:
        if source == "-":
            raise AclError("standard input cannot be read on a cluster: give files")
        if not _is_url(source):
            for name in expand_sources([source]):
                local(name)
            continue
        fs, path = _filesystem(source)
        try:
            if any(ch in path for ch in "*?["):
                matches = sorted(fs.glob(path))
                if not matches:
                    raise LogError(f"no file matches {source!r}")
                out.extend(fs.unstrip_protocol(m) for m in matches)
            elif not fs.exists(path):
                raise LogError("no such file", Origin(file=source))
            else:
                out.append(source)
        except OSError as exc:
            raise LogError(f"cannot list logs: {exc}", Origin(file=source)) from None
    return out


def read_source(source: str, options: ReadOptions) -> Iterator[Batch]:
    """The batches of one log: a local file as :func:`acl.logs.read_logs` reads it, or an
    fsspec URL opened through fsspec (decompressed by suffix: ``.gz``, ``.bz2``, ``.xz``)."""
    if not _is_url(source):
        yield from read_logs([source], options)
        return
    import fsspec

    try:
        with fsspec.open(
            source,
            "rt",
            compression="infer",
            encoding="utf-8-sig",
            errors="replace",
            newline="",
        ) as stream:
            lines = NumberedLines(stream)
            fmt = options.format or (
                "columns" if options.mapping else sniff_format(lines.first, source)
            )
            yield from READERS[fmt](lines, source, options)
    except (OSError, EOFError) as exc:
        raise LogError(f"cannot read log: {exc}", Origin(file=source)) from None


def _summarize_file(source: str, shipped: Shipped, options: ReadOptions) -> Summary:
    summary = Summary(shipped.engine())
    for batch in read_source(source, options):
        summary.add(batch)
    return _detached(summary)


def check_files(
    client: Any,
    engine: Engine,
    sources: Iterable[str],
    options: ReadOptions | None = None,
    *,
    split_every: int = SPLIT_EVERY,
) -> Summary:
    """``acl check`` on a cluster: one task per log file (local paths or fsspec URLs), the
    site shipped once per worker, the partial summaries merged as a tree on the cluster."""
    dask, _ = _require()
    files = expand_urls(sources)
    opts = options or ReadOptions()
    if opts.format is not None and opts.format not in READERS:
        raise LogError(
            f"log format {opts.format!r} is unknown: expected one of {', '.join(sorted(READERS))}"
        )
    summary = Summary(engine)
    if not files:
        return summary
    shipped = _ship(client, engine)
    partials = [dask.delayed(_summarize_file)(f, shipped, opts) for f in files]
    summary.merge(client.compute(_tree(dask, partials, split_every), sync=True))
    return summary


# ---------------------------------------------------------------------------- DataFrames

COLUMN_KEYS = ("ip", "host", "subnet", "service_endpoint", "time", "result")


def _arrow(series: Any) -> Any:
    """A DataFrame column for :meth:`~acl.Engine.decide_many` without a Python call per
    cell: arrow-backed columns as they are, others converted by pyarrow (None, NaN, pd.NA
    and NaT become nulls); categorical columns stay pandas (decided per category); a column
    pyarrow cannot type (mixed values) stays a pandas Series."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(series.dtype, pd.CategoricalDtype):
        return series
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return series


def _pylist(column: Any) -> list[Any]:
    """A column's values as Python objects (missing ones None), converted in C."""
    if hasattr(column, "to_pylist"):
        return list(column.to_pylist())
    return list(column.astype(object).where(column.notna(), None).tolist())


def _decide_columns(engine: Engine, frame: Any, columns: Mapping[str, str]) -> Any:
    """The decisions for a pandas DataFrame, columns passed to ``decide_many`` as they are."""
    given = {key: _arrow(frame[name]) for key, name in columns.items()}
    headers = {header: given[key] for key in given if (header := canonical_header(key)) is not None}
    endpoint = None
    if "service_endpoint" in columns:
        cells = frame[columns["service_endpoint"]].to_numpy(dtype=object, na_value=False)
        endpoint = flag_column(cells, f"column {columns['service_endpoint']!r}")
        given["service_endpoint"] = endpoint  # what was decided is what the summary shows
    return engine.decide_many(
        given["ip"],
        hosts=given.get("host"),
        headers=headers or None,
        subnets=given.get("subnet"),
        service_endpoint=endpoint,
    ), given


def _batch_from_frame(
    frame: Any, columns: Mapping[str, str], source: str, given: Mapping[str, Any]
) -> Batch:
    """The Batch a summary accounts for (reject texts, denied hosts, times, Azure's result)."""
    n = len(frame)

    def values(key: str) -> list[Any] | None:
        return _pylist(given[key]) if key in given else None

    times = values("time")
    if times is not None:
        times = [v if v is None or isinstance(v, str) else str(v) for v in times]
    endpoint = given["service_endpoint"].tolist() if "service_endpoint" in given else None
    return Batch(
        source=source,
        format="dataframe",
        lines=[int(i) for i in frame.index.tolist()]
        if frame.index.dtype.kind in "iu"
        else list(range(n)),
        ip=[v if v is None or isinstance(v, str) else str(v) for v in _pylist(given["ip"])],
        host=values("host") or [None] * n,
        headers={
            header: _pylist(given[key])
            for key in given
            if (header := canonical_header(key)) is not None
        },
        subnet=values("subnet"),
        service_endpoint=endpoint,
        time=times,
        recorded=values("result"),
    )


def _check_columns(columns: Mapping[str, str]) -> None:
    for key in columns:
        if key not in COLUMN_KEYS and canonical_header(key) is None:
            raise AclError(
                f"column key {key!r} is unknown: expected {', '.join(COLUMN_KEYS)} or a header name"
            )
    if "ip" not in columns:
        raise AclError("columns must name the 'ip' column")


def _decide_frame(frame: Any, shipped: Shipped, columns: Mapping[str, str]) -> Any:
    import pandas as pd

    engine = shipped.engine()
    result, _ = _decide_columns(engine, frame, columns)
    code = result.code
    reason = np.full(len(code), "rule", dtype=object)
    for c in np.unique(code[code < 0]).tolist():
        reason[code == c] = REASON_WORDS.get(c, "invalid")
    names = np.array([rule.name for rule in engine.tables.rules] + [None], dtype=object)
    return pd.DataFrame(
        {
            "action": np.where(result.action == 1, "allow", "deny"),
            "status": np.where(result.action == 1, 200, 403).astype(np.int32),
            "collection": np.array(COLLECTION_NAMES, dtype=object)[result.collection],
            "rule": result.rule,
            "reason": reason,
            "rule_name": names[np.where(code >= 0, code, len(names) - 1)],
        },
        index=frame.index,
    )


def _engine_argument(engine: Engine, client: Any) -> Any:
    dask, _ = _require()
    if client is not None:
        return _ship(client, engine)
    return dask.delayed(Shipped(engine), pure=True)


def decide_dataframe(
    ddf: Any, engine: Engine, columns: Mapping[str, str], *, client: Any = None
) -> Any:
    """A Dask DataFrame of decisions (action, status, collection, rule, reason, rule_name),
    aligned with ``ddf``'s partitions and index.

    ``columns`` maps request fields (``ip``, ``host``, ``subnet``, ``service_endpoint``,
    ``time``, ``result``, and the four header names) to column names of ``ddf``.
    """
    _check_columns(columns)
    import pandas as pd

    meta = pd.DataFrame(
        {
            "action": pd.Series(dtype=object),
            "status": pd.Series(dtype=np.int32),
            "collection": pd.Series(dtype=object),
            "rule": pd.Series(dtype=np.int32),
            "reason": pd.Series(dtype=object),
            "rule_name": pd.Series(dtype=object),
        }
    )
    return ddf.map_partitions(
        _decide_frame, _engine_argument(engine, client), dict(columns), meta=meta
    )


def _summarize_frame(
    frame: Any, shipped: Shipped, columns: Mapping[str, str], source: str
) -> Summary:
    engine = shipped.engine()
    result, given = _decide_columns(engine, frame, columns)
    summary = Summary(engine)
    summary.add(_batch_from_frame(frame, columns, source, given), result)
    return _detached(summary)


def summarize_dataframe(
    ddf: Any,
    engine: Engine,
    columns: Mapping[str, str],
    *,
    client: Any = None,
    source: str = "dataframe",
    split_every: int = SPLIT_EVERY,
) -> Summary:
    """The :class:`~acl.check.Summary` of a Dask DataFrame, partition by partition, the
    partial summaries merged as a tree."""
    dask, _ = _require()
    _check_columns(columns)
    shipped = _engine_argument(engine, client)
    tasks = [
        dask.delayed(_summarize_frame)(part, shipped, dict(columns), f"{source}[{i}]")
        for i, part in enumerate(ddf.to_delayed())
    ]
    summary = Summary(engine)
    if not tasks:
        return summary
    merged = _tree(dask, tasks, split_every)
    summary.merge(client.compute(merged, sync=True) if client is not None else merged.compute())
    return summary

"""Scale-out on Dask: logs and DataFrames evaluated partition by partition.

The compiled engine is shipped to each worker once (scattered with ``broadcast=True``), not
with every task; tasks receive it from the worker's memory. Each task returns a partial
:class:`~acl.replay.Summary` without the engine, and the client merges them in partition
order, so the result equals the single-process summary of the same input.

Needs ``dask[dataframe]`` and ``distributed`` (the ``dask`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .engine import Engine
from .errors import AclError
from .headers import canonical_header
from .logs import Batch, ReadOptions, expand_sources, read_logs
from .replay import COLLECTION_NAMES, REASON_WORDS, Summary, decide_batch

__all__ = ["check_files", "connect", "decide_dataframe", "summarize_dataframe"]


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


def _ship(client: Any, engine: Engine) -> Any:
    return client.scatter(engine, broadcast=True, hash=False)


def _detached(summary: Summary) -> Summary:
    summary.engine = None  # type: ignore[assignment]
    return summary


def _summarize_file(source: str, engine: Engine, options: ReadOptions) -> Summary:
    summary = Summary(engine)
    for batch in read_logs([source], options):
        summary.add(batch)
    return _detached(summary)


def check_files(
    client: Any, engine: Engine, sources: Iterable[str], options: ReadOptions | None = None
) -> Summary:
    """``acl check`` on a cluster: one task per log file, the engine shipped once per worker."""
    files = expand_sources(sources)
    if "-" in files:
        raise AclError("standard input cannot be read on a cluster: give files")
    opts = options or ReadOptions()
    shipped = _ship(client, engine)
    futures = client.map(_summarize_file, files, engine=shipped, options=opts, pure=False)
    summary = Summary(engine)
    for partial in client.gather(futures):
        summary.merge(partial)
    return summary


# ---------------------------------------------------------------------------- DataFrames

COLUMN_KEYS = ("ip", "host", "subnet", "service_endpoint", "time", "result")


def _cell(value: Any) -> Any:
    """A DataFrame cell with every kind of missing value (None, NaN, pd.NA, NaT) as None."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    import pandas as pd

    return None if pd.isna(value) else value


def _batch_from_frame(frame: Any, columns: Mapping[str, str], source: str) -> Batch:
    def column(key: str) -> list[Any] | None:
        name = columns.get(key)
        if name is None:
            return None
        return [_cell(v) for v in frame[name].tolist()]

    n = len(frame)
    headers = {}
    for key, name in columns.items():
        header = canonical_header(key)
        if header is not None:
            headers[header] = [
                None if (c := _cell(v)) is None else str(c) for v in frame[name].tolist()
            ]
    endpoint = column("service_endpoint")
    return Batch(
        source=source,
        format="dataframe",
        lines=[int(i) for i in frame.index.tolist()]
        if frame.index.dtype.kind in "iu"
        else list(range(n)),
        ip=[None if v is None else str(v) for v in (column("ip") or [None] * n)],
        host=column("host") or [None] * n,
        headers=headers,
        subnet=column("subnet"),
        service_endpoint=[bool(v) for v in endpoint] if endpoint is not None else None,
        time=[None if v is None else str(v) for v in times]
        if (times := column("time")) is not None
        else None,
        recorded=column("result"),
    )


def _check_columns(columns: Mapping[str, str]) -> None:
    for key in columns:
        if key not in COLUMN_KEYS and canonical_header(key) is None:
            raise AclError(
                f"column key {key!r} is unknown: expected {', '.join(COLUMN_KEYS)} or a header name"
            )
    if "ip" not in columns:
        raise AclError("columns must name the 'ip' column")


def _decide_frame(frame: Any, engine: Engine, columns: Mapping[str, str]) -> Any:
    import pandas as pd

    batch = _batch_from_frame(frame, columns, "dataframe")
    result = decide_batch(engine, batch)
    return pd.DataFrame(
        {
            "action": np.where(result.action == 1, "allow", "deny"),
            "status": np.where(result.action == 1, 200, 403).astype(np.int32),
            "collection": np.array(COLLECTION_NAMES, dtype=object)[result.collection],
            "rule": result.rule,
            "reason": [
                "rule" if c >= 0 else REASON_WORDS.get(c, "invalid") for c in result.code.tolist()
            ],
            "rule_name": [
                (rule.name if (rule := engine.rule(c)) is not None else None)
                for c in result.code.tolist()
            ],
        },
        index=frame.index,
    )


def _engine_argument(engine: Engine, client: Any) -> Any:
    dask, _ = _require()
    if client is not None:
        return _ship(client, engine)
    return dask.delayed(engine, pure=True)


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
    frame: Any, engine: Engine, columns: Mapping[str, str], source: str
) -> Summary:
    summary = Summary(engine)
    summary.add(_batch_from_frame(frame, columns, source))
    return _detached(summary)


def summarize_dataframe(
    ddf: Any,
    engine: Engine,
    columns: Mapping[str, str],
    *,
    client: Any = None,
    source: str = "dataframe",
) -> Summary:
    """The :class:`~acl.replay.Summary` of a Dask DataFrame, partition by partition."""
    dask, _ = _require()
    _check_columns(columns)
    shipped = _engine_argument(engine, client)
    tasks = [
        dask.delayed(_summarize_frame)(part, shipped, dict(columns), f"{source}[{i}]")
        for i, part in enumerate(ddf.to_delayed())
    ]
    partials = client.compute(tasks, sync=True) if client is not None else dask.compute(*tasks)
    summary = Summary(engine)
    for partial in partials:
        summary.merge(partial)
    return summary

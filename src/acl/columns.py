"""Request columns as they reach :meth:`acl.Engine.decide_many`: lists, numpy, pandas,
pyarrow and dictionary-encoded ``(codes, categories)`` pairs, made into plain values; and
the slices of a batch that threads decide."""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "PARALLEL_ROWS",
    "Memo",
    "as_column",
    "cpus",
    "dictionary_encoded",
    "flags",
    "in_parallel",
    "is_pair",
    "spans",
]


def as_column(values: Any, n: int | None, name: str) -> list[Any]:
    """A column of Python values (str/None) from a list, numpy array, pandas or pyarrow, or
    a ``(codes, categories)`` pair (code -1: None)."""
    encoded = dictionary_encoded(values) if is_pair(values) else None
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


def is_pair(values: Any) -> bool:
    """Whether ``values`` is a pair of arrays (``(hi, lo)``, ``(codes, categories)``), not a
    two-row column given as a tuple: a column's cells are text or None, never sequences."""
    return (
        isinstance(values, tuple)
        and len(values) == 2
        and not isinstance(values[0], (str, bytes, type(None)))
        and hasattr(values[0], "__len__")
    )


def dictionary_encoded(values: Any) -> tuple[npt.NDArray[np.int64], list[Any]] | None:
    """``(codes, categories)`` of a dictionary-encoded column, or None.

    Accepts a ``(codes, categories)`` pair, a pyarrow DictionaryArray and a pandas
    Categorical (or categorical Series). Code -1 (or a null) means absent.
    """
    if is_pair(values):
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


class Memo(dict):  # type: ignore[type-arg]
    """A dict that computes a missing value once: ``map(memo.__getitem__, column)`` maps a
    column in C, calling Python only for each distinct value."""

    def __init__(self, compute: Any) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, key: Any) -> Any:
        value = self._compute(key)
        self[key] = value
        return value


def flags(values: Any, n: int, name: str) -> npt.NDArray[np.uint8]:
    if values is None:
        return np.zeros(1, dtype=np.uint8)
    if isinstance(values, (bool, np.bool_)):
        return np.array([bool(values)], dtype=np.uint8)
    array = np.asarray(values)
    if array.shape != (n,):
        raise ValueError(f"{name}: expected {n} values, got shape {array.shape}")
    return np.ascontiguousarray(array.astype(bool), dtype=np.uint8)


PARALLEL_ROWS = 1 << 18
"""The smallest batch :meth:`acl.Engine.decide_many` splits over threads by default."""


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def spans(n: int, threads: int | None) -> list[tuple[int, int]]:
    """The slices of a batch of ``n`` rows that ``threads`` threads decide."""
    if threads is None:
        threads = cpus() if n >= PARALLEL_ROWS else 1
    elif type(threads) is not int or threads < 1:
        raise ValueError(f"threads must be a positive integer, not {threads!r}")
    count = max(1, min(threads, n // 4096 or 1))
    bounds = [n * k // count for k in range(count + 1)]
    return list(itertools.pairwise(bounds))


def in_parallel(spans: list[tuple[int, int]], run: Any) -> None:
    """``run(a, b)`` for every span, the first in this thread and the others each in its
    own; an exception in any is raised here."""
    errors: list[BaseException] = []

    def guarded(a: int, b: int) -> None:
        try:
            run(a, b)
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)

    workers = [threading.Thread(target=guarded, args=span) for span in spans[1:]]
    for worker in workers:
        worker.start()
    guarded(*spans[0])
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]

"""Request columns as they reach :meth:`acl.Engine.decide_many`: lists, numpy, pandas,
pyarrow and dictionary-encoded ``(codes, categories)`` pairs, made into plain values; and
the slices of a batch that threads decide."""

from __future__ import annotations

import contextlib
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
    "flag_column",
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


_FLAG_TEXT = {"true": True, "1": True, "false": False, "0": False, "": False}
"""The texts a flag column may hold (compared stripped and without case): what logs and
exports write for a boolean (``AppServiceIPSecAuditLogs.ServiceEndpoint`` is ``"True"`` or
``"False"``); an empty or missing cell is false, as an absent column is."""


def _flag(value: Any, name: str, row: int) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or type(value).__name__ in ("NAType", "NaTType") or value != value:
        return False  # a missing cell (None, pandas' NA, NaN): as an absent column
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    if isinstance(value, (str, np.str_)):
        found = _FLAG_TEXT.get(value.strip().lower())
        if found is not None:
            return found
    raise ValueError(
        f"{name}[{row}] {value!r} is not a boolean: expected true or false (True/False, "
        '"True"/"False" in any case, 1/0, or empty for false)'
    )


def flag_column(values: Any, name: str) -> npt.NDArray[np.bool_]:
    """A boolean column, read strictly: bools, 0/1, and the texts ``"true"``/``"false"``
    (any case), ``"1"``/``"0"`` or empty; a missing cell (None, pandas' NA, NaN in a column of
    objects) is false. Any other value is an error naming
    it and its row, never taken as true because it is not empty.

    >>> flag_column(["True", "False", None, 1], "service_endpoint").tolist()
    [True, False, False, True]

    Raises:
        ValueError: a value that is not one of those.
    """
    array = np.asarray(values)
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(bool, copy=False)
    if kind in "iu":
        bad = np.flatnonzero((array != 0) & (array != 1))
        if bad.size:
            _flag(array[bad[0]].item(), name, int(bad[0]))
        return array.astype(bool)
    if kind in "US":
        text = np.char.lower(np.char.strip(array.astype("U")))
        true: npt.NDArray[np.bool_] = (text == "true") | (text == "1")
        bad = np.flatnonzero(~(true | (text == "false") | (text == "0") | (text == "")))
        if bad.size:
            _flag(str(array[bad[0]]), name, int(bad[0]))
        return true
    if kind == "O":
        memo: dict[Any, bool] = {}
        out = np.empty(array.shape, dtype=bool)
        for row, value in enumerate(array.tolist()):
            try:
                out[row] = memo[value]
            except (KeyError, TypeError):
                out[row] = flag = _flag(value, name, row)
                with contextlib.suppress(TypeError):
                    memo[value] = flag
        return out
    for row, value in enumerate(array.tolist()):  # floats, dates, ...: 0.0/1.0 are not flags
        _flag(value, name, row)
    return array.astype(bool)  # pragma: no cover - an empty column of another kind


def flags(values: Any, n: int, name: str) -> npt.NDArray[np.uint8]:
    """A flag column for the kernel: one value for every row, or ``n`` read by
    :func:`flag_column`.

    Raises:
        TypeError: a single value that is not a bool.
        ValueError: a column of another length, or a value that is not a boolean.
    """
    if values is None:
        return np.zeros(1, dtype=np.uint8)
    if isinstance(values, (bool, np.bool_)):
        return np.array([bool(values)], dtype=np.uint8)
    if isinstance(values, (str, bytes, int, float)):
        raise TypeError(
            f"{name} {values!r} is not valid: give True or False for every row, or a column "
            "of booleans"
        )
    array = np.asarray(values)
    if array.shape != (n,):
        raise ValueError(f"{name}: expected {n} values, got shape {array.shape}")
    return np.ascontiguousarray(flag_column(array, name), dtype=np.uint8)


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

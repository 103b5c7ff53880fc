"""The block scanners the log readers call: the compiled ones (:mod:`acl.logs._scan`) when
they are built and ``ACL_NO_EXTENSIONS`` is not set, else the pure-Python twins in
:mod:`acl.logs.pyscan` (which has no audit scanner: the audit reader then parses every line
with orjson).

:data:`KERNEL` says which: ``"cython"`` or ``"python"``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = [
    "KERNEL",
    "SPLIT_DASH_NONE",
    "SPLIT_PLUS",
    "SPLIT_REQUIRED",
    "SPLIT_REUSE",
    "scan_audit",
    "split_columns",
]

SPLIT_REUSE, SPLIT_DASH_NONE, SPLIT_REQUIRED, SPLIT_PLUS = 1, 2, 4, 8
"""``split_columns`` flags: reuse an equal previous value, ``-`` as None, ``-`` sends the
block back, ``+`` as a space."""


def _select() -> tuple[str, Any]:
    if os.environ.get("ACL_NO_EXTENSIONS", "") not in ("", "0"):
        from . import pyscan

        return "python", pyscan
    try:
        from . import _scan
    except ImportError:
        from . import pyscan

        return "python", pyscan
    return "cython", _scan


KERNEL, _module = _select()
"""``"cython"`` or ``"python"``: the scanners in use."""

split_columns: Callable[..., list[list[Any]] | None] = _module.split_columns
"""The block splitter for space-separated lines (see :mod:`acl.logs.w3c`)."""
scan_audit: Callable[..., tuple[tuple[list[Any], ...], int] | None] | None = getattr(
    _module, "scan_audit", None
)
"""The scanner of audit-log JSON lines (see :mod:`acl.logs.azure`), when compiled."""

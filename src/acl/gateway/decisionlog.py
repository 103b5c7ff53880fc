"""The decision log: one ``AppServiceIPSecAuditLogs`` record per request, as a JSON line."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import IO, Any

from ..check.records import audit_record
from ..decision import Decision

__all__ = ["DecisionLog", "as_decision_log"]


class DecisionLog:
    """One JSON line per request in the ``AppServiceIPSecAuditLogs`` resource-log shape.

    ``target`` is a path (appended to, line-buffered; ``"-"`` is standard output), an open
    text file, or a callable that receives each record (a dict).
    """

    def __init__(self, target: str | os.PathLike[str] | IO[str] | Callable[[dict[str, Any]], None]):
        self._lock = threading.Lock()
        self._owned: IO[str] | None = None
        self._call: Callable[[dict[str, Any]], None] | None = None
        self._file: IO[str] | None = None
        self.path: str | None = None
        """The file written to, when ``target`` was a path (:meth:`reopen` opens it again)."""
        if isinstance(target, (str, os.PathLike)):
            if os.fspath(target) == "-":
                self._file = sys.stdout
            else:
                self.path = os.fspath(target)
                self._owned = self._open(self.path)
                self._file = self._owned
        elif isinstance(target, io.IOBase) or hasattr(target, "write"):
            self._file = target  # type: ignore[assignment]
        elif callable(target):
            self._call = target
        else:
            raise TypeError(f"decision log {target!r}: expected a path, a file or a callable")

    @staticmethod
    def record(
        decision: Decision | None,
        *,
        client: str | None,
        port: int | None,
        host: str | None,
        headers: dict[str, str],
        reason: str = "",
    ) -> dict[str, Any]:
        """The record of one request; ``decision`` None is a fail-closed deny (``reason``
        says why)."""
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if decision is not None:
            row = {
                "time": now,
                "action": decision.action.word,
                "reason": decision.reason,
                "ip": decision.address,
                "host": host,
            }
            record = audit_record(row, decision.rule, headers)
            ip = decision.address
        else:
            row = {"time": now, "action": "deny", "reason": reason, "ip": client, "host": host}
            record = audit_record(row, None, headers)
            ip = client or ""
        if port is not None and ip:
            record["properties"]["CIp"] = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
        return record

    def write(self, record: dict[str, Any]) -> None:
        if self._call is not None:
            self._call(record)
            return
        line = json.dumps(record, separators=(",", ":")) + "\n"
        assert self._file is not None
        with self._lock:
            self._file.write(line)

    @staticmethod
    def _open(path: str) -> IO[str]:
        try:
            return open(path, "a", encoding="utf-8", buffering=1)
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot open the decision log {path}: {exc.strerror or exc}"
            ) from None

    def reopen(self) -> None:
        """Open the path again and write there from now on (after logrotate renamed the
        file); the old file is closed. Nothing to do for stdout, a file or a callable.

        Raises:
            OSError: the path cannot be opened; the old file stays in use.
        """
        if self.path is None or self._owned is None:
            return
        new = self._open(self.path)
        with self._lock:
            old, self._owned, self._file = self._owned, new, new
        old.close()

    def close(self) -> None:
        with self._lock:
            owned, self._owned = self._owned, None
        if owned is not None:
            owned.close()


def as_decision_log(
    target: str
    | os.PathLike[str]
    | IO[str]
    | Callable[[dict[str, Any]], None]
    | DecisionLog
    | None,
) -> DecisionLog | None:
    if target is None or isinstance(target, DecisionLog):
        return target
    return DecisionLog(target)

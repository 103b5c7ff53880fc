"""Decisions as records: the rows of ``acl check --out`` and the ``AppServiceIPSecAuditLogs``
shape that ``--out`` (audit format) and the gateway's decision log write."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..engine import BulkDecisions
from ..logs import Batch
from ..model import Rule
from .summary import COLLECTION_NAMES, REASON_WORDS

__all__ = ["audit_record", "iter_rows"]


def iter_rows(batch: Batch, result: BulkDecisions) -> Iterator[dict[str, Any]]:
    """One record per request of a batch, for ``--out`` (documented in docs/check.md)."""
    engine = result._engine
    for row in range(len(batch)):
        code = int(result.code[row])
        rule = engine.rule(code)
        yield {
            "source": batch.source,
            "line": batch.lines[row],
            "time": batch.time[row] if batch.time is not None else None,
            "ip": batch.ip[row],
            "host": batch.host[row],
            "collection": COLLECTION_NAMES[int(result.collection[row])],
            "action": "allow" if result.action[row] else "deny",
            "status": 200 if result.action[row] else 403,
            "reason": "rule" if code >= 0 else REASON_WORDS.get(code, "invalid"),
            "rule_position": rule.position if rule is not None else None,
            "rule_name": rule.name if rule is not None else None,
            "rule_priority": rule.priority if rule is not None else None,
            "recorded": batch.recorded[row] if batch.recorded is not None else None,
        }


def audit_record(
    row: Mapping[str, Any], rule: Rule | None, headers: Mapping[str, str | None]
) -> dict[str, Any]:
    """A decision in the ``AppServiceIPSecAuditLogs`` resource-log shape."""
    result = "Allowed" if row["action"] == "allow" else "Denied"
    if rule is not None:
        what = rule.ip_address or rule.vnet_subnet_resource_id or rule.name or f"#{rule.position}"
        details = f"{result} by {what} rule."
    else:
        details = f"{result} by {row['reason']}."
    ip = row["ip"] or ""
    return {
        "time": row["time"],
        "category": "AppServiceIPSecAuditLogs",
        "operationName": "Authorization",
        "properties": {
            "CIp": f"[{ip}]:0" if ":" in ip else f"{ip}:0",
            "CsHost": row["host"] or "",
            "Result": result,
            "Details": details,
            "ServiceEndpoint": "False",
            "XForwardedFor": headers.get("X-Forwarded-For") or "",
            "XForwardedHost": headers.get("X-Forwarded-Host") or "",
            "XAzureFDID": headers.get("X-Azure-FDID") or "",
            "XFDHealthProbe": headers.get("X-FD-HealthProbe") or "",
        },
    }

"""What ``acl audit`` prints: the fleet as text, HTML (self-contained), JSON or SARIF."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping

from .audit import FAMILIES, Audit
from .output import LintedFile, lint_sarif

__all__ = ["AUDIT_OUTPUTS", "audit_html", "audit_text", "render_audit"]

AUDIT_OUTPUTS = ("text", "json", "html", "sarif")


def _open(values: Mapping[str, str]) -> str:
    shown = [f"{name} {word}" for name, word in values.items() if word != "none"]
    return ", ".join(shown) if shown else "closed"


def audit_text(fleet: Audit) -> str:
    """One block per site: findings, internet exposure, Front Door, shared rule sets; then
    the ``--who`` answers and the files that failed to load."""
    lines: list[str] = []
    for s in fleet.sites:
        lines.append(f"{s.label}")
        for c in ("main", "scm"):
            door = s.front_door[c]
            profiles = f" ({', '.join(door.profiles)})" if door.profiles else ""
            lines.append(
                f"  {c}: internet {_open(s.internet[c])}; Front Door {door.status}{profiles}"
            )
        if s.same_as:
            lines.append(f"  same rules as: {', '.join(s.same_as)}")
        for f in s.findings:
            scope = f" [{f.collection}]" if f.collection else ""
            lines.append(f"  {f.severity} {f.code} {f.name}{scope}: {f.message}")
    if fleet.who is not None and fleet.request is not None:
        shown = ", ".join(f"{name}: {value}" for name, value in fleet.request.headers)
        lines.append(f"who: {fleet.request.address}" + (f" with {shown}" if shown else ""))
        admitted = [a for a in fleet.who if a.allowed]
        for a in admitted:
            by = f"rule {a.rule.label}" if a.rule is not None else a.reason
            lines.append(f"  {a.source}: {a.site} [{a.collection}] admits it: {by}")
        if not admitted:
            lines.append("  no site admits it")
    for e in fleet.errors:
        lines.append(f"error: {e.message}")
    counts = fleet.to_dict()["summary"]
    lines.append(
        f"{counts['sites']} site(s): {counts['error']} error(s), {counts['warning']} "
        f"warning(s), {counts['info']} info; {counts['files_failed']} file(s) not loaded"
    )
    return "\n".join(lines) + "\n"


def audit_html(fleet: Audit) -> str:
    """A self-contained HTML page: one table row per site and collection."""
    e = html.escape
    rows: list[str] = []
    for s in fleet.sites:
        for c in ("main", "scm"):
            findings = "<br>".join(
                e(f"{f.severity} {f.code} {f.name}: {f.message}")
                for f in s.findings
                if f.collection in (c, None) and (c == "main" or f.collection == c)
            )
            door = s.front_door[c]
            rows.append(
                "<tr>"
                f"<td>{e(s.source)}</td><td>{e(s.name)}</td><td>{c}</td>"
                + "".join(f"<td>{e(s.internet[c][FAMILIES[v]])}</td>" for v in (4, 6))
                + f"<td>{e(door.status)}</td><td>{s.rule_set}</td><td>{findings}</td></tr>"
            )
    errors = "".join(f"<li>{e(x.message)}</li>" for x in fleet.errors)
    who_rows = ""
    if fleet.who is not None:
        who_rows = "".join(
            f"<tr><td>{e(a.source)}</td><td>{e(a.site)}</td><td>{a.collection}</td>"
            f"<td>{'allow' if a.allowed else 'deny'}</td>"
            f"<td>{e(a.rule.label if a.rule is not None else a.reason)}</td></tr>"
            for a in fleet.who
        )
        who_rows = (
            "<h2>Who</h2><table><tr><th>source</th><th>site</th><th>collection</th>"
            f"<th>decision</th><th>by</th></tr>{who_rows}</table>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>acl audit</title>'
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:2px 6px;vertical-align:top}</style></head><body>"
        "<h1>acl audit</h1><table><tr><th>source</th><th>site</th><th>collection</th>"
        "<th>IPv4 from the internet</th><th>IPv6 from the internet</th><th>Front Door</th>"
        f"<th>rule set</th><th>findings</th></tr>{''.join(rows)}</table>{who_rows}"
        f"{'<h2>Not loaded</h2><ul>' + errors + '</ul>' if errors else ''}</body></html>\n"
    )


def render_audit(fleet: Audit, format: str) -> str:
    if format == "json":
        return json.dumps(fleet.to_dict(), indent=2) + "\n"
    if format == "html":
        return audit_html(fleet)
    if format == "sarif":
        failed = [LintedFile(x.source, (), x.message) for x in fleet.errors]
        return lint_sarif(fleet.findings(), errors=failed)
    return audit_text(fleet)

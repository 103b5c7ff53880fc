"""What people read: ``acl check`` and ``acl whatif`` summaries as text, CSV, JSON and a
self-contained HTML page (inline SVG charts, no scripts, no network).
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from ..engine import BulkDecisions
from ..errors import AclError
from ..logs import Batch
from ..model import Rule
from ..outputs import AtomicOutput
from .records import audit_record, iter_rows
from .run import WhatIf
from .summary import COLLECTION_NAMES, Summary

__all__ = [
    "DecisionWriter",
    "render_csv",
    "render_html",
    "render_json",
    "render_text",
    "render_whatif_text",
]


def _n(value: int) -> str:
    return f"{value:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _label(rule: Any, code: int) -> str:
    if rule is None:
        return {
            -1: "(unmatched-rule action)",
            -2: "(private endpoint)",
            -3: "(public access disabled)",
        }.get(code, "(invalid)")
    return f"{rule.label} {rule.action.value}"


def render_text(summary: Summary, *, top: int = 10) -> str:
    """The summary a person reads in ten seconds; disagreements first when there are any."""
    out: list[str] = []
    site = summary.engine.site
    formats = sorted(set(summary.sources.values()))
    out.append(
        f"acl check: {_n(summary.requests)} requests from {len(summary.sources)} source(s)"
        f" ({', '.join(formats) or '-'}) against {site.source or '-'}"
    )
    if summary.disagreements:
        out.append("")
        out.append(
            f"DISAGREEMENTS: {_n(summary.disagreements)} of {_n(summary.audited)} audited decisions "
            "differ from what Azure recorded"
        )
        for d in summary.disagreement_examples:
            out.append(
                f"  {d.source}:{d.line}: {d.request.address} host {d.request.host or '-'}: "
                f"Azure {d.recorded}{f' ({d.azure_details})' if d.azure_details else ''}, "
                f"acl {d.decision.action.word} by {d.decision.decided_by}"
            )
            out.extend("      " + line for line in d.decision.explain().splitlines()[1:])
    elif summary.audited:
        out.append(
            f"Azure agreement: all {_n(summary.audited)} audited decisions match what Azure recorded"
        )
    out.append("")
    out.append(
        f"Decisions: {_n(summary.allowed)} allowed ({_pct(summary.allowed, summary.requests)}), "
        f"{_n(summary.denied)} denied ({_pct(summary.denied, summary.requests)})"
    )
    for title, table in (("collection", summary.by_collection), ("family", summary.by_family)):
        parts = [f"{k} {_n(a)} allowed / {_n(d)} denied" for k, (a, d) in table.items() if a or d]
        if parts:
            out.append(f"  by {title}: " + "; ".join(parts))
    defaults = summary.default_decisions()
    if any(defaults.values()):
        detail = ", ".join(
            f"{coll} {_n(n)} ({site.default_action(coll).value})"  # type: ignore[arg-type]
            for coll, n in defaults.items()
            if n
        )
        out.append(f"  decided by the unmatched-rule action: {detail}")
    out.append("")
    out.append("Hits per rule:")
    for coll, rule, code, count in summary.rule_hits():
        out.append(f"  {count:>10,}  [{coll}] {_label(rule, code)}")
    never = summary.never_fired()
    if never:
        out.append(f"Rules that never fired ({len(never)}):")
        for rule in never:
            out.append(f"  [{rule.collection}] {rule.label} {rule.action.value}")
    for title, counter in (("sources", summary.denied_sources), ("hosts", summary.denied_hosts)):
        entries = counter.top(top)
        if entries:
            approx = " (approximate)" if counter.approximate else ""
            out.append(
                f"Top denied {title}{approx}: " + ", ".join(f"{k} ({_n(v)})" for k, v in entries)
            )
    out.append("")
    out.append(
        f"Lines: {_n(summary.lines)} = {_n(summary.requests)} requests + {_n(summary.rejected)} rejected"
        f" + {_n(summary.metadata)} metadata"
    )
    if summary.reject_reasons:
        out.append(
            "  rejected: "
            + ", ".join(f"{k} ({_n(v)})" for k, v in summary.reject_reasons.most_common())
        )
        for reject in summary.first_rejects:
            out.append(f"    {reject}")
    return "\n".join(out)


CHECK_FORMAT = "acl-check/1"
"""The schema id of ``acl check --format json`` (acl/schemas/acl-check-1.json)."""


def render_json(summary: Summary) -> str:
    return json.dumps({"format": CHECK_FORMAT, **summary.to_dict()}, indent=2, sort_keys=False)


def render_csv(summary: Summary) -> str:
    """Hits per rule and per reason, one row each, rules that never fired included."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["collection", "decided_by", "position", "name", "priority", "action", "count"])
    for coll, rule, code, count in summary.rule_hits():
        if rule is None:
            writer.writerow([coll, _label(None, code).strip("()"), "", "", "", "", count])
        else:
            writer.writerow(
                [
                    coll,
                    "rule",
                    rule.position,
                    rule.name or "",
                    rule.priority,
                    rule.action.value,
                    count,
                ]
            )
    for rule in summary.never_fired():
        writer.writerow(
            [
                rule.collection,
                "rule",
                rule.position,
                rule.name or "",
                rule.priority,
                rule.action.value,
                0,
            ]
        )
    return buffer.getvalue()


# ---------------------------------------------------------------------------- HTML


def _bars(rows: list[tuple[str, int]], *, title: str, color: str, width: int = 760) -> str:
    """A horizontal bar chart as inline SVG."""
    if not rows:
        return f'<p class="empty">{html.escape(title)}: nothing to show</p>'
    bar_h, label_w = 22, 330
    peak = max(v for _, v in rows) or 1
    height = bar_h * len(rows) + 30
    parts = [
        f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{html.escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(rows):
        y = 20 + i * bar_h
        w = max(1, int((width - label_w - 80) * value / peak))
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">{html.escape(label[:52])}</text>'
        )
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w}" height="{bar_h - 6}" fill="{color}"/>'
        )
        parts.append(f'<text x="{label_w + w + 6}" y="{y + 15}" font-size="12">{value:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _timeline(summary: Summary, width: int = 760, height: int = 260) -> str:
    """Allowed and denied requests per minute as stacked bars, with axes and a legend."""
    data = summary.to_dict()["timeline"]
    if not data:
        return '<p class="empty">Decisions over time: the logs carry no times</p>'
    esc = html.escape
    peak = max(point["allowed"] + point["denied"] for point in data) or 1
    left, right, top, bottom = 70, 20, 34, 56  # plot margins: axis labels live in them
    plot_w, plot_h = width - left - right, height - top - bottom
    base = top + plot_h
    step = plot_w / max(1, len(data))
    parts = [
        f'<svg role="img" aria-label="Decisions over time" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>Decisions over time</title>'
    ]
    # y axis: 0, half and the peak per minute, with light grid lines
    parts.append('<g class="axis" id="timeline-y-axis" font-size="11">')
    for value in sorted({0, peak // 2, peak}):
        y = base - plot_h * value / peak
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#555"/>'
        f'<text class="axis-label" transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
        'text-anchor="middle">requests per minute</text></g>'
    )
    for i, point in enumerate(data):
        x = left + i * step
        h_allow = plot_h * point["allowed"] / peak
        h_deny = plot_h * point["denied"] / peak
        w = max(1.0, step - 1)
        tip = f"{point['minute']}: {point['allowed']:,} allowed, {point['denied']:,} denied"
        parts.append(
            f"<g><title>{esc(tip)}</title>"
            f'<rect class="bar allowed" x="{x:.1f}" y="{base - h_allow:.1f}" width="{w:.1f}" height="{h_allow:.1f}" fill="#2e7d32"/>'
            f'<rect class="bar denied" x="{x:.1f}" y="{base - h_allow - h_deny:.1f}" width="{w:.1f}" height="{h_deny:.1f}" fill="#c62828"/></g>'
        )
    # x axis: the first, middle and last minute, and what the axis is
    parts.append(
        f'<g class="axis" id="timeline-x-axis" font-size="11">'
        f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#555"/>'
    )
    ticks = sorted({0, (len(data) - 1) // 2, len(data) - 1})
    for k, i in enumerate(ticks):
        anchor = "start" if k == 0 else ("end" if i == len(data) - 1 else "middle")
        x = left + i * step + (step / 2 if anchor == "middle" else 0)
        if anchor == "end":
            x = left + (i + 1) * step
        parts.append(
            f'<text x="{x:.1f}" y="{base + 16}" text-anchor="{anchor}">{esc(data[i]["minute"])}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="{left + plot_w / 2:.1f}" y="{height - 10}" '
        'text-anchor="middle">time (minute, as logged)</text></g>'
    )
    # legend: what the two colours stand for
    lx = left + plot_w - 180
    parts.append(
        f'<g class="legend" id="timeline-legend" font-size="12">'
        f'<rect x="{lx}" y="8" width="12" height="12" fill="#2e7d32"/>'
        f'<text x="{lx + 17}" y="18">allowed</text>'
        f'<rect x="{lx + 90}" y="8" width="12" height="12" fill="#c62828"/>'
        f'<text x="{lx + 107}" y="18">denied</text></g>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _sources_text(rule: Rule) -> str:
    text = ", ".join(source.text for source in rule.sources) or "-"
    for flt in rule.headers:
        text += f"; {flt.name}: {', '.join(flt.values)}"
    return text


def _rule_tables(summary: Summary) -> str:
    """Every rule with its hits, per collection, zero-hit rules marked; then the decisions
    that no rule made (the unmatched-rule action and the other reasons)."""
    esc = html.escape
    site = summary.engine.site
    per_rule: Counter[int] = Counter()
    reasons: Counter[tuple[str, int]] = Counter()
    for (asked, code), count in summary.hits.items():
        if code >= 0:
            per_rule[code] += count
        else:
            reasons[(COLLECTION_NAMES[asked], code)] += count
    sections = []
    for coll in COLLECTION_NAMES:
        rows = []
        for index, rule in enumerate(summary.engine.tables.rules):
            if rule.collection != coll:
                continue
            hits = per_rule.get(index, 0)
            badge = ' <span class="badge">never fired</span>' if not hits else ""
            rows.append(
                f'<tr class="{"never-fired" if not hits else "fired"}">'
                f"<td>{rule.position}</td><td>{esc(rule.name or '(unnamed)')}</td>"
                f"<td>{rule.priority}</td><td>{esc(rule.action.value)}</td>"
                f"<td>{esc(_sources_text(rule))}</td>"
                f'<td class="count">{hits:,}{badge}</td></tr>'
            )
        for (reason_coll, code), count in sorted(reasons.items()):
            if reason_coll == coll:
                rows.append(
                    f'<tr class="reason"><td></td><td colspan="4">{esc(_label(None, code))}</td>'
                    f'<td class="count">{count:,}</td></tr>'
                )
        note = ""
        if coll == "scm" and site.scm_use_main:
            note = (
                "<p>scm requests are decided by the main rules "
                "(<code>scmIpSecurityRestrictionsUseMain</code>): their hits count above.</p>"
            )
        body = "".join(rows) or '<tr><td colspan="6">no rules</td></tr>'
        sections.append(
            f"<h3>{esc(coll)}</h3>{note}"
            f'<table class="rules" id="rules-{esc(coll)}"><thead><tr><th>#</th><th>name</th>'
            "<th>priority</th><th>action</th><th>source</th><th>hits</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    return "".join(sections)


def _script_json(data: Any) -> str:
    r"""JSON that can sit inside a ``<script type="application/json">`` element as it is.

    The element's text is not HTML-decoded, so entities would stay in the JSON; only what
    would end the element or change how it is parsed is escaped, with JSON's own escapes:
    ``</`` (as ``<\/``), ``<!--`` (as ``\u003c!--``) and U+2028/U+2029.
    """
    text = json.dumps(data, ensure_ascii=False)
    return (
        text.replace("<!--", "\\u003c!--")
        .replace("</", "<\\/")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def render_html(summary: Summary) -> str:
    """One self-contained HTML file: figures, charts (inline SVG), tables. No scripts run:
    the summary rides along as ``acl-check/1`` JSON in a ``<script type="application/json"
    id="summary">`` data block, the same object as :func:`render_json`."""
    data = summary.to_dict()
    esc = html.escape
    hits = [
        (f"[{coll}] {_label(rule, code)}", count) for coll, rule, code, count in summary.rule_hits()
    ][:30]
    sources = summary.denied_sources.top(15)
    figures = [
        ("requests", summary.requests),
        ("allowed", summary.allowed),
        ("denied", summary.denied),
        ("rejected lines", summary.rejected),
        ("disagreements with Azure", summary.disagreements),
    ]
    cards = "".join(
        f'<div class="figure" id="figure-{esc(k.split()[0])}"><div class="value">{v:,}</div><div class="name">{esc(k)}</div></div>'
        for k, v in figures
    )
    disagreements = "".join(
        f"<tr><td>{esc(d.source)}:{d.line}</td><td>{esc(d.request.address)}</td><td>{esc(d.request.host or '-')}</td>"
        f"<td>{esc(d.recorded)}</td><td>{esc(d.decision.action.word)} by {esc(d.decision.decided_by)}</td>"
        f"<td><pre>{esc(d.decision.explain())}</pre></td></tr>"
        for d in summary.disagreement_examples
    )
    never = "".join(
        f"<li>[{esc(r.collection)}] {esc(r.label)} {esc(r.action.value)}</li>"
        for r in summary.never_fired()
    )
    rejects = "".join(f"<li>{esc(str(r))}</li>" for r in summary.first_rejects)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>acl check: {esc(str(data["rules"]))}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
.figures {{ display: flex; gap: 1em; flex-wrap: wrap; }}
.figure {{ border: 1px solid #ccc; border-radius: 6px; padding: .6em 1.2em; min-width: 8em; }}
.figure .value {{ font-size: 1.8em; font-weight: bold; }}
.headline {{ background: #fdecea; border: 1px solid #c62828; padding: .6em 1em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ddd; padding: .2em .5em; vertical-align: top; }}
pre {{ margin: 0; font-size: .85em; white-space: pre-wrap; }}
td.count {{ text-align: right; white-space: nowrap; }}
tr.never-fired td {{ color: #777; }}
tr.reason td {{ font-style: italic; }}
.badge {{ background: #fff3e0; border: 1px solid #e65100; color: #e65100; border-radius: 3px; font-size: .75em; padding: 0 .35em; font-style: normal; }}
</style></head><body>
<h1>acl check</h1>
<p>Rules: <code>{esc(str(data["rules"]))}</code>; logs: {esc(", ".join(f"{k} ({v})" for k, v in data["sources"].items()))}</p>
{f'<p class="headline">{summary.disagreements:,} of {summary.audited:,} audited decisions differ from what Azure recorded</p>' if summary.disagreements else ""}
<div class="figures">{cards}</div>
<h2>Decisions over time</h2>{_timeline(summary)}
<h2>Hits per rule</h2>{_bars(hits, title="Hits per rule", color="#1565c0")}
<h2>Top denied sources</h2>{_bars(sources, title="Top denied sources", color="#c62828")}
<h2>Every rule</h2>{_rule_tables(summary)}
<h2>Rules that never fired</h2><ul>{never or "<li>none</li>"}</ul>
{f"<h2>Disagreements with Azure</h2><table><tr><th>where</th><th>address</th><th>host</th><th>Azure</th><th>acl</th><th>explanation</th></tr>{disagreements}</table>" if disagreements else ""}
<h2>Lines</h2><p>{data["lines"]:,} lines = {data["requests"]:,} requests + {data["rejected"]:,} rejected + {data["metadata"]:,} metadata</p>
<ul>{rejects}</ul>
<script type="application/json" id="summary">{_script_json({"format": CHECK_FORMAT, **data})}</script>
</body></html>
"""


def render_whatif_text(result: WhatIf, *, examples: int = 3) -> str:
    """Flipped decisions grouped by the deciding rules on each side."""
    out = [
        f"acl whatif: {_n(result.current.requests)} requests; {_n(result.flipped)} would be decided differently "
        f"({result.current.engine.site.source or '-'} -> {result.proposed.engine.site.source or '-'})"
    ]
    if not result.flipped:
        out.append("No request of this traffic changes its decision.")
    for flip in result.groups():

        def side(ref: Mapping[str, Any]) -> str:
            if "reason" in ref:
                return f"[{ref['collection']}] ({ref['reason']})"
            return f"[{ref['collection']}] {ref['name']!r} (#{ref['position']}, priority {ref['priority']})"

        out.append(
            f"  {flip.count:>10,}  {flip.direction}: {side(flip.before)} -> {side(flip.after)}"
        )
        for example in flip.examples[:examples]:
            out.append(
                f"              e.g. {example['source']}:{example['line']} {example['ip']} host {example['host'] or '-'}"
            )
    return "\n".join(out)


class DecisionWriter:
    """Writes one record per request to ``.jsonl``, ``.csv`` or ``.parquet`` (``--out``)."""

    COLUMNS = (
        "source",
        "line",
        "time",
        "ip",
        "host",
        "collection",
        "action",
        "status",
        "reason",
        "rule_position",
        "rule_name",
        "rule_priority",
        "recorded",
    )

    def __init__(self, path: str | os.PathLike[str], *, as_audit_log: bool = False) -> None:
        self.path = os.fspath(path)
        self.as_audit_log = as_audit_log
        suffix = Path(self.path).suffix.lower()
        if suffix not in (".jsonl", ".csv", ".parquet"):
            raise AclError(f"--out {self.path!r}: expected a .jsonl, .csv or .parquet file name")
        if as_audit_log and suffix != ".jsonl":
            raise AclError("--as-audit-log writes resource-log JSON lines: use a .jsonl file")
        self.kind = suffix[1:]
        self._handle: IO[str] | None = None
        self._csv: Any = None
        self._parquet: Any = None
        if self.kind == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise AclError("--out *.parquet needs pyarrow: pip install pyarrow") from None
        self._output = AtomicOutput(self.path, what="--out file")
        try:
            if self.kind != "parquet":
                self._handle = self._output.open("w")
                if self.kind == "csv":
                    self._csv = csv.writer(self._handle, lineterminator="\n")
                    self._csv.writerow(self.COLUMNS)
        except OSError as exc:
            self._output.discard()
            raise self._output._error(exc) from None

    def write(self, batch: Batch, result: BulkDecisions) -> None:
        """Add one batch's records.

        Raises:
            OutputError: they cannot be written (a full disk); the partial file is removed.
        """
        try:
            self._write(batch, result)
        except OSError as exc:
            self.discard()
            raise self._output._error(exc) from None

    def _write(self, batch: Batch, result: BulkDecisions) -> None:
        rows = list(iter_rows(batch, result))
        if self.kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pylist(rows, schema=self._schema(pa))
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._output.temp, table.schema)
            self._parquet.write_table(table)
            return
        assert self._handle is not None
        if self.kind == "csv":
            self._csv.writerows([row[c] for c in self.COLUMNS] for row in rows)
            return
        engine = result._engine
        for i, row in enumerate(rows):
            if self.as_audit_log:
                headers = {name: values[i] for name, values in batch.headers.items()}
                record = audit_record(row, engine.rule(int(result.code[i])), headers)
                if batch.service_endpoint is not None and batch.service_endpoint[i]:
                    record["properties"]["ServiceEndpoint"] = "True"
                self._handle.write(json.dumps(record) + "\n")
            else:
                self._handle.write(json.dumps(row) + "\n")

    @staticmethod
    def _schema(pa: Any) -> Any:
        return pa.schema(
            [
                ("source", pa.string()),
                ("line", pa.int64()),
                ("time", pa.string()),
                ("ip", pa.string()),
                ("host", pa.string()),
                ("collection", pa.string()),
                ("action", pa.string()),
                ("status", pa.int32()),
                ("reason", pa.string()),
                ("rule_position", pa.int32()),
                ("rule_name", pa.string()),
                ("rule_priority", pa.int64()),
                ("recorded", pa.string()),
            ]
        )

    def close(self) -> None:
        """Finish the file and rename it into place (see :class:`~acl.outputs.AtomicOutput`).

        Raises:
            OutputError: it cannot be written (the partial file is removed).
        """
        try:
            if self._parquet is not None:
                self._parquet.close()
            elif self.kind == "parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.Table.from_pylist([], schema=self._schema(pa)), self._output.temp)
        except OSError as exc:
            self.discard()
            raise self._output._error(exc) from None
        self._output.commit()

    def discard(self) -> None:
        """Give up: remove the partial file; an earlier file of that name stays as it was."""
        if self._parquet is not None:
            with contextlib.suppress(OSError):  # a full disk: the file is removed anyway
                self._parquet.close()
            self._parquet = None
        self._output.discard()


def write_text(path: str | None, text: str, *, what: str = "report") -> None:
    """Print, or write a file whole (see :class:`~acl.outputs.AtomicOutput`).

    Raises:
        OutputError: the file cannot be written; nothing of it is left.
    """
    if path is None:
        print(text)
        return
    AtomicOutput(path, what=what).write_text(text + ("" if text.endswith("\n") else "\n"))

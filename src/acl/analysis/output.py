"""Renderers: lint findings as text, JSON, SARIF 2.1.0 and GitHub workflow commands; diffs
and search results as text and JSON. Every renderer returns a string; the output is
deterministic (sorted keys, no timestamps)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .. import __version__
from .diff import Diff
from .lint import CHECKS, SEVERITIES, Finding, RuleRef
from .search import Witness

__all__ = [
    "LINT_FORMATS",
    "diff_json",
    "diff_text",
    "lint_github",
    "lint_json",
    "lint_sarif",
    "lint_text",
    "render_lint",
    "search_json",
    "search_text",
]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note"}
GITHUB_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _where(ref: RuleRef) -> str:
    place = ref.file or ""
    if ref.line is not None:
        place += f":{ref.line}"
    if ref.path:
        place = f"{place}: {ref.path}" if place else ref.path
    return place


def summary(findings: Sequence[Finding]) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {level: counts.get(level, 0) for level in reversed(SEVERITIES)}


# ---------------------------------------------------------------------------- lint


def lint_text(findings: Sequence[Finding], source: str | None = None) -> str:
    """One block per finding (location, severity, code, message; the related rules, the
    example and the hint indented), then a count line."""
    lines: list[str] = []
    for finding in findings:
        scope = f" [{finding.collection}]" if finding.collection else ""
        where = f"{finding.location}: " if finding.location else ""
        lines.append(
            f"{where}{finding.severity} {finding.code} {finding.name}{scope}: {finding.message}"
        )
        for ref in finding.related:
            lines.append(f"  see {ref.label} at {_where(ref)}")
        if finding.example is not None:
            lines.append(f"  example: {json.dumps(finding.example.to_dict(), sort_keys=True)}")
        lines.append(f"  hint: {finding.hint}")
    counts = summary(findings)
    total = len(findings)
    about = f" in {source}" if source else ""
    if total:
        lines.append(
            f"{total} finding{'s' if total != 1 else ''}{about}: "
            + ", ".join(f"{n} {level}" for level, n in counts.items())
        )
    else:
        lines.append(f"no findings{about}")
    return "\n".join(lines) + "\n"


def lint_json(findings: Sequence[Finding], source: str | None = None) -> str:
    return _dump(
        {
            "file": source,
            "findings": [f.to_dict() for f in findings],
            "summary": summary(findings),
        }
    )


def _sarif_location(ref: RuleRef) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if ref.file:
        physical: dict[str, Any] = {"artifactLocation": {"uri": ref.file}}
        if ref.line is not None:
            physical["region"] = {"startLine": ref.line}
        location["physicalLocation"] = physical
    logical: dict[str, Any] = {
        "kind": "member",
        "name": ref.name or f"#{ref.position}",
        "fullyQualifiedName": ref.path or f"{ref.collection}[{ref.position}]",
    }
    location["logicalLocations"] = [logical]
    location["message"] = {"text": f"rule {ref.label} ({ref.collection})"}
    return location


def lint_sarif(findings: Sequence[Finding], source: str | None = None) -> str:
    """A SARIF 2.1.0 log: one run, the tool's rules are the finding codes."""
    codes = list(CHECKS)
    rules = [
        {
            "id": check.code,
            "name": check.name,
            "shortDescription": {"text": check.title},
            "help": {"text": check.hint},
            "defaultConfiguration": {"level": SARIF_LEVELS[check.severity]},
        }
        for check in CHECKS.values()
    ]
    results: list[dict[str, Any]] = []
    for finding in findings:
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "ruleIndex": codes.index(finding.code),
            "level": SARIF_LEVELS[finding.severity],
            "message": {"text": f"{finding.message}. {finding.hint}"},
        }
        if finding.rules:
            result["locations"] = [_sarif_location(ref) for ref in finding.rules[:1]]
            related = [*finding.rules[1:], *finding.related]
            if related:
                result["relatedLocations"] = [
                    {"id": i, **_sarif_location(ref)} for i, ref in enumerate(related)
                ]
        elif finding.file:
            result["locations"] = [
                {"physicalLocation": {"artifactLocation": {"uri": finding.file}}}
            ]
        properties: dict[str, Any] = {}
        if finding.collection:
            properties["collection"] = finding.collection
        if finding.example is not None:
            properties["example"] = finding.example.to_dict()
        if properties:
            result["properties"] = properties
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "acl",
                        "version": __version__,
                        "informationUri": "https://learn.microsoft.com/azure/app-service/overview-access-restrictions",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return _dump(log)


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def lint_github(findings: Sequence[Finding], source: str | None = None) -> str:
    """GitHub Actions workflow commands (``::error file=...::message``), one per finding."""
    lines: list[str] = []
    for finding in findings:
        props: list[str] = []
        ref = finding.rules[0] if finding.rules else None
        file = (ref.file if ref is not None else None) or finding.file or source
        if file:
            props.append(f"file={_gh_property(file)}")
        if ref is not None and ref.line is not None:
            props.append(f"line={ref.line}")
        props.append(f"title={_gh_property(f'{finding.code} {finding.name}')}")
        where = f"{ref.path}: " if ref is not None and ref.path else ""
        message = f"{where}{finding.message}. Fix: {finding.hint}"
        lines.append(f"::{GITHUB_LEVELS[finding.severity]} {','.join(props)}::{_gh_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")


LINT_FORMATS = {
    "text": lint_text,
    "json": lint_json,
    "sarif": lint_sarif,
    "github": lint_github,
}
"""Output format name to lint renderer."""


def render_lint(findings: Sequence[Finding], format: str, source: str | None = None) -> str:
    return LINT_FORMATS[format](findings, source)


# ---------------------------------------------------------------------------- diff


def diff_text(result: Diff) -> str:
    """Nothing when the sites are identical; else one block per difference."""
    lines: list[str] = []
    for d in result.differences:
        include, exclude = d.compact_cidrs
        where = ", ".join(include) + (f" except {', '.join(exclude)}" if exclude else "")
        lines.append(f"[{d.collection}] {d.old.action.word} -> {d.new.action.word}: {where}")
        lines.append(f"  when: {d.condition}")
        lines.append(f"  old:  {d.old}")
        lines.append(f"  new:  {d.new}")
        lines.append(f"  e.g.: {json.dumps(d.example.to_dict(), sort_keys=True)}")
    for u in result.unresolved:
        lines.append(f"[{u.collection}] unresolved: {', '.join(u.cidrs)}")
        lines.append(f"  {u.reason}")
        if u.example is not None:
            lines.append(f"  old:  {u.old}")
            lines.append(f"  new:  {u.new}")
            lines.append(f"  e.g.: {json.dumps(u.example.to_dict(), sort_keys=True)}")
    if lines:
        count = len(result.differences)
        lines.append(
            f"{count} difference{'s' if count != 1 else ''}"
            + (f", {len(result.unresolved)} unresolved" if result.unresolved else "")
        )
    return "\n".join(lines) + ("\n" if lines else "")


def diff_json(result: Diff) -> str:
    return _dump(result.to_dict())


# ---------------------------------------------------------------------------- search


def search_text(found: Witness | None, question: str) -> str:
    if found is None:
        return f"{question}: none exists (checked over every address and header state)\n"
    request = json.dumps(found.request.to_dict(), sort_keys=True)
    return f"{found}\n  request: {request}\n"


def search_json(found: Witness | None, question: str) -> str:
    if found is None:
        return _dump({"found": False, "statement": question})
    return _dump({"found": True, **found.to_dict()})

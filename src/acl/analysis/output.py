"""Renderers: lint findings as text, JSON, SARIF 2.1.0 and GitHub workflow commands; diffs
and search results as text and JSON. Every renderer returns a string; the output is
deterministic (sorted keys, no timestamps)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

from .. import __version__
from .diff import Diff
from .lint import CHECKS, SEVERITIES, Finding, RuleRef
from .search import Witness

__all__ = [
    "DIFF_FORMAT",
    "LINT_FORMAT",
    "LINT_FORMATS",
    "SEARCH_FORMAT",
    "LintedFile",
    "diff_files_json",
    "diff_json",
    "diff_text",
    "lint_github",
    "lint_json",
    "lint_sarif",
    "lint_text",
    "render_lint",
    "render_lint_files",
    "search_json",
    "search_text",
]

# The schema ids of the JSON outputs ("format" in each document; acl/schemas/ has them).
LINT_FORMAT = "acl-lint/1"
DIFF_FORMAT = "acl-diff/1"
SEARCH_FORMAT = "acl-search/1"

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


class LintedFile(NamedTuple):
    """One file given to ``acl lint``: its findings, or why it could not be loaded."""

    source: str
    findings: tuple[Finding, ...]
    error: str | None = None


def _lint_document(linted: Sequence[LintedFile]) -> dict[str, Any]:
    files: list[dict[str, Any]] = []
    for item in linted:
        entry: dict[str, Any] = {"file": item.source}
        if item.error is not None:
            entry["error"] = item.error
        else:
            entry["summary"] = summary(item.findings)
        files.append(entry)
    findings = [f for item in linted for f in item.findings]
    return {
        "format": LINT_FORMAT,
        "file": linted[0].source if len(linted) == 1 else None,
        "files": files,
        "findings": [f.to_dict() for f in findings],
        "summary": summary(findings),
    }


def lint_json(findings: Sequence[Finding], source: str | None = None) -> str:
    """An ``acl-lint/1`` document for one file."""
    return _dump(_lint_document([LintedFile(source or "", tuple(findings))]))


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


def lint_sarif(
    findings: Sequence[Finding], source: str | None = None, errors: Sequence[LintedFile] = ()
) -> str:
    """A SARIF 2.1.0 log: one run, the tool's rules are the finding codes; files that could
    not be loaded (``errors``) are error notifications of a failed invocation."""
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
    log: dict[str, Any] = {
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
    if errors:
        log["runs"][0]["invocations"] = [
            {
                "executionSuccessful": False,
                "toolExecutionNotifications": [
                    {
                        "level": "error",
                        "message": {"text": item.error},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"uri": item.source}}}
                        ],
                    }
                    for item in errors
                ],
            }
        ]
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


def render_lint_files(linted: Sequence[LintedFile], format: str) -> str:
    """The findings of several files in one output: text and GitHub commands file after
    file, one JSON document, one SARIF run. A file that could not be loaded is left out of
    text (the error goes to stderr), an ``error`` entry in JSON, an error notification in
    SARIF and an ``::error`` command for GitHub."""
    if format == "json":
        return _dump(_lint_document(linted))
    loaded = [item for item in linted if item.error is None]
    failed = [item for item in linted if item.error is not None]
    if format == "sarif":
        findings = [f for item in loaded for f in item.findings]
        source = linted[0].source if len(linted) == 1 else None
        return lint_sarif(findings, source, failed)
    if format == "github":
        lines = [
            f"::error file={_gh_property(item.source)},title=acl load error::"
            f"{_gh_data(item.error or '')}"
            for item in failed
        ]
        text = "".join(lint_github(item.findings, item.source) for item in loaded)
        return text + "".join(line + "\n" for line in lines)
    return "".join(render_lint(item.findings, format, item.source) for item in loaded)


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
    """An ``acl-diff/1`` document for OLD NEW."""
    return _dump({"format": DIFF_FORMAT, **result.to_dict()})


def diff_files_json(pairs: Sequence[dict[str, Any]]) -> str:
    """An ``acl-diff/1`` document for ``--base DIR FILE...``: one entry per FILE (``old``,
    ``new``, and the diff's fields, or ``error``, or ``old_missing``)."""
    identical = all(pair.get("identical") is True for pair in pairs)
    return _dump({"format": DIFF_FORMAT, "identical": identical, "pairs": list(pairs)})


# ---------------------------------------------------------------------------- search


def search_text(found: Witness | None, question: str) -> str:
    if found is None:
        return f"{question}: none exists (checked over every address and header state)\n"
    request = json.dumps(found.request.to_dict(), sort_keys=True)
    return f"{found}\n  request: {request}\n"


def search_json(found: Witness | None, question: str) -> str:
    if found is None:
        return _dump({"format": SEARCH_FORMAT, "found": False, "statement": question})
    return _dump({"format": SEARCH_FORMAT, "found": True, **found.to_dict()})

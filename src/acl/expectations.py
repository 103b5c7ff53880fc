"""Expectation files: a site and the decisions it must give (the format ``acl test`` reads).

The format is described in ``docs/expectations.md`` (and ``../shared/conformance/README.md``).
JSON and YAML files with the same structure are accepted.

>>> report = run_files(["tests/expectations/frontdoor.yaml"])
>>> report.failed
0
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .decision import Decision
from .engine import compile
from .errors import AclError, ExpectationError, Origin
from .formats import LoadOptions, load, load_document
from .model import HOSTINGS, REASONS, Request, Site
from .servicetags import load_service_tags

__all__ = ["CaseResult", "Report", "request_from_dict", "run_file", "run_files"]

REQUEST_KEYS = frozenset(
    {"ip", "host", "headers", "subnet", "service_endpoint", "private_endpoint"}
)
REASON_WORDS = frozenset(reason for reason in REASONS if reason != "rule")
"""The words ``rule`` may name instead of a rule: every reason but a rule's."""
OPTION_KEYS = {
    "private_endpoint": bool,
    "hosting": str,
    "ip_based_ssl": bool,
    "document": str,
}
"""The load options an expectation file may give (``options``): the site state a site
document cannot say (a bare rule list has no private endpoint), and what the document is."""


def _load_options(data: Mapping[str, Any], label: str) -> dict[str, Any]:
    options = data.get("options")
    where = Origin(file=label, path="$.options")
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ExpectationError(f"options {options!r:.60} is not an object", where)
    unknown = set(options) - set(OPTION_KEYS)
    if unknown:
        raise ExpectationError(
            f"options has unknown key(s) {', '.join(sorted(map(repr, unknown)))}: expected "
            f"{', '.join(OPTION_KEYS)}",
            where,
        )
    for key, kind in OPTION_KEYS.items():
        if key in options and not isinstance(options[key], kind):
            wanted = "true or false" if kind is bool else "a string"
            raise ExpectationError(
                f"options {key} {options[key]!r:.60} is not {wanted}",
                Origin(file=label, path=f"$.options.{key}"),
            )
    if "hosting" in options and options["hosting"] not in HOSTINGS:
        raise ExpectationError(
            f"options hosting {options['hosting']!r:.60} is not one of {', '.join(HOSTINGS)}",
            Origin(file=label, path="$.options.hosting"),
        )
    if "document" in options and options["document"] not in ("returned", "sent"):
        raise ExpectationError(
            f"options document {options['document']!r:.60} is not 'returned' or 'sent'",
            Origin(file=label, path="$.options.document"),
        )
    return dict(options)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case (or one ``expect_error`` file) and whether it passed."""

    file: str
    name: str
    passed: bool
    message: str = ""


@dataclass
class Report:
    """The outcome of a run over several files."""

    results: list[CaseResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Files that could not be read, one line each."""

    @property
    def passed(self) -> int:
        return sum(1 for result in self.results if result.passed)

    @property
    def failed(self) -> int:
        return sum(1 for result in self.results if not result.passed)

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if self.failed else 0

    def summary_line(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ExpectationError(
            f"cannot read: {exc.strerror or exc}", Origin(file=str(path))
        ) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # only when a YAML file is read: ``import acl`` stays light

        try:
            return yaml.safe_load(text)
        except RecursionError:
            raise ExpectationError(_TOO_DEEP, Origin(file=str(path))) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise ExpectationError(
                f"invalid YAML: {exc}".splitlines()[0], Origin(file=str(path), line=line)
            ) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise ExpectationError(_TOO_DEEP, Origin(file=str(path))) from None
    except json.JSONDecodeError as exc:
        raise ExpectationError(
            f"invalid JSON: {exc.msg}", Origin(file=str(path), line=exc.lineno, column=exc.colno)
        ) from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise ExpectationError(f"invalid JSON: {exc}", Origin(file=str(path))) from None


_TOO_DEEP = (
    "the file is nested too deeply to read (Python's stack allows about 1,000 levels; "
    "an expectation file needs a handful)"
)


def request_from_dict(data: Any, origin: Origin | None = None) -> Request:
    """A :class:`Request` from the expectation-file request shape.

    Raises:
        ExpectationError: an unknown key or a value of the wrong type.
        RequestError: a value that is not usable (a bad address).
    """
    if not isinstance(data, Mapping):
        raise ExpectationError(f"request {data!r:.60} is not an object", origin)
    unknown = set(data) - REQUEST_KEYS
    if unknown:
        raise ExpectationError(
            f"request has unknown key(s) {', '.join(sorted(map(repr, unknown)))}: "
            f"expected {', '.join(sorted(REQUEST_KEYS))}",
            origin,
        )
    if "ip" not in data:
        raise ExpectationError("request has no 'ip'", origin)
    for flag in ("service_endpoint", "private_endpoint"):
        if flag in data and not isinstance(data[flag], bool):
            raise ExpectationError(f"request {flag} {data[flag]!r} is not true or false", origin)
    headers = data.get("headers")
    if headers is not None and not isinstance(headers, Mapping):
        raise ExpectationError(f"request headers {headers!r:.60} is not an object", origin)
    return Request(
        data["ip"],
        host=data.get("host"),
        headers=headers,
        subnet=data.get("subnet"),
        service_endpoint=bool(data.get("service_endpoint", False)),
        private_endpoint=bool(data.get("private_endpoint", False)),
    )


def _describe(decision: Decision) -> str:
    return f"{decision.action.word} by {decision.decided_by} ({decision.detail})"


def _matches_rule(decision: Decision, expected: str) -> bool:
    if expected in REASON_WORDS:
        return decision.reason == expected
    if decision.rule is None:
        return False
    if expected.startswith("#") and expected[1:].isdigit():
        return decision.rule.position == int(expected[1:])
    return decision.rule.name == expected


def run_file(path: str | Path) -> list[CaseResult]:
    """Run one expectation file.

    Raises:
        ExpectationError: the file cannot be read or is not in the expectation format.
    """
    file = Path(path)
    label = str(file)
    data = _read(file)
    if not isinstance(data, Mapping):
        raise ExpectationError(
            "expected an object with 'site' and 'cases'", Origin(file=label, path="$")
        )
    tags_path = data.get("service_tags")
    try:
        tags = load_service_tags(file.parent / tags_path if isinstance(tags_path, str) else None)
    except AclError as exc:
        raise ExpectationError(str(exc), Origin(file=label, path="$.service_tags")) from None
    state = _load_options(data, label)
    if "site_file" in data:
        if not isinstance(data["site_file"], str):
            raise ExpectationError(
                "site_file must be a path", Origin(file=label, path="$.site_file")
            )
        site_path = file.parent / data["site_file"]
        if not site_path.is_file():
            # Not the site's error: an expect_error file must not pass on a wrong path.
            raise ExpectationError(
                f"site_file {data['site_file']!r} cannot be read ({site_path} is not a file)",
                Origin(file=label, path="$.site_file"),
            )

        def loader() -> Site:
            return load(site_path, service_tags=tags, **state)

    elif "site" in data:
        options = LoadOptions(source=f"{label} $.site", service_tags=tags, **state)

        def loader() -> Site:
            return load_document(data["site"], options)

    else:
        raise ExpectationError("expected 'site' or 'site_file'", Origin(file=label, path="$"))

    if data.get("expect_error"):
        try:
            loader()
        except AclError as exc:
            return [CaseResult(label, "expect_error", True, str(exc))]
        return [
            CaseResult(label, "expect_error", False, "the site loaded, but an error was expected")
        ]

    cases = data.get("cases")
    if not isinstance(cases, list):
        raise ExpectationError("expected a 'cases' list", Origin(file=label, path="$.cases"))
    try:
        engine = compile(loader())
    except AclError as exc:
        return [CaseResult(label, "(site)", False, f"the site did not load: {exc}")]
    results: list[CaseResult] = []
    for index, case in enumerate(cases):
        where = Origin(file=label, path=f"$.cases[{index}]")
        if not isinstance(case, Mapping):
            raise ExpectationError("expected a case object", where)
        name = str(case.get("name", f"#{index}"))
        expect = case.get("expect")
        if expect not in ("allow", "deny"):
            raise ExpectationError(f"expect {expect!r} is not 'allow' or 'deny'", where)
        expected_rule = case.get("rule")
        if "rule" in case and expected_rule is None:
            raise ExpectationError(
                "rule is empty (in YAML, quote positions: rule: '#1', or # starts a comment)",
                where,
            )
        if expected_rule is not None and not isinstance(expected_rule, str):
            raise ExpectationError(f"rule {expected_rule!r} is not a string", where)
        try:
            request = request_from_dict(case.get("request"), where)
        except ExpectationError:
            raise
        except AclError as exc:
            results.append(CaseResult(label, name, False, f"request is invalid: {exc}"))
            continue
        decision = engine.decide(request)
        ok = decision.action.word == expect and (
            expected_rule is None or _matches_rule(decision, expected_rule)
        )
        message = ""
        if not ok:
            wanted = expect + (f" by {expected_rule}" if expected_rule else "")
            message = (
                f"request {json.dumps(request.to_dict())}: expected {wanted}, "
                f"got {_describe(decision)}"
            )
        results.append(CaseResult(label, name, ok, message))
    return results


def run_files(paths: Iterable[str | Path]) -> Report:
    """Run many files; unreadable files are collected in ``report.errors``."""
    report = Report()
    for path in paths:
        try:
            report.results.extend(run_file(path))
        except AclError as exc:
            report.errors.append(str(exc))
    return report

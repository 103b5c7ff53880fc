"""``acl eval`` (decide one request, or a file of requests) and ``acl test`` (run
expectation files)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ..decision import Decision
from ..engine import compile
from ..errors import AclError, Origin, RequestError, UsageError
from ..expectations import request_from_dict, run_files
from ..model import Request, Site
from .common import Commands, add_rules_options, known_header, load_site

__all__ = ["EVAL_FORMAT", "register"]

EVAL_FORMAT = "acl-eval/1"
"""The schema id of ``acl eval --json`` (acl/schemas/*.json; docs/cli.md)."""


def register(commands: Commands) -> None:
    """Add ``eval`` and ``test``."""
    ev = commands.add_parser("eval", help="decide one request, or a file of requests")
    add_rules_options(ev)
    req = ev.add_argument_group("the request")
    req.add_argument("--ip", metavar="ADDR", help="the source address")
    req.add_argument(
        "--host", metavar="HOST", help="the Host header (x.scm.y selects the scm site)"
    )
    req.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a request header; repeat for several headers or copies",
    )
    req.add_argument(
        "--subnet", metavar="ID", help="the source subnet resource id (service endpoint)"
    )
    req.add_argument(
        "--service-endpoint", action="store_true", help="arrived through a service endpoint"
    )
    req.add_argument(
        "--private-endpoint", action="store_true", help="arrived through a private endpoint"
    )
    req.add_argument(
        "--requests",
        metavar="FILE",
        help="decide every request of a JSON array or JSON lines file ('-' for stdin)",
    )
    out = ev.add_argument_group("output")
    out.add_argument("--explain", action="store_true", help="show every rule considered and why")
    out.add_argument("--json", action="store_true", help="print the decision as JSON")
    out.add_argument("--fail-on-deny", action="store_true", help="exit 1 when a request is denied")
    ev.set_defaults(handler=_cmd_eval)

    te = commands.add_parser("test", help="run expectation files (JSON or YAML)")
    te.add_argument("files", nargs="+", metavar="FILE")
    te.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    te.set_defaults(handler=_cmd_test)


def _parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"--header {text!r} is not 'Name: value'")
    return known_header(name, f"--header {text!r:.80}"), value.strip()


def _read_requests(path: str) -> list[tuple[int, Request]]:
    """Requests from a JSON array or JSON lines, in the expectation-file request shape."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read requests: {exc.strerror or exc}") from None
    stripped = text.lstrip()
    items: list[tuple[int, Any]] = []
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RequestError(
                f"invalid JSON: {exc.msg}", Origin(file=path, line=exc.lineno, column=exc.colno)
            ) from None
        items = [(index, item) for index, item in enumerate(data)]
        where = "path"
    else:
        where = "line"
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                items.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise RequestError(
                    f"invalid JSON: {exc.msg}", Origin(file=path, line=number, column=exc.colno)
                ) from None
    requests: list[tuple[int, Request]] = []
    for key, item in items:
        origin = (
            Origin(file=path, line=key) if where == "line" else Origin(file=path, path=f"$[{key}]")
        )
        headers = item.get("headers") if isinstance(item, dict) else None
        if isinstance(headers, dict):
            for name in headers:
                if isinstance(name, str):
                    known_header(name, f"{origin}: request headers")
            host = [name for name in headers if isinstance(name, str) and name.lower() == "host"]
            if host:
                item = {**item, "headers": {k: v for k, v in headers.items() if k not in host}}
                value = headers[host[0]]
                if item.get("host") not in (None, value) or len(host) > 1:
                    raise RequestError('the Host header and "host" disagree', origin)
                item["host"] = value
        try:
            requests.append((key, request_from_dict(item, origin)))
        except AclError as exc:
            if isinstance(exc, RequestError) and exc.origin is None:
                raise RequestError(exc.message, origin) from None
            raise
    return requests


def _print_batch(
    site: Site, decisions: list[tuple[int, Request, Decision]], as_json: bool, explain: bool
) -> None:
    if as_json:
        for _, request, decision in decisions:
            record = decision.to_dict(trace=explain)
            record["request"] = request.to_dict()
            record["format"] = EVAL_FORMAT
            print(json.dumps(record, sort_keys=True))
        return
    rows = [("line", "address", "host", "decision", "decided by")]
    for key, request, decision in decisions:
        rows.append(
            (
                str(key),
                request.address,
                request.host or "-",
                f"{decision.action.word} {decision.status}",
                f"{decision.decided_by} [{decision.collection}]",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    if explain:
        print()
        for key, _, decision in decisions:
            print(f"line {key}: {decision.explain()}")
    counts = Counter(decision.action.word for _, _, decision in decisions)
    by = Counter(
        (decision.collection, decision.decided_by, decision.action.word)
        for _, _, decision in decisions
    )
    print()
    print(
        f"{len(decisions)} requests: {counts.get('allow', 0)} allowed, {counts.get('deny', 0)} denied"
        f" (rules: {site.source or '-'})"
    )
    for (collection, decided_by, action), count in sorted(
        by.items(), key=lambda kv: (-kv[1], kv[0])
    ):
        print(f"  {count:>6}  {action:<5}  {collection:<4}  {decided_by}")
    fired = {decision.rule for _, _, decision in decisions if decision.rule is not None}
    silent = [rule for rule in site.all_rules() if rule not in fired]
    if silent:
        print("rules that decided none of these requests:")
        for rule in silent:
            print(f"  [{rule.collection}] {rule.label}")


def _cmd_eval(args: argparse.Namespace) -> int:
    if (args.ip is None) == (args.requests is None):
        raise UsageError("acl eval: give exactly one of --ip ADDR or --requests FILE")
    site = load_site(args)
    engine = compile(site)
    if args.requests is not None:
        decisions = [
            (key, request, engine.decide(request)) for key, request in _read_requests(args.requests)
        ]
        _print_batch(site, decisions, args.json, args.explain)
        denied = any(not decision.allowed for _, _, decision in decisions)
        return 1 if args.fail_on_deny and denied else 0
    headers = [_parse_header(text) for text in args.header]
    host = args.host
    for name, value in headers:
        if name == "Host":
            if host is not None and host != value:
                raise UsageError(f"--host {host!r} and --header 'Host: {value}' disagree")
            host = value
    request = Request(
        args.ip,
        host=host,
        headers=[(name, value) for name, value in headers if name != "Host"],
        subnet=args.subnet,
        service_endpoint=args.service_endpoint,
        private_endpoint=args.private_endpoint,
    )
    decision = engine.decide(request)
    if args.json:
        record = decision.to_dict(trace=args.explain)
        record["request"] = request.to_dict()
        record["format"] = EVAL_FORMAT
        print(json.dumps(record, indent=2, sort_keys=True))
    elif args.explain:
        print(decision.explain())
    else:
        print(decision.summary())
    return 1 if args.fail_on_deny and not decision.allowed else 0


def _cmd_test(args: argparse.Namespace) -> int:
    report = run_files(args.files)
    for result in report.results:
        if not result.passed:
            print(f"FAIL {result.file}: case {result.name!r}: {result.message}")
        elif args.verbose:
            print(f"ok   {result.file}: case {result.name!r}")
    for error in report.errors:
        print(f"ERROR {error}")
    print(report.summary_line())
    return report.exit_code

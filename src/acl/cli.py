"""The ``acl`` command: thin commands over the public API.

Exit codes: 0 success, 1 a check tripped (``--fail-on-deny``, a failed expectation), 2 an
error (printed as one line, without a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .decision import Decision
from .engine import compile
from .errors import AclError, Origin, RequestError
from .expectations import request_from_dict, run_files
from .formats import FORMATS, load
from .model import Request, Site
from .servicetags import ENV_VAR, ServiceTags, load_service_tags

__all__ = ["main"]


class UsageError(AclError):
    """A command line that does not make sense."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _add_rules_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("loading the rules")
    group.add_argument(
        "--rules", required=True, metavar="FILE", help="the site's rules, any supported format"
    )
    group.add_argument(
        "--format", choices=sorted(FORMATS), help="the rules file's format (default: sniffed)"
    )
    group.add_argument(
        "--service-tags",
        metavar="PATH",
        help=f"a ServiceTags_Public_*.json file (default: ${ENV_VAR}, else the bundled snapshot)",
    )
    group.add_argument("--site", metavar="NAME", help="which site of a template that has several")
    group.add_argument("--parameters", metavar="FILE", help="an ARM deployment parameters file")
    group.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an ARM template parameter value (repeatable)",
    )


def _load_site(args: argparse.Namespace) -> Site:
    params: dict[str, str] = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {item!r} is not NAME=VALUE")
        params[name] = value
    return load(
        args.rules,
        format=args.format,
        service_tags=args.service_tags,
        site=args.site,
        parameters=params,
        parameters_file=args.parameters,
    )


def _parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"--header {text!r} is not 'Name: value'")
    return name.strip(), value.strip()


# ---------------------------------------------------------------------------- eval


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
    site = _load_site(args)
    engine = compile(site)
    if args.requests is not None:
        decisions = [
            (key, request, engine.decide(request)) for key, request in _read_requests(args.requests)
        ]
        _print_batch(site, decisions, args.json, args.explain)
        denied = any(not decision.allowed for _, _, decision in decisions)
        return 1 if args.fail_on_deny and denied else 0
    request = Request(
        args.ip,
        host=args.host,
        headers=[_parse_header(text) for text in args.header],
        subnet=args.subnet,
        service_endpoint=args.service_endpoint,
        private_endpoint=args.private_endpoint,
    )
    decision = engine.decide(request)
    if args.json:
        record = decision.to_dict(trace=args.explain)
        record["request"] = request.to_dict()
        print(json.dumps(record, indent=2, sort_keys=True))
    elif args.explain:
        print(decision.explain())
    else:
        print(decision.summary())
    return 1 if args.fail_on_deny and not decision.allowed else 0


# ---------------------------------------------------------------------------- test


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


# ---------------------------------------------------------------------------- tags


def _tags(args: argparse.Namespace) -> ServiceTags:
    return load_service_tags(args.service_tags)


def _cmd_tags(args: argparse.Namespace) -> int:
    tags = _tags(args)
    if args.action == "list":
        needle = (args.name or "").lower()
        print(f"# {tags.label}")
        for tag in tags:
            if needle in tag.name.lower():
                print(f"{tag.name}\t{len(tag.prefix_texts)} prefixes\t{tag.region or '-'}")
        return 0
    if args.name is None:
        raise UsageError(
            f"acl tags {args.action}: give a {'tag name' if args.action == 'show' else 'address'}"
        )
    if args.action == "show":
        entry = tags.get(args.name)
        if entry is None:
            raise UsageError(f"service tag {args.name!r} is unknown in {tags.label}")
        prefixes = tags.prefixes(entry.name)
        if args.family:
            prefixes = tuple(p for p in prefixes if p.version == int(args.family[-1]))
        for prefix in prefixes:
            print(prefix)
        return 0
    found = tags.containing(args.name)
    if not found:
        print(f"{args.name}: in no service tag of {tags.label}")
        return 1
    for tag, prefix in found:
        print(f"{tag.name}\t{prefix}")
    return 0


# ---------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="acl", description="Evaluate Azure App Service access restriction rule sets."
    )
    parser.add_argument("--version", action="version", version=f"acl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ev = commands.add_parser("eval", help="decide one request, or a file of requests")
    _add_rules_options(ev)
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

    ta = commands.add_parser(
        "tags", help="list service tags, show a tag's prefixes, find tags of an address"
    )
    ta.add_argument("action", choices=["list", "show", "lookup"])
    ta.add_argument(
        "name", nargs="?", help="a filter (list), a tag name (show) or an address (lookup)"
    )
    ta.add_argument("--family", choices=["ipv4", "ipv6"], help="show: one address family only")
    ta.add_argument("--service-tags", metavar="PATH", help="a ServiceTags_Public_*.json file")
    ta.set_defaults(handler=_cmd_tags)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
        code: int = args.handler(args)
        return code
    except AclError as exc:
        print(f"acl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("acl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``acl`` command: thin commands over the public API.

Exit codes: 0 success, 1 a check tripped (``--fail-on-deny``, a failed expectation), 2 an
error (printed as one line, without a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, cast

from . import __version__, saved
from .analysis.cli import register as register_analysis
from .decision import Decision
from .engine import compile, load_engine
from .errors import AclError, Origin, RequestError
from .expectations import request_from_dict, run_files
from .formats import FORMATS, load
from .formats.convert_cli import add_iac_options, iac_load_options
from .formats.convert_cli import register as register_convert
from .headers import HEADER_NAMES, canonical_header
from .logs import READERS, ReadOptions, expand_sources, read_logs
from .model import Request, Site
from .outputs import AtomicOutput, refuse_inputs
from .replay import replay, whatif
from .report import (
    DecisionWriter,
    render_csv,
    render_html,
    render_json,
    render_text,
    render_whatif_text,
)
from .serve_cli import register as register_serve
from .servicetags import ENV_VAR, ServiceTags, load_service_tags

__all__ = ["main"]

# The schema ids of the JSON outputs written here (acl/schemas/*.json; docs/cli.md).
EVAL_FORMAT = "acl-eval/1"
WHATIF_FORMAT = "acl-whatif/1"


class UsageError(AclError):
    """A command line that does not make sense."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _add_rules_options(parser: argparse.ArgumentParser, format_flag: str = "--format") -> None:
    """The options that load a site. Commands whose ``--format`` chooses their output take
    the rules' format as ``--rules-format``."""
    group = parser.add_argument_group("loading the rules")
    group.add_argument(
        "--rules",
        required=True,
        metavar="FILE",
        help="the site's rules, any supported format, or an engine saved by Engine.save",
    )
    group.add_argument(
        format_flag,
        dest="rules_format",
        choices=sorted(FORMATS),
        help="the rules file's format (default: sniffed)",
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
    add_iac_options(group)


def _load_site(args: argparse.Namespace) -> Site:
    if args.rules != "-" and saved.is_saved_engine(args.rules):
        return load_engine(args.rules).site  # a saved engine (Engine.save) holds its site
    params: dict[str, str] = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {item!r} is not NAME=VALUE")
        params[name] = value
    return load(
        args.rules,
        format=args.rules_format,
        service_tags=args.service_tags,
        site=args.site,
        parameters=params,
        parameters_file=args.parameters,
        **iac_load_options(args),
    )


def _known_header(name: str, where: str) -> str:
    """The documented spelling of a header ``acl`` evaluates (``Host`` included), or an
    error naming it and listing those headers."""
    if name.strip().lower() == "host":
        return "Host"
    known = canonical_header(name)
    if known is None:
        raise UsageError(
            f"{where}: header {name.strip()!r} is not one acl evaluates: expected Host or one of"
            f" {', '.join(HEADER_NAMES)} (access restrictions read no other header)"
        )
    return known


def _parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"--header {text!r} is not 'Name: value'")
    return _known_header(name, f"--header {text!r:.80}"), value.strip()


def _outputs_are_not_inputs(
    args: argparse.Namespace, outputs: list[tuple[str, str | None]]
) -> None:
    """Refuse, before anything is read, an output that is one of the command's inputs."""
    if not any(path for _, path in outputs):
        return
    inputs: list[tuple[str, str | None]] = [
        ("--rules", getattr(args, "rules", None)),
        ("--proposed", getattr(args, "proposed", None)),
        ("--service-tags", getattr(args, "service_tags", None) or os.environ.get(ENV_VAR)),
        ("--parameters", getattr(args, "parameters", None)),
    ]
    inputs += [("--var-file", name) for name in getattr(args, "var_file", None) or []]
    logs = [name for name in getattr(args, "log", None) or [] if name != "-"]
    if logs:
        inputs += [("--log", name) for name in expand_sources(logs)]
    refuse_inputs(outputs, inputs, logs)


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
        headers = item.get("headers") if isinstance(item, dict) else None
        if isinstance(headers, dict):
            for name in headers:
                if isinstance(name, str):
                    _known_header(name, f"{origin}: request headers")
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
    site = _load_site(args)
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


# ---------------------------------------------------------------------------- check / whatif


def _add_log_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading the logs")
    group.add_argument(
        "--log",
        action="append",
        required=True,
        metavar="FILE",
        help="a log file, a glob, or '-' for stdin (repeatable; .gz is fine)",
    )
    group.add_argument(
        "--log-format",
        choices=sorted(READERS),
        metavar="FORMAT",
        help=f"the logs' format (default: sniffed): {', '.join(sorted(READERS))}",
    )
    group.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="for CSV/TSV/JSON lines: which column holds a request field "
        "(ip, host, x-forwarded-for, x-forwarded-host, x-azure-fdid, "
        "x-fd-healthprobe, subnet, service-endpoint, time, result)",
    )
    group.add_argument(
        "--frontdoor-mode",
        choices=["origin", "client"],
        default="origin",
        help="Front Door logs: replay the request Front Door sends to the app "
        "(origin, default) or as if the client reached the app (client)",
    )
    group.add_argument("--fdid", metavar="GUID", help="Front Door logs: the profile's X-Azure-FDID")
    group.add_argument(
        "--batch-size", type=int, default=65_536, metavar="N", help=argparse.SUPPRESS
    )


def _read_options(args: argparse.Namespace) -> ReadOptions:
    mapping: dict[str, str] = {}
    for item in args.map:
        key, sep, column = item.partition("=")
        if not sep or not key or not column:
            raise UsageError(f"--map {item!r} is not FIELD=COLUMN")
        mapping[key.strip().lower()] = column
    return ReadOptions(
        format=args.log_format,
        mapping=mapping,
        batch_size=args.batch_size,
        frontdoor_mode=args.frontdoor_mode,
        fdid=args.fdid,
    )


class _Progress:
    """A one-line progress display on a terminal (stderr); silent when not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = 0.0
        self.requests = 0

    def __call__(self, batch: Any, decided: Any) -> None:
        self.requests += len(batch)
        now = time.monotonic()
        if self.enabled and now - self.shown > 0.2:
            self.shown = now
            rate = self.requests / max(now - self.started, 1e-9)
            sys.stderr.write(
                f"\r{batch.source}:{batch.lines[-1] if batch.lines else 0}  "
                f"{self.requests:,} requests  {rate:,.0f}/s "
            )
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _cmd_check(args: argparse.Namespace) -> int:
    if args.dask and args.out:
        raise UsageError("--out is not available with --dask (use acl.dask.decide_dataframe)")
    _outputs_are_not_inputs(args, [("--out", args.out), ("--report", args.report)])
    site = _load_site(args)
    engine = compile(site)
    options = _read_options(args)
    report = AtomicOutput(args.report, what="report") if args.report else None
    writer = None
    progress = _Progress(sys.stderr.isatty() and not args.no_progress)

    def on_batch(batch: Any, decided: Any) -> None:
        if writer is not None:
            writer.write(batch, decided)
        progress(batch, decided)

    try:
        writer = DecisionWriter(args.out, as_audit_log=args.as_audit_log) if args.out else None
        try:
            if args.dask:
                from .dask import check_files, connect

                client = connect(args.dask)
                try:
                    summary = check_files(client, engine, args.log, options)
                finally:
                    client.close()
            else:
                summary = replay(engine, read_logs(args.log, options), on_batch=on_batch)
        finally:
            progress.done()
        renderers = {
            "table": render_text,
            "json": render_json,
            "csv": render_csv,
            "html": render_html,
        }
        text = renderers[args.format](summary)
        if writer is not None:
            writer.close()
        if report is not None:
            report.write_text(text + ("" if text.endswith("\n") else "\n"))
    except BaseException:
        if writer is not None:
            writer.discard()
        if report is not None:
            report.discard()
        raise
    if report is None:
        print(text)
    tripped = []
    if args.fail_on_deny and summary.denied:
        tripped.append(f"{summary.denied:,} requests denied (--fail-on-deny)")
    if args.fail_on_disagreement and summary.disagreements:
        tripped.append(
            f"{summary.disagreements:,} decisions disagree with Azure (--fail-on-disagreement)"
        )
    if args.max_denied is not None and summary.denied > args.max_denied:
        tripped.append(
            f"{summary.denied:,} requests denied, more than --max-denied {args.max_denied:,}"
        )
    for reason in tripped:
        print(f"acl: check failed: {reason}", file=sys.stderr)
    return 1 if tripped else 0


def _cmd_whatif(args: argparse.Namespace) -> int:
    _outputs_are_not_inputs(args, [("--report", args.report)])
    current = compile(_load_site(args))
    proposed_args = argparse.Namespace(**{**vars(args), "rules": args.proposed})
    proposed = compile(_load_site(proposed_args))
    report = AtomicOutput(args.report, what="report") if args.report else None
    try:
        result = whatif(
            current, proposed, read_logs(args.log, _read_options(args)), examples=args.examples
        )
    except BaseException:
        if report is not None:
            report.discard()
        raise
    if args.format == "json":
        text = json.dumps({"format": WHATIF_FORMAT, **result.to_dict()}, indent=2)
    else:
        text = render_whatif_text(result, examples=args.examples)
    if report is not None:
        report.write_text(text + "\n")
    else:
        print(text)
    return 1 if args.fail_on_flip and result.flipped else 0


# ---------------------------------------------------------------------------- completion


def _cmd_completion(args: argparse.Namespace) -> int:
    from .completion import script

    sys.stdout.write(script(_parser(), args.shell))
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

    ch = commands.add_parser("check", help="replay traffic logs through a rule set and summarise")
    _add_rules_options(ch, "--rules-format")
    _add_log_options(ch)
    out = ch.add_argument_group("output")
    out.add_argument(
        "--format",
        dest="format",
        choices=["table", "json", "csv", "html"],
        default="table",
        help="the summary's format (html: one self-contained file with charts)",
    )
    out.add_argument("--report", metavar="FILE", help="write the summary to FILE instead of stdout")
    out.add_argument(
        "--out", metavar="FILE", help="one decision per request: .jsonl, .csv or .parquet"
    )
    out.add_argument(
        "--as-audit-log",
        action="store_true",
        help="--out records in the AppServiceIPSecAuditLogs resource-log shape (.jsonl)",
    )
    out.add_argument(
        "--no-progress", action="store_true", help="no progress line, even on a terminal"
    )
    ci = ch.add_argument_group("CI use (exit 1 when tripped)")
    ci.add_argument("--fail-on-deny", action="store_true", help="any request denied")
    ci.add_argument(
        "--fail-on-disagreement",
        action="store_true",
        help="any decision differs from what Azure recorded (audit logs)",
    )
    ci.add_argument("--max-denied", type=int, metavar="N", help="more than N requests denied")
    ch.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="evaluate on a Dask cluster: a scheduler address, or 'local' to start one",
    )
    ch.set_defaults(handler=_cmd_check)

    wi = commands.add_parser(
        "whatif", help="replay traffic through the current and a proposed rule set"
    )
    _add_rules_options(wi, "--rules-format")
    wi.add_argument(
        "--proposed", required=True, metavar="FILE", help="the proposed rules (any format)"
    )
    _add_log_options(wi)
    wi.add_argument("--format", choices=["table", "json"], default="table")
    wi.add_argument("--report", metavar="FILE", help="write the report to FILE instead of stdout")
    wi.add_argument(
        "--examples", type=int, default=3, metavar="N", help="examples per group (default 3)"
    )
    wi.add_argument("--fail-on-flip", action="store_true", help="exit 1 when any decision flips")
    wi.set_defaults(handler=_cmd_whatif)

    register_convert(commands, _add_rules_options, _load_site)
    register_serve(commands, _add_rules_options, _load_site)
    register_analysis(cast(Any, commands), _add_rules_options, _load_site)

    co = commands.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Prints a completion script for the acl command, generated from its "
        'options. bash: eval "$(acl completion bash)" in ~/.bashrc; zsh: save as _acl in a '
        "directory of $fpath; fish: save as ~/.config/fish/completions/acl.fish.",
    )
    co.add_argument("shell", choices=["bash", "zsh", "fish"])
    co.set_defaults(handler=_cmd_completion)

    from . import bench

    be = commands.add_parser(
        "bench",
        help="measure decisions/s, compile time and memory against pytricia, numpy and others",
        description="Generated rule sets (and the AzureCloud.* service tags) against a batch of"
        " requests: single-call and bulk decisions/s, compile time and memory, with the"
        " alternatives timed side by side. Progress goes to stderr.",
    )
    be.add_argument(
        "--rules",
        type=bench.parse_sizes,
        metavar="N,N,...",
        help="rule set sizes (default 8,512,10000,100000,1000000; --quick: 8,512)",
    )
    be.add_argument(
        "--requests",
        type=bench.parse_count,
        metavar="N",
        help=f"requests per rule set (default {bench.REQUESTS:,}; --quick: {bench.QUICK_REQUESTS:,})",
    )
    be.add_argument(
        "--family",
        type=bench.parse_families,
        metavar="ipv4|ipv6|mixed",
        help="address families of the generated rule sets, comma-separated (default: all three)",
    )
    be.add_argument(
        "--headers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run IPv4 rule sets with an X-Azure-FDID filter on a fifth of the rules",
    )
    be.add_argument(
        "--real",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the real rule set: one rule per regional AzureCloud.* service tag",
    )
    be.add_argument(
        "--peers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time pytricia, py-radix, SubnetTree, netaddr and ipaddress (missing ones are reported)",
    )
    be.add_argument(
        "--quick", action="store_true", help="a small run, well under a minute: 8 and 512 rules"
    )
    be.add_argument(
        "--repeats", type=bench.parse_count, metavar="N", help="best of N (default 5; --quick: 3)"
    )
    be.add_argument("--seed", type=int, default=0, help="the random generators' seed (default 0)")
    be.add_argument(
        "--trace-limit",
        type=int,
        default=bench.TRACE_LIMIT,
        metavar="N",
        help="measure the tracemalloc peak of compiling up to N prefixes (slow; 0: never)",
    )
    be.add_argument("--format", choices=["table", "json"], default="table", help="the output")
    be.set_defaults(handler=bench.command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
        code: int = args.handler(args)
        sys.stdout.flush()
        return code
    except AclError as exc:
        print(f"acl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("acl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if exc.filename is not None:  # not an output: a file acl read
            raise
        # standard output that cannot be written (a full disk, /dev/full): one line, and
        # nothing left to flush at exit
        print(f"acl: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

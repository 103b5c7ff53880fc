"""``acl check`` (replay traffic logs through a rule set and summarise) and ``acl whatif``
(replay them through the current and a proposed rule set)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from ..check.report import (
    DecisionWriter,
    render_csv,
    render_html,
    render_json,
    render_text,
    render_whatif_text,
)
from ..check.run import replay, replay_files, whatif
from ..engine import compile
from ..errors import UsageError
from ..logs import READERS, ReadOptions, expand_sources, read_logs
from ..outputs import AtomicOutput, refuse_inputs
from ..servicetags import ENV_VAR
from .common import Commands, add_rules_options, load_site

__all__ = ["WHATIF_FORMAT", "register"]

WHATIF_FORMAT = "acl-whatif/1"
"""The schema id of ``acl whatif --format json`` (acl/schemas/*.json; docs/cli.md)."""


def register(commands: Commands) -> None:
    """Add ``check`` and ``whatif``."""
    ch = commands.add_parser("check", help="replay traffic logs through a rule set and summarise")
    add_rules_options(ch, format_alias=False)
    add_log_options(ch)
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
    add_rules_options(wi, format_alias=False)
    wi.add_argument(
        "--proposed", required=True, metavar="FILE", help="the proposed rules (any format)"
    )
    add_log_options(wi)
    wi.add_argument("--format", choices=["table", "json"], default="table")
    wi.add_argument("--report", metavar="FILE", help="write the report to FILE instead of stdout")
    wi.add_argument(
        "--examples", type=int, default=3, metavar="N", help="examples per group (default 3)"
    )
    wi.add_argument("--fail-on-flip", action="store_true", help="exit 1 when any decision flips")
    wi.set_defaults(handler=_cmd_whatif)


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


def add_log_options(parser: argparse.ArgumentParser) -> None:
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
        "(origin, default) or as if the client reached the app from its own address, "
        "socketIp (client)",
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
        raise UsageError("--out is not available with --dask (use acl.check.dask.decide_dataframe)")
    _outputs_are_not_inputs(args, [("--out", args.out), ("--report", args.report)])
    site = load_site(args)
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
                from ..check.dask import check_files, connect

                client = connect(args.dask)
                try:
                    summary = check_files(client, engine, args.log, options)
                finally:
                    client.close()
            elif writer is None and not progress.enabled:  # big files in parts, a core each
                summary = replay_files(engine, args.log, options)
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
    current = compile(load_site(args))
    proposed_args = argparse.Namespace(**{**vars(args), "rules": args.proposed})
    proposed = compile(load_site(proposed_args))
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

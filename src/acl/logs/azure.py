"""App Service resource logs: ``AppServiceIPSecAuditLogs`` and ``AppServiceHTTPLogs``.

Each comes as resource-log JSON (one record per line, or the storage blob document
``{"records": [...]}``; the fields sit under ``properties`` or ``Properties``, which may
also be a JSON string) or as a Log Analytics export (CSV with the table's column names, or
JSON arrays / lines of flat objects with them).

>>> from acl.logs import ReadOptions
>>> line = ('{"category": "AppServiceIPSecAuditLogs", "properties": {"CIp": "[2001:db8::1]:443",'
...         ' "CsHost": "app.azurewebsites.net", "Result": "Denied", "XAzureFDID": ""}}')
>>> batch = next(read_audit(iter([(1, line)]), "audit.json", ReadOptions()))
>>> batch.ip, batch.recorded, batch.headers["X-Azure-FDID"]
(['2001:db8::1'], ['Denied'], [None])

The ``azure`` format reads any of the Azure JSON shapes and picks the reader from the first
record's category (or, for flat Log Analytics objects, from its columns).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import chain
from operator import itemgetter
from typing import Any

from ..addresses import split_host_port
from ..errors import LogError, Origin
from ..headers import HEADER_NAMES
from . import Batch, BatchBuilder, Lines, ReadOptions, Reject, text_blocks
from .columns import (
    JSON_BLOCK,
    CsvRows,
    Item,
    block_items,
    first_record,
    is_true,
    json_items,
    opens_document,
    peek,
)
from .scanners import scan_audit

__all__ = ["READERS", "SNIFFERS", "read_audit", "read_azure", "read_http"]

AUDIT = "appservice-audit"
HTTP = "appservice-http"
AUDIT_CATEGORY = "AppServiceIPSecAuditLogs"
HTTP_CATEGORY = "AppServiceHTTPLogs"
_AUDIT_HEADERS = ("XForwardedFor", "XForwardedHost", "XAzureFDID", "XFDHealthProbe")
"""The audit log's header fields, in the order of :data:`acl.headers.HEADER_NAMES`."""


def _is_json(first: str | None) -> bool:
    return first is None or first.lstrip()[:1] in ("{", "[")


def _category(record: dict[str, Any]) -> Any:
    category = record.get("category")
    if category is None:
        category = record.get("Category")
        if category is None:
            category = record.get("Type")
    return category


def _properties(record: dict[str, Any]) -> dict[str, Any] | str:
    """The record's fields: ``properties`` (an object or JSON text), else the record itself
    (Log Analytics's flat shape); a reject reason when ``properties`` is unreadable."""
    props = record.get("properties")
    if props is None:
        props = record.get("Properties")
        if props is None:
            return record
    if props.__class__ is str:
        try:
            props = json.loads(props)
        except json.JSONDecodeError as exc:
            return f"malformed JSON in properties: {exc.msg} at column {exc.colno}"
    if not isinstance(props, dict):
        return "properties is not a JSON object"
    return props


def _address(cip: Any) -> str:
    """An address without port or brackets; a value that is not text is made text."""
    text = cip if isinstance(cip, str) else _text(cip) or ""
    return split_host_port(text) if text[:1] == "[" or text.count(":") == 1 else text


def _text(value: Any) -> str | None:
    """A header field: "" (absent) and null are None; other values as text."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


# ----------------------------------------------------------------------------- audit logs


def read_audit(lines: Lines, source: str, options: ReadOptions) -> Iterator[Batch]:
    """``AppServiceIPSecAuditLogs`` as resource-log JSON or a Log Analytics export.

    Raises:
        LogError: a CSV export without a ``CIp`` column.
    """
    first, again = peek(lines)
    if _is_json(first):
        if scan_audit is None:
            return _audit_json(json_items(again), source, options)
        return _audit_blocks(again, source, options)
    return _audit_csv(CsvRows(again, source), source, options)


def _audit_blocks(lines: Lines, source: str, options: ReadOptions) -> Iterator[Batch]:
    """Resource-log JSON lines, a block at a time: the scanner ``scan_audit`` parses and
    checks the lines in the usual shape in C, with no Python code per line; a line it does
    not take (a malformed line, another shape) goes alone through :func:`block_items` and
    :func:`_audit_json` (the same records, the same rejects), and the scan goes on after
    it, so one bad line does not send its block to the general path. A document that opens
    on such a line is read on to the end of the source. Batches stay full either way."""
    assert scan_audit is not None
    size = options.batch_size
    whole = replace(options, batch_size=1 << 62)
    pending = _AuditColumns(source)
    blocks = iter(text_blocks(lines, JSON_BLOCK))
    for block in blocks:
        first, count, text = block
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        scanned = scan_audit(text)
        if scanned is None:  # not ASCII: the whole block by the general path
            for batch in _audit_json(block_items(block, blocks), source, whole):
                pending.add_batch(batch)
        else:
            number = first
            while True:
                columns, stop = scanned
                taken = len(columns[0])
                if taken:
                    pending.add(range(number, number + taken), columns)
                    number += taken
                if stop == len(text):
                    break
                end = text.index("\n", stop) + 1
                rest = _Rest((number + 1, first + count - number - 1, text[end:]), blocks)
                one = (number, 1, text[stop:end])
                for batch in _audit_json(block_items(one, rest), source, whole):
                    pending.add_batch(batch)
                if rest.used:  # a document opened on that line and was read to the end
                    break
                number += 1
                if end == len(text):
                    break
                scanned = scan_audit(text, end)
                assert scanned is not None
        if pending.rows >= size:
            yield from pending.batches(size, keep_rest=True)
    if pending.rows or pending.rejects or pending.metadata:
        yield from pending.batches(size)


class _Rest:
    """The lines after one that the general path reads (the rest of its block, then the
    blocks that follow), noting whether it read any: it does only for a document that
    opens on that line, and then it reads to the end of the source."""

    def __init__(self, block: tuple[int, int, str], blocks: Iterator[tuple[int, int, str]]):
        self._blocks = chain([block] if block[1] else [], blocks)
        self.used = False

    def __iter__(self) -> Iterator[tuple[int, int, str]]:
        return self

    def __next__(self) -> tuple[int, int, str]:
        self.used = True
        return next(self._blocks)


class _AuditColumns:
    """Rows waiting for a batch: line numbers, then ``scan_audit``'s ten columns; with the
    rejects and metadata lines met since the last batch."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._reset()

    def _reset(self) -> None:
        self.columns: list[list[Any]] = [[] for _ in range(11)]
        self.rows = 0
        self.rejects: list[Reject] = []
        self.metadata = 0

    def add(self, numbers: Iterable[int], scanned: tuple[list[Any], ...]) -> None:
        self.columns[0].extend(numbers)
        for column, values in zip(self.columns[1:], scanned, strict=True):
            column.extend(values)
        self.rows = len(self.columns[0])

    def add_batch(self, batch: Batch) -> None:
        """The rows, rejects and metadata of a batch of :func:`_audit_json`."""
        time, endpoint, recorded, details = (
            batch.time, batch.service_endpoint, batch.recorded, batch.details
        )  # fmt: skip
        assert time is not None and endpoint is not None  # _audit_json fills every column
        assert recorded is not None and details is not None
        headers = [batch.headers[name] for name in HEADER_NAMES]
        self.add(batch.lines, (time, batch.ip, batch.host, *headers, endpoint, recorded, details))
        self.rejects.extend(batch.rejects)
        self.metadata += batch.metadata

    def batches(self, size: int, *, keep_rest: bool = False) -> Iterator[Batch]:
        """Batches of ``size`` rows; the last may be smaller, or with ``keep_rest`` is kept
        to start the next batch."""
        columns, rejects, metadata = self.columns, self.rejects, self.metadata
        self._reset()
        end = len(columns[0])
        if keep_rest and end % size:
            end -= end % size
            self.add(columns[0][end:], tuple(column[end:] for column in columns[1:]))
        for at in range(0, max(end, 1), size):
            (numbers, times, ips, hosts, xff, xfh, fdid, probe, endpoint, recorded, details) = (
                column[at : at + size] if len(column) > size else column for column in columns
            )
            yield Batch(
                self.source,
                AUDIT,
                numbers,
                ips,
                hosts,
                dict(zip(HEADER_NAMES, (xff, xfh, fdid, probe), strict=True)),
                service_endpoint=endpoint,
                time=times,
                recorded=recorded,
                details=details,
                rejects=rejects if at == 0 else [],
                metadata=metadata if at == 0 else 0,
            )


_PICK = itemgetter(
    "CIp", "CsHost", "XForwardedFor", "XForwardedHost", "XAzureFDID", "XFDHealthProbe",
    "ServiceEndpoint", "Result", "Details",
)  # fmt: skip
"""The audit fields, picked from a record's properties in one C call."""

_Row = tuple[Any, ...]
"""(line, time, CIp, CsHost, XForwardedFor, XForwardedHost, XAzureFDID, XFDHealthProbe,
ServiceEndpoint, Result, Details) as found in the record; normalised per batch."""


def _audit_row(number: int, record: Any, text: str, wanted: str) -> _Row | Reject | int:
    """One record the careful way: a row, a reject, or a count of metadata lines."""
    if record.__class__ is not dict:
        if record.__class__ is int:
            return int(record)
        return Reject("", number, str(record), text)
    get = record.get
    props = get("properties")
    if props is None:
        props = get("Properties")
        if props is None:
            props = record  # Log Analytics: the columns at the top level
    if props.__class__ is not dict:
        props = _properties(record)
        if isinstance(props, str):
            return Reject("", number, props, text)
    category = get("Category")
    if category is None:
        category = get("category")
        if category is None:
            category = get("Type")
    if category != wanted and category is not None and str(category).lower() != wanted.lower():
        return Reject("", number, f"category {category!r} is not {wanted}", text)
    field = props.get
    cip = field("CIp")
    if not cip:
        return Reject("", number, "missing field CIp", text)
    when = get("time")
    return (
        number, when if when is not None else get("TimeGenerated"), cip, field("CsHost"),
        field("XForwardedFor"), field("XForwardedHost"), field("XAzureFDID"),
        field("XFDHealthProbe"), field("ServiceEndpoint"), field("Result"), field("Details"),
    )  # fmt: skip


def _header(value: Any) -> str | None:
    """A header field: "" (absent) and null are None; other values as text."""
    if not value:
        return None
    return value if value.__class__ is str else _text(value)


def _rows_batch(source: str, rows: list[_Row], rejects: list[Reject], metadata: int) -> Batch:
    """Columns from rows, normalised column by column (C-level transposition and maps)."""
    if rows:
        (numbers, times, cips, hosts, xff, xfh, fdid, probe, endpoint, recorded, details) = map(
            list, zip(*rows, strict=True)
        )
    else:
        numbers = times = cips = hosts = xff = xfh = fdid = probe = endpoint = recorded = (
            details
        ) = []
    ips: list[str | None] = [
        c.partition(":")[0] if c.__class__ is str and c.count(":") == 1 else _address(c)
        for c in cips
    ]
    return Batch(
        source,
        AUDIT,
        numbers,
        ips,
        [h or None for h in hosts],
        dict(
            zip(
                HEADER_NAMES,
                ([_header(v) for v in col] for col in (xff, xfh, fdid, probe)),
                strict=True,
            )
        ),
        service_endpoint=[
            e == "True" or (e is not None and e != "False" and is_true(e)) for e in endpoint
        ],
        time=times,
        recorded=recorded,
        details=details,
        rejects=rejects,
        metadata=metadata,
    )


def _audit_json(items: Iterable[Item], source: str, options: ReadOptions) -> Iterator[Batch]:
    # The hot loop of the most common format: a record in the usual shape costs one
    # itemgetter call and one append; anything else goes through _audit_row.
    size = options.batch_size
    wanted = AUDIT_CATEGORY
    pick = _PICK
    rows: list[_Row] = []
    rejects: list[Reject] = []
    metadata = 0
    add = rows.append
    for number, record, text in items:
        if record.__class__ is dict:
            props = record.get("Properties")
            if props is None:
                props = record.get("properties")
            if props.__class__ is dict and record.get("Category") == wanted:
                try:
                    picked = pick(props)
                except KeyError:
                    picked = None
                if picked is not None and picked[0]:
                    when = record.get("time")
                    add(
                        (number, when if when is not None else record.get("TimeGenerated"), *picked)
                    )
                    if len(rows) >= size:
                        yield _rows_batch(source, rows, rejects, metadata)
                        rows, rejects, metadata = [], [], 0
                        add = rows.append
                    continue
        outcome = _audit_row(number, record, text, wanted)
        if outcome.__class__ is tuple:
            add(outcome)
            if len(rows) >= size:
                yield _rows_batch(source, rows, rejects, metadata)
                rows, rejects, metadata = [], [], 0
                add = rows.append
        elif outcome.__class__ is int:
            metadata += outcome
        else:
            reject: Reject = outcome  # type: ignore[assignment]
            rejects.append(Reject(source, reject.line, reject.reason, reject.text))
    if rows or rejects or metadata:
        yield _rows_batch(source, rows, rejects, metadata)


def _audit_csv(rows: CsvRows, source: str, options: ReadOptions) -> Iterator[Batch]:
    at_ip = rows.index("CIp")
    if at_ip is None:
        raise LogError(
            f"no CIp column in the header ({', '.join(rows.header) or 'empty'}): "
            "expected a Log Analytics export of AppServiceIPSecAuditLogs",
            Origin(file=source),
        )
    at = {
        name: rows.index(name)
        for name in (
            "CsHost",
            "Result",
            "Details",
            "ServiceEndpoint",
            "TimeGenerated",
            "Category",
            "Type",
            *_AUDIT_HEADERS,
        )
    }
    builder = BatchBuilder(
        source,
        AUDIT,
        headers=HEADER_NAMES,
        service_endpoint=True,
        time=True,
        recorded=True,
        details=True,
        batch_size=options.batch_size,
    )
    yield from _csv_records(rows, builder, at_ip, at, AUDIT_CATEGORY, audit=True)


def _csv_records(
    rows: CsvRows,
    builder: BatchBuilder,
    at_ip: int,
    at: dict[str, int | None],
    wanted: str,
    *,
    audit: bool,
) -> Iterator[Batch]:
    def cell(row: list[str], name: str) -> str | None:
        index = at.get(name)
        if index is None:
            return None
        return row[index].strip() or None

    for number, row, text in rows:
        if isinstance(row, int):
            builder.metadata(row)
            continue
        if isinstance(row, str):
            builder.reject(number, row, text)
            continue
        category = cell(row, "Category") or cell(row, "Type")
        if category is not None and category.lower() != wanted.lower():
            builder.reject(number, f"category {category!r} is not {wanted}", text)
            continue
        cip = row[at_ip].strip()
        if not cip:
            builder.reject(number, "missing field CIp", text)
            continue
        time = cell(row, "TimeGenerated")
        if audit:
            builder.add(
                number,
                _address(cip),
                cell(row, "CsHost"),
                dict(zip(HEADER_NAMES, (cell(row, name) for name in _AUDIT_HEADERS), strict=True)),
                service_endpoint=is_true(cell(row, "ServiceEndpoint")),
                time=time,
                recorded=cell(row, "Result"),
                details=cell(row, "Details"),
            )
        else:
            builder.add(number, _address(cip), cell(row, "CsHost"), time=time)
        if builder.full:
            yield builder.take()
    yield from builder.flush()


# ----------------------------------------------------------------------------- HTTP logs


def read_http(lines: Lines, source: str, options: ReadOptions) -> Iterator[Batch]:
    """``AppServiceHTTPLogs`` as resource-log JSON or a Log Analytics CSV export.

    These requests reached the app, so the front end allowed each of them at the time.

    Raises:
        LogError: a CSV export without a ``CIp`` column.
    """
    first, again = peek(lines)
    if _is_json(first):
        return _http_json(json_items(again), source, options)
    rows = CsvRows(again, source)
    at_ip = rows.index("CIp")
    if at_ip is None:
        raise LogError(
            f"no CIp column in the header ({', '.join(rows.header) or 'empty'}): "
            "expected a Log Analytics export of AppServiceHTTPLogs",
            Origin(file=source),
        )
    at = {name: rows.index(name) for name in ("CsHost", "TimeGenerated", "Category", "Type")}
    builder = BatchBuilder(source, HTTP, time=True, batch_size=options.batch_size)
    return _csv_records(rows, builder, at_ip, at, HTTP_CATEGORY, audit=False)


def _http_json(items: Iterable[Item], source: str, options: ReadOptions) -> Iterator[Batch]:
    builder = BatchBuilder(source, HTTP, time=True, batch_size=options.batch_size)
    wanted = HTTP_CATEGORY.lower()
    for number, record, text in items:
        if isinstance(record, int):
            builder.metadata(record)
            continue
        if isinstance(record, str):
            builder.reject(number, record, text)
            continue
        category = _category(record)
        if category is not None and str(category).lower() != wanted:
            builder.reject(number, f"category {category!r} is not {HTTP_CATEGORY}", text)
            continue
        props = _properties(record)
        if isinstance(props, str):
            builder.reject(number, props, text)
            continue
        cip = props.get("CIp")
        if not cip:
            builder.reject(number, "missing field CIp", text)
            continue
        time = record.get("time")
        if time is None:
            time = record.get("TimeGenerated", record.get("EventTime"))
        builder.add(number, _address(str(cip)), _text(props.get("CsHost")), time=time)
        if builder.full:
            yield builder.take()
    yield from builder.flush()


# ----------------------------------------------------------------------------- any Azure JSON


def read_azure(lines: Lines, source: str, options: ReadOptions) -> Iterator[Batch]:
    """Any Azure resource-log JSON (lines, or a ``records`` document): the first record's
    category picks the reader (for flat Log Analytics objects, its columns do).

    Raises:
        LogError: the first record belongs to no format this package reads.
    """
    from . import frontdoor

    items = iter(json_items(lines))
    seen: list[Item] = []
    fmt: str | None = None
    for item in items:
        seen.append(item)
        if isinstance(item[1], dict):
            fmt = _format_of(item[1])
            if fmt is None:
                raise LogError(
                    f"cannot tell the log format of the record at line {item[0]} "
                    f"(category {_category(item[1])!r}): name one with --log-format",
                    Origin(file=source),
                )
            break
    again = chain(seen, items)
    if fmt == AUDIT:
        return _audit_json(again, source, options)
    if fmt == frontdoor.FORMAT:
        return frontdoor.read_items(again, source, options)
    return _http_json(again, source, options)  # also when no record at all


def _format_of(record: dict[str, Any]) -> str | None:
    from . import frontdoor

    category = _category(record)
    if isinstance(category, str):
        name = category.lower()
        if name == AUDIT_CATEGORY.lower():
            return AUDIT
        if name == HTTP_CATEGORY.lower():
            return HTTP
        if name.startswith("frontdoor"):
            return frontdoor.FORMAT
        return None
    props = _properties(record)
    keys = props if isinstance(props, dict) else record
    if "CIp" in keys:
        return AUDIT if ("XAzureFDID" in keys or "ServiceEndpoint" in keys) else HTTP
    if "clientIp" in keys or "socketIp" in keys:
        return frontdoor.FORMAT
    return None


# ----------------------------------------------------------------------------- sniffing


def _csv_header(first: list[str]) -> set[str]:
    if not first or first[0].lstrip()[:1] in ("{", "["):
        return set()
    line = first[0]
    sep = "\t" if line.count("\t") > line.count(",") else ","
    return {cell.strip().strip('"').split(" [")[0] for cell in line.split(sep)}


def _sniff_audit(first: list[str]) -> bool:
    record = first_record(first)
    if record is not None:
        return _format_of(record) == AUDIT
    header = _csv_header(first)
    return "CIp" in header and ("XAzureFDID" in header or "ServiceEndpoint" in header)


def _sniff_http(first: list[str]) -> bool:
    record = first_record(first)
    if record is not None:
        return _format_of(record) == HTTP
    header = _csv_header(first)
    return "CIp" in header and (
        "CsMethod" in header or "ScStatus" in header or "CsUriStem" in header
    )


def _sniff_document(first: list[str]) -> bool:
    if not first:
        return False
    stripped = first[0].strip()
    if not opens_document(stripped):
        return False
    try:
        json.loads(stripped)
    except json.JSONDecodeError:
        return True
    return False


READERS = {AUDIT: read_audit, HTTP: read_http, "azure": read_azure}
SNIFFERS = [(AUDIT, _sniff_audit), (HTTP, _sniff_http), ("azure", _sniff_document)]

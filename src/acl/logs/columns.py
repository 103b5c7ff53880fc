"""CSV, TSV and JSON logs read through a column mapping, and the JSON and CSV plumbing that
the Azure and Front Door readers share.

A mapping names, for each request field, the column (CSV/TSV header) or key (JSON; a dotted
path such as ``properties.clientIp`` reaches into nested objects, and into objects given as
JSON text) that holds it:

>>> from acl.logs import ReadOptions
>>> lines = [(1, "client,host"), (2, "192.0.2.1,app.azurewebsites.net"), (3, ",x")]
>>> options = ReadOptions(mapping={"ip": "client", "host": "host"})
>>> batch = next(read_columns(iter(lines), "x.csv", options))
>>> batch.ip, batch.host, batch.metadata
(['192.0.2.1'], ['app.azurewebsites.net'], 1)
>>> print(batch.rejects[0])
x.csv:3: missing field ip (column 'client'): ',x'

Every reader here hands out *items* ``(line number, value, text)``: ``value`` is a record (a
``dict`` for JSON, a ``list`` of cells for CSV), a reject reason (``str``) or a count of
metadata lines (``int``).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from operator import itemgetter
from typing import Any

from ..addresses import split_host_port
from ..errors import LogError, Origin
from ..headers import CANONICAL_HEADERS
from ..located_json import JsonCursor
from . import MAPPING_KEYS, Batch, BatchBuilder, Lines, NumberedLines, ReadOptions, text_blocks

__all__ = [
    "READERS",
    "SNIFFERS",
    "CsvRows",
    "Item",
    "block_items",
    "csv_delimiter",
    "first_record",
    "is_true",
    "json_items",
    "peek",
    "read_columns",
]

Item = tuple[int, Any, str]
"""``(line number, record | reject reason | metadata line count, text)``."""

_orjson_loads: Callable[[str], Any] | None
try:  # a dependency; the json module takes over if it is ever missing
    from orjson import JSONDecodeError as _OrjsonError
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover
    _orjson_loads = None
    _OrjsonError = json.JSONDecodeError  # type: ignore[misc,assignment]

_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_OBJECTS = {dict}
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
JSON_BLOCK = 1 << 16
"""Characters per block of JSON lines read at once."""
_TRUE = ("True", "true", "TRUE", True, "1", 1, "yes", "Yes")


def is_true(value: object) -> bool:
    """A log's boolean: ``True``, ``"True"`` (any case), ``1`` or ``"yes"``.

    >>> is_true("True"), is_true("False"), is_true(None)
    (True, False, False)
    """
    return value in _TRUE or (
        isinstance(value, str) and value.strip().lower() in ("true", "1", "yes")
    )


def peek(lines: Lines) -> tuple[str | None, Lines]:
    """The first non-blank line's text (None when there is none), and all the lines again."""
    if isinstance(lines, NumberedLines):  # it has read ahead already
        first = lines.first
        if first or not lines.head:
            return (first[0] if first else None), lines
    it = iter(lines)
    head: list[tuple[int, str]] = []
    for item in it:
        head.append(item)
        if item[1].strip():
            return item[1], _again(head, it)
    return None, iter(head)


def _again(
    head: list[tuple[int, str]], rest: Iterator[tuple[int, str]]
) -> Iterator[tuple[int, str]]:
    yield from head
    yield from rest


# ----------------------------------------------------------------------------- JSON


def _malformed(exc: json.JSONDecodeError) -> str:
    return f"malformed JSON: {exc.msg} at column {exc.colno}"


def _kind(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def opens_document(stripped: str) -> bool:
    """Whether a line that is not JSON on its own starts a JSON document spanning lines:
    ``{``, ``[``, ``{"records": [`` and the like (it ends with an opening bracket, ``,``
    or ``:``)."""
    return stripped[0] in "{[" and stripped[-1] in "{[,:"


def json_items(lines: Lines) -> Iterator[Item]:
    """Records from JSON lines, or from JSON documents spanning several lines.

    One JSON value per line is the usual shape (resource logs, Log Analytics exports). A
    line holding an array, or an object whose only key is ``records`` holding an array,
    gives each element as a record numbered by that line. A line that opens a document
    without closing it (``{``, ``[``, ``{"records": [``) switches to document mode: the
    rest of the source is read whole (Azure bounds a blob's size) and parsed as a sequence
    of JSON values; each record is numbered by the line where it starts, and the other
    lines count as metadata.
    """
    blocks = text_blocks(lines, JSON_BLOCK)
    for block in blocks:
        yield from block_items(block, blocks)


def block_items(
    block: tuple[int, int, str], blocks: Iterator[tuple[int, int, str]]
) -> Iterator[Item]:
    """The records of one block of :func:`json_items`; a document that opens in it is read
    on from ``blocks`` (the blocks that follow), to the end of the source."""
    scan = _scan
    fast = _orjson_loads
    first, count, text_block = block
    if "\r" in text_block:
        text_block = text_block.replace("\r\n", "\n")
    texts = text_block.split("\n")
    texts.pop()  # the block ends with "\n"
    if '"records"' not in text_block:
        # The usual block, one object per line: each line decoded by one C-level map,
        # and kept only when every line is exactly one JSON object.
        try:
            if fast is not None:
                values = list(map(fast, texts))
                exact = len(values) == count
            else:
                scanned = list(map(scan, texts, repeat(0)))  # StopIteration: cut short
                exact = len(scanned) == count and list(map(_SECOND, scanned)) == list(
                    map(len, texts)
                )
                values = list(map(_FIRST, scanned))
        except (json.JSONDecodeError, _OrjsonError):
            exact = False
        if exact and set(map(type, values)) == _OBJECTS:
            yield from zip(range(first, first + count), values, texts, strict=True)
            return
    for number, text in enumerate(texts, first):
        try:
            if fast is not None:
                value = fast(text)
            else:
                value, end = scan(text, 0)
                if end != len(text) and not text[end:].isspace():
                    raise json.JSONDecodeError("Extra data", text, end)
        except (StopIteration, json.JSONDecodeError, _OrjsonError):
            stripped = text.strip()
            if not stripped:
                yield number, 1, text
                continue
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as exc:
                if exc.pos == len(stripped) and opens_document(stripped):
                    rest = texts[number - first :]
                    for _, _, more in blocks:
                        rest.extend(more.replace("\r\n", "\n").split("\n")[:-1])
                    yield from _document(number, rest)
                    return
                yield number, _malformed(exc), text
                continue
        if value.__class__ is dict and (len(value) != 1 or "records" not in value):
            yield number, value, text
        else:
            yield from _values(number, value, text)


def _values(number: int, value: Any, text: str) -> Iterator[Item]:
    """The records of a line that is not one object: an array (its objects are records, one
    reject stands for all its other elements), ``{"records": [...]}``, or another JSON value
    (a reject)."""
    if isinstance(value, dict):
        if not isinstance(value.get("records"), list):
            yield number, value, text
            return
        value = value["records"]
    if not isinstance(value, list):
        yield number, f"not a JSON object: {_kind(value)}", text
        return
    others = [element for element in value if not isinstance(element, dict)]
    for element in value:
        if isinstance(element, dict):
            yield number, element, text
    if others:
        what = _kind(others[0]) if len(others) == 1 else f"{len(others)} array elements"
        yield number, f"not a JSON object: {what}", text
    elif not value:
        yield number, 1, text


def _document(first: int, texts: list[str]) -> Iterator[Item]:
    doc = JsonCursor("\n".join(texts), first)
    text = doc.text
    total = len(texts)
    produced = 0
    try:
        while doc.skip() < len(text):
            start = doc.pos
            if text[start] == "[":
                doc.pos += 1
                for at, element in doc.elements():
                    produced += 1
                    yield _element(doc.line_at(at), element, texts, first)
                continue
            if text[start] != "{":
                value = doc.value()
                produced += 1
                yield (
                    doc.line_at(start),
                    f"not a JSON object: {_kind(value)}",
                    texts[doc.line_at(start) - first],
                )
                continue
            doc.pos += 1
            record: dict[str, Any] = {}
            wrapper = False
            if text.startswith("}", doc.skip()):
                doc.pos += 1
            else:
                while True:
                    key = doc.value()
                    if not isinstance(key, str):
                        raise json.JSONDecodeError(
                            "Expecting property name enclosed in double quotes", text, doc.pos
                        )
                    doc.expect(":", "':' delimiter")
                    if key == "records" and text.startswith("[", doc.skip()):
                        doc.pos += 1
                        wrapper = True
                        for at, element in doc.elements():
                            produced += 1
                            yield _element(doc.line_at(at), element, texts, first)
                    else:
                        record[key] = doc.value()
                    if text.startswith(",", doc.skip()):
                        doc.pos += 1
                        continue
                    doc.expect("}", "',' delimiter or '}'")
                    break
            if not wrapper:
                produced += 1
                line = doc.line_at(start)
                yield line, record, texts[line - first]
    except json.JSONDecodeError as exc:
        line = doc.line_at(exc.pos)
        last = first + total - 1
        rest = f"; lines {line + 1}-{last} are not read" if last > line else ""
        yield (
            line,
            f"malformed JSON: {exc.msg} at column {doc.column_at(exc.pos)}{rest}",
            texts[line - first],
        )
        produced += 1
        # What follows cannot be told apart (records, or the document's closing lines):
        # every non-blank line is a reject of its own, so that no record is lost as metadata.
        reason = f"not read: it follows the malformed JSON of line {line}"
        for number in range(line + 1, last + 1):
            if texts[number - first].strip():
                produced += 1
                yield number, reason, texts[number - first]
    yield first, max(total - produced, 0), ""


def _element(line: int, element: Any, texts: list[str], first: int) -> Item:
    if element.__class__ is dict:
        return line, element, texts[line - first]
    return line, f"not a JSON object: {_kind(element)}", texts[line - first]


def first_record(first: list[str]) -> dict[str, Any] | None:
    """The first line as a JSON record (the first element of an array or ``records``)."""
    if not first:
        return None
    try:
        value = json.loads(first[0])
    except json.JSONDecodeError:
        return None
    if isinstance(value, dict) and isinstance(value.get("records"), list) and len(value) == 1:
        value = value["records"]
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else None


def json_path(record: dict[str, Any], path: str) -> Any:
    """The value at a dotted path; objects given as JSON text are decoded on the way.

    >>> json_path({"properties": '{"clientIp": "192.0.2.1"}'}, "properties.clientIp")
    '192.0.2.1'
    """
    value: Any = record
    if path in record:
        return record[path]
    for part in path.split("."):
        if isinstance(value, str) and value.startswith("{"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return None
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# ----------------------------------------------------------------------------- CSV


def csv_delimiter(source: str, header: str) -> str:
    """``\\t`` for ``.tsv`` files or a header with more tabs than commas, else ``,``."""
    name = source.lower().removesuffix(".gz")
    if name.endswith(".tsv"):
        return "\t"
    if name.endswith(".csv"):
        return ","
    return "\t" if header.count("\t") > header.count(",") else ","


class CsvRows:
    """The rows of a CSV or TSV source whose first non-blank line is the header.

    Iterating gives items: each row as a list of cells (numbered by the line where it
    starts), a reject for a row with the wrong number of cells or a CSV error, and metadata
    for the header, blank lines and the extra lines of a row whose quoted cells span lines.
    """

    def __init__(self, lines: Lines, source: str) -> None:
        first, self._lines = peek(lines)
        self.delimiter = csv_delimiter(source, first or "")
        try:
            self.header: list[str] = (
                [cell.strip() for cell in next(csv.reader([first], delimiter=self.delimiter))]
                if first
                else []
            )
        except csv.Error as exc:  # a header cell over the csv module's field limit
            raise LogError(
                f"cannot read the CSV header: {exc} in {(first or '')[:60]!r}...",
                Origin(file=source),
            ) from None

    def index(self, name: str) -> int | None:
        """The position of a column: the exact name, else ignoring case and a unit suffix
        such as Log Analytics's ``TimeGenerated [UTC]``."""
        if name in self.header:
            return self.header.index(name)
        plain = [re.sub(r"\s*\[[^\]]*\]$", "", cell).lower() for cell in self.header]
        return plain.index(name.lower()) if name.lower() in plain else None

    def __iter__(self) -> Iterator[Item]:
        state: list[Any] = [0, ""]

        def feed() -> Iterator[str]:
            for number, text in self._lines:
                state[0], state[1] = number, text
                yield text

        reader = csv.reader(feed(), delimiter=self.delimiter)
        width = len(self.header)
        header_seen = False
        consumed = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                lines_used = reader.line_num - consumed
                consumed = reader.line_num
                yield state[0], f"malformed CSV: {exc}", state[1]
                if lines_used > 1:
                    yield state[0] - lines_used + 1, lines_used - 1, ""
                continue
            lines_used = reader.line_num - consumed
            consumed = reader.line_num
            start = state[0] - lines_used + 1
            if lines_used > 1:
                yield start + 1, lines_used - 1, ""
            if not row or (len(row) == 1 and not row[0].strip()):
                yield start, 1, state[1]
            elif not header_seen:
                header_seen = True
                yield start, 1, state[1]
            elif len(row) != width:
                yield start, f"expected {width} columns, got {len(row)}", state[1]
            else:
                yield start, row, state[1]


# ----------------------------------------------------------------------------- the reader

_HEADER_KEYS = CANONICAL_HEADERS


def _mapping(options: ReadOptions, source: str) -> dict[str, str]:
    mapping = {key.strip().lower(): column for key, column in options.mapping.items()}
    unknown = sorted(set(mapping) - set(MAPPING_KEYS))
    if unknown:
        raise LogError(
            f"mapping key {unknown[0]!r} is unknown: expected some of {', '.join(MAPPING_KEYS)}",
            Origin(file=source),
        )
    if "ip" not in mapping:
        raise LogError("the column mapping must name the ip column", Origin(file=source))
    return mapping


def read_columns(lines: Lines, source: str, options: ReadOptions) -> Iterator[Batch]:
    """CSV/TSV (header row) or JSON (lines or documents) through ``options.mapping``.

    Raises:
        LogError: the mapping has an unknown key or no ``ip``, or names a column the CSV
            header does not have.
    """
    mapping = _mapping(options, source)
    first, again = peek(lines)
    headers = [_HEADER_KEYS[key] for key in mapping if key in _HEADER_KEYS]
    builder = BatchBuilder(
        source,
        "columns",
        headers=headers,
        subnet="subnet" in mapping,
        service_endpoint="service-endpoint" in mapping or "subnet" in mapping,
        time="time" in mapping,
        recorded="result" in mapping,
        batch_size=options.batch_size,
    )
    if first is not None and first.lstrip()[:1] in ("{", "["):
        items: Iterable[Item] = json_items(again)
        getters = {key: _json_getter(column) for key, column in mapping.items()}
    else:
        rows = CsvRows(again, source)
        positions: dict[str, int] = {}
        for key, column in mapping.items():
            at = rows.index(column)
            if at is None:
                raise LogError(
                    f"mapped column {column!r} (for {key}) is not in the header: "
                    f"{', '.join(rows.header) or 'no header'}",
                    Origin(file=source),
                )
            positions[key] = at
        items = rows
        getters = {key: _cell_getter(at) for key, at in positions.items()}
    ip_of = getters.pop("ip")
    column_of_ip = mapping["ip"]
    for number, value, text in items:
        if isinstance(value, int):
            builder.metadata(value)
            continue
        if isinstance(value, str):
            builder.reject(number, value, text)
            continue
        ip = _text(ip_of(value))
        if ip is None:
            builder.reject(number, f"missing field ip (column {column_of_ip!r})", text)
            continue
        fields = {key: _text(get(value)) for key, get in getters.items()}
        builder.add(
            number,
            _address(ip),
            fields.get("host"),
            {_HEADER_KEYS[key]: fields[key] for key in fields if key in _HEADER_KEYS},
            subnet=fields.get("subnet"),
            service_endpoint=is_true(fields.get("service-endpoint")) or bool(fields.get("subnet")),
            time=fields.get("time"),
            recorded=fields.get("result"),
        )
        if builder.full:
            yield builder.take()
    yield from builder.flush()


def _json_getter(path: str) -> Any:
    return lambda record: json_path(record, path)


def _cell_getter(at: int) -> Any:
    return lambda row: row[at]


def _text(value: object) -> str | None:
    """A cell or JSON value as text; empty, ``-`` and null are absent."""
    if value is None:
        return None
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value)
        if isinstance(value, (list, dict))
        else str(value)
    )
    text = text.strip()
    return None if text in ("", "-") else text


def _address(text: str) -> str:
    """An address without port or brackets (``192.0.2.1:80``, ``[2001:db8::1]:443``)."""
    return split_host_port(text) if text[0] == "[" or text.count(":") == 1 else text


READERS = {"columns": read_columns}
SNIFFERS: list[tuple[str, Any]] = []

"""Traffic log readers: every format yields the same column batches.

A reader turns numbered text lines into :class:`Batch` objects of at most ``batch_size``
records, columns ready for :meth:`acl.Engine.decide_many`. Memory stays bounded whatever the
file size. Every line is accounted for: it becomes a record, or a :class:`Reject` with a
reason, or counts as a metadata line (blank lines, W3C directives, CSV headers). Readers never
raise on a bad line; they raise :class:`~acl.errors.LogError` only when a whole source cannot
be read (a missing file, an unknown format).

Readers live one per module and are registered in :data:`READERS`; :func:`read_logs` opens
the sources (files, globs, ``-`` for stdin, ``.gz``), sniffs each one's format unless told,
and chains the readers' batches.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from ..addresses import parse_address
from ..errors import AddressError, LogError, Origin
from ..headers import HEADER_NAMES

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_FRONTDOOR_SOURCE",
    "FRONTDOOR_MODES",
    "MAPPING_KEYS",
    "READERS",
    "SNIFFERS",
    "Batch",
    "BatchBuilder",
    "Lines",
    "NumberedLines",
    "ReadOptions",
    "Reader",
    "Reject",
    "expand_sources",
    "open_source",
    "read_logs",
    "sniff_format",
    "text_blocks",
]

DEFAULT_BATCH = 65_536


@dataclass(frozen=True, slots=True)
class Reject:
    """A line that could not become a request, and why."""

    source: str
    line: int
    reason: str
    text: str = ""

    def __str__(self) -> str:
        snippet = f": {self.text[:80]!r}" if self.text else ""
        return f"{self.source}:{self.line}: {self.reason}{snippet}"


@dataclass
class Batch:
    """Up to ``batch_size`` requests from one source, as columns of equal length.

    ``ip`` holds the source address as text (port and brackets removed; None when absent);
    ``headers`` maps the documented header names that the format carries to their values
    (None or "" when absent; several copies comma-joined). Optional columns are None when
    the format does not have them. ``recorded`` is what Azure recorded (``Allowed`` or
    ``Denied``) for audit logs. ``metadata`` counts the non-record lines consumed with this
    batch; ``rejects`` the lines that failed.
    """

    source: str
    format: str
    lines: list[int] = field(default_factory=list)
    ip: list[str | None] = field(default_factory=list)
    host: list[str | None] = field(default_factory=list)
    headers: dict[str, list[str | None]] = field(default_factory=dict)
    subnet: list[str | None] | None = None
    service_endpoint: list[bool] | None = None
    time: list[str | None] | None = None
    recorded: list[str | None] | None = None
    details: list[str | None] | None = None
    rejects: list[Reject] = field(default_factory=list)
    metadata: int = 0

    def __len__(self) -> int:
        return len(self.ip)


class BatchBuilder:
    """Collects records into batches for a reader; one call per record or reject.

    >>> builder = BatchBuilder("x.log", "addresses", headers=(), batch_size=2)
    >>> builder.add(1, "192.0.2.1")
    >>> builder.reject(2, "not an address", "zzz")
    >>> [len(b) for b in builder.flush()]
    [1]
    """

    def __init__(
        self,
        source: str,
        format: str,
        *,
        headers: Sequence[str] = (),
        subnet: bool = False,
        service_endpoint: bool = False,
        time: bool = False,
        recorded: bool = False,
        details: bool = False,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        unknown = set(headers) - set(HEADER_NAMES)
        if unknown:
            raise ValueError(f"unknown header columns {sorted(unknown)}")
        self.source = source
        self.format = format
        self.batch_size = batch_size
        self._shape = (tuple(headers), subnet, service_endpoint, time, recorded, details)
        self._batch = self._new()

    def _new(self) -> Batch:
        headers, subnet, endpoint, time, recorded, details = self._shape
        return Batch(
            self.source,
            self.format,
            headers={name: [] for name in headers},
            subnet=[] if subnet else None,
            service_endpoint=[] if endpoint else None,
            time=[] if time else None,
            recorded=[] if recorded else None,
            details=[] if details else None,
        )

    @property
    def full(self) -> bool:
        return len(self._batch) >= self.batch_size

    def add(
        self,
        line: int,
        ip: str | None,
        host: str | None = None,
        headers: Mapping[str, str | None] | None = None,
        *,
        subnet: str | None = None,
        service_endpoint: bool = False,
        time: str | None = None,
        recorded: str | None = None,
        details: str | None = None,
    ) -> None:
        """Add one record (header names must be among those given to the builder)."""
        b = self._batch
        b.lines.append(line)
        b.ip.append(ip)
        b.host.append(host)
        for name, column in b.headers.items():
            column.append(headers.get(name) if headers else None)
        if b.subnet is not None:
            b.subnet.append(subnet)
        if b.service_endpoint is not None:
            b.service_endpoint.append(service_endpoint)
        if b.time is not None:
            b.time.append(time)
        if b.recorded is not None:
            b.recorded.append(recorded)
        if b.details is not None:
            b.details.append(details)

    def reject(self, line: int, reason: str, text: str = "") -> None:
        self._batch.rejects.append(Reject(self.source, line, reason, text))

    def metadata(self, count: int = 1) -> None:
        self._batch.metadata += count

    def take(self) -> Batch:
        """The current batch (possibly empty); a new one starts."""
        done, self._batch = self._batch, self._new()
        return done

    def flush(self) -> Iterator[Batch]:
        """The last batch, when it holds anything."""
        b = self.take()
        if len(b) or b.rejects or b.metadata:
            yield b


FRONTDOOR_MODES = ("origin", "client")
DEFAULT_FRONTDOOR_SOURCE = "147.243.0.1"
MAPPING_KEYS = (
    "ip",
    "host",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-azure-fdid",
    "x-fd-healthprobe",
    "subnet",
    "service-endpoint",
    "time",
    "result",
)
"""The request fields a ``columns`` mapping may name, in a fixed order."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read logs.

    Attributes:
        format: a key of :data:`READERS`, or None to sniff each source.
        mapping: for the ``columns`` format (CSV, TSV, JSON lines): request field (one of
            :data:`MAPPING_KEYS`) to column name or dotted JSON path, e.g.
            ``{"ip": "client_ip", "x-forwarded-for": "xff", "host": "host"}``. A non-empty
            mapping selects ``columns`` unless ``format`` names another reader.
        batch_size: records per batch (at least 1).
        frontdoor_mode: what a Front Door access log record stands for. ``origin``
            (default): the request Front Door sent on to the app, from a Front Door backend
            address with ``X-Forwarded-For``, ``X-Forwarded-Host`` and ``X-Azure-FDID``.
            ``client``: the client's request as if it had reached the app directly.
        frontdoor_source: in ``origin`` mode, the source address of the requests Front Door
            sends (any address of the ``AzureFrontDoor.Backend`` service tag will do; the
            logs do not record which one was used).
        fdid: in ``origin`` mode, the profile's ``X-Azure-FDID`` (the logs do not record it);
            None leaves the header absent, so rules filtering on it do not match.

    Raises:
        LogError: an option has a value outside the ones listed here.
    """

    format: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    batch_size: int = DEFAULT_BATCH
    frontdoor_mode: str = "origin"
    frontdoor_source: str = DEFAULT_FRONTDOOR_SOURCE
    fdid: str | None = None

    def __post_init__(self) -> None:
        if (
            isinstance(self.batch_size, bool)
            or not isinstance(self.batch_size, int)
            or self.batch_size < 1
        ):
            raise LogError(f"batch size {self.batch_size!r} is not a positive integer")
        if self.frontdoor_mode not in FRONTDOOR_MODES:
            raise LogError(
                f"Front Door mode {self.frontdoor_mode!r} is unknown: expected one of {', '.join(FRONTDOOR_MODES)}"
            )
        try:
            parse_address(self.frontdoor_source, what="Front Door source address")
        except AddressError as exc:
            raise LogError(exc.message) from None
        unknown = [key for key in self.mapping if key.strip().lower() not in MAPPING_KEYS]
        if unknown:
            raise LogError(
                f"mapping key {unknown[0]!r} is unknown: expected some of {', '.join(MAPPING_KEYS)}"
            )


Lines = Iterable[tuple[int, str]]
"""What a reader reads: ``(line number, text without its line end)``, numbers from 1 and
consecutive. :func:`read_logs` passes a :class:`NumberedLines`, which fast readers may read in
blocks instead; readers must accept any iterable too."""
Reader = Callable[[Lines, str, ReadOptions], Iterator[Batch]]

READERS: dict[str, Reader] = {}
"""Format name to reader; filled below from one module per format."""

SNIFFERS: list[tuple[str, Callable[[list[str]], bool]]] = []
"""(format, test on the first non-blank lines), tried in order."""


def sniff_format(first: list[str], source: str) -> str:
    """The format of a source from its first non-blank lines.

    Raises:
        LogError: no reader recognises them; the message lists the formats.
    """
    for name, test in SNIFFERS:
        if test(first):
            return name
    raise LogError(
        "cannot tell the log format: name one with --log-format "
        f"({', '.join(sorted(READERS))}), or map columns with --map",
        Origin(file=source),
    )


def expand_sources(patterns: Iterable[str]) -> list[str]:
    """Files from names and globs, in the given order (``-`` is stdin).

    Raises:
        LogError: a name matches no file.
    """
    out: list[str] = []
    for pattern in patterns:
        if pattern == "-":
            out.append(pattern)
            continue
        if any(ch in pattern for ch in "*?["):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise LogError(f"no file matches {pattern!r}")
            out.extend(matches)
        elif not os.path.exists(pattern):
            raise LogError("no such file", Origin(file=pattern))
        else:
            out.append(pattern)
    return out


def open_source(name: str) -> IO[str]:
    """A text stream for a file name (``.gz`` decompressed, ``-`` stdin); UTF-8, BOM dropped,
    undecodable bytes replaced (the line is then rejected by its reader, not the file)."""
    if name == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="replace")
    try:
        with open(name, "rb") as probe:
            magic = probe.read(2)
        if magic == b"\x1f\x8b" or name.endswith(".gz"):
            return gzip.open(name, "rt", encoding="utf-8-sig", errors="replace")
        return open(name, encoding="utf-8-sig", errors="replace", newline="")
    except OSError as exc:
        raise LogError(f"cannot read log: {exc.strerror or exc}", Origin(file=name)) from None


class NumberedLines:
    """The numbered lines of one text stream, with the first few read ahead for sniffing.

    Iterating gives ``(number, text)`` with the line end removed. A reader that wants speed
    may call :meth:`blocks` instead (one or the other, from the start).
    """

    def __init__(self, stream: IO[str], sniff_lines: int = 3) -> None:
        self.stream = stream
        self.head: list[tuple[int, str]] = []
        """The lines read ahead: up to ``sniff_lines`` non-blank ones and the blanks between."""
        number = 0
        found = 0
        while found < sniff_lines:
            line = stream.readline()
            if not line:
                break
            number += 1
            text = line.rstrip("\r\n")
            self.head.append((number, text))
            if text.strip():
                found += 1

    @property
    def first(self) -> list[str]:
        """The non-blank lines read ahead, for the sniffers."""
        return [text for _, text in self.head if text.strip()]

    def __iter__(self) -> Iterator[tuple[int, str]]:
        yield from self.head
        for number, line in enumerate(self.stream, start=len(self.head) + 1):
            yield number, line.rstrip("\r\n")

    def blocks(self, size: int = 1 << 16) -> Iterator[tuple[int, int, str]]:
        """The lines as ``(number of the first line, number of lines, text)`` blocks of
        about ``size`` characters of whole lines.

        Every line in a block ends with ``\\n`` (one is added to a last line without it);
        other line ends (``\\r\\n``) are left as they are. The read-ahead lines come first,
        as a block of their own.
        """
        number = 1
        if self.head:
            yield number, len(self.head), "".join(text + "\n" for _, text in self.head)
            number += len(self.head)
        read = self.stream.read
        carry = ""
        while True:
            chunk = read(size)
            if not chunk:
                break
            if carry:
                chunk = carry + chunk
            cut = chunk.rfind("\n") + 1
            if cut == 0:  # no line end yet: a very long line
                carry = chunk
                size *= 2
                continue
            carry = chunk[cut:]
            text = chunk[:cut] if carry else chunk
            count = text.count("\n")
            yield number, count, text
            number += count
        if carry:
            yield number, carry.count("\n") + 1, carry + "\n"


def text_blocks(lines: Lines, size: int = 1 << 16) -> Iterator[tuple[int, int, str]]:
    """``(number of the first line, number of lines, text)`` blocks of whole lines, each
    line ending with ``\\n``: :meth:`NumberedLines.blocks`, or the same made from any
    numbered lines (whose numbers must be consecutive)."""
    if isinstance(lines, NumberedLines):
        yield from lines.blocks(size)
        return
    chunk: list[str] = []
    start = used = 0
    for number, text in lines:
        if not chunk:
            start = number
        chunk.append(text)
        used += len(text) + 1
        if used >= size:
            yield start, len(chunk), "\n".join(chunk) + "\n"
            chunk = []
            used = 0
    if chunk:
        yield start, len(chunk), "\n".join(chunk) + "\n"


def read_logs(sources: Iterable[str], options: ReadOptions | None = None) -> Iterator[Batch]:
    """Batches from every source in turn (see :func:`expand_sources` for names).

    Raises:
        LogError: a source cannot be opened or its format cannot be told.
    """
    opts = options or ReadOptions()
    if opts.format is not None and opts.format not in READERS:
        raise LogError(
            f"log format {opts.format!r} is unknown: expected one of {', '.join(sorted(READERS))}"
        )
    for name in expand_sources(sources):
        label = "<stdin>" if name == "-" else name
        with open_source(name) as stream:
            lines = NumberedLines(stream)
            fmt = opts.format or ("columns" if opts.mapping else sniff_format(lines.first, label))
            reader = READERS[fmt]
            yield from reader(lines, label, opts)


def _register() -> None:
    """Fill :data:`READERS` and :data:`SNIFFERS`; specific sniffers first, plain addresses last."""
    from . import addresses, azure, columns, combined, frontdoor, w3c

    for module in (frontdoor, azure, w3c, combined, columns, addresses):
        READERS.update(module.READERS)
        SNIFFERS.extend(module.SNIFFERS)


_register()

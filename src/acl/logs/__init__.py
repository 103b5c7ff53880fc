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

import contextlib
import fnmatch
import glob
import gzip
import os
import queue
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, cast

from ..addresses import parse_address
from ..errors import AddressError, LogError, Origin
from ..headers import HEADER_NAMES

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_FRONTDOOR_SOURCE",
    "FRONTDOOR_MODES",
    "HEAD_LINES",
    "Inflating",
    "MAPPING_KEYS",
    "MAX_LINE",
    "READERS",
    "READ_SIZE",
    "SNIFFERS",
    "Batch",
    "BatchBuilder",
    "Lines",
    "NumberedLines",
    "ReadOptions",
    "Reader",
    "Reject",
    "expand_sources",
    "glob_matches",
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
            ``client``: the client's request as if it had reached the app directly, from
            its connection's address (``socketIp``, never the header-derived ``clientIp``).
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
increasing (consecutive, but for the lines :class:`NumberedLines` rejects itself). :func:`read_logs` passes a :class:`NumberedLines`, which fast readers may read in
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


def _magic(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _match_part(pattern: str, name: str) -> bool:
    """One path component against one glob component (a wildcard never matches a leading
    dot, as in :func:`glob.glob`)."""
    if not _magic(pattern):
        return pattern == name
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def _match_parts(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        for skip in range(len(parts) + 1):
            if any(part.startswith(".") for part in parts[:skip]):
                break
            if _match_parts(rest, parts[skip:]):
                return True
        return False
    return bool(parts) and _match_part(head, parts[0]) and _match_parts(rest, parts[1:])


def glob_matches(pattern: str, path: str) -> bool:
    """Whether ``path`` is, or would be when it exists, one of the files the glob
    ``pattern`` names (``**`` spans any number of folders), both taken as absolute paths.

    >>> glob_matches("logs/**/*.log", "logs/2024/01/a.log"), glob_matches("logs/*.log", "logs/a.gz")
    (True, False)
    """
    want = os.path.abspath(pattern).split(os.sep)
    have = os.path.abspath(path).split(os.sep)
    return _match_parts(want, have)


def _glob(pattern: str) -> list[str]:
    """The files a glob names. ``**`` walks the folders below its fixed part, following a
    symbolic link to a folder once: a folder met again (the same device and inode, a link
    loop or a second link to it) is not walked again."""
    if "**" not in pattern:
        return glob.glob(pattern)
    parts = pattern.split(os.sep)
    fixed = next(i for i, part in enumerate(parts) if _magic(part))
    root = os.sep.join(parts[:fixed]) or (os.sep if pattern.startswith(os.sep) else "")
    seen: set[tuple[int, int]] = set()
    found: list[str] = []
    for folder, subfolders, files in os.walk(root or os.curdir, followlinks=True):
        try:
            info = os.stat(folder)
        except OSError:
            subfolders[:] = []
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:
            subfolders[:] = []
            continue
        seen.add(key)
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            path = os.path.join(folder, name)
            if not root:
                path = os.path.relpath(path)
            if glob_matches(pattern, path):
                found.append(path)
    return found


def expand_sources(patterns: Iterable[str]) -> list[str]:
    """Files from names and globs, in the given order (``-`` is stdin). A file named twice,
    or reached by two names (a symbolic link, a second glob), is read once: at its first
    place.

    Raises:
        LogError: a name matches no file.
    """
    out: list[str] = []
    seen: set[tuple[int, int]] = set()

    def add(name: str) -> None:
        try:
            info = os.stat(name)
        except OSError:
            out.append(name)  # open_source says why it cannot be read
            return
        key = (info.st_dev, info.st_ino)
        if key not in seen:
            seen.add(key)
            out.append(name)

    for pattern in patterns:
        if pattern == "-":
            out.append(pattern)
            continue
        if _magic(pattern):
            matches = sorted(_glob(pattern))
            if not matches:
                raise LogError(f"no file matches {pattern!r}")
            for name in matches:
                add(name)
        elif not os.path.exists(pattern):
            raise LogError("no such file", Origin(file=pattern))
        else:
            add(pattern)
    return out


MAX_LINE = 1 << 20
"""The longest line the readers take, in bytes without its line end (1 MiB). A longer line is
a reject ``line longer than 1048576 bytes``; reading goes on at the next line."""
READ_SIZE = 1 << 16
"""Bytes read from a source at a time."""
HEAD_LINES = 4096
"""At most this many lines are read ahead for sniffing the format."""


class Inflating:
    """A ``.gz`` stream inflated ahead by a thread (zlib lets go of the GIL while it
    inflates, so the reading thread parses meanwhile on another core). :meth:`read` gives
    the same bytes as the stream would, and raises its error (``EOFError`` for a truncated
    stream, :class:`gzip.BadGzipFile` or :class:`zlib.error`) where the stream would."""

    AHEAD = 8
    """Chunks inflated ahead at most (of :data:`READ_SIZE` bytes each)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(self.AHEAD)
        self._stop = threading.Event()
        self._pending = b""
        self._done = False
        self._thread = threading.Thread(target=self._inflate, name="acl-inflate", daemon=True)
        self._thread.start()

    def _inflate(self) -> None:
        read = getattr(self._stream, "read1", None) or self._stream.read
        while not self._stop.is_set():
            try:
                chunk = read(READ_SIZE)
            except (EOFError, OSError, zlib.error) as exc:
                self._put(exc)
                return
            self._put(chunk)
            if not chunk:
                return

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (the next inflated chunk; all that remain when negative)."""
        if size < 0:
            return b"".join(iter(lambda: self.read(READ_SIZE), b""))
        if not self._pending:
            if self._done:
                return b""
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._done = True
                raise item
            if not item:
                self._done = True
                return b""
            self._pending = item
        out, self._pending = self._pending[:size], self._pending[size:]
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._stream.close()

    def __enter__(self) -> Inflating:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(name: str) -> IO[bytes]:
    """A byte stream for a file name (``.gz`` decompressed by :class:`Inflating`, ``-`` stdin), for
    :class:`NumberedLines`, which decodes UTF-8 (a BOM dropped, undecodable bytes replaced:
    the line is then rejected by its reader, not the file)."""
    if name == "-":
        return sys.stdin.buffer
    try:
        with open(name, "rb") as probe:
            magic = probe.read(2)
        if magic == b"\x1f\x8b" or name.endswith(".gz"):
            return cast(IO[bytes], Inflating(cast(IO[bytes], gzip.open(name, "rb"))))
        return open(name, "rb")
    except OSError as exc:
        raise LogError(f"cannot read log: {exc.strerror or exc}", Origin(file=name)) from None


class NumberedLines:
    """The numbered lines of one stream, with the first few read ahead for sniffing.

    The stream gives bytes (UTF-8, as :func:`open_source` opens it) or text. It is read
    :data:`READ_SIZE` at a time; a line ends at ``\r\n``, ``\n`` or a lone ``\r``.
    Iterating gives ``(number, text)`` with the line end removed. A reader that wants speed
    may call :meth:`blocks` instead (one or the other, from the start).

    Lines are numbered from ``first`` (1; a part of a file starts further on). Two kinds of
    line never reach a reader; they are kept in :attr:`rejects` as
    ``(line, reason)``, and :func:`read_logs` adds them to the batches: a line longer than
    ``max_line`` bytes (characters for a text stream), and the rest of a ``.gz`` stream that
    ends early (one reject, ``truncated gzip stream``, numbered as the line that was cut) or
    is corrupt (``corrupt gzip stream: Incorrect length of data produced``). The numbers of the lines given to the reader then skip those lines.
    """

    def __init__(
        self,
        stream: IO[bytes] | IO[str],
        sniff_lines: int = 3,
        *,
        max_line: int = MAX_LINE,
        first: int = 1,
    ) -> None:
        self.stream = stream
        self.max_line = max_line
        self._first = first  # the number of the stream's first line (a part of a file)
        self.rejects: list[tuple[int, str]] = []
        """Lines the readers do not see, and why (see the class docstring)."""
        self.head: list[tuple[int, str]] = []
        """The lines read ahead: up to ``sniff_lines`` non-blank ones and the blanks between."""
        self._size = READ_SIZE
        self._source = self._read()
        self._pending: list[tuple[int, int, str]] = []
        found = 0
        for first, _, text in self._source:
            lines = text.split("\n")
            lines.pop()
            for k, line in enumerate(lines):
                self.head.append((first + k, line))
                found += bool(line.strip())
                if found >= sniff_lines or len(self.head) >= HEAD_LINES:
                    rest = lines[k + 1 :]
                    if rest:
                        self._pending.append((first + k + 1, len(rest), "\n".join(rest) + "\n"))
                    break
            else:
                continue
            break

    @property
    def first(self) -> list[str]:
        """The non-blank lines read ahead, for the sniffers."""
        return [text for _, text in self.head if text.strip()]

    def take_rejects(self) -> list[tuple[int, str]]:
        """The :attr:`rejects` met so far, once."""
        taken, self.rejects = self.rejects, []
        return taken

    def _read(self) -> Iterator[tuple[int, int, str]]:
        """``(number of the first line, number of lines, text)`` blocks of whole lines, every
        line end made ``\n``; over-long lines and a broken gzip stream become rejects."""
        stream: Any = self.stream
        read = getattr(stream, "read1", None) or stream.read
        limit = self.max_line
        number = self._first  # of the line being read
        parts: list[Any] = []  # the line being read, when it has not ended yet
        held = 0
        skipping = False  # the line being read is too long: dropped up to its end
        cr_held = False  # the last chunk ended with \r: a \n may follow
        start = True

        def decode(data: Any) -> str:
            return data if isinstance(data, str) else data.decode("utf-8", "replace")

        def too_long() -> None:
            self.rejects.append((number, f"line longer than {limit} bytes"))

        while True:
            try:
                chunk = read(self._size)
            except EOFError:
                self.rejects.append((number, "truncated gzip stream"))
                return
            except (gzip.BadGzipFile, zlib.error) as exc:
                self.rejects.append((number, f"corrupt gzip stream: {exc}"))
                return
            nl: Any = "\n" if isinstance(chunk, str) else b"\n"
            cr: Any = "\r" if isinstance(chunk, str) else b"\r"
            if start and chunk:
                start = False
                if chunk[:3] == b"\xef\xbb\xbf" or chunk[:1] == "\ufeff":
                    chunk = chunk[3:] if isinstance(chunk, bytes) else chunk[1:]
            if not chunk:
                if not cr_held:
                    break
                chunk = nl  # the \r that ended the stream ends a line
            elif cr_held:
                chunk = cr + chunk
            cr_held = False
            if chunk[-1:] == cr:
                chunk = chunk[:-1]
                cr_held = True
            if cr in chunk:
                chunk = chunk.replace(cr + nl, nl).replace(cr, nl)
            cut = chunk.rfind(nl)
            if cut < 0:  # the line goes on
                if not skipping:
                    parts.append(chunk)
                    held += len(chunk)
                    if held > limit:
                        skipping, parts, held = True, [], 0
                continue
            begin = 0
            if skipping or parts:
                end = chunk.find(nl)
                if skipping or held + end > limit:
                    too_long()
                else:
                    parts.append(chunk[: end + 1])
                    yield number, 1, decode(chunk[:0].join(parts))
                skipping, parts, held = False, [], 0
                number += 1
                begin = end + 1
            if begin <= cut:
                body = chunk[begin : cut + 1]
                if len(body) <= limit:  # no line in it can be too long
                    text = decode(body)
                    count = text.count("\n")
                    yield number, count, text
                    number += count
                else:
                    run: list[Any] = []
                    for line in body.split(nl)[:-1]:
                        if len(line) > limit:
                            if run:
                                yield number, len(run), decode(nl.join(run) + nl)
                                number += len(run)
                                run = []
                            too_long()
                            number += 1
                        else:
                            run.append(line)
                    if run:
                        yield number, len(run), decode(nl.join(run) + nl)
                        number += len(run)
            if cut + 1 < len(chunk):
                parts.append(chunk[cut + 1 :])
                held = len(chunk) - cut - 1
        if skipping or held > limit:
            too_long()
        elif parts:
            yield number, 1, decode(parts[0][:0].join(parts)) + "\n"

    def _blocks(self) -> Iterator[tuple[int, int, str]]:
        while self._pending:
            yield self._pending.pop(0)
        yield from self._source

    def __iter__(self) -> Iterator[tuple[int, str]]:
        yield from self.head
        for first, _, text in self._blocks():
            lines = text.split("\n")
            lines.pop()
            for k, line in enumerate(lines):
                yield first + k, line

    def blocks(self, size: int = READ_SIZE) -> Iterator[tuple[int, int, str]]:
        """The lines as ``(number of the first line, number of lines, text)`` blocks of
        about ``size`` bytes of whole lines (a long line makes a longer block).

        Every line in a block ends with ``\n`` (one is added to a last line without it; a
        ``\r\n`` or lone ``\r`` line end is made ``\n``). The read-ahead lines come first,
        in blocks of their own.
        """
        self._size = max(1, min(size, READ_SIZE))
        run: list[str] = []
        start = 0
        for number, text in self.head:
            if run and number != start + len(run):
                yield start, len(run), "".join(line + "\n" for line in run)
                run = []
            if not run:
                start = number
            run.append(text)
        if run:
            yield start, len(run), "".join(line + "\n" for line in run)
        yield from self._blocks()


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
        with contextlib.ExitStack() as stack:
            stream = open_source(name)
            if name != "-":
                stack.enter_context(stream)
            lines = NumberedLines(stream)
            fmt = opts.format or ("columns" if opts.mapping else sniff_format(lines.first, label))
            for batch in READERS[fmt](lines, label, opts):
                batch.rejects.extend(
                    Reject(label, line, reason) for line, reason in lines.take_rejects()
                )
                yield batch
            if lines.rejects:
                yield Batch(
                    label,
                    fmt,
                    rejects=[Reject(label, line, reason) for line, reason in lines.take_rejects()],
                )


def _register() -> None:
    """Fill :data:`READERS` and :data:`SNIFFERS`; specific sniffers first, plain addresses last."""
    from . import addresses, azure, columns, combined, frontdoor, w3c

    for module in (frontdoor, azure, w3c, combined, columns, addresses):
        READERS.update(module.READERS)
        SNIFFERS.extend(module.SNIFFERS)


_register()

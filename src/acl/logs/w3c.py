"""App Service web server logs in the W3C extended log file format (IIS).

Each ``#Fields:`` directive sets the columns of the data lines after it, so the fields may
change in the middle of a file. A data line is split once on single spaces; ``-`` is an
absent value. IIS writes a space inside a value as ``+`` (user agents, custom fields), so
``+`` never separates fields, and in header values it is read back as a space.

=======================================  =============================================
field                                    request
=======================================  =============================================
``c-ip``                                 source address
``cs-host`` (or ``cs(Host)``)            Host
``date`` + ``time``                      time (``#Date:`` gives the date when there is
                                         no ``date`` field)
``cs(X-Forwarded-For)`` (or a custom     the header of that name; likewise for the other
field named ``X-Forwarded-For``)         three supported headers
=======================================  =============================================

>>> from acl.logs import ReadOptions
>>> lines = ["#Fields: date time c-ip cs-host", "2024-01-02 03:04:05 192.0.2.1 app.azurewebsites.net",
...          "2024-01-02 03:04:06 192.0.2.2 -", "#Fields: c-ip cs(X-Forwarded-For)", "192.0.2.3 203.0.113.9"]
>>> first, second = read_w3c(enumerate(lines, start=1), "u_ex.log", ReadOptions())
>>> first.ip, first.host, first.time, first.headers
(['192.0.2.1', '192.0.2.2'], ['app.azurewebsites.net', None], ['2024-01-02 03:04:05', '2024-01-02 03:04:06'], {})
>>> second.ip, second.headers
(['192.0.2.3'], {'X-Forwarded-For': ['203.0.113.9']})

Speed: a block of lines with no directive is split in one call for the whole block by the
scanner, which makes Python strings of the wanted fields only, so no Python code runs per
line; a block with a directive or a line that does not fit is read line by line.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..headers import canonical_header
from . import Batch, Lines, ReadOptions, Reject, text_blocks
from .scanners import SPLIT_DASH_NONE, SPLIT_PLUS, SPLIT_REQUIRED, SPLIT_REUSE, split_columns

__all__ = ["READERS", "SNIFFERS", "read_w3c"]

FORMAT = "w3c"
BLOCK = 1 << 15
"""Characters per block: small enough that a block's tokens stay in the CPU cache."""
_DIRECTIVES = (
    "#Software:",
    "#Version:",
    "#Date:",
    "#Fields:",
    "#Remark:",
    "#Start-Date:",
    "#End-Date:",
)


class _Layout:
    """Where the wanted fields sit in the data lines of one ``#Fields:`` directive."""

    __slots__ = ("count", "date", "flags", "headers", "host", "ip", "time", "wanted")

    def __init__(self, names: list[str]) -> None:
        lower = [name.lower() for name in names]
        self.count = len(names)
        self.ip = lower.index("c-ip") if "c-ip" in lower else None
        # cs-host is what IIS writes; cs(Host) is the W3C extended spelling of the header
        host = next((name for name in ("cs-host", "cs(host)") if name in lower), None)
        self.host = lower.index(host) if host is not None else None
        self.date = lower.index("date") if "date" in lower else None
        self.time = lower.index("time") if "time" in lower else None
        headers: dict[str, int] = {}
        for at, name in enumerate(names):
            inner = name[3:-1] if name.lower().startswith("cs(") and name.endswith(")") else name
            canonical = canonical_header(inner)
            if canonical is not None and canonical not in headers:
                headers[canonical] = at
        self.headers = tuple(headers.items())
        # What the fast path asks split_columns for: the address (a missing one sends the
        # block to the slow path), the host, the time (``date time`` joined), the headers.
        # Without a c-ip field every block takes the slow path, so field 0 is never read.
        wanted: list[int | tuple[int, int]] = [self.ip if self.ip is not None else 0]
        flags = [SPLIT_REQUIRED]
        if self.host is not None:
            wanted.append(self.host)
            flags.append(SPLIT_REUSE | SPLIT_DASH_NONE)
        if self.time is not None and self.date is not None:
            wanted.append((self.date, self.time))
            flags.append(SPLIT_REUSE)
        elif self.time is not None or self.date is not None:
            wanted.append(self.time if self.time is not None else self.date)  # type: ignore[arg-type]
            flags.append(SPLIT_REUSE)
        for _, at in self.headers:
            wanted.append(at)
            flags.append(SPLIT_REUSE | SPLIT_DASH_NONE | SPLIT_PLUS)
        self.wanted = tuple(wanted)
        self.flags = tuple(flags)


class _Columns:
    """The batch being filled, emitted in pieces of at most ``size`` records."""

    def __init__(self, source: str, size: int) -> None:
        self.source = source
        self.size = size
        self.names: tuple[str, ...] = ()
        self._reset()

    def _reset(self) -> None:
        self.lines: list[int] = []
        self.ip: list[str | None] = []
        self.host: list[str | None] = []
        self.time: list[str | None] = []
        self.headers: dict[str, list[str | None]] = {name: [] for name in self.names}
        self.rejects: list[Reject] = []
        self.metadata = 0

    def batch(self, end: int | None = None) -> Batch:
        """A batch of the first ``end`` records (all when None), with every reject and
        metadata line so far; what remains starts the next batch."""
        if end is None or end >= len(self.ip):
            out = Batch(
                self.source,
                FORMAT,
                self.lines,
                self.ip,
                self.host,
                self.headers,
                time=self.time,
                rejects=self.rejects,
                metadata=self.metadata,
            )
            self._reset()
            return out
        out = Batch(
            self.source,
            FORMAT,
            self.lines[:end],
            self.ip[:end],
            self.host[:end],
            {name: column[:end] for name, column in self.headers.items()},
            time=self.time[:end],
            rejects=self.rejects,
            metadata=self.metadata,
        )
        del self.lines[:end], self.ip[:end], self.host[:end], self.time[:end]
        for column in self.headers.values():
            del column[:end]
        self.rejects = []
        self.metadata = 0
        return out

    def full(self) -> Iterator[Batch]:
        while len(self.ip) >= self.size:
            yield self.batch(self.size)

    def pending(self) -> bool:
        return bool(self.ip or self.rejects or self.metadata)

    def reshape(self, names: tuple[str, ...]) -> Iterator[Batch]:
        """New header columns: what is collected so far leaves as a batch first."""
        if names != self.names:
            if self.ip:
                yield self.batch()
            self.names = names
            self.headers = {name: [] for name in names}


class _Reader:
    def __init__(self, source: str, options: ReadOptions) -> None:
        self.source = source
        self.out = _Columns(source, options.batch_size)
        self.layout: _Layout | None = None
        self.date: str | None = None  # from #Date:, for logs without a date field

    def block(self, first: int, count: int, text: str) -> Iterator[Batch]:
        out = self.out
        if out.ip and len(out.ip) + count > out.size:
            yield out.batch()  # whole blocks per batch: no slicing of the columns
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        layout = self.layout
        if (
            layout is None
            or layout.ip is None
            or ("#" in text and (text[0] == "#" or "\n#" in text))
            or "\r" in text
            or not self._fast(first, count, text, layout)
        ):
            yield from self._slow(first, text)
        if len(out.ip) >= out.size:
            yield from out.full()

    def _fast(self, first: int, n: int, text: str, layout: _Layout) -> bool:
        """Every line of the block at once; False (nothing done) when a line does not fit.

        The scanner ``split_columns`` makes Python values of the wanted fields only: the
        address (a missing one sends the block to the slow path, which rejects that line),
        the host and headers with ``-`` as None, and ``date time`` joined, with a value
        equal to the previous line's reused rather than made again."""
        assert layout.ip is not None
        columns = split_columns(text, layout.count, layout.wanted, layout.flags)
        if columns is None or len(columns[0]) != n:
            return False
        picked = iter(columns[1:])
        out = self.out
        out.lines.extend(range(first, first + n))
        out.ip.extend(columns[0])
        out.host.extend(next(picked) if layout.host is not None else [None] * n)
        if layout.time is not None or layout.date is not None:
            times = next(picked)
            if layout.date is None and self.date is not None:
                out.time.extend(map((self.date + " ").__add__, times))
            else:
                out.time.extend(times)
        else:  # no date or time field: the #Date directive's date, as line by line
            out.time.extend([self.date] * n)
        for (name, _), values in zip(layout.headers, picked, strict=True):
            out.headers[name].extend(values)
        return True

    def _slow(self, first: int, text: str) -> Iterator[Batch]:
        out = self.out
        source = self.source
        lines = text.split("\n")
        lines.pop()  # the text ends with "\n"
        for number, line in enumerate(lines, start=first):
            line = line.rstrip("\r")
            if not line.strip():
                out.metadata += 1
                continue
            if line[0] == "#":
                out.metadata += 1
                directive = line[:8].lower()  # directive names are matched without case
                if directive == "#fields:":
                    self.layout = _Layout(line[len("#Fields:") :].split())
                    yield from out.reshape(tuple(name for name, _ in self.layout.headers))
                elif directive.startswith("#date:"):
                    self.date = (
                        line[len("#Date:") :].split()[0] if line[len("#Date:") :].split() else None
                    )
                continue
            layout = self.layout
            if layout is None:
                out.rejects.append(
                    Reject(source, number, "data line before any #Fields directive", line)
                )
                continue
            parts = line.split(" ")
            if len(parts) != layout.count:
                out.rejects.append(
                    Reject(
                        source,
                        number,
                        f"expected {layout.count} fields (from #Fields), got {len(parts)}",
                        line,
                    )
                )
                continue
            ip = parts[layout.ip] if layout.ip is not None else "-"
            if ip == "-" or not ip:
                out.rejects.append(Reject(source, number, "missing field c-ip", line))
                continue
            out.lines.append(number)
            out.ip.append(ip)
            host = parts[layout.host] if layout.host is not None else "-"
            out.host.append(None if host == "-" or not host else host)
            time = parts[layout.time] if layout.time is not None else None
            date = parts[layout.date] if layout.date is not None else self.date
            out.time.append(f"{date} {time}" if date and time else time or date)
            for name, at in layout.headers:
                value = parts[at]
                out.headers[name].append(
                    None if value == "-" or not value else value.replace("+", " ")
                )
            if len(out.ip) >= out.size:
                yield from out.full()

    def finish(self) -> Iterator[Batch]:
        if self.out.pending():
            yield self.out.batch()


def read_w3c(lines: Lines, source: str, options: ReadOptions) -> Iterator[Batch]:
    """W3C extended log lines as requests (see the module docstring)."""
    reader = _Reader(source, options)
    for first, count, text in text_blocks(lines, BLOCK):
        yield from reader.block(first, count, text)
    yield from reader.finish()


def _sniff(first: list[str]) -> bool:
    return any(line.startswith(_DIRECTIVES) for line in first)


READERS = {FORMAT: read_w3c}
SNIFFERS = [(FORMAT, _sniff)]

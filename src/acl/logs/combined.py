"""nginx and Apache access logs: the combined log format, and the common log format it
extends.

``remote - user [time] "request" status bytes`` (common), then ``"referer" "user-agent"``
(combined). nginx's stock ``main`` format adds ``"$http_x_forwarded_for"`` as a third
quoted field; when it is there it becomes ``X-Forwarded-For``. Fields that a custom format
appends after those are ignored. These formats log no Host header, so every request is
decided against the main collection.

>>> from acl.logs import ReadOptions
>>> line = '2001:db8::7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "curl/8.0" "203.0.113.9"'
>>> batch = next(read_combined(iter([(1, line), (2, "garbage")]), "access.log", ReadOptions()))
>>> batch.ip, batch.time, batch.headers
(['2001:db8::7'], ['10/Oct/2000:13:55:36 -0700'], {'X-Forwarded-For': ['203.0.113.9']})
>>> print(batch.rejects[0])
access.log:2: not in the combined or common log format: 'garbage'
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..addresses import split_host_port
from ..headers import XFORWARDEDFOR
from . import Batch, BatchBuilder, Lines, ReadOptions

__all__ = ["READERS", "SNIFFERS", "read_combined"]

FORMAT = "combined"
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_LINE = re.compile(
    rf"(\S+) \S+ \S+ \[([^\]]+)\] {_QUOTED} (?:\d{{3}}|-) (?:\d+|-)"
    rf"(?: {_QUOTED} {_QUOTED}(?: {_QUOTED})?)?(?:\s.*)?$"
)
"""Common, then combined's referer and user agent, then nginx ``main``'s forwarded-for;
fields a custom format appends after those are allowed and ignored."""
_START = re.compile(r'\S+ \S+ \S+ \[[^\]]+\] "')


def read_combined(lines: Lines, source: str, options: ReadOptions) -> Iterator[Batch]:
    """Combined or common log format lines as requests (no Host: main collection)."""
    builder = BatchBuilder(
        source, FORMAT, headers=(XFORWARDEDFOR,), time=True, batch_size=options.batch_size
    )
    match = _LINE.match
    for number, text in lines:
        found = match(text)
        if found is None:
            if text.strip():
                builder.reject(number, "not in the combined or common log format", text)
            else:
                builder.metadata()
            continue
        remote, time, _request, _referer, _agent, forwarded = found.groups()
        xff = None if forwarded in (None, "", "-") else forwarded
        builder.add(
            number, split_host_port(remote), None, {XFORWARDEDFOR: xff} if xff else None, time=time
        )
        if builder.full:
            yield builder.take()
    yield from builder.flush()


def _sniff(first: list[str]) -> bool:
    return bool(first) and all(_START.match(line) for line in first)


READERS = {FORMAT: read_combined}
SNIFFERS = [(FORMAT, _sniff)]

"""JSON parsed with the line of every value, for messages that name a file, line and column.

Two readers share it: the Terraform loader reads a whole ``.tf.json`` document with
:func:`parse_document` (every object and array knows the line of each of its values), and
the log readers walk a sequence of JSON values that spans many lines with a
:class:`JsonCursor` (records are numbered by the line where they start).

>>> document = parse_document('{\\n  "a": [1,\\n    2]\\n}', "x.json")
>>> line_in(document, "a", None), line_in(document["a"], 1, None)
(2, 3)
>>> parse_document('{"a": 1,}', "x.json")
Traceback (most recent call last):
...
acl.errors.ConfigError: x.json:1:9: invalid JSON: expected a property name in double quotes
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from .errors import ConfigError, Origin, quote

__all__ = ["JsonArray", "JsonCursor", "JsonObject", "line_in", "parse_document"]

_SPACE = re.compile(r"[ \t\n\r]*")
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class JsonObject(dict[str, Any]):
    """A JSON object that knows its line and the line of each of its values."""

    line: int | None = None
    lines: dict[str, int]


class JsonArray(list[Any]):
    """A JSON array that knows its line and the line of each of its elements."""

    line: int | None = None
    lines: list[int]


def line_in(container: Any, key: str | int, fallback: int | None) -> int | None:
    """The line of ``container[key]`` when the container knows it, else ``fallback``."""
    lines = getattr(container, "lines", None)
    if isinstance(lines, dict) and isinstance(key, str) and key in lines:
        return int(lines[key])
    if isinstance(lines, list) and isinstance(key, int) and key < len(lines):
        return int(lines[key])
    return fallback


class JsonCursor:
    """A position in JSON text whose first line is ``first``: it skips whitespace, scans
    values and tells the line and column of a position.

    ``scan`` reads one value at a position and returns it with the position after it
    (:class:`json.JSONDecoder`'s ``raw_decode`` or ``scan_once``); a position that holds
    no value raises :class:`json.JSONDecodeError` ("Expecting value").
    """

    def __init__(
        self, text: str, first: int = 1, scan: Callable[[str, int], tuple[Any, int]] | None = None
    ) -> None:
        self.text = text
        self.first = first
        self.pos = 0
        self._scan = _scan_once if scan is None else scan
        self._line_pos = 0
        self._line = first

    def line_at(self, pos: int) -> int:
        """The line of a position (cheap for positions that only move forward)."""
        if pos < self._line_pos:
            return self.first + self.text.count("\n", 0, pos)
        self._line += self.text.count("\n", self._line_pos, pos)
        self._line_pos = pos
        return self._line

    def column_at(self, pos: int) -> int:
        """The column of a position, from 1."""
        return pos - self.text.rfind("\n", 0, pos)

    def skip(self) -> int:
        """Moves past whitespace; the position it reaches."""
        self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
        return self.pos

    def at(self, char: str) -> bool:
        """Whether ``char`` is next, after whitespace."""
        return self.text.startswith(char, self.skip())

    def expect(self, char: str, what: str) -> None:
        """Moves past ``char`` (after whitespace), or fails with "Expecting ``what``"."""
        if self.at(char):
            self.pos += 1
        else:
            raise json.JSONDecodeError(f"Expecting {what}", self.text, self.pos)

    def value(self) -> Any:
        """The value at the position (after whitespace); moves past it."""
        try:
            value, self.pos = self._scan(self.text, self.skip())
        except StopIteration:
            raise json.JSONDecodeError("Expecting value", self.text, self.pos) from None
        return value

    def elements(self) -> Iterator[tuple[int, Any]]:
        """The elements of the array at the position (after its ``[``), with the position
        where each starts."""
        text = self.text
        if text.startswith("]", self.skip()):
            self.pos += 1
            return
        while True:
            start = self.skip()
            yield start, self.value()
            if text.startswith(",", self.skip()):
                self.pos += 1
            else:
                self.expect("]", "',' delimiter or ']'")
                return


def parse_document(
    text: str,
    name: str,
    max_depth: int = 128,
    parse_int: Callable[[str], Any] | None = None,
) -> Any:
    """JSON text parsed with the line of every value: objects are :class:`JsonObject`,
    arrays :class:`JsonArray`. A mistake is a :class:`~acl.errors.ConfigError` naming
    ``name``, the line and the column; so is a document nested ``max_depth`` levels deep,
    and a property given twice in one object."""
    decoder = json.JSONDecoder(parse_int=parse_int)

    def raw_decode(source: str, position: int) -> tuple[Any, int]:
        return decoder.raw_decode(source, position)

    cursor = JsonCursor(text, 1, raw_decode)

    def fail(message: str, position: int) -> ConfigError:
        return ConfigError(
            f"invalid JSON: {message}",
            Origin(file=name, line=cursor.line_at(position), column=cursor.column_at(position)),
        )

    def scan() -> Any:
        try:
            return raw_decode(text, cursor.pos)
        except json.JSONDecodeError as exc:
            raise fail(exc.msg, exc.pos) from None

    def value(depth: int) -> Any:
        if depth >= max_depth:
            raise fail(f"nested more than {max_depth} levels deep, the limit acl reads", cursor.pos)
        position = cursor.skip()
        opening = text[position : position + 1]
        if opening == "{":
            found = JsonObject()
            found.line, found.lines = cursor.line_at(position), {}
            cursor.pos += 1
            if cursor.at("}"):
                cursor.pos += 1
                return found
            while True:
                if not cursor.at('"'):
                    raise fail("expected a property name in double quotes", cursor.pos)
                key, cursor.pos = scan()
                if not cursor.at(":"):
                    raise fail("expected ':'", cursor.pos)
                cursor.pos += 1
                start = cursor.skip()
                item = value(depth + 1)
                if key in found:
                    raise fail(f"property {quote(key)} is given twice", start)
                found[key] = item
                found.lines[key] = cursor.line_at(start)
                if cursor.at(","):
                    cursor.pos += 1
                    continue
                if cursor.at("}"):
                    cursor.pos += 1
                    return found
                raise fail("expected ',' or '}'", cursor.pos)
        if opening == "[":
            array = JsonArray()
            array.line, array.lines = cursor.line_at(position), []
            cursor.pos += 1
            if cursor.at("]"):
                cursor.pos += 1
                return array
            while True:
                start = cursor.skip()
                array.append(value(depth + 1))
                array.lines.append(cursor.line_at(start))
                if cursor.at(","):
                    cursor.pos += 1
                    continue
                if cursor.at("]"):
                    cursor.pos += 1
                    return array
                raise fail("expected ',' or ']'", cursor.pos)
        found_value, cursor.pos = scan()
        return found_value

    document = value(0)
    if cursor.skip() != len(text):
        raise fail("extra data after the JSON value", cursor.pos)
    return document

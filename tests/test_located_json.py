"""acl.located_json: JSON with the line of every value, for Terraform JSON and log documents."""

from __future__ import annotations

import json

import pytest

from acl.errors import ConfigError
from acl.located_json import JsonArray, JsonCursor, JsonObject, line_in, parse_document


def test_every_value_knows_its_line() -> None:
    document = parse_document('{\n  "a": [\n    1,\n    {"b": 2}\n  ],\n  "c": null\n}', "x.json")
    assert isinstance(document, JsonObject) and isinstance(document["a"], JsonArray)
    assert document.line == 1
    assert line_in(document, "a", None) == 2
    assert line_in(document, "c", None) == 6
    assert line_in(document["a"], 1, None) == 4
    assert line_in(document["a"], 5, 99) == 99
    assert line_in({"a": 1}, "a", 7) == 7


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ('{\n  "a": 1,\n  "a": 2\n}', "property 'a' is given twice", 3, 8),
        ('{\n  "a" 1\n}', "expected ':'", 2, 7),
        ("[1, 2", "expected ',' or ']'", 1, 6),
        ("{} x", "extra data after the JSON value", 1, 4),
        ("[[[1]]]", "nested more than 2 levels deep, the limit acl reads", 1, 3),
    ],
)
def test_mistakes_name_file_line_and_column(
    text: str, message: str, line: int, column: int
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_document(text, "x.json", max_depth=2)
    origin = caught.value.origin
    assert caught.value.message == f"invalid JSON: {message}"
    assert (origin.file, origin.line, origin.column) == ("x.json", line, column)


def test_a_cursor_walks_a_document_that_starts_at_a_later_line() -> None:
    cursor = JsonCursor('\n[ {"a": 1},\n  2 ]', first=10)
    assert cursor.skip() == 1 and cursor.line_at(cursor.pos) == 11
    cursor.pos += 1
    elements = [(cursor.line_at(at), value) for at, value in cursor.elements()]
    assert elements == [(11, {"a": 1}), (12, 2)]
    assert cursor.line_at(0) == 10  # backwards: counted again
    assert cursor.column_at(len(cursor.text) - 1) == 5
    keyed = JsonCursor('"k" 1')
    assert keyed.value() == "k"
    with pytest.raises(json.JSONDecodeError, match="Expecting ':' delimiter") as caught:
        keyed.expect(":", "':' delimiter")
    assert caught.value.pos == 4

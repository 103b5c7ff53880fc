"""Terraform values as Python values (string, number, bool, list, map, null): type names,
the conversions Terraform makes implicitly, sets, iteration order and string escapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import quote
from .._limits import (
    MAX_NUMBER_DIGITS,
)
from .._limits import step as _step
from .hcl_errors import EvalError

# ---------------------------------------------------------------------------- values


def num_text(value: int | float) -> str:
    """A number as Terraform writes it in a string."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def to_string(value: Any) -> str:
    """Terraform's automatic conversion of a primitive to a string."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return num_text(value)
    raise EvalError(f"{type_name(value)} value {quote(value)} cannot be used as a string")


def to_number(value: Any) -> int | float:
    """Terraform's automatic conversion to a number (``"100"`` is 100)."""
    if isinstance(value, bool):
        raise EvalError(f"bool value {quote(value)} cannot be used as a number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_DIGITS:
            raise EvalError(
                f"string {quote(value)} is not a number acl reads (more than {MAX_NUMBER_DIGITS} "
                "characters)"
            )
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise EvalError(f"string {quote(value)} is not a number") from None
        return int(number) if number.is_integer() else number
    raise EvalError(f"{type_name(value)} value {quote(value)} cannot be used as a number")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise EvalError(f"{type_name(value)} value {quote(value)} cannot be used as a bool")


def distinct(values: list[Any]) -> list[Any]:
    """The distinct values, first ones first (comparing every pair: steps are charged)."""
    _step("distinct values", len(values) * len(values) // 64)
    unique: list[Any] = []
    for value in values:
        if value not in unique:
            unique.append(value)
    return unique


def to_set(values: list[Any]) -> list[Any]:
    """A Terraform set as a list: distinct, in Terraform's iteration order."""
    unique = distinct(values)
    if all(isinstance(v, str) for v in unique):
        return sorted(unique)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in unique):
        return sorted(unique)
    return unique


def pairs_of(value: Any) -> list[tuple[Any, Any]]:
    """Key/value pairs of a collection in Terraform's iteration order."""
    if isinstance(value, list):
        return list(enumerate(value))
    if isinstance(value, dict):
        return [(key, value[key]) for key in sorted(value)]
    raise EvalError(f"{type_name(value)} value {quote(value)} is not a collection to iterate over")


Scope = Mapping[str, Any]
"""Names bound by iterators: ``each``, ``count``, dynamic-block iterators, ``for`` variables."""


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def unescape(text: str) -> str:
    """The value of a quoted HCL string's characters."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 >= len(text):
            out.append(char)
            i += 1
            continue
        marker = text[i + 1]
        if marker in _ESCAPES:
            out.append(_ESCAPES[marker])
            i += 2
        elif marker in "uU":
            width = 4 if marker == "u" else 8
            digits = text[i + 2 : i + 2 + width]
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                raise EvalError(f"invalid escape \\{marker}{digits} in a string") from None
            i += 2 + width
        else:
            raise EvalError(f"invalid escape \\{marker} in a string")
    return "".join(out)

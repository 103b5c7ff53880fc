"""What loading a rules file may cost: bounds every loader shares, and the one way messages
quote values.

A loader evaluates someone else's language (template expressions, HCL, shell and PowerShell
variables), so a small file can ask for a huge value (variables that double each other) or a
huge amount of work. Every loader therefore checks

* each value it builds: at most :data:`MAX_VALUE_CHARS` characters of text and
  :data:`MAX_VALUE_ITEMS` list or object elements, counted over the whole value, and numbers
  of at most :data:`MAX_NUMBER_DIGITS` digits;
* the work of one load: at most :data:`MAX_STEPS` evaluation steps (an expression, a
  function call, a script statement; inspecting values costs steps too);
* nesting: JSON documents and expressions at most :data:`MAX_DEPTH` levels deep.

A limit that is hit raises :class:`LimitError` (a message without a place); the loader turns
it into a :class:`~acl.errors.ConfigError` naming the file and the line or JSON path.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from ..errors import ConfigError, Origin, quote

__all__ = [
    "MAX_DEPTH",
    "MAX_NUMBER_DIGITS",
    "MAX_STEPS",
    "MAX_VALUE_CHARS",
    "MAX_VALUE_ITEMS",
    "BigNumber",
    "Budget",
    "LimitError",
    "bounded",
    "bounded_join",
    "budget",
    "check_depth",
    "checked",
    "json_loads",
    "parse_int",
    "quote",
    "site_budget",
    "step",
]

MAX_VALUE_CHARS = 1 << 20
"""Characters of text in one evaluated value (strings and object keys, over the whole value)."""
MAX_VALUE_ITEMS = 100_000
"""List and object elements in one evaluated value, over the whole value."""
MAX_NUMBER_DIGITS = 400
"""Decimal digits of one number (an int32 has 10)."""
MAX_STEPS = 1_000_000
"""Evaluation steps of one load."""
MAX_DEPTH = 128
"""Nesting levels of a JSON document, a template expression or an HCL expression."""

_MAX_NUMBER_BITS = int(MAX_NUMBER_DIGITS * 3.33)


class LimitError(Exception):
    """A limit was hit; ``message`` names the construct and the limit. Evaluators that know
    the place fill in ``file``, ``line`` or ``path``; :func:`bounded` turns it into a
    :class:`ConfigError`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.file: str | None = None
        self.line: int | None = None
        self.path: str | None = None


class BigNumber(str):
    """A JSON number with more digits than :data:`MAX_NUMBER_DIGITS`, kept as its text: no
    value ``acl`` reads is that large, so every check refuses it by what it expected."""

    def __repr__(self) -> str:
        return f"<a number of {len(self.lstrip('-')):,} digits>"


# ---------------------------------------------------------------------------- work and values


class Budget:
    """The evaluation steps one load may take."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps = 0

    def charge(self, construct: str, count: int = 1) -> None:
        self.steps += count
        if self.steps > MAX_STEPS:
            raise LimitError(
                f"{construct}: loading takes more than {MAX_STEPS:,} evaluation steps, the limit "
                "of one load (values that double each other, or loops over large lists?)"
            )


_CURRENT: ContextVar[Budget | None] = ContextVar("acl_load_budget", default=None)


@contextmanager
def budget() -> Iterator[Budget]:
    """The budget of the load under way, or a new one for the time of the ``with``."""
    active = _CURRENT.get()
    if active is not None:
        yield active
        return
    fresh = Budget()
    token = _CURRENT.set(fresh)
    try:
        yield fresh
    finally:
        _CURRENT.reset(token)


@contextmanager
def site_budget() -> Iterator[Budget]:
    """A new budget for the time of the ``with``, even within a load: for each site of a file
    whose sites are all built from one read of it, so that each site may take the steps one
    load of it would (the read itself is charged to the load's budget)."""
    fresh = Budget()
    token = _CURRENT.set(fresh)
    try:
        yield fresh
    finally:
        _CURRENT.reset(token)


def step(construct: str, count: int = 1) -> None:
    """Charge ``count`` steps to the load under way (outside a load: to a budget of its own
    call, so only the size limits apply)."""
    active = _CURRENT.get()
    (active if active is not None else Budget()).charge(construct, count)


def checked(value: Any, construct: str) -> Any:
    """``value``, after checking that it is within the size limits (:class:`LimitError`)."""
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            raise _too_long(construct, len(value))
        return value
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        _check_number(value, construct)
        return value
    chars = 0
    items = 0
    visited = 0
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        visited += 1
        kind = type(item)
        if kind is str:
            chars += len(item)
        elif kind is list:
            items += len(item)
            if items > MAX_VALUE_ITEMS:
                break
            stack.extend(item)
        elif kind is bool or kind is float or item is None:
            pass
        elif isinstance(item, str):
            chars += len(item)
        elif isinstance(item, Mapping):
            items += len(item)
            if items > MAX_VALUE_ITEMS:
                break
            chars += sum(len(key) for key in item if isinstance(key, str))
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            items += len(item)
            if items > MAX_VALUE_ITEMS:
                break
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            _check_number(item, construct)
        if chars > MAX_VALUE_CHARS:
            raise _too_long(construct, chars, "at least ")
    step(construct, visited // 8 + 1)
    if items > MAX_VALUE_ITEMS:
        raise LimitError(
            f"{construct} makes a value of more than {MAX_VALUE_ITEMS:,} list or object "
            "elements, the limit of one evaluated value"
        )
    return value


def bounded_join(pieces: Iterable[str], construct: str, sep: str = "") -> str:
    """``sep.join(pieces)``, refused (:class:`LimitError`) as soon as it would pass
    :data:`MAX_VALUE_CHARS`, before it is built."""
    out: list[str] = []
    length = 0
    for piece in pieces:
        length += len(piece) + (len(sep) if out else 0)
        if length > MAX_VALUE_CHARS:
            raise _too_long(construct, length, "at least ")
        out.append(piece)
    return sep.join(out)


def _too_long(construct: str, length: int, at_least: str = "") -> LimitError:
    return LimitError(
        f"{construct} makes a value of {at_least}{length:,} characters: the limit of one "
        f"evaluated value is {MAX_VALUE_CHARS:,} characters (1 MiB)"
    )


def _check_number(number: int, construct: str) -> None:
    if abs(number).bit_length() > _MAX_NUMBER_BITS:
        raise LimitError(
            f"{construct} makes {quote(number)}: the limit of one number is "
            f"{MAX_NUMBER_DIGITS} digits"
        )


# ---------------------------------------------------------------------------- documents


def parse_int(text: str) -> int | str:
    """A JSON integer's value, or a :class:`BigNumber` when it has too many digits."""
    if len(text) - text.startswith("-") > MAX_NUMBER_DIGITS:
        return BigNumber(text)
    return int(text)


def json_loads(text: str, file: str | None) -> Any:
    """``json.loads(text)`` within the limits: numbers of more than :data:`MAX_NUMBER_DIGITS`
    digits become :class:`BigNumber`, and a document nested deeper than :data:`MAX_DEPTH`
    is a :class:`ConfigError` naming the file and the JSON path. ``json.JSONDecodeError``
    passes through for the caller's message."""
    try:
        document = json.loads(text, parse_int=parse_int)
    except RecursionError:
        raise ConfigError(
            f"the JSON is nested too deeply: acl reads documents at most {MAX_DEPTH} levels deep",
            Origin(file=file),
        ) from None
    check_depth(document, file)
    return document


def check_depth(document: Any, file: str | None, path: str = "$") -> None:
    """A :class:`ConfigError` when ``document`` nests lists and objects deeper than
    :data:`MAX_DEPTH`, naming the JSON path where it does."""
    stack: list[tuple[Any, int, str | int | None, Any]] = [(document, 0, None, None)]
    parents: dict[int, tuple[Any, str | int | None]] = {}
    while stack:
        value, depth, key, parent = stack.pop()
        if not isinstance(value, (list, Mapping)):
            continue
        if depth >= MAX_DEPTH:
            raise ConfigError(
                f"the JSON is nested more than {MAX_DEPTH} levels deep, the limit acl reads",
                Origin(file=file, path=_path_of(path, key, parent, parents)),
            )
        parents[id(value)] = (parent, key)
        if isinstance(value, list):
            stack.extend((item, depth + 1, index, value) for index, item in enumerate(value))
        else:
            stack.extend((item, depth + 1, name, value) for name, item in value.items())


def _path_of(
    root: str, key: str | int | None, parent: Any, parents: dict[int, tuple[Any, str | int | None]]
) -> str:
    keys: list[str | int] = []
    while key is not None:
        keys.append(key)
        parent, key = parents.get(id(parent), (None, None))
    text = root
    for part in reversed(keys):
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text if len(text) <= 200 else f"{text[:100]}…{text[-100:]}"


_Loader = TypeVar("_Loader", bound=Callable[..., Any])


def bounded(loader: _Loader) -> _Loader:
    """A loader ``(document, options)`` run within one load's :func:`budget`; nesting too
    deep for Python's stack anywhere in it is a :class:`ConfigError` naming the file."""

    @functools.wraps(loader)
    def run(document: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
        with budget():
            try:
                return loader(document, options, *args, **kwargs)
            except RecursionError:
                raise ConfigError(
                    f"the file is nested too deeply to read: acl reads documents and "
                    f"expressions at most {MAX_DEPTH} levels deep",
                    Origin(file=getattr(options, "source", None)),
                ) from None
            except LimitError as exc:
                raise ConfigError(
                    exc.message,
                    Origin(
                        file=exc.file or getattr(options, "source", None),
                        line=exc.line,
                        path=exc.path,
                    ),
                ) from None

    return cast(_Loader, run)

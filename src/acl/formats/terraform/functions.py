"""The Terraform functions acl evaluates offline (:data:`FUNCTIONS`): pure and exact, each
charged against the work and size limits. A function that needs more (a regular
expression in ``replace()``) raises :class:`NotEvaluated`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

from ...errors import ConfigError, quote
from .._limits import (
    MAX_VALUE_CHARS,
    LimitError,
    bounded_join,
    json_loads,
)
from .hcl_errors import EvalError
from .values import distinct, to_bool, to_number, to_set, to_string, type_name

# ---------------------------------------------------------------------------- functions

_Function = Callable[[list[Any]], Any]


def _args(name: str, args: list[Any], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        want = f"{low}" if low == high else f"{low} to {high}"
        raise EvalError(f"{name}() takes {want} argument(s), not {len(args)}")


def _fn(name: str, count: int, body: Callable[..., Any]) -> _Function:
    def call(args: list[Any]) -> Any:
        _args(name, args, count)
        return body(*args)

    return call


def _format(spec: str, values: list[Any]) -> str:
    out: list[str] = []
    index = 0
    pos = 0
    for match in re.finditer(r"%(%|[-+ 0#]*\d*(?:\.\d+)?[sdvqtfgeExXbo])", spec):
        out.append(spec[pos : match.start()])
        pos = match.end()
        verb = match.group(1)
        if verb == "%":
            out.append("%")
            continue
        if index >= len(values):
            raise EvalError(f"format({quote(spec)}): not enough arguments")
        value = values[index]
        index += 1
        kind = verb[-1]
        if kind in "sv":
            out.append(
                to_string(value) if not isinstance(value, (list, dict)) else json.dumps(value)
            )
        elif kind == "q":
            out.append(json.dumps(to_string(value)))
        elif kind == "d":
            out.append(("%" + verb) % int(to_number(value)))
        elif kind == "t":
            out.append("true" if to_bool(value) else "false")
        else:
            out.append(("%" + verb) % to_number(value))
    out.append(spec[pos:])
    return bounded_join(out, "format()")


def _flatten(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise EvalError("flatten() takes a list")
    out: list[Any] = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _cidrsubnet(prefix: Any, newbits: Any, netnum: Any) -> str:
    try:
        network = ipaddress.ip_network(to_string(prefix), strict=False)
    except ValueError as exc:
        raise EvalError(f"cidrsubnet(): {exc}") from None
    new_length = network.prefixlen + int(to_number(newbits))
    if new_length > network.max_prefixlen:
        raise EvalError(f"cidrsubnet(): {quote(prefix)} has no room for {newbits} more bits")
    number = int(to_number(netnum))
    if not 0 <= number < 2 ** int(to_number(newbits)):
        raise EvalError(f"cidrsubnet(): netnum {quote(netnum)} does not fit in {newbits} bits")
    base = int(network.network_address) + (number << (network.max_prefixlen - new_length))
    address = ipaddress.ip_address(base) if network.version == 4 else ipaddress.IPv6Address(base)
    return f"{address}/{new_length}"


def _cidrhost(prefix: Any, hostnum: Any) -> str:
    try:
        network = ipaddress.ip_network(to_string(prefix), strict=False)
    except ValueError as exc:
        raise EvalError(f"cidrhost(): {exc}") from None
    number = int(to_number(hostnum))
    size = network.num_addresses
    if number < 0:
        number += size
    if not 0 <= number < size:
        raise EvalError(f"cidrhost(): host number {quote(hostnum)} is outside {quote(prefix)}")
    return str(network.network_address + number)


def _lookup(args: list[Any]) -> Any:
    _args("lookup", args, 2, 3)
    mapping, key = args[0], to_string(args[1])
    if not isinstance(mapping, dict):
        raise EvalError("lookup() takes a map")
    if key in mapping:
        return mapping[key]
    if len(args) == 3:
        return args[2]
    raise EvalError(f"lookup(): key {quote(key)} is not in the map and there is no default")


def _element(items: Any, index: Any) -> Any:
    if not isinstance(items, list) or not items:
        raise EvalError("element() takes a non-empty list")
    return items[int(to_number(index)) % len(items)]


def _replace(text: Any, old: Any, new: Any) -> str:
    subject, find, put = to_string(text), to_string(old), to_string(new)
    if find and put and len(put) > len(find):
        grown = len(subject) + subject.count(find) * (len(put) - len(find))
        if grown > MAX_VALUE_CHARS:
            raise LimitError(
                f"replace() makes a value of {grown:,} characters: the limit of one evaluated "
                f"value is {MAX_VALUE_CHARS:,} characters (1 MiB)"
            )
    pattern = to_string(old)
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        raise NotEvaluated("replace() with a regular expression")
    return to_string(text).replace(pattern, to_string(new))


def _merge(args: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arg in args:
        if arg is None:
            continue
        if not isinstance(arg, dict):
            raise EvalError("merge() takes maps or objects")
        out.update(arg)
    return out


def _coalesce(args: list[Any]) -> Any:
    for arg in args:
        if arg is not None and arg != "":
            return arg
    raise EvalError("coalesce(): no non-null, non-empty argument")


def _slice(items: Any, start: Any, end: Any) -> list[Any]:
    if not isinstance(items, list):
        raise EvalError("slice() takes a list")
    return items[int(to_number(start)) : int(to_number(end))]


def _range(args: list[Any]) -> list[Any]:
    _args("range", args, 1, 3)
    numbers = [to_number(a) for a in args]
    start: int | float = 0
    step: int | float = 1
    if len(numbers) == 1:
        stop = numbers[0]
    elif len(numbers) == 2:
        start, stop = numbers
        if start > stop:  # Terraform counts down when start is above the limit
            step = -1
    else:
        start, stop, step = numbers
    if step == 0:
        raise EvalError("range(): step must not be zero")
    out: list[Any] = []
    value = start
    while (step > 0 and value < stop) or (step < 0 and value > stop):
        out.append(value)
        value += step
        if len(out) > 1024:
            raise EvalError("range() is limited to 1024 elements")
    return out


def _tomap(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EvalError("tomap() takes an object or map")
    keys = list(value)
    return dict(zip(keys, _unify("tomap", [value[k] for k in keys]), strict=True))


def _tolist(value: Any, name: str = "tolist") -> list[Any]:
    if not isinstance(value, list):
        raise EvalError(f"{name}() takes a list, set or tuple, not {type_name(value)}")
    return _unify(name, list(value))


def _unify(name: str, values: list[Any]) -> list[Any]:
    """The elements converted to one type, as Terraform converts a tuple or object to a
    list, set or map: strings with numbers or bools make every element a string; numbers
    with bools, or primitives with collections, have no common type."""
    kinds = {
        "string"
        if isinstance(v, str)
        else "bool"
        if isinstance(v, bool)
        else "number"
        if isinstance(v, (int, float))
        else "collection"
        for v in values
        if v is not None
    }
    if len(kinds) <= 1:
        return values
    if "collection" in kinds:
        if kinds == {"collection"}:
            return values
        raise EvalError(f"{name}(): the elements have no common type (collections and primitives)")
    if "string" in kinds:
        return [None if v is None else to_string(v) for v in values]
    raise EvalError(f"{name}(): the elements have no common type (numbers and bools)")


def _jsondecode(text: Any) -> Any:
    try:
        return json_loads(to_string(text), None)
    except json.JSONDecodeError as exc:
        raise EvalError(f"jsondecode(): {exc.msg}") from None
    except ConfigError as exc:
        raise EvalError(f"jsondecode(): {exc.message}") from None


def _zipmap(keys: Any, values: Any) -> dict[str, Any]:
    if not isinstance(keys, list) or not isinstance(values, list) or len(keys) != len(values):
        raise EvalError("zipmap() takes two lists of the same length")
    return {to_string(k): v for k, v in zip(keys, values, strict=True)}


class NotEvaluated(Exception):
    """A function acl does not evaluate offline."""


FUNCTIONS: dict[str, _Function] = {
    "tostring": _fn("tostring", 1, lambda v: None if v is None else to_string(v)),
    "tonumber": _fn("tonumber", 1, lambda v: None if v is None else to_number(v)),
    "tobool": _fn("tobool", 1, lambda v: None if v is None else to_bool(v)),
    "tolist": _fn("tolist", 1, _tolist),
    "toset": _fn("toset", 1, lambda v: to_set(_tolist(v, "toset"))),
    "tomap": _fn("tomap", 1, _tomap),
    "concat": lambda args: [item for arg in args for item in _tolist(arg)],
    "flatten": _fn("flatten", 1, _flatten),
    "distinct": _fn("distinct", 1, lambda v: distinct(_tolist(v))),
    "compact": _fn("compact", 1, lambda v: [x for x in _tolist(v) if x not in (None, "")]),
    "join": _fn(
        "join",
        2,
        lambda sep, v: bounded_join((to_string(x) for x in _tolist(v)), "join()", to_string(sep)),
    ),
    "split": _fn("split", 2, lambda sep, v: to_string(v).split(to_string(sep))),
    "format": lambda args: (
        _format(to_string(args[0]), args[1:]) if args else _args("format", args, 1)
    ),
    "formatlist": lambda args: _formatlist(args),
    "lower": _fn("lower", 1, lambda v: to_string(v).lower()),
    "upper": _fn("upper", 1, lambda v: to_string(v).upper()),
    "trimspace": _fn("trimspace", 1, lambda v: to_string(v).strip()),
    "trim": _fn("trim", 2, lambda v, chars: to_string(v).strip(to_string(chars))),
    "trimprefix": _fn("trimprefix", 2, lambda v, p: to_string(v).removeprefix(to_string(p))),
    "trimsuffix": _fn("trimsuffix", 2, lambda v, s: to_string(v).removesuffix(to_string(s))),
    "replace": _fn("replace", 3, _replace),
    "substr": _fn(
        "substr",
        3,
        lambda v, o, n: to_string(v)[int(to_number(o)) :][
            : (None if int(to_number(n)) < 0 else int(to_number(n)))
        ],
    ),
    "length": _fn(
        "length", 1, lambda v: len(v) if isinstance(v, (str, list, dict)) else len(to_string(v))
    ),
    "lookup": _lookup,
    "merge": _merge,
    "coalesce": _coalesce,
    "coalescelist": lambda args: next((a for a in args if a), []),
    "element": _fn("element", 2, _element),
    "keys": _fn("keys", 1, lambda v: sorted(_tomap(v))),
    "values": _fn("values", 1, lambda v: [_tomap(v)[k] for k in sorted(v)]),
    "contains": _fn("contains", 2, lambda v, x: x in _tolist(v)),
    "slice": _fn("slice", 3, _slice),
    "reverse": _fn("reverse", 1, lambda v: list(reversed(_tolist(v)))),
    "sort": _fn("sort", 1, lambda v: sorted(to_string(x) for x in _tolist(v))),
    "range": _range,
    "zipmap": _fn("zipmap", 2, _zipmap),
    "max": lambda args: max(to_number(a) for a in args),
    "min": lambda args: min(to_number(a) for a in args),
    "abs": _fn("abs", 1, lambda v: abs(to_number(v))),
    "cidrsubnet": _fn("cidrsubnet", 3, _cidrsubnet),
    "cidrhost": _fn("cidrhost", 2, _cidrhost),
    "jsondecode": _fn("jsondecode", 1, _jsondecode),
}
"""The functions evaluated offline: pure and exact. Everything else (``file()``,
``timestamp()``, ``uuid()``, regular expressions, provider functions) needs Terraform."""


def _formatlist(args: list[Any]) -> list[str]:
    if not args:
        _args("formatlist", args, 1, 99)
    spec = to_string(args[0])
    lists = [a for a in args[1:] if isinstance(a, list)]
    length = len(lists[0]) if lists else 1
    out: list[str] = []
    total = 0
    for i in range(length):
        out.append(_format(spec, [a[i] if isinstance(a, list) else a for a in args[1:]]))
        total += len(out[-1])
        if total > MAX_VALUE_CHARS:
            raise LimitError(
                f"formatlist() makes values of more than {MAX_VALUE_CHARS:,} characters: the "
                f"limit of one evaluated value is {MAX_VALUE_CHARS:,} characters (1 MiB)"
            )
    return out

"""ARM template expressions, evaluated offline where that is exact.

``parameters('x')`` and ``variables('x')`` (from defaults, a parameters file or ``--param``),
``concat()``, ``format()``, ``length()``, ``copyIndex()`` inside the copy loops acl expands
(variable, property and resource iteration), and ``resourceId()`` where a site is named by its
id, with property access (``.name``, ``[0]``). Any other function is :class:`Unsupported`, which
the template loader turns into an error naming the JSON path and the expression.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Origin
from ._limits import (
    MAX_DEPTH,
    MAX_VALUE_CHARS,
    MAX_VALUE_ITEMS,
    LimitError,
    checked,
    json_loads,
    quote,
    step,
)
from .options import LoadOptions
from .restrictions import Context

__all__ = ["NO_LOOPS", "Loops", "Resolver", "Unsupported", "parameter_values"]


_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>[(),.\[\]]))"
)


class Unsupported(Exception):
    """An expression acl cannot evaluate offline; carries the function name."""


@dataclass(frozen=True, slots=True)
class Loops:
    """The copy loops being expanded where a value stands (see :meth:`Resolver.loops`)."""

    indexes: tuple[tuple[str, int], ...] = ()
    resource: str | None = None


NO_LOOPS = Loops()


@dataclass
class Resolver:
    """Evaluates template expressions against parameter and variable values."""

    ctx: Context
    parameters: dict[str, Any]
    variable_defs: Mapping[str, Any]
    variables: dict[str, Any] = field(default_factory=dict)
    _resolving: set[str] = field(default_factory=set)
    on_warning: Callable[[str], None] | None = None
    copy_indexes: dict[str, int] = field(default_factory=dict)
    """The index of each copy loop being expanded, by lowercased loop name."""
    resource_loop: str | None = None
    """The lowercased name of the resource copy loop being expanded: ``copyIndex()`` without
    a name means its index."""
    resource_ids: bool = False
    """Whether ``resourceId()`` is evaluated: only where a site is named by its id (a private
    endpoint's target, an App Service Environment), as ``/subscriptions/*/resourceGroups/*/
    providers/TYPE/NAME``: the subscription and resource group are not known offline."""

    def loops(self) -> Loops:
        """The copy loops being expanded now, to resolve a deferred value under them later."""
        return Loops(tuple(self.copy_indexes.items()), self.resource_loop)

    @contextmanager
    def within(self, loops: Loops) -> Iterator[None]:
        """Resolve under ``loops`` (from :meth:`loops`), then restore the loops of now."""
        saved = self.copy_indexes, self.resource_loop
        self.copy_indexes, self.resource_loop = dict(loops.indexes), loops.resource
        try:
            yield
        finally:
            self.copy_indexes, self.resource_loop = saved

    def resource_copies(self, copy: Any, path: str) -> Iterator[int]:
        """Expand a resource ``copy`` element (``{"name", "count", "mode", "batchSize"}``):
        yields each index with ``copyIndex()`` and ``copyIndex(name)`` set to it."""
        if not isinstance(copy, Mapping):
            raise ConfigError(
                f"resource copy {quote(copy)} is not valid: expected an object with name and count",
                self.ctx.origin(path),
            )
        keys = {str(k).lower(): k for k in copy}
        missing = [k for k in ("name", "count") if k not in keys]
        if missing:
            raise ConfigError(
                f"resource copy has no {missing[0]}: a resource copy loop needs name and count",
                self.ctx.origin(path),
            )
        name = self.resolve(copy[keys["name"]], f"{path}.name")
        if not isinstance(name, str) or not name:
            raise ConfigError(
                f"copy name {quote(name)} is not valid: expected a string",
                self.ctx.origin(f"{path}.name"),
            )
        count = self._count(self.resolve(copy[keys["count"]], f"{path}.count"), f"{path}.count")
        loop = name.lower()
        if loop in self.copy_indexes:
            raise ConfigError(
                f"copy loop {quote(name)} is nested in a loop of the same name",
                self.ctx.origin(path),
            )
        outer = self.resource_loop
        try:
            for index in range(count):
                self.copy_indexes[loop] = index
                self.resource_loop = loop
                yield index
        finally:
            self.copy_indexes.pop(loop, None)
            self.resource_loop = outer

    def _count(self, count: Any, path: str) -> int:
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 800:
            raise ConfigError(
                f"copy count {quote(count)} is not valid: ARM takes an integer from 0 to 800",
                self.ctx.origin(path),
            )
        return count

    def warn(self, message: str) -> None:
        if self.on_warning is not None:
            self.on_warning(message)

    def resolve_ids(self, value: Any, path: str) -> Any:
        """``resolve`` with ``resourceId()`` evaluated."""
        before = self.resource_ids
        self.resource_ids = True
        try:
            return self.resolve(value, path)
        finally:
            self.resource_ids = before

    def resolve(self, value: Any, path: str) -> Any:
        """``value`` with every expression string in it replaced by its value."""
        if isinstance(value, str):
            if value.startswith("[["):
                return value[1:]
            if value.startswith("[") and value.endswith("]"):
                return self._expression(value, path)
            return value
        if isinstance(value, list):
            items = [self.resolve(item, f"{path}[{i}]") for i, item in enumerate(value)]
            return self._checked(items, "an array", path)
        if isinstance(value, Mapping):
            members = {
                k: self.resolve(v, f"{path}.{k}")
                for k, v in value.items()
                if not (k.lower() == "copy" and isinstance(v, list))
            }
            for k, v in value.items():
                if k.lower() == "copy" and isinstance(v, list):  # property iteration
                    for index, entry in enumerate(v):
                        name, items = self.copy_loop(entry, f"{path}.{k}[{index}]")
                        members[name] = items
            return self._checked(members, "an object", path)
        return value

    def copy_loop(self, entry: Any, path: str) -> tuple[str, list[Any]]:
        """A ``copy`` element of a variable or a property: ``{"name", "count", "input"}``
        makes the array ``name`` of ``count`` values of ``input``, each with
        ``copyIndex(name)`` set to its index."""
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"copy element {quote(entry)} is not valid: expected an object with name, count "
                "and input",
                self.ctx.origin(path),
            )
        keys = {str(k).lower(): k for k in entry}
        missing = [k for k in ("name", "count", "input") if k not in keys]
        if missing:
            raise ConfigError(
                f"copy element has no {missing[0]}: a variable or property copy loop needs name, "
                "count and input",
                self.ctx.origin(path),
            )
        name = self.resolve(entry[keys["name"]], f"{path}.name")
        if not isinstance(name, str) or not name:
            raise ConfigError(
                f"copy name {quote(name)} is not valid: expected a string", self.ctx.origin(path)
            )
        count = self._count(self.resolve(entry[keys["count"]], f"{path}.count"), f"{path}.count")
        loop = name.lower()
        if loop in self.copy_indexes:
            raise ConfigError(
                f"copy loop {quote(name)} is nested in a loop of the same name",
                self.ctx.origin(path),
            )
        items: list[Any] = []
        try:
            for index in range(count):
                self.copy_indexes[loop] = index
                items.append(self.resolve(entry[keys["input"]], f"{path}.input"))
        finally:
            self.copy_indexes.pop(loop, None)
        return name, self._checked(items, "an array", path)

    def _checked(self, value: Any, construct: str, path: str) -> Any:
        try:
            return checked(value, construct)
        except LimitError as exc:
            raise ConfigError(exc.message, self.ctx.origin(path)) from None

    def _expression(self, text: str, path: str) -> Any:
        try:
            step("a template expression")
            tokens = self._tokens(text[1:-1])
            value, rest = self._parse(tokens, path)
            if rest:
                raise SyntaxError("unexpected text after the expression")
            return value
        except LimitError as exc:
            raise ConfigError(
                f"template expression {quote(text)}: {exc.message}", self.ctx.origin(path)
            ) from None
        except Unsupported as exc:
            raise ConfigError(
                f"template expression {quote(text)} uses {exc}(), which acl cannot evaluate offline: "
                "only parameters(), variables(), concat(), format(), length(), add(), sub(), mul(), if(), equals(), not(), and(), or(), toLower(), toUpper() and copyIndex() are resolved; "
                "give the value directly or through a parameter",
                self.ctx.origin(path),
            ) from None
        except (SyntaxError, IndexError) as exc:
            raise ConfigError(
                f"template expression {quote(text)} cannot be parsed: {exc}",
                self.ctx.origin(path),
            ) from None
        except (ValueError, TypeError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(
                f"template expression {quote(text)} has a function called with the wrong arguments "
                f"({exc})",
                self.ctx.origin(path),
            ) from None

    @staticmethod
    def _tokens(text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise SyntaxError(f"unexpected character at {quote(text[pos:])}")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        return tokens

    def _parse(
        self, tokens: list[tuple[str, str]], path: str, depth: int = 0
    ) -> tuple[Any, list[tuple[str, str]]]:
        if depth >= MAX_DEPTH:
            raise LimitError(f"function calls are nested more than {MAX_DEPTH} levels deep")
        step("a template expression", len(tokens) // 8 + 1)  # each call copies the rest
        kind, text = tokens[0]
        rest = tokens[1:]
        if kind == "string":
            return text[1:-1].replace("''", "'"), rest
        if kind == "number":
            return int(text), rest
        if kind == "name" and text.lower() in ("true", "false") and (not rest or rest[0][1] != "("):
            return text.lower() == "true", rest
        if kind != "name" or not rest or rest[0][1] != "(":
            raise SyntaxError(f"expected a function call at {quote(text)}")
        rest = rest[1:]
        args: list[Any] = []
        while rest[0][1] != ")":
            arg, rest = self._parse(rest, path, depth + 1)
            args.append(arg)
            if rest[0][1] == ",":
                rest = rest[1:]
            elif rest[0][1] != ")":
                raise SyntaxError(f"expected ',' or ')' at {quote(rest[0][1])}")
        rest = rest[1:]
        value = checked(self._call(text, args, path), f"{text}()")
        while rest and rest[0][1] in (".", "["):
            if rest[0][1] == ".":
                key = rest[1][1]
                value = self._member(value, key, path)
                rest = rest[2:]
            else:
                index, rest = self._parse(rest[1:], path, depth + 1)
                if not rest or rest[0][1] != "]":
                    raise SyntaxError("expected ']'")
                value = self._member(value, index, path)
                rest = rest[1:]
        return value, rest

    def _member(self, value: Any, key: Any, path: str) -> Any:
        try:
            if isinstance(value, Mapping):
                for name in value:
                    if str(name).lower() == str(key).lower():
                        return value[name]
                raise KeyError(key)
            return value[key]
        except (KeyError, IndexError, TypeError):
            raise ConfigError(
                f"template value {quote(value)} has no member {quote(key)}", self.ctx.origin(path)
            ) from None

    def _call(self, name: str, args: list[Any], path: str) -> Any:
        functions: dict[str, Callable[[list[Any], str], Any]] = {
            "parameters": self._parameter,
            "variables": self._variable,
            "concat": self._concat,
            "format": self._format,
            "copyindex": self._copy_index,
            "length": self._length,
            "if": _if,
            "equals": _equals,
            "not": lambda args, path: not _booleans("not", args, 1)[0],
            "and": lambda args, path: all(_booleans("and", args, 2)),
            "or": lambda args, path: any(_booleans("or", args, 2)),
            "tolower": lambda args, path: _string("toLower", args).lower(),
            "toupper": lambda args, path: _string("toUpper", args).upper(),
            "add": lambda args, path: _integers("add", args),
            "sub": lambda args, path: _integers("sub", args),
            "mul": lambda args, path: _integers("mul", args),
        }
        if self.resource_ids:
            functions["resourceid"] = self._resource_id
        function = functions.get(name.lower())
        if function is None:
            raise Unsupported(name)
        return function(args, path)

    def _parameter(self, args: list[Any], path: str) -> Any:
        (name,) = args
        for key, value in self.parameters.items():
            if key.lower() == str(name).lower():
                if value is _MISSING:
                    raise ConfigError(
                        f"template parameter {quote(name)} has no value: give it a defaultValue, "
                        "a parameters file (--parameters) or --param NAME=VALUE",
                        self.ctx.origin(path),
                    )
                if isinstance(value, _Default):
                    # Defaults are resolved only when used, so an unused or overridden
                    # default such as [resourceGroup().location] does not matter.
                    marker = f"parameters.{key}"
                    if marker in self._resolving:
                        raise ConfigError(
                            f"template parameter {quote(name)} refers to itself",
                            self.ctx.origin(path),
                        )
                    self._resolving.add(marker)
                    value = self.resolve(value.value, f"$.parameters.{key}.defaultValue")
                    self._resolving.discard(marker)
                    self.parameters[key] = value
                return value
        raise ConfigError(
            f"template parameter {quote(name)} is not declared", self.ctx.origin(path)
        )

    def _copy_index(self, args: list[Any], path: str) -> Any:
        if args and isinstance(args[0], str):
            name, *rest = args
            loop = name.lower()
        else:
            rest, loop = args, self.resource_loop
            if loop is None:
                raise ConfigError(
                    "copyIndex() without a loop name is only valid in a resource copy loop; in "
                    "a variable or property copy loop, name the loop: copyIndex('name') or "
                    "copyIndex('name', offset)",
                    self.ctx.origin(path),
                )
            name = loop
        offset = rest[0] if rest else 0
        if len(rest) > 1 or isinstance(offset, bool) or not isinstance(offset, int):
            raise ValueError("copyIndex takes an optional loop name and an optional integer offset")
        index = self.copy_indexes.get(loop)
        if index is None:
            raise ConfigError(
                f"copyIndex({quote(name)}) is outside a copy loop of that name",
                self.ctx.origin(path),
            )
        return index + offset

    @staticmethod
    def _length(args: list[Any], path: str) -> Any:
        (value,) = args
        if isinstance(value, str):  # .NET's String.Length: UTF-16 code units
            return len(value.encode("utf-16-le")) // 2
        if isinstance(value, (list, Mapping)):
            return len(value)
        raise ValueError(f"length() takes an array, a string or an object, not {quote(value)}")

    def _variable(self, args: list[Any], path: str) -> Any:
        (name,) = args
        key = next(
            (
                k
                for k in self.variable_defs
                if k.lower() == str(name).lower()
                and not (k.lower() == "copy" and isinstance(self.variable_defs[k], list))
            ),
            None,
        )
        if key is None:
            loops = next((v for k, v in self.variable_defs.items() if k.lower() == "copy"), None)
            if isinstance(loops, list):
                for index, entry in enumerate(loops):
                    entry_name = entry.get("name") if isinstance(entry, Mapping) else None
                    if isinstance(entry_name, str) and entry_name.lower() == str(name).lower():
                        marker = f"variables.copy.{entry_name.lower()}"
                        if marker not in self.variables:
                            if marker in self._resolving:
                                raise ConfigError(
                                    f"template variable {quote(name)} refers to itself",
                                    self.ctx.origin(path),
                                )
                            self._resolving.add(marker)
                            _, items = self.copy_loop(entry, f"$.variables.copy[{index}]")
                            self._resolving.discard(marker)
                            self.variables[marker] = items
                        return self.variables[marker]
            raise ConfigError(
                f"template variable {quote(name)} is not declared", self.ctx.origin(path)
            )
        if key not in self.variables:
            if f"variables.{key}" in self._resolving:
                raise ConfigError(
                    f"template variable {quote(name)} refers to itself", self.ctx.origin(path)
                )
            self._resolving.add(f"variables.{key}")
            self.variables[key] = self.resolve(self.variable_defs[key], f"$.variables.{key}")
            self._resolving.discard(f"variables.{key}")
        return self.variables[key]

    @staticmethod
    def _resource_id(args: list[Any], path: str) -> Any:
        texts = [_text(arg) for arg in args]
        kinds = [i for i, text in enumerate(texts) if "/" in text]
        if not kinds:
            raise ValueError("resourceId() needs a resource type such as 'Microsoft.Web/sites'")
        at = kinds[0]
        scope = texts[:at]
        subscription = scope[0] if len(scope) == 2 else "*"
        group = scope[-1] if scope else "*"
        kind = texts[at].split("/")
        names = texts[at + 1 :]
        if len(names) != len(kind) - 1:
            raise ValueError(f"resourceId() of {texts[at]!r} needs {len(kind) - 1} name(s)")
        parts = [kind[0], kind[1]]
        for child, name in zip(kind[2:], names[1:], strict=True):
            parts += [child]
            parts += [name]
        parts.insert(2, names[0])
        return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/" + "/".join(parts)

    @staticmethod
    def _concat(args: list[Any], path: str) -> Any:
        if args and all(isinstance(arg, list) for arg in args):
            _bounded_sum((len(arg) for arg in args), "concat()", "list elements")
            return [item for arg in args for item in arg]
        pieces = [_text(arg) for arg in args]
        _bounded_sum((len(piece) for piece in pieces), "concat()", "characters")
        return "".join(pieces)

    @staticmethod
    def _format(args: list[Any], path: str) -> Any:
        template, *values = args
        texts: dict[int, str] = {}
        length = 0

        def value(match: re.Match[str]) -> str:
            nonlocal length
            index = int(match.group(1))
            if index not in texts:
                texts[index] = _text(values[index])
            length += len(texts[index])
            if length > MAX_VALUE_CHARS:
                raise LimitError(
                    f"format() makes a value of more than {MAX_VALUE_CHARS:,} characters: the "
                    f"limit of one evaluated value is {MAX_VALUE_CHARS:,} characters (1 MiB)"
                )
            return texts[index]

        return re.sub(r"\{(\d+)\}", value, str(template))


def _if(args: list[Any], path: str) -> Any:
    """``if(condition, then, else)``. Both branches are evaluated here, so one that acl cannot
    evaluate is refused even when it is not chosen."""
    if len(args) != 3 or not isinstance(args[0], bool):
        raise ValueError("if() takes a boolean condition and two values")
    return args[1] if args[0] else args[2]


def _equals(args: list[Any], path: str) -> bool:
    """``equals(a, b)`` of two strings (case-sensitive, as ARM compares them), integers or
    booleans; arrays and objects are refused rather than compared by guess."""
    if len(args) != 2:
        raise ValueError("equals() takes two values")
    first, second = args
    if any(not isinstance(a, (str, int)) for a in args):
        raise ValueError("equals() of arrays or objects is not evaluated; compare their members")
    if isinstance(first, bool) != isinstance(second, bool):
        return False
    return bool(first == second and type(first) is type(second))


def _booleans(name: str, args: list[Any], least: int) -> list[bool]:
    if len(args) < least or (name == "not" and len(args) != 1):
        raise ValueError(f"{name}() takes {'one' if name == 'not' else 'two or more'} booleans")
    if any(not isinstance(a, bool) for a in args):
        raise ValueError(f"{name}() takes booleans, not {', '.join(quote(a) for a in args)}")
    return [bool(a) for a in args]


def _string(name: str, args: list[Any]) -> str:
    if len(args) != 1 or not isinstance(args[0], str):
        raise ValueError(f"{name}() takes one string")
    return str(args[0])


def _integers(name: str, args: list[Any]) -> int:
    """``add()``, ``sub()`` or ``mul()`` of two integers (Bicep writes ``900 + i`` as
    ``add(900, copyIndex(...))``), in ARM's 64-bit range."""
    if len(args) != 2 or any(isinstance(a, bool) or not isinstance(a, int) for a in args):
        raise ValueError(f"{name}() takes two integers, not {', '.join(quote(a) for a in args)}")
    first, second = int(args[0]), int(args[1])
    value = first + second if name == "add" else first - second if name == "sub" else first * second
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{name}() overflows ARM's 64-bit integers")
    return value


def _bounded_sum(lengths: Any, construct: str, what: str) -> None:
    total = 0
    limit = MAX_VALUE_CHARS if what == "characters" else MAX_VALUE_ITEMS
    for length in lengths:
        total += length
        if total > limit:
            raise LimitError(
                f"{construct} makes a value of more than {limit:,} {what}, the limit of one "
                "evaluated value"
            )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


@dataclass(frozen=True)
class _Default:
    """A parameter's defaultValue, resolved when first used."""

    value: Any


class _Missing:
    def __repr__(self) -> str:
        return "<no value>"


_MISSING: Any = _Missing()


# ---------------------------------------------------------------------------- parameters


def _coerce(name: str, value: Any, declared: Mapping[str, Any], origin: Origin) -> Any:
    """A ``--param`` string turned into the declared type."""
    kind = str(declared.get("type", "string")).lower()
    if not isinstance(value, str) or kind in ("string", "securestring"):
        return value
    try:
        parsed = json_loads(value, None)
    except json.JSONDecodeError:
        raise ConfigError(
            f"--param {name}={quote(value)}: parameter {quote(name)} is of type {kind}: "
            "expected JSON",
            origin,
        ) from None
    return parsed


def parameter_values(
    document: Mapping[str, Any], options: LoadOptions, ctx: Context
) -> dict[str, Any]:
    declared = document.get("parameters") or {}
    if not isinstance(declared, Mapping):
        raise ConfigError("parameters must be an object", ctx.origin("$.parameters"))
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        has_default = isinstance(spec, Mapping) and "defaultValue" in spec
        values[name] = _Default(spec["defaultValue"]) if has_default else _MISSING
    if options.parameters_file is not None:
        file = str(options.parameters_file)
        try:
            given = json_loads(Path(file).read_text(encoding="utf-8-sig"), file)
        except OSError as exc:
            raise ConfigError(
                f"cannot read parameters file: {exc.strerror or exc}", Origin(file=file)
            ) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not UTF-8 text: {exc.reason}", Origin(file=file)) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON: {exc.msg}", Origin(file=file, line=exc.lineno, column=exc.colno)
            ) from None
        entries = given.get("parameters") if isinstance(given, Mapping) else None
        if not isinstance(entries, Mapping):
            raise ConfigError(
                "expected a deployment parameters file with a 'parameters' object",
                Origin(file=file, path="$"),
            )
        for name, entry in entries.items():
            if not isinstance(entry, Mapping) or "value" not in entry:
                raise ConfigError(
                    'expected {"value": ...} (Key Vault references cannot be resolved offline)',
                    Origin(file=file, path=f"$.parameters.{name}"),
                )
            values[
                _declared_name(name, declared, Origin(file=file, path=f"$.parameters.{name}"))
            ] = entry["value"]
    for name, value in options.parameters.items():
        origin = Origin(path=f"--param {name}")
        key = _declared_name(name, declared, origin)
        spec = declared.get(key)
        values[key] = _coerce(name, value, spec if isinstance(spec, Mapping) else {}, origin)
    return values


def _declared_name(name: str, declared: Mapping[str, Any], origin: Origin) -> str:
    for key in declared:
        if key.lower() == name.lower():
            return str(key)
    raise ConfigError(
        f"parameter {quote(name)} is not declared by the template "
        f"(it declares: {', '.join(sorted(declared)) or 'none'})",
        origin,
    )

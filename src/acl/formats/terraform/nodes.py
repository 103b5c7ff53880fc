"""Block readers: one interface (:class:`Node`) over an HCL block (:class:`HclNode`, with
``dynamic`` blocks expanded), a ``.tf.json`` object (:class:`JsonNode`), an object of
``terraform show -json`` (:class:`DictNode`) and a block with an override file's merged
into it (:class:`MergedNode`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ...errors import ConfigError, Origin, quote
from ...located_json import line_in
from .evaluator import Evaluator, JsonValue
from .hcl_errors import EvalError, NeedsPlan
from .syntax import Body, HclFile, attributes, blocks
from .values import Scope, type_name

# ---------------------------------------------------------------------------- block readers


class Node:
    """A block (or an object standing for one) whose attributes can be read."""

    file: str | None
    line: int | None
    path: str

    def _place(
        self, scope: Scope, file: HclFile, evaluator: Evaluator, line: int | None, path: str
    ) -> None:
        self.scope = scope
        self.hcl = file
        self.file = file.name
        self.evaluator = evaluator
        self.line = line
        self.path = path

    def value(self, name: str) -> Any:
        raise NotImplementedError

    def children(self, name: str) -> list[Node | Skipped]:
        raise NotImplementedError

    def attribute_line(self, name: str) -> int | None:
        return self.line

    def attribute_file(self, name: str) -> str | None:
        """The file an attribute's value is written in (an override file's, when merged)."""
        return self.file

    def defines(self, name: str) -> bool:
        """Whether the block sets ``name``, as an attribute or as blocks (``dynamic`` too)."""
        raise NotImplementedError

    def names(self) -> list[tuple[str, str, int | None]]:
        """The attribute and block names the block sets: (name, "argument" or "block", line);
        a ``dynamic "x"`` block counts as a block ``x``."""
        raise NotImplementedError

    def origin(self, name: str | None = None) -> Origin:
        return Origin(
            file=self.file, line=self.line, path=f"{self.path}.{name}" if name else self.path
        )


@dataclass
class Skipped:
    """Blocks of a ``dynamic`` block whose ``for_each`` needs a plan."""

    error: NeedsPlan
    file: str | None
    line: int | None
    path: str


class HclNode(Node):
    def __init__(
        self,
        body: Body,
        scope: Scope,
        file: HclFile,
        evaluator: Evaluator,
        line: int | None,
        path: str,
    ) -> None:
        self.body = body
        self._place(scope, file, evaluator, line, path)
        try:
            self._attributes = attributes(body)
        except EvalError as exc:
            raise ConfigError(
                exc.message, Origin(file=file.name, line=exc.line, path=path)
            ) from None

    def attribute_line(self, name: str) -> int | None:
        found = self._attributes.get(name)
        return found[1] if found else self.line

    def defines(self, name: str) -> bool:
        return name in self._attributes or any(
            block.type == name or (block.type == "dynamic" and block.labels[:1] == (name,))
            for block in blocks(self.body)
        )

    def names(self) -> list[tuple[str, str, int | None]]:
        found = [(name, "argument", line) for name, (_, line) in self._attributes.items()]
        for block in blocks(self.body):
            if block.type == "dynamic" and block.labels:
                found.append((block.labels[0], "block", block.line))
            else:
                found.append((block.type, "block", block.line))
        return found

    def value(self, name: str) -> Any:
        found = self._attributes.get(name)
        if found is None:
            return None
        expression, line = found
        try:
            return self.evaluator.evaluate(expression, self.scope, self.hcl)
        except NeedsPlan as exc:
            exc.line = exc.line or line
            exc.where = f"{self.path}.{name}"  # type: ignore[attr-defined]
            raise
        except EvalError as exc:
            raise ConfigError(
                exc.message,
                Origin(file=self.file, line=exc.line or line, path=f"{self.path}.{name}"),
            ) from None

    def children(self, name: str) -> list[Node | Skipped]:
        found: list[Node | Skipped] = []
        as_attribute = name in self._attributes
        has_blocks = False
        for block in blocks(self.body):
            if block.type == name:
                has_blocks = True
                found.append(
                    HclNode(block.body, self.scope, self.hcl, self.evaluator, block.line, self.path)
                )
            elif block.type == "dynamic" and block.labels[:1] == (name,):
                has_blocks = True
                found.extend(self._dynamic(name, block))
        if as_attribute:
            if has_blocks:
                raise ConfigError(
                    f"{name} is given both as an attribute and as blocks",
                    self.origin(name),
                )
            line = self.attribute_line(name)
            try:
                value = self.value(name)
            except NeedsPlan as exc:
                return [Skipped(exc, self.file, exc.line or line, f"{self.path}.{name}")]
            items = value if isinstance(value, list) else ([] if value is None else [value])
            for item in items:
                if not isinstance(item, dict):
                    raise ConfigError(
                        f"{name} element {quote(item)} is not valid: expected an object",
                        Origin(file=self.file, line=line, path=f"{self.path}.{name}"),
                    )
                found.append(DictNode(item, None, self.file, line, self.path))
        return found

    def _dynamic(self, name: str, block: Any) -> list[Node | Skipped]:
        try:
            spec = attributes(block.body)
        except EvalError as exc:
            raise ConfigError(exc.message, Origin(file=self.file, line=exc.line)) from None
        path = f"{self.path}.dynamic.{name}"
        where = Origin(file=self.file, line=block.line, path=path)
        if "for_each" not in spec:
            raise ConfigError(f'dynamic "{name}" has no for_each', where)
        iterator = name
        if "iterator" in spec:
            iterator_node, _ = spec["iterator"]
            iterator = self.hcl.source(iterator_node)
        contents = [b for b in blocks(block.body) if b.type == "content"]
        if len(contents) != 1:
            raise ConfigError(f'dynamic "{name}" needs exactly one content block', where)
        content = contents[0]
        try:
            collection = self.evaluator.evaluate(spec["for_each"][0], self.scope, self.hcl)
        except NeedsPlan as exc:
            exc.where = f"{path}.for_each"  # type: ignore[attr-defined]
            return [Skipped(exc, self.file, exc.line or block.line, path)]
        except EvalError as exc:
            raise ConfigError(exc.message, replace(where, line=exc.line or block.line)) from None
        if collection is None:
            return []
        if isinstance(collection, list):
            pairs: list[tuple[Any, Any]] = list(enumerate(collection))
        elif isinstance(collection, dict):
            pairs = [(key, collection[key]) for key in sorted(collection)]
        else:
            raise ConfigError(
                f'dynamic "{name}": for_each is a {type_name(collection)}, not a list, set or map',
                where,
            )
        found: list[Node | Skipped] = []
        for key, value in pairs:
            scope = {**self.scope, iterator: {"key": key, "value": value}}
            found.append(
                HclNode(content.body, scope, self.hcl, self.evaluator, content.line, self.path)
            )
        return found


class DictNode(Node):
    """An object from an attribute-syntax block list or from ``terraform show -json``;
    ``unknown`` mirrors it with ``true`` where the plan does not know the value yet."""

    def __init__(
        self, data: Mapping[str, Any], unknown: Any, file: str | None, line: int | None, path: str
    ) -> None:
        self.data = data
        self.unknown = unknown
        self.file = file
        self.line = line
        self.path = path

    def _unknown(self, name: str) -> Any:
        return self.unknown.get(name) if isinstance(self.unknown, Mapping) else None

    def defines(self, name: str) -> bool:
        return name in self.data

    def names(self) -> list[tuple[str, str, int | None]]:
        return [(str(name), "argument", self.line) for name in self.data]

    def value(self, name: str) -> Any:
        if self._unknown(name) is True:
            exc = NeedsPlan(
                "(known after apply)", "the plan has no value for it before apply", self.line
            )
            exc.where = f"{self.path}.{name}"  # type: ignore[attr-defined]
            raise exc
        return self.data.get(name)

    def children(self, name: str) -> list[Node | Skipped]:
        if self._unknown(name) is True:
            exc = NeedsPlan(
                "(known after apply)", "the plan has no value for it before apply", self.line
            )
            return [Skipped(exc, self.file, self.line, f"{self.path}.{name}")]
        items = self.data.get(name)
        if items is None:
            return []
        if isinstance(items, Mapping):
            items = [items]
        if not isinstance(items, list):
            raise ConfigError(
                f"{name} {quote(items)} is not valid: expected a list of objects",
                self.origin(name),
            )
        unknown = self._unknown(name)
        found: list[Node | Skipped] = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ConfigError(
                    f"{name} element {quote(item)} is not valid: expected an object",
                    self.origin(f"{name}[{index}]"),
                )
            sub = unknown[index] if isinstance(unknown, list) and index < len(unknown) else None
            found.append(DictNode(item, sub, self.file, self.line, f"{self.path}.{name}[{index}]"))
        return found


def json_objects(value: Any, file: str, line: int | None, what: str) -> list[Mapping[str, Any]]:
    """A block body in Terraform JSON: an object, or an array of objects."""
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        return list(value)
    raise ConfigError(
        f"{what} is {type_name(value)} {quote(value)}: expected an object or an array of objects",
        Origin(file=file, line=line),
    )


class JsonNode(Node):
    """A block of a ``.tf.json`` file: strings are templates, nested blocks are objects
    or arrays of objects, and ``dynamic`` blocks are expanded."""

    def __init__(
        self,
        data: Mapping[str, Any],
        scope: Scope,
        file: HclFile,
        evaluator: Evaluator,
        line: int | None,
        path: str,
    ) -> None:
        self.data = data
        self._place(scope, file, evaluator, line, path)

    def attribute_line(self, name: str) -> int | None:
        return line_in(self.data, name, self.line)

    def defines(self, name: str) -> bool:
        dynamic = self.data.get("dynamic")
        return (name in self.data and name != "//") or (
            isinstance(dynamic, Mapping) and name in dynamic
        )

    def names(self) -> list[tuple[str, str, int | None]]:
        found = [
            (name, "argument", self.attribute_line(name))
            for name in self.data
            if name not in ("//", "dynamic")
        ]
        dynamic = self.data.get("dynamic")
        if isinstance(dynamic, Mapping):
            found.extend((name, "block", line_in(dynamic, name, self.line)) for name in dynamic)
        elif "dynamic" in self.data:
            found.append(("dynamic", "argument", self.attribute_line("dynamic")))
        return found

    def value(self, name: str) -> Any:
        if name not in self.data:
            return None
        line = self.attribute_line(name)
        try:
            return self.evaluator.evaluate(JsonValue(self.data[name], line), self.scope, self.hcl)
        except NeedsPlan as exc:
            exc.line = exc.line or line
            exc.where = f"{self.path}.{name}"  # type: ignore[attr-defined]
            raise
        except EvalError as exc:
            raise ConfigError(
                exc.message,
                Origin(file=self.file, line=exc.line or line, path=f"{self.path}.{name}"),
            ) from None

    def children(self, name: str) -> list[Node | Skipped]:
        found: list[Node | Skipped] = []
        line = self.attribute_line(name)
        raw = self.data.get(name)
        if isinstance(raw, str):  # an expression whose value is a list of objects
            try:
                value = self.value(name)
            except NeedsPlan as exc:
                return [Skipped(exc, self.file, exc.line or line, f"{self.path}.{name}")]
            items = value if isinstance(value, list) else ([] if value is None else [value])
            for item in items:
                if not isinstance(item, dict):
                    raise ConfigError(
                        f"{name} element {quote(item)} is not valid: expected an object",
                        Origin(file=self.file, line=line, path=f"{self.path}.{name}"),
                    )
                found.append(DictNode(item, None, self.file, line, self.path))
        elif raw is not None:
            objects = json_objects(raw, self.hcl.name, line, name)
            for index, body in enumerate(objects):
                block_line = line_in(raw, index, line) if isinstance(raw, list) else line
                found.append(
                    JsonNode(body, self.scope, self.hcl, self.evaluator, block_line, self.path)
                )
        dynamic = self.data.get("dynamic")
        if isinstance(dynamic, Mapping) and name in dynamic:
            spec_line = line_in(dynamic, name, line)
            specs = json_objects(dynamic[name], self.hcl.name, spec_line, f'dynamic "{name}"')
            for index, spec in enumerate(specs):
                where = line_in(dynamic[name], index, spec_line)
                found.extend(self._dynamic(name, spec, where))
        return found

    def _dynamic(
        self, name: str, spec: Mapping[str, Any], line: int | None
    ) -> list[Node | Skipped]:
        path = f"{self.path}.dynamic.{name}"
        where = Origin(file=self.file, line=line, path=path)
        if "for_each" not in spec:
            raise ConfigError(f'dynamic "{name}" has no for_each', where)
        iterator = spec.get("iterator", name)
        if not isinstance(iterator, str):
            raise ConfigError(f'dynamic "{name}": iterator must be a name', where)
        content = spec.get("content")
        if not isinstance(content, Mapping):
            raise ConfigError(f'dynamic "{name}" needs a content object', where)
        content_line = line_in(spec, "content", line)
        each_line = line_in(spec, "for_each", line)
        try:
            collection = self.evaluator.evaluate(
                JsonValue(spec["for_each"], each_line), self.scope, self.hcl
            )
        except NeedsPlan as exc:
            exc.where = f"{path}.for_each"  # type: ignore[attr-defined]
            return [Skipped(exc, self.file, exc.line or each_line, path)]
        except EvalError as exc:
            raise ConfigError(exc.message, replace(where, line=exc.line or each_line)) from None
        if collection is None:
            return []
        if not isinstance(collection, (list, dict)):
            raise ConfigError(
                f'dynamic "{name}": for_each is a {type_name(collection)}, not a list, set or map',
                where,
            )
        pairs = (
            list(enumerate(collection))
            if isinstance(collection, list)
            else sorted(collection.items())
        )
        return [
            JsonNode(
                content,
                {**self.scope, iterator: {"key": key, "value": value}},
                self.hcl,
                self.evaluator,
                content_line,
                self.path,
            )
            for key, value in pairs
        ]


class MergedNode(Node):
    """A top-level block with an override file's block merged in, as Terraform merges them
    (``MergeBodies``): an attribute of the override replaces the original's, and a nested
    block type in the override (``dynamic`` blocks included) replaces all of the original's
    blocks of that type, with no merging inside nested blocks. Each value keeps the file and
    line it is written at."""

    def __init__(self, base: Node, override: Node) -> None:
        self.base = base
        self.override = override
        self.file = base.file
        self.line = base.line
        self.path = base.path

    def setter(self, name: str) -> Node:
        """The block whose ``name`` wins: the override's when it sets it."""
        return self.override if self.override.defines(name) else self.base

    def defines(self, name: str) -> bool:
        return self.override.defines(name) or self.base.defines(name)

    def names(self) -> list[tuple[str, str, int | None]]:
        return self.override.names() + [
            item for item in self.base.names() if not self.override.defines(item[0])
        ]

    def value(self, name: str) -> Any:
        return self.setter(name).value(name)

    def children(self, name: str) -> list[Node | Skipped]:
        return self.setter(name).children(name)

    def attribute_line(self, name: str) -> int | None:
        return self.setter(name).attribute_line(name)

    def attribute_file(self, name: str) -> str | None:
        return self.setter(name).attribute_file(name)

"""Reading configuration files: ``.tf`` and ``.tf.json`` files into :class:`ConfigFile`,
their top-level blocks (HCL or Terraform JSON) into a module's declarations, and the
files of a root module (a text, a file or a folder).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...errors import ConfigError, Origin, quote
from ...located_json import line_in, parse_document
from .._limits import (
    MAX_DEPTH,
    parse_int,
)
from ..options import LoadOptions
from .declarations import (
    META_ARGUMENTS,
    NO_DEFAULT,
    Blocks,
    Call,
    ConfigFile,
    Declared,
    Expression,
    Module,
    Resource,
    is_override,
    meta_of,
)
from .evaluator import Evaluator, JsonValue
from .hcl2_adapter import parse_hcl
from .hcl_errors import EvalError, HclSyntaxError, NeedsPlan
from .nodes import json_objects
from .syntax import Body, Expr, HclFile, attributes, blocks
from .typespec import TypeSpec, parse_type


def parse_file(name: str, text: str) -> HclFile:
    try:
        tree = parse_hcl(text)
    except HclSyntaxError as exc:
        raise ConfigError(
            exc.message, Origin(file=name, line=exc.line, column=exc.column)
        ) from None
    return HclFile(name, text, tree)


def load_file(path: Path, name: str | None = None) -> ConfigFile:
    label = name or str(path)
    text = read_text(path)
    override = is_override(path.name)
    if path.name.endswith(".json"):
        data = parse_document(text, label, MAX_DEPTH, parse_int)
        if not isinstance(data, Mapping):
            raise ConfigError("a Terraform JSON file holds one object", Origin(file=label, line=1))
        return ConfigFile(HclFile(label, text, Body()), data, override)
    return ConfigFile(parse_file(label, text), override=override)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(
            f"cannot read rules file: {exc.strerror or exc}", Origin(file=str(path))
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", Origin(file=str(path))) from None


def _type_from_text(text: Any, file: HclFile, line: int | None, name: str) -> TypeSpec:
    """A type constraint written as a JSON string (``"list(string)"``)."""
    if not isinstance(text, str):
        raise ConfigError(
            f'variable {quote(name)}: type must be a string such as "list(string)"',
            Origin(file=file.name, line=line),
        )
    source = "\n" * ((line or 1) - 1) + f"v = {text}\n"
    try:
        parsed = HclFile(file.name, source, parse_hcl(source))
        return parse_type(attributes(parsed.body)["v"][0], parsed)
    except (HclSyntaxError, EvalError, KeyError) as exc:
        message = getattr(exc, "message", str(exc))
        raise ConfigError(
            f"variable {quote(name)}: {message}", Origin(file=file.name, line=line)
        ) from None


def build_module(files: list[ConfigFile], label: str, folder: Path | None) -> Module:
    """A module from its files: the primary files' blocks, then the override files'
    merged into them, in name order and then in the order written, as Terraform does."""
    module = Module(label, folder, files)
    sink = Blocks(module)
    for source in [f for f in files if not f.override] + [f for f in files if f.override]:
        sink.override = source.override
        if source.data is not None:
            _json_module(source.hcl, source.data, sink)
        else:
            _hcl_module(source.hcl, sink)
    return module


def _hcl_module(file: HclFile, sink: Blocks) -> None:
    """The blocks of a ``.tf`` file."""
    for block in blocks(file.body):
        where = Origin(file=file.name, line=block.line)
        if block.type == "variable":
            if len(block.labels) != 1:
                raise ConfigError("a variable block takes one label, its name", where)
            sink.variable(_hcl_variable(block.labels[0], block.body, file, block.line))
            continue
        if block.type in ("moved", "import"):
            sink.refuse(block.type, file, block.line)
            continue
        _check_top_block(block.type, where)
        if block.type in ("resource", "data") and len(block.labels) != 2:
            raise ConfigError(
                f"a {block.type} block takes two labels, its type and its name "
                f"(it has {len(block.labels)})",
                where,
            )
        if block.type not in ("locals", "resource", "data", "output", "module"):
            continue
        try:
            found = attributes(block.body)
        except EvalError as exc:
            raise ConfigError(exc.message, replace(where, line=exc.line)) from None
        depends_on = found["depends_on"][1] if "depends_on" in found else None
        if block.type == "locals":
            for name, (expression, line) in found.items():
                sink.local(name, expression, file, line)
        elif block.type == "resource" and len(block.labels) == 2:
            sink.resource(
                Resource(block.labels[0], block.labels[1], file, block.line, body=block.body),
                depends_on,
            )
        elif block.type == "data" and len(block.labels) == 2:
            sink.data(block.labels[0], block.labels[1], file, block.line, depends_on)
        elif block.type == "output" and len(block.labels) == 1:
            sink.output(block.labels[0], found.get("value"), file, block.line, depends_on)
        elif block.type == "module" and len(block.labels) == 1:
            sink.call(_hcl_call(block.labels[0], found, file, block.line, sink.override))


def _hcl_variable(name: str, body: Body, file: HclFile, line: int | None) -> Declared:
    try:
        found = attributes(body)
    except EvalError as exc:
        raise ConfigError(exc.message, Origin(file=file.name, line=exc.line)) from None
    spec: TypeSpec | None = None
    if "type" in found:
        try:
            spec = parse_type(found["type"][0], file)
        except EvalError as exc:
            raise ConfigError(
                f"variable {quote(name)}: {exc.message}",
                Origin(file=file.name, line=found["type"][1]),
            ) from None
    literal = Evaluator({}, frozenset(), {})
    default: Any = NO_DEFAULT
    nullable = True
    for key in ("default", "nullable"):
        if key not in found:
            continue
        expression, where = found[key]
        try:
            value = literal.evaluate(expression, {}, file)
        except (EvalError, NeedsPlan) as exc:
            text = exc.message if isinstance(exc, EvalError) else exc.reason
            raise ConfigError(
                f"variable {quote(name)}: the {key} must be a literal value: {text}",
                Origin(file=file.name, line=where),
            ) from None
        if key == "default":
            default = value
        else:
            nullable = value is not False
    return Declared(name, file, line, spec, default, nullable, "nullable" in found)


def _hcl_call(
    name: str,
    found: dict[str, tuple[Expr, int | None]],
    file: HclFile,
    line: int | None,
    override: bool = False,
) -> Call:
    """A module block; in an override file, ``source`` may be left out."""
    where = Origin(file=file.name, line=line, path=f"module.{name}")
    arguments: dict[str, tuple[Expression, int | None]] = {
        k: v for k, v in found.items() if k not in META_ARGUMENTS
    }
    meta: dict[str, tuple[Expression, int | None]] = {
        k: v for k, v in found.items() if k in ("count", "for_each")
    }
    if "source" not in found:
        if override:
            return Call(name, "", file, line, arguments, meta, source_set=False)
        raise ConfigError(f'module "{name}" has no source', where)
    expression, source_line = found["source"]
    try:
        source = Evaluator({}, frozenset(), {}).evaluate(expression, {}, file)
    except (EvalError, NeedsPlan):
        source = None
    if not isinstance(source, str):
        raise ConfigError(
            f'module "{name}": source must be a literal string, not {file.source(expression)}',
            replace(where, line=source_line),
        )
    return Call(name, source, file, line, arguments, meta)


_TOP_BLOCKS = frozenset(
    {
        "terraform",
        "provider",
        "variable",
        "locals",
        "output",
        "module",
        "resource",
        "data",
        "moved",
        "import",
        "removed",
        "check",
        "ephemeral",
    }
)
"""The block types Terraform takes at the top level of a module file."""


def _check_top_block(kind: str, where: Origin) -> None:
    """A :class:`ConfigError` for a top-level block type Terraform does not have: a typo'd
    ``resourc`` would drop the resource, and its rules, silently."""
    if kind in _TOP_BLOCKS:
        return
    close = difflib.get_close_matches(kind, sorted(_TOP_BLOCKS), n=1, cutoff=0.6)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    raise ConfigError(
        f"unsupported block type {quote(kind)}: Terraform has no such top-level block and "
        f"`terraform validate` refuses it; {hint}fix or remove it",
        where,
    )


def _json_module(file: HclFile, data: Mapping[str, Any], sink: Blocks) -> None:
    """The blocks of a ``.tf.json`` file."""
    name = file.name
    for key in data:
        if key != "//":
            _check_top_block(key, Origin(file=name, line=line_in(data, key, 1), path=key))

    def labelled(kind: str) -> Iterator[tuple[str, Mapping[str, Any], int | None]]:
        """``{"kind": {"label": {...}}}``, each level possibly an array of objects."""
        if kind not in data:
            return
        top_line = line_in(data, kind, 1)
        for group in json_objects(data[kind], name, top_line, kind):
            for label, raw in group.items():
                if label == "//":
                    continue
                line = line_in(group, label, top_line)
                bodies = json_objects(raw, name, line, f'{kind} "{label}"')
                for index, body in enumerate(bodies):
                    yield (
                        label,
                        body,
                        line_in(raw, index, line) if isinstance(raw, list) else line,
                    )

    def typed(kind: str) -> Iterator[tuple[str, str, Mapping[str, Any], int | None]]:
        """``{"resource": {"type": {"name": {...}}}}`` (and ``data``), as :func:`labelled`."""
        if kind not in data:
            return
        top_line = line_in(data, kind, 1)
        for group in json_objects(data[kind], name, top_line, kind):
            for type_, raw in group.items():
                if type_ == "//":
                    continue
                type_line = line_in(group, type_, top_line)
                for by_name in json_objects(raw, name, type_line, f'{kind} "{type_}"'):
                    for label, body_raw in by_name.items():
                        if label == "//":
                            continue
                        line = line_in(by_name, label, type_line)
                        for body in json_objects(
                            body_raw, name, line, f'{kind} "{type_}" "{label}"'
                        ):
                            yield type_, label, body, getattr(body, "line", line)

    def depends_on(body: Mapping[str, Any], line: int | None) -> int | None:
        return line_in(body, "depends_on", line) if "depends_on" in body else None

    for label, body, line in labelled("variable"):
        spec = (
            _type_from_text(body["type"], file, line_in(body, "type", line), label)
            if "type" in body
            else None
        )
        default = body.get("default", NO_DEFAULT)
        sink.variable(
            Declared(
                label,
                file,
                line,
                spec,
                default,
                body.get("nullable") is not False,
                "nullable" in body,
            )
        )
    if "locals" in data:
        top_line = line_in(data, "locals", 1)
        for group in json_objects(data["locals"], name, top_line, "locals"):
            for key, value in group.items():
                if key != "//":
                    line = line_in(group, key, top_line)
                    sink.local(key, JsonValue(value, line), file, line)
    for type_, label, body, line in typed("resource"):
        sink.resource(Resource(type_, label, file, line, data=body), depends_on(body, line))
    for type_, label, body, line in typed("data"):
        sink.data(type_, label, file, line, depends_on(body, line))
    for label, body, line in labelled("output"):
        output: tuple[Expression, int | None] | None = None
        if "value" in body:
            where = line_in(body, "value", line)
            output = (JsonValue(body["value"], where), where)
        sink.output(label, output, file, line, depends_on(body, line))
    for label, body, line in labelled("module"):
        source = body.get("source")
        if not isinstance(source, str) and not (sink.override and "source" not in body):
            raise ConfigError(
                f'module "{label}": source must be a string', Origin(file=name, line=line)
            )
        arguments: dict[str, tuple[Expression, int | None]] = {
            k: (JsonValue(v, line_in(body, k, line)), line_in(body, k, line))
            for k, v in body.items()
            if k not in META_ARGUMENTS and k != "//"
        }
        sink.call(
            Call(
                label,
                source if isinstance(source, str) else "",
                file,
                line,
                arguments,
                meta_of(None, body, file, line),
                source_set=isinstance(source, str),
            )
        )
    for kind in ("moved", "import"):
        if kind in data:
            top_line = line_in(data, kind, 1)
            for _ in json_objects(data[kind], name, top_line, kind):
                sink.refuse(kind, file, top_line)


def ignored_file(name: str) -> bool:
    """A file Terraform skips in a folder: hidden (``.x.tf``), or an editor's backup or
    lock (``main.tf~``, ``#main.tf#``)."""
    return (
        name.startswith(".") or name.endswith("~") or (name.startswith("#") and name.endswith("#"))
    )


def folder_files(folder: Path) -> list[ConfigFile]:
    """A module folder's configuration files: ``*.tf`` and ``*.tf.json``, by name (not the
    files Terraform ignores: hidden ones, editor backups)."""
    paths = sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not ignored_file(p.name)
        and (p.suffix == ".tf" or p.name.endswith(".tf.json"))
    )
    return [load_file(p) for p in paths]


def hcl_sources(
    document: Any, options: LoadOptions
) -> tuple[list[ConfigFile], str, Path | None, Path]:
    """The files of the root module (one text, one file, or a folder's ``.tf`` and
    ``.tf.json`` files), its label, its folder and the folder module sources start from."""
    if isinstance(document, str):
        name = options.source or "<string>"
        base = Path(name).parent if options.source else Path.cwd()
        if name.endswith(".json") or document.lstrip().startswith("{"):
            data = parse_document(document, name, MAX_DEPTH, parse_int)
            if not isinstance(data, Mapping):
                raise ConfigError("a Terraform JSON file holds one object", Origin(file=name))
            return [ConfigFile(HclFile(name, document, Body()), data)], name, None, base
        return [ConfigFile(parse_file(name, document))], name, None, base
    path = Path(os.fspath(document))
    if path.is_dir():
        files = folder_files(path)
        if not files:
            raise ConfigError("the folder has no .tf or .tf.json files", Origin(file=str(path)))
        return files, f"{path}/", path, path
    if is_override(path.name):
        # Terraform reads a folder, merging its override files into the blocks of the
        # others: an override file alone overrides nothing, which is an error
        raise ConfigError(
            "an override file cannot be read alone: Terraform merges it into the blocks of "
            "the other .tf and .tf.json files of its folder; load the folder",
            Origin(file=str(path)),
        )
    return [load_file(path)], str(path), None, path.parent

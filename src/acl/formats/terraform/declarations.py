"""What a module declares: its files, resources, variables, locals, outputs and module
calls, and :class:`Blocks`, which puts the blocks of the primary files into a module and
merges those of override files into the blocks they override, as Terraform does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError, Origin, quote
from ...located_json import line_in
from .evaluator import Evaluator, JsonValue
from .hcl_errors import EvalError, NeedsPlan
from .nodes import HclNode, JsonNode, MergedNode, Node
from .syntax import Body, Expr, HclFile, attributes
from .typespec import TypeSpec, convert
from .values import Scope

# ---------------------------------------------------------------------------- modules

Expression = Expr | JsonValue
META_ARGUMENTS = frozenset(
    {"source", "version", "count", "for_each", "providers", "depends_on", "lifecycle"}
)


def is_override(name: str) -> bool:
    """Whether Terraform reads a file as an override file: ``override.tf``,
    ``override.tf.json``, or a name ending ``_override.tf`` or ``_override.tf.json``."""
    for extension in (".tf", ".tf.json"):
        if name.endswith(extension):
            stem = name[: -len(extension)]
            return stem == "override" or stem.endswith("_override")
    return False


@dataclass
class ConfigFile:
    """A configuration file: HCL (``tree``) or Terraform JSON (``data``); ``override`` for
    an override file, merged into the blocks of the others."""

    hcl: HclFile
    data: Mapping[str, Any] | None = None
    override: bool = False


@dataclass
class Resource:
    """A resource block, with the blocks of override files merged into it, in order."""

    type: str
    name: str
    file: HclFile
    line: int | None
    body: Body | None = None
    data: Mapping[str, Any] | None = None
    overrides: list[Resource] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    def _own_meta(self) -> dict[str, tuple[Expression, int | None]]:
        return meta_of(self.body, self.data, self.file, self.line)

    def meta(self) -> dict[str, tuple[Expression, int | None]]:
        """The resource's count and for_each, as expressions."""
        found = self._own_meta()
        for override in self.overrides:
            found.update(override._own_meta())
        return found

    def meta_files(self) -> dict[str, HclFile]:
        """The override file each of :meth:`meta`'s expressions comes from, if not ``file``."""
        return {name: o.file for o in self.overrides for name in o._own_meta()}

    def _own_node(self, scope: Scope, evaluator: Evaluator, address: str) -> Node:
        if self.data is not None:
            return JsonNode(self.data, scope, self.file, evaluator, self.line, address)
        assert self.body is not None
        return HclNode(self.body, scope, self.file, evaluator, self.line, address)

    def node(self, scope: Scope, evaluator: Evaluator, address: str) -> Node:
        node = self._own_node(scope, evaluator, address)
        for override in self.overrides:
            node = MergedNode(node, override._own_node(scope, evaluator, address))
        return node


def meta_of(
    body: Body | None, data: Mapping[str, Any] | None, file: HclFile, line: int | None
) -> dict[str, tuple[Expression, int | None]]:
    found: dict[str, tuple[Expression, int | None]] = {}
    if data is not None:
        for meta in ("count", "for_each"):
            if meta in data:
                where = line_in(data, meta, line)
                found[meta] = (JsonValue(data[meta], where), where)
        return found
    assert body is not None
    try:
        attrs = attributes(body)
    except EvalError as exc:
        raise ConfigError(exc.message, Origin(file=file.name, line=exc.line)) from None
    for meta in ("count", "for_each"):
        if meta in attrs:
            found[meta] = attrs[meta]
    return found


@dataclass
class Declared:
    """A variable block: its type constraint and default (``NO_DEFAULT`` when none);
    ``type_file`` is the override file the type comes from, if not ``file``."""

    name: str
    file: HclFile
    line: int | None
    spec: TypeSpec | None
    default: Any
    nullable: bool = True
    nullable_set: bool = False
    type_file: HclFile | None = None


NO_DEFAULT = object()


@dataclass
class Call:
    """A ``module`` block: its source, arguments and count/for_each; ``files`` holds the
    override file of each argument (and count/for_each) that one sets."""

    name: str
    source: str
    file: HclFile
    line: int | None
    arguments: dict[str, tuple[Expression, int | None]]
    meta: dict[str, tuple[Expression, int | None]]
    source_set: bool = True
    files: dict[str, HclFile] = field(default_factory=dict)

    def file_of(self, name: str) -> HclFile:
        return self.files.get(name, self.file)


@dataclass
class Module:
    label: str
    folder: Path | None
    files: list[ConfigFile] = field(default_factory=list)
    variables: dict[str, Declared] = field(default_factory=dict)
    locals: dict[str, tuple[Expression, HclFile]] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, tuple[Expression, HclFile, int | None]] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    output_names: set[str] = field(default_factory=set)
    data_sources: set[str] = field(default_factory=set)


def _missing(what: str, kind: str, file: HclFile, line: int | None) -> ConfigError:
    """Terraform's error for a block of an override file that overrides nothing."""
    return ConfigError(
        f"there is no {what} to override: an override file can only override {kind} in a "
        "primary configuration file",
        Origin(file=file.name, line=line),
    )


def _not_overridable(file: HclFile, line: int | None) -> ConfigError:
    return ConfigError(
        "the depends_on argument may not be overridden", Origin(file=file.name, line=line)
    )


class Blocks:
    """Puts the blocks of a module's files into it: those of the primary files are added
    (each declared once), those of override files (``override`` set) are merged into the
    blocks they override, as Terraform does."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.override = False
        self.seen: dict[str, Resource] = {}

    def _check(
        self,
        exists: bool,
        file: HclFile,
        line: int | None,
        missing: tuple[str, str],
        twice: str | None = None,
        depends_on: int | None = None,
    ) -> None:
        """The checks every kind of block shares: in an override file, a block must override
        one (``missing``: what there is none of, and what an override file can override)
        and may not set ``depends_on``; in a primary file, a name declared already is an
        error (``twice``, for the kinds that must be unique)."""
        if self.override:
            if not exists:
                raise _missing(missing[0], missing[1], file, line)
            if depends_on is not None:
                raise _not_overridable(file, depends_on)
        elif exists and twice is not None:
            raise ConfigError(twice, Origin(file=file.name, line=line))

    def resource(self, resource: Resource, depends_on: int | None) -> None:
        found = self.seen.get(resource.address)
        self._check(
            found is not None,
            resource.file,
            resource.line,
            (f'{resource.type} resource named "{resource.name}"', "a resource block defined"),
            f"resource {resource.address} is declared twice",
            depends_on,
        )
        if found is not None:
            found.overrides.append(resource)
            return
        self.seen[resource.address] = resource
        self.module.resources.append(resource)

    def data(
        self, kind: str, name: str, file: HclFile, line: int | None, depends_on: int | None
    ) -> None:
        """A data block: only whether there is one matters (its values need a plan)."""
        address = f"{kind}.{name}"
        self._check(
            address in self.module.data_sources,
            file,
            line,
            (f'{kind} data resource named "{name}"', "a data block defined"),
            depends_on=depends_on,
        )
        self.module.data_sources.add(address)

    def variable(self, declared: Declared) -> None:
        found = self.module.variables.get(declared.name)
        self._check(
            found is not None,
            declared.file,
            declared.line,
            (f'variable named "{declared.name}"', "a variable that was already declared"),
            f"variable {quote(declared.name)} is declared twice",
        )
        if found is None:
            self.module.variables[declared.name] = declared
        else:
            _merge_variable(found, declared)

    def local(self, name: str, expression: Expression, file: HclFile, line: int | None) -> None:
        self._check(
            name in self.module.locals,
            file,
            line,
            (f'local value named "{name}"', "a local value that was already defined"),
            f"local value {quote(name)} is defined twice",
        )
        self.module.locals[name] = (expression, file)

    def output(
        self,
        name: str,
        value: tuple[Expression, int | None] | None,
        file: HclFile,
        line: int | None,
        depends_on: int | None,
    ) -> None:
        self._check(
            name in self.module.output_names,
            file,
            line,
            (f'output named "{name}"', "an output that was already defined"),
            depends_on=depends_on,
        )
        self.module.output_names.add(name)
        if value is not None:
            self.module.outputs[name] = (value[0], file, value[1])

    def call(self, call: Call) -> None:
        found = self.module.calls.get(call.name)
        self._check(
            found is not None,
            call.file,
            call.line,
            (f'module call named "{call.name}"', "a module call that was defined"),
            f'module "{call.name}" is declared twice',
        )
        if found is None:
            self.module.calls[call.name] = call
            return
        if call.source_set:
            found.source = call.source
        for mine, theirs in ((found.arguments, call.arguments), (found.meta, call.meta)):
            mine.update(theirs)
            found.files.update(dict.fromkeys(theirs, call.file))

    def refuse(self, kind: str, file: HclFile, line: int | None) -> None:
        """``moved`` and ``import`` blocks, which override files may not hold."""
        if self.override:
            detail = "records of moved objects" if kind == "moved" else f"{kind} blocks"
            raise ConfigError(
                f"cannot override '{kind}' blocks: {detail} can appear only in normal files, "
                "not in override files",
                Origin(file=file.name, line=line),
            )


def _merge_variable(variable: Declared, override: Declared) -> None:
    """An override file's variable block merged into the declaration: its default, type
    and nullable replace the original's, and the default must fit the type that results."""
    if override.default is not NO_DEFAULT:
        variable.default = override.default
    if override.spec is not None:
        variable.spec = override.spec
        variable.type_file = override.file
    if override.nullable_set:
        variable.nullable = override.nullable
        variable.nullable_set = True
    if variable.default is NO_DEFAULT or (
        override.spec is None and override.default is NO_DEFAULT and not override.nullable_set
    ):
        return
    where = Origin(file=override.file.name, line=override.line)
    name = variable.name
    if variable.spec is not None:
        try:
            variable.default = convert(
                variable.default,
                variable.spec,
                Evaluator({}, frozenset(), {}),
                variable.type_file or variable.file,
            )
        except (EvalError, NeedsPlan) as exc:
            text = exc.message if isinstance(exc, EvalError) else exc.reason
            if override.spec is not None and override.default is NO_DEFAULT:
                problem = "overriding its type constraint has made its default value invalid"
            elif override.spec is None and override.default is not NO_DEFAULT:
                problem = (
                    "the overridden default value is not compatible with the variable's type "
                    "constraint"
                )
            else:
                problem = "its default value is not compatible with its type constraint"
            raise ConfigError(f"variable {quote(name)}: {problem}: {text}", where) from None
    if not variable.nullable and variable.default is None:
        raise ConfigError(
            f"variable {quote(name)}: a null default value is not valid when nullable=false", where
        )

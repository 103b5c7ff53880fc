"""Input variables: the values of ``.tfvars`` and ``.tfvars.json`` files, ``TF_VAR_*``,
``--var`` and defaults for the root module, and :class:`Inputs`, the arguments of a module
call evaluated when they are read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError, Origin, quote
from .._limits import (
    json_loads,
)
from ..options import LoadOptions
from .declarations import NO_DEFAULT, Call, Declared, Module
from .evaluator import Evaluator
from .hcl2_adapter import parse_hcl
from .hcl_errors import EvalError, HclSyntaxError, NeedsPlan
from .reading import ignored_file, parse_file, read_text
from .syntax import HclFile, attributes
from .typespec import convert
from .values import Scope

if TYPE_CHECKING:
    from .instances import Instance


def _tfvars(path: Path) -> tuple[HclFile | None, dict[str, Any]]:
    """The values of a ``.tfvars`` (HCL) or ``.tfvars.json`` file."""
    text = read_text(path)
    if path.name.endswith(".json"):
        try:
            data = json_loads(text, str(path))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON: {exc.msg}",
                Origin(file=str(path), line=exc.lineno, column=exc.colno),
            ) from None
        if not isinstance(data, dict):
            raise ConfigError("expected an object of variable values", Origin(file=str(path)))
        return None, data
    file = parse_file(str(path), text)
    evaluator = Evaluator({}, frozenset(), {})
    values: dict[str, Any] = {}
    try:
        found = attributes(file.body)
    except EvalError as exc:
        raise ConfigError(exc.message, Origin(file=file.name, line=exc.line)) from None
    for name, (expression, line) in found.items():
        try:
            values[name] = evaluator.evaluate(expression, {}, file)
        except (EvalError, NeedsPlan) as exc:
            text_ = exc.message if isinstance(exc, EvalError) else f"{exc.expression}: {exc.reason}"
            raise ConfigError(
                f"variable value {name} must be a literal value: {text_}",
                Origin(file=file.name, line=line),
            ) from None
    return file, values


def _given_value(declared: Declared, text: str, label: str) -> Any:
    """A value given as text (``--var``, ``TF_VAR_name``): a string for primitive types and
    variables without a type, an HCL expression for collections and objects."""
    spec = declared.spec
    if spec is None or spec.kind in ("string", "number", "bool", "any"):
        return text
    try:
        file = HclFile(label, f"v = {text}\n", parse_hcl(f"v = {text}\n"))
        return Evaluator({}, frozenset(), {}).evaluate(attributes(file.body)["v"][0], {}, file)
    except (HclSyntaxError, EvalError, NeedsPlan, KeyError) as exc:
        raise ConfigError(
            f"{label}={quote(text)}: variable {quote(declared.name)} is a {spec.kind}: expected an HCL "
            f"value ({exc})",
            Origin(path=label),
        ) from None


def _convert(declared: Declared, value: Any, evaluator: Evaluator, where: str) -> Any:
    if declared.spec is None:
        return value
    try:
        return convert(value, declared.spec, evaluator, declared.type_file or declared.file)
    except (EvalError, NeedsPlan) as exc:
        text = exc.message if isinstance(exc, EvalError) else exc.reason
        raise EvalError(
            f"variable {quote(declared.name)}{where}: the value {quote(value)} does not fit its type: {text}"
        ) from None


def root_values(module: Module, options: LoadOptions) -> dict[str, Any]:
    """The root module's input variables, from every source in Terraform's order."""
    values: dict[str, Any] = {
        name: declared.default
        for name, declared in module.variables.items()
        if declared.default is not NO_DEFAULT
    }
    environment = os.environ if options.environment is None else options.environment
    for key in sorted(environment):
        if key.startswith("TF_VAR_") and key[7:] in module.variables:
            name = key[7:]
            values[name] = _given_value(module.variables[name], environment[key], key)
    sources: list[Path] = []
    if module.folder is not None:
        for name in ("terraform.tfvars", "terraform.tfvars.json"):
            if (module.folder / name).is_file():
                sources.append(module.folder / name)
        sources.extend(
            sorted(
                p
                for p in module.folder.iterdir()
                if p.is_file()
                and not ignored_file(p.name)
                and (p.name.endswith(".auto.tfvars") or p.name.endswith(".auto.tfvars.json"))
            )
        )
    steps: list[tuple[str, str]] = [("var-file", str(p)) for p in sources]
    if options.var_order:  # the command line, in its order
        steps.extend(options.var_order)
    else:
        steps.extend(("var-file", str(p)) for p in options.var_files)
        steps.extend(("var", f"{name}={text}") for name, text in options.variables.items())
    for kind, item in steps:
        if kind == "var-file":
            path = Path(item)
            _, given = _tfvars(path)
            for name, value in given.items():
                if name not in module.variables:
                    options.warn(
                        f"{path}: value for undeclared variable {quote(name)} is ignored "
                        f"(the configuration in {module.label} does not declare it)"
                    )
                    continue
                values[name] = value
            continue
        name, _, text = item.partition("=")
        name = name.strip()
        if name not in module.variables:
            raise ConfigError(
                f"--var {name}: variable {quote(name)} is not declared in {module.label} "
                f"(it declares: {', '.join(sorted(module.variables)) or 'none'})",
                Origin(path=f"--var {name}"),
            )
        values[name] = _given_value(module.variables[name], text, f"--var {name}")
    evaluator = Evaluator({}, frozenset(), {})
    for name, declared in module.variables.items():
        if name in values:
            try:
                values[name] = _convert(declared, values[name], evaluator, "")
            except EvalError as exc:
                raise ConfigError(
                    exc.message, Origin(file=declared.file.name, line=declared.line)
                ) from None
    return values


class Inputs(Mapping[str, Any]):
    """A child module's input variables: the module block's arguments, evaluated in the
    caller's scope when first read, else the variables' defaults."""

    def __init__(self, instance: Instance, call: Call, parent: Instance, scope: Scope) -> None:
        self.instance = instance
        self.call = call
        self.parent = parent
        self.scope = scope
        self._cache: dict[str, Any] = {}
        self.names = [
            name
            for name, declared in instance.module.variables.items()
            if name in call.arguments or declared.default is not NO_DEFAULT
        ]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Any:
        if name in self._cache:
            return self._cache[name]
        declared = self.instance.module.variables[name]
        value = None if declared.default is NO_DEFAULT else declared.default
        if name in self.call.arguments:
            expression, line = self.call.arguments[name]
            file = self.call.file_of(name)
            where = f"{file.name}:{line}"
            try:
                given = self.parent.evaluator.evaluate(expression, self.scope, file)
            except NeedsPlan as exc:
                raise NeedsPlan(
                    f"var.{name}",
                    f"the argument {name} of {self.instance.address} ({where}) is "
                    f"{exc.expression}: {exc.reason}",
                    hint=exc.hint,
                ) from None
            except EvalError as exc:
                raise EvalError(
                    f"var.{name}: the argument {name} of {self.instance.address} "
                    f"({file.name}:{exc.line or line}): {exc.message}"
                ) from None
            if given is not None or declared.nullable:
                value = given
        converted = _convert(
            declared, value, self.instance.evaluator, f" of {self.instance.address}"
        )
        self._cache[name] = converted
        return converted

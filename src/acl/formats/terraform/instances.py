"""Module instances: :class:`ModuleTree` finds the folder of each module call once (local
paths and ``.terraform/modules/modules.json``), :class:`Instance` binds a module's inputs
and evaluates its outputs, and ``count``/``for_each`` expand into instance addresses.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...errors import ConfigError, Origin, quote
from .._limits import (
    json_loads,
)
from ..options import LoadOptions
from .azurerm import WEB_APP_TYPES
from .declarations import NO_DEFAULT, Call, Expression, Module, Resource
from .evaluator import Evaluator, ModuleOutputs
from .hcl_errors import EvalError, NeedsPlan
from .reading import build_module, folder_files, read_text
from .syntax import HclFile
from .values import Scope, to_number, to_string, type_name
from .variables import Inputs


@dataclass
class ModuleTree:
    """The configuration's modules: each call's folder, found once."""

    root: Module
    base: Path
    options: LoadOptions
    manifest: dict[str, str] | None = None
    loaded: dict[Path, Module] = field(default_factory=dict)
    unresolved: list[tuple[str, Call, str]] = field(default_factory=list)

    def folder(self, key: str, call: Call, caller: Path) -> Path | str:
        """The folder of a module call, or why it cannot be read."""
        source = call.source
        if source.startswith(("./", "../", ".\\", "..\\")) or source in (".", ".."):
            return Path(os.path.normpath(caller / source))
        if self.manifest is None:
            self.manifest = _manifest(self.base)
        directory = self.manifest.get(key)
        if directory is not None:
            return Path(os.path.normpath(self.base / directory))
        return (
            f"its source {quote(source)} is not a local path, and acl does not download modules: "
            "run `terraform init` in the root module (acl then reads "
            ".terraform/modules/modules.json), or load the module's folder and give its "
            "inputs with --var"
        )

    def child(self, key: str, call: Call, caller: Path, chain: tuple[Path, ...]) -> Module | str:
        found = self.folder(key, call, caller)
        if isinstance(found, str):
            return found
        where = Origin(file=call.file.name, line=call.line, path=f"module.{call.name}")
        resolved = found.resolve()
        if resolved in chain:
            raise ConfigError(
                f'module "{call.name}": source {quote(call.source)} leads back to {found}, which '
                "calls it (a module cycle)",
                where,
            )
        if len(chain) > 32:
            raise ConfigError(f'module "{call.name}": modules are nested too deeply', where)
        cached = self.loaded.get(resolved)
        if cached is not None:
            return cached
        if not found.is_dir():
            raise ConfigError(
                f'module "{call.name}": source {quote(call.source)} is not a folder ({found})',
                where,
            )
        files = folder_files(found)
        if not files:
            raise ConfigError(f'module "{call.name}": {found} has no .tf or .tf.json files', where)
        module = build_module(files, f"{found}/", found)
        self.loaded[resolved] = module
        return module

    def candidates(self) -> list[tuple[str, tuple[tuple[Call, ...], Resource]]]:
        """Every web app, by its address without instance keys, with the calls to it."""
        found: list[tuple[str, tuple[tuple[Call, ...], Resource]]] = []

        def walk(
            module: Module,
            prefix: str,
            calls: tuple[Call, ...],
            folder: Path,
            chain: tuple[Path, ...],
        ) -> None:
            for resource in module.resources:
                if resource.type in WEB_APP_TYPES:
                    found.append((prefix + resource.address, (calls, resource)))
            for call in module.calls.values():
                key = ".".join([*(c.name for c in calls), call.name])
                child = self.child(key, call, folder, chain)
                if isinstance(child, str):
                    self.unresolved.append((prefix + f"module.{call.name}", call, child))
                    continue
                assert child.folder is not None
                walk(
                    child,
                    f"{prefix}module.{call.name}.",
                    (*calls, call),
                    child.folder,
                    (*chain, child.folder.resolve()),
                )

        walk(self.root, "", (), self.base, (self.base.resolve(),))
        return found


def _manifest(base: Path) -> dict[str, str]:
    """``.terraform/modules/modules.json``, as ``terraform init`` writes it: key to folder."""
    path = base / ".terraform" / "modules" / "modules.json"
    if not path.is_file():
        return {}
    try:
        data = json_loads(read_text(path), str(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON: {exc.msg}", Origin(file=str(path), line=exc.lineno, column=exc.colno)
        ) from None
    entries = data.get("Modules") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise ConfigError('expected {"Modules": [...]}', Origin(file=str(path)))
    return {
        str(entry["Key"]): str(entry["Dir"])
        for entry in entries
        if isinstance(entry, Mapping) and entry.get("Key") and isinstance(entry.get("Dir"), str)
    }


class Instance:
    """One instance of a module: its address, its evaluator, its module calls' instances."""

    def __init__(
        self, tree: ModuleTree, module: Module, address: str, folder: Path, chain: tuple[Call, ...]
    ) -> None:
        self.tree = tree
        self.module = module
        self.address = address
        self.folder = folder
        self.chain = chain
        self.evaluator = Evaluator({}, frozenset(), {})
        self._children: dict[str, list[tuple[str, Any, Instance]]] = {}

    def bind(self, variables: Mapping[str, Any]) -> None:
        self.evaluator = Evaluator(
            variables,
            frozenset(self.module.variables),
            self.module.locals,
            frozenset(r.type for r in self.module.resources),
            modules=self.module_value,
        )

    def prefix(self) -> str:
        return f"{self.address}." if self.address else ""

    def instances(self, name: str) -> list[tuple[str, Any, Instance]]:
        """The instances of a module call: (address, key or None, instance)."""
        if name in self._children:
            return self._children[name]
        call = self.module.calls[name]
        key = ".".join([*(c.name for c in self.chain), call.name])
        child = self.tree.child(key, call, self.folder, ())
        base = f"{self.prefix()}module.{call.name}"
        if isinstance(child, str):
            raise NeedsPlan(
                base,
                f'module "{call.name}" ({call.file.name}:{call.line}) is not read: {child}',
            )
        found: list[tuple[str, Any, Instance]] = []
        for suffix, key_value, scope in expand_instances(
            call.meta, self.evaluator, call.file, base, "module", call.files
        ):
            assert child.folder is not None
            instance = Instance(self.tree, child, base + suffix, child.folder, (*self.chain, call))
            inputs = Inputs(instance, call, self, scope)
            missing = [
                n
                for n, d in child.variables.items()
                if d.default is NO_DEFAULT and n not in call.arguments
            ]
            where = Origin(file=call.file.name, line=call.line, path=base)
            if missing:
                declared = child.variables[missing[0]]
                raise ConfigError(
                    f'module "{call.name}": variable {quote(missing[0])} of {child.label} '
                    f"({declared.file.name}:{declared.line}) has no default, and the module "
                    f"block does not set it",
                    where,
                )
            unknown = sorted(set(call.arguments) - set(child.variables))
            if unknown:
                raise ConfigError(
                    f'module "{call.name}": {child.label} declares no variable {quote(unknown[0])} '
                    f"(it declares: {', '.join(sorted(child.variables)) or 'none'})",
                    replace(
                        where,
                        file=call.file_of(unknown[0]).name,
                        line=call.arguments[unknown[0]][1],
                    ),
                )
            instance.bind(inputs)
            found.append((base + suffix, key_value, instance))
        self._children[name] = found
        return found

    def module_value(self, name: str) -> Any:
        """``module.NAME``: an object of outputs, or a list or map of them."""
        if name not in self.module.calls:
            raise EvalError(
                f"module {quote(name)} is not declared in {self.module.label}"
                + (
                    f" (it calls: {', '.join(sorted(self.module.calls))})"
                    if self.module.calls
                    else ""
                )
            )
        call = self.module.calls[name]
        instances = self.instances(name)
        objects = [(key, instance.outputs()) for _, key, instance in instances]
        if "count" in call.meta:
            return [obj for _, obj in objects]
        if "for_each" in call.meta:
            return {str(key): obj for key, obj in objects}
        return objects[0][1]

    def outputs(self) -> ModuleOutputs:
        def read(name: str) -> Any:
            expression, file, line = self.module.outputs[name]
            try:
                return self.evaluator.evaluate(expression, {}, file)
            except NeedsPlan as exc:
                raise NeedsPlan(
                    f"{self.address}.{name}",
                    f"the output {name} of {self.address} is {exc.expression} "
                    f"({file.name}:{exc.line or line}): {exc.reason}",
                    hint=exc.hint,
                ) from None
            except EvalError as exc:
                raise EvalError(
                    f"the output {name} of {self.address} ({file.name}:{exc.line or line}): "
                    f"{exc.message}"
                ) from None

        return ModuleOutputs(self.address, frozenset(self.module.outputs), read)


def expand_instances(
    meta: Mapping[str, tuple[Expression, int | None]],
    evaluator: Evaluator,
    file: HclFile,
    address: str,
    what: str,
    files: Mapping[str, HclFile] | None = None,
) -> list[tuple[str, Any, Scope]]:
    """The instance keys of a resource or module call: (address suffix, key, scope);
    ``files`` holds the override file of an expression that one sets."""
    for name in ("count", "for_each"):
        if name not in meta:
            continue
        expression, line = meta[name]
        file = (files or {}).get(name, file)
        origin = Origin(file=file.name, line=line, path=f"{address}.{name}")
        try:
            value = evaluator.evaluate(expression, {}, file)
        except NeedsPlan as exc:
            raise ConfigError(
                f"{name} of {address}: {exc.expression} cannot be known offline: "
                f"{exc.reason}; read `terraform show -json` of a plan instead",
                origin,
            ) from None
        except EvalError as exc:
            raise ConfigError(exc.message, origin) from None
        if name == "count":
            try:
                count = int(to_number(value))
            except EvalError as exc:
                raise ConfigError(f"count: {exc.message}", origin) from None
            return [(f"[{i}]", i, {"count": {"index": i}}) for i in range(count)]
        if isinstance(value, list):
            pairs = [(to_string(v), v) for v in value]
        elif isinstance(value, dict):
            pairs = [(k, value[k]) for k in sorted(value)]
        else:
            raise ConfigError(
                f"for_each of the {what} is a {type_name(value)}: expected a map or a set", origin
            )
        return [
            (f"[{json.dumps(key)}]", key, {"each": {"key": key, "value": v}}) for key, v in pairs
        ]
    return [("", None, {})]


def choose(
    candidates: list[tuple[str, Any]], options: LoadOptions, label: str, origin: Origin
) -> tuple[str, Any]:
    """One of several addressed web apps, by ``options.site``."""
    addresses = [address for address, _ in candidates]
    if options.site is not None:
        wanted = options.site.strip()
        for test in (
            lambda a: a == wanted,
            lambda a: a.lower() == wanted.lower(),
            lambda a: _base(a).lower() == wanted.lower(),
            lambda a: _base(a).split(".")[-1].lower() == wanted.lower(),
        ):
            matches = [c for c in candidates if test(c[0])]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise ConfigError(
                    f"--site {quote(wanted)} matches {len(matches)} web apps in {label}: "
                    f"{', '.join(m[0] for m in matches)}; give the full address",
                    origin,
                )
        raise ConfigError(
            f"web app {quote(wanted)} is not in {label}; its web apps are: {', '.join(addresses)}",
            origin,
        )
    if len(candidates) == 1:
        return candidates[0]
    raise ConfigError(
        f"{label} has {len(candidates)} web apps: choose one with --site ADDRESS "
        f"(one of: {', '.join(addresses)})",
        origin,
    )


def _base(address: str) -> str:
    """An address without its instance keys and module path."""
    parts = unkeyed(address).split(".")
    return ".".join(parts[-2:])


def unkeyed(address: str) -> str:
    """An address without its instance keys: ``module.a["x"].t.n[0]`` is ``module.a.t.n``."""
    return re.sub(r'\[(?:"(?:[^"\\]|\\.)*"|[^\]]*)\]', "", address)

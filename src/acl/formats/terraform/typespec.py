"""Type constraints of input variables (:class:`TypeSpec`, read from a ``type``
expression) and the conversion of a value to one, as Terraform does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import quote
from .evaluator import Evaluator
from .hcl_errors import EvalError
from .syntax import Call, Expr, Group, HclFile, Identifier, ObjectExpr, TupleExpr
from .values import to_bool, to_number, to_set, to_string, type_name

# ---------------------------------------------------------------------------- type constraints


@dataclass(frozen=True)
class TypeSpec:
    """A variable's type constraint: ``kind`` is string, number, bool, any, list, set, map,
    tuple or object; ``element`` the element type; ``attributes`` an object's attributes
    as (type, optional, default expression)."""

    kind: str
    element: TypeSpec | None = None
    elements: tuple[TypeSpec, ...] = ()
    attributes: Mapping[str, tuple[TypeSpec, bool, Expr | None]] = field(default_factory=dict)


_ANY = TypeSpec("any")


def parse_type(node: Expr, file: HclFile) -> TypeSpec:
    """The type constraint written in a variable block's ``type`` attribute."""
    if isinstance(node, Group):
        return parse_type(node.inner, file)
    if isinstance(node, Identifier):
        if node.name in ("string", "number", "bool", "any"):
            return TypeSpec(node.name)
        raise EvalError(f"type {quote(node.name)} is not a Terraform type")
    if isinstance(node, Call):
        name, args = node.name.split("::")[0], node.args
        if name in ("list", "set", "map") and len(args) == 1:
            return TypeSpec(name, element=parse_type(args[0], file))
        if name == "tuple" and len(args) == 1:
            inner = _unwrap(args[0])
            if isinstance(inner, TupleExpr):
                return TypeSpec("tuple", elements=tuple(parse_type(k, file) for k in inner.items))
        if name == "object" and len(args) == 1:
            inner = _unwrap(args[0])
            if isinstance(inner, ObjectExpr):
                attributes: dict[str, tuple[TypeSpec, bool, Expr | None]] = {}
                for item in inner.items:
                    attributes[item.label] = _attribute_type(item.value, file)
                return TypeSpec("object", attributes=attributes)
    raise EvalError(f"type constraint {quote(file.source(node))} is not understood")


def _unwrap(node: Expr) -> Expr:
    while isinstance(node, Group):
        node = node.inner
    return node


def _attribute_type(node: Expr, file: HclFile) -> tuple[TypeSpec, bool, Expr | None]:
    inner = _unwrap(node)
    if isinstance(inner, Call) and inner.name.split("::")[0] == "optional":
        args = inner.args
        if not args:
            raise EvalError("optional() needs a type")
        return parse_type(args[0], file), True, args[1] if len(args) > 1 else None
    return parse_type(node, file), False, None


def convert(value: Any, spec: TypeSpec, evaluator: Evaluator, file: HclFile) -> Any:
    """``value`` converted to a type constraint, as Terraform does for input variables."""
    if value is None or spec.kind == "any":
        return value
    if spec.kind == "string":
        return to_string(value)
    if spec.kind == "number":
        return to_number(value)
    if spec.kind == "bool":
        return to_bool(value)
    if spec.kind in ("list", "set", "tuple"):
        if not isinstance(value, list):
            raise EvalError(f"a {spec.kind} is required, not {type_name(value)}")
        if spec.kind == "tuple":
            if len(value) != len(spec.elements):
                raise EvalError(f"a tuple of {len(spec.elements)} element(s) is required")
            return [
                convert(v, t, evaluator, file) for v, t in zip(value, spec.elements, strict=True)
            ]
        assert spec.element is not None
        items = [convert(v, spec.element, evaluator, file) for v in value]
        return to_set(items) if spec.kind == "set" else items
    if not isinstance(value, dict):
        raise EvalError(f"a {spec.kind} is required, not {type_name(value)}")
    if spec.kind == "map":
        assert spec.element is not None
        return {k: convert(v, spec.element, evaluator, file) for k, v in value.items()}
    out: dict[str, Any] = {}
    for name, (attr_type, optional, default) in spec.attributes.items():
        if name in value and value[name] is not None:
            out[name] = convert(value[name], attr_type, evaluator, file)
        elif optional:
            fallback = evaluator.evaluate(default, {}, file) if default is not None else None
            out[name] = convert(fallback, attr_type, evaluator, file)
        elif name in value:
            out[name] = None
        else:
            raise EvalError(f"attribute {quote(name)} is required by the variable's type")
    return out

"""typespec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lark import Tree

from ...errors import quote
from .evaluator import Evaluator
from .hcl2_adapter import name_of, subtrees
from .hcl_errors import EvalError
from .syntax import HclFile
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
    attributes: Mapping[str, tuple[TypeSpec, bool, Tree[Any] | None]] = field(default_factory=dict)


_ANY = TypeSpec("any")


def parse_type(node: Tree[Any], file: HclFile) -> TypeSpec:
    """The type constraint written in a variable block's ``type`` attribute."""
    kids = subtrees(node)
    if node.data == "expr_term" and kids:
        return parse_type(kids[0], file)
    if node.data == "identifier":
        name = name_of(node)
        if name in ("string", "number", "bool", "any"):
            return TypeSpec(name)
        raise EvalError(f"type {quote(name)} is not a Terraform type")
    if node.data == "function_call":
        name = name_of(kids[0])
        arguments = [k for k in kids if k.data == "arguments"]
        args = subtrees(arguments[0]) if arguments else []
        if name in ("list", "set", "map") and len(args) == 1:
            return TypeSpec(name, element=parse_type(args[0], file))
        if name == "tuple" and len(args) == 1:
            inner = _unwrap(args[0])
            if inner.data == "tuple":
                return TypeSpec("tuple", elements=tuple(parse_type(k, file) for k in subtrees(inner)))
        if name == "object" and len(args) == 1:
            inner = _unwrap(args[0])
            if inner.data == "object":
                attributes: dict[str, tuple[TypeSpec, bool, Tree[Any] | None]] = {}
                for elem in subtrees(inner):
                    key_node, value_node = subtrees(elem)[0], subtrees(elem)[1]
                    key = name_of(_unwrap(key_node))
                    attributes[key] = _attribute_type(value_node, file)
                return TypeSpec("object", attributes=attributes)
    raise EvalError(f"type constraint {quote(file.source(node))} is not understood")


def _unwrap(node: Tree[Any]) -> Tree[Any]:
    while node.data in ("expr_term", "object_elem_key") and subtrees(node):
        node = subtrees(node)[0]
    return node


def _attribute_type(node: Tree[Any], file: HclFile) -> tuple[TypeSpec, bool, Tree[Any] | None]:
    inner = _unwrap(node)
    if inner.data == "function_call" and name_of(subtrees(inner)[0]) == "optional":
        arguments = [k for k in subtrees(inner) if k.data == "arguments"]
        args = subtrees(arguments[0]) if arguments else []
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

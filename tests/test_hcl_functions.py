"""A differential oracle for the HCL function library: the examples of the Terraform
documentation (developer.hashicorp.com/terraform/language/functions/NAME), each checked
against acl's implementation. Every function acl implements has its documented examples
here; a function acl does not implement is a located error where a rule uses it."""

from __future__ import annotations

from typing import Any

import pytest

import acl
from acl.formats.terraform.evaluator import Evaluator
from acl.formats.terraform.functions import FUNCTIONS
from acl.formats.terraform.hcl2_adapter import parse_hcl
from acl.formats.terraform.hcl_errors import EvalError, NeedsPlan
from acl.formats.terraform.syntax import HclFile, attributes


def evaluate(expression: str) -> Any:
    text = f"v = {expression}\n"
    file = HclFile("x.tf", text, parse_hcl(text))
    node, _ = attributes(file.body)["v"]
    return Evaluator({}, frozenset(), {}).evaluate(node, {}, file)


# (expression, documented result); the order of each function's examples is the docs' order
DOCUMENTED: list[tuple[str, Any]] = [
    ("abs(23)", 23),
    ("abs(0)", 0),
    ("abs(-12.4)", 12.4),
    ('cidrhost("10.12.112.0/20", 16)', "10.12.112.16"),
    ('cidrhost("10.12.112.0/20", 268)', "10.12.113.12"),
    ('cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)', "fd00:fd12:3456:7890::22"),
    ('cidrsubnet("172.16.0.0/12", 4, 2)', "172.18.0.0/16"),
    ('cidrsubnet("10.1.2.0/24", 4, 15)', "10.1.2.240/28"),
    ('cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)', "fd00:fd12:3456:7800:a200::/72"),
    ('coalesce("a", "b")', "a"),
    ('coalesce("", "b")', "b"),
    ("coalesce(1, 2)", 1),
    ('coalescelist(["a", "b"], ["c", "d"])', ["a", "b"]),
    ('coalescelist([], ["c", "d"])', ["c", "d"]),
    ('compact(["a", "", "b", "c"])', ["a", "b", "c"]),
    ('concat(["a", ""], ["b", "c"])', ["a", "", "b", "c"]),
    ('contains(["a", "b", "c"], "a")', True),
    ('contains(["a", "b", "c"], "d")', False),
    ('distinct(["a", "b", "a", "c", "d", "b"])', ["a", "b", "c", "d"]),
    ('element(["a", "b", "c"], 1)', "b"),
    ('element(["a", "b", "c"], 3)', "a"),
    ('element(["a", "b", "c"], length(["a", "b", "c"])-1)', "c"),
    ('flatten([["a", "b"], [], ["c"]])', ["a", "b", "c"]),
    ('flatten([[["a", "b"], []], ["c"]])', ["a", "b", "c"]),
    ('format("Hello, %s!", "Ander")', "Hello, Ander!"),
    ('format("There are %d lights", 4)', "There are 4 lights"),
    (
        'formatlist("Hello, %s!", ["Valentina", "Ander", "Olivia", "Sam"])',
        ["Hello, Valentina!", "Hello, Ander!", "Hello, Olivia!", "Hello, Sam!"],
    ),
    (
        'formatlist("%s, %s!", "Salutations", ["Valentina", "Ander", "Olivia", "Sam"])',
        [
            "Salutations, Valentina!",
            "Salutations, Ander!",
            "Salutations, Olivia!",
            "Salutations, Sam!",
        ],
    ),
    ('join("-", ["foo", "bar", "baz"])', "foo-bar-baz"),
    ('join(", ", ["foo", "bar", "baz"])', "foo, bar, baz"),
    ('join(", ", ["foo"])', "foo"),
    ('jsondecode("{\\"hello\\": \\"world\\"}")', {"hello": "world"}),
    ('jsondecode("true")', True),
    ("keys({a=1, c=2, d=3})", ["a", "c", "d"]),
    ("length([])", 0),
    ('length(["a", "b"])', 2),
    ('length({"a" = "b"})', 1),
    ('length("hello")', 5),
    ('lookup({a="ay", b="bee"}, "a", "what?")', "ay"),
    ('lookup({a="ay", b="bee"}, "c", "what?")', "what?"),
    ('lower("HELLO")', "hello"),
    ('lower("АЛЛО!")', "алло!"),
    ("max(12, 54, 3)", 54),
    ("max([12, 54, 3]...)", 54),
    ('merge({a="b", c="d"}, {e="f", c="z"})', {"a": "b", "c": "z", "e": "f"}),
    ('merge({a="b"}, {a=[1,2], c="z"}, {d=3})', {"a": [1, 2], "c": "z", "d": 3}),
    ("min(12, 54, 3)", 3),
    ("min([12, 54, 3]...)", 3),
    ("range(3)", [0, 1, 2]),
    ("range(1, 4)", [1, 2, 3]),
    ("range(1, 8, 2)", [1, 3, 5, 7]),
    ("range(1, 4, 0.5)", [1, 1.5, 2, 2.5, 3, 3.5]),
    ("range(4, 1)", [4, 3, 2]),
    ("range(10, 5, -2)", [10, 8, 6]),
    ('replace("1 + 2 + 3", "+", "-")', "1 - 2 - 3"),
    ("reverse([1, 2, 3])", [3, 2, 1]),
    ('slice(["a", "b", "c", "d"], 1, 3)', ["b", "c"]),
    ('sort(["e", "d", "a", "x"])', ["a", "d", "e", "x"]),
    ('split(",", "foo")', ["foo"]),
    ('split(",", "foo,bar,baz")', ["foo", "bar", "baz"]),
    ('split(",", "")', [""]),
    ('substr("hello world", 1, 4)', "ello"),
    ('substr("🤔🤷", 0, 1)', "🤔"),
    ('substr("hello world", -5, -1)', "world"),
    ('substr("hello world", 6, 10)', "world"),
    ('substr("hello world", -5, 10)', "world"),
    ("tobool(true)", True),
    ('tobool("true")', True),
    ("tobool(null)", None),
    ('tolist(["a", "b", "c"])', ["a", "b", "c"]),
    ('tolist(["a", "b", 3])', ["a", "b", "3"]),
    ('tomap({"a" = 1, "b" = 2})', {"a": 1, "b": 2}),
    ('tomap({"a" = "foo", "b" = true})', {"a": "foo", "b": "true"}),
    ("tonumber(1)", 1),
    ('tonumber("1")', 1),
    ("tonumber(null)", None),
    ('toset(["a", "b", "c"])', ["a", "b", "c"]),
    ('toset(["a", "b", 3])', ["3", "a", "b"]),
    ('toset(["c", "b", "b"])', ["b", "c"]),
    ('tostring("hello")', "hello"),
    ("tostring(1)", "1"),
    ("tostring(true)", "true"),
    ("tostring(null)", None),
    ('trim("?!hello?!", "!?")', "hello"),
    ('trim("foobar", "far")', "oob"),
    ('trim("   hello! world.!  ", "! ")', "hello! world."),
    ('trimprefix("helloworld", "hello")', "world"),
    ('trimprefix("helloworld", "cat")', "helloworld"),
    ('trimspace("  hello\\n\\n")', "hello"),
    ('trimsuffix("helloworld", "world")', "hello"),
    ('upper("hello")', "HELLO"),
    ('upper("алло!")', "АЛЛО!"),
    ("values({a=3, c=2, d=1})", [3, 2, 1]),
    ('zipmap(["a", "b"], [1, 2])', {"a": 1, "b": 2}),
]


@pytest.mark.parametrize(("expression", "expected"), DOCUMENTED)
def test_documented_examples(expression: str, expected: Any) -> None:
    value = evaluate(expression)
    if expression.startswith("toset("):
        value = sorted(value, key=str)
    assert value == expected
    assert type(value) is type(expected) or isinstance(expected, float)


def test_every_implemented_function_has_documented_examples() -> None:
    covered = {expression.split("(", 1)[0] for expression, _ in DOCUMENTED}
    assert set(FUNCTIONS) <= covered, sorted(set(FUNCTIONS) - covered)


def test_replace_with_a_regular_expression_is_refused_not_guessed() -> None:
    # documented: replace("hello world", "/w.*d/", "everybody") is "hello everybody"; acl
    # does not implement RE2 syntax, so it says so rather than replacing the literal text
    with pytest.raises(NeedsPlan, match="regular expression is not evaluated by acl"):
        evaluate('replace("hello world", "/w.*d/", "everybody")')


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("range(1, 4, 0)", "step must not be zero"),
        ("tolist([1, true])", "no common type"),
        ('toset(["a", ["b"]])', "no common type"),
    ],
)
def test_documented_errors(expression: str, message: str) -> None:
    with pytest.raises(EvalError, match=message):
        evaluate(expression)


@pytest.mark.parametrize(
    "call",
    ['regex("[0-9.]+/[0-9]+", var.text)', "timestamp()", 'base64decode("MTAuMC4wLjAvOA==")'],
)
def test_an_unimplemented_function_in_a_rule_is_a_located_error(call: str) -> None:
    text = (
        'variable "text" {\n  default = "net 10.0.0.0/8"\n}\n'
        'resource "azurerm_linux_web_app" "app" {\n'
        "  site_config {\n"
        "    ip_restriction {\n"
        f"      ip_address = {call}\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    with pytest.raises(acl.ConfigError) as info:
        acl.loads(text, format="terraform", source="main.tf")
    message = str(info.value)
    assert message.startswith("main.tf:7: azurerm_linux_web_app.app.site_config.ip_restriction")
    assert "is not evaluated by acl" in message

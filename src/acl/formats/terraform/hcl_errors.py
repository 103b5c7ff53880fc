"""The exceptions of reading HCL: text that is not HCL (:class:`HclSyntaxError`), a mistake
found while evaluating (:class:`EvalError`) and a value only a plan can know
(:class:`NeedsPlan`). The loaders turn them into located :class:`~acl.errors.ConfigError`
messages.
"""

from __future__ import annotations


class HclSyntaxError(Exception):
    """Text that is not HCL: a message, a line and a column."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class EvalError(Exception):
    """A configuration mistake found while evaluating (a wrong type, an undeclared name)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class NeedsPlan(Exception):
    """A value that only ``terraform plan`` (or apply) can know.

    ``expression`` is the source text of the culprit, ``reason`` says why it is unknown.
    """

    def __init__(
        self, expression: str, reason: str, line: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(f"{expression}: {reason}")
        self.expression = expression
        self.reason = reason
        self.line = line
        self.hint = hint
        self.widen = True

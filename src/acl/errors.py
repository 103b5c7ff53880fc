"""The exception tree of ``acl``.

Everything ``acl`` raises on purpose derives from :class:`AclError`. Each leaf also subclasses
the builtin it refines, so ``except ValueError`` keeps working for callers who do not know
``acl``::

    AclError(Exception)
     ├── AddressError(AclError, ValueError)      a malformed address or CIDR
     ├── ConfigError(AclError, ValueError)       a rule set that cannot load, with where it came from
     │    ├── ServiceTagError(ConfigError)       an unknown or misplaced service tag name
     │    └── ConvertError(ConfigError)          a site that ``acl convert``'s target cannot express
     ├── ServiceTagDataError(AclError, ValueError)   a service tag file that cannot be read
     ├── RequestError(AclError, ValueError)      a request that cannot be evaluated
     ├── LogError(AclError, ValueError)          a log source that cannot be read at all
     ├── OutputError(AclError, OSError)          an output that cannot be written, or is an input
     ├── ExpectationError(AclError, ValueError)  an expectation file (``acl test``) that cannot be read
     ├── AnalysisError(AclError, ValueError)     a lint, diff or search that cannot run as asked
     └── UsageError(AclError)                    a command line that does not make sense

    ConfigWarning(UserWarning)                   what a loader did that the user should know

Messages name the culprit with ``!r``, the file, the JSON path or line, the rule's name and
position, and say what was expected; :func:`quote` cuts a long value short. The CLI prints
``str(error)`` on one line and exits 2.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Rule

__all__ = [
    "AclError",
    "AddressError",
    "AnalysisError",
    "ConfigError",
    "ConfigWarning",
    "ConvertError",
    "ExpectationError",
    "LogError",
    "Origin",
    "OutputError",
    "RequestError",
    "ServiceTagDataError",
    "ServiceTagError",
    "UsageError",
]

QUOTE_CHARS = 70
"""How much of a value a message quotes."""
_MESSAGE_CHARS = 1000
"""A longer message is cut short in its middle."""


class _Repr(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxset = self.maxdict = 6
        self.maxstring = QUOTE_CHARS
        self.maxother = QUOTE_CHARS

    def repr_int(self, x: int, level: int) -> str:
        return _number_text(x)

    def repr_str(self, x: str, level: int) -> str:
        return quote(x)


def _number_text(number: int) -> str:
    if abs(number).bit_length() <= 4 * QUOTE_CHARS:
        return repr(number)
    digits = int(abs(number).bit_length() * 0.30103) + 1
    return f"<a number of about {digits:,} digits>"


_REPR = _Repr()


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` for a message, cut short: a long string shows its first ``limit``
    characters and its length, a container its first few elements.

    >>> quote("x" * 1000, limit=5)
    "'xxxxx'… (1,000 characters)"
    >>> quote(42)
    '42'
    """
    if isinstance(value, str):
        if type(value).__repr__ is not str.__repr__:
            return repr(value)
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return _number_text(value)
    text = _REPR.repr(value)
    if len(text) > 2 * limit:
        text = text[: 2 * limit] + "…"
    return text


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value came from: a file, a JSON path or a line, and the rule it belongs to."""

    file: str | None = None
    path: str | None = None
    line: int | None = None
    column: int | None = None
    rule_name: str | None = None
    rule_position: int | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            place = self.file
            if self.line is not None:
                place += f":{self.line}"
                if self.column is not None:
                    place += f":{self.column}"
            parts.append(place)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.path:
            parts.append(self.path)
        if self.rule_position is not None or self.rule_name is not None:
            label = "rule"
            if self.rule_name is not None:
                label += f" {self.rule_name!r}"
            if self.rule_position is not None:
                label += f" (#{self.rule_position} in the file)"
            parts.append(label)
        return ": ".join(parts)


class AclError(Exception):
    """Base class of every error ``acl`` raises on purpose."""


class _Located(AclError):
    """An error with a message and an optional :class:`Origin`."""

    def __init__(self, message: str, origin: Origin | None = None) -> None:
        if len(message) > _MESSAGE_CHARS:
            # a value that reached the message unquoted (a library's own error text)
            message = f"{message[:300]}… ({len(message):,} characters) …{message[-200:]}"
        self.message = message
        self.origin = origin
        where = str(origin) if origin is not None else ""
        super().__init__(f"{where}: {message}" if where else message)


class AddressError(_Located, ValueError):
    """A malformed IP address, CIDR or subnet mask."""


class ConfigError(_Located, ValueError):
    """A rule set, site or template that cannot be loaded. Nothing of it is loaded."""


class ServiceTagError(ConfigError):
    """An unknown service tag, or a tag name used where an address was expected."""


class ServiceTagDataError(_Located, ValueError):
    """A service tag data file that is not in Microsoft's ``ServiceTags_Public`` format."""


class RequestError(_Located, ValueError):
    """A request that cannot be evaluated (bad address, zone, bad header value type...)."""


class ExpectationError(_Located, ValueError):
    """An expectation file for ``acl test`` that cannot be read."""


class LogError(_Located, ValueError):
    """A log source that cannot be read at all (a bad line is a reject, never this)."""


class OutputError(_Located, OSError):
    """An output file that cannot be written (a missing folder, a full disk), or that is one
    of the command's inputs. Nothing of it is left behind."""


class ConvertError(ConfigError):
    """A site that the target cannot express; ``rule`` is the culprit, when there is one."""

    def __init__(self, message: str, rule: Rule | None = None) -> None:
        if rule is not None and rule.origin is None:
            message = f"{rule.collection} rule {rule.label}: {message}"
        super().__init__(message, rule.origin if rule is not None else None)
        self.rule = rule


class AnalysisError(AclError, ValueError):
    """An analysis that cannot run as asked: an unknown rule, an impossible option, or a
    state space beyond the bound."""


class UsageError(AclError):
    """A command line that does not make sense."""


class ConfigWarning(UserWarning):
    """Something a loader did that the user should know about: a rule skipped with
    ``unresolved="skip-rule"``, a script command that changed nothing, a file not read."""

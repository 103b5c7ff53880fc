"""The exception tree of ``acl``.

Everything ``acl`` raises on purpose derives from :class:`AclError`. Each leaf also subclasses
the builtin it refines, so ``except ValueError`` keeps working for callers who do not know
``acl``::

    AclError(Exception)
     ├── AddressError(AclError, ValueError)      a malformed address or CIDR
     ├── ConfigError(AclError, ValueError)       a rule set that cannot load, with where it came from
     │    └── ServiceTagError(ConfigError)       an unknown or misplaced service tag name
     ├── ServiceTagDataError(AclError, ValueError)   a service tag file that cannot be read
     ├── RequestError(AclError, ValueError)      a request that cannot be evaluated
     ├── LogError(AclError, ValueError)          a log source that cannot be read at all
     ├── OutputError(AclError, OSError)          an output that cannot be written, or is an input
     └── ExpectationError(AclError, ValueError)  an expectation file (``acl test``) that cannot be read

Messages name the culprit with ``!r``, the file, the JSON path or line, the rule's name and
position, and say what was expected. The CLI prints ``str(error)`` on one line and exits 2.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AclError",
    "AddressError",
    "ConfigError",
    "ExpectationError",
    "LogError",
    "Origin",
    "OutputError",
    "RequestError",
    "ServiceTagDataError",
    "ServiceTagError",
]


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

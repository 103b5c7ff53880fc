"""acl: evaluate Azure App Service access restriction rule sets exactly as App Service does.

>>> import acl
>>> site = acl.loads('''{"ipSecurityRestrictions": [
...     {"name": "afd", "priority": 100, "action": "Allow",
...      "tag": "ServiceTag", "ipAddress": "AzureFrontDoor.Backend",
...      "headers": {"x-azure-fdid": ["0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"]}}]}''')
>>> engine = acl.compile(site)
>>> d = engine.decide(acl.Request(ip="147.243.1.2",
...                               headers={"X-Azure-FDID": "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"}))
>>> d.action, d.allowed, d.status, d.rule.name, d.reason
(<Action.ALLOW: 'Allow'>, True, 200, 'afd', 'rule')
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AclError": "errors",
    "Action": "model",
    "AddressError": "errors",
    "AnalysisError": "errors",
    "BulkDecisions": "engine",
    "ConfigError": "errors",
    "ConfigWarning": "errors",
    "ConvertError": "errors",
    "Decision": "decision",
    "Engine": "engine",
    "ExpectationError": "errors",
    "FORMATS": "formats",
    "HeaderFilter": "model",
    "LoadOptions": "formats",
    "LogError": "errors",
    "Origin": "errors",
    "Outcome": "model",
    "OutputError": "errors",
    "Request": "model",
    "RequestError": "errors",
    "Rule": "model",
    "ServiceTagDataError": "errors",
    "ServiceTagError": "errors",
    "ServiceTags": "servicetags",
    "Site": "model",
    "Source": "model",
    "TraceStep": "model",
    "UsageError": "errors",
    "compile": "engine",
    "evaluate": "reference",
    "load": "formats",
    "load_engine": "engine",
    "load_service_tags": "servicetags",
    "loads": "formats",
}
"""Each public name and the module it lives in: loaded when first used, so that ``import
acl`` (and ``acl --version``) costs nothing until an engine, a loader or a model is asked for."""

if _typing.TYPE_CHECKING:
    from .decision import Decision
    from .engine import BulkDecisions, Engine, compile, load_engine
    from .errors import (
        AclError,
        AddressError,
        AnalysisError,
        ConfigError,
        ConfigWarning,
        ConvertError,
        ExpectationError,
        LogError,
        Origin,
        OutputError,
        RequestError,
        ServiceTagDataError,
        ServiceTagError,
        UsageError,
    )
    from .formats import FORMATS, LoadOptions, load, loads
    from .model import Action, HeaderFilter, Outcome, Request, Rule, Site, Source, TraceStep
    from .reference import evaluate
    from .servicetags import ServiceTags, load_service_tags

__all__ = [
    "AclError",
    "Action",
    "AddressError",
    "AnalysisError",
    "BulkDecisions",
    "ConfigError",
    "ConfigWarning",
    "ConvertError",
    "Decision",
    "Engine",
    "ExpectationError",
    "FORMATS",
    "HeaderFilter",
    "LoadOptions",
    "LogError",
    "Origin",
    "Outcome",
    "OutputError",
    "Request",
    "RequestError",
    "Rule",
    "ServiceTagDataError",
    "ServiceTagError",
    "ServiceTags",
    "Site",
    "Source",
    "TraceStep",
    "UsageError",
    "__version__",
    "compile",
    "evaluate",
    "load",
    "load_engine",
    "load_service_tags",
    "loads",
]


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

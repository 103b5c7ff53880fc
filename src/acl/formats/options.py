"""The options every loader takes: arguments, never module-level switches."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..servicetags import ServiceTags, load_service_tags

__all__ = ["LoadOptions"]


@dataclass(frozen=True)
class LoadOptions:
    """How to load a site.

    Attributes:
        source: the file name used in messages (``<string>`` for text).
        service_tags: a :class:`ServiceTags`, a path to a tag file, or None for
            ``$ACL_SERVICE_TAGS`` or the bundled snapshot.
        site: which site of a file that holds several (an ARM template with many sites).
        parameters: template parameter values by name (``--param NAME=VALUE``); they win over
            ``parameters_file`` and the template's defaults.
        parameters_file: an ARM deployment parameters file (``--parameters FILE``).
    """

    source: str | None = None
    service_tags: ServiceTags | str | os.PathLike[str] | None = None
    site: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    parameters_file: str | os.PathLike[str] | None = None

    def tags(self) -> ServiceTags:
        if isinstance(self.service_tags, ServiceTags):
            return self.service_tags
        return load_service_tags(self.service_tags)

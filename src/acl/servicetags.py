"""Service tags: Microsoft's ``ServiceTags_Public_*.json`` format and the bundled snapshot.

A snapshot of the public cloud file (changeNumber 375) ships inside the package, gzipped.
A newer file is used when given explicitly (``--service-tags PATH``) or through the
``ACL_SERVICE_TAGS`` environment variable. Tag names are looked up case-insensitively; a
tag stands for all its ``addressPrefixes``, both families.

>>> tags = ServiceTags.bundled()
>>> tags.change_number
375
>>> len(tags.prefixes("azurefrontdoor.backend"))
198
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .addresses import Prefix, parse_address, parse_prefix
from .errors import AddressError, Origin, ServiceTagDataError

__all__ = ["ENV_VAR", "ServiceTag", "ServiceTags", "load_service_tags"]

ENV_VAR = "ACL_SERVICE_TAGS"
BUNDLED = "ServiceTags_Public_375.json.gz"


@dataclass(frozen=True, slots=True)
class ServiceTag:
    """One entry of the file: its name, region, system service and raw prefix strings."""

    name: str
    region: str
    system_service: str
    change_number: int | None
    prefix_texts: tuple[str, ...]


@dataclass(frozen=True)
class ServiceTags:
    """A parsed service tag file. Prefixes are parsed on first use, per tag."""

    change_number: int | None
    cloud: str
    source: str
    tags: dict[str, ServiceTag]
    """Lower-case name to tag."""
    _parsed: dict[str, tuple[Prefix, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any, source: str) -> ServiceTags:
        """Read the ``ServiceTags_Public`` structure; errors name the JSON path."""
        if not isinstance(data, dict) or not isinstance(data.get("values"), list):
            raise ServiceTagDataError(
                "not a service tag file: expected an object with a 'values' list",
                Origin(file=source, path="$"),
            )
        tags: dict[str, ServiceTag] = {}
        for index, entry in enumerate(data["values"]):
            path = f"$.values[{index}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise ServiceTagDataError(
                    "expected an object with a string 'name'", Origin(file=source, path=path)
                )
            props = entry.get("properties") or {}
            prefixes = props.get("addressPrefixes") if isinstance(props, dict) else None
            if not isinstance(prefixes, list) or not all(isinstance(p, str) for p in prefixes):
                raise ServiceTagDataError(
                    f"tag {entry['name']!r}: 'properties.addressPrefixes' must be a list of strings",
                    Origin(file=source, path=path),
                )
            key = entry["name"].lower()
            if key in tags:
                raise ServiceTagDataError(
                    f"tag {entry['name']!r} is in the file twice (tag names are matched "
                    f"without case; the first is {tags[key].name!r}): a rule naming it could "
                    "mean either; fix or re-download the file",
                    Origin(file=source, path=path),
                )
            tags[key] = ServiceTag(
                name=entry["name"],
                region=str(props.get("region") or ""),
                system_service=str(props.get("systemService") or ""),
                change_number=props.get("changeNumber"),
                prefix_texts=tuple(prefixes),
            )
        change = data.get("changeNumber")
        return cls(
            change_number=change if isinstance(change, int) else None,
            cloud=str(data.get("cloud") or ""),
            source=source,
            tags=tags,
        )

    @classmethod
    def bundled(cls) -> ServiceTags:
        """The snapshot shipped with ``acl`` (public cloud, changeNumber 375)."""
        return _bundled()

    @property
    def label(self) -> str:
        return f"{self.source} (changeNumber {self.change_number})"

    def get(self, name: str) -> ServiceTag | None:
        return self.tags.get(name.strip().lower())

    def prefixes(self, name: str) -> tuple[Prefix, ...]:
        """The parsed prefixes of a tag, both families, in file order.

        Raises:
            KeyError: no such tag.
        """
        key = name.strip().lower()
        cached = self._parsed.get(key)
        if cached is not None:
            return cached
        tag = self.tags[key]
        parsed: list[Prefix] = []
        for index, text in enumerate(tag.prefix_texts):
            try:
                parsed.append(parse_prefix(text))
            except AddressError as exc:
                raise ServiceTagDataError(
                    f"tag {tag.name!r}: {exc.message}",
                    Origin(file=self.source, path=f"addressPrefixes[{index}]"),
                ) from None
        result = tuple(parsed)
        self._parsed[key] = result
        return result

    def __iter__(self) -> Iterator[ServiceTag]:
        return iter(sorted(self.tags.values(), key=lambda tag: tag.name.lower()))

    def __len__(self) -> int:
        return len(self.tags)

    def containing(self, address: str) -> list[tuple[ServiceTag, Prefix]]:
        """Every tag with a prefix containing ``address``, with the most specific prefix."""
        version, value = parse_address(address, what="address")
        found: list[tuple[ServiceTag, Prefix]] = []
        for tag in self:
            best: Prefix | None = None
            for prefix in self.prefixes(tag.name):
                if prefix.contains(version, value) and (
                    best is None or prefix.length > best.length
                ):
                    best = prefix
            if best is not None:
                found.append((tag, best))
        return found


def _read_json(path: Path) -> Any:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise ServiceTagDataError(
            f"invalid JSON: {exc.msg}", Origin(file=str(path), line=exc.lineno, column=exc.colno)
        ) from None
    except OSError as exc:
        raise ServiceTagDataError(
            f"cannot read service tag file: {exc.strerror or exc}", Origin(file=str(path))
        ) from None


@lru_cache(maxsize=1)
def _bundled() -> ServiceTags:
    ref = resources.files("acl").joinpath("data").joinpath(BUNDLED)
    with ref.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    return ServiceTags.from_json(data, source=f"bundled {BUNDLED}")


@lru_cache(maxsize=8)
def _from_file(path: str, mtime_ns: int) -> ServiceTags:
    return ServiceTags.from_json(_read_json(Path(path)), source=path)


def load_service_tags(path: str | os.PathLike[str] | None = None) -> ServiceTags:
    """The service tags to use: ``path``, else ``$ACL_SERVICE_TAGS``, else the bundled snapshot.

    Files are cached by path and modification time.
    """
    chosen = os.fspath(path) if path is not None else os.environ.get(ENV_VAR) or None
    if chosen is None:
        return _bundled()
    try:
        mtime = os.stat(chosen).st_mtime_ns
    except OSError as exc:
        raise ServiceTagDataError(
            f"cannot read service tag file: {exc.strerror or exc}", Origin(file=chosen)
        ) from None
    return _from_file(chosen, mtime)

"""Every site of a file or folder, for commands that look at a whole fleet (``acl audit``).

:func:`load_sites` reads each site a file holds: an ARM template or ``az group export``
with many sites and slots, a Terraform folder or ``terraform show -json`` with many web
apps, an az CLI or PowerShell script that changes several apps. :func:`fleet_files` turns
the paths a command is given into the files (and Terraform folders) to read.

The loaders pick one site by name (``LoadOptions.site``) and refuse a file with several
when none is named, listing them; :func:`load_sites` reads that list and loads each site by
name, so every loader keeps its one signature.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Origin
from ..model import Site
from . import load

__all__ = ["FLEET_SUFFIXES", "SiteFile", "fleet_files", "load_sites"]

FLEET_SUFFIXES = (".json", ".tfstate", ".tf", ".sh", ".bash", ".zsh", ".azcli", ".ps1", ".psm1")
"""The file names a folder of exports is read for (other files in it are left alone)."""

_SEVERAL = re.compile(
    r"\bhas (?P<count>\d+) (?:sites|web apps): choose one with --site \S+ "
    r"\(one of: (?P<names>.*)\)$|"
    r"\bchanges (?P<count2>\d+) sites: choose one with --site \S+ \(one of: (?P<names2>.*)\)$",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class SiteFile:
    """A site and where it came from: ``source`` the file or folder, ``name`` the site's name
    in it (``app``, ``app/staging``, ``azurerm_linux_web_app.api``)."""

    source: str
    name: str
    site: Site


def _several(error: ConfigError) -> list[str] | None:
    """The site names a loader's "choose one with --site" refusal lists, or None."""
    match = _SEVERAL.search(error.message)
    if match is None:
        return None
    count = int(match.group("count") or match.group("count2"))
    names = [n.strip() for n in (match.group("names") or match.group("names2")).split(", ")]
    if len(names) != count:
        raise ConfigError(
            f"the file has {count} sites, but only {len(names)} of their names could be read "
            "from the loader's list: split the file, or load its sites one by one with --site NAME",
            error.origin,
        ) from None
    return names


def load_sites(
    path: str | os.PathLike[str], *, format: str | None = None, **options: Any
) -> list[SiteFile]:
    """Every site of a file (or Terraform folder), in the loader's order.

    Keyword arguments are :class:`~acl.formats.LoadOptions` fields, as for
    :func:`acl.load`; ``site`` is not one of them (every site is loaded).

    Raises:
        ConfigError: the file cannot be read, or one of its sites cannot be loaded.

    >>> from acl.formats.many import load_sites
    >>> [(s.name, len(s.site.main_rules)) for s in load_sites("examples/frontdoor-site/site.json")]
    [('contoso-shop', 4)]
    """
    if "site" in options:
        raise TypeError("load_sites loads every site: give no site=")
    file = os.fspath(path)
    out: list[SiteFile] = []
    pending: list[tuple[str | None, int]] = [(None, 0)]
    while pending:
        name, depth = pending.pop(0)
        try:
            site = load(file, format=format, site=name, **options)
        except ConfigError as exc:
            names = _several(exc)
            if names is None or depth >= 3:
                raise
            # a name may stand for several instances (Terraform count/for_each): ask again
            pending[:0] = [(each, depth + 1) for each in names]
            continue
        out.append(SiteFile(file, name or site.name or Path(file).stem, site))
    return out


def _is_terraform_folder(folder: Path) -> bool:
    return any(
        child.is_file() and child.name.lower().endswith((".tf", ".tf.json"))
        for child in folder.iterdir()
    )


def fleet_files(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The files and Terraform folders to read for these paths: a file as given; a folder
    with ``.tf`` or ``.tf.json`` files is one Terraform configuration; any other folder is
    searched (sorted, recursively) for files ending in :data:`FLEET_SUFFIXES` and Terraform
    folders.

    Raises:
        ConfigError: a path that does not exist.
    """
    out: list[str] = []
    for given in paths:
        path = Path(os.fspath(given))
        if not path.exists():
            raise ConfigError("no such file or folder", Origin(file=os.fspath(given)))
        if not path.is_dir():
            out.append(os.fspath(given))
            continue
        stack = [path]
        while stack:
            folder = stack.pop()
            if _is_terraform_folder(folder):
                out.append(os.fspath(folder))
                continue
            children = sorted(folder.iterdir(), key=lambda p: p.name)
            out.extend(
                os.fspath(child)
                for child in children
                if child.is_file() and child.name.lower().endswith(FLEET_SUFFIXES)
            )
            stack.extend(
                reversed([c for c in children if c.is_dir() and not c.name.startswith(".")])
            )
    return out

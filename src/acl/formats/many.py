"""Every site of a file or folder, for commands that look at a whole fleet (``acl audit``).

:func:`load_sites` reads each site a file holds: an ARM template or ``az group export``
with many sites and slots, a Terraform folder or ``terraform show -json`` with many web
apps, an az CLI or PowerShell script that changes several apps. :func:`fleet_files` turns
the paths a command is given into the files (and Terraform folders) to read.

:func:`load_sites` reads the file once, with :func:`acl.formats.load_all`: each loader of a
format of several sites (:data:`acl.formats.SITE_NAMES`) builds every site from one parse.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Origin
from ..model import Site
from . import load_all

__all__ = ["FLEET_SUFFIXES", "SiteFile", "fleet_files", "load_sites"]

FLEET_SUFFIXES = (".json", ".tfstate", ".tf", ".sh", ".bash", ".zsh", ".azcli", ".ps1", ".psm1")
"""The file names a folder of exports is read for (other files in it are left alone)."""


@dataclass(frozen=True, slots=True)
class SiteFile:
    """A site and where it came from: ``source`` the file or folder, ``name`` the site's name
    in it (``app``, ``app/staging``, ``azurerm_linux_web_app.api``)."""

    source: str
    name: str
    site: Site


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
    loaded = load_all(file, format=format, **options)
    if len(loaded) == 1:
        # a file of one site: named as the site names itself, else by the file
        site = loaded[0][1]
        return [SiteFile(file, site.name or Path(file).stem, site)]
    return [SiteFile(file, name or site.name or Path(file).stem, site) for name, site in loaded]


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

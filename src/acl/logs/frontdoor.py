"""Azure Front Door access logs, classic (``FrontdoorAccessLog``) and Standard/Premium
(``FrontDoorAccessLog``), as JSON lines or the storage blob document ``{"records": [...]}``.

A Front Door log records the client's request to Front Door, not the request Front Door
then sends to the app. :attr:`~acl.logs.ReadOptions.frontdoor_mode` says which one a record
stands for (a project choice; see ``docs/logs.md``):

* ``origin`` (default): the request that reaches the app. Its source address is a Front
  Door backend address (``ReadOptions.frontdoor_source``, by default ``147.243.0.1`` in
  ``AzureFrontDoor.Backend``); ``X-Forwarded-For`` ends with the client's socket address
  (after ``clientIp`` when that differs: it came from the client's own header);
  ``X-Forwarded-Host`` is the host the client asked for; ``X-Azure-FDID`` is
  ``ReadOptions.fdid`` (absent when not given); the Host is the origin's host name.
  Records served from Front Door's cache (``cacheStatus`` ``HIT``, ``REMOTE_HIT``) never
  reached the app and count as metadata.
* ``client``: the client's request as if it reached the app directly: the source is
  ``socketIp``, the address of the client's own connection (``clientIp`` may come from the
  client's ``X-Forwarded-For`` and is not to be believed, as the app would not believe it),
  the Host the requested host, and ``X-Forwarded-For`` ``clientIp`` when that differs.

``FrontDoorHealthProbeLog`` records are not requests: they count as metadata.

>>> from acl.logs import ReadOptions
>>> line = ('{"category": "FrontDoorAccessLog", "properties": {"clientIp": "198.51.100.7",'
...         ' "socketIp": "198.51.100.7", "hostName": "www.contoso.com",'
...         ' "originName": "contoso-shop.azurewebsites.net:443"}}')
>>> batch = next(read_frontdoor(iter([(1, line)]), "fd.json", ReadOptions(fdid="abc")))
>>> batch.ip, batch.host, batch.headers["X-Forwarded-For"], batch.headers["X-Azure-FDID"]
(['147.243.0.1'], ['contoso-shop.azurewebsites.net'], ['198.51.100.7'], ['abc'])
>>> batch = next(read_frontdoor(iter([(1, line)]), "fd.json", ReadOptions(frontdoor_mode="client")))
>>> batch.ip, batch.host, batch.headers
(['198.51.100.7'], ['www.contoso.com'], {'X-Forwarded-For': [None]})
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from ..addresses import split_host_port
from ..headers import XAZUREFDID, XFORWARDEDFOR, XFORWARDEDHOST
from . import Batch, BatchBuilder, Lines, ReadOptions
from .columns import Item, first_record, json_items

__all__ = ["FORMAT", "READERS", "SNIFFERS", "read_frontdoor", "read_items"]

FORMAT = "frontdoor"
ACCESS_CATEGORY = "frontdooraccesslog"
"""Both spellings, lower case: classic ``FrontdoorAccessLog``, Std/Premium ``FrontDoorAccessLog``."""
PROBE_CATEGORY = "frontdoorhealthprobelog"
_CACHED = frozenset({"HIT", "REMOTE_HIT"})


def read_frontdoor(lines: Lines, source: str, options: ReadOptions) -> Iterator[Batch]:
    """Front Door access log records as requests at the app (see the module docstring)."""
    return read_items(json_items(lines), source, options)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = (value if isinstance(value, str) else json.dumps(value)).strip()
    return text or None


def _host(value: Any) -> str | None:
    """A host name without its port (``contoso.azurewebsites.net:443``)."""
    text = _text(value)
    return split_host_port(text) if text else None


def _uri_host(uri: Any) -> str | None:
    text = _text(uri)
    if not text:
        return None
    try:
        netloc = urlsplit(text).netloc
    except ValueError:
        return None
    netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):  # an IPv6 literal keeps its brackets in a Host header
        return netloc[: netloc.find("]") + 1] or None
    return netloc.partition(":")[0] or None


def read_items(items: Iterable[Item], source: str, options: ReadOptions) -> Iterator[Batch]:
    """Batches from JSON items (see :func:`acl.logs.columns.json_items`)."""
    origin = options.frontdoor_mode == "origin"
    builder = BatchBuilder(
        source,
        FORMAT,
        headers=(XFORWARDEDFOR, XFORWARDEDHOST, XAZUREFDID) if origin else (XFORWARDEDFOR,),
        time=True,
        batch_size=options.batch_size,
    )
    backend = options.frontdoor_source
    fdid = options.fdid
    for number, record, text in items:
        if isinstance(record, int):
            builder.metadata(record)
            continue
        if isinstance(record, str):
            builder.reject(number, record, text)
            continue
        category = record.get("category", record.get("Category"))
        name = category.lower() if isinstance(category, str) else None
        if name == PROBE_CATEGORY:
            builder.metadata()
            continue
        if name is not None and name != ACCESS_CATEGORY:
            builder.reject(number, f"category {category!r} is not FrontDoorAccessLog", text)
            continue
        props = record.get("properties", record.get("Properties", record))
        if isinstance(props, str):
            try:
                props = json.loads(props)
            except json.JSONDecodeError as exc:
                builder.reject(
                    number, f"malformed JSON in properties: {exc.msg} at column {exc.colno}", text
                )
                continue
        if not isinstance(props, dict):
            builder.reject(number, "properties is not a JSON object", text)
            continue
        client = _text(props.get("clientIp"))
        socket = _text(props.get("socketIp"))
        requested = _text(props.get("hostName")) or _uri_host(props.get("requestUri"))
        time = record.get("time")
        if not origin:
            if socket is None:
                builder.reject(number, "missing field socketIp (the client's connection)", text)
                continue
            told = client if client is not None and client != socket else None
            builder.add(
                number, split_host_port(socket), requested, {XFORWARDEDFOR: told}, time=time
            )
        else:
            if socket is None and client is None:
                builder.reject(number, "missing field socketIp", text)
                continue
            if str(props.get("cacheStatus", "")).upper() in _CACHED:
                builder.metadata()  # served from the cache: no request reached the app
                continue
            named = _text(props.get("originName")) or _text(props.get("backendHostname"))
            if named is not None and named.upper() == "N/A":
                # Front Door answered itself (a WAF block, a redirect, an error): no request
                # reached an origin, and the log names none to decide the Host by
                builder.reject(number, f"no origin: originName is {named!r}", text)
                continue
            chain = (
                socket
                if client is None or socket is None or client == socket
                else f"{client}, {socket}"
            )
            builder.add(
                number,
                backend,
                _host(props.get("originName")) or _host(props.get("backendHostname")),
                {XFORWARDEDFOR: chain or client, XFORWARDEDHOST: requested, XAZUREFDID: fdid},
                time=time,
            )
        if builder.full:
            yield builder.take()
    yield from builder.flush()


def _sniff(first: list[str]) -> bool:
    record = first_record(first)
    if record is None:
        return False
    category = record.get("category", record.get("Category"))
    if isinstance(category, str):
        return category.lower().startswith("frontdoor")
    props = record.get("properties", record)
    return isinstance(props, dict) and "clientIp" in props and "socketIp" in props


READERS = {FORMAT: read_frontdoor}
SNIFFERS = [(FORMAT, _sniff)]

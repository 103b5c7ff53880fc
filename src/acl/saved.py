"""Saved engines (``acl-engine/3``): the compiled arrays and the site, in a file that maps.

A saved engine is a zip archive of ``.npy`` members, **stored** (not compressed) with each
member's data aligned to 64 bytes, so that loading maps the file and points the arrays into
it instead of inflating and copying them. The members:

* ``meta``: a JSON document, ``{"format", "shared_scm", "site"}``. The site is in a compact
  form (:func:`site_to_columns`): its settings, and each rule as a JSON array of its fields
  with the *number* of prefixes of each source; the prefixes themselves are the
  ``site.prefix_*`` arrays, so no address text is parsed on load.
* ``digest``: the SHA-256 (hex, ASCII) of the meta bytes and of every array's name, dtype,
  shape and bytes, in name order.
* the table arrays: :data:`ARRAY_FIELDS`, and per family of :data:`FAMILIES` its
  ``starts_hi``, ``starts_lo``, ``ranges`` and ``root`` (scm's once when it shares main's).

Loading checks, in order: the archive's shape (stored members of known names, inside the
file), every array's ``.npy`` header against its bytes (1-d, the dtype its name calls for,
never a pickle), the format, the digest, and then every array a kernel reads (bounds, order,
the root table, the per-rule arrays against the site; see
:func:`acl.compiler.tables_from_arrays`). A damaged, truncated or tampered file is refused
with a :class:`~acl.errors.ConfigError` naming the file and the array.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import mmap
import os
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .addresses import Prefix
from .collector import collector_paused
from .compiler import FamilyTable, Tables, tables_from_arrays
from .errors import AclError, ConfigError, Origin
from .formats.restrictions import header_filter
from .model import HOSTINGS, Action, Rule, Site, Source

__all__ = [
    "ARRAY_FIELDS",
    "FAMILIES",
    "OLD_FORMATS",
    "SAVE_FORMAT",
    "digest_of",
    "engine_digest",
    "is_saved_engine",
    "read_bytes",
    "read_file",
    "site_from_columns",
    "site_to_columns",
    "to_bytes",
    "write_file",
]

SAVE_FORMAT = "acl-engine/3"
"""The format of :meth:`acl.Engine.save` files and pickles (see the module docstring)."""
OLD_FORMATS = ("acl-engine/1", "acl-engine/2")
"""Formats no longer read: the message says to save the engine again."""
ALIGN = 64
"""Every member's data starts at a multiple of this many bytes of the file."""
FAMILY_FIELDS = ("starts_hi", "starts_lo", "ranges", "root")
ARRAY_FIELDS = (
    "list_offsets",
    "list_rules",
    "endpoint_lists",
    "rule_action",
    "rule_cond",
    "rule_subnet",
    "rule_position",
    "rule_collection",
    "rule_filter_offsets",
    "rule_filters",
    "filter_header",
    "defaults",
)
"""The flat arrays of :class:`~acl.compiler.Tables` that are saved, by attribute name."""
FAMILIES = ("v4_main", "v6_main", "v4_scm", "v6_scm")
"""The :class:`~acl.compiler.FamilyTable` attributes of :class:`~acl.compiler.Tables`."""
PREFIX_FIELDS = ("version", "hi", "lo", "length", "host_bits")
"""The columns of the site's prefixes (``site.prefix_<field>``), in the order the rules'
sources list them."""
_DTYPES: dict[str, np.dtype[Any]] = {
    "starts_hi": np.dtype(np.uint64),
    "starts_lo": np.dtype(np.uint64),
    "ranges": np.dtype(np.int32),
    "root": np.dtype(np.uint32),
    "list_offsets": np.dtype(np.int32),
    "list_rules": np.dtype(np.int32),
    "endpoint_lists": np.dtype(np.int32),
    "rule_action": np.dtype(np.uint8),
    "rule_cond": np.dtype(np.uint8),
    "rule_subnet": np.dtype(np.int32),
    "rule_position": np.dtype(np.int32),
    "rule_collection": np.dtype(np.uint8),
    "rule_filter_offsets": np.dtype(np.int32),
    "rule_filters": np.dtype(np.int32),
    "filter_header": np.dtype(np.uint8),
    "defaults": np.dtype(np.uint8),
    "prefix_version": np.dtype(np.uint8),
    "prefix_hi": np.dtype(np.uint64),
    "prefix_lo": np.dtype(np.uint64),
    "prefix_length": np.dtype(np.uint8),
    "prefix_host_bits": np.dtype(np.uint8),
    "meta": np.dtype(np.uint8),
    "digest": np.dtype(np.uint8),
}
_MASK64 = (1 << 64) - 1
_ACTIONS = {action.value: action for action in Action}
_RULE_GROUPS = ("main_rules", "scm_rules", "ignored_rules")
_SETTINGS = (
    "name",
    "source",
    "service_tags_change",
    "main_default",
    "scm_default",
    "scm_use_main",
    "public_network_access",
    "has_private_endpoint",
    "hosting",
    "ip_based_ssl",
    "ip_mode",
)


def saved_names(shared: bool) -> set[str]:
    """The member names of a saved engine (without ``.npy``)."""
    families = FAMILIES[:2] if shared else FAMILIES
    return {
        "meta",
        "digest",
        *ARRAY_FIELDS,
        *(f"{f}.{x}" for f in families for x in FAMILY_FIELDS),
        *(f"site.prefix_{x}" for x in PREFIX_FIELDS),
    }


# ---------------------------------------------------------------------------- the site


def site_to_columns(site: Site) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    """A site as a JSON-ready document and its prefix columns (see the module docstring)."""
    version: list[int] = []
    values: list[int] = []
    length: list[int] = []
    host_bits: list[int] = []
    doc: dict[str, Any] = {
        key: (value.value if isinstance(value, Action) else value)
        for key in _SETTINGS
        for value in (getattr(site, key),)
    }
    for group in _RULE_GROUPS:
        rows = []
        for rule in getattr(site, group):
            sources = []
            for source in rule.sources:
                for prefix in source.prefixes:
                    version.append(prefix.version)
                    values.append(prefix.network)
                    length.append(prefix.length)
                    host_bits.append(prefix.host_bits)
                sources.append([source.kind, source.text, len(source.prefixes), source.subnet])
            rows.append(
                [
                    rule.position,
                    rule.priority,
                    rule.action.value,
                    rule.collection,
                    rule.name,
                    rule.description,
                    rule.ip_address,
                    rule.subnet_mask,
                    rule.vnet_subnet_resource_id,
                    rule.vnet_traffic_tag,
                    rule.subnet_traffic_tag,
                    rule.tag,
                    sources,
                    [[h.name, list(h.values)] for h in rule.headers],
                ]
            )
        doc[group] = rows
    wide = [v >> 64 for v in values] if any(v == 6 for v in version) else [0] * len(values)
    columns: dict[str, npt.NDArray[Any]] = {
        "site.prefix_version": np.array(version, dtype=np.uint8),
        "site.prefix_hi": np.array(wide, dtype=np.uint64),
        "site.prefix_lo": np.array([v & _MASK64 for v in values], dtype=np.uint64),
        "site.prefix_length": np.array(length, dtype=np.uint8),
        "site.prefix_host_bits": np.array(host_bits, dtype=np.uint8),
    }
    return doc, columns


def _ones(count: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """Per value, a uint64 whose ``count`` (0 to 64) low bits are set."""
    low = (np.uint64(1) << np.minimum(count, 63).astype(np.uint64)) - np.uint64(1)
    ones: npt.NDArray[np.uint64] = np.where(count >= 64, ~np.uint64(0), low)
    return ones


def _prefixes(columns: Mapping[str, npt.NDArray[Any]], where: Origin) -> list[Prefix]:
    """The site's prefixes from their columns, each checked to be a network of its length."""
    version = columns["site.prefix_version"]
    hi = columns["site.prefix_hi"]
    lo = columns["site.prefix_lo"]
    length = columns["site.prefix_length"]
    host_bits = columns["site.prefix_host_bits"]
    n = len(version)

    def bad(field: str, what: str) -> ConfigError:
        return ConfigError(f"saved engine array 'site.prefix_{field}' {what}", where)

    for field, column in (("hi", hi), ("lo", lo), ("length", length), ("host_bits", host_bits)):
        if len(column) != n:
            raise bad(field, f"has {len(column)} values for the {n} of 'site.prefix_version'")
    v4 = version == 4
    if not np.all(v4 | (version == 6)):
        raise bad("version", "holds a version that is neither 4 nor 6")
    bits = np.where(v4, 32, 128)
    if np.any(length > bits):
        raise bad("length", "holds a malformed prefix length (longer than its address)")
    if np.any(host_bits > 1):
        raise bad("host_bits", "holds a value that is not 0 or 1")
    if np.any(v4 & ((hi != 0) | (lo >> 32 != 0))):
        raise bad("hi", "and 'site.prefix_lo' hold an IPv4 prefix that is not an IPv4 address")
    # The bits past the prefix length are zero: a network, not an address.
    shift = bits - length.astype(np.int64)
    if np.any(lo & _ones(np.minimum(shift, 64))) or np.any(hi & _ones(np.clip(shift - 64, 0, 64))):
        raise bad("lo", "and 'site.prefix_hi' hold a prefix with host bits set")
    if not np.any(~v4):
        return [
            Prefix(4, value, size, bool(flag))
            for value, size, flag in zip(
                lo.tolist(), length.tolist(), host_bits.tolist(), strict=True
            )
        ]
    return [
        Prefix(v, (h << 64) | low if v == 6 else low, size, bool(flag))
        for v, h, low, size, flag in zip(
            version.tolist(),
            hi.tolist(),
            lo.tolist(),
            length.tolist(),
            host_bits.tolist(),
            strict=True,
        )
    ]


def site_from_columns(
    doc: Any, columns: Mapping[str, npt.NDArray[Any]], *, source: str | None = None
) -> Site:
    """The site of :func:`site_to_columns` (no address text is parsed).

    Raises:
        ConfigError: a value is malformed, or the prefix counts do not add up to the columns.
    """
    where = Origin(file=source)
    prefixes = _prefixes(columns, where)
    taken = 0
    try:
        groups: dict[str, tuple[Rule, ...]] = {}
        for group in _RULE_GROUPS:
            rules = []
            for i, row in enumerate(doc[group]):
                (position, priority, action, collection, name, description, ip_address,
                 subnet_mask, vnet_id, vnet_tag, subnet_tag, tag, sources, headers) = row  # fmt: skip
                origin = Origin(file=source, path=f"$.{group}[{i}]")
                built = []
                for kind, text, count, subnet in sources:
                    if not isinstance(count, int) or count < 0 or taken + count > len(prefixes):
                        raise ValueError(
                            f"source {text!r} counts prefixes past 'site.prefix_version'"
                        )
                    built.append(Source(kind, text, tuple(prefixes[taken : taken + count]), subnet))
                    taken += count
                if collection not in ("main", "scm"):
                    raise ValueError(f"collection {collection!r} is not main or scm")
                rules.append(
                    Rule(
                        position=int(position),
                        priority=int(priority),
                        action=_ACTIONS[action],
                        sources=tuple(built),
                        collection=collection,
                        name=name,
                        description=description,
                        ip_address=ip_address,
                        subnet_mask=subnet_mask,
                        vnet_subnet_resource_id=vnet_id,
                        vnet_traffic_tag=vnet_tag,
                        subnet_traffic_tag=subnet_tag,
                        tag=tag,
                        headers=tuple(header_filter(h, tuple(v), origin) for h, v in headers),
                        origin=origin,
                    )
                )
            groups[group] = tuple(rules)
        if taken != len(prefixes):
            raise ValueError(
                f"the rules hold {taken} prefixes, 'site.prefix_version' {len(prefixes)}"
            )
        if doc["hosting"] not in HOSTINGS:
            raise ValueError(f"hosting {doc['hosting']!r} is not one of {', '.join(HOSTINGS)}")
        return Site(
            main_rules=groups["main_rules"],
            scm_rules=groups["scm_rules"],
            ignored_rules=groups["ignored_rules"],
            main_default=Action(doc["main_default"]) if doc["main_default"] else None,
            scm_default=Action(doc["scm_default"]) if doc["scm_default"] else None,
            scm_use_main=bool(doc["scm_use_main"]),
            public_network_access=doc["public_network_access"],
            name=doc["name"],
            source=doc["source"],
            service_tags_change=doc["service_tags_change"],
            has_private_endpoint=bool(doc["has_private_endpoint"]),
            hosting=doc["hosting"],
            ip_based_ssl=bool(doc["ip_based_ssl"]),
            ip_mode=doc["ip_mode"],
        )
    except AclError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"saved engine site is malformed: {exc!r:.200}", where) from None


# ---------------------------------------------------------------------------- digests


def digest_of(meta: bytes, arrays: Mapping[str, npt.NDArray[Any]]) -> str:
    """SHA-256 over the meta bytes and every array's name, dtype, shape and bytes, in name
    order (the ``digest`` member is not part of it)."""
    h = hashlib.sha256()
    h.update(meta)
    for name in sorted(arrays):
        if name in ("meta", "digest"):
            continue
        array = np.ascontiguousarray(arrays[name])
        h.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        h.update(array.data.cast("B"))
    return h.hexdigest()


def table_arrays(tables: Tables) -> dict[str, npt.NDArray[Any]]:
    """The table arrays an engine is saved with, by member name (scm's once when shared)."""
    arrays: dict[str, npt.NDArray[Any]] = {name: getattr(tables, name) for name in ARRAY_FIELDS}
    shared = tables.v4_scm is tables.v4_main
    for family in FAMILIES[:2] if shared else FAMILIES:
        table: FamilyTable = getattr(tables, family)
        for field in FAMILY_FIELDS:
            arrays[f"{family}.{field}"] = getattr(table, field)
    return arrays


def engine_digest(site: Site, tables: Tables) -> str:
    """:attr:`acl.Engine.digest`: a BLAKE2b of the table arrays and every field of the site
    and its rules (the prefixes a source stands for are in the arrays)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(SAVE_FORMAT.encode())
    for name, array in table_arrays(tables).items():
        array = np.ascontiguousarray(array)
        h.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        h.update(array.data)
    h.update(b"\0site\0")
    _hash_site(h, site)
    return h.hexdigest()


def _hash_site(h: Any, site: Site) -> None:
    """Feed every field of a site and its rules to a hash, one rule at a time. The ``repr``
    of tuples of text, numbers and None is the same in every process."""
    h.update(repr(tuple(getattr(site, key) for key in _SETTINGS)).encode())
    for group in _RULE_GROUPS:
        h.update(b"\0rules\0")
        for rule in getattr(site, group):
            h.update(
                repr(
                    (
                        rule.position,
                        rule.priority,
                        rule.action.value,
                        rule.collection,
                        rule.name,
                        rule.description,
                        rule.ip_address,
                        rule.subnet_mask,
                        rule.vnet_subnet_resource_id,
                        rule.vnet_traffic_tag,
                        rule.subnet_traffic_tag,
                        rule.tag,
                        tuple((s.kind, s.text, s.subnet, len(s.prefixes)) for s in rule.sources),
                        tuple((f.name, tuple(f.values)) for f in rule.headers),
                    )
                ).encode()
            )


# ---------------------------------------------------------------------------- writing


def _members(site: Site, tables: Tables) -> dict[str, npt.NDArray[Any]]:
    """Every member of the saved engine, by name, ``meta`` and ``digest`` included."""
    with collector_paused():
        doc, columns = site_to_columns(site)
    arrays = {**table_arrays(tables), **columns}
    meta = json.dumps(
        {"format": SAVE_FORMAT, "shared_scm": tables.v4_scm is tables.v4_main, "site": doc},
        separators=(",", ":"),
    ).encode()
    digest = digest_of(meta, arrays).encode()
    return {
        "meta": np.frombuffer(meta, dtype=np.uint8),
        "digest": np.frombuffer(digest, dtype=np.uint8),
        **arrays,
    }


def write_members(stream: Any, members: Mapping[str, npt.NDArray[Any]]) -> None:
    """Write ``.npy`` members as a stored zip whose data start on :data:`ALIGN` bytes."""
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in members.items():
            member = f"{name}.npy"
            header = io.BytesIO()
            array = np.ascontiguousarray(array)
            np.lib.format.write_array_header_1_0(
                header, np.lib.format.header_data_from_array_1_0(array)
            )
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            start = stream.tell() + 30 + len(member.encode())
            pad = (-(start + 4)) % ALIGN
            info.extra = struct.pack("<HH", 0xD935, pad) + b"\0" * pad
            size = len(header.getvalue()) + array.nbytes
            with archive.open(info, "w", force_zip64=size > 0x7FFF0000) as out:
                out.write(header.getvalue())
                out.write(array.data.cast("B"))


def to_bytes(site: Site, tables: Tables) -> bytes:
    """The saved form of an engine, in memory (pickles carry it)."""
    buffer = io.BytesIO()
    write_members(buffer, _members(site, tables))
    return buffer.getvalue()


def write_file(path: str | os.PathLike[str], site: Site, tables: Tables) -> None:
    """Write a saved engine; the file appears only when complete."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as stream:
            write_members(stream, _members(site, tables))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


# ---------------------------------------------------------------------------- reading


def _npy(buffer: Any, start: int, size: int, name: str, where: Origin) -> npt.NDArray[Any]:
    """The ``.npy`` member at ``buffer[start:start + size]`` as a read-only array over the
    buffer: 1-d, the dtype its name calls for, its header agreeing with the bytes that
    follow (nothing is allocated from the header's word alone; no pickle is ever read)."""
    expected = _DTYPES[name.rpartition(".")[2].removeprefix("site.")]
    stream = io.BytesIO(bytes(memoryview(buffer)[start : start + min(size, 1 << 16)]))
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"npy version {version} is not supported")
    except Exception as exc:
        raise ConfigError(
            f"saved engine array {name!r} is not a numpy array: {exc}", where
        ) from None
    if dtype != expected or len(shape) != 1 or fortran:
        raise ConfigError(
            f"saved engine array {name!r} has dtype {dtype} and shape {shape}, expected a "
            f"1-d {expected} array",
            where,
        )
    offset = stream.tell()
    count = int(shape[0])
    if size - offset != count * expected.itemsize:
        raise ConfigError(
            f"saved engine array {name!r} holds {size - offset} bytes for {count} values", where
        )
    array = np.frombuffer(buffer, dtype=expected, count=count, offset=start + offset)
    if (start + offset) % expected.itemsize:
        array = array.copy()  # an unaligned member (not written by acl): copied once
        array.flags.writeable = False
    return array


def _archive(buffer: Any, where: Origin) -> dict[str, npt.NDArray[Any]]:
    """Every member of a saved engine's zip, as arrays over ``buffer``."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    allowed = saved_names(False)
    try:
        with zipfile.ZipFile(_Reader(buffer)) as archive:
            infos = archive.infolist()
    except Exception as exc:
        raise ConfigError(f"not a saved acl engine: {exc}", where) from None
    names = [info.filename for info in infos]
    if "meta.npy" not in names:
        raise ConfigError("not a saved acl engine (no meta)", where)
    if len(names) != len(set(names)) or len(names) > len(allowed):
        raise ConfigError("not a saved acl engine (unexpected members)", where)
    total = len(buffer)
    for info in infos:
        name = info.filename.removesuffix(".npy")
        if name not in allowed or not info.filename.endswith(".npy"):
            raise ConfigError(
                f"not a saved acl engine (unexpected member {info.filename!r:.60})", where
            )
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise ConfigError(
                f"not a saved acl engine (member {info.filename!r} is compressed: "
                f"{SAVE_FORMAT} stores its arrays)",
                where,
            )
        local = info.header_offset
        if (
            local < 0
            or local + 30 > total
            or bytes(memoryview(buffer)[local : local + 4]) != b"PK\x03\x04"
        ):
            raise ConfigError(
                f"not a saved acl engine (member {info.filename!r} has no header)", where
            )
        name_length, extra_length = struct.unpack(
            "<HH", bytes(memoryview(buffer)[local + 26 : local + 30])
        )
        start = local + 30 + name_length + extra_length
        if start + info.file_size > total:
            raise ConfigError(
                f"not a saved acl engine (member {info.filename!r} is cut short)", where
            )
        arrays[name] = _npy(buffer, start, info.file_size, name, where)
    return arrays


class _Reader(io.RawIOBase):
    """A seekable, read-only file over a buffer (bytes or a map), copying only what is read:
    :mod:`zipfile` reads just the directory through it."""

    def __init__(self, buffer: Any) -> None:
        self._view = memoryview(buffer)
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._at, len(self._view))[whence]
        self._at = max(0, base + offset)
        return self._at

    def tell(self) -> int:
        return self._at

    def readinto(self, target: Any) -> int:
        chunk = self._view[self._at : self._at + len(target)]
        target[: len(chunk)] = chunk
        self._at += len(chunk)
        return len(chunk)


def _read(buffer: Any, source: str) -> tuple[Site, Tables]:
    with collector_paused():
        return _restore(buffer, source)


def _restore(buffer: Any, source: str) -> tuple[Site, Tables]:
    where = Origin(file=source)
    arrays = _archive(buffer, where)
    meta_bytes = arrays.pop("meta").tobytes()
    try:
        meta = json.loads(meta_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"saved engine meta is not JSON: {exc}", where) from None
    if not isinstance(meta, dict):
        raise ConfigError("saved engine meta is not a JSON object", where)
    form = meta.get("format")
    if form in OLD_FORMATS:
        raise ConfigError(
            f"saved engine format {form!r} is no longer read: load the rules and save the "
            f"engine again ({SAVE_FORMAT}, which maps instead of inflating)",
            where,
        )
    if form != SAVE_FORMAT:
        raise ConfigError(
            f"not a saved acl engine (format {form!r:.60}, expected {SAVE_FORMAT!r})", where
        )
    shared = meta.get("shared_scm")
    if (
        not isinstance(shared, bool)
        or not isinstance(meta.get("site"), dict)
        or set(meta) != {"format", "shared_scm", "site"}
    ):
        raise ConfigError("saved engine meta is malformed", where)
    digest = arrays.pop("digest", None)
    missing = saved_names(shared) - {"meta", "digest"} - set(arrays)
    extra = set(arrays) - saved_names(shared)
    if digest is None or missing or extra:
        raise ConfigError(
            f"saved engine arrays do not fit its meta: missing "
            f"{sorted(missing) + ([] if digest is not None else ['digest'])}, "
            f"unexpected {sorted(extra)}",
            where,
        )
    if not hmac.compare_digest(digest.tobytes(), digest_of(meta_bytes, arrays).encode()):
        raise ConfigError(
            "saved engine is damaged: its SHA-256 digest does not match its contents", where
        )
    site = site_from_columns(meta["site"], arrays, source=source)
    if shared != site.scm_use_main:
        raise ConfigError(
            "saved engine meta says scm shares main's tables, but its site does not agree", where
        )
    families = {}
    for family in FAMILIES:
        name = family.replace("scm", "main") if shared else family
        bits = 32 if family.startswith("v4") else 128
        families[family] = FamilyTable(bits, *(arrays[f"{name}.{f}"] for f in FAMILY_FIELDS))
    tables = tables_from_arrays(
        site, families, {name: arrays[name] for name in ARRAY_FIELDS}, source=source
    )
    return site, tables


def is_saved_engine(path: str | os.PathLike[str]) -> bool:
    """Whether a file starts as :func:`write_file` starts one (a zip whose first member is
    ``meta.npy``): what lets commands that take rules take a saved engine too."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(64)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") and head[30:38] == b"meta.npy"


def read_bytes(data: bytes, source: str = "<pickle>") -> tuple[Site, Tables]:
    """The site and tables of a saved engine held in memory (the arrays point into it)."""
    return _read(data, source)


def read_file(path: str | os.PathLike[str]) -> tuple[Site, Tables]:
    """The site and tables of a saved engine file, its arrays mapped from the file."""
    file = os.fspath(path)
    try:
        with open(file, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            buffer: Any = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    except OSError as exc:
        raise ConfigError(
            f"cannot read engine file: {exc.strerror or exc}", Origin(file=file)
        ) from None
    return _read(buffer, file)

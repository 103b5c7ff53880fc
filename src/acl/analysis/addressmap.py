"""Pictures of the address space: which rule claims each address, and what a diff opens.

``acl diff --format html`` and ``acl lint --format html`` draw, per collection, the IPv4
space on a Hilbert curve (:func:`hilbert_xy`: consecutive addresses stay close, and every
CIDR block is a square or a 2:1 rectangle) and the IPv6 space as one small Hilbert square per
``/32`` in use. Each address is coloured by the rule that decides a request from it that
does not come through a service endpoint: the first rule of the compiled list whose source
covers it and that can match such a request. A rule with header conditions is drawn
hatched (requests without those headers go on to later rules); addresses no rule covers
take the unmatched-rule action. A diff's changed ranges are outlined, one outline per CIDR.

The page is one self-contained file: inline SVG and CSS, no script, no external resource.

>>> [hilbert_xy(1, d) for d in range(4)]
[(0, 0), (0, 1), (1, 1), (1, 0)]
>>> hilbert_index(1, 1, 0)
3
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from ..addresses import MAPPED_V4, format_address
from ..model import COLLECTIONS, Action, Collection, Site
from .conditions import EP_DIRECT, EP_NONE
from .diff import Diff, Difference
from .lint import Finding
from .ranges import BITS, MAPPED_LAST, format_cidr, range_to_cidrs
from .space import CollectionModel, Space

__all__ = [
    "IPV4_ORDER",
    "IPV6_ORDER",
    "IPV6_PANELS",
    "Region",
    "diff_html",
    "hilbert_index",
    "hilbert_xy",
    "lint_html",
    "model_regions",
    "regions",
    "used_blocks",
]

IPV4_ORDER = 12
"""The IPv4 map is a 4096 x 4096 Hilbert square: one cell per ``/24``."""
IPV6_ORDER = 8
"""Each IPv6 ``/32`` is a 256 x 256 Hilbert square: one cell per ``/48``."""
IPV6_PANELS = 16
"""The most IPv6 ``/32`` squares drawn per map; the others are named below it."""

ALLOW_COLOURS = ("#2e7d32", "#1565c0", "#00838f", "#6a1b9a", "#9e9d24", "#283593", "#4e342e")
DENY_COLOURS = ("#c62828", "#ef6c00", "#ad1457", "#f9a825", "#6d4c41")
DEFAULT_COLOURS = {Action.ALLOW: "#c8e6c9", Action.DENY: "#eceff1"}
DISABLED_COLOUR = "#9e9e9e"
OUTLINE = "#ff00ff"


# ---------------------------------------------------------------------------- the curve


def hilbert_xy(order: int, index: int) -> tuple[int, int]:
    """The cell ``(x, y)`` of position ``index`` on the Hilbert curve filling a
    ``2**order`` square; the inverse of :func:`hilbert_index`."""
    x = y = 0
    t = index
    s = 1
    while s < (1 << order):
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        if ry == 0:
            if rx == 1:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        x += s * rx
        y += s * ry
        t //= 4
        s *= 2
    return x, y


def hilbert_index(order: int, x: int, y: int) -> int:
    """The position on the Hilbert curve of cell ``(x, y)`` of a ``2**order`` square."""
    n = 1 << order
    d = 0
    s = n // 2
    while s > 0:
        rx = 1 if x & s else 0
        ry = 1 if y & s else 0
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0:
            if rx == 1:
                x, y = n - 1 - x, n - 1 - y
            x, y = y, x
        s //= 2
    return d


def block_rect(order: int, start: int, cells_log2: int) -> tuple[int, int, int, int]:
    """``(x, y, width, height)`` of ``2**cells_log2`` consecutive cells from ``start``
    (aligned to their count): a square when the count is a power of 4, else two squares
    side by side."""
    if cells_log2 % 2 == 0:
        side = 1 << (cells_log2 // 2)
        x, y = hilbert_xy(order, start)
        return (x // side) * side, (y // side) * side, side, side
    side = 1 << (cells_log2 // 2)
    half = 1 << (cells_log2 - 1)
    corners = []
    for part in (start, start + half):
        x, y = hilbert_xy(order, part)
        corners.append(((x // side) * side, (y // side) * side))
    x0 = min(c[0] for c in corners)
    y0 = min(c[1] for c in corners)
    x1 = max(c[0] for c in corners) + side
    y1 = max(c[1] for c in corners) + side
    return x0, y0, x1 - x0, y1 - y0


# ---------------------------------------------------------------------------- regions


@dataclass(frozen=True, slots=True)
class Region:
    """Consecutive addresses of one family claimed alike: ``key`` names the rule (its
    position in the collection's evaluation order) or ``-1`` for the unmatched-rule action,
    ``-3`` when public access is disabled; ``conditional`` when the rule has header
    conditions."""

    version: int
    first: int
    last: int
    key: int
    conditional: bool


def _claim(model: CollectionModel, members: Sequence[int]) -> tuple[int, bool]:
    if model.disabled:
        return -3, False
    for k in members:
        cond = model.conds[k]
        if cond.endpoint in (EP_NONE, EP_DIRECT):
            return k, bool(cond.filters)
    return -1, False


def regions(site: Site, collection: Collection) -> tuple[Region, ...]:
    """The regions of a site's collection, both families, in address order (the
    IPv4-mapped IPv6 block, which holds no request address, is left out)."""
    return model_regions(Space([site]).model(site, collection))


def model_regions(model: CollectionModel) -> tuple[Region, ...]:
    """:func:`regions` of a compiled collection."""
    out: list[Region] = []
    for version in (4, 6):
        for first, last, list_id in model.segments(version):
            key, conditional = _claim(model, model.cut1[list_id])
            previous = out[-1] if out else None
            if (
                previous is not None
                and previous.version == version
                and (previous.key, previous.conditional) == (key, conditional)
                and previous.last + 1 == first
            ):
                out[-1] = Region(version, previous.first, last, key, conditional)
            else:
                out.append(Region(version, first, last, key, conditional))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Style:
    colour: str
    label: str
    conditional: bool
    pattern: str


def _styles(
    model: CollectionModel, used: Iterable[tuple[int, bool]]
) -> dict[tuple[int, bool], _Style]:
    styles: dict[tuple[int, bool], _Style] = {}
    allow = deny = 0
    for key, conditional in sorted(set(used)):
        if key == -3:
            colour, label = DISABLED_COLOUR, "deny: public access is disabled"
        elif key == -1:
            action, why = model.site.default_explained(model.collection)
            colour, label = DEFAULT_COLOURS[action], f"{action.word} by default ({why})"
        else:
            rule = model.rules[key]
            if rule.action is Action.ALLOW:
                colour = ALLOW_COLOURS[allow % len(ALLOW_COLOURS)]
                allow += 1
            else:
                colour = DENY_COLOURS[deny % len(DENY_COLOURS)]
                deny += 1
            label = f"{rule.action.word}: rule {rule.label}"
            if conditional:
                headers = sorted({f.name for f in rule.headers})
                label += f", when {' and '.join(headers)} match (else a later rule)"
        pattern = f"h{len(styles)}"
        styles[(key, conditional)] = _Style(colour, label, conditional, pattern)
    return styles


# ---------------------------------------------------------------------------- drawing


@dataclass(frozen=True, slots=True)
class _Panel:
    """A square of the map: ``base`` and ``span`` (host bits) of the addresses it holds."""

    version: int
    base: int
    span: int
    order: int
    title: str

    @property
    def last(self) -> int:
        return self.base + (1 << self.span) - 1

    def rects(self, first: int, last: int) -> Iterator[tuple[str, tuple[int, int, int, int]]]:
        """The CIDR blocks of ``first..last`` inside this panel, each as its CIDR text and
        its rectangle in cells (blocks smaller than a cell take the whole cell)."""
        first, last = max(first, self.base), min(last, self.last)
        if first > last:
            return
        cell_bits = self.span - 2 * self.order
        for network, length in range_to_cidrs(first, last, BITS[self.version]):
            host_bits = BITS[self.version] - length
            start = (network - self.base) >> cell_bits
            cells = max(host_bits - cell_bits, 0)
            yield format_cidr(self.version, network, length), block_rect(self.order, start, cells)


def used_blocks(regions_: Sequence[Region], extra: Iterable[tuple[int, int, int]]) -> list[int]:
    """The IPv6 ``/32`` blocks in use (their top 32 bits, sorted): those holding a boundary
    between two regions or an end of an ``extra`` range. The boundaries next to the
    IPv4-mapped block (which no request address is in) do not count."""
    top = (1 << 128) - 1
    used: set[int] = set()
    for region in regions_:
        if region.version != 6:
            continue
        if region.first not in (0, MAPPED_LAST + 1):
            used.add(region.first >> 96)
        if region.last not in (top, MAPPED_V4 - 1):
            used.add(region.last >> 96)
    for version, first, last in extra:
        if version == 6:
            used.update((first >> 96, last >> 96))
    return sorted(used)


def _panels(
    version: int, regions_: Sequence[Region], extra: Iterable[tuple[int, int, int]]
) -> tuple[list[_Panel], list[str]]:
    if version == 4:
        return [_Panel(4, 0, 32, IPV4_ORDER, "IPv4 (0.0.0.0/0, one cell per /24)")], []
    chosen = used_blocks(regions_, extra)
    panels = [
        _Panel(6, top << 96, 96, IPV6_ORDER, format_cidr(6, top << 96, 32) + " (one cell per /48)")
        for top in chosen[:IPV6_PANELS]
    ]
    rest = [format_cidr(6, top << 96, 32) for top in chosen[IPV6_PANELS:]]
    return panels, rest


def _patterns(styles: dict[tuple[int, bool], _Style], ident: str, unit: float) -> str:
    """The hatch patterns of the conditional styles, sized for one map (``unit``: view
    box units per pixel)."""
    w = 6 * unit
    return "".join(
        f'<pattern id="{ident}-{s.pattern}" patternUnits="userSpaceOnUse" width="{w:g}" '
        f'height="{w:g}" patternTransform="rotate(45)"><rect width="{w:g}" height="{w:g}" '
        f'fill="#ffffff"/><rect width="{w / 2:g}" height="{w:g}" fill="{s.colour}"/></pattern>'
        for s in styles.values()
        if s.conditional
    )


def _octets(panel: _Panel, unit: float) -> str:
    """Faint labels of the IPv4 ``/8`` squares (each a quarter of a quarter ... of the map)."""
    if panel.version != 4:
        return ""
    side = 1 << (panel.order - 4)
    labels = []
    for octet in range(256):
        x, y = hilbert_xy(4, octet)
        labels.append(
            f'<text x="{x * side + side / 2:g}" y="{y * side + side / 2:g}">{octet}</text>'
        )
    return (
        f'<g class="octets" fill="#90a4ae" font-size="{9 * unit:g}" text-anchor="middle" '
        f'dominant-baseline="central" aria-hidden="true">{"".join(labels)}</g>'
    )


def _svg(
    panel: _Panel,
    regions_: Sequence[Region],
    styles: dict[tuple[int, bool], _Style],
    outlines: Sequence[tuple[int, int, int]],
    pixels: int,
    ident: str,
) -> str:
    """One map. Regions and outlines smaller than a few pixels also get a marker (a dot,
    a ring) so that they can be seen; their rectangles keep the true geometry."""
    size = 1 << panel.order
    unit = size / pixels
    small = 4 * unit
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map" id="{ident}" role="img" '
        f'aria-label="{html.escape(panel.title)}" viewBox="0 0 {size} {size}" '
        f'width="{pixels}" height="{pixels}">',
        f"<defs>{_patterns(styles, ident, unit)}</defs>",
        f'<rect x="0" y="0" width="{size}" height="{size}" fill="#ffffff"/>',
    ]
    for region in regions_:
        if region.version != panel.version or region.last < panel.base or region.first > panel.last:
            continue
        style = styles[(region.key, region.conditional)]
        fill = f"url(#{ident}-{style.pattern})" if style.conditional else style.colour
        shown_first = format_address(region.version, region.first)
        shown_last = format_address(region.version, region.last)
        boxes = [box for _, box in panel.rects(region.first, region.last)]
        shapes = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}"/>' for x, y, w, h in boxes]
        x, y, w, h = max(boxes, key=lambda box: box[2] * box[3])
        if max(w, h) < small:
            shapes.append(
                f'<circle class="marker" cx="{x + w / 2:g}" cy="{y + h / 2:g}" r="{4 * unit:g}" '
                f'fill="{style.colour}" stroke="#263238" stroke-width="{0.5 * unit:g}"/>'
            )
        parts.append(
            f'<g class="region" data-key="{style.pattern}" data-first="{shown_first}" '
            f'data-last="{shown_last}" fill="{fill}">{"".join(shapes)}</g>'
        )
    parts.append(_octets(panel, unit))
    for version, first, last in outlines:
        if version != panel.version:
            continue
        for cidr, (x, y, w, h) in panel.rects(first, last):
            parts.append(
                f'<rect class="changed" data-cidr="{cidr}" x="{x}" y="{y}" width="{w}" '
                f'height="{h}" fill="none" stroke="{OUTLINE}" stroke-width="{1.5 * unit:g}"/>'
            )
            if max(w, h) < small:
                parts.append(
                    f'<circle class="changed-mark" cx="{x + w / 2:g}" cy="{y + h / 2:g}" '
                    f'r="{6 * unit:g}" fill="none" stroke="{OUTLINE}" '
                    f'stroke-width="{1.5 * unit:g}"/>'
                )
    parts.append("</svg>")
    return "".join(parts)


def _legend(styles: dict[tuple[int, bool], _Style], outlined: bool, ident: str) -> str:
    items = []
    for s in styles.values():
        fill = f"url(#{ident}-{s.pattern})" if s.conditional else s.colour
        items.append(
            f'<li data-key="{s.pattern}"><svg xmlns="http://www.w3.org/2000/svg" width="14" height="14" '
            f'viewBox="0 0 14 14"><rect width="14" height="14" fill="{fill}" stroke="#555"/></svg> '
            f"{html.escape(s.label)}</li>"
        )
    if outlined:
        items.append(
            '<li><svg xmlns="http://www.w3.org/2000/svg" width="14" height="14" viewBox="0 0 14 14">'
            f'<rect x="1" y="1" width="12" height="12" fill="none" stroke="{OUTLINE}" '
            'stroke-width="2"/></svg> decided differently by the new rules (outlined)</li>'
        )
    defs = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0" aria-hidden="true">'
        f"<defs>{_patterns(styles, ident, 1)}</defs></svg>"
    )
    return defs + '<ul class="legend">' + "".join(items) + "</ul>"


def collection_map(
    site: Site,
    collection: Collection,
    outlines: Sequence[tuple[int, int, int]] = (),
    *,
    ident: str = "map",
    pixels: int = 512,
) -> str:
    """The maps (IPv4, then the IPv6 ``/32`` squares) and legend of one collection, as an
    HTML fragment; ``outlines`` are ``(version, first, last)`` ranges to outline, ``ident``
    a prefix for the element ids, unique in the page."""
    model = Space([site]).model(site, collection)
    found = model_regions(model)
    styles = _styles(model, [(r.key, r.conditional) for r in found])
    out = ['<div class="maps">']
    for version in (4, 6):
        panels, rest = _panels(version, found, outlines)
        for number, panel in enumerate(panels):
            small = pixels if version == 4 else pixels // 2
            svg = _svg(panel, found, styles, outlines, small, f"{ident}-v{version}-{number}")
            out.append(
                f'<figure class="ipv{version}">{svg}'
                f"<figcaption>{html.escape(panel.title)}</figcaption></figure>"
            )
        if rest:
            out.append(
                '<p class="more">IPv6 /32 blocks in use not drawn: '
                + html.escape(", ".join(rest))
                + "</p>"
            )
    out.append("</div>")
    out.append(_legend(styles, bool(outlines), f"{ident}-legend"))
    return "".join(out)


# ---------------------------------------------------------------------------- pages

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1b1b1b}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}h3{font-size:15px}
.maps{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure{margin:0}figcaption{font-size:12px;color:#555}
svg.map{border:1px solid #bbb;background:#fff}
ul.legend{list-style:none;padding:0}ul.legend li{margin:2px 0}
ul.legend svg{vertical-align:middle}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left;vertical-align:top}code{font-size:12px}
.note{color:#555}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}"
        '<p class="note">Each address is coloured by the rule that decides a request from it '
        "that does not come through a service endpoint; hatched rules have header "
        "conditions. IPv4 is drawn on a Hilbert curve (a CIDR block is a square or a 2:1 "
        "rectangle); each IPv6 /32 in use is a square of its own.</p></body></html>\n"
    )


def _collections(site: Site) -> list[Collection]:
    return [c for c in COLLECTIONS if c == "main" or not site.scm_use_main]


def _differences_table(differences: Sequence[Difference]) -> str:
    if not differences:
        return '<p class="note">No request is decided differently.</p>'
    rows = "".join(
        "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            html.escape(f"{d.old.action.word} -> {d.new.action.word}"),
            html.escape(", ".join(d.cidrs)),
            html.escape(str(d.condition)),
            html.escape(str(d.old)),
            html.escape(str(d.new)),
        )
        for d in differences
    )
    return (
        '<table class="differences"><tr><th>change</th><th>addresses</th><th>when</th>'
        f"<th>old</th><th>new</th></tr>{rows}</table>"
    )


def diff_section(old: Site, new: Site, result: Diff, heading: str, ident: str = "d0") -> str:
    """One diff: per collection, the new site's map with the changed ranges outlined, and
    the differences as a table."""
    out = [f"<section><h2>{html.escape(heading)}</h2>"]

    def changes(collection: Collection) -> list[tuple[object, ...]]:
        return [
            (d.ranges, str(d.condition), d.old.action, d.new.action)
            for d in result.differences
            if d.collection == collection
        ]

    for collection in COLLECTIONS:
        mine = [d for d in result.differences if d.collection == collection]
        outlines = [r for d in mine for r in d.ranges]
        title: str = collection
        if collection == "scm" and new.scm_use_main:
            if changes("scm") == changes("main"):
                continue  # the same rules and the same changes as main
            title = "scm (uses the main rules)"
        out.append(f"<h3>{html.escape(title)}</h3>")
        out.append(collection_map(new, collection, outlines, ident=f"{ident}-{collection}"))
        out.append(_differences_table(mine))
    if result.unresolved:
        cidrs = ", ".join(c for u in result.unresolved for c in u.cidrs)
        out.append(f'<p class="note">Unresolved (too many header states): {html.escape(cidrs)}</p>')
    out.append("</section>")
    return "".join(out)


def diff_html(pairs: Sequence[tuple[str, str, Site, Site, Diff]]) -> str:
    """A page for ``acl diff --format html``: per pair ``(old name, new name, old site,
    new site, diff)``, the new site's maps with the changed ranges outlined."""
    body = "".join(
        diff_section(old, new, result, f"{before} -> {after}", f"d{number}")
        for number, (before, after, old, new, result) in enumerate(pairs)
    )
    return _page("acl diff: what the new rules decide differently", body)


def lint_html(items: Sequence[tuple[str, Sequence[Finding], str | None, Site | None]]) -> str:
    """A page for ``acl lint --format html``: per file ``(source, findings, error, site)``,
    its findings and the maps of its collections."""
    out: list[str] = []
    for number, (source, findings, error, site) in enumerate(items):
        out.append(f"<section><h2>{html.escape(source)}</h2>")
        if error is not None or site is None:
            out.append(
                f'<p class="error">cannot be loaded: {html.escape(error or "")}</p></section>'
            )
            continue
        if findings:
            rows = "".join(
                f"<tr><td>{html.escape(f.code)}</td><td>{html.escape(f.severity)}</td>"
                f"<td>{html.escape(f.message)}</td><td>{html.escape(f.hint)}</td></tr>"
                for f in findings
            )
            out.append(
                '<table class="findings"><tr><th>code</th><th>severity</th><th>finding</th>'
                f"<th>fix</th></tr>{rows}</table>"
            )
        else:
            out.append('<p class="note">No findings.</p>')
        for collection in _collections(site):
            out.append(f"<h3>{collection}</h3>")
            out.append(collection_map(site, collection, ident=f"l{number}-{collection}"))
        out.append("</section>")
    return _page("acl lint: who each rule lets in", "".join(out))

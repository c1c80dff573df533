"""Point every script and stylesheet of a Folium map at files the app serves itself.

Pages run on an intranet with no internet: Folium's default links to CDNs must never reach the
browser.  Each asset Folium or a plugin asks for is known here by the name Folium gives it and
mapped to a file of an npm package (installed at set-up from ``package.json``) or a file Folium
ships in its own package; the web app (``webmap.vendor``) serves those files and checks they
are installed.  An asset with no entry is an error, so a new plugin cannot slip a
CDN link into a page unnoticed.

The mapping is applied per element instance, never to Folium's class-level lists, so one map's
settings cannot leak into another's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.template import Template

# asset name (as Folium names it) -> (source, path inside the source)
# source "npm": a file below node_modules/; "folium": a file of folium/templates/.
ASSETS: dict[str, tuple[str, str]] = {
    "leaflet": ("npm", "leaflet/dist/leaflet.js"),
    "leaflet_css": ("npm", "leaflet/dist/leaflet.css"),
    "leaflet-heat.js": ("folium", "leaflet_heat.min.js"),
    "iso8601": ("npm", "iso8601-js-period/iso8601.js"),
    "leaflet.timedimension.min.js": (
        "npm",
        "leaflet-timedimension/dist/leaflet.timedimension.min.js",
    ),
    "leaflet.timedimension": ("npm", "leaflet-timedimension/dist/leaflet.timedimension.min.js"),
    "leaflet.timedimension.control.min.css": (
        "npm",
        "leaflet-timedimension/dist/leaflet.timedimension.control.css",
    ),
    "leaflet.timedimension_css": (
        "npm",
        "leaflet-timedimension/dist/leaflet.timedimension.control.css",
    ),
    "heatmap.min.js": ("folium", "pa7_hm.min.js"),
    # Station clusters at city zoom (the names are those folium.plugins.MarkerCluster uses).
    "markerclusterjs": ("npm", "leaflet.markercluster/dist/leaflet.markercluster.js"),
    "markerclustercss": ("npm", "leaflet.markercluster/dist/MarkerCluster.css"),
    "markerclusterdefaultcss": ("npm", "leaflet.markercluster/dist/MarkerCluster.Default.css"),
    "leaflet-heatmap.js": ("folium", "pa7_leaflet_hm.min.js"),
}

# Folium's Map also asks for jQuery, Bootstrap and Awesome Markers; qungong's maps use none of
# them (circle markers, own controls), so they are dropped rather than served.
DROPPED = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)


class UnknownAssetError(KeyError):
    """A Folium element asks for an asset that has no local copy."""


def asset_url(name: str, *, base_url: str) -> str:
    """URL under which the app serves the asset ``name``.

    >>> asset_url("leaflet", base_url="/vendor")
    '/vendor/npm/leaflet/dist/leaflet.js'
    """
    try:
        source, path = ASSETS[name]
    except KeyError:
        msg = f"no local copy of the map asset {name!r}: add it to geo.layers.offline.ASSETS"
        raise UnknownAssetError(msg) from None
    return f"{base_url.rstrip('/')}/{source}/{path}"


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def localize(root: Element, *, base_url: str) -> Element:
    """Rewrite the asset links of ``root`` and every element below it to local URLs.

    Call it on the finished map, just before rendering.
    """
    for element in _walk(root):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            local = [
                (name, asset_url(name, base_url=base_url))
                for name, _ in links
                if name not in DROPPED
            ]
            setattr(element, attr, local)
    return root


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (folium's ``control_scale`` adds miles)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 150})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


def offline_map(
    *, tile_url: str | None = None, attribution: str | None = None, **kwargs: Any
) -> folium.Map:
    """A Folium map with no external basemap unless an intranet tile server is configured.

    It carries a metric-only scale bar.
    """
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=False, **kwargs)
    MetricScale().add_to(m)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=attribution or "intranet tiles", name="底图").add_to(
            m
        )
    return m

"""Map elements the layer builders share: compact GeoJSON, one-function styling, legends.

Polygons are styled by ONE JavaScript function that reads the colour stored in each feature
(``feature.properties.fill``); folium's ``GeoJson(style_function=...)`` instead writes a
``switch`` with one ``case`` per feature, which took 13.8 s to load for 41k hexagons.  Features
carry only what the tooltip shows, with coordinates rounded to 5 decimals (about 1 m).
Legends are plain HTML/CSS: branca's colour-map legend loads d3 from a CDN.
"""

from __future__ import annotations

import html
import json
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.map import Layer
from folium.template import Template
from shapely.errors import GEOSException

__all__ = [
    "Legend",
    "PropertyStyledGeoJson",
    "RampLegend",
    "feature_collection",
    "geometry_dicts",
    "map_of",
    "script_safe",
]

_BORDER = {"color": "#ffffff", "weight": 0.5, "opacity": 0.8, "fillOpacity": 0.75}


# What JSON text may not hold raw inside an HTML <script> element: "<" and ">" (no "</script>"
# or "<!--" can appear), "&" (nor entities in XHTML), and the two line separators older
# JavaScript parsers end a string at.
_SCRIPT_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_safe(json_text: str) -> str:
    """JSON text made safe to write inside a <script> element; it still parses to the same value.

    >>> script_safe('{"name":"</script><b>&\u2028"}')
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026\\\\u2028"}'
    """
    return json_text.translate(_SCRIPT_ESCAPES)


def _script_json(value: object) -> str:
    """Compact JSON that is safe inside a <script> element (no closing tag can appear)."""
    return script_safe(
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    )


def _plain(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN/NA as None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def feature_collection(
    gdf: gpd.GeoDataFrame,
    properties: list[str],
    *,
    precision: int = 5,
    simplify_tolerance: float | None = None,
    geometry_json: str | None = None,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (EPSG:4326) with only ``properties`` and rounded coordinates.

    Parameters
    ----------
    gdf
        Polygons in any CRS (reprojected to EPSG:4326).
    properties
        Columns copied into each feature's properties.
    precision
        Decimal places kept in coordinates (5 is about 1 m).
    simplify_tolerance
        Simplification tolerance in degrees, or None.  Shared borders are simplified once
        (coverage simplification) so neighbouring units keep meeting without slivers; if the
        polygons do not form a clean coverage each is simplified on its own.
    geometry_json
        A column of ready GeoJSON geometries (dicts, from :func:`geometry_dicts`): used as
        they are, instead of simplifying and converting ``geometry`` on every call.
    """
    if geometry_json is not None:
        columns = [gdf[p].tolist() for p in properties]
        ready = gdf[geometry_json].tolist()
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        p: _plain(c[i]) for p, c in zip(properties, columns, strict=True)
                    },
                    "geometry": geometry,
                }
                for i, geometry in enumerate(ready)
                if geometry is not None
            ],
        }
    if gdf.crs is None:
        msg = "units have no CRS"
        raise ValueError(msg)
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    return feature_collection(
        gdf.assign(_geometry_json=geometry_dicts(gdf, precision, simplify_tolerance)),
        properties,
        geometry_json="_geometry_json",
    )


def geometry_dicts(
    gdf: gpd.GeoDataFrame, precision: int = 5, simplify_tolerance: float | None = None
) -> list[dict[str, Any] | None]:
    """GeoJSON geometries of ``gdf`` (EPSG:4326), simplified and rounded as
    :func:`feature_collection` does; None for missing or empty ones.

    A caller drawing the same units again and again (a map's villages under many filters)
    keeps these and passes them as ``geometry_json``: simplifying thousands of polygons and
    converting them costs more than everything else in such a layer.
    """
    if gdf.crs is None:
        msg = "units have no CRS"
        raise ValueError(msg)
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    geoms = gdf.geometry.to_numpy()
    if simplify_tolerance:
        try:
            geoms = shapely.coverage_simplify(geoms, simplify_tolerance)
        except GEOSException:
            geoms = shapely.simplify(geoms, simplify_tolerance, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, precision))
    return [
        None if geom is None or geom.is_empty else json.loads(shapely.to_geojson(geom))
        for geom in geoms
    ]


class PropertyStyledGeoJson(Layer):
    """GeoJSON layer styled by one function reading each feature's ``fill`` property.

    Tooltips (``tooltip_fields``: property name and label pairs) are bound once on the whole
    layer with a content function, and their text is HTML-escaped in the browser.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data_json }}, {
            style: function (feature) {
                var s = {{ this.base_style_json }};
                s.fillColor = feature.properties.{{ this.fill_key }};
                return s;
            }
        });
        {%- if this.tooltip_fields %}
        {{ this.get_name() }}.bindTooltip(function (layer) {
            var p = layer.feature.properties;
            var esc = function (v) {
                return String(v).replace(/[&<>"']/g, function (c) {
                    return "&#" + c.charCodeAt(0) + ";";
                });
            };
            return {{ this.tooltip_json }}.map(function (f) {
                var v = p[f[0]];
                return "<b>" + esc(f[1]) + "</b> " + esc(v === null || v === undefined ? "—" : v);
            }).join("<br>");
        }, {sticky: true});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict[str, Any],
        *,
        name: str | None = None,
        fill_key: str = "fill",
        base_style: dict[str, Any] | None = None,
        tooltip_fields: list[tuple[str, str]] | None = None,
        overlay: bool = True,
        control: bool = True,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "PropertyStyledGeoJson"
        if not fill_key.isidentifier():
            msg = f"fill_key must be a plain identifier, got {fill_key!r}"
            raise ValueError(msg)
        self.data = data
        self.fill_key = fill_key
        self.data_json = _script_json(data)
        self.base_style_json = _script_json(base_style if base_style is not None else _BORDER)
        self.tooltip_fields = list(tooltip_fields or [])
        self.tooltip_json = _script_json(self.tooltip_fields)

    def _get_self_bounds(self) -> list[list[float | None]]:
        geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in self.data["features"]]
        if not geoms:
            return [[None, None], [None, None]]
        west, south, east, north = shapely.total_bounds(np.array(geoms, dtype=object))
        return [[float(south), float(west)], [float(north), float(east)]]


class Legend(MacroElement):
    """A small HTML/CSS legend in a map corner: coloured boxes and labels, no scripts fetched."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .qg-legend { background: rgba(255,255,255,0.9); padding: 6px 8px; font: 12px/1.5 sans-serif;
                     border-radius: 4px; box-shadow: 0 0 4px rgba(0,0,0,0.3); }
        .qg-legend b { display: block; margin-bottom: 2px; }
        .qg-legend i { display: inline-block; width: 14px; height: 12px; margin-right: 6px;
                       vertical-align: middle; border: 1px solid #999; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position_json }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "qg-legend");
            div.innerHTML = {{ this.html_json }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self, title: str, items: list[tuple[str, str]], *, position: str = "bottomright"
    ) -> None:
        super().__init__()
        self._name = "Legend"
        self.title = title
        self.items = list(items)
        rows = "".join(
            f'<div><i style="background:{html.escape(colour)}"></i>{html.escape(label)}</div>'
            for colour, label in self.items
        )
        self.html_json = _script_json(f"<b>{html.escape(title)}</b>{rows}")
        self.position_json = _script_json(position)


class RampLegend(Legend):
    """A legend for a continuous colour ramp (a heatmap): the ramp as a bar, its two ends named.

    ``stops`` maps positions 0..1 to colours, exactly as the heat layer's ``gradient`` option
    takes them, so the legend shows the colours the layer draws.  ``note`` is an optional line
    under the bar (e.g. that all months share the scale).
    """

    def __init__(
        self,
        title: str,
        stops: dict[float, str],
        *,
        low: str,
        high: str,
        note: str | None = None,
        position: str = "bottomright",
    ) -> None:
        super().__init__(title, [], position=position)
        ramp = ", ".join(
            f"{html.escape(colour)} {round(at * 100)}%" for at, colour in sorted(stops.items())
        )
        # The first stop's colour from 0, as the layer draws weights below it faintly.
        first = html.escape(stops[min(stops)])
        bar = (
            f'<div class="qg-ramp" style="width:160px;height:12px;border:1px solid #999;'
            f'background:linear-gradient(to right, {first} 0%, {ramp})"></div>'
            f'<div style="display:flex;justify-content:space-between">'
            f'<span class="qg-ramp-low">{html.escape(low)}</span>'
            f'<span class="qg-ramp-high">{html.escape(high)}</span></div>'
        )
        if note:
            bar += f'<div class="qg-ramp-note">{html.escape(note)}</div>'
        self.html_json = _script_json(f"<b>{html.escape(title)}</b>{bar}")


def map_of(parent: folium.Map | folium.FeatureGroup) -> folium.Map:
    """The map an element or feature group belongs to (legends go on the map itself)."""
    node: Any = parent
    while node is not None and not isinstance(node, folium.Map):
        node = getattr(node, "_parent", None)
    if node is None:
        msg = "add the parent FeatureGroup to a folium.Map before adding a legend"
        raise ValueError(msg)
    return node

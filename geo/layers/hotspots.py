"""Folium layers for the leaders' hotspot maps: heatmaps, rate choropleths, Gi* hot/cold spots.

Two things keep these pages fast on an intranet PC.  Polygons are styled by ONE JavaScript
function that reads the colour stored in each feature (``feature.properties.fill``); folium's
``GeoJson(style_function=...)`` instead writes a ``switch`` with one ``case`` per feature,
which took 13.8 s to load for 41k hexagons.  And features carry only what the tooltip shows,
with coordinates rounded to 5 decimals (about 1 m).

Every builder drops cells or units with fewer than five cases (``geo.density.suppress_small``)
or masks their figures, so no count below five reaches a page.  Legends are plain HTML/CSS:
branca's colour-map legend loads d3 from a CDN, which the intranet cannot reach.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.map import Layer
from folium.plugins import HeatMap, HeatMapWithTime
from folium.template import Template
from shapely.errors import GEOSException

from geo.density import MIN_COUNT, heat_weights, suppress_small

__all__ = [
    "HOTSPOT_COLOURS",
    "HOTSPOT_LABELS",
    "LABELS",
    "RATE_COLOURS",
    "Legend",
    "PropertyStyledGeoJson",
    "feature_collection",
    "heatmap_layer",
    "hotspot_layer",
    "monthly_heatmap_layer",
    "rates_choropleth_layer",
]

# ColorBrewer YlOrRd, 5 classes: low rates pale, high rates dark red.
RATE_COLOURS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA_COLOUR = "#bdbdbd"

# ColorBrewer RdBu: reds for hot spots, blues for cold, light grey for not significant.
HOTSPOT_COLOURS: dict[str, str] = {
    "hot99": "#b2182b",
    "hot95": "#ef8a62",
    "hot90": "#fddbc7",
    "ns": "#e8e8e8",
    "cold90": "#d1e5f0",
    "cold95": "#67a9cf",
    "cold99": "#2166ac",
}
HOTSPOT_LABELS: dict[str, str] = {
    "hot99": "热点 99% 置信",
    "hot95": "热点 95% 置信",
    "hot90": "热点 90% 置信",
    "ns": "不显著",
    "cold90": "冷点 90% 置信",
    "cold95": "冷点 95% 置信",
    "cold99": "冷点 99% 置信",
}

# Every text a layer writes (tooltip headings, legend entries, hotspot classes), by key.  These
# are the Chinese originals; a caller showing another language passes its own table (any keys
# it leaves out keep these), so layers never write text that a page has to find and replace.
LABELS: dict[str, str] = {
    "name": "名称",
    "count": "案件数",
    "rate": "每千户",
    "z": "Gi* z",
    "p": "p",
    "class": "类别",
    "no_data": "无数据",
    **HOTSPOT_LABELS,
}

_BORDER = {"color": "#ffffff", "weight": 0.5, "opacity": 0.8, "fillOpacity": 0.75}


def _script_json(value: object) -> str:
    """Compact JSON that is safe inside a <script> element (no closing tag can appear)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


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
    columns = [gdf[p].tolist() for p in properties]
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        props = {p: _plain(col[i]) for p, col in zip(properties, columns, strict=True)}
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": json.loads(shapely.to_geojson(geom)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


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


class _TimeControlOffline(MacroElement):
    """Make folium's HeatMapWithTime work on a page with no jQuery and no internet.

    Its inline script calls ``$.extend({}, a, b)`` (a shallow merge) and nothing else from
    jQuery, which qungong pages do not load (geo.layers.offline drops it): ``$`` is defined
    with ``Object.assign`` only if missing.  And the time control's CSS from npm
    (leaflet-timedimension) draws its buttons with the Glyphicons font fetched from
    netdna.bootstrapcdn.com: plain Unicode symbols in the system font are used instead, so
    the browser never asks for that font.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <script>
        if (typeof window.$ === "undefined") {
            window.$ = {extend: function () { return Object.assign.apply(null, arguments); }};
        }
        </script>
        <style>
        .leaflet-bar-timecontrol .leaflet-control-timecontrol:before { font-family: sans-serif; }
        .leaflet-bar-timecontrol .timecontrol-play:before { content: "\\25B6"; }
        .leaflet-bar-timecontrol .timecontrol-play.pause:before { content: "\\275A\\275A"; }
        .leaflet-bar-timecontrol .timecontrol-play.loading:before,
        .leaflet-bar-timecontrol .timecontrol-date.loading:before { content: "\\2026"; }
        .leaflet-bar-timecontrol .timecontrol-backward:before { content: "\\00AB"; }
        .leaflet-bar-timecontrol .timecontrol-forward:before { content: "\\00BB"; }
        .leaflet-bar-timecontrol .timecontrol-stop:before { content: "\\25A0"; }
        .leaflet-bar-timecontrol .timecontrol-loop:before { content: "\\21BB"; }
        .leaflet-bar-timecontrol .timecontrol-speed:before { content: "\\00D7"; }
        </style>
        {% endmacro %}
        """
    )


def _map_of(parent: folium.Map | folium.FeatureGroup) -> folium.Map:
    node: Any = parent
    while node is not None and not isinstance(node, folium.Map):
        node = getattr(node, "_parent", None)
    if node is None:
        msg = "add the parent FeatureGroup to a folium.Map before adding a legend"
        raise ValueError(msg)
    return node


def heatmap_layer(
    parent: folium.Map | folium.FeatureGroup,
    bins: pd.DataFrame,
    *,
    value: str | None = None,
    min_count: int = MIN_COUNT,
    name: str = "案件热力图",
    radius: int = 18,
    blur: int = 15,
    min_opacity: float = 0.3,
    show: bool = True,
) -> HeatMap:
    """Weighted heatmap from H3 bins (``geo.density.hex_bins``), cells below ``min_count`` dropped.

    Parameters
    ----------
    parent
        Map or FeatureGroup the layer is added to.
    bins
        H3 bins with ``h3`` and ``count`` columns (and ``weight`` if weighted).
    value
        Column that weighs each cell centre (see ``geo.density.heat_weights``).
    """
    rows = heat_weights(suppress_small(bins, min_count=min_count), value=value)
    layer = HeatMap(rows, name=name, radius=radius, blur=blur, min_opacity=min_opacity, show=show)
    layer.add_to(parent)
    return layer


def monthly_heatmap_layer(
    parent: folium.Map | folium.FeatureGroup,
    bins: pd.DataFrame,
    *,
    by: str = "month",
    value: str | None = None,
    min_count: int = MIN_COUNT,
    name: str = "逐月热力图",
    radius: int = 18,
    max_opacity: float = 0.7,
    auto_play: bool = False,
    show: bool = True,
) -> HeatMapWithTime:
    """Month-by-month animated heatmap (one frame per value of ``by``, in sorted order).

    Weights are normalised over all months together, so a quiet month looks quiet instead of
    being stretched to full intensity; suppression applies per (month, cell).  Months with no
    cell left after suppression still get an (empty) frame, so the time slider has no gaps.
    """
    if by not in bins.columns:
        msg = f"column {by!r} not in bins"
        raise KeyError(msg)
    kept = suppress_small(bins, min_count=min_count)
    months = sorted(pd.unique(bins[by]))
    frames: list[list[list[float]]] = [[] for _ in months]
    if not kept.empty:
        column = value or ("weight" if "weight" in kept.columns else "count")
        top = float(kept[column].max())
        position = {m: i for i, m in enumerate(months)}
        for month, group in kept.groupby(by, sort=True):
            frames[position[month]] = heat_weights(group, value=column, scale=top)
    layer = HeatMapWithTime(
        frames,
        index=[str(m) for m in months],
        name=name,
        radius=radius,
        max_opacity=max_opacity,
        auto_play=auto_play,
        use_local_extrema=False,
        show=show,
    )
    layer.add_to(parent)
    _TimeControlOffline().add_to(layer)
    return layer


def _class_labels(bins: np.ndarray, lowest: float, *, decimals: int = 1) -> list[str]:
    lows = [lowest, *bins[:-1]]
    return [f"{lo:.{decimals}f} – {hi:.{decimals}f}" for lo, hi in zip(lows, bins, strict=True)]


def rates_choropleth_layer(
    parent: folium.Map | folium.FeatureGroup,
    units: gpd.GeoDataFrame,
    *,
    rate: str = "rate",
    count: str = "count",
    name_col: str = "name",
    scheme: str = "Quantiles",
    k: int = 5,
    min_count: int = MIN_COUNT,
    simplify_tolerance: float | None = None,
    precision: int = 5,
    name: str = "每千户案件数",
    legend: bool = True,
    labels: Mapping[str, str] | None = None,
) -> PropertyStyledGeoJson:
    """Choropleth of case rates by unit, classed with mapclassify and styled by one function.

    Parameters
    ----------
    parent
        Map or FeatureGroup the layer is added to (the legend goes on its map).
    units
        Unit polygons with ``name_col``, ``count`` and ``rate`` (e.g. from
        ``geo.density.rates_per_thousand``).
    scheme
        A mapclassify classifier name taking ``k``.  ``Quantiles`` (default) is deterministic,
        instant, and reads simply ("the top fifth of villages").  Avoid ``FisherJenks``
        without numba installed: its pure-Python fallback took 54 s for 5,903 rates;
        ``NaturalBreaks`` gives nearly the same breaks in 0.06 s but is randomly seeded.
    k
        Number of classes (fewer if there are fewer distinct rates).
    min_count
        Units with fewer cases are left off the layer (their rate would reveal the count);
        draw unit outlines separately if the gaps need explaining.
    simplify_tolerance, precision
        See :func:`feature_collection`.
    labels
        Texts by key (see :data:`LABELS`), for a page in another language.

    Returns
    -------
    PropertyStyledGeoJson
        Classes are computed on the units that remain after suppression; units with no rate
        (no households) are grey and listed as 无数据 in the legend.
    """
    text = {**LABELS, **(labels or {})}
    kept = suppress_small(units, count_col=count, min_count=min_count)
    values = pd.to_numeric(kept[rate], errors="coerce").to_numpy(dtype=np.float64)
    known = np.isfinite(values)
    fills = np.full(len(kept), NO_DATA_COLOUR, dtype=object)
    items: list[tuple[str, str]] = []
    distinct = np.unique(values[known])
    if distinct.size:
        k_used = int(min(k, distinct.size))
        if k_used == 1:
            classes, bins = np.zeros(known.sum(), dtype=int), np.array([distinct[0]])
        else:
            classifier = getattr(mapclassify, scheme)(values[known], k=k_used)
            classes, bins = np.asarray(classifier.yb), np.asarray(classifier.bins)
        palette = _palette(len(bins))
        fills[known] = [palette[c] for c in classes]
        items = list(zip(palette, _class_labels(bins, float(distinct[0])), strict=True))
    if (~known).any():
        items.append((NO_DATA_COLOUR, text["no_data"]))
    props = kept[[name_col, count]].copy()
    props["rate"] = np.round(values, 1)
    props["fill"] = fills
    data = feature_collection(
        gpd.GeoDataFrame(props, geometry=kept.geometry.to_numpy(), crs=kept.crs),
        [name_col, count, "rate", "fill"],
        precision=precision,
        simplify_tolerance=simplify_tolerance,
    )
    layer = PropertyStyledGeoJson(
        data,
        name=name,
        tooltip_fields=[(name_col, text["name"]), (count, text["count"]), ("rate", text["rate"])],
    )
    layer.add_to(parent)
    if legend:
        Legend(name, items).add_to(_map_of(parent))
    return layer


def _palette(n: int) -> list[str]:
    """``n`` colours spread over the 5-class ramp (all five when n == 5)."""
    idx = np.round(np.linspace(0, len(RATE_COLOURS) - 1, n)).astype(int) if n > 1 else [2]
    return [RATE_COLOURS[i] for i in idx]


def hotspot_layer(
    parent: folium.Map | folium.FeatureGroup,
    units: gpd.GeoDataFrame,
    *,
    name_col: str = "name",
    count: str = "count",
    rate: str | None = "rate",
    min_count: int = MIN_COUNT,
    simplify_tolerance: float | None = None,
    precision: int = 5,
    name: str = "热点分析 (Gi*)",
    legend: bool = True,
    labels: Mapping[str, str] | None = None,
) -> PropertyStyledGeoJson:
    """Gi* hot and cold spots (output of ``geo.hotspots.getis_ord``) coloured by class.

    Every unit is drawn, because a Gi* class describes the unit's neighbourhood, not its own
    count; but for units with fewer than ``min_count`` cases the count and rate in the
    tooltip read ``<5`` and nothing else.  Tooltips show name, count, rate, z and p.
    """
    missing = [c for c in ("hotspot", "gi_z", "gi_p", name_col, count) if c not in units.columns]
    if missing:
        msg = f"units lack columns {missing}: run geo.hotspots.getis_ord first"
        raise KeyError(msg)
    unknown = set(units["hotspot"]) - set(HOTSPOT_COLOURS)
    if unknown:
        msg = f"unknown hotspot classes {sorted(unknown)}"
        raise ValueError(msg)
    text = {**LABELS, **(labels or {})}
    counts = pd.to_numeric(units[count], errors="coerce")
    small = ~counts.ge(min_count).to_numpy()
    hidden = f"<{min_count}"
    props = pd.DataFrame({name_col: units[name_col].to_numpy()}, index=units.index)
    props[count] = pd.Series(counts.to_numpy(), index=units.index).astype(object)
    props.loc[small, count] = hidden
    columns = [name_col, count]
    tooltip = [(name_col, text["name"]), (count, text["count"])]
    if rate is not None:
        rates = np.round(pd.to_numeric(units[rate], errors="coerce").to_numpy(dtype=float), 1)
        props["rate"] = pd.Series(rates, index=units.index).astype(object)
        props.loc[small, "rate"] = hidden
        columns.append("rate")
        tooltip.append(("rate", text["rate"]))
    props["z"] = np.round(units["gi_z"].to_numpy(dtype=float), 2)
    props["p"] = np.round(units["gi_p"].to_numpy(dtype=float), 3)
    props["class"] = units["hotspot"].map(text).to_numpy()
    props["fill"] = units["hotspot"].map(HOTSPOT_COLOURS).to_numpy()
    columns += ["z", "p", "class", "fill"]
    tooltip += [("z", text["z"]), ("p", text["p"]), ("class", text["class"])]
    data = feature_collection(
        gpd.GeoDataFrame(props, geometry=units.geometry.to_numpy(), crs=units.crs),
        columns,
        precision=precision,
        simplify_tolerance=simplify_tolerance,
    )
    layer = PropertyStyledGeoJson(data, name=name, tooltip_fields=tooltip)
    layer.add_to(parent)
    if legend:
        items = [(HOTSPOT_COLOURS[c], text[c]) for c in HOTSPOT_COLOURS]
        Legend(name, items).add_to(_map_of(parent))
    return layer

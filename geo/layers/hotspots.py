"""Folium layers for the leaders' hotspot maps: heatmaps, rate choropleths, Gi* hot/cold spots.

Polygons are drawn with ``geo.layers.elements`` (one style function reading each feature's
colour, compact GeoJSON, HTML legends), which keeps these pages fast on an intranet PC.

Every builder drops cells or units with fewer than five cases (``geo.density.suppress_small``)
or masks their figures, so no count below five reaches a page.  Texts come from a label table
(:data:`LABELS`, Chinese) that a caller in another language replaces.
"""

from __future__ import annotations

from collections.abc import Mapping

import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.plugins import HeatMap, HeatMapWithTime
from folium.template import Template

from geo.density import MIN_COUNT, heat_weights, suppress_small
from geo.layers.elements import (
    Legend,
    PropertyStyledGeoJson,
    RampLegend,
    feature_collection,
    map_of,
)

__all__ = [
    "HEAT_GRADIENT",
    "HOTSPOT_COLOURS",
    "HOTSPOT_LABELS",
    "LABELS",
    "RATE_COLOURS",
    "Legend",
    "PropertyStyledGeoJson",
    "RampLegend",
    "feature_collection",
    "heatmap_layer",
    "hotspot_layer",
    "monthly_heatmap_layer",
    "rates_choropleth_layer",
]

# ColorBrewer YlOrRd, 5 classes: low rates pale, high rates dark red.
RATE_COLOURS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA_COLOUR = "#bdbdbd"
# The heatmaps' ramp (weight 0..1 -> colour), given to the layer and drawn by its legend, so
# both show the same colours.  The rates' YlOrRd, not the plugins' rainbow default: a rainbow
# has no order a reader sees at a glance, and its bright cyan band reads as a boundary.
# The stops sit where Leaflet.heat's own default has them (0.4 up): overlapping blurred cells
# add up, so most of a busy map lies above 0.6 and the ramp has to spread there.
HEAT_GRADIENT: dict[float, str] = {
    0.4: "#ffffcc",
    0.55: "#ffeda0",
    0.65: "#feb24c",
    0.75: "#fd8d3c",
    0.85: "#f03b20",
    1.0: "#bd0026",
}

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
    # Heat legends: the ramp's two ends (a cell's cases) and the monthly frames' shared scale.
    "few": "少",
    "many": "多",
    "per_cell": "件/格",
    "one_scale": "各月使用同一色标",
    **HOTSPOT_LABELS,
}


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
    legend: bool = True,
    labels: Mapping[str, str] | None = None,
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
    legend
        Add a legend of the ramp (its ends: ``min_count`` and the busiest cell's cases).
    labels
        Texts by key (see :data:`LABELS`), for a page in another language.
    """
    kept = suppress_small(bins, min_count=min_count)
    rows = heat_weights(kept, value=value)
    layer = HeatMap(
        rows,
        name=name,
        radius=radius,
        blur=blur,
        min_opacity=min_opacity,
        show=show,
        gradient=HEAT_GRADIENT,
    )
    layer.add_to(parent)
    if legend and not kept.empty:
        _heat_legend(parent, name, kept, min_count, {**LABELS, **(labels or {})})
    return layer


def _heat_legend(
    parent: folium.Map | folium.FeatureGroup,
    name: str,
    kept: pd.DataFrame,
    min_count: int,
    text: Mapping[str, str],
    *,
    note: str | None = None,
) -> None:
    top = int(pd.to_numeric(kept["count"]).max())
    RampLegend(
        name,
        HEAT_GRADIENT,
        low=f"{text['few']} {min_count} {text['per_cell']}",
        high=f"{text['many']} {top} {text['per_cell']}",
        note=note,
    ).add_to(map_of(parent))


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
    legend: bool = True,
    labels: Mapping[str, str] | None = None,
) -> HeatMapWithTime:
    """Month-by-month animated heatmap (one frame per value of ``by``, in sorted order).

    Weights are normalised over all months together, so a quiet month looks quiet instead of
    being stretched to full intensity; suppression applies per (month, cell).  Months with no
    cell left after suppression still get an (empty) frame, so the time slider has no gaps.
    The legend (``legend``) names the shared scale: its top is the busiest cell of any month.
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
        gradient=HEAT_GRADIENT,
    )
    layer.add_to(parent)
    _TimeControlOffline().add_to(layer)
    if legend and not kept.empty:
        text = {**LABELS, **(labels or {})}
        _heat_legend(parent, name, kept, min_count, text, note=text["one_scale"])
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
    geometry_json: str | None = None,
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
    simplify_tolerance, precision, geometry_json
        See :func:`feature_collection` (``geometry_json``: a column of ``units``).
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
    if geometry_json:
        props[geometry_json] = kept[geometry_json].to_numpy()
    data = feature_collection(
        gpd.GeoDataFrame(props, geometry=kept.geometry.to_numpy(), crs=kept.crs),
        [name_col, count, "rate", "fill"],
        precision=precision,
        simplify_tolerance=simplify_tolerance,
        geometry_json=geometry_json,
    )
    layer = PropertyStyledGeoJson(
        data,
        name=name,
        tooltip_fields=[(name_col, text["name"]), (count, text["count"]), ("rate", text["rate"])],
    )
    layer.add_to(parent)
    if legend:
        Legend(name, items).add_to(map_of(parent))
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
    geometry_json: str | None = None,
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
    if geometry_json:
        props[geometry_json] = units[geometry_json].to_numpy()
    data = feature_collection(
        gpd.GeoDataFrame(props, geometry=units.geometry.to_numpy(), crs=units.crs),
        columns,
        precision=precision,
        simplify_tolerance=simplify_tolerance,
        geometry_json=geometry_json,
    )
    layer = PropertyStyledGeoJson(data, name=name, tooltip_fields=tooltip)
    layer.add_to(parent)
    if legend:
        items = [(HOTSPOT_COLOURS[c], text[c]) for c in HOTSPOT_COLOURS]
        Legend(name, items).add_to(map_of(parent))
    return layer

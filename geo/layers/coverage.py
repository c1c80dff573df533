"""Folium layers of the planners' page: units coloured by gap score, with a legend.

Takes a FeatureCollection whose features carry ``score`` and the measures; the caller gives
the labels in the user's language (tooltip fields, legend title and class names).
"""

from __future__ import annotations

import itertools
from typing import Any

import folium
import numpy as np

from geo.layers.hotspots import Legend, PropertyStyledGeoJson

__all__ = ["GAP_BREAKS", "GAP_COLOURS", "gap_class_labels", "gap_layer"]

#: score classes (0-100): fixed, so that colours mean the same in every county and generation
GAP_BREAKS = (10.0, 20.0, 35.0, 50.0)
GAP_COLOURS = ("#fff5eb", "#fdbe85", "#fd8d3c", "#d94701", "#7f2704")


def gap_class_labels() -> list[str]:
    """``0–10``, ``10–20``, … ``≥ 50``: the legend's class names (numbers need no translation)."""
    edges = (0.0, *GAP_BREAKS)
    labels = [f"{a:g}–{b:g}" for a, b in itertools.pairwise(edges)]
    return [*labels, f"≥ {GAP_BREAKS[-1]:g}"]


def gap_layer(
    m: folium.Map,
    data: dict[str, Any],
    *,
    name: str,
    legend_title: str,
    tooltip_fields: list[tuple[str, str]],
    show: bool = True,
) -> PropertyStyledGeoJson:
    """Add the units of ``data`` coloured by their ``score`` class, and the legend."""
    scores = np.array([f["properties"].get("score") or 0.0 for f in data["features"]], float)
    classes = np.searchsorted(np.array(GAP_BREAKS), scores, side="right")
    features = []
    for feature, k in zip(data["features"], classes, strict=True):
        props = dict(feature["properties"], fill=GAP_COLOURS[int(k)])
        features.append({**feature, "properties": props})
    layer = PropertyStyledGeoJson(
        {"type": "FeatureCollection", "features": features},
        name=name,
        tooltip_fields=tooltip_fields,
        base_style={"color": "#6b4a2b", "weight": 0.6, "opacity": 0.8, "fillOpacity": 0.7},
        show=show,
    )
    layer.add_to(m)
    Legend(legend_title, list(zip(GAP_COLOURS, gap_class_labels(), strict=True))).add_to(m)
    return layer

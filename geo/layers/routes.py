"""Folium layers of a month plan: one feature group per day, numbered stops, route lines.

The caller passes plain day dicts (``colour``, ``stops`` with ``order``, ``name``, ``lon``,
``lat``, ``arrive``) and already translated labels; every text from the data is escaped
before it reaches a tooltip (Leaflet renders tooltips as HTML).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import folium

from geo.layers.elements import Legend

__all__ = ["add_plan_layers"]


def _number_icon(order: int, colour: str) -> folium.DivIcon:
    return folium.DivIcon(
        html=(f'<div class="qg-stop" style="background:{html.escape(colour)}">{int(order)}</div>'),
        icon_size=(22, 22),
        icon_anchor=(11, 11),
        class_name="qg-stop-icon",
    )


def add_plan_layers(
    m: folium.Map,
    days: Sequence[dict[str, Any]],
    depot: tuple[float, float],
    *,
    labels: dict[str, str],
) -> None:
    """Add the depot, one layer per day (numbered stops, a line depot -> stops -> depot), a
    legend and a layer switcher; fit the map to the plan.

    ``labels`` holds ``depot``, ``day`` (with ``{n}``), ``legend`` and ``arrive``.
    """
    lon0, lat0 = depot
    folium.Marker(
        (lat0, lon0),
        tooltip=html.escape(labels["depot"]),
        icon=folium.DivIcon(
            html='<div class="qg-depot">★</div>', icon_size=(24, 24), icon_anchor=(12, 12)
        ),
    ).add_to(m)
    bounds = [(lat0, lon0)]
    legend = []
    for day in days:
        name = labels["day"].format(n=day["day"])
        group = folium.FeatureGroup(name=html.escape(name), show=True).add_to(m)
        path = [(lat0, lon0)] + [(s["lat"], s["lon"]) for s in day["stops"]] + [(lat0, lon0)]
        if day["stops"]:
            folium.PolyLine(path, color=day["colour"], weight=3, opacity=0.8).add_to(group)
        for stop in day["stops"]:
            tip = (
                f"{html.escape(name)} · {int(stop['order'])}. {html.escape(str(stop['name']))}"
                f"<br>{html.escape(labels['arrive'])} {html.escape(str(stop['arrive']))}"
            )
            folium.Marker(
                (stop["lat"], stop["lon"]),
                icon=_number_icon(stop["order"], day["colour"]),
                tooltip=tip,
            ).add_to(group)
        bounds.extend(path)
        legend.append((day["colour"], f"{name} ({len(day['stops'])})"))
    Legend(labels["legend"], legend).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if len(bounds) > 1:
        m.fit_bounds(bounds, padding=(20, 20))

"""The leaders' hotspot map at /leaders/: density, month-by-month, rates and Gi* hotspots.

One page state is one URL: the filters (kind, status, from, to), the area drilled into and the
analysis layer are all in the query string.  The page carries only aggregated figures (H3
bins, unit rates, Gi* classes) built by ``webmap.services.leaders.analysis``; boundaries and
stations are drawn as context by ``static/leaders.js``, which also drills down on a map click.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from typing import Any

import folium
from branca.element import JavascriptLink, MacroElement
from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from jinja2 import Template
from sqlalchemy.orm import Session

from geo.density import MIN_COUNT
from geo.layers.hotspots import (
    heatmap_layer,
    hotspot_layer,
    monthly_heatmap_layer,
    rates_choropleth_layer,
)
from geo.layers.offline import localize, offline_map
from models import places
from models.cache import DataStamp, StampedCache, data_stamp
from models.schema import CASE_KINDS, CASE_STATUSES
from webmap.access import rule, scoped_code
from webmap.errors import NotFound
from webmap.services.leaders import (
    CACHE_SECONDS,
    GEOMETRY_JSON,
    LAYERS,
    PERMUTATIONS,
    Analysis,
    LeadersQuery,
    analysis,
    class_counts,
    fdr_floor_units,
    parse_query,
)
from webmap.services.leaders_export import top_rows
from webmap.vendor import assets_problem
from webmap.vendor import base_url as vendor_base_url
from webmap.views.common import AssetsMissing, db_session, dumps, map_root, render_map_page

bp = Blueprint("leaders", __name__, url_prefix="/leaders")

# Outline simplification (degrees) of the context boundaries, by the level they are drawn at.
OUTLINE_TOLERANCE = {"county": 0.002, "township": 0.0015, "village": 0.0002}


def kind_labels() -> dict[str, str]:
    return {
        "petition": _("信访"),
        "dispute": _("矛盾纠纷"),
        "service": _("代办"),
        "suggestion": _("建议"),
    }


def status_labels() -> dict[str, str]:
    return {"open": _("已受理"), "in_progress": _("办理中"), "closed": _("已办结")}


def layer_labels() -> dict[str, str]:
    return {
        "heat": _("案件热力图"),
        "monthly": _("逐月热力图"),
        "rates": _("每千户案件数"),
        "hotspots": _("热点分析 (Gi*)"),
    }


def hotspot_labels() -> dict[str, str]:
    return {
        "hot99": _("热点 99% 置信"),
        "hot95": _("热点 95% 置信"),
        "hot90": _("热点 90% 置信"),
        "ns": _("不显著"),
        "cold90": _("冷点 90% 置信"),
        "cold95": _("冷点 95% 置信"),
        "cold99": _("冷点 99% 置信"),
    }


def map_labels() -> dict[str, str]:
    """The texts ``geo.layers.hotspots`` writes on the map, in the page's language."""
    return {
        "name": _("名称"),
        "count": _("案件数"),
        "rate": _("每千户"),
        "z": "Gi* z",
        "p": "p",
        "class": _("类别"),
        "no_data": _("无数据"),
        "few": _("少"),
        "many": _("多"),
        "per_cell": _("件/格"),
        "one_scale": _("各月使用同一色标"),
        **hotspot_labels(),
    }


class LeadersContext(MacroElement):
    """Boundaries, stations and drill-down from static/leaders.js, fed one compact config."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        qungong.leaders({{ this._parent.get_name() }}, {{ this.control }}, {{ this.config }});
        {% endmacro %}"""
    )

    def __init__(self, config_json: str, control: str) -> None:
        super().__init__()
        self._name = "LeadersContext"
        self.config = config_json
        self.control = control


# Outlines, stations and extents of an area: boundaries and registers only, so kept across
# filters (a cold filter then reads no geometry) until an import or activation.
_context: StampedCache[Any] = StampedCache(maxsize=64)


def _outlines(
    session: Session, generation_id: int, stamp: DataStamp, *, level: str, prefix: str
) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        data = places.units_geojson(
            session,
            generation_id,
            level=level,
            prefix=prefix,
            tolerance=OUTLINE_TOLERANCE[level],
        )
        for feature in data["features"]:
            feature["properties"].pop("parent", None)
        return data

    return _context.get_or_build(
        stamp.boundaries(), ("outlines", generation_id, level, prefix), build
    )


def _area_context(
    session: Session, generation_id: int, query: LeadersQuery, stamp: DataStamp
) -> tuple[Any, Any, Any]:
    """Stations (None at city scale: fetched only if the layer is switched on), the outline
    the page's drawing is clipped to (the heatmap's blur spills over) and the bounds."""
    prefix, level = query.prefix, query.level
    clip_level = "county" if level == "city" else places.level_of(query.area)

    def build() -> tuple[Any, Any, Any]:
        stations = (
            None
            if level == "city"
            else places.stations_compact(session, generation_id, prefix=prefix)
        )
        clip = places.area_outline(
            session,
            generation_id,
            level=clip_level,
            prefix=prefix,
            tolerance=OUTLINE_TOLERANCE.get(clip_level, OUTLINE_TOLERANCE["village"]),
        )
        bounds = places.extent(session, generation_id, prefix=prefix, level=clip_level)
        return stations, clip, bounds

    return _context.get_or_build(stamp.boundaries(), ("area", generation_id, query.area), build)


def _outline_config(
    session: Session, generation_id: int, query: LeadersQuery, stamp: DataStamp
) -> dict[str, Any]:
    level = query.level
    if level == "city":
        shown = [("county", _("县市区")), ("township", _("乡镇（街道）"))]
        drill = "county"
    elif level == "county":
        shown = [("county", _("县市区")), ("township", _("乡镇（街道）"))]
        drill = "township"
    else:
        shown = [("township", _("乡镇（街道）")), ("village", _("村（社区）"))]
        drill = None
    outlines = [
        {
            "level": unit_level,
            "name": label,
            "data": _outlines(session, generation_id, stamp, level=unit_level, prefix=query.prefix),
        }
        for unit_level, label in shown
    ]
    stations, clip, bounds = _area_context(session, generation_id, query, stamp)
    return {
        "outlines": outlines,
        "drillLevel": drill,
        "stations": stations,
        "stationsUrl": url_for("api.stations", area=query.area or None),
        "stationsShown": level == "township",
        "clip": clip,
        "bounds": bounds,
    }


def _add_analysis_layer(m: folium.Map, query: LeadersQuery, result: Analysis) -> None:
    names = layer_labels()
    labels = map_labels()
    if query.layer == "heat":
        heatmap_layer(m, result.heat, name=names["heat"], labels=labels)
    elif query.layer == "monthly":
        monthly_heatmap_layer(
            m, result.monthly, name=names["monthly"], max_opacity=0.8, labels=labels
        )
    elif query.layer == "rates":
        heatmap_layer(m, result.heat, name=names["heat"], show=False, legend=False)
        with warnings.catch_warnings():
            # With few distinct rates (a handful of townships) mapclassify lowers the number
            # of classes itself and says so; the legend shows the classes it kept.
            warnings.filterwarnings("ignore", "Not enough unique values", UserWarning)
            rates_choropleth_layer(
                m,
                result.rates,
                geometry_json=GEOMETRY_JSON,
                name=names["rates"],
                labels=labels,
            )
    else:
        heatmap_layer(m, result.heat, name=names["heat"], show=False, legend=False)
        if result.gi_problem is not None:
            return  # the panel says why Gi* was not run
        shown = result.hotspots
        if query.level == "city":
            # Thousands of grey "not significant" villages would triple the page; at city
            # scale only significant ones are drawn (the panel says so), below all are.
            shown = shown[shown["hotspot"] != "ns"]
        hotspot_layer(
            m,
            shown,
            geometry_json=GEOMETRY_JSON,
            name=names["hotspots"],
            labels=labels,
        )


def _gi_problem_text(problem: tuple[str, dict[str, int]] | None) -> str | None:
    """Why Gi* was not run, for the panel; None when it ran."""
    if problem is None:
        return None
    key, f = problem
    if key == "too_few_cases":
        return _(
            "所选案件只有 %(cases)s 件，少于热点分析所需的 %(need)s 件，未做 Gi* 分析。",
            cases=f["cases"],
            need=f["need_cases"],
        )
    return _(
        "只有 %(units)s 个村（社区）有案件（共 %(tested)s 个），少于热点分析所需的 %(need)s 个："
        "案件太分散，Gi* 的结果只会由个别案件决定，未做分析。请放宽筛选条件。",
        units=f["units"],
        tested=f["tested"],
        need=f["need_units"],
    )


def _url(endpoint: str, params: Mapping[str, str]) -> str:
    """``url_for`` with the leaders' query-string parameters."""
    values: dict[str, Any] = dict(params)
    return url_for(endpoint, **values)


def _breadcrumbs(
    session: Session, generation_id: int, query: LeadersQuery
) -> list[tuple[str, str]]:
    crumbs = [(_("全市"), _url("leaders.index", query.args(area="")))]
    if query.level == "city":
        return crumbs
    codes = [query.prefix[:6] + "000000"]
    if query.level == "township":
        codes.append(query.area)
    for code in codes:
        found = places.units_geojson(
            session,
            generation_id,
            level=places.level_of(code),
            prefix=places.area_prefix(code),
            tolerance=0.01,
            limit=1,
        )["features"]
        if found:
            name = found[0]["properties"]["name"]
            crumbs.append((name, _url("leaders.index", query.args(area=code))))
    return crumbs


# The rendered map and side panel of a page state, kept while the data are unchanged: a
# leader's repeat visit costs the stamp query, the generation and a template.
_pages: StampedCache[dict[str, Any]] = StampedCache(maxsize=8, ttl=CACHE_SECONDS)


def _pieces(query: LeadersQuery) -> tuple[Any, dict[str, Any]]:
    """The active generation and the (cached) map and panel pieces of a page state."""
    pieces: dict[str, Any] = {}
    with db_session() as session:
        generation = places.active_generation(session)
        if generation is not None:
            stamp = data_stamp(session)
            key = (generation.id, query, str(get_locale()), request.script_root)
            pieces = _pages.get_or_build(
                stamp, key, lambda: _build_page(session, generation.id, query, stamp)
            )
    return generation, pieces


@bp.get("/")
@rule("leader", area="param")
def index() -> str:
    query = parse_query(request.args, scope=scoped_code)
    generation, pieces = _pieces(query)
    if generation is None:
        return render_map_page(
            "leaders.html", _base_map(), title=_("领导热点图"), generation=None, query=query
        )
    return render_template(
        "leaders.html",
        title=_("领导热点图"),
        generation=generation,
        query=query,
        print_url=_url("leaders.print_map", query.args()),
        **pieces,
    )


@bp.get("/print")
@rule("leader", area="param")
def print_map() -> str:
    """The page's map on one A4 landscape sheet for meetings: title, filters, legend, scale,
    date; the browser prints it or saves it as PDF (nothing leaves the intranet)."""
    query = parse_query(request.args, scope=scoped_code)
    generation, pieces = _pieces(query)
    if generation is None:
        raise NotFound(_("尚未导入行政区划边界。"))
    return render_template(
        "leaders_print.html",
        title=_("领导热点图"),
        query=query,
        filters=_filter_summary(query, pieces["crumbs"]),
        printed_on=dt.date.today().isoformat(),
        back_url=_url("leaders.index", query.args()),
        **pieces,
    )


def _filter_summary(query: LeadersQuery, crumbs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The page state in words, label by label, for the printed sheet."""
    everything = _("全部")
    kinds, statuses = kind_labels(), status_labels()
    joined = _("、").join
    summary = [
        (_("区域"), crumbs[-1][0]),
        (_("图层"), layer_labels()[query.layer]),
        (_("类型"), joined(kinds[k] for k in query.kinds) or everything),
        (_("状态"), joined(statuses[k] for k in query.statuses) or everything),
        (
            _("时间"),
            f"{query.date_from or '…'} – {query.date_to or '…'}"
            if query.date_from or query.date_to
            else everything,
        ),
    ]
    if query.layer == "hotspots":
        value = _("每千户案件数") if query.gi == "rate" else _("案件数")
        fdr = _("FDR 校正") if query.fdr else _("不做 FDR 校正")
        summary.append(("Gi*", f"{value} · {fdr}"))
    return summary


def _base_map() -> folium.Map:
    return offline_map(
        location=[27.2, 111.4],
        zoom_start=9,
        tile_url=current_app.config["TILE_URL"],
        attribution=current_app.config["TILE_ATTRIBUTION"],
    )


def _build_page(
    session: Session, generation_id: int, query: LeadersQuery, stamp: DataStamp
) -> dict[str, Any]:
    """Map pieces (header, body, script) and side-panel figures of one page state."""
    problem = assets_problem(current_app)
    if problem:
        raise AssetsMissing(problem)
    result = analysis(session, generation_id, query, stamp=stamp)
    m = _base_map()
    config = _outline_config(session, generation_id, query, stamp)
    bounds = config.pop("bounds")
    if bounds:
        # Before any layer is added, so the heatmap and outlines are drawn once, at the
        # final view, instead of again after a later fit.
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    _add_analysis_layer(m, query, result)
    control = folium.LayerControl(collapsed=False)
    control.add_to(m)
    config["layer"] = query.layer
    config["stats"] = {
        "cases": result.shown_total,
        "cells": result.shown_cells,
        "months": len(result.months),
    }
    config["text"] = {"stations": _("群众工作站"), "drill": _("下钻到此区域")}
    # The month of each frame of the monthly layer, in its order (frame t is frames[t - 1]).
    config["frames"] = (
        [str(m) for m in sorted(result.monthly["month"].unique())]
        if query.layer == "monthly"
        else []
    )
    config["drillUrl"] = _url("leaders.index", query.args(area="__AREA__"))
    map_root(m).header.add_child(
        JavascriptLink(url_for("static", filename="leaders.js")), name="leaders_js"
    )
    m.add_child(LeadersContext(dumps(config), control.get_name()))
    # As webmap.views.common.render_map_page does, keeping the pieces for the page cache.
    localize(m, base_url=vendor_base_url())
    root = map_root(m)
    root.render()
    return {
        "map_header": root.header.render(),
        "map_html": root.html.render(),
        "map_script": root.script.render(),
        **_page_context(session, generation_id, query, result),
    }


def _page_context(
    session: Session, generation_id: int, query: LeadersQuery, result: Analysis
) -> dict[str, Any]:
    tested = result.gi_units
    args = query.args()
    return {
        "crumbs": _breadcrumbs(session, generation_id, query),
        "kinds": kind_labels(),
        "statuses": status_labels(),
        "layers": layer_labels(),
        "layer_links": {layer: _url("leaders.index", query.args(layer=layer)) for layer in LAYERS},
        "total": result.shown_total,
        "gi_problem": _gi_problem_text(result.gi_problem),
        "agreement": result.agreement,
        "top": top_rows(result),
        "hot_labels": hotspot_labels(),
        "classes": class_counts(result.hotspots),
        "gi_units": tested,
        "permutations": PERMUTATIONS,
        "floor": {
            "99": fdr_floor_units(tested, alpha=0.01),
            "95": fdr_floor_units(tested, alpha=0.05),
            "90": fdr_floor_units(tested, alpha=0.10),
        },
        "min_count": MIN_COUNT,
        "months": result.shown_months,
        "csv_url": _url("api_leaders.top_csv", args),
        "geojson_url": _url("api_leaders.top_geojson", args),
        "api_urls": {
            name: _url(f"api_leaders.{name}", args)
            for name in ("heat", "monthly", "rates", "hotspots")
        },
        "kind_choices": CASE_KINDS,
        "status_choices": CASE_STATUSES,
    }

"""The planners' page at /planners/: coverage gaps ranked with reasons, and station siting.

One page state is one URL (area, generation, weights).  The map shows units coloured by gap
score (townships city-wide, villages inside a county or township), the stations and, after
a siting run, the proposed sites with their reach; the side panel holds the filters, the
ranked table (a row click zooms the map), the siting form and the exports.  Everything the
page shows comes from ``webmap.services.coverage`` / ``siting``, as the API and CLI do.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import folium
from branca.element import JavascriptLink, MacroElement
from flask import Blueprint, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from jinja2 import Template

from geo.coverage import COMPONENTS
from geo.density import MIN_COUNT, small_counts
from geo.layers.coverage import gap_layer
from geo.layers.offline import offline_map
from models import coverage as db
from models import places
from models import roads as road_db
from webmap.access import rule, scoped_code
from webmap.errors import NotFound
from webmap.services.coverage import (
    component_labels,
    coverage,
    geojson,
    parse_query,
    with_reasons,
)
from webmap.views.common import db_session, dumps, map_root, render_map_page

bp = Blueprint("planners", __name__, url_prefix="/planners")

TOP_N = 50
# Outline simplification (degrees) by the level drawn.
TOLERANCE = {"township": 0.002, "village": 0.0005}


class PlannersContext(MacroElement):
    """Stations, table-to-map links and the siting form, from static/planners.js."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        qungong.planners({{ this._parent.get_name() }}, {{ this.control }}, {{ this.config }});
        {% endmacro %}"""
    )

    def __init__(self, config_json: str, control: str) -> None:
        super().__init__()
        self._name = "PlannersContext"
        self.config = config_json
        self.control = control


def _tooltip() -> list[tuple[str, str]]:
    return [
        ("name", _("名称")),
        ("score", _("缺口得分")),
        ("rank", _("排名")),
        ("distance_own_m", _("距本村工作站（米）")),
        ("vacant", _("空缺岗位")),
        ("days_since_visit", _("距上次走访（天）")),
        ("travel_minutes", _("到最近工作站车程（分钟）")),
        ("travel_minutes_own", _("到本村工作站车程（分钟）")),
        ("reason", _("原因")),
    ]


def _text() -> dict[str, str]:
    return {
        "stations": _("群众工作站"),
        "sites": _("建议新站点"),
        "reach": _("服务范围"),
        "running": _("正在计算…"),
        "seconds": _("秒"),
        "before": _("现有站点覆盖"),
        "after": _("新增站点后覆盖"),
        "adds": _("新增覆盖"),
        "optimal": _("已证明最优"),
        "notOptimal": _("未证明最优"),
        "greedy": _("逐个贪心选址少覆盖"),
        "points": _("个百分点"),
        "pairs": _("相距很近、可合并服务的工作站"),
        "failed": _("计算失败"),
        "clicked": _("地图点选的候选点"),
        "households": _("户"),
        "cases": _("件"),
        "name": _("名称"),
        "lon": _("经度"),
        "lat": _("纬度"),
        "rank": _("排名"),
    }


def _page(session: Any, query: Any, user_area: str) -> dict[str, Any]:
    level = places.level_of(query.area)
    map_level = "township" if level == "city" else "village"
    table = coverage(session, replace(query, level="village"), user_area=user_area)
    shown = (
        table
        if map_level == "village"
        else coverage(session, replace(query, level=map_level), user_area=user_area)
    )
    data = geojson(session, shown, tolerance=TOLERANCE[map_level])
    top = with_reasons(table, table.frame.head(TOP_N))
    small = small_counts(top["cases"].to_numpy())
    gen_id = table.generation_id
    user_prefix = places.area_prefix(user_area)
    county = query.area[:6] + "000000" if level in ("county", "township", "village") else ""
    return {
        "result": table,
        "data": data,
        "map_level": map_level,
        "top": top.assign(cases=top["cases"].astype(object).where(~small, f"<{MIN_COUNT}")),
        "bounds": db.unit_bounds(session, gen_id, top["code"].tolist()),
        "stations": places.stations_compact(session, gen_id, prefix=table.prefix),
        "generations": [name for _id, name, _a in db.generations(session)],
        "counties": db.unit_list(session, gen_id, level="county", prefix=user_prefix[:6]),
        "townships": db.unit_list(session, gen_id, level="township", prefix=county[:6])
        if county
        else [],
        "county": county,
        # roads only inside a county: a city's roads are more than a page should carry
        "roads": road_db.roads_geojson(session, gen_id, prefix=table.prefix)
        if level != "city" and road_db.road_sources(session)
        else None,
        "road_sources": road_db.road_sources(session),
    }


def _map(page: dict[str, Any], query: Any) -> folium.Map:
    """The gap layer (townships city-wide, else villages), roads inside a county, the layer
    control and the siting script's settings."""
    m = offline_map(
        location=[27.2, 111.4],
        zoom_start=9,
        tile_url=current_app.config["TILE_URL"],
        attribution=current_app.config["TILE_ATTRIBUTION"],
    )
    names = {"township": _("乡镇（街道）缺口得分"), "village": _("村（社区）缺口得分")}
    layer = gap_layer(
        m,
        page["data"],
        name=names[page["map_level"]],
        legend_title=_("缺口得分"),
        tooltip_fields=_tooltip(),
    )
    m.fit_bounds(layer.get_bounds())  # type: ignore[arg-type]  # folium's stub allows None bounds
    if page["roads"] is not None:
        # The demo's roads are generated: the layer's name says so on the map.
        synthetic = any("synthetic" in src for src in page["road_sources"])
        folium.GeoJson(
            page["roads"],
            name=_("道路（合成示意）") if synthetic else _("道路"),
            style_function=lambda _f: {"color": "#7a5c3e", "weight": 1.2, "opacity": 0.7},
            show=True,
        ).add_to(m)
    control = folium.LayerControl(collapsed=False)
    control.add_to(m)
    config = {
        "stations": page["stations"],
        "bounds": page["bounds"],
        "sitingUrl": url_for("api_planners.siting_run"),
        "area": query.area,
        "generation": page["result"].generation,
        "text": _text(),
    }
    map_root(m).header.add_child(
        JavascriptLink(url_for("static", filename="planners.js")), name="planners_js"
    )
    m.add_child(PlannersContext(dumps(config), control.get_name()))
    return m


@bp.get("/")
@rule("planner", area="param")
def index() -> str:
    """The planners' map, ranked gaps and siting form for the requested (scoped) area."""
    user_area = g.user.area_code
    args = request.args.to_dict()
    args["area"] = scoped_code(args.get("area"))
    query = parse_query(args, default_area=user_area)
    with db_session() as session:
        if not db.generations(session):
            return render_template("planners_empty.html", title=_("规划覆盖"))
        try:
            page = _page(session, query, user_area)
        except NotFound:
            # e.g. a county code of one generation viewed in another (邵东县 -> 邵东市)
            query = replace(query, area=user_area)
            page = _page(session, query, user_area)
    m = _map(page, query)
    result = page["result"]
    export = {"area": query.area, "generation": result.generation}
    export |= {f"w_{k}": getattr(query.weights, k) for k in COMPONENTS}
    return render_map_page(
        "planners.html",
        m,
        title=_("规划覆盖"),
        query=query,
        result=result,
        top=page["top"].to_dict("records"),
        components=component_labels(),
        weights=query.weights.as_dict(),
        generations=page["generations"],
        counties=page["counties"],
        townships=page["townships"],
        county=page["county"],
        csv_url=url_for("api_planners.coverage_csv", **export),
        gpkg_url=url_for("api_planners.coverage_gpkg", **export),
        geojson_url=url_for("api_planners.coverage_geojson", **export),
        min_count=MIN_COUNT,
    )

"""The network overview at /: the whole city with every station, drilling down to a township."""

from __future__ import annotations

from branca.element import JavascriptLink
from flask import Blueprint, current_app, g, request, url_for
from flask_babel import gettext as _
from folium.elements import JSCSSMixin
from jinja2 import Template
from sqlalchemy.orm import Session

from geo.layers.offline import offline_map
from models import network, places
from models.cache import StampedCache, data_stamp
from webmap.access import Scope, area_scope, rule
from webmap.errors import NotFound
from webmap.views.common import db_session, dumps, map_root, render_map_page

bp = Blueprint("network", __name__)

# Simplification tolerance (degrees) per level for the city overview: ~200 m for counties,
# ~100 m for townships is invisible at city zoom and keeps the page small.
CITY_TOLERANCE = {"county": 0.002, "township": 0.001}
TOWNSHIP_TOLERANCE = {"village": 0.0002, "group": 0.0001}


# The zoom from which each lazily drawn layer and each level's name labels appear; the
# layer control says so while the map is zoomed out further.
MIN_ZOOM = {"village": 11, "group": 13}
LABEL_ZOOM = {"county": (0, 10), "township": (10, 13), "village": (13, 15), "group": (15, 30)}
# Stations are clustered below this zoom (a city of 5,903 dots is one red smear).
CLUSTER_UNTIL_ZOOM = 12


class NetworkLayers(JSCSSMixin):
    """Draws boundaries and stations from compact data with static/network.js.

    The station clusters come from leaflet.markercluster, served locally like every asset.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
        qungong.network({{ this._parent.get_name() }}, {{ this.config }});
        {% endmacro %}"""
    )

    def __init__(self, config_json: str) -> None:
        super().__init__()
        self._name = "NetworkLayers"
        self.config = config_json
        # Named as folium.plugins.MarkerCluster names them; geo.layers.offline serves them.
        self.default_js = [("markerclusterjs", "")]
        self.default_css = [("markerclustercss", ""), ("markerclusterdefaultcss", "")]


def _text() -> dict[str, str]:
    return {
        "counties": _("县市区"),
        "townships": _("乡镇（街道）"),
        "village": _("村（社区）"),
        "villages": _("村（社区）"),
        "group": _("村民小组"),
        "groups": _("村民小组"),
        "stations": _("群众工作站"),
        "cluster": _("多个工作站（点击放大）"),
        "groupCount": _("村民小组"),
        "officers": _("民情信息员"),
        "team": _("工作队"),
        "address": _("地址"),
        "head": _("站长"),
        "phone": _("电话"),
        "opened": _("建站日期"),
        "openCases": _("未办结案件"),
        "visits30": _("近30天走访"),
        "lastVisit": _("最近走访"),
        "none": _("无"),
        "labels": _("名称标注"),
        "legend": _("图例"),
        # {zoom} is filled in by network.js.
        "fromZoom": _("放大到第 {zoom} 级后显示"),
        "drill": _("查看本乡镇的村和村民小组"),
        "drillCounty": _("查看本县市区的乡镇"),
    }


def _may_see_city() -> bool:
    """Whether the logged-in user's area is the whole city (or wider)."""
    return places.level_of(g.user.area_code) in ("city", "province")


@bp.get("/")
@rule(area="param")
def index() -> str:
    scope = area_scope(request.args.get("area"))
    area = "" if scope.level == "city" else scope.code
    with db_session() as session:
        generation = places.active_generation(session)
        m = offline_map(
            location=[27.2, 111.4],
            zoom_start=9,
            tile_url=current_app.config["TILE_URL"],
            attribution=current_app.config["TILE_ATTRIBUTION"],
        )
        title = _("邵阳市群众工作网络")
        totals: dict[str, int] = {}
        chain: list[dict[str, str]] = []
        if generation is not None:
            prefix = scope.prefix if area else ""
            totals = network.area_totals(session, generation.id, prefix=prefix)
            if area:
                chain = network.unit_chain(session, generation.id, area)
            title, config_json = _network_config(session, generation.id, scope)
            if chain:
                title = chain[-1]["name"]
            map_root(m).header.add_child(
                JavascriptLink(url_for("static", filename="network.js")), name="network_js"
            )
            m.add_child(NetworkLayers(config_json))
    return render_map_page(
        "network.html",
        m,
        title=title,
        generation=generation,
        totals=totals,
        area=area,
        area_level=places.level_of(area) if area else "city",
        crumbs=_breadcrumbs(chain),
        may_see_city=_may_see_city(),
    )


def _breadcrumbs(chain: list[dict[str, str]]) -> list[dict[str, str | None]]:
    """The viewed area's ancestors, each with a link only where the user may open it."""
    own = places.area_prefix(g.user.area_code)
    crumbs: list[dict[str, str | None]] = []
    for unit in chain[:-1]:
        allowed = places.area_prefix(unit["code"]).startswith(own)
        if unit["level"] == "city":
            continue
        href = url_for("network.index", area=unit["code"]) if allowed else None
        crumbs.append({"name": unit["name"], "href": href})
    return crumbs


# Rendered layer data per (generation, area), kept while the boundaries and registers are
# unchanged (``models.cache``: a new import or an activated generation makes it stale).
_layers: StampedCache[tuple[str | None, str]] = StampedCache(maxsize=64)


def _network_config(session: Session, generation_id: int, scope: Scope) -> tuple[str, str]:
    """(title, config JSON) for network.js; the heavy part is cached between requests."""

    def build() -> tuple[str | None, str]:
        name, data = _network_data(session, generation_id, scope)
        return name, dumps(data)

    stamp = data_stamp(session).boundaries()
    name, data_json = _layers.get_or_build(stamp, (generation_id, scope.code), build)
    common = dumps(
        {
            "text": _text(),
            "unitsUrl": url_for("api.units"),
            "stationUrl": url_for("api.stations") + "/",
            "drillUrl": url_for("network.index") + "?area=",
            "minZoom": MIN_ZOOM,
            "labelZoom": LABEL_ZOOM,
            "clusterUntil": CLUSTER_UNTIL_ZOOM,
        }
    )
    return name or _("邵阳市群众工作网络"), common[:-1] + "," + data_json[1:]


def _network_data(session: Session, generation_id: int, scope: Scope) -> tuple[str | None, dict]:
    """The area's name (None for county/city views) and the layers' data, inside ``scope``."""
    if scope.level in ("township", "village", "group"):
        # A township or anything below it: drawn whole, with its villages and groups.
        prefix = scope.prefix
        own = places.units_geojson(session, generation_id, level=scope.level, prefix=prefix)
        if not own["features"]:
            raise NotFound(_("没有此区域：%(code)s", code=scope.code), code="area_not_found")
        name = own["features"][0]["properties"]["name"]
        layers = {"townships": own} if scope.level == "township" else {"villages": own}
        if scope.level == "township":
            layers["villages"] = _units(session, generation_id, "village", prefix)
        if scope.level != "group":
            layers["groups"] = _units(session, generation_id, "group", prefix)
        return name, {
            **layers,
            "stations": places.stations_compact(session, generation_id, prefix=prefix),
            "bounds": places.extent(session, generation_id, prefix=prefix, level=scope.level),
            "lazy": False,
        }
    prefix = scope.prefix if scope.level == "county" else ""
    return None, {
        "counties": places.units_geojson(
            session,
            generation_id,
            level="county",
            prefix=prefix,
            tolerance=CITY_TOLERANCE["county"],
        ),
        "townships": places.units_geojson(
            session,
            generation_id,
            level="township",
            prefix=prefix,
            tolerance=CITY_TOLERANCE["township"],
        ),
        "stations": places.stations_compact(session, generation_id, prefix=prefix),
        "bounds": places.extent(session, generation_id, prefix=prefix),
        "lazy": True,
        # The county step: from the city, a county opens its townships.
        "countyDrill": not prefix,
    }


def _units(session: Session, generation_id: int, level: str, prefix: str) -> dict:
    tolerance = TOWNSHIP_TOLERANCE[level]
    return places.units_geojson(
        session, generation_id, level=level, prefix=prefix, tolerance=tolerance
    )

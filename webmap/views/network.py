"""The network overview at /: the whole city with every station, drilling down to a township."""

from __future__ import annotations

from branca.element import JavascriptLink, MacroElement
from flask import Blueprint, current_app, request, url_for
from flask_babel import gettext as _
from jinja2 import Template
from sqlalchemy.orm import Session

from geo.layers.offline import offline_map
from models import places
from models.cache import StampedCache, data_stamp
from webmap.auth import login_required, scoped_area
from webmap.views.common import db_session, dumps, render_map_page

bp = Blueprint("network", __name__)

# Simplification tolerance (degrees) per level for the city overview: ~200 m for counties,
# ~100 m for townships is invisible at city zoom and keeps the page small.
CITY_TOLERANCE = {"county": 0.002, "township": 0.001}
TOWNSHIP_TOLERANCE = {"village": 0.0002, "group": 0.0001}


class NetworkLayers(MacroElement):
    """Draws boundaries and stations from compact data with static/network.js."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        qungong.network({{ this._parent.get_name() }}, {{ this.config }});
        {% endmacro %}"""
    )

    def __init__(self, config_json: str) -> None:
        super().__init__()
        self._name = "NetworkLayers"
        self.config = config_json


def _text() -> dict[str, str]:
    return {
        "counties": _("县市区"),
        "townships": _("乡镇（街道）"),
        "village": _("村（社区）"),
        "villages": _("村（社区）"),
        "group": _("村民小组"),
        "groups": _("村民小组"),
        "stations": _("群众工作站"),
        "groupCount": _("村民小组"),
        "officers": _("民情信息员"),
        "team": _("工作队"),
        "drill": _("查看本乡镇的村和村民小组"),
    }


@bp.get("/")
@login_required()
def index() -> str:
    area = scoped_area(request.args.get("area", "").strip())
    if places.level_of(area) == "city":
        area = ""
    with db_session() as session:
        generation = places.active_generation(session)
        m = offline_map(
            location=[27.2, 111.4],
            zoom_start=9,
            tile_url=current_app.config["TILE_URL"],
            attribution=current_app.config["TILE_ATTRIBUTION"],
        )
        title = _("邵阳市群众工作网络")
        counts: dict[str, int] = {}
        if generation is not None:
            counts = places.level_counts(session, generation.id)
            title, config_json = _network_config(session, generation.id, area)
            m.get_root().header.add_child(
                JavascriptLink(url_for("static", filename="network.js")), name="network_js"
            )
            m.add_child(NetworkLayers(config_json))
    return render_map_page(
        "network.html",
        m,
        title=title,
        generation=generation,
        counts=counts,
        area=area,
    )


# Rendered layer data per (generation, area), kept while the boundaries and registers are
# unchanged (``models.cache``: a new import or an activated generation makes it stale).
_layers: StampedCache[tuple[str | None, str]] = StampedCache(maxsize=64)


def _network_config(session: Session, generation_id: int, area: str) -> tuple[str, str]:
    """(title, config JSON) for network.js; the heavy part is cached between requests."""

    def build() -> tuple[str | None, str]:
        name, data = _network_data(session, generation_id, area)
        return name, dumps(data)

    stamp = data_stamp(session).boundaries()
    name, data_json = _layers.get_or_build(stamp, (generation_id, area), build)
    common = dumps(
        {
            "text": _text(),
            "unitsUrl": url_for("api.units"),
            "stationUrl": url_for("api.stations") + "/",
            "drillUrl": url_for("network.index") + "?area=",
        }
    )
    return name or _("邵阳市群众工作网络"), common[:-1] + "," + data_json[1:]


def _network_data(session: Session, generation_id: int, area: str) -> tuple[str | None, dict]:
    """The township name (None for county/city views) and the layers' data."""
    if area and places.level_of(area) == "township":
        prefix = places.area_prefix(area)
        township = places.units_geojson(session, generation_id, level="township", prefix=prefix)
        if township["features"]:
            name = township["features"][0]["properties"]["name"]
            return name, {
                "townships": township,
                "villages": places.units_geojson(
                    session,
                    generation_id,
                    level="village",
                    prefix=prefix,
                    tolerance=TOWNSHIP_TOLERANCE["village"],
                ),
                "groups": places.units_geojson(
                    session,
                    generation_id,
                    level="group",
                    prefix=prefix,
                    tolerance=TOWNSHIP_TOLERANCE["group"],
                ),
                "stations": places.stations_compact(session, generation_id, prefix=prefix),
                "bounds": places.extent(session, generation_id, prefix=prefix, level="township"),
                "lazy": False,
            }
    prefix = places.area_prefix(area) if area and places.level_of(area) == "county" else ""
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
    }

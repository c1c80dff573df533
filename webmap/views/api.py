"""JSON/GeoJSON API behind the pages, under /api/."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from models import network, places
from models.schema import LEVELS
from webmap.auth import login_required, scoped_area, user_prefix
from webmap.errors import ApiError, NotFound
from webmap.views.common import db_session

bp = Blueprint("api", __name__, url_prefix="/api")


# Simplification by zoom: roughly a third of a screen pixel, in degrees.
def _tolerance(zoom: int) -> float:
    return 360.0 / (256 * 2**zoom) / 3


def _float(name: str, lo: float, hi: float) -> float:
    raw = request.args.get(name)
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        msg = f"parameter {name!r} must be a number, got {raw!r}"
        raise ApiError(msg, code="bad_parameter") from None
    if not lo <= value <= hi:
        msg = f"parameter {name!r} must lie in [{lo}, {hi}], got {value}"
        raise ApiError(msg, code="bad_parameter")
    return value


def _generation(session):  # noqa: ANN001
    generation = places.active_generation(session)
    if generation is None:
        msg = "no active boundary generation: import boundaries first"
        raise NotFound(msg, code="no_generation")
    return generation


@bp.get("/units")
@login_required()
def units() -> ResponseReturnValue:
    """GeoJSON of one level's units, optionally under an area code and inside a bbox."""
    level = request.args.get("level", "county")
    if level not in LEVELS:
        msg = f"level must be one of {', '.join(LEVELS)}"
        raise ApiError(msg, code="bad_parameter")
    bbox = None
    if request.args.get("bbox"):
        try:
            w, s, e, n = (float(v) for v in request.args["bbox"].split(","))
        except ValueError:
            msg = "bbox must be west,south,east,north in degrees"
            raise ApiError(msg, code="bad_parameter") from None
        bbox = (w, s, e, n)
    zoom = int(request.args.get("zoom", 12)) if request.args.get("zoom", "12").isdigit() else 12
    area = scoped_area(request.args.get("area", ""))
    with db_session() as session:
        generation = _generation(session)
        data = places.units_geojson(
            session,
            generation.id,
            level=level,
            prefix=places.area_prefix(area) if area else "",
            bbox=bbox,
            tolerance=_tolerance(zoom),
        )
    return jsonify(data)


@bp.get("/units/at")
@login_required()
def units_at() -> ResponseReturnValue:
    """Every unit of the active generation containing a point (county down to group)."""
    lon = _float("lon", -180, 180)
    lat = _float("lat", -90, 90)
    with db_session() as session:
        generation = _generation(session)
        found = places.units_at(session, lon, lat, generation_id=generation.id)
    return jsonify(generation=generation.name, lon=lon, lat=lat, units=found)


@bp.get("/stations")
@login_required()
def stations() -> ResponseReturnValue:
    """Every station of the active generation as [id, lon, lat]."""
    area = scoped_area(request.args.get("area", ""))
    with db_session() as session:
        generation = _generation(session)
        rows = places.stations_compact(
            session, generation.id, prefix=places.area_prefix(area) if area else ""
        )
    return jsonify(generation=generation.name, stations=rows)


@bp.get("/stations/<int:station_id>")
@login_required()
def station(station_id: int) -> ResponseReturnValue:
    """A station's register entry, groups, officers and team, open cases and recent visits."""
    with db_session() as session:
        detail = places.station_detail(session, station_id)
        if detail is None or not detail["village"]["code"].startswith(user_prefix()):
            msg = f"no station {station_id}"
            raise NotFound(msg)
        detail.update(network.station_activity(session, station_id))
    return jsonify(detail)

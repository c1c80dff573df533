"""JSON/GeoJSON API behind the pages, under /api/."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from models import network, places
from models.schema import LEVELS
from webmap.access import area_scope, rule, user_scope
from webmap.errors import ApiError, NotFound
from webmap.views.common import db_session

bp = Blueprint("api", __name__, url_prefix="/api")


# Leaflet's zoom levels; the simplification tolerance is derived from it, so it is bounded.
MIN_ZOOM, MAX_ZOOM = 0, 22


# Simplification by zoom: roughly a third of a screen pixel, in degrees.
def _tolerance(zoom: int) -> float:
    return 360.0 / (256 * 2**zoom) / 3


def _int(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.lstrip("-").isdigit() and len(raw) <= 6):
        msg = f"parameter {name!r} must be a whole number in [{lo}, {hi}], got {raw[:20]!r}"
        raise ApiError(msg, code="bad_parameter")
    value = int(raw)
    if not lo <= value <= hi:
        msg = f"parameter {name!r} must lie in [{lo}, {hi}], got {value}"
        raise ApiError(msg, code="bad_parameter")
    return value


def _float(name: str, lo: float, hi: float) -> float:
    raw = request.args.get(name)
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        msg = f"parameter {name!r} must be a number, got {(raw or '')[:20]!r}"
        raise ApiError(msg, code="bad_parameter") from None
    if not lo <= value <= hi:  # also refuses nan and inf
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
@rule(area="param")
def units() -> ResponseReturnValue:
    """GeoJSON of one level's units, optionally under an area code and inside a bbox."""
    level = request.args.get("level", "county")
    if level not in LEVELS:
        msg = f"level must be one of {', '.join(LEVELS)}"
        raise ApiError(msg, code="bad_parameter")
    bbox = _bbox(request.args.get("bbox"))
    zoom = _int("zoom", 12, MIN_ZOOM, MAX_ZOOM)
    scope = area_scope(request.args.get("area"))
    with db_session() as session:
        generation = _generation(session)
        data = places.units_geojson(
            session,
            generation.id,
            level=level,
            prefix=scope.prefix,
            bbox=bbox,
            tolerance=_tolerance(zoom),
        )
    return jsonify(data)


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if not raw:
        return None
    try:
        w, s, e, n = (float(v) for v in raw.split(","))
    except ValueError:
        msg = "bbox must be west,south,east,north in degrees"
        raise ApiError(msg, code="bad_parameter") from None
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        msg = "bbox must be west,south,east,north with west <= east and south <= north"
        raise ApiError(msg, code="bad_parameter")
    return (w, s, e, n)


@bp.get("/units/at")
@rule(area="own")
def units_at() -> ResponseReturnValue:
    """The units of the active generation containing a point, inside the user's area.

    Units wider than the user's area that contain it (their county, say) are named too; a
    point outside the user's area is 404, as if nothing were there.
    """
    lon = _float("lon", -180, 180)
    lat = _float("lat", -90, 90)
    scope = user_scope()
    with db_session() as session:
        generation = _generation(session)
        found = places.units_at(session, lon, lat, generation_id=generation.id)
    inside = [u for u in found if scope.contains(u["code"])]
    if not inside:
        msg = f"no unit of your area at {lon}, {lat}"
        raise NotFound(msg)
    shown = [u for u in found if scope.contains(u["code"]) or scope.within(u["code"])]
    return jsonify(generation=generation.name, lon=lon, lat=lat, units=shown)


@bp.get("/stations")
@rule(area="param")
def stations() -> ResponseReturnValue:
    """Every station of the active generation in the area as [id, lon, lat]."""
    scope = area_scope(request.args.get("area"))
    with db_session() as session:
        generation = _generation(session)
        rows = places.stations_compact(session, generation.id, prefix=scope.prefix)
    return jsonify(generation=generation.name, stations=rows)


@bp.get("/stations/<int:station_id>")
@rule(area="record")
def station(station_id: int) -> ResponseReturnValue:
    """A station's register entry, groups, officers and team, open cases and recent visits."""
    with db_session() as session:
        detail = places.station_detail(session, station_id)
        if detail is None or not user_scope().contains(detail["village"]["code"]):
            msg = f"no station {station_id}"
            raise NotFound(msg)
        detail.update(network.station_activity(session, station_id))
    return jsonify(detail)

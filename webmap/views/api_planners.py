"""The planners' coverage and siting under /api/: GeoJSON, CSV, GeoPackage and JSON.

Thin: parse the request within the user's area, call ``webmap.services.coverage`` /
``webmap.services.siting`` and serialise.  An unknown area, or one outside the user's own,
answers 404; a bad parameter 400 with a message naming it.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request
from flask.typing import ResponseReturnValue

from webmap.access import rule, scoped_code
from webmap.services import coverage_export
from webmap.services.coverage import coverage, geojson, parse_query
from webmap.services.siting import parse_siting, siting
from webmap.views.common import db_session

bp = Blueprint("api_planners", __name__, url_prefix="/api")


def _scoped_args() -> dict[str, str]:
    # The one area rule (webmap.access): malformed 400, outside 404, wider shrinks to own.
    return {**request.args.to_dict(), "area": scoped_code(request.args.get("area"))}


@bp.get("/coverage")
@rule("planner", area="param")
def coverage_geojson() -> ResponseReturnValue:
    """One feature per group or village (``level``) with its measures, score and reason."""
    query = parse_query(_scoped_args(), default_area=g.user.area_code)
    with db_session() as session:
        result = coverage(session, query, user_area=g.user.area_code)
        data = geojson(session, result)
    response = jsonify(data)
    response.mimetype = "application/geo+json"
    return response


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.get("/coverage.csv")
@rule("planner", area="param", export=True)
def coverage_csv() -> ResponseReturnValue:
    """The ranked table as CSV with Chinese headers (UTF-8 with BOM, for Excel)."""
    query = parse_query(_scoped_args(), default_area=g.user.area_code)
    with db_session() as session:
        result = coverage(session, query, user_area=g.user.area_code)
    name = f"coverage_{query.level}_{query.area}.csv"
    return _download(coverage_export.csv_bytes(result), "text/csv", name)


@bp.get("/coverage.gpkg")
@rule("planner", area="param", export=True)
def coverage_gpkg() -> ResponseReturnValue:
    """The ranked units with geometry as a GeoPackage."""
    query = parse_query(_scoped_args(), default_area=g.user.area_code)
    with db_session() as session:
        result = coverage(session, query, user_area=g.user.area_code)
        body = coverage_export.gpkg_bytes(session, result)
    name = f"coverage_{query.level}_{query.area}.gpkg"
    return _download(body, "application/geopackage+sqlite3", name)


@bp.post("/siting")
@rule("planner", area="param")
def siting_run() -> ResponseReturnValue:
    """JSON in (area, sites, within, method, demand, candidates), JSON out (see the service)."""
    payload = request.get_json(silent=True)
    if isinstance(payload, dict):
        # The one area rule (webmap.access), as for ?area= on the GET endpoints.
        payload = {**payload, "area": scoped_code(payload.get("area"))}
    query = parse_siting(payload if payload is not None else "", default_area=g.user.area_code)
    with db_session() as session:
        return jsonify(siting(session, query, user_area=g.user.area_code))

"""The leaders' hotspot analysis as GeoJSON/CSV under /api/leaders/.

Thin: parse the query string within the user's area, call ``webmap.services.leaders`` and
serialise with ``webmap.services.leaders_export`` (which ``qungong leaders analyse`` uses
too).  Nothing returned here identifies a case: bins and units below five cases are dropped
or masked, exactly as on the page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from models import places
from webmap.access import rule, scoped_code
from webmap.errors import NotFound
from webmap.services import leaders_export
from webmap.services.leaders import Analysis, LeadersQuery, analysis, parse_query
from webmap.views.common import db_session

bp = Blueprint("api_leaders", __name__, url_prefix="/api/leaders")


def _request_analysis() -> tuple[LeadersQuery, Analysis]:
    query = parse_query(request.args, scope=scoped_code)
    with db_session() as session:
        generation = places.active_generation(session)
        if generation is None:
            msg = "no active boundary generation: import boundaries first"
            raise NotFound(msg, code="no_generation")
        return query, analysis(session, generation.id, query)


def _geojson(data: dict[str, Any], *, filename: str | None = None) -> Response:
    response = jsonify(data)
    response.mimetype = "application/geo+json"
    if filename:
        response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response


@bp.get("/heat")
@rule("leader", area="param")
def heat() -> ResponseReturnValue:
    """H3 hexagons with their case count (cells below five cases left out); ``month`` optional."""
    query, result = _request_analysis()
    month = request.args.get("month") or None
    return _geojson(leaders_export.heat_geojson(query, result, month=month))


@bp.get("/monthly")
@rule("leader", area="param")
def monthly() -> ResponseReturnValue:
    """Monthly H3 hexagons (``month``, ``h3``, ``count``), cells below five cases left out."""
    return _geojson(leaders_export.monthly_geojson(*_request_analysis()))


@bp.get("/rates")
@rule("leader", area="param")
def rates() -> ResponseReturnValue:
    """Cases per 1,000 households by township or village; units below five cases left out."""
    return _geojson(leaders_export.rates_geojson(*_request_analysis()))


@bp.get("/hotspots")
@rule("leader", area="param")
def hotspots() -> ResponseReturnValue:
    """Gi* class, z and p of every tested village; counts and rates below five read ``<5``."""
    return _geojson(leaders_export.hotspots_geojson(*_request_analysis()))


@bp.get("/top.csv")
@rule("leader", area="param", export=True)
def top_csv() -> ResponseReturnValue:
    """Every ranked village, hottest first, as CSV with Chinese headers (UTF-8 with BOM, so
    Excel reads the Chinese); the URL keeps its old name for scripts that use it."""
    _, result = _request_analysis()
    return Response(
        leaders_export.top_csv(result),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=hotspot_villages_ranked.csv"},
    )


@bp.get("/top.geojson")
@rule("leader", area="param", export=True)
def top_geojson() -> ResponseReturnValue:
    """The 20 hottest villages as GeoJSON polygons with the table's figures."""
    return _geojson(
        leaders_export.top_geojson(*_request_analysis()),
        filename="hotspot_villages_top20.geojson",
    )

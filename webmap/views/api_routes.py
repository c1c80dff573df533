"""``POST /api/routes/plan``: day routes for a set of stops from a depot, as JSON."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from webmap.access import rule
from webmap.db import get_session, release
from webmap.services import routes
from webmap.services.routes import PlanError

bp = Blueprint("api_routes", __name__, url_prefix="/api/routes")


@bp.post("/plan")
# Plans only the stops it is sent (no stored record is read): no area to scope.
@rule("team", "planner", area="none", token=True)
def plan() -> ResponseReturnValue:
    """Plan day routes; the body and the answer are described in ``webmap.services.routes``."""
    payload = request.get_json(silent=True)
    if payload is None:
        raise PlanError("the request body must be a JSON object")
    session = get_session()
    checked = routes.parse_request(payload, extent=routes.city_extent(session))
    along = routes.along_roads(session, checked)
    release()  # the solver needs no connection
    return jsonify(routes.plan(checked, along=along))

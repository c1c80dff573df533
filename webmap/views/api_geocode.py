"""/api/geocode: addresses to places for other systems (petitions, hotlines), like ``qungong geocode``.

``GET ?address=…`` answers one address; ``POST`` takes a JSON list of addresses (answers a
JSON list in the same order) or a CSV (``Content-Type: text/csv``, the address in column
``address`` or ``?column=``; answers the CSV ``qungong geocode`` writes). Every answer is
limited to the caller's area (session or bearer token).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from geo.geocode import Gazetteer
from ingest.activity import gazetteer_for
from models.places import area_prefix
from webmap.access import rule
from webmap.errors import ApiError, NotFound
from webmap.services.geocoding import answers, geocode_csv, typed

bp = Blueprint("api_geocode", __name__, url_prefix="/api/geocode")
MAX_BATCH = 50_000
MAX_ADDRESS = 500  # characters; a longer "address" is not one


def _gazetteer() -> Gazetteer:
    gazetteer = gazetteer_for(current_app.config["DATABASE_URL"])
    if gazetteer is None:
        msg = "no active boundary generation: import boundaries first"
        raise NotFound(msg, code="no_generation")
    return gazetteer


def _prefix() -> str:
    return area_prefix(g.user.area_code)


@bp.get("")
@rule(area="own", token=True)
def one() -> ResponseReturnValue:
    address = request.args.get("address", "").strip()
    if not address or len(address) > MAX_ADDRESS:
        msg = f"give ?address= (1 to {MAX_ADDRESS} characters)"
        raise ApiError(msg, code="bad_parameter")
    answer = answers(_gazetteer(), [address], prefix=_prefix())[0]
    return jsonify(typed(answer, address))


@bp.post("")
@rule(area="own", token=True)
def batch() -> ResponseReturnValue:
    if request.mimetype in ("text/csv", "application/csv"):
        return _batch_csv()
    addresses = request.get_json(silent=True)
    if not isinstance(addresses, list) or not all(
        a is None or isinstance(a, str) for a in addresses
    ):
        msg = "POST a JSON list of address strings, or a CSV with Content-Type: text/csv"
        raise ApiError(msg, code="bad_body")
    _check_size(len(addresses))
    found = answers(_gazetteer(), addresses, prefix=_prefix())
    return jsonify([typed(a, addr) for a, addr in zip(found, addresses, strict=True)])


def _batch_csv() -> Response:
    raw = request.get_data()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gbk")
        except UnicodeDecodeError:
            msg = "the CSV is neither UTF-8 nor GBK text"
            raise ApiError(msg, code="bad_body") from None
    _check_size(text.count("\n"))
    column = request.args.get("column", "address")
    try:
        out = geocode_csv(_gazetteer(), text, column=column, prefix=_prefix())
    except KeyError as err:
        raise ApiError(f"{err.args[0]}; give ?column=", code="bad_body") from None
    return Response(out, mimetype="text/csv")


def _check_size(n: int) -> None:
    if n > MAX_BATCH:
        msg = f"at most {MAX_BATCH:,} addresses a request, got {n:,}"
        raise ApiError(msg, code="too_many", status=413)

"""/api/export/<layer>: the export links of the pages (and of scripts with a bearer token).

Thin: the caller's area (a narrower ``area`` inside it is honoured), the format, then
:func:`webmap.services.exports.export_layer`, which reads only inside that area and audits.
"""

from __future__ import annotations

import io
import shutil

from flask import Blueprint, g, request, send_file
from flask.typing import ResponseReturnValue

from webmap.access import area_scope, rule
from webmap.db import transaction
from webmap.errors import ApiError, NotFound
from webmap.services.exports import FORMATS, ExportError, export_layer

bp = Blueprint("exports", __name__, url_prefix="/api/export")


@bp.get("/<layer>")
@rule(area="param", token=True)
def export(layer: str) -> ResponseReturnValue:
    """``?format=gpkg|shp|csv|geojson&area=CODE&generation=NAME``."""
    fmt = request.args.get("format", "gpkg")
    if fmt not in FORMATS:
        msg = f"format must be one of {', '.join(FORMATS)}, got {fmt!r}"
        raise ApiError(msg, code="bad_parameter")
    scope = area_scope(request.args.get("area"))
    try:
        with transaction() as session:
            done = export_layer(
                session,
                layer,
                fmt=fmt,
                prefix=scope.prefix,
                generation=request.args.get("generation") or None,
                username=g.user.username,
            )
    except ExportError as err:
        raise NotFound(str(err), code="unknown_layer") from None
    try:
        data = done.path.read_bytes()
    finally:
        shutil.rmtree(done.path.parent, ignore_errors=True)
    return send_file(
        io.BytesIO(data), mimetype=done.media_type, as_attachment=True, download_name=done.filename
    )

"""OGC API – Features under /ogc/: what QGIS (GDAL OAPIF), OWSLib and browsers read.

Thin: negotiate JSON or HTML, parse parameters, take the caller's area, call
:mod:`webmap.services.ogc`. A signed-in session or a bearer token (webmap.bearer) is
required everywhere, and the caller's area prefix enters every query.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from models.features import Query
from models.places import area_prefix
from webmap.access import rule
from webmap.errors import ApiError
from webmap.services import ogc as service
from webmap.services.ogc_openapi import openapi
from webmap.views.common import db_session
from webmap.views.ogc_params import (
    parse_bbox,
    parse_datetime,
    parse_filters,
    parse_limit,
    parse_offset,
)

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
GEOJSON = "application/geo+json"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"


@bp.errorhandler(ApiError)
def ogc_error(err: ApiError) -> ResponseReturnValue:
    # OGC API exception JSON: {"code", "description"}; 401s say how to authenticate.
    code = err.code if isinstance(err, service.OgcError) else _OGC_CODES.get(err.status, err.code)
    response = Response(
        json.dumps({"code": code, "description": err.message}, ensure_ascii=False),
        status=err.status,
        mimetype="application/json",
    )
    if err.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="qungong"'
    response.headers["X-Error-Code"] = err.code  # as webmap.errors answers elsewhere
    return response


_OGC_CODES = {400: "InvalidParameterValue", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}


class _SignInNeeded(ApiError):
    status = 401
    code = "Unauthorized"


@bp.before_request
def require_user() -> ResponseReturnValue | None:
    """Everything under /ogc/ needs a user; browsers are sent to the log-in page."""
    if g.user is not None:
        return None
    if _wants_html():
        return redirect(url_for("auth.login", next=request.full_path))
    raise _SignInNeeded(_("需要登录或令牌（Authorization: Bearer …）"))


def _wants_html() -> bool:
    f = request.args.get("f")
    if f is not None:
        if f not in ("json", "html", "geojson"):
            msg = f"f must be json or html, got {f!r}"
            raise service.OgcError(msg)
        return f == "html"
    best = request.accept_mimetypes.best_match(["application/json", GEOJSON, "text/html"])
    return best == "text/html"


def _prefix() -> str:
    return area_prefix(g.user.area_code)


def _base() -> str:
    return url_for("ogc.landing", _external=True).rstrip("/")


def _json(body: Any, media: str = "application/json") -> Response:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return Response(text, mimetype=media)


def _page(kind: str, title: str, doc: dict[str, Any], **context: Any) -> str:
    return render_template("ogc.html", kind=kind, title=title, doc=doc, **context)


@bp.get("/")
@rule(area="none", token=True)
def landing() -> ResponseReturnValue:
    base = _base()
    doc = {
        "title": _("群工 OGC API – Features"),
        "description": _("邵阳市群众工作网络的图层（仅限您的辖区）"),
        "links": [
            {
                "href": f"{base}/",
                "rel": "self",
                "type": "application/json",
                "title": "this document",
            },
            {"href": f"{base}/?f=html", "rel": "alternate", "type": "text/html", "title": "HTML"},
            {
                "href": f"{base}/api",
                "rel": "service-desc",
                "type": OPENAPI_JSON,
                "title": "OpenAPI",
            },
            {
                "href": f"{base}/api?f=html",
                "rel": "service-doc",
                "type": "text/html",
                "title": "API",
            },
            {
                "href": f"{base}/conformance",
                "rel": "conformance",
                "type": "application/json",
                "title": "conformance",
            },
            {
                "href": f"{base}/collections",
                "rel": "data",
                "type": "application/json",
                "title": "collections",
            },
        ],
    }
    return _page("landing", doc["title"], doc) if _wants_html() else _json(doc)


@bp.get("/conformance")
@rule(area="none", token=True)
def conformance() -> ResponseReturnValue:
    doc = {"conformsTo": list(service.CONFORMANCE)}
    return _page("conformance", _("符合的标准"), doc) if _wants_html() else _json(doc)


@bp.get("/api")
@rule(area="none", token=True)
def api() -> ResponseReturnValue:
    html = _wants_html()
    with db_session() as session:
        doc = openapi(service.catalogue(session), base=_base(), title=_("群工 OGC API – Features"))
    if html:
        return _page("api", "OpenAPI", doc, pretty=json.dumps(doc, ensure_ascii=False, indent=1))
    return _json(doc, OPENAPI_JSON)


@bp.get("/collections")
@rule(area="own", token=True)
def collections() -> ResponseReturnValue:
    html = _wants_html()
    base = _base()
    with db_session() as session:
        metas = [
            service.collection_meta(session, c, prefix=_prefix(), base=base)
            for c in service.catalogue(session)
        ]
    doc = {
        "links": [
            {"href": f"{base}/collections", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections?f=html", "rel": "alternate", "type": "text/html"},
        ],
        "collections": metas,
    }
    return _page("collections", _("图层"), doc) if html else _json(doc)


@bp.get("/collections/<collection_id>")
@rule(area="own", token=True)
def collection(collection_id: str) -> ResponseReturnValue:
    html = _wants_html()
    with db_session() as session:
        found = service.find_collection(session, collection_id)
        doc = service.collection_meta(session, found, prefix=_prefix(), base=_base())
    return _page("collection", doc["title"], doc) if html else _json(doc)


@bp.get("/collections/<collection_id>/items")
@rule(area="own", token=True)
def items(collection_id: str) -> ResponseReturnValue:
    html = _wants_html()
    with db_session() as session:
        found = service.find_collection(session, collection_id)
        limit, asked = parse_limit(request.args.get("limit"))
        query = Query(
            prefix=_prefix(),
            bbox=parse_bbox(request.args.get("bbox")),
            interval=parse_datetime(request.args.get("datetime")),
            filters=parse_filters(request.args, found.queryables),
            after=request.args.get("after"),
            offset=parse_offset(request.args.get("offset")),
            limit=limit,
        )
        texts, cursor, matched = service.items_page(session, found, query)
    members = _items_members(collection_id, len(texts), matched, cursor, limit, asked)
    if html:
        rows = [json.loads(t) for t in texts]
        return _page("items", found.title, members, features=rows, collection=found)
    response = _json(service.feature_collection_text(texts, members), GEOJSON)
    if asked is not None:
        response.headers["OGC-Limit-Capped"] = f"requested={asked}; used={limit}"
    return response


def _items_members(
    collection_id: str,
    returned: int,
    matched: int | None,
    cursor: str | None,
    limit: int,
    asked: int | None,
) -> dict[str, Any]:
    url = f"{_base()}/collections/{collection_id}/items"
    args = request.args.to_dict()
    args.pop("f", None)
    links = [
        {"href": f"{url}?{urlencode(args)}".rstrip("?"), "rel": "self", "type": GEOJSON},
        {
            "href": f"{url}?{urlencode({**args, 'f': 'html'})}",
            "rel": "alternate",
            "type": "text/html",
        },
        {
            "href": f"{_base()}/collections/{collection_id}",
            "rel": "collection",
            "type": "application/json",
        },
    ]
    if cursor is not None:
        args.update(after=cursor, limit=str(limit))
        args.pop("offset", None)
        links.append({"href": f"{url}?{urlencode(args)}", "rel": "next", "type": GEOJSON})
    members: dict[str, Any] = {"numberReturned": returned, "timeStamp": _now(), "links": links}
    if matched is not None:
        members["numberMatched"] = matched
    if asked is not None:
        members["limitCapped"] = {"requested": asked, "used": limit, "maximum": service.MAX_LIMIT}
    return members


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.get("/collections/<collection_id>/items/<feature_id>")
@rule(area="record", token=True)
def item(collection_id: str, feature_id: str) -> ResponseReturnValue:
    html = _wants_html()
    with db_session() as session:
        found = service.find_collection(session, collection_id)
        text = service.one_item(session, found, feature_id, prefix=_prefix())
    if html:
        feature = json.loads(text)
        return _page(
            "item", f"{found.title} {feature_id}", {}, features=[feature], collection=found
        )
    return _json(text, GEOJSON)


@bp.route("/<path:rest>")
@rule(area="none", token=True)
def unknown(rest: str) -> ResponseReturnValue:
    msg = f"no resource /ogc/{rest}"
    raise service.OgcNotFound(msg)

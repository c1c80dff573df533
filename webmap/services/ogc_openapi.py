"""The OpenAPI 3.0 document of /ogc/: what GDAL, QGIS and OWSLib read to learn the API."""

from __future__ import annotations

from typing import Any

from webmap.services.ogc import DEFAULT_LIMIT, MAX_LIMIT, Collection


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": schema, "description": description, **extra}


def _ok(media: tuple[str, ...], description: str) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "content": {m: {"schema": {"type": "object"}} for m in media},
        },
        "400": {"$ref": "#/components/responses/Error"},
        "401": {"$ref": "#/components/responses/Error"},
        "404": {"$ref": "#/components/responses/Error"},
    }


def _common_parameters() -> dict[str, Any]:
    return {
        "f": _param("f", "query", {"type": "string", "enum": ["json", "html"]}, "Response format."),
        "collectionId": _param(
            "collectionId", "path", {"type": "string"}, "The collection.", required=True
        ),
        "featureId": _param("featureId", "path", {"type": "string"}, "The feature.", required=True),
        "bbox": _param(
            "bbox",
            "query",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            "west,south,east,north in CRS84 degrees.",
            style="form",
            explode=False,
        ),
        "datetime": _param(
            "datetime",
            "query",
            {"type": "string"},
            "An RFC 3339 instant or interval (start/end, '..' for open).",
        ),
        "limit": _param(
            "limit",
            "query",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            f"Features per page; larger values are capped at {MAX_LIMIT}.",
        ),
        "after": _param(
            "after",
            "query",
            {"type": "string"},
            "Paging cursor: the id the previous page ended on.",
        ),
        "offset": _param("offset", "query", {"type": "integer", "minimum": 0}, "Features to skip."),
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def openapi(collections: list[Collection], *, base: str, title: str) -> dict[str, Any]:
    """The OpenAPI document for the given collections (the caller's own catalogue)."""
    paths = _service_paths()
    for c in collections:
        paths.update(_collection_paths(c))
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0", "description": "OGC API - Features (Part 1)"},
        "servers": [{"url": base}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
        "components": _components(),
    }


_JSON_OR_HTML = ("application/json", "text/html")
_GEOJSON_OR_HTML = ("application/geo+json", "text/html")


def _service_paths() -> dict[str, Any]:
    """The landing page, conformance, this document and the collections list."""

    def page(operation: str, summary: str) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "operationId": operation,
                "parameters": [_ref("f")],
                "responses": _ok(_JSON_OR_HTML, summary),
            }
        }

    return {
        "/": page("getLandingPage", "Landing page"),
        "/conformance": page("getConformance", "Conformance classes"),
        "/api": {
            "get": {
                "summary": "This document",
                "operationId": "getOpenAPI",
                "responses": {"200": {"description": "OpenAPI 3.0"}},
            }
        },
        "/collections": page("getCollections", "Collections"),
    }


def _collection_paths(c: Collection) -> dict[str, Any]:
    """The three paths of one collection: its description, its items and one item."""
    filters = [
        _param(name, "query", {"type": "string"}, f"Only features whose {name} equals this.")
        for name in c.queryables
    ]
    paging = [_ref(n) for n in ("bbox", "datetime", "limit", "after", "offset", "f")]
    return {
        f"/collections/{c.id}": {
            "get": {
                "summary": c.title,
                "operationId": f"describe-{c.id}",
                "parameters": [_ref("f")],
                "responses": _ok(_JSON_OR_HTML, c.title),
            }
        },
        f"/collections/{c.id}/items": {
            "get": {
                "summary": c.title,
                "operationId": f"items-{c.id}",
                "parameters": paging + filters,
                "responses": _ok(_GEOJSON_OR_HTML, c.description),
            }
        },
        f"/collections/{c.id}/items/{{featureId}}": {
            "get": {
                "summary": c.title,
                "operationId": f"item-{c.id}",
                "parameters": [_ref("featureId"), _ref("f")],
                "responses": _ok(_GEOJSON_OR_HTML, c.title),
            }
        },
    }


def _components() -> dict[str, Any]:
    """Shared parameters, the two ways to sign in and the OGC exception."""
    return {
        "parameters": _common_parameters(),
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "qungong tokens create"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
        },
        "responses": {
            "Error": {
                "description": "OGC exception",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["code"],
                            "properties": {
                                "code": {"type": "string"},
                                "description": {"type": "string"},
                            },
                        }
                    }
                },
            }
        },
    }

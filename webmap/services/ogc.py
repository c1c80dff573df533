"""OGC API – Features (Part 1: Core, GeoJSON, OpenAPI 3.0) on qungong's own queries.

Why not pygeoapi: its configuration is one YAML file read once per process and its
PostgreSQL provider reads a fixed table, so neither the caller's area nor the under-5 rule
can enter its queries without a per-request provider of our own — and then nothing of
pygeoapi's data path is left. The measurement is in /work/notes/ogc.md and
bench/ogc_bench.py.

The service takes a session and checked values; the view parses the request and passes the
caller's area prefix, which every query below applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from models import features
from models.features import CASE_COUNTS, STATIONS, TEAMS, Query, Source, unit_source
from webmap.errors import ApiError
from webmap.services import ogc_coverage

MAX_LIMIT = 10000
DEFAULT_LIMIT = 100
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
LEVEL_PLURAL = {
    "county": "counties",
    "township": "townships",
    "village": "villages",
    "group": "groups",
}


class OgcError(ApiError):
    """An error answered with the OGC exception JSON (``code``, ``description``)."""

    code = "InvalidParameterValue"


class OgcNotFound(OgcError):
    status = 404
    code = "NotFound"


@dataclass(frozen=True)
class Collection:
    """One published layer: id, titles, its source and the bind values the source needs."""

    id: str
    title: str
    description: str
    source: Source | None  # None: a computed layer (the planners' coverage measures)
    params: dict[str, Any]
    generation: str | None
    coverage_level: str | None = None

    @property
    def queryables(self) -> tuple[str, ...]:
        """Properties a client may filter on by equality."""
        return ogc_coverage.QUERYABLES if self.source is None else self.source.queryables


def _level_titles() -> dict[str, str]:
    return {
        "county": _("县市区"),
        "township": _("乡镇（街道）"),
        "village": _("村（社区）"),
        "group": _("村民小组"),
    }


def catalogue(session: Session) -> list[Collection]:
    """Every collection: units of each level for the active generation (``groups``) and for
    every generation by name (``groups-2013``), stations, teams, monthly case counts and the
    planners' coverage measures."""
    gens = features.generations(session)
    active = next((g for g in gens if g[2]), None)
    titles = _level_titles()
    out: list[Collection] = []
    if active is not None:
        out += _active_collections(active[0], active[1], titles)
    for gid, gname, _active in gens:
        if not gname.replace("-", "").replace("_", "").isalnum() or not gname.isascii():
            continue  # names that cannot be a path segment are reachable through the active set
        for level, plural in LEVEL_PLURAL.items():
            out.append(
                Collection(
                    f"{plural}-{gname}",
                    f"{titles[level]}（{gname}）",
                    _("边界版本%(name)s的%(level)s", name=gname, level=titles[level]),
                    unit_source(level),
                    {"gen": gid},
                    gname,
                )
            )
    return out


def _active_collections(gid: int, gname: str, titles: dict[str, str]) -> list[Collection]:
    """The collections of the active generation ``gid`` (named ``gname``)."""
    params = {"gen": gid}
    out = [
        Collection(
            plural,
            titles[level],
            _("现行边界版本（%(name)s）的%(level)s", name=gname, level=titles[level]),
            unit_source(level),
            params,
            gname,
        )
        for level, plural in LEVEL_PLURAL.items()
    ]
    out += [
        Collection(
            "stations", _("群众工作站"), _("每村（社区）一个群众工作站"), STATIONS, params, gname
        ),
        Collection("teams", _("工作队"), _("乡镇工作队及其驻地"), TEAMS, params, gname),
        Collection(
            "case-counts",
            _("各村每月案件数"),
            _("每村每月案件数（不含个案；少于5件显示为<5）"),
            CASE_COUNTS,
            params,
            gname,
        ),
    ]
    for level in ogc_coverage.LEVELS:
        out.append(
            Collection(
                f"coverage-{LEVEL_PLURAL[level]}",
                _("%(level)s覆盖缺口", level=titles[level]),
                _(
                    "规划覆盖：各%(level)s的缺口得分、排名和原因（案件少于5件显示为<5）",
                    level=titles[level],
                ),
                None,
                params,
                gname,
                coverage_level=level,
            )
        )
    return out


def find_collection(session: Session, collection_id: str) -> Collection:
    """The collection ``collection_id``; :class:`OgcNotFound` for an unknown one."""
    for collection in catalogue(session):
        if collection.id == collection_id:
            return collection
    msg = f"no collection {collection_id!r}"
    raise OgcNotFound(msg)


def collection_meta(
    session: Session, collection: Collection, *, prefix: str, base: str
) -> dict[str, Any]:
    """The /collections/{id} document (links are made absolute from ``base``)."""
    url = f"{base}/collections/{collection.id}"
    meta: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "links": [
            _link(url, "self", "application/json", collection.title),
            _link(url + "?f=html", "alternate", "text/html", collection.title),
            _link(url + "/items", "items", "application/geo+json", collection.title),
            _link(url + "/items?f=html", "items", "text/html", collection.title),
        ],
    }
    gid = collection.params.get("gen")
    box = features.extent(session, gid, prefix=prefix) if gid is not None else None
    extent: dict[str, Any] = {}
    if box is not None:
        extent["spatial"] = {"bbox": [list(box)], "crs": CRS84}
    if collection.source is CASE_COUNTS:
        months = features.case_months(session)
        if months is not None:
            extent["temporal"] = {
                "interval": [[f"{months[0]}T00:00:00Z", f"{months[1]}T23:59:59Z"]]
            }
    if extent:
        meta["extent"] = extent
    meta["queryables"] = list(collection.queryables)
    return meta


def _link(href: str, rel: str, media: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": media}
    if title:
        link["title"] = title
    return link


def items_page(
    session: Session, collection: Collection, query: Query
) -> tuple[list[str], str | None, int | None]:
    """(features as GeoJSON texts, the next cursor or None, number matched or None).

    ``numberMatched`` is counted on the first page only: clients (GDAL) read it there, and
    counting again on each of 48 pages of groups took as long as the pages themselves.
    """
    if collection.source is None:
        try:
            return ogc_coverage.page(session, str(collection.coverage_level), query)
        except ValueError as err:
            raise OgcError(str(err)) from None
        except ApiError:
            return (
                [],
                None,
                0,
            )  # no such level inside the caller's area (e.g. townships of a township)
    try:
        texts, cursor = features.feature_page(
            session, collection.source, query, params=collection.params
        )
        first = query.after is None and query.offset == 0
        matched = (
            features.count_features(session, collection.source, query, params=collection.params)
            if first
            else None
        )
    except ValueError as err:
        raise OgcError(str(err)) from None
    return texts, cursor, matched


def feature_collection_text(texts: list[str], members: dict[str, Any]) -> str:
    """A GeoJSON FeatureCollection from feature texts and the other members, as JSON text."""
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False)
    return head[:-1] + ',"features":[' + ",".join(texts) + "]}"


def one_item(session: Session, collection: Collection, feature_id: str, *, prefix: str) -> str:
    """One feature's GeoJSON text; :class:`OgcNotFound` when it is not in the caller's area."""
    if collection.source is None:
        try:
            found = ogc_coverage.one(
                session, str(collection.coverage_level), feature_id, prefix=prefix
            )
        except ApiError:
            found = None
    else:
        found = features.one_feature(
            session, collection.source, feature_id, prefix=prefix, params=collection.params
        )
    if found is None:
        msg = f"no feature {feature_id!r} in collection {collection.id!r}"
        raise OgcNotFound(msg)
    return found

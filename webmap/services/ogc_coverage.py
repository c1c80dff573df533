"""The planners' coverage measures as OGC API collections (``coverage-villages`` …).

The measures are computed in Python by :mod:`webmap.services.coverage` (cached there until
the next import), not read by one SQL query, so these collections page, filter and clip in
Python over the caller's own result: the planners' service already resolves the area, masks
case counts under five and writes the reasons. Feature GeoJSON is cached per data stamp,
area and level, so paging through 5,903 villages does not rebuild it on every page.

Masked counts: ``cases`` is an integer or null and ``cases_text`` the count as shown ("<5"
for 1–4), the schema of ``case-counts`` too, so GDAL and QGIS type ``cases`` as a number.
"""

from __future__ import annotations

import json
from typing import Any

import shapely
from sqlalchemy.orm import Session

from models.cache import StampedCache, data_stamp
from models.features import Query
from webmap.services import coverage

LEVELS = ("township", "village", "group")
QUERYABLES = ("code", "name")
# Outlines simplified by ~50 m: the measures are per unit, not survey boundaries.
TOLERANCE = 0.0005

_FEATURES: StampedCache[list[tuple[str, str, Any]]] = StampedCache(maxsize=16)


def _area_code(prefix: str) -> str:
    return prefix if len(prefix) > 12 else prefix.ljust(12, "0")


def _features(session: Session, level: str, prefix: str) -> list[tuple[str, str, Any]]:
    """(code, feature JSON text, shapely geometry) of every unit, in code order."""

    def build() -> list[tuple[str, str, Any]]:
        area = _area_code(prefix)
        result = coverage.coverage(
            session, coverage.CoverageQuery(area=area, level=level), user_area=area
        )
        doc = coverage.geojson(session, result, tolerance=TOLERANCE)
        rows = []
        for feature in doc["features"]:
            code = feature["properties"]["code"]
            feature = {"type": "Feature", "id": code, **feature}
            feature["properties"] = typed_cases(feature["properties"])
            rows.append(
                (
                    code,
                    json.dumps(feature, ensure_ascii=False),
                    shapely.from_geojson(json.dumps(feature["geometry"])),
                )
            )
        return sorted(rows, key=lambda r: r[0])

    return _FEATURES.get_or_build(data_stamp(session), (level, prefix), build)


def typed_cases(props: dict[str, Any]) -> dict[str, Any]:
    """``cases`` a number or null (masked), and ``cases_text`` always text, as in
    ``case-counts``: the planners' service writes a masked count as the string ``"<5"``
    in a number column, and GDAL would then type the whole field as text.

    >>> typed_cases({"cases": "<5"}), typed_cases({"cases": 12})
    ({'cases': None, 'cases_text': '<5'}, {'cases': 12, 'cases_text': '12'})
    """
    if "cases" not in props:
        return props
    cases = props["cases"]
    number = cases if isinstance(cases, int | float) and not isinstance(cases, bool) else None
    out = dict(props)
    out["cases"] = None if number is None else int(number)
    if number is not None:
        out["cases_text"] = str(int(number))
    else:
        out["cases_text"] = None if cases is None else str(cases)
    return out


def _matches(
    row: tuple[str, str, Any], props: dict[str, Any], query: Query, box: Any | None
) -> bool:
    if box is not None and not shapely.intersects(row[2], box):
        return False
    return all(str(props.get(k)) == v for k, v in query.filters.items())


def _box(bbox: tuple[float, float, float, float]) -> Any:
    """The bbox as a shape: two boxes when it crosses the antimeridian (west > east)."""
    w, s, e, n = bbox
    if w <= e:
        return shapely.box(w, s, e, n)
    return shapely.union(shapely.box(w, s, 180, n), shapely.box(-180, s, e, n))


def page(session: Session, level: str, query: Query) -> tuple[list[str], str | None, int | None]:
    """(feature texts, next cursor, number matched on the first page) of one coverage level."""
    for name in query.filters:
        if name not in QUERYABLES:
            msg = f"{name!r} is not a queryable property"
            raise ValueError(msg)
    rows = _features(session, level, query.prefix)
    box = _box(query.bbox) if query.bbox is not None else None
    picked = [
        r
        for r in rows
        if _matches(r, json.loads(r[1])["properties"] if query.filters else {}, query, box)
    ]
    start = query.offset
    if query.after is not None:
        start += next((i for i, r in enumerate(picked) if r[0] > query.after), len(picked))
    chunk = picked[start : start + query.limit]
    more = start + query.limit < len(picked)
    first = query.after is None and query.offset == 0
    return (
        [r[1] for r in chunk],
        (chunk[-1][0] if more and chunk else None),
        (len(picked) if first else None),
    )


def one(session: Session, level: str, feature_id: str, *, prefix: str) -> str | None:
    """One unit's feature text, or None when it is not in the caller's area."""
    return next((r[1] for r in _features(session, level, prefix) if r[0] == feature_id), None)

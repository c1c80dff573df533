"""Parsing OGC API query parameters: bbox, datetime, limit, property filters.

Each malformed value is an :class:`~webmap.services.ogc.OgcError` (400, OGC exception JSON)
that says which parameter and what was wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from webmap.services.ogc import DEFAULT_LIMIT, MAX_LIMIT, OgcError

# Parameters every items request may carry besides the collection's queryables.
ITEMS_PARAMS = frozenset({"f", "bbox", "bbox-crs", "datetime", "limit", "after", "offset", "lang"})
CRS84_NAMES = {"http://www.opengis.net/def/crs/OGC/1.3/CRS84", "CRS84", "EPSG:4326"}


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """``west,south,east,north`` (or six numbers with heights) in degrees.

    A west edge east of the east edge is a box across the antimeridian (OGC API – Features
    Part 1, 7.15.3): it is kept as given and the query reads it as two boxes.

    >>> parse_bbox("110.1,27.0,110.3,27.2")
    (110.1, 27.0, 110.3, 27.2)
    >>> parse_bbox("170,-10,-170,10")
    (170.0, -10.0, -170.0, 10.0)
    """
    if raw is None:
        return None
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        msg = f"bbox must be 4 (or 6) comma-separated numbers, got {raw!r}"
        raise OgcError(msg) from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or any(v != v for v in values):
        msg = f"bbox must be 4 (or 6) comma-separated numbers, got {raw!r}"
        raise OgcError(msg)
    w, s, e, n = values
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        msg = f"bbox {raw!r} lies outside -180..180 / -90..90 degrees"
        raise OgcError(msg)
    if s > n:
        msg = f"bbox {raw!r}: south must not exceed north"
        raise OgcError(msg)
    return w, s, e, n


def _instant(text: str, *, end: bool) -> dt.datetime | None:
    """One end of an interval as naive UTC; a date covers its whole day."""
    text = text.strip()
    if text in ("..", ""):
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime.combine(day, dt.time())
            return start + dt.timedelta(days=1) if end else start
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        msg = f"datetime {text!r} is not an RFC 3339 date or date-time"
        raise OgcError(msg) from None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when + dt.timedelta(microseconds=1) if end else when


def parse_datetime(raw: str | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """An instant or ``start/end`` interval as a half-open [t0, t1) in naive UTC.

    >>> parse_datetime("2013-05-01/2013-05-31")
    (datetime.datetime(2013, 5, 1, 0, 0), datetime.datetime(2013, 6, 1, 0, 0))
    >>> parse_datetime("../2013-01-01T00:00:00Z")[0] is None
    True
    """
    if raw is None:
        return None
    if raw.count("/") > 1:
        msg = f"datetime {raw!r} has more than one '/'"
        raise OgcError(msg)
    if "/" in raw:
        a, b = raw.split("/")
        t0, t1 = _instant(a, end=False), _instant(b, end=True)
        if a.strip() in ("..", "") and b.strip() in ("..", ""):
            msg = f"datetime {raw!r}: at most one end may be open"
            raise OgcError(msg)
    else:
        if raw.strip() in ("..", ""):
            msg = f"datetime {raw!r} is empty"
            raise OgcError(msg)
        t0, t1 = _instant(raw, end=False), _instant(raw, end=True)
    if t0 is not None and t1 is not None and t0 >= t1:
        msg = f"datetime {raw!r}: the start is after the end"
        raise OgcError(msg)
    return t0, t1


def parse_limit(raw: str | None) -> tuple[int, int | None]:
    """(limit to use, the requested limit when it was over the maximum and got capped)."""
    if raw is None:
        return DEFAULT_LIMIT, None
    try:
        value = int(raw)
    except ValueError:
        msg = f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw!r}"
        raise OgcError(msg) from None
    if value < 1:
        msg = f"limit must be at least 1, got {value}"
        raise OgcError(msg)
    if value > MAX_LIMIT:
        return MAX_LIMIT, value
    return value, None


def parse_offset(raw: str | None) -> int:
    if raw is None:
        return 0
    if not raw.isdigit() or int(raw) > 10_000_000:
        msg = f"offset must be a whole number ≥ 0, got {raw!r}"
        raise OgcError(msg)
    return int(raw)


def parse_filters(args: Mapping[str, str], queryables: tuple[str, ...]) -> dict[str, str]:
    """Equality filters on queryable properties; any other unknown parameter is a 400."""
    filters = {}
    for name, value in args.items():
        if name in ITEMS_PARAMS:
            continue
        if name not in queryables:
            known = ", ".join(sorted(ITEMS_PARAMS | set(queryables)))
            msg = f"unknown parameter {name!r}; this collection takes {known}"
            raise OgcError(msg)
        filters[name] = value
    crs = args.get("bbox-crs")
    if crs is not None and crs not in CRS84_NAMES:
        msg = f"bbox-crs {crs!r} is not supported; only CRS84 degrees"
        raise OgcError(msg)
    return filters

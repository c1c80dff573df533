"""Place each case or visit row: its coordinates (converted to WGS-84) or its geocoded address.

Rows with coordinates go through :func:`ingest.points.read_points`; rows without are geocoded
with the database's :class:`geo.geocode.Gazetteer`.  The gazetteer and the in-process
:class:`geo.attribution.GroupIndex` take seconds to build, so each is kept in a small
``cachetools`` cache keyed by the database's own fingerprint of what it was built from
(:func:`models.activity.gazetteer_signature`, :func:`models.staging.attribution_signature`):
an activation or a boundary import changes the key, and the next import builds it again.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd
from cachetools import LRUCache
from sqlalchemy.orm import Session

from geo.attribution import GroupIndex
from geo.geocode import Gazetteer
from ingest.points import read_points
from ingest.report import ImportReport
from ingest.rows import RowFlags
from ingest.tables import column
from models import activity as queries
from models import staging
from models.db import session_factory

__all__ = ["clear_caches", "gazetteer_and_points", "group_index", "locate"]

# Geocodes coarser than this are not a place on the map: they go to review.
_ACCEPTED_LEVELS = ("township", "village", "group")
_UnitPoint = tuple[str, str, float | None, float | None]  # name, level, lon, lat

# One entry each is enough: one database, one active generation at a time.  The lock keeps
# two threads of one web worker from building the same thing twice.
_LOCK = threading.Lock()
_GAZETTEERS: LRUCache[tuple[Any, ...], tuple[Gazetteer | None, dict[str, _UnitPoint]]] = LRUCache(
    maxsize=2
)
_GROUP_INDEXES: LRUCache[tuple[Any, ...], GroupIndex] = LRUCache(maxsize=2)


def clear_caches() -> None:
    """Forget the cached gazetteer and group index (benchmarks use it to measure cold)."""
    with _LOCK:
        _GAZETTEERS.clear()
        _GROUP_INDEXES.clear()


def gazetteer_and_points(url: str) -> tuple[Gazetteer | None, dict[str, _UnitPoint]]:
    """The gazetteer of the database's units (all generations) and each code's unit point.

    Returns ``(None, {})`` when no generation is active yet.
    """
    with session_factory(url)() as session:
        key = (url, *queries.gazetteer_signature(session))
        with _LOCK:
            cached = _GAZETTEERS.get(key)
        if cached is not None:
            return cached
        units, active = queries.gazetteer_units(session)
    if active is None or units.empty:
        return None, {}
    gazetteer = Gazetteer.from_units(units, active_generation=active)
    # Active units come first: an old unit with the same code never hides the current one.
    first = units.drop_duplicates("code")
    points = dict(
        zip(
            first["code"],
            zip(first["name"], first["level"], first["lon"], first["lat"], strict=True),
            strict=True,
        )
    )
    with _LOCK:
        _GAZETTEERS[key] = (gazetteer, points)
    return gazetteer, points


def group_index(session: Session, *, url: str) -> GroupIndex | None:
    """The active generation's :class:`GroupIndex`, reused while its boundaries are unchanged.

    Returns None when no generation is active.
    """
    key = (url, *staging.attribution_signature(session))
    with _LOCK:
        cached = _GROUP_INDEXES.get(key)
    if cached is not None:
        return cached
    generation_id = key[1]
    if generation_id is None:
        return None
    index = GroupIndex.from_units(
        staging.attribution_units(session, generation_id=generation_id),
        generation_id=generation_id,
    )
    with _LOCK:
        _GROUP_INDEXES[key] = index
    return index


def locate(
    url: str,
    table: pd.DataFrame,
    cols: dict[str, str],
    *,
    crs: str,
    rows: RowFlags,
    report: ImportReport,
    area: str | None = None,
) -> pd.DataFrame:
    """Each row's WGS-84 point, source system and point, method, score and geocoded unit code.

    Coordinates win over the address; bad coordinates are flagged, not geocoded instead.
    What else says where a row is helps the geocoder choose between places its address fits
    equally well: the row's county column, else the division code its case number begins
    with, and ``area``, the code of the uploading user's area.
    """
    pts = read_points(
        column(table, cols, "lon"),
        column(table, cols, "lat"),
        column(table, cols, "crs"),
        default_crs=crs,
    )
    for code in ("bad_coordinates", "bad_crs", "out_of_range"):
        rows.flag(pts.problem == code, code, pts.detail)
    for i in np.flatnonzero(pts.swapped)[:200]:
        report.add(
            "repair",
            f"row {i + 2}",
            f"longitude and latitude swapped; read as {pts.source_lon[i]}, {pts.source_lat[i]}",
            "经纬度颠倒，已纠正",
        )
    report.counts["swapped_fixed"] = int(pts.swapped.sum())
    given = pts.given
    need = ~given & rows.good
    gazetteer, units = gazetteer_and_points(url) if need.any() and "address" in cols else (None, {})
    rows.units = units
    geo = _geocode(
        column(table, cols, "address"), need, gazetteer, rows, units,
        hints=county_hints(table, cols), area=area,
    )  # fmt: skip
    geocoded = need & geo["code"].notna().to_numpy()
    report.counts["gps"] = int((given & rows.good).sum())
    report.counts["geocoded"] = int(geocoded.sum())
    return pd.DataFrame(
        {
            "lon": np.where(geocoded, geo["lon"], pts.lon),
            "lat": np.where(geocoded, geo["lat"], pts.lat),
            "source_crs": np.where(geocoded, "wgs84", pts.source),
            "source_lon": pts.source_lon,
            "source_lat": pts.source_lat,
            "location_method": np.where(
                geocoded, "geocoded", np.where(given, "gps", np.array(None, dtype=object))
            ),
            "location_score": np.where(geocoded, geo["score"], np.where(given, 1.0, np.nan)),
            "fixed_code": np.where(geocoded, geo["code"], None),
        }
    )


def county_hints(table: pd.DataFrame, cols: dict[str, str]) -> pd.Series:
    """Per row, the county its own cells name: the county column, else a case number's head.

    Case numbers of the registers begin with the county's 6-digit division code
    (``4305252013000123``); anything else gives no hint.
    """
    county = column(table, cols, "county").astype(object)
    case_no = column(table, cols, "case_no").astype(object)
    head = case_no.where(case_no.str.match(r"^43\d{4}", na=False), None).str[:6]
    return county.where(county.notna(), head)


def _geocode(
    addresses: pd.Series,
    need: np.ndarray,
    gazetteer: Gazetteer | None,
    rows: RowFlags,
    units: dict[str, _UnitPoint],
    *,
    hints: pd.Series | None = None,
    area: str | None = None,
) -> pd.DataFrame:
    """Geocode the rows in ``need``; flag those that cannot be placed."""
    n = len(addresses)
    out = pd.DataFrame(
        {
            "lon": np.full(n, np.nan),
            "lat": np.full(n, np.nan),
            "code": np.full(n, None, dtype=object),
            "score": np.full(n, np.nan),
        }
    )
    has_address = addresses.notna().to_numpy()
    rows.flag(need & ~has_address, "no_location")
    todo = np.flatnonzero(need & has_address)
    if len(todo) == 0 or gazetteer is None:
        rows.flag(np.isin(np.arange(n), todo), "unmatched", "no boundaries loaded")
        return out
    counties = None if hints is None else hints.to_numpy(object)[todo].tolist()
    found = gazetteer.geocode_many(addresses.to_numpy(object)[todo], counties=counties, area=area)
    status = found["status"].to_numpy(object)
    level = found["level"].to_numpy(object)
    detail = np.full(n, None, dtype=object)
    detail[todo] = found["reason"].to_numpy(object)
    for code_name, hit in (
        ("unmatched", status == "unmatched"),
        ("ambiguous", status == "ambiguous"),
        ("too_coarse", (status == "matched") & ~np.isin(level, _ACCEPTED_LEVELS)),
    ):
        mask = np.zeros(n, dtype=bool)
        mask[todo[hit]] = True
        rows.flag(mask, code_name, detail)
    for i, cands in zip(todo, found["candidates"], strict=True):
        if cands:
            rows.candidates[int(i)] = list(cands)
    ok = (status == "matched") & np.isin(level, _ACCEPTED_LEVELS)
    code = found["successor_code"].fillna(found["code"]).to_numpy(object)
    pos = todo[ok]
    out.loc[pos, "code"] = code[ok]
    out.loc[pos, "score"] = found["score"].to_numpy(float)[ok]
    # The point drawn is the unit's own representative point, in the active generation.
    lonlat = np.array([units.get(c, (None, None, None, None))[2:] for c in code[ok]], dtype=float)
    if len(pos):
        out.loc[pos, "lon"] = lonlat[:, 0]
        out.loc[pos, "lat"] = lonlat[:, 1]
        missing = np.isnan(lonlat[:, 0])
        out.loc[pos[missing], "lon"] = found["lon"].to_numpy(float)[ok][missing]
        out.loc[pos[missing], "lat"] = found["lat"].to_numpy(float)[ok][missing]
    return out

"""Coverage results as files: CSV with Chinese headers (UTF-8 with BOM), GeoPackage, GeoJSON."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from webmap.services.coverage import CoverageResult, export_frame, geojson

__all__ = ["column_labels", "csv_bytes", "gpkg_bytes"]


def column_labels() -> dict[str, str]:
    """Column headers in the user's language (Chinese first)."""
    return {
        "code": _("代码"),
        "name": _("名称"),
        "level": _("层级"),
        "county_code": _("县市区代码"),
        "township_code": _("乡镇代码"),
        "station_code": _("工作站（村代码）"),
        "distance_own_m": _("距本村工作站（米）"),
        "distance_nearest_m": _("距最近工作站（米）"),
        "officers": _("信息员"),
        "households": _("户数"),
        "days_since_visit": _("距上次走访（天）"),
        "score": _("缺口得分"),
        "distance_nearest_road_m": _("沿道路距最近工作站（米）"),
        "travel_minutes": _("到最近工作站车程（分钟）"),
        "distance_own_road_m": _("沿道路距本村工作站（米）"),
        "travel_minutes_own": _("到本村工作站车程（分钟）"),
        "rank": _("排名"),
        "posts": _("信息员岗位"),
        "vacant": _("空缺岗位"),
        "officers_per_100_households": _("每百户信息员"),
        "households_visited": _("近期走访户数"),
        "visit_days": _("工作队驻村天数"),
        "standard_days": _("标准驻村天数"),
        "cases": _("案件数"),
        "cases_per_1000": _("每千户案件"),
        "visits_per_1000": _("每千户走访"),
        "c_distance": _("分项：距工作站"),
        "c_officers": _("分项：信息员缺岗"),
        "c_recency": _("分项：久未走访"),
        "c_visits": _("分项：走访天数不足"),
        "c_need": _("分项：案件多走访少"),
        "reason": _("原因"),
    }


def csv_bytes(result: CoverageResult, *, chinese_headers: bool = True) -> bytes:
    """The result as CSV; with a BOM so that Excel opens the Chinese text correctly."""
    frame = export_frame(result)
    if chinese_headers:
        frame = frame.rename(columns=column_labels())
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8-sig")


def result_frame(session: Session, result: CoverageResult) -> gpd.GeoDataFrame:
    """The result with geometry (groups as points, other levels as outlines) in EPSG:4326."""
    data = geojson(session, result, tolerance=0.0)
    return gpd.GeoDataFrame.from_features(data["features"], crs="EPSG:4326")


def gpkg_bytes(session: Session, result: CoverageResult) -> bytes:
    """The result as a GeoPackage (one layer named after the level), field names in English.

    GeoPackage field names stay the stable English codes so that GIS tools and scripts can
    rely on them; the CSV is the file for people.
    """
    frame = result_frame(session, result)
    frame["cases"] = frame["cases"].astype(str)
    if result.query.level != "group":
        frame.geometry = shapely.force_2d(frame.geometry.values)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coverage.gpkg"
        frame.to_file(path, layer=f"coverage_{result.query.level}", driver="GPKG", engine="pyogrio")
        return path.read_bytes()


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its known columns renamed to the user's language."""
    return frame.rename(columns=column_labels())

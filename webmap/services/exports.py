"""Layer exports that QGIS, ArcGIS and Excel open: GeoPackage, zipped shapefile, CSV, GeoJSON.

The same layers as /ogc/ (units of a level and generation, stations, teams, monthly case counts
with small counts masked), read through :mod:`models.features` with the caller's area prefix,
so an export never holds more than its user may see. Web and CLI call :func:`export_layer`.

Field names: GeoJSON keeps the API's English keys (it is what scripts read); GeoPackage,
shapefile and CSV carry Chinese names, each within a shapefile's 10 bytes in GBK. The
shapefile is GBK with a ``.cpg`` and a CGCS2000 (EPSG:4490) ``.prj``: stored coordinates are
WGS 84, which equals CGCS2000 to the centimetre at this scale, so nothing is reprojected.
The CSV is UTF-8 with a BOM (Excel opens Chinese correctly only then) and gives a point
inside each feature as 经度/纬度 instead of a geometry no spreadsheet can show.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyogrio import write_dataframe
from sqlalchemy.orm import Session

from models import features, registers
from models.features import CASE_COUNTS, STATIONS, TEAMS, Query, Source, unit_source
from models.places import CITY_CODE, area_prefix

FORMATS = {
    "gpkg": ("application/geopackage+sqlite3", ".gpkg"),
    "shp": ("application/zip", ".zip"),
    "csv": ("text/csv; charset=utf-8", ".csv"),
    "geojson": ("application/geo+json", ".geojson"),
}
PLURAL = {"county": "counties", "township": "townships", "village": "villages", "group": "groups"}
LAYERS = (*PLURAL.values(), "stations", "teams", "case-counts")

# Chinese field names; each fits a dBASE field name (10 bytes) in GBK.
FIELD_ZH = {
    "code": "代码",
    "name": "名称",
    "parent_code": "上级代码",
    "parent_name": "上级名称",
    "county_code": "县代码",
    "households": "户数",
    "population": "人口",
    "village_code": "村代码",
    "village_name": "村名称",
    "address": "地址",
    "head": "站长",
    "phone": "电话",
    "opened_on": "建站日期",
    "location_source": "定位来源",
    "township_code": "乡镇代码",
    "township_name": "乡镇名称",
    "leader": "队长",
    "members": "人数",
    "month": "月份",
    "cases": "案件数",
    "cases_text": "案件数显示",
    "lon": "经度",
    "lat": "纬度",
}


class ExportError(ValueError):
    """A request for an export that cannot be made (unknown layer, format or generation)."""


@dataclass(frozen=True)
class Export:
    """A written export: the file, the name to offer it under, its media type, its rows."""

    path: Path
    filename: str
    media_type: str
    rows: int


def resolve_layer(
    session: Session, layer: str, *, generation: str | None = None
) -> tuple[str, Source, dict[str, Any], str]:
    """(plain layer name, source, bind values, generation name) of ``layer``; ``groups-2023``
    names a generation as ``--generation 2023`` does."""
    gens = features.generations(session)
    name = layer
    for _gid, gname, _active in gens:
        if layer.endswith(f"-{gname}") and layer.removesuffix(f"-{gname}") in PLURAL.values():
            name, generation = layer.removesuffix(f"-{gname}"), gname
    if name not in LAYERS:
        msg = f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}"
        raise ExportError(msg)
    chosen = [g for g in gens if (g[1] == generation if generation else g[2])]
    if not chosen:
        known = ", ".join(g[1] for g in gens) or "none"
        msg = (
            f"no boundary generation {generation!r} (known: {known})"
            if generation
            else ("no active boundary generation: import boundaries first")
        )
        raise ExportError(msg)
    gid, gname, _ = chosen[0]
    if name in ("stations", "teams", "case-counts"):
        source = {"stations": STATIONS, "teams": TEAMS, "case-counts": CASE_COUNTS}[name]
    else:
        level = next(lv for lv, pl in PLURAL.items() if pl == name)
        source = unit_source(level)
    return name, source, {"gen": gid}, gname


def layer_frame(
    session: Session, source: Source, params: dict[str, Any], *, prefix: str
) -> gpd.GeoDataFrame:
    """Every feature of the layer inside ``prefix`` as a GeoDataFrame (EPSG:4326)."""
    rows = list(features.feature_rows(session, source, Query(prefix=prefix), params=params))
    names = list(source.props)
    frame = pd.DataFrame([r[:-1] for r in rows], columns=names)
    for name, kind in source.types.items():
        if kind == "int":
            frame[name] = frame[name].astype("Int64")
        elif kind == "date":
            frame[name] = pd.to_datetime(frame[name])
    geometry = shapely.from_wkb([bytes(r[-1]) if r[-1] is not None else None for r in rows])
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def _zh(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.rename(columns=FIELD_ZH)


def write_frame(frame: gpd.GeoDataFrame, fmt: str, directory: Path, stem: str) -> Path:
    """Write ``frame`` as ``fmt`` (gpkg, shp, csv) into ``directory``; returns the file to hand over."""
    if fmt == "gpkg":
        path = directory / f"{stem}.gpkg"
        write_dataframe(_zh(frame), path, layer=stem, driver="GPKG")
    elif fmt == "shp":
        shp_dir = directory / "shp"
        shp_dir.mkdir()
        # CGCS2000 geographic: the official frame; equal to the stored WGS 84 at map scale.
        write_dataframe(
            _zh(frame).set_crs("EPSG:4490", allow_override=True),
            shp_dir / f"{stem}.shp",
            driver="ESRI Shapefile",
            encoding="GBK",
        )
        path = directory / f"{stem}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(shp_dir.iterdir()):
                zf.write(part, part.name)
    elif fmt == "csv":
        path = directory / f"{stem}.csv"
        points = frame.geometry.representative_point()
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["lon"] = points.x.round(7)
        table["lat"] = points.y.round(7)
        table.rename(columns=FIELD_ZH).to_csv(path, index=False, encoding="utf-8-sig")
    else:
        msg = f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}"
        raise ExportError(msg)
    return path


def export_layer(
    session: Session,
    layer: str,
    *,
    fmt: str,
    prefix: str,
    username: str,
    generation: str | None = None,
    directory: Path | None = None,
) -> Export:
    """Export ``layer`` inside the area ``prefix`` as ``fmt`` and audit it (in ``session``'s
    transaction, which the caller commits).

    ``directory`` receives the file (a new temporary directory when None; the caller removes it).
    """
    if fmt not in FORMATS:
        msg = f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}"
        raise ExportError(msg)
    name, source, params, gname = resolve_layer(session, layer, generation=generation)
    stem = f"{name}_{gname}" if name in PLURAL.values() else name.replace("-", "_")
    if len(prefix) > len(area_prefix(CITY_CODE)):  # name the area unless it is the whole city
        stem += f"_{prefix}"
    target = directory or Path(tempfile.mkdtemp(prefix="qungong-export-"))
    try:
        if fmt == "geojson":
            path, rows = write_geojson(session, source, params, prefix, target / f"{stem}.geojson")
        else:
            frame = layer_frame(session, source, params, prefix=prefix)
            path, rows = write_frame(frame, fmt, target, stem), len(frame)
    except Exception:
        if directory is None:
            shutil.rmtree(target, ignore_errors=True)
        raise
    audit_export(
        session,
        username=username,
        detail={
            "layer": name,
            "format": fmt,
            "area": prefix,
            "generation": gname,
            "rows": rows,
        },
    )
    return Export(path, path.name, FORMATS[fmt][0], rows)


def write_geojson(
    session: Session, source: Source, params: dict[str, Any], prefix: str, path: Path
) -> tuple[Path, int]:
    """The layer as an RFC 7946 FeatureCollection, feature text straight from PostGIS (the
    same features /ogc/ serves): GDAL's GeoJSON writer took three times as long."""
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[')
        for text in features.feature_texts(session, source, Query(prefix=prefix), params=params):
            out.write(("," if rows else "") + text)
            rows += 1
        out.write("]}")
    return path, rows


def audit_export(session: Session, *, username: str, detail: dict[str, Any]) -> None:
    """The one place exports are written to the audit log."""
    registers.audit(session, username=username, action="export", detail=detail)

"""Candidate station sites from a planner's file: CSV/XLSX with lon/lat, or points in any GIS file.

Nothing is written: the sites only feed a siting run.  Every problem names the file, the row
or feature and what is wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from ingest.errors import IngestError
from ingest.tables import read_table

__all__ = ["MAX_CANDIDATES", "read_candidates"]

MAX_CANDIDATES = 5000
_LON = ("lon", "lng", "longitude", "x", "经度")
_LAT = ("lat", "latitude", "y", "纬度")
_NAME = ("name", "名称", "站点", "地点")
# Shaoyang and its neighbours; a point far outside is a swapped or projected coordinate.
_BOX = (108.0, 24.0, 114.0, 30.0)


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _from_table(path: Path, shown: str) -> pd.DataFrame:
    table = read_table(path, shown=shown)
    lon_col, lat_col = _pick(list(table.columns), _LON), _pick(list(table.columns), _LAT)
    if lon_col is None or lat_col is None:
        msg = "needs a longitude and a latitude column (lon/lat or 经度/纬度)"
        raise IngestError(shown, msg)
    name_col = _pick(list(table.columns), _NAME)
    lon = pd.to_numeric(table[lon_col], errors="coerce")
    lat = pd.to_numeric(table[lat_col], errors="coerce")
    bad = np.flatnonzero(lon.isna().to_numpy() | lat.isna().to_numpy())
    if len(bad):
        row = int(bad[0]) + 2  # 1-based, after the header line
        msg = f"longitude/latitude is not a number ({table[lon_col][bad[0]]!r}, {table[lat_col][bad[0]]!r})"
        raise IngestError(shown, msg, where=f"row {row}")
    names = table[name_col] if name_col else pd.Series([None] * len(table))
    return pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "name": names,
            "where": [f"row {i + 2}" for i in range(len(table))],
        }
    )


def _from_gis(path: Path, shown: str) -> pd.DataFrame:
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise IngestError(shown, f"is not a readable GIS file ({exc})") from exc
    if frame.crs is None:
        raise IngestError(shown, "has no coordinate system (.prj): cannot place the points")
    types = set(frame.geom_type.dropna())
    if not types <= {"Point"}:
        raise IngestError(shown, f"needs point features, found {', '.join(sorted(types))}")
    frame = frame.to_crs("EPSG:4326")
    name_col = _pick([str(c) for c in frame.columns], _NAME)
    return pd.DataFrame(
        {
            "lon": frame.geometry.x.to_numpy(),
            "lat": frame.geometry.y.to_numpy(),
            "name": frame[name_col].to_numpy() if name_col else None,
            "where": [f"feature {i + 1}" for i in range(len(frame))],
        }
    )


def read_candidates(path: Path, *, shown: str | None = None) -> pd.DataFrame:
    """``lon, lat, name`` (EPSG:4326) of the candidate sites in a file.

    Raises
    ------
    IngestError
        Unreadable file, missing columns, a non-numeric or out-of-area coordinate, no points or
        more than ``MAX_CANDIDATES``.
    """
    shown = shown or path.name
    suffix = path.suffix.lower()
    frame = (
        _from_table(path, shown)
        if suffix in (".csv", ".txt", ".xlsx", ".xlsm")
        else _from_gis(path, shown)
    )
    if frame.empty:
        raise IngestError(shown, "holds no candidate sites")
    if len(frame) > MAX_CANDIDATES:
        raise IngestError(shown, f"holds {len(frame):,} sites; at most {MAX_CANDIDATES:,} at once")
    outside = ~(frame["lon"].between(_BOX[0], _BOX[2]) & frame["lat"].between(_BOX[1], _BOX[3]))
    if outside.any():
        i = int(np.flatnonzero(outside.to_numpy())[0])
        msg = (
            f"({frame['lon'].iloc[i]}, {frame['lat'].iloc[i]}) is far from Shaoyang: "
            "longitude/latitude in degrees (WGS-84) expected"
        )
        raise IngestError(shown, msg, where=str(frame["where"].iloc[i]))
    return frame.drop(columns="where").reset_index(drop=True)

"""Point columns of a table (经度, 纬度, 坐标系) to WGS-84 points and their source system.

Every reader with coordinates (registers, cases, visits) goes through :func:`read_points`, so
they agree on what a bad pair is and on the source-system names (:func:`geo.coords.
canonical_source`, the one alias table: ``baidu``, ``bd09ll`` and ``mars`` are stored as
``bd09`` and ``gcj02``, never as ``wgs84``).

Swapped longitude and latitude: one policy for every reader.  A pair that lies near Shaoyang
only when read the other way round (a latitude of 109-112 degrees cannot be meant in China) is
put right and reported as a repair, row by row; the caller lists it.  Anything else far from
Shaoyang is ``out_of_range``, judged on the converted WGS-84 point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.coords import canonical_source, to_wgs84
from ingest.crs import NEAR_MARGIN_DEG, SHAOYANG_BOUNDS

__all__ = ["PROBLEMS", "Points", "near_shaoyang", "read_points"]

# Problem code -> (English, Chinese); the caller adds the row and the values.
PROBLEMS: dict[str, tuple[str, str]] = {
    "bad_coordinates": ("coordinate not a number, or only one given", "坐标不是数字或不完整"),
    "bad_crs": ("coordinate system unknown", "坐标系无法识别"),
    "out_of_range": ("point not in or near Shaoyang", "坐标不在邵阳范围内"),
}


@dataclass(frozen=True)
class Points:
    """One table's points, row by row.

    ``lon``/``lat`` are WGS-84 (NaN where none was given or the pair is bad); ``source`` the
    canonical source system (None likewise); ``source_lon``/``source_lat`` the pair as given,
    swapped back where ``swapped``; ``given`` rows with two numbers; ``problem`` a code of
    :data:`PROBLEMS` or None, with ``detail`` the offending text.
    """

    lon: np.ndarray
    lat: np.ndarray
    source: np.ndarray
    source_lon: np.ndarray
    source_lat: np.ndarray
    given: np.ndarray
    swapped: np.ndarray
    problem: np.ndarray
    detail: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """Rows with a usable WGS-84 point."""
        return np.asarray(self.given & (self.problem == None), dtype=bool)  # noqa: E711  (elementwise)


def near_shaoyang(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each point lies in Shaoyang's box widened by ``NEAR_MARGIN_DEG`` (NaN: False)."""
    west, south, east, north = SHAOYANG_BOUNDS
    m = NEAR_MARGIN_DEG
    return (lon >= west - m) & (lon <= east + m) & (lat >= south - m) & (lat <= north + m)


def read_points(
    lon_text: pd.Series, lat_text: pd.Series, crs_text: pd.Series, *, default_crs: str
) -> Points:
    """Parse, un-swap and convert a table's coordinate columns (text; None for blanks).

    Parameters
    ----------
    lon_text, lat_text
        The longitude and latitude cells.
    crs_text
        Each row's coordinate system (坐标系); a blank cell means ``default_crs``.
    default_crs
        The file's system, any name :func:`geo.coords.canonical_source` knows.

    Raises
    ------
    ValueError
        ``default_crs`` is not a known system.
    """
    canonical_source(default_crs)
    n = len(lon_text)
    lon_text = lon_text.reset_index(drop=True)
    lat_text = lat_text.reset_index(drop=True)
    lon = pd.to_numeric(lon_text, errors="coerce").to_numpy(float)
    lat = pd.to_numeric(lat_text, errors="coerce").to_numpy(float)
    problem = np.full(n, None, dtype=object)
    shown = np.array(lon_text.fillna("") + ", " + lat_text.fillna(""), dtype=object)
    not_number = (lon_text.notna().to_numpy() & np.isnan(lon)) | (
        lat_text.notna().to_numpy() & np.isnan(lat)
    )
    half = np.isnan(lon) != np.isnan(lat)
    problem[not_number | half] = "bad_coordinates"
    given = ~np.isnan(lon) & ~np.isnan(lat)
    swapped = given & ~near_shaoyang(lon, lat) & near_shaoyang(lat, lon)
    lon, lat = np.where(swapped, lat, lon), np.where(swapped, lon, lat)
    systems = crs_text.reset_index(drop=True).fillna(default_crs).astype(str).str.strip()
    systems = np.array(systems, dtype=object)
    out_lon, out_lat = np.full(n, np.nan), np.full(n, np.nan)
    source = np.full(n, None, dtype=object)
    todo = given & (problem == None)  # noqa: E711
    for system in pd.unique(systems[todo]):
        pos = np.flatnonzero(todo & (systems == system))
        try:
            canonical = canonical_source(system)
        except ValueError:
            problem[pos] = "bad_crs"
            shown[pos] = system
            continue
        out_lon[pos], out_lat[pos] = to_wgs84(lon[pos], lat[pos], source=canonical)
        source[pos] = canonical
    far = todo & (problem == None) & ~near_shaoyang(out_lon, out_lat)  # noqa: E711
    problem[far] = "out_of_range"
    bad = problem != None  # noqa: E711
    out_lon[bad], out_lat[bad], source[bad] = np.nan, np.nan, None
    return Points(
        lon=out_lon,
        lat=out_lat,
        source=source,
        source_lon=np.where(given, lon, np.nan),
        source_lat=np.where(given, lat, np.nan),
        given=given,
        swapped=swapped & ~bad,
        problem=problem,
        detail=np.where(bad, shown, np.array(None, dtype=object)),
    )

"""Coordinate systems of imported files: parse them, transform with cached transformers, and
check that data land in or near Shaoyang.

A wrong CRS is the commonest fault of a delivered boundary file, and it does not fail: it puts
the data hundreds of kilometres away.  :func:`check_near_shaoyang` refuses such data with the
likely mistake named (zone prefix, metres read as degrees).
"""

from __future__ import annotations

import functools
import warnings

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from pyproj.exceptions import CRSError

from ingest.errors import IngestError

__all__ = [
    "NEAR_MARGIN_DEG",
    "SHAOYANG_BOUNDS",
    "check_near_shaoyang",
    "crs_label",
    "epsg_of",
    "parse_crs",
    "transform_geometries",
    "transformer",
]

# Shaoyang spans 109.8-112.1 E, 25.6-27.6 N; a margin of about 50 km still counts as "near"
# (files often carry a neighbouring township), a wrong CRS lands hundreds of km away.
SHAOYANG_BOUNDS = (109.8, 25.6, 112.1, 27.6)
NEAR_MARGIN_DEG = 0.5


def parse_crs(value: str | int | pyproj.CRS, *, shown: str, what: str = "crs=") -> pyproj.CRS:
    """A CRS from ``EPSG:4546``, ``4546``, WKT (also ArcGIS-style) or PROJ text."""
    if isinstance(value, pyproj.CRS):
        return value
    text = str(value).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        crs = pyproj.CRS.from_user_input(text)
    except CRSError as exc:
        msg = f"{what} is not a coordinate system PROJ knows (坐标系无法识别): {text[:80]!r}"
        raise IngestError(shown, msg) from exc
    if not (crs.is_geographic or crs.is_projected):
        msg = f"{what} is a local/engineering system ({crs.name}) that cannot be placed on the map"
        raise IngestError(shown, msg)
    return crs


@functools.lru_cache(maxsize=32)
def _transformer(src_wkt: str, dst: str) -> pyproj.Transformer:
    # Building a transformer from ArcGIS WKT takes ~0.1 s; every import needs a few.
    return pyproj.Transformer.from_crs(pyproj.CRS.from_wkt(src_wkt), dst, always_xy=True)


def transformer(src: pyproj.CRS | str | int, dst: str) -> pyproj.Transformer:
    """A cached lon/lat-ordered transformer from ``src`` to ``dst`` (e.g. ``"EPSG:4326"``)."""
    return _transformer(pyproj.CRS.from_user_input(src).to_wkt(), dst)


def transform_geometries(
    geoms: npt.NDArray[np.object_], src: pyproj.CRS | str | int, dst: str
) -> npt.NDArray[np.object_]:
    """Geometries (None kept) from ``src`` to ``dst`` coordinates."""
    tf = transformer(src, dst)
    moved: npt.NDArray[np.object_] = shapely.transform(
        np.asarray(geoms, dtype=object),
        lambda xy: np.column_stack(tf.transform(xy[:, 0], xy[:, 1])),
    )
    return moved


_EPSG_MATCHES: dict[tuple[str, int], int | None] = {}


def epsg_of(crs: pyproj.CRS | str | int, *, min_confidence: int = 70) -> int | None:
    """The EPSG code PROJ matches ``crs`` to with at least ``min_confidence`` (%), or None."""
    crs = pyproj.CRS.from_user_input(crs)
    key = (crs.to_wkt(), min_confidence)
    if key not in _EPSG_MATCHES:
        # PROJ searches its database on every call (~15 ms); files of one delivery share a
        # .prj.  The match is made on the CRS as read: a WKT round trip can lose it.
        if len(_EPSG_MATCHES) >= 64:
            _EPSG_MATCHES.clear()
        _EPSG_MATCHES[key] = crs.to_epsg(min_confidence=min_confidence)
    return _EPSG_MATCHES[key]


def crs_label(crs: pyproj.CRS) -> str:
    """``EPSG:4546 (CGCS2000 / 3-degree Gauss-Kruger CM 111E)`` or just the name."""
    epsg = epsg_of(crs, min_confidence=70)
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def check_near_shaoyang(
    frame: gpd.GeoDataFrame, *, shown: str, bounds: tuple[float, float, float, float]
) -> None:
    """Refuse data that, converted to lon/lat, do not lie in or near the expected area."""
    src = frame.crs
    if len(frame) == 0 or frame.geometry.is_empty.all():
        return
    minx, miny, maxx, maxy = frame.geometry.total_bounds
    to_lonlat = transformer(src, "EPSG:4326")
    xs = np.array([minx, maxx, minx, maxx, (minx + maxx) / 2])
    ys = np.array([miny, miny, maxy, maxy, (miny + maxy) / 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lon, lat = to_lonlat.transform(xs, ys, errcheck=False)
    west, south, east, north = bounds
    m = NEAR_MARGIN_DEG
    finite = np.isfinite(lon) & np.isfinite(lat)
    inside = (
        finite & (lon >= west - m) & (lon <= east + m) & (lat >= south - m) & (lat <= north + m)
    )
    if inside.all():
        return
    if finite[4]:
        where = f"around {lon[4]:.3f}E {lat[4]:.3f}N"
        cx, cy = (west + east) / 2, (south + north) / 2
        geod = pyproj.Geod(ellps="WGS84")
        km = geod.inv(cx, cy, float(lon[4]), float(lat[4]))[2] / 1000
        where += f", {km:,.0f} km from Shaoyang"
    else:
        where = "outside the valid range of that coordinate system"
    msg = (
        f"in {crs_label(src)} the data lie {where}: the coordinate system is probably wrong "
        f"(坐标系可能有误), pass crs=...{_crs_hint(src, minx, maxx, maxy)}"
    )
    raise IngestError(shown, msg)


def _crs_hint(src: pyproj.CRS, minx: float, maxx: float, maxy: float) -> str:
    """The likely mistake behind data that land far away, as a hint for the message."""
    if src.is_projected:
        fe = _false_easting(src)
        if fe is not None and fe < 1e6 and minx > 1e7:
            return (
                "; the x values carry a zone prefix (e.g. 37…): use the zone CRS such as "
                "EPSG:4525 instead of EPSG:4546"
            )
        if fe is not None and fe > 1e6 and maxx < 1e7:
            return "; the x values have no zone prefix: use the CM CRS such as EPSG:4546"
    elif src.is_geographic and (abs(maxx) > 360 or abs(maxy) > 90):
        return "; the numbers look like metres, not degrees: give the projected CRS (EPSG:4546?)"
    return ""


def _false_easting(crs: pyproj.CRS) -> float | None:
    op = crs.coordinate_operation
    if op is None:
        return None
    for param in op.params:
        if "easting" in param.name.lower():
            return float(param.value)
    return None

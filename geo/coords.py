"""Convert between WGS-84, GCJ-02 ("Mars") and BD-09 (Baidu) coordinates used by Chinese maps.

Phones, AMap/Tencent and Baidu hand out points in obfuscated systems that sit several hundred
metres from the true (WGS-84 / CGCS2000) position in Hunan.  Every function here takes and
returns longitude/latitude in degrees, works element-wise on numpy arrays (scalars give 0-d
arrays), and lets NaN through as NaN.

GCJ-02 is only applied inside the usual rough box around China; points outside it pass
through the GCJ step unchanged, as the phone SDKs do.  The BD-09 step is a fixed rotation and
stretch applied everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = [
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "canonical_source",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "to_wgs84",
    "transform_geometry",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = npt.NDArray[np.float64]
LonLatFunc = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

# GCJ-02 is defined on the Krasovsky 1940 ellipsoid.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_E2 = 0.00669342162296594323

# Baidu's rotation factor: 3000 * pi / 180.
_BD_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# Rough bounding box outside which GCJ-02 is not applied.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

# The inverses stop once the step is below this many degrees (about 1 mm) or after
# _MAX_ITER rounds; the forward maps are smooth, so three to five rounds usually suffice.
_INVERSE_TOL = 1e-9
_MAX_ITER = 30

# The one alias table for coordinate-system names (every reader asks :func:`canonical_source`).
# Keys are compared after lower-casing and dropping spaces, hyphens, underscores and colons,
# so "WGS-84", "wgs 84" and "EPSG:4326" all reach "wgs84".
_SOURCE_ALIASES: dict[str, str] = {
    "wgs84": "wgs84",
    "epsg4326": "wgs84",
    "4326": "wgs84",
    "cgcs2000": "cgcs2000",
    "epsg4490": "cgcs2000",
    "4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "gcj02ll": "gcj02",
    "mars": "gcj02",
    "bd09": "bd09",
    "bd09ll": "bd09",
    "bd": "bd09",
    "baidu": "bd09",
}
_CANONICAL_SOURCES = ("wgs84", "cgcs2000", "gcj02", "bd09")


def _as_float_arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_arr, lat_arr = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    # broadcast_arrays returns read-only views; copy so callers may modify results.
    return lon_arr.copy(), lat_arr.copy()


def _outside_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    # NaN compares False everywhere, so NaN counts as "inside" and stays NaN after the shift.
    return (
        (lon < _CHINA_LON[0])
        | (lon > _CHINA_LON[1])
        | (lat < _CHINA_LAT[0])
        | (lat > _CHINA_LAT[1])
    )


def _gcj_shift(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at WGS-84 points."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    # The two series below are the published GCJ-02 polynomial-plus-sines in metres-ish units.
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    t_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    t_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    # Scale the metre-like offsets to degrees with the Krasovsky radii of curvature.
    rad_lat = np.radians(lat)
    w2 = 1.0 - _KRASOVSKY_E2 * np.sin(rad_lat) ** 2
    w = np.sqrt(w2)
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_E2) / (w2 * w)
    normal_radius = _KRASOVSKY_A / w
    dlat = t_lat * 180.0 / (meridian_radius * pi)
    dlon = t_lon * 180.0 / (normal_radius * np.cos(rad_lat) * pi)
    return dlon, dlat


def _invert(
    forward: LonLatFunc,
    lon: FloatArray,
    lat: FloatArray,
    start: tuple[FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Solve forward(x, y) == (lon, lat) by fixed-point iteration from ``start`` or (lon, lat)."""
    x, y = (lon.copy(), lat.copy()) if start is None else start
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        dx = lon - fx
        dy = lat - fy
        x += dx
        y += dy
        step = np.concatenate([np.abs(dx).ravel(), np.abs(dy).ravel()])
        step = step[~np.isnan(step)]
        if step.size == 0 or step.max() < _INVERSE_TOL:
            break
    return x, y


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS-84 longitude/latitude to GCJ-02.

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 coordinates in degrees; broadcast against each other.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 coordinates in degrees (0-d arrays for scalar input). Points outside China's
        box are returned unchanged; NaN stays NaN.
    """
    lon_arr, lat_arr = _as_float_arrays(lon, lat)
    dlon, dlat = _gcj_shift(lon_arr, lat_arr)
    outside = _outside_china(lon_arr, lat_arr)
    out_lon = np.where(outside, lon_arr, lon_arr + dlon)
    out_lat = np.where(outside, lat_arr, lat_arr + dlat)
    return out_lon, out_lat


def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Recover WGS-84 longitude/latitude from GCJ-02 by iterating the forward shift.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 coordinates in degrees; broadcast against each other.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS-84 coordinates in degrees, converged until the correction is below 1e-9 degrees
        (well under a millimetre). Points outside China's box pass through; NaN stays NaN.
    """
    lon_arr, lat_arr = _as_float_arrays(lon, lat)
    return _invert(wgs84_to_gcj02, lon_arr, lat_arr)


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to Baidu's BD-09.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 coordinates in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 coordinates in degrees.
    """
    x, y = _as_float_arrays(lon, lat)
    radius = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return radius * np.cos(theta) + _BD_DLON, radius * np.sin(theta) + _BD_DLAT


def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert Baidu BD-09 longitude/latitude to GCJ-02.

    The usual closed-form inverse is off by up to a few decimetres, so it only gives the
    starting point for the same fixed-point refinement used for GCJ-02.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 coordinates in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 coordinates in degrees.
    """
    bd_lon, bd_lat = _as_float_arrays(lon, lat)
    x = bd_lon - _BD_DLON
    y = bd_lat - _BD_DLAT
    radius = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    start = (radius * np.cos(theta), radius * np.sin(theta))
    return _invert(gcj02_to_bd09, bd_lon, bd_lat, start)


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 longitude/latitude to BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 coordinates in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 coordinates in degrees.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 longitude/latitude to WGS-84 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 coordinates in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS-84 coordinates in degrees.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def canonical_source(source: str) -> str:
    """The canonical name of a coordinate system: ``wgs84``, ``cgcs2000``, ``gcj02`` or ``bd09``.

    This is the only alias table: importers store what it returns as ``source_crs``.

    >>> canonical_source("Baidu"), canonical_source("EPSG:4326"), canonical_source("GCJ-02")
    ('bd09', 'wgs84', 'gcj02')

    Raises
    ------
    ValueError
        ``source`` is no name or alias this module knows.
    """
    key = re.sub(r"[\s_\-:]", "", str(source).lower())
    canonical = _SOURCE_ALIASES.get(key)
    if canonical is None:
        accepted = ", ".join(_CANONICAL_SOURCES)
        aliases = ", ".join(sorted(k for k in _SOURCE_ALIASES if k not in _CANONICAL_SOURCES))
        msg = f"unknown coordinate source {source!r}; accepted: {accepted} (aliases: {aliases})"
        raise ValueError(msg)
    return canonical


def to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, source: str
) -> tuple[FloatArray, FloatArray]:
    """Convert points given in ``source`` coordinates to WGS-84.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees.
    source : str
        The points' coordinate system, case-insensitive: ``"wgs84"`` (``"EPSG:4326"``),
        ``"cgcs2000"`` (``"EPSG:4490"``, equal to WGS-84 at map scale), ``"gcj02"``
        (``"GCJ-02"``) or ``"bd09"`` (``"BD-09"``).

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS-84 coordinates in degrees, always new float arrays.

    Raises
    ------
    ValueError
        If ``source`` is not one of the accepted names.
    """
    canonical = canonical_source(source)
    if canonical == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if canonical == "bd09":
        return bd09_to_wgs84(lon, lat)
    return _as_float_arrays(lon, lat)


def transform_geometry(geom: BaseGeometry, func: LonLatFunc) -> BaseGeometry:
    """Apply a (lon, lat) -> (lon, lat) array function to every vertex of a shapely geometry.

    Parameters
    ----------
    geom : shapely.Geometry
        Any geometry; Z values, if present, are dropped.
    func : callable
        Takes longitude and latitude arrays and returns the new pair, such as
        :func:`gcj02_to_wgs84`.

    Returns
    -------
    shapely.Geometry
        A new geometry of the same type with every vertex converted.
    """
    return shapely.transform(geom, lambda x, y: func(x, y), interleaved=False)

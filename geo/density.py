"""Aggregate case points into H3 hexagons and per-unit rates for the leaders' hotspot maps.

Raw case points never reach a page: 230,000 of them make a 9.5 MB heatmap, while the same
pattern binned into H3 cells is a few thousand weighted centroids.  Everything here works in
longitude/latitude (EPSG:4326), the frame H3 is defined in; point layers in another CRS are
reprojected first.

Privacy: one rule, ``small_counts``: a count of 1 to 4 is never shown, 0 is.  Maps drop such
cells or units (``suppress_small``), tables print ``<5`` (``mask_small``, ``shown``), so no
count below five can be read off a page.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from h3.api import numpy_int as h3_int
from scipy import ndimage

__all__ = [
    "MIN_COUNT",
    "Grid",
    "heat_weights",
    "hex_bins",
    "hex_counts",
    "mask_small",
    "pattern_agreement",
    "rates_per_thousand",
    "shown",
    "small_counts",
    "suppress_small",
]

MIN_COUNT = 5
WGS84 = "EPSG:4326"


def _cells(lon: npt.ArrayLike, lat: npt.ArrayLike, resolution: int) -> npt.NDArray[np.uint64]:
    """H3 cells (as 64-bit integers) of finite lon/lat pairs."""
    if not 0 <= resolution <= 15:
        msg = f"H3 resolution must be 0..15, got {resolution}"
        raise ValueError(msg)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if lon.shape != lat.shape:
        msg = f"lon and lat differ in shape: {lon.shape} vs {lat.shape}"
        raise ValueError(msg)
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 180):
        msg = "coordinates outside lon/lat range: are the points in EPSG:4326?"
        raise ValueError(msg)
    # h3 v4 has no array form of latlng_to_cell; the integer API called through map() avoids
    # string ids and is ~0.1 s for 230k points, well below the sjoin anchor.
    to_cell = h3_int.latlng_to_cell
    return np.fromiter(
        map(to_cell, lat.tolist(), lon.tolist(), [resolution] * lat.size),
        dtype=np.uint64,
        count=lat.size,
    )


def h3_cells(lon: npt.ArrayLike, lat: npt.ArrayLike, resolution: int) -> npt.NDArray[np.uint64]:
    """H3 cells (64-bit integers) of lon/lat points, as :func:`hex_bins` assigns them.

    >>> h3_cells([111.47], [27.24], 7).dtype
    dtype('uint64')
    """
    return _cells(lon, lat, resolution)


def bins_from_counts(counts: pd.DataFrame, *, by: str | None = None) -> gpd.GeoDataFrame:
    """:func:`hex_bins`' output from cell counts made elsewhere (e.g. summed in the database).

    Parameters
    ----------
    counts
        Columns ``cell`` (H3 cell as an integer), ``count`` and, with ``by``, that column.

    Returns
    -------
    geopandas.GeoDataFrame
        ``[by], h3, count, geometry``, sorted by (``by``, cell) exactly as :func:`hex_bins`.
    """
    keys = [by, "cell"] if by else ["cell"]
    frame = counts.sort_values(keys, kind="stable").reset_index(drop=True)
    cells = frame["cell"].to_numpy(dtype=np.uint64)
    out = pd.DataFrame({by: frame[by].to_numpy()}) if by else pd.DataFrame(index=frame.index)
    ids = _ids(cells)
    out["h3"] = ids
    out["count"] = frame["count"].to_numpy(dtype=np.int64)
    uniq, inverse = np.unique(np.asarray(ids, dtype=object), return_inverse=True)
    polygons = _hexagons(list(uniq))[inverse] if len(ids) else np.array([], dtype=object)
    return gpd.GeoDataFrame(out, geometry=polygons, crs=WGS84)


def _finite(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    return np.isfinite(np.asarray(lon, dtype=np.float64)) & np.isfinite(
        np.asarray(lat, dtype=np.float64)
    )


def _ids(cells: npt.NDArray[np.uint64]) -> list[str]:
    return [h3.int_to_str(int(c)) for c in cells]


def hex_counts(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    resolution: int,
    weights: npt.ArrayLike | None = None,
) -> pd.Series:
    """Count (or sum ``weights`` of) points per H3 cell, from plain coordinate arrays.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees (EPSG:4326).  Pairs with a NaN are skipped.
    resolution
        H3 resolution (7: ~5 km² cells, 8: ~0.7 km²).
    weights
        Optional weight per point; the sum per cell is returned instead of the count.

    Returns
    -------
    pandas.Series
        Indexed by H3 cell id (string), sorted by id, named ``count`` (or ``weight``).
    """
    ok = _finite(lon, lat)
    lon = np.asarray(lon, dtype=np.float64)[ok]
    lat = np.asarray(lat, dtype=np.float64)[ok]
    cells = _cells(lon, lat, resolution)
    if weights is None:
        uniq, counts = np.unique(cells, return_counts=True)
        return pd.Series(
            counts.astype(np.int64), index=pd.Index(_ids(uniq), name="h3"), name="count"
        )
    w = np.asarray(weights, dtype=np.float64)[ok]
    uniq, inverse = np.unique(cells, return_inverse=True)
    sums = np.bincount(inverse, weights=w, minlength=uniq.size)
    return pd.Series(sums, index=pd.Index(_ids(uniq), name="h3"), name="weight")


def _hexagons(ids: list[str]) -> npt.NDArray[np.object_]:
    """Polygons (lon/lat) of H3 cells; boundaries come back from h3 as (lat, lon) pairs."""
    rings = [h3.cell_to_boundary(c) for c in ids]
    if rings and all(len(r) == 6 for r in rings):
        # All hexagons (no pentagon is anywhere near China): one vectorised call.
        polygons: npt.NDArray[np.object_] = shapely.polygons(
            np.asarray(rings, dtype=np.float64)[:, :, ::-1]
        )
        return polygons
    return np.array([shapely.Polygon(np.asarray(r)[:, ::-1]) for r in rings], dtype=object)


def hex_bins(
    points: gpd.GeoDataFrame,
    *,
    resolution: int,
    weight: str | None = None,
    by: str | None = None,
) -> gpd.GeoDataFrame:
    """Bin case points into H3 hexagons.

    Parameters
    ----------
    points
        Point GeoDataFrame with a CRS; reprojected to EPSG:4326 if needed.  Empty or missing
        geometries are skipped.
    resolution
        H3 resolution.
    weight
        Optional numeric column summed per cell into a ``weight`` column.
    by
        Optional grouping column (e.g. a month) kept in the result: one row per
        (group, cell) that has points.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``[by], h3, count, [weight], geometry`` (hexagon polygons, EPSG:4326).
        ``count`` is always the number of cases, so privacy suppression can rely on it.
    """
    if points.crs is None:
        msg = "points have no CRS: set it (cases are stored in EPSG:4326)"
        raise ValueError(msg)
    for col in (weight, by):
        if col is not None and col not in points.columns:
            msg = f"column {col!r} not in points"
            raise KeyError(msg)
    pts = points if points.crs.equals(WGS84) else points.to_crs(WGS84)
    geom = pts.geometry.to_numpy()
    keep = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
    if np.any(shapely.get_type_id(geom[keep]) != 0):
        msg = "hex_bins needs Point geometries"
        raise ValueError(msg)
    lon = shapely.get_x(geom[keep])
    lat = shapely.get_y(geom[keep])
    frame = pd.DataFrame({"_cell": _cells(lon, lat, resolution)})
    keys = ["_cell"]
    if by is not None:
        frame[by] = pts[by].to_numpy()[keep]
        keys = [by, "_cell"]
    if weight is not None:
        frame["weight"] = pts[weight].to_numpy(dtype=np.float64)[keep]
    grouped = frame.groupby(keys, sort=True, observed=True, dropna=False)
    out = grouped.size().rename("count").to_frame()
    if weight is not None:
        out["weight"] = grouped["weight"].sum()
    out = out.reset_index()
    ids = _ids(out["_cell"].to_numpy(dtype=np.uint64))
    out.insert(len(keys) - 1, "h3", ids)
    out = out.drop(columns="_cell")
    uniq, inverse = np.unique(np.asarray(ids, dtype=object), return_inverse=True)
    polygons = _hexagons(list(uniq))[inverse] if len(ids) else np.array([], dtype=object)
    return gpd.GeoDataFrame(out, geometry=polygons, crs=WGS84)


def heat_weights(
    bins: pd.DataFrame, *, value: str | None = None, scale: float | None = None, decimals: int = 5
) -> list[list[float]]:
    """``[lat, lon, w]`` rows for a weighted heatmap, one per H3 cell centre.

    Parameters
    ----------
    bins
        Output of :func:`hex_bins` (needs an ``h3`` column) after any suppression.
    value
        Column holding the weight; default ``weight`` if present, else ``count``.
    scale
        Divide by this instead of the largest value (to share one scale across months).
    decimals
        Coordinate rounding (5 decimals is about 1 m).

    Returns
    -------
    list of [lat, lon, w]
        ``w`` is the cell value divided by the largest value (or ``scale``), so the hottest
        cell is 1.0 and
        the Leaflet heat layer's intensity scale (0..1) is used fully whatever the case volume.
        Dividing by one constant keeps the ratios between cells, so the pattern is unchanged.
        For month-by-month frames pass the largest value over all months as ``scale`` so
        that months stay comparable.  Cells whose weight rounds to 0 are left out.
    """
    if value is None:
        value = "weight" if "weight" in bins.columns else "count"
    if bins.empty:
        return []
    vals = bins[value].to_numpy(dtype=np.float64)
    top = np.nanmax(vals) if scale is None else scale
    if not np.isfinite(top) or top <= 0:
        msg = f"no positive values in column {value!r}"
        raise ValueError(msg)
    latlon = np.array([h3.cell_to_latlng(c) for c in bins["h3"]], dtype=np.float64)
    latlon = np.round(latlon, decimals)
    w = np.round(vals / top, 4)
    return [[float(a), float(b), float(c)] for (a, b), c in zip(latlon, w, strict=True) if c > 0]


def small_counts(counts: npt.ArrayLike, *, min_count: int = MIN_COUNT) -> npt.NDArray[np.bool_]:
    """Where a count must not be shown: the one small-number rule of every page and export.

    A count of 1 to ``min_count - 1`` is small.  0 is shown: it says that no case exists,
    which identifies no one, and a map or table that hid zeros would make "none" and "a few"
    look alike.  A missing or non-numeric count is small too: an unknown count cannot be
    shown as safe.

    >>> small_counts([0, 1, 4, 5, 12, None]).tolist()
    [False, True, True, False, False, True]
    """
    if min_count < 1:
        msg = f"min_count must be at least 1, got {min_count}"
        raise ValueError(msg)
    values = pd.to_numeric(pd.Series(np.asarray(counts, dtype=object)), errors="coerce")
    shown = values.eq(0) | values.ge(min_count)
    return np.asarray(~shown.to_numpy(dtype=bool), dtype=np.bool_)


def shown(count: int, *, min_count: int = MIN_COUNT) -> int | str:
    """One count as a page may show it: ``<5`` when :func:`small_counts` says so.

    >>> shown(3), shown(0), shown(12)
    ('<5', 0, 12)
    """
    return f"<{min_count}" if small_counts([count], min_count=min_count)[0] else count


def mask_small(
    frame: pd.DataFrame,
    *,
    count_col: str = "count",
    columns: tuple[str, ...] = ("count", "rate"),
    min_count: int = MIN_COUNT,
) -> pd.DataFrame:
    """``frame`` with ``columns`` reading ``<5`` in the rows whose count is small.

    For tables that list every unit: a rate is masked with its count, because count and
    households together give the rate back.  The columns become ``object``; ``frame`` is
    changed in place and returned.
    """
    small = small_counts(frame[count_col], min_count=min_count)
    for col in columns:
        if col in frame.columns:
            values = frame[col].astype(object)
            values[small] = f"<{min_count}"
            frame[col] = values
    return frame


def suppress_small(
    gdf: pd.DataFrame, *, count_col: str = "count", min_count: int = MIN_COUNT
) -> pd.DataFrame:
    """Drop the cells or units whose count is small (:func:`small_counts`); zeros stay.

    For maps.  Rows are removed rather than merged into their parent H3 cell.  A merged
    parent would mix cell sizes on one map (a parent is seven times the area, so it reads as
    a different density) and its value would still be the sum of the small children, which is
    itself often below the threshold and would need suppressing again.  What leaders look for
    is concentration; cells with one to four cases carry none, and dropping them also keeps
    the page small.  Totals shown on a page must therefore be taken before suppression.

    Rows with a missing count are dropped too: an unknown count cannot be shown as safe.
    """
    return gdf.loc[~small_counts(gdf[count_col], min_count=min_count)].copy()


@dataclass(frozen=True)
class Grid:
    """A regular lon/lat raster: bounds in degrees and the number of columns and rows."""

    west: float
    south: float
    east: float
    north: float
    nx: int
    ny: int

    @classmethod
    def around(cls, bounds: tuple[float, float, float, float], *, cell_deg: float) -> Grid:
        """A grid covering ``bounds`` (west, south, east, north) with square cells."""
        west, south, east, north = bounds
        nx = max(1, int(np.ceil((east - west) / cell_deg)))
        ny = max(1, int(np.ceil((north - south) / cell_deg)))
        return cls(west, south, west + nx * cell_deg, south + ny * cell_deg, nx, ny)

    def histogram(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, weights: npt.ArrayLike | None = None
    ) -> npt.NDArray[np.float64]:
        """Sum of ``weights`` (or the count) of the points falling in each grid cell."""
        hist, _, _ = np.histogram2d(
            np.asarray(lat, dtype=np.float64),
            np.asarray(lon, dtype=np.float64),
            bins=(self.ny, self.nx),
            range=((self.south, self.north), (self.west, self.east)),
            weights=None if weights is None else np.asarray(weights, dtype=np.float64),
        )
        return hist


def pattern_agreement(
    raw_points: gpd.GeoDataFrame,
    bins: pd.DataFrame,
    *,
    grid: Grid,
    value: str = "count",
    smooth_cells: float = 2.0,
    raw_weight: str | None = None,
) -> float:
    """Pearson correlation between the raw-point density and the binned density on one grid.

    Both surfaces are rasterised on ``grid`` and blurred with the same Gaussian kernel
    (``smooth_cells`` grid cells), as a heatmap blurs them: the raw surface from every case
    point, the binned one from each H3 cell centre weighted by ``value``.  A value near 1
    means the binned heatmap shows the same pattern as the raw points would.

    Parameters
    ----------
    raw_points
        The case points (any CRS; reprojected to EPSG:4326).
    bins
        Output of :func:`hex_bins`, possibly suppressed.
    grid
        The common raster; choose cells no larger than the hexagons.
    value
        Weight column of ``bins``.
    smooth_cells
        Gaussian sigma in grid cells; use about one hexagon width.
    raw_weight
        Column of ``raw_points`` counting the cases at each point (default: one each), for
        points that stand for several cases.
    """
    pts = raw_points if raw_points.crs.equals(WGS84) else raw_points.to_crs(WGS84)
    geom = pts.geometry.to_numpy()
    raw_weights = None if raw_weight is None else pts[raw_weight].to_numpy(dtype=np.float64)
    raw = grid.histogram(shapely.get_x(geom), shapely.get_y(geom), raw_weights)
    centres = np.array([h3.cell_to_latlng(c) for c in bins["h3"]], dtype=np.float64).reshape(-1, 2)
    binned = grid.histogram(centres[:, 1], centres[:, 0], bins[value].to_numpy(dtype=np.float64))
    if smooth_cells > 0:
        raw = ndimage.gaussian_filter(raw, smooth_cells, mode="constant")
        binned = ndimage.gaussian_filter(binned, smooth_cells, mode="constant")
    a, b = raw.ravel(), binned.ravel()
    if a.std() == 0 or b.std() == 0:
        msg = "a density surface is flat on this grid: no correlation can be computed"
        raise ValueError(msg)
    return float(np.corrcoef(a, b)[0, 1])


def rates_per_thousand(counts: pd.Series, households: pd.Series) -> pd.Series:
    """Cases per 1,000 households, aligned on the index; NaN where households are 0 or missing.

    A village with no registered households has no meaningful rate: NaN keeps it out of the
    colour classes instead of an infinite value that would wreck them.
    """
    c, h = pd.to_numeric(counts, errors="coerce").align(
        pd.to_numeric(households, errors="coerce"), join="left"
    )
    h = h.astype(np.float64).where(h > 0)
    return (1000.0 * c.astype(np.float64) / h).rename("rate")

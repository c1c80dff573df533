"""The leaders' hotspot analysis: a query's aggregated result and the cache that keeps it.

A query (``webmap.services.leaders_query``: kinds, statuses, date range, area, layer, rate
unit, Gi* value, FDR) selects cases and an area; :func:`analysis` turns it into aggregated
layers (H3 bins, unit rates, Gi* classes) with ``models.hotspots`` and ``geo`` and keeps the
result while the data are unchanged (``models.cache``).  The page (``webmap.views.leaders``),
the API (``webmap.views.api_leaders``) and ``qungong leaders analyse`` all call it.  Nothing in a
result identifies a case: bins and units below five cases are dropped or masked downstream.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from h3.api import numpy_int as h3_int
from libpysal.graph import Graph
from sqlalchemy.orm import Session

from geo.density import (
    Grid,
    bins_from_counts,
    pattern_agreement,
    rates_per_thousand,
    shown,
)
from geo.density import mask_small as mask_counts
from geo.density import suppress_small as drop_small
from geo.hotspots import (
    HOTSPOT_CLASSES,
    drop_empty_cold,
    eb_rates,
    getis_ord,
    gi_data_problem,
    spatial_weights,
    star_graph,
)
from geo.layers.elements import geometry_dicts
from models import case_cube, places
from models import hotspots as case_queries
from models.cache import DataStamp, StampedCache, data_stamp
from webmap.services.leaders_query import (
    LAYERS,
    LeadersQuery,
    QueryError,
    parse_query,
)

__all__ = [
    "GEOMETRY_JSON",
    "LAYERS",
    "PERMUTATIONS",
    "TOLERANCE",
    "Analysis",
    "LeadersQuery",
    "QueryError",
    "analysis",
    "class_counts",
    "fdr_floor_units",
    "mask_small",
    "parse_query",
    "shown",
    "warm",
]

PERMUTATIONS = 999
TOP_N = 20
# H3 resolution of the heatmap and of the monthly frames, by the level being viewed: cells
# a few screen pixels wide at that level's zoom, so binning cannot show on the heatmap.
HEAT_RESOLUTION = {"city": 7, "county": 8, "township": 9}
MONTHLY_RESOLUTION = {"city": 6, "county": 7, "township": 8}
# Simplification of analysis polygons (degrees) by viewed level.
TOLERANCE = {"city": 0.002, "county": 0.0005, "township": 0.0001}
# Column of the rates and Gi* frames holding each unit's outline as ready GeoJSON.
GEOMETRY_JSON = "geojson"
# A raster of about a hexagon's width, as the page's heatmap blurs it (pattern agreement).
AGREEMENT_CELL = {"city": 0.01, "county": 0.004, "township": 0.0015}
CACHE_SIZE = 8
CACHE_SECONDS = 300.0


# Why Gi* was not run: a key and its figures (``geo.hotspots.gi_data_problem``).
GiProblem = tuple[str, dict[str, int]]


class Analysis:
    """Aggregated layers of one query; none of them holds an individual case.

    The counts (``total``, ``months``, ``heat``, ``rates``, ``agreement``) are made at once:
    they are sums over the count cube.  The month-by-month hexagons and the Gi* hot spots are
    made the first time they are asked for (then kept with the result): the heat, rates and
    monthly API layers never wait for Gi*'s permutations.
    """

    def __init__(
        self,
        *,
        total: int,
        months: pd.Series,
        heat: gpd.GeoDataFrame,
        rates: gpd.GeoDataFrame,
        agreement: float | None,
        monthly_counts: pd.DataFrame,
        villages: gpd.GeoDataFrame,
        query: LeadersQuery,
        weights: Callable[[gpd.GeoDataFrame], Graph],
        place_names: dict[str, str] | None = None,
    ) -> None:
        self.total = total
        # County and township names by code, for the ranked villages' full names.
        self.place_names = place_names or {}
        self.months = months
        self.heat = heat
        self.rates = rates
        self.agreement = agreement
        self._monthly_counts = monthly_counts
        self._villages = villages
        self._query = query
        self._weights = weights
        self._lock = threading.Lock()
        self._monthly: gpd.GeoDataFrame | None = None
        self._gi: tuple[gpd.GeoDataFrame, int, float, GiProblem | None] | None = None

    @property
    def shown_total(self) -> int | str:
        """The number of matching cases as leaders may see it (``<5`` for 1 to 4)."""
        return shown(self.total)

    @property
    def shown_cells(self) -> int:
        """How many H3 cells the heatmap draws: the cells the small-number rule keeps."""
        return len(drop_small(self.heat))

    @property
    def shown_months(self) -> list[tuple[str, int | str]]:
        """Cases per month as leaders may see them (``<5`` for 1 to 4)."""
        return [(str(k), shown(int(v))) for k, v in self.months.items()]

    @property
    def monthly(self) -> gpd.GeoDataFrame:
        """H3 hexagons per month (``month``, ``h3``, ``count``)."""
        with self._lock:
            if self._monthly is None:
                self._monthly = bins_from_counts(self._monthly_counts, by="month")
            return self._monthly

    def _hotspot_result(self) -> tuple[gpd.GeoDataFrame, int, float, GiProblem | None]:
        with self._lock:
            if self._gi is None:
                self._gi = _hotspots(self._villages, self._query, self._weights)
            return self._gi

    @property
    def hotspots(self) -> gpd.GeoDataFrame:
        """Gi* class, z and p of the tested villages (of the viewed township, at that level)."""
        return self._hotspot_result()[0]

    @property
    def gi_units(self) -> int:
        """How many villages Gi* tested."""
        return self._hotspot_result()[1]

    @property
    def gi_seconds(self) -> float:
        """Seconds Gi* took (weights included when they were not cached)."""
        return self._hotspot_result()[2]

    @property
    def gi_problem(self) -> GiProblem | None:
        """Why Gi* was not run (key and figures), None when it was: see geo.hotspots."""
        return self._hotspot_result()[3]

    def top(self, n: int | None = TOP_N) -> pd.DataFrame:
        """The ``n`` hottest villages (largest Gi* z; every tested village when ``n`` is None),
        with their county and township names and masked small counts."""
        columns = ["code", "county", "township", "name", "count", "rate", "gi_z", "gi_p"]
        hs = self.hotspots
        if hs.empty:
            return pd.DataFrame(columns=[*columns, "hotspot", "geometry"])
        order = hs.sort_values(["gi_z", "count"], ascending=[False, False])
        if n is not None:
            order = order.head(n)
        codes = order["code"].astype(str)
        names = self.place_names
        out = order.assign(
            county=[names.get(c[:6] + "000000", "") for c in codes],
            township=[names.get(c[:9] + "000", "") for c in codes],
        )[[*columns, "hotspot", "geometry"]]
        return mask_small(out.copy())


def mask_small(frame: pd.DataFrame) -> pd.DataFrame:
    """Rates rounded to 0.1; counts and rates of units with 1 to 4 cases read ``<5``.

    The rule is ``geo.density.small_counts`` (0 is shown), as for every other count.
    """
    if "rate" in frame.columns:
        rates = pd.to_numeric(frame["rate"], errors="coerce").to_numpy(float)
        frame["rate"] = np.round(rates, 1)
    return mask_counts(frame, columns=("count", "rate"))


def fdr_floor_units(units: int, *, alpha: float) -> int:
    """How many units must share the smallest permutation p for FDR to pass them at ``alpha``.

    >>> fdr_floor_units(5903, alpha=0.01)
    591
    """
    return int(np.ceil(units / (alpha * (PERMUTATIONS + 1))))


def class_counts(hotspots: pd.DataFrame) -> dict[str, int]:
    """Units per Gi* class, every class present (zero when none)."""
    counts = hotspots["hotspot"].value_counts() if len(hotspots) else pd.Series(dtype=int)
    return {c: int(counts.get(c, 0)) for c in HOTSPOT_CLASSES}


# --------------------------------------------------------------------------------------
# Compute and cache

_results: StampedCache[Analysis] = StampedCache(maxsize=CACHE_SIZE, ttl=CACHE_SECONDS)


def analysis(
    session: Session, generation_id: int, query: LeadersQuery, *, stamp: DataStamp | None = None
) -> Analysis:
    """The aggregated layers of ``query``, kept while the data are unchanged.

    ``stamp`` (``models.cache.data_stamp``) is read from the session when not given; the
    layer being shown is not part of the key, so switching layers costs nothing.
    """
    stamp = stamp or data_stamp(session)
    key = (generation_id, replace(query, layer="heat"))
    return _results.get_or_build(stamp, key, lambda: _compute(session, generation_id, query, stamp))


def _with_rates(units: pd.DataFrame) -> gpd.GeoDataFrame:
    frame = units.set_index("code", drop=False)
    frame["rate"] = rates_per_thousand(frame["count"], frame["households"].astype("Float64"))
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry="geometry", crs="EPSG:4326")


def _agreement(fine: pd.DataFrame, heat: gpd.GeoDataFrame, level: str) -> float | None:
    """How well the heatmap's cells reproduce the cases' own pattern (``pattern_agreement``).

    The cases' pattern is taken from the cube's cells one H3 resolution finer than the
    heatmap's (each centre weighted by its cases) rather than from every case's point: cells a
    seventh of the heatmap's, without reading 230,000 points.
    """
    if fine.empty or heat.empty:
        return None
    latlon = np.array([h3_int.cell_to_latlng(int(c)) for c in fine["cell"]], dtype=np.float64)
    points = gpd.GeoDataFrame(
        {"n": fine["count"].to_numpy(dtype=np.float64)},
        geometry=gpd.points_from_xy(latlon[:, 1], latlon[:, 0]),
        crs="EPSG:4326",
    )
    west, south = latlon[:, 1].min(), latlon[:, 0].min()
    east, north = latlon[:, 1].max(), latlon[:, 0].max()
    grid = Grid.around((west, south, east + 1e-9, north + 1e-9), cell_deg=AGREEMENT_CELL[level])
    try:
        return pattern_agreement(points, drop_small(heat), grid=grid, raw_weight="n")
    except ValueError:
        return None


def _tested(villages: gpd.GeoDataFrame, gi: str) -> tuple[gpd.GeoDataFrame, str]:
    """The villages Gi* tests (those with a value) and the column it tests.

    Rates are Empirical Bayes rates (esda), so a small village's single case does not make
    it a hot spot.  Which villages have a rate depends on their households only, so the
    tested set (and its weights) is the same for every filter of an area.
    """
    if gi == "rate":
        counts = villages["count"].to_numpy(dtype=float)
        households = villages["households"].astype("Float64").to_numpy(float, na_value=np.nan)
        villages = villages.assign(rate_eb=eb_rates(counts, households))
        value = "rate_eb"
    else:
        value = "count"
    keep = np.isfinite(villages[value].to_numpy(dtype=float))
    return villages[keep].reset_index(drop=True), value


def _hotspots(
    villages: gpd.GeoDataFrame, query: LeadersQuery, weights: Callable[[Any], Graph]
) -> tuple[gpd.GeoDataFrame, int, float, tuple[str, dict[str, int]] | None]:
    """Gi* classes of the villages with a value, the number tested, the seconds taken, and
    why Gi* was not run (``geo.hotspots.gi_data_problem``) when the filter left too little.

    A village with no case is never cold merely because it is empty.
    """
    tested, value = _tested(villages, query.gi)
    problem = gi_data_problem(tested["count"].to_numpy(dtype=float))
    started = time.perf_counter()
    if problem is None and len(tested) >= 3:
        with warnings.catch_warnings():
            # Villages dropped for lack of households can split the map into separate
            # components; Gi* stays valid within each, so libpysal's warning is only noise.
            warnings.filterwarnings("ignore", "The weights matrix is not fully connected")
            hot = getis_ord(
                tested,
                value,
                permutations=PERMUTATIONS,
                fdr=query.fdr,
                weights=weights(tested),
            )
        y = tested["count"].to_numpy(dtype=float)
        if query.gi == "rate":
            hh = tested["households"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            expected = hh * y.sum() / np.nansum(hh)
        else:
            expected = np.full(len(y), y.sum() / max(1, len(y)))
        hot = drop_empty_cold(hot, y, expected)
    else:
        hot = tested.assign(gi_z=np.nan, gi_p=np.nan, hotspot="ns")
    seconds = time.perf_counter() - started
    if query.level == "township":
        hot = hot[hot["code"].str.startswith(query.prefix)].reset_index(drop=True)
    hot = gpd.GeoDataFrame(hot, geometry="geometry", crs="EPSG:4326")
    return hot, len(tested), seconds, problem


# What a cold filter reuses, kept per data stamp: the cube in memory (cases), the units of
# an area with their households and outlines, and Gi* weights (boundaries only).
_cubes: StampedCache[case_cube.Cube] = StampedCache(maxsize=1)
_units: StampedCache[Any] = StampedCache(maxsize=64)
_weights: StampedCache[Graph] = StampedCache(maxsize=32)


def _cube(session: Session, stamp: DataStamp) -> case_cube.Cube:
    """The count cube in memory; the stale check and the load run only when cases changed."""

    def load() -> case_cube.Cube:
        case_cube.ensure_fresh(session)
        return case_cube.load(session)

    return _cubes.get_or_build(stamp, "cube", load)


def _area_units(
    session: Session,
    generation_id: int,
    stamp: DataStamp,
    *,
    level: str,
    prefix: str,
    tolerance: float,
) -> pd.DataFrame:
    """The units of an area with their outlines made ready for maps (``GEOMETRY_JSON``)."""

    def build() -> pd.DataFrame:
        units = case_queries.units(session, generation_id, level=level, prefix=prefix)
        frame = gpd.GeoDataFrame(units, geometry="geometry", crs="EPSG:4326")
        # Simplified once over the whole area (shared borders stay shared), not per filter.
        return units.assign(**{GEOMETRY_JSON: geometry_dicts(frame, 5, tolerance)})

    return _units.get_or_build(stamp.boundaries(), (generation_id, level, prefix, tolerance), build)


def _gi_weights(generation_id: int, stamp: DataStamp) -> Callable[[gpd.GeoDataFrame], Graph]:
    def weights(tested: gpd.GeoDataFrame) -> Graph:
        key = (generation_id, tuple(tested["code"]))
        return _weights.get_or_build(
            stamp.boundaries(), key, lambda: star_graph(spatial_weights(tested, kind="queen"))
        )

    return weights


def _counted(units: pd.DataFrame, counts: pd.Series) -> gpd.GeoDataFrame:
    """``units`` with each one's case count (0 for none) and rate per 1,000 households."""
    found = counts.reindex(units["code"].to_numpy(), fill_value=0).to_numpy(dtype=np.int64)
    return _with_rates(units.assign(count=found))


def _compute(
    session: Session, generation_id: int, query: LeadersQuery, stamp: DataStamp
) -> Analysis:
    case_filter = query.case_filter()
    level = query.level
    cube = _cube(session, stamp)
    # Gi* needs every village's neighbours: a township view tests the villages of its county
    # and shows its own; wider views test the villages of the area itself.
    study_prefix = query.prefix[:6] if level == "township" else query.prefix
    tolerance = TOLERANCE[level]
    rate_units = _area_units(
        session,
        generation_id,
        stamp,
        level=query.rate_unit,
        prefix=query.prefix,
        tolerance=tolerance,
    )
    village_units = _area_units(
        session, generation_id, stamp, level="village", prefix=study_prefix, tolerance=tolerance
    )
    place_names = _units.get_or_build(
        stamp.boundaries(),
        ("names", generation_id, study_prefix),
        lambda: places.parent_names(session, generation_id, prefix=study_prefix),
    )
    # Everything is read: give the connection back to the pool before the CPU-bound part
    # (sums, hexagons, Gi*), so other requests are not starved of connections meanwhile.
    # Objects the caller loaded stay readable; the session reconnects if it is used again.
    session.close()
    heat_counts = cube.cell_counts(case_filter, resolution=HEAT_RESOLUTION[level])
    monthly_counts = cube.cell_counts(
        case_filter, resolution=MONTHLY_RESOLUTION[level], by_month=True
    )
    fine = cube.cell_counts(
        case_filter, resolution=min(HEAT_RESOLUTION[level] + 1, max(case_cube.RESOLUTIONS))
    )
    heat = bins_from_counts(heat_counts)
    months = monthly_counts.groupby("month")["count"].sum().sort_index().rename("count")
    return Analysis(
        total=int(heat_counts["count"].sum()),
        months=months,
        heat=heat,
        rates=_counted(rate_units, cube.unit_counts(case_filter, level=query.rate_unit)),
        agreement=_agreement(fine, heat, level),
        monthly_counts=monthly_counts,
        villages=_counted(village_units, cube.unit_counts(case_filter, level="village")),
        query=query,
        weights=_gi_weights(generation_id, stamp),
        place_names=place_names,
    )


def warm(session: Session, generation_id: int) -> None:
    """Load what cold filters reuse: the cube, and the units and Gi* weights of the city and
    of each county (every township view tests its county's villages).

    ``qungong run`` calls it in the server's first process before it forks its workers, so
    they start with it in (shared) memory; it takes a few seconds.
    """
    stamp = data_stamp(session)
    _cube(session, stamp)
    counties = case_queries.units(session, generation_id, level="county", prefix="")
    weights = _gi_weights(generation_id, stamp)
    for prefix in ["", *(code[:6] for code in counties["code"])]:
        view = "county" if prefix else "city"
        # The city shows townships' rates, a county its villages' (RATE_UNIT); a township
        # view draws its county's villages finer: left to its first request.
        for level in ("township", "village") if not prefix else ("village",):
            units = _area_units(
                session, generation_id, stamp, level=level, prefix=prefix, tolerance=TOLERANCE[view]
            )
        for gi in ("rate", "count"):
            tested, _value = _tested(_with_rates(units.assign(count=0)), gi)
            if len(tested) >= 3:
                weights(tested)

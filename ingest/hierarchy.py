"""Link units to their parents (by code, else by location) and check how children nest, in m².

All work is set-based: a pandas merge links by code, one STRtree query places the rest, and
nesting is checked with vectorised GEOS calls, only falling back to overlays where the cheap
tests fail.  Areas are measured in CGCS2000 / 3-degree Gauss-Kruger CM 111E (EPSG:4546), the
zone that covers Shaoyang.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

from ingest.crs import transform_geometries, transformer
from ingest.fields import PARENT_LEVEL

METRIC_CRS = "EPSG:4546"
# Levels that may stand without a parent: the city unit is optional in the database.
ROOT_LEVELS = ("city", "county")
# Metres per degree of latitude; a degree of longitude is shorter, so eps in degrees from
# this is never wider than eps in metres.
_METRES_PER_DEGREE = 111_320.0
# Below this many vertices per unit (villager groups) the exact sibling test is cheaper than
# shrinking every unit for the pre-test of _may_overlap; above it (villages, townships) not.
_SHRINK_MIN_VERTICES = 24


@dataclass
class Links:
    """Parents found for the units of an import.

    ``parent_id`` holds the parent's id (NA where none), ``method`` ``"code"``,
    ``"containment"`` or None; ``problems`` are (position, kind, message, zh).
    """

    parent_id: pd.Series
    method: pd.Series
    problems: list[tuple[int, str, str, str]] = field(default_factory=list)


def to_metric(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Lon/lat geometries in EPSG:4546 metres."""
    return transform_geometries(geoms, "EPSG:4326", METRIC_CRS)


def is_metric_crs(crs: pyproj.CRS | str | int) -> bool:
    """Whether coordinates in ``crs`` are already EPSG:4546 metres (any WKT dialect).

    ArcGIS .prj files name CGCS2000 / CM 111E their own way, and PROJ matches them to
    EPSG:4546 with less than full confidence; so compare what the two do to points instead.

    >>> is_metric_crs("EPSG:4546"), is_metric_crs("EPSG:4525"), is_metric_crs("EPSG:4326")
    (True, False, False)
    """
    # Points across Shaoyang in CM 111E metres (x 400-600 km, y 2,830-3,060 km).
    xs = np.array([400_000.0, 500_000.0, 600_000.0])
    ys = np.array([2_830_000.0, 2_950_000.0, 3_060_000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x, y = transformer(crs, METRIC_CRS).transform(xs, ys, errcheck=False)
    return bool(np.all(np.abs(x - xs) < 1e-6) and np.all(np.abs(y - ys) < 1e-6))


def link_parents(units: pd.DataFrame, candidates: pd.DataFrame) -> Links:
    """Find each unit's parent: by the code prefix, else the parent-level unit holding it.

    Parameters
    ----------
    units
        One row per unit to import, columns ``code``, ``level``, ``parent_code`` and
        ``geom`` (lon/lat shapely geometry), in file order.
    candidates
        Possible parents (units of this file and of the database's same generation):
        ``id``, ``code``, ``level``, ``geom``.

    Returns
    -------
    Links
        Parent ids aligned with ``units``; orphans are errors, parents found only by
        location are warnings.
    """
    by_code = candidates.drop_duplicates("code").set_index("code")["id"]
    parent_id = units["parent_code"].map(by_code).astype("Int64")
    level_ok = units["parent_code"].map(
        candidates.drop_duplicates("code").set_index("code")["level"]
    )
    expected = units["level"].map(PARENT_LEVEL)
    parent_id[level_ok.notna() & (level_ok != expected)] = pd.NA
    method = pd.Series(
        np.where(parent_id.notna(), "code", np.array(None, dtype=object)),
        index=units.index,
        dtype=object,
    )
    problems: list[tuple[int, str, str, str]] = []

    missing = np.flatnonzero(
        parent_id.isna().to_numpy() & ~units["level"].isin(ROOT_LEVELS).to_numpy()
    )
    if len(missing):
        rep = shapely.point_on_surface(np.asarray(units["geom"].to_numpy()[missing], dtype=object))
        for level, pos in pd.Series(missing).groupby(units["level"].to_numpy()[missing]):
            parent_level = PARENT_LEVEL[level]
            pool = candidates[candidates["level"] == parent_level]
            pos = pos.to_numpy()
            found = np.full(len(pos), -1, dtype=np.int64)
            if len(pool):
                tree = shapely.STRtree(np.asarray(pool["geom"].to_numpy(), dtype=object))
                sel = np.searchsorted(missing, pos)
                hits = tree.query(rep[sel], predicate="within")
                # A point on a shared border can fall in two parents; the first will do.
                first = pd.Series(hits[1]).groupby(hits[0]).first()
                found[first.index.to_numpy()] = pool["id"].to_numpy()[first.to_numpy()]
            for p, pid in zip(pos, found, strict=True):
                code = units["code"].iat[p]
                want = units["parent_code"].iat[p]
                if pid >= 0:
                    parent_id.iat[p] = pid
                    method.iat[p] = "containment"
                    pcode = pool.loc[pool["id"] == pid, "code"].iat[0]
                    problems.append(
                        (
                            int(p),
                            "warning",
                            f"{level} {code}: no {parent_level} {want}; linked by location to "
                            f"{parent_level} {pcode}",
                            f"找不到上级 {want}，按位置挂接到 {pcode}",
                        )
                    )
                else:
                    problems.append(
                        (
                            int(p),
                            "error",
                            f"orphan {level} {code}: no {parent_level} {want} in this generation or "
                            f"this file, and none contains it; import the {parent_level}s first",
                            f"孤立单位：找不到上级 {want}，也不在任何上级范围内",
                        )
                    )
    return Links(parent_id=parent_id, method=method, problems=problems)


@dataclass
class Nesting:
    """Spills, gaps and overlaps found, each with its area in m²."""

    spills: list[tuple[int, float]] = field(default_factory=list)  # (unit position, m²)
    gaps: list[tuple[int, float]] = field(default_factory=list)  # (parent id, m²)
    overlaps: list[tuple[int, int, float]] = field(default_factory=list)  # (pos, pos, m²)


def check_nesting(
    child_geoms: npt.NDArray[np.object_],
    parent_id: pd.Series,
    parents: pd.DataFrame,
    *,
    tolerance_m2: float,
    child_metric: npt.NDArray[np.object_] | None = None,
    partition: npt.ArrayLike | None = None,
) -> Nesting:
    """Measure where children spill out of their parent, leave gaps, or overlap each other.

    Parameters
    ----------
    child_geoms
        Lon/lat (Multi)Polygons of the imported units, valid.
    parent_id
        Each child's parent id (NA when none).
    parents
        ``id`` and lon/lat ``geom`` of every parent referred to.
    tolerance_m2
        Findings at or below this area are digitising noise and not reported.
    child_metric
        The children already in EPSG:4546 (files in that CRS), saving a transformation.
    partition
        A key per child that siblings share (the county code); the work goes key by key, so
        trees and arrays stay small.  Default: one partition.
    """
    child_geoms = np.asarray(child_geoms, dtype=object)
    child_m = to_metric(child_geoms) if child_metric is None else child_metric
    pgeom = parents.set_index("id")["geom"]
    keys = np.zeros(len(child_geoms)) if partition is None else np.asarray(partition)
    _, inverse = np.unique(keys, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    parts = [
        _check_chunk(idx, child_geoms, child_m, parent_id, pgeom, tolerance_m2)
        for idx in np.split(order, bounds)
    ]
    out = Nesting()
    for part in parts:
        out.spills += part.spills
        out.gaps += part.gaps
        out.overlaps += part.overlaps
    out.spills.sort()
    out.gaps.sort()
    out.overlaps.sort()
    return out


def _check_chunk(
    idx: npt.NDArray[np.int64],
    child_geoms: npt.NDArray[np.object_],
    child_m: npt.NDArray[np.object_],
    parent_id: pd.Series,
    pgeom: pd.Series,
    tolerance_m2: float,
) -> Nesting:
    """Spills, overlaps and gaps of the children at positions ``idx`` (positions stay global)."""
    out = Nesting()
    geoms, geoms_m = child_geoms[idx], child_m[idx]
    pid_all = parent_id.to_numpy()[idx]
    has_parent = ~pd.isna(pid_all)
    linked = np.flatnonzero(has_parent)
    child_area = shapely.area(geoms_m)
    spill_area = np.zeros(len(idx))
    if len(linked):
        pids = pid_all[linked].astype(np.int64)
        # A child digitised along its parent's border sits a hair off it once both are in
        # lon/lat (straight edges bend under projection), so an exact covers() fails for
        # most children.  Test against parents grown by eps instead: what a child passing
        # that test could still spill is at most perimeter × eps, kept below tolerance / 2.
        perimeter = float(shapely.length(geoms_m[linked]).max())
        eps_m = min(0.01, 0.5 * tolerance_m2 / max(perimeter, 1.0))
        unique_pids, inverse = np.unique(pids, return_inverse=True)
        parent_geoms = np.asarray(pgeom.reindex(unique_pids).to_numpy(), dtype=object)
        grown = shapely.buffer(
            parent_geoms, eps_m / _METRES_PER_DEGREE, quad_segs=1, join_style="mitre"
        )
        shapely.prepare(grown)
        loose = linked[~shapely.covers(grown[inverse], geoms[linked])]
        if len(loose):
            sel = np.searchsorted(linked, loose)
            outside = shapely.difference(geoms[loose], parent_geoms[inverse[sel]])
            spill_area[loose] = shapely.area(to_metric(outside))
        for p in np.flatnonzero(spill_area > tolerance_m2):
            out.spills.append((int(idx[p]), float(spill_area[p])))

    local_pid = np.where(has_parent, pid_all, -1).astype(np.int64)
    overlapping = _overlaps(geoms, geoms_m, local_pid, tolerance_m2)
    out.overlaps = [(int(idx[a]), int(idx[b]), area) for a, b, area in overlapping]
    if len(linked):
        frame = pd.DataFrame(
            {
                "parent": local_pid[linked],
                "inside": child_area[linked] - spill_area[linked],
                "pos": linked,
            }
        )
        covered = frame.groupby("parent")["inside"].sum()
        parent_m = to_metric(np.asarray(pgeom.reindex(covered.index).to_numpy(), dtype=object))
        gap = pd.Series(shapely.area(parent_m), index=covered.index) - covered
        for pid in {int(local_pid[a]) for a, _, _ in overlapping if local_pid[a] >= 0}:
            # Overlaps are counted twice in the sum; measure the union instead.
            members = frame.loc[frame["parent"] == pid, "pos"].to_numpy()
            union = shapely.union_all(geoms_m[members])
            pm = parent_m[covered.index.get_loc(pid)]
            gap[pid] = shapely.area(pm) - shapely.area(shapely.intersection(union, pm))
        for pid, area in gap[gap > tolerance_m2].items():
            out.gaps.append((int(pid), float(area)))
    return out


def _overlaps(
    geoms: npt.NDArray[np.object_],
    geoms_m: npt.NDArray[np.object_],
    parent: npt.NDArray[np.int64],
    tolerance_m2: float,
) -> list[tuple[int, int, float]]:
    """Pairs of siblings (same ``parent``, -1 = none) overlapping by more than the tolerance.

    Candidate pairs come from a bounding-box query (cheap), are cut down to siblings, and
    only then tested for interiors that meet in an area (DE-9IM ``2********``, which unlike
    ``overlaps`` also catches a unit lying wholly inside its sibling).  Only those are
    intersected to measure the area.
    """
    if len(geoms) < 2:
        return []
    left, right = shapely.STRtree(geoms).query(geoms)
    keep = (left < right) & (parent[left] == parent[right])
    a, b = left[keep], right[keep]
    if (
        len(a)
        and tolerance_m2 > 0
        and shapely.get_num_coordinates(geoms_m).mean() > _SHRINK_MIN_VERTICES
    ):
        a, b = _may_overlap(a, b, geoms_m, tolerance_m2)
    real = shapely.relate_pattern(geoms[a], geoms[b], "2********")
    a, b = a[real], b[real]
    area = shapely.area(shapely.intersection(geoms_m[a], geoms_m[b]))
    big = area > tolerance_m2
    return [(int(i), int(j), float(x)) for i, j, x in zip(a[big], b[big], area[big], strict=True)]


def _may_overlap(
    a: npt.NDArray[np.intp],
    b: npt.NDArray[np.intp],
    geoms_m: npt.NDArray[np.object_],
    tolerance_m2: float,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Drop pairs that cannot overlap by more than the tolerance: a cheap, safe pre-test.

    Neighbours digitised separately cross each other's shared border by a hair, so most
    pairs "overlap" by a fraction of a m² and the exact test plus an intersection each costs
    more than it tells.  Shrink each unit by ``d`` inward: the band it loses has a measured
    area, and if unit b misses the shrunk a, all of a ∩ b lies in that band.  So a pair is
    dropped only when the band is within the tolerance, which makes the test exact.
    """
    perimeter = shapely.length(geoms_m)
    # Aim for a band of half the tolerance; its real area is measured below.
    d = 0.5 * tolerance_m2 / np.maximum(perimeter, 1.0)
    shrunk = shapely.buffer(geoms_m, -d, quad_segs=1, join_style="mitre")
    band = shapely.area(geoms_m) - shapely.area(shrunk)
    shapely.prepare(shrunk)
    safe = (band <= tolerance_m2)[a] & ~shapely.intersects(shrunk[a], geoms_m[b])
    return a[~safe], b[~safe]

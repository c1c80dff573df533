"""Attribute points to villager groups: the one rule, "the lowest-id group that covers the point".

The rule is PostGIS's ``ST_Covers`` (boundary included) reduced to the lowest unit id, so a
point on a shared border, on a vertex, or in one of the ~1e-9 degree slivers where neighbouring
groups overlap (FIELD-NOTES) goes to the lowest id.  The work is one library call:
``shapely.STRtree`` over the points, queried with the group polygons and the predicate
``covers`` (GEOS, the same engine as PostGIS), then a minimum per point.  The database side of
the same rule lives in :func:`models.activity.covering_group` and :func:`models.activity.reattribute`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

__all__ = ["GroupIndex", "lowest_covering"]


def lowest_covering(
    polygons: npt.NDArray[np.object_], lon: npt.ArrayLike, lat: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """Position of the first polygon (in array order) covering each point, -1 where none does.

    Order ``polygons`` by unit id and the first is the lowest id.

    >>> squares = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> lowest_covering(squares, [0.5, 1.0, 1.5, 3.0, np.nan], [0.5, 0.5, 0.5, 0.5, 0.5])
    array([ 0,  0,  1, -1, -1])
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    found = np.full(len(x), -1, dtype=np.int64)
    if len(x) == 0 or len(polygons) == 0:
        return found
    # NaN coordinates make empty points: the tree skips them, so they stay unplaced.
    tree = shapely.STRtree(shapely.points(x, y))
    polygon, point = tree.query(polygons, predicate="covers")
    if len(point):
        best = np.full(len(x), len(polygons), dtype=np.int64)
        np.minimum.at(best, point, polygon)
        hit = best < len(polygons)
        found[hit] = best[hit]
    return found


def _codes_where(condition: np.ndarray, codes: pd.Series) -> np.ndarray:
    """``codes`` where ``condition`` holds, else None (an object array)."""
    return np.asarray(np.where(condition, codes, None), dtype=object)


@dataclass(frozen=True)
class GroupIndex:
    """A generation's units held in the process, to attribute many points without a join.

    ``ids`` and the county, township, village and group codes describe every unit of the
    generation, ordered by id; ``group_pos`` are the positions of the villager groups, whose
    polygons are ``polygons`` (same order, so the lowest position is the lowest id).
    """

    generation_id: int
    ids: np.ndarray
    counties: np.ndarray
    townships: np.ndarray
    villages: np.ndarray
    groups: np.ndarray
    position_by_code: dict[str, int]
    group_pos: np.ndarray
    polygons: np.ndarray

    @classmethod
    def from_units(cls, units: pd.DataFrame, *, generation_id: int) -> GroupIndex:
        """Build the index from :func:`models.staging.attribution_units`' frame
        (``id, level, code, county_code, wkb``; ``wkb`` only for groups)."""
        units = units.sort_values("id", kind="stable").reset_index(drop=True)
        is_group = (units["level"] == "group").to_numpy() & units["wkb"].notna().to_numpy()
        group_pos = np.flatnonzero(is_group)
        polygons = shapely.from_wkb(units["wkb"].to_numpy(object)[group_pos])
        code = units["code"].astype(str)
        level = units["level"].to_numpy(object)
        return cls(
            generation_id=generation_id,
            ids=units["id"].to_numpy(np.int64),
            counties=units["county_code"].to_numpy(object),
            townships=_codes_where(
                np.isin(level, ("township", "village", "group")), code.str[:9] + "000"
            ),
            villages=_codes_where(np.isin(level, ("village", "group")), code.str[:12]),
            groups=_codes_where(level == "group", code),
            position_by_code=dict(zip(code.tolist(), range(len(units)), strict=True)),
            group_pos=group_pos,
            polygons=np.asarray(polygons, dtype=object),
        )

    def groups_at(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Position (into the unit arrays) of the lowest-id group covering each point, or -1."""
        first = lowest_covering(self.polygons, lon, lat)
        return np.where(first >= 0, self.group_pos[np.maximum(first, 0)], -1)

    def attribute(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, fixed_code: npt.ArrayLike | pd.Series
    ) -> pd.DataFrame:
        """Each row's unit: geocoded rows keep the unit of their code, others the group at the point.

        Returns
        -------
        pandas.DataFrame
            ``unit_id`` (nullable: missing where the row lies outside every group or its code
            is not in the generation), ``county_code, township_code, village_code,
            group_code``, one row per input row.
        """
        fixed = pd.Series(np.asarray(fixed_code, dtype=object))
        geocoded = fixed.notna().to_numpy()
        pos = np.full(len(fixed), -1, dtype=np.int64)
        if geocoded.any():
            looked_up = fixed[geocoded].map(self.position_by_code).fillna(-1)
            pos[geocoded] = looked_up.to_numpy(np.int64)
        by_point = ~geocoded
        pos[by_point] = self.groups_at(np.asarray(lon)[by_point], np.asarray(lat)[by_point])
        placed = pos >= 0
        where = pos[placed]
        n = len(pos)

        def spread(values: np.ndarray) -> pd.Series:
            column = np.full(n, None, dtype=object)
            column[placed] = values[where]
            # Object, not pandas' string type: inferring it costs a third of the attribution.
            return pd.Series(column, dtype=object)

        unit_id = np.zeros(n, dtype=np.int64)
        unit_id[placed] = self.ids[where]
        return pd.DataFrame(
            {
                "unit_id": pd.arrays.IntegerArray(unit_id, ~placed),
                "county_code": spread(self.counties),
                "township_code": spread(self.townships),
                "village_code": spread(self.villages),
                "group_code": spread(self.groups),
            }
        )

"""Attribute points to villager groups in the process: a grid, inner discs and an even-odd test.

PostGIS's set-based join (``models.activity.reattribute``) and shapely's STRtree both took
2.5-6x as long as ``geopandas.sjoin`` on a million visits and the 47,224 groups; imports place
points here instead.  Wherever a point lies within ``_EDGE_TOL`` of an edge the answer is GEOS's
own ``intersects``, so borders follow GEOS's rules exactly (the lowest unit id wins a shared
border); the tests compare every answer with GEOS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

# Point-group pairs tested per pass: bounds the edge arrays (about 14 edges a group) in memory.
_PAIR_CHUNK = 100_000
# Degrees (~0.1 mm): a point this close to an edge is tested by GEOS, border rules and all.
_EDGE_TOL = 1e-9
_SLABS = 8
_CELLS = 4


# ---------------------------------------------------------------------------- attribution
@dataclass(frozen=True)
class GroupIndex:
    """The active generation's units, held in the process to attribute points without a join.

    ``ids`` and the county, township, village and group codes describe every unit of the
    generation, by id.  The villager groups (positions ``group_pos``) carry their polygons, a
    grid over their bounding boxes, a disc around each centroid that lies inside it, and their
    ring edges cut into horizontal slabs for a vectorised even-odd point-in-polygon test.  The
    answer is GEOS's ``intersects`` (boundary included; a point within ``_EDGE_TOL`` of an edge
    is handed to GEOS itself), the lowest id winning a shared border.
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
    bounds: dict[str, np.ndarray]
    disc: dict[str, np.ndarray]  # centre x, y and squared radius (0 where no disc fits)
    origin: tuple[float, float]
    cell: float
    shape: tuple[int, int]
    cell_start: np.ndarray
    cell_groups: np.ndarray
    edges: dict[str, np.ndarray]  # every ring edge
    slab_base: np.ndarray
    slab_scale: np.ndarray
    slab_start: np.ndarray
    slab_edges: np.ndarray

    @classmethod
    def from_units(cls, units: pd.DataFrame, *, generation_id: int) -> GroupIndex:
        """Build the index from :func:`models.activity.attribution_units`' frame."""
        units = units.sort_values("id", kind="stable").reset_index(drop=True)
        is_group = (units["level"] == "group").to_numpy() & units["wkb"].notna().to_numpy()
        group_pos = np.flatnonzero(is_group)
        polygons = shapely.from_wkb(units["wkb"].to_numpy(object)[group_pos])
        shapely.prepare(polygons)
        bounds = shapely.bounds(polygons).reshape(-1, 4)
        centre = shapely.centroid(polygons)
        # A disc around the centroid that stays off the boundary holds only that group's
        # points: those are settled by a distance check alone (no two groups overlap).
        radius = shapely.distance(centre, shapely.boundary(polygons))
        radius = np.where(shapely.intersects(polygons, centre) & np.isfinite(radius), radius, 0)
        disc = {
            "x": np.nan_to_num(shapely.get_x(centre)),
            "y": np.nan_to_num(shapely.get_y(centre)),
            # Kept ``_EDGE_TOL`` off the boundary: a vertex nearest the centroid is a border.
            "r2": np.maximum(radius - _EDGE_TOL, 0) ** 2,
        }
        parts, part_owner = shapely.get_parts(polygons, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_owner = part_owner[ring_part]
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        same_ring = coord_ring[1:] == coord_ring[:-1]
        a, b = coords[:-1][same_ring], coords[1:][same_ring]
        # One array per quantity: the test gathers them by edge number, 16 million at a time.
        edges = {
            "x1": a[:, 0],
            "y1": a[:, 1],
            "y2": b[:, 1],
            "dx": b[:, 0] - a[:, 0],
            "xlo": np.minimum(a[:, 0], b[:, 0]) - _EDGE_TOL,
            "xhi": np.maximum(a[:, 0], b[:, 0]) + _EDGE_TOL,
            "ylo": np.minimum(a[:, 1], b[:, 1]) - _EDGE_TOL,
            "yhi": np.maximum(a[:, 1], b[:, 1]) + _EDGE_TOL,
            "tol": _EDGE_TOL * (np.abs(b[:, 0] - a[:, 0]) + np.abs(b[:, 1] - a[:, 1])),
        }
        edge_owner = ring_owner[coord_ring[:-1][same_ring]]
        # Each group's height is cut into slabs listing the edges that reach into them: a
        # point is tested against its slab's edges only.
        slab_base = bounds[:, 1]
        slab_scale = _SLABS / np.maximum(bounds[:, 3] - bounds[:, 1], 1e-12)
        low = _slab(edges["ylo"], slab_base[edge_owner], slab_scale[edge_owner])
        high = _slab(edges["yhi"], slab_base[edge_owner], slab_scale[edge_owner])
        edge_no, k = _expand(high - low + 1)
        slab_key = edge_owner[edge_no] * _SLABS + low[edge_no] + k
        order = np.argsort(slab_key, kind="stable")
        slab_start = np.searchsorted(slab_key[order], np.arange(len(polygons) * _SLABS + 1))
        slab_edges = edge_no[order]
        if len(polygons):
            # Cells a fraction of a typical group wide: a point meets few bounding boxes.
            cell = float(np.median(np.maximum(bounds[:, 2] - bounds[:, 0], 1e-9))) / _CELLS
            x0, y0 = float(bounds[:, 0].min()), float(bounds[:, 1].min())
            nx = int((bounds[:, 2].max() - x0) // cell) + 1
            ny = int((bounds[:, 3].max() - y0) // cell) + 1
        else:
            cell, x0, y0, nx, ny = 1.0, 0.0, 0.0, 1, 1
        ix0 = ((bounds[:, 0] - x0) // cell).astype(np.int64)
        ix1 = ((bounds[:, 2] - x0) // cell).astype(np.int64)
        iy0 = ((bounds[:, 1] - y0) // cell).astype(np.int64)
        iy1 = ((bounds[:, 3] - y0) // cell).astype(np.int64)
        wide = ix1 - ix0 + 1
        owner, k = _expand(wide * (iy1 - iy0 + 1))
        cells = (iy0[owner] + k // wide[owner]) * nx + ix0[owner] + k % wide[owner]
        order = np.lexsort((owner, cells))
        cell_start = np.searchsorted(cells[order], np.arange(nx * ny + 1))
        code = units["code"].astype(str)
        level = units["level"].to_numpy(object)
        return cls(
            generation_id=generation_id,
            ids=units["id"].to_numpy(np.int64),
            counties=units["county_code"].to_numpy(object),
            townships=np.where(
                np.isin(level, ("township", "village", "group")), code.str[:9] + "000", None
            ),
            villages=np.where(np.isin(level, ("village", "group")), code.str[:12], None),
            groups=np.where(level == "group", code, None),
            position_by_code=dict(zip(code.tolist(), range(len(units)), strict=True)),
            group_pos=group_pos,
            polygons=polygons,
            bounds=dict(zip(("xmin", "ymin", "xmax", "ymax"), bounds.T, strict=True)),
            disc=disc,
            origin=(x0, y0),
            cell=cell,
            shape=(nx, ny),
            cell_start=cell_start,
            cell_groups=owner[order],
            edges=edges,
            slab_base=slab_base,
            slab_scale=slab_scale,
            slab_start=slab_start,
            slab_edges=slab_edges,
        )

    def groups_at(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Position (into the unit arrays) of the group holding each point, -1 outside all.

        A point on a border between groups goes to the one with the lowest id.
        """
        x = np.asarray(lon, dtype=float)
        y = np.asarray(lat, dtype=float)
        nx, ny = self.shape
        with np.errstate(invalid="ignore"):
            cx = np.floor((x - self.origin[0]) / self.cell)
            cy = np.floor((y - self.origin[1]) / self.cell)
        ok = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
        point = np.flatnonzero(ok)
        cell = cy[ok].astype(np.int64) * nx + cx[ok].astype(np.int64)
        start = self.cell_start[cell]
        which, k = _expand(self.cell_start[cell + 1] - start)
        pair_point = point[which]
        group = self.cell_groups[start[which] + k]
        del which, k
        px, py = x[pair_point], y[pair_point]
        d = self.disc
        settled = (px - d["x"][group]) ** 2 + (py - d["y"][group]) ** 2 < d["r2"][group]
        none = len(self.polygons)
        best = np.full(len(x), none, dtype=np.int64)
        best[pair_point[settled]] = group[settled]
        b = self.bounds
        rest = np.flatnonzero(
            (best[pair_point] == none)
            & (px >= b["xmin"][group])
            & (px <= b["xmax"][group])
            & (py >= b["ymin"][group])
            & (py <= b["ymax"][group])
        )
        pair_point, group, px, py = pair_point[rest], group[rest], px[rest], py[rest]
        for lo in range(0, len(group), _PAIR_CHUNK):
            part = slice(lo, lo + _PAIR_CHUNK)
            hit = self._contains(group[part], px[part], py[part])
            # Groups are ordered by id: the smallest position is the lowest id.
            np.minimum.at(best, pair_point[part][hit], group[part][hit])
        found = np.full(len(x), -1, dtype=np.int64)
        placed = best < none
        found[placed] = self.group_pos[best[placed]]
        return found

    def _contains(self, group: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Whether each group holds its point, its boundary included (as ``intersects``).

        Even-odd ray crossing over the ring edges whose height spans the point; a point within
        ``_EDGE_TOL`` of an edge (on a border, or too close for floating point) is left to
        GEOS.
        """
        e = self.edges
        key = group * _SLABS + _slab(py, self.slab_base[group], self.slab_scale[group])
        start = self.slab_start[key]
        pair, k = _expand(self.slab_start[key + 1] - start)
        edge = self.slab_edges[start[pair] + k]
        y = py[pair]
        keep = np.flatnonzero((y >= e["ylo"][edge]) & (y <= e["yhi"][edge]))
        edge, pair, y = edge[keep], pair[keep], y[keep]
        x = px[pair]
        x1, y1, y2 = e["x1"][edge], e["y1"][edge], e["y2"][edge]
        dx, dy = e["dx"][edge], y2 - y1
        with np.errstate(divide="ignore", invalid="ignore"):
            crosses = ((y1 > y) != (y2 > y)) & (x < x1 + (y - y1) * (dx / dy))
        close = (
            (np.abs(dx * (y - y1) - dy * (x - x1)) <= e["tol"][edge])
            & (x >= e["xlo"][edge])
            & (x <= e["xhi"][edge])
        )
        n = len(group)
        inside = np.bincount(pair[crosses], minlength=n) % 2 == 1
        unsure = np.bincount(pair[close], minlength=n) > 0
        if unsure.any():
            inside[unsure] = shapely.intersects_xy(
                self.polygons[group[unsure]], px[unsure], py[unsure]
            )
        return inside

    def attribute(
        self, lon: np.ndarray, lat: np.ndarray, fixed_code: np.ndarray | pd.Series
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


def _slab(y: np.ndarray, base: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Slab number of heights ``y`` in groups starting at ``base``: the same sum for edges and
    points, so an edge spanning a point's height is always listed in the point's slab."""
    return np.clip(np.floor((y - base) * scale), 0, _SLABS - 1).astype(np.int64)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``counts`` [2, 3]: owners [0, 0, 1, 1, 1] and ranks [0, 1, 0, 1, 2]."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, rank

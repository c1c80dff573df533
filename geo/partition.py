"""Split polygons into a given number of non-overlapping, gap-free pieces (clipped Voronoi cells).

The demo network needs townships that tile their county, villages that tile their township and
villager groups that tile their village.  Everything here is vectorised over many parents at
once: seeds for all parents are drawn in a few numpy/shapely passes, one
``shapely.voronoi_polygons`` call handles every parent, and one ``shapely.intersection`` clips
the cells.  Coordinates are whatever the input polygons use; use a metric CRS so that density
spreads and areas mean something.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

__all__ = [
    "Density",
    "as_multipolygons",
    "partition_polygon",
    "partition_polygons",
    "peaked_density",
    "sample_seeds",
    "voronoi_partition",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
GeomArray = npt.NDArray[np.object_]

#: A density gives a non-negative relative weight for candidate points ``(x, y)`` that fall
#: in parent number ``index``; seeds are then drawn with probability proportional to it.
Density = Callable[[FloatArray, FloatArray, IntArray], FloatArray]


def peaked_density(
    centres: npt.ArrayLike, spreads: npt.ArrayLike, *, peak: float | npt.ArrayLike
) -> Density:
    """Density that is 1 far away and ``1 + peak`` at each parent's centre (Gaussian bump).

    Parameters
    ----------
    centres
        ``(n_parents, 2)`` array, the point each parent's seeds crowd around (a county or
        township seat).
    spreads
        ``(n_parents,)`` standard deviation of the bump, in CRS units.
    peak
        Height of the bump over the uniform background, scalar or per parent; ``peak=0``
        is uniform.

    Returns
    -------
    Density
        Function of ``(x, y, index)`` usable by :func:`sample_seeds`.
    """
    centres_arr = np.asarray(centres, dtype=float).reshape(-1, 2)
    spreads_arr = np.broadcast_to(np.asarray(spreads, dtype=float), len(centres_arr))
    peak_arr = np.broadcast_to(np.asarray(peak, dtype=float), len(centres_arr))

    def density(x: FloatArray, y: FloatArray, index: IntArray) -> FloatArray:
        dx = x - centres_arr[index, 0]
        dy = y - centres_arr[index, 1]
        d2 = (dx * dx + dy * dy) / (spreads_arr[index] ** 2)
        value: FloatArray = 1.0 + peak_arr[index] * np.exp(-0.5 * d2)
        return value

    return density


def _as_geometry_array(polygons: Sequence[BaseGeometry] | GeomArray) -> GeomArray:
    arr = np.asarray(polygons, dtype=object)
    if arr.ndim != 1:
        msg = "polygons must be a one-dimensional sequence of geometries"
        raise ValueError(msg)
    bad = ~shapely.is_valid(arr) | (shapely.area(arr) <= 0)
    if bad.any():
        msg = f"parent polygons must be valid with positive area; {int(bad.sum())} are not"
        raise ValueError(msg)
    return arr


def sample_seeds(
    polygons: Sequence[BaseGeometry] | GeomArray,
    counts: npt.ArrayLike,
    *,
    rng: np.random.Generator,
    density: Density | None = None,
    oversample: int = 6,
) -> tuple[FloatArray, IntArray]:
    """Draw ``counts[i]`` distinct points strictly inside each ``polygons[i]``.

    Candidates are drawn uniformly in each bounding box and kept if inside (rejection);
    ``oversample`` candidates per wanted seed are then thinned to the wanted number by
    weighted sampling without replacement (weights from ``density``).

    Parameters
    ----------
    polygons
        Parent (Multi)Polygons.
    counts
        Number of seeds wanted per parent (non-negative integers).
    rng
        Random generator; the result is a pure function of its state.
    density
        Optional relative density; uniform when ``None``.
    oversample
        Candidates drawn per seed; more makes the density followed more closely.

    Returns
    -------
    seeds : ndarray
        ``(sum(counts), 2)`` coordinates, grouped by parent in parent order.
    index : ndarray
        Parent number of each seed.
    """
    geoms = _as_geometry_array(polygons)
    want = np.asarray(counts, dtype=np.intp)
    if want.shape != geoms.shape or (want < 0).any():
        msg = "counts must be non-negative and have one entry per polygon"
        raise ValueError(msg)
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)
    fill = shapely.area(geoms) / np.maximum(
        (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]), 1e-300
    )
    target = want * max(oversample, 1)
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    idx: list[IntArray] = []
    have = np.zeros(len(geoms), dtype=np.intp)
    # Rejection rounds: each draws enough for the expected hit rate; thin shapes may need more.
    for _ in range(50):
        missing = np.where(have < target, target - have, 0)
        if not missing.any():
            break
        draw = np.ceil(missing / np.maximum(fill, 0.01) * 1.2).astype(np.intp) + (missing > 0)
        parent = np.repeat(np.arange(len(geoms)), draw)
        lo = bounds[parent]
        x = lo[:, 0] + rng.random(len(parent)) * (lo[:, 2] - lo[:, 0])
        y = lo[:, 1] + rng.random(len(parent)) * (lo[:, 3] - lo[:, 1])
        inside = shapely.contains_xy(geoms[parent], x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        idx.append(parent[inside])
        have += np.bincount(parent[inside], minlength=len(geoms))
    else:
        msg = "could not place seeds inside some polygons (degenerate shapes?)"
        raise ValueError(msg)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    parent = np.concatenate(idx)
    weight = np.ones(len(x)) if density is None else np.asarray(density(x, y, parent), float)
    if (weight <= 0).any() or not np.isfinite(weight).all():
        msg = "density must be positive and finite inside the polygons"
        raise ValueError(msg)
    # Efraimidis-Spirakis: the k largest u**(1/w) keys form a weighted sample without replacement.
    key = np.log(rng.random(len(x))) / weight
    order = np.lexsort((-key, parent))
    parent_sorted = parent[order]
    first = np.searchsorted(parent_sorted, np.arange(len(geoms)))
    rank = np.arange(len(order)) - first[parent_sorted]
    keep = order[rank < want[parent_sorted]]
    keep = keep[np.lexsort((np.arange(len(keep)), parent[keep]))]
    seeds = np.column_stack([x[keep], y[keep]])
    return seeds, parent[keep]


def as_multipolygons(geoms: Sequence[BaseGeometry | None] | GeomArray) -> GeomArray:
    """Keep only the polygonal parts of each geometry and return them as MultiPolygons.

    Clipping can leave lines or points where cells touch the parent's boundary; those carry
    no area.  Empty inputs give empty MultiPolygons.
    """
    arr = np.asarray(geoms, dtype=object)
    parts, index = shapely.get_parts(arr, return_index=True)
    # Nested collections (a GeometryCollection holding a MultiPolygon) need a second pass.
    nested = shapely.get_type_id(parts) >= 4
    while nested.any():
        sub, sub_idx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        index = np.concatenate([index[~nested], index[nested][sub_idx]])
        nested = shapely.get_type_id(parts) >= 4
    polygonal = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    parts = parts[polygonal]
    index = index[polygonal]
    order = np.argsort(index, kind="stable")
    result = np.empty(len(arr), dtype=object)
    result[:] = [MultiPolygon()] * len(arr)
    if len(parts):
        shapely.multipolygons(parts[order], indices=index[order], out=result)
    return result


def voronoi_partition(
    polygons: Sequence[BaseGeometry] | GeomArray,
    seeds: FloatArray,
    index: IntArray,
    *,
    merge_fragments: bool = True,
) -> GeomArray:
    """Clip the Voronoi cells of each parent's seeds to that parent.

    Parameters
    ----------
    polygons
        Parent (Multi)Polygons.
    seeds
        ``(n, 2)`` seed coordinates, grouped by parent (as :func:`sample_seeds` returns them);
        every seed must lie inside its parent and seeds of one parent must be distinct.
    index
        Parent number of each seed.
    merge_fragments
        Give the detached pieces a cell gets where a non-convex parent cuts it (the parts
        not holding its seed) to the sibling they share the longest border with.  The
        cells still tile the parent; far fewer are multi-part.

    Returns
    -------
    ndarray
        One MultiPolygon per seed, in seed order; the cells of one parent tile it.
    """
    geoms = _as_geometry_array(polygons)
    index = np.asarray(index, dtype=np.intp)
    if len(index) and (np.diff(index) < 0).any():
        msg = "seeds must be grouped by parent in parent order"
        raise ValueError(msg)
    keyed = np.column_stack([index.astype(float), seeds])
    if len(np.unique(keyed, axis=0)) != len(keyed):
        msg = "seeds of one parent must be distinct"
        raise ValueError(msg)
    counts = np.bincount(index, minlength=len(geoms))
    cells = np.empty(len(index), dtype=object)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    single = np.flatnonzero(counts == 1)
    cells[start[single]] = geoms[single]
    multi = np.flatnonzero(counts > 1)
    if len(multi):
        in_multi = np.isin(index, multi)
        compact = np.searchsorted(multi, index[in_multi])
        points = shapely.multipoints(seeds[in_multi], indices=compact)
        diagrams = shapely.voronoi_polygons(points, extend_to=geoms[multi], ordered=True)
        raw, raw_idx = shapely.get_parts(diagrams, return_index=True)
        if len(raw) != in_multi.sum():
            msg = "Voronoi diagram lost cells: seeds of a parent must be distinct"
            raise ValueError(msg)
        parent_of_cell = multi[raw_idx]
        cells[in_multi] = shapely.intersection(raw, geoms[parent_of_cell])
    out = as_multipolygons(cells)
    if merge_fragments:
        out = _merge_fragments(out, seeds, index)
    if (shapely.area(out) <= 0).any():
        msg = "a cell came out empty (seed outside its parent?)"
        raise ValueError(msg)
    return out


def _merge_fragments(cells: GeomArray, seeds: FloatArray, index: IntArray) -> GeomArray:
    parts, owner = shapely.get_parts(cells, return_index=True)
    if len(parts) == len(cells):
        return cells
    main = shapely.contains_xy(parts, seeds[owner, 0], seeds[owner, 1])
    # A seed on a part's edge is in no part: keep that cell's largest part instead.
    orphan = np.flatnonzero(np.bincount(owner, weights=main, minlength=len(cells)) == 0)
    if len(orphan):
        area = shapely.area(parts)
        for c in orphan:
            mine = np.flatnonzero(owner == c)
            main[mine[np.argmax(area[mine])]] = True
    frag = np.flatnonzero(~main)
    if not len(frag):
        return cells
    fi, ci = shapely.STRtree(cells).query(parts[frag], predicate="intersects")
    own = owner[frag[fi]]
    same_parent = (ci != own) & (index[ci] == index[own])
    fi, ci = fi[same_parent], ci[same_parent]
    shared = shapely.length(shapely.intersection(shapely.boundary(parts[frag[fi]]), cells[ci]))
    order = np.lexsort((-shared, fi))
    fi, ci, shared = fi[order], ci[order], shared[order]
    best = np.flatnonzero(np.r_[True, fi[1:] != fi[:-1]])
    best = best[shared[best] > 0]
    target = owner.copy()
    target[frag[fi[best]]] = ci[best]
    changed = target != owner
    if not changed.any():
        return cells
    affected = np.unique(np.concatenate([owner[changed], target[changed]]))
    out = cells.copy()
    by_target = np.argsort(target, kind="stable")
    bounds = np.searchsorted(target[by_target], affected, side="left")
    ends = np.searchsorted(target[by_target], affected, side="right")
    for c, lo, hi in zip(affected, bounds, ends, strict=True):
        out[c] = shapely.union_all(parts[by_target[lo:hi]])
    return as_multipolygons(out)


def partition_polygons(
    polygons: Sequence[BaseGeometry] | GeomArray,
    counts: npt.ArrayLike,
    *,
    rng: np.random.Generator,
    density: Density | None = None,
) -> tuple[GeomArray, FloatArray, IntArray]:
    """Split every ``polygons[i]`` into ``counts[i]`` pieces at once.

    Returns
    -------
    cells : ndarray
        MultiPolygons grouped by parent in parent order.
    seeds : ndarray
        ``(n, 2)`` the seed of each cell (inside it).
    index : ndarray
        Parent number of each cell.
    """
    seeds, index = sample_seeds(polygons, counts, rng=rng, density=density)
    return voronoi_partition(polygons, seeds, index), seeds, index


def partition_polygon(
    polygon: Polygon | MultiPolygon,
    n: int,
    *,
    rng: np.random.Generator,
    density: Density | None = None,
) -> list[MultiPolygon]:
    """Split one polygon into ``n`` non-overlapping pieces whose union is the polygon.

    Examples
    --------
    >>> import numpy as np
    >>> from shapely.geometry import box
    >>> pieces = partition_polygon(box(0, 0, 2, 1), 3, rng=np.random.default_rng(1))
    >>> len(pieces), round(sum(p.area for p in pieces), 9)
    (3, 2.0)
    """
    if n < 1:
        msg = f"n must be at least 1, got {n}"
        raise ValueError(msg)
    cells, _, _ = partition_polygons([polygon], [n], rng=rng, density=density)
    return list(cells)

"""Road graphs and distances along roads: nearest station by road, in metres and in minutes.

Lines (a GeoDataFrame in a metric CRS, one road class per line) become an undirected graph:
every vertex is a node (vertices within ``snap_m`` are one node), every segment an edge
weighted by its length and by its travel time at the class's speed.  Distances are then one
multi-source Dijkstra from all stations at once (scipy.sparse.csgraph, ``min_only``): each
node gets its nearest station, so all groups of a city cost one graph search, not one per
group.  Why scipy's csgraph and not pgRouting or pandana is measured in
``bench/roads_bench.py`` (csgraph vs networkx on the same graph; see the planners' note).

Pure: frames and arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

__all__ = [
    "DEFAULT_SPEEDS_KMH",
    "RoadGraph",
    "components",
    "matrix_along_roads",
    "nearest_along_roads",
    "pairs_along_roads",
    "road_graph",
]

#: km/h by road class (national classes and OSM ``highway`` values); the user may override.
DEFAULT_SPEEDS_KMH: dict[str, float] = {
    "motorway": 90.0,
    "trunk": 60.0,
    "primary": 50.0,
    "secondary": 40.0,
    "tertiary": 30.0,
    "county": 30.0,  # 县道
    "township": 25.0,  # 乡道
    "village": 20.0,  # 村道
    "unclassified": 20.0,
    "residential": 20.0,
    "track": 10.0,
    "path": 4.0,
}
#: the last stretch from a group's point to the road, at walking speed
OFF_ROAD_KMH = 4.0


@dataclass(frozen=True)
class RoadGraph:
    """Nodes (metric coordinates) and two symmetric weight matrices: metres and minutes."""

    xy: npt.NDArray[np.float64]
    metres: sparse.csr_matrix
    minutes: sparse.csr_matrix
    edge_line: npt.NDArray[np.intp]  # for each edge (upper triangle order), its source line


def road_graph(
    lines: gpd.GeoDataFrame,
    *,
    class_column: str = "class",
    speeds: Mapping[str, float] | None = None,
    snap_m: float = 1.0,
) -> RoadGraph:
    """The graph of ``lines`` (metric CRS), segments weighted by length and travel time.

    Raises
    ------
    ValueError
        The CRS is not metric, there are no line features, or a class has no speed.
    """
    if lines.crs is None or not lines.crs.is_projected:
        msg = f"roads must be in a metric coordinate system, got {lines.crs}"
        raise ValueError(msg)
    speed_of = dict(DEFAULT_SPEEDS_KMH, **(speeds or {}))
    parts = lines.explode(index_parts=False)
    parts = parts[parts.geom_type == "LineString"]
    if parts.empty:
        msg = "no line features"
        raise ValueError(msg)
    classes = parts[class_column].astype(str).to_numpy()
    unknown = sorted(set(classes) - set(speed_of))
    if unknown:
        msg = f"no speed for road class(es) {', '.join(unknown)}: give them in the speed table"
        raise ValueError(msg)
    coords, line_of = shapely.get_coordinates(parts.geometry.to_numpy(), return_index=True)
    key = np.round(coords / snap_m).astype(np.int64)
    nodes, node_of = np.unique(key, axis=0, return_inverse=True)
    node_of = node_of.ravel()
    same = line_of[1:] == line_of[:-1]
    u, v = node_of[:-1][same], node_of[1:][same]
    seg_line = line_of[:-1][same]
    length = np.hypot(*(coords[1:][same] - coords[:-1][same]).T)
    keep = u != v
    u, v, length, seg_line = u[keep], v[keep], length[keep], seg_line[keep]
    kmh = np.array([speed_of[c] for c in classes])[seg_line]
    minutes = length / (kmh * 1000.0 / 60.0)
    xy = nodes * snap_m
    n = len(nodes)
    return RoadGraph(
        xy=xy.astype(np.float64),
        metres=_symmetric(u, v, length, n),
        minutes=_symmetric(u, v, minutes, n),
        edge_line=parts.index.to_numpy()[seg_line],
    )


def _symmetric(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sparse.csr_matrix:
    # Parallel segments between the same nodes keep the shortest (csgraph would add them).
    frame = pd.DataFrame({"a": np.minimum(u, v), "b": np.maximum(u, v), "w": w})
    best = frame.groupby(["a", "b"], sort=False)["w"].min().reset_index()
    a, b, ww = best["a"].to_numpy(), best["b"].to_numpy(), best["w"].to_numpy()
    return sparse.csr_matrix((np.r_[ww, ww], (np.r_[a, b], np.r_[b, a])), shape=(n, n))


def components(graph: RoadGraph) -> npt.NDArray[np.intp]:
    """Connected component label of each node."""
    _, labels = csgraph.connected_components(graph.metres, directed=False)
    return np.asarray(labels, dtype=np.intp)


def nearest_along_roads(
    graph: RoadGraph,
    sources_xy: npt.ArrayLike,
    targets_xy: npt.ArrayLike,
) -> pd.DataFrame:
    """For each target, the nearest source along roads: metres, minutes and which source.

    Each point joins the graph at its nearest node; the straight stretch to it counts in the
    metres and at walking speed in the minutes.  Targets on a part of the network that no
    source reaches get NaN.
    """
    src = np.asarray(sources_xy, dtype=np.float64).reshape(-1, 2)
    tgt = np.asarray(targets_xy, dtype=np.float64).reshape(-1, 2)
    tree = cKDTree(graph.xy)
    s_gap, s_node = tree.query(src)
    t_gap, t_node = tree.query(tgt)
    out = {}
    for name, weights, access in (
        ("metres", graph.metres, s_gap),
        ("minutes", graph.minutes, s_gap / (OFF_ROAD_KMH * 1000.0 / 60.0)),
    ):
        # A source's own access stretch is added by a virtual node joined to its road node.
        dist, _pred, which = _multi_source(weights, s_node, access)
        tail = t_gap if name == "metres" else t_gap / (OFF_ROAD_KMH * 1000.0 / 60.0)
        out[name] = dist[t_node] + tail
        out[f"{name}_source"] = which[t_node]
    frame = pd.DataFrame(
        {
            "road_m": out["metres"],
            "road_minutes": out["minutes"],
            "nearest_by_distance": out["metres_source"],
            "nearest_by_time": out["minutes_source"],
        }
    )
    return frame.replace([np.inf], np.nan)


def matrix_along_roads(
    graph: RoadGraph, points_xy: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Metres and minutes between every pair of points along roads (for route planning).

    Each point joins the graph's largest connected part at its nearest node there, so every
    pair is connected; the straight stretch to the road counts at both ends, in the metres
    and at walking speed in the minutes.  Metres follow the shortest path, minutes the
    fastest (as a car's router reports them).  One Dijkstra per distinct road node.

    Returns
    -------
    tuple of numpy.ndarray
        Two ``(n, n)`` symmetric matrices with a zero diagonal: metres, minutes.
    """
    pts = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    labels = components(graph)
    part = np.nonzero(labels == np.bincount(labels).argmax())[0]
    gap, near = cKDTree(graph.xy[part]).query(pts)
    nodes, at = np.unique(part[near], return_inverse=True)
    out = []
    for weights, access in (
        (graph.metres, gap),
        (graph.minutes, gap / (OFF_ROAD_KMH * 1000.0 / 60.0)),
    ):
        along = csgraph.dijkstra(weights, directed=False, indices=nodes)[:, nodes]
        full = along[np.ix_(at.ravel(), at.ravel())] + access[:, None] + access[None, :]
        np.fill_diagonal(full, 0.0)
        out.append(full)
    return out[0], out[1]


def _multi_source(
    weights: sparse.csr_matrix, nodes: np.ndarray, access: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dijkstra from all sources at once; each source joins through its own access edge."""
    n, k = weights.shape[0], len(nodes)
    # one virtual node per source, linked to its road node by its access distance
    virt = np.arange(n, n + k)
    eps = np.maximum(access, 1e-9)  # csgraph drops explicit zeros
    links = sparse.csr_matrix(
        (np.r_[eps, eps], (np.r_[virt, nodes], np.r_[nodes, virt])), shape=(n + k, n + k)
    )
    full = sparse.bmat([[weights, None], [None, sparse.csr_matrix((k, k))]]).tocsr() + links
    dist, pred, which = csgraph.dijkstra(
        full, directed=False, indices=virt, min_only=True, return_predecessors=True
    )
    return dist[:n], pred[:n], np.where(which[:n] >= n, which[:n] - n, -1)


def pairs_along_roads(
    graph: RoadGraph,
    sources_xy: npt.ArrayLike,
    targets_xy: npt.ArrayLike,
    source_of_target: npt.ArrayLike,
    *,
    nearest: pd.DataFrame | None = None,
    chunk: int = 128,
) -> pd.DataFrame:
    """For each target, metres and minutes along roads to one given source (its own station).

    ``source_of_target[i]`` is the index of target ``i``'s source, or -1 for none (NaN).  Each
    point joins the graph at its nearest node, the straight stretch counting as in
    :func:`nearest_along_roads`.  Exact: Dijkstra runs from each needed source, in chunks, first
    bounded by a generous multiple of the longest straight distance it must reach; a pair the
    bound cuts off is searched again without one.

    ``nearest`` (the answer of :func:`nearest_along_roads` for the same points) spares the
    search wherever a target's own source is also its nearest one, as it mostly is.
    """
    src = np.asarray(sources_xy, dtype=np.float64).reshape(-1, 2)
    tgt = np.asarray(targets_xy, dtype=np.float64).reshape(-1, 2)
    own = np.asarray(source_of_target, dtype=np.intp).ravel()
    tree = cKDTree(graph.xy)
    s_gap, s_node = tree.query(src) if len(src) else (np.zeros(0), np.zeros(0, np.intp))
    t_gap, t_node = tree.query(tgt)
    walk = OFF_ROAD_KMH * 1000.0 / 60.0
    metres = np.full(len(tgt), np.nan)
    minutes = np.full(len(tgt), np.nan)
    # (weights, answer, nearest's columns, off-road speed, search bound per metre)
    typical = _speed(graph, np.median)
    passes = (
        (graph.metres, metres, ("road_m", "nearest_by_distance"), 1.0, 1.0),
        (
            graph.minutes,
            minutes,
            ("road_minutes", "nearest_by_time"),
            walk,
            1 / typical,
        ),
    )
    for weights, out, (value, which), per_min, per_m in passes:
        has = own >= 0
        if nearest is not None:
            same = has & (nearest[which].to_numpy() == own)
            out[same] = nearest[value].to_numpy()[same]
            has &= ~same
        todo = np.flatnonzero(has)
        if not len(todo):
            continue
        # The first bound: 4x the straight line plus 3 km of detour (at the typical speed, for
        # minutes).  It only saves work: what it cuts off is searched again without it.
        reach = 4.0 * np.hypot(*(src[own[todo]] - tgt[todo]).T) + 3000.0
        got = _pair_dijkstra(weights, s_node[own[todo]], t_node[todo], reach * per_m, chunk)
        out[todo] = got + (s_gap[own[todo]] + t_gap[todo]) / per_min
    frame = pd.DataFrame({"road_m": metres, "road_minutes": minutes})
    return frame.replace([np.inf], np.nan)


def _speed(graph: RoadGraph, how: Any) -> float:
    """``how`` (e.g. median) of the edges' speeds, in metres per minute."""
    speed = graph.metres.data / np.maximum(graph.minutes.data, 1e-12)
    return float(how(speed)) if len(speed) else 1.0


def _pair_dijkstra(
    weights: sparse.csr_matrix,
    from_node: np.ndarray,
    to_node: np.ndarray,
    bound: np.ndarray,
    chunk: int,
) -> np.ndarray:
    """Graph distance of each (from_node[i], to_node[i]) pair, bounded searches first."""
    out = np.full(len(from_node), np.inf)
    starts, pair_start = np.unique(from_node, return_inverse=True)
    need = np.zeros(len(starts))
    np.maximum.at(need, pair_start, bound)
    # Starts with similar bounds share a chunk, so no chunk searches far for one far pair.
    order = np.argsort(need)
    for limit_all in (True, False):
        todo = order if limit_all else np.unique(pair_start[~np.isfinite(out)])
        for lo in range(0, len(todo), chunk):
            block = todo[lo : lo + chunk]
            limit = float(need[block].max()) if limit_all else np.inf
            dist = csgraph.dijkstra(weights, directed=False, indices=starts[block], limit=limit)
            row = np.full(len(starts), -1)
            row[block] = np.arange(len(block))
            mine = np.flatnonzero(row[pair_start] >= 0)
            out[mine] = dist[row[pair_start[mine]], to_node[mine]]
        if np.isfinite(out).all():
            break
    return out

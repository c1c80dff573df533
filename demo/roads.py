"""A synthetic road network for the demo: plainly labelled, because no public road data is
reachable here.

Township seats are joined to each other along a Delaunay triangulation (county roads, the
longest links dropped), every village seat to its two nearest seats or villages (village
roads), and every link bends: a few sideways offsets along it, wider in the mountain
counties of the south-west, so that a road is 10-40% longer than the straight line, as
roads winding up valleys are.  Every line carries ``source = SYNTHETIC``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import Delaunay, cKDTree

from demo.network import Network
from geo.roads import components, road_graph

__all__ = ["SYNTHETIC", "network_roads", "synthetic_roads"]

SYNTHETIC = "合成示意路网 (synthetic demo roads, not real)"
MOUNTAIN_COUNTIES = ("430527", "430528", "430529", "430525")
_MAX_COUNTY_LINK_M = 25_000.0


def _winding(
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    amp: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> list[shapely.LineString]:
    """Lines from a to b with three sideways bends of up to ``amp`` times the length."""
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])[:, None]
    normal = np.c_[-d[:, 1], d[:, 0]] / np.maximum(length, 1e-9)
    t = np.array([0.25, 0.5, 0.75])
    offsets = rng.uniform(-1, 1, (len(a), 3)) * amp[:, None] * length
    mids = (
        a[:, None, :] + t[None, :, None] * d[:, None, :] + offsets[:, :, None] * normal[:, None, :]
    )
    coords = np.concatenate([a[:, None, :], mids, b[:, None, :]], axis=1)
    return list(shapely.linestrings(coords))


def synthetic_roads(
    seats_xy: npt.ArrayLike,
    seat_counties: npt.ArrayLike,
    villages_xy: npt.ArrayLike,
    village_counties: npt.ArrayLike,
    *,
    seed: int = 2013,
    crs: str = "EPSG:4546",
) -> gpd.GeoDataFrame:
    """Roads joining township seats (``county`` class) and villages (``village`` class)."""
    rng = np.random.default_rng([seed, 17])
    seats = np.asarray(seats_xy, dtype=np.float64)
    vill = np.asarray(villages_xy, dtype=np.float64)
    s_cty = np.asarray(seat_counties).astype(str)
    v_cty = np.asarray(village_counties).astype(str)

    tri = Delaunay(seats)
    edges = np.unique(
        np.sort(
            np.r_[tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]], tri.simplices[:, [0, 2]]],
            axis=1,
        ),
        axis=0,
    )
    long = np.hypot(*(seats[edges[:, 0]] - seats[edges[:, 1]]).T) > _MAX_COUNTY_LINK_M
    edges = edges[~long]
    mountain_s = np.isin(s_cty, MOUNTAIN_COUNTIES)
    amp = np.where(mountain_s[edges[:, 0]] | mountain_s[edges[:, 1]], 0.12, 0.05)
    county = _winding(seats[edges[:, 0]], seats[edges[:, 1]], amp, rng)

    # each village to its two nearest points among seats and other villages
    allpts = np.r_[seats, vill]
    _, idx = cKDTree(allpts).query(vill, k=3)
    own = len(seats) + np.arange(len(vill))
    pairs = np.unique(np.sort(np.c_[np.repeat(own, 2), idx[:, 1:].ravel()], axis=1), axis=0)
    mountain_v = np.isin(v_cty, MOUNTAIN_COUNTIES)
    amp_v = np.where(mountain_v[pairs[:, 1] - len(seats)], 0.2, 0.08)
    village = _winding(allpts[pairs[:, 0]], allpts[pairs[:, 1]], amp_v, rng)
    geoms = county + village
    classes = ["county"] * len(county) + ["village"] * len(village)
    roads = gpd.GeoDataFrame({"class": classes, "source": SYNTHETIC}, geometry=geoms, crs=crs)
    return _connect(roads, rng)


def _connect(roads: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Join every part of the network that hangs on its own to the largest part, by its
    shortest gap: real networks are connected, and an import refuses one that is not."""
    graph = road_graph(roads)
    labels = components(graph)
    sizes = np.bincount(labels)
    main = int(np.argmax(sizes))
    main_xy = graph.xy[labels == main]
    tree = cKDTree(main_xy)
    links = []
    for part in np.flatnonzero(sizes):
        if part == main:
            continue
        pts = graph.xy[labels == part]
        gap, j = tree.query(pts)
        i = int(np.argmin(gap))
        links += _winding(pts[[i]], main_xy[[j[i]]], np.array([0.1]), rng)
    if not links:
        return roads
    n = len(links)
    extra = gpd.GeoDataFrame(
        {"class": ["village"] * n, "source": [SYNTHETIC] * n}, geometry=links, crs=roads.crs
    )
    return pd.concat([roads, extra], ignore_index=True)


def network_roads(network: Network, *, seed: int = 2013) -> gpd.GeoDataFrame:
    """The synthetic roads of a generated network (2013 township seats and villages), EPSG:4546."""
    units = network.units
    v13 = units[(units["generation"] == "2013") & (units["level"] == "village")]
    vpts = gpd.GeoSeries(shapely.point_on_surface(v13.geometry.to_numpy()), crs=4326)
    vxy = shapely.get_coordinates(vpts.to_crs("EPSG:4546").to_numpy())
    teams = network.teams
    seats = gpd.GeoSeries(gpd.points_from_xy(teams["lon"], teams["lat"]), crs=4326)
    sxy = shapely.get_coordinates(seats.to_crs("EPSG:4546").to_numpy())
    return synthetic_roads(
        sxy, teams["county_code"], vxy, v13["county_code"], seed=seed, crs="EPSG:4546"
    )

"""Benchmark distances along roads for all 47,224 groups to their nearest station.

Graph: the demo's synthetic road network (``demo.roads``: township seats and villages of the
active generation joined by winding county and village roads, EPSG:4546).  For every group
(representative point) the nearest of all stations along roads, in metres.  Prints, each on
the same graph and in the same run:

- qungong: ``geo.roads.road_graph`` + ``nearest_along_roads`` (scipy.sparse.csgraph, one
  multi-source Dijkstra, metres and minutes);
- anchor 1: networkx ``multi_source_dijkstra_path_length`` (metres only);
- anchor 2: pgRouting ``pgr_dijkstraNearCost`` in a scratch database (``--pgrouting URL`` of
  an empty database where ``CREATE EXTENSION pgrouting`` may run; skipped without it);
- agreement of the answers (largest difference in metres);
- to each group's OWN station (its village's): qungong ``pairs_along_roads`` (the nearest
  answer where the own station is the nearest, else bounded csgraph Dijkstra from each
  station, in chunks) against networkx ``single_source_dijkstra_path_length``
  from each station, cut off just past the farthest of our answers for it (generous to the
  anchor; a shorter path it found would still show as a difference).

Run: ``DATABASE_URL=<demo> .venv/bin/python bench/roads_bench.py [--pgrouting URL]``
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.roads import synthetic_roads  # noqa: E402
from geo.roads import components, nearest_along_roads, pairs_along_roads, road_graph  # noqa: E402
from models import coverage as db  # noqa: E402
from models.db import database_url, session_factory  # noqa: E402
from models.units import active_generation  # noqa: E402

SEATS = """
SELECT t.county_code, ST_X(p) AS x, ST_Y(p) AS y FROM team t,
       LATERAL ST_Transform(t.home, 4546) AS p ORDER BY t.id
"""


def load(session):
    gen = active_generation(session)
    seats = pd.read_sql(text(SEATS), session.connection())
    villages = db.village_points(session, gen.id)
    groups = db.groups(session, gen.id)
    stations = db.stations(session, gen.id)
    return seats, villages, groups, stations


def run_networkx(graph, st_nodes, st_gap, g_nodes, g_gap):
    t0 = time.perf_counter()
    g = nx.Graph()
    coo = graph.metres.tocoo()
    keep = coo.row < coo.col
    g.add_weighted_edges_from(zip(coo.row[keep], coo.col[keep], coo.data[keep], strict=True))
    # a virtual source per station, joined by its access stretch, as geo.roads does
    n = graph.metres.shape[0]
    for k, (node, gap) in enumerate(zip(st_nodes, st_gap, strict=True)):
        g.add_edge(n + k, int(node), weight=max(float(gap), 1e-9))
    dist = nx.multi_source_dijkstra_path_length(g, set(range(n, n + len(st_nodes))))
    d = np.array([dist.get(int(v), np.inf) for v in g_nodes]) + g_gap
    return time.perf_counter() - t0, d


def own_index(groups: pd.DataFrame, stations: pd.DataFrame) -> np.ndarray:
    """Index of each group's own station (its village's), -1 when the village has none."""
    index = pd.Series(np.arange(len(stations)), index=stations["station_code"].astype(str))
    index = index[~index.index.duplicated()]
    return index.reindex(groups["village_code"].astype(str)).fillna(-1).to_numpy(np.intp)


def run_networkx_own(graph, st_nodes, st_gap, g_nodes, g_gap, own, ours):
    t0 = time.perf_counter()
    g = nx.Graph()
    coo = graph.metres.tocoo()
    keep = coo.row < coo.col
    g.add_weighted_edges_from(zip(coo.row[keep], coo.col[keep], coo.data[keep], strict=True))
    d = np.full(len(g_nodes), np.nan)
    frame = pd.DataFrame({"own": own, "ours": ours}).reset_index()
    for k, rows in frame[frame["own"] >= 0].groupby("own"):
        cutoff = float(np.nanmax(rows["ours"])) + 1.0 if rows["ours"].notna().any() else None
        dist = nx.single_source_dijkstra_path_length(g, int(st_nodes[k]), cutoff=cutoff)
        idx = rows["index"].to_numpy()
        d[idx] = [dist.get(int(v), np.nan) for v in g_nodes[idx]]
        d[idx] += st_gap[k] + g_gap[idx]
    return time.perf_counter() - t0, d


def run_pgrouting(url, graph, st_nodes, g_nodes, g_gap):
    engine = create_engine(url)
    coo = graph.metres.tocoo()
    keep = coo.row < coo.col
    edges = pd.DataFrame({"source": coo.row[keep], "target": coo.col[keep], "cost": coo.data[keep]})
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pgrouting CASCADE"))
        conn.execute(text("DROP TABLE IF EXISTS bench_edges"))
        conn.execute(
            text("CREATE TABLE bench_edges (id serial, source int, target int, cost float8)")
        )
        buf = io.StringIO()
        edges.to_csv(buf, index=False, header=False)
        buf.seek(0)
        with (
            conn.connection.cursor() as cur,
            cur.copy("COPY bench_edges (source, target, cost) FROM STDIN WITH CSV") as copy,
        ):
            copy.write(buf.read())
    starts = sorted({int(v) for v in g_nodes})
    t0 = time.perf_counter()
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT start_vid, agg_cost FROM pgr_dijkstraNearCost("
                " 'SELECT id, source, target, cost, cost AS reverse_cost FROM bench_edges',"
                " CAST(:s AS bigint[]), CAST(:e AS bigint[]), directed => false)"
            ),
            {"s": starts, "e": [int(v) for v in st_nodes]},
        ).all()
    seconds = time.perf_counter() - t0
    by_node = dict(rows)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_edges"))
    engine.dispose()
    return seconds, np.array([by_node.get(int(v), np.inf) for v in g_nodes]) + g_gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pgrouting", help="URL of a scratch database for the pgRouting anchor")
    parser.add_argument(
        "--pg-sample",
        type=int,
        default=0,
        help="pgRouting on this many random groups only (its time is then scaled to all)",
    )
    args = parser.parse_args()
    with session_factory(database_url())() as session:
        seats, villages, groups, stations = load(session)
    t0 = time.perf_counter()
    roads = synthetic_roads(
        seats[["x", "y"]].to_numpy(),
        seats["county_code"],
        villages[["x", "y"]].to_numpy(),
        villages["code"].str[:6],
    )
    t_roads = time.perf_counter() - t0
    graph = road_graph(roads)
    labels = components(graph)
    print(
        f"synthetic roads: {len(roads):,} lines, {len(graph.xy):,} nodes, "
        f"{graph.metres.nnz // 2:,} edges, {len(np.unique(labels))} connected part(s), "
        f"built in {t_roads:.2f} s"
    )
    g_xy, s_xy = groups[["x", "y"]].to_numpy(), stations[["x", "y"]].to_numpy()

    t0 = time.perf_counter()
    graph = road_graph(roads)
    ours = nearest_along_roads(graph, s_xy, g_xy)
    t_ours = time.perf_counter() - t0
    print(
        f"qungong (csgraph, graph + metres + minutes): {t_ours:.2f} s for {len(g_xy):,} groups "
        f"x {len(s_xy):,} stations (target <= 10 s)"
    )
    tree = cKDTree(graph.xy)
    st_gap, st_nodes = tree.query(s_xy)
    g_gap, g_nodes = tree.query(g_xy)
    t_nx, d_nx = run_networkx(graph, st_nodes, st_gap, g_nodes, g_gap)
    diff = np.nanmax(np.abs(ours["road_m"].to_numpy() - d_nx))
    print(
        f"networkx multi-source Dijkstra (metres only): {t_nx:.2f} s | ratio {t_ours / t_nx:.2f}x;"
        f" max difference {diff:.6f} m"
    )
    own = own_index(groups, stations)
    t0 = time.perf_counter()
    mine = pairs_along_roads(graph, s_xy, g_xy, own, nearest=ours)
    t_own = time.perf_counter() - t0
    t_nx_own, d_nx_own = run_networkx_own(
        graph, st_nodes, st_gap, g_nodes, g_gap, own, mine["road_m"].to_numpy()
    )
    diff = np.nanmax(np.abs(mine["road_m"].to_numpy() - d_nx_own))
    print(
        f"own station along roads (csgraph, metres + minutes, {int((own >= 0).sum()):,} groups,"
        f" searched where the nearest is not the own):"
        f" {t_own:.2f} s | networkx per station (metres only): {t_nx_own:.2f} s"
        f" | ratio {t_own / t_nx_own:.2f}x; max difference {diff:.6f} m"
    )
    if args.pgrouting:
        pick = np.arange(len(g_xy))
        if args.pg_sample:
            pick = np.random.default_rng(1).choice(len(g_xy), args.pg_sample, replace=False)
        t_pg, d_pg = run_pgrouting(args.pgrouting, graph, st_nodes, g_nodes[pick], g_gap[pick])
        # pgRouting starts at the station's road node: compare with stations placed on it
        ref = nearest_along_roads(graph, graph.xy[st_nodes], g_xy[pick])["road_m"].to_numpy()
        diff = np.nanmax(np.abs(ref - d_pg))
        scaled = t_pg * len(g_xy) / len(pick)
        print(
            f"pgRouting pgr_dijkstraNearCost (metres only, the SQL call): {t_pg:.2f} s for "
            f"{len(pick):,} groups, {scaled:.0f} s scaled to all | ratio {t_ours / scaled:.4f}x;"
            f" max difference {diff:.6f} m"
        )
    straight = ours["road_m"].to_numpy() / np.maximum(cKDTree(s_xy).query(g_xy)[0], 1.0)
    print(f"detour factor road / straight line (median): {np.nanmedian(straight):.2f}")


if __name__ == "__main__":
    main()

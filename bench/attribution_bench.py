"""Benchmark the import's attribution of visit points to villager groups vs geopandas.sjoin.

Builds the full demo network (47,224 villager groups of 2013), loads the groups straight into a
throwaway PostGIS cluster with COPY, takes 1,000,000 of the demo's phone-GPS visit points
(GCJ-02, converted to WGS-84), and attributes them to groups in the same run:

* in the service, as :func:`ingest.activity.import_visits` does, inside a transaction:
  :func:`ingest.placing.group_index` (cold: the cache emptied first, so the groups are read
  from PostGIS as WKB; warm: the cache checked against the database's signature and reused)
  then :meth:`geo.attribution.GroupIndex.attribute` on the lon/lat arrays (``shapely.STRtree``
  over the points queried with the polygons, predicate ``covers``, lowest id per point); the
  COPY of the attributed rows into the staging table is timed apart;
* the anchor: ``geopandas.sjoin(points, groups, predicate="within")`` on the same points and
  polygons (geopandas builds and keeps its STRtree on the points' frame in the first round).

Prints the cold and warm times beside sjoin's, the ratios and how often both put a point in
the same group.

Run: ``.venv/bin/python bench/attribution_bench.py [--n 1000000] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.activity import build_visits  # noqa: E402
from demo.network import build_network  # noqa: E402
from geo.coords import gcj02_to_wgs84  # noqa: E402
from ingest import placing  # noqa: E402
from models import staging  # noqa: E402
from models import units as unit_queries  # noqa: E402
from models.cluster import LocalCluster, free_port  # noqa: E402
from models.db import engine_for, migrate, transaction  # noqa: E402

CPU: dict[str, list[float]] = {"service": [], "sjoin": []}


def load_groups(url: str, groups: gpd.GeoDataFrame) -> int:
    """Write the groups as the active generation with COPY (the importer's checks skipped)."""
    with transaction(url) as session:
        generation, _ = unit_queries.ensure_generation(session, "2013")
        frame = pd.DataFrame(
            {
                "id": unit_queries.allocate_unit_ids(session, len(groups)),
                "generation_id": generation.id,
                "level": "group",
                "code": groups["code"].to_numpy(),
                "name": groups["name"].to_numpy(),
                "parent_id": pd.array([None] * len(groups), dtype="Int64"),
                "county_code": groups["county_code"].to_numpy(),
                "households": pd.array([None] * len(groups), dtype="Int64"),
                "population": pd.array([None] * len(groups), dtype="Int64"),
                "geom": groups.geometry.to_numpy(),
            }
        )
        unit_queries.copy_units(session, frame)
        gid = generation.id
    with engine_for(url).connect() as conn:
        conn.execute(text("ANALYZE admin_unit"))
    return gid


def stage_frame(lon: np.ndarray, lat: np.ndarray) -> pd.DataFrame:
    n = len(lon)
    return pd.DataFrame(
        {
            "row_no": np.arange(n),
            "team_id": pd.array([None] * n, dtype="Int64"),
            "household": None,
            "source_id": None,
            "visited_epoch": 1.36e9,
            "source_crs": "wgs84",
            "source_lon": lon,
            "source_lat": lat,
            "fixed_code": None,
            "lon": lon,
            "lat": lat,
        }
    )


def run_service(
    url: str, frame: pd.DataFrame, *, cold: bool
) -> tuple[float, float, float, pd.Series]:
    """(index seconds, attribution seconds, COPY seconds, row -> group code), rolled back.

    ``cold`` empties the process cache first, so the index is loaded from the database.
    """
    if cold:
        placing.clear_caches()
    engine = engine_for(url)
    with engine.connect() as conn, Session(bind=conn) as session:
        session.begin()
        start = time.perf_counter()
        index = placing.group_index(session, url=url)
        indexed = time.perf_counter() - start
        start, cpu = time.perf_counter(), time.process_time()
        units = index.attribute(
            frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), frame["fixed_code"]
        )
        attributed = time.perf_counter() - start
        CPU["service"].append(time.process_time() - cpu)
        placed = units["unit_id"].notna().to_numpy()
        staged = pd.concat([frame, units], axis=1)[placed]
        start = time.perf_counter()
        staging.create_stage(session, staging.VISIT_STAGE_COLUMNS)
        staging.copy_stage(session, staged, staging.VISIT_STAGE_COLUMNS)
        copied = time.perf_counter() - start
        session.rollback()
    found = pd.Series(units["group_code"].to_numpy()[placed], index=np.flatnonzero(placed))
    return indexed, attributed, copied, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    network = build_network(seed=2013, scale=1.0)
    units = network.units
    groups = units[(units["generation"] == "2013") & (units["level"] == "group")].reset_index(
        drop=True
    )
    visits = build_visits(network, seed=2013).iloc[: args.n]
    lon, lat = gcj02_to_wgs84(visits["lon"].to_numpy(), visits["lat"].to_numpy())
    print(f"network and {len(lon):,} visit points built in {time.perf_counter() - start:.1f} s")

    root = Path(tempfile.mkdtemp(prefix="qungong-bench-"))
    cluster = LocalCluster(root=root, port=free_port(), dbname="bench", fast=True)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database()
        url = cluster.url()
        migrate(url)
        start = time.perf_counter()
        load_groups(url, groups)
        print(f"{len(groups):,} groups loaded with COPY in {time.perf_counter() - start:.1f} s")

        frame = stage_frame(lon, lat)
        points = gpd.GeoDataFrame(
            {"row_no": np.arange(len(lon))}, geometry=gpd.points_from_xy(lon, lat), crs=4326
        )
        polygons = groups[["code", "geometry"]]
        cold, warm, loads, anchor, copies = [], [], [], [], []
        found = pd.Series(dtype=object)
        for round_no in range(args.rounds):
            indexed, attributed, copied, found = run_service(url, frame, cold=True)
            cold.append(indexed + attributed)
            loads.append(indexed)
            copies.append(copied)
            indexed, attributed, copied, found = run_service(url, frame, cold=False)
            warm.append(indexed + attributed)
            copies.append(copied)
            start, cpu = time.perf_counter(), time.process_time()
            joined = gpd.sjoin(points, polygons, predicate="within", how="inner")
            anchor.append(time.perf_counter() - start)
            CPU["sjoin"].append(time.process_time() - cpu)
            print(
                f"round {round_no + 1}: service cold {cold[-1]:.2f} s (loading the groups "
                f"{loads[-1]:.2f} s), warm {warm[-1]:.2f} s; geopandas.sjoin {anchor[-1]:.2f} s"
            )
        theirs = joined.drop_duplicates("row_no").set_index("row_no")["code"]
        both = found.index.intersection(theirs.index)
        agree = float((found[both] == theirs[both]).mean())
        best_cold, best_warm, best_anchor = min(cold), min(warm), min(anchor)
        n = len(lon)
        print()
        print(f"points {n:,}, groups {len(groups):,}")
        print(
            f"service, warm (cached group index; signature query + attribution): "
            f"{best_warm:.2f} s ({n / best_warm:,.0f} points/s)"
        )
        print(
            f"service, cold (groups read from PostGIS + indexed + attribution):  "
            f"{best_cold:.2f} s ({n / best_cold:,.0f} points/s; loading {min(loads):.2f} s)"
        )
        print(
            f"anchor geopandas.sjoin(predicate='within'):                         "
            f"{best_anchor:.2f} s ({n / best_anchor:,.0f} points/s)"
        )
        print(
            f"ratio service / sjoin: warm {best_warm / best_anchor:.2f}, cold "
            f"{best_cold / best_anchor:.2f} (<= 1 means no slower)"
        )
        # On a shared 2-core machine wall times swing with the neighbours' load; the CPU time
        # of this process (both are single-threaded) is the steadier comparison.
        cpu_service, cpu_sjoin = min(CPU["service"]), min(CPU["sjoin"])
        print(
            f"CPU time, attribution alone: service {cpu_service:.2f} s, sjoin {cpu_sjoin:.2f} s,"
            f" ratio {cpu_service / cpu_sjoin:.2f}"
        )
        print(f"staging COPY of the attributed rows: {min(copies):.2f} s (not in either figure)")
        print(
            f"placed: service {len(found):,}, sjoin {len(theirs):,}; same group for "
            f"{agree:.4%} of points both placed; placed by one only: "
            f"{len(found.index.symmetric_difference(theirs.index)):,}"
        )
    finally:
        engine_for(cluster.url()).dispose()
        cluster.destroy()


if __name__ == "__main__":
    main()

"""Benchmark set-based attribution of visit points to villager groups in PostGIS vs geopandas.sjoin.

Builds the full demo network (47,224 villager groups of 2013), loads the groups straight into a
throwaway PostGIS cluster with COPY, takes 1,000,000 of the demo's phone-GPS visit points
(GCJ-02, converted to WGS-84), and attributes them to groups twice in the same run:

* in the service: :func:`models.activity.copy_stage` then :func:`models.activity.attribute_stage`
  (GiST index on the staged points, ANALYZE, the polygon-driven join without parallel workers);
* the anchor: ``geopandas.sjoin(points, groups, predicate="within")`` on the same points and
  polygons (its STRtree built inside the call).

Prints both times, the ratio and how often both put a point in the same group.

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
from sqlalchemy import event, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.activity import build_visits  # noqa: E402
from demo.network import build_network  # noqa: E402
from geo.coords import gcj02_to_wgs84  # noqa: E402
from models import activity  # noqa: E402
from models import units as unit_queries  # noqa: E402
from models.cluster import LocalCluster, free_port  # noqa: E402
from models.db import engine_for, migrate, transaction  # noqa: E402


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
            "visited_epoch": 1.36e9,
            "source_crs": "wgs84",
            "source_lon": lon,
            "source_lat": lat,
            "fixed_code": None,
            "lon": lon,
            "lat": lat,
        }
    )


STEPS = {
    "CREATE INDEX": "GiST index",
    "ANALYZE": "ANALYZE",
    "CREATE TEMP TABLE activity_stage_unit": "join",
}


def run_service(
    url: str, generation_id: int, frame: pd.DataFrame, steps: dict[str, float]
) -> tuple[float, float, dict]:
    """(COPY seconds, attribution seconds, row -> group code) for one round, rolled back.

    ``steps`` receives the time of each statement of the attribution (index, ANALYZE, join).
    """
    engine = engine_for(url)

    def before(conn, cursor, statement, params, context, executemany) -> None:
        conn.info["started"] = time.perf_counter()

    def after(conn, cursor, statement, params, context, executemany) -> None:
        for prefix, label in STEPS.items():
            if statement.strip().startswith(prefix):
                steps[label] = time.perf_counter() - conn.info["started"]

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    with engine.connect() as conn, Session(bind=conn) as session:
        session.begin()
        activity.create_stage(session, activity.VISIT_STAGE_COLUMNS)
        start = time.perf_counter()
        activity.copy_stage(session, frame, activity.VISIT_STAGE_COLUMNS)
        copied = time.perf_counter() - start
        start = time.perf_counter()
        activity.attribute_stage(session, generation_id=generation_id)
        attributed = time.perf_counter() - start
        rows = session.execute(text(f"SELECT row_no, group_code FROM {activity.STAGE_UNIT}")).all()
        session.rollback()
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "after_cursor_execute", after)
    return copied, attributed, dict(rows)


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
        generation_id = load_groups(url, groups)
        print(f"{len(groups):,} groups loaded with COPY in {time.perf_counter() - start:.1f} s")

        frame = stage_frame(lon, lat)
        points = gpd.GeoDataFrame(
            {"row_no": np.arange(len(lon))}, geometry=gpd.points_from_xy(lon, lat), crs=4326
        )
        polygons = groups[["code", "geometry"]]
        service, anchor, copies, breakdowns = [], [], [], []
        for round_no in range(args.rounds):
            steps: dict[str, float] = {}
            copied, attributed, found = run_service(url, generation_id, frame, steps)
            copies.append(copied)
            service.append(attributed)
            breakdowns.append(steps)
            start = time.perf_counter()
            joined = gpd.sjoin(points, polygons, predicate="within", how="inner")
            anchor.append(time.perf_counter() - start)
            print(
                f"round {round_no + 1}: PostGIS {attributed:.2f} s (COPY {copied:.2f} s), "
                f"geopandas.sjoin {anchor[-1]:.2f} s"
            )
        mine = pd.Series(found)
        theirs = joined.drop_duplicates("row_no").set_index("row_no")["code"]
        both = mine.index.intersection(theirs.index)
        agree = float((mine[both] == theirs[both]).mean())
        best_service, best_anchor = min(service), min(anchor)
        print()
        print(f"points {len(lon):,}, groups {len(groups):,}")
        print(
            f"attribution in PostGIS (GiST on points + ANALYZE + join, no parallel workers): "
            f"{best_service:.2f} s ({len(lon) / best_service:,.0f} points/s)"
        )
        print(
            f"anchor geopandas.sjoin(predicate='within'):                                   "
            f"{best_anchor:.2f} s ({len(lon) / best_anchor:,.0f} points/s)"
        )
        print(f"ratio PostGIS / sjoin: {best_service / best_anchor:.2f} (<= 1 means no slower)")
        steps = breakdowns[int(np.argmin(service))]
        print("  of which: " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()))
        print(f"staging COPY: {min(copies):.2f} s ({len(lon) / min(copies):,.0f} rows/s)")
        print(
            f"placed: PostGIS {len(mine):,}, sjoin {len(theirs):,}; same group for "
            f"{agree:.4%} of points both placed"
        )
    finally:
        engine_for(cluster.url()).dispose()
        cluster.destroy()


if __name__ == "__main__":
    main()

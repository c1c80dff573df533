"""Benchmark the planners' straight-line coverage measures on the full demo network.

For all 47,224 villager groups of the active generation against all its stations, prints each
figure beside its anchor, measured in the same run:

- qungong, as the service runs it: the data stamp, the group points and stations (from
  PostGIS the first time, then from ``webmap.services.coverage.places``' cache, which holds
  until an import), then distance to the own and the nearest station, officers, posts and the
  gap score (``geo.coverage``).  The first (cold) run also reads the points, and routes along
  roads when the database has roads; both figures are printed;
- anchor: the same distances written directly in PostGIS (one query: own station by join,
  nearest by the KNN ``<->`` operator in a LATERAL subquery, both in EPSG:4546);
- the answers agree (largest difference in metres).

Activity aggregates (officers, cases, visits) are a separate SQL step timed on its own.

Run against a loaded demo (read-only):
``DATABASE_URL=postgresql://postgres@127.0.0.1:54329/qungong .venv/bin/python bench/coverage_bench.py``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.coverage import gap_scores, group_measures  # noqa: E402
from models import coverage as db  # noqa: E402
from models.db import database_url, session_factory  # noqa: E402
from models.units import active_generation  # noqa: E402
from webmap.services.coverage import _PLACES, places  # noqa: E402

POSTGIS = """
SELECT g.code,
       ST_Distance(gp.p, ST_Transform(own.geom, 4546)) AS distance_own_m,
       near.d AS distance_nearest_m
FROM admin_unit g
CROSS JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(g.geom), 4546) AS p) gp
LEFT JOIN admin_unit v ON v.generation_id = g.generation_id AND v.level = 'village'
     AND v.code = left(g.code, 12)
LEFT JOIN station own ON own.unit_id = v.id
CROSS JOIN LATERAL (
    -- the GiST index orders by degrees; the 8 nearest in degrees hold the nearest in metres
    SELECT min(ST_Distance(gp.p, ST_Transform(k.geom, 4546))) AS d FROM (
        SELECT s.geom
        FROM station s JOIN admin_unit sv ON sv.id = s.unit_id AND sv.generation_id = :g
        ORDER BY s.geom <-> ST_PointOnSurface(g.geom) LIMIT 8) k
) near
WHERE g.generation_id = :g AND g.level = 'group'
"""


def run_qungong(session, generation_id: int) -> tuple[float, pd.DataFrame]:
    """Measures and score of every group, the points and stations through the service cache."""
    t0 = time.perf_counter()
    groups, stations = places(session, generation_id)
    officers = pd.read_sql(
        text(
            "SELECT a.code, count(*) AS officers FROM officer o JOIN admin_unit a ON a.id = o.unit_id"
            " WHERE a.generation_id = :g GROUP BY a.code"
        ),
        session.connection(),
        params={"g": generation_id},
    ).set_index("code")
    activity = officers.assign(
        cases=0, visits=0, households_visited=0, last_visit=pd.NaT, village_visit_days=0
    )
    measures = group_measures(groups, stations, activity, as_of=pd.Timestamp("2013-12-31"))
    scored = gap_scores(measures)
    return time.perf_counter() - t0, scored


def time_read(session, generation_id: int) -> float:
    """Reading the group points from PostGIS alone (what the cache spares)."""
    t0 = time.perf_counter()
    db.groups(session, generation_id)
    return time.perf_counter() - t0


def run_postgis(session, generation_id: int) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    frame = pd.read_sql(text(POSTGIS), session.connection(), params={"g": generation_id})
    return time.perf_counter() - t0, frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with session_factory(database_url())() as session:
        generation = active_generation(session)
        if generation is None:
            sys.exit("no active generation: load the demo first (qungong demo ensure)")
        _PLACES.clear()
        cold, _ = run_qungong(session, generation.id)
        ours, anchor, reads = [], [], []
        for _ in range(args.repeat):
            t, scored = run_qungong(session, generation.id)
            ours.append(t)
            reads.append(time_read(session, generation.id))
            t, direct = run_postgis(session, generation.id)
            anchor.append(t)
        t0 = time.perf_counter()
        as_of = db.as_of(session)
        db.activity(session, generation.id, as_of=as_of, window_days=90, need_days=365)
        t_activity = time.perf_counter() - t0
        roads = "with" if "travel_minutes" in scored else "without"
    merged = scored.merge(direct, on="code", suffixes=("", "_pg"))
    diff_own = np.nanmax(np.abs(merged["distance_own_m"] - merged["distance_own_m_pg"]))
    diff_near = np.nanmax(np.abs(merged["distance_nearest_m"] - merged["distance_nearest_m_pg"]))
    q, a = statistics.median(ours), statistics.median(anchor)
    print(f"groups: {len(scored):,}, generation {generation.name}")
    print(
        f"straight-line measures + score, end to end (points and stations cached): {q:.2f} s "
        f"(target <= 2 s) | PostGIS direct (own + KNN nearest): {a:.2f} s | ratio {q / a:.2f}x"
    )
    print(
        f"  first run after an import (reads the points, {roads} roads to route): {cold:.2f} s"
        f" | ratio {cold / a:.2f}x"
    )
    print(f"  reading the group points alone: {statistics.median(reads):.2f} s")
    print(f"agreement with PostGIS: own {diff_own:.3f} m, nearest {diff_near:.3f} m (max abs diff)")
    print(f"activity aggregates (officers, cases, 1.6M visits), once: {t_activity:.2f} s")


if __name__ == "__main__":
    main()

"""Benchmark the PostGIS point-in-group join of ``reattribute`` and review resolution: plan before/after.

On a migrated copy of the demo database (never the shared one: ``--url``), a sample of the
stored visits is put in a temporary table with its own GiST index, and the same question,
"the lowest-id group of the active generation covering each point", is answered

* the old way: ``admin_unit`` joined with ``generation_id = :g AND level = 'group' AND
  ST_Intersects`` (the planner picks a bitmap AND of the (generation, level) b-tree and the
  GiST index, probing it once per point);
* the new way (:func:`models.activity.reattribute`): the groups scanned once (``OFFSET 0``
  fence) and each one probing the points' GiST index with ``ST_Covers``;
* in the process, as an import does: :meth:`geo.attribution.GroupIndex.groups_at`
  (``shapely.STRtree`` over the points, predicate ``covers``) on the same points, polygons
  read from PostGIS once;
* the anchor a GIS user would reach for: ``geopandas.sjoin(predicate="within")``.

It prints each time, the plans' ratio and whether the answers agree, then runs
``reattribute`` itself on the whole ``case_record`` table, rolled back.

Run: ``.venv/bin/python bench/reattribute_bench.py --url postgresql://…/qg_copy [--old-n 5000]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.attribution import GroupIndex  # noqa: E402
from models import activity  # noqa: E402
from models.db import engine_for  # noqa: E402

OLD = """
    SELECT DISTINCT ON (r.id) r.id, a.id AS unit_id
    FROM (SELECT id, geom FROM visit WHERE id % :m = 0) r
    JOIN admin_unit a ON a.generation_id = :gen AND a.level = 'group'
                     AND ST_Intersects(a.geom, r.geom)
    ORDER BY r.id, a.id
"""
NEW = """
    SELECT DISTINCT ON (r.id) r.id, a.id AS unit_id
    FROM (SELECT id, geom FROM admin_unit WHERE level = 'group' AND generation_id = :gen
          OFFSET 0) a
    JOIN visit r ON ST_Covers(a.geom, r.geom)
    ORDER BY r.id, a.id
"""


def timed_query(conn, sql: str, gen: int, m: int) -> tuple[float, dict[int, int], str]:
    """Seconds, answers and plan of one join over the visits whose id is a multiple of m."""
    conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    params = {"gen": gen, "m": m}
    plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql), params))
    start = time.perf_counter()
    rows = conn.execute(text(sql), params).all()
    return time.perf_counter() - start, dict(rows), plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a migrated COPY of the demo database")
    parser.add_argument("--old-n", type=int, default=5_000, help="points for the old plans")
    args = parser.parse_args()
    engine = engine_for(args.url)
    with engine.connect() as conn:
        gen = conn.execute(text("SELECT id FROM generation WHERE active")).scalar_one()
        total = conn.execute(text("SELECT max(id) FROM visit")).scalar_one()
        conn.rollback()
        m, old_m = 1, max(total // args.old_n, 1)
        with conn.begin():
            new_s, new_rows, new_plan = timed_query(conn, NEW, gen, m)
        with conn.begin():
            index_s, index_rows, index_plan = timed_query(conn, OLD, gen, old_m)
        with conn.begin() as tx:
            # Before migration 0002: no partial GiST index of the groups (rolled back).
            conn.execute(text("DROP INDEX ix_admin_unit_group_geom"))
            old_s, old_rows, old_plan = timed_query(conn, OLD, gen, old_m)
            tx.rollback()
        points = pd.DataFrame(
            conn.execute(text("SELECT id, ST_X(geom), ST_Y(geom) FROM visit")).all(),
            columns=["id", "x", "y"],
        )
        units = pd.DataFrame(
            conn.execute(
                text(
                    "SELECT id, level, code, county_code,"
                    " CASE WHEN level = 'group' THEN ST_AsBinary(geom) END AS wkb"
                    " FROM admin_unit WHERE generation_id = :g"
                ),
                {"g": gen},
            ).all(),
            columns=["id", "level", "code", "county_code", "wkb"],
        )
    n, old_n = len(new_rows), len(old_rows)
    units["wkb"] = [None if b is None else bytes(b) for b in units["wkb"]]
    start = time.perf_counter()
    index = GroupIndex.from_units(units, generation_id=gen)
    pos = index.groups_at(points["x"].to_numpy(), points["y"].to_numpy())
    inproc_s = time.perf_counter() - start
    got = dict(
        zip(points["id"], np.where(pos >= 0, index.ids[np.maximum(pos, 0)], -1), strict=True)
    )
    groups = gpd.GeoDataFrame(
        {"unit_id": index.ids[index.group_pos]}, geometry=index.polygons, crs=4326
    )
    pts = gpd.GeoDataFrame(
        {"id": points["id"]}, geometry=gpd.points_from_xy(points["x"], points["y"]), crs=4326
    )
    start = time.perf_counter()
    gpd.sjoin(pts, groups, predicate="within", how="inner")
    sjoin_s = time.perf_counter() - start

    agree_new = np.mean([got.get(k) == v for k, v in new_rows.items()])
    agree_old = np.mean([new_rows.get(k) == v for k, v in old_rows.items()])
    # (the old plans' points are a sample of the new plan's: every visit)
    print(
        f"points: new plan every visit ({n:,}), old plans a sample of {old_n:,} (too slow for"
        " more: the old plans probe the polygons point by point, so time grows with points)"
    )
    for label, plan in (("before", old_plan), ("old shape + partial index", index_plan),
                        ("reattribute's shape", new_plan)):  # fmt: skip
        print(f"{label}:\n  " + plan.replace("\n", "\n  "))
    per_old, per_index, per_new = (t / k * 1e5 for t, k in ((old_s, old_n), (index_s, old_n),
                                                            (new_s, n)))  # fmt: skip
    print(f"before (per-point probe, ST_Intersects): {old_s:.2f} s = {per_old:.1f} s per 100k")
    print(f"old shape with the partial GiST index:   {index_s:.2f} s = {per_index:.1f} s per 100k")
    print(f"reattribute's shape (groups loop):       {new_s:.2f} s = {per_new:.2f} s per 100k")
    print(f"ratio after / before per point: {per_new / per_old:.4f}")
    print(f"in process (GroupIndex from WKB + STRtree covers): {inproc_s:.2f} s for {n:,}")
    print(f"anchor geopandas.sjoin(within) on the same points: {sjoin_s:.2f} s "
          f"(new join / sjoin = {new_s / sjoin_s:.2f}, in process / sjoin = "
          f"{inproc_s / sjoin_s:.2f})")  # fmt: skip
    agree_index = np.mean([new_rows.get(k) == v for k, v in index_rows.items()])
    print(
        f"answers: new == in process for {agree_new:.4%}; before == new for {agree_old:.4%};"
        f" old shape + index == new for {agree_index:.4%}"
    )

    with engine.connect() as conn, conn.begin() as tx:
        session = Session(bind=conn)
        start = time.perf_counter()
        moved = activity.reattribute(session, generation_id=gen)
        print(f"reattribute (all {conn.execute(text('SELECT count(*) FROM case_record')).scalar():,}"
              f" cases + visits): {time.perf_counter() - start:.1f} s, moved {moved}"
              " (rolled back)")  # fmt: skip
        tx.rollback()


if __name__ == "__main__":
    main()

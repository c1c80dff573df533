"""Benchmark MCLP siting in one county of the demo: sparse build vs spopt's dense build vs greedy.

Demand: every villager group of the county (households as weights, at its representative
point); candidates: every village's representative point; 10 sites within ``--within``
metres.  Prints, measured in the same run:

- qungong (``geo.siting.mclp``: sparse who-covers-whom, merged demand rows, spopt's MCLP and
  CBC): seconds, proven optimal or not, households covered;
- anchor 1: spopt ``MCLP.from_cost_matrix`` on the dense distance matrix, same solver;
- anchor 2: a greedy pick (each time the site adding the most): coverage it loses.

Run: ``DATABASE_URL=... .venv/bin/python bench/siting_bench.py [--county 430525] [--within 2000]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pulp
from scipy.spatial.distance import cdist
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.siting import covers, greedy_mclp, mclp  # noqa: E402
from models import coverage as db  # noqa: E402
from models.db import database_url, session_factory  # noqa: E402
from models.units import active_generation  # noqa: E402

VILLAGE_POINTS = """
SELECT code, ST_X(p) AS x, ST_Y(p) AS y FROM admin_unit,
       LATERAL ST_Transform(ST_PointOnSurface(geom), 4546) AS p
WHERE generation_id = :g AND level = 'village' AND county_code = :c ORDER BY code
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--county", default="430525")
    parser.add_argument("--within", type=float, default=2000.0)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--no-dense", action="store_true", help="skip the dense anchor")
    args = parser.parse_args()
    with session_factory(database_url())() as session:
        gen = active_generation(session)
        groups = db.groups(session, gen.id, prefix=args.county)
        rows = session.execute(text(VILLAGE_POINTS), {"g": gen.id, "c": args.county}).all()
    demand = groups[["x", "y"]].to_numpy()
    weights = groups["households"].to_numpy(dtype=float)
    sites = np.array([[r.x, r.y] for r in rows])
    print(
        f"county {args.county}: {len(demand):,} groups x {len(sites):,} candidate villages, "
        f"{args.sites} sites within {args.within:.0f} m"
    )

    t0 = time.perf_counter()
    cover = covers(demand, sites, args.within)
    ours = mclp(weights, cover, args.sites)
    t_ours = time.perf_counter() - t0
    print(
        f"qungong sparse MCLP: {t_ours:.2f} s (target <= 5 s), {ours.status}, "
        f"proven optimal: {ours.optimal}, {ours.rows:,} model rows, "
        f"covers {ours.covered:,.0f} of {weights.sum():,.0f} households"
    )

    greedy = greedy_mclp(weights, cover, args.sites)
    loss = 100 * (ours.covered - greedy.covered) / weights.sum()
    print(
        f"greedy pick: {greedy.seconds:.3f} s, covers {greedy.covered:,.0f}: "
        f"{loss:.2f} points of coverage below the optimum"
    )

    if not args.no_dense:
        from spopt.locate import MCLP

        t0 = time.perf_counter()
        dense = MCLP.from_cost_matrix(
            cdist(demand, sites), weights, service_radius=args.within, p_facilities=args.sites
        )
        t_build = time.perf_counter() - t0
        dense.solve(pulp.PULP_CBC_CMD(msg=False), results=False)
        t_dense = time.perf_counter() - t0
        chosen = [j for j, v in enumerate(dense.fac_vars) if (v.value() or 0) > 0.5]
        dense_cov = float(weights[cover[:, chosen].toarray().any(axis=1)].sum())
        print(
            f"spopt dense from_cost_matrix: {t_dense:.2f} s (building {t_build:.2f} s), "
            f"covers {dense_cov:,.0f} | ratio qungong/dense {t_ours / t_dense:.2f}x"
        )


if __name__ == "__main__":
    main()

"""A month plan for the demo's largest township: time (target <= 10 s) and plan quality.

Reads the full demo database (read-only).  Prints the time of ``team_plan`` (queries,
solver, page rows; cache bypassed) and, on the same routing problem, the objective
(skipped stops, metres, longest day) and time of qungong's solver beside two anchors a
developer would reach for: OR-Tools guided local search with a 10 s clock, and VROOM alone.

    DATABASE_URL=postgresql://postgres@127.0.0.1:54329/qungong .venv/bin/python bench/team_plan_bench.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sqlalchemy import text

from geo.routing import RoutePlan, RoutingProblem, solve, solve_ortools, solve_vroom
from models.db import database_url, session_factory
from webmap.services import routes, team_plan


def largest_township(session) -> tuple[str, int]:
    row = session.execute(
        text(
            """
            SELECT t.code, count(*) FROM admin_unit t
            JOIN generation g ON g.id = t.generation_id AND g.active
            JOIN admin_unit v ON v.parent_id = t.id AND v.level = 'village'
            WHERE t.level = 'township' GROUP BY t.code ORDER BY 2 DESC, 1 LIMIT 1
            """
        )
    ).one()
    return str(row[0]), int(row[1])


def describe(plan: RoutePlan, problem: RoutingProblem) -> str:
    km = sum(plan.route_distance(problem, r) for r in range(len(plan.routes))) / 1000
    longest = max(plan.route_seconds(problem, r) for r in range(len(plan.routes))) / 60
    return f"skipped {len(plan.dropped)}, {km:7.1f} km, longest day {longest:5.0f} min"


def main() -> None:
    session = session_factory(database_url())()
    code, villages = largest_township(session)
    month = team_plan.default_month(session, code)
    print(f"township {code}: {villages} villages, month {month:%Y-%m}")
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    start, start_cpu = time.perf_counter(), time.process_time()
    plan = team_plan._build(session, code, month, team_plan.PlanOptions())
    seconds = time.perf_counter() - start
    # CPU time of this process (VROOM's 2 threads add up): near the wall time when quiet.
    print(f"month plan CPU time: {time.process_time() - start_cpu:.2f} s")
    repeats = sum(s["repeat"] for d in plan.days for s in d["stops"])
    print(f"second visits (villages with open disputes): {repeats}")
    print(
        f"month plan (queries + solver + rows): {seconds:.2f} s for {len(plan.days)} days, "
        f"{sum(len(d['stops']) for d in plan.days)} villages planned, "
        f"{len(plan.unassigned)} unassigned (target <= 10 s: {'met' if seconds <= 10 else 'NOT met'})"
    )
    # The same routing problem the plan solved.
    villages_df = team_plan.team_queries.township_villages(
        session, team_plan.active_generation(session).id, code, as_of=month
    )
    depot = plan.depot
    solved = team_plan._solve(session, villages_df, depot, plan.options, len(plan.days))
    full = routes.problem_of(solved.request, solved.along)
    problem, _keep, _half = routes.visit_problem(solved.request, full, np.ones(full.size - 1, bool))
    rows = []
    for name, run in (
        ("qungong (VROOM + OR-Tools descent)", lambda: solve(problem)),
        ("anchor: OR-Tools GLS, 10 s clock", lambda: solve_ortools(problem, time_limit_s=10)),
        ("anchor: VROOM alone (exploration 5)", lambda: solve_vroom(problem, exploration=5)),
    ):
        t0 = time.perf_counter()
        result = run()
        rows.append((name, result.cost(problem), time.perf_counter() - t0, result))
    ours = rows[0][1]
    for name, cost, secs, result in rows:
        print(
            f"{name:44s} objective {cost:>12,d} ({cost / ours:5.3f}x ours) {secs:6.2f} s  "
            f"{describe(result, problem)}"
        )
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    session.close()


if __name__ == "__main__":
    main()

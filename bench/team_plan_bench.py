"""A month plan for the demo's largest township: time (target <= 10 s) and plan quality.

Reads the full demo database (read-only).  Prints the time of ``team_plan`` (queries,
solver, page rows; cache bypassed) and, on the same routing problem, the objective
(skipped stops, metres, longest day) and time of qungong's solver beside two anchors a
developer would reach for: OR-Tools guided local search with a 10 s clock, and VROOM alone.

    DATABASE_URL=postgresql://postgres@127.0.0.1:54329/qungong .venv/bin/python bench/team_plan_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
    start = time.perf_counter()
    plan = team_plan._build(session, code, month, team_plan.PlanOptions())
    seconds = time.perf_counter() - start
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
    _, request = team_plan._solve(villages_df, depot, plan.options, len(plan.days))
    problem = routes.problem_of(request)
    rows = []
    for name, run in (
        ("qungong (OR-Tools branch-limited + VROOM)", lambda: solve(problem)),
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
    session.close()


if __name__ == "__main__":
    main()

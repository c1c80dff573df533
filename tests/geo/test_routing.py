"""geo.routing: matrices, feasibility of day plans, optimality against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pyproj import Geod

from geo.routing import (
    MUST_VISIT,
    RoutingProblem,
    solve,
    solve_ortools,
    solve_pyvrp,
    solve_vroom,
    straight_line_matrix,
    tour_length,
)


def _random_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return 111.2 + rng.random(n) * 0.3, 27.0 + rng.random(n) * 0.3


def _brute_force(matrix: np.ndarray) -> int:
    n = len(matrix)
    return min(tour_length(matrix, [0, *perm]) for perm in itertools.permutations(range(1, n)))


def test_straight_line_matrix_matches_geodesic_distance():
    lon, lat = _random_points(6, seed=1)
    m = straight_line_matrix(lon, lat, circuity=1.0)
    geod = Geod(ellps="WGS84")
    for i, j in itertools.combinations(range(6), 2):
        _, _, d = geod.inv(lon[i], lat[i], lon[j], lat[j])
        # Sphere vs ellipsoid: within 0.5% at this latitude.
        assert abs(m[i, j] - d) / d < 0.005
    assert (m == m.T).all()
    assert (np.diag(m) == 0).all()
    assert (straight_line_matrix(lon, lat, circuity=1.3)[0, 1]) == pytest.approx(
        m[0, 1] * 1.3, abs=1
    )


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
@pytest.mark.parametrize("solver", [solve_ortools, solve_vroom, solve_pyvrp, solve])
def test_single_tour_is_optimal_on_small_instances(seed, solver):
    lon, lat = _random_points(8, seed)
    matrix = straight_line_matrix(lon, lat)
    plan = solver(RoutingProblem(distance_m=matrix))
    tour = [0, *plan.routes[0]]
    assert sorted(tour) == list(range(8))
    assert tour_length(matrix, tour) == _brute_force(matrix)


def test_tsplib_style_square_has_known_optimum():
    # Nine points on a 3x3 grid of spacing 10: the optimal tour is 9 * 10 ... plus one
    # diagonal (an odd grid has no Hamiltonian cycle of unit steps): 80 + 10*sqrt(2) -> 94.
    xy = np.array([(x, y) for x in range(3) for y in range(3)], dtype=float) * 10
    d = np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) + 0.5).astype(np.int64)
    plan = solve(RoutingProblem(distance_m=d))
    assert tour_length(d, [0, *plan.routes[0]]) == 94 == _brute_force(d)


def _day_problem(n: int, *, routes: int, day_minutes: int, seed: int, priority=None, span=1.0):
    lon, lat = _random_points(n + 1, seed)
    lon, lat = lon[0] + (lon - lon[0]) * span, lat[0] + (lat - lat[0]) * span
    return RoutingProblem(
        distance_m=straight_line_matrix(lon, lat),
        service_s=np.array([0] + [30 * 60] * n),
        priority=priority,
        routes=routes,
        speed_kmh=30,
        route_seconds=day_minutes * 60,
        balance_per_s=20,
    )


@pytest.mark.parametrize("solver", [solve_ortools, solve_vroom, solve_pyvrp, solve])
def test_day_plans_are_feasible(solver):
    problem = _day_problem(24, routes=3, day_minutes=480, seed=11)
    plan = solver(problem)
    served = [s for route in plan.routes for s in route]
    # Every stop once (served or reported dropped), never twice.
    assert sorted(served + plan.dropped) == list(range(1, 25))
    assert len(set(served)) == len(served)
    for r, _route in enumerate(plan.routes):
        assert plan.route_seconds(problem, r) <= 480 * 60
    # Depot at both ends: the route's duration counts the way back to node 0.
    route = plan.routes[0]
    time = problem.time_matrix()
    expected = sum(time[a, b] for a, b in itertools.pairwise([0, *route, 0]))
    assert plan.route_seconds(problem, 0) == expected


def test_days_are_balanced():
    problem = _day_problem(18, routes=3, day_minutes=480, seed=12)
    plan = solve(problem)
    counts = sorted(len(r) for r in plan.routes)
    assert counts[0] >= 4, counts  # no day left nearly empty while another is full


def test_low_priority_stops_are_skipped_first_when_days_are_short():
    n = 20
    priority = np.array([9] + [0] * 8 + [1] * 7 + [MUST_VISIT] * 5)
    # Villages a few km apart: the day's length, not the distance, decides what fits.
    problem = _day_problem(n, routes=1, day_minutes=360, seed=13, priority=priority, span=0.1)
    plan = solve(problem)
    assert plan.dropped, "a 6-hour day cannot hold 20 half-hour visits"
    served = {s for route in plan.routes for s in route}
    assert set(np.nonzero(priority == MUST_VISIT)[0]) <= served
    # Nothing more urgent is skipped while a less urgent stop is visited.
    assert max(priority[s] for s in plan.dropped) <= min(priority[s] for s in served)
    assert plan.route_seconds(problem, 0) <= 360 * 60


@pytest.mark.parametrize("routes", [1, 3])
def test_same_problem_same_plan(routes):
    problem = _day_problem(40, routes=routes, day_minutes=480 * 3 // routes, seed=14)
    assert solve(problem).routes == solve(problem).routes


def test_one_tour_has_no_improving_two_opt_move():
    # PyVRP never reverses a stretch of the tour; the OR-Tools descent after it does, so
    # the plan solve() returns cannot be shortened by reversing any stretch.
    lon, lat = _random_points(150, seed=21)
    d = straight_line_matrix(lon, lat)
    plan = solve(RoutingProblem(distance_m=d))
    tour = [0, *plan.routes[0]]
    assert sorted(tour) == list(range(150))
    t = np.array([*tour, 0])
    i, j = np.triu_indices(150, k=2)
    gain = d[t[i], t[i + 1]] + d[t[j], t[j + 1]] - d[t[i], t[j]] - d[t[i + 1], t[j + 1]]
    assert gain.max() <= 0


@pytest.mark.parametrize("solver", [solve_ortools, solve_vroom, solve])
def test_repeat_visits_fall_in_their_half_of_the_days(solver):
    base = _day_problem(10, routes=4, day_minutes=480, seed=15)
    # Stop 1 twice more (nodes 11 and 12, same place): first half and second half of 4 days.
    keep = np.array([*range(11), 1, 1])
    half = np.array([0] * 11 + [1, 2])
    problem = RoutingProblem(
        distance_m=base.distance_m[np.ix_(keep, keep)],
        service_s=base.service()[keep],
        routes=4,
        speed_kmh=30,
        route_seconds=480 * 60,
        half=half,
    )
    plan = solver(problem)
    day_of = {s: r for r, route in enumerate(plan.routes) for s in route}
    assert not plan.dropped
    assert day_of[11] in (0, 1)
    assert day_of[12] in (2, 3)

"""Day routes for work teams: travel matrices and routes from a depot, by real solvers.

A problem is a square distance matrix (node 0 is the depot, e.g. the township office) with a
service time and a priority per stop, a number of routes (days × teams) and a working-day
length.  The matrix is an input: straight lines times a circuity factor
(:func:`straight_line_matrix`), or distances along the imported road network.

Three real solvers run on the same matrix: OR-Tools routing (Apache-2.0) with the matrix
registered as a matrix, VROOM through pyvroom (BSD-2-Clause) and PyVRP (MIT).  Each is
limited by a count (search branches, iterations), never a clock, so the same input always
gives the same plan on any machine.  :func:`solve` combines them and keeps the best plan by
one objective.  LKH (``elkai``) restricts commercial use, so it is only the benchmark's
reference, never used here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "CIRCUITY",
    "MUST_VISIT",
    "RoutePlan",
    "RoutingProblem",
    "schedule",
    "solve",
    "solve_ortools",
    "solve_pyvrp",
    "solve_vroom",
    "straight_line_matrix",
    "tour_length",
    "track_length_m",
]

EARTH_RADIUS_M = 6_371_008.8
# Rural roads in hilly Hunan wind: road distance / straight line is ~1.3-1.5 on county
# roads; 1.3 is the common planning default for rural networks.
CIRCUITY = 1.3
# A stop of this priority or higher must be visited; lower ones may be skipped, at a cost.
MUST_VISIT = 2
# What skipping a stop costs, in metres of travel: far above any day's route in a township
# (~100 km), so a stop is skipped only when it does not fit, and lower priorities go first.
_SKIP_COST_M = 10_000_000
_MUST_VISIT_COST_M = 1_000_000_000
# Deterministic effort for OR-Tools' guided local search, counted in search branches (a
# clock would make the plan depend on the machine's load).  Early branches (the first
# solution) are cheap and later ones dear: measured on TSPLIB, 300 branches leave 3-8% on
# 130-280 stops, 1,000 reach 1-1.7% but took 4-34 s on a loaded 2-core machine; 600 is the
# compromise.  Township days (<= 80 villages) converge well before it.
_BRANCHES = 600
# VROOM's exploration level by size: level 5 took 11-26 s on 280 stops.
_VROOM_MAX_STOPS = 150
# PyVRP's effort on one tour per round: iterations x stops (an iteration costs about as much
# as the tour is long), so every size gets about the same CPU time.  Measured on TSPLIB 51-280
# stops on a quiet 2-core machine (bench/routing_bench.py), two rounds each followed by an
# OR-Tools descent: 150,000 gave 0.37% over the optima on average in 2.8 s per tour (max
# 3.5 s); 75,000 gives 0.48% in 1.6 s (max 2.6 s, the OR-Tools descents); 50,000 drops to
# 0.74%.  A count, not a clock, so plans are reproducible.
_PYVRP_EFFORT = 75_000
_PYVRP_MAX_ITERATIONS = 750
_ROUNDS = 2


def straight_line_matrix(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, circuity: float = CIRCUITY
) -> np.ndarray:
    """Great-circle distances between points times a circuity factor, in whole metres.

    Parameters
    ----------
    lon, lat
        Coordinates in degrees (EPSG:4326), depot first.
    circuity
        Road distance per straight-line distance.

    Returns
    -------
    numpy.ndarray
        Symmetric ``(n, n)`` int64 matrix with a zero diagonal.

    >>> straight_line_matrix([111.0, 111.0], [27.0, 27.01], circuity=1.0)[0, 1]
    np.int64(1112)
    """
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    h = np.sin(dphi / 2) ** 2 + np.cos(phi[:, None]) * np.cos(phi[None, :]) * np.sin(dlam / 2) ** 2
    metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    out: np.ndarray = np.rint(metres * circuity).astype(np.int64)
    return out


@dataclass(frozen=True)
class RoutingProblem:
    """Routes from node 0 (the depot) over stops 1..n-1.

    ``distance_m`` is the arc cost; with ``speed_kmh`` set, each route is also limited to
    ``route_seconds`` of travel plus service.  Without it the problem is a plain tour (TSP).
    Travel takes ``distance_m`` at ``speed_kmh``, or ``travel_seconds`` when given (along
    roads, where each road class has its own speed).
    Route ``r`` is day ``r // teams + 1``, team ``r % teams + 1``.
    """

    distance_m: np.ndarray
    service_s: np.ndarray | None = None
    priority: np.ndarray | None = None
    routes: int = 1
    speed_kmh: float | None = None
    route_seconds: int | None = None
    # Weight of the longest route's duration (per second) in the objective: balances days.
    balance_per_s: int = 0
    travel_seconds: np.ndarray | None = None
    # Per node: 0 any day, 1 a day in the first half of the days, 2 one in the second half
    # (the two visits of a village seen twice in a month).  Routes are ``teams`` per day.
    half: np.ndarray | None = None
    teams: int = 1

    def route_half(self, r: int) -> int:
        """1 when route ``r`` runs in the first half of the days, else 2.

        >>> [RoutingProblem(np.zeros((1, 1)), routes=6, teams=2).route_half(r) for r in range(6)]
        [1, 1, 1, 1, 2, 2]
        """
        days = self.routes // self.teams
        return 1 if r // self.teams < math.ceil(days / 2) else 2

    @property
    def size(self) -> int:
        return int(self.distance_m.shape[0])

    def service(self) -> np.ndarray:
        if self.service_s is None:
            return np.zeros(self.size, dtype=np.int64)
        return np.asarray(self.service_s, dtype=np.int64)

    def priorities(self) -> np.ndarray:
        if self.priority is None:
            return np.full(self.size, MUST_VISIT, dtype=np.int64)
        return np.asarray(self.priority, dtype=np.int64)

    def travel_s(self) -> np.ndarray:
        """Travel seconds per arc at ``speed_kmh`` (rounded up, so limits are kept)."""
        if self.travel_seconds is not None:
            return np.asarray(self.travel_seconds, dtype=np.int64)
        if self.speed_kmh is None:
            msg = "speed_kmh is needed for travel times"
            raise ValueError(msg)
        return np.ceil(self.distance_m * 3.6 / self.speed_kmh).astype(np.int64)

    def time_matrix(self) -> np.ndarray:
        """Seconds from leaving node i to leaving for the next: travel plus service at i."""
        out: np.ndarray = self.travel_s() + self.service()[:, None]
        return out

    def optional(self) -> bool:
        """Whether stops may be skipped (at their skip cost): with priorities or a day length."""
        return self.priority is not None or self.speed_kmh is not None

    def skip_cost(self) -> np.ndarray:
        p = self.priorities()
        return np.where(p >= MUST_VISIT, _MUST_VISIT_COST_M, _SKIP_COST_M * (1 + np.maximum(p, 0)))


@dataclass
class RoutePlan:
    """Routes (stop indices in visiting order, depot excluded), skipped stops, the solver."""

    routes: list[list[int]]
    dropped: list[int] = field(default_factory=list)
    solver: str = ""

    def route_distance(self, problem: RoutingProblem, r: int) -> int:
        return tour_length(problem.distance_m, [0, *self.routes[r]])

    def route_seconds(self, problem: RoutingProblem, r: int) -> int:
        if not self.routes[r]:
            return 0
        return tour_length(problem.time_matrix(), [0, *self.routes[r]])

    def cost(self, problem: RoutingProblem) -> int:
        """The objective both solvers are judged by: skips, distance, longest route."""
        skipped = int(problem.skip_cost()[self.dropped].sum()) if self.dropped else 0
        distance = sum(self.route_distance(problem, r) for r in range(len(self.routes)))
        longest = 0
        if problem.balance_per_s and problem.speed_kmh:
            longest = max(self.route_seconds(problem, r) for r in range(len(self.routes)))
        return skipped + distance + problem.balance_per_s * longest


def tour_length(matrix: np.ndarray, tour: list[int]) -> int:
    """Length of the closed tour visiting ``tour`` in order and returning to its first node.

    >>> tour_length(np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]]), [0, 1, 2])
    6
    """
    if len(tour) < 2:
        return 0
    idx = np.asarray(tour)
    return int(matrix[idx, np.roll(idx, -1)].sum())


def solve_ortools(
    problem: RoutingProblem,
    *,
    guided: bool = True,
    branches: int | None = None,
    time_limit_s: float | None = None,
    start: RoutePlan | None = None,
) -> RoutePlan:
    """OR-Tools routing: cheapest-arc start, then local search (guided unless told not).

    The guided search stops after ``branches`` search branches (default scaled to the size),
    a count, not a clock, so the same problem always gives the same plan.  ``time_limit_s``
    instead gives it a wall clock (benchmarks' anchor; the result then depends on the load).
    ``start`` is a plan to improve instead of building a first solution; without guidance
    that is one local-search descent (2-opt, Or-opt, Lin-Kernighan, relocations).
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    manager, model = _ortools_model(problem)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    if guided:
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
        if time_limit_s is not None:
            params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
        else:
            # The clock is only a safety net far beyond the branch limit's ~1.5 s.
            params.time_limit.FromSeconds(60)
            model.AddSearchMonitor(model.solver().BranchesLimit(branches or _BRANCHES))
    if start is not None:
        model.CloseModelWithParameters(params)
        initial = model.ReadAssignmentFromRoutes(
            [[manager.NodeToIndex(s) for s in route] for route in start.routes], True
        )
        # A start the model rejects (it should not happen) is replaced by a first solution.
        assignment = (
            model.SolveFromAssignmentWithParameters(initial, params)
            if initial is not None
            else model.SolveWithParameters(params)
        )
    else:
        assignment = model.SolveWithParameters(params)
    if assignment is None and start is not None:
        # The branch limit can run out while the start is being restored on large fleets.
        return start
    if assignment is None:
        msg = "OR-Tools found no plan"
        raise RuntimeError(msg)
    routes = []
    for r in range(problem.routes):
        index = assignment.Value(model.NextVar(model.Start(r)))
        route = []
        while not model.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = assignment.Value(model.NextVar(index))
        routes.append(route)
    return _plan(problem, routes, "ortools-gls" if guided else "ortools")


def _ortools_model(problem: RoutingProblem) -> tuple[Any, Any]:
    """The routing model: arc costs, the day-length dimension and skippable stops."""
    from ortools.constraint_solver import pywrapcp

    manager = pywrapcp.RoutingIndexManager(problem.size, problem.routes, 0)
    model = pywrapcp.RoutingModel(manager)
    # A registered matrix keeps the arc lookups in C++ (a Python callback is ~7x slower).
    arc = model.RegisterTransitMatrix(problem.distance_m.tolist())
    model.SetArcCostEvaluatorOfAllVehicles(arc)
    if problem.speed_kmh is not None:
        limit = int(problem.route_seconds or 10**9)
        seconds = model.RegisterTransitMatrix(problem.time_matrix().tolist())
        model.AddDimension(seconds, 0, limit, True, "time")
        if problem.balance_per_s:
            model.GetDimensionOrDie("time").SetGlobalSpanCostCoefficient(problem.balance_per_s)
    if problem.optional():
        for node, cost in enumerate(problem.skip_cost()[1:], start=1):
            model.AddDisjunction([manager.NodeToIndex(node)], int(cost))
    half = problem.half if problem.half is not None else np.zeros(problem.size, dtype=np.int64)
    for repeat in np.nonzero(half)[0].tolist():
        allowed = [r for r in range(problem.routes) if problem.route_half(r) == half[repeat]]
        # -1: not performed (SetAllowedVehiclesForIndex's Python binding takes no list).
        model.VehicleVar(manager.NodeToIndex(repeat)).SetValues([-1, *allowed])
    return manager, model


def _plan(problem: RoutingProblem, routes: list[list[int]], solver: str) -> RoutePlan:
    served = {s for route in routes for s in route}
    dropped = [s for s in range(1, problem.size) if s not in served]
    return RoutePlan(routes, dropped, solver)


def solve_pyvrp(
    problem: RoutingProblem,
    *,
    iterations: int | None = None,
    start: RoutePlan | None = None,
    seed: int = 1,
) -> RoutePlan:
    """PyVRP (MIT): iterated local search from a fixed seed, stopped after ``iterations``.

    A count (by default scaled to the size), not a clock, and one thread: the same problem
    always gives the same plan.
    Skippable stops carry their skip cost as a prize; the day length is the vehicles' shift.
    """
    from pyvrp import Client, Depot, Location, ProblemData, Solution, VehicleType
    from pyvrp import solve as pyvrp_solve
    from pyvrp.constants import MAX_VALUE
    from pyvrp.stop import MaxIterations

    n = problem.size
    timed = problem.speed_kmh is not None
    service = problem.service() if timed else np.zeros(n, dtype=np.int64)
    prize = problem.skip_cost()
    optional = problem.optional()
    clients = [
        Client(
            location=i,
            service_duration=int(service[i]),
            prize=int(prize[i]) if optional else 0,
            required=not optional,
        )
        for i in range(1, n)
    ]
    shift = int(problem.route_seconds) if timed and problem.route_seconds else MAX_VALUE
    # PyVRP's stubs type matrices oddly (ndarray[int]); any int64 array is what it takes.
    distance: Any = problem.distance_m.astype(np.int64)
    duration: Any = problem.travel_s() if timed else np.zeros((n, n), dtype=np.int64)
    data = ProblemData(
        # Locations are only drawn by PyVRP; the matrices below are what it solves on.
        locations=[Location(0.0, 0.0) for _ in range(n)],
        clients=clients,
        depots=[Depot(location=0)],
        vehicle_types=[VehicleType(num_available=problem.routes, shift_duration=shift)],
        distance_matrices=[distance],
        duration_matrices=[duration],
    )
    initial = None
    if start is not None and any(start.routes):
        initial = Solution(data, [[s - 1 for s in route] for route in start.routes if route])
    if iterations is None:
        iterations = min(_PYVRP_MAX_ITERATIONS, _PYVRP_EFFORT // n)
    result = pyvrp_solve(
        data, MaxIterations(iterations), seed=seed, collect_stats=False, initial_solution=initial
    )
    if not result.is_feasible():
        msg = "PyVRP found no feasible plan"
        raise RuntimeError(msg)
    routes = [
        [data.client(a.idx).location for a in route if a.is_client()]
        for route in result.best.routes()
    ]
    routes += [[] for _ in range(problem.routes - len(routes))]
    return _plan(problem, routes, "pyvrp")


def solve_vroom(problem: RoutingProblem, *, exploration: int = 5) -> RoutePlan:
    """VROOM (pyvroom): deterministic heuristics and local search, all routes at once."""
    import vroom

    n = problem.size
    inp = vroom.Input()
    inp.set_costs_matrix(profile="car", matrix_input=problem.distance_m.astype(np.uint32))
    timed = problem.speed_kmh is not None
    travel = problem.travel_s() if timed else problem.distance_m
    inp.set_durations_matrix(profile="car", matrix_input=travel.astype(np.uint32))
    window = (
        vroom.TimeWindow(0, int(problem.route_seconds)) if timed and problem.route_seconds else None
    )
    for r in range(problem.routes):
        kwargs = {"time_window": window} if window is not None else {}
        # A repeat visit's half of the days is a skill of that half's vehicles (days).
        skills = {problem.route_half(r)} if problem.half is not None else None
        inp.add_vehicle(vroom.Vehicle(r, start=0, end=0, skills=skills, **kwargs))
    half = problem.half if problem.half is not None else np.zeros(n, dtype=np.int64)
    service = problem.service()
    # VROOM serves as much priority as it can first; its scale is 0..100.
    prio = np.clip(problem.priorities() * 30 + 10, 0, 100)
    inp.add_job(
        [
            vroom.Job(
                i,
                location=i,
                default_service=int(service[i]),
                priority=int(prio[i]),
                skills={int(half[i])} if half[i] else None,
            )
            for i in range(1, n)
        ]
    )
    solution = inp.solve(exploration_level=exploration, nb_threads=2)
    steps = solution.routes
    jobs = steps[steps["type"] == "job"]
    routes = [
        [int(x) for x in jobs[jobs["vehicle_id"] == r]["location_index"]]
        for r in range(problem.routes)
    ]
    return _plan(problem, routes, "vroom")


def solve(problem: RoutingProblem) -> RoutePlan:
    """The best plan of the solvers that suit the problem, by the one objective they share.

    One tour (a single day): PyVRP's iterated local search, then OR-Tools' descent from its
    plan, twice.  PyVRP moves stops and chains about but never reverses a stretch of the
    tour; OR-Tools' 2-opt and Lin-Kernighan do, and PyVRP's next round starts from there
    (on TSPLIB 51-280 stops: 0.5% over the optimum on average, against 1.5% for VROOM then
    OR-Tools).  Several days: VROOM's plan improved by one OR-Tools descent, because only
    OR-Tools balances the days (its span cost) and VROOM builds the multi-day plan fastest.
    Every step is limited by a count, not a clock, so the plan is the same on any machine.
    """
    if problem.routes == 1:
        try:
            return _one_tour(problem)
        except RuntimeError:
            # PyVRP always finds a plan when stops may be skipped; should it ever not, the
            # VROOM/OR-Tools path below still answers.
            pass
    if problem.size > _VROOM_MAX_STOPS:
        return solve_ortools(problem)
    first = solve_vroom(problem, exploration=5 if problem.size <= 60 else 3)
    return _better(problem, first, solve_ortools(problem, start=first, guided=False))


def _one_tour(problem: RoutingProblem) -> RoutePlan:
    plan = solve_pyvrp(problem)
    for round_ in range(_ROUNDS):
        if round_:
            plan = _better(problem, plan, solve_pyvrp(problem, start=plan))
        plan = _better(problem, plan, solve_ortools(problem, start=plan, guided=False))
    return plan


def _better(problem: RoutingProblem, a: RoutePlan, b: RoutePlan) -> RoutePlan:
    return b if b.cost(problem) < a.cost(problem) else a


def schedule(
    problem: RoutingProblem, route: list[int], *, start_s: int = 0
) -> list[tuple[int, int]]:
    """Arrival and departure second of each stop of a route leaving the depot at ``start_s``.

    >>> p = RoutingProblem(np.array([[0, 500], [500, 0]]), np.array([0, 600]), speed_kmh=36)
    >>> schedule(p, [1], start_s=100)
    [(150, 750)]
    """
    travel = problem.travel_s()
    service = problem.service()
    times = []
    clock, here = start_s, 0
    for stop in route:
        clock += int(travel[here, stop])
        times.append((clock, clock + int(service[stop])))
        clock += int(service[stop])
        here = stop
    return times


def track_length_m(lon: npt.ArrayLike, lat: npt.ArrayLike) -> float:
    """Length of the polyline through the points in order (great circle, metres).

    >>> round(track_length_m([111.0, 111.0, 111.01], [27.0, 27.01, 27.01]))
    2103
    """
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    if lam.size < 2:
        return 0.0
    h = (
        np.sin(np.diff(phi) / 2) ** 2
        + np.cos(phi[:-1]) * np.cos(phi[1:]) * np.sin(np.diff(lam) / 2) ** 2
    )
    return float((2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))).sum())

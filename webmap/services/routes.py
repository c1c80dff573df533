"""Route planning requests: check the JSON of ``POST /api/routes/plan``, solve, answer.

The API and ``qungong routes plan`` both call :func:`parse_request` and :func:`plan`, so the
same input gives the same plan (the solver's search is limited by a count, not a clock).
Errors name the field (``stops[3].lon``) or, from the command line, the file's row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyproj import Transformer

from geo.roads import RoadGraph, matrix_along_roads, road_graph
from geo.routing import RoutingProblem, solve, straight_line_matrix
from models.cache import StampedCache, data_stamp
from webmap.errors import ApiError

__all__ = [
    "MAX_STOPS",
    "AlongRoads",
    "PlanError",
    "PlanRequest",
    "along_roads",
    "parse_request",
    "plan",
    "problem_of",
    "visit_problem",
]

MAX_STOPS = 2000
# Margin around the city's extent: a township office may sit just over a county line.
EXTENT_MARGIN_DEG = 0.05
# Balancing weight: a second of the longest day costs as much as this many metres of travel
# (at 30 km/h a second of driving is ~8 m), so the solver spreads villages over the days
# instead of packing them into as few days as the day length allows.
BALANCE_PER_S = 20
# The imported road network as a graph, rebuilt after an import (roads come in a batch).
_ROADS: StampedCache[RoadGraph | None] = StampedCache(maxsize=2)
# The roads' metric CRS (models.roads.road_lines reads them in it).
_TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:4546", always_xy=True)


def _msg(template: str, **values: Any) -> str:
    # API and command-line messages are English, like the rest of /api/ (programs read them).
    return template % values if values else template


class PlanError(ApiError):
    """Bad planning input; the message names the field or row and what is wrong."""

    code = "bad_plan_request"


@dataclass(frozen=True)
class PlanRequest:
    """A checked request: the depot, the stops and the planning parameters."""

    depot: tuple[float, float]
    ids: list[str]
    lon: np.ndarray
    lat: np.ndarray
    service_minutes: np.ndarray
    priority: np.ndarray
    visits: np.ndarray
    days: int = 1
    teams: int = 1
    day_minutes: float = 480
    speed_kmh: float = 30
    distance: str = "straight"


def _number(value: Any, where: str, *, lo: float, hi: float, integer: bool = False) -> float:
    if isinstance(value, bool) or value is None or value == "":
        raise PlanError(_msg("%(where)s: a number is required", where=where))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PlanError(
            _msg("%(where)s: %(value)s is not a number", where=where, value=repr(value))
        ) from None
    if not math.isfinite(number) or not lo <= number <= hi:
        raise PlanError(
            _msg(
                "%(where)s: %(value)s is outside %(lo)s–%(hi)s",
                where=where,
                value=value,
                lo=lo,
                hi=hi,
            )
        )
    if integer and number != int(number):
        raise PlanError(
            _msg("%(where)s: %(value)s is not a whole number", where=where, value=value)
        )
    return number


def _point(
    item: Any, where: str, extent: tuple[float, float, float, float] | None
) -> tuple[float, float]:
    if not isinstance(item, Mapping):
        raise PlanError(_msg("%(where)s: an object with lon and lat is required", where=where))
    lon = _number(item.get("lon"), f"{where}.lon", lo=-180, hi=180)
    lat = _number(item.get("lat"), f"{where}.lat", lo=-90, hi=90)
    if extent is not None:
        west, south, east, north = extent
        m = EXTENT_MARGIN_DEG
        if not (west - m <= lon <= east + m and south - m <= lat <= north + m):
            raise PlanError(
                _msg(
                    "%(where)s: (%(lon)s, %(lat)s) lies outside the city",
                    where=where,
                    lon=lon,
                    lat=lat,
                )
            )
    return lon, lat


def parse_request(
    payload: Any,
    *,
    extent: tuple[float, float, float, float] | None,
    row_label: Callable[[int], str] = lambda i: f"stops[{i}]",
) -> PlanRequest:
    """Check a planning request; raise :class:`PlanError` naming the first bad field or row.

    ``extent`` is the city's (west, south, east, north); ``row_label`` names stop ``i`` in
    messages (the command line names the CSV row instead of ``stops[i]``).
    """
    if not isinstance(payload, Mapping):
        raise PlanError(_msg("the request body must be a JSON object"))
    if payload.get("depot") is None:
        raise PlanError(_msg("depot: missing (the township office's lon and lat)"))
    depot = _point(payload["depot"], "depot", extent)
    stops = payload.get("stops")
    if not isinstance(stops, list) or not stops:
        raise PlanError(_msg("stops: no stops to plan"))
    if len(stops) > MAX_STOPS:
        raise PlanError(
            _msg("stops: %(n)d stops, at most %(max)d in one plan", n=len(stops), max=MAX_STOPS)
        )
    seen: dict[str, int] = {}
    rows = [_stop(stop, i, row_label, seen, extent) for i, stop in enumerate(stops)]
    days = int(_number(payload.get("days", 1), "days", lo=1, hi=31, integer=True))
    distance = payload.get("distance", "straight")
    if distance not in ("straight", "roads"):
        raise PlanError(
            _msg('distance: must be "straight" or "roads", got %(v)s', v=repr(distance))
        )
    return PlanRequest(
        depot=depot,
        ids=[r[0] for r in rows],
        lon=np.array([r[1] for r in rows]),
        lat=np.array([r[2] for r in rows]),
        service_minutes=np.array([r[3] for r in rows]),
        priority=np.array([r[4] for r in rows], dtype=np.int64),
        visits=_visits(rows, days, row_label),
        days=days,
        teams=int(_number(payload.get("teams", 1), "teams", lo=1, hi=20, integer=True)),
        day_minutes=_number(payload.get("day_minutes", 480), "day_minutes", lo=1, hi=1440),
        speed_kmh=_number(payload.get("speed_kmh", 30), "speed_kmh", lo=1, hi=120),
        distance=distance,
    )


def _stop(
    stop: Any,
    i: int,
    row_label: Callable[[int], str],
    seen: dict[str, int],
    extent: tuple[float, float, float, float] | None,
) -> tuple[str, float, float, float, int, int]:
    """One checked stop: id, lon, lat, service minutes, priority, visits (``seen``: id -> row)."""
    where = row_label(i)
    if not isinstance(stop, Mapping):
        raise PlanError(_msg("%(where)s: a stop must be an object", where=where))
    sid = stop.get("id")
    if sid is None or str(sid).strip() == "":
        raise PlanError(_msg("%(where)s.id: missing", where=where))
    sid = str(sid).strip()
    if sid in seen:
        raise PlanError(
            _msg(
                "%(where)s.id: duplicate id %(id)s (also %(other)s)",
                where=where,
                id=repr(sid),
                other=row_label(seen[sid]),
            )
        )
    seen[sid] = i
    lon, lat = _point(stop, where, extent)
    minutes = stop.get("service_minutes")
    service = (
        30.0
        if minutes in (None, "")
        else _number(minutes, f"{where}.service_minutes", lo=0, hi=1440)
    )
    prio = stop.get("priority")
    priority = (
        1
        if prio in (None, "")
        else int(_number(prio, f"{where}.priority", lo=0, hi=9, integer=True))
    )
    visits = stop.get("visits")
    times = (
        1
        if visits in (None, "")
        else int(_number(visits, f"{where}.visits", lo=1, hi=2, integer=True))
    )
    return sid, lon, lat, service, priority, times


def _visits(
    rows: list[tuple[str, float, float, float, int, int]],
    days: int,
    row_label: Callable[[int], str],
) -> np.ndarray:
    """Visits per stop; a second visit falls in the other half of the days, so needs two."""
    visits = np.array([r[5] for r in rows], dtype=np.int64)
    twice = np.nonzero(visits > 1)[0]
    if len(twice) and days < 2:
        where = row_label(int(twice[0]))
        raise PlanError(_msg("%(where)s.visits: 2 visits need at least 2 days", where=where))
    return visits


@dataclass(frozen=True)
class AlongRoads:
    """Depot-first matrices along the imported roads: whole metres, travel seconds."""

    metres: np.ndarray
    seconds: np.ndarray


def along_roads(session: Any, request: PlanRequest) -> AlongRoads | None:
    """The request's matrices along the imported roads; None when it asks for straight lines.

    Raises :class:`PlanError` when it asks for roads and none are imported.  Travel times
    then come from each road class's speed (``speed_kmh`` is not used), the last stretch
    off the road at walking speed (``geo.roads.matrix_along_roads``).
    """
    if request.distance != "roads":
        return None
    graph = _ROADS.get_or_build(data_stamp(session).boundaries(), "graph", lambda: _graph(session))
    if graph is None:
        raise PlanError(
            _msg('distance: no road network imported (qungong roads import); use "straight"')
        )
    lon = np.concatenate([[request.depot[0]], request.lon])
    lat = np.concatenate([[request.depot[1]], request.lat])
    x, y = _TO_METRIC.transform(lon, lat)
    metres, minutes = matrix_along_roads(graph, np.column_stack([x, y]))
    return AlongRoads(
        metres=np.rint(metres).astype(np.int64), seconds=np.ceil(minutes * 60).astype(np.int64)
    )


def _graph(session: Any) -> RoadGraph | None:
    from models import roads as road_db

    lines = road_db.road_lines(session)
    if lines.empty:
        return None
    speeds = lines.groupby("road_class")["speed_kmh"].first().to_dict()
    return road_graph(lines, class_column="road_class", speeds=speeds)


def _matrix(request: PlanRequest) -> np.ndarray:
    if request.distance == "roads":
        # The caller reads the roads (along_roads); without them there is no honest answer.
        raise PlanError(_msg('distance: "roads" needs the road network; use "straight"'))
    lon = np.concatenate([[request.depot[0]], request.lon])
    lat = np.concatenate([[request.depot[1]], request.lat])
    return straight_line_matrix(lon, lat)


def problem_of(request: PlanRequest, along: AlongRoads | None = None) -> RoutingProblem:
    """The routing problem of a request (node 0 the depot, node i+1 stop i)."""
    return RoutingProblem(
        distance_m=_matrix(request) if along is None else along.metres,
        travel_seconds=None if along is None else along.seconds,
        service_s=np.concatenate([[0], np.rint(request.service_minutes * 60)]).astype(np.int64),
        priority=np.concatenate([[9], request.priority]),
        routes=request.days * request.teams,
        speed_kmh=request.speed_kmh,
        route_seconds=int(request.day_minutes * 60),
        balance_per_s=BALANCE_PER_S,
    )


def plan(request: PlanRequest, *, along: AlongRoads | None = None) -> dict[str, Any]:
    """Plan the request: ``{"days": [...], "unassigned": [...]}`` as the API answers it.

    ``along`` are the matrices along roads (:func:`along_roads`) for ``distance: "roads"``.
    """
    problem = problem_of(request, along)
    day_s = problem.route_seconds or 0
    time = problem.time_matrix()
    # Alone on a day: out, the visit, back. A stop over the day's length fits no day.
    alone = time[0, 1:] + time[1:, 0]
    fits = alone <= day_s
    if not fits.any():
        nearest = math.ceil(int(alone.min()) / 60)
        raise PlanError(
            _msg(
                "day_minutes: %(m)s minutes is too short for any stop (the quickest needs %(n)d)",
                m=request.day_minutes,
                n=nearest,
            )
        )
    sub, keep, half = visit_problem(request, problem, fits)
    result = solve(sub)
    days = []
    for r, route in enumerate(_priority_days_first(result.routes, sub, request.teams)):
        stops = [int(keep[s]) for s in route]
        days.append(
            {
                "day": r // request.teams + 1,
                "team": r % request.teams + 1,
                "stops": [request.ids[s - 1] for s in stops],
                "distance_m": sub_distance(problem, stops),
                "duration_minutes": round(sub_seconds(problem, stops) / 60, 1),
            }
        )
    unassigned = _unassigned(request, alone, fits, keep[result.dropped], half[result.dropped])
    return {"days": days, "unassigned": unassigned}


def visit_problem(
    request: PlanRequest, problem: RoutingProblem, fits: np.ndarray
) -> tuple[RoutingProblem, np.ndarray, np.ndarray]:
    """The problem the solver gets: one node per visit of each stop that ``fits`` a day.

    A stop seen twice comes twice, one visit in each half of the days.  Returns the problem,
    each node's node in ``problem`` (``keep``) and its half of the days (0: any).
    """
    once = np.nonzero(fits & (request.visits == 1))[0] + 1
    twice = np.nonzero(fits & (request.visits > 1))[0] + 1
    keep = np.concatenate([[0], once, twice, twice])
    half = np.concatenate([[0], 0 * once, 0 * twice + 1, 0 * twice + 2])
    sub = RoutingProblem(
        distance_m=problem.distance_m[np.ix_(keep, keep)],
        service_s=problem.service()[keep],
        priority=problem.priorities()[keep],
        routes=problem.routes,
        speed_kmh=problem.speed_kmh,
        route_seconds=problem.route_seconds,
        balance_per_s=problem.balance_per_s,
        travel_seconds=problem.travel_s()[np.ix_(keep, keep)],
        half=half if len(twice) else None,
        teams=request.teams,
    )
    return sub, keep, half


def _unassigned(
    request: PlanRequest,
    alone: np.ndarray,
    fits: np.ndarray,
    dropped: np.ndarray,
    dropped_half: np.ndarray,
) -> list[dict[str, str]]:
    """Stops left out and why: too far for any day, or no room (``dropped``: request nodes)."""
    too_far = [
        {
            "id": request.ids[i],
            "reason": _msg(
                "does not fit in a working day: %(n)d minutes there, on site and back, the day has %(d)s",
                n=math.ceil(int(alone[i]) / 60),
                d=request.day_minutes,
            ),
        }
        for i in np.nonzero(~fits)[0]
    ]
    no_room = [
        {
            "id": request.ids[int(node) - 1],
            "reason": _msg(
                "no room left for its second visit in the second half of the days"
                if h == 2
                else "no room left in the days planned"
            ),
        }
        for node, h in sorted(zip(dropped.tolist(), dropped_half.tolist(), strict=True))
    ]
    return too_far + no_room


def sub_distance(problem: RoutingProblem, stops: list[int]) -> int:
    """Metres of the day's route depot -> stops -> depot."""
    if not stops:
        return 0
    idx = np.array([0, *stops])
    return int(problem.distance_m[idx, np.roll(idx, -1)].sum())


def sub_seconds(problem: RoutingProblem, stops: list[int]) -> int:
    """Seconds of the day's route: travel plus service, depot to depot."""
    if not stops:
        return 0
    idx = np.array([0, *stops])
    return int(problem.time_matrix()[idx, np.roll(idx, -1)].sum())


def _priority_days_first(
    routes: list[list[int]], problem: RoutingProblem, teams: int
) -> list[list[int]]:
    """Put the days with the most priority first: days are interchangeable, urgency is not.

    Teams keep their own routes; whole days (one route per team) are reordered by the summed
    priority of their stops, ties by the original order, so the result stays deterministic.
    With second visits, days move only within their half of the days; among equally urgent
    days the first half puts those with the most first visits first and the second half those
    with the most second visits last, so a village's two visits lie far apart.
    """
    prio = problem.priorities()
    half = problem.half if problem.half is not None else np.zeros(problem.size, dtype=np.int64)
    days = [routes[d * teams : (d + 1) * teams] for d in range(len(routes) // teams)]

    def urgency(d: int) -> int:
        return -sum(int(prio[s]) for route in days[d] for s in route)

    def visits(d: int, h: int) -> int:
        return sum(int(half[s] == h) for route in days[d] for s in route)

    split = math.ceil(len(days) / 2) if problem.half is not None else len(days)
    first = sorted(range(split), key=lambda d: (urgency(d), -visits(d, 1), d))
    second = sorted(range(split, len(days)), key=lambda d: (visits(d, 2), urgency(d), d))
    order = []
    for group in (first, second):
        # Empty days go last (in their half), after every day with stops.
        order += sorted(group, key=lambda d: not any(days[d]))
    return [route for d in order for route in days[d]]


def city_extent(session: Any) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the active generation's counties, or None without one."""
    from models import places

    generation = places.active_generation(session)
    if generation is None:
        return None
    box = places.extent(session, generation.id, prefix="", level="county")
    return None if box is None else (box[0], box[1], box[2], box[3])

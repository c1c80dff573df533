"""A work team's month: which villages on which day, in what order, and planned against done.

:func:`month_plan` gives every village of the township a day (routes from the team's home
base, the township office, and back), urgent villages first: open disputes, or no visit in
the month before.  It goes through the same checks and solver as ``POST /api/routes/plan``
(``webmap.services.routes``), so the page, the API and the CLI plan alike.  A past month's
plan is rebuilt from the data as they stood when the month began, so :func:`planned_vs_done`
compares the recorded visits with what would have been planned.  Results are cached while
the data are unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import gpxpy
import gpxpy.gpx
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geo.routing import MUST_VISIT, schedule, track_length_m
from models import teams as team_queries
from models.cache import StampedCache, data_stamp
from models.units import active_generation
from webmap.errors import ApiError, NotFound
from webmap.services import routes

__all__ = [
    "DAY_COLOURS",
    "STANDARD_DAYS",
    "BelowTownship",
    "MonthPlan",
    "NoTownship",
    "PlanOptions",
    "day_gpx",
    "default_month",
    "month_plan",
    "plan_dates",
    "planned_vs_done",
    "township_for",
    "visit_history",
]

# The standard: a township's team spends three concentrated days a month in its villages.
STANDARD_DAYS = 3
DAY_COLOURS = (
    "#c0392b", "#2471a3", "#229954", "#d68910", "#7d3c98",
    "#17a589", "#a04000", "#2e4053", "#d4ac0d", "#cb4335",
)  # fmt: skip
_CACHE: StampedCache[MonthPlan] = StampedCache(maxsize=64)


class NoTownship(NotFound):
    """No township to show: no boundaries imported (or none in the area)."""

    code = "no_township"


class BelowTownship(ApiError):
    """The area is a village or group: a plan covers a whole township, more than it may see."""

    status = 403
    code = "area_below_township"


@dataclass(frozen=True)
class PlanOptions:
    """What the team leader may change; ``days`` None means enough days for every village."""

    days: int | None = None
    service_minutes: float = 30
    day_minutes: float = 480
    speed_kmh: float = 30
    start: dt.time = dt.time(8, 30)
    distance: str = "straight"


@dataclass
class MonthPlan:
    """A township's month plan: days with their stops (dicts ready for pages), unassigned."""

    township_code: str
    township_name: str
    team: dict[str, Any]
    month: dt.date
    depot: tuple[float, float]
    options: PlanOptions
    days: list[dict[str, Any]] = field(default_factory=list)
    unassigned: list[dict[str, Any]] = field(default_factory=list)
    villages: int = 0


def plan_dates(month: dt.date, n: int) -> list[dt.date]:
    """``n`` working days spread over the month (Monday-Friday), so repeat trips are spaced.

    >>> [d.isoformat() for d in plan_dates(dt.date(2014, 1, 1), 3)]
    ['2014-01-01', '2014-01-10', '2014-01-22']
    """
    first = month.replace(day=1)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    workdays = [
        first + dt.timedelta(days=i)
        for i in range((nxt - first).days)
        if (first + dt.timedelta(days=i)).weekday() < 5
    ]
    if n >= len(workdays):
        return workdays[:n]
    step = len(workdays) / n
    return [workdays[math.floor(k * step)] for k in range(n)]


def _needed_days(villages: pd.DataFrame, depot: tuple[float, float], opts: PlanOptions) -> int:
    """Days enough for every village: service plus a nearest-neighbour travel estimate."""
    from geo.routing import straight_line_matrix

    matrix = straight_line_matrix(
        np.concatenate([[depot[0]], villages["lon"]]), np.concatenate([[depot[1]], villages["lat"]])
    ).astype(float)
    np.fill_diagonal(matrix, np.inf)
    travel_min = float(matrix.min(axis=1).sum()) * 0.06 / opts.speed_kmh
    visits = len(villages) + int((_visits(villages) > 1).sum())
    # 70% of the day: the nearest-neighbour estimate misses the way out and back each day.
    need = float(visits * opts.service_minutes + travel_min) / (opts.day_minutes * 0.7)
    return max(STANDARD_DAYS, math.ceil(need))


def _priorities(villages: pd.DataFrame) -> np.ndarray:
    urgent = (villages["open_disputes"] > 0) | (villages["visits_last_month"] == 0)
    return np.where(urgent, MUST_VISIT, 1)


def _visits(villages: pd.DataFrame) -> np.ndarray:
    """Visits in the month: twice where disputes are open (a follow-up, spaced), else once."""
    return np.where(villages["open_disputes"] > 0, 2, 1)


@dataclass(frozen=True)
class _Solved:
    answer: dict[str, Any]
    request: routes.PlanRequest
    along: routes.AlongRoads | None


def _solve(
    session: Session,
    villages: pd.DataFrame,
    depot: tuple[float, float],
    opts: PlanOptions,
    days: int,
) -> _Solved:
    payload = {
        "depot": {"lon": depot[0], "lat": depot[1]},
        "stops": [
            {
                "id": code,
                "lon": lon,
                "lat": lat,
                "service_minutes": opts.service_minutes,
                "priority": int(p),
                # A second visit needs two days; with one day each village comes once.
                "visits": int(v) if days > 1 else 1,
            }
            for code, lon, lat, p, v in zip(
                villages["code"],
                villages["lon"],
                villages["lat"],
                _priorities(villages),
                _visits(villages),
                strict=True,
            )
        ],
        "days": days,
        "teams": 1,
        "day_minutes": opts.day_minutes,
        "speed_kmh": opts.speed_kmh,
        "distance": opts.distance,
    }
    request = routes.parse_request(payload, extent=None)
    along = routes.along_roads(session, request)
    return _Solved(routes.plan(request, along=along), request, along)


def _build(session: Session, township_code: str, month: dt.date, opts: PlanOptions) -> MonthPlan:
    generation = active_generation(session)
    if generation is None:
        raise NoTownship("no active boundary generation: import boundaries first")
    township = team_queries.team_of_township(session, generation.id, township_code)
    if township is None:
        raise NoTownship(f"no township {township_code}")
    villages = team_queries.township_villages(session, generation.id, township_code, as_of=month)
    depot = (float(township["lon"]), float(township["lat"]))
    team = {k: township[k] for k in ("team_id", "team_name", "leader")}
    plan = MonthPlan(township_code, township["name"], team, month, depot, opts)
    plan.villages = len(villages)
    if villages.empty:
        return plan
    days = opts.days or _needed_days(villages, depot, opts)
    solved = _solve(session, villages, depot, opts, days)
    if opts.days is None and any(
        u["reason"].startswith("no room") for u in solved.answer["unassigned"]
    ):
        days += 1  # the estimate was short: one more day, once
        solved = _solve(session, villages, depot, opts, days)
    _fill(plan, villages, solved)
    return plan


def _fill(plan: MonthPlan, villages: pd.DataFrame, solved: _Solved) -> None:
    """Turn the API answer into page rows: dates, colours, suggested times, day-sheet fields."""
    answer, request = solved.answer, solved.request
    problem = routes.problem_of(request, solved.along)
    seen: set[str] = set()
    index = {code: i + 1 for i, code in enumerate(request.ids)}
    info = villages.set_index("code")
    start_s = plan.options.start.hour * 3600 + plan.options.start.minute * 60
    dates = plan_dates(plan.month, len(answer["days"]))
    priority = _priorities(villages)
    for k, day in enumerate(answer["days"]):
        nodes = [index[c] for c in day["stops"]]
        times = schedule(problem, nodes, start_s=start_s)
        stops = []
        for order, (code, (arrive, leave)) in enumerate(zip(day["stops"], times, strict=True), 1):
            row = info.loc[code]
            stops.append(
                {
                    "order": order,
                    "code": code,
                    "name": row["name"],
                    "lon": float(row["lon"]),
                    "lat": float(row["lat"]),
                    "station": row["station"],
                    "station_phone": row["station_phone"],
                    "officer_phones": row["officer_phones"] or "",
                    "open_cases": int(row["open_cases"]),
                    "open_disputes": int(row["open_disputes"]),
                    "urgent": bool(priority[index[code] - 1] >= MUST_VISIT),
                    "repeat": code in seen,
                    "arrive": _clock(arrive),
                    "leave": _clock(leave),
                }
            )
        seen.update(day["stops"])
        back = start_s + int(day["duration_minutes"] * 60)
        plan.days.append(
            {
                "day": day["day"],
                "date": dates[k] if k < len(dates) else None,
                "colour": DAY_COLOURS[k % len(DAY_COLOURS)],
                "stops": stops,
                "distance_m": day["distance_m"],
                "duration_minutes": day["duration_minutes"],
                "start": _clock(start_s),
                "back": _clock(back),
            }
        )
    names = dict(zip(villages["code"], villages["name"], strict=True))
    plan.unassigned = [
        {"code": u["id"], "name": names.get(u["id"], ""), "reason": u["reason"]}
        for u in answer["unassigned"]
    ]


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def month_plan(
    session: Session, township_code: str, month: dt.date, options: PlanOptions | None = None
) -> MonthPlan:
    """The township's plan for ``month`` (its first day), cached while the data are unchanged."""
    opts = options or PlanOptions()
    month = month.replace(day=1)
    return _CACHE.get_or_build(
        data_stamp(session),
        ("plan", township_code, month, opts),
        lambda: _build(session, township_code, month, opts),
    )


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def planned_vs_done(session: Session, plan: MonthPlan) -> dict[str, Any]:
    """What the team's recorded visits show for the planned month.

    ``visited`` / ``missed``: planned villages with / without a visit by the team that month;
    ``days``: per planned day, whether the team recorded visits on that date and the GPS
    distance between that day's visit points in time order (straight lines, so a lower
    bound of the road distance); ``days_worked`` against the three-day standard.
    """
    team_id = plan.team.get("team_id")
    end = _month_end(plan.month)
    empty = pd.DataFrame(columns=["visited_at", "code", "lon", "lat"])
    points = (
        team_queries.team_visit_points(
            session, team_id, plan.township_code[:6], start=plan.month, end=end
        )
        if team_id is not None
        else empty
    )
    dates = pd.to_datetime(points["visited_at"], utc=True).dt.date if len(points) else pd.Series()
    visited_codes = set(points["code"].dropna())
    # Each village once (a village seen twice is planned on two days).
    planned = list({s["code"]: s for day in plan.days for s in day["stops"]}.values())
    days = []
    for day in plan.days:
        on_day = points[dates == day["date"]] if len(points) else empty
        days.append(
            {
                "day": day["day"],
                "date": day["date"],
                "kept": len(on_day) > 0,
                "visits": len(on_day),
                "planned_visited": sum(s["code"] in set(on_day["code"]) for s in day["stops"]),
                "planned": len(day["stops"]),
                "travelled_km": round(track_length_m(on_day["lon"], on_day["lat"]) / 1000, 1),
            }
        )
    per_day = (
        [track_length_m(g["lon"], g["lat"]) for _, g in points.groupby(dates)]
        if len(points)
        else []
    )
    worked = int(dates.nunique()) if len(points) else 0
    return {
        "visited": [s for s in planned if s["code"] in visited_codes],
        "missed": [s for s in planned if s["code"] not in visited_codes],
        "days": days,
        "days_worked": worked,
        "standard_days": STANDARD_DAYS,
        "meets_standard": worked >= STANDARD_DAYS,
        "visits": len(points),
        "villages_visited": len(visited_codes),
        "villages": plan.villages,
        "travelled_km": round(sum(per_day) / 1000, 1),
        "planned_km": round(sum(d["distance_m"] for d in plan.days) / 1000, 1),
        "past": end <= dt.date.today() or len(points) > 0,
    }


def visit_history(session: Session, plan: MonthPlan, *, months: int = 6) -> dict[str, Any]:
    """Visits per village over the ``months`` before the plan's month (aggregates only)."""
    start = plan.month
    for _ in range(months):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    rows = team_queries.village_visit_months(
        session, plan.township_code, start=start, end=plan.month
    )
    labels = []
    m = start
    while m < plan.month:
        labels.append(m)
        m = _month_end(m)
    table: dict[str, dict[str, Any]] = {}
    for r in rows.itertuples(index=False):
        entry = table.setdefault(r.code, {"months": {}, "households": 0, "last_visit": None})
        entry["months"][r.month] = int(r.visits)
        entry["households"] += int(r.households)
        entry["last_visit"] = max(filter(None, [entry["last_visit"], r.last_visit]))
    return {"months": labels, "villages": table}


def day_gpx(plan: MonthPlan, day_number: int) -> str:
    """One day's route as GPX for phones: the depot, numbered stops as waypoints, the route."""
    day = next((d for d in plan.days if d["day"] == day_number), None)
    if day is None:
        raise NotFound(f"no day {day_number} in this plan")
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "qungong"
    title = f"{plan.township_name} {plan.month:%Y-%m} day {day_number}"
    route = gpxpy.gpx.GPXRoute(name=title)
    lon0, lat0 = plan.depot
    route.points.append(gpxpy.gpx.GPXRoutePoint(lat0, lon0, name="0 township office"))
    for stop in day["stops"]:
        name = f"{stop['order']} {stop['name']}"
        gpx.waypoints.append(
            gpxpy.gpx.GPXWaypoint(stop["lat"], stop["lon"], name=name, comment=stop["arrive"])
        )
        route.points.append(gpxpy.gpx.GPXRoutePoint(stop["lat"], stop["lon"], name=name))
    route.points.append(gpxpy.gpx.GPXRoutePoint(lat0, lon0, name="0 township office"))
    gpx.routes.append(route)
    return str(gpx.to_xml())


def township_for(session: Session, area_code: str) -> str:
    """The township a page shows for an area: the area itself, else its first township.

    A village or group is refused (:class:`BelowTownship`), never widened to its township:
    the plan lists every village of the township with phones and open cases.
    """
    from flask_babel import gettext as _

    from models.places import area_prefix

    prefix = area_prefix(area_code)
    if len(prefix) > 9:
        raise BelowTownship(
            _("工作队计划以乡镇为单位，而此区域是村或村民小组：无权查看整个乡镇的计划")
        )
    if len(prefix) == 9:
        return prefix + "000"
    generation = active_generation(session)
    code = (
        None if generation is None else team_queries.first_township(session, generation.id, prefix)
    )
    if code is None:
        raise NoTownship("no township in this area: import boundaries first")
    return code


def default_month(session: Session, township_code: str) -> dt.date:
    """The month to plan: the one after the township's latest recorded visit (else today's)."""
    last = team_queries.last_visit_day(session, township_code) or dt.date.today()
    return _month_end(last)

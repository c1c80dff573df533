"""Coverage of the mass-work network for planners: one answer for the page, the API and the CLI.

query (models.coverage) -> measures and gap score (geo.coverage) -> a ranked frame with the
reason in words, scoped to the caller's area and cached until the data change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from geo.coverage import COMPONENTS, Standard, Weights, gap_scores, group_measures, reasons, roll_up
from geo.density import MIN_COUNT, small_counts
from geo.roads import nearest_along_roads, pairs_along_roads, road_graph
from models import coverage as db
from models import roads as road_db
from models.cache import StampedCache, data_stamp
from models.places import CITY_CODE, area_prefix, level_of
from webmap.errors import ApiError, NotFound

__all__ = [
    "LEVELS",
    "CoverageQuery",
    "CoverageResult",
    "component_labels",
    "coverage",
    "export_frame",
    "geojson",
    "places",
    "resolve_area",
]

LEVELS = ("group", "village", "township", "county")
_DEPTH = ("province", "city", "county", "township", "village", "group")
#: the columns of ``qungong coverage`` (issue #11), then the rest of the measures.
EXPORT_COLUMNS = (
    "code",
    "name",
    "level",
    "county_code",
    "township_code",
    "station_code",
    "distance_own_m",
    "distance_nearest_m",
    "officers",
    "households",
    "days_since_visit",
    "score",
    "distance_nearest_road_m",  # with roads only
    "travel_minutes",  # with roads only
    "distance_own_road_m",  # with roads only
    "travel_minutes_own",  # with roads only
)
EXTRA_COLUMNS = (
    "rank",
    "posts",
    "vacant",
    "officers_per_100_households",
    "households_visited",
    "visit_days",
    "standard_days",
    "cases",
    "cases_per_1000",
    "visits_per_1000",
    *(f"c_{k}" for k in COMPONENTS),
    "reason",
)

# Group points and stations (and road distances) per (generation, area), on boundaries only.
_PLACES: StampedCache[tuple[pd.DataFrame, pd.DataFrame]] = StampedCache(maxsize=16)
# Group measures per (generation, area, standard); the page's re-weighting reuses them.
_MEASURES: StampedCache[tuple[pd.Timestamp, pd.DataFrame]] = StampedCache(maxsize=16)
# The same rolled up per level (gap_scores copies, so a cached frame is never changed).
_ROLLED: StampedCache[pd.DataFrame] = StampedCache(maxsize=32)


class BadQuery(ApiError):
    status = 400
    code = "bad_coverage_query"


@dataclass(frozen=True)
class CoverageQuery:
    """What a planner asks: an area, a level, a generation, the weights and the standard."""

    area: str = CITY_CODE
    level: str = "village"
    generation: str | None = None
    weights: Weights = field(default_factory=Weights)
    standard: Standard = field(default_factory=Standard)


@dataclass
class CoverageResult:
    """The ranked measures of one query, with what they were taken against."""

    query: CoverageQuery
    generation: str
    generation_id: int
    prefix: str
    as_of: pd.Timestamp
    frame: pd.DataFrame  # one row per unit, rank 1 first


def component_labels() -> dict[str, str]:
    """The score's components in the user's language."""
    return {
        "distance": _("距工作站"),
        "officers": _("信息员缺岗"),
        "recency": _("久未走访"),
        "visits": _("走访天数不足"),
        "need": _("案件多走访少"),
    }


def reason_templates() -> dict[str, str]:
    """Reason phrases in the user's language; fields are filled by ``geo.coverage.reasons``."""
    return {
        "distance_own": _("距本村工作站 {km_own} 公里"),
        "no_station": _("本村无工作站，最近的工作站 {km_nearest} 公里"),
        "officers": _("信息员岗位空缺 {vacant}/{posts}"),
        "never_visited": _("近期从未走访"),
        "recency": _("已 {days} 天未走访"),
        "visits": _("工作队驻村 {visit_days} 天，标准 {standard_days} 天"),
        "need": _("每千户案件 {cases_per_1000} 件，走访 {visits_per_1000} 次"),
        "none": _("无明显缺口"),
    }


def resolve_area(area: str | None, user_area: str) -> tuple[str, str]:
    """(area code, code prefix) for ``area`` (default: the user's own) as seen by that user.

    Raises NotFound for a malformed code or one outside the user's area: the user cannot tell
    an area they may not see from one that does not exist, which is the point.
    """
    area = (area or user_area).strip()
    if not area.isdigit() or len(area) not in (12, 15):
        raise NotFound(_("未知区域代码：%(code)s", code=area[:20]))
    if not area_prefix(area).startswith(area_prefix(user_area)):
        raise NotFound(_("未知区域代码：%(code)s", code=area))
    return area, area_prefix(area)


def _generation(session: Session, name: str | None) -> tuple[int, str]:
    known = db.generations(session)
    if not known:
        raise NotFound(_("尚无边界数据"))
    if name:
        for gid, gname, _active in known:
            if gname == name:
                return gid, gname
        raise NotFound(_("未知边界版本：%(name)s", name=name))
    for gid, gname, active in known:
        if active:
            return gid, gname
    return known[-1][0], known[-1][1]


def places(
    session: Session, generation_id: int, prefix: str = ""
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(groups, stations) of an area in metres, plus road distances when roads exist.

    Cached on the boundary part of the data stamp: points, stations and roads change only
    with an import, while cases change all day and would otherwise re-read 47,224 points
    (1.5 s of a city-wide measure) and re-route every group.
    """

    def build() -> tuple[pd.DataFrame, pd.DataFrame]:
        groups = db.groups(session, generation_id, prefix=prefix)
        stations = db.stations(session, generation_id)
        return _with_roads(session, groups, stations), stations

    stamp = data_stamp(session).boundaries()
    return _PLACES.get_or_build(stamp, (generation_id, prefix), build)


def _measures(
    session: Session, generation_id: int, prefix: str, standard: Standard, level: str = "group"
) -> tuple[pd.Timestamp, pd.DataFrame]:
    """Group measures of an area rolled up to ``level``, cached until an import, a register or
    the standard changes (the page rolls the same measures up to two levels per view)."""

    def build() -> tuple[pd.Timestamp, pd.DataFrame]:
        as_of = db.as_of(session)
        groups, stations = places(session, generation_id, prefix)
        activity = db.activity(
            session,
            generation_id,
            prefix=prefix,
            as_of=as_of,
            window_days=standard.window_days,
            need_days=standard.need_days,
        )
        measures = group_measures(groups, stations, activity, as_of=as_of, standard=standard)
        return as_of, measures

    # Registers and visits arrive through import batches, which the stamp follows.
    stamp = data_stamp(session)
    key = (generation_id, prefix, standard)
    as_of, measures = _MEASURES.get_or_build(stamp, key, build)
    if level == "group":
        return as_of, measures
    rolled = _ROLLED.get_or_build(stamp, (*key, level), lambda: roll_up(measures, level))
    return as_of, rolled


def _with_roads(session: Session, groups: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """Along the imported roads (when there are roads), in metres and minutes: to the nearest
    station and to the group's own (its village's) station."""
    lines = road_db.road_lines(session)
    if lines.empty:
        return groups
    speeds = lines.groupby("road_class")["speed_kmh"].first().to_dict()
    graph = road_graph(lines, class_column="road_class", speeds=speeds)
    st_xy, xy = stations[["x", "y"]].to_numpy(), groups[["x", "y"]].to_numpy()
    along = nearest_along_roads(graph, st_xy, xy)
    # one station per village at most; a group whose village has none gets NaN
    index = pd.Series(np.arange(len(stations)), index=stations["station_code"].astype(str))
    index = index[~index.index.duplicated()]
    own_of = index.reindex(groups["village_code"].astype(str)).fillna(-1).to_numpy(np.intp)
    own = pairs_along_roads(graph, st_xy, xy, own_of, nearest=along)
    return groups.assign(
        distance_nearest_road_m=along["road_m"].round(0).to_numpy(),
        travel_minutes=along["road_minutes"].round(1).to_numpy(),
        distance_own_road_m=own["road_m"].round(0).to_numpy(),
        travel_minutes_own=own["road_minutes"].round(1).to_numpy(),
    )


def coverage(session: Session, query: CoverageQuery, *, user_area: str) -> CoverageResult:
    """The ranked coverage gaps of ``query.area`` at ``query.level``."""
    if query.level not in LEVELS:
        raise BadQuery(_("未知层级：%(level)s", level=query.level))
    area, prefix = resolve_area(query.area, user_area)
    generation_id, generation = _generation(session, query.generation)
    if area != CITY_CODE and not db.unit_names(session, generation_id, [area]):
        raise NotFound(_("未知区域代码：%(code)s", code=area))
    if _DEPTH.index(query.level) <= _DEPTH.index(level_of(area)):
        raise BadQuery(_("层级 %(level)s 不在区域 %(code)s 之下", level=query.level, code=area))
    as_of, measures = _measures(session, generation_id, prefix, query.standard, query.level)
    frame = gap_scores(measures, query.weights, standard=query.standard)
    if query.level != "group":
        names = db.unit_names(session, generation_id, frame["code"].tolist())
        frame["name"] = frame["code"].map(names)
    frame["level"] = query.level
    frame = frame.sort_values("rank").reset_index(drop=True)
    return CoverageResult(query, generation, generation_id, prefix, as_of, frame)


def with_reasons(result: CoverageResult, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """``rows`` (default: all) of a result with the ``reason`` column in the user's language."""
    frame = result.frame if rows is None else rows
    out = frame.copy()
    # A rate would give away a count under five (households are public): say "—" instead.
    small = small_counts(out["cases"].to_numpy())
    shown = out.assign(cases_per_1000=out["cases_per_1000"].where(~small))
    out["reason"] = reasons(shown, reason_templates(), weights=result.query.weights)
    return out


def _masked_cases(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    small = small_counts(out["cases"].to_numpy())
    out["cases"] = out["cases"].astype(object).where(~small, f"<{MIN_COUNT}")
    out["cases_per_1000"] = out["cases_per_1000"].round(1).astype(object).where(~small, None)
    return out


def export_frame(result: CoverageResult, *, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The result as a table to hand out: the issue's columns first, small counts masked."""
    frame = _masked_cases(with_reasons(result))
    # station_code exists for groups and villages only
    cols = [c for c in (columns or (*EXPORT_COLUMNS, *EXTRA_COLUMNS)) if c in frame]
    out = frame[cols].copy()
    for col, digits in (
        ("distance_own_m", 0),
        ("distance_nearest_m", 0),
        ("distance_nearest_road_m", 0),
        ("travel_minutes", 1),
        ("distance_own_road_m", 0),
        ("travel_minutes_own", 1),
    ):
        if col in out:
            out[col] = out[col].round(digits)
    return out


def geojson(
    session: Session, result: CoverageResult, *, tolerance: float = 0.0005
) -> dict[str, Any]:
    """A FeatureCollection, one feature per unit with its measures, score and reason."""
    table = export_frame(result)
    shapes = db.unit_shapes(
        session,
        result.generation_id,
        level=result.query.level,
        prefix=result.prefix,
        tolerance=tolerance,
    ).set_index("code")
    table = table[table["code"].isin(shapes.index)]
    geometry = shapes["geometry"].reindex(table["code"]).tolist()
    records = json.loads(table.to_json(orient="records", force_ascii=False))
    features = [
        {"type": "Feature", "properties": props, "geometry": json.loads(geom)}
        for props, geom in zip(records, geometry, strict=True)
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "generation": result.generation,
        "as_of": result.as_of.date().isoformat(),
        "level": result.query.level,
        "weights": result.query.weights.as_dict(),
    }


def _int_arg(args: Any, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadQuery(
            _("参数 %(name)s 应为整数：%(value)s", name=name, value=str(raw)[:20])
        ) from None
    if not low <= value <= high:
        raise BadQuery(
            _("参数 %(name)s 应在 %(low)s 到 %(high)s 之间", name=name, low=low, high=high)
        )
    return value


def parse_query(args: Any, *, default_area: str) -> CoverageQuery:
    """A :class:`CoverageQuery` from request args or JSON (``area, level, generation,
    window, w_distance, w_officers, w_recency, w_visits, w_need``); bad values -> 400."""
    level = args.get("level") or "village"
    if level not in LEVELS:
        raise BadQuery(_("未知层级：%(level)s", level=str(level)[:20]))
    try:
        weights = Weights.from_mapping({k: args.get(f"w_{k}") for k in COMPONENTS})
    except ValueError as err:
        raise BadQuery(str(err)) from None
    standard = Standard(window_days=_int_arg(args, "window", 90, 7, 730))
    return CoverageQuery(
        area=str(args.get("area") or default_area),
        level=level,
        generation=args.get("generation") or None,
        weights=weights,
        standard=standard,
    )

"""Where new stations would reach the most uncovered demand: one answer for page, API and CLI.

Demand is every villager group of the area (households, or cases in the need window) that no
existing station reaches within the distance; candidates are the area's villages (their
representative points) or the planner's own points.  MCLP picks ``sites`` of them
(``geo.siting``), LSCP the fewest that reach all reachable demand.  The answer carries
coverage before and after, what each site adds, the greedy pick's shortfall and station
pairs close enough that one could serve both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import gettext as _
from pyproj import Transformer

from geo.coverage import METRIC_CRS
from geo.siting import (
    SitingResult,
    close_station_pairs,
    covered_by,
    covers,
    greedy_mclp,
    lscp,
    mclp,
)
from models import coverage as db
from webmap.errors import ApiError
from webmap.services.coverage import CoverageQuery, coverage

__all__ = ["MAX_WITHIN_M", "SitingQuery", "parse_siting", "siting"]

MIN_WITHIN_M, MAX_WITHIN_M = 100.0, 50_000.0
METHODS = ("mclp", "lscp")
DEMANDS = ("households", "cases")
_TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_TO_LONLAT = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


class BadSiting(ApiError):
    status = 400
    code = "bad_siting"


@dataclass(frozen=True)
class SitingQuery:
    """A siting run: area, number of sites, reach, method, what demand counts, candidates."""

    area: str
    sites: int = 5
    within_m: float = 3000.0
    method: str = "mclp"
    demand: str = "households"
    generation: str | None = None
    #: the planner's own candidates (lon, lat, name); None: the area's villages
    candidates: tuple[tuple[float, float, str], ...] | None = None
    pair_m: float = 500.0


def _number(payload: dict[str, Any], key: str, default: float) -> float:
    raw = payload.get(key, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise BadSiting(_("%(key)s 应为数字：%(value)s", key=key, value=str(raw)[:20])) from None
    if not np.isfinite(value):
        raise BadSiting(_("%(key)s 应为数字：%(value)s", key=key, value=str(raw)[:20]))
    return value


def _candidates(raw: Any) -> tuple[tuple[float, float, str], ...] | None:
    if raw in (None, "", []):
        return None if raw is None or raw == "" else ()
    if not isinstance(raw, list):
        raise BadSiting(_("candidates 应为 [经度, 纬度] 或 {lon, lat, name} 的列表"))
    out = []
    for i, item in enumerate(raw[:5001]):
        try:
            if isinstance(item, dict):
                lon, lat, name = float(item["lon"]), float(item["lat"]), str(item.get("name") or "")
            else:
                lon, lat, name = float(item[0]), float(item[1]), ""
        except (KeyError, IndexError, TypeError, ValueError):
            raise BadSiting(_("第 %(n)s 个候选点无法读取经纬度", n=i + 1)) from None
        if not (108 <= lon <= 114 and 24 <= lat <= 30):
            raise BadSiting(
                _("第 %(n)s 个候选点不在邵阳附近：%(lon)s, %(lat)s", n=i + 1, lon=lon, lat=lat)
            )
        out.append((lon, lat, name[:60] or _("候选点 %(n)s", n=i + 1)))
    return tuple(out)


def parse_siting(payload: object, *, default_area: str) -> SitingQuery:
    """A :class:`SitingQuery` from JSON; a bad or absurd value -> 400 naming it."""
    if not isinstance(payload, dict):
        raise BadSiting(_("请求应为 JSON 对象"))
    within = _number(payload, "within", 3000.0)
    if not MIN_WITHIN_M <= within <= MAX_WITHIN_M:
        raise BadSiting(
            _(
                "服务距离应在 %(low)s 到 %(high)s 米之间，收到 %(value)s",
                low=int(MIN_WITHIN_M),
                high=int(MAX_WITHIN_M),
                value=within,
            )
        )
    sites = _number(payload, "sites", 5)
    if sites != int(sites) or not 1 <= sites <= 200:
        raise BadSiting(_("新站点数应为 1 到 200 的整数，收到 %(value)s", value=sites))
    method = str(payload.get("method") or "mclp")
    if method not in METHODS:
        raise BadSiting(_("未知方法：%(m)s（mclp 或 lscp）", m=method[:20]))
    demand = str(payload.get("demand") or "households")
    if demand not in DEMANDS:
        raise BadSiting(_("未知需求口径：%(d)s（households 或 cases）", d=demand[:20]))
    return SitingQuery(
        area=str(payload.get("area") or default_area),
        sites=int(sites),
        within_m=within,
        method=method,
        demand=demand,
        generation=payload.get("generation") or None,
        candidates=_candidates(payload.get("candidates")),
    )


def _candidate_frame(
    session: Any, generation_id: int, prefix: str, query: SitingQuery
) -> pd.DataFrame:
    if query.candidates is None:
        frame = db.village_points(session, generation_id, prefix=prefix)
        frame["source"] = "village"
    else:
        lon, lat, names = (
            (np.array(v) for v in zip(*query.candidates, strict=True))
            if query.candidates
            else ([], [], [])
        )
        x, y = _TO_METRIC.transform(np.asarray(lon, float), np.asarray(lat, float))
        frame = pd.DataFrame({"code": None, "name": names, "x": x, "y": y, "source": "planner"})
    if frame.empty:
        raise BadSiting(_("没有候选站点"))
    if query.method == "mclp" and query.sites > len(frame):
        raise BadSiting(
            _("新站点数 %(sites)s 多于候选站点数 %(n)s", sites=query.sites, n=len(frame))
        )
    return frame.reset_index(drop=True)


def siting(session: Any, query: SitingQuery, *, user_area: str) -> dict[str, Any]:
    """Run MCLP or LSCP for ``query`` within the user's area; a JSON-ready answer."""
    result = coverage(
        session,
        CoverageQuery(area=query.area, level="group", generation=query.generation),
        user_area=user_area,
    )
    groups = result.frame
    demand_xy = groups[["x", "y"]].to_numpy(dtype=np.float64)
    weight = groups[query.demand].to_numpy(dtype=np.float64)
    stations = db.stations(session, result.generation_id)
    before = covered_by(demand_xy, stations[["x", "y"]].to_numpy(), query.within_m)
    candidates = _candidate_frame(session, result.generation_id, result.prefix, query)
    # Demand already within reach of a station counts for nothing: new sites serve the rest.
    cover = covers(demand_xy, candidates[["x", "y"]].to_numpy(dtype=np.float64), query.within_m)
    run, greedy = _solve(np.where(before, 0.0, weight), cover, query)
    total = float(weight.sum()) or 1.0
    reached = (
        np.asarray(cover[:, run.chosen].sum(axis=1)).ravel() > 0
        if len(run.chosen)
        else np.zeros(len(groups), bool)
    )
    newly = reached & ~before
    in_area = groups["village_code"].str.startswith(result.prefix)
    return {
        "area": query.area,
        "generation": result.generation,
        "method": query.method,
        "demand": query.demand,
        "within_m": query.within_m,
        "candidates": len(candidates),
        "candidate_source": "village" if query.candidates is None else "planner",
        "demand_total": total,
        "before": _covered(weight, before, total),
        "after": _covered(weight, before | newly, total),
        "sites": _sites(candidates.iloc[run.chosen], run.added, total),
        "newly_covered_groups": groups.loc[newly & in_area, "code"].tolist(),
        "optimal": run.optimal,
        "status": run.status,
        "seconds": round(run.seconds, 3),
        "model_rows": run.rows,
        "greedy": None
        if greedy is None
        else {
            "covered": greedy.covered,
            "shortfall_points": 100 * (run.covered - greedy.covered) / total,
        },
        "close_pairs": _close_pairs(session, result.generation_id, stations, result.prefix, query),
    }


def _solve(
    open_w: np.ndarray, cover: Any, query: SitingQuery
) -> tuple[SitingResult, SitingResult | None]:
    """The optimal sites (MCLP or LSCP) and, for MCLP, the greedy pick to compare with."""
    if query.method == "mclp":
        return mclp(open_w, cover, query.sites), greedy_mclp(open_w, cover, query.sites)
    return lscp(open_w, cover), None


def _covered(weight: np.ndarray, covered: np.ndarray, total: float) -> dict[str, float]:
    return {"covered": float(weight[covered].sum()), "share": float(weight[covered].sum()) / total}


def _sites(chosen: pd.DataFrame, added: Any, total: float) -> list[dict[str, Any]]:
    """The chosen sites in lon/lat, each with the demand it adds (greedy order of the optimum)."""
    lon, lat = _TO_LONLAT.transform(chosen["x"].to_numpy(), chosen["y"].to_numpy())
    return [
        {
            "rank": i + 1,
            "code": None if pd.isna(row.code) else row.code,
            "name": row.name,
            "lon": round(float(lon[i]), 6),
            "lat": round(float(lat[i]), 6),
            "adds": float(added[i]),
            "adds_share": float(added[i]) / total,
        }
        for i, row in enumerate(chosen.itertuples(index=False))
    ]


def _close_pairs(
    session: Any, generation_id: int, stations: pd.DataFrame, prefix: str, query: SitingQuery
) -> list[dict[str, Any]]:
    """Stations of the area so close to each other that one could serve both, with names."""
    st_area = stations[stations["station_code"].str.startswith(prefix)]
    pairs = close_station_pairs(
        st_area["station_code"], st_area[["x", "y"]].to_numpy(), query.pair_m
    )
    names = db.unit_names(
        session, generation_id, list(pairs["station_a"]) + list(pairs["station_b"])
    )
    return [
        {
            "station_a": a,
            "name_a": names.get(a, a),
            "station_b": b,
            "name_b": names.get(b, b),
            "distance_m": float(d),
        }
        for a, b, d in pairs.itertuples(index=False)
    ]

"""Coverage measures of the mass-work network and a gap score that explains itself.

"Under-covered" means several things to a planner, so each is measured on its own, per villager
group, and then rolled up to village, township and county:

* **distance**: metres from the group to its own village's station and to the nearest station
  (straight line in the metric EPSG:4546; along roads when the caller gives road distances);
* **officers**: information officers against the posts the standard asks for, vacant posts;
* **recency**: days since the last household visit in the group;
* **visits**: days the township team spent in the village in the last N days, against the
  three-days-a-month standard, and households visited in that window;
* **need**: cases per 1,000 households against visits per 1,000 households.

The gap score is a weighted mean of one 0-1 component per meaning, times 100.  The weights
are a parameter the page shows and lets the planner change; each row also carries the
components, so the reason is read off the same numbers the score is made of.

Everything here is pure: frames in, frames out, no database, no files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

__all__ = [
    "COMPONENTS",
    "LEVEL_KEYS",
    "METRIC_CRS",
    "Standard",
    "Weights",
    "gap_scores",
    "group_measures",
    "nearest_station",
    "reasons",
    "roll_up",
]

METRIC_CRS = "EPSG:4546"  # CGCS2000 / 3-degree Gauss-Kruger CM 111E: metres across Shaoyang
COMPONENTS = ("distance", "officers", "recency", "visits", "need")
#: measures along roads, present when roads are imported (household-weighted when rolled up)
ROAD_COLUMNS = (
    "distance_nearest_road_m",
    "travel_minutes",
    "distance_own_road_m",
    "travel_minutes_own",
)
#: The code column that names a unit of each level in a group-measure frame.
LEVEL_KEYS = {
    "group": "code",
    "village": "village_code",
    "township": "township_code",
    "county": "county_code",
}


@dataclass(frozen=True)
class Standard:
    """The service standard the measures are held against (all changeable by the caller)."""

    #: one officer post per group, plus one for every further ``households_per_post``.
    households_per_post: int = 80
    #: the work team spends three days a month in every village (三天一月).
    visit_days_per_month: float = 3.0
    #: the window (days before ``as_of``) for visit days and households visited.
    window_days: int = 90
    #: the window for the need ratio (cases and visits per 1,000 households).
    need_days: int = 365
    #: a station within this many metres serves a group fully; the distance component is 1 at
    #: this distance and beyond.
    reach_m: float = 5000.0
    #: the recency component is 1 after this many days without a visit.
    stale_days: int = 180
    #: a group whose village has no station of its own scores at least this on distance:
    #: no station is a gap in itself, however near a neighbour's station happens to be.
    no_station_floor: float = 0.8

    def standard_days(self) -> float:
        """Visit days the standard asks for in the window."""
        return self.visit_days_per_month * self.window_days / 30.0


@dataclass(frozen=True)
class Weights:
    """Weights of the score's components; they need not sum to one (the score divides)."""

    distance: float = 0.25
    officers: float = 0.20
    recency: float = 0.20
    visits: float = 0.20
    need: float = 0.15

    def as_dict(self) -> dict[str, float]:
        """The weights by component name."""
        return asdict(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Weights:
        """Weights from a form or JSON, with a clear error for a bad value."""
        kwargs: dict[str, float] = {}
        for name in COMPONENTS:
            if name not in values or values[name] in (None, ""):
                continue
            try:
                weight = float(values[name])  # type: ignore[arg-type]
            except (TypeError, ValueError):
                msg = f"weight {name!r} must be a number, got {values[name]!r}"
                raise ValueError(msg) from None
            if not 0 <= weight <= 100 or not np.isfinite(weight):
                msg = f"weight {name!r} must be between 0 and 100, got {weight}"
                raise ValueError(msg)
            kwargs[name] = weight
        weights = cls(**kwargs)
        if sum(weights.as_dict().values()) <= 0:
            msg = "at least one weight must be above 0"
            raise ValueError(msg)
        return weights


def nearest_station(
    points: npt.ArrayLike, stations: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Distance (same units as the input) and index of the nearest station for each point.

    >>> d, i = nearest_station([[0, 0], [10, 0]], [[3, 4], [10, 1]])
    >>> d.tolist(), i.tolist()
    ([5.0, 1.0], [0, 1])
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    sts = np.asarray(stations, dtype=np.float64).reshape(-1, 2)
    if len(sts) == 0:
        return np.full(len(pts), np.nan), np.full(len(pts), -1, dtype=np.intp)
    distance, index = cKDTree(sts).query(pts, k=1)
    return np.asarray(distance, dtype=np.float64), np.asarray(index, dtype=np.intp)


def group_measures(
    groups: pd.DataFrame,
    stations: pd.DataFrame,
    activity: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    standard: Standard | None = None,
) -> pd.DataFrame:
    """The coverage measures of every villager group.

    Parameters
    ----------
    groups
        One row per group: ``code, name, county_code, township_code, village_code,
        households`` and its location ``x, y`` in metres (EPSG:4546).
    stations
        One row per station: ``station_code`` (its village's code), ``x, y`` in EPSG:4546.
    activity
        Indexed by group code (groups missing here had no activity): ``officers``,
        ``cases`` and ``visits`` (in the need window), ``households_visited`` (distinct, in the
        visit window), ``last_visit`` (Timestamp or NaT); and ``village_visit_days`` (days
        with any visit in the group's village in the visit window).
    as_of
        The day the measures are taken on (days since the last visit count from it).
    standard
        The service standard; the defaults of :class:`Standard` when None.

    Returns
    -------
    pandas.DataFrame
        The group columns plus ``station_code`` (own station or None), ``distance_own_m``
        (NaN when the village has no station), ``distance_nearest_m``, ``distance_m`` (own,
        else nearest: what the score uses),
        ``nearest_station_code``, ``officers``, ``posts``, ``vacant``,
        ``officers_per_100_households``, ``days_since_visit`` (NaN: never visited),
        ``households_visited``, ``visit_days``, ``standard_days``, ``cases``, ``visits``,
        ``cases_per_1000``, ``visits_per_1000``.
    """
    std = standard or Standard()
    out = groups.reset_index(drop=True).copy()
    xy = out[["x", "y"]].to_numpy(dtype=np.float64)
    st_xy = stations[["x", "y"]].to_numpy(dtype=np.float64)
    st_codes = stations["station_code"].astype(str).to_numpy()

    d_near, i_near = nearest_station(xy, st_xy)
    out["distance_nearest_m"] = d_near
    out["nearest_station_code"] = np.where(i_near >= 0, st_codes[np.maximum(i_near, 0)], None)

    # Own station: the station registered to the group's village (one per village at most).
    own = pd.Series(np.arange(len(st_codes)), index=st_codes)
    own = own[~own.index.duplicated()]
    j = own.reindex(out["village_code"].astype(str)).to_numpy()
    has = ~np.isnan(j)
    jj = np.where(has, j, 0).astype(np.intp)
    d_own = np.hypot(xy[:, 0] - st_xy[jj, 0], xy[:, 1] - st_xy[jj, 1]) if len(st_xy) else d_near
    out["station_code"] = np.where(has, out["village_code"].astype(str), None)
    out["distance_own_m"] = np.where(has, d_own, np.nan)
    # What the score uses: a group whose village lost its station is as badly placed as its
    # nearest station is far.
    out["distance_m"] = out["distance_own_m"].fillna(out["distance_nearest_m"])

    act = activity.reindex(out["code"].astype(str))
    hh = out["households"].fillna(0).to_numpy(dtype=np.float64)
    officers = act["officers"].fillna(0).to_numpy(dtype=np.float64)
    posts = 1 + np.maximum(np.ceil(hh / std.households_per_post) - 1, 0)
    out["officers"] = officers.astype(np.int64)
    out["posts"] = posts.astype(np.int64)
    out["vacant"] = np.maximum(posts - officers, 0).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["officers_per_100_households"] = np.where(hh > 0, 100 * officers / hh, np.nan)

    # Calendar days: a visit yesterday afternoon is one day ago, whatever the hour.
    last = pd.to_datetime(act["last_visit"]).dt.tz_localize(None).dt.normalize()
    day = pd.Timestamp(as_of).tz_localize(None).normalize()
    out["days_since_visit"] = ((day - last) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64)
    out["households_visited"] = act["households_visited"].fillna(0).to_numpy(np.int64)
    # Visit days belong to the village: groups without visits of their own share them.
    village = out["village_code"].astype(str)
    per_village = act["village_visit_days"].groupby(village.to_numpy()).max()
    out["visit_days"] = per_village.reindex(village).fillna(0).to_numpy(np.float64)
    out["standard_days"] = std.standard_days()
    out["cases"] = act["cases"].fillna(0).to_numpy(np.int64)
    out["visits"] = act["visits"].fillna(0).to_numpy(np.int64)
    _rates(out)
    return out


def _rates(frame: pd.DataFrame) -> None:
    hh = frame["households"].fillna(0).to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["cases_per_1000"] = np.where(hh > 0, 1000 * frame["cases"] / hh, np.nan)
        frame["visits_per_1000"] = np.where(hh > 0, 1000 * frame["visits"] / hh, np.nan)


def roll_up(measures: pd.DataFrame, level: str) -> pd.DataFrame:
    """Group measures summed or averaged up to ``level`` (village, township or county).

    Counts add up; distances are household-weighted means (``distance_m``, what the score
    uses, counts a group without a station of its own at its distance to the nearest one;
    ``distance_own_m`` is over the groups that have one); days since the last visit is that of the
    most recently visited group; visit days are the mean over the level's villages.
    """
    if level == "group":
        return measures.copy()
    if level not in LEVEL_KEYS:
        msg = f"unknown level {level!r}: use group, village, township or county"
        raise ValueError(msg)
    key = LEVEL_KEYS[level]
    m = measures.copy()
    w = m["households"].fillna(0).clip(lower=1).astype(np.float64)
    m["_w_eff"] = m["distance_m"] * w
    m["_w_own"] = m["distance_own_m"] * w
    m["_w_has"] = w.where(m["distance_own_m"].notna(), 0.0)
    m["_w_near"] = m["distance_nearest_m"] * w
    m["_w"] = w
    road_cols = [c for c in ROAD_COLUMNS if c in m]
    for c in road_cols:
        # over the groups that have the measure (no own station, or off the network: NaN)
        m[f"_w_{c}"] = m[c] * w
        m[f"_h_{c}"] = w.where(m[c].notna(), 0.0)
    m["_no_station"] = m["station_code"].isna().astype(np.int64)
    sums = ["households", "officers", "posts", "vacant", "households_visited", "cases", "visits"]
    agg = m.groupby(key, sort=True).agg(
        **{c: (c, "sum") for c in sums},
        **{c: (c, "sum") for c in ("_w_eff", "_w_own", "_w_has", "_w_near", "_w", "_no_station")},
        **{f"_w_{c}": (f"_w_{c}", "sum") for c in road_cols},
        **{f"_h_{c}": (f"_h_{c}", "sum") for c in road_cols},
        groups=("code", "size"),
        days_since_visit=("days_since_visit", "min"),
        standard_days=("standard_days", "first"),
        county_code=("county_code", "first"),
        township_code=("township_code", "first"),
    )
    per_village = m.groupby("village_code").agg(
        unit=(key, "first"), visit_days=("visit_days", "first")
    )
    agg["visit_days"] = per_village.groupby("unit")["visit_days"].mean()
    agg["distance_m"] = agg["_w_eff"] / agg["_w"]
    # Own-station distance over the groups that have one; NaN when none has.
    agg["distance_own_m"] = (agg["_w_own"] / agg["_w_has"]).where(agg["_w_has"] > 0)
    agg["distance_nearest_m"] = agg["_w_near"] / agg["_w"]
    agg["groups_without_station"] = agg.pop("_no_station")
    for c in road_cols:
        has = agg.pop(f"_h_{c}")
        agg[c] = (agg.pop(f"_w_{c}") / has).where(has > 0)
    agg = agg.drop(columns=["_w_eff", "_w_own", "_w_has", "_w_near", "_w"])
    if level == "village":
        agg["station_code"] = m.groupby(key)["station_code"].first()
    hh = agg["households"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        agg["officers_per_100_households"] = np.where(hh > 0, 100 * agg["officers"] / hh, np.nan)
    _rates(agg)
    agg.index.name = "code"
    return agg.reset_index()


def components(measures: pd.DataFrame, standard: Standard | None = None) -> pd.DataFrame:
    """The five 0-1 components of the gap score (1 = the worst gap)."""
    std = standard or Standard()
    d = measures["distance_m"].to_numpy(dtype=np.float64)
    if "groups_without_station" in measures:
        without = measures["groups_without_station"] / measures["groups"].clip(lower=1)
    else:
        without = measures["station_code"].isna().astype(np.float64)
    floor = std.no_station_floor * without.to_numpy(dtype=np.float64)
    posts = measures["posts"].to_numpy(dtype=np.float64)
    days = measures["days_since_visit"].to_numpy(dtype=np.float64)
    visit_days = measures["visit_days"].to_numpy(dtype=np.float64)
    cases = measures["cases_per_1000"].fillna(0).to_numpy(dtype=np.float64)
    visits = measures["visits_per_1000"].fillna(0).to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        vacancy = np.where(posts > 0, measures["vacant"].to_numpy(np.float64) / posts, 0.0)
        need = np.where(cases > 0, cases / (cases + visits), 0.0)
        shortfall = 1 - visit_days / std.standard_days()
    return pd.DataFrame(
        {
            "distance": np.clip(np.maximum(np.nan_to_num(d / std.reach_m, nan=1.0), floor), 0, 1),
            "officers": np.clip(vacancy, 0, 1),
            "recency": np.clip(np.nan_to_num(days / std.stale_days, nan=1.0), 0, 1),
            "visits": np.clip(shortfall, 0, 1),
            "need": np.clip(need, 0, 1),
        },
        index=measures.index,
    )


def gap_scores(
    measures: pd.DataFrame,
    weights: Weights | None = None,
    *,
    standard: Standard | None = None,
) -> pd.DataFrame:
    """``measures`` with ``c_<component>`` columns, ``score`` (0-100) and ``rank``.

    The score is ``100 * sum(w_k * c_k) / sum(w_k)``; rank 1 is the widest gap (ties keep
    the order of the input).
    """
    w = (weights or Weights()).as_dict()
    comp = components(measures, standard)
    total = sum(w.values())
    if total <= 0:
        msg = "at least one weight must be above 0"
        raise ValueError(msg)
    score = sum(w[k] * comp[k] for k in COMPONENTS) / total
    out = measures.copy()
    for k in COMPONENTS:
        out[f"c_{k}"] = comp[k].round(4)
    out["score"] = (100 * score).round(2)
    out["rank"] = out["score"].rank(ascending=False, method="first").astype(np.int64)
    return out


def reasons(
    scored: pd.DataFrame,
    templates: Mapping[str, str],
    *,
    weights: Weights | None = None,
    top: int = 3,
    separator: str = "；",
) -> pd.Series:
    """The reason for each row's score in words: its largest weighted components.

    ``templates`` maps a reason key to a format string the caller has translated; keys are
    ``distance_own``, ``no_station``, ``officers``, ``never_visited``, ``recency``, ``visits``,
    ``need`` and ``none`` (no component above 5 points).  Fields available to a template:
    ``km_own, km_nearest, vacant, posts, days, visit_days, standard_days, cases_per_1000,
    visits_per_1000``.
    """
    w = (weights or Weights()).as_dict()
    total = sum(w.values())
    contrib = pd.DataFrame(
        {k: 100 * w[k] * scored[f"c_{k}"] / total for k in COMPONENTS}, index=scored.index
    )
    values = pd.DataFrame(
        {
            "km_own": (scored["distance_own_m"] / 1000).round(1),
            "km_nearest": (scored["distance_nearest_m"] / 1000).round(1),
            "vacant": scored["vacant"],
            "posts": scored["posts"],
            "days": scored["days_since_visit"],
            "visit_days": scored["visit_days"].round(1),
            "standard_days": scored["standard_days"].round(1),
            "cases_per_1000": scored["cases_per_1000"].round(1),
            "visits_per_1000": scored["visits_per_1000"].round(1),
        }
    )
    # Row by row over plain arrays and dicts: iterrows made this most of a warm page view.
    points = contrib.to_numpy(dtype=np.float64)
    # largest first; equal contributions keep the components' order
    order = np.argsort(-points, axis=1, kind="stable")[:, :top]
    out = []
    for i, v in enumerate(values.to_dict("records")):
        parts = []
        fields = {f: _fmt(x) for f, x in v.items()}
        for j in order[i]:
            if points[i, j] < 5:
                break
            key = COMPONENTS[j]
            if key == "distance":
                key = "no_station" if pd.isna(v["km_own"]) else "distance_own"
            elif key == "recency" and pd.isna(v["days"]):
                key = "never_visited"
            parts.append(templates[key].format(**fields))
        out.append(separator.join(parts) if parts else templates["none"])
    return pd.Series(out, index=scored.index, dtype=object)


def _fmt(value: object) -> object:
    if isinstance(value, float) and not np.isfinite(value):
        return "—"  # masked or unknown
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value

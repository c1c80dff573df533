"""Generate the 2012-2013 cases (信访, 矛盾纠纷, 代办, 建议) and household visits of the demo network.

Cases fall on villager groups in proportion to households, with realistic hotspots: urban
relocation (拆迁) communities of the city districts and county seats produce petitions, a few
rural townships have chronic land disputes, disputes swell in the spring farming season and
around the Spring Festival, and services/suggestions only start once the village's station is
open.  Visits are work-team calls on households with phone GPS in GCJ-02, a few metres of noise,
and some remote villages never visited.  Everything is vectorised and seeded.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pandas as pd

from demo.addresses import write_address
from demo.network import Network, fake_names, fake_phones
from geo.coords import wgs84_to_gcj02
from geo.partition import sample_seeds

__all__ = [
    "CASE_KINDS",
    "FULL_CASES",
    "FULL_VISITS",
    "build_cases",
    "build_visits",
    "cases_file_table",
    "visits_file_table",
]

FULL_CASES = 230_000
FULL_VISITS = 1_600_000
FULL_GROUPS = 47_224

#: Case kinds with their share of all cases and their Chinese label.
CASE_KINDS: dict[str, tuple[float, str]] = {
    "petition": (0.24, "信访"),
    "dispute": (0.36, "矛盾纠纷"),
    "service": (0.30, "代办"),
    "suggestion": (0.10, "建议"),
}
_STATUS_LABEL = {"closed": "已办结", "processing": "办理中", "received": "已受理"}
_START = dt.date(2012, 1, 1)
_END = dt.date(2013, 12, 31)

# Relative case volume by month (Jan..Dec).  Disputes peak with spring ploughing and the
# settling of debts before the Spring Festival; petitions rise before the Festival too.
_MONTH_WEIGHTS = {
    "petition": [1.4, 1.2, 1.0, 1.0, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.1, 1.4],
    "dispute": [1.3, 1.1, 1.5, 1.6, 1.4, 1.0, 0.9, 0.8, 0.8, 0.9, 1.0, 1.3],
    "service": [1.1, 0.7, 1.2, 1.0, 1.0, 1.0, 0.9, 0.9, 1.3, 1.0, 1.0, 1.2],
    "suggestion": [0.8, 0.6, 1.1, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.1, 1.0],
}
_SUMMARIES = {
    "petition": [
        "反映低保评定不公",
        "反映征地补偿款未落实",
        "反映村务财务不公开",
        "反映危房改造补助未到位",
        "反映企业拖欠工资",
        "反映退役军人待遇问题",
    ],
    "petition_relocation": [
        "反映拆迁安置房未交付",
        "反映拆迁补偿标准偏低",
        "反映棚户区改造过渡费未发放",
        "反映征收房屋评估不合理",
    ],
    "dispute": [
        "邻里宅基地边界纠纷",
        "山林权属纠纷",
        "农田灌溉用水纠纷",
        "婚姻家庭纠纷",
        "赡养纠纷",
        "借贷纠纷",
    ],
    "dispute_land": [
        "土地承包经营权纠纷",
        "组与组之间山林界址纠纷",
        "征地款分配纠纷",
        "责任田调整纠纷",
    ],
    "service": [
        "代办新农合缴费",
        "代办养老保险资格认证",
        "代办农村建房审批",
        "代办低保申请",
        "代办残疾证",
        "代办户口迁移",
    ],
    "suggestion": [
        "建议硬化村组公路",
        "建议安装路灯",
        "建议整治山塘水库",
        "建议增设公交站点",
        "建议修缮村小学",
    ],
}


def _groups_2013(network: Network) -> pd.DataFrame:
    """The 2013 villager groups with their whole unit chain, in EPSG:4326."""
    u = network.units[network.units["generation"] == "2013"]
    by_level = {
        lv: u[u["level"] == lv].set_index("code") for lv in ("county", "township", "village")
    }
    g = u[u["level"] == "group"].reset_index(drop=True)
    village = by_level["village"].loc[g["parent_code"]]
    township = by_level["township"].loc[village["parent_code"]]
    county = by_level["county"].loc[township["parent_code"]]
    return pd.DataFrame(
        {
            "group_code": g["code"],
            "number": g["code"].str[12:].astype(int),
            "households": g["households"].to_numpy(),
            "urban": g["urban"].to_numpy(),
            "village_code": g["parent_code"].to_numpy(),
            "village": village["name"].to_numpy(),
            "township_code": village["parent_code"].to_numpy(),
            "township": township["name"].to_numpy(),
            "county_code": g["county_code"].to_numpy(),
            "county": county["name"].to_numpy(),
            "geometry": g.geometry.to_numpy(),
        }
    )


def _scaled(full: int, groups: pd.DataFrame) -> int:
    return max(1, round(full * len(groups) / FULL_GROUPS))


def _hotspots(groups: pd.DataFrame, rng: np.random.Generator) -> tuple[npt.NDArray, npt.NDArray]:
    """Masks of groups in urban relocation areas and in chronic land-dispute townships."""
    villages = groups.drop_duplicates("village_code")
    urban = villages[villages["urban"]]
    city = urban[urban["county_code"].isin(["430502", "430503", "430511"])]
    # Relocation: a handful of city-district communities plus one at some county seats.
    n_city = min(len(city), max(1, round(0.08 * len(city))))
    chosen = list(rng.choice(city["village_code"], size=n_city, replace=False)) if len(city) else []
    seats = urban[~urban["village_code"].isin(city["village_code"])]
    for _, rows in seats.groupby("county_code"):
        if rng.random() < 0.6:
            chosen.append(rows["village_code"].iat[int(rng.integers(len(rows)))])
    relocation = groups["village_code"].isin(chosen).to_numpy()
    rural_towns = groups.loc[~groups["urban"], "township_code"].unique()
    n_land = min(len(rural_towns), max(1, round(0.025 * len(rural_towns))))
    land_towns = rng.choice(rural_towns, size=n_land, replace=False) if n_land else rural_towns[:0]
    land = groups["township_code"].isin(land_towns).to_numpy()
    return relocation, land


def _random_dates(kind: str, n: int, rng: np.random.Generator) -> npt.NDArray[np.datetime64]:
    months = np.arange(24)
    w = np.array(_MONTH_WEIGHTS[kind] * 2) * np.linspace(0.9, 1.1, 24)  # slow growth in use
    month = rng.choice(months, size=n, p=w / w.sum())
    first = np.datetime64("2012-01") + month.astype("timedelta64[M]")
    first_day = first.astype("datetime64[D]")
    length = ((first + np.timedelta64(1, "M")).astype("datetime64[D]") - first_day).astype(int)
    return first_day + (rng.random(n) * length).astype("timedelta64[D]")


def _random_points_in(
    geoms: npt.NDArray, which: npt.NDArray[np.intp], rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """One uniform random point inside ``geoms[which[i]]`` for every i (lon/lat)."""
    counts = np.bincount(which, minlength=len(geoms))
    used = np.flatnonzero(counts)
    pts, parent = sample_seeds(geoms[used], counts[used], rng=rng, oversample=1)
    order = np.argsort(which, kind="stable")
    out = np.empty((len(which), 2))
    # sample_seeds returns points grouped by parent in parent order, as argsort(which) is.
    out[order] = pts[np.argsort(parent, kind="stable")]
    return out


def build_cases(network: Network, *, seed: int = 2013, scale: float | None = None) -> pd.DataFrame:
    """Cases of 2012-2013 on the 2013 network.

    Parameters
    ----------
    network
        From :func:`demo.network.build_network`.
    seed
        Random seed.
    scale
        Ignored beyond documentation: the number of cases follows the network's size
        (~230,000 at full scale, proportionally fewer for a slice).

    Returns
    -------
    pandas.DataFrame
        ``case_no, kind, status, opened_on, closed_on, petitioner, phone, summary, address``
        (what the register holds) and the truth ``county_code, township_code, village_code,
        group_code, lon, lat`` (WGS-84 point where the matter arose).
    """
    del scale
    rng = np.random.default_rng([seed, 4])
    groups = _groups_2013(network)
    total = _scaled(FULL_CASES, groups)
    relocation, land = _hotspots(groups, rng)
    hh = groups["households"].to_numpy().astype(float)
    urban = groups["urban"].to_numpy()
    stations = network.stations[network.stations["generation"] == "2013"].set_index("village_code")
    opened = pd.to_datetime(stations["opened_on"]).reindex(groups["village_code"]).to_numpy()
    opened = opened.astype("datetime64[D]")

    shares = np.array([s for s, _ in CASE_KINDS.values()])
    per_kind = np.floor(shares / shares.sum() * total).astype(int)
    per_kind[1] += total - per_kind.sum()
    multipliers = {
        "petition": np.where(relocation, 12.0, 1.0) * np.where(urban, 1.5, 1.0),
        "dispute": np.where(land, 8.0, 1.0) * np.where(urban, 0.6, 1.0),
        "service": np.where(urban, 1.3, 1.0),
        "suggestion": np.ones(len(groups)),
    }
    frames = []
    for (kind, _), n in zip(CASE_KINDS.items(), per_kind, strict=True):
        w = hh * multipliers[kind]
        which = rng.choice(len(groups), size=n, p=w / w.sum())
        day = _random_dates(kind, n, rng)
        if kind in ("service", "suggestion"):
            # Services and suggestions come through the station, so not before it opened.
            early = day < opened[which]
            span = (np.datetime64(_END) - opened[which][early]).astype(int)
            day[early] = opened[which][early] + (rng.random(early.sum()) * span).astype(
                "timedelta64[D]"
            )
        if kind == "petition":
            pool = np.where(relocation[which], 1, 0)
            summary = _pick_summaries(
                rng, pool, _SUMMARIES["petition"], _SUMMARIES["petition_relocation"]
            )
        elif kind == "dispute":
            pool = np.where(land[which] & (rng.random(n) < 0.7), 1, 0)
            summary = _pick_summaries(rng, pool, _SUMMARIES["dispute"], _SUMMARIES["dispute_land"])
        else:
            summary = _pick_summaries(rng, np.zeros(n, int), _SUMMARIES[kind], _SUMMARIES[kind])
        frames.append(pd.DataFrame({"kind": kind, "g": which, "opened": day, "summary": summary}))
    cases = pd.concat(frames, ignore_index=True)
    cases = cases.sort_values(["opened", "g"], kind="stable").reset_index(drop=True)
    n = len(cases)
    g = cases["g"].to_numpy()

    # Recent cases are more often still open; disputes and services close fast.
    age = (np.datetime64(_END) - cases["opened"].to_numpy()).astype(int)
    p_open = np.clip(0.6 * np.exp(-age / 60.0), 0.0, 1.0) + 0.01
    u = rng.random(n)
    status = np.where(u < p_open * 0.5, "received", np.where(u < p_open, "processing", "closed"))
    typical = cases["kind"].map({"petition": 30, "dispute": 12, "service": 5, "suggestion": 20})
    took = rng.exponential(typical.to_numpy()).astype(int) + 1
    closed = cases["opened"].to_numpy() + took.astype("timedelta64[D]")
    closed_ok = (status == "closed") & (closed <= np.datetime64(_END))
    status = np.where((status == "closed") & ~closed_ok, "processing", status)

    county = groups["county_code"].to_numpy()[g]
    seq = (
        pd.Series(np.ones(n, int))
        .groupby([county, cases["opened"].dt.year.to_numpy()])
        .cumsum()
        .to_numpy()
    )
    case_no = [
        f"{c}{y}{s:06d}" for c, y, s in zip(county, cases["opened"].dt.year, seq, strict=True)
    ]
    chains = groups[["county", "township", "village", "number"]].to_numpy()
    addresses = [
        write_address(
            {
                "county": chains[i, 0],
                "township": chains[i, 1],
                "village": chains[i, 2],
                "group": int(chains[i, 3]),
            },
            rng,
        )
        for i in g
    ]
    phones = np.array(fake_phones(n, rng), dtype=object)
    phones[rng.random(n) < 0.08] = None
    lonlat = _random_points_in(groups["geometry"].to_numpy(), g, rng)
    return pd.DataFrame(
        {
            "case_no": case_no,
            "kind": cases["kind"].to_numpy(),
            "status": status,
            "opened_on": cases["opened"].dt.date.to_numpy(),
            "closed_on": np.where(closed_ok, pd.Series(closed).dt.date.to_numpy(), None),
            "petitioner": fake_names(n, rng),
            "phone": phones,
            "summary": cases["summary"].to_numpy(),
            "address": addresses,
            "county_code": county,
            "township_code": groups["township_code"].to_numpy()[g],
            "village_code": groups["village_code"].to_numpy()[g],
            "group_code": groups["group_code"].to_numpy()[g],
            "lon": lonlat[:, 0].round(6),
            "lat": lonlat[:, 1].round(6),
        }
    )


def _pick_summaries(
    rng: np.random.Generator, pool: npt.NDArray, normal: list[str], special: list[str]
) -> npt.NDArray:
    a = np.array(normal, dtype=object)[rng.integers(len(normal), size=len(pool))]
    b = np.array(special, dtype=object)[rng.integers(len(special), size=len(pool))]
    return np.where(pool == 1, b, a)


def build_visits(network: Network, *, seed: int = 2013, scale: float | None = None) -> pd.DataFrame:
    """Household visits of the township work teams in 2012-2013, GPS in GCJ-02.

    Parameters
    ----------
    network
        From :func:`demo.network.build_network`.
    seed
        Random seed.
    scale
        Ignored: the number of visits follows the network (~1.6 million at full scale).

    Returns
    -------
    pandas.DataFrame
        ``visit_id, team, township_code, household_id, visited_at`` (timestamps, +08:00),
        ``lon, lat`` (GCJ-02 as the phone reported it), ``coord_type`` ("gcj02") and the truth
        ``group_code``.  A household id is its group code, a dash and a 3-digit number.
    """
    del scale
    rng = np.random.default_rng([seed, 5])
    groups = _groups_2013(network)
    total = _scaled(FULL_VISITS, groups)
    teams = network.teams.set_index("township_code")["name"]

    # Some remote villages (far from the township seat, often in the mountains) never get a visit.
    villages = groups.drop_duplicates("village_code")
    mountain = villages["county_code"].isin(["430527", "430529", "430528", "430525"]).to_numpy()
    w_skip = np.where(mountain, 3.0, 1.0) * np.where(villages["urban"].to_numpy(), 0.2, 1.0)
    n_skip = max(1, round(0.03 * len(villages)))
    skipped = rng.choice(
        villages["village_code"], size=n_skip, replace=False, p=w_skip / w_skip.sum()
    )
    hh = groups["households"].to_numpy().astype(float)
    w = np.where(groups["village_code"].isin(skipped), 0.0, hh)
    w *= rng.lognormal(0, 0.5, len(groups))  # some teams are keener than others
    which = rng.choice(len(groups), size=total, p=w / w.sum())
    house = (rng.random(total) * groups["households"].to_numpy()[which]).astype(int) + 1

    # One fixed spot per household; repeated visits report it again with fresh GPS noise.
    key = which.astype(np.int64) * 10_000 + house
    uniq, inverse = np.unique(key, return_inverse=True)
    spots = _random_points_in(groups["geometry"].to_numpy(), (uniq // 10_000).astype(np.intp), rng)
    lon = spots[inverse, 0]
    lat = spots[inverse, 1]
    noise_m = rng.normal(0, 6.0, (total, 2))
    lat = lat + noise_m[:, 1] / 111_320.0
    lon = lon + noise_m[:, 0] / (111_320.0 * np.cos(np.radians(lat)))
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)

    # Working days, fewer around the Spring Festival and in the double-harvest rush.
    month_w = np.array([0.6, 0.5, 1.1, 1.1, 1.0, 1.0, 0.7, 0.7, 1.1, 1.2, 1.2, 1.0] * 2)
    month = rng.choice(24, size=total, p=month_w / month_w.sum())
    first = np.datetime64("2012-01") + month.astype("timedelta64[M]")
    first_day = first.astype("datetime64[D]")
    length = ((first + np.timedelta64(1, "M")).astype("datetime64[D]") - first_day).astype(int)
    day = first_day + (rng.random(total) * length).astype("timedelta64[D]")
    minutes = np.where(
        rng.random(total) < 0.5, rng.integers(510, 720, total), rng.integers(870, 1050, total)
    )
    stamp = day.astype("datetime64[m]") + minutes.astype("timedelta64[m]")
    order = np.argsort(stamp, kind="stable")

    group_code = groups["group_code"].to_numpy()[which]
    township = groups["township_code"].to_numpy()[which]
    house_txt = np.char.zfill(house.astype(str), 3)
    visits = pd.DataFrame(
        {
            "team": teams.reindex(township).to_numpy(),
            "township_code": township,
            "household_id": pd.Series(group_code).str.cat(pd.Series(house_txt), sep="-").to_numpy(),
            "visited_at": pd.to_datetime(stamp).tz_localize("Asia/Shanghai"),
            "lon": gcj_lon.round(6),
            "lat": gcj_lat.round(6),
            "coord_type": "gcj02",
            "group_code": group_code,
        }
    ).iloc[order]
    visits.insert(0, "visit_id", np.arange(1, total + 1))
    return visits.reset_index(drop=True)


def cases_file_table(cases: pd.DataFrame) -> pd.DataFrame:
    """The case register as staff export it (Chinese headers, no truth columns)."""
    labels = {k: label for k, (_, label) in CASE_KINDS.items()}
    return pd.DataFrame(
        {
            "案件编号": cases["case_no"],
            "类型": cases["kind"].map(labels),
            "状态": cases["status"].map(_STATUS_LABEL),
            "登记日期": cases["opened_on"],
            "办结日期": cases["closed_on"],
            "当事人": cases["petitioner"],
            "联系电话": cases["phone"],
            "事由": cases["summary"],
            "地址": cases["address"],
        }
    )


def visits_file_table(visits: pd.DataFrame) -> pd.DataFrame:
    """The visit log as the phone app exports it (no truth columns)."""
    out = visits[["visit_id", "team", "household_id", "visited_at", "lon", "lat", "coord_type"]]
    out = out.rename(columns={"lon": "lng"})
    # Series.dt.strftime takes ~20 s on 1.6 million rows; numpy's formatter takes ~1 s.
    local = visits["visited_at"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    text = np.datetime_as_string(local.to_numpy().astype("datetime64[s]"), unit="s")
    text = np.char.add(np.char.replace(text, "T", " "), "+08:00")
    return out.assign(visited_at=text)

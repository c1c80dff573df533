"""Seed the coverage gaps a real network has into the demo, at documented rates, with a truth file.

The generated network is complete and even: every village has a station at its seat, every
group its officers, every team visits about as often.  A planner's page would find nothing.
``seed_gaps`` takes the network and the visits and, deterministically for a seed, makes:

============================  =====================================================  ========
gap                           what is changed                                         rate
============================  =====================================================  ========
``vacant_officers``           every officer post of the village left empty (2013)     2% of 2013 villages
``rarely_visited``            no visit after 15 June 2013 (the last 200 days)         2% of 2013 villages
``remote_station``            the station kept at the township seat, >= 5 km away     1.5% of 2013 villages
``low_visit_township``        97% of the township team's visits after 1 July dropped  2% of 2013 townships
``closed_station_2023``       no station after the merger (2023 register)             8% of merged 2023 villages
``never_visited``             (made by ``demo.activity``: remote villages skipped)    ~3% of 2013 villages
============================  =====================================================  ========

The kinds take disjoint villages.  The truth table names, per gap village, the generation in
which it shows, its codes and the kind; ``demo build`` writes it as ``gaps_truth.csv``.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from demo.network import Network

__all__ = ["RATES", "seed_gaps"]

RATES = {
    "vacant_officers": 0.02,
    "rarely_visited": 0.02,
    "remote_station": 0.015,
    "low_visit_township": 0.02,
    "closed_station_2023": 0.08,
}
RARE_AFTER = pd.Timestamp("2013-06-15", tz="Asia/Shanghai")
LOW_AFTER = pd.Timestamp("2013-07-01", tz="Asia/Shanghai")
LOW_KEEP = 0.03
WORK_CRS = "EPSG:4546"
REMOTE_M = 5000.0


def _units(network: Network, generation: str, level: str) -> gpd.GeoDataFrame:
    u = network.units
    return u[(u["generation"] == generation) & (u["level"] == level)].reset_index(drop=True)


def _pick(pool: np.ndarray, share: float, total: int, rng: np.random.Generator) -> np.ndarray:
    n = min(len(pool), max(1, round(share * total)))
    return rng.choice(pool, size=n, replace=False) if n else pool[:0]


def _merged_2023(network: Network) -> np.ndarray:
    """2023 village codes formed from two or more 2013 villages."""
    v13, v23 = _units(network, "2013", "village"), _units(network, "2023", "village")
    points = shapely.point_on_surface(v13.geometry.to_numpy())
    tree = shapely.STRtree(v23.geometry.to_numpy())
    src, dst = tree.query(points, predicate="within")
    counts = pd.Series(dst[np.unique(src, return_index=True)[1]]).value_counts()
    return v23["code"].to_numpy()[counts[counts >= 2].index.to_numpy()]


def _seat_distance(network: Network, v13: gpd.GeoDataFrame) -> pd.Series:
    """Metres from each 2013 village to its township's seat (the work team's base)."""
    teams = network.teams.set_index("township_code")
    seat = teams.reindex(v13["parent_code"])
    seat_xy = gpd.GeoSeries(gpd.points_from_xy(seat["lon"], seat["lat"]), crs=4326).to_crs(WORK_CRS)
    here = gpd.GeoSeries(shapely.point_on_surface(v13.geometry.to_numpy()), crs=4326).to_crs(
        WORK_CRS
    )
    return pd.Series(here.distance(seat_xy, align=False).to_numpy(), index=v13["code"].to_numpy())


def _move_stations(network: Network, codes: np.ndarray) -> pd.DataFrame:
    """2013 stations of ``codes`` moved to their township's seat (the work team's base)."""
    st = network.stations.copy()
    teams = network.teams.set_index("township_code")
    mask = (st["generation"] == "2013") & st["village_code"].isin(codes)
    seat = teams.reindex(st.loc[mask, "township_code"])
    st.loc[mask, "lon"] = seat["lon"].to_numpy()
    st.loc[mask, "lat"] = seat["lat"].to_numpy()
    return st


def seed_gaps(
    network: Network, visits: pd.DataFrame, *, seed: int = 2013
) -> tuple[Network, pd.DataFrame, pd.DataFrame]:
    """The network and visits with gaps seeded, and the truth table of the gap villages.

    Returns
    -------
    network, visits, truth
        ``truth`` has ``gap, generation, village_code, township_code, county_code``.
    """
    rng = np.random.default_rng([seed, 11])
    v13 = _units(network, "2013", "village")
    t13 = _units(network, "2013", "township")
    visited = set(visits["group_code"].str[:12])
    never = v13.loc[~v13["code"].isin(visited), "code"].to_numpy()
    free = np.setdiff1d(v13["code"].to_numpy(), never)
    rows = []

    low_towns = _pick(t13["code"].to_numpy(), RATES["low_visit_township"], len(t13), rng)
    low_villages = v13.loc[v13["parent_code"].isin(low_towns), "code"].to_numpy()
    low_villages = np.intersect1d(low_villages, free)
    free = np.setdiff1d(free, low_villages)

    vacant = _pick(free, RATES["vacant_officers"], len(v13), rng)
    free = np.setdiff1d(free, vacant)
    rare = _pick(free, RATES["rarely_visited"], len(v13), rng)
    free = np.setdiff1d(free, rare)
    area = v13.set_index("code").to_crs(WORK_CRS).area
    big = area[area >= area.quantile(0.8)].index.to_numpy()
    rural = v13.loc[~v13["urban"].astype(bool), "code"].to_numpy()
    remote = _pick(
        np.intersect1d(np.intersect1d(free, big), rural), RATES["remote_station"], len(v13), rng
    )

    merged = _merged_2023(network)
    closed = _pick(merged, RATES["closed_station_2023"], len(merged), rng)

    officers = network.officers[~network.officers["village_code"].isin(vacant)]
    stations = _move_stations(network, remote)
    stations = stations[
        ~((stations["generation"] == "2023") & stations["village_code"].isin(closed))
    ]
    vil = visits["group_code"].str[:12]
    drop_rare = vil.isin(rare) & (visits["visited_at"] >= RARE_AFTER)
    low = vil.isin(low_villages) & (visits["visited_at"] >= LOW_AFTER)
    drop_low = low & (rng.random(len(visits)) >= LOW_KEEP)
    visits = visits[~(drop_rare | drop_low)].reset_index(drop=True)
    visits["visit_id"] = np.arange(1, len(visits) + 1)

    for gap, codes, gen in (
        ("never_visited", never, "2013"),
        ("low_visit_township", low_villages, "2013"),
        ("vacant_officers", vacant, "2013"),
        ("rarely_visited", rare, "2013"),
        ("remote_station", remote, "2013"),
        ("closed_station_2023", closed, "2023"),
    ):
        for code in sorted(codes):
            rows.append((gap, gen, code, code[:9] + "000", code[:6]))
    truth = pd.DataFrame(
        rows, columns=["gap", "generation", "village_code", "township_code", "county_code"]
    )
    seeded = dataclasses.replace(
        network,
        stations=stations.reset_index(drop=True),
        officers=officers.reset_index(drop=True),
        notes=dict(network.notes),
    )
    seeded.notes["gaps"] = truth.groupby("gap").size().to_dict()
    return seeded, visits, truth

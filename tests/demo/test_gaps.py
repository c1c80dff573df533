"""demo.gaps: seeded coverage gaps, and the planners' ranking finds them.

A tenth-scale demo (same generator, seed and rates) is measured in memory with the same
``geo.coverage`` functions the service uses: officers, cases and visits per group taken from
the generated tables, as the importers would store them.  The ranking must put at least 90%
of the seeded gap villages in the top fifth of their county's villages, in the generation
where the gap shows (closed stations in 2023, the rest in 2013).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from demo.activity import build_cases, build_visits
from demo.gaps import RATES, seed_gaps
from demo.network import build_network
from geo.coverage import Standard, gap_scores, group_measures, roll_up

SCALE = 0.25
TOP_SHARE = 0.2


@pytest.fixture(scope="module")
def demo():
    network = build_network(seed=2013, scale=SCALE)
    cases = build_cases(network, seed=2013)
    visits = build_visits(network, seed=2013)
    seeded, seeded_visits, truth = seed_gaps(network, visits, seed=2013)
    return network, visits, seeded, seeded_visits, cases, truth


def _metric(lon, lat) -> np.ndarray:
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs("EPSG:4546")
    return shapely.get_coordinates(pts.to_numpy())


def _ranking(network, cases, visits, generation: str) -> pd.DataFrame:
    units = network.units
    groups = units[(units["generation"] == generation) & (units["level"] == "group")]
    pts = shapely.point_on_surface(groups.geometry.to_numpy())
    xy = _metric(shapely.get_x(pts), shapely.get_y(pts))
    frame = pd.DataFrame(
        {
            "code": groups["code"].to_numpy(),
            "name": groups["name"].to_numpy(),
            "county_code": groups["county_code"].to_numpy(),
            "township_code": groups["code"].str[:9].to_numpy() + "000",
            "village_code": groups["code"].str[:12].to_numpy(),
            "households": groups["households"].to_numpy(),
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )
    # 2013 group -> this generation's group holding its representative point
    g13 = units[(units["generation"] == "2013") & (units["level"] == "group")]
    tree = shapely.STRtree(groups.geometry.to_numpy())
    src, dst = tree.query(shapely.point_on_surface(g13.geometry.to_numpy()), predicate="within")
    first = np.unique(src, return_index=True)[1]
    xwalk = pd.Series(
        frame["code"].to_numpy()[dst[first]], index=g13["code"].to_numpy()[src[first]]
    )

    st = network.stations[network.stations["generation"] == generation]
    sxy = _metric(st["lon"], st["lat"])
    stations = pd.DataFrame(
        {"station_code": st["village_code"].to_numpy(), "x": sxy[:, 0], "y": sxy[:, 1]}
    )

    as_of = pd.Timestamp("2013-12-31")
    std = Standard()
    v = visits.assign(dst=xwalk.reindex(visits["group_code"]).to_numpy())
    at = v["visited_at"].dt.tz_localize(None)
    window = at >= as_of - pd.Timedelta(days=std.window_days - 1)
    need = at >= as_of - pd.Timedelta(days=std.need_days - 1)
    c = cases.assign(dst=xwalk.reindex(cases["group_code"]).to_numpy())
    c_need = pd.to_datetime(c["opened_on"]) >= as_of - pd.Timedelta(days=std.need_days - 1)
    officers = network.officers.assign(dst=xwalk.reindex(network.officers["group_code"]).to_numpy())
    days = v[window].assign(day=at[window].dt.date, village=v.loc[window, "dst"].str[:12])
    village_days = days.groupby("village")["day"].nunique()
    activity = pd.DataFrame(
        {
            "officers": officers.groupby("dst").size(),
            "cases": c[c_need].groupby("dst").size(),
            "visits": v[need].groupby("dst").size(),
            "households_visited": v[window].groupby("dst")["household_id"].nunique(),
            "last_visit": at.groupby(v["dst"]).max(),
        }
    )
    activity = activity.reindex(frame["code"])
    activity["village_visit_days"] = village_days.reindex(frame["code"].str[:12]).to_numpy()
    measures = group_measures(frame, stations, activity, as_of=as_of, standard=std)
    villages = gap_scores(roll_up(measures, "village"))
    villages["county_rank"] = villages.groupby("county_code")["score"].rank(
        ascending=False, method="first"
    )
    villages["county_size"] = villages.groupby("county_code")["code"].transform("size")
    return villages.set_index("code")


def test_gaps_are_seeded_at_the_documented_rates(demo):
    network, visits, seeded, seeded_visits, _cases, truth = demo
    v13 = network.units.query("generation == '2013' and level == 'village'")
    counts = truth["gap"].value_counts()
    for gap in ("vacant_officers", "rarely_visited"):
        assert counts[gap] == round(RATES[gap] * len(v13))
    assert not truth.duplicated(["generation", "village_code"]).any()
    vacant = truth.query("gap == 'vacant_officers'")["village_code"]
    assert not seeded.officers["village_code"].isin(vacant).any()
    assert network.officers["village_code"].isin(vacant).any()  # the input is untouched
    closed = truth.query("gap == 'closed_station_2023'")["village_code"]
    st23 = seeded.stations.query("generation == '2023'")
    assert len(closed)
    assert not st23["village_code"].isin(closed).any()
    rare = truth.query("gap == 'rarely_visited'")["village_code"]
    late = seeded_visits["visited_at"] >= pd.Timestamp("2013-06-15", tz="Asia/Shanghai")
    assert not seeded_visits.loc[late, "group_code"].str[:12].isin(rare).any()
    assert len(seeded_visits) < len(visits)
    # deterministic for a seed
    again = seed_gaps(network, visits, seed=2013)[2]
    pd.testing.assert_frame_equal(truth, again)


def test_ranking_finds_the_seeded_gaps(demo):
    _network, _visits, seeded, seeded_visits, cases, truth = demo
    found = []
    for generation, rows in truth.groupby("generation"):
        ranked = _ranking(seeded, cases, seeded_visits, generation)
        r = ranked.reindex(rows["village_code"])
        top = r["county_rank"] <= np.ceil(TOP_SHARE * r["county_size"])
        found.append(rows.assign(found=top.to_numpy()))
    found = pd.concat(found)
    by_gap = found.groupby("gap")["found"].mean()
    assert found["found"].mean() >= 0.9, by_gap.to_dict()

"""Tests for geo.coverage on a hand-made network whose every measure is worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo.coverage import Standard, Weights, gap_scores, group_measures, reasons, roll_up

AS_OF = pd.Timestamp("2013-12-31")
TEMPLATES = {
    "distance_own": "own {km_own} km",
    "no_station": "no station, nearest {km_nearest} km",
    "officers": "{vacant} of {posts} posts vacant",
    "never_visited": "never visited",
    "recency": "{days} days since visit",
    "visits": "{visit_days} of {standard_days} days",
    "need": "{cases_per_1000} cases vs {visits_per_1000} visits",
    "none": "no gap",
}


@pytest.fixture
def frames():
    # Villages V1 (stations at 3000,4000), V2 (station at 0,1000), V3 (no station: merged away).
    groups = pd.DataFrame(
        {
            "code": ["V1-001", "V1-002", "V2-001", "V3-001"],
            "name": ["g1", "g4", "g2", "g3"],
            "county_code": ["C", "C", "C", "C"],
            "township_code": ["T1", "T1", "T1", "T2"],
            "village_code": ["V1", "V1", "V2", "V3"],
            "households": [100, 60, 40, 160],
            "x": [0.0, 3000.0, 0.0, 10000.0],
            "y": [0.0, 3000.0, 2000.0, 0.0],
        }
    )
    stations = pd.DataFrame(
        {"station_code": ["V1", "V2"], "x": [3000.0, 0.0], "y": [4000.0, 1000.0]}
    )
    activity = pd.DataFrame(
        {
            "officers": [1, 1, 0],
            "cases": [10, 0, 4],
            "visits": [40, 5, 0],
            "households_visited": [12, 2, 0],
            "last_visit": pd.to_datetime(["2013-12-01 10:00", "2013-06-04 09:00", None]),
            "village_visit_days": [9, 3, 0],
        },
        index=["V1-001", "V2-001", "V3-001"],
    )
    activity.loc["V1-002"] = [1, 0, 0, 0, pd.NaT, 0]
    return groups, stations, activity


def test_group_measures_by_hand(frames):
    m = group_measures(*frames, as_of=AS_OF).set_index("name")
    assert m.loc["g1", "distance_own_m"] == pytest.approx(5000)
    assert m.loc["g1", "distance_nearest_m"] == pytest.approx(1000)
    assert m.loc["g1", "nearest_station_code"] == "V2"
    assert m.loc["g4", "distance_own_m"] == pytest.approx(1000)
    assert math.isnan(m.loc["g3", "distance_own_m"])
    assert pd.isna(m.loc["g3", "station_code"])
    assert m.loc["g3", "distance_nearest_m"] == pytest.approx(math.hypot(7000, 4000))
    # posts: one, plus one per further 80 households
    assert m["posts"].to_dict() == {"g1": 2, "g4": 1, "g2": 1, "g3": 2}
    assert m["vacant"].to_dict() == {"g1": 1, "g4": 0, "g2": 0, "g3": 2}
    assert m.loc["g2", "officers_per_100_households"] == pytest.approx(2.5)
    assert m.loc["g1", "days_since_visit"] == 30
    assert m.loc["g2", "days_since_visit"] == 210
    assert math.isnan(m.loc["g3", "days_since_visit"])
    # g4 had no visit of its own but shares its village's visit days
    assert m["visit_days"].to_dict() == {"g1": 9, "g4": 9, "g2": 3, "g3": 0}
    assert (m["standard_days"] == 9).all()
    assert m.loc["g1", "cases_per_1000"] == pytest.approx(100)
    assert m.loc["g1", "visits_per_1000"] == pytest.approx(400)


def test_gap_score_by_hand(frames):
    scored = gap_scores(group_measures(*frames, as_of=AS_OF)).set_index("name")
    # g1: distance 1, officers 1/2, recency 30/180, visits 0, need 100/(100+400)
    assert scored.loc["g1", "score"] == pytest.approx(100 * (0.25 + 0.1 + 0.2 / 6 + 0.03), abs=0.01)
    # g2: distance 0.2, recency capped at 1, visits 1 - 3/9
    assert scored.loc["g2", "score"] == pytest.approx(100 * (0.05 + 0.2 + 0.2 * 2 / 3), abs=0.01)
    assert scored.loc["g3", "score"] == pytest.approx(100)
    assert scored["rank"].to_dict() == {"g3": 1, "g1": 2, "g2": 3, "g4": 4}


def test_weights_change_the_ranking(frames):
    m = group_measures(*frames, as_of=AS_OF)
    only_recency = Weights(distance=0, officers=0, recency=1, visits=0, need=0)
    scored = gap_scores(m, only_recency).set_index("name")
    # g4 was never visited: as bad as it gets on recency alone
    assert scored.loc["g4", "score"] == 100
    assert scored.loc["g1", "score"] == pytest.approx(100 / 6, abs=0.01)


def test_weights_from_form_reject_bad_values():
    assert Weights.from_mapping({"distance": "2"}).distance == 2
    with pytest.raises(ValueError, match="'need' must be a number"):
        Weights.from_mapping({"need": "x"})
    with pytest.raises(ValueError, match="between 0 and 100"):
        Weights.from_mapping({"need": "-1"})
    with pytest.raises(ValueError, match="at least one weight"):
        Weights.from_mapping(
            dict.fromkeys(("distance", "officers", "recency", "visits", "need"), 0)
        )


def test_roll_up_to_village_and_township(frames):
    m = group_measures(*frames, as_of=AS_OF)
    v = roll_up(m, "village").set_index("code")
    assert v.loc["V1", "households"] == 160
    assert v.loc["V1", "posts"] == 3
    assert v.loc["V1", "vacant"] == 1
    assert v.loc["V1", "distance_own_m"] == pytest.approx((5000 * 100 + 1000 * 60) / 160)
    assert math.isnan(v.loc["V3", "distance_own_m"])
    assert v.loc["V3", "distance_m"] == pytest.approx(math.hypot(7000, 4000))
    assert v.loc["V1", "days_since_visit"] == 30
    assert v.loc["V1", "visit_days"] == 9
    assert v.loc["V3", "groups_without_station"] == 1
    t = roll_up(m, "township").set_index("code")
    assert t.loc["T1", "groups"] == 3
    assert t.loc["T1", "visit_days"] == pytest.approx(6)  # mean of V1 (9) and V2 (3)
    assert gap_scores(v).loc["V3", "rank"] == 1


def test_reasons_name_the_biggest_components(frames):
    scored = gap_scores(group_measures(*frames, as_of=AS_OF))
    text = reasons(scored, TEMPLATES).set_axis(scored["name"])
    assert text["g3"].startswith("no station, nearest 8.1 km")
    assert "2 of 2 posts vacant" in text["g3"]
    assert text["g1"].startswith("own 5 km")
    assert "210 days since visit" in text["g2"]
    calm = gap_scores(group_measures(*frames, as_of=pd.Timestamp("2013-12-02")))
    calm = calm[calm["name"] == "g4"].assign(c_recency=0.0, c_distance=0.0)
    assert reasons(calm, TEMPLATES).iloc[0] == "no gap"


def test_standard_is_a_parameter(frames):
    loose = Standard(households_per_post=200, window_days=30)
    m = group_measures(*frames, as_of=AS_OF, standard=loose).set_index("name")
    assert (m["posts"] == 1).all()
    assert (m["standard_days"] == 3).all()
    assert np.isfinite(m["distance_nearest_m"]).all()

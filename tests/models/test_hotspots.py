"""Aggregation queries of models.hotspots against counts taken from the inserted case frame."""

from __future__ import annotations

import datetime as dt

import pytest

from models import hotspots as q
from models.db import session_factory
from models.places import active_generation
from tests.leaders_factories import HOT, SMALL_VILLAGE, grid_cases, insert_cases, load_grid_network


@pytest.fixture
def grid_db(db_url):
    grid = load_grid_network(db_url)
    cases = grid_cases(grid)
    insert_cases(db_url, cases)
    with session_factory(db_url)() as session:
        yield session, grid, cases


def _in_2013(cases):
    return cases[cases["opened_on"].map(lambda d: d.year == 2013)]


def test_filter_rejects_unknown_values():
    with pytest.raises(ValueError, match="unknown"):
        q.CaseFilter(kinds=("riot",))
    with pytest.raises(ValueError, match="reversed"):
        q.CaseFilter(date_from=dt.date(2013, 2, 1), date_to=dt.date(2013, 1, 1))
    with pytest.raises(ValueError, match="digits"):
        q.CaseFilter(prefix="43' OR 1=1")


def test_village_counts_follow_filters(grid_db):
    session, grid, cases = grid_db
    gen = active_generation(session)
    f = q.CaseFilter(
        kinds=("dispute",), date_from=dt.date(2013, 1, 1), date_to=dt.date(2013, 12, 31)
    )
    counts = q.unit_case_counts(session, gen.id, f, level="village")
    assert len(counts) == len(grid.villages)  # villages without cases are kept
    expected = _in_2013(cases)[lambda c: c["kind"] == "dispute"].groupby("village_code").size()
    got = counts.set_index("code")["count"]
    assert got[got > 0].to_dict() == expected.to_dict()
    assert got[HOT[0]] == 61
    assert got[SMALL_VILLAGE] == 0
    assert counts.set_index("code")["households"].to_dict() == grid.households
    assert counts["geometry"].iloc[0].bounds == pytest.approx(grid.villages[counts["code"][0]])


def test_township_and_county_counts_sum_villages(grid_db):
    session, grid, cases = grid_db
    gen = active_generation(session)
    f = q.CaseFilter(statuses=("open", "in_progress"))
    open_cases = cases[cases["status"].isin(["open", "in_progress"])]
    towns = q.unit_case_counts(session, gen.id, f, level="township").set_index("code")
    assert towns["count"].to_dict() == open_cases.groupby("township_code").size().to_dict()
    # A township's households are the sum over its villages (the township row has none).
    hh = {t: sum(h for v, h in grid.households.items() if v[:9] == t[:9]) for t in towns.index}
    assert towns["households"].to_dict() == hh
    counties = q.unit_case_counts(session, gen.id, f, level="county").set_index("code")
    assert counties.loc["430521000000", "count"] == (open_cases["county_code"] == "430521").sum()


def test_area_prefix_limits_units_and_cases(grid_db):
    session, _, cases = grid_db
    gen = active_generation(session)
    f = q.CaseFilter(prefix="430521101")
    counts = q.unit_case_counts(session, gen.id, f, level="village")
    assert set(counts["code"].str[:9]) == {"430521101"}
    assert q.case_total(session, f) == (cases["township_code"] == "430521101000").sum()
    # Units of a wider area with the filter's cases only: zeros elsewhere.
    wide = q.unit_case_counts(session, gen.id, f, level="village", prefix="430521")
    assert len(wide) == 32
    assert wide.loc[~wide["code"].str.startswith("430521101"), "count"].eq(0).all()


def test_points_and_months(grid_db):
    session, _, cases = grid_db
    f = q.CaseFilter(kinds=("dispute",), date_from=dt.date(2013, 1, 1))
    pts = q.case_points(session, f)
    sel = _in_2013(cases)[lambda c: c["kind"] == "dispute"]
    assert len(pts) == len(sel)
    assert list(pts.columns) == ["lon", "lat", "month"]
    assert sorted(pts["lon"].round(6)) == pytest.approx(sorted(sel["lon"].round(6)))
    months = sel["opened_on"].map(lambda d: f"{d.year}-{d.month:02d}").value_counts().sort_index()
    assert q.monthly_totals(session, f).to_dict() == months.to_dict()
    assert pts["month"].value_counts().sort_index().to_dict() == months.to_dict()


def test_stamp_and_span(grid_db, db_url):
    session, grid, cases = grid_db
    before = q.case_stamp(session)
    assert before[0] >= len(cases)
    lo, hi = q.date_span(session)
    assert lo == min(cases["opened_on"])
    assert hi == max(cases["opened_on"])
    insert_cases(db_url, grid_cases(grid, seed=8).head(3).assign(case_no=["X1", "X2", "X3"]))
    assert q.case_stamp(session) != before

"""models.case_cube: the same counts as the cases themselves, and never silently out of date."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import text

from geo.density import hex_bins
from ingest.activity import import_cases
from models import case_cube
from models import hotspots as q
from models.db import session_factory, transaction
from models.places import active_generation
from tests.factories import load_tiny_network
from tests.leaders_factories import grid_cases, insert_cases, load_grid_network

FILTERS = [
    q.CaseFilter(),
    q.CaseFilter(kinds=("dispute",), statuses=("closed", "open")),
    q.CaseFilter(prefix="430521101"),
    q.CaseFilter(prefix="430522", date_from=pd.Timestamp("2013-02-03").date()),
]


@pytest.fixture
def grid_db(db_url):
    network = load_grid_network(db_url)
    cases = grid_cases(network)
    insert_cases(db_url, cases)
    with session_factory(db_url)() as session:
        yield session, cases


def _matching(cases, case_filter):
    keep = pd.Series(True, index=cases.index)
    if case_filter.kinds:
        keep &= cases["kind"].isin(case_filter.kinds)
    if case_filter.statuses:
        keep &= cases["status"].isin(case_filter.statuses)
    if case_filter.date_from:
        keep &= cases["opened_on"] >= case_filter.date_from
    if case_filter.prefix:
        keep &= cases["township_code"].fillna("").str.startswith(case_filter.prefix) | cases[
            "county_code"
        ].str.startswith(case_filter.prefix)
    return cases[keep]


def test_cube_cells_equal_binning_the_points(grid_db):
    session, cases = grid_db
    assert case_cube.is_stale(session)  # cases were written: the trigger said so
    case_cube.rebuild(session)
    session.commit()
    assert not case_cube.is_stale(session)
    for case_filter in FILTERS:
        chosen = _matching(cases, case_filter)
        points = gpd.GeoDataFrame(
            {"month": chosen["opened_on"].map(lambda d: f"{d.year}-{d.month:02d}").to_numpy()},
            geometry=gpd.points_from_xy(chosen["lon"], chosen["lat"]),
            crs="EPSG:4326",
        )
        for resolution in case_cube.RESOLUTIONS:
            expected = hex_bins(points, resolution=resolution)
            got = case_cube.cell_counts(session, case_filter, resolution=resolution)
            got = got.sort_values("cell").reset_index(drop=True)
            assert got["count"].tolist() == expected["count"].tolist(), (case_filter, resolution)
        monthly = case_cube.cell_counts(session, case_filter, resolution=7, by_month=True)
        assert monthly["count"].sum() == len(chosen)
        assert set(monthly["month"]) == set(points["month"])


def test_unit_counts_from_the_cube_equal_counting_cases(grid_db):
    session, _ = grid_db
    generation = active_generation(session).id
    case_cube.ensure_fresh(session)
    for case_filter in FILTERS:
        for level in ("county", "township", "village"):
            direct = q.unit_case_counts(session, generation, case_filter, level=level)
            cubed = q.unit_case_counts(session, generation, case_filter, level=level, cube=True)
            assert cubed["count"].tolist() == direct["count"].tolist()
            assert direct["count"].sum() > 0 or level == "county"


def test_any_case_write_marks_it_stale_and_reads_rebuild_it(grid_db, db_url):
    session, cases = grid_db
    assert case_cube.ensure_fresh(session) is True
    assert case_cube.ensure_fresh(session) is False
    with transaction(db_url) as other:
        other.execute(text("UPDATE case_record SET status = 'closed' WHERE id = 1"))
    assert case_cube.is_stale(session)
    assert case_cube.ensure_fresh(session) is True
    closed = case_cube.cell_counts(session, q.CaseFilter(statuses=("closed",)), resolution=6)
    assert closed["count"].sum() == (cases["status"] == "closed").sum() + (
        cases["status"].iloc[0] != "closed"
    )


def test_a_case_import_leaves_the_cube_fresh_in_its_own_transaction(db_url, tmp_path):
    load_tiny_network(db_url)
    path = tmp_path / "cases.csv"
    path.write_text(
        "编号,类型,日期,经度,纬度\nB1,信访,2013-01-02,110.05,27.05\nB2,建议,2013-01-03,110.25,27.15\n",
        encoding="utf-8",
    )
    report = import_cases(db_url, path, commit=True)
    assert report.ok, report.to_text("en")
    with session_factory(db_url)() as session:
        assert not case_cube.is_stale(session)
        total = case_cube.cell_counts(session, q.CaseFilter(), resolution=9)["count"].sum()
        assert total == 2

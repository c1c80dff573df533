"""models.coverage against real PostGIS: groups, stations and activity aggregates."""

from __future__ import annotations

import pandas as pd
import pytest

from models import coverage as db
from models.db import session_factory
from tests.coverage_factories import BUSY, CLOSED_VILLAGE, NEVER_VISITED, load_coverage_network


@pytest.fixture
def session(db_url):
    load_coverage_network(db_url)
    with session_factory(db_url)() as s:
        yield s


def test_groups_and_stations_in_metres(session):
    gid = db.generations(session)[0][0]
    groups = db.groups(session, gid)
    assert len(groups) == 8
    assert set(groups["village_code"]) == {c[:12] for c in groups["code"]}
    assert groups["x"].between(300_000, 500_000).all()  # EPSG:4546 eastings west of CM 111E
    stations = db.stations(session, gid)
    assert len(stations) == 3
    assert CLOSED_VILLAGE not in set(stations["station_code"])
    county = db.groups(session, gid, prefix="430525101")
    assert len(county) == 4


def test_activity_aggregates(session):
    gid = db.generations(session)[0][0]
    as_of = db.as_of(session)
    assert as_of == pd.Timestamp("2013-12-30")
    act = db.activity(session, gid, as_of=as_of, window_days=90, need_days=365)
    assert len(act) == 8
    busy = act.loc[BUSY]
    assert busy["officers"] == 2
    assert busy["cases"] == 6
    assert busy["visits"] == 3
    assert busy["households_visited"] == 2  # two households in December; June is outside
    assert busy["last_visit"] == pd.Timestamp("2013-12-20 15:00")
    # its village (with NEVER_VISITED) saw the team on 20 December only
    assert busy["village_visit_days"] == 1
    never = act.loc[NEVER_VISITED]
    assert pd.isna(never["last_visit"])
    assert never["visits"] == 0
    assert never["village_visit_days"] == 1  # its village's, shared
    small = db.activity(
        session, gid, prefix="430525101", as_of=as_of, window_days=90, need_days=365
    )
    assert len(small) == 4
    assert (small.index.str.startswith("430525101")).all()

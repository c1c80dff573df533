"""models.activity: gazetteer units with successors, set-based attribution, review resolution."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import text

from models import activity
from models.db import engine_for, transaction
from models.schema import AdminUnit, Generation, ImportBatch, ReviewItem
from tests.factories import load_tiny_network


@pytest.fixture
def tiny_url(db_url):
    load_tiny_network(db_url)
    return db_url


def _stage(session, points):
    frame = pd.DataFrame(
        {
            "row_no": range(len(points)),
            "team_id": pd.array([None] * len(points), dtype="Int64"),
            "household": [f"h{i}" for i in range(len(points))],
            "visited_epoch": 1.36e9,
            "source_crs": "wgs84",
            "source_lon": [p[0] for p in points],
            "source_lat": [p[1] for p in points],
            "fixed_code": [p[2] if len(p) > 2 else None for p in points],
            "lon": [p[0] for p in points],
            "lat": [p[1] for p in points],
        }
    )
    activity.create_stage(session, activity.VISIT_STAGE_COLUMNS)
    activity.copy_stage(session, frame, activity.VISIT_STAGE_COLUMNS)


def test_gazetteer_units_give_points_and_successors_of_old_units(tiny_url):
    with transaction(tiny_url) as s:
        old = Generation(name="2008", valid_from=dt.date(2008, 1, 1), active=False)
        s.add(old)
        # An old village inside today's 石江镇田心村 (110.2-110.4 E x 27.0-27.1 N).
        s.add(
            AdminUnit(
                generation=old,
                level="village",
                code="430525101299",
                name="老屋村",
                county_code="430525",
                geom=from_shape(MultiPolygon([box(110.21, 27.01, 110.29, 27.09)]), srid=4326),
            )
        )
    with transaction(tiny_url) as s:
        units, active = activity.gazetteer_units(s)
    assert active == "2013"
    assert len(units) == 15 + 1
    old_row = units[units["code"] == "430525101299"].iloc[0]
    assert old_row["generation"] == "2008"
    assert old_row["successor_code"] == "430525101201"
    assert 110.21 < old_row["lon"] < 110.29
    group = units[units["code"] == "430525100202002"].iloc[0]
    assert group["parent_code"] == "430525100202"
    assert pd.isna(group["successor_code"])
    assert units["generation"].iloc[0] == "2013"  # active units first


def test_attribution_by_point_and_by_geocoded_code(tiny_url):
    points = [
        (110.05, 27.05),  # 竹市镇田心村1组
        (110.1, 27.05),  # on the border of groups 1 and 2: exactly one answer
        (110.35, 27.15),  # 石江镇石桥村2组
        (111.5, 27.0),  # outside every group
        (110.3, 27.15, "430525101202"),  # geocoded to a village: no group code
    ]
    with transaction(tiny_url) as s:
        gen = activity.active_generation_id(s)
        _stage(s, points)
        assert activity.attribute_stage(s, generation_id=gen) == 4
        got = {
            r[0]: r[1:]
            for r in s.execute(
                text(
                    "SELECT row_no, group_code, village_code, township_code, county_code"
                    " FROM activity_stage_unit"
                )
            )
        }
        assert activity.unplaced_stage_rows(s) == [3]
        batch = ImportBatch(kind="visits", filename="f", sha256="x", username="u", status="c")
        s.add(batch)
        s.flush()
        assert activity.insert_stage_visits(s, batch_id=batch.id) == 4
    assert got[0] == ("430525100201001", "430525100201", "430525100000", "430525")
    assert got[1][0] in ("430525100201001", "430525100201002")
    assert got[2][0] == "430525101202002"
    assert got[4] == (None, "430525101202", "430525101000", "430525")
    with engine_for(tiny_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM visit")).scalar_one() == 4


def test_reattribute_moves_points_to_the_new_generation(tiny_url):
    with transaction(tiny_url) as s:
        gen = activity.active_generation_id(s)
        _stage(s, [(110.05, 27.05), (110.25, 27.15)])
        activity.attribute_stage(s, generation_id=gen)
        activity.insert_stage_visits(s, batch_id=None)
        new = Generation(name="2023", valid_from=dt.date(2023, 1, 1), active=False)
        s.add(new)
        s.flush()
        s.add(
            AdminUnit(
                generation_id=new.id,
                level="group",
                code="430525100777001",
                name="1组",
                county_code="430525",
                geom=from_shape(MultiPolygon([box(110.0, 27.0, 110.2, 27.2)]), srid=4326),
            )
        )
        s.flush()
        assert activity.reattribute(s, generation_id=new.id) == {"case_record": 0, "visit": 1}
        codes = s.execute(text("SELECT group_code FROM visit ORDER BY household")).scalars().all()
    assert codes == ["430525100777001", "430525101202001"]


def test_resolving_a_review_item_inserts_the_case_and_audits(tiny_url):
    with transaction(tiny_url) as s:
        batch = ImportBatch(kind="cases", filename="f", sha256="x", username="u", status="c")
        s.add(batch)
        s.flush()
        record = {
            "case_no": "R1",
            "kind": "dispute",
            "status": "open",
            "opened_on": "2013-02-03",
            "address": "田心村",
        }
        activity.add_review_items(
            s,
            [
                {"batch_id": batch.id, "kind": "case", "row_number": 2, "raw": {"record": record},
                 "reason": "ambiguous", "candidates": {"units": []}},
                {"batch_id": batch.id, "kind": "case", "row_number": 3, "raw": {"record": None},
                 "reason": "bad date", "candidates": {}},
            ],
        )  # fmt: skip
        assert activity.review_counts(s) == {"case": 2}
        first, second = activity.open_review_items(s)
        with pytest.raises(ValueError, match="outside every villager group"):
            activity.resolve_review_item(s, first.id, lon=111.5, lat=27.0, username="amy")
        with pytest.raises(ValueError, match="problems besides its place"):
            activity.resolve_review_item(s, second.id, lon=110.05, lat=27.05, username="amy")
        done = activity.resolve_review_item(s, first.id, lon=110.35, lat=27.05, username="amy")
        assert done["group_code"] == "430525101201002"
        with pytest.raises(LookupError):
            activity.resolve_review_item(s, first.id, lon=110.35, lat=27.05, username="amy")
        item = s.get(ReviewItem, first.id)
        assert (item.resolved, item.resolved_by) == (True, "amy")
        row = s.execute(
            text("SELECT case_no, location_method, opened_on, group_code FROM case_record")
        ).one()
        assert tuple(row) == ("R1", "manual", dt.date(2013, 2, 3), "430525101201002")
        actions = s.execute(text("SELECT action FROM audit_log")).scalars().all()
    assert actions == ["review.resolve"]

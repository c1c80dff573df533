"""models.activity: gazetteer units with successors, set-based attribution, review resolution."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import text

from ingest.activity import group_index
from models import activity, staging
from models.db import engine_for, transaction
from models.schema import AdminUnit, Generation, ImportBatch, ReviewItem
from tests.factories import load_tiny_network


@pytest.fixture
def tiny_url(db_url):
    load_tiny_network(db_url)
    return db_url


def _stage(session, points, url):
    """Attribute ``points`` (lon, lat[, geocoded code]) as an import does and stage the placed."""
    index = group_index(session, url=url)
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    units = index.attribute(lon, lat, [p[2] if len(p) > 2 else None for p in points])
    frame = pd.DataFrame(
        {
            "row_no": range(len(points)),
            "team_id": pd.array([None] * len(points), dtype="Int64"),
            "household": [f"h{i}" for i in range(len(points))],
            "source_id": None,
            "visited_epoch": 1.36e9,
            "source_crs": "wgs84",
            "source_lon": lon,
            "source_lat": lat,
            "lon": lon,
            "lat": lat,
        }
    )
    frame = pd.concat([frame, units], axis=1)
    placed = units["unit_id"].notna().to_numpy()
    staging.create_stage(session, staging.VISIT_STAGE_COLUMNS)
    staging.copy_stage(session, frame[placed], staging.VISIT_STAGE_COLUMNS)
    return units


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


def test_attribution_units_carry_group_polygons_and_the_signature_follows_activation(tiny_url):
    with transaction(tiny_url) as s:
        gen = activity.active_generation_id(s)
        units = staging.attribution_units(s, generation_id=gen)
        before = staging.attribution_signature(s)
        new = Generation(name="2023", valid_from=dt.date(2023, 1, 1), active=False)
        s.add(new)
        s.flush()
        assert staging.attribution_signature(s) == before
        s.execute(text("UPDATE generation SET active = false"))
        s.execute(text("UPDATE generation SET active = true WHERE id = :i"), {"i": new.id})
        assert staging.attribution_signature(s) != before
    assert len(units) == 15
    assert list(units["id"]) == sorted(units["id"])
    groups = units[units["level"] == "group"]
    assert groups["wkb"].notna().all()
    assert units.loc[units["level"] != "group", "wkb"].isna().all()
    assert shapely.from_wkb(groups["wkb"].iloc[0]).geom_type in ("Polygon", "MultiPolygon")


def test_attribution_by_point_and_by_geocoded_code(tiny_url):
    points = [
        (110.05, 27.05),  # 竹市镇田心村1组
        (110.1, 27.05),  # on the border of groups 1 and 2: exactly one answer
        (110.35, 27.15),  # 石江镇石桥村2组
        (111.5, 27.0),  # outside every group
        (110.3, 27.15, "430525101202"),  # geocoded to a village: no group code
    ]
    with transaction(tiny_url) as s:
        units = _stage(s, points, tiny_url)
        ids = dict(s.execute(text("SELECT code, id FROM admin_unit")).all())
        batch = ImportBatch(kind="visits", filename="f", sha256="x", username="u", status="c")
        s.add(batch)
        s.flush()
        assert staging.insert_stage_visits(s, batch_id=batch.id) == 4
    got = units[["group_code", "village_code", "township_code", "county_code"]]
    got = [tuple(None if pd.isna(v) else v for v in r) for r in got.itertuples(index=False)]
    assert got[0] == ("430525100201001", "430525100201", "430525100000", "430525")
    # The border point goes to the lower id of the two groups, every time.
    border = min(("430525100201001", "430525100201002"), key=ids.get)
    assert got[1][0] == border
    assert got[2][0] == "430525101202002"
    assert pd.isna(units["unit_id"][3])
    assert got[3] == (None, None, None, None)
    assert got[4] == (None, "430525101202", "430525101000", "430525")
    assert units["unit_id"][4] == ids["430525101202"]
    with engine_for(tiny_url).connect() as conn:
        stored = conn.execute(text("SELECT household, group_code FROM visit ORDER BY household"))
        assert dict(stored.all())["h1"] == border


def test_reattribute_moves_points_to_the_new_generation(tiny_url):
    with transaction(tiny_url) as s:
        _stage(s, [(110.05, 27.05), (110.25, 27.15), (110.2, 27.05)], tiny_url)
        staging.insert_stage_visits(s, batch_id=None)
        new = Generation(name="2023", valid_from=dt.date(2023, 1, 1), active=False)
        s.add(new)
        s.flush()
        # Two new groups share the border x = 110.2, where the third visit lies.
        for code, west in (("430525100777002", 110.2), ("430525100777001", 110.0)):
            s.add(
                AdminUnit(
                    generation_id=new.id,
                    level="group",
                    code=code,
                    name="组",
                    county_code="430525",
                    geom=from_shape(MultiPolygon([box(west, 27.0, west + 0.2, 27.2)]), srid=4326),
                )
            )
        s.flush()
        assert activity.reattribute(s, generation_id=new.id) == {"case_record": 0, "visit": 3}
        codes = s.execute(text("SELECT group_code FROM visit ORDER BY household")).scalars().all()
    # The border visit goes to the new group with the lower id (added first), not the lower code.
    assert codes == ["430525100777001", "430525100777002", "430525100777002"]


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

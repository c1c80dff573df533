"""Boundary updates for part of the city: a new generation from the active one (--base)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from ingest.boundaries import default_generation_name, import_boundaries, list_generations
from ingest.errors import IngestError
from models.db import engine_for
from tests.ingest.conftest import COUNTY, GROUPS, TOWNSHIPS, VILLAGES, square, write_layer


def _rows(url, sql):
    with engine_for(url).connect() as conn:
        return conn.execute(text(sql)).all()


@pytest.fixture
def loaded(db_url, layer_dir):
    for stem, units in (("c", COUNTY), ("t", TOWNSHIPS), ("v", VILLAGES), ("g", GROUPS)):
        path = write_layer(layer_dir, stem, units)
        assert import_boundaries(db_url, path, generation="2013", commit=True).ok
    return db_url


# 白仓镇's two villages redrawn as one merged village, the other township's unchanged.
NEW_VILLAGES = [("430523101203", "白石村", square(2000, 0, 2000, 4000))]


def test_base_copies_the_rest_and_replaces_the_countys_units(loaded, layer_dir, digest):
    path = write_layer(layer_dir, "new_v", NEW_VILLAGES)
    before = digest(loaded)
    dry = import_boundaries(loaded, path, base="2013", generation="2024-v")
    assert dry.status == "dry_run", dry.to_text("en")
    assert digest(loaded) == before  # the dry run wrote nothing, not even the copy
    report = import_boundaries(loaded, path, base="2013", generation="2024-v", commit=True)
    assert report.status == "committed", report.to_text("en")
    gens = {g["name"]: g for g in list_generations(loaded)}
    assert gens["2013"]["active"]
    assert not gens["2024-v"]["active"]
    # County and townships copied; the county's villages and groups replaced by the file's.
    counts = {k: v for k, v in gens["2024-v"]["counts"].items() if v}
    assert counts == {"county": 1, "township": 2, "village": 1}
    assert report.counts["copied_from_base"] == 3
    assert report.counts["replaced_from_base"] == 12
    parent = _rows(
        loaded,
        "SELECT p.code, p.generation_id = c.generation_id FROM admin_unit c"
        " JOIN admin_unit p ON p.id = c.parent_id JOIN generation g ON g.id = c.generation_id"
        " WHERE g.name = '2024-v' AND c.code = '430523101203'",
    )
    assert parent == [("430523101000", True)]
    # The base generation is untouched.
    counts = {k: v for k, v in gens["2013"]["counts"].items() if v}
    assert counts == {"county": 1, "township": 2, "village": 4, "group": 8}


def test_base_import_is_checked_for_nesting(loaded, layer_dir):
    spill = [("430523101203", "白石村", square(1500, 0, 2500, 4000))]  # 500 m into 塘渡口镇
    report = import_boundaries(
        loaded, write_layer(layer_dir, "spill", spill), base="2013", generation="x"
    )
    assert report.status == "dry_run"
    assert any("430523101203" in w.message for w in report.warnings)


def test_base_needs_a_new_generation_and_an_existing_base(loaded, layer_dir):
    path = write_layer(layer_dir, "new_v", NEW_VILLAGES)
    with pytest.raises(IngestError, match="exists"):
        import_boundaries(loaded, path, base="2013", generation="2013")
    with pytest.raises(IngestError, match="1999"):
        import_boundaries(loaded, path, base="1999", generation="new")


def test_generation_defaults_to_a_new_name_not_2013(db_url, layer_dir):
    report = import_boundaries(db_url, write_layer(layer_dir, "c", COUNTY), commit=True)
    assert report.generation == default_generation_name() != "2013"
    assert default_generation_name(dt.date(2026, 11, 29)) == "20261129"
    assert [g["name"] for g in list_generations(db_url)] == [default_generation_name()]

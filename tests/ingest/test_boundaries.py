"""Boundary imports on a real PostGIS: levels, linking, generations, idempotence, dry run."""

from __future__ import annotations

import zipfile

import pytest
from sqlalchemy import text

from ingest.boundaries import activate_generation, import_boundaries, list_generations
from models.db import engine_for
from tests.ingest.conftest import COUNTY, GROUPS, TOWNSHIPS, VILLAGES, square, write_layer


def _rows(url, sql):
    with engine_for(url).connect() as conn:
        return conn.execute(text(sql)).all()


def _load_all(url, folder, generation="2013"):
    reports = []
    for stem, units in (
        ("county", COUNTY),
        ("township", TOWNSHIPS),
        ("village", VILLAGES),
        ("group", GROUPS),
    ):
        path = write_layer(folder, f"{stem}_{generation}", units)
        reports.append(import_boundaries(url, path, generation=generation, commit=True))
    return reports


def test_full_hierarchy_links_every_unit_to_its_parent(db_url, layer_dir):
    reports = _load_all(db_url, layer_dir)
    assert [r.status for r in reports] == ["committed"] * 4
    assert [r.counts["units"] for r in reports] == [1, 2, 4, 8]
    pairs = _rows(
        db_url,
        "SELECT c.code, p.code FROM admin_unit c LEFT JOIN admin_unit p ON p.id = c.parent_id",
    )
    parent = dict(pairs)
    assert parent["430523000000"] is None
    assert parent["430523101000"] == "430523000000"
    assert parent["430523101202"] == "430523101000"
    assert parent["430523101202002"] == "430523101202"
    assert all(r.counts.get("linked_by_containment", 0) == 0 for r in reports)
    assert not any(r.warnings for r in reports), [r.warnings for r in reports]


def test_gbk_names_without_cpg_come_out_right(db_url, layer_dir):
    path = write_layer(layer_dir, "county", COUNTY)
    assert not path.with_suffix(".cpg").exists()
    report = import_boundaries(db_url, path, commit=True)
    assert report.details["encoding"] in ("GB18030", "GBK")
    assert _rows(db_url, "SELECT name, county_code, level FROM admin_unit") == [
        ("邵阳县", "430523", "county")
    ]


def test_geometry_stored_in_lon_lat_with_the_right_area(db_url, layer_dir):
    import_boundaries(db_url, write_layer(layer_dir, "county", COUNTY), commit=True)
    ((lon, lat, area),) = _rows(
        db_url,
        "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), "
        "ST_Area(ST_Transform(geom, 4546)) FROM admin_unit",
    )
    assert 110.9 < lon < 111.1
    assert 26.9 < lat < 27.1
    assert area == pytest.approx(16e6, rel=1e-6)


def test_dry_run_writes_nothing_and_reports(db_url, layer_dir, digest):
    before = digest(db_url)
    report = import_boundaries(db_url, write_layer(layer_dir, "county", COUNTY))
    assert report.status == "dry_run"
    assert report.counts["county"] == 1
    assert digest(db_url) == before
    assert "试运行" in report.to_text("zh")
    assert "dry run" in report.to_text("en")


def test_reimport_of_the_same_file_changes_nothing(db_url, layer_dir, digest):
    path = write_layer(layer_dir, "county", COUNTY)
    first = import_boundaries(db_url, path, commit=True)
    before = digest(db_url)
    again = import_boundaries(db_url, path, commit=True)
    assert again.status == "already_imported"
    assert again.batch_id == first.batch_id
    assert digest(db_url) == before


def test_batch_and_audit_rows_written_with_the_units(db_url, layer_dir):
    report = import_boundaries(
        db_url, write_layer(layer_dir, "county", COUNTY), commit=True, username="staff1"
    )
    ((kind, user, sha, status, counts),) = _rows(
        db_url, "SELECT kind, username, sha256, status, counts FROM import_batch"
    )
    assert (kind, user, sha, status) == ("boundaries", "staff1", report.sha256, "committed")
    assert counts["county"] == 1
    ((action, detail),) = _rows(db_url, "SELECT action, detail FROM audit_log")
    assert action == "import.boundaries"
    assert detail["batch_id"] == report.batch_id


def test_new_generation_is_inactive_until_activated(db_url, layer_dir):
    first_dir = layer_dir / "a"
    second_dir = layer_dir / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    import_boundaries(db_url, write_layer(first_dir, "c", COUNTY), generation="2013", commit=True)
    moved = [("430523000000", "邵阳县", square(0, 0, 4000, 4100))]
    import_boundaries(db_url, write_layer(second_dir, "c", moved), generation="2024", commit=True)
    gens = {g["name"]: g for g in list_generations(db_url)}
    assert gens["2013"]["active"]
    assert not gens["2024"]["active"]
    assert gens["2024"]["counts"]["county"] == 1
    activate_generation(db_url, "2024", username="admin")
    gens = {g["name"]: g for g in list_generations(db_url)}
    assert gens["2024"]["active"]
    assert not gens["2013"]["active"]
    # The old generation stays queryable.
    assert gens["2013"]["counts"]["county"] == 1
    assert _rows(db_url, "SELECT action FROM audit_log ORDER BY id")[-1] == ("generation.activate",)


def test_activate_unknown_generation_is_a_lookup_error(db_url):
    with pytest.raises(LookupError, match="2099"):
        activate_generation(db_url, "2099")


def test_wrong_code_prefix_links_by_location_with_a_warning(db_url, layer_dir):
    import_boundaries(db_url, write_layer(layer_dir, "county", COUNTY), commit=True)
    import_boundaries(db_url, write_layer(layer_dir, "town", TOWNSHIPS), commit=True)
    # A village whose code names a township 430523109000 that does not exist, lying in 白仓镇.
    stray = [("430523109201", "新村", square(2000, 0, 2000, 2000))]
    report = import_boundaries(db_url, write_layer(layer_dir, "v", stray), commit=True)
    assert report.status == "committed"
    assert report.counts["linked_by_containment"] == 1
    assert any("430523101000" in w.message for w in report.warnings)
    assert _rows(
        db_url,
        "SELECT p.code FROM admin_unit c JOIN admin_unit p ON p.id = c.parent_id "
        "WHERE c.code = '430523109201'",
    ) == [("430523101000",)]


def test_spill_gap_and_overlap_reported_in_square_metres(db_url, layer_dir):
    import_boundaries(db_url, write_layer(layer_dir, "county", COUNTY), commit=True)
    import_boundaries(db_url, write_layer(layer_dir, "town", TOWNSHIPS), commit=True)
    villages = [
        # pokes 100 m × 2000 m = 200,000 m² into the next township
        ("430523100201", "金江村", square(0, 0, 2100, 2000)),
        # overlaps its sibling 金江村 by 2000 × 200 m = 400,000 m², and stops 500 m short
        # of the township's top edge: a 1,000,000 m² gap
        ("430523100202", "大坝村", square(0, 1800, 2000, 1700)),
        # overlaps 金江村's spill, but they are cousins: that is the spill, not an overlap
        ("430523101201", "白仓村", square(2000, 0, 2000, 2000)),
        ("430523101202", "石桥村", square(2000, 2000, 2000, 2000)),
    ]
    report = import_boundaries(db_url, write_layer(layer_dir, "v", villages), tolerance_m2=10)
    assert report.ok
    texts = [w.message for w in report.warnings]
    spill = [t for t in texts if "outside" in t]
    gap = [t for t in texts if "gap" in t]
    overlap = [t for t in texts if "overlap" in t]
    assert len(spill) == 1
    assert "430523100201" in spill[0]
    assert "200,0" in spill[0] or "199,9" in spill[0]
    assert len(gap) == 1
    assert "430523100000" in gap[0]
    assert "1,000,0" in gap[0] or "999,9" in gap[0]
    assert len(overlap) == 1
    assert "430523100201" in overlap[0]
    assert "430523100202" in overlap[0]
    assert "400,0" in overlap[0] or "399,9" in overlap[0]


def test_zipped_shapefile_imports(db_url, layer_dir, tmp_path):
    path = write_layer(layer_dir, "county", COUNTY)
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in layer_dir.iterdir():
            zf.write(part, f"边界/{part.name}")
    report = import_boundaries(db_url, archive, commit=True)
    assert report.status == "committed"
    assert report.file.startswith("upload.zip/")
    assert path.exists()


def test_geopackage_layer_and_geojson(db_url, layer_dir):
    gpkg = write_layer(layer_dir, "b", COUNTY, driver="GPKG", suffix=".gpkg", layer="county")
    write_layer(layer_dir, "b", TOWNSHIPS, driver="GPKG", suffix=".gpkg", layer="township")
    assert import_boundaries(db_url, gpkg, layer="county", commit=True).counts["units"] == 1
    gj = write_layer(
        layer_dir,
        "t",
        TOWNSHIPS,
        driver="GeoJSON",
        suffix=".geojson",
        crs=4326,
        code_field="CODE",
        name_field="NAME",
    )
    report = import_boundaries(db_url, gj, commit=True)
    assert report.counts["township"] == 2
    assert report.counts["linked_by_code"] == 2


def test_one_file_with_several_levels_links_inside_the_file(db_url, layer_dir):
    path = write_layer(
        layer_dir, "all", COUNTY + TOWNSHIPS + VILLAGES, code_field="DM", name_field="MC"
    )
    report = import_boundaries(db_url, path, commit=True)
    assert report.status == "committed", report.to_text("en")
    assert (report.counts["county"], report.counts["township"], report.counts["village"]) == (
        1,
        2,
        4,
    )
    assert report.counts["linked_by_code"] == 6
    assert _rows(
        db_url,
        "SELECT count(*) FROM admin_unit c JOIN admin_unit p ON p.id = c.parent_id "
        "WHERE left(c.code, 6) = left(p.code, 6)",
    ) == [(6,)]


def test_land_survey_19_digit_codes_and_nine_digit_townships(db_url, layer_dir):
    import_boundaries(db_url, write_layer(layer_dir, "c", COUNTY), commit=True)
    towns = [(code[:9], name, geom) for code, name, geom in TOWNSHIPS]
    assert import_boundaries(db_url, write_layer(layer_dir, "t", towns), commit=True).ok
    villages = [(code + "0000000", name, geom) for code, name, geom in VILLAGES]
    path = write_layer(
        layer_dir,
        "v",
        villages,
        code_field="ZLDWDM",
        name_field="ZLDWMC",
        extra={"XZQDM": [c[:9] for c, _, _ in VILLAGES]},
    )
    report = import_boundaries(db_url, path, level="village", commit=True)
    assert report.status == "committed", report.to_text("en")
    assert report.details["fields"]["code"] == "ZLDWDM"
    assert sorted(
        c for (c,) in _rows(db_url, "SELECT code FROM admin_unit WHERE level='village'")
    ) == sorted(c for c, _, _ in VILLAGES)


def test_zone_prefixed_gauss_kruger_and_explicit_crs_without_prj(db_url, layer_dir):
    zoned = write_layer(layer_dir, "zone", COUNTY, crs=4525)
    report = import_boundaries(db_url, zoned)
    assert report.ok
    assert "EPSG:4525" in report.details["crs"]
    no_prj = write_layer(layer_dir, "noprj", COUNTY, crs=None)
    report = import_boundaries(db_url, no_prj, crs="EPSG:4546")
    assert report.ok
    assert "crs=" in report.details["crs"]


def test_names_with_tabs_and_backslashes_survive_the_copy(db_url, layer_dir):
    odd = [("430523000000", "邵阳\\县\t新", COUNTY[0][2])]
    path = write_layer(layer_dir, "odd", odd, encoding="UTF-8", keep_cpg=True)
    assert import_boundaries(db_url, path, commit=True).status == "committed"
    assert _rows(db_url, "SELECT name FROM admin_unit") == [("邵阳\\县\t新",)]


@pytest.mark.parametrize("epsg", [2382, 2434, 4490])
def test_xian80_beijing54_and_cgcs2000_geographic_files_land_in_place(db_url, layer_dir, epsg):
    path = write_layer(layer_dir, f"c{epsg}", COUNTY, crs=epsg)
    report = import_boundaries(db_url, path, commit=True)
    assert report.status == "committed"
    assert f"EPSG:{epsg}" in report.details["crs"]
    # Datum differences are at most a few hundred metres; the county is 4 km wide.
    ((dist,),) = _rows(
        db_url,
        "SELECT ST_Distance(ST_Centroid(geom)::geography, "
        "ST_Transform(ST_SetSRID(ST_MakePoint(502000, 2992000), 4546), 4326)::geography) "
        "FROM admin_unit",
    )
    assert dist < 500


def test_explicit_field_mapping_wins(db_url, layer_dir):
    path = write_layer(
        layer_dir,
        "odd",
        COUNTY,
        code_field="BIANHAO",
        name_field="MINGCHENG",
        extra={"NAME": ["错误的名字"]},
    )
    report = import_boundaries(
        db_url, path, fields={"code": "BIANHAO", "name": "MINGCHENG"}, commit=True
    )
    assert report.status == "committed"
    assert _rows(db_url, "SELECT code, name FROM admin_unit") == [("430523000000", "邵阳县")]

"""Register imports (stations, officers, teams) from CSV/XLSX, matched by code or name path."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from geo.coords import wgs84_to_gcj02
from ingest.boundaries import import_boundaries
from ingest.errors import IngestError
from ingest.registers import import_officers, import_stations, import_teams
from models.db import engine_for
from tests.ingest.conftest import COUNTY, GROUPS, TOWNSHIPS, VILLAGES, write_layer


@pytest.fixture
def network_url(db_url, layer_dir):
    for stem, units in (("c", COUNTY), ("t", TOWNSHIPS), ("v", VILLAGES), ("g", GROUPS)):
        report = import_boundaries(db_url, write_layer(layer_dir, stem, units), commit=True)
        assert report.status == "committed"
    return db_url


def _rows(url, sql):
    with engine_for(url).connect() as conn:
        return conn.execute(text(sql)).all()


def _csv(path, frame, encoding="gbk"):
    path.write_bytes(frame.to_csv(index=False).encode(encoding))
    return path


def _village_centre(code):
    (poly,) = [p for c, _, p in VILLAGES if c == code]
    return pd.Series([poly.centroid], dtype=object)


def test_stations_by_code_and_by_name_in_gbk_csv(network_url, tmp_path):
    lon, lat = 111.0, 27.0
    glon, glat = wgs84_to_gcj02(lon, lat)
    table = pd.DataFrame(
        {
            "县市区": ["邵阳县", "邵阳县"],
            "乡镇（街道）": ["塘渡口镇", "白仓镇"],
            "村（社区）名称": ["金江村", "石桥村"],
            "村代码": ["430523100201", ""],
            "站点名称": ["金江村群众工作站", "石桥村群众工作站"],
            "站长": ["刘站长", ""],
            "联系电话": ["0739-7000001", ""],
            "经度": [f"{float(glon):.7f}", ""],
            "纬度": [f"{float(glat):.7f}", ""],
            "坐标系": ["GCJ02", ""],
        }
    )
    report = import_stations(network_url, _csv(tmp_path / "站点.csv", table), commit=True)
    assert report.status == "committed", report.to_text("en")
    assert report.counts["located_by_unit"] == 1
    got = {
        code: (src, x, y, inside)
        for code, src, x, y, inside in _rows(
            network_url,
            "SELECT u.code, s.location_source, ST_X(s.geom), ST_Y(s.geom), "
            "ST_Contains(u.geom, s.geom) FROM station s JOIN admin_unit u ON u.id = s.unit_id",
        )
    }
    src, x, y, _ = got["430523100201"]
    assert src == "register"
    assert x == pytest.approx(lon, abs=1e-6)
    assert y == pytest.approx(lat, abs=1e-6)
    src, _, _, inside = got["430523101202"]
    assert src == "representative_point"
    assert inside
    heads = dict(
        _rows(
            network_url,
            "SELECT u.code, s.head || ' ' || s.phone FROM station s"
            " JOIN admin_unit u ON u.id = s.unit_id",
        )
    )
    assert heads == {"430523100201": "刘站长 0739-7000001", "430523101202": None}


def test_station_head_under_english_headers(network_url, tmp_path):
    table = pd.DataFrame(
        {
            "code": ["430523100201"],
            "name": ["Jinjiang station"],
            "head": ["Liu Wei"],
            "phone": ["13900000001"],
        }
    )
    report = import_stations(network_url, _csv(tmp_path / "s.csv", table, "utf-8"), commit=True)
    assert report.status == "committed", report.to_text("en")
    assert _rows(network_url, "SELECT head, phone FROM station") == [("Liu Wei", "13900000001")]


def test_officers_by_name_path_and_teams_from_xlsx(network_url, tmp_path):
    officers = pd.DataFrame(
        {
            "姓名": ["张三", "李四"],
            "联系电话": ["13800000001", "13800000002"],
            "村（社区）": ["大坝村", "白仓村"],
            "村民小组": ["大坝村第2组", "白仓村第1组"],
        }
    )
    report = import_officers(network_url, _csv(tmp_path / "o.csv", officers, "utf-8"), commit=True)
    assert report.status == "committed", report.to_text("en")
    assert sorted(
        _rows(
            network_url,
            "SELECT o.name, u.code FROM officer o JOIN admin_unit u ON u.id = o.unit_id",
        )
    ) == [("张三", "430523100202002"), ("李四", "430523101201001")]

    teams = pd.DataFrame(
        {
            "工作队名称": ["白仓镇工作队"],
            "乡镇代码": ["430523101"],
            "队长": ["王五"],
            "队员人数": ["5"],
            "驻地经度": ["111.03"],
            "驻地纬度": ["27.02"],
            "坐标系": ["WGS84"],
        }
    )
    xlsx = tmp_path / "teams.xlsx"
    teams.to_excel(xlsx, index=False)
    report = import_teams(network_url, xlsx, commit=True)
    assert report.status == "committed", report.to_text("en")
    assert _rows(
        network_url,
        "SELECT t.name, t.members, u.code, ST_X(t.home) FROM team t "
        "JOIN admin_unit u ON u.id = t.unit_id",
    ) == [("白仓镇工作队", 5, "430523101000", pytest.approx(111.03))]


def test_ambiguous_name_needs_the_township(network_url, tmp_path, digest):
    # "金江村第1组" is unique (a blank village cell counts as not given); "第1组" is not.
    officers = pd.DataFrame({"姓名": ["赵六"], "村民小组": ["金江村第1组"], "村（社区）": [""]})
    ok = import_officers(network_url, _csv(tmp_path / "a.csv", officers))
    assert ok.ok
    before = digest(network_url)
    officers = pd.DataFrame({"姓名": ["赵六"], "村民小组": ["第1组"]})
    report = import_officers(network_url, _csv(tmp_path / "b.csv", officers), commit=True)
    assert report.status == "rejected"
    assert report.errors[0].where == "row 2"
    assert digest(network_url) == before


def test_reimporting_a_station_file_is_idempotent(network_url, tmp_path, digest):
    table = pd.DataFrame({"村代码": ["430523100201"], "站点名称": ["站"]})
    path = _csv(tmp_path / "s.csv", table)
    assert import_stations(network_url, path, commit=True).status == "committed"
    before = digest(network_url)
    assert import_stations(network_url, path, commit=True).status == "already_imported"
    assert digest(network_url) == before


def test_registers_need_an_active_generation(db_url, tmp_path):
    table = pd.DataFrame({"村代码": ["430523100201"], "站点名称": ["站"]})
    with pytest.raises(IngestError, match="no active boundary generation"):
        import_stations(db_url, _csv(tmp_path / "s.csv", table))


def test_swapped_station_coordinates_are_put_right_and_reported(network_url, tmp_path):
    # The same policy as cases and visits (ingest.points): a pair that is near Shaoyang only
    # the other way round is swapped back and listed as a repair, not refused.
    table = pd.DataFrame(
        {"村代码": ["430523100201"], "站点名称": ["甲"], "经度": ["27.0"], "纬度": ["111.0"]}
    )
    report = import_stations(network_url, _csv(tmp_path / "s.csv", table), commit=True)
    assert report.status == "committed", report.to_text("en")
    assert [(p.kind, p.where) for p in report.repairs] == [("repair", "row 2")]
    assert "swapped" in report.repairs[0].message
    lon, lat = _rows(network_url, "SELECT ST_X(geom), ST_Y(geom) FROM station")[0]
    assert (lon, lat) == (pytest.approx(111.0), pytest.approx(27.0))

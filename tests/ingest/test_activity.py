"""Case and visit imports on the tiny network: geocoding, GPS systems, attribution, review queue."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from ingest.activity import find_columns, group_index, import_cases, import_visits
from ingest.errors import IngestError
from models.db import engine_for, session_factory
from models.schema import ImportBatch
from tests.factories import load_tiny_network

ZHUSHI_TIANXIN = "430525100201"  # 竹市镇田心村, 110.0-110.2 E x 27.0-27.1 N
SHIJIANG_SHIQIAO = "430525101202"  # 石江镇石桥村, 110.2-110.4 E x 27.1-27.2 N


@pytest.fixture
def tiny_url(db_url):
    load_tiny_network(db_url)
    return db_url


def _rows(url, sql, **params):
    with engine_for(url).connect() as conn:
        return conn.execute(text(sql), params).all()


def _csv(path, frame, encoding="gbk"):
    path.write_bytes(frame.to_csv(index=False).encode(encoding))
    return path


def _cases_table():
    glon, glat = wgs84_to_gcj02(110.15, 27.15)
    rows = [
        # case no, type, status, date, closed, address, lon, lat, crs
        ("C1", "信访", "已办结", "2013-03-01", "2013-03-09", "洞口县竹市镇田心村2组", "", "", ""),
        ("C2", "矛盾纠纷", "办理中", "2013/3/2", "", "", "110.05", "27.05", ""),
        ("C3", "代办", "", "2013年3月3日", "", "", f"{float(glon):.7f}", f"{float(glat):.7f}", "GCJ02"),
        ("C4", "建议", "已受理", "2013-03-04", "", "", "27.15", "110.25", "wgs84"),
        ("C5", "信访", "", "2013-03-05", "", "田心村", "", "", ""),
        ("C6", "信访", "", "2013-03-06", "", "湖南省长沙市岳麓区麓山南路", "", "", ""),
        ("C7", "信访", "", "2013-13-45", "", "洞口县竹市镇田心村1组", "", "", ""),
        ("C1", "信访", "", "2013-03-08", "", "洞口县石江镇石桥村1组", "", "", ""),
        ("C9", "信访", "", "2013-03-09", "", "", "0", "0", ""),
        ("C10", "信访", "", "2013-03-10", "", "", "111.5", "27.0", ""),
        ("C11", "纠纷", "", "2013-03-11", "", "", "", "", ""),
    ]  # fmt: skip
    cols = ["案件编号", "类型", "状态", "登记日期", "办结日期", "地址", "经度", "纬度", "坐标系"]
    return pd.DataFrame(rows, columns=cols)


EXPECTED_REVIEW = {
    6: "ambiguous",  # 田心村 is in both townships
    7: "unmatched",  # 长沙
    8: "bad_date",
    9: "duplicate_in_file",
    10: "out_of_range",
    11: "outside_units",
    12: "no_location",
}


def test_find_columns_reads_chinese_and_english_headers_and_explicit_fields():
    cols = find_columns(["编号", "案件类型", "受理日期", "详细地址", "lng", "Lat"], "cases")
    assert cols == {
        "case_no": "编号",
        "kind": "案件类型",
        "opened_on": "受理日期",
        "address": "详细地址",
        "lon": "lng",
        "lat": "Lat",
    }
    cols = find_columns(["走访时间", "位置描述"], "visits", {"address": "位置描述"})
    assert cols == {"visited_at": "走访时间", "address": "位置描述"}
    with pytest.raises(KeyError):
        find_columns(["a"], "cases", {"address": "nope"})


def test_dry_run_reports_everything_and_writes_nothing(tiny_url, tmp_path):
    report = import_cases(tiny_url, _csv(tmp_path / "cases.csv", _cases_table()))
    assert report.status == "dry_run"
    assert report.counts["cases"] == 4
    assert report.counts["review"] == len(EXPECTED_REVIEW)
    assert _rows(tiny_url, "SELECT count(*) FROM case_record")[0][0] == 0
    assert _rows(tiny_url, "SELECT count(*) FROM review_item")[0][0] == 0
    assert _rows(tiny_url, "SELECT count(*) FROM import_batch")[0][0] == 0


def test_commit_places_good_rows_and_queues_bad_ones(tiny_url, tmp_path):
    path = _csv(tmp_path / "cases.csv", _cases_table())
    report = import_cases(tiny_url, path, commit=True, username="amy")
    assert report.status == "committed", report.to_text("en")
    assert report.counts["geocoded"] == 1
    assert report.counts["swapped_fixed"] == 1
    assert any(p.kind == "repair" and p.where == "row 5" for p in report.problems)
    got = {
        r[0]: r[1:]
        for r in _rows(
            tiny_url,
            "SELECT case_no, kind, status, opened_on, group_code, village_code, township_code,"
            " county_code, location_method, source_crs, ST_X(geom), ST_Y(geom), batch_id"
            " FROM case_record",
        )
    }
    assert set(got) == {"C1", "C2", "C3", "C4"}
    assert got["C1"][:5] == ("petition", "closed", dt.date(2013, 3, 1), ZHUSHI_TIANXIN + "002",
                             ZHUSHI_TIANXIN)  # fmt: skip
    assert got["C1"][7] == "geocoded"
    assert got["C2"][:4] == ("dispute", "in_progress", dt.date(2013, 3, 2), ZHUSHI_TIANXIN + "001")
    # GCJ-02 converted back to WGS-84 within a metre, then placed in 竹市镇石桥村2组.
    assert got["C3"][3] == "430525100202002"
    assert got["C3"][1] == "open"
    assert got["C3"][8] == "gcj02"
    assert abs(got["C3"][9] - 110.15) < 1e-5
    assert abs(got["C3"][10] - 27.15) < 1e-5
    assert got["C4"][3] == SHIJIANG_SHIQIAO + "001"
    assert got["C4"][4:7] == (SHIJIANG_SHIQIAO, "430525101000", "430525")
    assert {g[11] for g in got.values()} == {report.batch_id}

    review = {
        r[0]: r[1:]
        for r in _rows(
            tiny_url, "SELECT row_number, kind, reason, candidates, raw, batch_id FROM review_item"
        )
    }
    assert set(review) == set(EXPECTED_REVIEW)
    assert all(r[0] == "case" and r[4] == report.batch_id for r in review.values())
    assert report.details["review_reasons"] == {
        reason: list(EXPECTED_REVIEW.values()).count(reason) for reason in EXPECTED_REVIEW.values()
    }
    assert "有多个可能位置" in review[6][1]
    assert {c["code"] for c in review[6][2]["units"]} == {ZHUSHI_TIANXIN, "430525101201"}
    assert "不在任何村民小组内" in review[11][1]
    assert review[9][3]["row"]["案件编号"] == "C1"
    assert _rows(tiny_url, "SELECT username, action FROM audit_log") == [("amy", "import.cases")]
    counts = _rows(tiny_url, "SELECT counts FROM import_batch")[0][0]
    assert counts["cases"] == 4
    assert counts["review"] == 7


def test_reimport_changes_nothing_and_known_case_numbers_are_skipped_duplicates(tiny_url, tmp_path):
    path = _csv(tmp_path / "cases.csv", _cases_table())
    first = import_cases(tiny_url, path, commit=True)
    again = import_cases(tiny_url, path, commit=True)
    assert again.status == "already_imported"
    assert again.batch_id == first.batch_id
    assert _rows(tiny_url, "SELECT count(*) FROM case_record")[0][0] == 4
    assert _rows(tiny_url, "SELECT count(*) FROM review_item")[0][0] == 7
    more = pd.DataFrame(
        {"编号": ["C2", "C20"], "类型": ["建议", "建议"], "受理日期": ["2013-04-01"] * 2,
         "经度": ["110.06", "110.07"], "纬度": ["27.06", "27.07"]}
    )  # fmt: skip
    more_csv = _csv(tmp_path / "more.csv", more, "utf-8")
    dry = import_cases(tiny_url, more_csv)
    assert (dry.counts["cases"], dry.counts["duplicates"], dry.counts["review"]) == (1, 1, 0)
    assert any("already in the database (430525 C2)" in p.message for p in dry.problems)
    report = import_cases(tiny_url, more_csv, commit=True)
    assert (report.counts["cases"], report.counts["duplicates"]) == (1, 1)
    assert report.details["review_reasons"] == {}
    assert _rows(tiny_url, "SELECT count(*) FROM review_item")[0][0] == 7
    assert _rows(tiny_url, "SELECT count(*) FROM case_record WHERE case_no = 'C2'")[0][0] == 1


def test_structural_problems_raise_and_write_nothing(tiny_url, tmp_path):
    no_place = pd.DataFrame({"编号": ["1"], "类型": ["信访"], "受理日期": ["2013-01-01"]})
    with pytest.raises(IngestError, match="no address column"):
        import_cases(tiny_url, _csv(tmp_path / "a.csv", no_place), commit=True)
    gbk = _csv(tmp_path / "b.csv", _cases_table(), "gbk")
    with pytest.raises(IngestError, match=r"b\.csv: row 1: text is not utf-8"):
        import_cases(tiny_url, gbk, encoding="utf-8", commit=True)
    utf16 = tmp_path / "c.csv"
    utf16.write_bytes(_cases_table().to_csv(index=False).encode("utf-16"))
    with pytest.raises(IngestError, match=r"c\.csv"):
        import_cases(tiny_url, utf16, commit=True)
    assert _rows(tiny_url, "SELECT count(*) FROM import_batch")[0][0] == 0


def test_visits_convert_phone_gps_and_keep_the_source(tiny_url, tmp_path):
    glon, glat = wgs84_to_gcj02(110.25, 27.05)
    blon, blat = wgs84_to_bd09(110.35, 27.15)
    table = pd.DataFrame(
        {
            "team": ["竹市镇群众工作队", "无名队", "x", "x"],
            "household_id": ["h1", "h2", "h3", "h4"],
            "visited_at": ["2013-05-01 09:30:00+08:00", "2013-05-02 10:00", "昨天", "2013-05-03"],
            "lng": [f"{float(glon):.7f}", f"{float(blon):.7f}", "110.1", "111.9"],
            "lat": [f"{float(glat):.7f}", f"{float(blat):.7f}", "27.1", "27.9"],
            "coord_type": ["gcj02", "bd09", "wgs84", "wgs84"],
        }
    )
    report = import_visits(tiny_url, _csv(tmp_path / "v.csv", table, "utf-8"), commit=True)
    assert report.status == "committed", report.to_text("en")
    assert report.counts["visits"] == 2
    assert report.counts["unknown_team"] == 4
    got = _rows(
        tiny_url,
        "SELECT household, group_code, source_crs, source_lon, visited_at, ST_X(geom), ST_Y(geom)"
        " FROM visit ORDER BY household",
    )
    assert [g[:3] for g in got] == [
        ("h1", "430525101201001", "gcj02"),
        ("h2", "430525101202002", "bd09"),
    ]
    assert got[0][3] == pytest.approx(float(glon))
    utc = dt.UTC
    assert got[0][4] == dt.datetime(2013, 5, 1, 1, 30, tzinfo=utc)
    assert got[1][4] == dt.datetime(2013, 5, 2, 2, 0, tzinfo=utc)  # naive = Beijing time
    assert got[0][5] == pytest.approx(110.25, abs=1e-5)
    assert got[1][6] == pytest.approx(27.15, abs=1e-5)
    review = dict(_rows(tiny_url, "SELECT row_number, reason FROM review_item"))
    assert set(review) == {4, 5}
    assert "日期" in review[4]
    assert "不在任何村民小组内" in review[5]


def test_group_index_is_cached_until_the_boundaries_change(tiny_url):
    with session_factory(tiny_url)() as s:
        first = group_index(s, url=tiny_url)
        assert group_index(s, url=tiny_url) is first
        assert first.groups_at(np.array([110.05]), np.array([27.05]))[0] >= 0
    with session_factory(tiny_url)() as s, s.begin():
        s.add(
            ImportBatch(kind="boundaries", filename="b.zip", sha256="x", username="u", status="c")
        )
    with session_factory(tiny_url)() as s:
        reloaded = group_index(s, url=tiny_url)
    assert reloaded is not first
    with session_factory(tiny_url)() as s, s.begin():
        new = s.execute(
            text(
                "INSERT INTO generation (name, valid_from, active) VALUES ('2023', '2023-01-01',"
                " false) RETURNING id"
            )
        ).scalar_one()
        s.execute(
            text(
                "INSERT INTO admin_unit (generation_id, level, code, name, county_code, geom)"
                " VALUES (:g, 'group', '430525100777001', '1组', '430525',"
                " ST_Multi(ST_MakeEnvelope(111.4, 26.9, 111.6, 27.1, 4326)))"
            ),
            {"g": new},
        )
        s.execute(text("UPDATE generation SET active = false"))
        s.execute(text("UPDATE generation SET active = true WHERE id = :g"), {"g": new})
        second = group_index(s, url=tiny_url)
    assert second.generation_id == new != first.generation_id
    assert second.groups_at(np.array([110.05, 111.5]), np.array([27.05, 27.0]))[0] == -1
    assert second.groups_at(np.array([111.5]), np.array([27.0]))[0] >= 0


@pytest.mark.parametrize(
    ("tag", "stored"),
    [("baidu", "bd09"), ("bd09ll", "bd09"), ("BD-09", "bd09"), ("mars", "gcj02"),
     ("GCJ-02", "gcj02"), ("EPSG:4326", "wgs84"), ("", "gcj02")],
)  # fmt: skip
def test_every_alias_is_stored_as_its_source_system(tiny_url, tmp_path, tag, stored):
    # The rows' own 坐标系 wins; a blank cell takes the file's crs= (here gcj02).  Before the one
    # alias table, baidu / bd09ll / mars were converted right but stored as 'wgs84'.
    to_source = {"bd09": wgs84_to_bd09, "gcj02": wgs84_to_gcj02, "wgs84": lambda x, y: (x, y)}
    lon, lat = to_source[stored](110.35, 27.15)
    table = pd.DataFrame(
        {"走访时间": ["2013-05-01 09:30"], "经度": [f"{float(lon):.8f}"],
         "纬度": [f"{float(lat):.8f}"], "坐标系": [tag]}
    )  # fmt: skip
    path = _csv(tmp_path / "v.csv", table, "utf-8")
    report = import_visits(tiny_url, path, crs="gcj02", commit=True)
    assert report.counts["visits"] == 1, report.to_text("en")
    got = _rows(tiny_url, "SELECT source_crs, ST_X(geom), ST_Y(geom), group_code FROM visit")
    assert got[0][0] == stored
    assert got[0][1:3] == (pytest.approx(110.35, abs=1e-6), pytest.approx(27.15, abs=1e-6))

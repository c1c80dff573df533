"""Staff import only inside their own area: a row or feature outside it is refused, naming the
file, the row and the area, and nothing is written (issue #9, class 2)."""

from __future__ import annotations

import io
import json

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import text

from ingest.activity import import_cases, import_visits
from ingest.area import confine_review_items
from ingest.boundaries import import_boundaries
from ingest.registers import import_officers, import_stations, import_teams
from ingest.report import ImportReport
from models.db import engine_for, transaction
from models.users import create_user
from tests.factories import load_tiny_network
from tests.webmap.conftest import password_hash

TOWNSHIP = "430525100000"  # 竹市镇, 110.0-110.2 E; 石江镇 (430525101…) is 110.2-110.4 E

# kind -> (importer, file name, text whose 3rd line lies in 石江镇, table to count)
FILES = {
    "stations": (
        import_stations,
        "站点.csv",
        "站点名称,村代码\n一站,430525100201\n二站,430525101201\n",
        "station",
    ),
    "officers": (
        import_officers,
        "信息员.csv",
        "姓名,村民小组代码\n张三,430525100201001\n李四,430525101201001\n",
        "officer",
    ),
    "teams": (
        import_teams,
        "工作队.csv",
        "工作队名称,乡镇代码,队员人数\n竹市队,430525100000,5\n石江队,430525101000,5\n",
        "team",
    ),
    "cases": (
        import_cases,
        "案件.csv",
        "编号,类型,日期,经度,纬度\nC1,信访,2013-01-02,110.05,27.05\nC2,信访,2013-01-02,110.25,27.05\n",
        "case_record",
    ),
    "visits": (
        import_visits,
        "走访.csv",
        "走访时间,经度,纬度\n2013-05-01 09:30,110.05,27.05\n2013-05-01 10:30,110.25,27.05\n",
        "visit",
    ),
}


def _count(db_url: str, table: str) -> int:
    with engine_for(db_url).connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


@pytest.mark.parametrize("kind", FILES)
def test_a_row_outside_the_area_rejects_the_whole_file(db_url, tmp_path, kind):
    load_tiny_network(db_url)
    importer, name, body, table = FILES[kind]
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    before = _count(db_url, table)
    report = importer(db_url, path, commit=True, area=TOWNSHIP)
    assert report.status == "rejected"
    [error] = report.errors
    assert error.where == "row 3"
    assert name in error.message
    assert f"outside your area {TOWNSHIP}" in error.message
    assert _count(db_url, table) == before  # the row inside is not written either
    # the operator (no area) may import the same file
    assert importer(db_url, path, commit=True).status == "committed"


def test_a_boundary_feature_outside_the_area_rejects_the_file(db_url, tmp_path):
    features = [
        {"type": "Feature", "properties": {"code": code, "name": n}, "geometry": mapping(g)}
        for code, n, g in (
            ("430525000000", "洞口县", box(110.0, 27.0, 110.4, 27.2)),
            ("430525100000", "竹市镇", box(110.0, 27.0, 110.2, 27.2)),
            ("430525101000", "石江镇", box(110.2, 27.0, 110.4, 27.2)),
        )
    ]
    path = tmp_path / "乡镇.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = import_boundaries(db_url, path, commit=True, area=TOWNSHIP)
    assert report.status == "rejected"
    # the county itself is wider than the township: outside it too
    refused = [(e.where, "乡镇.geojson" in e.message) for e in report.errors]
    assert refused == [("feature 1", True), ("feature 3", True)]
    assert _count(db_url, "admin_unit") == 0
    inside = import_boundaries(db_url, path, commit=False, area="430525000000")
    assert inside.ok, inside.to_text("en")


def test_township_staff_import_their_own_area_on_the_staff_page(client, auth, db_url):
    load_tiny_network(db_url)
    with transaction(db_url) as s:
        create_user(
            s, "town_staff", role="staff", area_code=TOWNSHIP, password_hash=password_hash()
        )
    auth.login("town_staff")

    def check(body: str):
        data = {
            "kind": "stations",
            "action": "check",
            "file": (io.BytesIO(body.encode()), "站点.csv"),
        }
        return auth.post("/staff/", data=data, content_type="multipart/form-data")

    refused = check(FILES["stations"][2]).get_data(as_text=True)
    assert "430525101201" in refused
    assert f"不在您的辖区 {TOWNSHIP} 内" in refused
    assert "站点.csv" in refused
    assert 'name="token" value="' not in refused.replace('name="token" value=""', "")
    accepted = check("站点名称,村代码\n一站,430525100201\n二站,430525100202\n")
    assert accepted.status_code == 200
    assert "检查通过" in accepted.get_data(as_text=True)


def test_review_items_of_an_area_import_stay_in_the_area(db_url, tmp_path):
    # 田心村 exists in both townships: for the county's operator the row is ambiguous between
    # them; for 竹市镇's staff the item keeps only the candidate inside 竹市镇 and is filed
    # under the county, so it shows in no other area's queue.
    load_tiny_network(db_url)
    path = tmp_path / "案件.csv"
    path.write_text("编号,类型,日期,地址\nC1,信访,2013-01-02,洞口县田心村\n", encoding="utf-8")
    report = import_cases(db_url, path, commit=True, area=TOWNSHIP)
    assert report.status == "committed", report.to_text("en")
    with engine_for(db_url).connect() as conn:
        county, candidates = conn.execute(
            text("SELECT county_code, candidates FROM review_item")
        ).one()
    assert county == "430525"
    assert [u["code"] for u in candidates["units"]] == ["430525100201"]


def test_a_review_item_only_outside_the_area_is_refused():
    report = ImportReport(kind="cases", file="案件.csv", sha256="")
    outside = {"code": "430525101201", "name": "田心村"}
    inside = {"code": "430525100201", "name": "田心村"}
    items = [
        {"row_number": 2, "county_code": None, "candidates": {"units": [outside]}},
        {"row_number": 3, "county_code": None, "candidates": {"units": [inside, outside]}},
        {"row_number": 4, "county_code": None, "candidates": {"units": []}},
    ]
    assert confine_review_items(report, items, TOWNSHIP) == 1
    [error] = report.errors
    assert error.where == "row 2"
    assert "案件.csv" in error.message
    assert f"outside your area {TOWNSHIP}" in error.message
    assert items[1]["candidates"]["units"] == [inside]
    assert items[1]["county_code"] == items[2]["county_code"] == "430525"
    # the operator and city-wide staff keep every candidate
    assert confine_review_items(ImportReport(kind="cases", file="x", sha256=""), items, None) == 0

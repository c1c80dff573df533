"""What else a row and its upload say about the place helps the importer's geocoder."""

from __future__ import annotations

import pandas as pd
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import select, text

from ingest.activity import import_cases
from models.db import engine_for, transaction
from models.schema import AdminUnit, Generation
from models.users import create_user
from tests.factories import load_tiny_network

# The tiny network's 田心村 lies in both townships of 洞口县 (430525); a second county with
# its own 田心村 makes the county decide.
XINNING = "430528"


def _add_second_county(url: str) -> None:
    with transaction(url) as s:
        gen = s.scalars(select(Generation)).one()
        city = None
        county = AdminUnit(generation=gen, level="county", code=XINNING + "000000", name="新宁县",
                           county_code=XINNING, parent=city,
                           geom=from_shape(MultiPolygon([box(110.5, 27.0, 110.7, 27.2)]), srid=4326))  # fmt: skip
        township = AdminUnit(generation=gen, level="township", code=XINNING + "100000",
                             name="金石镇", county_code=XINNING, parent=county,
                             geom=from_shape(MultiPolygon([box(110.5, 27.0, 110.7, 27.2)]), srid=4326))  # fmt: skip
        village = AdminUnit(generation=gen, level="village", code=XINNING + "100201",
                            name="田心村", county_code=XINNING, parent=township,
                            geom=from_shape(MultiPolygon([box(110.5, 27.0, 110.7, 27.2)]), srid=4326))  # fmt: skip
        group = AdminUnit(generation=gen, level="group", code=XINNING + "100201001",
                          name="第一村民小组", county_code=XINNING, parent=village,
                          geom=from_shape(MultiPolygon([box(110.5, 27.0, 110.7, 27.2)]), srid=4326))  # fmt: skip
        s.add_all([county, township, village, group])


def _cases(path, rows, extra=None):
    frame = pd.DataFrame(rows, columns=["案件编号", "类型", "登记日期", "地址"])
    for name, values in (extra or {}).items():
        frame[name] = values
    path.write_bytes(frame.to_csv(index=False).encode("gbk"))
    return path


def _placed(url):
    with engine_for(url).connect() as conn:
        return dict(conn.execute(text("SELECT case_no, group_code FROM case_record")).all())


def test_case_number_and_county_column_decide_between_counties(db_url, tmp_path):
    load_tiny_network(db_url)
    _add_second_county(db_url)
    path = _cases(
        tmp_path / "cases.csv",
        [
            ("4305282013000001", "信访", "2013-03-01", "田心村1组"),  # case number: 新宁
            ("X-2", "信访", "2013-03-02", "田心村1组"),  # county column: 新宁县
            ("X-3", "信访", "2013-03-03", "田心村1组"),  # nothing says which county
        ],
        extra={"县市区": ["", "新宁县", ""]},
    )
    report = import_cases(db_url, path, commit=True)
    assert report.status == "committed", report.to_text("en")
    placed = _placed(db_url)
    assert placed == {
        "4305282013000001": XINNING + "100201001",
        "X-2": XINNING + "100201001",
    }
    assert report.counts["review"] == 1


def test_uploading_users_area_decides_between_townships(db_url, tmp_path):
    load_tiny_network(db_url)
    with transaction(db_url) as s:
        create_user(s, "zhushi", role="staff", area_code="430525100000", password_hash="x")
    rows = [("C1", "信访", "2013-03-01", "田心村1组")]
    report = import_cases(db_url, _cases(tmp_path / "a.csv", rows), commit=True, username="cli")
    assert report.counts["review"] == 1  # 竹市镇 or 石江镇: a person decides
    report = import_cases(db_url, _cases(tmp_path / "b.csv", [("C2", *rows[0][1:])]),
                          commit=True, username="zhushi")  # fmt: skip
    assert report.counts["review"] == 0
    assert _placed(db_url)["C2"] == "430525100201001"

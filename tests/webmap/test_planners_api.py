"""/api/coverage and ``qungong coverage`` on the tiny network with known gaps."""

from __future__ import annotations

import csv
import io

import pyogrio
import pytest
from click.testing import CliRunner

from models.db import transaction
from models.users import create_user
from tests.coverage_factories import CLOSED_VILLAGE, NEVER_VISITED, load_coverage_network
from tests.webmap.conftest import password_hash
from webmap.cli import main

COUNTY = "430525000000"


@pytest.fixture
def planner(client, auth, db_url):
    load_coverage_network(db_url)
    auth.login("planner")
    return client


def test_coverage_geojson_ranks_the_gaps(planner):
    res = planner.get(f"/api/coverage?area={COUNTY}&level=village")
    assert res.status_code == 200
    assert res.mimetype == "application/geo+json"
    data = res.get_json()
    assert data["generation"] == "2013"
    assert data["as_of"] == "2013-12-30"
    features = data["features"]
    assert len(features) == 4
    props = [f["properties"] for f in features]
    assert [p["rank"] for p in props] == [1, 2, 3, 4]
    # the village whose station closed is the widest gap, and says why
    assert props[0]["code"] == CLOSED_VILLAGE
    assert props[0]["station_code"] is None
    assert "本村无工作站" in props[0]["reason"]
    for key in ("distance_own_m", "distance_nearest_m", "officers", "households", "score"):
        assert key in props[0]
    assert features[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_coverage_groups_are_points_with_measures(planner):
    data = planner.get(f"/api/coverage?area={COUNTY}&level=group").get_json()
    assert len(data["features"]) == 8
    never = next(f for f in data["features"] if f["properties"]["code"] == NEVER_VISITED)
    assert never["geometry"]["type"] == "Point"
    assert never["properties"]["days_since_visit"] is None
    assert "近期从未走访" in never["properties"]["reason"]


def test_weights_change_the_answer(planner):
    only_recency = "w_distance=0&w_officers=0&w_visits=0&w_need=0&w_recency=1"
    data = planner.get(f"/api/coverage?area={COUNTY}&level=group&{only_recency}").get_json()
    assert data["weights"]["recency"] == 1
    scores = {f["properties"]["code"]: f["properties"]["score"] for f in data["features"]}
    assert scores[NEVER_VISITED] == 100
    assert scores["430525100201001"] == pytest.approx(100 * 10 / 180, abs=0.01)


def test_small_case_counts_are_masked(planner):
    data = planner.get(f"/api/coverage?area={COUNTY}&level=group").get_json()
    cases = {f["properties"]["code"]: f["properties"]["cases"] for f in data["features"]}
    assert cases["430525100201001"] == 6  # five or more: shown
    assert all(c in (0, 6) for c in cases.values())


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("area=430599000000", 404, "未知区域代码"),
        ("area=abc", 400, "区域代码无效"),  # the shared area rule (webmap.access)
        (f"area={COUNTY}&level=province", 400, "未知层级"),
        ("area=430525100201&level=township", 400, "不在区域"),
        (f"area={COUNTY}&w_need=x", 400, "'need' must be a number"),
        (f"area={COUNTY}&window=0", 400, "window"),
        (f"area={COUNTY}&generation=1999", 404, "1999"),
    ],
)
def test_bad_requests_say_which(planner, query, status, words):
    res = planner.get(f"/api/coverage?{query}")
    assert res.status_code == status
    assert words in res.get_json()["message"]


def test_scope_is_the_users_area(client, auth, db_url):
    load_coverage_network(db_url)
    with transaction(db_url) as s:
        create_user(
            s,
            "township_planner",
            role="planner",
            area_code="430525100000",
            password_hash=password_hash(),
        )
    auth.login("township_planner")
    own = client.get("/api/coverage?level=group").get_json()
    assert {f["properties"]["code"][:9] for f in own["features"]} == {"430525100"}
    assert client.get("/api/coverage?area=430525101000").status_code == 404
    # the county contains their township: the shared rule shrinks it to their own
    wider = client.get(f"/api/coverage?area={COUNTY}&level=group").get_json()
    assert {f["properties"]["code"][:9] for f in wider["features"]} == {"430525100"}


def test_roles(client, auth, db_url):
    load_coverage_network(db_url)
    assert client.get("/api/coverage").status_code == 401
    auth.login("team")
    assert client.get("/api/coverage").status_code == 403


def test_csv_has_chinese_headers_and_bom(planner):
    res = planner.get(f"/api/coverage.csv?area={COUNTY}&level=village")
    assert res.status_code == 200
    assert res.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(res.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["代码", "名称", "层级"]
    assert "原因" in rows[0]
    assert rows[1][0] == CLOSED_VILLAGE
    english = planner.get(f"/api/coverage.csv?area={COUNTY}&lang=en").data.decode("utf-8-sig")
    assert english.startswith("Code,Name,Level")


def test_geopackage_reads_back(planner, tmp_path):
    res = planner.get(f"/api/coverage.gpkg?area={COUNTY}&level=village")
    assert res.status_code == 200
    path = tmp_path / "c.gpkg"
    path.write_bytes(res.data)
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == 4
    assert frame.crs.to_epsg() == 4326
    assert frame.iloc[0]["code"] == CLOSED_VILLAGE


def _cli(db_url, *args):
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": db_url})


def test_cli_coverage_csv_and_scope(db_url, tmp_path):
    load_coverage_network(db_url)
    out = tmp_path / "c.csv"
    result = _cli(db_url, "coverage", "--area", COUNTY, "--level", "group", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 8
    assert list(rows[0])[:12] == [
        "code",
        "name",
        "level",
        "county_code",
        "township_code",
        "station_code",
        "distance_own_m",
        "distance_nearest_m",
        "officers",
        "households",
        "days_since_visit",
        "score",
    ]
    with transaction(db_url) as s:
        create_user(s, "tp", role="planner", area_code="430525100000", password_hash="x")
    denied = _cli(db_url, "coverage", "--area", COUNTY, "--user", "tp", "-o", str(out))
    assert denied.exit_code == 1
    assert "未知区域代码" in denied.output
    bad = _cli(db_url, "coverage", "-o", str(tmp_path / "c.txt"))
    assert bad.exit_code == 1
    assert "write .csv or .gpkg" in bad.output

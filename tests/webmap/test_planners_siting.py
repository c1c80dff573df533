"""POST /api/siting and ``qungong siting`` on the tiny network (stations at village centres).

Within 6 km, existing stations reach 3 of the 8 groups (300 of 800 households); a new site
at a village's centre reaches both its groups (4.95 km away).  The village whose station
closed (430525100202) is the best site: +200 households, then any other: +100.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.coverage_factories import CLOSED_VILLAGE, load_coverage_network
from tests.webmap.conftest import csrf_token
from webmap.cli import main

COUNTY = "430525000000"


@pytest.fixture
def planner(client, auth, db_url):
    load_coverage_network(db_url)
    auth.login("planner")
    # As the page's JavaScript does: the session's CSRF token in the X-CSRFToken header.
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def test_mclp_two_sites(planner):
    res = planner.post("/api/siting", json={"area": COUNTY, "sites": 2, "within": 6000})
    assert res.status_code == 200, res.get_json()
    answer = res.get_json()
    assert answer["optimal"] is True
    assert answer["candidates"] == 4
    assert answer["before"]["share"] == pytest.approx(300 / 800)
    assert answer["after"]["share"] == pytest.approx(600 / 800)
    first, second = answer["sites"]
    assert first["code"] == CLOSED_VILLAGE
    assert first["adds"] == 200
    assert second["adds"] == 100
    assert answer["greedy"]["shortfall_points"] == pytest.approx(0)
    assert set(answer["newly_covered_groups"]) >= {CLOSED_VILLAGE + "001", CLOSED_VILLAGE + "002"}


def test_lscp_fewest_sites_for_all(planner):
    res = planner.post("/api/siting", json={"area": COUNTY, "within": 6000, "method": "lscp"})
    answer = res.get_json()
    assert answer["optimal"] is True
    assert len(answer["sites"]) == 4  # every village's centre is needed for its far group
    assert answer["after"]["share"] == pytest.approx(1.0)


def test_planner_points(planner):
    body = {
        "area": COUNTY,
        "sites": 1,
        "within": 6000,
        "candidates": [[110.1, 27.15], [110.3, 27.05]],
    }
    answer = planner.post("/api/siting", json=body).get_json()
    assert answer["candidate_source"] == "planner"
    assert answer["sites"][0]["adds"] == 200
    assert answer["sites"][0]["lon"] == pytest.approx(110.1)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"area": COUNTY, "within": -5}, 400, "服务距离"),
        ({"area": COUNTY, "within": 1e9}, 400, "服务距离"),
        ({"area": COUNTY, "within": "far"}, 400, "within"),
        ({"area": COUNTY, "sites": 10, "within": 6000}, 400, "多于候选站点数"),
        ({"area": COUNTY, "sites": 0}, 400, "新站点数"),
        ({"area": COUNTY, "candidates": []}, 400, "没有候选站点"),
        ({"area": COUNTY, "candidates": [[0, 0]]}, 400, "不在邵阳附近"),
        ({"area": COUNTY, "method": "magic"}, 400, "未知方法"),
        ({"area": "430599000000"}, 404, "未知区域代码"),
    ],
)
def test_bad_siting_requests(planner, body, status, words):
    res = planner.post("/api/siting", json=body)
    assert res.status_code == status
    assert words in res.get_json()["message"]


def test_not_json(planner):
    res = planner.post("/api/siting", data="x", content_type="text/plain")
    assert res.status_code == 400


def test_cli_siting_with_candidate_file(db_url, tmp_path):
    load_coverage_network(db_url)
    sites = tmp_path / "sites.csv"
    sites.write_text("名称,经度,纬度\n北村,110.1,27.15\n东村,110.3,27.05\n", encoding="utf-8")
    out = tmp_path / "answer.json"
    env = {"DATABASE_URL": db_url}
    args = ["siting", "--area", COUNTY, "--sites", "1", "--within", "6000"]
    result = CliRunner().invoke(main, [*args, "--candidates", str(sites), "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "北村" in result.output
    assert "proven optimal" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["sites"][0]["name"] == "北村"
    bad = tmp_path / "bad.csv"
    bad.write_text("lon,lat\n110.1,27.1\nabc,27.2\n", encoding="utf-8")
    failed = CliRunner().invoke(main, [*args, "--candidates", str(bad)], env=env)
    assert failed.exit_code == 1
    assert "bad.csv: row 3: longitude/latitude is not a number" in failed.output

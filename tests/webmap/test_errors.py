"""Bad input is a clear 400/404 in the asker's form: a page in the UI's language, JSON for
/api/ (issue #9, classes 3 and 9)."""

from __future__ import annotations

import pytest

from tests.factories import load_tiny_network


@pytest.fixture
def network(db_url):
    load_tiny_network(db_url)


@pytest.mark.parametrize(
    "query",
    ["zoom=100000000", "zoom=2000", "zoom=-1", "zoom=abc", "bbox=1,2,3", "bbox=10,0,0,1",
     "bbox=nan,0,1,1", "area=4305020011", "area=43052510000%25", "level=x"],
)  # fmt: skip
def test_unbounded_or_malformed_unit_parameters_are_400(client, auth, network, query):
    auth.login("admin")
    level = "" if query.startswith("level=") else "level=village&"
    response = client.get(f"/api/units?{level}{query}")
    assert response.status_code == 400, query
    assert response.get_json()["error"] in ("bad_parameter", "bad_area")


@pytest.mark.parametrize(
    "query", ["to=9999-12", "from=0001-01", "to=99999", "from=2013-02-30", "area=4305020011"]
)
def test_leaders_dates_and_areas_are_bounded(client, auth, network, query):
    auth.login("leader")
    response = client.get(f"/api/leaders/heat?{query}")
    assert response.status_code == 400, query
    page = client.get(f"/leaders/?{query}")
    assert page.status_code == 400
    assert page.mimetype == "text/html"
    assert "请求有误" in page.get_data(as_text=True)


def test_pages_answer_errors_with_pages_in_the_ui_language(client, auth, network):
    auth.login("team")
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.mimetype == "text/html"
    assert "未找到" in missing.get_data(as_text=True)
    english = client.get("/no/such/page?lang=en").get_data(as_text=True)
    assert "Not found" in english
    assert "Not Found</h1>" not in english.replace("Not found", "")
    forbidden = client.get("/leaders/?lang=zh")
    assert forbidden.status_code == 403
    assert forbidden.mimetype == "text/html"
    assert "无权访问" in forbidden.get_data(as_text=True)
    outside = client.get("/?area=430525101000&lang=en")
    assert outside.status_code == 404
    assert "Not found" in outside.get_data(as_text=True)


def test_api_errors_are_json(client, auth, network):
    auth.login("team")
    assert client.get("/api/nothing").get_json()["error"] == "not_found"
    response = client.get("/api/leaders/heat")
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"

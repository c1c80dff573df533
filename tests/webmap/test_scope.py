"""One area rule for pages, API and the review queue: users whose area is a township, village
or group see that area and nothing else (issue #9, classes 1 and 2)."""

from __future__ import annotations

import pytest

from ingest.activity import import_cases
from models.db import transaction
from models.users import create_user
from tests.factories import load_tiny_network
from tests.webmap.conftest import password_hash

VILLAGE = "430525100201"  # 竹市镇 田心村
GROUP = "430525100201002"


@pytest.fixture
def small_areas(db_url):
    load_tiny_network(db_url)
    with transaction(db_url) as s:
        for name, area in (("village_user", VILLAGE), ("group_user", GROUP)):
            create_user(s, name, role="staff", area_code=area, password_hash=password_hash())


@pytest.mark.parametrize(("username", "own"), [("village_user", VILLAGE), ("group_user", GROUP)])
def test_a_village_or_group_user_sees_only_that_area(client, auth, small_areas, username, own):
    auth.login(username)
    html = client.get("/").get_data(as_text=True)
    # every code on the page lies inside the user's own area, none of the city's other units
    assert '"code":"430525100202' not in html
    assert '"code":"430525101' not in html
    assert f'"code":"{own}' in html
    units = client.get("/api/units?level=group").get_json()["features"]
    assert units
    assert all(f["properties"]["code"].startswith(own) for f in units)
    assert client.get("/?area=430525100202").status_code == 404  # the neighbouring village


def test_township_user_may_narrow_to_a_village_of_their_own(client, auth, small_areas):
    auth.login("team")  # 竹市镇
    html = client.get(f"/?area={VILLAGE}").get_data(as_text=True)
    assert "<h1>田心村</h1>" in html
    assert '"code":"430525100202' not in html
    # a village code that does not exist in their township
    assert client.get("/?area=430525100299").status_code == 404


def test_units_at_answers_only_inside_the_users_area(client, auth, small_areas):
    auth.login("team")  # 竹市镇: 110.0-110.2 E
    inside = client.get("/api/units/at?lon=110.05&lat=27.05").get_json()
    assert [u["level"] for u in inside["units"]] == ["county", "township", "village", "group"]
    outside = client.get("/api/units/at?lon=110.3&lat=27.05")  # 石江镇
    assert outside.status_code == 404
    assert outside.get_json()["error"] == "not_found"


def test_review_queue_and_counts_follow_the_area(client, auth, small_areas, db_url, tmp_path):
    path = tmp_path / "cases.csv"
    # A1: ambiguous between two townships' 田心村 (county known); A2: no address at all.
    path.write_text(
        "编号,类型,日期,地址\nA1,信访,2013-01-02,田心村\nA2,建议,2013-01-03,\n", encoding="utf-8"
    )
    assert import_cases(db_url, path, commit=True).counts["review"] == 2
    with transaction(db_url) as s:
        create_user(
            s, "county_staff", role="staff", area_code="430525000000", password_hash=password_hash()
        )
        create_user(
            s, "other_staff", role="staff", area_code="430522000000", password_hash=password_hash()
        )
    expectations = {"staff": 2, "county_staff": 1, "other_staff": 0, "village_user": 0}
    for username, shown in expectations.items():
        auth.login(username)
        page = client.get("/staff/review/").get_data(as_text=True)
        assert page.count('class="review-row"') == shown, username
        assert f"共 {shown} 条待处理" in page, username
        auth.logout()

"""The staff review page: list open items, show candidates, place an item by candidate or point."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ingest.activity import import_cases
from models.db import engine_for
from tests.factories import load_tiny_network
from webmap.views import review


@pytest.fixture
def queued(app, db_url, tmp_path):
    # The lead registers the blueprint in create_app; until then the test does.
    if "review" not in app.blueprints:
        app.register_blueprint(review.bp)
    load_tiny_network(db_url)
    path = tmp_path / "cases.csv"
    path.write_text(
        "编号,类型,日期,地址\nA1,信访,2013-01-02,田心村\nA2,建议,2013-01-03,\n", encoding="utf-8"
    )
    report = import_cases(db_url, path, commit=True)
    assert report.counts["review"] == 2
    with engine_for(db_url).connect() as conn:
        return dict(conn.execute(text("SELECT row_number, id FROM review_item")).all())


def _cases(db_url):
    with engine_for(db_url).connect() as conn:
        return conn.execute(
            text("SELECT case_no, group_code, location_method FROM case_record")
        ).all()


def test_review_needs_staff(client, auth, queued):
    assert client.get("/staff/review/").status_code == 302
    auth.login("leader")
    assert client.get("/staff/review/").status_code == 403


def test_list_and_item_show_reasons_and_candidates(client, auth, queued):
    auth.login("staff")
    page = client.get("/staff/review/").get_data(as_text=True)
    assert "有多个可能位置" in page
    assert "既无地址也无坐标" in page
    item = client.get(f"/staff/review/{queued[2]}").get_data(as_text=True)
    assert 'value="430525100201"' in item
    assert 'value="430525101201"' in item
    assert "qungong.reviewMap" in item  # the candidates are drawn on the map
    assert "洞口县 › 竹市镇 › 田心村" in item  # with their full names


def test_viewing_a_review_item_is_audited(client, auth, queued, db_url):
    auth.login("staff")
    client.get("/staff/review/")  # the list shows no personal record: not a view
    assert client.get(f"/staff/review/{queued[2]}").status_code == 200
    with engine_for(db_url).connect() as conn:
        views = conn.execute(
            text("SELECT username, detail FROM audit_log WHERE action = 'record.view'")
        ).all()
    assert [(u, d["record"], d["id"]) for u, d in views] == [("staff", "review_item", queued[2])]


def test_pick_a_candidate_places_the_case(client, auth, queued, db_url):
    auth.login("staff")
    response = auth.post(f"/staff/review/{queued[2]}", data={"candidate": "430525101201"})
    assert response.status_code == 302
    ((case_no, group, method),) = _cases(db_url)
    assert (case_no, method) == ("A1", "manual")
    assert group.startswith("430525101201")
    assert client.get(f"/staff/review/{queued[2]}").status_code == 404
    with engine_for(db_url).connect() as conn:
        assert conn.execute(text("SELECT resolved_by FROM review_item WHERE resolved")).all() == [
            ("staff",)
        ]


def test_typed_point_outside_every_group_is_refused(client, auth, queued, db_url):
    auth.login("staff")
    page = auth.post(f"/staff/review/{queued[3]}", data={"lon": "111.9", "lat": "27.5"})
    assert page.status_code == 200
    assert "outside every villager group" in page.get_data(as_text=True)
    page = auth.post(f"/staff/review/{queued[3]}", data={"lon": "110.05", "lat": "27.05"})
    assert page.status_code == 302
    assert _cases(db_url) == [("A2", "430525100201001", "manual")]

"""/teams/: the month plan page, day sheet, GPX, planned vs done; area and role checks."""

from __future__ import annotations

import datetime as dt

import gpxpy
import pytest

from tests.teams_factories import HOUSEHOLD, NOT_VISITED, VISITED, load_team_network
from webmap.services import team_plan


@pytest.fixture
def team_network(db_url):
    load_team_network(db_url)


def test_plan_page_shows_the_team_township_and_next_month(client, auth, team_network):
    auth.login("team")
    page = client.get("/teams/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "竹市镇" in body
    assert "石江镇" not in body
    # The latest visit is in December 2013: the month to plan is January 2014.
    assert 'value="2014-01"' in body
    assert "田心村" in body
    assert "石桥村" in body
    assert 'href="/teams/day/1?' in body
    assert "/teams/day/1.gpx?" in body
    # Aggregates only: the household of a visit never reaches the page.
    assert HOUSEHOLD not in body
    assert "李某某" not in body


def test_a_team_user_cannot_see_another_township(client, auth, team_network):
    auth.login("team")
    # the shared area rule (webmap.access): another township is not there for them
    other = client.get("/teams/?area=430525101000")
    assert other.status_code == 404
    assert "石江镇" not in other.get_data(as_text=True)
    assert "竹市镇" in client.get("/teams/").get_data(as_text=True)


def test_a_village_is_never_widened_to_its_township(client, auth, db_url, team_network):
    from models.db import transaction
    from models.users import create_user
    from tests.webmap.conftest import password_hash

    with transaction(db_url) as s:
        create_user(
            s, "village_team", role="team", area_code="430525100201", password_hash=password_hash()
        )
    auth.login("village_team")  # 田心村 of 竹市镇
    for url in ("/teams/", "/teams/day/1", "/teams/day/1.gpx", "/teams/?area=430525100000"):
        refused = client.get(url)
        assert refused.status_code == 403, url
        assert refused.headers["X-Error-Code"] == "area_below_township"
        assert "石桥村" not in refused.get_data(as_text=True)  # the township's other village
    auth.logout()
    auth.login("team")  # a township user asking for one of its villages gets no wider plan
    assert client.get("/teams/?area=430525100201").status_code == 403


def test_admin_picks_any_township(client, auth, team_network):
    auth.login("admin")
    body = client.get("/teams/?area=430525101000&month=2014-01").get_data(as_text=True)
    assert "石江镇" in body


def test_other_roles_are_refused(client, auth, team_network):
    auth.login("staff")
    assert client.get("/teams/").status_code == 403


def test_bad_month_is_a_400(client, auth, team_network):
    auth.login("team")
    answer = client.get("/teams/?month=2014-13")
    assert answer.status_code == 400
    assert "YYYY-MM" in answer.get_data(as_text=True)


def test_day_sheet_lists_stations_phones_cases_and_times(client, auth, team_network):
    auth.login("team")
    sheet = client.get("/teams/day/1?month=2014-01&days=1")
    assert sheet.status_code == 200
    body = sheet.get_data(as_text=True)
    assert "@media print" in body
    assert "竹市镇田心村群众工作站" in body
    assert "竹市镇石桥村群众工作站" in body
    # Officers' phones: one per group, both groups of each village on its row.
    assert "13900001001、13900001002" in body
    assert "08:" in body  # suggested times from 08:30
    assert "纠纷 1" in body  # the open dispute of 田心村
    assert client.get("/teams/day/9?month=2014-01&days=1").status_code == 404


def test_gpx_has_the_day_route_from_and_back_to_the_office(client, auth, team_network):
    auth.login("team")
    answer = client.get("/teams/day/1.gpx?month=2014-01&days=1")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    gpx = gpxpy.parse(answer.get_data(as_text=True))
    assert {w.name.split(" ", 1)[1] for w in gpx.waypoints} == {"田心村", "石桥村"}
    route = gpx.routes[0].points
    assert (route[0].longitude, route[0].latitude) == (110.1, 27.1)
    assert (route[-1].longitude, route[-1].latitude) == (110.1, 27.1)
    assert len(route) == 4


def test_planned_vs_done_for_december(app, db_url, team_network):
    with app.app_context():
        from webmap.db import get_session

        session = get_session()
        plan = team_plan.month_plan(session, "430525100000", dt.date(2013, 12, 1))
        done = team_plan.planned_vs_done(session, plan)
    assert [s["code"] for s in done["visited"]] == [VISITED]
    assert [s["code"] for s in done["missed"]] == [NOT_VISITED]
    assert done["days_worked"] == 2
    assert done["meets_standard"] is False  # two days against the three-day standard
    assert done["visits"] == 3
    # 2 Dec: two points 0.01 deg apart (~1 km); plan dates are the month's 1st, ...
    kept = {d["date"]: d for d in done["days"]}
    assert dt.date(2013, 12, 2) in kept
    assert kept[dt.date(2013, 12, 2)]["kept"] is True
    assert kept[dt.date(2013, 12, 2)]["travelled_km"] == pytest.approx(1.0, abs=0.05)


def test_urgent_villages_are_marked_and_all_villages_planned(app, team_network):
    with app.app_context():
        from webmap.db import get_session

        december = team_plan.month_plan(get_session(), "430525100000", dt.date(2013, 12, 1))
        january = team_plan.month_plan(get_session(), "430525100000", dt.date(2014, 1, 1))
    dec = {s["code"]: s for d in december.days for s in d["stops"]}
    jan = {s["code"]: s for d in january.days for s in d["stops"]}
    assert set(dec) == set(jan) == {VISITED, NOT_VISITED}
    assert dec[VISITED]["urgent"]
    assert jan[VISITED]["urgent"]
    assert dec[VISITED]["open_disputes"] == 1
    assert not dec[NOT_VISITED]["urgent"]  # visited in November
    assert jan[NOT_VISITED]["urgent"]  # not visited in December
    assert len(december.days) == team_plan.STANDARD_DAYS


def test_a_village_with_an_open_dispute_is_visited_twice_spaced(app, team_network):
    with app.app_context():
        from webmap.db import get_session

        plan = team_plan.month_plan(get_session(), "430525100000", dt.date(2014, 1, 1))
        done = team_plan.planned_vs_done(get_session(), plan)
    visits = [(d["day"], d["date"], s) for d in plan.days for s in d["stops"]]
    disputed = [(day, date, s["repeat"]) for day, date, s in visits if s["code"] == VISITED]
    # One visit in each half of the three days: the first and the last, three weeks apart.
    assert [(day, repeat) for day, _date, repeat in disputed] == [(1, False), (3, True)]
    assert (disputed[1][1] - disputed[0][1]).days >= 14
    assert sum(s["code"] == NOT_VISITED for _d, _t, s in visits) == 1  # no dispute: once
    # Planned against done counts each village once.
    assert sorted(s["code"] for s in done["visited"] + done["missed"]) == [VISITED, NOT_VISITED]


def test_plan_along_roads_needs_imported_roads(app, client, auth, team_network, db_url, tmp_path):
    from ingest.roads import import_roads
    from tests.ingest.test_roads import _roads

    auth.login("team")
    missing = client.get("/teams/?month=2014-01&distance=roads")
    assert missing.status_code == 400
    assert "尚未导入道路网" in missing.get_data(as_text=True)
    assert client.get("/teams/?month=2014-01&distance=air").status_code == 400
    import_roads(db_url, _roads(tmp_path), commit=True, source="test")
    assert client.get("/teams/?month=2014-01&distance=roads").status_code == 200
    sheet = client.get("/teams/day/1?month=2014-01&distance=roads").get_data(as_text=True)
    assert "沿已导入道路" in sheet
    with app.app_context():
        from webmap.db import get_session

        month = dt.date(2014, 1, 1)
        roads = team_plan.month_plan(
            get_session(), "430525100000", month, team_plan.PlanOptions(distance="roads")
        )
        straight = team_plan.month_plan(get_session(), "430525100000", month)
    km = [sum(d["distance_m"] for d in p.days) for p in (roads, straight)]
    assert km[0] != km[1]

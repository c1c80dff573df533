"""POST /api/routes/plan and `qungong routes plan`: same plan, bad input named, access."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from tests.factories import load_tiny_network
from tests.webmap.conftest import csrf_token
from webmap.cli import main

DEPOT = {"lon": 110.1, "lat": 27.1}
STOPS = [
    {"id": "田心", "lon": 110.05, "lat": 27.05, "service_minutes": 30, "priority": 1},
    {"id": "石桥", "lon": 110.15, "lat": 27.15, "service_minutes": 45, "priority": 2},
    {"id": "c3", "lon": 110.25, "lat": 27.05, "service_minutes": 30, "priority": 0},
    {"id": "c4", "lon": 110.35, "lat": 27.15, "service_minutes": 20, "priority": 1},
    {"id": "c5", "lon": 110.30, "lat": 27.02, "service_minutes": 30, "priority": 1},
    {"id": "c6", "lon": 110.02, "lat": 27.18, "service_minutes": 30, "priority": 1},
]
REQUEST = {
    "depot": DEPOT,
    "stops": STOPS,
    "days": 2,
    "day_minutes": 480,
    "speed_kmh": 30,
    "teams": 1,
    "distance": "straight",
}


@pytest.fixture
def network(db_url):
    load_tiny_network(db_url)


def _post(client, body):
    # As browser JavaScript does: the session's CSRF token in the X-CSRFToken header.
    return client.post("/api/routes/plan", json=body, headers={"X-CSRFToken": csrf_token(client)})


def test_plan_answers_the_documented_json(client, auth, network):
    auth.login("team")
    answer = _post(client, REQUEST)
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert set(body) == {"days", "unassigned"}
    assert [(d["day"], d["team"]) for d in body["days"]] == [(1, 1), (2, 1)]
    for day in body["days"]:
        assert set(day) == {"day", "team", "stops", "distance_m", "duration_minutes"}
        assert day["duration_minutes"] <= 480
        assert day["distance_m"] > 0
    served = [s for d in body["days"] for s in d["stops"]]
    assert sorted(served) == sorted(s["id"] for s in STOPS)
    assert body["unassigned"] == []


def test_a_stop_that_fits_no_day_is_unassigned_with_its_reason(client, auth, network):
    auth.login("team")
    stops = [*STOPS, {"id": "long", "lon": 110.2, "lat": 27.1, "service_minutes": 470}]
    body = _post(client, {**REQUEST, "stops": stops}).json
    assert [u["id"] for u in body["unassigned"]] == ["long"]
    assert "does not fit in a working day" in body["unassigned"][0]["reason"]
    assert "long" not in [s for d in body["days"] for s in d["stops"]]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"stops": []}, "stops: no stops"),
        ({"depot": None}, "depot: missing"),
        ({"stops": [*STOPS, {**STOPS[0]}]}, "stops[6].id: duplicate id '田心' (also stops[0])"),
        ({"stops": [{**STOPS[0], "lon": "abc"}]}, "stops[0].lon: 'abc' is not a number"),
        ({"stops": [STOPS[0], {**STOPS[1], "lat": 30.5}]}, "stops[1]: (110.15, 30.5) lies outside"),
        ({"depot": {"lon": 120.0, "lat": 27.1}}, "depot: (120.0, 27.1) lies outside the city"),
        ({"day_minutes": 10}, "day_minutes: 10.0 minutes is too short for any stop"),
        (
            {"stops": [{"id": f"s{i}", "lon": 110.1, "lat": 27.1} for i in range(2001)]},
            "at most 2000",
        ),
        ({"days": 0}, "days: 0 is outside 1–31"),
        ({"distance": "air"}, 'distance: must be "straight" or "roads"'),
        ({"distance": "roads"}, "no road network imported"),
        ({"stops": [{"lon": 110.1, "lat": 27.1}]}, "stops[0].id: missing"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, auth, network, change, named):
    auth.login("team")
    answer = _post(client, {**REQUEST, **change})
    assert answer.status_code == 400, answer.json
    assert named in answer.json["message"]
    assert answer.json["error"] == "bad_plan_request"


def test_plan_needs_a_login_and_a_planning_role(client, auth, network):
    assert _post(client, REQUEST).status_code == 401
    auth.login("staff")
    assert _post(client, REQUEST).status_code == 403


def _write_csv(path, stops):
    with path.open("w", newline="", encoding="utf-8") as f:
        fields = ["id", "lon", "lat", "service_minutes", "priority", "visits"]
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(stops)


def test_cli_json_is_the_api_answer(client, auth, network, db_url, tmp_path):
    auth.login("team")
    stops = [
        *STOPS[:-1],
        {**STOPS[-1], "visits": 2},
        *(
            {
                "id": f"x{i}",
                "lon": 110.01 + 0.013 * i,
                "lat": 27.01 + 0.009 * (i % 17),
                "service_minutes": 15,
                "priority": i % 3,
            }
            for i in range(24)
        ),
    ]
    api = _post(client, {**REQUEST, "stops": stops, "days": 3}).json
    path = tmp_path / "stops.csv"
    _write_csv(path, stops)
    result = CliRunner().invoke(
        main,
        ["routes", "plan", str(path), "--depot", "110.1,27.1", "--days", "3", "--json"],
        env={"DATABASE_URL": db_url},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == api
    table = CliRunner().invoke(
        main,
        ["routes", "plan", str(path), "--depot", "110.1,27.1", "--days", "3"],
        env={"DATABASE_URL": db_url},
    )
    assert "day 1 team 1:" in table.output
    assert "depot -> " in table.output


@pytest.mark.parametrize(
    ("rows", "args", "named"),
    [
        ([STOPS[0], {**STOPS[1], "lat": "x"}], [], "stops.csv row 3.lat: 'x' is not a number"),
        ([STOPS[0], {**STOPS[1], "id": "田心"}], [], "stops.csv row 3.id: duplicate id '田心'"),
        ([STOPS[0]], ["--depot", "110.1"], "--depot: expected LON,LAT"),
        ([STOPS[0]], ["--day-minutes", "5"], "day_minutes: 5.0 minutes is too short"),
    ],
)
def test_cli_bad_input_exits_2_naming_the_row(db_url, network, tmp_path, rows, args, named):
    path = tmp_path / "stops.csv"
    _write_csv(path, rows)
    base = ["routes", "plan", str(path), "--depot", "110.1,27.1"]
    result = CliRunner().invoke(main, base + args, env={"DATABASE_URL": db_url})
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert "Traceback" not in result.output


def test_roads_plan_follows_the_imported_roads_in_api_and_cli(
    client, auth, network, db_url, tmp_path
):
    from pyproj import Geod

    from ingest.roads import import_roads
    from tests.ingest.test_roads import CENTRES, NORTH, _roads

    import_roads(db_url, _roads(tmp_path), commit=True, source="test")
    auth.login("team")
    # A ring of county roads (30 km/h): south C0-C1-C2-C3, north N0-..-N3, joined at both ends.
    depot = {"lon": CENTRES[0][0], "lat": CENTRES[0][1]}
    stops = [
        {"id": "c1", "lon": CENTRES[1][0], "lat": CENTRES[1][1], "service_minutes": 0},
        {"id": "n1", "lon": NORTH[1][0], "lat": NORTH[1][1], "service_minutes": 0},
    ]
    body = {**REQUEST, "depot": depot, "stops": stops, "days": 1, "speed_kmh": 60}
    answer = _post(client, {**body, "distance": "roads"})
    assert answer.status_code == 200, answer.json
    (day,) = answer.json["days"]
    # The shortest tour along the ring: out to c1 and back, up to N0, along to n1 and back.
    geod = Geod(ellps="WGS84")
    leg = [geod.inv(*a, *b)[2] for a, b in [(CENTRES[0], CENTRES[1]), (CENTRES[0], NORTH[0])]]
    expected_m = 2 * (2 * leg[0] + leg[1])
    assert day["distance_m"] == pytest.approx(expected_m, rel=0.01)
    straight = _post(client, {**body, "distance": "straight"}).json["days"][0]
    assert straight["distance_m"] < 0.8 * day["distance_m"]
    # Travel at the county roads' 30 km/h, not the request's 60.
    assert day["duration_minutes"] == pytest.approx(expected_m / 500, rel=0.01)
    path = tmp_path / "stops.csv"
    _write_csv(path, stops)
    at = f"{CENTRES[0][0]},{CENTRES[0][1]}"
    args = ["routes", "plan", str(path), "--depot", at, "--speed-kmh", "60", "--distance", "roads"]
    result = CliRunner().invoke(main, [*args, "--json"], env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == answer.json


def test_cli_roads_without_roads_exits_2(db_url, network, tmp_path):
    path = tmp_path / "stops.csv"
    _write_csv(path, STOPS[:2])
    args = ["routes", "plan", str(path), "--depot", "110.1,27.1", "--distance", "roads"]
    result = CliRunner().invoke(main, args, env={"DATABASE_URL": db_url})
    assert result.exit_code == 2, result.output
    assert 'distance: no road network imported (qungong roads import); use "straight"' in (
        result.output
    )


def test_a_stop_visited_twice_comes_once_in_each_half_of_the_days(client, auth, network):
    auth.login("team")
    stops = [{**s, "visits": 2} if s["id"] in ("田心", "c4") else s for s in STOPS]
    body = _post(client, {**REQUEST, "stops": stops, "days": 4}).json
    assert body["unassigned"] == []
    days_of: dict[str, list[int]] = {}
    for day in body["days"]:
        for sid in day["stops"]:
            days_of.setdefault(sid, []).append(day["day"])
    assert sorted(days_of["田心"])[0] <= 2 < sorted(days_of["田心"])[1]
    assert sorted(days_of["c4"])[0] <= 2 < sorted(days_of["c4"])[1]
    assert all(len(v) == 1 for k, v in days_of.items() if k not in ("田心", "c4"))
    one_day = _post(client, {**REQUEST, "stops": stops, "days": 1})
    assert one_day.status_code == 400
    assert one_day.json["message"] == "stops[0].visits: 2 visits need at least 2 days"

"""Log-in, roles and areas."""

from __future__ import annotations

import pytest

from tests.factories import load_tiny_network
from tests.webmap.conftest import PASSWORD


def test_pages_send_strangers_to_login(client):
    response = client.get("/leaders/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_api_answers_strangers_with_401_json(client, db_url):
    load_tiny_network(db_url)
    response = client.get("/api/stations")
    assert response.status_code == 401
    assert response.get_json()["error"] == "login_required"


def test_wrong_password_is_refused(client, auth):
    response = auth.login("leader", "nope")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/leaders/").status_code == 302


def test_login_then_logout(client, auth):
    assert auth.login("leader").status_code == 302
    assert client.get("/leaders/").status_code == 200
    auth.logout()
    assert client.get("/leaders/").status_code == 302


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("leader", "/leaders/", 200),
        ("leader", "/staff/", 403),
        ("staff", "/staff/", 200),
        ("planner", "/planners/", 200),
        ("team", "/teams/", 200),
        ("team", "/leaders/", 403),
        ("admin", "/staff/", 200),
    ],
)
def test_roles_reach_their_own_pages(client, auth, username, path, status):
    auth.login(username)
    assert client.get(path).status_code == status


def test_next_never_leaves_the_host(client, auth):
    auth.make_users()
    response = auth.post(
        "/auth/login?next=//evil.example/x", data={"username": "leader", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_township_user_sees_only_their_township(client, auth, db_url):
    load_tiny_network(db_url)
    auth.login("team")  # area 430525100000 = 竹市镇
    stations = client.get("/api/stations").get_json()["stations"]
    assert len(stations) == 2
    html = client.get("/").get_data(as_text=True)
    assert "<h1>竹市镇</h1>" in html
    assert "石江镇" not in html
    # another township is not there for them; the city shrinks to their own township
    assert client.get("/?area=430525101000").status_code == 404
    assert client.get("/api/units?level=village&area=430525101000").status_code == 404
    wide = client.get("/api/units?level=village&area=430500000000").get_json()
    assert {f["properties"]["parent"] for f in wide["features"]} == {"430525100000"}


def test_station_outside_the_area_is_not_found(client, auth, db_url):
    load_tiny_network(db_url)
    auth.login("admin")
    all_ids = [s[0] for s in client.get("/api/stations").get_json()["stations"]]
    auth.logout()
    auth.login("team")
    own = {s[0] for s in client.get("/api/stations").get_json()["stations"]}
    other = next(i for i in all_ids if i not in own)
    assert client.get(f"/api/stations/{other}").status_code == 404

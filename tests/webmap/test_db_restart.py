"""The database restarted while the service answers (issue #13): a clear 503 during the outage,
and the next request after it is served again, with no restart of the app."""

from __future__ import annotations

from tests.webmap.ogc_fixtures import make_world


def test_database_restart_gives_503_then_recovers_by_itself(client, auth, db_url, pg_cluster):
    world = make_world(db_url, auth)
    headers = {"Authorization": f"Bearer {world.admin_token}"}
    ogc, api = "/ogc/collections/groups/items?limit=2", "/api/units?level=village"
    assert client.get(ogc, headers=headers).status_code == 200  # pooled connections now open
    auth.login("admin")
    assert client.get(api).status_code == 200
    pg_cluster.stop()
    try:
        down = client.get(ogc, headers=headers)
        assert down.status_code == 503
        assert down.get_json()["code"] == "database_unavailable"
        assert down.headers["Retry-After"] == "5"
        page = client.get("/api/units?level=village")
        assert page.status_code == 503
        assert page.get_json()["error"] == "database_unavailable"
        assert "Traceback" not in page.get_data(as_text=True)
    finally:
        pg_cluster.start()
    # The pool's stale connections are found and replaced at check-out (pool_pre_ping).
    assert client.get(ogc, headers=headers).status_code == 200
    assert client.get(api).status_code == 200

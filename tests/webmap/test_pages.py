"""The app factory, blueprints, languages, API and the offline rule, through Flask's client."""

from __future__ import annotations

import gzip
import re

import pytest
from sqlalchemy import text

from models.db import engine_for
from tests.factories import load_tiny_network
from tests.webmap.conftest import AuthActions
from webmap.app import create_app

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize("path", ["/", "/leaders/", "/planners/", "/teams/", "/staff/"])
def test_every_user_group_has_its_pages(client, auth, path):
    auth.login()
    response = client.get(path)
    assert response.status_code == 200
    assert "群工" in response.get_data(as_text=True)


def test_chinese_first_english_on_request(client, auth):
    auth.login()
    zh = client.get("/").get_data(as_text=True)
    assert "网络总览" in zh
    assert "Network overview" not in zh
    en = client.get("/?lang=en").get_data(as_text=True)
    assert "Network overview" in en
    # the choice sticks through the cookie
    assert "Network overview" in client.get("/leaders/").get_data(as_text=True)


def test_network_page_without_boundaries_says_so(client, auth):
    auth.login()
    assert "尚未导入行政区划边界" in client.get("/").get_data(as_text=True)


def test_network_page_links_nothing_outside_the_host(client, auth, db_url):
    auth.login()
    load_tiny_network(db_url)
    html = client.get("/").get_data(as_text=True)
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert re.search(r"/vendor/[0-9a-f]{12}/npm/leaflet/dist/leaflet\.js", html)
    assert "竹市镇" in html
    # every local script and stylesheet the page names is served
    for url in re.findall(r"""(?:src|href)="(/(?:vendor|static)/[^"]+)""", html):
        with client.get(url) as response:
            assert response.status_code == 200, url


def test_network_page_carries_every_station_compactly(client, auth, db_url):
    auth.login()
    counts = load_tiny_network(db_url)
    html = client.get("/").get_data(as_text=True)
    stations = re.search(r'"stations":(\[\[.*?\]\])', html).group(1)
    assert stations.count("[") - 1 == counts["station"]


def test_township_drill_down_shows_its_groups(client, auth, db_url):
    auth.login()
    load_tiny_network(db_url)
    html = client.get("/?area=430525100000").get_data(as_text=True)
    assert "<h1>竹市镇</h1>" in html
    assert html.count('"第一村民小组"') == 2  # two villages of that township, group 1 each
    assert "石江镇" not in html


def test_missing_assets_give_a_clear_503(db_url, tmp_path):
    app = create_app({"DATABASE_URL": db_url, "NODE_MODULES": str(tmp_path), "SECRET_KEY": "t"})
    client = app.test_client()
    AuthActions(client, db_url).login()
    response = client.get("/")
    assert response.status_code == 503
    assert "make setup" in response.get_data(as_text=True)  # an HTML page, not JSON


def test_vendor_serves_only_listed_packages(client):
    with client.get("/vendor/npm/leaflet/dist/leaflet.css") as response:
        assert response.status_code == 200
    assert client.get("/vendor/npm/leaflet/../package.json").status_code == 404
    assert client.get("/vendor/npm/left-pad/index.js").status_code == 404


def test_units_api_returns_geojson_in_bbox(client, auth, db_url):
    auth.login()
    load_tiny_network(db_url)
    data = client.get("/api/units?level=village&bbox=110.0,27.0,110.1,27.05").get_json()
    assert data["type"] == "FeatureCollection"
    assert sorted(f["properties"]["name"] for f in data["features"]) == ["田心村"]
    assert data["features"][0]["geometry"]["type"] in {"Polygon", "MultiPolygon"}


def test_units_at_point_lists_the_chain(client, auth, db_url):
    auth.login()
    load_tiny_network(db_url)
    data = client.get("/api/units/at?lon=110.25&lat=27.15").get_json()
    assert [u["level"] for u in data["units"]] == ["county", "township", "village", "group"]
    assert data["units"][-1]["code"] == "430525101202001"


@pytest.mark.parametrize(
    ("query", "message"),
    [("lon=x&lat=27", "'lon' must be a number"), ("lon=200&lat=27", "must lie in")],
)
def test_units_at_rejects_bad_coordinates(client, auth, db_url, query, message):
    auth.login()
    load_tiny_network(db_url)
    response = client.get(f"/api/units/at?{query}")
    assert response.status_code == 400
    assert message in response.get_json()["message"]


def test_station_detail(client, auth, db_url):
    auth.login()
    load_tiny_network(db_url)
    station_id = client.get("/api/stations").get_json()["stations"][0][0]
    data = client.get(f"/api/stations/{station_id}").get_json()
    assert data["county"]["name"] == "洞口县"
    assert len(data["groups"]) == 2
    assert client.get("/api/stations/999999").status_code == 404


def test_network_page_follows_new_imports(client, auth, db_url):
    load_tiny_network(db_url)
    auth.login()
    assert "竹市镇" in client.get("/").get_data(as_text=True)
    with engine_for(db_url).begin() as conn:
        conn.execute(text("UPDATE admin_unit SET name = '竹市新镇' WHERE name = '竹市镇'"))
        conn.execute(
            text(
                "INSERT INTO import_batch (kind, filename, sha256, username, status, counts, report)"
                " VALUES ('boundaries', 'x.shp', 'abc', 't', 'committed', '{}', '{}')"
            )
        )
    html = client.get("/").get_data(as_text=True)
    assert "竹市新镇" in html
    assert '"竹市镇"' not in html


def test_assets_have_versioned_urls_long_lifetimes_and_pages_are_compressed(client, auth, db_url):
    auth.login()
    load_tiny_network(db_url)
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(page.get_data()).decode()
    assets = re.findall(r"""(?:src|href)="(/(?:vendor/[0-9a-f]{12}|static)/[^"]+)""", html)
    assert any("/npm/leaflet/" in url for url in assets)
    assert any(url.startswith("/static/network.js?v=") for url in assets)
    for url in assets:
        with client.get(url) as response:
            assert response.status_code == 200, url
            assert response.cache_control.max_age == 365 * 24 * 3600, url
            assert "immutable" in response.headers["Cache-Control"], url
    # An old version's URL still answers, but is not kept for long.
    with client.get("/vendor/0123456789ab/npm/leaflet/dist/leaflet.css") as old:
        assert old.status_code == 200
        assert old.cache_control.max_age < 365 * 24 * 3600

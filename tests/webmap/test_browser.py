"""The network map in a real headless Chromium: it draws, and nothing leaves the host."""

from __future__ import annotations

import re

import pytest

from tests.factories import load_tiny_network
from tests.webmap.browser import browser_page, login, outside_host, serve

pytestmark = pytest.mark.browser


def test_network_map_draws_offline(app, auth, db_url):
    auth.make_users()
    counts = load_tiny_network(db_url)
    with serve(app) as base, browser_page() as (page, requests):
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        login(page, base)
        page.goto(f"{base}/", wait_until="load")
        page.wait_for_selector(".folium-map[data-ready='1']", timeout=10_000)
        assert errors == []
        drawn = int(page.get_attribute(".folium-map", "data-stations"))
        assert drawn == counts["station"]
        # Leaflet drew vectors on its canvas and the layer control lists the layers
        assert page.locator(".leaflet-overlay-pane canvas").count() >= 1
        assert page.locator(".leaflet-control-layers").inner_text().count("群众工作站") == 1
        assert outside_host(requests) == []
        assert any(
            re.search(r"/vendor/[0-9a-f]{12}/npm/leaflet/dist/leaflet\.js", url) for url in requests
        )


def test_township_page_draws_groups(app, auth, db_url):
    auth.make_users()
    load_tiny_network(db_url)
    with serve(app) as base, browser_page() as (page, requests):
        login(page, base)
        page.goto(f"{base}/?area=430525100000&lang=en", wait_until="load")
        page.wait_for_selector(".folium-map[data-ready='1']", timeout=10_000)
        assert "Villager groups" in page.locator(".leaflet-control-layers").inner_text()
        assert outside_host(requests) == []

"""A planner uses /planners/ in real headless Chromium: ranked gaps with reasons, a county
filter, a row click that zooms, 5 new sites within 3 km with before/after, and the exports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.coverage_factories import GRID_CLOSED, GRID_COUNTY, load_grid_coverage
from tests.webmap.browser import browser_page, login, outside_host, serve, wait_for

pytestmark = pytest.mark.browser

READY = ".folium-map[data-ready='1']"


def test_planner_finds_gaps_sites_stations_and_exports(app, auth, db_url, tmp_path):
    auth.make_users()
    load_grid_coverage(db_url)
    with serve(app) as base, browser_page() as (page, requests):
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        login(page, base, "planner")
        page.goto(f"{base}/planners/", wait_until="load")
        page.wait_for_selector(READY, timeout=20_000)

        # Ranked gaps with reasons: the villages whose station closed come first.
        rows = page.locator("#gaps tbody tr")
        assert rows.count() == 18
        top3 = {rows.nth(i).get_attribute("data-code") for i in range(3)}
        assert top3 == set(GRID_CLOSED)
        assert "本村无工作站" in rows.nth(0).locator("td.reason").inner_text()
        assert page.locator(".qg-legend").count() == 1

        # Filter to the county: the state is in the URL, townships become choosable.
        # Choosing a county submits the form: wait for the new page, not the old one's map.
        with page.expect_navigation(wait_until="load"):
            page.select_option("#county", GRID_COUNTY)
        page.wait_for_selector(READY, timeout=20_000)
        assert f"area={GRID_COUNTY}" in page.url
        assert page.locator("#township option").count() == 3

        # A row click zooms the map onto that village.
        zoom_before = page.evaluate("qungongMap.getZoom()")
        page.locator("#gaps tbody tr").nth(0).click()
        # Leaflet animates the zoom: wait for it rather than for a fixed time.
        wait_for(page, "(z) => qungongMap.getZoom() > z", zoom_before)
        assert page.evaluate("qungongMap.getZoom()") > zoom_before
        centre = page.evaluate("[qungongMap.getCenter().lat, qungongMap.getCenter().lng]")
        first = page.locator("#gaps tbody tr").nth(0).get_attribute("data-code")
        assert first in GRID_CLOSED
        assert 27.0 <= centre[0] <= 27.09

        # Five new sites within 3 km: progress while it runs, then before/after.
        page.fill("#siting input[name=sites]", "5")
        page.fill("#siting input[name=within]", "3000")
        page.click("#siting button[type=submit]")
        page.wait_for_selector(".folium-map[data-sites='5']", timeout=60_000)
        assert page.locator("#siting-progress").is_hidden()
        before = float(page.inner_text("#before").rstrip("%"))
        after = float(page.inner_text("#after").rstrip("%"))
        assert after > before
        assert page.locator("#sites tbody tr").count() == 5
        assert "已证明最优" in page.inner_text("#siting-result")

        # Exports: the CSV (Chinese headers, BOM) and the GeoPackage of the same view.
        with page.expect_download() as dl:
            page.click("#csv")
        body = Path(dl.value.path()).read_bytes()
        assert body.startswith(b"\xef\xbb\xbf")
        header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert header[:2] == ["代码", "名称"]
        with page.expect_download() as dl:
            page.click("#gpkg")
        assert Path(dl.value.path()).read_bytes()[:16].startswith(b"SQLite format 3")
        with page.expect_download() as dl:
            page.click("#sites-csv")
        assert Path(dl.value.path()).read_bytes().startswith(b"\xef\xbb\xbf")

        assert not errors
        assert outside_host(requests) == []

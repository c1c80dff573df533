"""A team leader plans next month, prints day 1 and downloads its GPX in headless Chromium."""

from __future__ import annotations

import gpxpy
import pytest

from tests.teams_factories import load_team_network
from tests.webmap.browser import browser_page, login, outside_host, serve

pytestmark = pytest.mark.browser


def test_team_leader_plans_prints_and_downloads(app, auth, db_url, tmp_path):
    auth.make_users()
    load_team_network(db_url)
    with serve(app) as base, browser_page() as (page, requests):
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        login(page, base, "team")
        page.goto(f"{base}/teams/", wait_until="load")
        # Next month (after the last recorded visit), three days by the standard.
        page.fill("input[name=month]", "2014-01")
        page.fill("input[name=days]", "3")
        with page.expect_navigation():
            page.click("#plan-button")
        assert "month=2014-01" in page.url
        rows = page.locator("#plan-days tbody tr")
        assert rows.count() == 3
        # The map: numbered stop markers in the days' colours, route lines, the legend.
        page.wait_for_selector(".qg-stop")
        numbers = page.locator(".qg-stop").all_inner_texts()
        # Two urgent villages, the one with an open dispute twice: each first on its day.
        assert sorted(numbers) == ["1", "1", "1"]
        lines = page.evaluate(
            """() => { const m = window[document.querySelector('.folium-map').id]; let n = 0;
                m.eachLayer(l => { if (l instanceof L.Polyline) n++; }); return n; }"""
        )
        assert lines == 3  # one route line per day with stops (three visits, three days)
        assert "走访日" in page.locator(".qg-legend").inner_text()

        # Day 1's printable sheet: the print view hides the top bar and the buttons.
        first_day = rows.first
        with page.expect_navigation():
            first_day.locator("a.print-link").click()
        assert page.locator("#day-sheet tbody tr").count() >= 1
        page.emulate_media(media="print")
        assert not page.locator("header.topbar").is_visible()
        assert not page.locator("#print-button").is_visible()
        assert page.locator("#day-sheet").is_visible()
        pdf = tmp_path / "day1.pdf"
        page.pdf(path=str(pdf))
        assert pdf.stat().st_size > 1000
        page.emulate_media(media="screen")

        # Its GPX, downloaded through the link on the sheet.
        with page.expect_download() as info:
            page.click("a[href*='.gpx']")
        path = tmp_path / "day1.gpx"
        info.value.save_as(path)
        gpx = gpxpy.parse(path.read_text(encoding="utf-8"))
        assert len(gpx.waypoints) >= 1
        assert gpx.routes[0].points[0].name.endswith("township office")

        assert errors == []
        assert outside_host(requests) == []

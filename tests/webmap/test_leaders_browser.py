"""A leader uses the hotspot map in a real headless Chromium, and nothing leaves the host."""

from __future__ import annotations

import pytest

from tests.leaders_factories import grid_cases, insert_cases, load_grid_network
from tests.webmap.browser import browser_page, login, outside_host, serve, wait_for

pytestmark = pytest.mark.browser

READY = ".folium-map[data-ready='1']"


def _click_map(page, lat: float, lon: float) -> None:
    x, y = page.evaluate(
        """([lat, lon]) => {
            const p = qungongMap.latLngToContainerPoint([lat, lon]);
            const r = qungongMap.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lon],
    )
    page.mouse.click(x, y)


def test_leader_filters_animates_switches_and_drills(app, auth, db_url):
    auth.make_users()
    network = load_grid_network(db_url)
    cases = grid_cases(network)
    insert_cases(db_url, cases)
    year = cases["opened_on"].map(lambda d: d.year)
    disputes_2013 = int(((cases["kind"] == "dispute") & (year == 2013)).sum())
    with serve(app) as base, browser_page() as (page, requests):
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        login(page, base, "leader")
        page.goto(f"{base}/leaders/", wait_until="load")
        page.wait_for_selector(READY, timeout=10_000)
        assert page.get_attribute(".folium-map", "data-layer") == "heat"
        assert int(page.get_attribute(".folium-map", "data-cases")) == len(cases)
        # The heatmap draws aggregated cells, never one point per case.
        cells = page.evaluate(
            """() => { let n = null;
                qungongMap.eachLayer(l => { if (l instanceof L.HeatLayer) n = l._latlngs.length; });
                return n; }"""
        )
        assert 0 < cells < len(cases) / 5
        # Stations as context: fetched when their layer is switched on.
        page.locator(".leaflet-control-layers-overlays label", has_text="群众工作站").click()
        page.wait_for_selector(".folium-map[data-stations]", timeout=10_000)
        assert int(page.get_attribute(".folium-map", "data-stations")) == len(network.villages)

        # Filter to disputes in 2013 through the form: the state lands in the URL.
        page.select_option("select[name=kind]", "dispute")
        page.fill("input[name=from]", "2013-01-01")
        page.fill("input[name=to]", "2013-12-31")
        with page.expect_navigation(wait_until="load"):
            page.click(".filters button[type=submit]")
        page.wait_for_selector(READY, timeout=10_000)
        assert "kind=dispute" in page.url
        assert "from=2013-01-01" in page.url
        assert page.inner_text("#case-total") == str(disputes_2013)

        # Month by month: the time control steps through the months of 2013.
        with page.expect_navigation(wait_until="load"):
            page.click(".layer-tabs a[data-layer=monthly]")
        page.wait_for_selector(READY, timeout=10_000)
        assert "kind=dispute" in page.url
        date = page.locator(".timecontrol-date")
        first = date.inner_text()
        assert first.startswith("2013-")
        page.click(".timecontrol-forward")
        wait_for(
            page,
            "(first) => document.querySelector('.timecontrol-date').innerText !== first",
            first,
        )
        assert date.inner_text() > first
        assert page.locator(".leaflet-overlay-pane canvas").count() >= 1

        # Rates: a classed choropleth with its legend.
        with page.expect_navigation(wait_until="load"):
            page.click(".layer-tabs a[data-layer=rates]")
        page.wait_for_selector(READY, timeout=10_000)
        assert "每千户案件数" in page.locator(".qg-legend").inner_text()

        # Hotspots beside the heatmap: legend, layer control, top-20 table.
        with page.expect_navigation(wait_until="load"):
            page.click(".layer-tabs a[data-layer=hotspots]")
        page.wait_for_selector(READY, timeout=10_000)
        assert "热点 99% 置信" in page.locator(".qg-legend").inner_text()
        controls = page.locator(".leaflet-control-layers").inner_text()
        assert "案件热力图" in controls
        assert "热点分析 (Gi*)" in controls
        assert page.locator("#top tbody tr").count() == 20

        # Drill into the first county, then into its second township, by clicking the map.
        _click_map(page, 27.3, 110.2)
        with page.expect_navigation(wait_until="load"):
            page.click("a.drill")
        page.wait_for_selector(READY, timeout=10_000)
        assert "area=430521000000" in page.url
        assert "kind=dispute" in page.url
        assert "邵东县" in page.inner_text(".crumbs")
        _click_map(page, 27.15, 110.65)
        with page.expect_navigation(wait_until="load"):
            page.click("a.drill")
        page.wait_for_selector(READY, timeout=10_000)
        assert "area=430521101000" in page.url
        assert "廉桥镇" in page.inner_text(".crumbs")
        assert "村（社区）" in page.locator(".leaflet-control-layers").inner_text()

        assert errors == []
        assert outside_host(requests) == []

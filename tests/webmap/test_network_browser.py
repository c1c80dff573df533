"""The network map's usability in Chromium: legend, labels, clusters, hints, header, popup."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from models.db import transaction
from tests.factories import load_tiny_network
from tests.webmap.browser import browser_page, login, outside_host, serve

pytestmark = pytest.mark.browser

READY = ".folium-map[data-ready='1']"


def _map_call(page, js: str) -> object:
    """Run ``js`` with ``map`` bound to the page's Leaflet map."""
    return page.evaluate(
        f"() => {{ const map = window[document.querySelector('.folium-map').id]; {js} }}"
    )


def _zoom(page, lat: float, lon: float, zoom: int) -> None:
    _map_call(page, f"map.setView([{lat}, {lon}], {zoom}, {{animate: false}});")
    page.wait_for_selector(f".folium-map[data-zoom='{zoom}']")


def _activity(db_url: str) -> None:
    """An open case and two recent visits in 田心村 of 竹市镇; a hostile station address."""
    today = dt.datetime.now(dt.UTC)
    with transaction(db_url) as s:
        s.execute(
            text(
                "INSERT INTO case_record (case_no, kind, status, opened_on, geom, county_code,"
                " village_code) VALUES ('C1', 'dispute', 'open', '2026-01-01',"
                " ST_SetSRID(ST_MakePoint(110.05, 27.05), 4326), '430525', '430525100201'),"
                " ('C2', 'dispute', 'closed', '2026-01-01',"
                " ST_SetSRID(ST_MakePoint(110.05, 27.05), 4326), '430525', '430525100201')"
            )
        )
        for days in (3, 10, 45):
            s.execute(
                text(
                    "INSERT INTO visit (visited_at, geom, source_crs, county_code, village_code,"
                    " natural_key) VALUES (:t, ST_SetSRID(ST_MakePoint(110.05, 27.05), 4326),"
                    " 'wgs84', '430525', '430525100201', gen_random_uuid())"
                ),
                {"t": today - dt.timedelta(days=days)},
            )
        s.execute(
            text(
                "UPDATE station SET address = '<img src=x onerror=alert(1)>村部', phone = '0739-1234567',"
                " head = '<i>周</i>站长',"
                " opened_on = '2013-03-01' WHERE name = '竹市镇田心村群众工作站'"
            )
        )


def test_city_map_has_legend_labels_clusters_and_zoom_hints(app, auth, db_url):
    auth.make_users()
    load_tiny_network(db_url)
    with serve(app) as base, browser_page() as (page, requests):
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        login(page, base)
        page.goto(f"{base}/", wait_until="load")
        page.wait_for_selector(READY)
        legend = page.locator(".legend")
        assert legend.count() == 1
        for word in ("县市区", "乡镇（街道）", "村（社区）", "村民小组", "群众工作站"):
            assert word in legend.inner_text()
        _zoom(page, 27.1, 110.2, 9)
        # At city zoom: county names, the four stations in clusters, hints on the lazy layers.
        assert page.locator(".unit-label-county").all_inner_texts() == ["洞口县"]
        assert page.locator(".unit-label-township").count() == 0
        assert page.locator(".marker-cluster").count() >= 1
        hints = page.locator(".leaflet-control-layers .zoom-hint")
        assert hints.count() == 2
        assert all(h.is_visible() for h in hints.all())
        assert "放大到第 11 级后显示" in page.locator(".leaflet-control-layers").inner_text()
        # Zoomed in: township names replace the county's, stations stand alone, hints go.
        _zoom(page, 27.1, 110.2, 11)
        assert sorted(page.locator(".unit-label-township").all_inner_texts()) == [
            "石江镇",
            "竹市镇",
        ]
        assert page.locator(".unit-label-county").count() == 0
        assert not page.locator(".zoom-hint[data-min='11']").is_visible()
        assert page.locator(".zoom-hint[data-min='13']").is_visible()
        _zoom(page, 27.1, 110.2, 13)
        assert page.locator(".marker-cluster").count() == 0
        assert not page.locator(".zoom-hint[data-min='13']").is_visible()
        assert errors == []
        assert outside_host(requests) == []
        assert any("leaflet.markercluster.js" in url for url in requests)


def test_header_totals_follow_the_area_and_county_step(app, auth, db_url):
    auth.make_users()
    load_tiny_network(db_url)
    with serve(app) as base, browser_page() as (page, _requests):
        login(page, base)
        page.goto(f"{base}/", wait_until="load")
        page.wait_for_selector(READY)
        totals = page.locator(".totals")
        assert totals.locator("[data-level=village]").inner_text() == "4"
        assert page.locator(".crumbs .to-city").count() == 0  # already the city
        # City -> township popup offers the county step.
        _zoom(page, 27.1, 110.1, 11)
        page.mouse.click(*_point(page, 27.15, 110.12))
        page.wait_for_selector(".leaflet-popup .drill-county")
        with page.expect_navigation(wait_until="load"):
            page.click(".leaflet-popup .drill-county")
        page.wait_for_selector(READY)
        assert "area=430525000000" in page.url
        assert page.locator("h1").inner_text() == "洞口县"
        assert page.locator(".totals [data-level=township]").inner_text() == "2"
        # County -> township.
        page.goto(f"{base}/?area=430525100000", wait_until="load")
        page.wait_for_selector(READY)
        assert page.locator("h1").inner_text() == "竹市镇"
        assert page.locator(".totals [data-level=village]").inner_text() == "2"
        assert page.locator(".totals [data-level=group]").inner_text() == "4"
        assert page.locator(".totals [data-level=station]").inner_text() == "2"
        assert page.locator(".crumbs a", has_text="洞口县").count() == 1
        with page.expect_navigation(wait_until="load"):
            page.click(".crumbs .to-city")
        page.wait_for_selector(READY)
        assert page.locator(".totals [data-level=village]").inner_text() == "4"


def _point(page, lat: float, lon: float) -> tuple[float, float]:
    """Page pixel of a map coordinate."""
    xy = _map_call(
        page,
        f"const p = map.latLngToContainerPoint([{lat}, {lon}]);"
        " const r = map.getContainer().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y];",
    )
    return float(xy[0]), float(xy[1])


def test_back_to_city_hidden_for_a_township_user(app, auth, db_url):
    auth.make_users()
    load_tiny_network(db_url)
    with serve(app) as base, browser_page() as (page, _requests):
        login(page, base, "team")
        page.goto(f"{base}/", wait_until="load")
        page.wait_for_selector(READY)
        assert page.locator("h1").inner_text() == "竹市镇"
        assert page.locator(".crumbs .to-city").count() == 0
        # The county is above the user's area: named, not linked.
        assert page.locator(".crumbs a", has_text="洞口县").count() == 0
        assert page.locator(".crumbs span", has_text="洞口县").count() == 1


def test_station_popup_shows_activity_escaped(app, auth, db_url):
    auth.make_users()
    load_tiny_network(db_url)
    _activity(db_url)
    with serve(app) as base, browser_page() as (page, _requests):
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        login(page, base)
        page.goto(f"{base}/?area=430525100000", wait_until="load")
        page.wait_for_selector(READY)
        _zoom(page, 27.05, 110.05, 13)
        page.mouse.click(*_point(page, 27.05, 110.05))
        popup = page.locator(".station-popup")
        popup.wait_for()
        body = popup.inner_text()
        assert "<img src=x onerror=alert(1)>村部" in body
        assert popup.locator("img").count() == 0
        assert "0739-1234567" in body
        assert "<i>周</i>站长" in body
        assert popup.locator("i").count() == 0
        assert "2013-03-01" in body
        assert popup.locator("[data-key=open-cases]").inner_text() == "1"
        assert popup.locator("[data-key=visits-30d]").inner_text().startswith("2")
        assert "第一村民小组" in body
        assert "民情信息员" in body
        assert dialogs == []


def test_network_page_fits_a_phone(app, auth, db_url):
    auth.make_users()
    load_tiny_network(db_url)
    with serve(app) as base, browser_page() as (page, _requests):
        page.set_viewport_size({"width": 390, "height": 844})
        login(page, base)
        page.goto(f"{base}/", wait_until="load")
        page.wait_for_selector(READY)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = page.locator(".folium-map").bounding_box()
        assert box["width"] <= 390
        assert box["height"] >= 300

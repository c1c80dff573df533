"""The leaders' maps read on their own: legends, a metric scale, the heat kept inside the area,
the monthly frames on one scale with the panel following, and a sheet to print for meetings."""

from __future__ import annotations

import datetime as dt
import io
import re

import pandas as pd
import pytest
from PIL import Image

from tests.leaders_factories import HOT, grid_cases, insert_cases, load_grid_network
from tests.webmap.browser import browser_page, login, outside_host, serve, wait_for

pytestmark = pytest.mark.browser

READY = ".folium-map[data-ready='1']"
# The grid's south-west corner (邵东县's first township, its first village).
CORNER = (27.0, 110.0)


def _corner_cases(network, n: int = 40) -> pd.DataFrame:
    """``n`` 2013 disputes just inside the grid's south-west corner: heat at the border."""
    village = next(c for c, b in network.villages.items() if b[:2] == (CORNER[1], CORNER[0]))
    return pd.DataFrame(
        {
            "case_no": [f"C{i:05d}" for i in range(n)],
            "kind": "dispute",
            "status": "open",
            "opened_on": dt.date(2013, 6, 1),
            "county_code": village[:6],
            "township_code": village[:9] + "000",
            "village_code": village,
            "lon": CORNER[1] + 0.002,
            "lat": CORNER[0] + 0.002,
        }
    )


def _pixel(page, lat: float, lon: float, dx: int, dy: int) -> tuple[int, int, int]:
    """The colour on screen ``dx``, ``dy`` pixels from a place on the map."""
    x, y = page.evaluate(
        """([lat, lon]) => {
            const p = qungongMap.latLngToContainerPoint([lat, lon]);
            const r = qungongMap.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lon],
    )
    shot = page.screenshot(clip={"x": x + dx, "y": y + dy, "width": 1, "height": 1})
    return Image.open(io.BytesIO(shot)).convert("RGB").getpixel((0, 0))


def _scale_is_metric(page) -> None:
    lines = page.locator(".leaflet-control-scale-line").all_inner_texts()
    assert len(lines) == 1
    assert re.fullmatch(r"\d+ k?m", lines[0].strip())


def test_heat_has_a_legend_a_metric_scale_and_stays_inside_the_city(app, auth, db_url):
    auth.make_users()
    network = load_grid_network(db_url)
    insert_cases(db_url, pd.concat([grid_cases(network), _corner_cases(network)]))
    with serve(app) as base, browser_page() as (page, requests):
        login(page, base, "leader")
        page.goto(f"{base}/leaders/", wait_until="load")
        page.wait_for_selector(READY, timeout=20_000)
        legend = page.locator(".qg-legend")
        assert "案件热力图" in legend.inner_text()
        assert legend.locator(".qg-ramp").is_visible()
        high = int(re.search(r"\d+", legend.locator(".qg-ramp-high").inner_text()).group())
        assert high >= 40
        _scale_is_metric(page)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
        background = page.evaluate(
            "() => getComputedStyle(qungongMap.getContainer()).backgroundColor"
        )
        bg = tuple(int(v) for v in re.findall(r"\d+", background)[:3])
        # Inside the corner the heat shows; just beyond the border nothing but background.
        assert _pixel(page, *CORNER, 6, -6) != bg
        assert _pixel(page, *CORNER, -10, 10) == bg
        assert _pixel(page, *CORNER, -10, -6) == bg
        assert outside_host(requests) == []


def test_monthly_frames_share_one_scale_and_the_panel_follows(app, auth, db_url):
    auth.make_users()
    network = load_grid_network(db_url)
    # Disputes every month in the hot block, and one busy June at the corner.
    insert_cases(db_url, pd.concat([grid_cases(network, hot_disputes=120), _corner_cases(network)]))
    with serve(app) as base, browser_page() as (page, _requests):
        login(page, base, "leader")
        page.goto(
            f"{base}/leaders/?layer=monthly&kind=dispute&from=2013-01-01&to=2013-12-31",
            wait_until="load",
        )
        page.wait_for_selector(READY, timeout=20_000)
        legend = page.locator(".qg-legend")
        assert "逐月热力图" in legend.inner_text()
        assert "各月使用同一色标" in legend.inner_text()
        _scale_is_metric(page)
        # One scale: the frames' weights are divided by the busiest cell of any month (only
        # that month reaches 1), and the heat layer keeps a fixed maximum while stepping.
        scale = page.evaluate(
            """() => { let out = null;
                qungongMap.eachLayer(l => {
                    if (l.data && l._baseLayer) {
                        const tops = l.data.filter(f => f.length).map(f => Math.max(...f.map(p => p[2])));
                        out = {tops: tops, local: l._baseLayer.cfg.useLocalExtrema, max: l._baseLayer._max};
                    }
                });
                return out; }"""
        )
        assert scale["local"] is False
        assert max(scale["tops"]) == 1
        assert min(scale["tops"]) < 1
        first = page.inner_text("#frame-month")
        assert first.startswith("2013-01")
        assert page.get_attribute("#months tr.current", "data-month") == "2013-01"
        page.click(".timecontrol-forward")
        wait_for(
            page, "() => document.querySelector('#months tr.current').dataset.month === '2013-02'"
        )
        assert page.inner_text("#frame-month").startswith("2013-02")
        assert page.get_attribute(".folium-map", "data-frame") == "2013-02"
        assert (
            page.evaluate(
                "() => { let m = null; qungongMap.eachLayer(l => { if (l.data && l._baseLayer)"
                " m = l._baseLayer._max; }); return m; }"
            )
            == scale["max"]
        )


def test_top_rows_zoom_and_the_print_sheet(app, auth, db_url):
    auth.make_users()
    network = load_grid_network(db_url)
    insert_cases(db_url, grid_cases(network))
    with serve(app) as base, browser_page() as (page, requests):
        login(page, base, "leader")
        page.goto(f"{base}/leaders/?kind=dispute&from=2013-01-01&to=2013-12-31", wait_until="load")
        page.wait_for_selector(READY, timeout=20_000)
        # The top-20 table: each village with its county and township; a row click zooms there.
        first = page.locator("#top tbody tr").first
        code = first.get_attribute("data-code")
        assert code in HOT
        assert first.locator(".parents").inner_text() == "邵东县 › 廉桥镇"
        zoom = page.evaluate("() => qungongMap.getZoom()")
        first.click()
        wait_for(page, "(code) => qungongMap.getContainer().dataset.zoomedTo === code", code)
        wait_for(page, "(z) => qungongMap.getZoom() > z", zoom)
        west, south, east, north = network.villages[code]
        assert page.evaluate(
            "([s, w, n, e]) => qungongMap.getBounds().contains([[s, w], [n, e]])",
            [south, west, north, east],
        )
        assert (
            page.evaluate(
                "() => qungongMap.getBounds().getEast() - qungongMap.getBounds().getWest()"
            )
            < 0.5
        )
        href = page.get_attribute("a#print", "href")
        assert href.startswith("/leaders/print?")
        assert "kind=dispute" in href
        page.goto(base + href, wait_until="load")
        page.wait_for_selector(READY, timeout=20_000)
        assert "领导热点图" in page.inner_text("#print-title")
        filters = page.inner_text("#print-filters")
        assert "矛盾纠纷" in filters
        assert "2013-01-01 – 2013-12-31" in filters
        assert "案件热力图" in page.locator(".qg-legend").inner_text()
        _scale_is_metric(page)
        assert dt.date.today().isoformat() in page.inner_text("#print-date")
        page.emulate_media(media="print")
        assert not page.locator("header.topbar").is_visible()
        assert not page.locator(".leaflet-control-layers").is_visible()
        assert page.locator(".qg-legend").is_visible()
        assert page.locator(".leaflet-control-scale").is_visible()
        pdf = page.pdf(format="A4", landscape=True, print_background=True)
        assert pdf.startswith(b"%PDF")
        assert outside_host(requests) == []

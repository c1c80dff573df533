"""geo.layers in a real headless Chromium: what the drawn map shows, not the JavaScript text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import folium
import numpy as np
import pytest
from flask import Flask

from geo.density import hex_bins
from geo.hotspots import getis_ord
from geo.layers.hotspots import (
    HOTSPOT_COLOURS,
    RATE_COLOURS,
    heatmap_layer,
    hotspot_layer,
    monthly_heatmap_layer,
    rates_choropleth_layer,
)
from geo.layers.offline import localize
from tests.geo.layers.test_hotspot_layers import _points, units_grid
from tests.webmap.browser import browser_page, outside_host, serve
from webmap import vendor

pytestmark = pytest.mark.browser

NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
PATHS = ".leaflet-overlay-pane path"


@contextmanager
def shown(m: folium.Map) -> Iterator[object]:
    """The map rendered with local assets, open in Chromium; fails on any script error."""
    page_html = localize(m, base_url="/vendor").get_root().render()
    app = Flask(__name__)
    app.config["NODE_MODULES"] = str(NODE_MODULES)
    app.register_blueprint(vendor.bp)
    app.add_url_rule("/", "page", lambda: page_html)
    with serve(app) as base, browser_page() as (page, requests):
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/", wait_until="load")
        yield page
        assert errors == []
        assert outside_host(requests) == []


def _fitted(units) -> folium.Map:
    west, south, east, north = units.total_bounds
    m = folium.Map(tiles=None)
    m.fit_bounds([[south, west], [north, east]])
    return m


def _fills(page) -> Counter:
    return Counter(page.eval_on_selector_all(PATHS, "ps => ps.map(p => p.getAttribute('fill'))"))


def _hover_first(page) -> str:
    page.locator(PATHS).first.hover(force=True)
    page.wait_for_selector(".leaflet-tooltip", timeout=5_000)
    return page.inner_text(".leaflet-tooltip")


def test_choropleth_draws_each_kept_unit_in_its_class_colour():
    units = units_grid()
    units.loc[15, "name"] = "<b>村15</b>"
    m = _fitted(units)
    layer = rates_choropleth_layer(m, units, k=5, scheme="Quantiles")
    expected = Counter(f["properties"]["fill"] for f in layer.data["features"])
    with shown(m) as page:
        # Counts 1..4 are suppressed: 12 of 16 villages are drawn, each in its class colour.
        assert sum(_fills(page).values()) == 12
        assert _fills(page) == expected
        assert set(_fills(page)) == set(RATE_COLOURS)
        legend = page.inner_text(".qg-legend")
        assert "每千户案件数" in legend
        assert page.locator(".qg-legend i").count() == 5
        # A name from a file is shown as text, never as markup.
        page.locator(PATHS).last.hover(force=True)
        page.wait_for_selector(".leaflet-tooltip", timeout=5_000)
        assert "<b>村15</b>" in page.inner_text(".leaflet-tooltip")
        assert page.locator(".leaflet-tooltip b", has_text="村15").count() == 0


def test_hotspot_layer_colours_classes_in_the_callers_language():
    values = np.full(49, 3.0)
    for r in range(3):
        for c in range(3):
            values[r * 7 + c] = 40.0
    units = units_grid(7).assign(count=values, rate=values * 10)
    gi = getis_ord(units, "count", seed=1)
    m = _fitted(units)
    labels = {"name": "Name", "hot99": "Hot spot 99%", "hot95": "Hot spot 95%", "ns": "n.s."}
    hotspot_layer(folium.FeatureGroup(name="hot").add_to(m), gi, labels=labels)
    with shown(m) as page:
        assert _fills(page) == Counter(HOTSPOT_COLOURS[c] for c in gi["hotspot"])
        legend = page.inner_text(".qg-legend")
        assert "Hot spot 99%" in legend
        assert "冷点 99% 置信" in legend  # a label the caller left out keeps the default
        assert page.locator(".qg-legend i").count() == len(HOTSPOT_COLOURS)
        tooltip = _hover_first(page)
        assert "Name" in tooltip
        assert labels.get(gi["hotspot"].iloc[0], "") in tooltip


def test_heatmap_and_monthly_frames_play_offline():
    m = folium.Map(tiles=None, location=[27.24, 111.47], zoom_start=10)
    heatmap_layer(m, hex_bins(_points(), resolution=8))
    with shown(m) as page:
        assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    bins = hex_bins(_points(), resolution=8, by="month")
    m = folium.Map(tiles=None, location=[27.24, 111.47], zoom_start=10)
    monthly_heatmap_layer(m, bins)
    with shown(m) as page:
        page.wait_for_selector(".timecontrol-date", timeout=5_000)
        # The control's icons come from our CSS in the system font, not a CDN font.
        play = page.eval_on_selector(
            ".timecontrol-play", "e => getComputedStyle(e, '::before').content"
        )
        assert play == '"\u25b6"'
        first = page.inner_text(".timecontrol-date")
        page.click(".timecontrol-forward")
        page.wait_for_function(
            "t => document.querySelector('.timecontrol-date').innerText !== t", arg=first
        )
        assert page.inner_text(".timecontrol-date") != first

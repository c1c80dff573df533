"""Tests for geo.layers.hotspots: layer data, classes, legends, privacy (drawing: test_layers_browser)."""

from __future__ import annotations

import re

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

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

CDN_HOSTS = ("jsdelivr", "cdnjs", "unpkg", "code.jquery", "bootstrapcdn", "googleapis")


def units_grid(n=4):
    """n x n square villages with counts 1..n*n and 100 households each (rate = 10 * count)."""
    cells = [
        shapely.box(
            111.0 + c * 0.01, 27.0 + r * 0.01, 111.0 + (c + 1) * 0.01, 27.0 + (r + 1) * 0.01
        )
        for r in range(n)
        for c in range(n)
    ]
    counts = np.arange(1, n * n + 1)
    return gpd.GeoDataFrame(
        {"name": [f"村{i}" for i in range(n * n)], "count": counts, "rate": counts * 10.0},
        geometry=cells,
        crs="EPSG:4326",
    )


def render(m):
    return m.get_root().render()


def test_choropleth_one_style_function_legend_and_suppression():
    m = folium.Map(tiles=None)
    units = units_grid()
    layer = rates_choropleth_layer(m, units, k=5, scheme="Quantiles")
    page = render(m)
    data = layer.data
    # Counts 1..4 are suppressed: 12 of 16 villages remain, none below 5.
    assert len(data["features"]) == 12
    assert min(f["properties"]["count"] for f in data["features"]) == 5
    assert "村3" not in page
    # Colours follow the classes: higher rate never gets a lighter colour.
    order = {c: i for i, c in enumerate(RATE_COLOURS)}
    feats = sorted(data["features"], key=lambda f: f["properties"]["rate"])
    ranks = [order[f["properties"]["fill"]] for f in feats]
    assert ranks == sorted(ranks)
    assert ranks[0] == 0
    assert ranks[-1] == len(RATE_COLOURS) - 1
    # The legend is our own HTML: title and every class colour present.
    assert "qg-legend" in page
    assert "每千户案件数" in page
    for colour in RATE_COLOURS:
        assert colour in page


def test_choropleth_no_households_is_grey_and_listed():
    units = units_grid()
    units.loc[15, "rate"] = np.nan
    m = folium.Map(tiles=None)
    layer = rates_choropleth_layer(m, units)
    page = render(m)
    grey = [f for f in layer.data["features"] if f["properties"]["rate"] is None]
    assert [f["properties"]["name"] for f in grey] == ["村15"]
    assert "无数据" in page


def test_coordinates_rounded_to_five_decimals_and_only_needed_properties():
    units = units_grid(2).assign(secret="身份证", count=[5, 6, 7, 8])
    units.geometry = units.geometry.translate(1.23456789e-3, 0)
    m = folium.Map(tiles=None)
    layer = rates_choropleth_layer(m, units)
    page = render(m)
    data = layer.data
    coords = np.array(data["features"][0]["geometry"]["coordinates"][0])
    assert np.allclose(coords, np.round(coords, 5), atol=0, rtol=0)
    assert set(data["features"][0]["properties"]) == {"name", "count", "rate", "fill"}
    assert "身份证" not in page


def test_hotspot_layer_colours_classes_and_masks_small_counts():
    values = np.full(49, 3.0)
    for r in range(3):
        for c in range(3):
            values[r * 7 + c] = 40.0
    units = units_grid(7).assign(count=values, rate=values * 10)
    gi = getis_ord(units, "count", seed=1)
    m = folium.Map(tiles=None)
    fg = folium.FeatureGroup(name="hot").add_to(m)
    layer = hotspot_layer(fg, gi)
    page = render(m)
    data = layer.data
    assert len(data["features"]) == 49  # every unit drawn, class is about neighbourhoods
    for feat, cls in zip(data["features"], gi["hotspot"], strict=True):
        assert feat["properties"]["fill"] == HOTSPOT_COLOURS[cls]
    assert "hot" in "".join(gi["hotspot"])
    quiet = data["features"][48]["properties"]
    assert quiet["count"] == "<5"
    assert quiet["rate"] == "<5"
    assert {"z", "p", "name"} <= set(quiet)
    for colour in HOTSPOT_COLOURS.values():
        assert colour in page
    assert "qg-legend" in page


def _points():
    rng = np.random.default_rng(5)
    lon = np.r_[rng.normal(111.47, 0.01, 400), rng.uniform(111.0, 111.9, 30)]
    lat = np.r_[rng.normal(27.24, 0.01, 400), rng.uniform(26.5, 27.5, 30)]
    month = rng.choice(["2012-01", "2012-02", "2012-03"], lon.size)
    return gpd.GeoDataFrame({"month": month}, geometry=gpd.points_from_xy(lon, lat), crs=4326)


def test_heatmap_drops_small_cells():
    bins = hex_bins(_points(), resolution=8)
    m = folium.Map(tiles=None)
    layer = heatmap_layer(m, bins)
    assert len(layer.data) == int((bins["count"] >= 5).sum())
    assert max(row[2] for row in layer.data) == 1.0


def test_monthly_heatmap_one_frame_per_month_shared_scale():
    bins = hex_bins(_points(), resolution=8, by="month")
    m = folium.Map(tiles=None)
    layer = monthly_heatmap_layer(m, bins)
    assert layer.index == ["2012-01", "2012-02", "2012-03"]
    weights = [row[2] for frame in layer.data for row in frame]
    assert max(weights) == 1.0  # only the hottest month reaches full intensity
    assert sum(len(f) for f in layer.data) == int((bins["count"] >= 5).sum())


@pytest.mark.parametrize("kind", ["choropleth", "hotspot", "heat", "monthly"])
def test_no_cdn_links_once_localized(kind):
    m = folium.Map(tiles=None)
    units = units_grid(4)
    if kind == "choropleth":
        rates_choropleth_layer(m, units)
    elif kind == "hotspot":
        hotspot_layer(m, getis_ord(units, "count", permutations=99))
    elif kind == "heat":
        heatmap_layer(m, hex_bins(_points(), resolution=8))
    else:
        monthly_heatmap_layer(m, hex_bins(_points(), resolution=8, by="month"))
    page = render(localize(m, base_url="/vendor"))
    hosts = re.findall(r"https?://([^/\"']+)", page)
    assert not [h for h in hosts if any(c in h for c in CDN_HOSTS)]

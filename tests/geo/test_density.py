"""Tests for geo.density: H3 binning, heat weights, privacy suppression, rates."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.density import (
    Grid,
    heat_weights,
    hex_bins,
    hex_counts,
    mask_small,
    pattern_agreement,
    rates_per_thousand,
    shown,
    small_counts,
    suppress_small,
)

# Two cell centres at resolution 8 near Shaoyang city, well apart.
A = h3.latlng_to_cell(27.24, 111.47, 8)
B = h3.latlng_to_cell(27.10, 111.20, 8)


def _centre(cell):
    lat, lon = h3.cell_to_latlng(cell)
    return lon, lat


def _points(n_a, n_b, *, crs="EPSG:4326"):
    (xa, ya), (xb, yb) = _centre(A), _centre(B)
    lon = [xa] * n_a + [xb] * n_b
    lat = [ya] * n_a + [yb] * n_b
    gdf = gpd.GeoDataFrame(
        {"month": ["2012-01"] * n_a + ["2012-02"] * n_b, "w": [2.0] * (n_a + n_b)},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    return gdf.to_crs(crs)


def test_hex_counts_counts_points_per_cell_and_skips_nan():
    (xa, ya), (xb, yb) = _centre(A), _centre(B)
    counts = hex_counts([xa, xa, xb, np.nan], [ya, ya, yb, 27.0], resolution=8)
    assert counts.to_dict() == {A: 2, B: 1} or counts.to_dict() == {B: 1, A: 2}
    assert counts.name == "count"


def test_hex_counts_sums_weights():
    (xa, ya), (xb, yb) = _centre(A), _centre(B)
    sums = hex_counts([xa, xa, xb], [ya, ya, yb], resolution=8, weights=[1.5, 2.0, 4.0])
    assert sums[A] == pytest.approx(3.5)
    assert sums[B] == pytest.approx(4.0)


def test_hex_counts_rejects_projected_coordinates():
    with pytest.raises(ValueError, match="EPSG:4326"):
        hex_counts([500000.0], [3000000.0], resolution=7)


def test_hex_bins_polygons_contain_their_points_and_reproject():
    bins = hex_bins(_points(3, 6, crs="EPSG:4546"), resolution=8)
    assert bins.crs.equals("EPSG:4326")
    assert dict(zip(bins["h3"], bins["count"], strict=True)) == {A: 3, B: 6}
    for cell, poly in zip(bins["h3"], bins.geometry, strict=True):
        lon, lat = _centre(cell)
        assert poly.contains(shapely.Point(lon, lat))
        assert len(poly.exterior.coords) == 7  # hexagon, closed ring


def test_hex_bins_keeps_group_and_sums_weight():
    bins = hex_bins(_points(3, 6), resolution=8, by="month", weight="w")
    assert list(bins.columns) == ["month", "h3", "count", "weight", "geometry"]
    row = bins.set_index("month").loc["2012-02"]
    assert row["h3"] == B
    assert row["count"] == 6
    assert row["weight"] == pytest.approx(12.0)


def test_heat_weights_normalised_to_hottest_cell():
    bins = hex_bins(_points(3, 6), resolution=8)
    rows = heat_weights(bins)
    by_weight = {round(w, 4): (lat, lon) for lat, lon, w in rows}
    assert set(by_weight) == {0.5, 1.0}
    lat, lon = by_weight[1.0]
    assert (lon, lat) == pytest.approx(_centre(B), abs=1e-5)


def test_suppress_small_drops_one_to_four_and_missing_keeps_zero():
    df = pd.DataFrame({"count": [0, 1, 4, 5, 12, np.nan]})
    out = suppress_small(df)
    assert out["count"].tolist() == [0, 5, 12]
    assert suppress_small(df, min_count=13)["count"].tolist() == [0]
    with pytest.raises(ValueError, match="min_count"):
        suppress_small(df, min_count=0)


# One rule for maps, tables and single numbers: 1..4 hidden, 0 and >= 5 shown, unknown hidden.
RULE = [(0, False), (1, True), (4, True), (5, False), (12, False), (None, True), ("x", True)]


@pytest.mark.parametrize(("count", "small"), RULE)
def test_small_counts_one_rule(count, small):
    assert small_counts([count]).tolist() == [small]


def test_map_table_and_scalar_apply_the_same_rule():
    counts = [c for c, _ in RULE]
    hidden = [s for _, s in RULE]
    frame = pd.DataFrame({"count": counts, "rate": [0.5] * len(counts), "name": "x"})
    kept = suppress_small(frame)
    assert kept.index.tolist() == [i for i, s in enumerate(hidden) if not s]
    masked = mask_small(frame.copy())
    assert (masked["count"] == "<5").tolist() == hidden
    assert (masked["rate"] == "<5").tolist() == hidden
    assert masked["name"].tolist() == ["x"] * len(counts)
    assert [shown(c) == "<5" for c, _ in RULE if isinstance(c, int)] == [
        s for c, s in RULE if isinstance(c, int)
    ]
    assert shown(0) == 0
    assert shown(7, min_count=8) == "<8"


def test_pattern_agreement_high_for_true_bins_low_for_shuffled():
    rng = np.random.default_rng(3)
    lon = np.r_[rng.normal(111.0, 0.03, 3000), rng.uniform(110.6, 111.8, 1000)]
    lat = np.r_[rng.normal(27.0, 0.03, 3000), rng.uniform(26.3, 27.5, 1000)]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    bins = hex_bins(pts, resolution=7)
    grid = Grid.around((110.5, 26.2, 111.9, 27.6), cell_deg=0.01)
    good = pattern_agreement(pts, bins, grid=grid)
    shuffled = bins.assign(count=rng.permutation(bins["count"].to_numpy()))
    bad = pattern_agreement(pts, shuffled, grid=grid)
    assert good > 0.95
    assert bad < 0.5


def test_rates_per_thousand_zero_households_is_nan():
    counts = pd.Series([10, 3, 4], index=["a", "b", "c"])
    households = pd.Series([500, 0, np.nan], index=["a", "b", "c"])
    rates = rates_per_thousand(counts, households)
    assert rates["a"] == pytest.approx(20.0)
    assert np.isnan(rates["b"])
    assert np.isnan(rates["c"])
    assert not np.isinf(rates).any()

"""Tests for geo.hotspots: Gi* on small hand-made grids where the answer is known."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from libpysal.weights import W

from geo.hotspots import HOTSPOT_CLASSES, bh_threshold, getis_ord, spatial_weights


def grid(n=7, *, values=None, crs="EPSG:4326", size=0.01):
    """An n x n grid of square units near Shaoyang, row-major from the south-west corner."""
    cells = [
        shapely.box(
            111.0 + c * size, 27.0 + r * size, 111.0 + (c + 1) * size, 27.0 + (r + 1) * size
        )
        for r in range(n)
        for c in range(n)
    ]
    rows = [r for r in range(n) for _ in range(n)]
    cols = [c for _ in range(n) for c in range(n)]
    gdf = gpd.GeoDataFrame({"row": rows, "col": cols}, geometry=cells, crs=crs)
    if values is not None:
        gdf["cases"] = values
    return gdf


def corner_block_values(n=7):
    rng = np.random.default_rng(7)
    values = rng.integers(2, 6, n * n).astype(float)  # quiet background, 2..5 cases
    for r in range(3):
        for c in range(3):
            values[r * n + c] = 40.0
    return values


def test_corner_block_is_hot_and_far_corner_is_not():
    out = getis_ord(grid(values=corner_block_values()), "cases", seed=1)
    cls = out.set_index(["row", "col"])["hotspot"]
    # The block's centre has all eight neighbours high; a random draw of eight from the
    # other 48 units almost never does that, so it passes even the FDR 99% cut-off.
    assert cls[(1, 1)] == "hot99"
    assert cls[(0, 0)].startswith("hot")
    assert all(cls[(r, c)].startswith("hot") for r in range(2) for c in range(2))
    assert not cls[(6, 6)].startswith("hot")
    assert set(out["hotspot"]) <= set(HOTSPOT_CLASSES)
    assert (out["gi_z"] > 0).loc[out["hotspot"].str.startswith("hot")].all()


def test_low_block_is_cold():
    values = 60.0 - corner_block_values()  # the corner block becomes the quiet one
    out = getis_ord(grid(values=values), "cases", seed=1, fdr=False)
    cls = out.set_index(["row", "col"])["hotspot"]
    assert cls[(0, 0)].startswith("cold")
    assert cls[(1, 1)].startswith("cold")


def test_uniform_values_have_no_hotspots():
    out = getis_ord(grid(values=np.full(49, 7.0)), "cases")
    assert (out["hotspot"] == "ns").all()


def test_random_values_fdr_never_more_significant_than_raw():
    rng = np.random.default_rng(11)
    units = grid(values=rng.poisson(10, 49).astype(float))
    raw = getis_ord(units, "cases", fdr=False, seed=3)
    fdr = getis_ord(units, "cases", fdr=True, seed=3)
    assert np.array_equal(raw["gi_p"], fdr["gi_p"])
    assert (fdr["hotspot"] != "ns").sum() <= (raw["hotspot"] != "ns").sum()
    # Everything FDR keeps, the raw test keeps too.
    kept = fdr["hotspot"] != "ns"
    assert (raw.loc[kept, "hotspot"] != "ns").all()


def test_seed_makes_results_repeatable():
    units = grid(values=corner_block_values())
    a = getis_ord(units, "cases", seed=5)
    b = getis_ord(units, "cases", seed=5)
    assert np.array_equal(a["gi_p"], b["gi_p"])
    assert list(a["hotspot"]) == list(b["hotspot"])


def test_bh_threshold_by_hand():
    # m=5, alpha=0.05: bounds 0.01 0.02 0.03 0.04 0.05; p_(2)=0.008 is the last under its bound.
    assert bh_threshold([0.6, 0.041, 0.001, 0.039, 0.008], alpha=0.05) == 0.008
    # Equal to the bound counts (<=): 0.01 = 1 * 0.05 / 5.
    assert bh_threshold([0.01, 0.9, 0.9, 0.9, 0.9], alpha=0.05) == 0.01
    assert bh_threshold([0.5, 0.9], alpha=0.05) == 0.0
    assert bh_threshold([np.nan, 0.001], alpha=0.05) == 0.001


def test_island_gets_its_nearest_neighbour():
    units = grid(3)
    island = gpd.GeoDataFrame(
        {"row": [9], "col": [9]}, geometry=[shapely.box(111.2, 27.2, 111.21, 27.21)], crs=units.crs
    )
    units = gpd.GeoDataFrame(
        np.concatenate([units.to_numpy(), island.to_numpy()]), columns=units.columns, crs=units.crs
    ).set_geometry("geometry")
    w = spatial_weights(units, kind="queen")
    assert w.islands == []
    assert w.neighbors[9] == [8]  # the north-east corner cell is nearest
    assert 9 in w.neighbors[8]
    units["cases"] = [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    out = getis_ord(units, "cases", permutations=99)
    assert out["gi_z"].notna().all()


def test_queen_counts_corners_rook_does_not():
    units = grid(3)
    assert sorted(spatial_weights(units, kind="queen").neighbors[4]) == [0, 1, 2, 3, 5, 6, 7, 8]
    assert sorted(spatial_weights(units, kind="rook").neighbors[4]) == [1, 3, 5, 7]
    assert len(spatial_weights(units, kind="knn", k=3).neighbors[0]) == 3


def test_contiguity_is_the_same_in_a_projected_crs():
    units = grid(3)
    a = spatial_weights(units, kind="queen").neighbors
    b = spatial_weights(units.to_crs("EPSG:4546"), kind="queen").neighbors
    assert {i: sorted(v) for i, v in a.items()} == {i: sorted(v) for i, v in b.items()}


def test_ready_weights_are_used_and_checked():
    units = grid(3, values=np.arange(9, dtype=float))
    chain = W(
        {i: [j for j in (i - 1, i + 1) if 0 <= j < 9] for i in range(9)}, silence_warnings=True
    )
    out = getis_ord(units, "cases", weights=chain, permutations=99)
    assert len(out) == 9
    with pytest.raises(ValueError, match="weights cover"):
        getis_ord(grid(7, values=np.arange(49, dtype=float)), "cases", weights=chain)


def test_missing_values_are_refused():
    with pytest.raises(ValueError, match="missing"):
        getis_ord(grid(3, values=[1.0, np.nan, 3, 4, 5, 6, 7, 8, 9]), "cases")

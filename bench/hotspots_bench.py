"""Benchmark the hotspot-map pipeline at Shaoyang scale against plain geopandas/folium anchors.

Synthetic stand-in: 5,903 Voronoi villages over 110.5-111.9 E, 26.2-27.6 N and 230,000 case
points (a diffuse background plus a few seeded hot clusters).  Prints, each beside its anchor:

- Gi* (999 permutations, FDR) on the villages, against the 1 s target;
- H3 binning of the 230k points, against a geopandas ``sjoin`` of the same points to the same
  hexagons;
- HTML size and build time of the rate choropleth, against ``folium.Choropleth``;
- how well the binned heatmap keeps the raw-point pattern (Pearson r on a 0.01 deg grid).

Run: ``.venv/bin/python bench/hotspots_bench.py [--seed 20130601] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.density import (  # noqa: E402
    Grid,
    hex_bins,
    hex_counts,
    pattern_agreement,
    rates_per_thousand,
    suppress_small,
)
from geo.hotspots import getis_ord, spatial_weights  # noqa: E402
from geo.layers.hotspots import heatmap_layer, rates_choropleth_layer  # noqa: E402

BOX = (110.5, 26.2, 111.9, 27.6)
N_VILLAGES, N_CASES = 5_903, 230_000
# (lon, lat, spread in degrees, share of cases): a city district and a few hot townships.
CLUSTERS = [
    (111.47, 27.24, 0.03, 0.18),
    (111.75, 27.25, 0.02, 0.06),
    (110.95, 26.75, 0.025, 0.05),
    (111.10, 27.45, 0.02, 0.04),
]


def villages(rng: np.random.Generator) -> gpd.GeoDataFrame:
    seeds = shapely.points(
        rng.uniform(BOX[0], BOX[2], N_VILLAGES), rng.uniform(BOX[1], BOX[3], N_VILLAGES)
    )
    box = shapely.box(*BOX)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box))
    cells = shapely.intersection(cells, box)
    households = rng.gamma(4.0, 100.0, len(cells)).round().astype(int)
    households[rng.choice(len(cells), 5, replace=False)] = 0  # new communities, no register yet
    return gpd.GeoDataFrame(
        {"name": [f"村{i:04d}" for i in range(len(cells))], "households": households},
        geometry=cells,
        crs="EPSG:4326",
    )


def cases(rng: np.random.Generator) -> gpd.GeoDataFrame:
    lon_parts, lat_parts = [], []
    clustered = 0
    for lon, lat, spread, share in CLUSTERS:
        n = int(N_CASES * share)
        lon_parts.append(rng.normal(lon, spread, n))
        lat_parts.append(rng.normal(lat, spread, n))
        clustered += n
    n_bg = N_CASES - clustered
    lon_parts.append(rng.uniform(BOX[0], BOX[2], n_bg))
    lat_parts.append(rng.uniform(BOX[1], BOX[3], n_bg))
    lon, lat = np.concatenate(lon_parts), np.concatenate(lat_parts)
    inside = (lon > BOX[0]) & (lon < BOX[2]) & (lat > BOX[1]) & (lat < BOX[3])
    lon, lat = lon[inside], lat[inside]
    months = pd.period_range("2012-01", "2013-12", freq="M").astype(str).to_numpy()
    return gpd.GeoDataFrame(
        {"month": rng.choice(months, lon.size)},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def line(label: str, ours: float, anchor: float, unit: str, *, anchor_label: str) -> None:
    print(
        f"{label:<34} {ours:10.3f} {unit:<3} | {anchor_label:<28} {anchor:10.3f} {unit:<3} | ratio {anchor / ours:6.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20130601)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    units = villages(rng)
    points = cases(rng)
    joined = gpd.sjoin(points, units[["geometry"]], predicate="within", how="inner")
    units["count"] = joined.groupby("index_right").size().reindex(units.index, fill_value=0)
    units["rate"] = rates_per_thousand(units["count"], units["households"])
    print(
        f"{len(units):,} villages, {len(points):,} cases, seed {args.seed}, median of {args.repeat}"
    )

    # --- Gi* -----------------------------------------------------------------------------
    t_w, w = timed(lambda: spatial_weights(units, kind="queen"), args.repeat)
    t_gi, gi = timed(
        lambda: getis_ord(units, "count", permutations=999, fdr=True, weights=w), args.repeat
    )
    t_all, _ = timed(lambda: getis_ord(units, "count", permutations=999, fdr=True), args.repeat)
    line("Gi* 999 perm + FDR (weights ready)", t_gi, 1.0, "s", anchor_label="target")
    line("Gi* incl. Queen weights", t_all, 1.0, "s", anchor_label="target")
    print(f"{'  Queen weights alone':<34} {t_w:10.3f} s")
    classes = (
        gi["hotspot"]
        .value_counts()
        .reindex(["hot99", "hot95", "hot90", "ns", "cold90", "cold95", "cold99"], fill_value=0)
    )
    print("  classes: " + ", ".join(f"{k} {v}" for k, v in classes.items()))
    raw = getis_ord(units, "count", permutations=999, fdr=False, weights=w)
    print(
        f"  significant units: raw p {int((raw['hotspot'] != 'ns').sum())}, FDR {int((gi['hotspot'] != 'ns').sum())}"
    )

    t0 = time.perf_counter()
    fine = getis_ord(units, "count", permutations=9_999, fdr=True, weights=w)
    t_fine = time.perf_counter() - t0
    fine_classes = fine["hotspot"].value_counts()
    print(
        f"  9,999 permutations + FDR: {t_fine:.2f} s; "
        + ", ".join(f"{k} {v}" for k, v in fine_classes.items())
    )

    # --- H3 binning ------------------------------------------------------------------------
    lon = points.geometry.x.to_numpy()
    lat = points.geometry.y.to_numpy()
    for res in (7, 8):
        t_fast, counts = timed(lambda res=res: hex_counts(lon, lat, resolution=res), args.repeat)
        t_bins, bins = timed(lambda res=res: hex_bins(points, resolution=res), args.repeat)
        hexes = bins[["h3", "geometry"]]

        def anchor(hexes: gpd.GeoDataFrame = hexes) -> pd.Series:
            j = gpd.sjoin(points[["geometry"]], hexes, predicate="within", how="inner")
            return j.groupby("h3").size()

        t_sjoin, sj = timed(anchor, args.repeat)
        same = sj.reindex(counts.index, fill_value=0)
        agree = float((same == counts).mean())
        line(
            f"hex_counts res {res} ({len(counts):,} cells)",
            t_fast,
            t_sjoin,
            "s",
            anchor_label="sjoin to same hexes",
        )
        line(
            f"hex_bins res {res} (with polygons)",
            t_bins,
            t_sjoin,
            "s",
            anchor_label="sjoin to same hexes",
        )
        print(f"  cells with the same count as sjoin: {agree:.4%}")

    # --- Heatmap pattern and size -------------------------------------------------------------
    bins7 = hex_bins(points, resolution=7)
    kept = suppress_small(bins7)
    grid = Grid.around(BOX, cell_deg=0.01)
    r = pattern_agreement(points, kept, grid=grid, smooth_cells=2.0)
    print(
        f"heatmap res 7: {len(kept):,} of {len(bins7):,} cells kept (>=5 cases); pattern r = {r:.4f}"
    )
    m = folium.Map(tiles=None)
    heatmap_layer(m, bins7)
    heat_size = len(m.get_root().render().encode())
    m_raw = folium.Map(tiles=None)
    folium.plugins.HeatMap(np.round(np.column_stack([lat, lon]), 5).tolist()).add_to(m_raw)
    raw_size = len(m_raw.get_root().render().encode())
    line(
        "HeatMap HTML, H3 res 7",
        heat_size / 1e6,
        raw_size / 1e6,
        "MB",
        anchor_label="raw points HeatMap",
    )

    # --- Choropleth size ---------------------------------------------------------------------
    def ours() -> int:
        m = folium.Map(tiles=None)
        rates_choropleth_layer(m, units)
        return len(m.get_root().render().encode())

    def plain() -> int:
        m = folium.Map(tiles=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            folium.Choropleth(
                geo_data=units[["name", "geometry"]],
                data=units[["name", "rate"]].dropna(),
                columns=["name", "rate"],
                key_on="feature.properties.name",
                fill_color="YlOrRd",
                bins=5,
                nan_fill_color="#bdbdbd",
            ).add_to(m)
        return len(m.get_root().render().encode())

    t_ours, size_ours = timed(ours, 1)
    t_plain, size_plain = timed(plain, 1)
    line(
        "choropleth HTML (5,903 villages)",
        size_ours / 1e6,
        size_plain / 1e6,
        "MB",
        anchor_label="folium.Choropleth",
    )
    line("choropleth build + render", t_ours, t_plain, "s", anchor_label="folium.Choropleth")
    kept_units = int((units["count"] >= 5).sum())
    print(f"  villages drawn after suppression: {kept_units:,} of {len(units):,}")


if __name__ == "__main__":
    main()

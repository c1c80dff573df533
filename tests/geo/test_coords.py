"""Tests for the WGS-84 / GCJ-02 / BD-09 conversions in geo.coords."""

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon

from geo import coords

GEOD = Geod(ellps="WGS84")

# Shaoyang's rough centroid and a scatter of points across the city's extent.
SHAOYANG = (111.47, 27.24)
RNG = np.random.default_rng(20231)
GRID_LON = RNG.uniform(109.8, 112.1, 500)
GRID_LAT = RNG.uniform(25.6, 27.7, 500)


def _metres(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = np.broadcast_arrays(lon1, lat1, lon2, lat2)
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist)


def test_wgs_gcj_round_trip_is_sub_decimetre():
    gcj_lon, gcj_lat = coords.wgs84_to_gcj02(GRID_LON, GRID_LAT)
    back_lon, back_lat = coords.gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert _metres(GRID_LON, GRID_LAT, back_lon, back_lat).max() < 0.1
    # The inverse must actually undo a real shift, not return its input.
    assert _metres(gcj_lon, gcj_lat, back_lon, back_lat).min() > 100


def test_gcj_to_wgs_converges_below_1e7_degrees():
    wgs = coords.gcj02_to_wgs84(GRID_LON, GRID_LAT)
    again_lon, again_lat = coords.wgs84_to_gcj02(*wgs)
    assert np.abs(again_lon - GRID_LON).max() < 1e-7
    assert np.abs(again_lat - GRID_LAT).max() < 1e-7


def test_offset_at_shaoyang_is_a_few_hundred_metres():
    gcj_lon, gcj_lat = coords.wgs84_to_gcj02(*SHAOYANG)
    dist = _metres(*SHAOYANG, gcj_lon, gcj_lat)
    assert 200 < float(dist) < 800


def test_matches_an_independent_implementation():
    # Reference pair produced by the separate eviltransform 0.1.1 package (not used at run time);
    # it guards against sign or radius mix-ups that a round trip alone cannot see.
    ref_lon, ref_lat = 111.475558247, 27.236749625
    gcj_lon, gcj_lat = coords.wgs84_to_gcj02(*SHAOYANG)
    # Tight (eviltransform differs by 1.1 cm here): a coefficient of the GCJ-02 series off by
    # one (20 -> 21) moves points by decimetres, which a 0.5 m tolerance let through (mutmut).
    assert float(_metres(ref_lon, ref_lat, gcj_lon, gcj_lat)) < 0.05


# WGS-84 -> GCJ-02 at Tiananmen (116.404, 39.915), from the same public fixture as the BD-09
# pair below (github.com/wandergis/coordtransform, README and test/app.js:
# "wgs84togcj02: [ 116.41024449916938, 39.91640428150164 ]"): a second point, 1,300 km away,
# where the series' other terms weigh differently.
GCJ02_REFERENCE = {"wgs84": (116.404, 39.915), "gcj02": (116.41024449916938, 39.91640428150164)}


def test_gcj02_matches_a_second_published_reference_point():
    lon, lat = coords.wgs84_to_gcj02(*GCJ02_REFERENCE["wgs84"])
    assert float(_metres(*GCJ02_REFERENCE["gcj02"], lon, lat)) < 0.001
    back_lon, back_lat = coords.gcj02_to_wgs84(*GCJ02_REFERENCE["gcj02"])
    assert float(_metres(*GCJ02_REFERENCE["wgs84"], back_lon, back_lat)) < 0.001


def test_offset_direction_is_stable_across_the_city():
    gcj_lon, gcj_lat = coords.wgs84_to_gcj02(GRID_LON, GRID_LAT)
    azimuth, _, dist = GEOD.inv(GRID_LON, GRID_LAT, gcj_lon, gcj_lat)
    assert dist.min() > 200
    assert dist.max() < 800
    # The shift is a smooth field: within one city it points the same way to within a few tens of
    # degrees; a sign error in either component would swing it by 90-180 degrees.
    centre_az, _, _ = GEOD.inv(*SHAOYANG, *coords.wgs84_to_gcj02(*SHAOYANG))
    spread = (np.asarray(azimuth) - float(centre_az) + 180.0) % 360.0 - 180.0
    assert np.abs(spread).max() < 45


def test_scalar_input_gives_zero_d_arrays():
    lon, lat = coords.wgs84_to_gcj02(*SHAOYANG)
    assert np.shape(lon) == ()
    assert np.shape(lat) == ()
    assert float(lon) != SHAOYANG[0]


@pytest.mark.parametrize(
    "func",
    [
        coords.wgs84_to_gcj02,
        coords.gcj02_to_wgs84,
    ],
)
def test_points_outside_china_pass_through(func):
    # Paris, New York, Sydney, Siberia, and one past each edge alone: Tokyo (east), Jakarta
    # (south of China's box, within its longitudes).
    lon = np.array([2.35, -74.0, 151.2, 100.0, 139.69, 106.85])
    lat = np.array([48.86, 40.7, -33.9, 60.0, 35.69, -6.2])
    out_lon, out_lat = func(lon, lat)
    np.testing.assert_array_equal(out_lon, lon)
    np.testing.assert_array_equal(out_lat, lat)


def test_inside_and_outside_points_mixed():
    lon = np.array([SHAOYANG[0], 2.35])
    lat = np.array([SHAOYANG[1], 48.86])
    out_lon, out_lat = coords.wgs84_to_gcj02(lon, lat)
    assert out_lon[0] != lon[0]
    assert out_lon[1] == lon[1]
    assert out_lat[1] == lat[1]


@pytest.mark.parametrize(
    "func",
    [
        coords.wgs84_to_gcj02,
        coords.gcj02_to_wgs84,
        coords.gcj02_to_bd09,
        coords.bd09_to_gcj02,
        coords.wgs84_to_bd09,
        coords.bd09_to_wgs84,
    ],
)
def test_nan_in_nan_out_leaves_neighbours_alone(func):
    lon = np.array([np.nan, SHAOYANG[0], 111.0])
    lat = np.array([27.0, SHAOYANG[1], np.nan])
    out_lon, out_lat = func(lon, lat)
    assert np.isnan(out_lon[0])
    assert np.isnan(out_lat[2])
    assert np.isfinite(out_lon[1])
    assert np.isfinite(out_lat[1])
    # The finite point must come out as it does when converted alone.
    alone_lon, alone_lat = func(*SHAOYANG)
    assert out_lon[1] == pytest.approx(float(alone_lon), abs=1e-9)
    assert out_lat[1] == pytest.approx(float(alone_lat), abs=1e-9)


def test_bd09_round_trip():
    bd_lon, bd_lat = coords.wgs84_to_bd09(GRID_LON, GRID_LAT)
    back_lon, back_lat = coords.bd09_to_wgs84(bd_lon, bd_lat)
    assert _metres(GRID_LON, GRID_LAT, back_lon, back_lat).max() < 0.1
    gcj_lon, gcj_lat = coords.wgs84_to_gcj02(GRID_LON, GRID_LAT)
    # BD-09 adds its own shift of several hundred metres on top of GCJ-02.
    assert _metres(gcj_lon, gcj_lat, bd_lon, bd_lat).min() > 300
    g_lon, g_lat = coords.bd09_to_gcj02(bd_lon, bd_lat)
    assert _metres(gcj_lon, gcj_lat, g_lon, g_lat).max() < 0.01


def test_bd09_shift_is_roughly_the_published_constants():
    # Baidu adds about 0.0065 E and 0.006 N to GCJ-02 near the equator-side of its rotation.
    lon, lat = coords.gcj02_to_bd09(*SHAOYANG)
    assert float(lon) - SHAOYANG[0] == pytest.approx(0.0065, abs=0.002)
    assert float(lat) - SHAOYANG[1] == pytest.approx(0.006, abs=0.002)


# Published GCJ-02 -> BD-09 pair for Tiananmen (116.404, 39.915), the example of Baidu's own
# API pages, as quoted in the README and test/app.js of github.com/wandergis/coordtransform
# ("gcj02tobd09: [ 116.41036949371029, 39.92133699351021 ]") and repeated by hutool's
# CoordinateUtilTest.  An independent reference: a wrong offset (0.0060 for 0.0065) is ~43 m.
BD09_REFERENCE = {"gcj02": (116.404, 39.915), "bd09": (116.41036949371029, 39.92133699351021)}


def test_bd09_matches_the_published_reference_pair():
    lon, lat = coords.gcj02_to_bd09(*BD09_REFERENCE["gcj02"])
    assert float(_metres(*BD09_REFERENCE["bd09"], lon, lat)) < 0.01
    back_lon, back_lat = coords.bd09_to_gcj02(*BD09_REFERENCE["bd09"])
    assert float(_metres(*BD09_REFERENCE["gcj02"], back_lon, back_lat)) < 0.01


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wgs84", "wgs84"), ("WGS-84", "wgs84"), ("wgs 84", "wgs84"), ("EPSG:4326", "wgs84"),
        ("4326", "wgs84"), ("CGCS2000", "cgcs2000"), ("epsg:4490", "cgcs2000"),
        ("GCJ-02", "gcj02"), ("gcj_02", "gcj02"), ("gcj", "gcj02"), ("Mars", "gcj02"),
        ("BD-09", "bd09"), ("bd09ll", "bd09"), ("Baidu", "bd09"), ("bd", "bd09"),
    ],
)  # fmt: skip
def test_canonical_source_is_the_one_alias_table(name, expected):
    assert coords.canonical_source(name) == expected


def test_canonical_source_refuses_unknown_names():
    with pytest.raises(ValueError, match="bd-10") as refused:
        coords.canonical_source("bd-10")
    # The message lists what is accepted: the four names, then the aliases (not the names).
    accepted, aliases = str(refused.value).split("accepted: ")[1].split(" (aliases: ")
    assert accepted == "wgs84, cgcs2000, gcj02, bd09"
    assert {"baidu", "mars", "bd09ll"} <= set(aliases.rstrip(")").split(", "))
    assert "wgs84" not in aliases.split(", ")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("wgs84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("CGCS2000", "wgs84"),
        ("epsg:4490", "wgs84"),
        ("GCJ-02", "gcj02"),
        ("gcj02", "gcj02"),
        ("BD-09", "bd09"),
        ("bd09", "bd09"),
    ],
)
def test_to_wgs84_aliases(source, expected):
    wgs_lon, wgs_lat = SHAOYANG
    given = {
        "wgs84": (wgs_lon, wgs_lat),
        "gcj02": coords.wgs84_to_gcj02(wgs_lon, wgs_lat),
        "bd09": coords.wgs84_to_bd09(wgs_lon, wgs_lat),
    }[expected]
    lon, lat = coords.to_wgs84(*given, source=source)
    assert isinstance(lon, np.ndarray)
    assert float(_metres(wgs_lon, wgs_lat, lon, lat)) < 0.1


def test_to_wgs84_returns_arrays_for_lists():
    lon, lat = coords.to_wgs84([111.0, 112.0], [27.0, 27.5], source="gcj02")
    assert isinstance(lon, np.ndarray)
    assert lon.shape == (2,)
    assert lat.shape == (2,)


def test_to_wgs84_unknown_source_names_accepted_ones():
    with pytest.raises(ValueError, match="gcj-03") as info:
        coords.to_wgs84(111.0, 27.0, source="gcj-03")
    for name in ("wgs84", "cgcs2000", "gcj02", "bd09"):
        assert name in str(info.value)


def test_transform_geometry_converts_every_vertex():
    ring = [(111.0, 27.0), (111.1, 27.0), (111.1, 27.1), (111.0, 27.1)]
    hole = [(111.02, 27.02), (111.04, 27.02), (111.04, 27.04)]
    geom = MultiPolygon(
        [Polygon(ring, [hole]), Polygon([(110.0, 26.0), (110.1, 26.0), (110.0, 26.1)])]
    )
    out = coords.transform_geometry(geom, coords.wgs84_to_gcj02)
    assert out.geom_type == "MultiPolygon"
    before = shapely.get_coordinates(geom)
    after = shapely.get_coordinates(out)
    assert after.shape == before.shape
    exp_lon, exp_lat = coords.wgs84_to_gcj02(before[:, 0], before[:, 1])
    np.testing.assert_allclose(after[:, 0], exp_lon)
    np.testing.assert_allclose(after[:, 1], exp_lat)
    assert len(out.geoms[0].interiors) == 1


def test_transform_geometry_round_trip_on_a_point():
    pt = Point(SHAOYANG)
    back = coords.transform_geometry(
        coords.transform_geometry(pt, coords.wgs84_to_gcj02), coords.gcj02_to_wgs84
    )
    assert float(_metres(pt.x, pt.y, back.x, back.y)) < 0.1

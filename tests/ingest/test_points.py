"""ingest.points: the one policy for coordinate columns (parse, un-swap, convert, range)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from ingest.points import near_shaoyang, read_points


def _s(*values):
    return pd.Series(list(values), dtype=object)


def test_each_system_is_converted_and_named_canonically():
    glon, glat = wgs84_to_gcj02(111.0, 27.0)
    blon, blat = wgs84_to_bd09(111.0, 27.0)
    pts = read_points(
        _s("111.0", f"{float(glon):.9f}", f"{float(blon):.9f}", "111.0"),
        _s("27.0", f"{float(glat):.9f}", f"{float(blat):.9f}", "27.0"),
        _s("EPSG:4326", "mars", "baidu", None),
        default_crs="CGCS2000",
    )
    assert pts.source.tolist() == ["wgs84", "gcj02", "bd09", "cgcs2000"]
    assert np.allclose(pts.lon, 111.0, atol=1e-7)
    assert np.allclose(pts.lat, 27.0, atol=1e-7)
    assert pts.ok.all()
    assert pts.source_lon[1] == pytest.approx(float(glon))


def test_swapped_pairs_are_put_right_and_marked():
    pts = read_points(_s("27.1", "111.2"), _s("111.2", "27.1"), _s(None, None), default_crs="wgs84")
    assert pts.swapped.tolist() == [True, False]
    assert pts.lon.tolist() == [111.2, 111.2]
    assert pts.lat.tolist() == [27.1, 27.1]
    assert pts.source_lon.tolist() == [111.2, 111.2]
    assert pts.problem.tolist() == [None, None]


def test_bad_pairs_get_a_problem_and_no_point():
    pts = read_points(
        _s("abc", "111.0", None, "0", "111.0", "111.0", None),
        _s("27.0", None, "27.0", "0", "27.0", "27.0", None),
        _s(None, None, None, None, "西安80", "gcj02", None),
        default_crs="wgs84",
    )
    assert pts.problem.tolist() == [
        "bad_coordinates", "bad_coordinates", "bad_coordinates", "out_of_range", "bad_crs",
        None, None,
    ]  # fmt: skip
    assert pts.detail[0] == "abc, 27.0"
    assert pts.detail[1] == "111.0, "
    assert pts.detail[2] == ", 27.0"
    assert pts.detail[4] == "西安80"
    assert pts.given.tolist() == [False, False, False, True, True, True, False]
    assert np.isnan(pts.lon[:5]).all()
    assert pts.source[:5].tolist() == [None] * 5
    assert pts.ok.tolist() == [False] * 5 + [True, False]


def test_text_in_the_latitude_column_is_a_bad_pair_not_an_error():
    pts = read_points(_s("111.2"), _s("北纬27.1"), _s(None), default_crs="wgs84")
    assert pts.problem.tolist() == ["bad_coordinates"]
    assert pts.detail.tolist() == ["111.2, 北纬27.1"]


def test_source_pair_is_the_pair_as_given_after_unswapping():
    """``source_lon``/``source_lat`` are stored beside the WGS-84 point: the pair as written
    (in its own system, swapped back), NaN where none was given."""
    glon, glat = wgs84_to_gcj02(111.2, 27.1)
    pts = read_points(
        _s("111.2", "27.1", None, f"{float(glon):.9f}"),
        _s("27.1", "111.2", None, f"{float(glat):.9f}"),
        _s(None, None, None, "gcj02"),
        default_crs="wgs84",
    )
    assert pts.source_lon[:2].tolist() == [111.2, 111.2]
    assert pts.source_lat[:2].tolist() == [27.1, 27.1]
    assert np.isnan(pts.source_lon[2])
    assert np.isnan(pts.source_lat[2])
    assert pts.source_lat[3] == pytest.approx(float(glat), abs=1e-9)
    assert pts.lat[3] == pytest.approx(27.1, abs=1e-7)


def test_range_is_judged_after_conversion_and_edges_count_as_near():
    assert near_shaoyang(np.array([109.3, 112.6, 109.29]), np.array([25.1, 28.1, 27.0])).tolist() == [
        True, True, False,
    ]  # fmt: skip
    assert not near_shaoyang(np.array([111.0]), np.array([28.11]))[0]
    assert not near_shaoyang(np.array([np.nan]), np.array([27.0]))[0]


def test_an_unknown_default_system_is_refused():
    with pytest.raises(ValueError, match="wgs-85"):
        read_points(_s("111"), _s("27"), _s(None), default_crs="wgs-85")

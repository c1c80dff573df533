"""geo.roads on a 6-node road graph whose distances are worked out by hand.

Nodes A(0,0), B(1000,0), C(2000,0), D(0,3000), E(2000,500), F(2000,1500) and a bend at
(2000,3000).  Roads: A-B primary 1000 m, B-C village 1000 m, A-D tertiary 3000 m, C-E track
500 m, E-F primary 1000 m, D-bend-F county 3500 m.  The station sits at A.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from geo.roads import components, nearest_along_roads, pairs_along_roads, road_graph

A, B, C, D = (0, 0), (1000, 0), (2000, 0), (0, 3000)
E = (2000, 500)
F = (2000, 1500)


def _roads(extra=()):
    lines = [
        (LineString([A, B]), "primary"),  # 1000 m at 50 km/h = 1.2 min
        (LineString([B, C]), "village"),  # 1000 m at 20 km/h = 3 min
        (LineString([A, D]), "tertiary"),  # 3000 m at 30 km/h = 6 min
        (LineString([C, E]), "track"),  # 500 m at 10 km/h = 3 min
        (LineString([E, F]), "primary"),  # 1000 m at 50 km/h = 1.2 min
        (LineString([D, (2000, 3000), F]), "county"),  # 2000 + 1500 m at 30 km/h = 7 min
        *extra,
    ]
    return gpd.GeoDataFrame(
        {"class": [c for _, c in lines]}, geometry=[g for g, _ in lines], crs="EPSG:4546"
    )


def test_six_node_distances_and_minutes():
    graph = road_graph(_roads())
    assert len(graph.xy) == 7  # A B C D E F and the bend at (2000, 3000)
    got = nearest_along_roads(graph, [A], [B, C, E, F, D])
    assert got["road_m"].tolist() == pytest.approx([1000, 2000, 2500, 3500, 3000])
    # F: via C and E = 1.2 + 3 + 3 + 1.2 = 8.4 min; via D = 6 + 7 = 13 min
    assert got["road_minutes"].tolist() == pytest.approx([1.2, 4.2, 7.2, 8.4, 6.0])


def test_nearest_source_and_access_stretches():
    graph = road_graph(_roads())
    # two stations: at A and 300 m off the road beside F
    got = nearest_along_roads(graph, [A, (2300, 1500)], [(2000, 1400), (1000, 50)])
    assert got["nearest_by_distance"].tolist() == [1, 0]
    assert got["road_m"].tolist() == pytest.approx([300 + 0 + 100, 1000 + 50])
    # the 300 m walk at 4 km/h is 4.5 minutes
    assert got["road_minutes"].iloc[0] == pytest.approx(4.5 + 100 / (4000 / 60))


def test_distance_to_a_given_station_not_the_nearest():
    graph = road_graph(_roads())
    stations = [A, (2300, 1500)]  # the second 300 m off the road beside F
    # (2000, 1400) joins at F, 100 m off; its own station is A although the other is nearer
    # (1000, 50) joins at B, 50 m off; its own station is the one beside F; the third has none
    got = pairs_along_roads(graph, stations, [(2000, 1400), (1000, 50), B], [0, 1, -1])
    assert got["road_m"].iloc[:2].tolist() == pytest.approx([3500 + 100, 300 + 2500 + 50])
    walk = 4000 / 60  # metres a minute on foot
    # A to F fastest via C and E (8.4 min); F to B via E and C (1.2 + 3 + 3 min)
    assert got["road_minutes"].iloc[:2].tolist() == pytest.approx(
        [8.4 + 100 / walk, 7.2 + 350 / walk]
    )
    assert np.isnan(got["road_m"].iloc[2])
    assert np.isnan(got["road_minutes"].iloc[2])
    # reusing the nearest-station answer where the own station is the nearest changes nothing
    targets = [(2000, 1400), (1000, 50), B, (100, 0), (2200, 1500)]
    nearest = nearest_along_roads(graph, stations, targets)
    alone = pairs_along_roads(graph, stations, targets, [0, 1, -1, 0, 1])
    reused = pairs_along_roads(graph, stations, targets, [0, 1, -1, 0, 1], nearest=nearest)
    pd.testing.assert_frame_equal(alone, reused)


def test_distance_to_a_given_station_beyond_the_first_search_bound():
    # G and H are 200 m apart but the only road between them runs 4 km south and back
    g, h = (3000, 0), (3200, 0)
    detour = (LineString([g, (3000, -4000), (3200, -4000), h]), "village")
    graph = road_graph(_roads([(LineString([C, g]), "village"), detour]))
    got = pairs_along_roads(graph, [A, g], [h], [1])
    assert got["road_m"].iloc[0] == pytest.approx(8200)  # over the 4 x 200 + 3000 m bound
    assert got["road_minutes"].iloc[0] == pytest.approx(8200 / (20000 / 60))


def test_a_disconnected_part_is_found_and_unreachable():
    island = (LineString([(9000, 9000), (9500, 9000)]), "village")
    graph = road_graph(_roads([island]))
    labels = components(graph)
    assert len(np.unique(labels)) == 2
    got = nearest_along_roads(graph, [A], [(9100, 9000)])
    assert np.isnan(got["road_m"].iloc[0])
    own = pairs_along_roads(graph, [A], [(9100, 9000)], [0])
    assert np.isnan(own["road_m"].iloc[0])


def test_bad_roads():
    lines = _roads()
    with pytest.raises(ValueError, match="metric coordinate system"):
        road_graph(lines.to_crs(4326))
    with pytest.raises(ValueError, match="no speed for road class"):
        road_graph(lines.assign(**{"class": "ferry"}))
    assert road_graph(lines.assign(**{"class": "ferry"}), speeds={"ferry": 15}).xy.shape == (7, 2)
    with pytest.raises(ValueError, match="no line features"):
        road_graph(lines.iloc[:0])

"""demo.roads: the synthetic road network is connected, labelled synthetic and winds."""

from __future__ import annotations

import numpy as np
import shapely

from demo.network import build_network
from demo.roads import SYNTHETIC, network_roads
from geo.roads import components, road_graph


def test_synthetic_roads_join_every_village_and_say_so():
    network = build_network(seed=2013, scale=0.1)
    roads = network_roads(network)
    assert (roads["source"] == SYNTHETIC).all()
    assert "synthetic" in SYNTHETIC
    graph = road_graph(roads)
    assert len(np.unique(components(graph))) == 1
    # every line winds: longer than the straight line between its ends
    ends = shapely.distance(
        shapely.get_point(roads.geometry.to_numpy(), 0),
        shapely.get_point(roads.geometry.to_numpy(), -1),
    )
    assert (roads.length.to_numpy() > ends).all()
    ratio = roads.length.sum() / ends.sum()
    assert 1.02 < ratio < 1.5

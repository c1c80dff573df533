"""Tests for geo.partition: clipped Voronoi partitions of tiny hand-made polygons."""

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from geo import partition

# An L-shaped polygon (area 3) and a comb with deep notches (area 7): both non-convex, so the
# Voronoi cells get clipped in awkward places.
ELL = Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
COMB = Polygon(
    [(0, 0), (5, 0), (5, 3), (4, 3), (4, 1), (3, 1), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)]
)


def _assert_tiles(parent, pieces, n):
    pieces = np.asarray(pieces, dtype=object)
    assert len(pieces) == n
    assert shapely.is_valid(pieces).all()
    assert (shapely.area(pieces) > 0).all()
    assert all(isinstance(p, MultiPolygon) for p in pieces)
    assert shapely.area(pieces).sum() == pytest.approx(parent.area, rel=1e-9)
    union = shapely.union_all(pieces)
    assert union.symmetric_difference(parent).area < 1e-9 * parent.area
    for i in range(n):
        for j in range(i + 1, n):
            assert pieces[i].intersection(pieces[j]).area < 1e-9 * parent.area


@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_partition_polygon_tiles_the_parent(n):
    pieces = partition.partition_polygon(COMB, n, rng=np.random.default_rng(n))
    _assert_tiles(COMB, pieces, n)


def test_partition_is_deterministic_for_a_seed():
    a = partition.partition_polygon(ELL, 9, rng=np.random.default_rng(5))
    b = partition.partition_polygon(ELL, 9, rng=np.random.default_rng(5))
    c = partition.partition_polygon(ELL, 9, rng=np.random.default_rng(6))
    assert all(x.equals_exact(y, 0) for x, y in zip(a, b, strict=True))
    assert not all(x.equals_exact(y, 0) for x, y in zip(a, c, strict=True))


def test_partition_polygons_handles_many_parents_at_once():
    parents = [ELL, box(10, 0, 11, 1), COMB, box(20, 0, 23, 1)]
    counts = [5, 1, 12, 3]
    cells, seeds, index = partition.partition_polygons(
        parents, counts, rng=np.random.default_rng(0)
    )
    assert np.bincount(index).tolist() == counts
    # Each cell holds its own seed and lies in its own parent.
    assert shapely.contains_xy(cells, seeds[:, 0], seeds[:, 1]).all()
    for k, parent in enumerate(parents):
        mine = cells[index == k]
        _assert_tiles(parent, mine, counts[k])
        assert shapely.area(shapely.difference(mine, parent)).max() < 1e-12
    # A parent with one piece gets itself back.
    assert cells[index == 1][0].equals(box(10, 0, 11, 1))


def test_peaked_density_crowds_seeds_near_the_centre():
    square = box(0, 0, 100, 100)
    density = partition.peaked_density([[10, 10]], [8.0], peak=50.0)
    seeds, _ = partition.sample_seeds(
        [square], [400], rng=np.random.default_rng(3), density=density
    )
    near = np.hypot(seeds[:, 0] - 10, seeds[:, 1] - 10) < 20
    # Uniform sampling would put ~3% of seeds within 20 of (10, 10); the bump must raise it a lot.
    assert near.mean() > 0.25
    uniform, _ = partition.sample_seeds([square], [400], rng=np.random.default_rng(3))
    assert (np.hypot(uniform[:, 0] - 10, uniform[:, 1] - 10) < 20).mean() < 0.1


def test_seeds_lie_strictly_inside_a_thin_shape():
    sliver = box(0, 0, 1000, 1)
    seeds, index = partition.sample_seeds([sliver], [30], rng=np.random.default_rng(2))
    assert len(seeds) == 30
    assert (index == 0).all()
    assert shapely.contains_xy(sliver, seeds[:, 0], seeds[:, 1]).all()
    assert len({tuple(s) for s in seeds}) == 30


def test_as_multipolygons_drops_lines_and_points():
    mixed = shapely.GeometryCollection(
        [box(0, 0, 1, 1), Point(5, 5), shapely.LineString([(0, 0), (3, 3)])]
    )
    out = partition.as_multipolygons([mixed, Point(1, 1), box(0, 0, 2, 2)])
    assert out[0].equals(MultiPolygon([box(0, 0, 1, 1)]))
    assert out[1].is_empty
    assert out[2].area == 4


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        partition.partition_polygon(ELL, 0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="positive area"):
        partition.partition_polygon(Polygon(), 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="distinct"):
        partition.voronoi_partition([ELL], np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([0, 0]))


def test_detached_fragments_go_to_a_neighbour():
    # A U-shape: the cell of the seed in the left arm reaches across the notch into the right
    # arm, so clipping leaves it a detached piece there.
    u_shape = Polygon([(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)])
    seeds = np.array([[0.1, 0.2], [1.9, 0.3], [2.6, 0.5], [0.4, 1.2]])
    index = np.zeros(len(seeds), dtype=np.intp)
    raw = partition.voronoi_partition([u_shape], seeds, index, merge_fragments=False)
    merged = partition.voronoi_partition([u_shape], seeds, index)
    assert (shapely.get_num_geometries(raw) > 1).any()
    assert (shapely.get_num_geometries(merged) == 1).all()
    _assert_tiles(u_shape, merged, len(seeds))
    assert shapely.contains_xy(merged, seeds[:, 0], seeds[:, 1]).all()

"""Tests for geo.siting: sparse covering, MCLP against brute force, LSCP, greedy, close pairs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from geo.siting import (
    brute_force_mclp,
    close_station_pairs,
    covered_by,
    covers,
    greedy_mclp,
    lscp,
    mclp,
)


def test_covers_matches_a_dense_distance_check():
    rng = np.random.default_rng(1)
    d, s = rng.uniform(0, 10_000, (300, 2)), rng.uniform(0, 10_000, (40, 2))
    s[0] = d[0]  # a candidate exactly on a demand point still covers it
    dense = np.hypot(d[:, None, 0] - s[None, :, 0], d[:, None, 1] - s[None, :, 1]) <= 1500
    got = covers(d, s, 1500)
    assert sparse.issparse(got)
    assert (got.toarray() == dense).all()
    assert got[0, 0]
    assert (covered_by(d, s, 1500) == dense.any(axis=1)).all()


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_mclp_is_optimal_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10, (40, 2))
    sites = rng.uniform(0, 10, (9, 2))
    w = rng.integers(1, 50, 40)
    cover = covers(demand, sites, 2.5)
    for p in (1, 2, 3):
        result = mclp(w, cover, p)
        assert result.optimal
        assert len(result.chosen) == p
        assert result.covered == pytest.approx(brute_force_mclp(w, cover, p))
        assert result.added.sum() == pytest.approx(result.covered)
        assert list(result.added) == sorted(result.added, reverse=True)


def test_greedy_can_lose_and_mclp_does_not():
    # Site 0 covers the middle (weight 10 + 1 + 1 ...); sites 1 and 2 each cover one side.
    cover = sparse.csr_matrix(
        np.array([[1, 1, 0], [1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
    )
    w = np.array([3, 3, 3, 2, 2])
    greedy = greedy_mclp(w, cover, 2)
    best = mclp(w, cover, 2)
    assert greedy.chosen[0] == 0
    assert greedy.covered == 11
    assert best.covered == 13
    assert sorted(best.chosen.tolist()) == [1, 2]


def test_lscp_is_the_fewest_sites_covering_all_reachable_demand():
    cover = sparse.csr_matrix(
        np.array([[1, 0, 0, 1], [1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=bool)
    )
    result = lscp(np.ones(5), cover)
    assert result.optimal
    assert sorted(result.chosen.tolist()) == [1, 3]
    assert result.covered == 4  # the last row no candidate reaches is left out


def test_bad_site_counts():
    cover = covers([[0, 0]], [[0, 1], [0, 2]], 5)
    with pytest.raises(ValueError, match="between 1 and the 2 candidates"):
        mclp([1], cover, 3)
    with pytest.raises(ValueError, match="got 0"):
        mclp([1], cover, 0)


def test_close_station_pairs():
    pairs = close_station_pairs(
        ["a", "b", "c", "d"], [[0, 0], [600, 800], [5000, 0], [5100, 0]], 1200
    )
    assert pairs.to_dict("records") == [
        {"station_a": "c", "station_b": "d", "distance_m": 100.0},
        {"station_a": "a", "station_b": "b", "distance_m": 1000.0},
    ]
    assert close_station_pairs([], [], 100).empty

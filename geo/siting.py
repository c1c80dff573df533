"""Where a new station helps most: maximal covering (MCLP) and set covering (LSCP) with spopt.

spopt's ``MCLP.from_cost_matrix`` turns a dense demand x candidate matrix into one constraint
per demand point with a term for *every* candidate, zeros included: on 2,000 x 300 that is
600,000 terms for perhaps 20,000 real ones, and building the model is nearly all the time
spent.  Here who-covers-whom is built sparsely (a k-d tree's pairs within the radius), demand
points that no candidate reaches are dropped, and points covered by exactly the same
candidates are merged (their weights added): the same model, a fraction of its size.  The
model is still spopt's (its variables, facility constraint and solve), so the answer and
its proof of optimality come from the same code as the dense build.

Pure: arrays in, arrays out, coordinates in metres.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pulp
from scipy import sparse
from scipy.spatial import cKDTree
from spopt.locate import LSCP, MCLP
from spopt.locate.base import FacilityModelBuilder

__all__ = [
    "SitingResult",
    "brute_force_mclp",
    "close_station_pairs",
    "covered_by",
    "covers",
    "greedy_mclp",
    "lscp",
    "mclp",
]


@dataclass(frozen=True)
class SitingResult:
    """Chosen candidates (in order of what each adds), the demand they reach, the proof."""

    chosen: npt.NDArray[np.intp]
    added: npt.NDArray[np.float64]  # demand each chosen site adds, in the order of ``chosen``
    covered: float  # demand the chosen sites reach together
    optimal: bool  # the solver proved no better choice exists
    status: str
    seconds: float
    rows: int  # demand rows in the model after dropping and merging


def covers(demand_xy: npt.ArrayLike, site_xy: npt.ArrayLike, radius: float) -> sparse.csr_matrix:
    """Sparse boolean matrix: demand ``i`` is within ``radius`` of site ``j``.

    >>> covers([[0, 0], [10, 0]], [[1, 0], [50, 0]], 2.0).toarray().astype(int).tolist()
    [[1, 0], [0, 0]]
    """
    d = np.asarray(demand_xy, dtype=np.float64).reshape(-1, 2)
    s = np.asarray(site_xy, dtype=np.float64).reshape(-1, 2)
    if len(d) == 0 or len(s) == 0:
        return sparse.csr_matrix((len(d), len(s)), dtype=bool)
    pairs = cKDTree(d).sparse_distance_matrix(cKDTree(s), radius, output_type="coo_matrix")
    # sparse_distance_matrix leaves out pairs at distance 0 (a site on a demand point)
    hit = sparse.coo_matrix((np.ones(pairs.nnz, dtype=bool), (pairs.row, pairs.col)), pairs.shape)
    same = cKDTree(s).query(d, k=1, distance_upper_bound=1e-9)
    at = np.flatnonzero(np.isfinite(same[0]))
    zero = sparse.coo_matrix((np.ones(len(at), dtype=bool), (at, same[1][at])), shape=pairs.shape)
    return (hit.tocsr() + zero.tocsr()).astype(bool).tocsr()


def covered_by(demand_xy: npt.ArrayLike, points_xy: npt.ArrayLike, radius: float) -> np.ndarray:
    """Which demand points lie within ``radius`` of any of ``points_xy`` (e.g. stations)."""
    d = np.asarray(demand_xy, dtype=np.float64).reshape(-1, 2)
    p = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    if len(p) == 0:
        return np.zeros(len(d), dtype=bool)
    dist, _ = cKDTree(p).query(d, k=1, distance_upper_bound=radius * (1 + 1e-12))
    within: np.ndarray = np.isfinite(dist)
    return within


def _compress(
    weights: npt.ArrayLike, cover: sparse.csr_matrix
) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Drop unreachable demand and merge rows with the same covering set (weights added)."""
    w = np.asarray(weights, dtype=np.float64)
    cover = sparse.csr_matrix(cover, dtype=bool)
    cover.sort_indices()
    merged: dict[bytes, int] = {}
    rows: list[int] = []
    sums: list[float] = []
    indptr, indices = cover.indptr, cover.indices
    for i in np.flatnonzero(np.diff(indptr) > 0):
        key = indices[indptr[i] : indptr[i + 1]].tobytes()
        k = merged.setdefault(key, len(rows))
        if k == len(rows):
            rows.append(int(i))
            sums.append(0.0)
        sums[k] += w[i]
    return np.array(sums), cover[rows]


def _added(
    chosen: list[int], weights: np.ndarray, cover: sparse.csr_matrix
) -> tuple[list[int], list[float]]:
    """The chosen sites ordered by what each adds to those before it, with that gain."""
    remaining = weights.astype(np.float64).copy()
    sub = sparse.csc_matrix(cover[:, chosen], dtype=np.float64)
    left, order, gains = list(range(len(chosen))), [], []
    while left:
        gain = sub[:, left].T @ remaining
        k = int(np.argmax(gain))
        col = left.pop(k)
        order.append(chosen[col])
        gains.append(float(gain[k]))
        remaining[sub[:, col].nonzero()[0]] = 0.0
    return order, gains


def mclp(
    weights: npt.ArrayLike,
    cover: sparse.csr_matrix,
    p: int,
    *,
    time_limit: float | None = 60.0,
) -> SitingResult:
    """Choose ``p`` candidates that together reach the most demand (spopt MCLP, CBC).

    Parameters
    ----------
    weights
        Demand of each row of ``cover`` (households or cases), e.g. of uncovered groups.
    cover
        ``covers(demand, candidates, radius)``.
    p
        Sites to choose; at most the number of candidates.
    """
    n_sites = cover.shape[1]
    if not 1 <= p <= n_sites:
        msg = f"sites must be between 1 and the {n_sites} candidates, got {p}"
        raise ValueError(msg)
    t0 = time.perf_counter()
    w, sets = _compress(weights, cover)
    model = MCLP("mclp", pulp.LpProblem("mclp", pulp.LpMaximize))
    FacilityModelBuilder.add_facility_integer_variable(model, range(n_sites), "x[{i}]")
    FacilityModelBuilder.add_client_integer_variable(model, range(sets.shape[0]), "y[{i}]")
    x, y = model.fac_vars, model.cli_vars
    model.problem += pulp.lpSum(float(wi) * yi for wi, yi in zip(w, y, strict=True))
    for i in range(sets.shape[0]):
        members = sets.indices[sets.indptr[i] : sets.indptr[i + 1]]
        model.problem += pulp.lpSum(x[j] for j in members) >= y[i]
    FacilityModelBuilder.add_facility_constraint(model, p)
    return _solve(model, x, w, sets, t0=t0, time_limit=time_limit)


def lscp(
    weights: npt.ArrayLike, cover: sparse.csr_matrix, *, time_limit: float | None = 60.0
) -> SitingResult:
    """The fewest candidates that reach every demand row any candidate can reach (spopt LSCP)."""
    n_sites = cover.shape[1]
    t0 = time.perf_counter()
    w, sets = _compress(weights, cover)
    model = LSCP("lscp", pulp.LpProblem("lscp", pulp.LpMinimize))
    FacilityModelBuilder.add_facility_integer_variable(model, range(n_sites), "x[{i}]")
    x = model.fac_vars
    model.problem += pulp.lpSum(x)
    for i in range(sets.shape[0]):
        members = sets.indices[sets.indptr[i] : sets.indptr[i + 1]]
        model.problem += pulp.lpSum(x[j] for j in members) >= 1
    return _solve(model, x, w, sets, t0=t0, time_limit=time_limit)


def greedy_mclp(weights: npt.ArrayLike, cover: sparse.csr_matrix, p: int) -> SitingResult:
    """The anchor: pick, ``p`` times, the candidate that adds the most uncovered demand."""
    t0 = time.perf_counter()
    w = np.asarray(weights, dtype=np.float64).copy()
    csc = sparse.csc_matrix(cover, dtype=np.float64)
    chosen: list[int] = []
    gains: list[float] = []
    for _ in range(min(p, cover.shape[1])):
        gain = csc.T @ w
        gain[chosen] = -1
        j = int(np.argmax(gain))
        chosen.append(j)
        gains.append(float(gain[j]))
        w[csc[:, j].nonzero()[0]] = 0.0
    return SitingResult(
        chosen=np.array(chosen, dtype=np.intp),
        added=np.array(gains),
        covered=float(sum(gains)),
        optimal=False,
        status="greedy",
        seconds=time.perf_counter() - t0,
        rows=cover.shape[0],
    )


def brute_force_mclp(weights: npt.ArrayLike, cover: sparse.csr_matrix, p: int) -> float:
    """The best coverage of any ``p`` candidates, by trying them all (tests, tiny cases)."""
    w = np.asarray(weights, dtype=np.float64)
    dense = sparse.csr_matrix(cover).toarray()
    best = 0.0
    for combo in itertools.combinations(range(dense.shape[1]), p):
        best = max(best, float(w[dense[:, list(combo)].any(axis=1)].sum()))
    return best


def close_station_pairs(codes: npt.ArrayLike, xy: npt.ArrayLike, within_m: float) -> pd.DataFrame:
    """Pairs of stations closer than ``within_m``: one station could serve both villages.

    >>> close_station_pairs(["a", "b", "c"], [[0, 0], [300, 400], [5000, 0]], 600)
      station_a station_b  distance_m
    0         a         b       500.0
    """
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    names = np.asarray(codes, dtype=object)
    pairs = cKDTree(pts).query_pairs(within_m, output_type="ndarray") if len(pts) else []
    pairs = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    d = np.hypot(*(pts[pairs[:, 0]] - pts[pairs[:, 1]]).T)
    frame = pd.DataFrame(
        {"station_a": names[pairs[:, 0]], "station_b": names[pairs[:, 1]], "distance_m": d.round(1)}
    )
    return frame.sort_values("distance_m", kind="stable").reset_index(drop=True)


def _solve(
    model: Any,
    x: Any,
    w: np.ndarray,
    sets: sparse.csr_matrix,
    *,
    t0: float,
    time_limit: float | None,
) -> SitingResult:
    # CBC through PuLP, as spopt runs it; the sites come back in the order of what each adds.
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
    model.solve(solver, results=False)
    chosen = [j for j in range(len(x)) if (x[j].value() or 0) > 0.5]
    order, gains = _added(chosen, w, sets)
    status = pulp.LpStatus[model.problem.status]
    return SitingResult(
        chosen=np.array(order, dtype=np.intp),
        added=np.array(gains),
        covered=float(sum(gains)),
        optimal=status == "Optimal" and model.problem.sol_status == pulp.LpSolutionOptimal,
        status=status,
        seconds=time.perf_counter() - t0,
        rows=sets.shape[0],
    )

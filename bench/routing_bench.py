"""Single-day tours: qungong's solver against TSPLIB optima and the tools a planner would use.

For each TSPLIB EUC_2D instance (bench/data/tsplib, sources in SOURCES.md) prints the gap to
the published optimum and the time of: OR-Tools with its defaults (first solution + local
search), OR-Tools guided local search at 2 s, VROOM (exploration 5), qungong's ``geo.routing
.solve`` and LKH through elkai (the near-optimal reference; its licence restricts use, so it
is a benchmark anchor only).  Every method sees the same TSPLIB-rounded integer matrix.

The machine is shared, so wall times swell with its load: the load average is printed, and
beside qungong's wall time its CPU time (qungong runs on one thread, so that is close to its
wall time on a quiet machine), and LKH's time as the anchor to take ratios to.

    .venv/bin/python bench/routing_bench.py [eil51 a280 ...]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.routing import RoutingProblem, solve, solve_ortools, solve_vroom, tour_length

DATA = Path(__file__).resolve().parent / "data" / "tsplib"
# Published optimal tour lengths (TSPLIB95, Reinelt 1995, "optimal solutions for symmetric TSPs").
OPTIMA = {
    "eil51": 426,
    "berlin52": 7542,
    "st70": 675,
    "eil76": 538,
    "pr76": 108159,
    "kroA100": 21282,
    "eil101": 629,
    "ch130": 6110,
    "pr144": 58537,
    "ch150": 6528,
    "d198": 15780,
    "a280": 2579,
}


def load(name: str) -> np.ndarray:
    """The instance's coordinates: every 'index x y' line of its NODE_COORD_SECTION."""
    points = []
    for line in (DATA / f"{name}.tsp").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].isdigit():
            points.append((float(parts[1]), float(parts[2])))
    return np.array(points)


def euc_2d(points: np.ndarray) -> np.ndarray:
    """TSPLIB EUC_2D: Euclidean distance rounded to the nearest integer."""
    d = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    return np.floor(d + 0.5).astype(np.int64)


def elkai_lkh(problem: RoutingProblem) -> list[int]:
    import elkai

    tour = elkai.DistanceMatrix(problem.distance_m.tolist()).solve_tsp(runs=10)
    return tour[:-1] if len(tour) > problem.size else tour


METHODS = {
    "OR-Tools default": lambda p: [0, *solve_ortools(p, guided=False).routes[0]],
    "OR-Tools GLS 2 s": lambda p: [0, *solve_ortools(p, time_limit_s=2).routes[0]],
    "VROOM": lambda p: [0, *solve_vroom(p, exploration=5).routes[0]],
    "qungong": lambda p: [0, *solve(p).routes[0]],
    "LKH (elkai)": elkai_lkh,
}


def main(names: list[str]) -> None:
    gaps: dict[str, list[float]] = {m: [] for m in METHODS}
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    cpu: list[float] = []
    header = f"{'instance':9s} {'n':>4s} {'optimum':>8s} | " + " | ".join(
        f"{m:>18s}" for m in METHODS
    )
    print(header)
    for name in names:
        points = load(name)
        problem = RoutingProblem(distance_m=euc_2d(points))
        cells = []
        for method, run in METHODS.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            tour = run(problem)
            seconds = time.perf_counter() - start
            if method == "qungong":
                cpu.append(time.process_time() - start_cpu)
            assert sorted(tour) == list(range(problem.size)), f"{method} lost stops on {name}"
            gap = 100 * (tour_length(problem.distance_m, tour) / OPTIMA[name] - 1)
            gaps[method].append(gap)
            times[method].append(seconds)
            cells.append(f"{gap:6.2f}% {seconds:6.2f} s")
        print(
            f"{name:9s} {problem.size:4d} {OPTIMA[name]:8d} | "
            + " | ".join(f"{c:>18s}" for c in cells)
            + f" | qungong CPU {cpu[-1]:5.2f} s",
            flush=True,
        )
    print(
        f"{'mean':9s} {'':4s} {'':8s} | "
        + " | ".join(
            f"{statistics.mean(gaps[m]):6.2f}% {statistics.mean(times[m]):6.2f} s" for m in METHODS
        )
    )
    print(
        f"{'max time':9s} {'':4s} {'':8s} | "
        + " | ".join(f"{'':8s}{max(times[m]):6.2f} s" for m in METHODS)
    )
    print(f"qungong CPU time: mean {statistics.mean(cpu):.2f} s, max {max(cpu):.2f} s")
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    ratio = statistics.mean(times["qungong"]) / statistics.mean(times["LKH (elkai)"])
    print(f"qungong mean time / LKH mean time = {ratio:.2f}")
    ref = statistics.mean(gaps["LKH (elkai)"])
    print(
        f"qungong mean gap {statistics.mean(gaps['qungong']):.2f}% (target 0.5%), "
        f"OR-Tools GLS 2 s {statistics.mean(gaps['OR-Tools GLS 2 s']):.2f}%, "
        f"LKH {ref:.2f}%; qungong time / GLS 2 s time = "
        f"{statistics.mean(times['qungong']) / statistics.mean(times['OR-Tools GLS 2 s']):.2f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:] or list(OPTIMA))

"""Benchmark the demo network generator at full scale: build, file writing, cases and visits.

Prints each figure beside its anchor (the time budget the issue allows on 2 cores) and the
ratio figure / anchor (below 1 is within budget).

Run: ``.venv/bin/python bench/demo_bench.py [--scale 1.0] [--seed 2013] [--no-activity]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.files import write_files  # noqa: E402
from demo.network import build_network  # noqa: E402

# Budgets: "well under a couple of minutes" for the build; the rest share the same order.
ANCHORS = {"build_network": 60.0, "write_files": 60.0, "build_cases": 30.0, "build_visits": 30.0}


def _report(label: str, seconds: float, extra: str = "") -> None:
    anchor = ANCHORS[label]
    print(
        f"{label:<14} {seconds:7.2f} s   anchor {anchor:5.0f} s   ratio {seconds / anchor:5.2f}  {extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--no-activity", action="store_true", help="skip cases and visits")
    args = parser.parse_args()

    t = time.perf_counter()
    net = build_network(seed=args.seed, scale=args.scale)
    counts = "/".join(
        str(net.count("2013", lv)) for lv in ("county", "township", "village", "group")
    )
    _report("build_network", time.perf_counter() - t, f"2013 units {counts}")

    cases = visits = None
    if not args.no_activity:
        from demo.activity import build_cases, build_visits

        t = time.perf_counter()
        cases = build_cases(net, seed=args.seed, scale=args.scale)
        _report("build_cases", time.perf_counter() - t, f"{len(cases):,} cases")
        t = time.perf_counter()
        visits = build_visits(net, seed=args.seed, scale=args.scale)
        _report("build_visits", time.perf_counter() - t, f"{len(visits):,} visits")

    with tempfile.TemporaryDirectory(prefix="qungong-demo-") as tmp:
        t = time.perf_counter()
        written = write_files(net, tmp, cases=cases, visits=visits)
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
        _report(
            "write_files", time.perf_counter() - t, f"{len(written)} files, {size / 1e6:.0f} MB"
        )


if __name__ == "__main__":
    main()

"""The Gi* sparse case of issue #14 on the demo database, as the page computed it before and now.

Filter: disputes, status open, 2013-03-01 .. 2013-08-31, whole city.  "Before" is the earlier
pipeline (Gi* on raw rates per 1,000 households over every village with households, no
minimum-data guard); "after" is ``webmap.services.leaders.analysis``.  Prints the class counts
of both, how many "hot" villages have fewer than 5 cases, and the reason the page now gives.
The anchor is the earlier pipeline on the same villages in the same run.

Run: ``DATABASE_URL=... .venv/bin/python bench/hotspots_sparse_bench.py``
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from werkzeug.datastructures import MultiDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.hotspots import getis_ord, spatial_weights  # noqa: E402
from models import hotspots as case_queries  # noqa: E402
from models import places  # noqa: E402
from models.db import session_factory  # noqa: E402
from webmap.services.leaders import (  # noqa: E402
    PERMUTATIONS,
    _with_rates,
    analysis,
    class_counts,
    parse_query,
)

FILTERS = (
    # The sparse case of the issue, then a dense one where Gi* runs (EB rates, cold rule).
    {"kind": "dispute", "status": "open", "from": "2013-03-01", "to": "2013-08-31"},
    {"kind": "dispute", "from": "2013-01-01", "to": "2013-12-31"},
)


def main() -> None:
    for args in FILTERS:
        compare({**args, "layer": "hotspots"})


def compare(args: dict[str, str]) -> None:
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:54329/qungong")
    query = parse_query(MultiDict(args))
    with session_factory(url)() as session:
        generation = places.active_generation(session)
        assert generation is not None
        villages = _with_rates(
            case_queries.unit_case_counts(
                session, generation.id, query.case_filter(), level="village", prefix=""
            )
        )
        tested = villages[np.isfinite(villages["rate"].to_numpy(dtype=float))].reset_index(
            drop=True
        )
        t0 = time.perf_counter()
        before = getis_ord(tested, "rate", permutations=PERMUTATIONS, fdr=True,
                           weights=spatial_weights(tested, kind="queen"))  # fmt: skip
        t_before = time.perf_counter() - t0
        t0 = time.perf_counter()
        after = analysis(session, generation.id, query)
        t_after = time.perf_counter() - t0
    cases = int(villages["count"].sum())
    print(f"filter {args}: {cases} cases in {int((villages['count'] > 0).sum())} of "
          f"{len(villages)} villages")  # fmt: skip
    for label, hot, seconds in (("before", before, t_before), ("after", after.hotspots, t_after)):
        counts = {k: v for k, v in class_counts(hot).items() if v}
        hot_small = int((hot["hotspot"].str.startswith("hot") & (hot["count"] < 5)).sum())
        cold_empty = int((hot["hotspot"].str.startswith("cold") & (hot["count"] == 0)).sum())
        print(f"{label:>6}: classes {counts}; hot villages with <5 cases: {hot_small}; "
              f"cold villages with no case: {cold_empty}; {seconds:.2f} s")  # fmt: skip
    print(
        f" after: Gi* not run because {after.gi_problem}" if after.gi_problem else " after: Gi* ran"
    )


if __name__ == "__main__":
    main()

"""Cold leaders' views on the full demo: the count cube against binning every case (today's path).

For a set of filters (kinds x statuses x date ranges x areas) it times, through the Flask app
and with the analysis cache emptied before each request:

- each API layer cold (``/api/leaders/heat|rates|monthly|hotspots``) and the whole page
  (``/leaders/``), the Gi* weights already built (a worker that has served once);
- the page warm (the page cache);
- the anchor, measured in the same run: the analysis as it was before the cube (every matching
  case's point read and binned in Python, unit counts over ``case_record``, Gi* on top), which
  every layer and the page paid in full;
- once, the warm-up ``qungong run`` does before forking its workers (the cube in memory, the
  units and Gi* weights of the city and each county), then the first page.

Targets (issue #13): <= 0.3 s per layer and <= 1 s for the page, cold.

Run on a migrated copy of the demo database (the cube needs migration ``svc_case_cube``):
``.venv/bin/python bench/cold_views_bench.py --url postgresql://postgres@127.0.0.1:54329/qg_NAME``
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
from werkzeug.datastructures import MultiDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.density import hex_bins  # noqa: E402
from geo.hotspots import getis_ord, spatial_weights  # noqa: E402
from models import case_cube, places  # noqa: E402
from models import hotspots as case_queries  # noqa: E402
from models.db import session_factory  # noqa: E402
from webmap.app import create_app  # noqa: E402
from webmap.services import leaders  # noqa: E402
from webmap.views import leaders as leaders_view  # noqa: E402

FILTERS = [
    "",
    "kind=dispute&from=2013&to=2013",
    "status=closed&area=430521000000",
    "kind=petition,service&from=2013-03-05&to=2014-02-20",
    "area=430521101000&kind=dispute",
    "status=open,in_progress&from=2014&to=2014&area=430525000000",
]
LAYERS = ("heat", "rates", "monthly", "hotspots")


def _cold(client, url: str) -> float:
    leaders._results.clear()
    leaders_view._pages.clear()
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code, response.get_data()[:300])
    return elapsed


def _anchor(db_url: str, query_string: str) -> float:
    """Today's analysis before the cube: points read and binned, counts over the cases."""
    query = leaders.parse_query(MultiDict([kv.split("=") for kv in query_string.split("&") if kv]))
    case_filter = query.case_filter()
    started = time.perf_counter()
    with session_factory(db_url)() as session:
        generation = places.active_generation(session).id
        points = case_queries.case_points(session, case_filter)
        case_queries.unit_case_counts(session, generation, case_filter, level=query.rate_unit)
        villages = case_queries.unit_case_counts(
            session, generation, case_filter, level="village", prefix=query.prefix
        )
    geo_points = gpd.GeoDataFrame(
        {"month": points["month"].to_numpy()},
        geometry=gpd.points_from_xy(points["lon"], points["lat"]),
        crs="EPSG:4326",
    )
    hex_bins(geo_points, resolution=leaders.HEAT_RESOLUTION[query.level])
    hex_bins(geo_points, resolution=leaders.MONTHLY_RESOLUTION[query.level], by="month")
    villages = gpd.GeoDataFrame(villages, geometry="geometry", crs="EPSG:4326")
    if len(villages) >= 3 and villages["count"].sum() > 0:
        getis_ord(
            villages,
            "count",
            permutations=999,
            weights=_WEIGHTS.setdefault(
                tuple(villages["code"]), spatial_weights(villages, kind="queen")
            ),
        )
    return time.perf_counter() - started


_WEIGHTS: dict = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="a migrated copy of the demo database")
    parser.add_argument("--user", default="leader")
    parser.add_argument("--password", default="qungong-demo")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    with session_factory(url)() as session:
        started = time.perf_counter()
        rebuilt = case_cube.ensure_fresh(session)
        print(f"cube {'rebuilt' if rebuilt else 'fresh'} in {time.perf_counter() - started:.2f} s")
    # DEMO: the demo accounts log in with their published password (as `make demo` allows).
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "TESTING": True,
            "DEMO": True,
        }
    )
    client = app.test_client()
    form = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', form)
    assert token, "no CSRF token on the log-in page"
    login = client.post(
        "/auth/login",
        data={"username": args.user, "password": args.password, "csrf_token": token.group(1)},
    )
    assert login.status_code == 302, "log-in failed: is this the demo database?"
    with session_factory(url)() as session:
        started = time.perf_counter()
        leaders.warm(session, places.active_generation(session).id)
        print(f"warm-up, as at server start before the fork: {time.perf_counter() - started:.2f} s")
    fresh = _cold(client, "/leaders/")
    print(f"first page of the process: {fresh:.2f} s\n")
    header = f"{'filter':58} " + " ".join(f"{n:>8}" for n in LAYERS)
    print(header + f" {'page':>7} {'warm':>6} {'before':>7} {'page/before':>11}")
    worst_layer, pages, befores = [], [], []
    for query_string in FILTERS:
        layer_times = [_cold(client, f"/api/leaders/{n}?{query_string}") for n in LAYERS]
        page = _cold(client, f"/leaders/?{query_string}")
        started = time.perf_counter()
        client.get(f"/leaders/?{query_string}")
        warm = time.perf_counter() - started
        before = _anchor(url, query_string)
        worst_layer.append(max(layer_times[:3]))
        pages.append(page)
        befores.append(before)
        cells = " ".join(f"{t:8.2f}" for t in layer_times)
        print(
            f"{query_string or '(all cases, city)':58} {cells} {page:7.2f} {warm:6.3f}"
            f" {before:7.2f} {page / before:11.2f}"
        )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"\nmedian: page cold {statistics.median(pages):.2f} s vs before {statistics.median(befores):.2f} s"
        f" ({statistics.median(pages) / statistics.median(befores):.2f}x);"
        f" slowest heat/rates/monthly layer {max(worst_layer):.2f} s (target 0.3 s);"
        f" slowest page {max(pages):.2f} s (target 1 s)"
    )


if __name__ == "__main__":
    main()

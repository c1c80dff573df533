"""Benchmark the leaders' hotspot page with all ~230,000 demo cases against a raw-point Folium HeatMap.

Builds the full 2013 stand-in network (demo.network) and its cases (demo.activity, true WGS-84
points) into a throwaway PostGIS cluster: counties, townships and villages with COPY through
``models.units``, stations through ``models.registers``, cases with one executemany.  Then,
in the same run, prints each figure beside its anchor:

- the default leaders' page (/leaders/, whole city, all cases): HTML bytes (target <= 1.5 MB)
  and time to the load event in headless Chromium, against a plain ``folium.plugins.HeatMap``
  fed every raw case point (assets localised the same way, served by a plain static server),
  target <= 0.8x; medians of alternating runs, the page's server cache warm (its cold first
  render is printed too);
- Gi* with Queen weights and 999 permutations on the 5,903 villages (target < 1 s), with and
  without building the weights;
- pattern agreement: Pearson r of the page's binned heatmap and the raw points, both blurred
  on the same 0.01-degree grid.

Run: ``.venv/bin/python bench/leaders_bench.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
from folium.plugins import HeatMap
from sqlalchemy import insert
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.activity import build_cases  # noqa: E402
from demo.network import build_network  # noqa: E402
from geo.hotspots import getis_ord, spatial_weights  # noqa: E402
from geo.layers.offline import localize  # noqa: E402
from models import hotspots as q  # noqa: E402
from models.cluster import LocalCluster, free_port  # noqa: E402
from models.db import engine_for, migrate, transaction  # noqa: E402
from models.places import active_generation  # noqa: E402
from models.registers import upsert_stations  # noqa: E402
from models.schema import Case  # noqa: E402
from models.units import allocate_unit_ids, copy_units, ensure_generation  # noqa: E402
from models.users import create_user  # noqa: E402
from tests.webmap.browser import browser_page, serve  # noqa: E402
from webmap.app import create_app  # noqa: E402

MAX_PAGE_BYTES = 1_500_000
MAX_LOAD_RATIO = 0.8
MAX_GI_SECONDS = 1.0
LEVELS = ("county", "township", "village")
STATUS = {"received": "open", "processing": "in_progress", "closed": "closed"}


def load_network(url: str, network) -> None:
    units = network.units[
        (network.units["generation"] == "2013") & network.units["level"].isin(LEVELS)
    ].reset_index(drop=True)
    with transaction(url) as s:
        gen, _ = ensure_generation(s, "2013")
        ids = allocate_unit_ids(s, len(units))
        by_code = dict(zip(units["code"], ids, strict=True))
        frame = pd.DataFrame(
            {
                "id": ids,
                "generation_id": gen.id,
                "level": units["level"],
                "code": units["code"],
                "name": units["name"],
                "parent_id": pd.array(
                    [by_code.get(p) for p in units["parent_code"]], dtype="Int64"
                ),
                "county_code": units["county_code"],
                "households": pd.array(units["households"], dtype="Int64"),
                "population": pd.array([None] * len(units), dtype="Int64"),
                "geom": units.geometry.to_numpy(),
            }
        )
        copy_units(s, frame)
        st = network.stations[network.stations["generation"] == "2013"]
        upsert_stations(
            s,
            pd.DataFrame(
                {
                    "unit_id": [int(by_code[c]) for c in st["village_code"]],
                    "county_code": st["county_code"].to_numpy(),
                    "name": st["name"].to_numpy(),
                    "address": st["address"].to_numpy(),
                    "phone": None,
                    "opened_on": st["opened_on"].to_numpy(),
                    "location_source": "register",
                    "lon": st["lon"].to_numpy(),
                    "lat": st["lat"].to_numpy(),
                }
            ),
        )
        create_user(
            s,
            "leader",
            role="leader",
            area_code="430500000000",
            password_hash=generate_password_hash("bench-pw"),
        )


def load_cases(url: str, cases: pd.DataFrame) -> None:
    records = [
        {
            "case_no": r.case_no,
            "kind": r.kind,
            "status": STATUS.get(r.status, r.status),
            "opened_on": r.opened_on,
            "county_code": r.county_code,
            "township_code": r.township_code,
            "village_code": r.village_code,
            "group_code": r.group_code,
            "location_method": "gps",
            "geom": f"SRID=4326;POINT({r.lon} {r.lat})",
        }
        for r in cases.itertuples(index=False)
    ]
    with transaction(url) as s:
        for start in range(0, len(records), 20_000):
            s.execute(insert(Case), records[start : start + 20_000])


def anchor_html(cases: pd.DataFrame, vendor: str) -> str:
    m = folium.Map(location=[27.2, 111.4], zoom_start=9, tiles=None)
    HeatMap(cases[["lat", "lon"]].to_numpy().tolist()).add_to(m)
    localize(m, base_url=vendor)
    return m.get_root().render()


class StaticServer:
    """Serves one directory on 127.0.0.1 (the anchor page)."""

    def __init__(self, directory: Path) -> None:
        from werkzeug.middleware.shared_data import SharedDataMiddleware

        def not_found(environ, start_response):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]

        app = SharedDataMiddleware(not_found, {"/": str(directory)})
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def load_event_ms(page, url: str, ready: str | None = None) -> float:
    page.goto("about:blank")
    page.goto(url, wait_until="load", timeout=120_000)
    if ready:
        page.wait_for_selector(ready, timeout=60_000)
    return page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return [n.loadEventStart - n.startTime, n.responseStart - n.startTime]; }"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="qungong-leaders-bench-"))
    cluster = LocalCluster(root=work / "pg", port=free_port(), dbname="bench", fast=True)
    try:
        t = time.perf_counter()
        network = build_network(seed=2013)
        cases = build_cases(network, seed=2013)
        print(f"network and {len(cases):,} cases built in {time.perf_counter() - t:.1f} s")
        cluster.init()
        cluster.start()
        cluster.create_database()
        url = cluster.url()
        migrate(url)
        t = time.perf_counter()
        load_network(url, network)
        load_cases(url, cases)
        print(f"loaded into PostGIS in {time.perf_counter() - t:.1f} s")

        # --- Gi* on the villages --------------------------------------------------------
        with engine_for(url).connect() as conn:
            from sqlalchemy.orm import Session

            session = Session(bind=conn)
            gen = active_generation(session)
            villages = q.unit_case_counts(session, gen.id, q.CaseFilter(), level="village")
        units = gpd.GeoDataFrame(villages, geometry="geometry", crs="EPSG:4326")
        units["rate"] = 1000.0 * units["count"] / units["households"].astype(float)
        units = units[units["rate"].notna()].reset_index(drop=True)
        with_w, gi_only, gi_cpu = [], [], []
        for _ in range(3):
            t0 = time.perf_counter()
            w = spatial_weights(units, kind="queen")
            t1, c1 = time.perf_counter(), time.process_time()
            hot = getis_ord(units, "rate", permutations=999, weights=w)
            t2, c2 = time.perf_counter(), time.process_time()
            with_w.append(t2 - t0)
            gi_only.append(t2 - t1)
            gi_cpu.append(c2 - c1)
        classes = hot["hotspot"].value_counts().to_dict()
        gi = statistics.median(gi_only)
        print(
            f"Gi* on {len(units):,} villages, 999 permutations, FDR: {gi:.2f} s "
            f"(weights built beforehand; {statistics.median(with_w):.2f} s building Queen weights "
            f"too) | target < {MAX_GI_SECONDS:.1f} s " + ("OK" if gi < MAX_GI_SECONDS else "OVER")
        )
        print(f"  Gi* CPU time {statistics.median(gi_cpu):.2f} s; classes: {classes}")

        # --- the page against the raw HeatMap ------------------------------------------
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": False})
        with app.test_client() as client:
            client.post("/auth/login", data={"username": "leader", "password": "bench-pw"})
            t = time.perf_counter()
            first = client.get("/leaders/")
            cold = time.perf_counter() - t
            t = time.perf_counter()
            page_bytes = len(client.get("/leaders/").data)
            warm = time.perf_counter() - t
            assert first.status_code == 200, first.status_code
            agreement = client.get("/api/leaders/heat").get_json()["agreement"]
            other_pages = {
                layer: len(client.get(f"/leaders/?layer={layer}").data)
                for layer in ("monthly", "rates", "hotspots")
            }
            county = sorted(network.units.loc[network.units["level"] == "county", "code"])[0]
            county_agreement = client.get(f"/api/leaders/heat?area={county}").get_json()[
                "agreement"
            ]
        with serve(app) as base:
            html = anchor_html(cases, f"{base}/vendor")
            anchor_dir = work / "anchor"
            anchor_dir.mkdir()
            (anchor_dir / "raw_heatmap.html").write_text(html, encoding="utf-8")
            anchor_bytes = len(html.encode())
            ours_ms, anchor_ms = [], []
            with StaticServer(anchor_dir) as static, browser_page() as (page, _):
                page.goto(f"{base}/auth/login")
                page.fill("input[name=username]", "leader")
                page.fill("input[name=password]", "bench-pw")
                page.click("button[type=submit]")
                page.wait_for_load_state("load")
                load_event_ms(page, f"{base}/leaders/")  # warm both caches once
                load_event_ms(page, f"{static}/raw_heatmap.html")
                for i in range(args.repeat):
                    pair = [
                        (ours_ms, f"{base}/leaders/", ".folium-map[data-ready='1']"),
                        (anchor_ms, f"{static}/raw_heatmap.html", None),
                    ]
                    for store, target, ready in pair if i % 2 == 0 else pair[::-1]:
                        store.append(load_event_ms(page, target, ready))
        ours_server = statistics.median(v[1] for v in ours_ms)
        ours_ms = [v[0] for v in ours_ms]
        anchor_ms = [v[0] for v in anchor_ms]
        ours, anchor = statistics.median(ours_ms), statistics.median(anchor_ms)
        ratio = ours / anchor
        print(
            f"default leaders' page: {page_bytes / 1e6:.2f} MB (target <= "
            f"{MAX_PAGE_BYTES / 1e6:.1f} MB) "
            + ("OK" if page_bytes <= MAX_PAGE_BYTES else "OVER")
            + f" | raw-point HeatMap anchor: {anchor_bytes / 1e6:.2f} MB | "
            f"ratio {page_bytes / anchor_bytes:.2f}x"
        )
        print(
            f"load event in headless Chromium: leaders {ours:.0f} ms | anchor {anchor:.0f} ms | "
            f"ratio {ratio:.2f}x (target <= {MAX_LOAD_RATIO}x) "
            + ("OK" if ratio <= MAX_LOAD_RATIO else "OVER")
        )
        print(
            f"  runs (ms): leaders {[round(v) for v in ours_ms]} (first byte after "
            f"{ours_server:.0f} ms), anchor {[round(v) for v in anchor_ms]}"
        )
        print(
            f"  server render of /leaders/: cold {cold:.2f} s (queries, H3, Gi*), warm {warm:.2f} s"
        )
        print(
            "  other city pages: "
            + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in other_pages.items())
        )
        print(
            f"pattern agreement (binned heatmap vs raw points): city (H3 res 7, 0.01 deg grid) "
            f"r = {agreement:.3f}; county {county} (res 8, 0.004 deg grid) r = {county_agreement:.3f}"
        )
    finally:
        engine_for(cluster.url()).dispose()
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

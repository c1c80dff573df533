"""Benchmark the demo pipeline and the city overview page (issue 4).

In a throwaway PostGIS cluster, runs ``qungong demo build`` and ``qungong demo load`` (the
same commands ``make demo`` runs, through the importers) and prints their times, then opens
the city overview page (/) in headless Chromium and prints the bytes transferred and the
time to the load event, beside the anchor: the page a Folium user would write instead — one
``folium.CircleMarker`` per station plus ``folium.GeoJson`` of the township boundaries —
served the same way with the same local assets, measured in the same run.

Targets: overview <= 1.5 MB transferred and < 1 s to the load event, with all 5,903 stations.

Run: ``.venv/bin/python bench/network_page_bench.py [--repeat 5] [--scale 1.0]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import folium
from click.testing import CliRunner
from flask import Flask, Response

from geo.layers.offline import localize, offline_map
from models import places
from models.cluster import LocalCluster, free_port
from models.db import migrate, session_factory
from tests.webmap.browser import browser_page, login, serve
from webmap.app import create_app
from webmap.cli import main
from webmap.cli_demo import DEMO_PASSWORD


def timed_cli(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = CliRunner().invoke(main, args, env=env)
    if result.exit_code:
        print(result.output)
        sys.exit(1)
    return time.perf_counter() - started


def anchor_app(url: str, static_from: Flask) -> Flask:
    """A plain Folium page: a CircleMarker per station and the townships as GeoJson."""
    with session_factory(url)() as session:
        generation = places.active_generation(session)
        stations = places.stations_compact(session, generation.id)
        townships = places.units_geojson(session, generation.id, level="township", tolerance=0.001)
    m = offline_map(location=[27.2, 111.4], zoom_start=9)
    folium.GeoJson(townships, name="townships", tooltip=folium.GeoJsonTooltip(["name"])).add_to(m)
    for sid, lon, lat in stations:
        folium.CircleMarker([lat, lon], radius=3, popup=str(sid)).add_to(m)
    localize(m, base_url="/vendor")
    html = m.get_root().render()
    app = Flask("anchor")
    app.register_blueprint(static_from.blueprints["vendor"])
    app.config["NODE_MODULES"] = static_from.config["NODE_MODULES"]
    app.add_url_rule("/", "index", lambda: Response(html, mimetype="text/html"))
    return app


def measure(page, url: str, ready: str | None) -> tuple[float, int]:
    sizes: list[int] = []

    def on_response(response) -> None:
        try:
            sizes.append(len(response.body()))
        except Exception:  # redirects have no body
            sizes.append(0)

    page.on("response", on_response)
    page.goto("about:blank")
    page.goto(url, wait_until="load")
    load_ms = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return n.loadEventStart - n.startTime; }"
    )
    if ready:
        page.wait_for_selector(ready)
    page.remove_listener("response", on_response)
    return load_ms / 1000, sum(sizes)


def main_bench() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="qungong-bench-"))
    cluster = LocalCluster(root=root / "pg", port=free_port(), fast=True)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database()
        url = cluster.url()
        migrate(url)
        env = {"DATABASE_URL": url}
        out = root / "demo"
        t_build = timed_cli(["demo", "build", "--scale", str(args.scale), "--out", str(out)], env)
        t_load = timed_cli(["demo", "load", "--dir", str(out)], env)
        print(f"qungong demo build: {t_build:7.1f} s")
        print(
            f"qungong demo load:  {t_load:7.1f} s  (boundaries of 2 generations, registers, cases, visits)"
        )

        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        anchor = anchor_app(url, app)
        ours_t, ours_b, anch_t, anch_b = [], [], [], []
        with serve(app) as base, serve(anchor) as anchor_base, browser_page() as (page, _):
            login(page, base, "leader", DEMO_PASSWORD)
            for _i in range(args.repeat):
                t, b = measure(page, f"{base}/", ".folium-map[data-ready='1']")
                ours_t.append(t)
                ours_b.append(b)
                t, b = measure(page, f"{anchor_base}/", None)
                anch_t.append(t)
                anch_b.append(b)
            drawn = page.goto(f"{base}/") and page.wait_for_selector(
                ".folium-map[data-ready='1']"
            ).get_attribute("data-stations")
        ot, at = statistics.median(ours_t), statistics.median(anch_t)
        ob, ab = statistics.median(ours_b), statistics.median(anch_b)
        print(f"stations drawn on the overview: {drawn}")
        print(
            f"city overview transferred: {ob / 1e6:6.2f} MB   anchor (folium markers): {ab / 1e6:6.2f} MB"
            f"   ratio {ob / ab:.2f}   target <= 1.5 MB"
        )
        print(
            f"city overview load event:  {ot:6.3f} s    anchor (folium markers): {at:6.3f} s"
            f"    ratio {ot / at:.2f}   target < 1 s"
        )
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main_bench()

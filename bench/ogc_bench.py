"""Benchmark: paging through every villager group over OGC API – Features, same run as anchors.

Serves qungong's /ogc/ from a real HTTP server (werkzeug, 127.0.0.1, one thread) on the
database given by DATABASE_URL (read-only: the demo database), signed in as the demo admin
(city-wide area), and follows ``next`` links of ``/ogc/collections/groups/items?limit=1000``
until the end (47,224 groups on the demo; target ≤ 5 s in total). Beside it, measured in the
same run:

- ``ogr2ogr -f GeoJSON`` of the same groups straight from PostGIS (what an analyst with
  database access would run instead);
- optionally a running pygeoapi (``--pygeoapi URL``, its PostgreSQL provider on a view of the
  same groups), paged the same way with ``limit`` and ``offset`` — the measurement behind the
  choice of own endpoints over a mounted pygeoapi.

Run: ``DATABASE_URL=postgresql://postgres@127.0.0.1:54329/qungong .venv/bin/python
bench/ogc_bench.py [--port 5036] [--pygeoapi http://127.0.0.1:5036/collections/groups/items]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from flask import g
from werkzeug.serving import make_server

from models import users
from models.db import database_url, session_factory
from webmap.app import create_app
from webmap.auth import load_user

TARGET_SECONDS = 5.0


_NEXT = re.compile(rb'\{[^{}]*"rel"\s*:\s*"next"[^{}]*\}')


def page_through(url: str, headers: dict[str, str] | None = None) -> tuple[float, int, int, int]:
    """Follow ``next`` links from ``url``: (seconds, features, bytes, pages).

    The timed loop fetches each page and reads only its ``next`` link (what any client must
    do before the next request); the features are counted after the clock stops, since how
    fast a client parses JSON is the client's business (Python's json takes ~0.12 s a page).
    """
    bodies = []
    start = time.perf_counter()
    while url:
        req = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(req) as resp:
            body = resp.read()
        bodies.append(body)
        link = _NEXT.search(body)
        url = json.loads(link.group(0))["href"] if link else ""
    secs = time.perf_counter() - start
    n = sum(len(json.loads(b)["features"]) for b in bodies)
    return secs, n, sum(len(b) for b in bodies), len(bodies)


def gdal_client(url: str, headers: dict[str, str] | None = None) -> tuple[float, int]:
    """GDAL's OAPIF driver (what QGIS uses) copying the groups collection: (seconds, count)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "groups.gpkg"
        cmd = ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{url}", "groups", "-oo", "PAGE_SIZE=1000"]
        for key, value in (headers or {}).items():
            cmd += ["--config", "GDAL_HTTP_HEADERS", f"{key}: {value}"]
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        secs = time.perf_counter() - start
        info = subprocess.run(
            ["ogrinfo", "-so", "-ro", str(out), "groups"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        count = int(re.search(r"Feature Count: (\d+)", info).group(1))  # type: ignore[union-attr]
    return secs, count


def serve(port: int, username: str) -> tuple[threading.Thread, object]:
    """qungong on 127.0.0.1:port, every request as ``username`` (the bench measures the
    endpoint, not the log-in)."""
    app = create_app({"DATABASE_URL": database_url()})
    # No cookie session here, so no CSRF token: POSTs (the geocode batch) skip that check.
    app.config["WTF_CSRF_METHODS"] = set()
    with session_factory(app.config["DATABASE_URL"])() as session:
        user = users.get_user_by_name(session, username)
    if user is None:
        raise SystemExit(f"no user {username!r} in the database (load the demo first)")

    def _as_user() -> None:
        g.user = user

    # Right after the log-in hook and before the access rules, which refuse a request
    # without a user (a hook appended at the end would run after them).
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.insert(hooks.index(load_user) + 1, _as_user)

    server = make_server("127.0.0.1", port, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread, server


def ogr2ogr_groups() -> tuple[float, int]:
    """ogr2ogr from PostGIS to GeoJSON of the active generation's groups: (seconds, bytes)."""
    url = database_url().replace("postgresql+psycopg://", "postgresql://")
    sql = (
        "SELECT u.code, u.name, p.code AS parent_code, u.county_code, u.households, u.geom"
        " FROM admin_unit u LEFT JOIN admin_unit p ON p.id = u.parent_id JOIN generation gn"
        " ON gn.id = u.generation_id AND gn.active WHERE u.level = 'group' ORDER BY u.code"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "groups.geojson"
        start = time.perf_counter()
        subprocess.run(
            [
                "ogr2ogr",
                "-f",
                "GeoJSON",
                str(out),
                f"PG:{url}",
                "-sql",
                sql,
                "-lco",
                "COORDINATE_PRECISION=7",
            ],
            check=True,
        )
        return time.perf_counter() - start, out.stat().st_size


def _case_counts(port: int, user: str, limit: int) -> None:
    """Page all of case-counts; the anchor is the one aggregate query psql would run."""
    _, server = serve(port, user)
    url = f"http://127.0.0.1:{port}/ogc/collections/case-counts/items?limit={limit}"
    secs, n, size, pages = page_through(url)
    server.shutdown()  # type: ignore[attr-defined]
    print(
        f"qungong /ogc case-counts: {n:,} village-months in {pages} pages of {limit}, "
        f"{size / 1e6:.1f} MB, {secs:.2f} s"
    )
    sql = (
        "SELECT v.code, to_char(date_trunc('month', c.opened_on), 'YYYY-MM'), count(*),"
        " ST_AsGeoJSON(ST_PointOnSurface(v.geom), 7) FROM case_record c JOIN admin_unit v"
        " ON v.code = c.village_code AND v.level = 'village' JOIN generation g"
        " ON g.id = v.generation_id AND g.active GROUP BY v.code, v.geom, 2 ORDER BY 1, 2"
    )
    url = database_url().replace("postgresql+psycopg://", "postgresql://")
    start = time.perf_counter()
    out = subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True).stdout
    anchor = time.perf_counter() - start
    print(
        f"anchor psql, one aggregate of every village-month with its point: {out.count(10):,}"
        f" rows, {anchor:.2f} s; ratio qungong/psql = {secs / anchor:.2f}×"
    )


def main() -> None:
    _main()
    # Two cores shared with other work: wall times mean little without the load beside them.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("QUNGONG_WEB_PORT", 5036)))
    parser.add_argument("--user", default="admin")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--pygeoapi", help="items URL of a pygeoapi groups collection")
    parser.add_argument(
        "--case-counts",
        action="store_true",
        help="page the case-counts collection instead (village × month), no GDAL/pygeoapi",
    )
    args = parser.parse_args()
    if args.case_counts:
        _case_counts(args.port, args.user, args.limit)
        return

    _, server = serve(args.port, args.user)
    base = f"http://127.0.0.1:{args.port}/ogc/collections/groups/items?limit={args.limit}"
    secs, n, size, pages = page_through(base)
    print(
        f"qungong /ogc groups: {n:,} features in {pages} pages, {size / 1e6:.1f} MB, "
        f"{secs:.2f} s (target ≤ {TARGET_SECONDS:.0f} s: {'met' if secs <= TARGET_SECONDS else 'NOT met'})"
    )
    g_secs, g_n = gdal_client(f"http://127.0.0.1:{args.port}/ogc")
    server.shutdown()  # type: ignore[attr-defined]
    print(
        f"  the same read by GDAL's OAPIF driver (QGIS's client) into a GeoPackage: "
        f"{g_n:,} features, {g_secs:.2f} s"
    )

    ogr_secs, ogr_size = ogr2ogr_groups()
    print(
        f"anchor ogr2ogr PostGIS -> GeoJSON: {ogr_size / 1e6:.1f} MB, {ogr_secs:.2f} s; "
        f"ratio qungong/ogr2ogr = {secs / ogr_secs:.2f}×"
    )

    if args.pygeoapi:
        sep = "&" if "?" in args.pygeoapi else "?"
        p_secs, p_n, p_size, p_pages = page_through(
            f"{args.pygeoapi}{sep}limit={args.limit}&f=json"
        )
        print(
            f"anchor pygeoapi PostgreSQL provider: {p_n:,} features in {p_pages} pages, "
            f"{p_size / 1e6:.1f} MB, {p_secs:.2f} s; ratio qungong/pygeoapi = {secs / p_secs:.2f}×"
        )


if __name__ == "__main__":
    main()

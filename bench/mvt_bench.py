"""Benchmark: villages and groups as vector tiles (ST_AsMVT) against today's GeoJSON per bbox.

For viewports of 1280 x 800 px at village zoom (11, 12) and group zoom (13, 14), centred on
ten townships of the demo spread over the city, it measures what the network map needs to
draw one view: today's ``/api/units`` answer (``models.places.units_geojson`` with the zoom's
simplification, serialised as the API does) against every 256-px vector tile covering the
same view (``models.tiles.unit_tile``). Bytes raw and gzipped (what a compressing server
sends), and server time, summed over the views, in the same run.

Run: ``DATABASE_URL=postgresql://postgres@127.0.0.1:54329/qungong .venv/bin/python
bench/mvt_bench.py``
"""

from __future__ import annotations

import gzip
import json
import math
import os
import time

from sqlalchemy import text

from models import places, tiles
from models.db import database_url, session_factory

VIEW_PX = (1280, 800)
ZOOMS = {"village": (11, 12), "group": (13, 14)}


def tolerance(zoom: int) -> float:
    # As webmap.views.api: a third of a screen pixel in degrees.
    return 360.0 / (256 * 2**zoom) / 3


def viewport(lon: float, lat: float, z: int) -> tuple[float, float, float, float]:
    deg_per_px = 360.0 / (256 * 2**z)
    half_w = VIEW_PX[0] / 2 * deg_per_px
    half_h = VIEW_PX[1] / 2 * deg_per_px * math.cos(math.radians(lat))
    return lon - half_w, lat - half_h, lon + half_w, lat + half_h


def main() -> None:
    _main()
    # Two cores shared with other work: wall times mean little without the load beside them.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _main() -> None:
    with session_factory(database_url())() as session:
        gen = places.active_generation(session)
        centres = session.execute(
            text(
                "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c, code FROM"
                " admin_unit WHERE generation_id = :g AND level = 'township'"
                " ORDER BY md5(code) LIMIT 10) t"
            ),
            {"g": gen.id},
        ).all()
        for level, zooms in ZOOMS.items():
            for z in zooms:
                gj_bytes = gj_gz = gj_time = mvt_bytes = mvt_gz = mvt_time = n_tiles = 0.0
                for lon, lat in centres:
                    bbox = viewport(lon, lat, z)
                    start = time.perf_counter()
                    data = places.units_geojson(
                        session, gen.id, level=level, bbox=bbox, tolerance=tolerance(z)
                    )
                    body = json.dumps(data, ensure_ascii=False).encode()
                    gj_time += time.perf_counter() - start
                    gj_bytes += len(body)
                    gj_gz += len(gzip.compress(body, 6))
                    for tz, tx, ty in tiles.tiles_covering(bbox, z):
                        start = time.perf_counter()
                        tile = tiles.unit_tile(session, gen.id, level=level, z=tz, x=tx, y=ty)
                        mvt_time += time.perf_counter() - start
                        mvt_bytes += len(tile)
                        mvt_gz += len(gzip.compress(tile, 6))
                        n_tiles += 1
                n = len(centres)
                print(
                    f"{level} z{z}: GeoJSON {gj_bytes / n / 1e3:.0f} kB ({gj_gz / n / 1e3:.0f} kB gz), "
                    f"{gj_time / n * 1e3:.0f} ms | MVT {n_tiles / n:.0f} tiles "
                    f"{mvt_bytes / n / 1e3:.0f} kB ({mvt_gz / n / 1e3:.0f} kB gz), "
                    f"{mvt_time / n * 1e3:.0f} ms | bytes MVT/GeoJSON {mvt_bytes / gj_bytes:.2f}× "
                    f"(gz {mvt_gz / gj_gz:.2f}×), time {mvt_time / gj_time:.2f}× (per view, mean of {n})"
                )


if __name__ == "__main__":
    main()

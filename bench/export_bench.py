"""Benchmark: exporting every villager group to a GeoPackage, beside ogr2ogr, same run.

qungong's export (``webmap.services.exports.export_layer``: area-scoped read from PostGIS,
Chinese field names, GeoPackage by pyogrio) of the active generation's 47,224 groups against
``ogr2ogr -f GPKG`` reading the same rows from the same PostGIS tables. Target: ≤ 10 s.
The audit row the export writes is rolled back, so the demo database stays untouched.
Also prints the other formats' times for the same layer.

Run: ``DATABASE_URL=postgresql://postgres@127.0.0.1:54329/qungong .venv/bin/python
bench/export_bench.py [--formats gpkg,shp,csv,geojson]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from models.db import database_url, session_factory
from webmap.services.exports import export_layer

TARGET_SECONDS = 10.0
SQL = (
    "SELECT u.code, u.name, p.code AS parent_code, p.name AS parent_name, u.county_code,"
    " u.households, u.population, u.geom FROM admin_unit u"
    " LEFT JOIN admin_unit p ON p.id = u.parent_id"
    " JOIN generation gn ON gn.id = u.generation_id AND gn.active"
    " WHERE u.level = 'group' ORDER BY u.code"
)


def qungong(fmt: str, directory: Path) -> tuple[float, int, int]:
    """(seconds, rows, bytes) of one export, its audit row rolled back."""
    with session_factory(database_url())() as session:
        start = time.perf_counter()
        done = export_layer(
            session, "groups", fmt=fmt, prefix="", username="bench", directory=directory
        )
        secs = time.perf_counter() - start
        session.rollback()
    return secs, done.rows, done.path.stat().st_size


def ogr2ogr(directory: Path) -> tuple[float, int]:
    url = database_url().replace("postgresql+psycopg://", "postgresql://")
    out = directory / "ogr_groups.gpkg"
    start = time.perf_counter()
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"PG:{url}", "-sql", SQL, "-nln", "groups"],
        check=True,
    )
    return time.perf_counter() - start, out.stat().st_size


def main() -> None:
    _main()
    # Two cores shared with other work: wall times mean little without the load beside them.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--formats", default="gpkg,shp,csv,geojson")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        anchor, anchor_size = ogr2ogr(Path(tmp))
        for fmt in args.formats.split(","):
            work = Path(tmp) / fmt
            work.mkdir()
            secs, rows, size = qungong(fmt, work)
            verdict = ""
            if fmt == "gpkg":
                verdict = f" (target ≤ {TARGET_SECONDS:.0f} s: {'met' if secs <= TARGET_SECONDS else 'NOT met'})"
            print(
                f"qungong export groups {fmt}: {rows:,} features, {size / 1e6:.1f} MB, "
                f"{secs:.2f} s{verdict}; ratio to ogr2ogr GPKG = {secs / anchor:.2f}×"
            )
        print(
            f"anchor ogr2ogr PostGIS -> GPKG (same rows): {anchor_size / 1e6:.1f} MB, {anchor:.2f} s"
        )


if __name__ == "__main__":
    main()

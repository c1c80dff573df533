"""Benchmark: qungong's boundary import (checks, linking, commit) vs plain ogr2ogr, same run.

Loads the full-size 2013 Shaoyang stand-in boundaries (12 + 255 + 5,903 + 47,224 polygons,
from demo.network / demo.files as CGCS2000 GK CM 111E GBK shapefiles) into a throwaway
PostGIS cluster twice: with ``ingest.boundaries.import_boundaries(commit=True)`` (encoding
detection, CRS checks, repair, parent linking, spill/gap/overlap checks, COPY, batch row), and
with ``ogr2ogr -f PostgreSQL`` reprojecting to EPSG:4326 without any checks.  Prints both,
and their ratio against the anchor (target ≤ 1.5×).

Run: ``.venv/bin/python bench/ingest_bench.py [--scale 1.0] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import gc
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from demo.files import write_files
from demo.network import build_network
from ingest.boundaries import import_boundaries
from models.cluster import LocalCluster, free_port
from models.db import engine_for, migrate

LEVELS = ("county", "township", "village", "group")
TARGET_RATIO = 1.5


def qungong_load(url: str, files: dict[str, Path], generation: str) -> tuple[float, list]:
    start = time.perf_counter()
    reports = [
        import_boundaries(url, files[f"{level}_2013"], generation=generation, commit=True)
        for level in LEVELS
    ]
    elapsed = time.perf_counter() - start
    for r in reports:
        if r.status != "committed":
            raise SystemExit(f"qungong import failed:\n{r.to_text('en')}")
    return elapsed, reports


def ogr_load(cluster: LocalCluster, dbname: str, files: dict[str, Path]) -> float:
    conn = f"PG:host={cluster.socket_dir} port={cluster.port} dbname={dbname} user=postgres"
    start = time.perf_counter()
    for level in LEVELS:
        proc = subprocess.run(
            [
                "ogr2ogr",
                "-f",
                "PostgreSQL",
                conn,
                str(files[f"{level}_2013"]),
                "-oo",
                "ENCODING=GBK",
                "-nln",
                f"ogr_{level}",
                "-nlt",
                "PROMOTE_TO_MULTI",
                "-t_srs",
                "EPSG:4326",
                "-lco",
                "GEOMETRY_NAME=geom",
                "-lco",
                "PRECISION=NO",
                "-overwrite",
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(f"ogr2ogr failed: {proc.stderr.strip()}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="qungong-ingest-bench-"))
    cluster = LocalCluster(root=work / "pg", port=free_port(), dbname="bench", fast=True)
    try:
        t = time.perf_counter()
        network = build_network(seed=2013, scale=args.scale)
        files = write_files(network, work / "files", generations=("2013",))
        u = network.units
        counts = u[u["generation"] == "2013"]["level"].value_counts()
        print(
            "files: "
            + ", ".join(f"{lv} {counts.get(lv, 0):,}" for lv in LEVELS)
            + f" (built in {time.perf_counter() - t:.1f} s)"
        )
        # A real import runs in a fresh process: drop the generator's ~10^5 objects so the
        # garbage collector does not walk them during the timed runs.
        del network, u
        gc.collect()
        cluster.init()
        cluster.start()
        ours, anchor = [], []
        for i in range(args.repeat):
            # Alternate the order so neither side always gets the warmer cache.
            # Fresh databases each run: a committed file would be "already imported".
            name = f"ogr{i}"
            cluster.create_database(name)
            ours_db = f"q{i}"
            cluster.create_database(ours_db)
            migrate(cluster.url(ours_db))
            first_ogr = i % 2 == 0
            if first_ogr:
                anchor.append(ogr_load(cluster, name, files))
            elapsed, reports = qungong_load(cluster.url(ours_db), files, generation="2013")
            ours.append(elapsed)
            if not first_ogr:
                anchor.append(ogr_load(cluster, name, files))
            engine_for(cluster.url(ours_db)).dispose()
            steps: dict[str, float] = {}
            for r in reports:
                for k, v in r.timings.items():
                    steps[k] = steps.get(k, 0.0) + v
            print(
                f"run {i + 1}: qungong {elapsed:.2f} s ("
                + ", ".join(f"{k} {v:.2f}" for k, v in steps.items())
                + f"), ogr2ogr {anchor[-1]:.2f} s"
            )
        best_ours, best_anchor = min(ours), min(anchor)
        ratio = best_ours / best_anchor
        print(
            f"qungong import (checks, linking, commit): {best_ours:.2f} s | "
            f"ogr2ogr -f PostgreSQL (no checks): {best_anchor:.2f} s | "
            f"ratio {ratio:.2f}× (target ≤ {TARGET_RATIO}×) "
            + ("OK" if ratio <= TARGET_RATIO else "OVER")
        )
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

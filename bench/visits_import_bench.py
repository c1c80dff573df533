"""Benchmark the import of the demo's 1.6 million visits, step by step, and its duplicate check.

On a COPY of the demo database (``--url``; its visits are deleted first, so never point it at
the shared one) this runs, in the same process and run:

1. the anchor: the CSV ``COPY``'d as text into an unindexed temporary table, as a DBA would
   load it with ``psql \\copy`` (no parsing, conversion, attribution, keys or checks);
2. ``qungong visits import visits.csv --commit`` (:func:`ingest.activity.import_visits`), one
   transaction, timed per step from its report;
3. the same importer on a new file holding the first 400,000 rows of the one just imported
   (the #13 case): the dry run must report 400,000 duplicates and the commit add nothing.

With ``--pgdata`` (the data directory of a cluster only this bench uses) it also prints the
CPU seconds of the server's processes beside this process's own: on a shared 2-core machine
the wall time swings with the neighbours' load, the CPU seconds much less.  ``--before``
runs only the import (no duplicate step), for the code before the natural keys.

Run: ``.venv/bin/python bench/visits_import_bench.py --url postgresql://…/qg_copy
[--file var/demo/visits.csv] [--pgdata DIR]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.activity import import_visits  # noqa: E402
from models.db import engine_for  # noqa: E402


def server_cpu(pgdata: Path | None) -> float:
    """CPU seconds used so far by the cluster's processes (postmaster and its children)."""
    if pgdata is None:
        return float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    master = int((pgdata / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if master in (pid, ppid):
            # utime, stime, and the reaped children's cutime, cstime
            total += sum(int(v) for v in fields[11:15]) / tick
    return total


def timed(pgdata: Path | None, func, *args, **kwargs):
    """(result, wall s, this process's CPU s, the server's CPU s)."""
    wall, cpu, server = time.perf_counter(), time.process_time(), server_cpu(pgdata)
    result = func(*args, **kwargs)
    return (
        result,
        time.perf_counter() - wall,
        time.process_time() - cpu,
        server_cpu(pgdata) - server,
    )


def reset(url: str) -> None:
    """Empty the copy's visits (and their batches) so the file imports afresh."""
    with engine_for(url).begin() as conn:
        conn.execute(text("DELETE FROM review_item WHERE kind = 'visit'"))
        conn.execute(text("TRUNCATE visit"))
        conn.execute(text("DELETE FROM audit_log WHERE action = 'import.visits'"))
        conn.execute(text("DELETE FROM import_batch WHERE kind = 'visits'"))


def copy_anchor(url: str, path: Path) -> float:
    """Seconds to COPY the raw CSV into an unindexed temporary text table."""
    header = path.open(encoding="utf-8-sig").readline().strip().split(",")
    cols = ", ".join(f'"{c}" text' for c in header)
    raw = engine_for(url).raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE visits_raw ({cols})")
            start = time.perf_counter()
            with (
                cur.copy("COPY visits_raw FROM STDIN (FORMAT csv, HEADER)") as copy,
                path.open("rb") as fh,
            ):
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)
            took = time.perf_counter() - start
        raw.rollback()
    finally:
        raw.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a COPY of the demo database")
    parser.add_argument("--file", type=Path, default=ROOT / "var" / "demo" / "visits.csv")
    parser.add_argument("--head", type=int, default=400_000)
    parser.add_argument("--pgdata", type=Path, help="data directory of the bench's own cluster")
    parser.add_argument("--before", action="store_true", help="import only (older code)")
    args = parser.parse_args()
    reset(args.url)
    _, anchor, anchor_cpu, anchor_server = timed(args.pgdata, copy_anchor, args.url, args.file)
    print(f"anchor: COPY of the raw CSV into an unindexed text table: {anchor:.1f} s"
          f" (CPU: here {anchor_cpu:.1f} s, server {anchor_server:.1f} s)")  # fmt: skip
    report, took, cpu, server = timed(
        args.pgdata, import_visits, args.url, args.file, commit=True, username="bench"
    )
    steps = ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items())
    print(f"import --commit: {took:.1f} s ({steps}); CPU: here {cpu:.1f} s, server"
          f" {server:.1f} s; loaded {report.counts['visits']:,}, review"
          f" {report.counts['review']}, duplicates {report.counts.get('duplicates')}")  # fmt: skip
    print(f"ratio import / COPY anchor: wall {took / anchor:.1f}, CPU"
          f" {(cpu + server) / (anchor_cpu + anchor_server):.1f}")  # fmt: skip
    if args.before:
        return
    with tempfile.TemporaryDirectory() as tmp:
        head = Path(tmp) / "visits_head.csv"
        with args.file.open("rb") as src, head.open("wb") as out:
            for i, line in enumerate(src):
                if i > args.head:
                    break
                out.write(line)
        dry, dry_s, dry_cpu, dry_server = timed(args.pgdata, import_visits, args.url, head)
        again, again_s, _, _ = timed(args.pgdata, import_visits, args.url, head, commit=True)
    print(f"first {args.head:,} rows as a new file, dry run: {dry_s:.1f} s (CPU here"
          f" {dry_cpu:.1f} s, server {dry_server:.1f} s), visits {dry.counts['visits']:,},"
          f" duplicates {dry.counts['duplicates']:,}")  # fmt: skip
    print(f"... commit: {again_s:.1f} s, added {again.counts['visits']:,},"
          f" duplicates skipped {again.counts['duplicates']:,}")  # fmt: skip
    with engine_for(args.url).connect() as conn:
        stored = conn.execute(text("SELECT count(*), count(DISTINCT natural_key) FROM visit")).one()
    print(f"visits stored {stored[0]:,}, distinct natural keys {stored[1]:,}")


if __name__ == "__main__":
    main()

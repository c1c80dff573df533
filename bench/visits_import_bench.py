"""Benchmark the import of the demo's 1.6 million visits, step by step, and its duplicate check.

On a COPY of the demo database (``--url``; its visits are deleted first, so never point it at
the shared one) this runs, in the same process and run:

1. the anchor: the CSV ``COPY``'d as text into an unindexed temporary table, as a DBA would
   load it with ``psql \\copy`` (no parsing, conversion, attribution, keys or checks);
2. ``qungong visits import visits.csv --commit`` (:func:`ingest.activity.import_visits`), one
   transaction, timed per step from its report;
3. the same importer on a new file holding the first 400,000 rows of the one just imported
   (the #13 case): the dry run must report 400,000 duplicates and the commit add nothing.

Run: ``.venv/bin/python bench/visits_import_bench.py --url postgresql://…/qg_copy
[--file var/demo/visits.csv]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.activity import import_visits  # noqa: E402
from models.db import engine_for  # noqa: E402


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
    args = parser.parse_args()
    reset(args.url)
    anchor = copy_anchor(args.url, args.file)
    print(f"anchor: COPY of the raw CSV into an unindexed text table: {anchor:.1f} s")

    start = time.perf_counter()
    report = import_visits(args.url, args.file, commit=True, username="bench")
    took = time.perf_counter() - start
    steps = ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items())
    print(f"import --commit: {took:.1f} s ({steps}); loaded {report.counts['visits']:,},"
          f" review {report.counts['review']}, duplicates {report.counts['duplicates']}")  # fmt: skip
    print(f"ratio import / COPY anchor: {took / anchor:.1f}")

    with tempfile.TemporaryDirectory() as tmp:
        head = Path(tmp) / "visits_head.csv"
        with args.file.open("rb") as src, head.open("wb") as out:
            for i, line in enumerate(src):
                if i > args.head:
                    break
                out.write(line)
        start = time.perf_counter()
        dry = import_visits(args.url, head)
        dry_s = time.perf_counter() - start
        start = time.perf_counter()
        again = import_visits(args.url, head, commit=True)
        again_s = time.perf_counter() - start
    print(f"first {args.head:,} rows as a new file, dry run: {dry_s:.1f} s, visits "
          f"{dry.counts['visits']:,}, duplicates {dry.counts['duplicates']:,}")  # fmt: skip
    print(f"... commit: {again_s:.1f} s, added {again.counts['visits']:,},"
          f" duplicates skipped {again.counts['duplicates']:,}")  # fmt: skip
    with engine_for(args.url).connect() as conn:
        stored = conn.execute(text("SELECT count(*), count(DISTINCT natural_key) FROM visit")).one()
    print(f"visits stored {stored[0]:,}, distinct natural keys {stored[1]:,}")


if __name__ == "__main__":
    main()

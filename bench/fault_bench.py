"""Faults during imports, on a throwaway cluster of its own: each must end with a clear error or
a retry, and nothing lost or written twice (row counts and checksums afterwards).

1. ``kill -9`` of the database server in the middle of a visits import (--commit), restart,
   rerun: the first run must end in one clear line and leave no visit; the rerun loads all.
2. The same file imported by two members of staff at once: one commits, the other is told.
3. A generation activated while lookups (``covering_group``) and an import run: the lookups
   keep answering, the import stops with a clear line and writes nothing.
4. ``qungong db dump`` / ``db restore`` round trip: identical checksums of every table.

Not covered here (see the note): a disk filled under the cluster, and the server restarted
while pages are being served.

Run: ``.venv/bin/python bench/fault_bench.py [--n 300000]``
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.activity import import_visits  # noqa: E402
from ingest.errors import IngestError  # noqa: E402
from models import activity  # noqa: E402
from models.cluster import LocalCluster, free_port  # noqa: E402
from models.db import engine_for, migrate, session_factory  # noqa: E402
from tests.factories import load_tiny_network  # noqa: E402

TABLES = ("generation", "admin_unit", "team", "import_batch", "review_item", "visit", "audit_log")


def visits_file(folder: Path, n: int, name: str = "visits.csv", *, first: int = 0) -> Path:
    """``n`` phone-GPS visits spread over the tiny network's groups (110.0-110.4 E), with
    source ids from ``first`` on."""
    rng = np.random.default_rng(13 + first)
    frame = pd.DataFrame(
        {
            "走访编号": [f"V{i:08d}" for i in range(first, first + n)],
            "户号": [f"h{i % 5000}" for i in range(n)],
            "走访时间": pd.Timestamp("2013-01-01 08:00")
            + pd.to_timedelta(np.arange(n) * 37, unit="s"),
            "经度": np.round(rng.uniform(110.001, 110.399, n), 7),
            "纬度": np.round(rng.uniform(27.001, 27.199, n), 7),
        }
    )
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def checksums(url: str) -> dict[str, tuple[int, str | None]]:
    """(rows, md5 of the ordered rows) of each table."""
    out = {}
    with engine_for(url).connect() as conn:
        for table in TABLES:
            out[table] = tuple(
                conn.execute(
                    text(
                        f"SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text))"
                        f" FROM {table} t"
                    )
                ).one()
            )
    return out


def kill_mid_import(cluster: LocalCluster, url: str, path: Path) -> None:
    print("1. kill -9 of the database during a visits import, restart, rerun")
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(import_visits(url, path, commit=True))
        except IngestError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    start = time.perf_counter()
    worker.start()
    # Wait until the import's transaction has written its staging rows, then kill the server.
    while time.perf_counter() - start < 600:
        with engine_for(url).connect() as conn:
            busy = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                    " AND (query ILIKE 'COPY activity_stage%' OR query ILIKE '%INSERT INTO visit%')"
                )
            ).scalar_one()
        if busy:
            break
        time.sleep(0.2)
    master = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    os.kill(master, signal.SIGKILL)
    for child in subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                                text=True).stdout.split():  # fmt: skip
        os.kill(int(child), signal.SIGKILL)
    print(f"   killed the server (pid {master}) {time.perf_counter() - start:.1f} s into it")
    worker.join()
    print(f"   the import said: {outcome[0]}")
    engine_for(url).dispose()
    cluster.start()
    after_kill = checksums(url)["visit"][0]
    report = import_visits(url, path, commit=True)
    print(f"   after restart: {after_kill} visits (expected 0); rerun: {report.status},"
          f" {report.counts['visits']:,} loaded, {report.counts['duplicates']} duplicates")  # fmt: skip


def two_at_once(url: str, path: Path) -> None:
    print("2. the same file imported by two members of staff at once")
    results: list[object] = []

    def run(user: str) -> None:
        try:
            results.append(import_visits(url, path, commit=True, username=user))
        except IngestError as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=(u,)) for u in ("staff_a", "staff_b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        print(f"   {getattr(r, 'status', type(r).__name__)}: "
              f"{r.to_text('en').splitlines()[-2] if hasattr(r, 'to_text') else r}")  # fmt: skip


def activation_during(url: str, path: Path) -> None:
    print("3. a generation activated while lookups and an import run")
    answers, errors = [], []
    stop = threading.Event()

    def lookups() -> None:
        rng = np.random.default_rng(1)
        while not stop.is_set():
            with session_factory(url)() as s:
                gen = activity.active_generation_id(s)
                x, y = rng.uniform(110.0, 110.4), rng.uniform(27.0, 27.2)
                try:
                    answers.append(activity.covering_group(s, generation_id=gen, lon=x, lat=y))
                except Exception as exc:
                    errors.append(exc)

    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(import_visits(url, path, commit=True))
        except IngestError as exc:
            outcome.append(exc)

    looker, importer = threading.Thread(target=lookups), threading.Thread(target=run)
    looker.start()
    importer.start()
    # Activate once the import's transaction is under way (its stage is being filled).
    while importer.is_alive():
        with engine_for(url).connect() as conn:
            if conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                    " AND query ILIKE '%team t%JOIN admin_unit%'"
                )
            ).scalar_one():
                break
        time.sleep(0.05)
    with engine_for(url).begin() as conn:
        new = conn.execute(
            text(
                "INSERT INTO generation (name, valid_from, active) SELECT '2023', '2023-01-01',"
                " false RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO admin_unit (generation_id, level, code, name, county_code, geom)"
                " SELECT :g, level, code, name, county_code, geom FROM admin_unit"
                " WHERE generation_id = (SELECT id FROM generation WHERE active)"
            ),
            {"g": new},
        )
        conn.execute(text("UPDATE generation SET active = false WHERE active"))
        conn.execute(text("UPDATE generation SET active = true WHERE id = :g"), {"g": new})
    importer.join()
    time.sleep(0.5)
    stop.set()
    looker.join()
    said = outcome[0]
    if hasattr(said, "status"):
        said = f"{said.status}, {said.counts.get('visits', 0):,} loaded"  # type: ignore[attr-defined]
    print(f"   lookups answered {len(answers)}, failed {len(errors)}; the import: {said}")


def dump_restore(cluster: LocalCluster, url: str, folder: Path) -> None:
    print("4. qungong db dump / db restore round trip")
    dump = folder / "qungong.dump"
    env = {**os.environ, "DATABASE_URL": url}
    cli = [sys.executable, "-m", "webmap", "db"]
    subprocess.run([*cli, "dump", str(dump)], env=env, check=True, cwd=ROOT)
    cluster.create_database("restored")
    restored = cluster.url("restored")
    subprocess.run([*cli, "restore", str(dump)], env={**env, "DATABASE_URL": restored},
                   check=True, cwd=ROOT)  # fmt: skip
    before, after = checksums(url), checksums(restored)
    same = [t for t in TABLES if before[t] == after[t]]
    print(f"   {dump.stat().st_size / 1e6:.1f} MB; identical tables {len(same)}/{len(TABLES)}"
          f" ({', '.join(f'{t} {before[t][0]:,}' for t in TABLES)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="qungong-faults-"))
    cluster = LocalCluster(root=root, port=free_port(), dbname="faults", fast=False)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database()
        url = cluster.url()
        migrate(url)
        load_tiny_network(url)
        path = visits_file(root, args.n)
        kill_mid_import(cluster, url, path)
        two_at_once(url, visits_file(root, args.n // 10, "second.csv", first=10 * args.n))
        activation_during(url, visits_file(root, args.n // 3, "third.csv", first=20 * args.n))
        dump_restore(cluster, url, root)
    finally:
        engine_for(cluster.url()).dispose()
        cluster.destroy()


if __name__ == "__main__":
    main()

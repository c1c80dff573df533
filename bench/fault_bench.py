"""Faults during imports, on a throwaway cluster of its own: each must end with a clear error or
a retry, and nothing lost or written twice (row counts and checksums afterwards).

1. ``kill -9`` of the database server in the middle of a visits import (--commit), restart,
   rerun: the first run must end in one clear line and leave no visit; the rerun loads all.
2. The same file imported by two members of staff at once: one commits, the other is told.
3. A generation activated while lookups (``covering_group``) and an import run: the lookups
   keep answering, the import stops with a clear line and writes nothing.
4. ``qungong db dump`` / ``db restore`` round trip: identical checksums of every table.
5. The disk of a second scratch cluster filled during a visits import: its data directory
   lies on a tmpfs (root only: ``mount -t tmpfs``) sized a little over what the cluster holds
   before the import. The import must end in one clear line with nothing written; after the
   disk is made larger (``mount -o remount``) the server is up (restarted if it stopped) and
   the rerun loads every visit.
6. The database restarted while ``qungong run`` (gunicorn) serves /ogc/ and /api/ to a
   polling client: during the outage every answer is a 503 ``database_unavailable``, never a
   500, and the service answers 200 again after it without being restarted itself.

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


def disk_full(n: int) -> None:
    print("5. the disk of the database filled during a visits import")
    if os.geteuid() != 0:
        print("   skipped: mounting a small filesystem needs root")
        return
    mount = Path(tempfile.mkdtemp(prefix="qungong-small-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1g", "tmpfs", str(mount)], check=True)
    cluster = LocalCluster(root=mount / "pg", port=free_port(), dbname="full", fast=False)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database()
        url = cluster.url()
        migrate(url)
        load_tiny_network(url)
        engine_for(url).dispose()
        used = int(subprocess.run(["du", "-sm", str(mount)], capture_output=True, text=True,
                                  check=True).stdout.split()[0])  # fmt: skip
        # Room for the server's own WAL and a little of the import, not for all of it.
        size = used + 48
        subprocess.run(["mount", "-o", f"remount,size={size}m", str(mount)], check=True)
        path = visits_file(Path(tempfile.mkdtemp(prefix="qungong-full-")), n)
        before = checksums(url)
        try:
            said: object = import_visits(url, path, commit=True)
        except IngestError as exc:
            said = exc
        print(f"   disk {size} MB ({used} MB used before); the import said: {said}")
        engine_for(url).dispose()
        subprocess.run(["mount", "-o", "remount,size=1g", str(mount)], check=True)
        restarted = cluster.start()
        after = checksums(url)
        same = [t for t in TABLES if before[t] == after[t]]
        print(f"   after freeing space (server restarted: {restarted}): identical tables "
              f"{len(same)}/{len(TABLES)}, {after['visit'][0]} visits")  # fmt: skip
        report = import_visits(url, path, commit=True)
        print(f"   rerun: {report.status}, {report.counts['visits']:,} loaded")
    finally:
        engine_for(cluster.url()).dispose()
        cluster.stop()
        subprocess.run(["umount", str(mount)], check=False)


def restart_while_serving(cluster: LocalCluster, url: str, port: int) -> None:
    print("6. the database restarted while qungong run serves pages")
    from models import tokens, users

    with session_factory(url)() as s, s.begin():
        users.create_user(s, "bench", role="admin", area_code="430500000000",
                          password="Bench-pw-2026!x")  # fmt: skip
        _, token = tokens.create_token(s, "bench")
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "webmap", "run", "--port", str(port)], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    seen: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def poll() -> None:
        import urllib.error
        import urllib.request

        paths = ["/ogc/collections/groups/items?limit=3", "/api/units?level=village"]
        i = 0
        while not stop.is_set():
            req = urllib.request.Request(f"http://127.0.0.1:{port}{paths[i % 2]}",
                                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            i += 1
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    seen.append((time.monotonic(), resp.status, ""))
            except urllib.error.HTTPError as err:
                seen.append((time.monotonic(), err.code, err.headers.get("X-Error-Code", "")))
            except OSError:
                seen.append((time.monotonic(), 0, "no answer"))
            time.sleep(0.1)

    try:
        _wait_for(port)
        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(3)
        down = time.monotonic()
        cluster.stop()
        time.sleep(5)
        cluster.start()
        up = time.monotonic()
        time.sleep(5)
        stop.set()
        poller.join()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    during = [c for t, c, _ in seen if down + 0.5 < t < up]
    after = [c for t, c, _ in seen if t > up]
    first_ok = next((t - up for t, c, _ in seen if t > up and c == 200), None)
    codes = sorted({(c, e) for t, c, e in seen if down < t < up})
    print(f"   {len(seen)} requests; during the 5 s outage: {len(during)} answers {codes}; "
          f"after: {after.count(200)}/{len(after)} 200"
          f" (first 200 {first_ok:.1f} s after the restart); 500s: "
          f"{sum(c == 500 for _, c, _ in seen)}")  # fmt: skip


def _wait_for(port: int) -> None:
    import urllib.request

    for _ in range(180):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"the server on port {port} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--port", type=int, default=5019, help="for scenario 6's server")
    parser.add_argument("--only", type=int, choices=(5, 6), help="run one of the new scenarios")
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
        if args.only == 6:
            restart_while_serving(cluster, url, args.port)
            return
        if args.only == 5:
            disk_full(args.n)
            return
        path = visits_file(root, args.n)
        kill_mid_import(cluster, url, path)
        two_at_once(url, visits_file(root, args.n // 10, "second.csv", first=10 * args.n))
        activation_during(url, visits_file(root, args.n // 3, "third.csv", first=20 * args.n))
        dump_restore(cluster, url, root)
        restart_while_serving(cluster, url, args.port)
        disk_full(args.n)
    finally:
        engine_for(cluster.url()).dispose()
        cluster.destroy()


if __name__ == "__main__":
    main()

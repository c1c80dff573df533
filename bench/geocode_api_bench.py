"""Benchmark: a batch of 10,000 addresses through POST /api/geocode, beside `qungong geocode`.

Serves the app on 127.0.0.1 (werkzeug, one thread) on DATABASE_URL (read-only: the demo
database) as the demo admin, warms the gazetteer with one small call (it stays loaded between
calls, as in service), then times a JSON batch and a CSV batch of 10,000 distinct addresses
the warm-up never saw (the gazetteer keeps a per-address cache). Target: ≤ 2 s per batch.
The anchor, in the same run, is what another system would do without the service: run
``qungong geocode`` on the same CSV (a new process that loads the gazetteer each time).

Run: ``DATABASE_URL=postgresql://postgres@127.0.0.1:54329/qungong .venv/bin/python
bench/geocode_api_bench.py [--n 10000] [--port 5036]``
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import text

from models.db import database_url, session_factory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ogc_bench import serve

TARGET_SECONDS = 2.0


def sample_addresses(n: int) -> list[str]:
    """2n distinct case addresses of the demo, in a fixed pseudo-random order."""
    with session_factory(database_url())() as session:
        rows = session.execute(
            text(
                "SELECT address FROM (SELECT DISTINCT address FROM case_record"
                " WHERE address IS NOT NULL) a ORDER BY md5(address) LIMIT :n"
            ),
            {"n": 2 * n},
        ).scalars()
        return list(rows)


def post(url: str, body: bytes, media: str) -> tuple[float, bytes]:
    """(wall seconds, body); the CPU seconds of this process (server and client) are
    printed too, because on a shared 2-core machine wall time mostly measures the neighbours."""
    req = urllib.request.Request(url, data=body, headers={"Content-Type": media}, method="POST")
    start, cpu = time.perf_counter(), time.process_time()
    with urllib.request.urlopen(req) as resp:
        data = resp.read()
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - start, data


CPU: list[float] = []


def as_csv(addresses: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "address"])
    writer.writerows(enumerate(addresses))
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=int(os.environ.get("QUNGONG_WEB_PORT", 5036)))
    args = parser.parse_args()
    addresses = sample_addresses(args.n)
    warm, batch_json, batch_csv = addresses[:50], addresses[: args.n], addresses[args.n :]
    _, server = serve(args.port, "admin")
    url = f"http://127.0.0.1:{args.port}/api/geocode"
    cold, _ = post(url, json.dumps(warm[:1]).encode(), "application/json")
    secs_json, body = post(url, json.dumps(batch_json[50:] + warm).encode(), "application/json")
    answers = json.loads(body)
    matched = sum(a["status"] == "matched" for a in answers)
    secs_csv, csv_body = post(url, as_csv(batch_csv), "text/csv")
    server.shutdown()  # type: ignore[attr-defined]
    verdict = "met" if max(secs_json, secs_csv) <= TARGET_SECONDS else "NOT met"
    print(f"first call (loads the gazetteer): {cold:.2f} s")
    print(
        f"POST /api/geocode JSON, {len(answers):,} addresses: {secs_json:.2f} s "
        f"(CPU {CPU[1]:.2f} s; {matched / len(answers):.1%} matched); CSV, {len(batch_csv):,}: "
        f"{secs_csv:.2f} s (CPU {CPU[2]:.2f} s) (target ≤ {TARGET_SECONDS:.0f} s: {verdict}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    start = time.perf_counter()
    cli = subprocess.run(
        [sys.executable, "-m", "webmap", "geocode", "-"],
        input=as_csv(batch_csv),
        capture_output=True,
        env=env,
        check=True,
    )
    anchor = time.perf_counter() - start
    same = cli.stdout.decode() == csv_body.decode()
    print(
        f"anchor `qungong geocode` on the same CSV (new process): {anchor:.2f} s; "
        f"ratio API/CLI = {secs_csv / anchor:.2f}×; identical output: {same}"
    )


if __name__ == "__main__":
    main()

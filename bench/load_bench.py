"""Load test (issue #13): locust, headless, on loopback, against `qungong run` (gunicorn) and,
in the same run, the same mixes against Flask's development server (`qungong run --dev`).

Mixes (bench/load_locustfile.py), each with a think time of 0.5-2 s per user:

- ``cached``: 200 users on the leaders' page and layers with filters warmed beforehand
  (target: p95 <= 1 s);
- ``uncached``: 40 users each asking the hotspot layer with a filter nobody asked before
  (target: p95 <= 3 s);
- ``mixed``: 100 users on network page, map-view units, point lookups, geocoding, cached and
  uncached leaders' layers.

Target for every mix: zero 5xx.  Each server is started, warmed and stopped by the bench, one
at a time, so they never compete for the two cores.  The database must be a copy of the demo
(log-ins write sessions and audit rows): ``createdb -T qungong qg_NAME``.

Run: ``.venv/bin/python bench/load_bench.py --url postgresql://postgres@127.0.0.1:54329/qg_NAME
[--port 5017] [--seconds 30] [--only gunicorn]``
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIXES = (("cached", 200, 1.0), ("uncached", 40, 3.0), ("mixed", 100, 3.0))
CACHED = (
    "",
    "kind=dispute&from=2013&to=2013",
    "status=closed&area=430521000000",
    "area=430521101000&kind=dispute",
)
AREAS = ("430500000000", "430521000000", "430522000000", "430525000000", "430581000000")
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def start_server(url: str, port: int, *, dev: bool) -> subprocess.Popen[bytes]:
    """`qungong run` (gunicorn) or `qungong run --dev` on 127.0.0.1:port, in its own group."""
    env = {**os.environ, "DATABASE_URL": url, "QUNGONG_DEMO": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "webmap", "run", "--port", str(port)] + (["--dev"] if dev else [])
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=5):
                return proc
        except OSError:
            time.sleep(1)
    stop_server(proc)
    raise SystemExit(f"server on port {port} did not answer within 180 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and its children (gunicorn workers, the dev reloader)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def warm(port: int, rounds: int) -> str:
    """Sign in, then ask every cached filter's page and layers ``rounds`` times (each gunicorn
    worker keeps its own cache, so once is not enough); returns the session cookie."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/auth/login").read().decode()
    token = _CSRF.search(page)
    data = f"username=leader&password=qungong-demo&csrf_token={token.group(1) if token else ''}"
    opener.open(f"{base}/auth/login", data=data.encode()).read()
    for _ in range(rounds):
        for query in CACHED:
            for path in (
                "/leaders/",
                "/api/leaders/heat",
                "/api/leaders/rates",
                "/api/leaders/hotspots",
            ):
                opener.open(f"{base}{path}?{query}", timeout=600).read()
    return next(f"{c.name}={c.value}" for c in jar if c.name == "session")


def addresses(url: str, n: int = 300) -> list[str]:
    out = subprocess.run(
        ["psql", url.replace("+psycopg", ""), "-Atc",
         f"SELECT address FROM case_record WHERE address IS NOT NULL ORDER BY md5(address) LIMIT {n}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [a for a in out.splitlines() if a and "|" not in a]


def run_mix(
    port: int, mix: str, users: int, seconds: int, env: dict[str, str]
) -> dict[str, object]:
    """One headless locust run; its aggregated figures (log-ins left out)."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "run"
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "load_locustfile.py"),
             "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
             "--stop-timeout", "30", "--loglevel", "WARNING"],
            env={**env, "QG_MIX": mix}, check=False, capture_output=True,
        )  # fmt: skip
        with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["Name"] not in ("log-in", "Aggregated")]
        with open(f"{prefix}_failures.csv", encoding="utf-8") as f:
            failures = [r for r in csv.DictReader(f) if r["Name"] != "log-in"]
        with open(f"{prefix}_stats_history.csv", encoding="utf-8") as f:
            history = list(csv.DictReader(f))
    return summarise(rows, failures, history)


def summarise(rows: list[dict[str, str]], failures: list[dict[str, str]],
              history: list[dict[str, str]]) -> dict[str, object]:  # fmt: skip
    """Requests, throughput, percentiles (of the busiest name's and overall) and 5xx."""
    count = sum(int(r["Request Count"]) for r in rows)
    rps = sum(float(r["Requests/s"]) for r in rows)
    fivexx = sum(int(r["Occurrences"]) for r in failures if re.search(r"\b5\d\d\b", r["Error"]))
    other = sum(int(r["Failure Count"]) for r in rows) - fivexx
    per_name = {
        r["Name"]: (int(r["Request Count"]), float(r["50%"]), float(r["95%"]), float(r["99%"]))
        for r in rows
    }
    load = [float(h["User Count"]) for h in history if h.get("User Count")]
    return {"count": count, "rps": rps, "5xx": fivexx, "other_failures": other,
            "per_name": per_name, "peak_users": max(load, default=0)}  # fmt: skip


def report(server: str, mix: str, users: int, target: float, res: dict[str, object]) -> None:
    print(
        f"{server:9s} {mix:9s} {users:3d} users: {res['count']:,} requests, "
        f"{res['rps']:.1f}/s, 5xx {res['5xx']}, other failures {res['other_failures']} "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    for name, (n, p50, p95, p99) in sorted(res["per_name"].items()):  # type: ignore[attr-defined]
        flag = "" if p95 <= target * 1000 else f"  (p95 target {target:.0f} s missed)"
        print(f"    {name:28s} n={n:5d}  p50 {p50 / 1000:6.2f} s  p95 {p95 / 1000:6.2f} s"
              f"  p99 {p99 / 1000:6.2f} s{flag}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="a COPY of the demo database")
    parser.add_argument("--port", type=int, default=5017)
    parser.add_argument("--seconds", type=int, default=30, help="per mix")
    parser.add_argument("--only", choices=("gunicorn", "dev"))
    args = parser.parse_args()
    env = {
        **os.environ,
        "QG_CACHED": "|".join(CACHED),
        "QG_AREAS": "|".join(AREAS),
        "QG_ADDRESSES": "|".join(addresses(args.url)),
    }
    print(f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for server in ("gunicorn", "dev"):
        if args.only and server != args.only:
            continue
        proc = start_server(args.url, args.port, dev=server == "dev")
        try:
            started = time.perf_counter()
            cookie = warm(args.port, rounds=1 if server == "dev" else 4)
            print(f"{server}: warmed the cached filters in {time.perf_counter() - started:.0f} s")
            for mix, users, target in MIXES:
                res = run_mix(args.port, mix, users, args.seconds, {**env, "QG_COOKIE": cookie})
                report(server, mix, users, target, res)
        finally:
            stop_server(proc)


if __name__ == "__main__":
    main()

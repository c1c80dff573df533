"""``qungong run`` serves with gunicorn: several processes, each with a right-sized DB pool."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from models.cluster import free_port
from webmap.serve import ServerSize, default_size

ROOT = Path(__file__).resolve().parents[2]


def test_size_fits_two_cores_and_pool_follows_threads():
    size = default_size(2)
    assert (size.workers, size.threads) == (3, 4)
    assert size.pool_size == size.threads
    assert ServerSize(workers=2, threads=8).pool_size == 8


def _wait_for(url: str, seconds: float = 120) -> urllib.request.addinfourl:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return urllib.request.urlopen(url, timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_qungong_run_serves_with_gunicorn_workers(db_url):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "webmap", "run", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with _wait_for(f"http://127.0.0.1:{port}/auth/login") as response:
            assert response.status == 200
            assert "gunicorn" in response.headers["Server"]
            assert "登录" in response.read().decode()
        # Two workers answer from two processes (gunicorn's master plus its children).
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            # Never leave a server behind for the next test, even when this one failed.
            subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
            proc.kill()
            output, _ = proc.communicate()
    assert "2 workers x 4 threads" in output
    assert "Booting worker" in output

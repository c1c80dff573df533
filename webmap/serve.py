"""``qungong run``: the web app behind gunicorn (or Flask's development server with --dev).

gunicorn because it is the plain, well-kept pre-fork WSGI server for Flask on Linux: worker
processes give the CPU-bound work (Gi* permutations, H3 binning, page rendering) both cores
despite the GIL, and threads inside each worker keep serving while a request waits on
PostgreSQL.  The app is built once in the master (``preload_app``) and forked, so workers
share its memory until they write to it; no database connection is opened before the fork.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


@dataclass(frozen=True)
class ServerSize:
    """Processes and threads, and the database pool each process needs."""

    workers: int
    threads: int

    @property
    def pool_size(self) -> int:
        """One connection per request thread: a thread never waits for another's connection."""
        return self.threads

    @property
    def max_overflow(self) -> int:
        """A few more for bursts (a request using two sessions, the log-in check)."""
        return 2


def default_size(cores: int | None = None) -> ServerSize:
    """Workers and threads for a machine with ``cores`` CPUs.

    One worker more than cores keeps a core busy while another worker's request waits on the
    database; four threads per worker cover that wait.  On two cores: 3 x 4 = 12 requests at
    once and at most 3 x (4 + 2) = 18 database connections.

    >>> default_size(2)
    ServerSize(workers=3, threads=4)
    """
    cores = cores or os.cpu_count() or 1
    return ServerSize(workers=cores + 1, threads=4)


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._app


def serve(*, host: str, port: int, size: ServerSize, timeout: int = 120) -> None:
    """Serve the app with gunicorn until interrupted."""
    from webmap.app import create_app

    app = create_app(
        {"DB_POOL_SIZE": size.pool_size, "DB_MAX_OVERFLOW": size.max_overflow},
    )
    warm(app.config["DATABASE_URL"])
    options = {
        "bind": f"{host}:{port}",
        "workers": size.workers,
        "threads": size.threads,
        "worker_class": "gthread",
        # A cold Gi* under load can take tens of seconds; a worker is only killed when stuck.
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        "preload_app": True,
        "accesslog": "-",
        "errorlog": "-",
    }
    _Gunicorn(app, options).run()


def warm(url: str) -> None:
    """Load what cold leaders' filters reuse (``webmap.services.leaders.warm``) before the
    fork, so every worker starts with it; then close every connection it opened.

    A database that cannot be reached now is not fatal: the workers load it on first use.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from models import places
    from models.db import engine_for, session_factory
    from webmap.services import leaders

    started = time.perf_counter()
    try:
        with session_factory(url)() as session:
            generation = places.active_generation(session)
            if generation is not None:
                leaders.warm(session, generation.id)
        print(f"qungong: leaders' data loaded in {time.perf_counter() - started:.1f} s", flush=True)
    except SQLAlchemyError as err:
        print(f"qungong: leaders' data not preloaded ({type(err).__name__})", flush=True)
    finally:
        # No connection may cross the fork: workers would share its socket.
        engine_for(url).dispose()


def serve_dev(*, host: str, port: int) -> None:
    """Flask's development server (reloads on code changes; one process)."""
    from webmap.app import create_app

    create_app().run(host=host, port=port, debug=True, threaded=True)

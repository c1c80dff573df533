"""Session fixtures: a throwaway PostGIS cluster, a fresh migrated database per test, the app."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.cluster import LocalCluster, free_port
from models.db import engine_for, migrate

TEMPLATE_DB = "qungong_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    """A PostgreSQL + PostGIS cluster of this test session, deleted at the end.

    The template database has PostGIS and every migration applied; each test clones it.
    """
    root = Path(tempfile.mkdtemp(prefix="qungong-pg-"))
    cluster = LocalCluster(root=root, port=free_port(), dbname=TEMPLATE_DB, fast=True)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database()
        migrate(cluster.url())
        engine_for(cluster.url()).dispose()
        cluster.ensure_app_login()  # the web app's role (the app fixture connects as it)
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def db_url(pg_cluster: LocalCluster) -> Iterator[str]:
    """URL of a fresh database (PostGIS + schema) for one test, dropped afterwards."""
    name = f"t_{os.getpid()}_{next(_counter)}"
    pg_cluster.create_database(name, template=TEMPLATE_DB)
    url = pg_cluster.url(name)
    yield url
    engine_for(url).dispose()
    pg_cluster.drop_database(name)

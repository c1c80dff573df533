"""Database connection: which server, engines, sessions and migrations.

With ``DATABASE_URL`` set qungong uses that server; otherwise the project-local cluster of
:mod:`models.cluster` (``qungong db up``) under ``QUNGONG_HOME`` (default ``./var``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, cast

import psycopg
import sqlalchemy.exc
from alembic import command
from alembic.config import Config
from sqlalchemy import CursorResult, Engine, Result, create_engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from models.cluster import DEFAULT_PORT, ClusterError, LocalCluster

MIGRATIONS = Path(__file__).parent / "migrations"


def home() -> Path:
    """Where the local cluster and generated files live."""
    return Path(os.environ.get("QUNGONG_HOME", "var")).resolve()


def local_cluster() -> LocalCluster:
    """The embedded cluster, as configured by QUNGONG_HOME and QUNGONG_PGPORT."""
    port = int(os.environ.get("QUNGONG_PGPORT", DEFAULT_PORT))
    return LocalCluster(root=home() / "pg", port=port)


def database_url() -> str:
    """The operator's URL (migrations, command-line imports): DATABASE_URL when set, else the
    local cluster's owner over its socket."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return _with_driver(url)
    return local_cluster().url()


def app_database_url() -> str:
    """Where the web app connects: never the superuser of the local cluster.

    ``QUNGONG_APP_DATABASE_URL`` when set (a server you manage, with a role of the app's
    grants); else ``DATABASE_URL`` when set (its role is the operator's choice); else the
    local cluster's ``qungong_web`` login, made by ``qungong db up``.
    """
    for name in ("QUNGONG_APP_DATABASE_URL", "DATABASE_URL"):
        if os.environ.get(name):
            return _with_driver(os.environ[name])
    url = local_cluster().app_url()
    if url is None:
        msg = "the web app's database role is missing: run `qungong db up`"
        raise ClusterError(msg)
    return url


def _with_driver(url: str) -> str:
    # Plain postgresql:// URLs get the psycopg 3 driver the package installs.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def engine_for(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """One pooled engine per URL (and pool size) for the life of the process.

    A web process sizes its pool to its request threads (``qungong run``); the default suits
    the command line and tests.
    """
    # Positional call into the cache: ``engine_for(url)`` and ``engine_for(url, pool_size=5)``
    # must be the same engine, or disposing one leaves the other's connections open.
    return _engine(url, pool_size, max_overflow)


@cache
def _engine(url: str, pool_size: int, max_overflow: int) -> Engine:
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow, future=True
    )


def connection_lost(exc: sqlalchemy.exc.DBAPIError) -> bool:
    """Whether the error means the server or the connection went away (not a bad query)."""
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None) or ""
    # Class 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect.
    return state.startswith("08") or state in ("57P01", "57P02", "57P03") or not state


def driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under the session's transaction (for COPY)."""
    raw = session.connection().connection.driver_connection
    if raw is None:
        msg = "the session's connection is closed"
        raise RuntimeError(msg)
    return cast("psycopg.Connection[Any]", raw)


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT, UPDATE or DELETE touched (``Session.execute`` types it as a plain Result)."""
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def session_factory(
    url: str, *, pool_size: int = 5, max_overflow: int = 10
) -> sessionmaker[Session]:
    """Sessions on the pooled engine of ``url`` (objects stay readable after commit)."""
    engine = engine_for(url, pool_size=pool_size, max_overflow=max_overflow)
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(url: str) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    with session_factory(url)() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # configparser interpolation: escape % in passwords
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema of the database at ``url`` up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def schema_ready(url: str) -> bool:
    """True when migrations have created the tables."""
    return inspect(engine_for(url)).has_table("admin_unit")

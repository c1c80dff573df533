"""The web app's database connection is a login role with the app's grants only, and the local
cluster trusts no connection (issue #9, database roles)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError

from models.cluster import APP_LOGIN
from models.db import engine_for
from webmap.app import create_app


@pytest.fixture
def app_url(db_url, pg_cluster):
    url = pg_cluster.app_url(make_url(db_url).database)
    yield url
    engine_for(url).dispose()


def test_the_app_connects_as_its_own_role_not_the_superuser(app, db_url):
    with engine_for(app.config["DATABASE_URL"]).connect() as conn:
        user, superuser = conn.execute(
            text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        ).one()
    assert (user, superuser) == (APP_LOGIN, False)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "CREATE TABLE stolen (a int)",
        "DROP TABLE case_record",
        "ALTER TABLE app_user ADD COLUMN x int",
        "DELETE FROM alembic_version",
        "CREATE ROLE intruder LOGIN SUPERUSER",
    ],
)
def test_the_app_role_is_refused_what_it_does_not_need(app_url, sql):
    with engine_for(app_url).connect() as conn:
        with pytest.raises(DBAPIError) as refused:
            conn.execute(text(sql))
        assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege), sql


def test_the_app_role_writes_data_and_appends_to_the_audit_log(app_url):
    with engine_for(app_url).begin() as conn:
        conn.execute(
            text("INSERT INTO audit_log (username, action, detail) VALUES ('a', 'b', '{}')")
        )
        conn.execute(text("UPDATE station SET name = name"))
        conn.execute(text("DELETE FROM station WHERE false"))
        conn.execute(text("CREATE TEMP TABLE scratch (a int) ON COMMIT DROP"))  # imports stage
        # boundary imports reserve a block of ids
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('admin_unit', 'id'), "
                "nextval(pg_get_serial_sequence('admin_unit', 'id')) + 9)"
            )
        )


def test_tcp_connections_need_a_password(pg_cluster, app_url):
    base = f"host=127.0.0.1 port={pg_cluster.port} dbname={pg_cluster.dbname}"
    for who in ("user=postgres", f"user={APP_LOGIN}", f"user={APP_LOGIN} password=wrong"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(f"{base} {who}", connect_timeout=5).close()
    assert (pg_cluster.app_password_file.stat().st_mode & 0o777) == 0o600


def test_database_url_still_overrides_the_app_role(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("QUNGONG_APP_DATABASE_URL", raising=False)
    assert create_app({"SECRET_KEY": "t"}).config["DATABASE_URL"] == db_url

"""The audit log is append-only: a trigger refuses UPDATE and DELETE for everyone, and the web
app's role (qungong_app) holds only SELECT and INSERT on it (issue #9, audit)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models.db import engine_for, transaction
from models.registers import audit


def test_rows_can_be_added_but_never_changed(db_url):
    with transaction(db_url) as s:
        audit(s, username="staff", action="export", detail={"layer": "groups"})
    for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine_for(db_url).begin() as conn:
            conn.execute(text(sql))
    with engine_for(db_url).connect() as conn:
        assert conn.execute(text("SELECT action FROM audit_log")).scalars().all() == ["export"]


def test_the_app_role_may_only_read_and_insert(db_url):
    with engine_for(db_url).begin() as conn:
        conn.execute(text("SET LOCAL ROLE qungong_app"))
        conn.execute(
            text("INSERT INTO audit_log (username, action, detail) VALUES ('a', 'b', '{}')")
        )
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 1
    for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with engine_for(db_url).connect() as conn:
            conn.execute(text("SET ROLE qungong_app"))
            with pytest.raises(DBAPIError, match="permission denied"):
                conn.execute(text(sql))
            conn.rollback()

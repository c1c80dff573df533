"""Reading the audit log (it is written by :func:`models.registers.audit`, append-only)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.schema import AuditLog


def audit_entries(
    session: Session,
    *,
    username: str | None = None,
    since: dt.datetime | None = None,
    action: str | None = None,
    limit: int = 200,
) -> list[AuditLog]:
    """Audit rows, newest first, optionally of one user, action, and from ``since`` on."""
    query = select(AuditLog)
    if username:
        query = query.where(AuditLog.username == username)
    if since is not None:
        query = query.where(AuditLog.at >= since)
    if action:
        query = query.where(AuditLog.action == action)
    return list(session.scalars(query.order_by(AuditLog.id.desc()).limit(limit)))

"""Server-side log-in sessions: the browser holds a random id, the database its SHA-256.

A session ends when its user logs out (the row is deleted), after ``idle`` without a request,
``absolute`` after log-in, or when the user is disabled or gets a new password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from models.schema import User, UserSession

# last_seen is written at most this often, so a page's burst of API calls is one UPDATE.
TOUCH_EVERY = dt.timedelta(seconds=60)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, *, must_change_password: bool = False) -> str:
    """A new session of ``user``; returns the token for the cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(id=_digest(token), user_id=user.id, must_change_password=must_change_password)
    )
    session.flush()
    return token


@dataclass(frozen=True)
class Current:
    """The user of a live session and whether they must change their password first."""

    user: User
    must_change_password: bool


def current(
    session: Session, token: str, *, idle: dt.timedelta, absolute: dt.timedelta
) -> Current | None:
    """The live session of ``token``, or None (unknown, expired, user disabled).

    An expired session's row is deleted; a live one's ``last_seen`` is refreshed.
    """
    digest = _digest(token)
    row = session.execute(
        select(UserSession, User, text("now()"))
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id == digest)
    ).one_or_none()
    if row is None:
        return None
    found, user, now = row
    if user.disabled or now - found.last_seen > idle or now - found.created_at > absolute:
        session.execute(delete(UserSession).where(UserSession.id == digest))
        return None
    if now - found.last_seen > TOUCH_EVERY:
        session.execute(update(UserSession).where(UserSession.id == digest).values(last_seen=now))
    return Current(user, found.must_change_password)


def password_changed(session: Session, token: str) -> None:
    """The session's forced password change is done."""
    session.execute(
        update(UserSession)
        .where(UserSession.id == _digest(token))
        .values(must_change_password=False)
    )


def end_session(session: Session, token: str) -> None:
    """Log out: the session's row goes, so its cookie is worthless from now on."""
    session.execute(delete(UserSession).where(UserSession.id == _digest(token)))


def purge_expired(session: Session, *, idle: dt.timedelta, absolute: dt.timedelta) -> int:
    """Delete every expired session; returns how many."""
    result = session.execute(
        delete(UserSession).where(
            (UserSession.last_seen < text("now() - :idle").bindparams(idle=idle))
            | (UserSession.created_at < text("now() - :absolute").bindparams(absolute=absolute))
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

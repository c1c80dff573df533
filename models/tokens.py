"""Bearer tokens for scripts and GIS clients: create, look up by hash, list, revoke."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.schema import ApiToken, User
from models.users import get_user_by_name

TOKEN_PREFIX = "qg_"


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored in place of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenCheck:
    """What a presented token resolves to: the user, or why it is refused."""

    user: User | None
    token_id: int | None
    problem: str | None


def create_token(
    session: Session,
    username: str,
    *,
    expires_at: dt.datetime | None = None,
    note: str | None = None,
) -> tuple[ApiToken, str]:
    """Make a token for ``username``; returns the row and the token (shown only this once).

    Raises
    ------
    LookupError
        If there is no such user.
    """
    user = get_user_by_name(session, username)
    if user is None:
        msg = f"no user {username!r} (see `qungong users list`)"
        raise LookupError(msg)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=hash_token(token),
        prefix=token[:10],
        note=note,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, token


def check_token(session: Session, token: str, *, now: dt.datetime | None = None) -> TokenCheck:
    """Resolve a presented token; unknown, revoked and expired tokens give a ``problem``."""
    now = now or dt.datetime.now(dt.UTC)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None:
        return TokenCheck(None, None, "unknown token")
    if row.revoked_at is not None:
        return TokenCheck(None, row.id, "token revoked")
    if row.expires_at is not None and row.expires_at <= now:
        return TokenCheck(None, row.id, "token expired")
    if row.user.disabled:
        # A token speaks for its user: disabling the user ends the token too.
        return TokenCheck(None, row.id, "user disabled")
    session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return TokenCheck(row.user, row.id, None)


def list_tokens(session: Session, *, username: str | None = None) -> list[ApiToken]:
    """Every token (of ``username`` when given), oldest first, with its user loaded."""
    query = select(ApiToken).join(User).order_by(ApiToken.id)
    if username:
        query = query.where(User.username == username)
    rows = list(session.scalars(query))
    for row in rows:
        _ = row.user.username  # load now: callers use rows after the session closes
    return rows


def revoke_token(session: Session, token_id: int, *, now: dt.datetime | None = None) -> ApiToken:
    """Revoke one token by id (idempotent: revoking twice keeps the first time).

    Raises
    ------
    LookupError
        If there is no such token.
    """
    row = session.get(ApiToken, token_id)
    if row is None:
        msg = f"no token with id {token_id} (see `qungong tokens list`)"
        raise LookupError(msg)
    if row.revoked_at is None:
        row.revoked_at = now or dt.datetime.now(dt.UTC)
        session.flush()
    return row

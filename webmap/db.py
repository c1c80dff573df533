"""The database session of a request: opened on first use, closed when the request ends.

One lifecycle, registered on the app by :func:`init_app`: the log-in check, the views and the
services they call share the request's session, and the app context's teardown closes it
whatever happened, so no connection is left checked out of the pool.  A view about to run a
long computation on data it has already read calls :func:`release` first, so the connection
goes back to the pool while the CPU works (the session reconnects if used again).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from models.db import session_factory

__all__ = ["get_session", "init_app", "release", "transaction"]


def init_app(app: Flask) -> None:
    """Close the request's session when its app context ends."""
    app.teardown_appcontext(_close)


def get_session() -> Session:
    """The session of the current request (created on first use)."""
    session: Session | None = g.get("db_session")
    if session is None:
        config = current_app.config
        session = session_factory(
            config["DATABASE_URL"],
            pool_size=config["DB_POOL_SIZE"],
            max_overflow=config["DB_MAX_OVERFLOW"],
        )()
        g.db_session = session
    return session


def release() -> None:
    """End the request session's transaction and return its connection to the pool.

    Objects already loaded stay readable (they are detached, not expired).
    """
    session = g.get("db_session")
    if session is not None:
        session.close()


@contextmanager
def transaction() -> Iterator[Session]:
    """The request's session inside one write transaction: committed, or rolled back on error."""
    session = get_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _close(_error: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()

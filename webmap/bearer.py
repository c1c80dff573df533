"""``Authorization: Bearer …`` for scripts and GIS clients on /ogc/ and /api/.

A token stands for its user: the same role and area as a signed-in session. Each use is
audited; an unknown, expired or revoked token is refused with 401 (never silently treated
as anonymous, so a client learns its token is dead).
"""

from __future__ import annotations

from typing import Any

from flask import g, request

from models import registers, tokens
from models.schema import User
from webmap.db import transaction
from webmap.errors import ApiError

# Only machine endpoints take tokens: pages keep cookie sessions (and CSRF) only.
TOKEN_PATHS = ("/ogc/", "/api/")


class TokenRefused(ApiError):
    status = 401
    code = "invalid_token"


def presented_token() -> str | None:
    """The bearer token of this request when it goes to a machine endpoint, else None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not request.path.startswith(TOKEN_PATHS):
        return None
    return value.strip()


def user_from_token(token: str) -> User:
    """Resolve the token to its user and audit the use; raise :class:`TokenRefused` otherwise."""
    with transaction() as session:
        result = tokens.check_token(session, token)
        audit_token_use(
            session,
            username=result.user.username if result.user else "-",
            detail={
                "token_id": result.token_id,
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode("utf-8", "replace")[:500],
                "refused": result.problem,
            },
        )
    if result.user is None:
        raise TokenRefused(result.problem or "token refused")
    g.token_id = result.token_id
    return result.user


def audit_token_use(session: Any, *, username: str, detail: dict[str, Any]) -> None:
    """The one place token uses are written to the audit log."""
    registers.audit(session, username=username, action="token.use", detail=detail)

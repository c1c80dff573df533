"""Users, their role and the area they may see."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models.schema import ROLES, User


def create_user(
    session: Session,
    username: str,
    *,
    role: str,
    area_code: str,
    password: str | None = None,
    password_hash: str | None = None,
    display_name: str | None = None,
) -> User:
    """Add a user, or update role, area and password of an existing one.

    Give ``password`` (hashed here) or an already computed ``password_hash``.
    """
    if (password is None) == (password_hash is None):
        msg = "give exactly one of password and password_hash"
        raise ValueError(msg)
    if role not in ROLES:
        msg = f"unknown role {role!r}; expected one of {', '.join(ROLES)}"
        raise ValueError(msg)
    if not (area_code.isdigit() and len(area_code) in (12, 15)):
        msg = (
            f"area code must be a 12-digit statistical code (or 15 for a group), got {area_code!r}"
        )
        raise ValueError(msg)
    user = get_user_by_name(session, username) or User(username=username)
    user.role = role
    user.area_code = area_code
    user.display_name = display_name or user.display_name
    user.password_hash = password_hash or generate_password_hash(password)  # type: ignore[arg-type]
    session.add(user)
    session.flush()
    return user


def get_user_by_name(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user when the password is right, else None (same answer for unknown users)."""
    user = get_user_by_name(session, username)
    if user is None or not user.password_hash:
        return None
    return user if check_password_hash(user.password_hash, password) else None


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))

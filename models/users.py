"""Users, their role and the area they may see; passwords, sign-in and lock-out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models.registers import audit
from models.schema import ROLES, LoginAttempt, User, UserSession

# Failed log-ins allowed before the lock-out starts, its first length and its ceiling: the
# lock doubles with each further failure (30 s, 1 min, 2 min, ... 1 h).
FREE_FAILURES = 5
FIRST_LOCK = dt.timedelta(seconds=30)
MAX_LOCK = dt.timedelta(hours=1)
MIN_PASSWORD = 10
# Passwords refused whatever their length: the demo's and the usual first guesses.
COMMON_PASSWORDS = frozenset(
    {"qungong-demo", "password", "password123", "1234567890", "12345678910", "qwertyuiop",
     "admin12345", "qungong123", "shaoyang123", "abcdefghij"}
)  # fmt: skip


class PasswordRefused(ValueError):
    """A password that breaks the rules; the message says which."""


def check_password_rules(password: str, *, username: str = "") -> None:
    """Raise :class:`PasswordRefused` unless ``password`` is long and varied enough.

    At least :data:`MIN_PASSWORD` characters, two kinds of character (letters, digits,
    others), not the user name and not a common or demo password.

    >>> check_password_rules("shaoyang-2026-qz", username="leader")
    >>> check_password_rules("qungong-demo")
    Traceback (most recent call last):
    ...
    models.users.PasswordRefused: this password is too common (e.g. the demo password)
    """
    if len(password) < MIN_PASSWORD:
        msg = f"a password needs at least {MIN_PASSWORD} characters"
        raise PasswordRefused(msg)
    if password.lower() in COMMON_PASSWORDS:
        msg = "this password is too common (e.g. the demo password)"
        raise PasswordRefused(msg)
    if username and username.lower() in password.lower():
        msg = "a password must not contain the user name"
        raise PasswordRefused(msg)
    kinds = (
        any(c.isalpha() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    if sum(kinds) < 2:
        msg = "a password needs two kinds of character (letters, digits, others)"
        raise PasswordRefused(msg)


def password_ok(password: str, *, username: str = "") -> bool:
    """True when ``password`` passes :func:`check_password_rules`."""
    try:
        check_password_rules(password, username=username)
    except PasswordRefused:
        return False
    return True


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


@cache
def _decoy_hash() -> str:
    # Checked for unknown users so that they cost the same hashing time as real ones.
    return generate_password_hash("no such user: the decoy password")


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user when the password is right and the user enabled, else None.

    Unknown users take the same path (a decoy hash is checked), so the answer and its time
    say nothing about which user names exist.
    """
    user = get_user_by_name(session, username[:60])
    stored = user.password_hash if user is not None and user.password_hash else None
    ok = check_password_hash(stored or _decoy_hash(), password)
    if not ok or user is None or stored is None or user.disabled:
        return None
    return user


@dataclass(frozen=True)
class SignIn:
    """What a log-in attempt came to: the user, or None and why (for the audit log only)."""

    user: User | None
    reason: str


def sign_in(session: Session, username: str, password: str, *, source: str = "") -> SignIn:
    """Check a log-in with lock-out: after :data:`FREE_FAILURES` failures in a row a name is
    locked for a doubling time, known name or not.  Every attempt is audited.

    The password is checked even while locked, so a locked name costs the same time; the
    caller shows one message for every refusal.
    """
    name = username.strip()[:60]
    now = session.execute(text("SELECT now()")).scalar_one()
    attempt = session.get(LoginAttempt, name, with_for_update=True)
    user = authenticate(session, name, password)
    locked = attempt is not None and attempt.locked_until is not None and attempt.locked_until > now
    if user is not None and not locked:
        if attempt is not None:
            session.delete(attempt)
        audit(session, username=name, action="login.ok", detail={"source": source})
        return SignIn(user, "ok")
    failures = _count_failure(session, name, now)
    reason = "locked" if locked else "refused"
    audit(
        session,
        username=name,
        action="login.failed",
        detail={"source": source, "reason": reason, "failures": failures},
    )
    return SignIn(None, reason)


def _count_failure(session: Session, name: str, now: dt.datetime) -> int:
    failures = session.execute(
        text(
            "INSERT INTO login_attempt (username, failures) VALUES (:u, 1)"
            " ON CONFLICT (username) DO UPDATE SET failures = login_attempt.failures + 1"
            " RETURNING failures"
        ),
        {"u": name},
    ).scalar_one()
    if failures >= FREE_FAILURES:
        lock = min(FIRST_LOCK * 2 ** (failures - FREE_FAILURES), MAX_LOCK)
        session.execute(
            update(LoginAttempt)
            .where(LoginAttempt.username == name)
            .values(locked_until=now + lock)
        )
    return int(failures)


def set_password(
    session: Session, username: str, password: str, *, must_change: bool = False
) -> User:
    """A new password (checked against the rules); the user's sessions end.

    ``must_change`` (an administrator's reset) makes the next log-in choose another one.
    """
    user = get_user_by_name(session, username)
    if user is None:
        msg = f"no user {username!r}"
        raise LookupError(msg)
    check_password_rules(password, username=username)
    user.password_hash = generate_password_hash(password)
    user.must_change_password = must_change
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    session.flush()
    return user


def set_disabled(session: Session, username: str, *, disabled: bool = True) -> User:
    """Disable (or enable) a user: a disabled user's sessions end and log-ins fail."""
    user = get_user_by_name(session, username)
    if user is None:
        msg = f"no user {username!r}"
        raise LookupError(msg)
    user.disabled = disabled
    if disabled:
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))

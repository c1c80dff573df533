"""``qungong tokens …``: bearer tokens for scripts and GIS clients (QGIS, GDAL, OWSLib)."""

from __future__ import annotations

import datetime as dt
import re

import click

from models import tokens
from models.db import database_url, transaction
from webmap.cli_helpers import fail

_DURATION = re.compile(r"^(\d+)([dh])$")


def parse_expiry(value: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """``30d``, ``12h`` or an ISO date/time (UTC when no zone is given) as an aware datetime.

    >>> parse_expiry("2d", now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).isoformat()
    '2026-01-03T00:00:00+00:00'
    >>> parse_expiry("2027-06-30").isoformat()
    '2027-06-30T00:00:00+00:00'
    """
    now = now or dt.datetime.now(dt.UTC)
    match = _DURATION.match(value.strip())
    if match:
        n, unit = int(match[1]), match[2]
        return now + (dt.timedelta(days=n) if unit == "d" else dt.timedelta(hours=n))
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        msg = f"--expires must be like 30d, 12h or 2027-06-30, got {value!r}"
        raise click.BadParameter(msg) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@click.group("tokens")
def tokens_group() -> None:
    """Bearer tokens for /ogc/ and /api/: create, list, revoke."""


@tokens_group.command("create")
@click.option("--user", "username", required=True, help="The user the token acts for.")
@click.option("--expires", help="Lifetime (30d, 12h) or an end date (2027-06-30); default never.")
@click.option("--note", help="What the token is for (shown by `tokens list`).")
def tokens_create(username: str, expires: str | None, note: str | None) -> None:
    """Make a token; it is printed once and stored only as a hash."""
    expires_at = parse_expiry(expires) if expires else None
    try:
        with transaction(database_url()) as session:
            row, token = tokens.create_token(session, username, expires_at=expires_at, note=note)
            token_id = row.id
    except LookupError as err:
        fail(str(err))
    until = f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
    click.echo(
        f"token {token_id} for {username}{until} (shown only now; keep it secret):", err=True
    )
    click.echo(token)


@tokens_group.command("list")
@click.option("--user", "username", help="Only this user's tokens.")
def tokens_list(username: str | None) -> None:
    """Every token: id, user, start of the token, state, last use."""
    now = dt.datetime.now(dt.UTC)
    with transaction(database_url()) as session:
        rows = tokens.list_tokens(session, username=username)
    for row in rows:
        if row.revoked_at:
            state = f"revoked {row.revoked_at:%Y-%m-%d}"
        elif row.expires_at and row.expires_at <= now:
            state = f"expired {row.expires_at:%Y-%m-%d}"
        elif row.expires_at:
            state = f"valid until {row.expires_at:%Y-%m-%d %H:%M}"
        else:
            state = "valid"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        click.echo(
            f"{row.id:>4} {row.user.username:<16} {row.prefix}… {state:<26} {used} {row.note or ''}"
        )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID (see `tokens list`); clients using it get 401 from then on."""
    try:
        with transaction(database_url()) as session:
            row = tokens.revoke_token(session, token_id)
            username = row.user.username
    except LookupError as err:
        fail(str(err))
    click.echo(f"token {token_id} of {username} revoked")

"""``qungong users …``: who may log in, with which role and area; ``qungong audit``."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys

import click

from models import users
from models.audit import audit_entries
from models.db import database_url, transaction
from models.registers import audit
from models.schema import ROLES


@click.group("users")
def users_group() -> None:
    """Users: add or update, list, disable, reset-password."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option(
    "--area",
    "area_code",
    default="430500000000",
    show_default=True,
    help="Statistical code of the area the user may see (default: the whole city).",
)
@click.option("--name", "display_name", help="Name shown in the page header.")
@click.password_option(help="Password (asked for when not given).")
def users_add(
    username: str, role: str, area_code: str, display_name: str | None, password: str
) -> None:
    """Add user USERNAME, or update their role, area and password.

    Passwords need 10 characters of two kinds and must not hold the user name.
    """
    try:
        users.check_password_rules(password, username=username)
        with transaction(database_url()) as session:
            users.create_user(
                session,
                username,
                role=role,
                area_code=area_code,
                password=password,
                display_name=display_name,
            )
    except ValueError as err:
        click.secho(f"error: {err}", fg="red", err=True)
        sys.exit(1)
    click.echo(f"user {username}: {role}, area {area_code}")


@users_group.command("list")
def users_list() -> None:
    """Every user with role and area."""
    with transaction(database_url()) as session:
        for user in users.list_users(session):
            state = "disabled" if user.disabled else "active"
            if user.must_change_password:
                state += ",must-change-password"
            click.echo(
                f"{user.username:<16} {user.role:<8} {user.area_code:<15} {state:<30}"
                f" {user.display_name or ''}".rstrip()
            )


@users_group.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
def users_disable(username: str, enable: bool) -> None:
    """Disable USERNAME: log-ins fail, sessions end at once, tokens stop working."""
    try:
        with transaction(database_url()) as session:
            users.set_disabled(session, username, disabled=not enable)
            audit(
                session,
                username=_operator(),
                action="user.enable" if enable else "user.disable",
                detail={"user": username},
            )
    except LookupError as err:
        click.secho(f"error: {err.args[0]}", fg="red", err=True)
        sys.exit(1)
    click.echo(f"user {username}: {'enabled' if enable else 'disabled'}")


@users_group.command("reset-password")
@click.argument("username")
@click.password_option(help="A temporary password (asked for when not given).")
def users_reset_password(username: str, password: str) -> None:
    """Give USERNAME a temporary password they must change at their next log-in."""
    try:
        with transaction(database_url()) as session:
            users.set_password(session, username, password, must_change=True)
            audit(
                session,
                username=_operator(),
                action="user.reset_password",
                detail={"user": username},
            )
    except (LookupError, ValueError) as err:
        click.secho(f"error: {err.args[0]}", fg="red", err=True)
        sys.exit(1)
    click.echo(f"user {username}: password reset; it must be changed at the next log-in")


def _operator() -> str:
    # Who ran the command, for the audit log (the shell user; the CLI has no log-in).
    return f"cli:{getpass.getuser()}"


@click.command("audit")
@click.option("--user", "username", help="Only this user's entries.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    help="Only entries from this day or time on (local time of the database).",
)
@click.option("--action", help="Only this action (login.failed, export, record.view, ...).")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000))
def audit_command(
    username: str | None, since: dt.datetime | None, action: str | None, limit: int
) -> None:
    """The audit log, newest first: sign-ins, imports, exports, views of personal records."""
    with transaction(database_url()) as session:
        rows = audit_entries(session, username=username, since=since, action=action, limit=limit)
    for row in rows:
        detail = json.dumps(row.detail, ensure_ascii=False, sort_keys=True)
        click.echo(f"{row.at:%Y-%m-%d %H:%M:%S} {row.username:<16} {row.action:<20} {detail}")

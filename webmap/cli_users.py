"""``qungong users …``: who may log in, with which role and area."""

from __future__ import annotations

import sys

import click

from models import users
from models.db import database_url, transaction
from models.schema import ROLES


@click.group("users")
def users_group() -> None:
    """Users: add or update, list."""


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
    """Add user USERNAME, or update their role, area and password."""
    try:
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
            click.echo(
                f"{user.username:<16} {user.role:<8} {user.area_code} {user.display_name or ''}"
            )

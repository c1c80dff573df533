"""``qungong coverage`` and ``qungong siting``: the planners' analyses from the command line.

The same service as ``/api/coverage`` and ``/api/siting``.  ``--user NAME`` applies that
user's area, exactly as the web does; without it the command line sees the whole city (as
every other ``qungong`` command: whoever runs it can read the database anyway).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from models.db import database_url, session_factory
from models.places import CITY_CODE
from models.users import get_user_by_name
from webmap.cli_helpers import fail
from webmap.errors import ApiError
from webmap.services import coverage_export
from webmap.services.coverage import LEVELS, coverage, export_frame, parse_query

__all__ = ["coverage_command"]


def _user_area(session, username: str | None) -> str:  # noqa: ANN001
    if not username:
        return CITY_CODE
    user = get_user_by_name(session, username)
    if user is None:
        fail(f"no user {username!r} (qungong users list)")
    return user.area_code


@click.command("coverage")
@click.option("--area", default="", help="12-digit code of the area (default: the user's).")
@click.option("--level", type=click.Choice(LEVELS), default="village", show_default=True)
@click.option("--generation", default="", help="Boundary generation (default: the active one).")
@click.option("--user", "username", help="Apply this user's area scope.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.csv (UTF-8, English column codes) or FILE.gpkg.",
)
@with_appcontext
def coverage_command(
    area: str, level: str, generation: str, username: str | None, output: Path
) -> None:
    """Coverage measures and gap score per group or village, ranked, written to a file."""
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".gpkg"):
        fail(f"{output}: write .csv or .gpkg")
    with current_app.test_request_context("/"), session_factory(database_url())() as session:
        user_area = _user_area(session, username)
        try:
            query = parse_query(
                {"area": area, "level": level, "generation": generation}, default_area=user_area
            )
            result = coverage(session, query, user_area=user_area)
            if suffix == ".csv":
                export_frame(result).to_csv(output, index=False, encoding="utf-8")
            else:
                output.write_bytes(coverage_export.gpkg_bytes(session, result))
        except ApiError as err:
            fail(err.message)
    click.echo(
        f"wrote {output}: {len(result.frame):,} {level} rows of {query.area}"
        f" (generation {result.generation}, as of {result.as_of.date()})"
    )


def dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)

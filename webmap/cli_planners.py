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

__all__ = ["coverage_command", "roads_group", "siting_command"]


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


@click.command("siting")
@click.option("--area", required=True, help="12-digit code of the area.")
@click.option("--sites", type=int, default=5, show_default=True, help="New stations to place.")
@click.option("--within", type=float, default=3000.0, show_default=True, help="Reach in metres.")
@click.option("--method", type=click.Choice(["mclp", "lscp"]), default="mclp", show_default=True)
@click.option("--demand", type=click.Choice(["households", "cases"]), default="households")
@click.option(
    "--candidates",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV/XLSX with lon,lat[,name] or a point file (GeoPackage, shapefile, GeoJSON).",
)
@click.option("--generation", default="", help="Boundary generation (default: the active one).")
@click.option("--user", "username", help="Apply this user's area scope.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="FILE.json")
@with_appcontext
def siting_command(
    area: str,
    sites: int,
    within: float,
    method: str,
    demand: str,
    candidates: Path | None,
    generation: str,
    username: str | None,
    output: Path | None,
) -> None:
    """Where new stations reach the most uncovered demand (MCLP) or the fewest that reach all (LSCP)."""
    from ingest.candidates import read_candidates
    from ingest.errors import IngestError
    from webmap.services.siting import parse_siting, siting

    payload: dict = {"area": area, "sites": sites, "within": within, "method": method}
    payload |= {"demand": demand, "generation": generation}
    if candidates is not None:
        try:
            frame = read_candidates(candidates, shown=str(candidates))
        except IngestError as err:
            fail(str(err))
        payload["candidates"] = frame.to_dict("records")
    with current_app.test_request_context("/"), session_factory(database_url())() as session:
        user_area = _user_area(session, username)
        try:
            answer = siting(
                session, parse_siting(payload, default_area=user_area), user_area=user_area
            )
        except ApiError as err:
            fail(err.message)
    if output:
        output.write_text(dumps(answer), encoding="utf-8")
    before, after = answer["before"]["share"], answer["after"]["share"]
    click.echo(
        f"{answer['method'].upper()} {len(answer['sites'])} sites within {within:.0f} m of "
        f"{answer['candidates']} candidates: {answer['demand']} covered {before:.1%} -> {after:.1%}"
        f" ({'proven optimal' if answer['optimal'] else answer['status']}, {answer['seconds']} s)"
    )
    for site in answer["sites"]:
        click.echo(
            f"  {site['rank']:>2}. {site['name']} ({site['lon']}, {site['lat']}): "
            f"+{site['adds']:,.0f} ({site['adds_share']:.1%})"
        )
    if answer["greedy"]:
        click.echo(
            f"  greedy pick would cover {answer['greedy']['shortfall_points']:.2f} points less"
        )
    if answer["close_pairs"]:
        click.echo(
            f"  {len(answer['close_pairs'])} station pairs within 500 m (one could serve both)"
        )


@click.group("roads")
def roads_group() -> None:
    """The road network: distances and travel times along roads for the planners."""


@roads_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--speeds",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV class,speed_kmh overriding the default speed table.",
)
@click.option("--class-field", help="Field holding the road class (default: class/highway/…).")
@click.option("--layer", help="Layer of a GeoPackage or OSM PBF (default for .pbf: lines).")
@click.option("--source", help="Where the lines come from (stored with them).")
@click.option("--commit", is_flag=True, help="Write (default: dry run, report only).")
@click.option("--user", "username", default="cli", show_default=True)
def roads_import(
    path: Path,
    speeds: Path | None,
    class_field: str | None,
    layer: str | None,
    source: str | None,
    commit: bool,
    username: str,
) -> None:
    """Check a road file (shapefile, GeoPackage, GeoJSON, OSM PBF); --commit replaces the roads."""
    from ingest.errors import IngestError
    from ingest.roads import import_roads, read_speeds

    try:
        table = read_speeds(speeds) if speeds else None
        report = import_roads(
            database_url(),
            path,
            speeds=table,
            class_field=class_field,
            layer=layer,
            source=source,
            commit=commit,
            username=username,
        )
    except IngestError as err:
        fail(str(err))
    classes = ", ".join(f"{k} {v}" for k, v in report["classes"].items())
    click.echo(
        f"{report['status']}: {report['lines']:,} lines, {report['km']:,} km, "
        f"{report['nodes']:,} nodes, one connected network ({classes})"
    )
    if not commit:
        click.echo("dry run: nothing written (add --commit to replace the roads)")

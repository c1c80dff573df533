"""``qungong routes plan``: day routes for the stops in a CSV, from the command line.

The same checks and solver as ``POST /api/routes/plan`` (``webmap.services.routes``):
``--json`` prints exactly what the API answers for the same stops and options.  Bad input
exits with code 2 and one line naming the file's row or the option.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from ingest.errors import IngestError
from ingest.tables import read_table
from webmap.services import routes
from webmap.services.routes import PlanError

STOP_COLUMNS = ("id", "lon", "lat", "service_minutes", "priority", "visits")


def _bad(message: str) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(2)


def _depot(value: str) -> dict[str, str]:
    parts = value.split(",")
    if len(parts) != 2:
        _bad(f"--depot: expected LON,LAT, got {value!r}")
    return {"lon": parts[0].strip(), "lat": parts[1].strip()}


def read_stops(path: Path) -> list[dict[str, Any]]:
    """The CSV's stops as the API's ``stops`` list (text values, checked by the service)."""
    try:
        table = read_table(path, shown=path.name)
    except IngestError as exc:
        _bad(str(exc))
    missing = [c for c in ("id", "lon", "lat") if c not in table.columns]
    if missing:
        _bad(f"{path.name}: missing column(s) {', '.join(missing)} (needs id, lon, lat)")
    cols = [c for c in STOP_COLUMNS if c in table.columns]
    return [
        {c: row[c] for c in cols if row[c] is not None}
        for row in table[cols].to_dict(orient="records")
    ]


def _check_and_plan(payload: dict[str, Any], row_label: Callable[[int], str]) -> dict[str, Any]:
    """As the API: check against the city's extent, read the roads if asked, then plan."""
    from models.db import database_url, schema_ready, session_factory

    url = database_url()
    if not schema_ready(url):
        click.secho("warning: no database: stops are not checked against the city", err=True)
        request = routes.parse_request(payload, extent=None, row_label=row_label)
        if request.distance == "roads":
            raise PlanError(
                'distance: "roads" needs the database\'s road network; none is reachable'
            )
        return routes.plan(request)
    with session_factory(url)() as session:
        request = routes.parse_request(
            payload, extent=routes.city_extent(session), row_label=row_label
        )
        along = routes.along_roads(session, request)
    return routes.plan(request, along=along)


def _print_table(result: dict[str, Any]) -> None:
    for day in result["days"]:
        click.echo(
            f"day {day['day']} team {day['team']}: {len(day['stops'])} stops, "
            f"{day['distance_m'] / 1000:.1f} km, {day['duration_minutes']:.0f} min"
        )
        if day["stops"]:
            click.echo("  depot -> " + " -> ".join(day["stops"]) + " -> depot")
    for item in result["unassigned"]:
        click.echo(f"unassigned {item['id']}: {item['reason']}")


@click.group("routes")
def routes_group() -> None:
    """Plan work teams' day routes."""


@routes_group.command("plan")
@click.argument("stops_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--depot", required=True, help="LON,LAT of the township office.")
@click.option("--days", default=1, show_default=True, type=int)
@click.option("--teams", default=1, show_default=True, type=int)
@click.option("--day-minutes", default=480.0, show_default=True, type=float)
@click.option("--speed-kmh", default=30.0, show_default=True, type=float)
@click.option(
    "--distance", type=click.Choice(["straight", "roads"]), default="straight", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON answer.")
def plan(
    stops_csv: Path,
    depot: str,
    days: int,
    teams: int,
    day_minutes: float,
    speed_kmh: float,
    distance: str,
    as_json: bool,
) -> None:
    """Plan day routes for the stops in STOPS_CSV (columns id, lon, lat[, service_minutes,
    priority, visits]); each day starts and ends at the depot."""
    payload = {
        "depot": _depot(depot),
        "stops": read_stops(stops_csv),
        "days": days,
        "teams": teams,
        "day_minutes": day_minutes,
        "speed_kmh": speed_kmh,
        "distance": distance,
    }
    try:
        result = _check_and_plan(payload, lambda i: f"{stops_csv.name} row {i + 2}")
    except PlanError as exc:
        _bad(exc.message)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        _print_table(result)

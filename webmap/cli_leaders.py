"""``qungong leaders analyse``: the leaders' hotspot analysis from the command line.

The same service and serialisers as ``/api/leaders/*``: a file written here holds exactly
what the API answers for the same filters (no user scope: the command line sees the city).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from werkzeug.datastructures import MultiDict

from models import places
from models.db import database_url, session_factory
from models.schema import CASE_KINDS, CASE_STATUSES
from webmap.cli_helpers import fail
from webmap.errors import ApiError
from webmap.services import leaders_export
from webmap.services.leaders import LAYERS, analysis, class_counts, parse_query


@click.group("leaders")
def leaders_group() -> None:
    """The leaders' hotspot analysis (density, rates, Gi* hot spots)."""


@leaders_group.command("analyse")
@click.option("--area", default="", help="12-digit code of a county or township (default: city).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(CASE_KINDS), help="Repeatable.")
@click.option(
    "--status", "statuses", multiple=True, type=click.Choice(CASE_STATUSES), help="Repeatable."
)
@click.option("--from", "date_from", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--to", "date_to", default="", help="YYYY, YYYY-MM or YYYY-MM-DD (inclusive).")
@click.option(
    "--layer",
    type=click.Choice([*LAYERS, "top"]),
    default="hotspots",
    show_default=True,
    help="What to write: an analysis layer, or the ranked villages (top 20 as GeoJSON, all as CSV).",
)
@click.option("--unit", type=click.Choice(["township", "village"]), help="Units of the rates.")
@click.option("--gi", type=click.Choice(["rate", "count"]), default="rate", show_default=True)
@click.option("--no-fdr", is_flag=True, help="Gi* classes without the FDR correction.")
@click.option("--month", default="", help="With --layer heat: one month's cells (YYYY-MM).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.geojson (any layer) or FILE.csv (--layer top); without it, a summary.",
)
def analyse(
    area: str,
    kinds: tuple[str, ...],
    statuses: tuple[str, ...],
    date_from: str,
    date_to: str,
    layer: str,
    unit: str | None,
    gi: str,
    no_fdr: bool,
    month: str,
    output: Path | None,
) -> None:
    """Analyse the cases selected by the filters; write a layer or print a summary."""
    args = MultiDict(
        [("kind", k) for k in kinds]
        + [("status", s) for s in statuses]
        + [
            ("from", date_from),
            ("to", date_to),
            ("area", area),
            ("layer", "heat" if layer == "top" else layer),
            ("unit", unit or ""),
            ("gi", gi),
            ("fdr", "0" if no_fdr else "1"),
        ]
    )
    suffix = output.suffix.lower() if output else ""
    if output and suffix not in (".csv", ".geojson", ".json"):
        fail(f"{output}: write .geojson or .csv")
    if suffix == ".csv" and layer != "top":
        fail(f"{output}: a CSV holds the ranked villages; use --layer top or write .geojson")
    try:
        query = parse_query(args)
        with session_factory(database_url())() as session:
            generation = places.active_generation(session)
            if generation is None:
                fail("no active boundary generation: import boundaries first")
            result = analysis(session, generation.id, query)
    except ApiError as err:
        fail(err.message)
    if output is None:
        classes = class_counts(result.hotspots)
        click.echo(f"cases: {_count(result.shown_total)}; Gi* tested {result.gi_units:,} villages")
        click.echo("hot spots: " + ", ".join(f"{c} {n}" for c, n in classes.items()))
        return
    if suffix == ".csv":
        output.write_text(leaders_export.top_csv(result), encoding="utf-8")
    else:
        if layer == "top":
            data = leaders_export.top_geojson(query, result)
        elif layer == "heat" and month:
            data = leaders_export.heat_geojson(query, result, month=month)
        else:
            data = leaders_export.layer_geojson(query, result)
        output.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    click.echo(f"wrote {output} ({_count(result.shown_total)} cases)")


def _count(value: int | str) -> str:
    # ``<5`` stays as it is; whole numbers get thousands separators.
    return f"{value:,}" if isinstance(value, int) else value

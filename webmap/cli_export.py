"""``qungong export LAYER -o FILE``: a layer as GeoPackage, zipped shapefile, CSV or GeoJSON.

The same files as the pages' export links (webmap.services.exports). The command line sees
the whole city unless ``--area`` narrows it; every export is audited.
"""

from __future__ import annotations

import getpass
import shutil
import tempfile
from pathlib import Path

import click

from models.db import database_url, transaction
from models.places import area_prefix
from webmap.cli_helpers import fail
from webmap.services.exports import FORMATS, ExportError, export_layer

SUFFIX_FORMAT = {
    ".gpkg": "gpkg",
    ".zip": "shp",
    ".shp": "shp",
    ".csv": "csv",
    ".geojson": "geojson",
    ".json": "geojson",
}


@click.command("export")
@click.argument("layer")
@click.option("--area", default="", help="12-digit code of the area to export (default: the city).")
@click.option("--generation", help="Boundary generation (default: the active one).")
@click.option(
    "--format", "fmt", type=click.Choice(list(FORMATS)), help="Default: from the file's suffix."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="FILE.gpkg, FILE.zip (shapefile), FILE.csv or FILE.geojson.",
)
def export(layer: str, area: str, generation: str | None, fmt: str | None, output: Path) -> None:
    """Write LAYER (counties, townships, villages, groups, stations, teams, case-counts; or
    groups-2023 for a named generation) to FILE."""
    fmt = fmt or SUFFIX_FORMAT.get(output.suffix.lower())
    if fmt is None:
        fail(
            f"cannot tell the format from {output.name!r}: use .gpkg, .zip, .csv, .geojson or --format"
        )
    if area and not (area.isdigit() and len(area) in (12, 15)):
        fail(f"--area must be a 12-digit statistical code, got {area!r}")
    prefix = area_prefix(area) if area else ""
    work = Path(tempfile.mkdtemp(prefix="qungong-export-"))
    try:
        with transaction(database_url()) as session:
            done = export_layer(
                session,
                layer,
                fmt=fmt,
                prefix=prefix,
                generation=generation,
                username=f"cli:{getpass.getuser()}",
                directory=work,
            )
        shutil.move(done.path, output)
    except ExportError as err:
        fail(str(err))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    click.echo(f"{done.rows:,} features of {layer} written to {output} ({fmt})")

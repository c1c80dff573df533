"""``qungong cases import``, ``qungong visits import`` and ``qungong geocode``: thin wrappers over ingest/."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ingest.errors import IngestError
from models.db import database_url
from webmap.cli_helpers import fail
from webmap.cli_ingest import parse_fields, show_report
from webmap.services.geocoding import geocode_csv

CRS_CHOICES = ("wgs84", "gcj02", "bd09", "cgcs2000")


def _import_options(command):  # noqa: ANN001  (click decorator stack)
    options = [
        click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option(
            "--field", "field_pairs", multiple=True, help="Column mapping KEY=COLUMN, repeatable."
        ),
        click.option(
            "--encoding", help="Text encoding of a CSV (default: UTF-8 or GBK, detected)."
        ),
        click.option(
            "--crs",
            type=click.Choice(CRS_CHOICES),
            default="wgs84",
            show_default=True,
            help="Coordinate system of rows whose 坐标系 cell is empty.",
        ),
        click.option("--commit", is_flag=True, help="Write (default: dry run, report only)."),
        click.option("--user", "username", default="cli", show_default=True),
        click.option(
            "--lang",
            type=click.Choice(["zh", "en"]),
            default=None,
            help="Language of the report (default: English if LANG is English, else Chinese).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _activity_group(
    name: str, importer_name: str, group_help: str, import_help: str
) -> click.Group:
    """``qungong <name> import FILE``: cases and visits share one command shape."""

    @click.command("import", help=import_help)
    @_import_options
    def import_command(
        path: Path,
        field_pairs: tuple[str, ...],
        encoding: str | None,
        crs: str,
        commit: bool,
        username: str,
        lang: str | None,
    ) -> None:
        import ingest.activity as activity

        try:
            report = getattr(activity, importer_name)(
                database_url(),
                path,
                fields=parse_fields(field_pairs),
                encoding=encoding,
                crs=crs,
                commit=commit,
                username=username,
            )
        except IngestError as err:
            fail(str(err))
        show_report(report, commit=commit, lang=lang)

    group = click.Group(name, help=group_help)
    group.add_command(import_command)
    return group


cases = _activity_group(
    "cases",
    "import_cases",
    "Cases (信访, 矛盾纠纷, 代办, 建议): import from CSV/XLSX.",
    "Check a case register (address and/or coordinates per row); --commit loads it.",
)
visits = _activity_group(
    "visits",
    "import_visits",
    "Household visits with phone GPS: import from CSV/XLSX.",
    "Check a visit log (GPS in any system, or an address); --commit loads it.",
)


@click.command("geocode")
@click.argument("source", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--column", default="address", show_default=True, help="Column with the address.")
@click.option("--encoding", help="Input encoding (default: UTF-8 or GBK, detected).")
def geocode(source: str, column: str, encoding: str | None) -> None:
    """Geocode the addresses of a CSV (FILE or - for stdin); CSV with the answers to stdout.

    Output: the input columns, then lon, lat, code, level, score, status (matched, ambiguous,
    unmatched), candidates (codes joined by |) and reason.
    """
    from ingest.activity import gazetteer_for

    raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    text = _decode(raw, encoding, "stdin" if source == "-" else source)
    gazetteer = gazetteer_for(database_url())
    if gazetteer is None:
        fail("no active boundary generation: import boundaries first")
    try:
        sys.stdout.write(geocode_csv(gazetteer, text, column=column))
    except KeyError as err:
        fail(f"{err.args[0]}; use --column")


def _decode(raw: bytes, encoding: str | None, shown: str) -> str:
    from ingest.encodings import sniff

    chosen = encoding or sniff(raw)
    try:
        if chosen is not None:
            return raw.decode("utf-8-sig" if chosen == "UTF-8" else chosen)
    except (UnicodeDecodeError, LookupError):
        pass
    fail(f"{shown}: text is not {encoding or 'UTF-8 or GBK'}; give --encoding")
    return ""


def register(main: click.Group) -> None:
    """Add the case, visit and geocode commands to ``qungong``."""
    main.add_command(cases)
    main.add_command(visits)
    main.add_command(geocode)

"""``qungong boundaries …`` and the register imports: thin wrappers over ingest/."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app, has_app_context
from flask.cli import ScriptInfo
from flask_babel import force_locale
from flask_babel import gettext as _

from ingest.errors import IngestError
from ingest.report import ImportReport
from models.db import database_url
from webmap.cli_helpers import fail


def parse_fields(pairs: tuple[str, ...]) -> dict[str, str] | None:
    """``("code=XZQDM", "name=XZQMC")`` -> ``{"code": "XZQDM", "name": "XZQMC"}``."""
    fields = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            fail(f"--field takes KEY=COLUMN (e.g. code=XZQDM), got {pair!r}")
        fields[key.strip()] = value.strip()
    return fields or None


def cli_lang(lang: str | None) -> str:
    """The language a command prints in: ``--lang``, else English when ``LANG`` is English,
    else Chinese (the staff's language)."""
    if lang:
        return lang
    return "en" if os.environ.get("LANG", "").lower().startswith("en") else "zh"


def _app() -> Flask | None:
    """The app of the running ``qungong`` command (its translations), if there is one."""
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]
    ctx = click.get_current_context(silent=True)
    info = ctx.find_object(ScriptInfo) if ctx is not None else None
    return info.load_app() if info is not None else None


def show_report(report: ImportReport, *, commit: bool, lang: str | None) -> None:
    """Print the report in one language, through the web pages' translations (Flask-Babel);
    exit 1 when it holds errors, so scripts see the failure."""
    from webmap.views.import_report import report_text

    app = _app()
    if app is not None:
        with app.app_context(), force_locale(cli_lang(lang)):
            text, hint = report_text(report), _("试运行，未写入数据库（加 --commit 写入）")
    else:  # a script calling this outside ``qungong``: the report's own plain text
        text, hint = report.to_text(cli_lang(lang)), "dry run: nothing written"
    click.echo(text)
    if not report.ok:
        sys.exit(1)
    if not commit:
        click.secho(hint, fg="yellow")


@click.group("boundaries")
def boundaries() -> None:
    """Administrative boundaries: import into generations, list, activate."""


@boundaries.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--level", type=click.Choice(["county", "township", "village", "group"]))
@click.option(
    "--generation",
    help="Generation name (default: a new one named for today, e.g. 20261129).",
)
@click.option(
    "--base",
    help="Make the new generation from this one, with the file's counties replaced "
    "at the file's levels and below (e.g. one county's new villages).",
)
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]), help="Date it takes effect.")
@click.option("--field", "field_pairs", multiple=True, help="Field mapping KEY=COLUMN, repeatable.")
@click.option("--encoding", help="Text encoding of the .dbf (default: .cpg, else detected).")
@click.option("--crs", help="Coordinate system when the file has no .prj, e.g. EPSG:4546.")
@click.option("--layer", help="Layer of a GeoPackage.")
@click.option("--commit", is_flag=True, help="Write (default: dry run, report only).")
@click.option("--user", "username", default="cli", show_default=True)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language of the report (default: English if LANG is English, else Chinese).",
)
def boundaries_import(
    path: Path,
    level: str | None,
    generation: str | None,
    base: str | None,
    valid_from: dt.datetime | None,
    field_pairs: tuple[str, ...],
    encoding: str | None,
    crs: str | None,
    layer: str | None,
    commit: bool,
    username: str,
    lang: str | None,
) -> None:
    """Check a boundary file (shapefile, zipped shapefile, GeoPackage, GeoJSON); --commit loads it."""
    from ingest.boundaries import import_boundaries

    try:
        report = import_boundaries(
            database_url(),
            path,
            level=level,
            generation=generation,
            base=base,
            valid_from=valid_from.date() if valid_from else None,
            fields=parse_fields(field_pairs),
            encoding=encoding,
            crs=crs,
            layer=layer,
            commit=commit,
            username=username,
        )
    except IngestError as err:
        fail(str(err))
    show_report(report, commit=commit, lang=lang)


@boundaries.command("list")
def boundaries_list() -> None:
    """Generations with their unit counts per level."""
    from ingest.boundaries import list_generations

    rows = list_generations(database_url())
    if not rows:
        click.echo("no generations yet / 尚无边界版本")
        return
    for row in rows:
        mark = "*" if row.get("active") else " "
        counts = row.get("counts", {})
        levels = " ".join(
            f"{k}={counts[k]}" for k in ("county", "township", "village", "group") if k in counts
        )
        click.echo(f"{mark} {row['name']:<10} valid_from={row.get('valid_from') or '-'} {levels}")


@boundaries.command("activate")
@click.argument("name")
@click.option("--user", "username", default="cli", show_default=True)
def boundaries_activate(name: str, username: str) -> None:
    """Switch live lookups to generation NAME in one step."""
    from ingest.boundaries import activate_generation

    try:
        activate_generation(database_url(), name, username=username)
    except (IngestError, LookupError) as err:
        fail(str(err))
    click.echo(f"generation {name} is active / 已启用边界版本 {name}")


def _register_command(kind: str, importer_name: str, *, has_coordinates: bool) -> click.Command:
    """``qungong <kind> import FILE``: one command shape for the three registers."""

    @click.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--generation", help="Boundary generation the rows refer to (default: active).")
    @click.option("--sheet", help="XLSX sheet (default: the first).")
    @click.option("--commit", is_flag=True, help="Write (default: dry run, report only).")
    @click.option("--user", "username", default="cli", show_default=True)
    @click.option(
        "--lang",
        type=click.Choice(["zh", "en"]),
        default=None,
        help="Language of the report (default: English if LANG is English, else Chinese).",
    )
    @click.option(
        "--crs",
        type=click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"]),
        default="wgs84",
        show_default=True,
        help="Coordinate system of rows that do not name theirs (坐标系 column).",
        hidden=not has_coordinates,
    )
    def command(
        path: Path,
        generation: str | None,
        sheet: str | None,
        commit: bool,
        username: str,
        lang: str | None,
        crs: str,
    ) -> None:
        import ingest.registers as registers

        importer = getattr(registers, importer_name)
        options = {"crs": crs} if has_coordinates else {}
        try:
            report = importer(
                database_url(),
                path,
                generation=generation,
                sheet=sheet,
                commit=commit,
                username=username,
                **options,
            )
        except IngestError as err:
            fail(str(err))
        show_report(report, commit=commit, lang=lang)

    command.help = f"Check a {kind} register (CSV or XLSX, GBK or UTF-8); --commit loads it."
    return command


def register_groups() -> list[click.Group]:
    """The ``stations``, ``officers`` and ``teams`` command groups."""
    groups = []
    for kind, importer, coords, help_text in (
        ("station", "import_stations", True, "Mass-work stations (群众工作站), one per village."),
        (
            "officer",
            "import_officers",
            False,
            "Information officers (民情信息员) per villager group.",
        ),
        ("team", "import_teams", True, "Township work teams (工作队) with their home base."),
    ):
        group = click.Group(f"{kind}s", help=help_text)
        group.add_command(_register_command(kind, importer, has_coordinates=coords))
        groups.append(group)
    return groups

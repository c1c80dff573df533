"""``qungong demo …``: build the Shaoyang stand-in network's files and load them through the importers.

The demo goes the way a staff member's data goes: files on disk (shapefiles in CGCS2000
Gauss-Kruger with GBK .dbf, XLSX/CSV registers), then the same importers users run.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import click

from ingest.report import ImportReport
from models.db import database_url, home, transaction
from webmap.cli_helpers import fail

# The article's network is 2013; 2023 (after the mergers) is loaded beside it, inactive.
GENERATIONS = {"2013": dt.date(2013, 1, 1), "2023": dt.date(2023, 6, 30)}
ACTIVE = "2013"
# Log-ins of the demo (README): one per user group for the whole city, and a township team.
DEMO_PASSWORD = "qungong-demo"
DEMO_USERS = (
    ("admin", "admin", None, "管理员"),
    ("leader", "leader", None, "市领导"),
    ("staff", "staff", None, "市群工部"),
    ("planner", "planner", None, "规划员"),
    ("team", "team", "township", "工作队"),
)
LEVEL_ORDER = ("county", "township", "village", "group")


def default_dir() -> Path:
    return home() / "demo"


@click.group("demo")
def demo() -> None:
    """The Shaoyang demo network: build its files, load them."""


@demo.command("build")
@click.option("--scale", type=float, default=1.0, show_default=True, help="1.0 = the full network.")
@click.option("--seed", type=int, default=2013, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
def demo_build(scale: float, seed: int, out: Path | None) -> None:
    """Write the demo's boundary files and registers (deterministic for a seed)."""
    build(scale=scale, seed=seed, out=out or default_dir())


def build(*, scale: float, seed: int, out: Path) -> dict[str, Path]:
    from demo.activity import build_cases, build_visits
    from demo.files import write_files
    from demo.gaps import seed_gaps
    from demo.network import build_network
    from demo.roads import network_roads

    started = time.perf_counter()
    click.echo(f"building the network (scale {scale}, seed {seed}) …")
    network = build_network(seed=seed, scale=scale)
    click.echo(f"  network built in {time.perf_counter() - started:.1f} s")
    cases = build_cases(network, seed=seed)
    visits = build_visits(network, seed=seed)
    click.echo(
        f"  {len(cases):,} cases, {len(visits):,} visits ({time.perf_counter() - started:.1f} s)"
    )
    # The gaps a real network has (vacant posts, closed stations, ...) for planners to find.
    network, visits, truth = seed_gaps(network, visits, seed=seed)
    gaps = cast(dict[str, Any], network.notes["gaps"])
    click.echo("  gaps seeded: " + ", ".join(f"{k} {v}" for k, v in gaps.items()))
    written = write_files(network, out, cases=cases, visits=visits)
    written["gaps_truth"] = out / "gaps_truth.csv"
    truth.to_csv(written["gaps_truth"], index=False, encoding="utf-8")
    # No public road data is reachable here: the demo's roads are synthetic and say so.
    written["roads"] = out / "roads_synthetic.gpkg"
    network_roads(network, seed=seed).to_file(written["roads"], layer="roads", engine="pyogrio")
    manifest = {"scale": scale, "seed": seed, "files": {k: str(v) for k, v in written.items()}}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    click.echo(f"  {len(written)} files in {out} ({time.perf_counter() - started:.1f} s)")
    return written


@demo.command("load")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None)
def demo_load(directory: Path | None) -> None:
    """Import the demo files through the same importers staff use (all generations, registers)."""
    load(directory or default_dir())


def load(directory: Path) -> None:
    """Import every file of the demo's manifest, activate its generation, add its users."""
    from ingest.boundaries import activate_generation

    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        fail(f"{manifest_path} missing: run `qungong demo build` first")
    files = {k: Path(v) for k, v in json.loads(manifest_path.read_text())["files"].items()}
    url = database_url()
    started = time.perf_counter()
    with click.progressbar(
        _network_steps(url), label="importing", show_pos=True, item_show_func=lambda s: s and s[0]
    ) as bar:
        for key, run in bar:
            if key not in files:
                continue
            report = run(files[key])
            if not report.ok:
                click.echo("")
                click.echo(report.to_text("zh"))
                sys.exit(1)
    activate_generation(url, ACTIVE, username="demo")
    # Cases and visits last: they are placed on the active generation's groups.
    _load_activity(url, files)
    _load_roads(url, files)
    add_demo_users(url)
    click.echo(f"demo loaded in {time.perf_counter() - started:.1f} s; generation {ACTIVE} active")


def _network_steps(url: str) -> list[tuple[str, Callable[[Path], ImportReport]]]:
    """(manifest key, import) for the boundaries of every generation, then the registers."""
    from ingest.boundaries import import_boundaries
    from ingest.registers import import_officers, import_stations, import_teams

    steps: list[tuple[str, Callable[[Path], ImportReport]]] = [
        (
            f"{level}_{gen}",
            functools.partial(
                import_boundaries,
                url,
                generation=gen,
                valid_from=GENERATIONS[gen],
                commit=True,
                username="demo",
            ),
        )
        for gen in GENERATIONS
        for level in LEVEL_ORDER
    ]
    for key, importer in (
        ("stations", import_stations),
        ("officers", import_officers),
        ("teams", import_teams),
    ):
        steps += [
            (
                f"{key}_{gen}",
                functools.partial(importer, url, generation=gen, commit=True, username="demo"),
            )
            for gen in GENERATIONS
        ]
    return steps


def _load_roads(url: str, files: dict[str, Path]) -> None:
    from demo.roads import SYNTHETIC
    from ingest.errors import IngestError
    from ingest.roads import import_roads

    if "roads" not in files:
        return
    try:
        report = import_roads(url, files["roads"], source=SYNTHETIC, commit=True, username="demo")
    except IngestError as err:
        fail(str(err))
    click.echo(f"  roads: {report['lines']:,} synthetic lines, {report['km']:,} km")


def _load_activity(url: str, files: dict[str, Path]) -> None:
    from ingest.activity import import_cases, import_visits

    for key, importer in (("cases", import_cases), ("visits", import_visits)):
        if key not in files:
            continue
        step = time.perf_counter()
        report = importer(url, files[key], commit=True, username="demo")
        if not report.ok:
            click.echo(report.to_text("zh"))
            sys.exit(1)
        click.echo(
            f"  {key}: {report.counts.get(key, 0):,} loaded, "
            f"{report.counts.get('review', 0):,} to review ({time.perf_counter() - step:.1f} s)"
        )


def add_demo_users(url: str) -> None:
    """The demo's log-ins; the team user sees only the first township of the active generation."""
    from models.places import CITY_CODE, active_generation, first_unit_code
    from models.users import create_user

    with transaction(url) as session:
        generation = active_generation(session)
        township = first_unit_code(session, generation.id, level="township") if generation else None
        if township is None:
            fail("no township in the active generation: load the demo boundaries first")
        for username, role, scope, name in DEMO_USERS:
            area = township if scope == "township" else CITY_CODE
            create_user(
                session,
                username,
                role=role,
                area_code=area,
                password=DEMO_PASSWORD,
                display_name=name,
            )
    click.echo(f"demo users {', '.join(u[0] for u in DEMO_USERS)} (password {DEMO_PASSWORD})")


@demo.command("ensure")
@click.option("--scale", type=float, default=1.0, show_default=True)
def demo_ensure(scale: float) -> None:
    """Build and load the demo when the database holds no boundaries yet (used by `make demo`)."""
    from ingest.boundaries import list_generations

    if list_generations(database_url()):
        click.echo("boundaries already loaded: demo not reloaded")
        return
    out = default_dir()
    manifest = out / "manifest.json"
    if not manifest.exists() or json.loads(manifest.read_text()).get("scale") != scale:
        build(scale=scale, seed=2013, out=out)
    load(out)

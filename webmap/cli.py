"""The one ``qungong`` command: database, imports, demo and the web server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup

from models.cluster import PG_BIN, ClusterError
from models.db import database_url, local_cluster, migrate, schema_ready
from webmap.cli_helpers import fail


def _create_app():
    from webmap.app import create_app

    # Commands run as the operator (the database's owner); only the served app (`run`,
    # webmap.serve) takes the app's reduced role.
    return create_app({"DATABASE_URL": database_url()})


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """群工 qungong — GIS service of Shaoyang's mass-work network."""


@main.group()
def db() -> None:
    """The database: a project-local PostGIS cluster unless DATABASE_URL is set."""


def _uses_local() -> bool:
    return not os.environ.get("DATABASE_URL")


@db.command("up")
def db_up() -> None:
    """Create and start the local cluster if needed, create the database, apply migrations."""
    try:
        if _uses_local():
            cluster = local_cluster()
            created = cluster.init()
            started = cluster.start()
            made_db = cluster.create_database()
            click.echo(
                f"cluster {cluster.root} on port {cluster.port}: "
                f"{'initialised, ' if created else ''}{'started' if started else 'already running'}"
                f"{', database created' if made_db else ''}"
            )
        migrate(database_url())
        if _uses_local():
            # After the migrations: they make the group role whose grants the login gets.
            cluster.ensure_app_login()
    except ClusterError as err:
        fail(str(err))
    except Exception as err:
        fail(f"cannot prepare the database at {_safe_url()}: {err.__class__.__name__}: {err}")
    click.echo("database ready (migrations applied)")
    if _uses_local():
        click.echo(f"the web app connects as qungong_web (password in {cluster.app_password_file})")
        if cluster.trusts_connections():
            click.echo(
                "warning: this cluster was made trusting every local connection as the "
                "superuser; run `qungong db secure` to require passwords"
            )


@db.command("secure")
def db_secure() -> None:
    """Make an older local cluster stop trusting local connections (passwords over TCP)."""
    if not _uses_local():
        fail("DATABASE_URL is set: qungong does not manage that server")
    cluster = local_cluster()
    if not cluster.initialised():
        fail(f"local cluster {cluster.root}: not initialised (run `qungong db up`)")
    try:
        cluster.secure()
    except ClusterError as err:
        fail(str(err))
    click.echo("the superuser now connects only over the socket; TCP needs a password")


@db.command("down")
def db_down() -> None:
    """Stop the local cluster (data is kept)."""
    if not _uses_local():
        fail("DATABASE_URL is set: qungong does not manage that server")
    try:
        stopped = local_cluster().stop()
    except ClusterError as err:
        fail(str(err))
    click.echo("stopped" if stopped else "not running")


@db.command("status")
def db_status() -> None:
    """Say where the database is and whether it is up and migrated."""
    url = database_url()
    if _uses_local():
        cluster = local_cluster()
        if not cluster.initialised():
            click.echo(f"local cluster {cluster.root}: not initialised (run `qungong db up`)")
            sys.exit(3)
        if not cluster.running():
            click.echo(f"local cluster {cluster.root}: stopped (run `qungong db up`)")
            sys.exit(3)
        click.echo(f"local cluster {cluster.root}: running on port {cluster.port}")
    try:
        ready = schema_ready(url)
    except Exception as err:
        fail(f"cannot connect to {_safe_url()}: {err.__class__.__name__}")
    click.echo(f"database {_safe_url()}: {'migrated' if ready else 'empty (run `qungong db up`)'}")


def _pg_tool(name: str) -> str:
    path = PG_BIN / name
    return str(path) if path.exists() else name


def _libpq_url() -> str:
    return database_url().replace("postgresql+psycopg://", "postgresql://")


def _safe_url() -> str:
    url = database_url()
    if "@" in url and ":" in url.split("@")[0].split("//")[-1]:
        scheme, rest = url.split("//", 1)
        user = rest.split(":", 1)[0]
        return f"{scheme}//{user}:***@{rest.split('@', 1)[1]}"
    return url


@db.command("dump")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_dump(file: Path) -> None:
    """Write the whole database to FILE (pg_dump custom format)."""
    proc = subprocess.run(
        [_pg_tool("pg_dump"), "-Fc", "-f", str(file), "-d", _libpq_url()],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        fail(f"pg_dump failed: {proc.stderr.strip()}")
    click.echo(f"dumped to {file} ({file.stat().st_size:,} bytes)")


@db.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def db_restore(file: Path) -> None:
    """Replace the database's contents with a dump made by `qungong db dump`."""
    proc = subprocess.run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "-d",
            _libpq_url(),
            str(file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        fail(f"pg_restore failed: {proc.stderr.strip()}")
    click.echo(f"restored from {file}")


def _register_groups() -> None:
    from webmap.cli_activity import register as register_activity
    from webmap.cli_demo import demo
    from webmap.cli_export import export
    from webmap.cli_ingest import boundaries, register_groups
    from webmap.cli_leaders import leaders_group
    from webmap.cli_planners import coverage_command, roads_group, siting_command
    from webmap.cli_routes import routes_group
    from webmap.cli_tokens import tokens_group
    from webmap.cli_users import audit_command, users_group

    main.add_command(boundaries)
    main.add_command(demo)
    main.add_command(users_group)
    main.add_command(audit_command)
    main.add_command(leaders_group)
    main.add_command(tokens_group)
    main.add_command(coverage_command)
    main.add_command(siting_command)
    main.add_command(roads_group)
    main.add_command(export)
    main.add_command(routes_group)
    for group in register_groups():
        main.add_command(group)
    register_activity(main)


_register_groups()


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", type=int, help="Processes (default: CPU cores + 1).")
@click.option("--threads", type=int, help="Request threads per process (default: 4).")
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
def run(host: str, port: int, workers: int | None, threads: int | None, dev: bool) -> None:
    """Serve the web app (gunicorn, sized to the machine; --dev for Flask's server)."""
    from webmap.serve import ServerSize, default_size, serve, serve_dev

    if dev:
        try:
            serve_dev(host=host, port=port)
        except ClusterError as err:
            fail(str(err))
        return
    size = default_size()
    size = ServerSize(workers=workers or size.workers, threads=threads or size.threads)
    click.echo(f"qungong on http://{host}:{port}: {size.workers} workers x {size.threads} threads")
    try:
        serve(host=host, port=port, size=size)
    except ClusterError as err:  # the app's database role is not made yet
        fail(str(err))


@main.command("check")
def check() -> None:
    """Check the installation: map assets and database."""
    from webmap.app import PROJECT_ROOT, create_app
    from webmap.vendor import assets_problem

    app = create_app()
    problem = assets_problem(app)
    if problem:
        fail(problem)
    click.echo(f"map assets: ok ({PROJECT_ROOT / 'node_modules'})")
    if not schema_ready(app.config["DATABASE_URL"]):
        fail("database not migrated: run `qungong db up`")
    click.echo("database: ok")

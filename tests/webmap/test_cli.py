"""The qungong command: database lifecycle, boundary import, demo, users — as a user runs them."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from models import cluster as cluster_module
from models.cluster import free_port
from models.db import engine_for
from tests.factories import load_tiny_network
from webmap.cli import main


@pytest.fixture
def cli():
    return CliRunner()


@pytest.fixture
def local_home():
    """A QUNGONG_HOME of its own, with a cluster on a free port; stopped and removed after."""
    root = Path(tempfile.mkdtemp(prefix="qungong-home-"))
    env = {"QUNGONG_HOME": str(root), "QUNGONG_PGPORT": str(free_port()), "DATABASE_URL": ""}
    yield env
    cluster = cluster_module.LocalCluster(root=root / "pg", port=int(env["QUNGONG_PGPORT"]))
    cluster.destroy()
    shutil.rmtree(root, ignore_errors=True)


def test_db_up_down_are_idempotent(cli, local_home, tmp_path):
    first = cli.invoke(main, ["db", "up"], env=local_home)
    assert first.exit_code == 0, first.output
    assert "initialised, started, database created" in first.output
    again = cli.invoke(main, ["db", "up"], env=local_home)
    assert again.exit_code == 0, again.output
    assert "already running" in again.output
    status = cli.invoke(main, ["db", "status"], env=local_home)
    assert "running" in status.output
    assert "migrated" in status.output

    cluster = cluster_module.LocalCluster(
        root=Path(local_home["QUNGONG_HOME"]) / "pg", port=int(local_home["QUNGONG_PGPORT"])
    )
    assert not cluster.trusts_connections()
    assert "qungong_web" in first.output
    # the served app takes the web role (models.db.app_database_url), never the superuser
    app_url = cluster.app_url()
    assert app_url is not None
    assert app_url.startswith("postgresql+psycopg://qungong_web:")
    with engine_for(app_url).connect() as conn:
        assert (
            conn.execute(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar_one()
            is False
        )
    engine_for(app_url).dispose()

    url = cluster.url()
    load_tiny_network(url)
    dump = tmp_path / "backup.dump"
    assert cli.invoke(main, ["db", "dump", str(dump)], env=local_home).exit_code == 0
    with engine_for(url).begin() as conn:
        conn.execute(text("DELETE FROM station"))
    restored = cli.invoke(main, ["db", "restore", str(dump)], env=local_home)
    assert restored.exit_code == 0, restored.output
    with engine_for(url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM station")).scalar_one() == 4
    engine_for(url).dispose()

    assert "stopped" in cli.invoke(main, ["db", "down"], env=local_home).output
    assert "not running" in cli.invoke(main, ["db", "down"], env=local_home).output
    status = cli.invoke(main, ["db", "status"], env=local_home)
    assert status.exit_code == 3
    assert "stopped" in status.output


def test_missing_postgis_is_one_clear_line(cli, local_home, monkeypatch, tmp_path):
    monkeypatch.setattr(cluster_module, "POSTGIS_CONTROL", tmp_path / "no-postgis.control")
    result = cli.invoke(main, ["db", "up"], env=local_home)
    assert result.exit_code == 1
    assert "apt-get install postgresql-15-postgis-3" in result.output
    assert "Traceback" not in result.output


def test_unreachable_database_url_is_one_clear_line(cli):
    port = free_port()
    result = cli.invoke(
        main, ["db", "up"], env={"DATABASE_URL": f"postgresql://u@127.0.0.1:{port}/x"}
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot prepare the database")


def test_demo_build_and_load_through_the_importers(cli, db_url, tmp_path):
    env = {"DATABASE_URL": db_url}
    out = tmp_path / "demo"
    built = cli.invoke(main, ["demo", "build", "--scale", "0.02", "--out", str(out)], env=env)
    assert built.exit_code == 0, built.output
    assert (out / "boundaries_2013" / "group_2013.shp").exists()
    loaded = cli.invoke(main, ["demo", "load", "--dir", str(out)], env=env)
    assert loaded.exit_code == 0, loaded.output
    listing = cli.invoke(main, ["boundaries", "list"], env=env).output
    assert listing.startswith("* 2013")
    with engine_for(db_url).connect() as conn:
        batches = conn.execute(text("SELECT count(*) FROM import_batch")).scalar_one()
        stations = conn.execute(
            text(
                "SELECT count(*) FROM station s JOIN admin_unit u ON u.id = s.unit_id"
                " JOIN generation g ON g.id = u.generation_id WHERE g.active"
            )
        ).scalar_one()
        villages = conn.execute(
            text(
                "SELECT count(*) FROM admin_unit u JOIN generation g ON g.id = u.generation_id"
                " WHERE g.active AND u.level = 'village'"
            )
        ).scalar_one()
    assert batches >= 8
    assert stations == villages > 0
    # loading again changes nothing: every file is recognised as already imported
    again = cli.invoke(main, ["demo", "load", "--dir", str(out)], env=env)
    assert again.exit_code == 0, again.output
    with engine_for(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM import_batch")).scalar_one() == batches


def test_boundaries_import_is_a_dry_run_unless_commit(cli, db_url, tmp_path):
    from demo.files import write_files
    from demo.network import build_network

    files = write_files(build_network(scale=0.02), tmp_path, generations=("2013",))
    env = {"DATABASE_URL": db_url}
    dry = cli.invoke(main, ["boundaries", "import", str(files["county_2013"])], env=env)
    assert dry.exit_code == 0, dry.output
    assert "试运行" in dry.output
    assert "no generations yet" in cli.invoke(main, ["boundaries", "list"], env=env).output
    done = cli.invoke(
        main, ["boundaries", "import", str(files["county_2013"]), "--commit"], env=env
    )
    assert done.exit_code == 0, done.output
    assert "county=2" in cli.invoke(main, ["boundaries", "list"], env=env).output


def test_boundaries_import_of_a_broken_file_fails_cleanly(cli, db_url, tmp_path):
    broken = tmp_path / "村界.shp"
    broken.write_bytes(b"not a shapefile")
    result = cli.invoke(
        main, ["boundaries", "import", str(broken), "--commit"], env={"DATABASE_URL": db_url}
    )
    assert result.exit_code == 1
    assert "村界.shp" in result.output
    assert "Traceback" not in result.output


def test_users_add_and_list(cli, db_url):
    env = {"DATABASE_URL": db_url}
    strong = "Shaoyang-2026"
    added = cli.invoke(
        main,
        [
            "users",
            "add",
            "wang",
            "--role",
            "leader",
            "--area",
            "430525000000",
            "--password",
            strong,
        ],
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert "wang" in cli.invoke(main, ["users", "list"], env=env).output
    bad = cli.invoke(
        main,
        ["users", "add", "li", "--role", "leader", "--area", "4305", "--password", strong],
        env=env,
    )
    assert bad.exit_code == 1
    assert "12-digit" in bad.output
    weak = cli.invoke(
        main,
        ["users", "add", "li", "--role", "leader", "--area", "430525000000", "--password", "pw"],
        env=env,
    )
    assert weak.exit_code == 1
    assert "10 characters" in weak.output


def test_users_disable_reset_and_audit(cli, db_url):
    env = {"DATABASE_URL": db_url}
    args = ["users", "add", "wang", "--role", "leader", "--area", "430525000000"]
    assert cli.invoke(main, [*args, "--password", "Shaoyang-2026"], env=env).exit_code == 0
    assert cli.invoke(main, ["users", "disable", "wang"], env=env).exit_code == 0
    assert "disabled" in cli.invoke(main, ["users", "list"], env=env).output
    reset = ["users", "reset-password", "wang", "--password", "Temporary-2026"]
    assert cli.invoke(main, reset, env=env).exit_code == 0
    assert "must-change-password" in cli.invoke(main, ["users", "list"], env=env).output
    log = cli.invoke(main, ["audit", "--since", "2000-01-01"], env=env).output
    assert "user.disable" in log
    assert "user.reset_password" in log
    assert cli.invoke(main, ["users", "disable", "nobody"], env=env).exit_code == 1


def test_register_imports_from_the_command_line(cli, db_url, tmp_path):
    from demo.files import write_files
    from demo.network import build_network

    files = write_files(build_network(scale=0.02), tmp_path, generations=("2013",))
    env = {"DATABASE_URL": db_url}
    for level in ("county", "township", "village", "group"):
        result = cli.invoke(
            main, ["boundaries", "import", str(files[f"{level}_2013"]), "--commit"], env=env
        )
        assert result.exit_code == 0, result.output
    dry = cli.invoke(main, ["stations", "import", str(files["stations_2013"])], env=env)
    assert dry.exit_code == 0, dry.output
    assert "试运行" in dry.output
    for kind in ("stations", "officers", "teams"):
        done = cli.invoke(main, [kind, "import", str(files[f"{kind}_2013"]), "--commit"], env=env)
        assert done.exit_code == 0, done.output
    with engine_for(db_url).connect() as conn:
        counts = [
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("station", "officer", "team")
        ]
    assert all(n > 0 for n in counts)

    bad = tmp_path / "站点.csv"
    bad.write_text("站点名称,村代码,经度,纬度\n某站,430599999999,111.5,27.2\n", encoding="utf-8")
    result = cli.invoke(main, ["stations", "import", str(bad), "--commit"], env=env)
    assert result.exit_code == 1
    assert "第 2 行" in result.output
    assert "430599999999" in result.output
    with engine_for(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM station")).scalar_one() == counts[0]

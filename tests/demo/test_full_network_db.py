"""The whole Shaoyang demo network, built and loaded through the importers, checked in SQL."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from models.db import engine_for
from webmap.cli import main

pytestmark = pytest.mark.slow

ACTIVE = "SELECT id FROM generation WHERE active"


@pytest.fixture(scope="module")
def full_demo(pg_cluster, tmp_path_factory):
    name = "full_demo"
    pg_cluster.create_database(name, template="qungong_template")
    url = pg_cluster.url(name)
    out = tmp_path_factory.mktemp("demo")
    env = {"DATABASE_URL": url}
    runner = CliRunner()
    built = runner.invoke(main, ["demo", "build", "--out", str(out)], env=env)
    assert built.exit_code == 0, built.output
    loaded = runner.invoke(main, ["demo", "load", "--dir", str(out)], env=env)
    assert loaded.exit_code == 0, loaded.output
    yield url
    engine_for(url).dispose()
    pg_cluster.drop_database(name)


def scalar(url: str, sql: str) -> int:
    with engine_for(url).connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_active_generation_is_2013_with_the_articles_counts(full_demo):
    with engine_for(full_demo).connect() as conn:
        assert conn.execute(text("SELECT name FROM generation WHERE active")).scalar_one() == "2013"
        counts = dict(
            conn.execute(
                text(
                    f"SELECT level, count(*) FROM admin_unit WHERE generation_id = ({ACTIVE}) GROUP BY level"
                )
            ).all()
        )
    assert counts == {
        "city": 1,
        "county": 12,
        "township": 255,
        "village": 5903,
        "group": 47224,
    } or (
        {k: counts[k] for k in ("county", "township", "village", "group")}
        == {"county": 12, "township": 255, "village": 5903, "group": 47224}
    )
    stations = scalar(
        full_demo,
        f"SELECT count(*) FROM station s JOIN admin_unit u ON u.id = s.unit_id WHERE u.generation_id = ({ACTIVE})",
    )
    assert stations == 5903


def test_2023_generation_is_loaded_beside_it(full_demo):
    with engine_for(full_demo).connect() as conn:
        counts = dict(
            conn.execute(
                text(
                    "SELECT u.level, count(*) FROM admin_unit u JOIN generation g ON g.id = u.generation_id"
                    " WHERE g.name = '2023' GROUP BY u.level"
                )
            ).all()
        )
    assert counts["township"] == 206
    assert counts["village"] == 3675


@pytest.mark.parametrize(
    ("child", "parent"), [("group", "village"), ("village", "township"), ("township", "county")]
)
def test_every_unit_lies_in_its_parent(full_demo, child, parent):
    orphans = scalar(
        full_demo,
        f"""SELECT count(*) FROM admin_unit c LEFT JOIN admin_unit p ON p.id = c.parent_id
            WHERE c.generation_id = ({ACTIVE}) AND c.level = '{child}'
              AND (p.id IS NULL OR p.level <> '{parent}')""",
    )
    assert orphans == 0
    # outside by more than 10 m²: edges are straight in lon/lat, not in the files' Gauss-Kruger
    spill = scalar(
        full_demo,
        f"""SELECT count(*) FROM admin_unit c JOIN admin_unit p ON p.id = c.parent_id
            WHERE c.generation_id = ({ACTIVE}) AND c.level = '{child}'
              AND NOT ST_CoveredBy(c.geom, p.geom)
              AND ST_Area(ST_Difference(c.geom, p.geom)::geography) > 10""",
    )
    assert spill == 0

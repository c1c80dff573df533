"""``qungong cases import``, ``qungong visits import`` and ``qungong geocode`` on the tiny network."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from geo.coords import wgs84_to_gcj02
from models.db import engine_for
from tests.factories import load_tiny_network
from webmap.cli import main


@pytest.fixture
def env(db_url):
    load_tiny_network(db_url)
    return {"DATABASE_URL": db_url}


def _count(url, table):
    with engine_for(url).connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_cases_import_is_a_dry_run_until_commit(env, tmp_path):
    path = tmp_path / "案件.csv"
    path.write_bytes(
        "编号,类别,日期,位置\nA1,信访,2013-01-02,洞口县竹市镇田心村1组\nA2,信访,2013-01-02,长沙市\n".encode(
            "gbk"
        )
    )
    args = ["cases", "import", str(path), "--field", "address=位置", "--field", "kind=类别"]
    dry = CliRunner().invoke(main, [*args, "--lang", "en"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output.lower()
    assert "row 3: to review: address not found" in dry.output
    assert "试运行" not in dry.output
    # One language: Chinese by default (and when LANG is not English), English on request.
    zh = CliRunner().invoke(main, args, env={**env, "LANG": "C.UTF-8"})
    assert zh.exit_code == 0, zh.output
    assert "第 3 行" in zh.output
    assert "试运行" in zh.output
    assert "dry run" not in zh.output.lower()
    assert "row 3" not in zh.output
    by_env = CliRunner().invoke(main, args, env={**env, "LANG": "en_GB.UTF-8"})
    assert "row 3" in by_env.output
    assert "第 3 行" not in by_env.output
    assert _count(env["DATABASE_URL"], "case_record") == 0
    done = CliRunner().invoke(main, [*args, "--commit", "--user", "li"], env=env)
    assert done.exit_code == 0, done.output
    assert _count(env["DATABASE_URL"], "case_record") == 1
    assert _count(env["DATABASE_URL"], "review_item") == 1


def test_cases_import_fails_cleanly_without_location_columns(env, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("编号,类型,日期\nA1,信访,2013-01-02\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["cases", "import", str(path), "--commit"], env=env)
    assert result.exit_code == 1
    assert "x.csv: no address column" in result.output
    assert "Traceback" not in result.output


def test_visits_import_with_default_crs(env, tmp_path):
    glon, glat = wgs84_to_gcj02(110.05, 27.15)
    path = tmp_path / "v.csv"
    path.write_text(
        f"走访时间,经度,纬度\n2013-01-02 10:00,{float(glon):.7f},{float(glat):.7f}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main, ["visits", "import", str(path), "--crs", "gcj02", "--commit"], env=env
    )
    assert result.exit_code == 0, result.output
    with engine_for(env["DATABASE_URL"]).connect() as conn:
        got = conn.execute(text("SELECT group_code, source_crs FROM visit")).one()
    assert tuple(got) == ("430525100202001", "gcj02")


def test_geocode_writes_csv_with_status_and_candidates(env):
    stdin = "id,address\n1,洞口县竹市镇田心村2组\n2,田心村\n3,北京市朝阳区\n"
    result = CliRunner().invoke(main, ["geocode", "-"], input=stdin, env=env)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["status"] == "matched"
    assert rows[0]["code"] == "430525100201002"
    assert rows[0]["level"] == "group"
    assert 110.1 < float(rows[0]["lon"]) < 110.2  # the east half of 田心村
    assert rows[1]["status"] == "ambiguous"
    assert set(rows[1]["candidates"].split("|")) == {"430525100201", "430525101201"}
    assert rows[2]["status"] == "unmatched"
    assert rows[2]["code"] == ""

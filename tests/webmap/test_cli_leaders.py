"""``qungong leaders analyse`` writes what /api/leaders/ answers for the same filters."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from tests.leaders_factories import HOT, grid_cases, insert_cases, load_grid_network
from webmap.cli import main


@pytest.fixture
def grid(db_url):
    network = load_grid_network(db_url)
    insert_cases(db_url, grid_cases(network))
    return network


def _run(db_url, *args):
    return CliRunner().invoke(main, ["leaders", "analyse", *args], env={"DATABASE_URL": db_url})


def test_cli_layer_equals_the_api(client, auth, grid, db_url, tmp_path):
    auth.login("leader")
    for layer, extra in (("hotspots", ["--gi", "count"]), ("rates", ["--area", "430522000000"])):
        out = tmp_path / f"{layer}.geojson"
        result = _run(
            db_url,
            "--kind",
            "dispute",
            "--from",
            "2013",
            "--to",
            "2013",
            "--layer",
            layer,
            *extra,
            "-o",
            str(out),
        )
        assert result.exit_code == 0, result.output
        query = "kind=dispute&from=2013&to=2013&" + "&".join(
            f"{a.lstrip('-')}={b}" for a, b in zip(extra[::2], extra[1::2], strict=True)
        )
        api = client.get(f"/api/leaders/{layer}?{query}").get_json()
        written = json.loads(out.read_text(encoding="utf-8"))
        assert written["features"] == api["features"]
        assert written["cases"] == api["cases"]


def test_cli_top_csv_equals_the_api(client, auth, grid, db_url, tmp_path):
    auth.login("leader")
    out = tmp_path / "top.csv"
    result = _run(db_url, "--kind", "dispute", "--layer", "top", "-o", str(out))
    assert result.exit_code == 0, result.output
    api = client.get("/api/leaders/top.csv?kind=dispute").get_data(as_text=True)
    assert out.read_bytes().decode("utf-8") == api
    rows = list(csv.DictReader(io.StringIO(api.lstrip("\ufeff"))))
    assert {r["区划代码"] for r in rows[:4]} == set(HOT)


def test_cli_summary_and_clear_errors(grid, db_url, tmp_path):
    summary = _run(db_url, "--kind", "dispute")
    assert summary.exit_code == 0, summary.output
    assert "cases:" in summary.output
    assert "hot99" in summary.output
    reversed_dates = _run(db_url, "--from", "2014", "--to", "2013")
    assert reversed_dates.exit_code == 1
    assert "date range is reversed" in reversed_dates.output
    assert "Traceback" not in reversed_dates.output
    wrong = _run(db_url, "--layer", "rates", "-o", str(tmp_path / "x.csv"))
    assert wrong.exit_code == 1
    assert "ranked villages" in wrong.output

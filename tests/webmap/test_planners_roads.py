"""Roads imported by ``qungong roads import`` reach the planners' measures (/api/coverage)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from shapely.geometry import LineString

from tests.coverage_factories import load_coverage_network
from tests.ingest.test_roads import CENTRES, NORTH, _roads
from webmap.cli import main


def test_cli_speeds_override_and_road_measures(db_url, tmp_path, client, auth):
    load_coverage_network(db_url)
    path = _roads(tmp_path, extra=[(LineString([CENTRES[1], NORTH[1]]), "渡口", "ferry")])
    speeds = tmp_path / "speeds.csv"
    speeds.write_text("class,speed_kmh\nferry,12\n", encoding="utf-8")
    env = {"DATABASE_URL": db_url}
    result = CliRunner().invoke(
        main, ["roads", "import", str(path), "--speeds", str(speeds), "--commit"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "committed: 9 lines" in result.output
    auth.login("planner")
    data = client.get("/api/coverage?area=430525000000&level=group").get_json()
    props = {f["properties"]["code"]: f["properties"] for f in data["features"]}
    near = props["430525100201001"]  # a group centred on its station, on the road
    assert near["distance_nearest_road_m"] == pytest.approx(0, abs=1)
    far = props["430525100201002"]  # 0.1 deg east, on the road to the next village's station
    assert far["distance_nearest_road_m"] >= far["distance_nearest_m"] - 1
    assert far["travel_minutes"] > 0
    # to the group's own station, not the nearest (issue #11)
    assert near["distance_own_road_m"] == pytest.approx(0, abs=1)
    assert far["distance_own_road_m"] >= far["distance_own_m"] - 1
    assert far["travel_minutes_own"] > 0
    assert props["430525100202001"]["distance_own_road_m"] is None  # its station is closed
    villages = client.get("/api/coverage?area=430525000000&level=village").get_json()
    own = {f["properties"]["code"]: f["properties"] for f in villages["features"]}
    assert own["430525100202"]["distance_own_road_m"] is None
    assert own["430525100201"]["distance_own_road_m"] > 0
    bad = tmp_path / "bad.csv"
    bad.write_text("class,speed_kmh\nferry,-3\n", encoding="utf-8")
    failed = CliRunner().invoke(main, ["roads", "import", str(path), "--speeds", str(bad)], env=env)
    assert failed.exit_code == 1
    assert "bad.csv: row 2: speed must be 1-199 km/h" in failed.output


def test_page_draws_synthetic_roads_labelled(db_url, tmp_path, client, auth):
    from ingest.roads import import_roads

    load_coverage_network(db_url)
    import_roads(
        db_url,
        _roads(tmp_path),
        source="合成示意路网 (synthetic demo roads, not real)",
        commit=True,
    )
    auth.login("planner")
    page = client.get("/planners/?area=430525000000").get_data(as_text=True)
    # the layer control carries the name JSON-escaped
    assert "道路（合成示意）" in page or json.dumps("道路（合成示意）")[1:-1] in page
    assert "到最近工作站车程（分钟）" in page

"""/api/geocode answers what `qungong geocode` answers, within the caller's area."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from tests.webmap.ogc_fixtures import make_world
from webmap.cli import main

ADDRESSES = ["洞口县竹市镇田心村2组", "田心村", "北京市朝阳区", "洞口县石江镇石桥村1组"]
CSV_IN = "id,address\n" + "".join(f"{i},{a}\n" for i, a in enumerate(ADDRESSES, 1))


@pytest.fixture
def world(db_url, auth):
    return make_world(db_url, auth)


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cli_rows(world) -> list[dict[str, str]]:
    result = CliRunner().invoke(
        main, ["geocode", "-"], input=CSV_IN, env={"DATABASE_URL": world.url}
    )
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


def test_csv_batch_is_byte_for_byte_the_command_line_answer(client, world):
    cli = CliRunner().invoke(main, ["geocode", "-"], input=CSV_IN, env={"DATABASE_URL": world.url})
    r = client.post(
        "/api/geocode",
        data=CSV_IN.encode(),
        headers={**h(world.admin_token), "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "text/csv"
    assert r.get_data(as_text=True) == cli.output


def test_json_batch_and_single_address_match_the_command_line(client, world):
    expected = cli_rows(world)
    r = client.post("/api/geocode", json=ADDRESSES, headers=h(world.admin_token))
    assert r.status_code == 200
    got = r.get_json()
    assert [g["address"] for g in got] == ADDRESSES
    for answer, row in zip(got, expected, strict=True):
        assert answer["status"] == row["status"]
        assert (answer["code"] or "") == row["code"]
        assert answer["candidates"] == [c for c in row["candidates"].split("|") if c]
        if row["lon"]:
            assert answer["lon"] == pytest.approx(float(row["lon"]), abs=1e-6)
    assert got[0]["code"] == "430525100201002"
    assert got[1]["status"] == "ambiguous"
    one = client.get(
        "/api/geocode", query_string={"address": ADDRESSES[0]}, headers=h(world.admin_token)
    )
    assert one.get_json() == got[0]


def test_answers_stay_inside_the_callers_area(client, world):
    r = client.post("/api/geocode", json=ADDRESSES, headers=h(world.team_token))
    got = r.get_json()
    for answer in got:
        assert (answer["code"] or "430525100").startswith("430525100")
        assert all(c.startswith("430525100") for c in answer["candidates"])
    assert got[0]["code"] == "430525100201002"
    outside = got[3]  # 石江镇 is the other township
    assert outside["status"] == "unmatched"
    assert outside["code"] is None
    assert outside["lon"] is None


def test_bad_requests_are_clear(client, world):
    admin = h(world.admin_token)
    assert client.get("/api/geocode", headers=admin).status_code == 400
    assert client.post("/api/geocode", json={"a": 1}, headers=admin).status_code == 400
    assert client.post("/api/geocode", json=[1, 2], headers=admin).status_code == 400
    no_column = client.post(
        "/api/geocode", data=b"id,addr\n1,x\n", headers={**admin, "Content-Type": "text/csv"}
    )
    assert no_column.status_code == 400
    assert "no 'address' column" in no_column.get_json()["message"]
    assert client.post("/api/geocode", json=ADDRESSES).status_code == 401

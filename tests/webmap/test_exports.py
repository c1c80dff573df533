"""Exports (web and CLI) read back with pyogrio and compared with the database."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from sqlalchemy import text

from models.db import engine_for
from tests.webmap.ogc_fixtures import make_world
from webmap.cli import main
from webmap.services.exports import FIELD_ZH


@pytest.fixture
def world(db_url, auth):
    return make_world(db_url, auth)


def db_groups(db_url, prefix="4305"):
    with engine_for(db_url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT u.code, u.name, u.households, ST_AsBinary(u.geom) FROM admin_unit u"
                " WHERE u.level = 'group' AND u.code LIKE :p ORDER BY u.code"
            ),
            {"p": prefix + "%"},
        ).all()
    return {r[0]: (r[1], r[2], shapely.from_wkb(bytes(r[3]))) for r in rows}


def fetch(client, token, layer, fmt, **args):
    r = client.get(
        f"/api/export/{layer}",
        query_string={"format": fmt, **args},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    return r


def assert_same_groups(frame, expected, code="代码", name="名称", households="户数"):
    assert sorted(frame[code]) == sorted(expected)
    for row in frame.itertuples(index=False):
        want_name, want_households, want_geom = expected[getattr(row, code)]
        assert getattr(row, name) == want_name
        assert getattr(row, households) == want_households
        assert shapely.hausdorff_distance(row.geometry, want_geom) < 1e-6  # 7 decimals: 1 cm


def test_geopackage_has_chinese_fields_wgs84_and_the_database_rows(client, world, tmp_path):
    r = fetch(client, world.admin_token, "groups", "gpkg")
    assert r.headers["Content-Disposition"].endswith("groups_2013.gpkg")
    path = tmp_path / "g.gpkg"
    path.write_bytes(r.data)
    frame = pyogrio.read_dataframe(path)
    assert frame.crs.to_epsg() == 4326
    assert_same_groups(frame, db_groups(world.url))


def test_zipped_shapefile_is_gbk_with_cpg_cgcs2000_and_short_field_names(client, world, tmp_path):
    r = fetch(client, world.admin_token, "groups", "shp")
    zf = zipfile.ZipFile(io.BytesIO(r.data))
    names = sorted(zf.namelist())
    assert {n.rsplit(".", 1)[1] for n in names} >= {"shp", "shx", "dbf", "prj", "cpg"}
    cpg = next(n for n in names if n.endswith(".cpg"))
    assert zf.read(cpg).decode().strip().upper() == "GBK"
    prj = zf.read(next(n for n in names if n.endswith(".prj"))).decode()
    assert "2000" in prj
    assert "China" in prj
    # dBASE field names are raw bytes at offset 32, 32 bytes per field descriptor
    dbf = zf.read(next(n for n in names if n.endswith(".dbf")))
    fields = []
    for i in range(32, len(dbf), 32):
        if dbf[i] == 0x0D:
            break
        fields.append(dbf[i : i + 11].split(b"\0")[0].decode("gbk"))
    assert fields == ["代码", "名称", "上级代码", "上级名称", "县代码", "户数", "人口"]
    path = tmp_path / "g.zip"
    path.write_bytes(r.data)
    frame = pyogrio.read_dataframe(f"/vsizip/{path}")
    assert frame.crs.to_epsg() == 4490
    assert_same_groups(frame, db_groups(world.url))


def test_csv_is_utf8_with_bom_chinese_headers_and_a_point_inside(client, world):
    r = fetch(client, world.admin_token, "groups", "csv")
    assert r.data.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(r.data), encoding="utf-8-sig", dtype={"代码": str})
    assert list(frame.columns)[:3] == ["代码", "名称", "上级代码"]
    expected = db_groups(world.url)
    assert sorted(frame["代码"]) == sorted(expected)
    for row in frame.itertuples(index=False):
        _, _, geom = expected[row[0]]
        assert geom.contains(shapely.Point(row.经度, row.纬度))


def test_geojson_keeps_api_keys_and_is_area_scoped(client, world, tmp_path):
    r = fetch(client, world.team_token, "groups", "geojson", area="430500000000")
    path = tmp_path / "g.geojson"
    path.write_bytes(r.data)
    frame = pyogrio.read_dataframe(path)
    assert_same_groups(
        frame, db_groups(world.url, "430525100"), code="code", name="name", households="households"
    )


def test_case_counts_export_is_masked(client, world, tmp_path):
    r = fetch(client, world.admin_token, "case-counts", "gpkg")
    path = tmp_path / "c.gpkg"
    path.write_bytes(r.data)
    frame = pyogrio.read_dataframe(path).set_index("村代码")
    assert frame.loc["430525100201", "案件数"] == 7
    assert pd.isna(frame.loc["430525100202", "案件数"])
    assert frame.loc["430525100202", "案件数显示"] == "<5"


def test_exports_are_audited_and_bad_requests_are_clear(client, world):
    fetch(client, world.team_token, "stations", "csv")
    with engine_for(world.url).connect() as conn:
        detail = conn.execute(
            text("SELECT username, detail FROM audit_log WHERE action = 'export'")
        ).one()
    assert detail[0] == "team"
    assert detail[1]["layer"] == "stations"
    assert detail[1]["rows"] == 2
    assert detail[1]["area"] == "430525100"
    h = {"Authorization": f"Bearer {world.admin_token}"}
    assert client.get("/api/export/nope", headers=h).status_code == 404
    assert client.get("/api/export/groups?format=xls", headers=h).status_code == 400
    assert client.get("/api/export/groups?generation=1999", headers=h).status_code == 404
    assert client.get("/api/export/groups").status_code == 401


def test_command_line_export_every_format(world, tmp_path):
    cli = CliRunner()
    env = {"DATABASE_URL": world.url}
    expected = db_groups(world.url, "430525101")
    for suffix in ("gpkg", "zip", "csv", "geojson"):
        out = tmp_path / f"groups.{suffix}"
        result = cli.invoke(
            main, ["export", "groups", "--area", "430525101000", "-o", str(out)], env=env
        )
        assert result.exit_code == 0, result.output
        assert "4 features" in result.output
        if suffix == "csv":
            codes = pd.read_csv(out, encoding="utf-8-sig", dtype=str)["代码"]
        else:
            frame = pyogrio.read_dataframe(f"/vsizip/{out}" if suffix == "zip" else out)
            codes = frame["code" if suffix == "geojson" else "代码"]
        assert sorted(codes) == sorted(expected)
    named = cli.invoke(
        main,
        ["export", "villages", "--generation", "2013", "-o", str(tmp_path / "v.gpkg")],
        env=env,
    )
    assert named.exit_code == 0, named.output
    bad = cli.invoke(main, ["export", "groups", "-o", str(tmp_path / "g.xls")], env=env)
    assert bad.exit_code == 1
    assert "cannot tell the format" in bad.output
    unknown = cli.invoke(main, ["export", "roads", "-o", str(tmp_path / "r.gpkg")], env=env)
    assert unknown.exit_code == 1
    assert "unknown layer 'roads'" in unknown.output


def test_chinese_field_names_fit_a_dbase_header():
    assert all(len(name.encode("gbk")) <= 10 for name in FIELD_ZH.values())

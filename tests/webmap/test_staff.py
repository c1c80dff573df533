"""Staff upload page: check first, commit second, bad files change nothing."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import text

from models.db import engine_for
from tests.factories import load_tiny_network

SUFFIXES = (".shp", ".shx", ".dbf", ".prj", ".cpg")


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    from demo.files import write_files
    from demo.network import build_network

    return write_files(
        build_network(scale=0.02), tmp_path_factory.mktemp("files"), generations=("2013",)
    )


def zipped_shapefile(shp) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for suffix in SUFFIXES:
            part = shp.with_suffix(suffix)
            if part.exists():
                zf.write(part, f"县界/{part.name}")
    return buffer.getvalue()


def count(db_url: str, table: str) -> int:
    with engine_for(db_url).connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def upload(auth, kind: str, name: str, data: bytes, **options):
    return auth.post(
        "/staff/",
        data={"kind": kind, "action": "check", "file": (io.BytesIO(data), name), **options},
        content_type="multipart/form-data",
    )


def test_only_staff_may_upload(client, auth):
    auth.login("leader")
    assert client.get("/staff/").status_code == 403


def test_check_then_commit_a_zipped_shapefile(client, auth, db_url, demo_files):
    auth.login("staff")
    checked = upload(auth, "boundaries", "县界.zip", zipped_shapefile(demo_files["county_2013"]))
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert "检查通过" in html
    assert count(db_url, "admin_unit") == 0
    token = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
    committed = auth.post(
        "/staff/", data={"kind": "boundaries", "action": "commit", "token": token, "generation": ""}
    )
    assert "已导入" in committed.get_data(as_text=True)
    assert count(db_url, "admin_unit") == 2
    # the token is spent: a second commit cannot import twice
    again = auth.post("/staff/", data={"kind": "boundaries", "action": "commit", "token": token})
    assert "已过期" in again.get_data(as_text=True)
    assert count(db_url, "import_batch") == 1


def test_checked_uploads_expire_after_the_ttl(app, client, auth, db_url):
    import os
    import time
    from pathlib import Path

    load_tiny_network(db_url)
    auth.login("staff")
    body = "站点名称,村代码\n一站,430525100201\n".encode()

    def checked_token() -> str:
        html = upload(auth, "stations", "站点.csv", body).get_data(as_text=True)
        return re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)

    folder = Path(app.instance_path) / "uploads"
    old, fresh = checked_token(), checked_token()
    hours_ago = time.time() - 61 * 60  # UPLOAD_TTL_MINUTES is 60
    os.utime(folder / old, (hours_ago, hours_ago))
    assert client.get("/staff/").status_code == 200  # every staff request sweeps
    assert not (folder / old).exists()
    assert (folder / fresh).is_dir()
    expired = auth.post("/staff/", data={"kind": "stations", "action": "commit", "token": old})
    assert "已过期" in expired.get_data(as_text=True)
    assert count(db_url, "import_batch") == 0


def test_a_broken_upload_names_the_file_and_changes_nothing(client, auth, db_url):
    auth.login("staff")
    response = upload(
        auth, "boundaries", "坏文件.geojson", b'{"type": "FeatureCollection", "features": ['
    )
    html = response.get_data(as_text=True)
    assert "坏文件.geojson" in html
    assert 'id="error"' in html
    assert count(db_url, "admin_unit") == 0
    assert count(db_url, "import_batch") == 0


def test_a_register_with_bad_rows_is_reported_row_by_row(client, auth, db_url):
    load_tiny_network(db_url)
    stations_before = count(db_url, "station")
    auth.login("staff")
    bad = "站点名称,村代码,经度,纬度\n某站,430599999999,111.5,27.2\n".encode("gbk")
    html = upload(auth, "stations", "站点名册.csv", bad).get_data(as_text=True)
    assert "有错误，未写入" in html
    # A table in the page's language: the row as 第 2 行, no internal count keys.
    assert "第 2 行" in html
    assert "row 2" not in html
    assert 'class="problem problem-error"' in html
    assert 'id="commit"' not in html
    assert count(db_url, "station") == stations_before


def test_wrong_file_type_is_refused(client, auth):
    auth.login("staff")
    html = upload(auth, "stations", "名册.pdf", b"%PDF").get_data(as_text=True)
    assert "不支持的文件类型 .pdf" in html


def test_over_size_upload_is_refused_cleanly(app, client, auth, db_url):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    auth.login("staff")
    response = upload(auth, "stations", "大文件.csv", b"x" * 4096)
    assert response.status_code == 413
    assert "上限" in response.get_data(as_text=True)
    assert count(db_url, "import_batch") == 0

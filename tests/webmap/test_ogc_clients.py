"""Real OGC API clients against a real HTTP server: GDAL's OAPIF driver (QGIS's) and OWSLib.

Both must list the collections, read features with a bbox and across pages, and see only the
token owner's area.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text

from models.db import engine_for
from tests.webmap.ogc_fixtures import live_server, make_world

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin not installed")


@pytest.fixture
def world(db_url, auth):
    return make_world(db_url, auth)


@pytest.fixture
def server(app, world):
    with live_server(app) as base:
        yield base


def ogrinfo(base: str, token: str, *args: str) -> str:
    cmd = [
        "ogrinfo",
        "-ro",
        f"OAPIF:{base}/ogc",
        "--config",
        "GDAL_HTTP_HEADERS",
        f"Authorization: Bearer {token}",
        "--config",
        "CPL_VSIL_CURL_NON_CACHED",
        "YES",
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def feature_ids(ogr_output: str, field: str = "code") -> list[str]:
    return re.findall(rf"^\s+{field} \(String\) = (\S+)$", ogr_output, flags=re.M)


def paged_requests(db_url: str, collection: str) -> list[dict]:
    """The audited token uses that fetched later pages (an ``after`` cursor) of a collection."""
    with engine_for(db_url).connect() as conn:
        rows = conn.execute(
            text("SELECT detail FROM audit_log WHERE action = 'token.use' ORDER BY id")
        ).scalars()
        return [
            d
            for d in rows
            if d["path"] == f"/ogc/collections/{collection}/items" and "after=" in d["query"]
        ]


def test_gdal_lists_collections_and_pages_through_groups(server, world):
    listing = ogrinfo(server, world.admin_token, "-q")
    for name in ("counties", "villages", "groups", "stations", "case-counts", "groups-2013"):
        assert re.search(rf"^\d+: {re.escape(name)} ", listing, flags=re.M), listing
    out = ogrinfo(server, world.admin_token, "-oo", "PAGE_SIZE=3", "groups")
    assert sorted(feature_ids(out)) == sorted(set(feature_ids(out)))
    assert len(feature_ids(out)) == 8
    assert len(paged_requests(world.url, "groups")) >= 2  # 8 groups at 3 a page: 3 pages


def test_gdal_bbox_goes_to_the_server(server, world):
    # -spat becomes ?bbox=: only the two groups of 竹市镇 田心村 (x 110.0-110.2, y 27.0-27.1)
    out = ogrinfo(
        server, world.admin_token, "-spat", "110.01", "27.01", "110.19", "27.09", "groups"
    )
    assert sorted(feature_ids(out)) == ["430525100201001", "430525100201002"]


def test_gdal_sees_only_the_token_owners_area(server, world):
    out = ogrinfo(server, world.team_token, "-oo", "PAGE_SIZE=3", "groups")
    ids = feature_ids(out)
    assert len(ids) == 4
    assert all(i.startswith("430525100") for i in ids)
    counts = ogrinfo(server, world.team_token, "case-counts")
    assert set(feature_ids(counts, "village_code")) == {"430525100201", "430525100202"}
    assert "cases_text (String) = <5" in counts


def test_gdal_with_an_unknown_token_fails(server, world):
    bad = subprocess.run(
        [
            "ogrinfo",
            "-ro",
            "-q",
            f"OAPIF:{server}/ogc",
            "--config",
            "GDAL_HTTP_HEADERS",
            "Authorization: Bearer qg_not_a_token",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode != 0
    assert "401" in bad.stderr or "unknown token" in bad.stderr


def test_owslib_reads_collections_bbox_and_pages(server, world):
    from owslib.ogcapi.features import Features

    admin = Features(f"{server}/ogc/", headers={"Authorization": f"Bearer {world.admin_token}"})
    assert "groups" in admin.feature_collections()
    assert "case-counts" in admin.feature_collections()
    assert admin.conformance()["conformsTo"]
    boxed = admin.collection_items("groups", bbox=[110.01, 27.01, 110.19, 27.09])
    assert sorted(f["id"] for f in boxed["features"]) == ["430525100201001", "430525100201002"]

    def every(client, collection):
        ids, params = [], {"limit": 3}
        while True:
            page = client.collection_items(collection, **params)
            ids += [f["id"] for f in page["features"]]
            nxt = [lk["href"] for lk in page["links"] if lk["rel"] == "next"]
            if not nxt:
                return ids
            params = {k: v[0] for k, v in parse_qs(urlparse(nxt[0]).query).items()}

    assert len(every(admin, "groups")) == 8
    team = Features(f"{server}/ogc/", headers={"Authorization": f"Bearer {world.team_token}"})
    team_ids = every(team, "groups")
    assert len(team_ids) == 4
    assert all(i.startswith("430525100") for i in team_ids)
    one = team.collection_item("groups", team_ids[0])
    assert one["properties"]["code"] == team_ids[0]
    with pytest.raises(RuntimeError, match="NotFound"):
        team.collection_item("groups", "430525101201001")

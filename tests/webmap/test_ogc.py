"""OGC API – Features under /ogc/: documents, paging, filters, area scope, masking, bad input."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from models.db import engine_for
from tests.leaders_factories import insert_cases
from tests.webmap.ogc_fixtures import cases_frame, make_world


@pytest.fixture
def world(db_url, auth):
    return make_world(db_url, auth)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def get(client, path, token, **kw):
    return client.get(path, headers={**bearer(token), **kw.pop("headers", {})}, **kw)


def all_items(client, token, path):
    """Follow next links; returns every feature."""
    out, url, pages = [], path, 0
    while url:
        r = get(client, url.replace("http://localhost", ""), token)
        assert r.status_code == 200, r.get_data(as_text=True)
        doc = r.get_json()
        out += doc["features"]
        pages += 1
        url = next((lk["href"] for lk in doc["links"] if lk["rel"] == "next"), None)
    return out, pages


def test_landing_conformance_and_openapi(client, world):
    landing = get(client, "/ogc/", world.admin_token).get_json()
    rels = {lk["rel"] for lk in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = get(client, "/ogc/conformance", world.admin_token).get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    api = get(client, "/ogc/api", world.admin_token)
    assert api.mimetype == "application/vnd.oai.openapi+json"
    doc = api.get_json()
    assert doc["openapi"].startswith("3.0")
    assert "/collections/groups/items" in doc["paths"]
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert limit["maximum"] == 10000


def test_collections_list_levels_generations_and_layers(client, world):
    doc = get(client, "/ogc/collections", world.admin_token).get_json()
    ids = {c["id"] for c in doc["collections"]}
    assert {
        "counties",
        "townships",
        "villages",
        "groups",
        "stations",
        "teams",
        "case-counts",
    } <= ids
    assert {"groups-2013", "villages-2013"} <= ids
    groups = get(client, "/ogc/collections/groups", world.admin_token).get_json()
    assert groups["extent"]["spatial"]["bbox"][0] == pytest.approx([110.0, 27.0, 110.4, 27.2])


def test_paging_by_next_links_returns_every_group_once(client, world):
    feats, pages = all_items(client, world.admin_token, "/ogc/collections/groups/items?limit=3")
    assert pages == 3
    codes = [f["id"] for f in feats]
    assert len(codes) == 8 == len(set(codes))
    assert codes == sorted(codes)
    first = get(client, "/ogc/collections/groups/items?limit=3", world.admin_token)
    assert first.mimetype == "application/geo+json"
    assert first.get_json()["numberMatched"] == 8
    offset = get(client, "/ogc/collections/groups/items?limit=3&offset=3", world.admin_token)
    assert [f["id"] for f in offset.get_json()["features"]] == codes[3:6]


def test_team_token_sees_only_its_township(client, world):
    feats, _ = all_items(client, world.team_token, "/ogc/collections/groups/items?limit=2")
    assert len(feats) == 4
    assert all(f["id"].startswith("430525100") for f in feats)
    counties, _ = all_items(client, world.team_token, "/ogc/collections/counties/items")
    assert counties == []
    stations, _ = all_items(client, world.team_token, "/ogc/collections/stations/items")
    assert {s["properties"]["village_code"][:9] for s in stations} == {"430525100"}
    outside = get(client, "/ogc/collections/groups/items/430525101201001", world.team_token)
    assert outside.status_code == 404
    inside = get(client, "/ogc/collections/groups/items/430525100201001", world.team_token)
    assert inside.status_code == 200
    assert inside.get_json()["properties"]["parent_code"] == "430525100201"


def test_bbox_and_property_filters(client, world):
    # the west township's south villages: x 110.0-110.2, y 27.0-27.1 (touching neighbours too)
    r = get(
        client, "/ogc/collections/villages/items?bbox=110.01,27.01,110.05,27.05", world.admin_token
    )
    assert [f["id"] for f in r.get_json()["features"]] == ["430525100201"]
    r = get(client, "/ogc/collections/groups/items?parent_code=430525101202", world.admin_token)
    assert [f["id"] for f in r.get_json()["features"]] == ["430525101202001", "430525101202002"]
    r = get(client, "/ogc/collections/villages/items?name=石桥村&limit=10", world.admin_token)
    assert {f["properties"]["name"] for f in r.get_json()["features"]} == {"石桥村"}
    assert len(r.get_json()["features"]) == 2


def test_case_counts_are_monthly_aggregates_with_small_counts_masked(client, world):
    feats, _ = all_items(client, world.admin_token, "/ogc/collections/case-counts/items")
    by_id = {f["id"]: f["properties"] for f in feats}
    assert by_id["430525100201-2013-05"]["cases"] == 7
    masked = by_id["430525100202-2013-05"]
    assert masked["cases"] is None
    assert masked["cases_text"] == "<5"
    body = json.dumps(feats, ensure_ascii=False)
    assert "petitioner" not in body
    assert "case_no" not in body
    # datetime selects months; a filter on the raw count is not offered
    may = get(
        client,
        "/ogc/collections/case-counts/items?datetime=2013-05-01/2013-05-31",
        world.admin_token,
    )
    assert {f["properties"]["month"] for f in may.get_json()["features"]} == {"2013-05"}
    june = get(
        client,
        "/ogc/collections/case-counts/items?datetime=2013-06-15T00:00:00Z",
        world.admin_token,
    )
    assert [f["id"] for f in june.get_json()["features"]] == ["430525101201-2013-06"]
    probe = get(client, "/ogc/collections/case-counts/items?cases=2", world.admin_token)
    assert probe.status_code == 400
    team, _ = all_items(client, world.team_token, "/ogc/collections/case-counts/items")
    assert {f["properties"]["village_code"][:9] for f in team} == {"430525100"}


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=110,27.2,110.4,27.0", "south"),
        ("datetime=yesterday", "datetime"),
        ("datetime=2013-06-01/2013-05-01", "after the end"),
        ("datetime=../..", "open"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("colour=red", "unknown parameter"),
        ("f=xml", "f must be"),
    ],
)
def test_malformed_parameters_get_400_with_ogc_exception(client, world, query, fragment):
    r = get(client, f"/ogc/collections/groups/items?{query}", world.admin_token)
    assert r.status_code == 400
    doc = r.get_json()
    assert doc["code"] == "InvalidParameterValue"
    assert fragment in doc["description"]


def test_limit_over_maximum_is_capped_and_says_so(client, world):
    r = get(client, "/ogc/collections/groups/items?limit=50000", world.admin_token)
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["limitCapped"] == {"requested": 50000, "used": 10000, "maximum": 10000}
    assert "requested=50000" in r.headers["OGC-Limit-Capped"]
    assert len(doc["features"]) == 8


def test_unknown_collection_and_feature_are_404(client, world):
    for path in (
        "/ogc/collections/nope",
        "/ogc/collections/nope/items",
        "/ogc/collections/groups/items/999",
        "/ogc/collections/stations/items/abc",
        "/ogc/nothing/here",
    ):
        r = get(client, path, world.admin_token)
        assert r.status_code == 404, path
        assert r.get_json()["code"] == "NotFound"


def test_html_by_f_and_by_accept_header(client, world):
    page = get(client, "/ogc/collections/groups/items?f=html&limit=2", world.admin_token)
    assert page.mimetype == "text/html"
    assert "430525100201001" in page.get_data(as_text=True)
    browser = get(
        client, "/ogc/collections", world.admin_token, headers={"Accept": "text/html,*/*;q=0.8"}
    )
    assert browser.mimetype == "text/html"
    assert "case-counts" in browser.get_data(as_text=True)
    plain = get(client, "/ogc/collections", world.admin_token, headers={"Accept": "*/*"})
    assert plain.mimetype == "application/json"


def test_signed_in_session_works_and_strangers_are_refused(client, auth, world):
    r = client.get("/ogc/collections")
    assert r.status_code == 401
    assert r.get_json()["code"] == "Unauthorized"
    assert client.get("/ogc/collections?f=html").status_code == 302
    auth.login("team")
    feats, _ = all_items(client, "", "/ogc/collections/groups/items")
    assert len(feats) == 4


def test_planners_coverage_measures_are_collections_too(client, world):
    ids = {
        c["id"]
        for c in get(client, "/ogc/collections", world.admin_token).get_json()["collections"]
    }
    assert {"coverage-villages", "coverage-townships", "coverage-groups"} <= ids
    feats, pages = all_items(
        client, world.admin_token, "/ogc/collections/coverage-villages/items?limit=3"
    )
    assert pages == 2
    by_code = {f["id"]: f["properties"] for f in feats}
    assert sorted(by_code) == ["430525100201", "430525100202", "430525101201", "430525101202"]
    # the planners' service masks small case counts; nothing under five goes out as a number
    assert all(p["cases"] in (0, "<5") or p["cases"] >= 5 for p in by_code.values())
    assert {"score", "rank", "reason"} <= set(by_code["430525100201"])
    team, _ = all_items(client, world.team_token, "/ogc/collections/coverage-villages/items")
    assert sorted(f["id"] for f in team) == ["430525100201", "430525100202"]
    boxed = get(
        client,
        "/ogc/collections/coverage-villages/items?bbox=110.01,27.01,110.05,27.05",
        world.admin_token,
    )
    assert [f["id"] for f in boxed.get_json()["features"]] == ["430525100201"]
    outside = get(client, "/ogc/collections/coverage-villages/items/430525101201", world.team_token)
    assert outside.status_code == 404


def test_case_counts_paged_one_by_one_equal_one_page(client, world):
    # later pages aggregate only from the cursor's village on: nothing may be lost or doubled
    one_by_one, pages = all_items(
        client, world.admin_token, "/ogc/collections/case-counts/items?limit=1"
    )
    whole, _ = all_items(client, world.admin_token, "/ogc/collections/case-counts/items?limit=100")
    assert pages == len(whole) == 3
    assert [f["id"] for f in one_by_one] == [f["id"] for f in whole]


def test_case_count_items_stream_by_village_and_month(client, world):
    # one feature by id, in and out of the caller's area; numberMatched on the first page
    one = get(client, "/ogc/collections/case-counts/items/430525100201-2013-05", world.admin_token)
    assert one.status_code == 200
    assert one.get_json()["properties"]["cases"] == 7
    for fid in ("430525101201-2013-06", "430525100201-2099-01", "4305251002"):
        assert (
            get(client, f"/ogc/collections/case-counts/items/{fid}", world.team_token).status_code
            == 404
        )
    first = get(client, "/ogc/collections/case-counts/items?limit=1", world.admin_token).get_json()
    assert first["numberMatched"] == 3
    may = "/ogc/collections/case-counts/items?datetime=2013-05-01/2013-05-31&county_code=430525"
    assert get(client, may, world.admin_token).get_json()["numberMatched"] == 2
    team = get(client, "/ogc/collections/case-counts/items", world.team_token).get_json()
    assert team["numberMatched"] == 2
    assert first["numberReturned"] == 1


def test_bbox_across_the_antimeridian_is_two_boxes(client, world):
    # west > east: [west, 180] and [-180, east]; Shaoyang lies in the first half only
    for path in ("villages", "coverage-villages", "case-counts", "stations"):
        url = f"/ogc/collections/{path}/items"
        across = get(client, f"{url}?bbox=110.01,27.01,-179,27.05", world.admin_token)
        east_half = get(client, f"{url}?bbox=110.01,27.01,180,27.05", world.admin_token)
        assert across.status_code == 200, across.get_data(as_text=True)
        ids = [f["id"] for f in across.get_json()["features"]]
        assert ids == [f["id"] for f in east_half.get_json()["features"]]
        if path == "villages":
            assert ids == ["430525100201", "430525101201"]
        elsewhere = get(client, f"{url}?bbox=170,27.01,-170,27.05", world.admin_token)
        assert elsewhere.status_code == 200
        assert elsewhere.get_json()["features"] == []


def test_coverage_cases_are_numbers_or_null_with_the_text_beside(client, world):
    # two cases inside 石江镇's village 430525101202: a count the planners' service masks
    with engine_for(world.url).connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p"
                " FROM admin_unit WHERE code = '430525101202') s"
            )
        ).one()
    extra = cases_frame().head(2).assign(
        case_no=["x-1", "x-2"], village_code="430525101202", township_code="430525101000",
        lon=lon, lat=lat,
    )  # fmt: skip
    insert_cases(world.url, extra)
    with engine_for(world.url).begin() as conn:  # the planners count cases by their group
        conn.execute(
            text(
                "UPDATE case_record SET unit_id = (SELECT min(id) FROM admin_unit"
                " WHERE code LIKE '430525101202%' AND level = 'group') WHERE case_no LIKE 'x-%'"
            )
        )
    feats, _ = all_items(client, world.admin_token, "/ogc/collections/coverage-villages/items")
    props = [f["properties"] for f in feats]
    assert all(p["cases"] is None or isinstance(p["cases"], int) for p in props)
    masked = [p for p in props if p["cases"] is None]
    assert masked
    assert all(p["cases_text"] == "<5" for p in masked)
    assert all(p["cases_text"] == str(p["cases"]) for p in props if p["cases"] is not None)

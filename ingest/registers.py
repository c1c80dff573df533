"""Import the network's registers (stations, officers, teams) from CSV or XLSX, all-or-nothing.

Rows are matched to units of one generation by code or by their name path (county /
township / village / group).  Coordinates are optional: a row without them is placed at its
unit's representative point, and ``location_source`` says so.  Coordinates carry their system
(WGS-84, CGCS2000, GCJ-02, BD-09), per row or for the whole file, and are stored as WGS-84.

Any bad row blocks the import: the report lists every one with its spreadsheet row number
(the header is row 1) and the database stays as it was.  Re-importing a file replaces the
station of each village it names, and the officers (teams) of each group (township) it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geo.coords import canonical_source
from ingest.errors import IngestError
from ingest.fields import codes_as_text, normalise_codes
from ingest.files import Limits, check_upload_size, file_sha256
from ingest.points import PROBLEMS, read_points
from ingest.report import ImportReport
from ingest.tables import match_columns, read_table
from models import registers as register_queries
from models import units as unit_queries
from models.db import transaction

# Header spellings seen in township registers (compared by ingest.tables.normalise_header).
HEADERS: dict[str, tuple[str, ...]] = {
    "code": (
        "村代码",
        "村民小组代码",
        "小组代码",
        "组代码",
        "乡镇代码",
        "代码",
        "区划代码",
        "统计用区划代码",
        "行政区划代码",
        "code",
        "unitcode",
        "villagecode",
        "groupcode",
        "townshipcode",
    ),
    "county": ("县市区", "县(市区)", "县(市、区)", "县区", "区县", "县市", "县", "county"),
    "township": (
        "乡镇(街道)",
        "乡镇",
        "乡镇名称",
        "乡镇街道",
        "乡(镇)",
        "街道",
        "township",
        "town",
    ),
    "village": (
        "村(社区)名称",
        "村(社区)",
        "村名",
        "村",
        "社区",
        "村社区",
        "行政村",
        "village",
    ),
    "group": ("村民小组", "村民小组名称", "小组", "组", "组名", "group", "villagergroup"),
    "lon": ("经度", "驻地经度", "lon", "lng", "longitude", "x"),
    "lat": ("纬度", "驻地纬度", "lat", "latitude", "y"),
    "crs": ("坐标系", "坐标系统", "crs", "coordsystem", "coordinatesystem", "srs"),
    "phone": ("联系电话", "电话", "手机", "手机号", "phone", "tel", "mobile"),
    "address": ("地址", "详细地址", "站点地址", "address"),
    "opened_on": ("建站日期", "成立日期", "建立时间", "建站时间", "openedon", "opened", "date"),
    "leader": ("队长", "负责人", "leader"),
    "members": ("队员人数", "人数", "队员数", "members"),
    "id_no": ("身份证号", "身份证号码", "idno", "idnumber"),
}
_RECORD_NAME = {
    "station": ("站点名称", "工作站名称", "名称", "name", "stationname"),
    "officer": ("姓名", "信息员姓名", "信息员", "name", "officer"),
    "team": ("工作队名称", "工作队", "队名", "名称", "name", "team", "teamname"),
}


@dataclass(frozen=True)
class _Kind:
    kind: str  # import_batch.kind
    level: str  # the unit level each row belongs to
    ancestors: tuple[str, ...]  # name columns above it, nearest first
    count_key: str


_STATION = _Kind("stations", "village", ("township", "county"), "stations")
_OFFICER = _Kind("officers", "group", ("village", "township", "county"), "officers")
_TEAM = _Kind("teams", "township", ("county",), "teams")


def find_columns(columns: list[str], kind: str) -> dict[str, str]:
    """Map our keys (``name``, ``code``, ``village``, ``lon`` ...) to the table's headers."""
    return match_columns(columns, {"name": _RECORD_NAME[kind], **HEADERS})


def import_stations(
    url: str,
    path: str | Path,
    *,
    generation: str | None = None,
    crs: str = "wgs84",
    sheet: str | int | None = None,
    commit: bool = False,
    username: str = "cli",
    name: str | None = None,
    limits: Limits | None = None,
) -> ImportReport:
    """Check a station register (one station per village) and, with ``commit=True``, load it.

    Parameters
    ----------
    url
        Database URL.
    path
        CSV (UTF-8 or GBK) or XLSX file.
    generation
        Boundary generation whose villages the rows refer to (default: the active one).
    crs
        Coordinate system of rows without a 坐标系 column value: ``wgs84``, ``cgcs2000``,
        ``gcj02`` or ``bd09``.
    sheet
        XLSX sheet (default: the first).
    commit
        Write when every row is good.
    username
        Who imports.
    name
        The file's name as the user knows it.
    limits
        Upload size limits.

    Returns
    -------
    ImportReport

    Raises
    ------
    IngestError
        When the file cannot be read or lacks the columns needed.
    """
    return _import(
        url,
        path,
        _STATION,
        generation=generation,
        crs=crs,
        sheet=sheet,
        commit=commit,
        username=username,
        name=name,
        limits=limits,
    )


def import_officers(
    url: str,
    path: str | Path,
    *,
    generation: str | None = None,
    sheet: str | int | None = None,
    commit: bool = False,
    username: str = "cli",
    name: str | None = None,
    limits: Limits | None = None,
) -> ImportReport:
    """Check an information-officer register (per villager group) and optionally load it.

    Parameters are as for :func:`import_stations` (officers have no coordinates).
    """
    return _import(
        url,
        path,
        _OFFICER,
        generation=generation,
        crs="wgs84",
        sheet=sheet,
        commit=commit,
        username=username,
        name=name,
        limits=limits,
    )


def import_teams(
    url: str,
    path: str | Path,
    *,
    generation: str | None = None,
    crs: str = "wgs84",
    sheet: str | int | None = None,
    commit: bool = False,
    username: str = "cli",
    name: str | None = None,
    limits: Limits | None = None,
) -> ImportReport:
    """Check a work-team register (per township, with its home base) and optionally load it.

    Parameters are as for :func:`import_stations`.
    """
    return _import(
        url,
        path,
        _TEAM,
        generation=generation,
        crs=crs,
        sheet=sheet,
        commit=commit,
        username=username,
        name=name,
        limits=limits,
    )


def _import(
    url: str,
    path: str | Path,
    kind: _Kind,
    *,
    generation: str | None,
    crs: str,
    sheet: str | int | None,
    commit: bool,
    username: str,
    name: str | None,
    limits: Limits | None,
) -> ImportReport:
    path = Path(path)
    shown = name or path.name
    if not path.exists():
        raise IngestError(shown, "file not found")
    check_upload_size(path, limits=limits or Limits(), name=shown)
    report = ImportReport(kind=kind.kind, file=shown, sha256=file_sha256(path))
    with report.timed("read"):
        table = read_table(path, shown=shown, sheet=sheet)
    record_kind = kind.kind[:-1]
    cols = find_columns(list(table.columns), record_kind)
    report.details["columns"] = cols
    if "name" not in cols:
        msg = (
            f"no {record_kind} name column (e.g. {_RECORD_NAME[record_kind][0]}); "
            f"its columns are: {', '.join(table.columns)}"
        )
        raise IngestError(shown, msg)
    if "code" not in cols and kind.level not in cols:
        msg = (
            f"no column says which {kind.level} each row belongs to: give a code column or "
            f"the {kind.level} name (with {' / '.join(kind.ancestors)}); its columns are: "
            f"{', '.join(table.columns)}"
        )
        raise IngestError(shown, msg)
    report.counts["rows"] = len(table)
    if table.empty:
        raise IngestError(shown, "has no data rows (没有数据)")
    rows = pd.Series([f"row {i + 2}" for i in range(len(table))])

    with transaction(url) as session:
        if commit:
            register_queries.lock_imports(session)
        earlier = register_queries.committed_batch(session, kind.kind, report.sha256)
        if earlier is not None:
            return report.already_imported(earlier.id, earlier.started_at, earlier.username)
        gen = (
            unit_queries.get_generation(session, generation)
            if generation
            else unit_queries.active_generation(session)
        )
        if gen is None:
            msg = (
                f"no boundary generation {generation!r}"
                if generation
                else "no active boundary generation: import boundaries first"
            )
            raise IngestError(shown, msg)
        report.generation = gen.name
        with report.timed("match"):
            units = register_queries.unit_lookup(session, gen.id, (kind.level,))
            unit_id = _match_units(table, cols, kind, units, rows, report)
            frame = _records(table, cols, kind, unit_id, units, crs, rows, report)
        if frame is not None and kind is not _OFFICER:
            need = frame.loc[frame["lon"].isna(), "unit_id"].astype(int).tolist()
            points = register_queries.representative_points(session, need)
            fill = frame["lon"].isna()
            frame.loc[fill, "lon"] = [points[i][0] for i in frame.loc[fill, "unit_id"]]
            frame.loc[fill, "lat"] = [points[i][1] for i in frame.loc[fill, "unit_id"]]
            report.counts["located_by_register"] = int((~fill).sum())
            report.counts["located_by_unit"] = int(fill.sum())
        if not report.ok or frame is None:
            report.status = "rejected"
            return report
        report.counts[kind.count_key] = len(frame)
        if not commit:
            report.status = "dry_run"
            return report
        with report.timed("write"):
            if kind is _STATION:
                register_queries.upsert_stations(session, frame)
            elif kind is _OFFICER:
                register_queries.replace_officers(session, frame)
            else:
                register_queries.replace_teams(session, frame)
            report.status = "committed"
            report.batch_id = register_queries.record_import(
                session,
                kind=kind.kind,
                filename=shown,
                sha256=report.sha256,
                username=username,
                status="committed",
                counts=report.counts,
                report=report.as_dict(),
            )
    return report


def _match_units(
    table: pd.DataFrame,
    cols: dict[str, str],
    kind: _Kind,
    units: pd.DataFrame,
    rows: pd.Series,
    report: ImportReport,
) -> pd.Series:
    """Each row's unit id, by code where given, else by name path; errors for the rest."""
    n = len(table)
    unit_id = pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
    by_code = units.set_index("code")["id"]
    level_zh = {"village": "村", "group": "村民小组", "township": "乡镇"}[kind.level]
    has_code = pd.Series(np.zeros(n, dtype=bool))
    if "code" in cols:
        raw = codes_as_text(table[cols["code"]])
        has_code = raw.notna()
        code, level, problem = normalise_codes(raw)
        for i in np.flatnonzero(has_code & problem.notna()):
            report.add("error", rows[i], str(problem[i]), "代码有误")
        wrong_level = has_code & code.notna() & (level != kind.level)
        for i in np.flatnonzero(wrong_level):
            report.add(
                "error",
                rows[i],
                f"code {code[i]} is a {level[i]}, but a {kind.kind[:-1]} belongs to a {kind.level}",
                f"代码层级不对，应为{level_zh}代码",
            )
        ok = has_code & code.notna() & (level == kind.level)
        found = code[ok].map(by_code)
        for i in np.flatnonzero(ok)[found.isna().to_numpy()]:
            report.add(
                "error",
                rows[i],
                f"no {kind.level} with code {code[i]} in generation {report.generation}",
                f"找不到代码为 {code[i]} 的{level_zh}",
            )
        unit_id[found.index] = found.astype("Int64")
    if kind.level in cols:
        by_name = ~has_code & table[cols[kind.level]].notna()
        _match_by_name(table, cols, kind, units, rows, report, by_name, unit_id)
        no_unit = ~has_code & table[cols[kind.level]].isna()
    else:
        no_unit = ~has_code
    for i in np.flatnonzero(no_unit):
        report.add(
            "error",
            rows[i],
            f"neither a code nor a {kind.level} name: cannot tell where it belongs",
            f"缺少{level_zh}代码或名称",
        )
    return unit_id


def _match_by_name(
    table: pd.DataFrame,
    cols: dict[str, str],
    kind: _Kind,
    units: pd.DataFrame,
    rows: pd.Series,
    report: ImportReport,
    mask: pd.Series,
    unit_id: pd.Series,
) -> None:
    """Match rows by unit name and whichever ancestor names the table gives (a merge)."""
    if not mask.any():
        return
    ancestor_cols = ("parent_name", "grandparent_name", "great_grandparent_name")
    given = [(a, c) for a, c in zip(kind.ancestors, ancestor_cols, strict=False) if a in cols]
    left = pd.DataFrame({"pos": np.flatnonzero(mask), "name": table.loc[mask, cols[kind.level]]})
    for a, _ in given:
        left[a] = table.loc[mask, cols[a]].to_numpy()
    right = units[["id", "name", *[c for _, c in given]]].rename(columns={c: a for a, c in given})
    on = ["name"] + [a for a, _ in given]
    # A blank ancestor cell means "not given": match those rows on the name alone.
    merged = left.merge(right, on="name", how="left", suffixes=("", "_unit"))
    keep = pd.Series(True, index=merged.index)
    for a in on[1:]:
        keep &= merged[a].isna() | (merged[a] == merged[f"{a}_unit"])
    merged = merged[keep & merged["id"].notna()]
    hits = merged.groupby("pos")["id"].agg(["first", "count"])
    for pos in left["pos"]:
        path = " / ".join(
            str(table.at[pos, cols[a]])
            for a, _ in reversed(given)
            if pd.notna(table.at[pos, cols[a]])
        )
        label = (
            f"{path} / {table.at[pos, cols[kind.level]]}"
            if path
            else str(table.at[pos, cols[kind.level]])
        )
        if pos not in hits.index:
            report.add(
                "error",
                rows[pos],
                f"no {kind.level} named {label} in generation {report.generation}",
                f"找不到 {label}",
            )
        elif hits.at[pos, "count"] > 1:
            report.add(
                "error",
                rows[pos],
                f"{hits.at[pos, 'count']} {kind.level}s are named {label}; add the "
                f"{' / '.join(kind.ancestors)} names or the code",
                f"名称 {label} 不唯一，请补充上级名称或代码",
            )
        else:
            unit_id.iat[pos] = int(hits.at[pos, "first"])


def _records(
    table: pd.DataFrame,
    cols: dict[str, str],
    kind: _Kind,
    unit_id: pd.Series,
    units: pd.DataFrame,
    default_crs: str,
    rows: pd.Series,
    report: ImportReport,
) -> pd.DataFrame | None:
    """Rows ready for models/: unit, county code, fields, WGS-84 lon/lat (NaN = none given)."""
    n = len(table)

    def column(key: str) -> pd.Series:
        return table[cols[key]] if key in cols else pd.Series([None] * n, dtype=object)

    names = column("name")
    for i in np.flatnonzero(names.isna()):
        report.add("error", rows[i], f"the {kind.kind[:-1]} has no name", "缺少名称")
    county = unit_id.map(units.set_index("id")["county_code"])
    out = pd.DataFrame({"unit_id": unit_id, "county_code": county, "name": names})
    if kind is _STATION:
        dup = unit_id.notna() & unit_id.duplicated(keep=False)
        code_of = units.set_index("id")["code"]
        for uid, group in pd.Series(np.flatnonzero(dup)).groupby(unit_id[dup].to_numpy()):
            where = ", ".join(rows[i] for i in group)
            report.add(
                "error",
                where,
                f"two stations for village {code_of[uid]}; a village has one station",
                "同一村有多个工作站",
            )
        out["address"] = column("address")
        out["phone"] = column("phone")
        opened = pd.to_datetime(column("opened_on"), errors="coerce", format="mixed")
        for i in np.flatnonzero(column("opened_on").notna() & opened.isna()):
            report.add(
                "error", rows[i], f"date {column('opened_on')[i]!r} not understood", "日期有误"
            )
        out["opened_on"] = opened.dt.date.astype(object).where(opened.notna(), None)
    elif kind is _OFFICER:
        out["phone"] = column("phone")
        out["id_no"] = column("id_no")
    else:
        out["leader"] = column("leader")
        members = pd.to_numeric(column("members"), errors="coerce")
        for i in np.flatnonzero(column("members").notna() & members.isna()):
            report.add(
                "error", rows[i], f"members {column('members')[i]!r} is not a number", "人数有误"
            )
        out["members"] = members.round().astype("Int64")
    if kind is not _OFFICER:
        lon, lat = _coordinates(
            column("lon"), column("lat"), column("crs"), default_crs, rows, report
        )
        out["lon"], out["lat"] = lon, lat
        out["location_source"] = np.where(np.isnan(lon), "representative_point", "register")
        if kind is _TEAM:
            out = out.drop(columns=["location_source"])
    if not report.ok:
        return None
    out["unit_id"] = out["unit_id"].astype(np.int64)
    return out


def _coordinates(
    lon_raw: pd.Series,
    lat_raw: pd.Series,
    crs_raw: pd.Series,
    default_crs: str,
    rows: pd.Series,
    report: ImportReport,
) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 lon/lat per row (NaN where none were given); bad values are row errors."""
    try:
        canonical_source(default_crs)
    except ValueError as exc:
        report.add("error", "", str(exc), "坐标系无法识别")
        return np.full(len(lon_raw), np.nan), np.full(len(lon_raw), np.nan)
    points = read_points(lon_raw, lat_raw, crs_raw, default_crs=default_crs)
    for i in np.flatnonzero(points.swapped):
        report.add(
            "repair",
            rows[i],
            f"longitude and latitude swapped ({lon_raw.iat[i]}, {lat_raw.iat[i]}); read as "
            f"{points.source_lon[i]}, {points.source_lat[i]}",
            "经纬度颠倒，已纠正",
        )
    for i in np.flatnonzero(points.problem != None):  # noqa: E711
        en, zh = PROBLEMS[points.problem[i]]
        report.add("error", rows[i], f"{en}: {points.detail[i]}", zh)
    return points.lon, points.lat

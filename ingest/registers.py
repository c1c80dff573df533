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

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geo.coords import canonical_source
from ingest.area import refuse_outside
from ingest.errors import IngestError
from ingest.files import Limits, check_upload_size, file_sha256
from ingest.points import PROBLEMS, read_points
from ingest.register_units import RegisterKind, match_units
from ingest.report import ImportReport, record_committed
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
    # A station's head; "负责人" is read as the head too where a station register has no 站长
    # column (it names a team's leader in team registers).
    "head": ("站长", "站长姓名", "工作站站长", "head", "stationhead", "stationmaster"),
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


_STATION = RegisterKind("stations", "village", ("township", "county"), "stations")
_OFFICER = RegisterKind("officers", "group", ("village", "township", "county"), "officers")
_TEAM = RegisterKind("teams", "township", ("county",), "teams")


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
    area: str | None = None,
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
    area
        The uploading user's area code: a row whose unit lies outside it is an error
        (:func:`ingest.area.refuse_outside`); None for the operator.

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
        area=area,
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
    area: str | None = None,
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
        area=area,
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
    area: str | None = None,
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
        area=area,
    )


def _import(
    url: str,
    path: str | Path,
    kind: RegisterKind,
    *,
    generation: str | None,
    crs: str,
    sheet: str | int | None,
    commit: bool,
    username: str,
    name: str | None,
    limits: Limits | None,
    area: str | None,
) -> ImportReport:
    path = Path(path)
    shown = name or path.name
    if not path.exists():
        raise IngestError(shown, "file not found")
    check_upload_size(path, limits=limits or Limits(), name=shown)
    report = ImportReport(kind=kind.kind, file=shown, sha256=file_sha256(path))
    with report.timed("read"):
        table = read_table(path, shown=shown, sheet=sheet)
    cols = _columns(table, kind, shown)
    report.details["columns"] = cols
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
        gen_id = _generation(session, generation, shown, report)
        with report.timed("match"):
            units = register_queries.unit_lookup(session, gen_id, (kind.level,))
            unit_id = match_units(table, cols, kind, units, rows, report)
            refuse_outside(report, rows, unit_id.map(units.set_index("id")["code"]), area)
            frame = _records(table, cols, kind, unit_id, units, crs, rows, report)
        if frame is not None and kind is not _OFFICER:
            _place_at_units(session, frame, report)
        if not report.ok or frame is None:
            report.status = "rejected"
            return report
        report.counts[kind.count_key] = len(frame)
        if not commit:
            report.status = "dry_run"
            return report
        with report.timed("write"):
            _write(session, kind, frame, report, username=username)
    return report


def _columns(table: pd.DataFrame, kind: RegisterKind, shown: str) -> dict[str, str]:
    """The table's headers by our keys; refused without a name or a way to find the unit."""
    record_kind = kind.kind[:-1]
    cols = find_columns(list(table.columns), record_kind)
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
    return cols


def _generation(session: Session, generation: str | None, shown: str, report: ImportReport) -> int:
    """The id of the named boundary generation, or of the active one."""
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
    return int(gen.id)


def _place_at_units(session: Session, frame: pd.DataFrame, report: ImportReport) -> None:
    """Rows without coordinates get their unit's representative point."""
    need = frame.loc[frame["lon"].isna(), "unit_id"].astype(int).tolist()
    points = register_queries.representative_points(session, need)
    fill = frame["lon"].isna()
    frame.loc[fill, "lon"] = [points[i][0] for i in frame.loc[fill, "unit_id"]]
    frame.loc[fill, "lat"] = [points[i][1] for i in frame.loc[fill, "unit_id"]]
    report.counts["located_by_register"] = int((~fill).sum())
    report.counts["located_by_unit"] = int(fill.sum())


def _write(
    session: Session,
    kind: RegisterKind,
    frame: pd.DataFrame,
    report: ImportReport,
    *,
    username: str,
) -> None:
    """Store the rows (stations upserted, officers and teams replaced) and the batch."""
    if kind is _STATION:
        register_queries.upsert_stations(session, frame)
    elif kind is _OFFICER:
        register_queries.replace_officers(session, frame)
    else:
        register_queries.replace_teams(session, frame)
    record_committed(session, report, kind=kind.kind, username=username)


def _records(
    table: pd.DataFrame,
    cols: dict[str, str],
    kind: RegisterKind,
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
        _station_fields(out, column, units, rows, report)
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


def _station_fields(
    out: pd.DataFrame,
    column: Callable[[str], pd.Series],
    units: pd.DataFrame,
    rows: pd.Series,
    report: ImportReport,
) -> None:
    """A station's address, head, phone and opening date; one station per village."""
    unit_id = out["unit_id"]
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
    out["head"] = column("head").where(column("head").notna(), column("leader"))
    out["phone"] = column("phone")
    opened = pd.to_datetime(column("opened_on"), errors="coerce", format="mixed")
    for i in np.flatnonzero(column("opened_on").notna() & opened.isna()):
        report.add("error", rows[i], f"date {column('opened_on')[i]!r} not understood", "日期有误")
    out["opened_on"] = opened.dt.date.astype(object).where(opened.notna(), None)


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

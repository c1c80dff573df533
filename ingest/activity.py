"""Import cases (信访, 矛盾纠纷, 代办, 建议) and household visits from CSV/XLSX, placing each on a unit.

Rows with coordinates are converted from their system (WGS-84, CGCS2000, GCJ-02, BD-09) to
WGS-84; rows without are geocoded from their address with :class:`geo.geocode.Gazetteer`.
Good rows are attributed to the active generation's villager groups in the process (a
:class:`GroupIndex` of the groups' polygons, loaded once from PostGIS and kept while the
generation and its boundaries stay the same), then staged with their units by COPY and moved
into place (:mod:`models.activity`).  Rows that cannot be placed or read (no address,
an address outside the city or ambiguous, a date that does not parse, coordinates out of
range, a repeated case number, a point outside every group) go to the review queue with their
reason and candidates; none is dropped.

One transaction holds the good rows, the review items, the import batch and the audit entry;
a dry run (the default) does all the work and rolls it back.  A file already imported (same
SHA-256) changes nothing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geo.attribution import GroupIndex
from geo.coords import to_wgs84
from geo.geocode import Gazetteer
from ingest.errors import IngestError
from ingest.files import NEAR_MARGIN_DEG, SHAOYANG_BOUNDS, Limits, check_upload_size, file_sha256
from ingest.registers import read_table
from ingest.report import ImportReport
from models import activity as queries
from models import registers as register_queries
from models.db import session_factory

__all__ = [
    "CASE_HEADERS",
    "VISIT_HEADERS",
    "GroupIndex",
    "find_columns",
    "gazetteer_for",
    "group_index",
    "import_cases",
    "import_visits",
    "read_activity_table",
]

_COMMON: dict[str, tuple[str, ...]] = {
    "address": ("地址", "详细地址", "发生地址", "发生地点", "事发地址", "地点", "住址", "address"),
    "lon": ("经度", "lon", "lng", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
    "crs": ("坐标系", "坐标系统", "坐标类型", "crs", "coordtype", "coordsystem", "srs"),
}
CASE_HEADERS: dict[str, tuple[str, ...]] = {
    "case_no": ("案件编号", "编号", "案件号", "受理编号", "caseno", "case", "no", "id"),
    "kind": ("类型", "案件类型", "类别", "案件类别", "kind", "type", "casetype"),
    "status": ("状态", "办理状态", "案件状态", "status"),
    "opened_on": ("受理日期", "登记日期", "受理时间", "登记时间", "日期", "openedon", "opened"),
    "closed_on": ("办结日期", "办结时间", "结案日期", "closedon", "closed"),
    "petitioner": ("当事人", "姓名", "信访人", "申请人", "反映人", "petitioner", "name"),
    "phone": ("联系电话", "电话", "手机", "手机号", "phone", "tel", "mobile"),
    "summary": ("事由", "摘要", "内容", "案件摘要", "主要内容", "summary", "content"),
    **_COMMON,
}
VISIT_HEADERS: dict[str, tuple[str, ...]] = {
    "team": ("工作队", "工作队名称", "走访工作队", "队名", "team", "teamname"),
    "household": ("户", "户号", "户主", "走访对象", "被走访户", "household", "householdid"),
    "visited_at": ("走访时间", "走访日期", "时间", "visitedat", "visittime", "time", "date"),
    **_COMMON,
}
FIELD_KEYS = {"cases": tuple(CASE_HEADERS), "visits": tuple(VISIT_HEADERS)}

KIND_WORDS = {
    "信访": "petition", "上访": "petition", "petition": "petition",
    "矛盾纠纷": "dispute", "纠纷": "dispute", "矛盾": "dispute", "dispute": "dispute",
    "代办": "service", "代办服务": "service", "服务": "service", "service": "service",
    "建议": "suggestion", "意见建议": "suggestion", "suggestion": "suggestion",
}  # fmt: skip
STATUS_WORDS = {
    "已受理": "open", "受理": "open", "待办": "open", "未办结": "open", "open": "open",
    "办理中": "in_progress", "处理中": "in_progress", "在办": "in_progress",
    "in_progress": "in_progress", "inprogress": "in_progress", "processing": "in_progress",
    "已办结": "closed", "办结": "closed", "已结案": "closed", "结案": "closed",
    "closed": "closed",
}  # fmt: skip
# Geocodes coarser than this are not a place on the map: they go to review.
_ACCEPTED_LEVELS = ("township", "village", "group")
_MAX_PROBLEMS_PER_REASON = 200
_LOCAL_TZ = "Asia/Shanghai"
_TZ_SUFFIX = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z)$")

# Reason code -> (English, Chinese); the row's own detail is appended.
REASONS: dict[str, tuple[str, str]] = {
    "no_case_no": ("no case number", "缺少案件编号"),
    "bad_kind": ("case type not understood", "案件类型无法识别"),
    "bad_status": ("status not understood", "办理状态无法识别"),
    "no_date": ("no date", "缺少日期"),
    "bad_date": ("date not understood", "日期无法识别"),
    "closed_before_opened": ("closed before it was opened", "办结日期早于受理日期"),
    "duplicate_in_file": ("case number repeats an earlier row", "案件编号在文件中重复"),
    "duplicate_in_db": ("case number already in the database", "案件编号已存在"),
    "bad_coordinates": ("coordinates not numbers or incomplete", "坐标不是数字或不完整"),
    "bad_crs": ("coordinate system unknown", "坐标系无法识别"),
    "out_of_range": ("point not in or near Shaoyang", "坐标不在邵阳范围内"),
    "no_location": ("neither an address nor coordinates", "既无地址也无坐标"),
    "unmatched": ("address not found", "地址无法匹配"),
    "ambiguous": ("address fits several places", "地址有多个可能位置"),
    "too_coarse": ("address only locates the county or city", "地址只能定位到县市"),
    "outside_units": ("point outside every villager group", "坐标不在任何村民小组内"),
}


@dataclass(frozen=True)
class _Spec:
    kind: str  # import_batch.kind
    item: str  # review_item.kind
    headers: dict[str, tuple[str, ...]]
    stage: dict[str, str]


_CASES = _Spec("cases", "case", CASE_HEADERS, queries.CASE_STAGE_COLUMNS)
_VISITS = _Spec("visits", "visit", VISIT_HEADERS, queries.VISIT_STAGE_COLUMNS)
_UnitPoint = tuple[str, str, float | None, float | None]  # name, level, lon, lat
_GAZETTEERS: dict[tuple[Any, ...], tuple[Gazetteer | None, dict[str, _UnitPoint]]] = {}
_GROUP_INDEXES: dict[tuple[Any, ...], GroupIndex] = {}


def _normalise_header(text: object) -> str:
    s = str(text).strip().lower().replace("（", "(").replace("）", ")")
    return re.sub(r"[\s_\-.()]", "", s)


def find_columns(
    columns: list[str], kind: str, explicit: dict[str, str] | None = None
) -> dict[str, str]:
    """Map field keys (``case_no``, ``address``, ``lon`` …) to the table's headers.

    Parameters
    ----------
    columns
        The table's headers.
    kind
        ``"cases"`` or ``"visits"``.
    explicit
        ``--field`` mapping key -> header; wins over recognition.

    Raises
    ------
    KeyError
        An explicit key is unknown or names a column the table lacks.
    """
    headers = CASE_HEADERS if kind == "cases" else VISIT_HEADERS
    found: dict[str, str] = {}
    for key, column in (explicit or {}).items():
        if key not in headers:
            msg = f"unknown field key {key!r}: use one of {', '.join(headers)}"
            raise KeyError(msg)
        if column not in columns:
            msg = f"no column {column!r} (columns: {', '.join(columns)})"
            raise KeyError(msg)
        found[key] = column
    normal: dict[str, str] = {}
    for c in columns:
        normal.setdefault(_normalise_header(c), c)
    for key, candidates in headers.items():
        if key in found:
            continue
        for cand in candidates:
            col = normal.get(_normalise_header(cand))
            if col is not None and col not in found.values():
                found[key] = col
                break
    return found


def read_activity_table(path: Path, *, shown: str, encoding: str | None = None) -> pd.DataFrame:
    """A CSV or XLSX table as text columns (None for blanks).

    CSV text is UTF-8 or GBK/GB18030, detected unless ``encoding`` names it.  Big CSVs are read
    here column-wise (a million visits would take minutes cell by cell); XLSX goes through
    :func:`ingest.registers.read_table`.

    Raises
    ------
    IngestError
        The file cannot be read or decoded.
    """
    if path.suffix.lower() not in (".csv", ".txt"):
        return read_table(path, shown=shown)
    if encoding is None:
        # The same order as read_table: UTF-8 (with or without BOM) first, then GB18030,
        # which also reads GBK and GB2312.
        raw = path.read_bytes()
        try:
            raw.decode("utf-8-sig")
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            encoding = "gb18030"
    else:
        raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except LookupError as exc:
        raise IngestError(shown, f"unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        msg = (
            f"text is not {encoding} (编码不对, wrong encoding?); "
            "save the file as UTF-8 or GBK or give --encoding"
        )
        raise IngestError(shown, msg, where=f"row {line}") from exc
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"is not a readable CSV table ({str(exc).strip()})"
        raise IngestError(shown, msg) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    out = {}
    for c in frame.columns:
        values = frame[c].str.strip().to_numpy(object)
        values[values == ""] = None
        out[c] = values
    return pd.DataFrame(out, dtype=object)


def gazetteer_for(url: str) -> Gazetteer | None:
    """The gazetteer of the database's units (all generations), cached while they are unchanged.

    Returns None when no generation is active yet.
    """
    return _gazetteer_and_points(url)[0]


def _gazetteer_and_points(url: str) -> tuple[Gazetteer | None, dict[str, _UnitPoint]]:
    with session_factory(url)() as session:
        signature = (url, *queries.gazetteer_signature(session))
        cached = _GAZETTEERS.get(signature)
        if cached is not None:
            return cached
        units, active = queries.gazetteer_units(session)
    if active is None or units.empty:
        return None, {}
    gazetteer = Gazetteer.from_units(units, active_generation=active)
    # Active units come first: an old unit with the same code never hides the current one.
    first = units.drop_duplicates("code")
    points = dict(
        zip(
            first["code"],
            zip(first["name"], first["level"], first["lon"], first["lat"], strict=True),
            strict=True,
        )
    )
    _GAZETTEERS.clear()
    _GAZETTEERS[signature] = (gazetteer, points)
    return gazetteer, points


def group_index(session: Session, *, url: str) -> GroupIndex | None:
    """The active generation's :class:`GroupIndex`, loaded once per process and reused.

    It is keyed by the database URL and :func:`models.activity.attribution_signature`, so an
    activation or a boundary import makes the next call load it again.  Returns None when no
    generation is active.
    """
    signature = (url, *queries.attribution_signature(session))
    cached = _GROUP_INDEXES.get(signature)
    if cached is not None:
        return cached
    generation_id = signature[1]
    if generation_id is None:
        return None
    index = GroupIndex.from_units(
        queries.attribution_units(session, generation_id=generation_id),
        generation_id=generation_id,
    )
    _GROUP_INDEXES.clear()
    _GROUP_INDEXES[signature] = index
    return index


# ---------------------------------------------------------------------------- row checks
class _Rows:
    """Per-row reasons (first one wins), candidates and notes while a table is checked."""

    def __init__(self, n: int) -> None:
        self.code = np.full(n, None, dtype=object)
        self.detail = np.full(n, None, dtype=object)
        self.candidates: dict[int, list[str]] = {}
        self.units: dict[str, _UnitPoint] = {}

    def flag(self, mask: np.ndarray | pd.Series, code: str, detail: Any = None) -> None:
        m = np.asarray(mask, dtype=bool) & (self.code == None)  # noqa: E711  (elementwise)
        self.code[m] = code
        if detail is not None:
            d = np.asarray(detail, dtype=object)
            self.detail[m] = d[m] if d.shape else d

    @property
    def good(self) -> np.ndarray:
        return self.code == None  # noqa: E711


def _column(table: pd.DataFrame, cols: dict[str, str], key: str) -> pd.Series:
    if key in cols:
        return table[cols[key]]
    return pd.Series(np.full(len(table), None, dtype=object), index=table.index)


def _parse_dates(raw: pd.Series, rows: _Rows, *, required: bool) -> pd.Series:
    parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601")
    retry = raw.notna() & parsed.isna()
    if retry.any():
        # Hand-typed dates (2012/3/5, 2012年3月5日) are rare: parse those one by one.
        cleaned = raw[retry].str.replace(r"[年月]", "-", regex=True).str.replace("日", "")
        parsed[retry] = pd.to_datetime(cleaned, errors="coerce", format="mixed")
    bad = raw.notna() & parsed.isna()
    rows.flag(bad, "bad_date", raw.to_numpy(object))
    if required:
        rows.flag(raw.isna(), "no_date")
    return parsed


def _points(
    table: pd.DataFrame, cols: dict[str, str], default_crs: str, rows: _Rows, report: ImportReport
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """WGS-84 lon/lat per row (NaN = none given), the source system and source lon/lat.

    Also returns ``given``: rows with both coordinates.  Swapped (lat, lon) pairs are put
    right when only the swapped order lands near Shaoyang, and noted as repairs.
    """
    n = len(table)
    lon_raw, lat_raw = _column(table, cols, "lon"), _column(table, cols, "lat")
    lon = pd.to_numeric(lon_raw, errors="coerce").to_numpy(float)
    lat = pd.to_numeric(lat_raw, errors="coerce").to_numpy(float)
    not_number = (lon_raw.notna().to_numpy() & np.isnan(lon)) | (
        lat_raw.notna().to_numpy() & np.isnan(lat)
    )
    half = np.isnan(lon) != np.isnan(lat)
    rows.flag(not_number | half, "bad_coordinates", (lon_raw + ", " + lat_raw).to_numpy(object))
    given = ~np.isnan(lon) & ~np.isnan(lat)
    west, south, east, north = SHAOYANG_BOUNDS
    m = NEAR_MARGIN_DEG

    def near(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x >= west - m) & (x <= east + m) & (y >= south - m) & (y <= north + m)

    swapped = given & ~near(lon, lat) & near(lat, lon)
    for i in np.flatnonzero(swapped)[:_MAX_PROBLEMS_PER_REASON]:
        report.add(
            "repair",
            f"row {i + 2}",
            f"longitude and latitude swapped ({lon[i]}, {lat[i]}); read as {lat[i]}, {lon[i]}",
            "经纬度颠倒，已纠正",
        )
    report.counts["swapped_fixed"] = int(swapped.sum())
    lon, lat = np.where(swapped, lat, lon), np.where(swapped, lon, lat)
    rows.flag(given & ~near(lon, lat), "out_of_range", (lon_raw + ", " + lat_raw).to_numpy(object))
    systems = _column(table, cols, "crs").fillna(default_crs).astype(str).str.strip().to_numpy()
    out_lon, out_lat = np.full(n, np.nan), np.full(n, np.nan)
    source = np.full(n, None, dtype=object)
    ok = given & rows.good
    for system in pd.unique(systems[ok]):
        pos = np.flatnonzero(ok & (systems == system))
        try:
            x, y = to_wgs84(lon[pos], lat[pos], source=system)
            canonical = _canonical(system)
        except ValueError:
            rows.flag(np.isin(np.arange(n), pos), "bad_crs", system)
            continue
        out_lon[pos], out_lat[pos] = x, y
        source[pos] = canonical
    return out_lon, out_lat, source, lon, lat, given


def _canonical(system: str) -> str:
    key = re.sub(r"[\s_\-]", "", system.lower())
    aliases = {"epsg4326": "wgs84", "epsg4490": "cgcs2000", "gcj": "gcj02", "bd": "bd09"}
    key = aliases.get(key.replace(":", ""), key)
    return key if key in ("wgs84", "cgcs2000", "gcj02", "bd09") else "wgs84"


def _geocode(
    addresses: pd.Series,
    need: np.ndarray,
    gazetteer: Gazetteer | None,
    rows: _Rows,
    units: dict[str, _UnitPoint],
) -> pd.DataFrame:
    """Geocode the rows in ``need``; flag those that cannot be placed."""
    n = len(addresses)
    out = pd.DataFrame(
        {
            "lon": np.full(n, np.nan),
            "lat": np.full(n, np.nan),
            "code": np.full(n, None, dtype=object),
            "score": np.full(n, np.nan),
        }
    )
    has_address = addresses.notna().to_numpy()
    rows.flag(need & ~has_address, "no_location")
    todo = np.flatnonzero(need & has_address)
    if len(todo) == 0 or gazetteer is None:
        rows.flag(np.isin(np.arange(n), todo), "unmatched", "no boundaries loaded")
        return out
    found = gazetteer.geocode_many(addresses.to_numpy(object)[todo])
    status = found["status"].to_numpy(object)
    level = found["level"].to_numpy(object)
    mask = np.zeros(n, dtype=bool)
    for code_name, hit in (
        ("unmatched", status == "unmatched"),
        ("ambiguous", status == "ambiguous"),
        ("too_coarse", (status == "matched") & ~np.isin(level, _ACCEPTED_LEVELS)),
    ):
        mask[:] = False
        mask[todo[hit]] = True
        detail = np.full(n, None, dtype=object)
        detail[todo] = found["reason"].to_numpy(object)
        rows.flag(mask, code_name, detail)
    for i, cands in zip(todo, found["candidates"], strict=True):
        if cands:
            rows.candidates[int(i)] = list(cands)
    ok = (status == "matched") & np.isin(level, _ACCEPTED_LEVELS)
    code = found["successor_code"].fillna(found["code"]).to_numpy(object)
    pos = todo[ok]
    out.loc[pos, "code"] = code[ok]
    out.loc[pos, "score"] = found["score"].to_numpy(float)[ok]
    # The point drawn is the unit's own representative point, in the active generation.
    lonlat = np.array([units.get(c, (None, None, None, None))[2:] for c in code[ok]], dtype=float)
    if len(pos):
        out.loc[pos, "lon"] = lonlat[:, 0]
        out.loc[pos, "lat"] = lonlat[:, 1]
        missing = np.isnan(lonlat[:, 0])
        out.loc[pos[missing], "lon"] = found["lon"].to_numpy(float)[ok][missing]
        out.loc[pos[missing], "lat"] = found["lat"].to_numpy(float)[ok][missing]
    return out


# ---------------------------------------------------------------------------- public API
def import_cases(
    url: str,
    path: str | Path,
    *,
    fields: dict[str, str] | None = None,
    encoding: str | None = None,
    crs: str = "wgs84",
    commit: bool = False,
    username: str = "cli",
    name: str | None = None,
    limits: Limits | None = None,
) -> ImportReport:
    """Check a case register and, with ``commit=True``, load it.

    Parameters
    ----------
    url
        Database URL.
    path
        CSV (UTF-8 or GBK) or XLSX with a case number, type, date and an address and/or
        coordinates per row.
    fields
        Column mapping key -> header (keys: :data:`CASE_HEADERS`), for headers not recognised.
    encoding
        Text encoding of a CSV (default: detected).
    crs
        Coordinate system of rows whose 坐标系 cell is empty.
    commit
        Write; otherwise do everything and roll back (dry run).
    username
        Who imports.
    name
        The file's name as the user knows it.
    limits
        Upload size limits.

    Returns
    -------
    ImportReport
        ``counts``: ``rows``, ``cases`` (loaded), ``review``, ``geocoded``, ``gps``,
        ``swapped_fixed``; ``details["review_reasons"]`` counts review rows by reason.

    Raises
    ------
    IngestError
        The file cannot be read, or lacks case number / type / date columns or any location.
    """
    return _import(url, path, _CASES, fields, encoding, crs, commit, username, name, limits)


def import_visits(
    url: str,
    path: str | Path,
    *,
    fields: dict[str, str] | None = None,
    encoding: str | None = None,
    crs: str = "wgs84",
    commit: bool = False,
    username: str = "cli",
    name: str | None = None,
    limits: Limits | None = None,
) -> ImportReport:
    """Check a household-visit log (phone GPS, any system) and, with ``commit=True``, load it.

    Parameters are those of :func:`import_cases`; keys for ``fields`` are
    :data:`VISIT_HEADERS`.  ``counts["visits"]`` is the number loaded.
    """
    return _import(url, path, _VISITS, fields, encoding, crs, commit, username, name, limits)


def _import(
    url: str,
    path: str | Path,
    spec: _Spec,
    fields: dict[str, str] | None,
    encoding: str | None,
    crs: str,
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
    try:
        to_wgs84([], [], source=crs)
    except ValueError as exc:
        raise IngestError(shown, str(exc)) from exc
    report = ImportReport(kind=spec.kind, file=shown, sha256=file_sha256(path))
    with report.timed("read"):
        table = read_activity_table(path, shown=shown, encoding=encoding)
    try:
        cols = find_columns(list(table.columns), spec.kind, fields)
    except KeyError as exc:
        raise IngestError(shown, str(exc.args[0])) from exc
    report.details["columns"] = cols
    _check_structure(table, cols, spec, shown)
    report.counts["rows"] = len(table)

    session = session_factory(url)()
    try:
        session.begin()
        if commit:
            register_queries.lock_imports(session)
        earlier = register_queries.committed_batch(session, spec.kind, report.sha256)
        if earlier is not None:
            return report.already_imported(earlier.id, earlier.started_at, earlier.username)
        generation_id = queries.active_generation_id(session)
        if generation_id is None:
            raise IngestError(shown, "no active boundary generation: import boundaries first")
        rows = _Rows(len(table))
        with report.timed("check"):
            if spec is _CASES:
                stage, records = _case_stage(url, table, cols, crs, rows, report)
            else:
                stage, records = _visit_stage(url, session, table, cols, crs, rows, report)
        with report.timed("attribute"):
            index = group_index(session, url=url)
            if index is None or index.generation_id != generation_id:
                msg = "the active boundary generation changed during the import"
                raise IngestError(shown, msg)
            units = index.attribute(
                stage["lon"].to_numpy(float), stage["lat"].to_numpy(float), stage["fixed_code"]
            )
            placed = units["unit_id"].notna().to_numpy()
            outside = np.zeros(len(table), dtype=bool)
            outside[stage["row_no"].to_numpy()[~placed]] = True
            rows.flag(outside, "outside_units")
            stage = pd.concat([stage.reset_index(drop=True), units], axis=1)[placed]
        with report.timed("stage"):
            queries.create_stage(session, spec.stage)
            queries.copy_stage(session, stage, spec.stage)
            skip: list[int] = []
            if spec is _CASES:
                known = queries.duplicate_stage_cases(session)
                skip = [r for r, _, _ in known]
                detail = np.full(len(table), None, dtype=object)
                detail[skip] = [f"{county} {case_no}" for _, case_no, county in known]
                dup = np.zeros(len(table), dtype=bool)
                dup[skip] = True
                rows.flag(dup, "duplicate_in_db", detail)
        items = _review_items(table, rows, records, spec, report)
        report.counts["review"] = len(items)
        if not commit:
            report.status = "dry_run"
            report.counts[spec.kind] = int(rows.good.sum())
            session.rollback()
            return report
        with report.timed("write"):
            batch_id = register_queries.record_import(
                session,
                kind=spec.kind,
                filename=shown,
                sha256=report.sha256,
                username=username,
                status="committed",
                counts={},
                report={},
            )
            if spec is _CASES:
                loaded = queries.insert_stage_cases(session, batch_id=batch_id, skip=skip)
            else:
                loaded = queries.insert_stage_visits(session, batch_id=batch_id)
            for item in items:
                item["batch_id"] = batch_id
            queries.add_review_items(session, items)
            report.counts[spec.kind] = loaded
            report.status = "committed"
            report.batch_id = batch_id
            queries.finish_batch(session, batch_id, counts=report.counts, report=report.as_dict())
        session.commit()
        return report
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _check_structure(table: pd.DataFrame, cols: dict[str, str], spec: _Spec, shown: str) -> None:
    listed = ", ".join(table.columns)
    has_xy = "lon" in cols and "lat" in cols
    if "address" not in cols and not has_xy:
        msg = (
            "no address column (地址) and no coordinate columns (经度/纬度): rows cannot be "
            f"placed; its columns are: {listed} (map them with --field address=COLUMN)"
        )
        raise IngestError(shown, msg)
    required = ("case_no", "kind", "opened_on") if spec is _CASES else ("visited_at",)
    for key in required:
        if key not in cols:
            msg = (
                f"no {key} column (e.g. {spec.headers[key][0]}); its columns are: {listed} "
                f"(map one with --field {key}=COLUMN)"
            )
            raise IngestError(shown, msg)
    if table.empty:
        raise IngestError(shown, "has no data rows (没有数据)")


def _location(
    url: str,
    table: pd.DataFrame,
    cols: dict[str, str],
    crs: str,
    rows: _Rows,
    report: ImportReport,
) -> pd.DataFrame:
    """Each row's WGS-84 point, source system, method, score and geocoded unit code."""
    lon, lat, source, src_lon, src_lat, given = _points(table, cols, crs, rows, report)
    need = ~given & rows.good
    gazetteer, units = (
        _gazetteer_and_points(url) if need.any() and "address" in cols else (None, {})
    )
    rows.units = units
    geo = _geocode(_column(table, cols, "address"), need, gazetteer, rows, units)
    geocoded = need & geo["code"].notna().to_numpy()
    report.counts["gps"] = int((given & rows.good).sum())
    report.counts["geocoded"] = int(geocoded.sum())
    return pd.DataFrame(
        {
            "lon": np.where(geocoded, geo["lon"], lon),
            "lat": np.where(geocoded, geo["lat"], lat),
            "source_crs": np.where(geocoded, "wgs84", source),
            "source_lon": np.where(given, src_lon, np.nan),
            "source_lat": np.where(given, src_lat, np.nan),
            "location_method": np.where(geocoded, "geocoded", np.where(given, "gps", None)),
            "location_score": np.where(geocoded, geo["score"], np.where(given, 1.0, np.nan)),
            "fixed_code": np.where(geocoded, geo["code"], None),
        }
    )


def _case_stage(
    url: str,
    table: pd.DataFrame,
    cols: dict[str, str],
    crs: str,
    rows: _Rows,
    report: ImportReport,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(table)
    case_no = _column(table, cols, "case_no")
    rows.flag(case_no.isna(), "no_case_no")
    kind_raw = _column(table, cols, "kind")
    kind = kind_raw.str.lower().str.replace(r"\s", "", regex=True).map(KIND_WORDS)
    rows.flag(kind.isna(), "bad_kind", kind_raw.to_numpy(object))
    status_raw = _column(table, cols, "status")
    status = status_raw.str.lower().str.replace(r"\s", "", regex=True).map(STATUS_WORDS)
    rows.flag(status_raw.notna() & status.isna(), "bad_status", status_raw.to_numpy(object))
    opened = _parse_dates(_column(table, cols, "opened_on"), rows, required=True)
    closed = _parse_dates(_column(table, cols, "closed_on"), rows, required=False)
    status = status.where(status.notna(), np.where(closed.notna(), "closed", "open"))
    rows.flag((closed < opened).to_numpy(), "closed_before_opened")
    first_row = pd.Series(np.arange(n)).groupby(case_no.to_numpy()).transform("min")
    dup = case_no.notna().to_numpy() & case_no.duplicated(keep="first").to_numpy()
    rows.flag(dup, "duplicate_in_file", ("row " + (first_row + 2).astype(str)).to_numpy(object))
    place = _location(url, table, cols, crs, rows, report)
    record = pd.DataFrame(
        {
            "row_no": np.arange(n),
            "case_no": case_no.to_numpy(object),
            "kind": kind.to_numpy(object),
            "status": status.to_numpy(object),
            "opened_on": opened.dt.date.astype(object).where(opened.notna(), None).to_numpy(),
            "closed_on": closed.dt.date.astype(object).where(closed.notna(), None).to_numpy(),
            "petitioner": _column(table, cols, "petitioner").to_numpy(object),
            "phone": _column(table, cols, "phone").to_numpy(object),
            "summary": _column(table, cols, "summary").to_numpy(object),
            "address": _column(table, cols, "address").to_numpy(object),
            **{c: place[c].to_numpy() for c in place.columns},
        }
    )
    return record[rows.good], record


def _visit_stage(
    url: str,
    session: Any,
    table: pd.DataFrame,
    cols: dict[str, str],
    crs: str,
    rows: _Rows,
    report: ImportReport,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(table)
    raw = _column(table, cols, "visited_at")
    aware = raw.str.contains(_TZ_SUFFIX, na=False).to_numpy()
    stamp = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        stamp[aware] = pd.to_datetime(raw[aware], errors="coerce", utc=True, format="ISO8601")
    naive = ~aware & raw.notna().to_numpy()
    if naive.any():
        local = pd.to_datetime(raw[naive], errors="coerce", format="ISO8601")
        retry = local.isna()
        if retry.any():
            local[retry] = pd.to_datetime(raw[naive][retry], errors="coerce", format="mixed")
        stamp[naive] = local.dt.tz_localize(_LOCAL_TZ, ambiguous="NaT").dt.tz_convert("UTC")
    rows.flag(raw.notna() & stamp.isna(), "bad_date", raw.to_numpy(object))
    rows.flag(raw.isna(), "no_date")
    team_raw = _column(table, cols, "team")
    team_id = team_raw.map(queries.team_ids_by_name(session))
    unknown = team_raw.notna() & team_id.isna()
    if unknown.any():
        names = ", ".join(sorted(set(team_raw[unknown]))[:5])
        report.add(
            "warning",
            "",
            f"{int(unknown.sum())} rows name a team not in the register ({names} …); "
            "loaded without a team",
            "工作队不在登记表中，已导入但未关联工作队",
        )
    report.counts["unknown_team"] = int(unknown.sum())
    place = _location(url, table, cols, crs, rows, report)
    epoch = (stamp - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    record = pd.DataFrame(
        {
            "row_no": np.arange(n),
            "team_id": team_id.astype("Int64").to_numpy(),
            "household": _column(table, cols, "household").to_numpy(object),
            "visited_epoch": epoch.to_numpy(float),
            "visited_at": stamp,
            **{c: place[c].to_numpy() for c in place.columns},
        }
    )
    return record[rows.good], record


def _review_items(
    table: pd.DataFrame, rows: _Rows, records: pd.DataFrame, spec: _Spec, report: ImportReport
) -> list[dict[str, Any]]:
    """One review item per rejected row, and the report's lines (capped per reason)."""
    bad = np.flatnonzero(~rows.good)
    reasons: dict[str, int] = {}
    items = []
    units = rows.units
    place_only = {"unmatched", "ambiguous", "too_coarse", "outside_units", "no_location"}
    place_only |= {"out_of_range", "bad_coordinates", "bad_crs"}
    keep = [c for c in records.columns if c not in ("lon", "lat", "fixed_code", "visited_epoch")]
    table_records = table.iloc[bad].to_dict("records")
    for i, row in zip(bad, table_records, strict=True):
        code = str(rows.code[i])
        en, zh = REASONS[code]
        detail = rows.detail[i]
        if detail is not None and not (isinstance(detail, float) and np.isnan(detail)):
            en, zh = f"{en}: {detail}", f"{zh}: {detail}"
        reasons[code] = reasons.get(code, 0) + 1
        if reasons[code] <= _MAX_PROBLEMS_PER_REASON:
            report.add("warning", f"row {i + 2}", f"to review: {en}", f"待人工处理: {zh}")
        record = None
        if code in place_only:
            rec = records.iloc[i][keep].to_dict()
            record = {k: _jsonable(v) for k, v in rec.items()}
        cands = [
            {"code": c, "name": units[c][0], "level": units[c][1], "lon": units[c][2],
             "lat": units[c][3]}
            for c in rows.candidates.get(int(i), []) if c in units
        ]  # fmt: skip
        county = None
        if cands:
            counties = {c["code"][:6] for c in cands}
            county = counties.pop() if len(counties) == 1 else None
        items.append(
            {
                "kind": spec.item,
                "row_number": int(i) + 2,
                "county_code": county,
                "raw": {
                    "row": {k: _jsonable(v) for k, v in row.items() if _jsonable(v) is not None},
                    "record": record,
                },
                "reason": f"{zh} / {en}",
                "candidates": {"units": cands},
            }
        )
    report.details["review_reasons"] = reasons
    return items


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is pd.NA:
        return None
    return value

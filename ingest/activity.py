"""Import cases (信访, 矛盾纠纷, 代办, 建议) and household visits from CSV/XLSX: one importer, two specs.

Both follow the same path: read the table (:mod:`ingest.tables`), check each row's fields
(:mod:`ingest.cases`, :mod:`ingest.visits`), place it from its coordinates or its address
(:mod:`ingest.placing`), attribute the placed rows to the active generation's villager groups
in the process (:class:`geo.attribution.GroupIndex`, the lowest-id group covering the point),
stage them by COPY and move them into place (:mod:`models.activity`).  Rows that cannot be
placed or read go to the review queue with their reason and candidates; none is dropped.  Rows
already in the database (a case number in its county; a visit's natural key: the source
system's id, else team, household, time and point) are duplicates: counted, listed, skipped.

One transaction holds the good rows, the review items, the import batch and the audit entry;
a dry run (the default) does all the work and rolls it back.  A file already imported (same
SHA-256) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geo.attribution import GroupIndex
from geo.coords import canonical_source
from ingest.area import confine_review_items, refuse_outside
from ingest.cases import CASE_HEADERS, case_fields
from ingest.errors import IngestError, database_guard
from ingest.files import Limits, check_upload_size, file_sha256
from ingest.placing import gazetteer_and_points, group_index, locate
from ingest.report import ImportReport
from ingest.rows import RowFlags, review_items
from ingest.tables import match_columns, read_table
from ingest.visits import VISIT_HEADERS, visit_fields
from models import activity as queries
from models import registers as register_queries
from models import staging, users
from models.db import session_factory

__all__ = [
    "CASES",
    "CASE_HEADERS",
    "VISITS",
    "VISIT_HEADERS",
    "ActivitySpec",
    "find_columns",
    "gazetteer_for",
    "group_index",
    "import_cases",
    "import_visits",
]

_MAX_DUPLICATE_LINES = 200


@dataclass(frozen=True, kw_only=True)
class ActivitySpec:
    """What differs between cases and visits; everything else is the one importer."""

    kind: str  # import_batch.kind and the count key
    item: str  # review_item.kind
    headers: dict[str, tuple[str, ...]]
    required: tuple[str, ...]  # field keys a file must have
    stage: dict[str, str]  # staging table columns
    fields: Callable[..., pd.DataFrame]  # (table, cols, rows, session=, report=) -> fields
    duplicates: Callable[[Session], list[tuple[int, str]]]  # staged rows already stored
    insert: Callable[..., int]  # (session, batch_id=) -> rows moved in


def _case_fields(table: pd.DataFrame, cols: dict[str, str], rows: RowFlags, **_: Any) -> Any:
    return case_fields(table, cols, rows)


CASES = ActivitySpec(
    kind="cases",
    item="case",
    headers=CASE_HEADERS,
    required=("case_no", "kind", "opened_on"),
    stage=staging.CASE_STAGE_COLUMNS,
    fields=_case_fields,
    duplicates=staging.duplicate_stage_cases,
    insert=staging.insert_stage_cases,
)
VISITS = ActivitySpec(
    kind="visits",
    item="visit",
    headers=VISIT_HEADERS,
    required=("visited_at",),
    stage=staging.VISIT_STAGE_COLUMNS,
    fields=visit_fields,
    duplicates=staging.duplicate_stage_visits,
    insert=staging.insert_stage_visits,
)
_SPECS = {"cases": CASES, "visits": VISITS}


@dataclass(frozen=True)
class _Options:
    crs: str
    commit: bool
    username: str
    area: str | None = None


def find_columns(
    columns: list[str], kind: str, explicit: dict[str, str] | None = None
) -> dict[str, str]:
    """Map field keys (``case_no``, ``address``, ``lon`` …) of ``kind`` ("cases" or "visits")
    to the table's headers; ``explicit`` (``--field``) wins.

    Raises
    ------
    KeyError
        An explicit key is unknown or names a column the table lacks.
    """
    return match_columns(columns, _SPECS[kind].headers, explicit=explicit)


def gazetteer_for(url: str) -> Any:
    """The gazetteer of the database's units, cached while they are unchanged (None: no
    active generation)."""
    return gazetteer_and_points(url)[0]


def import_cases(url: str, path: str | Path, **options: Any) -> ImportReport:
    """Check a case register and, with ``commit=True``, load it.

    Parameters
    ----------
    url
        Database URL.
    path
        CSV (UTF-8 or GBK) or XLSX with a case number, type, date and an address and/or
        coordinates per row.
    **options
        Keyword-only options of :func:`import_activity`.

    Returns
    -------
    ImportReport
        ``counts``: ``rows``, ``cases`` (loaded), ``review``, ``duplicates``, ``geocoded``,
        ``gps``, ``swapped_fixed``; ``details["review_reasons"]`` counts review rows by reason.
    """
    return import_activity(url, path, spec=CASES, **options)


def import_visits(url: str, path: str | Path, **options: Any) -> ImportReport:
    """Check a household-visit log (phone GPS, any system) and, with ``commit=True``, load it.

    Options are those of :func:`import_activity`; ``counts["visits"]`` is the number loaded.
    """
    return import_activity(url, path, spec=VISITS, **options)


def import_activity(
    url: str,
    path: str | Path,
    *,
    spec: ActivitySpec,
    fields: dict[str, str] | None = None,
    encoding: str | None = None,
    crs: str = "wgs84",
    commit: bool = False,
    username: str = "cli",
    name: str | None = None,
    limits: Limits | None = None,
    area: str | None = None,
) -> ImportReport:
    """Check a case or visit file and, with ``commit=True``, load it in one transaction.

    Parameters
    ----------
    spec
        :data:`CASES` or :data:`VISITS`.
    fields
        Column mapping key -> header, for headers not recognised (keys: ``spec.headers``).
    encoding
        Text encoding of a CSV (default: sniffed).
    crs
        Coordinate system of rows whose 坐标系 cell is empty.
    commit
        Write; otherwise do everything and roll back (dry run).
    username, name, limits
        Who imports; the file's name as the user knows it; upload size limits.
    area
        The uploading user's area code: a row placed outside it is an error and the file is
        rejected (:func:`ingest.area.refuse_outside`); None for the operator.

    Raises
    ------
    IngestError
        The file cannot be read, lacks the required columns or any location, or the database
        connection was lost (nothing written).
    """
    path = Path(path)
    shown = name or path.name
    if not path.exists():
        raise IngestError(shown, "file not found")
    check_upload_size(path, limits=limits or Limits(), name=shown)
    try:
        canonical_source(crs)
    except ValueError as exc:
        raise IngestError(shown, str(exc)) from exc
    report = ImportReport(kind=spec.kind, file=shown, sha256=file_sha256(path))
    with report.timed("read"):
        table = read_table(path, shown=shown, encoding=encoding)
    try:
        cols = match_columns(list(table.columns), spec.headers, explicit=fields)
    except KeyError as exc:
        raise IngestError(shown, str(exc.args[0])) from exc
    report.details["columns"] = cols
    _check_structure(table, cols, spec, shown)
    report.counts["rows"] = len(table)
    with database_guard(shown), session_factory(url)() as session:
        try:
            session.begin()
            _run(session, url, table, cols, spec=spec, options=_Options(crs, commit, username, area),
                 report=report)  # fmt: skip
            if report.status == "committed":
                session.commit()
            else:
                session.rollback()
        except BaseException:
            session.rollback()
            raise
    return report


def _run(
    session: Session,
    url: str,
    table: pd.DataFrame,
    cols: dict[str, str],
    *,
    spec: ActivitySpec,
    options: _Options,
    report: ImportReport,
) -> None:
    """The import inside its transaction; ``report.status`` says whether to commit."""
    if options.commit:
        register_queries.lock_imports(session)
    earlier = register_queries.committed_batch(session, spec.kind, report.sha256)
    if earlier is not None:
        report.already_imported(earlier.id, earlier.started_at, earlier.username)
        return
    generation_id = queries.active_generation_id(session)
    if generation_id is None:
        raise IngestError(report.file, "no active boundary generation: import boundaries first")
    rows = RowFlags(len(table))
    with report.timed("check"):
        records = spec.fields(table, cols, rows, session=session, report=report)
        user = users.get_user_by_name(session, options.username)
        place = locate(url, table, cols, crs=options.crs, rows=rows, report=report,
                       area=user.area_code if user is not None else None)  # fmt: skip
        records = pd.concat([records, place], axis=1)
    with report.timed("attribute"):
        index = group_index(session, url=url)
        if index is None or index.generation_id != generation_id:
            msg = "the active boundary generation changed during the import"
            raise IngestError(report.file, msg)
        stage = _attribute(index, records[rows.good], rows)
    if _refused_outside_area(stage, options.area, report):
        return
    with report.timed("stage"):
        staging.create_stage(session, spec.stage)
        staging.copy_stage(session, stage, spec.stage)
        duplicates = spec.duplicates(session)
    _report_duplicates(duplicates, report)
    items = review_items(table, rows, records, item=spec.item, report=report)
    if confine_review_items(report, items, options.area):
        report.status = "rejected"
        return
    report.counts["review"] = len(items)
    if not options.commit:
        report.status = "dry_run"
        report.counts[spec.kind] = len(stage) - len(duplicates)
        return
    with report.timed("write"):
        _write(session, spec=spec, items=items, username=options.username, report=report)


def _write(
    session: Session,
    *,
    spec: ActivitySpec,
    items: list[dict[str, Any]],
    username: str,
    report: ImportReport,
) -> None:
    """Insert the staged rows and the review items under one new committed batch."""
    batch_id = register_queries.record_import(
        session,
        kind=spec.kind,
        filename=report.file,
        sha256=report.sha256,
        username=username,
        status="committed",
        counts={},
        report={},
    )
    report.counts[spec.kind] = spec.insert(session, batch_id=batch_id)
    for item in items:
        item["batch_id"] = batch_id
    queries.add_review_items(session, items)
    report.status = "committed"
    report.batch_id = batch_id
    staging.finish_batch(session, batch_id, counts=report.counts, report=report.as_dict())


def _attribute(index: GroupIndex, good: pd.DataFrame, rows: RowFlags) -> pd.DataFrame:
    """The good rows with their units; rows outside every group are flagged, not staged."""
    units = index.attribute(
        good["lon"].to_numpy(float), good["lat"].to_numpy(float), good["fixed_code"]
    )
    placed = units["unit_id"].notna().to_numpy()
    outside = np.zeros(len(rows.code), dtype=bool)
    outside[good["row_no"].to_numpy()[~placed]] = True
    rows.flag(outside, "outside_units")
    return pd.concat([good.reset_index(drop=True), units], axis=1)[placed]


def _refused_outside_area(stage: pd.DataFrame, area: str | None, report: ImportReport) -> bool:
    """True (and the report rejected) when a placed row lies outside the user's area."""
    levels = ["group_code", "village_code", "township_code", "county_code"]
    finest = stage[levels].bfill(axis=1).iloc[:, 0] if len(stage) else pd.Series([], dtype=object)
    where = [f"row {int(n) + 2}" for n in stage["row_no"]]
    if refuse_outside(report, where, finest, area):
        report.status = "rejected"
        return True
    return False


def _report_duplicates(duplicates: list[tuple[int, str]], report: ImportReport) -> None:
    """Rows already in the database: counted and listed (capped), never written again."""
    report.counts["duplicates"] = len(duplicates)
    for row_no, key in duplicates[:_MAX_DUPLICATE_LINES]:
        report.add(
            "warning",
            f"row {row_no + 2}",
            f"already in the database ({key}); skipped",
            f"数据库中已有此记录（{key}），已跳过",
        )


def _check_structure(
    table: pd.DataFrame, cols: dict[str, str], spec: ActivitySpec, shown: str
) -> None:
    listed = ", ".join(table.columns)
    if "address" not in cols and not ("lon" in cols and "lat" in cols):
        msg = (
            "no address column (地址) and no coordinate columns (经度/纬度): rows cannot be "
            f"placed; its columns are: {listed} (map them with --field address=COLUMN)"
        )
        raise IngestError(shown, msg)
    for key in spec.required:
        if key not in cols:
            msg = (
                f"no {key} column (e.g. {spec.headers[key][0]}); its columns are: {listed} "
                f"(map one with --field {key}=COLUMN)"
            )
            raise IngestError(shown, msg)
    if table.empty:
        raise IngestError(shown, "has no data rows (没有数据)")

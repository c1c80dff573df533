"""The bulk path of a case or visit import: staging by COPY, duplicates, the final INSERT.

An import attributes its good rows in the process (:func:`attribution_units` hands it the
active generation's units once, as WKB, for an in-memory index), stages the rows with their
units in a temporary table with COPY, takes out the rows already stored, then moves the rest
into ``case_record`` or ``visit`` with one ``INSERT … SELECT``.  Everything runs in the
caller's transaction.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from sqlalchemy import func, text, update
from sqlalchemy.orm import Session

from models import case_cube
from models.db import driver_connection, rowcount
from models.schema import SRID, ImportBatch

STAGE = "activity_stage"

CASE_STAGE_COLUMNS: dict[str, str] = {
    "row_no": "integer",
    "case_no": "text",
    "kind": "text",
    "status": "text",
    "opened_on": "date",
    "closed_on": "date",
    "petitioner": "text",
    "phone": "text",
    "summary": "text",
    "address": "text",
    "source_crs": "text",
    "location_method": "text",
    "location_score": "double precision",
    "unit_id": "integer",
    "lon": "double precision",
    "lat": "double precision",
}
VISIT_STAGE_COLUMNS: dict[str, str] = {
    "row_no": "integer",
    "team_id": "integer",
    "household": "text",
    "source_id": 'text COLLATE "C"',
    "visited_epoch": "double precision",
    "source_crs": "text",
    "source_lon": "double precision",
    "source_lat": "double precision",
    "unit_id": "integer",
    "lon": "double precision",
    "lat": "double precision",
}
_COPY_CHUNK = 200_000


# ---------------------------------------------------------------------------- staging
def create_stage(session: Session, columns: dict[str, str]) -> None:
    """Create the temporary staging table (dropped at the end of the transaction).

    A visit stage computes each row's natural key as it is copied in, with the function the
    ``visit`` table's keys come from (migration 0002), so each key is computed once.
    """
    session.execute(text(f"DROP TABLE IF EXISTS {STAGE}"))
    cols = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    if columns is VISIT_STAGE_COLUMNS:
        cols += (
            ", natural_key uuid GENERATED ALWAYS AS"
            " (visit_natural_key(team_id, household, visited_epoch, lon, lat)) STORED"
        )
    session.execute(text(f"CREATE TEMP TABLE {STAGE} ({cols}) ON COMMIT DROP"))


def copy_stage(session: Session, frame: pd.DataFrame, columns: dict[str, str]) -> int:
    """COPY ``frame``'s staging columns (``lon``/``lat`` in WGS-84) into the staging table.

    Floats travel as their shortest exact text (pandas' default), so the point stored is the
    point attributed, bit for bit.  Unit codes are not staged: the final INSERT takes them
    from the unit (:data:`_UNIT_CODES`).

    Returns
    -------
    int
        Rows written.
    """
    if frame.empty:
        return 0
    names = list(columns)
    raw = driver_connection(session)
    sql = f"COPY {STAGE} ({', '.join(names)}) FROM STDIN (FORMAT csv)"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for start in range(0, len(frame), _COPY_CHUNK):
            buf = io.StringIO()
            # Empty unquoted fields are NULL in COPY's csv format, as pandas writes NA.
            frame.iloc[start : start + _COPY_CHUNK][names].to_csv(buf, header=False, index=False)
            copy.write(buf.getvalue().encode())
    return len(frame)


# A staged row's codes, from its unit (``u``): the rule of :class:`geo.attribution.GroupIndex`.
_UNIT_CODES = """
    u.county_code,
    CASE WHEN u.level IN ('township', 'village', 'group') THEN substr(u.code, 1, 9) || '000' END,
    CASE WHEN u.level IN ('village', 'group') THEN substr(u.code, 1, 12) END,
    CASE WHEN u.level = 'group' THEN u.code END
"""
_POINT = f"ST_SetSRID(ST_MakePoint(s.lon, s.lat), {SRID})"


def attribution_signature(session: Session) -> tuple[Any, ...]:
    """Cheap fingerprint of what in-process attribution depends on.

    The active generation, the last boundary import and the highest unit id: an activation, a
    boundary import or units written any other way all change it.
    """
    row = session.execute(
        text(
            "SELECT (SELECT id FROM generation WHERE active),"
            " (SELECT max(id) FROM import_batch WHERE kind = 'boundaries'),"
            " (SELECT max(id) FROM admin_unit)"
        )
    ).one()
    return tuple(row)


def attribution_units(session: Session, *, generation_id: int) -> pd.DataFrame:
    """Every unit of ``generation_id``, by id, with its villager groups' polygons as WKB.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, level, code, county_code, wkb`` (``wkb`` is None above group level:
        those units are only looked up by code).
    """
    rows = session.execute(
        text(
            """
            SELECT id, level, code, county_code,
                   CASE WHEN level = 'group' THEN ST_AsBinary(geom) END AS wkb
            FROM admin_unit WHERE generation_id = :gen ORDER BY id
            """
        ),
        {"gen": generation_id},
    ).all()
    frame = pd.DataFrame(rows, columns=["id", "level", "code", "county_code", "wkb"])
    frame["wkb"] = [None if b is None else bytes(b) for b in frame["wkb"]]
    return frame


def duplicate_stage_cases(session: Session) -> list[tuple[int, str]]:
    """Take the staged cases whose (county, case number) is already stored out of the stage.

    Returns
    -------
    list of (row_no, "county case_no"), by row.
    """
    rows = session.execute(
        text(
            f"""
            DELETE FROM {STAGE} s USING case_record c, admin_unit u
            WHERE u.id = s.unit_id AND c.county_code = u.county_code AND c.case_no = s.case_no
            RETURNING s.row_no, u.county_code || ' ' || s.case_no
            """
        )
    ).all()
    return sorted((int(r), str(k)) for r, k in rows)


def duplicate_stage_visits(session: Session) -> list[tuple[int, str]]:
    """Take the staged visits already stored, or repeating an earlier row, out of the stage.

    A visit is the same as another when its source id is, or its natural key (team,
    household, time, point) is.

    Returns
    -------
    list of (row_no, what it repeats), by row.
    """
    rows = session.execute(
        text(
            f"""
            WITH dup AS (
                SELECT s.row_no, 'visit ' || coalesce(s.source_id, s.household, '') AS what
                FROM {STAGE} s
                WHERE EXISTS (SELECT 1 FROM visit v WHERE v.natural_key = s.natural_key)
                   OR (s.source_id IS NOT NULL
                       AND EXISTS (SELECT 1 FROM visit v WHERE v.source_id = s.source_id))
                UNION ALL
                SELECT row_no, 'row ' || (first + 2) || ' of this file' FROM (
                    SELECT row_no, min(row_no) OVER (PARTITION BY natural_key) AS first,
                           min(row_no) OVER (PARTITION BY coalesce(source_id, row_no::text) COLLATE "C")
                               AS first_id
                    FROM {STAGE}) f
                WHERE row_no > first OR row_no > first_id
            )
            DELETE FROM {STAGE} s USING (SELECT DISTINCT ON (row_no) * FROM dup) d
            WHERE s.row_no = d.row_no
            RETURNING s.row_no, d.what
            """
        )
    ).all()
    return sorted((int(r), str(k)) for r, k in rows)


def insert_stage_cases(session: Session, *, batch_id: int | None) -> int:
    """Move the staged cases into ``case_record``."""
    result = session.execute(
        text(
            f"""
            INSERT INTO case_record (case_no, kind, status, opened_on, closed_on, petitioner,
                phone, summary, address, geom, source_crs, location_method, location_score,
                unit_id, county_code, township_code, village_code, group_code, batch_id)
            SELECT s.case_no, s.kind, s.status, s.opened_on, s.closed_on, s.petitioner, s.phone,
                   s.summary, s.address, {_POINT}, s.source_crs, s.location_method,
                   s.location_score, s.unit_id, {_UNIT_CODES}, :batch
            FROM {STAGE} s JOIN admin_unit u ON u.id = s.unit_id
            ORDER BY s.row_no
            """
        ),
        {"batch": batch_id},
    )
    # The leaders' count cube is recounted in this same transaction: when the import
    # commits, the maps already show its cases (and a failed import leaves both unchanged).
    case_cube.rebuild(session)
    return rowcount(result)


def insert_stage_visits(session: Session, *, batch_id: int | None) -> int:
    """Move the staged visits into ``visit``."""
    result = session.execute(
        text(
            f"""
            INSERT INTO visit (team_id, household, visited_at, geom, source_crs, source_lon,
                source_lat, unit_id, county_code, township_code, village_code, group_code,
                batch_id, source_id, natural_key)
            SELECT s.team_id, s.household, to_timestamp(s.visited_epoch), {_POINT}, s.source_crs,
                   s.source_lon, s.source_lat, s.unit_id, {_UNIT_CODES}, :batch, s.source_id,
                   s.natural_key
            FROM {STAGE} s JOIN admin_unit u ON u.id = s.unit_id
            ORDER BY s.row_no
            """
        ),
        {"batch": batch_id},
    )
    return rowcount(result)


def finish_batch(
    session: Session, batch_id: int, *, counts: dict[str, Any], report: dict[str, Any]
) -> None:
    """Store an import batch's final counts and report once its rows are written."""
    session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch_id)
        .values(counts=counts, report=report, finished_at=func.now())
    )

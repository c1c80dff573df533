"""Queries and bulk writes for cases and visits: gazetteer units, staging, attribution, review queue.

An import attributes its good rows in the process (:func:`attribution_units` hands it the
active generation's units once, as WKB, for an in-memory index), stages the rows with their
units in a temporary table with COPY, then moves them into ``case_record`` or ``visit`` with
one ``INSERT … SELECT``.  Everything runs in the caller's transaction.

Re-placing every stored row after a generation switch (:func:`reattribute`) stays set-based in
PostGIS, with the plan measured in FIELD-NOTES: no parallel workers, so PostgreSQL loops over
the polygons instead of probing the polygon index once per point.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import pandas as pd
import shapely
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from models.registers import audit
from models.schema import SRID, Generation, ImportBatch, ReviewItem

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
    "county_code": "text",
    "township_code": "text",
    "village_code": "text",
    "group_code": "text",
    "geom": f"geometry(Point, {SRID})",
}
VISIT_STAGE_COLUMNS: dict[str, str] = {
    "row_no": "integer",
    "team_id": "integer",
    "household": "text",
    "visited_epoch": "double precision",
    "source_crs": "text",
    "source_lon": "double precision",
    "source_lat": "double precision",
    "unit_id": "integer",
    "county_code": "text",
    "township_code": "text",
    "village_code": "text",
    "group_code": "text",
    "geom": f"geometry(Point, {SRID})",
}
_COPY_CHUNK = 200_000


# ---------------------------------------------------------------------------- gazetteer input
def gazetteer_units(session: Session) -> tuple[pd.DataFrame, str | None]:
    """Every unit of every generation in the form :meth:`geo.geocode.Gazetteer.from_units` reads.

    Each unit gets a representative point (``ST_PointOnSurface``); a unit of an inactive
    generation gets as ``successor_code`` the unit of the active generation and the same level
    that contains that point, found in one set-based join.

    Returns
    -------
    units, active
        Columns ``generation, level, code, name, parent_code, county_code, lon, lat,
        successor_code``; the active generation's name (None when none is active).
    """
    active_row = session.execute(select(Generation.id, Generation.name).where(Generation.active))
    active_id, active = active_row.one_or_none() or (None, None)
    # The successor join runs polygon by polygon over an index on the old units' points, as
    # the attribution join does: probing the units' own index point by point took 30 s.
    session.execute(text("DROP TABLE IF EXISTS gazetteer_point"))
    session.execute(
        text(
            """
            CREATE TEMP TABLE gazetteer_point AS
            SELECT u.id, u.level, u.code, u.name, u.parent_id, u.county_code,
                   g.name AS generation, g.active, ST_PointOnSurface(u.geom) AS pt
            FROM admin_unit u JOIN generation g ON g.id = u.generation_id
            """
        )
    )
    session.execute(text("CREATE INDEX ON gazetteer_point USING gist (pt) WHERE NOT active"))
    session.execute(text("ANALYZE gazetteer_point"))
    rows = session.execute(
        text(
            """
            WITH successor AS (
                SELECT DISTINCT ON (p.id) p.id, a.code
                FROM admin_unit a
                JOIN gazetteer_point p ON NOT p.active AND p.level = a.level
                                      AND ST_Intersects(a.geom, p.pt)
                WHERE a.generation_id = :active
                ORDER BY p.id, a.id
            )
            SELECT p.generation, p.level, p.code, p.name, par.code AS parent_code,
                   p.county_code, ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat, s.code AS successor_code
            FROM gazetteer_point p
            LEFT JOIN admin_unit par ON par.id = p.parent_id
            LEFT JOIN successor s ON s.id = p.id
            ORDER BY p.active DESC, p.id
            """
        ),
        {"active": active_id},
    ).all()
    session.execute(text("DROP TABLE gazetteer_point"))
    columns = [
        "generation",
        "level",
        "code",
        "name",
        "parent_code",
        "county_code",
        "lon",
        "lat",
        "successor_code",
    ]
    return pd.DataFrame(rows, columns=columns), active


def gazetteer_signature(session: Session) -> tuple[Any, ...]:
    """Cheap fingerprint of the units table: changes whenever a gazetteer must be rebuilt."""
    row = session.execute(
        text("SELECT (SELECT id FROM generation WHERE active), count(*), max(id) FROM admin_unit")
    ).one()
    return tuple(row)


def active_generation_id(session: Session) -> int | None:
    """Id of the active generation, or None before the first boundary import."""
    return session.scalar(select(Generation.id).where(Generation.active))


def team_ids_by_name(session: Session) -> dict[str, int]:
    """Team name -> id, teams of the active generation's townships winning over older ones."""
    rows = session.execute(
        text(
            """
            SELECT t.name, t.id FROM team t
            JOIN admin_unit u ON u.id = t.unit_id JOIN generation g ON g.id = u.generation_id
            ORDER BY g.active, t.id DESC
            """
        )
    ).all()
    # Later rows overwrite earlier ones: active generation last, lowest id last.
    return {name: int(i) for name, i in rows}


# ---------------------------------------------------------------------------- staging
def create_stage(session: Session, columns: dict[str, str]) -> None:
    """Create the temporary staging table (dropped at the end of the transaction)."""
    session.execute(text(f"DROP TABLE IF EXISTS {STAGE}"))
    cols = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    session.execute(text(f"CREATE TEMP TABLE {STAGE} ({cols}) ON COMMIT DROP"))


def copy_stage(session: Session, frame: pd.DataFrame, columns: dict[str, str]) -> int:
    """COPY ``frame`` into the staging table; ``lon``/``lat`` columns become ``geom``.

    Parameters
    ----------
    frame
        The staging columns except ``geom`` (the unit columns filled by the attribution),
        plus ``lon``/``lat`` in WGS-84.
    columns
        :data:`CASE_STAGE_COLUMNS` or :data:`VISIT_STAGE_COLUMNS`.

    Returns
    -------
    int
        Rows written.
    """
    if frame.empty:
        return 0
    names = list(columns)
    raw = session.connection().connection.driver_connection
    sql = f"COPY {STAGE} ({', '.join(names)}) FROM STDIN (FORMAT csv)"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for start in range(0, len(frame), _COPY_CHUNK):
            part = frame.iloc[start : start + _COPY_CHUNK]
            points = shapely.points(part["lon"].to_numpy(float), part["lat"].to_numpy(float))
            out = part[[n for n in names if n != "geom"]].copy()
            out["geom"] = shapely.to_wkb(
                shapely.set_srid(points, SRID), hex=True, include_srid=True
            )
            buf = io.StringIO()
            # Empty unquoted fields are NULL in COPY's csv format, as pandas writes NA.
            out.to_csv(buf, header=False, index=False, float_format="%.10g")
            copy.write(buf.getvalue().encode())
    return len(frame)


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


def duplicate_stage_cases(session: Session) -> list[tuple[int, str, str]]:
    """Staged cases whose (county, case number) is already in ``case_record``.

    Returns
    -------
    list of (row_no, case_no, county_code)
    """
    rows = session.execute(
        text(
            f"""
            SELECT s.row_no, s.case_no, s.county_code FROM {STAGE} s
            WHERE EXISTS (SELECT 1 FROM case_record c
                          WHERE c.county_code = s.county_code AND c.case_no = s.case_no)
            ORDER BY s.row_no
            """
        )
    ).all()
    return [(int(r), str(c), str(k)) for r, c, k in rows]


def insert_stage_cases(session: Session, *, batch_id: int | None, skip: Sequence[int] = ()) -> int:
    """Move the staged cases into ``case_record`` (rows in ``skip`` excepted)."""
    result = session.execute(
        text(
            f"""
            INSERT INTO case_record (case_no, kind, status, opened_on, closed_on, petitioner,
                phone, summary, address, geom, source_crs, location_method, location_score,
                unit_id, county_code, township_code, village_code, group_code, batch_id)
            SELECT s.case_no, s.kind, s.status, s.opened_on, s.closed_on, s.petitioner, s.phone,
                   s.summary, s.address, s.geom, s.source_crs, s.location_method,
                   s.location_score, s.unit_id, s.county_code, s.township_code, s.village_code,
                   s.group_code, :batch
            FROM {STAGE} s
            WHERE NOT (s.row_no = ANY(CAST(:skip AS integer[])))
            ORDER BY s.row_no
            """
        ),
        {"batch": batch_id, "skip": list(skip)},
    )
    return int(result.rowcount or 0)


def insert_stage_visits(session: Session, *, batch_id: int | None) -> int:
    """Move the staged visits into ``visit``."""
    result = session.execute(
        text(
            f"""
            INSERT INTO visit (team_id, household, visited_at, geom, source_crs, source_lon,
                source_lat, unit_id, county_code, township_code, village_code, group_code,
                batch_id)
            SELECT s.team_id, s.household, to_timestamp(s.visited_epoch), s.geom, s.source_crs,
                   s.source_lon, s.source_lat, s.unit_id, s.county_code, s.township_code,
                   s.village_code, s.group_code, :batch
            FROM {STAGE} s
            ORDER BY s.row_no
            """
        ),
        {"batch": batch_id},
    )
    return int(result.rowcount or 0)


def reattribute(session: Session, *, generation_id: int) -> dict[str, int]:
    """Re-attribute every case and visit to ``generation_id``'s groups (after a switch).

    Points outside every group keep their old codes; the counts say how many moved.  A point
    on a border between groups goes to the one with the lowest id, as at import.

    Returns
    -------
    dict
        ``{"case_record": n, "visit": m}`` rows updated.
    """
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    out = {}
    for table in ("case_record", "visit"):
        result = session.execute(
            text(
                f"""
                UPDATE {table} t SET unit_id = g.id, county_code = g.county_code,
                       township_code = substr(g.code, 1, 9) || '000',
                       village_code = substr(g.code, 1, 12), group_code = g.code
                FROM (
                    SELECT DISTINCT ON (r.id) r.id AS row_id, a.id, a.county_code, a.code
                    FROM {table} r
                    JOIN admin_unit a ON a.generation_id = :gen AND a.level = 'group'
                                     AND ST_Intersects(a.geom, r.geom)
                    ORDER BY r.id, a.id
                ) g
                WHERE t.id = g.row_id AND t.unit_id IS DISTINCT FROM g.id
                """
            ),
            {"gen": generation_id},
        )
        out[table] = int(result.rowcount or 0)
    return out


def finish_batch(
    session: Session, batch_id: int, *, counts: dict[str, Any], report: dict[str, Any]
) -> None:
    """Store an import batch's final counts and report once its rows are written."""
    session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch_id)
        .values(counts=counts, report=report, finished_at=func.now())
    )


# ---------------------------------------------------------------------------- review queue
def add_review_items(session: Session, items: list[dict[str, Any]]) -> int:
    """Insert review items (``batch_id, kind, row_number, county_code, raw, reason,
    candidates``)."""
    if not items:
        return 0
    session.execute(insert(ReviewItem), items)
    return len(items)


def open_review_items(
    session: Session, *, kind: str | None = None, prefix: str = "", limit: int = 200
) -> list[ReviewItem]:
    """Unresolved review items, oldest first, optionally of one kind and inside an area.

    Items without a county (an address that named none) are shown to every area.
    """
    query = select(ReviewItem).where(ReviewItem.resolved.is_(False))
    if kind:
        query = query.where(ReviewItem.kind == kind)
    if prefix:
        query = query.where(
            ReviewItem.county_code.is_(None) | ReviewItem.county_code.startswith(prefix[:6])
        )
    return list(session.scalars(query.order_by(ReviewItem.id).limit(limit)))


def review_counts(session: Session) -> dict[str, int]:
    """Open review items per kind."""
    rows = session.execute(
        select(ReviewItem.kind, func.count())
        .where(ReviewItem.resolved.is_(False))
        .group_by(ReviewItem.kind)
    ).all()
    return {k: int(n) for k, n in rows}


def resolve_review_item(
    session: Session, item_id: int, *, lon: float, lat: float, username: str
) -> dict[str, Any]:
    """Place a review item at a WGS-84 point: insert its case or visit, mark it resolved, audit.

    The item's ``raw["record"]`` holds the row's parsed fields; the point is attributed to the
    active generation's group containing it.

    Returns
    -------
    dict
        ``{"kind", "id", "group_code"}`` of the inserted row.

    Raises
    ------
    LookupError
        No open item with that id.
    ValueError
        The row's other fields were unusable, or the point lies outside every group.
    """
    item = session.get(ReviewItem, item_id, with_for_update=True)
    if item is None or item.resolved:
        msg = f"no open review item {item_id}"
        raise LookupError(msg)
    record = (item.raw or {}).get("record")
    if not record:
        msg = "this row has problems besides its place; fix the file and import it again"
        raise ValueError(msg)
    generation_id = active_generation_id(session)
    unit = session.execute(
        text(
            "SELECT id, county_code, code FROM admin_unit WHERE generation_id = :g"
            " AND level = 'group' AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
            " ORDER BY id LIMIT 1"
        ),
        {"g": generation_id, "x": lon, "y": lat},
    ).one_or_none()
    if unit is None:
        msg = f"point {lon:.6f}, {lat:.6f} lies outside every villager group"
        raise ValueError(msg)
    unit_id, county, code = unit
    place = {
        "geom": f"SRID={SRID};POINT({lon!r} {lat!r})",
        "unit_id": unit_id,
        "county_code": county,
        "township_code": code[:9] + "000",
        "village_code": code[:12],
        "group_code": code,
        "batch_id": item.batch_id,
    }
    if item.kind == "case":
        fields = {k: record.get(k) for k in ("case_no", "kind", "status", "petitioner", "phone")}
        fields |= {k: record.get(k) for k in ("summary", "address")}
        fields["opened_on"] = dt.date.fromisoformat(record["opened_on"])
        closed = record.get("closed_on")
        fields["closed_on"] = dt.date.fromisoformat(closed) if closed else None
        sql = text(
            """
            INSERT INTO case_record (case_no, kind, status, opened_on, closed_on, petitioner,
                phone, summary, address, geom, source_crs, location_method, location_score,
                unit_id, county_code, township_code, village_code, group_code, batch_id)
            VALUES (:case_no, :kind, :status, :opened_on, :closed_on, :petitioner, :phone,
                :summary, :address, ST_GeomFromEWKT(:geom), 'wgs84', 'manual', 1.0, :unit_id,
                :county_code, :township_code, :village_code, :group_code, :batch_id)
            RETURNING id
            """
        )
    else:
        fields = {
            "team_id": record.get("team_id"),
            "household": record.get("household"),
            "visited_at": dt.datetime.fromisoformat(record["visited_at"]),
        }
        sql = text(
            """
            INSERT INTO visit (team_id, household, visited_at, geom, source_crs, source_lon,
                source_lat, unit_id, county_code, township_code, village_code, group_code,
                batch_id)
            VALUES (:team_id, :household, :visited_at, ST_GeomFromEWKT(:geom), 'wgs84', :lon,
                :lat, :unit_id, :county_code, :township_code, :village_code, :group_code,
                :batch_id)
            RETURNING id
            """
        )
        fields |= {"lon": lon, "lat": lat}
    new_id = int(session.scalar(sql, {**fields, **place}))
    session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item_id)
        .values(resolved=True, resolved_by=username, resolved_at=func.now())
    )
    audit(
        session,
        username=username,
        action="review.resolve",
        detail={"item": item_id, "kind": item.kind, "id": new_id, "lon": lon, "lat": lat},
    )
    return {"kind": item.kind, "id": new_id, "group_code": code}

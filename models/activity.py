"""Queries and bulk writes for cases and visits: gazetteer units, staging, attribution, review queue.

An import stages its good rows in a temporary table with COPY, attributes them to the active
generation's villager groups in one set-based join, then moves them into ``case_record`` or
``visit`` with one ``INSERT … SELECT``.  Everything runs in the caller's transaction.

The point-in-polygon join forces the plan measured in FIELD-NOTES: a GiST index on the staged
points and no parallel workers, so PostgreSQL loops over the polygons and probes the points
(each polygon prepared once), instead of the parallel plan that probes the polygon index once
per point and is 3-4 times slower.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from models.registers import audit
from models.schema import SRID, Generation, ImportBatch, ReviewItem

STAGE = "activity_stage"
STAGE_UNIT = "activity_stage_unit"

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
    "fixed_code": "text",
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
    "fixed_code": "text",
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
        The staging columns except ``geom``, plus ``lon``/``lat`` in WGS-84.
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
    # Rows go in along a Hilbert curve: the join then finds each polygon's points on a few
    # neighbouring pages instead of all over the table (twice as fast for a million visits).
    lon = frame["lon"].to_numpy(float)
    lat = frame["lat"].to_numpy(float)
    if len(frame) > 1:
        order = np.argsort(
            gpd.GeoSeries(shapely.points(lon, lat)).hilbert_distance(level=16).to_numpy(),
            kind="stable",
        )
        frame = frame.iloc[order]
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


def attribute_stage(session: Session, *, generation_id: int) -> int:
    """Attribute every staged row to a unit of ``generation_id``, set-based.

    Rows with a ``fixed_code`` (geocoded to a unit) take that unit and its ancestors' codes;
    the others are joined point-in-polygon to the generation's villager groups.  The result
    goes to the temporary table ``activity_stage_unit`` (``row_no, unit_id, county_code,
    township_code, village_code, group_code``); rows without a unit are missing from it.

    Returns
    -------
    int
        Rows attributed.
    """
    session.execute(text(f"DROP TABLE IF EXISTS {STAGE_UNIT}"))
    # Partial: geocoded rows already know their unit and need no point-in-polygon test.
    session.execute(text(f"CREATE INDEX ON {STAGE} USING gist (geom) WHERE fixed_code IS NULL"))
    session.execute(text(f"ANALYZE {STAGE}"))
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    # Compiling this join to machine code costs more than it saves; the hash of a million
    # row numbers (a point on a shared border counts once) should not spill to disk.
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(
        text(
            f"""
            CREATE TEMP TABLE {STAGE_UNIT} ON COMMIT DROP AS
            SELECT h.row_no, u.id AS unit_id, u.county_code,
                   CASE WHEN u.level IN ('township', 'village', 'group')
                        THEN substr(u.code, 1, 9) || '000' END AS township_code,
                   CASE WHEN u.level IN ('village', 'group')
                        THEN substr(u.code, 1, 12) END AS village_code,
                   CASE WHEN u.level = 'group' THEN u.code END AS group_code
            FROM (
                SELECT s.row_no, min(g.id) AS unit_id
                FROM {STAGE} s
                JOIN admin_unit g ON g.generation_id = :gen AND g.level = 'group'
                                 AND ST_Intersects(g.geom, s.geom)
                WHERE s.fixed_code IS NULL
                GROUP BY s.row_no
                UNION ALL
                SELECT s.row_no, u.id FROM {STAGE} s
                JOIN admin_unit u ON u.generation_id = :gen AND u.code = s.fixed_code
            ) h
            JOIN admin_unit u ON u.id = h.unit_id
            """
        ),
        {"gen": generation_id},
    )
    session.execute(text(f"CREATE UNIQUE INDEX ON {STAGE_UNIT} (row_no)"))
    return int(session.scalar(text(f"SELECT count(*) FROM {STAGE_UNIT}")) or 0)


def unplaced_stage_rows(session: Session) -> list[int]:
    """Row numbers of staged rows that no unit of the generation holds."""
    return list(
        session.scalars(
            text(
                f"SELECT s.row_no FROM {STAGE} s"
                f" WHERE NOT EXISTS (SELECT 1 FROM {STAGE_UNIT} a WHERE a.row_no = s.row_no)"
                " ORDER BY s.row_no"
            )
        )
    )


def duplicate_stage_cases(session: Session) -> list[tuple[int, str, str]]:
    """Staged cases whose (county, case number) is already in ``case_record``.

    Returns
    -------
    list of (row_no, case_no, county_code)
    """
    rows = session.execute(
        text(
            f"""
            SELECT s.row_no, s.case_no, a.county_code FROM {STAGE} s
            JOIN {STAGE_UNIT} a ON a.row_no = s.row_no
            WHERE EXISTS (SELECT 1 FROM case_record c
                          WHERE c.county_code = a.county_code AND c.case_no = s.case_no)
            ORDER BY s.row_no
            """
        )
    ).all()
    return [(int(r), str(c), str(k)) for r, c, k in rows]


def insert_stage_cases(session: Session, *, batch_id: int | None, skip: Sequence[int] = ()) -> int:
    """Move the attributed staged cases into ``case_record`` (rows in ``skip`` excepted)."""
    result = session.execute(
        text(
            f"""
            INSERT INTO case_record (case_no, kind, status, opened_on, closed_on, petitioner,
                phone, summary, address, geom, source_crs, location_method, location_score,
                unit_id, county_code, township_code, village_code, group_code, batch_id)
            SELECT s.case_no, s.kind, s.status, s.opened_on, s.closed_on, s.petitioner, s.phone,
                   s.summary, s.address, s.geom, s.source_crs, s.location_method,
                   s.location_score, a.unit_id, a.county_code, a.township_code, a.village_code,
                   a.group_code, :batch
            FROM {STAGE} s JOIN {STAGE_UNIT} a ON a.row_no = s.row_no
            WHERE NOT (s.row_no = ANY(CAST(:skip AS integer[])))
            ORDER BY s.row_no
            """
        ),
        {"batch": batch_id, "skip": list(skip)},
    )
    return int(result.rowcount or 0)


def insert_stage_visits(session: Session, *, batch_id: int | None) -> int:
    """Move the attributed staged visits into ``visit``."""
    result = session.execute(
        text(
            f"""
            INSERT INTO visit (team_id, household, visited_at, geom, source_crs, source_lon,
                source_lat, unit_id, county_code, township_code, village_code, group_code,
                batch_id)
            SELECT s.team_id, s.household, to_timestamp(s.visited_epoch), s.geom, s.source_crs,
                   s.source_lon, s.source_lat, a.unit_id, a.county_code, a.township_code,
                   a.village_code, a.group_code, :batch
            FROM {STAGE} s JOIN {STAGE_UNIT} a ON a.row_no = s.row_no
            ORDER BY s.row_no
            """
        ),
        {"batch": batch_id},
    )
    return int(result.rowcount or 0)


def reattribute(session: Session, *, generation_id: int) -> dict[str, int]:
    """Re-attribute every case and visit to ``generation_id``'s groups (after a switch).

    Points outside every group keep their old codes; the counts say how many moved.

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
                FROM admin_unit g
                WHERE g.generation_id = :gen AND g.level = 'group'
                  AND ST_Intersects(g.geom, t.geom)
                  AND t.unit_id IS DISTINCT FROM g.id
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

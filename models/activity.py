"""Queries for cases and visits: gazetteer units, the attribution rule in SQL, the review queue.

The bulk path of an import (staging, duplicates, the final ``INSERT … SELECT``) is in
:mod:`models.staging`.  Re-placing every stored row after a generation switch
(:func:`reattribute`) stays set-based in PostGIS, with the plan measured in FIELD-NOTES.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from models.db import rowcount
from models.registers import audit
from models.review import area_condition
from models.schema import SRID, Generation, ReviewItem


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


# The attribution rule, as :mod:`geo.attribution` has it: the lowest-id villager group of the
# generation that covers the point (``ST_Covers``: its boundary included).  ``level = 'group'``
# matches the partial GiST index ``ix_admin_unit_group_geom``.
_GROUPS_OF = "SELECT id, county_code, code, geom FROM admin_unit WHERE level = 'group'"


def covering_group(
    session: Session, *, generation_id: int, lon: float, lat: float
) -> tuple[int, str, str] | None:
    """``(id, county_code, code)`` of the lowest-id group of the generation covering a point."""
    row = session.execute(
        text(
            f"""
            SELECT a.id, a.county_code, a.code FROM ({_GROUPS_OF} AND generation_id = :g) a
            WHERE ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(:x, :y), {SRID}))
            ORDER BY a.id LIMIT 1
            """
        ),
        {"g": generation_id, "x": lon, "y": lat},
    ).one_or_none()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]))


def reattribute(session: Session, *, generation_id: int) -> dict[str, int]:
    """Re-attribute every case and visit to ``generation_id``'s groups (after a switch).

    Points outside every group keep their old codes; the counts say how many moved.  The rule
    is the import's: the lowest-id group covering the point.

    The plan loops over the generation's groups and probes each row table's own GiST index
    (``OFFSET 0`` keeps the groups a separate scan, so the planner cannot instead probe
    ``admin_unit`` point by point through a bitmap AND of its (generation, level) b-tree and
    GiST index: ~60 s per 100k points, FIELD-NOTES); no parallel workers, as measured.

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
                    FROM ({_GROUPS_OF} AND generation_id = :gen OFFSET 0) a
                    JOIN {table} r ON ST_Covers(a.geom, r.geom)
                    ORDER BY r.id, a.id
                ) g
                WHERE t.id = g.row_id AND t.unit_id IS DISTINCT FROM g.id
                """
            ),
            {"gen": generation_id},
        )
        out[table] = rowcount(result)
    return out


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
    """Unresolved review items inside the area ``prefix``, oldest first, optionally of one kind."""
    query = select(ReviewItem).where(ReviewItem.resolved.is_(False), area_condition(prefix))
    if kind:
        query = query.where(ReviewItem.kind == kind)
    return list(session.scalars(query.order_by(ReviewItem.id).limit(limit)))


def review_counts(session: Session, *, prefix: str = "") -> dict[str, int]:
    """Open review items per kind inside the area ``prefix``."""
    rows = session.execute(
        select(ReviewItem.kind, func.count())
        .where(ReviewItem.resolved.is_(False), area_condition(prefix))
        .group_by(ReviewItem.kind)
    ).all()
    return {k: int(n) for k, n in rows}


def resolve_review_item(
    session: Session, item_id: int, *, lon: float, lat: float, username: str, prefix: str = ""
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
        The row's other fields were unusable, or the point lies outside every group or
        outside the area ``prefix`` (the resolving user's).
    """
    item = session.get(ReviewItem, item_id, with_for_update=True)
    if item is None or item.resolved:
        msg = f"no open review item {item_id}"
        raise LookupError(msg)
    record = (item.raw or {}).get("record")
    if not record:
        msg = "this row has problems besides its place; fix the file and import it again"
        raise ValueError(msg)
    place = _place(session, lon=lon, lat=lat, prefix=prefix)
    place["batch_id"] = item.batch_id
    if item.kind == "case":
        sql, fields = _case_insert(record)
    else:
        sql, fields = _visit_insert(record, lon=lon, lat=lat)
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
    return {"kind": item.kind, "id": new_id, "group_code": place["group_code"]}


def _place(session: Session, *, lon: float, lat: float, prefix: str) -> dict[str, Any]:
    """The point and its group's codes, by the one attribution rule (``covering_group``)."""
    generation_id = active_generation_id(session)
    unit = None
    if generation_id is not None:
        unit = covering_group(session, generation_id=generation_id, lon=lon, lat=lat)
    if unit is None:
        msg = f"point {lon:.6f}, {lat:.6f} lies outside every villager group"
        raise ValueError(msg)
    unit_id, county, code = unit
    if not code.startswith(prefix):
        msg = f"point {lon:.6f}, {lat:.6f} lies outside your area"
        raise ValueError(msg)
    return {
        "geom": f"SRID={SRID};POINT({lon!r} {lat!r})",
        "unit_id": unit_id,
        "county_code": county,
        "township_code": code[:9] + "000",
        "village_code": code[:12],
        "group_code": code,
    }


def _case_insert(record: dict[str, Any]) -> tuple[TextClause, dict[str, Any]]:
    """The INSERT of a case placed by hand, and its fields from the review item's record."""
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
    return sql, fields


def _visit_insert(
    record: dict[str, Any], *, lon: float, lat: float
) -> tuple[TextClause, dict[str, Any]]:
    """The INSERT of a visit placed by hand (with its natural key), and its fields."""
    fields = {
        "team_id": record.get("team_id"),
        "household": record.get("household"),
        "visited_at": dt.datetime.fromisoformat(record["visited_at"]),
        "lon": lon,
        "lat": lat,
    }
    sql = text(
        """
        INSERT INTO visit (team_id, household, visited_at, geom, source_crs, source_lon,
            source_lat, unit_id, county_code, township_code, village_code, group_code,
            batch_id, natural_key)
        VALUES (:team_id, :household, :visited_at, ST_GeomFromEWKT(:geom), 'wgs84', :lon,
            :lat, :unit_id, :county_code, :township_code, :village_code, :group_code,
            :batch_id, visit_natural_key(:team_id, :household,
            date_part('epoch', CAST(:visited_at AS timestamptz)), :lon, :lat))
        RETURNING id
        """
    )
    return sql, fields

"""Queries and writes for the network's registers (stations, officers, teams) and import batches.

Import batches live here too: every register or boundary import records itself through
:func:`record_import` in the transaction that wrote its rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import any_, delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from models.schema import SRID, AdminUnit, AuditLog, ImportBatch, Officer, Station, Team
from models.units import id_array

# Any constant will do; it only has to be the same for every qungong process.
_IMPORT_LOCK_KEY = 0x5147_1350


def lock_imports(session: Session) -> None:
    """Serialise imports until the transaction ends, so two uploads of one file cannot race."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _IMPORT_LOCK_KEY})


def committed_batch(
    session: Session, kind: str, sha256: str, *, generation: str | None = None
) -> ImportBatch | None:
    """The earlier committed import of the same kind and file content, if any.

    With ``generation``, only an import into that generation counts: the same county file
    loaded into a new generation is a new import, not a repeat.
    """
    scope = [] if generation is None else [ImportBatch.report["generation"].astext == generation]
    return session.scalar(
        select(ImportBatch)
        .where(
            ImportBatch.kind == kind,
            ImportBatch.sha256 == sha256,
            ImportBatch.status == "committed",
            *scope,
        )
        .order_by(ImportBatch.id)
        .limit(1)
    )


def record_import(
    session: Session,
    *,
    kind: str,
    filename: str,
    sha256: str,
    username: str,
    status: str,
    counts: dict[str, Any],
    report: dict[str, Any],
) -> int:
    """Write the import_batch row and its audit_log entry; return the batch id."""
    batch_id = session.execute(
        insert(ImportBatch)
        .values(
            kind=kind,
            filename=filename,
            sha256=sha256,
            username=username,
            status=status,
            counts=counts,
            report=report,
            finished_at=func.now(),
        )
        .returning(ImportBatch.id)
    ).scalar_one()
    audit(
        session,
        username=username,
        action=f"import.{kind}",
        detail={"batch_id": batch_id, "file": filename, "sha256": sha256, "counts": counts},
    )
    return int(batch_id)


def audit(session: Session, *, username: str, action: str, detail: dict[str, Any]) -> None:
    """Append one audit_log row."""
    session.execute(insert(AuditLog).values(username=username, action=action, detail=detail))


def unit_lookup(session: Session, generation_id: int, levels: tuple[str, ...]) -> pd.DataFrame:
    """Units of the given levels with the names of their ancestors, for matching registers.

    Columns: ``id``, ``code``, ``level``, ``name``, ``county_code``, ``parent_name``,
    ``grandparent_name``, ``great_grandparent_name`` (None where there is no such ancestor).
    """
    u, p, g, gg = (AdminUnit.__table__.alias(n) for n in ("u", "p", "g", "gg"))
    query = (
        select(
            u.c.id,
            u.c.code,
            u.c.level,
            u.c.name,
            u.c.county_code,
            p.c.name.label("parent_name"),
            g.c.name.label("grandparent_name"),
            gg.c.name.label("great_grandparent_name"),
        )
        .select_from(
            u.outerjoin(p, u.c.parent_id == p.c.id)
            .outerjoin(g, p.c.parent_id == g.c.id)
            .outerjoin(gg, g.c.parent_id == gg.c.id)
        )
        .where(u.c.generation_id == generation_id, u.c.level.in_(levels))
    )
    rows = session.execute(query).all()
    columns = [
        "id",
        "code",
        "level",
        "name",
        "county_code",
        "parent_name",
        "grandparent_name",
        "great_grandparent_name",
    ]
    return pd.DataFrame(rows, columns=columns)


def representative_points(session: Session, unit_ids: list[int]) -> dict[int, tuple[float, float]]:
    """A point inside each unit (PostGIS ST_PointOnSurface), as lon/lat."""
    if not unit_ids:
        return {}
    point = func.ST_PointOnSurface(AdminUnit.geom)
    rows = session.execute(
        select(AdminUnit.id, func.ST_X(point), func.ST_Y(point)).where(
            AdminUnit.id == any_(id_array("ids", unit_ids))
        )
    ).all()
    return {int(i): (float(x), float(y)) for i, x, y in rows}


def _points(lon: pd.Series, lat: pd.Series) -> list[str]:
    # EWKT: GeoAlchemy2 binds geometry values through ST_GeomFromEWKT.
    pts = shapely.points(lon.to_numpy(float), lat.to_numpy(float))
    return [f"SRID={SRID};{w}" for w in shapely.to_wkt(pts, rounding_precision=-1)]


def upsert_stations(session: Session, stations: pd.DataFrame) -> int:
    """Insert stations, replacing the station of any village that already has one.

    Parameters
    ----------
    stations
        Columns ``unit_id``, ``county_code``, ``name``, ``address``, ``head``, ``phone``,
        ``opened_on``, ``location_source``, ``lon``, ``lat`` (WGS-84).
    """
    if stations.empty:
        return 0
    rows = _records(stations.drop(columns=["lon", "lat"]))
    for row, geom in zip(rows, _points(stations["lon"], stations["lat"]), strict=True):
        row["geom"] = geom
    stmt = pg_insert(Station).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Station.unit_id],
        set_={c: stmt.excluded[c] for c in (*rows[0].keys(),) if c != "unit_id"},
    )
    session.execute(stmt)
    return len(rows)


def replace_officers(session: Session, officers: pd.DataFrame) -> int:
    """Replace the officers of every villager group named in ``officers`` by these rows.

    Columns ``unit_id``, ``county_code``, ``name``, ``phone``, ``id_no``.
    """
    if officers.empty:
        return 0
    unit_ids = [int(i) for i in officers["unit_id"].unique()]
    session.execute(delete(Officer).where(Officer.unit_id == any_(id_array("ids", unit_ids))))
    session.execute(insert(Officer), _records(officers))
    return len(officers)


def replace_teams(session: Session, teams: pd.DataFrame) -> int:
    """Replace the teams of every township named in ``teams`` by these rows.

    Columns ``unit_id``, ``county_code``, ``name``, ``leader``, ``members``, ``lon``, ``lat``.
    """
    if teams.empty:
        return 0
    unit_ids = [int(i) for i in teams["unit_id"].unique()]
    session.execute(delete(Team).where(Team.unit_id == any_(id_array("ids", unit_ids))))
    rows = _records(teams.drop(columns=["lon", "lat"]))
    for row, geom in zip(rows, _points(teams["lon"], teams["lat"]), strict=True):
        row["home"] = geom
    session.execute(insert(Team), rows)
    return len(rows)


def register_counts(session: Session) -> dict[str, int]:
    """How many stations, officers and teams are registered."""
    return {
        "stations": int(session.scalar(select(func.count()).select_from(Station)) or 0),
        "officers": int(session.scalar(select(func.count()).select_from(Officer)) or 0),
        "teams": int(session.scalar(select(func.count()).select_from(Team)) or 0),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict("records"):
        clean: dict[str, Any] = {}
        for k, v in rec.items():
            if v is None or (not isinstance(v, str | dt.date) and pd.isna(v)):
                clean[k] = None
            elif isinstance(v, np.integer):
                clean[k] = int(v)
            elif isinstance(v, np.floating):
                clean[k] = float(v)
            else:
                clean[k] = v
        out.append(clean)
    return out

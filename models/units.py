"""Queries and bulk writes for administrative units and their boundary generations.

Functions take the caller's :class:`~sqlalchemy.orm.Session` so that an import runs in one
transaction (see :func:`models.db.transaction`).  Units are written with COPY: tens of
thousands of polygons per import would take minutes through the ORM.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from sqlalchemy import BigInteger, String, any_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from models.db import driver_connection
from models.schema import LEVELS, SRID, AdminUnit, Generation

UNIT_COPY_COLUMNS = (
    "id",
    "generation_id",
    "level",
    "code",
    "name",
    "parent_id",
    "county_code",
    "households",
    "population",
    "geom",
)


def get_generation(session: Session, name: str) -> Generation | None:
    """The generation called ``name``, or None."""
    return session.scalar(select(Generation).where(Generation.name == name))


def active_generation(session: Session) -> Generation | None:
    """The generation live lookups use, or None before the first import."""
    return session.scalar(select(Generation).where(Generation.active))


def ensure_generation(
    session: Session, name: str, *, valid_from: dt.date | None = None
) -> tuple[Generation, bool]:
    """The generation ``name``, created when missing: active only if it is the first one.

    Returns
    -------
    generation, created
    """
    found = get_generation(session, name)
    if found is not None:
        return found, False
    first = session.scalar(select(func.count()).select_from(Generation)) == 0
    generation = Generation(name=name, valid_from=valid_from, active=first)
    session.add(generation)
    session.flush()
    return generation, True


def activate_generation(session: Session, name: str) -> Generation:
    """Make ``name`` the active generation (and no other), in the caller's transaction.

    Raises
    ------
    LookupError
        If there is no such generation.
    """
    target = get_generation(session, name)
    if target is None:
        known = ", ".join(session.scalars(select(Generation.name).order_by(Generation.id)))
        msg = f"no boundary generation {name!r} (known: {known or 'none'})"
        raise LookupError(msg)
    # Two statements: the partial unique index on ``active`` is checked row by row.
    session.execute(update(Generation).where(Generation.active).values(active=False))
    session.execute(update(Generation).where(Generation.id == target.id).values(active=True))
    session.flush()
    session.refresh(target)
    return target


def generation_summaries(session: Session) -> list[dict[str, Any]]:
    """Every generation with its unit count per level, oldest first."""
    counts = session.execute(
        select(AdminUnit.generation_id, AdminUnit.level, func.count()).group_by(
            AdminUnit.generation_id, AdminUnit.level
        )
    ).all()
    per_generation: dict[int, dict[str, int]] = {}
    for gid, level, n in counts:
        per_generation.setdefault(gid, {})[level] = int(n)
    out = []
    for g in session.scalars(select(Generation).order_by(Generation.id)):
        by_level = per_generation.get(g.id, {})
        out.append(
            {
                "name": g.name,
                "valid_from": g.valid_from,
                "active": g.active,
                "created_at": g.created_at,
                "counts": {level: by_level.get(level, 0) for level in LEVELS},
            }
        )
    return out


def units_frame(
    session: Session,
    generation_id: int,
    *,
    levels: tuple[str, ...] | None = None,
    codes: list[str] | None = None,
    with_geom: bool = True,
) -> pd.DataFrame:
    """Units of one generation as a DataFrame (``geom`` as lon/lat shapely geometries).

    Parameters
    ----------
    generation_id
        The generation.
    levels
        Only these levels (all when None).
    codes
        Only these codes (all when None).
    with_geom
        Fetch geometries too (costly for groups).
    """
    cols: list[Any] = [
        AdminUnit.id,
        AdminUnit.code,
        AdminUnit.level,
        AdminUnit.name,
        AdminUnit.parent_id,
        AdminUnit.county_code,
    ]
    if with_geom:
        cols.append(func.ST_AsBinary(AdminUnit.geom).label("wkb"))
    query = select(*cols).where(AdminUnit.generation_id == generation_id)
    if levels is not None:
        query = query.where(AdminUnit.level.in_(levels))
    if codes is not None:
        query = query.where(AdminUnit.code == any_(_text_array("codes", codes)))
    rows = session.execute(query).all()
    names = ["id", "code", "level", "name", "parent_id", "county_code"]
    frame = pd.DataFrame([r[:6] for r in rows], columns=names)
    frame = frame.astype({"id": "int64", "parent_id": "Int64", "code": object})
    if with_geom:
        wkb = np.array([bytes(r[6]) for r in rows], dtype=object)
        frame["geom"] = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
    return frame


def allocate_unit_ids(session: Session, n: int) -> npt.NDArray[np.int64]:
    """Reserve ``n`` ids from the unit sequence, so parents and children go in one COPY."""
    if n == 0:
        return np.array([], dtype=np.int64)
    # One setval for the whole block instead of n nextval calls; imports hold the import
    # lock (models.registers.lock_imports), and nextval by anyone else stays consistent.
    last = session.scalar(
        text(
            "SELECT setval(pg_get_serial_sequence('admin_unit', 'id'), "
            "nextval(pg_get_serial_sequence('admin_unit', 'id')) + :n - 1)"
        ),
        {"n": n},
    )
    return np.arange(int(last) - n + 1, int(last) + 1, dtype=np.int64)


def copy_units(session: Session, units: pd.DataFrame) -> int:
    """Write units with COPY in the session's transaction.

    Parameters
    ----------
    units
        Columns :data:`UNIT_COPY_COLUMNS`; ``geom`` holds lon/lat MultiPolygons, ``id`` comes
        from :func:`allocate_unit_ids`, missing ``parent_id``/``households``/``population``
        are NA.

    Returns
    -------
    int
        Rows written.
    """
    if units.empty:
        return 0
    ewkb = _ewkb_multipolygons(np.asarray(units["geom"].to_numpy(), dtype=object))
    columns = [
        _int_fields(units["id"], _INT8),
        _int_fields(units["generation_id"], _INT4),
        _text_fields(units["level"]),
        _text_fields(units["code"]),
        _text_fields(units["name"]),
        _int_fields(units["parent_id"], _INT8),
        _text_fields(units["county_code"]),
        _int_fields(units["households"], _INT4),
        _int_fields(units["population"], _INT4),
        [_LENGTH.pack(len(g)) + g for g in ewkb],
    ]
    tuple_head = _FIELD_COUNT.pack(len(columns))
    raw = driver_connection(session)
    names = ", ".join(UNIT_COPY_COLUMNS)
    # Binary COPY: the geometry goes in as EWKB bytes (geometry_recv) instead of hex text
    # twice the size that the server decodes again; rows are encoded column by column,
    # which is several times faster than a Python call per row.
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY admin_unit ({names}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.write(_COPY_HEADER)
        # Chunk by chunk, so the server inserts while the next rows are encoded.
        for start in range(0, len(units), _ROWS_PER_WRITE):
            chunk = zip(*(c[start : start + _ROWS_PER_WRITE] for c in columns), strict=True)
            copy.write(b"".join(tuple_head + b"".join(fields) for fields in chunk))
        copy.write(_COPY_TRAILER)
    return len(units)


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)
_ROWS_PER_WRITE = 2000
_FIELD_COUNT = struct.Struct(">h")
_LENGTH = struct.Struct(">i")
_NULL = _LENGTH.pack(-1)
_INT8 = struct.Struct(">iq")
_INT4 = struct.Struct(">ii")
# Little-endian MultiPolygon WKB header, and the same as EWKB carrying SRID 4326.
_WKB_MULTIPOLYGON = b"\x01\x06\x00\x00\x00"
_EWKB_MULTIPOLYGON = b"\x01" + (6 | 0x20000000).to_bytes(4, "little") + SRID.to_bytes(4, "little")


def _ewkb_multipolygons(geoms: npt.NDArray[np.object_]) -> list[bytes]:
    """EWKB with SRID 4326 of MultiPolygons, without copying every geometry to set its SRID."""
    wkb = shapely.to_wkb(geoms, byte_order=1, include_srid=False).tolist()
    head = len(_WKB_MULTIPOLYGON)
    if not all(w[:head] == _WKB_MULTIPOLYGON for w in wkb):
        msg = "admin_unit geometries must be MultiPolygons"
        raise ValueError(msg)
    return [_EWKB_MULTIPOLYGON + w[head:] for w in wkb]


def _int_fields(values: pd.Series, kind: struct.Struct) -> list[bytes]:
    """A column as binary COPY fields (length and big-endian integer), NULL for NA."""
    size = kind.size - 4
    return [_NULL if v is pd.NA else kind.pack(size, v) for v in values.astype("Int64").tolist()]


def _text_fields(values: pd.Series) -> list[bytes]:
    """A column as binary COPY fields (length and UTF-8 text), NULL for None/NA."""
    out = []
    for v in values.tolist():
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out.append(_NULL)
        else:
            b = str(v).encode()
            out.append(_LENGTH.pack(len(b)) + b)
    return out


def unit_ids_by_code(session: Session, generation_id: int, codes: list[str]) -> dict[str, int]:
    """Map the given codes to unit ids in one generation (codes not found are left out)."""
    if not codes:
        return {}
    rows = session.execute(
        select(AdminUnit.code, AdminUnit.id).where(
            AdminUnit.generation_id == generation_id,
            AdminUnit.code == any_(_text_array("codes", codes)),
        )
    ).all()
    return dict(rows)


def _text_array(name: str, values: list[str]) -> Any:
    # One array parameter instead of tens of thousands of IN (...) placeholders.
    return bindparam(name, list(values), type_=ARRAY(String))


def id_array(name: str, values: list[int]) -> Any:
    """A bigint[] bind parameter for ``column == any_(...)`` over many ids."""
    return bindparam(name, [int(v) for v in values], type_=ARRAY(BigInteger))


def copy_generation(
    session: Session,
    base_id: int,
    target_id: int,
    *,
    counties: list[str],
    levels: list[str],
) -> dict[str, int]:
    """Copy every unit of generation ``base_id`` into ``target_id`` except, in ``counties``,
    those of ``levels`` (the file's levels and all finer ones), in two set-based statements.

    Returns
    -------
    dict
        ``copied`` and ``replaced`` unit counts.
    """
    params = {"base": base_id, "target": target_id, "counties": counties, "levels": levels}
    session.execute(text("DROP TABLE IF EXISTS generation_copy"))
    session.execute(
        text(
            """
            CREATE TEMP TABLE generation_copy ON COMMIT DROP AS
            SELECT id AS old_id, parent_id AS old_parent,
                   nextval(pg_get_serial_sequence('admin_unit', 'id')) AS new_id
            FROM admin_unit
            WHERE generation_id = :base
              AND NOT (county_code = ANY(:counties) AND level = ANY(:levels))
            """
        ),
        params,
    )
    session.execute(
        text(
            """
            INSERT INTO admin_unit (id, generation_id, level, code, name, parent_id, county_code,
                                    households, population, geom)
            SELECT c.new_id, :target, u.level, u.code, u.name, p.new_id, u.county_code,
                   u.households, u.population, u.geom
            FROM generation_copy c JOIN admin_unit u ON u.id = c.old_id
            LEFT JOIN generation_copy p ON p.old_id = c.old_parent
            """
        ),
        params,
    )
    copied = int(session.scalar(text("SELECT count(*) FROM generation_copy")) or 0)
    total = int(
        session.scalar(text("SELECT count(*) FROM admin_unit WHERE generation_id = :base"), params)
        or 0
    )
    return {"copied": copied, "replaced": total - copied}
